//! # recagent
//!
//! A private recommender agent that lives in the user's browser. Small ONNX
//! encoders run by [tract](https://github.com/sonos/tract) inside the wasm
//! module embed items (text and images) and the user on the device; the user
//! model, ranking and memory stay on the device.
//!
//! ## Module map
//! | module | what it holds |
//! |---|---|
//! | [`error`] | the one [`Error`] enum and [`Result`]; every variant has a stable [`Error::code`] |
//! | [`platform`] | traits for the outside world ([`platform::KvStore`], [`platform::Http`], [`platform::Clock`], [`platform::Rng`]) and in-memory implementations |
//! | [`encoder`] | WordPiece tokenizer, [`TextEncoder`], [`ImageEncoder`] and image preprocessing (bytes in, never URLs) |
//! | [`ranking`] | the ranking fast path: f32 and int8 scoring kernels (wasm `simd128`, AVX2, portable) and top-k selection |
//! | `wasm` (wasm32 only) | the only code that knows JS: the wasm-bindgen API (`TextEmbedder`, `ImageEmbedder`) |
//!
//! ## Example (native)
//! ```no_run
//! # fn main() -> recagent::Result<()> {
//! let model = std::fs::read("assets/minilm-int8.onnx")?;
//! let vocab = std::fs::read_to_string("assets/vocab.txt")?;
//! let encoder = recagent::TextEncoder::from_bytes(&model, &vocab)?;
//! let v = encoder.embed("a quiet film about friendship")?;
//! assert_eq!(v.len(), 384);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod encoder;
pub mod error;
pub mod platform;
pub mod ranking;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub use wasm::{ImageEmbedder, TextEmbedder};

pub use encoder::{ImageEmbedding, ImageEncoder, ImageEncoderOptions, TextEncoder};
pub use error::{Error, Result};
