//! `Recommender.create({ items })`: a catalog built on the device from the
//! app's own item records (and optional interactions), embedded by the
//! encoder pool's Web Workers (several on a crossOriginIsolated page; the
//! page stays responsive) or, when workers cannot start or the app asks for
//! none, on this thread in chunks (progress between them, the event loop
//! running); progress as `embed` events, the `signal` honoured; kept in
//! IndexedDB (database
//! `recagent-catalog:<namespace>`) under a SHA-256 of the records, the
//! interactions and the models, so that the next visit with the same inputs
//! loads it instead of embedding again.
//!
//! The records follow `recagent_core::catalog::records`, the same rules as
//! `recagent build-catalog --items`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::idb::{IdbKvStore, IdbOptions};
use super::idb_util::sleep;
use super::interop::{describe, invalid};
use super::loader::Progress;
use super::embedders::text_model_options_js;
use super::pool::{create_encoder_pool, PoolClient};
use recagent_core::catalog::records::{
    build_key, items_from_records, popularity, resolve_interactions, InteractionInput, ItemInput,
};
use recagent_core::catalog::{CatalogParts, Embeddings, ModelFingerprint};
use recagent_core::platform::{KvStore, WriteOp};
use recagent_core::encoder::TextEncoderOptions;
use recagent_core::{Catalog, Error, Result, TextEncoder};

#[wasm_bindgen(typescript_custom_section)]
const TS_RECORDS: &'static str = r#"
/** One item of the app's own catalog ({@link RecommenderOptions.items}). */
export interface ItemInput {
  /** Unique id (a number is taken as its decimal text). */
  id: string | number;
  /** The title people see. */
  title: string;
  /** A description; embedded with the title and the attributes. */
  text?: string;
  /** Named values: an attribute is a number when all its values are numbers,
   *  tags when any is a list, text otherwise; `null` is missing. */
  attributes?: Record<string, string | number | boolean | (string | number)[] | null>;
  /** A photo URL the app displays (not embedded on the device; see `addItem` for photos). */
  image?: string;
}

/** One logged interaction ({@link RecommenderOptions.interactions}): other
 *  people's or aggregate events, which give the items their popularity. */
export interface InteractionInput {
  user: string | number;
  /** An item id; interactions with unknown items are skipped. */
  item: string | number;
  /** Any unit; only the order matters. */
  timestamp?: number;
  /** 1..5 is explicit feedback; missing is implicit. */
  rating?: number;
}
"#;

/// Texts embedded per step; progress is reported and the event loop runs
/// between steps (~0.1–0.3 s each for MiniLM on a laptop core).
const CHUNK: usize = 16;

/// Key of the stored build's key (its SHA-256) in the catalog database.
const KEY_KEY: &str = "catalog/key";
/// Key of the stored bundle.
const BUNDLE_KEY: &str = "catalog/bundle";

/// Items (and interactions) read from `RecommenderOptions`.
pub(crate) struct ItemsSource {
    /// The records, in the app's order.
    pub records: Vec<ItemInput>,
    /// The interactions (possibly none).
    pub interactions: Vec<InteractionInput>,
    /// Encoder workers to embed with: `Some(0)` embeds on this thread,
    /// `None` lets the pool choose (`navigator.hardwareConcurrency` on a
    /// crossOriginIsolated page, else 1).
    pub workers: Option<u32>,
}

/// Reads `value` (a JS array) element by element, so an error names the
/// index. Each element goes through a JSON value first: serde-wasm-bindgen
/// reads only a struct's own fields from an object, so `deny_unknown_fields`
/// (a misspelt key is an error, as in `recagent build-catalog --items`)
/// holds only when the record is read as JSON.
fn array_of<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> std::result::Result<Vec<T>, JsValue> {
    let array = value
        .dyn_ref::<js_sys::Array>()
        .ok_or_else(|| invalid(format!("{what} must be an array")))?;
    // The length is the app's (a sparse array can claim 2^32 - 1): it grows
    // the vector, never sizes it up front; the record limits apply after.
    let mut out = Vec::with_capacity((array.length() as usize).min(4096));
    for (i, element) in array.iter().enumerate() {
        let json: serde_json::Value =
            serde_wasm_bindgen::from_value(element).map_err(|e| invalid(format!("{what}[{i}]: {e}")))?;
        out.push(serde_json::from_value(json).map_err(|e| invalid(format!("{what}[{i}]: {e}")))?);
    }
    Ok(out)
}

