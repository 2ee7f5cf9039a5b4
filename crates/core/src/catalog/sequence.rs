//! The collaborative sequence model stored in a catalog bundle.
//!
//! Learned offline from public or aggregate interaction logs (other users'
//! histories, `recagent build-catalog`), used on the device: the user's own,
//! private history is folded into one user vector
//!
//! ```text
//! u = Σ_l  position_weight[l] · kind_weight[kind_l] · strength_l · input[item_l]
//! ```
//!
//! over the `window` most recent history items (`l = 0` is the most recent),
//! refined by a small residual MLP when the model has one
//! (`u ← u + relu(u·W1 + b1)·W2`), and every catalog item `j` scores
//! `output[j] · u + bias[j]`: a next-item model (a softmax over the catalog
//! during training). Explanations attribute the score to the history items
//! by gradient × input (exact when there is no MLP).

use crate::error::{Error, Result};
use crate::vectors::Embeddings;

/// Number of kind classes: 0 = implicit (no rating), 1..=5 = star ratings.
pub const KIND_CLASSES: usize = 6;

/// A learned next-item model over a catalog's items (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceModel {
    /// Width of the item vectors.
    pub dim: usize,
    /// Number of most recent history items that shape the user vector.
    pub window: usize,
    /// Context ("input") vector of every item, `items × dim`: f32 as
    /// trained, or int8 with a per-row scale ([`SequenceModel::quantize`]).
    pub input: Embeddings,
    /// Target ("output") vector of every item, `items × dim`, f32 or int8.
    pub output: Embeddings,
    /// Per-item prior (the softmax bias: roughly log-popularity).
    pub bias: Vec<f32>,
    /// Weight of the history item at each recency position (`window` values).
    pub position_weights: Vec<f32>,
    /// Weight of each kind class ([`KIND_CLASSES`] values).
    pub kind_weights: Vec<f32>,
    /// Width of the residual MLP's hidden layer (0: no MLP).
    pub hidden: usize,
    /// MLP input weights, row-major `dim × hidden`.
    pub w1: Vec<f32>,
    /// MLP hidden bias (`hidden` values).
    pub b1: Vec<f32>,
    /// MLP output weights, row-major `hidden × dim`.
    pub w2: Vec<f32>,
}

/// One history item as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContextItem {
    /// Catalog index of the item.
    pub item: u32,
    /// Kind class: 0 implicit, 1..=5 star rating (clamped).
    pub kind: u8,
    /// Extra multiplier from the event (dwell time, time decay, …), usually in `[0, 1]`.
    pub strength: f32,
}

impl SequenceModel {
    /// Number of items the model covers.
    pub fn items(&self) -> usize {
        self.bias.len()
    }

