//! Long-term memory over the in-memory and the file-backed store: recall
//! order (similarity, recency by elapsed time, importance), consolidation,
//! correct/forget, export/import round trip, forget-everything, atomic
//! batches, restarts; one test with the real MiniLM.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::rc::Rc;

use futures::executor::block_on;
use recagent_cli::FileKvStore;
use recagent_core::memory::{
    Embedder, Episode, EpisodeKind, FactKind, Memory, MemoryConfig, RememberOptions,
    Role, Source,
};
use recagent_core::platform::{KvStore, ManualClock, MemoryKvStore, WriteOp};
use recagent_core::{Event, EventKind, Result, TextEncoder, UserProfile};

const DAY: f64 = 86_400_000.0;
const T0: f64 = 1_700_000_000_000.0;

/// Deterministic bag-of-keywords embedder: one dimension per topic word.
struct Topics;

const TOPICS: [&str; 6] = ["food", "movie", "shoe", "music", "travel", "book"];

impl Embedder for Topics {
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let lower = text.to_lowercase();
        let mut v: Vec<f32> = TOPICS
            .iter()
            .map(|t| lower.matches(t).count() as f32)
            .collect();
        v.push(0.1); // never the zero vector
        Ok(v)
    }
}

fn memory_over(store: Rc<dyn KvStore>, clock: &ManualClock) -> Memory {
    block_on(Memory::open(store, Rc::new(clock.clone())))
        .unwrap()
        .with_embedder(Rc::new(Topics))
}

/// Runs `test` over a fresh in-memory store and a fresh file store.
fn both(test: impl Fn(Rc<dyn KvStore>)) {
    test(Rc::new(MemoryKvStore::new()));
    let dir = tempfile::tempdir().unwrap();
    test(Rc::new(FileKvStore::open(&dir.path().join("mem")).unwrap()));
}

fn ids(results: &[recagent_core::memory::Recalled]) -> Vec<String> {
    results.iter().map(|r| r.fact.text.clone()).collect()
}

#[test]
fn recall_orders_by_similarity_and_minutes_do_not_matter() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            mem.remember("favourite food: food with lentils")
                .await
                .unwrap();
            clock.advance(10.0 * 60_000.0); // ten minutes later
            mem.remember("likes movie nights with a movie")
                .await
                .unwrap();
            clock.advance(5.0 * 60_000.0);
            mem.remember("shoe size 8").await.unwrap();
            let r = mem.recall("which food to cook", 3).await.unwrap();
            assert_eq!(r[0].fact.text, "favourite food: food with lentils");
            // the newer facts do not outrank by minutes: recency terms agree to 1e-3
            assert!((r[0].recency - r[1].recency).abs() < 1e-3, "{r:?}");
            let r = mem.recall("a movie tonight", 2).await.unwrap();
            assert_eq!(ids(&r)[0], "likes movie nights with a movie");
            assert_eq!(r.len(), 2);
            assert!(mem.recall("x", 0).await.unwrap().is_empty());
        });
    });
}

#[test]
fn recall_lets_old_facts_sink_and_importance_lift() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            let old = mem.remember("music: jazz").await.unwrap();
            clock.advance(365.0 * DAY);
            let new = mem.remember("music: techno").await.unwrap();
            let r = mem.recall("music", 2).await.unwrap();
            // same similarity: a year of age loses to a fresh fact
            assert!((r[0].similarity - r[1].similarity).abs() < 1e-6);
            assert_eq!(r[0].fact.id, new.id);
            assert!(r[1].recency < 0.01, "half-life 30 days: {}", r[1].recency);
            // importance lifts an equally similar, equally recent fact
            let a = mem.remember("travel: trains").await.unwrap();
            let b = mem
                .remember_with(
                    "travel: ferries",
                    RememberOptions {
                        importance: Some(1.0),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let r = mem.recall("travel", 2).await.unwrap();
            assert_eq!(r[0].fact.id, b.id);
            assert_eq!(r[1].fact.id, a.id);
            assert_ne!(old.id, new.id);
        });
    });
}

#[test]
fn remember_records_provenance_kind_and_validates() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            let f = mem.remember("dislikes horror").await.unwrap();
            assert_eq!(f.kind, FactKind::Aversion);
            assert_eq!(f.confidence, 1.0);
            assert_eq!(f.provenance.source, Source::User);
            let eps = mem.episodes().await.unwrap();
            assert_eq!(eps.len(), 1);
            assert_eq!(f.provenance.episodes, vec![eps[0].id]);
            assert_eq!(eps[0].text.as_deref(), Some("dislikes horror"));
            assert_eq!(FactKind::guess("I love jazz"), FactKind::Preference);
            assert_eq!(FactKind::guess("shoe size 8"), FactKind::Fact);
            let e = mem.remember("   ").await.unwrap_err();
            assert_eq!(e.code(), "invalid_input");
            let e = mem
                .remember_with(
                    "x",
                    RememberOptions {
                        importance: Some(2.0),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_input");
        });
    });
}

