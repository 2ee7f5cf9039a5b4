//! # recagent-cli
//!
//! The native side of recagent, behind the `recagent` command: the native
//! platform ([`native_http`]: HTTP over ureq + rustls, a thread sleeper and
//! the system clock; [`file_store`]: the redb-backed key-value store of the
//! long-term memory), catalog building and training ([`offline`]),
//! offline evaluation and simulation ([`eval`]), the [`Progress`] events
//! all of these report while they run, and the conversational
//! benchmark of the agent ([`agent_bench`]). Everything else is
//! `recagent-core`, started through its `Session` as in the browser.

#![warn(missing_docs)]

pub mod agent_bench;
pub mod engine;
pub mod eval;
pub mod file_store;
pub mod native_http;
pub mod offline;
pub mod progress;

pub use file_store::FileKvStore;
pub use native_http::{NativeHttp, SystemClock, ThreadSleeper};
pub use progress::Progress;
