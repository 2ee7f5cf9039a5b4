//! Kernel variants measured while choosing the library's wasm kernels
//! (`scripts/bench.sh rank --variants`). Shapes are trusted (bench data).
#![allow(clippy::missing_safety_doc)]

use core::arch::wasm32::*;

#[inline(always)]
unsafe fn ld<T>(p: *const T) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
fn hsum_f32(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v)
        + f32x4_extract_lane::<1>(v)
        + f32x4_extract_lane::<2>(v)
        + f32x4_extract_lane::<3>(v)
}

#[inline(always)]
fn hsum_i32(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v)
        + i32x4_extract_lane::<1>(v)
        + i32x4_extract_lane::<2>(v)
        + i32x4_extract_lane::<3>(v)
}

/// f32, one row at a time, `N` accumulators of 4 lanes (dim multiple of 4N).
pub fn f32_rows1<const N: usize>(m: &[f32], dim: usize, q: &[f32], out: &mut [f32]) {
    for (r, o) in out.iter_mut().enumerate() {
        let row = m[r * dim..(r + 1) * dim].as_ptr();
        let qp = q.as_ptr();
        let mut acc = [f32x4_splat(0.0); N];
        let mut j = 0;
        while j + 4 * N <= dim {
            for (k, a) in acc.iter_mut().enumerate() {
                unsafe {
                    *a = f32x4_add(*a, f32x4_mul(ld(row.add(j + 4 * k)), ld(qp.add(j + 4 * k))))
                };
            }
            j += 4 * N;
        }
        let mut s = acc[0];
        for a in &acc[1..] {
            s = f32x4_add(s, *a);
        }
        *o = hsum_f32(s);
    }
}

/// f32, two rows at a time, two accumulators each.
pub fn f32_rows2(m: &[f32], dim: usize, q: &[f32], out: &mut [f32]) {
    let qp = q.as_ptr();
    for (r, o) in out.chunks_exact_mut(2).enumerate() {
        let r0 = m[2 * r * dim..].as_ptr();
        let r1 = unsafe { r0.add(dim) };
        let z = f32x4_splat(0.0);
        let (mut a0, mut a1, mut b0, mut b1) = (z, z, z, z);
        let mut j = 0;
        while j + 8 <= dim {
            unsafe {
                let qa = ld(qp.add(j));
                let qb = ld(qp.add(j + 4));
                a0 = f32x4_add(a0, f32x4_mul(ld(r0.add(j)), qa));
                a1 = f32x4_add(a1, f32x4_mul(ld(r1.add(j)), qa));
                b0 = f32x4_add(b0, f32x4_mul(ld(r0.add(j + 4)), qb));
                b1 = f32x4_add(b1, f32x4_mul(ld(r1.add(j + 4)), qb));
            }
            j += 8;
        }
        o[0] = hsum_f32(f32x4_add(a0, b0));
        o[1] = hsum_f32(f32x4_add(a1, b1));
    }
}

/// int8, one row at a time, 16 values per step: one 16-byte load,
/// extend low/high to i16, two dots against the i16 query.
pub fn i8_rows1_ext(m: &[i8], dim: usize, q16: &[i16], scales: &[f32], qs: f32, out: &mut [f32]) {
    let qp = q16.as_ptr();
    for (r, o) in out.iter_mut().enumerate() {
        let row = m[r * dim..].as_ptr();
        let z = i32x4_splat(0);
        let (mut a, mut b) = (z, z);
        let mut j = 0;
        while j + 16 <= dim {
            unsafe {
                let v = ld(row.add(j));
                a = i32x4_add(a, i32x4_dot_i16x8(i16x8_extend_low_i8x16(v), ld(qp.add(j))));
                b = i32x4_add(
                    b,
                    i32x4_dot_i16x8(i16x8_extend_high_i8x16(v), ld(qp.add(j + 8))),
                );
            }
            j += 16;
        }
        *o = hsum_i32(i32x4_add(a, b)) as f32 * scales[r] * qs;
    }
}

