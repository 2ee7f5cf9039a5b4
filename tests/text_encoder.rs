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

/// Integer products (the browser's default, `int8_matmul`) against
/// onnxruntime's reference embeddings and against the f32 plan, for every
/// bucket of lengths, batches, and with plans per shape: cosine ≥ 0.999.
#[test]
fn int8_products_match_the_reference_and_the_f32_plan() {
    let model = common::asset("minilm-int8.onnx");
    let vocab = common::asset_text("vocab.txt");
    let options = |int8_matmul, shape_plans| TextEncoderOptions { int8_matmul, shape_plans, ..Default::default() };
    let int8 = TextEncoder::with_options(&model, &vocab, options(true, false)).unwrap();
    let shaped = TextEncoder::with_options(&model, &vocab, options(true, true)).unwrap();
    let f32_plan = TextEncoder::with_options(&model, &vocab, options(false, false)).unwrap();
    // MiniLM-L6: Q, K, V, attention output and two feed-forward products in each of 6 layers
    assert_eq!(int8.int8_products(), 36);
    assert_eq!(f32_plan.int8_products(), 0);
    let rows = common::text_fixtures();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let batch = int8.embed_batch(&texts).unwrap();
    let mut worst = (2.0f32, String::new());
    let mut note = |c: f32, what: String| {
        if c < worst.0 {
            worst = (c, what);
        }
    };
    for (row, from_batch) in rows.iter().zip(&batch) {
        note(cosine(&int8.embed(&row.text).unwrap(), &row.embedding), format!("single {:?}", row.text));
        note(cosine(from_batch, &row.embedding), format!("batch {:?}", row.text));
        note(cosine(&shaped.embed(&row.text).unwrap(), &row.embedding), format!("shape plan {:?}", row.text));
    }
    let words = ["rain", "jacket", "hiking", "boots", "warm", "wool", "socks", "tent", "lamp", "map"];
    let text = |n: usize| (0..n).map(|i| words[(i * 7 + n) % words.len()]).collect::<Vec<_>>().join(" ");
    for n in [1, 2, 5, 6, 9, 13, 20, 21, 30, 45, 62, 95, 127, 191, 300] {
        let t = text(n);
        note(cosine(&int8.embed(&t).unwrap(), &f32_plan.embed(&t).unwrap()), format!("{n} words vs f32"));
    }
    eprintln!("worst cosine of the int8 products: {:.7} ({})", worst.0, worst.1);
    assert!(worst.0 >= 0.999, "cosine {} < 0.999 for {}", worst.0, worst.1);
    // the products really are integer ones: the embeddings differ from f32's
    let t = text(20);
    assert_ne!(int8.embed(&t).unwrap(), f32_plan.embed(&t).unwrap());
}

/// The smallest model with a constant-weight product and a bias (the fuzz
/// seed `seed-text-int8-matmul`: an id table, `MatMul` by a 4 × 3 constant,
/// `Add` of 3 values): one product runs in integers, bias folded in, and
/// its output matches the f32 plan's.
#[test]
fn a_product_with_a_bias_runs_in_integers() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/onnx_load/seed-text-int8-matmul");
    let bytes = std::fs::read(path).unwrap();
    let model = &bytes[1..];
    let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nfilm\n##s\n";
    let options = |int8_matmul| TextEncoderOptions { int8_matmul, normalize: false, ..Default::default() };
    let int8 = TextEncoder::with_options(model, vocab, options(true)).unwrap();
    let f32_plan = TextEncoder::with_options(model, vocab, options(false)).unwrap();
    assert_eq!((int8.int8_products(), f32_plan.int8_products()), (1, 0));
    for text in ["a film", "films", "a a a film film"] {
        let (a, b) = (int8.embed(text).unwrap(), f32_plan.embed(text).unwrap());
        assert_eq!(a.len(), 3);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-2 * y.abs().max(1.0), "{text:?}: {a:?} vs {b:?}");
        }
    }
}
