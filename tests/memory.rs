//! Long-term memory over the in-memory and the file-backed store: recall
//! order (similarity, recency by elapsed time, importance), consolidation,
//! correct/forget, export/import round trip, forget-everything, atomic
//! batches, restarts; one test with the real MiniLM. Issue 14 §5: calls in
//! flight together and another writer between read and write lose nothing,
//! stale counters and ids near the limit never overwrite, fact and episode
//! ids stay apart, import checks every number and length, corrupt records
//! never block a read; property tests of the export → import round trip.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::rc::Rc;

use futures::executor::block_on;
use recagent_cli::FileKvStore;
use recagent_core::memory::{
    Embedder, Episode, EpisodeKind, FactKind, Memory, MemoryConfig, RememberOptions,
    Role, Source,
};
use futures::FutureExt;
use recagent_core::platform::{Expect, KvStore, LocalBoxFuture, ManualClock, MemoryKvStore, WriteOp};
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

/// The memory's write rate (run with `--ignored --nocapture`): 2,000
/// `remember` calls over the in-memory and the file store, every one listed
/// afterwards; prints remembers per second.
#[test]
#[ignore]
fn remember_rate() {
    let n = 2000;
    for (name, store) in [
        ("memory", Rc::new(MemoryKvStore::new()) as Rc<dyn KvStore>),
        ("file", {
            let dir = tempfile::tempdir().unwrap().keep();
            Rc::new(FileKvStore::open(&dir).unwrap()) as Rc<dyn KvStore>
        }),
    ] {
        let mem = memory_over(store, &ManualClock::at(T0));
        let started = std::time::Instant::now();
        block_on(async {
            for i in 0..n {
                mem.remember(&format!("fact number {i}")).await.unwrap();
            }
        });
        let secs = started.elapsed().as_secs_f64();
        println!("remember rate over the {name} store: {:.0}/s ({n} in {secs:.2} s)", n as f64 / secs);
        assert_eq!(block_on(mem.facts()).unwrap().len(), n);
    }
}

// ---- issue 14 §5: ids, import validation, concurrency, corrupt records ----

/// A store over a [`MemoryKvStore`] that (1) makes every operation wait one
/// turn of the executor, so calls in flight together interleave as they do
/// over IndexedDB, and (2) runs a hook right before the next write, the way
/// another tab writes between our read and our write.
#[derive(Clone, Default)]
struct Interleaving {
    inner: MemoryKvStore,
    before_write: Rc<std::cell::RefCell<Option<Box<dyn FnOnce()>>>>,
}

/// Pending once, then ready: lets the executor poll the other futures.
async fn yield_once() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

impl Interleaving {
    fn interfere(&self) {
        let hook = self.before_write.borrow_mut().take();
        if let Some(hook) = hook {
            hook();
        }
    }
}

impl KvStore for Interleaving {
    fn get(&self, key: &str) -> LocalBoxFuture<'_, Result<Option<Vec<u8>>>> {
        let key = key.to_string();
        Box::pin(async move {
            yield_once().await;
            self.inner.get(&key).await
        })
    }
    fn put(&self, key: &str, value: Vec<u8>) -> LocalBoxFuture<'_, Result<()>> {
        self.write(vec![WriteOp::Put { key: key.into(), value }])
    }
    fn delete(&self, key: &str) -> LocalBoxFuture<'_, Result<()>> {
        self.write(vec![WriteOp::Delete { key: key.into() }])
    }
    fn scan_prefix(&self, prefix: &str) -> LocalBoxFuture<'_, Result<Vec<(String, Vec<u8>)>>> {
        let prefix = prefix.to_string();
        Box::pin(async move {
            yield_once().await;
            self.inner.scan_prefix(&prefix).await
        })
    }
    fn write(&self, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<()>> {
        Box::pin(async move {
            yield_once().await;
            self.interfere();
            self.inner.write(ops).await
        })
    }
    fn write_if(&self, expect: Vec<Expect>, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            yield_once().await;
            self.interfere();
            self.inner.write_if(expect, ops).await
        })
    }
    fn clear(&self) -> LocalBoxFuture<'_, Result<()>> {
        self.inner.clear()
    }
}

fn empty_doc() -> serde_json::Value {
    serde_json::json!({"format": "recagent-memory", "version": 1, "exportedAt": T0})
}

