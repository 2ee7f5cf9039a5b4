//! Ranking: score the whole catalog ([`score`]), filter, take the top
//! candidates ([`top_k`](crate::vectors::topk::top_k)), re-rank for
//! diversity (MMR), optionally explore, and explain every result
//! ([`explain`]).
//!
//! The SIMD scan kernels (f32 and int8) live in [`crate::vectors`].

pub mod explain;
pub mod filter;
pub mod score;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Embeddings};
use crate::error::{Error, Result};
use crate::platform::{Rng, SeededRng};
use crate::profile::{Statement, UserProfile};
pub use explain::Explanation;
pub use filter::{Filters, Predicate};
pub use score::{ScoreWeights, Scored};

/// A ranking request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RankRequest {
    /// How many items to return.
    pub k: usize,
    /// The query text, if any (used for explanations).
    pub query_text: Option<String>,
    /// The query embedding in the catalog's text space, if any.
    pub query: Option<Vec<f32>>,
    /// A query photo's embedding (the image model's space), if any: only
    /// items with a photo are returned, ordered by the photo signal blended
    /// with the others.
    pub photo: Option<Vec<f32>>,
    /// What to leave out.
    pub filters: Filters,
    /// 0 = pure relevance … 1 = maximal diversity (MMR). `None`: 0.3 for a
    /// user without history and without query (popular *and* diverse), else 0.
    pub diversity: Option<f32>,
    /// Probability (0..=1) that each slot after the first shows an item from
    /// further down the candidate list instead.
    pub explore: f32,
    /// Seed for exploration; `None` draws one from the OS (`getrandom`).
    pub seed: Option<u64>,
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Catalog index.
    #[serde(skip)]
    pub index: u32,
    /// Item id.
    pub id: String,
    /// Blended relevance score (z-score units; higher is better).
    pub score: f32,
    /// Why the item is here.
    pub explanation: Explanation,
}

/// A seed from the operating system (`crypto.getRandomValues` in browsers).
pub fn os_seed() -> Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::InvalidInput(format!("no randomness available: {e}")))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Ranks `catalog` for `profile` (see the module docs).
pub fn rank(
    catalog: &Catalog,
    profile: &UserProfile,
    request: &RankRequest,
    weights: &ScoreWeights,
) -> Result<Vec<Recommendation>> {
    if !(0.0..=1.0).contains(&request.explore) {
        return Err(Error::InvalidInput(format!("explore {} is outside 0..=1", request.explore)));
    }
    if let Some(d) = request.diversity {
        if !(0.0..=1.0).contains(&d) {
            return Err(Error::InvalidInput(format!("diversity {d} is outside 0..=1")));
        }
    }
    if let (Some(q), Some(t)) = (&request.query, catalog.text_embeddings()) {
        if q.len() != t.dim() {
            return Err(Error::InvalidInput(format!(
                "query embedding has {} values; the catalog's text space has {}",
                q.len(),
                t.dim()
            )));
        }
    }
    let scored = score::score_with_photo(catalog, profile, request.query.as_deref(), request.photo.as_deref(), weights)?;
    let mut allowed = allowed(catalog, profile, &request.filters)?;
    if let Some(sims) = &scored.photo_similarity {
        // A photo search returns items with a photo only.
        allowed.iter_mut().zip(sims).for_each(|(a, s)| *a = *a && s.is_finite());
    }
    let k = request.k.min(catalog.len());
    if k == 0 {
        return Ok(Vec::new());
    }
    let cold = scored.history.is_none() && scored.query.is_none();
    let diversity = request.diversity.unwrap_or(if cold { 0.3 } else { 0.0 });
    let pool_size = if diversity > 0.0 || request.explore > 0.0 { k.saturating_mul(10).max(100) } else { k };
    let pool = crate::vectors::topk::top_k(&scored.total, pool_size, |i| allowed[i]);
    let space = score::similarity_space(catalog);
    let mut chosen = mmr(&pool, k, diversity, space.as_deref());
    let mut explored = vec![false; chosen.len()];
    if request.explore > 0.0 && pool.len() > chosen.len() {
        let seed = match request.seed {
            Some(s) => s,
            None => os_seed()?,
        };
        let mut rng = SeededRng::new(seed);
        let mut rest: Vec<(u32, f32)> = pool
            .iter()
            .filter(|p| !chosen.iter().any(|c| c.0 == p.0))
            .copied()
            .collect();
        for slot in 1..chosen.len() {
            if rest.is_empty() {
                break;
            }
            if rng.next_f64() < f64::from(request.explore) {
                let pick = (rng.next_u64() % rest.len() as u64) as usize;
                chosen[slot] = rest.swap_remove(pick);
                explored[slot] = true;
            }
        }
    }
    chosen
        .into_iter()
        .zip(explored)
        .map(|((index, score), explored)| {
            let item = catalog
                .item(index)
                .ok_or_else(|| Error::InvalidInput(format!("internal: index {index} out of range")))?;
            Ok(Recommendation {
                index,
                id: item.id().to_string(),
                score,
                explanation: explain::explain(catalog, space.as_deref(), &scored, index, request, explored),
            })
        })
        .collect()
}

