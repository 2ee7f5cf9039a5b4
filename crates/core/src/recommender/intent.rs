//! The recommender's side of request understanding: the catalog's intent
//! parser (built on first use, rebuilt when items are added or removed),
//! word embeddings for near-synonyms (cached), and ranking under an
//! intent's hard constraints with stated relaxation.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::Recommender;
use crate::catalog::{Catalog, ValueRef};
use crate::error::Result;
use crate::intent::titles::normalize_title;
use crate::intent::{proposal, Intent, IntentParser, Relax, Vocabulary};
use crate::profile::UserProfile;
use crate::ranking::{self, Filters, RankRequest, Recommendation};

/// Most word embeddings kept between requests.
const WORD_CACHE: usize = 4096;

/// What [`Recommender::rank_intent`] takes besides the intent.
#[derive(Debug, Clone, Default)]
pub struct IntentRankOptions {
    /// How many items (1..=50).
    pub k: usize,
    /// Text to embed instead of the intent's remainder (a model's query).
    pub query: Option<String>,
    /// More filters (a model's); they only narrow, and are relaxed first.
    pub extra: Filters,
    /// 0..=1, see [`RankRequest::diversity`].
    pub diversity: Option<f32>,
    /// Rank for the user (profile) or for anyone (search).
    pub personal: bool,
}

/// One ranked item of an intent ranking.
#[derive(Debug, Clone)]
pub struct IntentItem {
    /// The recommendation.
    pub rec: Recommendation,
    /// What it does not meet (empty when it meets every constraint).
    pub relaxed: Vec<String>,
    /// Why it is here, naming the constraints it meets or the liked item.
    pub reason: String,
}

/// The result of ranking under an intent.
#[derive(Debug, Clone, Default)]
pub struct IntentRanking {
    /// Items, those meeting every constraint first.
    pub items: Vec<IntentItem>,
    /// How many meet every constraint.
    pub strict: usize,
    /// A sentence when constraints were relaxed, saying which.
    pub note: Option<String>,
}

/// The parser and its caches.
#[derive(Default)]
pub(super) struct IntentState {
    parser: Option<IntentParser>,
    words: HashMap<String, Vec<f32>>,
}

impl IntentState {
    /// Forgets the parser (the catalog changed).
    pub(super) fn invalidate(&mut self) {
        self.parser = None;
    }
}

/// A title without article, year or case, for deduplication.
pub fn title_key(title: &str) -> String {
    normalize_title(title).0.join(" ")
}

impl Recommender {
    fn with_parser<T>(&self, f: impl FnOnce(&IntentParser, &mut HashMap<String, Vec<f32>>) -> T) -> T {
        let mut state = self.intent.borrow_mut();
        let state = &mut *state;
        if state.parser.is_none() {
            let mut parser = IntentParser::new(Vocabulary::from_catalog(&self.catalog));
            if let Some(encoder) = &self.text {
                if let Ok(vectors) = encoder.embed_batch(&parser.value_texts()) {
                    parser.set_value_embeddings(vectors);
                }
            }
            state.parser = Some(parser);
        }
        let parser = state.parser.get_or_insert_with(|| IntentParser::new(Vocabulary::from_catalog(&self.catalog)));
        f(parser, &mut state.words)
    }

    /// Reads a request into an [`Intent`] over this catalog (see
    /// [`crate::intent`]). Near-synonyms need the text model; without it
    /// only word forms are matched.
    pub fn understand(&self, request: &str) -> Intent {
        let encoder = self.text.clone();
        self.with_parser(|parser, cache| {
            let cache = std::cell::RefCell::new(cache);
            let embed = |texts: &[String]| -> Result<Vec<Vec<f32>>> {
                let Some(encoder) = &encoder else { return Ok(Vec::new()) };
                let mut cache = cache.borrow_mut();
                let missing: Vec<String> = texts.iter().filter(|t| !cache.contains_key(*t)).cloned().collect();
                if !missing.is_empty() {
                    let vectors = encoder.embed_batch(&missing)?;
                    if cache.len() + missing.len() > WORD_CACHE {
                        cache.clear();
                    }
                    cache.extend(missing.into_iter().zip(vectors));
                }
                Ok(texts.iter().map(|t| cache.get(t).cloned().unwrap_or_default()).collect())
            };
            parser.parse(request, Some(&embed))
        })
    }

    /// The JSON schema and instructions an LLM gets to propose an intent.
    pub fn intent_schema(&self) -> (Value, String) {
        self.with_parser(|p, _| (proposal::schema(p.vocab()), proposal::instructions(p.vocab())))
    }