fn fact_json(id: &str, episodes: &[u64]) -> serde_json::Value {
    serde_json::json!({"id": id, "text": "likes jazz music", "kind": "preference", "confidence": 1.0,
        "importance": 0.5, "createdMs": T0, "updatedMs": T0,
        "provenance": {"source": "user", "episodes": episodes}})
}

/// [`memory_over`] from inside an async block (no nested executor).
async fn open_over(store: Rc<dyn KvStore>, clock: &ManualClock) -> Memory {
    Memory::open(store, Rc::new(clock.clone()))
        .await
        .unwrap()
        .with_embedder(Rc::new(Topics))
}

#[test]
fn calls_in_flight_together_lose_nothing() {
    let store = Interleaving::default();
    let clock = ManualClock::at(T0);
    let one = memory_over(Rc::new(store.clone()), &clock);
    let two = memory_over(Rc::new(store.clone()), &clock);
    block_on(async {
        // 2 "tabs" × 100 remembers and 50 records, all in flight together.
        let mut calls: Vec<LocalBoxFuture<'_, ()>> = Vec::new();
        for i in 0..100 {
            for (tab, mem) in [("one", &one), ("two", &two)] {
                calls.push(Box::pin(async move {
                    mem.remember(&format!("{tab} fact {i}")).await.unwrap();
                }));
                if i % 2 == 0 {
                    calls.push(Box::pin(async move {
                        mem.record(Episode::new(EpisodeKind::View).item(&format!("{tab}{i}"), &[]))
                            .await
                            .unwrap();
                    }));
                }
            }
        }
        futures::future::join_all(calls).await;
        let facts = one.facts().await.unwrap();
        assert_eq!(facts.len(), 200, "every remember is listed");
        let texts: std::collections::HashSet<_> = facts.iter().map(|f| f.text.clone()).collect();
        assert_eq!(texts.len(), 200);
        // 200 message episodes + 100 views, every id distinct
        assert_eq!(two.episodes().await.unwrap().len(), 300);
    });
}

#[test]
fn another_writer_between_read_and_write_is_never_overwritten() {
    let store = Interleaving::default();
    let clock = ManualClock::at(T0);
    let mine = memory_over(Rc::new(store.clone()), &clock);
    let other = Rc::new(memory_over(Rc::new(store.inner.clone()), &clock));
    block_on(async {
        // Another tab remembers after this one read the counter.
        let o = other.clone();
        *store.before_write.borrow_mut() = Some(Box::new(move || {
            o.remember("from the other tab").now_or_never().unwrap().unwrap();
        }));
        let f = mine.remember("from this tab").await.unwrap();
        let texts: Vec<String> = mine.facts().await.unwrap().into_iter().map(|f| f.text).collect();
        assert_eq!(texts, ["from the other tab", "from this tab"]);
        // After the conflict the write starts past the ids the other writer
        // is taking (ids are unique, not consecutive).
        let ids: Vec<String> = mine.facts().await.unwrap().into_iter().map(|f| f.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids[0] != ids[1] && ids.contains(&f.id), "{ids:?}");

        // A correction never brings back a fact forgotten meanwhile.
        let o = other.clone();
        let id = f.id.clone();
        *store.before_write.borrow_mut() = Some(Box::new(move || {
            o.forget(&id).now_or_never().unwrap().unwrap();
        }));
        assert_eq!(mine.correct(&f.id, "changed").await.unwrap_err().code(), "invalid_input");
        assert!(mine.fact(&f.id).await.unwrap().is_none());

        // Consolidation never undoes a correction made meanwhile.
        for i in 0..3 {
            mine.record(Episode::new(EpisodeKind::Like).item(&format!("m{i}"), &["Jazz"])).await.unwrap();
        }
        mine.consolidate().await.unwrap();
        for i in 3..6 {
            mine.record(Episode::new(EpisodeKind::Like).item(&format!("m{i}"), &["Jazz"])).await.unwrap();
        }
        let rule_fact = mine.facts().await.unwrap().into_iter().find(|f| f.provenance.rule.is_some()).unwrap();
        let (o, id) = (other.clone(), rule_fact.id.clone());
        *store.before_write.borrow_mut() = Some(Box::new(move || {
            o.correct(&id, "likes jazz, but only live").now_or_never().unwrap().unwrap();
        }));
        mine.consolidate().await.unwrap();
        let after = mine.fact(&rule_fact.id).await.unwrap().unwrap();
        assert_eq!(after.text, "likes jazz, but only live");
        assert_eq!(after.provenance.episodes.len(), 6, "and the evidence still grew");
    });
}

