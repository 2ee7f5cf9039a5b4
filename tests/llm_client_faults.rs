//! The LLM client's faults and guarantees against scripted HTTP: empty
//! choices, malformed JSON, `finish_reason: length`, retries and jittered
//! backoff on a manual clock, Retry-After (seconds and HTTP date), max
//! retries, no retry on 4xx, the deadline, the circuit breaker, and the
//! ledger (masked key, exact bytes sent).
#![cfg(not(target_arch = "wasm32"))]

mod llm_support;

use llm_support::*;
use recagent_core::platform::Clock;

// ---------------------------------------------------------------- faults

#[test]
fn empty_or_missing_choices_and_malformed_json_are_llm_errors() {
    for body in [
        json!({"choices": []}),
        json!({"id": "x", "object": "chat.completion"}),
    ] {
        let (s, _) = setup(vec![json_response(200, body)], |_| {});
        assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
        assert_eq!(s.ledger.len(), 1, "not retried");
    }
    let raw = Ok(HttpResponse {
        status: 200,
        headers: vec![],
        body: b"{\"choices\": [".to_vec(),
    });
    let (s, _) = setup(vec![raw], |_| {});
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    let (s, _) = setup(
        vec![json_response(
            200,
            json!({"error": {"message": "bad model name"}}),
        )],
        |_| {},
    );
    assert!(ask(&s, tool_request())
        .unwrap_err()
        .to_string()
        .contains("bad model name"));
}

#[test]
fn finish_reason_length() {
    let body = completion(
        message(json!("A long answer that was cu"), json!({})),
        "length",
        true,
    );
    let (s, _) = setup(vec![json_response(200, body)], |_| {});
    let r = ask(&s, tool_request()).unwrap();
    assert_eq!(
        (r.finish_reason, r.content.as_str()),
        (FinishReason::Length, "A long answer that was cu")
    );
}

#[test]
fn retries_500_500_then_200() {
    let fail = || json_response(500, json!({"error": {"message": "boom"}}));
    let (s, http) = setup(vec![fail(), fail(), text_answer("ok")], |_| {});
    assert_eq!(ask(&s, tool_request()).unwrap().content, "ok");
    let entries = s.ledger.entries();
    assert_eq!(
        entries.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        entries.iter().map(|e| e.status).collect::<Vec<_>>(),
        [Some(500), Some(500), Some(200)]
    );
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(http.sent().len(), 3);
    // Backoff: 500 ms × 2^n ± 50 %.
    let first = entries[1].time_ms - entries[0].time_ms;
    let second = entries[2].time_ms - entries[1].time_ms;
    assert!((250.0..750.0).contains(&first), "{first}");
    assert!((500.0..1500.0).contains(&second), "{second}");
    // The same request bytes every time.
    assert!(entries.iter().all(|e| e.body == entries[0].body));
}

#[test]
fn retry_after_seconds_and_http_date_are_honoured() {
    let limited = with_header(
        json_response(429, json!({"error": {"message": "slow down"}})),
        "Retry-After",
        "2",
    );
    let (s, _) = setup(vec![limited, text_answer("ok")], |_| {});
    ask(&s, tool_request()).unwrap();
    let e = s.ledger.entries();
    assert!(
        e[1].time_ms - e[0].time_ms >= 2000.0,
        "{}",
        e[1].time_ms - e[0].time_ms
    );
    assert!(s.clock.now_ms() - T0 >= 2000.0);

    // 2023-11-14T22:13:23Z is T0 + 3 s (T0 = 1_700_000_000_000 = 22:13:20).
    let limited = with_header(
        json_response(503, json!({})),
        "retry-after",
        "Tue, 14 Nov 2023 22:13:23 GMT",
    );
    let (s, _) = setup(vec![limited, text_answer("ok")], |_| {});
    ask(&s, tool_request()).unwrap();
    let e = s.ledger.entries();
    assert_eq!(e[1].time_ms - e[0].time_ms, 3000.0);

    // A Retry-After past what the deadline allows: no wait, a timeout at once.
    let limited = with_header(json_response(429, json!({})), "Retry-After", "30");
    let (s, _) = setup(vec![limited, text_answer("ok")], |_| {});
    let e = ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 10_000.0),
            ..tool_request()
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "timeout");
    assert_eq!((s.ledger.len(), s.clock.now_ms()), (1, T0));
}

