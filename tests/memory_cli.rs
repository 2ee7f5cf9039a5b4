//! `recagent memory …` with the real MiniLM over the file store: options
//! before and after the action word, JSON on stdout, recall order, forget,
//! export/import, forget-everything (0 records left), errors.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::recagent as run;

use std::path::Path;

use futures::executor::block_on;
use recagent_cli::FileKvStore;
use recagent_core::platform::KvStore;
use serde_json::Value;

/// Runs a command that must succeed and print one JSON value.
fn ok(args: &[&str]) -> Value {
    ok_with(args, "")
}

fn ok_with(args: &[&str], stdin: &str) -> Value {
    let out = run(args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON value")
}

fn err(args: &[&str]) -> String {
    let out = run(args, "");
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

fn asset(name: &str) -> String {
    common::assets().join(name).display().to_string()
}

fn keys_in(dir: &Path) -> usize {
    let store = FileKvStore::open(dir).unwrap();
    block_on(store.scan_prefix("")).unwrap().len()
}

#[test]
fn memory_cli_remember_recall_forget_export_import_and_forget_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new/memory"); // created when missing
    let d = dir.to_str().unwrap();
    let (model, vocab) = (asset("minilm-int8.onnx"), asset("vocab.txt"));
    let m = ["--model", model.as_str(), "--vocab", vocab.as_str()];

    // options before the action word ...
    let a = ok(&[
        &["memory", "--dir", d],
        &m[..],
        &["remember", "I am vegetarian"],
    ]
    .concat());
    assert_eq!(a["remembered"]["text"], "I am vegetarian");
    assert!(a["remembered"].get("embedding").is_none());
    let veg = a["remembered"]["id"].as_str().unwrap().to_string();
    // ... after it ...
    let b = ok(&[
        &["memory", "remember", "dislikes horror films", "--dir", d],
        &m[..],
    ]
    .concat());
    assert_eq!(b["remembered"]["kind"], "aversion");
    // ... and mixed
    ok(&[&["memory", "--dir", d, "remember", "shoe size 8"], &m[..]].concat());

    let r = ok(&[
        &[
            "memory",
            "recall",
            "recommend a scary movie",
            "--k",
            "2",
            "--dir",
            d,
        ],
        &m[..],
    ]
    .concat());
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["text"], "dislikes horror films");
    assert!(results[0]["score"].as_f64().unwrap() >= results[1]["score"].as_f64().unwrap());
    let r = ok(&[
        &["memory", "--dir", d],
        &m[..],
        &["recall", "what should I cook tonight"],
    ]
    .concat());
    assert_eq!(r["results"][0]["id"], veg.as_str());
    assert_eq!(r["results"].as_array().unwrap().len(), 3); // default k 5, 3 facts

    let list = ok(&["memory", "list", "--dir", d]);
    assert_eq!(list["facts"].as_array().unwrap().len(), 3);
    assert_eq!(list["episodes"].as_array().unwrap().len(), 3);
    assert_eq!(list["profile"], false);

    let f = ok(&["memory", "--dir", d, "forget", &veg]);
    assert_eq!(f["forgotten"], veg.as_str());
    assert_eq!(f["removed"], 2); // the fact and its message episode
    assert!(
        err(&["memory", "forget", &veg, "--dir", d]).starts_with("recagent: error[invalid_input]:")
    );

    // export -> forget everything -> import restores it
    let out = run(&["memory", "export", "--dir", d], "");
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "recagent-memory");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["semantic"].as_array().unwrap().len(), 2);
    let file = tmp.path().join("export.json");
    std::fs::write(&file, &out.stdout).unwrap();

    let gone = ok(&["memory", "forget-everything", "--dir", d]);
    assert_eq!(gone["left"], 0);
    assert!(gone["removed"].as_u64().unwrap() >= 4);
    assert_eq!(keys_in(&dir), 0);

    let imp = ok(&["memory", "--dir", d, "import", file.to_str().unwrap()]);
    assert_eq!(imp["imported"]["facts"], 2);
    assert_eq!(imp["imported"]["episodes"], 2);
    let again = run(&["memory", "export", "--dir", d], "");
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["semantic"], doc["semantic"]);
    assert_eq!(again["episodic"], doc["episodic"]);
    // import from stdin too
    let imp = ok_with(
        &["memory", "import", "-", "--dir", d],
        &String::from_utf8(out.stdout).unwrap(),
    );
    assert_eq!(imp["imported"]["facts"], 2);
    let r = ok(&[
        &["memory", "recall", "horror", "--k", "1", "--dir", d],
        &m[..],
    ]
    .concat());
    assert_eq!(r["results"][0]["text"], "dislikes horror films");

    // consolidation of two identical statements
    ok(&[
        &["memory", "--dir", d],
        &m[..],
        &["remember", "Shoe size 8."],
    ]
    .concat());
    let c = ok(&["memory", "consolidate", "--dir", d]);
    assert_eq!(c["removed"].as_array().unwrap().len(), 1);
}

