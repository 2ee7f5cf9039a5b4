//! Checks on a model's final text before a person sees it, and the
//! device's own plain-language answer when the text cannot be shown.
//!
//! Pure functions, no I/O, no panics on any input: small models answer
//! with raw tool-call JSON, an echo of a tool's schema, a bare tool name,
//! or titles the tools never returned. [`unusable_reason`] says why a text
//! must not be shown, [`strip_to_prose`] keeps the prose around a blob,
//! [`ungrounded_titles`] / [`remove_ungrounded`] find and drop sentences
//! naming catalog titles that were not returned, and [`compose_answer`]
//! words the device's answer.

mod blobs;
mod titles;

use super::tools::AnswerItem;
use blobs::{blob_spans, fragment_kind};
pub use titles::{remove_ungrounded, ungrounded_titles};

/// A catalog title as a person writes it ("Godfather, The (1972)" →
/// "The Godfather (1972)"); see [`crate::ranking::explain::display_title`].
pub use crate::ranking::explain::display_title;

/// Why a model's final `text` must not be shown to a person, or `None`
/// when it reads as prose. It is unusable when it is empty or has no
/// letters; when it is only a tool name of `tool_names` (or any
/// `snake_case` identifier), with or without quotes, backticks, `()` or
/// punctuation, or a line of it is; when it is or contains a tool call
/// (`{"name": …, "arguments": …}`, `{"tool": …}`, `{"function": …}`,
/// `{"tool_calls": …}`, `<tool_call>` tags, `functions.x(`, `tool_name(`);
/// a JSON object or array (`{"…": …}`, `[{…}]`, `["…"]`, also truncated);
/// a JSON-schema fragment (`"type": "object"`, `"maxLength": …`,
/// `"properties"`, `"minimum"`, …); or when more than 30 % of its
/// non-space characters (texts of 12 or more) are `{ } [ ] " : \``.
/// Prose with a colon, a year in parentheses, a quoted title or a
/// numbered list is usable.
pub fn unusable_reason(text: &str, tool_names: &[&str]) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some("the text is empty".into());
    }
    if !trimmed.chars().any(char::is_alphabetic) {
        return Some("the text has no words".into());
    }
    if let Some(echo) = prompt_echo(trimmed) {
        return Some(echo);
    }
    if let Some(kind) = blob_spans(trimmed, tool_names).iter().map(|s| s.kind).max() {
        return Some(kind.reason());
    }
    for line in trimmed.lines() {
        if let Some(reason) = bare_name(line, tool_names) {
            return Some(reason);
        }
    }
    if let Some(kind) = fragment_kind(trimmed) {
        return Some(kind.reason());
    }
    let (mut symbols, mut total) = (0usize, 0usize);
    for c in trimmed.chars().filter(|c| !c.is_whitespace()) {
        total += 1;
        if matches!(c, '{' | '}' | '[' | ']' | '"' | ':' | '`') {
            symbols += 1;
        }
    }
    if total >= 12 && symbols * 10 > total * 3 {
        return Some("the text is mostly symbols, not prose".into());
    }
    None
}

/// Sentences of recagent's own prompts: a model that repeats them is
/// echoing its input, not answering.
const PROMPT_SENTENCES: &[&str] = &[
    "The device ranked the items below for this request",
    "Describe them briefly for the user, in this order",
    "You are a recommendation assistant running inside the user's app",
    "Use the tools offered to find items for the user's request",
    "Answer with one JSON object only",
    "Read the user's request and fill the JSON object",
    "The user's stated preferences:",
    "[withheld by the privacy policy]",
];

/// Why a text echoes the prompt instead of answering: recagent's data-block
/// markup (`<data source=…>`, `</data>`) or one of its instruction sentences.
fn prompt_echo(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    if lower.contains("<data source=") || lower.contains("</data>") || lower.contains("trust=\"untrusted\"") {
        return Some("the text repeats the prompt's data blocks".into());
    }
    PROMPT_SENTENCES
        .iter()
        .any(|p| lower.contains(&p.to_lowercase()))
        .then(|| "the text repeats the prompt's instructions".into())
}

