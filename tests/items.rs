//! Items added at run time (with photos) on the real ML-100K catalog, MiniLM
//! and MobileNetV2: text and photo search, filters, ranking beyond the
//! sequence model, explanations, removal, errors, and persistence through
//! the memory store (restore, export/import, forget everything).

mod common;

use std::io::Cursor;
use std::rc::Rc;

use futures::executor::block_on;
use recagent_core::memory::StoredItem;
use recagent_core::encoder::DecodeLimits;
use recagent_core::platform::{KvStore, ManualClock, MemoryKvStore, NativeImageDecoder};
use recagent_core::recommender::items::NewItem;
use recagent_core::recommender::Photo;
use recagent_core::{Catalog, ImageEncoder, Memory, Observation, RecommendOptions, Recommender};
use serde_json::json;

const T0: f64 = 1_750_000_000_000.0;

fn text_recommender() -> Recommender {
    common::ml100k_text_recommender()
}

fn with_image(mut rec: Recommender) -> Recommender {
    let bytes = common::asset("mobilenetv2-embedding.onnx");
    rec.set_image_encoder(ImageEncoder::from_bytes(&bytes, Default::default()).unwrap(), &bytes);
    rec
}

fn photo_bytes(name: &str) -> Vec<u8> {
    std::fs::read(common::image_dir().join(name)).unwrap()
}

/// Photo bytes checked and decoded as every host does, through the
/// [`ImageDecoder`] platform trait (natively, the `image` crate).
fn decoded(bytes: Vec<u8>) -> recagent_core::Result<Photo> {
    block_on(Photo::decode(&NativeImageDecoder, bytes, DecodeLimits::default()))
}

fn photo(name: &str) -> Photo {
    decoded(photo_bytes(name)).unwrap()
}

/// Another photo of the same cat: mirrored, cropped to the left 70 % and
/// saved again as PNG (the fixtures hold one photo per subject).
fn other_cat_photo() -> Photo {
    let img = image::load_from_memory(&photo_bytes("chelsea.png")).unwrap();
    let (w, h) = (img.width(), img.height());
    let img = img.fliph().crop_imm(0, h / 10, w * 7 / 10, h * 8 / 10);
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    decoded(out.into_inner()).unwrap()
}

fn new_item(v: serde_json::Value) -> NewItem {
    serde_json::from_value(v).unwrap()
}

fn options(v: serde_json::Value) -> RecommendOptions {
    serde_json::from_value(v).unwrap()
}

fn observe(rec: &mut Recommender, v: serde_json::Value) {
    let o: Observation = serde_json::from_value(v).unwrap();
    rec.observe(o, T0).unwrap();
}

fn ids(list: &[recagent_core::Recommendation]) -> Vec<&str> {
    list.iter().map(|r| r.id.as_str()).collect()
}

/// Three added items: a cat (photo), an espresso (photo), a book (no photo).
fn with_three_items(rec: &mut Recommender) -> Vec<StoredItem> {
    vec![
        rec.add_item(
            new_item(json!({"id": "mine-cat", "title": "Chelsea the tabby cat",
                            "text": "My cat sleeping on the sofa",
                            "attributes": {"class": ["Comedy"], "release_year": 2024}})),
            Some(&photo("chelsea.png")),
            T0,
        )
        .unwrap(),
        rec.add_item(
            new_item(json!({"id": "mine-espresso", "title": "My espresso", "attributes": {"class": "Documentary"}})),
            Some(&photo("coffee.png")),
            T0,
        )
        .unwrap(),
        rec.add_item(
            new_item(json!({"id": "mine-book", "title": "A cookbook of Sicilian pasta", "attributes": {"release_year": 2021}})),
            None,
            T0,
        )
        .unwrap(),
    ]
}

