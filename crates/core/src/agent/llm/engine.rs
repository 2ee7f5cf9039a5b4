//! In-page engines: a chat model that runs on the device itself (WebLLM's
//! `MLCEngine`, llama.cpp compiled to WebAssembly through wllama) and takes
//! the OpenAI-format request the HTTP client would send, without any HTTP.
//!
//! [`EngineModel`] is the [`ChatModel`] over such an engine. It builds the
//! request body with the HTTP client's own serializer (`wire`), and reads
//! the answer — one `chat.completion` document, or `chat.completion.chunk`s
//! framed as server-sent events — with the client's own reader, so the
//! engine sees exactly what an endpoint would (the privacy policy applied by
//! `outbound`), and its answer is parsed the same way (every dialect, tool
//! calls written as text). Nothing goes through a [`super::Ledger`]: no byte
//! leaves the device. There are no retries and no circuit breaker (a local
//! engine that failed will fail again); a per-request timeout, bounded by
//! the request's deadline, still applies, and asks the engine to stop.

use std::rc::Rc;

use futures::future::{select, Either};
use serde_json::Value;

use super::client::ToolMode;
use super::limits::DEFAULT_MAX_RESPONSE_BYTES;
use super::response::read_answer;
use super::textcalls::recover_text_calls;
use super::types::{ChatModel, ChatRequest, ChatResponse};
use super::wire;
use crate::error::{Error, Result};
use crate::platform::{ByteStream, Clock, HttpStreamingResponse, LocalBoxFuture, Sleeper};

/// An engine that answers OpenAI-format chat requests on the device.
pub trait ChatEngine {
    /// Runs one request. `body` is the JSON object the HTTP client would
    /// POST to `/v1/chat/completions` (with `"stream": true` when the model
    /// was configured to stream). The answer is a byte stream holding one
    /// `chat.completion` JSON document, or, for a streamed request,
    /// server-sent events (`data: {chunk}` lines, each followed by a blank
    /// line, optionally ending with `data: [DONE]`). An engine failure is an
    /// [`Error`] (`llm_error` for the engine's own errors, `aborted` when
    /// the app cancelled).
    fn complete(&self, body: Vec<u8>) -> LocalBoxFuture<'_, Result<ByteStream>>;

    /// Asks the engine to stop the generation in progress (called when a
    /// request times out); the default does nothing.
    fn interrupt(&self) {}
}

/// How [`EngineModel`] talks to its engine.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// The `model` field of every request; `None` leaves it out (WebLLM then
    /// uses the one model it has loaded).
    pub model: Option<String>,
    /// Ask for a stream of chunks and hand text to `on_token` as it arrives.
    pub stream: bool,
    /// Native tool calls or JSON planning (what a small model needs).
    pub tool_mode: ToolMode,
    /// Longest time one request may take, in milliseconds.
    pub request_timeout_ms: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { model: None, stream: true, tool_mode: ToolMode::JsonPlanning, request_timeout_ms: 60_000 }
    }
}

/// The [`ChatModel`] over an in-page [`ChatEngine`].
///
/// What [`ChatModel::chat`] promises:
/// - the engine gets the body [`super::LlmClient`] would send for the same
///   request and configuration (the same serializer), except that `model`
///   is left out when none is configured;
/// - no request once `deadline_ms` has passed ([`Error::Timeout`]); a
///   request running past `min(request_timeout_ms, deadline − now)` ends
///   with [`Error::Timeout`] after [`ChatEngine::interrupt`];
/// - the answer is read like an endpoint's 2xx body (JSON or server-sent
///   events, every dialect); when tools were offered natively and the
///   answer has no native calls, calls written as JSON in the text are
///   recovered (`calls_from_text`); an answer past
///   [`DEFAULT_MAX_RESPONSE_BYTES`] (4 MiB) is [`Error::ResponseTooLarge`].
pub struct EngineModel {
    engine: Rc<dyn ChatEngine>,
    config: EngineConfig,
    clock: Rc<dyn Clock>,
    sleeper: Rc<dyn Sleeper>,
}

impl EngineModel {
    /// A model over `engine`; [`Error::InvalidInput`] for a zero timeout or
    /// an empty model name.
    pub fn new(engine: Rc<dyn ChatEngine>, config: EngineConfig, clock: Rc<dyn Clock>, sleeper: Rc<dyn Sleeper>) -> Result<Self> {
        if config.request_timeout_ms == 0 {
            return Err(Error::InvalidInput("the engine request timeout must be positive".into()));
        }
        if config.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(Error::InvalidInput("the engine model name is empty (leave it out instead)".into()));
        }
        Ok(Self { engine, config, clock, sleeper })
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The JSON body the engine gets for `request`.
    pub fn request_body(&self, request: &ChatRequest) -> Result<Vec<u8>> {
        let native = self.config.tool_mode == ToolMode::Native;
        let body = wire::request_body(self.config.model.as_deref().unwrap_or(""), request, self.config.stream, native)?;
        if self.config.model.is_some() {
            return Ok(body);
        }
        let mut value: Value = serde_json::from_slice(&body)
            .map_err(|e| Error::InvalidInput(format!("internal: cannot re-read the chat request: {e}")))?;
        if let Some(object) = value.as_object_mut() {
            object.remove("model");
        }
        serde_json::to_vec(&value).map_err(|e| Error::InvalidInput(format!("cannot serialize the chat request: {e}")))
    }

