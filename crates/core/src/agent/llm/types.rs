//! The chat-completion vocabulary shared by the LLM client and the planner:
//! messages, tool specs and calls, requests and responses. These are the
//! recagent-side types; `wire` turns them into an OpenAI-compatible body and
//! back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::platform::LocalBoxFuture;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// Instructions from recagent (never from item texts or tool results).
    System,
    /// The person using the app.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call (`tool_call_id` names the call).
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: ChatRole,
    /// Its text (may be empty for an assistant message with only tool calls).
    pub content: String,
    /// Tool calls an assistant message made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a `Tool` message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message with only text.
    pub fn text(role: ChatRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A tool the model may call: a name, what it does, and a JSON schema of
/// its arguments (an `object` schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name (`[a-zA-Z0-9_-]{1,64}`).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id (generated when the endpoint gives none).
    pub id: String,
    /// Tool name, as the model wrote it (may name no known tool).
    pub name: String,
    /// The arguments as the model wrote them (a JSON text, possibly invalid).
    pub arguments: String,
}

/// Whether the model must, may or must not call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides (OpenAI `"auto"`).
    #[default]
    Auto,
    /// The model must call a tool (`"required"`; not every server enforces it).
    Required,
    /// No tool call (`"none"`).
    None,
}

/// One chat-completion request, before it is serialized.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The conversation, system message first.
    pub messages: Vec<ChatMessage>,
    /// Tools offered (empty: none).
    pub tools: Vec<ToolSpec>,
    /// Tool choice (only sent when `tools` is non-empty).
    pub tool_choice: ToolChoice,
    /// A JSON schema the answer must follow (`response_format` of type
    /// `json_schema`); used by the planning mode for endpoints without
    /// native tool calls.
    pub response_schema: Option<Value>,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Sampling seed (`seed`), for endpoints that make a run repeatable with
    /// it (llama.cpp, OpenAI); `None` sends none.
    pub seed: Option<u64>,
    /// Absolute time (milliseconds since the epoch, by the client's clock)
    /// past which the client must neither start an attempt nor keep waiting:
    /// each attempt's timeout is the smaller of the per-request timeout and
    /// what is left until this deadline (the whole-`ask` budget).
    pub deadline_ms: Option<f64>,
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end.
    Stop,
    /// The model called tools.
    ToolCalls,
    /// Cut off at `max_tokens` (the text may be incomplete).
    Length,
    /// The server's content filter stopped it.
    ContentFilter,
    /// The server gave none.
    Missing,
    /// Something else, as the server wrote it.
    Other(String),
}

/// Token counts, when the server reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the request.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// What the model answered (one choice), whatever the server's dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The text (without a tool call that was written into it as JSON).
    pub content: String,
    /// Tool calls, native or recovered from the text.
    pub tool_calls: Vec<ToolCall>,
    /// True when the tool calls were recovered from JSON in the text rather
    /// than given as native `tool_calls`.
    pub calls_from_text: bool,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// Token counts (`None` when the server omits `usage`).
    pub usage: Option<Usage>,
    /// The model name the server reported.
    pub model: Option<String>,
}

/// Anything that answers chat requests: the real client over [`crate::platform::Http`],
/// or a fake in tests. `on_token` receives streamed text as it arrives
/// (never called when the response is not streamed).
pub trait ChatModel {
    /// Sends one request (with the client's retries) and returns the answer.
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        on_token: &'a mut dyn FnMut(&str),
    ) -> LocalBoxFuture<'a, Result<ChatResponse>>;
}
