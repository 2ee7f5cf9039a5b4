//! The JS `Recommender` class: converts JS values, delegates to
//! [`recagent_core::recommender::Recommender`], converts the results back.
//!
//! The catalog, the models and the profile stay in wasm memory behind
//! `Rc<RefCell<_>>`; only ids, scores, small records and profile snapshots
//! cross the boundary.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::agent::AgentShared;
use super::items::item_record;
use super::interop::{
    abort_reason, bool_field, field, function_field, invalid, js_error, reject_unknown_keys, settle,
    signal_field, string_field, to_js,
};
use super::create_options::{check_create_keys, load_create_files};
use super::loader::{clear_cache, evict};
use super::memory::{JsMemory, MemoryShared, Storage};
use recagent_core::catalog::AttributeDef;
use recagent_core::profile::{Statement, UserProfile};
use recagent_core::ranking::Explanation;
use recagent_core::recommender::{Observation, RecommendOptions, Recommender};

#[wasm_bindgen(typescript_custom_section)]
const TS_RECOMMENDER: &'static str = r#"
/** Event kinds on an item other than `view` and `rating`. */
export type RecagentItemEventType = "click" | "like" | "dislike" | "add_to_cart" | "purchase" | "skip";

/** What {@link Recommender.observe} takes. `time` is ms since the epoch (default `Date.now()`). */
export type RecagentEvent =
  | { item: string; type: "view"; dwellMs?: number; time?: number }
  | { item: string; type: RecagentItemEventType; time?: number }
  | { item: string; type: "rating"; value: number; time?: number }
  | { type: "statement"; text: string };

/** A statement as recorded from the user's words (what `observe` returns for a statement). */
export type RecordedStatement =
  | { type: "exclude"; attribute: string; value: string; source: string }
  | { type: "avoid"; text: string }
  | { type: "prefer"; text: string };

/** A condition on one attribute: exactly one of `has`, `not`, `equals`, `oneOf`, or `min`/`max`. */
export interface Predicate {
  attribute: string;
  has?: string;
  not?: string;
  equals?: string;
  oneOf?: string[];
  min?: number;
  max?: number;
}

/** What a recommendation list may contain. */
export interface RecommendFilters {
  /** Every predicate must hold. */
  where?: Predicate[];
  /** Ids never to return. */
  excludeIds?: string[];
  /** Also return items the user has events for (default false). */
  includeSeen?: boolean;
}

/** Options of {@link Recommender.recommend}; every field is optional. */
export interface RecommendOptions {
  /** How many items (default 10, at most 1000). */
  k?: number;
  /** Free text, embedded on the device (needs the text model). */
  query?: string;
  filters?: RecommendFilters;
  /** 0 = pure relevance … 1 = maximal diversity. */
  diversity?: number;
  /** 0..1: chance that a slot shows an item from further down. */
  explore?: number;
  /** Integer seed (≤ 2^53) making exploration reproducible. */
  seed?: number;
}

/** Why an item was recommended. */
export interface Explanation {
  summary: string;
  because: { id: string; title: string; share: number }[];
  interest?: string;
  queryTerms: string[];
  signals: { history: number; query: number; popularity: number; penalty: number; photo: number };
  /** Cosine similarity of the item's photo with the query photo ({@link Recommender.searchByPhoto} only). */
  photoSimilarity?: number;
  explored: boolean;
}

/** One recommended item. */
export interface Recommendation {
  id: string;
  title: string;
  score: number;
  explanation: Explanation;
}

/** One catalog item as {@link Recommender.item} returns it. */
export interface ItemRecord {
  id: string;
  title: string;
  text: string;
  image?: string;
  attributes: Record<string, string | number | string[] | null>;
  /** Added at run time ({@link Recommender.addItem}), not from the catalog bundle. */
  userAdded: boolean;
  /** Whether the item has a photo embedding (findable by {@link Recommender.searchByPhoto}). */
  hasPhoto: boolean;
}

