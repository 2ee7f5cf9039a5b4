//! BERT-uncased WordPiece tokenizer, pure Rust (builds for wasm).
//!
//! It reproduces the Hugging Face `tokenizers` pipeline of
//! `all-MiniLM-L6-v2` (`BertNormalizer` with lower-casing, `BertPreTokenizer`,
//! `WordPiece` with `##` continuations, `[CLS] … [SEP]` template, truncation)
//! token for token; `tests/tokenizer.rs` checks it against ids produced by
//! that library. The Unicode category tables are those of the
//! `unicode_categories` crate, which `tokenizers` itself uses, so the
//! classification of every character matches.

use std::collections::HashMap;

use unicode_categories::UnicodeCategories;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Longest word (in characters) WordPiece splits; longer words become `[UNK]`.
pub const MAX_INPUT_CHARS_PER_WORD: usize = 100;
/// Default maximum sequence length, `[CLS]` and `[SEP]` included.
pub const DEFAULT_MAX_LEN: usize = 256;

/// The normalisation in front of WordPiece: `tokenizers`' `BertNormalizer`
/// and its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalization {
    /// Drop NUL, U+FFFD and control characters; white space becomes a space.
    pub clean_text: bool,
    /// Put spaces around CJK ideographs.
    pub handle_chinese_chars: bool,
    /// Strip accents (NFD, drop non-spacing marks).
    pub strip_accents: bool,
    /// Lower-case.
    pub lowercase: bool,
}

impl Normalization {
    /// BERT-uncased (all-MiniLM-L6-v2 and `vocab.txt` files): every step on.
    pub const UNCASED: Normalization =
        Normalization { clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true };

    /// Applies the steps, in the order `tokenizers` applies them.
    pub fn apply(&self, text: &str) -> String {
        let mut cleaned = String::with_capacity(text.len());
        for c in text.chars() {
            if self.clean_text && (c == '\0' || c == '\u{fffd}' || is_control(c)) {
                continue;
            }
            if self.clean_text && is_whitespace(c) {
                cleaned.push(' ');
            } else if self.handle_chinese_chars && is_chinese_char(c) {
                cleaned.push(' ');
                cleaned.push(c);
                cleaned.push(' ');
            } else {
                cleaned.push(c);
            }
        }
        let stripped: String = if self.strip_accents {
            cleaned.nfd().filter(|c| !c.is_mark_nonspacing()).collect()
        } else {
            cleaned
        };
        if self.lowercase {
            stripped.chars().flat_map(char::to_lowercase).collect()
        } else {
            stripped
        }
    }
}

/// A WordPiece vocabulary and the BERT normalisation in front of it.
#[derive(Debug, Clone)]
pub struct WordPieceTokenizer {
    pub(super) vocab: HashMap<String, u32>,
    pub(super) cls: u32,
    pub(super) sep: u32,
    pub(super) unk: u32,
    pub(super) pad: u32,
    pub(super) max_len: usize,
    pub(super) normalization: Normalization,
    pub(super) continuing_prefix: String,
    pub(super) max_input_chars_per_word: usize,
}

impl WordPieceTokenizer {
    /// Builds a tokenizer from a BERT `vocab.txt` (one token per line, the
    /// line number is the id). Fails with [`Error::InvalidVocab`] when the text
    /// is empty, has duplicate tokens or lacks `[CLS]`, `[SEP]`, `[UNK]` or `[PAD]`.
    pub fn from_vocab_txt(text: &str) -> Result<Self> {
        let mut vocab = HashMap::new();
        for (id, line) in text.lines().enumerate() {
            let token = line.strip_suffix('\r').unwrap_or(line);
            let id = u32::try_from(id)
                .map_err(|_| Error::InvalidVocab("more than 2^32 tokens".into()))?;
            if vocab.insert(token.to_string(), id).is_some() && !token.is_empty() {
                return Err(Error::InvalidVocab(format!(
                    "token {token:?} appears twice (second time on line {})",
                    id as usize + 1
                )));
            }
        }
        vocab.remove("");
        let special = |name: &str| {
            vocab.get(name).copied().ok_or_else(|| {
                Error::InvalidVocab(format!(
                    "the vocabulary has no {name} token; expected a BERT vocab.txt, one token per line"
                ))
            })
        };
        Ok(Self {
            cls: special("[CLS]")?,
            sep: special("[SEP]")?,
            unk: special("[UNK]")?,
            pad: special("[PAD]")?,
            vocab,
            max_len: DEFAULT_MAX_LEN,
            normalization: Normalization::UNCASED,
            continuing_prefix: "##".into(),
            max_input_chars_per_word: MAX_INPUT_CHARS_PER_WORD,
        })
    }

