//! Long-term memory: working, episodic and semantic memory over a
//! [`KvStore`], with recall, consolidation, export/import and forgetting.
//!
//! - **Working memory** ([`WorkingMemory`]): the current conversation (the
//!   last [`MemoryConfig::working_turns`] turns) and the task state.
//! - **Episodic memory** ([`Episode`]): the append-only interaction log (time,
//!   item, tags, context); [`Memory::compact`] drops the oldest entries.
//! - **Semantic memory** ([`Fact`]): durable preferences and facts, each with
//!   provenance (the episodes it came from), confidence, importance and
//!   times; the user can [`Memory::correct`] or [`Memory::forget`] them.
//! - **Recall** ([`Memory::recall`]): cosine similarity of embeddings blended
//!   with recency and importance (formula in [`RecallWeights`]).
//! - **Consolidation** ([`Memory::consolidate`]): rule-based, episodes →
//!   a few facts.
//! - The profile snapshot ([`crate::UserProfile::snapshot`]) is stored here too.
//! - [`Memory::export`] / [`Memory::import`] (one versioned JSON document) and
//!   [`Memory::forget_everything`] (0 keys left).
//!
//! Key layout (one store per user; the store holds nothing else):
//!
//! | key | value |
//! |---|---|
//! | `meta/schema` | `{"version":1}` (written with every batch) |
//! | `meta/next_id` | the next id, decimal |
//! | `work/state` | [`WorkingMemory`] JSON |
//! | `epi/<id, 16 digits>` | [`Episode`] JSON (key order = insertion order) |
//! | `sem/<id>` | [`Fact`] JSON |
//! | `profile/snapshot` | the profile snapshot bytes |
//! | `item/<item id>` | an item the user added ([`StoredItem`] JSON, embeddings included) |
//! | `photo/<item id>` | that item's photo (PNG/JPEG bytes) |
//!
//! Every change is one atomic [`KvStore::write`] batch.

mod consolidate;
mod export;
mod items;
mod recall;
mod records;

use std::rc::Rc;

pub use consolidate::ConsolidationReport;
pub use export::{EXPORT_FORMAT, EXPORT_VERSION};
pub use items::{decode_f32, encode_f32, photo_type, StoredItem, ITEM_PREFIX, PHOTO_PREFIX};
pub use recall::{RecallWeights, Recalled};
pub use records::{
    Episode, EpisodeKind, Fact, FactKind, Provenance, Role, Source, Turn, WorkingMemory,
};

use crate::error::{Error, Result};
use crate::platform::{Clock, KvStore, WriteOp};
use crate::TextEncoder;

/// Version of the key layout and record format, stored at `meta/schema`.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &str = "meta/schema";
const NEXT_ID_KEY: &str = "meta/next_id";
const WORK_KEY: &str = "work/state";
const EPISODE_PREFIX: &str = "epi/";
const FACT_PREFIX: &str = "sem/";
const PROFILE_KEY: &str = "profile/snapshot";

/// Turns text into an embedding for recall. [`TextEncoder`] implements it;
/// tests use deterministic fakes.
pub trait Embedder {
    /// The embedding of `text` (any length; recall uses cosine similarity).
    fn embed(&self, text: &str) -> Result<Vec<f32>>;
}

impl Embedder for TextEncoder {
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        TextEncoder::embed(self, text)
    }
}

/// Tunables of [`Memory`].
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryConfig {
    /// Turns kept in working memory (default 20; older ones drop out).
    pub working_turns: usize,
    /// How recall blends similarity, recency and importance.
    pub weights: RecallWeights,
    /// Episodes of one polarity on one tag needed before consolidation
    /// states a preference or aversion (default 3).
    pub min_evidence: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            working_turns: 20,
            weights: RecallWeights::default(),
            min_evidence: 3,
        }
    }
}

