//! `TextEmbedder` and `ImageEmbedder`: the encoders on their own, for apps
//! that only want embeddings.

use crate::interop::{invalid, js_error, reject_unknown_keys};
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use recagent_core::encoder::{
    DecodeLimits, ImageEncoder, ImageEncoderOptions, Pooling, Preprocessing, TextEncoder, TextEncoderOptions,
};
use recagent_core::encoder::ImageEmbedding;
use recagent_core::recommender::Photo;

use crate::image_decoder::BrowserImageDecoder;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** How a text model's token states become one embedding ({@link TextEmbedder.create},
 *  {@link RecommenderOptions.textOptions}, {@link EncoderPoolOptions.textOptions}).
 *  The defaults suit sentence-transformers models such as all-MiniLM-L6-v2. */
export interface TextModelOptions {
  /** `"mean"` over the text's tokens (default) or the `[CLS]` token's state (`"cls"`: BGE, E5 with
   *  CLS pooling, …). A model whose output is already one vector per text is used as it is. */
  pooling?: "mean" | "cls";
  /** Scale every embedding to unit length (default `true`; cosine ranking expects it). */
  normalize?: boolean;
  /** Longest token sequence, `[CLS]` and `[SEP]` included (2 to 4096, default 256);
   *  longer texts are truncated. */
  maxLength?: number;
  /** Compile the model for each shape of the calls (one text padded to a length bucket, a
   *  batch at its own size) instead of one plan for every shape (default `false`). Up to 3
   *  such plans live, each with its own packed weights (about 42 MB for MiniLM-L6), and the
   *  first call of a new shape waits for its compilation. Natively batches ran about 10 %
   *  faster; in Chromium the gain was within the noise of our benchmark machine. */
  shapePlans?: boolean;
  /** Run the products with constant weights in integers: int8 weights, each row of
   *  activations quantised to 16-bit integers, exact 32-bit sums (WebAssembly SIMD's
   *  `i32x4.dot_i16x8_s`). Default `true`; embeddings stay within cosine 0.999 of the f32
   *  plan's. `false` runs every product in f32 (tract's kernel), slower in the browser. */
  int8MatMul?: boolean;
}

/** Options of {@link ImageEmbedder.create}; every field is optional. */
export interface ImageEmbedderOptions {
  /** Model output used as the embedding (default: `"embedding"`, or the only output). */
  embeddingOutput?: string;
  /** Model output with class scores (default: `"output"` or `"logits"` when present). */
  logitsOutput?: string;
  /** The shorter side is resized to this first (default 256). */
  resizeShorter?: number;
  /** Side of the centred square crop, the network's input size (default 224). */
  crop?: number;
  /** Per-channel RGB mean after scaling to [0, 1] (default ImageNet). */
  mean?: [number, number, number];
  /** Per-channel RGB standard deviation (default ImageNet). */
  std?: [number, number, number];
  /** Largest accepted width or height of an encoded image, in pixels (default 12000). */
  maxSide?: number;
  /** Run the 1×1 convolutions (and other products with constant weights) in integers:
   *  int8 weights, activations quantised per pixel to 16-bit integers, exact 32-bit sums.
   *  Default `true`; embeddings stay within cosine 0.999 of the f32 plan's. */
  int8MatMul?: boolean;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The `ImageEmbedderOptions` object of the TypeScript section above.
    #[wasm_bindgen(typescript_type = "ImageEmbedderOptions")]
    pub type ImageEmbedderOptionsJs;

    /// The `TextModelOptions` object of the TypeScript section above.
    #[wasm_bindgen(typescript_type = "TextModelOptions")]
    pub type TextModelOptionsJs;

    /// A progress callback, `{ phase: "embed", loaded, total }`.
    #[wasm_bindgen(typescript_type = "(progress: RecagentProgress) => void")]
    pub type ProgressCallback;
}

/// Sentence embeddings on the device (all-MiniLM-L6-v2 or any BERT-style ONNX encoder).
///
/// Named `TextEmbedder` in JS so it does not shadow the browser's `TextEncoder`.
#[wasm_bindgen]
pub struct TextEmbedder {
    inner: Rc<TextEncoder>,
}

#[wasm_bindgen]
impl TextEmbedder {
    /// Loads the ONNX model bytes and the vocabulary (a BERT `vocab.txt` or a
    /// Hugging Face `tokenizer.json`, its text), with the pooling,
    /// normalisation and longest sequence of `options`. Rejects with a
    /// `RecagentError` (`invalid_model`, `unsupported_model`,
    /// `invalid_vocab`, `invalid_input` for bad options).
    pub async fn create(
        #[wasm_bindgen(js_name = modelBytes)] model_bytes: Vec<u8>,
        vocab: String,
        options: Option<TextModelOptionsJs>,
    ) -> Result<TextEmbedder, JsValue> {
        let options = text_model_options(options.map(JsValue::from).as_ref(), "TextModelOptions")?;
        let inner = TextEncoder::with_options(&model_bytes, &vocab, options).map_err(js_error)?;
        Ok(TextEmbedder {
            inner: Rc::new(inner),
        })
    }

