//! Items added to a loaded catalog at run time (e.g. the user's own item
//! with a photo): appending and removing rows, the per-row photo presence,
//! photo similarity, and the text an added item is embedded from.
//!
//! Added rows come after the bundle's rows. They get a text embedding row
//! (same matrix as the bundle items, so text search, interests, diversity and
//! push-downs see them), popularity 0, and no sequence-model row: the
//! [`SequenceModel`](super::SequenceModel) covers the bundle's items only,
//! and ranking gives later rows the interest match as their history signal
//! (`ranking::score`). A photo's embedding is kept per added row (unit
//! length); bundle rows have a photo when their image row is not zero.

use super::attributes::{describe_item, format_float};
use super::{AttributeKind, AttributeValue, Catalog, Embeddings, Item, ItemRef};
use crate::error::{Error, Result};
use crate::vectors::kernels::QuantizedMatrix;

impl Embeddings {
    /// Appends one row (quantized first for the int8 form).
    pub fn push_row(&mut self, row: &[f32]) -> Result<()> {
        if row.len() != self.dim() || row.iter().any(|x| !x.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "an embedding row of {} values for a matrix of width {} (all finite)",
                row.len(),
                self.dim()
            )));
        }
        match self {
            Embeddings::F32 { values, .. } => values.extend_from_slice(row),
            Embeddings::I8(q) => {
                let one = QuantizedMatrix::quantize(row, q.dim)?;
                q.values.extend_from_slice(&one.values);
                q.scales.extend_from_slice(&one.scales);
            }
        }
        Ok(())
    }

    /// Removes row `i` (rows after it move up by one).
    pub fn remove_row(&mut self, i: usize) -> Result<()> {
        if i >= self.rows() {
            return Err(Error::InvalidInput(format!("row {i} of {}", self.rows())));
        }
        match self {
            Embeddings::F32 { dim, values } => {
                values.drain(i * *dim..(i + 1) * *dim);
            }
            Embeddings::I8(q) => {
                q.values.drain(i * q.dim..(i + 1) * q.dim);
                q.scales.remove(i);
            }
        }
        Ok(())
    }
}

impl Catalog {
    /// Number of items that came from the bundle; items at this index and
    /// after were added at run time.
    pub fn bundle_len(&self) -> usize {
        self.base_len
    }

    /// Whether the item at `index` was added at run time.
    pub fn is_added(&self, index: u32) -> bool {
        (index as usize) >= self.base_len && (index as usize) < self.items.len()
    }

    /// Whether the item at `index` has a photo embedding (a non-zero bundle
    /// image row, or a photo given when it was added).
    pub fn has_photo(&self, index: u32) -> bool {
        let i = index as usize;
        if i < self.base_len {
            self.image_norms.get(i).is_some_and(|n| *n > 0.0)
        } else {
            self.added_photos.get(i - self.base_len).is_some_and(Option::is_some)
        }
    }

    /// Cosine similarity of every item's photo with `query` (an image
    /// embedding of the same model): `NaN` for items without a photo. Bundle
    /// image rows of another width than the query (another model) count as
    /// no photo.
    pub fn photo_similarities(&self, query: &[f32]) -> Result<Vec<f32>> {
        let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
        if query.is_empty() || !norm.is_finite() || norm == 0.0 {
            return Err(Error::InvalidInput("a photo query embedding must be non-zero and finite".into()));
        }
        let q: Vec<f32> = query.iter().map(|x| x / norm).collect();
        let mut out = vec![f32::NAN; self.items.len()];
        if let Some(image) = self.image.as_ref().filter(|m| m.dim() == q.len()) {
            let mut dots = vec![0.0f32; image.rows()];
            image.scores(&q, &mut dots)?;
            for ((o, d), n) in out.iter_mut().zip(&dots).zip(&self.image_norms) {
                if *n > 0.0 {
                    *o = d / n;
                }
            }
        }
        for (k, photo) in self.added_photos.iter().enumerate() {
            if let (Some(p), Some(o)) = (photo, out.get_mut(self.base_len + k)) {
                if p.len() == q.len() {
                    *o = p.iter().zip(&q).map(|(a, b)| a * b).sum();
                }
            }
        }
        Ok(out)
    }

