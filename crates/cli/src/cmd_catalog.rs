//! `recagent build-catalog`: a catalog bundle from an app's own item file
//! (JSON Lines or CSV) and optional interaction file, or from a RecBole
//! atomic dataset; progress on stderr, a one-line JSON summary on stdout.

use std::path::{Path, PathBuf};

use recagent_cli::offline::build::{build_catalog as build, BuildInput, BuildOptions, Encoders};
use recagent_cli::offline::dataset::{all_interactions, build_input};
use recagent_cli::offline::from_records::records_input;
use recagent_cli::offline::images::ImageSource;
use recagent_core::catalog::{AttributeDef, AttributeKind};
use recagent_core::{Error, ImageEncoder, ImageEncoderOptions, Result, TextEncoder};
use serde_json::json;

use crate::cmd_offline::{read, TrainArgs};
use crate::progress_ui::Reporter;
use crate::text_options::TextModelArgs;

/// The options of `build-catalog`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["dataset", "items"])))]
pub(crate) struct BuildCatalogArgs {
    /// The app's items: JSON Lines (.jsonl, .ndjson: one object
    /// {"id", "title", "text"?, "attributes"?, "image"?} per line) or CSV
    /// (.csv: a header row with id, title, text?, image? and any other
    /// column an attribute). Conflicts with --dataset.
    #[arg(long, value_name = "FILE")]
    items: Option<PathBuf>,
    /// Interactions for popularity and the sequence model (with --items):
    /// JSON Lines {"user", "item", "timestamp"?, "rating"?} or CSV with
    /// those columns. Interactions naming an unknown item are skipped.
    #[arg(long, value_name = "FILE", requires = "items")]
    interactions: Option<PathBuf>,
    /// A RecBole atomic dataset instead: the directory holding NAME.item
    /// (and NAME.inter for popularity and the sequence model).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["items", "interactions"])]
    dataset: Option<PathBuf>,
    /// ONNX text encoder (the one the browser will run).
    #[arg(long)]
    model: PathBuf,
    /// The text encoder's vocabulary: a BERT vocab.txt or a Hugging Face
    /// tokenizer.json (WordPiece).
    #[arg(long)]
    vocab: PathBuf,
    #[command(flatten)]
    text_options: TextModelArgs,
    /// ONNX image encoder: embeds every item's image (an `image` path
    /// relative to the items file's folder or to DIR, or an http(s) URL,
    /// fetched now). Without it images are kept as references only.
    #[arg(long)]
    image_model: Option<PathBuf>,
    /// Where to write the bundle.
    #[arg(long)]
    out: PathBuf,
    /// Store the text/image matrices as int8 (4x smaller; for big catalogs).
    #[arg(long)]
    quantize: bool,
    /// Do not train the sequence model (content and popularity only).
    #[arg(long)]
    no_train: bool,
    #[command(flatten)]
    train: TrainArgs,
    #[command(flatten)]
    engine: EngineOutArgs,
}

/// Where else a built catalog goes: a candidate engine, a small bundle.
#[derive(clap::Args)]
pub(crate) struct EngineOutArgs {
    /// Also push the catalog's public records into a candidate engine:
    /// chroma+http://HOST:PORT/COLLECTION (created if missing; batched;
    /// a push that stopped resumes where it stopped).
    #[arg(long, value_name = "ADDRESS")]
    to: Option<String>,
    /// Records per push request (1..=5000).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Also write the small bundle a device loads when the catalog lives in
    /// an engine: no embeddings; the attributes, the text model's
    /// fingerprint, and the --small-items most popular items the sequence
    /// model covers, with the model cut to them.
    #[arg(long, value_name = "FILE")]
    small_out: Option<PathBuf>,
    /// Most items in the small bundle.
    #[arg(long, default_value_t = recagent_core::catalog::working::SMALL_BUNDLE_ITEMS)]
    small_items: usize,
}

/// `recagent push-catalog`: `--to` and `--small-out` for a built bundle.
pub(crate) fn push_catalog(path: &Path, args: &EngineOutArgs) -> Result<()> {
    if args.to.is_none() && args.small_out.is_none() {
        return Err(Error::InvalidInput("give --to ADDRESS, --small-out FILE, or both".into()));
    }
    let bytes = read(path)?;
    let catalog = recagent_core::Catalog::from_bundle(&bytes)?;
    let mut reporter = Reporter::new();
    reporter.note(&format!("read {}: {} items", path.display(), catalog.len()));
    let out = to_engine(&catalog, &bytes, args, &mut reporter)?;
    println!("{out}");
    Ok(())
}

