//! The browser's [`Http`]: the global `fetch` (a window or a worker), the
//! body streamed through a `ReadableStreamDefaultReader` in chunks of at
//! most 64 KiB, one `AbortController` per request.
//!
//! The controller is aborted when the request's `timeout_ms` runs out
//! ([`Error::Timeout`], body included), when the app's `AbortSignal` fires
//! ([`Error::Aborted`]), and when the future or the body stream is dropped
//! (nothing is left running). A rejected `fetch` without either (a
//! `TypeError`: refused, DNS, CORS) is [`Error::Network`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, Headers, ReadableStreamDefaultReader, RequestInit, Response,
};

pub use super::time::{JsClock, JsSleeper};
use super::interop::describe;
use recagent_core::error::{Error, Result};
use recagent_core::platform::{ByteStream, Http, HttpRequest, HttpStreamingResponse, LocalBoxFuture};

/// [`Http`] over the global `fetch`.
///
/// Promises: `timeout_ms` bounds the whole exchange, body included
/// ([`Error::Timeout`]); the app's signal ([`FetchHttp::with_signal`])
/// aborts the request in flight ([`Error::Aborted`], also at once when it
/// has already fired); no response (refused, DNS, CORS) is
/// [`Error::Network`]; every HTTP status is a response; header names are
/// lower case (only the headers CORS exposes are visible); the body comes in
/// chunks of at most 64 KiB, copied into wasm memory only as they are
/// pulled; dropping the future or the body stream aborts the fetch (the
/// reader is cancelled with it).
#[derive(Debug, Default)]
pub struct FetchHttp {
    signal: RefCell<Option<AbortSignal>>,
}

impl FetchHttp {
    /// A client without an app signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// A client whose requests `signal` aborts.
    pub fn with_signal(signal: AbortSignal) -> Self {
        Self {
            signal: RefCell::new(Some(signal)),
        }
    }

    /// Sets (or with `None` removes) the app signal for requests sent from
    /// now on.
    pub fn set_signal(&self, signal: Option<AbortSignal>) {
        *self.signal.borrow_mut() = signal;
    }
}

impl Http for FetchHttp {
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        let signal = self.signal.borrow().clone();
        Box::pin(start(request, signal))
    }
}

/// Why the controller was aborted by us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Running,
    TimedOut,
    AppAborted,
    Finished,
}

/// Owns one request's controller, timer and signal listener. Dropping it
/// clears the timer, removes the listener and, unless the body was read to
/// the end, aborts the fetch.
struct AbortGuard {
    controller: AbortController,
    cause: Rc<Cell<Cause>>,
    timer: Option<JsValue>,
    _on_timeout: Option<Closure<dyn FnMut()>>,
    app: Option<(AbortSignal, Closure<dyn FnMut()>)>,
    url: String,
    timeout_ms: u32,
}

impl AbortGuard {
    fn new(url: &str, timeout_ms: u32, app_signal: Option<AbortSignal>) -> Result<Self> {
        let controller = AbortController::new().map_err(|e| {
            Error::Network(format!("AbortController unavailable: {}", describe(&e)))
        })?;
        let cause = Rc::new(Cell::new(Cause::Running));
        let mut guard = Self {
            controller,
            cause,
            timer: None,
            _on_timeout: None,
            app: None,
            url: url.to_string(),
            timeout_ms,
        };
        if let Some(signal) = app_signal {
            if signal.aborted() {
                guard.cause.set(Cause::AppAborted);
                return Err(guard.error_for_cause(Cause::AppAborted));
            }
            let on_abort = aborter(&guard.controller, &guard.cause, Cause::AppAborted);
            // If adding the listener fails, the request simply is not tied to
            // the signal; there is nothing better to do.
            let _ =
                signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            guard.app = Some((signal, on_abort));
        }
        let on_timeout = aborter(&guard.controller, &guard.cause, Cause::TimedOut);
        guard.timer = global_call(
            "setTimeout",
            &[on_timeout.as_ref().clone(), JsValue::from(timeout_ms)],
        );
        guard._on_timeout = Some(on_timeout);
        Ok(guard)
    }

    fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    fn error_for_cause(&self, cause: Cause) -> Error {
        match cause {
            Cause::TimedOut => Error::Timeout(format!(
                "{}: no complete answer within {} ms",
                self.url, self.timeout_ms
            )),
            Cause::AppAborted => Error::Aborted(format!("{}: cancelled by the app", self.url)),
            Cause::Running | Cause::Finished => {
                Error::Network(format!("{}: request aborted", self.url))
            }
        }
    }

    /// The error for a rejection of `fetch` or of a body read.
    fn error_of(&self, e: &JsValue, during: &str) -> Error {
        match self.cause.get() {
            cause @ (Cause::TimedOut | Cause::AppAborted) => self.error_for_cause(cause),
            Cause::Running | Cause::Finished => {
                Error::Network(format!("{}: {during}: {}", self.url, describe(e)))
            }
        }
    }

    fn finish(&self) {
        self.cause.set(Cause::Finished);
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            global_call("clearTimeout", &[timer]);
        }
        if let Some((signal, on_abort)) = self.app.take() {
            let _ = signal
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
        if self.cause.get() == Cause::Running {
            self.controller.abort();
        }
    }
}

