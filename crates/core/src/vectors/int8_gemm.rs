//! A matrix product with int8 weights and 16-bit activations, exact in
//! integers: `y = x · W (+ bias)` for f32 `x` of `m` rows of `k` values and a
//! constant `W` of `k × n`.
//!
//! Why: in the browser the encoders' time is one f32 GEMM kernel (78.7 % of a
//! text's time in Chromium's profiler, docs/benchmarks.md). WebAssembly SIMD
//! has no fused multiply-add, so an f32 kernel spends two instructions on 4
//! multiply-adds; `i32x4.dot_i16x8_s` does 8 in one, plus one add. The
//! encoders' weights are int8 already (MiniLM's are stored as int8 with a
//! scale per output column), so only the activations need quantising.
//!
//! How, and what it promises:
//! * [`Int8Weights::quantize`] stores each output column as int8 values
//!   (held in `i16` lanes, `k` padded with zeros to a multiple of 8) with one
//!   f32 scale, `max |w| / 127`. A column that was int8 with its own scale
//!   comes back exactly.
//! * [`Int8Weights::matmul`] quantises each row of `x` to integers of at most
//!   [`Int8Weights::row_limit`] in magnitude with one scale per row, sums the
//!   integer products in `i32`, and scales each sum back by the row's and the
//!   column's scales. The row limit is chosen from `k` so that no sum can
//!   overflow (`127 · limit · k ≤ i32::MAX`), which makes the integer part
//!   exact: the SIMD kernel and the portable one give the same bits.
//! * A row of `x` holding a NaN or an infinity gives a row of NaN (as an f32
//!   product would give non-finite values); a row of zeros gives the bias.
//!
//! The kernel runs tiles of [`TILE_ROWS`] rows × [`TILE_COLS`] columns: 8
//! accumulators, the 4 row vectors and 2 column vectors of one step, 14 of
//! x86-64's 16 SIMD registers under V8.

use crate::error::{Error, Result};

mod channels;
mod quantize;
pub use channels::{PixelLayout, TILE_CHANNELS, TILE_PIXELS};

/// Rows of one kernel tile.
pub const TILE_ROWS: usize = 4;
/// Columns of one kernel tile.
pub const TILE_COLS: usize = 2;

/// The largest `k` these weights take: beyond it the row limit would fall
/// below 127 and the activations would lose more than int8 precision.
pub const MAX_K: usize = (i32::MAX as usize) / (127 * 127);

/// Constant weights of a product `x · W`, one int8 column per output value.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Weights {
    k: usize,
    k_pad: usize,
    n: usize,
    /// Column `c` at `[c * k_pad, (c + 1) * k_pad)`, values in `[-127, 127]`.
    values: Vec<i16>,
    scales: Vec<f32>,
    row_limit: i32,
}

impl Int8Weights {
    /// Quantises `w`, a row-major `k × n` matrix (`w[i * n + j]` is row `i`,
    /// column `j`). `invalid_input` when the length is not `k · n`, `k` or
    /// `n` is 0, `k` exceeds [`MAX_K`], or a weight is not finite.
    pub fn quantize(w: &[f32], k: usize, n: usize) -> Result<Int8Weights> {
        Self::quantize_from(w, k, n, false, false)
    }

    /// [`Int8Weights::quantize`] without SIMD, for tests comparing the
    /// SIMD quantisation (wasm32) with it: the same weights, bit for bit.
    pub fn quantize_portable(w: &[f32], k: usize, n: usize) -> Result<Int8Weights> {
        Self::quantize_from(w, k, n, false, true)
    }

    /// [`Int8Weights::quantize`] of a matrix stored transposed: `w_t` is
    /// row-major `n × k` (`w_t[j * k + i]` is row `i`, column `j` of `W`),
    /// as in `[out, in]` weights; no transposed copy is made.
    pub fn quantize_transposed(w_t: &[f32], k: usize, n: usize) -> Result<Int8Weights> {
        Self::quantize_from(w_t, k, n, true, false)
    }

