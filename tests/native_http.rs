//! The native Http (ureq) against the scripted LLM server: statuses pass
//! through, headers are lower-cased, SSE arrives in several chunks, the
//! timeout bounds a hung exchange, a refused port and a truncated body are
//! network errors.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/llm_server.rs"]
mod llm_server;

use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use llm_server::ScriptedLlmServer;
use recagent_cli::native_http::{NativeHttp, ThreadSleeper};
use recagent_core::platform::{Http, HttpRequest, Sleeper};
use serde_json::{json, Value};

fn post(url: String, body: &str, timeout_ms: u32) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Authorization".into(), "Bearer sk-test".into()),
        ],
        body: body.as_bytes().to_vec(),
        timeout_ms,
    }
}

fn completions(server: &ScriptedLlmServer, session: &str) -> String {
    format!("{}/v1/chat/completions", server.session_url(session))
}

#[test]
fn statuses_pass_through_and_headers_are_lower_case() {
    let server = ScriptedLlmServer::start();
    server.script(
        "st",
        json!({"steps": [
            {"json": {"ok": true}, "headers": {"X-Request-ID": "abc"}},
            {"status": 500, "json": {"error": {"message": "boom"}}},
            {"status": 429, "retry_after": "3", "json": {}},
            {"status": 401, "raw": "no"},
        ]}),
    );
    let http = NativeHttp::new();
    let body = r#"{"model":"m", "messages":[]}"#;
    let r = block_on(http.send(post(completions(&server, "st"), body, 5000))).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"ok": true})
    );
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("x-request-id").as_deref(), Some("abc"));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert!(r.headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()));

    let r = block_on(http.send(post(completions(&server, "st"), body, 5000))).unwrap();
    assert_eq!(r.status, 500);
    assert!(String::from_utf8(r.body).unwrap().contains("boom"));
    let r = block_on(http.send(post(completions(&server, "st"), body, 5000))).unwrap();
    assert_eq!(r.status, 429);
    assert!(r
        .headers
        .contains(&("retry-after".to_string(), "3".to_string())));
    let r = block_on(http.send(post(completions(&server, "st"), body, 5000))).unwrap();
    assert_eq!((r.status, r.body), (401, b"no".to_vec()));

    // The server received exactly the bytes and headers sent.
    let log = server.requests("st");
    assert_eq!(log.len(), 4);
    assert_eq!(log[0]["body"], body);
    assert_eq!(log[0]["headers"]["authorization"], "Bearer sk-test");
    assert_eq!(log[0]["method"], "POST");
}

#[test]
fn sse_arrives_as_several_chunks() {
    let server = ScriptedLlmServer::start();
    let events: Vec<Value> = (0..5).map(|i| json!({"n": i})).collect();
    server.script(
        "sse",
        json!({"steps": [{"sse": events, "chunk_delay_ms": 40}]}),
    );
    let http = NativeHttp::new();
    let mut response =
        block_on(http.send_streaming(post(completions(&server, "sse"), "{}", 5000))).unwrap();
    assert_eq!(response.status, 200);
    let mut chunks = Vec::new();
    block_on(async {
        while let Some(chunk) = response.body.next().await {
            chunks.push(chunk.unwrap());
        }
    });
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    let text = String::from_utf8(chunks.concat()).unwrap();
    assert!(text.starts_with("data: {\"n\":0}\n\n"));
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[test]
fn a_hang_times_out_within_the_limit() {
    let server = ScriptedLlmServer::start();
    server.script("h", json!({"steps": [{"hang": true}, {"sse": [{"a": 1}, {"b": 2}, {"c": 3}], "chunk_delay_ms": 400}]}));
    let http = NativeHttp::new();
    let start = Instant::now();
    let err = block_on(http.send(post(completions(&server, "h"), "{}", 300))).unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(took >= Duration::from_millis(250), "{took:?}");

    // The limit covers the body too: a head in time, a body too slow.
    let start = Instant::now();
    let err = block_on(http.send(post(completions(&server, "h"), "{}", 500))).unwrap_err();
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_refused_port_is_a_network_error() {
    // Bind, learn a free port, close it: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = NativeHttp::new();
    let err = block_on(http.send(post(
        format!("http://127.0.0.1:{port}/v1/chat/completions"),
        "{}",
        2000,
    )))
    .unwrap_err();
    assert_eq!(err.code(), "network_error", "{err}");
    let err = block_on(http.send(post("not a url".into(), "{}", 2000))).unwrap_err();
    assert_eq!(err.code(), "invalid_input", "{err}");
}

#[test]
fn truncated_bodies_end_with_a_network_error() {
    let server = ScriptedLlmServer::start();
    server.script(
        "t",
        json!({"steps": [
            {"sse": [{"a": 1}, {"b": "xxxxxxxxxxxxxxxxxxxxxxxx"}], "truncate": true, "chunk_delay_ms": 20},
            {"json": {"long": "abcdefghijklmnopqrstuvwxyz"}, "truncate": true},
        ]}),
    );
    let http = NativeHttp::new();
    let mut response =
        block_on(http.send_streaming(post(completions(&server, "t"), "{}", 5000))).unwrap();
    let (mut received, mut error) = (Vec::new(), None);
    block_on(async {
        while let Some(chunk) = response.body.next().await {
            match chunk {
                Ok(bytes) => received.extend(bytes),
                Err(e) => error = Some(e),
            }
        }
    });
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("data: {\"a\":1}\n\n"), "{text:?}");
    assert!(!text.contains("[DONE]"));
    assert_eq!(error.expect("the cut is reported").code(), "network_error");

    let err = block_on(http.send(post(completions(&server, "t"), "{}", 5000))).unwrap_err();
    assert_eq!(err.code(), "network_error", "{err}");
}

#[test]
fn thread_sleeper_waits() {
    let start = Instant::now();
    block_on(ThreadSleeper.sleep(50));
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn dropping_the_body_stream_stops_reading_at_once() {
    let server = ScriptedLlmServer::start();
    let events: Vec<Value> = (0..10).map(|i| json!({"n": i})).collect();
    server.script(
        "drop",
        json!({"steps": [{"sse": events, "chunk_delay_ms": 300}]}),
    );
    let http = NativeHttp::new();
    let mut response =
        block_on(http.send_streaming(post(completions(&server, "drop"), "{}", 10_000))).unwrap();
    let first = block_on(response.body.next()).unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).starts_with("data: {\"n\":0}"));
    // The other nine events would take 2.7 s; dropping does not wait for them.
    let start = Instant::now();
    drop(response);
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
}
