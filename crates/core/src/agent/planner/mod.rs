//! The planner: a pure state machine, `(state, event) → actions`. It does
//! no I/O and reads no clock (every event carries `now_ms`); the driver
//! ([`super::Agent`]) runs its actions and feeds the results back.
//!
//! Autonomy: 0 ranks on the device only; 1 ranks on the device, then one
//! model call (no tools) words the answer; 2 lets the model plan over
//! read-only tools; 3 also offers side-effecting tools, each gated by an
//! approval. A call to a tool not offered, an unknown tool, or invalid
//! arguments (after repair) is never executed: it is traced as `rejected`
//! and the model is told so. When a budget runs out, the model fails, or
//! the policy allows nothing for the endpoint, the answer is the
//! on-device ranking with a [`Fallback`] saying why.

mod device;
mod events;
mod model;

use std::collections::VecDeque;

use serde_json::{json, Value};

use super::answer::{AgentAnswer, Fallback, StepKind, StepStatus, TraceStep};
use super::answer_check::compose_answer;
use super::outbound::{build_request, data_class, OutboundMessage, Part, Planning};
use super::policy::{DataClass, ShareLevel};
use super::schema::{check_arguments, parse_arguments};
use super::tools::{AnswerItem, ToolDef, ToolOutput, INTENT_ARG};
use crate::agent::llm::{ChatRole, ToolCall};
use crate::recommender::intent::title_key;
pub use events::{PlannerAction, PlannerConfig, PlannerContext, PlannerEvent};

