//! The committed `tests/fixtures/loader/tiny.rcat` (downloaded by the browser
//! loader test) is the bundle of `tiny_catalog()`; regenerate it with
//! `RECAGENT_WRITE_FIXTURES=1 cargo test --test loader_fixture`.

#[path = "support/tiny_catalog.rs"]
mod tiny_catalog;

use recagent_core::Catalog;
use tiny_catalog::{tiny_catalog, TINY_ITEMS};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/loader/tiny.rcat");

#[test]
fn tiny_catalog_fixture_is_current() {
    let bundle = tiny_catalog().to_bundle().unwrap();
    assert_eq!(bundle, tiny_catalog().to_bundle().unwrap(), "bundles must be deterministic");
    if std::env::var_os("RECAGENT_WRITE_FIXTURES").is_some() {
        std::fs::write(FIXTURE, &bundle).unwrap();
    }
    let committed = std::fs::read(FIXTURE).unwrap();
    assert!(committed == bundle, "{FIXTURE} is stale: rerun with RECAGENT_WRITE_FIXTURES=1");
    assert_eq!(Catalog::from_bundle(&committed).unwrap().len(), TINY_ITEMS);
}
