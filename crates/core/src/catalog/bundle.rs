//! The catalog bundle: one versioned, checksummed binary file.
//!
//! ```text
//! offset  size  what
//! 0       8     magic  b"RCATALOG"
//! 8       4     format version (u32 LE): 3 with int8 sequence vectors,
//!               else 2 (1 still reads)
//! 12      4     meta length M (u32 LE)
//! 16      M     meta: UTF-8 JSON (name, attributes, items, section table)
//! 16+M    …     sections, each starting at a 16-byte aligned offset
//! end-4   4     CRC-32 of every byte before it (u32 LE)
//! ```
//!
//! Sections: `text.f32` or `text.i8` + `text.scales` (one f32 per row), the
//! same for `image`, `popularity`, and the sequence model's `sequence.input`
//! and `sequence.output` (f32; int8 as `.i8` + `.scales` in version 3),
//! `sequence.bias`, `.position`, `.kind` and, with an MLP, `.w1`, `.b1`, `.w2`.
//!
//! Every section is named in the meta's `sections` table with its `dtype`
//! (`f32` or `i8`, little-endian), `rows`, `cols`, `offset` and `length`.
//! Loading checks the magic, version, length and checksum first, then every
//! section's bounds and size, and copies each matrix once into aligned
//! memory. Readers ignore section names they do not know, so later minor
//! additions stay loadable; an incompatible change bumps the version.

mod meta_in;

use serde::{Deserialize, Serialize};

use meta_in::MetaIn;
use super::{AttributeDef, Catalog, CatalogParts, Embeddings, Item, ModelFingerprint, SequenceModel};
use crate::error::{Error, Result};
use crate::vectors::kernels::QuantizedMatrix;

/// The first eight bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"RCATALOG";
/// The newest bundle format version this build writes and reads. Version 3
/// stores the sequence model's item vectors as int8 (`sequence.input.i8` +
/// `sequence.input.scales`, the same for `sequence.output`) and is written
/// only for such bundles; every other bundle is still written as version 2,
/// which added the sequence model's residual MLP (`sequence.w1`, `.b1`,
/// `.w2`); version 1 bundles (no MLP) still load.
pub const VERSION: u32 = 3;

/// The meta as written ([`MetaIn`] reads it).
#[derive(Serialize)]
struct Meta {
    name: String,
    attributes: Vec<AttributeDef>,
    items: Vec<Item>,
    #[serde(default)]
    text_model: Option<ModelFingerprint>,
    #[serde(default)]
    sequence: Option<SequenceMeta>,
    sections: Vec<Section>,
}

#[derive(Serialize, Deserialize)]
struct SequenceMeta {
    dim: usize,
    window: usize,
    #[serde(default)]
    hidden: usize,
}

#[derive(Serialize, Deserialize, Clone)]
struct Section {
    name: String,
    dtype: String,
    rows: usize,
    cols: usize,
    offset: usize,
    length: usize,
}

