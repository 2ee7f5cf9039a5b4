//! What crosses Chroma's wire, apart from the requests themselves: the
//! `where` clause made from a query's conditions and the readers of its
//! answers (fuzzed: `fuzz/fuzz_targets/engine_answer.rs`). Every reader is
//! bounded: the record count by the query's limit, every field by the
//! record layout's limits; anything else is [`Error::Engine`].

use serde_json::{json, Map, Value};

use crate::catalog::engine_record::{decode_sequence, SEQUENCE_FIELD};
use crate::error::{Error, Result};
use crate::platform::{Candidate, FieldCondition};

/// The `id` of a collection answer (non-empty, at most 128 bytes).
pub(super) fn collection_id_of(value: &Value) -> Result<String> {
    match value.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() && id.len() <= 128 => Ok(id.to_string()),
        _ => Err(Error::Engine("the collection has no id".into())),
    }
}

/// Chroma's `where` for `conditions` (all must hold), `None` for none.
pub fn where_clause(conditions: &[FieldCondition]) -> Option<Value> {
    let one = |c: &FieldCondition| -> Value {
        match c {
            FieldCondition::Contains { field, value } => json!({ field: {"$contains": value} }),
            FieldCondition::NotContains { field, value } => json!({ field: {"$not_contains": value} }),
            FieldCondition::ContainsAny { field, values } => match values.as_slice() {
                [only] => json!({ field: {"$contains": only} }),
                _ => json!({"$or": values.iter().map(|v| json!({ field: {"$contains": v} })).collect::<Vec<_>>()}),
            },
            FieldCondition::AtLeast { field, value } => json!({ field: {"$gte": value} }),
            FieldCondition::AtMost { field, value } => json!({ field: {"$lte": value} }),
        }
    };
    match conditions {
        [] => None,
        [c] => Some(one(c)),
        many => Some(json!({"$and": many.iter().map(one).collect::<Vec<_>>()})),
    }
}

/// Reads the records of an answer's bytes: `nested` for a `query` answer
/// (one list per query embedding, of which there is one), else a `get`
/// answer; at most `limit` records. Anything else is [`Error::Engine`].
/// (What the fuzz target `engine_answer` drives.)
pub fn parse_answer(bytes: &[u8], nested: bool, limit: usize) -> Result<Vec<Candidate>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::Engine(format!("the answer is not JSON ({e})")))?;
    read_records(&value, nested, limit)
}

/// [`parse_answer`] over parsed JSON.
pub(super) fn read_records(value: &Value, nested: bool, limit: usize) -> Result<Vec<Candidate>> {
    let field = |name: &str| -> Option<&Vec<Value>> {
        let v = value.get(name)?;
        let v = if nested { v.as_array()?.first()? } else { v };
        v.as_array()
    };
    let ids = field("ids").ok_or_else(|| Error::Engine("the answer has no ids".into()))?;
    if ids.len() > limit {
        return Err(Error::Engine(format!("{} records for a limit of {limit}", ids.len())));
    }
    let empty = Vec::new();
    let documents = field("documents").unwrap_or(&empty);
    let metadatas = field("metadatas").unwrap_or(&empty);
    let embeddings = field("embeddings").ok_or_else(|| Error::Engine("the answer has no embeddings".into()))?;
    if embeddings.len() != ids.len() || (!documents.is_empty() && documents.len() != ids.len()) || (!metadatas.is_empty() && metadatas.len() != ids.len()) {
        return Err(Error::Engine("the answer's lists have different lengths".into()));
    }
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let id = id.as_str().ok_or_else(|| Error::Engine(format!("record {i}: the id is not a string")))?;
        let vector = embeddings
            .get(i)
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Engine(format!("record {i}: no embedding")))?;
        if vector.len() > 65_536 {
            return Err(Error::Engine(format!("record {i}: an embedding of {} values", vector.len())));
        }
        let vector = vector
            .iter()
            .map(|x| x.as_f64().map(|x| x as f32).filter(|x| x.is_finite()))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| Error::Engine(format!("record {i}: an embedding value that is not a finite number")))?;
        let document = match documents.get(i) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(Error::Engine(format!("record {i}: the document is not a string"))),
        };
        let mut metadata = match metadatas.get(i) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(Error::Engine(format!("record {i}: the metadata is not an object"))),
        };
        // The item's rows of the sequence model travel as one metadata text.
        let sequence = match metadata.remove(SEQUENCE_FIELD) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(decode_sequence(&text).map_err(|e| Error::Engine(format!("record {i}: {e}")))?),
            Some(_) => return Err(Error::Engine(format!("record {i}: {SEQUENCE_FIELD} is not a string"))),
        };
        out.push(Candidate {
            sequence,
            id: id.to_string(),
            document,
            metadata,
            vector,
        });
    }
    Ok(out)
}
