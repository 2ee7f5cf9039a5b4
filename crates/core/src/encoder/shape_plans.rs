//! Plans of the text encoder specialised to concrete `(batch, sequence)`
//! shapes.
//!
//! tract runs a transformer faster when its input shapes are known at
//! optimisation time (static memory, kernels picked for the real sizes). A
//! plan per shape costs an optimisation and its own packed weights, so the
//! shapes are bucketed (a call is padded up to its bucket) and only a few
//! plans live at a time (least recently used first out).

use std::sync::Mutex;

use tract_onnx::prelude::*;

use super::onnx::{self, Plan};
use crate::error::{Error, Result};

/// How many shape plans live at once (each holds its own packed weights).
const LIVE_PLANS: usize = 3;

/// A live shape plan and when it was last used (the LRU's clock).
pub(crate) struct Entry {
    shape: (usize, usize),
    plan: Plan,
    used: u64,
}

/// The plans of one model: one symbolic plan for every shape, or a plan per
/// shape bucket made on first use (the model kept to make them).
pub(crate) enum ShapePlans {
    /// One plan with symbolic batch and sequence (the model is not kept).
    Symbolic(Plan),
    /// A plan per bucketed shape, at most [`LIVE_PLANS`] alive.
    Buckets {
        model: TypedModel,
        batch: Symbol,
        sequence: Symbol,
        max_len: usize,
        live: Mutex<(u64, Vec<Entry>)>,
    },
}

impl ShapePlans {
    /// Plans of `model` (decluttered, inputs `[batch, sequence]`), sequences
    /// of at most `max_len` tokens; `shapes: false` optimizes the one
    /// symbolic plan now and drops the model.
    pub(crate) fn new(
        model: TypedModel,
        batch: Symbol,
        sequence: Symbol,
        max_len: usize,
        shapes: bool,
    ) -> Result<Self> {
        if !shapes {
            return Ok(ShapePlans::Symbolic(onnx::optimize(&model, &[])?));
        }
        Ok(ShapePlans::Buckets {
            model,
            batch,
            sequence,
            max_len,
            live: Mutex::new((0, Vec::new())),
        })
    }

    /// The shape a call of `batch` texts of at most `sequence` tokens runs at
    /// (never smaller than the call).
    pub(crate) fn shape_for(&self, batch: usize, sequence: usize) -> (usize, usize) {
        match self {
            ShapePlans::Symbolic(_) => (batch, sequence),
            // One text (a query): few shapes, reused. A batch (catalog
            // building): its exact size, as chunks repeat it.
            ShapePlans::Buckets { max_len, .. } if batch == 1 => {
                (1, sequence_bucket(sequence, *max_len))
            }
            ShapePlans::Buckets { max_len, .. } => (
                batch,
                sequence
                    .div_ceil(8)
                    .saturating_mul(8)
                    .min((*max_len).max(sequence)),
            ),
        }
    }

    /// The plan that runs a call of shape `shape` (from [`ShapePlans::shape_for`]).
    pub(crate) fn plan(&self, shape: (usize, usize)) -> Result<Plan> {
        let (model, batch, sequence, live) = match self {
            ShapePlans::Symbolic(plan) => return Ok(plan.clone()),
            ShapePlans::Buckets {
                model,
                batch,
                sequence,
                live,
                ..
            } => (model, batch, sequence, live),
        };
        let mut live = live.lock().map_err(|_| poisoned())?;
        let (clock, entries) = &mut *live;
        *clock += 1;
        if let Some(entry) = entries.iter_mut().find(|e| e.shape == shape) {
            entry.used = *clock;
            return Ok(entry.plan.clone());
        }
        let values = [
            (batch.clone(), shape.0 as i64),
            (sequence.clone(), shape.1 as i64),
        ];
        let plan = onnx::optimize(model, &values)?;
        if entries.len() >= LIVE_PLANS {
            if let Some(oldest) = (0..entries.len()).min_by_key(|&i| entries[i].used) {
                entries.swap_remove(oldest);
            }
        }
        entries.push(Entry {
            shape,
            plan: plan.clone(),
            used: *clock,
        });
        Ok(plan)
    }
}

fn poisoned() -> Error {
    Error::Inference("the text encoder's plans were poisoned by an earlier panic".into())
}

/// Sequence buckets: 8, 12, 16, 24, 32, 48, 64, 96, 128, … (each at most 1.5× the
/// one before), the last one `max_len`.
fn sequence_bucket(len: usize, max_len: usize) -> usize {
    let mut bucket = 8;
    while bucket < len {
        bucket = if bucket.is_power_of_two() {
            bucket + bucket / 2
        } else {
            bucket / 3 * 4
        };
    }
    bucket.min(max_len.max(len))
}

#[cfg(test)]
mod tests {
    use super::sequence_bucket;

    #[test]
    fn a_bucket_holds_the_call_and_wastes_at_most_half() {
        for max_len in [2, 7, 8, 100, 256, 300, 4096] {
            let mut seen = std::collections::BTreeSet::new();
            for len in 1..=max_len {
                let bucket = sequence_bucket(len, max_len);
                assert!(
                    bucket >= len && bucket <= max_len,
                    "len {len}, max {max_len}: bucket {bucket}"
                );
                assert!(
                    bucket <= (len * 3 / 2 + 1).max(8),
                    "len {len}: bucket {bucket} wastes too much"
                );
                seen.insert(bucket);
            }
            // few distinct plans: 8, 12, 16, 24, 32, 48, … up to max_len
            assert!(
                seen.len() <= 2 * (usize::BITS - max_len.leading_zeros()) as usize,
                "{seen:?}"
            );
        }
    }
}
