//! Near-synonyms: words no rule explained, compared with the catalog's
//! category values by embedding similarity.

use super::{singular, word, Cue, EmbedFn, Hit, IntentParser};
use crate::intent::tokens::{is_stopword, Token};
use crate::intent::Source;
use crate::vectors::cosine;

/// How words and values are put before embedding: a bare word embeds
/// poorly; as "<word> genre" both sides land in the same region, so the
/// similarity says which category a word evokes (measured with MiniLM on
/// ML-100K's genres: "scary" → Horror 0.85, "funny" → Comedy 0.82, while
/// generic words — "good", "night", "evening" — stay below 0.71 or tie).
pub const TEMPLATE: &str = "{} genre";
/// Cosine similarity a word needs with a category value to name it.
pub const SIMILARITY_THRESHOLD: f32 = 0.69;
/// How far the best value must lead the second best.
pub const SIMILARITY_MARGIN: f32 = 0.06;
/// Most category values compared by similarity (the most frequent).
pub const MAX_SIMILARITY_VALUES: usize = 300;
/// Most leftover words and word pairs embedded per request.
const MAX_EMBEDDED: usize = 6;

impl IntentParser {
    /// Category values reached by embedding similarity from leftover words
    /// and adjacent word pairs. `also` (the free text) is embedded too, in a
    /// call of its own, so the caller's cache holds it for the query.
    pub(super) fn similar_hits(&self, tokens: &[Token], cues: &[Option<(Cue, usize)>], used: &mut [bool], embed: EmbedFn<'_>, also: &str) -> Vec<Hit> {
        let Some(values) = &self.value_embeddings else { return Vec::new() };
        let content = |i: usize| {
            tokens.get(i).is_some_and(|t| !used.get(i).copied().unwrap_or(true) && t.number().is_none() && t.norm.len() >= 3 && !is_stopword(&t.norm))
        };
        let free = |i: usize| content(i) && cues[i].is_none();
        // Single words first, then adjacent pairs ("outer space", "love story":
        // "love" opens a pair, as a noun, though alone it is a cue).
        let mut spans: Vec<(usize, usize)> = (0..tokens.len()).filter(|&i| free(i)).map(|i| (i, i + 1)).collect();
        let opens = |i: usize| free(i) || content(i) && word(tokens, i) == "love" && matches!(word(tokens, i.wrapping_sub(1)), "a" | "an" | "the");
        spans.extend((0..tokens.len()).filter(|&i| opens(i) && free(i + 1) && !tokens[i + 1].clause_break()).map(|i| (i, i + 2)));
        spans.truncate(MAX_EMBEDDED);
        if spans.is_empty() {
            return Vec::new();
        }
        // Each span as written and, for a plural word, singular too ("cowboys" → "cowboy").
        let mut forms: Vec<(usize, String)> = Vec::new();
        for (k, &(a, b)) in spans.iter().enumerate() {
            let words: Vec<&str> = tokens[a..b].iter().map(|t| t.norm.as_str()).collect();
            forms.push((k, words.join(" ")));
            if let [w] = words.as_slice() {
                let one = singular(w);
                if one != *w && one.len() >= 3 {
                    forms.push((k, one));
                }
            }
        }
        let mut texts: Vec<String> = forms.iter().map(|(_, f)| TEMPLATE.replace("{}", f)).collect();
        if !also.is_empty() {
            texts.push(also.to_string());
        }
        let Ok(vectors) = embed(&texts) else { return Vec::new() };
        let mut scored: Vec<(f32, usize, usize, usize)> = Vec::new(); // (similarity, start, end, category)
        for (&(k, _), v) in forms.iter().zip(&vectors) {
            let Some(&(a, b)) = spans.get(k) else { continue };
            let mut best = (f32::MIN, usize::MAX);
            let mut second = f32::MIN;
            for (c, e) in values.iter().enumerate() {
                let s = cosine(v, e);
                if s > best.0 {
                    second = best.0;
                    best = (s, c);
                } else if s > second {
                    second = s;
                }
            }
            if best.0 >= SIMILARITY_THRESHOLD && best.0 - second >= SIMILARITY_MARGIN {
                scored.push((best.0, a, b, best.1));
            }
        }
        scored.sort_by(|x, y| y.0.total_cmp(&x.0));
        let mut hits = Vec::new();
        for (_, a, b, category) in scored {
            if (a..b).any(|k| used[k]) || hits.iter().any(|h: &Hit| h.category == category) {
                continue;
            }
            for u in used.iter_mut().take(b).skip(a) {
                *u = true;
            }
            hits.push(Hit { start: a, end: b, category, source: Source::Similar });
        }
        hits
    }
}