#[test]
fn added_items_are_found_by_text_and_by_photo_and_filtered() {
    let mut rec = with_image(text_recommender());
    let base = rec.catalog().len();
    let stored = with_three_items(&mut rec);
    assert_eq!(rec.catalog().len(), base + 3);
    assert_eq!(rec.catalog().bundle_len(), base);
    assert_eq!(stored[0].text, "Chelsea the tabby cat. My cat sleeping on the sofa. Genres: Comedy. Year: 2024");
    assert_eq!(stored[0].photo_type.as_deref(), Some("image/png"));
    assert!(stored[2].image_embedding.is_none());

    // By text, among the 1,682 films.
    let list = rec.recommend(&options(json!({"k": 5, "query": "tabby cat sleeping on a sofa"}))).unwrap();
    eprintln!("text search: {:?}", ids(&list));
    assert_eq!(list[0].id, "mine-cat", "{:?}", ids(&list));
    // Request words found in the item's own text, not in its title ("tabby" only echoes the title).
    assert!(list[0].explanation.query_terms.contains(&"sofa".to_string()), "{:?}", list[0].explanation.query_terms);
    assert!(!list[0].explanation.query_terms.contains(&"tabby".to_string()), "{:?}", list[0].explanation.query_terms);
    let list = rec.recommend(&options(json!({"k": 3, "query": "Sicilian pasta cookbook"}))).unwrap();
    assert_eq!(list[0].id, "mine-book");

    // By the same photo: top 1, similarity 1; only items with a photo come back.
    let list = rec.search_by_photo(&photo("chelsea.png"), &options(json!({"k": 10}))).unwrap();
    assert_eq!(ids(&list), vec!["mine-cat", "mine-espresso"]);
    let sim = list[0].explanation.photo_similarity.unwrap();
    assert!((sim - 1.0).abs() < 1e-4, "{sim}");
    assert_eq!(list[0].explanation.summary, "Looks like your photo (100 % similar)");
    assert!(list[0].explanation.signals.photo > list[1].explanation.signals.photo);
    // By another photo of the same cat.
    let list = rec.search_by_photo(&other_cat_photo(), &options(json!({"k": 1}))).unwrap();
    let sim = list[0].explanation.photo_similarity.unwrap();
    eprintln!("other cat photo: {} similarity {sim:.3}", list[0].id);
    assert_eq!(list[0].id, "mine-cat");
    assert!(sim < 0.999, "a different photo: {sim}");
    let list = rec.search_by_photo(&photo("coffee.png"), &options(json!({"k": 1}))).unwrap();
    assert_eq!(list[0].id, "mine-espresso");

    // Filters apply to added items like to any item.
    let horror = json!({"where": [{"attribute": "class", "has": "Horror"}]});
    assert!(rec.search_by_photo(&photo("chelsea.png"), &options(json!({"filters": horror}))).unwrap().is_empty());
    let recent = json!({"where": [{"attribute": "release_year", "min": 2000}]});
    let list = rec.recommend(&options(json!({"k": 10, "filters": recent}))).unwrap();
    let mut got = ids(&list);
    got.sort();
    assert_eq!(got, vec!["mine-book", "mine-cat"]);
    let list = rec
        .search_by_photo(&photo("chelsea.png"), &options(json!({"filters": {"excludeIds": ["mine-cat"]}})))
        .unwrap();
    assert_eq!(ids(&list), vec!["mine-espresso"]);
    // The title words fill the title-like attribute (ML-100K's `movie_title`).
    let i = rec.catalog().index_of("mine-cat").unwrap();
    assert!(rec.catalog().has_photo(i) && rec.catalog().is_added(i));
    assert!(matches!(rec.catalog().value(i, "movie_title"), Some(recagent_core::catalog::ValueRef::Tags(t)) if t.len() == 4));
    // Statements exclude them too: "no documentaries".
    observe(&mut rec, json!({"type": "statement", "text": "no documentary"}));
    let list = rec.search_by_photo(&photo("coffee.png"), &options(json!({}))).unwrap();
    assert_eq!(ids(&list), vec!["mine-cat"]);
}

