//! An app's own records turned into catalog input
//! (`recagent_core::catalog::records`): attribute kinds inferred from the
//! values, every limit and bad value refused with the record's position,
//! interactions resolved against the items, and the build key.

use recagent_core::catalog::records::{
    build_key, items_from_records, popularity, resolve_interactions, InteractionInput, ItemInput, RecordCatalog,
    RecordError, MAX_ATTRIBUTES, MAX_ID_BYTES, MAX_TAGS, MAX_TEXT_BYTES, MAX_TITLE_BYTES,
};
use recagent_core::catalog::{AttributeDef, AttributeKind, AttributeValue};
use serde_json::{json, Value};

fn item(v: Value) -> ItemInput {
    serde_json::from_value(v).expect("a valid item record")
}

fn items(v: Vec<Value>) -> Vec<ItemInput> {
    v.into_iter().map(item).collect()
}

fn build(v: Vec<Value>) -> RecordCatalog {
    items_from_records(&items(v)).expect("the records are accepted")
}

fn refused(v: Vec<Value>) -> RecordError {
    items_from_records(&items(v)).expect_err("the records are refused")
}

fn kinds(c: &RecordCatalog) -> Vec<(&str, AttributeKind)> {
    c.attributes.iter().map(|a| (a.name.as_str(), a.kind)).collect()
}

fn value<'a>(c: &'a RecordCatalog, item: usize, name: &str) -> &'a AttributeValue {
    let a = c.attributes.iter().position(|a| a.name == name).expect("the attribute exists");
    &c.items[item].values[a]
}

#[test]
fn kinds_are_inferred_from_the_values() {
    let c = build(vec![
        json!({"id": "a", "title": "Heat", "attributes": {"year": 1995, "genre": ["crime", "drama"], "brand": "Acme", "mixed": 3, "flag": true}}),
        json!({"id": "b", "title": "Up", "attributes": {"year": 2009.5, "genre": "animation", "brand": null, "mixed": "three"}}),
        json!({"id": "c", "title": "Ran", "attributes": {"year": null}}),
    ]);
    // Name order; numbers only → number; any list → tags; else text.
    assert_eq!(
        kinds(&c),
        vec![
            ("brand", AttributeKind::Text),
            ("flag", AttributeKind::Text),
            ("genre", AttributeKind::Tags),
            ("mixed", AttributeKind::Text),
            ("year", AttributeKind::Number),
        ]
    );
    assert_eq!(value(&c, 0, "year"), &AttributeValue::Number(1995.0));
    assert_eq!(value(&c, 1, "year"), &AttributeValue::Number(2009.5));
    assert_eq!(value(&c, 2, "year"), &AttributeValue::Missing, "null is missing");
    assert_eq!(value(&c, 0, "genre"), &AttributeValue::Tags(vec!["crime".into(), "drama".into()]));
    assert_eq!(value(&c, 1, "genre"), &AttributeValue::Tags(vec!["animation".into()]), "a lone string in a tags attribute");
    assert_eq!(value(&c, 2, "genre"), &AttributeValue::Missing, "absent is missing");
    assert_eq!(value(&c, 0, "mixed"), &AttributeValue::Text("3".into()), "a number in a text attribute is its text");
    assert_eq!(value(&c, 0, "flag"), &AttributeValue::Text("true".into()));
    assert_eq!(value(&c, 1, "brand"), &AttributeValue::Missing);
    assert!(c.items.iter().all(|i| i.values.len() == c.attributes.len()));
    // Every attribute with a value is in the embedded text, after the title and description.
    assert_eq!(c.items[0].text, "Heat. Brand: Acme. Flag: true. Genres: crime, drama. Mixed: 3. Year: 1995");
    assert_eq!(c.items[2].text, "Ran");
}

