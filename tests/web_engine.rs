//! Browser tests of a catalog held by a candidate engine: a real Chroma
//! server (started by `scripts/test.sh` with CORS open to the test page, the
//! ML-100K catalog pushed into collection `ml-100k-web`; its URL baked in as
//! `RECAGENT_CHROMA_URL`), reached with `fetch` from headless Chromium. The
//! page holds only the small bundle. What was sent is in the ledger and
//! holds nothing of the history; an unreachable engine falls back with a
//! typed reason; the agent ranks over the engine too.
#![cfg(target_arch = "wasm32")]

use recagent::{AskOptionsJs, JsRecommender, RecommendOptionsJs};
use recagent_core::Catalog;
use serde::Serialize;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MINILM: &[u8] = include_bytes!("../assets/minilm-int8.onnx");
static VOCAB: &str = include_str!("../assets/vocab.txt");
/// Built by `scripts/test.sh` (`recagent build-catalog` on ML-100K).
static ML100K: &[u8] = include_bytes!("../assets/catalog/ml-100k.rcat");

fn chroma() -> &'static str {
    option_env!("RECAGENT_CHROMA_URL").expect("RECAGENT_CHROMA_URL: run the browser tests through scripts/test.sh, which starts Chroma")
}

fn js(v: Value) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap()
}

async fn create(namespace: &str, url: &str) -> JsRecommender {
    create_holding(namespace, url, recagent_core::catalog::working::SMALL_BUNDLE_ITEMS, false).await
}

/// A recommender whose small bundle holds the `items` most popular items,
/// its memory in IndexedDB when `persist`.
async fn create_holding(namespace: &str, url: &str, items: usize, persist: bool) -> JsRecommender {
    let small = Catalog::from_bundle(ML100K).unwrap().small(items).unwrap().to_bundle().unwrap();
    let o = js(json!({ "namespace": namespace, "vocab": VOCAB, "persist": persist, "candidates": { "url": url, "timeoutMs": 5000 } }));
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    set("catalog", &js_sys::Uint8Array::from(small.as_slice()).into());
    set("textModel", &js_sys::Uint8Array::from(MINILM).into());
    JsRecommender::create(o).await.unwrap()
}

async fn recommend(r: &JsRecommender, options: Value) -> Vec<Value> {
    let v = JsFuture::from(r.recommend_js(Some(js(options).unchecked_into::<RecommendOptionsJs>()))).await.unwrap();
    serde_wasm_bindgen::from_value(v).unwrap()
}

fn trace(r: &JsRecommender) -> Value {
    serde_wasm_bindgen::from_value(r.last_candidates().unwrap()).unwrap()
}