#[test]
fn ranking_explanations_and_diversity_work_beyond_the_sequence_model() {
    let mut rec = text_recommender();
    let covered = rec.catalog().sequence_model().unwrap().items();
    assert_eq!(covered, rec.catalog().len());
    for (id, title) in [
        ("space-1", "Starship voyage to Mars: a space adventure"),
        ("space-2", "Space adventure on a starship to Jupiter"),
        ("space-3", "Astronauts on a space station, a science fiction adventure"),
    ] {
        rec.add_item(new_item(json!({"id": id, "title": title, "attributes": {"class": ["Sci-Fi", "Adventure"]}})), None, T0)
            .unwrap();
    }
    // A history of only added items: the sequence model has nothing to pool.
    observe(&mut rec, json!({"item": "space-1", "type": "like", "time": T0}));
    let list = rec.recommend(&options(json!({"k": 10}))).unwrap();
    eprintln!("after liking an added item: {:?}", ids(&list));
    let near = list.iter().find(|r| r.id == "space-2").expect("the similar added item is recommended");
    assert!(near.explanation.signals.history > 0.0);
    assert_eq!(near.explanation.because[0].id, "space-1", "{:?}", near.explanation);
    assert!(near.explanation.summary.contains("Starship voyage"), "{}", near.explanation.summary);

    // With film history too (sequence model for the films, interests for added rows).
    for (i, id) in ["50", "172", "181", "222", "271"].iter().enumerate() {
        observe(&mut rec, json!({"item": id, "type": "like", "time": T0 + 1000.0 * (i as f64 + 1.0)}));
    }
    observe(&mut rec, json!({"item": "space-3", "type": "rating", "value": 5, "time": T0 + 9000.0}));
    let list = rec.recommend(&options(json!({"k": 1000, "diversity": 0.5, "explore": 0.3, "seed": 7}))).unwrap();
    assert!(list.iter().all(|r| r.score.is_finite()));
    let added = list.iter().find(|r| r.id == "space-2").expect("added item ranked among 1000");
    assert!(added.explanation.signals.history.is_finite() && added.explanation.signals.history != 0.0);
    let seen: Vec<&str> = ids(&list);
    assert!(!seen.contains(&"space-1") && !seen.contains(&"space-3"), "seen items left out");
    // A dislike of an added item pushes it (and its neighbours) down.
    // (All Sci-Fi items, so the disliked one is in both lists.)
    let search = json!({"k": 1000, "query": "starship space adventure",
                        "filters": {"includeSeen": true, "where": [{"attribute": "class", "has": "Sci-Fi"}]}});
    let before = rec.recommend(&options(search.clone())).unwrap();
    observe(&mut rec, json!({"item": "space-2", "type": "dislike", "time": T0 + 10_000.0}));
    let after = rec.recommend(&options(search)).unwrap();
    let pen = |l: &[recagent_core::Recommendation], id: &str| l.iter().find(|r| r.id == id).map(|r| r.explanation.signals.penalty);
    assert!(pen(&after, "space-2").unwrap() > pen(&before, "space-2").unwrap() + 1.0);
    assert!(pen(&after, "space-1").unwrap() > pen(&before, "space-1").unwrap(), "its neighbour too");
    // The profile snapshot keeps events on added items.
    let snap = rec.profile().snapshot().unwrap();
    assert!(recagent_core::UserProfile::restore(&snap).unwrap().seen().any(|id| id == "space-1"));
}