#[test]
fn recall_without_an_embedder_is_refused_and_facts_embed_later() {
    let store: Rc<dyn KvStore> = Rc::new(MemoryKvStore::new());
    let clock = ManualClock::at(T0);
    let plain = block_on(Memory::open(store.clone(), Rc::new(clock.clone()))).unwrap();
    let mem = memory_over(store, &clock);
    block_on(async {
        let f = plain.remember("book club on fridays").await.unwrap();
        assert!(f.embedding.is_empty());
        assert_eq!(
            plain.recall("book", 1).await.unwrap_err().code(),
            "invalid_input"
        );
        let r = mem.recall("book", 1).await.unwrap();
        assert_eq!(r[0].fact.id, f.id);
        assert!(r[0].similarity > 0.9);
    });
}

#[test]
fn consolidation_turns_repeated_likes_into_one_fact_with_provenance() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            let mut comedy = Vec::new();
            for (i, kind) in [EpisodeKind::Like, EpisodeKind::Purchase]
                .iter()
                .enumerate()
            {
                let e = mem
                    .record(Episode::new(*kind).item(&format!("m{i}"), &["Comedy", "Drama"]))
                    .await
                    .unwrap();
                comedy.push(e.id);
                clock.advance(60_000.0);
            }
            let e = mem
                .record(
                    Episode::new(EpisodeKind::Rating)
                        .item("m9", &["comedy"])
                        .value(5.0),
                )
                .await
                .unwrap();
            comedy.push(e.id);
            for i in 0..3 {
                mem.record(Episode::new(EpisodeKind::Dislike).item(&format!("h{i}"), &["Horror"]))
                    .await
                    .unwrap();
            }
            // drama: 2 likes (below min_evidence 3) -> nothing
            mem.record(Episode::new(EpisodeKind::View).item("x", &["Travel"]))
                .await
                .unwrap();
            let report = mem.consolidate().await.unwrap();
            assert_eq!(report.created.len(), 2, "{report:?}");
            let facts = mem.facts().await.unwrap();
            let likes = facts.iter().find(|f| f.text == "likes Comedy").unwrap();
            assert_eq!(likes.kind, FactKind::Preference);
            assert_eq!(likes.provenance.source, Source::Consolidation);
            assert_eq!(likes.provenance.episodes, comedy);
            assert!((likes.confidence - 0.6).abs() < 1e-6);
            assert_eq!(likes.updated_ms, T0 + 120_000.0);
            let dislikes = facts.iter().find(|f| f.text == "dislikes Horror").unwrap();
            assert_eq!(dislikes.kind, FactKind::Aversion);
            // idempotent
            let again = mem.consolidate().await.unwrap();
            assert!(
                again.created.is_empty() && again.updated.is_empty(),
                "{again:?}"
            );
            // more evidence reinforces the same fact; compaction never lowers it
            for i in 0..2 {
                mem.record(Episode::new(EpisodeKind::Like).item(&format!("c{i}"), &["Comedy"]))
                    .await
                    .unwrap();
            }
            let r = mem.consolidate().await.unwrap();
            assert_eq!(r.updated, vec![likes.id.clone()]);
            let likes = mem.fact(&likes.id).await.unwrap().unwrap();
            assert!((likes.confidence - 5.0 / 7.0).abs() < 1e-6);
            assert_eq!(mem.compact(1).await.unwrap(), 8);
            assert_eq!(mem.episodes().await.unwrap().len(), 1);
            mem.consolidate().await.unwrap();
            let kept = mem.fact(&likes.id).await.unwrap().unwrap();
            assert_eq!(kept.confidence, likes.confidence);
            // recall finds the consolidated fact
            assert_eq!(mem.facts().await.unwrap().len(), 2);
        });
    });
}

#[test]
fn consolidation_merges_repeated_statements() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            let a = mem.remember("I am vegetarian").await.unwrap();
            clock.advance(DAY);
            let b = mem.remember("i am  Vegetarian.").await.unwrap();
            mem.remember("shoe size 8").await.unwrap();
            let r = mem.consolidate().await.unwrap();
            assert_eq!(r.removed, vec![b.id.clone()]);
            assert_eq!(r.updated, vec![a.id.clone()]);
            let kept = mem.fact(&a.id).await.unwrap().unwrap();
            assert_eq!(
                kept.provenance.episodes,
                [a.provenance.episodes[0], b.provenance.episodes[0]]
            );
            assert_eq!(kept.updated_ms, T0 + DAY);
            assert!(mem.fact(&b.id).await.unwrap().is_none());
            assert_eq!(mem.facts().await.unwrap().len(), 2);
        });
    });
}

