//! The `simd128` kernels of [`super`]: packing (from either layout),
//! the 4 × 8 tiles of `i32x4.dot_i16x8_s` sums, and scaling back (into
//! either layout).

use super::{Int8Weights, PixelLayout, TILE_CHANNELS, TILE_PIXELS};
use core::arch::wasm32::*;

mod pack;
use pack::{pack, pack_rows};

/// 4 floats at `s[i..i + 4]`, zeros for those past the end.
#[inline(always)]
pub(in crate::vectors::int8_gemm) fn load_f32(s: &[f32], i: usize) -> v128 {
    match s.get(i..i + 4) {
        // SAFETY: the slice holds 4 values; v128.load takes any alignment.
        Some(v) => unsafe { v128_load(v.as_ptr().cast::<v128>()) },
        None => {
            let mut t = [0f32; 4];
            for (t, v) in t.iter_mut().zip(s.get(i..).unwrap_or(&[])) {
                *t = *v;
            }
            f32x4(t[0], t[1], t[2], t[3])
        }
    }
}

/// Stores the 4 lanes of `v` at `s[i..i + 4]`; nothing when they do not all
/// fit (callers size `s` so that they do).
#[inline(always)]
pub(in crate::vectors::int8_gemm) fn store_f32(s: &mut [f32], i: usize, v: v128) {
    if let Some(out) = s.get_mut(i..i + 4) {
        // SAFETY: the slice holds 4 values; v128.store takes any alignment.
        unsafe { v128_store(out.as_mut_ptr().cast::<v128>(), v) };
    }
}

/// The 4 × 4 transpose of 32-bit lanes: lane `l` of result `c` is lane
/// `c` of input `l`.
#[inline(always)]
pub(in crate::vectors::int8_gemm) fn transpose4([v0, v1, v2, v3]: [v128; 4]) -> [v128; 4] {
    let t0 = i32x4_shuffle::<0, 4, 1, 5>(v0, v1);
    let t1 = i32x4_shuffle::<0, 4, 1, 5>(v2, v3);
    let t2 = i32x4_shuffle::<2, 6, 3, 7>(v0, v1);
    let t3 = i32x4_shuffle::<2, 6, 3, 7>(v2, v3);
    [
        i32x4_shuffle::<0, 1, 4, 5>(t0, t1),
        i32x4_shuffle::<2, 3, 6, 7>(t0, t1),
        i32x4_shuffle::<0, 1, 4, 5>(t2, t3),
        i32x4_shuffle::<2, 3, 6, 7>(t2, t3),
    ]
}

/// 8 `i16` at `s[i..i + 8]`, or zeros past the end.
#[inline(always)]
fn load_i16(s: &[i16], i: usize) -> v128 {
    match s.get(i..i + 8) {
        // SAFETY: the slice holds 8 values; v128.load takes any alignment.
        Some(v) => unsafe { v128_load(v.as_ptr().cast::<v128>()) },
        None => i32x4_splat(0),
    }
}

/// The pair of weights at `w[i..i + 2]` in every 32-bit lane.
#[inline(always)]
fn pair(w: &[i16], i: usize) -> v128 {
    match w.get(i..i + 2) {
        // SAFETY: the slice holds the 2 values (4 bytes) read; wasm is
        // little-endian, so the first lands in the low half of each lane,
        // facing the even channel of the packed pixels.
        Some(p) => unsafe { v128_load32_splat(p.as_ptr().cast::<u32>()) },
        None => i32x4_splat(0),
    }
}

