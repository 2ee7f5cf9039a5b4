//! Browser tests (headless Chromium via `wasm-pack test --headless --chrome`):
//! the encoders' parity with the reference inside Chromium, through the
//! JS-facing API, and the JS error shape.
#![cfg(target_arch = "wasm32")]

use recagent_core::vectors::cosine;
use recagent::{ImageEmbedder, TextEmbedder};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "support/jpeg.rs"]
mod jpeg;
#[path = "support/web_fixtures.rs"]
mod web_fixtures;
use web_fixtures::{chelsea_row, text_rows, ImageRow, TextRow, CHELSEA_PNG, MINILM, MOBILENET, VOCAB};

/// `name` and `code` of a thrown value, asserting it is a JS `Error`.
fn error_shape(err: JsValue) -> (String, String) {
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "not an Error: {err:?}"
    );
    let get = |k: &str| {
        js_sys::Reflect::get(&err, &JsValue::from_str(k))
            .unwrap()
            .as_string()
            .unwrap_or_default()
    };
    (get("name"), get("code"))
}

#[wasm_bindgen_test]
async fn text_embeddings_match_onnxruntime_in_chromium() {
    let embedder = TextEmbedder::create(MINILM.to_vec(), VOCAB.to_string(), None)
        .await
        .unwrap();
    assert_eq!(embedder.dim(), 384);
    // A subset: short, accented, CJK, emoji, control characters, > 256 tokens.
    let rows: Vec<TextRow> = text_rows().into_iter().step_by(3).collect();
    assert!(rows.len() >= 8);
    let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
    // Progress in the one event shape of every API: { phase: "embed", loaded, total }.
    let calls = std::rc::Rc::new(std::cell::RefCell::new(Vec::<(f64, f64)>::new()));
    let seen = calls.clone();
    let on_progress = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let get = |key: &str| js_sys::Reflect::get(&event, &key.into()).unwrap();
        assert_eq!(get("phase").as_string().as_deref(), Some("embed"));
        seen.borrow_mut().push((get("loaded").as_f64().unwrap(), get("total").as_f64().unwrap()));
    });
    let callback = on_progress.as_ref().clone().unchecked_into();
    let batch = embedder.embed_batch(texts, Some(callback)).unwrap();
    let calls = calls.borrow();
    assert!(!calls.is_empty());
    assert_eq!(
        *calls.last().unwrap(),
        (rows.len() as f64, rows.len() as f64)
    );
    for (row, from_batch) in rows.iter().zip(batch) {
        assert_eq!(embedder.tokenize(&row.text), row.ids, "{:?}", row.text);
        let single = embedder.embed(&row.text).unwrap();
        let c = cosine(&single, &row.embedding);
        assert!(c >= 0.999, "{:?}: cosine {c}", row.text);
        let c = cosine(&from_batch.to_vec(), &row.embedding);
        assert!(c >= 0.999, "{:?} in a batch: cosine {c}", row.text);
    }
}

#[wasm_bindgen_test]
async fn image_embeddings_match_onnxruntime_in_chromium() {
    let embedder = ImageEmbedder::create(MOBILENET.to_vec(), None)
        .await
        .unwrap();
    assert_eq!(embedder.dim(), 1280);
    let row: ImageRow = chelsea_row();
    let embedding = encoded(&embedder, CHELSEA_PNG).await.unwrap();
    let c = cosine(&embedding, &row.embedding);
    assert!(c >= 0.99, "cosine {c}");
    let top = JsFuture::from(embedder.top_classes(CHELSEA_PNG, 5)).await.unwrap();
    assert_eq!(js_sys::Uint32Array::from(top).to_vec()[0], row.top5[0]);

    // The same picture decoded by the image crate (what the native builds
    // use) and given as a canvas ImageData: the browser decoded the PNG to
    // the very same pixels.
    let img = recagent_core::encoder::preprocess::decode(CHELSEA_PNG, Default::default()).unwrap();
    let mut rgba: Vec<u8> = img
        .data
        .chunks(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        wasm_bindgen::Clamped(&mut rgba),
        img.width,
        img.height,
    )
    .unwrap();
    assert_eq!(embedder.embed_image_data(&data).unwrap(), embedding);

    // A JPEG: the browser's decoder and the image crate's differ in their
    // rounding (IDCT, chroma upsampling), not in what the model sees.
    let jpeg = jpeg::jpeg_of(&img);
    let native = recagent_core::encoder::preprocess::decode(&jpeg, Default::default()).unwrap();
    let mut rgba: Vec<u8> = native.data.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let data =
        web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&mut rgba), native.width, native.height)
            .unwrap();
    let from_browser = encoded(&embedder, &jpeg).await.unwrap();
    let c = cosine(&from_browser, &embedder.embed_image_data(&data).unwrap());
    assert!(c >= 0.999, "JPEG decoded by the browser and by the image crate: cosine {c}");
    let c = cosine(&from_browser, &row.embedding);
    assert!(c >= 0.99, "JPEG against the reference: cosine {c}");
}

