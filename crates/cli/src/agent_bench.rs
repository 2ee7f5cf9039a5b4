//! The conversational benchmark of the agent (`recagent agent-bench`): a set
//! of single-turn requests in plain English (`bench/agent/requests.json`),
//! each with machine-checkable constraints over the catalog's attributes,
//! and the scorer that judges the agent's answers against them.
//!
//! The scorer never asks the agent's code what a request means: every
//! returned item is judged by its id from the catalog's own attribute values
//! ([`Judge`]), the answer text is checked for echoed tool calls and schemas
//! ([`malformed`]) and for catalog titles that are not among the returned
//! items ([`Judge::grounding_errors`]), and the items for duplicates
//! ([`Judge::duplicates`]). [`score`](fn@score) turns one answer into a
//! [`RequestScore`]; [`LevelReport`] sums them up per autonomy level.
//!
//! | module | what it holds |
//! |---|---|
//! | this one | [`BenchSet`], [`BenchRequest`], [`Constraints`], validation |
//! | [`score`](mod@score) | [`Judge`], [`score`](fn@score), [`malformed`], [`RequestScore`] |
//! | [`report`] | [`LevelReport`], the table, the JSON report, [`Machine`] |
//!
//! ```no_run
//! # use recagent_cli::agent_bench::{score, Answered, BenchSet, Judge, ReturnedItem};
//! # fn main() -> recagent_core::Result<()> {
//! let set = BenchSet::read("bench/agent/requests.json".as_ref())?;
//! let catalog = recagent_core::Catalog::from_bundle(&std::fs::read("assets/catalog/ml-100k.rcat").unwrap())?;
//! let judge = Judge::new(&catalog);
//! assert!(set.validate(&judge).is_empty());
//! let answer = Answered { text: "Star Wars is a classic.".into(),
//!     items: vec![ReturnedItem { id: "50".into(), title: "Star Wars".into() }], ..Answered::default() };
//! let scored = score(&judge, &set.requests[0], &answer);
//! println!("{}", scored.satisfaction.unwrap_or(0.0));
//! # Ok(()) }
//! ```

pub mod report;
pub mod score;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::Path;

use recagent_core::{Error, Result};
use serde::{Deserialize, Serialize};

pub use report::{LevelReport, Machine};
pub use score::{malformed, score, Answered, ItemVerdict, Judge, RequestScore, ReturnedItem};

/// How many of the returned items are judged: constraint satisfaction is
/// measured on the first `TOP` items.
pub const TOP: usize = 5;

/// The fewest catalog items that must meet all of a request's constraints
/// for the request to be in a set ([`BenchSet::validate`]).
pub const MIN_SATISFYING: usize = 5;

/// The kinds a request may be tagged with (what it exercises).
pub const KINDS: &[&str] = &[
    "decade",
    "year_before",
    "year_after",
    "year_between",
    "year_exact",
    "exclude_genre",
    "require_genre",
    "genre_synonym",
    "any_of",
    "seen_titles",
    "like_not_itself",
    "not_sequels",
    "loved",
    "combination",
    "mood_only",
];

/// A benchmark set: the file `bench/agent/requests.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchSet {
    /// Format version (1).
    pub version: u32,
    /// The catalog the constraints are written for (informative).
    #[serde(default)]
    pub catalog: String,
    /// The requests, in order.
    pub requests: Vec<BenchRequest>,
}

/// One single-turn request and what a correct answer must respect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchRequest {
    /// Unique id (`r001`, …).
    pub id: String,
    /// What the user says.
    pub text: String,
    /// Hard constraints: exactly what the text states.
    #[serde(default)]
    pub constraints: Constraints,
    /// What the request exercises (names from [`KINDS`]).
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// The hard constraints of a request; an item meets them when it meets every one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Constraints {
    /// Numeric ranges (bounds inclusive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<RangeConstraint>,
    /// Values the attribute must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<ValueConstraint>,
    /// Sets of values of which the attribute must hold at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<AnyOfConstraint>,
    /// Values the attribute must not hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ValueConstraint>,
    /// Items that must not be returned (ones the user has seen or named).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_ids: Vec<String>,
}

