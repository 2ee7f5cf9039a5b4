//! Building a [`Catalog`] offline (native only): embeds every item's text
//! (and image) with the same encoders the browser runs, counts popularity
//! and trains the [`SequenceModel`] from interaction logs.

use std::time::Instant;

use super::train::{train_sequence_model, TrainConfig, TrainEvent};
use super::{AttributeDef, Catalog, CatalogParts, Embeddings, Item, ModelFingerprint};
use crate::encoder::{ImageEncoder, TextEncoder};
use crate::error::{Error, Result};

/// One logged interaction (another user's, or aggregate; never the target
/// user's private history at serving time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoggedInteraction {
    /// Opaque user number (only groups a user's events into a sequence).
    pub user: u32,
    /// Catalog index of the item.
    pub item: u32,
    /// Rating; values in 1..=5 become kind classes 1..=5, anything else is implicit.
    pub rating: f32,
    /// Timestamp (any unit; only the order matters).
    pub timestamp: f64,
}

/// What the builder needs.
#[derive(Debug, Clone, Default)]
pub struct BuildInput {
    /// Catalog name.
    pub name: String,
    /// Declared attributes.
    pub attributes: Vec<AttributeDef>,
    /// Items (their `text` is what gets embedded).
    pub items: Vec<Item>,
    /// Interaction logs in file order (ties in time keep this order).
    pub interactions: Vec<LoggedInteraction>,
}

/// Builder options.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Train the sequence model when there are interactions (`None`: skip).
    pub train: Option<TrainConfig>,
    /// Store the text/image matrices as int8 (for big catalogs).
    pub quantize: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            train: Some(TrainConfig::default()),
            quantize: false,
        }
    }
}

/// Reads the bytes of an item's image from its `image` reference.
pub type ImageLoader<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>>;

/// The encoders the builder may use.
pub struct Encoders<'a> {
    /// Text encoder and the bytes of its model (for the fingerprint).
    pub text: Option<(&'a TextEncoder, &'a [u8])>,
    /// Image encoder and a loader from an item's `image` reference to bytes.
    pub image: Option<(&'a ImageEncoder, ImageLoader<'a>)>,
}

/// Groups interactions into chronological per-user sequences (stable: equal
/// timestamps keep input order).
pub fn sequences(interactions: &[LoggedInteraction]) -> Vec<Vec<TrainEvent>> {
    let mut order: Vec<usize> = (0..interactions.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&interactions[a], &interactions[b]);
        x.user.cmp(&y.user).then(x.timestamp.total_cmp(&y.timestamp)).then(a.cmp(&b))
    });
    let mut out: Vec<Vec<TrainEvent>> = Vec::new();
    let mut last_user = None;
    for i in order {
        let it = &interactions[i];
        if last_user != Some(it.user) {
            out.push(Vec::new());
            last_user = Some(it.user);
        }
        let kind = if (1.0..=5.0).contains(&it.rating) { it.rating.round() as u8 } else { 0 };
        if let Some(seq) = out.last_mut() {
            seq.push(TrainEvent { item: it.item, kind });
        }
    }
    out
}

/// Builds a catalog; `progress` receives one line per stage.
pub fn build_catalog(
    input: BuildInput,
    encoders: &Encoders<'_>,
    options: &BuildOptions,
    mut progress: impl FnMut(&str),
) -> Result<Catalog> {
    let n = input.items.len();
    if n == 0 {
        return Err(Error::InvalidInput("a catalog needs at least one item".into()));
    }
    if let Some(bad) = input.interactions.iter().find(|i| i.item as usize >= n) {
        return Err(Error::InvalidInput(format!("interaction with item index {} of {n}", bad.item)));
    }
    let mut popularity = vec![0.0f32; n];
    for it in &input.interactions {
        popularity[it.item as usize] += 1.0;
    }
    let (text, text_model) = match encoders.text {
        Some((encoder, bytes)) => {
            let started = Instant::now();
            let texts: Vec<String> = input.items.iter().map(|i| i.text.clone()).collect();
            let mut last = 0usize;
            let rows = encoder.embed_batch_with_progress(&texts, &mut |done, total| {
                if done == total || done >= last + total.div_ceil(10) {
                    last = done;
                    progress(&format!("text embeddings: {done}/{total}"));
                }
            })?;
            progress(&format!(
                "text embeddings: {n} items in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            let dim = encoder.dim();
            let values: Vec<f32> = rows.into_iter().flatten().collect();
            (Some(Embeddings::F32 { dim, values }), Some(ModelFingerprint::of(bytes)))
        }
        None => (None, None),
    };
    let image = match encoders.image {
        Some((encoder, load)) => {
            let mut rows: Vec<Option<Vec<f32>>> = Vec::with_capacity(n);
            let mut dim = 0;
            for item in &input.items {
                let row = match &item.image {
                    Some(r) => {
                        let e = encoder
                            .embed_encoded(&load(r)?)
                            .map_err(|e| Error::InvalidImage(format!("item {:?}: {e}", item.id)))?;
                        dim = e.embedding.len();
                        Some(e.embedding)
                    }
                    None => None,
                };
                rows.push(row);
            }
            progress(&format!(
                "image embeddings: {} of {n} items have an image",
                rows.iter().flatten().count()
            ));
            (dim > 0).then(|| Embeddings::F32 {
                dim,
                values: rows
                    .into_iter()
                    .flat_map(|r| r.unwrap_or_else(|| vec![0.0; dim]))
                    .collect(),
            })
        }
        None => None,
    };
    let sequence = match &options.train {
        Some(config) if !input.interactions.is_empty() => {
            let seqs = sequences(&input.interactions);
            progress(&format!(
                "sequence model: {} sequences, {} interactions, dim {}, {} epochs",
                seqs.len(),
                input.interactions.len(),
                config.dim,
                config.epochs
            ));
            Some(train_sequence_model(n, &seqs, config, |p| {
                progress(&format!(
                    "sequence model: epoch {}/{} loss {:.4} ({:.1} s)",
                    p.epoch, p.epochs, p.loss, p.seconds
                ));
            })?)
        }
        _ => None,
    };
    let mut catalog = Catalog::new(CatalogParts {
        name: input.name,
        attributes: input.attributes,
        items: input.items,
        text,
        text_model,
        image,
        popularity,
        sequence,
    })?;
    if options.quantize {
        catalog.quantize()?;
    }
    Ok(catalog)
}
