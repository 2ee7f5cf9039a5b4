//! Titles: an index of the catalog's titles by their first word, a linker
//! that finds them in a request (articles optional, RecBole's "Title, The"
//! form, a year in parentheses), and the franchise of a title (the titles
//! sharing its stem, numbered or subtitled).

use std::collections::HashMap;

use super::tokens::{is_stopword, tokenize, Token};
use crate::catalog::Catalog;

/// Articles RecBole (and MovieLens) move to the end of a title.
const ARTICLES: &[&str] = &["the", "a", "an", "les", "la", "le", "l", "il", "el", "das", "der", "die", "lo", "los", "las"];

/// One title of the catalog, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleEntry {
    /// Catalog index of the item.
    pub index: u32,
    /// Item id.
    pub id: String,
    /// The title as the catalog writes it.
    pub title: String,
    /// Lower-case words without the leading/trailing article and the year.
    pub tokens: Vec<String>,
    /// The article, when the title has one.
    pub article: Option<String>,
    /// The year in parentheses at the end, if any.
    pub year: Option<u32>,
    /// Where a subtitle starts (the word after the first `:`), if any.
    pub subtitle_at: Option<usize>,
    /// Popularity (ties between equal titles go to the more popular).
    pub popularity: f32,
}

/// All titles, indexed by first word.
#[derive(Debug, Clone, Default)]
pub struct TitleIndex {
    entries: Vec<TitleEntry>,
    by_first: HashMap<String, Vec<usize>>,
}

/// A title found in a request.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleMatch {
    /// First request token of the mention.
    pub start: usize,
    /// One past its last token.
    pub end: usize,
    /// The entries it names, the chosen one first (equal titles follow).
    pub entries: Vec<usize>,
}

/// Splits a title into (words, article, year, subtitle position).
pub fn normalize_title(title: &str) -> (Vec<String>, Option<String>, Option<u32>, Option<usize>) {
    let mut t = title.trim();
    let mut year = None;
    if let Some(open) = t.rfind('(') {
        let inner = t[open + 1..].trim_end_matches(')').trim();
        if inner.len() == 4 && inner.chars().all(|c| c.is_ascii_digit()) {
            year = inner.parse().ok();
            t = t[..open].trim_end();
        }
    }
    let mut article = None;
    if let Some(comma) = t.rfind(',') {
        let tail = t[comma + 1..].trim().trim_end_matches('\'').to_lowercase();
        if ARTICLES.contains(&tail.as_str()) {
            article = Some(tail);
            t = &t[..comma];
        }
    }
    let tokens: Vec<Token> = tokenize(t);
    let subtitle_at = tokens.iter().position(|k| k.sep.contains(':'));
    let mut words: Vec<String> = tokens.into_iter().map(|k| k.norm).collect();
    let mut subtitle_at = subtitle_at;
    if article.is_none() && words.len() > 1 && words.first().is_some_and(|w| ARTICLES.contains(&w.as_str()) && w != "l") {
        article = Some(words.remove(0));
        subtitle_at = subtitle_at.map(|s| s.saturating_sub(1));
    }
    (words, article, year, subtitle_at)
}

pub use crate::ranking::explain::display_title;

/// Whether a word counts a sequel (`2`, `iii`, `part`).
pub fn is_sequel_marker(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_digit()) && !word.is_empty() && word.len() <= 2
        || matches!(word, "ii" | "iii" | "iv" | "v" | "vi" | "vii" | "viii" | "part" | "chapter" | "episode" | "returns" | "two" | "three")
}

impl TitleIndex {
    /// Indexes every title of `catalog`.
    pub fn from_catalog(catalog: &Catalog) -> Self {
        let popularity = catalog.popularity();
        let mut index = TitleIndex::default();
        for (i, item) in catalog.items().enumerate() {
            let (tokens, article, year, subtitle_at) = normalize_title(item.title());
            if tokens.is_empty() {
                continue;
            }
            let entry = TitleEntry {
                index: i as u32,
                id: item.id().to_string(),
                title: item.title().to_string(),
                popularity: popularity.get(i).copied().unwrap_or(0.0),
                tokens,
                article,
                year,
                subtitle_at,
            };
            let slot = index.entries.len();
            if let Some(first) = entry.tokens.first() {
                index.by_first.entry(first.clone()).or_default().push(slot);
            }
            if let Some(a) = &entry.article {
                index.by_first.entry(a.clone()).or_default().push(slot);
            }
            index.entries.push(entry);
        }
        index
    }

    /// Entry `slot`.
    pub fn entry(&self, slot: usize) -> Option<&TitleEntry> {
        self.entries.get(slot)
    }

