//! The item catalog: items with typed attributes, their embedding matrices
//! (text, optionally image; f32 or int8 with a per-row scale), popularity
//! counts and the learned [`SequenceModel`], loaded from one checksummed
//! bundle ([`bundle`]) that `recagent build-catalog` writes.

pub mod added;
pub mod attributes;
pub mod bundle;
pub mod engine_record;
pub mod item_ref;
mod item_store;
pub mod records;
pub mod sequence;
pub mod working;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::vectors::Embeddings;
pub use attributes::{AttributeDef, AttributeKind, AttributeValue};
pub use item_ref::{ItemRef, TagsRef, ValueRef};
use item_store::ItemStore;
pub use sequence::{ContextItem, SequenceModel};
pub use working::WorkingItem;

/// One catalog item, as given to a catalog ([`CatalogParts`],
/// [`Catalog::push_added`]) and as written to a bundle; a loaded catalog
/// lends out [`ItemRef`]s instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The app's id for the item (unique in the catalog).
    pub id: String,
    /// Short display title.
    pub title: String,
    /// The text the text encoder embedded (title, categories, year, …).
    pub text: String,
    /// Optional image reference (URL or path) the app can display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// One value per [`Catalog::attributes`] entry, same order.
    pub values: Vec<AttributeValue>,
}

/// A loaded catalog (see the module docs).
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(crate) name: String,
    /// The items, their attributes and the id index, compactly.
    pub(crate) items: ItemStore,
    pub(crate) text: Option<Embeddings>,
    pub(crate) text_model: Option<ModelFingerprint>,
    pub(crate) image: Option<Embeddings>,
    pub(crate) popularity: Vec<f32>,
    pub(crate) sequence: Option<SequenceModel>,
    /// Items that came from the bundle (the first `base_len` rows); the
    /// rest were added at run time ([`Catalog::push_added`]).
    pub(crate) base_len: usize,
    /// L2 norm of every bundle image row (0 = the item has no image).
    pub(crate) image_norms: Vec<f32>,
    /// Unit-length image embedding of every added item, `None` without photo
    /// (index `i - base_len`).
    pub(crate) added_photos: Vec<Option<Vec<f32>>>,
}

/// Identifies the encoder a matrix was built with, so that a different model
/// given at run time is caught instead of silently ranking nonsense.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFingerprint {
    /// Byte length of the model file.
    pub bytes: u64,
    /// CRC-32 of the model file.
    pub crc32: u32,
}

impl ModelFingerprint {
    /// The fingerprint of a model file.
    pub fn of(model: &[u8]) -> Self {
        Self {
            bytes: model.len() as u64,
            crc32: crc32fast::hash(model),
        }
    }
}

/// Everything a [`Catalog`] is made of; [`Catalog::new`] checks it.
#[derive(Debug, Clone, Default)]
pub struct CatalogParts {
    /// Catalog name (the dataset name for built catalogs).
    pub name: String,
    /// Declared attributes.
    pub attributes: Vec<AttributeDef>,
    /// The items.
    pub items: Vec<Item>,
    /// Text embeddings (one row per item), if any.
    pub text: Option<Embeddings>,
    /// The text encoder those embeddings came from.
    pub text_model: Option<ModelFingerprint>,
    /// Image embeddings (one row per item; zero rows for items without image).
    pub image: Option<Embeddings>,
    /// Interaction counts per item from public/aggregate logs (empty = all zero).
    pub popularity: Vec<f32>,
    /// The learned next-item model, if interaction logs were available.
    pub sequence: Option<SequenceModel>,
}

impl Catalog {
    /// Builds a catalog from its parts after checking that ids are unique and
    /// non-empty, every item has one value per attribute, every matrix has
    /// one row per item, and every f32 (embeddings, popularity, the sequence
    /// model's matrices and biases) is finite; anything else is
    /// [`Error::InvalidCatalog`].
    pub fn new(mut parts: CatalogParts) -> Result<Self> {
        let mut items = ItemStore::new(std::mem::take(&mut parts.attributes));
        items.reserve(parts.items.len());
        for item in std::mem::take(&mut parts.items) {
            items.push_checked(item)?;
        }
        Self::with_items(parts, items)
    }

