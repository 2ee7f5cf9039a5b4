//! The candidate source: an outside engine (a vector database) that holds a
//! catalog too large for the device and answers "which items are near this
//! public vector, under these public conditions" with public records.
//!
//! The types here are engine-neutral. A [`CandidateQuery`] is made only by
//! the one outbound builder (`agent::outbound::build_candidate_query`),
//! which reads the privacy class of every part; a source sends exactly what
//! the query holds. [`MemoryCandidateSource`] is the in-memory twin for
//! tests: exact cosine search over records it was given, the same
//! conditions, and a record of every query it received.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::LocalBoxFuture;
use crate::error::Result;

/// One condition on a record's metadata field. Fields are the engine's
/// field names (the record layout decides them); values compare exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "op")]
pub enum FieldCondition {
    /// The field (an array of strings) contains `value`.
    Contains {
        /// Field name.
        field: String,
        /// The element.
        value: String,
    },
    /// The field does not contain `value` (a record without the field passes).
    NotContains {
        /// Field name.
        field: String,
        /// The element.
        value: String,
    },
    /// The field contains at least one of `values`.
    ContainsAny {
        /// Field name.
        field: String,
        /// The elements (at least one).
        values: Vec<String>,
    },
    /// The field is a number ≥ `value`.
    AtLeast {
        /// Field name.
        field: String,
        /// Inclusive bound.
        value: f64,
    },
    /// The field is a number ≤ `value`.
    AtMost {
        /// Field name.
        field: String,
        /// Inclusive bound.
        value: f64,
    },
}

impl FieldCondition {
    /// Whether a record's metadata satisfies the condition (the semantics
    /// every adapter must reproduce).
    pub fn matches(&self, metadata: &Map<String, Value>) -> bool {
        let has = |field: &str, v: &str| {
            metadata
                .get(field)
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|e| e.as_str() == Some(v)))
        };
        let number = |field: &str| metadata.get(field).and_then(Value::as_f64);
        match self {
            FieldCondition::Contains { field, value } => has(field, value),
            FieldCondition::NotContains { field, value } => !has(field, value),
            FieldCondition::ContainsAny { field, values } => values.iter().any(|v| has(field, v)),
            FieldCondition::AtLeast { field, value } => number(field).is_some_and(|n| n >= *value),
            FieldCondition::AtMost { field, value } => number(field).is_some_and(|n| n <= *value),
        }
    }
}

/// The vectors a query searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorSpace {
    /// The catalog's text space (cosine): a request's embedding, or the
    /// user's recent items averaged.
    Text,
    /// The sequence model's item space (inner product): each item's output
    /// vector with its bias appended, searched with the user vector with a
    /// 1 appended, so the nearest are the model's best-scored items.
    Sequence,
}

/// What a candidate source is asked. Made only by the outbound builder, so
/// that nothing reaches an engine without its privacy class being read;
/// the getters are what adapters send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateQuery {
    vector: Option<Vec<f32>>,
    space: VectorSpace,
    ids: Vec<String>,
    conditions: Vec<FieldCondition>,
    limit: usize,
}

/// The most candidates one query may ask for.
pub const MAX_CANDIDATES: usize = 5_000;

impl CandidateQuery {
    /// For the outbound builder only (see the type's docs).
    pub(crate) fn from_built(vector: Option<(Vec<f32>, VectorSpace)>, ids: Vec<String>, conditions: Vec<FieldCondition>, limit: usize) -> Self {
        let (vector, space) = match vector {
            Some((v, space)) => (Some(v), space),
            None => (None, VectorSpace::Text),
        };
        Self {
            vector,
            space,
            ids,
            conditions,
            limit: limit.min(MAX_CANDIDATES),
        }
    }

    /// The vector to search near (already cleared for this endpoint), if any.
    pub fn vector(&self) -> Option<&[f32]> {
        self.vector.as_deref()
    }

    /// The space the vector is in.
    pub fn space(&self) -> VectorSpace {
        self.space
    }

    /// Records to fetch by id, when there is no vector (a public list).
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Conditions every returned record must meet.
    pub fn conditions(&self) -> &[FieldCondition] {
        &self.conditions
    }

