//! The recommender's side of a catalog held by a candidate engine: the
//! public records the engine returned lately (so the user can act on them
//! and their history keeps its vectors), and the working view that ranks
//! one answer's candidates with everything the recommender has — profile,
//! sequence model, statements, weights, encoder.

use std::collections::{HashMap, HashSet, VecDeque};
use std::cell::RefCell;

use crate::catalog::WorkingItem;
use crate::error::{Error, Result};

use super::{categorical_tags, intent, Recommender};

/// How many engine records the recommender keeps (most recently seen);
/// at 384 floats each and 129 of model rows, about 10 MB.
pub const ENGINE_ITEMS_KEPT: usize = 5_000;

/// How many of the user's most recent history items a working view carries.
pub const HISTORY_IN_VIEW: usize = 100;

/// How many of the resident sequence model's best-scored items for this
/// user a working view adds to the engine's candidates (computed on the
/// device, nothing sent; see [`Recommender::resident_favourites`]).
pub const RESIDENT_IN_VIEW: usize = 200;

/// How many of the engine records kept from earlier answers a working view
/// adds, the ones the resident sequence model scores best for this user by
/// the rows they carry (computed on the device, nothing sent; see
/// [`Recommender::kept_favourites`]).
pub const KEPT_IN_VIEW: usize = 200;

/// The most bytes of the history's engine records saved with the profile
/// ([`Recommender::history_records`]).
pub const MAX_HISTORY_RECORDS_BYTES: usize = 4 << 20;

/// The engine records seen lately, bounded, least recently seen out first.
#[derive(Debug, Clone, Default)]
pub struct EngineItems {
    /// Each record with the generation it was last seen at.
    items: HashMap<String, (WorkingItem, u64)>,
    /// Ids in the order seen, with the generation of that sighting (a
    /// record seen again leaves a stale entry behind, skipped when reached).
    order: VecDeque<(String, u64)>,
    next: u64,
}

impl EngineItems {
    /// Keeps `item` (replacing an older copy), dropping the least recently
    /// seen records past [`ENGINE_ITEMS_KEPT`] that `pinned` does not hold.
    fn keep(&mut self, item: WorkingItem, pinned: &HashSet<&str>) {
        let id = item.item.id.clone();
        self.next += 1;
        self.items.insert(id.clone(), (item, self.next));
        self.order.push_back((id, self.next));
        let mut spared = 0;
        while self.items.len() > ENGINE_ITEMS_KEPT && spared < self.order.len() {
            let Some((old, seen)) = self.order.pop_front() else { break };
            if self.items.get(&old).is_none_or(|(_, g)| *g != seen) {
                continue; // seen again later, or gone
            }
            if pinned.contains(old.as_str()) {
                self.order.push_back((old, seen));
                spared += 1;
            } else {
                self.items.remove(&old);
            }
        }
        // Stale entries never outnumber the records for long.
        if self.order.len() > 2 * ENGINE_ITEMS_KEPT.max(self.items.len()) {
            let items = &self.items;
            self.order.retain(|(id, seen)| items.get(id).is_some_and(|(_, g)| g == seen));
        }
    }

    /// The record of `id`, if kept.
    pub fn get(&self, id: &str) -> Option<&WorkingItem> {
        self.items.get(id).map(|(w, _)| w)
    }

    /// The ids of the records kept, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }

    /// Number of records kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no record is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Recommender {
    /// Whether `id` is an item the user may act on: one of the catalog's,
    /// or a record an engine returned lately.
    pub fn knows_item(&self, id: &str) -> bool {
        self.catalog.index_of(id).is_some() || self.engine_items.get(id).is_some()
    }

    /// Keeps `items` as engine records seen (e.g. restored from the app's
    /// own cache of what the user was shown), so the user can act on them
    /// and their vectors shape the profile vector.
    pub fn remember_engine_items(&mut self, items: Vec<WorkingItem>) {
        let none = HashSet::new();
        for w in items {
            self.engine_items.keep(w, &none);
        }
    }

    /// The engine records kept.
    pub fn engine_items(&self) -> &EngineItems {
        &self.engine_items
    }

