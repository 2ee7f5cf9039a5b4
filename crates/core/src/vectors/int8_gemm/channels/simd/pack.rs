//! Quantising and packing an activation for the `simd128` tiles of
//! [`super`], from either [`PixelLayout`](super::super::PixelLayout).

use super::super::pixel_scales;
use super::{load_f32, store_f32, transpose4};
use core::arch::wasm32::*;

/// Quantises and packs `x` as `pack_portable` does, 4 pixels at a time
/// (`f32x4.nearest` rounds ties to even, as `round_ties_even`).
#[inline(never)]
pub(super) fn pack(x: &[f32], k: usize, pixels: usize, pixels_pad: usize, len: usize, limit: f32) -> (Vec<i16>, Vec<f32>) {
    let mut amax = vec![0f32; pixels_pad];
    for channel in x.chunks_exact(pixels.max(1)) {
        let mut p = 0;
        while p < pixels {
            // f32x4.max gives NaN when either side is NaN
            let m = f32x4_max(load_f32(&amax, p), f32x4_abs(load_f32(channel, p)));
            // amax is pixels_pad long (a multiple of 8), so p + 4 fits
            store_f32(&mut amax, p, m);
            p += 4;
        }
    }
    for a in amax.iter_mut().take(pixels) {
        if a.is_nan() {
            *a = f32::INFINITY;
        }
    }
    let (scales, inv) = pixel_scales(&amax, pixels, limit);
    let mut values = vec![0i16; len];
    let empty: &[f32] = &[];
    for j in 0..k.div_ceil(2) {
        let c0 = x.get(2 * j * pixels..(2 * j + 1) * pixels).unwrap_or(empty);
        let c1 = x.get((2 * j + 1) * pixels..(2 * j + 2) * pixels).unwrap_or(empty);
        let Some(row) = values.get_mut(j * pixels_pad * 2..(j + 1) * pixels_pad * 2) else { break };
        let mut p = 0;
        while p < pixels {
            let i = load_f32(&inv, p);
            let a = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(load_f32(c0, p), i)));
            let b = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(load_f32(c1, p), i)));
            // a0 b0 a1 b1 a2 b2 a3 b3
            let v = i16x8_shuffle::<0, 4, 1, 5, 2, 6, 3, 7>(i16x8_narrow_i32x4(a, b), i16x8_narrow_i32x4(a, b));
            if let Some(out) = row.get_mut(p * 2..p * 2 + 8) {
                // SAFETY: `out` holds 8 values; v128.store takes any alignment.
                unsafe { v128_store(out.as_mut_ptr().cast::<v128>(), v) };
            }
            p += 4;
        }
    }
    (values, scales)
}

/// [`pack`] for an activation in [`ChannelsLast`](super::super::PixelLayout::ChannelsLast) (each
/// pixel's `k` channels contiguous): each pixel's maximum over its row,
/// then 8 channels at a time quantised and their 4 pairs stored at their
/// places in the packed layout.
#[inline(never)]
pub(super) fn pack_rows(x: &[f32], k: usize, pixels: usize, pixels_pad: usize, len: usize, limit: f32) -> (Vec<i16>, Vec<f32>) {
    let mut amax = vec![0f32; pixels_pad];
    // whole vectors of 8 channels everywhere (MobileNet's channel counts)
    let fast = k.is_multiple_of(8) && x.len() >= k * pixels && len >= k * pixels_pad;
    let whole = if fast { pixels / 4 * 4 } else { 0 };
    for p in (0..whole).step_by(4) {
        // SAFETY: rows p .. p + 4 ≤ pixels lie in x (x.len() ≥ k · pixels)
        let m = unsafe { amax_rows_4(x.as_ptr().add(p * k), k) };
        store_f32(&mut amax, p, m);
    }
    for (a, row) in amax.iter_mut().zip(x.chunks_exact(k.max(1))).skip(whole) {
        let mut m = f32x4_splat(0.0);
        let mut c = 0;
        while c < k {
            // f32x4.max gives NaN when either side is NaN; zeros past the end
            m = f32x4_max(m, f32x4_abs(load_f32(row, c)));
            c += 4;
        }
        let m = f32x4_max(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
        let m = f32x4_max(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
        let m = f32x4_extract_lane::<0>(m);
        *a = m;
    }
    for a in amax.iter_mut().take(pixels) {
        if a.is_nan() {
            *a = f32::INFINITY;
        }
    }
    let (scales, inv) = pixel_scales(&amax, pixels, limit);
    let mut values = vec![0i16; len];
    let pairs = k.div_ceil(2);
    let empty: &[f32] = &[];
    let mut p = 0;
    while p < pixels {
        if fast && p + 4 <= pixels {
            // SAFETY: rows p .. p + 4 lie in x (x.len() ≥ k · pixels),
            // c + 8 ≤ k, and the stores end at ((k / 2 - 1) · pixels_pad
            // + p) · 2 + 8 ≤ k · pixels_pad ≤ values.len().
            unsafe { pack_rows_4(x.as_ptr().add(p * k), k, load_f32(&inv, p), values.as_mut_ptr().add(p * 2), pixels_pad) };
            p += 4;
            continue;
        }
        // 4 pixels (rows past the end are zeros), 8 channels at a time:
        // each pixel's 4 channel pairs in 32-bit lanes, transposed so
        // that each vector holds one pair of the 4 pixels, as packed
        let row = |l: usize| x.get((p + l) * k..(p + l + 1) * k).unwrap_or(empty);
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let inv4 = load_f32(&inv, p);
        let (i0, i1) = (f32x4_splat(f32x4_extract_lane::<0>(inv4)), f32x4_splat(f32x4_extract_lane::<1>(inv4)));
        let (i2, i3) = (f32x4_splat(f32x4_extract_lane::<2>(inv4)), f32x4_splat(f32x4_extract_lane::<3>(inv4)));
        let q = |r: &[f32], c: usize, i: v128| {
            let a = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(load_f32(r, c), i)));
            let b = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(load_f32(r, c + 4), i)));
            i16x8_narrow_i32x4(a, b)
        };
        let mut j = 0;
        while j < pairs {
            let c = 2 * j;
            let by_pair = transpose4([q(r0, c, i0), q(r1, c, i1), q(r2, c, i2), q(r3, c, i3)]);
            for (t, v) in by_pair.into_iter().enumerate().take(pairs - j) {
                let at = ((j + t) * pixels_pad + p) * 2;
                if let Some(out) = values.get_mut(at..at + 8) {
                    // SAFETY: `out` holds 8 values; v128.store takes any alignment.
                    unsafe { v128_store(out.as_mut_ptr().cast::<v128>(), v) };
                }
            }
            j += 4;
        }
        p += 4;
    }
    (values, scales)
}

