//! The agent: a planner that turns a request into steps over tools, calls a
//! remote LLM only when the app's policy allows it, and always has an
//! on-device answer to fall back on.
//!
//! - [`policy`]: what may be sent where ([`PrivacyPolicy`], [`ShareLevel`], [`DataClass`]).
//! - [`redact`]: identifiers and secrets removed from every outbound string.
//! - [`outbound`]: the only way to build a [`llm::ChatRequest`] (classes, withholding, data blocks).
//! - [`schema`]: tool-argument parsing, validation and repair.
//! - [`tools`]: tool definitions, the [`ToolHost`] seam, the local tools.
//! - [`planner`]: the pure state machine; [`Agent`] drives it.
//! - [`answer`]: the answer, trace and fallback types.
//! - [`llm`]: the chat-completion client and ledger.

pub mod answer;
pub mod answer_check;
pub mod candidates;
pub mod llm;
pub mod outbound;
pub mod planner;
pub mod policy;
pub mod redact;
pub mod schema;
pub mod tools;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

pub use answer::{AgentAnswer, Fallback, StepKind, StepStatus, TraceStep};
pub use outbound::{OutboundMessage, Part};
pub use planner::{Planner, PlannerAction, PlannerConfig, PlannerContext, PlannerEvent};
pub use policy::{DataClass, PrivacyPolicy, ShareLevel};
pub use tools::{builtin_tools, AnswerItem, AppToolRegistration, LocalTools, ToolDef, ToolHost, ToolOutput, ToolSource};

use crate::error::{Error, Result};
use crate::platform::{Clock, LocalBoxFuture};
use llm::{ChatModel, ChatRole};

/// A side-effecting call waiting for the app's approval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRequest {
    /// The call's id.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its validated arguments.
    pub arguments: Value,
    /// The tool's description.
    pub description: String,
}

/// The app's approval callback; without one, every side-effecting call is denied.
pub trait Approver {
    /// Whether the call may run.
    fn approve(&self, request: &ApprovalRequest) -> LocalBoxFuture<'_, bool>;
}

/// Budgets of one `ask` (defaults: 8 model calls, 6 tool calls, 4000 tokens, 45 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budgets {
    /// Most model calls.
    pub max_steps: u32,
    /// Most executed tool calls (the device ranking not counted).
    pub max_tool_calls: u32,
    /// Most tokens over all model calls.
    pub max_tokens: u32,
    /// Most wall time, in ms.
    pub max_wall_ms: f64,
}

impl Default for Budgets {
    fn default() -> Self {
        let c = PlannerConfig::default();
        Self { max_steps: c.max_steps, max_tool_calls: c.max_tool_calls, max_tokens: c.max_tokens, max_wall_ms: c.max_wall_ms }
    }
}

/// Called with every trace step as it happens.
pub type StepCallback = Rc<dyn Fn(&TraceStep)>;

/// Called with streamed model text as it arrives.
pub type TokenCallback = Rc<dyn Fn(&str)>;

/// Options of one [`Agent::ask`].
#[derive(Clone)]
pub struct AskOptions {
    /// 0..=3 (default 2); see [`planner`].
    pub autonomy: u8,
    /// Budgets.
    pub budgets: Budgets,
    /// Approves side-effecting calls (autonomy 3); `None` denies them all.
    pub approve: Option<Rc<dyn Approver>>,
    /// Called with every trace step as it happens.
    pub on_step: Option<StepCallback>,
    /// Called with streamed model text as it arrives.
    pub on_token: Option<TokenCallback>,
    /// JSON planning mode for endpoints without native tool calls.
    pub json_planning: bool,
    /// How many items the device ranking returns (default 10).
    pub k: usize,
    /// At autonomy ≥ 1, first ask the model for an intent proposal (one
    /// JSON-schema call, merged with the device's reading under checks).
    /// Default false: the device's intent binds every path either way; the
    /// proposal costs one more model call per ask.
    pub extract_intent: bool,
}

impl Default for AskOptions {
    fn default() -> Self {
        Self { autonomy: 2, budgets: Budgets::default(), approve: None, on_step: None, on_token: None, json_planning: false, k: 10, extract_intent: false }
    }
}

