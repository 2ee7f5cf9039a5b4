//! Recommending over a catalog held by a candidate engine, with the
//! engine's in-memory twin: the ML-100K catalog as engine records, the
//! device holding only the small bundle (no embeddings). What reaches the
//! engine under each policy (the canary: never the history), fallbacks with
//! their reasons, filters, and agreement with the all-on-device ranking.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use futures::executor::block_on;
use recagent_core::agent::candidates::{EngineCatalog, EngineRecommendations};
use recagent_core::agent::{DataClass, PrivacyPolicy, ShareLevel};
use recagent_core::catalog::engine_record::to_record;
use recagent_core::catalog::Catalog;
use recagent_core::platform::{Candidate, CandidateQuery, CandidateSource, LocalBoxFuture, ManualClock, MemoryCandidateSource, VectorSpace};
use recagent_core::ranking::{Filters, Predicate};
use recagent_core::recommender::{Observation, RecommendOptions, Recommender};
use recagent_core::{Error, Result, TextEncoder};

const ENDPOINT: &str = "http://127.0.0.1:9/api/v2/collections";

fn records(catalog: &Catalog) -> Vec<Candidate> {
    let text = catalog.text_embeddings().expect("text embeddings");
    catalog
        .items()
        .map(|item| {
            let i = item.index() as usize;
            to_record(catalog.attributes(), &item, catalog.popularity()[i], text.row(i).unwrap())
        })
        .collect()
}

struct Fixture {
    full: Recommender,
    device: Rc<RefCell<Recommender>>,
    source: MemoryCandidateSource,
}

fn fixture() -> Fixture {
    let full = common::ml100k_text_recommender();
    let model = common::asset("minilm-int8.onnx");
    let encoder = TextEncoder::from_bytes(&model, &common::asset_text("vocab.txt")).unwrap();
    let small = full.catalog().small(recagent_core::catalog::working::SMALL_BUNDLE_ITEMS).unwrap();
    assert!(small.text_embeddings().is_none());
    let device = Recommender::new(small, Some((encoder, &model))).unwrap();
    let model = full.catalog().sequence_model().unwrap();
    let sequence = (0..full.catalog().len())
        .map(|i| {
            let mut v = model.output.row(i)?;
            v.push(model.bias[i]);
            Some(v)
        })
        .collect();
    let source = MemoryCandidateSource::new(ENDPOINT, records(full.catalog())).with_sequence(sequence);
    Fixture { full, device: Rc::new(RefCell::new(device)), source }
}

fn engine(source: Rc<dyn CandidateSource>, policy: PrivacyPolicy) -> EngineCatalog {
    EngineCatalog::new(source, policy, Rc::new(ManualClock::at(0.0)))
}

fn like(rec: &Rc<RefCell<Recommender>>, id: &str, t: f64) {
    let o: Observation = serde_json::from_value(serde_json::json!({"item": id, "type": "like", "time": t})).unwrap();
    rec.borrow_mut().observe(o, t).unwrap();
}

fn ask(e: &EngineCatalog, rec: &Rc<RefCell<Recommender>>, options: RecommendOptions) -> EngineRecommendations {
    block_on(e.recommend(rec, &options)).unwrap()
}

fn query(q: &str, k: usize) -> RecommendOptions {
    RecommendOptions { query: Some(q.into()), k: Some(k), ..Default::default() }
}

#[test]
fn a_query_over_the_engine_agrees_with_the_on_device_ranking() {
    let f = fixture();
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::default());
    for q in ["a funny animated film for children", "dark crime thriller", "a space adventure"] {
        let got = ask(&e, &f.device, query(q, 10));
        assert_eq!(got.trace.origin, "engine", "{q}: {:?}", got.trace);
        assert_eq!(got.trace.candidates, 500);
        let local: Vec<String> = f.full.recommend(&query(q, 10)).unwrap().into_iter().map(|r| r.id).collect();
        let remote: Vec<String> = got.items.iter().map(|r| r.recommendation.id.clone()).collect();
        let same = remote.iter().filter(|id| local.contains(id)).count();
        // The engine's 500 nearest hold the query's best; popularity and
        // z-scores over 500 instead of 1,682 move the order a little.
        assert!(same >= 7, "{q}: {same}/10 in common\nengine {remote:?}\ndevice {local:?}");
        assert!(got.items.iter().all(|r| !r.item.title.is_empty() && !r.recommendation.explanation.summary.is_empty()));
    }
}

