//! A catalog in a real Chroma server (PyPI chromadb, started on loopback):
//! `recagent push-catalog` (batched, with progress, resumed after being
//! killed half-way), `recagent ask --candidates` with the small bundle and
//! with no bundle, what was sent (the ledger), the sequence model's item
//! space searched with the user vector where the policy allows it, and the
//! engine killed in
//! the middle of a session: the device answers with a typed reason, then
//! the engine again once it is back.

#![cfg(not(target_arch = "wasm32"))]

mod common;
#[path = "support/chroma.rs"]
mod chroma;

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::rc::Rc;

use chroma::Chroma;
use futures::executor::block_on;
use recagent_core::agent::candidates::EngineCatalog;
use recagent_core::agent::llm::Ledger;
use recagent_core::agent::PrivacyPolicy;
use recagent_core::catalog::{AttributeValue, Catalog, CatalogParts, Embeddings, Item};
use recagent_core::recommender::{Observation, RecommendOptions, Recommender};
use recagent_core::TextEncoder;
use serde_json::Value;

/// ML-100K's items and 1,500 more (ids `s0…`, a few genres, vectors near
/// ML-100K items so they compete): 3,182 items without a sequence model.
fn catalog_of_a_few_thousand() -> Catalog {
    let base = Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).unwrap();
    let text = base.text_embeddings().unwrap();
    let mut items = base.to_items();
    let mut values: Vec<f32> = (0..base.len()).flat_map(|i| text.row(i).unwrap()).collect();
    let mut popularity = base.popularity().to_vec();
    let class = base.attributes().iter().position(|a| a.name == "class").unwrap();
    let genres = ["Drama", "Comedy", "Sci-Fi", "Documentary", "Horror"];
    for i in 0..1500usize {
        let mut v = text.row(i % base.len()).unwrap();
        v.iter_mut().enumerate().for_each(|(d, x)| *x += 0.01 * (((i * 31 + d * 7) % 13) as f32 - 6.0));
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        values.extend(v.iter().map(|x| x / n));
        let mut vals = vec![AttributeValue::Missing; base.attributes().len()];
        vals[class] = AttributeValue::Tags(vec![genres[i % genres.len()].to_string()]);
        items.push(Item { id: format!("s{i}"), title: format!("Synthetic film {i}"), text: format!("Synthetic film {i}"), image: None, values: vals });
        popularity.push((i % 7) as f32);
    }
    Catalog::new(CatalogParts {
        name: "few-thousand".into(),
        attributes: base.attributes().to_vec(),
        items,
        text: Some(Embeddings::F32 { values, dim: text.dim() }),
        text_model: base.text_model().cloned(),
        popularity,
        ..Default::default()
    })
    .unwrap()
}

