//! Request understanding on the device: a plain request turned into an
//! [`Intent`] over the catalog's own typed attributes — numeric ranges
//! (years, prices, durations), category values required, any-of or
//! excluded (genres, brands, colours; near-synonyms reached by embedding
//! similarity), titles linked to catalog items (liked ones seed the
//! request's profile; seen ones, "not X itself" and "not its sequels" are
//! left out), and the free-text remainder that gets embedded. No LLM is
//! needed; an LLM's proposal can be merged in ([`proposal`]) but never
//! widens what the device read.
//!
//! - [`tokens`]: the request as words with their separators.
//! - [`vocab`]: what a catalog lets a request talk about.
//! - [`titles`]: title linking and franchises.
//! - [`numbers`]: years, decades and numeric bounds.
//! - [`parse`]: the parser.
//! - [`proposal`]: the JSON schema an LLM fills, validated and merged.

pub mod numbers;
pub mod parse;
pub mod proposal;
pub mod titles;
pub mod tokens;
pub mod vocab;

use serde::{Deserialize, Serialize};

use crate::catalog::attributes::format_float;
use crate::ranking::{Filters, Predicate};

pub use parse::IntentParser;
pub use vocab::Vocabulary;

/// How a constraint was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The request names the value or an inflection of it ("thrillers").
    Word,
    /// A near-synonym, by embedding similarity ("scary" → Horror).
    Similar,
    /// Proposed by the LLM and checked against the catalog's vocabulary.
    Model,
}

/// A numeric range on one attribute (inclusive bounds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeConstraint {
    /// Attribute name.
    pub attribute: String,
    /// Lower bound, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The words of the request it came from.
    pub phrase: String,
    /// How it was found.
    pub source: Source,
}

/// One category value required or excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryConstraint {
    /// Attribute name.
    pub attribute: String,
    /// The value as the catalog writes it.
    pub value: String,
    /// The words of the request it came from.
    pub phrase: String,
    /// How it was found.
    pub source: Source,
}

/// At least one of these values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnyOfConstraint {
    /// Attribute name.
    pub attribute: String,
    /// The values, as the catalog writes them.
    pub values: Vec<String>,
    /// The words of the request it came from.
    pub phrase: String,
    /// How it was found.
    pub source: Source,
}

/// Why a catalog item is named by the intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MentionKind {
    /// "I loved X", "something like X": a positive seed (and left out, as seen).
    Liked,
    /// "I already saw X": left out.
    Seen,
    /// "not X", "except X", "I hated X": left out.
    Refused,
    /// A sequel or prequel of a title the request leaves out with its franchise.
    Franchise,
}

/// A catalog item the request names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemMention {
    /// Item id.
    pub id: String,
    /// Its title as the catalog writes it.
    pub title: String,
    /// Why it is named.
    pub kind: MentionKind,
    /// The words of the request it came from.
    pub phrase: String,
}

/// What a request asks for, over the catalog's attributes. Every field
/// but `text` and `liked` is a hard constraint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    /// The free-text remainder (what gets embedded); may be empty.
    pub text: String,
    /// Numeric ranges.
    pub ranges: Vec<RangeConstraint>,
    /// Values every item must have.
    pub required: Vec<CategoryConstraint>,
    /// Groups of which every item must have at least one value.
    pub any_of: Vec<AnyOfConstraint>,
    /// Values no item may have.
    pub excluded: Vec<CategoryConstraint>,
    /// Items named: liked ones seed the request; all are left out.
    pub items: Vec<ItemMention>,
    /// A short label for people ("Thriller · after 1995 · not Horror").
    pub summary: String,
}

/// How far the constraints are relaxed when too few items meet them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relax {
    /// Every constraint.
    None,
    /// Without what only the model proposed.
    Model,
    /// Also without the categories read from the free text by similarity.
    FreeText,
    /// Also without the any-of groups.
    AnyOf,
}

