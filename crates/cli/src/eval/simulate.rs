//! Conversational evaluation with a simulated user, in the style of
//! InteRecAgent's: each simulated user has a real history from the dataset
//! and a hidden target (their held-out last item). The user describes what
//! they want from the target's public text — its categories and its year,
//! never its title or id — and answers the agent's questions the same way.
//! The agent has at most `turns` turns to put the target in its top 10.
//!
//! The loop is generic over [`Conversation`], so the same users and the same
//! utterances are played against the on-device baseline (autonomy 0) and
//! against the agent with an LLM in one run. Who speaks for the user is a
//! [`UserVoice`]: the rule-based [`RuleVoice`] here, or an LLM
//! ([`super::simulate_llm::LlmUser`]); whatever it says goes through the
//! guard ([`super::simulate_guard::redact_target`]) before the system hears it.

use serde::Serialize;

use super::simulate_guard::redact_target;
use super::split::Split;
use recagent_core::catalog::{AttributeKind, Catalog, ValueRef};
use recagent_core::error::{Error, Result};
use recagent_core::profile::{Event, EventKind};

/// What the simulated user knows about their hidden target: public facts
/// they may say, in the order they would say them.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedUser {
    /// Dense index of the user in the split.
    pub user: usize,
    /// The hidden target's item id (never said).
    pub target: String,
    /// The hidden target's title (never said: the guard redacts it).
    pub title: String,
    /// The target's public text without its title (for an LLM-played user).
    pub description: String,
    /// Categories of the target (e.g. genres), in catalog order.
    pub categories: Vec<String>,
    /// The target's year, when the catalog has a year-like attribute.
    pub year: Option<i64>,
    /// The user's real history before the target (train + validation), as
    /// profile events, oldest first.
    pub history: Vec<Event>,
}

impl SimulatedUser {
    /// The simulated user of `target` in `catalog`: its categories (from
    /// category-named tag attributes) and its year (from a year-named number
    /// attribute). [`Error::UnknownItem`] when `target` is not in the catalog.
    pub fn new(user: usize, catalog: &Catalog, target: &str) -> Result<Self> {
        let index = catalog.require(target)?;
        let item = catalog.item(index).ok_or_else(|| Error::UnknownItem(target.to_string()))?;
        let mut categories = Vec::new();
        let mut year = None;
        for (def, value) in catalog.attributes().iter().zip(item.values()) {
            let name = def.name.to_lowercase();
            match (def.kind, value) {
                (AttributeKind::Tags, ValueRef::Tags(tags)) if def.is_category() => {
                    categories.extend(tags.iter().map(str::to_string));
                }
                (AttributeKind::Text, ValueRef::Text(t)) if def.is_category() => {
                    categories.extend(t.split_whitespace().map(str::to_string));
                }
                (_, ValueRef::Number(y)) if name.contains("year") && y.is_finite() => {
                    year = Some(y.round() as i64);
                }
                (_, ValueRef::Text(t)) if name.contains("year") => {
                    year = t.trim().parse::<i64>().ok().or(year);
                }
                _ => {}
            }
        }
        let description = super::simulate_guard::strip_title(&item.text(), item.title(), target);
        Ok(Self {
            user,
            target: target.to_string(),
            title: item.title().to_string(),
            description,
            categories,
            year,
            history: Vec::new(),
        })
    }

    /// The facts the user can reveal, most telling first: the first
    /// category, the decade, then the other categories, then the exact year.
    pub fn facts(&self) -> Vec<Fact> {
        let mut facts = Vec::new();
        let mut cats = self.categories.iter();
        if let Some(first) = cats.next() {
            facts.push(Fact::Category(first.clone()));
        }
        if let Some(y) = self.year {
            facts.push(Fact::Decade(y.div_euclid(10) * 10));
        }
        facts.extend(cats.map(|c| Fact::Category(c.clone())));
        if let Some(y) = self.year {
            facts.push(Fact::Year(y));
        }
        facts
    }

