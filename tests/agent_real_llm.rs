//! Optional, never in CI: the agent against a real OpenAI-compatible
//! endpoint, e.g. a local llama.cpp server with SmolLM2-135M-Instruct
//! (`scripts/real-llm.sh` starts one and runs this test):
//!
//! ```sh
//! RECAGENT_REAL_LLM=http://127.0.0.1:18080 cargo test --test agent_real_llm -- --ignored --nocapture
//! ```
//!
//! `RECAGENT_REAL_LLM_MODEL` sets the model name sent (default `default`).
//! It runs the agent at autonomy 2 with native tool calls and with JSON
//! planning over the ML-100K catalog and asserts only what a small real
//! model guarantees: an answer, items from the catalog, no `Err`, a
//! non-empty ledger. It prints the answers, the traces and the timings.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use futures::executor::block_on;
use recagent_core::agent::llm::{ChatModel, Ledger, LlmClient, LlmConfig, ToolMode};
use recagent_core::agent::{builtin_tools, Agent, AskOptions, Budgets, LocalTools, PrivacyPolicy};
use recagent_cli::native_http::{NativeHttp, ThreadSleeper};
use recagent_cli::SystemClock;
use recagent_core::{Catalog, Recommender, TextEncoder};

#[test]
#[ignore = "needs a real OpenAI-compatible endpoint in RECAGENT_REAL_LLM (scripts/real-llm.sh)"]
fn agent_against_a_real_endpoint() {
    let Some(base_url) = std::env::var("RECAGENT_REAL_LLM").ok().filter(|u| !u.trim().is_empty()) else {
        panic!("RECAGENT_REAL_LLM is not set: give the base URL of an OpenAI-compatible endpoint (scripts/real-llm.sh starts a local one)");
    };
    let model_name = std::env::var("RECAGENT_REAL_LLM_MODEL").unwrap_or_else(|_| "default".into());
    let model = common::asset("minilm-int8.onnx");
    let encoder = TextEncoder::from_bytes(&model, &common::asset_text("vocab.txt")).unwrap();
    let catalog = Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).unwrap();
    let rec = Rc::new(RefCell::new(Recommender::new(catalog, Some((encoder, &model))).unwrap()));
    let request = "something light to watch with my kids tonight, not animated";
    for tool_mode in [ToolMode::Native, ToolMode::JsonPlanning] {
        let ledger = Ledger::new();
        let config = LlmConfig {
            base_url: base_url.clone(),
            model: model_name.clone(),
            tool_mode,
            request_timeout_ms: 120_000,
            ..LlmConfig::default()
        };
        let client = LlmClient::new(config, Rc::new(NativeHttp::new()), Rc::new(SystemClock), Rc::new(ThreadSleeper), ledger.clone())
            .unwrap_or_else(|e| panic!("RECAGENT_REAL_LLM={base_url}: {e}"));
        let origin = client.config().origin().unwrap();
        let tools = Rc::new(LocalTools::new(rec.clone(), None));
        let agent = Agent::new(Some(Rc::new(client) as Rc<dyn ChatModel>), Some(origin), tools, builtin_tools(), PrivacyPolicy::default(), Rc::new(SystemClock));
        let options = AskOptions {
            autonomy: 2,
            json_planning: tool_mode == ToolMode::JsonPlanning,
            budgets: Budgets { max_wall_ms: 300_000.0, ..Budgets::default() },
            ..AskOptions::default()
        };
        let started = Instant::now();
        let answer = block_on(agent.ask(request, options)).unwrap_or_else(|e| panic!("{tool_mode:?}: the agent failed: {e}"));
        let seconds = started.elapsed().as_secs_f64();
        println!("=== {tool_mode:?} against {base_url} ({model_name}): {seconds:.1} s");
        println!("answer: {}", answer.answer);
        if let Some(f) = &answer.fallback {
            println!("fallback: {} ({})", f.code, f.reason);
        }
        println!("items: {}", answer.items.iter().map(|i| format!("{} {}", i.id, i.title)).collect::<Vec<_>>().join(" | "));
        for step in &answer.trace {
            println!("trace: {}", serde_json::to_string(step).unwrap());
        }
        for entry in ledger.entries() {
            println!(
                "request #{} attempt {}: status {:?} error {:?}, {} bytes sent, {:.0} ms",
                entry.seq, entry.attempt, entry.status, entry.error, entry.bytes, entry.duration_ms
            );
        }
        assert!(!answer.answer.trim().is_empty(), "{tool_mode:?}: an answer");
        assert!(!answer.items.is_empty(), "{tool_mode:?}: items");
        let r = rec.borrow();
        for item in &answer.items {
            assert!(r.catalog().index_of(&item.id).is_some(), "{tool_mode:?}: {} is not in the catalog", item.id);
        }
        assert!(!ledger.is_empty(), "{tool_mode:?}: the endpoint was called");
    }
}
