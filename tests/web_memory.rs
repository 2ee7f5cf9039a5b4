//! Browser tests of the IndexedDB store and the JS `Memory` API (headless
//! Chromium via `wasm-pack test`): the memory model over IndexedDB, reload
//! survival, migrations (v1 → v2 with thousands of records, a failing one),
//! versionchange / blocked, quota errors, 1,000 interleaved writes, 500
//! remembers in flight from two connections (two tabs), corrupt and foreign
//! values, the write rate, the memory fallback, and `recommender.memory`
//! with the real MiniLM.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::join_all;
use recagent::idb::{self, IdbKvStore, IdbOptions, Migration, StoreEvent};
use recagent_core::memory::{Embedder, Memory};
use recagent_core::platform::{
    Expect, KvStore, LocalBoxFuture, ManualClock, Rng, SeededRng, WriteOp,
};
use recagent::JsRecommender;
use recagent_core::{Error, Result};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MINILM: &[u8] = include_bytes!("../assets/minilm-int8.onnx");
static VOCAB: &str = include_str!("../assets/vocab.txt");
/// Built by `scripts/test.sh` (`recagent build-catalog` on ML-100K).
static ML100K: &[u8] = include_bytes!("../assets/catalog/ml-100k.rcat");

const TOPICS: &[&str] = &[
    "cook",
    "vegetarian",
    "food",
    "travel",
    "ferr",
    "music",
    "jazz",
];

/// A deterministic embedder: counts of a few topic words.
struct Topics;

impl Embedder for Topics {
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let lower = text.to_lowercase();
        let mut v: Vec<f32> = TOPICS
            .iter()
            .map(|t| lower.matches(t).count() as f32)
            .collect();
        v.push(0.1);
        Ok(v)
    }
}

/// A database name no other test uses.
fn unique(name: &str) -> String {
    format!("recagent-test:{name}:{}", js_sys::Math::random())
}

fn options(name: &str) -> IdbOptions {
    let mut o = IdbOptions::new("unused");
    o.name = name.to_string();
    o
}

/// Options opening only schema v1.
fn options_v1(name: &str) -> IdbOptions {
    let mut o = options(name);
    o.version = 1;
    o.migrations.truncate(1);
    o
}

fn events_of(o: &IdbOptions) -> Rc<RefCell<Vec<StoreEvent>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    o.events.on(move |e| s.borrow_mut().push(e));
    seen
}

fn put(key: String, value: Vec<u8>) -> WriteOp {
    WriteOp::Put { key, value }
}

async fn fill(store: &IdbKvStore, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let ops = chunk
            .iter()
            .map(|i| put(format!("r/{i:06}"), i.to_le_bytes().to_vec()))
            .collect();
        store.write(ops).await.unwrap();
    }
}

async fn memory_over(store: Rc<dyn KvStore>, clock: &ManualClock) -> Memory {
    Memory::open(store, Rc::new(clock.clone()))
        .await
        .unwrap()
        .with_embedder(Rc::new(Topics))
}

