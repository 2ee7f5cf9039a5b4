//! Data keeps its class for its whole life, and policy keys are origins:
//! the real `Agent`, planner, outbound builder and `LlmClient` (with its
//! ledger) over an in-memory `Http` that records the exact bytes it
//! received, at every autonomy level (0-3), with native tool calls and JSON
//! planning.
//!
//! - A model answer quoting memory at `full_memory` keeps the memory class
//!   in the conversation: after `set_policy` to `public_items`, no byte of
//!   the next turn contains the canary.
//! - An app tool of class `full_memory` that fails with personal text: its
//!   error is data of that class, withheld at `public_items`.
//! - Every spelling of the endpoint's origin in a policy key finds it; a
//!   key that is not an origin is `invalid_policy`.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::rc::Rc;

use futures::executor::block_on;
use recagent_core::agent::llm::{ChatModel, Ledger, LlmClient, LlmConfig};
use recagent_core::agent::outbound::WITHHELD;
use recagent_core::agent::{
    builtin_tools, Agent, AnswerItem, AppToolRegistration, AskOptions, DataClass, PrivacyPolicy, StepStatus, ToolDef,
    ToolHost, ToolOutput,
};
use recagent_core::platform::{HttpResponse, LocalBoxFuture, ManualClock, ScriptedHttp};
use recagent_core::{Error, Result};
use serde_json::{json, Value};

const ENDPOINT: &str = "http://127.0.0.1:8080/v1";
const MEMORY_CANARY: &str = "CANARY-MEM-7f3a91";
const TOOL_CANARY: &str = "CANARY-TOOL-c04e55";
const PERSONAL_CANARY: &str = "CANARY-ITEM-5be210";
const FIRST_REQUEST: &str = "a film for tonight";

/// A tool host without models: `recommend` returns two public films (and,
/// when asked, one of the user's own items, titled with a canary) with a
/// reason citing the user's history (memory class, with the canary);
/// `recall_memory` returns a fact with the canary; the app tool `notes`
/// (class `full_memory`) throws an error quoting a personal note.
#[derive(Default)]
struct Host {
    personal_item: bool,
    executed: RefCell<Vec<String>>,
}

impl ToolHost for Host {
    fn call(&self, name: &str, _args: Value) -> LocalBoxFuture<'_, Result<ToolOutput>> {
        self.executed.borrow_mut().push(name.to_string());
        let out = match name {
            "recommend" | "search_catalog" => {
                let mut items = vec![
                    AnswerItem { id: "1".into(), title: "Public Film One".into(), score: Some(0.9), reason: None },
                    AnswerItem { id: "2".into(), title: "Public Film Two".into(), score: Some(0.8), reason: None },
                ];
                if self.personal_item {
                    items.insert(0, AnswerItem { id: "u1".into(), title: format!("{PERSONAL_CANARY} home video"), score: Some(1.0), reason: None });
                }
                let public: Vec<Value> = items.iter().filter(|i| i.id != "u1").map(|i| json!({"id": i.id, "title": i.title})).collect();
                let mut details = vec![(DataClass::Memory, json!({"reasons": [{"id": "1", "reason": format!("because you liked {MEMORY_CANARY}")}]}))];
                if self.personal_item {
                    details.push((DataClass::Memory, json!({"yourItems": [{"id": "u1", "title": items[0].title}]})));
                }
                Ok(ToolOutput { value: json!({"items": public}), class: DataClass::PublicItem, details, summary: format!("{} items", items.len()), items })
            }
            "recall_memory" => Ok(ToolOutput {
                value: json!({"facts": [{"id": "f1", "text": format!("my locker code is {MEMORY_CANARY}")}]}),
                class: DataClass::Memory,
                details: vec![],
                items: vec![],
                summary: "1 fact".into(),
            }),
            // What the binding makes of an app tool that throws.
            "notes" => Err(Error::InvalidInput(format!("tool notes threw: Error: cannot open the note \"{TOOL_CANARY}: therapy on Tuesday\""))),
            other => Err(Error::InvalidInput(format!("no tool {other}"))),
        };
        Box::pin(async move { out })
    }

    fn is_personal_item(&self, id: &str) -> bool {
        id == "u1"
    }
}