impl ItemsSource {
    /// `items` and `interactions` of the options, typed (`invalid_input`
    /// naming the index of a malformed element).
    pub(crate) fn from_js(
        items: &JsValue,
        interactions: Option<JsValue>,
        workers: Option<JsValue>,
    ) -> std::result::Result<Self, JsValue> {
        let records = array_of(items, "RecommenderOptions.items")?;
        let interactions = match interactions {
            Some(v) => array_of(&v, "RecommenderOptions.interactions")?,
            None => Vec::new(),
        };
        let workers = match workers {
            None => None,
            Some(v) => Some(
                v.as_f64()
                    .filter(|n| n.fract() == 0.0 && (0.0..=256.0).contains(n))
                    .map(|n| n as u32)
                    .ok_or_else(|| invalid("RecommenderOptions.embedWorkers must be an integer 0..=256"))?,
            ),
        };
        Ok(Self { records, interactions, workers })
    }
}

/// The IndexedDB store of built catalogs for `namespace`, or `None` when
/// IndexedDB is unavailable (the catalog is then built every time).
async fn open_cache(namespace: &str) -> Option<IdbKvStore> {
    let mut options = IdbOptions::new(namespace);
    options.name = format!("recagent-catalog:{namespace}");
    match IdbKvStore::open(options).await {
        Ok(store) => Some(store),
        Err(e) => {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "recagent: the built catalog cannot be kept ({e}); it will be built again next time"
            )));
            None
        }
    }
}

/// Whether `signal` has fired.
fn aborted(signal: Option<&web_sys::AbortSignal>) -> bool {
    signal.is_some_and(|s| s.aborted())
}

/// The catalog for `source`: read from the IndexedDB cache when a build
/// with the same key is stored there (and `persist`), else built (text
/// embeddings when `text` is given) and stored. Reports
/// `{ phase: "embed", loaded, total }` while embedding.
pub(crate) async fn catalog_from_items(
    source: &ItemsSource,
    text: Option<(&TextEncoder, &[u8], &str, &TextEncoderOptions)>,
    namespace: &str,
    persist: bool,
    progress: &Progress,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<Catalog> {
    let built = items_from_records(&source.records).map_err(|e| {
        Error::InvalidInput(format!("RecommenderOptions.items[{}]: {}", e.index, e.message))
    })?;
    let resolved = resolve_interactions(&built.items, &source.interactions).map_err(|e| {
        Error::InvalidInput(format!("RecommenderOptions.interactions[{}]: {}", e.index, e.message))
    })?;
    let fingerprint = text.map(|(_, model, _, _)| ModelFingerprint::of(model));
    let model_part = fingerprint
        .as_ref()
        .map(|f| [f.bytes.to_le_bytes().as_slice(), f.crc32.to_le_bytes().as_slice()].concat())
        .unwrap_or_default();
    let vocab_part = text.map(|(_, _, vocab, _)| vocab.as_bytes()).unwrap_or_default();
    let options_part = text.map(|(_, _, _, o)| format!("{:?}/{}/{}", o.pooling, o.normalize, o.max_len)).unwrap_or_default();
    let key = build_key(&source.records, &source.interactions, &[&model_part, vocab_part, options_part.as_bytes()])?;
    let cache = if persist { open_cache(namespace).await } else { None };
    if let Some(store) = &cache {
        if store.get(KEY_KEY).await.ok().flatten().as_deref() == Some(key.as_bytes()) {
            if let Ok(Some(bytes)) = store.get(BUNDLE_KEY).await {
                match Catalog::from_bundle(&bytes) {
                    Ok(catalog) => return Ok(catalog),
                    // A damaged entry is rebuilt (and replaced) below.
                    Err(e) => web_sys::console::warn_1(&JsValue::from_str(&format!(
                        "recagent: the stored catalog is unusable ({e}); building it again"
                    ))),
                }
            }
        }
    }
    let n = built.items.len();
    let embeddings = match text {
        Some((encoder, model, vocab, options)) => {
            progress.emit("embed", None, 0, n);
            let texts: Vec<&str> = built.items.iter().map(|i| i.text.as_str()).collect();
            let pooled = match source.workers {
                Some(0) => None,
                workers => {
                    let pool = PoolInput { model, vocab, options, workers };
                    embed_in_workers(&pool, &texts, encoder.dim(), progress, signal).await?
                }
            };
            let values = match pooled {
                Some(values) => values,
                None => embed_here(encoder, &texts, progress, signal).await?,
            };
            Some(Embeddings::F32 { dim: encoder.dim(), values })
        }
        None => None,
    };
    let catalog = Catalog::new(CatalogParts {
        name: "items".into(),
        attributes: built.attributes,
        popularity: popularity(n, &resolved.interactions),
        items: built.items,
        text: embeddings,
        text_model: fingerprint,
        image: None,
        sequence: None,
    })?;
    if let Some(store) = cache {
        store_build(&store, &key, &catalog).await;
    }
    Ok(catalog)
}

/// What the encoder pool's workers load: the text model as the page has it.
struct PoolInput<'a> {
    model: &'a [u8],
    vocab: &'a str,
    options: &'a TextEncoderOptions,
    /// Workers to start (`None`: the pool's default).
    workers: Option<u32>,
}

