//! Downloads of the files `Recommender.create` takes by URL (catalog, models,
//! vocab): `fetch` streamed through [`FetchHttp`] with progress events, and
//! kept in the Cache API (`caches.open("recagent-v1")`) so the next visit
//! reads them from the disk.
//!
//! The cache is an optimisation, never a requirement: when `caches` is
//! missing (an insecure context, some private modes), opening or reading it
//! fails, or storing a file exceeds the quota, the file is simply downloaded
//! (and progress still reported). A cached entry carries the app's
//! `cacheVersion`; an entry with another version is downloaded again and
//! replaced, so an app that changes a file behind the same URL bumps the
//! version.


use futures::StreamExt;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::fetch::FetchHttp;
use super::interop::{bool_field, describe, function_field, signal_field, string_field};
use recagent_core::error::{Error, Result};
use recagent_core::platform::{Http, HttpRequest};


/// Name of the Cache API cache holding downloaded files (the `v1` is the
/// layout of its entries; [`clear_cache`] deletes it).
pub const CACHE_NAME: &str = "recagent-v1";

/// Response header of a cached entry holding the app's `cacheVersion`.
const VERSION_HEADER: &str = "x-recagent-cache-version";

/// Longest a single download may take, body included (a 25 MB model over a
/// slow mobile link still fits).
const DOWNLOAD_TIMEOUT_MS: u32 = 30 * 60 * 1000;

/// Where a file comes from: bytes the app already has, or a URL to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The file's bytes.
    Bytes(Vec<u8>),
    /// An absolute or page-relative URL.
    Url(String),
}

impl Source {
    /// `value` as a source: a `Uint8Array` is bytes, a string is a URL;
    /// `None` for `undefined`/`null`. `what` names the option in errors
    /// (`invalid_input`).
    pub fn from_js(value: &JsValue, what: &str) -> Result<Option<Source>> {
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
            return Ok(Some(Source::Bytes(bytes.to_vec())));
        }
        match value.as_string() {
            Some(url) if !url.is_empty() => Ok(Some(Source::Url(url))),
            _ => Err(Error::InvalidInput(format!(
                "{what} must be a Uint8Array or a URL string"
            ))),
        }
    }
}

/// The `vocab` option: a URL (it starts with `http://`, `https://`, `/`,
/// `./` or `../`) is fetched; any other string is the vocab text itself
/// (what earlier versions took).
pub fn vocab_source(value: &str) -> VocabSource {
    if looks_like_url(value) {
        VocabSource::Url(value.to_string())
    } else {
        VocabSource::Text(value.to_string())
    }
}

/// What [`vocab_source`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VocabSource {
    /// The `vocab.txt` text.
    Text(String),
    /// Where to fetch it.
    Url(String),
}

/// Whether `s` is meant as a URL rather than file contents.
pub fn looks_like_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://")
        || lower.starts_with("https://")
        || s.starts_with("./")
        || s.starts_with("../")
        || (s.starts_with('/') && !s.contains('\n'))
}

/// How files are downloaded: the progress callback, the cache settings and
/// the optional abort signal.
#[derive(Debug, Clone)]
pub struct Loader {
    on_progress: Progress,
    use_cache: bool,
    cache_version: String,
    signal: Option<web_sys::AbortSignal>,
}

impl Loader {
    /// A loader calling `on_progress({ file, loaded, total })` while
    /// downloading, caching downloads when `use_cache` under `cache_version`.
    pub fn new(on_progress: Option<js_sys::Function>, use_cache: bool, cache_version: String) -> Self {
        Self {
            on_progress: Progress(on_progress),
            use_cache,
            cache_version,
            signal: None,
        }
    }

    /// Where this loader's progress events go (for the phases after the downloads).
    pub fn progress_sink(&self) -> &Progress {
        &self.on_progress
    }

    /// The signal this loader's downloads obey.
    pub fn signal(&self) -> Option<&web_sys::AbortSignal> {
        self.signal.as_ref()
    }

    /// The same loader with downloads that `signal` aborts (`aborted`).
    pub fn with_signal(mut self, signal: Option<web_sys::AbortSignal>) -> Self {
        self.signal = signal;
        self
    }

    /// The bytes of `source`: given bytes as they are, a URL from the cache
    /// or the network. Fails with `network_error` (no response, an HTTP
    /// status other than 2xx, or an HTML page), `timeout` (over 30 minutes),
    /// `aborted` (the loader's signal fired).
    pub async fn load(&self, source: Source) -> Result<Vec<u8>> {
        match source {
            Source::Bytes(bytes) => Ok(bytes),
            Source::Url(url) => self.load_url(&url).await,
        }
    }

