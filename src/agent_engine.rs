//! The in-page engine: a JS object with the `chat.completions.create(request)`
//! shape of WebLLM's `MLCEngine` (and of recagent's own wllama adapter,
//! `createWllamaEngine`), as a core [`ChatEngine`]. The request it gets is
//! the OpenAI-format object the HTTP client would POST (built by the core's
//! `outbound` + `wire`, so the privacy policy applies to what the in-page
//! model sees); its answer — an object, or an async iterable of chunks when
//! the request says `stream: true` — goes back to the core as the bytes an
//! endpoint would have sent, and is parsed by the same reader. Nothing is
//! written to the ledger: no byte leaves the device.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::interop::{error_from_js, invalid, js_error, read};
use recagent_core::agent::llm::ChatEngine;
use recagent_core::error::{Error, Result};
use recagent_core::platform::{ByteStream, LocalBoxFuture};

/// A JS engine object, checked once when `setLlm` receives it.
pub(crate) struct JsEngine {
    /// The engine itself (for `interruptGenerate`).
    engine: JsValue,
    /// `engine.chat.completions` (the `this` of `create`).
    completions: JsValue,
    /// `engine.chat.completions.create`.
    create: js_sys::Function,
    /// The app's `AbortSignal` of the running `ask`.
    signal: RefCell<Option<AbortSignal>>,
}

impl JsEngine {
    /// Reads `engine.chat.completions.create`; `invalid_input` when the
    /// object does not have that shape.
    pub(crate) fn from_js(engine: JsValue) -> Result<Self, JsValue> {
        let shape = || invalid("LlmSettings.engine must be an object with chat.completions.create(request) (WebLLM's MLCEngine, createWllamaEngine, …)");
        if !engine.is_object() {
            return Err(shape());
        }
        let chat = read(&engine, "LlmSettings.engine", "chat")?.ok_or_else(shape)?;
        let completions = read(&chat, "LlmSettings.engine.chat", "completions")?.ok_or_else(shape)?;
        let create = read(&completions, "LlmSettings.engine.chat.completions", "create")?
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(shape)?;
        Ok(Self { engine, completions, create, signal: RefCell::new(None) })
    }

    /// Sets (or with `None` removes) the app signal of the requests that follow.
    pub(crate) fn set_signal(&self, signal: Option<AbortSignal>) {
        *self.signal.borrow_mut() = signal;
    }
}

/// Calls `engine.interruptGenerate()` when the engine has one (WebLLM and
/// the wllama adapter do); errors are ignored.
fn interrupt(engine: &JsValue) {
    if let Ok(f) = js_sys::Reflect::get(engine, &JsValue::from_str("interruptGenerate")) {
        if let Some(f) = f.dyn_ref::<js_sys::Function>() {
            let _ = f.call0(engine);
        }
    }
}

/// A promise that rejects with `aborted` when the app's signal fires; the
/// listener is removed when this is dropped.
struct AbortWatch {
    promise: js_sys::Promise,
    listener: Option<(AbortSignal, Closure<dyn FnMut()>)>,
}

impl AbortWatch {
    fn new(signal: Option<AbortSignal>) -> Result<Option<Self>> {
        let Some(signal) = signal else { return Ok(None) };
        if signal.aborted() {
            return Err(Error::Aborted("the app aborted the ask before the in-page model was asked".into()));
        }
        let mut listener = None;
        let promise = js_sys::Promise::new(&mut |_resolve, reject: js_sys::Function| {
            let on_abort = Closure::<dyn FnMut()>::new(move || {
                let _ = reject.call1(&JsValue::NULL, &js_error(Error::Aborted("the app aborted the in-page model".into())));
            });
            let _ = signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            listener = Some((signal.clone(), on_abort));
        });
        Ok(Some(Self { promise, listener }))
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        // The closure is freed here, after its listener is gone.
        if let Some((signal, on_abort)) = self.listener.take() {
            let _ = signal.remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
    }
}

/// Awaits `value` (a promise or a plain value) unless the app aborts first;
/// a rejection becomes the project's error ([`error_from_js`]) and an abort
/// also interrupts the engine.
async fn settle(value: JsValue, watch: Option<&AbortWatch>, engine: &JsValue) -> Result<JsValue> {
    let promise = js_sys::Promise::resolve(&value);
    let promise = match watch {
        Some(w) => js_sys::Promise::race(&js_sys::Array::of2(&promise, &w.promise)),
        None => promise,
    };
    JsFuture::from(promise).await.map_err(|e| {
        let error = error_from_js(&e, "the in-page engine");
        if error.code() == "aborted" {
            interrupt(engine);
        }
        error
    })
}

/// One JSON value as the bytes an endpoint would send (a string is taken as
/// JSON text already).
fn json_bytes(value: &JsValue) -> Result<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Ok(text.into_bytes());
    }
    let text = js_sys::JSON::stringify(value)
        .map_err(|e| error_from_js(&e, "the in-page engine's answer cannot be written as JSON"))?;
    Ok(String::from(text).into_bytes())
}