#[test]
fn max_retries_is_honoured() {
    let fail = || json_response(503, json!({"error": {"message": "overloaded"}}));
    let (s, http) = setup(vec![fail(), fail(), fail(), fail()], |_| {});
    let e = ask(&s, tool_request()).unwrap_err();
    assert_eq!(e.code(), "llm_error");
    assert!(e.to_string().contains("HTTP 503: overloaded"), "{e}");
    assert_eq!(http.sent().len(), 3, "1 try + 2 retries (the default)");

    let (s, http) = setup(vec![fail(), fail(), fail()], |c| c.max_retries = 0);
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    assert_eq!(http.sent().len(), 1);
}

#[test]
fn client_errors_are_not_retried_and_never_echo_the_key() {
    let (s, http) = setup(
        vec![
            json_response(400, json!({"error": {"message": "unknown field foo"}})),
            text_answer("no"),
        ],
        |_| {},
    );
    let e = ask(&s, tool_request()).unwrap_err();
    assert_eq!((e.code(), http.sent().len()), ("llm_error", 1));
    assert!(e.to_string().contains("HTTP 400: unknown field foo"), "{e}");

    let echo = json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}});
    let (s, http) = setup(vec![json_response(401, echo)], |c| {
        c.api_key = Some(KEY.into())
    });
    let e = ask(&s, tool_request()).unwrap_err().to_string();
    assert_eq!(http.sent().len(), 1);
    assert!(
        e.contains("HTTP 401: the endpoint refused the API key"),
        "{e}"
    );
    assert!(!e.contains(KEY) && !e.contains("SECRET"), "{e}");
}

#[test]
fn network_errors_and_timeouts_are_retried_but_aborts_are_not() {
    let (s, _) = setup(
        vec![Err("connection refused".into()), text_answer("ok")],
        |_| {},
    );
    assert_eq!(ask(&s, tool_request()).unwrap().content, "ok");
    let e = s.ledger.entries();
    assert_eq!(
        (e[0].status, e[0].error.as_deref(), e[1].status),
        (None, Some("network_error"), Some(200))
    );

    let http = ChunkedHttp::new(vec![
        Scripted::Fail(Error::Timeout("15000 ms".into())),
        Scripted::Answer(
            200,
            vec![],
            vec![br#"{"choices":[{"message":{"content":"late"}}]}"#.to_vec()],
            None,
        ),
    ]);
    let s = setup_with(http, config(|_| {}));
    assert_eq!(ask(&s, tool_request()).unwrap().content, "late");
    assert_eq!(s.ledger.entries()[0].error.as_deref(), Some("timeout"));

    let http = ChunkedHttp::new(vec![Scripted::Fail(Error::Aborted("by the app".into()))]);
    let s = setup_with(http.clone(), config(|_| {}));
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "aborted");
    assert_eq!(http.sent.borrow().len(), 1);
    // An abort says nothing about the endpoint: the breaker does not count it.
    assert!(!s.client.circuit_open());
}

