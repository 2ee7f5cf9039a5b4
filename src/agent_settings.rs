//! The agent's settings as JS gives them (`setLlm`, `setInPageLlm`, the
//! `budgets` option), read through JSON with unknown keys rejected.

use serde::Deserialize;

use super::agent_engine::SharedEngine;
use recagent_core::agent::llm::{EngineConfig, LlmConfig, ToolMode};

/// `LlmSettings` as JS gives it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LlmSettings {
    pub(crate) endpoint: String,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default)]
    pub(crate) api_key: Option<String>,
    #[serde(default)]
    pub(crate) tool_mode: Option<ToolMode>,
    #[serde(default)]
    pub(crate) stream: Option<bool>,
    #[serde(default)]
    pub(crate) timeout_ms: Option<u32>,
    #[serde(default)]
    pub(crate) max_retries: Option<u32>,
    #[serde(default)]
    pub(crate) max_response_bytes: Option<u32>,
}

/// `InPageLlmSettings` as JS gives it, without its `engine` (read apart:
/// an object with functions is not JSON).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EngineSettings {
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default)]
    pub(crate) tool_mode: Option<ToolMode>,
    #[serde(default)]
    pub(crate) stream: Option<bool>,
    #[serde(default)]
    pub(crate) timeout_ms: Option<u32>,
}

/// The model the agent may use: an endpoint over `fetch`, or an in-page engine.
#[derive(Clone)]
pub(crate) enum ModelSettings {
    /// An OpenAI-compatible endpoint over `fetch`.
    Endpoint(LlmConfig),
    /// An in-page engine (nothing leaves the page).
    InPage(SharedEngine, EngineConfig),
}

impl ModelSettings {
    /// The tool mode of either model.
    pub(crate) fn tool_mode(&self) -> ToolMode {
        match self {
            ModelSettings::Endpoint(c) => c.tool_mode,
            ModelSettings::InPage(_, c) => c.tool_mode,
        }
    }
}

/// The JS `budgets` option.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BudgetsJs {
    pub(crate) max_steps: Option<u32>,
    pub(crate) max_tool_calls: Option<u32>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) max_wall_ms: Option<f64>,
}
