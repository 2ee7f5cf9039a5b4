//! What a catalog lets a request talk about, read once from the catalog's
//! own typed attributes: its numeric attributes (with their observed
//! ranges), its category values (with the word forms that name them), and
//! its titles (see [`super::titles`]).

use std::collections::BTreeMap;

use super::titles::TitleIndex;
use super::tokens::{is_stopword, tokenize};
use crate::catalog::{AttributeKind, Catalog, ValueRef};

/// A numeric attribute: declared as a number, or text whose values are
/// numbers (RecBole's `release_year:token`).
#[derive(Debug, Clone, PartialEq)]
pub struct NumericAttribute {
    /// Attribute name.
    pub name: String,
    /// Lowest value seen.
    pub min: f64,
    /// Highest value seen.
    pub max: f64,
    /// Whether its values are calendar years (integers within 1800..=2100
    /// and a name or label that says year/date).
    pub is_year: bool,
    /// The words of its name (`release_year` → `release`, `year`).
    pub words: Vec<String>,
}

/// One category value (a genre, a brand, a colour) and the words naming it.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryValue {
    /// Attribute name.
    pub attribute: String,
    /// The value as the catalog writes it (`Sci-Fi`).
    pub value: String,
    /// Its word forms (lower-case tokens; `sci-fi` → `["sci", "fi"]`).
    pub tokens: Vec<String>,
    /// How many items carry it.
    pub count: usize,
}

/// The vocabulary of one catalog.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// Numeric attributes.
    pub numeric: Vec<NumericAttribute>,
    /// Category values, most frequent first.
    pub categories: Vec<CategoryValue>,
    /// The titles.
    pub titles: TitleIndex,
}

/// Values that mean "no value" in datasets.
fn is_placeholder(value: &str) -> bool {
    matches!(value.to_lowercase().as_str(), "unknown" | "unkonwn" | "none" | "n/a" | "na" | "null" | "other" | "(no genres listed)" | "")
}

fn number_of(value: &ValueRef<'_>) -> Option<f64> {
    match value {
        ValueRef::Number(n) => Some(*n).filter(|n| n.is_finite()),
        ValueRef::Text(t) => t.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

impl Vocabulary {
    /// Reads `catalog`'s attributes. Category attributes are tag sets and
    /// text attributes named as categories or with few distinct values
    /// (at most 200, and fewer than half the items); the title attribute
    /// never is one.
    pub fn from_catalog(catalog: &Catalog) -> Self {
        let mut numeric = Vec::new();
        let mut categories: Vec<CategoryValue> = Vec::new();
        let n_items = catalog.len();
        for (a, def) in catalog.attributes().iter().enumerate() {
            if def.is_title() {
                continue;
            }
            let values = catalog.items().filter_map(|it| it.value(a));
            let present: Vec<ValueRef<'_>> = values.filter(|v| !v.is_missing()).collect();
            if present.is_empty() {
                continue;
            }
            let numbers: Vec<f64> = present.iter().filter_map(|v| number_of(v)).collect();
            let numeric_kind = def.kind == AttributeKind::Number || (def.kind == AttributeKind::Text && numbers.len() * 10 >= present.len() * 9);
            if numeric_kind && !numbers.is_empty() {
                let min = numbers.iter().copied().fold(f64::INFINITY, f64::min);
                let max = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let name = def.name.to_lowercase();
                let named_year = name.contains("year") || name.contains("date") || def.label() == "Year";
                let integral = numbers.iter().all(|n| n.fract() == 0.0);
                // A few bad rows (RecBole's ML-100K has a year "0") do not make it less of a year.
                let in_years = numbers.iter().filter(|n| (1800.0..=2100.0).contains(*n)).count() * 10 >= numbers.len() * 9;
                let (min, max) = if in_years {
                    let ys = numbers.iter().copied().filter(|n| (1800.0..=2100.0).contains(n));
                    let v: Vec<f64> = ys.collect();
                    (v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
                } else {
                    (min, max)
                };
                numeric.push(NumericAttribute {
                    name: def.name.clone(),
                    min,
                    max,
                    is_year: named_year && integral && in_years,
                    words: tokenize(&def.name.replace('_', " ")).into_iter().map(|t| t.norm).collect(),
                });
                continue;
            }
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for v in &present {
                match v {
                    ValueRef::Tags(tags) => {
                        for t in tags.iter() {
                            *counts.entry(t.to_string()).or_default() += 1;
                        }
                    }
                    ValueRef::Text(t) => *counts.entry(t.to_string()).or_default() += 1,
                    _ => {}
                }
            }
            let few = counts.len() <= 200 && counts.len() * 2 < n_items.max(2);
            let is_category = match def.kind {
                AttributeKind::Tags => counts.len() <= 2000,
                AttributeKind::Text => def.is_category() || few,
                AttributeKind::Number => false,
            };
            if !is_category {
                continue;
            }
            for (value, count) in counts {
                if is_placeholder(&value) {
                    continue;
                }
                let tokens: Vec<String> = tokenize(&value).into_iter().map(|t| t.norm).collect();
                if tokens.is_empty() || tokens.iter().all(|t| is_stopword(t)) {
                    continue;
                }
                categories.push(CategoryValue { attribute: def.name.clone(), value, tokens, count });
            }
        }
        categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        Self { numeric, categories, titles: TitleIndex::from_catalog(catalog) }
    }

    /// The attribute calendar years refer to, if the catalog has one.
    pub fn year_attribute(&self) -> Option<&NumericAttribute> {
        self.numeric.iter().find(|n| n.is_year)
    }

    /// The category value `value` of `attribute` (case-insensitive).
    pub fn category(&self, attribute: &str, value: &str) -> Option<&CategoryValue> {
        self.categories
            .iter()
            .find(|c| c.attribute == attribute && c.value.eq_ignore_ascii_case(value))
            .or_else(|| self.categories.iter().find(|c| c.attribute == attribute && c.value.to_lowercase() == value.to_lowercase()))
    }

    /// The category value named `value` in any attribute (case-insensitive).
    pub fn category_named(&self, value: &str) -> Option<&CategoryValue> {
        let v = value.trim().to_lowercase();
        self.categories.iter().find(|c| c.value.to_lowercase() == v)
    }
}
