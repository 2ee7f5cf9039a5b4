//! `recagent ask` and `recagent simulate` (the binary) against the scripted
//! OpenAI-compatible server started in this process: the JSON printed, the
//! ledger (`sent`) against what the server received, the privacy policy,
//! memory, the API key, an unreachable endpoint, the simulation.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/llm_server.rs"]
mod llm_server;

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use llm_server::ScriptedLlmServer;
use recagent_core::Catalog;
use serde_json::{json, Value};

fn asset_path(name: &str) -> String {
    common::assets().join(name).display().to_string()
}

/// `--catalog --model --vocab` of the ML-100K catalog and MiniLM.
fn encoder_args() -> Vec<String> {
    vec![
        "--catalog".into(),
        asset_path("catalog/ml-100k.rcat"),
        "--model".into(),
        asset_path("minilm-int8.onnx"),
        "--vocab".into(),
        asset_path("vocab.txt"),
    ]
}

/// The one JSON object a successful command printed.
fn json_out(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one JSON object on stdout: {stdout}");
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// `recagent ask ENDPOINT-ARGS… "request"`.
fn ask(extra: &[&str], request: &str) -> Value {
    let mut args: Vec<String> = vec!["ask".into()];
    args.extend(encoder_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(request.into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    json_out(&common::recagent(&refs, ""))
}

fn catalog() -> Catalog {
    Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).unwrap()
}

/// `items` is non-empty and every id is in the catalog.
fn assert_items_in_catalog(v: &Value, catalog: &Catalog) {
    let items = v["items"].as_array().unwrap_or_else(|| panic!("no items: {v}"));
    assert!(!items.is_empty(), "no items: {v}");
    for item in items {
        let id = item["id"].as_str().unwrap();
        assert!(catalog.index_of(id).is_some(), "{id} is not in the catalog");
    }
}

/// `sent[i].body` is byte-identical to the i-th request the server logged.
fn assert_sent_matches_log(v: &Value, log: &[Value]) {
    let sent = v["sent"].as_array().unwrap();
    assert_eq!(sent.len(), log.len(), "one ledger entry per request the server received");
    for (entry, request) in sent.iter().zip(log) {
        assert_eq!(entry["body"].as_str(), request["body"].as_str(), "sent body differs from the bytes received");
        assert_eq!(entry["bytes"].as_u64(), request["body"].as_str().map(|b| b.len() as u64));
        assert_eq!(entry["method"], "POST");
    }
}

fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recagent-agent-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn ask_prints_answer_items_trace_and_the_exact_bytes_sent() {
    let server = ScriptedLlmServer::start();
    let catalog = catalog();
    server.script("ask", json!({}));
    let url = server.session_url("ask");
    let v = ask(&["--endpoint", &url], "a space adventure for tonight, mail me at jane.doe@example.com");
    assert!(v["answer"].as_str().unwrap().starts_with("Here is what I found"), "{v}");
    assert_items_in_catalog(&v, &catalog);
    let trace = v["trace"].as_array().unwrap();
    assert!(trace.iter().any(|s| s["kind"] == "tool" && s["tool"] == "recommend" && s["status"] == "ok"), "{v}");
    assert!(v.get("fallback").is_none(), "{v}");
    let log = server.requests("ask");
    assert_eq!(log.len(), 2, "a plan and an answer");
    assert_sent_matches_log(&v, &log);
    let sent = v["sent"].to_string();
    assert!(!sent.contains("jane.doe") && sent.contains("[email]"), "the e-mail is redacted in what was sent");
    assert!(log.iter().all(|r| !r["body"].as_str().unwrap().contains("jane.doe")));
    assert!(log.iter().all(|r| r["headers"].get("authorization").is_none()), "no key, no Authorization header");

    // Autonomy 0: nothing is sent.
    server.script("ask", json!({}));
    let v = ask(&["--endpoint", &url, "--autonomy", "0"], "a space adventure");
    assert_eq!(v["sent"], json!([]));
    assert!(server.requests("ask").is_empty());
    assert_items_in_catalog(&v, &catalog);

    // A policy that shares nothing: nothing is sent either.
    let dir = temp_dir("policy");
    let policy = dir.join("policy.json");
    std::fs::write(&policy, r#"{"share":"nothing"}"#).unwrap();
    let v = ask(&["--endpoint", &url, "--policy", policy.to_str().unwrap()], "a space adventure");
    assert_eq!(v["sent"], json!([]));
    assert!(server.requests("ask").is_empty());
    assert_eq!(v["fallback"]["code"], "policy", "{v}");
    assert_items_in_catalog(&v, &catalog);
    let _ = std::fs::remove_dir_all(&dir);

    // An unreachable endpoint: still exit 0, the device's answer, the attempts ledgered.
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let v = ask(&["--endpoint", &dead, "--timeout-ms", "2000"], "a space adventure");
    assert_eq!(v["fallback"]["code"], "network_error", "{v}");
    assert_items_in_catalog(&v, &catalog);
    let sent = v["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 3, "first try and 2 retries: {v}");
    assert!(sent.iter().all(|e| e["error"] == "network_error" && e["status"].is_null()), "{v}");
}

#[test]
fn ask_never_sends_memory_and_masks_the_api_key() {
    let server = ScriptedLlmServer::start();
    let canary = format!("CANARY-{:08x}", std::process::id().wrapping_mul(2_654_435_761));
    let dir = temp_dir("memory");
    let mut args = vec!["memory".to_string(), "--dir".into(), dir.display().to_string()];
    args.extend(["--model".into(), asset_path("minilm-int8.onnx"), "--vocab".into(), asset_path("vocab.txt")]);
    args.extend(["remember".into(), format!("my secret code is {canary}")]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let remembered = json_out(&common::recagent(&refs, ""));
    assert!(remembered["remembered"].to_string().contains(&canary), "{remembered}");

    // The obeying server asks for the memory (the directive is in the
    // request itself); the default policy withholds it.
    server.script("mem", json!({"mode": "obey"}));
    let url = server.session_url("mem");
    let request = "something to watch; call recall_memory with {\"query\": \"secret code\"}";
    let v = ask(&["--endpoint", &url, "--memory", dir.to_str().unwrap()], request);
    let trace = v["trace"].as_array().unwrap();
    assert!(
        trace.iter().any(|s| s["tool"] == "recall_memory" && s["status"] == "ok"),
        "recall_memory ran on the device: {v}"
    );
    let log = server.requests("mem");
    assert!(log.len() >= 2);
    assert_sent_matches_log(&v, &log);
    assert!(!v["sent"].to_string().contains(&canary), "the canary fact was sent");
    assert!(log.iter().all(|r| !r["body"].as_str().unwrap().contains(&canary)));
    assert!(v["sent"].to_string().contains("withheld by the privacy policy"));
    let _ = std::fs::remove_dir_all(&dir);

    // --api-key-env: the server gets the key, the ledger shows it masked.
    server.script("key", json!({}));
    let key = "sk-test-5f0c1d2e3b4a";
    let mut args: Vec<String> = vec!["ask".into()];
    args.extend(encoder_args());
    args.extend(["--endpoint".into(), server.session_url("key"), "--api-key-env".into(), "RECAGENT_TEST_KEY".into(), "a comedy".into()]);
    let out = Command::new(env!("CARGO_BIN_EXE_recagent"))
        .args(&args)
        .env("RECAGENT_TEST_KEY", key)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let v = json_out(&out);
    let log = server.requests("key");
    assert!(!log.is_empty());
    assert!(log.iter().all(|r| r["headers"]["authorization"] == format!("Bearer {key}")), "{log:?}");
    assert_sent_matches_log(&v, &log);
    for entry in v["sent"].as_array().unwrap() {
        let auth: Vec<&Value> = entry["headers"].as_array().unwrap().iter().filter(|h| h[0].as_str().map(str::to_ascii_lowercase).as_deref() == Some("authorization")).collect();
        assert_eq!(auth.len(), 1, "{entry}");
        assert_eq!(auth[0][1], "Bearer ***");
    }
    let printed = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!printed.contains(key), "the key never appears in the output");
}

#[test]
fn simulate_reports_the_baseline_and_the_agent() {
    let server = ScriptedLlmServer::start();
    server.script("sim", json!({}));
    let dataset = asset_path("data/ml-100k");
    let run = |endpoint: Option<String>| {
        let mut args: Vec<String> = vec!["simulate".into()];
        args.extend(encoder_args());
        args.extend(["--dataset".into(), dataset.clone(), "--users".into(), "8".into(), "--turns".into(), "3".into()]);
        if let Some(url) = endpoint {
            args.extend(["--endpoint".into(), url]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        json_out(&common::recagent(&refs, ""))
    };
    let v = run(Some(server.session_url("sim")));
    for system in ["baseline", "agent"] {
        let s = &v[system];
        let hit_rate = s["hitRate"].as_f64().unwrap_or_else(|| panic!("{system}.hitRate: {v}"));
        assert!((0.0..=1.0).contains(&hit_rate));
        let avg = s["avgTurns"].as_f64().unwrap();
        assert!((1.0..=3.0).contains(&avg), "{system}.avgTurns {avg}");
        let by_turn = s["hitsByTurn"].as_array().unwrap();
        assert_eq!(by_turn.len(), 3, "{v}");
        assert_eq!(s["users"], 8);
    }
    assert_eq!(v["baseline"]["autonomy"], 0);
    assert_eq!(v["agent"]["autonomy"], 2);
    let requests = v["llmRequests"].as_u64().unwrap();
    assert!(requests > 0, "{v}");
    assert_eq!(requests as usize, server.requests("sim").len(), "every request the agent made reached the server");
    println!("simulate against the scripted server: {v}");

    let v = run(None);
    assert!(v["agent"].is_null(), "{v}");
    assert_eq!(v["llmRequests"], 0);
    assert!(v["baseline"]["hitRate"].is_f64(), "{v}");
}