impl Intent {
    /// Whether it constrains anything (beyond the free text).
    pub fn has_constraints(&self) -> bool {
        !self.ranges.is_empty() || !self.required.is_empty() || !self.any_of.is_empty() || !self.excluded.is_empty() || !self.items.is_empty()
    }

    /// The ids of the liked items (the request's positive seeds).
    pub fn liked_ids(&self) -> Vec<String> {
        self.items.iter().filter(|m| m.kind == MentionKind::Liked).map(|m| m.id.clone()).collect()
    }

    /// Whether a constraint from `source` (any-of: `any_of`) still holds at `relax`.
    fn kept(relax: Relax, source: Source, any_of: bool) -> bool {
        match source {
            Source::Model => relax == Relax::None,
            Source::Similar => relax < Relax::FreeText && !(any_of && relax >= Relax::AnyOf),
            Source::Word => !(any_of && relax >= Relax::AnyOf),
        }
    }

    /// The hard filters at relaxation level `relax`. Exclusions (values,
    /// items) and numeric ranges the request states are never relaxed;
    /// what only the model proposed goes first, then what the free text
    /// gave by similarity, then the any-of groups.
    pub fn filters(&self, relax: Relax) -> Filters {
        let mut predicates = Vec::new();
        for r in self.ranges.iter().filter(|r| Self::kept(relax, r.source, false)) {
            predicates.push(Predicate { attribute: r.attribute.clone(), min: r.min, max: r.max, ..Predicate::default() });
        }
        for c in self.required.iter().filter(|c| Self::kept(relax, c.source, false)) {
            predicates.push(Predicate { attribute: c.attribute.clone(), has: Some(c.value.clone()), ..Predicate::default() });
        }
        for g in self.any_of.iter().filter(|g| Self::kept(relax, g.source, true)) {
            predicates.push(Predicate { attribute: g.attribute.clone(), one_of: Some(g.values.clone()), ..Predicate::default() });
        }
        // Exclusions the request states hold at every level.
        for c in self.excluded.iter().filter(|c| c.source != Source::Model || relax == Relax::None) {
            predicates.push(Predicate { attribute: c.attribute.clone(), not: Some(c.value.clone()), ..Predicate::default() });
        }
        let mut exclude_ids: Vec<String> = Vec::new();
        for m in &self.items {
            if !exclude_ids.contains(&m.id) {
                exclude_ids.push(m.id.clone());
            }
        }
        Filters { predicates, exclude_ids, include_seen: false }
    }

    /// What relaxing to `relax` drops, in words, empty when it drops nothing.
    pub fn relaxed_labels(&self, relax: Relax) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.required.iter().filter(|c| !Self::kept(relax, c.source, false)).map(|c| c.value.clone()));
        out.extend(self.any_of.iter().filter(|g| !Self::kept(relax, g.source, true)).map(|g| g.values.join(" or ")));
        out.extend(self.ranges.iter().filter(|r| !Self::kept(relax, r.source, false)).map(range_label));
        out.extend(self.excluded.iter().filter(|c| c.source == Source::Model && relax > Relax::None).map(|c| format!("not {}", c.value)));
        out
    }

    /// Fills [`Intent::summary`]: required values, any-of groups, ranges,
    /// exclusions and items, joined by " · ".
    pub fn summarize(&mut self) {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.required.iter().map(|c| c.value.clone()));
        parts.extend(self.any_of.iter().map(|g| g.values.join(" or ")));
        for r in &self.ranges {
            parts.push(range_label(r));
        }
        parts.extend(self.excluded.iter().map(|c| format!("not {}", c.value)));
        let liked: Vec<&str> = self.items.iter().filter(|m| m.kind == MentionKind::Liked).map(|m| m.title.as_str()).collect();
        if !liked.is_empty() {
            parts.push(format!("like {}", liked.join(", ")));
        }
        let left_out: Vec<&str> = self.items.iter().filter(|m| matches!(m.kind, MentionKind::Seen | MentionKind::Refused)).map(|m| m.title.as_str()).collect();
        if !left_out.is_empty() {
            parts.push(format!("not {}", left_out.join(", ")));
        }
        let sequels = self.items.iter().filter(|m| m.kind == MentionKind::Franchise).count();
        if sequels > 0 {
            parts.push(format!("no sequels ({sequels})"));
        }
        self.summary = parts.join(" · ");
    }
}

