//! The browser Http (`fetch`) against the scripted LLM server
//! (`cargo run -p recagent-testkit --bin scripted_llm`), whose URL is baked in at compile
//! time from `RECAGENT_LLM_SERVER` (scripts/test.sh starts the server and
//! sets it). Sessions are scripted through `PUT /_script/<session>` with
//! FetchHttp itself. The bounded reads: the LLM client over `FetchHttp`
//! stops an endless event stream, an endless line and a 256 MiB JSON body at
//! their caps (once, in chunks of at most 64 KiB, wasm memory growth
//! logged), a silent stream at its timeout, and keeps huge and sparse
//! streamed tool-call indexes in order.
#![cfg(target_arch = "wasm32")]

use futures::StreamExt;
use recagent::fetch::{FetchHttp, JsClock, JsSleeper};
use recagent_core::platform::{Clock, Http, HttpRequest, Sleeper};
use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The server's base URL; without it every test fails (it must not pass
/// without having talked to a server).
fn server() -> String {
    match option_env!("RECAGENT_LLM_SERVER") {
        Some(url) if !url.is_empty() => url.trim_end_matches('/').to_string(),
        _ => panic!(
            "RECAGENT_LLM_SERVER is not set at compile time: start `cargo run -p recagent-testkit --bin scripted_llm` \
             and build these tests with RECAGENT_LLM_SERVER=http://127.0.0.1:PORT"
        ),
    }
}

fn request(method: &str, url: String, body: &str, timeout_ms: u32) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        url,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Authorization".into(), "Bearer sk-test".into()),
        ],
        body: body.as_bytes().to_vec(),
        timeout_ms,
    }
}

/// A session name unique to this run (tests share one server).
fn session(name: &str) -> String {
    format!("{name}-{}", js_sys::Math::random().to_bits())
}

async fn script(http: &FetchHttp, session: &str, script: Value) {
    let url = format!("{}/_script/{session}", server());
    let r = http
        .send(request("PUT", url, &script.to_string(), 5000))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

fn completions(session: &str) -> String {
    format!("{}/s/{session}/v1/chat/completions", server())
}

#[wasm_bindgen_test]
async fn json_and_error_statuses_pass_through() {
    let http = FetchHttp::new();
    let s = session("json");
    script(&http, &s, json!({"steps": [{"json": {"ok": 1}}, {"status": 500, "json": {"error": {"message": "boom"}}}]})).await;
    let body = r#"{"model":"m","messages":[]}"#;
    let r = http
        .send(request("POST", completions(&s), body, 5000))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"ok": 1})
    );
    assert!(r
        .headers
        .iter()
        .any(|(n, v)| n == "content-type" && v == "application/json"));
    let r = http
        .send(request("POST", completions(&s), body, 5000))
        .await
        .unwrap();
    assert_eq!(r.status, 500);
    assert!(String::from_utf8_lossy(&r.body).contains("boom"));
    // The server saw the exact bytes and the headers.
    let log = http
        .send(request("GET", format!("{}/_log/{s}", server()), "", 5000))
        .await
        .unwrap();
    let log: Value = serde_json::from_slice(&log.body).unwrap();
    assert_eq!(log[0]["body"], body);
    assert_eq!(log[0]["headers"]["authorization"], "Bearer sk-test");
}

#[wasm_bindgen_test]
async fn retry_after_is_readable() {
    let http = FetchHttp::new();
    let s = session("retry");
    script(
        &http,
        &s,
        json!({"steps": [{"status": 429, "retry_after": "7", "json": {}}]}),
    )
    .await;
    let r = http
        .send(request("POST", completions(&s), "{}", 5000))
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    assert!(
        r.headers
            .contains(&("retry-after".to_string(), "7".to_string())),
        "{:?}",
        r.headers
    );
}

