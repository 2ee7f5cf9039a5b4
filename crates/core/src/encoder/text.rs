//! Sentence embeddings from a BERT-style ONNX encoder (e.g. all-MiniLM-L6-v2).

use tract_onnx::prelude::*;

use super::{onnx, onnx_fold};
use super::shape_plans::ShapePlans;
use super::tokenizer::WordPieceTokenizer;
use crate::error::{chain, Error, Result};

/// Most padded tokens run through the network in one call of a batch; larger
/// batches are split (sorted by length first so little padding is wasted).
const MAX_TOKENS_PER_CALL: usize = 4096;

/// How the token states of a model become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// The mean over the text's tokens (sentence-transformers' default;
    /// all-MiniLM-L6-v2).
    #[default]
    Mean,
    /// The state of the first token, `[CLS]` (BGE, E5 with CLS pooling, …).
    Cls,
}

/// Options of [`TextEncoder::with_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextEncoderOptions {
    /// Mean or `[CLS]` pooling of token states (a model that outputs sentence
    /// vectors `[batch, dim]` is used as it is).
    pub pooling: Pooling,
    /// Scale every embedding to unit length (what cosine ranking expects).
    pub normalize: bool,
    /// Longest token sequence, `[CLS]` and `[SEP]` included (2 to 4096;
    /// longer texts are truncated).
    pub max_len: usize,
    /// Run each call through a plan compiled for its shape: one text padded
    /// to a sequence bucket (8, 12, 16, 24, 32, 48, …), a batch at its own
    /// size; up to 3 such plans live, each with its own packed weights
    /// (about 42 MB for MiniLM-L6), plus the model they are made from. Off
    /// (the default), one plan runs every shape. Measured natively on
    /// MiniLM-L6: 11 % faster batches, 4 % faster 24-token texts, slower
    /// 6-token texts (padded to 8), and the first call of a new shape pays an
    /// optimisation (about 65 ms natively); in Chromium the gain is within
    /// the noise of a 2-core machine (docs/benchmarks.md, "Encoders against
    /// onnxruntime-web").
    pub shape_plans: bool,
    /// Run the products with constant weights (36 of MiniLM-L6's 48 matrix
    /// products) in integers: int8 weights, activations quantised per row to
    /// 16-bit integers, exact `i32` sums (`vectors::int8_gemm`). On by
    /// default in WebAssembly, where SIMD's `i32x4.dot_i16x8_s` does 8
    /// multiply-adds in one instruction and tract's f32 kernel 4 in two
    /// (docs/benchmarks.md has the figures); off by default natively, where
    /// tract's FMA kernels are faster. Embeddings stay within cosine 0.999
    /// of the f32 plan's (tested on every bucket of sequence lengths).
    pub int8_matmul: bool,
}

impl Default for TextEncoderOptions {
    fn default() -> Self {
        TextEncoderOptions {
            pooling: Pooling::Mean,
            normalize: true,
            max_len: super::tokenizer::DEFAULT_MAX_LEN,
            shape_plans: false,
            int8_matmul: cfg!(target_arch = "wasm32"),
        }
    }
}

/// A text encoder: WordPiece tokenizer + ONNX transformer + pooling (mean by
/// default) + L2 norm (by default).
///
/// Built from bytes (the ONNX model) and text (the `vocab.txt` or
/// `tokenizer.json`), never from paths or URLs. Every embedding has
/// [`TextEncoder::dim`] values, of unit length unless
/// [`TextEncoderOptions::normalize`] is off.
pub struct TextEncoder {
    tokenizer: WordPieceTokenizer,
    plans: ShapePlans,
    /// For each model input, what to feed it.
    feeds: Vec<Feed>,
    dim: usize,
    options: TextEncoderOptions,
    int8_products: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Ids,
    Mask,
    TokenTypes,
}

/// The token ids of one text, as the encoder sees them.
pub type TokenIds = Vec<u32>;

impl TextEncoder {
    /// Loads an ONNX text encoder and its vocabulary: a BERT `vocab.txt` or
    /// a Hugging Face `tokenizer.json` ([`WordPieceTokenizer::from_text`]).
    ///
    /// The model must take `input_ids` and `attention_mask` (and optionally
    /// `token_type_ids`), int64 `[batch, sequence]`, and output either token
    /// states `[batch, sequence, dim]` (mean-pooled over the mask) or sentence
    /// vectors `[batch, dim]`. int8 weights stored as `Cast → Mul(scale)` are
    /// folded to f32 once here. A model whose declared tensors, folded
    /// constants or run tensors (at the largest batch) exceed its memory
    /// budget is [`Error::ResourceLimit`], a malformed tensor
    /// [`Error::InvalidModel`], both before anything large is allocated
    /// (see [`crate::encoder::onnx_budget`]).
    pub fn from_bytes(model: &[u8], vocab: &str) -> Result<Self> {
        Self::with_options(model, vocab, TextEncoderOptions::default())
    }

