//! Worker mode: `RecommenderWorker` (the `Recommender` API running in a
//! module Web Worker, every method a Promise) and its `WorkerMemory`; the
//! encoder pool is in [`super::pool`].
//!
//! This module only checks options and delegates: the workers are started,
//! called and fed their callbacks by the JS snippets `js/proxy.js` (main
//! thread) and `js/worker.js` (the worker, which loads this same package and
//! runs the real `Recommender` / `TextEmbedder`). Every worker instantiates
//! this instance's compiled `WebAssembly.Module` (`wasm_bindgen::module()`,
//! posted to it): no second download or compile, and the optimized code V8
//! tiers up is shared by all of them. Errors from the worker keep
//! their `RecagentError` code; a worker that cannot start or dies is
//! `worker_failed`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::interop::field;
use super::create_options::check_create_keys;
use super::loader::looks_like_url;
use super::memory::MemoryListOptionsJs;
use super::{AskOptionsJs, LoadImageModelOptionsJs, RecommendOptionsJs};

#[wasm_bindgen(module = "/js/proxy.js")]
extern "C" {
    /// A `Recommender` in a worker, as `proxy.js` holds it.
    type RecommenderClient;

    #[wasm_bindgen(js_name = createRecommenderWorker)]
    fn create_recommender_worker(options: &JsValue, url_keys: js_sys::Array, module: JsValue) -> js_sys::Promise;

    #[wasm_bindgen(method)]
    fn call(this: &RecommenderClient, method: &str, args: js_sys::Array) -> js_sys::Promise;

    #[wasm_bindgen(method)]
    fn info(this: &RecommenderClient, key: &str) -> JsValue;

    #[wasm_bindgen(method, js_name = terminate)]
    fn terminate_client(this: &RecommenderClient);
}

fn args(values: &[&JsValue]) -> js_sys::Array {
    values.iter().copied().collect()
}

/// The `Recommender` API in a module Web Worker: inference, ranking and the
/// agent never block the page. Every method returns a Promise; the worker
/// ends with `terminate()` (or `free()`).
#[wasm_bindgen]
pub struct RecommenderWorker {
    client: RecommenderClient,
}

impl Drop for RecommenderWorker {
    fn drop(&mut self) {
        self.client.terminate_client();
    }
}

impl RecommenderWorker {
    fn forward(&self, method: &str, values: &[&JsValue]) -> js_sys::Promise {
        self.client.call(method, args(values))
    }
}

