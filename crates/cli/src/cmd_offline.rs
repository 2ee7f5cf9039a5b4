//! The offline commands `embed-text`, `embed-image` and `eval`, and the
//! options they share with `build-catalog` ([`crate::cmd_catalog`]).

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use recagent_cli::offline::train::TrainConfig;
use recagent_core::encoder::TextEncoderOptions;
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
pub(crate) fn embed_text(model: &Path, vocab: &Path, options: &TextEncoderOptions, batch: usize) -> Result<()> {
    let vocab = String::from_utf8(read(vocab)?)
        .map_err(|_| Error::InvalidVocab("vocab file is not UTF-8".into()))?;
    let encoder = TextEncoder::with_options(&read(model)?, &vocab, options.clone())?;
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

/// `recagent eval`: HR/NDCG/coverage of recagent and the baselines on a
/// dataset (`quantize`: recagent over its int8 catalog).
pub(crate) fn eval(
    dataset: &Path,
    model: Option<&Path>,
    vocab: Option<&Path>,
    k: usize,
    names: &[String],
    train: &TrainConfig,
    select_hidden: Vec<usize>,
    quantize: bool,
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
                quantize,
            )),
            ("recagent", None) => Err(Error::InvalidInput(
                "the recagent model needs the text encoder (--model, --vocab)".into(),
            )),
            (name, encoder) => recagent_cli::eval::Model::baseline(name, encoder),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut reporter = crate::progress_ui::Reporter::new();
    let report = recagent_cli::eval::run_models(dataset, k, &models, |p| reporter.report(p))?;
    reporter.finish();
    println!("{report}");
    Ok(())
}
