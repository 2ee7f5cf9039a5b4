//! The guard every simulated utterance passes before the system under test
//! hears it: a whole-word occurrence of the hidden target's title
//! (case-, accent- and punctuation-insensitive; also without a trailing
//! article, "Usual Suspects, The", or as the part before or inside a
//! parenthesis) or of its id is replaced by [`REDACTED`]. It is in code, not
//! in a prompt: it holds whatever the user's voice (rules or an LLM) says.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::simulate::SimulatedUser;

/// What replaces the target's title or id in an utterance.
pub const REDACTED: &str = "[title withheld]";

/// Articles that trail a title in catalogs ("Usual Suspects, The").
const ARTICLES: &[&str] = &["the", "a", "an", "la", "le", "les", "il", "el", "los", "las", "der", "die", "das"];

/// `text` with every whole-word occurrence of `user`'s target title (in any
/// of its forms, see the module doc) or id replaced by [`REDACTED`]; true
/// when something was replaced.
pub fn redact_target(text: &str, user: &SimulatedUser) -> (String, bool) {
    redact_forms(text, &forms(&user.title, &user.target), REDACTED)
}

/// The public text of an item without its title or id (for the LLM user's
/// description): the title's forms removed, spaces collapsed, leading
/// punctuation dropped.
pub fn strip_title(text: &str, title: &str, id: &str) -> String {
    let (stripped, _) = redact_forms(text, &forms(title, id), "");
    let collapsed = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | ';' | ':' | '-' | '('))
        .trim_end()
        .to_string()
}

/// One word of a text: its byte span and its folded form.
struct Token {
    start: usize,
    end: usize,
    folded: String,
}

/// Lower case, accents dropped (NFKD without combining marks).
fn fold(c: char, out: &mut String) {
    for d in std::iter::once(c).nfkd().filter(|d| !is_combining_mark(*d)) {
        out.extend(d.to_lowercase());
    }
}

/// The words of `text`: runs of letters and digits (an apostrophe inside a
/// run is kept in the span and dropped from the folded form: "Schindler's").
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current: Option<Token> = None;
    for (i, c) in text.char_indices() {
        let apostrophe = matches!(c, '\'' | '\u{2019}');
        if c.is_alphanumeric() || (apostrophe && current.is_some()) {
            let token = current.get_or_insert(Token { start: i, end: i, folded: String::new() });
            if !apostrophe {
                fold(c, &mut token.folded);
            }
            token.end = i + c.len_utf8();
        } else if let Some(token) = current.take() {
            out.push(token);
        }
    }
    out.extend(current);
    out
}

/// The folded word sequences that name the target: the title, the title
/// without a trailing article, the title before and inside a parenthesis,
/// and the id.
fn forms(title: &str, id: &str) -> Vec<Vec<String>> {
    let mut texts: Vec<String> = vec![title.to_string()];
    if let Some((head, rest)) = title.split_once(" (") {
        texts.push(head.to_string());
        texts.push(rest.trim_end_matches(')').to_string());
    }
    let mut extra = Vec::new();
    for t in &texts {
        if let Some((head, tail)) = t.rsplit_once(", ") {
            if ARTICLES.contains(&tail.trim().to_lowercase().as_str()) {
                extra.push(head.to_string());
            }
        }
    }
    texts.extend(extra);
    texts.push(id.to_string());
    let mut out: Vec<Vec<String>> = Vec::new();
    for t in texts {
        let words: Vec<String> = tokens(&t).into_iter().map(|tok| tok.folded).collect();
        if !words.is_empty() && !out.contains(&words) {
            out.push(words);
        }
    }
    out
}

/// Replaces every occurrence of one of `forms` in `text` (longest first) by
/// `replacement`.
fn redact_forms(text: &str, forms: &[Vec<String>], replacement: &str) -> (String, bool) {
    let toks = tokens(text);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let longest = forms
            .iter()
            .filter(|f| i + f.len() <= toks.len() && toks[i..i + f.len()].iter().zip(f.iter()).all(|(t, w)| t.folded == *w))
            .map(Vec::len)
            .max();
        match longest {
            Some(len) => {
                spans.push((toks[i].start, toks[i + len - 1].end));
                i += len;
            }
            None => i += 1,
        }
    }
    if spans.is_empty() {
        return (text.to_string(), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        out.push_str(&text[at..start]);
        out.push_str(replacement);
        at = end;
    }
    out.push_str(&text[at..]);
    (out, true)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A simulated user who wants `title` (id `id`), for the tests here and in `simulate_llm`.
    pub(crate) fn user(title: &str, id: &str) -> SimulatedUser {
        SimulatedUser {
            user: 0,
            target: id.into(),
            title: title.into(),
            description: String::new(),
            categories: vec!["Crime".into()],
            year: Some(1995),
            history: Vec::new(),
        }
    }

    #[test]
    fn redacts_the_title_in_any_case_spacing_or_accent() {
        let u = user("Usual Suspects, The", "12");
        let (s, leaked) = redact_target("Something like THE usual  suspects, please", &u);
        assert!(leaked);
        assert_eq!(s, format!("Something like THE {REDACTED}, please"));
        let (s, leaked) = redact_target("I loved usual-suspects!", &u);
        assert_eq!((s.as_str(), leaked), ("I loved [title withheld]!", true));
        let u = user("Cité des enfants perdus, La", "7");
        assert!(redact_target("like cite des ENFANTS perdus", &u).1);
        let u = user("Schindler's List", "318");
        assert!(redact_target("schindlers list", &u).1);
        assert!(redact_target("Schindler’s List", &u).1);
    }

    #[test]
    fn redacts_the_id_and_parenthesized_titles_but_not_partial_words() {
        let u = user("Shanghai Triad (Yao a yao yao dao waipo qiao)", "12");
        assert!(redact_target("maybe item 12?", &u).1);
        assert!(redact_target("a shanghai triad kind of film", &u).1);
        assert!(redact_target("yao a yao yao dao waipo qiao", &u).1);
        assert!(!redact_target("a film from 1912 about triads", &u).1);
        let u = user("M", "999");
        // "I'm" is one word: the one-letter title "M" does not match inside it.
        assert!(!redact_target("I'm after a dark thriller", &u).1);
        assert!(redact_target("Something like M by Fritz Lang", &u).1);
        let u = user("Heat", "6");
        assert!(!redact_target("a theater drama, not too heated", &u).1);
    }

    #[test]
    fn strips_the_title_from_the_public_text() {
        let text = "Usual Suspects, The. Class: Crime, Thriller. Year: 1995";
        assert_eq!(strip_title(text, "Usual Suspects, The", "12"), "Class: Crime, Thriller. Year: 1995");
        assert_eq!(strip_title("Toy Story. Class: Comedy", "Toy Story", "1"), "Class: Comedy");
    }

}