#[test]
fn facts_can_be_corrected_and_forgotten_with_their_evidence() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            let f = mem.remember("shoe size 8").await.unwrap();
            clock.advance(DAY);
            let c = mem.correct(&f.id, "shoe size 9").await.unwrap();
            assert_eq!(c.id, f.id);
            assert_eq!(c.text, "shoe size 9");
            assert_eq!(c.updated_ms, T0 + DAY);
            assert_eq!(c.created_ms, T0);
            assert_eq!(mem.fact(&f.id).await.unwrap().unwrap().text, "shoe size 9");
            assert_eq!(
                mem.correct("f999", "x").await.unwrap_err().code(),
                "invalid_input"
            );
            let other = mem.remember("food: no mushrooms").await.unwrap();
            // forgetting a fact removes the fact and its message episode
            assert_eq!(mem.forget(&f.id).await.unwrap(), 2);
            assert!(mem.fact(&f.id).await.unwrap().is_none());
            assert_eq!(mem.episodes().await.unwrap().len(), 1);
            assert_eq!(mem.forget(&f.id).await.unwrap_err().code(), "invalid_input");
            let ep = format!("e{}", other.provenance.episodes[0]);
            assert_eq!(mem.forget(&ep).await.unwrap(), 1);
            assert!(mem.episodes().await.unwrap().is_empty());
            assert_eq!(mem.facts().await.unwrap().len(), 1);
        });
    });
}

#[test]
fn working_memory_is_bounded() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock).with_config(MemoryConfig {
            working_turns: 3,
            ..MemoryConfig::default()
        });
        block_on(async {
            for i in 0..5 {
                mem.push_turn(
                    if i % 2 == 0 { Role::User } else { Role::Agent },
                    &format!("t{i}"),
                )
                .await
                .unwrap();
            }
            mem.set_task(Some(serde_json::json!({"step": "compare"})))
                .await
                .unwrap();
            let w = mem.working().await.unwrap();
            let texts: Vec<_> = w.turns.iter().map(|t| t.text.as_str()).collect();
            assert_eq!(texts, ["t2", "t3", "t4"]);
            assert_eq!(w.task.unwrap()["step"], "compare");
            mem.clear_working().await.unwrap();
            assert!(mem.working().await.unwrap().turns.is_empty());
        });
    });
}

fn profile_snapshot() -> Vec<u8> {
    let mut p = UserProfile::new();
    p.observe(Event {
        item: "1".into(),
        kind: EventKind::Like,
        time_ms: T0,
    })
    .unwrap();
    p.snapshot().unwrap()
}

#[test]
fn export_import_round_trip_and_validation() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        let other = memory_over(Rc::new(MemoryKvStore::new()), &clock);
        block_on(async {
            mem.remember("I am vegetarian").await.unwrap();
            for i in 0..3 {
                mem.record(Episode::new(EpisodeKind::Like).item(&format!("m{i}"), &["Comedy"]))
                    .await
                    .unwrap();
            }
            mem.consolidate().await.unwrap();
            mem.push_turn(Role::User, "hello").await.unwrap();
            mem.save_profile(&profile_snapshot()).await.unwrap();
            assert_eq!(
                mem.save_profile(b"nope").await.unwrap_err().code(),
                "invalid_profile"
            );
            let doc = mem.export().await.unwrap();
            let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
            assert_eq!(v["format"], "recagent-memory");
            assert_eq!(v["version"], 1);
            assert_eq!(v["exportedAt"], T0);
            assert_eq!(v["episodic"].as_array().unwrap().len(), 4);
            assert_eq!(v["semantic"].as_array().unwrap().len(), 2);
            assert!(v["profile"].is_string());

            // into a fresh in-memory store: same export (bar the time)
            assert_eq!(other.import(&doc).await.unwrap(), (4, 2));
            assert_eq!(other.export().await.unwrap(), doc);
            assert_eq!(other.profile().await.unwrap(), Some(profile_snapshot()));
            // new ids continue after the imported ones
            let f = other.remember("shoe size 8").await.unwrap();
            assert!(mem.fact(&f.id).await.unwrap().is_none());

            // bad documents leave the memory untouched
            for bad in [
                "not json",
                r#"{"format":"other","version":1,"exportedAt":0}"#,
                r#"{"format":"recagent-memory","version":2,"exportedAt":0}"#,
                r#"{"format":"recagent-memory","version":1,"exportedAt":0,"profile":"AAAA"}"#,
                r#"{"format":"recagent-memory","version":1,"exportedAt":0,"episodic":[{"id":1,"timeMs":0,"kind":"like"},{"id":1,"timeMs":0,"kind":"like"}]}"#,
            ] {
                let before = mem.export().await.unwrap();
                let e = mem.import(bad).await.unwrap_err();
                assert!(
                    ["invalid_input", "invalid_profile"].contains(&e.code()),
                    "{bad}: {e}"
                );
                assert_eq!(mem.export().await.unwrap(), before);
            }
            // importing replaces: an empty document empties the memory
            mem.import(r#"{"format":"recagent-memory","version":1,"exportedAt":0}"#)
                .await
                .unwrap();
            assert!(mem.facts().await.unwrap().is_empty());
            assert!(mem.episodes().await.unwrap().is_empty());
            assert_eq!(mem.profile().await.unwrap(), None);
        });
    });
}

