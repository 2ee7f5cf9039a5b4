//! The LLM client against scripted HTTP: every server dialect, streaming
//! split at every byte, faults (truncated streams, errors, empty choices),
//! retries and backoff on a manual clock, Retry-After, the deadline, the
//! circuit breaker, and the ledger (masked key, exact bytes).
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures::executor::block_on;
use recagent::agent::llm::{
    ChatMessage, ChatModel, ChatRequest, ChatResponse, ChatRole, FinishReason, Ledger, LlmClient,
    LlmConfig, ToolCall, ToolChoice, ToolMode, ToolSpec, Usage,
};
use recagent::platform::{
    ByteStream, Clock, Http, HttpRequest, HttpResponse, HttpStreamingResponse, LocalBoxFuture,
    ManualClock, ScriptedHttp, SeededRng,
};
use recagent::{Error, Result};
use serde_json::{json, Value};

const T0: f64 = 1_700_000_000_000.0;
const KEY: &str = "sk-test-SECRET-0123456789";

/// One scripted answer of [`ChunkedHttp`].
enum Scripted {
    /// Status, headers, body chunks, then optionally an error instead of the end.
    Answer(u16, Vec<(String, String)>, Vec<Vec<u8>>, Option<Error>),
    /// No response at all.
    Fail(Error),
}

/// An Http double that yields bodies in the chunks it is given (e.g. one
/// byte each) and can fail with any error, mid-body included.
#[derive(Default)]
struct ChunkedHttp {
    script: RefCell<VecDeque<Scripted>>,
    sent: RefCell<Vec<HttpRequest>>,
}

impl ChunkedHttp {
    fn new(script: Vec<Scripted>) -> Rc<Self> {
        Rc::new(Self {
            script: RefCell::new(script.into()),
            sent: RefCell::default(),
        })
    }
}

impl Http for ChunkedHttp {
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        self.sent.borrow_mut().push(request);
        let next = self.script.borrow_mut().pop_front();
        Box::pin(async move {
            match next {
                None => Err(Error::Network("script exhausted".into())),
                Some(Scripted::Fail(e)) => Err(e),
                Some(Scripted::Answer(status, headers, chunks, tail)) => {
                    let items: Vec<Result<Vec<u8>>> =
                        chunks.into_iter().map(Ok).chain(tail.map(Err)).collect();
                    let body: ByteStream = Box::pin(futures::stream::iter(items));
                    Ok(HttpStreamingResponse {
                        status,
                        headers,
                        body,
                    })
                }
            }
        })
    }
}

fn one_byte_chunks(body: &[u8]) -> Vec<Vec<u8>> {
    body.iter().map(|b| vec![*b]).collect()
}

fn json_response(status: u16, value: Value) -> std::result::Result<HttpResponse, String> {
    Ok(HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: value.to_string().into_bytes(),
    })
}

fn with_header(
    response: std::result::Result<HttpResponse, String>,
    name: &str,
    value: &str,
) -> std::result::Result<HttpResponse, String> {
    response.map(|mut r| {
        r.headers.push((name.into(), value.into()));
        r
    })
}

fn message(content: Value, extra: Value) -> Value {
    let mut m = json!({"role": "assistant", "content": content});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    m
}