/// int8, one row at a time, `load8x8_s` + dot, `N` accumulators.
pub fn i8_rows1_load<const N: usize>(
    m: &[i8],
    dim: usize,
    q16: &[i16],
    scales: &[f32],
    qs: f32,
    out: &mut [f32],
) {
    let qp = q16.as_ptr();
    for (r, o) in out.iter_mut().enumerate() {
        let row = m[r * dim..].as_ptr();
        let mut acc = [i32x4_splat(0); N];
        let mut j = 0;
        while j + 8 * N <= dim {
            for (k, a) in acc.iter_mut().enumerate() {
                unsafe {
                    *a = i32x4_add(
                        *a,
                        i32x4_dot_i16x8(
                            i16x8_load_extend_i8x8(row.add(j + 8 * k)),
                            ld(qp.add(j + 8 * k)),
                        ),
                    )
                };
            }
            j += 8 * N;
        }
        let mut s = acc[0];
        for a in &acc[1..] {
            s = i32x4_add(s, *a);
        }
        *o = hsum_i32(s) as f32 * scales[r] * qs;
    }
}

/// int8, one row at a time, i8×i8→i16 extmul (|product| ≤ 127², two fit
/// i16), i16 add of low+high, pairwise extend-add to i32.
pub fn i8_rows1_extmul(m: &[i8], dim: usize, q8: &[i8], scales: &[f32], qs: f32, out: &mut [f32]) {
    let qp = q8.as_ptr();
    for (r, o) in out.iter_mut().enumerate() {
        let row = m[r * dim..].as_ptr();
        let z = i32x4_splat(0);
        let (mut a, mut b) = (z, z);
        let mut j = 0;
        while j + 32 <= dim {
            unsafe {
                let (v, w) = (ld(row.add(j)), ld(qp.add(j)));
                let p = i16x8_add(i16x8_extmul_low_i8x16(v, w), i16x8_extmul_high_i8x16(v, w));
                a = i32x4_add(a, i32x4_extadd_pairwise_i16x8(p));
                let (v, w) = (ld(row.add(j + 16)), ld(qp.add(j + 16)));
                let p = i16x8_add(i16x8_extmul_low_i8x16(v, w), i16x8_extmul_high_i8x16(v, w));
                b = i32x4_add(b, i32x4_extadd_pairwise_i16x8(p));
            }
            j += 32;
        }
        *o = hsum_i32(i32x4_add(a, b)) as f32 * scales[r] * qs;
    }
}

/// int8, two rows at a time, `load8x8_s` + dot, two accumulators per row.
pub fn i8_rows2_load(m: &[i8], dim: usize, q16: &[i16], scales: &[f32], qs: f32, out: &mut [f32]) {
    let qp = q16.as_ptr();
    for (r, o) in out.chunks_exact_mut(2).enumerate() {
        let r0 = m[2 * r * dim..].as_ptr();
        let r1 = unsafe { r0.add(dim) };
        let z = i32x4_splat(0);
        let (mut a0, mut a1, mut b0, mut b1) = (z, z, z, z);
        let mut j = 0;
        while j + 16 <= dim {
            unsafe {
                let qa = ld(qp.add(j));
                let qb = ld(qp.add(j + 8));
                a0 = i32x4_add(a0, i32x4_dot_i16x8(i16x8_load_extend_i8x8(r0.add(j)), qa));
                a1 = i32x4_add(a1, i32x4_dot_i16x8(i16x8_load_extend_i8x8(r1.add(j)), qa));
                b0 = i32x4_add(
                    b0,
                    i32x4_dot_i16x8(i16x8_load_extend_i8x8(r0.add(j + 8)), qb),
                );
                b1 = i32x4_add(
                    b1,
                    i32x4_dot_i16x8(i16x8_load_extend_i8x8(r1.add(j + 8)), qb),
                );
            }
            j += 16;
        }
        o[0] = hsum_i32(i32x4_add(a0, b0)) as f32 * scales[2 * r] * qs;
        o[1] = hsum_i32(i32x4_add(a1, b1)) as f32 * scales[2 * r + 1] * qs;
    }
}

