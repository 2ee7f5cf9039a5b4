//! The on-device recommender: a [`Catalog`], the encoders, and one
//! [`UserProfile`], with the operations the JS API exposes. Items added at
//! run time (with an optional photo) and search by photo are in [`items`].

pub mod engine_items;
pub mod intent;
pub mod items;
mod photo;

pub use self::photo::Photo;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::catalog::{AttributeKind, Catalog, ModelFingerprint, ValueRef};
use crate::encoder::{ImageEncoder, TextEncoder};
use crate::error::{Error, Result};
use crate::profile::{Event, EventKind, Statement, UserProfile};
use crate::catalog::attributes::is_category_name;
use crate::ranking::filter::words;
use crate::ranking::{self, Filters, Predicate, RankRequest, Recommendation, ScoreWeights};

/// What `recommend` takes (the JS options object).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendOptions {
    /// How many items (default 10, at most 1000).
    #[serde(default)]
    pub k: Option<usize>,
    /// Free-text query, embedded on the device.
    #[serde(default)]
    pub query: Option<String>,
    /// Filters.
    #[serde(default)]
    pub filters: Filters,
    /// 0..=1, see [`RankRequest::diversity`].
    #[serde(default)]
    pub diversity: Option<f32>,
    /// 0..=1, see [`RankRequest::explore`].
    #[serde(default)]
    pub explore: Option<f32>,
    /// Seed for exploration (reproducible lists).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// An event as the app reports it: an item id, what happened, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Observation {
    /// A typed event on an item.
    Item {
        /// Item id.
        item: String,
        /// What happened (`{"type": "like"}` flattened into the object).
        #[serde(flatten)]
        kind: EventKind,
        /// Milliseconds since the Unix epoch (default: now).
        #[serde(default)]
        time: Option<f64>,
    },
    /// An explicit statement in the user's words, e.g. "no horror".
    Statement {
        /// Must be `"statement"`.
        #[serde(rename = "type")]
        kind: StatementTag,
        /// The user's words.
        text: String,
    },
}

/// The tag of a statement observation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementTag {
    /// `"statement"`.
    Statement,
}

/// The on-device recommender (see the module docs).
pub struct Recommender {
    catalog: Catalog,
    /// Shared by `Rc` with memory (a [`crate::session::Session`] gives it
    /// out as memory's embedder): one model in memory, no back-link.
    text: Option<Rc<TextEncoder>>,
    /// Fingerprint of the text model (stored with added items' embeddings).
    text_model: Option<ModelFingerprint>,
    image: Option<ImageEncoder>,
    /// Fingerprint of the image model.
    image_model: Option<ModelFingerprint>,
    profile: UserProfile,
    weights: ScoreWeights,
    /// Lower-cased categorical tags: (normalized tag, attribute, original tag).
    tags: Vec<(String, String, String)>,
    /// The intent parser (built on first use) and its word cache.
    intent: RefCell<intent::IntentState>,
    /// Records a candidate engine returned lately ([`engine_items`]).
    engine_items: engine_items::EngineItems,
    /// A query text and its embedding made before this (working) recommender
    /// existed, returned by `embed_query` for that text.
    embedded_query: Option<(String, Vec<f32>)>,
}

