//! Ranking: scoring a catalog of item embeddings against a user vector on the
//! device.
//!
//! - [`kernels`]: the fast path — dense dot-product scans over a row-major
//!   matrix of item embeddings, in f32 and in row-wise int8
//!   ([`kernels::QuantizedMatrix`]), with hand-written wasm `simd128`
//!   kernels, AVX2 on x86-64 (runtime detection) and a portable fallback.
//! - [`topk`]: selection of the best `k` scores with a filter, deterministic
//!   on ties, NaN-safe.

pub mod kernels;
pub mod topk;