/// What the chunk stream carries between polls.
struct ChunkState {
    iterator: JsValue,
    next: js_sys::Function,
    watch: Option<AbortWatch>,
    engine: JsValue,
    done: bool,
}

/// The chunks of an async iterable as server-sent events (`data: {chunk}`,
/// a blank line, and `data: [DONE]` at the end).
fn chunk_stream(state: ChunkState) -> ByteStream {
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let step = match state.next.call0(&state.iterator) {
            Ok(p) => settle(p, state.watch.as_ref(), &state.engine).await,
            Err(e) => Err(error_from_js(&e, "the in-page engine's stream")),
        };
        let item = step.and_then(|step| {
            let done = js_sys::Reflect::get(&step, &JsValue::from_str("done")).map(|d| d.is_truthy()).unwrap_or(true);
            if done {
                state.done = true;
                return Ok(b"data: [DONE]\n\n".to_vec());
            }
            let value = js_sys::Reflect::get(&step, &JsValue::from_str("value")).unwrap_or(JsValue::UNDEFINED);
            let mut bytes = b"data: ".to_vec();
            bytes.extend(json_bytes(&value)?);
            bytes.extend_from_slice(b"\n\n");
            Ok(bytes)
        });
        if item.is_err() {
            state.done = true;
        }
        Some((item, state))
    }))
}

impl ChatEngine for JsEngine {
    fn complete(&self, body: Vec<u8>) -> LocalBoxFuture<'_, Result<ByteStream>> {
        Box::pin(async move {
            let text = String::from_utf8(body).map_err(|e| Error::InvalidInput(format!("internal: the chat request is not UTF-8: {e}")))?;
            let request = js_sys::JSON::parse(&text).map_err(|e| error_from_js(&e, "internal: the chat request is not JSON"))?;
            let watch = AbortWatch::new(self.signal.borrow().clone())?;
            let called = self
                .create
                .call1(&self.completions, &request)
                .map_err(|e| error_from_js(&e, "the in-page engine"))?;
            let answer = settle(called, watch.as_ref(), &self.engine).await?;
            let iterate = js_sys::Reflect::get(&answer, &js_sys::Symbol::async_iterator()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            if let (Some(iterate), false) = (iterate, answer.is_string()) {
                let iterator = iterate.call0(&answer).map_err(|e| error_from_js(&e, "the in-page engine's stream"))?;
                let next = js_sys::Reflect::get(&iterator, &JsValue::from_str("next"))
                    .ok()
                    .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                    .ok_or_else(|| Error::Llm("the in-page engine's stream has no next()".into()))?;
                return Ok(chunk_stream(ChunkState { iterator, next, watch, engine: self.engine.clone(), done: false }));
            }
            if answer.is_undefined() || answer.is_null() {
                return Err(Error::Llm("the in-page engine answered nothing".into()));
            }
            let bytes = json_bytes(&answer)?;
            Ok(Box::pin(futures::stream::once(async move { Ok(bytes) })) as ByteStream)
        })
    }

    fn interrupt(&self) {
        interrupt(&self.engine);
    }
}

/// The page's own origin (`self.location.origin`: the window's, or the
/// worker's, which is the page's): what the privacy policy is looked up by
/// for an in-page engine. `"null"` for an opaque origin.
pub(crate) fn page_origin() -> String {
    let location = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("location")).unwrap_or(JsValue::UNDEFINED);
    js_sys::Reflect::get(&location, &JsValue::from_str("origin"))
        .ok()
        .and_then(|o| o.as_string())
        .unwrap_or_else(|| "null".to_string())
}

/// Shared handle: the agent holds the engine as a core `ChatEngine`, the
/// binding keeps it to set the signal of each `ask`.
pub(crate) type SharedEngine = Rc<JsEngine>;

#[wasm_bindgen(module = "/js/wllama-engine.js")]
extern "C" {
    #[wasm_bindgen(js_name = loadWllamaEngine)]
    fn load_wllama_engine(options: &JsValue) -> js_sys::Promise;
}

