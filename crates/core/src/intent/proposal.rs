//! An LLM's proposal of an intent: the JSON schema it fills (category
//! values as enums of the catalog's own values, so a grammar-constrained
//! server cannot invent one), and the merge that checks every proposed
//! constraint against the catalog and the request before adding it to the
//! device's intent. A proposal only ever adds constraints (marked
//! [`Source::Model`], relaxed first); it never removes one the device read.

use serde_json::{json, Value};

use super::titles::TitleMatch;
use super::tokens::{is_stopword, tokenize};
use super::vocab::Vocabulary;
use super::{CategoryConstraint, Intent, ItemMention, MentionKind, RangeConstraint, Source};

/// Largest category vocabulary written into the schema as an enum.
const MAX_ENUM: usize = 300;
/// Most entries read from each list of a proposal.
const MAX_LIST: usize = 10;

/// The JSON schema of a proposal for this catalog.
pub fn schema(vocab: &Vocabulary) -> Value {
    let mut values: Vec<&str> = vocab.categories.iter().map(|c| c.value.as_str()).collect();
    values.dedup();
    let value_schema = if !values.is_empty() && values.len() <= MAX_ENUM {
        json!({"type": "string", "enum": values})
    } else {
        json!({"type": "string", "maxLength": 100})
    };
    let list = |items: Value| json!({"type": "array", "items": items, "maxItems": MAX_LIST});
    let numeric: Vec<&str> = vocab.numeric.iter().map(|n| n.name.as_str()).collect();
    let range = json!({
        "type": "object",
        "properties": {"attribute": {"type": "string", "enum": numeric}, "min": {"type": "number"}, "max": {"type": "number"}},
        "required": ["attribute"],
        "additionalProperties": false
    });
    let title = json!({"type": "string", "maxLength": 200});
    json!({
        "type": "object",
        "properties": {
            "include": list(value_schema.clone()),
            "anyOf": list(value_schema.clone()),
            "exclude": list(value_schema),
            "ranges": if numeric.is_empty() { list(json!({"type": "object"})) } else { list(range) },
            "likedTitles": list(title.clone()),
            "excludedTitles": list(title),
            "excludeSequels": {"type": "boolean"}
        },
        "required": ["include", "exclude", "ranges", "likedTitles", "excludedTitles"],
        "additionalProperties": false
    })
}

/// The instruction sent with the schema.
pub fn instructions(vocab: &Vocabulary) -> String {
    let attrs: Vec<String> = vocab.numeric.iter().map(|n| format!("{} ({}–{})", n.name, n.min, n.max)).collect();
    format!(
        "Read the user's request and fill the JSON object: categories the user asks for (include), \
         at least one of (anyOf), refuses (exclude), numeric ranges they state on {} (inclusive min/max), \
         titles they liked (likedTitles) or already saw / do not want (excludedTitles), and whether they \
         refuse sequels (excludeSequels). Use only what the request says; leave lists empty otherwise. \
         Answer with the JSON object only.",
        if attrs.is_empty() { "numeric attributes".to_string() } else { attrs.join(", ") }
    )
}

/// Reads a JSON object out of a model's text (code fences and prose around it allowed).
pub fn read_json(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let slice = text.get(start..=end)?;
    serde_json::from_str::<Value>(slice).ok().filter(Value::is_object)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().take(MAX_LIST).filter_map(Value::as_str).map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s.len() <= 200).collect())
        .unwrap_or_default()
}

