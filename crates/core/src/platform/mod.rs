//! Traits for the outside world, one per service, each with an in-memory
//! implementation for tests.
//!
//! The core only talks to storage, the network, the clock, randomness, an
//! image decoder and an outside candidate engine ([`candidates`])
//! through these traits; the binding (the root crate, `src/`) implements them over IndexedDB, `fetch`,
//! `Date.now()` and `crypto.getRandomValues`, the native CLI over files and
//! the OS. Futures are [`LocalBoxFuture`]s: in the browser nothing is `Send`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

pub use futures::future::LocalBoxFuture;
pub use futures::stream::LocalBoxStream;

use crate::error::{Error, Result};

pub mod candidates;
pub use candidates::{Candidate, CandidateQuery, CandidateSource, FieldCondition, MemoryCandidateSource, VectorSpace};

mod image_decoder;
#[cfg(feature = "decode")]
pub use image_decoder::NativeImageDecoder;
pub use image_decoder::ImageDecoder;

mod kv;
pub use kv::{check_batch, check_conditional_batch, Expect, KvStore, MemoryKvStore, WriteOp, MAX_KEY_LEN};

/// An outbound HTTP request. Bodies are bytes: exactly what leaves the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    /// Give up after this many milliseconds.
    pub timeout_ms: u32,
}

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header name/value pairs (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

/// The chunks of a response body as they arrive (server-sent events are
/// parsed from these incrementally). An `Err` item ends the body early
/// ([`Error::Network`] for a connection cut short, [`Error::Timeout`]).
pub type ByteStream = LocalBoxStream<'static, Result<Vec<u8>>>;

/// A response whose head has arrived and whose body is still streaming.
pub struct HttpStreamingResponse {
    /// Status code.
    pub status: u16,
    /// Header name/value pairs (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// The body, chunk by chunk.
    pub body: ByteStream,
}

impl std::fmt::Debug for HttpStreamingResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStreamingResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// The network. The browser implementation is `fetch`; the native CLI's is
/// a blocking HTTP/1.1 client.
///
/// Contract for implementations:
/// - `request.timeout_ms` bounds the whole exchange, body included; running
///   past it fails with [`Error::Timeout`] (the browser aborts the `fetch`).
/// - No HTTP response at all (refused, reset, DNS, CORS) is [`Error::Network`].
///   Any HTTP status, 4xx and 5xx included, is a response, not an error.
/// - Dropping the returned future or body stream cancels the request.
pub trait Http {
    /// Sends `request` and returns once the response head has arrived; the
    /// body streams.
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>>;

    /// Sends `request` and waits for the whole response.
    fn send(&self, request: HttpRequest) -> LocalBoxFuture<'_, Result<HttpResponse>> {
        Box::pin(async move {
            use futures::StreamExt;
            let mut response = self.send_streaming(request).await?;
            let mut body = Vec::new();
            while let Some(chunk) = response.body.next().await {
                body.extend_from_slice(&chunk?);
            }
            Ok(HttpResponse {
                status: response.status,
                headers: response.headers,
                body,
            })
        })
    }
}

/// Waiting (retry backoff). The browser's is `setTimeout`; tests use
/// [`ManualClock`], which only moves its clock forward.
pub trait Sleeper {
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: u32) -> LocalBoxFuture<'static, ()>;
}

/// [`Http`] that answers from a script of responses, in order, and records
/// every request. For tests.
#[derive(Debug, Clone, Default)]
pub struct ScriptedHttp {
    responses: Rc<RefCell<Vec<Result<HttpResponse, String>>>>,
    sent: Rc<RefCell<Vec<HttpRequest>>>,
}

impl ScriptedHttp {
    /// A server that will answer with `responses` in order (`Err` = connection error).
    pub fn new(responses: Vec<Result<HttpResponse, String>>) -> Self {
        Self {
            responses: Rc::new(RefCell::new(responses)),
            sent: Rc::default(),
        }
    }

    /// Every request sent so far.
    pub fn sent(&self) -> Vec<HttpRequest> {
        self.sent.borrow().clone()
    }
}

impl Http for ScriptedHttp {
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        self.sent.borrow_mut().push(request);
        let next = {
            let mut r = self.responses.borrow_mut();
            if r.is_empty() {
                Err("script exhausted".to_string())
            } else {
                r.remove(0)
            }
        };
        Box::pin(async move {
            let response = next.map_err(Error::Network)?;
            let body: ByteStream = Box::pin(futures::stream::iter([Ok(response.body)]));
            Ok(HttpStreamingResponse {
                status: response.status,
                headers: response.headers,
                body,
            })
        })
    }
}

