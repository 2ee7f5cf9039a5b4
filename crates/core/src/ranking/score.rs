//! Scoring the whole catalog for one user and an optional query.
//!
//! Every signal is turned into a z-score over the catalog (mean 0, standard
//! deviation 1) so that signals with different scales blend with plain
//! weights:
//!
//! - **history**: the catalog's [`SequenceModel`](crate::catalog::SequenceModel)
//!   over the user's consumption sequence; without one, the best match of the
//!   item with the user's interests (below);
//! - **interests**: the consumed items clustered in the text space, each
//!   cluster weighted by recency-decayed strength (several interests, not
//!   one centroid);
//! - **query**: cosine similarity with the query embedding;
//! - **photo**: cosine similarity of the items' photos with a query photo
//!   (z-scores over the items that have a photo; the others get 0 and
//!   [`crate::ranking::rank`] leaves them out);
//! - **popularity**: log interaction counts, the cold-start prior;
//! - **negatives**: items similar to disliked ones, and to "avoid"
//!   statements, are pushed down; "prefer" statements pull up.

use std::borrow::Cow;

use crate::catalog::{Catalog, ContextItem, Embeddings};
use crate::error::Result;
use crate::profile::{Statement, UserProfile};

/// Blend weights (in z-score units). The defaults are what the README's
/// evaluation used.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreWeights {
    /// Weight of the history signal.
    pub history: f32,
    /// Weight of the interest signal when a sequence model gives the history signal.
    pub interests: f32,
    /// Weight of the query signal.
    pub query: f32,
    /// Weight of the history signal when there is also a query: the query
    /// says what the user wants now, the history orders within it.
    pub history_with_query: f32,
    /// Weight of popularity when the user has no history.
    pub popularity_cold: f32,
    /// Weight of popularity next to a query or a history.
    pub popularity_warm: f32,
    /// Strength of the push-down from negative feedback.
    pub negative: f32,
    /// Strength of "avoid" statements.
    pub avoid: f32,
    /// Strength of "prefer" statements.
    pub prefer: f32,
    /// Weight of the photo signal (a query photo).
    pub photo: f32,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        Self {
            history: 1.0,
            interests: 0.0,
            query: 1.0,
            history_with_query: 0.5,
            popularity_cold: 1.0,
            popularity_warm: 0.1,
            negative: 1.0,
            avoid: 1.5,
            prefer: 0.75,
            photo: 1.0,
        }
    }
}

/// One cluster of the user's consumed items.
#[derive(Debug, Clone, PartialEq)]
pub struct Interest {
    /// Unit-length centroid in the text space.
    pub centroid: Vec<f32>,
    /// Sum of the members' strengths.
    pub weight: f32,
    /// Catalog indices of the members, most recent first.
    pub members: Vec<u32>,
}

/// The scores of every catalog item plus what produced them.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Final blended score per item.
    pub total: Vec<f32>,
    /// History signal (z-scores), if any.
    pub history: Option<Vec<f32>>,
    /// Query signal (z-scores), if any.
    pub query: Option<Vec<f32>>,
    /// Photo signal (z-scores over the items with a photo, 0 for the
    /// others), when there was a query photo.
    pub photo: Option<Vec<f32>>,
    /// Cosine similarity of each item's photo with the query photo (`NaN`
    /// for items without a photo), when there was a query photo.
    pub photo_similarity: Option<Vec<f32>>,
    /// Popularity signal (z-scores).
    pub popularity: Vec<f32>,
    /// Push-down applied from negatives and avoid statements (≥ 0).
    pub penalty: Vec<f32>,
    /// The consumption sequence fed to the sequence model (catalog indices).
    pub context: Vec<ContextItem>,
    /// The user's interests.
    pub interests: Vec<Interest>,
}

