//! The working catalog of one request over a candidate engine: the
//! candidates the engine returned (and the user's recent history items), as
//! a [`Catalog`] that ranking, filters, explanations and the agent use
//! exactly as they use the on-device catalog.
//!
//! The catalog the device loaded (the *resident* catalog: attribute
//! definitions, the text model's fingerprint, the sequence model and the
//! items it covers, perhaps without their embeddings) lends its sequence
//! model: the rows of the items it knows are copied, in the working
//! catalog's order, so the model scores the candidates it knows; the
//! others come after them and get the content signals, as items added at
//! run time do.

use super::{Catalog, CatalogParts, Embeddings, Item, SequenceModel};
use crate::error::{Error, Result};

/// One item of a working catalog: public fields, its vector in the text
/// space, its popularity.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkingItem {
    /// The item.
    pub item: Item,
    /// Its text embedding (every item of one working catalog has the same width).
    pub vector: Vec<f32>,
    /// Interaction count from public logs (0 when unknown).
    pub popularity: f32,
    /// Its rows of the sequence model (output vector, bias, and the input
    /// vector if known) when the engine gave them
    /// ([`crate::platform::Candidate::sequence`]).
    pub sequence: Option<Vec<f32>>,
}

/// The most items one working catalog may hold.
pub const MAX_WORKING_ITEMS: usize = 20_000;

impl Catalog {
    /// The working catalog over `items` (see the module docs): duplicates
    /// after the first are dropped; items the resident sequence model
    /// covers come first. Vectors of different widths, a non-finite value,
    /// or more than [`MAX_WORKING_ITEMS`] items are [`Error::Engine`].
    pub fn working(&self, items: Vec<WorkingItem>) -> Result<Catalog> {
        if items.len() > MAX_WORKING_ITEMS {
            return Err(Error::Engine(format!("{} candidates; at most {MAX_WORKING_ITEMS}", items.len())));
        }
        let dim = items.first().map_or(0, |w| w.vector.len());
        if let Some(bad) = items.iter().find(|w| w.vector.len() != dim || dim == 0) {
            return Err(Error::Engine(format!(
                "record {:?} has a vector of {} values; the others have {dim}",
                bad.item.id,
                bad.vector.len()
            )));
        }
        if let Some(t) = self.text_embeddings() {
            if t.dim() != dim && !items.is_empty() {
                return Err(Error::Engine(format!("the engine's vectors have {dim} values; the catalog's text space has {}", t.dim())));
            }
        }
        if let Some(bad) = items.iter().find(|w| w.vector.iter().any(|x| !x.is_finite())) {
            return Err(Error::Engine(format!("record {:?} has a non-finite vector value", bad.item.id)));
        }
        let covered = self.sequence_model().map_or(0, SequenceModel::items);
        let width = self.sequence_model().map_or(0, |m| m.dim.saturating_add(1));
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        let mut known: Vec<(ModelRow, WorkingItem)> = Vec::new();
        let mut unknown: Vec<WorkingItem> = Vec::new();
        for mut w in items {
            if !seen.insert(w.item.id.clone()) {
                continue;
            }
            match self.index_of(&w.item.id).filter(|&i| (i as usize) < covered) {
                Some(i) => known.push((ModelRow::Resident(i as usize), w)),
                None => match w.sequence.take().filter(|s| carried_row_fits(s, width)) {
                    // The engine's row of the model: scored by the model too.
                    Some(row) => known.push((ModelRow::Carried(row), w)),
                    None => unknown.push(w),
                },
            }
        }
        let sequence = match self.sequence_model() {
            Some(model) if !known.is_empty() => Some(slice_model(model, known.iter().map(|(r, _)| r))?),
            _ => None,
        };
        let rows = known.into_iter().map(|(_, w)| w).chain(unknown);
        let mut parts = CatalogParts {
            name: self.name().to_string(),
            attributes: self.attributes().to_vec(),
            text_model: self.text_model().cloned(),
            ..CatalogParts::default()
        };
        let mut values = Vec::new();
        for w in rows {
            let shell = self.index_of(&w.item.id).and_then(|i| self.popularity().get(i as usize)).copied().unwrap_or(0.0);
            parts.popularity.push(w.popularity.max(shell));
            values.extend_from_slice(&w.vector);
            parts.items.push(w.item);
        }
        if !parts.items.is_empty() {
            parts.text = Some(Embeddings::F32 { values, dim });
        }
        let mut catalog = Catalog::new(parts)?;
        // The model covers the first rows only (the rest are scored like
        // items added at run time), so it is checked for its own rows.
        if let Some(model) = sequence {
            model.validate(model.items())?;
            catalog.sequence = Some(model);
        }
        Ok(catalog)
    }
}