fn ledger(r: &JsRecommender) -> Vec<Value> {
    serde_wasm_bindgen::from_value::<Vec<Value>>(r.ledger().unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn recommend_ranks_the_engines_candidates_and_sends_no_history() {
    let r = create("engine-web", &format!("chroma+{}/ml-100k-web", chroma())).await;
    let full = Catalog::from_bundle(ML100K).unwrap().memory_bytes();
    assert!(r.memory_bytes().unwrap() * 3 < full, "the page holds the small bundle");
    let list = recommend(&r, json!({"query": "a space adventure", "k": 5})).await;
    assert_eq!(list.len(), 5);
    let t = trace(&r);
    assert_eq!(t["origin"], "engine", "{t}");
    assert_eq!(t["candidates"], 500, "{t}");
    // Items only the engine returned can be looked up and liked.
    let liked = list[0]["id"].as_str().unwrap().to_string();
    let item: Value = serde_wasm_bindgen::from_value(JsFuture::from(r.item_js(&liked)).await.unwrap()).unwrap();
    assert_eq!(item["title"], list[0]["title"]);
    JsFuture::from(r.observe_js(js(json!({"item": liked, "type": "like"})))).await.unwrap();
    let again = recommend(&r, json!({"query": "a space adventure", "k": 5})).await;
    assert!(again.iter().all(|i| i["id"] != liked.as_str()), "liked items are not shown again");
    // Every request is in the ledger; none carries the liked item.
    let entries = ledger(&r);
    assert!(entries.iter().filter(|e| e["url"].as_str().unwrap().ends_with("/query")).count() >= 2, "{entries:?}");
    for e in &entries {
        assert_eq!(e["status"], 200, "{e}");
        assert!(!e["body"].as_str().unwrap().contains(&format!("\"{liked}\"")), "{e}");
    }
    // The agent (autonomy 0) ranks over the engine as well.
    let a = JsFuture::from(r.ask("a funny animated film".into(), Some(js(json!({})).unchecked_into::<AskOptionsJs>()))).await.unwrap();
    let a: Value = serde_wasm_bindgen::from_value(a).unwrap();
    assert_eq!(a["items"].as_array().unwrap().len(), 10, "{a}");
    assert!(a["trace"].to_string().contains("candidates from"), "{a}");
}

#[wasm_bindgen_test]
async fn an_unreachable_engine_falls_back_to_the_page_with_a_reason() {
    // Nothing listens on port 9 (discard): the fetch fails.
    let r = create("engine-web-down", "chroma+http://127.0.0.1:9/ml-100k-web").await;
    let list = recommend(&r, json!({"query": "a space adventure", "k": 5})).await;
    assert_eq!(list.len(), 5);
    let t = trace(&r);
    assert_eq!(t["origin"], "device", "{t}");
    assert_eq!(t["fallback"]["code"], "network_error", "{t}");
    // A policy of nothing: no request at all.
    r.set_policy(js(json!({"share": "nothing"}))).unwrap();
    let before = ledger(&r).len();
    let _ = recommend(&r, json!({"query": "a space adventure", "k": 5})).await;
    assert_eq!(trace(&r)["fallback"]["code"], "policy_denied");
    assert_eq!(ledger(&r).len(), before);
}

#[wasm_bindgen_test]
async fn liked_items_the_bundle_does_not_hold_come_back_after_a_reload() {
    // A bundle of 60 items: most of what the engine returns is outside it.
    // The liked item's record (vector and rows of the model) is saved in
    // IndexedDB with the profile, so the next page knows it again.
    let url = format!("chroma+{}/ml-100k-web", chroma());
    let r = create_holding("engine-web-reload", &url, 60, true).await;
    let list = recommend(&r, json!({"query": "a space adventure", "k": 10})).await;
    assert_eq!(trace(&r)["origin"], "engine");
    let small = Catalog::from_bundle(ML100K).unwrap().small(60).unwrap();
    let outside = list.iter().map(|i| i["id"].as_str().unwrap().to_string()).find(|id| small.index_of(id).is_none()).expect("an item outside the bundle");
    JsFuture::from(r.observe_js(js(json!({"item": outside, "type": "like"})))).await.unwrap();
    JsFuture::from(r.save_profile()).await.unwrap();
    let item = |r: &JsRecommender, id: &str| {
        let p = r.item_js(id);
        async move { serde_wasm_bindgen::from_value::<Value>(JsFuture::from(p).await.unwrap()).unwrap() }
    };
    let title = item(&r, &outside).await["title"].clone();
    assert!(title.is_string());
    drop(r);

    let again = create_holding("engine-web-reload", &url, 60, true).await;
    assert_eq!(item(&again, &outside).await["title"], title, "the record came back from IndexedDB");
    let next = recommend(&again, json!({"query": "a space adventure", "k": 10})).await;
    assert!(next.iter().all(|i| i["id"] != outside.as_str()), "the liked item is still not shown again");
    // A fresh namespace does not know it.
    let other = create_holding("engine-web-reload-other", &url, 60, true).await;
    assert!(item(&other, &outside).await.is_null());
}