/// Standardizes in place (mean 0, standard deviation 1; all zeros when constant).
pub fn standardize(x: &mut [f32]) {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt();
    if sd < 1e-12 || !sd.is_finite() {
        x.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    x.iter_mut().for_each(|v| *v = ((f64::from(*v) - mean) / sd) as f32);
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The vectors used for item-to-item similarity: text embeddings, or the
/// sequence model's output vectors when the catalog has no text (borrowed,
/// not copied, in the text case: at 100k items a copy costs ~40 MB).
pub fn similarity_space(catalog: &Catalog) -> Option<Cow<'_, Embeddings>> {
    if let Some(t) = catalog.text_embeddings() {
        return Some(Cow::Borrowed(t));
    }
    Some(Cow::Owned(catalog.sequence_model()?.output.normalized_rows()))
}

/// Clusters the consumed items (most recent first) greedily: an item joins
/// the closest interest whose centroid it matches with cosine ≥ 0.6, else
/// starts a new one (at most 8; then it joins the closest).
pub fn interests(space: &Embeddings, context: &[ContextItem]) -> Vec<Interest> {
    const JOIN: f32 = 0.6;
    const MAX: usize = 8;
    let mut sums: Vec<(Vec<f32>, Interest)> = Vec::new();
    for item in context.iter().rev() {
        let Some(v) = space.row(item.item as usize) else { continue };
        let v = normalized(v);
        let best = sums
            .iter()
            .enumerate()
            .map(|(k, (_, it))| (k, dot(&v, &it.centroid)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let target = match best {
            Some((k, sim)) if sim >= JOIN || sums.len() >= MAX => Some(k),
            _ => None,
        };
        let k = match target {
            Some(k) => k,
            None => {
                sums.push((
                    vec![0.0; v.len()],
                    Interest {
                        centroid: Vec::new(),
                        weight: 0.0,
                        members: Vec::new(),
                    },
                ));
                sums.len() - 1
            }
        };
        let (sum, interest) = &mut sums[k];
        sum.iter_mut().zip(&v).for_each(|(s, x)| *s += item.strength * x);
        interest.weight += item.strength;
        interest.members.push(item.item);
        interest.centroid = normalized(sum.clone());
    }
    let mut out: Vec<Interest> = sums.into_iter().map(|(_, i)| i).collect();
    out.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    out
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The consumption sequence of `profile` as catalog indices (unknown ids skipped).
pub fn context(catalog: &Catalog, profile: &UserProfile) -> Vec<ContextItem> {
    profile
        .consumed()
        .into_iter()
        .filter_map(|c| {
            Some(ContextItem {
                item: catalog.index_of(&c.item)?,
                kind: c.kind,
                strength: c.strength,
            })
        })
        .collect()
}

/// Scores every item of `catalog` for `profile` and an optional query
/// embedding (in the catalog's text space). This is the one scoring path:
/// the browser's `recommend` and the offline evaluation both call it
/// (through [`score_with_photo`]).
pub fn score(
    catalog: &Catalog,
    profile: &UserProfile,
    query: Option<&[f32]>,
    weights: &ScoreWeights,
) -> Result<Scored> {
    score_with_photo(catalog, profile, query, None, weights)
}

/// [`score`] with an optional query photo embedding (the image model's
/// space): its cosine similarity to each item's photo is z-scored over the
/// items that have one and blended like a text query.
///
/// Items after the sequence model's last row (added at run time) get the
/// user's interest match (z-scored over the whole catalog) as their history
/// signal, the same z-score scale as the model's logits.
pub fn score_with_photo(
    catalog: &Catalog,
    profile: &UserProfile,
    query: Option<&[f32]>,
    photo: Option<&[f32]>,
    weights: &ScoreWeights,
) -> Result<Scored> {
    let n = catalog.len();
    let context = context(catalog, profile);
    let space = similarity_space(catalog);
    let interests = match &space {
        // Interests follow the most recent 100 consumed items.
        Some(space) if !context.is_empty() => interests(space.as_ref(), &context[context.len().saturating_sub(100)..]),
        _ => Vec::new(),
    };
    // Interest match: max over interests of sqrt(share) · cosine.
    let interest_scores = |space: &Embeddings| -> Result<Option<Vec<f32>>> {
        if interests.is_empty() {
            return Ok(None);
        }
        let total: f32 = interests.iter().map(|i| i.weight).sum::<f32>().max(1e-6);
        let mut best = vec![f32::NEG_INFINITY; n];
        let mut tmp = vec![0.0f32; n];
        for it in &interests {
            space.scores(&it.centroid, &mut tmp)?;
            let w = (it.weight / total).sqrt();
            best.iter_mut().zip(&tmp).for_each(|(b, s)| *b = b.max(w * s));
        }
        standardize(&mut best);
        Ok(Some(best))
    };
    let mut history = None;
    if let Some(model) = catalog.sequence_model() {
        if let Some(u) = model.user_vector(&context) {
            // The model covers the bundle's items; later rows were added at run time.
            let covered = model.items().min(n);
            let mut logits = vec![0.0f32; n];
            model.output.scores(&u, &mut logits[..covered])?;
            logits.iter_mut().zip(&model.bias).for_each(|(l, b)| *l += b);
            standardize(&mut logits[..covered]);
            if covered < n {
                let fill = match space.as_deref() {
                    Some(space) => interest_scores(space)?,
                    None => None,
                };
                if let Some(fill) = fill {
                    logits[covered..].copy_from_slice(&fill[covered..]);
                }
            }
            if weights.interests != 0.0 {
                if let Some(space) = space.as_deref() {
                    if let Some(extra) = interest_scores(space)? {
                        logits
                            .iter_mut()
                            .zip(&extra)
                            .for_each(|(l, e)| *l += weights.interests * e);
                    }
                }
            }
            history = Some(logits);
        }
    }
    if history.is_none() {
        if let Some(space) = space.as_deref() {
            history = interest_scores(space)?;
        }
    }
    let query_scores = match (query, catalog.text_embeddings()) {
        (Some(q), Some(text)) => {
            let mut s = vec![0.0f32; n];
            text.scores(q, &mut s)?;
            standardize(&mut s);
            Some(s)
        }
        _ => None,
    };
    let (photo_scores, photo_similarity) = match photo {
        Some(p) => {
            let sims = catalog.photo_similarities(p)?;
            Some(photo_signal(&sims)).unzip()
        }
        None => (None, None),
    };
    let mut popularity: Vec<f32> = catalog.popularity().iter().map(|p| (1.0 + p.max(0.0)).ln()).collect();
    standardize(&mut popularity);

    let mut total = vec![0.0f32; n];
    let any_query = query_scores.is_some() || photo_scores.is_some();
    let pop_weight = if history.is_none() && !any_query {
        weights.popularity_cold
    } else if history.is_some() && catalog.sequence_model().is_some() {
        0.0 // the sequence model's bias already is a popularity prior
    } else {
        weights.popularity_warm
    };
    for (t, p) in total.iter_mut().zip(&popularity) {
        *t += pop_weight * p;
    }
    if let Some(h) = &history {
        let w = if any_query { weights.history_with_query } else { weights.history };
        total.iter_mut().zip(h).for_each(|(t, h)| *t += w * h);
    }
    if let Some(q) = &query_scores {
        total.iter_mut().zip(q).for_each(|(t, q)| *t += weights.query * q);
    }
    if let Some(p) = &photo_scores {
        total.iter_mut().zip(p).for_each(|(t, p)| *t += weights.photo * p);
    }
    let penalty = penalties(catalog, profile, space.as_deref(), weights)?;
    total.iter_mut().zip(&penalty).for_each(|(t, p)| *t -= p);
    Ok(Scored {
        total,
        history,
        query: query_scores,
        photo: photo_scores,
        photo_similarity,
        popularity,
        penalty,
        context,
        interests,
    })
}

/// The photo signal from cosine similarities (`NaN` = no photo): z-scores
/// over the items with a photo, 0 for the others; returns `(signal, sims)`.
fn photo_signal(sims: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let present: Vec<usize> = (0..sims.len()).filter(|&i| sims[i].is_finite()).collect();
    let mut z: Vec<f32> = present.iter().map(|&i| sims[i]).collect();
    standardize(&mut z);
    let mut out = vec![0.0f32; sims.len()];
    for (&i, v) in present.iter().zip(z) {
        out[i] = v;
    }
    (out, sims.to_vec())
}

/// Push-down per item from negative feedback and avoid statements, minus
/// the pull-up of prefer statements (so it can be negative).
fn penalties(
    catalog: &Catalog,
    profile: &UserProfile,
    space: Option<&Embeddings>,
    weights: &ScoreWeights,
) -> Result<Vec<f32>> {
    let n = catalog.len();
    let mut penalty = vec![0.0f32; n];
    let Some(space) = space else { return Ok(penalty) };
    let mut sims = vec![0.0f32; n];
    // The 32 strongest negatives are enough; older ones have decayed.
    let mut negatives = profile.negatives();
    negatives.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut push = vec![0.0f32; n];
    for (id, w) in negatives.iter().take(32) {
        let Some(i) = catalog.index_of(id) else { continue };
        let Some(v) = space.row(i as usize) else { continue };
        space.scores(&normalized(v), &mut sims)?;
        standardize(&mut sims);
        push.iter_mut()
            .zip(&sims)
            .for_each(|(p, s)| *p = p.max(w * s.max(0.0)));
    }
    penalty.iter_mut().zip(&push).for_each(|(p, x)| *p += weights.negative * x);
    if let Some(text) = catalog.text_embeddings() {
        for st in profile.statements() {
            let (embedding, strength) = match st {
                Statement::Avoid { embedding, .. } => (embedding, weights.avoid),
                Statement::Prefer { embedding, .. } => (embedding, -weights.prefer),
                Statement::Exclude { .. } => continue,
            };
            if embedding.len() != text.dim() {
                continue;
            }
            text.scores(embedding, &mut sims)?;
            standardize(&mut sims);
            penalty
                .iter_mut()
                .zip(&sims)
                .for_each(|(p, s)| *p += strength * s.max(0.0));
        }
    }
    Ok(penalty)
}