#[wasm_bindgen_test]
async fn sse_arrives_in_more_than_one_chunk() {
    let http = FetchHttp::new();
    let s = session("sse");
    let events: Vec<Value> = (0..4).map(|i| json!({"n": i})).collect();
    script(
        &http,
        &s,
        json!({"steps": [{"sse": events, "chunk_delay_ms": 100}]}),
    )
    .await;
    let mut r = http
        .send_streaming(request("POST", completions(&s), "{}", 5000))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let mut chunks = Vec::new();
    while let Some(chunk) = r.body.next().await {
        chunks.push(chunk.unwrap());
    }
    assert!(chunks.len() > 1, "{} chunk(s)", chunks.len());
    let text = String::from_utf8(chunks.concat()).unwrap();
    assert!(
        text.starts_with("data: {\"n\":0}\n\n") && text.ends_with("data: [DONE]\n\n"),
        "{text:?}"
    );
}

#[wasm_bindgen_test]
async fn a_hang_times_out() {
    let http = FetchHttp::new();
    let s = session("hang");
    script(&http, &s, json!({"steps": [{"hang": true}]})).await;
    let start = JsClock.now_ms();
    let err = http
        .send(request("POST", completions(&s), "{}", 500))
        .await
        .unwrap_err();
    let took = JsClock.now_ms() - start;
    assert_eq!(err.code(), "timeout", "{err}");
    assert!((400.0..3000.0).contains(&took), "{took} ms");
}

#[wasm_bindgen_test]
async fn the_timeout_covers_the_body() {
    let http = FetchHttp::new();
    let s = session("slowbody");
    script(
        &http,
        &s,
        json!({"steps": [{"sse": [{"a": 1}, {"b": 2}, {"c": 3}], "chunk_delay_ms": 600}]}),
    )
    .await;
    let mut r = http
        .send_streaming(request("POST", completions(&s), "{}", 800))
        .await
        .unwrap();
    let mut last = None;
    while let Some(chunk) = r.body.next().await {
        last = Some(chunk);
    }
    assert_eq!(last.unwrap().unwrap_err().code(), "timeout");
}

