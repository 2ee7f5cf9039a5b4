//! Browser tests of `Recommender.create` with URLs (src/loader.rs):
//! downloads with progress events, the Cache API cache (`recagent-v1`),
//! `cacheVersion`, `cache: false`, `Recommender.clearCache()`, the vocab
//! URL-or-text rule and the errors.
//!
//! The files are served by wasm-bindgen-test's own server, which serves the
//! crate root: `tests/fixtures/loader/tiny.rcat` (the committed bundle of
//! `tiny_catalog()`, checked by tests/loader_fixture.rs) and `words.txt`.
//! Network fetches are counted with the browser's Resource Timing entries
//! (one per request that reached the network; a Cache API hit makes none),
//! so the count does not come from the code under test. Every test uses its
//! own `?run=` query (the server ignores it) so cache keys never collide.
#![cfg(target_arch = "wasm32")]

#[path = "support/tiny_catalog.rs"]
mod tiny_catalog;

use std::cell::RefCell;
use std::rc::Rc;

use recagent::loader::{looks_like_url, vocab_source, Loader, VocabSource};
use recagent::JsRecommender;
use tiny_catalog::{tiny_catalog, TINY_ITEMS};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CATALOG_PATH: &str = "/tests/fixtures/loader/tiny.rcat";
const WORDS_PATH: &str = "/tests/fixtures/loader/words.txt";

