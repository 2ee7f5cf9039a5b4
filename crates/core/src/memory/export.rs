//! Export, import and forgetting everything.
//!
//! The export document is one JSON object:
//!
//! ```json
//! {"format": "recagent-memory", "version": 1, "exportedAt": 1764000000000,
//!  "working": {"turns": [{"role": "user", "text": "…", "timeMs": …}], "task": null},
//!  "episodic": [{"id": 1, "timeMs": …, "kind": "message", "text": "…"}, …],
//!  "semantic": [{"id": "f2", "text": "…", "kind": "fact", "confidence": 1.0,
//!                "importance": 0.5, "createdMs": …, "updatedMs": …,
//!                "provenance": {"source": "user", "episodes": [1]},
//!                "embedding": [ … ]}, …],
//!  "profile": "<base64 of the profile snapshot>" | null,
//!  "items": [{"id": "mine-1", "title": "…", "text": "…", "attributes": {…},
//!             "addedMs": …, "textEmbedding": "<base64 f32>", "textModel": {…},
//!             "imageEmbedding": "<base64 f32>", "imageModel": {…},
//!             "photoType": "image/png", "photo": "<base64 of the photo>"}, …]}
//! ```
//!
//! `items` are the items the user added to the catalog (personal data): the
//! record as stored, with its embeddings and the photo's bytes, so an import
//! restores them without the models. A document without `items` imports none.
//!
//! `corrupt` (absent when empty) lists the records set aside as corrupt
//! (`memory::corrupt`): `[{"key": "sem/f12", "value": "<base64 of the bytes>"}]`;
//! an import puts them aside again.
//!
//! Import checks every record by the rules of `memory::validate` (the ones
//! every write obeys): ids unique and at most 2^53 − 1, fact ids that cannot
//! be taken for episode ids (`e<digits>` is refused), finite numbers,
//! confidences and importances in 0..=1, ratings in 1..=5, texts, tags,
//! embeddings and photos within their limits, embeddings that decode. So
//! whatever it accepts reads back, and exports again to the same document.
//!
//! Embeddings travel with the facts (a fact without one is embedded at
//! recall). Unknown fields are ignored, so a later minor addition stays
//! readable; a different `format` or a `version` other than 1 is refused.

use std::collections::HashSet;

use super::corrupt::CORRUPT_PREFIX;
use super::validate::{self, MAX_ID};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::items::{item_ops, StoredItem};
use super::{
    episode_key, fact_key, json, put, Episode, Fact, Memory, WorkingMemory, NEXT_ID_KEY,
    PROFILE_KEY, WORK_KEY,
};
use crate::error::{Error, Result};
use crate::platform::{WriteOp, MAX_KEY_LEN};

/// The `format` field of an export document.
pub const EXPORT_FORMAT: &str = "recagent-memory";
/// The `version` field of the export documents this recagent writes and reads.
pub const EXPORT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportDoc {
    format: String,
    version: u32,
    exported_at: f64,
    #[serde(default)]
    working: WorkingMemory,
    #[serde(default)]
    episodic: Vec<Episode>,
    #[serde(default)]
    semantic: Vec<Fact>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    items: Vec<ExportedItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    corrupt: Vec<CorruptEntry>,
}

/// A record set aside as corrupt, in the export document.
#[derive(Serialize, Deserialize)]
struct CorruptEntry {
    /// Its original key.
    key: String,
    /// Base64 of its bytes.
    value: String,
}

/// An added item in the export document: the stored record plus its photo.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportedItem {
    #[serde(flatten)]
    item: StoredItem,
    #[serde(default)]
    photo: Option<String>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidInput(format!("memory import: {}", msg.into()))
}

