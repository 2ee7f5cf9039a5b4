//! Tool calls written as JSON in the text, as small models and servers
//! without native tool calls do (llama-server, Qwen/Hermes templates).
//!
//! Recognized call shapes: `{"name":..,"arguments":{..}}` (or
//! `"parameters"`), `{"tool":..,"arguments":..}`, `{"function":{"name",
//! "arguments"}}`, `{"tool_calls":[..]}` and a JSON array of calls; found
//! inside `<tool_call>…</tool_call>` tags, inside ```` ```json ```` / ```` ``` ````
//! fences, or bare in the text. Only the recognized calls are taken out of
//! the text; any other JSON stays. The calls are not validated here (the
//! planner checks the tool name and the arguments against its schema).
//!
//! Bounded work: tags and fences are found in one pass; bare JSON is looked
//! for from at most 256 brackets and with a budget of 4 bytes scanned per
//! byte of text (+ 64 KiB), so no text, however crafted, costs more than
//! linear time; JSON nested deeper than serde_json's 128 levels is not a
//! call. More than [`MAX_TOOL_CALLS`] calls in one text is [`crate::Error::Llm`].

use serde_json::Value;

use super::limits::{too_many_calls, MAX_TOOL_CALLS};
use super::types::{ChatResponse, ToolCall};
use super::wire;
use crate::error::Result;

/// Recovers tool calls written as JSON in `text`: returns the text without
/// them (trimmed) and the calls, in order, with ids `call_text_1`, `call_text_2`, ….
/// When tools were offered natively and the model wrote its calls as text
/// instead, moves them into `response.tool_calls` (marking
/// `calls_from_text`) and keeps the rest as the content. Used by the HTTP
/// client and the in-page engine alike. More than [`MAX_TOOL_CALLS`] calls
/// is [`crate::Error::Llm`] (the response is left unchanged).
pub fn recover_text_calls(
    response: &mut ChatResponse,
    native: bool,
    tools_offered: bool,
) -> Result<()> {
    if !native || !response.tool_calls.is_empty() || !tools_offered {
        return Ok(());
    }
    let (rest, calls) = tool_calls_from_text(&response.content);
    if calls.len() > MAX_TOOL_CALLS {
        return Err(too_many_calls());
    }
    if !calls.is_empty() {
        response.content = rest;
        response.tool_calls = calls;
        response.calls_from_text = true;
    }
    Ok(())
}

/// The tool calls written as JSON in `text`, and the text around them
/// (trimmed). Text without a recognizable call comes back unchanged (byte
/// for byte) with no calls.
pub fn tool_calls_from_text(text: &str) -> (String, Vec<ToolCall>) {
    let mut calls = Vec::new();
    let mut remaining = String::with_capacity(text.len());
    let mut rest = text;
    // 1. <tool_call>…</tool_call> tags (the closing tag may be missing at the end).
    while let Some(start) = rest.find("<tool_call>") {
        let inner_start = start + "<tool_call>".len();
        let (inner, after) = match rest[inner_start..].find("</tool_call>") {
            Some(end) => (
                &rest[inner_start..inner_start + end],
                inner_start + end + "</tool_call>".len(),
            ),
            None => (&rest[inner_start..], rest.len()),
        };
        match parse_calls(strip_fence(inner.trim())) {
            Some(found) => {
                remaining.push_str(&rest[..start]);
                calls.extend(found);
            }
            None => remaining.push_str(&rest[..after]),
        }
        rest = &rest[after..];
    }
    remaining.push_str(rest);
    // 2. Code fences, then 3. bare JSON, in what is left.
    let remaining = take_fenced(&remaining, &mut calls);
    let remaining = take_bare(&remaining, &mut calls);
    let calls = calls
        .into_iter()
        .enumerate()
        .map(|(i, (name, arguments))| ToolCall {
            id: format!("call_text_{}", i + 1),
            name,
            arguments,
        })
        .collect::<Vec<_>>();
    if calls.is_empty() {
        // Nothing recognised: the text as it came, white space and all.
        return (text.to_string(), calls);
    }
    (remaining.trim().to_string(), calls)
}

