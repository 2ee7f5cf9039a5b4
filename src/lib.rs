//! # recagent
//!
//! A private recommender agent that lives in the user's browser: the npm
//! package. This crate is the WebAssembly binding of `recagent-core` and the
//! only code that knows JavaScript: it converts and delegates (JS values in,
//! core calls, JS values out). Every error leaves as a JS `Error` whose
//! `name` is `"RecagentError"` and whose `code` is the core error's code,
//! converted once, in [`interop`]. Big state (the models, the catalog) stays
//! in wasm memory behind opaque handles; only strings, bytes and embeddings
//! cross.
//!
//! The layout and the rules between the crates are in `docs/architecture.md`;
//! the JavaScript API in `docs/javascript-api.md`.
#![cfg(target_arch = "wasm32")]
#![warn(missing_docs)]

mod agent;
mod agent_engine;
mod agent_settings;
mod agent_tools;
mod agent_ts;
mod candidates;
mod catalog_build;
mod create_options;
mod embedders;
pub mod fetch;
pub mod idb;
pub mod image_decoder;
mod idb_open;
mod idb_util;
pub mod interop;
mod items;
pub mod loader;
mod memory;
mod pool;
mod recommender;
mod time;
mod worker;

pub use agent::AskOptionsJs;
pub use agent_engine::create_wllama_engine;
pub use embedders::{ImageEmbedder, TextEmbedder, TextModelOptionsJs};
pub use interop::is_recagent_error;
pub use items::LoadImageModelOptionsJs;
pub use memory::JsMemory;
pub use recommender::{JsRecommender, RecommendOptionsJs};
