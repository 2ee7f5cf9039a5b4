//! Items added at run time and search by photo.
//!
//! [`Recommender::add_item`] appends an item to the live catalog: its text
//! (title, description and attributes, in the builder's form) is embedded by
//! the recommender's text encoder, its photo (a [`Photo`]) by the image
//! encoder; it is then searchable by text and by photo, recommendable and
//! explained like any item. It returns the [`StoredItem`] to persist (the
//! JS layer stores it in the memory, and `create` gives it back to
//! [`Recommender::restore_item`]). [`Recommender::search_by_photo`] ranks
//! the items that have a photo by similarity to a query photo, blended with
//! the profile like a text query.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Photo, RecommendOptions, Recommender};
use crate::catalog::{AttributeValue, Item, ModelFingerprint};
use crate::encoder::ImageEncoder;
use crate::error::{Error, Result};
use crate::memory::{decode_f32, encode_f32, StoredItem};
use crate::ranking::{self, Recommendation};

/// Longest item id, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest description, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Largest photo, in bytes (decoding limits apply on top).
pub const MAX_PHOTO_BYTES: usize = 32 << 20;

/// An item to add (the JS `NewItem` without its photo bytes).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewItem {
    /// A new id (unique in the catalog, 1..=256 bytes, no control characters).
    pub id: String,
    /// Display title (required, at most 500 characters).
    pub title: String,
    /// A description, embedded with the title.
    #[serde(default)]
    pub text: Option<String>,
    /// An image URL the app can display (not fetched).
    #[serde(default)]
    pub image: Option<String>,
    /// Values of the catalog's declared attributes, by name (see
    /// [`crate::Catalog::values_for`]).
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

fn unit(mut v: Vec<f32>) -> Result<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return Err(Error::Inference("the image model gave a zero or non-finite embedding".into()));
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(v)
}

impl Recommender {
    /// Uses `encoder` (built from `model_bytes`) for photos from now on.
    pub fn set_image_encoder(&mut self, encoder: ImageEncoder, model_bytes: &[u8]) {
        self.image = Some(encoder);
        self.image_model = Some(ModelFingerprint::of(model_bytes));
    }

    /// Whether an image model is loaded.
    pub fn has_image_model(&self) -> bool {
        self.image.is_some()
    }

    /// The unit-length embedding of a decoded photo ([`Photo::decode`]).
    /// `invalid_input` without an image model.
    pub fn embed_photo(&self, photo: &Photo) -> Result<Vec<f32>> {
        let encoder = self.image.as_ref().ok_or_else(|| {
            Error::InvalidInput("photos need the image model (imageModel in create, or loadImageModel)".into())
        })?;
        unit(encoder.embed_rgb(photo.image())?.embedding)
    }

