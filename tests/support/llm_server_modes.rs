//! The scripted LLM server's stand-ins for a model: the `planner` mode (calls
//! `recommend`, then answers with the ids it got) and the `obey` mode (acts
//! out every `call <tool> with {json}` directive it reads, once).

use serde_json::{json, Value};

use super::replies::{args_value, Reply};

/// The request's `model`, or `"scripted"`.
pub fn model_of(request: &Value) -> String {
    request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("scripted")
        .to_string()
}

/// The text of a message's `content` (a string, or the text parts of an array).
fn content_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn role(message: &Value) -> &str {
    message.get("role").and_then(Value::as_str).unwrap_or("")
}

fn messages(request: &Value) -> &[Value] {
    request
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn tool_names(request: &Value) -> Vec<String> {
    request
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| {
                    t.get("function")
                        .and_then(|f| f.get("name"))
                        .or_else(|| t.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the request asks for the JSON planning mode: a `json_schema`
/// response format and no tools.
fn json_planning(request: &Value) -> bool {
    let schema = request
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        == Some("json_schema");
    schema && tool_names(request).is_empty()
}

/// Every `"id":"..."` value in `text` (whitespace allowed around the colon).
pub fn ids_in(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"id\"") {
        rest = &rest[at + 4..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('"') else {
            continue;
        };
        if let Some(end) = after.find('"') {
            ids.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
    }
    ids
}

/// The `planner` mode's decision.
pub fn planner(request: &Value) -> Reply {
    let msgs = messages(request);
    let last_user = msgs.iter().rposition(|m| role(m) == "user");
    let user_text = last_user
        .map(|i| content_text(&msgs[i]))
        .unwrap_or_default();
    let after_user = last_user.map_or(msgs, |i| &msgs[i + 1..]);
    let has_tool_result = after_user.iter().any(|m| role(m) == "tool");
    let last_tool_ids = msgs
        .iter()
        .rev()
        .find(|m| role(m) == "tool")
        .map(|m| ids_in(&content_text(m)))
        .unwrap_or_default();
    let answer = format!("Here is what I found: {}", last_tool_ids.join(", "));
    let recommend_args = json!({"query": user_text, "k": 10});
    if json_planning(request) {
        let content = if has_tool_result {
            json!({"answer": answer, "items": last_tool_ids})
        } else {
            json!({"tool": "recommend", "arguments": recommend_args})
        };
        return Reply::text(content.to_string());
    }
    let tools = tool_names(request);
    if tools.is_empty() {
        return Reply::text(format!(
            "Here is what I found: {}",
            ids_in(&user_text).join(", ")
        ));
    }
    if tools.iter().any(|t| t == "recommend") && !has_tool_result {
        return Reply::calls(vec![("recommend".into(), recommend_args)]);
    }
    Reply::text(answer)
}

/// Every `call <tool> with <json object>` directive in `text`, in order.
pub fn directives(text: &str) -> Vec<(String, Value)> {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("call ") {
        let start = from + at;
        from = start + 5;
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &text[start + 5..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(rest.len());
        if name_len == 0 {
            continue;
        }
        let name = &rest[..name_len];
        let after = rest[name_len..].trim_start();
        if !after
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("with"))
        {
            continue;
        }
        let after = after[4..].trim_start();
        if !after.starts_with('{') {
            continue;
        }
        let Some(len) = balanced_object_len(after) else {
            continue;
        };
        if let Ok(args @ Value::Object(_)) = serde_json::from_str::<Value>(&after[..len]) {
            found.push((name.to_string(), args));
            from = text.len() - after.len() + len;
        }
    }
    found
}

/// Length of the balanced `{...}` at the start of `s` (strings and escapes respected).
fn balanced_object_len(s: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in s.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The `(name, arguments)` calls earlier assistant messages made: native
/// `tool_calls`, and JSON objects in their content (`{"name","arguments"}`
/// or the planning mode's `{"tool","arguments"}`).
fn issued_calls(msgs: &[Value]) -> Vec<(String, Value)> {
    let mut issued = Vec::new();
    for m in msgs.iter().filter(|m| role(m) == "assistant") {
        for call in m
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let f = call.get("function").unwrap_or(call);
            if let Some(name) = f.get("name").and_then(Value::as_str) {
                let args = f.get("arguments").map(args_value).unwrap_or(Value::Null);
                issued.push((name.to_string(), args));
            }
        }
        let text = content_text(m);
        let mut rest = text.as_str();
        while let Some(at) = rest.find('{') {
            let candidate = &rest[at..];
            let len = balanced_object_len(candidate).unwrap_or(1);
            if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&candidate[..len]) {
                let name = o
                    .get("name")
                    .or_else(|| o.get("tool"))
                    .and_then(Value::as_str);
                if let (Some(name), Some(args)) = (name, o.get("arguments")) {
                    issued.push((name.to_string(), args_value(args)));
                }
            }
            rest = &candidate[len..];
        }
    }
    issued
}

/// The texts a directive may hide in: the content itself, the content with
/// `\"` unescaped, and every string inside it when it is JSON (an item
/// description in a serialized tool result).
fn scanned_texts(content: &str) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    let mut texts = vec![content.to_string(), content.replace("\\\"", "\"")];
    if let Ok(v) = serde_json::from_str::<Value>(content) {
        strings(&v, &mut texts);
    } else if let (Some(a), Some(b)) = (content.find('{'), content.rfind('}')) {
        // JSON inside a wrapper (the agent's `<data …>{…}</data>` blocks).
        if let Some(Ok(v)) = content.get(a..=b).map(serde_json::from_str::<Value>) {
            strings(&v, &mut texts);
        }
    }
    texts
}

/// The `obey` mode: every directive not yet issued becomes a tool call; when
/// none is left, [`planner`].
pub fn obey(request: &Value) -> Reply {
    obey_counted(request).0
}

/// [`obey`], and how many of its tool calls a directive asked for.
pub fn obey_counted(request: &Value) -> (Reply, usize) {
    let msgs = messages(request);
    let issued = issued_calls(msgs);
    let mut pending: Vec<(String, Value)> = Vec::new();
    for m in msgs.iter().filter(|m| role(m) != "system") {
        for d in scanned_texts(&content_text(m))
            .iter()
            .flat_map(|t| directives(t))
        {
            if !issued.contains(&d) && !pending.contains(&d) {
                pending.push(d);
            }
        }
    }
    if pending.is_empty() {
        return (planner(request), 0);
    }
    if json_planning(request) {
        let (name, args) = pending.swap_remove(0);
        return (
            Reply::text(json!({"tool": name, "arguments": args}).to_string()),
            1,
        );
    }
    let n = pending.len();
    (Reply::calls(pending), n)
}

/// The `user` mode: plays the simulated user of `recagent simulate
/// --user-endpoint` from the last user message of the prompt it sends (the
/// ones before are worked examples). It says "I'd like a <genres> movie
/// from <year>." from its `- genres:` and `- year:` lines (prefixed with
/// "Something else, please." once the conversation has started); when a key
/// of `leaks` occurs in it, it adds "Something like <value>." (a test makes
/// the value the hidden target's title, to prove that the simulator's guard
/// redacts it).
pub fn user(request: &Value, leaks: &[(String, String)]) -> Reply {
    let texts: Vec<String> = messages(request)
        .iter()
        .rev()
        .find(|m| role(m) == "user")
        .map(content_text)
        .into_iter()
        .collect();
    let line = |prefix: &str| {
        texts
            .iter()
            .flat_map(|t| t.lines())
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_string())
    };
    let genres = line("- genres:").map(|g| g.to_lowercase().replace(", ", " and "));
    let mut said = String::new();
    if texts.iter().any(|t| t.contains("The conversation so far:")) {
        said.push_str("Something else, please. ");
    }
    said.push_str(&format!(
        "I'd like a {} movie",
        genres.as_deref().unwrap_or("good")
    ));
    if let Some(year) = line("- year:") {
        said.push_str(&format!(" from {year}"));
    }
    said.push('.');
    for (key, value) in leaks {
        if texts.iter().any(|t| t.contains(key.as_str())) {
            said.push_str(&format!(" Something like {value}."));
        }
    }
    Reply::text(said)
}
