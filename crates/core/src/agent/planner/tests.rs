//! Unit tests of the pure planner, driven by a tiny scripted loop.

use serde_json::{json, Value};

use super::*;
use crate::agent::llm::{ChatRequest, ChatResponse, FinishReason, Usage};
use crate::agent::tools::{builtin_tools, AppToolRegistration};

fn registry() -> Vec<ToolDef> {
    let mut r = builtin_tools();
    r.push(
        ToolDef::app(AppToolRegistration {
            name: "purchase".into(),
            description: "Buys an item.".into(),
            parameters: json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
            side_effects: true,
            result_class: DataClass::PublicItem,
        })
        .unwrap(),
    );
    r
}

fn call(id: &str, name: &str, args: &str) -> ToolCall {
    ToolCall { id: id.into(), name: name.into(), arguments: args.into() }
}

fn reply(content: &str, calls: Vec<ToolCall>) -> ChatResponse {
    ChatResponse {
        content: content.into(),
        finish_reason: if calls.is_empty() { FinishReason::Stop } else { FinishReason::ToolCalls },
        tool_calls: calls,
        calls_from_text: false,
        usage: Some(Usage { prompt_tokens: 100, completion_tokens: 10 }),
        model: None,
    }
}

fn item(id: &str) -> AnswerItem {
    AnswerItem { id: id.into(), title: format!("Title {id}"), score: None, reason: None }
}

/// What a run did.
struct Run {
    answer: AgentAnswer,
    model_calls: usize,
    executed: Vec<String>,
    approvals: usize,
    requests: Vec<ChatRequest>,
}

/// Drives `planner`: the model answers from `script` in order (an `Err`
/// is a failure code), every tool returns items 1..3, approvals answer
/// `grant`; the clock advances `tick` ms per event.
fn run(config: PlannerConfig, script: Vec<Result<ChatResponse, &str>>, grant: bool, tick: f64) -> Run {
    let mut planner = Planner::new(config, "something light".into(), PlannerContext { registry: registry(), ..Default::default() });
    let mut script = script.into_iter();
    let mut now = 1000.0;
    let mut events = vec![PlannerEvent::Start { now_ms: now }];
    let (mut model_calls, mut executed, mut approvals, mut requests) = (0, Vec::new(), 0, Vec::new());
    let mut answer = None;
    while let Some(event) = events.pop() {
        for action in planner.handle(event) {
            now += tick;
            match action {
                PlannerAction::CallModel(req) => {
                    model_calls += 1;
                    requests.push(req);
                    events.push(match script.next() {
                        Some(Ok(response)) => PlannerEvent::ModelAnswered { now_ms: now, response },
                        Some(Err(code)) => PlannerEvent::ModelFailed { now_ms: now, code: code.into(), message: "boom".into() },
                        None => PlannerEvent::ModelAnswered { now_ms: now, response: reply("done: 2", vec![]) },
                    });
                }
                PlannerAction::CallTool { call_id, name, .. } => {
                    executed.push(name.clone());
                    let output = ToolOutput {
                        value: json!({"items": [{"id": "1"}, {"id": "2"}, {"id": "3"}]}),
                        class: if name == "recall_memory" { DataClass::Memory } else { DataClass::PublicItem },
                        details: vec![],
                        items: vec![item("1"), item("2"), item("3")],
                        summary: format!("{name} ok"),
                    };
                    events.push(PlannerEvent::ToolDone { now_ms: now, call_id, output });
                }
                PlannerAction::RequestApproval { call_id, .. } => {
                    approvals += 1;
                    events.push(PlannerEvent::Approval { now_ms: now, call_id, granted: grant });
                }
                PlannerAction::MergeIntent { .. } => {
                    events.push(PlannerEvent::IntentMerged { now_ms: now, intent: Default::default(), refused: vec![] });
                }
                PlannerAction::Step(_) => {}
                PlannerAction::Finish(a) => answer = Some(a),
            }
        }
    }
    Run { answer: answer.expect("finished"), model_calls, executed, approvals, requests }
}

fn config(autonomy: u8) -> PlannerConfig {
    PlannerConfig { autonomy, ..Default::default() }
}

