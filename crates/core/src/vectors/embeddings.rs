//! [`Embeddings`]: the item matrices the catalog holds and ranking scans,
//! f32 or int8, over the scan [`kernels`](super::kernels).

use super::kernels::{scores_f32, scores_i8, QuantizedMatrix, QuantizedQuery};
use crate::error::{Error, Result};

/// A dense embedding matrix, one row per item, stored as f32 or as int8 with
/// a per-row scale (4× smaller, about 2.5× faster to scan, approximate).
#[derive(Debug, Clone, PartialEq)]
pub enum Embeddings {
    /// Row-major `rows × dim` f32.
    F32 {
        /// Row width.
        dim: usize,
        /// `rows × dim` values.
        values: Vec<f32>,
    },
    /// Row-wise symmetric int8 quantization.
    I8(QuantizedMatrix),
}

impl Embeddings {
    /// Row width.
    pub fn dim(&self) -> usize {
        match self {
            Embeddings::F32 { dim, .. } => *dim,
            Embeddings::I8(q) => q.dim,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        match self {
            Embeddings::F32 { dim, values } => values.len() / (*dim).max(1),
            Embeddings::I8(q) => q.rows(),
        }
    }

    /// Bytes held in memory by the matrix.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Embeddings::F32 { values, .. } => values.len() * 4,
            Embeddings::I8(q) => q.values.len() + q.scales.len() * 4,
        }
    }

    /// The int8 form of this matrix (a copy when it is already int8).
    pub fn quantized(&self) -> Result<Embeddings> {
        match self {
            Embeddings::F32 { dim, values } => Ok(Embeddings::I8(QuantizedMatrix::quantize(values, *dim)?)),
            Embeddings::I8(q) => Ok(Embeddings::I8(q.clone())),
        }
    }

    /// `out[i] = row_i · query` for every row (the int8 form quantizes the query).
    pub fn scores(&self, query: &[f32], out: &mut [f32]) -> Result<()> {
        if query.len() != self.dim() || out.len() != self.rows() {
            return Err(Error::InvalidInput(format!(
                "scoring {} rows of width {} with a query of width {} into {} slots",
                self.rows(),
                self.dim(),
                query.len(),
                out.len()
            )));
        }
        match self {
            Embeddings::F32 { dim, values } => scores_f32(values, *dim, query, out),
            Embeddings::I8(q) => scores_i8(q, &QuantizedQuery::quantize(query), out),
        }
    }

    /// The values of an f32 matrix (`None` for int8), for code that trains
    /// or rewrites it in place.
    pub fn f32_values_mut(&mut self) -> Option<&mut [f32]> {
        match self {
            Embeddings::F32 { values, .. } => Some(values),
            Embeddings::I8(_) => None,
        }
    }

    /// The values of an f32 matrix (`None` for int8).
    pub fn f32_values(&self) -> Option<&[f32]> {
        match self {
            Embeddings::F32 { values, .. } => Some(values),
            Embeddings::I8(_) => None,
        }
    }

    /// Whether every value (and every int8 scale) is finite.
    pub fn is_finite(&self) -> bool {
        match self {
            Embeddings::F32 { values, .. } => values.iter().all(|x| x.is_finite()),
            Embeddings::I8(q) => q.scales.iter().all(|x| x.is_finite()),
        }
    }

    /// `acc += weight × row_i` without allocating; `false` (and `acc`
    /// untouched) when `i` is out of range or `acc` has another width.
    pub fn add_row_scaled(&self, i: usize, weight: f32, acc: &mut [f32]) -> bool {
        if acc.len() != self.dim() {
            return false;
        }
        match self {
            Embeddings::F32 { dim, values } => {
                let Some(row) = row_span(i, *dim).and_then(|r| values.get(r)) else { return false };
                acc.iter_mut().zip(row).for_each(|(a, x)| *a += weight * x);
            }
            Embeddings::I8(q) => {
                let (Some(scale), Some(row)) = (q.scales.get(i), row_span(i, q.dim).and_then(|r| q.values.get(r))) else {
                    return false;
                };
                let w = weight * scale;
                acc.iter_mut().zip(row).for_each(|(a, &x)| *a += w * f32::from(x));
            }
        }
        true
    }

    /// `row_i · v` (in f32, dequantizing an int8 row exactly); `None` when
    /// `i` is out of range or `v` has another width.
    pub fn row_dot(&self, i: usize, v: &[f32]) -> Option<f32> {
        if v.len() != self.dim() {
            return None;
        }
        match self {
            Embeddings::F32 { dim, values } => {
                Some(values.get(row_span(i, *dim)?)?.iter().zip(v).map(|(a, b)| a * b).sum())
            }
            Embeddings::I8(q) => {
                let scale = *q.scales.get(i)?;
                let row = q.values.get(row_span(i, q.dim)?)?;
                Some(scale * row.iter().zip(v).map(|(&a, b)| f32::from(a) * b).sum::<f32>())
            }
        }
    }

    /// The same matrix with every row scaled to unit length (zero rows stay
    /// zero); for int8 only the scales change.
    pub fn normalized_rows(&self) -> Embeddings {
        match self {
            Embeddings::F32 { dim, values } => {
                let mut values = values.clone();
                for row in values.chunks_exact_mut((*dim).max(1)) {
                    let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                    if norm > 0.0 {
                        row.iter_mut().for_each(|x| *x /= norm);
                    }
                }
                Embeddings::F32 { dim: *dim, values }
            }
            Embeddings::I8(q) => {
                let mut q = q.clone();
                for (row, scale) in q.values.chunks_exact(q.dim.max(1)).zip(q.scales.iter_mut()) {
                    let norm = row.iter().map(|&x| f32::from(x) * f32::from(x)).sum::<f32>().sqrt();
                    *scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
                }
                Embeddings::I8(q)
            }
        }
    }

    /// Row `i` as f32 (dequantized for int8).
    pub fn row(&self, i: usize) -> Option<Vec<f32>> {
        match self {
            Embeddings::F32 { dim, values } => values.get(row_span(i, *dim)?).map(<[f32]>::to_vec),
            Embeddings::I8(q) => {
                let scale = *q.scales.get(i)?;
                let row = q.values.get(row_span(i, q.dim)?)?;
                Some(row.iter().map(|&v| f32::from(v) * scale).collect())
            }
        }
    }
}