    /// What the user says at `turn` (0-based), having revealed `revealed`
    /// facts so far, after the agent asked `question` (if any). Returns the
    /// utterance and the new number of revealed facts. Each turn reveals one
    /// more fact; a question about the era or the genre is answered with the
    /// first unrevealed fact of that kind. The utterance repeats every fact
    /// revealed so far, so it stands on its own.
    pub fn utterance(&self, revealed: &[Fact], question: Option<&str>) -> (String, Vec<Fact>) {
        let mut said: Vec<Fact> = revealed.to_vec();
        let pending: Vec<Fact> = self.facts().into_iter().filter(|f| !said.contains(f)).collect();
        let q = question.unwrap_or("").to_lowercase();
        let wants_time = ["year", "decade", "era", "old", "new", "recent", "classic", "when"]
            .iter()
            .any(|w| q.contains(w));
        let wants_kind = ["genre", "kind", "type", "mood", "categor", "style"]
            .iter()
            .any(|w| q.contains(w));
        let next = pending
            .iter()
            .find(|f| (wants_time && f.is_time()) || (wants_kind && !f.is_time()))
            .or_else(|| pending.first())
            .cloned();
        if let Some(f) = next {
            said.push(f);
        }
        (describe(&said), said)
    }
}

/// `n` simulated users of `split`, spread evenly over its users (user
/// `i·n_users/n`), each with their train + validation history and their test
/// item as the hidden target. Users whose target or history items are not in
/// `catalog` are skipped (the catalog must use the dataset's item ids).
pub fn users_from_split(split: &Split, catalog: &Catalog, n: usize) -> Vec<SimulatedUser> {
    let total = split.n_users();
    let n = n.min(total);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let u = i * total / n.max(1);
        let Some(target) = split.test.get(u).and_then(|e| split.items.get(e.item as usize)) else {
            continue;
        };
        let Ok(mut sim) = SimulatedUser::new(u, catalog, target) else { continue };
        sim.history = split
            .history(u, false)
            .iter()
            .filter_map(|e| {
                let id = split.items.get(e.item as usize)?;
                catalog.index_of(id)?;
                let kind = if (1.0..=5.0).contains(&e.rating) {
                    EventKind::Rating { value: e.rating }
                } else {
                    EventKind::Click
                };
                Some(Event {
                    item: id.clone(),
                    kind,
                    time_ms: e.timestamp * 1000.0,
                })
            })
            .collect();
        out.push(sim);
    }
    out
}

/// One public fact about the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// A category (genre).
    Category(String),
    /// The decade (e.g. 1990).
    Decade(i64),
    /// The exact year.
    Year(i64),
}

impl Fact {
    fn is_time(&self) -> bool {
        matches!(self, Fact::Decade(_) | Fact::Year(_))
    }
}

/// The sentence a user says to ask for something with `facts`.
fn describe(facts: &[Fact]) -> String {
    let cats: Vec<&str> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Category(c) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    let year = facts.iter().find_map(|f| match f {
        Fact::Year(y) => Some(*y),
        _ => None,
    });
    let decade = facts.iter().find_map(|f| match f {
        Fact::Decade(d) => Some(*d),
        _ => None,
    });
    let mut s = String::from("I'd like to watch ");
    if cats.is_empty() {
        s.push_str("something good");
    } else {
        s.push_str("a ");
        s.push_str(&cats.join(" and ").to_lowercase());
        s.push_str(" movie");
    }
    match (year, decade) {
        (Some(y), _) => s.push_str(&format!(" from {y}")),
        (None, Some(d)) => s.push_str(&format!(" from the {d}s")),
        _ => {}
    }
    s.push('.');
    s
}

/// One turn's reply of the system under test.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TurnReply {
    /// The item ids shown, best first (the first 10 count).
    pub items: Vec<String>,
    /// Their titles, in the same order (what an LLM-played user reads).
    pub titles: Vec<String>,
    /// The answer's text.
    pub text: String,
    /// A clarifying question, when the agent asked one.
    pub question: Option<String>,
    /// Why the agent fell back to the on-device answer, if it did.
    pub fallback: Option<String>,
}

