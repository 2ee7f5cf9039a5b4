//! A tool call's argument text (what a hostile endpoint or a small model
//! writes) checked against every built-in tool's JSON schema through
//! `agent::schema`: `check_arguments` (parse, drop schema echoes, validate,
//! repair), and `validate`/`repair` on the parsed value. What
//! `check_arguments` accepts, and what `repair` returns, validates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::agent::builtin_tools;
use recagent_core::agent::schema::{check_arguments, parse_arguments, repair, validate};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse_arguments(&text);
    for tool in builtin_tools() {
        let schema = &tool.spec.parameters;
        if let Ok(value) = check_arguments(schema, &text) {
            assert!(validate(schema, &value).is_ok(), "{}: check_arguments gave an invalid {value}", tool.spec.name);
        }
        if let Some(value) = &parsed {
            let _ = validate(schema, value);
            if let Some(fixed) = repair(schema, value) {
                assert!(validate(schema, &fixed).is_ok(), "{}: repair gave an invalid {fixed}", tool.spec.name);
            }
        }
    }
});
