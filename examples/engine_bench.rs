//! The candidate-engine benchmark (`scripts/bench.sh engine`): figures of a
//! catalog held by an engine and ranked on the device.
//!
//! ```sh
//! # quality on a RecBole dataset: HR@10 of the engine path (N candidates) vs the all-on-device ranking
//! cargo run --release -p recagent-cli --example engine_bench -- quality \
//!   --dataset assets/data/ml-1m --model assets/minilm-int8.onnx --vocab assets/vocab.txt --candidates 200,500,1000 \
//!   [--small-items N]   # the small bundle holds the N most popular items (default 50,000)
//!   [--no-input-rows]   # records without the model's input rows (the layout before they were pushed)
//! # latency against a running engine holding a catalog, pushed (with its
//! # small bundle written) by `recagent push-catalog --to ... --small-out ...`
//! cargo run --release -p recagent-cli --example engine_bench -- latency \
//!   --small bench/out/synthetic-1000000-small.rcat --to chroma+http://127.0.0.1:8000/synthetic-1000000 \
//!   --model assets/minilm-int8.onnx --vocab assets/vocab.txt [--queries 100] [--limit 500]
//! ```
//!
//! `quality` splits the dataset leave-one-out (5-core, as `recagent eval`),
//! builds the catalog on train + valid, and for every user ranks (a) the
//! whole catalog on the device and (b) the candidates of an engine — the
//! in-memory twin of the engine (exact cosine search over the same
//! records), the device holding only the small bundle — under the default
//! policy (no request text: the public list of the N most popular items) and
//! under `full_memory` (the profile vector: the user's history items, whose
//! records the device has seen, averaged in the text space). It prints HR@10
//! and NDCG@10 for each and the loss against (a).
//!
//! `latency` is the device: in a process of its own it loads the small
//! bundle `--small` (what a browser loads in this mode) and MiniLM,
//! likes three items, then asks 100 text queries through Chroma: the p50 and
//! p95 of the whole call (query embedding, the engine's answer, the working
//! catalog, ranking), the engine's share, the bytes sent and received per
//! query, and the heap the device holds (counted by this program's
//! allocator: the small catalog alone, with the text encoder, and after the
//! queries with the engine records kept), with the machine's load average.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures::executor::block_on;
use recagent_cli::eval::recagent::build_split_catalog;
use recagent_cli::eval::split::leave_one_out;
use recagent_cli::eval::{load_dir, CORE};
use recagent_cli::offline::train::TrainConfig;
use recagent_core::agent::candidates::EngineCatalog;
use recagent_core::agent::llm::Ledger;
use recagent_core::agent::{PrivacyPolicy, ShareLevel};
use recagent_core::catalog::engine_record::to_record;
use recagent_core::catalog::WorkingItem;
use recagent_core::agent::candidates::chroma::ChromaSource;
use recagent_core::platform::{ByteStream, Candidate, Http, HttpRequest, HttpStreamingResponse, LocalBoxFuture, ManualClock, MemoryCandidateSource};
use recagent_core::profile::{Event, EventKind};
use recagent_core::ranking::score::{score, ScoreWeights};
use recagent_core::recommender::{Observation, RecommendOptions, Recommender};
use recagent_core::{Catalog, Error, Result, TextEncoder, UserProfile};
use serde_json::json;

/// The system allocator, counting the bytes live at any time.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn need(args: &[String], name: &str) -> Result<String> {
    arg(args, name).ok_or_else(|| Error::InvalidInput(format!("{name} is required")))
}

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io(format!("{path}: {e}")))
}

fn encoder(args: &[String]) -> Result<(TextEncoder, Vec<u8>)> {
    let model = read(&need(args, "--model")?)?;
    let vocab = String::from_utf8(read(&need(args, "--vocab")?)?).map_err(|e| Error::InvalidVocab(e.to_string()))?;
    Ok((TextEncoder::from_bytes(&model, &vocab)?, model))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("quality") => quality(&args),
        Some("latency") => latency(&args),
        _ => Err(Error::InvalidInput("usage: engine_bench quality|latency … (see the file's docs)".into())),
    };
    if let Err(e) = result {
        eprintln!("engine_bench: error[{}]: {e}", e.code());
        std::process::exit(1);
    }
}

