//! The WordPiece tokenizer reproduces Hugging Face `tokenizers` ids exactly,
//! from a BERT `vocab.txt` and from all-MiniLM-L6-v2's own `tokenizer.json`
//! (the file the reference ids were made with).

mod common;

use recagent_core::encoder::WordPieceTokenizer;

#[test]
fn every_fixture_row_tokenizes_exactly() {
    let tokenizer = WordPieceTokenizer::from_vocab_txt(&common::asset_text("vocab.txt")).unwrap();
    assert_fixture_ids(&tokenizer);
}

#[test]
fn every_fixture_row_tokenizes_exactly_from_tokenizer_json() {
    let json = common::asset_text("fixtures/minilm-tokenizer.json");
    let tokenizer = WordPieceTokenizer::from_text(&json).unwrap();
    assert_eq!(tokenizer.normalization(), recagent_core::encoder::Normalization::UNCASED);
    assert_fixture_ids(&tokenizer);
    // The same vocabulary as the vocab.txt, so the same ids for any text.
    let txt = WordPieceTokenizer::from_vocab_txt(&common::asset_text("vocab.txt")).unwrap();
    let text = "Ünïcode façade — 東京, emoji 🎉 and ##hashes [CLS] [SEP]";
    assert_eq!(tokenizer.encode(text), txt.encode(text));
}

fn assert_fixture_ids(tokenizer: &WordPieceTokenizer) {
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
