//! The item store gives back exactly what it was given, finds every id, and
//! keeps items in fewer bytes than owned records.

use proptest::prelude::*;

use super::*;
use crate::catalog::attributes::{describe_item, record_text};
use crate::catalog::AttributeKind;

fn defs() -> Vec<AttributeDef> {
    vec![
        AttributeDef { name: "movie_title".into(), kind: AttributeKind::Tags },
        AttributeDef { name: "class".into(), kind: AttributeKind::Tags },
        AttributeDef { name: "brand".into(), kind: AttributeKind::Text },
        AttributeDef { name: "release_year".into(), kind: AttributeKind::Number },
    ]
}

fn item(i: usize, form: usize) -> Item {
    let title = format!("Film {i} ({})", 1950 + i % 70);
    let values = vec![
        AttributeValue::Tags(title.split(' ').map(str::to_string).collect()),
        if i % 5 == 0 { AttributeValue::Missing } else { AttributeValue::Tags(vec!["Drama".into(), format!("G{}", i % 7)]) },
        if i % 3 == 0 { AttributeValue::Missing } else { AttributeValue::Text(format!("Brand {}", i % 4)) },
        if i % 11 == 0 { AttributeValue::Missing } else { AttributeValue::Number(1950.0 + (i % 70) as f64) },
    ];
    let refs = || values.iter().map(AttributeValue::as_ref);
    let text = match form {
        0 => describe_item(&defs(), &title, None, refs()),
        1 => record_text(&defs(), &title, None, refs()),
        _ => format!("{title}, a film the app describes in its own words."),
    };
    Item { id: format!("m{i}"), title, text, image: (i % 2 == 0).then(|| format!("img/{i}.jpg")), values }
}

fn store(items: &[Item]) -> ItemStore {
    let mut s = ItemStore::new(defs());
    for it in items {
        s.push(it.clone()).unwrap();
    }
    s
}

fn all(s: &ItemStore) -> Vec<Item> {
    (0..s.len() as u32).map(|i| s.item(i).unwrap().to_item()).collect()
}

#[test]
fn every_field_comes_back_as_given_whatever_the_text_form() {
    let items: Vec<Item> = (0..60).map(|i| item(i, i % 3)).collect();
    let s = store(&items);
    assert_eq!(all(&s), items);
    for (i, it) in items.iter().enumerate() {
        assert_eq!(s.index_of(&it.id), Some(i as u32));
        let r = s.item(i as u32).unwrap();
        assert_eq!((r.id(), r.title(), r.text().as_ref(), r.image()), (it.id.as_str(), it.title.as_str(), it.text.as_str(), it.image.as_deref()));
        // Only the app's own text is kept as bytes.
        assert_eq!(matches!(s.text_form(i as u32), TextForm::Stored(_)), i % 3 == 2, "item {i}");
    }
    assert_eq!(s.index_of("nope"), None);
    assert_eq!(s.index_of(""), None);
    assert!(s.item(60).is_none());
}

#[test]
fn values_a_column_cannot_hold_are_kept_as_given() {
    let mut items: Vec<Item> = (0..6).map(|i| item(i, 0)).collect();
    items[3].values[3] = AttributeValue::Text("circa 1990".into());
    items[4].values[1] = AttributeValue::Text("one genre".into());
    items[5].values[2] = AttributeValue::Tags(vec![]);
    let s = store(&items);
    assert_eq!(all(&s), items);
    let mut s = ItemStore::new(defs());
    let mut nan = item(0, 2);
    nan.values[3] = AttributeValue::Number(f64::NAN);
    s.push(nan).unwrap();
    assert!(matches!(s.value(0, 3), Some(ValueRef::Number(x)) if x.is_nan()), "NaN is not read as missing");
}

#[test]
fn removing_and_truncating_keep_the_index_right() {
    let items: Vec<Item> = (0..8).map(|i| item(i, i % 3)).collect();
    let mut s = store(&items);
    s.remove(5).unwrap();
    let mut left = items.clone();
    left.remove(5);
    assert_eq!(all(&s), left);
    assert_eq!(s.index_of("m5"), None);
    assert_eq!(s.index_of("m7"), Some(6));
    s.truncate(3);
    assert_eq!(all(&s), items[..3].to_vec());
    assert_eq!(s.index_of("m3"), None);
    // A removed id can come back.
    assert_eq!(s.push(items[7].clone()).unwrap(), 3);
    assert_eq!(s.index_of("m7"), Some(3));
    assert!(s.remove(4).is_err());
    assert_eq!(s.push(items[7].clone()).unwrap_err().code(), "invalid_input", "a repeated id");
    let mut short = item(9, 0);
    short.values.pop();
    assert_eq!(s.push(short).unwrap_err().code(), "invalid_input", "a value per attribute");
}

