//! Judging one answer: constraint satisfaction of the top items (by id, from
//! the catalog's own attribute values), malformed answer texts, grounding
//! errors and duplicates.

use std::collections::{HashMap, HashSet};

use recagent_core::catalog::ValueRef;
use recagent_core::Catalog;
use serde::Serialize;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::{BenchRequest, Constraints, TOP};

/// One item of an answer, as the agent returned it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReturnedItem {
    /// Catalog id.
    pub id: String,
    /// Title as the agent showed it.
    pub title: String,
}

/// What the agent answered to one request (plain data: the scorer does not
/// depend on the agent's types).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Answered {
    /// The answer text.
    pub text: String,
    /// The items, best first.
    pub items: Vec<ReturnedItem>,
    /// The fallback code, when the on-device answer was used.
    pub fallback: Option<String>,
    /// The clarifying question, when the agent asked one.
    pub question: Option<String>,
    /// Wall time of the ask, in seconds.
    pub seconds: f64,
    /// The error `ask` returned, if it failed (the answer is then empty).
    pub error: Option<String>,
}

/// One of the judged top items and the constraints it broke.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemVerdict {
    /// Catalog id.
    pub id: String,
    /// Catalog title (the returned one when the id is unknown).
    pub title: String,
    /// One sentence per broken constraint (empty: the item meets them all).
    pub violations: Vec<String>,
}

/// The score of one answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestScore {
    /// The request's id.
    pub id: String,
    /// The request's text.
    pub text: String,
    /// The request's kinds.
    pub kinds: Vec<String>,
    /// (distinct top items meeting every constraint) / min(TOP, catalog
    /// items meeting them); `None` when no catalog item meets them.
    pub satisfaction: Option<f64>,
    /// Catalog items meeting every constraint.
    pub satisfiable: usize,
    /// The first [`TOP`] returned items and what each broke.
    pub top: Vec<ItemVerdict>,
    /// Why the answer text is malformed, if it is ([`malformed`]).
    pub malformed: Option<String>,
    /// Catalog titles named in the answer that are not among the items.
    pub grounding: Vec<String>,
    /// Duplicate items, one sentence each.
    pub duplicates: Vec<String>,
    /// The fallback code, if any.
    pub fallback: Option<String>,
    /// The clarifying question, if any.
    pub question: Option<String>,
    /// Wall time of the ask, in seconds.
    pub seconds: f64,
    /// The answer text (its first 300 characters).
    pub answer: String,
}

impl RequestScore {
    /// Whether anything is wrong with the answer: a top item breaking a
    /// constraint, fewer satisfying items than possible, a malformed text, a
    /// grounding error or a duplicate.
    pub fn failed(&self) -> bool {
        self.satisfaction.is_some_and(|s| s < 1.0)
            || self.malformed.is_some()
            || !self.grounding.is_empty()
            || !self.duplicates.is_empty()
    }
}

/// The built-in tool names of the agent: an answer that is just one of them
/// is malformed.
const TOOL_NAMES: &[&str] = &["search_catalog", "recommend", "get_item", "recall_memory", "explain", "ask_user", "remember"];

/// Why `text` is not an answer a person should see, if it is not: empty; a
/// tool call (`<tool_call>`, `"tool_calls"`, `{"name":`, `"arguments"`); a
/// JSON-schema fragment (`"maxLength"`, `"type": "object"`, `"properties"`,
/// `"$schema"`); a JSON object (`{"key": …`); or just a tool name.
pub fn malformed(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some("empty answer".into());
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_lowercase();
    for (pattern, what) in [
        ("<tool_call>", "a tool call"),
        ("\"tool_calls\"", "a tool call"),
        ("{\"name\":", "a tool call"),
        ("\"arguments\"", "a tool call"),
        ("\"maxlength\"", "a JSON-schema fragment"),
        ("\"type\":\"object\"", "a JSON-schema fragment"),
        ("\"properties\":{", "a JSON-schema fragment"),
        ("\"$schema\"", "a JSON-schema fragment"),
    ] {
        if lower.contains(pattern) {
            return Some(format!("{what} ({pattern})"));
        }
    }
    if let Some(at) = json_key_at(&compact) {
        let snippet: String = compact[at..].chars().take(30).collect();
        return Some(format!("a JSON object ({snippet}…)"));
    }
    let word = trimmed.trim_matches(|c: char| c == '`' || c == '"' || c == '.');
    let identifier = word.contains('_') && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if TOOL_NAMES.contains(&word) || identifier {
        return Some(format!("just a tool name ({word})"));
    }
    None
}

