//! The ledger of every outbound request: one entry per HTTP attempt, retries
//! included, with the exact bytes sent. [`LedgeredHttp`] is the [`Http`]
//! decorator that writes it; the LLM client sends everything through one.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::Stream;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::platform::{
    ByteStream, Clock, Http, HttpRequest, HttpStreamingResponse, LocalBoxFuture,
};

/// One HTTP attempt as it left the device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// 1, 2, … over the ledger's life (not reset by [`Ledger::clear`]).
    pub seq: u64,
    /// When the attempt started (milliseconds since the epoch, by the client's clock).
    pub time_ms: f64,
    /// HTTP method.
    pub method: String,
    /// The URL requested.
    pub url: String,
    /// `scheme://host[:port]` of the URL (empty if the URL has none).
    pub origin: String,
    /// 1 for the first try of a request, 2, 3, … for its retries.
    pub attempt: u32,
    /// The HTTP status, `None` when no response came.
    pub status: Option<u16>,
    /// The error code (`network_error`, `timeout`, `aborted`, …) when no
    /// response came or its body failed (`aborted` also when the caller
    /// stopped waiting before the response head); `None` otherwise.
    pub error: Option<String>,
    /// From the start of the attempt to the end of its response body (or its
    /// failure); while the body is still streaming, to the response head.
    pub duration_ms: f64,
    /// Headers as sent, except credentials: an `Authorization` value is
    /// shown as `Bearer ***` (`***` for other schemes), API-key headers as `***`.
    pub headers: Vec<(String, String)>,
    /// The body sent, byte for byte (UTF-8; see `body_lossy`).
    pub body: String,
    /// True if the body was not valid UTF-8 and `body` is a lossy rendering
    /// (never the case for the JSON the LLM client sends).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub body_lossy: bool,
    /// Body length in bytes.
    pub bytes: usize,
}

/// The shared list of [`LedgerEntry`]s; clones share the same entries.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: Rc<RefCell<Vec<LedgerEntry>>>,
    last_seq: Rc<Cell<u64>>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every entry, oldest first.
    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.entries.borrow().clone()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether the ledger has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Removes every entry (sequence numbers keep counting up).
    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }

    fn push(&self, mut entry: LedgerEntry) -> u64 {
        let seq = self.last_seq.get() + 1;
        self.last_seq.set(seq);
        entry.seq = seq;
        self.entries.borrow_mut().push(entry);
        seq
    }

    fn update(&self, seq: u64, change: impl FnOnce(&mut LedgerEntry)) {
        // try_borrow_mut: this also runs from Drop impls, which must never panic.
        if let Ok(mut entries) = self.entries.try_borrow_mut() {
            if let Some(entry) = entries.iter_mut().find(|e| e.seq == seq) {
                change(entry);
            }
        }
    }
}

/// `scheme://host[:port]`, lower-cased, for an `http`/`https` URL (default
/// ports dropped, user info removed); [`Error::InvalidInput`] otherwise.
pub(crate) fn origin_of(url: &str) -> Result<String> {
    let bad = || Error::InvalidInput(format!("not an http(s) URL: {url:?}"));
    let (scheme, rest) = url.trim().split_once("://").ok_or_else(bad)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_ascii_lowercase();
    let (host, port) = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => (&host_port[..i], Some(&host_port[i + 1..])),
        _ => (host_port.as_str(), None),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    match port {
        None | Some("") => Ok(format!("{scheme}://{host}")),
        Some(p) if p.parse::<u16>().is_err() => Err(bad()),
        Some("80") if scheme == "http" => Ok(format!("{scheme}://{host}")),
        Some("443") if scheme == "https" => Ok(format!("{scheme}://{host}")),
        Some(p) => Ok(format!("{scheme}://{host}:{p}")),
    }
}

/// The header as the ledger shows it: credentials masked.
fn masked_header(name: &str, value: &str) -> (String, String) {
    let lower = name.to_ascii_lowercase();
    let shown = if lower == "authorization" || lower == "proxy-authorization" {
        match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} ***"),
            None => "***".to_string(),
        }
    } else if lower == "x-api-key" || lower == "api-key" {
        "***".to_string()
    } else {
        value.to_string()
    };
    (name.to_string(), shown)
}

/// An [`Http`] decorator that appends one [`LedgerEntry`] per request to a
/// [`Ledger`] before sending it, and fills in the status, error and duration
/// as they become known.
pub struct LedgeredHttp {
    inner: Rc<dyn Http>,
    clock: Rc<dyn Clock>,
    ledger: Ledger,
}

impl LedgeredHttp {
    /// Wraps `inner`; entries go to `ledger`, times come from `clock`.
    pub fn new(inner: Rc<dyn Http>, clock: Rc<dyn Clock>, ledger: Ledger) -> Self {
        Self {
            inner,
            clock,
            ledger,
        }
    }