/// The largest magnitude of each of 4 rows of `k` values (a multiple of
/// 8) from `x`, one row per lane (NaN when a row holds NaN).
///
/// # Safety
/// `x .. x + 4k` is readable.
#[inline(never)]
unsafe fn amax_rows_4(x: *const f32, k: usize) -> v128 {
    let zero = f32x4_splat(0.0);
    let (mut m0, mut m1, mut m2, mut m3) = (zero, zero, zero, zero);
    let mut c = 0;
    while c < k {
        // SAFETY: see the contract; v128 loads take any alignment.
        unsafe {
            m0 = f32x4_max(m0, f32x4_abs(v128_load(x.add(c).cast::<v128>())));
            m1 = f32x4_max(m1, f32x4_abs(v128_load(x.add(k + c).cast::<v128>())));
            m2 = f32x4_max(m2, f32x4_abs(v128_load(x.add(2 * k + c).cast::<v128>())));
            m3 = f32x4_max(m3, f32x4_abs(v128_load(x.add(3 * k + c).cast::<v128>())));
        }
        c += 4;
    }
    // lane l of t[c] is lane c of row l: the max over t is each row's max
    let [t0, t1, t2, t3] = transpose4([m0, m1, m2, m3]);
    f32x4_max(f32x4_max(t0, t1), f32x4_max(t2, t3))
}

/// 8 values at `r` times `i`, rounded to even, as 8 `i16`.
///
/// # Safety
/// `r .. r + 8` is readable.
#[inline(always)]
unsafe fn quantize_8(r: *const f32, i: v128) -> v128 {
    unsafe {
        let a = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(v128_load(r.cast::<v128>()), i)));
        let b = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(v128_load(r.add(4).cast::<v128>()), i)));
        i16x8_narrow_i32x4(a, b)
    }
}

/// Quantises and packs 4 whole pixel rows of `k` channels (a multiple
/// of 8) from `x` with the 4 factors `inv`, into `out` (the packed
/// values from this pixel on).
///
/// # Safety
/// `x .. x + 4k` is readable; `out + (j · pixels_pad) · 2 .. + 8` is
/// writable for every pair `j < k / 2`.
#[inline(never)]
unsafe fn pack_rows_4(x: *const f32, k: usize, inv: v128, out: *mut i16, pixels_pad: usize) {
    let (i0, i1) = (f32x4_splat(f32x4_extract_lane::<0>(inv)), f32x4_splat(f32x4_extract_lane::<1>(inv)));
    let (i2, i3) = (f32x4_splat(f32x4_extract_lane::<2>(inv)), f32x4_splat(f32x4_extract_lane::<3>(inv)));
    let mut c = 0;
    while c < k {
        // SAFETY: see the contract; v128 loads and stores take any alignment.
        unsafe {
            let [t0, t1, t2, t3] = transpose4([
                quantize_8(x.add(c), i0),
                quantize_8(x.add(k + c), i1),
                quantize_8(x.add(2 * k + c), i2),
                quantize_8(x.add(3 * k + c), i3),
            ]);
            let j = c / 2;
            v128_store(out.add(j * pixels_pad * 2).cast::<v128>(), t0);
            v128_store(out.add((j + 1) * pixels_pad * 2).cast::<v128>(), t1);
            v128_store(out.add((j + 2) * pixels_pad * 2).cast::<v128>(), t2);
            v128_store(out.add((j + 3) * pixels_pad * 2).cast::<v128>(), t3);
        }
        c += 8;
    }
}