/** A declared catalog attribute. */
export interface AttributeInfo {
  name: string;
  kind: "text" | "tags" | "number";
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The `RecommendOptions` object of the TypeScript section (optional argument).
    #[wasm_bindgen(typescript_type = "RecommendOptions")]
    pub type RecommendOptionsJs;
}

/// serde-wasm-bindgen reads only the fields a struct names, so typos in
/// `RecommendOptions`, its `filters` and their predicates are caught here.
fn check_recommend_keys(options: &JsValue) -> Result<(), JsValue> {
    reject_unknown_keys(options, "RecommendOptions", &["k", "query", "filters", "diversity", "explore", "seed"])?;
    if let Some(seed) = field(options, "seed").and_then(|s| s.as_f64()) {
        if !(seed >= 0.0 && seed.fract() == 0.0 && seed <= 9_007_199_254_740_991.0) {
            return Err(invalid(format!("RecommendOptions.seed {seed} must be an integer in 0..=2^53-1")));
        }
    }
    let Some(filters) = field(options, "filters") else { return Ok(()) };
    reject_unknown_keys(&filters, "RecommendOptions.filters", &["where", "excludeIds", "includeSeen"])?;
    if let Some(predicates) = field(&filters, "where").and_then(|w| w.dyn_into::<js_sys::Array>().ok()) {
        for p in predicates.iter() {
            reject_unknown_keys(&p, "Predicate", &["attribute", "has", "not", "equals", "oneOf", "min", "max"])?;
        }
    }
    Ok(())
}

/// `RecommendOptions` from JS: the defaults when absent, unknown keys and a
/// bad seed rejected (`invalid_input`). Shared by `recommend` and
/// `searchByPhoto`.
pub(crate) fn parse_recommend_options(options: Option<RecommendOptionsJs>) -> Result<RecommendOptions, JsValue> {
    let options = options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
    if options.is_undefined() || options.is_null() {
        return Ok(RecommendOptions::default());
    }
    check_recommend_keys(&options)?;
    serde_wasm_bindgen::from_value(options).map_err(|e| invalid(format!("RecommendOptions: {e}")))
}

/// The keys an event of each `type` may have.
fn check_event_keys(event: &JsValue) -> Result<(), JsValue> {
    let kind = field(event, "type").and_then(|t| t.as_string()).unwrap_or_default();
    let known: &[&str] = match kind.as_str() {
        "statement" => &["type", "text"],
        "view" => &["item", "type", "dwellMs", "time"],
        "rating" => &["item", "type", "value", "time"],
        "click" | "like" | "dislike" | "add_to_cart" | "purchase" | "skip" => &["item", "type", "time"],
        other => {
            return Err(invalid(format!(
                "RecagentEvent.type {other:?} is not one of view, click, like, dislike, rating, \
                 add_to_cart, purchase, skip, statement"
            )))
        }
    };
    reject_unknown_keys(event, "RecagentEvent", known)
}

/// A recorded statement without its embedding (what JS sees).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RecordedStatement<'a> {
    Exclude { attribute: &'a str, value: &'a str, source: &'a str },
    Avoid { text: &'a str },
    Prefer { text: &'a str },
}

impl<'a> From<&'a Statement> for RecordedStatement<'a> {
    fn from(s: &'a Statement) -> Self {
        match s {
            Statement::Exclude { attribute, value, source } => RecordedStatement::Exclude { attribute, value, source },
            Statement::Avoid { text, .. } => RecordedStatement::Avoid { text },
            Statement::Prefer { text, .. } => RecordedStatement::Prefer { text },
        }
    }
}

/// One recommendation as JS sees it (the core's plus the item title).
#[derive(Serialize)]
struct JsRecommendation<'a> {
    id: &'a str,
    title: &'a str,
    score: f32,
    explanation: &'a Explanation,
}

/// A ranked list as JS records (with titles).
pub(crate) fn recommendations(core: &Recommender, list: &[recagent_core::ranking::Recommendation]) -> Result<js_sys::Array, JsValue> {
    let out = js_sys::Array::new();
    for r in list {
        let title = core.catalog().item(r.index).map_or("", |it| it.title());
        out.push(&to_js(&JsRecommendation {
            id: &r.id,
            title,
            score: r.score,
            explanation: &r.explanation,
        })?);
    }
    Ok(out)
}