    /// Checks that every array has the length its header promises and that
    /// every value is finite.
    pub fn validate(&self, items: usize) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidCatalog(format!("sequence model: {what}")));
        if self.dim == 0 || self.window == 0 {
            return bad("dim and window must be positive");
        }
        if self.bias.len() != items {
            return bad("bias length differs from the item count");
        }
        for m in [&self.input, &self.output] {
            if m.rows() != items || m.dim() != self.dim {
                return bad("input/output matrices have the wrong size");
            }
            if !m.is_finite() {
                return bad("non-finite value");
            }
        }
        if self.position_weights.len() != self.window || self.kind_weights.len() != KIND_CLASSES
        {
            return bad("weight vectors have the wrong size");
        }
        let h = self.hidden;
        let Some(mlp) = self.dim.checked_mul(h) else {
            return bad("dim × hidden overflows");
        };
        if self.w1.len() != mlp || self.b1.len() != h || self.w2.len() != mlp {
            return bad("MLP weights have the wrong size");
        }
        let all = [
            &self.bias,
            &self.position_weights,
            &self.kind_weights,
            &self.w1,
            &self.b1,
            &self.w2,
        ];
        if all.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
            return bad("non-finite value");
        }
        Ok(())
    }

    /// The weight the model gives the history item at recency `position`
    /// (0 = most recent) with the given kind and strength.
    pub fn context_weight(&self, position: usize, item: &ContextItem) -> f32 {
        let pos = self.position_weights.get(position).copied().unwrap_or(0.0);
        let kind = self
            .kind_weights
            .get(usize::from(item.kind).min(KIND_CLASSES - 1))
            .copied()
            .unwrap_or(0.0);
        pos * kind * item.strength
    }

    /// Converts the input and output matrices to int8 with a per-row scale
    /// (4× less memory; scores within about 1 % of f32). The small vectors
    /// and the MLP stay f32.
    pub fn quantize(&mut self) -> Result<()> {
        self.input = self.input.quantized()?;
        self.output = self.output.quantized()?;
        Ok(())
    }

    /// Bytes the model holds in memory.
    pub fn memory_bytes(&self) -> usize {
        self.input.memory_bytes()
            + self.output.memory_bytes()
            + 4 * (self.bias.len()
                + self.position_weights.len()
                + self.kind_weights.len()
                + self.w1.len()
                + self.b1.len()
                + self.w2.len())
    }

    /// Folds a chronological history (oldest first) into the user vector
    /// (pooling, then the MLP). Items out of range are skipped. Returns
    /// `None` when nothing counted.
    pub fn user_vector(&self, history: &[ContextItem]) -> Option<Vec<f32>> {
        self.user_vector_with(history, &[])
    }

    /// [`SequenceModel::user_vector`] with input rows of items the model
    /// does not hold: a history item numbered `items() + k` reads
    /// `carried[k]` (an item a candidate engine brought with its rows).
    pub fn user_vector_with(&self, history: &[ContextItem], carried: &[Vec<f32>]) -> Option<Vec<f32>> {
        let pooled = self.pooled_with(history, carried)?;
        Some(self.refine(&pooled).0)
    }

    /// The MLP's pre-activation `z = u·W1 + b1` for a pooled vector.
    fn pre_activation(&self, pooled: &[f32]) -> Vec<f32> {
        let mut z = self.b1.clone();
        for (x, row) in pooled.iter().zip(self.w1.chunks_exact(self.hidden.max(1))) {
            if self.hidden == 0 {
                break;
            }
            z.iter_mut().zip(row).for_each(|(z, w)| *z += x * w);
        }
        z
    }

    /// The refined user vector `u + relu(z)·W2` and the pre-activation `z`.
    pub fn refine(&self, pooled: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mut u = pooled.to_vec();
        if self.hidden == 0 {
            return (u, Vec::new());
        }
        let z = self.pre_activation(pooled);
        for (zk, row) in z.iter().zip(self.w2.chunks_exact(self.dim)) {
            if *zk > 0.0 {
                u.iter_mut().zip(row).for_each(|(u, w)| *u += zk * w);
            }
        }
        (u, z)
    }

    /// The position- and kind-weighted sum of the history's input vectors.
    pub fn pooled(&self, history: &[ContextItem]) -> Option<Vec<f32>> {
        self.pooled_with(history, &[])
    }

    /// [`SequenceModel::pooled`] with carried input rows (see
    /// [`SequenceModel::user_vector_with`]); a carried row of another
    /// width is skipped.
    pub fn pooled_with(&self, history: &[ContextItem], carried: &[Vec<f32>]) -> Option<Vec<f32>> {
        let mut u = vec![0.0f32; self.dim];
        let mut any = false;
        for (position, item) in history.iter().rev().take(self.window).enumerate() {
            let w = self.context_weight(position, item);
            let i = item.item as usize;
            if w == 0.0 {
                continue;
            }
            if i < self.items() {
                any |= self.input.add_row_scaled(i, w, &mut u);
            } else if let Some(row) = i.checked_sub(self.items()).and_then(|k| carried.get(k)).filter(|r| r.len() == self.dim) {
                u.iter_mut().zip(row).for_each(|(u, x)| *u += w * x);
                any = true;
            }
        }
        any.then_some(u)
    }

    /// How much each of the last `window` history items adds to item
    /// `target`'s score: `(index into history, contribution)`, largest first.
    pub fn contributions(&self, history: &[ContextItem], target: u32) -> Vec<(usize, f32)> {
        let t = target as usize;
        if t >= self.items() {
            return Vec::new();
        }
        let Some(mut out) = self.output.row(t) else {
            return Vec::new();
        };
        // Through the MLP: d score / d pooled = q + W1 · diag(z > 0) · W2 · q.
        if self.hidden > 0 {
            if let Some(pooled) = self.pooled(history) {
                let (_, z) = self.refine(&pooled);
                let q = out.clone();
                for (k, zk) in z.iter().enumerate() {
                    if *zk <= 0.0 {
                        continue;
                    }
                    let w2q: f32 = self.w2[k * self.dim..(k + 1) * self.dim].iter().zip(&q).map(|(a, b)| a * b).sum();
                    for (i, o) in out.iter_mut().enumerate() {
                        *o += self.w1[i * self.hidden + k] * w2q;
                    }
                }
            }
        }
        let out = &out;
        let n = history.len();
        let mut parts: Vec<(usize, f32)> = history
            .iter()
            .rev()
            .take(self.window)
            .enumerate()
            .filter_map(|(position, item)| {
                let dot = self.input.row_dot(item.item as usize, out)?;
                Some((n - 1 - position, self.context_weight(position, item) * dot))
            })
            .collect();
        parts.sort_by(|a, b| b.1.total_cmp(&a.1));
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> SequenceModel {
        SequenceModel {
            dim: 2,
            window: 2,
            input: Embeddings::F32 { dim: 2, values: vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0] },
            output: Embeddings::F32 { dim: 2, values: vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5] },
            bias: vec![0.0, 0.1, 0.2],
            position_weights: vec![1.0, 0.5],
            kind_weights: vec![1.0; KIND_CLASSES],
            hidden: 0,
            w1: Vec::new(),
            b1: Vec::new(),
            w2: Vec::new(),
        }
    }

    fn item(i: u32) -> ContextItem {
        ContextItem {
            item: i,
            kind: 0,
            strength: 1.0,
        }
    }

    #[test]
    fn user_vector_weights_recent_items_and_respects_the_window() {
        let m = tiny();
        m.validate(3).unwrap();
        // Oldest first: item 2 falls out of the window of 2.
        let u = m.user_vector(&[item(2), item(0), item(1)]).unwrap();
        assert_eq!(u, vec![0.5, 1.0]);
        assert!(m.user_vector(&[]).is_none());
    }

    #[test]
    fn contributions_sum_to_the_score_without_bias() {
        let m = tiny();
        let history = [item(0), item(1)];
        let u = m.user_vector(&history).unwrap();
        let score = m.output.row_dot(0, &u).unwrap();
        let parts = m.contributions(&history, 0);
        let total: f32 = parts.iter().map(|p| p.1).sum();
        assert!((total - score).abs() < 1e-6);
        assert_eq!(parts[0].0, 0, "item 0 (history index 0) drives target 0");
    }

    #[test]
    fn validate_rejects_inconsistent_models() {
        let mut m = tiny();
        m.bias.push(0.0);
        assert_eq!(m.validate(3).unwrap_err().code(), "invalid_catalog");
        let mut m = tiny();
        m.input.f32_values_mut().unwrap()[0] = f32::NAN;
        assert!(m.validate(3).is_err());
    }

    #[test]
    fn an_int8_model_scores_like_the_f32_one_in_a_quarter_of_the_memory() {
        // 200 items × 16 with varied rows, so quantization error is real.
        let (items, dim) = (200usize, 16usize);
        let value = |i: usize, s: f32| ((i as f32 * 0.37 + s).sin() * 1.7).tan().clamp(-3.0, 3.0);
        let mut m = SequenceModel {
            dim,
            window: 4,
            input: Embeddings::F32 { dim, values: (0..items * dim).map(|i| value(i, 0.1)).collect() },
            output: Embeddings::F32 { dim, values: (0..items * dim).map(|i| value(i, 0.9)).collect() },
            bias: vec![0.0; items],
            position_weights: vec![1.0, 0.8, 0.6, 0.4],
            kind_weights: vec![1.0; KIND_CLASSES],
            hidden: 0,
            w1: Vec::new(),
            b1: Vec::new(),
            w2: Vec::new(),
        };
        let history: Vec<ContextItem> = [3u32, 70, 11, 199, 42].iter().map(|&i| item(i)).collect();
        let exact_u = m.user_vector(&history).unwrap();
        let exact: Vec<f32> = (0..items).map(|t| m.output.row_dot(t, &exact_u).unwrap()).collect();
        let before = m.memory_bytes();
        m.quantize().unwrap();
        m.validate(items).unwrap();
        assert!(matches!(m.input, Embeddings::I8(_)) && matches!(m.output, Embeddings::I8(_)));
        // each matrix: 4 bytes per value become 1, plus one f32 scale per row
        assert_eq!(m.memory_bytes(), before - 2 * items * dim * 4 + 2 * (items * dim + items * 4));
        let u = m.user_vector(&history).unwrap();
        let mut scores = vec![0.0; items];
        m.output.scores(&u, &mut scores).unwrap();
        let spread = exact.iter().fold(0f32, |a, x| a.max(x.abs()));
        for (t, (a, b)) in exact.iter().zip(&scores).enumerate() {
            assert!((a - b).abs() <= 0.03 * spread, "item {t}: {a} vs {b}");
        }
        let parts = m.contributions(&history, 7);
        let total: f32 = parts.iter().map(|p| p.1).sum();
        assert!((total - m.output.row_dot(7, &u).unwrap()).abs() <= 1e-3 * spread.max(1.0));
    }
}
