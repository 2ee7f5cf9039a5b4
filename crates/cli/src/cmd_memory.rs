//! `recagent memory`: the long-term memory in a folder (the redb file store),
//! from the command line.

use std::path::PathBuf;

use clap::Subcommand;
use recagent_core::{Error, Result, TextEncoder};
use serde_json::json;

use crate::cmd_offline::read;

/// `recagent memory [--dir DIR] [--model PATH --vocab PATH] ACTION`.
#[derive(clap::Args)]
pub(crate) struct MemoryArgs {
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
pub(crate) enum MemoryAction {
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
    /// Everything stored: `{"facts": [...], "episodes": [...], "working": {...}, "profile": bool, "corrupt": N}`
    /// (`corrupt`: records found corrupt and set aside; each is also named on stderr when found).
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


/// A fact as the CLI prints it: without its embedding.
pub(crate) fn fact_view(fact: &recagent_core::memory::Fact) -> serde_json::Value {
    let mut v = serde_json::to_value(fact).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("embedding");
    }
    v
}

/// Runs one `recagent memory` action; prints JSON lines on stdout.
pub(crate) fn memory(args: MemoryArgs) -> Result<()> {
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
        mem.on_corrupt(|record| {
            eprintln!(
                "recagent: warning: memory record {:?} is corrupt ({}); {}",
                record.key,
                record.reason,
                if record.set_aside { "set aside under corrupt/ (kept by export)" } else { "skipped" }
            );
        });
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
                    "corrupt": mem.corrupt_count().await?,
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
