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

    /// Row `i` as f32 (dequantized for int8).
    pub fn row(&self, i: usize) -> Option<Vec<f32>> {
        match self {
            Embeddings::F32 { dim, values } => values.get(i * dim..(i + 1) * dim).map(<[f32]>::to_vec),
            Embeddings::I8(q) => {
                let scale = *q.scales.get(i)?;
                let row = q.values.get(i * q.dim..(i + 1) * q.dim)?;
                Some(row.iter().map(|&v| f32::from(v) * scale).collect())
            }
        }
    }
}

