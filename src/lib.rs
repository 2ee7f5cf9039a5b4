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
//! | [`catalog`] | items, typed attributes, embedding matrices (f32 / int8), the learned sequence model; items added at run time and photo similarity; the checksummed bundle format; the offline builder and trainer (native) |
//! | [`profile`] | the private user model: typed events, statements, decay, snapshot/restore |
//! | [`ranking`] | scoring, filters, top-k, diversity (MMR), exploration, explanations; SIMD scan kernels |
//! | [`memory`] | long-term memory: working, episodic and semantic records over a [`platform::KvStore`], recall, consolidation, export/import, forget; the user's added items; the redb file store (native) |
//! | [`recommender`] | catalog + encoders + profile: what the JS `Recommender` wraps; adding items (with photos) and search by photo |
//! | `native_http` (native only) | the CLI's [`platform::Http`] (ureq, rustls) and `ThreadSleeper` |
//! | `eval` (native only) | offline evaluation: RecBole datasets, 5-core leave-one-out split, HR/NDCG/coverage, baselines (popularity, EASE, content) |
//! | `wasm` (wasm32 only) | the only code that knows JS: the wasm-bindgen API (`TextEmbedder`, `ImageEmbedder`, `Recommender`); `fetch`: the browser's [`platform::Http`] (`FetchHttp`), `JsSleeper`, `JsClock`; `loader`: downloads by URL with progress and the Cache API |
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

pub mod agent;
pub mod catalog;
pub mod encoder;
pub mod error;
pub mod memory;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod native_http;
pub mod platform;
pub mod profile;
pub mod ranking;
pub mod recommender;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub use wasm::{
    fetch, idb, is_recagent_error, loader, AskOptionsJs, ImageEmbedder, JsMemory, JsRecommender,
    LoadImageModelOptionsJs, RecommendOptionsJs,
    TextEmbedder,
};

pub use catalog::Catalog;
pub use encoder::{ImageEmbedding, ImageEncoder, ImageEncoderOptions, TextEncoder};
pub use error::{Error, Result};
pub use memory::Memory;
pub use profile::{Event, EventKind, Statement, UserProfile};
pub use ranking::{Filters, Predicate, Recommendation};
pub use recommender::{Observation, RecommendOptions, Recommender};
