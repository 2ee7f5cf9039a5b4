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
/// is false. `None` when the result is still invalid.
pub fn repair(schema: &Value, value: &Value) -> Option<Value> {
    let fixed = fix(schema, value);
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
/// the arguments to run the tool with, or why they were refused.
pub fn check_arguments(schema: &Value, text: &str) -> Result<Value, String> {
    let value = parse_arguments(text).ok_or_else(|| "arguments are not valid JSON".to_string())?;
    if validate(schema, &value).is_ok() {
        return Ok(value);
    }
    let fixed = fix(schema, &value);
    match validate(schema, &fixed) {
        Ok(()) => Ok(fixed),
        Err(errors) => Err(format!("invalid arguments: {}", errors.join("; "))),
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
}
