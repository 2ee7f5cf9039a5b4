//! `Recommender.create`'s options and files: the `RecommenderOptions`
//! TypeScript type, the check of its keys, reading the sources (bundle or
//! items, models, vocab) and loading them through the [`Loader`], and
//! turning the loaded files into the core recommender (the models prepared,
//! the catalog read or built on the device from items).

use wasm_bindgen::prelude::*;

use super::catalog_build::{catalog_from_items, ItemsSource};
use super::embedders::text_model_options;
use super::interop::{field, invalid, js_error, read, reject_unknown_keys};
use super::loader::{download_options, vocab_source, Loader, Source, VocabSource, DOWNLOAD_KEYS};
use recagent_core::catalog::Catalog;
use recagent_core::encoder::{ImageEncoder, ImageEncoderOptions, TextEncoder, TextEncoderOptions};
use recagent_core::error::Result;
use recagent_core::recommender::Recommender;

#[wasm_bindgen(typescript_custom_section)]
const TS_CREATE_OPTIONS: &'static str = r#"
/** Options of {@link Recommender.create} (and {@link RecommenderWorker.create}). */
export interface RecommenderOptions {
  /** Catalog bundle (`recagent build-catalog` output): its bytes, or a URL to download.
   *  Exactly one of `catalog` and `items` is given. */
  catalog?: Uint8Array | string;
  /** The app's own items: the catalog is built on the device (text embeddings with
   *  `textModel`, progress phase `"embed"`), kept in IndexedDB keyed by a SHA-256 of the
   *  items, interactions and models, and loaded from there next time. Up to about
   *  10,000 items is practical in a page. */
  items?: ItemInput[];
  /** Logged interactions with `items` (popularity); only with `items`. */
  interactions?: InteractionInput[];
  /** Web Workers that embed `items` (an {@link EncoderPool}): default
   *  `navigator.hardwareConcurrency` on a crossOriginIsolated page, else 1; `0`
   *  embeds on the calling thread in small chunks. Where workers cannot start
   *  (a Content-Security-Policy without workers), the items are embedded on
   *  the calling thread, with a console warning. */
  embedWorkers?: number;
  /** Text encoder ONNX (needs `vocab`): bytes or a URL; enables queries and statements. */
  textModel?: Uint8Array | string;
  /** The text model's vocabulary: a BERT `vocab.txt` or a Hugging Face `tokenizer.json`
   *  (WordPiece), its text or a URL (a string starting with `http://`, `https://`, `/`,
   *  `./` or `../`). Needs `textModel`. */
  vocab?: string;
  /** The text model's pooling, normalisation and longest sequence (default: mean pooling,
   *  unit length, 256 tokens); give the ones the catalog was built with
   *  (`recagent build-catalog --pooling …`). Only with `textModel`. */
  textOptions?: TextModelOptions;
  /** Image encoder ONNX (optional): bytes or a URL. */
  imageModel?: Uint8Array | string;
  /** A catalog held by a candidate engine (Chroma): `recommend` and the agent rank its
   *  public candidates here, privately; `catalog` is then the small bundle
   *  (`recagent build-catalog --small-out`). */
  candidates?: CandidateEngineOptions;
  /** Progress of the whole start, one shape for every phase: the module's start
   *  (`"compile"`, `file: "recagent_bg.wasm"`), each download (`"download"`, `file` the URL;
   *  a file read from the cache gives one event with `loaded === total`), the models'
   *  preparation (`"compile"`, `file: "textModel"` / `"imageModel"`), the embedding of
   *  `items` (`"embed"`) and the end (`"ready"`). */
  onProgress?: (progress: RecagentProgress) => void;
  /** Keep downloaded files in the Cache API (`caches`, cache `"recagent-v1"`)
   *  and read them from there next time (default `true`). Without the Cache
   *  API, or when the quota is exceeded, files are downloaded every time. */
  cache?: boolean;
  /** Version of the files behind the URLs (default `""`): a cached file
   *  stored under another version is downloaded again and replaced. */
  cacheVersion?: string;
  /** Cancels the start: `create` rejects with the signal's `reason` (an
   *  `AbortError` `DOMException` unless the app gave another). */
  signal?: AbortSignal;
  /** Name separating this recommender's state from others' (default `"default"`);
   *  the memory lives in IndexedDB database `recagent:<namespace>`, a catalog built
   *  from `items` in `recagent-catalog:<namespace>`. */
  namespace?: string;
  /** Keep state in IndexedDB (default `true`). `false` opens nothing durable: the
   *  memory, profile and added items last as long as the page, and a catalog built
   *  from `items` is built again next time. */
  persist?: boolean;
  /** Ask `navigator.storage.persist()` once IndexedDB is open (default `true`),
   *  so the browser does not evict the user's memory under storage pressure. */
  requestPersistence?: boolean;
  /** Where the `.wasm` comes from (default: the file beside the package's JS);
   *  only the first `create` or `init` of a page uses it. */
  wasm?: string | URL | Response | BufferSource | WebAssembly.Module;
  /** Receives memory storage events fired while `create` opens the store
   *  (`"blocked"`) and later (`"versionchange"`); see also `memory.on`. */
  onMemoryEvent?: (type: MemoryEventType) => void;
}