/// Why the device ranking runs.
#[derive(Debug, Clone, PartialEq)]
enum DeviceFor {
    /// Autonomy 0: it is the answer.
    Answer,
    /// Autonomy 1: the model words it next.
    Prelude,
    /// The fallback answer.
    Fallback(Fallback),
    /// Items for a model answer that named none.
    Items(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Pending {
    id: String,
    name: String,
    args: Value,
    def: ToolDef,
    started_ms: f64,
    /// The class of the call (the model's class when it wrote it).
    class: DataClass,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Device(DeviceFor, f64),
    Model(f64),
    /// Waiting for the model's intent proposal.
    Extract(f64),
    /// Waiting for the driver to merge it.
    Merge(f64),
    Tool(Pending),
    Approval(Pending),
    Done,
}

/// The planner (see the module docs).
#[derive(Debug, Clone)]
pub struct Planner {
    config: PlannerConfig,
    request: String,
    context: PlannerContext,
    offered: Vec<ToolDef>,
    messages: Vec<OutboundMessage>,
    queue: VecDeque<ToolCall>,
    trace: Vec<TraceStep>,
    phase: Phase,
    start_ms: f64,
    model_calls: u32,
    tool_calls: u32,
    tokens: u64,
    last_request_bytes: usize,
    device: Option<ToolOutput>,
    last_list: Option<Vec<AnswerItem>>,
    known: Vec<AnswerItem>,
    json_calls: u32,
    /// Why the model's text was replaced, when it was.
    replaced: Option<String>,
    /// The ranking's note when constraints were relaxed.
    note: Option<String>,
    /// The highest class sent to the model so far in this ask: what the
    /// model writes carries it ([`Planner::model_class`]).
    seen: DataClass,
    /// The class of the final answer's text.
    answer_class: DataClass,
}

/// The device ranking's call id.
pub const DEVICE_CALL_ID: &str = "device_rank";

impl Planner {
    /// A planner for `request` under `config`.
    pub fn new(config: PlannerConfig, request: String, context: PlannerContext) -> Self {
        let offered: Vec<ToolDef> = match config.autonomy {
            0 | 1 => Vec::new(),
            2 => context.registry.iter().filter(|t| !t.side_effects).cloned().collect(),
            _ => context.registry.clone(),
        };
        let mut messages = context.history.clone();
        let mut parts = vec![Part::user_words(request.clone())];
        if let Some(p) = &context.preferences {
            parts.push(Part::derived(DataClass::Preferences, format!("(The user's stated preferences: {p})")));
        }
        messages.push(OutboundMessage::new(ChatRole::User, parts));
        Self {
            config,
            request,
            context,
            offered,
            messages,
            queue: VecDeque::new(),
            trace: Vec::new(),
            phase: Phase::Idle,
            start_ms: 0.0,
            model_calls: 0,
            tool_calls: 0,
            tokens: 0,
            last_request_bytes: 0,
            device: None,
            last_list: None,
            known: Vec::new(),
            json_calls: 0,
            replaced: None,
            note: None,
            seen: DataClass::RequestText,
            answer_class: DataClass::PublicItem,
        }
    }

    /// The class of everything the model writes in this ask (its text, its
    /// tool calls and their arguments): the highest class sent to it so far,
    /// and at least [`DataClass::PublicItem`] (the model's words are never
    /// the user's).
    pub fn model_class(&self) -> DataClass {
        data_class(self.seen)
    }

    /// The class of the final answer's text: the model's class when the
    /// model wrote it, [`DataClass::PublicItem`] when the device composed
    /// it from its items (the driver adds the class of the items named).
    pub fn answer_class(&self) -> DataClass {
        self.answer_class
    }

    /// The tools offered to the model at this autonomy.
    pub fn offered(&self) -> &[ToolDef] {
        &self.offered
    }

    /// Whether the planner has finished.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Model calls made so far.
    pub fn model_calls(&self) -> u32 {
        self.model_calls
    }

    /// Handles one event; returns what to do next. Events that do not fit
    /// the current state (a stale call id, anything after `Finish`) are ignored.
    pub fn handle(&mut self, event: PlannerEvent) -> Vec<PlannerAction> {
        let mut out = Vec::new();
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        match (phase, event) {
            (Phase::Idle, PlannerEvent::Start { now_ms }) => {
                self.start_ms = now_ms;
                if let Some(intent) = &self.context.intent {
                    let summary = if intent.summary.is_empty() { "no constraints".to_string() } else { intent.summary.clone() };
                    let args = serde_json::to_value(intent).ok();
                    self.step(StepKind::Understand, Some("device"), args, StepStatus::Ok, None, Some(summary), now_ms, now_ms, &mut out);
                }
                if self.config.autonomy == 0 {
                    self.device_rank(DeviceFor::Answer, now_ms, &mut out);
                } else if !self.config.has_model {
                    self.fallback("no_endpoint", "no model endpoint is configured", now_ms, &mut out);
                } else if self.config.share == ShareLevel::Nothing {
                    self.fallback("policy", "the privacy policy allows nothing to be sent to this endpoint", now_ms, &mut out);
                } else if self.context.extraction.is_some() && self.context.intent.is_some() {
                    self.call_extract(now_ms, &mut out);
                } else {
                    self.after_intent(now_ms, &mut out);
                }
            }
            (Phase::Extract(started), PlannerEvent::ModelAnswered { now_ms, response }) => {
                self.extract_answered(started, now_ms, response, &mut out);
            }
            (Phase::Extract(started), PlannerEvent::ModelFailed { now_ms, code, message }) => {
                self.step(StepKind::Model, None, None, StepStatus::Failed, Some(format!("{code}: {message}")), Some("intent proposal".into()), started, now_ms, &mut out);
                self.after_intent(now_ms, &mut out);
            }
            (Phase::Merge(started), PlannerEvent::IntentMerged { now_ms, intent, refused }) => {
                self.intent_merged(started, now_ms, intent, refused, &mut out);
            }
            (Phase::Device(purpose, started), PlannerEvent::ToolDone { now_ms, call_id, output }) if call_id == DEVICE_CALL_ID => {
                self.step(StepKind::Tool, Some("recommend"), None, StepStatus::Ok, None, Some(output.summary.clone()), started, now_ms, &mut out);
                self.last_list.get_or_insert_with(|| output.items.clone());
                self.known.extend(output.items.iter().cloned());
                self.note = output.value.get("note").and_then(serde_json::Value::as_str).map(str::to_string);
                self.device = Some(output);
                self.after_device(purpose, now_ms, &mut out);
            }
            (Phase::Device(purpose, started), PlannerEvent::ToolFailed { now_ms, call_id, code, message }) if call_id == DEVICE_CALL_ID => {
                self.step(StepKind::Tool, Some("recommend"), None, StepStatus::Failed, Some(format!("{code}: {message}")), None, started, now_ms, &mut out);
                self.device = Some(ToolOutput { value: json!({"items": []}), class: DataClass::PublicItem, details: Vec::new(), items: Vec::new(), summary: String::new() });
                let purpose = match purpose {
                    DeviceFor::Prelude => DeviceFor::Fallback(Fallback { code: code.clone(), reason: format!("the device ranking failed: {message}") }),
                    other => other,
                };
                self.after_device(purpose, now_ms, &mut out);
            }
            (Phase::Model(started), PlannerEvent::ModelAnswered { now_ms, response }) => {
                self.model_answered(started, now_ms, response, &mut out);
            }
            (Phase::Model(started), PlannerEvent::ModelFailed { now_ms, code, message }) => {
                self.step(StepKind::Model, None, None, StepStatus::Failed, Some(format!("{code}: {message}")), None, started, now_ms, &mut out);
                let code = match code.as_str() {
                    "timeout" | "circuit_open" | "aborted" | "network_error" | "response_too_large" => code,
                    "policy_denied" => "policy".to_string(),
                    _ => "llm_error".to_string(),
                };
                self.fallback(&code, &format!("the model endpoint failed: {message}"), now_ms, &mut out);
            }
            (Phase::Tool(p), PlannerEvent::ToolDone { now_ms, call_id, output }) if call_id == p.id => {
                self.step(StepKind::Tool, Some(&p.name), Some(p.args.clone()), StepStatus::Ok, None, Some(output.summary.clone()), p.started_ms, now_ms, &mut out);
                if matches!(p.name.as_str(), "recommend" | "search_catalog") {
                    self.last_list = Some(output.items.clone());
                    self.note = output.value.get("note").and_then(serde_json::Value::as_str).map(str::to_string);
                }
                // Under an intent, an answer may name only ranked items (which
                // met its constraints), not any item the model looked up.
                if self.context.intent.is_none() || matches!(p.name.as_str(), "recommend" | "search_catalog") {
                    self.known.extend(output.items.iter().cloned());
                }
                // The result is of the tool's class, of what it says it is,
                // and of the arguments the model chose (`p.class`).
                let class = output.class.max(p.def.result_class).max(p.class);
                let source = format!("tool:{}", p.name);
                let mut parts = vec![Part::data(class, &source, output.value.to_string())];
                parts.extend(output.details.iter().map(|(c, v)| Part::data((*c).max(class), &source, v.to_string())));
                self.tool_message(&p.id, &p.name, class, parts);
                self.advance(now_ms, &mut out);
            }
            (Phase::Tool(p), PlannerEvent::ToolFailed { now_ms, call_id, code, message }) if call_id == p.id => {
                let reason = format!("{code}: {message}");
                self.step(StepKind::Tool, Some(&p.name), Some(p.args.clone()), StepStatus::Failed, Some(reason.clone()), None, p.started_ms, now_ms, &mut out);
                // A tool's error is data of that tool's class (an app tool's
                // message can quote what it read), never request text.
                let class = p.def.result_class.max(p.class);
                self.tool_message(&p.id, &p.name, class, vec![Part::derived(class, format!("The tool failed: {reason}"))]);
                self.advance(now_ms, &mut out);
            }
            (Phase::Approval(p), PlannerEvent::Approval { now_ms, call_id, granted }) if call_id == p.id => {
                let status = if granted { StepStatus::Ok } else { StepStatus::Rejected };
                let reason = (!granted).then(|| "not approved".to_string());
                self.step(StepKind::Approval, Some(&p.name), Some(p.args.clone()), status, reason, None, p.started_ms, now_ms, &mut out);
                if granted {
                    if self.tool_calls >= self.config.max_tool_calls {
                        self.fallback("budget_tool_calls", "the tool-call budget is spent", now_ms, &mut out);
                    } else {
                        self.execute(Pending { started_ms: now_ms, ..p }, &mut out);
                    }
                } else {
                    self.reject(&p.id, &p.name, Some(p.args.clone()), "not approved", now_ms, &mut out);
                    self.advance(now_ms, &mut out);
                }
            }
            (phase, _) => self.phase = phase,
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        kind: StepKind,
        tool: Option<&str>,
        arguments: Option<Value>,
        status: StepStatus,
        reason: Option<String>,
        result_summary: Option<String>,
        started_ms: f64,
        now_ms: f64,
        out: &mut Vec<PlannerAction>,
    ) {
        self.step_with(TraceStep {
            index: self.trace.len(),
            kind,
            thought: None,
            tool: tool.map(str::to_string),
            arguments,
            status,
            reason,
            result_summary,
            started_ms,
            duration_ms: (now_ms - started_ms).max(0.0),
        }, out);
    }

    fn step_with(&mut self, step: TraceStep, out: &mut Vec<PlannerAction>) {
        self.trace.push(step.clone());
        out.push(PlannerAction::Step(step));
    }

    fn fallback(&mut self, code: &str, reason: &str, now_ms: f64, out: &mut Vec<PlannerAction>) {
        self.queue.clear();
        self.step(StepKind::Fallback, None, None, StepStatus::Ok, Some(format!("{code}: {reason}")), None, now_ms, now_ms, out);
        let f = Fallback { code: code.to_string(), reason: reason.to_string() };
        self.device_rank(DeviceFor::Fallback(f), now_ms, out);
    }

    fn call_model(&mut self, now_ms: f64, out: &mut Vec<PlannerAction>) {
        if now_ms - self.start_ms >= self.config.max_wall_ms {
            return self.fallback("budget_time", "the time budget is spent", now_ms, out);
        }
        if self.model_calls >= self.config.max_steps {
            return self.fallback("budget_steps", "the step budget is spent", now_ms, out);
        }
        if self.tokens >= u64::from(self.config.max_tokens) {
            return self.fallback("budget_tokens", "the token budget is spent", now_ms, out);
        }
        let specs = self.offered.iter().map(|t| t.spec.clone()).collect::<Vec<_>>();
        let planning = if self.config.autonomy <= 1 || specs.is_empty() {
            Planning::NoTools
        } else if self.config.json_planning {
            Planning::Json(specs)
        } else {
            Planning::Native(specs)
        };
        let built = build_request(self.config.share, &self.messages, &planning, Some(self.start_ms + self.config.max_wall_ms));
        self.seen = self.seen.max(built.sent_class);
        let request = built.request;
        self.last_request_bytes = serde_json::to_string(&request.messages).map(|s| s.len()).unwrap_or(0);
        self.model_calls += 1;
        self.phase = Phase::Model(now_ms);
        out.push(PlannerAction::CallModel(request));
    }

    /// A tool result (or refusal) for the model. In JSON planning mode too
    /// it is a `tool` message (with the generated call id): the assistant
    /// message before it carries the JSON plan as text, without native calls.
    /// `class` is that of the result (the tool's name and the label count as it).
    fn tool_message(&mut self, call_id: &str, name: &str, class: DataClass, mut parts: Vec<Part>) {
        if self.config.json_planning {
            parts.insert(0, Part::derived(class, format!("Result of the tool call {name}:")));
        }
        self.messages.push(OutboundMessage::tool(call_id, parts));
    }

    fn reject(&mut self, id: &str, name: &str, args: Option<Value>, reason: &str, now_ms: f64, out: &mut Vec<PlannerAction>) {
        self.step(StepKind::Tool, Some(name), args, StepStatus::Rejected, Some(reason.to_string()), None, now_ms, now_ms, out);
        // The name and the reason quote the model's call: the model's class.
        let class = self.model_class();
        self.tool_message(id, name, class, vec![Part::derived(class, format!("The call to {name} was rejected and not executed: {reason}."))]);
    }

    fn execute(&mut self, p: Pending, out: &mut Vec<PlannerAction>) {
        self.tool_calls += 1;
        let mut args = p.args.clone();
        // The request's constraints bind every ranking the model asks for.
        if let (Some(intent), true) = (&self.context.intent, matches!(p.name.as_str(), "recommend" | "search_catalog")) {
            if let Some(obj) = args.as_object_mut() {
                obj.insert(INTENT_ARG.to_string(), serde_json::to_value(intent).unwrap_or(Value::Null));
            }
        }
        out.push(PlannerAction::CallTool { call_id: p.id.clone(), name: p.name.clone(), args });
        self.phase = Phase::Tool(p);
    }

    /// Takes the next queued call: rejects it, asks for approval, runs it,
    /// or — when none is left — asks the model again.
    fn advance(&mut self, now_ms: f64, out: &mut Vec<PlannerAction>) {
        while let Some(call) = self.queue.pop_front() {
            let raw_args = parse_arguments(&call.arguments).unwrap_or_else(|| Value::String(call.arguments.clone()));
            let Some(def) = self.offered.iter().find(|t| t.spec.name == call.name).cloned() else {
                let reason = match self.context.registry.iter().find(|t| t.spec.name == call.name) {
                    Some(t) if t.side_effects => format!("{} has side effects; not allowed at autonomy {}", call.name, self.config.autonomy),
                    Some(_) => format!("not allowed at autonomy {}", self.config.autonomy),
                    None => "unknown tool".to_string(),
                };
                self.reject(&call.id, &call.name, Some(raw_args), &reason, now_ms, out);
                continue;
            };
            let args = match check_arguments(&def.spec.parameters, &call.arguments) {
                Ok(a) => a,
                Err(reason) => {
                    self.reject(&call.id, &call.name, Some(raw_args), &reason, now_ms, out);
                    continue;
                }
            };
            if call.name == "ask_user" {
                let question = args.get("question").and_then(Value::as_str).unwrap_or_default().to_string();
                self.step(StepKind::Tool, Some("ask_user"), Some(args.clone()), StepStatus::Ok, None, Some("a question for the user".into()), now_ms, now_ms, out);
                let items = self.last_list.clone().unwrap_or_default();
                return self.finish(question.clone(), items, Some(question), None, now_ms, out);
            }
            if self.tool_calls >= self.config.max_tool_calls {
                return self.fallback("budget_tool_calls", "the tool-call budget is spent", now_ms, out);
            }
            if now_ms - self.start_ms >= self.config.max_wall_ms {
                return self.fallback("budget_time", "the time budget is spent", now_ms, out);
            }
            let pending = Pending { id: call.id.clone(), name: call.name.clone(), args: args.clone(), def: def.clone(), started_ms: now_ms, class: self.model_class() };
            if def.side_effects {
                out.push(PlannerAction::RequestApproval { call_id: call.id, name: call.name, args });
                self.phase = Phase::Approval(pending);
            } else {
                self.execute(pending, out);
            }
            return;
        }
        self.call_model(now_ms, out);
    }

    /// Ends with `answer` over `items` (unique by id and title). An empty
    /// answer is composed on the device from the items, the intent and the
    /// ranking's note.
    fn finish(&mut self, answer: String, items: Vec<AnswerItem>, question: Option<String>, fallback: Option<Fallback>, now_ms: f64, out: &mut Vec<PlannerAction>) {
        let mut seen_ids = std::collections::HashSet::new();
        let mut seen_titles = std::collections::HashSet::new();
        let items: Vec<AnswerItem> = items.into_iter().filter(|i| seen_ids.insert(i.id.clone()) && seen_titles.insert(title_key(&i.title))).collect();
        let model_wrote = !answer.trim().is_empty();
        let answer = if !model_wrote {
            let what = self.context.intent.as_ref().and_then(|i| i.describe());
            compose_answer(&items, what.as_deref(), self.note.as_deref())
        } else {
            answer
        };
        // The model's words carry what it saw; a composed answer is the device's.
        self.answer_class = if model_wrote { self.model_class() } else { DataClass::PublicItem };
        let summary = format!("{} items", items.len());
        let reason = self.replaced.as_ref().map(|r| format!("answer_replaced: {r}"));
        self.step(StepKind::Final, None, None, StepStatus::Ok, reason, Some(summary), now_ms, now_ms, out);
        self.phase = Phase::Done;
        out.push(PlannerAction::Finish(AgentAnswer {
            answer,
            items,
            trace: self.trace.clone(),
            question,
            fallback,
            autonomy: self.config.autonomy.min(3),
            intent: self.context.intent.clone(),
            answer_replaced: self.replaced.clone(),
        }));
    }
}

#[cfg(test)]
mod tests;