#[wasm_bindgen_test]
async fn an_app_signal_aborts_a_hung_request() {
    let controller = web_sys::AbortController::new().unwrap();
    let http = FetchHttp::with_signal(controller.signal());
    let s = session("abort");
    script(&http, &s, json!({"steps": [{"hang": true}]})).await;
    let abort_later = controller.clone();
    wasm_bindgen_futures::spawn_local(async move {
        JsSleeper.sleep(200).await;
        abort_later.abort();
    });
    let start = JsClock.now_ms();
    let err = http
        .send(request("POST", completions(&s), "{}", 10_000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "aborted", "{err}");
    assert!(JsClock.now_ms() - start < 3000.0);
    // Already aborted: nothing is sent.
    let err = http
        .send(request("POST", completions(&s), "{}", 10_000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "aborted");
    // Without the signal the client works again.
    http.set_signal(None);
    let r = http
        .send(request("POST", completions(&s), "{\"messages\":[]}", 5000))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}

#[wasm_bindgen_test]
async fn a_refused_port_is_a_network_error() {
    let http = FetchHttp::new();
    let err = http
        .send(request(
            "POST",
            "http://127.0.0.1:9/v1/chat/completions".into(),
            "{}",
            5000,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "network_error", "{err}");
}

#[wasm_bindgen_test]
async fn a_truncated_stream_ends_with_a_network_error() {
    let http = FetchHttp::new();
    let s = session("trunc");
    script(&http, &s, json!({"steps": [{"sse": [{"a": 1}, {"b": "xxxxxxxxxxxxxxxxxxxx"}], "truncate": true, "chunk_delay_ms": 50}]})).await;
    let mut r = http
        .send_streaming(request("POST", completions(&s), "{}", 5000))
        .await
        .unwrap();
    let (mut text, mut error) = (Vec::new(), None);
    while let Some(chunk) = r.body.next().await {
        match chunk {
            Ok(bytes) => text.extend(bytes),
            Err(e) => error = Some(e),
        }
    }
    assert!(String::from_utf8_lossy(&text).starts_with("data: {\"a\":1}"));
    assert_eq!(error.expect("the cut is reported").code(), "network_error");
}

/// [`Http`] over [`FetchHttp`] that counts the body bytes handed out and
/// remembers the largest chunk.
struct CountingHttp {
    inner: FetchHttp,
    pulled: std::rc::Rc<std::cell::Cell<usize>>,
    largest: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Http for CountingHttp {
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> recagent_core::platform::LocalBoxFuture<
        '_,
        recagent_core::Result<recagent_core::platform::HttpStreamingResponse>,
    > {
        let (pulled, largest) = (self.pulled.clone(), self.largest.clone());
        Box::pin(async move {
            let mut response = self.inner.send_streaming(request).await?;
            response.body = Box::pin(response.body.inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    pulled.set(pulled.get() + bytes.len());
                    largest.set(largest.get().max(bytes.len()));
                }
            }));
            Ok(response)
        })
    }
}

/// Runs one chat through `LlmClient` over a counting `FetchHttp` against a
/// session scripted with `step`; returns the error code, the bytes pulled,
/// the largest chunk, the attempts and the growth of wasm memory in bytes.
async fn chat_against(step: Value, stream: bool, cap: u32) -> (String, usize, usize, usize, f64) {
    use recagent_core::agent::llm::{
        ChatMessage, ChatModel, ChatRequest, ChatRole, Ledger, LlmClient, LlmConfig,
    };
    let s = session("bounded");
    script(&FetchHttp::new(), &s, json!({"steps": [step]})).await;
    let http = std::rc::Rc::new(CountingHttp {
        inner: FetchHttp::new(),
        pulled: Default::default(),
        largest: Default::default(),
    });
    let config = LlmConfig {
        base_url: format!("{}/s/{s}", server()),
        model: "m".into(),
        stream,
        max_response_bytes: cap,
        request_timeout_ms: 20_000,
        ..LlmConfig::default()
    };
    let client = LlmClient::new(
        config,
        http.clone(),
        std::rc::Rc::new(JsClock),
        std::rc::Rc::new(JsSleeper),
        Ledger::new(),
    )
    .unwrap();
    let request = ChatRequest {
        messages: vec![ChatMessage::text(ChatRole::User, "films")],
        ..ChatRequest::default()
    };
    let memory = || {
        wasm_bindgen::memory()
            .unchecked_into::<js_sys::WebAssembly::Memory>()
            .buffer()
            .unchecked_into::<js_sys::ArrayBuffer>()
            .byte_length() as f64
    };
    let before = memory();
    let code = match client.chat(request, &mut |_| {}).await {
        Ok(_) => "ok".to_string(),
        Err(e) => e.code().to_string(),
    };
    let grown = memory() - before;
    web_sys::console::log_1(
        &format!(
            "bounded read: {code}, pulled {} bytes, largest chunk {}, wasm memory +{grown} bytes",
            http.pulled.get(),
            http.largest.get()
        )
        .into(),
    );
    (
        code,
        http.pulled.get(),
        http.largest.get(),
        client.ledger().len(),
        grown,
    )
}

#[wasm_bindgen_test]
async fn an_endless_event_stream_stops_at_the_cap_without_a_retry() {
    let cap = 512 * 1024;
    let (code, pulled, largest, attempts, grown) =
        chat_against(json!({"endless_sse": {}}), true, cap).await;
    assert_eq!((code.as_str(), attempts), ("response_too_large", 1));
    assert!(
        pulled > cap as usize && pulled <= cap as usize + 64 * 1024,
        "pulled {pulled}"
    );
    assert!(largest <= 64 * 1024, "largest chunk {largest}");
    assert!(
        grown <= 8.0 * 1024.0 * 1024.0,
        "wasm memory grew by {grown} bytes"
    );
}

#[wasm_bindgen_test]
async fn a_huge_json_body_and_an_endless_line_stop_at_their_caps() {
    let cap = 1024 * 1024;
    let start = JsClock.now_ms();
    let (code, pulled, largest, attempts, _) =
        chat_against(json!({"huge_json": 256u64 << 20}), false, cap).await;
    assert_eq!((code.as_str(), attempts), ("response_too_large", 1));
    assert!(
        pulled <= cap as usize + 64 * 1024 && largest <= 64 * 1024,
        "pulled {pulled}, largest {largest}"
    );
    assert!(
        JsClock.now_ms() - start < 10_000.0,
        "the 256 MiB body was not read to its end"
    );
    let (code, pulled, _, _, _) =
        chat_against(json!({"endless_sse": {"line": true}}), true, 4 << 20).await;
    assert_eq!(code, "response_too_large");
    assert!(pulled <= (1 << 20) + 64 * 1024, "pulled {pulled}");
}

#[wasm_bindgen_test]
async fn a_silent_stream_is_ended_by_the_timeout() {
    use recagent_core::agent::llm::{
        ChatMessage, ChatModel, ChatRequest, ChatRole, Ledger, LlmClient, LlmConfig,
    };
    let s = session("silent");
    script(
        &FetchHttp::new(),
        &s,
        json!({"steps": [{"endless_sse": {"silent": true}}]}),
    )
    .await;
    let config = LlmConfig {
        base_url: format!("{}/s/{s}", server()),
        model: "m".into(),
        request_timeout_ms: 600,
        max_retries: 0,
        ..LlmConfig::default()
    };
    let client = LlmClient::new(
        config,
        std::rc::Rc::new(FetchHttp::new()),
        std::rc::Rc::new(JsClock),
        std::rc::Rc::new(JsSleeper),
        Ledger::new(),
    )
    .unwrap();
    let request = ChatRequest {
        messages: vec![ChatMessage::text(ChatRole::User, "films")],
        ..ChatRequest::default()
    };
    let start = JsClock.now_ms();
    let err = client.chat(request, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(JsClock.now_ms() - start < 5000.0);
}

#[wasm_bindgen_test]
async fn huge_and_sparse_streamed_tool_call_indexes_arrive_in_order() {
    use recagent_core::agent::llm::{
        ChatMessage, ChatModel, ChatRequest, ChatRole, Ledger, LlmClient, LlmConfig, ToolSpec,
    };
    let s = session("indexes");
    let reply = json!({"tool_calls": [
        {"name": "recommend", "arguments": {"k": 3}, "index": u64::MAX},
        {"name": "get_item", "arguments": {"id": "1"}, "index": 1_000_000_000u64},
        {"name": "get_item", "arguments": {"id": "2"}, "index": 0},
    ]});
    script(&FetchHttp::new(), &s, json!({"steps": [{"reply": reply}]})).await;
    let config = LlmConfig {
        base_url: format!("{}/s/{s}", server()),
        model: "m".into(),
        ..LlmConfig::default()
    };
    let client = LlmClient::new(
        config,
        std::rc::Rc::new(FetchHttp::new()),
        std::rc::Rc::new(JsClock),
        std::rc::Rc::new(JsSleeper),
        Ledger::new(),
    )
    .unwrap();
    let tool = |name: &str| ToolSpec {
        name: name.into(),
        description: String::new(),
        parameters: json!({"type": "object"}),
    };
    let request = ChatRequest {
        messages: vec![ChatMessage::text(ChatRole::User, "films")],
        tools: vec![tool("recommend"), tool("get_item")],
        ..ChatRequest::default()
    };
    let r = client.chat(request, &mut |_| {}).await.unwrap();
    let got: Vec<(&str, &str)> = r
        .tool_calls
        .iter()
        .map(|c| (c.name.as_str(), c.arguments.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("recommend", r#"{"k":3}"#),
            ("get_item", r#"{"id":"1"}"#),
            ("get_item", r#"{"id":"2"}"#)
        ]
    );
}