#[wasm_bindgen(typescript_custom_section)]
const TS_WLLAMA: &'static str = r#"
/** Options of {@link createWllamaEngine}. */
export interface WllamaEngineOptions {
  /** The `Wllama` class of `@wllama/wllama` (an optional peer dependency: the app installs it,
   *  `import { Wllama } from "@wllama/wllama"`, and passes it here). */
  Wllama: new (paths: { default: string }, config?: object) => unknown;
  /** URL of the GGUF model (downloaded with progress, kept in wllama's cache); or `modelBytes`. */
  modelUrl?: string;
  /** The GGUF model's bytes; or `modelUrl`. */
  modelBytes?: Uint8Array | ArrayBuffer;
  /** URL of wllama's `wllama.wasm` (`@wllama/wllama/esm/wasm/wllama.wasm`, served by the app). */
  wasmPath: string;
  /** Context length in tokens (default 2048): prompt + answer must fit. */
  nCtx?: number;
  /** Threads (wllama's default: 1 unless the page is cross-origin isolated). */
  nThreads?: number;
  /** Caps `max_tokens` of every request (the agent asks for up to 512): a small model on a CPU
   *  answers sooner. */
  maxTokens?: number;
  /** Download progress of the model, `{ phase: "download", file, loaded, total }`
   *  (`file` the URL, or `"modelBytes"`; `total` 0 while unknown). */
  onProgress?: (progress: RecagentProgress) => void;
  /** Keep the downloaded model in wllama's cache (default true). */
  useCache?: boolean;
}

/** The engine {@link createWllamaEngine} resolves to: a {@link ChatEngine} plus wllama's handle. */
export interface WllamaEngine extends ChatEngine {
  interruptGenerate(): void;
  /** Unloads the model and ends wllama's worker. */
  unload(): Promise<void>;
  /** The `Wllama` instance. */
  wllama: unknown;
  /** Milliseconds the download and load took. */
  loadMs: number;
  /** The chat template the GGUF carries (used to format the messages), or null. */
  chatTemplate: string | null;
}
"#;

const WLLAMA_KEYS: &[&str] =
    &["Wllama", "modelUrl", "modelBytes", "wasmPath", "nCtx", "nThreads", "maxTokens", "onProgress", "useCache"];

/// Loads a GGUF model with `@wllama/wllama` (llama.cpp in WebAssembly, on
/// the CPU, in wllama's own worker) and resolves to an in-page engine for
/// `setLlm({ engine })`: the messages are formatted with the model's own
/// chat template, JSON planning's schema becomes a grammar. Rejects with
/// `invalid_input` for bad options, `network_error` when the download
/// fails, `invalid_model` when the file is not a model wllama can load.
#[wasm_bindgen(js_name = createWllamaEngine, unchecked_return_type = "Promise<WllamaEngine>")]
pub fn create_wllama_engine(
    #[wasm_bindgen(unchecked_param_type = "WllamaEngineOptions")] options: JsValue,
) -> js_sys::Promise {
    match check_wllama_options(&options) {
        Ok(()) => load_wllama_engine(&options),
        Err(e) => js_sys::Promise::reject(&e),
    }
}

fn check_wllama_options(options: &JsValue) -> Result<(), JsValue> {
    use super::interop::{bool_field, function_field, reject_unknown_keys, string_field};
    const WHAT: &str = "WllamaEngineOptions";
    reject_unknown_keys(options, WHAT, WLLAMA_KEYS)?;
    function_field(options, WHAT, "Wllama")?
        .ok_or_else(|| invalid("WllamaEngineOptions.Wllama is required: the Wllama class of @wllama/wllama"))?;
    string_field(options, WHAT, "wasmPath")?
        .ok_or_else(|| invalid("WllamaEngineOptions.wasmPath is required: the URL of wllama.wasm"))?;
    let url = string_field(options, WHAT, "modelUrl")?;
    let bytes = read(options, WHAT, "modelBytes")?;
    if let Some(b) = &bytes {
        if !(b.is_instance_of::<js_sys::Uint8Array>() || b.is_instance_of::<js_sys::ArrayBuffer>()) {
            return Err(invalid("WllamaEngineOptions.modelBytes must be a Uint8Array or an ArrayBuffer"));
        }
    }
    if url.is_some() == bytes.is_some() {
        return Err(invalid("WllamaEngineOptions: give exactly one of modelUrl and modelBytes"));
    }
    for key in ["nCtx", "nThreads", "maxTokens"] {
        if let Some(v) = read(options, WHAT, key)? {
            if !v.as_f64().is_some_and(|n| n >= 1.0 && n.fract() == 0.0 && n <= 1e6) {
                return Err(invalid(format!("WllamaEngineOptions.{key} must be a positive integer")));
            }
        }
    }
    function_field(options, WHAT, "onProgress")?;
    bool_field(options, WHAT, "useCache")?;
    Ok(())
}
