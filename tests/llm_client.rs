//! The LLM client against scripted HTTP: every server dialect (OpenAI,
//! vLLM, llama-server, Ollama, Hermes tags), JSON planning mode, and
//! streaming split at every byte, streamed tool calls, truncated streams
//! and errors inside a stream. Faults, retries, the breaker and the ledger
//! are in `llm_client_faults.rs`.
#![cfg(not(target_arch = "wasm32"))]

mod llm_support;

use llm_support::*;
use recagent_core::agent::llm::Usage;

// ---------------------------------------------------------------- dialects

#[test]
fn openai_native_tool_calls() {
    let native = message(
        Value::Null,
        json!({"tool_calls": [{"id": "call_abc", "type": "function",
                                "function": {"name": "recommend", "arguments": "{\"k\":3}"}}]}),
    );
    let (s, _) = setup(
        vec![json_response(200, completion(native, "tool_calls", true))],
        |_| {},
    );
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![call("call_abc", "recommend", r#"{"k":3}"#)]
    );
    assert!(!r.calls_from_text);
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 12,
            completion_tokens: 5
        })
    );
    assert_eq!(r.model.as_deref(), Some("test-model"));
}

#[test]
fn vllm_null_content_with_tool_calls() {
    let vllm = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
        {"id": "chatcmpl-tool-1", "type": "function", "function": {"name": "get_item", "arguments": "{\"id\": \"50\"}"}},
        {"id": "chatcmpl-tool-2", "type": "function", "function": {"name": "recommend", "arguments": "{}"}}
    ]}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 1, "completion_tokens": 2}});
    let (s, _) = setup(vec![json_response(200, vllm)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(r.content, "");
    assert_eq!(
        r.tool_calls
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["get_item", "recommend"]
    );
    assert_eq!(r.tool_calls[0].arguments, r#"{"id": "50"}"#);
}

#[test]
fn llama_server_tool_call_as_json_text_bare_and_fenced() {
    let bare = r#"{"name": "recommend", "arguments": {"query": "light comedy", "k": 5}}"#;
    let fenced = "I'll search.\n```json\n{\"name\": \"recommend\", \"arguments\": {\"query\": \"light comedy\", \"k\": 5}}\n```";
    for (text, rest) in [(bare, ""), (fenced, "I'll search.")] {
        // llama-server: no usage ids, no native tool_calls.
        let body = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]});
        let (s, _) = setup(vec![json_response(200, body)], |_| {});
        let r = ask(&s, tool_request()).unwrap();
        assert!(r.calls_from_text, "{text}");
        assert_eq!(r.content, rest);
        assert_eq!(
            r.tool_calls,
            vec![call(
                "call_text_1",
                "recommend",
                r#"{"k":5,"query":"light comedy"}"#
            )]
        );
        assert_eq!(r.usage, None);
    }
}

