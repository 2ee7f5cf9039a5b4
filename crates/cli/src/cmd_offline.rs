//! The offline commands: `embed-text`, `embed-image`, `eval` and
//! `build-catalog`.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use recagent_cli::offline::train::TrainConfig;
use recagent_core::{Error, ImageEncoder, ImageEncoderOptions, Result, TextEncoder};
use serde::Deserialize;
use serde_json::json;

use crate::prefix;

/// Hyper-parameters of the sequence model (defaults: the README's figures).
#[derive(clap::Args, Clone)]
pub(crate) struct TrainArgs {
    /// Width of the item vectors of the sequence model.
    #[arg(long, default_value_t = TrainConfig::default().dim)]
    dim: usize,
    /// Training epochs of the sequence model.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// History items the user vector looks at.
    #[arg(long, default_value_t = TrainConfig::default().window)]
    window: usize,
    /// Seed of the sequence model's initialisation and shuffling.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Hidden width of the sequence model's residual MLP: a number (0:
    /// plain pooling) or `auto` (0 or 256, chosen by held-out validation).
    #[arg(long, default_value = "auto")]
    hidden: String,
}

impl TrainArgs {
    pub(crate) fn config(&self) -> TrainConfig {
        TrainConfig {
            dim: self.dim,
            epochs: self.epochs,
            window: self.window,
            seed: self.seed,
            hidden: self.hidden.parse().unwrap_or(TrainConfig::default().hidden),
            ..TrainConfig::default()
        }
    }