/// The on-device recommender: a catalog, the encoders, one private user
/// profile and its long-term memory. Named `Recommender` in JS.
#[wasm_bindgen(js_name = Recommender)]
pub struct JsRecommender {
    inner: Rc<RefCell<Recommender>>,
    namespace: String,
    memory: Rc<MemoryShared>,
    agent: Rc<AgentShared>,
}

impl JsRecommender {
    /// The agent state (LLM settings, policy, app tools, ledger).
    pub(crate) fn agent_shared(&self) -> Rc<AgentShared> {
        self.agent.clone()
    }

    /// The core recommender, shared with the agent's tools.
    pub(crate) fn core_rc(&self) -> &Rc<RefCell<Recommender>> {
        &self.inner
    }

    /// The long-term memory, shared with the agent's tools.
    pub(crate) fn memory_rc(&self) -> Rc<recagent_core::memory::Memory> {
        self.memory.memory()
    }

    /// The session's image decoder (the browser's), for photos on their way in.
    pub(crate) fn decoder(&self) -> Rc<dyn recagent_core::platform::ImageDecoder> {
        self.memory.session().decoder().clone()
    }

    fn core(&self) -> Result<std::cell::Ref<'_, Recommender>, JsValue> {
        self.inner
            .try_borrow()
            .map_err(|_| invalid("the recommender is busy (re-entrant call)"))
    }

    fn core_mut(&self) -> Result<std::cell::RefMut<'_, Recommender>, JsValue> {
        self.inner
            .try_borrow_mut()
            .map_err(|_| invalid("the recommender is busy (re-entrant call)"))
    }
}

