//! The LLM client: OpenAI-compatible chat completions over [`crate::platform::Http`].

mod types;

pub use types::{
    ChatMessage, ChatModel, ChatRequest, ChatResponse, ChatRole, FinishReason, ToolCall,
    ToolChoice, ToolSpec, Usage,
};
