//! Items the user adds, on the JS `Recommender`: `addItem`, `removeItem`,
//! `addedItems`, `itemPhoto`, `searchByPhoto`, `loadImageModel`. Converts
//! and delegates to [`recagent_core::recommender::items`]; the records persist in
//! the memory store ([`recagent_core::memory::StoredItem`]) and `create` restores
//! them (through [`recagent_core::session::Session::start`]).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::loader::{download_options, evict, Source, DOWNLOAD_KEYS};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;

use super::recommender::{parse_recommend_options, recommendations, JsRecommender, RecommendOptionsJs};
use super::interop::{abort_reason, field, invalid, js_error, reject_unknown_keys, settle, to_js};
use recagent_core::catalog::ValueRef;
use recagent_core::encoder::{ImageEncoder, ImageEncoderOptions};
use recagent_core::recommender::items::NewItem;
use recagent_core::memory::{Memory, StoredItem};
use recagent_core::recommender::{Photo, Recommender};

#[wasm_bindgen(typescript_custom_section)]
const TS_ITEMS: &'static str = r#"
/** What {@link Recommender.addItem} takes. */
export interface NewItem {
  /** A new id: 1..256 bytes, no control characters, not in the catalog yet. */
  id: string;
  /** Display title (1..500 characters). */
  title: string;
  /** A description, embedded with the title and the attributes. */
  text?: string;
  /** An image URL the app can display (stored as is, never fetched). */
  image?: string;
  /** Values of the catalog's declared attributes by name (see {@link Recommender.attributes}):
   *  `tags` take a string or a list, `number` a number, `text` a string. */
  attributes?: Record<string, string | number | string[] | null>;
  /** A photo, PNG or JPEG bytes (needs the image model); makes the item findable by photo. */
  photo?: Uint8Array;
}

/** A user-added item in {@link MemoryExport.items}: the stored record, its embeddings and its photo. */
export interface ExportedItem {
  id: string;
  title: string;
  description?: string;
  image?: string;
  attributes: Record<string, string | number | string[] | null>;
  /** The text that was embedded. */
  text: string;
  addedMs: number;
  /** Base64 of little-endian f32 values. */
  textEmbedding: string;
  textModel?: { bytes: number; crc32: number };
  imageEmbedding?: string;
  imageModel?: { bytes: number; crc32: number };
  photoType?: "image/png" | "image/jpeg";
  /** Base64 of the photo's bytes. */
  photo: string | null;
}

/** Options of {@link Recommender.loadImageModel}; every field is optional. */
export interface LoadImageModelOptions {
  /** Download progress, as in {@link RecommenderOptions.onProgress}. */
  onProgress?: (progress: RecagentProgress) => void;
  /** Keep the download in the Cache API (default true). */
  cache?: boolean;
  /** Cache version, as in {@link RecommenderOptions.cacheVersion}. */
  cacheVersion?: string;
  /** Cancels the download: rejects with the signal's `reason` (an `AbortError` DOMException by default). */
  signal?: AbortSignal;
}
"#;

/// One item as JS sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemRecord<'a> {
    id: &'a str,
    title: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    attributes: BTreeMap<&'a str, ValueRef<'a>>,
    user_added: bool,
    has_photo: bool,
}

/// The record of item `id` (`undefined` when the catalog lacks it).
pub(crate) fn item_record(core: &Recommender, id: &str) -> Result<JsValue, JsValue> {
    let catalog = core.catalog();
    let Some((index, item)) = catalog.index_of(id).and_then(|i| Some((i, catalog.item(i)?))) else {
        // A record the candidate engine returned lately (public).
        let Some(w) = core.engine_items().get(id) else { return Ok(JsValue::UNDEFINED) };
        let attributes = catalog.attributes().iter().zip(&w.item.values).map(|(def, v)| (def.name.as_str(), v.as_ref())).collect();
        return to_js(&ItemRecord {
            id: &w.item.id,
            title: &w.item.title,
            text: &w.item.text,
            image: w.item.image.as_deref(),
            attributes,
            user_added: false,
            has_photo: false,
        });
    };
    let attributes = catalog
        .attributes()
        .iter()
        .zip(item.values())
        .map(|(def, v)| (def.name.as_str(), v))
        .collect();
    let text = item.text();
    to_js(&ItemRecord {
        id: item.id(),
        title: item.title(),
        text: &text,
        image: item.image(),
        attributes,
        user_added: catalog.is_added(index),
        has_photo: catalog.has_photo(index),
    })
}

#[wasm_bindgen]
extern "C" {
    /// The `LoadImageModelOptions` object of the TypeScript section (optional argument).
    #[wasm_bindgen(typescript_type = "LoadImageModelOptions")]
    pub type LoadImageModelOptionsJs;
}