    /// How many records at most (1..=[`MAX_CANDIDATES`]).
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// One record an engine returned: the public fields of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The item id.
    pub id: String,
    /// The record's document (the item text), if stored.
    pub document: Option<String>,
    /// Public metadata fields.
    pub metadata: Map<String, Value>,
    /// The item's vector in the catalog's text space.
    pub vector: Vec<f32>,
    /// The item's rows of the sequence model when the engine has them:
    /// output vector, bias, then input vector (`2·dim + 1` values; an
    /// engine's sequence space alone gives the first `dim + 1`). The device
    /// then scores the item with its model, and folds it into the user
    /// vector once it is in the history, even when its small bundle does
    /// not hold the item.
    pub sequence: Option<Vec<f32>>,
}

/// An outside engine holding a catalog's public records (see the module docs).
pub trait CandidateSource {
    /// The URL of the engine's endpoint: its origin is what the privacy
    /// policy is read for.
    fn endpoint(&self) -> &str;

    /// Runs `query`: the records nearest `query.vector()` (or those named
    /// by `query.ids()`), meeting every condition, at most `query.limit()`,
    /// nearest first. A failure is an [`crate::Error`]: the caller decides
    /// whether to fall back.
    fn candidates<'a>(&'a self, query: &'a CandidateQuery) -> LocalBoxFuture<'a, Result<Vec<Candidate>>>;
}

/// [`CandidateSource`] over records held in memory: exact cosine search,
/// the same conditions, every query kept. For tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryCandidateSource {
    records: Rc<Vec<Candidate>>,
    /// Sequence-space vectors (output ++ bias) by record index.
    sequence: Rc<Vec<Option<Vec<f32>>>>,
    queries: Rc<RefCell<Vec<CandidateQuery>>>,
    endpoint: String,
}

impl MemoryCandidateSource {
    /// A source over `records`, reached at `endpoint` (for the policy).
    pub fn new(endpoint: &str, records: Vec<Candidate>) -> Self {
        Self {
            sequence: Rc::new(vec![None; records.len()]),
            records: Rc::new(records),
            queries: Rc::default(),
            endpoint: endpoint.to_string(),
        }
    }

    /// The same source with sequence-space vectors: `vectors[i]` for
    /// record `i` (`None`: not in the sequence model).
    pub fn with_sequence(mut self, vectors: Vec<Option<Vec<f32>>>) -> Self {
        self.sequence = Rc::new(vectors);
        self
    }

    /// Every query received so far.
    pub fn queries(&self) -> Vec<CandidateQuery> {
        self.queries.borrow().clone()
    }

    /// Forgets the queries received so far.
    pub fn clear_queries(&self) {
        self.queries.borrow_mut().clear();
    }
}

impl CandidateSource for MemoryCandidateSource {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn candidates<'a>(&'a self, query: &'a CandidateQuery) -> LocalBoxFuture<'a, Result<Vec<Candidate>>> {
        self.queries.borrow_mut().push(query.clone());
        let passing = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| query.conditions().iter().all(|c| c.matches(&r.metadata)));
        let out: Vec<Candidate> = match query.vector() {
            Some(v) => {
                let mut scored: Vec<(f32, &Candidate)> = match query.space() {
                    VectorSpace::Text => passing.map(|(_, r)| (crate::vectors::cosine(v, &r.vector), r)).collect(),
                    VectorSpace::Sequence => passing
                        .filter_map(|(i, r)| {
                            let s = self.sequence.get(i)?.as_ref()?;
                            (s.len() == v.len()).then(|| (s.iter().zip(v).map(|(a, b)| a * b).sum::<f32>(), r))
                        })
                        .collect(),
                };
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                let sequence_rows = query.space() == VectorSpace::Sequence;
                scored
                    .into_iter()
                    .take(query.limit())
                    .map(|(_, r)| {
                        let mut r = r.clone();
                        if sequence_rows && r.sequence.is_none() {
                            // As Chroma's adapter: the record's own rows
                            // first, else the sequence space's vector.
                            let i = self.records.iter().position(|x| x.id == r.id);
                            r.sequence = i.and_then(|i| self.sequence.get(i).cloned().flatten());
                        }
                        r
                    })
                    .collect()
            }
            None => passing
                .map(|(_, r)| r)
                .filter(|r| query.ids().contains(&r.id))
                .take(query.limit())
                .cloned()
                .collect(),
        };
        Box::pin(async move { Ok(out) })
    }
}