fn sent(source: &MemoryCandidateSource) -> Vec<String> {
    source.queries().iter().map(|q| serde_json::to_string(q).unwrap()).collect()
}

#[test]
fn canary_the_history_never_reaches_the_engine_under_the_default_policy() {
    // The device with the small bundle, then with the whole catalog.
    canary(false);
    canary(true);
}

fn canary(whole_catalog_on_device: bool) {
    let (mut f, mut fresh) = (fixture(), fixture());
    if whole_catalog_on_device {
        f.device = Rc::new(RefCell::new(common::ml100k_text_recommender()));
        fresh.device = Rc::new(RefCell::new(common::ml100k_text_recommender()));
    }
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::default());
    let e_fresh = engine(Rc::new(fresh.source.clone()), PrivacyPolicy::default());
    // The canary: items deep in the catalog, liked, and a standing statement.
    let canaries = ["1532", "1601", "1650"];
    for (n, id) in canaries.iter().enumerate() {
        like(&f.device, id, n as f64 * 1000.0);
    }
    let statement: Observation = serde_json::from_value(serde_json::json!({"type": "statement", "text": "no horror"})).unwrap();
    f.device.borrow_mut().observe(statement, 5000.0).unwrap();
    let options = RecommendOptions {
        query: Some("a quiet drama about friendship".into()),
        k: Some(10),
        filters: Filters { predicates: vec![Predicate { attribute: "class".into(), has: Some("Drama".into()), ..Default::default() }], ..Default::default() },
        ..Default::default()
    };
    let got = ask(&e, &f.device, options.clone());
    let baseline = ask(&e_fresh, &fresh.device, options);
    assert_eq!(got.trace.origin, "engine");
    // The small bundle's sequence model makes a user vector, the whole
    // catalog a text-space one too: the policy withholds both.
    assert_eq!(got.trace.withheld, vec![DataClass::Preferences, DataClass::ProfileVector], "{:?}", got.trace);
    // What the engine saw is byte for byte what a user without history sends.
    assert_eq!(sent(&f.source), sent(&fresh.source));
    let all = sent(&f.source).join("\n");
    let catalog = f.full.catalog();
    for id in canaries {
        let title = catalog.item(catalog.index_of(id).unwrap()).unwrap().title().to_string();
        assert!(!all.contains(&format!("\"{id}\"")) && !all.contains(&title), "{id} {title} reached the engine: {all}");
    }
    assert!(!all.to_lowercase().contains("horror"), "the statement reached the engine: {all}");
    // The device still used them: the liked items are not shown again, the
    // statement excludes horror, and the history changes the order.
    let shown: Vec<&str> = got.items.iter().map(|r| r.recommendation.id.as_str()).collect();
    assert!(canaries.iter().all(|c| !shown.contains(c)));
    assert!(got.items.iter().all(|r| !format!("{:?}", r.item.values).contains("\"Horror\"")), "{shown:?}");
    let base: Vec<&str> = baseline.items.iter().map(|r| r.recommendation.id.as_str()).collect();
    assert_ne!(shown, base, "the history should change the on-device order");
}

