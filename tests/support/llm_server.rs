//! A scripted OpenAI-compatible chat-completions server for tests (the
//! contract is in the project notes, "the scripted OpenAI-compatible server").
//!
//! std + serde_json only: one thread accepts on a loopback port, one thread
//! serves each connection (HTTP/1.1, `Connection: close`). Each session has a
//! script of steps consumed one per completion request, then answers by its
//! mode (`planner`, `obey`, `fail`, `user`); every completion request is logged.
//!
//! Fault steps for the client's bounds: `{"huge_json": N}` (a valid 2xx
//! completion of exactly N bytes with its `Content-Length`, written as the
//! client reads), `{"endless_sse": {"delay_ms", "line", "silent"}}` (an SSE
//! stream that never ends: small content events, or with `line` one `data:`
//! line that never ends, or with `silent` nothing after the head), and a
//! reply's tool call may carry the `index` it is streamed with.
//!
//! Native tests include it with `#[path = "support/llm_server.rs"] mod llm_server;`,
//! the example `scripted_llm` serves it for browser tests and the CLI.

#![allow(dead_code)]

#[path = "llm_server_http.rs"]
mod http;
#[path = "llm_server_modes.rs"]
mod modes;
#[path = "llm_server_replies.rs"]
mod replies;

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{json, Value};

use http::{sleep_unless_stopping, Response};
pub use replies::Dialect;

/// Longest request head accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Longest request body accepted, in bytes.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long a `hang` step keeps the socket open at most.
const HANG_LIMIT: Duration = Duration::from_secs(120);

/// One session: its script, mode, dialect and the log of completion requests.
#[derive(Default)]
struct Session {
    steps: VecDeque<Value>,
    mode: String,
    dialect: Dialect,
    log: Vec<Value>,
    /// Tool calls the `obey` mode issued because a directive asked for them.
    obeyed: usize,
    /// The `user` mode's `(key, text)` pairs: "Something like <text>." is
    /// added when a message contains the key.
    leaks: Vec<(String, String)>,
}

/// State shared by the accept thread, the connection threads and the handle.
struct Shared {
    sessions: Mutex<HashMap<String, Session>>,
    stopping: AtomicBool,
}

impl Shared {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A connection thread that panicked while holding the lock leaves the
        // map usable: tests should see their own failure, not a poisoned lock.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// The server; it stops accepting when dropped.
pub struct ScriptedLlmServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl ScriptedLlmServer {
    /// Binds `127.0.0.1:0` and serves. Panics if loopback cannot be bound.
    pub fn start() -> ScriptedLlmServer {
        match Self::start_on(0) {
            Ok(s) => s,
            Err(e) => panic!("scripted LLM server: cannot bind 127.0.0.1:0: {e}"),
        }
    }

    /// Binds `127.0.0.1:port` (0 = any free port) and serves.
    pub fn start_on(port: u16) -> io::Result<ScriptedLlmServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            sessions: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let accept = thread::Builder::new()
            .name("scripted-llm-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(ScriptedLlmServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/s/<session>`: the LLM client's base URL for a session.
    pub fn session_url(&self, session: &str) -> String {
        format!("{}/s/{session}", self.base_url())
    }

    /// Replaces the session's script and clears its log (as `PUT /_script/<session>`).
    /// Panics on an invalid script.
    pub fn script(&self, session: &str, script: Value) {
        if let Err(e) = set_script(&self.shared, session, &script) {
            panic!("invalid script for session {session:?}: {e}");
        }
    }

    /// Every completion request the session received since its last script
    /// (as `GET /_log/<session>`).
    pub fn requests(&self, session: &str) -> Vec<Value> {
        self.shared
            .sessions()
            .get(session)
            .map(|s| s.log.clone())
            .unwrap_or_default()
    }

    /// How many tool calls the session's `obey` mode issued because an
    /// injected directive asked for them, since its last script.
    pub fn obeyed(&self, session: &str) -> usize {
        self.shared.sessions().get(session).map_or(0, |s| s.obeyed)
    }
}

impl Drop for ScriptedLlmServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Unblock `accept` with one last connection.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = shared.clone();
        let _ = thread::Builder::new()
            .name("scripted-llm-conn".into())
            .spawn(move || {
                let _ = serve_connection(stream, &shared);
            });
    }
}

