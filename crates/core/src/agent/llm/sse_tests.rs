//! Tests of the SSE parser and the stream accumulator: splits at every
//! byte, caps on lines and events, tool-call indexes, the call cap.
use super::super::types::FinishReason;
use super::*;

#[test]
fn events_split_anywhere_with_crlf_comments_and_multiline_data() {
    let body = b": keep-alive\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: x\ndata: two\n\ndata: three\r\rdata: caf\xc3\xa9\n\n";
    let whole = SseParser::new(1 << 20).feed(body).unwrap();
    assert_eq!(whole, ["{\"a\":\n1}", "two", "three", "café"]);
    for split in 0..body.len() {
        let mut p = SseParser::new(1 << 20);
        let mut got = p.feed(&body[..split]).unwrap();
        got.extend(p.feed(&body[split..]).unwrap());
        got.extend(p.finish().unwrap());
        assert_eq!(got, whole, "split at {split}");
    }
    let mut p = SseParser::new(1 << 20);
    let got: Vec<String> = body.iter().flat_map(|b| p.feed(&[*b]).unwrap()).collect();
    assert_eq!(got, whole);
}

#[test]
fn an_unterminated_event_is_dropped() {
    let mut p = SseParser::new(1 << 20);
    assert!(p.feed(b"data: {\"x\":1}").unwrap().is_empty());
    assert!(p.finish().unwrap().is_empty());
}

#[test]
fn accumulates_content_tool_calls_and_usage() {
    let mut acc = StreamAccumulator::new();
    let mut tokens = Vec::new();
    let mut on_token = |t: &str| tokens.push(t.to_string());
    for data in [
        r#"{"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"lo"}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"recommend","arguments":""}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"k\":"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"5}"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#,
        "[DONE]",
    ] {
        acc.push(data, &mut on_token).unwrap();
    }
    assert!(acc.is_done());
    let r = acc.finish().unwrap();
    assert_eq!(tokens, ["Hel", "lo"]);
    assert_eq!(r.content, "Hello");
    assert_eq!(
        r.tool_calls,
        vec![ToolCall {
            id: "c1".into(),
            name: "recommend".into(),
            arguments: r#"{"k":5}"#.into()
        }]
    );
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 7,
            completion_tokens: 2
        })
    );
    assert_eq!(r.model.as_deref(), Some("m"));
}