fn normalize(word: &str) -> String {
    word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl Recommender {
    /// A recommender over `catalog`. When a text encoder is given and the
    /// catalog records which model its text embeddings came from,
    /// `text_model_bytes` must be that model.
    pub fn new(catalog: Catalog, text: Option<(TextEncoder, &[u8])>) -> Result<Self> {
        let text_model = text.as_ref().map(|(_, bytes)| ModelFingerprint::of(bytes));
        let text = match text {
            Some((encoder, bytes)) => {
                if let Some(expected) = catalog.text_model() {
                    if *expected != ModelFingerprint::of(bytes) {
                        return Err(Error::InvalidInput(
                            "the text model differs from the one the catalog was built with; \
                             queries would not match item embeddings"
                                .into(),
                        ));
                    }
                }
                if let Some(t) = catalog.text_embeddings() {
                    if t.dim() != encoder.dim() {
                        return Err(Error::InvalidInput(format!(
                            "text model width {} differs from the catalog's {}",
                            encoder.dim(),
                            t.dim()
                        )));
                    }
                }
                Some(Rc::new(encoder))
            }
            None => None,
        };
        let tags = categorical_tags(&catalog);
        Ok(Self {
            catalog,
            text,
            text_model,
            image: None,
            image_model: None,
            profile: UserProfile::new(),
            weights: ScoreWeights::default(),
            tags,
            intent: RefCell::new(intent::IntentState::default()),
            engine_items: engine_items::EngineItems::default(),
            embedded_query: None,
        })
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The user profile.
    pub fn profile(&self) -> &UserProfile {
        &self.profile
    }

    /// Replaces the user profile (e.g. restored from a snapshot).
    pub fn set_profile(&mut self, profile: UserProfile) {
        self.profile = profile;
    }

    /// Blend weights in use.
    pub fn weights_mut(&mut self) -> &mut ScoreWeights {
        &mut self.weights
    }

    /// Records an observation; `now_ms` is used when it carries no time.
    /// Items must exist in the catalog or be records a candidate engine
    /// returned lately ([`Recommender::knows_item`]). Returns the statement recorded, if
    /// the observation was one.
    pub fn observe(&mut self, observation: Observation, now_ms: f64) -> Result<Option<Statement>> {
        match observation {
            Observation::Item { item, kind, time } => {
                if !self.knows_item(&item) {
                    self.catalog.require(&item)?;
                }
                self.profile.observe(Event {
                    item,
                    kind,
                    time_ms: time.unwrap_or(now_ms),
                })?;
                Ok(None)
            }
            Observation::Statement { text, .. } => {
                let statement = self.parse_statement(&text)?;
                self.profile.state(statement.clone());
                Ok(Some(statement))
            }
        }
    }

    /// Turns the user's words into a [`Statement`]: "no horror", "not
    /// horror", "without …", "avoid …", "hate …", "don't like …" name a
    /// catalog tag → hard exclusion; a negative phrase about anything else →
    /// soft avoid; any other text → soft prefer. Soft statements need the
    /// text model.
    pub fn parse_statement(&self, text: &str) -> Result<Statement> {
        let lower = text.trim().to_lowercase();
        if lower.is_empty() {
            return Err(Error::InvalidInput("an empty statement".into()));
        }
        const NEGATIONS: &[&str] = &[
            "no more ", "no ", "not ", "without ", "avoid ", "hate ", "i hate ", "don't like ",
            "dont like ", "i don't like ", "i dont like ", "never ", "stop showing ", "less ",
        ];
        let negated = NEGATIONS.iter().find_map(|n| lower.strip_prefix(n)).map(str::trim);
        if let Some(object) = negated {
            let object_words: Vec<String> = words(object)
                .filter(|w| !["movies", "movie", "films", "film", "please", "anymore", "stuff", "items"].contains(&w.as_str()))
                .collect();
            let phrase = normalize(&object_words.join(""));
            for candidate in [phrase.clone(), singular(&phrase)] {
                if let Some((_, attribute, tag)) = self.tags.iter().find(|(n, _, _)| *n == candidate) {
                    return Ok(Statement::Exclude {
                        attribute: attribute.clone(),
                        value: tag.clone(),
                        source: text.trim().to_string(),
                    });
                }
            }
            return Ok(Statement::Avoid {
                text: object.to_string(),
                embedding: self.embed_query(object)?,
            });
        }
        Ok(Statement::Prefer {
            text: text.trim().to_string(),
            embedding: self.embed_query(text.trim())?,
        })
    }

    /// The text encoder, when one was given.
    pub fn text_encoder(&self) -> Option<&TextEncoder> {
        self.text.as_deref()
    }

    /// The text encoder as a shared handle, for memory to embed with the
    /// same model (see [`crate::session::Session::start`]).
    pub fn shared_text_encoder(&self) -> Option<Rc<TextEncoder>> {
        self.text.clone()
    }

    /// Embeds a query with the text model.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let encoder = self.text.as_ref().ok_or_else(|| {
            Error::InvalidInput("text queries and statements need a text model (textModel and vocab)".into())
        })?;
        if self.catalog.text_embeddings().is_none() {
            return Err(Error::InvalidInput("the catalog has no text embeddings to query".into()));
        }
        if let Some((done, vector)) = &self.embedded_query {
            if done == text {
                return Ok(vector.clone());
            }
        }
        encoder.embed(text)
    }

    /// Splits a free-text query into what to look for and what to leave
    /// out: each negated catalog tag ("not animated", "no horror", "without
    /// musicals") becomes a `not` predicate on its attribute and is removed
    /// from the text, so the embedding is not pulled towards what the user
    /// refused. A negated word matches a tag when their normalized forms are
    /// equal, equal after a plural `s`, or share a stem of at least 5 letters
    /// ("animated" ~ "Animation", "romantic" ~ "Romance").
    pub fn query_exclusions(&self, query: &str) -> (String, Vec<Predicate>) {
        const NEGATIONS: &[&str] = &["not", "no", "without", "nothing", "except", "non", "never"];
        const FILLER: &[&str] = &["a", "an", "any", "too", "so", "very", "really", "more", "the"];
        let tokens: Vec<&str> = query.split_whitespace().collect();
        let mut dropped = vec![false; tokens.len()];
        let mut predicates: Vec<Predicate> = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            if !NEGATIONS.contains(&normalize(t).as_str()) {
                continue;
            }
            let mut j = i + 1;
            while tokens.get(j).is_some_and(|w| FILLER.contains(&normalize(w).as_str())) {
                j += 1;
            }
            let Some(word) = tokens.get(j).map(|w| normalize(w)) else { continue };
            // Only category attributes (genres, …): not title words.
            let found = self.tags.iter().find(|(n, a, _)| is_category_name(a) && tag_matches(&word, n));
            let Some((_, attribute, tag)) = found else { continue };
            if !predicates.iter().any(|p| p.attribute == *attribute && p.not.as_deref() == Some(tag)) {
                predicates.push(Predicate {
                    attribute: attribute.clone(),
                    not: Some(tag.clone()),
                    ..Predicate::default()
                });
            }
            dropped[i..=j].iter_mut().for_each(|d| *d = true);
        }
        let kept: Vec<&str> = tokens
            .iter()
            .zip(&dropped)
            .filter(|(_, d)| !**d)
            .map(|(t, _)| *t)
            .collect();
        let text = kept.join(" ");
        let text = text.trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace()).to_string();
        (text, predicates)
    }

    /// Ranks the catalog for the current profile. A query's negated catalog
    /// tags become exclusions ([`Recommender::query_exclusions`]).
    pub fn recommend(&self, options: &RecommendOptions) -> Result<Vec<Recommendation>> {
        let request = self.rank_request(options)?;
        ranking::rank(&self.catalog, &self.profile, &request, &self.weights)
    }

    /// The ranking request for `options` (the query embedded, its negated
    /// tags turned into filters); no photo.
    fn rank_request(&self, options: &RecommendOptions) -> Result<RankRequest> {
        let k = options.k.unwrap_or(10);
        if k > 1000 {
            return Err(Error::InvalidInput(format!("k = {k}; at most 1000 items per call")));
        }
        let mut filters = options.filters.clone();
        let query_text = match options.query.as_deref().map(str::trim) {
            Some(q) if !q.is_empty() => {
                let (text, exclusions) = self.query_exclusions(q);
                filters.predicates.extend(exclusions);
                Some(if text.is_empty() && filters.predicates.is_empty() { q.to_string() } else { text })
            }
            _ => None,
        }
        .filter(|q| !q.is_empty());
        let query = match &query_text {
            Some(q) => Some(self.embed_query(q)?),
            None => None,
        };
        let request = RankRequest {
            k,
            query_text,
            query,
            filters,
            diversity: options.diversity,
            explore: options.explore.unwrap_or(0.0),
            seed: options.seed,
            photo: None,
        };
        Ok(request)
    }
}

