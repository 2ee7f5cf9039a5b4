//! Metadata predicates and the filters a ranking request applies.

use serde::{Deserialize, Serialize};

use crate::catalog::{engine_record, AttributeDef, AttributeKind, Catalog, ValueRef};
use crate::platform::FieldCondition;
use crate::error::{Error, Result};

/// A condition on one attribute. Give exactly one of `has`, `not`, `equals`,
/// `oneOf`, or a range (`min` and/or `max`).
///
/// Matching is case-insensitive. `has`/`not` test set membership for tag
/// attributes and whole-word (or whole-value) match for text attributes;
/// `min`/`max` are inclusive and apply to numbers (text that parses as a
/// number counts). An item without the attribute fails every predicate
/// except `not`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Predicate {
    /// Attribute name (as declared by the catalog).
    pub attribute: String,
    /// The attribute contains this tag / word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has: Option<String>,
    /// The attribute does not contain this tag / word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<String>,
    /// The whole value equals this (text or number as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// The attribute contains at least one of these tags / words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// Lower bound (inclusive) for numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound (inclusive) for numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// What a ranking request filters out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filters {
    /// Every predicate must hold.
    #[serde(default, rename = "where")]
    pub predicates: Vec<Predicate>,
    /// Item ids never to return.
    #[serde(default)]
    pub exclude_ids: Vec<String>,
    /// Also return items the user already has events for (default: no).
    #[serde(default)]
    pub include_seen: bool,
}

pub use crate::catalog::attributes::words;

/// A [`Predicate`] resolved against a catalog (attribute index, lower-cased values).
#[derive(Debug, Clone)]
pub struct CompiledPredicate {
    attribute: usize,
    op: Op,
}

#[derive(Debug, Clone)]
enum Op {
    Has(String),
    Not(String),
    Equals(String),
    OneOf(Vec<String>),
    Range(f64, f64),
}

impl Predicate {
    /// Checks the predicate and resolves its attribute in `catalog`.
    pub fn compile(&self, catalog: &Catalog) -> Result<CompiledPredicate> {
        let attribute = catalog
            .attributes()
            .iter()
            .position(|a| a.name == self.attribute)
            .ok_or_else(|| {
                let names: Vec<_> = catalog.attributes().iter().map(|a| a.name.as_str()).collect();
                Error::InvalidInput(format!(
                    "filter on unknown attribute {:?}; the catalog has {names:?}",
                    self.attribute
                ))
            })?;
        let lower = |s: &String| s.to_lowercase();
        let mut ops = Vec::new();
        if let Some(v) = &self.has {
            ops.push(Op::Has(lower(v)));
        }
        if let Some(v) = &self.not {
            ops.push(Op::Not(lower(v)));
        }
        if let Some(v) = &self.equals {
            ops.push(Op::Equals(lower(v)));
        }
        if let Some(v) = &self.one_of {
            ops.push(Op::OneOf(v.iter().map(lower).collect()));
        }
        if self.min.is_some() || self.max.is_some() {
            let (lo, hi) = (self.min.unwrap_or(f64::NEG_INFINITY), self.max.unwrap_or(f64::INFINITY));
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(Error::InvalidInput(format!(
                    "filter on {:?}: empty range {lo}..={hi}",
                    self.attribute
                )));
            }
            ops.push(Op::Range(lo, hi));
        }
        if ops.len() != 1 {
            return Err(Error::InvalidInput(format!(
                "filter on {:?} must give exactly one of has, not, equals, oneOf or min/max (got {})",
                self.attribute,
                ops.len()
            )));
        }
        Ok(CompiledPredicate {
            attribute,
            op: ops.remove(0),
        })
    }
}

fn contains(value: ValueRef<'_>, needle: &str) -> bool {
    match value {
        ValueRef::Tags(tags) => tags.iter().any(|t| t.to_lowercase() == needle),
        ValueRef::Text(t) => t.to_lowercase() == needle || words(t).any(|w| w == needle),
        ValueRef::Number(n) => needle.parse::<f64>().is_ok_and(|x| x == n),
        ValueRef::Missing => false,
    }
}