fn completion(message: Value, finish: &str, usage: bool) -> Value {
    let mut v = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    });
    if usage {
        v["usage"] = json!({"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17});
    }
    v
}

fn text_answer(text: &str) -> std::result::Result<HttpResponse, String> {
    json_response(
        200,
        completion(message(json!(text), json!({})), "stop", true),
    )
}

fn sse_body(events: &[Value], done: bool) -> Vec<u8> {
    let mut out = String::new();
    for e in events {
        out.push_str(&format!("data: {e}\n\n"));
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    out.into_bytes()
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"object": "chat.completion.chunk", "model": "test-model",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

struct Setup {
    client: LlmClient,
    clock: ManualClock,
    ledger: Ledger,
}

fn config(edit: impl FnOnce(&mut LlmConfig)) -> LlmConfig {
    let mut config = LlmConfig {
        base_url: "http://127.0.0.1:9/s/test".into(),
        model: "test-model".into(),
        stream: false,
        ..LlmConfig::default()
    };
    edit(&mut config);
    config
}

fn setup_with(http: Rc<dyn Http>, config: LlmConfig) -> Setup {
    let clock = ManualClock::at(T0);
    let ledger = Ledger::new();
    let client = LlmClient::new(
        config,
        http,
        Rc::new(clock.clone()),
        Rc::new(clock.clone()),
        ledger.clone(),
    )
    .unwrap()
    .with_rng(Box::new(SeededRng::new(7)));
    Setup {
        client,
        clock,
        ledger,
    }
}

fn setup(
    responses: Vec<std::result::Result<HttpResponse, String>>,
    edit: impl FnOnce(&mut LlmConfig),
) -> (Setup, ScriptedHttp) {
    let http = ScriptedHttp::new(responses);
    (setup_with(Rc::new(http.clone()), config(edit)), http)
}

fn tool_request() -> ChatRequest {
    let tool = |name: &str| ToolSpec {
        name: name.into(),
        description: format!("the {name} tool"),
        parameters: json!({"type": "object", "properties": {"k": {"type": "integer"}}}),
    };
    ChatRequest {
        messages: vec![
            ChatMessage::text(ChatRole::System, "You recommend films."),
            ChatMessage::text(ChatRole::User, "something light for tonight"),
        ],
        tools: vec![tool("recommend"), tool("get_item")],
        tool_choice: ToolChoice::Auto,
        ..ChatRequest::default()
    }
}

fn ask(setup: &Setup, request: ChatRequest) -> Result<ChatResponse> {
    block_on(setup.client.chat(request, &mut |_| {}))
}

fn ask_streaming(setup: &Setup, request: ChatRequest) -> (Result<ChatResponse>, Vec<String>) {
    let mut tokens = Vec::new();
    let result = block_on(
        setup
            .client
            .chat(request, &mut |t| tokens.push(t.to_string())),
    );
    (result, tokens)
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

// ---------------------------------------------------------------- dialects

#[test]
fn openai_native_tool_calls() {
    let native = message(
        Value::Null,
        json!({"tool_calls": [{"id": "call_abc", "type": "function",
                                "function": {"name": "recommend", "arguments": "{\"k\":3}"}}]}),
    );
    let (s, _) = setup(
        vec![json_response(200, completion(native, "tool_calls", true))],
        |_| {},
    );
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![call("call_abc", "recommend", r#"{"k":3}"#)]
    );
    assert!(!r.calls_from_text);
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 12,
            completion_tokens: 5
        })
    );
    assert_eq!(r.model.as_deref(), Some("test-model"));
}

#[test]
fn vllm_null_content_with_tool_calls() {
    let vllm = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
        {"id": "chatcmpl-tool-1", "type": "function", "function": {"name": "get_item", "arguments": "{\"id\": \"50\"}"}},
        {"id": "chatcmpl-tool-2", "type": "function", "function": {"name": "recommend", "arguments": "{}"}}
    ]}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 1, "completion_tokens": 2}});
    let (s, _) = setup(vec![json_response(200, vllm)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(r.content, "");
    assert_eq!(
        r.tool_calls
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["get_item", "recommend"]
    );
    assert_eq!(r.tool_calls[0].arguments, r#"{"id": "50"}"#);
}

#[test]
fn llama_server_tool_call_as_json_text_bare_and_fenced() {
    let bare = r#"{"name": "recommend", "arguments": {"query": "light comedy", "k": 5}}"#;
    let fenced = "I'll search.\n```json\n{\"name\": \"recommend\", \"arguments\": {\"query\": \"light comedy\", \"k\": 5}}\n```";
    for (text, rest) in [(bare, ""), (fenced, "I'll search.")] {
        // llama-server: no usage ids, no native tool_calls.
        let body = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]});
        let (s, _) = setup(vec![json_response(200, body)], |_| {});
        let r = ask(&s, tool_request()).unwrap();
        assert!(r.calls_from_text, "{text}");
        assert_eq!(r.content, rest);
        assert_eq!(
            r.tool_calls,
            vec![call(
                "call_text_1",
                "recommend",
                r#"{"k":5,"query":"light comedy"}"#
            )]
        );
        assert_eq!(r.usage, None);
    }
}