#[test]
fn forget_everything_leaves_zero_keys() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store.clone(), &clock);
        block_on(async {
            mem.remember("I am vegetarian").await.unwrap();
            mem.push_turn(Role::User, "hi").await.unwrap();
            mem.save_profile(&profile_snapshot()).await.unwrap();
            mem.record(Episode::new(EpisodeKind::View).item("1", &[]))
                .await
                .unwrap();
            assert!(mem.forget_everything().await.unwrap() >= 6);
            assert!(store.scan_prefix("").await.unwrap().is_empty());
            // and it is usable again afterwards
            mem.remember("shoe size 8").await.unwrap();
            assert_eq!(mem.facts().await.unwrap().len(), 1);
        });
    });
}

#[test]
fn a_failing_batch_writes_nothing() {
    both(|store| {
        block_on(async {
            store.put("keep", vec![1]).await.unwrap();
            let ops = vec![
                WriteOp::Put {
                    key: "a".into(),
                    value: vec![1],
                },
                WriteOp::Delete { key: "keep".into() },
                WriteOp::Put {
                    key: "x".repeat(5000),
                    value: vec![2],
                },
            ];
            assert_eq!(store.write(ops).await.unwrap_err().code(), "invalid_input");
            let all = store.scan_prefix("").await.unwrap();
            assert_eq!(all, vec![("keep".to_string(), vec![1])]);
        });
    });
}

#[test]
fn newer_schema_is_refused() {
    let store = MemoryKvStore::new();
    block_on(store.put("meta/schema", br#"{"version":99}"#.to_vec())).unwrap();
    let e = block_on(Memory::open(Rc::new(store), Rc::new(ManualClock::at(T0)))).err();
    assert_eq!(e.unwrap().code(), "storage_error");
}

#[test]
fn file_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/memory");
    let clock = ManualClock::at(T0);
    let id = {
        let mem = memory_over(Rc::new(FileKvStore::open(&path).unwrap()), &clock);
        block_on(mem.remember("food: vegetarian")).unwrap().id
    };
    let store = FileKvStore::open(&path).unwrap();
    assert!(store.path().ends_with("memory.redb"));
    let mem = memory_over(Rc::new(store), &clock);
    block_on(async {
        let f = mem.fact(&id).await.unwrap().unwrap();
        assert_eq!(f.text, "food: vegetarian");
        assert_eq!(mem.recall("food", 1).await.unwrap()[0].fact.id, id);
        // ids keep counting after the restart
        assert_ne!(mem.remember("x").await.unwrap().id, id);
    });
}

#[test]
fn recall_with_the_real_minilm() {
    let encoder = TextEncoder::from_bytes(
        &common::asset("minilm-int8.onnx"),
        &common::asset_text("vocab.txt"),
    )
    .unwrap();
    let clock = ManualClock::at(T0);
    let mem = block_on(Memory::open(
        Rc::new(MemoryKvStore::new()),
        Rc::new(clock.clone()),
    ))
    .unwrap()
    .with_embedder(Rc::new(encoder));
    block_on(async {
        for text in [
            "I am vegetarian",
            "dislikes horror films",
            "shoe size 8",
            "lives in Lyon",
        ] {
            mem.remember(text).await.unwrap();
            clock.advance(60_000.0);
        }
        let top = |q: &'static str| {
            let mem = &mem;
            async move { mem.recall(q, 1).await.unwrap()[0].fact.text.clone() }
        };
        assert_eq!(
            top("what should I cook, any meat dishes?").await,
            "I am vegetarian"
        );
        assert_eq!(
            top("recommend a scary movie").await,
            "dislikes horror films"
        );
        assert_eq!(top("buy new sneakers").await, "shoe size 8");
    });
}

#[test]
fn forget_everything_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Rc::new(FileKvStore::open(dir.path()).unwrap());
    let file = store.path().to_path_buf();
    let mem = memory_over(store, &ManualClock::at(T0));
    block_on(async {
        for i in 0..100 {
            mem.remember(&format!("fact {i} {}", "x".repeat(4000))).await.unwrap();
        }
        let full = std::fs::metadata(&file).unwrap().len();
        mem.forget_everything().await.unwrap();
        let empty = std::fs::metadata(&file).unwrap().len();
        assert!(empty < full / 4, "{full} -> {empty} bytes");
    });
}