/// Whether `row` is a carried row of a model whose output row with its
/// bias is `width` values: that, or that with the input row after it
/// (`2·width − 1` values), every value finite.
pub fn carried_row_fits(row: &[f32], width: usize) -> bool {
    width > 1 && (row.len() == width || Some(row.len()) == (2 * width).checked_sub(1)) && row.iter().all(|x| x.is_finite())
}

/// Where a working catalog's item gets its row of the sequence model.
enum ModelRow {
    /// Row `i` of the resident model.
    Resident(usize),
    /// The engine's row: output vector, bias, then the input row if the
    /// engine had it (without one, as a history item it adds nothing to
    /// the user vector).
    Carried(Vec<f32>),
}

/// The sequence model restricted to `rows`, in that order.
fn slice_model<'a>(model: &SequenceModel, rows: impl Iterator<Item = &'a ModelRow>) -> Result<SequenceModel> {
    let rows: Vec<&ModelRow> = rows.collect();
    let dim = model.dim;
    let take = |m: &Embeddings, output: bool| -> Result<Embeddings> {
        let mut values = Vec::with_capacity(rows.len().saturating_mul(dim));
        for row in &rows {
            match row {
                ModelRow::Resident(r) => {
                    values.extend(m.row(*r).ok_or_else(|| Error::InvalidCatalog(format!("sequence model has no row {r}")))?)
                }
                ModelRow::Carried(v) if output => values.extend_from_slice(v.get(..dim).unwrap_or_default()),
                ModelRow::Carried(v) => match v.get(dim + 1..) {
                    Some(input) if input.len() == dim => values.extend_from_slice(input),
                    _ => values.extend(std::iter::repeat_n(0.0, dim)),
                },
            }
        }
        Ok(Embeddings::F32 { values, dim })
    };
    Ok(SequenceModel {
        input: take(&model.input, false)?,
        output: take(&model.output, true)?,
        bias: rows
            .iter()
            .map(|row| match row {
                ModelRow::Resident(r) => model.bias.get(*r).copied().unwrap_or(0.0),
                ModelRow::Carried(v) => v.get(dim).copied().unwrap_or(0.0),
            })
            .collect(),
        dim: model.dim,
        window: model.window,
        position_weights: model.position_weights.clone(),
        kind_weights: model.kind_weights.clone(),
        hidden: model.hidden,
        w1: model.w1.clone(),
        b1: model.b1.clone(),
        w2: model.w2.clone(),
    })
}

/// How many items a small bundle keeps by default ([`Catalog::small`]):
/// about 12 MB in memory with an int8 sequence model of width 64.
pub const SMALL_BUNDLE_ITEMS: usize = 50_000;

impl Catalog {
    /// The resident catalog for a device whose catalog lives in a candidate
    /// engine (the *small bundle*): the attribute definitions, the text
    /// model's fingerprint, and at most `keep` items with their public values
    /// and popularity — the most popular of those the sequence model covers,
    /// in catalog order, with the model cut to them (int8 when it was), or
    /// without a sequence model the most popular; no embedding matrices.
    /// Its size is bounded by `keep`, whatever the catalog's.
    pub fn small(&self, keep: usize) -> Result<Catalog> {
        let covered = self.sequence_model().map_or(self.len(), |m| m.items().min(self.len()));
        let popularity = self.popularity().get(..covered).unwrap_or_default();
        let mut rows: Vec<u32> = crate::vectors::topk::top_k(popularity, keep, |_| true).into_iter().map(|(i, _)| i).collect();
        if self.sequence_model().is_some() {
            // The model's rows must come first, in one order with the items.
            rows.sort_unstable();
        }
        let mut parts = CatalogParts {
            name: self.name().to_string(),
            attributes: self.attributes().to_vec(),
            text_model: self.text_model().cloned(),
            ..CatalogParts::default()
        };
        for &i in &rows {
            let item = self.item(i).ok_or_else(|| Error::InvalidCatalog(format!("no item {i}")))?;
            parts.items.push(item.to_item());
            parts.popularity.push(self.popularity().get(i as usize).copied().unwrap_or(0.0));
        }
        if let Some(model) = self.sequence_model() {
            let resident: Vec<ModelRow> = rows.iter().map(|&i| ModelRow::Resident(i as usize)).collect();
            let mut cut = slice_model(model, resident.iter())?;
            if matches!(model.input, Embeddings::I8(_)) {
                cut.quantize()?;
            }
            parts.sequence = Some(cut);
        }
        Catalog::new(parts)
    }
}
