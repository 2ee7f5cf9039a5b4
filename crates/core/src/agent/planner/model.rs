//! The planner's model side: the intent proposal (structured extraction),
//! reading the model's answers (native calls, JSON planning), and keeping
//! what a person reads free of tool calls, JSON and schemas.

use serde_json::{json, Value};

use super::{DeviceFor, Phase, Planner};
use crate::agent::answer::{mentioned_items, StepKind, StepStatus, TraceStep};
use crate::agent::tools::AnswerItem;
use crate::agent::answer_check::{strip_to_prose, unusable_reason};
use crate::agent::llm::{ChatResponse, ChatRole, FinishReason, ToolCall};
use crate::agent::outbound::{build_request, OutboundMessage, Part, Planning};
use crate::agent::schema::parse_arguments;
use crate::agent::PlannerAction;
use crate::intent::proposal::read_json;

impl Planner {
    /// Asks the model for an intent proposal (one JSON-schema call).
    pub(super) fn call_extract(&mut self, now_ms: f64, out: &mut Vec<PlannerAction>) {
        let Some((schema, instructions)) = self.context.extraction.clone() else {
            return self.after_intent(now_ms, out);
        };
        if self.model_calls >= self.config.max_steps || now_ms - self.start_ms >= self.config.max_wall_ms {
            return self.after_intent(now_ms, out);
        }
        let user = OutboundMessage::new(ChatRole::User, vec![Part::user_words(self.request.clone())]);
        let planning = Planning::Extract { schema, instructions };
        let built = build_request(self.config.share, &[user], &planning, Some(self.start_ms + self.config.max_wall_ms));
        self.seen = self.seen.max(built.sent_class);
        let mut request = built.request;
        request.temperature = Some(0.0);
        request.max_tokens = Some(256);
        self.last_request_bytes = serde_json::to_string(&request.messages).map(|s| s.len()).unwrap_or(0);
        self.model_calls += 1;
        self.phase = Phase::Extract(now_ms);
        out.push(PlannerAction::CallModel(request));
    }

    /// The model's proposal arrived: merge it (or go on without it).
    pub(super) fn extract_answered(&mut self, started: f64, now_ms: f64, response: ChatResponse, out: &mut Vec<PlannerAction>) {
        self.count_tokens(&response);
        let proposal = read_json(&response.content).or_else(|| {
            response.tool_calls.first().and_then(|c| parse_arguments(&c.arguments)).filter(Value::is_object)
        });
        let (status, reason) = match &proposal {
            Some(_) => (StepStatus::Ok, None),
            None => (StepStatus::Rejected, Some("the intent proposal was not a JSON object".to_string())),
        };
        self.step(StepKind::Model, None, None, status, reason, Some("intent proposal".into()), started, now_ms, out);
        match proposal {
            Some(p) if self.context.intent.is_some() => {
                self.phase = Phase::Merge(now_ms);
                out.push(PlannerAction::MergeIntent { proposal: p });
            }
            _ => self.after_intent(now_ms, out),
        }
    }

    /// The merged intent is back: show it, then go on.
    pub(super) fn intent_merged(&mut self, started: f64, now_ms: f64, intent: crate::intent::Intent, refused: Vec<String>, out: &mut Vec<PlannerAction>) {
        let reason = (!refused.is_empty()).then(|| format!("refused from the model's proposal: {}", refused.join("; ")));
        let summary = if intent.summary.is_empty() { "no constraints".to_string() } else { intent.summary.clone() };
        self.step(StepKind::Understand, Some("model+device"), serde_json::to_value(&intent).ok(), StepStatus::Ok, reason, Some(summary), started, now_ms, out);
        self.context.intent = Some(intent);
        self.after_intent(now_ms, out);
    }

    /// After the intent: autonomy 1 ranks on the device for the model to
    /// word; 2 and up let the model plan.
    pub(super) fn after_intent(&mut self, now_ms: f64, out: &mut Vec<PlannerAction>) {
        if self.config.autonomy == 1 {
            self.device_rank(DeviceFor::Prelude, now_ms, out);
        } else {
            self.call_model(now_ms, out);
        }
    }

    fn count_tokens(&mut self, response: &ChatResponse) {
        self.tokens += match response.usage {
            Some(u) => u64::from(u.prompt_tokens) + u64::from(u.completion_tokens),
            None => {
                let args: usize = response.tool_calls.iter().map(|c| c.arguments.len() + c.name.len()).sum();
                ((self.last_request_bytes + response.content.len() + args) / 4) as u64
            }
        };
    }

