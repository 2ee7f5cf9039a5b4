//! `recagent simulate --user-endpoint …`: the simulated user played by an
//! LLM (the scripted server's `user` mode, over real loopback HTTP). The
//! server is made to say each hidden target's title; the test checks that
//! the guard redacts it before the agent hears it and counts it, that the
//! user's requests are counted apart from the agent's ledger, that the
//! opening utterance is shared by the baseline and the agent, and that a
//! failing user endpoint falls back to the rule-based user turn by turn.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/llm_server.rs"]
mod llm_server;

mod common;

use std::collections::HashMap;
use std::process::Output;

use llm_server::ScriptedLlmServer;
use recagent_cli::eval::simulate::{users_from_split, SimulatedUser};
use recagent_cli::eval::simulate_llm::{redact_target, REDACTED, USER_SEED};
use recagent_core::Catalog;
use serde_json::{json, Value};

const USERS: usize = 8;
const TURNS: usize = 3;

fn asset_path(name: &str) -> String {
    common::assets().join(name).display().to_string()
}

/// `recagent simulate` over ML-100K with `extra` flags; its output.
fn simulate_raw(extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["simulate".into()];
    for (flag, asset) in [
        ("--catalog", "catalog/ml-100k.rcat"),
        ("--model", "minilm-int8.onnx"),
        ("--vocab", "vocab.txt"),
        ("--dataset", "data/ml-100k"),
    ] {
        args.extend([flag.to_string(), asset_path(asset)]);
    }
    args.extend(["--users".into(), USERS.to_string(), "--turns".into(), TURNS.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    common::recagent(&refs, "")
}

/// The one JSON object a successful `simulate` printed.
fn simulate(extra: &[&str]) -> Value {
    let out = simulate_raw(extra);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The simulated users `recagent simulate --users 8` plays (same function,
/// same data).
fn sim_users() -> Vec<SimulatedUser> {
    let catalog = Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).unwrap();
    let data = recagent_cli::eval::load_dir(&common::assets().join("data/ml-100k")).unwrap();
    let split = recagent_cli::eval::leave_one_out(&data, recagent_cli::eval::CORE).unwrap();
    let users = users_from_split(&split, &catalog, USERS);
    assert_eq!(users.len(), USERS);
    users
}

/// Turns played by one system of the output (users × average turns).
fn turns_played(system: &Value) -> u64 {
    (system["avgTurns"].as_f64().unwrap() * system["users"].as_f64().unwrap()).round() as u64
}

/// ` a b c `: lower-case words between single spaces.
fn words(text: &str) -> String {
    let spaced: String = text.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    format!(" {} ", spaced.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn content(message: &Value) -> &str {
    message["content"].as_str().unwrap_or("")
}

/// The messages of each logged request with `role`.
fn messages_with_role(log: &[Value], role: &str) -> Vec<String> {
    log.iter()
        .flat_map(|r| {
            let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            body["messages"].as_array().cloned().unwrap_or_default()
        })
        .filter(|m| m["role"] == role)
        .map(|m| content(&m).to_string())
        .collect()
}

#[test]
fn an_llm_user_is_guarded_counted_and_shared_by_both_systems() {
    let sims = sim_users();
    // The server's user says the target's title whenever the prompt holds
    // that target's description line (kept only where it is unique).
    let mut lines: HashMap<String, Vec<&SimulatedUser>> = HashMap::new();
    for s in &sims {
        lines.entry(format!("- description: {}\n", s.description)).or_default().push(s);
    }
    let leaky: Vec<(String, &SimulatedUser)> =
        lines.into_iter().filter(|(_, v)| v.len() == 1).map(|(k, v)| (k, v[0])).collect();
    assert!(leaky.len() >= 3, "too few distinct descriptions: {}", leaky.len());
    let leaks: serde_json::Map<String, Value> =
        leaky.iter().map(|(k, s)| (k.clone(), Value::String(s.title.clone()))).collect();
    let server = ScriptedLlmServer::start();
    server.script("sim", json!({}));
    server.script("user", json!({"mode": "user", "leaks": leaks}));
    let (sim_url, user_url) = (server.session_url("sim"), server.session_url("user"));
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("turns.jsonl");
    let v = simulate(&[
        "--endpoint",
        &sim_url,
        "--user-endpoint",
        &user_url,
        "--user-llm-model",
        "player",
        "--transcript",
        transcript.to_str().unwrap(),
    ]);
    println!("simulate with the scripted LLM user: {v}");

    assert_eq!((v["user"].as_str(), v["userEndpoint"].as_str()), (Some("llm"), Some(user_url.as_str())));
    assert_eq!(v["userLlmModel"], "player");
    let user_log = server.requests("user");
    let agent_log = server.requests("sim");
    // The user's requests: counted apart, never in the agent's ledger.
    assert_eq!(v["userLlmRequests"].as_u64(), Some(user_log.len() as u64), "{v}");
    assert_eq!(v["llmRequests"].as_u64(), Some(agent_log.len() as u64), "{v}");
    let (b, a) = (&v["baseline"], &v["agent"]);
    assert_eq!(b["userLlmRequests"].as_u64().unwrap() + a["userLlmRequests"].as_u64().unwrap(), user_log.len() as u64);
    for r in &user_log {
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!((body["model"].as_str(), body["temperature"].as_f64()), (Some("player"), Some(0.0)));
        assert_eq!(body["seed"].as_u64(), Some(USER_SEED));
    }
    // Every turn was a request or a memoized utterance (no fallback); the
    // baseline and the agent shared at least every opening utterance.
    assert_eq!(v["userFallbacks"], 0, "{v}");
    let played = turns_played(b) + turns_played(a);
    let reused = v["userReused"].as_u64().unwrap();
    assert_eq!(user_log.len() as u64 + reused, played, "{v}");
    assert!(reused >= USERS as u64, "the opening prompts are the same for both systems: {v}");
    // What the prompts say the user knows never names a target.
    let knowledge: Vec<String> = messages_with_role(&user_log, "user")
        .iter()
        .flat_map(|m| m.lines().filter(|l| l.starts_with("- ")).map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert!(knowledge.iter().any(|l| l.starts_with("- description: ")), "{knowledge:?}");
    for line in &knowledge {
        for s in &sims {
            assert!(!redact_target(line, s).1, "the prompt names {:?}: {line}", s.title);
        }
    }
    // The server leaked titles; the guard redacted every one and counted it.
    let leaked = v["userLeaks"].as_u64().unwrap();
    assert!(leaked > 0, "{v}");
    assert_eq!(b["userLeaks"].as_u64().unwrap() + a["userLeaks"].as_u64().unwrap(), leaked);
    let said_to_agent = messages_with_role(&agent_log, "user");
    assert!(said_to_agent.iter().any(|m| m.contains(REDACTED)), "a redacted utterance reached the agent");
    for message in &said_to_agent {
        for (_, s) in &leaky {
            // Independent of the guard's own matching: the title as the
            // server wrote it, lower-cased, as whole words.
            assert!(!words(message).contains(&words(&s.title)), "the agent heard {:?}: {message}", s.title);
        }
    }
    // The transcript: one line per turn played; what each system heard,
    // the openings the same for both.
    let turns: Vec<Value> = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(turns.len() as u64, played);
    let opening = |system: &str| -> Vec<Value> {
        turns.iter().filter(|t| t["system"] == system && t["turn"] == 1).map(|t| t["said"].clone()).collect()
    };
    assert_eq!(opening("baseline").len(), USERS);
    assert_eq!(opening("baseline"), opening("agent"));
    for turn in &turns {
        let said = turn["said"].as_str().unwrap();
        for (_, s) in &leaky {
            assert!(!words(said).contains(&words(&s.title)), "{} heard {:?}: {said}", turn["system"], s.title);
        }
    }
    let hits = |system: &str| turns.iter().filter(|t| t["system"] == system && t["hit"] == true).count() as f64;
    assert_eq!(hits("baseline") / USERS as f64, v["baseline"]["hitRate"].as_f64().unwrap());
    assert_eq!(hits("agent") / USERS as f64, v["agent"]["hitRate"].as_f64().unwrap());
    for system in ["baseline", "agent"] {
        let hit_rate = v[system]["hitRate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&hit_rate), "{v}");
        assert_eq!(v[system]["hitsByTurn"].as_array().map(Vec::len), Some(TURNS));
    }
}

#[test]
fn a_failing_user_endpoint_falls_back_to_the_rule_based_user() {
    let server = ScriptedLlmServer::start();
    server.script("sim", json!({}));
    let sim_url = server.session_url("sim");
    let rule = simulate(&["--endpoint", &sim_url]);
    assert_eq!((rule["user"].as_str(), rule["userLlmRequests"].as_u64()), (Some("rule"), Some(0)));
    assert!(rule["userEndpoint"].is_null());

    // Always down: every turn falls back, and the run is the rule-based one.
    server.script("sim", json!({}));
    server.script("down", json!({"mode": "fail"}));
    let v = simulate(&["--endpoint", &sim_url, "--user-endpoint", &server.session_url("down")]);
    let played = turns_played(&v["baseline"]) + turns_played(&v["agent"]);
    assert_eq!(v["userFallbacks"].as_u64(), Some(played), "{v}");
    assert_eq!(v["userLeaks"], 0);
    assert_eq!(v["userLlmRequests"].as_u64(), Some(server.requests("down").len() as u64));
    for system in ["baseline", "agent"] {
        for key in ["hitRate", "avgTurns", "hitsByTurn", "questions", "fallbacks"] {
            assert_eq!(v[system][key], rule[system][key], "{system}.{key}: {v} vs {rule}");
        }
    }

    // Down for one request (three 500s: the client's retries), then up:
    // exactly one turn falls back.
    server.script("sim", json!({}));
    server.script("flaky", json!({"mode": "user", "steps": [{"status": 500}, {"status": 500}, {"status": 500}]}));
    let v = simulate(&["--endpoint", &sim_url, "--user-endpoint", &server.session_url("flaky")]);
    assert_eq!(v["userFallbacks"], 1, "{v}");
    assert_eq!(v["userLlmRequests"].as_u64(), Some(server.requests("flaky").len() as u64));
    assert!(server.requests("flaky").len() > 3, "{v}");
}

#[test]
fn user_endpoint_same_reuses_the_agents_endpoint() {
    let server = ScriptedLlmServer::start();
    server.script("sim", json!({}));
    let sim_url = server.session_url("sim");
    let v = simulate(&["--endpoint", &sim_url, "--llm-model", "m1", "--user-endpoint", "same"]);
    assert_eq!((v["userEndpoint"].as_str(), v["userLlmModel"].as_str()), (Some(sim_url.as_str()), Some("m1")));
    let (agent, user) = (v["llmRequests"].as_u64().unwrap(), v["userLlmRequests"].as_u64().unwrap());
    assert!(agent > 0 && user > 0, "{v}");
    assert_eq!(agent + user, server.requests("sim").len() as u64, "one endpoint, two ledgers: {v}");

    let out = simulate_raw(&["--user-endpoint", "same"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("invalid_input") && stderr.contains("--endpoint"), "{stderr}");
    let out = simulate_raw(&["--user-endpoint", &sim_url, "--user-api-key-env", "RECAGENT_TEST_UNSET_VARIABLE"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--user-api-key-env"), "{stderr}");
}
