//! What the scripted LLM server says: the `planner` and `obey` stand-ins for
//! a model, and the shapes of a chat completion in each endpoint dialect
//! (one JSON, or `chat.completion.chunk` events for streaming).

use serde_json::{json, Map, Value};

/// How generated replies are shaped (OpenAI/vLLM-like by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Tool calls written as JSON objects in the content (llama-server, small models).
    pub tool_calls_in_text: bool,
    /// With `tool_calls_in_text`: inside ```json fences.
    pub code_fence: bool,
    /// Whether replies carry `usage`.
    pub usage: bool,
    /// Native arguments as a JSON object instead of a string (Ollama).
    pub arguments_as_object: bool,
    /// Tool calls without ids.
    pub omit_ids: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Self {
            tool_calls_in_text: false,
            code_fence: false,
            usage: true,
            arguments_as_object: false,
            omit_ids: false,
        }
    }
}

impl Dialect {
    /// Reads `{"tool_calls_in_text", "code_fence", "usage", "arguments_as_object", "omit_ids"}`
    /// (every field optional).
    pub fn from_json(v: &Value) -> Result<Dialect, String> {
        let Value::Object(map) = v else {
            return Err("dialect must be an object".into());
        };
        let mut d = Dialect::default();
        for (key, value) in map {
            let Some(b) = value.as_bool() else {
                return Err(format!("dialect.{key} must be a boolean"));
            };
            match key.as_str() {
                "tool_calls_in_text" => d.tool_calls_in_text = b,
                "code_fence" => d.code_fence = b,
                "usage" => d.usage = b,
                "arguments_as_object" => d.arguments_as_object = b,
                "omit_ids" => d.omit_ids = b,
                other => return Err(format!("unknown dialect field {other:?}")),
            }
        }
        Ok(d)
    }
}

/// A reply before it is shaped by a dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Text content (`None`: JSON `null` when there are native tool calls).
    pub content: Option<String>,
    /// `(name, arguments)`; arguments are an object or a string.
    pub tool_calls: Vec<(String, Value)>,
    /// `None`: `"tool_calls"` when there are native calls, else `"stop"`.
    pub finish_reason: Option<String>,
    /// `None`: as the dialect says.
    pub usage: Option<bool>,
}

impl Reply {
    /// A plain text answer.
    pub fn text(content: impl Into<String>) -> Reply {
        Reply {
            content: Some(content.into()),
            tool_calls: Vec::new(),
            finish_reason: None,
            usage: None,
        }
    }

    /// Tool calls and no text.
    pub fn calls(calls: Vec<(String, Value)>) -> Reply {
        Reply {
            content: None,
            tool_calls: calls,
            finish_reason: None,
            usage: None,
        }
    }

