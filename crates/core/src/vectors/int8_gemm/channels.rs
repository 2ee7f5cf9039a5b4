//! The channels-first product of [`Int8Weights`]: `y[c, p] = Σ_i w[i, c] ·
//! x[i, p] (+ bias[c])` for an activation of `k` channels × `pixels` values
//! (a 1×1 convolution in CHW layout, which tract declutters to the einsum
//! `IHW,OI->OHW`), with no transposition of the activation or the output.
//!
//! The activation is quantised with one scale per pixel (over its `k`
//! channels, at most [`Int8Weights::row_limit`] in magnitude) and packed by
//! pairs of channels: for channel pair `j` and pixel `p`, the two values sit
//! side by side, and 4 pixels' pairs make one `v128`. One
//! `i32x4.dot_i16x8_s` with a weight pair splat over the vector then gives 4
//! pixels' sums of the pair, so an accumulator holds 4 neighbouring pixels
//! of one output channel and is stored as they are, without a horizontal
//! sum. The tile is 4 output channels × 8 pixels (8 accumulators). The
//! quantisation, packing and scaling back are SIMD too (at a 1×1
//! convolution's small `k` they cost as much as the sums).

use super::Int8Weights;
use crate::error::{Error, Result};

/// Pixels of one tile (two `v128` of 4).
pub const TILE_PIXELS: usize = 8;
/// Output channels of one tile.
pub const TILE_CHANNELS: usize = 4;

/// An activation quantised and packed for [`Int8Weights::matmul_channels_first`].
struct PackedPixels {
    /// `(j * pixels_pad + p) * 2 + {0, 1}`: channels `2j`, `2j + 1` of pixel `p`.
    values: Vec<i16>,
    /// One per pixel (NaN for a pixel with a non-finite value), `pixels_pad` long.
    scales: Vec<f32>,
    pixels_pad: usize,
}

/// Per pixel: its scale (`amax / limit`; NaN when a value is not finite; 0
/// for a pixel of zeros) and the factor that quantises it (`limit / amax`),
/// both `pixels_pad` long.
fn pixel_scales(amax: &[f32], pixels: usize, limit: f32) -> (Vec<f32>, Vec<f32>) {
    let mut scales = vec![0f32; amax.len()];
    let mut inv = vec![0f32; amax.len()];
    for ((s, i), a) in scales.iter_mut().zip(inv.iter_mut()).zip(amax).take(pixels) {
        if !a.is_finite() {
            *s = f32::NAN;
        } else if *a > 0.0 {
            *s = a / limit;
            *i = limit / a;
        }
    }
    (scales, inv)
}

impl PackedPixels {
    /// Quantises `x` (`k` channels of `pixels` values, channel-major) for
    /// weights of `k_pad` padded channels and the row limit `limit`: the
    /// portable way, value by value.
    fn pack_portable(x: &[f32], k: usize, k_pad: usize, pixels: usize, limit: i32) -> Result<PackedPixels> {
        let (len, pixels_pad) = Self::sizes(x, k, k_pad, pixels)?;
        let mut amax = vec![0f32; pixels_pad];
        for channel in x.chunks_exact(pixels) {
            for (a, v) in amax.iter_mut().zip(channel) {
                // NaN and infinities make the pixel's maximum non-finite
                *a = if v.is_finite() && a.is_finite() { a.max(v.abs()) } else { f32::INFINITY };
            }
        }
        let (scales, inv) = pixel_scales(&amax, pixels, limit as f32);
        let mut values = vec![0i16; len];
        for (ch, channel) in x.chunks_exact(pixels).enumerate() {
            let (j, half) = (ch / 2, ch % 2);
            let row = &mut values[j * pixels_pad * 2..(j + 1) * pixels_pad * 2];
            for ((pair, v), i) in row.chunks_exact_mut(2).zip(channel).zip(&inv) {
                // in range by construction; `as` saturates a NaN to 0
                pair[half] = (v * i).round_ties_even() as i16;
            }
        }
        Ok(PackedPixels { values, scales, pixels_pad })
    }

