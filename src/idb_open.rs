//! Opening an IndexedDB database for [`super::idb::IdbKvStore`]: the
//! version request with its migrations, `blocked` and the timeout; the
//! memory fallback ([`open_or_memory`]) and [`delete_database`].

use std::cell::Cell;
use std::rc::Rc;

use futures::future::{select, Either};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, IdbDatabase, IdbVersionChangeEvent};

use super::interop::describe;
use super::idb::{IdbKvStore, IdbOptions, OPEN_TIMEOUT_MS};
use super::idb_util::{
    global_factory, map_idb_error, request_error, request_persist, sleep, wait_event, StoreEvent,
};
use recagent_core::error::{Error, Result};
use recagent_core::platform::{KvStore, MemoryKvStore};

/// Converts an IndexedDB failure into `storage_error` / `quota_exceeded`, prefixed with `context`.
pub(super) fn js_err(context: &'static str) -> impl Fn(JsValue) -> Error {
    move |e| map_idb_error(&e, None, context)
}

/// Opens `options.name` at `options.version`, running the migrations in
/// the upgrade transaction (see [`super::idb`]).
pub(super) async fn open_database(options: &IdbOptions) -> Result<IdbDatabase> {
    let factory = options
        .factory
        .clone()
        .or_else(global_factory)
        .ok_or_else(|| Error::Storage("IndexedDB is not available".into()))?;
    let max = options
        .migrations
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    if options.version == 0 || max < options.version {
        return Err(Error::Storage(format!(
            "no migration reaches version {} of {}",
            options.version, options.name
        )));
    }
    let request = factory
        .open_with_u32(&options.name, options.version)
        .map_err(js_err("indexedDB.open"))?;
    let failure = Rc::new(std::cell::RefCell::new(None::<String>));
    let timed_out = Rc::new(Cell::new(false));
    let on_upgrade = {
        let (request, failure, migrations) =
            (request.clone(), failure.clone(), options.migrations.clone());
        Closure::<dyn FnMut(Event)>::new(move |e: Event| {
            let Some(ev) = e.dyn_ref::<IdbVersionChangeEvent>() else {
                return;
            };
            let (old, new) = (
                ev.old_version() as u32,
                ev.new_version().unwrap_or(0.0) as u32,
            );
            let (Some(db), Some(tx)) = (
                request
                    .result()
                    .ok()
                    .and_then(|r| r.dyn_into::<IdbDatabase>().ok()),
                request.transaction(),
            ) else {
                return;
            };
            let mut steps = migrations.clone();
            steps.sort_by_key(|m| m.version);
            for m in steps.iter().filter(|m| m.version > old && m.version <= new) {
                if let Err(err) = (m.run)(&db, &tx) {
                    *failure.borrow_mut() = Some(format!(
                        "migration to v{} failed ({}); the database stays at v{old}",
                        m.version,
                        describe(&err)
                    ));
                    let _ = tx.abort();
                    return;
                }
            }
        })
    };
    let blocked = Rc::new(Cell::new(false));
    let on_blocked = {
        let (events, blocked) = (options.events.clone(), blocked.clone());
        Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            blocked.set(true);
            events.emit(StoreEvent::Blocked);
        })
    };
    let on_late_success = {
        let (request, timed_out) = (request.clone(), timed_out.clone());
        Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if timed_out.get() {
                if let Ok(db) = request.result() {
                    db.unchecked_into::<IdbDatabase>().close();
                }
            }
        })
    };
    let target: &web_sys::EventTarget = request.as_ref();
    let mine = [
        ("upgradeneeded", &on_upgrade),
        ("blocked", &on_blocked),
        ("success", &on_late_success),
    ];
    for (name, f) in mine {
        let _ = target.add_event_listener_with_callback(name, f.as_ref().unchecked_ref());
    }
    let done = wait_event(target, &["success"], &["error"]);
    let outcome = select(Box::pin(done), Box::pin(sleep(options.timeout_ms))).await;
    let ok = match outcome {
        Either::Left((ok, _)) => ok,
        Either::Right(_) => {
            timed_out.set(true);
            // The request may still answer: JS keeps these closures (a late
            // success closes the connection). Leaked on this path only.
            on_upgrade.forget();
            on_blocked.forget();
            on_late_success.forget();
            let why = if blocked.get() {
                " (blocked by another open connection)"
            } else {
                ""
            };
            return Err(Error::Storage(format!(
                "opening IndexedDB {:?} did not answer within {} ms{why}",
                options.name, options.timeout_ms
            )));
        }
    };
    for (name, f) in mine {
        let _ = target.remove_event_listener_with_callback(name, f.as_ref().unchecked_ref());
    }
    if !ok {
        if let Some(msg) = failure.borrow_mut().take() {
            return Err(Error::Storage(format!("{}: {msg}", options.name)));
        }
        let err = request_error(&request);
        return Err(map_idb_error(&err, None, "indexedDB.open"));
    }
    request
        .result()
        .map_err(js_err("indexedDB.open"))?
        .dyn_into()
        .map_err(|_| Error::Storage("indexedDB.open gave no database".into()))
}

/// What [`open_or_memory`] opened.
pub struct OpenedStore {
    /// The store to use.
    pub store: Rc<dyn KvStore>,
    /// The IndexedDB store, when that is what opened (`None`: memory fallback).
    pub idb: Option<IdbKvStore>,
    /// Why IndexedDB was not used, when it was not.
    pub fallback_reason: Option<String>,
}

/// Opens the IndexedDB store, or falls back to a [`MemoryKvStore`] (data
/// lasts until the page closes) when IndexedDB is missing, refuses, fails
/// or does not answer within the timeout. On success, when
/// `request_persistence`, it also asks `navigator.storage.persist()` in the
/// background (best effort, never awaited).
pub async fn open_or_memory(options: IdbOptions, request_persistence: bool) -> OpenedStore {
    match IdbKvStore::open(options).await {
        Ok(idb) => {
            if request_persistence {
                wasm_bindgen_futures::spawn_local(async {
                    request_persist().await;
                });
            }
            OpenedStore {
                store: Rc::new(idb.clone()),
                idb: Some(idb),
                fallback_reason: None,
            }
        }
        Err(e) => OpenedStore {
            store: Rc::new(MemoryKvStore::new()),
            idb: None,
            fallback_reason: Some(e.to_string()),
        },
    }
}

/// A [`MemoryKvStore`] chosen by the app (nothing durable is opened);
/// `reason` is reported where the storage is described.
pub fn memory_only(reason: &str) -> OpenedStore {
    OpenedStore {
        store: Rc::new(MemoryKvStore::new()),
        idb: None,
        fallback_reason: Some(reason.to_string()),
    }
}

/// Deletes the database `name` (tests and tools; `blocked` waits up to the timeout).
pub async fn delete_database(name: &str) -> Result<()> {
    let factory =
        global_factory().ok_or_else(|| Error::Storage("IndexedDB is not available".into()))?;
    let req = factory
        .delete_database(name)
        .map_err(js_err("deleteDatabase"))?;
    let done = wait_event(req.as_ref(), &["success"], &["error"]);
    match select(Box::pin(done), Box::pin(sleep(OPEN_TIMEOUT_MS))).await {
        Either::Left((true, _)) => Ok(()),
        Either::Left((false, _)) => {
            let err = request_error(&req);
            Err(map_idb_error(&err, None, "deleteDatabase"))
        }
        Either::Right(_) => Err(Error::Storage(format!(
            "deleting {name:?} was blocked by open connections"
        ))),
    }
}
