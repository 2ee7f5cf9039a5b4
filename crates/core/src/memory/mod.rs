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
//! | `profile/engine_records` | the candidate engine's records of the user's history items, saved with the snapshot (`Recommender::history_records`) |
//! | `item/<item id>` | an item the user added ([`StoredItem`] JSON, embeddings included) |
//! | `photo/<item id>` | that item's photo (PNG/JPEG bytes) |
//! | `corrupt/<key>` | a record found corrupt, set aside with its bytes unchanged (`corrupt.rs`) |
//!
//! Every change is one atomic [`KvStore::write`] batch. Every
//! read-modify-write (a new id, a correction, a turn, consolidation) is one
//! [`KvStore::write_if`]: it applies only if what it read is still there, and
//! is retried otherwise (`ids.rs`). Within one `Memory` the writes also
//! queue behind one async lock, so calls in flight together do not even
//! conflict. Every record is checked by the rules of `validate.rs` before it
//! is written and when it is read.

mod consolidate;
mod corrupt;
mod export;
mod ids;
mod items;
mod recall;
mod records;
mod semantic;
mod validate;
mod working;

use std::cell::RefCell;
use std::rc::Rc;

pub use consolidate::ConsolidationReport;
pub use corrupt::{CorruptRecord, CORRUPT_PREFIX};
pub use validate::{
    MAX_EMBEDDING_DIMS, MAX_FACT_ID_BYTES, MAX_ID, MAX_ITEM_ID_BYTES, MAX_PHOTO_BYTES,
    MAX_TEXT_BYTES, MAX_TURNS,
};
pub use export::{EXPORT_FORMAT, EXPORT_VERSION};
pub use items::{decode_f32, encode_f32, photo_type, StoredItem, ITEM_PREFIX, PHOTO_PREFIX};
pub use recall::{RecallWeights, Recalled};
pub use records::{
    Episode, EpisodeKind, Fact, FactKind, Provenance, Role, Source, Turn, WorkingMemory,
};

use crate::error::{Error, Result};
use crate::platform::{Clock, Expect, KvStore, WriteOp};
use crate::TextEncoder;

/// Version of the key layout and record format, stored at `meta/schema`.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &str = "meta/schema";
const NEXT_ID_KEY: &str = "meta/next_id";
const WORK_KEY: &str = "work/state";
const EPISODE_PREFIX: &str = "epi/";
const FACT_PREFIX: &str = "sem/";
const PROFILE_KEY: &str = "profile/snapshot";
const ENGINE_RECORDS_KEY: &str = "profile/engine_records";

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

/// The user's long-term memory over one [`KvStore`]. Holds no cache of
/// records: every read goes to the store, so several `Memory` values (or
/// tabs, or processes for the file store) over one store agree. (It keeps
/// the id counter its last write left, only as a guess that the next
/// conditional write checks.)
pub struct Memory {
    store: Rc<dyn KvStore>,
    clock: Rc<dyn Clock>,
    embedder: Option<Rc<dyn Embedder>>,
    config: MemoryConfig,
    /// Queues this value's writes: one read-modify-write at a time.
    write_lock: futures::lock::Mutex<()>,
    id_hint: RefCell<Option<ids::IdCounter>>,
    corrupt_listeners: RefCell<Vec<corrupt::CorruptListener>>,
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Storage(format!("cannot serialize a memory record: {e}")))
}

/// `Err(InvalidInput)` with the reason of a failed check.
fn invalid(check: validate::Check) -> Result<()> {
    check.map_err(Error::InvalidInput)
}

/// The check of a stored episode: the record's rules and its key.
fn stored_episode(key: &str, e: &Episode) -> validate::Check {
    validate::episode(e)?;
    if key == episode_key(e.id) {
        Ok(())
    } else {
        Err(format!("episode {} is stored under {key}", e.id))
    }
}

/// The check of a stored fact: the record's rules and its key.
fn stored_fact(key: &str, f: &Fact) -> validate::Check {
    validate::fact(f)?;
    if key == fact_key(&f.id) {
        Ok(())
    } else {
        Err(format!("fact {:?} is stored under {key}", f.id))
    }
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
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{name} must be in 0..=1, got {v}"
        )))
    }
}

impl Memory {
    /// Opens the memory in `store` (empty or written by this version);
    /// a store written by a newer schema is refused ([`Error::Storage`]). A
    /// damaged schema record is set aside (the next write rewrites it).
    pub async fn open(store: Rc<dyn KvStore>, clock: Rc<dyn Clock>) -> Result<Self> {
        let memory = Self {
            store,
            clock,
            embedder: None,
            config: MemoryConfig::default(),
            write_lock: futures::lock::Mutex::new(()),
            id_hint: RefCell::new(None),
            corrupt_listeners: RefCell::new(Vec::new()),
        };
        #[derive(serde::Deserialize)]
        struct Schema {
            version: u32,
        }
        let schema = memory.get_valid(SCHEMA_KEY, |_, _: &Schema| Ok(())).await?;
        if let Some((_, schema)) = schema {
            if schema.version > SCHEMA_VERSION {
                return Err(Error::Storage(format!(
                    "memory schema {} is newer than this recagent's {SCHEMA_VERSION}",
                    schema.version
                )));
            }
        }
        Ok(memory)
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

    fn schema_op() -> WriteOp {
        put(SCHEMA_KEY.into(), format!("{{\"version\":{SCHEMA_VERSION}}}").into_bytes())
    }

    /// Writes `ops` and then the schema record, atomically.
    async fn commit(&self, mut ops: Vec<WriteOp>) -> Result<()> {
        ops.push(Self::schema_op());
        self.store.write(ops).await
    }

    /// [`Memory::commit`] if every expectation holds (one
    /// [`KvStore::write_if`]); whether it was written.
    async fn commit_if(&self, expect: Vec<Expect>, mut ops: Vec<WriteOp>) -> Result<bool> {
        ops.push(Self::schema_op());
        self.store.write_if(expect, ops).await
    }

    /// The embedding of `text` (empty without an embedder); refused when
    /// the embedder gives more than [`MAX_EMBEDDING_DIMS`] or non-finite values.
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let v = match &self.embedder {
            Some(e) => e.embed(text)?,
            None => Vec::new(),
        };
        invalid(validate::embedding("the embedder's output", &v))?;
        Ok(v)
    }

