//! The simulated user played by an LLM ([`LlmUser`]).
//!
//! The LLM is told what the user wants from the target's public text — its
//! categories, its year and its description with the title taken out — and
//! reads the conversation so far (the system's answers and the titles it
//! listed), after two worked examples; it never sees the title or the id.
//! Whatever it says then passes the guard ([`redact_target`], re-exported
//! from [`super::simulate_guard`]) in the simulation loop: a title or id it
//! still wrote is redacted and counted as a leak.
//!
//! Fairness: the user's requests are memoized by their exact prompt, so two
//! systems (the on-device baseline and the agent) that reached the same point
//! of a conversation hear the same utterance — always the opening one, and
//! every later one while their replies have been the same. Once the replies
//! differ, each system converses with the user on its own (temperature 0 and
//! a fixed seed, so a deterministic endpoint gives repeatable runs).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

pub use super::simulate_guard::{redact_target, strip_title, REDACTED};
use super::simulate::{Exchange, Said, SimulatedUser, UserVoice};
use recagent_core::agent::llm::{ChatMessage, ChatModel, ChatRequest, ChatRole};

/// The seed sent with every request of the LLM user.
pub const USER_SEED: u64 = 42;

/// Longest utterance kept, in characters (a model that rambles is cut at the
/// last sentence end before this).
const MAX_UTTERANCE_CHARS: usize = 400;

/// Most characters of a system answer shown to the LLM user.
const MAX_ANSWER_CHARS: usize = 200;

/// A simulated user spoken for by an LLM (any [`ChatModel`]: the real
/// client over HTTP, with its timeouts, retries and circuit breaker, or a
/// fake). A failed request, or an empty answer, makes it say the rule-based
/// utterance of that turn instead (`fell_back`).
pub struct LlmUser {
    model: Rc<dyn ChatModel>,
    cache: HashMap<String, String>,
    requests: usize,
    reused: usize,
    last_error: Option<String>,
}

impl LlmUser {
    /// A user spoken for by `model`.
    pub fn new(model: Rc<dyn ChatModel>) -> Self {
        Self {
            model,
            cache: HashMap::new(),
            requests: 0,
            reused: 0,
            last_error: None,
        }
    }