fn get(target: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

fn call(target: &JsValue, name: &str, args: &[JsValue]) -> JsValue {
    let f: js_sys::Function = get(target, name).dyn_into().unwrap();
    f.apply(target, &args.iter().collect::<js_sys::Array>()).unwrap()
}

async fn call_async(target: &JsValue, name: &str, args: &[JsValue]) -> JsValue {
    JsFuture::from(js_sys::Promise::from(call(target, name, args))).await.unwrap()
}

/// `http://127.0.0.1:PORT` of the test page.
fn origin() -> String {
    get(&get(&js_sys::global(), "location"), "origin").as_string().unwrap()
}

/// An absolute URL of `path` unique to this run and `tag`.
fn unique_url(path: &str, tag: &str) -> String {
    format!("{}{path}?run={tag}-{}", origin(), js_sys::Math::random().to_bits())
}

/// Requests for `url` that reached the network (Resource Timing entries).
fn network_fetches(url: &str) -> u32 {
    let performance = get(&js_sys::global(), "performance");
    js_sys::Array::from(&call(&performance, "getEntriesByName", &[JsValue::from_str(url)])).length()
}

/// Whether the `recagent-v1` cache holds an entry for `url`.
async fn cached(url: &str) -> bool {
    let caches = get(&js_sys::global(), "caches");
    if !call_async(&caches, "has", &[JsValue::from_str("recagent-v1")]).await.as_bool().unwrap() {
        return false;
    }
    let cache = call_async(&caches, "open", &[JsValue::from_str("recagent-v1")]).await;
    !call_async(&cache, "match", &[JsValue::from_str(url)]).await.is_undefined()
}

/// `(file, loaded, total)` of every progress event.
type Events = Rc<RefCell<Vec<(String, f64, f64)>>>;

/// `RecommenderOptions` with `entries`, plus an `onProgress` recording into the returned list.
fn options(entries: &[(&str, JsValue)]) -> (JsValue, Events, Closure<dyn FnMut(JsValue)>) {
    let o = js_sys::Object::new();
    for (k, v) in entries {
        js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    let events: Events = Rc::default();
    let sink = events.clone();
    // The downloads' events (`phase: "download"`); `compile` and `ready` come too.
    let on_progress = Closure::wrap(Box::new(move |e: JsValue| {
        if get(&e, "phase").as_string().as_deref() != Some("download") {
            return;
        }
        sink.borrow_mut().push((
            get(&e, "file").as_string().unwrap(),
            get(&e, "loaded").as_f64().unwrap(),
            get(&e, "total").as_f64().unwrap(),
        ));
    }) as Box<dyn FnMut(JsValue)>);
    js_sys::Reflect::set(&o, &"onProgress".into(), on_progress.as_ref()).unwrap();
    js_sys::Reflect::set(&o, &"namespace".into(), &JsValue::from_str(&format!("loader-{}", js_sys::Math::random()))).unwrap();
    (o.into(), events, on_progress)
}

async fn create(entries: &[(&str, JsValue)]) -> (Result<JsRecommender, JsValue>, Vec<(String, f64, f64)>) {
    let (o, events, _keep) = options(entries);
    let r = JsRecommender::create(o).await;
    let events = events.borrow().clone();
    (r, events)
}

fn code(e: &JsValue) -> String {
    get(e, "code").as_string().unwrap_or_default()
}

#[wasm_bindgen_test]
async fn catalog_url_downloads_with_progress_then_comes_from_the_cache_until_cleared() {
    let expected = tiny_catalog().to_bundle().unwrap();
    let total = expected.len() as f64;
    let url = unique_url(CATALOG_PATH, "flow");
    assert!(!cached(&url).await);

    let (r, events) = create(&[("catalog", JsValue::from_str(&url))]).await;
    let r = r.unwrap();
    assert_eq!(r.size().unwrap(), TINY_ITEMS);
    assert_eq!(r.recommend(None).unwrap().length(), 10);
    assert_eq!(network_fetches(&url), 1);
    assert!(events.len() >= 2, "{events:?}");
    assert!(events.iter().all(|(f, _, t)| f == &url && *t == total), "{events:?}");
    assert_eq!(events[0].1, 0.0, "the first event announces the download");
    assert!(events.windows(2).all(|w| w[0].1 <= w[1].1), "loaded never decreases: {events:?}");
    assert_eq!(events.last().unwrap().1, total);
    assert!(cached(&url).await, "the download is in the recagent-v1 cache");

    // Second create: the same bytes from the cache, no request, one event.
    let (r, events) = create(&[("catalog", JsValue::from_str(&url))]).await;
    assert_eq!(r.unwrap().size().unwrap(), TINY_ITEMS);
    assert_eq!(network_fetches(&url), 1, "served from the cache");
    assert_eq!(events, vec![(url.clone(), total, total)]);

    // clearCache empties it: true once, then false; the next create downloads again.
    let cleared = JsFuture::from(JsRecommender::clear_cache()).await.unwrap();
    assert_eq!(cleared.as_bool(), Some(true));
    assert!(!cached(&url).await);
    let again = JsFuture::from(JsRecommender::clear_cache()).await.unwrap();
    assert_eq!(again.as_bool(), Some(false));
    let (r, _) = create(&[("catalog", JsValue::from_str(&url))]).await;
    assert_eq!(r.unwrap().size().unwrap(), TINY_ITEMS);
    assert_eq!(network_fetches(&url), 2);
}

#[wasm_bindgen_test]
async fn the_loader_returns_the_exact_bytes_and_a_relative_url_works() {
    let expected = tiny_catalog().to_bundle().unwrap();
    let loader = Loader::new(None, false, String::new());
    let relative = format!(".{CATALOG_PATH}?run=relative-{}", js_sys::Math::random().to_bits());
    let bytes = loader.load(recagent::loader::Source::Url(relative)).await.unwrap();
    assert!(bytes == expected, "downloaded {} bytes, expected {}", bytes.len(), expected.len());
}

#[wasm_bindgen_test]
async fn another_cache_version_downloads_again_and_cache_false_never_stores() {
    let url = unique_url(CATALOG_PATH, "version");
    let with_version = |v: &str| vec![("catalog", JsValue::from_str(&url)), ("cacheVersion", JsValue::from_str(v))];
    create(&with_version("1")).await.0.unwrap();
    create(&with_version("1")).await.0.unwrap();
    assert_eq!(network_fetches(&url), 1);
    let (r, events) = create(&with_version("2")).await;
    r.unwrap();
    assert_eq!(network_fetches(&url), 2, "version 2 is not the cached version 1");
    assert!(events.len() >= 2, "a real download reports progress: {events:?}");
    create(&with_version("2")).await.0.unwrap();
    assert_eq!(network_fetches(&url), 2, "version 2 replaced the entry");

    let url = unique_url(CATALOG_PATH, "nocache");
    let no_cache = vec![("catalog", JsValue::from_str(&url)), ("cache", JsValue::FALSE)];
    let (r, events) = create(&no_cache).await;
    r.unwrap();
    assert_eq!(events.last().map(|e| e.1), Some(tiny_catalog().to_bundle().unwrap().len() as f64));
    create(&no_cache).await.0.unwrap();
    assert_eq!(network_fetches(&url), 2);
    assert!(!cached(&url).await);
}

#[wasm_bindgen_test]
async fn vocab_is_a_url_only_when_it_looks_like_one() {
    for url in ["http://x/vocab.txt", "HTTPS://x/v", "/assets/vocab.txt", "./vocab.txt", "../v.txt"] {
        assert!(looks_like_url(url), "{url}");
    }
    for text in ["[PAD]\n[unused0]\n", "hello", "/\n[PAD]", ""] {
        assert!(!looks_like_url(text), "{text:?}");
        assert_eq!(vocab_source(text), VocabSource::Text(text.into()));
    }
    let url = format!(".{WORDS_PATH}?run=vocab-{}", js_sys::Math::random().to_bits());
    let source = vocab_source(&url);
    assert_eq!(source, VocabSource::Url(url.clone()));
    let events: Events = Rc::default();
    let sink = events.clone();
    let on_progress = Closure::wrap(Box::new(move |e: JsValue| {
        if get(&e, "phase").as_string().as_deref() == Some("download") {
            sink.borrow_mut().push((get(&e, "file").as_string().unwrap(), get(&e, "loaded").as_f64().unwrap(), get(&e, "total").as_f64().unwrap()));
        }
    }) as Box<dyn FnMut(JsValue)>);
    let loader = Loader::new(Some(on_progress.as_ref().clone().unchecked_into()), true, String::new());
    let text = loader.load_vocab(source).await.unwrap();
    assert_eq!(text, include_str!("fixtures/loader/words.txt"));
    assert_eq!(events.borrow().last().unwrap(), &(url, text.len() as f64, text.len() as f64));
}

#[wasm_bindgen_test]
async fn failed_downloads_and_wrong_types_are_recagent_errors() {
    let missing = unique_url("/tests/fixtures/loader/missing.rcat", "404");
    let e = create(&[("catalog", JsValue::from_str(&missing))]).await.0.err().unwrap();
    assert_eq!(code(&e), "network_error");
    assert!(get(&e, "message").as_string().unwrap().contains("HTTP 404"));
    assert!(!cached(&missing).await, "an error status is never cached");

    let refused = "http://127.0.0.1:9/catalog.rcat";
    let e = create(&[("catalog", JsValue::from_str(refused))]).await.0.err().unwrap();
    assert_eq!(code(&e), "network_error");

    let e = create(&[("catalog", JsValue::from_f64(3.0))]).await.0.err().unwrap();
    assert_eq!(code(&e), "invalid_input");
    let url = unique_url(CATALOG_PATH, "types");
    let e = create(&[("catalog", JsValue::from_str(&url)), ("cache", JsValue::from_str("yes"))]).await.0.err().unwrap();
    assert_eq!(code(&e), "invalid_input");
    let e = create(&[("catalog", JsValue::from_str(&url)), ("vocab", JsValue::from_str("./vocab.txt"))]).await.0.err().unwrap();
    assert_eq!(code(&e), "invalid_input", "vocab without textModel");
    assert_eq!(network_fetches(&url), 0, "options are checked before anything is downloaded");
}

/// Runs `body` with `globalThis[key]` replaced by `value`, then restores it.
async fn with_global_replaced<F: std::future::Future<Output = ()>>(target: &JsValue, key: &str, value: &JsValue, body: F) {
    let target: &js_sys::Object = target.unchecked_ref();
    let original = js_sys::Object::get_own_property_descriptor(target, &JsValue::from_str(key));
    let replacement = js_sys::Object::new();
    js_sys::Reflect::set(&replacement, &"value".into(), value).unwrap();
    js_sys::Reflect::set(&replacement, &"configurable".into(), &JsValue::TRUE).unwrap();
    js_sys::Reflect::set(&replacement, &"writable".into(), &JsValue::TRUE).unwrap();
    js_sys::Object::define_property(target, &JsValue::from_str(key), &replacement);
    body.await;
    if original.is_undefined() {
        js_sys::Reflect::delete_property(target, &JsValue::from_str(key)).unwrap();
    } else {
        js_sys::Object::define_property(target, &JsValue::from_str(key), original.unchecked_ref());
    }
}

#[wasm_bindgen_test]
async fn without_the_cache_api_files_still_download_with_progress() {
    let url = unique_url(CATALOG_PATH, "nocaches");
    let total = tiny_catalog().to_bundle().unwrap().len() as f64;
    with_global_replaced(&js_sys::global(), "caches", &JsValue::UNDEFINED, async {
        assert!(get(&js_sys::global(), "caches").is_undefined());
        let (r, events) = create(&[("catalog", JsValue::from_str(&url))]).await;
        assert_eq!(r.unwrap().size().unwrap(), TINY_ITEMS);
        assert_eq!(events.last().unwrap(), &(url.clone(), total, total));
        let cleared = JsFuture::from(JsRecommender::clear_cache()).await.unwrap();
        assert_eq!(cleared.as_bool(), Some(false), "nothing to clear without the Cache API");
    })
    .await;
    assert!(!get(&js_sys::global(), "caches").is_undefined(), "restored");
    assert!(!cached(&url).await);
    assert_eq!(network_fetches(&url), 1);
}

#[wasm_bindgen_test]
async fn an_exceeded_quota_only_means_no_caching() {
    let url = unique_url(CATALOG_PATH, "quota");
    let total = tiny_catalog().to_bundle().unwrap().len() as f64;
    let prototype = get(&get(&js_sys::global(), "Cache"), "prototype");
    let over_quota = js_sys::Function::new_no_args(
        "return Promise.reject(new DOMException('the quota is exceeded', 'QuotaExceededError'));",
    );
    with_global_replaced(&prototype, "put", &over_quota, async {
        for round in 1..=2 {
            let (r, events) = create(&[("catalog", JsValue::from_str(&url))]).await;
            assert_eq!(r.unwrap().size().unwrap(), TINY_ITEMS);
            assert!(events.len() >= 2, "downloaded again: {events:?}");
            assert_eq!(events.last().unwrap(), &(url.clone(), total, total));
            assert_eq!(network_fetches(&url), round);
        }
    })
    .await;
    assert!(!cached(&url).await);
    // With put restored the next download is cached.
    create(&[("catalog", JsValue::from_str(&url))]).await.0.unwrap();
    assert!(cached(&url).await);
}

#[wasm_bindgen_test]
async fn an_html_page_is_refused_and_an_unusable_file_is_evicted_from_the_cache() {
    // What an app server's fallback answers for a wrong path: an HTML page.
    let page = unique_url("/examples/vite-app/index.html", "html");
    let e = create(&[("catalog", JsValue::from_str(&page))]).await.0.err().unwrap();
    assert_eq!(code(&e), "network_error");
    assert!(get(&e, "message").as_string().unwrap().contains("HTML page"), "{:?}", get(&e, "message"));
    assert!(!cached(&page).await);
    assert_eq!(network_fetches(&page), 1);

    // A downloaded file that is no catalog: invalid_catalog, and not kept.
    let text = unique_url(WORDS_PATH, "notcatalog");
    let e = create(&[("catalog", JsValue::from_str(&text))]).await.0.err().unwrap();
    assert_eq!(code(&e), "invalid_catalog");
    assert!(!cached(&text).await, "evicted after the failed parse");
    create(&[("catalog", JsValue::from_str(&text))]).await.0.err().unwrap();
    assert_eq!(network_fetches(&text), 2, "downloaded again, not read from the cache");
}

#[wasm_bindgen_test]
async fn an_aborted_signal_stops_the_download() {
    let url = unique_url(CATALOG_PATH, "abort");
    let controller = web_sys::AbortController::new().unwrap();
    controller.abort();
    let e = create(&[("catalog", JsValue::from_str(&url)), ("signal", controller.signal().into())])
        .await.0.err().unwrap();
    // The platform convention: the signal's reason, an AbortError DOMException.
    assert_eq!(get(&e, "name").as_string().as_deref(), Some("AbortError"));
    assert!(e.is_instance_of::<web_sys::DomException>());
    assert_eq!(network_fetches(&url), 0);
    let e = create(&[("catalog", JsValue::from_str(&url)), ("signal", JsValue::from_str("stop"))]).await.0.err().unwrap();
    assert_eq!(code(&e), "invalid_input");
    // A signal that never fires changes nothing.
    let idle = web_sys::AbortController::new().unwrap();
    let (r, _) = create(&[("catalog", JsValue::from_str(&url)), ("signal", idle.signal().into())]).await;
    assert_eq!(r.unwrap().size().unwrap(), TINY_ITEMS);
    assert_eq!(network_fetches(&url), 1);
}
