//! The conversational benchmark of the agent (`bench/agent/requests.json`,
//! `recagent agent-bench`, `recagent_cli::agent_bench`):
//!
//! - the set is valid over the ML-100K catalog (every request satisfiable by
//!   at least 5 items, known attributes, values and ids) and covers every
//!   kind of request, and the validation can fail;
//! - the scorer on hand-made answers over the real catalog;
//! - `recagent agent-bench` over the whole set at autonomy 0 (on-device):
//!   every request scored, no malformed answer, no duplicate; the figures are
//!   printed, no satisfaction threshold is asserted (the request parser is
//!   being rewritten);
//! - at autonomy 1 and 2 (native tool calls, then JSON planning at 2)
//!   against the scripted LLM server on loopback, over one request of each
//!   kind: the ledger equals what the server received, no fallback, no
//!   malformed answer.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/llm_server.rs"]
mod llm_server;

mod common;

use llm_server::ScriptedLlmServer;
use recagent_cli::agent_bench::{score, Answered, BenchSet, Judge, ReturnedItem, KINDS, MIN_SATISFYING};
use recagent_core::Catalog;
use serde_json::{json, Value};

fn set_path() -> String {
    common::workspace_root().join("bench/agent/requests.json").display().to_string()
}

fn set() -> BenchSet {
    BenchSet::read(set_path().as_ref()).expect("bench/agent/requests.json parses")
}

fn catalog() -> Catalog {
    Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).expect("the ML-100K catalog loads")
}

#[test]
fn the_set_is_valid_and_covers_every_kind() {
    let (set, catalog) = (set(), catalog());
    let judge = Judge::new(&catalog);
    let problems = set.validate(&judge);
    assert!(problems.is_empty(), "bench/agent/requests.json:\n{}", problems.join("\n"));
    assert!(set.requests.len() >= 120, "{} requests", set.requests.len());
    for kind in KINDS {
        let n = set.requests.iter().filter(|r| r.kinds.iter().any(|k| k == kind)).count();
        assert!(n >= 5, "only {n} requests of kind {kind}");
    }
    for r in &set.requests {
        assert!(judge.satisfying(&r.constraints) >= MIN_SATISFYING, "{}", r.id);
    }
    // The validation can fail: the same set with one request made unsatisfiable.
    let mut broken = set.clone();
    let r = &mut broken.requests[0];
    r.constraints.ranges[0].min = Some(1930.0);
    r.constraints.ranges[0].max = Some(1930.0);
    let problems = broken.validate(&judge);
    assert!(problems.iter().any(|p| p.contains("only 1 catalog items")), "{problems:?}");
}

fn returned(ids: &[&str], catalog: &Catalog) -> Vec<ReturnedItem> {
    ids.iter()
        .map(|id| ReturnedItem { id: id.to_string(), title: catalog.item(catalog.require(id).unwrap()).unwrap().title().to_string() })
        .collect()
}

#[test]
fn the_scorer_on_hand_made_answers_over_the_catalog() {
    let (set, catalog) = (set(), catalog());
    let judge = Judge::new(&catalog);
    let nineties = set.requests.iter().find(|r| r.text == "Any good movies from the 90s?").expect("r001");
    // Star Wars (1977) breaks the range; Fargo (1996) and Heat (1995) meet it.
    let answer = Answered {
        text: "Fargo and Heat are great; so is The Usual Suspects.".into(),
        items: returned(&["50", "100", "273", "100"], &catalog),
        ..Answered::default()
    };
    let s = score(&judge, nineties, &answer);
    assert_eq!(s.top[0].violations, vec!["release_year 1977 is outside 1990–1999"]);
    assert_eq!(s.satisfaction, Some(2.0 / 5.0));
    assert_eq!(s.grounding, vec!["Usual Suspects, The"]);
    assert_eq!(s.duplicates, vec!["id 100 twice"]);
    assert_eq!(s.malformed, None);
    // Nightwatch is listed twice in ML-100K (1477 and 1625): one film.
    assert_eq!(judge.duplicates(&returned(&["1477", "1625"], &catalog)).len(), 1);
    // A schema echoed as the answer.
    let echo = Answered { text: r#"{"type": "object", "properties": {"query": {"type": "string"}}}"#.into(), ..Answered::default() };
    assert!(score(&judge, nineties, &echo).malformed.is_some());
    // The user's own titles are not grounding errors; sequels are excluded ids.
    let alien = set.requests.iter().find(|r| r.constraints.excluded_ids.contains(&"343".to_string())).expect("the Alien request");
    let answer = Answered { text: "Unlike Alien, Aliens or Alien 3, Blade Runner is calm.".into(), items: returned(&["89", "665"], &catalog), ..Answered::default() };
    let s = score(&judge, alien, &answer);
    assert_eq!(s.grounding, vec!["Aliens"], "Alien 3 is returned, Alien is too short, Aliens was not said by the user");
    assert_eq!(s.top[1].violations, vec!["id 665 is excluded (the user named it)"]);
}

/// Runs `recagent agent-bench` with `extra` flags; the table it printed and
/// its JSON report.
fn agent_bench(extra: &[String], name: &str) -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join(format!("{name}.json"));
    let mut args: Vec<String> = vec!["agent-bench".into(), "--set".into(), set_path()];
    for (flag, asset) in [("--catalog", "catalog/ml-100k.rcat"), ("--text-model", "minilm-int8.onnx"), ("--vocab", "vocab.txt")] {
        args.extend([flag.to_string(), common::assets().join(asset).display().to_string()]);
    }
    args.extend(["--json".to_string(), report.display().to_string()]);
    args.extend(extra.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::recagent(&refs, "");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status);
    let text = std::fs::read_to_string(&report).expect("the --json report was written");
    (stdout, serde_json::from_str(&text).expect("the report is JSON"))
}