/// A conversational recommender under test.
pub trait Conversation {
    /// Starts a new conversation for `user` (their history applied).
    fn start(&mut self, user: &SimulatedUser) -> Result<()>;
    /// The reply to the user's `message`.
    fn reply(&mut self, message: &str) -> Result<TurnReply>;
}

/// One exchange of a conversation: what the user said (after the guard)
/// and what the system replied.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The user's message as the system received it.
    pub said: String,
    /// The system's reply.
    pub reply: TurnReply,
}

/// What a [`UserVoice`] said at one turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    /// The utterance, before the guard.
    pub text: String,
    /// True when the voice could not speak (its endpoint failed) and said
    /// the rule-based utterance instead.
    pub fell_back: bool,
}

/// Who speaks for the simulated user.
pub trait UserVoice {
    /// What `user` says at `turn` (0-based) after `dialogue` (the exchanges
    /// so far, oldest first). `rule` is the rule-based utterance for this
    /// turn (the answer to the agent's last question, one more fact
    /// revealed): a voice that cannot speak says it.
    fn say(&mut self, user: &SimulatedUser, turn: usize, rule: &str, dialogue: &[Exchange]) -> Said;
}

/// The rule-based user: says [`SimulatedUser::utterance`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleVoice;

impl UserVoice for RuleVoice {
    fn say(&mut self, _: &SimulatedUser, _: usize, rule: &str, _: &[Exchange]) -> Said {
        Said { text: rule.to_string(), fell_back: false }
    }
}

/// The result of one system over all simulated users.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulationResult {
    /// Users simulated.
    pub users: usize,
    /// Share of users whose target entered the top 10 within the turns.
    pub hit_rate: f64,
    /// Mean turns used per user; a miss counts as `turns`.
    pub avg_turns: f64,
    /// Mean turn of the hit, over the users with a hit (`null` when none).
    pub avg_turns_of_hits: Option<f64>,
    /// Hits at each turn (index 0 = first turn).
    pub hits_by_turn: Vec<usize>,
    /// Turns that fell back to the on-device answer.
    pub fallbacks: usize,
    /// Questions the agent asked.
    pub questions: usize,
    /// Utterances in which the guard found the target's title or id (and
    /// redacted it before the system heard it).
    pub user_leaks: usize,
    /// Turns at which the user's voice failed and the rule-based utterance
    /// was said instead.
    pub user_fallbacks: usize,
}