impl CompiledPredicate {
    /// Whether item `index` of `catalog` passes.
    pub fn matches(&self, catalog: &Catalog, index: u32) -> bool {
        let value = catalog
            .item(index)
            .and_then(|it| it.value(self.attribute))
            .unwrap_or(ValueRef::Missing);
        match &self.op {
            Op::Has(v) => contains(value, v),
            Op::Not(v) => !contains(value, v),
            Op::OneOf(vs) => vs.iter().any(|v| contains(value, v)),
            Op::Equals(v) => match value {
                ValueRef::Text(t) => t.to_lowercase() == *v,
                ValueRef::Number(n) => v.parse::<f64>().is_ok_and(|x| x == n),
                ValueRef::Tags(t) => t.len() == 1 && t.get(0).is_some_and(|t| t.to_lowercase() == *v),
                ValueRef::Missing => false,
            },
            Op::Range(lo, hi) => {
                let n = match value {
                    ValueRef::Number(n) => Some(n),
                    ValueRef::Text(t) => t.trim().parse::<f64>().ok(),
                    _ => None,
                };
                n.is_some_and(|n| n >= *lo && n <= *hi)
            }
        }
    }
}

impl Predicate {
    /// The condition a candidate engine applies for this predicate, in the
    /// record layout of [`crate::catalog::engine_record`], when the engine
    /// can select exactly the items the predicate passes: `has`, `not` and
    /// `oneOf` on text and tag attributes (single words of text), `min` and
    /// `max` on number attributes. `None` for the rest (`equals`, ranges over
    /// text, a multi-word value in a text attribute, an unknown attribute):
    /// those are applied on the device only, over what the engine returned.
    pub fn engine_conditions(&self, attributes: &[AttributeDef]) -> Option<Vec<FieldCondition>> {
        let def = attributes.iter().find(|a| a.name == self.attribute)?;
        let field = engine_record::filter_field(&def.name);
        // A text attribute matches whole values or single words; a tag
        // attribute whole tags, whatever they hold.
        let value = |v: &String| -> Option<String> {
            let lower = v.to_lowercase();
            match def.kind {
                AttributeKind::Tags => Some(lower),
                AttributeKind::Text if words(v).count() == 1 && words(v).next().as_deref() == Some(lower.as_str()) => Some(lower),
                _ => None,
            }
        };
        let text_like = matches!(def.kind, AttributeKind::Tags | AttributeKind::Text);
        match self {
            Predicate { has: Some(v), not: None, equals: None, one_of: None, min: None, max: None, .. } if text_like => {
                Some(vec![FieldCondition::Contains { field, value: value(v)? }])
            }
            Predicate { has: None, not: Some(v), equals: None, one_of: None, min: None, max: None, .. } if text_like => {
                Some(vec![FieldCondition::NotContains { field, value: value(v)? }])
            }
            Predicate { has: None, not: None, equals: None, one_of: Some(vs), min: None, max: None, .. } if text_like && !vs.is_empty() => {
                let values = vs.iter().map(value).collect::<Option<Vec<_>>>()?;
                Some(vec![FieldCondition::ContainsAny { field, values }])
            }
            Predicate { has: None, not: None, equals: None, one_of: None, min, max, .. }
                if def.kind == AttributeKind::Number && (min.is_some() || max.is_some()) =>
            {
                let mut out = Vec::new();
                if let Some(lo) = min.filter(|x| x.is_finite()) {
                    out.push(FieldCondition::AtLeast { field: def.name.clone(), value: lo });
                }
                if let Some(hi) = max.filter(|x| x.is_finite()) {
                    out.push(FieldCondition::AtMost { field: def.name.clone(), value: hi });
                }
                Some(out)
            }
            _ => None,
        }
    }
}
