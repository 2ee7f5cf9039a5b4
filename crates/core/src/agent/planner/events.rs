//! The planner's vocabulary: its configuration and context, the events it
//! handles and the actions it asks the driver to perform.

use serde_json::Value;

use crate::agent::answer::{AgentAnswer, TraceStep};
use crate::agent::llm::{ChatRequest, ChatResponse};
use crate::agent::outbound::OutboundMessage;
use crate::agent::policy::ShareLevel;
use crate::agent::tools::{ToolDef, ToolOutput};
use crate::intent::Intent;

/// Limits and settings of one `ask`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerConfig {
    /// 0..=3 (see the module docs); higher values count as 3.
    pub autonomy: u8,
    /// Most model calls (default 8).
    pub max_steps: u32,
    /// Most executed tool calls, the device ranking not counted (default 6).
    pub max_tool_calls: u32,
    /// Most tokens over all model calls (usage, or bytes / 4 when the
    /// server gives none; default 4000).
    pub max_tokens: u32,
    /// Most wall time for the whole ask (default 45 000 ms).
    pub max_wall_ms: f64,
    /// What the policy allows for this endpoint.
    pub share: ShareLevel,
    /// Whether a model endpoint exists at all.
    pub has_model: bool,
    /// JSON planning mode (no native tool calls; a JSON answer schema).
    pub json_planning: bool,
    /// How many items the device ranking returns (default 10).
    pub device_k: usize,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        Self {
            autonomy: 2,
            max_steps: 8,
            max_tool_calls: 6,
            max_tokens: 4000,
            max_wall_ms: 45_000.0,
            share: ShareLevel::PublicItems,
            has_model: true,
            json_planning: false,
            device_k: 10,
        }
    }
}

/// What the planner knows besides the request: earlier turns, the tool
/// registry (built-in and app tools) and the preference summary.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlannerContext {
    /// Earlier turns of the conversation, each part with the class it had
    /// when it was made (the user's words; answers with what their model saw).
    pub history: Vec<OutboundMessage>,
    /// Every tool that exists; which are offered depends on the autonomy.
    pub registry: Vec<ToolDef>,
    /// A summary of the user's preferences (sent only at `preference_summary` and up).
    pub preferences: Option<String>,
    /// The query of the device ranking, when it is not the request itself
    /// (e.g. the request a clarifying question was about, plus its answer).
    pub device_query: Option<String>,
    /// The device's reading of the request; its constraints bind every
    /// ranking (the device's, every `recommend`/`search_catalog` the model
    /// calls, the fallback).
    pub intent: Option<Intent>,
    /// The JSON schema and instructions for the model's intent proposal
    /// (autonomy ≥ 1); `None` skips the proposal.
    pub extraction: Option<(Value, String)>,
}

/// Something that happened; every event carries the time.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannerEvent {
    /// Begin.
    Start {
        /// Now (ms).
        now_ms: f64,
    },
    /// The model answered the last `CallModel`.
    ModelAnswered {
        /// Now (ms).
        now_ms: f64,
        /// The answer.
        response: ChatResponse,
    },
    /// The model call failed (after the client's retries).
    ModelFailed {
        /// Now (ms).
        now_ms: f64,
        /// The error code ([`crate::Error::code`]).
        code: String,
        /// The error message.
        message: String,
    },
    /// A tool call finished.
    ToolDone {
        /// Now (ms).
        now_ms: f64,
        /// The call's id.
        call_id: String,
        /// What it returned.
        output: ToolOutput,
    },
    /// A tool call failed.
    ToolFailed {
        /// Now (ms).
        now_ms: f64,
        /// The call's id.
        call_id: String,
        /// The error code.
        code: String,
        /// The error message.
        message: String,
    },
    /// The driver merged the model's intent proposal (`MergeIntent`).
    IntentMerged {
        /// Now (ms).
        now_ms: f64,
        /// The merged intent.
        intent: Intent,
        /// What of the proposal was refused, and why.
        refused: Vec<String>,
    },
    /// The app's answer to a `RequestApproval`.
    Approval {
        /// Now (ms).
        now_ms: f64,
        /// The call's id.
        call_id: String,
        /// Whether the call may run.
        granted: bool,
    },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannerAction {
    /// Send this request to the model; answer with `ModelAnswered`/`ModelFailed`.
    CallModel(ChatRequest),
    /// Run a tool; answer with `ToolDone`/`ToolFailed`.
    CallTool {
        /// The call's id.
        call_id: String,
        /// The tool.
        name: String,
        /// Validated arguments.
        args: Value,
    },
    /// Ask the app whether a side-effecting call may run; answer with `Approval`.
    RequestApproval {
        /// The call's id.
        call_id: String,
        /// The tool.
        name: String,
        /// Validated arguments.
        args: Value,
    },
    /// Check the model's intent proposal against the catalog and merge it
    /// into the device's intent; answer with `IntentMerged`.
    MergeIntent {
        /// The proposal (a JSON object).
        proposal: Value,
    },
    /// A trace step to show.
    Step(TraceStep),
    /// The answer; the planner is done.
    Finish(AgentAnswer),
}