#[wasm_bindgen(js_class = Recommender)]
impl JsRecommender {
    /// Adds an item to the live catalog, embedded on the device (text by the
    /// text model; `photo` by the image model), and stores it in the memory
    /// (IndexedDB) so the next `create` in this namespace restores it.
    /// Resolves to the new item's record. Rejects, adding nothing, with
    /// `invalid_input` (duplicate or malformed id, empty title, unknown
    /// attribute or wrong kind, unknown key, no text model, a photo without
    /// the image model), `invalid_image` / `image_too_large` (photo bytes),
    /// `quota_exceeded` / `storage_error` (the record could not be stored).
    #[wasm_bindgen(js_name = addItem, unchecked_return_type = "Promise<ItemRecord>")]
    pub fn add_item(&self, #[wasm_bindgen(unchecked_param_type = "NewItem")] item: JsValue) -> js_sys::Promise {
        self.add_item_inner(item).unwrap_or_else(|e| js_sys::Promise::reject(&e))
    }

    /// Removes an item added with `addItem` from the live catalog and from
    /// the memory store (record and photo). Resolves to `false` when no
    /// added item has this id; rejects with `invalid_input` for a catalog
    /// (bundle) item, `storage_error` when the store fails.
    #[wasm_bindgen(js_name = removeItem, unchecked_return_type = "Promise<boolean>")]
    pub fn remove_item(&self, id: String) -> js_sys::Promise {
        self.remove_item_inner(id).unwrap_or_else(|e| js_sys::Promise::reject(&e))
    }

    /// The items added with `addItem` (restored ones included), oldest first.
    #[wasm_bindgen(js_name = addedItems, unchecked_return_type = "Promise<ItemRecord[]>")]
    pub fn added_items_js(&self) -> js_sys::Promise {
        settle(self.added_items())
    }

    /// The stored photo of an added item (the bytes given to `addItem`), or
    /// `undefined`; e.g. `URL.createObjectURL(new Blob([bytes]))` shows it.
    #[wasm_bindgen(js_name = itemPhoto, unchecked_return_type = "Promise<Uint8Array | undefined>")]
    pub fn item_photo(&self, id: String) -> js_sys::Promise {
        let memory = self.memory_rc();
        wasm_bindgen_futures::future_to_promise(async move {
            Ok(match memory.item_photo(&id).await.map_err(js_error)? {
                Some(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
                None => JsValue::UNDEFINED,
            })
        })
    }

    /// Ranks the items that have a photo by similarity to `photo` (PNG or
    /// JPEG bytes, embedded on the device), blended with the profile like a
    /// text query; takes the options of `recommend` (a `query` adds a text
    /// signal) and returns the same records, with
    /// `explanation.photoSimilarity`. Rejects with `invalid_input` (no image model,
    /// bad options), `invalid_image`, `image_too_large`.
    #[wasm_bindgen(js_name = searchByPhoto, unchecked_return_type = "Promise<Recommendation[]>")]
    pub fn search_by_photo_js(&self, photo: &[u8], options: Option<RecommendOptionsJs>) -> js_sys::Promise {
        let search = self.search_by_photo(photo.to_vec(), options);
        wasm_bindgen_futures::future_to_promise(async move { search.await.map(JsValue::from) })
    }

    /// Loads the image model after `create` (bytes or a URL, downloaded with
    /// progress and kept in the Cache API like `create`'s files), for
    /// `addItem` photos and `searchByPhoto`. Replaces a loaded one. Rejects with
    /// with `invalid_model` / `unsupported_model`, `network_error`,
    /// `timeout`, `invalid_input` (bad options); with the signal's `reason`
    /// (an `AbortError` DOMException by default) once `signal` fires.
    #[wasm_bindgen(js_name = loadImageModel, unchecked_return_type = "Promise<void>")]
    pub fn load_image_model(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] model: JsValue,
        options: Option<LoadImageModelOptionsJs>,
    ) -> js_sys::Promise {
        let options = options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
        self.load_image_model_inner(model, options).unwrap_or_else(|e| js_sys::Promise::reject(&e))
    }
}