#[test]
fn ids_may_be_numbers_and_text_and_image_are_kept() {
    let c = build(vec![
        json!({"id": 42, "title": "  Heat ", "text": "A heist.", "image": "heat.png"}),
        json!({"id": "43", "title": "Up", "text": "  ", "image": ""}),
    ]);
    assert_eq!(c.items[0].id, "42");
    assert_eq!(c.items[0].title, "Heat", "titles are trimmed");
    assert_eq!(c.items[0].text, "Heat. A heist.");
    assert_eq!(c.items[0].image.as_deref(), Some("heat.png"));
    assert_eq!(c.items[1].text, "Up", "a blank description adds nothing");
    assert_eq!(c.items[1].image, None, "an empty image is none");
    assert!(c.attributes.is_empty());
    // A number id and the same id as a string collide.
    let e = refused(vec![json!({"id": 7, "title": "a"}), json!({"id": "7", "title": "b"})]);
    assert_eq!(e.index, 1);
    // JavaScript numbers arrive as floats: 12.0 is the id "12", as from JSON;
    // a fraction or a float beyond 2^53 keeps its own text.
    let c = build(vec![
        json!({"id": 12.0, "title": "a"}),
        json!({"id": 1.5, "title": "b"}),
        json!({"id": 1e300, "title": "c"}),
    ]);
    assert_eq!(c.items[0].id, "12");
    assert_eq!(c.items[1].id, "1.5");
    assert_eq!(c.items[2].id, serde_json::Number::from_f64(1e300).map(|n| n.to_string()).unwrap_or_default());
    let e = refused(vec![json!({"id": 12, "title": "a"}), json!({"id": 12.0, "title": "b"})]);
    assert_eq!(e.index, 1, "12 and 12.0 are one id");
}

#[test]
fn the_embedded_text_reads_as_sentences() {
    let c = build(vec![
        json!({"id": 1, "title": "Heat", "text": "A heist in LA.", "attributes": {"year": 1995}}),
        json!({"id": 2, "title": "Why?", "text": "Wow!", "attributes": {"year": 2001}}),
        json!({"id": 3, "title": "Mr. Nobody", "text": "Choices", "attributes": {"year": 2009}}),
    ]);
    // No doubled full stop after a part that already ends a sentence.
    assert_eq!(c.items[0].text, "Heat. A heist in LA. Year: 1995");
    assert_eq!(c.items[1].text, "Why? Wow! Year: 2001");
    assert_eq!(c.items[2].text, "Mr. Nobody. Choices. Year: 2009");
}

#[test]
fn record_shapes_are_checked_when_read() {
    let bad = [
        json!({"id": "1"}),
        json!({"title": "x"}),
        json!({"id": true, "title": "x"}),
        json!({"id": [1], "title": "x"}),
        json!({"id": "1", "title": "x", "price": 3}),
        json!({"id": "1", "title": 5}),
        json!({"id": "1", "title": "x", "attributes": ["a"]}),
    ];
    for v in bad {
        assert!(serde_json::from_value::<ItemInput>(v.clone()).is_err(), "{v} was accepted");
    }
    let e = serde_json::from_value::<ItemInput>(json!({"id": null, "title": "x"})).unwrap_err();
    assert!(e.to_string().contains("expected a string or a number, found null"), "{e}");
    assert!(serde_json::from_value::<InteractionInput>(json!({"user": 1, "item": "a", "when": 3})).is_err());
    let i: InteractionInput = serde_json::from_value(json!({"user": 1, "item": 2})).unwrap();
    assert_eq!((i.user.as_str(), i.item.as_str(), i.timestamp, i.rating), ("1", "2", None, None));
}

#[test]
fn bad_records_are_refused_with_their_index() {
    let ok = |id: &str| json!({"id": id, "title": "t"});
    let e = refused(vec![ok("a"), ok("b"), ok("a")]);
    assert_eq!(e.index, 2);
    assert!(e.message.contains("\"a\"") && e.message.contains("already used by record 0"), "{}", e.message);
    let e = refused(vec![ok("a"), json!({"id": "b", "title": "t", "attributes": {"size": {"w": 1}}})]);
    assert_eq!(e.index, 1);
    assert!(e.message.contains("\"size\"") && e.message.contains("object"), "{}", e.message);
    let e = refused(vec![ok("a"), json!({"id": "b", "title": "t", "attributes": {"tags": ["x", {"y": 1}]}})]);
    assert_eq!(e.index, 1);
    assert!(e.message.contains("list"), "{}", e.message);
    let e = refused(vec![ok("a"), ok("b"), json!({"id": "c", "title": "  "})]);
    assert_eq!((e.index, e.message.as_str()), (2, "\"title\" is empty"));
    let e = refused(vec![json!({"id": " ", "title": "x"})]);
    assert_eq!((e.index, e.message.as_str()), (0, "\"id\" is empty"));
    let e = refused(vec![json!({"id": "a", "title": "x", "attributes": {" ": 1}})]);
    assert!(e.message.contains("empty name"), "{}", e.message);
    let e = items_from_records(&[]).unwrap_err();
    assert!(e.message.contains("no items"), "{}", e.message);
}