    pub(super) fn model_answered(&mut self, started: f64, now_ms: f64, response: ChatResponse, out: &mut Vec<PlannerAction>) {
        self.count_tokens(&response);
        let (text, calls, answer_ids) = self.read_response(&response);
        let summary = if calls.is_empty() { "answer".to_string() } else { format!("{} tool call(s)", calls.len()) };
        let thought = (!calls.is_empty() && !text.trim().is_empty()).then(|| text.trim().to_string());
        self.step_with(TraceStep {
            index: self.trace.len(),
            kind: StepKind::Model,
            thought,
            tool: None,
            arguments: None,
            status: StepStatus::Ok,
            reason: None,
            result_summary: Some(summary),
            started_ms: started,
            duration_ms: (now_ms - started).max(0.0),
        }, out);
        if now_ms - self.start_ms >= self.config.max_wall_ms {
            return self.fallback("budget_time", "the time budget is spent", now_ms, out);
        }
        let cut = response.finish_reason == FinishReason::Length;
        // Calls the model may not make here (autonomy 1 offers no tools), or
        // cut off mid-arguments, are traced as refused and never run.
        let unusable = cut && !calls.is_empty() && calls.iter().all(|c| parse_arguments(&c.arguments).is_none());
        if self.config.autonomy <= 1 || unusable {
            let reason = if unusable { "cut off before its arguments were complete".to_string() } else { format!("no tools are offered at autonomy {}", self.config.autonomy) };
            for c in &calls {
                let args = parse_arguments(&c.arguments).unwrap_or_else(|| Value::String(c.arguments.clone()));
                self.step(StepKind::Tool, Some(&c.name), Some(args), StepStatus::Rejected, Some(reason.clone()), None, now_ms, now_ms, out);
            }
        }
        if self.config.autonomy <= 1 || calls.is_empty() || unusable {
            let mut answer = text.trim().to_string();
            if answer.is_empty() {
                let reason = if cut { "the model's answer was cut off before any text" } else { "the model gave an empty answer" };
                return self.fallback("empty_answer", reason, now_ms, out);
            }
            let names: Vec<&str> = self.context.registry.iter().map(|t| t.spec.name.as_str()).collect();
            if let Some(why) = unusable_reason(&answer, &names) {
                match strip_to_prose(&answer) {
                    Some(prose) => {
                        self.replaced = Some(format!("the model's text mixed prose with something not for people ({why}); only the prose is kept"));
                        answer = prose;
                    }
                    None => {
                        self.replaced = Some(format!("the model's text was not for people: {why}"));
                        answer = String::new();
                    }
                }
            }
            if cut && !answer.is_empty() {
                answer.push_str(" (the model's answer was cut off)");
            }
            if self.config.autonomy <= 1 {
                return self.finish(answer, self.device_items(), None, None, now_ms, out);
            }
            let named: Vec<AnswerItem> = answer_ids
                .iter()
                .filter_map(|id| self.known.iter().find(|k| &k.id == id).cloned())
                .collect();
            let items = if !named.is_empty() { named } else { mentioned_items(&answer, &self.known) };
            if !items.is_empty() {
                return self.finish(answer, items, None, None, now_ms, out);
            }
            if let Some(list) = self.last_list.clone() {
                return self.finish(answer, list, None, None, now_ms, out);
            }
            return self.device_rank(DeviceFor::Items(answer), now_ms, out);
        }
        // The model's text and calls carry the class of what it was sent.
        let class = self.model_class();
        let assistant = if self.config.json_planning {
            OutboundMessage::new(ChatRole::Assistant, vec![Part::derived(class, response.content.clone())])
        } else {
            let parts = if text.trim().is_empty() { Vec::new() } else { vec![Part::derived(class, text.clone())] };
            OutboundMessage::assistant_calls(parts, calls.clone(), class)
        };
        self.messages.push(assistant);
        self.queue.extend(calls);
        self.advance(now_ms, out);
    }

    /// The text, the tool calls and (JSON mode) the answer's item ids.
    pub(super) fn read_response(&mut self, response: &ChatResponse) -> (String, Vec<ToolCall>, Vec<String>) {
        if !self.config.json_planning || !response.tool_calls.is_empty() {
            return (response.content.clone(), response.tool_calls.clone(), Vec::new());
        }
        let Some(v) = parse_arguments(&response.content).filter(Value::is_object) else {
            return (response.content.clone(), Vec::new(), Vec::new());
        };
        // Small models write {"name": …, "arguments": …} for a call too.
        let tool = v.get("tool").or_else(|| v.get("name").filter(|_| v.get("arguments").is_some())).and_then(Value::as_str);
        if let Some(name) = tool {
            self.json_calls += 1;
            let arguments = v.get("arguments").cloned().unwrap_or_else(|| json!({}));
            let arguments = match arguments {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let call = ToolCall { id: format!("json_{}", self.json_calls), name: name.to_string(), arguments };
            return (String::new(), vec![call], Vec::new());
        }
        let answer = v.get("answer").and_then(Value::as_str).unwrap_or_default().to_string();
        let ids = v
            .get("items")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string).or_else(|| x.as_u64().map(|n| n.to_string()))).collect())
            .unwrap_or_default();
        (answer, Vec::new(), ids)
    }

}
