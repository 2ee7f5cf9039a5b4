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

/// Where each pixel's channels sit in an activation or output of
/// `channels × pixels` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// Channel-major, `[channels, pixels]`: CHW.
    ChannelsFirst,
    /// Pixel-major, `[pixels, channels]`: HWC, what tract's channels-last
    /// layout (chosen in WebAssembly around depthwise convolutions) gives.
    ChannelsLast,
}

impl PixelLayout {
    /// The index of channel `c` of pixel `p`.
    #[inline(always)]
    fn at(self, c: usize, p: usize, channels: usize, pixels: usize) -> usize {
        match self {
            PixelLayout::ChannelsFirst => c * pixels + p,
            PixelLayout::ChannelsLast => p * channels + c,
        }
    }
}

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
    fn pack_portable(x: &[f32], k: usize, k_pad: usize, pixels: usize, limit: i32, input: PixelLayout) -> Result<PackedPixels> {
        let (len, pixels_pad) = Self::sizes(x, k, k_pad, pixels)?;
        let value = |c: usize, p: usize| x[input.at(c, p, k, pixels)];
        let mut amax = vec![0f32; pixels_pad];
        for c in 0..k {
            for (p, a) in amax.iter_mut().enumerate().take(pixels) {
                let v = value(c, p);
                // NaN and infinities make the pixel's maximum non-finite
                *a = if v.is_finite() && a.is_finite() { a.max(v.abs()) } else { f32::INFINITY };
            }
        }
        let (scales, inv) = pixel_scales(&amax, pixels, limit as f32);
        let mut values = vec![0i16; len];
        for c in 0..k {
            let (j, half) = (c / 2, c % 2);
            let row = &mut values[j * pixels_pad * 2..(j + 1) * pixels_pad * 2];
            for (p, (pair, i)) in row.chunks_exact_mut(2).zip(&inv).enumerate().take(pixels) {
                // in range by construction; `as` saturates a NaN to 0
                pair[half] = (value(c, p) * i).round_ties_even() as i16;
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
        self.matmul_pixels(x, pixels, PixelLayout::ChannelsFirst, PixelLayout::ChannelsFirst, bias, y)
    }

    /// [`Int8Weights::matmul_channels_first`] with the activation and the
    /// output each in either [`PixelLayout`]: the same sums and the same
    /// bits whatever the layouts (no transposed copy is made: the packing
    /// reads the activation in its layout, the scaling back writes the output
    /// in its own).
    pub fn matmul_pixels(
        &self,
        x: &[f32],
        pixels: usize,
        input: PixelLayout,
        output: PixelLayout,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> Result<()> {
        self.check_pixels(x, pixels, bias, y)?;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            let (len, pixels_pad) = PackedPixels::sizes(x, self.k, self.k_pad, pixels)?;
            simd::matmul(self, x, pixels, pixels_pad, len, [input, output], bias, y);
            Ok(())
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            self.matmul_pixels_portable(x, pixels, input, output, bias, y)
        }
    }

    /// [`Int8Weights::matmul_channels_first`] one value at a time (what
    /// native builds run, and what tests hold the SIMD kernel to).
    pub fn matmul_channels_first_portable(&self, x: &[f32], pixels: usize, bias: Option<&[f32]>, y: &mut [f32]) -> Result<()> {
        self.matmul_pixels_portable(x, pixels, PixelLayout::ChannelsFirst, PixelLayout::ChannelsFirst, bias, y)
    }

    /// [`Int8Weights::matmul_pixels`] one value at a time.
    pub fn matmul_pixels_portable(
        &self,
        x: &[f32],
        pixels: usize,
        input: PixelLayout,
        output: PixelLayout,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> Result<()> {
        self.check_pixels(x, pixels, bias, y)?;
        let packed = PackedPixels::pack_portable(x, self.k, self.k_pad, pixels, self.row_limit, input)?;
        for col in 0..self.n {
            let w = &self.values[col * self.k_pad..(col + 1) * self.k_pad];
            let (scale, add) = (self.scales[col], bias.map_or(0.0, |b| b[col]));
            for p in 0..pixels {
                let out = &mut y[output.at(col, p, self.n, pixels)];
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

    fn check_pixels(&self, x: &[f32], pixels: usize, bias: Option<&[f32]>, y: &[f32]) -> Result<()> {
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
pub(super) mod simd;

#[cfg(test)]
mod tests {
    use super::*;

    /// Weights, a channel-major activation and a bias for a `k × n` product
    /// over `pixels`, from a seeded generator.
    fn problem(seed: u64, k: usize, n: usize, pixels: usize) -> (Int8Weights, Vec<f32>, Vec<f32>) {
        let mut seed = seed;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        };
        let w: Vec<f32> = (0..k * n).map(|_| next() * 0.3).collect();
        let x: Vec<f32> = (0..k * pixels).map(|_| next() * 6.0).collect();
        let bias: Vec<f32> = (0..n).map(|c| c as f32 * 0.1).collect();
        (Int8Weights::quantize(&w, k, n).unwrap(), x, bias)
    }

    #[test]
    fn channels_first_matches_the_rows_last_product_of_the_transpose() {
        for &(k, n, pixels) in &[(16, 96, 49), (3, 5, 7), (32, 16, 64), (144, 24, 9), (1, 1, 1)] {
            let (weights, x, bias) = problem(11 + k as u64, k, n, pixels);
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

    /// Every pair of layouts gives the channels-first product's bits, with
    /// a NaN pixel and a pixel of zeros.
    #[test]
    fn every_layout_gives_the_channels_first_bits() {
        use PixelLayout::{ChannelsFirst, ChannelsLast};
        for &(k, n, pixels) in &[(16, 96, 49), (3, 5, 7), (144, 24, 9), (1, 1, 1), (9, 7, 11)] {
            let (weights, mut x, bias) = problem(5 + k as u64, k, n, pixels);
            if pixels > 2 {
                x[2] = f32::NAN;
                for c in 0..k {
                    x[c * pixels + 1] = 0.0;
                }
            }
            let mut first = vec![0f32; n * pixels];
            weights.matmul_channels_first(&x, pixels, Some(&bias), &mut first).unwrap();
            let x_last: Vec<f32> = (0..pixels * k).map(|i| x[(i % k) * pixels + i / k]).collect();
            for input in [ChannelsFirst, ChannelsLast] {
                for output in [ChannelsFirst, ChannelsLast] {
                    let xi = if input == ChannelsLast { &x_last } else { &x };
                    let mut y = vec![0f32; n * pixels];
                    weights.matmul_pixels(xi, pixels, input, output, Some(&bias), &mut y).unwrap();
                    for c in 0..n {
                        for p in 0..pixels {
                            let a = y[if output == ChannelsLast { p * n + c } else { c * pixels + p }];
                            let b = first[c * pixels + p];
                            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "({k},{n},{pixels}) {input:?}→{output:?} c {c} p {p}: {a} vs {b}");
                        }
                    }
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