#[wasm_bindgen_test]
async fn memory_model_over_indexeddb() {
    let name = unique("model");
    let idb = IdbKvStore::open(options(&name)).await.unwrap();
    assert_eq!(idb.version(), idb::DB_VERSION);
    assert_eq!(idb.object_store_names(), ["kv", "meta"]);
    let clock = ManualClock::at(1_764_000_000_000.0);
    let mem = memory_over(Rc::new(idb.clone()), &clock).await;
    let veg = mem.remember("I am vegetarian, I love food").await.unwrap();
    clock.advance(1000.0);
    let ferry = mem.remember("travel: I prefer ferries").await.unwrap();
    mem.remember("I like jazz music").await.unwrap();
    let found = mem.recall("what food should I cook", 3).await.unwrap();
    assert_eq!(found[0].fact.id, veg.id);
    let found = mem.recall("how to travel by ferry", 1).await.unwrap();
    assert_eq!(found[0].fact.id, ferry.id);
    assert_eq!(mem.forget(&ferry.id).await.unwrap(), 2);
    assert_eq!(mem.facts().await.unwrap().len(), 2);

    let doc = mem.export().await.unwrap();
    let other_name = unique("model-import");
    let other = IdbKvStore::open(options(&other_name)).await.unwrap();
    let copy = memory_over(Rc::new(other.clone()), &clock).await;
    assert_eq!(copy.import(&doc).await.unwrap(), (2, 2));
    let again: serde_json::Value = serde_json::from_str(&copy.export().await.unwrap()).unwrap();
    let first: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(again["semantic"], first["semantic"]);
    assert_eq!(again["episodic"], first["episodic"]);

    assert!(idb.count("meta").await.unwrap() > 0);
    assert!(mem.forget_everything().await.unwrap() > 0);
    assert_eq!(idb.count("kv").await.unwrap(), 0);
    assert_eq!(idb.count("meta").await.unwrap(), 0);
    copy.forget_everything().await.unwrap();
    assert_eq!(other.count("kv").await.unwrap(), 0);
    idb.close();
    other.close();
    idb::delete_database(&name).await.unwrap();
    idb::delete_database(&other_name).await.unwrap();
}

#[wasm_bindgen_test]
async fn committed_records_survive_reopening() {
    let name = unique("reload");
    let store = IdbKvStore::open(options(&name)).await.unwrap();
    fill(&store, 300).await;
    store.put("single", vec![7; 10_000]).await.unwrap();
    store.delete("r/000000").await.unwrap();
    store.close();
    assert_eq!(
        store.get("single").await.unwrap_err().code(),
        "storage_error"
    );
    let reopened = IdbKvStore::open(options(&name)).await.unwrap();
    let all = reopened.scan_prefix("r/").await.unwrap();
    assert_eq!(all.len(), 299);
    assert_eq!(
        all[0],
        ("r/000001".to_string(), 1usize.to_le_bytes().to_vec())
    );
    assert_eq!(reopened.get("single").await.unwrap(), Some(vec![7; 10_000]));
    assert_eq!(reopened.get("r/000000").await.unwrap(), None);
    assert_eq!(reopened.scan_prefix("r/00029").await.unwrap().len(), 10);
    reopened.close();
    idb::delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn migration_v1_to_v2_keeps_every_record() {
    let name = unique("migrate");
    let v1 = IdbKvStore::open(options_v1(&name)).await.unwrap();
    assert_eq!(
        (v1.version(), v1.object_store_names()),
        (1, vec!["kv".to_string()])
    );
    fill(&v1, 3000).await;
    v1.close();
    let v2 = IdbKvStore::open(options(&name)).await.unwrap();
    assert_eq!(v2.version(), 2);
    assert_eq!(v2.object_store_names(), ["kv", "meta"]);
    assert_eq!(v2.count("kv").await.unwrap(), 3000);
    assert_eq!(v2.count("meta").await.unwrap(), 1);
    let all = v2.scan_prefix("").await.unwrap();
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, (k, v))| *k == format!("r/{i:06}") && *v == i.to_le_bytes()));
    v2.close();
    idb::delete_database(&name).await.unwrap();
}

fn failing(
    db: &web_sys::IdbDatabase,
    _tx: &web_sys::IdbTransaction,
) -> std::result::Result<(), JsValue> {
    db.create_object_store("meta")?;
    Err(js_sys::Error::new("boom").into())
}

