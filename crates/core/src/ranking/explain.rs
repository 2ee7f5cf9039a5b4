//! Why an item was recommended, in terms the app can show.

use serde::{Deserialize, Serialize};

use super::filter::words;
use super::score::Scored;
use super::RankRequest;
use crate::catalog::{AttributeKind, AttributeValue, Catalog, Embeddings};

/// A history item that drove a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryReason {
    /// Item id.
    pub id: String,
    /// Item title.
    pub title: String,
    /// Share of the history signal this item contributed (0..=1).
    pub share: f32,
}

/// The explanation of one recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// One sentence for display.
    pub summary: String,
    /// History items that drove it, strongest first (at most 3).
    pub because: Vec<HistoryReason>,
    /// The user interest it matches best (a tag such as a genre, or a title).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interest: Option<String>,
    /// Query words found in the item's text.
    pub query_terms: Vec<String>,
    /// Cosine similarity of the item's photo with the query photo (photo
    /// searches only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_similarity: Option<f32>,
    /// Contribution of each signal to the score (z-score units).
    pub signals: Signals,
    /// Whether the item was put here by exploration rather than relevance.
    pub explored: bool,
}

/// Contribution of each signal to one item's score.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Signals {
    /// From the user's history and interests.
    pub history: f32,
    /// From the query.
    pub query: f32,
    /// From popularity.
    pub popularity: f32,
    /// Subtracted for similarity to disliked items / avoid statements.
    pub penalty: f32,
    /// From the query photo (photo searches only; 0 otherwise).
    #[serde(default)]
    pub photo: f32,
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "about", "from", "that", "this", "something", "some", "like", "want",
    "movie", "movies", "film", "films", "show", "me", "a", "an", "of", "to", "in", "on", "is", "it",
];

/// The most frequent categorical tag among `members` (for interest labels).
fn label(catalog: &Catalog, members: &[u32]) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (a, def) in catalog.attributes().iter().enumerate() {
        if def.kind != AttributeKind::Tags && !(def.kind == AttributeKind::Text && def.is_category()) {
            continue;
        }
        for &m in members {
            let Some(item) = catalog.item(m) else { continue };
            let tags: Vec<String> = match item.values.get(a) {
                Some(AttributeValue::Tags(t)) => t.clone(),
                Some(AttributeValue::Text(t)) => t.split_whitespace().map(str::to_string).collect(),
                _ => continue,
            };
            for t in tags {
                match counts.iter_mut().find(|(x, _)| *x == t) {
                    Some(c) => c.1 += 1,
                    None => counts.push((t, 1)),
                }
            }
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.into_iter().next().map(|c| c.0)
}

/// Explains item `index` of a ranking; `space` is
/// [`super::score::similarity_space`] of `catalog` (computed once per ranking).
pub fn explain(
    catalog: &Catalog,
    space: Option<&Embeddings>,
    scored: &Scored,
    index: u32,
    request: &RankRequest,
    explored: bool,
) -> Explanation {
    let i = index as usize;
    let get = |v: &Option<Vec<f32>>| v.as_ref().and_then(|v| v.get(i)).copied().unwrap_or(0.0);
    let signals = Signals {
        history: get(&scored.history),
        query: get(&scored.query),
        popularity: scored.popularity.get(i).copied().unwrap_or(0.0),
        penalty: scored.penalty.get(i).copied().unwrap_or(0.0),
        photo: get(&scored.photo),
    };
    let photo_similarity = scored
        .photo_similarity
        .as_ref()
        .and_then(|s| s.get(i))
        .copied()
        .filter(|s| s.is_finite());
    let mut because = Vec::new();
    if scored.history.is_some() {
        if let Some(model) = catalog.sequence_model() {
            let parts = model.contributions(&scored.context, index);
            let positive: f32 = parts.iter().map(|p| p.1.max(0.0)).sum::<f32>().max(1e-9);
            for (h, c) in parts.into_iter().filter(|p| p.1 > 0.0).take(3) {
                if let Some(item) = scored.context.get(h).and_then(|c| catalog.item(c.item)) {
                    because.push(HistoryReason {
                        id: item.id.clone(),
                        title: item.title.clone(),
                        share: c / positive,
                    });
                }
            }
        }
    }
    let interest = scored
        .interests
        .iter()
        .filter_map(|it| {
            let v = space?.row(i)?;
            let s: f32 = v.iter().zip(&it.centroid).map(|(a, b)| a * b).sum();
            Some((it, s))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if because.is_empty() {
        if let Some((it, _)) = interest {
            for &m in it.members.iter().take(2) {
                if let Some(item) = catalog.item(m) {
                    because.push(HistoryReason {
                        id: item.id.clone(),
                        title: item.title.clone(),
                        share: 1.0 / it.members.len().min(2) as f32,
                    });
                }
            }
        }
    }
    let interest = interest.and_then(|(it, _)| label(catalog, &it.members));
    let query_terms: Vec<String> = match (&request.query_text, catalog.item(index)) {
        (Some(q), Some(item)) => {
            let text: Vec<String> = words(&item.text).collect();
            let mut terms: Vec<String> = words(q)
                .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()))
                .filter(|w| text.iter().any(|t| t == w || (w.len() >= 4 && t.starts_with(w.as_str()))))
                .collect();
            terms.dedup();
            terms
        }
        _ => Vec::new(),
    };
    let summary = if explored {
        "Something different, to explore beyond your usual picks".to_string()
    } else if !because.is_empty() && signals.history >= signals.query.max(signals.photo) {
        let titles: Vec<&str> = because.iter().take(2).map(|b| b.title.as_str()).collect();
        match &interest {
            Some(tag) => format!("Because you liked {} ({tag})", titles.join(" and ")),
            None => format!("Because you liked {}", titles.join(" and ")),
        }
    } else if let Some(sim) = photo_similarity.filter(|_| signals.photo >= signals.query) {
        format!("Looks like your photo ({:.0} % similar)", (sim.clamp(0.0, 1.0) * 100.0).round())
    } else if let Some(q) = &request.query_text {
        if query_terms.is_empty() {
            format!("Close in meaning to \u{201c}{q}\u{201d}")
        } else {
            format!("Matches \u{201c}{}\u{201d}", query_terms.join(" "))
        }
    } else if request.query.is_some() {
        "Matches your search".to_string()
    } else if !because.is_empty() {
        let titles: Vec<&str> = because.iter().take(2).map(|b| b.title.as_str()).collect();
        format!("Because you liked {}", titles.join(" and "))
    } else {
        "Popular with everyone".to_string()
    };
    Explanation {
        summary,
        because,
        interest,
        query_terms,
        photo_similarity,
        signals,
        explored,
    }
}
