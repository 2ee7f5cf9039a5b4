//! x86-64 AVX2 + FMA kernels, selected at run time by [`has_avx2_fma`].
//!
//! Same structure as the wasm kernels: one row at a time, front to back,
//! independent accumulators. The int8 scan sign-extends 16 values to i16
//! (`vpmovsxbw`) and multiplies-adds pairs into i32 lanes (`vpmaddwd`)
//! against the query widened to i16 once per call.

use std::arch::x86_64::*;

/// True when this CPU has AVX2 and FMA (std caches the detection).
#[inline]
pub(super) fn has_avx2_fma() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Lane `i` of the result is the sum of the 8 lanes of the `i`-th argument.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum4_ps(a: __m256, b: __m256, c: __m256, d: __m256) -> __m128 {
    let t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps::<1>(t))
}

/// Horizontal sum of the 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
}

/// Dot product of one row with `q`: four 8-lane FMA accumulators (32 floats
/// per step), then 8-float steps, then a scalar tail.
///
/// # Safety
/// AVX2 + FMA available; `row` and `q` valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_f32(row: *const f32, q: *const f32, dim: usize) -> f32 {
    let z = _mm256_setzero_ps();
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let mut j = 0;
    while j + 32 <= dim {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row.add(j)), _mm256_loadu_ps(q.add(j)), a0);
        a1 = _mm256_fmadd_ps(
            _mm256_loadu_ps(row.add(j + 8)),
            _mm256_loadu_ps(q.add(j + 8)),
            a1,
        );
        a2 = _mm256_fmadd_ps(
            _mm256_loadu_ps(row.add(j + 16)),
            _mm256_loadu_ps(q.add(j + 16)),
            a2,
        );
        a3 = _mm256_fmadd_ps(
            _mm256_loadu_ps(row.add(j + 24)),
            _mm256_loadu_ps(q.add(j + 24)),
            a3,
        );
        j += 32;
    }
    while j + 8 <= dim {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row.add(j)), _mm256_loadu_ps(q.add(j)), a0);
        j += 8;
    }
    let mut s = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    while j < dim {
        s += *row.add(j) * *q.add(j);
        j += 1;
    }
    s
}

/// # Safety
/// AVX2 + FMA available. Precondition: `matrix.len() == out.len() * dim`,
/// `query.len() == dim ≥ 1`. One row at a time, front to back (interleaving
/// four rows measured about 20 % slower here, 2× in wasm).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn scores_f32(matrix: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
    debug_assert!(dim >= 1 && query.len() == dim && matrix.len() == out.len() * dim);
    for (o, row) in out.iter_mut().zip(matrix.chunks_exact(dim)) {
        *o = dot_f32(row.as_ptr(), query.as_ptr(), dim);
    }
}

/// 16 int8 values at `p` sign-extended to i16.
///
/// # Safety
/// AVX2 available; `p` valid for 16 reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn ext(p: *const i8) -> __m256i {
    _mm256_cvtepi8_epi16(_mm_loadu_si128(p as *const __m128i))
}

/// 16 i16 query values at `q + o`.
///
/// # Safety
/// AVX2 available; `q + o` valid for 16 reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn ldq(q: *const i16, o: usize) -> __m256i {
    _mm256_loadu_si256(q.add(o) as *const __m256i)
}

/// Exact i32 dot product of one int8 row with the query widened to i16:
/// 16 values per `vpmovsxbw` + `vpmaddwd`, four accumulators (64 values
/// per step), then 16-value steps, then a scalar tail.
///
/// # Safety
/// AVX2 available; `row` and `q` valid for `dim` reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_i8(row: *const i8, q: *const i16, dim: usize) -> i32 {
    let z = _mm256_setzero_si256();
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let mut j = 0;
    while j + 64 <= dim {
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(ext(row.add(j)), ldq(q, j)));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(ext(row.add(j + 16)), ldq(q, j + 16)));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(ext(row.add(j + 32)), ldq(q, j + 32)));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(ext(row.add(j + 48)), ldq(q, j + 48)));
        j += 64;
    }
    while j + 16 <= dim {
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(ext(row.add(j)), ldq(q, j)));
        j += 16;
    }
    let v = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    let mut total = _mm_cvtsi128_si32(s);
    while j < dim {
        total += i32::from(*row.add(j)) * i32::from(*q.add(j));
        j += 1;
    }
    total
}

/// # Safety
/// AVX2 + FMA available. Precondition: `values.len() == out.len() * dim ==
/// scales.len() * dim`, `query.len() == dim`, `1 ≤ dim ≤ MAX_I8_DIM`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn scores_i8(
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
    let q16: Vec<i16> = query.iter().map(|&x| i16::from(x)).collect();
    for ((o, row), s) in out.iter_mut().zip(values.chunks_exact(dim)).zip(scales) {
        *o = dot_i8(row.as_ptr(), q16.as_ptr(), dim) as f32 * s * qscale;
    }
}

/// # Safety
/// AVX2 + FMA available.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn stream_read_f32(data: &[f32]) -> f32 {
    let z = _mm256_setzero_ps();
    let mut acc = [z; 4];
    let chunks = data.chunks_exact(32);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        let p = c.as_ptr();
        for (k, a) in acc.iter_mut().enumerate() {
            *a = _mm256_add_ps(*a, _mm256_loadu_ps(p.add(8 * k)));
        }
    }
    let s = hsum4_ps(acc[0], acc[1], acc[2], acc[3]);
    let mut lanes = [0.0f32; 4];
    _mm_storeu_ps(lanes.as_mut_ptr(), s);
    lanes.iter().sum::<f32>() + tail
}