/// The prose of a text that is prose followed or preceded by tool calls,
/// JSON or schema blobs: the blobs (and empty code fences, and lines that
/// are only an identifier) are cut out, blank lines collapsed, a trailing
/// colon becomes a full stop. `Some` only when what is left passes
/// [`unusable_reason`] (with no tool names); a text without blobs comes
/// back trimmed when it is usable.
pub fn strip_to_prose(text: &str) -> Option<String> {
    let spans = blob_spans(text, &[]);
    let mut kept = String::with_capacity(text.len());
    let mut at = 0;
    for s in &spans {
        kept.push_str(text.get(at..s.start).unwrap_or(""));
        kept.push(' ');
        at = s.end.max(at);
    }
    kept.push_str(text.get(at..).unwrap_or(""));
    let mut lines: Vec<&str> = Vec::new();
    for line in kept.lines() {
        let t = line.trim();
        let fence = t.starts_with("```") && t.trim_start_matches('`').chars().all(char::is_alphanumeric);
        let tag = t.starts_with("</") || t == "<tool_call>";
        if fence || tag || bare_name(t, &[]).is_some() {
            continue;
        }
        if t.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(t);
    }
    let mut out = lines.join("\n").trim().to_string();
    if out.ends_with(':') {
        out.pop();
        out = out.trim_end().to_string();
        out.push('.');
    }
    unusable_reason(&out, &[]).is_none().then_some(out)
}

/// Whether `line` is only a tool name or an identifier (`search_catalog`,
/// `` `recommend` ``, `"get_item()"`, `Action: search_catalog`).
fn bare_name(line: &str, tool_names: &[&str]) -> Option<String> {
    let mut core = line.trim();
    for prefix in ["action:", "tool:", "call:", "calling", "function:"] {
        if core.to_lowercase().starts_with(prefix) {
            core = core.get(prefix.len()..).unwrap_or("").trim();
        }
    }
    let core = core.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
    let core = core.strip_suffix("()").unwrap_or(core);
    let core = core.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
    if core.is_empty() || core.contains(char::is_whitespace) {
        return None;
    }
    if let Some(name) = tool_names.iter().find(|n| n.eq_ignore_ascii_case(core)) {
        return Some(format!("the text is only the tool name {name}"));
    }
    let identifier = core.contains('_') && core.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    identifier.then(|| format!("the text is only the identifier {core}, not an answer"))
}

/// How an item is named in an answer: its [`display_title`], or "item
/// <id>" when the title is empty or only digits.
fn item_name(item: &AnswerItem) -> Option<String> {
    let title = display_title(&item.title);
    if !title.is_empty() && !title.chars().all(|c| c.is_ascii_digit()) {
        return Some(title);
    }
    let id = item.id.trim();
    (!id.is_empty()).then(|| format!("item {id}"))
}

/// The device's plain-language answer for `items` (best first), when the
/// model's text is unusable or there is no model. `what` follows the word
/// "picks" ("for Thriller after 1995, without Horror", or ", without
/// Horror"; see [`crate::intent::Intent::describe`]); `note` is a sentence
/// to add ("Only 3 items meet everything you asked…"). It always names
/// items by [`display_title`] (never a bare number): none → "I found no
/// picks …"; one → "Here is one pick …: A."; two or three → "Here
/// are 2 picks …: A and B."; more → "Here are N picks …: A, B and C lead
/// the list."
pub fn compose_answer(items: &[AnswerItem], what: Option<&str>, note: Option<&str>) -> String {
    let what = what.map(|w| w.trim().trim_end_matches(['.', ':', ';', ',']).trim()).filter(|w| !w.is_empty());
    let names: Vec<String> = items.iter().filter_map(item_name).collect();
    let list = |names: &[String]| match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    // `what` follows "picks": "for Thriller after 1995", or ", without Horror".
    let noun = |n: usize| if n == 1 { "pick" } else { "picks" };
    let picks_n = |n: usize, w: Option<&str>| match w {
        Some(w) if w.starts_with(',') => format!("{}{w}", noun(n)),
        Some(w) => format!("{} {w}", noun(n)),
        None => noun(n).to_string(),
    };
    let picks = |w: Option<&str>| picks_n(2, w);
    let mut answer = match names.len() {
        0 => match what {
            Some(w) => format!("I found no {}.", picks(Some(w))),
            None => "I found nothing that matches your request.".to_string(),
        },
        1 => format!("Here is one {}: {}.", picks_n(1, what), list(&names)),
        n @ 2..=3 => format!("Here are {n} {}: {}.", picks(what), list(&names)),
        n => format!("Here are {n} {}: {} lead the list.", picks(what), list(names.get(..3).unwrap_or(&names))),
    };
    if let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) {
        answer.push(' ');
        answer.push_str(note);
        if !note.ends_with(['.', '!', '?']) {
            answer.push('.');
        }
    }
    answer
}

#[cfg(test)]
mod tests;