enum Payload<'a> {
    F32(&'a [f32]),
    I8(&'a [i8]),
}

/// Serializes a catalog into bundle bytes.
pub fn encode(catalog: &Catalog) -> Result<Vec<u8>> {
    if catalog.bundle_len() != catalog.len() {
        return Err(Error::InvalidInput(
            "items added at run time are not part of a bundle; encode the catalog before adding".into(),
        ));
    }
    let mut payloads: Vec<(String, usize, usize, Payload)> = Vec::new();
    for (name, m) in [("text", &catalog.text), ("image", &catalog.image)] {
        match m {
            Some(Embeddings::F32 { dim, values }) => {
                payloads.push((format!("{name}.f32"), values.len() / dim, *dim, Payload::F32(values)));
            }
            Some(Embeddings::I8(q)) => {
                payloads.push((format!("{name}.i8"), q.rows(), q.dim, Payload::I8(&q.values)));
                payloads.push((format!("{name}.scales"), q.rows(), 1, Payload::F32(&q.scales)));
            }
            None => {}
        }
    }
    let n = catalog.len();
    payloads.push(("popularity".into(), n, 1, Payload::F32(&catalog.popularity)));
    if let Some(s) = &catalog.sequence {
        // f32 keeps the section names of format 1 ("sequence.input"), int8
        // adds ".i8" and ".scales" as the text matrix does
        for (name, m) in [("sequence.input", &s.input), ("sequence.output", &s.output)] {
            match m {
                Embeddings::F32 { dim, values } => {
                    payloads.push((name.into(), n, *dim, Payload::F32(values)));
                }
                Embeddings::I8(q) => {
                    payloads.push((format!("{name}.i8"), n, q.dim, Payload::I8(&q.values)));
                    payloads.push((format!("{name}.scales"), n, 1, Payload::F32(&q.scales)));
                }
            }
        }
        payloads.push(("sequence.bias".into(), n, 1, Payload::F32(&s.bias)));
        payloads.push(("sequence.position".into(), s.window, 1, Payload::F32(&s.position_weights)));
        payloads.push(("sequence.kind".into(), s.kind_weights.len(), 1, Payload::F32(&s.kind_weights)));
        if s.hidden > 0 {
            payloads.push(("sequence.w1".into(), s.dim, s.hidden, Payload::F32(&s.w1)));
            payloads.push(("sequence.b1".into(), s.hidden, 1, Payload::F32(&s.b1)));
            payloads.push(("sequence.w2".into(), s.hidden, s.dim, Payload::F32(&s.w2)));
        }
    }
    // Offsets are relative to the start of the section area (16-byte aligned).
    let mut sections = Vec::with_capacity(payloads.len());
    let mut offset = 0usize;
    for (name, rows, cols, p) in &payloads {
        let (dtype, length) = match p {
            Payload::F32(v) => ("f32", v.len() * 4),
            Payload::I8(v) => ("i8", v.len()),
        };
        sections.push(Section {
            name: name.clone(),
            dtype: dtype.into(),
            rows: *rows,
            cols: *cols,
            offset,
            length,
        });
        offset = (offset + length).next_multiple_of(16);
    }
    let meta = Meta {
        name: catalog.name.clone(),
        attributes: catalog.attributes().to_vec(),
        items: catalog.to_items(),
        text_model: catalog.text_model.clone(),
        sequence: catalog.sequence.as_ref().map(|s| SequenceMeta {
            dim: s.dim,
            window: s.window,
            hidden: s.hidden,
        }),
        sections,
    };
    let meta = serde_json::to_vec(&meta).map_err(|e| Error::InvalidCatalog(format!("meta: {e}")))?;
    let meta_len = u32::try_from(meta.len())
        .map_err(|_| Error::InvalidCatalog("item metadata larger than 4 GiB".into()))?;
    let start = (16 + meta.len()).next_multiple_of(16);
    let mut out = Vec::with_capacity(start + offset + 4);
    out.extend_from_slice(MAGIC);
    // readers of version 2 know no int8 sequence vectors: tell them apart
    let int8_sequence = catalog.sequence.as_ref().is_some_and(|s| matches!(s.input, Embeddings::I8(_)) || matches!(s.output, Embeddings::I8(_)));
    let version: u32 = if int8_sequence { VERSION } else { 2 };
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&meta_len.to_le_bytes());
    out.extend_from_slice(&meta);
    for (_, _, _, p) in &payloads {
        out.resize(out.len().next_multiple_of(16).max(start), 0);
        match p {
            Payload::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Payload::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        }
    }
    out.resize(out.len().next_multiple_of(16).max(start), 0);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

fn corrupt(m: impl Into<String>) -> Error {
    Error::InvalidCatalog(m.into())
}

/// Parses and checks bundle bytes (see the module docs for every check).
pub fn decode(bytes: &[u8]) -> Result<Catalog> {
    if bytes.len() < 20 {
        return Err(corrupt(format!("{} bytes is too short for a catalog bundle", bytes.len())));
    }
    if &bytes[..8] != MAGIC {
        return Err(corrupt("not a recagent catalog bundle (bad magic)"));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if !(1..=VERSION).contains(&version) {
        return Err(corrupt(format!(
            "bundle format version {version}; this build reads versions 1 to {VERSION}"
        )));
    }
    let body = &bytes[..bytes.len() - 4];
    let tail = &bytes[bytes.len() - 4..];
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if crc32fast::hash(body) != stored {
        return Err(corrupt("checksum mismatch: the bundle is truncated or corrupt"));
    }
    let meta_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let meta_bytes = body
        .get(16..16usize.saturating_add(meta_len))
        .ok_or_else(|| corrupt("meta length beyond the end of the bundle"))?;
    let meta: MetaIn = serde_json::from_slice(meta_bytes).map_err(|e| corrupt(format!("meta: {e}")))?;
    let start = (16 + meta_len).next_multiple_of(16);
    let area = body.get(start..).unwrap_or(&[]);
    let find = |name: &str| meta.sections.iter().find(|s| s.name == name);
    let slice = |s: &Section, dtype: &str, rows: usize, cols: usize| -> Result<&[u8]> {
        let elem = if dtype == "f32" { 4 } else { 1 };
        let want = rows
            .checked_mul(cols)
            .and_then(|v| v.checked_mul(elem))
            .ok_or_else(|| corrupt(format!("section {} is too large", s.name)))?;
        if s.dtype != dtype || s.rows != rows || s.cols != cols || s.length != want {
            return Err(corrupt(format!(
                "section {} is {} {}x{} ({} bytes); expected {dtype} {rows}x{cols}",
                s.name, s.dtype, s.rows, s.cols, s.length
            )));
        }
        area.get(s.offset..s.offset.saturating_add(s.length))
            .ok_or_else(|| corrupt(format!("section {} lies beyond the end of the bundle", s.name)))
    };
    let f32s = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    };
    let n = meta.items.len();
    let f32_section = |name: &str, rows: usize, cols: usize| -> Result<Option<Vec<f32>>> {
        match find(name) {
            Some(s) => Ok(Some(f32s(slice(s, "f32", rows, cols)?))),
            None => Ok(None),
        }
    };
    let matrix = |name: &str| -> Result<Option<Embeddings>> {
        if let Some(s) = find(&format!("{name}.f32")) {
            let values = f32s(slice(s, "f32", n, s.cols)?);
            if s.cols == 0 {
                return Err(corrupt(format!("section {} has zero columns", s.name)));
            }
            return Ok(Some(Embeddings::F32 { dim: s.cols, values }));
        }
        if let Some(s) = find(&format!("{name}.i8")) {
            let values: Vec<i8> = slice(s, "i8", n, s.cols)?.iter().map(|&b| b as i8).collect();
            let scales = f32_section(&format!("{name}.scales"), n, 1)?
                .ok_or_else(|| corrupt(format!("{name}.i8 without {name}.scales")))?;
            return Ok(Some(Embeddings::I8(QuantizedMatrix::from_parts(s.cols, values, scales).map_err(|e| corrupt(e.to_string()))?)));
        }
        Ok(None)
    };
    let sequence = match &meta.sequence {
        None => None,
        Some(sm) => {
            let need = |name: &str, rows: usize, cols: usize| {
                f32_section(name, rows, cols)?.ok_or_else(|| corrupt(format!("missing section {name}")))
            };
            // f32 under the plain name, or int8 as `{name}.i8` + `{name}.scales`
            let item_vectors = |name: &str, dim: usize| -> Result<Embeddings> {
                let m = match find(name) {
                    Some(_) => Embeddings::F32 { dim, values: need(name, n, dim)? },
                    None => matrix(name)?.ok_or_else(|| corrupt(format!("missing section {name}")))?,
                };
                if m.dim() != dim {
                    return Err(corrupt(format!("section {name} is {} wide; the model says {dim}", m.dim())));
                }
                Ok(m)
            };
            Some(SequenceModel {
                dim: sm.dim,
                window: sm.window,
                input: item_vectors("sequence.input", sm.dim)?,
                output: item_vectors("sequence.output", sm.dim)?,
                bias: need("sequence.bias", n, 1)?,
                position_weights: need("sequence.position", sm.window, 1)?,
                kind_weights: need("sequence.kind", super::sequence::KIND_CLASSES, 1)?,
                hidden: sm.hidden,
                w1: if sm.hidden > 0 { need("sequence.w1", sm.dim, sm.hidden)? } else { Vec::new() },
                b1: if sm.hidden > 0 { need("sequence.b1", sm.hidden, 1)? } else { Vec::new() },
                w2: if sm.hidden > 0 { need("sequence.w2", sm.hidden, sm.dim)? } else { Vec::new() },
            })
        }
    };
    let parts = CatalogParts {
        text: matrix("text")?,
        image: matrix("image")?,
        popularity: f32_section("popularity", n, 1)?.unwrap_or_default(),
        sequence,
        name: meta.name,
        attributes: Vec::new(),
        items: Vec::new(),
        text_model: meta.text_model,
    };
    Catalog::with_items(parts, meta.items)
}

impl Catalog {
    /// Loads a catalog from bundle bytes (see [`decode`]).
    pub fn from_bundle(bytes: &[u8]) -> Result<Self> {
        decode(bytes)
    }

    /// Serializes the catalog into bundle bytes (see [`encode`]).
    pub fn to_bundle(&self) -> Result<Vec<u8>> {
        encode(self)
    }
}