/// Merges `proposal` into `device` (the device's reading of `request`).
/// Returns the merged intent and a note for each proposed constraint that
/// was refused and why. Refused: values not in the catalog, anything that
/// contradicts the device's reading, ranges when the request states no
/// number, and titles whose words are not in the request.
pub fn merge(vocab: &Vocabulary, device: &Intent, request: &str, proposal: &Value) -> (Intent, Vec<String>) {
    let mut out = device.clone();
    let mut refused = Vec::new();
    let request_words: Vec<String> = tokenize(request).into_iter().map(|t| t.norm).collect();
    let has_number = request_words.iter().any(|w| w.chars().any(|c| c.is_ascii_digit()))
        || request_words.iter().any(|w| w.ends_with("ties") || w == "noughties" || w == "aughts");
    let required = |out: &Intent, a: &str, v: &str| out.required.iter().any(|c| c.attribute == a && c.value == v) || out.any_of.iter().any(|g| g.attribute == a && g.values.iter().any(|x| x == v));
    let excluded = |out: &Intent, a: &str, v: &str| out.excluded.iter().any(|c| c.attribute == a && c.value == v);
    // Small models list many "include" values for one request ("scary" →
    // Horror, Drama, Sci-Fi, Action): what the device does not already
    // require becomes one any-of group, not a conjunction.
    let mut included: Vec<(String, String)> = Vec::new();
    for (key, negative) in [("include", false), ("exclude", true)] {
        for name in strings(proposal, key) {
            let Some(cat) = vocab.category_named(&name) else {
                refused.push(format!("{key} {name:?}: not a value of this catalog"));
                continue;
            };
            let (a, v) = (cat.attribute.clone(), cat.value.clone());
            let c = CategoryConstraint { attribute: a.clone(), value: v.clone(), phrase: format!("(model) {name}"), source: Source::Model };
            if negative {
                if required(&out, &a, &v) {
                    refused.push(format!("exclude {v}: the request asks for it"));
                } else if !excluded(&out, &a, &v) {
                    out.excluded.push(c);
                }
            } else if excluded(&out, &a, &v) {
                refused.push(format!("include {v}: the request refuses it"));
            } else if !required(&out, &a, &v) && !included.contains(&(a.clone(), v.clone())) {
                included.push((a, v));
            }
        }
    }
    match included.as_slice() {
        [] => {}
        [(a, v)] => out.required.push(CategoryConstraint { attribute: a.clone(), value: v.clone(), phrase: "(model)".into(), source: Source::Model }),
        many => {
            // One group per attribute.
            let mut attrs: Vec<&String> = many.iter().map(|(a, _)| a).collect();
            attrs.dedup();
            for attr in attrs {
                let values: Vec<String> = many.iter().filter(|(a, _)| a == attr).map(|(_, v)| v.clone()).collect();
                if values.len() == 1 {
                    out.required.push(CategoryConstraint { attribute: attr.clone(), value: values[0].clone(), phrase: "(model)".into(), source: Source::Model });
                } else {
                    out.any_of.push(super::AnyOfConstraint { attribute: attr.clone(), values, phrase: "(model)".into(), source: Source::Model });
                }
            }
        }
    }
    let any: Vec<String> = strings(proposal, "anyOf").iter().filter_map(|n| vocab.category_named(n)).filter(|c| !excluded(&out, &c.attribute, &c.value)).map(|c| c.value.clone()).collect();
    if any.len() > 1 && out.any_of.is_empty() {
        if let Some(attr) = vocab.category_named(&any[0]).map(|c| c.attribute.clone()) {
            let values: Vec<String> = any.into_iter().filter(|v| vocab.category(&attr, v).is_some()).collect();
            if values.len() > 1 {
                out.any_of.push(super::AnyOfConstraint { attribute: attr, values, phrase: "(model)".into(), source: Source::Model });
            }
        }
    }
    for r in proposal.get("ranges").and_then(Value::as_array).into_iter().flatten().take(MAX_LIST) {
        let attr = r.get("attribute").and_then(Value::as_str).unwrap_or_default();
        let Some(numeric) = vocab.numeric.iter().find(|n| n.name == attr) else {
            refused.push(format!("range on {attr:?}: not a numeric attribute"));
            continue;
        };
        let min = r.get("min").and_then(Value::as_f64).filter(|x| x.is_finite());
        let max = r.get("max").and_then(Value::as_f64).filter(|x| x.is_finite());
        if min.is_none() && max.is_none() || matches!((min, max), (Some(a), Some(b)) if a > b) {
            refused.push(format!("range on {attr}: empty"));
            continue;
        }
        if !has_number {
            refused.push(format!("range on {attr}: the request states no number"));
            continue;
        }
        match out.ranges.iter_mut().find(|x| x.attribute == numeric.name) {
            Some(existing) => {
                // Only narrower, never wider, and never empty.
                let lo = match (existing.min, min) { (Some(a), Some(b)) => Some(a.max(b)), (a, b) => a.or(b) };
                let hi = match (existing.max, max) { (Some(a), Some(b)) => Some(a.min(b)), (a, b) => a.or(b) };
                if matches!((lo, hi), (Some(a), Some(b)) if a > b) {
                    refused.push(format!("range on {attr}: contradicts the request"));
                } else {
                    (existing.min, existing.max) = (lo, hi);
                }
            }
            None => out.ranges.push(RangeConstraint { attribute: numeric.name.clone(), min, max, phrase: "(model)".into(), source: Source::Model }),
        }
    }
    for (key, kind) in [("likedTitles", MentionKind::Liked), ("excludedTitles", MentionKind::Refused)] {
        for title in strings(proposal, key) {
            match link_title(vocab, &title, &request_words) {
                Some(slot) => {
                    if let Some(e) = vocab.titles.entry(slot) {
                        if !out.items.iter().any(|m| m.id == e.id) {
                            out.items.push(ItemMention { id: e.id.clone(), title: e.title.clone(), kind, phrase: format!("(model) {title}") });
                        }
                    }
                }
                None => refused.push(format!("{key} {title:?}: not a catalog title named in the request")),
            }
        }
    }
    let sequel_words = request_words.iter().any(|w| matches!(w.as_str(), "sequel" | "sequels" | "prequel" | "prequels" | "franchise" | "series"));
    if proposal.get("excludeSequels").and_then(Value::as_bool) == Some(true) && sequel_words {
        let named: Vec<String> = out.items.iter().filter(|m| m.kind != MentionKind::Franchise).map(|m| m.id.clone()).collect();
        for id in named {
            let Some(slot) = (0..vocab.titles.len()).find(|&s| vocab.titles.entry(s).is_some_and(|e| e.id == id)) else { continue };
            for f in vocab.titles.franchise(slot) {
                if let Some(e) = vocab.titles.entry(f) {
                    if !out.items.iter().any(|m| m.id == e.id) {
                        out.items.push(ItemMention { id: e.id.clone(), title: e.title.clone(), kind: MentionKind::Franchise, phrase: "(model) sequels".into() });
                    }
                }
            }
        }
    }
    out.summarize();
    (out, refused)
}

/// The catalog title a proposed title names, if its content words all
/// appear in the request.
fn link_title(vocab: &Vocabulary, title: &str, request_words: &[String]) -> Option<usize> {
    let tokens = tokenize(title);
    let TitleMatch { end, entries, .. } = vocab.titles.match_at(&tokens, 0)?;
    if end + 1 < tokens.len() {
        return None;
    }
    let slot = *entries.first()?;
    let e = vocab.titles.entry(slot)?;
    let grounded = e.tokens.iter().filter(|w| !is_stopword(w)).all(|w| request_words.contains(w));
    grounded.then_some(slot)
}
