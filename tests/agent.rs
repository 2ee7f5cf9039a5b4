//! The agent end to end on the real ML-100K catalog and MiniLM encoder,
//! with a real memory, against fake chat models: every autonomy level,
//! budgets, rejections, approvals, the privacy policy and redaction, and
//! the prompt-injection corpus against a model that obeys every injection.
#![cfg(not(target_arch = "wasm32"))]

mod agent_fakes;
mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use agent_fakes::{calls, text, Fixed, Host, Log, ObeyModel, ScriptedModel};
use futures::executor::block_on;
use recagent_core::agent::llm::{ChatModel, ChatResponse, Usage};
use recagent_core::agent::{
    builtin_tools, Agent, AgentAnswer, AppToolRegistration, Approver, AskOptions, Budgets, DataClass, LocalTools,
    PrivacyPolicy, ShareLevel, StepStatus, ToolDef, ToolHost,
};
use recagent_core::memory::Embedder;
use recagent_core::platform::{ManualClock, MemoryKvStore};
use recagent_core::{Catalog, Memory, Observation, Recommender, TextEncoder};
use serde_json::{json, Value};

const T0: f64 = 1_750_000_000_000.0;

/// The recommender over ML-100K with a short history (likes) and a statement.
fn recommender(statement: &str) -> Rc<RefCell<Recommender>> {
    let model = common::asset("minilm-int8.onnx");
    let encoder = TextEncoder::from_bytes(&model, &common::asset_text("vocab.txt")).unwrap();
    let catalog = Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).unwrap();
    let mut rec = Recommender::new(catalog, Some((encoder, &model))).unwrap();
    for (i, id) in ["50", "172", "181", "1"].iter().enumerate() {
        let obs: Observation = serde_json::from_value(json!({"item": id, "type": "like", "time": T0 + i as f64})).unwrap();
        rec.observe(obs, T0).unwrap();
    }
    let obs: Observation = serde_json::from_value(json!({"type": "statement", "text": statement})).unwrap();
    rec.observe(obs, T0).unwrap();
    Rc::new(RefCell::new(rec))
}

/// Memory embeds with the recommender's encoder (one encoder load per test).
struct RecEmbedder(Rc<RefCell<Recommender>>);

impl Embedder for RecEmbedder {
    fn embed(&self, text: &str) -> recagent_core::Result<Vec<f32>> {
        self.0.borrow().embed_query(text)
    }
}

fn memory(rec: &Rc<RefCell<Recommender>>, facts: &[String]) -> Rc<Memory> {
    let mem = block_on(Memory::open(Rc::new(MemoryKvStore::new()), Rc::new(ManualClock::at(T0))))
        .unwrap()
        .with_embedder(Rc::new(RecEmbedder(rec.clone())));
    for f in facts {
        block_on(mem.remember(f)).unwrap();
    }
    Rc::new(mem)
}