#[test]
fn a_stale_or_damaged_counter_never_overwrites_a_record() {
    both(|store| {
        let clock = ManualClock::at(T0);
        block_on(async {
            let mem = open_over(store.clone(), &clock).await;
            for text in ["music: jazz", "food: lentils", "travel: trains"] {
                mem.remember(text).await.unwrap();
            }
            drop(mem);
            for counter in [&b"1"[..], b"not a number", b"0", b"18446744073709551615"] {
                store.put("meta/next_id", counter.to_vec()).await.unwrap();
                let mem = open_over(store.clone(), &clock).await;
                let before = mem.facts().await.unwrap().len();
                mem.remember("shoe size 8").await.unwrap();
                mem.record(Episode::new(EpisodeKind::View).item("1", &[])).await.unwrap();
                assert_eq!(mem.facts().await.unwrap().len(), before + 1, "counter {counter:?}");
            }
            let mem = open_over(store.clone(), &clock).await;
            let facts = mem.facts().await.unwrap();
            assert_eq!(facts.len(), 7);
            assert_eq!(mem.episodes().await.unwrap().len(), 11);
            for f in facts {
                // each fact still points at its own message episode
                let e = mem.episodes().await.unwrap().into_iter().find(|e| e.id == f.provenance.episodes[0]).unwrap();
                assert_eq!(e.text.as_deref(), Some(f.text.as_str()));
            }
        });
    });
}

#[test]
fn ids_near_the_limit_are_refused_or_stop_without_wrapping() {
    use recagent_core::memory::MAX_ID;
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            mem.remember("keep me").await.unwrap();
            let before = mem.export().await.unwrap();
            for (episode, fact) in [(u64::MAX, "f1"), (MAX_ID + 1, "f1"), (1, "f18446744073709551615"), (1, &*format!("f{}", MAX_ID + 1))] {
                let mut doc = empty_doc();
                doc["episodic"] = serde_json::json!([{"id": episode, "timeMs": T0, "kind": "view"}]);
                doc["semantic"] = serde_json::json!([fact_json(fact, &[episode])]);
                let e = mem.import(&doc.to_string()).await.unwrap_err();
                assert_eq!(e.code(), "invalid_input", "{episode} {fact}: {e}");
                assert_eq!(mem.export().await.unwrap(), before);
            }
            // The largest id is accepted; then the ids are used up: a typed error, nothing overwritten.
            let mut doc = empty_doc();
            doc["episodic"] = serde_json::json!([{"id": MAX_ID - 1, "timeMs": T0, "kind": "view"}, {"id": 1, "timeMs": T0, "kind": "like"}]);
            doc["semantic"] = serde_json::json!([fact_json(&format!("f{MAX_ID}"), &[1])]);
            assert_eq!(mem.import(&doc.to_string()).await.unwrap(), (2, 1));
            let full = mem.export().await.unwrap();
            assert_eq!(mem.remember("one more").await.unwrap_err().code(), "resource_limit");
            assert_eq!(
                mem.record(Episode::new(EpisodeKind::View)).await.unwrap_err().code(),
                "resource_limit"
            );
            assert_eq!(mem.export().await.unwrap(), full);
            assert_eq!(mem.forget("e18446744073709551615").await.unwrap_err().code(), "invalid_input");
        });
    });
}

#[test]
fn fact_ids_and_episode_ids_cannot_be_confused() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store.clone(), &clock);
        block_on(async {
            // An import may not bring a fact whose id reads as an episode id.
            let mut doc = empty_doc();
            doc["episodic"] = serde_json::json!([{"id": 1, "timeMs": T0, "kind": "like"}]);
            doc["semantic"] = serde_json::json!([fact_json("e1", &[])]);
            assert_eq!(mem.import(&doc.to_string()).await.unwrap_err().code(), "invalid_input");
            // A store that already holds one (an older import): forget deletes that fact, nothing else.
            doc["semantic"] = serde_json::json!([]);
            mem.import(&doc.to_string()).await.unwrap();
            let fact = serde_json::to_vec(&fact_json("e1", &[])).unwrap();
            store.put("sem/e1", fact).await.unwrap();
            assert_eq!(mem.forget("e1").await.unwrap(), 1);
            assert!(mem.fact("e1").await.unwrap().is_none());
            assert_eq!(mem.episodes().await.unwrap().len(), 1, "episode 1 is still there");
            assert_eq!(mem.forget("e1").await.unwrap(), 1, "now e1 is the episode");
            assert!(mem.episodes().await.unwrap().is_empty());
        });
    });
}

