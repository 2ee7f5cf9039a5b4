//! The models and reference embeddings the browser tests check the encoders
//! against (set up by `scripts/setup.sh` into `assets/`, baked in at compile
//! time).
#![allow(dead_code)]

use serde::Deserialize;

/// MiniLM-L6 with int8 weights.
pub static MINILM: &[u8] = include_bytes!("../../assets/minilm-int8.onnx");
/// Its BERT vocabulary.
pub static VOCAB: &str = include_str!("../../assets/vocab.txt");
/// MobileNetV2 with an `embedding` output.
pub static MOBILENET: &[u8] = include_bytes!("../../assets/mobilenetv2-embedding.onnx");
/// The photo of the image fixtures.
pub static CHELSEA_PNG: &[u8] = include_bytes!("../../assets/fixtures/image/chelsea.png");
static TEXT_FIXTURES: &str = include_str!("../../assets/fixtures/text-encoder.jsonl");
static IMAGE_FIXTURES: &str = include_str!("../../assets/fixtures/image/image-encoder.jsonl");

/// One text with the reference's token ids and embedding.
#[derive(Deserialize)]
pub struct TextRow {
    pub text: String,
    pub ids: Vec<u32>,
    pub embedding: Vec<f32>,
}

/// One image file with the reference's top-5 classes and embedding.
#[derive(Deserialize)]
pub struct ImageRow {
    pub file: String,
    pub top5: Vec<u32>,
    pub embedding: Vec<f32>,
}

/// Every text reference row.
pub fn text_rows() -> Vec<TextRow> {
    TEXT_FIXTURES.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The reference row of `chelsea.png`.
pub fn chelsea_row() -> ImageRow {
    IMAGE_FIXTURES
        .lines()
        .map(|l| serde_json::from_str::<ImageRow>(l).unwrap())
        .find(|r| r.file == "chelsea.png")
        .unwrap()
}