    /// Both layouts, reading `w` in its own order (column scales first, then
    /// the values), so that a large matrix is read sequentially; the SIMD
    /// passes unless `portable` ([`quantize`]).
    fn quantize_from(w: &[f32], k: usize, n: usize, transposed: bool, portable: bool) -> Result<Int8Weights> {
        let bad = |why: String| Error::InvalidInput(format!("int8 weights: {why}"));
        if k == 0 || n == 0 || k > MAX_K {
            return Err(bad(format!("a {k} × {n} matrix (k must be 1 to {MAX_K}, n at least 1)")));
        }
        if k.checked_mul(n) != Some(w.len()) {
            return Err(bad(format!("{} values for a {k} × {n} matrix", w.len())));
        }
        let k_pad = k.div_ceil(8) * 8;
        let len = k_pad
            .checked_mul(n)
            .ok_or_else(|| bad(format!("a {k} × {n} matrix is too large")))?;
        let amax = if portable {
            quantize::portable_column_amax(w, k, n, transposed)
        } else {
            quantize::column_amax(w, k, n, transposed)
        };
        let amax = amax.ok_or_else(|| bad("a weight is not finite".into()))?;
        let scales: Vec<f32> = amax.iter().map(|a| a / 127.0).collect();
        let inv: Vec<f32> = amax.iter().map(|&a| if a > 0.0 { 127.0 / a } else { 0.0 }).collect();
        let mut values = vec![0i16; len];
        if portable {
            quantize::portable_quantize_columns(w, k, k_pad, &inv, transposed, &mut values);
        } else {
            quantize::quantize_columns(w, k, k_pad, &inv, transposed, &mut values);
        }
        let row_limit = i32::try_from((i32::MAX as usize) / (127 * k_pad)).unwrap_or(i32::MAX).min(32_767);
        Ok(Int8Weights { k, k_pad, n, values, scales, row_limit })
    }

    /// Values per row of `x` (the product's inner dimension).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Output values per row.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The largest magnitude a quantised activation takes (at most 32,767;
    /// smaller for long rows, so that no `i32` sum can overflow).
    pub fn row_limit(&self) -> i32 {
        self.row_limit
    }

    /// The weight at row `i`, column `j` as these weights hold it (the
    /// column's scale times its int8 value); 0 outside the matrix.
    pub fn dequantized(&self, i: usize, j: usize) -> f32 {
        if i >= self.k || j >= self.n {
            return 0.0;
        }
        f32::from(self.values[j * self.k_pad + i]) * self.scales[j]
    }

    /// `y = x · W (+ bias)`: `x` holds `m` rows of `k` values, `y` gets `m`
    /// rows of `n`. `invalid_input` when a length does not match.
    pub fn matmul(&self, x: &[f32], m: usize, bias: Option<&[f32]>, y: &mut [f32]) -> Result<()> {
        let bad = |why: String| Error::InvalidInput(format!("int8 matmul: {why}"));
        if m.checked_mul(self.k) != Some(x.len()) {
            return Err(bad(format!("{} inputs for {m} rows of {}", x.len(), self.k)));
        }
        if m.checked_mul(self.n) != Some(y.len()) {
            return Err(bad(format!("{} outputs for {m} rows of {}", y.len(), self.n)));
        }
        if bias.is_some_and(|b| b.len() != self.n) {
            return Err(bad(format!("a bias of {} values for {} columns", bias.map_or(0, <[f32]>::len), self.n)));
        }
        let len = m.checked_mul(self.k_pad).ok_or_else(|| bad(format!("{m} rows are too many")))?;
        let mut xq = vec![0i16; len];
        let mut row_scales = vec![0f32; m];
        let limit = self.row_limit as f32;
        for ((row, q), scale) in x.chunks_exact(self.k).zip(xq.chunks_exact_mut(self.k_pad)).zip(row_scales.iter_mut()) {
            let amax = row.iter().fold(0f32, |a, v| a.max(v.abs()));
            if !row.iter().all(|v| v.is_finite()) {
                *scale = f32::NAN;
                continue;
            }
            if amax == 0.0 {
                continue;
            }
            *scale = amax / limit;
            let inv = limit / amax;
            for (q, v) in q.iter_mut().zip(row) {
                *q = (v * inv).round_ties_even().clamp(-limit, limit) as i16;
            }
        }
        let mut r0 = 0;
        while r0 < m {
            let rows = (m - r0).min(TILE_ROWS);
            let mut c0 = 0;
            while c0 < self.n {
                let cols = (self.n - c0).min(TILE_COLS);
                let sums = self.tile(&xq[r0 * self.k_pad..(r0 + rows) * self.k_pad], rows, c0, cols);
                for (r, sums) in sums.iter().enumerate().take(rows) {
                    let out = &mut y[(r0 + r) * self.n..(r0 + r + 1) * self.n];
                    for (c, &sum) in sums.iter().enumerate().take(cols) {
                        let col = c0 + c;
                        let v = sum as f32 * (row_scales[r0 + r] * self.scales[col]);
                        out[col] = v + bias.map_or(0.0, |b| b[col]);
                    }
                }
                c0 += cols;
            }
            r0 += rows;
        }
        Ok(())
    }