#[test]
fn llama_server_native_calls_without_ids() {
    let body = completion(
        message(
            json!(""),
            json!({"tool_calls": [{"type": "function", "function": {"name": "recommend", "arguments": "{}"}},
                                                  {"type": "function", "function": {"name": "get_item", "arguments": "{\"id\":\"1\"}"}}]}),
        ),
        "tool_calls",
        true,
    );
    let (s, _) = setup(vec![json_response(200, body)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![
            call("call_1", "recommend", "{}"),
            call("call_2", "get_item", r#"{"id":"1"}"#)
        ]
    );
}

#[test]
fn ollama_object_arguments_and_no_usage() {
    let body = completion(
        message(
            json!(""),
            json!({"tool_calls": [{"id": "call_x", "type": "function",
                                                  "function": {"name": "recommend", "arguments": {"k": 4, "query": "kids"}}}]}),
        ),
        "tool_calls",
        false,
    );
    let (s, _) = setup(vec![json_response(200, body)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![call("call_x", "recommend", r#"{"k":4,"query":"kids"}"#)]
    );
    assert_eq!(r.usage, None);
    assert!(!r.calls_from_text);
}

#[test]
fn hermes_tool_call_tags() {
    let text =
        "<tool_call>\n{\"name\": \"get_item\", \"arguments\": {\"id\": \"7\"}}\n</tool_call>";
    let (s, _) = setup(
        vec![json_response(
            200,
            completion(message(json!(text), json!({})), "stop", true),
        )],
        |_| {},
    );
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!((r.content.as_str(), r.calls_from_text), ("", true));
    assert_eq!(
        r.tool_calls,
        vec![call("call_text_1", "get_item", r#"{"id":"7"}"#)]
    );
}

#[test]
fn text_is_left_alone_without_tools_and_in_json_planning_mode() {
    let plan = r#"{"tool": "recommend", "arguments": {"k": 3}}"#;
    // No tools offered: JSON in the text is an answer, not a call.
    let (s, _) = setup(vec![text_answer(plan)], |_| {});
    let r = ask(
        &s,
        ChatRequest {
            tools: vec![],
            ..tool_request()
        },
    )
    .unwrap();
    assert_eq!((r.content.as_str(), r.tool_calls.len()), (plan, 0));

    // JSON planning mode: the content is the plan; tools never go on the wire.
    let (s, http) = setup(vec![text_answer(plan)], |c| {
        c.tool_mode = ToolMode::JsonPlanning
    });
    let request = ChatRequest {
        response_schema: Some(json!({"type": "object"})),
        ..tool_request()
    };
    let r = ask(&s, request).unwrap();
    assert_eq!(
        (r.content.as_str(), r.tool_calls.len(), r.calls_from_text),
        (plan, 0, false)
    );
    let body: Value = serde_json::from_slice(&http.sent()[0].body).unwrap();
    assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        json!({"type": "object"})
    );
}

// ---------------------------------------------------------------- streaming

fn streamed_text_events() -> Vec<Value> {
    vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Here "}), None),
        chunk(json!({"content": "is "}), None),
        chunk(json!({"content": "Paddington 2 — café"}), None),
        chunk(json!({}), Some("stop")),
        json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}),
    ]
}

fn sse_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "text/event-stream".into())]
}