impl Memory {
    /// The whole memory as one export document (JSON text; format in the
    /// module docs of `memory::export`).
    pub async fn export(&self) -> Result<String> {
        let profile = self
            .valid_profile()
            .await?
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b));
        let mut items = Vec::new();
        for item in self.items().await? {
            let photo = self
                .item_photo(&item.id)
                .await?
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b));
            items.push(ExportedItem { item, photo });
        }
        let working = self.working().await?;
        let episodic = self.episodes().await?;
        let semantic = self.facts().await?;
        // Last: what the reads above set aside is included.
        let corrupt = self
            .corrupt_records()
            .await?
            .into_iter()
            .map(|(key, value)| CorruptEntry {
                key,
                value: base64::engine::general_purpose::STANDARD.encode(value),
            })
            .collect();
        let doc = ExportDoc {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            exported_at: self.now(),
            working,
            episodic,
            semantic,
            profile,
            items,
            corrupt,
        };
        String::from_utf8(json(&doc)?).map_err(|e| Error::Storage(format!("export is not UTF-8: {e}")))
    }

    /// Replaces the whole memory with an export document, atomically (one
    /// batch that deletes every current key and writes the document's
    /// records). The document is validated first (module docs: `format`,
    /// `version`, every record by the write rules, a decodable profile
    /// snapshot); any problem is [`Error::InvalidInput`] (or
    /// [`Error::InvalidProfile`]) and leaves the memory untouched.
    /// Returns `(episodes, facts)` imported.
    pub async fn import(&self, document: &str) -> Result<(usize, usize)> {
        let value: serde_json::Value =
            serde_json::from_str(document).map_err(|e| bad(format!("not JSON: {e}")))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(EXPORT_FORMAT) => {}
            other => {
                return Err(bad(format!(
                    "format is {other:?}, expected {EXPORT_FORMAT:?}"
                )))
            }
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(EXPORT_VERSION) => {}
            other => {
                return Err(bad(format!(
                    "unsupported version {other:?} (this recagent reads {EXPORT_VERSION})"
                )))
            }
        }
        let doc: ExportDoc = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;

        validate::working(&doc.working).map_err(bad)?;
        let mut max_id = 0u64;
        let mut seen = HashSet::new();
        for e in &doc.episodic {
            validate::episode(e).map_err(|why| bad(format!("episode {}: {why}", e.id)))?;
            if !seen.insert(e.id) {
                return Err(bad(format!("duplicate episode id {}", e.id)));
            }
            max_id = max_id.max(e.id);
        }
        let mut seen = HashSet::new();
        for f in &doc.semantic {
            validate::fact(f).map_err(|why| bad(format!("fact {:?}: {why}", f.id)))?;
            if validate::looks_like_episode_id(&f.id) {
                return Err(bad(format!(
                    "fact id {:?} has the form of an episode id (e<number>)",
                    f.id
                )));
            }
            if !seen.insert(f.id.as_str()) {
                return Err(bad(format!("duplicate fact id {:?}", f.id)));
            }
            if let Some(n) = validate::fact_number(&f.id) {
                max_id = max_id.max(n);
            }
        }
        // Every id was checked to be at most MAX_ID: the next one is at most 2^53.
        let next_id = max_id.min(MAX_ID).saturating_add(1);
        let profile = match &doc.profile {
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| bad(format!("profile is not base64: {e}")))?;
                crate::UserProfile::restore(&bytes)?;
                Some(bytes)
            }
            None => None,
        };

        let mut seen = HashSet::new();
        let mut item_writes = Vec::new();
        for e in &doc.items {
            let item = &e.item;
            validate::item(item).map_err(|why| bad(format!("item {:?}: {why}", item.id)))?;
            if !seen.insert(item.id.as_str()) {
                return Err(bad(format!("item id {:?} is repeated", item.id)));
            }
            let photo = match &e.photo {
                Some(b64) => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|err| bad(format!("item {:?}: photo is not base64: {err}", item.id)))?,
                ),
                None => None,
            };
            validate::photo(photo.as_deref()).map_err(|why| bad(format!("item {:?}: {why}", item.id)))?;
            item_writes.extend(item_ops(item, photo.as_deref())?);
        }
        let mut seen = HashSet::new();
        for c in &doc.corrupt {
            let key = format!("{CORRUPT_PREFIX}{}", c.key);
            if c.key.is_empty() || key.len() > MAX_KEY_LEN || !seen.insert(c.key.as_str()) {
                return Err(bad(format!("corrupt record key {:?} is empty, too long or repeated", c.key)));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&c.value)
                .map_err(|err| bad(format!("corrupt record {:?} is not base64: {err}", c.key)))?;
            item_writes.push(put(key, bytes));
        }

        let _queued = self.write_lock.lock().await;
        let mut ops: Vec<WriteOp> = self
            .store
            .scan_prefix("")
            .await?
            .into_iter()
            .map(|(key, _)| WriteOp::Delete { key })
            .collect();
        ops.push(put(NEXT_ID_KEY.into(), next_id.to_string().into_bytes()));
        if doc.working != WorkingMemory::default() {
            ops.push(put(WORK_KEY.into(), json(&doc.working)?));
        }
        for e in &doc.episodic {
            ops.push(put(episode_key(e.id), json(e)?));
        }
        for f in &doc.semantic {
            ops.push(put(fact_key(&f.id), json(f)?));
        }
        if let Some(bytes) = profile {
            ops.push(put(PROFILE_KEY.into(), bytes));
        }
        ops.extend(item_writes);
        self.commit(ops).await?;
        self.forget_counter();
        Ok((doc.episodic.len(), doc.semantic.len()))
    }

    /// Deletes everything recagent stored in this memory's store (every
    /// key: the store holds nothing else), leaving 0 records; `Memory`
    /// keeps no cache. Returns the number of keys removed.
    pub async fn forget_everything(&self) -> Result<usize> {
        let _queued = self.write_lock.lock().await;
        let before = self.store.scan_prefix("").await?.len();
        self.store.clear().await?;
        self.forget_counter();
        let left = self.store.scan_prefix("").await?.len();
        if left != 0 {
            return Err(Error::Storage(format!(
                "forget everything left {left} records"
            )));
        }
        Ok(before)
    }
}