fn registry() -> Vec<ToolDef> {
    let mut r = builtin_tools();
    r.push(
        ToolDef::app(AppToolRegistration {
            name: "notes".into(),
            description: "Reads the user's private notes.".into(),
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
            side_effects: false,
            result_class: DataClass::Memory,
        })
        .unwrap(),
    );
    r
}

/// A chat completion with `content` or tool calls `(name, arguments)`.
fn completion(content: Option<&str>, calls: &[(&str, Value)]) -> std::result::Result<HttpResponse, String> {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    let mut message = json!({"role": "assistant", "content": content});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    let finish = if calls.is_empty() { "stop" } else { "tool_calls" };
    let body = json!({
        "id": "x", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10}
    });
    Ok(HttpResponse { status: 200, headers: vec![("content-type".into(), "application/json".into())], body: body.to_string().into_bytes() })
}

/// One model step: a text answer, or a call of `tool` (native or as a JSON plan).
enum Step {
    Say(String),
    Call(&'static str, Value),
}

fn responses(steps: &[Step], json_planning: bool) -> Vec<std::result::Result<HttpResponse, String>> {
    steps
        .iter()
        .map(|s| match (s, json_planning) {
            (Step::Say(t), false) => completion(Some(t.as_str()), &[]),
            (Step::Say(t), true) => completion(Some(json!({"answer": t, "items": ["1"]}).to_string().as_str()), &[]),
            (Step::Call(n, a), false) => completion(None, &[(*n, a.clone())]),
            (Step::Call(n, a), true) => completion(Some(json!({"tool": n, "arguments": a}).to_string().as_str()), &[]),
        })
        .collect()
}

/// An agent over a recording in-memory server; the server answers `steps`
/// in order, then any further request with a plain "Done.".
struct Rig {
    agent: Agent,
    http: ScriptedHttp,
    ledger: Ledger,
    host: Rc<Host>,
}

fn rig(policy: PrivacyPolicy, personal_item: bool, steps: Vec<std::result::Result<HttpResponse, String>>) -> Rig {
    let mut all = steps;
    all.extend((0..8).map(|_| completion(Some("Done."), &[])));
    let http = ScriptedHttp::new(all);
    let ledger = Ledger::new();
    let clock = ManualClock::at(1_750_000_000_000.0);
    let config = LlmConfig { base_url: ENDPOINT.into(), model: "m".into(), stream: false, max_retries: 0, ..LlmConfig::default() };
    let client = LlmClient::new(config, Rc::new(http.clone()), Rc::new(clock.clone()), Rc::new(clock.clone()), ledger.clone()).unwrap();
    let origin = client.config().origin().unwrap();
    let host = Rc::new(Host { personal_item, ..Host::default() });
    let agent = Agent::new(Some(Rc::new(client) as Rc<dyn ChatModel>), Some(origin), host.clone(), registry(), policy, Rc::new(clock));
    Rig { agent, http, ledger, host }
}

impl Rig {
    /// The bodies the server received, from request `from` on; checked
    /// equal to the ledger's, byte for byte.
    fn bodies(&self, from: usize) -> Vec<String> {
        let sent: Vec<String> = self.http.sent().iter().map(|r| String::from_utf8(r.body.clone()).unwrap()).collect();
        let ledgered: Vec<String> = self.ledger.entries().into_iter().map(|e| e.body).collect();
        assert_eq!(sent, ledgered, "the ledger shows exactly what the server received");
        sent[from..].to_vec()
    }