impl Intent {
    /// What was asked, to follow "picks" in an answer's first sentence:
    /// "for Thriller after 1995, without Horror, leaving out Vertigo", or
    /// ", without Horror" when only exclusions are stated; `None` when the
    /// intent constrains nothing.
    pub fn describe(&self) -> Option<String> {
        if !self.has_constraints() {
            return None;
        }
        let mut heads: Vec<String> = self.required.iter().map(|c| c.value.clone()).collect();
        heads.extend(self.any_of.iter().map(|g| g.values.join(" or ")));
        let mut out = if heads.is_empty() { String::new() } else { format!("for {}", join_and(&heads)) };
        for r in &self.ranges {
            let label = range_label(r);
            let yearish = r.attribute.to_lowercase().contains("year");
            if yearish && (label.ends_with('s') || label.chars().all(|c| c.is_ascii_digit())) {
                out.push_str(&format!(" from {}{label}", if label.ends_with('s') { "the " } else { "" }));
            } else if yearish && label.contains('–') {
                out.push_str(&format!(" from {label}"));
            } else {
                out.push_str(&format!(" {label}"));
            }
        }
        let mut clauses: Vec<String> = Vec::new();
        if !self.excluded.is_empty() {
            let v: Vec<String> = self.excluded.iter().map(|c| c.value.clone()).collect();
            clauses.push(format!("without {}", join_or(&v)));
        }
        let liked: Vec<String> = self.items.iter().filter(|m| m.kind == MentionKind::Liked).map(|m| titles::display_title(&m.title)).collect();
        if !liked.is_empty() {
            clauses.push(format!("close to {}", join_and(&liked)));
        }
        let out_titles: Vec<String> = self.items.iter().filter(|m| matches!(m.kind, MentionKind::Seen | MentionKind::Refused)).map(|m| titles::display_title(&m.title)).collect();
        if !out_titles.is_empty() {
            clauses.push(format!("leaving out {}", join_and(&out_titles)));
        }
        if self.items.iter().any(|m| m.kind == MentionKind::Franchise) {
            clauses.push("and no sequels".to_string());
        }
        if !clauses.is_empty() {
            out.push_str(", ");
            out.push_str(&clauses.join(", "));
        }
        Some(out.trim_start().to_string())
    }
}

fn join_with(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

fn join_and(items: &[String]) -> String {
    join_with(items, "and")
}

fn join_or(items: &[String]) -> String {
    join_with(items, "or")
}

/// "after 1995", "1990–1999", "before 1950", "at most 20 (price)".
pub fn range_label(r: &RangeConstraint) -> String {
    let yearish = r.attribute.to_lowercase().contains("year") || r.attribute.to_lowercase().contains("date");
    let suffix = if yearish { String::new() } else { format!(" ({})", r.attribute.replace('_', " ")) };
    match (r.min, r.max) {
        (Some(a), Some(b)) if a == b => format!("{}{suffix}", format_float(a)),
        (Some(a), Some(b)) if yearish && a % 10.0 == 0.0 && b == a + 9.0 => format!("{}s", format_float(a)),
        (Some(a), Some(b)) => format!("{}–{}{suffix}", format_float(a), format_float(b)),
        (Some(a), None) if yearish => format!("after {}", format_float(a - 1.0)),
        (Some(a), None) => format!("at least {}{suffix}", format_float(a)),
        (None, Some(b)) if yearish => format!("before {}", format_float(b + 1.0)),
        (None, Some(b)) => format!("at most {}{suffix}", format_float(b)),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests;