#[wasm_bindgen_test]
async fn failing_migration_leaves_the_old_version_intact() {
    let name = unique("failing");
    let v1 = IdbKvStore::open(options_v1(&name)).await.unwrap();
    fill(&v1, 100).await;
    v1.close();
    let mut bad = options(&name);
    bad.migrations[1] = Migration {
        version: 2,
        run: failing,
    };
    let err = IdbKvStore::open(bad).await.err().unwrap();
    assert_eq!(err.code(), "storage_error");
    assert!(err.to_string().contains("migration to v2 failed"), "{err}");
    let again = IdbKvStore::open(options_v1(&name)).await.unwrap();
    assert_eq!(
        (again.version(), again.object_store_names()),
        (1, vec!["kv".to_string()])
    );
    assert_eq!(again.count("kv").await.unwrap(), 100);
    again.close();
    idb::delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn older_connection_gets_versionchange_and_newer_open_proceeds() {
    let name = unique("versionchange");
    let old_opts = options_v1(&name);
    let seen = events_of(&old_opts);
    let old = IdbKvStore::open(old_opts).await.unwrap();
    old.put("k", vec![1]).await.unwrap();
    let new = IdbKvStore::open(options(&name)).await.unwrap();
    assert_eq!(new.version(), 2);
    assert_eq!(*seen.borrow(), [StoreEvent::VersionChange]);
    assert!(old.is_closed());
    assert_eq!(old.get("k").await.unwrap_err().code(), "storage_error");
    assert_eq!(new.get("k").await.unwrap(), Some(vec![1]));
    new.close();
    idb::delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn blocked_open_emits_blocked_then_proceeds_once_unblocked() {
    let name = unique("blocked");
    let mut stubborn_opts = options_v1(&name);
    stubborn_opts.close_on_versionchange = false;
    let stubborn = IdbKvStore::open(stubborn_opts).await.unwrap();
    // The app closes the old connection on `blocked`: the open proceeds.
    let opts = options(&name);
    let seen = events_of(&opts);
    let to_close = stubborn.clone();
    opts.events.on(move |e| {
        if e == StoreEvent::Blocked {
            to_close.close();
        }
    });
    let store = IdbKvStore::open(opts).await.unwrap();
    assert_eq!(store.version(), 2);
    assert_eq!(*seen.borrow(), [StoreEvent::Blocked]);
    store.close();
    idb::delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn blocked_open_times_out_with_a_typed_error() {
    let name = unique("blocked-forever");
    let mut stubborn_opts = options_v1(&name);
    stubborn_opts.close_on_versionchange = false;
    let stubborn = IdbKvStore::open(stubborn_opts).await.unwrap();
    let mut waiting = options(&name);
    waiting.timeout_ms = 400;
    let seen = events_of(&waiting);
    let err = IdbKvStore::open(waiting).await.err().unwrap();
    assert_eq!(err.code(), "storage_error");
    assert!(err.to_string().contains("blocked"), "{err}");
    assert_eq!(*seen.borrow(), [StoreEvent::Blocked]);
    // Once the old connection closes, the abandoned open completes (and closes itself).
    stubborn.close();
    idb::delete_database(&name).await.unwrap();
}

fn dom(name: &str) -> JsValue {
    web_sys::DomException::new_with_message_and_name("simulated", name)
        .unwrap()
        .into()
}

/// A store with a tiny quota in front of IndexedDB: a batch that would pass
/// `limit` bytes fails as a whole with `QuotaExceeded`.
struct TinyQuota {
    inner: IdbKvStore,
    limit: usize,
}

impl TinyQuota {
    /// Whether writing `ops` would pass the limit.
    async fn quota_exceeded(&self, ops: &[WriteOp]) -> Result<bool> {
        let used: usize = self
            .inner
            .scan_prefix("")
            .await?
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        let adding: usize = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { key, value } => key.len() + value.len(),
                WriteOp::Delete { .. } => 0,
            })
            .sum();
        Ok(used + adding > self.limit)
    }
}

impl KvStore for TinyQuota {
    fn get(&self, key: &str) -> LocalBoxFuture<'_, Result<Option<Vec<u8>>>> {
        self.inner.get(key)
    }
    fn put(&self, key: &str, value: Vec<u8>) -> LocalBoxFuture<'_, Result<()>> {
        self.write(vec![put(key.into(), value)])
    }
    fn delete(&self, key: &str) -> LocalBoxFuture<'_, Result<()>> {
        self.inner.delete(key)
    }
    fn scan_prefix(&self, prefix: &str) -> LocalBoxFuture<'_, Result<Vec<(String, Vec<u8>)>>> {
        self.inner.scan_prefix(prefix)
    }
    fn write(&self, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.quota_exceeded(&ops).await? {
                // What IndexedDB reports: the requests' AbortError, the transaction's QuotaExceededError.
                return Err(idb::map_idb_error(
                    &dom("AbortError"),
                    Some(&dom("QuotaExceededError")),
                    "write",
                ));
            }
            self.inner.write(ops).await
        })
    }
    fn write_if(&self, expect: Vec<Expect>, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            if self.quota_exceeded(&ops).await? {
                return Err(idb::map_idb_error(
                    &dom("AbortError"),
                    Some(&dom("QuotaExceededError")),
                    "write",
                ));
            }
            self.inner.write_if(expect, ops).await
        })
    }
    fn clear(&self) -> LocalBoxFuture<'_, Result<()>> {
        self.inner.clear()
    }
}

