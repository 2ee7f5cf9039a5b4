//! The layout of a catalog item as a record in a candidate engine (a vector
//! database such as Chroma), written by `recagent build-catalog --to …` and
//! read back from the engine's answers.
//!
//! A record is the item id, its text as the document, its text embedding as
//! the vector, and flat metadata:
//!
//! | field | holds |
//! |---|---|
//! | the attribute's own name | its value: a number, a string, or an array of strings (a missing value has no field) |
//! | `rc.title`, `rc.image` | the title, the image reference |
//! | `rc.popularity` | the interaction count from public logs |
//! | `rc.f.<attribute>` (text and tag attributes) | lower-cased copies the engine filters on: the tags, or the whole text and its words |
//! | `rc.seq` (items the sequence model covers) | the item's rows of the sequence model, base64 of little-endian f32: output vector, bias, input vector ([`Candidate::sequence`]; written and read by the engine adapter) |
//!
//! Everything in a record is public catalog data; nothing about a user is
//! ever written to or read from it.

use serde_json::{Map, Value};

use super::attributes::{words, AttributeDef, AttributeKind, AttributeValue};
use super::item_ref::{ItemRef, ValueRef};
use super::Item;
use crate::error::{Error, Result};
use crate::platform::Candidate;

/// The version of this layout: part of the build a push stamps on every
/// record, so records an older layout wrote are written again (2: items
/// carry `rc.seq`).
pub const LAYOUT_VERSION: u32 = 2;

/// The metadata field of an item's title.
pub const TITLE_FIELD: &str = "rc.title";
/// The metadata field of an item's image reference.
pub const IMAGE_FIELD: &str = "rc.image";
/// The metadata field of an item's popularity (interaction count).
pub const POPULARITY_FIELD: &str = "rc.popularity";

/// The metadata field of an item's rows of the sequence model (see
/// [`encode_sequence`]).
pub const SEQUENCE_FIELD: &str = "rc.seq";

/// The most values a record's sequence rows may hold: output and input
/// vectors of at most 1,024 values each and the bias.
pub const MAX_SEQUENCE_VALUES: usize = 2 * 1024 + 1;

/// An item's rows of the sequence model ([`Candidate::sequence`]) as the
/// text of its [`SEQUENCE_FIELD`]: base64 of the little-endian f32 values.
pub fn encode_sequence(row: &[f32]) -> String {
    crate::vectors::encode_f32(row)
}

/// The values of a [`SEQUENCE_FIELD`] text: at most
/// [`MAX_SEQUENCE_VALUES`], every one finite; anything else is
/// [`Error::Engine`].
pub fn decode_sequence(text: &str) -> Result<Vec<f32>> {
    // 4 base64 characters per 3 bytes, 4 bytes per value.
    if text.len() > (MAX_SEQUENCE_VALUES * 4).div_ceil(3) * 4 {
        return Err(Error::Engine(format!("{SEQUENCE_FIELD} holds more than {MAX_SEQUENCE_VALUES} values")));
    }
    let values = crate::vectors::decode_f32(text).map_err(|e| Error::Engine(format!("{SEQUENCE_FIELD}: {e}")))?;
    if values.is_empty() || values.len() > MAX_SEQUENCE_VALUES || values.iter().any(|x| !x.is_finite()) {
        return Err(Error::Engine(format!("{SEQUENCE_FIELD} holds no values, too many or a non-finite one")));
    }
    Ok(values)
}

/// The longest string and the most tags a record may bring (larger ones are
/// refused as [`Error::Engine`]).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// The most tags in one attribute of one record.
pub const MAX_TAGS: usize = 1_000;

/// The lower-cased field the engine filters attribute `name` on.
pub fn filter_field(name: &str) -> String {
    format!("rc.f.{name}")
}