    fn ask(&self, message: &str, autonomy: u8, json_planning: bool) -> recagent_core::agent::AgentAnswer {
        block_on(self.agent.ask(message, AskOptions { autonomy, json_planning, ..Default::default() })).unwrap()
    }
}

fn policy(v: Value) -> PrivacyPolicy {
    PrivacyPolicy::from_json(v).unwrap()
}

fn contains(bodies: &[String], needle: &str) -> bool {
    bodies.iter().any(|b| b.to_lowercase().contains(&needle.to_lowercase()))
}

/// Turn 1 at `full_memory`: the model sees the memory canary (a fact it
/// recalls at autonomy 2-3, the ranking's reasons at 1; at 0 the device's
/// answer names the user's own item) and its answer quotes it. Then the
/// policy narrows to `public_items` (through an endpoint key spelled
/// differently from the endpoint's URL); turn 2 sends not one byte of it.
#[test]
fn a_policy_downgrade_never_resends_what_the_model_saw_under_the_wider_policy() {
    let mut cases = 0;
    for first in 0..=3u8 {
        for second in 0..=3u8 {
            for json_planning in [false, true] {
                if json_planning && first < 2 && second < 2 {
                    continue; // no planning at all: the same run as without JSON
                }
                let label = format!("turn 1 at autonomy {first}, turn 2 at {second}, json planning {json_planning}");
                let quote = format!("Your locker code is {MEMORY_CANARY}; also try Public Film One.");
                let mut steps = Vec::new();
                if first >= 2 {
                    steps.push(Step::Call("recall_memory", json!({"query": "locker code"})));
                }
                if first >= 1 {
                    steps.push(Step::Say(quote.clone()));
                }
                let wide = policy(json!({"share": "full_memory"}));
                let rig = rig(wide, first == 0, responses(&steps, json_planning));
                let a1 = rig.ask(FIRST_REQUEST, first, json_planning);
                assert!(a1.fallback.is_none(), "{label}: {a1:?}");
                assert!(a1.answer.contains(MEMORY_CANARY) || a1.answer.contains(PERSONAL_CANARY), "{label}: turn 1 quotes the canary: {}", a1.answer);
                let turn1 = rig.bodies(0);
                if first >= 1 {
                    assert!(contains(&turn1, MEMORY_CANARY), "{label}: at full_memory the model saw the canary");
                } else {
                    assert!(turn1.is_empty(), "{label}");
                }
                rig.agent.set_policy(policy(json!({"share": "full_memory", "endpoints": {"HTTP://127.0.0.1:8080/": "public_items"}})));
                let a2 = rig.ask("and something shorter", second, json_planning);
                let turn2 = rig.bodies(turn1.len());
                for canary in [MEMORY_CANARY, PERSONAL_CANARY, "locker code is"] {
                    assert!(!contains(&turn2, canary), "{label}: {canary} was re-sent after the downgrade: {turn2:?}");
                }
                if second == 0 {
                    assert!(turn2.is_empty(), "{label}");
                } else {
                    assert!(!turn2.is_empty(), "{label}: {a2:?}");
                    // The history was sent (the user's earlier words), with the answer withheld.
                    assert!(contains(&turn2[..1], FIRST_REQUEST), "{label}: {}", turn2[0]);
                    assert!(turn2[0].contains(WITHHELD), "{label}: {}", turn2[0]);
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 28);
}

/// An answer written without memory in view stays sendable after the same
/// downgrade: the class follows what the model saw, not the policy it ran under.
#[test]
fn an_answer_that_saw_no_memory_stays_in_the_history_at_public_items() {
    // (The fake `search_catalog` returns memory-class reasons: the model answers without tools.)
    let steps = vec![Step::Say("Try Public Film Two, NOTE-public-answer.".into())];
    let rig = rig(policy(json!({"share": "full_memory"})), false, responses(&steps, false));
    rig.ask(FIRST_REQUEST, 2, false);
    let before = rig.bodies(0).len();
    rig.agent.set_policy(PrivacyPolicy::default());
    rig.ask("and something shorter", 2, false);
    let turn2 = rig.bodies(before);
    assert!(contains(&turn2[..1], "NOTE-public-answer"), "{}", turn2[0]);
}

/// An app tool of class `full_memory` that throws with personal text: at
/// `public_items` its error is withheld like its results would be (at every
/// autonomy level, native and JSON planning); at `full_memory` it is sent.
#[test]
fn an_app_tools_error_is_data_of_the_tools_class() {
    for autonomy in 0..=3u8 {
        for json_planning in [false, true] {
            for share in ["public_items", "preference_summary", "full_memory"] {
                let label = format!("autonomy {autonomy}, json planning {json_planning}, {share}");
                let steps = vec![Step::Call("notes", json!({})), Step::Say("I could not read your notes.".into())];
                let steps = if autonomy >= 2 { steps } else { steps.into_iter().skip(1).collect() };
                let rig = rig(policy(json!({"share": share})), false, responses(&steps, json_planning));
                let a = rig.ask("what did I note about tuesday", autonomy, json_planning);
                let bodies = rig.bodies(0);
                let ran_notes = rig.host.executed.borrow().iter().any(|n| n == "notes");
                assert_eq!(ran_notes, autonomy >= 2, "{label}: {a:?}");
                if autonomy >= 2 {
                    let failed = a.trace.iter().find(|s| s.tool.as_deref() == Some("notes")).unwrap();
                    assert_eq!(failed.status, StepStatus::Failed, "{label}");
                    assert!(failed.reason.as_deref().unwrap_or_default().contains(TOOL_CANARY), "{label}: the app sees its error in the trace");
                    assert_eq!(contains(&bodies, TOOL_CANARY), share == "full_memory", "{label}: {bodies:?}");
                    assert_eq!(contains(&bodies, "The tool failed"), share == "full_memory", "{label}");
                    if share != "full_memory" {
                        assert!(bodies[1].contains(WITHHELD), "{label}: {}", bodies[1]);
                    }
                } else {
                    assert!(!contains(&bodies, TOOL_CANARY), "{label}");
                }
                // The next turn (narrowed to request_text) does not carry it either.
                rig.agent.set_policy(policy(json!({"share": "request_text"})));
                let before = bodies.len();
                rig.ask("thanks", autonomy.max(1), json_planning);
                assert!(!contains(&rig.bodies(before), TOOL_CANARY), "{label}");
            }
        }
    }
}

/// A tool's class cannot be `request_text`: its output is data.
#[test]
fn an_app_tool_cannot_declare_its_results_request_text() {
    let reg: AppToolRegistration = serde_json::from_value(json!({"name": "t", "description": "", "parameters": {"type": "object"}, "resultClass": "request_text"})).unwrap();
    assert_eq!(ToolDef::app(reg).unwrap_err().code(), "invalid_input");
}

/// The endpoint `http://127.0.0.1:8080/v1` under policies keyed by every
/// spelling of its origin (sent to), and by other origins (nothing sent).
#[test]
fn policy_keys_name_origins_however_they_are_written() {
    for key in [
        "http://127.0.0.1:8080",
        "HTTP://127.0.0.1:8080/",
        "http://127.0.0.1:8080/v1/chat/completions?stream=1#x",
        "  http://127.0.0.1:08080  ",
        "http://0x7f.0.0.1:8080",
        "http://127.1:8080/",
    ] {
        let rig = rig(policy(json!({"share": "nothing", "endpoints": {key: "public_items"}})), false, responses(&[Step::Say("Try Public Film One.".into())], false));
        let a = rig.ask(FIRST_REQUEST, 1, false);
        assert!(a.fallback.is_none(), "{key}: {a:?}");
        assert_eq!(rig.bodies(0).len(), 1, "{key}");
    }
    for key in ["http://127.0.0.1", "https://127.0.0.1:8080", "http://127.0.0.1:8081", "http://localhost:8080"] {
        let rig = rig(policy(json!({"share": "full_memory", "onlyListedEndpoints": true, "endpoints": {key: "full_memory"}})), false, vec![]);
        let a = rig.ask(FIRST_REQUEST, 2, false);
        assert_eq!(a.fallback.map(|f| f.code).as_deref(), Some("policy"), "{key}");
        assert!(rig.bodies(0).is_empty(), "{key}");
    }
    for bad in ["127.0.0.1:8080", "/v1/chat", "https://me:pw@127.0.0.1:8080", "ftp://127.0.0.1", "http://[::1", "http://127.0.0.1:99999", "http://"] {
        let e = PrivacyPolicy::from_json(json!({"endpoints": {bad: "full_memory"}})).unwrap_err();
        assert_eq!(e.code(), "invalid_policy", "{bad}: {e}");
    }
}

/// The cost of an `ask` at autonomy 2 (two model calls, one tool call, the
/// device ranking) over the in-memory server, for the report:
/// `cargo test --release -p recagent-core --test privacy_classes -- --ignored --nocapture`.
#[test]
#[ignore]
fn ask_overhead() {
    let n = 1000;
    let steps: Vec<Step> = (0..n)
        .flat_map(|_| [Step::Call("recall_memory", json!({"query": "code"})), Step::Say("Try Public Film One.".into())])
        .collect();
    let rig = rig(policy(json!({"share": "full_memory"})), false, responses(&steps, false));
    let started = std::time::Instant::now();
    for _ in 0..n {
        rig.agent.reset();
        rig.ask(FIRST_REQUEST, 2, false);
    }
    let per_ask = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("ask at autonomy 2 over the in-memory server: {per_ask:.1} µs per ask ({n} asks)");
}