/// int8, one row at a time, ext low/high, `U` 16-byte loads per step, one
/// accumulator pair per load.
pub fn i8_rows1_ext_unroll<const U: usize>(
    m: &[i8],
    dim: usize,
    q16: &[i16],
    scales: &[f32],
    qs: f32,
    out: &mut [f32],
) {
    let qp = q16.as_ptr();
    for (r, o) in out.iter_mut().enumerate() {
        let row = m[r * dim..].as_ptr();
        let mut acc = [i32x4_splat(0); U];
        let mut j = 0;
        while j + 16 * U <= dim {
            for (k, a) in acc.iter_mut().enumerate() {
                unsafe {
                    let o = j + 16 * k;
                    let v = ld(row.add(o));
                    let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(v), ld(qp.add(o)));
                    let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(v), ld(qp.add(o + 8)));
                    *a = i32x4_add(*a, i32x4_add(lo, hi));
                }
            }
            j += 16 * U;
        }
        let mut s = acc[0];
        for a in &acc[1..] {
            s = i32x4_add(s, *a);
        }
        *o = hsum_i32(s) as f32 * scales[r] * qs;
    }
}

/// int8, one row at a time, no sign-extension: the i16 lanes of a 16-byte
/// load hold (odd byte, even byte); `and 0xff00` keeps 256·odd, `shl 8` gives
/// 256·even, each dotted with the de-interleaved query (odd / even values);
/// the sum is 256× the dot product (exact shift at the end). Needs dim·256·127²
/// to fit i32 per lane group: only for dim ≤ 1024 here (bench: 384).
pub fn i8_rows1_shift(
    m: &[i8],
    dim: usize,
    q_even: &[i16],
    q_odd: &[i16],
    scales: &[f32],
    qs: f32,
    out: &mut [f32],
) {
    let (qe, qo) = (q_even.as_ptr(), q_odd.as_ptr());
    let mask = i16x8_splat(-256);
    for (r, o) in out.iter_mut().enumerate() {
        let row = m[r * dim..].as_ptr();
        let z = i32x4_splat(0);
        let (mut a, mut b) = (z, z);
        let mut j = 0;
        while j + 32 <= dim {
            unsafe {
                let v = ld(row.add(j));
                let w = ld(row.add(j + 16));
                let h = j / 2;
                a = i32x4_add(a, i32x4_dot_i16x8(v128_and(v, mask), ld(qo.add(h))));
                b = i32x4_add(b, i32x4_dot_i16x8(i16x8_shl(v, 8), ld(qe.add(h))));
                a = i32x4_add(a, i32x4_dot_i16x8(v128_and(w, mask), ld(qo.add(h + 8))));
                b = i32x4_add(b, i32x4_dot_i16x8(i16x8_shl(w, 8), ld(qe.add(h + 8))));
            }
            j += 32;
        }
        *o = (hsum_i32(i32x4_add(a, b)) >> 8) as f32 * scales[r] * qs;
    }
}

/// int8, one row at a time, ext low/high, `U` 16-byte loads per step, a
/// separate accumulator for every low and high half (2·U chains).
pub fn i8_rows1_ext_sep<const U: usize>(
    m: &[i8],
    dim: usize,
    q16: &[i16],
    scales: &[f32],
    qs: f32,
    out: &mut [f32],
) {
    let qp = q16.as_ptr();
    for (r, o) in out.iter_mut().enumerate() {
        let row = m[r * dim..].as_ptr();
        let mut lo = [i32x4_splat(0); U];
        let mut hi = [i32x4_splat(0); U];
        let mut j = 0;
        while j + 16 * U <= dim {
            for k in 0..U {
                unsafe {
                    let o = j + 16 * k;
                    let v = ld(row.add(o));
                    lo[k] = i32x4_add(
                        lo[k],
                        i32x4_dot_i16x8(i16x8_extend_low_i8x16(v), ld(qp.add(o))),
                    );
                    hi[k] = i32x4_add(
                        hi[k],
                        i32x4_dot_i16x8(i16x8_extend_high_i8x16(v), ld(qp.add(o + 8))),
                    );
                }
            }
            j += 16 * U;
        }
        let mut s = i32x4_add(lo[0], hi[0]);
        for k in 1..U {
            s = i32x4_add(s, i32x4_add(lo[k], hi[k]));
        }
        *o = hsum_i32(s) as f32 * scales[r] * qs;
    }
}

