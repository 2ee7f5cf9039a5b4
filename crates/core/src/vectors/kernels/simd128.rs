//! WebAssembly `simd128` kernels (compiled only with `+simd128`).
//!
//! Both scans read one row at a time, front to back, with several
//! independent accumulators. The int8 scan widens the query to i16 once per
//! call (and de-interleaves it, see [`dot_i8`]); row chunks are multiplied and
//! pairwise-added into i32 lanes by `i32x4.dot_i16x8_s`. Callers have checked
//! shapes; the `debug_assert`s restate them. The variants measured before
//! choosing these are in `bench/rank-wasm/src/exp.rs`.

use core::arch::wasm32::*;

#[inline(always)]
unsafe fn ld(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
unsafe fn ld16(p: *const i16) -> v128 {
    v128_load(p as *const v128)
}

/// Horizontal sums of four f32x4 vectors: lane `i` of the result is the sum
/// of the lanes of the `i`-th argument.
#[inline(always)]
fn hsum4_f32(a: v128, b: v128, c: v128, d: v128) -> v128 {
    let ab = f32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = f32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    f32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    )
}

/// Same as [`hsum4_f32`] for i32x4 lanes.
#[inline(always)]
fn hsum4_i32(a: v128, b: v128, c: v128, d: v128) -> v128 {
    let ab = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    )
}

/// Dot product of one row with `q`, eight f32x4 accumulators (32 floats per
/// step), then 4-float steps, then a scalar tail.
///
/// # Safety
/// `row` and `q` must be valid for `dim` reads.
#[inline(always)]
unsafe fn dot_f32(row: *const f32, q: *const f32, dim: usize) -> f32 {
    let mut acc = [f32x4_splat(0.0); 8];
    let mut j = 0;
    while j + 32 <= dim {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = f32x4_add(*a, f32x4_mul(ld(row.add(j + 4 * k)), ld(q.add(j + 4 * k))));
        }
        j += 32;
    }
    while j + 4 <= dim {
        acc[0] = f32x4_add(acc[0], f32x4_mul(ld(row.add(j)), ld(q.add(j))));
        j += 4;
    }
    let v = hsum4_f32(
        f32x4_add(acc[0], acc[4]),
        f32x4_add(acc[1], acc[5]),
        f32x4_add(acc[2], acc[6]),
        f32x4_add(acc[3], acc[7]),
    );
    let mut s = (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
        + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v));
    while j < dim {
        s += *row.add(j) * *q.add(j);
        j += 1;
    }
    s
}

/// Precondition: `matrix.len() == out.len() * dim`, `query.len() == dim ≥ 1`.
///
/// One row at a time, front to back: measured in Chromium 156, interleaving
/// 2 or 4 rows per pass (sharing the query loads) ran 2× *slower* (17–20 ms
/// vs 8–9 ms per 100k × 384), so the scan reads one sequential stream.
pub(super) fn scores_f32(matrix: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
    debug_assert!(dim >= 1 && query.len() == dim && matrix.len() == out.len() * dim);
    for (o, row) in out.iter_mut().zip(matrix.chunks_exact(dim)) {
        // SAFETY: `row` and `query` both hold `dim` values.
        *o = unsafe { dot_f32(row.as_ptr(), query.as_ptr(), dim) };
    }
}

/// Values per block of the int8 scan: the i32 lanes hold 256× the partial
/// dot products, and a block of 2048 values (64 steps) keeps every lane
/// below `64 · 2 dots · 2 products · 256 · 128² ≈ 1.07e9 < 2³¹`.
const I8_BLOCK: usize = 2048;

/// The query prepared for [`dot_i8`]: widened to i16, and, for the 32-value
/// steps, its even- and odd-indexed values of every 16-value chunk
/// de-interleaved (`even[o/2 + i] = q[o + 2i]`, `odd[o/2 + i] = q[o + 2i + 1]`).
struct PreparedQuery {
    q16: Vec<i16>,
    even: Vec<i16>,
    odd: Vec<i16>,
}

impl PreparedQuery {
    fn new(query: &[i8]) -> Self {
        let q16: Vec<i16> = query.iter().map(|&x| i16::from(x)).collect();
        let main = query.len() - query.len() % 32;
        let even = q16[..main].iter().step_by(2).copied().collect();
        let odd = q16[..main].iter().skip(1).step_by(2).copied().collect();
        Self { q16, even, odd }
    }
}

/// Partial dot products of `len` values of an int8 row (`len` a multiple
/// of 32, at most [`I8_BLOCK`]) with the de-interleaved query halves, as an
/// i32x4 whose lanes sum to the exact dot product.
///
/// The 32-value steps never sign-extend: the i16 lanes of a 16-byte load
/// hold `(odd byte, even byte)`, so `v & 0xff00` is `256 · odd` and
/// `v << 8` is `256 · even`; each goes through `i32x4.dot_i16x8_s` with the
/// matching query half (6 instructions per 16 values instead of 7–8 with
/// `extend_low/high`; the fastest of the variants in
/// `bench/rank-wasm/src/exp.rs`). The lanes are shifted back at the end,
/// exactly: every term is a multiple of 256.
///
/// # Safety
/// `row` valid for `len` reads; `qe`/`qo` valid for `len / 2` reads.
#[inline(always)]
unsafe fn dot_i8_block(row: *const i8, qe: *const i16, qo: *const i16, len: usize) -> v128 {
    let mask = i16x8_splat(-256);
    let (mut a, mut b) = (i32x4_splat(0), i32x4_splat(0));
    let mut j = 0;
    while j < len {
        let v = v128_load(row.add(j) as *const v128);
        let w = v128_load(row.add(j + 16) as *const v128);
        let h = j / 2;
        a = i32x4_add(a, i32x4_dot_i16x8(v128_and(v, mask), ld16(qo.add(h))));
        b = i32x4_add(b, i32x4_dot_i16x8(i16x8_shl(v, 8), ld16(qe.add(h))));
        a = i32x4_add(a, i32x4_dot_i16x8(v128_and(w, mask), ld16(qo.add(h + 8))));
        b = i32x4_add(b, i32x4_dot_i16x8(i16x8_shl(w, 8), ld16(qe.add(h + 8))));
        j += 32;
    }
    i32x4_add(i32x4_shr(a, 8), i32x4_shr(b, 8))
}

