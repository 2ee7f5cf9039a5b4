//! The bottom layer: vectors and the kernels over them. Embedding matrices
//! (f32 and row-quantised int8), the SIMD scan kernels (wasm `simd128`,
//! x86-64 AVX2 + FMA, portable), top-k selection and cosine similarity.
//!
//! It depends on [`crate::error`] only, so that the catalog (which holds the
//! matrices) and ranking (which scans them) both sit on it, in the manner of
//! tract-linalg under tract-core.

mod embeddings;
pub mod kernels;
pub mod topk;
pub mod wasm_gemm;

pub use embeddings::Embeddings;
pub use kernels::{QuantizedMatrix, QuantizedQuery};

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
