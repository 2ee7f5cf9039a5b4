//! An app's own items and interactions, as plain records (a JSON object, a
//! CSV row, a JS object), turned into what a [`Catalog`](super::Catalog) is
//! built from: typed attributes, [`Item`]s with the text to embed, and
//! interactions resolved to item indices.
//!
//! The same rules serve `recagent build-catalog --items` (native) and
//! `Recommender.create({ items })` (in the browser), so a catalog built on
//! the device and one built by the CLI from the same records agree.
//!
//! Every record comes from outside: sizes are checked against the limits
//! below before anything they declare is kept, and a bad record is a
//! [`RecordError`] naming its position (the caller turns it into a file and
//! line number, or an index into the app's array).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::attributes::{format_float, record_text, AttributeDef, AttributeKind, AttributeValue};
use super::Item;

/// Most items one set of records may hold.
pub const MAX_ITEMS: usize = 2_000_000;
/// Longest `id` (and interaction `user`) in bytes.
pub const MAX_ID_BYTES: usize = 1_024;
/// Longest `title` in bytes.
pub const MAX_TITLE_BYTES: usize = 4_096;
/// Longest `text` (or text attribute value) in bytes; the encoder reads only
/// its first few hundred tokens anyway.
pub const MAX_TEXT_BYTES: usize = 65_536;
/// Most attributes one item may have, and most distinct attribute names.
pub const MAX_ATTRIBUTES: usize = 256;
/// Most values in one list attribute.
pub const MAX_TAGS: usize = 1_024;

/// One item as an app describes it: `{"id", "title", "text"?, "attributes"?, "image"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// The app's id (a string, or a number written as its decimal text).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// The title people see.
    pub title: String,
    /// A description, embedded with the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Named values: a string, a number, a boolean, a list of strings or
    /// numbers, or null (missing).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// A photo: a path or URL the app (or the CLI) can read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// One logged interaction: `{"user", "item", "timestamp"?, "rating"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    /// Who (any id; only groups events into one person's sequence).
    #[serde(deserialize_with = "string_or_number")]
    pub user: String,
    /// Which item (an `id` of the items).
    #[serde(deserialize_with = "string_or_number")]
    pub item: String,
    /// When (any unit; only the order matters). Missing: the record's position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// A rating (1..=5 is explicit feedback; missing or other values are implicit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
}

/// A record that cannot be used: `index` is its position in the input (the
/// caller maps it to a line number or an array index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Position of the record in the input, from 0.
    pub index: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}: {}", self.index, self.message)
    }
}

/// Items ready for [`CatalogParts`](super::CatalogParts): declared attributes
/// and one [`Item`] per record, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordCatalog {
    /// Attributes in name order, typed from their values ([`items_from_records`]).
    pub attributes: Vec<AttributeDef>,
    /// The items; each one's `text` is what the text encoder embeds.
    pub items: Vec<Item>,
}

/// One interaction resolved against the items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedInteraction {
    /// Dense user number (first appearance order).
    pub user: u32,
    /// Index of the item in [`RecordCatalog::items`].
    pub item: u32,
    /// The rating, or 0 for implicit feedback.
    pub rating: f32,
    /// The timestamp, or the record's position when it had none.
    pub timestamp: f64,
}

/// What [`resolve_interactions`] kept and skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedInteractions {
    /// The usable interactions, in input order.
    pub interactions: Vec<ResolvedInteraction>,
    /// Distinct users among them.
    pub users: usize,
    /// Records naming an item the items do not have (skipped, not an error:
    /// logs often mention items no longer sold).
    pub unknown_items: usize,
}

/// Accepts `"42"` and `42` alike (ids in JSON are often numbers).
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(number_id(&n)),
        other => Err(serde::de::Error::custom(format!("expected a string or a number, found {}", kind_name(&other)))),
    }
}

/// A numeric id as text: `12` whether it arrived as the integer 12 or the
/// float 12.0 (JavaScript numbers reach serde as floats), so the same id
/// from JSON and from JS is the same item.
fn number_id(n: &serde_json::Number) -> String {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < EXACT => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

fn kind_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// What one attribute's values have been so far.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    numbers: bool,
    strings: bool,
    lists: bool,
}

impl Seen {
    /// Numbers only → `Number`; any list → `Tags`; else `Text`.
    fn kind(self) -> AttributeKind {
        if self.lists {
            AttributeKind::Tags
        } else if self.numbers && !self.strings {
            AttributeKind::Number
        } else {
            AttributeKind::Text
        }
    }
}

fn check_len(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("{what} is {} bytes, more than the {max} allowed", s.len()));
    }
    Ok(())
}

