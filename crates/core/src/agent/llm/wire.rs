//! The OpenAI-compatible wire format: a [`ChatRequest`] becomes the JSON body
//! of `POST /v1/chat/completions`, and a non-streamed answer in any of the
//! dialects we meet (OpenAI, vLLM, llama.cpp's `llama-server`, Ollama's
//! `/v1`) becomes a [`ChatResponse`].
//!
//! Dialect differences handled when parsing:
//! - vLLM: `content: null` next to `tool_calls`;
//! - Ollama: tool-call `arguments` as a JSON object instead of a string, no `usage`;
//! - llama-server: tool-call `id`s missing (generated `call_<n>`); tool calls
//!   written as JSON in the text are recovered by the client
//!   ([`super::tool_calls_from_text`]), not here;
//! - content as an array of `{"type":"text","text":..}` parts.

use serde::Serialize;
use serde_json::{json, Value};

use super::limits::{too_many_calls, MAX_TOOL_CALLS};
use super::types::{
    ChatMessage, ChatRequest, ChatResponse, ChatRole, FinishReason, ToolCall, ToolChoice, Usage,
};
use crate::error::{Error, Result};

/// The completions URL for a base URL: `{base}/v1/chat/completions`; a base
/// already ending in `/v1` (or in the full path) is not doubled.
pub(crate) fn chat_completions_url(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    if base.ends_with("/chat/completions") {
        base.to_string()
    } else if base.ends_with("/v1") {
        format!("{base}/chat/completions")
    } else {
        format!("{base}/v1/chat/completions")
    }
}

#[derive(Serialize)]
struct WireBody<'a> {
    model: &'a str,
    messages: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<Value>,
}

fn role_name(role: ChatRole) -> &'static str {
    match role {
        ChatRole::System => "system",
        ChatRole::User => "user",
        ChatRole::Assistant => "assistant",
        ChatRole::Tool => "tool",
    }
}

/// One message on the wire. The content is always a string (possibly empty,
/// never `null`): some llama-server chat templates fail on a null content.
fn wire_message(message: &ChatMessage) -> Value {
    let mut out = json!({ "role": role_name(message.role), "content": message.content });
    if message.role == ChatRole::Assistant && !message.tool_calls.is_empty() {
        let calls: Vec<Value> = message
            .tool_calls
            .iter()
            .map(|call| {
                let arguments = if call.arguments.trim().is_empty() {
                    "{}"
                } else {
                    call.arguments.as_str()
                };
                json!({
                    "id": call.id,
                    "type": "function",
                    "function": { "name": call.name, "arguments": arguments },
                })
            })
            .collect();
        out["tool_calls"] = Value::Array(calls);
    }
    if message.role == ChatRole::Tool {
        if let Some(id) = &message.tool_call_id {
            out["tool_call_id"] = Value::String(id.clone());
        }
    }
    out
}

/// The JSON body for `request` (exactly the bytes that will be sent).
/// `send_tools` false leaves `tools` and `tool_choice` out (the JSON planning
/// mode); `tool_choice` is only written when tools are.
pub(crate) fn request_body(
    model: &str,
    request: &ChatRequest,
    stream: bool,
    send_tools: bool,
) -> Result<Vec<u8>> {
    let offer_tools = send_tools && !request.tools.is_empty();
    let tools = offer_tools.then(|| {
        request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": { "name": t.name, "description": t.description, "parameters": t.parameters },
                })
            })
            .collect()
    });
    let tool_choice = offer_tools.then_some(match request.tool_choice {
        ToolChoice::Auto => "auto",
        ToolChoice::Required => "required",
        ToolChoice::None => "none",
    });
    let response_format = request.response_schema.as_ref().map(|schema| {
        json!({
            "type": "json_schema",
            "json_schema": { "name": "plan", "schema": schema, "strict": true },
        })
    });
    // f32 → f64 through its shortest decimal form: 0.7 is sent as 0.7, not 0.699999988079071.
    let temperature = request
        .temperature
        .and_then(|t| t.to_string().parse::<f64>().ok())
        .filter(|t| t.is_finite());
    let body = WireBody {
        model,
        messages: request.messages.iter().map(wire_message).collect(),
        tools,
        tool_choice,
        response_format,
        max_tokens: request.max_tokens,
        temperature,
        seed: request.seed,
        stream: stream.then_some(true),
        stream_options: stream.then(|| json!({ "include_usage": true })),
    };
    serde_json::to_vec(&body)
        .map_err(|e| Error::InvalidInput(format!("cannot serialize the chat request: {e}")))
}