#[test]
fn wider_policies_send_preferences_and_the_profile_vector() {
    let f = fixture();
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::sharing(ShareLevel::FullMemory));
    for (n, id) in ["1", "50", "181"].iter().enumerate() {
        like(&f.device, id, n as f64);
    }
    // The liked items came from the catalog the device holds (the small
    // bundle has no vectors): ask once so their records are kept.
    let _ = ask(&e, &f.device, query("star wars return of the jedi toy story", 50));
    let statement: Observation = serde_json::from_value(serde_json::json!({"type": "statement", "text": "no horror"})).unwrap();
    f.device.borrow_mut().observe(statement, 10.0).unwrap();
    let got = ask(&e, &f.device, RecommendOptions { k: Some(10), ..Default::default() });
    assert_eq!(got.trace.origin, "engine");
    assert!(got.trace.sent_vector, "{:?}", got.trace);
    assert!(got.trace.withheld.is_empty());
    let last: CandidateQuery = f.source.queries().pop().unwrap();
    // The sequence model's user vector, searched in its item space: the
    // engine returns the model's best-scored items.
    assert_eq!(last.space(), VectorSpace::Sequence);
    let profile = f.device.borrow().profile_sequence_vector().unwrap();
    assert_eq!(last.vector().unwrap(), profile.as_slice());
    assert_eq!(last.conditions().len(), 1, "{:?}", last.conditions());
    assert_eq!(got.items.len(), 10);
    // Without a sequence model, the text-space profile vector goes instead.
    let text = f.device.borrow().profile_vector().unwrap();
    let parts = e.parts(&f.device.borrow(), &RecommendOptions::default()).unwrap();
    assert_eq!(parts.profile_vector.as_deref(), Some(text.as_slice()));
}

#[test]
fn without_a_query_the_default_policy_fetches_the_public_head() {
    let f = fixture();
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::default());
    like(&f.device, "1", 0.0);
    let got = ask(&e, &f.device, RecommendOptions { k: Some(10), ..Default::default() });
    assert_eq!(got.trace.origin, "engine");
    assert!(!got.trace.sent_vector);
    let q = f.source.queries().pop().unwrap();
    assert!(q.vector().is_none());
    assert_eq!(q.ids(), f.device.borrow().popular_ids(500).as_slice());
    assert_eq!(got.items.len(), 10);
}

#[test]
fn the_resident_model_adds_its_own_best_items_to_a_public_head() {
    // Under the default policy and without a request text the engine can
    // only return the public head; the device adds the small bundle's
    // model's best items for this user, so the ranking keeps what the
    // head lacks. A head of 50 makes the difference plain.
    let f = fixture();
    let mut e = engine(Rc::new(f.source.clone()), PrivacyPolicy::default());
    e.limit = 50;
    let mut full = f.full;
    // A user of one corner of the catalog: items far from the head.
    for (n, id) in ["1113", "1118", "1136", "1153", "1167", "1180"].iter().enumerate() {
        like(&f.device, id, n as f64 * 1000.0);
        let o: Observation = serde_json::from_value(serde_json::json!({"item": id, "type": "like", "time": n as f64 * 1000.0})).unwrap();
        full.observe(o, n as f64 * 1000.0).unwrap();
    }
    let options = RecommendOptions { k: Some(10), ..Default::default() };
    let got = ask(&e, &f.device, options.clone());
    assert_eq!(got.trace.origin, "engine", "{:?}", got.trace);
    let head = f.device.borrow().popular_ids(50);
    let favourites = f.device.borrow().resident_favourites(200);
    assert_eq!(favourites.len(), 200);
    // Nothing personal went out: the one query is the public head's ids.
    let queries = f.source.queries();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].ids(), head.as_slice());
    assert!(queries[0].vector().is_none());
    let remote: Vec<String> = got.items.iter().map(|r| r.recommendation.id.clone()).collect();
    let outside_head = remote.iter().filter(|id| !head.contains(id)).count();
    assert!(outside_head >= 5, "{outside_head} of 10 outside the public head: {remote:?}");
    let local: Vec<String> = full.recommend(&options).unwrap().into_iter().map(|r| r.id).collect();
    let same = remote.iter().filter(|id| local.contains(id)).count();
    assert!(same >= 6, "{same}/10 in common\nengine {remote:?}\ndevice {local:?}");
}

