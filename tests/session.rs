//! The one start-up path (`recagent_core::session::Session`) on the real
//! ML-100K catalog and MiniLM: what a second start over the same store
//! restores (profile, added items in order), that memory embeds with the
//! recommender's own encoder, resync after import and forget-everything, and
//! what happens when the store cannot be opened or holds a corrupt profile.

mod common;

use std::rc::Rc;

use futures::executor::block_on;
use recagent_core::encoder::{DecodeLimits, RgbImage};
use recagent_core::platform::{ImageDecoder, KvStore, LocalBoxFuture, ManualClock, MemoryKvStore, NativeImageDecoder};
use recagent_core::recommender::Photo;
use recagent_core::recommender::items::NewItem;
use recagent_core::session::{Session, StartReport, StoreFallback};
use recagent_core::{ImageEncoder, Observation, RecommendOptions, Recommender};
use serde_json::json;

const T0: f64 = 1_750_000_000_000.0;

fn text_recommender() -> Recommender {
    common::ml100k_text_recommender()
}

fn start(store: &MemoryKvStore, fallback: StoreFallback) -> recagent_core::Result<(Session, StartReport)> {
    let store: Rc<dyn KvStore> = Rc::new(store.clone());
    block_on(Session::start(text_recommender(), store, Rc::new(ManualClock::at(T0)), Rc::new(NativeImageDecoder), fallback))
}

/// Adds an item to the live catalog and stores it, as the binding's `addItem` does.
fn add(session: &Session, id: &str, title: &str, now: f64) {
    let new: NewItem = serde_json::from_value(json!({"id": id, "title": title, "attributes": {"class": ["Comedy"]}})).unwrap();
    let stored = session.recommender().borrow_mut().add_item(new, None, now).unwrap();
    block_on(session.memory().put_item(&stored, None)).unwrap();
}

fn added_ids(session: &Session) -> Vec<String> {
    session.recommender().borrow().catalog().added_items().map(|i| i.id().to_string()).collect()
}

fn top(session: &Session) -> Vec<String> {
    let options: RecommendOptions = serde_json::from_value(json!({"k": 10})).unwrap();
    session.recommender().borrow().recommend(&options).unwrap().into_iter().map(|r| r.id).collect()
}

#[test]
fn a_second_start_restores_the_profile_and_the_added_items_in_order() {
    let store = MemoryKvStore::new();
    let (first, report) = start(&store, StoreFallback::Fail).unwrap();
    assert_eq!(report, StartReport::default(), "an empty store restores nothing and warns of nothing");
    // Added out of id order: restore must follow the time they were added.
    add(&first, "mine-zebra", "A zebra documentary of my own", T0);
    add(&first, "mine-apple", "Apple orchard home video", T0 + 1000.0);
    for item in ["1", "50", "181"] {
        let o: Observation = serde_json::from_value(json!({"item": item, "type": "like"})).unwrap();
        first.recommender().borrow_mut().observe(o, T0).unwrap();
    }
    block_on(first.save_profile().unwrap()).unwrap();
    let before = top(&first);

    let (second, report) = start(&store, StoreFallback::Fail).unwrap();
    assert!(report.restored_profile, "{report:?}");
    assert_eq!(report.restored_items, 2);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(added_ids(&second), ["mine-zebra", "mine-apple"]);
    assert_eq!(top(&second), before, "the restored profile ranks as the saved one did");
}

#[test]
fn memory_embeds_with_the_recommenders_own_encoder() {
    let (session, _) = start(&MemoryKvStore::new(), StoreFallback::Fail).unwrap();
    let encoder = session.recommender().borrow().shared_text_encoder().unwrap();
    // The recommender's handle, memory's embedder, and this one: one model.
    assert_eq!(Rc::strong_count(&encoder), 3);
    assert!(session.has_text());
    block_on(session.memory().remember("I never watch horror films")).unwrap();
    block_on(session.memory().remember("My sister lives in Lisbon")).unwrap();
    let found = block_on(session.memory().recall("scary movies", 1)).unwrap();
    assert_eq!(found[0].fact.text, "I never watch horror films");
}

#[test]
fn import_and_forget_everything_make_the_live_catalog_match_the_store() {
    let (session, _) = start(&MemoryKvStore::new(), StoreFallback::Fail).unwrap();
    add(&session, "mine-1", "My first home video", T0);
    add(&session, "mine-2", "My second home video", T0 + 1.0);
    let doc = block_on(session.memory().export()).unwrap();

    let (deleted, warnings) = block_on(session.forget_everything()).unwrap();
    assert!(deleted >= 2 && warnings.is_empty(), "{deleted} {warnings:?}");
    assert!(added_ids(&session).is_empty(), "forgotten items leave the live catalog");

    let ((_, _), warnings) = block_on(session.import(&doc)).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(added_ids(&session), ["mine-1", "mine-2"], "imported items join the live catalog");
}

