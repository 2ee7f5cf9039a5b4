//! `TextEmbedder` and `ImageEmbedder`: the encoders on their own, for apps
//! that only want embeddings.

use crate::interop::{invalid, js_error, reject_unknown_keys};
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use recagent_core::encoder::{DecodeLimits, ImageEncoder, ImageEncoderOptions, Preprocessing, TextEncoder};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
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
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The `ImageEmbedderOptions` object of the TypeScript section above.
    #[wasm_bindgen(typescript_type = "ImageEmbedderOptions")]
    pub type ImageEmbedderOptionsJs;

    /// A `(done, total) => void` progress callback.
    #[wasm_bindgen(typescript_type = "(done: number, total: number) => void")]
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
    /// Loads the ONNX model bytes and a BERT `vocab.txt` (its text).
    /// Rejects with a `RecagentError` (`invalid_model`, `unsupported_model`, `invalid_vocab`).
    pub async fn create(
        #[wasm_bindgen(js_name = modelBytes)] model_bytes: Vec<u8>,
        vocab: String,
    ) -> Result<TextEmbedder, JsValue> {
        let inner = TextEncoder::from_bytes(&model_bytes, &vocab).map_err(js_error)?;
        Ok(TextEmbedder {
            inner: Rc::new(inner),
        })
    }

    /// Length of every embedding (384 for MiniLM).
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Unit-length embedding of `text` (texts over 256 tokens are truncated).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, JsValue> {
        self.inner.embed(text).map_err(js_error)
    }

    /// Unit-length embeddings of `texts`, in order. Throws `invalid_input` for an empty array.
    /// `onProgress(done, total)` is called after each chunk of the batch is embedded.
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
                let _ = f.call2(
                    &JsValue::NULL,
                    &(done as f64).into(),
                    &(total as f64).into(),
                );
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

    /// Embeds a canvas `ImageData` (RGBA pixels; alpha is ignored).
    #[wasm_bindgen(js_name = embedImageData)]
    pub fn embed_image_data(&self, image: &web_sys::ImageData) -> Result<Vec<f32>, JsValue> {
        let rgba = image.data();
        self.inner
            .embed_rgba(image.width(), image.height(), &rgba)
            .map(|e| e.embedding)
            .map_err(js_error)
    }

    /// Embeds PNG or JPEG bytes. Throws `invalid_image` or `image_too_large`.
    #[wasm_bindgen(js_name = embedEncoded)]
    pub fn embed_encoded(&self, bytes: &[u8]) -> Result<Vec<f32>, JsValue> {
        self.inner
            .embed_encoded(bytes)
            .map(|e| e.embedding)
            .map_err(js_error)
    }

    /// Indices of the `k` highest class scores of PNG/JPEG bytes, best first
    /// (empty when the model has no class output).
    #[wasm_bindgen(js_name = topClasses)]
    pub fn top_classes(&self, bytes: &[u8], k: usize) -> Result<Vec<u32>, JsValue> {
        let out = self.inner.embed_encoded(bytes).map_err(js_error)?;
        Ok(out.top_k(k).into_iter().map(|i| i as u32).collect())
    }
}
