//! Tool arguments: lenient parsing of the model's JSON text, a validator
//! for the JSON-schema subset our tool schemas use, and repair of the
//! mistakes small models make.
//!
//! Supported keywords: `type` (object, string, integer, number, boolean,
//! array, null, or a list of them), `properties`, `required`,
//! `additionalProperties: false`, `enum`, `minimum`/`maximum`,
//! `minLength`/`maxLength`, `items`, `minItems`/`maxItems`.

use serde_json::{Map, Value};

/// Parses a tool call's argument text: JSON, or JSON inside a ```json
/// fence; an empty text is `{}`. `None` when it is not JSON.
pub fn parse_arguments(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some(Value::Object(Map::new()));
    }
    if let Ok(v) = serde_json::from_str(trimmed) {
        return Some(v);
    }
    let inner = trimmed.strip_prefix("```")?;
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    let inner = inner.trim_end().strip_suffix("```")?;
    serde_json::from_str(inner.trim()).ok()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn allowed_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_ok(wanted: &str, v: &Value) -> bool {
    let actual = type_name(v);
    wanted == actual || (wanted == "number" && actual == "integer")
}

/// Checks `value` against `schema`; the errors name the JSON path.
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    check(schema, value, "$", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let types = allowed_types(schema);
    if !types.is_empty() && !types.iter().any(|t| type_ok(t, value)) {
        errors.push(format!("{path}: expected {}, got {}", types.join(" or "), type_name(value)));
        return;
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(value) {
            errors.push(format!("{path}: not one of the allowed values"));
        }
    }
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                if x.is_nan() || x < min {
                    errors.push(format!("{path}: below the minimum {min}"));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                if x.is_nan() || x > max {
                    errors.push(format!("{path}: above the maximum {max}"));
                }
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                if len < min {
                    errors.push(format!("{path}: shorter than {min} characters"));
                }
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if len > max {
                    errors.push(format!("{path}: longer than {max} characters"));
                }
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if len < min {
                    errors.push(format!("{path}: fewer than {min} items"));
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                if len > max {
                    errors.push(format!("{path}: more than {max} items"));
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(Value::Array(required)) = schema.get("required") {
                for r in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(r) {
                        errors.push(format!("{path}: missing required property \"{r}\""));
                    }
                }
            }
            for (k, v) in map {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check(s, v, &format!("{path}.{k}"), errors),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{path}: unknown property \"{k}\""));
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
}

/// Repairs the usual small-model mistakes, then validates again: a JSON
/// string holding the arguments object is parsed; `"5"` → `5` and `5` →
/// `"5"` where the schema wants the other type; a lone value → `[value]`
/// for arrays; unknown properties are dropped when `additionalProperties`
/// is false; schema echoes are dropped as in [`drop_schema_echoes`].
/// `None` when the result is still invalid (or a required field was echoed).
pub fn repair(schema: &Value, value: &Value) -> Option<Value> {
    let value = drop_schema_echoes(schema, value.clone()).ok()?;
    let fixed = fix(schema, &value);
    validate(schema, &fixed).ok().map(|()| fixed)
}

fn fix(schema: &Value, value: &Value) -> Value {
    let types = allowed_types(schema);
    if types.is_empty() || types.iter().any(|t| type_ok(t, value)) {
        return fix_inside(schema, value.clone());
    }
    for t in &types {
        let converted = match (*t, value) {
            ("object", Value::String(s)) => serde_json::from_str::<Value>(s.trim()).ok().filter(|v| type_ok(t, v)),
            ("array", Value::String(s)) => serde_json::from_str::<Value>(s.trim())
                .ok()
                .filter(|v| type_ok(t, v))
                .or_else(|| Some(Value::Array(vec![value.clone()]))),
            ("integer", Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
            ("integer", Value::Number(n)) => n.as_f64().filter(|f| f.fract() == 0.0).map(|f| Value::from(f as i64)),
            ("number", Value::String(s)) => s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number),
            ("boolean", Value::String(s)) => match s.trim() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            ("string", Value::Number(n)) => Some(Value::String(n.to_string())),
            ("string", Value::Bool(b)) => Some(Value::String(b.to_string())),
            ("array", v) if !v.is_null() => Some(Value::Array(vec![v.clone()])),
            _ => None,
        };
        if let Some(v) = converted {
            return fix_inside(schema, v);
        }
    }
    value.clone()
}

fn fix_inside(schema: &Value, value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            let mut out = Map::new();
            for (k, v) in map {
                match props.and_then(|p| p.get(&k)) {
                    Some(s) => {
                        out.insert(k, fix(s, &v));
                    }
                    None if closed => {}
                    None => {
                        out.insert(k, v);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => match schema.get("items") {
            Some(s) => Value::Array(items.iter().map(|v| fix(s, v)).collect()),
            None => Value::Array(items),
        },
        other => other,
    }
}

/// Parses, validates and if needed repairs a tool call's argument text:
/// the arguments to run the tool with, or why they were refused. Schema
/// echoes are handled first ([`drop_schema_echoes`]): echoed optional
/// fields are dropped, an echoed required field or an echo of the whole
/// schema is refused with a reason saying the arguments echoed the schema.
pub fn check_arguments(schema: &Value, text: &str) -> Result<Value, String> {
    let value = parse_arguments(text).ok_or_else(|| "arguments are not valid JSON".to_string())?;
    let value = drop_schema_echoes(schema, value)?;
    if validate(schema, &value).is_ok() {
        return Ok(value);
    }
    let fixed = fix(schema, &value);
    match validate(schema, &fixed) {
        Ok(()) => Ok(fixed),
        Err(errors) => Err(format!("invalid arguments: {}", errors.join("; "))),
    }
}

/// The keywords a JSON-schema object is made of.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type", "properties", "required", "additionalProperties", "maxLength", "minLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "items", "minItems", "maxItems", "enum", "const", "description",
    "default", "format", "pattern", "title", "examples", "$schema", "anyOf", "oneOf", "allOf", "nullable",
];

/// Whether `key: value` is something only a schema says (a `description`
/// or `title` alone is ordinary data; `items` must be a schema, not a list).
fn is_schema_marker(key: &str, value: &Value) -> bool {
    match key {
        "properties" | "items" => value.is_object(),
        "additionalProperties" => value.is_boolean() || value.is_object(),
        "maxLength" | "minLength" | "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "minItems" | "maxItems" => value.is_number(),
        "anyOf" | "oneOf" | "allOf" => value.is_array(),
        "$schema" => value.is_string(),
        _ => false,
    }
}

const TYPE_NAMES: &[&str] = &["object", "string", "integer", "number", "boolean", "array", "null"];

/// Whether `value` looks like a JSON-schema object rather than data: an
/// object whose keys are all schema keywords (`type`, `properties`,
/// `maxLength`, `description`, …) and that has a `type` naming JSON types
/// (`"string"`, `["integer", "null"]`) or a keyword only schemas use
/// (`properties` or `items` holding an object, a numeric `maxLength` or
/// `minimum`, …). `{"type": "movie"}`, `{"title": "Alien"}` and
/// `{"items": ["1"]}` are data.
pub fn looks_like_schema(value: &Value) -> bool {
    let Value::Object(map) = value else { return false };
    if map.is_empty() || !map.keys().all(|k| SCHEMA_KEYWORDS.contains(&k.as_str())) {
        return false;
    }
    let typed = match map.get("type") {
        Some(Value::String(t)) => TYPE_NAMES.contains(&t.as_str()),
        Some(Value::Array(ts)) => !ts.is_empty() && ts.iter().all(|t| t.as_str().is_some_and(|t| TYPE_NAMES.contains(&t))),
        _ => false,
    };
    typed || map.iter().any(|(k, v)| is_schema_marker(k, v))
}

/// Whether `value`, given where `schema` expects a value, is an echo of a
/// schema: it looks like one ([`looks_like_schema`], also when written as
/// a JSON string) and `schema` does not itself declare those keys as
/// properties (an object that may legitimately hold a `type` field).
fn is_echo(schema: &Value, value: &Value) -> bool {
    let parsed;
    let value = match value {
        Value::String(s) if s.trim_start().starts_with('{') => match serde_json::from_str::<Value>(s.trim()) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => return false,
        },
        other => other,
    };
    if !looks_like_schema(value) {
        return false;
    }
    let declared = schema.get("properties").and_then(Value::as_object);
    !value.as_object().is_some_and(|m| m.keys().any(|k| declared.is_some_and(|d| d.contains_key(k))))
}

/// Small models paste a tool's JSON schema in as its arguments
/// (`{"query": {"type": "string", "maxLength": 500}}`). This drops every
/// echoed value, at any depth of object properties and array items, where
/// the field is optional, and refuses (with a reason saying the arguments
/// echoed the schema) when a required field is echoed or the whole
/// arguments object is an echo of the schema. Values that are not echoes
/// are returned unchanged.
pub fn drop_schema_echoes(schema: &Value, value: Value) -> Result<Value, String> {
    if is_echo(schema, &value) {
        return Err("the arguments echoed the schema instead of giving values".to_string());
    }
    drop_echoes_inside(schema, value, "$")
}

fn drop_echoes_inside(schema: &Value, value: Value, path: &str) -> Result<Value, String> {
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let required: Vec<&str> = match schema.get("required") {
                Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let mut out = Map::new();
            for (k, v) in map {
                let field_schema = props.and_then(|p| p.get(&k)).unwrap_or(&Value::Null);
                if is_echo(field_schema, &v) {
                    if required.contains(&k.as_str()) {
                        return Err(format!(
                            "the arguments echoed the schema: {path}.{k} is a schema, not a value (give the value itself)"
                        ));
                    }
                    continue;
                }
                let v = drop_echoes_inside(field_schema, v, &format!("{path}.{k}"))?;
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.into_iter().enumerate() {
                if is_echo(item_schema, &v) {
                    continue;
                }
                out.push(drop_echoes_inside(item_schema, v, &format!("{path}[{i}]"))?);
            }
            Ok(Value::Array(out))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "k": {"type": "integer", "minimum": 1, "maximum": 50},
                "query": {"type": "string", "minLength": 1, "maxLength": 20},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "diversity": {"type": "number", "minimum": 0, "maximum": 1},
                "flag": {"type": ["boolean", "null"]}
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    #[test]
    fn validates_each_keyword() {
        let s = schema();
        assert!(validate(&s, &json!({"query": "x", "k": 5, "tags": ["a"], "mode": "a", "diversity": 0.5, "flag": null})).is_ok());
        let bad = |v: Value| validate(&s, &v).unwrap_err().join(" ");
        assert!(bad(json!({})).contains("missing required"));
        assert!(bad(json!({"query": "x", "k": 0})).contains("minimum"));
        assert!(bad(json!({"query": "x", "k": 51})).contains("maximum"));
        assert!(bad(json!({"query": "x", "k": 2.5})).contains("expected integer"));
        assert!(bad(json!({"query": ""})).contains("shorter"));
        assert!(bad(json!({"query": "x".repeat(21)})).contains("longer"));
        assert!(bad(json!({"query": "x", "tags": []})).contains("fewer"));
        assert!(bad(json!({"query": "x", "tags": ["a", "b", "c", "d"]})).contains("more than"));
        assert!(bad(json!({"query": "x", "tags": [1]})).contains("$.tags[0]"));
        assert!(bad(json!({"query": "x", "mode": "c"})).contains("allowed values"));
        assert!(bad(json!({"query": "x", "other": 1})).contains("unknown property"));
        assert!(bad(json!({"query": "x", "flag": "yes"})).contains("boolean or null"));
        assert!(bad(json!([1])).contains("expected object"));
    }

    #[test]
    fn repairs_what_it_can() {
        let s = schema();
        assert_eq!(repair(&s, &json!({"query": "x", "k": "5"})), Some(json!({"query": "x", "k": 5})));
        assert_eq!(repair(&s, &json!({"query": 1995})), Some(json!({"query": "1995"})));
        assert_eq!(repair(&s, &json!({"query": "x", "tags": "a"})), Some(json!({"query": "x", "tags": ["a"]})));
        assert_eq!(repair(&s, &json!({"query": "x", "extra": true})), Some(json!({"query": "x"})));
        assert_eq!(repair(&s, &json!("{\"query\": \"x\", \"k\": \"3\"}")), Some(json!({"query": "x", "k": 3})));
        assert_eq!(repair(&s, &json!({"query": "x", "diversity": "0.5"})), Some(json!({"query": "x", "diversity": 0.5})));
        assert_eq!(repair(&s, &json!({"query": "x", "k": "many"})), None);
        assert_eq!(repair(&s, &json!({"query": "x", "k": 500})), None);
        assert_eq!(repair(&s, &json!({"k": 3})), None);
    }

    #[test]
    fn parses_argument_text() {
        assert_eq!(parse_arguments(" {\"a\": 1} "), Some(json!({"a": 1})));
        assert_eq!(parse_arguments("```json\n{\"a\": 1}\n```"), Some(json!({"a": 1})));
        assert_eq!(parse_arguments(""), Some(json!({})));
        assert_eq!(parse_arguments("{a: 1"), None);
        let s = schema();
        assert_eq!(check_arguments(&s, "{\"query\":\"x\",\"k\":\"2\"}"), Ok(json!({"query": "x", "k": 2})));
        assert!(check_arguments(&s, "not json").unwrap_err().contains("not valid JSON"));
        assert!(check_arguments(&s, "{\"k\": 2}").unwrap_err().contains("missing required"));
    }

    fn search_schema() -> Value {
        json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500}, "filters": {"type": "object", "description": "Filters"}, "k": {"type": "integer", "minimum": 1, "maximum": 50}}, "required": ["query"], "additionalProperties": false})
    }

    fn recommend_schema() -> Value {
        json!({"type": "object", "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 50}, "query": {"type": "string", "maxLength": 500}, "filters": {"type": "object", "description": "Filters"}, "diversity": {"type": "number", "minimum": 0, "maximum": 1}}, "additionalProperties": false})
    }

    #[test]
    fn tells_schema_objects_from_data() {
        for schema_like in [
            json!({"type": "string", "maxLength": 500}),
            json!({"type": "string"}),
            json!({"type": ["integer", "null"]}),
            json!({"type": "object", "description": "Filters: …"}),
            json!({"maxLength": 500}),
            json!({"properties": {"a": {}}}),
            json!({"type": "array", "items": {"type": "string"}, "minItems": 1}),
        ] {
            assert!(looks_like_schema(&schema_like), "{schema_like}");
        }
        for data in [
            json!({"type": "movie"}),
            json!({"title": "Alien"}),
            json!({"items": ["1", "2"]}),
            json!({"description": "a film"}),
            json!({"where": [{"attribute": "class", "has": "Horror"}]}),
            json!({}),
            json!("string"),
            json!(5),
        ] {
            assert!(!looks_like_schema(&data), "{data}");
        }
    }

    #[test]
    fn schema_echoes_are_dropped_when_optional_and_refused_when_required() {
        let r = recommend_schema();
        // Every field echoed: all optional, all dropped.
        let echo = r#"{"query": {"maxLength": 500, "type": "string"}, "k": {"type": "integer", "minimum": 1, "maximum": 50}}"#;
        assert_eq!(check_arguments(&r, echo), Ok(json!({})));
        // A real value is kept next to a dropped echo.
        let mixed = r#"{"query": "space adventure", "filters": {"type": "object", "description": "Filters"}, "k": 5}"#;
        assert_eq!(check_arguments(&r, mixed), Ok(json!({"query": "space adventure", "k": 5})));
        // The echo written as a JSON string is an echo too.
        let in_string = r#"{"query": "{\"type\": \"string\", \"maxLength\": 500}", "k": 3}"#;
        assert_eq!(check_arguments(&r, in_string), Ok(json!({"k": 3})));
        // A required field echoed: refused, and the reason says so.
        let s = search_schema();
        let err = check_arguments(&s, r#"{"query": {"type": "string", "maxLength": 500}}"#).unwrap_err();
        assert!(err.contains("echoed the schema") && err.contains("$.query"), "{err}");
        // The whole schema pasted in as the arguments: refused, even without required fields.
        let whole = serde_json::to_string(&r).unwrap();
        assert!(check_arguments(&r, &whole).unwrap_err().contains("echoed the schema"));
        let whole = serde_json::to_string(&s).unwrap();
        assert!(check_arguments(&s, &whole).unwrap_err().contains("echoed the schema"));
        // repair() agrees.
        assert_eq!(repair(&r, &json!({"query": {"type": "string"}, "k": "4"})), Some(json!({"k": 4})));
        assert_eq!(repair(&s, &json!({"query": {"type": "string"}})), None);
        // Echoed array items are dropped; a list that becomes too short is invalid as before.
        let t = schema();
        assert_eq!(check_arguments(&t, r#"{"query": "x", "tags": ["a", {"type": "string"}]}"#), Ok(json!({"query": "x", "tags": ["a"]})));
        assert!(check_arguments(&t, r#"{"query": "x", "tags": [{"type": "string"}]}"#).unwrap_err().contains("fewer"));
    }

    #[test]
    fn data_that_merely_resembles_a_schema_is_kept() {
        // An app tool whose object argument declares its own "type" field.
        let app = json!({"type": "object", "properties": {"kind": {"type": "object", "properties": {"type": {"type": "string"}, "maxLength": {"type": "integer"}}}}, "required": ["kind"]});
        let v = r#"{"kind": {"type": "string", "maxLength": 3}}"#;
        assert_eq!(check_arguments(&app, v), Ok(json!({"kind": {"type": "string", "maxLength": 3}})));
        // Ordinary values pass untouched.
        let r = recommend_schema();
        let ok = r#"{"query": "type string", "filters": {"where": [{"attribute": "class", "has": "Horror"}]}}"#;
        assert_eq!(check_arguments(&r, ok), Ok(json!({"query": "type string", "filters": {"where": [{"attribute": "class", "has": "Horror"}]}})));
        assert_eq!(check_arguments(&r, r#"{"query": "{not json"}"#), Ok(json!({"query": "{not json"})));
    }
}