/// The texts' embeddings (row-major) from an encoder pool of `workers`
/// Web Workers, or `None` when the pool cannot start here (no `Worker`, a
/// Content-Security-Policy without workers): the caller then embeds on this
/// thread. The pool stops when the batch is done.
async fn embed_in_workers(
    pool: &PoolInput<'_>,
    texts: &[&str],
    dim: usize,
    progress: &Progress,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<Option<Vec<f32>>> {
    if texts.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let start = create_encoder_pool(
        js_sys::Uint8Array::from(pool.model),
        pool.vocab,
        pool.workers.map(f64::from),
        wasm_bindgen::module(),
        text_model_options_js(pool.options),
    );
    let client: PoolClient = match JsFuture::from(start).await {
        Ok(client) => client.unchecked_into(),
        Err(e) => {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "recagent: no encoder workers ({}); embedding the items on this thread",
                describe(&e)
            )));
            return Ok(None);
        }
    };
    let sink = progress.clone();
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let number = |key: &str| js_sys::Reflect::get(&event, &key.into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        sink.emit("embed", None, number("loaded") as usize, number("total") as usize);
    });
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"onProgress".into(), on_progress.as_ref());
    if let Some(signal) = signal {
        let _ = js_sys::Reflect::set(&options, &"signal".into(), signal);
    }
    let batch: js_sys::Array = texts.iter().map(|t| JsValue::from_str(t)).collect();
    let result = JsFuture::from(client.embed_batch_js(batch, &options)).await;
    client.terminate_pool();
    drop(on_progress);
    let rows = match result {
        Ok(rows) => rows,
        Err(_) if aborted(signal) => return Err(Error::Aborted("the app aborted the catalog build".into())),
        Err(e) => return Err(Error::Worker(format!("embedding the items: {}", describe(&e)))),
    };
    let rows: js_sys::Float32Array = rows
        .dyn_into()
        .map_err(|_| Error::Worker("the encoder workers answered something other than a Float32Array".into()))?;
    let expected = texts.len().checked_mul(dim).ok_or_else(|| Error::InvalidInput("too many items".into()))?;
    if rows.length() as usize != expected {
        return Err(Error::Worker(format!(
            "the encoder workers returned {} values for {} texts of dimension {dim}",
            rows.length(),
            texts.len()
        )));
    }
    Ok(Some(rows.to_vec()))
}

/// The texts' embeddings (row-major) computed on this thread, `CHUNK` texts
/// at a time, with progress and a turn of the event loop between chunks.
async fn embed_here(
    encoder: &TextEncoder,
    texts: &[&str],
    progress: &Progress,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<Vec<f32>> {
    let n = texts.len();
    let mut values = Vec::with_capacity(n.saturating_mul(encoder.dim()));
    for (step, chunk) in texts.chunks(CHUNK).enumerate() {
        if aborted(signal) {
            return Err(Error::Aborted("the app aborted the catalog build".into()));
        }
        for row in encoder.embed_batch(chunk)? {
            values.extend_from_slice(&row);
        }
        progress.emit("embed", None, (step * CHUNK + chunk.len()).min(n), n);
        // Let the page paint the progress and handle input.
        let _ = sleep(0).await;
    }
    Ok(values)
}

/// Stores the bundle and its key in one transaction; a failure (quota) only
/// means the next visit builds again.
async fn store_build(store: &IdbKvStore, key: &str, catalog: &Catalog) {
    let result = match catalog.to_bundle() {
        Ok(bundle) => store
            .write(vec![
                WriteOp::Put { key: BUNDLE_KEY.into(), value: bundle },
                WriteOp::Put { key: KEY_KEY.into(), value: key.as_bytes().to_vec() },
            ])
            .await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        web_sys::console::warn_1(&JsValue::from_str(&format!(
            "recagent: the built catalog was not kept ({e}); it will be built again next time"
        )));
    }
}