    /// The packed length and the pixels rounded up to a tile, after checking
    /// the sizes.
    fn sizes(x: &[f32], k: usize, k_pad: usize, pixels: usize) -> Result<(usize, usize)> {
        if k > k_pad || k.checked_mul(pixels) != Some(x.len()) {
            return Err(Error::InvalidInput(format!("int8 matmul: {} values for {k} channels of {pixels} pixels", x.len())));
        }
        let pixels_pad = pixels.div_ceil(TILE_PIXELS) * TILE_PIXELS;
        let len = k_pad
            .checked_mul(pixels_pad)
            .ok_or_else(|| Error::InvalidInput(format!("int8 matmul: {pixels} pixels are too many")))?;
        Ok((len, pixels_pad))
    }
}

impl Int8Weights {
    /// `y[c, p] = Σ_i W[i, c] · x[i, p] (+ bias[c])`: `x` holds `k`
    /// channels of `pixels` values each (channel-major), `y` gets `n`
    /// channels of `pixels`. The same weights as [`Int8Weights::matmul`]
    /// (`W` is `k × n`), the same exactness of the integer sums; a pixel
    /// with a non-finite value gives NaN in every output channel. The SIMD
    /// build gives the same bits as [`Int8Weights::matmul_channels_first_portable`].
    pub fn matmul_channels_first(&self, x: &[f32], pixels: usize, bias: Option<&[f32]>, y: &mut [f32]) -> Result<()> {
        self.check_channels_first(x, pixels, bias, y)?;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            let (len, pixels_pad) = PackedPixels::sizes(x, self.k, self.k_pad, pixels)?;
            simd::matmul(self, x, pixels, pixels_pad, len, bias, y);
            Ok(())
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            self.matmul_channels_first_portable(x, pixels, bias, y)
        }
    }

    /// [`Int8Weights::matmul_channels_first`] one value at a time (what
    /// native builds run, and what tests hold the SIMD kernel to).
    pub fn matmul_channels_first_portable(&self, x: &[f32], pixels: usize, bias: Option<&[f32]>, y: &mut [f32]) -> Result<()> {
        self.check_channels_first(x, pixels, bias, y)?;
        let packed = PackedPixels::pack_portable(x, self.k, self.k_pad, pixels, self.row_limit)?;
        for (col, out) in y.chunks_exact_mut(pixels).enumerate() {
            let w = &self.values[col * self.k_pad..(col + 1) * self.k_pad];
            let (scale, add) = (self.scales[col], bias.map_or(0.0, |b| b[col]));
            for (p, out) in out.iter_mut().enumerate() {
                let mut sum = 0i32;
                for (i, &wv) in w.iter().enumerate() {
                    let x = packed.values[((i / 2) * packed.pixels_pad + p) * 2 + i % 2];
                    // cannot overflow for the row limit; wrapping only keeps
                    // the arithmetic free of overflow checks
                    sum = sum.wrapping_add(i32::from(wv) * i32::from(x));
                }
                *out = sum as f32 * (packed.scales[p] * scale) + add;
            }
        }
        Ok(())
    }

    fn check_channels_first(&self, x: &[f32], pixels: usize, bias: Option<&[f32]>, y: &[f32]) -> Result<()> {
        let bad = |why: String| Error::InvalidInput(format!("int8 matmul: {why}"));
        if pixels == 0 || pixels.checked_mul(self.k) != Some(x.len()) {
            return Err(bad(format!("{} inputs for {} channels of {pixels} pixels", x.len(), self.k)));
        }
        if pixels.checked_mul(self.n) != Some(y.len()) {
            return Err(bad(format!("{} outputs for {} channels of {pixels} pixels", y.len(), self.n)));
        }
        if bias.is_some_and(|b| b.len() != self.n) {
            return Err(bad(format!("a bias of {} values for {} channels", bias.map_or(0, <[f32]>::len), self.n)));
        }
        Ok(())
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::{pixel_scales, Int8Weights, TILE_CHANNELS, TILE_PIXELS};
    use core::arch::wasm32::*;

    /// 4 floats at `s[i..i + 4]`, zeros for those past the end.
    #[inline(always)]
    fn load_f32(s: &[f32], i: usize) -> v128 {
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

    /// Quantises and packs `x` as `pack_portable` does, 4 pixels at a time
    /// (`f32x4.nearest` rounds ties to even, as `round_ties_even`).
    fn pack(x: &[f32], k: usize, pixels: usize, pixels_pad: usize, len: usize, limit: f32) -> (Vec<i16>, Vec<f32>) {
        let mut amax = vec![0f32; pixels_pad];
        for channel in x.chunks_exact(pixels) {
            let mut p = 0;
            while p < pixels {
                // f32x4.max gives NaN when either side is NaN
                let m = f32x4_max(load_f32(&amax, p), f32x4_abs(load_f32(channel, p)));
                // amax is pixels_pad long (a multiple of 8), so p + 4 fits
                if let Some(a) = amax.get_mut(p..p + 4) {
                    // SAFETY: `a` holds 4 values; v128.store takes any alignment.
                    unsafe { v128_store(a.as_mut_ptr().cast::<v128>(), m) };
                }
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

    /// The whole product; sizes checked by the caller.
    pub(super) fn matmul(
        weights: &Int8Weights,
        x: &[f32],
        pixels: usize,
        pixels_pad: usize,
        len: usize,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        let k_pad = weights.k_pad;
        let (xq, sx) = pack(x, weights.k, pixels, pixels_pad, len, weights.row_limit as f32);
        let column = |c: usize| weights.values.get(c * k_pad..(c + 1) * k_pad).unwrap_or(&[]);
        let mut c0 = 0;
        while c0 < weights.n {
            let channels = (weights.n - c0).min(TILE_CHANNELS);
            let mut p0 = 0;
            while p0 < pixels_pad {
                let mut sums = [(i32x4_splat(0), i32x4_splat(0)); TILE_CHANNELS];
                if channels == TILE_CHANNELS {
                    sums = sums_4(&xq, pixels_pad, p0, [column(c0), column(c0 + 1), column(c0 + 2), column(c0 + 3)], k_pad);
                } else {
                    for (c, s) in sums.iter_mut().enumerate().take(channels) {
                        *s = sums_1(&xq, pixels_pad, p0, column(c0 + c), k_pad);
                    }
                }
                let (sx0, sx1) = (load_f32(&sx, p0), load_f32(&sx, p0 + 4));
                for (c, (a, b)) in sums.iter().enumerate().take(channels) {
                    let col = c0 + c;
                    let (scale, add) = (weights.scales[col], bias.map_or(0.0, |b| b[col]));
                    if let Some(out) = y.get_mut(col * pixels..(col + 1) * pixels) {
                        store(out, p0, *a, sx0, scale, add);
                        store(out, p0 + 4, *b, sx1, scale, add);
                    }
                }
                p0 += TILE_PIXELS;
            }
            c0 += channels;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_first_matches_the_rows_last_product_of_the_transpose() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        };
        for &(k, n, pixels) in &[(16, 96, 49), (3, 5, 7), (32, 16, 64), (144, 24, 9), (1, 1, 1)] {
            let w: Vec<f32> = (0..k * n).map(|_| next() * 0.3).collect();
            let x: Vec<f32> = (0..k * pixels).map(|_| next() * 6.0).collect();
            let bias: Vec<f32> = (0..n).map(|c| c as f32 * 0.1).collect();
            let weights = Int8Weights::quantize(&w, k, n).unwrap();
            let mut y = vec![0f32; n * pixels];
            weights.matmul_channels_first(&x, pixels, Some(&bias), &mut y).unwrap();
            // the rows-last product of the transpose quantises each pixel the same way
            let xt: Vec<f32> = (0..pixels * k).map(|i| x[(i % k) * pixels + i / k]).collect();
            let mut yt = vec![0f32; pixels * n];
            weights.matmul(&xt, pixels, Some(&bias), &mut yt).unwrap();
            for c in 0..n {
                for p in 0..pixels {
                    let (a, b) = (y[c * pixels + p], yt[p * n + c]);
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "({k},{n},{pixels}) c {c} p {p}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn bad_pixels_and_shapes() {
        // every column's largest value is its scale's 127: exact weights
        let w = Int8Weights::quantize(&[1.0, 2.0, -1.0, -2.0], 2, 2).unwrap();
        let mut y = [0f32; 4];
        // channel-major: x[0] = [NaN, 1], x[1] = [0, 0] → pixel 0 is NaN, pixel 1 fine
        w.matmul_channels_first(&[f32::NAN, 1.0, 0.0, 0.0], 2, None, &mut y).unwrap();
        assert!(y[0].is_nan() && y[2].is_nan());
        assert_eq!((y[1], y[3]), (1.0, 2.0));
        assert!(w.matmul_channels_first(&[1.0; 3], 2, None, &mut y).is_err());
        assert!(w.matmul_channels_first(&[], 0, None, &mut []).is_err());
        assert!(w.matmul_channels_first(&[1.0; 4], 2, Some(&[1.0]), &mut y).is_err());
    }
}
