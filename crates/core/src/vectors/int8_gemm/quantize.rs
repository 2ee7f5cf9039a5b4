//! Quantising constant f32 weights into [`super::Int8Weights`]' layout:
//! one column of `k_pad` values per output, each `round(w · 127 / max |w|)`
//! of its column.
//!
//! A load quantises every constant product of the model (MiniLM-L6: 36
//! matrices, 7.1 M weights), so this is on the cold start's path. The
//! row-major case (`[k, n]` weights, as ONNX `MatMul` stores them) is a
//! transpose as well; in WebAssembly it runs 8 rows × 4 columns at a time
//! in SIMD (measured in Chromium: 123 ms of MiniLM's load before, see
//! docs/benchmarks.md), with the same bits as the portable loops.

/// The largest `|w|` of each of the `n` columns of `w` (row-major `k × n`,
/// or `n × k` when `transposed`), or `None` when a weight is not finite.
pub(super) fn column_amax(w: &[f32], k: usize, n: usize, transposed: bool) -> Option<Vec<f32>> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if !transposed {
        return simd::column_amax(w, n);
    }
    portable_column_amax(w, k, n, transposed)
}

/// [`column_amax`] without SIMD.
pub(super) fn portable_column_amax(w: &[f32], k: usize, n: usize, transposed: bool) -> Option<Vec<f32>> {
    if w.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut amax = vec![0f32; n];
    if transposed {
        for (a, column) in amax.iter_mut().zip(w.chunks_exact(k)) {
            *a = column.iter().fold(0f32, |m, v| m.max(v.abs()));
        }
    } else {
        for row in w.chunks_exact(n) {
            for (a, v) in amax.iter_mut().zip(row) {
                *a = a.max(v.abs());
            }
        }
    }
    Some(amax)
}

/// One weight quantised with its column's `inv = 127 / max |w|`.
#[inline(always)]
fn quantize_one(v: f32, inv: f32) -> i16 {
    (v * inv).round_ties_even().clamp(-127.0, 127.0) as i16
}

/// Writes the quantised columns of `w` (as [`column_amax`] reads it) into
/// `values` (`n` columns of `k_pad` values, zeros past `k` left as they
/// are), each column scaled by its `inv`.
pub(super) fn quantize_columns(w: &[f32], k: usize, k_pad: usize, inv: &[f32], transposed: bool, values: &mut [i16]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if !transposed {
        return simd::quantize_rows(w, k, k_pad, inv, values);
    }
    portable_quantize_columns(w, k, k_pad, inv, transposed, values)
}

/// [`quantize_columns`] without SIMD.
pub(super) fn portable_quantize_columns(
    w: &[f32],
    k: usize,
    k_pad: usize,
    inv: &[f32],
    transposed: bool,
    values: &mut [i16],
) {
    let n = inv.len();
    if transposed {
        for ((out, column), &inv) in values.chunks_exact_mut(k_pad).zip(w.chunks_exact(k)).zip(inv) {
            for (o, &v) in out.iter_mut().zip(column) {
                *o = quantize_one(v, inv);
            }
        }
        return;
    }
    // 8 rows at a time: each column gets 8 contiguous values per pass (one
    // value at a time down a column measured 113 ms of MiniLM's 780 ms load
    // in Chromium)
    for (block, rows) in w.chunks(8 * n).enumerate() {
        let i0 = block * 8;
        let height = rows.len() / n;
        for (c, (column, &inv)) in values.chunks_exact_mut(k_pad).zip(inv).enumerate() {
            let Some(out) = column.get_mut(i0..i0 + height) else { continue };
            for (o, row) in out.iter_mut().zip(rows.chunks_exact(n)) {
                *o = row.get(c).map_or(0, |&v| quantize_one(v, inv));
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::quantize_one;
    use crate::vectors::int8_gemm::channels::simd::{load_f32, store_f32, transpose4};
    use core::arch::wasm32::*;

    /// [`super::column_amax`] of row-major `w`, 4 columns at a time.
    /// `f32x4.max` propagates NaN, so a non-finite weight leaves a
    /// non-finite maximum, which is how it is detected.
    pub(super) fn column_amax(w: &[f32], n: usize) -> Option<Vec<f32>> {
        let mut amax = vec![0f32; n];
        let wide = n - n % 4;
        // the columns past `wide` go value by value (`f32::max` skips NaN)
        let mut tail_finite = true;
        for row in w.chunks_exact(n) {
            let mut c = 0;
            // c + 4 <= wide <= n: every load is whole
            while c < wide {
                let m = f32x4_max(load_f32(&amax, c), f32x4_abs(load_f32(row, c)));
                store_f32(&mut amax, c, m);
                c += 4;
            }
            for (a, v) in amax[wide..].iter_mut().zip(&row[wide..]) {
                tail_finite &= v.is_finite();
                *a = a.max(v.abs());
            }
        }
        (tail_finite && amax.iter().all(|a| a.is_finite())).then_some(amax)
    }

    /// 4 values of one row quantised: `round(v · inv)` within ±127, as
    /// `i32` lanes (exact: the rounded value is an integer within range).
    #[inline(always)]
    fn quantize4(v: v128, inv: v128) -> v128 {
        let q = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(v, inv)));
        i32x4_max(i32x4_min(q, i32x4_splat(127)), i32x4_splat(-127))
    }

    /// [`super::quantize_columns`] of row-major `w`: blocks of 8 rows × 4
    /// columns are quantised, transposed (two 4 × 4 transposes of 32-bit
    /// lanes) and narrowed into 4 stores of 8 `i16`, one per column. Rows
    /// past the last full block of 8 and columns past the last full group
    /// of 4 go value by value.
    pub(super) fn quantize_rows(w: &[f32], k: usize, k_pad: usize, inv: &[f32], values: &mut [i16]) {
        let n = inv.len();
        let (full_rows, wide) = (k - k % 8, n - n % 4);
        let mut i0 = 0;
        while i0 < full_rows {
            let mut c = 0;
            // c + 4 <= wide <= n and i0 + 8 <= k: every load is whole
            while c < wide {
                let inv4 = load_f32(inv, c);
                let mut q = [i32x4_splat(0); 8];
                for (r, q) in q.iter_mut().enumerate() {
                    *q = quantize4(load_f32(w, (i0 + r) * n + c), inv4);
                }
                let low = transpose4([q[0], q[1], q[2], q[3]]);
                let high = transpose4([q[4], q[5], q[6], q[7]]);
                for j in 0..4 {
                    let start = (c + j) * k_pad + i0;
                    if let Some(out) = values.get_mut(start..start + 8) {
                        // SAFETY: the slice holds 8 values; v128.store takes any alignment.
                        unsafe { v128_store(out.as_mut_ptr().cast::<v128>(), i16x8_narrow_i32x4(low[j], high[j])) };
                    }
                }
                c += 4;
            }
            i0 += 8;
        }
        // the rest, value by value: columns past `wide` of the full blocks,
        // then every column of the last rows
        for (c, (column, &inv)) in values.chunks_exact_mut(k_pad).zip(inv).enumerate() {
            let rows = if c < wide { full_rows..k } else { 0..k };
            for i in rows {
                if let (Some(o), Some(&v)) = (column.get_mut(i), w.get(i * n + c)) {
                    *o = quantize_one(v, inv);
                }
            }
        }
    }
}
