//! Interop: the one place where JS values meet the core's types. Errors are
//! converted here once ([`js_error`]: a JS `Error` whose `name` is
//! `"RecagentError"` and whose `code` is [`Error::code`]; [`invalid`] for
//! bad input); options objects are read and checked here ([`field`],
//! [`read`] and the typed readers, [`reject_unknown_keys`]); a JS value
//! thrown at the binding becomes a message with [`describe`]. It is the
//! binding's bottom layer: it uses no other module of the binding (the
//! download options, built from these readers, are in `loader`).

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
  | "worker_failed"
  | "invalid_policy"
  | "response_too_large"
  | "resource_limit"
  | "engine_error";

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

/// A settled Promise: resolved with the value, or rejected with the error.
/// Methods that compute on the calling thread return it, so the main
/// thread's API is the worker's (`RecommenderWorker`): every call that can
/// take time is awaited, and errors arrive as rejections, never throws.
pub(crate) fn settle<T: Into<JsValue>>(result: std::result::Result<T, JsValue>) -> js_sys::Promise {
    match result {
        Ok(value) => js_sys::Promise::resolve(&value.into()),
        Err(error) => js_sys::Promise::reject(&error),
    }
}

/// What an operation that `signal` cancels rejects with: once the signal
/// has fired, its `reason` (an `AbortError` `DOMException` unless the app
/// gave another), as the platform's own APIs do; otherwise `error`.
pub(crate) fn abort_reason(signal: Option<&web_sys::AbortSignal>, error: JsValue) -> JsValue {
    match signal {
        Some(signal) if signal.aborted() => signal.reason(),
        _ => error,
    }
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
        return Err(invalid(format!("{what} must be an object")));
    };
    for key in js_sys::Object::keys(object)
        .iter()
        .filter_map(|k| k.as_string())
    {
        if !known.contains(&key.as_str()) {
            return Err(invalid(format!(
                "{what} has no option {key:?} (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// An `invalid_input` `RecagentError` with this message (through [`js_error`]).
pub(crate) fn invalid(message: impl Into<String>) -> JsValue {
    js_error(Error::InvalidInput(message.into()))
}

/// `value` as a plain JS value (objects, not `Map`s), for code that reports
/// core errors; fails with `invalid_input` only for a value JSON cannot hold.
pub(crate) fn to_js_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, Error> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::InvalidInput(format!("internal: cannot convert a result to JS: {e}")))
}

/// [`to_js_value`] with its error as a `RecagentError`: what results
/// returned to JS go through.
pub(crate) fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    to_js_value(value).map_err(js_error)
}

/// `name: message` of a thrown JS value: an `Error` or `DOMException` (or
/// anything with string `name` and `message`), else the string itself, else
/// its debug form. Never fails.
pub(crate) fn describe(e: &JsValue) -> String {
    let text = |k: &str| {
        js_sys::Reflect::get(e, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
    };
    match (text("name"), text("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        _ => e.as_string().unwrap_or_else(|| format!("{e:?}")),
    }
}

/// `value[key]` when present (neither `undefined` nor `null`); a read that
/// throws (a throwing getter, a `Proxy`, a non-object `value`) counts as
/// absent. For lookups whose value is checked afterwards; the typed readers
/// below use the stricter [`read`].
pub(crate) fn field(value: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(value, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// `value[key]` when present (neither `undefined` nor `null`); fails with
/// `invalid_input` ("cannot read {what}.{key}") when reading it throws.
pub(crate) fn read(value: &JsValue, what: &str, key: &str) -> Result<Option<JsValue>, JsValue> {
    let v = js_sys::Reflect::get(value, &JsValue::from_str(key))
        .map_err(|e| invalid(format!("cannot read {what}.{key}: {}", describe(&e))))?;
    Ok(Some(v).filter(|v| !v.is_undefined() && !v.is_null()))
}

/// `value[key]` as a string when present; `invalid_input`
/// ("{what}.{key} must be a string") for any other type.
pub(crate) fn string_field(value: &JsValue, what: &str, key: &str) -> Result<Option<String>, JsValue> {
    read(value, what, key)?
        .map(|v| v.as_string().ok_or_else(|| invalid(format!("{what}.{key} must be a string"))))
        .transpose()
}

/// `value[key]` as a boolean when present; `invalid_input`
/// ("{what}.{key} must be a boolean") for any other type.
pub(crate) fn bool_field(value: &JsValue, what: &str, key: &str) -> Result<Option<bool>, JsValue> {
    read(value, what, key)?
        .map(|v| v.as_bool().ok_or_else(|| invalid(format!("{what}.{key} must be a boolean"))))
        .transpose()
}

/// `value[key]` as a function when present; `invalid_input`
/// ("{what}.{key} must be a function") for any other type.
pub(crate) fn function_field(value: &JsValue, what: &str, key: &str) -> Result<Option<js_sys::Function>, JsValue> {
    read(value, what, key)?
        .map(|v| v.dyn_into().map_err(|_| invalid(format!("{what}.{key} must be a function"))))
        .transpose()
}

/// `value[key]` as an `AbortSignal` when present; `invalid_input`
/// ("{what}.{key} must be an AbortSignal") for any other type.
pub(crate) fn signal_field(value: &JsValue, what: &str, key: &str) -> Result<Option<web_sys::AbortSignal>, JsValue> {
    read(value, what, key)?
        .map(|v| v.dyn_into().map_err(|_| invalid(format!("{what}.{key} must be an AbortSignal"))))
        .transpose()
}

/// A value a JS callee (an in-page engine) threw or rejected with, as the
/// core's error — the one place a JS error becomes a core error, as
/// [`js_error`] is the one place the reverse happens. A `RecagentError` whose
/// code is `aborted` or `timeout` keeps it; an `AbortError` (the DOM's, or
/// wllama's `WllamaAbortError`) is `aborted`; anything else is `llm_error`
/// with `"{context}: {name}: {message}"`, so the agent answers on the
/// device with that fallback.
pub(crate) fn error_from_js(e: &JsValue, context: &str) -> Error {
    let text = |k: &str| js_sys::Reflect::get(e, &JsValue::from_str(k)).ok().and_then(|v| v.as_string());
    let message = text("message").unwrap_or_else(|| describe(e));
    match (text("name").as_deref(), text("code").as_deref()) {
        (Some("RecagentError"), Some("aborted")) => Error::Aborted(message.trim_start_matches("aborted: ").to_string()),
        (Some("RecagentError"), Some("timeout")) => Error::Timeout(message.trim_start_matches("timed out: ").to_string()),
        (Some("AbortError" | "WllamaAbortError"), _) => Error::Aborted(format!("{context}: {message}")),
        _ => Error::Llm(format!("{context}: {}", describe(e))),
    }
}
