//! The JS `Memory` class (`recommender.memory`): the user's long-term memory
//! ([`recagent_core::memory::Memory`]) over the IndexedDB store of the recommender's
//! namespace ([`super::idb`]), or over memory when IndexedDB is unusable.
//!
//! Every method returns a Promise; facts leave without their embeddings.

use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::idb::{self, IdbKvStore, IdbOptions, StoreEvent, StoreEvents};
use super::image_decoder::BrowserImageDecoder;
use super::time::JsClock;
use super::interop::{invalid, js_error, reject_unknown_keys, to_js};
use recagent_core::error::Error;
use recagent_core::memory::{Fact, FactKind, Memory, RememberOptions};
use recagent_core::recommender::Recommender;
use recagent_core::session::{Session, StoreFallback};

#[wasm_bindgen(typescript_custom_section)]
const TS_MEMORY: &'static str = r#"
/** What {@link Memory.remember} takes besides a plain string. */
export interface RememberInput {
  text: string;
  /** Default: guessed from the words. */
  kind?: MemoryFactKind;
  /** 0..1, default 0.5. */
  importance?: number;
  /** 0..1, default 1. */
  confidence?: number;
}

export type MemoryFactKind = "preference" | "aversion" | "fact";

/** A semantic-memory fact (without its embedding). */
export interface MemoryFact {
  id: string;
  text: string;
  kind: MemoryFactKind;
  confidence: number;
  importance: number;
  createdMs: number;
  updatedMs: number;
  provenance: { source: "user" | "consolidation"; episodes: number[]; rule?: string };
}

/** One result of {@link Memory.recall}, best first. */
export interface RecalledFact {
  fact: MemoryFact;
  score: number;
  similarity: number;
  recency: number;
}

/** What {@link Memory.consolidate} did (fact ids). */
export interface ConsolidationReport {
  created: string[];
  updated: string[];
  removed: string[];
}

/** The export document (`format: "recagent-memory"`, `version: 1`); see the README. */
export interface MemoryExport {
  format: "recagent-memory";
  version: number;
  exportedAt: number;
  working: { turns: { role: "user" | "agent"; text: string; timeMs: number }[]; task: unknown };
  episodic: { id: number; timeMs: number; kind: string; item?: string; tags?: string[]; text?: string; value?: number; context?: string }[];
  semantic: (MemoryFact & { embedding?: number[] })[];
  profile: string | null;
  /** The items the user added ({@link Recommender.addItem}), photos included; absent in older documents. */
  items?: ExportedItem[];
  /** Records found corrupt and set aside: their key and base64 bytes; absent when there are none. */
  corrupt?: { key: string; value: string }[];
}

/** `navigator.storage.estimate()` plus what backs the memory. */
export interface MemoryEstimate {
  /** Bytes used by this origin (0 when the API is missing). */
  usage: number;
  /** Bytes this origin may use (0 when the API is missing). */
  quota: number;
  /** `true`: IndexedDB (survives reloads); `false`: the in-memory fallback. */
  persistent: boolean;
  /** `navigator.storage.persisted()`: protected from eviction under storage pressure. */
  persisted: boolean;
  /** Records found corrupt and set aside (skipped by every read, kept for `export()`). */
  corrupt: number;
}

/** What {@link Memory.list} takes. */
export interface MemoryListOptions {
  kind?: MemoryFactKind;
}

/** Events of {@link Memory.on}. */
export type MemoryEventType = "versionchange" | "blocked" | "corrupt";
"#;

#[wasm_bindgen]
extern "C" {
    /// The `{ kind? }` argument of `Memory.list` (optional).
    #[wasm_bindgen(typescript_type = "MemoryListOptions")]
    pub type MemoryListOptionsJs;
}

/// What the `Recommender` and every `Memory` wrapper of it share: the core
/// session (recommender + memory, started by [`Session::start`]) and what
/// backs its store.
/// Where a recommender keeps its state (`RecommenderOptions.persist` and
/// `requestPersistence`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Storage {
    /// IndexedDB (`true`, the default) or memory only: `false` opens
    /// nothing durable (memory, profile and added items last as long as the page).
    pub persist: bool,
    /// Ask `navigator.storage.persist()` once the database is open (default `true`).
    pub request_persistence: bool,
}