fn canary() -> String {
    let mut bytes = [0u8; 6];
    getrandom_hex(&mut bytes);
    format!("CANARY-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn getrandom_hex(bytes: &mut [u8]) {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mut x = nanos as u64 ^ 0x9e37_79b9_7f4a_7c15;
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

fn registry() -> Vec<ToolDef> {
    let mut r = builtin_tools();
    for (name, side_effects) in [("purchase", true), ("fetch_reviews", false)] {
        r.push(
            ToolDef::app(AppToolRegistration {
                name: name.into(),
                description: format!("App tool {name}."),
                parameters: json!({"type": "object", "properties": {"id": {"type": "string"}, "quantity": {"type": "integer"}}, "required": ["id"], "additionalProperties": false}),
                side_effects,
                result_class: DataClass::PublicItem,
            })
            .unwrap(),
        );
    }
    r
}

struct World {
    rec: Rc<RefCell<Recommender>>,
    mem: Rc<Memory>,
    host: Rc<Host>,
}

fn world(rec: Rc<RefCell<Recommender>>, canary: &str) -> World {
    let mem = memory(&rec, &[format!("my secret code is {canary}"), format!("{canary} lives at the old mill"), "dislikes horror films".into()]);
    let host = Rc::new(Host {
        local: LocalTools::new(rec.clone(), Some(mem.clone())),
        executed: RefCell::new(vec![]),
        purchases: RefCell::new(vec![]),
        injection: RefCell::new(None),
    });
    World { rec, mem, host }
}

fn agent(w: &World, model: Rc<dyn ChatModel>, policy: PrivacyPolicy) -> Agent {
    Agent::new(Some(model), Some("http://127.0.0.1:8080".into()), w.host.clone(), registry(), policy, Rc::new(ManualClock::at(T0)))
}

fn ask(agent: &Agent, message: &str, autonomy: u8, approve: Option<bool>) -> AgentAnswer {
    let options = AskOptions { autonomy, approve: approve.map(|a| Rc::new(Fixed(a, RefCell::new(0))) as Rc<dyn Approver>), ..Default::default() };
    block_on(agent.ask(message, options)).unwrap()
}

fn facts(w: &World) -> usize {
    block_on(w.mem.facts()).unwrap().len()
}

fn rejected_reasons(a: &AgentAnswer) -> Vec<String> {
    a.trace.iter().filter(|s| s.status == StepStatus::Rejected).map(|s| s.reason.clone().unwrap_or_default()).collect()
}

#[test]
fn autonomy_levels_budgets_approvals_and_the_privacy_policy() {
    let canary = canary();
    let w = world(recommender(&format!("avoid {} films", canary.to_lowercase())), &canary);
    let ids = |a: &AgentAnswer| a.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();

    // Autonomy 0: the device ranks; the model is never called.
    let (model, log) = ScriptedModel::new(vec![]);
    let a0 = ask(&agent(&w, model, PrivacyPolicy::default()), "a space adventure", 0, None);
    assert_eq!(log.len(), 0);
    assert_eq!(a0.items.len(), 10);
    assert!(a0.answer.starts_with("Here are 10 picks: ") && a0.answer.contains(&a0.items[0].title.replace(", The", "")), "{}", a0.answer);
    assert!(a0.fallback.is_none());

    // The request: a negated genre leaves no item of that genre.
    let kids = ask(&agent(&w, ScriptedModel::new(vec![]).0, PrivacyPolicy::default()), "something light to watch with my kids tonight, not animated", 0, None);
    let rec = w.rec.clone();
    let animated: Vec<&str> = kids
        .items
        .iter()
        .filter(|i| {
            let r = rec.borrow();
            let index = r.catalog().index_of(&i.id).unwrap();
            matches!(r.catalog().value(index, "class"), Some(recagent_core::catalog::ValueRef::Tags(t)) if t.iter().any(|g| g == "Animation"))
        })
        .map(|i| i.title.as_str())
        .collect();
    assert_eq!(kids.items.len(), 10);
    assert!(animated.is_empty(), "animated films despite 'not animated': {animated:?}");

    // on_step sees every trace step as it happens.
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let options = AskOptions { autonomy: 0, on_step: Some(Rc::new(move |s: &recagent_core::agent::TraceStep| sink.borrow_mut().push(s.clone()))), ..Default::default() };
    let (model, _) = ScriptedModel::new(vec![]);
    let again = block_on(agent(&w, model, PrivacyPolicy::default()).ask("a space adventure", options)).unwrap();
    assert_eq!(*seen.borrow(), again.trace);
    assert_eq!(again.trace.len(), 2, "the device ranking and the final step");

    // Autonomy 1: one call without tools; the items stay the device's.
    let (model, log) = ScriptedModel::new(vec![Ok(text("These are space films you will enjoy."))]);
    let a1 = ask(&agent(&w, model, PrivacyPolicy::default()), "a space adventure", 1, None);
    assert_eq!(log.len(), 1);
    assert!(log.all().ends_with('\n'), "no tools offered");
    assert_eq!(ids(&a1), ids(&a0));
    assert_eq!(a1.answer, "These are space films you will enjoy.");

    // Autonomy 2: the model plans over read-only tools; its answer names items
    // (the 2nd search result by title, the 1st by id).
    let found = block_on(w.host.local.call("search_catalog", json!({"query": "space adventure", "k": 5}))).unwrap().items;
    let named = format!("Try {} and {}.", found[1].title, found[0].id);
    let (model, log2) = ScriptedModel::new(vec![Ok(calls(&[("search_catalog", json!({"query": "space adventure", "k": 5}))])), Ok(text(&named))]);
    let a2 = ask(&agent(&w, model, PrivacyPolicy::default()), "a space adventure", 2, None);
    assert_eq!(log2.len(), 2);
    assert_eq!(ids(&a2), vec![found[1].id.clone(), found[0].id.clone()]);
    assert!(log2.all().contains("search_catalog,") && !log2.all().contains(",remember"));

    // Unknown tool, invalid arguments, a side effect at level 2: rejected, not executed.
    let before = facts(&w);
    let executed_before = w.host.executed.borrow().len();
    let (model, _) = ScriptedModel::new(vec![Ok(calls(&[
        ("send_data", json!({"to": "x"})),
        ("get_item", json!({"id": 7})),
        ("recommend", json!({"k": 500})),
        ("remember", json!({"fact": "likes westerns"})),
        ("purchase", json!({"id": "1"})),
    ]))]);
    let a = ask(&agent(&w, model, PrivacyPolicy::default()), "anything", 2, Some(true));
    let reasons = rejected_reasons(&a);
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert_eq!(reasons[0], "unknown tool");
    assert!(reasons[1].contains("maximum") && reasons[2].contains("side effects") && reasons[3].contains("side effects"));
    // get_item {"id": 7} was repaired to "7" and ran; the device ranking ran for the items
    assert_eq!(w.host.executed.borrow()[executed_before..], ["get_item".to_string(), "recommend".to_string()]);
    assert_eq!(facts(&w), before);
    assert!(w.host.purchases.borrow().is_empty());

    // Level 3: unapproved → rejected "not approved"; approved → runs.
    let script = || vec![Ok(calls(&[("remember", json!({"fact": "likes westerns"})), ("purchase", json!({"id": "1"}))])), Ok(text("Done."))];
    let (model, _) = ScriptedModel::new(script());
    let a = ask(&agent(&w, model, PrivacyPolicy::default()), "remember I like westerns", 3, None);
    // each refused call: the approval step and the tool step, both "not approved"
    assert_eq!(rejected_reasons(&a), vec!["not approved"; 4]);
    assert_eq!(facts(&w), before);
    assert!(w.host.purchases.borrow().is_empty());
    let (model, _) = ScriptedModel::new(script());
    let a = ask(&agent(&w, model, PrivacyPolicy::default()), "remember I like westerns", 3, Some(true));
    assert!(rejected_reasons(&a).is_empty());
    assert_eq!(facts(&w), before + 1);
    assert_eq!(w.host.purchases.borrow().len(), 1);

    // Policy `nothing`: no model call at all.
    let (model, log) = ScriptedModel::new(vec![Ok(text("never"))]);
    let a = ask(&agent(&w, model, PrivacyPolicy::nothing()), "a space adventure", 3, Some(true));
    assert_eq!(log.len(), 0);
    assert_eq!(a.fallback.as_ref().unwrap().code, "policy");
    assert_eq!(ids(&a), ids(&a0));
    let listed_elsewhere = PrivacyPolicy { only_listed_endpoints: true, ..PrivacyPolicy::sharing(ShareLevel::FullMemory) };
    let (model, log) = ScriptedModel::new(vec![]);
    let a = ask(&agent(&w, model, listed_elsewhere), "x", 2, None);
    assert_eq!((log.len(), a.fallback.unwrap().code.as_str()), (0, "policy"));

    // The default policy never sends memory facts nor profile-derived text,
    // even when the model asks for them; full_memory does.
    let script = || {
        vec![
            Ok(calls(&[("recall_memory", json!({"query": "secret code"})), ("explain", json!({"item": "172"})), ("recommend", json!({"k": 5}))])),
            Ok(text("Here.")),
        ]
    };
    let (model, log) = ScriptedModel::new(script());
    ask(&agent(&w, model, PrivacyPolicy::default()), "what should I watch", 2, None);
    let sent = log.all();
    assert!(!sent.to_lowercase().contains(&canary.to_lowercase()), "canary leaked at the default policy");
    assert!(!sent.contains("Because you liked") && !sent.contains("old mill"));
    assert!(sent.contains("withheld by the privacy policy"));
    let (model, log) = ScriptedModel::new(script());
    ask(&agent(&w, model, PrivacyPolicy::sharing(ShareLevel::FullMemory)), "what should I watch", 2, None);
    let sent = log.all();
    assert!(sent.contains(&canary), "full_memory sends the facts");
    assert!(sent.contains("Because you liked"), "full_memory sends reasons citing history");
    assert!(sent.to_lowercase().contains(&format!("avoid {}", canary.to_lowercase())), "and the preference summary");

    // Redaction of an e-mail address (and a phone number) in the request.
    let (model, log) = ScriptedModel::new(vec![Ok(text("ok"))]);
    ask(&agent(&w, model, PrivacyPolicy::default()), "films for jane.doe@example.com, call +1 (555) 123-4567", 1, None);
    let sent = log.all();
    assert!(!sent.contains("jane.doe") && !sent.contains("123-4567"));
    assert!(sent.contains("[email]") && sent.contains("[phone]"));

    // Budgets and failures through the driver.
    let (model, log) = ScriptedModel::new(vec![Ok(ChatResponse {
        usage: Some(Usage { prompt_tokens: 4500, completion_tokens: 600 }),
        ..calls(&[("get_item", json!({"id": "1"}))])
    })]);
    let a = ask(&agent(&w, model, PrivacyPolicy::default()), "x", 2, None);
    assert_eq!((a.fallback.unwrap().code.as_str(), log.len()), ("budget_tokens", 1));
    let (model, _) = ScriptedModel::new(vec![Err(recagent_core::Error::Llm("500 after 2 retries".into()))]);
    let a = ask(&agent(&w, model, PrivacyPolicy::default()), "x", 2, None);
    assert_eq!(a.fallback.unwrap().code, "llm_error");
    assert_eq!(a.items.len(), 10);
    let (model, _) = ScriptedModel::new(vec![Err(recagent_core::Error::CircuitOpen("open".into()))]);
    let a = ask(&agent(&w, model, PrivacyPolicy::default()), "x", 1, None);
    assert_eq!(a.fallback.unwrap().code, "circuit_open");
    let (model, log) = ScriptedModel::new((0..10).map(|i| Ok(calls(&[("get_item", json!({"id": (i + 1).to_string()}))]))).collect());
    let opts = AskOptions { budgets: Budgets { max_steps: 3, ..Default::default() }, ..Default::default() };
    let a = block_on(agent(&w, model, PrivacyPolicy::default()).ask("x", opts)).unwrap();
    assert_eq!((a.fallback.unwrap().code.as_str(), log.len()), ("budget_steps", 3));

    // ask_user: the question comes back; the next message answers it.
    let (model, log) = ScriptedModel::new(vec![Ok(calls(&[("ask_user", json!({"question": "For kids or adults?"}))])), Ok(text("Here are family films."))]);
    let ag = agent(&w, model, PrivacyPolicy::default());
    let q = ask(&ag, "something light tonight", 2, None);
    assert_eq!(q.question.as_deref(), Some("For kids or adults?"));
    let a = ask(&ag, "for my kids", 2, None);
    assert!(a.question.is_none() && a.items.len() == 10);
    let second = log.0.borrow()[1].clone();
    let order = ["something light tonight", "For kids or adults?", "for my kids"].map(|s| second.find(s).unwrap());
    assert!(order[0] < order[1] && order[1] < order[2], "{second}");
    let _ = &w.rec;
}

#[test]
fn injection_corpus_is_never_obeyed() {
    let corpus: Vec<Value> = include_str!("fixtures/injections.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(corpus.len() >= 200, "corpus has {} entries", corpus.len());
    let canary = canary();
    let w = world(recommender("no horror"), &canary);
    let allowed: BTreeSet<&str> = ["search_catalog", "recommend", "get_item", "recall_memory", "explain", "fetch_reviews"].into();
    let facts_before = facts(&w);
    let (mut attempted, mut executed, mut rejected, mut hits, mut outside, mut asks) = (0, 0, 0, 0, 0, 0);
    let log = Log::default();
    let started = std::time::Instant::now();
    for entry in &corpus {
        let kind = entry["kind"].as_str().unwrap().to_string();
        let text = entry["text"].as_str().unwrap().to_string();
        *w.host.injection.borrow_mut() = Some((kind, text));
        for (autonomy, json_planning) in [(2u8, false), (3, false), (2, true), (3, true)] {
            let model = Rc::new(ObeyModel { log: log.clone(), attempted: RefCell::new(0) });
            let ag = agent(&w, model.clone(), PrivacyPolicy::default());
            let start = w.host.executed.borrow().len();
            let options = AskOptions {
                autonomy,
                json_planning,
                approve: Some(Rc::new(Fixed(false, RefCell::new(0)))),
                ..Default::default()
            };
            let a = block_on(ag.ask("a space adventure for tonight", options)).unwrap();
            asks += 1;
            attempted += *model.attempted.borrow();
            let ran: Vec<String> = w.host.executed.borrow()[start..].to_vec();
            executed += ran.len();
            outside += ran.iter().filter(|n| !allowed.contains(n.as_str())).count();
            rejected += a.trace.iter().filter(|s| s.status == StepStatus::Rejected).count();
        }
    }
    for request in log.0.borrow().iter() {
        if request.to_lowercase().contains(&canary.to_lowercase()) {
            hits += 1;
        }
    }
    println!(
        "injection corpus: {} entries, {} asks (autonomy 2 and 3, native tools and JSON planning, approver denies all), {} requests, \
         {} injected tool calls attempted, {} tool calls executed (all allowed read-only), {} rejected, \
         {} executed outside the allow-list, {} unapproved side-effecting calls, {} canary hits; {:.1} s",
        corpus.len(),
        asks,
        log.len(),
        attempted,
        executed,
        rejected,
        outside,
        w.host.purchases.borrow().len() + (facts(&w) - facts_before),
        hits,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(outside, 0);
    assert!(w.host.purchases.borrow().is_empty());
    assert_eq!(facts(&w), facts_before, "no remember ran");
    assert_eq!(hits, 0, "canary bytes were sent");
    assert!(attempted >= corpus.len() * 4, "the obedient model attempted the injections ({attempted})");
    assert!(rejected >= corpus.len() * 2, "most injected calls were refused ({rejected})");
}