#[test]
fn items_outside_the_small_bundle_are_scored_with_the_rows_the_engine_gives() {
    // A bundle of the 60 most popular items; an item outside it, with its
    // row of the model as a sequence-space answer carries it: the working
    // catalog scores it with the model (its output row and bias, no input
    // row); without the row it is left to content and popularity.
    let f = fixture();
    let full = f.full.catalog();
    let small = full.small(60).unwrap();
    let model = full.sequence_model().unwrap();
    let i = (0..model.items()).find(|&i| small.index_of(full.item(i as u32).unwrap().id()).is_none()).unwrap();
    let record = &records(full)[i];
    let (item, popularity) = recagent_core::catalog::engine_record::from_record(full.attributes(), record).unwrap();
    let mut row = model.output.row(i).unwrap();
    row.push(model.bias[i]);
    let w = |sequence| recagent_core::catalog::WorkingItem { item: item.clone(), vector: record.vector.clone(), popularity, sequence };
    let view = small.working(vec![w(Some(row.clone()))]).unwrap();
    let m = view.sequence_model().expect("the carried row makes a model");
    assert_eq!(m.items(), 1);
    assert_eq!(m.output.row(0).unwrap(), row[..model.dim].to_vec());
    assert_eq!(m.bias, vec![model.bias[i]]);
    assert!(m.input.row(0).unwrap().iter().all(|&x| x == 0.0));
    let without = small.working(vec![w(None)]).unwrap();
    assert!(without.sequence_model().is_none());
    // A row of the wrong width is not used.
    let bad = small.working(vec![w(Some(vec![1.0; 3]))]).unwrap();
    assert!(bad.sequence_model().is_none());
    // The twin attaches the rows in a sequence-space answer.
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::sharing(ShareLevel::FullMemory));
    like(&f.device, "50", 0.0);
    let got = ask(&e, &f.device, RecommendOptions { k: Some(10), ..Default::default() });
    assert_eq!(f.source.queries().pop().unwrap().space(), VectorSpace::Sequence);
    for r in &got.items {
        let kept = f.device.borrow().engine_items().get(&r.recommendation.id).cloned();
        assert_eq!(kept.and_then(|w| w.sequence).map(|s| s.len()), Some(model.dim + 1), "{}", r.recommendation.id);
    }
}

/// Item `i`'s rows of `catalog`'s model as an engine record carries them:
/// output, bias, then input (`with_input`) .
fn rows_of(catalog: &Catalog, i: usize, with_input: bool) -> Vec<f32> {
    let model = catalog.sequence_model().unwrap();
    let mut row = model.output.row(i).unwrap();
    row.push(model.bias[i]);
    if with_input {
        row.extend(model.input.row(i).unwrap());
    }
    row
}

