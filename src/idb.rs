//! [`IdbKvStore`]: the [`KvStore`] of the browser, over IndexedDB.
//!
//! - One database per app namespace, named [`database_name`]
//!   (`recagent:<namespace>`), with the object store [`KV_STORE`] (`kv`:
//!   string keys, `Uint8Array` values) and, from schema v2, [`META_STORE`]
//!   (`meta`: `"schema"` → the version that created it).
//! - The schema version is [`DB_VERSION`]; [`migrations`] is the list of
//!   `(version, fn(database, upgrade transaction))` run in order from the
//!   stored version to the requested one inside the `upgradeneeded`
//!   transaction. A migration that fails aborts that transaction: the
//!   database stays at its old version with every record, and the open
//!   fails with `storage_error`.
//! - Every [`KvStore::write`] batch is one `readwrite` transaction: all
//!   requests are queued synchronously, then only the transaction's
//!   `complete` / `abort` is awaited (nothing else runs inside it).
//! - [`KvStore::write_if`] is one `readwrite` transaction too: the `get`s of
//!   the expected keys are queued, and the `success` handler of the last one
//!   (all results are in by then: requests of a transaction complete in
//!   order) compares them and, synchronously in that handler, queues the
//!   batch or aborts. IndexedDB runs `readwrite` transactions over the same
//!   store one at a time, across every tab of the origin, so nothing can
//!   change between the check and the write (what Dexie's `modify` relies on).
//! - A value that is not a `Uint8Array` (written by other code, or by an
//!   older bug) is read as [`FOREIGN_VALUE_PREFIX`] followed by its JSON (or
//!   string) form: never an error, and never valid record bytes, so the
//!   memory sets it aside as corrupt instead of failing.
//! - `versionchange` on an open connection (another tab opens a newer
//!   version): the connection closes itself (unless
//!   [`IdbOptions::close_on_versionchange`] is off) and emits
//!   [`StoreEvent::VersionChange`]; later operations fail with
//!   `storage_error`. `blocked` while opening emits [`StoreEvent::Blocked`];
//!   the open goes on when the other connections close, or fails after
//!   [`IdbOptions::timeout_ms`].
//! - `QuotaExceededError` (also as the `AbortError` of a request whose
//!   transaction's error is `QuotaExceededError`) is `quota_exceeded`; the
//!   transaction aborted, so earlier data is intact.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    Event, IdbDatabase, IdbFactory, IdbKeyRange, IdbRequest, IdbTransaction, IdbTransactionMode,
};

pub use super::idb_open::{delete_database, memory_only, open_or_memory, OpenedStore};
use super::idb_open::{js_err, open_database};
use super::idb_util::{request_error, wait_event};
pub use super::idb_util::{
    estimate, map_idb_error, persisted, request_persist, StoreEvent, StoreEvents,
};
use recagent_core::error::{Error, Result};
use recagent_core::platform::{
    check_batch, check_conditional_batch, Expect, KvStore, LocalBoxFuture, WriteOp,
};

/// The object store holding the key-value pairs.
pub const KV_STORE: &str = "kv";
/// The object store added by schema v2 (store-level metadata).
pub const META_STORE: &str = "meta";
/// The schema version this recagent opens.
pub const DB_VERSION: u32 = 2;
/// How long an open may take before giving up (ms).
pub const OPEN_TIMEOUT_MS: u32 = 3000;
/// What a stored value that is not a `Uint8Array` reads as: these bytes,
/// then the value's JSON (or string) form. Starts with a NUL byte, so no
/// JSON record or profile snapshot ever parses from it.
pub const FOREIGN_VALUE_PREFIX: &[u8] = b"\0recagent:not-bytes:";

/// The IndexedDB database name of an app namespace.
pub fn database_name(namespace: &str) -> String {
    format!("recagent:{namespace}")
}

/// One schema migration: brings the database to `version`, inside the
/// upgrade transaction. An `Err` aborts the whole upgrade.
#[derive(Clone, Copy)]
pub struct Migration {
    /// The version this migration produces.
    pub version: u32,
    /// The migration.
    pub run: fn(&IdbDatabase, &IdbTransaction) -> Result<(), JsValue>,
}

fn v1(db: &IdbDatabase, _tx: &IdbTransaction) -> Result<(), JsValue> {
    db.create_object_store(KV_STORE)?;
    Ok(())
}

fn v2(db: &IdbDatabase, _tx: &IdbTransaction) -> Result<(), JsValue> {
    let meta = db.create_object_store(META_STORE)?;
    meta.put_with_key(&JsValue::from(2), &JsValue::from_str("schema"))?;
    Ok(())
}

