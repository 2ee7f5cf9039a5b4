//! The `recagent` CLI: embed-text and embed-image against the fixtures, and
//! one-line errors with a non-zero exit on bad input.

mod common;

use common::recagent;


use recagent_core::vectors::cosine;
use serde_json::Value;

fn path(name: &str) -> String {
    common::assets().join(name).display().to_string()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn embed_text_reads_json_lines_and_matches_the_reference() {
    let rows = common::text_fixtures();
    let input: String = rows
        .iter()
        .map(|r| serde_json::json!({ "text": r.text }).to_string() + "\n")
        .collect();
    let model = path("minilm-int8.onnx");
    let vocab = path("vocab.txt");
    let out = recagent(
        &["embed-text", "--model", &model, "--vocab", &vocab],
        &input,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), rows.len());
    for (row, line) in rows.iter().zip(&lines) {
        let ids: Vec<u32> = serde_json::from_value(line["ids"].clone()).unwrap();
        assert_eq!(ids, row.ids, "{:?}", row.text);
        let c = cosine(&floats(&line["embedding"]), &row.embedding);
        assert!(c >= 0.999, "{:?}: cosine {c}", row.text);
    }
}

/// One embedding of `text` from `embed-text` with the extra flags.
fn embed_one(text: &str, flags: &[&str]) -> Result<Vec<f32>, String> {
    let (model, vocab) = (path("minilm-int8.onnx"), path("vocab.txt"));
    let mut args = vec!["embed-text", "--model", &model, "--vocab", &vocab];
    args.extend_from_slice(flags);
    let out = recagent(&args, &(serde_json::json!({ "text": text }).to_string() + "\n"));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let line: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok(floats(&line["embedding"]))
}

#[test]
fn embed_text_takes_the_pooling_normalisation_and_length() {
    let text = "a quiet film about a lighthouse keeper and the sea";
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let mean = embed_one(text, &[]).unwrap();
    let same = embed_one(text, &["--pooling", "mean"]).unwrap();
    assert_eq!(mean, same, "mean is the default");
    let cls = embed_one(text, &["--pooling", "cls"]).unwrap();
    assert!((norm(&cls) - 1.0).abs() < 1e-4);
    assert!(cosine(&mean, &cls) < 0.999, "[CLS] pooling is another vector");
    let raw = embed_one(text, &["--no-normalize"]).unwrap();
    assert!((norm(&raw) - 1.0).abs() > 1e-3, "not scaled: norm {}", norm(&raw));
    assert!(cosine(&raw, &mean) > 0.9999, "the same direction");
    let short = embed_one(text, &["--max-length", "4"]).unwrap();
    assert!(cosine(&short, &mean) < 0.99, "truncated to two word pieces");
    let err = embed_one(text, &["--max-length", "1"]).unwrap_err();
    assert!(err.contains("recagent: error["), "{err}");
    let err = embed_one(text, &["--pooling", "max"]).unwrap_err();
    assert!(err.contains("max"), "{err}");
}

#[test]
fn embed_image_from_png_and_from_preprocessed_tensors() {
    let model = path("mobilenetv2-embedding.onnx");
    for row in common::image_fixtures() {
        let png = common::image_dir().join(&row.file).display().to_string();
        let tensor = common::image_dir().join(&row.input).display().to_string();
        for (args, min) in [
            (vec!["embed-image", "--model", &model, &png], 0.99),
            (
                vec!["embed-image", "--model", &model, "--preprocessed", &tensor],
                0.9999,
            ),
        ] {
            let out = recagent(&args, "");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(line["file"]
                .as_str()
                .unwrap()
                .ends_with(args.last().unwrap()));
            let top5: Vec<usize> = serde_json::from_value(line["top5"].clone()).unwrap();
            assert_eq!(top5.len(), 5);
            assert_eq!(top5[0], row.top5[0]);
            let c = cosine(&floats(&line["embedding"]), &row.embedding);
            assert!(c >= min, "{args:?}: cosine {c}");
        }
    }
}

#[test]
fn bad_input_exits_non_zero_with_one_line() {
    let model = path("minilm-int8.onnx");
    let vocab = path("vocab.txt");
    let image_model = path("mobilenetv2-embedding.onnx");
    let png = common::image_dir().join("coffee.png").display().to_string();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["embed-text", "--model", &model, "--vocab", &vocab],
            "not json\n",
            "invalid_input",
        ),
        (
            vec!["embed-text", "--model", &model, "--vocab", &vocab],
            "{\"txt\": 1}\n",
            "invalid_input",
        ),
        (
            vec!["embed-text", "--model", &vocab, "--vocab", &vocab],
            "",
            "invalid_model",
        ),
        (
            vec!["embed-text", "--model", &model, "--vocab", &model],
            "",
            "invalid_vocab",
        ),
        (
            vec![
                "embed-text",
                "--model",
                "/nonexistent.onnx",
                "--vocab",
                &vocab,
            ],
            "",
            "io_error",
        ),
        (
            vec!["embed-image", "--model", &image_model, &vocab],
            "",
            "invalid_image",
        ),
        (
            vec![
                "embed-image",
                "--model",
                &image_model,
                "--preprocessed",
                &png,
            ],
            "",
            "invalid_input",
        ),
    ];
    for (args, stdin, code) in cases {
        let out = recagent(&args, stdin);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(&format!("error[{code}]")), "{args:?}: {err}");
    }
}