/// A JSON number as a finite f64, or why not.
fn finite(n: &serde_json::Number) -> Result<f64, String> {
    match n.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{n} is not a finite number")),
    }
}

/// Checks one record's fields and notes its attributes' value kinds.
fn check_record(record: &ItemInput, seen: &mut BTreeMap<String, Seen>) -> Result<(), String> {
    if record.id.trim().is_empty() {
        return Err("\"id\" is empty".into());
    }
    check_len("\"id\"", &record.id, MAX_ID_BYTES)?;
    if record.title.trim().is_empty() {
        return Err("\"title\" is empty".into());
    }
    check_len("\"title\"", &record.title, MAX_TITLE_BYTES)?;
    if let Some(text) = &record.text {
        check_len("\"text\"", text, MAX_TEXT_BYTES)?;
    }
    if let Some(image) = &record.image {
        check_len("\"image\"", image, MAX_TEXT_BYTES)?;
    }
    if record.attributes.len() > MAX_ATTRIBUTES {
        return Err(format!("{} attributes, more than the {MAX_ATTRIBUTES} allowed", record.attributes.len()));
    }
    for (name, value) in &record.attributes {
        let what = format!("attribute {name:?}");
        if name.trim().is_empty() {
            return Err("an attribute has an empty name".into());
        }
        check_len(&what, name, MAX_ID_BYTES)?;
        if !seen.contains_key(name) && seen.len() >= MAX_ATTRIBUTES {
            return Err(format!("more than {MAX_ATTRIBUTES} distinct attribute names"));
        }
        let entry = seen.entry(name.clone()).or_default();
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::Bool(_) => entry.strings = true,
            serde_json::Value::Number(n) => {
                finite(n).map_err(|e| format!("{what}: {e}"))?;
                entry.numbers = true;
            }
            serde_json::Value::String(s) => {
                check_len(&what, s, MAX_TEXT_BYTES)?;
                entry.strings = true;
            }
            serde_json::Value::Array(values) => {
                if values.len() > MAX_TAGS {
                    return Err(format!("{what} has {} values, more than the {MAX_TAGS} allowed", values.len()));
                }
                for v in values {
                    match v {
                        serde_json::Value::String(s) => check_len(&what, s, MAX_ID_BYTES)?,
                        serde_json::Value::Number(n) => {
                            finite(n).map_err(|e| format!("{what}: {e}"))?;
                        }
                        other => return Err(format!("{what}: a list may hold strings and numbers, not {}", kind_name(other))),
                    }
                }
                entry.lists = true;
            }
            serde_json::Value::Object(_) => {
                return Err(format!("{what} is an object; use a string, a number, a boolean or a list"));
            }
        }
    }
    Ok(())
}

/// One value converted to its attribute's kind (checked by [`check_record`]).
fn typed_value(value: Option<&serde_json::Value>, kind: AttributeKind) -> AttributeValue {
    let text_of = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => n.as_f64().map(format_float),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match (value, kind) {
        (None | Some(serde_json::Value::Null), _) => AttributeValue::Missing,
        (Some(serde_json::Value::Number(n)), AttributeKind::Number) => {
            n.as_f64().map_or(AttributeValue::Missing, AttributeValue::Number)
        }
        (Some(serde_json::Value::Array(values)), _) => {
            let tags: Vec<String> = values.iter().filter_map(text_of).filter(|t| !t.is_empty()).collect();
            if tags.is_empty() { AttributeValue::Missing } else { AttributeValue::Tags(tags) }
        }
        (Some(v), AttributeKind::Tags) => match text_of(v) {
            Some(t) if !t.is_empty() => AttributeValue::Tags(vec![t]),
            _ => AttributeValue::Missing,
        },
        (Some(v), _) => match text_of(v) {
            Some(t) if !t.is_empty() => AttributeValue::Text(t),
            _ => AttributeValue::Missing,
        },
    }
}

/// The text the encoder embeds for an item: its title, its description,
/// then `Label: value` for every attribute that has one (numbers included),
/// joined with `". "`, the same shape the CLI gives dataset items (only a
/// space after a part that already ends a sentence with `.`, `!` or `?`).
pub fn item_text(title: &str, text: Option<&str>, attributes: &[AttributeDef], values: &[AttributeValue]) -> String {
    record_text(attributes, title, text, values.iter().map(AttributeValue::as_ref))
}

