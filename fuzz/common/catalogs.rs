//! Catalogs the fuzz targets share (included with `#[path]`).

use recagent_core::catalog::{AttributeDef, AttributeKind, Catalog, CatalogParts};

/// An empty catalog of three attributes, one of each kind: `genre` (tags),
/// `year` (number), `brand` (text).
pub fn three_attributes() -> Catalog {
    Catalog::new(CatalogParts {
        attributes: vec![
            AttributeDef { name: "genre".into(), kind: AttributeKind::Tags },
            AttributeDef { name: "year".into(), kind: AttributeKind::Number },
            AttributeDef { name: "brand".into(), kind: AttributeKind::Text },
        ],
        ..Default::default()
    })
    .expect("an empty catalog")
}
