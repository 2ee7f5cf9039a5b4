//! The agent's tools and approvals as JS gives them: [`JsToolHost`] (the
//! built-in tools plus the app's `registerTool` functions) and
//! [`JsApprover`] (the app's `approve` callback).

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::interop::{describe, to_js_value};
use recagent_core::agent::{ApprovalRequest, Approver, DataClass, LocalTools, ToolHost, ToolOutput};
use recagent_core::error::{Error, Result};
use recagent_core::platform::LocalBoxFuture;

/// The built-in tools plus the app's JS tools.
pub(crate) struct JsToolHost {
    /// The built-in tools over the recommender (and its engine, if any).
    pub(crate) local: LocalTools,
    /// The app's tools: name, the class of what they return, the function.
    pub(crate) app: Vec<(String, DataClass, js_sys::Function)>,
}

impl ToolHost for JsToolHost {
    fn call(&self, name: &str, args: Value) -> LocalBoxFuture<'_, Result<ToolOutput>> {
        let Some((tool, class, run)) = self.app.iter().find(|(n, _, _)| n == name).cloned() else {
            return self.local.call(name, args);
        };
        Box::pin(async move {
            let js_args = to_js_value(&args)?;
            let mut result = run
                .call1(&JsValue::NULL, &js_args)
                .map_err(|e| Error::InvalidInput(format!("tool {tool} threw: {}", describe(&e))))?;
            if let Some(promise) = result.dyn_ref::<js_sys::Promise>() {
                result = JsFuture::from(promise.clone())
                    .await
                    .map_err(|e| Error::InvalidInput(format!("tool {tool} rejected: {}", describe(&e))))?;
            }
            let value: Value = if result.is_undefined() {
                Value::Null
            } else {
                serde_wasm_bindgen::from_value(result)
                    .map_err(|e| Error::InvalidInput(format!("tool {tool} returned a value that is not JSON: {e}")))?
            };
            let summary = format!("{tool} returned {} bytes", value.to_string().len());
            Ok(ToolOutput {
                value,
                class,
                details: Vec::new(),
                items: Vec::new(),
                summary,
            })
        })
    }

    fn preference_summary(&self) -> Option<String> {
        self.local.preference_summary()
    }

    fn is_personal_item(&self, id: &str) -> bool {
        self.local.is_personal_item(id)
    }

    fn understand(&self, request: &str) -> Option<recagent_core::intent::Intent> {
        self.local.understand(request)
    }

    fn intent_schema(&self) -> Option<(Value, String)> {
        self.local.intent_schema()
    }

    fn merge_intent(&self, device: &recagent_core::intent::Intent, request: &str, proposal: &Value) -> Option<(recagent_core::intent::Intent, Vec<String>)> {
        self.local.merge_intent(device, request, proposal)
    }

    fn ungrounded(&self, text: &str, items: &[recagent_core::agent::AnswerItem]) -> Vec<String> {
        self.local.ungrounded(text, items)
    }
}

/// The app's `approve` callback.
pub(crate) struct JsApprover(pub(crate) js_sys::Function);

impl Approver for JsApprover {
    fn approve(&self, request: &ApprovalRequest) -> LocalBoxFuture<'_, bool> {
        let request = to_js_value(request);
        Box::pin(async move {
            let Ok(request) = request else { return false };
            let Ok(mut answer) = self.0.call1(&JsValue::NULL, &request) else { return false };
            if let Some(promise) = answer.dyn_ref::<js_sys::Promise>() {
                match JsFuture::from(promise.clone()).await {
                    Ok(v) => answer = v,
                    Err(_) => return false,
                }
            }
            // Only a real `true` approves.
            answer.as_bool() == Some(true)
        })
    }
}
