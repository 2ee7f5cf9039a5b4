//! The agent on the JS `Recommender`: `setLlm`, `setPolicy`, `registerTool`,
//! `ask`, `ledger`. Converts JS values and delegates to [`recagent_core::agent::Agent`]
//! over `fetch` ([`FetchHttp`]) or over an in-page engine
//! ([`super::agent_engine`]: WebLLM, wllama; nothing leaves the page); every
//! request that leaves the page goes through the one [`Ledger`] the app can
//! read.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::agent_engine::{page_origin, JsEngine};
use super::agent_settings::{BudgetsJs, EngineSettings, LlmSettings, ModelSettings};
use super::agent_tools::{JsApprover, JsToolHost};
use super::fetch::{FetchHttp, JsClock, JsSleeper};
use super::recommender::JsRecommender;
use super::interop::{
    bool_field, field, function_field, invalid, js_error, reject_unknown_keys, settle, signal_field, to_js,
    to_js_value,
};
use recagent_core::agent::llm::{ChatModel, EngineConfig, EngineModel, Ledger, LlmClient, LlmConfig, ToolMode};
use recagent_core::agent::{
    builtin_tools, Agent, AskOptions, Budgets, DataClass, LocalTools,
    PrivacyPolicy, StepKind, ToolDef, TraceStep,
};
use recagent_core::error::{Error, Result};
use recagent_core::memory::Memory;
use recagent_core::recommender::Recommender;

#[wasm_bindgen]
extern "C" {
    /// The `AskOptions` object of the TypeScript section (optional argument).
    #[wasm_bindgen(typescript_type = "AskOptions")]
    pub type AskOptionsJs;
}

/// The agent state of one JS `Recommender`.
pub(crate) struct AgentShared {
    llm: RefCell<Option<ModelSettings>>,
    policy: RefCell<PrivacyPolicy>,
    app_tools: RefCell<Vec<(ToolDef, js_sys::Function)>>,
    ledger: Ledger,
    http: Rc<FetchHttp>,
    /// Built on the first `ask` after a settings change (the conversation
    /// lives in it).
    agent: RefCell<Option<Rc<Agent>>>,
    /// True while an `ask` runs (one at a time: they share the conversation
    /// and the abort signal).
    busy: std::cell::Cell<bool>,
    /// The candidate engine (`RecommenderOptions.candidates`), if any.
    pub(crate) engine: RefCell<Option<Rc<recagent_core::agent::candidates::EngineCatalog>>>,
    /// Where the last `recommend` over the engine took its candidates from.
    pub(crate) last_candidates: RefCell<Option<recagent_core::agent::candidates::CandidateTrace>>,
}

/// Clears [`AgentShared::busy`] and the app's signal when an `ask` ends,
/// however it ends.
struct AskGuard(Rc<AgentShared>);

impl Drop for AskGuard {
    fn drop(&mut self) {
        self.0.http.set_signal(None);
        if let Some(ModelSettings::InPage(engine, _)) = self.0.llm.borrow().as_ref() {
            engine.set_signal(None);
        }
        self.0.busy.set(false);
    }
}