    /// Requests made to the model (one per utterance not memoized; the
    /// client's retries are not counted here — its ledger has them).
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Utterances said again from the memo (same prompt as before).
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// The last error of the model, if a request failed.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The chat request that asks the model for `user`'s next message after
    /// `dialogue`: a system message with the role, two worked examples (an
    /// opening and a later turn — small models follow an example far better
    /// than an instruction), then what the user knows (never the title or
    /// the id) and the conversation so far. Temperature 0, seed
    /// [`USER_SEED`], at most 64 tokens.
    pub fn request(user: &SimulatedUser, dialogue: &[Exchange]) -> ChatRequest {
        let mut known = String::from("The fan has in mind a movie they cannot name:\n");
        if !user.categories.is_empty() {
            let _ = writeln!(known, "- genres: {}", user.categories.join(", "));
        }
        if let Some(year) = user.year {
            let _ = writeln!(known, "- year: {year}");
        }
        if !user.description.is_empty() {
            let _ = writeln!(known, "- description: {}", user.description);
        }
        let mut ask = known;
        if dialogue.is_empty() {
            ask.push_str("Write the fan's first message.");
        } else {
            ask.push_str("The conversation so far:\n");
            for exchange in dialogue {
                let _ = writeln!(ask, "Fan: {}", exchange.said);
                let answer = truncate_chars(exchange.reply.text.trim(), MAX_ANSWER_CHARS);
                if !answer.is_empty() {
                    let _ = writeln!(ask, "Assistant: {}", answer.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                if let Some(question) = &exchange.reply.question {
                    let _ = writeln!(ask, "Assistant asks: {}", truncate_chars(question, MAX_ANSWER_CHARS));
                }
                let titles: Vec<&str> = exchange.reply.titles.iter().take(10).map(String::as_str).collect();
                if !titles.is_empty() {
                    let _ = writeln!(
                        ask,
                        "The assistant showed: {} (none is the movie the fan wants).",
                        titles.join("; ")
                    );
                }
            }
            ask.push_str("Write the fan's next message.");
        }
        let text = ChatMessage::text;
        ChatRequest {
            messages: vec![
                text(
                    ChatRole::System,
                    "You write what a movie fan says to a movie recommender assistant. Write only the fan's \
                     next message: one or two short sentences, in the first person, answering the assistant's \
                     question if it asked one. Never name a movie title.",
                ),
                text(
                    ChatRole::User,
                    "The fan has in mind a movie they cannot name:\n- genres: Action, Thriller\n- year: 1994\n\
                     Write the fan's first message.",
                ),
                text(ChatRole::Assistant, "I'm in the mood for a tense action thriller from the mid-nineties."),
                text(
                    ChatRole::User,
                    "The fan has in mind a movie they cannot name:\n- genres: Action, Thriller\n- year: 1994\n\
                     The conversation so far:\n\
                     Fan: I'm in the mood for a tense action thriller from the mid-nineties.\n\
                     Assistant: Here are some picks.\n\
                     The assistant showed: Top Gun; Die Hard (none is the movie the fan wants).\n\
                     Write the fan's next message.",
                ),
                text(ChatRole::Assistant, "Not those. Something from 1994, more thriller than action."),
                ChatMessage::text(ChatRole::User, ask),
            ],
            max_tokens: Some(64),
            temperature: Some(0.0),
            seed: Some(USER_SEED),
            ..ChatRequest::default()
        }
    }
}

impl UserVoice for LlmUser {
    fn say(&mut self, user: &SimulatedUser, _turn: usize, rule: &str, dialogue: &[Exchange]) -> Said {
        let request = Self::request(user, dialogue);
        let key: String = request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\u{0}");
        if let Some(text) = self.cache.get(&key) {
            self.reused += 1;
            return Said { text: text.clone(), fell_back: false };
        }
        self.requests += 1;
        let answer = futures::executor::block_on(self.model.chat(request, &mut |_| {}));
        let text = match answer {
            Ok(response) => clean_utterance(&response.content),
            Err(e) => {
                self.last_error = Some(format!("{}: {e}", e.code()));
                String::new()
            }
        };
        if text.is_empty() {
            if self.last_error.is_none() {
                self.last_error = Some("empty answer".into());
            }
            return Said { text: rule.to_string(), fell_back: true };
        }
        self.cache.insert(key, text.clone());
        Said { text, fell_back: false }
    }
}

/// What the model wrote, as the person's message: the first non-empty line
/// (small models go on writing the transcript), without a `Fan:`/`User:`
/// prefix or surrounding quotes, at most [`MAX_UTTERANCE_CHARS`] characters
/// (cut at a sentence end when there is one).
pub fn clean_utterance(raw: &str) -> String {
    let line = raw.lines().map(str::trim).find(|p| !p.is_empty()).unwrap_or("");
    let mut text = line.split_whitespace().collect::<Vec<_>>().join(" ");
    for prefix in ["Fan:", "You:", "User:", "Me:", "Person:", "Message:"] {
        if text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix) {
            text = text[prefix.len()..].trim_start().to_string();
        }
    }
    let quotes: &[char] = &['"', '\'', '\u{201c}', '\u{201d}', '`'];
    let text = text.trim_matches(quotes).trim().to_string();
    if text.chars().count() <= MAX_UTTERANCE_CHARS {
        return text;
    }
    let cut = truncate_chars(&text, MAX_UTTERANCE_CHARS);
    match cut.rfind(['.', '!', '?']) {
        Some(end) if end > 0 => cut[..=end].to_string(),
        _ => cut.to_string(),
    }
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::simulate_guard::tests::user;

    #[test]
    fn cleans_what_the_model_wrote() {
        assert_eq!(clean_utterance("  Fan: \"I want a heist movie.\"\nAssistant: ..."), "I want a heist movie.");
        assert_eq!(clean_utterance("\n\n"), "");
        let long = "I want a film. ".repeat(40);
        let cleaned = clean_utterance(&long);
        assert!(cleaned.len() <= MAX_UTTERANCE_CHARS && cleaned.ends_with('.'), "{cleaned}");
    }

    #[test]
    fn the_prompt_never_holds_the_title_or_id() {
        let mut u = user("Usual Suspects, The", "12345");
        u.description = strip_title("Usual Suspects, The. Class: Crime. Year: 1995", &u.title, &u.target);
        let dialogue = vec![Exchange {
            said: "a crime movie".into(),
            reply: super::super::simulate::TurnReply {
                titles: vec!["Heat".into()],
                text: "Try Heat.".into(),
                question: Some("Which decade?".into()),
                ..Default::default()
            },
        }];
        let request = LlmUser::request(&u, &dialogue);
        let all: String = request.messages.iter().map(|m| m.content.clone()).collect();
        assert!(!all.to_lowercase().contains("suspects") && !all.contains("12345"), "{all}");
        assert!(all.contains("Crime") && all.contains("1995") && all.contains("Which decade?") && all.contains("Heat"));
        assert_eq!((request.temperature, request.seed), (Some(0.0), Some(USER_SEED)));
    }

    /// A model that says `says` (an error when it is `None`), counting calls.
    struct Scripted {
        says: std::cell::RefCell<std::collections::VecDeque<Option<String>>>,
        calls: std::cell::Cell<usize>,
    }

    impl ChatModel for Scripted {
        fn chat<'a>(
            &'a self,
            _: ChatRequest,
            _: &'a mut dyn FnMut(&str),
        ) -> recagent_core::platform::LocalBoxFuture<'a, recagent_core::Result<recagent_core::agent::llm::ChatResponse>> {
            self.calls.set(self.calls.get() + 1);
            let next = self.says.borrow_mut().pop_front().flatten();
            Box::pin(async move {
                let content = next.ok_or_else(|| recagent_core::Error::Network("scripted failure".into()))?;
                Ok(recagent_core::agent::llm::ChatResponse {
                    content,
                    tool_calls: Vec::new(),
                    calls_from_text: false,
                    finish_reason: recagent_core::agent::llm::FinishReason::Stop,
                    usage: None,
                    model: None,
                })
            })
        }
    }

    /// Records what it heard; never shows the target.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl super::super::simulate::Conversation for Recorder {
        fn start(&mut self, _: &SimulatedUser) -> recagent_core::Result<()> {
            Ok(())
        }
        fn reply(&mut self, message: &str) -> recagent_core::Result<super::super::simulate::TurnReply> {
            self.0.push(message.to_string());
            Ok(super::super::simulate::TurnReply {
                items: vec!["1".into()],
                titles: vec!["Heat".into()],
                text: "How about Heat?".into(),
                ..Default::default()
            })
        }
    }

    #[test]
    fn the_llm_user_is_guarded_falls_back_and_repeats_itself_for_the_same_prompt() {
        use super::super::simulate::simulate_with;
        let says = [None, Some("Something like toy STORY."), Some("You: \"A funny one.\""), Some("  ")];
        let model = Rc::new(Scripted {
            says: std::cell::RefCell::new(says.iter().map(|s| s.map(str::to_string)).collect()),
            calls: std::cell::Cell::new(0),
        });
        let mut voice = LlmUser::new(model.clone());
        let u = user("Toy Story", "42");
        let mut first = Recorder::default();
        let r = simulate_with(std::slice::from_ref(&u), 4, &mut first, &mut voice, &mut |_, _| {}).unwrap();
        // Turn 1: the model failed, the rule-based utterance was said; turn 2:
        // the title, redacted; turn 3: cleaned; turn 4: empty, the rule again.
        assert_eq!(first.0[0], "I'd like to watch a crime movie.");
        assert_eq!(first.0[1], format!("Something like {REDACTED}."));
        assert_eq!(first.0[2], "A funny one.");
        assert_eq!(first.0[3], "I'd like to watch a crime movie from 1995.");
        assert!(first.0.iter().all(|m| !m.to_lowercase().contains("toy story")));
        assert_eq!((r.user_leaks, r.user_fallbacks, voice.requests()), (1, 2, 4));
        assert!(voice.last_error().is_some());
        // A second system with the same replies: the memoized utterances are
        // said again without a request (the model has nothing left to say).
        let mut second = Recorder::default();
        let r = simulate_with(std::slice::from_ref(&u), 3, &mut second, &mut voice, &mut |_, _| {}).unwrap();
        assert_eq!(model.calls.get(), 4 + 1, "only the turn that fell back is asked again");
        assert_eq!(second.0[1..3], first.0[1..3]);
        assert_eq!((r.user_leaks, r.user_fallbacks, voice.reused()), (1, 1, 2));
    }
}
