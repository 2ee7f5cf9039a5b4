//! On-device encoders: a WordPiece tokenizer and text and image encoders run
//! by tract. Models come in as bytes (never paths or URLs), so the same code
//! serves the native CLI and the browser.

mod image;
mod onnx;
pub mod preprocess;
mod text;
pub mod tokenizer;

pub use self::image::{ImageEmbedding, ImageEncoder, ImageEncoderOptions};
pub use self::preprocess::{DecodeLimits, Preprocessing, RgbImage};
pub use self::text::{l2_normalized, TextEncoder, TokenIds};
pub use self::tokenizer::WordPieceTokenizer;

/// Cosine similarity of two vectors (0 when either is all zeros or lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        (dot / (na.sqrt() * nb.sqrt())) as f32
    }
}
