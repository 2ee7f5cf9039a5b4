//! The scripted OpenAI-compatible server itself (tests/support/llm_server.rs),
//! checked with a raw TCP client: every step kind, the `fail` mode, streaming
//! (split and truncated), CORS, the request log and the example binary. The
//! replies, dialects and the planner/obey modes: tests/llm_server_modes.rs.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/llm_server.rs"]
mod llm_server;
#[path = "support/raw_http.rs"]
mod raw_http;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use llm_server::ScriptedLlmServer;
use raw_http::{exchange, parse_response, post, sse_data};
use serde_json::{json, Value};

#[test]
fn json_raw_status_headers_and_retry_after_steps() {
    let server = ScriptedLlmServer::start();
    let port = server.port();
    server.script(
        "a",
        json!({"steps": [
            {"json": {"hello": 1}},
            {"status": 500, "json": {"error": {"message": "boom"}}},
            {"status": 429, "retry_after": "2", "headers": {"X-Test": "yes"}, "json": {}},
            {"raw": "{\"choices\": [", "status": 200},
            {"status": 200, "json": {"id": "x", "choices": []}},
        ]}),
    );
    let body = json!({"model": "m", "messages": []});
    let r = post(port, "a", &body);
    assert_eq!((r.status, r.json()), (200, json!({"hello": 1})));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = post(port, "a", &body);
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["message"], "boom");
    let r = post(port, "a", &body);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.header("x-test"), Some("yes"));
    let r = post(port, "a", &body);
    assert_eq!(r.text(), "{\"choices\": [");
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    let r = post(port, "a", &body);
    assert_eq!(r.json()["choices"], json!([]));
    // Script exhausted: the planner answers (no tools → a text answer).
    let r = post(port, "a", &body);
    assert_eq!(r.status, 200);
    assert!(r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .starts_with("Here is"));
}

#[test]
fn delay_and_truncated_json_body() {
    let server = ScriptedLlmServer::start();
    let port = server.port();
    server.script("d", json!({"steps": [{"delay_ms": 300, "json": {}}, {"json": {"long": "abcdefghijklmnop"}, "truncate": true}]}));
    let t = Instant::now();
    assert_eq!(post(port, "d", &json!({})).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let r = post(port, "d", &json!({}));
    let declared: usize = r.header("content-length").unwrap().parse().unwrap();
    assert!(
        r.body.len() < declared,
        "{} of {declared} bytes",
        r.body.len()
    );
}

#[test]
fn hang_keeps_the_socket_open_until_the_client_leaves() {
    let server = ScriptedLlmServer::start();
    let port = server.port();
    server.script("h", json!({"steps": [{"hang": true}]}));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = b"{}";
    write!(
        stream,
        "POST /s/h/v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n"
    )
    .unwrap();
    stream.write_all(body).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 16];
    let err = stream.read(&mut buf).unwrap_err();
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    drop(stream);
    // The request was read and logged even though it got no answer.
    assert_eq!(server.requests("h").len(), 1);
    // A hanging connection does not keep the server from being dropped.
    let t = Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn sse_events_arrive_separately_and_truncation_cuts_the_last_event() {
    let server = ScriptedLlmServer::start();
    let port = server.port();
    let events = json!([{"a": 1}, {"b": 2}, "not json {"]);
    server.script(
        "s",
        json!({"steps": [
            {"sse": events, "chunk_delay_ms": 50},
            {"sse": [{"a": 1}, {"bbbbbbbbbbbbbbbbbbbb": 2}], "truncate": true},
        ]}),
    );
    // Read the first stream incrementally: the events come apart in time.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /s/s/v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    .unwrap();
    let (mut all, mut reads) = (Vec::new(), 0);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        reads += 1;
        all.extend_from_slice(&buf[..n]);
    }
    assert!(reads >= 3, "{reads} reads");
    let r = parse_response(&all);
    assert!(r.complete);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        sse_data(&r.text()),
        ["{\"a\":1}", "{\"b\":2}", "not json {", "[DONE]"]
    );

    let r = post(port, "s", &json!({}));
    assert!(!r.complete, "a truncated stream has no final chunk");
    let text = r.text();
    assert!(text.starts_with("data: {\"a\":1}\n\n"));
    assert!(!text.contains("[DONE]"));
    let last = text.rsplit("\n\n").next().unwrap();
    assert!(
        last.starts_with("data: {\"bbb") && !last.ends_with('}'),
        "{last:?}"
    );
}