    // ---- episodic memory ------------------------------------------------

    /// Appends `episode` to the log with a fresh id (and the clock's time
    /// when its `time_ms` is 0); returns it as stored. An episode breaking
    /// the record rules (a rating outside 1..=5, a non-finite time, a text
    /// over [`MAX_TEXT_BYTES`], …) is [`Error::InvalidInput`].
    pub async fn record(&self, mut episode: Episode) -> Result<Episode> {
        if episode.time_ms == 0.0 {
            episode.time_ms = self.now();
        }
        episode.id = 0;
        invalid(validate::episode(&episode))?;
        let _queued = self.write_lock.lock().await;
        let id = self
            .insert_new(1, |id| {
                let mut e = episode.clone();
                e.id = id;
                Ok(vec![put(episode_key(id), json(&e)?)])
            })
            .await?;
        episode.id = id;
        Ok(episode)
    }

    /// Every episode, oldest first (corrupt ones are set aside).
    pub async fn episodes(&self) -> Result<Vec<Episode>> {
        Ok(self
            .read_valid(EPISODE_PREFIX, stored_episode)
            .await?
            .into_iter()
            .map(|(_, _, e)| e)
            .collect())
    }

    /// Keeps only the newest `keep` episodes (run [`Memory::consolidate`]
    /// first: facts keep the ids of their evidence, not the episodes);
    /// returns how many were removed.
    pub async fn compact(&self, keep: usize) -> Result<usize> {
        let _queued = self.write_lock.lock().await;
        let keys = self.read_valid(EPISODE_PREFIX, stored_episode).await?;
        let drop = keys.len().saturating_sub(keep);
        let ops: Vec<_> = keys
            .into_iter()
            .take(drop)
            .map(|(key, _, _)| WriteOp::Delete { key })
            .collect();
        if !ops.is_empty() {
            self.commit(ops).await?;
        }
        Ok(drop)
    }

    // ---- profile ----------------------------------------------------------

    /// Stores a profile snapshot ([`crate::UserProfile::snapshot`] bytes;
    /// anything else is [`Error::InvalidProfile`]).
    pub async fn save_profile(&self, snapshot: &[u8]) -> Result<()> {
        crate::UserProfile::restore(snapshot)?;
        self.commit(vec![put(PROFILE_KEY.into(), snapshot.to_vec())])
            .await
    }

    /// Stores a profile snapshot and the engine records of its history
    /// items (`records`, from [`crate::Recommender::history_records`];
    /// `None` removes stored ones) in one atomic batch.
    pub async fn save_profile_with_records(&self, snapshot: &[u8], records: Option<Vec<u8>>) -> Result<()> {
        crate::UserProfile::restore(snapshot)?;
        let records = match records {
            Some(r) => put(ENGINE_RECORDS_KEY.into(), r),
            None => WriteOp::Delete { key: ENGINE_RECORDS_KEY.into() },
        };
        self.commit(vec![put(PROFILE_KEY.into(), snapshot.to_vec()), records]).await
    }

    /// The stored engine records of the profile's history items, as stored
    /// (the caller reads them; when that fails,
    /// [`Memory::set_aside_engine_records`]).
    pub async fn engine_records(&self) -> Result<Option<Vec<u8>>> {
        self.store.get(ENGINE_RECORDS_KEY).await
    }

    /// Sets stored engine records that did not read aside under `corrupt/`.
    /// Best effort: never fails.
    pub async fn set_aside_engine_records(&self, records: &[u8], reason: String) {
        self.set_aside(ENGINE_RECORDS_KEY, records, reason).await;
    }

    /// The stored profile snapshot, if any, as stored (the caller restores
    /// it; when that fails, [`Memory::set_aside_profile`]).
    pub async fn profile(&self) -> Result<Option<Vec<u8>>> {
        self.store.get(PROFILE_KEY).await
    }

    /// The stored profile snapshot if it restores; one that does not is set
    /// aside as corrupt and reads as `None` (what `export` uses).
    pub async fn valid_profile(&self) -> Result<Option<Vec<u8>>> {
        let Some(raw) = self.store.get(PROFILE_KEY).await? else {
            return Ok(None);
        };
        match crate::UserProfile::restore(&raw) {
            Ok(_) => Ok(Some(raw)),
            Err(e) => {
                self.set_aside(PROFILE_KEY, &raw, e.to_string()).await;
                Ok(None)
            }
        }
    }

    /// Reports the stored profile `snapshot` as corrupt (`reason`: why it
    /// did not restore) and sets it aside under `corrupt/`, if it is still
    /// what is stored. Best effort: never fails.
    pub async fn set_aside_profile(&self, snapshot: &[u8], reason: String) {
        self.set_aside(PROFILE_KEY, snapshot, reason).await;
    }
}