#[test]
fn import_checks_every_number_and_length_before_writing() {
    both(|store| {
        let clock = ManualClock::at(T0);
        let mem = memory_over(store, &clock);
        block_on(async {
            mem.remember("keep me").await.unwrap();
            let before = mem.export().await.unwrap();
            let long = "x".repeat(recagent_core::memory::MAX_TEXT_BYTES + 1);
            let bad_facts = [
                serde_json::json!({"confidence": 1e39}),
                serde_json::json!({"importance": -0.1}),
                serde_json::json!({"embedding": [0.5, 1e39]}),
                serde_json::json!({"embedding": vec![0.0; recagent_core::memory::MAX_EMBEDDING_DIMS + 1]}),
                serde_json::json!({"text": long}),
                serde_json::json!({"id": "has space"}),
                serde_json::json!({"provenance": {"source": "user", "episodes": [u64::MAX]}}),
            ];
            for patch in bad_facts {
                let mut fact = fact_json("f2", &[]);
                for (k, v) in patch.as_object().unwrap() {
                    fact[k] = v.clone();
                }
                let mut doc = empty_doc();
                doc["semantic"] = serde_json::json!([fact]);
                let e = mem.import(&doc.to_string()).await.unwrap_err();
                assert_eq!(e.code(), "invalid_input", "{patch}: {e}");
            }
            let bad_episodes = [
                serde_json::json!({"id": 1, "timeMs": T0, "kind": "rating", "value": 1e39}),
                serde_json::json!({"id": 1, "timeMs": T0, "kind": "rating", "value": 7}),
                serde_json::json!({"id": 1, "timeMs": T0, "kind": "view", "tags": vec!["t"; 2000]}),
                serde_json::json!({"id": 1, "timeMs": T0, "kind": "message", "text": long}),
            ];
            for e in bad_episodes {
                let mut doc = empty_doc();
                doc["episodic"] = serde_json::json!([e]);
                assert_eq!(mem.import(&doc.to_string()).await.unwrap_err().code(), "invalid_input", "{e}");
            }
            let mut doc = empty_doc();
            doc["working"] = serde_json::json!({"turns": [{"role": "user", "text": long, "timeMs": T0}], "task": null});
            assert_eq!(mem.import(&doc.to_string()).await.unwrap_err().code(), "invalid_input");
            let mut doc = empty_doc();
            doc["items"] = serde_json::json!([{"id": "mine", "title": "t", "text": "t", "addedMs": T0,
                "textEmbedding": recagent_core::memory::encode_f32(&[1.0, f32::NAN])}]);
            assert_eq!(mem.import(&doc.to_string()).await.unwrap_err().code(), "invalid_input");
            assert_eq!(mem.export().await.unwrap(), before, "nothing was written");
            // The same rules hold for every write.
            assert_eq!(mem.remember(&long).await.unwrap_err().code(), "invalid_input");
            let rating = Episode::new(EpisodeKind::Rating).value(f32::NAN);
            assert_eq!(mem.record(rating).await.unwrap_err().code(), "invalid_input");
            let mut at_nan = Episode::new(EpisodeKind::View);
            at_nan.time_ms = f64::INFINITY;
            assert_eq!(mem.record(at_nan).await.unwrap_err().code(), "invalid_input");
            assert_eq!(mem.export().await.unwrap(), before);
        });
    });
}