/// The migrations of this recagent, in version order (v1 creates `kv`, v2
/// adds `meta`; records of `kv` are never touched).
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            run: v1,
        },
        Migration {
            version: 2,
            run: v2,
        },
    ]
}

/// How to open an [`IdbKvStore`].
#[derive(Clone)]
pub struct IdbOptions {
    /// Database name (default [`database_name`] of the namespace).
    pub name: String,
    /// Version to open (default [`DB_VERSION`]).
    pub version: u32,
    /// Migrations (default [`migrations`]).
    pub migrations: Vec<Migration>,
    /// Give up opening after this many ms (default [`OPEN_TIMEOUT_MS`]).
    pub timeout_ms: u32,
    /// The `IDBFactory` (default the global `indexedDB`; tests inject others).
    pub factory: Option<IdbFactory>,
    /// Close the connection when a newer version is requested elsewhere (default true).
    pub close_on_versionchange: bool,
    /// Where `versionchange` / `blocked` go.
    pub events: StoreEvents,
}

impl IdbOptions {
    /// The defaults for `namespace`.
    pub fn new(namespace: &str) -> Self {
        Self {
            name: database_name(namespace),
            version: DB_VERSION,
            migrations: migrations(),
            timeout_ms: OPEN_TIMEOUT_MS,
            factory: None,
            close_on_versionchange: true,
            events: StoreEvents::new(),
        }
    }
}

struct Conn {
    db: IdbDatabase,
    closed: Rc<Cell<bool>>,
    _on_versionchange: Closure<dyn FnMut(Event)>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }
}

/// A [`KvStore`] over one IndexedDB database (see the module docs). Clones
/// share the connection.
#[derive(Clone)]
pub struct IdbKvStore {
    conn: Rc<Conn>,
    name: String,
}