/// How a new fact is stored by [`Memory::remember_with`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RememberOptions {
    /// The kind; `None` guesses it from the words ([`FactKind::guess`]).
    pub kind: Option<FactKind>,
    /// Importance 0..=1; `None` is 0.5.
    pub importance: Option<f32>,
    /// Confidence 0..=1; `None` is 1 (the user said it).
    pub confidence: Option<f32>,
}

/// The user's long-term memory over one [`KvStore`]. Holds no cache: every
/// read goes to the store, so several `Memory` values (or processes, for
/// the file store) over one store agree.
pub struct Memory {
    store: Rc<dyn KvStore>,
    clock: Rc<dyn Clock>,
    embedder: Option<Rc<dyn Embedder>>,
    config: MemoryConfig,
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Storage(format!("cannot serialize a memory record: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Storage(format!("corrupt record {key}: {e}")))
}

fn episode_key(id: u64) -> String {
    format!("{EPISODE_PREFIX}{id:016}")
}

fn fact_key(id: &str) -> String {
    format!("{FACT_PREFIX}{id}")
}

fn put(key: String, value: Vec<u8>) -> WriteOp {
    WriteOp::Put { key, value }
}

fn check_unit(name: &str, v: f32) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{name} must be in 0..=1, got {v}"
        )))
    }
}

impl Memory {
    /// Opens the memory in `store` (empty or written by this version);
    /// a store written by a newer schema is refused ([`Error::Storage`]).
    pub async fn open(store: Rc<dyn KvStore>, clock: Rc<dyn Clock>) -> Result<Self> {
        if let Some(bytes) = store.get(SCHEMA_KEY).await? {
            #[derive(serde::Deserialize)]
            struct Schema {
                version: u32,
            }
            let schema: Schema = parse(SCHEMA_KEY, &bytes)?;
            if schema.version > SCHEMA_VERSION {
                return Err(Error::Storage(format!(
                    "memory schema {} is newer than this recagent's {SCHEMA_VERSION}",
                    schema.version
                )));
            }
        }
        Ok(Self {
            store,
            clock,
            embedder: None,
            config: MemoryConfig::default(),
        })
    }