#[test]
fn corrupt_records_are_skipped_reported_set_aside_and_exported() {
    both(|store| {
        let clock = ManualClock::at(T0);
        block_on(async {
            let mem = open_over(store.clone(), &clock).await;
            let kept = mem.remember("music: jazz").await.unwrap();
            mem.save_profile(&profile_snapshot()).await.unwrap();
            mem.push_turn(Role::User, "hi").await.unwrap();
            drop(mem);
            let mut nan_fact = fact_json("f90", &[]);
            nan_fact["confidence"] = serde_json::json!(1e39);
            let damage: Vec<(&str, Vec<u8>)> = vec![
                ("sem/f91", b"not json".to_vec()),
                ("sem/f90", serde_json::to_vec(&nan_fact).unwrap()),
                ("sem/f92", serde_json::to_vec(&fact_json("f7", &[])).unwrap()),
                ("epi/0000000000000093", vec![0xff, 0xfe, 0]),
                ("work/state", b"{\"turns\": 3}".to_vec()),
                ("profile/snapshot", b"RPROFILE but not really".to_vec()),
                ("item/mine", b"{}".to_vec()),
                ("meta/schema", b"garbage".to_vec()),
                ("meta/next_id", b"garbage".to_vec()),
            ];
            for (key, value) in &damage {
                store.put(key, value.clone()).await.unwrap();
            }
            let mem = open_over(store.clone(), &clock).await;
            let reported = Rc::new(std::cell::RefCell::new(Vec::new()));
            let r = reported.clone();
            mem.on_corrupt(move |c| r.borrow_mut().push(c.key.clone()));
            // Every read works and skips them.
            assert_eq!(mem.facts().await.unwrap().len(), 1);
            assert_eq!(mem.recall("music", 3).await.unwrap()[0].fact.id, kept.id);
            assert_eq!(mem.episodes().await.unwrap().len(), 1);
            assert_eq!(mem.working().await.unwrap(), Default::default());
            assert_eq!(mem.valid_profile().await.unwrap(), None);
            assert_eq!(mem.profile().await.unwrap(), None, "set aside");
            assert!(mem.items().await.unwrap().is_empty());
            let new = mem.remember("food: lentils").await.unwrap();
            assert_ne!(new.id, kept.id);
            let mut seen = reported.borrow().clone();
            seen.sort();
            assert_eq!(
                seen,
                ["epi/0000000000000093", "item/mine", "profile/snapshot", "sem/f90", "sem/f91", "sem/f92", "work/state"]
            );
            // Set aside with their bytes (the schema too, when the store opened).
            assert_eq!(mem.corrupt_count().await.unwrap(), 8);
            let aside = mem.corrupt_records().await.unwrap();
            for (key, value) in damage.iter().filter(|(k, _)| *k != "meta/next_id") {
                assert!(aside.contains(&(key.to_string(), value.clone())), "{key}");
            }
            // A second read reports nothing new: they are out of the way.
            mem.facts().await.unwrap();
            assert_eq!(reported.borrow().len(), 7);
            // Export carries them; an import puts them aside again, identically.
            let doc = mem.export().await.unwrap();
            let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
            assert_eq!(v["corrupt"].as_array().unwrap().len(), 8);
            let other = open_over(Rc::new(MemoryKvStore::new()), &clock).await;
            other.import(&doc).await.unwrap();
            assert_eq!(other.export().await.unwrap(), doc);
            // Forgetting a corrupt fact removes it; forgetting everything leaves nothing.
            store.put("sem/f95", b"\0".to_vec()).await.unwrap();
            assert_eq!(mem.forget("f95").await.unwrap(), 1);
            assert!(mem.forget_everything().await.unwrap() >= 10);
            assert!(store.scan_prefix("").await.unwrap().is_empty());
        });
    });
}