/// Stores `sum · (pixel scales · scale) + add` for pixels `p..p + 4` of
/// `out` (those before `out.len()`).
#[inline(always)]
fn store(out: &mut [f32], p: usize, sum: v128, sx: v128, scale: f32, add: f32) {
    let v = f32x4_add(f32x4_mul(f32x4_convert_i32x4(sum), f32x4_mul(sx, f32x4_splat(scale))), f32x4_splat(add));
    match out.get_mut(p..p + 4) {
        // SAFETY: `o` holds 4 values; v128.store takes any alignment.
        Some(o) => unsafe { v128_store(o.as_mut_ptr().cast::<v128>(), v) },
        None => {
            let lanes = [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
            for (o, l) in out.iter_mut().skip(p).zip(lanes) {
                *o = l;
            }
        }
    }
}

/// The sums of one output channel `w` for 8 pixels from `p0`.
#[inline(always)]
fn sums_1(xq: &[i16], pixels_pad: usize, p0: usize, w: &[i16], k_pad: usize) -> (v128, v128) {
    let zero = i32x4_splat(0);
    let (mut a, mut b) = (zero, zero);
    let mut j = 0;
    while 2 * j < k_pad {
        let at = (j * pixels_pad + p0) * 2;
        let p = pair(w, 2 * j);
        a = i32x4_add(a, i32x4_dot_i16x8(load_i16(xq, at), p));
        b = i32x4_add(b, i32x4_dot_i16x8(load_i16(xq, at + 8), p));
        j += 1;
    }
    (a, b)
}

/// The sums of 4 output channels for 8 pixels from `p0`, written out so
/// they stay in registers at the release profile's `opt-level = "s"`.
#[inline(never)]
fn sums_4(xq: &[i16], pixels_pad: usize, p0: usize, w: [&[i16]; 4], k_pad: usize) -> [(v128, v128); 4] {
    let in_bounds = k_pad.is_multiple_of(2)
        && p0 + TILE_PIXELS <= pixels_pad
        && k_pad.checked_mul(pixels_pad).is_some_and(|len| len <= xq.len())
        && w.iter().all(|w| w.len() >= k_pad);
    if in_bounds {
        // SAFETY: checked just above
        return unsafe { sums_4_unchecked(xq, pixels_pad, p0, w, k_pad) };
    }
    let zero = i32x4_splat(0);
    let (mut a0, mut b0, mut a1, mut b1) = (zero, zero, zero, zero);
    let (mut a2, mut b2, mut a3, mut b3) = (zero, zero, zero, zero);
    let [w0, w1, w2, w3] = w;
    let mut j = 0;
    while 2 * j < k_pad {
        let at = (j * pixels_pad + p0) * 2;
        let (x0, x1) = (load_i16(xq, at), load_i16(xq, at + 8));
        let p = pair(w0, 2 * j);
        a0 = i32x4_add(a0, i32x4_dot_i16x8(x0, p));
        b0 = i32x4_add(b0, i32x4_dot_i16x8(x1, p));
        let p = pair(w1, 2 * j);
        a1 = i32x4_add(a1, i32x4_dot_i16x8(x0, p));
        b1 = i32x4_add(b1, i32x4_dot_i16x8(x1, p));
        let p = pair(w2, 2 * j);
        a2 = i32x4_add(a2, i32x4_dot_i16x8(x0, p));
        b2 = i32x4_add(b2, i32x4_dot_i16x8(x1, p));
        let p = pair(w3, 2 * j);
        a3 = i32x4_add(a3, i32x4_dot_i16x8(x0, p));
        b3 = i32x4_add(b3, i32x4_dot_i16x8(x1, p));
        j += 1;
    }
    [(a0, b0), (a1, b1), (a2, b2), (a3, b3)]
}

/// [`sums_4`] without a bounds check in the loop (the hottest of the
/// image encoder).
///
/// # Safety
/// `k_pad` is even, `p0 + 8 ≤ pixels_pad`, `xq` holds at least
/// `k_pad · pixels_pad` values and every `w` at least `k_pad`: the last
/// load reads `xq[((k_pad / 2 - 1) · pixels_pad + p0) · 2 + 16 - 1]`,
/// below `k_pad · pixels_pad`, and `w[k_pad - 1]`.
#[inline(never)]
unsafe fn sums_4_unchecked(xq: &[i16], pixels_pad: usize, p0: usize, w: [&[i16]; 4], k_pad: usize) -> [(v128, v128); 4] {
    let zero = i32x4_splat(0);
    let (mut a0, mut b0, mut a1, mut b1) = (zero, zero, zero, zero);
    let (mut a2, mut b2, mut a3, mut b3) = (zero, zero, zero, zero);
    let (w0, w1, w2, w3) = (w[0].as_ptr(), w[1].as_ptr(), w[2].as_ptr(), w[3].as_ptr());
    let mut x = unsafe { xq.as_ptr().add(p0 * 2) };
    let step = pixels_pad * 2;
    let mut i = 0;
    while i < k_pad {
        // SAFETY: see the function's contract; v128 loads take any alignment.
        unsafe {
            let (x0, x1) = (v128_load(x.cast::<v128>()), v128_load(x.add(8).cast::<v128>()));
            let p = v128_load32_splat(w0.add(i).cast::<u32>());
            a0 = i32x4_add(a0, i32x4_dot_i16x8(x0, p));
            b0 = i32x4_add(b0, i32x4_dot_i16x8(x1, p));
            let p = v128_load32_splat(w1.add(i).cast::<u32>());
            a1 = i32x4_add(a1, i32x4_dot_i16x8(x0, p));
            b1 = i32x4_add(b1, i32x4_dot_i16x8(x1, p));
            let p = v128_load32_splat(w2.add(i).cast::<u32>());
            a2 = i32x4_add(a2, i32x4_dot_i16x8(x0, p));
            b2 = i32x4_add(b2, i32x4_dot_i16x8(x1, p));
            let p = v128_load32_splat(w3.add(i).cast::<u32>());
            a3 = i32x4_add(a3, i32x4_dot_i16x8(x0, p));
            b3 = i32x4_add(b3, i32x4_dot_i16x8(x1, p));
            i += 2;
            if i < k_pad {
                x = x.add(step);
            }
        }
    }
    [(a0, b0), (a1, b1), (a2, b2), (a3, b3)]
}

/// Stores `sum · (pixel scales · scale) + add` for pixels `p..p + 4`
/// (those before `pixels`) of output channel `col` of a
/// [`PixelLayout::ChannelsLast`] output of `n` channels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn store_rows(y: &mut [f32], n: usize, col: usize, pixels: usize, p: usize, sum: v128, sx: v128, scale: f32, add: f32) {
    let v = f32x4_add(f32x4_mul(f32x4_convert_i32x4(sum), f32x4_mul(sx, f32x4_splat(scale))), f32x4_splat(add));
    let lanes = [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
    for (l, value) in lanes.into_iter().enumerate().take(pixels.saturating_sub(p)) {
        if let Some(o) = y.get_mut((p + l) * n + col) {
            *o = value;
        }
    }
}

/// Stores a full tile (4 channels from `c0`, 8 pixels from `p0`, all before
/// `pixels`) of a [`PixelLayout::ChannelsLast`] output: scaled as [`store`]
/// does, then transposed so that each pixel's 4 channels go out in one
/// store. Returns `false`, storing nothing, for a tile past the last pixel
/// (the caller stores it channel by channel).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn store_rows_4(
    y: &mut [f32],
    weights: &Int8Weights,
    bias: Option<&[f32]>,
    c0: usize,
    pixels: usize,
    p0: usize,
    sums: &[(v128, v128); TILE_CHANNELS],
    sx: [v128; 2],
) -> bool {
    let n = weights.n;
    if let (Some(scales), true) = (weights.scales.get(c0..c0 + 4), p0 + TILE_PIXELS <= pixels && y.len() >= pixels * n) {
        let bias = bias.and_then(|b| b.get(c0..c0 + 4)).map_or(f32x4_splat(0.0), |b| load_f32(b, 0));
        let scales = load_f32(scales, 0);
        // SAFETY: pixels p0 .. p0 + 8 < pixels and channels c0 .. c0 + 4
        // ≤ n: every store lies in y (pixels · n values)
        unsafe {
            let out = y.as_mut_ptr().add(p0 * n + c0);
            store_pixels_4(out, n, [sums[0].0, sums[1].0, sums[2].0, sums[3].0], sx[0], scales, bias);
            store_pixels_4(out.add(4 * n), n, [sums[0].1, sums[1].1, sums[2].1, sums[3].1], sx[1], scales, bias);
        }
        return true;
    }
    false
}