/// Whether a normalized query word names the normalized tag `tag`.
fn tag_matches(word: &str, tag: &str) -> bool {
    if word.is_empty() || tag.is_empty() {
        return false;
    }
    if word == tag || singular(word) == tag || singular(word) == singular(tag) {
        return true;
    }
    let common = word.chars().zip(tag.chars()).take_while(|(a, b)| a == b).count();
    common >= 5
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix('s') {
        stem.to_string()
    } else {
        word.to_string()
    }
}

/// Tags of categorical attributes (tag sets, and text attributes whose name
/// says they hold categories), normalized for matching statements.
fn categorical_tags(catalog: &Catalog) -> Vec<(String, String, String)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    // Category-named attributes first, so "no horror" excludes the genre
    // Horror rather than a title word (ML-100K's titles are tag lists too).
    let mut order: Vec<(usize, &crate::catalog::AttributeDef)> = catalog.attributes().iter().enumerate().collect();
    order.sort_by_key(|(_, def)| !def.is_category());
    for (a, def) in order {
        let text_category = def.kind == AttributeKind::Text && def.is_category();
        if def.kind != AttributeKind::Tags && !text_category {
            continue;
        }
        for item in catalog.items() {
            let tags: Vec<&str> = match item.value(a) {
                Some(ValueRef::Tags(t)) => t.iter().collect(),
                Some(ValueRef::Text(t)) => t.split_whitespace().collect(),
                _ => continue,
            };
            for t in tags {
                let n = normalize(t);
                if !n.is_empty() && seen.insert((n.clone(), def.name.clone())) {
                    out.push((n, def.name.clone(), t.to_string()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{AttributeDef, AttributeValue, CatalogParts, Item};

    #[test]
    fn statements_prefer_category_attributes_over_title_words() {
        let tags = |t: &[&str]| AttributeValue::Tags(t.iter().map(|s| s.to_string()).collect());
        let item = |id: &str, title: &[&str], class: &[&str]| Item {
            id: id.into(),
            title: title.join(" "),
            text: title.join(" "),
            image: None,
            values: vec![tags(title), tags(class)],
        };
        let catalog = Catalog::new(CatalogParts {
            attributes: vec![
                AttributeDef { name: "movie_title".into(), kind: AttributeKind::Tags },
                AttributeDef { name: "class".into(), kind: AttributeKind::Tags },
            ],
            items: vec![
                item("1", &["Rocky", "Horror", "Picture", "Show"], &["Comedy"]),
                item("2", &["Scream"], &["Horror"]),
            ],
            ..Default::default()
        })
        .unwrap();
        let r = Recommender::new(catalog, None).unwrap();
        let (text, not) = r.query_exclusions("a scary film, not horror, no Rocky");
        assert_eq!(text, "a scary film, no Rocky");
        assert_eq!(not.len(), 1, "{not:?}");
        assert_eq!((not[0].attribute.as_str(), not[0].not.as_deref()), ("class", Some("Horror")));
        let (text, not) = r.query_exclusions("comedies without any horrors please");
        assert_eq!((text.as_str(), not.len()), ("comedies please", 1));
        assert_eq!(r.query_exclusions("not bad at all").1, vec![]);
        assert!(tag_matches("animated", "animation") && tag_matches("romantic", "romance"));
        assert!(!tag_matches("star", "starring") && !tag_matches("", "x"));
        match r.parse_statement("no horror").unwrap() {
            Statement::Exclude { attribute, value, .. } => {
                assert_eq!((attribute.as_str(), value.as_str()), ("class", "Horror"));
            }
            other => panic!("{other:?}"),
        }
    }
}