impl IdbKvStore {
    /// Opens (creating or migrating) the database. Fails with
    /// `storage_error` when IndexedDB is missing, the open is refused, a
    /// migration fails, or nothing answers within the timeout.
    pub async fn open(options: IdbOptions) -> Result<Self> {
        let db = open_database(&options).await?;
        let closed = Rc::new(Cell::new(false));
        let on_versionchange = {
            let (db, closed, events, close) = (
                db.clone(),
                closed.clone(),
                options.events.clone(),
                options.close_on_versionchange,
            );
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                if close {
                    db.close();
                    closed.set(true);
                }
                events.emit(StoreEvent::VersionChange);
            })
        };
        db.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        Ok(Self {
            conn: Rc::new(Conn {
                db,
                closed,
                _on_versionchange: on_versionchange,
            }),
            name: options.name,
        })
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version of the open database.
    pub fn version(&self) -> u32 {
        self.conn.db.version() as u32
    }

    /// The object stores of the database.
    pub fn object_store_names(&self) -> Vec<String> {
        let list = self.conn.db.object_store_names();
        (0..list.length()).filter_map(|i| list.item(i)).collect()
    }

    /// Whether the connection was closed (by [`IdbKvStore::close`] or a `versionchange`).
    pub fn is_closed(&self) -> bool {
        self.conn.closed.get()
    }

    /// Closes the connection; later operations fail with `storage_error`.
    pub fn close(&self) {
        self.conn.db.close();
        self.conn.closed.set(true);
    }

    /// Number of records in object store `store` (a raw count, for checks).
    pub async fn count(&self, store: &str) -> Result<u32> {
        let tx = self.transaction(&[store], IdbTransactionMode::Readonly)?;
        let req = tx
            .object_store(store)
            .and_then(|s| s.count())
            .map_err(js_err("count"))?;
        let n = request(&req, &tx, "count").await?;
        Ok(n.as_f64().unwrap_or(0.0) as u32)
    }

    fn transaction(&self, stores: &[&str], mode: IdbTransactionMode) -> Result<IdbTransaction> {
        if self.conn.closed.get() {
            return Err(Error::Storage(format!(
                "the IndexedDB connection to {:?} is closed (a newer version was opened in another tab, \
                 or close() was called); reload the page",
                self.name
            )));
        }
        let names = js_sys::Array::new();
        for s in stores {
            names.push(&JsValue::from_str(s));
        }
        self.conn
            .db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .map_err(js_err("transaction"))
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let tx = self.transaction(&[KV_STORE], IdbTransactionMode::Readonly)?;
        let store = tx.object_store(KV_STORE).map_err(js_err("scan"))?;
        let (keys, values) = match prefix_range(prefix)? {
            Some(range) => (
                store
                    .get_all_keys_with_key(&range)
                    .map_err(js_err("scan"))?,
                store.get_all_with_key(&range).map_err(js_err("scan"))?,
            ),
            None => (
                store.get_all_keys().map_err(js_err("scan"))?,
                store.get_all().map_err(js_err("scan"))?,
            ),
        };
        let keys: js_sys::Array = request(&keys, &tx, "scan").await?.unchecked_into();
        let values: js_sys::Array = request(&values, &tx, "scan").await?.unchecked_into();
        let mut out = Vec::with_capacity(keys.length() as usize);
        for (k, v) in keys.iter().zip(values.iter()) {
            let Some(k) = k.as_string() else { continue };
            if k.starts_with(prefix) {
                out.push((k, value_bytes(v)));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn apply(&self, ops: Vec<WriteOp>) -> Result<()> {
        check_batch(&ops)?;
        if ops.is_empty() {
            return Ok(());
        }
        let tx = self.transaction(&[KV_STORE], IdbTransactionMode::Readwrite)?;
        let done = wait_event(tx.as_ref(), &["complete"], &["abort"]);
        let queued = tx.object_store(KV_STORE).and_then(|store| queue_ops(&store, &ops));
        if let Err(e) = queued {
            let _ = tx.abort();
            return Err(map_idb_error(&e, None, "write"));
        }
        finish(&tx, done, "write").await
    }

    /// [`KvStore::write_if`]: check and write in one `readwrite` transaction
    /// (module docs).
    async fn apply_if(&self, expect: Vec<Expect>, ops: Vec<WriteOp>) -> Result<bool> {
        check_conditional_batch(&expect, &ops)?;
        if expect.is_empty() {
            return self.apply(ops).await.map(|()| true);
        }
        let tx = self.transaction(&[KV_STORE], IdbTransactionMode::Readwrite)?;
        let done = wait_event(tx.as_ref(), &["complete"], &["abort"]);
        let store = tx.object_store(KV_STORE).map_err(js_err("write"))?;
        let mut gets = Vec::with_capacity(expect.len());
        for e in &expect {
            match store.get(&JsValue::from_str(&e.key)) {
                Ok(r) => gets.push(r),
                Err(err) => {
                    let _ = tx.abort();
                    return Err(map_idb_error(&err, None, "write"));
                }
            }
        }
        let Some(last) = gets.last().cloned() else {
            return self.apply(ops).await.map(|()| true);
        };
        // Some(true): the batch was queued; Some(false): an expectation failed.
        let verdict = Rc::new(Cell::new(None::<bool>));
        let queue_error = Rc::new(RefCell::new(None::<JsValue>));
        let on_checked = {
            let (verdict, queue_error, tx) = (verdict.clone(), queue_error.clone(), tx.clone());
            let mut pending = Some((expect, gets, ops, store));
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                let Some((expect, gets, ops, store)) = pending.take() else {
                    return;
                };
                let holds = expect.iter().zip(&gets).all(|(e, r)| {
                    let now = r.result().ok().filter(|v| !v.is_undefined()).map(value_bytes);
                    now.as_deref() == e.value.as_deref()
                });
                if !holds {
                    verdict.set(Some(false));
                    let _ = tx.abort();
                    return;
                }
                match queue_ops(&store, &ops) {
                    Ok(()) => verdict.set(Some(true)),
                    Err(e) => {
                        *queue_error.borrow_mut() = Some(e);
                        let _ = tx.abort();
                    }
                }
            })
        };
        last.set_onsuccess(Some(on_checked.as_ref().unchecked_ref()));
        let completed = done.await;
        last.set_onsuccess(None);
        drop(on_checked);
        if completed && verdict.get() == Some(true) {
            return Ok(true);
        }
        if verdict.get() == Some(false) {
            return Ok(false);
        }
        if let Some(e) = queue_error.borrow_mut().take() {
            return Err(map_idb_error(&e, None, "write"));
        }
        let err = tx
            .error()
            .map(JsValue::from)
            .unwrap_or_else(|| JsValue::from_str("transaction aborted"));
        Err(map_idb_error(&err, None, "write"))
    }

    async fn clear_all(&self) -> Result<()> {
        let names = self.object_store_names();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let tx = self.transaction(&refs, IdbTransactionMode::Readwrite)?;
        let done = wait_event(tx.as_ref(), &["complete"], &["abort"]);
        for name in &refs {
            if let Err(e) = tx.object_store(name).and_then(|s| s.clear()) {
                let _ = tx.abort();
                return Err(map_idb_error(&e, None, "clear"));
            }
        }
        finish(&tx, done, "clear").await
    }
}