    /// The engine records of the user's [`HISTORY_IN_VIEW`] most recent
    /// history items (those the device has one of), as bytes to save with
    /// the profile snapshot so the next start gives them back
    /// ([`Recommender::restore_history_records`]): their text vectors and
    /// rows of the sequence model, which the device's catalog may not hold.
    /// `None` when there is none. At most [`MAX_HISTORY_RECORDS_BYTES`]
    /// (the oldest are left out to fit). Private: it says what the user
    /// did; it is stored on the device only.
    pub fn history_records(&self) -> Result<Option<Vec<u8>>> {
        let consumed = self.profile.consumed();
        let mut seen = HashSet::new();
        let mut records: Vec<&WorkingItem> = consumed
            .iter()
            .rev()
            .filter(|c| seen.insert(c.item.as_str()))
            .filter_map(|c| self.engine_items.get(&c.item))
            .take(HISTORY_IN_VIEW)
            .collect();
        while !records.is_empty() {
            let bytes = serde_json::to_vec(&records).map_err(|e| Error::InvalidProfile(format!("the history's engine records: {e}")))?;
            if bytes.len() <= MAX_HISTORY_RECORDS_BYTES {
                return Ok(Some(bytes));
            }
            records.truncate(records.len() / 2);
        }
        Ok(None)
    }

    /// Gives back engine records saved by [`Recommender::history_records`]
    /// (most recent first) and returns how many. Bytes that are not such
    /// records — too many bytes, not JSON, a record with an empty or
    /// over-long field, another value count than the catalog's attributes,
    /// a non-finite or over-long vector — are [`Error::InvalidProfile`]
    /// and nothing is kept.
    pub fn restore_history_records(&mut self, bytes: &[u8]) -> Result<usize> {
        use crate::catalog::engine_record::{MAX_FIELD_BYTES, MAX_SEQUENCE_VALUES};
        let bad = |m: String| Err(Error::InvalidProfile(format!("the history's engine records: {m}")));
        if bytes.len() > MAX_HISTORY_RECORDS_BYTES {
            return bad(format!("{} bytes; at most {MAX_HISTORY_RECORDS_BYTES}", bytes.len()));
        }
        let records: Vec<WorkingItem> = match serde_json::from_slice(bytes) {
            Ok(r) => r,
            Err(e) => return bad(format!("not JSON records ({e})")),
        };
        if records.len() > HISTORY_IN_VIEW {
            return bad(format!("{} records; at most {HISTORY_IN_VIEW}", records.len()));
        }
        let attributes = self.catalog.attributes().len();
        for w in &records {
            let item = &w.item;
            let strings = [Some(&item.id), Some(&item.title), Some(&item.text), item.image.as_ref()];
            if item.id.is_empty() || strings.iter().flatten().any(|s| s.len() > MAX_FIELD_BYTES) {
                return bad("an empty or over-long field".into());
            }
            if item.values.len() != attributes {
                return bad(format!("{} values for {attributes} attributes", item.values.len()));
            }
            let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
            if w.vector.is_empty() || w.vector.len() > crate::vectors::kernels::MAX_I8_DIM || !finite(&w.vector) {
                return bad(format!("record {:?} has an empty, over-long or non-finite vector", item.id.chars().take(64).collect::<String>()));
            }
            if w.sequence.as_ref().is_some_and(|s| s.len() > MAX_SEQUENCE_VALUES || !finite(s)) || !(w.popularity.is_finite() && w.popularity >= 0.0) {
                return bad(format!("record {:?} has over-long or non-finite model rows or popularity", item.id.chars().take(64).collect::<String>()));
            }
        }
        let n = records.len();
        // Oldest first, so the most recent end up the most recently seen.
        self.remember_engine_items(records.into_iter().rev().collect());
        Ok(n)
    }

