//! A small deterministic catalog (24 items, 8-d f32 text embeddings, one
//! tags attribute) shared by the native fixture check (tests/loader_fixture.rs)
//! and the browser loader test (tests/web_loader.rs), which downloads its
//! committed bundle `tests/fixtures/loader/tiny.rcat`.

use recagent_core::catalog::{AttributeDef, AttributeKind, AttributeValue, CatalogParts, Embeddings, Item};
use recagent_core::Catalog;

/// Number of items.
pub const TINY_ITEMS: usize = 24;

/// The catalog.
pub fn tiny_catalog() -> Catalog {
    let dim = 8;
    let values: Vec<f32> = (0..TINY_ITEMS * dim)
        .map(|i| (((i * 7919) % 17) as f32 - 8.0) / 8.0)
        .collect();
    let items = (0..TINY_ITEMS)
        .map(|i| Item {
            id: format!("tiny-{i}"),
            title: format!("Tiny item {i}"),
            text: format!("Tiny item {i} in group g{}", i % 3),
            image: None,
            values: vec![AttributeValue::Tags(vec![format!("g{}", i % 3)])],
        })
        .collect();
    Catalog::new(CatalogParts {
        name: "tiny".into(),
        attributes: vec![AttributeDef { name: "group".into(), kind: AttributeKind::Tags }],
        items,
        text: Some(Embeddings::F32 { dim, values }),
        popularity: (0..TINY_ITEMS).map(|i| (i * 13 % 24) as f32).collect(),
        ..Default::default()
    })
    .unwrap()
}
