//! The text encoder matches onnxruntime's embeddings of the int8 MiniLM.

mod common;

use recagent_core::vectors::cosine;
use recagent_core::encoder::TextEncoderOptions;
use recagent_core::TextEncoder;

fn encoder() -> TextEncoder {
    TextEncoder::from_bytes(
        &common::asset("minilm-int8.onnx"),
        &common::asset_text("vocab.txt"),
    )
    .expect("MiniLM loads")
}

#[test]
fn single_and_batch_embeddings_match_the_reference() {
    let encoder = encoder();
    assert_eq!(encoder.dim(), 384);
    let rows = common::text_fixtures();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let batch = encoder.embed_batch(&texts).unwrap();
    assert_eq!(batch.len(), rows.len());
    let mut worst = (2.0f32, String::new());
    for (row, from_batch) in rows.iter().zip(&batch) {
        let single = encoder.embed(&row.text).unwrap();
        let norm: f32 = single.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{:?} has norm {norm}", row.text);
        for (what, got) in [("single", &single), ("batch", from_batch)] {
            let c = cosine(got, &row.embedding);
            if c < worst.0 {
                worst = (c, format!("{what} {:?}", row.text));
            }
        }
    }
    eprintln!("worst cosine to onnxruntime: {:.7} ({})", worst.0, worst.1);
    assert!(
        worst.0 >= 0.999,
        "cosine {} < 0.999 for {}",
        worst.0,
        worst.1
    );
}

#[test]
fn similar_texts_are_closer_than_unrelated_ones() {
    let encoder = encoder();
    let a = encoder.embed("a scary horror movie with ghosts").unwrap();
    let b = encoder.embed("a frightening haunted house film").unwrap();
    let c = encoder.embed("waterproof hiking boots for women").unwrap();
    assert!(cosine(&a, &b) > cosine(&a, &c) + 0.2);
}

#[test]
fn empty_batch_and_huge_text_behave() {
    let encoder = encoder();
    let empty: [&str; 0] = [];
    assert_eq!(
        encoder.embed_batch(&empty).unwrap_err().code(),
        "invalid_input"
    );
    let huge = "word ".repeat(200_000); // 1 MB
    let v = encoder.embed(&huge).unwrap();
    assert_eq!(v.len(), 384);
    assert!(v.iter().all(|x| x.is_finite()));
}

#[test]
fn malformed_models_and_vocabularies_are_typed_errors() {
    let model = common::asset("minilm-int8.onnx");
    let vocab = common::asset_text("vocab.txt");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", b"this is not an onnx model at all".to_vec()),
        ("truncated", model[..model.len() / 3].to_vec()),
        ("header only", model[..64].to_vec()),
    ];
    for (name, bytes) in cases {
        match TextEncoder::from_bytes(&bytes, &vocab) {
            Ok(_) => panic!("{name} model loaded"),
            Err(e) => assert!(
                ["invalid_model", "unsupported_model"].contains(&e.code()),
                "{name}: {} ({e})",
                e.code()
            ),
        }
    }
    let image_model = common::asset("mobilenetv2-embedding.onnx");
    let e = TextEncoder::from_bytes(&image_model, &vocab)
        .err()
        .expect("image model rejected");
    assert_eq!(e.code(), "unsupported_model");
    let e = TextEncoder::from_bytes(&model, "not\na\nvocab\n")
        .err()
        .expect("bad vocab rejected");
    assert_eq!(e.code(), "invalid_vocab");
}

/// Pooling and normalisation options: `[CLS]` pooling gives another vector
/// than mean pooling; without normalisation the vector keeps its length and
/// points the same way as the normalised one; `max_len` truncates; a
/// `max_len` out of range is `invalid_input`.
#[test]
fn pooling_normalisation_and_max_len_options() {
    use recagent_core::encoder::{Pooling, TextEncoderOptions};
    let model = common::asset("minilm-int8.onnx");
    let vocab = common::asset_text("vocab.txt");
    let load = |options| TextEncoder::with_options(&model, &vocab, options).expect("MiniLM loads");
    let text = "a quiet thriller in a small town";
    let mean = load(TextEncoderOptions::default()).embed(text).unwrap();
    let cls = load(TextEncoderOptions { pooling: Pooling::Cls, ..Default::default() }).embed(text).unwrap();
    let raw = load(TextEncoderOptions { normalize: false, ..Default::default() }).embed(text).unwrap();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm(&cls) - 1.0).abs() < 1e-4 && (norm(&mean) - 1.0).abs() < 1e-4);
    assert!(cosine(&mean, &cls) < 0.99, "CLS pooling gave the mean: {}", cosine(&mean, &cls));
    assert!((norm(&raw) - 1.0).abs() > 1e-3, "not normalised, yet unit length");
    assert!(cosine(&raw, &mean) > 0.9999);
    let short = load(TextEncoderOptions { max_len: 4, ..Default::default() });
    assert_eq!(short.tokenize(text).len(), 4);
    for max_len in [0, 1, 5000] {
        let err = TextEncoder::with_options(&model, &vocab, TextEncoderOptions { max_len, ..Default::default() }).err().unwrap();
        assert_eq!(err.code(), "invalid_input", "max_len {max_len}");
    }
}

/// Every sequence bucket, batches of several sizes and more shapes than live
/// plans (so plans are evicted and rebuilt): the shape plans embed as the one
/// symbolic plan does (cosine ≥ 0.999), in input order.
#[test]
fn shape_plans_match_the_symbolic_plan_for_every_bucket() {
    let model = common::asset("minilm-int8.onnx");
    let vocab = common::asset_text("vocab.txt");
    let options = |shape_plans| TextEncoderOptions { shape_plans, ..Default::default() };
    let shaped = TextEncoder::with_options(&model, &vocab, options(true)).unwrap();
    let symbolic = TextEncoder::with_options(&model, &vocab, options(false)).unwrap();
    let words = ["rain", "jacket", "hiking", "boots", "warm", "wool", "socks", "tent", "lamp", "map"];
    let text = |n: usize| (0..n).map(|i| words[(i * 7 + n) % words.len()]).collect::<Vec<_>>().join(" ");
    let mut worst = (2.0f32, 0usize);
    // 1 to 300 words: token counts 3 to 256 (truncated), every bucket and both sides of its edges.
    for n in (1..=40).chain([46, 47, 62, 63, 94, 95, 126, 127, 190, 191, 254, 300]) {
        let t = text(n);
        let c = cosine(&shaped.embed(&t).unwrap(), &symbolic.embed(&t).unwrap());
        if c < worst.0 {
            worst = (c, n);
        }
    }
    assert!(worst.0 >= 0.999, "single text of {} words: cosine {}", worst.1, worst.0);
    for sizes in [vec![2usize], vec![3, 9, 17], vec![64], (1..=70).collect::<Vec<_>>()] {
        let texts: Vec<String> = sizes.iter().map(|&n| text(n)).collect();
        let a = shaped.embed_batch(&texts).unwrap();
        let b = symbolic.embed_batch(&texts).unwrap();
        assert_eq!(a.len(), texts.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let c = cosine(x, y);
            assert!(c >= 0.999, "batch {sizes:?}, text {i}: cosine {c}");
            // input order kept: each row is the embedding of its own text
            assert!(cosine(x, &symbolic.embed(&texts[i]).unwrap()) >= 0.999, "batch row {i} out of order");
        }
    }
}
