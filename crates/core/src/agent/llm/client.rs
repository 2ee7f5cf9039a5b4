//! [`LlmClient`]: the OpenAI-compatible chat-completions client over
//! [`Http`], with per-attempt timeouts bounded by the request's deadline,
//! retries with jittered backoff (honouring `Retry-After`), a circuit
//! breaker, incremental SSE, every server dialect we know, and tool calls
//! recovered from the text. Every attempt goes through a [`LedgeredHttp`].

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::ledger::{origin_of, Ledger, LedgeredHttp};
use super::limits::{check_max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES};
use super::response::{read_answer, status_message, Failure};
use super::retry::{backoff_ms, retry_after_ms, retryable_status, Breaker};
use super::textcalls::recover_text_calls;
use super::types::{ChatModel, ChatRequest, ChatResponse};
use super::wire;
use crate::error::{Error, Result};
use crate::platform::{Clock, Http, HttpRequest, LocalBoxFuture, Rng, SeededRng, Sleeper};

/// A `Retry-After` longer than this ends the retries at once (the endpoint
/// is not coming back within an `ask`).
const MAX_RETRY_AFTER_MS: f64 = 60_000.0;

/// How much of a non-2xx body is read for its error message, at most.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// How tools are offered to the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ToolMode {
    /// Native `tools` / `tool_calls` (tool calls written as JSON in the text
    /// are recovered too).
    #[default]
    #[serde(rename = "native")]
    Native,
    /// For endpoints without native tool calls: `tools` and `tool_choice` are
    /// never sent, and the answer's content is left as written (the planner
    /// asks for, and parses, a JSON plan through `response_schema`).
    #[serde(rename = "json")]
    JsonPlanning,
}

/// Where and how the client talks to the endpoint.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LlmConfig {
    /// Base URL, e.g. `http://127.0.0.1:8080` or `https://api.openai.com`;
    /// the client POSTs `{base}/v1/chat/completions` (a base already ending
    /// in `/v1` is not doubled).
    pub base_url: String,
    /// The model name sent in every request.
    pub model: String,
    /// Sent as `Authorization: Bearer <key>`; never serialized, never shown
    /// by `Debug`, masked in the ledger and scrubbed from error messages.
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Longest time one HTTP attempt may take, in milliseconds.
    pub request_timeout_ms: u32,
    /// Retries after the first attempt, at most.
    pub max_retries: u32,
    /// Ask for server-sent events and hand text to `on_token` as it arrives.
    pub stream: bool,
    /// Native tool calls or JSON planning.
    pub tool_mode: ToolMode,
    /// This many consecutive failed requests open the circuit.
    pub breaker_threshold: u32,
    /// How long the circuit stays open before one trial request, in milliseconds.
    pub breaker_cooldown_ms: u32,
    /// The most bytes of a 2xx body (JSON or the whole SSE stream) read per
    /// attempt (default [`DEFAULT_MAX_RESPONSE_BYTES`], 4 MiB; must be
    /// 1 KiB..=1 GiB). Past it the attempt stops reading and fails with
    /// [`Error::ResponseTooLarge`], which is not retried.
    pub max_response_bytes: u32,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            model: "default".into(),
            api_key: None,
            request_timeout_ms: 15_000,
            max_retries: 2,
            stream: true,
            tool_mode: ToolMode::Native,
            breaker_threshold: 3,
            breaker_cooldown_ms: 30_000,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("stream", &self.stream)
            .field("tool_mode", &self.tool_mode)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown_ms", &self.breaker_cooldown_ms)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl LlmConfig {
    /// The endpoint's origin, `scheme://host[:port]` lower-cased (default
    /// ports dropped): what a privacy policy is keyed by.
    /// [`Error::InvalidInput`] if the base URL is not `http`/`https`.
    pub fn origin(&self) -> Result<String> {
        origin_of(&self.base_url)
    }

    /// The URL every request is POSTed to.
    pub fn completions_url(&self) -> String {
        wire::chat_completions_url(&self.base_url)
    }
}

/// Gives a half-open trial slot back if a request future is dropped before
/// it settles (the app stopped waiting).
struct TrialGuard<'a> {
    breaker: &'a RefCell<Breaker>,
    settled: bool,
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if !self.settled {
            if let Ok(mut breaker) = self.breaker.try_borrow_mut() {
                breaker.release();
            }
        }
    }
}