impl AgentShared {
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(Self {
            llm: RefCell::new(None),
            policy: RefCell::new(PrivacyPolicy::default()),
            app_tools: RefCell::new(Vec::new()),
            ledger: Ledger::new(),
            http: Rc::new(FetchHttp::new()),
            agent: RefCell::new(None),
            busy: std::cell::Cell::new(false),
            engine: RefCell::new(None),
            last_candidates: RefCell::new(None),
        })
    }

    /// The `fetch` client every request of this recommender goes through.
    pub(crate) fn http(&self) -> Rc<FetchHttp> {
        self.http.clone()
    }

    /// The ledger of every request that left the page.
    pub(crate) fn ledger_handle(&self) -> Ledger {
        self.ledger.clone()
    }

    fn agent(&self, recommender: &Rc<RefCell<Recommender>>, memory: Rc<Memory>) -> Result<Rc<Agent>> {
        if let Some(agent) = self.agent.borrow().as_ref() {
            return Ok(agent.clone());
        }
        let (model, origin) = match self.llm.borrow().clone() {
            Some(ModelSettings::InPage(engine, config)) => {
                let model = EngineModel::new(engine, config, Rc::new(JsClock), Rc::new(JsSleeper))?;
                // The policy is looked up by the page's own origin: that is where the model runs.
                (Some(Rc::new(model) as Rc<dyn ChatModel>), Some(page_origin()))
            }
            Some(ModelSettings::Endpoint(config)) => {
                let client = LlmClient::new(
                    config,
                    self.http.clone(),
                    Rc::new(JsClock),
                    Rc::new(JsSleeper),
                    self.ledger.clone(),
                )?;
                let origin = client.config().origin()?;
                (Some(Rc::new(client) as Rc<dyn ChatModel>), Some(origin))
            }
            None => (None, None),
        };
        let app: Vec<(String, DataClass, js_sys::Function)> = self
            .app_tools
            .borrow()
            .iter()
            .map(|(def, f)| (def.spec.name.clone(), def.result_class, f.clone()))
            .collect();
        let mut registry = builtin_tools();
        registry.extend(self.app_tools.borrow().iter().map(|(def, _)| def.clone()));
        let mut local = LocalTools::new(recommender.clone(), Some(memory));
        if let Some(engine) = self.engine.borrow().as_ref() {
            local = local.with_engine(engine.clone());
        }
        let host = Rc::new(JsToolHost { local, app });
        let agent = Rc::new(Agent::new(
            model,
            origin,
            host,
            registry,
            self.policy.borrow().clone(),
            Rc::new(JsClock),
        ));
        *self.agent.borrow_mut() = Some(agent.clone());
        Ok(agent)
    }

    fn invalidate(&self) {
        *self.agent.borrow_mut() = None;
    }
}

/// A JS value read through JSON, so `deny_unknown_fields` holds (serde-wasm-bindgen
/// alone only reads the fields a struct names and ignores typos).
fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    let json: Value = serde_wasm_bindgen::from_value(value).map_err(|e| invalid(format!("{what}: {e}")))?;
    serde_json::from_value(json).map_err(|e| invalid(format!("{what}: {e}")))
}

const ENGINE_KEYS: &[&str] = &["engine", "model", "toolMode", "stream", "timeoutMs"];

/// Marks the model steps of an in-page engine: `engine: "in-page"` (the
/// trace shows which model answered, since the ledger shows nothing).
fn mark_in_page(step: &mut Value) {
    if step.get("kind").and_then(Value::as_str) == Some("model") {
        if let Some(object) = step.as_object_mut() {
            object.insert("engine".into(), Value::String("in-page".into()));
        }
    }
}

const ASK_KEYS: &[&str] = &["autonomy", "onStep", "onToken", "signal", "approve", "k", "budgets", "extractIntent"];
const TOOL_KEYS: &[&str] = &["name", "description", "parameters", "sideEffects", "resultClass", "run"];

