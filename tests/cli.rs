//! The `recagent` CLI: embed-text and embed-image against the fixtures, and
//! one-line errors with a non-zero exit on bad input.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use recagent::encoder::cosine;
use serde_json::Value;

fn recagent(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recagent"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run recagent");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

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
