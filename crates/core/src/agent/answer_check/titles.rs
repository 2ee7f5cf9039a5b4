//! Finding catalog titles in a text: a word index of the titles, one pass
//! over the text's words.

use std::collections::{HashMap, HashSet};

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::display_title;
use crate::agent::tools::AnswerItem;

/// Leading articles dropped from title keys (the text may write them or not).
const ARTICLES: &[&str] = &["the", "a", "an", "les", "la", "le", "l", "il", "der", "die", "das", "el", "los", "las", "lo", "gli", "det", "den", "het", "een"];

/// One word of a text: normalised (accents and apostrophes dropped, lower
/// case) with its byte range.
struct Word {
    norm: String,
    start: usize,
    end: usize,
}

fn text_words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let push = |s: usize, e: usize, out: &mut Vec<Word>| {
        let norm: String = text
            .get(s..e)
            .unwrap_or("")
            .nfd()
            .filter(|c| !is_combining_mark(*c) && *c != '\'' && *c != '\u{2019}')
            .flat_map(char::to_lowercase)
            .collect();
        if !norm.is_empty() {
            out.push(Word { norm, start: s, end: e });
        }
    };
    for (i, c) in text.char_indices() {
        let inside = c.is_alphanumeric() || ((c == '\'' || c == '\u{2019}') && start.is_some());
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                push(s, i, &mut out);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        push(s, text.len(), &mut out);
    }
    out
}

/// The words a title is matched by: its main part (trailing "(1977)" and
/// "(Se7en)" groups dropped, a trailing ", The" moved to the front), with
/// the moved article or a leading "The"/"A"/"An" dropped.
fn title_key(title: &str) -> Vec<String> {
    let mut base = title.trim();
    while base.ends_with(')') {
        match base.rfind(" (") {
            Some(p) if p > 0 => base = base.get(..p).unwrap_or(base).trim_end(),
            _ => break,
        }
    }
    let shown = display_title(base);
    let moved = shown != base;
    let mut key: Vec<String> = text_words(&shown).into_iter().map(|w| w.norm).collect();
    // A moved RecBole article ("Misérables, Les") is dropped whatever its
    // language; a leading one only when English ("Die Hard" keeps "Die").
    let droppable = |w: &String| if moved { ARTICLES.contains(&w.as_str()) } else { matches!(w.as_str(), "the" | "a" | "an") };
    if key.len() > 1 && key.first().is_some_and(droppable) {
        key.remove(0);
    }
    key
}

/// How sure a mention of a title is, by the length of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Fewer than 2 words or fewer than 6 letters ("Heat", "The Game"):
    /// counts only with "(year)" after it.
    Short,
    /// Exactly 2 words ("Big Night"): counts when written capitalised, or
    /// with "(year)" after it.
    Pair,
    /// 3 or more words: counts in any case.
    Long,
}

fn level(key: &[String]) -> Level {
    let letters: usize = key.iter().map(|w| w.chars().filter(|c| c.is_alphabetic()).count()).sum();
    match key.len() {
        _ if letters < 6 => Level::Short,
        0 | 1 => Level::Short,
        2 => Level::Pair,
        _ => Level::Long,
    }
}

/// Whether `text` continues at `at` with " (1977)" (a year in parentheses).
fn year_follows(text: &str, at: usize) -> bool {
    let rest = text.get(at..).unwrap_or("").trim_start();
    let Some(inner) = rest.strip_prefix('(') else { return false };
    let digits: String = inner.chars().take_while(char::is_ascii_digit).collect();
    digits.len() == 4 && inner.get(4..).is_some_and(|t| t.starts_with(')'))
}

struct Entry {
    key: Vec<String>,
    title: usize,
    level: Level,
}

struct Found {
    entry: usize,
    title: usize,
    start: usize,
    end: usize,
}

/// A word index of titles: each title under the first word of its key, so
/// finding titles in a text is one pass over its words.
struct TitleIndex {
    entries: Vec<Entry>,
    by_first: HashMap<String, Vec<usize>>,
}