#[wasm_bindgen(js_class = Recommender)]
impl JsRecommender {
    /// Sets the LLM the agent may use: an endpoint (`LlmSettings`), an
    /// in-page engine (`InPageLlmSettings`: nothing leaves the page), or,
    /// with `null`, none (the agent answers on the device). Rejects with
    /// `invalid_input` for an unknown field, a URL that is not http(s), an
    /// engine without `chat.completions.create`, both `endpoint` and
    /// `engine`, or an empty model name. Starts a new conversation.
    #[wasm_bindgen(js_name = setLlm, unchecked_return_type = "Promise<void>")]
    pub fn set_llm_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LlmSettings | InPageLlmSettings | null")] settings: JsValue,
    ) -> js_sys::Promise {
        settle(self.set_llm(settings).map(|()| JsValue::UNDEFINED))
    }

    /// Replaces the privacy policy (from the next request on); endpoint
    /// keys are normalised to their origins (`policy()` shows them so).
    /// Rejects with `invalid_policy` for a policy that cannot be read: an unknown
    /// field or level, an endpoint key that is not an http(s) origin, two
    /// keys naming one origin at different levels. The policy in use is
    /// then unchanged.
    #[wasm_bindgen(js_name = setPolicy, unchecked_return_type = "Promise<void>")]
    pub fn set_policy_js(&self, #[wasm_bindgen(unchecked_param_type = "PrivacyPolicy")] policy: JsValue) -> js_sys::Promise {
        settle(self.set_policy(policy).map(|()| JsValue::UNDEFINED))
    }

    /// The privacy policy in use (every field filled in).
    #[wasm_bindgen(js_name = policy, unchecked_return_type = "Promise<Required<PrivacyPolicy>>")]
    pub fn policy_promise(&self) -> js_sys::Promise {
        settle(self.policy_js())
    }

    /// Adds a JS tool the agent may call (validated against its schema;
    /// side-effecting tools only at autonomy 3 with approval). Rejects with
    /// `invalid_input` for a bad name, a built-in or duplicate name, or a
    /// schema that is not an object schema. Starts a new conversation.
    #[wasm_bindgen(js_name = registerTool, unchecked_return_type = "Promise<void>")]
    pub fn register_tool_js(&self, #[wasm_bindgen(unchecked_param_type = "AppTool")] tool: JsValue) -> js_sys::Promise {
        settle(self.register_tool(tool).map(|()| JsValue::UNDEFINED))
    }

    /// Removes an app tool; returns whether one was registered under `name`.
    #[wasm_bindgen(js_name = unregisterTool, unchecked_return_type = "Promise<boolean>")]
    pub fn unregister_tool_js(&self, name: &str) -> js_sys::Promise {
        settle(Ok(JsValue::from_bool(self.unregister_tool(name))))
    }

    /// Answers `message`: plans over the tools with the LLM when one is set
    /// and the policy allows it, else (or when the LLM fails, a budget runs
    /// out or `signal` aborts) answers with the on-device ranking and says
    /// why in `fallback` (an aborted `signal` is such a fallback, not a
    /// rejection: the answer is still useful). Rejects with `invalid_input`
    /// for invalid options or while another `ask` on this recommender is
    /// running, and otherwise only when the device itself fails.
    #[wasm_bindgen(unchecked_return_type = "Promise<AskResult>")]
    pub fn ask(&self, message: String, options: Option<AskOptionsJs>) -> js_sys::Promise {
        self.ask_inner(message, options).unwrap_or_else(|e| js_sys::Promise::reject(&e))
    }
}

impl JsRecommender {
    fn ask_inner(&self, message: String, options: Option<AskOptionsJs>) -> Result<js_sys::Promise, JsValue> {
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let mut ask = AskOptions::default();
        let mut signal: Option<web_sys::AbortSignal> = None;
        if !options.is_undefined() && !options.is_null() {
            reject_unknown_keys(&options, "AskOptions", ASK_KEYS)?;
            if let Some(a) = field(&options, "autonomy") {
                let a = a.as_f64().filter(|a| (0.0..=3.0).contains(a) && a.fract() == 0.0);
                ask.autonomy = a.ok_or_else(|| invalid("AskOptions.autonomy must be 0, 1, 2 or 3"))? as u8;
            }
            if let Some(k) = field(&options, "k") {
                let k = k.as_f64().filter(|k| (1.0..=50.0).contains(k) && k.fract() == 0.0);
                ask.k = k.ok_or_else(|| invalid("AskOptions.k must be an integer 1..=50"))? as usize;
            }
            if let Some(b) = field(&options, "budgets") {
                let b: BudgetsJs = from_js(b, "AskOptions.budgets")?;
                let d = Budgets::default();
                ask.budgets = Budgets {
                    max_steps: b.max_steps.unwrap_or(d.max_steps),
                    max_tool_calls: b.max_tool_calls.unwrap_or(d.max_tool_calls),
                    max_tokens: b.max_tokens.unwrap_or(d.max_tokens),
                    max_wall_ms: b.max_wall_ms.unwrap_or(d.max_wall_ms),
                };
            }
            if let Some(v) = bool_field(&options, "AskOptions", "extractIntent")? {
                ask.extract_intent = v;
            }
            if let Some(f) = function_field(&options, "AskOptions", "onStep")? {
                let in_page = matches!(self.agent_shared().llm.borrow().as_ref(), Some(ModelSettings::InPage(..)));
                ask.on_step = Some(Rc::new(move |step: &TraceStep| {
                    let Ok(mut step_json) = serde_json::to_value(step) else { return };
                    if in_page && step.kind == StepKind::Model {
                        mark_in_page(&mut step_json);
                    }
                    if let Ok(v) = to_js_value(&step_json) {
                        let _ = f.call1(&JsValue::NULL, &v);
                    }
                }));
            }
            if let Some(f) = function_field(&options, "AskOptions", "onToken")? {
                ask.on_token = Some(Rc::new(move |text: &str| {
                    let _ = f.call1(&JsValue::NULL, &JsValue::from_str(text));
                }));
            }
            if let Some(f) = function_field(&options, "AskOptions", "approve")? {
                ask.approve = Some(Rc::new(JsApprover(f)));
            }
            signal = signal_field(&options, "AskOptions", "signal")?;
        }
        let shared = self.agent_shared();
        if shared.busy.get() {
            return Err(invalid("another ask is still running on this Recommender; await it (or abort it) first"));
        }
        if shared.llm.borrow().is_none() {
            ask.autonomy = 0;
        }
        ask.json_planning = shared.llm.borrow().as_ref().is_some_and(|c| c.tool_mode() == ToolMode::JsonPlanning);
        let in_page = match shared.llm.borrow().as_ref() {
            Some(ModelSettings::InPage(engine, _)) => {
                engine.set_signal(signal.clone());
                true
            }
            _ => false,
        };
        let agent = shared.agent(self.core_rc(), self.memory_rc()).map_err(js_error)?;
        shared.busy.set(true);
        shared.http.set_signal(signal);
        let guard = AskGuard(shared);
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let answer = agent.ask(&message, ask).await;
            drop(guard);
            let answer = answer.map_err(js_error)?;
            if !in_page {
                return to_js(&answer);
            }
            let mut value = serde_json::to_value(&answer)
                .map_err(|e| js_error(Error::InvalidInput(format!("internal: cannot convert the answer: {e}"))))?;
            if let Some(trace) = value.get_mut("trace").and_then(Value::as_array_mut) {
                trace.iter_mut().for_each(mark_in_page);
            }
            to_js(&value)
        }))
    }
}