/// A callback that records `why` and aborts `controller` (if nothing else did first).
fn aborter(
    controller: &AbortController,
    cause: &Rc<Cell<Cause>>,
    why: Cause,
) -> Closure<dyn FnMut()> {
    let (controller, cause) = (controller.clone(), cause.clone());
    Closure::wrap(Box::new(move || {
        if cause.get() == Cause::Running {
            cause.set(why);
            controller.abort();
        }
    }) as Box<dyn FnMut()>)
}

/// Calls the global function `name` (`setTimeout`, `fetch`, …) of the window
/// or worker; `None` when it is missing or throws.
fn global_call(name: &str, args: &[JsValue]) -> Option<JsValue> {
    let global = js_sys::global();
    let f = js_sys::Reflect::get(&global, &JsValue::from_str(name)).ok()?;
    let f = f.dyn_ref::<js_sys::Function>()?;
    f.apply(&global, &args.iter().collect::<js_sys::Array>())
        .ok()
}

fn build_init(request: &HttpRequest, signal: &AbortSignal) -> Result<RequestInit> {
    let headers = Headers::new().map_err(|e| Error::InvalidInput(describe(&e)))?;
    for (name, value) in &request.headers {
        headers
            .append(name, value)
            .map_err(|e| Error::InvalidInput(format!("header {name:?}: {}", describe(&e))))?;
    }
    let init = RequestInit::new();
    init.set_method(&request.method);
    init.set_headers(&headers);
    if !request.body.is_empty() {
        init.set_body(&js_sys::Uint8Array::from(request.body.as_slice()));
    }
    init.set_signal(Some(signal));
    Ok(init)
}

async fn start(
    request: HttpRequest,
    app_signal: Option<AbortSignal>,
) -> Result<HttpStreamingResponse> {
    let guard = AbortGuard::new(&request.url, request.timeout_ms, app_signal)?;
    let init = build_init(&request, &guard.signal())?;
    let promise = global_call("fetch", &[JsValue::from_str(&request.url), init.into()])
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        .ok_or_else(|| Error::Network("fetch is unavailable here".into()))?;
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|e| guard.error_of(&e, "fetch failed"))?
        .dyn_into()
        .map_err(|_| Error::Network("fetch did not resolve to a Response".into()))?;
    let status = response.status();
    let headers = read_headers(&response.headers());
    let body: ByteStream = match response.body() {
        None => {
            guard.finish();
            Box::pin(futures::stream::empty())
        }
        Some(stream) => {
            let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
            body_stream(reader, guard)
        }
    };
    Ok(HttpStreamingResponse {
        status,
        headers,
        body,
    })
}

/// Every `(name, value)` of `headers`, names lower-cased.
fn read_headers(headers: &Headers) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(Some(entries)) = js_sys::try_iter(headers) else {
        return out;
    };
    for entry in entries.flatten() {
        let pair = js_sys::Array::from(&entry);
        if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            out.push((name.to_ascii_lowercase(), value));
        }
    }
    out
}

/// The largest chunk the body stream hands to the core, in bytes: a bigger
/// `reader.read()` result is handed over in slices of this size (copied
/// into wasm memory one at a time), so a reader that stops after a size cap
/// has copied at most the cap plus this much.
const MAX_CHUNK_BYTES: u32 = 64 * 1024;

/// A body being read: the reader, the request's guard, and the part of the
/// last `read()` result not handed over yet (the array and where it resumes).
struct BodyState {
    reader: ReadableStreamDefaultReader,
    guard: AbortGuard,
    pending: Option<(js_sys::Uint8Array, u32)>,
}

impl BodyState {
    /// The next slice (at most [`MAX_CHUNK_BYTES`]) of the pending array, if any.
    fn next_slice(&mut self) -> Option<Vec<u8>> {
        let (array, offset) = self.pending.take()?;
        let length = array.length();
        let end = offset.saturating_add(MAX_CHUNK_BYTES).min(length);
        let bytes = array.subarray(offset, end).to_vec();
        if end < length {
            self.pending = Some((array, end));
        }
        Some(bytes)
    }
}

/// The body, in chunks of at most [`MAX_CHUNK_BYTES`] (one `reader.read()`
/// result, or a slice of a bigger one); the guard lives as long as the
/// stream, so dropping the stream early (a reader past its size cap, a
/// timeout) aborts the fetch and cancels the reader.
fn body_stream(reader: ReadableStreamDefaultReader, guard: AbortGuard) -> ByteStream {
    let state = Some(BodyState {
        reader,
        guard,
        pending: None,
    });
    Box::pin(futures::stream::unfold(state, |state| async move {
        let mut state = state?;
        if let Some(bytes) = state.next_slice() {
            return Some((Ok(bytes), Some(state)));
        }
        match JsFuture::from(state.reader.read()).await {
            Err(e) => {
                let error = state.guard.error_of(&e, "response body");
                Some((Err(error), None))
            }
            Ok(result) => {
                let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))
                    .ok()
                    .and_then(|d| d.as_bool())
                    .unwrap_or(true);
                if done {
                    state.guard.finish();
                    return None;
                }
                let value = js_sys::Reflect::get(&result, &JsValue::from_str("value"))
                    .unwrap_or(JsValue::UNDEFINED);
                state.pending = value
                    .dyn_into::<js_sys::Uint8Array>()
                    .ok()
                    .map(|array| (array, 0));
                let bytes = state.next_slice().unwrap_or_default();
                Some((Ok(bytes), Some(state)))
            }
        }
    }))
}