#[test]
fn llama_server_native_calls_without_ids() {
    let body = completion(
        message(
            json!(""),
            json!({"tool_calls": [{"type": "function", "function": {"name": "recommend", "arguments": "{}"}},
                                                  {"type": "function", "function": {"name": "get_item", "arguments": "{\"id\":\"1\"}"}}]}),
        ),
        "tool_calls",
        true,
    );
    let (s, _) = setup(vec![json_response(200, body)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![
            call("call_1", "recommend", "{}"),
            call("call_2", "get_item", r#"{"id":"1"}"#)
        ]
    );
}

#[test]
fn ollama_object_arguments_and_no_usage() {
    let body = completion(
        message(
            json!(""),
            json!({"tool_calls": [{"id": "call_x", "type": "function",
                                                  "function": {"name": "recommend", "arguments": {"k": 4, "query": "kids"}}}]}),
        ),
        "tool_calls",
        false,
    );
    let (s, _) = setup(vec![json_response(200, body)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![call("call_x", "recommend", r#"{"k":4,"query":"kids"}"#)]
    );
    assert_eq!(r.usage, None);
    assert!(!r.calls_from_text);
}

#[test]
fn hermes_tool_call_tags() {
    let text =
        "<tool_call>\n{\"name\": \"get_item\", \"arguments\": {\"id\": \"7\"}}\n</tool_call>";
    let (s, _) = setup(
        vec![json_response(
            200,
            completion(message(json!(text), json!({})), "stop", true),
        )],
        |_| {},
    );
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!((r.content.as_str(), r.calls_from_text), ("", true));
    assert_eq!(
        r.tool_calls,
        vec![call("call_text_1", "get_item", r#"{"id":"7"}"#)]
    );
}

#[test]
fn text_is_left_alone_without_tools_and_in_json_planning_mode() {
    let plan = r#"{"tool": "recommend", "arguments": {"k": 3}}"#;
    // No tools offered: JSON in the text is an answer, not a call.
    let (s, _) = setup(vec![text_answer(plan)], |_| {});
    let r = ask(
        &s,
        ChatRequest {
            tools: vec![],
            ..tool_request()
        },
    )
    .unwrap();
    assert_eq!((r.content.as_str(), r.tool_calls.len()), (plan, 0));

    // JSON planning mode: the content is the plan; tools never go on the wire.
    let (s, http) = setup(vec![text_answer(plan)], |c| {
        c.tool_mode = ToolMode::JsonPlanning
    });
    let request = ChatRequest {
        response_schema: Some(json!({"type": "object"})),
        ..tool_request()
    };
    let r = ask(&s, request).unwrap();
    assert_eq!(
        (r.content.as_str(), r.tool_calls.len(), r.calls_from_text),
        (plan, 0, false)
    );
    let body: Value = serde_json::from_slice(&http.sent()[0].body).unwrap();
    assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        json!({"type": "object"})
    );
}

// ---------------------------------------------------------------- streaming

#[test]
fn streaming_split_at_every_byte() {
    let body = sse_body(&streamed_text_events(), true);
    // Reference: the whole body in one chunk.
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![body.clone()],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (whole, whole_tokens) = ask_streaming(&s, tool_request());
    let whole = whole.unwrap();
    assert_eq!(whole.content, "Here is Paddington 2 — café");
    assert_eq!(whole_tokens, ["Here ", "is ", "Paddington 2 — café"]);
    assert_eq!(
        whole.usage,
        Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 4
        })
    );
    assert_eq!(whole.finish_reason, FinishReason::Stop);

    // One byte per chunk (multi-byte characters split too): the same answer, the same tokens.
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        one_byte_chunks(&body),
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    assert_eq!(r.unwrap(), whole);
    assert_eq!(tokens, whole_tokens);

    // Every two-chunk split, with CRLF line ends.
    let crlf = String::from_utf8(body.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    for split in 1..crlf.len() {
        let chunks = vec![crlf[..split].to_vec(), crlf[split..].to_vec()];
        let http = ChunkedHttp::new(vec![Scripted::Answer(200, sse_headers(), chunks, None)]);
        let s = setup_with(http, config(|c| c.stream = true));
        assert_eq!(ask(&s, tool_request()).unwrap(), whole, "split at {split}");
    }
}

#[test]
fn streamed_tool_call_deltas() {
    let events = vec![
        chunk(
            json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "recommend", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"query\": \"li"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "ght\", \"k\": 3}"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_item", "arguments": "{\"id\""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "function": {"arguments": ": \"9\"}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ];
    let body = sse_body(&events, true);
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        one_byte_chunks(&body),
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    let r = r.unwrap();
    assert!(tokens.is_empty());
    assert_eq!(
        r.tool_calls,
        vec![
            call("call_1", "recommend", r#"{"query": "light", "k": 3}"#),
            call("call_2", "get_item", r#"{"id": "9"}"#)
        ]
    );
    assert_eq!((r.finish_reason, r.usage), (FinishReason::ToolCalls, None));
}

#[test]
fn streamed_json_text_becomes_a_tool_call() {
    let events = vec![
        chunk(json!({"content": "{\"name\": \"recommend\", "}), None),
        chunk(json!({"content": "\"arguments\": {\"k\": 2}}"}), None),
        chunk(json!({}), Some("stop")),
    ];
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![sse_body(&events, true)],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    let r = r.unwrap();
    // The tokens already handed out carry the JSON (documented); the response does not.
    assert_eq!(
        tokens.concat(),
        "{\"name\": \"recommend\", \"arguments\": {\"k\": 2}}"
    );
    assert_eq!((r.content.as_str(), r.calls_from_text), ("", true));
    assert_eq!(
        r.tool_calls,
        vec![call("call_text_1", "recommend", r#"{"k":2}"#)]
    );
}

#[test]
fn a_server_that_ignores_stream_true_is_read_as_json() {
    let (s, http) = setup(vec![text_answer("plain")], |c| c.stream = true);
    let (r, tokens) = ask_streaming(&s, tool_request());
    assert_eq!(r.unwrap().content, "plain");
    assert!(tokens.is_empty());
    let body: Value = serde_json::from_slice(&http.sent()[0].body).unwrap();
    assert_eq!(
        (
            body["stream"].clone(),
            body["stream_options"]["include_usage"].clone()
        ),
        (json!(true), json!(true))
    );
}

#[test]
fn truncated_stream_is_a_network_error() {
    // Cut in the middle of the last event, after text went out: not retried (it would repeat tokens).
    let mut body = sse_body(&streamed_text_events()[..4], false);
    body.extend_from_slice(b"data: {\"choices\": [{\"ind");
    let http = ChunkedHttp::new(vec![Scripted::Answer(200, sse_headers(), vec![body], None)]);
    let s = setup_with(http, config(|c| c.stream = true));
    let (r, tokens) = ask_streaming(&s, tool_request());
    let e = r.unwrap_err();
    assert_eq!(e.code(), "network_error");
    assert!(e.to_string().contains("stream truncated"), "{e}");
    assert_eq!(tokens.len(), 3);
    assert_eq!(s.ledger.len(), 1);

    // Cut before any text: retried, and the retry succeeds.
    let cut = sse_body(&streamed_text_events()[..1], false);
    let http = ChunkedHttp::new(vec![
        Scripted::Answer(
            200,
            sse_headers(),
            vec![cut],
            Some(Error::Network("connection reset".into())),
        ),
        Scripted::Answer(
            200,
            sse_headers(),
            vec![sse_body(&streamed_text_events(), true)],
            None,
        ),
    ]);
    let s = setup_with(http, config(|c| c.stream = true));
    assert_eq!(
        ask(&s, tool_request()).unwrap().content,
        "Here is Paddington 2 — café"
    );
    let entries = s.ledger.entries();
    assert_eq!(
        entries.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(entries[0].error.as_deref(), Some("network_error"));
    assert_eq!(entries[0].status, Some(200));
}

#[test]
fn error_inside_the_stream() {
    let events = vec![
        chunk(json!({"content": "Hi"}), None),
        json!({"error": {"message": "model overloaded", "code": 503}}),
    ];
    let http = ChunkedHttp::new(vec![Scripted::Answer(
        200,
        sse_headers(),
        vec![sse_body(&events, false)],
        None,
    )]);
    let s = setup_with(http, config(|c| c.stream = true));
    let e = ask(&s, tool_request()).unwrap_err();
    assert_eq!(e.code(), "llm_error");
    assert!(e.to_string().contains("model overloaded"), "{e}");
    assert_eq!(s.ledger.len(), 1);
}
