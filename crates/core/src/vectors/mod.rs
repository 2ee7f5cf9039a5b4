//! The bottom layer: vectors and the kernels over them. Embedding matrices
//! (f32 and row-quantised int8), the SIMD scan kernels (wasm `simd128`,
//! x86-64 AVX2 + FMA, portable), top-k selection and cosine similarity.
//!
//! It depends on [`crate::error`] only, so that the catalog (which holds the
//! matrices) and ranking (which scans them) both sit on it, in the manner of
//! tract-linalg under tract-core.

mod embeddings;
pub mod int8_gemm;
pub mod kernels;
pub mod topk;
pub mod wasm_gemm;

pub use embeddings::Embeddings;
pub use kernels::{QuantizedMatrix, QuantizedQuery};

/// f32 values as base64 of their little-endian bytes (what the memory
/// store's items and a candidate engine's `rc.seq` hold).
pub fn encode_f32(values: &[f32]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The inverse of [`encode_f32`]; `invalid_input` for anything else. The
/// caller bounds `text`'s length first when it comes from outside.
pub fn decode_f32(text: &str) -> crate::error::Result<Vec<f32>> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| crate::error::Error::InvalidInput(format!("an embedding is not base64: {e}")))?;
    if !bytes.len().is_multiple_of(4) {
        return Err(crate::error::Error::InvalidInput("an embedding's byte length is not a multiple of 4".into()));
    }
    Ok(bytes.chunks_exact(4).filter_map(|c| <[u8; 4]>::try_from(c).ok()).map(f32::from_le_bytes).collect())
}

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
