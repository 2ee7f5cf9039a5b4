//! Any text (a hostile endpoint's answer is replayed through the outbound
//! builder) into `agent::redact::redact`: it never panics, it is
//! idempotent, and on inputs of up to 64 characters it gives exactly what
//! the earlier quadratic redactor (`reference.rs`, kept in the core as the
//! reference of its property test) gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::agent::redact::redact;

#[path = "../../crates/core/src/agent/redact/reference.rs"]
mod reference;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let once = redact(&text);
    assert_eq!(redact(&once), once, "redact is not idempotent on {text:?}");
    if text.chars().count() <= 64 {
        assert_eq!(once, reference::redact(&text), "differs from the reference on {text:?}");
    }
});
