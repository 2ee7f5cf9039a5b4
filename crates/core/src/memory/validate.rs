//! The one set of rules every memory record obeys: checked before anything
//! is written (`remember`, `record`, `correct`, `push_turn`, `put_item`,
//! `import`) and again when a record is read back (a record that breaks them
//! is corrupt and set aside, see `corrupt.rs`). Because writes and reads use
//! the same rules, whatever the memory stores, exports and imports reads
//! back.
//!
//! Every check returns the reason as a sentence; callers turn it into
//! [`crate::Error::InvalidInput`] (a write) or a corrupt-record report (a read).

use super::items::{decode_f32, StoredItem};
use super::{Episode, Fact, WorkingMemory};
use crate::catalog::AttributeValue;

/// Largest id an episode or a numbered fact (`f<n>`) may have: 2^53 − 1, the
/// largest integer a JavaScript number holds exactly (ids travel through JS
/// and JSON). Allocation stops there ([`crate::Error::ResourceLimit`]) and
/// import refuses anything above.
pub const MAX_ID: u64 = (1 << 53) - 1;
/// Longest text of a record (a fact, an episode's text, item or context, a
/// turn, an added item's title, description or text), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most dimensions an embedding may have.
pub const MAX_EMBEDDING_DIMS: usize = 8192;
/// Most tags of an episode, and most values of an item attribute.
pub const MAX_TAGS: usize = 1024;
/// Most episode ids in a fact's provenance.
pub const MAX_PROVENANCE: usize = 1_000_000;
/// Most turns of an imported working memory.
pub const MAX_TURNS: usize = 10_000;
/// Largest task state of working memory, as JSON, in bytes.
pub const MAX_TASK_BYTES: usize = 1024 * 1024;
/// Longest fact id, in bytes.
pub const MAX_FACT_ID_BYTES: usize = 64;
/// Longest id of an added item, in bytes.
pub const MAX_ITEM_ID_BYTES: usize = 256;
/// Most attributes of an added item.
pub const MAX_ATTRIBUTES: usize = 1024;
/// Largest stored photo of an added item, in bytes.
pub const MAX_PHOTO_BYTES: usize = 64 * 1024 * 1024;

/// Outcome of a check: `Err` holds the reason.
pub(super) type Check = std::result::Result<(), String>;

fn finite(name: &str, v: f64) -> Check {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{name} is not a finite number ({v})"))
    }
}

fn unit(name: &str, v: f32) -> Check {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} {v} is not in 0..=1"))
    }
}

/// A text of at most [`MAX_TEXT_BYTES`].
pub(super) fn text(name: &str, t: &str) -> Check {
    if t.len() > MAX_TEXT_BYTES {
        Err(format!("{name} is {} bytes, more than {MAX_TEXT_BYTES}", t.len()))
    } else {
        Ok(())
    }
}

/// An id within [`MAX_ID`].
pub(super) fn id(name: &str, id: u64) -> Check {
    if id > MAX_ID {
        Err(format!("{name} {id} is above the largest id {MAX_ID}"))
    } else {
        Ok(())
    }
}

/// An embedding: at most [`MAX_EMBEDDING_DIMS`] finite values.
pub(super) fn embedding(name: &str, v: &[f32]) -> Check {
    if v.len() > MAX_EMBEDDING_DIMS {
        return Err(format!("{name} has {} dimensions, more than {MAX_EMBEDDING_DIMS}", v.len()));
    }
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(format!("{name} value {i} is not finite")),
        None => Ok(()),
    }
}

/// The number of a numbered fact id `f<digits>`, if it is one.
pub(super) fn fact_number(id: &str) -> Option<u64> {
    let digits = id.strip_prefix('f')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().or(Some(u64::MAX))
}

