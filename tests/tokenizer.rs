//! The WordPiece tokenizer reproduces Hugging Face `tokenizers` ids exactly.

mod common;

use recagent_core::encoder::WordPieceTokenizer;

#[test]
fn every_fixture_row_tokenizes_exactly() {
    let tokenizer = WordPieceTokenizer::from_vocab_txt(&common::asset_text("vocab.txt")).unwrap();
    assert_eq!(tokenizer.vocab_size(), 30_522);
    let mut mismatches = Vec::new();
    for row in common::text_fixtures() {
        let ids = tokenizer.encode(&row.text);
        if ids != row.ids {
            mismatches.push(format!(
                "{:?}\n  ours: {ids:?}\n  ref:  {:?}",
                row.text, row.ids
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} rows differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn a_megabyte_of_text_is_truncated_not_a_failure() {
    let tokenizer = WordPieceTokenizer::from_vocab_txt(&common::asset_text("vocab.txt")).unwrap();
    let text = "streaming ".repeat(100_000);
    let ids = tokenizer.encode(&text);
    assert_eq!(ids.len(), 256);
    assert_eq!((ids[0], ids[255]), (101, 102));
}

#[test]
fn a_wrong_vocabulary_is_a_typed_error() {
    for bad in ["", "hello\nworld\n", "[CLS]\n[SEP]\n"] {
        let err = WordPieceTokenizer::from_vocab_txt(bad).unwrap_err();
        assert_eq!(err.code(), "invalid_vocab", "{bad:?}");
    }
}