    /// Embeds `text` with the text model (no catalog embeddings needed:
    /// the query of a candidate engine).
    pub fn embed_text(&self, text: &str) -> Result<Vec<f32>> {
        let encoder = self
            .text
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("text queries need a text model (textModel and vocab)".into()))?;
        encoder.embed(text)
    }

    /// The user's taste as one unit vector in the text space: the
    /// strength-weighted mean of the vectors of their recent history items
    /// that the device has (engine records, or the catalog's embeddings).
    /// Private: only a policy that allows [`crate::agent::DataClass::ProfileVector`]
    /// lets it reach an engine.
    pub fn profile_vector(&self) -> Option<Vec<f32>> {
        let consumed = self.profile.consumed();
        let mut sum: Option<Vec<f32>> = None;
        for c in consumed.iter().rev().take(HISTORY_IN_VIEW) {
            let v = match self.engine_items.get(&c.item) {
                Some(w) => Some(w.vector.clone()),
                None => self
                    .catalog
                    .index_of(&c.item)
                    .and_then(|i| self.catalog.text_embeddings()?.row(i as usize)),
            };
            let Some(v) = v else { continue };
            let acc = sum.get_or_insert_with(|| vec![0.0; v.len()]);
            if acc.len() == v.len() {
                acc.iter_mut().zip(&v).for_each(|(a, x)| *a += c.strength * x);
            }
        }
        let mut v = sum?;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return None;
        }
        v.iter_mut().for_each(|x| *x /= norm);
        Some(v)
    }

    /// The sequence model's user vector with a 1 appended: searched by
    /// inner product against each item's output vector with its bias
    /// appended, the nearest are the model's best-scored items. Private like
    /// [`Recommender::profile_vector`] (class `profile_vector`).
    pub fn profile_sequence_vector(&self) -> Option<Vec<f32>> {
        let mut u = self.sequence_user_vector()?;
        if !u.iter().all(|x| x.is_finite()) {
            return None;
        }
        u.push(1.0);
        Some(u)
    }

    /// The resident sequence model's user vector over the whole history:
    /// items the model holds by their rows, and items it does not hold by
    /// the input rows their engine records brought ([`EngineItems`]), so a
    /// small bundle folds in the same history as the full catalog would.
    fn sequence_user_vector(&self) -> Option<Vec<f32>> {
        let model = self.catalog.sequence_model()?;
        let covered = model.items();
        let mut carried: Vec<Vec<f32>> = Vec::new();
        let mut context = Vec::new();
        for c in self.profile.consumed() {
            let item = match self.catalog.index_of(&c.item).filter(|&i| (i as usize) < covered) {
                Some(i) => i,
                None => {
                    let input = self
                        .engine_items
                        .get(&c.item)
                        .and_then(|w| w.sequence.as_ref())
                        .and_then(|row| row.get(model.dim + 1..))
                        .filter(|input| input.len() == model.dim);
                    // Without rows the item still takes its place in the
                    // window (as the model's items beyond its rows do).
                    match (input, u32::try_from(covered.saturating_add(carried.len()))) {
                        (Some(input), Ok(k)) => {
                            carried.push(input.to_vec());
                            k
                        }
                        _ => u32::MAX,
                    }
                }
            };
            context.push(crate::catalog::sequence::ContextItem { item, kind: c.kind, strength: c.strength });
        }
        model.user_vector_with(&context, &carried)
    }

    /// The `n` items of the resident catalog its sequence model scores best
    /// for this user (model output · user vector + bias), the user's own
    /// history left out, best first; empty without a model or a history.
    /// Computed on the device over the items the device holds (the small
    /// bundle's): it supplies candidates no policy has to let out, which an
    /// engine asked without a user vector cannot.
    pub fn resident_favourites(&self, n: usize) -> Vec<u32> {
        self.sequence_user_vector().map_or_else(Vec::new, |u| self.resident_favourites_for(&u, n))
    }

    /// [`Recommender::resident_favourites`] for the user vector `u` (none
    /// for a vector of another width, e.g. the empty one of no history).
    fn resident_favourites_for(&self, u: &[f32], n: usize) -> Vec<u32> {
        let Some(model) = self.catalog.sequence_model().filter(|m| m.dim == u.len()) else { return Vec::new() };
        let mut logits = vec![0.0f32; model.output.rows()];
        if model.output.scores(u, &mut logits).is_err() {
            return Vec::new();
        }
        logits.iter_mut().zip(&model.bias).for_each(|(l, b)| *l += b);
        let covered = model.items().min(self.catalog.len()).min(logits.len());
        let consumed: HashSet<u32> =
            self.profile.consumed().iter().filter_map(|c| self.catalog.index_of(&c.item)).collect();
        crate::vectors::topk::top_k(&logits[..covered], n, |i| !consumed.contains(&(i as u32)) && logits[i].is_finite())
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    }

    /// The `n` engine records kept from earlier answers that the resident
    /// sequence model scores best for this user (user vector · the output
    /// row the record carries + its bias), the user's own history and the
    /// items the model holds left out, best first; empty without a model or
    /// a history. Computed on the device: it widens a request the engine
    /// answers without anything personal (no request text, default policy)
    /// to items beyond the small bundle the user has come across.
    pub fn kept_favourites(&self, n: usize) -> Vec<&WorkingItem> {
        self.sequence_user_vector().map_or_else(Vec::new, |u| self.kept_favourites_for(&u, n))
    }

    /// [`Recommender::kept_favourites`] for the user vector `u` (none for a
    /// vector of another width).
    fn kept_favourites_for(&self, u: &[f32], n: usize) -> Vec<&WorkingItem> {
        let Some(model) = self.catalog.sequence_model().filter(|m| m.dim == u.len()) else { return Vec::new() };
        let consumed: HashSet<String> = self.profile.consumed().into_iter().map(|c| c.item).collect();
        let covered = model.items();
        let scored: Vec<(&WorkingItem, f32)> = self
            .engine_items
            .items
            .values()
            .map(|(w, _)| w)
            .filter(|w| !consumed.contains(&w.item.id) && self.catalog.index_of(&w.item.id).is_none_or(|i| i as usize >= covered))
            .filter_map(|w| {
                let row = w.sequence.as_ref()?;
                let (output, bias) = (row.get(..model.dim)?, row.get(model.dim)?);
                let score = output.iter().zip(u).map(|(a, b)| a * b).sum::<f32>() + bias;
                score.is_finite().then_some((w, score))
            })
            .collect();
        // In id order, so equal scores rank the same on every run.
        let mut scored = scored;
        scored.sort_by(|a, b| a.0.item.id.cmp(&b.0.item.id));
        let scores: Vec<f32> = scored.iter().map(|(_, s)| *s).collect();
        crate::vectors::topk::top_k(&scores, n, |_| true).into_iter().filter_map(|(i, _)| scored.get(i as usize).map(|(w, _)| *w)).collect()
    }

    /// The ids of the catalog's `n` most popular items: a public list, the
    /// same for every user.
    pub fn popular_ids(&self, n: usize) -> Vec<String> {
        let pop = self.catalog.popularity();
        crate::vectors::topk::top_k(pop, n, |_| true)
            .into_iter()
            .filter_map(|(i, _)| self.catalog.item(i).map(|it| it.id().to_string()))
            .collect()
    }

    /// A recommender over the working catalog of `candidates` (see
    /// [`crate::catalog::working`]) plus the user's recent history items,
    /// sharing this one's text encoder, with a copy of its profile and
    /// weights. The candidates are kept ([`EngineItems`]) so the user can act
    /// on them. `query`: a text already embedded for this request, which the
    /// view's [`Recommender::embed_query`] returns instead of running the
    /// model again. Bad records are [`Error::Engine`].
    pub fn working_view(&mut self, candidates: Vec<WorkingItem>, query: Option<(String, Vec<f32>)>) -> Result<Recommender> {
        let consumed = self.profile.consumed();
        let history: Vec<&str> = consumed.iter().rev().take(HISTORY_IN_VIEW).map(|c| c.item.as_str()).collect();
        let pinned: HashSet<&str> = history.iter().copied().collect();
        let mut rows = candidates;
        for w in &rows {
            self.engine_items.keep(w.clone(), &pinned);
        }
        let dim = rows.first().map_or(0, |w| w.vector.len());
        let in_rows: HashSet<String> = rows.iter().map(|w| w.item.id.clone()).collect();
        let covered = self.catalog.sequence_model().map_or(0, |m| m.items());
        for id in history {
            if in_rows.contains(id) {
                continue;
            }
            if let Some(w) = self.engine_items.get(id).filter(|w| w.vector.len() == dim) {
                rows.push(w.clone());
            } else if let Some(i) = self.catalog.index_of(id).filter(|&i| (i as usize) < covered) {
                // Known to the sequence model, without a vector here: it
                // still shapes the user vector; its text row is zero.
                if let Some(item) = self.catalog.item(i) {
                    let vector = self
                        .catalog
                        .text_embeddings()
                        .and_then(|t| t.row(i as usize))
                        .filter(|v| v.len() == dim)
                        .unwrap_or_else(|| vec![0.0; dim]);
                    rows.push(WorkingItem { item: item.to_item(), vector, popularity: 0.0, sequence: None });
                }
            }
        }
        // The resident model's own best items for this user, among those
        // the device holds and the records it kept: the engine, asked
        // without a user vector, cannot know them.
        if dim > 0 {
            let mut in_rows: HashSet<String> = rows.iter().map(|w| w.item.id.clone()).collect();
            // One user vector for both lists.
            let u = self.sequence_user_vector().unwrap_or_default();
            for i in self.resident_favourites_for(&u, RESIDENT_IN_VIEW) {
                let Some(item) = self.catalog.item(i) else { continue };
                if !in_rows.insert(item.id().to_string()) {
                    continue;
                }
                let vector = match self.engine_items.get(item.id()).filter(|w| w.vector.len() == dim) {
                    Some(w) => w.vector.clone(),
                    None => self
                        .catalog
                        .text_embeddings()
                        .and_then(|t| t.row(i as usize))
                        .filter(|v| v.len() == dim)
                        .unwrap_or_else(|| vec![0.0; dim]),
                };
                rows.push(WorkingItem { item: item.to_item(), vector, popularity: 0.0, sequence: None });
            }
            // And its best among the records earlier answers brought.
            let kept: Vec<WorkingItem> = self.kept_favourites_for(&u, KEPT_IN_VIEW).into_iter().filter(|w| w.vector.len() == dim).cloned().collect();
            for w in kept {
                if in_rows.insert(w.item.id.clone()) {
                    rows.push(w);
                }
            }
        }
        let catalog = self.catalog.working(rows)?;
        let mut tags = self.tags.clone();
        let known: HashSet<(String, String)> = tags.iter().map(|(n, a, _)| (n.clone(), a.clone())).collect();
        tags.extend(categorical_tags(&catalog).into_iter().filter(|(n, a, _)| !known.contains(&(n.clone(), a.clone()))));
        Ok(Recommender {
            catalog,
            text: self.text.clone(),
            text_model: self.text_model.clone(),
            image: None,
            image_model: None,
            profile: self.profile.clone(),
            weights: self.weights.clone(),
            tags,
            intent: RefCell::new(intent::IntentState::default()),
            engine_items: EngineItems::default(),
            embedded_query: query,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Item;

    fn record(id: usize) -> WorkingItem {
        let item = Item { id: id.to_string(), title: String::new(), text: String::new(), image: None, values: Vec::new() };
        WorkingItem { item, vector: vec![1.0], popularity: 0.0, sequence: None }
    }

    #[test]
    fn least_recently_seen_records_go_first_and_pinned_ones_stay() {
        let mut kept = EngineItems::default();
        let none = HashSet::new();
        for i in 0..ENGINE_ITEMS_KEPT {
            kept.keep(record(i), &none);
        }
        kept.keep(record(0), &none); // seen again: now the most recent
        let pinned: HashSet<&str> = ["1"].into_iter().collect();
        for i in ENGINE_ITEMS_KEPT..ENGINE_ITEMS_KEPT + 3 {
            kept.keep(record(i), &pinned);
        }
        assert_eq!(kept.len(), ENGINE_ITEMS_KEPT);
        assert!(kept.get("0").is_some() && kept.get("1").is_some());
        assert!(kept.get("2").is_none() && kept.get("3").is_none() && kept.get("4").is_none());
        assert!(kept.get("5").is_some());
        for round in 0..4 {
            for i in 0..ENGINE_ITEMS_KEPT {
                kept.keep(record(i + round), &none);
            }
        }
        assert!(kept.order.len() <= 2 * ENGINE_ITEMS_KEPT, "{}", kept.order.len());
    }
}