#[test]
fn streaming_split_at_every_byte() {
    let body = sse_body(&streamed_text_events(), true);
    // Reference: the whole body in one chunk.
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![body.clone()],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (whole, whole_tokens) = ask_streaming(&s, tool_request());
    let whole = whole.unwrap();
    assert_eq!(whole.content, "Here is Paddington 2 — café");
    assert_eq!(whole_tokens, ["Here ", "is ", "Paddington 2 — café"]);
    assert_eq!(
        whole.usage,
        Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 4
        })
    );
    assert_eq!(whole.finish_reason, FinishReason::Stop);

    // One byte per chunk (multi-byte characters split too): the same answer, the same tokens.
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        one_byte_chunks(&body),
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    assert_eq!(r.unwrap(), whole);
    assert_eq!(tokens, whole_tokens);

    // Every two-chunk split, with CRLF line ends.
    let crlf = String::from_utf8(body.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    for split in 1..crlf.len() {
        let chunks = vec![crlf[..split].to_vec(), crlf[split..].to_vec()];
        let http = ChunkedHttp::new(vec![Scripted::Answer(200, sse_headers(), chunks, None)]);
        let s = setup_with(http, config(|c| c.stream = true));
        assert_eq!(ask(&s, tool_request()).unwrap(), whole, "split at {split}");
    }
}