    /// The integer sums of `rows` quantised rows (`xq`, `rows · k_pad`
    /// values) with columns `c0 .. c0 + cols`.
    fn tile(&self, xq: &[i16], rows: usize, c0: usize, cols: usize) -> [[i32; TILE_COLS]; TILE_ROWS] {
        let w = &self.values[c0 * self.k_pad..(c0 + cols) * self.k_pad];
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            simd::tile(xq, w, self.k_pad, rows, cols)
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            portable_tile(xq, w, self.k_pad, rows, cols)
        }
    }

    /// The integer sums the portable kernel gives for `rows` quantised rows
    /// `xq` (`rows · k_padded()` values, each within [`Int8Weights::row_limit`])
    /// and columns `c0 .. c0 + cols`, for tests comparing the SIMD kernel
    /// with it.
    pub fn portable_sums(&self, xq: &[i16], rows: usize, c0: usize, cols: usize) -> [[i32; TILE_COLS]; TILE_ROWS] {
        portable_tile(xq, &self.values[c0 * self.k_pad..(c0 + cols) * self.k_pad], self.k_pad, rows, cols)
    }

    /// The integer sums the kernel this build runs gives (SIMD on wasm32),
    /// for the same tests.
    pub fn kernel_sums(&self, xq: &[i16], rows: usize, c0: usize, cols: usize) -> [[i32; TILE_COLS]; TILE_ROWS] {
        self.tile(xq, rows, c0, cols)
    }

    /// Values per quantised row (`k` rounded up to a multiple of 8).
    pub fn k_padded(&self) -> usize {
        self.k_pad
    }
}