/// `--to` and `--small-out` for `catalog`, whose bundle is `bytes`.
pub(crate) fn to_engine(catalog: &recagent_core::Catalog, bytes: &[u8], args: &EngineOutArgs, reporter: &mut Reporter) -> Result<serde_json::Value> {
    let mut out = json!({});
    if let Some(path) = &args.small_out {
        let small = catalog.small(args.small_items)?.to_bundle()?;
        std::fs::write(path, &small).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        reporter.note(&format!("summary: wrote the small bundle {}: {} bytes", path.display(), small.len()));
        out["smallOut"] = json!({"path": path.display().to_string(), "bytes": small.len()});
    }
    if let Some(address) = &args.to {
        let source = recagent_cli::engine::chroma(address, recagent_core::agent::llm::Ledger::new())?;
        // The bundle and the record layout: a new layout rewrites every record.
        let build = format!(
            "{:08x}-{}-l{}",
            recagent_core::catalog::ModelFingerprint::of(bytes).crc32,
            bytes.len(),
            recagent_core::catalog::engine_record::LAYOUT_VERSION
        );
        let summary = recagent_cli::engine::push_catalog(catalog, &source, &build, args.batch, |p| reporter.report(p))?;
        reporter.finish();
        reporter.note(&format!(
            "summary: pushed to {address}: {} records written, {} already there from this build, {} in the collection",
            summary.written, summary.skipped, summary.total
        ));
        out["pushed"] = serde_json::to_value(&summary).unwrap_or_default();
    }
    Ok(out)
}

/// What the input gave, for the summary.
struct Figures {
    interactions: usize,
    users: usize,
    unknown_items: usize,
    with_images: usize,
}

/// `recagent build-catalog` (see the module docs).
pub(crate) fn build_catalog(args: BuildCatalogArgs) -> Result<()> {
    let select_hidden = args.train.candidates()?;
    let mut reporter = Reporter::new();
    let (input, figures, image_base) = match (&args.dataset, &args.items) {
        (Some(dir), None) => from_dataset(dir, args.image_model.is_some(), &mut reporter)?,
        (None, Some(items)) => from_records(items, args.interactions.as_deref(), &mut reporter)?,
        _ => return Err(Error::InvalidInput("give exactly one of --items FILE and --dataset DIR".into())),
    };
    if args.image_model.is_some() && figures.with_images == 0 {
        return Err(Error::InvalidInput("--image-model given, but no item has an image".into()));
    }
    let vocab = String::from_utf8(read(&args.vocab)?)
        .map_err(|_| Error::InvalidVocab(format!("{}: not UTF-8", args.vocab.display())))?;
    let model_bytes = read(&args.model)?;
    let text = TextEncoder::with_options(&model_bytes, &vocab, args.text_options.options())?;
    let image_encoder = match &args.image_model {
        Some(path) => Some(ImageEncoder::from_bytes(&read(path)?, ImageEncoderOptions::default())?),
        None => None,
    };
    let images = ImageSource::new(image_base);
    let load = |reference: &str| images.load(reference);
    let encoders = Encoders {
        text: Some((&text, &model_bytes)),
        image: image_encoder.as_ref().map(|e| (e, &load as &dyn Fn(&str) -> Result<Vec<u8>>)),
    };
    let options = BuildOptions {
        train: (!args.no_train).then(|| args.train.config()),
        select_hidden,
        quantize: args.quantize,
    };
    let attributes = input.attributes.clone();
    let used = input.interactions.len();
    let catalog = build(input, &encoders, &options, |p| reporter.report(p))?;
    let bytes = catalog.to_bundle()?;
    let out = &args.out;
    std::fs::write(out, &bytes).map_err(|e| Error::Io(format!("{}: {e}", out.display())))?;
    reporter.finish();
    let kinds: Vec<String> = attributes.iter().map(|a| format!("{}: {}", a.name, kind(a.kind))).collect();
    reporter.note(&format!(
        "summary: {} items, {} attributes{}",
        catalog.len(),
        attributes.len(),
        if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) }
    ));
    reporter.note(&format!(
        "summary: {used} interactions used ({} users), {} skipped because their item is unknown",
        figures.users, figures.unknown_items
    ));
    reporter.note(&format!(
        "summary: {} items with an image{}",
        figures.with_images,
        if catalog.image_embeddings().is_some() { " (embedded)" } else { "" }
    ));
    reporter.note(&format!(
        "summary: wrote {}: {} bytes, {:.1} MB in memory once loaded",
        out.display(),
        bytes.len(),
        catalog.memory_bytes() as f64 / 1e6
    ));
    let pushed = to_engine(&catalog, &bytes, &args.engine, &mut reporter)?;
    let mut summary = json!({
        "out": out.display().to_string(),
        "items": catalog.len(),
        "bytes": bytes.len(),
        "memoryBytes": catalog.memory_bytes(),
        "attributes": attributes.iter().map(|a| json!({"name": a.name, "kind": kind(a.kind)})).collect::<Vec<_>>(),
        "interactions": used,
        "interactionsRead": figures.interactions,
        "users": figures.users,
        "unknownItems": figures.unknown_items,
        "itemsWithImages": figures.with_images,
        "text": catalog.text_embeddings().map(|t| t.dim()),
        "image": catalog.image_embeddings().map(|t| t.dim()),
        "sequenceModel": catalog.sequence_model().map(|s| json!({"dim": s.dim, "window": s.window, "hidden": s.hidden})),
        "quantized": args.quantize,
    });
    if let (Some(s), Some(p)) = (summary.as_object_mut(), pushed.as_object()) {
        s.extend(p.clone());
    }
    println!("{summary}");
    Ok(())
}