#[test]
fn streamed_tool_call_deltas() {
    let events = vec![
        chunk(
            json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "recommend", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"query\": \"li"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "ght\", \"k\": 3}"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_item", "arguments": "{\"id\""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "function": {"arguments": ": \"9\"}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ];
    let body = sse_body(&events, true);
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        one_byte_chunks(&body),
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    let r = r.unwrap();
    assert!(tokens.is_empty());
    assert_eq!(
        r.tool_calls,
        vec![
            call("call_1", "recommend", r#"{"query": "light", "k": 3}"#),
            call("call_2", "get_item", r#"{"id": "9"}"#)
        ]
    );
    assert_eq!((r.finish_reason, r.usage), (FinishReason::ToolCalls, None));
}

#[test]
fn streamed_json_text_becomes_a_tool_call() {
    let events = vec![
        chunk(json!({"content": "{\"name\": \"recommend\", "}), None),
        chunk(json!({"content": "\"arguments\": {\"k\": 2}}"}), None),
        chunk(json!({}), Some("stop")),
    ];
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![sse_body(&events, true)],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    let r = r.unwrap();
    // The tokens already handed out carry the JSON (documented); the response does not.
    assert_eq!(
        tokens.concat(),
        "{\"name\": \"recommend\", \"arguments\": {\"k\": 2}}"
    );
    assert_eq!((r.content.as_str(), r.calls_from_text), ("", true));
    assert_eq!(
        r.tool_calls,
        vec![call("call_text_1", "recommend", r#"{"k":2}"#)]
    );
}

#[test]
fn a_server_that_ignores_stream_true_is_read_as_json() {
    let (s, http) = setup(vec![text_answer("plain")], |c| c.stream = true);
    let (r, tokens) = ask_streaming(&s, tool_request());
    assert_eq!(r.unwrap().content, "plain");
    assert!(tokens.is_empty());
    let body: Value = serde_json::from_slice(&http.sent()[0].body).unwrap();
    assert_eq!(
        (
            body["stream"].clone(),
            body["stream_options"]["include_usage"].clone()
        ),
        (json!(true), json!(true))
    );
}

#[test]
fn truncated_stream_is_a_network_error() {
    // Cut in the middle of the last event, after text went out: not retried (it would repeat tokens).
    let mut body = sse_body(&streamed_text_events()[..4], false);
    body.extend_from_slice(b"data: {\"choices\": [{\"ind");
    let http = ChunkedHttp::new(vec![Scripted::Answer(200, sse_headers(), vec![body], None)]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    let e = r.unwrap_err();
    assert_eq!(e.code(), "network_error");
    assert!(e.to_string().contains("stream truncated"), "{e}");
    assert_eq!(tokens.len(), 3);
    assert_eq!(s.ledger.len(), 1);

    // Cut before any text: retried, and the retry succeeds.
    let cut = sse_body(&streamed_text_events()[..1], false);
    let http = ChunkedHttp::new(vec![
        Scripted::Answer(
            200,
            sse_headers(),
            vec![cut],
            Some(Error::Network("connection reset".into())),
        ),
        Scripted::Answer(
            200,
            sse_headers(),
            vec![sse_body(&streamed_text_events(), true)],
            None,
        ),
    ]);
    let s = setup_with(http, config(|c| c.stream = true));
    assert_eq!(
        ask(&s, tool_request()).unwrap().content,
        "Here is Paddington 2 — café"
    );
    let entries = s.ledger.entries();
    assert_eq!(
        entries.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(entries[0].error.as_deref(), Some("network_error"));
    assert_eq!(entries[0].status, Some(200));
}

#[test]
fn error_inside_the_stream() {
    let events = vec![
        chunk(json!({"content": "Hi"}), None),
        json!({"error": {"message": "model overloaded", "code": 503}}),
    ];
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![sse_body(&events, false)],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let e = ask(&s, tool_request()).unwrap_err();
    assert_eq!(e.code(), "llm_error");
    assert!(e.to_string().contains("model overloaded"), "{e}");
    assert_eq!(s.ledger.len(), 1);
}

// ---------------------------------------------------------------- faults

#[test]
fn empty_or_missing_choices_and_malformed_json_are_llm_errors() {
    for body in [
        json!({"choices": []}),
        json!({"id": "x", "object": "chat.completion"}),
    ] {
        let (s, _) = setup(vec![json_response(200, body)], |_| {});
        assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
        assert_eq!(s.ledger.len(), 1, "not retried");
    }
    let raw = Ok(HttpResponse {
        status: 200,
        headers: vec![],
        body: b"{\"choices\": [".to_vec(),
    });
    let (s, _) = setup(vec![raw], |_| {});
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    let (s, _) = setup(
        vec![json_response(
            200,
            json!({"error": {"message": "bad model name"}}),
        )],
        |_| {},
    );
    assert!(ask(&s, tool_request())
        .unwrap_err()
        .to_string()
        .contains("bad model name"));
}

#[test]
fn finish_reason_length() {
    let body = completion(
        message(json!("A long answer that was cu"), json!({})),
        "length",
        true,
    );
    let (s, _) = setup(vec![json_response(200, body)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        (r.finish_reason, r.content.as_str()),
        (FinishReason::Length, "A long answer that was cu")
    );
}

#[test]
fn retries_500_500_then_200() {
    let fail = || json_response(500, json!({"error": {"message": "boom"}}));
    let (s, http) = setup(vec![fail(), fail(), text_answer("ok")], |_| {});
    assert_eq!(ask(&s, tool_request()).unwrap().content, "ok");
    let entries = s.ledger.entries();
    assert_eq!(
        entries.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        entries.iter().map(|e| e.status).collect::<Vec<_>>(),
        [Some(500), Some(500), Some(200)]
    );
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(http.sent().len(), 3);
    // Backoff: 500 ms × 2^n ± 50 %.
    let first = entries[1].time_ms - entries[0].time_ms;
    let second = entries[2].time_ms - entries[1].time_ms;
    assert!((250.0..750.0).contains(&first), "{first}");
    assert!((500.0..1500.0).contains(&second), "{second}");
    // The same request bytes every time.
    assert!(entries.iter().all(|e| e.body == entries[0].body));
}

#[test]
fn retry_after_seconds_and_http_date_are_honoured() {
    let limited = with_header(
        json_response(429, json!({"error": {"message": "slow down"}})),
        "Retry-After",
        "2",
    );
    let (s, _) = setup(vec![limited, text_answer("ok")], |_| {});
    ask(&s, tool_request()).unwrap();
    let e = s.ledger.entries();
    assert!(
        e[1].time_ms - e[0].time_ms >= 2000.0,
        "{}",
        e[1].time_ms - e[0].time_ms
    );
    assert!(s.clock.now_ms() - T0 >= 2000.0);

    // 2023-11-14T22:13:23Z is T0 + 3 s (T0 = 1_700_000_000_000 = 22:13:20).
    let limited = with_header(
        json_response(503, json!({})),
        "retry-after",
        "Tue, 14 Nov 2023 22:13:23 GMT",
    );
    let (s, _) = setup(vec![limited, text_answer("ok")], |_| {});
    ask(&s, tool_request()).unwrap();
    let e = s.ledger.entries();
    assert_eq!(e[1].time_ms - e[0].time_ms, 3000.0);

    // A Retry-After past what the deadline allows: no wait, a timeout at once.
    let limited = with_header(json_response(429, json!({})), "Retry-After", "30");
    let (s, _) = setup(vec![limited, text_answer("ok")], |_| {});
    let e = ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 10_000.0),
            ..tool_request()
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "timeout");
    assert_eq!((s.ledger.len(), s.clock.now_ms()), (1, T0));
}

#[test]
fn max_retries_is_honoured() {
    let fail = || json_response(503, json!({"error": {"message": "overloaded"}}));
    let (s, http) = setup(vec![fail(), fail(), fail(), fail()], |_| {});
    let e = ask(&s, tool_request()).unwrap_err();
    assert_eq!(e.code(), "llm_error");
    assert!(e.to_string().contains("HTTP 503: overloaded"), "{e}");
    assert_eq!(http.sent().len(), 3, "1 try + 2 retries (the default)");

    let (s, http) = setup(vec![fail(), fail(), fail()], |c| c.max_retries = 0);
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    assert_eq!(http.sent().len(), 1);
}

#[test]
fn client_errors_are_not_retried_and_never_echo_the_key() {
    let (s, http) = setup(
        vec![
            json_response(400, json!({"error": {"message": "unknown field foo"}})),
            text_answer("no"),
        ],
        |_| {},
    );
    let e = ask(&s, tool_request()).unwrap_err();
    assert_eq!((e.code(), http.sent().len()), ("llm_error", 1));
    assert!(e.to_string().contains("HTTP 400: unknown field foo"), "{e}");

    let echo = json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}});
    let (s, http) = setup(vec![json_response(401, echo)], |c| {
        c.api_key = Some(KEY.into())
    });
    let e = ask(&s, tool_request()).unwrap_err().to_string();
    assert_eq!(http.sent().len(), 1);
    assert!(
        e.contains("HTTP 401: the endpoint refused the API key"),
        "{e}"
    );
    assert!(!e.contains(KEY) && !e.contains("SECRET"), "{e}");
}

#[test]
fn network_errors_and_timeouts_are_retried_but_aborts_are_not() {
    let (s, _) = setup(
        vec![Err("connection refused".into()), text_answer("ok")],
        |_| {},
    );
    assert_eq!(ask(&s, tool_request()).unwrap().content, "ok");
    let e = s.ledger.entries();
    assert_eq!(
        (e[0].status, e[0].error.as_deref(), e[1].status),
        (None, Some("network_error"), Some(200))
    );

    let http = ChunkedHttp::new(vec![
        Scripted::Fail(Error::Timeout("15000 ms".into())),
        Scripted::Answer(
            200,
            vec![],
            vec![br#"{"choices":[{"message":{"content":"late"}}]}"#.to_vec()],
            None,
        ),
    ]);
    let s = setup_with(http, config(|_| {}));
    assert_eq!(ask(&s, tool_request()).unwrap().content, "late");
    assert_eq!(s.ledger.entries()[0].error.as_deref(), Some("timeout"));

    let http = ChunkedHttp::new(vec![Scripted::Fail(Error::Aborted("by the app".into()))]);
    let s = setup_with(http.clone(), config(|_| {}));
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "aborted");
    assert_eq!(http.sent.borrow().len(), 1);
    // An abort says nothing about the endpoint: the breaker does not count it.
    assert!(!s.client.circuit_open());
}

#[test]
fn the_deadline_bounds_attempts_and_stops_retries() {
    // Per-attempt timeout = min(request timeout, time left).
    let (s, http) = setup(vec![text_answer("ok")], |c| c.request_timeout_ms = 15_000);
    ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 5_000.0),
            ..tool_request()
        },
    )
    .unwrap();
    assert_eq!(http.sent()[0].timeout_ms, 5_000);
    let (s, http) = setup(vec![text_answer("ok")], |c| c.request_timeout_ms = 2_000);
    ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 5_000.0),
            ..tool_request()
        },
    )
    .unwrap();
    assert_eq!(http.sent()[0].timeout_ms, 2_000);

    // Already past: nothing sent.
    let (s, http) = setup(vec![text_answer("ok")], |_| {});
    let e = ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 - 1.0),
            ..tool_request()
        },
    )
    .unwrap_err();
    assert_eq!(
        (e.code(), http.sent().len(), s.ledger.len()),
        ("timeout", 0, 0)
    );

    // A failure with less time left than the backoff (≥ 250 ms): no retry, a timeout.
    let fail = || json_response(500, json!({}));
    let (s, http) = setup(vec![fail(), fail(), text_answer("ok")], |_| {});
    let e = ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 200.0),
            ..tool_request()
        },
    )
    .unwrap_err();
    assert_eq!((e.code(), http.sent().len()), ("timeout", 1));
    assert!(e.to_string().contains("HTTP 500"), "{e}");
}

