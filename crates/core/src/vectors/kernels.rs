//! Dense scoring kernels: one dot product per catalog row.
//!
//! The catalog is a row-major matrix, `rows × dim`, one item embedding per
//! row. Two representations:
//! - **f32**: [`scores_f32`], exact up to float summation order.
//! - **int8**: [`QuantizedMatrix`] (row-wise symmetric quantization, one f32
//!   scale per row) scored against a [`QuantizedQuery`] by [`scores_i8`]
//!   with exact `i8 × i8 → i32` accumulation; 4× less memory to read, an
//!   approximation of the f32 scores (see [`QuantizedMatrix::quantize`]).
//!
//! Implementations, chosen at compile time or at run time, all computing the
//! same function:
//! - wasm32 with `simd128` (how the package is built): hand-written
//!   `core::arch::wasm32` kernels, four rows per pass;
//! - x86-64 with AVX2 + FMA (detected at run time): `std::arch` kernels,
//!   four rows per pass;
//! - anything else: portable code with several independent accumulators,
//!   which compilers vectorize.
//!
//! Every public function validates its lengths and returns
//! [`Error::InvalidInput`] instead of panicking.

use crate::error::{Error, Result};

mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Largest `dim` accepted by the int8 kernels: `127 · 127 · dim` must fit an
/// `i32` accumulator (with margin), so longer rows are refused rather than
/// silently wrapped.
pub const MAX_I8_DIM: usize = 1 << 16;

/// Largest magnitude of a quantized value: the int8 range is symmetric,
/// `[-127, 127]` (`-128` is never produced and is refused by
/// [`QuantizedMatrix::from_parts`]).
pub const I8_MAX: i8 = 127;

fn invalid(msg: String) -> Error {
    Error::InvalidInput(msg)
}

/// Checks a `matrix`/`query`/`out` triple; returns the number of rows.
fn check_shapes(matrix_len: usize, dim: usize, query_len: usize, out_len: usize) -> Result<usize> {
    if dim == 0 {
        return Err(invalid("dim must be at least 1".into()));
    }
    if query_len != dim {
        return Err(invalid(format!(
            "query has {query_len} values, dim is {dim}"
        )));
    }
    if !matrix_len.is_multiple_of(dim) {
        return Err(invalid(format!(
            "matrix length {matrix_len} is not a multiple of dim {dim}"
        )));
    }
    let rows = matrix_len / dim;
    if out_len != rows {
        return Err(invalid(format!("out has {out_len} slots for {rows} rows")));
    }
    Ok(rows)
}

/// Scores every row against `query`: `out[i] = dot(matrix[i*dim..(i+1)*dim], query)`.
///
/// Requires `dim ≥ 1`, `query.len() == dim`, `matrix.len() == rows * dim`
/// and `out.len() == rows`; otherwise returns [`Error::InvalidInput`] and
/// leaves `out` untouched. Results equal the mathematical dot product up to
/// f32 rounding (the summation order differs between implementations; no
/// result depends on the row's position in the matrix). NaN or infinite
/// inputs propagate to the affected rows' scores.
pub fn scores_f32(matrix: &[f32], dim: usize, query: &[f32], out: &mut [f32]) -> Result<()> {
    check_shapes(matrix.len(), dim, query.len(), out.len())?;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::scores_f32(matrix, dim, query, out);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if x86::has_avx2_fma() {
            // SAFETY: AVX2 and FMA were detected just above; shapes checked.
            unsafe { x86::scores_f32(matrix, dim, query, out) };
        } else {
            scalar::scores_f32(matrix, dim, query, out);
        }
    }
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    {
        scalar::scores_f32(matrix, dim, query, out);
    }
    Ok(())
}

/// Row-wise symmetric int8 quantization of a row-major matrix: row `i` is
/// approximately `values[i*dim..(i+1)*dim] * scales[i]`.
///
/// Invariants (kept by every constructor): `dim ≥ 1`, `dim ≤ MAX_I8_DIM`,
/// `values.len() == rows * dim`, `scales.len() == rows`, every value in
/// `[-127, 127]`, every scale finite and `≥ 0`. The fields are public for
/// serialization; code that builds one by hand should go through
/// [`QuantizedMatrix::from_parts`], and [`scores_i8`] re-checks the lengths.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedMatrix {
    /// Values per row.
    pub dim: usize,
    /// Row-major quantized values, `rows * dim` of them, each in `[-127, 127]`.
    pub values: Vec<i8>,
    /// One scale per row: `row ≈ values * scale`.
    pub scales: Vec<f32>,
}

