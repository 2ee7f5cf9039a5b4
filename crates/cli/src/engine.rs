//! A catalog in a candidate engine, from the command line: pushing a built
//! catalog's public records into Chroma (batched, resumable, with
//! progress), and reading back what a device needs to rank over it when it
//! has no bundle (the attribute definitions and the text model's
//! fingerprint, kept in the collection's metadata).

use std::rc::Rc;

use recagent_core::agent::candidates::chroma::{ChromaSource, Collection};
use recagent_core::agent::llm::Ledger;
use recagent_core::catalog::engine_record::to_record;
use recagent_core::catalog::{AttributeDef, Catalog, CatalogParts, ModelFingerprint};
use recagent_core::platform::Candidate;
use recagent_core::{Error, Result};
use serde_json::{Map, Value};

use crate::native_http::{NativeHttp, SystemClock};
use crate::progress::Progress;

/// The record field holding the fingerprint of the build a record came
/// from: a resumed push skips the records already written by the same build.
pub const BUILD_FIELD: &str = "rc.build";
/// Collection metadata: the catalog's attribute definitions (JSON).
pub const ATTRIBUTES_KEY: &str = "recagent.attributes";
/// Collection metadata: the text model's fingerprint (`BYTES:CRC32`).
pub const TEXT_MODEL_KEY: &str = "recagent.text_model";
/// Collection metadata: the catalog's name.
pub const NAME_KEY: &str = "recagent.catalog";

/// The most records one push request may carry.
pub const MAX_BATCH: usize = 5_000;

/// A Chroma source over the native HTTP client; its requests go to `ledger`.
pub fn chroma(address: &str, ledger: Ledger) -> Result<ChromaSource> {
    ChromaSource::new(address, Rc::new(NativeHttp::new()), Rc::new(SystemClock), ledger)
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSummary {
    /// Records written now.
    pub written: usize,
    /// Records skipped because the same build had written them already.
    pub skipped: usize,
    /// Records in the collection afterwards.
    pub total: u64,
    /// The build's fingerprint.
    pub build: String,
    /// The sequence collection's push, when the catalog has a sequence model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequencePush>,
}

/// What a push did to the sequence collection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SequencePush {
    /// Records written now.
    pub written: usize,
    /// Records skipped (already written by this build).
    pub skipped: usize,
    /// Records in the sequence collection afterwards.
    pub total: u64,
}

/// Pushes every item of `catalog` (which must have text embeddings) into
/// the collection of `source` in batches of `batch`, creating it if needed,
/// and, when the catalog has a sequence model, the items it covers into the
/// sequence collection (`COLLECTION-seq`: output vector with the bias
/// appended, the same metadata); the item records of those carry the
/// model's rows as `rc.seq` (output, bias, input); records the same build already wrote are
/// skipped, so an interrupted push resumes where it stopped. `build` names
/// the build (e.g. the bundle's checksum).
pub fn push_catalog(catalog: &Catalog, source: &ChromaSource, build: &str, batch: usize, mut progress: impl FnMut(Progress)) -> Result<PushSummary> {
    if !(1..=MAX_BATCH).contains(&batch) {
        return Err(Error::InvalidInput(format!("--batch {batch}: must be 1..={MAX_BATCH}")));
    }
    let text = catalog
        .text_embeddings()
        .ok_or_else(|| Error::InvalidInput("the catalog has no text embeddings to push".into()))?;
    futures::executor::block_on(async {
        source.ensure_collection(Collection::Items).await?;
        source.set_metadata(resident_metadata(catalog)).await?;
        let record = |i: usize| -> Result<Candidate> {
            let item = catalog.item(i as u32).ok_or_else(|| Error::InvalidCatalog(format!("no item {i}")))?;
            let vector = text.row(i).ok_or_else(|| Error::InvalidCatalog(format!("no text row {i}")))?;
            let popularity = catalog.popularity().get(i).copied().unwrap_or(0.0);
            let mut record = to_record(catalog.attributes(), &item, popularity, vector);
            record.metadata.insert(BUILD_FIELD.into(), Value::from(build));
            Ok(record)
        };
        // An item the sequence model covers carries its rows of the model
        // (output, bias, input): the device scores it, and folds it into the
        // user vector once it is in the history, without holding it.
        let model = catalog.sequence_model();
        let covered = model.map_or(0, |m| m.items().min(catalog.len()));
        let item_record = |i: usize| -> Result<Candidate> {
            let mut r = record(i)?;
            if let Some(model) = model.filter(|_| i < covered) {
                let mut row = model.output.row(i).ok_or_else(|| Error::InvalidCatalog(format!("no sequence row {i}")))?;
                row.push(model.bias.get(i).copied().unwrap_or(0.0));
                row.extend(model.input.row(i).ok_or_else(|| Error::InvalidCatalog(format!("no sequence input row {i}")))?);
                r.sequence = Some(row);
            }
            Ok(r)
        };
        let (written, skipped) = push_all(source, Collection::Items, catalog.len(), batch, build, "records pushed", &mut progress, &item_record).await?;
        let mut summary = PushSummary { written, skipped, total: source.count(Collection::Items).await?, build: build.to_string(), sequence: None };
        if let Some(model) = model {
            source.ensure_collection(Collection::Sequence).await?;
            let sequence_record = |i: usize| -> Result<Candidate> {
                let mut r = record(i)?;
                let mut v = model.output.row(i).ok_or_else(|| Error::InvalidCatalog(format!("no sequence row {i}")))?;
                v.push(model.bias.get(i).copied().unwrap_or(0.0));
                r.vector = v;
                r.document = None;
                Ok(r)
            };
            let (w, s) = push_all(source, Collection::Sequence, covered, batch, build, "sequence records pushed", &mut progress, &sequence_record).await?;
            summary.sequence = Some(SequencePush { written: w, skipped: s, total: source.count(Collection::Sequence).await? });
        }
        Ok(summary)
    })
}