impl JsRecommender {
    fn load_image_model_inner(&self, model: JsValue, options: JsValue) -> Result<js_sys::Promise, JsValue> {
        let source = Source::from_js(&model, "loadImageModel(model)")
            .map_err(js_error)?
            .ok_or_else(|| invalid("loadImageModel needs the model: bytes or a URL"))?;
        if !options.is_undefined() && !options.is_null() {
            reject_unknown_keys(&options, "LoadImageModelOptions", DOWNLOAD_KEYS)?;
        }
        let loader = download_options(&options, "LoadImageModelOptions")?;
        let core = self.core_rc().clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let url = match &source {
                Source::Url(u) => Some(u.clone()),
                Source::Bytes(_) => None,
            };
            let bytes = loader.load(source).await.map_err(|e| abort_reason(loader.signal(), js_error(e)))?;
            let encoder = match ImageEncoder::from_bytes(&bytes, ImageEncoderOptions::default()) {
                Ok(e) => e,
                Err(e) => {
                    if let Some(url) = url {
                        evict(&[url]).await;
                    }
                    return Err(js_error(e));
                }
            };
            core.try_borrow_mut()
                .map_err(|_| invalid("the recommender is busy (re-entrant call)"))?
                .set_image_encoder(encoder, &bytes);
            Ok(JsValue::UNDEFINED)
        }))
    }

    /// Checks `item` now (synchronously, so a bad call rejects before any
    /// work). Without a photo the item is added at once (it is in the
    /// catalog when the call returns) and stored; with one, the photo is
    /// decoded by the browser first, then the item is embedded, added and
    /// stored.
    fn add_item_inner(&self, item: JsValue) -> Result<js_sys::Promise, JsValue> {
        reject_unknown_keys(&item, "NewItem", &["id", "title", "text", "image", "attributes", "photo"])?;
        let photo = match field(&item, "photo") {
            Some(p) => Some(
                p.dyn_into::<js_sys::Uint8Array>()
                    .map_err(|_| invalid("NewItem.photo must be a Uint8Array (PNG or JPEG bytes)"))?
                    .to_vec(),
            ),
            None => None,
        };
        if let Some(attributes) = field(&item, "attributes") {
            if !attributes.is_object() || attributes.is_array() {
                return Err(invalid("NewItem.attributes must be an object"));
            }
        }
        let new: NewItem = serde_wasm_bindgen::from_value(item).map_err(|e| invalid(format!("NewItem: {e}")))?;
        let core = self.core_rc().clone();
        let memory = self.memory_rc();
        let Some(bytes) = photo else {
            let stored = busy(core.try_borrow_mut())?.add_item(new, None, js_sys::Date::now()).map_err(js_error)?;
            return Ok(wasm_bindgen_futures::future_to_promise(store_added(core, memory, stored, None)));
        };
        let limits = busy(core.try_borrow())?.photo_limits().map_err(js_error)?;
        let decoder = self.decoder();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let photo = Photo::decode(&*decoder, bytes, limits).await.map_err(js_error)?;
            let stored = busy(core.try_borrow_mut())?
                .add_item(new, Some(&photo), js_sys::Date::now())
                .map_err(js_error)?;
            store_added(core, memory, stored, Some(photo)).await
        }))
    }

    fn remove_item_inner(&self, id: String) -> Result<js_sys::Promise, JsValue> {
        let removed = self
            .core_rc()
            .try_borrow_mut()
            .map_err(|_| invalid("the recommender is busy (re-entrant call)"))?
            .remove_item(&id)
            .map_err(js_error)?;
        let memory = self.memory_rc();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let stored = memory.delete_item(&id).await.map_err(js_error)?;
            Ok(JsValue::from_bool(removed || stored))
        }))
    }
}

impl JsRecommender {
    /// `added_items` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn added_items(&self) -> Result<js_sys::Array, JsValue> {
        let core = self.core_rc().try_borrow().map_err(|_| invalid("the recommender is busy (re-entrant call)"))?;
        let out = js_sys::Array::new();
        for item in core.catalog().added_items() {
            out.push(&item_record(&core, item.id())?);
        }
        Ok(out)
    }

    /// `search_by_photo` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise). The
    /// options are read now; the photo is decoded by the browser, then ranked.
    pub fn search_by_photo(
        &self,
        photo: Vec<u8>,
        options: Option<RecommendOptionsJs>,
    ) -> impl std::future::Future<Output = Result<js_sys::Array, JsValue>> + 'static {
        let options = parse_recommend_options(options);
        let core = self.core_rc().clone();
        let decoder = self.decoder();
        async move {
            let options = options?;
            let limits = busy(core.try_borrow())?.photo_limits().map_err(js_error)?;
            let photo = Photo::decode(&*decoder, photo, limits).await.map_err(js_error)?;
            let core = busy(core.try_borrow())?;
            let list = core.search_by_photo(&photo, &options).map_err(js_error)?;
            recommendations(&core, &list)
        }
    }
}

/// Stores an item `add_item` just added (with its photo's bytes), then
/// resolves to its record; when the store refuses, the item is taken out of
/// the catalog again so the page and the store agree.
async fn store_added(
    core: Rc<RefCell<Recommender>>,
    memory: Rc<Memory>,
    stored: StoredItem,
    photo: Option<Photo>,
) -> Result<JsValue, JsValue> {
    if let Err(e) = memory.put_item(&stored, photo.as_ref().map(Photo::bytes)).await {
        if let Ok(mut c) = core.try_borrow_mut() {
            let _ = c.remove_item(&stored.id);
        }
        return Err(js_error(e));
    }
    item_record(&*busy(core.try_borrow())?, &stored.id)
}

/// The recommender borrowed, or `invalid_input` when a call is already
/// using it (a re-entrant call from a callback).
fn busy<T, E>(borrow: std::result::Result<T, E>) -> Result<T, JsValue> {
    borrow.map_err(|_| invalid("the recommender is busy (re-entrant call)"))
}