#[test]
fn the_deadline_bounds_attempts_and_stops_retries() {
    // Per-attempt timeout = min(request timeout, time left).
    let (s, http) = setup(vec![text_answer("ok")], |c| c.request_timeout_ms = 15_000);
    ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 5_000.0),
            ..tool_request()
        },
    )
    .unwrap();
    assert_eq!(http.sent()[0].timeout_ms, 5_000);
    let (s, http) = setup(vec![text_answer("ok")], |c| c.request_timeout_ms = 2_000);
    ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 5_000.0),
            ..tool_request()
        },
    )
    .unwrap();
    assert_eq!(http.sent()[0].timeout_ms, 2_000);

    // Already past: nothing sent.
    let (s, http) = setup(vec![text_answer("ok")], |_| {});
    let e = ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 - 1.0),
            ..tool_request()
        },
    )
    .unwrap_err();
    assert_eq!(
        (e.code(), http.sent().len(), s.ledger.len()),
        ("timeout", 0, 0)
    );

    // A failure with less time left than the backoff (≥ 250 ms): no retry, a timeout.
    let fail = || json_response(500, json!({}));
    let (s, http) = setup(vec![fail(), fail(), text_answer("ok")], |_| {});
    let e = ask(
        &s,
        ChatRequest {
            deadline_ms: Some(T0 + 200.0),
            ..tool_request()
        },
    )
    .unwrap_err();
    assert_eq!((e.code(), http.sent().len()), ("timeout", 1));
    assert!(e.to_string().contains("HTTP 500"), "{e}");
}

#[test]
fn the_breaker_opens_sends_nothing_then_half_opens() {
    let fail = || json_response(500, json!({"error": {"message": "down"}}));
    let responses = vec![
        fail(),
        fail(),
        fail(),
        fail(),
        text_answer("back"),
        text_answer("again"),
    ];
    let (s, http) = setup(responses, |c| {
        c.max_retries = 0;
        c.breaker_threshold = 3;
        c.breaker_cooldown_ms = 30_000;
    });
    for _ in 0..3 {
        assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    }
    assert!(s.client.circuit_open());
    for _ in 0..5 {
        assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "circuit_open");
    }
    assert_eq!(
        (http.sent().len(), s.ledger.len()),
        (3, 3),
        "nothing sent while open"
    );

    // After the cooldown one trial goes out; it fails and the circuit opens again.
    s.clock.advance(30_000.0);
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "circuit_open");
    assert_eq!(http.sent().len(), 4);

    // The next trial succeeds and the circuit closes.
    s.clock.advance(30_000.0);
    assert_eq!(ask(&s, tool_request()).unwrap().content, "back");
    assert!(!s.client.circuit_open());
    assert_eq!(ask(&s, tool_request()).unwrap().content, "again");
    assert_eq!(http.sent().len(), 6);
}