/// `ImageEmbedder.embedEncoded` awaited: the embedding, or the error thrown.
async fn encoded(embedder: &ImageEmbedder, bytes: &[u8]) -> Result<Vec<f32>, JsValue> {
    let value = JsFuture::from(embedder.embed_encoded(bytes)).await?;
    Ok(js_sys::Float32Array::from(value).to_vec())
}

/// Asserts `result` failed with a `RecagentError` carrying `code`.
fn assert_code<T>(result: Result<T, JsValue>, code: &str) {
    let err = result.err().expect("expected an error");
    assert_eq!(
        error_shape(err),
        ("RecagentError".to_string(), code.to_string())
    );
}

/// `ImageEmbedder.create` with options given as JSON text.
async fn image_with_options(json: &str) -> Result<ImageEmbedder, JsValue> {
    let options = js_sys::JSON::parse(json).unwrap();
    ImageEmbedder::create(MOBILENET.to_vec(), Some(options.unchecked_into())).await
}

async fn err_again() -> JsValue {
    match TextEmbedder::create(b"not a model".to_vec(), VOCAB.to_string(), None).await {
        Ok(_) => JsValue::NULL,
        Err(e) => e,
    }
}

#[wasm_bindgen_test]
async fn errors_are_recagent_errors_with_stable_codes() {
    assert_code(
        TextEmbedder::create(b"not a model".to_vec(), VOCAB.to_string(), None).await,
        "invalid_model",
    );
    let half = MINILM[..MINILM.len() / 2].to_vec();
    let err = TextEmbedder::create(half, VOCAB.to_string(), None)
        .await
        .err()
        .unwrap();
    assert_eq!(error_shape(err).0, "RecagentError");
    assert!(recagent::is_recagent_error(&err_again().await));
    assert!(!recagent::is_recagent_error(&js_sys::Error::new("plain").into()));
    assert!(!recagent::is_recagent_error(&JsValue::from_str("RecagentError")));
    assert_code(
        TextEmbedder::create(MINILM.to_vec(), "no\nspecial\ntokens".into(), None).await,
        "invalid_vocab",
    );

    let embedder = ImageEmbedder::create(MOBILENET.to_vec(), None)
        .await
        .unwrap();
    // Cut short: the header is fine, the browser cannot decode the rest.
    assert_code(encoded(&embedder, &CHELSEA_PNG[..1000]).await, "invalid_image");
    assert_code(encoded(&embedder, b"GIF89a\x01\0\x01\0").await, "invalid_image");
    // A header claiming 20000x20000: refused before the browser decodes.
    let mut huge = CHELSEA_PNG[..33].to_vec();
    huge[16..24].copy_from_slice(&[0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20]);
    assert_code(encoded(&embedder, &huge).await, "image_too_large");
    assert_code(image_with_options(r#"{"cropp": 3}"#).await, "invalid_input");
    assert_code(
        image_with_options(r#"{"resizeShorter": 0}"#).await,
        "invalid_input",
    );

    // After all these errors the instance is still alive and working.
    let text = TextEmbedder::create(MINILM.to_vec(), VOCAB.to_string(), None)
        .await
        .unwrap();
    assert_eq!(text.embed("still alive").unwrap().len(), 384);
    assert_code(text.embed_batch(Vec::new(), None), "invalid_input");
}
