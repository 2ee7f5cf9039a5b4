//! The bounds on what the LLM client reads from an endpoint (or an in-page
//! engine): the size of a 2xx body, of one server-sent event, and the number
//! of tool calls in one answer. Every one is checked while reading, before
//! the bytes are kept, so a hostile or broken endpoint costs at most the cap
//! in memory and never a panic.

use crate::error::Error;

/// The default cap on a 2xx response body (JSON or an SSE stream): 4 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u32 = 4 * 1024 * 1024;

/// The smallest `max_response_bytes` a configuration may set: 1 KiB.
pub const MIN_MAX_RESPONSE_BYTES: u32 = 1024;

/// The largest `max_response_bytes` a configuration may set: 1 GiB.
pub const MAX_MAX_RESPONSE_BYTES: u32 = 1 << 30;

/// The longest single SSE line, and the most `data` one event may gather:
/// 1 MiB (or the response cap, when that is smaller). Real servers send
/// events of a few hundred bytes.
pub const MAX_SSE_EVENT_BYTES: usize = 1 << 20;

/// The most tool calls one answer may hold; more is [`Error::Llm`].
pub const MAX_TOOL_CALLS: usize = 64;

/// [`Error::InvalidInput`] unless `max_response_bytes` is within
/// [`MIN_MAX_RESPONSE_BYTES`]`..=`[`MAX_MAX_RESPONSE_BYTES`].
pub(crate) fn check_max_response_bytes(max_response_bytes: u32) -> crate::error::Result<()> {
    if (MIN_MAX_RESPONSE_BYTES..=MAX_MAX_RESPONSE_BYTES).contains(&max_response_bytes) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "maxResponseBytes must be {MIN_MAX_RESPONSE_BYTES}..={MAX_MAX_RESPONSE_BYTES}, got {max_response_bytes}"
        )))
    }
}

/// The error of a body that went past `cap` bytes.
pub(crate) fn body_too_large(cap: usize) -> Error {
    Error::ResponseTooLarge(format!(
        "the response body went past its cap of {cap} bytes (maxResponseBytes); reading stopped"
    ))
}

/// The error of one SSE line or event that went past `cap` bytes.
pub(crate) fn event_too_large(cap: usize) -> Error {
    Error::ResponseTooLarge(format!(
        "one server-sent event went past {cap} bytes; reading stopped"
    ))
}

/// The error of an answer with more than [`MAX_TOOL_CALLS`] tool calls.
pub(crate) fn too_many_calls() -> Error {
    Error::Llm(format!(
        "the answer holds more than {MAX_TOOL_CALLS} tool calls"
    ))
}