/// Where `{"key":` starts in `compact` (text without whitespace), if anywhere.
fn json_key_at(compact: &str) -> Option<usize> {
    let bytes = compact.as_bytes();
    let mut from = 0;
    while let Some(at) = compact[from..].find("{\"").map(|i| i + from) {
        let key_start = at + 2;
        let close = compact[key_start..].find('"').map(|i| i + key_start)?;
        if close > key_start && bytes.get(close + 1) == Some(&b':') {
            return Some(at);
        }
        from = key_start;
    }
    None
}

/// Lower-case words (accents folded, split at anything not alphanumeric),
/// each with whether it was written capitalised.
fn words(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut capital = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if word.is_empty() {
                capital = c.is_uppercase() || c.is_numeric();
            }
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            out.push((std::mem::take(&mut word), capital));
        }
    }
    if !word.is_empty() {
        out.push((word, capital));
    }
    out
}

/// A title's core words: without a trailing `(…)` (a year or an alternate
/// title) and without a trailing article moved after a comma
/// (`Godfather, The` → `godfather`); and that article, if any.
fn core_title(title: &str) -> (Vec<String>, Option<String>) {
    let mut main = title.trim();
    while let Some(open) = main.rfind(" (").filter(|_| main.ends_with(')')) {
        main = main[..open].trim_end();
    }
    let mut article = None;
    if let Some((head, tail)) = main.rsplit_once(", ") {
        let t = tail.trim();
        if ["The", "A", "An", "Les", "La", "Le", "L'", "Il", "Das", "Der", "Die", "El"].contains(&t) && !head.is_empty() {
            article = Some(t.to_lowercase());
            main = head;
        }
    }
    let core = words(main).into_iter().map(|(w, _)| w).collect();
    (core, article)
}

/// Whether a core title is long enough to be looked for in an answer
/// (≥ 2 words or ≥ 6 letters), so that words like "It" are not titles.
fn eligible(core: &[String]) -> bool {
    core.len() >= 2 || core.iter().map(|w| w.chars().count()).sum::<usize>() >= 6
}

/// Judges items by id from a catalog's own attribute values.
pub struct Judge<'a> {
    catalog: &'a Catalog,
    /// Eligible core titles → the catalog items bearing them.
    titles: HashMap<Vec<String>, Vec<u32>>,
    /// First word of an eligible core title → those titles.
    by_first: HashMap<String, Vec<Vec<String>>>,
}

impl<'a> Judge<'a> {
    /// A judge over `catalog`.
    pub fn new(catalog: &'a Catalog) -> Judge<'a> {
        let mut titles: HashMap<Vec<String>, Vec<u32>> = HashMap::new();
        for (i, item) in catalog.items().enumerate() {
            let (core, _) = core_title(item.title());
            if eligible(&core) {
                titles.entry(core).or_default().push(i as u32);
            }
        }
        let mut by_first: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for core in titles.keys() {
            by_first.entry(core[0].clone()).or_default().push(core.clone());
        }
        Judge { catalog, titles, by_first }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        self.catalog
    }

    fn attribute(&self, name: &str) -> Option<usize> {
        self.catalog.attributes().iter().position(|a| a.name == name)
    }

    fn value(&self, index: u32, attribute: usize) -> ValueRef<'a> {
        self.catalog
            .item(index)
            .and_then(|item| item.value(attribute))
            .unwrap_or(ValueRef::Missing)
    }

    /// Problems of `constraints` against the catalog (see `BenchSet::validate`).
    pub fn check_constraints(&self, constraints: &Constraints) -> Vec<String> {
        let mut problems = Vec::new();
        let mut value = |attribute: &str, v: &str| match self.attribute(attribute) {
            None => problems.push(format!("the catalog has no attribute {attribute:?}")),
            Some(a) => {
                let known = (0..self.catalog.len() as u32).any(|i| holds(self.value(i, a), v));
                if !known {
                    problems.push(format!("no catalog item has {attribute} = {v:?}"));
                }
            }
        };
        for c in &constraints.required {
            value(&c.attribute, &c.value);
        }
        for c in &constraints.excluded {
            value(&c.attribute, &c.value);
        }
        for c in &constraints.any_of {
            c.values.iter().for_each(|v| value(&c.attribute, v));
        }
        for c in &constraints.any_of {
            if c.values.len() < 2 {
                problems.push(format!("anyOf on {} needs at least two values", c.attribute));
            }
        }
        for r in &constraints.ranges {
            if self.attribute(&r.attribute).is_none() {
                problems.push(format!("the catalog has no attribute {:?}", r.attribute));
            }
            match (r.min, r.max) {
                (None, None) => problems.push(format!("range on {} has neither min nor max", r.attribute)),
                (Some(lo), Some(hi)) if lo > hi => problems.push(format!("range on {}: min {lo} > max {hi}", r.attribute)),
                _ => {}
            }
        }
        for id in &constraints.excluded_ids {
            if self.catalog.index_of(id).is_none() {
                problems.push(format!("excluded id {id:?} is not in the catalog"));
            }
        }
        problems
    }

