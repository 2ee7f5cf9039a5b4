//! Small helpers of the IndexedDB store: waiting for DOM events as futures,
//! timers, the global `indexedDB` / `navigator.storage`, error mapping, and
//! the listeners that receive `versionchange` / `blocked`.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use futures::channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DomException, Event, EventTarget, IdbFactory};

use recagent_core::error::Error;

/// Something that happened to a store's connection, for the app to react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreEvent {
    /// Another tab (or code) opened the database at a newer version: this
    /// connection was closed and every later operation fails with
    /// `storage_error` until the page reloads (or the store is reopened).
    VersionChange,
    /// Opening (or upgrading) waits for other connections that do not
    /// close; the open proceeds once they do, or gives up at its timeout.
    Blocked,
    /// A read of the memory found a corrupt record: it was skipped and set
    /// aside under `corrupt/` (counted by `estimate().corrupt`, carried by
    /// `export()`).
    Corrupt,
}

impl StoreEvent {
    /// The event name JS sees (`"versionchange"` / `"blocked"` / `"corrupt"`).
    pub fn name(self) -> &'static str {
        match self {
            StoreEvent::VersionChange => "versionchange",
            StoreEvent::Blocked => "blocked",
            StoreEvent::Corrupt => "corrupt",
        }
    }
}

type Listener = Rc<dyn Fn(StoreEvent)>;

/// Listeners of [`StoreEvent`]s; clones share the list.
#[derive(Clone, Default)]
pub struct StoreEvents {
    listeners: Rc<RefCell<Vec<Listener>>>,
}

impl StoreEvents {
    /// No listener yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `f` on every later event.
    pub fn on(&self, f: impl Fn(StoreEvent) + 'static) {
        self.listeners.borrow_mut().push(Rc::new(f));
    }

    /// Calls every listener (a listener may add listeners: the list is
    /// copied first, no borrow is held during the calls).
    pub fn emit(&self, event: StoreEvent) {
        let listeners: Vec<Listener> = self.listeners.borrow().clone();
        for f in listeners {
            f(event);
        }
    }
}

/// The `error` of a failed IndexedDB request (`null` when it has none).
pub fn request_error(request: &web_sys::IdbRequest) -> JsValue {
    request.error().ok().flatten().map(JsValue::from).unwrap_or(JsValue::NULL)
}

/// Maps a failure of IndexedDB to a recagent error. `error` is what the
/// request or transaction reported (usually a `DOMException`);
/// `transaction_error` is the transaction's `error`, consulted when `error`
/// is an `AbortError` (a request of an aborted transaction): a quota abort
/// arrives as `AbortError` on the requests and `QuotaExceededError` on the
/// transaction. `QuotaExceededError` → [`Error::QuotaExceeded`], anything
/// else → [`Error::Storage`].
pub fn map_idb_error(error: &JsValue, transaction_error: Option<&JsValue>, context: &str) -> Error {
    let (name, message) = dom_name_message(error);
    let (name, message) = match (name.as_str(), transaction_error) {
        ("AbortError" | "", Some(t)) if !t.is_null() && !t.is_undefined() => {
            let (tn, tm) = dom_name_message(t);
            if tn.is_empty() {
                (name, message)
            } else {
                (tn, tm)
            }
        }
        _ => (name, message),
    };
    if name == "QuotaExceededError" {
        Error::QuotaExceeded(format!("{context}: {message}"))
    } else if name.is_empty() {
        Error::Storage(format!("{context}: {message}"))
    } else {
        Error::Storage(format!("{context}: {name}: {message}"))
    }
}

/// `(name, message)` of a `DOMException` / `Error`, or `("", text)`.
fn dom_name_message(value: &JsValue) -> (String, String) {
    if let Some(d) = value.dyn_ref::<DomException>() {
        return (d.name(), d.message());
    }
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return (e.name().into(), e.message().into());
    }
    let text = value.as_string().unwrap_or_else(|| format!("{value:?}"));
    (String::new(), text)
}

