//! Model text (any endpoint's answer content, or an in-page model's) into
//! `agent::llm::tool_calls_from_text`, which recovers tool calls written as
//! JSON. Text without calls comes back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::agent::llm::tool_calls_from_text;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (rest, calls) = tool_calls_from_text(&text);
    if calls.is_empty() {
        assert_eq!(rest, text, "text without calls must come back unchanged");
    }
});
