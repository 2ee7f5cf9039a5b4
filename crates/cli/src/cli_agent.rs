//! `recagent ask` and `recagent simulate`: the agent from a terminal, against
//! a real OpenAI-compatible endpoint (or none: on-device only).

use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use recagent_core::agent::llm::{Ledger, LlmClient, LlmConfig, ToolMode};
use recagent_core::agent::candidates::EngineCatalog;
use recagent_core::agent::{builtin_tools, Agent, AgentAnswer, AskOptions, LocalTools, PrivacyPolicy};
use recagent_cli::eval::simulate::{
    simulate_with, users_from_split, Conversation, RuleVoice, SimulatedUser, TurnReply, UserVoice,
};
use recagent_cli::eval::simulate_llm::LlmUser;
use recagent_core::memory::Memory;
use recagent_core::platform::{KvStore, MemoryKvStore, NativeImageDecoder};
use recagent_core::session::{Session, StoreFallback};
use recagent_cli::FileKvStore;
use recagent_cli::native_http::{NativeHttp, ThreadSleeper};
use recagent_cli::SystemClock;
use recagent_core::{Catalog, Error, Recommender, Result, TextEncoder, UserProfile};
use serde_json::json;

/// The endpoint options shared by `ask` and `simulate`.
#[derive(clap::Args, Clone)]
pub struct EndpointArgs {
    /// Base URL of an OpenAI-compatible endpoint (`{URL}/v1/chat/completions`).
    /// Without it the agent answers on the device (autonomy 0).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Model name sent to the endpoint.
    #[arg(long, default_value = "default")]
    pub llm_model: String,
    /// Name of the environment variable holding the API key (never a key on
    /// the command line).
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Autonomy 0..=3: 0 on-device only; 1 the LLM rephrases the device's
    /// list; 2 it plans over read-only tools; 3 also side-effecting tools
    /// (approved by --approve).
    #[arg(long, default_value_t = 2)]
    pub autonomy: u8,
    /// Plan with a JSON schema (`response_format`) instead of native tool
    /// calls, for endpoints without tool calling.
    #[arg(long)]
    pub json_planning: bool,
    /// Do not stream the model's answer.
    #[arg(long)]
    pub no_stream: bool,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 15_000)]
    pub timeout_ms: u32,
    /// Most bytes of one answer's body (JSON or the whole SSE stream) read
    /// per attempt; past it the request stops and the agent answers on the
    /// device (`fallback.code` `response_too_large`). 1024..=1073741824.
    #[arg(long, default_value_t = recagent_core::agent::llm::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: u32,
    /// At autonomy 1 and up, first ask the model for an intent proposal
    /// (one JSON-schema call), merged with the device's reading.
    #[arg(long)]
    pub extract_intent: bool,
}

/// Who plays the simulated user of `simulate`: the rule-based user, or an
/// LLM endpoint.
#[derive(clap::Args, Clone)]
pub struct UserArgs {
    /// Base URL of an OpenAI-compatible endpoint that plays the simulated
    /// user, or `same` for the `--endpoint` URL. Without it the user is
    /// rule-based.
    #[arg(long)]
    pub user_endpoint: Option<String>,
    /// Model name sent to the user's endpoint (default: `--llm-model`).
    #[arg(long)]
    pub user_llm_model: Option<String>,
    /// Name of the environment variable holding the user endpoint's API key
    /// (default with `--user-endpoint same`: `--api-key-env`).
    #[arg(long)]
    pub user_api_key_env: Option<String>,
    /// Write every turn (the system, the user, what the system heard, the
    /// titles it showed, hit or not) to this file as JSON lines.
    #[arg(long)]
    pub transcript: Option<PathBuf>,
}