/// The record of one catalog item with its vector (see the module docs).
pub fn to_record(attributes: &[AttributeDef], item: &ItemRef<'_>, popularity: f32, vector: Vec<f32>) -> Candidate {
    let mut metadata = Map::new();
    metadata.insert(TITLE_FIELD.into(), Value::from(item.title()));
    if let Some(image) = item.image() {
        metadata.insert(IMAGE_FIELD.into(), Value::from(image));
    }
    if popularity.is_finite() {
        metadata.insert(POPULARITY_FIELD.into(), Value::from(f64::from(popularity)));
    }
    for (def, value) in attributes.iter().zip(item.values()) {
        match value {
            ValueRef::Missing => {}
            ValueRef::Number(n) => {
                if let Some(n) = serde_json::Number::from_f64(n) {
                    metadata.insert(def.name.clone(), Value::Number(n));
                }
            }
            ValueRef::Text(t) => {
                metadata.insert(def.name.clone(), Value::from(t));
                let whole = t.to_lowercase();
                let mut copies: Vec<String> = words(t).filter(|w| *w != whole).collect();
                copies.sort();
                copies.dedup();
                copies.insert(0, whole);
                metadata.insert(filter_field(&def.name), Value::from(copies));
            }
            ValueRef::Tags(tags) => {
                if tags.is_empty() {
                    continue;
                }
                metadata.insert(def.name.clone(), Value::from(tags.to_vec()));
                let mut lower: Vec<String> = tags.iter().map(str::to_lowercase).collect();
                lower.sort();
                lower.dedup();
                metadata.insert(filter_field(&def.name), Value::from(lower));
            }
        }
    }
    Candidate {
        sequence: None,
        id: item.id().to_string(),
        document: Some(item.text().into_owned()),
        metadata,
        vector,
    }
}

/// An item read back from an engine's record, checked against the
/// catalog's `attributes`: returns the item and its popularity (0 when the
/// record has none). A field of the wrong type, an over-long string or tag
/// list, or a non-finite number is [`Error::Engine`].
pub fn from_record(attributes: &[AttributeDef], record: &Candidate) -> Result<(Item, f32)> {
    let bad = |what: String| Err(Error::Engine(format!("record {:?}: {what}", truncate(&record.id))));
    if record.id.is_empty() || record.id.len() > MAX_FIELD_BYTES {
        return bad("an empty or over-long id".into());
    }
    let text = |field: &str| -> Result<Option<String>> {
        match record.metadata.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() <= MAX_FIELD_BYTES => Ok(Some(s.clone())),
            Some(_) => Err(Error::Engine(format!("record {:?}: field {field} is not a string of at most 64 KiB", truncate(&record.id)))),
        }
    };
    let title = text(TITLE_FIELD)?.unwrap_or_else(|| record.id.clone());
    let image = text(IMAGE_FIELD)?;
    let popularity = match record.metadata.get(POPULARITY_FIELD) {
        None | Some(Value::Null) => 0.0,
        Some(v) => match v.as_f64() {
            Some(p) if p.is_finite() && p >= 0.0 && p <= f64::from(f32::MAX) => p as f32,
            _ => return bad(format!("{POPULARITY_FIELD} is not a finite count")),
        },
    };
    let mut values = Vec::with_capacity(attributes.len());
    for def in attributes {
        let value = match (def.kind, record.metadata.get(&def.name)) {
            (_, None | Some(Value::Null)) => AttributeValue::Missing,
            (AttributeKind::Number, Some(v)) => match v.as_f64() {
                Some(n) if n.is_finite() => AttributeValue::Number(n),
                _ => return bad(format!("{} is not a finite number", def.name)),
            },
            (AttributeKind::Text, Some(Value::String(s))) if s.len() <= MAX_FIELD_BYTES => AttributeValue::Text(s.clone()),
            (AttributeKind::Tags, Some(Value::Array(a))) if a.len() <= MAX_TAGS => {
                let mut tags = Vec::with_capacity(a.len());
                for t in a {
                    match t.as_str() {
                        Some(t) if t.len() <= MAX_FIELD_BYTES => tags.push(t.to_string()),
                        _ => return bad(format!("{} holds a tag that is not a string of at most 64 KiB", def.name)),
                    }
                }
                AttributeValue::Tags(tags)
            }
            (kind, Some(_)) => return bad(format!("{} does not hold a {kind:?} value", def.name)),
        };
        values.push(value);
    }
    let text = match &record.document {
        Some(d) if d.len() <= MAX_FIELD_BYTES => d.clone(),
        Some(_) => return bad("an over-long document".into()),
        None => title.clone(),
    };
    Ok((
        Item {
            id: record.id.clone(),
            title,
            text,
            image,
            values,
        },
        popularity,
    ))
}

fn truncate(id: &str) -> String {
    id.chars().take(64).collect()
}