    /// Merges an LLM's proposal into the device's intent (see
    /// [`proposal::merge`]); returns the merged intent and what was refused.
    pub fn merge_intent(&self, device: &Intent, request: &str, proposal: &Value) -> (Intent, Vec<String>) {
        self.with_parser(|p, _| proposal::merge(p.vocab(), device, request, proposal))
    }

    /// Ranks under `intent`: every hard constraint holds for the first
    /// items; when fewer than `k` items meet them all, the constraints are
    /// relaxed in a stated order (the model's extra filters, then the
    /// categories read from the free text by similarity, then any-of
    /// groups — never exclusions or stated ranges) and the rest of the list
    /// is filled from there, with a note saying so. Liked items seed the
    /// query; results are unique by id and by title.
    pub fn rank_intent(&self, intent: &Intent, options: &IntentRankOptions) -> Result<IntentRanking> {
        let k = options.k.clamp(1, 50);
        let query = self.intent_query(intent, options.query.as_deref())?;
        let empty = UserProfile::new();
        let profile = if options.personal { &self.profile } else { &empty };
        let mut out = IntentRanking::default();
        let mut ids: HashSet<String> = HashSet::new();
        let mut titles: HashSet<String> = HashSet::new();
        for (level, relax) in [(0, Relax::None), (1, Relax::None), (2, Relax::Model), (3, Relax::FreeText), (4, Relax::AnyOf)] {
            if out.items.len() >= k {
                break;
            }
            let mut filters = intent.filters(relax);
            if level == 0 {
                filters.predicates.extend(options.extra.predicates.iter().cloned());
                filters.exclude_ids.extend(options.extra.exclude_ids.iter().cloned());
            }
            if level == 1 && options.extra == Filters::default() {
                continue;
            }
            filters.exclude_ids.extend(ids.iter().cloned());
            let request = RankRequest {
                k: (k - out.items.len() + 10).min(self.catalog.len().max(1)),
                query_text: Some(intent.text.clone()).filter(|t| !t.is_empty()),
                query: query.clone(),
                filters,
                diversity: options.diversity,
                explore: 0.0,
                seed: Some(0),
                photo: None,
            };
            let list = ranking::rank(&self.catalog, profile, &request, &self.weights)?;
            let dropped = if level <= 1 { Vec::new() } else { intent.relaxed_labels(relax) };
            for rec in list {
                if out.items.len() >= k {
                    break;
                }
                let Some(item) = self.catalog.item(rec.index) else { continue };
                if !ids.insert(item.id().to_string()) || !titles.insert(title_key(item.title())) {
                    continue;
                }
                let relaxed: Vec<String> = if level == 0 { Vec::new() } else { missed(intent, &options.extra, &self.catalog, rec.index, &dropped) };
                let reason = reason(intent, &self.catalog, rec.index, &relaxed).unwrap_or_else(|| rec.explanation.summary.clone());
                out.items.push(IntentItem { rec, relaxed, reason });
            }
            if level == 0 {
                out.strict = out.items.len();
            }
        }
        if out.strict < out.items.len() || out.strict < k && intent.has_constraints() {
            let mut dropped: Vec<String> = Vec::new();
            for i in &out.items {
                for d in &i.relaxed {
                    if !dropped.contains(d) {
                        dropped.push(d.clone());
                    }
                }
            }
            let plural = |n: usize| if n == 1 { ("item", "meets") } else { ("items", "meet") };
            out.note = Some(match (out.strict, dropped.is_empty()) {
                (0, true) => "Nothing in the catalog meets everything you asked.".to_string(),
                (0, false) => format!("Nothing meets everything you asked, so I dropped {}.", dropped.join(", ")),
                (n, true) => format!("Only {n} {} {} everything you asked.", plural(n).0, plural(n).1),
                (n, false) => format!("Only {n} {} {} everything you asked; to show more, I dropped {}.", plural(n).0, plural(n).1, dropped.join(", ")),
            });
        }
        Ok(out)
    }

