//! Image embeddings from any ONNX image encoder (MobileNetV2 by default).

use tract_onnx::prelude::*;

use super::onnx::{self, Plan};
use super::onnx_fold;
use super::preprocess::{DecodeLimits, Preprocessing, RgbImage};
use crate::error::{chain, Error, Result};

/// How to run an image model: preprocessing, which outputs mean what, limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageEncoderOptions {
    /// Resize, crop and normalisation (ImageNet defaults).
    pub preprocessing: Preprocessing,
    /// Name of the output used as the embedding. `None`: `embedding` when the
    /// model has it, else its only output.
    pub embedding_output: Option<String>,
    /// Name of the class-score output used for `top5`. `None`: `output` or
    /// `logits` when the model has one (other than the embedding).
    pub logits_output: Option<String>,
    /// Limits for decoding PNG/JPEG bytes.
    pub limits: DecodeLimits,
    /// Run the 1×1 convolutions and other products with constant weights in
    /// integers (int8 weights, activations quantised per pixel to 16-bit
    /// integers, exact `i32` sums), as
    /// [`super::TextEncoderOptions::int8_matmul`] does for text: on by
    /// default in WebAssembly, off natively.
    pub int8_matmul: bool,
}

impl Default for ImageEncoderOptions {
    fn default() -> Self {
        Self {
            preprocessing: Preprocessing::default(),
            embedding_output: None,
            logits_output: None,
            limits: DecodeLimits::default(),
            int8_matmul: cfg!(target_arch = "wasm32"),
        }
    }
}

/// What an image encoder returns for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageEmbedding {
    /// The embedding output, as the model gives it (not normalised).
    pub embedding: Vec<f32>,
    /// Class scores, when the model has a logits output.
    pub logits: Option<Vec<f32>>,
}

impl ImageEmbedding {
    /// Indices of the `k` largest class scores, best first (empty without logits).
    pub fn top_k(&self, k: usize) -> Vec<usize> {
        let Some(logits) = &self.logits else {
            return Vec::new();
        };
        let mut idx: Vec<usize> = (0..logits.len()).collect();
        idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        idx.truncate(k);
        idx
    }
}

/// An image encoder: decoding, Pillow-compatible preprocessing, ONNX network.
pub struct ImageEncoder {
    plan: Plan,
    options: ImageEncoderOptions,
    has_logits: bool,
    dim: usize,
    int8_products: usize,
}

impl ImageEncoder {
    /// Loads an ONNX image model taking one f32 `[batch, 3, H, W]` input
    /// (H = W = `options.preprocessing.crop`). The memory budget of
    /// [`crate::encoder::onnx_budget`] applies as for
    /// [`TextEncoder::from_bytes`](crate::encoder::TextEncoder::from_bytes):
    /// [`Error::ResourceLimit`] or [`Error::InvalidModel`] before anything
    /// large is allocated.
    pub fn from_bytes(model: &[u8], options: ImageEncoderOptions) -> Result<Self> {
        options.preprocessing.validate()?;
        let (mut proto, mut budget) = onnx::load(model)?;
        let outputs = onnx::output_names(&proto);
        let has = |n: &str| outputs.iter().any(|o| o == n);
        let embedding = match &options.embedding_output {
            Some(name) if has(name) => name.clone(),
            Some(name) => {
                return Err(Error::UnsupportedModel(format!(
                    "image model has no output {name:?} (outputs: {outputs:?})"
                )))
            }
            None if has("embedding") => "embedding".to_string(),
            None if outputs.len() == 1 => outputs[0].clone(),
            None => {
                return Err(Error::UnsupportedModel(format!(
                    "image model has several outputs {outputs:?} and none named \"embedding\"; name the embedding output"
                )))
            }
        };
        let logits = match &options.logits_output {
            Some(name) if has(name) => Some(name.clone()),
            Some(name) => {
                return Err(Error::UnsupportedModel(format!(
                    "image model has no output {name:?} (outputs: {outputs:?})"
                )))
            }
            None => ["output", "logits"]
                .into_iter()
                .find(|n| has(n) && *n != embedding)
                .map(str::to_string),
        };
        if onnx::input_names(&proto).len() != 1 {
            return Err(Error::UnsupportedModel(
                "image model must have exactly one input (an f32 [batch, 3, H, W] tensor)".into(),
            ));
        }
        let folded = onnx_fold::fold_quantized_weights(&mut proto, &mut budget)?;
        let side = options.preprocessing.crop as usize;
        let fact = InferenceFact::dt_shape(f32::datum_type(), [1, 3, side, side]);
        let mut names = vec![embedding.as_str()];
        names.extend(logits.as_deref());
        let mut model = onnx::typed(&proto, folded, |_| Ok((vec![fact], Vec::new())), &names, &mut budget)?;
        let int8_products =
            if options.int8_matmul { super::int8_matmul::rewrite(&mut model)? } else { 0 };
        let plan = onnx::optimize(&model, &[])?;
        let mut encoder = Self {
            plan,
            options,
            has_logits: logits.is_some(),
            dim: 0,
            int8_products,
        };
        let probe = encoder.embed_tensor(&vec![0.0; 3 * side * side])?;
        encoder.dim = probe.embedding.len();
        Ok(encoder)
    }

