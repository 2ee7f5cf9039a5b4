//! The LLM client's bounds against a hostile endpoint, over scripted HTTP:
//! a 2xx body (JSON or SSE) past `max_response_bytes` stops being read and
//! fails with `response_too_large`, never retried; an endless stream of
//! small events, one endless line, an endless error body; the exact cap;
//! the option's range; the breaker; tool-call indexes and counts; tool
//! calls written as text and JSON nested past any sane depth.
#![cfg(not(target_arch = "wasm32"))]

#[allow(unused_imports)]
mod llm_support;

use std::cell::Cell;

use llm_support::*;
use recagent_core::agent::llm::{DEFAULT_MAX_RESPONSE_BYTES, MAX_SSE_EVENT_BYTES, MAX_TOOL_CALLS};

/// Body chunk size of [`EndlessHttp`] (what the native client reads at once).
const CHUNK: usize = 16 * 1024;

/// An Http whose answers never end: `prefix` once, then `unit` repeated,
/// in chunks of about [`CHUNK`] bytes. Counts the body bytes handed out and
/// the requests.
struct EndlessHttp {
    status: u16,
    prefix: Vec<u8>,
    unit: Vec<u8>,
    pulled: Rc<Cell<usize>>,
    requests: Cell<usize>,
}

impl EndlessHttp {
    fn new(status: u16, prefix: &[u8], unit: &[u8]) -> Rc<Self> {
        Rc::new(Self {
            status,
            prefix: prefix.to_vec(),
            unit: unit.to_vec(),
            pulled: Rc::default(),
            requests: Cell::new(0),
        })
    }
}

impl Http for EndlessHttp {
    fn send_streaming(
        &self,
        _request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        self.requests.set(self.requests.get() + 1);
        let repeat = (CHUNK / self.unit.len()).max(1);
        let chunk = self.unit.repeat(repeat);
        let first = self.prefix.clone();
        let pulled = self.pulled.clone();
        let body: ByteStream = Box::pin(futures::stream::unfold(Some(first), move |first| {
            let bytes = first.unwrap_or_else(|| chunk.clone());
            pulled.set(pulled.get() + bytes.len());
            futures::future::ready(Some((Ok(bytes), None)))
        }));
        let status = self.status;
        Box::pin(async move {
            Ok(HttpStreamingResponse {
                status,
                headers: vec![],
                body,
            })
        })
    }
}

fn content_event() -> Vec<u8> {
    format!("data: {}\n\n", chunk(json!({"content": "la "}), None)).into_bytes()
}

#[test]
fn an_endless_stream_of_small_events_stops_at_the_cap_and_is_not_retried() {
    let http = EndlessHttp::new(200, b"", &content_event());
    let s = setup_with(http.clone(), config(|c| c.stream = true));
    let (result, tokens) = ask_streaming(&s, tool_request());
    let error = result.unwrap_err();
    assert_eq!(error.code(), "response_too_large", "{error}");
    let cap = DEFAULT_MAX_RESPONSE_BYTES as usize;
    assert!(
        http.pulled.get() <= cap + CHUNK,
        "read {} bytes",
        http.pulled.get()
    );
    assert!(http.pulled.get() > cap);
    assert_eq!(
        (http.requests.get(), s.ledger.len()),
        (1, 1),
        "never retried"
    );
    assert!(
        !tokens.is_empty(),
        "text streamed before the cap still reached on_token"
    );
}

#[test]
fn an_endless_json_body_stops_at_a_configured_cap() {
    let http = EndlessHttp::new(200, br#"{"choices":[{"message":{"content":""#, b"x");
    let s = setup_with(
        http.clone(),
        config(|c| {
            c.max_response_bytes = 64 * 1024;
            c.max_retries = 3;
        }),
    );
    assert_eq!(
        ask(&s, tool_request()).unwrap_err().code(),
        "response_too_large"
    );
    assert!(
        http.pulled.get() <= 64 * 1024 + CHUNK,
        "read {} bytes",
        http.pulled.get()
    );
    assert_eq!(http.requests.get(), 1);
}

#[test]
fn one_endless_sse_line_stops_at_the_event_cap() {
    let http = EndlessHttp::new(200, b"data: ", b"x");
    let s = setup_with(http.clone(), config(|c| c.stream = true));
    let error = ask(&s, tool_request()).unwrap_err();
    assert_eq!(error.code(), "response_too_large");
    assert!(error.to_string().contains("server-sent event"), "{error}");
    assert!(
        http.pulled.get() <= MAX_SSE_EVENT_BYTES + CHUNK,
        "read {} bytes",
        http.pulled.get()
    );
}

#[test]
fn an_endless_error_body_is_read_only_for_its_message() {
    let http = EndlessHttp::new(500, b"{\"error\":{\"message\":\"", b"boom ");
    let s = setup_with(http.clone(), config(|c| c.max_retries = 1));
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    assert_eq!(http.requests.get(), 2, "a 500 is still retried");
    assert!(
        http.pulled.get() <= 2 * (64 * 1024 + CHUNK),
        "read {} bytes",
        http.pulled.get()
    );
}

#[test]
fn a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_not() {
    let body = completion(message(json!("x".repeat(5000)), json!({})), "stop", true)
        .to_string()
        .into_bytes();
    let cap = u32::try_from(body.len()).unwrap();
    for (max, ok) in [(cap, true), (cap - 1, false)] {
        let chunks: Vec<Vec<u8>> = body.chunks(100).map(<[u8]>::to_vec).collect();
        let http = ChunkedHttp::new(vec![Scripted::Answer(200, vec![], chunks, None)]);
        let s = setup_with(http, config(|c| c.max_response_bytes = max));
        let result = ask(&s, tool_request());
        match ok {
            true => assert_eq!(result.unwrap().content.len(), 5000),
            false => assert_eq!(result.unwrap_err().code(), "response_too_large"),
        }
    }
}

#[test]
fn max_response_bytes_is_range_checked() {
    for bad in [0, 1023, (1 << 30) + 1, u32::MAX] {
        let made = LlmClient::new(
            config(|c| c.max_response_bytes = bad),
            Rc::new(ScriptedHttp::new(vec![])),
            Rc::new(ManualClock::at(T0)),
            Rc::new(ManualClock::at(T0)),
            Ledger::new(),
        );
        assert_eq!(made.err().map(|e| e.code()), Some("invalid_input"), "{bad}");
    }
    for good in [1024, DEFAULT_MAX_RESPONSE_BYTES, 1 << 30] {
        let (s, _) = setup(vec![], |c| c.max_response_bytes = good);
        assert_eq!(s.client.config().max_response_bytes, good);
    }
    assert_eq!(LlmConfig::default().max_response_bytes, 4 * 1024 * 1024);
    let json: LlmConfig =
        serde_json::from_value(json!({"baseUrl": "http://h", "maxResponseBytes": 2048})).unwrap();
    assert_eq!(json.max_response_bytes, 2048);
}

#[test]
fn oversized_answers_open_the_breaker() {
    let http = EndlessHttp::new(200, b"", &content_event());
    let s = setup_with(
        http.clone(),
        config(|c| {
            c.stream = true;
            c.max_response_bytes = 4096;
            c.breaker_threshold = 2;
        }),
    );
    for _ in 0..2 {
        assert_eq!(
            ask(&s, tool_request()).unwrap_err().code(),
            "response_too_large"
        );
    }
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "circuit_open");
    assert_eq!(http.requests.get(), 2);
}