#[test]
fn sizes_are_limited() {
    let long = |n: usize| "x".repeat(n);
    let at = |v: Value| refused(vec![json!({"id": "ok", "title": "ok"}), v]);
    // Exactly at a limit is fine; one byte more is refused, at its index.
    build(vec![json!({"id": long(MAX_ID_BYTES), "title": long(MAX_TITLE_BYTES), "text": long(MAX_TEXT_BYTES)})]);
    for (v, what) in [
        (json!({"id": long(MAX_ID_BYTES + 1), "title": "t"}), "\"id\""),
        (json!({"id": "b", "title": long(MAX_TITLE_BYTES + 1)}), "\"title\""),
        (json!({"id": "b", "title": "t", "text": long(MAX_TEXT_BYTES + 1)}), "\"text\""),
        (json!({"id": "b", "title": "t", "image": long(MAX_TEXT_BYTES + 1)}), "\"image\""),
        (json!({"id": "b", "title": "t", "attributes": {"a": long(MAX_TEXT_BYTES + 1)}}), "attribute \"a\""),
        (json!({"id": "b", "title": "t", "attributes": {"a": [long(MAX_ID_BYTES + 1)]}}), "attribute \"a\""),
        (json!({"id": "b", "title": "t", "attributes": {long(MAX_ID_BYTES + 1): 1}}), "attribute"),
    ] {
        let e = at(v);
        assert_eq!(e.index, 1, "{what}");
        assert!(e.message.contains(what) && e.message.contains("allowed"), "{what}: {}", e.message);
    }
    let tags: Vec<String> = (0..=MAX_TAGS).map(|i| i.to_string()).collect();
    let e = at(json!({"id": "b", "title": "t", "attributes": {"tags": tags}}));
    assert!(e.message.contains(&format!("more than the {MAX_TAGS}")), "{}", e.message);
    let many: serde_json::Map<String, Value> = (0..=MAX_ATTRIBUTES).map(|i| (format!("a{i}"), json!(1))).collect();
    let e = at(json!({"id": "b", "title": "t", "attributes": many}));
    assert!(e.message.contains(&format!("more than the {MAX_ATTRIBUTES}")), "{}", e.message);
    // Distinct names across records are limited too: each record has one.
    let spread: Vec<Value> = (0..=MAX_ATTRIBUTES)
        .map(|i| json!({"id": i, "title": "t", "attributes": {format!("a{i}"): 1}}))
        .collect();
    let e = refused(spread);
    assert_eq!(e.index, MAX_ATTRIBUTES);
    assert!(e.message.contains("distinct attribute names"), "{}", e.message);
}

fn catalog() -> RecordCatalog {
    build(vec![
        json!({"id": "a", "title": "A"}),
        json!({"id": "b", "title": "B"}),
        json!({"id": "c", "title": "C"}),
    ])
}

fn interaction(v: Value) -> InteractionInput {
    serde_json::from_value(v).expect("a valid interaction record")
}

#[test]
fn interactions_resolve_to_item_indices_and_dense_users() {
    let c = catalog();
    let records: Vec<InteractionInput> = [
        json!({"user": "u9", "item": "b", "timestamp": 100, "rating": 4}),
        json!({"user": "u1", "item": "gone"}),
        json!({"user": "u1", "item": "a"}),
        json!({"user": 7, "item": "gone", "timestamp": 5}),
        json!({"user": "u9", "item": "b", "timestamp": 50.5}),
    ]
    .into_iter()
    .map(interaction)
    .collect();
    let r = resolve_interactions(&c.items, &records).unwrap();
    assert_eq!(r.unknown_items, 2, "unknown items are skipped and counted");
    assert_eq!(r.users, 2, "users of skipped records only are not counted");
    let got: Vec<(u32, u32, f32, f64)> = r.interactions.iter().map(|i| (i.user, i.item, i.rating, i.timestamp)).collect();
    // u9 → 0, u1 → 1 (first appearance among kept records); a missing
    // timestamp is the record's position in the input; no rating is 0.
    assert_eq!(got, vec![(0, 1, 4.0, 100.0), (1, 0, 0.0, 2.0), (0, 1, 0.0, 50.5)]);
    assert_eq!(popularity(c.items.len(), &r.interactions), vec![1.0, 2.0, 0.0]);
    assert_eq!(resolve_interactions(&c.items, &[]).unwrap().interactions.len(), 0);
}

