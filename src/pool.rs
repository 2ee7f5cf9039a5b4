//! `EncoderPool`: batch text encoding over module Web Workers, one
//! `TextEmbedder` each. This module checks options, loads the model (bytes
//! or URL, through the same loader as `Recommender.create`) and delegates to
//! `js/proxy.js`, which starts the workers (`js/worker.js`), cuts the batch
//! into chunks and, on a crossOriginIsolated page, lets several workers pull
//! chunks and write rows through one `SharedArrayBuffer`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::interop::{
    abort_reason, function_field, invalid, js_error, read, reject_unknown_keys, signal_field,
};
use super::embedders::{text_model_options, text_model_options_js};
use super::loader::{download_options, vocab_source, Source, VocabSource, DOWNLOAD_KEYS};

#[wasm_bindgen(typescript_custom_section)]
const TS_WORKER: &'static str = r#"
/** Options of {@link EncoderPool.create}. */
export interface EncoderPoolOptions {
  /** The ONNX text model: bytes, or a URL (downloaded once with progress, kept in the Cache API). */
  model: Uint8Array | string;
  /** The BERT `vocab.txt`: its text, or a URL (`http(s)://`, `/`, `./`, `../`). */
  vocab: string;
  /** Workers to start (default `navigator.hardwareConcurrency`). More than 1 only on a
   *  crossOriginIsolated page; elsewhere 1, with {@link EncoderPoolThreads.reason} and a console warning. */
  workers?: number;
  /** The text model's pooling, normalisation and longest sequence (default: mean, unit length, 256). */
  textOptions?: TextModelOptions;
  /** Download progress of URL sources, as in `RecommenderOptions`. */
  onProgress?: (event: RecagentProgress) => void;
  /** Keep downloads in the Cache API (default true). */
  cache?: boolean;
  /** A cached file of another version is downloaded again. */
  cacheVersion?: string;
  /** Cancels the downloads: rejects with the signal's `reason` (an `AbortError` DOMException by default). */
  signal?: AbortSignal;
}

/** Options of {@link EncoderPool.embedBatch}. */
export interface EmbedBatchOptions {
  /** Called as texts are embedded: `{ phase: "embed", loaded, total }` (texts done and in all). */
  onProgress?: (progress: RecagentProgress) => void;
  /** Cancels the batch: it rejects with the signal's `reason` (an `AbortError` DOMException by default). */
  signal?: AbortSignal;
}

/** How an {@link EncoderPool} runs, and why. */
export interface EncoderPoolThreads {
  /** Workers asked for (the option, or `hardwareConcurrency`). */
  requested: number;
  /** Workers running. */
  workers: number;
  hardwareConcurrency: number;
  /** `globalThis.crossOriginIsolated` (with `SharedArrayBuffer` available). */
  crossOriginIsolated: boolean;
  /** The workers pull chunks from an atomic counter and write into one SharedArrayBuffer. */
  sharedMemory: boolean;
  /** Why fewer workers run than were asked for (the page is not crossOriginIsolated), else null. */
  reason: string | null;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The `EmbedBatchOptions` object of the TypeScript section (optional argument).
    #[wasm_bindgen(typescript_type = "EmbedBatchOptions")]
    pub type EmbedBatchOptionsJs;
}

#[wasm_bindgen(module = "/js/proxy.js")]
extern "C" {
    /// The encoder pool's workers, as `proxy.js` holds them.
    pub(crate) type PoolClient;

    /// Starts the workers, each loading the model; resolves to a `PoolClient`.
    #[wasm_bindgen(js_name = createEncoderPool)]
    pub(crate) fn create_encoder_pool(
        model: js_sys::Uint8Array,
        vocab: &str,
        workers: Option<f64>,
        module: JsValue,
        text_options: JsValue,
    ) -> js_sys::Promise;

    /// Embeds `texts`; resolves to a `Float32Array` of `texts.length × dim`.
    #[wasm_bindgen(method, js_name = embedBatch)]
    pub(crate) fn embed_batch_js(this: &PoolClient, texts: js_sys::Array, options: &JsValue) -> js_sys::Promise;

    #[wasm_bindgen(method, getter)]
    fn dim(this: &PoolClient) -> f64;

    #[wasm_bindgen(method, getter)]
    fn size(this: &PoolClient) -> f64;

    #[wasm_bindgen(method, getter)]
    fn threads(this: &PoolClient) -> JsValue;

    /// Stops every worker.
    #[wasm_bindgen(method, js_name = terminate)]
    pub(crate) fn terminate_pool(this: &PoolClient);
}

/// The keys of `EncoderPoolOptions` other than the download options ([`DOWNLOAD_KEYS`]).
const POOL_KEYS: &[&str] = &["model", "vocab", "workers", "textOptions"];
/// The keys of `EmbedBatchOptions`.
const BATCH_KEYS: &[&str] = &["onProgress", "signal"];