/// `min <= value <= max` for a numeric attribute (or a text one holding a number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeConstraint {
    /// Attribute name (`release_year`).
    pub attribute: String,
    /// Lowest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// One value of an attribute (a tag of a tags attribute, or a text value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueConstraint {
    /// Attribute name (`class`).
    pub attribute: String,
    /// The value (`Horror`); compared case-insensitively.
    pub value: String,
}

/// At least one of several values of an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnyOfConstraint {
    /// Attribute name (`class`).
    pub attribute: String,
    /// The values (`["Comedy", "Romance"]`).
    pub values: Vec<String>,
}

impl Constraints {
    /// How many constraints there are (each range, value, any-of set and
    /// excluded id counts as one).
    pub fn count(&self) -> usize {
        self.ranges.len() + self.required.len() + self.any_of.len() + self.excluded.len() + self.excluded_ids.len()
    }

    /// Whether every item meets them.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

impl BenchSet {
    /// Parses a set from its JSON text (`invalid_input` on a syntax error
    /// or an unknown field).
    pub fn from_json(text: &str) -> Result<BenchSet> {
        serde_json::from_str(text).map_err(|e| Error::InvalidInput(format!("benchmark set: {e}")))
    }

    /// Reads and parses the set at `path`.
    pub fn read(path: &Path) -> Result<BenchSet> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        Self::from_json(&text).map_err(|e| match e {
            Error::InvalidInput(m) => Error::InvalidInput(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Every problem of the set against the judge's catalog, one sentence
    /// each (empty: the set is valid): duplicate or empty ids and texts,
    /// unknown kinds, attributes the catalog lacks, values no catalog item
    /// holds (a typo such as `Sci-fi`), unknown excluded ids, empty or
    /// inverted ranges, a `mood_only` request with constraints (or a request
    /// without constraints not tagged `mood_only`), and fewer than
    /// [`MIN_SATISFYING`] catalog items meeting all of a request's constraints.
    pub fn validate(&self, judge: &Judge<'_>) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        if self.requests.is_empty() {
            problems.push("the set has no request".to_string());
        }
        for r in &self.requests {
            let at = format!("request {:?}", r.id);
            if r.id.trim().is_empty() {
                problems.push(format!("{at}: empty id"));
            }
            if !seen.insert(r.id.as_str()) {
                problems.push(format!("{at}: the id is used twice"));
            }
            if r.text.trim().is_empty() {
                problems.push(format!("{at}: empty text"));
            }
            if r.kinds.is_empty() {
                problems.push(format!("{at}: no kind"));
            }
            for kind in r.kinds.iter().filter(|k| !KINDS.contains(&k.as_str())) {
                problems.push(format!("{at}: unknown kind {kind:?}"));
            }
            let mood = r.kinds.iter().any(|k| k == "mood_only");
            if mood != r.constraints.is_empty() {
                problems.push(format!("{at}: `mood_only` must be exactly the requests without constraints"));
            }
            problems.extend(judge.check_constraints(&r.constraints).into_iter().map(|p| format!("{at}: {p}")));
            let n = judge.satisfying(&r.constraints);
            if n < MIN_SATISFYING {
                problems.push(format!("{at}: only {n} catalog items meet all its constraints (at least {MIN_SATISFYING} needed)"));
            }
        }
        problems
    }

    /// The requests to run: those named in `ids` (in the set's order; an
    /// unknown id is `invalid_input`), else all, then the first `limit`.
    pub fn select(&self, ids: &[String], limit: Option<usize>) -> Result<Vec<&BenchRequest>> {
        if let Some(unknown) = ids.iter().find(|id| !self.requests.iter().any(|r| &r.id == *id)) {
            return Err(Error::InvalidInput(format!("--ids: no request {unknown:?} in the set")));
        }
        let chosen = self.requests.iter().filter(|r| ids.is_empty() || ids.contains(&r.id));
        Ok(chosen.take(limit.unwrap_or(usize::MAX)).collect())
    }
}