    /// Length of every embedding (384 for MiniLM).
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// How many of the model's products with constant weights run in
    /// integers (`int8MatMul`; 36 for MiniLM-L6, 0 when the option is off).
    #[wasm_bindgen(getter, js_name = int8Products)]
    pub fn int8_products(&self) -> usize {
        self.inner.int8_products()
    }

    /// Unit-length embedding of `text` (texts over 256 tokens are truncated).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, JsValue> {
        self.inner.embed(text).map_err(js_error)
    }

    /// Unit-length embeddings of `texts`, in order. Throws `invalid_input` for an empty array.
    /// `onProgress({ phase: "embed", loaded, total })` is called after each
    /// chunk of the batch is embedded (`loaded` texts done of `total`).
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(
        &self,
        texts: Vec<String>,
        #[wasm_bindgen(js_name = onProgress)] on_progress: Option<ProgressCallback>,
    ) -> Result<Vec<js_sys::Float32Array>, JsValue> {
        let callback = on_progress.map(|f| f.unchecked_into::<js_sys::Function>());
        let mut progress = |done: usize, total: usize| {
            if let Some(f) = &callback {
                // A throwing callback must not abort the embedding; its error is dropped.
                super::loader::Progress::new(Some(f.clone())).emit("embed", None, done, total);
            }
        };
        let out = self
            .inner
            .embed_batch_with_progress(&texts, &mut progress)
            .map_err(js_error)?;
        Ok(out
            .iter()
            .map(|v| js_sys::Float32Array::from(v.as_slice()))
            .collect())
    }

    /// Token ids the model sees for `text` (`[CLS] … [SEP]`).
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.inner.tokenize(text)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JsImageOptions {
    embedding_output: Option<String>,
    logits_output: Option<String>,
    resize_shorter: Option<u32>,
    crop: Option<u32>,
    mean: Option<[f32; 3]>,
    std: Option<[f32; 3]>,
    max_side: Option<u32>,
    #[serde(rename = "int8MatMul")]
    int8_matmul: Option<bool>,
}

impl JsImageOptions {
    const KEYS: &'static [&'static str] = &[
        "embeddingOutput",
        "logitsOutput",
        "resizeShorter",
        "crop",
        "mean",
        "std",
        "maxSide",
        "int8MatMul",
    ];

    fn into_core(self) -> ImageEncoderOptions {
        let pre = Preprocessing::default();
        let limits = DecodeLimits::default();
        ImageEncoderOptions {
            preprocessing: Preprocessing {
                resize_shorter: self.resize_shorter.unwrap_or(pre.resize_shorter),
                crop: self.crop.unwrap_or(pre.crop),
                mean: self.mean.unwrap_or(pre.mean),
                std: self.std.unwrap_or(pre.std),
            },
            embedding_output: self.embedding_output,
            logits_output: self.logits_output,
            limits: DecodeLimits {
                max_side: self.max_side.unwrap_or(limits.max_side),
                ..limits
            },
            int8_matmul: self.int8_matmul.unwrap_or(ImageEncoderOptions::default().int8_matmul),
        }
    }
}

/// Image embeddings on the device (MobileNetV2 by default, or any ONNX image encoder).
#[wasm_bindgen]
pub struct ImageEmbedder {
    inner: Rc<ImageEncoder>,
}

#[wasm_bindgen]
impl ImageEmbedder {
    /// Loads an ONNX image model taking one f32 `[batch, 3, H, W]` input.
    /// Rejects with a `RecagentError` (`invalid_model`, `unsupported_model`, `invalid_input`).
    pub async fn create(
        #[wasm_bindgen(js_name = modelBytes)] model_bytes: Vec<u8>,
        options: Option<ImageEmbedderOptionsJs>,
    ) -> Result<ImageEmbedder, JsValue> {
        let options: JsImageOptions = match options.map(JsValue::from) {
            Some(v) if !v.is_undefined() && !v.is_null() => {
                reject_unknown_keys(&v, "ImageEmbedderOptions", JsImageOptions::KEYS)?;
                serde_wasm_bindgen::from_value(v).map_err(|e| invalid(format!("ImageEmbedderOptions: {e}")))?
            }
            _ => JsImageOptions::default(),
        };
        let inner =
            ImageEncoder::from_bytes(&model_bytes, options.into_core()).map_err(js_error)?;
        Ok(ImageEmbedder {
            inner: Rc::new(inner),
        })
    }

    /// Length of every embedding (1280 for MobileNetV2).
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// How many of the model's products with constant weights (1×1
    /// convolutions, dense layers) run in integers (`int8MatMul`; 0 when the
    /// option is off).
    #[wasm_bindgen(getter, js_name = int8Products)]
    pub fn int8_products(&self) -> usize {
        self.inner.int8_products()
    }

