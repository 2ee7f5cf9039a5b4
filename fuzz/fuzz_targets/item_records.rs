//! The app's own records (what `Recommender.create({ items, interactions })`
//! and `recagent build-catalog --items/--interactions` take), as JSON: a
//! document `[items, interactions]` read into `ItemInput`s and
//! `InteractionInput`s, then `items_from_records`, `resolve_interactions`,
//! `popularity`, `build_key` and `Catalog::new`. Accepted records make a
//! valid catalog whose bundle decodes to the same item count; a refused
//! record names an index inside the input; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::catalog::records::{
    build_key, items_from_records, popularity, resolve_interactions, InteractionInput, ItemInput,
};
use recagent_core::catalog::CatalogParts;
use recagent_core::Catalog;

fuzz_target!(|data: &[u8]| {
    let Ok((items, interactions)) = serde_json::from_slice::<(Vec<ItemInput>, Vec<InteractionInput>)>(data) else {
        return;
    };
    let built = match items_from_records(&items) {
        Ok(built) => built,
        Err(e) => {
            assert!(e.index <= items.len(), "error index {} of {} items", e.index, items.len());
            return;
        }
    };
    assert_eq!(built.items.len(), items.len());
    let resolved = match resolve_interactions(&built.items, &interactions) {
        Ok(resolved) => resolved,
        Err(e) => {
            assert!(e.index < interactions.len().max(1), "error index {} of {}", e.index, interactions.len());
            return;
        }
    };
    assert!(resolved.interactions.len() + resolved.unknown_items <= interactions.len());
    let key = build_key(&items, &interactions, &[b"model"]).expect("the key of accepted records");
    assert_eq!(key.len(), 64);
    let n = built.items.len();
    let catalog = Catalog::new(CatalogParts {
        name: "fuzz".into(),
        attributes: built.attributes,
        popularity: popularity(n, &resolved.interactions),
        items: built.items,
        ..Default::default()
    })
    .expect("accepted records make a valid catalog");
    let bundle = catalog.to_bundle().expect("a catalog encodes");
    assert_eq!(Catalog::from_bundle(&bundle).expect("and decodes").len(), n);
});