/// Every item of `catalog` as an engine record.
fn records(catalog: &Catalog) -> Result<Vec<Candidate>> {
    let text = catalog.text_embeddings().ok_or_else(|| Error::InvalidInput("the catalog has no text embeddings".into()))?;
    Ok(catalog
        .items()
        .map(|item| {
            let i = item.index() as usize;
            to_record(catalog.attributes(), &item, catalog.popularity()[i], text.row(i).unwrap_or_default())
        })
        .collect())
}

fn quality(args: &[String]) -> Result<()> {
    let started = Instant::now();
    let (encoder, model) = encoder(args)?;
    let sizes: Vec<usize> = need(args, "--candidates")?
        .split(',')
        .map(|s| s.trim().parse().map_err(|_| Error::InvalidInput(format!("--candidates: {s:?}"))))
        .collect::<Result<_>>()?;
    let max_users: usize = arg(args, "--users").and_then(|u| u.parse().ok()).unwrap_or(usize::MAX);
    let dataset = load_dir(std::path::Path::new(&need(args, "--dataset")?))?;
    let split = leave_one_out(&dataset, CORE)?;
    eprintln!("{} users, {} items; building the catalog (sequence model trained on train + valid)", split.n_users(), split.n_items());
    let catalog = build_split_catalog(&dataset, &split, Some((&encoder, &model)), &TrainConfig::default(), &[0, 256], false, &mut |p| {
        if let recagent_cli::Progress::Note(n) = p {
            eprintln!("{n}");
        }
    })?;
    let keep: usize = arg(args, "--small-items").and_then(|k| k.parse().ok()).unwrap_or(recagent_core::catalog::working::SMALL_BUNDLE_ITEMS);
    let small = catalog.small(keep)?;
    let mut all = records(&catalog)?;
    let model = catalog.sequence_model().ok_or_else(|| Error::InvalidInput("no sequence model was trained".into()))?;
    // As `recagent push-catalog` writes them: each record carries its rows
    // of the model (output, bias, input) — unless --no-input-rows, the
    // layout before they were written, for comparison.
    let input_rows = !args.iter().any(|a| a == "--no-input-rows");
    if input_rows {
        for (i, r) in all.iter_mut().enumerate() {
            r.sequence = (|| {
                let mut v = model.output.row(i)?;
                v.push(*model.bias.get(i)?);
                v.extend(model.input.row(i)?);
                Some(v)
            })();
        }
    }
    let sequence: Vec<Option<Vec<f32>>> = (0..catalog.len())
        .map(|i| {
            let mut v = model.output.row(i)?;
            v.push(*model.bias.get(i)?);
            Some(v)
        })
        .collect();
    let source = Rc::new(MemoryCandidateSource::new("http://127.0.0.1:1/engine", all.clone()).with_sequence(sequence));
    let forget_queries = source.clone();
    let weights = ScoreWeights::default();
    let users = split.n_users().min(max_users);
    let mut hits_device = 0.0;
    let mut ndcg_device = 0.0;
    // (size, policy, hits, ndcg, answers the device gave instead of the engine)
    let mut engine: Vec<(usize, &str, f64, f64, usize)> = Vec::new();
    for &n in &sizes {
        for policy in ["default", "full_memory"] {
            engine.push((n, policy, 0.0, 0.0, 0));
        }
    }
    let device = Rc::new(RefCell::new(Recommender::new(small, None)?));
    for u in 0..users {
        let history = split.history(u, false);
        let target = split.test[u].item;
        let target_id = catalog.item(target).map(|i| i.id().to_string()).unwrap_or_default();
        let mut profile = UserProfile::new();
        for e in &history {
            let Some(item) = catalog.item(e.item) else { continue };
            let kind = if (1.0..=5.0).contains(&e.rating) { EventKind::Rating { value: e.rating } } else { EventKind::Click };
            profile.observe(Event { item: item.id().to_string(), kind, time_ms: e.timestamp * 1000.0 })?;
        }
        // (a) the whole catalog on the device.
        let scored = score(&catalog, &profile, None, &weights)?;
        let seen: std::collections::HashSet<u32> = history.iter().map(|e| e.item).collect();
        let target_score = scored.total[target as usize];
        let rank = scored.total.iter().enumerate().filter(|(i, s)| !seen.contains(&(*i as u32)) && **s > target_score).count();
        if rank < 10 {
            hits_device += 1.0;
            ndcg_device += 1.0 / ((rank + 2) as f64).log2();
        }
        // (b) the engine's candidates, ranked on the device.
        {
            let mut d = device.borrow_mut();
            d.set_profile(profile);
            // The device saw its history items' records (when it was shown them).
            let seen_records: Vec<WorkingItem> = history
                .iter()
                .filter_map(|e| {
                    let r = &all[e.item as usize];
                    recagent_core::catalog::engine_record::from_record(catalog.attributes(), r)
                        .ok()
                        .map(|(item, popularity)| WorkingItem { item, vector: r.vector.clone(), popularity, sequence: r.sequence.clone() })
                })
                .collect();
            d.remember_engine_items(seen_records);
        }
        for row in engine.iter_mut() {
            let policy = if row.1 == "default" { PrivacyPolicy::default() } else { PrivacyPolicy::sharing(ShareLevel::FullMemory) };
            let mut e = EngineCatalog::new(source.clone(), policy, Rc::new(ManualClock::at(0.0)));
            e.limit = row.0;
            let got = block_on(e.recommend(&device, &RecommendOptions { k: Some(10), ..Default::default() }))?;
            row.4 += usize::from(got.trace.origin != "engine");
            if let Some(pos) = got.items.iter().position(|r| r.recommendation.id == target_id) {
                row.2 += 1.0;
                row.3 += 1.0 / ((pos + 2) as f64).log2();
            }
        }
        forget_queries.clear_queries();
        if u % 500 == 0 {
            eprintln!("user {u}/{users} ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    let n = users as f64;
    let hr_device = hits_device / n;
    let rows: Vec<_> = engine
        .iter()
        .map(|(size, policy, hits, ndcg, fallbacks)| {
            let hr = hits / n;
            json!({"candidates": size, "policy": policy, "hr10": hr, "ndcg10": ndcg / n, "fallbacks": fallbacks,
                   "hrLossPercent": 100.0 * (hr_device - hr) / hr_device})
        })
        .collect();
    println!(
        "{}",
        json!({"dataset": dataset.name, "users": users, "items": catalog.len(),
               "device": {"hr10": hr_device, "ndcg10": ndcg_device / n}, "smallBundleItems": device.borrow().catalog().len(), "inputRows": input_rows,
               "engine": rows, "seconds": started.elapsed().as_secs_f64(), "load": load_average()})
    );
    Ok(())
}

/// A few hundred public phrases to query with, the same every run.
fn queries(count: usize) -> Vec<String> {
    const WHAT: &[&str] = &["a funny", "a dark", "a quiet", "an exciting", "a romantic", "a scary", "a family", "a sad", "a classic", "a new"];
    const KIND: &[&str] = &["space adventure", "crime thriller", "drama about friendship", "animated film", "western", "war film", "musical", "documentary about music", "comedy for the weekend", "mystery"];
    (0..count).map(|i| format!("{} {}", WHAT[i % WHAT.len()], KIND[(i / WHAT.len() + i) % KIND.len()])).collect()
}

/// The native client, counting the bytes of every response body.
struct CountingHttp {
    inner: recagent_cli::NativeHttp,
    received: Rc<std::cell::Cell<usize>>,
}

impl Http for CountingHttp {
    fn send_streaming(&self, request: HttpRequest) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        Box::pin(async move {
            let r = self.inner.send(request).await?;
            self.received.set(self.received.get() + r.body.len());
            let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(r.body) }));
            Ok(HttpStreamingResponse { status: r.status, headers: r.headers, body })
        })
    }
}