#[test]
fn a_dataset_shaped_item_takes_a_fraction_of_an_owned_record() {
    let n = 20_000;
    let items: Vec<Item> = (0..n).map(|i| item(i, 0)).collect();
    let owned: usize = items
        .iter()
        .map(|it| {
            let strings = it.id.capacity() + it.title.capacity() + it.text.capacity() + it.image.as_ref().map_or(0, String::capacity);
            let values: usize = it
                .values
                .iter()
                .map(|v| match v {
                    AttributeValue::Text(t) => t.capacity(),
                    AttributeValue::Tags(t) => t.iter().map(|s| s.capacity() + std::mem::size_of::<String>()).sum(),
                    _ => 0,
                })
                .sum();
            std::mem::size_of::<Item>() + strings + it.values.capacity() * std::mem::size_of::<AttributeValue>() + values
        })
        .sum();
    let mut s = store(&items);
    s.shrink_to_fit();
    let compact = s.memory_bytes();
    // Heap headers are not even counted on the owned side.
    assert!(compact * 3 < owned, "{compact} B compact vs {owned} B owned for {n} items");
}

fn value_strategy() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        Just(AttributeValue::Missing),
        any::<f64>().prop_map(AttributeValue::Number),
        "\\PC{0,12}".prop_map(AttributeValue::Text),
        prop::collection::vec("\\PC{0,8}", 0..4).prop_map(AttributeValue::Tags),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any items (any kinds in any column, any Unicode, any text) come back
    /// as they went in, in order, each found by its id.
    #[test]
    fn any_items_round_trip(
        raw in prop::collection::vec(("\\PC{1,10}", "\\PC{0,12}", prop::option::of("\\PC{0,20}"), prop::option::of("\\PC{0,10}"), prop::collection::vec(value_strategy(), 4)), 0..24),
        remove in any::<prop::sample::Index>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let mut items = Vec::new();
        for (id, title, text, image, values) in raw {
            if !seen.insert(id.clone()) {
                continue;
            }
            let refs = values.iter().map(AttributeValue::as_ref);
            let text = text.unwrap_or_else(|| describe_item(&defs(), &title, None, refs));
            items.push(Item { id, title, text, image, values });
        }
        let mut s = store(&items);
        let same = |a: &[Item], b: &[Item]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| {
            // NaN numbers compare unequal; compare their bits.
            x.id == y.id && x.title == y.title && x.text == y.text && x.image == y.image
                && format!("{:?}", x.values) == format!("{:?}", y.values)
        });
        prop_assert!(same(&all(&s), &items));
        for (i, it) in items.iter().enumerate() {
            prop_assert_eq!(s.index_of(&it.id), Some(i as u32));
        }
        if !items.is_empty() {
            let r = remove.index(items.len());
            s.remove(r).unwrap();
            items.remove(r);
            prop_assert!(same(&all(&s), &items));
            for (i, it) in items.iter().enumerate() {
                prop_assert_eq!(s.index_of(&it.id), Some(i as u32));
            }
        }
    }
}

/// The forms as first written (parts joined), to check the streaming ones.
fn reference_forms(defs: &[AttributeDef], title: &str, description: Option<&str>, values: &[AttributeValue]) -> (String, String) {
    use crate::catalog::attributes::{format_float, label};
    let shown = |v: &AttributeValue| match v {
        AttributeValue::Missing => None,
        AttributeValue::Number(x) => Some(format_float(*x)),
        AttributeValue::Text(t) => Some(t.clone()),
        AttributeValue::Tags(t) => Some(t.join(", ")),
    };
    let mut parts = vec![title.trim().to_string()];
    if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
        parts.push(d.to_string());
    }
    let mut last = Vec::new();
    for (def, v) in defs.iter().zip(values) {
        let Some(text) = shown(v).filter(|_| !def.is_title()) else { continue };
        let line = format!("{}: {text}", def.label());
        if def.name.to_ascii_lowercase().contains("year") { last.push(line) } else { parts.push(line) }
    }
    parts.extend(last);
    parts.retain(|p| !p.is_empty());
    let described = parts.join(". ");
    let mut parts: Vec<String> = vec![title.trim().to_string()];
    if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
        parts.push(d.to_string());
    }
    for (def, v) in defs.iter().zip(values) {
        if let Some(text) = shown(v) {
            parts.push(format!("{}: {text}", label(&def.name)));
        }
    }
    let mut record = String::new();
    for part in parts {
        if !record.is_empty() {
            record.push_str(if record.ends_with(['.', '!', '?']) { " " } else { ". " });
        }
        record.push_str(&part);
    }
    (described, record)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The text forms written straight into a buffer are the ones the
    /// builders always wrote (so stored catalogs keep reading back).
    #[test]
    fn text_forms_match_their_reference(
        title in "[ a-z.!?]{0,8}",
        description in prop::option::of("[ a-z.]{0,8}"),
        values in prop::collection::vec(value_strategy(), 4),
    ) {
        let (described, record) = reference_forms(&defs(), &title, description.as_deref(), &values);
        let refs = || values.iter().map(AttributeValue::as_ref);
        prop_assert_eq!(describe_item(&defs(), &title, description.as_deref(), refs()), described);
        prop_assert_eq!(record_text(&defs(), &title, description.as_deref(), refs()), record);
    }
}