#[wasm_bindgen_test]
async fn quota_errors_are_typed_and_keep_earlier_data() {
    let quota = idb::map_idb_error(&dom("QuotaExceededError"), None, "write");
    assert_eq!(quota.code(), "quota_exceeded");
    let aborted = idb::map_idb_error(
        &dom("AbortError"),
        Some(&dom("QuotaExceededError")),
        "write",
    );
    assert!(matches!(aborted, Error::QuotaExceeded(_)));
    assert_eq!(
        idb::map_idb_error(&dom("AbortError"), None, "write").code(),
        "storage_error"
    );
    assert_eq!(
        idb::map_idb_error(
            &dom("ConstraintError"),
            Some(&dom("QuotaExceededError")),
            "w"
        )
        .code(),
        "storage_error"
    );
    assert_eq!(
        idb::map_idb_error(&JsValue::from_str("x"), None, "w").code(),
        "storage_error"
    );

    let name = unique("quota");
    let inner = IdbKvStore::open(options(&name)).await.unwrap();
    let clock = ManualClock::at(1_764_000_000_000.0);
    let mem = memory_over(
        Rc::new(TinyQuota {
            inner: inner.clone(),
            limit: 2_000,
        }),
        &clock,
    )
    .await;
    let kept = mem.remember("I am vegetarian").await.unwrap();
    let long = "food ".repeat(400);
    assert_eq!(
        mem.remember(&long).await.unwrap_err().code(),
        "quota_exceeded"
    );
    let facts = mem.facts().await.unwrap();
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].id, kept.id);
    assert_eq!(mem.episodes().await.unwrap().len(), 1);
    inner.close();
    idb::delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_thousand_interleaved_writes_lose_nothing() {
    let name = unique("interleave");
    let store = IdbKvStore::open(options(&name)).await.unwrap();
    let mut rng = SeededRng::new(4);
    let mut order: Vec<usize> = (0..1000).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    // 8 concurrent writers; writer w takes every 8th key of the shuffled order,
    // alternating single puts and 3-key batches, with overwrites of its own keys.
    let writers = (0..8).map(|w| {
        let keys: Vec<usize> = order.iter().copied().skip(w).step_by(8).collect();
        let store = &store;
        async move {
            for (n, chunk) in keys.chunks(3).enumerate() {
                if n % 2 == 0 {
                    for k in chunk {
                        store.put(&format!("w/{k:04}"), vec![0]).await.unwrap();
                        store
                            .put(&format!("w/{k:04}"), (*k as u32).to_le_bytes().to_vec())
                            .await
                            .unwrap();
                    }
                } else {
                    let ops = chunk
                        .iter()
                        .map(|k| put(format!("w/{k:04}"), (*k as u32).to_le_bytes().to_vec()))
                        .collect();
                    store.write(ops).await.unwrap();
                }
            }
        }
    });
    join_all(writers).await;
    let all = store.scan_prefix("w/").await.unwrap();
    assert_eq!(all.len(), 1000);
    for (i, (k, v)) in all.iter().enumerate() {
        assert_eq!(
            (k.as_str(), v.as_slice()),
            (
                format!("w/{i:04}").as_str(),
                (i as u32).to_le_bytes().as_slice()
            )
        );
    }
    store.close();
    idb::delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn remembers_in_flight_from_two_connections_lose_nothing() {
    // Two connections to one database are what two tabs of an origin have.
    let name = unique("two-tabs");
    let clock = ManualClock::at(1_764_000_000_000.0);
    let (a, b) = (
        IdbKvStore::open(options(&name)).await.unwrap(),
        IdbKvStore::open(options(&name)).await.unwrap(),
    );
    let one = memory_over(Rc::new(a.clone()), &clock).await;
    let two = memory_over(Rc::new(b.clone()), &clock).await;
    // 2 × 250 remembers, all in flight together, interleaved.
    let calls = (0..500).map(|i| {
        let mem = if i % 2 == 0 { &one } else { &two };
        async move { mem.remember(&format!("fact {i}")).await.unwrap().id }
    });
    let ids = join_all(calls).await;
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 500, "every remember got its own id");
    let facts = one.facts().await.unwrap();
    assert_eq!(facts.len(), 500, "every remember is listed");
    assert_eq!(two.episodes().await.unwrap().len(), 500);
    a.close();
    b.close();
    idb::delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn remember_rate_over_indexeddb() {
    let name = unique("rate");
    let store = IdbKvStore::open(options(&name)).await.unwrap();
    let mem = memory_over(Rc::new(store.clone()), &ManualClock::at(1_764_000_000_000.0)).await;
    let n = 300;
    let started = js_sys::Date::now();
    for i in 0..n {
        mem.remember(&format!("fact number {i}")).await.unwrap();
    }
    let ms = js_sys::Date::now() - started;
    console_log!("remember rate over IndexedDB: {:.0}/s ({n} in {ms:.0} ms)", f64::from(n) * 1000.0 / ms);
    assert_eq!(mem.facts().await.unwrap().len(), n as usize);
    store.close();
    idb::delete_database(&name).await.unwrap();
}

/// Writes values recagent never writes straight into `kv` of database
/// `name`: a string under `sem/f50`, an object under the number key 7, and
/// bytes that are no record under `epi/0000000000000060`.
async fn write_foreign_values(name: &str) {
    let f = js_sys::Function::new_with_args(
        "name",
        "return new Promise((resolve, reject) => {
           const open = indexedDB.open(name);
           open.onerror = () => reject(open.error);
           open.onsuccess = () => {
             const db = open.result;
             const tx = db.transaction('kv', 'readwrite');
             const kv = tx.objectStore('kv');
             kv.put('a string, not bytes', 'sem/f50');
             kv.put({ x: 1 }, 7);
             kv.put(new Uint8Array([255, 0]), 'epi/0000000000000060');
             tx.oncomplete = () => { db.close(); resolve(); };
             tx.onabort = () => reject(tx.error);
           };
         });",
    );
    let p: js_sys::Promise = f.call1(&JsValue::NULL, &JsValue::from_str(name)).unwrap().unchecked_into();
    JsFuture::from(p).await.unwrap();
}