#[test]
fn history_items_outside_the_small_bundle_shape_the_user_vector_through_their_input_rows() {
    // A bundle of the 60 most popular items and a history half inside it,
    // half outside. The records of the outside items, seen from the engine
    // with their input rows, let the device fold them into the user vector
    // exactly as the whole catalog does; with the output rows alone it
    // cannot, and its user vector is another.
    let f = fixture();
    let mut full = f.full;
    let catalog = full.catalog().clone();
    let small = catalog.small(60).unwrap();
    let covered = catalog.sequence_model().unwrap().items();
    let inside: Vec<usize> = (0..covered).filter(|&i| small.index_of(catalog.item(i as u32).unwrap().id()).is_some()).take(3).collect();
    let outside: Vec<usize> = (0..covered).filter(|&i| small.index_of(catalog.item(i as u32).unwrap().id()).is_none()).step_by(97).take(3).collect();
    assert_eq!((inside.len(), outside.len()), (3, 3));
    let all = records(&catalog);
    let device_with = |with_input: bool| -> Rc<RefCell<Recommender>> {
        let rec = Rc::new(RefCell::new(Recommender::new(small.clone(), None).unwrap()));
        let seen = outside
            .iter()
            .map(|&i| {
                let (item, popularity) = recagent_core::catalog::engine_record::from_record(catalog.attributes(), &all[i]).unwrap();
                recagent_core::catalog::WorkingItem { item, vector: all[i].vector.clone(), popularity, sequence: Some(rows_of(&catalog, i, with_input)) }
            })
            .collect();
        rec.borrow_mut().remember_engine_items(seen);
        rec
    };
    let (with, without) = (device_with(true), device_with(false));
    for (n, &i) in inside.iter().zip(&outside).flat_map(|(a, b)| [a, b]).enumerate() {
        let id = catalog.item(i as u32).unwrap().id().to_string();
        let t = n as f64 * 1000.0;
        like(&with, &id, t);
        like(&without, &id, t);
        let o: Observation = serde_json::from_value(serde_json::json!({"item": id, "type": "like", "time": t})).unwrap();
        full.observe(o, t).unwrap();
    }
    let want = full.profile_sequence_vector().unwrap();
    let gap = |v: &[f32]| v.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let got = with.borrow().profile_sequence_vector().unwrap();
    assert!(gap(&got) < 1e-4, "with the input rows: max gap {}", gap(&got));
    let partial = without.borrow().profile_sequence_vector().unwrap();
    assert!(gap(&partial) > 1e-2, "without them the user vector should differ: max gap {}", gap(&partial));
    // The working view over some of the engine's records folds them in too.
    let candidates: Vec<_> = (0..20)
        .map(|i| {
            let (item, popularity) = recagent_core::catalog::engine_record::from_record(catalog.attributes(), &all[i]).unwrap();
            recagent_core::catalog::WorkingItem { item, vector: all[i].vector.clone(), popularity, sequence: Some(rows_of(&catalog, i, true)) }
        })
        .collect();
    let view = with.borrow_mut().working_view(candidates, None).unwrap();
    let in_view = view.profile_sequence_vector().unwrap();
    assert!(gap(&in_view) < 1e-4, "in the working view: max gap {}", gap(&in_view));
    // And the resident model's favourites are the full model's best items
    // among those the bundle holds (its logits: user vector · output + bias).
    let favourites: Vec<String> = with.borrow().resident_favourites(10).into_iter().map(|i| small.item(i).unwrap().id().to_string()).collect();
    let history: Vec<usize> = inside.iter().chain(&outside).copied().collect();
    let mut best: Vec<(f32, String)> = small
        .items()
        .filter_map(|item| {
            let i = catalog.index_of(item.id())? as usize;
            (i < covered && !history.contains(&i)).then(|| (rows_of(&catalog, i, false).iter().zip(&want).map(|(a, b)| a * b).sum(), item.id().to_string()))
        })
        .collect();
    best.sort_by(|a, b| b.0.total_cmp(&a.0));
    let best: Vec<String> = best.into_iter().take(10).map(|(_, id)| id).collect();
    let same = favourites.iter().filter(|id| best.contains(id)).count();
    assert!(same >= 9, "{same}/10: device {favourites:?} full model {best:?}");
}

