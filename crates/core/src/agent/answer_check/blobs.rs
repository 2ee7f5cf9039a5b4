//! Finding tool calls, JSON and JSON-schema blobs in a model's text.

use serde_json::Value;

use crate::agent::schema::looks_like_schema;

/// At most this many `{`/`[` positions are tried as the start of JSON
/// (each try is linear in the rest of the text).
pub(super) const MAX_JSON_TRIES: usize = 64;

/// What a blob in the text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Blob {
    Json,
    Schema,
    ToolCall,
}

impl Blob {
    pub(super) fn reason(self) -> String {
        match self {
            Blob::ToolCall => "the text is or contains a tool call, not an answer".into(),
            Blob::Schema => "the text contains a JSON-schema fragment".into(),
            Blob::Json => "the text contains a JSON object or array meant for the planner".into(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) kind: Blob,
}

/// Whether `v` is a tool call (or a list holding one).
pub(super) fn is_call(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            (m.get("name").is_some_and(Value::is_string) && (m.contains_key("arguments") || m.contains_key("parameters")))
                || m.get("tool").is_some_and(Value::is_string)
                || m.get("function").is_some_and(|f| f.is_object() || f.is_string())
                || m.contains_key("tool_calls")
        }
        Value::Array(a) => a.iter().any(is_call),
        _ => false,
    }
}

/// Whether `v` holds a JSON-schema object anywhere.
pub(super) fn has_schema(v: &Value) -> bool {
    looks_like_schema(v)
        || match v {
            Value::Object(m) => m.values().any(has_schema),
            Value::Array(a) => a.iter().any(has_schema),
            _ => false,
        }
}

pub(super) fn classify(v: &Value) -> Blob {
    if is_call(v) {
        Blob::ToolCall
    } else if has_schema(v) {
        Blob::Schema
    } else {
        Blob::Json
    }
}

/// `"key"` followed by optional spaces and a colon, anywhere in `text`.
pub(super) fn has_key(text: &str, key: &str) -> bool {
    let quoted = format!("\"{key}\"");
    let mut from = 0;
    while let Some(rel) = text.get(from..).and_then(|t| t.find(&quoted)) {
        let after = from + rel + quoted.len();
        if text.get(after..).is_some_and(|t| t.trim_start().starts_with(':')) {
            return true;
        }
        from = after;
    }
    false
}

/// The kind of a piece of JSON-like text that does not parse (truncated
/// or unquoted keys), from the keys it names; `None` when it names none.
pub(super) fn fragment_kind(text: &str) -> Option<Blob> {
    if ["name", "tool", "arguments", "parameters", "function", "tool_calls"].iter().any(|k| has_key(text, k)) {
        return Some(Blob::ToolCall);
    }
    let typed = ["object", "string", "integer", "number", "boolean", "array"].iter().any(|t| {
        let mut from = 0;
        while let Some(rel) = text.get(from..).and_then(|s| s.find("\"type\"")) {
            let after = from + rel + 6;
            let rest = text.get(after..).unwrap_or("").trim_start();
            if let Some(v) = rest.strip_prefix(':') {
                if v.trim_start().starts_with(&format!("\"{t}\"")) {
                    return true;
                }
            }
            from = after;
        }
        false
    });
    let keywords = ["maxLength", "minLength", "properties", "additionalProperties", "minimum", "maximum", "minItems", "maxItems"];
    if typed || keywords.iter().any(|k| has_key(text, k)) {
        return Some(Blob::Schema);
    }
    None
}