#[wasm_bindgen_test]
async fn corrupt_and_foreign_values_never_block_a_read() {
    let name = unique("corrupt");
    let store = IdbKvStore::open(options(&name)).await.unwrap();
    let mem = memory_over(Rc::new(store.clone()), &ManualClock::at(1_764_000_000_000.0)).await;
    mem.remember("I am vegetarian").await.unwrap();
    write_foreign_values(&name).await;
    let reported = Rc::new(RefCell::new(Vec::new()));
    let r = reported.clone();
    mem.on_corrupt(move |c| r.borrow_mut().push(c.key.clone()));
    assert_eq!(mem.facts().await.unwrap().len(), 1);
    assert_eq!(mem.episodes().await.unwrap().len(), 1);
    assert_eq!(mem.recall("food", 1).await.unwrap().len(), 1);
    assert_eq!(*reported.borrow(), ["sem/f50", "epi/0000000000000060"]);
    assert_eq!(mem.corrupt_count().await.unwrap(), 2);
    let doc: serde_json::Value = serde_json::from_str(&mem.export().await.unwrap()).unwrap();
    let aside = doc["corrupt"].as_array().unwrap();
    assert_eq!(aside.len(), 2);
    assert_eq!(aside[1]["key"], "sem/f50");
    let bytes = base64_decode(aside[1]["value"].as_str().unwrap());
    assert!(bytes.starts_with(idb::FOREIGN_VALUE_PREFIX) && bytes.ends_with(b"\"a string, not bytes\""));
    // A new id never lands on a key taken by anything.
    mem.remember("shoe size 8").await.unwrap();
    assert_eq!(mem.facts().await.unwrap().len(), 2);
    // Whatever is stored, forgetting everything leaves 0 records.
    mem.forget_everything().await.unwrap();
    assert_eq!((store.count("kv").await.unwrap(), store.count("meta").await.unwrap()), (0, 0));
    store.close();
    idb::delete_database(&name).await.unwrap();
}