#[test]
fn truncation_errors_and_no_choices() {
    let mut acc = StreamAccumulator::new();
    acc.push(r#"{"choices":[{"delta":{"content":"a"}}]}"#, &mut |_| {})
        .unwrap();
    let e = acc.finish().unwrap_err();
    assert_eq!(e.code(), "network_error");
    assert!(e.to_string().contains("stream truncated"));

    let mut acc = StreamAccumulator::new();
    let e = acc
        .push(r#"{"error":{"message":"overloaded"}}"#, &mut |_| {})
        .unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().contains("overloaded")),
        ("llm_error", true)
    );

    let mut acc = StreamAccumulator::new();
    acc.push("[DONE]", &mut |_| {}).unwrap();
    assert_eq!(acc.finish().unwrap_err().code(), "llm_error");

    // A finish_reason without [DONE] is a complete answer.
    let mut acc = StreamAccumulator::new();
    acc.push(
        r#"{"choices":[{"delta":{"content":"a"},"finish_reason":"length"}]}"#,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(acc.finish().unwrap().finish_reason, FinishReason::Length);
}

#[test]
fn a_line_or_an_event_past_the_cap_is_a_typed_error_and_keeps_nothing_more() {
    // One line that never ends, fed in 4 KiB pieces.
    let mut p = SseParser::new(64 * 1024);
    let piece = [b'x'; 4096];
    assert!(p.feed(b"data: ").unwrap().is_empty());
    let mut fed = 6;
    let error = loop {
        match p.feed(&piece) {
            Ok(events) => assert!(events.is_empty()),
            Err(e) => break e,
        }
        fed += piece.len();
        assert!(fed <= 64 * 1024, "no error by {fed} bytes");
    };
    assert_eq!(error.code(), "response_too_large");
    assert!(p.line.len() <= 64 * 1024);
    // Many short `data:` lines of one event (the blank line never comes).
    let mut p = SseParser::new(1024);
    let lines = b"data: 0123456789\n".repeat(200);
    assert_eq!(p.feed(&lines).unwrap_err().code(), "response_too_large");
    assert!(p.data.len() <= 1024);
    // Events under the cap pass, however many.
    let mut p = SseParser::new(1024);
    let events = b"data: 0123456789\n\n".repeat(1000);
    assert_eq!(p.feed(&events).unwrap().len(), 1000);
}

fn call_delta(index: Value, id: Option<&str>, name: &str, arguments: &str) -> String {
    let mut call = serde_json::json!({"function": {"name": name, "arguments": arguments}});
    if !index.is_null() {
        call["index"] = index;
    }
    if let Some(id) = id {
        call["id"] = Value::String(id.into());
    }
    serde_json::json!({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}).to_string()
}

fn calls_of(events: &[String]) -> Result<Vec<(String, String, String)>> {
    let mut acc = StreamAccumulator::new();
    for event in events {
        acc.push(event, &mut |_| {})?;
    }
    acc.push(
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        &mut |_| {},
    )?;
    Ok(acc
        .finish()?
        .tool_calls
        .into_iter()
        .map(|c| (c.id, c.name, c.arguments))
        .collect())
}

fn triple(id: &str, name: &str, arguments: &str) -> (String, String, String) {
    (id.into(), name.into(), arguments.into())
}

#[test]
fn huge_negative_and_sparse_tool_call_indexes_neither_overflow_nor_reorder() {
    use serde_json::json;
    // The largest index, then a delta without index and a new id: a new
    // call after it (today's `last + 1` overflowed here).
    let got = calls_of(&[
        call_delta(json!(u64::MAX), Some("a"), "first", "{\"k\":"),
        call_delta(json!(u64::MAX), None, "", "1}"),
        call_delta(Value::Null, Some("b"), "second", "{}"),
    ])
    .unwrap();
    assert_eq!(
        got,
        [
            triple("a", "first", "{\"k\":1}"),
            triple("b", "second", "{}")
        ]
    );

    // Sparse 0 and 10^9, interleaved: two calls, in the order they came.
    let got = calls_of(&[
        call_delta(json!(0), Some("a"), "first", "{\"x\":"),
        call_delta(json!(1_000_000_000u64), Some("b"), "second", "{\"y\":"),
        call_delta(json!(0), None, "", "1}"),
        call_delta(json!(1_000_000_000u64), None, "", "2}"),
    ])
    .unwrap();
    assert_eq!(
        got,
        [
            triple("a", "first", "{\"x\":1}"),
            triple("b", "second", "{\"y\":2}")
        ]
    );

    // A large index first, then a small one: still the order of arrival.
    let got = calls_of(&[
        call_delta(json!(7), Some("a"), "first", "{}"),
        call_delta(json!(2), Some("b"), "second", "{}"),
    ])
    .unwrap();
    assert_eq!(
        got,
        [triple("a", "first", "{}"), triple("b", "second", "{}")]
    );

    // Negative, fractional and out-of-range indexes are no index at all.
    for bad in [
        json!(-1),
        json!(1.5),
        json!(1e30),
        json!("3"),
        json!(-9_223_372_036_854_775_808i64),
    ] {
        let got = calls_of(&[
            call_delta(bad.clone(), Some("a"), "first", "{\"k\":"),
            call_delta(bad.clone(), None, "", "1}"),
            call_delta(bad.clone(), Some("b"), "second", "{}"),
        ])
        .unwrap();
        assert_eq!(
            got,
            [
                triple("a", "first", "{\"k\":1}"),
                triple("b", "second", "{}")
            ],
            "{bad}"
        );
    }
}

#[test]
fn more_tool_calls_than_the_cap_is_an_llm_error() {
    let events: Vec<String> = (0..=MAX_TOOL_CALLS as u64)
        .map(|i| call_delta(serde_json::json!(i * 1_000_000_007), None, "f", "{}"))
        .collect();
    assert_eq!(calls_of(&events).unwrap_err().code(), "llm_error");
    assert_eq!(
        calls_of(&events[..MAX_TOOL_CALLS]).unwrap().len(),
        MAX_TOOL_CALLS
    );
}
