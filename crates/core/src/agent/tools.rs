//! Tools: their definitions (schema, side effects, the data class of their
//! results), the host that runs them, and the local tools over the
//! on-device recommender and memory ([`local`]).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::policy::DataClass;
use crate::agent::llm::ToolSpec;
use crate::error::{Error, Result};
use crate::intent::Intent;
use crate::platform::LocalBoxFuture;

/// Where a tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolSource {
    /// Built into recagent (runs on the device).
    Local,
    /// Registered by the app.
    App,
}

/// A tool the planner may offer: its spec for the model, whether it has
/// side effects (then it needs autonomy 3 and approval), and the data class
/// of what it returns.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    /// Name, description and argument schema.
    pub spec: ToolSpec,
    /// Whether calling it changes anything (memory, purchases, …).
    pub side_effects: bool,
    /// The data class of its results (at least; a result may say more).
    pub result_class: DataClass,
    /// Who implements it.
    pub source: ToolSource,
}

/// An app tool as the app registers it (JSON, camelCase).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppToolRegistration {
    /// Name (`[a-zA-Z0-9_-]{1,64}`, not a built-in tool's name).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of its arguments (an object schema).
    pub parameters: Value,
    /// Whether it has side effects (default false).
    #[serde(default)]
    pub side_effects: bool,
    /// The class of its results and of its errors (default `public_item`;
    /// `request_text` is refused: a tool's output is data).
    #[serde(default = "public_item")]
    pub result_class: DataClass,
}

fn public_item() -> DataClass {
    DataClass::PublicItem
}

impl ToolDef {
    /// Checks an app registration: a valid name, not a built-in one, an
    /// object schema.
    pub fn app(reg: AppToolRegistration) -> Result<Self> {
        let name_ok = !reg.name.is_empty()
            && reg.name.len() <= 64
            && reg.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(Error::InvalidInput(format!("tool name {:?} must be 1-64 of [a-zA-Z0-9_-]", reg.name)));
        }
        if builtin_tools().iter().any(|t| t.spec.name == reg.name) {
            return Err(Error::InvalidInput(format!("tool name {:?} is a built-in tool", reg.name)));
        }
        if reg.result_class == DataClass::RequestText {
            return Err(Error::InvalidInput(format!(
                "tool {:?}: a tool's results are data, never request text: resultClass must be public_items, preference_summary or full_memory",
                reg.name
            )));
        }
        if reg.parameters.get("type").and_then(Value::as_str) != Some("object") {
            return Err(Error::InvalidInput(format!("tool {:?}: parameters must be an object schema", reg.name)));
        }
        Ok(Self {
            spec: ToolSpec { name: reg.name, description: reg.description, parameters: reg.parameters },
            side_effects: reg.side_effects,
            result_class: reg.result_class,
            source: ToolSource::App,
        })
    }
}

fn local(name: &str, description: &str, parameters: Value, side_effects: bool, result_class: DataClass) -> ToolDef {
    ToolDef {
        spec: ToolSpec { name: name.into(), description: description.into(), parameters },
        side_effects,
        result_class,
        source: ToolSource::Local,
    }
}