/// The values of row `i` in a row-major matrix `dim` wide, `None` when the
/// arithmetic overflows (an index from outside never wraps to another row).
fn row_span(i: usize, dim: usize) -> Option<std::ops::Range<usize>> {
    let start = i.checked_mul(dim)?;
    Some(start..start.checked_add(dim)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both() -> (Embeddings, Embeddings) {
        let values = vec![3.0, 4.0, 0.0, 0.0, -1.0, 2.0, 0.5, -0.25, 1.5];
        let f = Embeddings::F32 { dim: 3, values };
        let q = f.quantized().unwrap();
        (f, q)
    }

    #[test]
    fn row_helpers_agree_between_f32_and_int8_and_refuse_bad_shapes() {
        let (f, q) = both();
        let v = [0.5, -1.0, 2.0];
        for i in 0..3 {
            let (a, b) = (f.row_dot(i, &v).unwrap(), q.row_dot(i, &v).unwrap());
            assert!((a - b).abs() < 0.05, "row {i}: {a} vs {b}");
            let (mut x, mut y) = (vec![1.0; 3], vec![1.0; 3]);
            assert!(f.add_row_scaled(i, 2.0, &mut x) && q.add_row_scaled(i, 2.0, &mut y));
            assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 0.05), "{x:?} vs {y:?}");
        }
        assert_eq!(f.row_dot(3, &v), None);
        // an index whose offset overflows is out of range, never another row
        assert_eq!(f.row_dot(usize::MAX / 2, &v), None);
        assert_eq!(q.row(usize::MAX / 2), None);
        assert_eq!(q.row_dot(0, &v[..2]), None);
        let mut short = vec![0.0; 2];
        assert!(!f.add_row_scaled(0, 1.0, &mut short) && !q.add_row_scaled(9, 1.0, &mut vec![0.0; 3]));
        assert!(f.is_finite() && q.is_finite());
        assert!(f.f32_values().is_some() && q.f32_values().is_none());
    }

    #[test]
    fn normalized_rows_have_unit_length_and_zero_rows_stay_zero() {
        let (f, q) = both();
        for m in [f.normalized_rows(), q.normalized_rows()] {
            for i in 0..3 {
                let row = m.row(i).unwrap();
                let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                assert!((norm - 1.0).abs() < 1e-5, "row {i}: {norm}");
            }
        }
        let zero = Embeddings::F32 { dim: 2, values: vec![0.0, 0.0] };
        assert_eq!(zero.normalized_rows().row(0).unwrap(), vec![0.0, 0.0]);
        assert_eq!(zero.quantized().unwrap().normalized_rows().row(0).unwrap(), vec![0.0, 0.0]);
    }
}
