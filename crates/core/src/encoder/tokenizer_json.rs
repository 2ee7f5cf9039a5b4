//! Hugging Face `tokenizer.json` files of BERT-family sentence encoders: a
//! `WordPiece` model behind a `BertNormalizer` and a `BertPreTokenizer`, with
//! `[CLS] … [SEP]` added by a `TemplateProcessing` or `BertProcessing` post
//! processor. Anything else (BPE, Unigram, other normalizers) is refused with
//! [`Error::InvalidVocab`] naming what was found, rather than tokenized
//! differently from the library that wrote the file.
//!
//! The file is untrusted bytes (an app downloads it): at most
//! [`MAX_TOKENIZER_JSON_BYTES`], at most [`MAX_VOCAB_TOKENS`] tokens, ids
//! dense (`0..n`, each once), every number range-checked before use.
//!
//! Truncation is not read from the file: the encoder's `max_len` (256 by
//! default, what sentence-transformers runs all-MiniLM-L6-v2 with, although
//! its `tokenizer.json` says 128) decides it, as for `vocab.txt`.

use std::collections::HashMap;

use serde_json::Value;

use super::tokenizer::{Normalization, WordPieceTokenizer, DEFAULT_MAX_LEN, MAX_INPUT_CHARS_PER_WORD};
use crate::error::{Error, Result};

/// Largest `tokenizer.json` accepted (multilingual BERT's is about 3 MB).
pub const MAX_TOKENIZER_JSON_BYTES: usize = 64 << 20;
/// Most tokens a vocabulary may hold.
pub const MAX_VOCAB_TOKENS: usize = 1 << 22;

fn invalid(what: impl Into<String>) -> Error {
    Error::InvalidVocab(format!("tokenizer.json: {}", what.into()))
}

/// `value[key]` as a string, when it is one.
fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The `type` of a component (`null` or missing: `None`).
fn kind(value: Option<&Value>) -> Option<&str> {
    value.and_then(|v| str_of(v, "type"))
}

impl WordPieceTokenizer {
    /// Builds a tokenizer from a Hugging Face `tokenizer.json` (see the
    /// module docs): the vocabulary, `[UNK]`, the continuation prefix and the
    /// longest word of the `WordPiece` model; lower-casing, accent stripping,
    /// text cleaning and CJK handling from the `BertNormalizer`
    /// (`strip_accents: null` follows `lowercase`, as in `tokenizers`); the
    /// `[CLS]`/`[SEP]` ids from the post processor; the pad id of `padding`'s
    /// `pad_token` (or `[PAD]`) in the vocabulary, else 0. Fails with [`Error::InvalidVocab`].
    pub fn from_tokenizer_json(text: &str) -> Result<Self> {
        if text.len() > MAX_TOKENIZER_JSON_BYTES {
            return Err(invalid(format!("{} bytes, more than the {MAX_TOKENIZER_JSON_BYTES} accepted", text.len())));
        }
        let root: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let model = root.get("model").ok_or_else(|| invalid("no model"))?;
        match kind(Some(model)) {
            Some("WordPiece") => {}
            other => return Err(invalid(format!("model {other:?} is not WordPiece (only BERT-family encoders are supported)"))),
        }
        let vocab = read_vocab(model.get("vocab"))?;
        let normalization = read_normalizer(root.get("normalizer"))?;
        match kind(root.get("pre_tokenizer")) {
            Some("BertPreTokenizer") => {}
            other => return Err(invalid(format!("pre_tokenizer {other:?} is not BertPreTokenizer"))),
        }
        let id_of = |token: &str, role: &str| {
            vocab.get(token).copied().ok_or_else(|| invalid(format!("the {role} token {token:?} is not in the vocabulary")))
        };
        let unk = id_of(str_of(model, "unk_token").unwrap_or("[UNK]"), "unknown")?;
        let (cls_token, sep_token) = read_specials(root.get("post_processor"))?;
        let cls = id_of(&cls_token, "class")?;
        let sep = id_of(&sep_token, "separator")?;
        let pad_token = root.get("padding").and_then(|p| str_of(p, "pad_token")).unwrap_or("[PAD]");
        let pad = match vocab.get(pad_token) {
            Some(&id) => id,
            None => 0,
        };
        let continuing_prefix = str_of(model, "continuing_subword_prefix").unwrap_or("##").to_string();
        if continuing_prefix.chars().count() > 16 {
            return Err(invalid("continuing_subword_prefix longer than 16 characters"));
        }
        let max_input_chars_per_word = match model.get("max_input_chars_per_word") {
            None | Some(Value::Null) => MAX_INPUT_CHARS_PER_WORD,
            Some(v) => v
                .as_u64()
                .filter(|&n| (1..=10_000).contains(&n))
                .map(|n| n as usize)
                .ok_or_else(|| invalid(format!("max_input_chars_per_word {v} is not in 1..=10000")))?,
        };
        Ok(WordPieceTokenizer {
            vocab,
            cls,
            sep,
            unk,
            pad,
            max_len: DEFAULT_MAX_LEN,
            normalization,
            continuing_prefix,
            max_input_chars_per_word,
        })
    }
}

