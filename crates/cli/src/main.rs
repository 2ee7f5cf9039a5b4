//! `recagent` command-line interface (native only).
//!
//! Its interface is relied on by scripts and tests: keep it stable.

mod cli_agent;
mod cmd_agent_bench;
mod cmd_catalog;
mod cmd_memory;
mod cmd_offline;
mod progress_ui;
mod text_options;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use recagent_core::{Error, ImageEncoderOptions};

use crate::cli_agent::{CatalogArgs, EndpointArgs, UserArgs};
use crate::cmd_memory::{memory, MemoryArgs};
use crate::cmd_catalog::{build_catalog, push_catalog, BuildCatalogArgs, EngineOutArgs};
use crate::cli_agent::CandidatesArgs;
use crate::cmd_offline::{embed_image, embed_text, eval, TrainArgs};
use crate::text_options::TextModelArgs;

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
        /// The vocabulary: a BERT vocab.txt or a Hugging Face tokenizer.json (WordPiece).
        #[arg(long)]
        vocab: PathBuf,
        #[command(flatten)]
        text_options: TextModelArgs,
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
    /// Build a catalog bundle from the app's own items (JSON Lines or
    /// CSV, --items) and optional interactions (--interactions), or from a
    /// RecBole atomic dataset (--dataset): item texts embedded with the
    /// text encoder (and images with the image encoder), popularity, and
    /// the sequence model trained on the interactions. Progress on stderr,
    /// a one-line JSON summary on stdout.
    BuildCatalog(BuildCatalogArgs),
    /// Push a built catalog bundle's public records into a candidate engine
    /// (--to chroma+http://HOST:PORT/COLLECTION; batched, resumable, with
    /// progress) and/or write its small bundle (--small-out). A one-line
    /// JSON summary on stdout.
    PushCatalog {
        /// The catalog bundle (with text embeddings).
        #[arg(long)]
        catalog: PathBuf,
        #[command(flatten)]
        engine: EngineOutArgs,
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
        /// Evaluate recagent over the int8 catalog (`build-catalog
        /// --quantize`: text matrix and sequence vectors as int8).
        #[arg(long)]
        quantize: bool,
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
        #[command(flatten)]
        candidates: CandidatesArgs,
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
    /// Conversational benchmark of the agent: single-turn requests with
    /// hard constraints (bench/agent/requests.json), scored per autonomy
    /// level; a table on stdout, the full report with --json.
    AgentBench(cmd_agent_bench::AgentBenchArgs),
}

pub(crate) fn prefix(e: Error, file: &Path) -> Error {
    let f = file.display();
    match e {
        Error::InvalidImage(m) => Error::InvalidImage(format!("{f}: {m}")),
        Error::ImageTooLarge(m) => Error::ImageTooLarge(format!("{f}: {m}")),
        Error::InvalidInput(m) => Error::InvalidInput(format!("{f}: {m}")),
        other => other,
    }
}

fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::EmbedText {
            model,
            vocab,
            text_options,
            batch,
        } => embed_text(&model, &vocab, &text_options.options(), batch),
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
        Command::BuildCatalog(args) => build_catalog(args),
        Command::PushCatalog { catalog, engine } => push_catalog(&catalog, &engine),
        Command::Eval {
            dataset,
            model,
            vocab,
            k,
            models,
            quantize,
            train,
        } => train.candidates().and_then(|select| {
            eval(&dataset, model.as_deref(), vocab.as_deref(), k, &models, &train.config(), select, quantize)
        }),
        Command::Memory(args) => memory(args),
        Command::Ask {
            endpoint,
            catalog,
            memory,
            policy,
            approve,
            candidates,
            request,
        } => cli_agent::ask(endpoint, catalog, memory, policy, approve, candidates, request),
        Command::Simulate {
            endpoint,
            user,
            catalog,
            dataset,
            users,
            turns,
        } => cli_agent::simulate_cmd(endpoint, user, catalog, dataset, users, turns),
        Command::AgentBench(args) => cmd_agent_bench::agent_bench(args),
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

fn main() -> std::process::ExitCode {
    run()
}