    /// How many titles.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The longest title starting at request token `at`, if any: the
    /// title's words in order, its article before them optional, then an
    /// optional year (which picks between equal titles).
    pub fn match_at(&self, tokens: &[Token], at: usize) -> Option<TitleMatch> {
        let first = tokens.get(at)?;
        let mut best: Option<(usize, usize, Vec<usize>)> = None; // (end, words matched, slots)
        for &slot in self.by_first.get(&first.norm).into_iter().flatten() {
            let Some(e) = self.entries.get(slot) else { continue };
            for with_article in [false, true] {
                let mut words: Vec<&str> = Vec::with_capacity(e.tokens.len() + 1);
                if with_article {
                    let Some(a) = &e.article else { continue };
                    words.push(a);
                }
                words.extend(e.tokens.iter().map(String::as_str));
                let fits = words.iter().enumerate().all(|(k, w)| {
                    tokens.get(at + k).is_some_and(|t| t.norm == *w && (k == 0 || !t.sentence_start))
                });
                if !fits {
                    continue;
                }
                let end = at + words.len();
                let better = match &best {
                    None => true,
                    Some((b_end, _, _)) => end > *b_end,
                };
                if better {
                    best = Some((end, e.tokens.len(), vec![slot]));
                } else if let Some((b_end, _, slots)) = best.as_mut() {
                    if *b_end == end && !slots.contains(&slot) {
                        slots.push(slot);
                    }
                }
            }
        }
        let (mut end, _, mut slots) = best?;
        // The most popular of equal titles leads, unless a year right after
        // the title picks one (the year is then part of the mention).
        slots.sort_by(|a, b| {
            let pa = self.entries.get(*a).map_or(0.0, |e| e.popularity);
            let pb = self.entries.get(*b).map_or(0.0, |e| e.popularity);
            pb.total_cmp(&pa)
        });
        let year = tokens.get(end).and_then(|t| t.number()).filter(|y| (1800.0..=2100.0).contains(y));
        if let Some(y) = year {
            if let Some(pos) = slots.iter().position(|&s| self.entries.get(s).and_then(|e| e.year) == Some(y as u32)) {
                let chosen = slots.remove(pos);
                slots.insert(0, chosen);
                end += 1;
            }
        }
        Some(TitleMatch { start: at, end, entries: slots })
    }

    /// The franchise of entry `slot`: every title that starts with its stem
    /// (its words before a subtitle or a sequel number; a one-word stem also
    /// matches its plural, "Alien" → "Aliens"), whatever follows ("Batman
    /// Forever", "Jaws 3-D", "Alien: Resurrection"). Leaving out a title
    /// that only shares the stem costs little; showing a sequel the user
    /// refused costs the answer. The entry itself is included.
    pub fn franchise(&self, slot: usize) -> Vec<usize> {
        let Some(e) = self.entries.get(slot) else { return Vec::new() };
        let cut = e
            .tokens
            .iter()
            .enumerate()
            .position(|(k, w)| k > 0 && (Some(k) == e.subtitle_at || is_sequel_marker(w)))
            .unwrap_or(e.tokens.len());
        let stem = &e.tokens[..cut.min(e.tokens.len())];
        if stem.is_empty() || stem.iter().all(|w| is_stopword(w)) {
            return vec![slot];
        }
        let plural = (stem.len() == 1).then(|| format!("{}s", stem[0]));
        let mut out = Vec::new();
        let firsts = [Some(stem[0].clone()), plural.clone()];
        for first in firsts.iter().flatten() {
            for &s in self.by_first.get(first).into_iter().flatten() {
                let Some(c) = self.entries.get(s) else { continue };
                let starts = if c.tokens.first() == plural.as_ref() && stem.len() == 1 {
                    Some(1)
                } else if c.tokens.len() >= stem.len() && c.tokens[..stem.len()] == *stem {
                    Some(stem.len())
                } else {
                    None
                };
                if starts.is_some() && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        if !out.contains(&slot) {
            out.push(slot);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_normalise_articles_years_and_subtitles() {
        assert_eq!(normalize_title("Godfather, The"), (vec!["godfather".to_string()], Some("the".into()), None, None));
        let (w, a, y, s) = normalize_title("Godfather: Part II, The (1974)");
        assert_eq!((w.join(" "), a.as_deref(), y, s), ("godfather part ii".into(), Some("the"), Some(1974), Some(1)));
        let (w, a, _, s) = normalize_title("The Lord of the Rings: The Two Towers");
        assert_eq!((w.join(" "), a.as_deref(), s), ("lord of the rings the two towers".into(), Some("the"), Some(4)));
        assert_eq!(normalize_title("Alien 3").0, ["alien", "3"]);
        assert_eq!(display_title("Godfather: Part II, The (1974)"), "The Godfather: Part II (1974)");
        assert_eq!(display_title("Maltese Falcon, The"), "The Maltese Falcon");
        assert_eq!(display_title("Crying Game, The (1992) "), "The Crying Game (1992)");
        assert_eq!(display_title("Heat (1995)"), "Heat (1995)");
        assert_eq!(display_title("Me, Myself and Irene"), "Me, Myself and Irene");
        assert!(is_sequel_marker("3") && is_sequel_marker("iii") && !is_sequel_marker("1977"));
    }
}
