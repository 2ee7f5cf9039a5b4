//! Browser tests of the JS `Recommender` class (headless Chromium via
//! `wasm-pack test`): the whole flow on the real ML-100K catalog through the
//! JS-facing API, the error codes, and a synthetic 100k-item catalog.
#![cfg(target_arch = "wasm32")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use recagent_core::catalog::{AttributeDef, AttributeKind, AttributeValue, CatalogParts, Embeddings, Item};
use recagent_core::vectors::kernels::QuantizedMatrix;
use recagent::JsRecommender;
use recagent_core::Catalog;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The system allocator, counting live and peak heap bytes (for the 100k figures).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live heap bytes now; resets the peak to it.
fn heap_mark() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

static MINILM: &[u8] = include_bytes!("../assets/minilm-int8.onnx");
static VOCAB: &str = include_str!("../assets/vocab.txt");
/// Built by `scripts/test.sh` (`recagent build-catalog` on ML-100K).
static ML100K: &[u8] = include_bytes!("../assets/catalog/ml-100k.rcat");

#[derive(Deserialize, Debug, Clone)]
struct Because {
    id: String,
    title: String,
    share: f64,
}

#[derive(Deserialize, Debug, Clone)]
struct Signals {
    history: f64,
    query: f64,
    penalty: f64,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct Explanation {
    summary: String,
    because: Vec<Because>,
    signals: Signals,
    explored: bool,
}

#[derive(Deserialize, Debug, Clone)]
struct Rec {
    id: String,
    title: String,
    score: f64,
    explanation: Explanation,
}

#[derive(Deserialize, Debug)]
struct ItemRecord {
    id: String,
    title: String,
    attributes: BTreeMap<String, serde_json::Value>,
}

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

/// `RecommenderOptions` with the catalog, the text model (if `text`) and extra JSON fields.
fn options(catalog: &[u8], text: bool, extra: &str) -> JsValue {
    let o = json(extra);
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    set("catalog", &js_sys::Uint8Array::from(catalog).into());
    if text {
        set("textModel", &js_sys::Uint8Array::from(MINILM).into());
        set("vocab", &JsValue::from_str(VOCAB));
    }
    o
}

async fn create(catalog: &[u8]) -> JsRecommender {
    JsRecommender::create(options(catalog, true, "{}")).await.unwrap()
}

fn recommend(r: &JsRecommender, opts: &str) -> Vec<Rec> {
    let list = r.recommend(Some(json(opts).unchecked_into())).unwrap();
    serde_wasm_bindgen::from_value(list.into()).unwrap()
}

/// `RecommendOptions` from JSON text.
fn opts(text: &str) -> Option<recagent::RecommendOptionsJs> {
    Some(json(text).unchecked_into())
}

fn ids(list: &[Rec]) -> Vec<String> {
    list.iter().map(|r| r.id.clone()).collect()
}

fn item(r: &JsRecommender, id: &str) -> Option<ItemRecord> {
    let v = r.item(id).unwrap();
    (!v.is_undefined()).then(|| serde_wasm_bindgen::from_value(v).unwrap())
}

fn observe(r: &JsRecommender, event: &str) -> JsValue {
    r.observe(json(event)).unwrap()
}

/// Id of the item with exactly this title (scanning ids 1..=size as ML-100K numbers them).
fn id_of(r: &JsRecommender, title: &str) -> String {
    (1..=r.size().unwrap())
        .map(|i| i.to_string())
        .find(|id| item(r, id).is_some_and(|it| it.title == title))
        .unwrap_or_else(|| panic!("no item titled {title:?}"))
}

#[track_caller]
fn assert_code<T>(result: Result<T, JsValue>, code: &str) {
    let err = result.err().expect("expected an error");
    assert!(err.is_instance_of::<js_sys::Error>(), "not an Error: {err:?}");
    let get = |k: &str| js_sys::Reflect::get(&err, &JsValue::from_str(k)).unwrap().as_string();
    assert_eq!(get("name").as_deref(), Some("RecagentError"));
    assert_eq!(get("code").as_deref(), Some(code), "{:?}", get("message"));
}

fn log(text: &str) {
    web_sys::console::log_1(&JsValue::from_str(text));
}

#[wasm_bindgen_test]
async fn recommender_whole_flow_on_ml_100k() {
    let r = create(ML100K).await;
    assert_eq!(r.size().unwrap(), 1682);
    assert_eq!(r.namespace(), "default");
    assert!(r.memory_bytes().unwrap() > 0);
    let attributes: Vec<serde_json::Value> = serde_wasm_bindgen::from_value(r.attributes().unwrap()).unwrap();
    assert!(attributes.iter().any(|a| a["name"] == "class" && a["kind"] == "tags"), "{attributes:?}");

    // Cold start: 10 distinct popular items.
    let cold = recommend(&r, "{}");
    assert_eq!(cold.len(), 10);
    assert_eq!(ids(&cold).into_iter().collect::<HashSet<_>>().len(), 10);
    for rec in &cold {
        assert!(rec.explanation.summary.starts_with("Popular"), "{rec:?}");
        assert!(item(&r, &rec.id).is_some_and(|it| it.title == rec.title && it.id == rec.id));
    }

    // A query.
    let space = recommend(&r, r#"{"query": "space adventure"}"#);
    assert_eq!(space.len(), 10);
    assert!(space.iter().all(|x| x.explanation.signals.query != 0.0), "{space:?}");
    log(&format!("'space adventure': {:?}", space.iter().map(|x| &x.title).collect::<Vec<_>>()));

    // Likes and ratings of children's animation films.
    let liked = [id_of(&r, "Toy Story"), id_of(&r, "Lion King, The"), id_of(&r, "Aladdin")];
    assert!(observe(&r, &format!(r#"{{"item": "{}", "type": "like"}}"#, liked[0])).is_undefined());
    observe(&r, &format!(r#"{{"item": "{}", "type": "rating", "value": 5}}"#, liked[1]));
    observe(&r, &format!(r#"{{"item": "{}", "type": "view", "dwellMs": 30000, "time": 1700000000000}}"#, liked[2]));
    observe(&r, &format!(r#"{{"item": "{}", "type": "like"}}"#, liked[2]));
    let warm = recommend(&r, "{}");
    assert_eq!(warm.len(), 10);
    assert_ne!(ids(&warm), ids(&cold));
    assert!(warm.iter().all(|x| !liked.contains(&x.id)));
    let liked_titles = ["Toy Story", "Lion King, The", "Aladdin"];
    assert!(
        warm.iter().any(|x| x.explanation.because.iter().any(|b| liked_titles.contains(&b.title.as_str()) && liked.contains(&b.id) && b.share > 0.0)),
        "{warm:?}"
    );
    assert!(warm.iter().any(|x| x.explanation.signals.history != 0.0));
    log(&format!("after liking {liked_titles:?}: {:?}", warm.iter().map(|x| &x.title).collect::<Vec<_>>()));

    // Dislike: the disliked item's nearest neighbour (text space) moves down.
    let disliked = warm[0].id.clone();
    let core = Catalog::from_bundle(ML100K).unwrap();
    let space_m = core.text_embeddings().unwrap();
    let row = |id: &str| space_m.row(core.index_of(id).unwrap() as usize).unwrap();
    let d = row(&disliked);
    let neighbour = (1..=1682)
        .map(|i| i.to_string())
        .filter(|id| *id != disliked && !liked.contains(id))
        .max_by(|a, b| recagent_core::vectors::cosine(&row(a), &d).total_cmp(&recagent_core::vectors::cosine(&row(b), &d)))
        .unwrap();
    let all = r#"{"k": 1000, "diversity": 0}"#;
    let find = |list: &[Rec]| list.iter().position(|x| x.id == neighbour).map(|p| (p, list[p].clone()));
    let before = find(&recommend(&r, all)).expect("neighbour in the top 1000");
    observe(&r, &format!(r#"{{"item": "{disliked}", "type": "dislike"}}"#));
    let after_list = recommend(&r, all);
    assert!(!after_list.iter().any(|x| x.id == disliked));
    if let Some(after) = find(&after_list) {
        assert!(after.0 > before.0, "rank {} -> {}", before.0, after.0);
        assert!(after.1.score < before.1.score);
        assert!(after.1.explanation.signals.penalty > before.1.explanation.signals.penalty);
    }

    // A statement: no horror, ever.
    let st = observe(&r, r#"{"type": "statement", "text": "no horror"}"#);
    let st: serde_json::Value = serde_wasm_bindgen::from_value(st).unwrap();
    assert_eq!(st["type"], "exclude");
    assert_eq!(st["attribute"], "class");
    assert_eq!(st["value"], "Horror");
    assert!(st.get("embedding").is_none());
    let horror = |id: &str| {
        let it = item(&r, id).unwrap();
        it.attributes["class"].as_array().unwrap().iter().any(|t| t == "Horror")
    };
    assert!(recommend(&r, r#"{"k": 300, "query": "scary horror monster"}"#).iter().all(|x| !horror(&x.id)));

    // Filters.
    let ranged = recommend(&r, r#"{"k": 20, "filters": {"where": [{"attribute": "release_year", "min": 1990, "max": 1995}]}}"#);
    assert_eq!(ranged.len(), 20);
    for x in &ranged {
        let year = &item(&r, &x.id).unwrap().attributes["release_year"];
        let year = year.as_f64().or_else(|| year.as_str().and_then(|s| s.parse().ok())).unwrap();
        assert!((1990.0..=1995.0).contains(&year), "{} {year}", x.title);
    }

    // Diversity and exploration.
    assert_ne!(ids(&recommend(&r, r#"{"diversity": 0}"#)), ids(&recommend(&r, r#"{"diversity": 0.8}"#)));
    let a = recommend(&r, r#"{"explore": 0.5, "seed": 7}"#);
    assert_eq!(ids(&a), ids(&recommend(&r, r#"{"explore": 0.5, "seed": 7}"#)));
    assert_ne!(ids(&a), ids(&recommend(&r, r#"{"explore": 0.5, "seed": 8}"#)));
    assert!(a.iter().any(|x| x.explanation.explored));

    // Profile snapshot → a fresh instance gives the same list.
    let snapshot = r.profile().unwrap();
    let fresh = create(ML100K).await;
    assert_ne!(ids(&recommend(&fresh, "{}")), ids(&recommend(&r, "{}")));
    fresh.restore_profile(&snapshot).unwrap();
    for opts in ["{}", r#"{"k": 30, "query": "space adventure"}"#] {
        assert_eq!(ids(&recommend(&fresh, opts)), ids(&recommend(&r, opts)), "{opts}");
    }
    fresh.reset_profile().unwrap();
    assert_eq!(ids(&recommend(&fresh, "{}")), ids(&cold));
}

#[wasm_bindgen_test]
async fn recommender_errors_have_stable_codes() {
    let mut corrupt = ML100K.to_vec();
    corrupt[ML100K.len() / 2] ^= 0x55;
    assert_code(JsRecommender::create(options(&corrupt, false, "{}")).await, "invalid_catalog");
    assert_code(JsRecommender::create(options(&ML100K[..1000], false, "{}")).await, "invalid_catalog");
    assert_code(JsRecommender::create(options(ML100K, false, r#"{"namspace": "x"}"#)).await, "invalid_input");
    assert_code(JsRecommender::create(options(ML100K, false, r#"{"vocab": "x"}"#)).await, "invalid_input");
    assert_code(JsRecommender::create(json("{}")).await, "invalid_input");

    // Without a text model: no queries, but everything else works.
    let r = JsRecommender::create(options(ML100K, false, r#"{"namespace": "alice"}"#)).await.unwrap();
    assert_eq!(r.namespace(), "alice");
    assert_eq!(recommend(&r, "{}").len(), 10);
    assert_code(r.recommend(opts(r#"{"query": "space"}"#)), "invalid_input");
    assert_code(r.recommend(opts(r#"{"kk": 3}"#)), "invalid_input");
    assert_code(r.recommend(opts(r#"{"filters": {"exclude": ["1"]}}"#)), "invalid_input");
    assert_code(r.recommend(opts(r#"{"filters": {"where": [{"attribute": "class", "hass": "Drama"}]}}"#)), "invalid_input");
    assert_code(r.recommend(opts(r#"{"seed": 1.5}"#)), "invalid_input");
    assert_code(r.recommend(opts(r#"{"diversity": 2}"#)), "invalid_input");
    assert_code(r.recommend(opts(r#"{"filters": {"where": [{"attribute": "nope", "has": "x"}]}}"#)), "invalid_input");
    assert_code(r.restore_profile(b"garbage bytes that are no profile"), "invalid_profile");
    assert_code(r.observe(json(r#"{"item": "no-such-item", "type": "like"}"#)), "unknown_item");
    assert_code(r.observe(json(r#"{"item": "1", "type": "teleport"}"#)), "invalid_input");
    assert_code(r.observe(json(r#"{"item": "1", "type": "rating", "value": 9}"#)), "invalid_input");
    assert_code(r.observe(json(r#"{"item": "1", "type": "like", "dwellMs": 5}"#)), "invalid_input");
    assert_code(r.observe(json(r#"{"item": "1", "type": "view", "dwellMs": -5}"#)), "invalid_input");
    assert!(item(&r, "no-such-item").is_none());
    // Still alive after all these errors.
    assert!(r.recommend(None).unwrap().length() == 10);
}

/// A synthetic catalog: `n` items, int8 text embeddings of width 384.
fn synthetic_bundle(n: usize) -> Vec<u8> {
    let dim = 384;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let values: Vec<i8> = (0..n * dim).map(|_| ((next() % 255) as i16 - 127) as i8).collect();
    let scales = vec![1.0 / (127.0 * (dim as f32).sqrt()); n];
    let items = (0..n)
        .map(|i| Item {
            id: format!("item-{i}"),
            title: format!("Item {i}"),
            text: format!("Item {i}, category c{}", i % 20),
            image: None,
            values: vec![AttributeValue::Tags(vec![format!("c{}", i % 20)]), AttributeValue::Number((1950 + i % 70) as f64)],
        })
        .collect();
    let catalog = Catalog::new(CatalogParts {
        name: "synthetic-100k".into(),
        attributes: vec![
            AttributeDef { name: "category".into(), kind: AttributeKind::Tags },
            AttributeDef { name: "year".into(), kind: AttributeKind::Number },
        ],
        items,
        text: Some(Embeddings::I8(QuantizedMatrix { dim, values, scales })),
        popularity: (0..n).map(|_| (next() % 1000) as f32).collect(),
        ..Default::default()
    })
    .unwrap();
    catalog.to_bundle().unwrap()
}

fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}

#[wasm_bindgen_test]
async fn recommender_scales_to_100k_items() {
    const N: usize = 100_000;
    let mb = |b: f64| b / 1_048_576.0;
    let bundle = js_sys::Uint8Array::from(synthetic_bundle(N).as_slice());
    let bundle_mb = mb(bundle.length() as f64);

    // Catalog only.
    let memory0 = wasm_memory_bytes();
    let o = json("{}");
    js_sys::Reflect::set(&o, &JsValue::from_str("catalog"), &bundle).unwrap();
    let heap0 = heap_mark();
    let t = js_sys::Date::now();
    let plain = JsRecommender::create(o).await.unwrap();
    let load_ms = js_sys::Date::now() - t;
    let (heap_retained, heap_peak) = (LIVE.load(Ordering::Relaxed) - heap0, PEAK.load(Ordering::Relaxed) - heap0);
    let memory1 = wasm_memory_bytes();
    assert_eq!(plain.size().unwrap(), N);
    let catalog_mb = mb(plain.memory_bytes().unwrap() as f64);
    let heap1 = heap_mark();
    let t = js_sys::Date::now();
    let cold = recommend(&plain, r#"{"k": 10}"#);
    let cold_ms = js_sys::Date::now() - t;
    let recommend_peak = PEAK.load(Ordering::Relaxed) - heap1;
    assert_eq!(cold.len(), 10);
    drop(plain);

    // With the text model: a query and a history.
    let o = json("{}");
    js_sys::Reflect::set(&o, &JsValue::from_str("catalog"), &bundle).unwrap();
    js_sys::Reflect::set(&o, &JsValue::from_str("textModel"), &js_sys::Uint8Array::from(MINILM).into()).unwrap();
    js_sys::Reflect::set(&o, &JsValue::from_str("vocab"), &JsValue::from_str(VOCAB)).unwrap();
    let t = js_sys::Date::now();
    let r = JsRecommender::create(o).await.unwrap();
    let load_model_ms = js_sys::Date::now() - t;
    let t = js_sys::Date::now();
    let queried = recommend(&r, r#"{"k": 10, "query": "space adventure"}"#);
    let query_ms = js_sys::Date::now() - t;
    for i in [1, 500, 99_999] {
        observe(&r, &format!(r#"{{"item": "item-{i}", "type": "like"}}"#));
    }
    let t = js_sys::Date::now();
    let warm = recommend(&r, r#"{"k": 10, "filters": {"where": [{"attribute": "year", "min": 1990}]}}"#);
    let warm_ms = js_sys::Date::now() - t;
    let memory2 = wasm_memory_bytes();
    for list in [&cold, &queried, &warm] {
        assert_eq!(list.len(), 10);
        assert_eq!(ids(list).into_iter().collect::<HashSet<_>>().len(), 10);
        assert!(list.iter().all(|x| item(&r, &x.id).is_some()));
    }
    assert!(warm.iter().all(|x| !["item-1", "item-500", "item-99999"].contains(&x.id.as_str())));
    log(&format!(
        "100k items: bundle {bundle_mb:.1} MB, catalog memoryBytes {catalog_mb:.1} MB; \
         create (catalog only) {load_ms:.0} ms, heap +{:.1} MB retained (peak +{:.1} MB), \
         wasm memory {:.1} -> {:.1} MB; \
         cold recommend {cold_ms:.0} ms (transient heap peak +{:.1} MB); create with MiniLM {load_model_ms:.0} ms; \
         query recommend {query_ms:.0} ms; recommend after 3 likes + filter {warm_ms:.0} ms; \
         wasm memory at end {:.1} MB",
        mb(heap_retained as f64),
        mb(heap_peak as f64),
        mb(memory0),
        mb(memory1),
        mb(recommend_peak as f64),
        mb(memory2)
    ));
}