fn rejected(a: &AgentAnswer) -> Vec<(String, String)> {
    a.trace
        .iter()
        .filter(|s| s.status == StepStatus::Rejected && s.kind == StepKind::Tool)
        .map(|s| (s.tool.clone().unwrap_or_default(), s.reason.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn autonomy_0_ranks_on_the_device_and_never_calls_the_model() {
    let r = run(config(0), vec![], true, 1.0);
    assert_eq!(r.model_calls, 0);
    assert_eq!(r.executed, ["recommend"]);
    assert_eq!(r.answer.items.len(), 3);
    assert_eq!(r.answer.answer, "Here are 3 picks: Title 1, Title 2 and Title 3.");
    assert!(r.answer.fallback.is_none());
}

#[test]
fn autonomy_1_words_the_device_list_in_one_call_without_tools() {
    let r = run(config(1), vec![Ok(reply("Title 3 is lovely", vec![call("c1", "recommend", "{}")]))], true, 1.0);
    assert_eq!(r.model_calls, 1);
    assert!(r.requests[0].tools.is_empty());
    assert_eq!(r.executed, ["recommend"], "only the device ranking ran");
    assert_eq!(r.answer.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["1", "2", "3"]);
    assert_eq!(r.answer.answer, "Title 3 is lovely");
    let refused: Vec<_> = r.answer.trace.iter().filter(|s| s.status == StepStatus::Rejected).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].reason.as_deref(), Some("no tools are offered at autonomy 1"));
}

#[test]
fn autonomy_2_plans_over_read_only_tools_and_rejects_the_rest() {
    let r = run(
        config(2),
        vec![
            Ok(reply("let me look", vec![
                call("a", "send_data", "{\"to\":\"x\"}"),
                call("b", "recommend", "{\"k\": \"200\"}"),
                call("c", "remember", "{\"fact\":\"x\"}"),
                call("d", "purchase", "{\"id\":\"1\"}"),
                call("e", "get_item", "not json"),
                call("f", "recommend", "{\"k\": \"3\", \"bogus\": 1}"),
            ])),
            Ok(reply("Try Title 2 and then 3.", vec![])),
        ],
        true,
        1.0,
    );
    assert_eq!(r.executed, ["recommend"], "only the repaired read-only call ran");
    let rej = rejected(&r.answer);
    assert_eq!(rej.len(), 5, "{rej:?}");
    assert_eq!(rej[0], ("send_data".into(), "unknown tool".into()));
    assert!(rej[1].1.contains("maximum"));
    assert!(rej[2].1.contains("side effects") && rej[3].1.contains("side effects"));
    assert!(rej[4].1.contains("not valid JSON"));
    assert_eq!(r.approvals, 0);
    assert_eq!(r.answer.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["2", "3"]);
    // the model was told about every rejection
    let tool_msgs: Vec<&str> = r.requests[1].messages.iter().filter(|m| m.role == ChatRole::Tool).map(|m| m.content.as_str()).collect();
    assert_eq!(tool_msgs.len(), 6);
    assert!(tool_msgs[0].contains("rejected and not executed: unknown tool"));
    let offered: Vec<&str> = r.requests[0].tools.iter().map(|t| t.name.as_str()).collect();
    assert!(offered.contains(&"recall_memory") && !offered.contains(&"remember") && !offered.contains(&"purchase"));
}

#[test]
fn autonomy_3_needs_approval_for_side_effects() {
    let script = || vec![Ok(reply("", vec![call("a", "remember", "{\"fact\":\"likes jazz\"}"), call("b", "purchase", "{\"id\":\"1\"}")]))];
    let denied = run(config(3), script(), false, 1.0);
    assert_eq!(denied.executed, ["recommend"], "only the device ranking, for the final answer's items");
    assert_eq!(denied.approvals, 2);
    assert!(rejected(&denied.answer).iter().all(|(_, why)| why == "not approved"));
    let granted = run(config(3), script(), true, 1.0);
    assert_eq!(granted.executed, ["remember", "purchase"]);
}

#[test]
fn each_budget_falls_back_with_its_code() {
    let loop_script = || (0..20).map(|i| Ok(reply("", vec![call(&format!("c{i}"), "get_item", "{\"id\":\"1\"}")]))).collect::<Vec<_>>();
    let code = |r: &Run| r.answer.fallback.as_ref().map(|f| f.code.clone()).unwrap_or_default();
    let r = run(PlannerConfig { max_steps: 2, max_tool_calls: 100, ..config(2) }, loop_script(), true, 1.0);
    assert_eq!((code(&r), r.model_calls), ("budget_steps".into(), 2));
    let r = run(PlannerConfig { max_tool_calls: 3, ..config(2) }, loop_script(), true, 1.0);
    assert_eq!(code(&r), "budget_tool_calls");
    assert_eq!(r.executed.iter().filter(|n| *n == "get_item").count(), 3);
    let r = run(PlannerConfig { max_tokens: 250, ..config(2) }, loop_script(), true, 1.0);
    assert_eq!((code(&r), r.model_calls), ("budget_tokens".into(), 3));
    let r = run(PlannerConfig { max_wall_ms: 10.0, ..config(2) }, loop_script(), true, 4.0);
    assert_eq!(code(&r), "budget_time");
    assert_eq!(r.requests[0].deadline_ms, Some(1010.0));
    // every fallback answers with the device ranking
    assert_eq!(r.executed.last().map(String::as_str), Some("recommend"));
    assert_eq!(r.answer.items.len(), 3);
}

#[test]
fn model_failures_and_policy_nothing_fall_back() {
    let code = |r: &Run| r.answer.fallback.as_ref().map(|f| f.code.clone()).unwrap_or_default();
    assert_eq!(code(&run(config(2), vec![Err("llm_error")], true, 1.0)), "llm_error");
    assert_eq!(code(&run(config(2), vec![Err("timeout")], true, 1.0)), "timeout");
    assert_eq!(code(&run(config(1), vec![Err("circuit_open")], true, 1.0)), "circuit_open");
    let r = run(PlannerConfig { share: ShareLevel::Nothing, ..config(3) }, vec![], true, 1.0);
    assert_eq!((code(&r), r.model_calls), ("policy".into(), 0));
    let r = run(PlannerConfig { has_model: false, ..config(2) }, vec![], true, 1.0);
    assert_eq!((code(&r), r.model_calls), ("no_endpoint".into(), 0));
}

#[test]
fn a_cut_off_answer_keeps_its_text_with_a_note() {
    let mut cut = reply("Title 1 is a", vec![]);
    cut.finish_reason = FinishReason::Length;
    let r = run(config(2), vec![Ok(cut)], true, 1.0);
    assert!(r.answer.answer.starts_with("Title 1 is a") && r.answer.answer.contains("cut off"));
    let mut truncated = reply("I will look up Title 2", vec![call("t", "recommend", "{\"query\": \"light co")]);
    truncated.finish_reason = FinishReason::Length;
    let r = run(config(2), vec![Ok(truncated)], true, 1.0);
    assert_eq!(r.model_calls, 1);
    assert!(r.answer.answer.contains("cut off"));
    assert_eq!(rejected(&r.answer)[0].1, "cut off before its arguments were complete");
    let mut empty = reply("", vec![]);
    empty.finish_reason = FinishReason::Length;
    let r = run(config(2), vec![Ok(empty)], true, 1.0);
    assert_eq!(r.answer.fallback.unwrap().code, "empty_answer");
}

#[test]
fn json_planning_mode_parses_calls_and_answers() {
    let cfg = PlannerConfig { json_planning: true, ..config(2) };
    let r = run(
        cfg,
        vec![
            Ok(reply("```json\n{\"tool\": \"recommend\", \"arguments\": {\"k\": 3}}\n```", vec![])),
            Ok(reply("{\"answer\": \"Here you go\", \"items\": [\"3\", \"1\", \"999\"]}", vec![])),
        ],
        true,
        1.0,
    );
    assert!(r.requests[0].tools.is_empty() && r.requests[0].response_schema.is_some());
    assert_eq!(r.executed, ["recommend"]);
    assert_eq!(r.answer.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["3", "1"]);
    let second = &r.requests[1].messages;
    assert!(second.iter().all(|m| m.tool_calls.is_empty()), "no native calls in JSON mode");
    let result = second.iter().find(|m| m.role == ChatRole::Tool).unwrap();
    assert_eq!(result.tool_call_id.as_deref(), Some("json_1"));
    assert!(result.content.starts_with("Result of the tool call recommend:"));
}

#[test]
fn ask_user_ends_the_turn_with_a_question() {
    let r = run(config(2), vec![Ok(reply("", vec![call("q", "ask_user", "{\"question\": \"For kids?\"}")]))], true, 1.0);
    assert_eq!(r.answer.question.as_deref(), Some("For kids?"));
    assert!(r.executed.is_empty());
}

#[test]
fn a_text_answer_naming_nothing_gets_the_device_list() {
    let r = run(config(2), vec![Ok(reply("Enjoy!", vec![]))], true, 1.0);
    assert_eq!(r.executed, ["recommend"]);
    assert_eq!(r.answer.items.len(), 3);
    assert_eq!(r.answer.answer, "Enjoy!");
    let _: Value = serde_json::to_value(&r.answer).unwrap();
}

#[test]
fn events_that_do_not_fit_are_ignored() {
    let mut p = Planner::new(config(2), "x".into(), PlannerContext { registry: registry(), ..Default::default() });
    assert!(p.handle(PlannerEvent::ToolDone { now_ms: 0.0, call_id: "nope".into(), output: ToolOutput { value: json!({}), class: DataClass::PublicItem, details: vec![], items: vec![], summary: String::new() } }).is_empty());
    let first = p.handle(PlannerEvent::Start { now_ms: 0.0 });
    assert!(matches!(first.last(), Some(PlannerAction::CallModel(_))));
    let after_call = p.handle(PlannerEvent::ModelAnswered { now_ms: 1.0, response: reply("", vec![call("c1", "get_item", "{\"id\":\"1\"}")]) });
    assert!(matches!(after_call.last(), Some(PlannerAction::CallTool { call_id, .. }) if call_id == "c1"));
    // a stale id, an approval nobody asked for and a second start change nothing
    assert!(p.handle(PlannerEvent::ToolFailed { now_ms: 2.0, call_id: "c0".into(), code: "x".into(), message: "y".into() }).is_empty());
    assert!(p.handle(PlannerEvent::Approval { now_ms: 2.0, call_id: "c1".into(), granted: true }).is_empty());
    assert!(p.handle(PlannerEvent::Start { now_ms: 2.0 }).is_empty());
    let next = p.handle(PlannerEvent::ToolFailed { now_ms: 3.0, call_id: "c1".into(), code: "unknown_item".into(), message: "1".into() });
    assert!(matches!(next.last(), Some(PlannerAction::CallModel(_))));
    assert_eq!(p.model_calls(), 2);
    assert!(!p.is_done());
}

#[test]
fn an_app_tool_declared_memory_class_is_withheld_even_if_its_output_says_public() {
    let mut reg = registry();
    reg.push(
        ToolDef::app(AppToolRegistration {
            name: "notes".into(),
            description: "The user's notes.".into(),
            parameters: json!({"type": "object"}),
            side_effects: false,
            result_class: DataClass::Memory,
        })
        .unwrap(),
    );
    let mut p = Planner::new(config(2), "x".into(), PlannerContext { registry: reg, ..Default::default() });
    p.handle(PlannerEvent::Start { now_ms: 0.0 });
    p.handle(PlannerEvent::ModelAnswered { now_ms: 1.0, response: reply("", vec![call("n", "notes", "{}")]) });
    let output = ToolOutput { value: json!({"note": "SECRET-NOTE"}), class: DataClass::PublicItem, details: vec![], items: vec![], summary: "1 note".into() };
    let next = p.handle(PlannerEvent::ToolDone { now_ms: 2.0, call_id: "n".into(), output });
    let Some(PlannerAction::CallModel(req)) = next.last() else { panic!("{next:?}") };
    let body = serde_json::to_string(&req.messages).unwrap();
    assert!(!body.contains("SECRET-NOTE"));
    assert_eq!(req.messages.last().unwrap().content, crate::agent::outbound::WITHHELD);
}

fn notes_registry(class: DataClass) -> Vec<ToolDef> {
    let mut reg = registry();
    reg.push(
        ToolDef::app(AppToolRegistration {
            name: "notes".into(),
            description: "The user's notes.".into(),
            parameters: json!({"type": "object"}),
            side_effects: false,
            result_class: class,
        })
        .unwrap(),
    );
    reg
}

#[test]
fn a_failed_tools_error_has_the_tools_class() {
    for (class, sent) in [(DataClass::Memory, false), (DataClass::Preferences, false), (DataClass::PublicItem, true)] {
        let mut p = Planner::new(config(2), "x".into(), PlannerContext { registry: notes_registry(class), ..Default::default() });
        p.handle(PlannerEvent::Start { now_ms: 0.0 });
        p.handle(PlannerEvent::ModelAnswered { now_ms: 1.0, response: reply("", vec![call("n", "notes", "{}")]) });
        let next = p.handle(PlannerEvent::ToolFailed { now_ms: 2.0, call_id: "n".into(), code: "invalid_input".into(), message: "threw: SECRET-NOTE of Ana".into() });
        let Some(PlannerAction::CallModel(req)) = next.last() else { panic!("{next:?}") };
        let body = serde_json::to_string(&req.messages).unwrap();
        assert_eq!(body.contains("SECRET-NOTE"), sent, "{class:?}: {body}");
    }
}

#[test]
fn the_models_words_carry_the_highest_class_it_was_sent() {
    // At full_memory, after a memory recall, the answer and the calls are memory.
    let cfg = PlannerConfig { share: ShareLevel::FullMemory, ..config(2) };
    let mut p = Planner::new(cfg.clone(), "x".into(), PlannerContext { registry: registry(), ..Default::default() });
    p.handle(PlannerEvent::Start { now_ms: 0.0 });
    assert_eq!(p.model_class(), DataClass::PublicItem, "the user's words alone: the model's class is still not request text");
    p.handle(PlannerEvent::ModelAnswered { now_ms: 1.0, response: reply("", vec![call("r", "recall_memory", r#"{"query":"code"}"#)]) });
    let output = ToolOutput { value: json!({"facts": ["code 1234"]}), class: DataClass::Memory, details: vec![], items: vec![], summary: String::new() };
    p.handle(PlannerEvent::ToolDone { now_ms: 2.0, call_id: "r".into(), output });
    assert_eq!(p.model_class(), DataClass::Memory);
    let next = p.handle(PlannerEvent::ModelAnswered { now_ms: 3.0, response: reply("Your code is 1234.", vec![]) });
    assert!(next.iter().any(|a| matches!(a, PlannerAction::CallTool { .. })), "the device ranks the items: {next:?}");
    let out = ToolOutput { value: json!({"items": []}), class: DataClass::PublicItem, details: vec![], items: vec![item("1")], summary: String::new() };
    let done = p.handle(PlannerEvent::ToolDone { now_ms: 4.0, call_id: DEVICE_CALL_ID.into(), output: out });
    assert!(matches!(done.last(), Some(PlannerAction::Finish(_))));
    assert_eq!(p.answer_class(), DataClass::Memory);
    // The same memory withheld (public_items): what the model writes is public-item class.
    let mut p = Planner::new(config(2), "x".into(), PlannerContext { registry: registry(), ..Default::default() });
    p.handle(PlannerEvent::Start { now_ms: 0.0 });
    p.handle(PlannerEvent::ModelAnswered { now_ms: 1.0, response: reply("", vec![call("r", "recall_memory", r#"{"query":"code"}"#)]) });
    let output = ToolOutput { value: json!({"facts": ["code 1234"]}), class: DataClass::Memory, details: vec![], items: vec![], summary: String::new() };
    p.handle(PlannerEvent::ToolDone { now_ms: 2.0, call_id: "r".into(), output });
    assert_eq!(p.model_class(), DataClass::PublicItem);
    // A device-composed answer (autonomy 0) is the device's: public-item class.
    let mut p = Planner::new(PlannerConfig { share: ShareLevel::FullMemory, ..config(0) }, "x".into(), PlannerContext::default());
    p.handle(PlannerEvent::Start { now_ms: 0.0 });
    let out = ToolOutput { value: json!({"items": []}), class: DataClass::PublicItem, details: vec![], items: vec![item("1")], summary: String::new() };
    p.handle(PlannerEvent::ToolDone { now_ms: 1.0, call_id: DEVICE_CALL_ID.into(), output: out });
    assert!(p.is_done());
    assert_eq!(p.answer_class(), DataClass::PublicItem);
}