/// The inside of a fence if `text` is exactly one fenced block.
fn strip_fence(text: &str) -> &str {
    let Some(body) = text.strip_prefix("```") else {
        return text;
    };
    let body = body.split_once('\n').map_or("", |(_, b)| b);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

fn take_fenced(text: &str, calls: &mut Vec<(String, String)>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after_open = &rest[open + 3..];
        // The info string (e.g. "json") runs to the end of the line.
        let Some(newline) = after_open.find('\n') else {
            break;
        };
        let body_start = open + 3 + newline + 1;
        let Some(close) = rest[body_start..].find("```") else {
            break;
        };
        let body = &rest[body_start..body_start + close];
        let end = body_start + close + 3;
        match parse_calls(body.trim()) {
            Some(found) => {
                out.push_str(&rest[..open]);
                calls.extend(found);
            }
            None => out.push_str(&rest[..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Bare JSON is looked for from at most this many `{` / `[` that do not start
/// a call: each try scans to the matching bracket, so a text full of
/// unclosed brackets would otherwise cost quadratic time.
const MAX_BARE_TRIES: usize = 256;

/// Bytes the bare-JSON search may scan (bracket matching and parsing
/// together) per byte of text…
const BARE_SCAN_PER_BYTE: usize = 4;
/// …plus this many: enough for every try on a short answer.
const BARE_SCAN_SLACK: usize = 64 * 1024;

fn take_bare(text: &str, calls: &mut Vec<(String, String)>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    let mut tries = 0;
    let mut budget = text
        .len()
        .saturating_mul(BARE_SCAN_PER_BYTE)
        .saturating_add(BARE_SCAN_SLACK);
    while let Some(offset) = text.get(search..).and_then(|t| t.find(['{', '['])) {
        tries += 1;
        if tries > MAX_BARE_TRIES || budget == 0 {
            break;
        }
        let start = search + offset;
        let tail = text.get(start..).unwrap_or_default();
        let found = balanced_end(tail, &mut budget).and_then(|len| {
            let candidate = tail.get(..len)?;
            match budget.checked_sub(len) {
                Some(left) => budget = left,
                None => {
                    budget = 0;
                    return None;
                }
            }
            parse_calls(candidate).map(|c| (len, c))
        });
        match found {
            Some((len, found)) => {
                out.push_str(&text[copied..start]);
                calls.extend(found);
                copied = start + len;
                search = copied;
            }
            None => search = start + 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Length in bytes of the balanced `{…}` / `[…]` at the start of `text`
/// (brackets inside JSON strings ignored), if it closes before `budget`
/// bytes are scanned; the bytes scanned are taken from `budget`.
fn balanced_end(text: &str, budget: &mut usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match budget.checked_sub(c.len_utf8()) {
            Some(left) => *budget = left,
            None => {
                *budget = 0;
                return None;
            }
        }
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
            '{' | '[' => depth = depth.saturating_add(1),
            '}' | ']' => {
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

/// `(name, arguments JSON text)` of every call in `json`, if it is a call,
/// a list of calls or a `{"tool_calls": [..]}` object; `None` otherwise.
fn parse_calls(json: &str) -> Option<Vec<(String, String)>> {
    let value: Value = serde_json::from_str(json).ok()?;
    match &value {
        Value::Array(items) if !items.is_empty() => items.iter().map(call_of).collect(),
        Value::Object(map) => match map.get("tool_calls") {
            Some(Value::Array(items)) if !items.is_empty() => items.iter().map(call_of).collect(),
            _ => call_of(&value).map(|c| vec![c]),
        },
        _ => None,
    }
}

fn call_of(value: &Value) -> Option<(String, String)> {
    let object = value.as_object()?;
    if let Some(function) = object.get("function").filter(|f| f.is_object()) {
        return call_of(function);
    }
    let name = object
        .get("name")
        .or_else(|| object.get("tool"))
        .and_then(Value::as_str)?;
    if name.trim().is_empty() {
        return None;
    }
    let arguments = ["arguments", "parameters", "args"]
        .iter()
        .find_map(|k| object.get(*k))?;
    Some((name.to_string(), wire::arguments_text(Some(arguments))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(calls: &[ToolCall]) -> Vec<(&str, &str, &str)> {
        calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect()
    }

    #[test]
    fn bare_object_and_its_variants() {
        let (rest, calls) = tool_calls_from_text(r#"{"name": "recommend", "arguments": {"k": 3}}"#);
        assert_eq!(rest, "");
        assert_eq!(names(&calls), [("call_text_1", "recommend", r#"{"k":3}"#)]);

        let (_, calls) = tool_calls_from_text(r#"{"name":"get_item","parameters":{"id":"7"}}"#);
        assert_eq!(
            names(&calls),
            [("call_text_1", "get_item", r#"{"id":"7"}"#)]
        );
        let (_, calls) =
            tool_calls_from_text(r#"{"tool":"get_item","arguments":"{\"id\":\"7\"}"}"#);
        assert_eq!(
            names(&calls),
            [("call_text_1", "get_item", r#"{"id":"7"}"#)]
        );
        let (_, calls) =
            tool_calls_from_text(r#"{"type":"function","function":{"name":"f","arguments":{}}}"#);
        assert_eq!(names(&calls), [("call_text_1", "f", "{}")]);
    }

    #[test]
    fn text_around_arrays_and_several_calls() {
        let text = "Let me look.\n[{\"name\":\"a\",\"arguments\":{}}, {\"name\":\"b\",\"arguments\":{\"x\":\"}\"}}]\nDone.";
        let (rest, calls) = tool_calls_from_text(text);
        assert_eq!(rest, "Let me look.\n\nDone.");
        assert_eq!(
            names(&calls),
            [
                ("call_text_1", "a", "{}"),
                ("call_text_2", "b", r#"{"x":"}"}"#)
            ]
        );
        let (rest, calls) =
            tool_calls_from_text(r#"{"tool_calls":[{"name":"a","arguments":{}}]} ok"#);
        assert_eq!((rest.as_str(), calls.len()), ("ok", 1));
    }

    #[test]
    fn fences_and_tags() {
        let text = "Sure:\n```json\n{\"name\": \"recommend\", \"arguments\": {\"query\": \"kids\"}}\n```\n";
        let (rest, calls) = tool_calls_from_text(text);
        assert_eq!(rest, "Sure:");
        assert_eq!(
            names(&calls),
            [("call_text_1", "recommend", r#"{"query":"kids"}"#)]
        );

        let text = "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>{\"name\": \"b\", \"arguments\": {}}";
        let (rest, calls) = tool_calls_from_text(text);
        assert_eq!(rest, "");
        assert_eq!(
            names(&calls),
            [("call_text_1", "a", "{}"), ("call_text_2", "b", "{}")]
        );
    }

    #[test]
    fn unclosed_brackets_cost_bounded_time() {
        let text = format!(
            "{}{}",
            "{[".repeat(50_000),
            r#"{"name":"a","arguments":{}}"#
        );
        let started = std::time::Instant::now();
        let (rest, calls) = tool_calls_from_text(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!((rest.len(), calls.len()), (text.len(), 0));
    }

    #[test]
    fn a_crafted_long_text_costs_linear_time() {
        // 256 brackets that never close in front of 16 MiB: each try used to
        // scan to the end (4 GiB scanned); the budget stops at 4 bytes per byte.
        let text = format!("{}{}", "{".repeat(256), "a".repeat(16 << 20));
        let started = std::time::Instant::now();
        let (rest, calls) = tool_calls_from_text(&text);
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_millis(1500), "{took:?}");
        assert_eq!((rest.len(), calls.len()), (text.len(), 0));
        // A call after a short unclosed bracket is still found.
        let (rest, calls) = tool_calls_from_text(r#"a { b {"name":"f","arguments":{}}"#);
        assert_eq!((rest.as_str(), calls.len()), ("a { b", 1));
    }

    #[test]
    fn other_json_and_plain_text_stay() {
        for text in [
            "Here is what I found: 1, 2",
            r#"{"answer": "Toy Story", "items": ["1"]}"#,
            r#"{"name": "Toy Story"}"#,
            "```json\n{\"rating\": 5}\n```",
            "a { broken {\"name\": ",
            "<tool_call>not json</tool_call>",
            "[]",
        ] {
            let (rest, calls) = tool_calls_from_text(text);
            assert!(calls.is_empty(), "{text}");
            assert_eq!(rest, text, "{text}");
        }
    }

    #[test]
    fn text_without_calls_comes_back_byte_for_byte() {
        for text in ["  plain answer \n", "{\"not\": \"a call\"}\t", "<tool_call>broken\n"] {
            let (rest, calls) = tool_calls_from_text(text);
            assert!(calls.is_empty(), "{text:?}");
            assert_eq!(rest, text);
        }
    }
}