#[wasm_bindgen]
impl RecommenderWorker {
    /// Starts a worker and creates a `Recommender` in it, with the same
    /// options as `Recommender.create` (URLs are resolved against the page;
    /// `onProgress`, `onMemoryEvent` and `signal` work across). Rejects with
    /// the same codes, and `worker_failed` when the worker cannot start.
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "RecommenderOptions")] options: JsValue,
    ) -> Result<RecommenderWorker, JsValue> {
        check_create_keys(&options)?;
        let url_keys = js_sys::Array::new();
        for key in ["catalog", "textModel", "imageModel"] {
            if field(&options, key).is_some_and(|v| v.is_string()) {
                url_keys.push(&JsValue::from_str(key));
            }
        }
        if field(&options, "vocab").and_then(|v| v.as_string()).is_some_and(|v| looks_like_url(&v)) {
            url_keys.push(&JsValue::from_str("vocab"));
        }
        let client = JsFuture::from(create_recommender_worker(&options, url_keys, wasm_bindgen::module())).await?;
        Ok(RecommenderWorker { client: client.unchecked_into() })
    }

    /// Like `Recommender.recommend`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Recommendation[]>")]
    pub fn recommend(&self, options: Option<RecommendOptionsJs>) -> js_sys::Promise {
        self.forward("recommend", &[&options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED)])
    }

    /// Like `Recommender.observe`.
    #[wasm_bindgen(unchecked_return_type = "Promise<RecordedStatement | undefined>")]
    pub fn observe(&self, #[wasm_bindgen(unchecked_param_type = "RecagentEvent")] event: JsValue) -> js_sys::Promise {
        self.forward("observe", &[&event])
    }

    /// Like `Recommender.item`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ItemRecord | undefined>")]
    pub fn item(&self, id: &str) -> js_sys::Promise {
        self.forward("item", &[&JsValue::from_str(id)])
    }

    /// Like `Recommender.profile`: the profile snapshot.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn profile(&self) -> js_sys::Promise {
        self.forward("profile", &[])
    }

    /// Like `Recommender.restoreProfile` (`invalid_profile`).
    #[wasm_bindgen(js_name = restoreProfile, unchecked_return_type = "Promise<void>")]
    pub fn restore_profile(&self, bytes: js_sys::Uint8Array) -> js_sys::Promise {
        self.forward("restoreProfile", &[&bytes])
    }

    /// Like `Recommender.resetProfile`.
    #[wasm_bindgen(js_name = resetProfile, unchecked_return_type = "Promise<void>")]
    pub fn reset_profile(&self) -> js_sys::Promise {
        self.forward("resetProfile", &[])
    }

    /// Like `Recommender.saveProfile`.
    #[wasm_bindgen(js_name = saveProfile, unchecked_return_type = "Promise<void>")]
    pub fn save_profile(&self) -> js_sys::Promise {
        self.forward("saveProfile", &[])
    }

    /// Like `Recommender.setLlm`. An in-page `engine` stays on the page: the
    /// worker calls its `chat.completions.create` by message (a streamed
    /// answer is relayed whole, so `onToken` gets each model call's text at
    /// its end).
    #[wasm_bindgen(js_name = setLlm, unchecked_return_type = "Promise<void>")]
    pub fn set_llm(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LlmSettings | InPageLlmSettings | null")] settings: JsValue,
    ) -> js_sys::Promise {
        self.forward("setLlm", &[&settings])
    }

    /// Like `Recommender.setPolicy`.
    #[wasm_bindgen(js_name = setPolicy, unchecked_return_type = "Promise<void>")]
    pub fn set_policy(&self, #[wasm_bindgen(unchecked_param_type = "PrivacyPolicy")] policy: JsValue) -> js_sys::Promise {
        self.forward("setPolicy", &[&policy])
    }

    /// Like `Recommender.policy`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Required<PrivacyPolicy>>")]
    pub fn policy(&self) -> js_sys::Promise {
        self.forward("policy", &[])
    }

    /// Like `Recommender.registerTool`; `run` executes on the main thread
    /// (the worker asks for it by message and awaits its result).
    #[wasm_bindgen(js_name = registerTool, unchecked_return_type = "Promise<void>")]
    pub fn register_tool(&self, #[wasm_bindgen(unchecked_param_type = "AppTool")] tool: JsValue) -> js_sys::Promise {
        self.forward("registerTool", &[&tool])
    }

    /// Like `Recommender.unregisterTool`.
    #[wasm_bindgen(js_name = unregisterTool, unchecked_return_type = "Promise<boolean>")]
    pub fn unregister_tool(&self, name: &str) -> js_sys::Promise {
        self.forward("unregisterTool", &[&JsValue::from_str(name)])
    }

    /// Like `Recommender.ask`: `onStep`, `onToken` and `approve` run on the
    /// main thread, `signal` aborts in the worker.
    #[wasm_bindgen(unchecked_return_type = "Promise<AskResult>")]
    pub fn ask(
        &self,
        message: &str,
        options: Option<AskOptionsJs>,
    ) -> js_sys::Promise {
        self.forward("ask", &[&JsValue::from_str(message), &options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED)])
    }

    /// Like `Recommender.ledger`.
    #[wasm_bindgen(unchecked_return_type = "Promise<LedgerEntry[]>")]
    pub fn ledger(&self) -> js_sys::Promise {
        self.forward("ledger", &[])
    }

    /// Like `Recommender.clearLedger`.
    #[wasm_bindgen(js_name = clearLedger, unchecked_return_type = "Promise<void>")]
    pub fn clear_ledger(&self) -> js_sys::Promise {
        self.forward("clearLedger", &[])
    }

    /// Like `Recommender.resetConversation`.
    #[wasm_bindgen(js_name = resetConversation, unchecked_return_type = "Promise<void>")]
    pub fn reset_conversation(&self) -> js_sys::Promise {
        self.forward("resetConversation", &[])
    }

    /// Like `Recommender.addItem`: the item (and its photo) are embedded in
    /// the worker and stored there; `size` follows once it resolves.
    #[wasm_bindgen(js_name = addItem, unchecked_return_type = "Promise<ItemRecord>")]
    pub fn add_item(&self, #[wasm_bindgen(unchecked_param_type = "NewItem")] item: JsValue) -> js_sys::Promise {
        self.forward("addItem", &[&item])
    }

    /// Like `Recommender.removeItem`.
    #[wasm_bindgen(js_name = removeItem, unchecked_return_type = "Promise<boolean>")]
    pub fn remove_item(&self, id: &str) -> js_sys::Promise {
        self.forward("removeItem", &[&JsValue::from_str(id)])
    }

    /// Like `Recommender.addedItems` (a Promise here).
    #[wasm_bindgen(js_name = addedItems, unchecked_return_type = "Promise<ItemRecord[]>")]
    pub fn added_items(&self) -> js_sys::Promise {
        self.forward("addedItems", &[])
    }

    /// Like `Recommender.itemPhoto`.
    #[wasm_bindgen(js_name = itemPhoto, unchecked_return_type = "Promise<Uint8Array | undefined>")]
    pub fn item_photo(&self, id: &str) -> js_sys::Promise {
        self.forward("itemPhoto", &[&JsValue::from_str(id)])
    }

    /// Like `Recommender.searchByPhoto` (a Promise here): the photo is
    /// decoded and embedded in the worker.
    #[wasm_bindgen(js_name = searchByPhoto, unchecked_return_type = "Promise<Recommendation[]>")]
    pub fn search_by_photo(&self, photo: js_sys::Uint8Array, options: Option<RecommendOptionsJs>) -> js_sys::Promise {
        self.forward("searchByPhoto", &[&photo, &options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED)])
    }

    /// Like `Recommender.loadImageModel`; a URL is resolved against the page
    /// and progress reports it as given; `hasImageModel` follows once it
    /// resolves.
    #[wasm_bindgen(js_name = loadImageModel, unchecked_return_type = "Promise<void>")]
    pub fn load_image_model(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] model: JsValue,
        options: Option<LoadImageModelOptionsJs>,
    ) -> js_sys::Promise {
        self.forward("loadImageModel", &[&model, &options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED)])
    }

    /// Number of catalog items (added items included; refreshed by every call).
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.client.info("size").as_f64().unwrap_or(0.0)
    }

    /// Approximate bytes the catalog holds in the worker's wasm memory.
    #[wasm_bindgen(getter, js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> f64 {
        self.client.info("memoryBytes").as_f64().unwrap_or(0.0)
    }

    /// Where the last `recommend` over the candidate engine took its
    /// candidates from (refreshed by every call); `undefined` before the
    /// first one or without `candidates`.
    #[wasm_bindgen(getter, js_name = lastCandidates, unchecked_return_type = "CandidateTrace | undefined")]
    pub fn last_candidates(&self) -> JsValue {
        self.client.info("lastCandidates")
    }

    /// The namespace given to `create`.
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.client.info("namespace").as_string().unwrap_or_default()
    }

    /// Whether the worker's recommender has an image model (from `create`
    /// or `loadImageModel`).
    #[wasm_bindgen(getter, js_name = hasImageModel)]
    pub fn has_image_model(&self) -> bool {
        self.client.info("hasImageModel").as_bool().unwrap_or(false)
    }

    /// The catalog's declared attributes.
    #[wasm_bindgen(getter, unchecked_return_type = "AttributeInfo[]")]
    pub fn attributes(&self) -> JsValue {
        self.client.info("attributes")
    }

    /// The long-term memory in the worker (its methods return Promises, as
    /// `Recommender.memory`'s do).
    #[wasm_bindgen(getter)]
    pub fn memory(&self) -> WorkerMemory {
        WorkerMemory { client: self.client.clone().unchecked_into() }
    }

    /// Ends the worker; pending and later calls reject with `worker_failed`.
    pub fn terminate(&self) {
        self.client.terminate_client();
    }
}