    /// [`TextEncoder::from_bytes`] with the pooling, normalisation and
    /// longest sequence of `options`; a `max_len` outside 2 to 4096 is
    /// [`Error::InvalidInput`].
    pub fn with_options(model: &[u8], vocab: &str, options: TextEncoderOptions) -> Result<Self> {
        if !(2..=MAX_TOKENS_PER_CALL).contains(&options.max_len) {
            return Err(Error::InvalidInput(format!(
                "maxLength {} is not between 2 and {MAX_TOKENS_PER_CALL}",
                options.max_len
            )));
        }
        let tokenizer = WordPieceTokenizer::from_text(vocab)?.with_max_len(options.max_len);
        let (mut proto, mut budget) = onnx::load(model)?;
        let feeds = onnx::input_names(&proto)
            .iter()
            .map(|name| match name.as_str() {
                "input_ids" => Ok(Feed::Ids),
                "attention_mask" => Ok(Feed::Mask),
                "token_type_ids" => Ok(Feed::TokenTypes),
                other => Err(Error::UnsupportedModel(format!(
                    "text model input {other:?} is not one of input_ids, attention_mask, token_type_ids"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        if !feeds.contains(&Feed::Ids) {
            return Err(Error::UnsupportedModel(
                "text model has no input_ids input".into(),
            ));
        }
        let outputs = onnx::output_names(&proto);
        let output = outputs
            .iter()
            .find(|n| *n == "last_hidden_state" || *n == "sentence_embedding")
            .or_else(|| outputs.first())
            .cloned()
            .ok_or_else(|| Error::UnsupportedModel("text model has no output".into()))?;
        let folded = onnx_fold::fold_quantized_weights(&mut proto, &mut budget)?;
        // Our own batch and sequence symbols, with their bounds stated: tract
        // optimizes better with bounded symbols (measured natively on MiniLM:
        // 10.8 ms instead of 12.3 ms per 20-token text).
        let max_len = tokenizer.max_len();
        let inputs = feeds.len();
        let mut symbols = None;
        let mut model = onnx::typed(
            &proto,
            folded,
            |scope| {
                let (b, s) = (scope.sym("B"), scope.sym("S"));
                symbols = Some((b.clone(), s.clone()));
                scope.add_assertion("B>=1")?;
                scope.add_assertion(format!("B<={MAX_TOKENS_PER_CALL}"))?;
                scope.add_assertion("S>=1")?;
                scope.add_assertion(format!("S<={max_len}"))?;
                let fact =
                    InferenceFact::dt_shape(i64::datum_type(), tvec![b.to_dim(), s.to_dim()]);
                Ok((vec![fact; inputs], worst_cases(&b, &s, max_len)))
            },
            &[output.as_str()],
            &mut budget,
        )?;
        let int8_products =
            if options.int8_matmul { super::int8_matmul::rewrite(&mut model)? } else { 0 };
        let (batch, sequence) = symbols
            .ok_or_else(|| Error::UnsupportedModel("text model: no input symbols".into()))?;
        let mut encoder = Self {
            plans: ShapePlans::new(model, batch, sequence, max_len, options.shape_plans)?,
            tokenizer,
            feeds,
            dim: 0,
            options,
            int8_products,
        };
        let probe = encoder.run(&[encoder.tokenizer.encode("probe")])?;
        encoder.dim = probe.first().map_or(0, Vec::len);
        if encoder.dim == 0 {
            return Err(Error::UnsupportedModel(
                "text model produced an empty embedding".into(),
            ));
        }
        Ok(encoder)
    }

    /// Dimension of the embeddings.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The options the encoder was built with.
    pub fn options(&self) -> TextEncoderOptions {
        self.options
    }

    /// How many of the model's matrix products run in integers
    /// ([`TextEncoderOptions::int8_matmul`]): those with constant weights;
    /// 0 when the option is off.
    pub fn int8_products(&self) -> usize {
        self.int8_products
    }

    /// The tokenizer in front of the model.
    pub fn tokenizer(&self) -> &WordPieceTokenizer {
        &self.tokenizer
    }

    /// Token ids of `text` (`[CLS] … [SEP]`, truncated to the tokenizer's max length).
    pub fn tokenize(&self, text: &str) -> TokenIds {
        self.tokenizer.encode(text)
    }

    /// Embedding of one text (unit length unless the options say otherwise).
    /// Texts longer than the options' `max_len` tokens (256 by default) are
    /// truncated (documented, not an error); any string is accepted.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let mut out = self.run(&[self.tokenize(text)])?;
        out.pop()
            .ok_or_else(|| Error::Inference("model returned no embedding".into()))
    }

    /// Embeddings of several texts (as [`TextEncoder::embed`]), in input order. Batches are
    /// padded (`[PAD]`, mask 0); an empty batch is [`Error::InvalidInput`].
    pub fn embed_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        self.embed_batch_with_progress(texts, &mut |_, _| {})
    }

    /// Like [`TextEncoder::embed_batch`], calling `progress(done, total)` after each chunk.
    pub fn embed_batch_with_progress<S: AsRef<str>>(
        &self,
        texts: &[S],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Err(Error::InvalidInput(
                "embed_batch needs at least one text".into(),
            ));
        }
        let ids: Vec<TokenIds> = texts.iter().map(|t| self.tokenize(t.as_ref())).collect();
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); ids.len()];
        let mut start = 0;
        while start < order.len() {
            // Sorted by length: the last sequence of a chunk is its longest.
            let mut end = start + 1;
            while end < order.len() && {
                let (b, s) = self.plans.shape_for(end + 1 - start, ids[order[end]].len());
                b.saturating_mul(s) <= MAX_TOKENS_PER_CALL
            } {
                end += 1;
            }
            let chunk: Vec<TokenIds> = order[start..end].iter().map(|&i| ids[i].clone()).collect();
            for (&i, e) in order[start..end].iter().zip(self.run(&chunk)?) {
                out[i] = e;
            }
            start = end;
            progress(start, order.len());
        }
        Ok(out)
    }