#[test]
fn the_breaker_opens_sends_nothing_then_half_opens() {
    let fail = || json_response(500, json!({"error": {"message": "down"}}));
    let responses = vec![
        fail(),
        fail(),
        fail(),
        fail(),
        text_answer("back"),
        text_answer("again"),
    ];
    let (s, http) = setup(responses, |c| {
        c.max_retries = 0;
        c.breaker_threshold = 3;
        c.breaker_cooldown_ms = 30_000;
    });
    for _ in 0..3 {
        assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    }
    assert!(s.client.circuit_open());
    for _ in 0..5 {
        assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "circuit_open");
    }
    assert_eq!(
        (http.sent().len(), s.ledger.len()),
        (3, 3),
        "nothing sent while open"
    );

    // After the cooldown one trial goes out; it fails and the circuit opens again.
    s.clock.advance(30_000.0);
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "circuit_open");
    assert_eq!(http.sent().len(), 4);

    // The next trial succeeds and the circuit closes.
    s.clock.advance(30_000.0);
    assert_eq!(ask(&s, tool_request()).unwrap().content, "back");
    assert!(!s.client.circuit_open());
    assert_eq!(ask(&s, tool_request()).unwrap().content, "again");
    assert_eq!(http.sent().len(), 6);
}

// ---------------------------------------------------------------- ledger and wire