    /// The MLP widths to choose from (`auto`), or none (a fixed width).
    pub(crate) fn candidates(&self) -> Result<Vec<usize>> {
        match self.hidden.as_str() {
            "auto" => Ok(vec![0, 256]),
            n => n.parse::<usize>().map(|_| Vec::new()).map_err(|_| {
                Error::InvalidInput(format!("--hidden {n:?}: expected a number or auto"))
            }),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TextLine {
    text: String,
}

/// The bytes of `path`, or an `io_error` naming it.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// `recagent embed-text`: JSON lines `{"text"}` in, `{"ids", "embedding"}` out.
pub(crate) fn embed_text(model: &Path, vocab: &Path, batch: usize) -> Result<()> {
    let vocab = String::from_utf8(read(vocab)?)
        .map_err(|_| Error::InvalidVocab("vocab file is not UTF-8".into()))?;
    let encoder = TextEncoder::from_bytes(&read(model)?, &vocab)?;
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut pending: Vec<String> = Vec::new();
    let flush = |pending: &mut Vec<String>, out: &mut dyn Write| -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let embeddings = encoder.embed_batch(pending)?;
        for (text, embedding) in pending.iter().zip(embeddings) {
            let line = json!({ "ids": encoder.tokenize(text), "embedding": embedding });
            writeln!(out, "{line}")?;
        }
        pending.clear();
        Ok(())
    };
    for (n, line) in stdin.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: TextLine = serde_json::from_str(&line).map_err(|e| {
            Error::InvalidInput(format!(
                "stdin line {}: expected {{\"text\": \"...\"}}: {e}",
                n + 1
            ))
        })?;
        pending.push(parsed.text);
        if pending.len() >= batch.max(1) {
            flush(&mut pending, &mut out)?;
        }
    }
    flush(&mut pending, &mut out)?;
    out.flush()?;
    Ok(())
}

/// `recagent embed-image`: one `{"file", "top5", "embedding"}` line per image.
pub(crate) fn embed_image(
    model: &Path,
    preprocessed: bool,
    options: ImageEncoderOptions,
    files: &[PathBuf],
) -> Result<()> {
    let encoder = ImageEncoder::from_bytes(&read(model)?, options)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for file in files {
        let bytes = read(file)?;
        let result = if preprocessed {
            if bytes.len() % 4 != 0 {
                return Err(Error::InvalidInput(format!(
                    "{}: a raw f32 tensor must have a multiple of 4 bytes",
                    file.display()
                )));
            }
            let tensor: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            encoder.embed_tensor(&tensor)
        } else {
            encoder.embed_encoded(&bytes)
        }
        .map_err(|e| prefix(e, file))?;
        let line = json!({
            "file": file.display().to_string(),
            "top5": result.top_k(5),
            "embedding": result.embedding,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// `recagent eval`: HR/NDCG/coverage of recagent and the baselines on a dataset.
pub(crate) fn eval(
    dataset: &Path,
    model: Option<&Path>,
    vocab: Option<&Path>,
    k: usize,
    names: &[String],
    train: &TrainConfig,
    select_hidden: Vec<usize>,
) -> Result<()> {
    let needs_text = names.iter().any(|n| n == "content" || n == "recagent");
    let (encoder, model_bytes) = match (needs_text, model, vocab) {
        (true, Some(model), Some(vocab)) => {
            let vocab = String::from_utf8(read(vocab)?)
                .map_err(|_| Error::InvalidVocab("vocab file is not UTF-8".into()))?;
            let bytes = read(model)?;
            (Some(TextEncoder::from_bytes(&bytes, &vocab)?), bytes)
        }
        _ => (None, Vec::new()),
    };
    let models = names
        .iter()
        .map(|n| match (n.trim(), encoder.as_ref()) {
            ("recagent", Some(encoder)) => Ok(recagent_cli::eval::Model::recagent(
                encoder,
                &model_bytes,
                train.clone(),
                select_hidden.clone(),
            )),
            ("recagent", None) => Err(Error::InvalidInput(
                "the recagent model needs the text encoder (--model, --vocab)".into(),
            )),
            (name, encoder) => recagent_cli::eval::Model::baseline(name, encoder),
        })
        .collect::<Result<Vec<_>>>()?;
    let start = std::time::Instant::now();
    let report = recagent_cli::eval::run_models(dataset, k, &models, |m| {
        eprintln!("[{:7.2} s] {m}", start.elapsed().as_secs_f64())
    })?;
    println!("{report}");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build_catalog(
    dir: &Path,
    model: &Path,
    vocab: &Path,
    image_model: Option<&Path>,
    out: &Path,
    quantize: bool,
    train: Option<TrainConfig>,
    select_hidden: Vec<usize>,
) -> Result<()> {
    use recagent_cli::offline::build::{build_catalog, BuildOptions, Encoders};
    use recagent_cli::offline::dataset::{all_interactions, build_input};
    let start = std::time::Instant::now();
    let log = |m: &str| eprintln!("[{:7.2} s] {m}", start.elapsed().as_secs_f64());
    let dataset = recagent_cli::eval::load_dir(dir)?;
    log(&format!(
        "loaded {}: {} items, {} users, {} interactions",
        dataset.name,
        dataset.items.len(),
        dataset.users.len(),
        dataset.interactions.len()
    ));
    let vocab = String::from_utf8(read(vocab)?)
        .map_err(|_| Error::InvalidVocab("vocab file is not UTF-8".into()))?;
    let model_bytes = read(model)?;
    let text = TextEncoder::from_bytes(&model_bytes, &vocab)?;
    let mut input = build_input(&dataset, None, all_interactions(&dataset));
    let image_encoder = match image_model {
        Some(path) => {
            let column = dataset
                .item_table
                .columns()
                .iter()
                .position(|c| c.name.to_ascii_lowercase().contains("image"))
                .ok_or_else(|| {
                    Error::InvalidInput(
                        "--image-model given, but the .item file has no image column".into(),
                    )
                })?;
            for (item, row) in input.items.iter_mut().zip(0u32..) {
                if let recagent_cli::eval::Cell::Token(p) = dataset.item_table.value(row, column) {
                    item.image = Some(p.clone());
                }
            }
            Some(ImageEncoder::from_bytes(&read(path)?, ImageEncoderOptions::default())?)
        }
        None => None,
    };
    let load = |p: &str| read(&dir.join(p));
    let encoders = Encoders {
        text: Some((&text, &model_bytes)),
        image: image_encoder.as_ref().map(|e| (e, &load as &dyn Fn(&str) -> Result<Vec<u8>>)),
    };
    let options = BuildOptions {
        train,
        select_hidden,
        quantize,
    };
    let catalog = build_catalog(input, &encoders, &options, |m| log(m))?;
    let bytes = catalog.to_bundle()?;
    std::fs::write(out, &bytes).map_err(|e| Error::Io(format!("{}: {e}", out.display())))?;
    log(&format!(
        "wrote {}: {} items, {} bytes, {:.1} MB in memory once loaded",
        out.display(),
        catalog.len(),
        bytes.len(),
        catalog.memory_bytes() as f64 / 1e6
    ));
    let summary = json!({
        "out": out.display().to_string(),
        "items": catalog.len(),
        "bytes": bytes.len(),
        "memoryBytes": catalog.memory_bytes(),
        "text": catalog.text_embeddings().map(|t| t.dim()),
        "image": catalog.image_embeddings().map(|t| t.dim()),
        "sequenceModel": catalog.sequence_model().map(|s| json!({"dim": s.dim, "window": s.window, "hidden": s.hidden})),
        "quantized": quantize,
    });
    println!("{summary}");
    Ok(())
}