    /// Uses `embedder` for facts and queries (without one, facts are stored
    /// without embeddings and [`Memory::recall`] is refused).
    pub fn with_embedder(mut self, embedder: Rc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Replaces the configuration.
    pub fn with_config(mut self, config: MemoryConfig) -> Self {
        self.config = config;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &MemoryConfig {
        &self.config
    }

    /// The underlying store.
    pub fn store(&self) -> &Rc<dyn KvStore> {
        &self.store
    }

    fn now(&self) -> f64 {
        self.clock.now_ms()
    }

    /// Writes `ops` and then the schema record, atomically.
    async fn commit(&self, mut ops: Vec<WriteOp>) -> Result<()> {
        ops.push(put(
            SCHEMA_KEY.into(),
            json(&serde_json::json!({ "version": SCHEMA_VERSION }))?,
        ));
        self.store.write(ops).await
    }

    /// Reserves `n` consecutive ids: the first, and the op recording the reservation.
    async fn reserve_ids(&self, n: u64) -> Result<(u64, WriteOp)> {
        let next = match self.store.get(NEXT_ID_KEY).await? {
            Some(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Error::Storage("corrupt record meta/next_id".into()))?,
            None => 1,
        };
        Ok((
            next,
            put(NEXT_ID_KEY.into(), (next + n).to_string().into_bytes()),
        ))
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        match &self.embedder {
            Some(e) => e.embed(text),
            None => Ok(Vec::new()),
        }
    }

    // ---- working memory -------------------------------------------------

    /// The current conversation and task state.
    pub async fn working(&self) -> Result<WorkingMemory> {
        match self.store.get(WORK_KEY).await? {
            Some(b) => parse(WORK_KEY, &b),
            None => Ok(WorkingMemory::default()),
        }
    }

    /// Appends a turn; only the last [`MemoryConfig::working_turns`] are kept.
    pub async fn push_turn(&self, role: Role, text: &str) -> Result<WorkingMemory> {
        let mut w = self.working().await?;
        w.turns.push(Turn {
            role,
            text: text.to_string(),
            time_ms: self.now(),
        });
        let excess = w.turns.len().saturating_sub(self.config.working_turns);
        w.turns.drain(..excess);
        self.commit(vec![put(WORK_KEY.into(), json(&w)?)]).await?;
        Ok(w)
    }

    /// Sets (or with `None` clears) the task state.
    pub async fn set_task(&self, task: Option<serde_json::Value>) -> Result<()> {
        let mut w = self.working().await?;
        w.task = task;
        self.commit(vec![put(WORK_KEY.into(), json(&w)?)]).await
    }

    /// Ends the conversation: working memory becomes empty.
    pub async fn clear_working(&self) -> Result<()> {
        self.store.delete(WORK_KEY).await
    }

    // ---- episodic memory ------------------------------------------------

    /// Appends `episode` to the log with a fresh id (and the clock's time
    /// when its `time_ms` is 0); returns it as stored.
    pub async fn record(&self, mut episode: Episode) -> Result<Episode> {
        if let Some(v) = episode.value {
            if !(1.0..=5.0).contains(&v) {
                return Err(Error::InvalidInput(format!(
                    "rating must be 1..=5, got {v}"
                )));
            }
        }
        let (id, next) = self.reserve_ids(1).await?;
        episode.id = id;
        if episode.time_ms == 0.0 {
            episode.time_ms = self.now();
        }
        self.commit(vec![next, put(episode_key(id), json(&episode)?)])
            .await?;
        Ok(episode)
    }

    /// Every episode, oldest first.
    pub async fn episodes(&self) -> Result<Vec<Episode>> {
        self.store
            .scan_prefix(EPISODE_PREFIX)
            .await?
            .into_iter()
            .map(|(k, v)| parse(&k, &v))
            .collect()
    }

    /// Keeps only the newest `keep` episodes (run [`Memory::consolidate`]
    /// first: facts keep the ids of their evidence, not the episodes);
    /// returns how many were removed.
    pub async fn compact(&self, keep: usize) -> Result<usize> {
        let keys = self.store.scan_prefix(EPISODE_PREFIX).await?;
        let drop = keys.len().saturating_sub(keep);
        let ops: Vec<_> = keys[..drop]
            .iter()
            .map(|(k, _)| WriteOp::Delete { key: k.clone() })
            .collect();
        if !ops.is_empty() {
            self.commit(ops).await?;
        }
        Ok(drop)
    }

    // ---- semantic memory ------------------------------------------------

    /// Stores what the user said as a fact ([`Memory::remember_with`] with
    /// default options).
    pub async fn remember(&self, text: &str) -> Result<Fact> {
        self.remember_with(text, RememberOptions::default()).await
    }

    /// Stores what the user said: a [`EpisodeKind::Message`] episode and a
    /// [`Fact`] (confidence 1 unless given, source [`Source::User`]) whose provenance is
    /// that episode, in one batch. The text is embedded when an embedder is set.
    pub async fn remember_with(&self, text: &str, options: RememberOptions) -> Result<Fact> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::InvalidInput(
                "nothing to remember: empty text".into(),
            ));
        }
        let importance = options.importance.unwrap_or(0.5);
        check_unit("importance", importance)?;
        let confidence = options.confidence.unwrap_or(1.0);
        check_unit("confidence", confidence)?;
        let embedding = self.embed(text)?;
        let (id, next) = self.reserve_ids(2).await?;
        let now = self.now();
        let mut episode = Episode::new(EpisodeKind::Message).text(text);
        episode.id = id;
        episode.time_ms = now;
        let fact = Fact {
            id: format!("f{}", id + 1),
            text: text.to_string(),
            kind: options.kind.unwrap_or_else(|| FactKind::guess(text)),
            confidence,
            importance,
            created_ms: now,
            updated_ms: now,
            provenance: Provenance {
                source: Source::User,
                episodes: vec![id],
                rule: None,
            },
            embedding,
        };
        self.commit(vec![
            next,
            put(episode_key(id), json(&episode)?),
            put(fact_key(&fact.id), json(&fact)?),
        ])
        .await?;
        Ok(fact)
    }

    /// Every fact, in id order.
    pub async fn facts(&self) -> Result<Vec<Fact>> {
        let mut facts: Vec<Fact> = self
            .store
            .scan_prefix(FACT_PREFIX)
            .await?
            .into_iter()
            .map(|(k, v)| parse(&k, &v))
            .collect::<Result<_>>()?;
        facts.sort_by_key(|f| (f.id.len(), f.id.clone()));
        Ok(facts)
    }

    /// The fact `id`, if stored.
    pub async fn fact(&self, id: &str) -> Result<Option<Fact>> {
        if id.is_empty() {
            return Ok(None);
        }
        match self.store.get(&fact_key(id)).await? {
            Some(b) => Ok(Some(parse(id, &b)?)),
            None => Ok(None),
        }
    }

    async fn existing_fact(&self, id: &str) -> Result<Fact> {
        self.fact(id)
            .await?
            .ok_or_else(|| Error::InvalidInput(format!("no memory fact with id {id:?}")))
    }

    /// The user corrects fact `id`: new text (re-embedded, kind guessed
    /// again), confidence 1, source [`Source::User`], recency restarts.
    /// An unknown id is [`Error::InvalidInput`].
    pub async fn correct(&self, id: &str, new_text: &str) -> Result<Fact> {
        let new_text = new_text.trim();
        if new_text.is_empty() {
            return Err(Error::InvalidInput("a correction needs text".into()));
        }
        let mut fact = self.existing_fact(id).await?;
        fact.embedding = self.embed(new_text)?;
        fact.text = new_text.to_string();
        fact.kind = FactKind::guess(new_text);
        fact.confidence = 1.0;
        fact.updated_ms = self.now();
        fact.provenance.source = Source::User;
        self.commit(vec![put(fact_key(id), json(&fact)?)]).await?;
        Ok(fact)
    }

    /// Deletes fact `id` **and the episodes it came from** (so consolidation
    /// cannot derive it again from the same evidence), or, for an id
    /// `e<n>`, episode `n`. Returns the number of records removed; an
    /// unknown id is [`Error::InvalidInput`].
    pub async fn forget(&self, id: &str) -> Result<usize> {
        if let Some(n) = id.strip_prefix('e').and_then(|n| n.parse::<u64>().ok()) {
            let key = episode_key(n);
            if self.store.get(&key).await?.is_none() {
                return Err(Error::InvalidInput(format!(
                    "no memory episode with id {id:?}"
                )));
            }
            self.commit(vec![WriteOp::Delete { key }]).await?;
            return Ok(1);
        }
        let fact = self.existing_fact(id).await?;
        let mut ops = vec![WriteOp::Delete { key: fact_key(id) }];
        for e in &fact.provenance.episodes {
            let key = episode_key(*e);
            if self.store.get(&key).await?.is_some() {
                ops.push(WriteOp::Delete { key });
            }
        }
        let removed = ops.len();
        self.commit(ops).await?;
        Ok(removed)
    }

    // ---- profile ----------------------------------------------------------

    /// Stores a profile snapshot ([`crate::UserProfile::snapshot`] bytes;
    /// anything else is [`Error::InvalidProfile`]).
    pub async fn save_profile(&self, snapshot: &[u8]) -> Result<()> {
        crate::UserProfile::restore(snapshot)?;
        self.commit(vec![put(PROFILE_KEY.into(), snapshot.to_vec())])
            .await
    }

    /// The stored profile snapshot, if any.
    pub async fn profile(&self) -> Result<Option<Vec<u8>>> {
        self.store.get(PROFILE_KEY).await
    }
}