/** What every long operation reports to its `onProgress` callback. */
export interface RecagentProgress {
  /** `"compile"`: the module or a model is being prepared; `"download"`: a file
   *  arrives; `"embed"`: catalog items are embedded; `"ready"`: done. */
  phase: "download" | "compile" | "embed" | "ready";
  /** The URL (downloads) or what is prepared (`"recagent_bg.wasm"`, `"textModel"`,
   *  `"imageModel"`); absent for `"embed"` and `"ready"`. */
  file?: string;
  /** Work done so far: bytes (downloads), items (embed), 0 or 1 (compile, ready). */
  loaded: number;
  /** Work expected (a download's Content-Length, 0 while unknown); the last event
   *  of each file or phase has `loaded === total`. */
  total: number;
}

/** @deprecated The progress events of downloads: {@link RecagentProgress} with `phase: "download"`. */
export type RecagentDownloadProgress = RecagentProgress;

"#;

/// The files of `Recommender.create`, loaded.
pub(crate) struct CreateFiles {
    /// The catalog: bundle bytes, or the app's item records to build it from.
    pub catalog: CatalogSource,
    /// Text model bytes and vocab text.
    pub text: Option<(Vec<u8>, String)>,
    /// The text model's pooling, normalisation and longest sequence.
    pub text_options: TextEncoderOptions,
    /// Image model bytes.
    pub image: Option<Vec<u8>>,
    /// The URLs among the sources (what [`evict`] takes).
    pub urls: Vec<String>,
    /// The download options (progress callback, signal).
    pub loader: Loader,
}

/// Where the catalog comes from.
pub(crate) enum CatalogSource {
    /// A bundle (`recagent build-catalog` output).
    Bundle(Vec<u8>),
    /// Item records, built on the device ([`crate::catalog_build`]).
    Items(ItemsSource),
}

impl CreateFiles {
    /// The core recommender (with the image encoder, when given) built from
    /// the files (`invalid_catalog`, `invalid_model`, `invalid_vocab`,
    /// `unsupported_model`, `invalid_input` for bad item records, `aborted`).
    /// Reports `compile` while the models are prepared and `embed` while a
    /// catalog is built from items; `persist` lets a built catalog be read
    /// from and kept in IndexedDB.
    pub(crate) async fn into_core(self, namespace: &str, persist: bool) -> Result<Recommender> {
        let progress = self.loader.progress_sink();
        let text = match &self.text {
            Some((model, vocab)) => {
                progress.emit("compile", Some("textModel"), 0, 1);
                let encoder = TextEncoder::with_options(model, vocab, self.text_options.clone())?;
                progress.emit("compile", Some("textModel"), 1, 1);
                Some((encoder, model.as_slice(), vocab.as_str()))
            }
            None => None,
        };
        let catalog = match &self.catalog {
            CatalogSource::Bundle(bytes) => Catalog::from_bundle(bytes)?,
            CatalogSource::Items(items) => {
                let encoder = text.as_ref().map(|(e, m, v)| (e, *m, *v, &self.text_options));
                catalog_from_items(items, encoder, namespace, persist, progress, self.loader.signal()).await?
            }
        };
        let mut core = match text {
            Some((encoder, model, _)) => Recommender::new(catalog, Some((encoder, model)))?,
            None => Recommender::new(catalog, None)?,
        };
        if let Some(bytes) = &self.image {
            progress.emit("compile", Some("imageModel"), 0, 1);
            core.set_image_encoder(ImageEncoder::from_bytes(bytes, ImageEncoderOptions::default())?, bytes);
            progress.emit("compile", Some("imageModel"), 1, 1);
        }
        Ok(core)
    }
}

