//! The records of the three memories, as stored (JSON) and exported.

use serde::{Deserialize, Serialize};

/// Who said a conversation turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The user.
    User,
    /// The agent.
    Agent,
}

/// One turn of the current conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub text: String,
    /// When, in ms since the Unix epoch.
    pub time_ms: f64,
}

/// Working memory: the current conversation (the last
/// [`super::MemoryConfig::working_turns`] turns) and the task in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkingMemory {
    /// The most recent turns, oldest first.
    pub turns: Vec<Turn>,
    /// Free-form state of the task in progress (set by the agent), if any.
    pub task: Option<serde_json::Value>,
}

/// What happened in an [`Episode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeKind {
    /// Something the user told recagent (a chat message, a `remember`).
    Message,
    /// The item was viewed.
    View,
    /// The item was clicked.
    Click,
    /// The user liked the item.
    Like,
    /// The user disliked the item.
    Dislike,
    /// The user rated the item (`value`, 1–5).
    Rating,
    /// The item was bought.
    Purchase,
    /// The item was skipped.
    Skip,
}

/// One entry of episodic memory: an append-only log of interactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Episode {
    /// Sequence number: unique, increasing with insertion order.
    pub id: u64,
    /// When, in ms since the Unix epoch.
    pub time_ms: f64,
    /// What happened.
    pub kind: EpisodeKind,
    /// The item it was about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The item's tags (genres, categories) at the time: what consolidation
    /// generalises over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The message text ([`EpisodeKind::Message`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The rating (1–5) of a [`EpisodeKind::Rating`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f32>,
    /// Free-form context (page, query, session), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl Episode {
    /// An episode of `kind` about nothing yet (id and time are set by
    /// [`super::Memory::record`]).
    pub fn new(kind: EpisodeKind) -> Self {
        Self {
            id: 0,
            time_ms: 0.0,
            kind,
            item: None,
            tags: Vec::new(),
            text: None,
            value: None,
            context: None,
        }
    }

    /// Builder: the item and its tags.
    pub fn item(mut self, item: &str, tags: &[&str]) -> Self {
        self.item = Some(item.to_string());
        self.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Builder: the rating value.
    pub fn value(mut self, value: f32) -> Self {
        self.value = Some(value);
        self
    }

    /// Builder: the message text.
    pub fn text(mut self, text: &str) -> Self {
        self.text = Some(text.to_string());
        self
    }

    /// +1 for a positive signal (like, purchase, rating ≥ 4), -1 for a
    /// negative one (dislike, rating ≤ 2), 0 otherwise (views, clicks and
    /// skips are too weak to generalise from).
    pub fn polarity(&self) -> i8 {
        match self.kind {
            EpisodeKind::Like | EpisodeKind::Purchase => 1,
            EpisodeKind::Dislike => -1,
            EpisodeKind::Rating => match self.value {
                Some(v) if v >= 4.0 => 1,
                Some(v) if v <= 2.0 => -1,
                _ => 0,
            },
            _ => 0,
        }
    }
}

/// What a semantic [`Fact`] says about the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// Something the user likes ("likes Comedy").
    Preference,
    /// Something the user avoids ("dislikes horror").
    Aversion,
    /// A plain fact ("shoe size 8", "vegetarian").
    Fact,
}

impl FactKind {
    /// A rule-based guess from the user's words: negations and dislike verbs
    /// give [`FactKind::Aversion`], like verbs [`FactKind::Preference`],
    /// anything else [`FactKind::Fact`].
    pub fn guess(text: &str) -> Self {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .collect();
        let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
        if has(&[
            "no", "not", "never", "avoid", "hate", "hates", "dislike", "dislikes", "don't",
            "doesn't", "without", "allergic",
        ]) {
            FactKind::Aversion
        } else if has(&[
            "like",
            "likes",
            "love",
            "loves",
            "prefer",
            "prefers",
            "enjoy",
            "enjoys",
            "favourite",
            "favorite",
        ]) {
            FactKind::Preference
        } else {
            FactKind::Fact
        }
    }
}

/// Where a [`Fact`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The user said it (a message / `remember`), or corrected it.
    User,
    /// Derived by [`super::Memory::consolidate`] from episodes.
    Consolidation,
}

/// The provenance of a [`Fact`]: its source and the episodes it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// Who produced the fact.
    pub source: Source,
    /// Ids of the [`Episode`]s it came from (the message, or the evidence).
    pub episodes: Vec<u64>,
    /// The consolidation rule that produced it (e.g. `like:Comedy`), so that
    /// later runs update the same fact instead of adding another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// One entry of semantic memory: a durable preference or fact about the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    /// Stable id (`f` + a number).
    pub id: String,
    /// The fact in words ("vegetarian", "dislikes horror").
    pub text: String,
    /// Preference, aversion or plain fact.
    pub kind: FactKind,
    /// How sure recagent is, 0..=1 (1 for what the user said).
    pub confidence: f32,
    /// How much it matters for recall, 0..=1 (default 0.5).
    pub importance: f32,
    /// When it was first stored (ms since the epoch).
    pub created_ms: f64,
    /// When it was last stated, corrected or reinforced: recency counts from here.
    pub updated_ms: f64,
    /// Where it came from.
    pub provenance: Provenance,
    /// Unit-length embedding of `text` (empty when stored without an embedder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embedding: Vec<f32>,
}