fn call_delta(index: Value, id: Option<&str>, name: &str, arguments: &str) -> Value {
    let mut call = json!({"type": "function", "function": {"name": name, "arguments": arguments}});
    if !index.is_null() {
        call["index"] = index;
    }
    if let Some(id) = id {
        call["id"] = json!(id);
    }
    chunk(json!({"tool_calls": [call]}), None)
}

#[test]
fn streamed_tool_call_indexes_huge_sparse_and_missing_keep_their_order() {
    let events = vec![
        call_delta(json!(u64::MAX), Some("c1"), "recommend", "{\"k\":"),
        call_delta(json!(u64::MAX), None, "", "3}"),
        call_delta(Value::Null, Some("c2"), "get_item", "{\"id\":\"1\"}"),
        call_delta(json!(1_000_000_000u64), Some("c3"), "get_item", "{\"id\":"),
        call_delta(json!(0), Some("c4"), "recommend", "{}"),
        call_delta(json!(1_000_000_000u64), None, "", "\"2\"}"),
        chunk(json!({}), Some("tool_calls")),
    ];
    let body = sse_body(&events, true);
    let chunks: Vec<Vec<u8>> = body.chunks(7).map(<[u8]>::to_vec).collect();
    let http = ChunkedHttp::new(vec![Scripted::Answer(200, sse_headers(), chunks, None)]);
    let s = setup_with(http, config(|c| c.stream = true));
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![
            call("c1", "recommend", "{\"k\":3}"),
            call("c2", "get_item", "{\"id\":\"1\"}"),
            call("c3", "get_item", "{\"id\":\"2\"}"),
            call("c4", "recommend", "{}"),
        ]
    );
}

#[test]
fn too_many_tool_calls_streamed_native_or_as_text_are_llm_errors() {
    let many: Vec<Value> = (0..=MAX_TOOL_CALLS)
        .map(|i| call_delta(json!(i), Some(&format!("c{i}")), "recommend", "{}"))
        .collect();
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![sse_body(&many, true)],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");

    let native: Vec<Value> = (0..=MAX_TOOL_CALLS)
        .map(|i| json!({"id": format!("c{i}"), "type": "function", "function": {"name": "recommend", "arguments": "{}"}}))
        .collect();
    let body = completion(
        message(Value::Null, json!({"tool_calls": native})),
        "tool_calls",
        false,
    );
    let (s, _) = setup(vec![json_response(200, body)], |_| {});
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");

    let text = (0..=MAX_TOOL_CALLS)
        .map(|_| r#"{"name":"recommend","arguments":{}}"#)
        .collect::<Vec<_>>()
        .join("\n");
    let (s, _) = setup(vec![text_answer(&text)], |_| {});
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    let text = (0..MAX_TOOL_CALLS)
        .map(|_| r#"{"name":"recommend","arguments":{}}"#)
        .collect::<Vec<_>>()
        .join("\n");
    let (s, _) = setup(vec![text_answer(&text)], |_| {});
    assert_eq!(
        ask(&s, tool_request()).unwrap().tool_calls.len(),
        MAX_TOOL_CALLS
    );
}

#[test]
fn json_nested_past_any_depth_is_a_typed_error_or_plain_text_never_a_crash() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    // A whole body nested 100,000 deep.
    let raw = format!(
        r#"{{"choices":[{{"message":{{"content":"a","tool_calls":{}}}}}]}}"#,
        deep(100_000)
    );
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        vec![],
        vec![raw.into_bytes()],
        None,
    )]);
    let s = setup_with(http, config(|_| {}));
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    // A streamed event nested as deep.
    let event = format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":{}}}}}]}}\n\n",
        deep(100_000)
    );
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![event.into_bytes()],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    // A call written as text whose arguments nest that deep is no call: the text stays.
    let text = format!(
        r#"{{"name":"recommend","arguments":{{"a":{}}}}}"#,
        deep(100_000)
    );
    let (s, _) = setup(vec![text_answer(&text)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.content.len(), text.len());
}