    /// One sentence per constraint the item `id` breaks (empty: it meets
    /// them all). An id the catalog does not know breaks everything.
    pub fn violations(&self, id: &str, constraints: &Constraints) -> Vec<String> {
        let Some(index) = self.catalog.index_of(id) else {
            return vec![format!("id {id:?} is not in the catalog")];
        };
        let mut out = Vec::new();
        let named = |attribute: &str| self.attribute(attribute).map(|a| self.value(index, a)).unwrap_or(ValueRef::Missing);
        for r in &constraints.ranges {
            let value = named(&r.attribute);
            let broken = match (number(value), r.min, r.max) {
                (None, _, _) => Some("is not a number".to_string()),
                (Some(x), Some(lo), Some(hi)) if x < lo || x > hi => Some(format!("is outside {lo}–{hi}")),
                (Some(x), Some(lo), None) if x < lo => Some(format!("is below {lo}")),
                (Some(x), None, Some(hi)) if x > hi => Some(format!("is above {hi}")),
                _ => None,
            };
            if let Some(broken) = broken {
                out.push(format!("{} {} {broken}", r.attribute, shown(value)));
            }
        }
        for c in &constraints.required {
            if !holds(named(&c.attribute), &c.value) {
                out.push(format!("{} {} lacks required {}", c.attribute, shown(named(&c.attribute)), c.value));
            }
        }
        for c in &constraints.any_of {
            if !c.values.iter().any(|v| holds(named(&c.attribute), v)) {
                out.push(format!("{} {} has none of {}", c.attribute, shown(named(&c.attribute)), c.values.join(", ")));
            }
        }
        for c in &constraints.excluded {
            if holds(named(&c.attribute), &c.value) {
                out.push(format!("{} {} has excluded {}", c.attribute, shown(named(&c.attribute)), c.value));
            }
        }
        if constraints.excluded_ids.iter().any(|x| x == id) {
            out.push(format!("id {id} is excluded (the user named it)"));
        }
        out
    }

    /// How many catalog items meet every constraint.
    pub fn satisfying(&self, constraints: &Constraints) -> usize {
        self.catalog.items().filter(|item| self.violations(item.id(), constraints).is_empty()).count()
    }

    /// Catalog titles named in `text` (whole words, case- and
    /// accent-insensitive, `Title, The` found as "The Title" or "Title", a
    /// trailing `(…)` ignored; only titles of ≥ 2 words or ≥ 6 letters, and a
    /// one-word title only when written capitalised) that are neither among
    /// `items` (by id or by core title) nor named in `request` (the user's
    /// own words). A title inside a longer title found at the same place
    /// counts as the longer one only.
    pub fn grounding_errors(&self, text: &str, items: &[ReturnedItem], request: &str) -> Vec<String> {
        let text_words = words(text);
        let request_words: Vec<String> = words(request).into_iter().map(|(w, _)| w).collect();
        let mut spans: Vec<(usize, usize, &Vec<String>)> = Vec::new();
        for start in 0..text_words.len() {
            for core in self.by_first.get(&text_words[start].0).into_iter().flatten() {
                let end = start + core.len();
                let same = end <= text_words.len() && text_words[start..end].iter().zip(core).all(|((w, _), c)| w == c);
                if same && (core.len() > 1 || text_words[start].1) {
                    spans.push((start, end, core));
                }
            }
        }
        let inside = |s: &(usize, usize, &Vec<String>)| spans.iter().any(|o| o.0 <= s.0 && s.1 <= o.1 && (o.1 - o.0) > (s.1 - s.0));
        let returned: HashSet<Vec<String>> = items
            .iter()
            .map(|i| match self.catalog.index_of(&i.id).and_then(|x| self.catalog.item(x)) {
                Some(item) => core_title(item.title()).0,
                None => core_title(&i.title).0,
            })
            .collect();
        let ids: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let mut errors: Vec<String> = Vec::new();
        for span in spans.iter().filter(|s| !inside(s)) {
            let core = span.2;
            let bearers = self.titles.get(core).map(Vec::as_slice).unwrap_or(&[]);
            let grounded = returned.contains(core)
                || bearers.iter().any(|&x| self.catalog.item(x).is_some_and(|item| ids.contains(item.id())));
            let said_by_user = request_words.windows(core.len()).any(|w| w == core.as_slice());
            let title = bearers.first().and_then(|&x| self.catalog.item(x)).map_or_else(|| core.join(" "), |i| i.title().to_string());
            if !grounded && !said_by_user && !errors.contains(&title) {
                errors.push(title);
            }
        }
        errors
    }