/// A parsed HTTP request.
pub(crate) struct Request {
    method: String,
    path: String,
    /// Lower-case names, in arrival order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "body too long"));
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body cut short",
            ));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    let Some(request) = read_request(&mut stream)? else {
        return Ok(());
    };
    if shared.stopping() {
        return Ok(());
    }
    let path = request.path.split('?').next().unwrap_or("").to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut out = Response::new(&mut stream);
    match (request.method.as_str(), segments.as_slice()) {
        ("OPTIONS", _) => out.preflight(),
        ("PUT", ["_script", session]) => {
            let parsed = serde_json::from_slice::<Value>(&request.body)
                .map_err(|e| e.to_string())
                .and_then(|script| set_script(shared, session, &script));
            match parsed {
                Ok(()) => out.json(200, &[], &json!({"ok": true})),
                Err(e) => out.json(400, &[], &error_body(&format!("invalid script: {e}"))),
            }
        }
        ("GET", ["_log", session]) => {
            let log = shared
                .sessions()
                .get(*session)
                .map(|s| s.log.clone())
                .unwrap_or_default();
            out.json(200, &[], &Value::Array(log))
        }
        ("POST", ["v1", "chat", "completions"]) => completion(out, shared, "default", &request),
        ("POST", ["s", session, "v1", "chat", "completions"]) => {
            completion(out, shared, session, &request)
        }
        _ => out.json(
            404,
            &[],
            &error_body(&format!("no route {} {path}", request.method)),
        ),
    }
}

fn error_body(message: &str) -> Value {
    json!({"error": {"message": message, "type": "scripted_server"}})
}

/// Parses and installs a script (`{"steps","mode","dialect","leaks"}`).
fn set_script(shared: &Shared, session: &str, script: &Value) -> Result<(), String> {
    let steps = match script.get("steps") {
        None | Some(Value::Null) => VecDeque::new(),
        Some(Value::Array(steps)) => steps.iter().cloned().collect(),
        Some(_) => return Err("steps must be an array".into()),
    };
    if let Some(bad) = steps.iter().find(|s| !s.is_object()) {
        return Err(format!("a step must be an object, got {bad}"));
    }
    let mode = match script.get("mode").and_then(Value::as_str) {
        None => "planner".to_string(),
        Some(m @ ("planner" | "obey" | "fail" | "user")) => m.to_string(),
        Some(other) => return Err(format!("unknown mode {other:?}")),
    };
    let dialect = match script.get("dialect") {
        None | Some(Value::Null) => Dialect::default(),
        Some(d) => Dialect::from_json(d)?,
    };
    let leaks = match script.get("leaks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect(),
        Some(_) => return Err("leaks must be an object".into()),
    };
    shared.sessions().insert(
        session.to_string(),
        Session {
            steps,
            mode,
            dialect,
            log: Vec::new(),
            obeyed: 0,
            leaks,
        },
    );
    Ok(())
}

