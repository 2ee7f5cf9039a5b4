//! A chat-completions response body (what a hostile endpoint streams) read
//! by `LlmClient` through an `Http` that delivers it in chunks whose sizes
//! the first two input bytes choose, so server-sent events, lines and UTF-8
//! characters are split everywhere: the SSE parser, the stream accumulator,
//! the whole-JSON reader and the recovery of tool calls written as text, as
//! an app's `ask` reaches them. The answer does not depend on the chunking
//! (compared with the body in one chunk) while no `[DONE]` ends the stream
//! early.
#![no_main]

use std::rc::Rc;

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use recagent_core::agent::builtin_tools;
use recagent_core::agent::llm::{ChatMessage, ChatModel, ChatRequest, ChatResponse, ChatRole, Ledger, LlmClient, LlmConfig};
use recagent_core::platform::{ByteStream, Http, HttpRequest, HttpStreamingResponse, LocalBoxFuture, ManualClock};
use recagent_core::Result;

/// Answers every request with status 200 and `body` cut into chunks of
/// `sizes` (cycled).
struct ChunkedHttp {
    body: Vec<u8>,
    sizes: Vec<usize>,
}

impl Http for ChunkedHttp {
    fn send_streaming(&self, _request: HttpRequest) -> LocalBoxFuture<'_, Result<HttpStreamingResponse>> {
        let mut chunks = Vec::new();
        let mut rest = self.body.as_slice();
        let mut k = 0;
        while !rest.is_empty() {
            let size = self.sizes[k % self.sizes.len()].min(rest.len());
            let (chunk, tail) = rest.split_at(size);
            chunks.push(Ok(chunk.to_vec()));
            rest = tail;
            k += 1;
        }
        let body: ByteStream = Box::pin(futures::stream::iter(chunks));
        Box::pin(async move {
            Ok(HttpStreamingResponse {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body,
            })
        })
    }
}

/// Chunk sizes from 1 to `1 + max % 64`, drawn by a xorshift seeded with `seed`.
fn chunk_sizes(seed: u8, max: u8) -> Vec<usize> {
    let mut x = u32::from(seed) | 0x9E37_0000;
    let top = 1 + usize::from(max % 64);
    (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            1 + (x as usize) % top
        })
        .collect()
}

fn read(body: &[u8], sizes: Vec<usize>) -> (Result<ChatResponse>, String) {
    let clock = Rc::new(ManualClock::at(1_700_000_000_000.0));
    let config = LlmConfig {
        base_url: "http://127.0.0.1:9".into(),
        max_retries: 0,
        stream: true,
        ..LlmConfig::default()
    };
    let http = Rc::new(ChunkedHttp { body: body.to_vec(), sizes });
    let client = LlmClient::new(config, http, clock.clone(), clock, Ledger::new()).expect("a valid client");
    let request = ChatRequest {
        messages: vec![ChatMessage::text(ChatRole::User, "films like Fargo")],
        tools: builtin_tools().into_iter().map(|t| t.spec).collect(),
        ..ChatRequest::default()
    };
    let mut streamed = String::new();
    let mut on_token = |t: &str| streamed.push_str(t);
    let answer = block_on(client.chat(request, &mut on_token));
    (answer, streamed)
}

fuzz_target!(|data: &[u8]| {
    let [seed, max, body @ ..] = data else { return };
    let (chunked, streamed) = read(body, chunk_sizes(*seed, *max));
    if body.windows(6).any(|w| w == b"[DONE]") {
        return;
    }
    let (whole, streamed_whole) = read(body, vec![usize::MAX]);
    match (&chunked, &whole) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "the answer depends on the chunking");
            assert_eq!(streamed, streamed_whole, "the streamed text depends on the chunking");
        }
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code(), "the error depends on the chunking"),
        _ => panic!("chunked {chunked:?} but whole {whole:?}"),
    }
});