    /// Reads the short form `{"content","tool_calls":[{"name","arguments"}],"finish_reason","usage"}`.
    pub fn from_json(v: &Value) -> Reply {
        let tool_calls = v
            .get("tool_calls")
            .and_then(Value::as_array)
            .map(|calls| {
                calls
                    .iter()
                    .map(|c| {
                        let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                        let args = c.get("arguments").cloned().unwrap_or_else(|| json!({}));
                        (name, args)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Reply {
            content: v.get("content").and_then(Value::as_str).map(str::to_string),
            tool_calls,
            finish_reason: v.get("finish_reason").and_then(Value::as_str).map(str::to_string),
            usage: v.get("usage").and_then(Value::as_bool),
        }
    }
}

/// The request's `model`, or `"scripted"`.
pub fn model_of(request: &Value) -> String {
    request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("scripted")
        .to_string()
}

/// The text of a message's `content` (a string, or the text parts of an array).
fn content_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn role(message: &Value) -> &str {
    message.get("role").and_then(Value::as_str).unwrap_or("")
}

fn messages(request: &Value) -> &[Value] {
    request
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn tool_names(request: &Value) -> Vec<String> {
    request
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| {
                    t.get("function")
                        .and_then(|f| f.get("name"))
                        .or_else(|| t.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the request asks for the JSON planning mode: a `json_schema`
/// response format and no tools.
fn json_planning(request: &Value) -> bool {
    let schema = request
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        == Some("json_schema");
    schema && tool_names(request).is_empty()
}

/// Every `"id":"..."` value in `text` (whitespace allowed around the colon).
pub fn ids_in(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"id\"") {
        rest = &rest[at + 4..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else { continue };
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('"') else { continue };
        if let Some(end) = after.find('"') {
            ids.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
    }
    ids
}

/// The `planner` mode's decision.
pub fn planner(request: &Value) -> Reply {
    let msgs = messages(request);
    let last_user = msgs.iter().rposition(|m| role(m) == "user");
    let user_text = last_user.map(|i| content_text(&msgs[i])).unwrap_or_default();
    let after_user = last_user.map_or(msgs, |i| &msgs[i + 1..]);
    let has_tool_result = after_user.iter().any(|m| role(m) == "tool");
    let last_tool_ids = msgs
        .iter()
        .rev()
        .find(|m| role(m) == "tool")
        .map(|m| ids_in(&content_text(m)))
        .unwrap_or_default();
    let answer = format!("Here is what I found: {}", last_tool_ids.join(", "));
    let recommend_args = json!({"query": user_text, "k": 10});
    if json_planning(request) {
        let content = if has_tool_result {
            json!({"answer": answer, "items": last_tool_ids})
        } else {
            json!({"tool": "recommend", "arguments": recommend_args})
        };
        return Reply::text(content.to_string());
    }
    let tools = tool_names(request);
    if tools.is_empty() {
        return Reply::text(format!("Here is what I found: {}", ids_in(&user_text).join(", ")));
    }
    if tools.iter().any(|t| t == "recommend") && !has_tool_result {
        return Reply::calls(vec![("recommend".into(), recommend_args)]);
    }
    Reply::text(answer)
}

/// Every `call <tool> with <json object>` directive in `text`, in order.
pub fn directives(text: &str) -> Vec<(String, Value)> {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("call ") {
        let start = from + at;
        from = start + 5;
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &text[start + 5..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(rest.len());
        if name_len == 0 {
            continue;
        }
        let name = &rest[..name_len];
        let after = rest[name_len..].trim_start();
        if !after.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("with")) {
            continue;
        }
        let after = after[4..].trim_start();
        if !after.starts_with('{') {
            continue;
        }
        let plain = balanced_object_len(after).and_then(|len| match serde_json::from_str::<Value>(&after[..len]) {
            Ok(args @ Value::Object(_)) => Some((args, len)),
            _ => None,
        });
        if let Some((args, len)) = plain.or_else(|| escaped_object(after)) {
            found.push((name.to_string(), args));
            from = text.len() - after.len() + len;
        }
    }
    found
}

/// Most `}` tried as the end of a JSON-escaped object.
const MAX_ESCAPED_ENDS: usize = 64;

/// A JSON object written JSON-escaped (`{\"a\": 1}`, as it appears inside a
/// serialized tool result) at the start of `s`, with its length in `s`:
/// each `}` in turn is tried as its end, the slice unescaped as the inside
/// of a JSON string (or, failing that, `\"` → `"` only) and parsed.
fn escaped_object(s: &str) -> Option<(Value, usize)> {
    let ends = s.char_indices().filter(|&(_, c)| c == '}').take(MAX_ESCAPED_ENDS);
    for (i, _) in ends {
        let slice = &s[..=i];
        let unescaped = serde_json::from_str::<String>(&format!("\"{slice}\""))
            .unwrap_or_else(|_| slice.replace("\\\"", "\""));
        if let Ok(args @ Value::Object(_)) = serde_json::from_str::<Value>(&unescaped) {
            return Some((args, i + 1));
        }
    }
    None
}

/// Length of the balanced `{...}` at the start of `s` (strings and escapes respected).
fn balanced_object_len(s: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in s.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Arguments as a JSON value (a string holding JSON is parsed).
fn args_value(args: &Value) -> Value {
    match args {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| args.clone()),
        other => other.clone(),
    }
}

/// The `(name, arguments)` calls earlier assistant messages made: native
/// `tool_calls`, and JSON objects in their content (`{"name","arguments"}`
/// or the planning mode's `{"tool","arguments"}`).
fn issued_calls(msgs: &[Value]) -> Vec<(String, Value)> {
    let mut issued = Vec::new();
    for m in msgs.iter().filter(|m| role(m) == "assistant") {
        for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let f = call.get("function").unwrap_or(call);
            if let Some(name) = f.get("name").and_then(Value::as_str) {
                let args = f.get("arguments").map(args_value).unwrap_or(Value::Null);
                issued.push((name.to_string(), args));
            }
        }
        let text = content_text(m);
        let mut rest = text.as_str();
        while let Some(at) = rest.find('{') {
            let candidate = &rest[at..];
            let len = balanced_object_len(candidate).unwrap_or(1);
            if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&candidate[..len]) {
                let name = o.get("name").or_else(|| o.get("tool")).and_then(Value::as_str);
                if let (Some(name), Some(args)) = (name, o.get("arguments")) {
                    issued.push((name.to_string(), args_value(args)));
                }
            }
            rest = &candidate[len..];
        }
    }
    issued
}

/// The texts a directive may hide in: the content itself, the content with
/// `\"` unescaped, and every string inside it when it is JSON (an item
/// description in a serialized tool result).
fn scanned_texts(content: &str) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    let mut texts = vec![content.to_string(), content.replace("\\\"", "\"")];
    if let Ok(v) = serde_json::from_str::<Value>(content) {
        strings(&v, &mut texts);
    }
    texts
}

/// The `obey` mode: every directive not yet issued becomes a tool call; when
/// none is left, [`planner`].
pub fn obey(request: &Value) -> Reply {
    obey_counted(request).0
}

/// [`obey`], with the number of directives the reply obeys (its tool calls
/// from directives; 0 when it fell back to [`planner`]).
pub fn obey_counted(request: &Value) -> (Reply, usize) {
    let msgs = messages(request);
    let issued = issued_calls(msgs);
    let mut pending: Vec<(String, Value)> = Vec::new();
    for m in msgs.iter().filter(|m| role(m) != "system") {
        for d in scanned_texts(&content_text(m)).iter().flat_map(|t| directives(t)) {
            if !issued.contains(&d) && !pending.contains(&d) {
                pending.push(d);
            }
        }
    }
    if pending.is_empty() {
        return (planner(request), 0);
    }
    if json_planning(request) {
        let (name, args) = pending.swap_remove(0);
        return (Reply::text(json!({"tool": name, "arguments": args}).to_string()), 1);
    }
    let n = pending.len();
    (Reply::calls(pending), n)
}

fn call_id(i: usize) -> String {
    format!("call_scripted_{i}")
}

/// Native tool-call arguments as the dialect writes them.
fn native_args(args: &Value, dialect: &Dialect) -> Value {
    if dialect.arguments_as_object {
        args_value(args)
    } else {
        match args {
            Value::String(s) => Value::String(s.clone()),
            other => Value::String(other.to_string()),
        }
    }
}

/// The content with tool calls written in the text (llama-server style).
fn text_with_calls(reply: &Reply, dialect: &Dialect) -> String {
    let mut parts: Vec<String> = reply.content.iter().filter(|c| !c.is_empty()).cloned().collect();
    for (name, args) in &reply.tool_calls {
        let call = json!({"name": name, "arguments": args_value(args)}).to_string();
        parts.push(if dialect.code_fence {
            format!("```json\n{call}\n```")
        } else {
            call
        });
    }
    parts.join("\n")
}

fn native_calls(reply: &Reply, dialect: &Dialect) -> bool {
    !reply.tool_calls.is_empty() && !dialect.tool_calls_in_text
}

fn finish_reason(reply: &Reply, dialect: &Dialect) -> String {
    reply.finish_reason.clone().unwrap_or_else(|| {
        if native_calls(reply, dialect) { "tool_calls" } else { "stop" }.to_string()
    })
}

fn content_of(reply: &Reply, dialect: &Dialect) -> Value {
    if dialect.tool_calls_in_text && !reply.tool_calls.is_empty() {
        Value::String(text_with_calls(reply, dialect))
    } else {
        reply.content.clone().map_or(Value::Null, Value::String)
    }
}

fn usage_json(reply: &Reply, dialect: &Dialect) -> Option<Value> {
    if !reply.usage.unwrap_or(dialect.usage) {
        return None;
    }
    let completion = content_of(reply, dialect).as_str().map_or(0, str::len) / 4
        + reply.tool_calls.len() * 8;
    Some(json!({"prompt_tokens": 42, "completion_tokens": completion, "total_tokens": 42 + completion}))
}

/// The reply as one `chat.completion` JSON.
pub fn completion_json(reply: &Reply, dialect: &Dialect, model: &str) -> Value {
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), content_of(reply, dialect));
    if native_calls(reply, dialect) {
        let calls: Vec<Value> = reply
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| {
                let mut call = Map::new();
                if !dialect.omit_ids {
                    call.insert("id".into(), json!(call_id(i)));
                }
                call.insert("type".into(), json!("function"));
                call.insert("function".into(), json!({"name": name, "arguments": native_args(args, dialect)}));
                Value::Object(call)
            })
            .collect();
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    let mut body = json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(reply, dialect)}],
    });
    if let (Some(usage), Value::Object(o)) = (usage_json(reply, dialect), &mut body) {
        o.insert("usage".into(), usage);
    }
    body
}

