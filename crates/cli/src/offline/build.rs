//! Building a [`Catalog`] offline (native only): embeds every item's text
//! (and image) with the same encoders the browser runs, counts popularity
//! and trains the [`SequenceModel`] from interaction logs.

use std::time::Instant;

use super::train::{train_sequence_model, TrainConfig, TrainEvent};
use crate::progress::Progress;
use recagent_core::catalog::{AttributeDef, Catalog, CatalogParts, ContextItem, Embeddings, Item, ModelFingerprint, SequenceModel};
use recagent_core::encoder::{ImageEncoder, TextEncoder};
use recagent_core::error::{Error, Result};

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
    /// Candidate MLP widths to choose from by held-out validation (the last
    /// event of every sequence of ≥ 3 events; next-item HR@10 over the whole
    /// catalog); empty: use `train.hidden` as given. Costs one extra
    /// training per candidate.
    pub select_hidden: Vec<usize>,
    /// Store the text/image matrices as int8 (for big catalogs).
    pub quantize: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            train: Some(TrainConfig::default()),
            select_hidden: vec![0, 256],
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

/// `e` with its message prefixed by the item it was about (same variant).
fn for_item(e: Error, id: &str) -> Error {
    let at = |m: String| format!("item {id:?}: {m}");
    match e {
        Error::Io(m) => Error::Io(at(m)),
        Error::Network(m) => Error::Network(at(m)),
        Error::Timeout(m) => Error::Timeout(at(m)),
        Error::InvalidInput(m) => Error::InvalidInput(at(m)),
        Error::InvalidImage(m) => Error::InvalidImage(at(m)),
        Error::ImageTooLarge(m) => Error::ImageTooLarge(at(m)),
        Error::ResponseTooLarge(m) => Error::ResponseTooLarge(at(m)),
        Error::ResourceLimit(m) => Error::ResourceLimit(at(m)),
        other => other,
    }
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

/// Next-item HR@10 of `model` on held-out targets: `(sequence, item)`, the
/// sequence being the history (full ranking, history items excluded).
pub fn validation_hit_rate(model: &SequenceModel, sequences: &[Vec<TrainEvent>], held_out: &[(usize, u32)]) -> f64 {
    let n = model.items();
    let mut hits = 0usize;
    let mut scores = vec![0.0f32; n];
    for &(s, target) in held_out {
        let history: Vec<ContextItem> = sequences[s]
            .iter()
            .map(|e| ContextItem { item: e.item, kind: e.kind, strength: 1.0 })
            .collect();
        let Some(u) = model.user_vector(&history) else { continue };
        if model.output.scores(&u, &mut scores).is_err() {
            continue;
        }
        scores.iter_mut().zip(&model.bias).for_each(|(s, b)| *s += b);
        let mut seen = vec![false; n];
        sequences[s].iter().for_each(|e| seen[e.item as usize] = true);
        let t = scores[target as usize];
        let rank = (0..n).filter(|&j| !seen[j] && j != target as usize && scores[j] > t).count();
        hits += usize::from(rank < 10);
    }
    hits as f64 / held_out.len().max(1) as f64
}

/// Picks the MLP width with the best held-out next-item HR@10 (ties: the
/// smaller width).
fn select_hidden(
    n: usize,
    sequences: &[Vec<TrainEvent>],
    config: &TrainConfig,
    candidates: &[usize],
    progress: &mut impl FnMut(Progress),
) -> Result<usize> {
    let mut train = Vec::with_capacity(sequences.len());
    let mut held_out = Vec::new();
    for seq in sequences {
        if seq.len() >= 3 {
            held_out.push((train.len(), seq[seq.len() - 1].item));
            train.push(seq[..seq.len() - 1].to_vec());
        } else {
            train.push(seq.clone());
        }
    }
    let Some(&first) = candidates.first() else {
        return Ok(config.hidden);
    };
    let mut best = (first, f64::NEG_INFINITY);
    let phase = format!("sequence model: choosing the MLP width ({} candidates)", candidates.len());
    let epochs = config.epochs.saturating_mul(candidates.len());
    progress(Progress::step(phase.clone(), 0, epochs));
    for (c, &hidden) in candidates.iter().enumerate() {
        let cfg = TrainConfig { hidden, ..config.clone() };
        let model = train_sequence_model(n, &train, &cfg, |p| {
            let done = c.saturating_mul(config.epochs).saturating_add(p.epoch);
            progress(Progress::step(phase.clone(), done.min(epochs), epochs));
        })?;
        let hr = validation_hit_rate(&model, &train, &held_out);
        progress(Progress::note(format!(
            "sequence model: MLP width {hidden}: held-out HR@10 {hr:.4} ({} sequences)",
            held_out.len()
        )));
        if hr > best.1 {
            best = (hidden, hr);
        }
    }
    progress(Progress::note(format!("sequence model: chose MLP width {}", best.0)));
    Ok(best.0)
}

/// Builds a catalog. `progress` receives [`Progress::Step`]s for the text
/// embeddings (phase `text embeddings`, per batch), the image embeddings
/// (`image embeddings`, per item) and the training epochs (`sequence model:
/// training`, and the width selection before it), and a
/// [`Progress::Note`] when a stage ends.
///
/// Errors: no item, an interaction naming an item index out of range, an
/// encoder or training failure, and an image that cannot be loaded
/// (`encoders.image`'s loader error, its message prefixed with the item id)
/// or decoded ([`Error::InvalidImage`] naming the item).
pub fn build_catalog(
    input: BuildInput,
    encoders: &Encoders<'_>,
    options: &BuildOptions,
    mut progress: impl FnMut(Progress),
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
            progress(Progress::step("text embeddings", 0, n));
            let rows = encoder.embed_batch_with_progress(&texts, &mut |done, total| {
                progress(Progress::step("text embeddings", done.min(total), total));
            })?;
            progress(Progress::note(format!(
                "text embeddings: {n} items in {:.1} s",
                started.elapsed().as_secs_f64()
            )));
            let dim = encoder.dim();
            let values: Vec<f32> = rows.into_iter().flatten().collect();
            (Some(Embeddings::F32 { dim, values }), Some(ModelFingerprint::of(bytes)))
        }
        None => (None, None),
    };
    let image = match encoders.image {
        Some((encoder, load)) => {
            let started = Instant::now();
            let mut rows: Vec<Option<Vec<f32>>> = Vec::with_capacity(n);
            let mut dim = 0;
            let total = input.items.iter().filter(|i| i.image.is_some()).count();
            let mut done = 0usize;
            progress(Progress::step("image embeddings", 0, total));
            for item in &input.items {
                let row = match &item.image {
                    Some(r) => {
                        let bytes = load(r).map_err(|e| for_item(e, &item.id))?;
                        let e = encoder
                            .embed_encoded(&bytes)
                            .map_err(|e| Error::InvalidImage(format!("item {:?}: {e}", item.id)))?;
                        dim = e.embedding.len();
                        Some(e.embedding)
                    }
                    None => None,
                };
                if row.is_some() {
                    done += 1;
                    progress(Progress::step("image embeddings", done, total));
                }
                rows.push(row);
            }
            progress(Progress::note(format!(
                "image embeddings: {done} of {n} items have an image ({:.1} s)",
                started.elapsed().as_secs_f64()
            )));
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
            progress(Progress::note(format!(
                "sequence model: {} sequences, {} interactions, dim {}, {} epochs",
                seqs.len(),
                input.interactions.len(),
                config.dim,
                config.epochs
            )));
            let mut config = config.clone();
            if options.select_hidden.len() > 1 {
                config.hidden = select_hidden(n, &seqs, &config, &options.select_hidden, &mut progress)?;
            }
            let config = &config;
            progress(Progress::step("sequence model: training", 0, config.epochs));
            Some(train_sequence_model(n, &seqs, config, |p| {
                progress(Progress::step("sequence model: training", p.epoch.min(p.epochs), p.epochs));
                progress(Progress::note(format!(
                    "sequence model: epoch {}/{} loss {:.4} ({:.1} s)",
                    p.epoch, p.epochs, p.loss, p.seconds
                )));
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