/// A future resolved by the first of `ok` / `fail` events fired on
/// `target`. The listeners are registered **now** (synchronously), so the
/// caller may queue more work before awaiting; they are removed when the
/// future completes. `true` when an `ok` event came first.
pub fn wait_event(
    target: &EventTarget,
    ok: &'static [&'static str],
    fail: &'static [&'static str],
) -> impl Future<Output = bool> {
    let (tx, rx) = oneshot::channel::<bool>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let make = |success: bool| {
        let tx = tx.clone();
        Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(success);
            }
        })
    };
    let guard = Listening {
        target: target.clone(),
        names: [ok, fail],
        closures: [make(true), make(false)],
    };
    for (names, f) in guard.names.iter().zip(&guard.closures) {
        for name in *names {
            let _ = target.add_event_listener_with_callback(name, f.as_ref().unchecked_ref());
        }
    }
    async move {
        let out = rx.await;
        drop(guard);
        // The sender lives in the closures the guard owned: it cannot be dropped first.
        out.unwrap_or(false)
    }
}

/// Event listeners that are removed when dropped (also when the future
/// waiting on them is dropped, e.g. after losing a race with a timeout), so
/// JS never calls a freed closure.
struct Listening {
    target: EventTarget,
    names: [&'static [&'static str]; 2],
    closures: [Closure<dyn FnMut(Event)>; 2],
}

impl Drop for Listening {
    fn drop(&mut self) {
        for (names, f) in self.names.iter().zip(&self.closures) {
            for name in *names {
                let _ = self
                    .target
                    .remove_event_listener_with_callback(name, f.as_ref().unchecked_ref());
            }
        }
    }
}

/// Resolves after `ms` milliseconds (`setTimeout` of the global object, so
/// it also works in workers).
pub fn sleep(ms: u32) -> wasm_bindgen_futures::JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        if let Ok(f) = js_sys::Reflect::get(&global, &"setTimeout".into()) {
            if let Some(f) = f.dyn_ref::<js_sys::Function>() {
                let _ = f.call2(&global, &resolve, &JsValue::from(ms));
            }
        }
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}

/// The global `indexedDB`, or `None` where it is missing (some private
/// modes, sandboxed iframes, old embedded webviews).
pub fn global_factory() -> Option<IdbFactory> {
    let v = js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into()).ok()?;
    if v.is_undefined() || v.is_null() {
        None
    } else {
        Some(v.unchecked_into())
    }
}

/// `navigator.storage`, or `None`.
pub fn storage_manager() -> Option<web_sys::StorageManager> {
    let nav = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let storage = js_sys::Reflect::get(&nav, &"storage".into()).ok()?;
    if storage.is_undefined() || storage.is_null() {
        None
    } else {
        Some(storage.unchecked_into())
    }
}

/// `navigator.storage.persist()`, best effort: `false` when refused,
/// missing or failing.
pub async fn request_persist() -> bool {
    let Some(m) = storage_manager() else {
        return false;
    };
    let Ok(p) = m.persist() else { return false };
    matches!(wasm_bindgen_futures::JsFuture::from(p).await, Ok(v) if v.as_bool() == Some(true))
}

/// `navigator.storage.persisted()`: `false` when missing or failing.
pub async fn persisted() -> bool {
    let Some(m) = storage_manager() else {
        return false;
    };
    let Ok(p) = m.persisted() else { return false };
    matches!(wasm_bindgen_futures::JsFuture::from(p).await, Ok(v) if v.as_bool() == Some(true))
}

/// `navigator.storage.estimate()` as `(usage, quota)` bytes; `(0, 0)` when
/// the API is missing.
pub async fn estimate() -> (f64, f64) {
    let Some(m) = storage_manager() else {
        return (0.0, 0.0);
    };
    let Ok(p) = m.estimate() else {
        return (0.0, 0.0);
    };
    let Ok(v) = wasm_bindgen_futures::JsFuture::from(p).await else {
        return (0.0, 0.0);
    };
    let num = |k: &str| {
        js_sys::Reflect::get(&v, &k.into())
            .ok()
            .and_then(|x| x.as_f64())
            .unwrap_or(0.0)
    };
    (num("usage"), num("quota"))
}
