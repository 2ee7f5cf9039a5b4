//! What an `ask` returns: the answer, its items, the trace of every step,
//! and why the on-device answer was used when it was.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tools::AnswerItem;
use crate::intent::Intent;

/// Why the agent answered with the on-device ranking instead of the model's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fallback {
    /// Stable code: `budget_steps`, `budget_tool_calls`, `budget_tokens`,
    /// `budget_time`, `llm_error`, `timeout`, `circuit_open`, `aborted`,
    /// `network_error`, `response_too_large`, `policy`, `no_endpoint`, `empty_answer`.
    pub code: String,
    /// A sentence for people.
    pub reason: String,
}

/// What a trace step was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A model call.
    Model,
    /// A tool call (executed or refused).
    Tool,
    /// An approval asked of the app.
    Approval,
    /// The request read into an intent (on the device, or merged with the model's proposal).
    Understand,
    /// The switch to the on-device answer.
    Fallback,
    /// The final answer.
    Final,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Done.
    Ok,
    /// Refused (unknown tool, invalid arguments, not allowed, not approved); never executed.
    Rejected,
    /// Tried and failed.
    Failed,
}

/// One step of the trace the app can show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceStep {
    /// 0, 1, … in order.
    pub index: usize,
    /// What it was.
    pub kind: StepKind,
    /// The model's text before its tool calls, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<String>,
    /// The tool's name (as the model wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The arguments (as parsed, or the raw text when not JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// How it ended.
    pub status: StepStatus,
    /// Why it was rejected or failed, or why the fallback happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A one-line summary of the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_summary: Option<String>,
    /// When it started (ms since the epoch, by the agent's clock).
    pub started_ms: f64,
    /// How long it took.
    pub duration_ms: f64,
}

/// The answer to one `ask`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentAnswer {
    /// Text for the user.
    pub answer: String,
    /// The recommended items, best first.
    pub items: Vec<AnswerItem>,
    /// Every step.
    pub trace: Vec<TraceStep>,
    /// A clarifying question for the user (`ask_user`); the next message answers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Set when the on-device answer was used instead of the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// The autonomy level the answer was made at.
    pub autonomy: u8,
    /// What the request was read as; its constraints bound every ranking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// Why the text shown is the device's and not the model's (the model's
    /// was a tool call, JSON, a bare tool name, or named items not in the
    /// list), when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_replaced: Option<String>,
}

/// The items of `known` that `text` mentions (by id as a whole word, or by
/// title, with or without its trailing `(year)`), in order of first mention.
pub fn mentioned_items(text: &str, known: &[AnswerItem]) -> Vec<AnswerItem> {
    let lower = text.to_lowercase();
    let mut found: Vec<(usize, &AnswerItem)> = Vec::new();
    for item in known {
        if found.iter().any(|(_, f)| f.id == item.id) {
            continue;
        }
        let title = item.title.to_lowercase();
        let short = title.split(" (").next().unwrap_or(&title).trim().to_string();
        let by_id = word_position(&lower, &item.id.to_lowercase());
        let by_title = [title.as_str(), short.as_str()]
            .iter()
            .filter(|t| t.chars().count() >= 3)
            .filter_map(|t| lower.find(*t))
            .min();
        if let Some(pos) = [by_id, by_title].into_iter().flatten().min() {
            found.push((pos, item));
        }
    }
    found.sort_by_key(|(pos, _)| *pos);
    found.into_iter().map(|(_, item)| item.clone()).collect()
}

fn word_position(text: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(rel) = text.get(from..).and_then(|t| t.find(word)) {
        let pos = from + rel;
        let before = text[..pos].chars().next_back();
        let after = text[pos + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if boundary(before) && boundary(after) {
            return Some(pos);
        }
        from = pos + word.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, title: &str) -> AnswerItem {
        AnswerItem { id: id.into(), title: title.into(), score: None, reason: None }
    }

    #[test]
    fn mentions_by_id_and_title_in_order() {
        let known = [item("50", "Star Wars (1977)"), item("1", "Toy Story (1995)"), item("181", "Return of the Jedi (1983)")];
        let got = mentioned_items("Try toy story, then 181; also 150 and 5.", &known);
        assert_eq!(got.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["1", "181"]);
        assert!(mentioned_items("nothing here", &known).is_empty());
        assert_eq!(mentioned_items("ids: 50, 1", &known).len(), 2);
    }
}