/// Quantizes `src` into `dst` (same length) with one symmetric scale, which
/// it returns: `scale = max|x| / 127` over the finite values, `dst[j] =
/// round(src[j] / scale)`; non-finite values and an all-zero input give 0.
fn quantize_into(src: &[f32], dst: &mut [i8]) -> f32 {
    debug_assert_eq!(src.len(), dst.len());
    let max_abs = src
        .iter()
        .filter(|x| x.is_finite())
        .fold(0.0f32, |m, x| m.max(x.abs()));
    if max_abs == 0.0 {
        dst.iter_mut().for_each(|d| *d = 0);
        return 0.0;
    }
    let inv = f32::from(I8_MAX) / max_abs;
    for (d, &x) in dst.iter_mut().zip(src) {
        // `as` saturates and maps NaN to 0; the clamp keeps -128 out.
        let q = if x.is_finite() {
            (x * inv).round()
        } else {
            0.0
        };
        *d = q.clamp(-f32::from(I8_MAX), f32::from(I8_MAX)) as i8;
    }
    max_abs / f32::from(I8_MAX)
}

impl QuantizedMatrix {
    /// Quantizes a row-major f32 matrix row by row (symmetric, per-row scale
    /// `max|row| / 127`, round to nearest). For every element the
    /// reconstruction error `|x - q * scale|` is at most `scale / 2`.
    ///
    /// Errors ([`Error::InvalidInput`]): `dim` is 0 or above [`MAX_I8_DIM`],
    /// `matrix.len()` is not a multiple of `dim`, or a value is NaN or
    /// infinite. An all-zero row gets scale 0.
    pub fn quantize(matrix: &[f32], dim: usize) -> Result<Self> {
        check_i8_dim(dim)?;
        if !matrix.len().is_multiple_of(dim) {
            return Err(invalid(format!(
                "matrix length {} is not a multiple of dim {dim}",
                matrix.len()
            )));
        }
        if let Some(pos) = matrix.iter().position(|x| !x.is_finite()) {
            return Err(invalid(format!("matrix value {pos} is not finite")));
        }
        let rows = matrix.len() / dim;
        let mut values = vec![0i8; matrix.len()];
        let mut scales = Vec::with_capacity(rows);
        for (src, dst) in matrix.chunks_exact(dim).zip(values.chunks_exact_mut(dim)) {
            scales.push(quantize_into(src, dst));
        }
        Ok(Self {
            dim,
            values,
            scales,
        })
    }

    /// Builds a matrix from already quantized parts (e.g. loaded from
    /// storage), checking every invariant of [`QuantizedMatrix`]; a
    /// violation is [`Error::InvalidInput`].
    pub fn from_parts(dim: usize, values: Vec<i8>, scales: Vec<f32>) -> Result<Self> {
        check_i8_dim(dim)?;
        if !values.len().is_multiple_of(dim) {
            return Err(invalid(format!(
                "{} values is not a multiple of dim {dim}",
                values.len()
            )));
        }
        let rows = values.len() / dim;
        if scales.len() != rows {
            return Err(invalid(format!("{} scales for {rows} rows", scales.len())));
        }
        if values.contains(&i8::MIN) {
            return Err(invalid("quantized values must be in [-127, 127]".into()));
        }
        if let Some(pos) = scales.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(invalid(format!("scale {pos} is negative or not finite")));
        }
        Ok(Self {
            dim,
            values,
            scales,
        })
    }

    /// Number of rows (items).
    pub fn rows(&self) -> usize {
        self.scales.len()
    }

    /// Appends the quantized rows of `other` (same `dim`) to `self`, so a large
    /// catalog can be quantized chunk by chunk without holding all of it in
    /// f32. A different `dim` is [`Error::InvalidInput`].
    pub fn extend(&mut self, other: &QuantizedMatrix) -> Result<()> {
        if other.dim != self.dim {
            return Err(invalid(format!(
                "cannot append dim {} rows to dim {}",
                other.dim, self.dim
            )));
        }
        self.values.extend_from_slice(&other.values);
        self.scales.extend_from_slice(&other.scales);
        Ok(())
    }
}

fn check_i8_dim(dim: usize) -> Result<()> {
    if dim == 0 || dim > MAX_I8_DIM {
        return Err(invalid(format!("dim {dim} is outside 1..={MAX_I8_DIM}")));
    }
    Ok(())
}

