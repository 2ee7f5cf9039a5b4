//! ONNX model bytes (what `loadImageModel`/`Recommender.create` download)
//! into the model loaders with their size budget: `ImageEncoder::from_bytes`
//! (with an 8-pixel crop, so the load's probe run stays cheap) and
//! `TextEncoder::with_options` with a tiny vocabulary, with the products of
//! constant weights in integers (the browser's default) or in f32; the first
//! input byte picks which. scripts/fuzz.sh runs this target with libFuzzer's
//! `-rss_limit_mb`/`-malloc_limit_mb`, so an allocation sized by the model's
//! bytes beyond the budget is found as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::encoder::{ImageEncoderOptions, Preprocessing, TextEncoderOptions};
use recagent_core::{ImageEncoder, TextEncoder};

const VOCAB: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nfilm\n##s\n";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, model)) = data.split_first() else { return };
    if mode & 1 == 0 {
        let options = ImageEncoderOptions {
            preprocessing: Preprocessing { resize_shorter: 8, crop: 8, ..Preprocessing::default() },
            ..ImageEncoderOptions::default()
        };
        if let Ok(encoder) = ImageEncoder::from_bytes(model, options) {
            let _ = encoder.embed_tensor(&[0.5; 3 * 8 * 8]);
        }
    } else {
        let options = TextEncoderOptions { int8_matmul: mode & 2 != 0, ..TextEncoderOptions::default() };
        if let Ok(encoder) = TextEncoder::with_options(model, VOCAB, options) {
            let _ = encoder.embed("a film");
        }
    }
});