    /// Duplicate items, one sentence each: the same id twice, or two ids
    /// with the same core title and the same `release_year` (ML-100K lists
    /// some films twice; remakes with the year apart are not duplicates).
    pub fn duplicates(&self, items: &[ReturnedItem]) -> Vec<String> {
        let year = self.attribute("release_year");
        let mut ids: HashSet<&str> = HashSet::new();
        let mut titles: HashMap<(Vec<String>, String), &str> = HashMap::new();
        let mut out = Vec::new();
        for item in items {
            if !ids.insert(&item.id) {
                out.push(format!("id {} twice", item.id));
                continue;
            }
            let index = self.catalog.index_of(&item.id);
            let title = index.and_then(|x| self.catalog.item(x)).map_or(item.title.as_str(), |i| i.title());
            let y = match (index, year) {
                (Some(x), Some(a)) => shown(self.value(x, a)),
                _ => String::new(),
            };
            if let Some(first) = titles.insert((core_title(title).0, y), &item.id) {
                out.push(format!("{title:?} twice (ids {first} and {})", item.id));
            }
        }
        out
    }
}

/// Whether an attribute value holds `v` (a tag, or the text, or the number;
/// case-insensitive).
fn holds(value: ValueRef<'_>, v: &str) -> bool {
    match value {
        ValueRef::Tags(tags) => tags.iter().any(|t| t.eq_ignore_ascii_case(v)),
        ValueRef::Text(t) => t.eq_ignore_ascii_case(v),
        ValueRef::Number(x) => v.trim().parse::<f64>().is_ok_and(|y| y == x),
        ValueRef::Missing => false,
    }
}

/// A value as a number (a number, or a text holding one).
fn number(value: ValueRef<'_>) -> Option<f64> {
    match value {
        ValueRef::Number(x) => Some(x),
        ValueRef::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// A value for a message.
fn shown(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Number(x) => x.to_string(),
        ValueRef::Text(t) => t.to_string(),
        ValueRef::Tags(t) => format!("[{}]", t.join(" ")),
        ValueRef::Missing => "(missing)".into(),
    }
}

/// Scores one answer to `request`.
pub fn score(judge: &Judge<'_>, request: &BenchRequest, answered: &Answered) -> RequestScore {
    let c = &request.constraints;
    let top: Vec<ItemVerdict> = answered
        .items
        .iter()
        .take(TOP)
        .map(|item| ItemVerdict {
            id: item.id.clone(),
            title: judge
                .catalog
                .index_of(&item.id)
                .and_then(|x| judge.catalog.item(x))
                .map_or_else(|| item.title.clone(), |i| i.title().to_string()),
            violations: judge.violations(&item.id, c),
        })
        .collect();
    let good: HashSet<&str> = top.iter().filter(|v| v.violations.is_empty()).map(|v| v.id.as_str()).collect();
    let satisfiable = judge.satisfying(c);
    let denominator = satisfiable.min(TOP);
    let malformed = match &answered.error {
        Some(e) => Some(format!("ask failed: {e}")),
        None => malformed(&answered.text),
    };
    RequestScore {
        id: request.id.clone(),
        text: request.text.clone(),
        kinds: request.kinds.clone(),
        satisfaction: (denominator > 0).then(|| good.len() as f64 / denominator as f64),
        satisfiable,
        top,
        malformed,
        grounding: judge.grounding_errors(&answered.text, &answered.items, &request.text),
        duplicates: judge.duplicates(&answered.items),
        fallback: answered.fallback.clone(),
        question: answered.question.clone(),
        seconds: answered.seconds,
        answer: answered.text.chars().take(300).collect(),
    }
}