/// A query vector quantized to int8 with one symmetric scale:
/// `query ≈ values * scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedQuery {
    /// Quantized values, each in `[-127, 127]`.
    pub values: Vec<i8>,
    /// `query ≈ values * scale`; finite and `≥ 0`.
    pub scale: f32,
}

impl QuantizedQuery {
    /// Quantizes `query` with scale `max|x| / 127` over its finite values,
    /// rounding to nearest (error per element at most `scale / 2`).
    /// Never fails: NaN and infinite components become 0, and an all-zero
    /// (or empty) query gets scale 0, so every score against it is 0.
    pub fn quantize(query: &[f32]) -> Self {
        let mut values = vec![0i8; query.len()];
        let scale = quantize_into(query, &mut values);
        Self { values, scale }
    }
}

/// Approximate scores of every row of `matrix` against `query`:
/// `out[i] = (Σ_j values[i][j] · query.values[j]) · scales[i] · query.scale`,
/// the integer sum computed exactly in `i32`.
///
/// Against the f32 dot product of the original vectors the error is at most
/// `Σ_j (|q_j|·s_r/2 + |r_j|·s_q/2 + s_r·s_q/4)` (half a quantization step on
/// each side); that is a worst case (about 2 % of `|row|·|query|` for
/// 384-d unit vectors), rounding errors mostly cancel in practice. Ranking
/// by these scores can therefore swap near-ties: for exact top-k, re-score
/// the int8 top `c·k` with [`rescore_f32`].
///
/// Requires `query.values.len() == matrix.dim`, `out.len() == matrix.rows()`
/// and consistent matrix lengths; otherwise [`Error::InvalidInput`].
pub fn scores_i8(matrix: &QuantizedMatrix, query: &QuantizedQuery, out: &mut [f32]) -> Result<()> {
    let dim = matrix.dim;
    if dim > MAX_I8_DIM {
        return Err(invalid(format!("dim {dim} is above {MAX_I8_DIM}")));
    }
    let rows = check_shapes(matrix.values.len(), dim, query.values.len(), out.len())?;
    if matrix.scales.len() != rows {
        return Err(invalid(format!(
            "{} scales for {rows} rows",
            matrix.scales.len()
        )));
    }
    let (values, scales, q) = (&matrix.values[..], &matrix.scales[..], &query.values[..]);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::scores_i8(values, dim, scales, q, query.scale, out);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if x86::has_avx2_fma() {
            // SAFETY: AVX2 was detected just above; shapes checked.
            unsafe { x86::scores_i8(values, dim, scales, q, query.scale, out) };
        } else {
            scalar::scores_i8(values, dim, scales, q, query.scale, out);
        }
    }
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    {
        scalar::scores_i8(values, dim, scales, q, query.scale, out);
    }
    Ok(())
}

/// Sum of all values of `data`, reading it once front to back with the same
/// kind of vector loads as [`scores_f32`]. It exists only as the
/// memory-bandwidth reference (roofline) of the benchmarks: bytes read per
/// second by this function bound what a memory-bound scan can reach. The
/// summation order is unspecified.
pub fn stream_read_f32(data: &[f32]) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::stream_read_f32(data)
    }
    #[cfg(target_arch = "x86_64")]
    {
        if x86::has_avx2_fma() {
            // SAFETY: AVX2 was detected just above.
            unsafe { x86::stream_read_f32(data) }
        } else {
            scalar::stream_read_f32(data)
        }
    }
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    {
        scalar::stream_read_f32(data)
    }
}

/// Which implementation [`scores_f32`] and [`scores_i8`] use on this build
/// and machine: `"wasm-simd128"`, `"x86-avx2"` or `"portable"` (for
/// benchmark reports).
pub fn implementation() -> &'static str {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        "wasm-simd128"
    }
    #[cfg(target_arch = "x86_64")]
    {
        if x86::has_avx2_fma() {
            "x86-avx2"
        } else {
            "portable"
        }
    }
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    {
        "portable"
    }
}