/// Transposed horizontal sums: lane i = sum of the lanes of the i-th vector.
#[inline(always)]
fn hsum4(a: v128, b: v128, c: v128, d: v128, int: bool) -> v128 {
    let add = |x, y| {
        if int {
            i32x4_add(x, y)
        } else {
            f32x4_add(x, y)
        }
    };
    let ab = add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    )
}

#[inline(always)]
unsafe fn row_f32x4(row: *const f32, qp: *const f32, dim: usize) -> v128 {
    let mut acc = [f32x4_splat(0.0); 8];
    let mut j = 0;
    while j + 32 <= dim {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = f32x4_add(*a, f32x4_mul(ld(row.add(j + 4 * k)), ld(qp.add(j + 4 * k))));
        }
        j += 32;
    }
    let s0 = f32x4_add(f32x4_add(acc[0], acc[4]), f32x4_add(acc[1], acc[5]));
    let s1 = f32x4_add(f32x4_add(acc[2], acc[6]), f32x4_add(acc[3], acc[7]));
    f32x4_add(s0, s1)
}

/// f32, rows read one after the other (8 accumulators), the horizontal
/// reduction deferred and done for 4 rows at once (dim multiple of 32).
pub fn f32_rows1_defer(m: &[f32], dim: usize, q: &[f32], out: &mut [f32]) {
    let qp = q.as_ptr();
    for (r, o) in out.chunks_exact_mut(4).enumerate() {
        let base = m[4 * r * dim..].as_ptr();
        unsafe {
            let v0 = row_f32x4(base, qp, dim);
            let v1 = row_f32x4(base.add(dim), qp, dim);
            let v2 = row_f32x4(base.add(2 * dim), qp, dim);
            let v3 = row_f32x4(base.add(3 * dim), qp, dim);
            v128_store(o.as_mut_ptr() as *mut v128, hsum4(v0, v1, v2, v3, false));
        }
    }
}

#[inline(always)]
unsafe fn row_i8_shift(row: *const i8, qe: *const i16, qo: *const i16, dim: usize) -> v128 {
    let mask = i16x8_splat(-256);
    let (mut a, mut b) = (i32x4_splat(0), i32x4_splat(0));
    let mut j = 0;
    while j + 32 <= dim {
        let v = ld(row.add(j));
        let w = ld(row.add(j + 16));
        let h = j / 2;
        a = i32x4_add(a, i32x4_dot_i16x8(v128_and(v, mask), ld(qo.add(h))));
        b = i32x4_add(b, i32x4_dot_i16x8(i16x8_shl(v, 8), ld(qe.add(h))));
        a = i32x4_add(a, i32x4_dot_i16x8(v128_and(w, mask), ld(qo.add(h + 8))));
        b = i32x4_add(b, i32x4_dot_i16x8(i16x8_shl(w, 8), ld(qe.add(h + 8))));
        j += 32;
    }
    i32x4_add(i32x4_shr(a, 8), i32x4_shr(b, 8))
}

/// int8 shift trick, rows one after the other, reduction and scaling of 4
/// rows at once (dim multiple of 32, ≤ 2048).
pub fn i8_rows1_shift_defer(
    m: &[i8],
    dim: usize,
    q_even: &[i16],
    q_odd: &[i16],
    scales: &[f32],
    qs: f32,
    out: &mut [f32],
) {
    let (qe, qo) = (q_even.as_ptr(), q_odd.as_ptr());
    let qsv = f32x4_splat(qs);
    for (r, o) in out.chunks_exact_mut(4).enumerate() {
        let base = m[4 * r * dim..].as_ptr();
        unsafe {
            let v0 = row_i8_shift(base, qe, qo, dim);
            let v1 = row_i8_shift(base.add(dim), qe, qo, dim);
            let v2 = row_i8_shift(base.add(2 * dim), qe, qo, dim);
            let v3 = row_i8_shift(base.add(3 * dim), qe, qo, dim);
            let dots = f32x4_convert_i32x4(hsum4(v0, v1, v2, v3, true));
            let s = ld(scales.as_ptr().add(4 * r));
            v128_store(
                o.as_mut_ptr() as *mut v128,
                f32x4_mul(f32x4_mul(dots, s), qsv),
            );
        }
    }
}