/// The keys of `RecommenderOptions` (`Recommender.create` and
/// `RecommenderWorker.create`), the download options ([`DOWNLOAD_KEYS`]) last.
pub(crate) fn check_create_keys(options: &JsValue) -> std::result::Result<(), JsValue> {
    const KEYS: &[&str] = &[
        "catalog", "items", "interactions", "embedWorkers", "textModel", "vocab", "textOptions", "imageModel", "namespace", "persist",
        "requestPersistence", "wasm", "onMemoryEvent", "candidates",
    ];
    reject_unknown_keys(options, "RecommenderOptions", &[KEYS, DOWNLOAD_KEYS].concat())
}

/// Reads `catalog`, `textModel`, `vocab`, `imageModel` and the download
/// options from the `RecommenderOptions` and loads the files (downloads run
/// concurrently). Rejects with `invalid_input` for a missing catalog, a
/// model without its vocab or the reverse, or a value of the wrong type;
/// with the download's error otherwise (every error a `RecagentError`).
pub(crate) async fn load_create_files(options: &JsValue) -> std::result::Result<CreateFiles, JsValue> {
    const WHAT: &str = "RecommenderOptions";
    let source = |key: &str| {
        Source::from_js(&field(options, key).unwrap_or(JsValue::UNDEFINED), &format!("{WHAT}.{key}")).map_err(js_error)
    };
    let items = read(options, WHAT, "items")?;
    let interactions = read(options, WHAT, "interactions")?;
    let catalog = match (source("catalog")?, &items) {
        (Some(bundle), None) => Some(bundle),
        (None, Some(_)) => None,
        (Some(_), Some(_)) => return Err(invalid(format!("{WHAT}: give catalog or items, not both"))),
        (None, None) => {
            return Err(invalid(format!(
                "{WHAT}.catalog (bundle bytes or URL) or {WHAT}.items (an array of items) is required"
            )))
        }
    };
    if catalog.is_some() && interactions.is_some() {
        return Err(invalid(format!("{WHAT}.interactions go with items (a bundle has its own)")));
    }
    if catalog.is_some() && read(options, WHAT, "embedWorkers")?.is_some() {
        return Err(invalid(format!("{WHAT}.embedWorkers goes with items (a bundle is embedded already)")));
    }
    let items = match items {
        Some(items) => Some(ItemsSource::from_js(&items, interactions, read(options, WHAT, "embedWorkers")?)?),
        None => None,
    };
    let text_model = source("textModel")?;
    let image_model = source("imageModel")?;
    let vocab = match read(options, WHAT, "vocab")? {
        None => None,
        Some(v) => Some(vocab_source(&v.as_string().ok_or_else(|| {
            invalid(format!("{WHAT}.vocab must be a string (the text or a URL)"))
        })?)),
    };
    let text_options_js = read(options, WHAT, "textOptions")?;
    let text_options = text_model_options(text_options_js.as_ref(), "RecommenderOptions.textOptions")?;
    let loader = download_options(options, WHAT)?;
    let text = match (text_model, vocab) {
        (Some(model), Some(vocab)) => Some((model, vocab)),
        (None, None) if text_options_js.is_some() => {
            return Err(invalid(format!("{WHAT}.textOptions go with textModel and vocab")))
        }
        (None, None) => None,
        _ => return Err(invalid(format!("{WHAT}: textModel and vocab go together"))),
    };
    let mut urls = Vec::new();
    for source in [catalog.as_ref(), text.as_ref().map(|t| &t.0), image_model.as_ref()].into_iter().flatten() {
        if let Source::Url(url) = source {
            urls.push(url.clone());
        }
    }
    if let Some((_, VocabSource::Url(url))) = &text {
        urls.push(url.clone());
    }
    let text_files = async {
        match text {
            Some((model, vocab)) => {
                let (model, vocab) =
                    futures::future::try_join(loader.load(model), loader.load_vocab(vocab)).await?;
                Ok(Some((model, vocab)))
            }
            None => Ok(None),
        }
    };
    let image_file = async {
        match image_model {
            Some(source) => loader.load(source).await.map(Some),
            None => Ok(None),
        }
    };
    let bundle = async {
        match catalog {
            Some(source) => loader.load(source).await.map(Some),
            None => Ok(None),
        }
    };
    let (bundle, text, image) = futures::future::try_join3(bundle, text_files, image_file)
        .await
        .map_err(js_error)?;
    let catalog = match (bundle, items) {
        (Some(bytes), _) => CatalogSource::Bundle(bytes),
        (None, Some(items)) => CatalogSource::Items(items),
        (None, None) => return Err(invalid(format!("{WHAT}: no catalog"))),
    };
    Ok(CreateFiles { catalog, text, text_options, image, urls, loader })
}
