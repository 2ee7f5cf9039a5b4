//! Interop: the one place where JS values meet the core's types. Errors are
//! converted here once ([`js_error`]: a JS `Error` whose `name` is
//! `"RecagentError"` and whose `code` is [`Error::code`]); options objects
//! are read and checked here.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use recagent_core::error::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERRORS: &'static str = r#"
/** Stable machine-readable codes of {@link RecagentError}. */
export type RecagentErrorCode =
  | "invalid_model"
  | "unsupported_model"
  | "invalid_vocab"
  | "invalid_image"
  | "image_too_large"
  | "invalid_input"
  | "inference_failed"
  | "io_error"
  | "storage_error"
  | "invalid_catalog"
  | "invalid_profile"
  | "unknown_item"
  | "quota_exceeded"
  | "network_error"
  | "timeout"
  | "aborted"
  | "llm_error"
  | "circuit_open"
  | "policy_denied"
  | "worker_failed";

/** Every error recagent throws or rejects with: a JS `Error` with a stable `code`. */
export interface RecagentError extends Error {
  name: "RecagentError";
  code: RecagentErrorCode;
}
"#;

/// Converts a core error into a JS `Error` with `name` and `code` (the one place this happens).
pub(crate) fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("RecagentError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(
        &err,
        &JsValue::from_str("code"),
        &JsValue::from_str(e.code()),
    );
    err.into()
}

/// Whether `value` is an error recagent threw or rejected with: an `Error`
/// whose `name` is `"RecagentError"` and whose `code` is a string. A type
/// guard in TypeScript, so `if (isRecagentError(e)) switch (e.code) { … }`
/// narrows `e`.
#[wasm_bindgen(js_name = isRecagentError, unchecked_return_type = "value is RecagentError")]
pub fn is_recagent_error(#[wasm_bindgen(unchecked_param_type = "unknown")] value: &JsValue) -> bool {
    let Some(err) = value.dyn_ref::<js_sys::Error>() else {
        return false;
    };
    let name_ok = err.name() == "RecagentError";
    let code_ok = js_sys::Reflect::get(err, &JsValue::from_str("code"))
        .map(|code| code.is_string())
        .unwrap_or(false);
    name_ok && code_ok
}

/// Fails with `invalid_input` when the options object has a key the API does
/// not know (a typo would otherwise be silently ignored).
pub(crate) fn reject_unknown_keys(value: &JsValue, what: &str, known: &[&str]) -> Result<(), JsValue> {
    let Some(object) = value.dyn_ref::<js_sys::Object>() else {
        return Err(js_error(Error::InvalidInput(format!(
            "{what} must be an object"
        ))));
    };
    for key in js_sys::Object::keys(object)
        .iter()
        .filter_map(|k| k.as_string())
    {
        if !known.contains(&key.as_str()) {
            return Err(js_error(Error::InvalidInput(format!(
                "{what} has no option {key:?} (known: {})",
                known.join(", ")
            ))));
        }
    }
    Ok(())
}