/// Whether `id` has the form of an episode id as `forget` takes it (`e<digits>`).
pub(super) fn looks_like_episode_id(id: &str) -> bool {
    id.strip_prefix('e')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// A fact id: 1..=64 ASCII letters, digits, `-`, `_`; a numbered id `f<n>`
/// within [`MAX_ID`].
pub(super) fn fact_id(f: &str) -> Check {
    let ok = !f.is_empty()
        && f.len() <= MAX_FACT_ID_BYTES
        && f.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !ok {
        return Err(format!("invalid fact id {f:?}"));
    }
    match fact_number(f) {
        Some(n) => id("fact id number", n),
        None => Ok(()),
    }
}

/// Every rule of an [`Episode`].
pub(super) fn episode(e: &Episode) -> Check {
    id("episode id", e.id)?;
    finite("episode timeMs", e.time_ms)?;
    if let Some(v) = e.value {
        if !(v.is_finite() && (1.0..=5.0).contains(&v)) {
            return Err(format!("rating must be 1..=5, got {v}"));
        }
    }
    for (name, t) in [("item", &e.item), ("text", &e.text), ("context", &e.context)] {
        if let Some(t) = t {
            text(&format!("episode {name}"), t)?;
        }
    }
    if e.tags.len() > MAX_TAGS {
        return Err(format!("an episode has {} tags, more than {MAX_TAGS}", e.tags.len()));
    }
    e.tags.iter().try_for_each(|t| text("a tag", t))
}

/// Every rule of a [`Fact`].
pub(super) fn fact(f: &Fact) -> Check {
    fact_id(&f.id)?;
    text("fact text", &f.text)?;
    unit("confidence", f.confidence)?;
    unit("importance", f.importance)?;
    finite("createdMs", f.created_ms)?;
    finite("updatedMs", f.updated_ms)?;
    if f.provenance.episodes.len() > MAX_PROVENANCE {
        return Err(format!("provenance lists more than {MAX_PROVENANCE} episodes"));
    }
    f.provenance.episodes.iter().try_for_each(|e| id("provenance episode", *e))?;
    if let Some(rule) = &f.provenance.rule {
        text("provenance rule", rule)?;
    }
    embedding("embedding", &f.embedding)
}

/// Every rule of [`WorkingMemory`].
pub(super) fn working(w: &WorkingMemory) -> Check {
    if w.turns.len() > MAX_TURNS {
        return Err(format!("working memory has {} turns, more than {MAX_TURNS}", w.turns.len()));
    }
    for t in &w.turns {
        text("a turn", &t.text)?;
        finite("a turn's timeMs", t.time_ms)?;
    }
    if let Some(task) = &w.task {
        let len = serde_json::to_vec(task).map(|v| v.len()).unwrap_or(usize::MAX);
        if len > MAX_TASK_BYTES {
            return Err(format!("the task state is more than {MAX_TASK_BYTES} bytes"));
        }
    }
    Ok(())
}

/// Every rule of a [`StoredItem`] (its embeddings decode to finite values).
pub(super) fn item(item: &StoredItem) -> Check {
    if item.id.is_empty() || item.id.len() > MAX_ITEM_ID_BYTES {
        return Err(format!("item id {:?} is empty or longer than {MAX_ITEM_ID_BYTES} bytes", item.id));
    }
    text("item title", &item.title)?;
    text("item text", &item.text)?;
    for t in [&item.description, &item.image, &item.photo_type].into_iter().flatten() {
        text("an item field", t)?;
    }
    finite("item addedMs", item.added_ms)?;
    let decoded = decode_f32(&item.text_embedding).map_err(|e| e.to_string())?;
    embedding("item text embedding", &decoded)?;
    if let Some(v) = &item.image_embedding {
        let decoded = decode_f32(v).map_err(|e| e.to_string())?;
        embedding("item image embedding", &decoded)?;
    }
    if item.attributes.len() > MAX_ATTRIBUTES {
        return Err(format!("an item has more than {MAX_ATTRIBUTES} attributes"));
    }
    for (name, value) in &item.attributes {
        text("an attribute name", name)?;
        match value {
            AttributeValue::Missing => {}
            AttributeValue::Number(n) => finite("an attribute number", *n)?,
            AttributeValue::Text(t) => text("an attribute value", t)?,
            AttributeValue::Tags(tags) => {
                if tags.len() > MAX_TAGS {
                    return Err(format!("an attribute has more than {MAX_TAGS} values"));
                }
                tags.iter().try_for_each(|t| text("an attribute value", t))?;
            }
        }
    }
    Ok(())
}

/// A photo of at most [`MAX_PHOTO_BYTES`].
pub(super) fn photo(photo: Option<&[u8]>) -> Check {
    match photo {
        Some(p) if p.len() > MAX_PHOTO_BYTES => {
            Err(format!("a photo is {} bytes, more than {MAX_PHOTO_BYTES}", p.len()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_fact_ids_and_episode_lookalikes() {
        assert_eq!(fact_number("f12"), Some(12));
        assert_eq!(fact_number("f"), None);
        assert_eq!(fact_number("fx1"), None);
        assert_eq!(fact_number("f99999999999999999999999"), Some(u64::MAX));
        assert!(fact_id("f99999999999999999999999").is_err());
        assert!(fact_id(&format!("f{MAX_ID}")).is_ok());
        assert!(fact_id(&format!("f{}", MAX_ID + 1)).is_err());
        assert!(looks_like_episode_id("e5") && !looks_like_episode_id("e") && !looks_like_episode_id("ex5"));
        assert!(fact_id("my-fact_1").is_ok() && fact_id("a b").is_err() && fact_id("").is_err());
    }

    #[test]
    fn non_finite_and_out_of_range_numbers_are_refused() {
        let mut e = Episode::new(super::super::EpisodeKind::Rating).value(f32::INFINITY);
        assert!(episode(&e).is_err());
        e.value = Some(3.0);
        e.time_ms = f64::NAN;
        assert!(episode(&e).is_err());
        e.time_ms = 1.0;
        assert!(episode(&e).is_ok());
        e.id = MAX_ID + 1;
        assert!(episode(&e).is_err());
        assert!(embedding("e", &[0.0, f32::NAN]).is_err());
        assert!(unit("c", f32::NAN).is_err() && unit("c", 1.5).is_err() && unit("c", 1.0).is_ok());
    }
}