/// `RecommenderWorker.memory`: the `Memory` API of the worker's recommender.
#[wasm_bindgen]
pub struct WorkerMemory {
    client: RecommenderClient,
}

impl WorkerMemory {
    fn forward(&self, method: &str, values: &[&JsValue]) -> js_sys::Promise {
        self.client.call(&format!("memory.{method}"), args(values))
    }
}

#[wasm_bindgen]
impl WorkerMemory {
    /// Like `Memory.remember`.
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryFact>")]
    pub fn remember(&self, #[wasm_bindgen(unchecked_param_type = "string | RememberInput")] fact: JsValue) -> js_sys::Promise {
        self.forward("remember", &[&fact])
    }

    /// Like `Memory.recall`.
    #[wasm_bindgen(unchecked_return_type = "Promise<RecalledFact[]>")]
    pub fn recall(&self, query: &str, k: Option<u32>) -> js_sys::Promise {
        self.forward("recall", &[&JsValue::from_str(query), &k.map(JsValue::from).unwrap_or(JsValue::UNDEFINED)])
    }

    /// Like `Memory.list`.
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryFact[]>")]
    pub fn list(&self, options: Option<MemoryListOptionsJs>) -> js_sys::Promise {
        self.forward("list", &[&options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED)])
    }

    /// Like `Memory.correct`.
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryFact>")]
    pub fn correct(&self, id: &str, text: &str) -> js_sys::Promise {
        self.forward("correct", &[&JsValue::from_str(id), &JsValue::from_str(text)])
    }

    /// Like `Memory.forget`.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn forget(&self, id: &str) -> js_sys::Promise {
        self.forward("forget", &[&JsValue::from_str(id)])
    }

    /// Like `Memory.consolidate`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ConsolidationReport>")]
    pub fn consolidate(&self) -> js_sys::Promise {
        self.forward("consolidate", &[])
    }

    /// Like `Memory.export`.
    #[wasm_bindgen(js_name = export, unchecked_return_type = "Promise<MemoryExport>")]
    pub fn export_doc(&self) -> js_sys::Promise {
        self.forward("export", &[])
    }

    /// Like `Memory.import`.
    #[wasm_bindgen(js_name = import, unchecked_return_type = "Promise<{ episodes: number; facts: number }>")]
    pub fn import_doc(&self, #[wasm_bindgen(unchecked_param_type = "MemoryExport | string")] doc: JsValue) -> js_sys::Promise {
        self.forward("import", &[&doc])
    }

    /// Like `Memory.forgetEverything`.
    #[wasm_bindgen(js_name = forgetEverything, unchecked_return_type = "Promise<number>")]
    pub fn forget_everything(&self) -> js_sys::Promise {
        self.forward("forgetEverything", &[])
    }

    /// Like `Memory.estimate`.
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryEstimate>")]
    pub fn estimate(&self) -> js_sys::Promise {
        self.forward("estimate", &[])
    }

    /// Like `Memory.on`; the callback runs on the main thread.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MemoryEventType")] kind: &str,
        #[wasm_bindgen(unchecked_param_type = "(type: MemoryEventType) => void")] callback: js_sys::Function,
    ) -> js_sys::Promise {
        self.forward("on", &[&JsValue::from_str(kind), &callback])
    }

    /// Whether the memory is in IndexedDB (false: the in-memory fallback), as reported by `create`.
    #[wasm_bindgen(getter)]
    pub fn persistent(&self) -> bool {
        self.client.info("memory.persistent").as_bool().unwrap_or(false)
    }

    /// Why the memory fell back to RAM, if it did.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.client.info("memory.fallbackReason").as_string()
    }

    /// The IndexedDB database name (`undefined` for the fallback).
    #[wasm_bindgen(getter, js_name = databaseName)]
    pub fn database_name(&self) -> Option<String> {
        self.client.info("memory.databaseName").as_string()
    }
}

/// Declared (never called) so that wasm-bindgen ships `js/worker.js`, the
/// script `proxy.js` starts; an unused import is not imported by the glue,
/// so the page itself never loads the worker script (which imports the
/// glue by name, `../../../recagent.js`).
#[wasm_bindgen(module = "/js/worker.js")]
extern "C" {
    #[allow(dead_code)]
    #[wasm_bindgen(js_name = workerProtocol)]
    fn worker_protocol() -> u32;
}

/// Declared so that wasm-bindgen ships `js/protocol.js` (imported by both
/// snippets); `proxy.js` imports it on the page.
#[wasm_bindgen(module = "/js/protocol.js")]
extern "C" {
    #[allow(dead_code)]
    #[wasm_bindgen(js_name = errorData)]
    fn error_data(e: &JsValue) -> JsValue;
}
