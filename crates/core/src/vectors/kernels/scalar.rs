//! Portable kernels: several independent accumulators per row so the
//! compiler can keep them in vector registers. Callers have checked shapes.
//! With `simd128` only the single-row helpers are used (for ragged rows).
#![cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]

/// `Σ a[j]·b[j]` with 8 independent partial sums (then a fixed tree).
#[inline]
pub(super) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Exact `Σ a[j]·b[j]` in `i32` (the caller bounds `len` by `MAX_I8_DIM`).
#[inline]
pub(super) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0i32; 16];
    let (ac, bc) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for k in 0..16 {
            acc[k] += i32::from(x[k]) * i32::from(y[k]);
        }
    }
    let tail: i32 = ar
        .iter()
        .zip(br)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// Precondition: `matrix.len() == out.len() * dim`, `query.len() == dim ≥ 1`.
pub(super) fn scores_f32(matrix: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
    debug_assert!(dim >= 1 && query.len() == dim && matrix.len() == out.len() * dim);
    for (o, row) in out.iter_mut().zip(matrix.chunks_exact(dim)) {
        *o = dot_f32(row, query);
    }
}

/// Precondition: `values.len() == out.len() * dim == scales.len() * dim`,
/// `query.len() == dim ≥ 1`.
pub(super) fn scores_i8(
    values: &[i8],
    dim: usize,
    scales: &[f32],
    query: &[i8],
    qscale: f32,
    out: &mut [f32],
) {
    debug_assert!(
        dim >= 1
            && query.len() == dim
            && values.len() == out.len() * dim
            && scales.len() == out.len()
    );
    for ((o, row), s) in out.iter_mut().zip(values.chunks_exact(dim)).zip(scales) {
        *o = dot_i8(row, query) as f32 * s * qscale;
    }
}

/// Sum of `data` with 8 independent partial sums.
pub(super) fn stream_read_f32(data: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = data.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for x in chunks {
        for k in 0..8 {
            acc[k] += x[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}