#[derive(Default)]
struct Conversation {
    turns: Vec<OutboundMessage>,
    /// The question the last answer asked, and the request it was about.
    pending: Option<(String, String)>,
}

/// Most earlier messages kept for context.
const MAX_HISTORY: usize = 12;

/// The agent: runs the [`Planner`] against a model, the tools and the app's
/// approver, under a privacy policy. The tools offered and the policy are
/// fixed at the start of each `ask`; nothing the model or the data says can
/// change them.
pub struct Agent {
    model: Option<Rc<dyn ChatModel>>,
    origin: Option<String>,
    tools: Rc<dyn ToolHost>,
    registry: Vec<ToolDef>,
    policy: RefCell<PrivacyPolicy>,
    clock: Rc<dyn Clock>,
    conversation: RefCell<Conversation>,
}

impl Agent {
    /// An agent over `model` (at `origin`, which the policy is looked up
    /// by; `None` uses the policy's default level), the tools in
    /// `registry` run by `tools`.
    pub fn new(
        model: Option<Rc<dyn ChatModel>>,
        origin: Option<String>,
        tools: Rc<dyn ToolHost>,
        registry: Vec<ToolDef>,
        policy: PrivacyPolicy,
        clock: Rc<dyn Clock>,
    ) -> Self {
        Self { model, origin, tools, registry, policy: RefCell::new(policy), clock, conversation: RefCell::new(Conversation::default()) }
    }

    /// Replaces the privacy policy (applies from the next `ask`).
    pub fn set_policy(&self, policy: PrivacyPolicy) {
        *self.policy.borrow_mut() = policy;
    }

    /// The privacy policy in use.
    pub fn policy(&self) -> PrivacyPolicy {
        self.policy.borrow().clone()
    }

    /// Forgets the conversation (earlier turns and any pending question).
    pub fn reset(&self) {
        *self.conversation.borrow_mut() = Conversation::default();
    }