/// The end (exclusive) of the bracketed block opening at `start`, counting
/// brackets outside strings; the text's end when it never closes.
pub(super) fn block_end(text: &str, start: usize) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for (i, c) in text.get(start..).unwrap_or("").char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => {
                depth -= 1;
                if depth <= 0 {
                    return start + i + c.len_utf8();
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// The tool calls, JSON and schema blobs of `text`, in order, not overlapping.
pub(super) fn blob_spans(text: &str, tool_names: &[&str]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    // Tags: <tool_call>…</tool_call> (to the end when unclosed), <|python_tag|>….
    for (open, close) in [("<tool_call>", Some("</tool_call>")), ("<|tool_call|>", None), ("<|python_tag|>", None), ("<function=", Some("</function>"))] {
        let mut from = 0;
        while let Some(rel) = text.get(from..).and_then(|t| t.find(open)) {
            let start = from + rel;
            let end = close
                .and_then(|c| text.get(start..).and_then(|t| t.find(c)).map(|e| start + e + c.len()))
                .unwrap_or(text.len());
            spans.push(Span { start, end, kind: Blob::ToolCall });
            from = end.max(start + open.len());
        }
    }
    if let Some(start) = text.find("</tool_call>").filter(|s| !spans.iter().any(|x| x.start <= *s && *s < x.end)) {
        spans.push(Span { start, end: start + "</tool_call>".len(), kind: Blob::ToolCall });
    }
    // Calls written as code: functions.x(…), tool_name(…).
    let mut callers: Vec<String> = vec!["functions.".into()];
    callers.extend(tool_names.iter().map(|n| format!("{n}(")));
    for caller in &callers {
        let mut from = 0;
        while let Some(rel) = text.get(from..).and_then(|t| t.find(caller.as_str())) {
            let start = from + rel;
            let before = text.get(..start).and_then(|b| b.chars().next_back());
            from = start + caller.len();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let Some(paren) = text.get(start..).and_then(|t| t.find('(')).map(|p| start + p) else { continue };
            let name_ok = text.get(start..paren).is_some_and(|n| n.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.'));
            if name_ok {
                let end = block_end(text, paren);
                spans.push(Span { start, end, kind: Blob::ToolCall });
                from = end.max(from);
            }
        }
    }
    // Code fences whose body is JSON-like.
    let mut from = 0;
    while let Some(rel) = text.get(from..).and_then(|t| t.find("```")) {
        let start = from + rel;
        let body_from = start + 3;
        let close = text.get(body_from..).and_then(|t| t.find("```")).map(|e| body_from + e);
        let end = close.map_or(text.len(), |c| c + 3);
        let body = text.get(body_from..close.unwrap_or(text.len())).unwrap_or("");
        let body = body.trim_start_matches(|c: char| c.is_alphanumeric()).trim();
        if body.starts_with('{') || body.starts_with('[') || body.starts_with("<tool_call>") {
            let kind = match serde_json::from_str::<Value>(body) {
                Ok(v) => classify(&v),
                Err(_) => fragment_kind(body).unwrap_or(Blob::Json),
            };
            spans.push(Span { start, end, kind });
        }
        from = end;
    }
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<Span> = Vec::new();
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start < last.end => {
                last.end = last.end.max(s.end);
                last.kind = last.kind.max(s.kind);
            }
            _ => merged.push(s),
        }
    }
    // Bare JSON outside those spans.
    let mut found = Vec::new();
    let mut tries = 0;
    let mut i = 0;
    while i < text.len() && tries < MAX_JSON_TRIES {
        if let Some(s) = merged.iter().find(|s| s.start <= i && i < s.end) {
            i = s.end;
            continue;
        }
        let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
            i += 1;
            continue;
        };
        let next = text.get(i + 1..).map(str::trim_start).and_then(|t| t.chars().next());
        let candidate = match c {
            '{' => matches!(next, Some('"' | '}')),
            '[' => matches!(next, Some('{' | '[' | '"')),
            _ => false,
        };
        if !candidate {
            i += c.len_utf8();
            continue;
        }
        tries += 1;
        let rest = text.get(i..).unwrap_or("");
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let (end, kind) = match stream.next() {
            Some(Ok(v)) => (i + stream.byte_offset(), classify(&v)),
            Some(Err(e)) if e.is_eof() => (text.len(), fragment_kind(rest).unwrap_or(Blob::Json)),
            _ => {
                let end = block_end(text, i);
                let piece = text.get(i..end).unwrap_or("");
                match fragment_kind(piece) {
                    Some(kind) => (end, kind),
                    None if c == '{' && has_any_key(piece) => (end, Blob::Json),
                    None => {
                        i += 1;
                        continue;
                    }
                }
            }
        };
        found.push(Span { start: i, end, kind });
        i = end.max(i + 1);
    }
    merged.extend(found);
    merged.sort_by_key(|s| s.start);
    merged
}

/// Whether `piece` has a `"key":` pair.
pub(super) fn has_any_key(piece: &str) -> bool {
    let mut from = 0;
    while let Some(rel) = piece.get(from..).and_then(|t| t.find('"')) {
        let open = from + rel + 1;
        let Some(close) = piece.get(open..).and_then(|t| t.find('"')).map(|c| open + c) else { return false };
        if piece.get(close + 1..).is_some_and(|t| t.trim_start().starts_with(':')) {
            return true;
        }
        from = close + 1;
    }
    false
}
