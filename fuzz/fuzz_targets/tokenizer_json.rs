//! A vocabulary file (what `Recommender.create`'s `vocab` and `recagent`'s
//! `--vocab` take: a Hugging Face `tokenizer.json` or a BERT `vocab.txt`)
//! into `WordPieceTokenizer::from_text`; a tokenizer that loads then encodes
//! texts without panicking, `[CLS]` first and `[SEP]` last, within its
//! `max_len`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::encoder::WordPieceTokenizer;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(tokenizer) = WordPieceTokenizer::from_text(text) else { return };
    let tokenizer = tokenizer.with_max_len(16);
    for sample in ["", "Hello, World!", "unaffable façade 東京 🎉", text] {
        let ids = tokenizer.encode(sample);
        assert!(ids.len() >= 2 && ids.len() <= 16, "{} ids", ids.len());
    }
});