/// The chat-completions client. One per endpoint: the circuit breaker is its state.
///
/// What [`ChatModel::chat`] promises:
/// - at most `1 + max_retries` attempts, each one ledgered; a retry only
///   after 408/409/429/5xx, a connection error or a timeout, waiting
///   `Retry-After` when given (a wait past the deadline, or over 60 s, ends
///   the retries at once) and 500 ms × 2^n ± 50 % (at most 8 s) otherwise;
///   an abort is never retried; a stream cut short after text reached
///   `on_token` is not retried either (its text would be repeated);
/// - no attempt once `deadline_ms` has passed ([`Error::Timeout`]); each
///   attempt's timeout is `min(request_timeout_ms, deadline − now)`;
/// - [`Error::CircuitOpen`] without sending anything while the breaker is open;
/// - other statuses: [`Error::Llm`] `"HTTP <status>: <server message>"` at
///   once (at most 64 KiB of that body is read); the API key never appears
///   in an error;
/// - a 2xx body past `max_response_bytes` (or one SSE event past 1 MiB):
///   [`Error::ResponseTooLarge`] at once, reading stopped, never retried;
///   tool-call `index`es are keys only (calls keep the order they arrive
///   in) and more than [`super::MAX_TOOL_CALLS`] calls is [`Error::Llm`];
/// - when tools were offered (native mode) and the answer has no native
///   tool calls, calls written as JSON in the text are recovered
///   ([`super::tool_calls_from_text`], `calls_from_text = true`) and taken
///   out of `content`. When streaming, the text already handed to
///   `on_token` may include that JSON: tokens are passed on as they arrive.
pub struct LlmClient {
    config: LlmConfig,
    url: String,
    origin: String,
    http: LedgeredHttp,
    clock: Rc<dyn Clock>,
    sleeper: Rc<dyn Sleeper>,
    rng: RefCell<Box<dyn Rng>>,
    breaker: RefCell<Breaker>,
}

