//! `--pooling`, `--no-normalize`, `--max-length` and `--shape-plans`: how the text model's
//! token states become one embedding, for every command that embeds text
//! with a model of the user's choice (`embed-text`, `build-catalog`). The
//! browser takes the same choices as `textOptions` (`TextModelOptions`).

use recagent_core::encoder::{Pooling, TextEncoderOptions};

/// The text model's pooling, normalisation and longest sequence.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct TextModelArgs {
    /// How token states become one vector: `mean` over the text's tokens
    /// (sentence-transformers, all-MiniLM-L6-v2) or the `[CLS]` token's
    /// state (`cls`: BGE, E5 with CLS pooling). The browser must be given the
    /// same (`textOptions: { pooling }`).
    #[arg(long, value_enum, default_value_t = PoolingArg::Mean)]
    pooling: PoolingArg,
    /// Keep the embeddings' length instead of scaling them to unit length.
    #[arg(long)]
    no_normalize: bool,
    /// Longest token sequence, [CLS] and [SEP] included (2 to 4096); longer
    /// texts are truncated.
    #[arg(long, value_name = "TOKENS", default_value_t = TextEncoderOptions::default().max_len)]
    max_length: usize,
    /// Compile the model for each shape of the calls (a batch at its own
    /// size) instead of one plan for every shape: about 10 % faster batches,
    /// about 42 MB more memory per live plan (up to 3).
    #[arg(long)]
    shape_plans: bool,
    /// Run the products with constant weights in integers (int8 weights,
    /// 16-bit activations), as the browser does by default; natively slower
    /// than tract's f32 kernels, and within cosine 0.999 of them.
    #[arg(long)]
    int8_matmul: bool,
}

/// `--pooling`'s values.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum PoolingArg {
    /// The mean of the token states.
    Mean,
    /// The `[CLS]` token's state.
    Cls,
}

impl TextModelArgs {
    /// The encoder options these flags name (the length is checked by the encoder).
    pub(crate) fn options(&self) -> TextEncoderOptions {
        TextEncoderOptions {
            pooling: match self.pooling {
                PoolingArg::Mean => Pooling::Mean,
                PoolingArg::Cls => Pooling::Cls,
            },
            normalize: !self.no_normalize,
            max_len: self.max_length,
            shape_plans: self.shape_plans,
            int8_matmul: self.int8_matmul,
        }
    }
}