/// The integer sums of a tile, one product at a time. Sums cannot overflow
/// for the row limit [`Int8Weights`] chose; `wrapping_add` only keeps the
/// arithmetic free of overflow checks.
fn portable_tile(xq: &[i16], w: &[i16], k_pad: usize, rows: usize, cols: usize) -> [[i32; TILE_COLS]; TILE_ROWS] {
    let mut out = [[0i32; TILE_COLS]; TILE_ROWS];
    for (r, out) in out.iter_mut().enumerate().take(rows) {
        let a = &xq[r * k_pad..(r + 1) * k_pad];
        for (c, out) in out.iter_mut().enumerate().take(cols) {
            let b = &w[c * k_pad..(c + 1) * k_pad];
            *out = a.iter().zip(b).fold(0i32, |s, (&x, &y)| s.wrapping_add(i32::from(x) * i32::from(y)));
        }
    }
    out
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::{TILE_COLS, TILE_ROWS};
    use core::arch::wasm32::*;

    /// Sum of the four lanes (wrapping, as the portable sums).
    #[inline(always)]
    fn lanes(v: v128) -> i32 {
        i32x4_extract_lane::<0>(v)
            .wrapping_add(i32x4_extract_lane::<1>(v))
            .wrapping_add(i32x4_extract_lane::<2>(v))
            .wrapping_add(i32x4_extract_lane::<3>(v))
    }

    /// `v128` at `s[k..k + 8]`; the caller keeps `k + 8 <= s.len()`.
    #[inline(always)]
    fn load(s: &[i16], k: usize) -> v128 {
        debug_assert!(k + 8 <= s.len());
        // SAFETY: k + 8 <= s.len() (every caller loops while k + 8 <= k_pad,
        // and each slice holds k_pad values); v128.load takes any alignment.
        unsafe { v128_load(s.as_ptr().add(k).cast::<v128>()) }
    }

    /// The full tile: 4 rows × 2 columns, written out so that it stays in
    /// registers at the release profile's `opt-level = "s"` (loops over
    /// arrays of accumulators were not unrolled there and ran 20× slower).
    #[inline(never)]
    fn tile_4x2(xq: &[i16], w: &[i16], k_pad: usize) -> [[i32; TILE_COLS]; TILE_ROWS] {
        let (Some(x0), Some(x1), Some(x2), Some(x3), Some(w0), Some(w1)) = (
            xq.get(..k_pad),
            xq.get(k_pad..2 * k_pad),
            xq.get(2 * k_pad..3 * k_pad),
            xq.get(3 * k_pad..4 * k_pad),
            w.get(..k_pad),
            w.get(k_pad..2 * k_pad),
        ) else {
            return [[0; TILE_COLS]; TILE_ROWS];
        };
        let zero = i32x4_splat(0);
        let (mut c00, mut c01, mut c10, mut c11) = (zero, zero, zero, zero);
        let (mut c20, mut c21, mut c30, mut c31) = (zero, zero, zero, zero);
        let mut k = 0;
        while k + 8 <= k_pad {
            let (b0, b1) = (load(w0, k), load(w1, k));
            let a = load(x0, k);
            c00 = i32x4_add(c00, i32x4_dot_i16x8(a, b0));
            c01 = i32x4_add(c01, i32x4_dot_i16x8(a, b1));
            let a = load(x1, k);
            c10 = i32x4_add(c10, i32x4_dot_i16x8(a, b0));
            c11 = i32x4_add(c11, i32x4_dot_i16x8(a, b1));
            let a = load(x2, k);
            c20 = i32x4_add(c20, i32x4_dot_i16x8(a, b0));
            c21 = i32x4_add(c21, i32x4_dot_i16x8(a, b1));
            let a = load(x3, k);
            c30 = i32x4_add(c30, i32x4_dot_i16x8(a, b0));
            c31 = i32x4_add(c31, i32x4_dot_i16x8(a, b1));
            k += 8;
        }
        [
            [lanes(c00), lanes(c01)],
            [lanes(c10), lanes(c11)],
            [lanes(c20), lanes(c21)],
            [lanes(c30), lanes(c31)],
        ]
    }

    /// One row with one column (the edges of the matrix).
    #[inline(always)]
    fn dot(x: &[i16], w: &[i16], k_pad: usize) -> i32 {
        let (Some(x), Some(w)) = (x.get(..k_pad), w.get(..k_pad)) else { return 0 };
        let mut acc = i32x4_splat(0);
        let mut k = 0;
        while k + 8 <= k_pad {
            acc = i32x4_add(acc, i32x4_dot_i16x8(load(x, k), load(w, k)));
            k += 8;
        }
        lanes(acc)
    }

    /// The tile of `rows` (1 to 4) rows and `cols` (1 or 2) columns.
    pub(super) fn tile(xq: &[i16], w: &[i16], k_pad: usize, rows: usize, cols: usize) -> [[i32; TILE_COLS]; TILE_ROWS] {
        if rows == TILE_ROWS && cols == TILE_COLS {
            return tile_4x2(xq, w, k_pad);
        }
        let mut out = [[0i32; TILE_COLS]; TILE_ROWS];
        for (r, out) in out.iter_mut().enumerate().take(rows) {
            for (c, out) in out.iter_mut().enumerate().take(cols) {
                *out = dot(xq.get(r * k_pad..).unwrap_or(&[]), w.get(c * k_pad..).unwrap_or(&[]), k_pad);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    }

    fn reference(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        (0..m)
            .flat_map(|r| (0..n).map(move |c| (0..k).map(|i| f64::from(x[r * k + i]) * f64::from(w[i * n + c])).sum()))
            .collect()
    }

    #[test]
    fn int8_columns_come_back_exactly() {
        let (k, n) = (5, 3);
        let scales = [0.5f32, 0.01, 3.0];
        let q: Vec<i8> = (0..k * n).map(|i| ((i * 37 % 255) as i32 - 127) as i8).collect();
        let mut w: Vec<f32> = (0..k * n).map(|i| f32::from(q[i]) * scales[i % n]).collect();
        for c in 0..n {
            w[c] = 127.0 * scales[c]; // every column reaches 127
        }
        let weights = Int8Weights::quantize(&w, k, n).unwrap();
        for i in 0..k {
            for c in 0..n {
                assert_eq!(weights.dequantized(i, c), w[i * n + c], "row {i} column {c}");
            }
        }
    }

    #[test]
    fn products_match_f64_within_the_quantisation_error() {
        let mut seed = 7;
        for &(m, k, n) in &[(1, 8, 2), (7, 384, 13), (29, 1536, 5), (4, 3, 1), (5, 17, 9)] {
            let x: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed) * 4.0).collect();
            let w: Vec<f32> = (0..k * n).map(|_| lcg(&mut seed) * 0.1).collect();
            let bias: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let weights = Int8Weights::quantize(&w, k, n).unwrap();
            let mut y = vec![0f32; m * n];
            weights.matmul(&x, m, Some(&bias), &mut y).unwrap();
            // the exact product with the int8 weights, in f64
            let wq: Vec<f32> = (0..k * n).map(|i| weights.dequantized(i / n, i % n)).collect();
            let exact = reference(&x, &wq, m, k, n);
            for r in 0..m {
                let xmax = x[r * k..(r + 1) * k].iter().fold(0f32, |a, v| a.max(v.abs()));
                for c in 0..n {
                    let wsum: f64 = (0..k).map(|i| f64::from(wq[i * n + c].abs())).sum();
                    // each activation is off by at most half a step
                    let bound = wsum * f64::from(xmax) / f64::from(weights.row_limit()) * 0.5 + 1e-4;
                    let got = f64::from(y[r * n + c]) - f64::from(bias[c]);
                    let want = exact[r * n + c];
                    assert!((got - want).abs() <= bound, "({m},{k},{n}) row {r} col {c}: {got} vs {want} (bound {bound})");
                }
            }
        }
    }

    #[test]
    fn the_row_limit_keeps_every_sum_within_i32() {
        for k in [1, 8, 384, 1536, 3072, MAX_K] {
            let w = Int8Weights::quantize(&vec![1.0; k], k, 1).unwrap();
            let worst = 127i64 * i64::from(w.row_limit()) * w.k_padded() as i64;
            assert!(worst <= i64::from(i32::MAX), "k = {k}");
            assert!(w.row_limit() >= 127, "k = {k}");
        }
        // the worst case runs: every activation at the limit, every weight 127
        let k = 1536;
        let w = Int8Weights::quantize(&vec![-1.0; k], k, 1).unwrap();
        let mut y = [0f32];
        w.matmul(&vec![-1.0; k], 1, None, &mut y).unwrap();
        assert!((y[0] - k as f32).abs() < 1e-3 * k as f32, "{}", y[0]);
    }

    #[test]
    fn a_transposed_matrix_gives_the_same_weights() {
        let (k, n) = (13, 7);
        let w: Vec<f32> = (0..k * n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 9.0).collect();
        let w_t: Vec<f32> = (0..n * k).map(|i| w[(i % k) * n + i / k]).collect();
        let (a, b) = (Int8Weights::quantize(&w, k, n).unwrap(), Int8Weights::quantize_transposed(&w_t, k, n).unwrap());
        assert_eq!((a.values.clone(), a.scales.clone()), (b.values, b.scales));
        assert!(Int8Weights::quantize_transposed(&w_t[1..], k, n).is_err());
    }

    #[test]
    fn bad_rows_and_shapes() {
        let w = Int8Weights::quantize(&[1.0, 2.0, 3.0, 4.0], 2, 2).unwrap();
        let mut y = [0f32; 4];
        w.matmul(&[f32::NAN, 1.0, 0.0, 0.0], 2, Some(&[5.0, 6.0]), &mut y).unwrap();
        assert!(y[0].is_nan() && y[1].is_nan());
        assert_eq!(&y[2..], &[5.0, 6.0]);
        assert!(w.matmul(&[1.0; 3], 2, None, &mut y).is_err());
        assert!(w.matmul(&[1.0; 4], 2, None, &mut y[..3]).is_err());
        assert!(w.matmul(&[1.0; 4], 2, Some(&[1.0]), &mut y).is_err());
        assert!(Int8Weights::quantize(&[1.0; 3], 2, 2).is_err());
        assert!(Int8Weights::quantize(&[f32::INFINITY; 4], 2, 2).is_err());
        assert!(Int8Weights::quantize(&[], 0, 2).is_err());
        assert!(Int8Weights::quantize(&[0.0; 4], 2, 2).is_ok());
    }
}