/// Plays every user of `users` against `system` for at most `turns` turns,
/// with the rule-based user ([`RuleVoice`]). `progress` gets `(done, total)`
/// after each user.
pub fn simulate(
    users: &[SimulatedUser],
    turns: usize,
    system: &mut dyn Conversation,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SimulationResult> {
    simulate_with(users, turns, system, &mut RuleVoice, progress)
}

/// Plays every user of `users` against `system` for at most `turns` turns,
/// `voice` speaking for the user. Every utterance goes through
/// [`redact_target`] first: the system never hears the target's title or
/// id, and each redaction counts as a `user_leak`.
pub fn simulate_with(
    users: &[SimulatedUser],
    turns: usize,
    system: &mut dyn Conversation,
    voice: &mut dyn UserVoice,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SimulationResult> {
    if turns == 0 {
        return Err(Error::InvalidInput("turns must be at least 1".into()));
    }
    let mut hits_by_turn = vec![0usize; turns];
    let (mut turn_sum, mut fallbacks, mut questions) = (0usize, 0usize, 0usize);
    let (mut user_leaks, mut user_fallbacks) = (0usize, 0usize);
    for (n, user) in users.iter().enumerate() {
        system.start(user)?;
        let mut revealed = Vec::new();
        let mut question: Option<String> = None;
        let mut dialogue: Vec<Exchange> = Vec::new();
        let mut used = turns;
        for (t, hits) in hits_by_turn.iter_mut().enumerate() {
            let (rule, said) = user.utterance(&revealed, question.as_deref());
            revealed = said;
            let spoken = voice.say(user, t, &rule, &dialogue);
            user_fallbacks += usize::from(spoken.fell_back);
            let (message, leaked) = redact_target(&spoken.text, user);
            user_leaks += usize::from(leaked);
            let reply = system.reply(&message)?;
            fallbacks += usize::from(reply.fallback.is_some());
            questions += usize::from(reply.question.is_some());
            if reply.items.iter().take(10).any(|id| *id == user.target) {
                *hits += 1;
                used = t + 1;
                break;
            }
            question = reply.question.clone();
            dialogue.push(Exchange { said: message, reply });
        }
        turn_sum += used;
        progress(n + 1, users.len());
    }
    let hits: usize = hits_by_turn.iter().sum();
    let hit_turns: usize = hits_by_turn.iter().enumerate().map(|(t, h)| (t + 1) * h).sum();
    let n = users.len().max(1) as f64;
    Ok(SimulationResult {
        users: users.len(),
        hit_rate: hits as f64 / n,
        avg_turns: turn_sum as f64 / n,
        avg_turns_of_hits: (hits > 0).then(|| hit_turns as f64 / hits as f64),
        hits_by_turn,
        fallbacks,
        questions,
        user_leaks,
        user_fallbacks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> SimulatedUser {
        SimulatedUser {
            user: 0,
            target: "42".into(),
            title: "Toy Story".into(),
            description: "Class: Comedy, Romance. Year: 1995".into(),
            categories: vec!["Comedy".into(), "Romance".into()],
            year: Some(1995),
            history: Vec::new(),
        }
    }

    #[test]
    fn reveals_one_fact_per_turn_and_never_the_title() {
        let u = user();
        let (m1, r1) = u.utterance(&[], None);
        assert_eq!(m1, "I'd like to watch a comedy movie.");
        let (m2, r2) = u.utterance(&r1, None);
        assert_eq!(m2, "I'd like to watch a comedy movie from the 1990s.");
        let (m3, r3) = u.utterance(&r2, None);
        assert_eq!(m3, "I'd like to watch a comedy and romance movie from the 1990s.");
        let (m4, r4) = u.utterance(&r3, None);
        assert_eq!(m4, "I'd like to watch a comedy and romance movie from 1995.");
        // Nothing left to reveal: the utterance stays the same.
        let (m5, _) = u.utterance(&r4, None);
        assert_eq!(m5, m4);
        assert!(!m4.contains("42"));
    }

    #[test]
    fn answers_the_question_asked() {
        let u = user();
        let (_, r1) = u.utterance(&[], None);
        // Asked about the genre, it says the second category before the decade.
        let (m, _) = u.utterance(&r1, Some("Which genre do you like?"));
        assert_eq!(m, "I'd like to watch a comedy and romance movie.");
        let (m, _) = u.utterance(&[], Some("From which decade?"));
        assert_eq!(m, "I'd like to watch something good from the 1990s.");
    }

    struct Fixed(Vec<Vec<String>>, usize);
    impl Conversation for Fixed {
        fn start(&mut self, _: &SimulatedUser) -> Result<()> {
            self.1 = 0;
            Ok(())
        }
        fn reply(&mut self, _: &str) -> Result<TurnReply> {
            let items = self.0.get(self.1).cloned().unwrap_or_default();
            self.1 += 1;
            Ok(TurnReply { items, ..Default::default() })
        }
    }

    #[test]
    fn counts_hits_by_turn_and_misses_as_all_turns() {
        let hit_second = Fixed(vec![vec!["1".into()], vec!["9".into(), "42".into()]], 0);
        let mut sys = hit_second;
        let r = simulate(&[user()], 5, &mut sys, &mut |_, _| {}).unwrap();
        assert_eq!((r.hit_rate, r.avg_turns, r.hits_by_turn[1]), (1.0, 2.0, 1));
        let mut never = Fixed(vec![], 0);
        let r = simulate(&[user(), user()], 3, &mut never, &mut |_, _| {}).unwrap();
        assert_eq!((r.hit_rate, r.avg_turns, r.avg_turns_of_hits), (0.0, 3.0, None));
        assert!(simulate(&[user()], 0, &mut never, &mut |_, _| {}).is_err());
    }
}