#[test]
fn fail_mode_and_bad_requests() {
    let server = ScriptedLlmServer::start();
    let port = server.port();
    server.script(
        "f",
        json!({"mode": "fail", "steps": [{"json": {"first": true}}]}),
    );
    assert_eq!(post(port, "f", &json!({})).json(), json!({"first": true}));
    for _ in 0..2 {
        let r = post(port, "f", &json!({}));
        assert_eq!(r.status, 500);
        assert_eq!(r.json(), json!({"error": {"message": "scripted failure"}}));
    }
    let r = exchange(port, "PUT", "/_script/x", &[], b"{\"mode\": \"dance\"}");
    assert_eq!(r.status, 400);
    let r = exchange(
        port,
        "POST",
        "/s/none/v1/chat/completions",
        &[],
        b"not json",
    );
    assert_eq!(r.status, 400);
    assert_eq!(exchange(port, "GET", "/nowhere", &[], b"").status, 404);
}

#[test]
fn cors_preflight_and_headers_on_every_response() {
    let server = ScriptedLlmServer::start();
    let port = server.port();
    let r = exchange(
        port,
        "OPTIONS",
        "/s/x/v1/chat/completions",
        &[
            ("Origin", "http://a.test"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, PUT, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("authorization, content-type, x-api-key")
    );
    server.script(
        "c",
        json!({"steps": [{"status": 429, "retry_after": "1", "json": {}}, {"sse": [{}]}]}),
    );
    for _ in 0..2 {
        let r = post(port, "c", &json!({}));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("retry-after")
        );
    }
    let r = exchange(port, "GET", "/_log/c", &[], b"");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn log_over_http_and_rust_api_and_script_over_http() {
    let server = ScriptedLlmServer::start();
    let port = server.port();
    let r = exchange(
        port,
        "PUT",
        "/_script/l",
        &[],
        json!({"steps": [{"json": {"n": 1}}]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200);
    let body = "{\"model\": \"m\",  \"messages\": []}";
    let r = exchange(
        port,
        "POST",
        "/s/l/v1/chat/completions",
        &[("Authorization", "Bearer sk-1"), ("X-Api-Key", "k")],
        body.as_bytes(),
    );
    assert_eq!(r.json(), json!({"n": 1}));
    let log = exchange(port, "GET", "/_log/l", &[], b"").json();
    assert_eq!(log, Value::Array(server.requests("l")));
    let entry = &log[0];
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["path"], "/s/l/v1/chat/completions");
    assert_eq!(entry["headers"]["authorization"], "Bearer sk-1");
    assert_eq!(entry["headers"]["x-api-key"], "k");
    assert_eq!(entry["body"], body, "the exact bytes, spacing included");
    // Scripting again clears the log; the default session answers /v1/chat/completions.
    server.script("l", json!({}));
    assert!(server.requests("l").is_empty());
    let r = exchange(
        port,
        "POST",
        "/v1/chat/completions",
        &[],
        b"{\"messages\": []}",
    );
    assert_eq!(r.status, 200);
    assert_eq!(server.requests("default").len(), 1);
    assert!(server.session_url("l").ends_with(&format!(":{port}/s/l")));
}

#[test]
fn example_binary_prints_its_url_and_serves() {
    // The binary of this test's own package (crates/testkit): cargo builds it
    // before running the test, so no earlier step or run has to leave it behind.
    let bin = env!("CARGO_BIN_EXE_scripted_llm");
    let mut child = std::process::Command::new(bin)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening http://127.0.0.1:")
        .map(str::to_string);
    let port: u16 = url.expect(&line).parse().unwrap();
    let r = exchange(
        port,
        "POST",
        "/v1/chat/completions",
        &[],
        b"{\"messages\":[]}",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(r.status, 200);
}