    /// Runs `batch` through the plan of its shape bucket: every text is
    /// padded to the bucket's sequence length (`[PAD]`, mask 0) and the
    /// bucket's extra rows repeat the first text (their outputs are dropped).
    fn run(&self, batch: &[TokenIds]) -> Result<Vec<Vec<f32>>> {
        let texts = batch.len();
        let longest = batch.iter().map(Vec::len).max().unwrap_or(0);
        if texts == 0 || longest == 0 {
            return Err(Error::InvalidInput("empty batch".into()));
        }
        let (b, s) = self.plans.shape_for(texts, longest);
        let pad = i64::from(self.tokenizer.pad_id());
        let mut ids = vec![pad; b * s];
        let mut mask = vec![0i64; b * s];
        let rows = batch.iter().chain(std::iter::repeat(&batch[0]).take(b - texts));
        for (row, seq) in rows.enumerate() {
            for (col, &id) in seq.iter().enumerate() {
                ids[row * s + col] = i64::from(id);
                mask[row * s + col] = 1;
            }
        }
        let types = vec![0i64; b * s];
        let inputs = self
            .feeds
            .iter()
            .map(|feed| {
                let data = match feed {
                    Feed::Ids => &ids,
                    Feed::Mask => &mask,
                    Feed::TokenTypes => &types,
                };
                onnx::tensor(&[b, s], data).map(IntoTValue::into_tvalue)
            })
            .collect::<Result<TVec<_>>>()?;
        let outputs = self
            .plans
            .plan((b, s))?
            .run(inputs)
            .map_err(|e| Error::Inference(chain(&e)))?;
        let out = outputs
            .first()
            .ok_or_else(|| Error::Inference("model returned no output".into()))?
            .to_plain_array_view::<f32>()
            .map_err(|e| Error::Inference(chain(&e)))?;
        let shape = out.shape().to_vec();
        let data = out
            .as_slice()
            .ok_or_else(|| Error::Inference("model output is not contiguous".into()))?;
        match shape.as_slice() {
            [ob, os, d] if *ob == b && *os == s => Ok((0..texts)
                .map(|row| {
                    let state = |col: usize| &data[(row * s + col) * d..(row * s + col + 1) * d];
                    let pooled = match self.options.pooling {
                        Pooling::Cls => state(0).to_vec(),
                        Pooling::Mean => {
                            let mut acc = vec![0f32; *d];
                            let mut n = 0f32;
                            for col in 0..s {
                                if mask[row * s + col] == 1 {
                                    acc.iter_mut().zip(state(col)).for_each(|(a, v)| *a += v);
                                    n += 1.0;
                                }
                            }
                            acc.iter_mut().for_each(|a| *a /= n.max(1.0));
                            acc
                        }
                    };
                    self.finish(pooled)
                })
                .collect()),
            [ob, d] if *ob == b && *d > 0 => Ok(data
                .chunks_exact(*d)
                .take(texts)
                .map(|r| self.finish(r.to_vec()))
                .collect()),
            other => Err(Error::UnsupportedModel(format!(
                "text model output has shape {other:?}, expected [{b}, {s}, dim] or [{b}, dim]"
            ))),
        }
    }
}

impl TextEncoder {
    /// A pooled vector, normalised when the options say so.
    fn finish(&self, v: Vec<f32>) -> Vec<f32> {
        if self.options.normalize {
            l2_normalized(v)
        } else {
            v
        }
    }
}

/// The largest calls [`TextEncoder::embed_batch`] makes, as values of the
/// batch symbol `b` and the sequence symbol `s`: a call holds at most
/// [`MAX_TOKENS_PER_CALL`] padded tokens, or one text of up to `max_len`.
/// Every run tensor of the model is sized at each of these before loading.
fn worst_cases(b: &Symbol, s: &Symbol, max_len: usize) -> Vec<SymbolValues> {
    let mut cases = Vec::new();
    let mut len = max_len.max(1);
    loop {
        let batch = (MAX_TOKENS_PER_CALL / len).max(1);
        cases.push(SymbolValues::default().with(b, batch as i64).with(s, len as i64));
        if len == 1 {
            return cases;
        }
        len /= 2;
    }
}

/// `v` scaled to unit L2 norm (unchanged when its norm is 0).
pub fn l2_normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