fn json_line(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn asset(name: &str) -> String {
    common::assets().join(name).display().to_string()
}

#[test]
fn push_resume_ask_and_survive_the_engine_going_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Chroma::start(&dir.path().join("chroma"));
    let catalog = catalog_of_a_few_thousand();
    let bundle = dir.path().join("few.rcat");
    std::fs::write(&bundle, catalog.to_bundle().unwrap()).unwrap();
    let small = dir.path().join("few-small.rcat");
    let address = server.address("few-thousand");
    let bundle_s = bundle.display().to_string();
    let small_s = small.display().to_string();

    // 1. A push killed after its first batches resumes where it stopped.
    let bin = env!("CARGO_BIN_EXE_recagent");
    let mut child = Command::new(bin)
        .args(["push-catalog", "--catalog", &bundle_s, "--to", &address, "--batch", "50"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut pushed_before_kill = 0usize;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("records pushed: ").nth(1) {
            pushed_before_kill = rest.split('/').next().unwrap().trim().parse().unwrap();
            if pushed_before_kill >= 200 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(pushed_before_kill >= 200 && pushed_before_kill < catalog.len(), "{pushed_before_kill}");
    let out = common::recagent(&["push-catalog", "--catalog", &bundle_s, "--to", &address, "--batch", "700", "--small-out", &small_s], "");
    let summary = json_line(&out);
    let skipped = summary["pushed"]["skipped"].as_u64().unwrap() as usize;
    let written = summary["pushed"]["written"].as_u64().unwrap() as usize;
    assert!(skipped >= pushed_before_kill, "{summary}");
    assert_eq!(skipped + written, catalog.len(), "{summary}");
    assert_eq!(summary["pushed"]["total"].as_u64().unwrap() as usize, catalog.len());
    assert!(String::from_utf8_lossy(&out.stderr).contains("records pushed: 3182/3182"), "progress: {}", String::from_utf8_lossy(&out.stderr));
    // Pushed again: nothing to write.
    let again = json_line(&common::recagent(&["push-catalog", "--catalog", &bundle_s, "--to", &address], ""));
    assert_eq!((again["pushed"]["written"].as_u64(), again["pushed"]["skipped"].as_u64()), (Some(0), Some(3182)));
    let small_bytes = std::fs::read(&small).unwrap();
    assert!(small_bytes.len() * 10 < std::fs::read(&bundle).unwrap().len(), "the small bundle is small");

    // 2. ask over the engine, with the small bundle and with none.
    let (model, vocab) = (asset("minilm-int8.onnx"), asset("vocab.txt"));
    for with_bundle in [true, false] {
        let mut args = vec!["ask", "--model", &model, "--vocab", &vocab, "--autonomy", "0", "--candidates", &address];
        if with_bundle {
            args.extend(["--catalog", &small_s]);
        }
        args.push("synthetic science fiction films");
        let answer = json_line(&common::recagent(&args, ""));
        let items = answer["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{answer}");
        if !with_bundle {
            // The device holds no item at all: every one came from the engine.
            assert_eq!(items.len(), 10, "{answer}");
        }
        let trace = answer["trace"].to_string();
        assert!(trace.contains("candidates from http://127.0.0.1"), "{trace}");
        // The ledger holds the engine's requests, byte for byte.
        let sent = answer["sent"].as_array().unwrap();
        let query = sent.iter().find(|e| e["url"].as_str().unwrap().ends_with("/query")).expect("the query is in the ledger");
        let body: Value = serde_json::from_str(query["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["query_embeddings"][0].as_array().unwrap().len(), 384);
    }

    // 3. A catalog with a sequence model: its item space goes to COLLECTION-seq,
    //    and a policy that allows the profile vector gets the model's best
    //    items from it, as the device would rank them itself.
    let ml = asset("catalog/ml-100k.rcat");
    let ml_address = server.address("ml100k");
    let pushed = json_line(&common::recagent(&["push-catalog", "--catalog", &ml, "--to", &ml_address], ""));
    assert_eq!(pushed["pushed"]["sequence"]["total"].as_u64(), Some(1682), "{pushed}");
    {
        let full = common::ml100k_text_recommender();
        let model_bytes = common::asset("minilm-int8.onnx");
        let encoder = TextEncoder::from_bytes(&model_bytes, &common::asset_text("vocab.txt")).unwrap();
        let small = full.catalog().small(recagent_core::catalog::working::SMALL_BUNDLE_ITEMS).unwrap();
        let rec = Rc::new(RefCell::new(Recommender::new(small, Some((encoder, &model_bytes))).unwrap()));
        let mut local = full;
        for (n, id) in ["50", "181", "172"].iter().enumerate() {
            let o: Observation = serde_json::from_value(serde_json::json!({"item": id, "type": "like", "time": n as f64})).unwrap();
            rec.borrow_mut().observe(o.clone(), 0.0).unwrap();
            local.observe(o, 0.0).unwrap();
        }
        let ledger = Ledger::new();
        let source = recagent_cli::engine::chroma(&ml_address, ledger.clone()).unwrap();
        let policy = PrivacyPolicy::sharing(recagent_core::agent::ShareLevel::FullMemory);
        let engine = EngineCatalog::new(Rc::new(source), policy, Rc::new(recagent_cli::SystemClock));
        let got = block_on(engine.recommend(&rec, &RecommendOptions { k: Some(10), ..Default::default() })).unwrap();
        assert_eq!(got.trace.origin, "engine", "{:?}", got.trace);
        let urls: Vec<String> = ledger.entries().iter().map(|e| e.url.clone()).collect();
        assert!(urls.iter().any(|u| u.ends_with("/query")) && urls.iter().any(|u| u.ends_with("/get")), "{urls:?}");
        let device: Vec<String> = local.recommend(&RecommendOptions { k: Some(10), ..Default::default() }).unwrap().into_iter().map(|r| r.id).collect();
        let same = got.items.iter().filter(|r| device.contains(&r.recommendation.id)).count();
        assert!(same >= 8, "{same}/10 of the on-device top 10: engine {:?} device {device:?}", got.items.iter().map(|r| &r.recommendation.id).collect::<Vec<_>>());
        // Each record came with its rows of the model, exactly (its `rc.seq`
        // metadata: output 64, bias, input 64), also in a text-space answer.
        let model = local.catalog().sequence_model().unwrap();
        let text = block_on(engine.recommend(&rec, &RecommendOptions { query: Some("a space adventure".into()), k: Some(10), ..Default::default() })).unwrap();
        assert_eq!(text.trace.origin, "engine", "{:?}", text.trace);
        for r in got.items.iter().chain(&text.items) {
            let id = &r.recommendation.id;
            let kept = rec.borrow().engine_items().get(id).cloned();
            let row = kept.and_then(|w| w.sequence).unwrap_or_default();
            let i = local.catalog().index_of(id).unwrap() as usize;
            let mut want = model.output.row(i).unwrap();
            want.push(model.bias[i]);
            want.extend(model.input.row(i).unwrap());
            assert_eq!(row, want, "{id}");
        }
    }

    // 4. The engine killed in the middle of a session, then back.
    let model_bytes = common::asset("minilm-int8.onnx");
    let encoder = TextEncoder::from_bytes(&model_bytes, &common::asset_text("vocab.txt")).unwrap();
    let device = Catalog::from_bundle(&small_bytes).unwrap();
    let rec = Rc::new(RefCell::new(Recommender::new(device, Some((encoder, &model_bytes))).unwrap()));
    let ledger = Ledger::new();
    let source = recagent_cli::engine::chroma(&address, ledger.clone()).unwrap();
    let engine = EngineCatalog::new(Rc::new(source), PrivacyPolicy::default(), Rc::new(recagent_cli::SystemClock));
    let ask = |q: &str| block_on(engine.recommend(&rec, &RecommendOptions { query: Some(q.into()), k: Some(5), ..Default::default() })).unwrap();
    let first = ask("a space adventure");
    assert_eq!(first.trace.origin, "engine", "{:?}", first.trace);
    let liked = first.items[0].recommendation.id.clone();
    let o: Observation = serde_json::from_value(serde_json::json!({"item": liked, "type": "like"})).unwrap();
    rec.borrow_mut().observe(o, 1.0).unwrap();
    server.kill();
    let down = ask("a space adventure");
    assert_eq!(down.trace.origin, "device");
    let fallback = down.trace.fallback.clone().unwrap();
    assert_eq!(fallback.code, "network_error", "{fallback:?}");
    assert_eq!(down.items.len(), 5, "the small bundle answers");
    assert!(ledger.entries().iter().any(|e| e.error.as_deref() == Some("network_error")), "the failed attempt is in the ledger");
    server.restart();
    let back = ask("a space adventure");
    assert_eq!(back.trace.origin, "engine", "{:?}", back.trace);
    assert!(back.items.iter().all(|r| r.recommendation.id != liked), "the liked item is not shown again");
    // Nothing of the history ever reached the engine.
    for e in ledger.entries() {
        assert!(!e.body.contains(&format!("\"{liked}\"")), "{}", e.body);
    }
}
