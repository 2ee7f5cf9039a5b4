//! `recagent` command-line interface (native only).
//!
//! Its interface is relied on by scripts and tests: keep it stable.

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::io::{BufRead, BufWriter, Write};
    use std::path::{Path, PathBuf};

    use clap::{Parser, Subcommand};
    use recagent::catalog::train::TrainConfig;
    use recagent::{Error, ImageEncoder, ImageEncoderOptions, Result, TextEncoder};
    use serde::Deserialize;
    use serde_json::json;

    /// A private recommender agent: on-device encoders, profile and ranking.
    #[derive(Parser)]
    #[command(name = "recagent", version, about)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Embed texts: reads JSON Lines `{"text": "..."}` from stdin, writes
        /// one line `{"ids": [...], "embedding": [...]}` per input.
        EmbedText {
            /// ONNX text encoder (e.g. MiniLM).
            #[arg(long)]
            model: PathBuf,
            /// BERT vocab.txt, one token per line.
            #[arg(long)]
            vocab: PathBuf,
            /// Texts embedded per model call.
            #[arg(long, default_value_t = 32)]
            batch: usize,
        },
        /// Embed images: writes one line `{"file", "top5", "embedding"}` per FILE.
        EmbedImage {
            /// ONNX image encoder (f32 [batch, 3, 224, 224] input).
            #[arg(long)]
            model: PathBuf,
            /// Each FILE is a raw little-endian f32 1x3x224x224 tensor, already preprocessed.
            #[arg(long)]
            preprocessed: bool,
            /// Name of the model output used as the embedding (default: `embedding`).
            #[arg(long)]
            embedding_output: Option<String>,
            /// Name of the class-score output used for top5 (default: `output` or `logits`).
            #[arg(long)]
            logits_output: Option<String>,
            /// PNG or JPEG files (or raw tensors with --preprocessed).
            #[arg(required = true)]
            files: Vec<PathBuf>,
        },
        /// Offline evaluation on a RecBole atomic dataset (5-core,
        /// leave-one-out, full ranking): one JSON object on stdout.
        Eval {
            /// Directory holding NAME.inter (and optionally NAME.item).
            #[arg(long)]
            dataset: PathBuf,
            /// ONNX text encoder for the content model.
            #[arg(long)]
            model: Option<PathBuf>,
            /// BERT vocab.txt for the content model.
            #[arg(long)]
            vocab: Option<PathBuf>,
            /// Cut-off of HR@k, NDCG@k and coverage.
            #[arg(long, default_value_t = 10)]
            k: usize,
            /// Comma-separated models to evaluate: recagent, popularity, content, ease, itemknn.
            #[arg(long, value_delimiter = ',', default_value = "recagent,popularity,content,ease")]
            models: Vec<String>,
            #[command(flatten)]
            train: TrainArgs,
        },
    }

    /// Hyper-parameters of the sequence model (defaults: the README's figures).
    #[derive(clap::Args, Clone)]
    struct TrainArgs {
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
    }

    impl TrainArgs {
        fn config(&self) -> TrainConfig {
            TrainConfig {
                dim: self.dim,
                epochs: self.epochs,
                window: self.window,
                seed: self.seed,
                ..TrainConfig::default()
            }
        }
    }

    #[derive(Deserialize)]
    struct TextLine {
        text: String,
    }

    fn read(path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
    }

    fn embed_text(model: &Path, vocab: &Path, batch: usize) -> Result<()> {
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

    fn embed_image(
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

    fn eval(
        dataset: &Path,
        model: Option<&Path>,
        vocab: Option<&Path>,
        k: usize,
        names: &[String],
        train: &TrainConfig,
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
                ("recagent", Some(encoder)) => Ok(recagent::eval::Model::recagent(
                    encoder,
                    &model_bytes,
                    train.clone(),
                )),
                ("recagent", None) => Err(Error::InvalidInput(
                    "the recagent model needs the text encoder (--model, --vocab)".into(),
                )),
                (name, encoder) => recagent::eval::Model::baseline(name, encoder),
            })
            .collect::<Result<Vec<_>>>()?;
        let start = std::time::Instant::now();
        let report = recagent::eval::run_models(dataset, k, &models, |m| {
            eprintln!("[{:7.2} s] {m}", start.elapsed().as_secs_f64())
        })?;
        println!("{report}");
        Ok(())
    }

    fn prefix(e: Error, file: &Path) -> Error {
        let f = file.display();
        match e {
            Error::InvalidImage(m) => Error::InvalidImage(format!("{f}: {m}")),
            Error::ImageTooLarge(m) => Error::ImageTooLarge(format!("{f}: {m}")),
            Error::InvalidInput(m) => Error::InvalidInput(format!("{f}: {m}")),
            other => other,
        }
    }

    pub fn main() -> std::process::ExitCode {
        let cli = Cli::parse();
        let result = match cli.command {
            Command::EmbedText {
                model,
                vocab,
                batch,
            } => embed_text(&model, &vocab, batch),
            Command::EmbedImage {
                model,
                preprocessed,
                embedding_output,
                logits_output,
                files,
            } => {
                let options = ImageEncoderOptions {
                    embedding_output,
                    logits_output,
                    ..Default::default()
                };
                embed_image(&model, preprocessed, options, &files)
            }
            Command::Eval {
                dataset,
                model,
                vocab,
                k,
                models,
                train,
            } => eval(&dataset, model.as_deref(), vocab.as_deref(), k, &models, &train.config()),
        };
        match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                let message = e.to_string().replace('\n', " ");
                eprintln!("recagent: error[{}]: {message}", e.code());
                std::process::ExitCode::FAILURE
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