/// The encoder and catalog options shared by `ask` and `simulate`.
#[derive(clap::Args, Clone)]
pub struct CatalogArgs {
    /// Catalog bundle (`recagent build-catalog`; with `ask --candidates`,
    /// optional: the small bundle, or none).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// ONNX text encoder the catalog was built with.
    #[arg(long)]
    pub model: PathBuf,
    /// BERT vocab.txt of the text encoder.
    #[arg(long)]
    pub vocab: PathBuf,
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// The candidate engine options of `recagent ask`.
#[derive(clap::Args, Clone)]
pub struct CandidatesArgs {
    /// Rank over the candidates of a candidate engine:
    /// chroma+http://HOST:PORT/COLLECTION (written by `build-catalog
    /// --to`). What is sent follows --policy; when the engine fails, the
    /// catalog of --catalog answers and the trace says why.
    #[arg(long, value_name = "ADDRESS")]
    pub candidates: Option<String>,
    /// How many candidates to ask the engine for (1..=5000).
    #[arg(long, default_value_t = recagent_core::agent::candidates::DEFAULT_CANDIDATES)]
    pub candidates_limit: usize,
    /// Per-request timeout of the engine, milliseconds.
    #[arg(long, default_value_t = recagent_core::agent::candidates::chroma::DEFAULT_TIMEOUT_MS)]
    pub candidates_timeout_ms: u32,
}

/// The catalog of `args`: its bundle.
pub(crate) fn catalog_path(args: &CatalogArgs) -> Result<&Path> {
    args.catalog.as_deref().ok_or_else(|| Error::InvalidInput("--catalog FILE is required".into()))
}

pub(crate) fn load(args: &CatalogArgs) -> Result<Recommender> {
    let catalog = Catalog::from_bundle(&read(catalog_path(args)?)?)?;
    load_with(args, catalog)
}

/// A recommender over `catalog` with the text model of `args`.
pub(crate) fn load_with(args: &CatalogArgs, catalog: Catalog) -> Result<Recommender> {
    let model = read(&args.model)?;
    let vocab = String::from_utf8(read(&args.vocab)?)
        .map_err(|e| Error::InvalidVocab(format!("{}: {e}", args.vocab.display())))?;
    let encoder = TextEncoder::from_bytes(&model, &vocab)?;
    Recommender::new(catalog, Some((encoder, &model)))
}

/// A client for `url` with the options of `args` (its model and key), its
/// requests recorded in `ledger`.
fn client(args: &EndpointArgs, url: &str, ledger: &Ledger) -> Result<LlmClient> {
    let key_env = args.api_key_env.as_deref().map(|var| ("--api-key-env", var));
    client_for(args, url, &args.llm_model, key_env, ledger)
}

/// A client for `url`, `model` and the key in the variable of `key_env`
/// (the flag that named it, the variable), with the timeout, streaming and
/// tool mode of `args`.
fn client_for(
    args: &EndpointArgs,
    url: &str,
    model: &str,
    key_env: Option<(&str, &str)>,
    ledger: &Ledger,
) -> Result<LlmClient> {
    let api_key = match key_env {
        Some((flag, var)) => Some(std::env::var(var).map_err(|_| {
            Error::InvalidInput(format!("{flag} {var}: the variable is not set"))
        })?),
        None => None,
    };
    let config = LlmConfig {
        base_url: url.to_string(),
        model: model.to_string(),
        api_key,
        request_timeout_ms: args.timeout_ms,
        max_response_bytes: args.max_response_bytes,
        stream: !args.no_stream,
        tool_mode: if args.json_planning { ToolMode::JsonPlanning } else { ToolMode::Native },
        ..LlmConfig::default()
    };
    LlmClient::new(
        config,
        Rc::new(NativeHttp::new()),
        Rc::new(SystemClock),
        Rc::new(ThreadSleeper),
        ledger.clone(),
    )
}

/// An agent over `recommender` (and `memory`), talking to the endpoint of
/// `args` when there is one.
pub(crate) fn agent(
    args: &EndpointArgs,
    recommender: Rc<RefCell<Recommender>>,
    memory: Option<Rc<Memory>>,
    policy: PrivacyPolicy,
    ledger: &Ledger,
) -> Result<Agent> {
    agent_with(args, recommender, memory, policy, ledger, None)
}

/// [`agent`] whose `recommend` and `search_catalog` rank over `engine`'s
/// candidates when one is given.
pub(crate) fn agent_with(
    args: &EndpointArgs,
    recommender: Rc<RefCell<Recommender>>,
    memory: Option<Rc<Memory>>,
    policy: PrivacyPolicy,
    ledger: &Ledger,
    engine: Option<Rc<EngineCatalog>>,
) -> Result<Agent> {
    let (model, origin) = match &args.endpoint {
        Some(url) => {
            let client = client(args, url, ledger)?;
            let origin = client.config().origin()?;
            (Some(Rc::new(client) as Rc<dyn recagent_core::agent::llm::ChatModel>), Some(origin))
        }
        None => (None, None),
    };
    let mut tools = LocalTools::new(recommender, memory);
    if let Some(engine) = engine {
        tools = tools.with_engine(engine);
    }
    let tools = Rc::new(tools);
    Ok(Agent::new(model, origin, tools, builtin_tools(), policy, Rc::new(SystemClock)))
}

pub(crate) fn options(args: &EndpointArgs) -> AskOptions {
    AskOptions {
        autonomy: if args.endpoint.is_some() { args.autonomy.min(3) } else { 0 },
        json_planning: args.json_planning,
        extract_intent: args.extract_intent,
        ..AskOptions::default()
    }
}

/// The policy file of `--policy`: `invalid_policy` (naming the file) when
/// it cannot be read as a policy, e.g. an endpoint key that is not an
/// http(s) origin; keys are normalised to their origins.
pub(crate) fn read_policy(path: &Path) -> Result<PrivacyPolicy> {
    PrivacyPolicy::from_json_slice(&read(path)?).map_err(|e| match e {
        Error::InvalidPolicy(m) => Error::InvalidPolicy(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// `recagent ask`: one request, one JSON object on stdout.
pub fn ask(
    endpoint: EndpointArgs,
    catalog: CatalogArgs,
    memory_dir: Option<PathBuf>,
    policy: Option<PathBuf>,
    approve: bool,
    candidates: CandidatesArgs,
    request: String,
) -> Result<()> {
    let policy = match &policy {
        Some(path) => read_policy(path)?,
        None => PrivacyPolicy::default(),
    };
    let engine_ledger = Ledger::new();
    let engine = match &candidates.candidates {
        Some(address) => {
            let mut source = recagent_cli::engine::chroma(address, engine_ledger.clone())?;
            source.timeout_ms = candidates.candidates_timeout_ms;
            Some(source)
        }
        None => None,
    };
    let recommender = match (&catalog.catalog, &engine) {
        (Some(_), _) => load(&catalog)?,
        (None, Some(source)) => load_with(&catalog, recagent_cli::engine::resident_from_engine(source)?)?,
        (None, None) => return Err(Error::InvalidInput("--catalog FILE is required (or --candidates ADDRESS)".into())),
    };
    futures::executor::block_on(async {
        // The same start-up as the browser's (recagent_core::session): memory
        // sharing the text encoder, the stored profile, the added items.
        // Without --memory the store is an empty in-memory one and the agent
        // gets no memory tools.
        let store: Rc<dyn KvStore> = match &memory_dir {
            Some(dir) => Rc::new(FileKvStore::open(dir)?),
            None => Rc::new(MemoryKvStore::new()),
        };
        let (session, report) = Session::start(recommender, store, Rc::new(SystemClock), Rc::new(NativeImageDecoder), StoreFallback::Fail)
                .await?;
        for warning in &report.warnings {
            eprintln!("recagent: warning: {warning}");
        }
        let memory = memory_dir.is_some().then(|| session.memory().clone());
        let ledger = Ledger::new();
        let engine = engine.map(|source| {
            let mut e = EngineCatalog::new(Rc::new(source), policy.clone(), Rc::new(SystemClock));
            e.limit = candidates.candidates_limit;
            Rc::new(e)
        });
        let agent = agent_with(&endpoint, session.recommender().clone(), memory, policy, &ledger, engine)?;
        let mut opts = options(&endpoint);
        if approve {
            opts.approve = Some(Rc::new(ApproveAll));
        }
        let answer = agent.ask(&request, opts).await?;
        let mut out = answer_json(&answer, &ledger);
        if let Some(sent) = out.get_mut("sent").and_then(serde_json::Value::as_array_mut) {
            sent.extend(engine_ledger.entries().into_iter().filter_map(|e| serde_json::to_value(e).ok()));
        }
        println!("{out}");
        Ok(())
    })
}

/// Approves every side-effecting call (`recagent ask --approve`).
struct ApproveAll;

impl recagent_core::agent::Approver for ApproveAll {
    fn approve(
        &self,
        request: &recagent_core::agent::ApprovalRequest,
    ) -> recagent_core::platform::LocalBoxFuture<'_, bool> {
        eprintln!("recagent: approved {} {}", request.tool, request.arguments);
        Box::pin(async { true })
    }
}

fn answer_json(answer: &AgentAnswer, ledger: &Ledger) -> serde_json::Value {
    let mut v = serde_json::to_value(answer).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    v["sent"] = serde_json::to_value(ledger.entries()).unwrap_or_default();
    v
}

/// One simulated conversation system: the agent at a fixed autonomy, the
/// user's history applied to the profile at the start of each conversation.
struct AgentConversation {
    agent: Agent,
    recommender: Rc<RefCell<Recommender>>,
    options: AskOptions,
    /// Where each turn is written (`--transcript`), and this system's label.
    transcript: Option<(Rc<RefCell<std::io::BufWriter<std::fs::File>>>, &'static str)>,
    /// The current user and target, and the turn (for the transcript).
    current: (usize, String, usize),
}

impl Conversation for AgentConversation {
    fn start(&mut self, user: &SimulatedUser) -> Result<()> {
        let mut profile = UserProfile::new();
        for event in &user.history {
            profile.observe(event.clone())?;
        }
        self.recommender.borrow_mut().set_profile(profile);
        self.agent.reset();
        self.current = (user.user, user.target.clone(), 0);
        Ok(())
    }

    fn reply(&mut self, message: &str) -> Result<TurnReply> {
        let answer = futures::executor::block_on(self.agent.ask(message, self.options.clone()))?;
        let titles: Vec<String> = answer.items.iter().map(|i| i.title.clone()).collect();
        let reply = TurnReply {
            items: answer.items.into_iter().map(|i| i.id).collect(),
            titles,
            text: answer.answer,
            question: answer.question,
            fallback: answer.fallback.map(|f| f.code),
        };
        if let Some((out, system)) = &self.transcript {
            let (user, target, turn) = &mut self.current;
            let line = json!({
                "system": system,
                "user": user,
                "turn": *turn + 1,
                "said": message,
                "answer": reply.text,
                "shown": reply.titles.iter().take(10).collect::<Vec<_>>(),
                "hit": reply.items.iter().take(10).any(|id| id == target),
                "fallback": reply.fallback,
            });
            *turn += 1;
            writeln!(out.borrow_mut(), "{line}").map_err(|e| Error::Io(format!("--transcript: {e}")))?;
        }
        Ok(reply)
    }
}

/// The LLM user of `user`'s flags, if `--user-endpoint` was given, with
/// its endpoint URL and model; its requests are recorded in `ledger` (not
/// the agent's: the simulator is not the product).
fn llm_user(endpoint: &EndpointArgs, user: &UserArgs, ledger: &Ledger) -> Result<Option<(LlmUser, String, String)>> {
    let Some(url) = &user.user_endpoint else { return Ok(None) };
    let same = url == "same";
    let url = if same {
        endpoint.endpoint.clone().ok_or_else(|| {
            Error::InvalidInput("--user-endpoint same needs --endpoint".into())
        })?
    } else {
        url.clone()
    };
    let model = user.user_llm_model.clone().unwrap_or_else(|| endpoint.llm_model.clone());
    let key_env = match (&user.user_api_key_env, same) {
        (Some(var), _) => Some(("--user-api-key-env", var.as_str())),
        (None, true) => endpoint.api_key_env.as_deref().map(|var| ("--api-key-env", var)),
        (None, false) => None,
    };
    let client = client_for(endpoint, &url, &model, key_env, ledger)?;
    Ok(Some((LlmUser::new(Rc::new(client)), url, model)))
}

/// `recagent simulate`: the on-device baseline (autonomy 0) and the agent
/// over the same simulated users, the user rule-based or played by an LLM
/// (`--user-endpoint`); one JSON object on stdout.
pub fn simulate_cmd(
    endpoint: EndpointArgs,
    user: UserArgs,
    catalog: CatalogArgs,
    dataset: PathBuf,
    users: usize,
    turns: usize,
) -> Result<()> {
    let started = Instant::now();
    let user_ledger = Ledger::new();
    let mut llm = llm_user(&endpoint, &user, &user_ledger)?;
    let data = recagent_cli::eval::load_dir(&dataset)?;
    let split = recagent_cli::eval::leave_one_out(&data, recagent_cli::eval::CORE)?;
    let recommender = load(&catalog)?;
    let sims = users_from_split(&split, recommender.catalog(), users);
    if sims.is_empty() {
        return Err(Error::InvalidInput(
            "no simulated user: the catalog's item ids do not match the dataset's".into(),
        ));
    }
    let recommender = Rc::new(RefCell::new(recommender));
    let ledger = Ledger::new();
    let transcript = match &user.transcript {
        Some(path) => Some(Rc::new(RefCell::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?,
        )))),
        None => None,
    };
    let mut rule = RuleVoice;
    let mut run = |args: &EndpointArgs, label: &str, name: &'static str| -> Result<serde_json::Value> {
        let mut system = AgentConversation {
            agent: agent(args, recommender.clone(), None, PrivacyPolicy::default(), &ledger)?,
            recommender: recommender.clone(),
            options: options(args),
            transcript: transcript.clone().map(|t| (t, name)),
            current: (0, String::new(), 0),
        };
        let voice: &mut dyn UserVoice = match &mut llm {
            Some((user, _, _)) => user,
            None => &mut rule,
        };
        let (t, user_requests_before) = (Instant::now(), user_ledger.len());
        let phase = format!("[simulate] {label}: users");
        let mut reporter = crate::progress_ui::Reporter::new();
        reporter.step(&phase, 0, sims.len());
        let result = simulate_with(&sims, turns, &mut system, voice, &mut |done, total| {
            reporter.step(&phase, done, total);
        })?;
        reporter.finish();
        let mut v = serde_json::to_value(&result).unwrap_or_default();
        v["autonomy"] = json!(system.options.autonomy);
        v["userLlmRequests"] = json!(user_ledger.len() - user_requests_before);
        v["seconds"] = json!((t.elapsed().as_secs_f64() * 10.0).round() / 10.0);
        Ok(v)
    };
    let baseline_args = EndpointArgs { endpoint: None, ..endpoint.clone() };
    let baseline = run(&baseline_args, "on-device (autonomy 0)", "baseline")?;
    let agent_result = match &endpoint.endpoint {
        Some(_) => run(&endpoint, &format!("agent (autonomy {})", endpoint.autonomy.min(3)), "agent")?,
        None => serde_json::Value::Null,
    };
    if let Some(out) = &transcript {
        out.borrow_mut().flush().map_err(|e| Error::Io(format!("--transcript: {e}")))?;
    }
    let count = |key: &str| baseline[key].as_u64().unwrap_or(0) + agent_result[key].as_u64().unwrap_or(0);
    let (user_leaks, user_fallbacks) = (count("userLeaks"), count("userFallbacks"));
    if let Some(error) = llm.as_ref().and_then(|(u, _, _)| u.last_error()) {
        eprintln!("[simulate] the LLM user fell back {user_fallbacks} times; last error: {error}");
    }
    let out = json!({
        "dataset": dataset.display().to_string(),
        "users": sims.len(),
        "turns": turns,
        "endpoint": endpoint.endpoint,
        "llmModel": endpoint.llm_model,
        "user": if llm.is_some() { "llm" } else { "rule" },
        "userEndpoint": llm.as_ref().map(|(_, url, _)| url.clone()),
        "userLlmModel": llm.as_ref().map(|(_, _, model)| model.clone()),
        "baseline": baseline,
        "agent": agent_result,
        "llmRequests": ledger.len(),
        "userLlmRequests": user_ledger.len(),
        "userReused": llm.as_ref().map_or(0, |(u, _, _)| u.reused()),
        "userLeaks": user_leaks,
        "userFallbacks": user_fallbacks,
        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    println!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_files_are_normalised_and_bad_keys_are_invalid_policy() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        std::fs::write(&good, r#"{"share":"nothing","endpoints":{"HTTP://127.0.0.1:80/v1/":"full_memory"}}"#).unwrap();
        let policy = read_policy(&good).unwrap();
        assert_eq!(policy.share_for("http://127.0.0.1"), recagent_core::agent::ShareLevel::FullMemory);
        for (name, text) in [
            ("path-only.json", r#"{"endpoints":{"/v1/chat":"full_memory"}}"#),
            ("userinfo.json", r#"{"endpoints":{"https://me@llm.example":"full_memory"}}"#),
            ("level.json", r#"{"share":"everything"}"#),
            ("not-json.json", "{"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let e = read_policy(&path).unwrap_err();
            assert_eq!(e.code(), "invalid_policy", "{name}: {e}");
            assert!(e.to_string().contains(name), "{e}");
        }
        assert_eq!(read_policy(&dir.path().join("missing.json")).unwrap_err().code(), "io_error");
    }
}