fn kind(k: AttributeKind) -> &'static str {
    match k {
        AttributeKind::Text => "text",
        AttributeKind::Tags => "tags",
        AttributeKind::Number => "number",
    }
}

/// The input from a RecBole atomic dataset; items take their image from
/// the first column whose name holds `image` when `images` is set.
fn from_dataset(dir: &Path, images: bool, reporter: &mut Reporter) -> Result<(BuildInput, Figures, PathBuf)> {
    let dataset = recagent_cli::eval::load_dir(dir)?;
    reporter.note(&format!(
        "loaded {}: {} items, {} users, {} interactions",
        dataset.name,
        dataset.items.len(),
        dataset.users.len(),
        dataset.interactions.len()
    ));
    let mut input = build_input(&dataset, None, all_interactions(&dataset));
    if images {
        let column = dataset
            .item_table
            .columns()
            .iter()
            .position(|c| c.name.to_ascii_lowercase().contains("image"))
            .ok_or_else(|| Error::InvalidInput("--image-model given, but the .item file has no image column".into()))?;
        for (item, row) in input.items.iter_mut().zip(0u32..) {
            if let recagent_cli::eval::Cell::Token(p) = dataset.item_table.value(row, column) {
                item.image = Some(p.clone());
            }
        }
    }
    let figures = Figures {
        interactions: dataset.interactions.len(),
        users: dataset.users.len(),
        unknown_items: 0,
        with_images: input.items.iter().filter(|i| i.image.is_some()).count(),
    };
    Ok((input, figures, dir.to_path_buf()))
}

/// The input from the app's item file and optional interaction file.
fn from_records(items: &Path, interactions: Option<&Path>, reporter: &mut Reporter) -> Result<(BuildInput, Figures, PathBuf)> {
    let read = records_input(items, interactions)?;
    let described: Vec<String> = read.input.attributes.iter().map(describe).collect();
    reporter.note(&format!(
        "read {}: {} items, attributes: {}",
        items.display(),
        read.input.items.len(),
        if described.is_empty() { "none".to_string() } else { described.join(", ") }
    ));
    if let Some(path) = interactions {
        reporter.note(&format!(
            "read {}: {} interactions, {} used ({} users), {} skipped because their item is unknown",
            path.display(),
            read.interactions_read,
            read.input.interactions.len(),
            read.users,
            read.unknown_items
        ));
    }
    let figures = Figures {
        interactions: read.interactions_read,
        users: read.users,
        unknown_items: read.unknown_items,
        with_images: read.with_images,
    };
    Ok((read.input, figures, read.image_base))
}

fn describe(a: &AttributeDef) -> String {
    format!("{} ({})", a.name, kind(a.kind))
}