/// The built-in tools with their schemas.
pub fn builtin_tools() -> Vec<ToolDef> {
    let filters = json!({"type": "object", "description": "Filters: {\"where\": [{\"attribute\": NAME, \"has\"|\"not\"|\"equals\"|\"oneOf\"|\"min\"|\"max\": …}], \"excludeIds\": [ids]}"});
    vec![
        local(
            "search_catalog",
            "Searches the catalog by meaning for a text query (not personalized).",
            json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500}, "filters": filters, "k": {"type": "integer", "minimum": 1, "maximum": 50}}, "required": ["query"], "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
        local(
            "recommend",
            "Ranks items for this user on the device (profile + optional query).",
            json!({"type": "object", "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 50}, "query": {"type": "string", "maxLength": 500}, "filters": filters, "diversity": {"type": "number", "minimum": 0, "maximum": 1}}, "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
        local(
            "get_item",
            "The public details of one catalog item.",
            json!({"type": "object", "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 200}}, "required": ["id"], "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
        local(
            "recall_memory",
            "Recalls what the user told the app before (facts, preferences).",
            json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500}, "k": {"type": "integer", "minimum": 1, "maximum": 20}}, "required": ["query"], "additionalProperties": false}),
            false,
            DataClass::Memory,
        ),
        local(
            "remember",
            "Stores a fact the user stated, in the user's long-term memory.",
            json!({"type": "object", "properties": {"fact": {"type": "string", "minLength": 1, "maxLength": 500}}, "required": ["fact"], "additionalProperties": false}),
            true,
            DataClass::Memory,
        ),
        local(
            "ask_user",
            "Asks the user a clarifying question (ends this turn).",
            json!({"type": "object", "properties": {"question": {"type": "string", "minLength": 1, "maxLength": 500}}, "required": ["question"], "additionalProperties": false}),
            false,
            DataClass::RequestText,
        ),
        local(
            "explain",
            "Explains why an item suits this user.",
            json!({"type": "object", "properties": {"item": {"type": "string", "minLength": 1, "maxLength": 200}}, "required": ["item"], "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
    ]
}

/// One item of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerItem {
    /// Catalog id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Ranking score, when the device ranked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Why it is here (shown on the device only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The result, as sent to the model (if its class allows).
    pub value: Value,
    /// The data class of `value`.
    pub class: DataClass,
    /// Further pieces of a higher class (e.g. reasons citing the user's
    /// history), each sent only where its class allows.
    pub details: Vec<(DataClass, Value)>,
    /// The catalog items it returned, in order.
    pub items: Vec<AnswerItem>,
    /// One line for the trace.
    pub summary: String,
}

/// Runs tools by name. The planner only ever asks for tools it offered,
/// with validated arguments.
pub trait ToolHost {
    /// Runs tool `name` with `args`.
    fn call(&self, name: &str, args: Value) -> LocalBoxFuture<'_, Result<ToolOutput>>;
    /// A short summary of the user's stated preferences (data class
    /// `Preferences`), if the host knows one.
    fn preference_summary(&self) -> Option<String> {
        None
    }
    /// Whether item `id` is the user's own (added at run time): personal
    /// data, class `Memory`, never a public item.
    fn is_personal_item(&self, _id: &str) -> bool {
        false
    }
    /// The device's reading of a request ([`crate::intent`]), if the host
    /// can read one.
    fn understand(&self, _request: &str) -> Option<Intent> {
        None
    }
    /// The JSON schema and instructions for an LLM's intent proposal.
    fn intent_schema(&self) -> Option<(Value, String)> {
        None
    }
    /// Merges an LLM's intent proposal into the device's intent: the
    /// merged intent and what was refused.
    fn merge_intent(&self, _device: &Intent, _request: &str, _proposal: &Value) -> Option<(Intent, Vec<String>)> {
        None
    }
    /// Catalog titles `text` names that are not among `items`.
    fn ungrounded(&self, _text: &str, _items: &[AnswerItem]) -> Vec<String> {
        Vec::new()
    }
}

/// The argument key under which the planner passes the request's intent
/// to `recommend` and `search_catalog` (never offered to the model: the
/// tools' schemas do not allow it, so a model cannot set or widen it).
pub const INTENT_ARG: &str = "__intent";

pub mod local;

pub use local::LocalTools;

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(v: Value) -> Result<ToolDef> {
        ToolDef::app(serde_json::from_value(v).map_err(|e| Error::InvalidInput(e.to_string()))?)
    }

    #[test]
    fn app_tools_are_checked_at_registration() {
        let params = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let t = reg(json!({"name": "purchase", "description": "Buys.", "parameters": params, "sideEffects": true})).unwrap();
        assert!(t.side_effects && t.source == ToolSource::App && t.result_class == DataClass::PublicItem);
        let t = reg(json!({"name": "notes", "description": "", "parameters": params, "resultClass": "full_memory"})).unwrap();
        assert!(!t.side_effects && t.result_class == DataClass::Memory);
        for bad in [
            json!({"name": "recommend", "description": "", "parameters": params}),
            json!({"name": "has space", "description": "", "parameters": params}),
            json!({"name": "x", "description": "", "parameters": {"type": "string"}}),
            json!({"name": "x", "description": "", "parameters": params, "sideEffect": true}),
            json!({"name": "x", "description": "", "parameters": params, "resultClass": "request_text"}),
        ] {
            assert_eq!(reg(bad).unwrap_err().code(), "invalid_input");
        }
    }

    #[test]
    fn builtin_schemas_are_closed_objects_and_only_remember_has_side_effects() {
        let tools = builtin_tools();
        assert_eq!(tools.len(), 7);
        for t in &tools {
            assert_eq!(t.spec.parameters["type"], "object");
            assert_eq!(t.spec.parameters["additionalProperties"], false);
            assert_eq!(t.side_effects, t.spec.name == "remember", "{}", t.spec.name);
        }
    }
}