pub(crate) struct MemoryShared {
    session: Rc<Session>,
    idb: Option<IdbKvStore>,
    events: StoreEvents,
    fallback_reason: Option<String>,
}

impl MemoryShared {
    /// Opens the namespace's store (IndexedDB, else memory) and starts the
    /// session over it; what start-up could not restore is logged as a
    /// console warning. `on_event` receives events fired while opening
    /// (`blocked`).
    pub(crate) async fn start(
        namespace: &str,
        recommender: Recommender,
        on_event: Option<js_sys::Function>,
        storage: Storage,
    ) -> Result<Rc<Self>, Error> {
        let events = StoreEvents::new();
        if let Some(f) = on_event {
            events.on(move |e| {
                let _ = f.call1(&JsValue::NULL, &JsValue::from_str(e.name()));
            });
        }
        let mut options = IdbOptions::new(namespace);
        options.events = events.clone();
        let opened = if storage.persist {
            idb::open_or_memory(options, storage.request_persistence).await
        } else {
            idb::memory_only("persist: false")
        };
        let (session, report) =
            Session::start(recommender, opened.store, Rc::new(JsClock), Rc::new(BrowserImageDecoder), StoreFallback::InMemory)
                .await?;
        let (idb, fallback_reason) = match report.store_fallback {
            Some(reason) => (None, Some(reason)),
            None => (opened.idb, opened.fallback_reason),
        };
        for warning in &report.warnings {
            web_sys::console::warn_1(&JsValue::from_str(&format!("recagent: {warning}")));
        }
        let memory = session.memory().clone();
        let corrupt_events = events.clone();
        memory.on_corrupt(move |record| {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "recagent: memory record {:?} is corrupt ({}); it was set aside",
                record.key, record.reason
            )));
            corrupt_events.emit(StoreEvent::Corrupt);
        });
        // What start-up itself set aside (the profile, added items) was read
        // before the listener existed: one event for all of it.
        if memory.corrupt_count().await.unwrap_or(0) > 0 {
            events.emit(StoreEvent::Corrupt);
        }
        Ok(Rc::new(Self { session: Rc::new(session), idb, events, fallback_reason }))
    }

    /// The core session (the recommender and the memory).
    pub(crate) fn session(&self) -> &Rc<Session> {
        &self.session
    }

    /// The memory itself (the agent's tools recall and remember through it).
    pub(crate) fn memory(&self) -> Rc<Memory> {
        self.session.memory().clone()
    }

    fn need_text(&self, what: &str) -> Result<(), JsValue> {
        if self.session.has_text() {
            Ok(())
        } else {
            Err(invalid(format!(
                "memory.{what} needs the text model (textModel and vocab in Recommender.create)"
            )))
        }
    }
}

/// Logs what a resync could not restore, one console warning each.
fn warn_all(warnings: &[String]) {
    for warning in warnings {
        web_sys::console::warn_1(&JsValue::from_str(&format!("recagent: {warning}")));
    }
}

/// A fact as JS sees it: without its embedding.
fn fact_view(fact: &Fact) -> serde_json::Value {
    let mut v = serde_json::to_value(fact).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("embedding");
    }
    v
}

#[derive(Deserialize)]
struct RememberInput {
    text: String,
    kind: Option<FactKind>,
    importance: Option<f32>,
    confidence: Option<f32>,
}

fn promise(
    f: impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
) -> js_sys::Promise {
    future_to_promise(f)
}

/// The user's long-term memory (`recommender.memory`): facts, recall,
/// consolidation, export/import and forgetting, stored in IndexedDB
/// database `recagent:<namespace>`. Every `recommender.memory` wrapper
/// shares the same store.
#[wasm_bindgen(js_name = Memory)]
pub struct JsMemory {
    shared: Rc<MemoryShared>,
}

