//! Server-sent events, parsed incrementally, and the accumulator that turns
//! `chat.completion.chunk` deltas into one [`ChatResponse`].
//!
//! [`SseParser`] is fed the body in whatever byte chunks the network gives
//! (an event, a line, even a UTF-8 character may be split across chunks);
//! lines end in LF, CRLF or CR; `:` lines are comments; several `data:`
//! lines of one event are joined with `\n`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::types::{ChatResponse, ToolCall, Usage};
use super::wire;
use crate::error::{Error, Result};

/// An incremental SSE parser: bytes in, the `data` of each complete event out.
#[derive(Debug, Default)]
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
}

impl SseParser {
    /// A parser at the start of a stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk; returns the data of every event it completed.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    /// The end of the stream: an event whose blank line never came is not
    /// dispatched (the SSE rule), so a cut-off event is dropped.
    pub(crate) fn finish(&mut self) -> Vec<String> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut events);
        }
        self.data.clear();
        self.has_data = false;
        events
    }

    fn end_line(&mut self, events: &mut Vec<String>) {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        if line.is_empty() {
            if self.has_data {
                events.push(std::mem::take(&mut self.data));
                self.has_data = false;
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
        // `event`, `id` and `retry` do not matter for chat completions.
    }
}

#[derive(Debug, Default)]
struct PartialCall {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Builds a [`ChatResponse`] from the `data` payloads of a chat-completion stream.
#[derive(Debug, Default)]
pub(crate) struct StreamAccumulator {
    content: String,
    calls: BTreeMap<u64, PartialCall>,
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
                for (position, call) in calls.iter().enumerate() {
                    self.push_call_delta(position, call);
                }
            }
        }
        Ok(())
    }

    fn push_call_delta(&mut self, position: usize, call: &Value) {
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let index = match call.get("index").and_then(Value::as_u64) {
            Some(i) => i,
            // No index (some servers): a new id starts a new call, else the last one continues.
            None => {
                let last = self.calls.keys().next_back().copied();
                match (last, id) {
                    (Some(l), Some(id))
                        if self.calls.get(&l).and_then(|c| c.id.as_deref()) != Some(id) =>
                    {
                        l + 1
                    }
                    (Some(l), _) => l,
                    (None, _) => position as u64,
                }
            }
        };
        let entry = self.calls.entry(index).or_default();
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
            .into_values()
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
mod tests {
    use super::super::types::FinishReason;
    use super::*;

    #[test]
    fn events_split_anywhere_with_crlf_comments_and_multiline_data() {
        let body = b": keep-alive\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: x\ndata: two\n\ndata: three\r\rdata: caf\xc3\xa9\n\n";
        let whole = SseParser::new().feed(body);
        assert_eq!(whole, ["{\"a\":\n1}", "two", "three", "café"]);
        for split in 0..body.len() {
            let mut p = SseParser::new();
            let mut got = p.feed(&body[..split]);
            got.extend(p.feed(&body[split..]));
            got.extend(p.finish());
            assert_eq!(got, whole, "split at {split}");
        }
        let mut p = SseParser::new();
        let got: Vec<String> = body.iter().flat_map(|b| p.feed(&[*b])).collect();
        assert_eq!(got, whole);
    }

    #[test]
    fn an_unterminated_event_is_dropped() {
        let mut p = SseParser::new();
        assert!(p.feed(b"data: {\"x\":1}").is_empty());
        assert!(p.finish().is_empty());
    }

    #[test]
    fn accumulates_content_tool_calls_and_usage() {
        let mut acc = StreamAccumulator::new();
        let mut tokens = Vec::new();
        let mut on_token = |t: &str| tokens.push(t.to_string());
        for data in [
            r#"{"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"lo"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"recommend","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"k\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"5}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#,
            "[DONE]",
        ] {
            acc.push(data, &mut on_token).unwrap();
        }
        assert!(acc.is_done());
        let r = acc.finish().unwrap();
        assert_eq!(tokens, ["Hel", "lo"]);
        assert_eq!(r.content, "Hello");
        assert_eq!(
            r.tool_calls,
            vec![ToolCall {
                id: "c1".into(),
                name: "recommend".into(),
                arguments: r#"{"k":5}"#.into()
            }]
        );
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            r.usage,
            Some(Usage {
                prompt_tokens: 7,
                completion_tokens: 2
            })
        );
        assert_eq!(r.model.as_deref(), Some("m"));
    }

    #[test]
    fn truncation_errors_and_no_choices() {
        let mut acc = StreamAccumulator::new();
        acc.push(r#"{"choices":[{"delta":{"content":"a"}}]}"#, &mut |_| {})
            .unwrap();
        let e = acc.finish().unwrap_err();
        assert_eq!(e.code(), "network_error");
        assert!(e.to_string().contains("stream truncated"));

        let mut acc = StreamAccumulator::new();
        let e = acc
            .push(r#"{"error":{"message":"overloaded"}}"#, &mut |_| {})
            .unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().contains("overloaded")),
            ("llm_error", true)
        );

        let mut acc = StreamAccumulator::new();
        acc.push("[DONE]", &mut |_| {}).unwrap();
        assert_eq!(acc.finish().unwrap_err().code(), "llm_error");

        // A finish_reason without [DONE] is a complete answer.
        let mut acc = StreamAccumulator::new();
        acc.push(
            r#"{"choices":[{"delta":{"content":"a"},"finish_reason":"length"}]}"#,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(acc.finish().unwrap().finish_reason, FinishReason::Length);
    }
}