#[wasm_bindgen(js_class = Recommender)]
impl JsRecommender {
    /// Loads the catalog bundle and the optional models, each given as bytes
    /// or as a URL (downloaded with progress events and kept in the Cache
    /// API). Rejects with a `RecagentError`: `invalid_catalog` (corrupt or
    /// truncated bundle), `invalid_input` (unknown option, `textModel`
    /// without `vocab` or the reverse), `invalid_model`, `invalid_vocab`,
    /// `unsupported_model`, `network_error` (a download failed or answered
    /// an HTTP error status), `timeout`; with the signal's `reason` (an `AbortError`
    /// DOMException by default) once `signal` fires.
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "RecommenderOptions")] options: JsValue,
    ) -> Result<JsRecommender, JsValue> {
        check_create_keys(&options)?;
        let namespace = string_field(&options, "RecommenderOptions", "namespace")?.unwrap_or_else(|| "default".into());
        if namespace.is_empty() {
            return Err(invalid("RecommenderOptions.namespace must not be empty"));
        }
        let on_event = function_field(&options, "RecommenderOptions", "onMemoryEvent")?;
        let storage = Storage {
            persist: bool_field(&options, "RecommenderOptions", "persist")?.unwrap_or(true),
            request_persistence: bool_field(&options, "RecommenderOptions", "requestPersistence")?.unwrap_or(true),
        };
        let signal = signal_field(&options, "RecommenderOptions", "signal")?;
        let agent = AgentShared::new();
        let engine = super::candidates::engine_from_options(&options, agent.http(), agent.ledger_handle(), recagent_core::agent::PrivacyPolicy::default())?;
        *agent.engine.borrow_mut() = engine;
        let files = load_create_files(&options).await.map_err(|e| abort_reason(signal.as_ref(), e))?;
        let downloaded = files.urls.clone();
        let progress = files.loader.progress_sink().clone();
        let inner = match files.into_core(&namespace, storage.persist).await {
            Ok(parts) => parts,
            Err(e) => {
                // A wrong file (e.g. a server's HTML fallback page) must not stay cached.
                if !matches!(e, recagent_core::Error::Aborted(_)) {
                    evict(&downloaded).await;
                }
                return Err(abort_reason(signal.as_ref(), js_error(e)));
            }
        };
        // One start-up path (recagent_core::session): memory over IndexedDB
        // (or in memory only, `persist: false`) sharing the text encoder, then
        // the stored profile and added items.
        let memory = MemoryShared::start(&namespace, inner, on_event, storage).await.map_err(js_error)?;
        let inner = memory.session().recommender().clone();
        progress.emit("ready", None, 1, 1);
        Ok(JsRecommender { inner, namespace, memory, agent })
    }

    /// Deletes every file `create` cached (the Cache API cache
    /// `"recagent-v1"`). Resolves to `true` when there was a cache to delete,
    /// `false` when not (or the Cache API is unavailable here); rejects with
    /// `storage_error` when the browser refuses.
    #[wasm_bindgen(js_name = clearCache, unchecked_return_type = "Promise<boolean>")]
    pub fn clear_cache() -> js_sys::Promise {
        wasm_bindgen_futures::future_to_promise(async {
            let existed = clear_cache().await.map_err(js_error)?;
            Ok(JsValue::from_bool(existed))
        })
    }

    /// The user's long-term memory (IndexedDB database `recagent:<namespace>`,
    /// opened by `create`; an in-memory fallback when IndexedDB is unusable).
    /// Every call returns a new wrapper over the same store.
    #[wasm_bindgen(getter)]
    pub fn memory(&self) -> JsMemory {
        JsMemory::new(self.memory.clone())
    }

    /// Stores the profile snapshot in the memory store; `create` restores it
    /// next time (same namespace).
    #[wasm_bindgen(js_name = saveProfile, unchecked_return_type = "Promise<void>")]
    pub fn save_profile(&self) -> js_sys::Promise {
        let save = match self.memory.session().save_profile() {
            Ok(save) => save,
            Err(e) => return js_sys::Promise::reject(&js_error(e)),
        };
        wasm_bindgen_futures::future_to_promise(async move {
            save.await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Records what the user did (`time` defaults to now) or said. Rejects with
    /// `unknown_item` for an id the catalog lacks, `invalid_input` for a
    /// malformed event. Returns the recorded statement for a statement.
    #[wasm_bindgen(js_name = observe, unchecked_return_type = "Promise<RecordedStatement | undefined>")]
    pub fn observe_js(&self, #[wasm_bindgen(unchecked_param_type = "RecagentEvent")] event: JsValue) -> js_sys::Promise {
        settle(self.observe(event))
    }

    /// Ranks the catalog for the current profile, best first, each with its
    /// title and explanation. Rejects with `invalid_input` for bad options.
    ///
    /// With `candidates` given to `create`, the list is ranked over the
    /// engine's candidates (what is sent follows the privacy policy and is in
    /// the ledger); when the engine cannot answer, over the catalog held
    /// here, and {@link Recommender.lastCandidates} says why.
    #[wasm_bindgen(js_name = recommend, unchecked_return_type = "Promise<Recommendation[]>")]
    pub fn recommend_js(&self, options: Option<RecommendOptionsJs>) -> js_sys::Promise {
        let engine = self.agent.engine.borrow().clone();
        let Some(engine) = engine else {
            return settle(self.recommend(options));
        };
        let options = match parse_recommend_options(options) {
            Ok(o) => o,
            Err(e) => return js_sys::Promise::reject(&e),
        };
        let (inner, agent) = (self.inner.clone(), self.agent.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let answer = engine.recommend(&inner, &options).await.map_err(js_error)?;
            *agent.last_candidates.borrow_mut() = Some(answer.trace.clone());
            Ok(super::candidates::ranked_items(&answer)?.into())
        })
    }

    /// Where the last `recommend` over the candidate engine took its
    /// candidates from, and why the catalog here answered when it did;
    /// `undefined` before the first one or without `candidates`.
    #[wasm_bindgen(getter, js_name = lastCandidates, unchecked_return_type = "CandidateTrace | undefined")]
    pub fn last_candidates(&self) -> Result<JsValue, JsValue> {
        match self.agent.last_candidates.borrow().as_ref() {
            Some(t) => to_js(t),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// A snapshot of the user profile (bytes to store; nothing else leaves).
    #[wasm_bindgen(js_name = profile, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn profile_js(&self) -> js_sys::Promise {
        settle(self.profile().map(|bytes| js_sys::Uint8Array::from(bytes.as_slice())))
    }

    /// Replaces the user profile with a snapshot from `profile()`. Rejects with
    /// `invalid_profile` for anything else.
    #[wasm_bindgen(js_name = restoreProfile, unchecked_return_type = "Promise<void>")]
    pub fn restore_profile_js(&self, bytes: &[u8]) -> js_sys::Promise {
        settle(self.restore_profile(bytes).map(|()| JsValue::UNDEFINED))
    }

    /// Forgets everything about the user (events and statements).
    #[wasm_bindgen(js_name = resetProfile, unchecked_return_type = "Promise<void>")]
    pub fn reset_profile_js(&self) -> js_sys::Promise {
        settle(self.reset_profile().map(|()| JsValue::UNDEFINED))
    }

    /// The item with this id, or `undefined`.
    #[wasm_bindgen(js_name = item, unchecked_return_type = "Promise<ItemRecord | undefined>")]
    pub fn item_js(&self, id: &str) -> js_sys::Promise {
        settle(self.item(id))
    }

    /// Number of catalog items.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> Result<usize, JsValue> {
        Ok(self.core()?.catalog().len())
    }

    /// Approximate bytes the catalog holds in wasm memory.
    #[wasm_bindgen(getter, js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> Result<usize, JsValue> {
        Ok(self.core()?.catalog().memory_bytes())
    }

    /// The namespace given to `create` (default `"default"`).
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.namespace.clone()
    }

    /// Whether an image model is loaded (given to `create`, or by `loadImageModel`).
    #[wasm_bindgen(getter, js_name = hasImageModel)]
    pub fn has_image_model(&self) -> Result<bool, JsValue> {
        Ok(self.core()?.has_image_model())
    }

    /// The catalog's declared attributes (names and kinds).
    #[wasm_bindgen(getter, unchecked_return_type = "AttributeInfo[]")]
    pub fn attributes(&self) -> Result<JsValue, JsValue> {
        let core = self.core()?;
        let defs: &[AttributeDef] = core.catalog().attributes();
        to_js(defs)
    }
}