/// Turns records into typed attributes and items. An attribute is a
/// `number` when every value it has is a number, `tags` when any value is a
/// list, `text` otherwise (numbers and booleans then kept as their text).
/// Errors: no records, more than [`MAX_ITEMS`], a duplicate or empty id, an
/// empty title, a field over its size limit, a non-finite number, an object
/// as a value.
pub fn items_from_records(records: &[ItemInput]) -> Result<RecordCatalog, RecordError> {
    let fail = |index: usize, message: String| RecordError { index, message };
    if records.is_empty() {
        return Err(fail(0, "there are no items".into()));
    }
    if records.len() > MAX_ITEMS {
        return Err(fail(MAX_ITEMS, format!("{} items, more than the {MAX_ITEMS} allowed", records.len())));
    }
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        check_record(record, &mut seen).map_err(|m| fail(i, m))?;
        if let Some(first) = ids.insert(record.id.as_str(), i) {
            return Err(fail(i, format!("id {:?} was already used by record {first}", record.id)));
        }
    }
    let attributes: Vec<AttributeDef> = seen
        .iter()
        .map(|(name, s)| AttributeDef { name: name.clone(), kind: s.kind() })
        .collect();
    let items = records
        .iter()
        .map(|r| {
            let values: Vec<AttributeValue> = attributes
                .iter()
                .map(|a| typed_value(r.attributes.get(&a.name), a.kind))
                .collect();
            Item {
                id: r.id.clone(),
                title: r.title.trim().to_string(),
                text: item_text(&r.title, r.text.as_deref(), &attributes, &values),
                image: r.image.clone().filter(|s| !s.trim().is_empty()),
                values,
            }
        })
        .collect();
    Ok(RecordCatalog { attributes, items })
}

/// Resolves interactions against `items`: unknown items are counted and
/// skipped; users get dense numbers; a missing timestamp is the record's
/// position. Errors: an empty or oversized user or item, a non-finite
/// timestamp or rating.
pub fn resolve_interactions(items: &[Item], records: &[InteractionInput]) -> Result<ResolvedInteractions, RecordError> {
    let index: HashMap<&str, u32> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| u32::try_from(i).ok().map(|i| (item.id.as_str(), i)))
        .collect();
    let mut users: HashMap<&str, u32> = HashMap::new();
    let mut out = ResolvedInteractions::default();
    for (i, r) in records.iter().enumerate() {
        let fail = |message: String| RecordError { index: i, message };
        for (what, s) in [("\"user\"", &r.user), ("\"item\"", &r.item)] {
            if s.trim().is_empty() {
                return Err(fail(format!("{what} is empty")));
            }
            check_len(what, s, MAX_ID_BYTES).map_err(fail)?;
        }
        if let Some(t) = r.timestamp.filter(|t| !t.is_finite()) {
            return Err(fail(format!("\"timestamp\" {t} is not a finite number")));
        }
        if let Some(x) = r.rating.filter(|x| !x.is_finite()) {
            return Err(fail(format!("\"rating\" {x} is not a finite number")));
        }
        let Some(&item) = index.get(r.item.as_str()) else {
            out.unknown_items += 1;
            continue;
        };
        let next = u32::try_from(users.len()).map_err(|_| fail("too many users".into()))?;
        let user = *users.entry(r.user.as_str()).or_insert(next);
        out.interactions.push(ResolvedInteraction {
            user,
            item,
            rating: r.rating.unwrap_or(0.0) as f32,
            timestamp: r.timestamp.unwrap_or(i as f64),
        });
    }
    out.users = users.len();
    Ok(out)
}

/// Interaction counts per item (the catalog's popularity).
pub fn popularity(items: usize, interactions: &[ResolvedInteraction]) -> Vec<f32> {
    let mut counts = vec![0.0f32; items];
    for it in interactions {
        if let Some(c) = counts.get_mut(it.item as usize) {
            *c += 1.0;
        }
    }
    counts
}

/// A SHA-256 over everything a built catalog depends on, as lower-case hex:
/// the records (in their canonical JSON form), the interactions, and the
/// bytes of every model and vocabulary (`parts`, each length-prefixed so
/// that moving bytes between parts changes the key). Used to find a catalog
/// built earlier from the same inputs.
pub fn build_key(records: &[ItemInput], interactions: &[InteractionInput], parts: &[&[u8]]) -> crate::error::Result<String> {
    let mut hash = Sha256::new();
    let mut feed = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    feed(b"recagent-records-v1");
    let json = |e: serde_json::Error| crate::error::Error::InvalidInput(format!("records: {e}"));
    feed(&serde_json::to_vec(records).map_err(json)?);
    feed(&serde_json::to_vec(interactions).map_err(json)?);
    for part in parts {
        feed(part);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