#[test]
fn memory_cli_errors_are_one_line_with_a_code() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let e = err(&["memory", "remember", "x", "--dir", d]);
    assert!(
        e.starts_with("recagent: error[invalid_input]:") && e.contains("--model"),
        "{e}"
    );
    let e = err(&["memory", "recall", "x", "--dir", d, "--model", "m.onnx"]);
    assert!(e.starts_with("recagent: error[invalid_input]:"), "{e}");
    let e = err(&["memory", "list"]);
    assert!(
        e.starts_with("recagent: error[invalid_input]:") && e.contains("--dir"),
        "{e}"
    );
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"format":"recagent-memory","version":7,"exportedAt":0}"#,
    )
    .unwrap();
    let e = err(&["memory", "import", bad.to_str().unwrap(), "--dir", d]);
    assert!(
        e.starts_with("recagent: error[invalid_input]:") && e.contains("version"),
        "{e}"
    );
    let e = err(&["memory", "import", "/nonexistent/x.json", "--dir", d]);
    assert!(e.starts_with("recagent: error[io_error]:"), "{e}");
    assert_eq!(e.lines().count(), 1);
}

/// Crafted documents get a typed one-line error (never a panic); a corrupt
/// record in the store is listed around, counted, named on stderr and kept
/// by export.
#[test]
fn memory_cli_refuses_crafted_documents_and_lists_around_corrupt_records() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let crafted = [
        // ids past 2^53 - 1 (the next remember would wrap or collide)
        r#"{"format":"recagent-memory","version":1,"exportedAt":0,"episodic":[{"id":18446744073709551615,"timeMs":0,"kind":"view"}]}"#,
        // a confidence too large for f32 (infinite once read)
        r#"{"format":"recagent-memory","version":1,"exportedAt":0,"semantic":[{"id":"f2","text":"x","kind":"fact","confidence":1e39,"importance":0.5,"createdMs":0,"updatedMs":0,"provenance":{"source":"user","episodes":[]}}]}"#,
        // a fact id that reads as an episode id
        r#"{"format":"recagent-memory","version":1,"exportedAt":0,"semantic":[{"id":"e1","text":"x","kind":"fact","confidence":1,"importance":0.5,"createdMs":0,"updatedMs":0,"provenance":{"source":"user","episodes":[]}}]}"#,
    ];
    for (i, doc) in crafted.iter().enumerate() {
        let file = tmp.path().join(format!("crafted-{i}.json"));
        std::fs::write(&file, doc).unwrap();
        let e = err(&["memory", "import", file.to_str().unwrap(), "--dir", d]);
        assert!(e.starts_with("recagent: error[invalid_input]:") && e.contains("memory import:"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    {
        let store = FileKvStore::open(tmp.path()).unwrap();
        block_on(store.put("sem/f7", b"{not json".to_vec())).unwrap();
    }
    let out = run(&["memory", "list", "--dir", d], "");
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((list["facts"].as_array().unwrap().len(), list["corrupt"].as_u64()), (0, Some(1)));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"sem/f7\" is corrupt") && stderr.contains("set aside"), "{stderr}");
    let doc = ok(&["memory", "export", "--dir", d]);
    assert_eq!(doc["corrupt"][0]["key"], "sem/f7");
}