impl JsRecommender {
    /// `observe` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn observe(
        &self,
        event: JsValue,
    ) -> Result<JsValue, JsValue> {
        check_event_keys(&event)?;
        let observation: Observation =
            serde_wasm_bindgen::from_value(event).map_err(|e| invalid(format!("RecagentEvent: {e}")))?;
        let now = js_sys::Date::now();
        let statement = self.core_mut()?.observe(observation, now).map_err(js_error)?;
        match &statement {
            Some(s) => to_js(&RecordedStatement::from(s)),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// `recommend` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn recommend(&self, options: Option<RecommendOptionsJs>) -> Result<js_sys::Array, JsValue> {
        let options = parse_recommend_options(options)?;
        let core = self.core()?;
        let list = core.recommend(&options).map_err(js_error)?;
        recommendations(&core, &list)
    }

    /// `profile` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn profile(&self) -> Result<Vec<u8>, JsValue> {
        self.core()?.profile().snapshot().map_err(js_error)
    }

    /// `restore_profile` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn restore_profile(&self, bytes: &[u8]) -> Result<(), JsValue> {
        let profile = UserProfile::restore(bytes).map_err(js_error)?;
        self.core_mut()?.set_profile(profile);
        Ok(())
    }

    /// `reset_profile` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn reset_profile(&self) -> Result<(), JsValue> {
        self.core_mut()?.set_profile(UserProfile::new());
        Ok(())
    }

    /// `item` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn item(&self, id: &str) -> Result<JsValue, JsValue> {
        item_record(&*self.core()?, id)
    }
}