    /// [`Catalog::new`] for items already in a store (`parts.items` and
    /// `parts.attributes` are not read).
    pub(crate) fn with_items(parts: CatalogParts, mut items: ItemStore) -> Result<Self> {
        let n = items.len();
        let bad = |m: String| Err(Error::InvalidCatalog(m));
        items.shrink_to_fit();
        for (what, m) in [("text", &parts.text), ("image", &parts.image)] {
            if let Some(m) = m {
                if m.rows() != n || m.dim() == 0 {
                    return bad(format!("{what} embeddings have {} rows for {n} items", m.rows()));
                }
                // int8 scales are checked by `QuantizedMatrix::from_parts`;
                // one NaN or infinity in an f32 row would poison every score.
                if let Embeddings::F32 { values, dim } = m {
                    if let Some(at) = values.iter().position(|x| !x.is_finite()) {
                        return bad(format!(
                            "{what} embeddings: row {} holds a non-finite value",
                            at / dim
                        ));
                    }
                }
            }
        }
        let popularity = if parts.popularity.is_empty() { vec![0.0; n] } else { parts.popularity };
        if popularity.len() != n || popularity.iter().any(|p| !p.is_finite()) {
            return bad("popularity must hold one finite count per item".into());
        }
        if let Some(s) = &parts.sequence {
            s.validate(n)?;
        }
        let image_norms = parts.image.as_ref().map_or_else(Vec::new, |m| {
            (0..m.rows())
                .map(|i| m.row(i).map_or(0.0, |r| r.iter().map(|x| x * x).sum::<f32>().sqrt()))
                .collect()
        });
        Ok(Self {
            name: parts.name,
            items,
            text: parts.text,
            text_model: parts.text_model,
            image: parts.image,
            popularity,
            sequence: parts.sequence,
            base_len: n,
            image_norms,
            added_photos: Vec::new(),
        })
    }

    /// Catalog name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the catalog has no item.
    pub fn is_empty(&self) -> bool {
        self.items.len() == 0
    }

    /// Declared attributes, in value order.
    pub fn attributes(&self) -> &[AttributeDef] {
        self.items.attributes()
    }

    /// All items, in index order.
    pub fn items(&self) -> impl ExactSizeIterator<Item = ItemRef<'_>> + DoubleEndedIterator + '_ {
        (0..self.items.len() as u32).map(|i| ItemRef { store: &self.items, index: i })
    }

    /// The item at `index`.
    pub fn item(&self, index: u32) -> Option<ItemRef<'_>> {
        self.items.item(index)
    }

    /// The index of the item with this id.
    pub fn index_of(&self, id: &str) -> Option<u32> {
        self.items.index_of(id)
    }

    /// Like [`Catalog::index_of`], but an unknown id is an
    /// [`Error::UnknownItem`].
    pub fn require(&self, id: &str) -> Result<u32> {
        self.index_of(id).ok_or_else(|| Error::UnknownItem(id.to_string()))
    }

    /// Text embeddings, if the catalog has them.
    pub fn text_embeddings(&self) -> Option<&Embeddings> {
        self.text.as_ref()
    }

    /// Fingerprint of the text encoder the text embeddings came from.
    pub fn text_model(&self) -> Option<&ModelFingerprint> {
        self.text_model.as_ref()
    }

    /// Image embeddings of the bundle items, if the catalog has them (one
    /// row per bundle item, a zero row for an item without image; items
    /// added at run time keep theirs apart, see [`Catalog::photo_similarities`]).
    pub fn image_embeddings(&self) -> Option<&Embeddings> {
        self.image.as_ref()
    }

    /// Interaction counts per item (all zero when the builder had no logs).
    pub fn popularity(&self) -> &[f32] {
        &self.popularity
    }

    /// The learned next-item model, if any.
    pub fn sequence_model(&self) -> Option<&SequenceModel> {
        self.sequence.as_ref()
    }

    /// Converts the text and image matrices and the sequence model's item
    /// vectors to int8 (4× less memory, faster scans, scores within about
    /// 1 % of f32).
    pub fn quantize(&mut self) -> Result<()> {
        if let Some(t) = &self.text {
            self.text = Some(t.quantized()?);
        }
        if let Some(t) = &self.image {
            self.image = Some(t.quantized()?);
        }
        if let Some(s) = &mut self.sequence {
            s.quantize()?;
        }
        Ok(())
    }

    /// Approximate bytes the catalog holds in memory (matrices, item records, index).
    pub fn memory_bytes(&self) -> usize {
        let matrices = self.text.as_ref().map_or(0, Embeddings::memory_bytes)
            + self.image.as_ref().map_or(0, Embeddings::memory_bytes);
        let sequence = self
            .sequence
            .as_ref()
            .map_or(0, SequenceModel::memory_bytes);
        let records = self.items.memory_bytes();
        let photos: usize = self.added_photos.iter().flatten().map(|p| p.len() * 4 + 24).sum();
        matrices + sequence + records + photos + (self.popularity.len() + self.image_norms.len()) * 4
    }

    /// The value of attribute `name` for item `index`.
    pub fn value(&self, index: u32, name: &str) -> Option<ValueRef<'_>> {
        let a = self.attributes().iter().position(|a| a.name == name)?;
        self.item(index)?.value(a)
    }

    /// Every item as an owned [`Item`] (what a bundle writes).
    pub fn to_items(&self) -> Vec<Item> {
        self.items().map(|i| i.to_item()).collect()
    }
}
