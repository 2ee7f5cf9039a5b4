//! Shared helpers for the native integration tests: where the assets are and
//! how to read the reference fixtures. The assets come from `scripts/setup.sh`;
//! a missing asset fails the test with that hint (never a silent skip).
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

/// The workspace root: the folder of the package under test or the nearest
/// one above it that holds `Cargo.lock` (tests of `crates/*` run from there).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// The assets folder (`$RECAGENT_ASSETS` or `<workspace>/assets`).
pub fn assets() -> PathBuf {
    std::env::var_os("RECAGENT_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("assets"))
}

/// Reads an asset, failing with a hint to run the set-up when it is missing.
pub fn asset(name: &str) -> Vec<u8> {
    let path = assets().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/setup.sh to fetch the assets)",
            path.display()
        )
    })
}

/// An asset as UTF-8 text.
pub fn asset_text(name: &str) -> String {
    String::from_utf8(asset(name)).expect("asset is UTF-8")
}

/// A recommender over the ML-100K catalog with the MiniLM text encoder (the
/// assets of `scripts/setup.sh`; the catalog is built by `scripts/test.sh`).
pub fn ml100k_text_recommender() -> recagent_core::Recommender {
    let model = asset("minilm-int8.onnx");
    let encoder = recagent_core::TextEncoder::from_bytes(&model, &asset_text("vocab.txt"))
        .expect("MiniLM loads");
    let catalog = recagent_core::Catalog::from_bundle(&asset("catalog/ml-100k.rcat"))
        .expect("the ML-100K catalog loads");
    recagent_core::Recommender::new(catalog, Some((encoder, &model)))
        .expect("the recommender starts")
}

/// One row of `fixtures/text-encoder.jsonl`.
#[derive(Deserialize)]
pub struct TextFixture {
    pub text: String,
    pub ids: Vec<u32>,
    pub embedding: Vec<f32>,
}

/// Every row of the text fixture (made with HF tokenizers + onnxruntime).
pub fn text_fixtures() -> Vec<TextFixture> {
    let rows: Vec<TextFixture> = asset_text("fixtures/text-encoder.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture row"))
        .collect();
    assert!(
        rows.len() >= 20,
        "text fixture has only {} rows",
        rows.len()
    );
    rows
}

/// One row of `fixtures/image/image-encoder.jsonl`.
#[derive(Deserialize)]
pub struct ImageFixture {
    pub file: String,
    pub input: String,
    pub top5: Vec<usize>,
    pub embedding: Vec<f32>,
}

/// Every row of the image fixture (made with Pillow + onnxruntime).
pub fn image_fixtures() -> Vec<ImageFixture> {
    asset_text("fixtures/image/image-encoder.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture row"))
        .collect()
}

/// A raw little-endian f32 file as floats.
pub fn f32_le(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Path of the fixture folder for images.
pub fn image_dir() -> PathBuf {
    assets().join("fixtures/image")
}

/// Runs the `recagent` binary with `args`, feeding `stdin`, and collects its output.
#[allow(clippy::option_env_unwrap)] // the CLI's own tests always have it
pub fn recagent(args: &[&str], stdin: &str) -> Output {
    // Cargo builds the binary before the tests of its own package (crates/cli);
    // other packages' tests never call this.
    let bin = option_env!("CARGO_BIN_EXE_recagent")
        .expect("common::recagent runs the CLI binary: only the tests of crates/cli may call it");
    let mut child = Command::new(bin)
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
