//! Server-sent events, parsed incrementally, and the accumulator that turns
//! `chat.completion.chunk` deltas into one [`ChatResponse`].
//!
//! [`SseParser`] is fed the body in whatever byte chunks the network gives
//! (an event, a line, even a UTF-8 character may be split across chunks);
//! lines end in LF, CRLF or CR; `:` lines are comments; several `data:`
//! lines of one event are joined with `\n`.

use serde_json::Value;

use super::limits::{event_too_large, too_many_calls, MAX_TOOL_CALLS};
use super::types::{ChatResponse, ToolCall, Usage};
use super::wire;
use crate::error::{Error, Result};

/// An incremental SSE parser: bytes in, the `data` of each complete event out.
/// Neither a line nor the data of one event may grow past the parser's
/// `max_event_bytes` ([`Error::ResponseTooLarge`]).
#[derive(Debug)]
pub(crate) struct SseParser {
    /// Bytes of the current, not yet terminated line.
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF at the start of the next one
    /// belongs to the same line end.
    after_cr: bool,
    /// `data` lines of the current event, joined with `\n`.
    data: String,
    /// Whether the current event has a `data` field at all.
    has_data: bool,
    /// The longest line, and the most data one event may gather, in bytes.
    max_event_bytes: usize,
}

impl SseParser {
    /// A parser at the start of a stream whose lines and events may hold at
    /// most `max_event_bytes` bytes each.
    pub(crate) fn new(max_event_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            data: String::new(),
            has_data: false,
            max_event_bytes,
        }
    }

    /// Feeds the next chunk; returns the data of every event it completed,
    /// or [`Error::ResponseTooLarge`] once a line or an event is over the cap
    /// (nothing past the cap is kept).
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<String>> {
        let mut events = Vec::new();
        let mut rest = chunk;
        if self.after_cr {
            if let Some((first, tail)) = rest.split_first() {
                self.after_cr = false;
                if *first == b'\n' {
                    rest = tail;
                }
            }
        }
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.push_line_bytes(rest)?;
                break;
            };
            let (line, tail) = rest.split_at(end);
            self.push_line_bytes(line)?;
            self.end_line(&mut events)?;
            rest = match tail.split_first() {
                Some((b'\r', after)) => match after.split_first() {
                    Some((b'\n', after_lf)) => after_lf,
                    Some(_) => after,
                    None => {
                        self.after_cr = true;
                        after
                    }
                },
                Some((_, after)) => after,
                None => tail,
            };
        }
        Ok(events)
    }

    /// The end of the stream: an event whose blank line never came is not
    /// dispatched (the SSE rule), so a cut-off event is dropped.
    pub(crate) fn finish(&mut self) -> Result<Vec<String>> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut events)?;
        }
        self.data.clear();
        self.has_data = false;
        Ok(events)
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        if self.line.len().saturating_add(bytes.len()) > self.max_event_bytes {
            return Err(event_too_large(self.max_event_bytes));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn end_line(&mut self, events: &mut Vec<String>) -> Result<()> {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        if line.is_empty() {
            if self.has_data {
                events.push(std::mem::take(&mut self.data));
                self.has_data = false;
            }
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        if field == "data" {
            let separator = usize::from(self.has_data);
            let grown = self
                .data
                .len()
                .saturating_add(separator)
                .saturating_add(value.len());
            if grown > self.max_event_bytes {
                return Err(event_too_large(self.max_event_bytes));
            }
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
        // `event`, `id` and `retry` do not matter for chat completions.
        Ok(())
    }
}

/// One tool call being streamed.
#[derive(Debug, Default)]
struct PartialCall {
    /// The wire `index` that names it (`None` when the server sent none).
    key: Option<u64>,
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Builds a [`ChatResponse`] from the `data` payloads of a chat-completion stream.
#[derive(Debug, Default)]
pub(crate) struct StreamAccumulator {
    content: String,
    /// In the order each call first appeared; the wire `index` only says
    /// which call a delta continues (it never sizes or orders anything).
    calls: Vec<PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    model: Option<String>,
    saw_choice: bool,
    done: bool,
}

impl StreamAccumulator {
    /// An empty accumulator.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Whether `[DONE]` arrived (later events are ignored).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Takes one event's data. Content deltas go to `on_token` as they
    /// arrive. An `error` object in the stream, or data that is not JSON, is
    /// [`Error::Llm`].
    pub(crate) fn push(&mut self, data: &str, on_token: &mut dyn FnMut(&str)) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| Error::Llm(format!("a stream event is not JSON: {e}")))?;
        if let Some(message) = wire::error_message(&chunk) {
            return Err(Error::Llm(message));
        }
        if let Some(model) = chunk.get("model").and_then(Value::as_str) {
            self.model = Some(model.to_string());
        }
        if let Some(usage) = wire::usage(chunk.get("usage")) {
            self.usage = Some(usage);
        }
        let choices = chunk
            .get("choices")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for choice in choices {
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            self.saw_choice = true;
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_string());
            }
            let Some(delta) = choice.get("delta").or_else(|| choice.get("message")) else {
                continue;
            };
            let text = wire::content_text(delta.get("content"));
            if !text.is_empty() {
                on_token(&text);
                self.content.push_str(&text);
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for call in calls {
                    self.push_call_delta(call)?;
                }
            }
        }
        Ok(())
    }

    /// Adds one `tool_calls[]` delta. A non-negative integer `index` names
    /// the call it continues (any value, 0 or 10^18, is only a key);
    /// without one (or with a negative, fractional or huge non-integer one)
    /// a new `id` starts a new call and anything else continues the last.
    /// More than [`MAX_TOOL_CALLS`] calls is [`Error::Llm`].
    fn push_call_delta(&mut self, call: &Value) -> Result<()> {
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let key = call.get("index").and_then(Value::as_u64);
        let found = match key {
            Some(key) => self.calls.iter().position(|c| c.key == Some(key)),
            None => match (self.calls.len().checked_sub(1), id) {
                (Some(last), Some(id))
                    if self.calls.get(last).and_then(|c| c.id.as_deref()) != Some(id) =>
                {
                    None
                }
                (last, _) => last,
            },
        };
        let slot = match found {
            Some(slot) => slot,
            None => {
                if self.calls.len() >= MAX_TOOL_CALLS {
                    return Err(too_many_calls());
                }
                self.calls.push(PartialCall {
                    key,
                    ..PartialCall::default()
                });
                self.calls.len() - 1
            }
        };
        let Some(entry) = self.calls.get_mut(slot) else {
            return Ok(());
        };
        if let Some(id) = id {
            entry.id = Some(id.to_string());
        }
        let function = call.get("function").unwrap_or(call);
        if let Some(name) = function.get("name").and_then(Value::as_str) {
            entry.name.push_str(name);
        }
        match function.get("arguments") {
            Some(Value::String(s)) => entry.arguments.push_str(s),
            None | Some(Value::Null) => {}
            Some(other) => entry.arguments.push_str(&other.to_string()),
        }
        Ok(())
    }

    /// The response, once the stream has ended. Without `[DONE]` and without
    /// a `finish_reason` the stream was cut short: [`Error::Network`]
    /// ("stream truncated"). A stream with no choice at all is [`Error::Llm`].
    pub(crate) fn finish(self) -> Result<ChatResponse> {
        if !self.done && self.finish_reason.is_none() {
            return Err(Error::Network(
                "stream truncated (no [DONE] and no finish_reason)".into(),
            ));
        }
        if !self.saw_choice {
            return Err(Error::Llm("the stream had no choices".into()));
        }
        let tool_calls = self
            .calls
            .into_iter()
            .enumerate()
            .filter(|(_, c)| !c.name.is_empty())
            .map(|(i, c)| ToolCall {
                id: c.id.unwrap_or_else(|| format!("call_{}", i + 1)),
                name: c.name,
                arguments: if c.arguments.trim().is_empty() {
                    "{}".to_string()
                } else {
                    c.arguments
                },
            })
            .collect();
        Ok(ChatResponse {
            content: self.content,
            tool_calls,
            calls_from_text: false,
            finish_reason: wire::finish_reason(self.finish_reason.as_deref()),
            usage: self.usage,
            model: self.model,
        })
    }
}

#[cfg(test)]
#[path = "sse_tests.rs"]
mod tests;