/// Exact i32 dot product of one int8 row of any length with the prepared
/// query: [`dot_i8_block`] per block of [`I8_BLOCK`] values, then 8-value
/// steps (`v128.load8x8_s`), then a scalar tail.
///
/// # Safety
/// `row` must be valid for `dim` reads; `q` must come from a query of length `dim`.
#[inline(always)]
unsafe fn dot_i8(row: *const i8, q: &PreparedQuery, dim: usize) -> i32 {
    let main = dim - dim % 32;
    let (qe, qo, q16) = (q.even.as_ptr(), q.odd.as_ptr(), q.q16.as_ptr());
    let mut total = i32x4_splat(0);
    let mut j = 0;
    while j < main {
        let len = I8_BLOCK.min(main - j);
        total = i32x4_add(
            total,
            dot_i8_block(row.add(j), qe.add(j / 2), qo.add(j / 2), len),
        );
        j += len;
    }
    while j + 8 <= dim {
        total = i32x4_add(
            total,
            i32x4_dot_i16x8(i16x8_load_extend_i8x8(row.add(j)), ld16(q16.add(j))),
        );
        j += 8;
    }
    let mut s = (i32x4_extract_lane::<0>(total) + i32x4_extract_lane::<1>(total))
        + (i32x4_extract_lane::<2>(total) + i32x4_extract_lane::<3>(total));
    while j < dim {
        s += i32::from(*row.add(j)) * i32::from(*q16.add(j));
        j += 1;
    }
    s
}

/// Precondition: `values.len() == out.len() * dim == scales.len() * dim`,
/// `query.len() == dim`, `1 ≤ dim ≤ MAX_I8_DIM`. Rows are read one after
/// the other (see [`scores_f32`] for why); when `dim` is a multiple of 32 up
/// to [`I8_BLOCK`] (384 is), four consecutive rows share one transposed
/// horizontal sum and one scaling (measured 5–7 % faster than per row).
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
    let q = PreparedQuery::new(query);
    let mut r = 0;
    if dim.is_multiple_of(32) && dim <= I8_BLOCK {
        let (qe, qo, qs) = (q.even.as_ptr(), q.odd.as_ptr(), f32x4_splat(qscale));
        while r + 4 <= out.len() {
            // SAFETY: rows r..r+4 lie inside `values` ((r + 4) * dim <= len),
            // `q.even`/`q.odd` hold dim / 2 values, scales[r..r+4] and
            // out[r..r+4] are in bounds; v128 loads/stores need no alignment.
            unsafe {
                let base = values.as_ptr().add(r * dim);
                let v0 = dot_i8_block(base, qe, qo, dim);
                let v1 = dot_i8_block(base.add(dim), qe, qo, dim);
                let v2 = dot_i8_block(base.add(2 * dim), qe, qo, dim);
                let v3 = dot_i8_block(base.add(3 * dim), qe, qo, dim);
                let dots = f32x4_convert_i32x4(hsum4_i32(v0, v1, v2, v3));
                let v = f32x4_mul(f32x4_mul(dots, ld(scales.as_ptr().add(r))), qs);
                v128_store(out.as_mut_ptr().add(r) as *mut v128, v);
            }
            r += 4;
        }
    }
    for ((o, row), s) in out[r..]
        .iter_mut()
        .zip(values[r * dim..].chunks_exact(dim))
        .zip(&scales[r..])
    {
        // SAFETY: `row` holds `dim` values and `q` was prepared from `query` (`dim` values).
        let dot = unsafe { dot_i8(row.as_ptr(), &q, dim) };
        *o = dot as f32 * s * qscale;
    }
}

/// Sum of `data` with eight f32x4 accumulators (32 floats per iteration).
pub(super) fn stream_read_f32(data: &[f32]) -> f32 {
    let z = f32x4_splat(0.0);
    let mut acc = [z; 8];
    let chunks = data.chunks_exact(32);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        let p = c.as_ptr();
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: `c` has 32 floats; lanes 4k..4k+4 are inside it.
            *a = f32x4_add(*a, unsafe { ld(p.add(4 * k)) });
        }
    }
    let s = hsum4_f32(
        f32x4_add(acc[0], acc[4]),
        f32x4_add(acc[1], acc[5]),
        f32x4_add(acc[2], acc[6]),
        f32x4_add(acc[3], acc[7]),
    );
    f32x4_extract_lane::<0>(s)
        + f32x4_extract_lane::<1>(s)
        + f32x4_extract_lane::<2>(s)
        + f32x4_extract_lane::<3>(s)
        + tail
}