#[test]
fn a_dropped_half_open_trial_gives_its_slot_back() {
    use futures::FutureExt;
    let fail = || {
        Scripted::Answer(
            503,
            vec![],
            vec![br#"{"error":{"message":"down"}}"#.to_vec()],
            None,
        )
    };
    let ok = Scripted::Answer(
        200,
        vec![],
        vec![br#"{"choices":[{"message":{"content":"up"}}]}"#.to_vec()],
        None,
    );
    let http = ChunkedHttp::new(vec![fail(), Scripted::Hang, ok]);
    let s = setup_with(
        http.clone(),
        config(|c| {
            c.max_retries = 0;
            c.breaker_threshold = 1;
        }),
    );
    assert_eq!(ask(&s, tool_request()).unwrap_err().code(), "llm_error");
    assert!(s.client.circuit_open());
    s.clock.advance(30_000.0);
    {
        // The trial hangs; the app stops waiting (drops the future).
        let mut ignore = |_: &str| {};
        let trial = s.client.chat(tool_request(), &mut ignore);
        assert!(trial.now_or_never().is_none());
    }
    assert!(!s.client.circuit_open(), "the trial slot is free again");
    let dropped = &s.ledger.entries()[1];
    assert_eq!(
        (dropped.status, dropped.error.as_deref()),
        (None, Some("aborted"))
    );
    assert_eq!(ask(&s, tool_request()).unwrap().content, "up");
    assert_eq!(http.sent.borrow().len(), 3);
}

// ---------------------------------------------------------------- ledger and wire

#[test]
fn authorization_is_sent_but_the_ledger_masks_it() {
    let (s, http) = setup(vec![text_answer("ok")], |c| c.api_key = Some(KEY.into()));
    ask(&s, tool_request()).unwrap();
    let sent = &http.sent()[0];
    assert!(sent
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("authorization") && v == &format!("Bearer {KEY}")));
    let entry = &s.ledger.entries()[0];
    assert!(entry
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("authorization") && v == "Bearer ***"));
    let json = serde_json::to_string(&s.ledger.entries()).unwrap();
    assert!(!json.contains(KEY) && !json.contains("SECRET"));
    assert!(!format!("{:?}", s.client.config()).contains("SECRET"));
    assert!(!serde_json::to_string(s.client.config())
        .unwrap()
        .contains("SECRET"));
    // Without a key there is no Authorization header at all.
    let (s, http) = setup(vec![text_answer("ok")], |_| {});
    ask(&s, tool_request()).unwrap();
    assert!(!http.sent()[0]
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization")));
    assert!(s.ledger.entries()[0]
        .headers
        .iter()
        .all(|(n, _)| !n.eq_ignore_ascii_case("authorization")));
}

#[test]
fn the_ledger_body_is_the_exact_bytes_sent() {
    let fail = json_response(502, json!({}));
    let (s, http) = setup(vec![fail, text_answer("ok")], |c| {
        c.api_key = Some(KEY.into())
    });
    let mut request = tool_request();
    request.messages.push(ChatMessage::text(
        ChatRole::User,
        "naïve “quotes” and \"escapes\" \u{1F600}",
    ));
    request.max_tokens = Some(256);
    request.temperature = Some(0.2);
    ask(&s, request).unwrap();
    let sent = http.sent();
    let entries = s.ledger.entries();
    assert_eq!(sent.len(), entries.len());
    for (request, entry) in sent.iter().zip(&entries) {
        assert_eq!(entry.body.as_bytes(), request.body.as_slice());
        assert_eq!(entry.bytes, request.body.len());
        assert_eq!(
            (entry.method.as_str(), entry.url.as_str()),
            ("POST", "http://127.0.0.1:9/s/test/v1/chat/completions")
        );
        assert_eq!(entry.origin, "http://127.0.0.1:9");
    }
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(
        body["messages"][2]["content"],
        "naïve “quotes” and \"escapes\" \u{1F600}"
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(
        (body["max_tokens"].clone(), body["temperature"].clone()),
        (json!(256), json!(0.2))
    );
    assert!(body.get("stream").is_none());
}

#[test]
fn configuration_is_validated() {
    let make = |edit: fn(&mut LlmConfig)| {
        let clock = ManualClock::at(T0);
        LlmClient::new(
            config(edit),
            Rc::new(ScriptedHttp::default()),
            Rc::new(clock.clone()),
            Rc::new(clock),
            Ledger::new(),
        )
    };
    assert_eq!(
        make(|c| c.base_url = "ftp://x".into())
            .err()
            .unwrap()
            .code(),
        "invalid_input"
    );
    assert_eq!(
        make(|c| c.model = " ".into()).err().unwrap().code(),
        "invalid_input"
    );
    assert_eq!(
        make(|c| c.api_key = Some("sk-a\r\nX-Evil: 1".into()))
            .err()
            .unwrap()
            .code(),
        "invalid_input"
    );
    let client = make(|c| c.base_url = "HTTPS://API.example.com/v1/".into()).unwrap();
    assert_eq!(client.config().origin().unwrap(), "https://api.example.com");
    assert_eq!(
        client.config().completions_url(),
        "HTTPS://API.example.com/v1/chat/completions"
    );
    let d = LlmConfig::default();
    assert_eq!(
        (
            d.request_timeout_ms,
            d.max_retries,
            d.stream,
            d.breaker_threshold,
            d.breaker_cooldown_ms
        ),
        (15_000, 2, true, 3, 30_000)
    );
    assert_eq!(
        (d.model.as_str(), d.tool_mode),
        ("default", ToolMode::Native)
    );
    let parsed: LlmConfig =
        serde_json::from_value(json!({"baseUrl": "http://h", "toolMode": "json", "apiKey": "k"}))
            .unwrap();
    assert_eq!(
        (
            parsed.tool_mode,
            parsed.api_key.as_deref(),
            parsed.max_retries
        ),
        (ToolMode::JsonPlanning, Some("k"), 2)
    );
}
