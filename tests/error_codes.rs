//! Every code of `recagent_core::Error` is in the one table of errors
//! (`docs/errors.md`) and in the TypeScript `RecagentErrorCode` union the
//! binding declares (`src/interop.rs`), and neither lists a code that does
//! not exist. (The core's own test checks `Error::CODES` against the variants.)
#![cfg(not(target_arch = "wasm32"))]

#[test]
fn docs_table_and_typescript_union_list_exactly_the_codes() {
    let mut codes: Vec<&str> = recagent_core::Error::CODES.to_vec();
    codes.sort_unstable();

    let docs = include_str!("../docs/errors.md");
    let section = docs
        .split("\n### Errors\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/errors.md has an `### Errors` section");
    let mut table: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    table.sort_unstable();
    assert_eq!(table, codes, "docs/errors.md `### Errors` table");

    let interop = include_str!("../src/interop.rs");
    let union = interop
        .split("export type RecagentErrorCode =")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("src/interop.rs declares RecagentErrorCode");
    let mut ts: Vec<&str> = union
        .split('|')
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .collect();
    ts.sort_unstable();
    assert_eq!(ts, codes, "TypeScript RecagentErrorCode union");
}