fn latency(args: &[String]) -> Result<()> {
    let address = need(args, "--to")?;
    let count: usize = arg(args, "--queries").and_then(|q| q.parse().ok()).unwrap_or(100);
    let limit: usize = arg(args, "--limit").and_then(|q| q.parse().ok()).unwrap_or(500);
    let before = LIVE.load(Ordering::Relaxed);
    let ledger = Ledger::new();
    let received = Rc::new(std::cell::Cell::new(0usize));
    let http = Rc::new(CountingHttp { inner: recagent_cli::NativeHttp::new(), received: received.clone() });
    let mut source = ChromaSource::new(&address, http, Rc::new(recagent_cli::SystemClock), ledger.clone())?;
    source.timeout_ms = 60_000;
    // What the device holds: the small catalog, then the text encoder.
    let small = Catalog::from_bundle(&read(&need(args, "--small")?)?)?;
    let small_bytes = small.memory_bytes();
    let catalog_heap = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let (encoder, model) = encoder(args)?;
    let device = Rc::new(RefCell::new(Recommender::new(small, Some((encoder, &model)))?));
    drop(model);
    let device_heap = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let mut engine = EngineCatalog::new(Rc::new(source), PrivacyPolicy::default(), Rc::new(recagent_cli::SystemClock));
    engine.limit = limit;
    // Three likes from the first answer.
    let first = block_on(engine.recommend(&device, &RecommendOptions { query: Some("a space adventure".into()), k: Some(3), ..Default::default() }))?;
    for r in &first.items {
        let o: Observation = serde_json::from_value(json!({"item": r.recommendation.id, "type": "like"})).map_err(|e| Error::InvalidInput(e.to_string()))?;
        device.borrow_mut().observe(o, 0.0)?;
    }
    ledger.clear();
    received.set(0);
    let mut total = Vec::with_capacity(count);
    let mut engine_ms = Vec::with_capacity(count);
    let mut fallbacks = 0;
    for q in queries(count) {
        let t = Instant::now();
        let got = block_on(engine.recommend(&device, &RecommendOptions { query: Some(q), k: Some(10), ..Default::default() }))?;
        total.push(t.elapsed().as_secs_f64() * 1000.0);
        engine_ms.push(got.trace.engine_ms);
        fallbacks += usize::from(got.trace.fallback.is_some());
    }
    let peak_heap = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let entries = ledger.entries();
    let sent: usize = entries.iter().map(|e| e.body.len()).sum();
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
    };
    let (p50, p95) = (pct(&mut total, 0.5), pct(&mut total, 0.95));
    println!(
        "{}",
        json!({"address": address, "queries": count, "candidates": limit, "fallbacks": fallbacks,
               "p50Ms": p50, "p95Ms": p95, "engineP50Ms": pct(&mut engine_ms, 0.5), "engineP95Ms": pct(&mut engine_ms, 0.95),
               "sentBytesPerQuery": sent / count.max(1), "receivedBytesPerQuery": received.get() / count.max(1), "requests": entries.len(),
               "deviceCatalogHeapBytes": catalog_heap, "deviceHeapWithEncoderBytes": device_heap,
               "encoderHeapBytes": device_heap.saturating_sub(catalog_heap),
               "deviceHeapAfterQueriesBytes": peak_heap,
               "deviceHeapWithoutEncoderBytes": peak_heap.saturating_sub(device_heap.saturating_sub(catalog_heap)),
               "smallCatalogMemoryBytes": small_bytes, "smallCatalogItems": device.borrow().catalog().len(),
               "engineItemsKept": device.borrow().engine_items().len(), "load": load_average()})
    );
    Ok(())
}
