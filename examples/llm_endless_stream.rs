//! Peak memory of the LLM client while an endpoint streams forever: runs
//! `LlmClient` over the native HTTP client (ureq) against the scripted LLM
//! server (in this process, on loopback) in three hostile shapes — an SSE
//! stream of small events that never ends, one SSE line that never ends,
//! a 1 GiB JSON body, and a JSON body just under the cap made of 2-byte
//! values (the worst case for a parsed value's memory) — and prints, for each, the error code, the time
//! it took, the attempts sent, the streamed text, and the process's peak
//! resident memory (`VmHWM` of `/proc/self/status`, Linux) before and after.
//!
//! ```sh
//! cargo run -p recagent-cli --release --example llm_endless_stream -- [--max-response-bytes N]
//! ```
//!
//! `VmHWM` only grows, so the shapes run from the smallest expected peak
//! up; the growth over the baseline is what one attempt cost (the server's
//! threads included, so it is an upper bound).

#[path = "../tests/support/llm_server.rs"]
mod llm_server;

use std::rc::Rc;
use std::time::Instant;

use futures::executor::block_on;
use recagent_cli::native_http::{NativeHttp, SystemClock, ThreadSleeper};
use recagent_core::agent::llm::{
    ChatMessage, ChatModel, ChatRequest, ChatRole, Ledger, LlmClient, LlmConfig,
    DEFAULT_MAX_RESPONSE_BYTES,
};
use serde_json::json;

/// `VmHWM` and `VmRSS` of this process in KiB (0 where /proc is missing).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A valid completion of just under `cap` bytes that is mostly a list of
/// `0`s: the worst case for the memory of a parsed JSON value (every
/// 2 bytes of text become one value in memory).
fn dense_json(cap: u32) -> String {
    let head = r#"{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}],"x":[0"#;
    let zeros = (cap as usize).saturating_sub(head.len() + 8) / 2;
    format!("{head}{}]}}", ",0".repeat(zeros))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut cap = DEFAULT_MAX_RESPONSE_BYTES;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--max-response-bytes", Some(n)) => cap = n,
            _ => {
                eprintln!("usage: llm_endless_stream [--max-response-bytes N]");
                std::process::exit(2);
            }
        }
    }
    let server = llm_server::ScriptedLlmServer::start();
    let shapes = [
        (
            "endless SSE, small events",
            json!({"endless_sse": {}}),
            true,
        ),
        (
            "endless SSE, one line",
            json!({"endless_sse": {"line": true}}),
            true,
        ),
        ("1 GiB JSON body", json!({"huge_json": 1u64 << 30}), false),
        ("JSON of many small values just under the cap", json!({"raw": dense_json(cap)}), false),
    ];
    let (baseline, _) = memory_kib();
    println!("max_response_bytes = {cap}; baseline VmHWM = {baseline} KiB");
    for (name, step, stream) in shapes {
        let session = name.replace([' ', ','], "-");
        server.script(&session, json!({"steps": [step]}));
        let config = LlmConfig {
            base_url: server.session_url(&session),
            model: "m".into(),
            stream,
            max_response_bytes: cap,
            ..LlmConfig::default()
        };
        let client = match LlmClient::new(
            config,
            Rc::new(NativeHttp::new()),
            Rc::new(SystemClock),
            Rc::new(ThreadSleeper),
            Ledger::new(),
        ) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("llm_endless_stream: {e}");
                std::process::exit(2);
            }
        };
        let request = ChatRequest {
            messages: vec![ChatMessage::text(ChatRole::User, "films for tonight")],
            ..ChatRequest::default()
        };
        let (before, _) = memory_kib();
        let started = Instant::now();
        let mut tokens = 0usize;
        let result = block_on(client.chat(request, &mut |t| tokens += t.len()));
        let elapsed = started.elapsed();
        let (after, rss) = memory_kib();
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => e.code().to_string(),
        };
        println!(
            "{name}: {outcome} after {:.0} ms, {} attempt(s), {tokens} bytes of text streamed; VmHWM {before} -> {after} KiB (+{} KiB over baseline), VmRSS now {rss} KiB",
            elapsed.as_secs_f64() * 1000.0,
            client.ledger().len(),
            after.saturating_sub(baseline),
        );
    }
}
