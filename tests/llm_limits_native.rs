//! The LLM client over the native HTTP client (ureq) against the scripted
//! server's hostile faults: an SSE stream of small events that never ends,
//! one endless SSE line, a 1 GiB JSON body (each stops at its cap, typed,
//! once, in far less time than the body would take), a stream that sends a
//! head and then nothing (the timeout), huge and sparse streamed tool-call
//! indexes; and `recagent ask --max-response-bytes` answering on the device
//! with `fallback.code` `response_too_large`.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/llm_server.rs"]
mod llm_server;

mod common;

use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use llm_server::ScriptedLlmServer;
use recagent_cli::native_http::{NativeHttp, SystemClock, ThreadSleeper};
use recagent_core::agent::llm::{
    ChatMessage, ChatModel, ChatRequest, ChatResponse, ChatRole, Ledger, LlmClient, LlmConfig,
    ToolSpec,
};
use serde_json::{json, Value};

fn client(
    server: &ScriptedLlmServer,
    session: &str,
    edit: impl FnOnce(&mut LlmConfig),
) -> LlmClient {
    let mut config = LlmConfig {
        base_url: server.session_url(session),
        model: "m".into(),
        ..LlmConfig::default()
    };
    edit(&mut config);
    LlmClient::new(
        config,
        Rc::new(NativeHttp::new()),
        Rc::new(SystemClock),
        Rc::new(ThreadSleeper),
        Ledger::new(),
    )
    .unwrap()
}

fn request(tools: bool) -> ChatRequest {
    let tool = |name: &str| ToolSpec {
        name: name.into(),
        description: String::new(),
        parameters: json!({"type": "object"}),
    };
    ChatRequest {
        messages: vec![ChatMessage::text(ChatRole::User, "films for tonight")],
        tools: if tools {
            vec![tool("recommend"), tool("get_item")]
        } else {
            vec![]
        },
        ..ChatRequest::default()
    }
}

/// The error code (or "ok") and the time of one chat against `step`.
fn run(step: Value, edit: impl FnOnce(&mut LlmConfig)) -> (String, Duration, usize, usize) {
    let server = ScriptedLlmServer::start();
    server.script("s", json!({"steps": [step]}));
    let client = client(&server, "s", edit);
    let started = Instant::now();
    let mut text = 0usize;
    let result = block_on(client.chat(request(false), &mut |t| text += t.len()));
    let code = result.map_or_else(|e| e.code().to_string(), |_| "ok".to_string());
    (code, started.elapsed(), client.ledger().len(), text)
}

#[test]
fn endless_streams_and_a_huge_body_stop_at_their_caps_once() {
    let (code, took, attempts, text) = run(json!({"endless_sse": {}}), |c| {
        c.max_response_bytes = 256 * 1024
    });
    assert_eq!((code.as_str(), attempts), ("response_too_large", 1));
    // 256 KiB of ~106-byte events carry ~7,400 bytes of "la " tokens: those
    // before the cap reached on_token, none after it.
    assert!(text > 5_000 && text < 256 * 1024, "{text} bytes of text");
    assert!(took < Duration::from_secs(10), "{took:?}");

    let (code, took, attempts, _) = run(json!({"endless_sse": {"line": true}}), |_| {});
    assert_eq!((code.as_str(), attempts), ("response_too_large", 1));
    assert!(took < Duration::from_secs(10), "{took:?}");

    // 1 GiB would take far longer than 10 s to read and parse at opt-level 1.
    let (code, took, attempts, _) = run(json!({"huge_json": 1u64 << 30}), |c| {
        c.stream = false;
        c.max_retries = 2;
    });
    assert_eq!((code.as_str(), attempts), ("response_too_large", 1));
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_head_then_silence_is_ended_by_the_timeout() {
    let (code, took, _, _) = run(json!({"endless_sse": {"silent": true}}), |c| {
        c.request_timeout_ms = 500;
        c.max_retries = 0;
    });
    assert_eq!(code, "timeout");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn huge_and_sparse_streamed_indexes_keep_the_calls_in_order() {
    let server = ScriptedLlmServer::start();
    let reply = json!({"tool_calls": [
        {"name": "recommend", "arguments": {"k": 3}, "index": u64::MAX},
        {"name": "get_item", "arguments": {"id": "1"}, "index": 1_000_000_000u64},
        {"name": "get_item", "arguments": {"id": "2"}, "index": 0},
        {"name": "recommend", "arguments": {"k": 1}, "index": -5},
    ]});
    server.script("s", json!({"steps": [{"reply": reply}]}));
    let client = client(&server, "s", |_| {});
    let r: ChatResponse = block_on(client.chat(request(true), &mut |_| {})).unwrap();
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
            ("get_item", r#"{"id":"2"}"#),
            ("recommend", r#"{"k":1}"#),
        ]
    );
}

#[test]
fn ask_falls_back_to_the_device_on_an_oversized_answer() {
    let server = ScriptedLlmServer::start();
    server.script("big", json!({"steps": [{"huge_json": 64u64 << 20}]}));
    let assets = common::assets();
    let path = |name: &str| assets.join(name).display().to_string();
    let ask = |cap: &str| {
        common::recagent(
            &[
                "ask",
                "--catalog",
                &path("catalog/ml-100k.rcat"),
                "--model",
                &path("minilm-int8.onnx"),
                "--vocab",
                &path("vocab.txt"),
                "--endpoint",
                &server.session_url("big"),
                "--no-stream",
                "--max-response-bytes",
                cap,
                "something light for tonight",
            ],
            "",
        )
    };
    let out = ask("65536");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["fallback"]["code"], "response_too_large", "{v}");
    assert!(
        !v["items"].as_array().unwrap().is_empty(),
        "the device's answer: {v}"
    );
    assert_eq!(v["sent"].as_array().unwrap().len(), 1, "not retried: {v}");

    let out = ask("10");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("invalid_input"),
        "{stderr}"
    );
}