impl LlmClient {
    /// A client for `config`, sending through `http` (wrapped in a
    /// [`LedgeredHttp`] writing to `ledger`), timing with `clock`, waiting
    /// with `sleeper`. Backoff jitter is seeded from the clock
    /// ([`LlmClient::with_rng`] replaces it). [`Error::InvalidInput`] for a
    /// base URL that is not http(s), an empty model name, a zero timeout, a
    /// `max_response_bytes` outside 1 KiB..=1 GiB or an API key that cannot
    /// go into a header.
    pub fn new(
        config: LlmConfig,
        http: Rc<dyn Http>,
        clock: Rc<dyn Clock>,
        sleeper: Rc<dyn Sleeper>,
        ledger: Ledger,
    ) -> Result<Self> {
        let origin = config.origin()?;
        if config.model.trim().is_empty() {
            return Err(Error::InvalidInput("the LLM model name is empty".into()));
        }
        if config.request_timeout_ms == 0 {
            return Err(Error::InvalidInput(
                "the LLM request timeout must be positive".into(),
            ));
        }
        check_max_response_bytes(config.max_response_bytes)?;
        if let Some(key) = &config.api_key {
            if key.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(Error::InvalidInput(
                    "the API key holds characters a header cannot carry (spaces, line breaks or non-ASCII)".into(),
                ));
            }
        }
        let seed = clock.now_ms().to_bits() ^ 0x2545_F491_4F6C_DD1D;
        Ok(Self {
            url: config.completions_url(),
            origin,
            http: LedgeredHttp::new(http, clock.clone(), ledger),
            breaker: RefCell::new(Breaker::new(
                config.breaker_threshold,
                config.breaker_cooldown_ms,
            )),
            config,
            clock,
            sleeper,
            rng: RefCell::new(Box::new(SeededRng::new(seed))),
        })
    }

    /// The same client with `rng` for the backoff jitter (tests make it reproducible).
    pub fn with_rng(self, rng: Box<dyn Rng>) -> Self {
        Self {
            rng: RefCell::new(rng),
            ..self
        }
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The ledger its attempts are written to.
    pub fn ledger(&self) -> &Ledger {
        self.http.ledger()
    }

    /// Whether a request now would be refused with [`Error::CircuitOpen`]
    /// without being sent.
    pub fn circuit_open(&self) -> bool {
        let now = self.clock.now_ms();
        matches!(
            self.breaker.borrow().state(now),
            super::retry::BreakerState::Open { .. }
                | super::retry::BreakerState::HalfOpen {
                    trial_in_flight: true
                }
        )
    }

    async fn chat_once(
        &self,
        request: ChatRequest,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<ChatResponse> {
        let now = self.clock.now_ms();
        if request.deadline_ms.is_some_and(|deadline| now >= deadline) {
            return Err(Error::Timeout(
                "the deadline passed before the request was sent".into(),
            ));
        }
        let admitted = self.breaker.borrow_mut().admit(now);
        if let Err(wait) = admitted {
            return Err(Error::CircuitOpen(format!(
                "{} failed {} requests in a row; nothing sent (next try in {} ms)",
                self.origin,
                self.config.breaker_threshold.max(1),
                wait.max(0.0).ceil()
            )));
        }
        let mut guard = TrialGuard {
            breaker: &self.breaker,
            settled: false,
        };
        let native = self.config.tool_mode == ToolMode::Native;
        let body = wire::request_body(&self.config.model, &request, self.config.stream, native)?;
        let (result, attempts) = self.send_with_retries(&request, body, on_token).await;
        {
            let mut breaker = self.breaker.borrow_mut();
            match &result {
                Ok(_) => breaker.success(),
                Err(
                    Error::Network(_)
                    | Error::Timeout(_)
                    | Error::Llm(_)
                    | Error::ResponseTooLarge(_),
                ) if attempts > 0 => breaker.failure(self.clock.now_ms()),
                Err(_) => breaker.release(),
            }
        }
        guard.settled = true;
        let mut response = result?;
        // Note: when streaming, on_token already received such calls as text.
        recover_text_calls(&mut response, native, !request.tools.is_empty())?;
        Ok(response)
    }

    /// Attempts until one succeeds, a failure is final, the retries are
    /// spent or the deadline leaves no time; returns the result and the
    /// number of attempts sent.
    async fn send_with_retries(
        &self,
        request: &ChatRequest,
        body: Vec<u8>,
        on_token: &mut dyn FnMut(&str),
    ) -> (Result<ChatResponse>, u32) {
        let mut attempt = 0u32;
        loop {
            let now = self.clock.now_ms();
            let mut timeout_ms = self.config.request_timeout_ms;
            if let Some(deadline) = request.deadline_ms {
                let left = (deadline - now).floor();
                if left < 1.0 {
                    return (
                        Err(Error::Timeout(format!(
                            "the deadline passed after {attempt} attempt(s)"
                        ))),
                        attempt,
                    );
                }
                timeout_ms = timeout_ms.min(left.min(f64::from(u32::MAX)) as u32);
            }
            attempt += 1;
            let failure = match self
                .attempt(
                    self.http_request(body.clone(), timeout_ms),
                    attempt,
                    on_token,
                )
                .await
            {
                Ok(response) => return (Ok(response), attempt),
                Err(failure) => failure,
            };
            if !failure.retryable || attempt > self.config.max_retries {
                let error = match failure.error {
                    Error::Llm(m) if failure.retryable => {
                        Error::Llm(format!("{m} (gave up after {attempt} attempts)"))
                    }
                    other => other,
                };
                return (Err(error), attempt);
            }
            let wait = match failure.retry_after_ms {
                Some(ms) if ms > MAX_RETRY_AFTER_MS => {
                    let error = match failure.error {
                        Error::Llm(m) => Error::Llm(format!(
                            "{m} (Retry-After of {} s is too long)",
                            ms / 1000.0
                        )),
                        other => other,
                    };
                    return (Err(error), attempt);
                }
                Some(ms) => ms.ceil(),
                None => f64::from(backoff_ms(attempt - 1, self.rng.borrow_mut().as_mut())),
            };
            if let Some(deadline) = request.deadline_ms {
                if self.clock.now_ms() + wait >= deadline {
                    return (
                        Err(Error::Timeout(format!(
                            "the deadline leaves no time to wait {wait} ms for a retry after attempt {attempt}: {}",
                            failure.error
                        ))),
                        attempt,
                    );
                }
            }
            self.sleeper.sleep(wait as u32).await;
        }
    }

    fn http_request(&self, body: Vec<u8>, timeout_ms: u32) -> HttpRequest {
        let accept = if self.config.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Accept".to_string(), accept.to_string()),
        ];
        if let Some(key) = self.config.api_key.as_deref().filter(|k| !k.is_empty()) {
            headers.push(("Authorization".to_string(), format!("Bearer {key}")));
        }
        HttpRequest {
            method: "POST".into(),
            url: self.url.clone(),
            headers,
            body,
            timeout_ms,
        }
    }

    async fn attempt(
        &self,
        request: HttpRequest,
        attempt: u32,
        on_token: &mut dyn FnMut(&str),
    ) -> std::result::Result<ChatResponse, Failure> {
        let response = self
            .http
            .send_attempt(request, attempt)
            .await
            .map_err(|e| Failure::transport(e, false))?;
        if (200..300).contains(&response.status) {
            let cap = usize::try_from(self.config.max_response_bytes).unwrap_or(usize::MAX);
            return read_answer(response, on_token, cap).await;
        }
        let status = response.status;
        let retry_after = response
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, value)| retry_after_ms(value, self.clock.now_ms()));
        let mut body = response.body;
        let mut bytes = Vec::new();
        while let Some(Ok(chunk)) = body.next().await {
            let room = MAX_ERROR_BODY_BYTES.saturating_sub(bytes.len());
            bytes.extend_from_slice(chunk.get(..room).unwrap_or(&chunk));
            if bytes.len() >= MAX_ERROR_BODY_BYTES {
                break;
            }
        }
        Err(Failure {
            error: Error::Llm(status_message(
                status,
                &bytes,
                self.config.api_key.as_deref(),
            )),
            retryable: retryable_status(status),
            retry_after_ms: retry_after,
        })
    }
}

impl ChatModel for LlmClient {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        on_token: &'a mut dyn FnMut(&str),
    ) -> LocalBoxFuture<'a, Result<ChatResponse>> {
        Box::pin(self.chat_once(request, on_token))
    }
}