    /// The attribute values of a new item from `(name, value)` pairs given
    /// by name: each name must be a declared attribute and each value of its
    /// kind (`tags`: a string or a list of strings; `number`: a finite
    /// number or a numeric string; `text`: a string or a number, kept as
    /// text; `null`: missing). Title-like attributes the caller leaves
    /// out take the title (split into words for `tags`); others are missing.
    pub fn values_for(&self, title: &str, given: &[(String, serde_json::Value)]) -> Result<Vec<AttributeValue>> {
        use serde_json::Value;
        let mut values = vec![AttributeValue::Missing; self.attributes().len()];
        let mut set = vec![false; self.attributes().len()];
        for (name, value) in given {
            let Some(a) = self.attributes().iter().position(|d| d.name == *name) else {
                let names: Vec<&str> = self.attributes().iter().map(|d| d.name.as_str()).collect();
                return Err(Error::InvalidInput(format!(
                    "unknown attribute {name:?}; the catalog has {names:?}"
                )));
            };
            let bad = |want: &str| Error::InvalidInput(format!("attribute {name:?} must be {want}"));
            let v = match (self.attributes()[a].kind, value) {
                (_, Value::Null) => AttributeValue::Missing,
                (AttributeKind::Number, Value::Number(x)) => {
                    AttributeValue::Number(x.as_f64().filter(|x| x.is_finite()).ok_or_else(|| bad("a finite number"))?)
                }
                (AttributeKind::Number, Value::String(s)) => AttributeValue::Number(
                    s.trim().parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| bad("a number"))?,
                ),
                (AttributeKind::Number, _) => return Err(bad("a number")),
                (AttributeKind::Text, Value::String(s)) => AttributeValue::Text(s.trim().to_string()),
                // Text attributes often hold numbers (ML-100K's `release_year` is a token column).
                (AttributeKind::Text, Value::Number(x)) => {
                    AttributeValue::Text(format_float(x.as_f64().filter(|x| x.is_finite()).ok_or_else(|| bad("a string"))?))
                }
                (AttributeKind::Text, _) => return Err(bad("a string or a number")),
                (AttributeKind::Tags, Value::String(s)) => AttributeValue::Tags(vec![s.trim().to_string()]),
                (AttributeKind::Tags, Value::Array(list)) => AttributeValue::Tags(
                    list.iter()
                        .map(|t| t.as_str().map(|s| s.trim().to_string()).ok_or_else(|| bad("a string or a list of strings")))
                        .collect::<Result<Vec<_>>>()?,
                ),
                (AttributeKind::Tags, _) => return Err(bad("a string or a list of strings")),
            };
            let v = match v {
                AttributeValue::Tags(t) => {
                    let t: Vec<String> = t.into_iter().filter(|s| !s.is_empty()).collect();
                    if t.is_empty() { AttributeValue::Missing } else { AttributeValue::Tags(t) }
                }
                AttributeValue::Text(t) if t.is_empty() => AttributeValue::Missing,
                other => other,
            };
            values[a] = v;
            set[a] = true;
        }
        for (a, def) in self.attributes().iter().enumerate() {
            if set[a] || !def.is_title() {
                continue;
            }
            values[a] = match def.kind {
                AttributeKind::Text => AttributeValue::Text(title.to_string()),
                AttributeKind::Tags => AttributeValue::Tags(title.split_whitespace().map(str::to_string).collect()),
                AttributeKind::Number => AttributeValue::Missing,
            };
        }
        Ok(values)
    }

    /// The text an added item is embedded from, in the form the catalog
    /// builder gives bundle items (`recagent build-catalog`): the title, the
    /// description, then every other attribute as `Label: value` (tags
    /// joined by commas), year-like attributes last — e.g. `My espresso
    /// machine. Chrome, two cups. Genres: Kitchen. Year: 2024`.
    pub fn describe(&self, title: &str, description: Option<&str>, values: &[AttributeValue]) -> String {
        describe_item(self.attributes(), title, description, values.iter().map(AttributeValue::as_ref))
    }

    /// Appends an item with its text embedding row (the catalog's text
    /// width) and optionally its photo embedding (normalized here). The id
    /// must be new (`invalid_input`), the item must have one value per
    /// attribute. Returns the new index.
    pub fn push_added(&mut self, item: Item, text: &[f32], photo: Option<&[f32]>) -> Result<u32> {
        if item.id.is_empty() {
            return Err(Error::InvalidInput("an item id must not be empty".into()));
        }
        if self.index_of(&item.id).is_some() {
            return Err(Error::InvalidInput(format!("the catalog already has an item with id {:?}", item.id)));
        }
        if item.values.len() != self.attributes().len() {
            return Err(Error::InvalidInput(format!(
                "item {:?} has {} attribute values, the catalog declares {}",
                item.id,
                item.values.len(),
                self.attributes().len()
            )));
        }
        let photo = match photo {
            Some(p) => {
                let norm = p.iter().map(|x| x * x).sum::<f32>().sqrt();
                if p.is_empty() || !norm.is_finite() || norm == 0.0 {
                    return Err(Error::InvalidInput("a photo embedding must be non-zero and finite".into()));
                }
                Some(p.iter().map(|x| x / norm).collect::<Vec<f32>>())
            }
            None => None,
        };
        if self.text.is_none() {
            return Err(Error::InvalidInput("the catalog has no text embeddings; items cannot be added to it".into()));
        }
        let index = self.items.push(item)?;
        if let Err(e) = self.text.as_mut().map_or(Ok(()), |m| m.push_row(text)) {
            self.items.truncate(index as usize);
            return Err(e);
        }
        self.popularity.push(0.0);
        self.added_photos.push(photo);
        Ok(index)
    }

    /// Removes an item added at run time. `Ok(false)` when no item has this
    /// id; `invalid_input` for a bundle item (the bundle is read-only).
    pub fn remove_added(&mut self, id: &str) -> Result<bool> {
        let Some(index) = self.index_of(id) else { return Ok(false) };
        if !self.is_added(index) {
            return Err(Error::InvalidInput(format!(
                "item {id:?} comes from the catalog bundle; only items added at run time can be removed"
            )));
        }
        let i = index as usize;
        self.items.remove(i)?;
        if let Some(t) = self.text.as_mut() {
            t.remove_row(i)?;
        }
        self.popularity.remove(i);
        self.added_photos.remove(i - self.base_len);
        Ok(true)
    }

    /// Removes every item added at run time; returns how many there were.
    pub fn clear_added(&mut self) -> usize {
        let n = self.items.len().saturating_sub(self.base_len);
        self.items.truncate(self.base_len);
        self.popularity.truncate(self.base_len);
        self.added_photos.clear();
        if let Some(t) = self.text.as_mut() {
            let rows = t.rows();
            for i in (self.base_len..rows).rev() {
                let _ = t.remove_row(i);
            }
        }
        n
    }

    /// The items added at run time, in the order they were added.
    pub fn added_items(&self) -> impl ExactSizeIterator<Item = ItemRef<'_>> + '_ {
        (self.base_len..self.items.len()).map(|i| ItemRef { store: &self.items, index: i as u32 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{AttributeDef, CatalogParts};

    fn catalog(quantized: bool) -> Catalog {
        let item = |id: &str| Item {
            id: id.into(),
            title: id.into(),
            text: id.into(),
            image: None,
            values: vec![AttributeValue::Missing],
        };
        let mut c = Catalog::new(CatalogParts {
            attributes: vec![AttributeDef { name: "genre".into(), kind: AttributeKind::Tags }],
            items: vec![item("a"), item("b")],
            text: Some(Embeddings::F32 { dim: 2, values: vec![1.0, 0.0, 0.0, 1.0] }),
            // Bundle images: "a" has one (not unit length), "b" none (zero row).
            image: Some(Embeddings::F32 { dim: 3, values: vec![2.0, 0.0, 0.0, 0.0, 0.0, 0.0] }),
            ..Default::default()
        })
        .unwrap();
        if quantized {
            c.quantize().unwrap();
        }
        c
    }

    #[test]
    fn rows_are_appended_removed_and_photos_masked_in_both_matrix_forms() {
        for quantized in [false, true] {
            let mut c = catalog(quantized);
            let new = |id: &str| Item {
                id: id.into(),
                title: id.into(),
                text: id.into(),
                image: None,
                values: vec![AttributeValue::Tags(vec!["x".into()])],
            };
            assert_eq!(c.push_added(new("c"), &[0.6, 0.8], Some(&[0.0, 3.0, 0.0])).unwrap(), 2);
            assert_eq!(c.push_added(new("d"), &[0.8, 0.6], None).unwrap(), 3);
            assert_eq!(c.push_added(new("d"), &[0.8, 0.6], None).unwrap_err().code(), "invalid_input");
            assert_eq!(c.push_added(new("e"), &[0.8], None).unwrap_err().code(), "invalid_input");
            assert_eq!(c.len(), 4);
            assert_eq!(c.text_embeddings().unwrap().rows(), 4);
            assert_eq!((0..4).map(|i| c.has_photo(i)).collect::<Vec<_>>(), vec![true, false, true, false]);
            let sims = c.photo_similarities(&[0.0, 1.0, 0.0]).unwrap();
            assert!((sims[0] - 0.0).abs() < 1e-3 && sims[1].is_nan() && (sims[2] - 1.0).abs() < 1e-6 && sims[3].is_nan());
            let sims = c.photo_similarities(&[5.0, 0.0, 0.0]).unwrap();
            assert!((sims[0] - 1.0).abs() < 1e-2, "{sims:?}");
            assert!(c.photo_similarities(&[0.0, 0.0, 0.0]).is_err());
            let row = c.text_embeddings().unwrap().row(3).unwrap();
            assert!((row[0] - 0.8).abs() < 1e-2 && (row[1] - 0.6).abs() < 1e-2);
            assert_eq!(c.remove_added("a").unwrap_err().code(), "invalid_input");
            assert!(c.remove_added("c").unwrap());
            assert_eq!(c.index_of("d"), Some(2));
            let row = c.text_embeddings().unwrap().row(2).unwrap();
            assert!((row[0] - 0.8).abs() < 1e-2, "row d moved up: {row:?}");
            assert!(!c.has_photo(2));
            assert_eq!(c.clear_added(), 1);
            assert_eq!((c.len(), c.text_embeddings().unwrap().rows(), c.popularity().len()), (2, 2, 2));
            assert!(c.index_of("d").is_none());
        }
    }

    #[test]
    fn describe_follows_the_builder_form_and_values_are_checked() {
        let c = Catalog::new(CatalogParts {
            attributes: vec![
                AttributeDef { name: "movie_title".into(), kind: AttributeKind::Tags },
                AttributeDef { name: "release_year".into(), kind: AttributeKind::Text },
                AttributeDef { name: "class".into(), kind: AttributeKind::Tags },
                AttributeDef { name: "price".into(), kind: AttributeKind::Number },
            ],
            ..Default::default()
        })
        .unwrap();
        let given = vec![
            ("release_year".to_string(), serde_json::json!(1995)),
            ("class".to_string(), serde_json::json!(["Comedy", " Drama ", ""])),
            ("price".to_string(), serde_json::json!("9.5")),
        ];
        let values = c.values_for("Toy Story", &given).unwrap();
        assert_eq!(values[0], AttributeValue::Tags(vec!["Toy".into(), "Story".into()]));
        assert_eq!(values[1], AttributeValue::Text("1995".into()));
        assert_eq!(values[3], AttributeValue::Number(9.5));
        assert_eq!(
            c.describe("Toy Story", Some("toys come alive"), &values),
            "Toy Story. toys come alive. Genres: Comedy, Drama. Price: 9.5. Year: 1995"
        );
        for bad in [serde_json::json!({"a": 1}), serde_json::json!(true)] {
            assert!(c.values_for("x", &[("class".into(), bad)]).is_err());
        }
        assert!(c.values_for("x", &[("price".into(), serde_json::json!("cheap"))]).is_err());
    }
}