    /// The query vector: the remainder text (or `query`) and the liked
    /// items' text embeddings, averaged; `None` when there is neither.
    fn intent_query(&self, intent: &Intent, query: Option<&str>) -> Result<Option<Vec<f32>>> {
        let Some(space) = self.catalog.text_embeddings() else { return Ok(None) };
        let mut sum = vec![0.0f32; space.dim()];
        let mut parts = 0usize;
        let text = query.map(str::trim).filter(|q| !q.is_empty()).unwrap_or(intent.text.trim());
        if !text.is_empty() && self.text.is_some() {
            // `understand` embedded the free text with its words: reuse it.
            let cached = self.intent.borrow().words.get(text).cloned();
            let v = match cached {
                Some(v) => v,
                None => self.embed_query(text)?,
            };
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
            parts += 1;
        }
        let seeds: Vec<Vec<f32>> = intent
            .liked_ids()
            .iter()
            .filter_map(|id| self.catalog.index_of(id))
            .filter_map(|i| space.row(i as usize))
            .collect();
        if !seeds.is_empty() {
            let w = 1.0 / seeds.len() as f32;
            for s in &seeds {
                sum.iter_mut().zip(s).for_each(|(a, x)| *a += w * x);
            }
            parts += 1;
        }
        if parts == 0 {
            return Ok(None);
        }
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm <= f32::EPSILON || !norm.is_finite() {
            return Ok(None);
        }
        Ok(Some(sum.into_iter().map(|x| x / norm).collect()))
    }
}

fn value_of<'a>(catalog: &'a Catalog, index: u32, attribute: &str) -> Option<ValueRef<'a>> {
    catalog.value(index, attribute)
}

fn has(catalog: &Catalog, index: u32, attribute: &str, value: &str) -> bool {
    let v = value.to_lowercase();
    match value_of(catalog, index, attribute) {
        Some(ValueRef::Tags(t)) => t.iter().any(|x| x.to_lowercase() == v),
        Some(ValueRef::Text(t)) => t.to_lowercase() == v,
        _ => false,
    }
}

fn number(catalog: &Catalog, index: u32, attribute: &str) -> Option<f64> {
    match value_of(catalog, index, attribute) {
        Some(ValueRef::Number(n)) => Some(n),
        Some(ValueRef::Text(t)) => t.trim().parse().ok(),
        _ => None,
    }
}

/// Which of the dropped constraints item `index` does not meet.
fn missed(intent: &Intent, extra: &Filters, catalog: &Catalog, index: u32, dropped: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for c in &intent.required {
        if !has(catalog, index, &c.attribute, &c.value) && dropped.contains(&c.value) {
            out.push(c.value.clone());
        }
    }
    for g in &intent.any_of {
        let label = g.values.join(" or ");
        if !g.values.iter().any(|v| has(catalog, index, &g.attribute, v)) && dropped.contains(&label) {
            out.push(label);
        }
    }
    for c in &intent.excluded {
        let label = format!("not {}", c.value);
        if has(catalog, index, &c.attribute, &c.value) && dropped.contains(&label) {
            out.push(label);
        }
    }
    if !extra.predicates.is_empty() && extra.predicates.iter().any(|p| p.compile(catalog).is_ok_and(|c| !c.matches(catalog, index))) {
        out.push("the model's filters".to_string());
    }
    out
}

/// Why item `index` is in the list, in the intent's terms: the values it
/// has that the request asked for, its value on each stated range, and the
/// liked items it was found from; `None` when the intent says nothing.
pub fn reason(intent: &Intent, catalog: &Catalog, index: u32, relaxed: &[String]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in &intent.required {
        if has(catalog, index, &c.attribute, &c.value) {
            parts.push(c.value.clone());
        }
    }
    for g in &intent.any_of {
        parts.extend(g.values.iter().filter(|v| has(catalog, index, &g.attribute, v)).cloned());
    }
    for r in &intent.ranges {
        if let Some(n) = number(catalog, index, &r.attribute) {
            parts.push(crate::catalog::attributes::format_float(n));
        }
    }
    if !intent.excluded.is_empty() && relaxed.is_empty() {
        let not: Vec<&str> = intent.excluded.iter().map(|c| c.value.as_str()).collect();
        parts.push(format!("no {}", not.join(", ")));
    }
    let liked: Vec<String> = intent
        .items
        .iter()
        .filter(|m| m.kind == crate::intent::MentionKind::Liked)
        .map(|m| crate::intent::titles::display_title(&m.title))
        .collect();
    let mut text = parts.join(" · ");
    if !liked.is_empty() {
        let like = format!("close to {}, which you liked", liked.join(" and "));
        text = if text.is_empty() { capitalize(&like) } else { format!("{text} — {like}") };
    }
    if !relaxed.is_empty() {
        let r = format!("not {}: added because too few items meet everything", relaxed.join(", ").replace("not not ", ""));
        text = if text.is_empty() { capitalize(&r) } else { format!("{text} ({r})") };
    }
    (!text.is_empty()).then_some(text)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
