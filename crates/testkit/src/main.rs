//! Serves the scripted OpenAI-compatible chat-completions server of the tests
//! (`tests/support/llm_server.rs`) on loopback, for the browser tests and for
//! trying the CLI without a real model:
//!
//! ```sh
//! cargo run -p recagent-testkit --bin scripted_llm -- [--port N]
//! ```
//!
//! Prints exactly one line, `listening http://127.0.0.1:PORT`, then serves
//! until killed. Script sessions with `PUT /_script/<session>`, read what they
//! received with `GET /_log/<session>`; the LLM base URL of a session is
//! `http://127.0.0.1:PORT/s/<session>` (`/v1/chat/completions` alone is the
//! session `default`, which answers in `planner` mode).

use std::io::Write;

#[path = "../../../tests/support/llm_server.rs"]
mod llm_server;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut port = 0u16;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => match p.parse() {
                Ok(p) => port = p,
                Err(_) => fail(&format!("--port: not a port number: {p}")),
            },
            _ => fail("usage: scripted_llm [--port N]"),
        }
    }
    let server = match llm_server::ScriptedLlmServer::start_on(port) {
        Ok(s) => s,
        Err(e) => fail(&format!("cannot listen on 127.0.0.1:{port}: {e}")),
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening {}", server.base_url());
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}

fn fail(message: &str) -> ! {
    eprintln!("scripted_llm: {message}");
    std::process::exit(2);
}