/// Wall-clock time.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> f64;
}

/// A clock that only moves when told to. For tests.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Rc<Cell<f64>>,
}

impl ManualClock {
    /// A clock reading `now_ms`.
    pub fn at(now_ms: f64) -> Self {
        Self {
            now: Rc::new(Cell::new(now_ms)),
        }
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: f64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }
}

/// Sleeping on a manual clock moves it forward at once: tests of backoff
/// take no real time and can check how long the code would have waited.
impl Sleeper for ManualClock {
    fn sleep(&self, ms: u32) -> LocalBoxFuture<'static, ()> {
        self.advance(f64::from(ms));
        Box::pin(async {})
    }
}

/// A source of randomness; seeded implementations make tests reproducible.
pub trait Rng {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;

    /// A uniform float in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// SplitMix64: small, fast, seedable. Not for secrets.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }
}

impl Rng for SeededRng {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn memory_store_round_trips_and_scans_in_order() {
        let store = MemoryKvStore::new();
        block_on(async {
            store.put("b/2", vec![2]).await.unwrap();
            store.put("a/1", vec![1]).await.unwrap();
            store.put("b/1", vec![3]).await.unwrap();
            assert_eq!(store.get("a/1").await.unwrap(), Some(vec![1]));
            let keys: Vec<_> = store
                .scan_prefix("b/")
                .await
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            assert_eq!(keys, ["b/1", "b/2"]);
            store.delete("a/1").await.unwrap();
            assert_eq!(store.get("a/1").await.unwrap(), None);
        });
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn memory_store_batches_are_all_or_nothing() {
        let store = MemoryKvStore::new();
        let put = |k: &str| WriteOp::Put {
            key: k.into(),
            value: vec![1],
        };
        block_on(async {
            store.put("old", vec![0]).await.unwrap();
            let bad = vec![put("a"), WriteOp::Delete { key: "old".into() }, put("")];
            assert_eq!(store.write(bad).await.unwrap_err().code(), "invalid_input");
            assert_eq!(store.len(), 1);
            store
                .write(vec![
                    put("a"),
                    put("b"),
                    WriteOp::Delete { key: "old".into() },
                ])
                .await
                .unwrap();
            assert_eq!(store.get("old").await.unwrap(), None);
            assert_eq!(store.len(), 2);
            store.clear().await.unwrap();
        });
        assert!(store.is_empty());
    }

    #[test]
    fn memory_store_write_if_applies_only_when_every_expectation_holds() {
        let store = MemoryKvStore::new();
        let put = |k: &str, v: u8| WriteOp::Put {
            key: k.into(),
            value: vec![v],
        };
        block_on(async {
            store.put("n", vec![1]).await.unwrap();
            let stale = vec![Expect::new("n", Some(vec![0]))];
            assert!(!store.write_if(stale, vec![put("a", 1)]).await.unwrap());
            assert_eq!(store.get("a").await.unwrap(), None);
            let taken = vec![Expect::new("n", Some(vec![1])), Expect::absent("n")];
            assert!(!store.write_if(taken, vec![put("a", 1)]).await.unwrap());
            let ok = vec![Expect::new("n", Some(vec![1])), Expect::absent("a")];
            assert!(store.write_if(ok, vec![put("a", 1), put("n", 2)]).await.unwrap());
            assert_eq!(store.get("n").await.unwrap(), Some(vec![2]));
            let bad_key = vec![Expect::absent("")];
            assert_eq!(store.write_if(bad_key, vec![]).await.unwrap_err().code(), "invalid_input");
        });
    }

    #[test]
    fn scripted_http_answers_in_order_and_records() {
        let ok = HttpResponse {
            status: 200,
            headers: vec![],
            body: b"hi".to_vec(),
        };
        let http = ScriptedHttp::new(vec![Ok(ok.clone()), Err("reset".into())]);
        let req = HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1/x".into(),
            headers: vec![],
            body: b"{}".to_vec(),
            timeout_ms: 1000,
        };
        assert_eq!(block_on(http.send(req.clone())).unwrap(), ok);
        assert_eq!(
            block_on(http.send(req.clone())).unwrap_err().code(),
            "network_error"
        );
        assert_eq!(http.sent().len(), 2);
    }

    #[test]
    fn seeded_rng_is_reproducible_and_clock_is_manual() {
        let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
        assert_eq!(a.next_u64(), b.next_u64());
        assert!((0.0..1.0).contains(&a.next_f64()));
        let clock = ManualClock::at(1000.0);
        clock.advance(500.0);
        assert_eq!(clock.now_ms(), 1500.0);
    }
}