/// Maps a `finish_reason` string (or its absence) to a [`FinishReason`].
pub(crate) fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        None | Some("") => FinishReason::Missing,
        Some("stop") | Some("eos") | Some("end_turn") => FinishReason::Stop,
        Some("tool_calls") | Some("function_call") | Some("tool_use") => FinishReason::ToolCalls,
        Some("length") | Some("max_tokens") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_string()),
    }
}

/// The message of an error body (`{"error":{"message":..}}`,
/// `{"error":"..."}`, `{"message":..}` or `{"detail":..}`), if the body is one.
pub(crate) fn error_message(value: &Value) -> Option<String> {
    match value.get("error") {
        Some(Value::Object(e)) => Some(
            e.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| Value::Object(e.clone()).to_string()),
        ),
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => ["message", "detail"]
            .iter()
            .find_map(|k| value.get(*k).and_then(Value::as_str))
            .filter(|_| value.get("choices").is_none())
            .map(str::to_string),
        Some(other) => Some(other.to_string()),
    }
}

/// The text of a `content` field: a string, `null`, or an array of text parts.
pub(crate) fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.as_str().or_else(|| p.get("text").and_then(Value::as_str)))
            .collect(),
        _ => String::new(),
    }
}

/// Tool-call arguments as a JSON text: a string as is, an object (Ollama)
/// serialized, nothing as `{}`.
pub(crate) fn arguments_text(arguments: Option<&Value>) -> String {
    match arguments {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => "{}".to_string(),
        Some(other) => other.to_string(),
    }
}

