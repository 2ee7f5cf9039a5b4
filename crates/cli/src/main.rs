//! `recagent` command-line interface (native only).
//!
//! Its interface is relied on by scripts and tests: keep it stable.

mod cli_agent;

mod cli {
    use crate::cli_agent::{self, CatalogArgs, EndpointArgs, UserArgs};
    use std::io::{BufRead, BufWriter, Write};
    use std::path::{Path, PathBuf};

    use clap::{Parser, Subcommand};
    use recagent_cli::offline::train::TrainConfig;
    use recagent_core::{Error, ImageEncoder, ImageEncoderOptions, Result, TextEncoder};
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
        /// Build a catalog bundle from a RecBole atomic dataset: item texts
        /// embedded with the text encoder (and images with the image
        /// encoder), popularity, and the sequence model trained on the
        /// dataset's interaction logs.
        BuildCatalog {
            /// Directory holding NAME.item (and NAME.inter for popularity and the sequence model).
            #[arg(long)]
            dataset: PathBuf,
            /// ONNX text encoder (the one the browser will run).
            #[arg(long)]
            model: PathBuf,
            /// BERT vocab.txt of the text encoder.
            #[arg(long)]
            vocab: PathBuf,
            /// ONNX image encoder; items' `image*` column holds file paths relative to DIR.
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
        },
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
        /// Long-term memory in a directory (created when missing): remember,
        /// recall, list, forget, export, import, forget-everything. JSON on
        /// stdout. Options go before or after the action word.
        Memory(MemoryArgs),
        /// Ask the agent: one JSON object `{"answer", "items", "trace",
        /// "sent"}` on stdout, where `sent` is the ledger of every request
        /// that left the machine (exact bytes).
        Ask {
            #[command(flatten)]
            endpoint: EndpointArgs,
            #[command(flatten)]
            catalog: CatalogArgs,
            /// Long-term memory directory (`recagent memory --dir`): recall,
            /// remember and the saved profile.
            #[arg(long)]
            memory: Option<PathBuf>,
            /// Privacy policy JSON (default: the request text and public item
            /// text only).
            #[arg(long)]
            policy: Option<PathBuf>,
            /// Approve every side-effecting tool call (autonomy 3); without
            /// it they are all refused.
            #[arg(long)]
            approve: bool,
            /// What the user asks for.
            request: String,
        },
        /// Conversational evaluation: simulated users with a hidden target
        /// (their held-out last item) talk to the on-device baseline
        /// (autonomy 0) and to the agent; hit rate within the turns and
        /// average turns, one JSON object on stdout.
        Simulate {
            #[command(flatten)]
            endpoint: EndpointArgs,
            #[command(flatten)]
            user: UserArgs,
            #[command(flatten)]
            catalog: CatalogArgs,
            /// RecBole dataset directory whose item ids the catalog uses.
            #[arg(long)]
            dataset: PathBuf,
            /// Simulated users (spread evenly over the dataset's users).
            #[arg(long, default_value_t = 50)]
            users: usize,
            /// Most turns per conversation.
            #[arg(long, default_value_t = 5)]
            turns: usize,
        },
    }

    /// `recagent memory [--dir DIR] [--model PATH --vocab PATH] ACTION`.
    #[derive(clap::Args)]
    struct MemoryArgs {
        /// Directory of the memory store (`DIR/memory.redb`); created when missing.
        #[arg(long, global = true)]
        dir: Option<PathBuf>,
        /// ONNX text encoder for embeddings (needed by remember and recall).
        #[arg(long, global = true)]
        model: Option<PathBuf>,
        /// BERT vocab.txt of the text encoder.
        #[arg(long, global = true)]
        vocab: Option<PathBuf>,
        #[command(subcommand)]
        action: MemoryAction,
    }

    #[derive(Subcommand)]
    enum MemoryAction {
        /// Store a fact in the user's words: `{"remembered": FACT}`.
        Remember {
            /// The fact ("vegetarian", "dislikes horror", "shoe size 8").
            text: String,
            /// Importance 0..=1 (default 0.5).
            #[arg(long)]
            importance: Option<f32>,
        },
        /// The facts that best match QUERY: `{"query", "results": [FACT + score, similarity, recency]}`.
        Recall {
            /// What to look for.
            query: String,
            /// How many facts.
            #[arg(long, default_value_t = 5)]
            k: usize,
        },
        /// Everything stored: `{"facts": [...], "episodes": [...], "working": {...}, "profile": bool}`.
        List,
        /// Delete a fact (and the episodes it came from) or an episode `eN`: `{"forgotten", "removed"}`.
        Forget {
            /// A fact id (`f3`) or an episode id (`e1`).
            id: String,
        },
        /// Turn episodes into facts (rule-based): `{"created", "updated", "removed"}`.
        Consolidate,
        /// Write the export document (format `recagent-memory`, version 1) to stdout.
        Export,
        /// Replace the memory with an export document: `{"imported": {"episodes", "facts"}}`.
        Import {
            /// The export document (`-` for stdin).
            file: PathBuf,
        },
        /// Delete every record: `{"removed": N, "left": 0}`.
        ForgetEverything,
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
        /// Hidden width of the sequence model's residual MLP: a number (0:
        /// plain pooling) or `auto` (0 or 256, chosen by held-out validation).
        #[arg(long, default_value = "auto")]
        hidden: String,
    }

    impl TrainArgs {
        fn config(&self) -> TrainConfig {
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
        fn candidates(&self) -> Result<Vec<usize>> {
            match self.hidden.as_str() {
                "auto" => Ok(vec![0, 256]),
                n => n.parse::<usize>().map(|_| Vec::new()).map_err(|_| {
                    Error::InvalidInput(format!("--hidden {n:?}: expected a number or auto"))
                }),
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
    fn build_catalog(
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

    /// A fact as the CLI prints it: without its embedding.
    fn fact_view(fact: &recagent_core::memory::Fact) -> serde_json::Value {
        let mut v = serde_json::to_value(fact).expect("fact serializes");
        if let Some(o) = v.as_object_mut() {
            o.remove("embedding");
        }
        v
    }

    fn memory(args: MemoryArgs) -> Result<()> {
        use recagent_cli::FileKvStore;
        use recagent_core::memory::{Memory, RememberOptions};
        use recagent_cli::SystemClock;
        use std::rc::Rc;

        let dir = args
            .dir
            .ok_or_else(|| Error::InvalidInput("memory needs --dir DIR".into()))?;
        let needs_model = matches!(
            args.action,
            MemoryAction::Remember { .. } | MemoryAction::Recall { .. }
        );
        let embedder = match (&args.model, &args.vocab) {
            (Some(model), Some(vocab)) => {
                let vocab = std::fs::read_to_string(vocab)
                    .map_err(|e| Error::Io(format!("{}: {e}", vocab.display())))?;
                Some(TextEncoder::from_bytes(&read(model)?, &vocab)?)
            }
            (None, None) if !needs_model => None,
            _ => {
                return Err(Error::InvalidInput(
                    "remember and recall need --model PATH and --vocab PATH (the text encoder)"
                        .into(),
                ))
            }
        };
        let store = Rc::new(FileKvStore::open(&dir)?);
        futures::executor::block_on(async move {
            let mut mem = Memory::open(store, Rc::new(SystemClock)).await?;
            if let Some(e) = embedder {
                mem = mem.with_embedder(Rc::new(e));
            }
            let out = match args.action {
                MemoryAction::Remember { text, importance } => {
                    let options = RememberOptions {
                        importance,
                        ..Default::default()
                    };
                    let fact = mem.remember_with(&text, options).await?;
                    json!({ "remembered": fact_view(&fact) })
                }
                MemoryAction::Recall { query, k } => {
                    let results: Vec<_> = mem
                        .recall(&query, k)
                        .await?
                        .iter()
                        .map(|r| {
                            let mut v = fact_view(&r.fact);
                            v["score"] = json!(r.score);
                            v["similarity"] = json!(r.similarity);
                            v["recency"] = json!(r.recency);
                            v
                        })
                        .collect();
                    json!({ "query": query, "results": results })
                }
                MemoryAction::List => {
                    let facts: Vec<_> = mem.facts().await?.iter().map(fact_view).collect();
                    json!({
                        "facts": facts,
                        "episodes": mem.episodes().await?,
                        "working": mem.working().await?,
                        "profile": mem.profile().await?.is_some(),
                    })
                }
                MemoryAction::Forget { id } => {
                    let removed = mem.forget(&id).await?;
                    json!({ "forgotten": id, "removed": removed })
                }
                MemoryAction::Consolidate => json!(mem.consolidate().await?),
                MemoryAction::Export => {
                    println!("{}", mem.export().await?);
                    return Ok(());
                }
                MemoryAction::Import { file } => {
                    let text = if file.as_os_str() == "-" {
                        std::io::read_to_string(std::io::stdin())?
                    } else {
                        std::fs::read_to_string(&file)
                            .map_err(|e| Error::Io(format!("{}: {e}", file.display())))?
                    };
                    let (episodes, facts) = mem.import(&text).await?;
                    json!({ "imported": { "episodes": episodes, "facts": facts } })
                }
                MemoryAction::ForgetEverything => {
                    let removed = mem.forget_everything().await?;
                    let left = mem.store().scan_prefix("").await?.len();
                    json!({ "removed": removed, "left": left })
                }
            };
            println!("{out}");
            Ok(())
        })
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
            Command::BuildCatalog {
                dataset,
                model,
                vocab,
                image_model,
                out,
                quantize,
                no_train,
                train,
            } => train.candidates().and_then(|select| {
                build_catalog(
                    &dataset,
                    &model,
                    &vocab,
                    image_model.as_deref(),
                    &out,
                    quantize,
                    (!no_train).then(|| train.config()),
                    select,
                )
            }),
            Command::Eval {
                dataset,
                model,
                vocab,
                k,
                models,
                train,
            } => train.candidates().and_then(|select| {
                eval(&dataset, model.as_deref(), vocab.as_deref(), k, &models, &train.config(), select)
            }),
            Command::Memory(args) => memory(args),
            Command::Ask {
                endpoint,
                catalog,
                memory,
                policy,
                approve,
                request,
            } => cli_agent::ask(endpoint, catalog, memory, policy, approve, request),
            Command::Simulate {
                endpoint,
                user,
                catalog,
                dataset,
                users,
                turns,
            } => cli_agent::simulate_cmd(endpoint, user, catalog, dataset, users, turns),
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

fn main() -> std::process::ExitCode {
    cli::main()
}