mod round_trip {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Remember(String, f32),
        Record(u8, Option<f32>, Vec<String>, Option<String>),
        Turn(String),
        Task(Option<i64>),
        Correct(usize, String),
        Forget(usize),
        Consolidate,
        Advance(u32),
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof!["\\PC{0,24}", "(food|movie|music|jazz|tea) [a-z ]{0,12}"]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (text(), 0.0f32..=1.0).prop_map(|(t, i)| Op::Remember(t, i)),
            (0u8..8, proptest::option::of(1.0f32..=5.0), proptest::collection::vec("[A-Za-z]{1,6}", 0..3), proptest::option::of(text()))
                .prop_map(|(k, v, tags, ctx)| Op::Record(k, v, tags, ctx)),
            text().prop_map(Op::Turn),
            proptest::option::of(any::<i64>()).prop_map(Op::Task),
            (0usize..8, text()).prop_map(|(i, t)| Op::Correct(i, t)),
            (0usize..8).prop_map(Op::Forget),
            Just(Op::Consolidate),
            any::<u32>().prop_map(Op::Advance),
        ]
    }

    const KINDS: [EpisodeKind; 8] = [
        EpisodeKind::Message, EpisodeKind::View, EpisodeKind::Click, EpisodeKind::Like,
        EpisodeKind::Dislike, EpisodeKind::Rating, EpisodeKind::Purchase, EpisodeKind::Skip,
    ];

    /// Exports `doc` after importing it into a fresh memory.
    fn reimport(doc: &str, clock: &ManualClock) -> String {
        let mem = memory_over(Rc::new(MemoryKvStore::new()), clock);
        block_on(async {
            mem.import(doc).await.unwrap();
            assert_eq!(mem.corrupt_count().await.unwrap(), 0);
            mem.export().await.unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the memory holds after any sequence of calls exports,
        /// imports and exports again to the same document.
        #[test]
        fn export_then_import_gives_the_same_memory(ops in proptest::collection::vec(op(), 0..30)) {
            let clock = ManualClock::at(T0);
            let mem = memory_over(Rc::new(MemoryKvStore::new()), &clock);
            block_on(async {
                for op in ops {
                    let facts: Vec<String> = mem.facts().await.unwrap().into_iter().map(|f| f.id).collect();
                    let pick = |i: usize| facts.get(i % facts.len().max(1)).cloned().unwrap_or_default();
                    // Refusals (empty text, unknown id) are fine; panics and corrupt writes are not.
                    let _ = match op {
                        Op::Remember(t, i) => mem.remember_with(&t, RememberOptions { importance: Some(i), ..Default::default() }).await.map(|_| ()),
                        Op::Record(k, v, tags, ctx) => {
                            let mut e = Episode::new(KINDS[usize::from(k) % KINDS.len()]);
                            e.value = v;
                            e.tags = tags;
                            e.context = ctx;
                            mem.record(e).await.map(|_| ())
                        }
                        Op::Turn(t) => mem.push_turn(Role::User, &t).await.map(|_| ()),
                        Op::Task(t) => mem.set_task(t.map(serde_json::Value::from)).await,
                        Op::Correct(i, t) => mem.correct(&pick(i), &t).await.map(|_| ()),
                        Op::Forget(i) => mem.forget(&pick(i)).await.map(|_| ()),
                        Op::Consolidate => mem.consolidate().await.map(|_| ()),
                        Op::Advance(ms) => { clock.advance(f64::from(ms)); Ok(()) }
                    };
                }
                assert_eq!(mem.corrupt_count().await.unwrap(), 0);
            });
            let doc = block_on(mem.export()).unwrap();
            prop_assert_eq!(reimport(&doc, &clock), doc);
        }

        /// A document with any numbers is refused with `invalid_input` or
        /// accepted, and then everything in it reads back and round-trips.
        #[test]
        fn any_numbers_are_refused_or_read_back(
            confidence in any::<f64>(), importance in any::<f64>(), created in any::<f64>(),
            embedding in proptest::collection::vec(any::<f64>(), 0..4),
            episode_id in any::<u64>(), value in proptest::option::of(any::<f64>()),
            fact_id in "[a-z]?[0-9]{0,20}",
        ) {
            let clock = ManualClock::at(T0);
            let num = |v: f64| serde_json::Number::from_f64(v).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null);
            let mut doc = empty_doc();
            let mut fact = fact_json(&fact_id, &[episode_id]);
            fact["confidence"] = num(confidence);
            fact["importance"] = num(importance);
            fact["createdMs"] = num(created);
            fact["embedding"] = serde_json::Value::Array(embedding.iter().map(|v| num(*v)).collect());
            doc["semantic"] = serde_json::json!([fact]);
            let mut episode = serde_json::json!({"id": episode_id, "timeMs": T0, "kind": "rating"});
            if let Some(v) = value {
                episode["value"] = num(v);
            }
            doc["episodic"] = serde_json::json!([episode]);
            let mem = memory_over(Rc::new(MemoryKvStore::new()), &clock);
            let imported = block_on(mem.import(&doc.to_string()));
            match imported {
                Err(e) => prop_assert_eq!(e.code(), "invalid_input"),
                Ok(counts) => {
                    prop_assert_eq!(counts, (1, 1));
                    block_on(async {
                        assert_eq!(mem.facts().await.unwrap().len(), 1);
                        assert_eq!(mem.episodes().await.unwrap().len(), 1);
                        assert_eq!(mem.corrupt_count().await.unwrap(), 0);
                    });
                    let out = block_on(mem.export()).unwrap();
                    prop_assert_eq!(reimport(&out, &clock), out);
                }
            }
        }
    }
}