    /// Builds a tokenizer from either vocabulary format: a Hugging Face
    /// `tokenizer.json` (text starting with `{`, see
    /// [`WordPieceTokenizer::from_tokenizer_json`]) or a BERT `vocab.txt`.
    pub fn from_text(text: &str) -> Result<Self> {
        if text.trim_start().starts_with('{') {
            Self::from_tokenizer_json(text)
        } else {
            Self::from_vocab_txt(text)
        }
    }

    /// The normalisation in front of WordPiece.
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// Sets the maximum sequence length (`[CLS]` and `[SEP]` included, at least 2).
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len.max(2);
        self
    }

    /// The maximum sequence length, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Id of the `[PAD]` token (used for batch padding).
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// Token ids of `text`: `[CLS]`, the WordPiece ids of the normalised words
    /// (truncated so the whole fits in `max_len`), `[SEP]`. Any text works,
    /// including the empty string (which gives `[CLS] [SEP]`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let budget = self.max_len - 2;
        let mut ids = Vec::with_capacity(budget.min(text.len() + 2) + 2);
        ids.push(self.cls);
        let normalized = self.normalization.apply(text);
        'words: for word in pre_tokenize(&normalized) {
            for id in self.word_piece(word) {
                if ids.len() > budget {
                    break 'words;
                }
                ids.push(id);
            }
        }
        ids.push(self.sep);
        ids
    }

    fn word_piece(&self, word: &str) -> Vec<u32> {
        if word.chars().count() > self.max_input_chars_per_word {
            return vec![self.unk];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut candidate = String::with_capacity(word.len() + 2);
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                candidate.clear();
                if start > 0 {
                    candidate.push_str(&self.continuing_prefix);
                }
                candidate.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(candidate.as_str()) {
                    found = Some(id);
                    break;
                }
                let last = word[start..end]
                    .chars()
                    .next_back()
                    .map_or(1, char::len_utf8);
                end -= last;
            }
            match found {
                Some(id) => pieces.push(id),
                None => return vec![self.unk],
            }
            start = end;
        }
        pieces
    }
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

fn is_bert_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}

/// BERT-uncased normalisation, in the order `tokenizers` applies it: drop
/// NUL, U+FFFD and control characters, map whitespace to a space, put spaces
/// around CJK ideographs, strip accents (NFD, drop non-spacing marks), lower-case.
pub fn normalize(text: &str) -> String {
    Normalization::UNCASED.apply(text)
}

/// Splits normalised text into words: on whitespace (removed) and around
/// every punctuation character (kept as its own word).
pub fn pre_tokenize(text: &str) -> impl Iterator<Item = &str> {
    text.split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .flat_map(split_punctuation)
}

fn split_punctuation(word: &str) -> impl Iterator<Item = &str> {
    let mut rest = word;
    std::iter::from_fn(move || {
        let (i, c) = rest.char_indices().next()?;
        debug_assert_eq!(i, 0);
        let len = if is_bert_punctuation(c) {
            c.len_utf8()
        } else {
            rest.char_indices()
                .find(|&(_, c)| is_bert_punctuation(c))
                .map_or(rest.len(), |(j, _)| j)
        };
        let (piece, tail) = rest.split_at(len);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordPieceTokenizer {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n,\nworld\n!\nun\n##aff\n##able\n";
        WordPieceTokenizer::from_vocab_txt(vocab).unwrap()
    }

    #[test]
    fn splits_words_punctuation_and_pieces() {
        let t = tiny();
        assert_eq!(t.encode("Hello, WORLD!"), vec![2, 4, 5, 6, 7, 3]);
        assert_eq!(t.encode("unaffable"), vec![2, 8, 9, 10, 3]);
        assert_eq!(t.encode("unknown"), vec![2, 1, 3]);
        assert_eq!(t.encode(""), vec![2, 3]);
    }

    #[test]
    fn truncates_to_max_len() {
        let t = tiny().with_max_len(4);
        assert_eq!(t.encode("hello hello hello"), vec![2, 4, 4, 3]);
    }

    #[test]
    fn long_words_are_unknown() {
        let t = tiny();
        let long = "hello".repeat(30);
        assert_eq!(t.encode(&long), vec![2, 1, 3]);
    }

    #[test]
    fn normalizes_accents_case_and_cjk() {
        assert_eq!(normalize("Héllo\tWörld\u{0}"), "hello world");
        assert_eq!(normalize("中文"), " 中  文 ");
    }

    #[test]
    fn cased_normalization_keeps_case_and_accents() {
        let cased = Normalization { strip_accents: false, lowercase: false, ..Normalization::UNCASED };
        assert_eq!(cased.apply("Héllo\tWörld"), "Héllo Wörld");
        let no_accents = Normalization { lowercase: false, ..Normalization::UNCASED };
        assert_eq!(no_accents.apply("Héllo"), "Hello");
    }

    #[test]
    fn rejects_vocab_without_specials() {
        let err = WordPieceTokenizer::from_vocab_txt("a\nb\n").unwrap_err();
        assert_eq!(err.code(), "invalid_vocab");
    }
}
