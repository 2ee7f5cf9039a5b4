//! One attempt's answer: a 2xx body read as server-sent events or as one
//! JSON document, and the error of any other status.

use std::cell::Cell;

use futures::StreamExt;

use super::limits::{body_too_large, MAX_SSE_EVENT_BYTES};
use super::sse::{SseParser, StreamAccumulator};
use super::types::ChatResponse;
use super::wire;
use crate::error::Error;
use crate::platform::HttpStreamingResponse;

/// How much of an error body is kept in an error message.
const MAX_ERROR_CHARS: usize = 300;

/// Why one attempt failed, and whether another may help.
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) retryable: bool,
    pub(crate) retry_after_ms: Option<f64>,
}

impl Failure {
    pub(crate) fn fatal(error: Error) -> Self {
        Self {
            error,
            retryable: false,
            retry_after_ms: None,
        }
    }

    /// An error of the transport: no response, or a body cut short. A
    /// network error or a timeout may be retried, unless streamed text was
    /// already handed to `on_token` (a retry would repeat it); an abort never.
    pub(crate) fn transport(error: Error, tokens_emitted: bool) -> Self {
        let retryable = matches!(error, Error::Network(_) | Error::Timeout(_)) && !tokens_emitted;
        Self {
            error,
            retryable,
            retry_after_ms: None,
        }
    }
}

/// "HTTP 503: <the server's message>" for a non-2xx answer, with the API
/// key (if the server echoed it) replaced by `***`.
pub(crate) fn status_message(status: u16, body: &[u8], api_key: Option<&str>) -> String {
    let message = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => wire::error_message(&value).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    };
    let key = api_key.filter(|k| !k.is_empty());
    let message = match key {
        Some(key) => message.replace(key, "***"),
        None => message,
    };
    let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
    let lead = match (status, key.is_some()) {
        (401 | 403, true) => format!("HTTP {status}: the endpoint refused the API key"),
        (401 | 403, false) => format!("HTTP {status}: the endpoint needs an API key"),
        _ => format!("HTTP {status}"),
    };
    if message.is_empty() {
        lead
    } else {
        format!("{lead}: {message}")
    }
}

/// Reads a 2xx answer: server-sent events (parsed as they arrive, text to
/// `on_token`) or, whatever was asked for, a whole JSON body — told apart by
/// the first byte that is not white space.
///
/// At most `max_bytes` bytes of body are read: the chunk that would go past
/// them is not kept, the body stream is dropped (which cancels the request)
/// and the attempt fails with [`Error::ResponseTooLarge`], not retryable.
/// One SSE line or event is bounded by `min(max_bytes, 1 MiB)` the same way.
pub(crate) async fn read_answer(
    response: HttpStreamingResponse,
    on_token: &mut dyn FnMut(&str),
    max_bytes: usize,
) -> std::result::Result<ChatResponse, Failure> {
    let emitted = Cell::new(false);
    let mut counting = |text: &str| {
        emitted.set(true);
        on_token(text);
    };
    let mut body = response.body;
    let mut parser = SseParser::new(max_bytes.min(MAX_SSE_EVENT_BYTES));
    let mut accumulator = StreamAccumulator::new();
    let mut is_sse: Option<bool> = None;
    let mut raw = Vec::new();
    let mut received = 0usize;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Failure::transport(e, emitted.get()))?;
        received = received.saturating_add(chunk.len());
        if received > max_bytes {
            return Err(Failure::fatal(body_too_large(max_bytes)));
        }
        let data = match is_sse {
            Some(false) => {
                raw.extend_from_slice(&chunk);
                continue;
            }
            Some(true) => parser.feed(&chunk).map_err(Failure::fatal)?,
            None => {
                raw.extend_from_slice(&chunk);
                let Some(first) = raw.iter().find(|b| !b.is_ascii_whitespace()) else {
                    continue;
                };
                let sse = *first != b'{' && *first != b'[';
                is_sse = Some(sse);
                if !sse {
                    continue;
                }
                parser
                    .feed(&std::mem::take(&mut raw))
                    .map_err(Failure::fatal)?
            }
        };
        for event in data {
            accumulator
                .push(&event, &mut counting)
                .map_err(Failure::fatal)?;
        }
        if accumulator.is_done() {
            break;
        }
    }
    if is_sse == Some(true) {
        for event in parser.finish().map_err(Failure::fatal)? {
            accumulator
                .push(&event, &mut counting)
                .map_err(Failure::fatal)?;
        }
        return accumulator
            .finish()
            .map_err(|e| Failure::transport(e, emitted.get()));
    }
    wire::parse_response(&raw).map_err(Failure::fatal)
}