/// Exact re-ranking of candidates: returns `(index, f32 score)` for every
/// candidate index, scored with the f32 `matrix` (`rows × dim`) against
/// `query`, in the order given. Used after an int8 scan to turn its
/// top-`c·k` candidates into exact top-`k` scores.
///
/// Errors ([`Error::InvalidInput`]): inconsistent shapes as in
/// [`scores_f32`], or a candidate index `≥ rows`.
pub fn rescore_f32(
    matrix: &[f32],
    dim: usize,
    query: &[f32],
    candidates: &[u32],
) -> Result<Vec<(u32, f32)>> {
    let rows = matrix.len().checked_div(dim).unwrap_or(0);
    check_shapes(matrix.len(), dim, query.len(), rows)?;
    let mut out = Vec::with_capacity(candidates.len());
    let mut one = [0.0f32];
    for &c in candidates {
        let i = c as usize;
        let row = matrix
            .get(i.saturating_mul(dim)..(i + 1).saturating_mul(dim))
            .ok_or_else(|| invalid(format!("candidate {i} is not a row (rows = {rows})")))?;
        scores_f32(row, dim, query, &mut one)?;
        out.push((c, one[0]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_are_invalid_input() {
        let m = [1.0f32; 6];
        let mut out = [0.0f32; 2];
        assert!(scores_f32(&m, 3, &[1.0; 3], &mut out).is_ok());
        assert_eq!(out, [3.0, 3.0]);
        for (dim, q, o) in [(0, 0, 2), (3, 2, 2), (4, 4, 1), (3, 3, 3)] {
            let e = scores_f32(&m, dim, &vec![1.0; q], &mut vec![0.0; o]).unwrap_err();
            assert_eq!(e.code(), "invalid_input", "dim {dim} q {q} out {o}");
        }
        assert!(QuantizedMatrix::quantize(&m, 4).is_err());
        assert!(QuantizedMatrix::quantize(&[f32::NAN], 1).is_err());
        assert!(QuantizedMatrix::from_parts(2, vec![1, 2], vec![]).is_err());
        assert!(QuantizedMatrix::from_parts(2, vec![1, -128], vec![1.0]).is_err());
        assert!(QuantizedMatrix::from_parts(2, vec![1, 2], vec![-1.0]).is_err());
        assert!(QuantizedMatrix::from_parts(MAX_I8_DIM + 1, vec![], vec![]).is_err());
        let qm = QuantizedMatrix::from_parts(2, vec![1, 2, 3, 4], vec![1.0, 0.5]).unwrap();
        assert_eq!(qm.rows(), 2);
        let bad_scales = QuantizedMatrix {
            dim: 2,
            values: vec![1, 2, 3, 4],
            scales: vec![1.0],
        };
        let q = QuantizedQuery {
            values: vec![1, 1],
            scale: 1.0,
        };
        assert!(scores_i8(&bad_scales, &q, &mut out).is_err());
        assert!(rescore_f32(&m, 3, &[1.0; 3], &[2]).is_err());
    }

    /// The portable kernels (used where no SIMD path exists) equal the
    /// dispatched ones on ragged shapes.
    #[test]
    fn portable_equals_dispatched() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        };
        for (rows, dim) in [(9, 1), (7, 17), (6, 385)] {
            let m: Vec<f32> = (0..rows * dim).map(|_| next()).collect();
            let q: Vec<f32> = (0..dim).map(|_| next()).collect();
            let (mut a, mut b) = (vec![0.0; rows], vec![0.0; rows]);
            scores_f32(&m, dim, &q, &mut a).unwrap();
            scalar::scores_f32(&m, dim, &q, &mut b);
            assert!(
                a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-4),
                "{a:?} {b:?}"
            );
            let (qm, qq) = (
                QuantizedMatrix::quantize(&m, dim).unwrap(),
                QuantizedQuery::quantize(&q),
            );
            scores_i8(&qm, &qq, &mut a).unwrap();
            scalar::scores_i8(&qm.values, dim, &qm.scales, &qq.values, qq.scale, &mut b);
            assert_eq!(a, b);
            assert!((stream_read_f32(&m) - scalar::stream_read_f32(&m)).abs() <= 1e-3);
        }
    }

    #[test]
    fn quantize_edge_cases() {
        let q = QuantizedQuery::quantize(&[0.0, 0.0]);
        assert_eq!((q.values.as_slice(), q.scale), (&[0i8, 0][..], 0.0));
        let q = QuantizedQuery::quantize(&[f32::NAN, 2.0, f32::INFINITY, -1.0]);
        assert_eq!(q.values, vec![0, 127, 0, -64]);
        assert!((q.scale - 2.0 / 127.0).abs() < 1e-9);
        let m = QuantizedMatrix::quantize(&[0.0, 0.0, -3.0, 1.5], 2).unwrap();
        assert_eq!(m.values, vec![0, 0, -127, 64]);
        assert_eq!(m.scales[0], 0.0);
        assert!(QuantizedQuery::quantize(&[]).values.is_empty());
    }
}