#[test]
fn bad_interactions_are_refused_with_their_index() {
    let c = catalog();
    let ok = InteractionInput { user: "u".into(), item: "a".into(), timestamp: None, rating: None };
    let cases = [
        (InteractionInput { user: " ".into(), ..ok.clone() }, "\"user\" is empty"),
        (InteractionInput { item: String::new(), ..ok.clone() }, "\"item\" is empty"),
        (InteractionInput { user: "u".repeat(MAX_ID_BYTES + 1), ..ok.clone() }, "\"user\" is"),
        (InteractionInput { timestamp: Some(f64::NAN), ..ok.clone() }, "\"timestamp\""),
        (InteractionInput { rating: Some(f64::INFINITY), ..ok.clone() }, "\"rating\""),
    ];
    for (bad, needle) in cases {
        let e = resolve_interactions(&c.items, &[ok.clone(), ok.clone(), bad]).unwrap_err();
        assert_eq!(e.index, 2, "{needle}");
        assert!(e.message.contains(needle), "{needle}: {}", e.message);
    }
}

#[test]
fn the_build_key_covers_every_input() {
    let records = items(vec![
        json!({"id": "a", "title": "A", "attributes": {"year": 1995}}),
        json!({"id": "b", "title": "B", "text": "b", "image": "b.png"}),
    ]);
    let inter = vec![interaction(json!({"user": "u", "item": "a", "timestamp": 1}))];
    let (model, vocab) = (b"model".as_slice(), b"vocab".as_slice());
    let key = build_key(&records, &inter, &[model, vocab]).unwrap();
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(key, build_key(&records.clone(), &inter.clone(), &[b"model", b"vocab"]).unwrap(), "equal inputs, equal key");
    let mut changed: Vec<String> = Vec::new();
    let mut with = |f: &dyn Fn(&mut Vec<ItemInput>, &mut Vec<InteractionInput>)| {
        let (mut r, mut i) = (records.clone(), inter.clone());
        f(&mut r, &mut i);
        changed.push(build_key(&r, &i, &[model, vocab]).unwrap());
    };
    with(&|r, _| r[0].id = "z".into());
    with(&|r, _| r[0].title = "Z".into());
    with(&|r, _| r[1].text = Some("c".into()));
    with(&|r, _| r[1].text = None);
    with(&|r, _| r[1].image = None);
    with(&|r, _| {
        r[0].attributes.insert("year".into(), json!(1996));
    });
    with(&|r, _| {
        r[0].attributes.insert("genre".into(), json!(["x"]));
    });
    with(&|r, _| r.swap(0, 1));
    with(&|r, _| r.truncate(1));
    with(&|_, i| i[0].timestamp = Some(2.0));
    with(&|_, i| i[0].rating = Some(5.0));
    with(&|_, i| i[0].user = "v".into());
    with(&|_, i| i.clear());
    changed.push(build_key(&records, &inter, &[b"modem", vocab]).unwrap());
    changed.push(build_key(&records, &inter, &[model]).unwrap());
    changed.push(build_key(&records, &inter, &[b"mode", b"lvocab"]).unwrap());
    changed.push(build_key(&records, &inter, &[model, vocab, b""]).unwrap());
    for (n, k) in changed.iter().enumerate() {
        assert_ne!(k, &key, "change {n} kept the key");
        for (m, other) in changed.iter().enumerate().skip(n + 1) {
            assert_ne!(k, other, "changes {n} and {m} gave one key");
        }
    }
}

#[test]
fn record_catalogs_are_valid_catalog_parts() {
    let c = build(vec![
        json!({"id": "a", "title": "A", "attributes": {"year": 1995, "genre": ["x"]}}),
        json!({"id": "b", "title": "B"}),
    ]);
    let catalog = recagent_core::Catalog::new(recagent_core::catalog::CatalogParts {
        name: "records".into(),
        attributes: c.attributes.clone(),
        items: c.items.clone(),
        ..Default::default()
    })
    .expect("the records make a catalog");
    assert_eq!(catalog.len(), 2);
    assert_eq!(catalog.attributes()[0], AttributeDef { name: "genre".into(), kind: AttributeKind::Tags });
    assert_eq!(catalog.value(1, "year").map(|v| v.to_owned()), Some(AttributeValue::Missing));
}