/// Checks one level of a report: every request scored, nothing malformed
/// (the failures listed when not).
fn check_level(level: &Value, requests: usize) {
    let results = level["results"].as_array().expect("results");
    assert_eq!(level["requests"], json!(requests));
    assert_eq!(results.len(), requests);
    assert!(results.iter().all(|r| r["satisfaction"].is_f64()), "every request is scored");
    let malformed: Vec<&Value> = results.iter().filter(|r| !r["malformed"].is_null()).collect();
    assert!(malformed.is_empty(), "malformed answers at autonomy {}: {malformed:#?}", level["autonomy"]);
}

#[test]
fn autonomy_0_over_the_whole_set() {
    let n = set().requests.len();
    let (table, report) = agent_bench(&["--autonomy".into(), "0".into()], "device");
    println!("{table}");
    let level = &report["levels"][0];
    check_level(level, n);
    assert_eq!(level["llmRequests"], json!(0));
    let s = level["satisfaction"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&s), "{s}");
    assert!(table.contains(&format!("| 0        | device | {n:<8} | {s:.3}")), "{table}");
    let duplicated: Vec<String> = level["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["duplicates"].as_array().unwrap().is_empty())
        .map(|r| format!("{} {:?}: {}", r["id"], r["text"], r["duplicates"]))
        .collect();
    assert!(duplicated.is_empty(), "duplicate items at autonomy 0:\n{}", duplicated.join("\n"));
}

#[test]
fn autonomy_1_and_2_against_the_scripted_server() {
    // One request of each of these kinds (the first in the set).
    let set = set();
    let mut ids: Vec<String> = Vec::new();
    for kind in ["decade", "year_after", "exclude_genre", "require_genre", "genre_synonym", "any_of", "seen_titles", "not_sequels", "combination", "mood_only"] {
        let r = set.requests.iter().find(|r| r.kinds.iter().any(|k| k == kind) && !ids.contains(&r.id)).unwrap();
        ids.push(r.id.clone());
    }
    let server = ScriptedLlmServer::start();
    for (session, levels, json_planning) in [("native", "1,2", false), ("json", "2", true)] {
        server.script(session, json!({"mode": "planner"}));
        let mut extra = vec!["--autonomy".into(), levels.into(), "--endpoint".into(), server.session_url(session)];
        extra.extend(["--ids".into(), ids.join(","), "--llm-model".into(), "scripted".into()]);
        if json_planning {
            extra.push("--json-planning".into());
        }
        let (table, report) = agent_bench(&extra, session);
        println!("{table}");
        let levels = report["levels"].as_array().unwrap();
        assert_eq!(levels.len(), if json_planning { 1 } else { 2 });
        let mut sent = 0;
        for level in levels {
            check_level(level, ids.len());
            assert_eq!(level["mode"], json!(if json_planning { "json" } else { "native" }));
            assert!(level["fallbacks"].as_object().unwrap().is_empty(), "fallbacks: {}", level["fallbacks"]);
            assert!(level["llmRequests"].as_u64().unwrap() >= ids.len() as u64, "one request per ask at least");
            sent += level["llmRequests"].as_u64().unwrap() as usize;
        }
        assert_eq!(server.requests(session).len(), sent, "the ledger counts what the server received");
        assert_eq!(report["endpoint"], json!(server.session_url(session)));
    }
}