#[test]
fn records_kept_from_earlier_answers_widen_a_request_that_sends_nothing_personal() {
    // A 60-item bundle; the engine's records carry their model rows. The
    // user searched by text (public requests), then liked some of what
    // came back. Asked without a text under the default policy, the engine
    // can only return the public head; the device adds the records it kept
    // that its model scores best, so items beyond the bundle and the head
    // reach the list — and nothing personal was sent.
    let f = fixture();
    let catalog = f.full.catalog().clone();
    let covered = catalog.sequence_model().unwrap().items();
    let mut all = records(&catalog);
    for (i, r) in all.iter_mut().enumerate().take(covered) {
        r.sequence = Some(rows_of(&catalog, i, true));
    }
    let source = MemoryCandidateSource::new(ENDPOINT, all);
    let model = common::asset("minilm-int8.onnx");
    let encoder = TextEncoder::from_bytes(&model, &common::asset_text("vocab.txt")).unwrap();
    let small = catalog.small(60).unwrap();
    let device = Rc::new(RefCell::new(Recommender::new(small.clone(), Some((encoder, &model))).unwrap()));
    let mut e = engine(Rc::new(source.clone()), PrivacyPolicy::default());
    e.limit = 200;
    let mut shown = Vec::new();
    for q in ["a space adventure", "a quiet drama about friendship", "an animated film for children", "a crime thriller"] {
        let got = ask(&e, &device, query(q, 10));
        assert_eq!(got.trace.origin, "engine", "{:?}", got.trace);
        shown.extend(got.items.iter().map(|r| r.recommendation.id.clone()));
    }
    let outside: Vec<String> = shown.iter().filter(|id| small.index_of(id).is_none()).take(4).cloned().collect();
    assert_eq!(outside.len(), 4, "{shown:?}");
    for (n, id) in outside.iter().enumerate() {
        like(&device, id, n as f64 * 1000.0);
    }
    let kept = device.borrow().kept_favourites(200).iter().map(|w| w.item.id.clone()).collect::<Vec<_>>();
    assert!(!kept.is_empty());
    assert!(kept.iter().all(|id| !outside.contains(id) && small.index_of(id).is_none()), "{kept:?}");
    e.limit = 50;
    source.clear_queries();
    let got = ask(&e, &device, RecommendOptions { k: Some(10), ..Default::default() });
    assert_eq!(got.trace.origin, "engine", "{:?}", got.trace);
    let head = device.borrow().popular_ids(50);
    let queries = source.queries();
    assert_eq!(queries.len(), 1);
    assert!(queries[0].vector().is_none() && queries[0].ids() == head.as_slice(), "only the public head was asked for");
    let ids: Vec<String> = got.items.iter().map(|r| r.recommendation.id.clone()).collect();
    let beyond: Vec<&String> = ids.iter().filter(|id| small.index_of(id).is_none() && !head.contains(id)).collect();
    assert!(!beyond.is_empty(), "nothing beyond the bundle and the head: {ids:?}");
    assert!(beyond.iter().all(|id| kept.contains(id)), "{beyond:?} are kept records");
}

#[test]
fn a_policy_of_nothing_sends_nothing_and_the_device_answers() {
    let f = fixture();
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::nothing());
    let got = ask(&e, &f.device, query("a space adventure", 5));
    assert!(f.source.queries().is_empty());
    assert_eq!(got.trace.origin, "device");
    assert_eq!(got.trace.fallback.as_ref().unwrap().code, "policy_denied");
    assert_eq!(got.items.len(), 5);
}

/// A source that fails the way it is told.
struct Failing(fn() -> Error);

impl CandidateSource for Failing {
    fn endpoint(&self) -> &str {
        ENDPOINT
    }
    fn candidates<'a>(&'a self, _: &'a CandidateQuery) -> LocalBoxFuture<'a, Result<Vec<Candidate>>> {
        let e = (self.0)();
        Box::pin(async move { Err(e) })
    }
}

/// A source that answers with records it was given, whatever is asked.
struct Canned(Vec<Candidate>);

impl CandidateSource for Canned {
    fn endpoint(&self) -> &str {
        ENDPOINT
    }
    fn candidates<'a>(&'a self, _: &'a CandidateQuery) -> LocalBoxFuture<'a, Result<Vec<Candidate>>> {
        let r = self.0.clone();
        Box::pin(async move { Ok(r) })
    }
}