impl TitleIndex {
    fn new<'a>(titles: impl IntoIterator<Item = &'a str>) -> Self {
        let mut entries = Vec::new();
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        for (title, t) in titles.into_iter().enumerate() {
            let key = title_key(t);
            let Some(first) = key.first().cloned() else { continue };
            by_first.entry(first).or_default().push(entries.len());
            let level = level(&key);
            entries.push(Entry { key, title, level });
        }
        Self { entries, by_first }
    }

    /// Every title occurrence in `text` (as sure as its [`Level`] asks,
    /// unless `all`); the range takes in a preceding article.
    fn find(&self, text: &str, words: &[Word], all: bool) -> Vec<Found> {
        let mut out = Vec::new();
        for (i, w) in words.iter().enumerate() {
            let Some(candidates) = self.by_first.get(&w.norm) else { continue };
            for &e in candidates {
                let Some(entry) = self.entries.get(e) else { continue };
                let Some(span) = words.get(i..i + entry.key.len()) else { continue };
                if !span.iter().zip(&entry.key).all(|(a, b)| a.norm == *b) {
                    continue;
                }
                let end = span.last().map_or(w.end, |l| l.end);
                let capitalised = || span.iter().all(|x| text.get(x.start..).and_then(|t| t.chars().next()).is_some_and(|c| !c.is_lowercase()));
                let sure = all
                    || match entry.level {
                        Level::Long => true,
                        Level::Pair => capitalised() || year_follows(text, end),
                        Level::Short => year_follows(text, end),
                    };
                if !sure {
                    continue;
                }
                let start = match i.checked_sub(1).and_then(|p| words.get(p)) {
                    Some(prev) if ARTICLES.contains(&prev.norm.as_str()) => prev.start,
                    _ => w.start,
                };
                out.push(Found { entry: e, title: entry.title, start, end });
            }
        }
        out
    }
}

/// The catalog titles `text` names that are not among `returned`, each
/// once, in order of first mention, as written in `catalog_titles`.
///
/// Matching is case-, accent- and apostrophe-insensitive on whole words;
/// a trailing "(1977)" or alternative title in parentheses is not needed,
/// and "Godfather, The" matches "The Godfather" and "Godfather". The fair
/// rule against noise, by the words left after a leading article: a title
/// of 3 or more words ("The Usual Suspects" is 2) is matched in any case;
/// one of 2 words must be written capitalised ("Big Night", not "a big
/// night") or be followed by a year in parentheses; one of a single word
/// or fewer than 6 letters ("It", "Heat", "The Game", "Fargo") counts only
/// with the year right after it ("Heat (1995)") — without it the title
/// cannot be told from the plain word. A mention inside a returned item's
/// mention ("The Godfather" in "The Godfather: Part II") and a title whose
/// key equals a returned item's are grounded; of overlapping catalog
/// mentions the longest wins.
/// Cost: one pass over the text's words plus a hash index of the titles.
pub fn ungrounded_titles(text: &str, returned: &[AnswerItem], catalog_titles: &[&str]) -> Vec<String> {
    let words = text_words(text);
    let returned_index = TitleIndex::new(returned.iter().map(|i| i.title.as_str()));
    let grounded_spans: Vec<(usize, usize)> = returned_index.find(text, &words, true).iter().map(|f| (f.start, f.end)).collect();
    let returned_keys: HashSet<Vec<String>> = returned_index.entries.iter().map(|e| e.key.clone()).collect();
    let catalog = TitleIndex::new(catalog_titles.iter().copied());
    let mut found = catalog.find(text, &words, false);
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut accepted: Vec<&Found> = Vec::new();
    for f in &found {
        let key = catalog.entries.get(f.entry).map(|e| &e.key);
        if key.is_some_and(|k| returned_keys.contains(k)) {
            continue;
        }
        if grounded_spans.iter().any(|&(s, e)| f.start < e && s < f.end) {
            continue;
        }
        if accepted.iter().any(|a| a.start <= f.start && f.end <= a.end) {
            continue;
        }
        accepted.push(f);
    }
    let mut out: Vec<String> = Vec::new();
    for f in accepted {
        if let Some(t) = catalog_titles.get(f.title) {
            if !out.iter().any(|o| o == t) {
                out.push((*t).to_string());
            }
        }
    }
    out
}

