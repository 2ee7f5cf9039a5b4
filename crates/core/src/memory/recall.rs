//! Recall: which facts matter for a query now.

use serde::Serialize;

use super::{Fact, Memory};
use crate::vectors::cosine;
use crate::error::{Error, Result};

const DAY_MS: f64 = 86_400_000.0;

/// How [`Memory::recall`] scores a fact for a query:
///
/// ```text
/// score = similarity · cos(query, fact)
///       + recency    · 0.5^(age_days / half_life_days)
///       + importance · fact.importance · fact.confidence
/// ```
///
/// `age_days` is the time elapsed since the fact was last stated, corrected
/// or reinforced (`updated_ms`), measured by the clock, never by rank: facts
/// stored minutes apart weigh the same (with the default 30-day half-life,
/// ten minutes change the recency term by 1.6·10⁻⁴, the score by 3·10⁻⁵). A fact from the future
/// (clock skew) counts as age 0. Defaults: 0.6 / 0.2 / 0.2, half-life 30
/// days — similarity leads, recency and importance break near-ties and let
/// stale, unimportant facts sink.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallWeights {
    /// Weight of the cosine similarity (default 0.6).
    pub similarity: f32,
    /// Weight of the recency term (default 0.2).
    pub recency: f32,
    /// Weight of importance × confidence (default 0.2).
    pub importance: f32,
    /// Half-life of the recency term, in days (default 30).
    pub half_life_days: f64,
}

impl Default for RecallWeights {
    fn default() -> Self {
        Self {
            similarity: 0.6,
            recency: 0.2,
            importance: 0.2,
            half_life_days: 30.0,
        }
    }
}

impl RecallWeights {
    /// The recency term of a fact last updated at `updated_ms`, read at `now_ms`.
    pub fn recency_at(&self, updated_ms: f64, now_ms: f64) -> f32 {
        let age_days = ((now_ms - updated_ms) / DAY_MS).max(0.0);
        0.5f64.powf(age_days / self.half_life_days.max(f64::MIN_POSITIVE)) as f32
    }
}

/// One result of [`Memory::recall`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recalled {
    /// The fact.
    pub fact: Fact,
    /// The blended score (higher first).
    pub score: f32,
    /// Its cosine similarity to the query.
    pub similarity: f32,
    /// Its recency term, 0..=1.
    pub recency: f32,
}

impl Memory {
    /// The `k` facts that best match `query` now, best first (ties: lower
    /// id first). Needs an embedder ([`Error::InvalidInput`] without one);
    /// a fact stored without an embedding is embedded on the fly.
    pub async fn recall(&self, query: &str, k: usize) -> Result<Vec<Recalled>> {
        let embedder = self
            .embedder
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("recall needs a text model (an embedder)".into()))?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let q = embedder.embed(query)?;
        let now = self.now();
        let w = &self.config.weights;
        let mut scored = Vec::new();
        for fact in self.facts().await? {
            let similarity = if fact.embedding.len() == q.len() {
                cosine(&q, &fact.embedding)
            } else {
                cosine(&q, &embedder.embed(&fact.text)?)
            };
            let recency = w.recency_at(fact.updated_ms, now);
            let score = w.similarity * similarity
                + w.recency * recency
                + w.importance * fact.importance * fact.confidence;
            scored.push(Recalled {
                fact,
                score,
                similarity,
                recency,
            });
        }
        // `facts()` is in id order and the sort is stable: ties keep it.
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        scored.truncate(k);
        Ok(scored)
    }
}