#[test]
fn a_failing_or_garbled_engine_falls_back_with_a_typed_reason() {
    let f = fixture();
    let cases: Vec<(Rc<dyn CandidateSource>, &str)> = vec![
        (Rc::new(Failing(|| Error::Network("connection refused".into()))), "network_error"),
        (Rc::new(Failing(|| Error::Timeout("10 s".into()))), "timeout"),
        (Rc::new(Failing(|| Error::ResponseTooLarge("64 MiB".into()))), "response_too_large"),
    ];
    let mut good = records(f.full.catalog());
    good.truncate(20);
    let mut short = good.clone();
    short[3].vector.truncate(10);
    let mut wrong_type = good.clone();
    wrong_type[0].metadata.insert("class".into(), serde_json::json!(42));
    let mut cases = cases;
    cases.push((Rc::new(Canned(short)), "engine_error"));
    cases.push((Rc::new(Canned(wrong_type)), "engine_error"));
    for (source, code) in cases {
        let e = engine(source, PrivacyPolicy::default());
        let got = ask(&e, &f.device, query("a space adventure", 5));
        assert_eq!(got.trace.origin, "device");
        let fb = got.trace.fallback.clone().unwrap();
        assert_eq!(fb.code, code, "{fb:?}");
        // The small bundle has no text embeddings: it ranked without the query.
        assert!(fb.message.contains("without the query"), "{fb:?}");
        assert_eq!(got.items.len(), 5);
    }
    // A caller's mistake is an error, not a fallback.
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::default());
    let bad = RecommendOptions {
        filters: Filters { predicates: vec![Predicate { attribute: "nope".into(), has: Some("x".into()), ..Default::default() }], ..Default::default() },
        ..Default::default()
    };
    assert_eq!(block_on(e.recommend(&f.device, &bad)).unwrap_err().code(), "invalid_input");
}

#[test]
fn filters_go_to_the_engine_and_items_from_it_can_be_liked() {
    let f = fixture();
    let e = engine(Rc::new(f.source.clone()), PrivacyPolicy::default());
    let options = RecommendOptions {
        k: Some(10),
        query: Some("something for the whole family".into()),
        filters: Filters {
            predicates: vec![
                Predicate { attribute: "class".into(), has: Some("animation".into()), ..Default::default() },
                Predicate { attribute: "class".into(), not: Some("Musical".into()), ..Default::default() },
            ],
            ..Default::default()
        },
        ..Default::default()
    };
    let got = ask(&e, &f.device, options);
    let q = f.source.queries().pop().unwrap();
    assert_eq!(q.conditions().len(), 2, "{:?}", q.conditions());
    assert!(!got.items.is_empty());
    for r in &got.items {
        let v = format!("{:?}", r.item.values);
        assert!(v.contains("\"Animation\"") && !v.contains("\"Musical\""), "{v}");
    }
    // An item from the engine's answer can be liked; it is not shown again.
    let id = got.items[0].recommendation.id.clone();
    like(&f.device, &id, 1.0);
    let next = ask(&e, &f.device, query("something for the whole family", 10));
    assert!(next.items.iter().all(|r| r.recommendation.id != id));
    assert!(f.device.borrow().engine_items().get(&id).is_some());
}

#[test]
fn the_small_bundle_is_bounded_and_keeps_the_model_for_what_it_keeps() {
    let full = common::ml100k_text_recommender();
    let catalog = full.catalog();
    let small = catalog.small(100).unwrap();
    assert_eq!(small.len(), 100);
    assert!(small.text_embeddings().is_none());
    let model = small.sequence_model().expect("the sequence model is kept");
    assert_eq!(model.items(), 100);
    // The most popular items, each with its own model rows.
    let least_kept = small.popularity().iter().copied().fold(f32::INFINITY, f32::min);
    let above = catalog.popularity().iter().filter(|&&p| p > least_kept).count();
    assert!(above < 100, "{above} items more popular than the least popular kept");
    let big = catalog.sequence_model().unwrap();
    for i in [0u32, 50, 99] {
        let id = small.item(i).unwrap().id().to_string();
        let j = catalog.index_of(&id).unwrap() as usize;
        let (a, b) = (model.output.row(i as usize).unwrap(), big.output.row(j).unwrap());
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6));
        assert_eq!(model.bias[i as usize], big.bias[j]);
    }
    assert!(small.to_bundle().unwrap().len() * 10 < catalog.to_bundle().unwrap().len());
}
