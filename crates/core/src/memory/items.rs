//! Items the user added to the catalog (personal data, like the rest of
//! the memory): the item record with its embeddings under `item/<id>`, the
//! photo's bytes under `photo/<id>`.
//!
//! Embeddings are stored as base64 of little-endian f32 with the
//! fingerprint of the model that computed them, so a restore needs no model
//! when the models are unchanged; [`crate::Recommender::restore_item`]
//! re-embeds (text, or the stored photo) when they differ.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{invalid, json, put, validate, Memory};
use crate::catalog::{AttributeValue, ModelFingerprint};
use crate::error::Result;
use crate::platform::WriteOp;

/// Key prefix of stored item records.
pub const ITEM_PREFIX: &str = "item/";
/// Key prefix of stored photos.
pub const PHOTO_PREFIX: &str = "photo/";

/// An item the user added, as stored (and exported).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredItem {
    /// Item id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The user's description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An image reference (URL) the app gave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Attribute values by attribute name.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// The text that was embedded.
    pub text: String,
    /// When it was added (ms since the epoch).
    pub added_ms: f64,
    /// Text embedding: base64 of little-endian f32.
    pub text_embedding: String,
    /// The text model that computed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_model: Option<ModelFingerprint>,
    /// Photo embedding (unit length): base64 of little-endian f32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_embedding: Option<String>,
    /// The image model that computed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_model: Option<ModelFingerprint>,
    /// MIME type of the stored photo (`image/png`, `image/jpeg`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_type: Option<String>,
}

pub use crate::vectors::{decode_f32, encode_f32};

/// The MIME type of PNG or JPEG bytes, from their signature.
pub fn photo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else {
        None
    }
}

pub(super) fn item_key(id: &str) -> String {
    format!("{ITEM_PREFIX}{id}")
}

pub(super) fn photo_key(id: &str) -> String {
    format!("{PHOTO_PREFIX}{id}")
}

/// The writes that store `item` and its photo (or delete a stale photo).
pub(super) fn item_ops(item: &StoredItem, photo: Option<&[u8]>) -> Result<Vec<WriteOp>> {
    let mut ops = vec![put(item_key(&item.id), json(item)?)];
    ops.push(match photo {
        Some(bytes) => put(photo_key(&item.id), bytes.to_vec()),
        None => WriteOp::Delete { key: photo_key(&item.id) },
    });
    Ok(ops)
}

impl Memory {
    /// Stores an added item and its photo, in one batch. An item breaking
    /// the record rules (an id over 256 bytes, a text over
    /// [`super::MAX_TEXT_BYTES`], a non-finite number, a photo over
    /// [`super::MAX_PHOTO_BYTES`]) is [`Error::InvalidInput`].
    pub async fn put_item(&self, item: &StoredItem, photo: Option<&[u8]>) -> Result<()> {
        invalid(validate::item(item))?;
        invalid(validate::photo(photo))?;
        self.commit(item_ops(item, photo)?).await
    }

    /// Deletes an added item and its photo, in one batch; whether it was stored.
    pub async fn delete_item(&self, id: &str) -> Result<bool> {
        let existed = self.store.get(&item_key(id)).await?.is_some();
        self.commit(vec![
            WriteOp::Delete { key: item_key(id) },
            WriteOp::Delete { key: photo_key(id) },
        ])
        .await?;
        Ok(existed)
    }

    /// Every stored item, in key order (by id); corrupt ones are set aside.
    pub async fn items(&self) -> Result<Vec<StoredItem>> {
        let check = |key: &str, item: &StoredItem| {
            validate::item(item)?;
            if key == item_key(&item.id) {
                Ok(())
            } else {
                Err(format!("item {:?} is stored under {key}", item.id))
            }
        };
        Ok(self
            .read_valid(ITEM_PREFIX, check)
            .await?
            .into_iter()
            .map(|(_, _, item)| item)
            .collect())
    }

    /// The stored photo of an added item, if any.
    pub async fn item_photo(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.store.get(&photo_key(id)).await
    }
}
