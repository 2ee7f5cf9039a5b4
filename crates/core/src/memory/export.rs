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
//! Embeddings travel with the facts (a fact without one is embedded at
//! recall). Unknown fields are ignored, so a later minor addition stays
//! readable; a different `format` or a `version` other than 1 is refused.

use std::collections::HashSet;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::items::{decode_f32, item_ops, StoredItem};
use super::{
    episode_key, fact_key, json, put, Episode, Fact, Memory, WorkingMemory, NEXT_ID_KEY,
    PROFILE_KEY, WORK_KEY,
};
use crate::error::{Error, Result};
use crate::platform::WriteOp;

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
            .profile()
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
        let doc = ExportDoc {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            exported_at: self.now(),
            working: self.working().await?,
            episodic: self.episodes().await?,
            semantic: self.facts().await?,
            profile,
            items,
        };
        String::from_utf8(json(&doc)?).map_err(|e| Error::Storage(format!("export is not UTF-8: {e}")))
    }

    /// Replaces the whole memory with an export document, atomically (one
    /// batch that deletes every current key and writes the document's
    /// records). The document is validated first: `format`, `version`,
    /// unique ids, confidences and importances in 0..=1, a decodable
    /// profile snapshot; any problem is [`Error::InvalidInput`] (or
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

        let mut max_id = 0u64;
        let mut seen = HashSet::new();
        for e in &doc.episodic {
            if !seen.insert(e.id) {
                return Err(bad(format!("duplicate episode id {}", e.id)));
            }
            max_id = max_id.max(e.id);
        }
        let mut seen = HashSet::new();
        for f in &doc.semantic {
            let ok_id = !f.id.is_empty()
                && f.id.len() <= 64
                && f.id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok_id {
                return Err(bad(format!("invalid fact id {:?}", f.id)));
            }
            if !seen.insert(f.id.as_str()) {
                return Err(bad(format!("duplicate fact id {:?}", f.id)));
            }
            for (name, v) in [("confidence", f.confidence), ("importance", f.importance)] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad(format!("fact {}: {name} {v} is not in 0..=1", f.id)));
                }
            }
            if let Some(n) = f.id.strip_prefix('f').and_then(|n| n.parse::<u64>().ok()) {
                max_id = max_id.max(n);
            }
        }
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
            if item.id.is_empty() || item.id.len() > 256 || !seen.insert(item.id.as_str()) {
                return Err(bad(format!("item id {:?} is empty, too long or repeated", item.id)));
            }
            decode_f32(&item.text_embedding).map_err(|err| bad(format!("item {:?}: {err}", item.id)))?;
            if let Some(v) = &item.image_embedding {
                decode_f32(v).map_err(|err| bad(format!("item {:?}: {err}", item.id)))?;
            }
            let photo = match &e.photo {
                Some(b64) => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|err| bad(format!("item {:?}: photo is not base64: {err}", item.id)))?,
                ),
                None => None,
            };
            item_writes.extend(item_ops(item, photo.as_deref())?);
        }

        let mut ops: Vec<WriteOp> = self
            .store
            .scan_prefix("")
            .await?
            .into_iter()
            .map(|(key, _)| WriteOp::Delete { key })
            .collect();
        ops.push(put(
            NEXT_ID_KEY.into(),
            (max_id + 1).to_string().into_bytes(),
        ));
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
        Ok((doc.episodic.len(), doc.semantic.len()))
    }

    /// Deletes everything recagent stored in this memory's store (every
    /// key: the store holds nothing else), leaving 0 records; `Memory`
    /// keeps no cache. Returns the number of keys removed.
    pub async fn forget_everything(&self) -> Result<usize> {
        let before = self.store.scan_prefix("").await?.len();
        self.store.clear().await?;
        let left = self.store.scan_prefix("").await?.len();
        if left != 0 {
            return Err(Error::Storage(format!(
                "forget everything left {left} records"
            )));
        }
        Ok(before)
    }
}
