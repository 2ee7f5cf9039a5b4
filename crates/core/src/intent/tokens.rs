//! The request as tokens: lower-case words and numbers with what separated
//! them, so phrases ("after 1995", "Godfather: Part II") can be read
//! without regular expressions and in one pass.

/// One word or number of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Lower-case, apostrophes dropped (`children's` → `childrens`).
    pub norm: String,
    /// As written.
    pub raw: String,
    /// Byte offset of the token in the request.
    pub start: usize,
    /// Byte offset just past the token.
    pub end: usize,
    /// The non-space characters between the previous token and this one
    /// (`.`, `,`, `-`, `:`, `$`, …).
    pub sep: String,
    /// Whether it starts a sentence (first token, or after `.`, `!`, `?`, `;`).
    pub sentence_start: bool,
}

impl Token {
    /// Whether it was written with a capital first letter.
    pub fn capitalized(&self) -> bool {
        self.raw.chars().next().is_some_and(char::is_uppercase)
    }

    /// Whether a sentence or clause ends between the previous token and this one.
    pub fn clause_break(&self) -> bool {
        self.sentence_start || self.sep.contains([',', ':', '(', ')', '"'])
    }

    /// The token as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        if self.norm.is_empty() || !self.norm.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        self.norm.parse::<f64>().ok().filter(|n| n.is_finite())
    }
}

/// Most tokens read from one request (longer requests are read up to here).
pub const MAX_TOKENS: usize = 400;

/// Most bytes of a request read (the rest is ignored): the reading's memory
/// and time do not grow with what the page or the user sends.
pub const MAX_BYTES: usize = 4096;

/// Splits `text` into tokens: runs of letters and digits (apostrophes
/// inside a word are dropped; a `.` between digits is kept), at most
/// [`MAX_TOKENS`], from the first [`MAX_BYTES`] bytes.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut sep = String::new();
    let mut current: Option<(usize, String, String)> = None;
    let mut cut = text.len().min(MAX_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut chars = text[..cut].char_indices().peekable();
    while let Some((pos, c)) = chars.next() {
        if out.len() >= MAX_TOKENS {
            break;
        }
        let next = chars.peek().map(|(_, c)| *c);
        let in_word = current.is_some();
        let joins = c.is_alphanumeric()
            || (in_word && (c == '\'' || c == '’') && next.is_some_and(char::is_alphanumeric))
            || (in_word && c == '.' && next.is_some_and(|n| n.is_ascii_digit())
                && current.as_ref().is_some_and(|(_, raw, _)| raw.chars().all(|d| d.is_ascii_digit())));
        if joins {
            let cur = current.get_or_insert_with(|| (pos, String::new(), String::new()));
            cur.1.push(c);
            if c != '\'' && c != '’' {
                cur.2.extend(c.to_lowercase());
            }
        } else {
            if let Some((start, raw, norm)) = current.take() {
                push(&mut out, &mut sep, start, raw, norm);
            }
            if !c.is_whitespace() {
                sep.push(c);
            }
        }
    }
    if let Some((start, raw, norm)) = current.take() {
        if out.len() < MAX_TOKENS {
            push(&mut out, &mut sep, start, raw, norm);
        }
    }
    out
}

fn push(out: &mut Vec<Token>, sep: &mut String, start: usize, raw: String, norm: String) {
    let end = start + raw.len();
    let sentence_start = out.is_empty() || sep.contains(['.', '!', '?', ';']);
    out.push(Token { norm, raw, start, end, sep: std::mem::take(sep), sentence_start });
}

/// Words that carry no content of their own: articles, pronouns, helpers,
/// and the generic nouns of a recommendation request.
pub fn is_stopword(word: &str) -> bool {
    const WORDS: &[&str] = &[
        "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "with", "by", "from", "about", "as",
        "into", "i", "im", "ive", "id", "me", "my", "we", "us", "our", "you", "your", "it", "its", "itself", "this",
        "that", "these", "those", "there", "here", "is", "are", "was", "were", "be", "been", "am", "do", "does",
        "did", "have", "has", "had", "can", "could", "would", "should", "will", "want", "wanna", "need", "like",
        "looking", "look", "find", "give", "show", "recommend", "suggest", "get", "got", "some", "something",
        "anything", "any", "one", "ones", "please", "pls", "thanks", "movie", "movies", "film", "films", "flick",
        "flicks", "title", "titles", "watch", "watching", "see", "tonight", "today", "now", "what", "which", "who",
        "how", "good", "great", "nice", "maybe", "also", "just", "really", "very", "so", "too", "more", "less",
        "much", "but", "if", "then", "than", "else", "other", "released", "made", "came", "out", "year", "years",
        "kind", "sort", "type", "stuff", "thing", "things", "let", "lets", "all", "them", "they", "he", "she", "his",
        "her", "well", "again", "only", "even", "yet", "still", "already", "ideas", "idea", "options", "pick",
        "picks", "list", "few", "couple", "couldnt", "dont", "doesnt", "ill", "youd", "mood", "feel", "feeling",
        "tell",
    ];
    WORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_separators_and_sentences() {
        let t = tokenize("I hate horror. Give me Children's films, 1980-1990: Godfather: Part II, The ($20.5)");
        let norms: Vec<&str> = t.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(
            norms,
            ["i", "hate", "horror", "give", "me", "childrens", "films", "1980", "1990", "godfather", "part", "ii", "the", "20.5"]
        );
        assert!(t[3].sentence_start && !t[2].sentence_start && t[0].sentence_start);
        assert_eq!(t[8].sep, "-");
        assert_eq!(t[13].sep, "($");
        assert_eq!(t[13].number(), Some(20.5));
        assert!(t[3].capitalized() && !t[2].capitalized());
        assert!(t[7].clause_break() && !t[8].clause_break());
    }

    #[test]
    fn the_token_count_is_bounded() {
        let long = "word ".repeat(10_000);
        assert_eq!(tokenize(&long).len(), MAX_TOKENS);
        // One 1 MB word, or punctuation: only the first MAX_BYTES are read.
        let word = "é".repeat(500_000);
        let t = tokenize(&word);
        assert_eq!(t.len(), 1);
        assert!(t[0].raw.len() <= MAX_BYTES);
        assert!(tokenize(&"!".repeat(1_000_000)).is_empty());
        assert!(tokenize("").is_empty());
        assert_eq!(tokenize("'90s")[0].norm, "90s");
    }
}