/// `text` without the sentences and list lines that name any of `titles`
/// (matched as in [`ungrounded_titles`]). List lines (`-`, `*`, `•`, `1.`,
/// `1)`) are dropped whole and numbered lists renumbered; other lines are
/// split into sentences at `.`, `!`, `?` before a capital or digit (not
/// after "Mr", "Dr", "St", … or an initial). What is left is trimmed, with
/// runs of blank lines collapsed; it may be empty.
pub fn remove_ungrounded(text: &str, titles: &[String]) -> String {
    let index = TitleIndex::new(titles.iter().map(String::as_str));
    let names = |unit: &str| !index.find(unit, &text_words(unit), false).is_empty();
    let mut lines: Vec<String> = Vec::new();
    let mut number = 0usize;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            if lines.last().is_some_and(|l| !l.is_empty()) {
                lines.push(String::new());
            }
            number = 0;
            continue;
        }
        if let Some((marker, body)) = list_item(t) {
            if names(t) {
                continue;
            }
            let indent = line.get(..line.len() - line.trim_start().len()).unwrap_or("");
            lines.push(match marker {
                Some(close) => {
                    number += 1;
                    format!("{indent}{number}{close} {body}")
                }
                None => line.trim_end().to_string(),
            });
            continue;
        }
        number = 0;
        let kept: Vec<&str> = sentences(t).into_iter().filter(|s| !names(s)).collect();
        if !kept.is_empty() {
            lines.push(kept.join(" "));
        }
    }
    lines.join("\n").trim().to_string()
}

/// A list line: `Some((Some(".") or Some(")"), body))` for a numbered item,
/// `Some((None, body))` for a bullet.
fn list_item(line: &str) -> Option<(Option<char>, &str)> {
    for bullet in ["- ", "* ", "• ", "+ "] {
        if let Some(body) = line.strip_prefix(bullet) {
            return Some((None, body.trim()));
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let close = line.get(digits..).and_then(|r| r.chars().next()).filter(|c| *c == '.' || *c == ')')?;
    let body = line.get(digits + 1..)?;
    body.starts_with(char::is_whitespace).then(|| (Some(close), body.trim()))
}

/// The sentences of one line.
fn sentences(line: &str) -> Vec<&str> {
    const ABBREVIATIONS: &[&str] = &["mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "no", "vol", "mt", "prof", "ft"];
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for (n, &(i, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?' | '\u{2026}') {
            continue;
        }
        let mut j = n + 1;
        while chars.get(j).is_some_and(|(_, c)| matches!(c, '"' | '\u{201d}' | '\u{2019}' | ')' | '.' | '!' | '?')) {
            j += 1;
        }
        let after_punct = chars.get(j).map_or(line.len(), |(b, _)| *b);
        if !chars.get(j).is_some_and(|(_, c)| c.is_whitespace()) {
            continue;
        }
        let next = chars.get(j..).and_then(|r| r.iter().find(|(_, c)| !c.is_whitespace())).map(|(_, c)| *c);
        if !next.is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || matches!(c, '"' | '\u{201c}' | '(' | '*')) {
            continue;
        }
        let word: String = line.get(..i).unwrap_or("").chars().rev().take_while(|c| c.is_alphabetic()).collect();
        let word = word.to_lowercase();
        if c == '.' && (word.chars().count() == 1 || ABBREVIATIONS.contains(&word.chars().rev().collect::<String>().as_str())) {
            continue;
        }
        if let Some(s) = line.get(start..after_punct) {
            if !s.trim().is_empty() {
                out.push(s.trim());
            }
        }
        start = after_punct;
    }
    if let Some(s) = line.get(start..).map(str::trim).filter(|s| !s.is_empty()) {
        out.push(s);
    }
    out
}