#[test]
fn errors_are_typed_and_add_nothing() {
    let mut rec = text_recommender();
    let n = rec.catalog().len();
    let code = |r: recagent_core::Result<StoredItem>| r.unwrap_err().code();
    let cat = photo("chelsea.png");
    // A photo without the image model; search by photo without it.
    assert_eq!(code(rec.add_item(new_item(json!({"id": "x", "title": "X"})), Some(&cat), T0)), "invalid_input");
    assert_eq!(rec.search_by_photo(&cat, &RecommendOptions::default()).unwrap_err().code(), "invalid_input");
    let mut rec = with_image(rec);
    assert_eq!(code(rec.add_item(new_item(json!({"id": "1", "title": "Dup of Toy Story"})), None, T0)), "invalid_input");
    assert_eq!(code(rec.add_item(new_item(json!({"id": "", "title": "X"})), None, T0)), "invalid_input");
    assert_eq!(code(rec.add_item(new_item(json!({"id": "a\u{0}b", "title": "X"})), None, T0)), "invalid_input");
    assert_eq!(code(rec.add_item(new_item(json!({"id": "x", "title": "  "})), None, T0)), "invalid_input");
    let unknown = json!({"id": "x", "title": "X", "attributes": {"colour": "red"}});
    assert_eq!(code(rec.add_item(new_item(unknown), None, T0)), "invalid_input");
    for wrong in [json!({"release_year": ["1999", "2000"]}), json!({"class": 5}), json!({"class": [1, 2]})] {
        let item = json!({"id": "x", "title": "X", "attributes": wrong});
        assert_eq!(code(rec.add_item(new_item(item), None, T0)), "invalid_input", "{wrong}");
    }
    // Bad photo bytes never reach the recommender: decoding refuses them,
    // from the header when it can (before any decoder allocates).
    let bytes = photo_bytes("chelsea.png");
    let garbage = b"\x89PNG\r\n\x1a\nnot really a png".to_vec();
    let mut huge = bytes[..24].to_vec();
    huge[16..24].copy_from_slice(&[0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10]); // 10000x10000
    let too_many = vec![0xFF; (32 << 20) + 1];
    for (bytes, expected) in [
        (garbage, "invalid_image"),
        (b"GIF89a".to_vec(), "invalid_image"),
        (bytes[..bytes.len() / 2].to_vec(), "invalid_image"),
        (huge, "image_too_large"),
        (too_many, "invalid_input"),
    ] {
        assert_eq!(decoded(bytes.clone()).unwrap_err().code(), expected);
        assert_eq!(Photo::decode_native(bytes, DecodeLimits::default()).unwrap_err().code(), expected);
    }
    assert_eq!(rec.catalog().len(), n, "nothing was added");
    // Now a valid one, then the same id again.
    rec.add_item(new_item(json!({"id": "x", "title": "X"})), Some(&cat), T0).unwrap();
    assert_eq!(code(rec.add_item(new_item(json!({"id": "x", "title": "Y"})), None, T0)), "invalid_input");
    // Bundle items cannot be removed; unknown ids are simply not there.
    assert_eq!(rec.remove_item("1").unwrap_err().code(), "invalid_input");
    assert!(!rec.remove_item("nope").unwrap());
    // Without a text model nothing can be added (no embedding for it).
    let catalog = Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).unwrap();
    let mut bare = Recommender::new(catalog, None).unwrap();
    assert_eq!(code(bare.add_item(new_item(json!({"id": "x", "title": "X"})), None, T0)), "invalid_input");
    // A catalog with added items is not written as a bundle.
    assert_eq!(recagent_core::catalog::bundle::encode(rec.catalog()).unwrap_err().code(), "invalid_input");
}

#[test]
fn removing_keeps_the_other_rows_consistent() {
    let mut rec = with_image(text_recommender());
    with_three_items(&mut rec);
    let base = rec.catalog().bundle_len();
    assert!(rec.remove_item("mine-cat").unwrap());
    assert!(!rec.remove_item("mine-cat").unwrap());
    assert_eq!(rec.catalog().len(), base + 2);
    assert_eq!(rec.catalog().index_of("mine-espresso"), Some(base as u32));
    assert_eq!(rec.catalog().text_embeddings().unwrap().rows(), base + 2);
    let list = rec.search_by_photo(&photo("coffee.png"), &options(json!({}))).unwrap();
    assert_eq!(ids(&list), vec!["mine-espresso"]);
    assert!((list[0].explanation.photo_similarity.unwrap() - 1.0).abs() < 1e-4);
    let list = rec.recommend(&options(json!({"k": 1, "query": "Sicilian pasta cookbook"}))).unwrap();
    assert_eq!(list[0].id, "mine-book");
    assert_eq!(rec.clear_added_items(), 2);
    assert_eq!(rec.catalog().len(), base);
    assert!(rec.search_by_photo(&photo("coffee.png"), &options(json!({}))).unwrap().is_empty());
}

