//! The native [`Http`]: a blocking HTTP/1.1 client ([ureq](https://docs.rs/ureq),
//! rustls TLS with the webpki roots, so `https` endpoints work) and a
//! [`Sleeper`] over `std::thread::sleep`. For the CLI, which drives the
//! core's futures with `futures::executor::block_on`: the futures and the
//! body stream block inside `poll`, which is fine there and nowhere else.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use recagent_core::error::{Error, Result};
use recagent_core::platform::{
    ByteStream, Clock, Http, HttpRequest, HttpStreamingResponse, LocalBoxFuture, Sleeper,
};

/// Largest chunk one body read returns, in bytes.
const READ_CHUNK: usize = 16 * 1024;

/// [`Http`] over a blocking ureq agent.
///
/// Promises: `timeout_ms` bounds the whole exchange, body included
/// ([`Error::Timeout`]); no response at all (refused, reset, DNS, TLS) is
/// [`Error::Network`]; every HTTP status, 4xx and 5xx included, is a
/// response; redirects are not followed (a 3xx is returned as is, so each
/// attempt is exactly one request); response header names are lower case;
/// the body arrives in the chunks the socket reads return; dropping the
/// body stream closes the connection.
#[derive(Debug, Clone)]
pub struct NativeHttp {
    agent: ureq::Agent,
}

impl Default for NativeHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeHttp {
    /// A client with its own connection pool.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Self {
            agent: config.into(),
        }
    }

    fn start(&self, request: HttpRequest) -> Result<HttpStreamingResponse> {
        let timeout = Duration::from_millis(u64::from(request.timeout_ms));
        let deadline = Instant::now() + timeout;
        let method = ureq::http::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            Error::InvalidInput(format!("invalid HTTP method {:?}", request.method))
        })?;
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder
            .body(request.body)
            .map_err(|e| Error::InvalidInput(format!("invalid HTTP request: {e}")))?;
        let http_request = self
            .agent
            .configure_request(http_request)
            .timeout_global(Some(timeout))
            .build();
        let response = self
            .agent
            .run(http_request)
            .map_err(|e| error_of(e, &request.url, deadline))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let reader = response.into_body().into_reader();
        Ok(HttpStreamingResponse {
            status,
            headers,
            body: body_stream(reader, request.url, deadline),
        })
    }
}

impl Http for NativeHttp {
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        Box::pin(async move { self.start(request) })
    }
}

/// The body as a stream of what each `read` returns; ends at the first error.
fn body_stream(reader: impl Read + 'static, url: String, deadline: Instant) -> ByteStream {
    let state = Some((reader, url));
    Box::pin(futures::stream::unfold(state, move |state| async move {
        let (mut reader, url) = state?;
        let mut buf = vec![0u8; READ_CHUNK];
        match reader.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some((reader, url))))
            }
            Err(e) => Some((Err(io_error_of(e, &url, deadline)), None)),
        }
    }))
}

/// Whether `e` (possibly wrapping a ureq error) says a time limit ran out.
fn is_timeout_io(e: &io::Error) -> bool {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return true;
    }
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|inner| matches!(inner, ureq::Error::Timeout(_)))
}

fn io_error_of(e: io::Error, url: &str, deadline: Instant) -> Error {
    if is_timeout_io(&e) || Instant::now() >= deadline {
        Error::Timeout(format!("{url}: response body: {e}"))
    } else {
        Error::Network(format!("{url}: response body cut short: {e}"))
    }
}

fn error_of(e: ureq::Error, url: &str, deadline: Instant) -> Error {
    match e {
        ureq::Error::Timeout(t) => Error::Timeout(format!("{url}: {t}")),
        ureq::Error::Io(io) => {
            if is_timeout_io(&io) || Instant::now() >= deadline {
                Error::Timeout(format!("{url}: {io}"))
            } else {
                Error::Network(format!("{url}: {io}"))
            }
        }
        ureq::Error::BadUri(m) => Error::InvalidInput(format!("invalid URL {url:?}: {m}")),
        ureq::Error::Http(h) => Error::InvalidInput(format!("invalid HTTP request to {url}: {h}")),
        other => Error::Network(format!("{url}: {other}")),
    }
}

/// [`Sleeper`] that blocks the thread (`std::thread::sleep`), for the CLI.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&self, ms: u32) -> LocalBoxFuture<'static, ()> {
        Box::pin(async move { std::thread::sleep(Duration::from_millis(u64::from(ms))) })
    }
}

/// The operating system's clock (the browser's is `JsClock` in the binding).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}