/// 4 pixels × 4 channels of integer sums (`sums[c]`: channel `c`, one
/// pixel per lane), scaled back (`sx`: the pixels' scales; `scales`,
/// `bias`: the channels') and stored one pixel per row of `n` from `out`.
///
/// # Safety
/// `out + l · n .. + 4` is writable for `l < 4`.
#[inline(always)]
unsafe fn store_pixels_4(out: *mut f32, n: usize, sums: [v128; 4], sx: v128, scales: v128, bias: v128) {
    let [r0, r1, r2, r3] = transpose4(sums);
    let sx = transpose4([sx, sx, sx, sx]);
    let row = |r: v128, s: v128| f32x4_add(f32x4_mul(f32x4_convert_i32x4(r), f32x4_mul(s, scales)), bias);
    // SAFETY: see the contract; v128 stores take any alignment.
    unsafe {
        v128_store(out.cast::<v128>(), row(r0, sx[0]));
        v128_store(out.add(n).cast::<v128>(), row(r1, sx[1]));
        v128_store(out.add(2 * n).cast::<v128>(), row(r2, sx[2]));
        v128_store(out.add(3 * n).cast::<v128>(), row(r3, sx[3]));
    }
}

/// The whole product; sizes checked by the caller.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    weights: &Int8Weights,
    x: &[f32],
    pixels: usize,
    pixels_pad: usize,
    len: usize,
    [input, output]: [PixelLayout; 2],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let k_pad = weights.k_pad;
    let limit = weights.row_limit as f32;
    let (xq, sx) = match input {
        PixelLayout::ChannelsFirst => pack(x, weights.k, pixels, pixels_pad, len, limit),
        PixelLayout::ChannelsLast => pack_rows(x, weights.k, pixels, pixels_pad, len, limit),
    };
    let column = |c: usize| weights.values.get(c * k_pad..(c + 1) * k_pad).unwrap_or(&[]);
    let tile = |y: &mut [f32], c0: usize, p0: usize| {
        let channels = (weights.n - c0).min(TILE_CHANNELS);
        let mut sums = [(i32x4_splat(0), i32x4_splat(0)); TILE_CHANNELS];
        if channels == TILE_CHANNELS {
            sums = sums_4(&xq, pixels_pad, p0, [column(c0), column(c0 + 1), column(c0 + 2), column(c0 + 3)], k_pad);
        } else {
            for (c, s) in sums.iter_mut().enumerate().take(channels) {
                *s = sums_1(&xq, pixels_pad, p0, column(c0 + c), k_pad);
            }
        }
        let (sx0, sx1) = (load_f32(&sx, p0), load_f32(&sx, p0 + 4));
        if output == PixelLayout::ChannelsLast
            && channels == TILE_CHANNELS
            && store_rows_4(y, weights, bias, c0, pixels, p0, &sums, [sx0, sx1])
        {
            return;
        }
        for (c, (a, b)) in sums.iter().enumerate().take(channels) {
            let col = c0 + c;
            let (scale, add) = (weights.scales[col], bias.map_or(0.0, |b| b[col]));
            match output {
                PixelLayout::ChannelsFirst => {
                    if let Some(out) = y.get_mut(col * pixels..(col + 1) * pixels) {
                        store(out, p0, *a, sx0, scale, add);
                        store(out, p0 + 4, *b, sx1, scale, add);
                    }
                }
                PixelLayout::ChannelsLast => {
                    store_rows(y, weights.n, col, pixels, p0, *a, sx0, scale, add);
                    store_rows(y, weights.n, col, pixels, p0 + 4, *b, sx1, scale, add);
                }
            }
        }
    };
    // The order that writes the output sequentially: channel by channel
    // (each a row of pixels) channels-first, pixel block by pixel block
    // (8 rows of all channels) channels-last.
    match output {
        PixelLayout::ChannelsFirst => {
            for c0 in (0..weights.n).step_by(TILE_CHANNELS) {
                for p0 in (0..pixels_pad).step_by(TILE_PIXELS) {
                    tile(y, c0, p0);
                }
            }
        }
        PixelLayout::ChannelsLast => {
            for p0 in (0..pixels_pad).step_by(TILE_PIXELS) {
                for c0 in (0..weights.n).step_by(TILE_CHANNELS) {
                    tile(y, c0, p0);
                }
            }
        }
    }
}
