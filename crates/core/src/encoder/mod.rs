//! On-device encoders: a WordPiece tokenizer and text and image encoders run
//! by tract. Models come in as bytes (never paths or URLs), so the same code
//! serves the native CLI and the browser.

mod image;
pub mod image_bytes;
mod int8_matmul;
mod onnx;
pub mod onnx_budget;
mod onnx_fold;
mod onnx_guard;
pub mod preprocess;
mod shape_plans;
mod text;
pub mod tokenizer;
mod tokenizer_json;

pub use self::image::{ImageEmbedding, ImageEncoder, ImageEncoderOptions};
pub use self::image_bytes::{check_header, read_header, DecodeLimits, ImageFormat, ImageHeader};
pub use self::preprocess::{Preprocessing, RgbImage};
pub use self::text::{l2_normalized, Pooling, TextEncoder, TextEncoderOptions, TokenIds};
pub use self::tokenizer::{Normalization, WordPieceTokenizer};
pub use self::tokenizer_json::{MAX_TOKENIZER_JSON_BYTES, MAX_VOCAB_TOKENS};