/// Pushes records `0..n` made by `record` into `which`, skipping those the
/// same build wrote; returns (written, skipped).
#[allow(clippy::too_many_arguments)]
async fn push_all(
    source: &ChromaSource,
    which: Collection,
    n: usize,
    batch: usize,
    build: &str,
    phase: &str,
    progress: &mut impl FnMut(Progress),
    record: &dyn Fn(usize) -> Result<Candidate>,
) -> Result<(usize, usize)> {
    let (mut written, mut skipped) = (0, 0);
    let mut start = 0usize;
    while start < n {
        let end = start.saturating_add(batch).min(n);
        let mut records = (start..end).map(record).collect::<Result<Vec<_>>>()?;
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let done: std::collections::HashSet<String> = source.existing(which, &ids, BUILD_FIELD, build).await?.into_iter().collect();
        records.retain(|r| !done.contains(&r.id));
        skipped += done.len();
        if !records.is_empty() {
            source.upsert(which, &records).await?;
            written += records.len();
        }
        // A push sends the public catalog, about 8 KB a record: the ledger
        // keeps no copy of it (a million records would be gigabytes).
        source.ledger().clear();
        start = end;
        progress(Progress::step(phase, end, n));
    }
    Ok((written, skipped))
}

/// The collection metadata that lets a device without a bundle rank over
/// the collection: attribute definitions, text model, catalog name.
fn resident_metadata(catalog: &Catalog) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("created_by".into(), Value::from("recagent"));
    m.insert(NAME_KEY.into(), Value::from(catalog.name()));
    m.insert(ATTRIBUTES_KEY.into(), Value::from(serde_json::to_string(catalog.attributes()).unwrap_or_default()));
    if let Some(f) = catalog.text_model() {
        m.insert(TEXT_MODEL_KEY.into(), Value::from(format!("{}:{}", f.bytes, f.crc32)));
    }
    m
}

/// A resident catalog with no items, made from the collection's metadata
/// (what `push_catalog` wrote): for a device that ranks over the engine
/// without a bundle (no sequence model, so history counts through content
/// only). A collection recagent did not write is [`Error::Engine`].
pub fn resident_from_engine(source: &ChromaSource) -> Result<Catalog> {
    let metadata = futures::executor::block_on(source.metadata())?;
    let attributes: Vec<AttributeDef> = match metadata.get(ATTRIBUTES_KEY).and_then(Value::as_str) {
        Some(json) => serde_json::from_str(json).map_err(|e| Error::Engine(format!("{ATTRIBUTES_KEY}: {e}")))?,
        None => return Err(Error::Engine(format!("the collection has no {ATTRIBUTES_KEY}: was it written by recagent build-catalog --to?"))),
    };
    let text_model = match metadata.get(TEXT_MODEL_KEY).and_then(Value::as_str) {
        Some(s) => {
            let (bytes, crc) = s.split_once(':').ok_or_else(|| Error::Engine(format!("{TEXT_MODEL_KEY}: {s:?}")))?;
            let parse = |x: &str| x.parse::<u64>().map_err(|_| Error::Engine(format!("{TEXT_MODEL_KEY}: {s:?}")));
            Some(ModelFingerprint { bytes: parse(bytes)?, crc32: u32::try_from(parse(crc)?).map_err(|_| Error::Engine(format!("{TEXT_MODEL_KEY}: {s:?}")))? })
        }
        None => None,
    };
    Catalog::new(CatalogParts {
        name: metadata.get(NAME_KEY).and_then(Value::as_str).unwrap_or("engine").to_string(),
        attributes,
        text_model,
        ..CatalogParts::default()
    })
}