impl JsMemory {
    pub(crate) fn new(shared: Rc<MemoryShared>) -> Self {
        Self { shared }
    }
}

#[wasm_bindgen(js_class = Memory)]
impl JsMemory {
    /// Remembers what the user said: a string or `{ text, kind?, importance?,
    /// confidence? }`. Needs the text model (`invalid_input` without one).
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryFact>")]
    pub fn remember(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | RememberInput")] fact: JsValue,
    ) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move {
            s.need_text("remember")?;
            let input = match fact.as_string() {
                Some(text) => RememberInput {
                    text,
                    kind: None,
                    importance: None,
                    confidence: None,
                },
                None => {
                    reject_unknown_keys(
                        &fact,
                        "RememberInput",
                        &["text", "kind", "importance", "confidence"],
                    )?;
                    serde_wasm_bindgen::from_value(fact)
                        .map_err(|e| invalid(format!("RememberInput: {e}")))?
                }
            };
            let options = RememberOptions {
                kind: input.kind,
                importance: input.importance,
                confidence: input.confidence,
            };
            let fact = s
                .session
                .memory()
                .remember_with(&input.text, options)
                .await
                .map_err(js_error)?;
            to_js(&fact_view(&fact))
        })
    }

    /// The `k` (default 5) facts that best match `query`, best first. Needs the text model.
    #[wasm_bindgen(unchecked_return_type = "Promise<RecalledFact[]>")]
    pub fn recall(&self, query: String, k: Option<u32>) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move {
            s.need_text("recall")?;
            let found = s
                .session
                .memory()
                .recall(&query, k.unwrap_or(5) as usize)
                .await
                .map_err(js_error)?;
            let out: Vec<_> = found
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "fact": fact_view(&r.fact), "score": r.score,
                        "similarity": r.similarity, "recency": r.recency,
                    })
                })
                .collect();
            to_js(&out)
        })
    }

    /// Every fact in id order, optionally only those of one `kind`.
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryFact[]>")]
    pub fn list(&self, options: Option<MemoryListOptionsJs>) -> js_sys::Promise {
        let options = options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
        let s = self.shared.clone();
        promise(async move {
            let mut kind = None;
            if !options.is_undefined() && !options.is_null() {
                reject_unknown_keys(&options, "list options", &["kind"])?;
                let k =
                    js_sys::Reflect::get(&options, &"kind".into()).unwrap_or(JsValue::UNDEFINED);
                if !k.is_undefined() {
                    kind = Some(
                        serde_wasm_bindgen::from_value::<FactKind>(k)
                            .map_err(|e| invalid(format!("list kind: {e}")))?,
                    );
                }
            }
            let facts = s.session.memory().facts().await.map_err(js_error)?;
            let out: Vec<_> = facts
                .iter()
                .filter(|f| kind.is_none_or(|k| f.kind == k))
                .map(fact_view)
                .collect();
            to_js(&out)
        })
    }

    /// The user corrects fact `id` (`invalid_input` for an unknown id).
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryFact>")]
    pub fn correct(&self, id: String, text: String) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move {
            to_js(&fact_view(
                &s.session.memory().correct(&id, &text).await.map_err(js_error)?,
            ))
        })
    }

    /// Forgets fact `id` and the episodes it came from (or episode `e<n>`);
    /// resolves to the number of records removed.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn forget(&self, id: String) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move {
            Ok(JsValue::from(
                s.session.memory().forget(&id).await.map_err(js_error)? as f64
            ))
        })
    }

    /// Rule-based consolidation of episodes into facts.
    #[wasm_bindgen(unchecked_return_type = "Promise<ConsolidationReport>")]
    pub fn consolidate(&self) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move { to_js(&s.session.memory().consolidate().await.map_err(js_error)?) })
    }

    /// The whole memory as the export document (a plain object).
    #[wasm_bindgen(js_name = export, unchecked_return_type = "Promise<MemoryExport>")]
    pub fn export_doc(&self) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move {
            let text = s.session.memory().export().await.map_err(js_error)?;
            js_sys::JSON::parse(&text).map_err(|_| invalid("internal: export is not JSON"))
        })
    }

    /// Replaces the memory with an export document (object or JSON text),
    /// atomically; a bad document (`invalid_input`) changes nothing. The
    /// live catalog's added items become the document's `items`.
    #[wasm_bindgen(js_name = import, unchecked_return_type = "Promise<{ episodes: number; facts: number }>")]
    pub fn import_doc(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MemoryExport | string")] doc: JsValue,
    ) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move {
            let text = match doc.as_string() {
                Some(t) => t,
                None => js_sys::JSON::stringify(&doc)
                    .ok()
                    .and_then(|t| t.as_string())
                    .ok_or_else(|| {
                        invalid("memory import: the document is not JSON-serializable")
                    })?,
            };
            let ((episodes, facts), warnings) = s.session.import(&text).await.map_err(js_error)?;
            warn_all(&warnings);
            to_js(&serde_json::json!({ "episodes": episodes, "facts": facts }))
        })
    }

    /// Deletes every record recagent stored for this namespace (every object
    /// store of its database: 0 records left), the items the user added
    /// included — they also leave the live catalog; resolves to the number
    /// of memory keys removed. The recommender's in-memory profile is not
    /// touched (call `resetProfile()` too).
    #[wasm_bindgen(js_name = forgetEverything, unchecked_return_type = "Promise<number>")]
    pub fn forget_everything(&self) -> js_sys::Promise {
        let s = self.shared.clone();
        promise(async move {
            let (removed, warnings) = s.session.forget_everything().await.map_err(js_error)?;
            warn_all(&warnings);
            Ok(JsValue::from(removed as f64))
        })
    }

    /// `navigator.storage.estimate()`, whether the memory is persistent,
    /// and how many records were found corrupt and set aside.
    #[wasm_bindgen(unchecked_return_type = "Promise<MemoryEstimate>")]
    pub fn estimate(&self) -> js_sys::Promise {
        let persistent = self.persistent();
        let memory = self.shared.memory();
        promise(async move {
            let (usage, quota) = idb::estimate().await;
            let persisted = persistent && idb::persisted().await;
            let corrupt = memory.corrupt_count().await.map_err(js_error)?;
            to_js(&serde_json::json!({
                "usage": usage, "quota": quota, "persistent": persistent,
                "persisted": persisted, "corrupt": corrupt,
            }))
        })
    }

    /// `true` while the memory is stored in IndexedDB; `false` for the
    /// in-memory fallback (or after a `versionchange` closed the connection).
    #[wasm_bindgen(getter)]
    pub fn persistent(&self) -> bool {
        self.shared.idb.as_ref().is_some_and(|i| !i.is_closed())
    }

    /// Why IndexedDB is not used (`undefined` when it is).
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.shared.fallback_reason.clone()
    }

    /// The IndexedDB database name (`undefined` for the memory fallback).
    #[wasm_bindgen(getter, js_name = databaseName)]
    pub fn database_name(&self) -> Option<String> {
        self.shared.idb.as_ref().map(|i| i.name().to_string())
    }

    /// Calls `callback(type)` on each later `versionchange` (another tab
    /// opened a newer schema: this connection closed, reload the page),
    /// `blocked` or `corrupt` (a read found a corrupt record and set it
    /// aside; see `estimate().corrupt` and `export().corrupt`) event.
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MemoryEventType")] kind: String,
        #[wasm_bindgen(unchecked_param_type = "(type: MemoryEventType) => void")]
        callback: js_sys::Function,
    ) -> Result<(), JsValue> {
        let wanted = match kind.as_str() {
            "versionchange" => StoreEvent::VersionChange,
            "blocked" => StoreEvent::Blocked,
            "corrupt" => StoreEvent::Corrupt,
            other => {
                return Err(invalid(format!(
                    "memory.on: unknown event {other:?} (versionchange, blocked, corrupt)"
                )))
            }
        };
        self.shared.events.on(move |e| {
            if e == wanted {
                let _ = callback.call1(&JsValue::NULL, &JsValue::from_str(e.name()));
            }
        });
        Ok(())
    }
}
