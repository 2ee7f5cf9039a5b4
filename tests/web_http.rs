//! The browser Http (`fetch`) against the scripted LLM server
//! (`cargo run -p recagent-testkit --bin scripted_llm`), whose URL is baked in at compile
//! time from `RECAGENT_LLM_SERVER` (scripts/test.sh starts the server and
//! sets it). Sessions are scripted through `PUT /_script/<session>` with
//! FetchHttp itself.
#![cfg(target_arch = "wasm32")]

use futures::StreamExt;
use recagent::fetch::{FetchHttp, JsClock, JsSleeper};
use recagent_core::platform::{Clock, Http, HttpRequest, Sleeper};
use serde_json::{json, Value};
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