    async fn chat_once(&self, request: ChatRequest, on_token: &mut dyn FnMut(&str)) -> Result<ChatResponse> {
        let now = self.clock.now_ms();
        let mut timeout_ms = self.config.request_timeout_ms;
        if let Some(deadline) = request.deadline_ms {
            let left = (deadline - now).floor();
            if left < 1.0 {
                return Err(Error::Timeout("the deadline passed before the in-page model was asked".into()));
            }
            timeout_ms = timeout_ms.min(left.min(f64::from(u32::MAX)) as u32);
        }
        let body = self.request_body(&request)?;
        let work = async {
            let stream = self.engine.complete(body).await?;
            let response = HttpStreamingResponse { status: 200, headers: Vec::new(), body: stream };
            let cap = usize::try_from(DEFAULT_MAX_RESPONSE_BYTES).unwrap_or(usize::MAX);
            read_answer(response, on_token, cap).await.map_err(|failure| failure.error)
        };
        let result = match select(Box::pin(work), self.sleeper.sleep(timeout_ms)).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => {
                self.engine.interrupt();
                Err(Error::Timeout(format!("the in-page model did not answer within {timeout_ms} ms")))
            }
        };
        let mut response = result?;
        recover_text_calls(&mut response, self.config.tool_mode == ToolMode::Native, !request.tools.is_empty())?;
        Ok(response)
    }
}

impl ChatModel for EngineModel {
    fn chat<'a>(&'a self, request: ChatRequest, on_token: &'a mut dyn FnMut(&str)) -> LocalBoxFuture<'a, Result<ChatResponse>> {
        Box::pin(self.chat_once(request, on_token))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use futures::executor::block_on;
    use serde_json::json;

    use super::super::types::{ChatMessage, ChatRole, FinishReason, ToolSpec};
    use super::*;
    use crate::platform::ManualClock;

    /// Answers from a script, records the bodies, counts interrupts.
    struct Scripted {
        answers: RefCell<Vec<Result<Vec<Vec<u8>>>>>,
        bodies: RefCell<Vec<Value>>,
        interrupts: Cell<u32>,
        hang: bool,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Vec<Vec<u8>>>>) -> Rc<Self> {
            Rc::new(Self { answers: RefCell::new(answers), bodies: RefCell::default(), interrupts: Cell::new(0), hang: false })
        }
    }

    impl ChatEngine for Scripted {
        fn complete(&self, body: Vec<u8>) -> LocalBoxFuture<'_, Result<ByteStream>> {
            self.bodies.borrow_mut().push(serde_json::from_slice(&body).unwrap());
            if self.hang {
                return Box::pin(futures::future::pending());
            }
            let answer = self.answers.borrow_mut().remove(0);
            Box::pin(async move {
                let chunks = answer?;
                Ok(Box::pin(futures::stream::iter(chunks.into_iter().map(Ok))) as ByteStream)
            })
        }