/// A tiny RecBole dataset with an image column: 12 items, 8 users.
fn tiny_dataset(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let images = common::assets().join("fixtures/image");
    std::fs::copy(images.join("chelsea.png"), dir.join("cat.png")).unwrap();
    std::fs::copy(images.join("coffee.png"), dir.join("coffee.png")).unwrap();
    let mut item = String::from("item_id:token\ttitle:token\tgenre:token_seq\tprice:float\timage:token\n");
    for i in 0..12 {
        let genre = if i % 2 == 0 { "pets cats" } else { "drinks" };
        let image = match i {
            0 => "cat.png",
            1 => "coffee.png",
            _ => "",
        };
        item.push_str(&format!("i{i}\tThing number {i}\t{genre}\t{}.5\t{image}\n", i + 1));
    }
    std::fs::write(dir.join("tiny.item"), item).unwrap();
    let mut inter = String::from("user_id:token\titem_id:token\trating:float\ttimestamp:float\n");
    for u in 0..8 {
        for t in 0..6 {
            inter.push_str(&format!("u{u}\ti{}\t4\t{}\n", (u + t) % 12, 1000 + t));
        }
    }
    std::fs::write(dir.join("tiny.inter"), inter).unwrap();
}

#[test]
fn build_catalog_writes_a_bundle_with_text_image_and_sequence_model() {
    let dir = std::env::temp_dir().join(format!("recagent-build-{}", std::process::id()));
    tiny_dataset(&dir);
    let out = dir.join("tiny.rcat");
    let args = [
        "build-catalog",
        "--dataset",
        dir.to_str().unwrap(),
        "--model",
        &path("minilm-int8.onnx"),
        "--vocab",
        &path("vocab.txt"),
        "--image-model",
        &path("mobilenetv2-embedding.onnx"),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "2",
        "--dim",
        "16",
    ];
    let o = recagent(&args, "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["items"], 12);
    assert_eq!(summary["text"], 384);
    assert_eq!(summary["image"], 1280);
    assert_eq!(summary["sequenceModel"]["dim"], 16);
    let catalog = recagent_core::Catalog::from_bundle(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(catalog.len(), 12);
    let first = catalog.item(0).unwrap();
    assert_eq!(first.id(), "i0");
    assert_eq!(first.title(), "Thing number 0");
    assert_eq!(first.image(), Some("cat.png"));
    assert_eq!(catalog.value(0, "price").map(|v| v.to_owned()), Some(recagent_core::catalog::AttributeValue::Number(1.5)));
    assert_eq!(
        catalog.value(0, "genre").map(|v| v.to_owned()),
        Some(recagent_core::catalog::AttributeValue::Tags(vec!["pets".into(), "cats".into()]))
    );
    let image = catalog.image_embeddings().unwrap();
    assert!(image.row(0).unwrap().iter().any(|&x| x != 0.0));
    assert!(image.row(5).unwrap().iter().all(|&x| x == 0.0), "no image → zero row");
    assert_eq!(catalog.popularity()[0], 2.0, "u0 at t=0 and u7 at t=5");
    // The text rows are exactly what the browser's encoder gives for the item text.
    let encoder = recagent_core::TextEncoder::from_bytes(&common::asset("minilm-int8.onnx"), &common::asset_text("vocab.txt")).unwrap();
    let expected = encoder.embed(&first.text()).unwrap();
    assert!(cosine(&expected, &catalog.text_embeddings().unwrap().row(0).unwrap()) > 0.99999);

    // --quantize stores int8 and --no-train skips the sequence model.
    let q = dir.join("tiny-q.rcat");
    let mut args: Vec<&str> = args[..9].to_vec();
    args.extend(["--out", q.to_str().unwrap(), "--quantize", "--no-train"]);
    let o = recagent(&args, "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let catalog = recagent_core::Catalog::from_bundle(&std::fs::read(&q).unwrap()).unwrap();
    assert!(matches!(catalog.text_embeddings(), Some(recagent_core::catalog::Embeddings::I8(_))));
    assert!(catalog.sequence_model().is_none());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn build_catalog_reports_a_missing_dataset() {
    let o = recagent(
        &["build-catalog", "--dataset", "/nonexistent/x", "--model", "m", "--vocab", "v", "--out", "/tmp/x.rcat"],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("recagent: error[io_error]:"), "{err}");
}
