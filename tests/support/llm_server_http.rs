//! The scripted LLM server's response writer: heads with CORS, bodies with
//! a `Content-Length` (optionally cut short), chunked server-sent events
//! (optionally truncated), and the `hang` that never answers.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Shared, HANG_LIMIT};

pub(super) fn sleep_unless_stopping(shared: &Shared, total: Duration) {
    let start = Instant::now();
    while !shared.stopping() && start.elapsed() < total {
        thread::sleep((total - start.elapsed()).min(Duration::from_millis(50)));
    }
}

/// Writes one response on a connection (always `Connection: close`).
pub(super) struct Response<'a> {
    stream: &'a mut TcpStream,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

impl<'a> Response<'a> {
    pub(super) fn new(stream: &'a mut TcpStream) -> Self {
        Self { stream }
    }

    fn head(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        extra: &[(&str, String)],
    ) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        head.push_str("Access-Control-Allow-Origin: *\r\n");
        head.push_str("Access-Control-Expose-Headers: retry-after\r\n");
        head.push_str("Connection: close\r\n");
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes())?;
        self.stream.flush()
    }

    pub(super) fn preflight(&mut self) -> io::Result<()> {
        self.head(
            204,
            &[],
            &[
                (
                    "Access-Control-Allow-Methods",
                    "GET, POST, PUT, OPTIONS".into(),
                ),
                (
                    "Access-Control-Allow-Headers",
                    "authorization, content-type, x-api-key".into(),
                ),
                ("Access-Control-Max-Age", "600".into()),
                ("Content-Length", "0".into()),
            ],
        )
    }

    pub(super) fn json(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &Value,
    ) -> io::Result<()> {
        self.body(
            status,
            headers,
            "application/json",
            body.to_string().as_bytes(),
            false,
        )
    }

    /// A body with `Content-Length`; `truncate` declares the full length but
    /// closes the connection after half of it.
    pub(super) fn body(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        content_type: &str,
        body: &[u8],
        truncate: bool,
    ) -> io::Result<()> {
        let mut extra = vec![("Content-Length", body.len().to_string())];
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            extra.push(("Content-Type", content_type.to_string()));
        }
        self.head(status, headers, &extra)?;
        let sent = if truncate {
            &body[..body.len() / 2]
        } else {
            body
        };
        self.stream.write_all(sent)?;
        self.stream.flush()?;
        self.close()
    }

    /// Server-sent events, one `data:` event per HTTP chunk (chunked transfer
    /// encoding), each flushed separately `delay_ms` apart, then
    /// `data: [DONE]`. `truncate`: the last event is cut in half and the
    /// connection closed (no [DONE], no final chunk).
    pub(super) fn sse(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        events: &[String],
        delay_ms: u64,
        truncate: bool,
        shared: &Shared,
    ) -> io::Result<()> {
        let mut extra = vec![("Transfer-Encoding", "chunked".to_string())];
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            extra.push(("Content-Type", "text/event-stream".into()));
        }
        extra.push(("Cache-Control", "no-cache".into()));
        self.head(status, headers, &extra)?;
        let mut all: Vec<String> = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        if !truncate {
            all.push("data: [DONE]\n\n".into());
        }
        let count = all.len();
        for (i, event) in all.iter().enumerate() {
            if i > 0 && delay_ms > 0 {
                sleep_unless_stopping(shared, Duration::from_millis(delay_ms));
            }
            let bytes = event.as_bytes();
            if truncate && i + 1 == count {
                let half = &bytes[..bytes.len() / 2];
                self.stream
                    .write_all(format!("{:x}\r\n", bytes.len()).as_bytes())?;
                self.stream.write_all(half)?;
                self.stream.flush()?;
                return self.close();
            }
            self.stream
                .write_all(format!("{:x}\r\n", bytes.len()).as_bytes())?;
            self.stream.write_all(bytes)?;
            self.stream.write_all(b"\r\n")?;
            self.stream.flush()?;
        }
        self.stream.write_all(b"0\r\n\r\n")?;
        self.stream.flush()?;
        self.close()
    }

    /// A valid 200-style completion of exactly `bytes` bytes (at least its
    /// JSON frame), sent with its `Content-Length` in 64 KiB writes as the
    /// client reads; stops when the client closes, the server stops, or
    /// [`HANG_LIMIT`]. The body is never held whole.
    pub(super) fn huge_json(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        bytes: u64,
        shared: &Shared,
    ) -> io::Result<()> {
        let head = br#"{"object":"chat.completion","model":"huge","choices":[{"index":0,"message":{"role":"assistant","content":""#;
        let tail = br#""},"finish_reason":"stop"}]}"#;
        let frame = (head.len() + tail.len()) as u64;
        let total = bytes.max(frame);
        let extra = [
            ("Content-Length", total.to_string()),
            ("Content-Type", "application/json".to_string()),
        ];
        self.head(status, headers, &extra)?;
        self.stream.write_all(head)?;
        let filler = vec![b'x'; 64 * 1024];
        let mut left = total - frame;
        let start = Instant::now();
        while left > 0 && !shared.stopping() && start.elapsed() < HANG_LIMIT {
            let n = left.min(filler.len() as u64) as usize;
            self.stream.write_all(&filler[..n])?;
            left -= n as u64;
        }
        self.stream.write_all(tail)?;
        self.stream.flush()?;
        self.close()
    }

    /// A server-sent-event stream that never ends (until the client closes,
    /// the server stops, or [`HANG_LIMIT`]). `spec`: `delay_ms` between
    /// writes (default 0: as fast as the client reads); `line: true` sends
    /// one `data:` line that never ends; `silent: true` sends the head and
    /// nothing more. Otherwise small `chat.completion.chunk` content events,
    /// 64 per write.
    pub(super) fn endless_sse(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        spec: &Value,
        shared: &Shared,
    ) -> io::Result<()> {
        let flag = |name: &str| spec.get(name).and_then(Value::as_bool) == Some(true);
        let delay =
            Duration::from_millis(spec.get("delay_ms").and_then(Value::as_u64).unwrap_or(0));
        let extra = [
            ("Transfer-Encoding", "chunked".to_string()),
            ("Content-Type", "text/event-stream".to_string()),
            ("Cache-Control", "no-cache".to_string()),
        ];
        self.head(status, headers, &extra)?;
        if flag("silent") {
            return self.hang(shared);
        }
        let piece: Vec<u8> = if flag("line") {
            let mut first = b"data: ".to_vec();
            first.extend(std::iter::repeat(b'x').take(16 * 1024));
            first
        } else {
            let event = r#"data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"la "},"finish_reason":null}]}"#;
            format!("{event}\n\n").repeat(64).into_bytes()
        };
        let start = Instant::now();
        while !shared.stopping() && start.elapsed() < HANG_LIMIT {
            self.stream
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
            self.stream.write_all(&piece)?;
            self.stream.write_all(b"\r\n")?;
            self.stream.flush()?;
            if !delay.is_zero() {
                sleep_unless_stopping(shared, delay);
            }
        }
        self.stream.write_all(b"0\r\n\r\n")?;
        self.stream.flush()?;
        self.close()
    }

    /// Never answers: waits until the client closes, the server stops, or
    /// [`HANG_LIMIT`].
    pub(super) fn hang(&mut self, shared: &Shared) -> io::Result<()> {
        self.stream
            .set_read_timeout(Some(Duration::from_millis(100)))?;
        let start = Instant::now();
        let mut buf = [0u8; 1024];
        while !shared.stopping() && start.elapsed() < HANG_LIMIT {
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        let _ = self.stream.shutdown(Shutdown::Write);
        // Drain what the client still sends so the close is not a reset.
        self.stream
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut buf = [0u8; 1024];
        while let Ok(n) = self.stream.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        Ok(())
    }
}
