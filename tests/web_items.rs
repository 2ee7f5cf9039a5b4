//! Browser tests of the items the user adds (headless Chromium via
//! `wasm-pack test`), through the JS-facing API on the real ML-100K catalog,
//! MiniLM and MobileNetV2: `addItem` with a photo, text search,
//! `searchByPhoto`, typed errors, persistence in IndexedDB across a new
//! `create` (also without the image model, then `loadImageModel`),
//! `removeItem`, export/import and `forgetEverything`.
#![cfg(target_arch = "wasm32")]

use recagent::JsRecommender;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MINILM: &[u8] = include_bytes!("../assets/minilm-int8.onnx");
static VOCAB: &str = include_str!("../assets/vocab.txt");
static MOBILENET: &[u8] = include_bytes!("../assets/mobilenetv2-embedding.onnx");
/// Built by `scripts/test.sh` (`recagent build-catalog` on ML-100K).
static ML100K: &[u8] = include_bytes!("../assets/catalog/ml-100k.rcat");
static CAT: &[u8] = include_bytes!("../assets/fixtures/image/chelsea.png");
static COFFEE: &[u8] = include_bytes!("../assets/fixtures/image/coffee.png");

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Explanation {
    summary: String,
    photo_similarity: Option<f64>,
}

#[derive(Deserialize, Debug)]
struct Rec {
    id: String,
    title: String,
    explanation: Explanation,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct ItemRecord {
    id: String,
    title: String,
    text: String,
    user_added: bool,
    has_photo: bool,
    attributes: serde_json::Map<String, serde_json::Value>,
}

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

fn set(o: &JsValue, k: &str, v: &JsValue) {
    js_sys::Reflect::set(o, &JsValue::from_str(k), v).unwrap();
}

fn bytes(b: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(b).into()
}

async fn create(namespace: &str, image: bool) -> JsRecommender {
    let o = json(&format!(r#"{{"namespace": "{namespace}"}}"#));
    set(&o, "catalog", &bytes(ML100K));
    set(&o, "textModel", &bytes(MINILM));
    set(&o, "vocab", &JsValue::from_str(VOCAB));
    if image {
        set(&o, "imageModel", &bytes(MOBILENET));
    }
    JsRecommender::create(o).await.unwrap()
}

/// A `NewItem` from JSON plus optional photo bytes.
fn new_item(text: &str, photo: Option<&[u8]>) -> JsValue {
    let o = json(text);
    if let Some(p) = photo {
        set(&o, "photo", &bytes(p));
    }
    o
}

async fn add(r: &JsRecommender, text: &str, photo: Option<&[u8]>) -> Result<ItemRecord, String> {
    match JsFuture::from(r.add_item(new_item(text, photo))).await {
        Ok(v) => Ok(serde_wasm_bindgen::from_value(v).unwrap()),
        Err(e) => Err(code(e)),
    }
}

fn code(e: JsValue) -> String {
    let name = js_sys::Reflect::get(&e, &"name".into()).unwrap().as_string().unwrap_or_default();
    assert_eq!(name, "RecagentError");
    js_sys::Reflect::get(&e, &"code".into()).unwrap().as_string().unwrap()
}

async fn by_photo(r: &JsRecommender, photo: &[u8], opts: &str) -> Result<Vec<Rec>, String> {
    r.search_by_photo(photo.to_vec(), Some(json(opts).unchecked_into()))
        .await
        .map(|list| serde_wasm_bindgen::from_value(list.into()).unwrap())
        .map_err(code)
}

fn search(r: &JsRecommender, opts: &str) -> Vec<Rec> {
    let list = r.recommend(Some(json(opts).unchecked_into())).unwrap();
    serde_wasm_bindgen::from_value(list.into()).unwrap()
}

fn ids(list: &[Rec]) -> Vec<&str> {
    list.iter().map(|r| r.id.as_str()).collect()
}

fn added_ids(r: &JsRecommender) -> Vec<String> {
    let list: Vec<ItemRecord> = serde_wasm_bindgen::from_value(r.added_items().unwrap().into()).unwrap();
    list.into_iter().map(|i| i.id).collect()
}

fn item(r: &JsRecommender, id: &str) -> Option<ItemRecord> {
    let v = r.item(id).unwrap();
    (!v.is_undefined()).then(|| serde_wasm_bindgen::from_value(v).unwrap())
}

async fn value(p: js_sys::Promise) -> Result<JsValue, String> {
    JsFuture::from(p).await.map_err(code)
}

const CAT_ITEM: &str = r#"{"id": "mine-cat", "title": "Chelsea the tabby cat", "text": "My cat sleeping on the sofa",
                           "attributes": {"class": ["Comedy"], "release_year": 2024}}"#;

#[wasm_bindgen_test]
async fn added_items_are_searchable_and_persist_across_create() {
    let ns = format!("web-items-{}", js_sys::Math::random());
    let r = create(&ns, true).await;
    let base = r.size().unwrap();
    assert!(r.has_image_model().unwrap());

    // Add with a photo: measured (text + image embedding on the device, IndexedDB write).
    let t0 = js_sys::Date::now();
    let cat = add(&r, CAT_ITEM, Some(CAT)).await.unwrap();
    let ms = js_sys::Date::now() - t0;
    console_log!("addItem with a 451x300 PNG photo: {ms:.0} ms (MiniLM + MobileNetV2 + IndexedDB)");
    assert!(cat.user_added && cat.has_photo);
    assert_eq!(cat.text, "Chelsea the tabby cat. My cat sleeping on the sofa. Genres: Comedy. Year: 2024");
    assert_eq!(cat.attributes["class"], serde_json::json!(["Comedy"]));
    add(&r, r#"{"id": "mine-espresso", "title": "My espresso"}"#, Some(COFFEE)).await.unwrap();
    // Without a photo the item is in the catalog as soon as the call returns
    // (only its storing waits); with one, once the browser has decoded it.
    let adding = r.add_item(new_item(r#"{"id": "mine-book", "title": "A cookbook of Sicilian pasta"}"#, None));
    assert!(item(&r, "mine-book").is_some(), "added before the Promise settles");
    let book: ItemRecord = serde_wasm_bindgen::from_value(JsFuture::from(adding).await.unwrap()).unwrap();
    assert!(book.user_added && !book.has_photo);
    assert_eq!(r.size().unwrap(), base + 3);
    assert!(!item(&r, "1").unwrap().user_added);
    assert_eq!(added_ids(&r), vec!["mine-cat", "mine-espresso", "mine-book"]);

    // Text search over catalog + added items; photo search over the items with a photo.
    let list = search(&r, r#"{"k": 3, "query": "tabby cat sleeping on a sofa"}"#);
    assert_eq!(list[0].id, "mine-cat", "{:?}", ids(&list));
    let t0 = js_sys::Date::now();
    let list = by_photo(&r, CAT, r#"{"k": 10}"#).await.unwrap();
    console_log!("searchByPhoto: {:.0} ms", js_sys::Date::now() - t0);
    assert_eq!(ids(&list), vec!["mine-cat", "mine-espresso"]);
    assert_eq!(list[0].title, "Chelsea the tabby cat");
    assert!((list[0].explanation.photo_similarity.unwrap() - 1.0).abs() < 1e-4);
    assert!(list[0].explanation.summary.starts_with("Looks like your photo"), "{}", list[0].explanation.summary);
    let list = by_photo(&r, COFFEE, r#"{"filters": {"where": [{"attribute": "class", "has": "Comedy"}]}}"#).await.unwrap();
    assert_eq!(ids(&list), vec!["mine-cat"], "filters apply");
    let photo = value(r.item_photo("mine-cat".into())).await.unwrap();
    assert_eq!(photo.dyn_into::<js_sys::Uint8Array>().unwrap().to_vec(), CAT);
    assert!(value(r.item_photo("mine-book".into())).await.unwrap().is_undefined());

    // Typed errors; nothing is added.
    assert_eq!(add(&r, r#"{"id": "mine-cat", "title": "again"}"#, None).await.unwrap_err(), "invalid_input");
    assert_eq!(add(&r, r#"{"id": "50", "title": "Star Wars again"}"#, None).await.unwrap_err(), "invalid_input");
    assert_eq!(add(&r, r#"{"id": "x", "title": "X"}"#, Some(b"\x89PNG\r\n\x1a\nbroken")).await.unwrap_err(), "invalid_image");
    assert_eq!(add(&r, r#"{"id": "x", "title": "X"}"#, Some(&CAT[..CAT.len() / 3])).await.unwrap_err(), "invalid_image");
    assert_eq!(add(&r, r#"{"id": "x", "title": "X", "colour": "red"}"#, None).await.unwrap_err(), "invalid_input");
    assert_eq!(add(&r, r#"{"id": "x", "title": "X", "photo": "cat.png"}"#, None).await.unwrap_err(), "invalid_input");
    assert_eq!(add(&r, r#"{"id": "x", "title": "X", "attributes": {"nope": 1}}"#, None).await.unwrap_err(), "invalid_input");
    assert_eq!(add(&r, r#"{"title": "X"}"#, None).await.unwrap_err(), "invalid_input");
    assert_eq!(by_photo(&r, b"GIF89a", "{}").await.unwrap_err(), "invalid_image");
    assert_eq!(by_photo(&r, CAT, r#"{"kk": 1}"#).await.unwrap_err(), "invalid_input");
    assert_eq!(value(r.remove_item("1".into())).await.unwrap_err(), "invalid_input");
    assert_eq!(r.size().unwrap(), base + 3);

    // A new create in the namespace restores them from IndexedDB, even without the image model.
    let again = create(&ns, false).await;
    assert_eq!(again.size().unwrap(), base + 3);
    assert_eq!(added_ids(&again), vec!["mine-cat", "mine-espresso", "mine-book"], "in the order added");
    assert!(item(&again, "mine-cat").unwrap().has_photo);
    assert_eq!(item(&again, "mine-cat").unwrap().title, "Chelsea the tabby cat");
    assert_eq!(by_photo(&again, CAT, "{}").await.unwrap_err(), "invalid_input", "no image model yet");
    assert_eq!(add(&again, r#"{"id": "y", "title": "Y"}"#, Some(CAT)).await.unwrap_err(), "invalid_input");
    let t0 = js_sys::Date::now();
    value(again.load_image_model(bytes(MOBILENET), None)).await.unwrap();
    console_log!("loadImageModel (bytes): {:.0} ms", js_sys::Date::now() - t0);
    assert!(again.has_image_model().unwrap());
    assert_eq!(value(again.load_image_model(bytes(b"not onnx"), None)).await.unwrap_err(), "invalid_model");
    assert_eq!(value(again.load_image_model(bytes(MOBILENET), Some(json(r#"{"cach": false}"#).unchecked_into()))).await.unwrap_err(), "invalid_input");
    let list = by_photo(&again, CAT, r#"{"k": 1}"#).await.unwrap();
    assert_eq!(ids(&list), vec!["mine-cat"]);
    assert!((list[0].explanation.photo_similarity.unwrap() - 1.0).abs() < 1e-4);
    assert_eq!(search(&again, r#"{"k": 1, "query": "Sicilian pasta cookbook"}"#)[0].id, "mine-book");

    // Remove one: gone here and after the next create.
    assert_eq!(value(again.remove_item("mine-espresso".into())).await.unwrap(), true);
    assert_eq!(value(again.remove_item("mine-espresso".into())).await.unwrap(), false);
    assert_eq!(ids(&by_photo(&again, COFFEE, "{}").await.unwrap()), vec!["mine-cat"]);
    let third = create(&ns, false).await;
    assert_eq!(added_ids(&third), vec!["mine-cat", "mine-book"]);

    // Export carries them (photos included); forgetEverything removes them from the store and the catalog.
    let doc = value(third.memory().export_doc()).await.unwrap();
    let items = js_sys::Reflect::get(&doc, &"items".into()).unwrap();
    let items: Vec<serde_json::Value> = serde_wasm_bindgen::from_value(items).unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().any(|i| i["id"] == "mine-cat" && i["photo"].as_str().is_some_and(|p| p.len() > 1000)));
    value(third.memory().forget_everything()).await.unwrap();
    assert_eq!(third.size().unwrap(), base);
    assert!(added_ids(&third).is_empty() && item(&third, "mine-cat").is_none());
    assert!(value(third.item_photo("mine-cat".into())).await.unwrap().is_undefined());
    assert_eq!(create(&ns, false).await.size().unwrap(), base);
    // Import brings them back into the live catalog.
    value(third.memory().import_doc(doc)).await.unwrap();
    assert_eq!(added_ids(&third), vec!["mine-cat", "mine-book"]);
    assert_eq!(create(&ns, false).await.size().unwrap(), base + 2);
    value(third.memory().forget_everything()).await.unwrap();
}
