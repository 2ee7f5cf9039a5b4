//! # recagent-core
//!
//! The core of recagent, a private recommender agent that lives in the
//! user's browser: small ONNX encoders run by [tract](https://github.com/sonos/tract)
//! embed items (text and images) and the user on the device; the user's
//! profile, ranking and long-term memory stay on the device; the agent calls
//! a remote LLM only through the one outbound builder, which reads the
//! privacy class of everything it sends.
//!
//! The core knows no JavaScript, no command line, no HTTP client and no
//! storage engine: its outside world is the [`platform`] traits (`Http`,
//! `KvStore`, `Clock`, `Rng`, `Sleeper`), each with an in-memory twin for
//! tests.
//! The browser binding (the `recagent` npm package) and the `recagent` CLI
//! implement them and start everything through one [`Session`].
//!
//! The module map and the rules between modules are in
//! `docs/architecture.md`. Modules, bottom to top: [`error`], [`vectors`],
//! [`platform`], [`encoder`], [`catalog`], [`profile`], [`ranking`],
//! [`memory`], [`recommender`], [`agent`], [`session`].
//!
//! ## Example
//! ```no_run
//! # fn main() -> recagent_core::Result<()> {
//! let model = std::fs::read("assets/minilm-int8.onnx")?;
//! let vocab = std::fs::read_to_string("assets/vocab.txt")?;
//! let encoder = recagent_core::TextEncoder::from_bytes(&model, &vocab)?;
//! let v = encoder.embed("a quiet film about friendship")?;
//! assert_eq!(v.len(), 384);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod agent;
pub mod catalog;
pub mod encoder;
pub mod error;
pub mod intent;
pub mod memory;
pub mod platform;
pub mod profile;
pub mod ranking;
pub mod recommender;
pub mod session;
pub mod vectors;

pub use catalog::Catalog;
pub use encoder::{ImageEmbedding, ImageEncoder, ImageEncoderOptions, TextEncoder};
pub use error::{Error, Result};
pub use memory::Memory;
pub use profile::{Event, EventKind, Statement, UserProfile};
pub use ranking::{Filters, Predicate, Recommendation};
pub use recommender::{Observation, RecommendOptions, Recommender};
pub use session::Session;