#[test]
fn a_store_that_cannot_be_opened_fails_or_falls_back_as_the_host_chose() {
    // A store written by a newer schema is refused by Memory::open.
    let store = MemoryKvStore::new();
    block_on(store.put("meta/schema", br#"{"version": 99}"#.to_vec())).unwrap();
    let err = start(&store, StoreFallback::Fail).unwrap_err();
    assert_eq!(err.code(), "storage_error");

    let (session, report) = start(&store, StoreFallback::InMemory).unwrap();
    assert!(report.store_fallback.as_deref().is_some_and(|r| r.contains("newer")), "{report:?}");
    add(&session, "mine-1", "Kept in memory only", T0);
    assert_eq!(
        block_on(store.get("meta/schema")).unwrap().as_deref(),
        Some(&br#"{"version": 99}"#[..]),
        "the refused store is left untouched"
    );
    assert!(block_on(store.scan_prefix("item/")).unwrap().is_empty());
}

#[test]
fn a_corrupt_profile_is_reported_and_the_session_still_starts() {
    let store = MemoryKvStore::new();
    {
        let (session, _) = start(&store, StoreFallback::Fail).unwrap();
        add(&session, "mine-1", "Still restored", T0);
        // Memory::save_profile refuses such bytes: this is what a damaged
        // store (or another program) leaves under the profile key.
        block_on(store.put("profile/snapshot", b"not a profile".to_vec())).unwrap();
    }
    let (session, report) = start(&store, StoreFallback::Fail).unwrap();
    assert!(!report.restored_profile);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("profile"), "{:?}", report.warnings);
    assert_eq!(report.restored_items, 1, "a bad profile does not stop the items");
    assert_eq!(added_ids(&session), ["mine-1"]);
}

/// A session over a 60-item small bundle of ML-100K (no embeddings, the
/// sequence model for its items), as a catalog held by an engine has.
fn start_small(store: &MemoryKvStore) -> (Session, StartReport) {
    let small = text_recommender().catalog().small(60).unwrap();
    let store: Rc<dyn KvStore> = Rc::new(store.clone());
    block_on(Session::start(Recommender::new(small, None).unwrap(), store, Rc::new(ManualClock::at(T0)), Rc::new(NativeImageDecoder), StoreFallback::Fail)).unwrap()
}

#[test]
fn the_engine_records_of_the_history_come_back_with_the_profile() {
    use recagent_core::catalog::engine_record::{from_record, to_record};
    use recagent_core::catalog::WorkingItem;
    let full = text_recommender();
    let catalog = full.catalog();
    let model = catalog.sequence_model().unwrap();
    let store = MemoryKvStore::new();
    let (first, _) = start_small(&store);
    let small_holds = |i: usize| first.recommender().borrow().catalog().index_of(catalog.item(i as u32).unwrap().id()).is_some();
    // Three items the bundle holds, three it does not: the engine's records
    // of these (text vector and rows of the model) are all the device has.
    let inside: Vec<usize> = (0..model.items()).filter(|&i| small_holds(i)).take(3).collect();
    let outside: Vec<usize> = (0..model.items()).filter(|&i| !small_holds(i)).step_by(50).take(3).collect();
    let text = catalog.text_embeddings().unwrap();
    let records: Vec<WorkingItem> = outside
        .iter()
        .map(|&i| {
            let record = to_record(catalog.attributes(), &catalog.item(i as u32).unwrap(), catalog.popularity()[i], text.row(i).unwrap());
            let (item, popularity) = from_record(catalog.attributes(), &record).unwrap();
            let mut rows = model.output.row(i).unwrap();
            rows.push(model.bias[i]);
            rows.extend(model.input.row(i).unwrap());
            WorkingItem { item, vector: record.vector, popularity, sequence: Some(rows) }
        })
        .collect();
    first.recommender().borrow_mut().remember_engine_items(records);
    for (n, &i) in inside.iter().zip(&outside).flat_map(|(a, b)| [a, b]).enumerate() {
        let o: Observation = serde_json::from_value(json!({"item": catalog.item(i as u32).unwrap().id(), "type": "like"})).unwrap();
        first.recommender().borrow_mut().observe(o, T0 + n as f64).unwrap();
    }
    let want = first.recommender().borrow().profile_sequence_vector().unwrap();
    let taste = first.recommender().borrow().profile_vector().unwrap();
    block_on(first.save_profile().unwrap()).unwrap();

    let (second, report) = start_small(&store);
    assert!(report.restored_profile && report.warnings.is_empty(), "{report:?}");
    assert_eq!(report.restored_engine_records, 3);
    let rec = second.recommender().borrow();
    assert_eq!(rec.profile_sequence_vector().unwrap(), want, "the same user vector after a reload");
    assert_eq!(rec.profile_vector().unwrap(), taste, "and the same text-space taste");
    assert!(outside.iter().all(|&i| rec.knows_item(catalog.item(i as u32).unwrap().id())));
    drop(rec);

    // Without them the reload would lose the outside items.
    let (bare, _) = start_small(&MemoryKvStore::new());
    bare.recommender().borrow_mut().set_profile(second.recommender().borrow().profile().clone());
    assert_ne!(bare.recommender().borrow().profile_sequence_vector().unwrap(), want);

    // Damaged records are reported and set aside; the profile still comes back.
    block_on(store.put("profile/engine_records", b"[{\"item\": 3}]".to_vec())).unwrap();
    let (third, report) = start_small(&store);
    assert!(report.restored_profile);
    assert_eq!(report.restored_engine_records, 0);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("engine records"), "{:?}", report.warnings);
    assert!(block_on(store.get("profile/engine_records")).unwrap().is_none(), "set aside");
    assert!(third.recommender().borrow().engine_items().is_empty());
}

/// An [`ImageDecoder`] that counts its calls and decodes natively, or
/// refuses everything.
struct CountingDecoder {
    calls: std::cell::Cell<usize>,
    refuse: bool,
}

impl ImageDecoder for CountingDecoder {
    fn decode<'a>(&'a self, bytes: &'a [u8], limits: DecodeLimits) -> LocalBoxFuture<'a, recagent_core::Result<RgbImage>> {
        self.calls.set(self.calls.get() + 1);
        if self.refuse {
            return Box::pin(std::future::ready(Err(recagent_core::Error::InvalidImage("refused by the test".into()))));
        }
        NativeImageDecoder.decode(bytes, limits)
    }
}

#[test]
fn stored_photos_of_another_image_model_are_decoded_by_the_hosts_decoder() {
    let with_image = || {
        let mut rec = text_recommender();
        let model = common::asset("mobilenetv2-embedding.onnx");
        rec.set_image_encoder(ImageEncoder::from_bytes(&model, Default::default()).unwrap(), &model);
        rec
    };
    // An item stored with its photo, embedded by another image model.
    let store = MemoryKvStore::new();
    let cat = std::fs::read(common::image_dir().join("chelsea.png")).unwrap();
    {
        let (session, _) = start(&store, StoreFallback::Fail).unwrap();
        let mut rec = with_image();
        let photo = Photo::decode_native(cat.clone(), DecodeLimits::default()).unwrap();
        let new: NewItem = serde_json::from_value(json!({"id": "mine-cat", "title": "My cat"})).unwrap();
        let mut stored = rec.add_item(new, Some(&photo), T0).unwrap();
        stored.image_model = Some(recagent_core::catalog::ModelFingerprint { bytes: 1, crc32: 2 });
        block_on(session.memory().put_item(&stored, Some(&cat))).unwrap();
    }
    let start_with = |decoder: Rc<CountingDecoder>| {
        let store: Rc<dyn KvStore> = Rc::new(store.clone());
        block_on(Session::start(with_image(), store, Rc::new(ManualClock::at(T0)), decoder, StoreFallback::Fail)).unwrap()
    };

    let decoder = Rc::new(CountingDecoder { calls: 0.into(), refuse: false });
    let (session, report) = start_with(decoder.clone());
    assert_eq!((report.restored_items, decoder.calls.get()), (1, 1), "{:?}", report.warnings);
    let query = Photo::decode_native(cat, DecodeLimits::default()).unwrap();
    let list = session.recommender().borrow().search_by_photo(&query, &RecommendOptions::default()).unwrap();
    assert_eq!(list[0].id, "mine-cat");
    assert!((list[0].explanation.photo_similarity.unwrap() - 1.0).abs() < 1e-4);

    // A decoder that fails: the item is reported, not restored, and the start goes on.
    let decoder = Rc::new(CountingDecoder { calls: 0.into(), refuse: true });
    let (session, report) = start_with(decoder.clone());
    assert_eq!((report.restored_items, decoder.calls.get()), (0, 1));
    assert!(report.warnings.iter().any(|w| w.contains("mine-cat") && w.contains("refused by the test")), "{:?}", report.warnings);
    assert!(added_ids(&session).is_empty());
}