    /// Adds an item to the live catalog (see the module docs) and returns
    /// the record to store. Errors (nothing is added): `invalid_input` for a
    /// duplicate or malformed id, an empty or too long title, an unknown
    /// attribute or a value of the wrong kind, no text model, a photo without
    /// the image model (bad photo bytes are refused by [`Photo::decode`]).
    pub fn add_item(&mut self, new: NewItem, photo: Option<&Photo>, now_ms: f64) -> Result<StoredItem> {
        let id = new.id;
        if id.is_empty() || id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
            return Err(Error::InvalidInput(format!(
                "item id {id:?} must be 1..={MAX_ID_BYTES} bytes without control characters"
            )));
        }
        if self.catalog.index_of(&id).is_some() {
            return Err(Error::InvalidInput(format!("the catalog already has an item with id {id:?}")));
        }
        let title = new.title.trim().to_string();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(Error::InvalidInput(format!("an item title must be 1..={MAX_TITLE_CHARS} characters")));
        }
        let description = new.text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if description.as_ref().is_some_and(|d| d.chars().count() > MAX_TEXT_CHARS) {
            return Err(Error::InvalidInput(format!("an item text must be at most {MAX_TEXT_CHARS} characters")));
        }
        let given: Vec<(String, serde_json::Value)> = new.attributes.into_iter().collect();
        let values = self.catalog.values_for(&title, &given)?;
        let text = self.catalog.describe(&title, description.as_deref(), &values);
        // Both embeddings before anything changes: a bad photo adds nothing.
        let text_embedding = self.embed_query(&text)?;
        let image_embedding = match photo {
            Some(photo) => Some(self.embed_photo(photo)?),
            None => None,
        };
        let stored = StoredItem {
            id: id.clone(),
            title: title.clone(),
            description,
            image: new.image.clone(),
            attributes: self.named_values(&values),
            text: text.clone(),
            added_ms: now_ms,
            text_embedding: encode_f32(&text_embedding),
            text_model: self.text_model.clone(),
            image_embedding: image_embedding.as_deref().map(encode_f32),
            image_model: image_embedding.as_ref().and(self.image_model.clone()),
            photo_type: photo.map(|p| p.mime().to_string()),
        };
        let item = Item { id, title, text, image: new.image, values };
        self.catalog.push_added(item, &text_embedding, image_embedding.as_deref())?;
        self.intent.borrow_mut().invalidate();
        Ok(stored)
    }

    fn named_values(&self, values: &[AttributeValue]) -> BTreeMap<String, AttributeValue> {
        self.catalog
            .attributes()
            .iter()
            .zip(values)
            .filter(|(_, v)| **v != AttributeValue::Missing)
            .map(|(d, v)| (d.name.clone(), v.clone()))
            .collect()
    }

    /// Whether [`Recommender::restore_item`] would re-embed this item's
    /// photo (the loaded image model differs from the one that embedded it),
    /// so the caller should pass the stored photo, decoded.
    pub fn restore_needs_photo(&self, stored: &StoredItem) -> bool {
        stored.photo_type.is_some()
            && self.image.is_some()
            && (stored.image_embedding.is_none() || stored.image_model != self.image_model)
    }

    /// Adds a stored item back to the live catalog (what `create` does for
    /// the items in the memory). The stored embeddings are used when they
    /// came from the models in use (else the text is embedded again, and the
    /// photo when its bytes are given and an image model is loaded; without
    /// them the item comes back without photo search). Errors: the id is
    /// taken (`invalid_input`, e.g. the catalog now has that item), or the
    /// text embedding is from another model and no text model is loaded.
    pub fn restore_item(&mut self, stored: &StoredItem, photo: Option<&Photo>) -> Result<()> {
        if self.catalog.index_of(&stored.id).is_some() {
            return Err(Error::InvalidInput(format!("the catalog already has an item with id {:?}", stored.id)));
        }
        let values: Vec<AttributeValue> = self
            .catalog
            .attributes()
            .iter()
            .map(|d| stored.attributes.get(&d.name).cloned().unwrap_or(AttributeValue::Missing))
            .collect();
        let dim = self.catalog.text_embeddings().map_or(0, |t| t.dim());
        let current = self.text_model.as_ref().or(self.catalog.text_model());
        let kept = decode_f32(&stored.text_embedding)
            .ok()
            .filter(|v| v.len() == dim && stored.text_model.as_ref() == current);
        let text_embedding = match kept {
            Some(v) => v,
            None => self.embed_query(&stored.text)?,
        };
        let same_image_model = self.image_model.is_none() || stored.image_model == self.image_model;
        let image_embedding = match (&stored.image_embedding, photo) {
            (_, Some(photo)) if self.restore_needs_photo(stored) => Some(self.embed_photo(photo)?),
            (Some(v), _) if same_image_model => decode_f32(v).ok(),
            _ => None,
        };
        let item = Item {
            id: stored.id.clone(),
            title: stored.title.clone(),
            text: stored.text.clone(),
            image: stored.image.clone(),
            values,
        };
        self.catalog.push_added(item, &text_embedding, image_embedding.as_deref())?;
        self.intent.borrow_mut().invalidate();
        Ok(())
    }

    /// Removes an item added at run time: `Ok(false)` when no item has this
    /// id, `invalid_input` for a catalog (bundle) item. The profile's events
    /// on it stay (they count again if it is added back).
    pub fn remove_item(&mut self, id: &str) -> Result<bool> {
        self.intent.borrow_mut().invalidate();
        self.catalog.remove_added(id)
    }

    /// Removes every item added at run time; returns how many.
    pub fn clear_added_items(&mut self) -> usize {
        self.catalog.clear_added()
    }

    /// Ranks the items that have a photo by similarity to `photo` (decoded
    /// by [`Photo::decode`], embedded on the device), blended with the profile and an
    /// optional text `query` exactly like [`Recommender::recommend`] (same
    /// options, filters and explanations; `explanation.photoSimilarity` is
    /// the cosine similarity). Errors as [`Recommender::embed_photo`] and
    /// [`Recommender::recommend`].
    pub fn search_by_photo(&self, photo: &Photo, options: &RecommendOptions) -> Result<Vec<Recommendation>> {
        let mut request = self.rank_request(options)?;
        request.photo = Some(self.embed_photo(photo)?);
        ranking::rank(&self.catalog, &self.profile, &request, &self.weights)
    }
}