    /// Answers `message`. Never fails because of the model or a budget:
    /// those give the on-device answer with a [`Fallback`].
    pub async fn ask(&self, message: &str, options: AskOptions) -> Result<AgentAnswer> {
        let share = self.policy.borrow().share_for(self.origin.as_deref().unwrap_or(""));
        let config = PlannerConfig {
            autonomy: options.autonomy.min(3),
            max_steps: options.budgets.max_steps,
            max_tool_calls: options.budgets.max_tool_calls,
            max_tokens: options.budgets.max_tokens,
            max_wall_ms: options.budgets.max_wall_ms,
            share,
            has_model: self.model.is_some(),
            json_planning: options.json_planning,
            device_k: options.k.clamp(1, 50),
        };
        let (history, pending) = {
            let c = self.conversation.borrow();
            (c.turns.clone(), c.pending.clone())
        };
        let device_query = pending.as_ref().map(|(_, request)| format!("{request} {message}"));
        let understood_text = device_query.clone().unwrap_or_else(|| message.to_string());
        let intent = self.tools.understand(&understood_text);
        let extraction = if config.autonomy >= 1 && options.extract_intent && self.model.is_some() && share != ShareLevel::Nothing {
            self.tools.intent_schema()
        } else {
            None
        };
        let context = PlannerContext {
            history,
            registry: self.registry.clone(),
            preferences: self.tools.preference_summary(),
            device_query,
            intent: intent.clone(),
            extraction,
        };
        let mut planner = Planner::new(config, message.to_string(), context);
        let on_token = options.on_token.clone();
        let mut token_sink = move |t: &str| {
            if let Some(f) = &on_token {
                f(t);
            }
        };
        let mut events = VecDeque::from([PlannerEvent::Start { now_ms: self.clock.now_ms() }]);
        let mut answer = None;
        while let Some(event) = events.pop_front() {
            for action in planner.handle(event) {
                match action {
                    PlannerAction::Step(step) => {
                        if let Some(f) = &options.on_step {
                            f(&step);
                        }
                    }
                    PlannerAction::CallModel(request) => {
                        let result = match &self.model {
                            Some(model) => model.chat(request, &mut token_sink).await,
                            None => Err(Error::PolicyDenied("no model endpoint".into())),
                        };
                        let now_ms = self.clock.now_ms();
                        events.push_back(match result {
                            Ok(response) => PlannerEvent::ModelAnswered { now_ms, response },
                            Err(e) => PlannerEvent::ModelFailed { now_ms, code: e.code().to_string(), message: e.to_string() },
                        });
                    }
                    PlannerAction::CallTool { call_id, name, args } => {
                        let result = self.tools.call(&name, args).await;
                        let now_ms = self.clock.now_ms();
                        events.push_back(match result {
                            Ok(output) => PlannerEvent::ToolDone { now_ms, call_id, output },
                            Err(e) => PlannerEvent::ToolFailed { now_ms, call_id, code: e.code().to_string(), message: e.to_string() },
                        });
                    }
                    PlannerAction::RequestApproval { call_id, name, args } => {
                        let granted = match &options.approve {
                            Some(approver) => {
                                let description = self.registry.iter().find(|t| t.spec.name == name).map(|t| t.spec.description.clone()).unwrap_or_default();
                                let request = ApprovalRequest { call_id: call_id.clone(), tool: name, arguments: args, description };
                                approver.approve(&request).await
                            }
                            None => false,
                        };
                        events.push_back(PlannerEvent::Approval { now_ms: self.clock.now_ms(), call_id, granted });
                    }
                    PlannerAction::MergeIntent { proposal } => {
                        let device = intent.clone().unwrap_or_default();
                        let (merged, refused) = self.tools.merge_intent(&device, &understood_text, &proposal).unwrap_or((device, Vec::new()));
                        events.push_back(PlannerEvent::IntentMerged { now_ms: self.clock.now_ms(), intent: merged, refused });
                    }
                    PlannerAction::Finish(a) => answer = Some(a),
                }
            }
        }
        let mut answer = answer.ok_or_else(|| Error::InvalidInput("internal: the planner stopped without an answer".into()))?;
        let mut class = planner.answer_class();
        if self.ground(&mut answer) {
            class = DataClass::PublicItem;
        }
        let mut c = self.conversation.borrow_mut();
        let request_text = match &pending {
            Some((_, request)) => format!("{request} {message}"),
            None => message.to_string(),
        };
        c.turns.push(OutboundMessage::new(ChatRole::User, vec![Part::user_words(message)]));
        // The answer keeps its class in the history: what the model saw when
        // it wrote it (an answer quoting memory at `full_memory` stays
        // memory after the policy narrows), and memory when it names the
        // user's own items.
        if answer.items.iter().any(|i| self.tools.is_personal_item(&i.id)) {
            class = class.max(DataClass::Memory);
        }
        c.turns.push(OutboundMessage::new(ChatRole::Assistant, vec![Part::derived(class, answer.answer.clone())]));
        c.pending = answer.question.clone().map(|q| (q, request_text));
        let excess = c.turns.len().saturating_sub(MAX_HISTORY);
        c.turns.drain(..excess);
        Ok(answer)
    }

    /// The grounding check: a model's answer naming catalog items that are
    /// not in its list is repaired (those sentences dropped, or the answer
    /// composed on the device), and the trace says so. True when the text
    /// is now composed on the device (none of the model's words are left).
    fn ground(&self, answer: &mut AgentAnswer) -> bool {
        if answer.autonomy == 0 || answer.fallback.is_some() || answer.question.is_some() {
            return false;
        }
        let bad = self.tools.ungrounded(&answer.answer, &answer.items);
        if bad.is_empty() {
            return false;
        }
        let names: Vec<&str> = self.registry.iter().map(|t| t.spec.name.as_str()).collect();
        let repaired = answer_check::remove_ungrounded(&answer.answer, &bad);
        let composed = repaired.trim().is_empty() || answer_check::unusable_reason(&repaired, &names).is_some();
        answer.answer = if composed {
            let what = answer.intent.as_ref().and_then(|i| i.describe());
            answer_check::compose_answer(&answer.items, what.as_deref(), None)
        } else {
            repaired
        };
        let why = format!("the model's text named items not in the list: {}", bad.join(", "));
        if let Some(step) = answer.trace.iter_mut().rev().find(|s| s.kind == StepKind::Final) {
            step.reason = Some(format!("answer_replaced: {why}"));
        }
        answer.answer_replaced = Some(why);
        composed
    }
}