/// Batch text encoding over a pool of module Web Workers, each with its own
/// `TextEmbedder`: encoding a catalog never blocks the page, and on a
/// crossOriginIsolated page it uses every core.
#[wasm_bindgen]
pub struct EncoderPool {
    client: PoolClient,
}

impl Drop for EncoderPool {
    fn drop(&mut self) {
        self.client.terminate_pool();
    }
}

#[wasm_bindgen]
impl EncoderPool {
    /// Loads the model (bytes or URL, like `Recommender.create`) and starts
    /// the workers, each loading it. Rejects with `invalid_input` (unknown
    /// option, bad `workers`), the download's or the model's error code, or
    /// `worker_failed`.
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "EncoderPoolOptions")] options: JsValue,
    ) -> Result<EncoderPool, JsValue> {
        const WHAT: &str = "EncoderPoolOptions";
        reject_unknown_keys(&options, WHAT, &[POOL_KEYS, DOWNLOAD_KEYS].concat())?;
        let model = Source::from_js(&read(&options, WHAT, "model")?.unwrap_or(JsValue::UNDEFINED), "EncoderPoolOptions.model")
            .map_err(js_error)?
            .ok_or_else(|| invalid("EncoderPoolOptions.model (bytes or URL) is required"))?;
        let vocab = read(&options, WHAT, "vocab")?
            .and_then(|v| v.as_string())
            .ok_or_else(|| invalid("EncoderPoolOptions.vocab (the text or a URL) is required"))?;
        let workers = match read(&options, WHAT, "workers")? {
            None => None,
            Some(v) => Some(
                v.as_f64()
                    .filter(|n| n.fract() == 0.0 && (1.0..=256.0).contains(n))
                    .ok_or_else(|| invalid("EncoderPoolOptions.workers must be an integer 1..=256"))?,
            ),
        };
        let text_options = text_model_options(read(&options, WHAT, "textOptions")?.as_ref(), "EncoderPoolOptions.textOptions")?;
        let loader = download_options(&options, WHAT)?;
        let (model, vocab) = futures::future::try_join(loader.load(model), async {
            match vocab_source(&vocab) {
                VocabSource::Text(text) => Ok(text),
                url => loader.load_vocab(url).await,
            }
        })
        .await
        .map_err(|e| abort_reason(loader.signal(), js_error(e)))?;
        let model = js_sys::Uint8Array::from(model.as_slice());
        let start = create_encoder_pool(model, &vocab, workers, wasm_bindgen::module(), text_model_options_js(&text_options));
        let client = JsFuture::from(start).await?;
        Ok(EncoderPool { client: client.unchecked_into() })
    }

    /// Unit-length embeddings of `texts` as one `Float32Array` of
    /// `texts.length × dim`, row i for text i (the same vectors as
    /// `TextEmbedder.embedBatch`). Batches run one after the other. Rejects
    /// with `invalid_input` for an empty array or bad options, and with the
    /// signal's `reason` (an `AbortError` DOMException by default) when
    /// `signal` fires.
    #[wasm_bindgen(js_name = embedBatch, unchecked_return_type = "Promise<Float32Array>")]
    pub fn embed_batch(
        &self,
        texts: Vec<String>,
        options: Option<EmbedBatchOptionsJs>,
    ) -> js_sys::Promise {
        self.embed_batch_inner(texts, options).unwrap_or_else(|e| js_sys::Promise::reject(&e))
    }

    /// Length of every embedding (384 for MiniLM).
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.client.dim() as usize
    }
}

impl EncoderPool {
    fn embed_batch_inner(&self, texts: Vec<String>, options: Option<EmbedBatchOptionsJs>) -> Result<js_sys::Promise, JsValue> {
        if texts.is_empty() {
            return Err(invalid("embedBatch needs at least one text"));
        }
        let options = options.map(JsValue::from).filter(|o| !o.is_undefined() && !o.is_null()).unwrap_or_else(|| js_sys::Object::new().into());
        reject_unknown_keys(&options, "EmbedBatchOptions", BATCH_KEYS)?;
        // Checked here, used by proxy.js (which takes the options object as it is).
        function_field(&options, "EmbedBatchOptions", "onProgress")?;
        signal_field(&options, "EmbedBatchOptions", "signal")?;
        let texts: js_sys::Array = texts.iter().map(|t| JsValue::from_str(t)).collect();
        Ok(self.client.embed_batch_js(texts, &options))
    }
}

#[wasm_bindgen]
impl EncoderPool {
    /// Workers running.
    #[wasm_bindgen(getter)]
    pub fn workers(&self) -> usize {
        self.client.size() as usize
    }

    /// How the pool runs and, when it runs fewer workers than asked, why.
    #[wasm_bindgen(getter, unchecked_return_type = "EncoderPoolThreads")]
    pub fn threads(&self) -> JsValue {
        self.client.threads()
    }

    /// Ends the workers; pending batches reject with `worker_failed`.
    pub fn terminate(&self) {
        self.client.terminate_pool();
    }
}