    /// The vocab text: given text as it is, a URL downloaded like
    /// [`Loader::load`] and decoded as UTF-8 (`invalid_vocab` otherwise).
    pub async fn load_vocab(&self, source: VocabSource) -> Result<String> {
        match source {
            VocabSource::Text(text) => Ok(text),
            VocabSource::Url(url) => {
                let bytes = self.load_url(&url).await?;
                String::from_utf8(bytes)
                    .map_err(|_| Error::InvalidVocab(format!("{url} is not UTF-8 text")))
            }
        }
    }

    async fn load_url(&self, url: &str) -> Result<Vec<u8>> {
        let cache = if self.use_cache { open_cache().await } else { None };
        if let Some(cache) = &cache {
            if let Some(bytes) = self.cached(cache, url).await {
                self.progress(url, bytes.len(), bytes.len());
                return Ok(bytes);
            }
        }
        let bytes = self.download(url).await?;
        if let Some(cache) = &cache {
            self.store(cache, url, &bytes).await;
        }
        Ok(bytes)
    }

    /// The cached bytes of `url` when present with this loader's version.
    async fn cached(&self, cache: &JsValue, url: &str) -> Option<Vec<u8>> {
        let response = await_method(cache, "match", &[JsValue::from_str(url)]).await.ok()?;
        let response = response.dyn_into::<web_sys::Response>().ok()?;
        let version = response.headers().get(VERSION_HEADER).ok().flatten().unwrap_or_default();
        if version != self.cache_version {
            return None;
        }
        let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
        Some(js_sys::Uint8Array::new(&buffer).to_vec())
    }

    /// Puts `bytes` into the cache under `url`; a failure (quota exceeded,
    /// storage disabled) only means the next visit downloads again.
    async fn store(&self, cache: &JsValue, url: &str, bytes: &[u8]) {
        let Some(response) = cache_response(bytes, &self.cache_version) else { return };
        if let Err(e) = await_method(cache, "put", &[JsValue::from_str(url), response]).await {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "recagent: {url} was not cached ({}); it will be downloaded again next time",
                describe(&e)
            )));
        }
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>> {
        let request = HttpRequest {
            method: "GET".into(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: DOWNLOAD_TIMEOUT_MS,
        };
        let http = match &self.signal {
            Some(signal) => FetchHttp::with_signal(signal.clone()),
            None => FetchHttp::new(),
        };
        let response = http.send_streaming(request).await?;
        if !(200..300).contains(&response.status) {
            return Err(Error::Network(format!("{url}: HTTP {}", response.status)));
        }
        let header = |name: &str| {
            response.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        };
        if header("content-type").is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html")) {
            // What servers with an app fallback answer for a wrong path.
            return Err(Error::Network(format!(
                "{url}: the server answered an HTML page, not the file (is the path right?)"
            )));
        }
        let expected = header("content-length").and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
        let mut bytes = Vec::new();
        // A lying Content-Length must not abort the instance: reserve is a hint.
        let _ = bytes.try_reserve(expected.min(1 << 30));
        self.progress(url, 0, expected);
        let mut body = response.body;
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
            // A compressed transfer can deliver more than Content-Length says.
            self.progress(url, bytes.len(), expected.max(bytes.len()));
        }
        if bytes.len() < expected {
            // Fewer bytes than announced: the last event says where it ended.
            self.progress(url, bytes.len(), bytes.len());
        }
        Ok(bytes)
    }

    /// Calls `onProgress({ phase: "download", file, loaded, total })`.
    fn progress(&self, file: &str, loaded: usize, total: usize) {
        self.on_progress.emit("download", Some(file), loaded, total);
    }
}

/// The app's `onProgress` callback (or none): every long operation reports
/// through it with one event shape, `{ phase, file?, loaded, total }`.
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<js_sys::Function>);

impl Progress {
    /// Progress reported to `callback` (none: nothing is reported).
    pub fn new(callback: Option<js_sys::Function>) -> Self {
        Self(callback)
    }

    /// Calls the callback with `{ phase, file?, loaded, total }`; a throwing
    /// callback is ignored (progress must not fail the work it reports).
    pub fn emit(&self, phase: &str, file: Option<&str>, loaded: usize, total: usize) {
        let Some(f) = &self.0 else { return };
        let event = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&event, &"phase".into(), &JsValue::from_str(phase));
        if let Some(file) = file {
            let _ = js_sys::Reflect::set(&event, &"file".into(), &JsValue::from_str(file));
        }
        let _ = js_sys::Reflect::set(&event, &"loaded".into(), &JsValue::from(loaded as f64));
        let _ = js_sys::Reflect::set(&event, &"total".into(), &JsValue::from(total as f64));
        let _ = f.call1(&JsValue::NULL, &event);
    }
}