/// `model.vocab`: token → id, ids dense and each used once.
fn read_vocab(vocab: Option<&Value>) -> Result<HashMap<String, u32>> {
    let map = vocab.and_then(Value::as_object).ok_or_else(|| invalid("model.vocab is not an object"))?;
    if map.is_empty() || map.len() > MAX_VOCAB_TOKENS {
        return Err(invalid(format!("model.vocab has {} tokens (1 to {MAX_VOCAB_TOKENS} accepted)", map.len())));
    }
    let n = map.len();
    let mut seen = vec![false; n];
    let mut out = HashMap::with_capacity(n);
    for (token, id) in map {
        let id = id
            .as_u64()
            .and_then(|id| usize::try_from(id).ok())
            .filter(|&id| id < n)
            .ok_or_else(|| invalid(format!("token {token:?} has id {id}, not in 0..{n}")))?;
        let slot = seen.get_mut(id).ok_or_else(|| invalid(format!("id {id} out of range")))?;
        if std::mem::replace(slot, true) {
            return Err(invalid(format!("id {id} is given to two tokens")));
        }
        let id = u32::try_from(id).map_err(|_| invalid(format!("id {id} does not fit 32 bits")))?;
        out.insert(token.clone(), id);
    }
    Ok(out)
}

fn flag(value: &Value, key: &str, default: bool) -> Result<bool> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(format!("normalizer.{key} is {other}, not a boolean"))),
    }
}

/// `normalizer`: a `BertNormalizer` (or `null`: no normalisation).
fn read_normalizer(normalizer: Option<&Value>) -> Result<Normalization> {
    let Some(n) = normalizer.filter(|n| !n.is_null()) else {
        return Ok(Normalization { clean_text: false, handle_chinese_chars: false, strip_accents: false, lowercase: false });
    };
    match kind(Some(n)) {
        Some("BertNormalizer") => {}
        other => return Err(invalid(format!("normalizer {other:?} is not BertNormalizer"))),
    }
    let lowercase = flag(n, "lowercase", true)?;
    Ok(Normalization {
        clean_text: flag(n, "clean_text", true)?,
        handle_chinese_chars: flag(n, "handle_chinese_chars", true)?,
        // `null` follows `lowercase`, as in `tokenizers`.
        strip_accents: flag(n, "strip_accents", lowercase)?,
        lowercase,
    })
}

/// The `[CLS]` and `[SEP]` tokens of the post processor (`TemplateProcessing`
/// `single: [CLS] $A [SEP]`, or `BertProcessing`), `[CLS]`/`[SEP]` when none.
fn read_specials(post: Option<&Value>) -> Result<(String, String)> {
    let Some(post) = post.filter(|p| !p.is_null()) else {
        return Ok(("[CLS]".into(), "[SEP]".into()));
    };
    match kind(Some(post)) {
        Some("BertProcessing") | Some("RobertaProcessing") => {
            let token = |key: &str| {
                post.get(key)
                    .and_then(|pair| pair.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| invalid(format!("post_processor.{key} is not [token, id]")))
            };
            Ok((token("cls")?, token("sep")?))
        }
        Some("TemplateProcessing") => {
            let single = post
                .get("single")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("post_processor.single is not a list"))?;
            let special = |piece: &Value| piece.get("SpecialToken").and_then(|s| str_of(s, "id")).map(str::to_string);
            let is_sequence = |piece: &Value| piece.get("Sequence").is_some();
            match single.as_slice() {
                [first, seq, last] if is_sequence(seq) => match (special(first), special(last)) {
                    (Some(cls), Some(sep)) => Ok((cls, sep)),
                    _ => Err(invalid("post_processor.single is not [special, $A, special]")),
                },
                _ => Err(invalid("post_processor.single is not [special, $A, special]")),
            }
        }
        other => Err(invalid(format!("post_processor {other:?} is not TemplateProcessing or BertProcessing"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(normalizer: Value) -> String {
        json!({
            "normalizer": normalizer,
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, ",": 5, "world": 6, "!": 7, "Hello": 8, "un": 9, "##aff": 10, "##able": 11}}
        })
        .to_string()
    }

    #[test]
    fn reads_an_uncased_bert_tokenizer() {
        let t = WordPieceTokenizer::from_text(&file(json!({"type": "BertNormalizer", "lowercase": true, "strip_accents": null}))).unwrap();
        assert_eq!(t.normalization(), Normalization::UNCASED);
        assert_eq!(t.encode("Héllo, WORLD!"), vec![2, 4, 5, 6, 7, 3]);
        assert_eq!(t.encode("unaffable"), vec![2, 9, 10, 11, 3]);
    }

    #[test]
    fn a_cased_tokenizer_keeps_case() {
        let t = WordPieceTokenizer::from_tokenizer_json(&file(json!({"type": "BertNormalizer", "lowercase": false}))).unwrap();
        assert_eq!(t.encode("Hello hello"), vec![2, 8, 4, 3]);
    }

    #[test]
    fn other_tokenizers_and_broken_files_are_invalid_vocab() {
        let bad = [
            "{".to_string(),
            file(json!({"type": "NFC"})),
            file(json!({"type": "BertNormalizer", "lowercase": "yes"})),
            json!({"model": {"type": "BPE", "vocab": {}}}).to_string(),
            file(Value::Null).replace("\"hello\":4", "\"hello\":99"),
            file(Value::Null).replace("\"hello\":4", "\"hello\":3"),
            file(Value::Null).replace("\"hello\":4", "\"hello\":-4"),
            file(Value::Null).replace("\"[CLS]\":2,", ""),
        ];
        for text in bad {
            let err = WordPieceTokenizer::from_tokenizer_json(&text).unwrap_err();
            assert_eq!(err.code(), "invalid_vocab", "{text}: {err}");
        }
    }
}
