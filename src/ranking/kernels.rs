//! PLACEHOLDER (scalar) until the kernels branch lands; same API.
use crate::error::{Error, Result};

/// out[i] = dot(row i, query).
pub fn scores_f32(matrix: &[f32], dim: usize, query: &[f32], out: &mut [f32]) -> Result<()> {
    if dim == 0 || query.len() != dim || matrix.len() != out.len() * dim {
        return Err(Error::InvalidInput("scores_f32: bad lengths".into()));
    }
    for (o, row) in out.iter_mut().zip(matrix.chunks_exact(dim)) {
        *o = row.iter().zip(query).map(|(a, b)| a * b).sum();
    }
    Ok(())
}

/// Row-wise symmetric int8 quantization.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedMatrix {
    /// Row width.
    pub dim: usize,
    /// Values.
    pub values: Vec<i8>,
    /// Scales.
    pub scales: Vec<f32>,
}

impl QuantizedMatrix {
    /// Quantizes.
    pub fn quantize(matrix: &[f32], dim: usize) -> Result<Self> {
        if dim == 0 || matrix.len() % dim != 0 {
            return Err(Error::InvalidInput("quantize: bad lengths".into()));
        }
        let mut values = Vec::with_capacity(matrix.len());
        let mut scales = Vec::new();
        for row in matrix.chunks_exact(dim) {
            let m = row.iter().fold(0f32, |a, b| a.max(b.abs()));
            let s = if m > 0.0 { m / 127.0 } else { 1.0 };
            scales.push(s);
            values.extend(row.iter().map(|x| (x / s).round().clamp(-127.0, 127.0) as i8));
        }
        Ok(Self { dim, values, scales })
    }
    /// Rows.
    pub fn rows(&self) -> usize {
        self.scales.len()
    }
    /// From parts.
    pub fn from_parts(dim: usize, values: Vec<i8>, scales: Vec<f32>) -> Result<Self> {
        if dim == 0 || values.len() != scales.len() * dim {
            return Err(Error::InvalidInput("from_parts: bad lengths".into()));
        }
        Ok(Self { dim, values, scales })
    }
}

/// Quantized query.
pub struct QuantizedQuery {
    /// Values.
    pub values: Vec<i8>,
    /// Scale.
    pub scale: f32,
}

impl QuantizedQuery {
    /// Quantizes.
    pub fn quantize(query: &[f32]) -> Self {
        let m = query.iter().fold(0f32, |a, b| a.max(b.abs()));
        let s = if m > 0.0 { m / 127.0 } else { 1.0 };
        Self { values: query.iter().map(|x| (x / s).round().clamp(-127.0, 127.0) as i8).collect(), scale: s }
    }
}

/// int8 scores.
pub fn scores_i8(matrix: &QuantizedMatrix, query: &QuantizedQuery, out: &mut [f32]) -> Result<()> {
    let dim = matrix.dim;
    if query.values.len() != dim || out.len() != matrix.rows() {
        return Err(Error::InvalidInput("scores_i8: bad lengths".into()));
    }
    for ((o, row), s) in out.iter_mut().zip(matrix.values.chunks_exact(dim)).zip(&matrix.scales) {
        let acc: i32 = row.iter().zip(&query.values).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum();
        *o = acc as f32 * s * query.scale;
    }
    Ok(())
}