    /// Length of the embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many of the model's products with constant weights (1×1
    /// convolutions, dense layers) run in integers
    /// ([`ImageEncoderOptions::int8_matmul`]); 0 when the option is off.
    pub fn int8_products(&self) -> usize {
        self.int8_products
    }

    /// The options this encoder runs with.
    pub fn options(&self) -> &ImageEncoderOptions {
        &self.options
    }

    /// Embeds RGBA pixels (e.g. a canvas `ImageData`), `width * height * 4` bytes.
    pub fn embed_rgba(&self, width: u32, height: u32, rgba: &[u8]) -> Result<ImageEmbedding> {
        self.embed_rgb(&RgbImage::from_rgba(width, height, rgba)?)
    }

    /// Embeds PNG or JPEG bytes (decoded within the options' limits). Only
    /// with the `decode` feature; the browser decodes through
    /// [`crate::platform::ImageDecoder`] and calls [`Self::embed_rgb`].
    #[cfg(feature = "decode")]
    pub fn embed_encoded(&self, bytes: &[u8]) -> Result<ImageEmbedding> {
        self.embed_rgb(&super::image_bytes::decode(bytes, self.options.limits)?)
    }

    /// Embeds a decoded RGB image.
    pub fn embed_rgb(&self, image: &RgbImage) -> Result<ImageEmbedding> {
        self.embed_tensor(&self.options.preprocessing.tensor(image)?)
    }

    /// Runs the network on an already preprocessed 1×3×H×W tensor (NCHW).
    pub fn embed_tensor(&self, input: &[f32]) -> Result<ImageEmbedding> {
        let side = self.options.preprocessing.crop as usize;
        if input.len() != 3 * side * side {
            return Err(Error::InvalidInput(format!(
                "preprocessed image has {} values, expected 1x3x{side}x{side} = {}",
                input.len(),
                3 * side * side
            )));
        }
        let tensor = onnx::tensor(&[1, 3, side, side], input)?;
        let outputs = self
            .plan
            .run(tvec![tensor.into_tvalue()])
            .map_err(|e| Error::Inference(chain(&e)))?;
        let flat = |ix: usize| -> Result<Vec<f32>> {
            let view = outputs
                .get(ix)
                .ok_or_else(|| Error::Inference(format!("model returned no output {ix}")))?
                .to_plain_array_view::<f32>()
                .map_err(|e| Error::Inference(chain(&e)))?;
            Ok(view.iter().copied().collect())
        };
        Ok(ImageEmbedding {
            embedding: flat(0)?,
            logits: if self.has_logits {
                Some(flat(1)?)
            } else {
                None
            },
        })
    }
}