fn base64_decode(text: &str) -> Vec<u8> {
    let atob = js_sys::Function::new_with_args("t", "return atob(t);");
    let decoded = atob.call1(&JsValue::NULL, &JsValue::from_str(text)).unwrap().as_string().unwrap();
    decoded.chars().map(|c| c as u8).collect()
}

#[wasm_bindgen_test]
async fn falls_back_to_memory_when_indexeddb_never_answers() {
    // A factory whose open() returns a request that never fires anything.
    let make = js_sys::Function::new_no_args("return { open() { return new EventTarget(); } };");
    let factory = make
        .call0(&JsValue::NULL)
        .unwrap()
        .unchecked_into::<web_sys::IdbFactory>();
    let mut o = options(&unique("never"));
    o.factory = Some(factory);
    let started = js_sys::Date::now();
    let opened = idb::open_or_memory(o, true).await;
    let waited = js_sys::Date::now() - started;
    assert!(opened.idb.is_none());
    assert!((3000.0..6000.0).contains(&waited), "waited {waited} ms");
    assert!(opened
        .fallback_reason
        .unwrap()
        .contains("did not answer within 3000 ms"));
    opened.store.put("k", vec![1]).await.unwrap();
    assert_eq!(opened.store.get("k").await.unwrap(), Some(vec![1]));
}

// ---- the JS API ------------------------------------------------------------

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

fn rec_options(namespace: &str, text: bool) -> JsValue {
    let o = json("{}");
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    set("catalog", &js_sys::Uint8Array::from(ML100K).into());
    set("namespace", &JsValue::from_str(namespace));
    if text {
        set("textModel", &js_sys::Uint8Array::from(MINILM).into());
        set("vocab", &JsValue::from_str(VOCAB));
    }
    o
}

async fn done(p: js_sys::Promise) -> std::result::Result<serde_json::Value, JsValue> {
    let v = JsFuture::from(p).await?;
    Ok(if v.is_undefined() {
        serde_json::Value::Null
    } else {
        serde_wasm_bindgen::from_value(v).unwrap()
    })
}

