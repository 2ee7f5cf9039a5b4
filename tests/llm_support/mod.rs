//! Shared doubles and fixtures of the LLM client tests: an Http that yields
//! bodies in given chunks (one byte each, a failure mid-body), chat
//! completion and SSE fixtures, and a client on a manual clock.
#![allow(dead_code)]

pub use std::cell::RefCell;
pub use std::collections::VecDeque;
pub use std::rc::Rc;

pub use futures::executor::block_on;
pub use recagent_core::agent::llm::{
    ChatMessage, ChatModel, ChatRequest, ChatResponse, ChatRole, FinishReason, Ledger, LlmClient,
    LlmConfig, ToolCall, ToolChoice, ToolMode, ToolSpec,
};
pub use recagent_core::platform::{
    ByteStream, Http, HttpRequest, HttpResponse, HttpStreamingResponse, LocalBoxFuture,
    ManualClock, ScriptedHttp, SeededRng,
};
pub use recagent_core::{Error, Result};
pub use serde_json::{json, Value};

pub const T0: f64 = 1_700_000_000_000.0;
pub const KEY: &str = "sk-test-SECRET-0123456789";

/// One scripted answer of [`ChunkedHttp`].
pub enum Scripted {
    /// Status, headers, body chunks, then optionally an error instead of the end.
    Answer(u16, Vec<(String, String)>, Vec<Vec<u8>>, Option<Error>),
    /// No response at all.
    Fail(Error),
    /// A server that never answers (the future stays pending).
    Hang,
}

/// An Http double that yields bodies in the chunks it is given (e.g. one
/// byte each) and can fail with any error, mid-body included.
#[derive(Default)]
pub struct ChunkedHttp {
    script: RefCell<VecDeque<Scripted>>,
    /// Every request received.
    pub sent: RefCell<Vec<HttpRequest>>,
}

impl ChunkedHttp {
    pub fn new(script: Vec<Scripted>) -> Rc<Self> {
        Rc::new(Self {
            script: RefCell::new(script.into()),
            sent: RefCell::default(),
        })
    }
}

impl Http for ChunkedHttp {
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        self.sent.borrow_mut().push(request);
        let next = self.script.borrow_mut().pop_front();
        Box::pin(async move {
            match next {
                None => Err(Error::Network("script exhausted".into())),
                Some(Scripted::Fail(e)) => Err(e),
                Some(Scripted::Hang) => futures::future::pending().await,
                Some(Scripted::Answer(status, headers, chunks, tail)) => {
                    let items: Vec<Result<Vec<u8>>> =
                        chunks.into_iter().map(Ok).chain(tail.map(Err)).collect();
                    let body: ByteStream = Box::pin(futures::stream::iter(items));
                    Ok(HttpStreamingResponse {
                        status,
                        headers,
                        body,
                    })
                }
            }
        })
    }
}

pub fn one_byte_chunks(body: &[u8]) -> Vec<Vec<u8>> {
    body.iter().map(|b| vec![*b]).collect()
}

pub fn json_response(status: u16, value: Value) -> std::result::Result<HttpResponse, String> {
    Ok(HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: value.to_string().into_bytes(),
    })
}

pub fn with_header(
    response: std::result::Result<HttpResponse, String>,
    name: &str,
    value: &str,
) -> std::result::Result<HttpResponse, String> {
    response.map(|mut r| {
        r.headers.push((name.into(), value.into()));
        r
    })
}

pub fn message(content: Value, extra: Value) -> Value {
    let mut m = json!({"role": "assistant", "content": content});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    m
}

pub fn completion(message: Value, finish: &str, usage: bool) -> Value {
    let mut v = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    });
    if usage {
        v["usage"] = json!({"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17});
    }
    v
}

pub fn text_answer(text: &str) -> std::result::Result<HttpResponse, String> {
    json_response(
        200,
        completion(message(json!(text), json!({})), "stop", true),
    )
}

pub fn sse_body(events: &[Value], done: bool) -> Vec<u8> {
    let mut out = String::new();
    for e in events {
        out.push_str(&format!("data: {e}\n\n"));
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    out.into_bytes()
}

pub fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"object": "chat.completion.chunk", "model": "test-model",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

pub struct Setup {
    pub client: LlmClient,
    pub clock: ManualClock,
    pub ledger: Ledger,
}

pub fn config(edit: impl FnOnce(&mut LlmConfig)) -> LlmConfig {
    let mut config = LlmConfig {
        base_url: "http://127.0.0.1:9/s/test".into(),
        model: "test-model".into(),
        stream: false,
        ..LlmConfig::default()
    };
    edit(&mut config);
    config
}

pub fn setup_with(http: Rc<dyn Http>, config: LlmConfig) -> Setup {
    let clock = ManualClock::at(T0);
    let ledger = Ledger::new();
    let client = LlmClient::new(
        config,
        http,
        Rc::new(clock.clone()),
        Rc::new(clock.clone()),
        ledger.clone(),
    )
    .unwrap()
    .with_rng(Box::new(SeededRng::new(7)));
    Setup {
        client,
        clock,
        ledger,
    }
}

pub fn setup(
    responses: Vec<std::result::Result<HttpResponse, String>>,
    edit: impl FnOnce(&mut LlmConfig),
) -> (Setup, ScriptedHttp) {
    let http = ScriptedHttp::new(responses);
    (setup_with(Rc::new(http.clone()), config(edit)), http)
}

pub fn tool_request() -> ChatRequest {
    let tool = |name: &str| ToolSpec {
        name: name.into(),
        description: format!("the {name} tool"),
        parameters: json!({"type": "object", "properties": {"k": {"type": "integer"}}}),
    };
    ChatRequest {
        messages: vec![
            ChatMessage::text(ChatRole::System, "You recommend films."),
            ChatMessage::text(ChatRole::User, "something light for tonight"),
        ],
        tools: vec![tool("recommend"), tool("get_item")],
        tool_choice: ToolChoice::Auto,
        ..ChatRequest::default()
    }
}

pub fn ask(setup: &Setup, request: ChatRequest) -> Result<ChatResponse> {
    block_on(setup.client.chat(request, &mut |_| {}))
}

pub fn ask_streaming(setup: &Setup, request: ChatRequest) -> (Result<ChatResponse>, Vec<String>) {
    let mut tokens = Vec::new();
    let result = block_on(
        setup
            .client
            .chat(request, &mut |t| tokens.push(t.to_string())),
    );
    (result, tokens)
}

pub fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

pub fn streamed_text_events() -> Vec<Value> {
    vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Here "}), None),
        chunk(json!({"content": "is "}), None),
        chunk(json!({"content": "Paddington 2 — café"}), None),
        chunk(json!({}), Some("stop")),
        json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}),
    ]
}

pub fn sse_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "text/event-stream".into())]
}