    /// The ledger written to.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Sends `request` as attempt number `attempt` of one logical request
    /// (what [`Http::send_streaming`] does with `attempt` 1).
    pub fn send_attempt(
        &self,
        request: HttpRequest,
        attempt: u32,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        let started = self.clock.now_ms();
        let (body, body_lossy) = match std::str::from_utf8(&request.body) {
            Ok(s) => (s.to_string(), false),
            Err(_) => (String::from_utf8_lossy(&request.body).into_owned(), true),
        };
        let seq = self.ledger.push(LedgerEntry {
            seq: 0,
            time_ms: started,
            method: request.method.clone(),
            url: request.url.clone(),
            origin: origin_of(&request.url).unwrap_or_default(),
            attempt,
            status: None,
            error: None,
            duration_ms: 0.0,
            headers: request
                .headers
                .iter()
                .map(|(n, v)| masked_header(n, v))
                .collect(),
            body,
            body_lossy,
            bytes: request.body.len(),
        });
        Box::pin(async move {
            let mut unanswered = Unanswered {
                http: self,
                seq,
                started,
                settled: false,
            };
            let result = self.inner.send_streaming(request).await;
            unanswered.settled = true;
            let elapsed = self.clock.now_ms() - started;
            match result {
                Ok(response) => {
                    self.ledger.update(seq, |e| {
                        e.status = Some(response.status);
                        e.duration_ms = elapsed;
                    });
                    let body = LedgeredBody {
                        inner: response.body,
                        ledger: self.ledger.clone(),
                        clock: self.clock.clone(),
                        seq,
                        started,
                        finished: false,
                    };
                    Ok(HttpStreamingResponse {
                        status: response.status,
                        headers: response.headers,
                        body: Box::pin(body),
                    })
                }
                Err(error) => {
                    self.ledger.update(seq, |e| {
                        e.error = Some(error.code().to_string());
                        e.duration_ms = elapsed;
                    });
                    Err(error)
                }
            }
        })
    }
}

impl Http for LedgeredHttp {
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        self.send_attempt(request, 1)
    }
}

/// Marks an entry `aborted` if the request future is dropped before the
/// response head arrived (the caller stopped waiting).
struct Unanswered<'a> {
    http: &'a LedgeredHttp,
    seq: u64,
    started: f64,
    settled: bool,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let elapsed = self.http.clock.now_ms() - self.started;
            self.http.ledger.update(self.seq, |e| {
                e.error = Some(Error::Aborted(String::new()).code().to_string());
                e.duration_ms = elapsed;
            });
        }
    }
}

/// A response body that records in the ledger when it ends or fails.
struct LedgeredBody {
    inner: ByteStream,
    ledger: Ledger,
    clock: Rc<dyn Clock>,
    seq: u64,
    started: f64,
    finished: bool,
}

impl LedgeredBody {
    fn finish(&mut self, error: Option<&Error>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let elapsed = self.clock.now_ms() - self.started;
        let code = error.map(|e| e.code().to_string());
        self.ledger.update(self.seq, |e| {
            e.duration_ms = elapsed;
            if code.is_some() {
                e.error = code;
            }
        });
    }
}

impl Stream for LedgeredBody {
    type Item = Result<Vec<u8>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(None) => self.finish(None),
            Poll::Ready(Some(Err(e))) => self.finish(Some(e)),
            _ => {}
        }
        polled
    }
}

impl Drop for LedgeredBody {
    /// A body dropped before its end (the reader had what it needed, or
    /// gave up) still gets its duration.
    fn drop(&mut self) {
        self.finish(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{HttpResponse, ManualClock, ScriptedHttp};
    use futures::executor::block_on;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("HTTP://Example.COM:8080/v1?x").unwrap(),
            "http://example.com:8080"
        );
        assert_eq!(
            origin_of("https://u:p@api.x.com:443/v1").unwrap(),
            "https://api.x.com"
        );
        assert_eq!(origin_of("http://[::1]:9/x").unwrap(), "http://[::1]:9");
        assert_eq!(origin_of("http://127.0.0.1").unwrap(), "http://127.0.0.1");
        for bad in ["ftp://x", "x", "http://", "http://h:port/", "http://a b/"] {
            assert_eq!(origin_of(bad).unwrap_err().code(), "invalid_input", "{bad}");
        }
    }

    #[test]
    fn entries_mask_credentials_and_keep_the_bytes() {
        let http = ScriptedHttp::new(vec![
            Ok(HttpResponse {
                status: 201,
                headers: vec![],
                body: b"ok".to_vec(),
            }),
            Err("refused".into()),
        ]);
        let clock = ManualClock::at(10.0);
        let ledger = Ledger::new();
        let ledgered = LedgeredHttp::new(Rc::new(http), Rc::new(clock.clone()), ledger.clone());
        let request = HttpRequest {
            method: "POST".into(),
            url: "http://h:1/v1/chat/completions".into(),
            headers: vec![
                ("Authorization".into(), "Bearer sk-secret".into()),
                ("x-api-key".into(), "k".into()),
            ],
            body: "{\"é\":1}".as_bytes().to_vec(),
            timeout_ms: 5,
        };
        let response = block_on(ledgered.send_attempt(request.clone(), 2)).unwrap();
        clock.advance(7.0);
        assert_eq!(block_on(http_body(response)), b"ok");
        assert_eq!(
            block_on(ledgered.send(request)).unwrap_err().code(),
            "network_error"
        );
        let entries = ledger.entries();
        assert_eq!(entries.len(), 2);
        let e = &entries[0];
        assert_eq!(
            (e.seq, e.attempt, e.status, e.error.clone()),
            (1, 2, Some(201), None)
        );
        assert_eq!((e.time_ms, e.duration_ms), (10.0, 7.0));
        assert_eq!(e.headers[0].1, "Bearer ***");
        assert_eq!(e.headers[1].1, "***");
        assert_eq!((e.body.as_str(), e.bytes), ("{\"é\":1}", 8));
        assert_eq!(e.origin, "http://h:1");
        let json = serde_json::to_string(&entries).unwrap();
        assert!(!json.contains("sk-secret") && json.contains("\"timeMs\""));
        assert_eq!(
            (
                entries[1].seq,
                entries[1].status,
                entries[1].error.as_deref()
            ),
            (2, None, Some("network_error"))
        );
        ledger.clear();
        assert!(ledger.is_empty());
    }

    async fn http_body(mut response: HttpStreamingResponse) -> Vec<u8> {
        use futures::StreamExt;
        let mut out = Vec::new();
        while let Some(chunk) = response.body.next().await {
            out.extend(chunk.unwrap());
        }
        out
    }
}