/// Token counts from a `usage` object (`None` when absent or not an object).
pub(crate) fn usage(value: Option<&Value>) -> Option<Usage> {
    let usage = value?.as_object()?;
    let count = |k: &str| {
        usage
            .get(k)
            .and_then(Value::as_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    Some(Usage {
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
    })
}

fn tool_call(index: usize, value: &Value) -> Option<ToolCall> {
    let function = value.get("function").unwrap_or(value);
    let name = function.get("name").and_then(Value::as_str)?.to_string();
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| format!("call_{}", index + 1), str::to_string);
    Some(ToolCall {
        id,
        name,
        arguments: arguments_text(function.get("arguments")),
    })
}

/// Parses a whole (non-streamed) chat-completion body. An error body, a body
/// that is not JSON (nested deeper than serde_json's 128 levels included),
/// no choice, or more than [`MAX_TOOL_CALLS`] tool calls is [`Error::Llm`].
/// Only the first choice is read.
pub(crate) fn parse_response(body: &[u8]) -> Result<ChatResponse> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::Llm(format!("the answer is not JSON: {e}")))?;
    if let Some(message) = error_message(&value) {
        return Err(Error::Llm(message));
    }
    let choice = value
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| Error::Llm("the answer has no choices".into()))?;
    let message = choice.get("message").or_else(|| choice.get("delta"));
    let content = match message {
        Some(m) => content_text(m.get("content")),
        // legacy completions shape: {"choices":[{"text":..}]}
        None => content_text(choice.get("text")),
    };
    let wire_calls = message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if wire_calls.len() > MAX_TOOL_CALLS {
        return Err(too_many_calls());
    }
    let tool_calls = wire_calls
        .iter()
        .enumerate()
        .filter_map(|(i, c)| tool_call(i, c))
        .collect();
    Ok(ChatResponse {
        content,
        tool_calls,
        calls_from_text: false,
        finish_reason: finish_reason(choice.get("finish_reason").and_then(Value::as_str)),
        usage: usage(value.get("usage")),
        model: value
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::super::types::ToolSpec;
    use super::*;

    fn body_of(request: &ChatRequest, stream: bool, tools: bool) -> Value {
        serde_json::from_slice(&request_body("m", request, stream, tools).unwrap()).unwrap()
    }

    #[test]
    fn urls_are_not_doubled() {
        assert_eq!(
            chat_completions_url("http://h:1"),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            chat_completions_url("http://h:1/"),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            chat_completions_url("https://api.x.com/v1"),
            "https://api.x.com/v1/chat/completions"
        );
        assert_eq!(
            chat_completions_url("http://h/s/a/v1/"),
            "http://h/s/a/v1/chat/completions"
        );
        assert_eq!(
            chat_completions_url("http://h/v1/chat/completions"),
            "http://h/v1/chat/completions"
        );
    }

    #[test]
    fn request_body_has_every_openai_field() {
        let call = ToolCall {
            id: "c1".into(),
            name: "recommend".into(),
            arguments: String::new(),
        };
        let request = ChatRequest {
            messages: vec![
                ChatMessage::text(ChatRole::System, "sys"),
                ChatMessage::text(ChatRole::User, "hi"),
                ChatMessage {
                    role: ChatRole::Assistant,
                    content: String::new(),
                    tool_calls: vec![call],
                    tool_call_id: None,
                },
                ChatMessage {
                    role: ChatRole::Tool,
                    content: "[]".into(),
                    tool_calls: vec![],
                    tool_call_id: Some("c1".into()),
                },
            ],
            tools: vec![ToolSpec {
                name: "recommend".into(),
                description: "d".into(),
                parameters: json!({"type":"object"}),
            }],
            tool_choice: ToolChoice::Required,
            response_schema: Some(json!({"type":"object"})),
            max_tokens: Some(64),
            temperature: Some(0.7),
            seed: Some(7),
            deadline_ms: Some(1.0),
        };
        let v = body_of(&request, true, true);
        assert_eq!(v["model"], "m");
        assert_eq!(v["messages"][0], json!({"role":"system","content":"sys"}));
        assert_eq!(
            v["messages"][2]["tool_calls"][0],
            json!({"id":"c1","type":"function","function":{"name":"recommend","arguments":"{}"}})
        );
        assert_eq!(v["messages"][2]["content"], "");
        assert_eq!(v["messages"][3]["tool_call_id"], "c1");
        assert_eq!(
            v["tools"][0],
            json!({"type":"function","function":{"name":"recommend","description":"d","parameters":{"type":"object"}}})
        );
        assert_eq!(v["tool_choice"], "required");
        assert_eq!(v["response_format"]["type"], "json_schema");
        assert_eq!(v["response_format"]["json_schema"]["name"], "plan");
        assert_eq!(v["response_format"]["json_schema"]["strict"], true);
        assert_eq!(v["max_tokens"], 64);
        assert_eq!(v["temperature"], json!(0.7));
        assert_eq!(v["seed"], 7);
        assert_eq!(v["stream"], true);
        assert_eq!(v["stream_options"], json!({"include_usage": true}));
        assert!(v.get("deadline_ms").is_none());

        let plain = body_of(&request, false, false);
        assert!(plain.get("tools").is_none() && plain.get("tool_choice").is_none());
        assert!(plain.get("stream").is_none() && plain.get("stream_options").is_none());
        let no_tools = ChatRequest {
            tools: vec![],
            ..request
        };
        assert!(body_of(&no_tools, false, true).get("tool_choice").is_none());
    }

    #[test]
    fn parses_openai_vllm_and_ollama_shapes() {
        let openai = br#"{"model":"gpt","choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        let r = parse_response(openai).unwrap();
        assert_eq!(
            (r.content.as_str(), r.finish_reason.clone()),
            ("hi", FinishReason::Stop)
        );
        assert_eq!(
            r.usage,
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 1
            })
        );
        assert_eq!(r.model.as_deref(), Some("gpt"));

        let vllm = br#"{"choices":[{"message":{"content":null,"tool_calls":[{"id":"x","type":"function","function":{"name":"get_item","arguments":"{\"id\":\"1\"}"}}]},"finish_reason":"tool_calls"}]}"#;
        let r = parse_response(vllm).unwrap();
        assert_eq!(r.content, "");
        assert_eq!(
            r.tool_calls,
            vec![ToolCall {
                id: "x".into(),
                name: "get_item".into(),
                arguments: r#"{"id":"1"}"#.into()
            }]
        );
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);

        let ollama = br#"{"choices":[{"message":{"content":"","tool_calls":[{"function":{"name":"recommend","arguments":{"k":3}}}]},"finish_reason":"stop"}]}"#;
        let r = parse_response(ollama).unwrap();
        assert_eq!(r.tool_calls[0].arguments, r#"{"k":3}"#);
        assert_eq!(r.tool_calls[0].id, "call_1");
        assert_eq!(r.usage, None);
    }

    #[test]
    fn errors_empty_choices_and_length() {
        let e =
            parse_response(br#"{"error":{"message":"model not loaded","type":"x"}}"#).unwrap_err();
        assert_eq!(e.code(), "llm_error");
        assert!(e.to_string().contains("model not loaded"));
        assert_eq!(
            parse_response(br#"{"choices":[]}"#).unwrap_err().code(),
            "llm_error"
        );
        assert_eq!(
            parse_response(br#"{"id":"x"}"#).unwrap_err().code(),
            "llm_error"
        );
        assert_eq!(
            parse_response(b"{not json").unwrap_err().code(),
            "llm_error"
        );
        let r = parse_response(
            br#"{"choices":[{"message":{"content":"cut"},"finish_reason":"length"}]}"#,
        )
        .unwrap();
        assert_eq!(r.finish_reason, FinishReason::Length);
        let r = parse_response(br#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#).unwrap();
        assert_eq!(
            (r.content.as_str(), r.finish_reason),
            ("ab", FinishReason::Missing)
        );
    }
}