/// Deletes the download cache; `true` when it existed, `false` when it did
/// not or the Cache API is unavailable.
pub async fn clear_cache() -> Result<bool> {
    let Some(storage) = cache_storage() else { return Ok(false) };
    let deleted = await_method(&storage, "delete", &[JsValue::from_str(CACHE_NAME)])
        .await
        .map_err(|e| Error::Storage(format!("cannot delete the {CACHE_NAME} cache: {}", describe(&e))))?;
    Ok(deleted.as_bool().unwrap_or(false))
}

/// Deletes the cached entries of `urls` (after their contents turned out
/// unusable); does nothing without the Cache API.
pub(crate) async fn evict(urls: &[String]) {
    let Some(cache) = open_cache().await else { return };
    for url in urls {
        // An entry that cannot be deleted is replaced by the next good download.
        let _ = await_method(&cache, "delete", &[JsValue::from_str(url)]).await;
    }
}

/// The global `caches` (window or worker), if this context has one.
fn cache_storage() -> Option<JsValue> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("caches"))
        .ok()
        .filter(|c| c.is_object())
}

/// `caches.open(CACHE_NAME)`, or `None` when that is not possible here.
async fn open_cache() -> Option<JsValue> {
    let storage = cache_storage()?;
    await_method(&storage, "open", &[JsValue::from_str(CACHE_NAME)])
        .await
        .ok()
        .filter(|c| c.is_object())
}

/// `new Response(bytes, { headers })` for the cache, or `None` if the global
/// `Response` is missing or refuses.
fn cache_response(bytes: &[u8], version: &str) -> Option<JsValue> {
    let global = js_sys::global();
    let constructor = js_sys::Reflect::get(&global, &JsValue::from_str("Response")).ok()?;
    let constructor = constructor.dyn_ref::<js_sys::Function>()?;
    let headers = js_sys::Object::new();
    js_sys::Reflect::set(&headers, &"content-type".into(), &"application/octet-stream".into()).ok()?;
    js_sys::Reflect::set(&headers, &VERSION_HEADER.into(), &JsValue::from_str(version)).ok()?;
    let init = js_sys::Object::new();
    js_sys::Reflect::set(&init, &"headers".into(), &headers).ok()?;
    let body = js_sys::Uint8Array::from(bytes);
    let args = js_sys::Array::of2(&body, &init);
    js_sys::Reflect::construct(constructor, &args).ok()
}

/// Calls `target[name](...args)` and awaits the promise it returns.
async fn await_method(target: &JsValue, name: &str, args: &[JsValue]) -> std::result::Result<JsValue, JsValue> {
    let method = js_sys::Reflect::get(target, &JsValue::from_str(name))?;
    let method = method
        .dyn_ref::<js_sys::Function>()
        .ok_or_else(|| JsValue::from_str(&format!("{name} is not a function")))?;
    let promise = method.apply(target, &args.iter().collect::<js_sys::Array>())?;
    JsFuture::from(js_sys::Promise::resolve(&promise)).await
}


/// The download options every API that loads files by URL takes
/// (`Recommender.create`, `Recommender.loadImageModel`, `EncoderPool.create`),
/// in the order their TypeScript interfaces list them.
pub(crate) const DOWNLOAD_KEYS: &[&str] = &["onProgress", "cache", "cacheVersion", "signal"];

/// The [`Loader`] the download options of `options` describe: `onProgress`
/// (a function), `cache` (a boolean, default `true`), `cacheVersion` (a
/// string, default `""`), `signal` (an `AbortSignal`). `undefined`/`null`
/// options give the defaults. Fails with `invalid_input`
/// ("{what}.{key} must be …") for a value of the wrong type; does not check
/// for unknown keys (the caller knows the other keys, see [`DOWNLOAD_KEYS`]).
pub(crate) fn download_options(options: &JsValue, what: &str) -> Result<Loader, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(Loader::new(None, true, String::new()));
    }
    let on_progress = function_field(options, what, "onProgress")?;
    let signal = signal_field(options, what, "signal")?;
    let cache = bool_field(options, what, "cache")?.unwrap_or(true);
    let version = string_field(options, what, "cacheVersion")?.unwrap_or_default();
    Ok(Loader::new(on_progress, cache, version).with_signal(signal))
}