#[wasm_bindgen(js_class = Recommender)]
impl JsRecommender {
    /// Every HTTP attempt that left the page since the ledger was last
    /// cleared: endpoint, time, status, and the exact bytes sent. An
    /// in-page engine adds nothing (no byte leaves the page).
    #[wasm_bindgen(js_name = ledger, unchecked_return_type = "Promise<LedgerEntry[]>")]
    pub fn ledger_js(&self) -> js_sys::Promise {
        settle(self.ledger())
    }

    /// Empties the ledger.
    #[wasm_bindgen(js_name = clearLedger, unchecked_return_type = "Promise<void>")]
    pub fn clear_ledger_js(&self) -> js_sys::Promise {
        self.clear_ledger();
        settle(Ok(JsValue::UNDEFINED))
    }

    /// Forgets the conversation (earlier turns and a pending question).
    #[wasm_bindgen(js_name = resetConversation, unchecked_return_type = "Promise<void>")]
    pub fn reset_conversation_js(&self) -> js_sys::Promise {
        self.reset_conversation();
        settle(Ok(JsValue::UNDEFINED))
    }
}

impl JsRecommender {
    /// `set_llm` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn set_llm(
        &self,
        settings: JsValue,
    ) -> Result<(), JsValue> {
        let shared = self.agent_shared();
        if settings.is_null() || settings.is_undefined() {
            *shared.llm.borrow_mut() = None;
            shared.invalidate();
            return Ok(());
        }
        if let Some(engine) = field(&settings, "engine") {
            if field(&settings, "endpoint").is_some() {
                return Err(invalid("LlmSettings: give either endpoint (a server) or engine (an in-page model), not both"));
            }
            reject_unknown_keys(&settings, "InPageLlmSettings", ENGINE_KEYS)?;
            let engine = JsEngine::from_js(engine)?;
            let rest = js_sys::Object::assign(&js_sys::Object::new(), settings.unchecked_ref::<js_sys::Object>());
            js_sys::Reflect::delete_property(&rest, &JsValue::from_str("engine"))?;
            let s: EngineSettings = from_js(rest.into(), "InPageLlmSettings")?;
            let defaults = EngineConfig::default();
            let config = EngineConfig {
                model: s.model,
                stream: s.stream.unwrap_or(defaults.stream),
                tool_mode: s.tool_mode.unwrap_or(defaults.tool_mode),
                request_timeout_ms: s.timeout_ms.unwrap_or(defaults.request_timeout_ms),
            };
            let engine = Rc::new(engine);
            // Validates the settings now rather than at the first ask.
            EngineModel::new(engine.clone(), config.clone(), Rc::new(JsClock), Rc::new(JsSleeper)).map_err(js_error)?;
            *shared.llm.borrow_mut() = Some(ModelSettings::InPage(engine, config));
            shared.invalidate();
            return Ok(());
        }
        let s: LlmSettings = from_js(settings, "LlmSettings")?;
        let defaults = LlmConfig::default();
        let config = LlmConfig {
            base_url: s.endpoint,
            model: s.model.unwrap_or(defaults.model.clone()),
            api_key: s.api_key.filter(|k| !k.is_empty()),
            request_timeout_ms: s.timeout_ms.unwrap_or(defaults.request_timeout_ms),
            max_retries: s.max_retries.unwrap_or(defaults.max_retries),
            max_response_bytes: s.max_response_bytes.unwrap_or(defaults.max_response_bytes),
            stream: s.stream.unwrap_or(defaults.stream),
            tool_mode: s.tool_mode.unwrap_or(defaults.tool_mode),
            ..defaults
        };
        // Validates the URL, model and key now rather than at the first ask.
        LlmClient::new(
            config.clone(),
            shared.http.clone(),
            Rc::new(JsClock),
            Rc::new(JsSleeper),
            Ledger::new(),
        )
        .map_err(js_error)?;
        *shared.llm.borrow_mut() = Some(ModelSettings::Endpoint(config));
        shared.invalidate();
        Ok(())
    }

    /// `set_policy` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn set_policy(
        &self,
        policy: JsValue,
    ) -> Result<(), JsValue> {
        let json: Value = serde_wasm_bindgen::from_value(policy)
            .map_err(|e| js_error(Error::InvalidPolicy(format!("PrivacyPolicy: {e}"))))?;
        let policy = PrivacyPolicy::from_json(json).map_err(js_error)?;
        let shared = self.agent_shared();
        if let Some(agent) = shared.agent.borrow().as_ref() {
            agent.set_policy(policy.clone());
        }
        if let Some(engine) = shared.engine.borrow().as_ref() {
            engine.set_policy(policy.clone());
        }
        *shared.policy.borrow_mut() = policy;
        Ok(())
    }

    /// `policy_js` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn policy_js(&self) -> Result<JsValue, JsValue> {
        to_js(&*self.agent_shared().policy.borrow())
    }

    /// `register_tool` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn register_tool(
        &self,
        tool: JsValue,
    ) -> Result<(), JsValue> {
        reject_unknown_keys(&tool, "AppTool", TOOL_KEYS)?;
        let run = function_field(&tool, "AppTool", "run")?.ok_or_else(|| invalid("AppTool.run (a function) is required"))?;
        let get = |k: &str| field(&tool, k).map(serde_wasm_bindgen::from_value::<Value>);
        let mut reg = serde_json::Map::new();
        for key in ["name", "description", "parameters", "sideEffects", "resultClass"] {
            if let Some(v) = get(key) {
                reg.insert(key.into(), v.map_err(|e| invalid(format!("AppTool.{key}: {e}")))?);
            }
        }
        let reg = serde_json::from_value(Value::Object(reg)).map_err(|e| invalid(format!("AppTool: {e}")))?;
        let def = ToolDef::app(reg).map_err(js_error)?;
        let shared = self.agent_shared();
        if shared.app_tools.borrow().iter().any(|(d, _)| d.spec.name == def.spec.name) {
            return Err(invalid(format!("a tool named {:?} is already registered", def.spec.name)));
        }
        shared.app_tools.borrow_mut().push((def, run));
        shared.invalidate();
        Ok(())
    }

    /// `unregister_tool` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn unregister_tool(&self, name: &str) -> bool {
        let shared = self.agent_shared();
        let before = shared.app_tools.borrow().len();
        shared.app_tools.borrow_mut().retain(|(d, _)| d.spec.name != name);
        let removed = shared.app_tools.borrow().len() != before;
        if removed {
            shared.invalidate();
        }
        removed
    }

    /// `ledger` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn ledger(&self) -> Result<JsValue, JsValue> {
        to_js(&self.agent_shared().ledger.entries())
    }

    /// `clear_ledger` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn clear_ledger(&self) {
        self.agent_shared().ledger.clear();
    }

    /// `reset_conversation` as Rust callers use it: the value itself, the error
    /// thrown (JS gets it through the exported method's Promise).
    pub fn reset_conversation(&self) {
        if let Some(agent) = self.agent_shared().agent.borrow().as_ref() {
            agent.reset();
        }
    }
}