fn memory() -> Memory {
    let store: Rc<dyn KvStore> = Rc::new(MemoryKvStore::new());
    block_on(Memory::open(store, Rc::new(ManualClock::at(T0)))).unwrap()
}

/// What `create` does: every stored item back into a fresh recommender.
fn restore_all(rec: &mut Recommender, memory: &Memory) {
    for item in block_on(memory.items()).unwrap() {
        let photo = if rec.restore_needs_photo(&item) { block_on(memory.item_photo(&item.id)).unwrap() } else { None };
        rec.restore_item(&item, photo.map(|b| decoded(b).unwrap()).as_ref()).unwrap();
    }
}

#[test]
fn stored_items_come_back_export_import_and_forget_everything() {
    let mut rec = with_image(text_recommender());
    let stored = with_three_items(&mut rec);
    let mem = memory();
    for (s, name) in stored.iter().zip([Some("chelsea.png"), Some("coffee.png"), None]) {
        block_on(mem.put_item(s, name.map(photo_bytes).as_deref())).unwrap();
    }
    assert_eq!(block_on(mem.item_photo("mine-cat")).unwrap(), Some(photo_bytes("chelsea.png")));
    assert_eq!(block_on(mem.items()).unwrap(), {
        let mut s = stored.clone();
        s.sort_by(|a, b| a.id.cmp(&b.id));
        s
    });

    // A new recommender without any model: the stored embeddings suffice.
    let catalog = Catalog::from_bundle(&common::asset("catalog/ml-100k.rcat")).unwrap();
    let mut bare = Recommender::new(catalog, None).unwrap();
    restore_all(&mut bare, &mem);
    assert_eq!(bare.catalog().added_items().len(), 3);
    let recent = json!({"where": [{"attribute": "release_year", "min": 2000}]});
    assert_eq!(bare.recommend(&options(json!({"filters": recent}))).unwrap().len(), 2);
    // With the models: search by the same photo finds it first, as before.
    let mut again = with_image(text_recommender());
    restore_all(&mut again, &mem);
    let list = again.search_by_photo(&photo("chelsea.png"), &options(json!({"k": 1}))).unwrap();
    assert_eq!(list[0].id, "mine-cat");
    assert!((list[0].explanation.photo_similarity.unwrap() - 1.0).abs() < 1e-4);
    assert_eq!(again.restore_item(&stored[0], None).unwrap_err().code(), "invalid_input", "already there");

    // Embedded by other models: the text is embedded again, the photo too (bytes from the store).
    let mut other = stored[0].clone();
    other.text_model = None;
    other.text_embedding = recagent_core::memory::encode_f32(&[0.5; 384]);
    other.image_model = Some(recagent_core::catalog::ModelFingerprint { bytes: 1, crc32: 2 });
    other.image_embedding = Some(recagent_core::memory::encode_f32(&[1.0; 1280]));
    let mut fresh = with_image(text_recommender());
    assert!(fresh.restore_needs_photo(&other));
    fresh.restore_item(&other, Some(&photo("chelsea.png"))).unwrap();
    let list = fresh.recommend(&options(json!({"k": 1, "query": "tabby cat sleeping on a sofa"}))).unwrap();
    assert_eq!(list[0].id, "mine-cat");
    let list = fresh.search_by_photo(&photo("chelsea.png"), &options(json!({"k": 1}))).unwrap();
    assert!((list[0].explanation.photo_similarity.unwrap() - 1.0).abs() < 1e-4);

    // Export carries the items with their photos; import restores them elsewhere.
    let doc = block_on(mem.export()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let items = value["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let cat = items.iter().find(|i| i["id"] == "mine-cat").unwrap();
    assert!(cat["photo"].as_str().unwrap().len() > 1000 && cat["imageEmbedding"].is_string());
    let copy = memory();
    block_on(copy.import(&doc)).unwrap();
    assert_eq!(block_on(copy.items()).unwrap().len(), 3);
    assert_eq!(block_on(copy.item_photo("mine-espresso")).unwrap(), Some(photo_bytes("coffee.png")));
    let mut bad = value.clone();
    bad["items"][0]["textEmbedding"] = json!("%%%");
    assert_eq!(block_on(copy.import(&bad.to_string())).unwrap_err().code(), "invalid_input");
    assert_eq!(block_on(copy.items()).unwrap().len(), 3, "a bad document changes nothing");

    // Deleting one, then forgetting everything: nothing is left.
    assert!(block_on(mem.delete_item("mine-espresso")).unwrap());
    assert!(!block_on(mem.delete_item("mine-espresso")).unwrap());
    assert_eq!(block_on(mem.item_photo("mine-espresso")).unwrap(), None);
    assert_eq!(block_on(mem.items()).unwrap().len(), 2);
    block_on(mem.forget_everything()).unwrap();
    assert!(block_on(mem.items()).unwrap().is_empty());
    assert!(block_on(mem.store().scan_prefix("")).unwrap().is_empty());
}

mod agent_fakes;

/// The user's own items are personal data: under the default policy
/// (`public_items`) no request carries them — not from `search_catalog`,
/// `get_item` or `explain`, not from the device's earlier answer in the
/// conversation; at `full_memory` they are sent (the check can fail).
#[test]
fn the_agent_never_sends_added_items_as_public_items() {
    use agent_fakes::{calls, text, ScriptedModel};
    use recagent_core::agent::{builtin_tools, Agent, AskOptions, LocalTools, PrivacyPolicy};
    use std::cell::RefCell;

    let canary = "Quokkaberry";
    let run = |policy: serde_json::Value| -> Vec<String> {
        let mut rec = text_recommender();
        rec.add_item(
            new_item(json!({"id": "mine-cat", "title": format!("{canary} the tabby cat"), "text": "asleep on the sofa"})),
            None,
            T0,
        )
        .unwrap();
        let rec = Rc::new(RefCell::new(rec));
        let (model, log) = ScriptedModel::new(vec![
            Ok(calls(&[("search_catalog", json!({"query": "tabby cat asleep on a sofa"}))])),
            Ok(calls(&[("get_item", json!({"id": "mine-cat"})), ("explain", json!({"item": "mine-cat"}))])),
            Ok(text("Here you go.")),
            Ok(text("Anything else?")),
        ]);
        let policy: PrivacyPolicy = serde_json::from_value(policy).unwrap();
        let host = Rc::new(LocalTools::new(rec.clone(), None));
        let agent = Agent::new(Some(model), Some("http://127.0.0.1:8080".into()), host, builtin_tools(), policy, Rc::new(ManualClock::at(T0)));
        // 1. the device answers (autonomy 0), naming the cat; 2. planning with tools; 3. a follow-up.
        let first = block_on(agent.ask("tabby cat asleep on a sofa", AskOptions { autonomy: 0, ..Default::default() })).unwrap();
        assert_eq!(first.items[0].id, "mine-cat");
        assert!(first.answer.contains(canary), "{}", first.answer);
        let planning = || AskOptions { autonomy: 2, ..Default::default() };
        block_on(agent.ask("something like my cat", planning())).unwrap();
        block_on(agent.ask("thanks", planning())).unwrap();
        let sent = log.0.borrow().clone();
        assert_eq!(sent.len(), 4, "every scripted reply was asked for");
        sent
    };
    let sent = run(json!({"share": "public_items"}));
    for (i, body) in sent.iter().enumerate() {
        assert!(!body.contains(canary), "request {i} carries the user's item: {body}");
    }
    assert!(sent[1].contains("withheld"), "{}", sent[1]);
    let sent = run(json!({"share": "full_memory"}));
    assert!(sent.iter().skip(1).all(|b| b.contains(canary)), "at full_memory the item is shared");
}