        fn interrupt(&self) {
            self.interrupts.set(self.interrupts.get() + 1);
        }
    }

    /// A sleeper that never wakes (no timeout fires) or wakes at once.
    struct Sleep(bool);

    impl Sleeper for Sleep {
        fn sleep(&self, _ms: u32) -> LocalBoxFuture<'static, ()> {
            if self.0 {
                Box::pin(async {})
            } else {
                Box::pin(futures::future::pending())
            }
        }
    }

    fn model(engine: Rc<Scripted>, config: EngineConfig, wakes: bool) -> EngineModel {
        EngineModel::new(engine, config, Rc::new(ManualClock::at(1_000.0)), Rc::new(Sleep(wakes))).unwrap()
    }

    fn request(tools: bool) -> ChatRequest {
        ChatRequest {
            messages: vec![ChatMessage::text(ChatRole::System, "sys"), ChatMessage::text(ChatRole::User, "a film")],
            tools: if tools {
                vec![ToolSpec { name: "recommend".into(), description: "d".into(), parameters: json!({"type":"object"}) }]
            } else {
                vec![]
            },
            max_tokens: Some(64),
            temperature: Some(0.2),
            deadline_ms: Some(50_000.0),
            ..ChatRequest::default()
        }
    }

    #[test]
    fn the_engine_gets_the_http_clients_body_and_its_answer_is_parsed() {
        let answer = br#"{"choices":[{"message":{"role":"assistant","content":"Try Toy Story"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3}}"#;
        let engine = Scripted::new(vec![Ok(vec![answer.to_vec()])]);
        let config = EngineConfig { model: Some("smollm2".into()), stream: false, tool_mode: ToolMode::Native, ..EngineConfig::default() };
        let m = model(engine.clone(), config, false);
        let mut tokens = Vec::new();
        let r = block_on(m.chat(request(true), &mut |t| tokens.push(t.to_string()))).unwrap();
        assert_eq!((r.content.as_str(), r.finish_reason), ("Try Toy Story", FinishReason::Stop));
        assert_eq!(r.usage.unwrap().completion_tokens, 3);
        assert!(tokens.is_empty());
        let sent = engine.bodies.borrow()[0].clone();
        let http: Value = serde_json::from_slice(&wire::request_body("smollm2", &request(true), false, true).unwrap()).unwrap();
        assert_eq!(sent, http);
        assert_eq!(sent["tools"][0]["function"]["name"], "recommend");
    }

    #[test]
    fn without_a_model_name_the_field_is_left_out_and_json_planning_sends_no_tools() {
        let answer = br#"{"choices":[{"message":{"content":"{\"answer\":\"ok\",\"items\":[]}"}}]}"#;
        let engine = Scripted::new(vec![Ok(vec![answer.to_vec()])]);
        let config = EngineConfig { stream: false, ..EngineConfig::default() };
        let m = model(engine.clone(), config, false);
        let r = block_on(m.chat(request(true), &mut |_| {})).unwrap();
        assert_eq!(r.content, "{\"answer\":\"ok\",\"items\":[]}");
        let sent = engine.bodies.borrow()[0].clone();
        assert!(sent.get("model").is_none() && sent.get("tools").is_none() && sent.get("stream").is_none());
        assert_eq!(sent["messages"][1], json!({"role":"user","content":"a film"}));
    }

    #[test]
    fn streamed_chunks_reach_on_token_and_tool_calls_in_text_are_recovered() {
        let chunk = |text: &str| format!("data: {}\n\n", json!({"choices":[{"delta":{"content":text}}]})).into_bytes();
        let chunks = vec![
            chunk("{\"name\": \"recommend\", "),
            chunk("\"arguments\": {\"query\": \"space\"}}"),
            b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n".to_vec(),
        ];
        let engine = Scripted::new(vec![Ok(chunks)]);
        let config = EngineConfig { tool_mode: ToolMode::Native, ..EngineConfig::default() };
        let m = model(engine.clone(), config, false);
        let mut tokens = String::new();
        let r = block_on(m.chat(request(true), &mut |t| tokens.push_str(t))).unwrap();
        assert!(tokens.contains("recommend") && tokens.contains("space"));
        assert!(r.calls_from_text);
        assert_eq!(r.tool_calls[0].name, "recommend");
        assert_eq!(engine.bodies.borrow()[0]["stream"], true);
    }

    #[test]
    fn failures_timeouts_and_the_deadline() {
        let engine = Scripted::new(vec![Err(Error::Llm("in-page engine: out of memory".into()))]);
        let e = block_on(model(engine, EngineConfig::default(), false).chat(request(false), &mut |_| {})).unwrap_err();
        assert_eq!(e.code(), "llm_error");

        let engine = Scripted::new(vec![Ok(vec![b"{\"error\":{\"message\":\"context full\"}}".to_vec()])]);
        let e = block_on(model(engine, EngineConfig::default(), false).chat(request(false), &mut |_| {})).unwrap_err();
        assert!(e.code() == "llm_error" && e.to_string().contains("context full"));

        let engine = Rc::new(Scripted { hang: true, ..Rc::try_unwrap(Scripted::new(vec![])).ok().unwrap() });
        let e = block_on(model(engine.clone(), EngineConfig::default(), true).chat(request(false), &mut |_| {})).unwrap_err();
        assert_eq!((e.code(), engine.interrupts.get()), ("timeout", 1));

        let engine = Scripted::new(vec![]);
        let late = ChatRequest { deadline_ms: Some(999.0), ..request(false) };
        let e = block_on(model(engine.clone(), EngineConfig::default(), false).chat(late, &mut |_| {})).unwrap_err();
        assert_eq!((e.code(), engine.bodies.borrow().len()), ("timeout", 0));

        let bad = EngineConfig { model: Some(" ".into()), ..EngineConfig::default() };
        let clock = Rc::new(ManualClock::at(0.0));
        assert!(EngineModel::new(Scripted::new(vec![]), bad, clock, Rc::new(Sleep(false))).is_err());
    }
}