fn code(e: JsValue) -> String {
    js_sys::Reflect::get(&e, &JsValue::from_str("code"))
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
async fn js_memory_api_with_minilm() {
    let ns = format!("web-memory-{}", js_sys::Math::random());
    let rec = JsRecommender::create(rec_options(&ns, true)).await.unwrap();
    let memory = rec.memory();
    assert!(memory.persistent());
    assert_eq!(memory.database_name().unwrap(), format!("recagent:{ns}"));
    let veg = done(memory.remember("I am vegetarian".into()))
        .await
        .unwrap();
    assert_eq!(veg["id"], "f2");
    assert!(veg.get("embedding").is_none());
    done(memory.remember(json(
        r#"{"text":"I hate horror movies","importance":0.9,"confidence":0.8}"#,
    )))
    .await
    .unwrap();
    done(memory.remember("My cat is called Miso".into()))
        .await
        .unwrap();
    let found = done(memory.recall("what should I cook for dinner".into(), Some(3)))
        .await
        .unwrap();
    assert_eq!(found[0]["fact"]["id"], "f2", "{found}");
    let aversions = done(memory.list(Some(json(r#"{"kind":"aversion"}"#).unchecked_into())))
        .await
        .unwrap();
    assert_eq!(aversions.as_array().unwrap().len(), 1);
    assert!((aversions[0]["confidence"].as_f64().unwrap() - 0.8).abs() < 1e-6);
    let fixed = done(memory.correct("f6".into(), "My cat is called Mochi".into()))
        .await
        .unwrap();
    assert_eq!(fixed["text"], "My cat is called Mochi");
    assert_eq!(done(memory.forget("f4".into())).await.unwrap(), 2);
    done(memory.consolidate()).await.unwrap();
    let estimate = done(memory.estimate()).await.unwrap();
    assert_eq!(estimate["persistent"], true);
    assert_eq!(estimate["corrupt"], 0);
    assert!(estimate["quota"].as_f64().unwrap() > 0.0);

    let doc = JsFuture::from(memory.export_doc()).await.unwrap();
    assert_eq!(
        js_sys::Reflect::get(&doc, &"format".into()).unwrap(),
        "recagent-memory"
    );
    assert!(
        done(memory.forget_everything())
            .await
            .unwrap()
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        done(memory.list(None))
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let raw = IdbKvStore::open(options(&format!("recagent:{ns}")))
        .await
        .unwrap();
    assert_eq!(
        (
            raw.count("kv").await.unwrap(),
            raw.count("meta").await.unwrap()
        ),
        (0, 0)
    );
    let imported = done(memory.import_doc(doc)).await.unwrap();
    assert_eq!(imported, serde_json::json!({"episodes": 2, "facts": 2}));
    assert_eq!(
        done(rec.memory().list(None))
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The profile snapshot goes through the memory store and comes back at create.
    rec.observe(json(r#"{"item":"1","type":"like"}"#)).unwrap();
    let before = rec.profile().unwrap();
    JsFuture::from(rec.save_profile()).await.unwrap();
    let again = JsRecommender::create(rec_options(&ns, false))
        .await
        .unwrap();
    assert_eq!(again.profile().unwrap(), before);
    // Without the text model: remember and recall are invalid_input; the rest works.
    let plain = again.memory();
    assert_eq!(
        code(
            JsFuture::from(plain.remember("x".into()))
                .await
                .unwrap_err()
        ),
        "invalid_input"
    );
    assert_eq!(
        code(
            JsFuture::from(plain.recall("x".into(), None))
                .await
                .unwrap_err()
        ),
        "invalid_input"
    );
    assert_eq!(
        done(plain.list(None))
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        code(
            plain
                .on("nope".into(), js_sys::Function::new_no_args(""))
                .unwrap_err()
        ),
        "invalid_input"
    );
    let bad = json(r#"{"format":"other","version":1}"#);
    assert_eq!(
        code(JsFuture::from(plain.import_doc(bad)).await.unwrap_err()),
        "invalid_input"
    );
    done(plain.forget_everything()).await.unwrap();
    assert_eq!(
        (
            raw.count("kv").await.unwrap(),
            raw.count("meta").await.unwrap()
        ),
        (0, 0)
    );
    raw.close();
    drop((rec, again, memory, plain));
    idb::delete_database(&format!("recagent:{ns}"))
        .await
        .unwrap();
}