/// Which items a request may return: filters, statements' exclusions, seen items.
pub fn allowed(catalog: &Catalog, profile: &UserProfile, filters: &Filters) -> Result<Vec<bool>> {
    let mut predicates = filters
        .predicates
        .iter()
        .map(|p| p.compile(catalog))
        .collect::<Result<Vec<_>>>()?;
    for st in profile.statements() {
        if let Statement::Exclude { attribute, value, .. } = st {
            let p = Predicate {
                attribute: attribute.clone(),
                not: Some(value.clone()),
                ..Default::default()
            };
            // A statement about an attribute this catalog lacks excludes nothing.
            if let Ok(c) = p.compile(catalog) {
                predicates.push(c);
            }
        }
    }
    // Blocked ids become indices (ids are unique in a catalog): no item's
    // id is read or hashed, which at 100k items cost milliseconds a call.
    let mut allowed = vec![true; catalog.len()];
    let seen = profile.seen().filter(|_| !filters.include_seen);
    for id in filters.exclude_ids.iter().map(String::as_str).chain(seen) {
        if let Some(a) = catalog.index_of(id).and_then(|i| allowed.get_mut(i as usize)) {
            *a = false;
        }
    }
    if !predicates.is_empty() {
        for (i, a) in (0..catalog.len() as u32).zip(allowed.iter_mut()) {
            *a = *a && predicates.iter().all(|p| p.matches(catalog, i));
        }
    }
    Ok(allowed)
}

/// Maximal marginal relevance over `pool` (sorted by score): picks `k`
/// items maximizing `(1 - diversity) · relevance - diversity · max cosine to
/// the items already picked`, relevance min-max scaled to 0..1 over the pool.
pub fn mmr(pool: &[(u32, f32)], k: usize, diversity: f32, space: Option<&Embeddings>) -> Vec<(u32, f32)> {
    let Some(space) = space.filter(|_| diversity > 0.0) else {
        return pool.iter().take(k).copied().collect();
    };
    let (lo, hi) = pool
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let span = (hi - lo).max(1e-6);
    let vectors: Vec<Vec<f32>> = pool
        .iter()
        .map(|p| {
            let v = space.row(p.0 as usize).unwrap_or_default();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect();
    let mut max_sim = vec![f32::NEG_INFINITY; pool.len()];
    let mut taken = vec![false; pool.len()];
    let mut out = Vec::with_capacity(k);
    for _ in 0..k.min(pool.len()) {
        let mut best: Option<(usize, f32)> = None;
        for (c, p) in pool.iter().enumerate() {
            if taken[c] {
                continue;
            }
            let rel = (p.1 - lo) / span;
            let sim = if out.is_empty() { 0.0 } else { max_sim[c] };
            let value = (1.0 - diversity) * rel - diversity * sim;
            if best.is_none_or(|(_, b)| value > b) {
                best = Some((c, value));
            }
        }
        let Some((c, _)) = best else { break };
        taken[c] = true;
        out.push(pool[c]);
        for (o, v) in vectors.iter().enumerate() {
            let s: f32 = v.iter().zip(&vectors[c]).map(|(a, b)| a * b).sum();
            max_sim[o] = max_sim[o].max(s);
        }
    }
    out
}