    /// Embeds a canvas `ImageData` (RGBA pixels; alpha is ignored).
    #[wasm_bindgen(js_name = embedImageData)]
    pub fn embed_image_data(&self, image: &web_sys::ImageData) -> Result<Vec<f32>, JsValue> {
        let rgba = image.data();
        self.inner
            .embed_rgba(image.width(), image.height(), &rgba)
            .map(|e| e.embedding)
            .map_err(js_error)
    }

    /// Embeds PNG or JPEG bytes, decoded by the browser (`createImageBitmap`)
    /// once their header is within the model's limits. Rejects with
    /// `invalid_image`, `image_too_large`, or `invalid_input` for more than
    /// 32 MiB.
    #[wasm_bindgen(js_name = embedEncoded, unchecked_return_type = "Promise<Float32Array>")]
    pub fn embed_encoded(&self, bytes: &[u8]) -> js_sys::Promise {
        let (encoder, bytes) = (self.inner.clone(), bytes.to_vec());
        wasm_bindgen_futures::future_to_promise(async move {
            let embedded = embed_photo(&encoder, bytes).await?;
            Ok(js_sys::Float32Array::from(embedded.embedding.as_slice()).into())
        })
    }

    /// Indices of the `k` highest class scores of PNG/JPEG bytes, best first
    /// (empty when the model has no class output); decoded and refused as
    /// in `embedEncoded`.
    #[wasm_bindgen(js_name = topClasses, unchecked_return_type = "Promise<Uint32Array>")]
    pub fn top_classes(&self, bytes: &[u8], k: usize) -> js_sys::Promise {
        let (encoder, bytes) = (self.inner.clone(), bytes.to_vec());
        wasm_bindgen_futures::future_to_promise(async move {
            let embedded = embed_photo(&encoder, bytes).await?;
            let top: Vec<u32> = embedded.top_k(k).into_iter().map(|i| i as u32).collect();
            Ok(js_sys::Uint32Array::from(top.as_slice()).into())
        })
    }
}

/// PNG/JPEG bytes checked and decoded by the browser within `encoder`'s
/// limits ([`Photo::decode`]), then embedded.
async fn embed_photo(encoder: &ImageEncoder, bytes: Vec<u8>) -> Result<ImageEmbedding, JsValue> {
    let photo = Photo::decode(&BrowserImageDecoder, bytes, encoder.options().limits)
        .await
        .map_err(js_error)?;
    encoder.embed_rgb(photo.image()).map_err(js_error)
}

/// `TextModelOptions` read from JS (absent: the defaults); `invalid_input`
/// naming `what` for an unknown key or a bad value (the length range is
/// checked by the encoder).
pub(crate) fn text_model_options(value: Option<&JsValue>, what: &str) -> Result<TextEncoderOptions, JsValue> {
    let mut options = TextEncoderOptions::default();
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(options);
    };
    if !value.is_object() {
        return Err(invalid(format!("{what} must be an object")));
    }
    reject_unknown_keys(value, what, &["pooling", "normalize", "maxLength", "shapePlans", "int8MatMul"])?;
    if let Some(p) = crate::interop::string_field(value, what, "pooling")? {
        options.pooling = match p.as_str() {
            "mean" => Pooling::Mean,
            "cls" => Pooling::Cls,
            other => return Err(invalid(format!("{what}.pooling must be \"mean\" or \"cls\", not {other:?}"))),
        };
    }
    if let Some(n) = crate::interop::bool_field(value, what, "normalize")? {
        options.normalize = n;
    }
    if let Some(s) = crate::interop::bool_field(value, what, "shapePlans")? {
        options.shape_plans = s;
    }
    if let Some(q) = crate::interop::bool_field(value, what, "int8MatMul")? {
        options.int8_matmul = q;
    }
    if let Some(v) = crate::interop::read(value, what, "maxLength")? {
        options.max_len = v
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (2.0..=4096.0).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| invalid(format!("{what}.maxLength must be an integer 2..=4096")))?;
    }
    Ok(options)
}

/// `options` as the `TextModelOptions` object JS takes (what the encoder
/// pool's workers are given, so they embed as the page does).
pub(crate) fn text_model_options_js(options: &TextEncoderOptions) -> JsValue {
    let object = js_sys::Object::new();
    let pooling = match options.pooling {
        Pooling::Mean => "mean",
        Pooling::Cls => "cls",
    };
    let _ = js_sys::Reflect::set(&object, &"pooling".into(), &JsValue::from_str(pooling));
    let _ = js_sys::Reflect::set(&object, &"normalize".into(), &JsValue::from_bool(options.normalize));
    let _ = js_sys::Reflect::set(&object, &"maxLength".into(), &JsValue::from(options.max_len as f64));
    let _ = js_sys::Reflect::set(&object, &"shapePlans".into(), &JsValue::from_bool(options.shape_plans));
    let _ = js_sys::Reflect::set(&object, &"int8MatMul".into(), &JsValue::from_bool(options.int8_matmul));
    object.into()
}