/// Answers one completion request: the session's next step, else its mode.
fn completion(
    mut out: Response<'_>,
    shared: &Shared,
    session: &str,
    request: &Request,
) -> io::Result<()> {
    let body_text = String::from_utf8_lossy(&request.body).into_owned();
    let headers: serde_json::Map<String, Value> = {
        let mut map = serde_json::Map::new();
        for (name, value) in &request.headers {
            let joined = match map.get(name).and_then(Value::as_str) {
                Some(earlier) => format!("{earlier}, {value}"),
                None => value.clone(),
            };
            map.insert(name.clone(), Value::String(joined));
        }
        map
    };
    let (step, mode, dialect, leaks) = {
        let mut sessions = shared.sessions();
        let s = sessions
            .entry(session.to_string())
            .or_insert_with(|| Session {
                mode: "planner".into(),
                ..Session::default()
            });
        s.log.push(json!({
            "method": request.method,
            "path": request.path,
            "headers": headers,
            "body": body_text,
        }));
        (
            s.steps.pop_front(),
            s.mode.clone(),
            s.dialect.clone(),
            s.leaks.clone(),
        )
    };
    let parsed: Option<Value> = serde_json::from_slice(&request.body).ok();
    let streaming = parsed
        .as_ref()
        .and_then(|b| b.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(step) = step else {
        let Some(body) = parsed else {
            return out.json(400, &[], &error_body("request body is not JSON"));
        };
        if mode == "fail" {
            return out.json(500, &[], &json!({"error": {"message": "scripted failure"}}));
        }
        let reply = if mode == "obey" {
            let (reply, obeyed) = modes::obey_counted(&body);
            if let Some(s) = shared.sessions().get_mut(session) {
                s.obeyed += obeyed;
            }
            reply
        } else if mode == "user" {
            modes::user(&body, &leaks)
        } else {
            modes::planner(&body)
        };
        let model = modes::model_of(&body);
        return if streaming {
            let events = replies::stream_events(&reply, &dialect, &model);
            out.sse(200, &[], &events, 0, false, shared)
        } else {
            out.json(
                200,
                &[],
                &replies::completion_json(&reply, &dialect, &model),
            )
        };
    };
    run_step(out, shared, &step, &dialect, parsed.as_ref(), streaming)
}

fn run_step(
    mut out: Response<'_>,
    shared: &Shared,
    step: &Value,
    dialect: &Dialect,
    request: Option<&Value>,
    streaming: bool,
) -> io::Result<()> {
    if let Some(ms) = step.get("delay_ms").and_then(Value::as_u64) {
        sleep_unless_stopping(shared, Duration::from_millis(ms));
    }
    if step.get("hang").and_then(Value::as_bool) == Some(true) {
        return out.hang(shared);
    }
    let status = step.get("status").and_then(Value::as_u64).unwrap_or(200) as u16;
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(Value::Object(h)) = step.get("headers") {
        for (name, value) in h {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            headers.push((name.clone(), value));
        }
    }
    if let Some(retry) = step.get("retry_after") {
        let value = retry
            .as_str()
            .map_or_else(|| retry.to_string(), str::to_string);
        headers.push(("Retry-After".into(), value));
    }
    if let Some(bytes) = step.get("huge_json").and_then(Value::as_u64) {
        return out.huge_json(status, &headers, bytes, shared);
    }
    if let Some(spec) = step.get("endless_sse") {
        return out.endless_sse(status, &headers, spec, shared);
    }
    let truncate = step.get("truncate").and_then(Value::as_bool) == Some(true);
    let chunk_delay = step
        .get("chunk_delay_ms")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if let Some(reply) = step.get("reply") {
        let reply = replies::Reply::from_json(reply);
        let model = request
            .map(modes::model_of)
            .unwrap_or_else(|| "scripted".into());
        return if streaming {
            let events = replies::stream_events(&reply, dialect, &model);
            out.sse(status, &headers, &events, chunk_delay, truncate, shared)
        } else {
            let body = replies::completion_json(&reply, dialect, &model);
            out.body(
                status,
                &headers,
                "application/json",
                body.to_string().as_bytes(),
                truncate,
            )
        };
    }
    if let Some(Value::Array(items)) = step.get("sse") {
        let events: Vec<String> = items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        return out.sse(status, &headers, &events, chunk_delay, truncate, shared);
    }
    if let Some(v) = step.get("json") {
        return out.body(
            status,
            &headers,
            "application/json",
            v.to_string().as_bytes(),
            truncate,
        );
    }
    if let Some(raw) = step.get("raw") {
        let raw = raw.as_str().map_or_else(|| raw.to_string(), str::to_string);
        return out.body(
            status,
            &headers,
            "application/json",
            raw.as_bytes(),
            truncate,
        );
    }
    out.body(status, &headers, "application/json", b"", false)
}
