//! `recagent agent-bench`: runs the conversational benchmark
//! (`recagent_cli::agent_bench`) against the agent at each autonomy level
//! asked for, prints one table row per level and writes the JSON report.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use recagent_cli::agent_bench::report::{report_json, table};
use recagent_cli::agent_bench::{score, Answered, BenchRequest, BenchSet, Judge, LevelReport, Machine, ReturnedItem};
use recagent_core::agent::llm::Ledger;
use recagent_core::agent::PrivacyPolicy;
use recagent_core::{Catalog, Error, Recommender, Result, UserProfile};

use crate::cli_agent::{agent, load, options, read, CatalogArgs, EndpointArgs};

/// The options of `recagent agent-bench`.
#[derive(clap::Args)]
pub struct AgentBenchArgs {
    /// The benchmark set (`bench/agent/requests.json`).
    #[arg(long)]
    pub set: PathBuf,
    /// Catalog bundle (`recagent build-catalog`); the constraints are judged
    /// from its attribute values.
    #[arg(long)]
    pub catalog: PathBuf,
    /// ONNX text encoder the catalog was built with.
    #[arg(long = "text-model", alias = "model")]
    pub text_model: PathBuf,
    /// BERT vocab.txt of the text encoder.
    #[arg(long)]
    pub vocab: PathBuf,
    /// Comma-separated autonomy levels to run (default: 0, or 0,1,2 with
    /// --endpoint); levels above 0 need --endpoint.
    #[arg(long, value_delimiter = ',')]
    pub autonomy: Vec<u8>,
    /// Base URL of an OpenAI-compatible endpoint for the levels above 0.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Model name sent to the endpoint.
    #[arg(long, default_value = "default")]
    pub llm_model: String,
    /// Name of the environment variable holding the API key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Plan with a JSON schema instead of native tool calls.
    #[arg(long)]
    pub json_planning: bool,
    /// Do not stream the model's answers.
    #[arg(long)]
    pub no_stream: bool,
    /// At autonomy 1 and up, first ask the model for an intent proposal
    /// (one JSON-schema call), merged with the device's reading.
    #[arg(long)]
    pub extract_intent: bool,
    /// Wall-time budget of one ask in milliseconds (default 45,000): a slow
    /// local model on a busy machine needs more.
    #[arg(long)]
    pub budget_ms: Option<u32>,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 15_000)]
    pub timeout_ms: u32,
    /// Write the JSON report (figures, failures, every request's score) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run only the first N requests (after --ids).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Run only these request ids (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ids: Vec<String>,
}

/// One request answered by `agent` with a fresh empty profile and a fresh
/// conversation.
fn ask_one(
    agent: &recagent_core::agent::Agent,
    recommender: &RefCell<Recommender>,
    request: &BenchRequest,
    options: &recagent_core::agent::AskOptions,
) -> Answered {
    recommender.borrow_mut().set_profile(UserProfile::new());
    agent.reset();
    let started = Instant::now();
    let result = futures::executor::block_on(agent.ask(&request.text, options.clone()));
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(answer) => Answered {
            text: answer.answer,
            items: answer.items.into_iter().map(|i| ReturnedItem { id: i.id, title: i.title }).collect(),
            fallback: answer.fallback.map(|f| f.code),
            question: answer.question,
            seconds,
            error: None,
        },
        Err(e) => Answered { seconds, error: Some(format!("{}: {e}", e.code())), ..Answered::default() },
    }
}

/// `recagent agent-bench`.
pub fn agent_bench(args: AgentBenchArgs) -> Result<()> {
    let set = BenchSet::read(&args.set)?;
    // The judge reads the bundle on its own: items are judged from the
    // catalog's attribute values, not from anything the agent says.
    let judge_catalog = Catalog::from_bundle(&read(&args.catalog)?)?;
    let judge = Judge::new(&judge_catalog);
    let problems = set.validate(&judge);
    if !problems.is_empty() {
        return Err(Error::InvalidInput(format!("{}: {}", args.set.display(), problems.join("; "))));
    }
    let requests = set.select(&args.ids, args.limit)?;
    let levels = match (&args.autonomy[..], &args.endpoint) {
        ([], None) => vec![0],
        ([], Some(_)) => vec![0, 1, 2],
        (levels, _) => levels.to_vec(),
    };
    if let Some(bad) = levels.iter().find(|l| **l > 3 || (**l > 0 && args.endpoint.is_none())) {
        return Err(Error::InvalidInput(format!(
            "--autonomy {bad}: levels run 0..=3, and those above 0 need --endpoint"
        )));
    }
    let catalog_args = CatalogArgs { catalog: Some(args.catalog.clone()), model: args.text_model.clone(), vocab: args.vocab.clone() };
    let recommender = Rc::new(RefCell::new(load(&catalog_args)?));
    let mut reports = Vec::new();
    for &level in &levels {
        let endpoint = EndpointArgs {
            endpoint: if level == 0 { None } else { args.endpoint.clone() },
            llm_model: args.llm_model.clone(),
            api_key_env: args.api_key_env.clone(),
            autonomy: level,
            json_planning: args.json_planning,
            no_stream: args.no_stream,
            timeout_ms: args.timeout_ms,
            max_response_bytes: recagent_core::agent::llm::DEFAULT_MAX_RESPONSE_BYTES,
            extract_intent: args.extract_intent,
        };
        let ledger = Ledger::new();
        let agent = agent(&endpoint, recommender.clone(), None, PrivacyPolicy::default(), &ledger)?;
        let mut opts = options(&endpoint);
        if let Some(ms) = args.budget_ms {
            opts.budgets.max_wall_ms = f64::from(ms);
        }
        let mode = match (level, args.json_planning, args.extract_intent) {
            (0, _, _) => "device",
            (_, true, false) => "json",
            (_, false, false) => "native",
            (_, true, true) => "json+intent",
            (_, false, true) => "native+intent",
        };
        let mut scores = Vec::with_capacity(requests.len());
        for (n, request) in requests.iter().enumerate() {
            let answered = ask_one(&agent, &recommender, request, &opts);
            scores.push(score(&judge, request, &answered));
            if (n + 1) % 10 == 0 || n + 1 == requests.len() {
                eprintln!("[agent-bench] autonomy {level} ({mode}): {}/{} requests", n + 1, requests.len());
            }
        }
        reports.push(LevelReport::new(level, mode, scores, ledger.len()));
    }
    let machine = Machine::now();
    print!("{}", table(&reports, &machine));
    if let Some(path) = &args.json {
        let set_name = args.set.display().to_string();
        let report = report_json(&set_name, args.endpoint.as_deref(), &args.llm_model, &reports, &machine);
        let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Io(format!("--json: {e}")))?;
        std::fs::write(path, text + "\n").map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}