/// The key range of every string starting with `prefix` (`None`: all keys).
fn prefix_range(prefix: &str) -> Result<Option<IdbKeyRange>> {
    if prefix.is_empty() {
        return Ok(None);
    }
    let mut upper: Vec<u16> = prefix.encode_utf16().collect();
    while upper.last() == Some(&0xFFFF) {
        upper.pop();
    }
    let lower = JsValue::from_str(prefix);
    let range = match upper.last_mut() {
        Some(last) => {
            *last += 1;
            let upper = js_sys::JsString::from_char_code(&upper);
            IdbKeyRange::bound_with_lower_open_and_upper_open(&lower, &upper, false, true)
        }
        None => IdbKeyRange::lower_bound(&lower),
    };
    range.map(Some).map_err(js_err("scan"))
}

/// Queues `ops` on `store` (no await: the transaction stays active).
fn queue_ops(store: &web_sys::IdbObjectStore, ops: &[WriteOp]) -> Result<(), JsValue> {
    for op in ops {
        match op {
            WriteOp::Put { key, value } => {
                store.put_with_key(
                    &js_sys::Uint8Array::from(value.as_slice()),
                    &JsValue::from_str(key),
                )?;
            }
            WriteOp::Delete { key } => {
                store.delete(&JsValue::from_str(key))?;
            }
        }
    }
    Ok(())
}

/// The bytes of a stored value: a `Uint8Array` (or `ArrayBuffer`) as is,
/// anything else as [`FOREIGN_VALUE_PREFIX`] + its JSON (or string) form.
fn value_bytes(v: JsValue) -> Vec<u8> {
    if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        return a.to_vec();
    }
    if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        return js_sys::Uint8Array::new(b).to_vec();
    }
    let text = js_sys::JSON::stringify(&v)
        .ok()
        .and_then(|t| t.as_string())
        .or_else(|| v.as_string())
        .unwrap_or_else(|| format!("{v:?}"));
    let mut out = FOREIGN_VALUE_PREFIX.to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

/// The result of one request (its transaction holds nothing else pending).
async fn request(req: &IdbRequest, tx: &IdbTransaction, context: &'static str) -> Result<JsValue> {
    if wait_event(req.as_ref(), &["success"], &["error"]).await {
        req.result().map_err(js_err(context))
    } else {
        let err = request_error(req);
        let tx_err = tx.error().map(JsValue::from);
        Err(map_idb_error(&err, tx_err.as_ref(), context))
    }
}

/// Waits for the transaction's `complete` (`Ok`) or `abort` (its error, mapped).
async fn finish(
    tx: &IdbTransaction,
    done: impl std::future::Future<Output = bool>,
    context: &'static str,
) -> Result<()> {
    if done.await {
        Ok(())
    } else {
        let err = tx
            .error()
            .map(JsValue::from)
            .unwrap_or_else(|| JsValue::from_str("transaction aborted"));
        Err(map_idb_error(&err, None, context))
    }
}

impl KvStore for IdbKvStore {
    fn get(&self, key: &str) -> LocalBoxFuture<'_, Result<Option<Vec<u8>>>> {
        let key = key.to_string();
        Box::pin(async move {
            let tx = self.transaction(&[KV_STORE], IdbTransactionMode::Readonly)?;
            let req = tx
                .object_store(KV_STORE)
                .and_then(|s| s.get(&JsValue::from_str(&key)))
                .map_err(js_err("get"))?;
            let v = request(&req, &tx, "get").await?;
            if v.is_undefined() {
                Ok(None)
            } else {
                Ok(Some(value_bytes(v)))
            }
        })
    }

    fn put(&self, key: &str, value: Vec<u8>) -> LocalBoxFuture<'_, Result<()>> {
        let op = WriteOp::Put {
            key: key.to_string(),
            value,
        };
        Box::pin(self.apply(vec![op]))
    }

    fn delete(&self, key: &str) -> LocalBoxFuture<'_, Result<()>> {
        let op = WriteOp::Delete {
            key: key.to_string(),
        };
        Box::pin(self.apply(vec![op]))
    }

    fn scan_prefix(&self, prefix: &str) -> LocalBoxFuture<'_, Result<Vec<(String, Vec<u8>)>>> {
        let prefix = prefix.to_string();
        Box::pin(async move { self.scan(&prefix).await })
    }

    fn write(&self, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<()>> {
        Box::pin(self.apply(ops))
    }

    fn write_if(&self, expect: Vec<Expect>, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<bool>> {
        Box::pin(self.apply_if(expect, ops))
    }

    /// Clears every object store of the database (`kv` and `meta`).
    fn clear(&self) -> LocalBoxFuture<'_, Result<()>> {
        Box::pin(self.clear_all())
    }
}
