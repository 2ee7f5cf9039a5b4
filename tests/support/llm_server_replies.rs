//! The shapes of the scripted LLM server's chat completions in each endpoint
//! dialect: one `chat.completion` JSON, or `chat.completion.chunk` events
//! for streaming.

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
    /// The `index` each streamed tool call is sent with (`None`, or no
    /// entry: its position); any JSON value, to script huge, negative or
    /// sparse indexes.
    pub stream_indexes: Vec<Option<Value>>,
}

impl Reply {
    /// A plain text answer.
    pub fn text(content: impl Into<String>) -> Reply {
        Reply {
            content: Some(content.into()),
            tool_calls: Vec::new(),
            finish_reason: None,
            usage: None,
            stream_indexes: Vec::new(),
        }
    }

    /// Tool calls and no text.
    pub fn calls(calls: Vec<(String, Value)>) -> Reply {
        Reply {
            content: None,
            tool_calls: calls,
            finish_reason: None,
            usage: None,
            stream_indexes: Vec::new(),
        }
    }

    /// Reads the short form `{"content","tool_calls":[{"name","arguments","index"}],"finish_reason","usage"}`
    /// (`index`, optional, is the wire index of that call when streamed).
    pub fn from_json(v: &Value) -> Reply {
        let tool_calls = v
            .get("tool_calls")
            .and_then(Value::as_array)
            .map(|calls| {
                calls
                    .iter()
                    .map(|c| {
                        let name = c
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        let args = c.get("arguments").cloned().unwrap_or_else(|| json!({}));
                        (name, args)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Reply {
            content: v.get("content").and_then(Value::as_str).map(str::to_string),
            tool_calls,
            finish_reason: v
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(str::to_string),
            usage: v.get("usage").and_then(Value::as_bool),
            stream_indexes: v
                .get("tool_calls")
                .and_then(Value::as_array)
                .map(|calls| calls.iter().map(|c| c.get("index").cloned()).collect())
                .unwrap_or_default(),
        }
    }
}

/// Arguments as a JSON value (a string holding JSON is parsed).
pub fn args_value(args: &Value) -> Value {
    match args {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| args.clone()),
        other => other.clone(),
    }
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
    let mut parts: Vec<String> = reply
        .content
        .iter()
        .filter(|c| !c.is_empty())
        .cloned()
        .collect();
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
        if native_calls(reply, dialect) {
            "tool_calls"
        } else {
            "stop"
        }
        .to_string()
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
    let completion =
        content_of(reply, dialect).as_str().map_or(0, str::len) / 4 + reply.tool_calls.len() * 8;
    Some(
        json!({"prompt_tokens": 42, "completion_tokens": completion, "total_tokens": 42 + completion}),
    )
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
                call.insert(
                    "function".into(),
                    json!({"name": name, "arguments": native_args(args, dialect)}),
                );
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
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    if let Value::String(content) = content_of(reply, dialect) {
        for piece in pieces(&content, 4) {
            events.push(chunk(json!({"content": piece}), Value::Null));
        }
    }
    if native_calls(reply, dialect) {
        for (i, (name, args)) in reply.tool_calls.iter().enumerate() {
            let index = reply
                .stream_indexes
                .get(i)
                .cloned()
                .flatten()
                .unwrap_or_else(|| json!(i));
            let mut first = Map::new();
            first.insert("index".into(), index.clone());
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
                        let delta = json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]});
                        events.push(chunk(delta, Value::Null));
                    }
                }
                object => {
                    first.insert(
                        "function".into(),
                        json!({"name": name, "arguments": object}),
                    );
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
