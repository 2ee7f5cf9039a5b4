//! The LLM client: OpenAI-compatible chat completions over [`crate::platform::Http`].
//!
//! - [`LlmClient`] implements [`ChatModel`]: per-attempt timeouts bounded by
//!   the request's deadline, retries with jittered backoff on 408/409/429/5xx
//!   and connection errors (honouring `Retry-After`), a circuit breaker,
//!   server-sent events parsed as they arrive, and the dialects of OpenAI,
//!   vLLM, llama.cpp's `llama-server` and Ollama; a 2xx body is read up to
//!   `max_response_bytes` (default [`DEFAULT_MAX_RESPONSE_BYTES`], 4 MiB)
//!   and no further ([`crate::Error::ResponseTooLarge`], never retried).
//! - [`Ledger`] / [`LedgeredHttp`]: one entry per HTTP attempt with the exact
//!   bytes sent; every byte the client sends goes through it.
//! - [`tool_calls_from_text`]: tool calls small models write as JSON in the text.
//! - [`EngineModel`] over a [`ChatEngine`]: an in-page model (WebLLM, wllama)
//!   fed the same OpenAI-format body and read by the same parser, with no
//!   HTTP and so no ledger entry.

mod client;
mod engine;
mod ledger;
mod limits;
mod response;
mod retry;
mod sse;
mod textcalls;
mod types;
mod wire;

pub use client::{LlmClient, LlmConfig, ToolMode};
pub use engine::{ChatEngine, EngineConfig, EngineModel};
pub use ledger::{Ledger, LedgerEntry, LedgeredHttp};
pub use limits::{
    DEFAULT_MAX_RESPONSE_BYTES, MAX_MAX_RESPONSE_BYTES, MAX_SSE_EVENT_BYTES, MAX_TOOL_CALLS,
    MIN_MAX_RESPONSE_BYTES,
};
pub use textcalls::tool_calls_from_text;
pub use types::{
    ChatMessage, ChatModel, ChatRequest, ChatResponse, ChatRole, FinishReason, ToolCall,
    ToolChoice, ToolSpec, Usage,
};