#[test]
fn authorization_is_sent_but_the_ledger_masks_it() {
    let (s, http) = setup(vec![text_answer("ok")], |c| c.api_key = Some(KEY.into()));
    ask(&s, tool_request()).unwrap();
    let sent = &http.sent()[0];
    assert!(sent
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("authorization") && v == &format!("Bearer {KEY}")));
    let entry = &s.ledger.entries()[0];
    assert!(entry
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("authorization") && v == "Bearer ***"));
    let json = serde_json::to_string(&s.ledger.entries()).unwrap();
    assert!(!json.contains(KEY) && !json.contains("SECRET"));
    assert!(!format!("{:?}", s.client.config()).contains("SECRET"));
    assert!(!serde_json::to_string(s.client.config())
        .unwrap()
        .contains("SECRET"));
    // Without a key there is no Authorization header at all.
    let (s, http) = setup(vec![text_answer("ok")], |_| {});
    ask(&s, tool_request()).unwrap();
    assert!(!http.sent()[0]
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization")));
    assert!(s.ledger.entries()[0]
        .headers
        .iter()
        .all(|(n, _)| !n.eq_ignore_ascii_case("authorization")));
}

#[test]
fn the_ledger_body_is_the_exact_bytes_sent() {
    let fail = json_response(502, json!({}));
    let (s, http) = setup(vec![fail, text_answer("ok")], |c| {
        c.api_key = Some(KEY.into())
    });
    let mut request = tool_request();
    request.messages.push(ChatMessage::text(
        ChatRole::User,
        "naïve “quotes” and \"escapes\" \u{1F600}",
    ));
    request.max_tokens = Some(256);
    request.temperature = Some(0.2);
    ask(&s, request).unwrap();
    let sent = http.sent();
    let entries = s.ledger.entries();
    assert_eq!(sent.len(), entries.len());
    for (request, entry) in sent.iter().zip(&entries) {
        assert_eq!(entry.body.as_bytes(), request.body.as_slice());
        assert_eq!(entry.bytes, request.body.len());
        assert_eq!(
            (entry.method.as_str(), entry.url.as_str()),
            ("POST", "http://127.0.0.1:9/s/test/v1/chat/completions")
        );
        assert_eq!(entry.origin, "http://127.0.0.1:9");
    }
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(
        body["messages"][2]["content"],
        "naïve “quotes” and \"escapes\" \u{1F600}"
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(
        (body["max_tokens"].clone(), body["temperature"].clone()),
        (json!(256), json!(0.2))
    );
    assert!(body.get("stream").is_none());
}

#[test]
fn configuration_is_validated() {
    let make = |edit: fn(&mut LlmConfig)| {
        let clock = ManualClock::at(T0);
        LlmClient::new(
            config(edit),
            Rc::new(ScriptedHttp::default()),
            Rc::new(clock.clone()),
            Rc::new(clock),
            Ledger::new(),
        )
    };
    assert_eq!(
        make(|c| c.base_url = "ftp://x".into())
            .err()
            .unwrap()
            .code(),
        "invalid_input"
    );
    assert_eq!(
        make(|c| c.model = " ".into()).err().unwrap().code(),
        "invalid_input"
    );
    assert_eq!(
        make(|c| c.api_key = Some("sk-a\r\nX-Evil: 1".into()))
            .err()
            .unwrap()
            .code(),
        "invalid_input"
    );
    let client = make(|c| c.base_url = "HTTPS://API.example.com/v1/".into()).unwrap();
    assert_eq!(client.config().origin().unwrap(), "https://api.example.com");
    assert_eq!(
        client.config().completions_url(),
        "https://api.example.com/v1/chat/completions"
    );
    let d = LlmConfig::default();
    assert_eq!(
        (
            d.request_timeout_ms,
            d.max_retries,
            d.stream,
            d.breaker_threshold,
            d.breaker_cooldown_ms
        ),
        (15_000, 2, true, 3, 30_000)
    );
    assert_eq!(
        (d.model.as_str(), d.tool_mode),
        ("default", ToolMode::Native)
    );
    let parsed: LlmConfig =
        serde_json::from_value(json!({"baseUrl": "http://h", "toolMode": "json", "apiKey": "k"}))
            .unwrap();
    assert_eq!(
        (
            parsed.tool_mode,
            parsed.api_key.as_deref(),
            parsed.max_retries
        ),
        (ToolMode::JsonPlanning, Some("k"), 2)
    );
}