/// Splits `s` into pieces of about `n` characters (never inside a character).
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// The reply as `chat.completion.chunk` events (without the final `[DONE]`).
pub fn stream_events(reply: &Reply, dialect: &Dialect, model: &str) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
        .to_string()
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    if let Value::String(content) = content_of(reply, dialect) {
        for piece in pieces(&content, 4) {
            events.push(chunk(json!({"content": piece}), Value::Null));
        }
    }
    if native_calls(reply, dialect) {
        for (i, (name, args)) in reply.tool_calls.iter().enumerate() {
            let mut first = Map::new();
            first.insert("index".into(), json!(i));
            if !dialect.omit_ids {
                first.insert("id".into(), json!(call_id(i)));
            }
            first.insert("type".into(), json!("function"));
            let args = native_args(args, dialect);
            match &args {
                Value::String(text) => {
                    first.insert("function".into(), json!({"name": name, "arguments": ""}));
                    events.push(chunk(json!({"tool_calls": [first]}), Value::Null));
                    for piece in pieces(text, 8) {
                        let delta = json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]});
                        events.push(chunk(delta, Value::Null));
                    }
                }
                object => {
                    first.insert("function".into(), json!({"name": name, "arguments": object}));
                    events.push(chunk(json!({"tool_calls": [first]}), Value::Null));
                }
            }
        }
    }
    events.push(chunk(json!({}), json!(finish_reason(reply, dialect))));
    if let Some(usage) = usage_json(reply, dialect) {
        events.push(
            json!({
                "id": "chatcmpl-scripted",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [],
                "usage": usage,
            })
            .to_string(),
        );
    }
    events
}
