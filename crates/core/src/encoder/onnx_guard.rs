//! Index checks tract does not make.
//!
//! tract's `Gather` reads `data[index]` without checking `index` against the
//! data's axis: a model whose embedding table is smaller than the
//! vocabulary, or a crafted file with a constant index past its table,
//! panics inside tract (an abort natively, a dead instance in wasm). So:
//!
//! - [`check_eager_gather`]: before the analysis folds a `Gather` whose
//!   inputs are all known values, its indices are checked against the data's
//!   shape; out of range is [`Error::InvalidModel`] (`invalid_model`).
//!   [`check_inference_gather_nd`] does the same for `GatherND`, and
//!   refuses scalar indices before tract's shape rules underflow on them.
//! - [`guard_typed`]: on the typed model, before optimisation, every
//!   `Gather` whose indices are not a constant checked there is replaced by
//!   [`CheckedGather`], which checks each run's indices first and fails the
//!   run with an error instead of panicking (`inference_failed`). `GatherND`
//!   (tract asserts on its shapes and reads negative indices as huge ones)
//!   gets the same treatment with [`CheckedGatherNd`]. Indices checked once
//!   at load leave tract's own op in place, so its optimisations still apply.
//!   On MiniLM (three embedding `Gather`s and one `GatherND` wrapped) the
//!   checks cost nothing measurable: interleaved native runs gave a single
//!   text 13.1–13.9 ms and a batch of 64 8.9–9.0 ms per item with them,
//!   13.3–13.7 and 8.8–9.1 without.
//!
//! Found by the `onnx_load` fuzz target (`fuzz/corpus/onnx_load/regress-*`).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::array::{Gather, GatherNd};
use tract_onnx::tract_hir::infer::{Factoid, InferenceFact};

use crate::error::{Error, Result};

/// Whether every index in `indices` (any integer type) lies in `[-len, len)`.
fn indices_in_range(indices: &Tensor, len: usize) -> bool {
    let Ok(indices) = indices.cast_to::<i64>() else { return false };
    let Ok(values) = indices.to_plain_array_view::<i64>() else { return false };
    let Ok(len) = i64::try_from(len) else { return true };
    values.iter().all(|&i| (-len..len).contains(&i))
}

/// The axis of an inference-level `Gather` (tract-hir keeps it private; its
/// `Debug` form is `Gather { axis: N }`), normalised against `rank`.
fn hir_gather_axis(debug: &str, rank: usize) -> Option<usize> {
    let rest = debug.split("axis:").nth(1)?;
    let digits: String = rest.trim_start().chars().take_while(|c| *c == '-' || c.is_ascii_digit()).collect();
    let axis: i64 = digits.parse().ok()?;
    let rank = i64::try_from(rank).ok()?;
    let axis = if axis < 0 { axis.checked_add(rank)? } else { axis };
    (0..rank).contains(&axis).then_some(axis as usize)
}

/// Step 3's check of a `Gather` about to be folded (every input a known
/// value): its indices lie within the data's gathered axis. When the axis
/// cannot be read, the indices must lie within every axis.
pub(crate) fn check_eager_gather(node: &str, op: &dyn std::fmt::Debug, inputs: &[InferenceFact]) -> Result<()> {
    let (Some(data), Some(indices)) = (inputs.first(), inputs.get(1)) else { return Ok(()) };
    let (Some(data), Some(indices)) = (data.value.concretize(), indices.value.concretize()) else {
        return Ok(());
    };
    let shape = data.shape();
    let axes: Vec<usize> = match hir_gather_axis(&format!("{op:?}"), shape.len()) {
        Some(axis) => vec![axis],
        None => (0..shape.len()).collect(),
    };
    for axis in axes {
        if !indices_in_range(&indices, shape[axis]) {
            return Err(Error::InvalidModel(format!(
                "node {node} (Gather): a constant index lies outside axis {axis} of its data (shape {shape:?})"
            )));
        }
    }
    Ok(())
}

/// Step 3's check of a `GatherND`, at every visit of the analysis: indices
/// of rank 0 are refused before tract's shape rules compute `rank - 1`
/// (an underflow), and indices about to be folded (every input a known
/// value) are checked as [`CheckedGatherNd`] checks a run. Out of range is
/// [`Error::InvalidModel`].
pub(crate) fn check_inference_gather_nd(node: &str, op: &dyn Op, inputs: &[InferenceFact]) -> Result<()> {
    let Some(gather_nd) = op.downcast_ref::<GatherNd>() else { return Ok(()) };
    let (Some(data), Some(indices)) = (inputs.first(), inputs.get(1)) else { return Ok(()) };
    let invalid = |why: String| Error::InvalidModel(format!("node {node} (GatherND): {why}"));
    if indices.shape.rank().concretize() == Some(0) {
        return Err(invalid("its indices are a scalar, not a tensor of index tuples".into()));
    }
    if let (Some(data), Some(indices)) = (data.value.concretize(), indices.value.concretize()) {
        let checked = CheckedGatherNd { inner: gather_nd.clone() };
        checked.check(data.shape(), &indices).map_err(|e| invalid(crate::error::chain(&e)))?;
    }
    Ok(())
}

/// Replaces every `Gather` of `model` whose indices are not a constant
/// within range by [`CheckedGather`] and every `GatherND` by
/// [`CheckedGatherNd`]; refuses a constant index out of range (see the
/// module docs).
pub(crate) fn guard_typed(model: &mut TypedModel) -> Result<()> {
    for id in 0..model.nodes().len() {
        let node = &model.nodes()[id];
        if let Some(gather_nd) = node.op_as::<GatherNd>().cloned() {
            let checked = CheckedGatherNd { inner: gather_nd };
            // Constant indices on data of a known shape are checked once here,
            // and the op stays tract's (which then folds it into slices).
            let fixed = {
                let inputs =
                    model.node_input_facts(id).map_err(|e| Error::UnsupportedModel(crate::error::chain(&e)))?;
                let (Some(data), Some(indices)) = (inputs.first(), inputs.get(1)) else { continue };
                let shape: Option<Vec<usize>> = data.shape.iter().map(|d| d.to_usize().ok()).collect();
                shape.zip(indices.konst.clone())
            };
            match fixed {
                Some((shape, konst)) => checked.check(&shape, &konst).map_err(|e| {
                    Error::InvalidModel(format!("node {}: {}", model.nodes()[id].name, crate::error::chain(&e)))
                })?,
                None => model.node_mut(id).op = Box::new(checked),
            }
            continue;
        }
        let Some(gather) = node.op_as::<Gather>().cloned() else { continue };
        let name = node.name.clone();
        let (axis_len, konst) = {
            let inputs =
                model.node_input_facts(id).map_err(|e| Error::UnsupportedModel(crate::error::chain(&e)))?;
            let (Some(data), Some(indices)) = (inputs.first(), inputs.get(1)) else { continue };
            (data.shape.get(gather.axis).and_then(|d| d.to_usize().ok()), indices.konst.clone())
        };
        if let (Some(konst), Some(len)) = (konst, axis_len) {
            if indices_in_range(&konst, len) {
                continue;
            }
            return Err(Error::InvalidModel(format!(
                "node {name} (Gather): a constant index lies outside axis {} of its data (length {len})",
                gather.axis
            )));
        }
        model.node_mut(id).op = Box::new(CheckedGather { inner: gather });
    }
    Ok(())
}

/// tract's `Gather`, with each run's indices checked against the data's
/// axis first: out of range fails the run with an error.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct CheckedGather {
    inner: Gather,
}

impl Op for CheckedGather {
    fn name(&self) -> StaticName {
        "CheckedGather".into()
    }

    op_as_typed_op!();
}

impl EvalOp for CheckedGather {
    op_out_of_plan!();

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (Some(data), Some(indices)) = (inputs.first(), inputs.get(1)) else {
            bail!("Gather needs data and indices")
        };
        let Some(&len) = data.shape().get(self.inner.axis) else {
            bail!("Gather on axis {} of data of rank {}", self.inner.axis, data.rank())
        };
        if !indices_in_range(indices, len) {
            bail!("an index lies outside axis {} of the gathered data (length {len})", self.inner.axis);
        }
        self.inner.eval(ctx, inputs)
    }
}

impl TypedOp for CheckedGather {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.inner.output_facts(inputs)
    }

    fn axes_mapping(&self, inputs: &[&TypedFact], outputs: &[&TypedFact]) -> TractResult<AxesMapping> {
        self.inner.axes_mapping(inputs, outputs)
    }

    as_op!();
}

/// tract's `GatherND`, with each run's shapes and indices checked first:
/// `indices` of rank at least 1 whose last axis `n` fits the data after the
/// batch axes, batch axes equal, and every index of the tuple at position
/// `k` in `[0, data.shape[batch + k])` (tract does not read negative ones).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct CheckedGatherNd {
    inner: GatherNd,
}

impl CheckedGatherNd {
    /// The failure of a run on `data_shape` and `indices`, if any.
    fn check(&self, data_shape: &[usize], indices: &Tensor) -> TractResult<()> {
        let batch = self.inner.batch_dims;
        let shape = indices.shape();
        let Some(&n) = shape.last() else { bail!("GatherND indices of rank 0") };
        ensure!(shape.len() > batch, "GatherND indices of rank {} with {batch} batch axes", shape.len());
        ensure!(
            batch.checked_add(n).is_some_and(|end| end <= data_shape.len()),
            "GatherND tuples of {n} indices after {batch} batch axes on data of rank {}",
            data_shape.len()
        );
        ensure!(shape[..batch] == data_shape[..batch], "GatherND batch axes differ");
        let values = indices.cast_to::<i64>()?;
        let values = values.to_plain_array_view::<i64>()?;
        for (ix, &v) in values.iter().enumerate() {
            let k = if n == 0 { 0 } else { ix % n };
            let len = data_shape.get(batch + k).copied().unwrap_or(0);
            ensure!(
                usize::try_from(v).is_ok_and(|v| v < len),
                "GatherND index {v} outside axis {} of the data (length {len})",
                batch + k
            );
        }
        Ok(())
    }
}

impl Op for CheckedGatherNd {
    fn name(&self) -> StaticName {
        "CheckedGatherNd".into()
    }

    op_as_typed_op!();
}

impl EvalOp for CheckedGatherNd {
    op_out_of_plan!();

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (Some(data), Some(indices)) = (inputs.first(), inputs.get(1)) else {
            bail!("GatherND needs data and indices")
        };
        self.check(data.shape(), indices)?;
        self.inner.eval(ctx, inputs)
    }
}

impl TypedOp for CheckedGatherNd {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (Some(data), Some(indices)) = (inputs.first(), inputs.get(1)) else {
            bail!("GatherND needs data and indices")
        };
        let Some(n) = indices.shape.last() else { bail!("GatherND indices of rank 0") };
        let n = n.to_usize()?;
        ensure!(
            self.inner.batch_dims.checked_add(n).is_some_and(|end| end <= data.rank()),
            "GatherND tuples of {n} indices on data of rank {}",
            data.rank()
        );
        self.inner.output_facts(inputs)
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_axis_of_a_hir_gather() {
        assert_eq!(hir_gather_axis("Gather { axis: 1 }", 3), Some(1));
        assert_eq!(hir_gather_axis("Gather { axis: -1 }", 3), Some(2));
        assert_eq!(hir_gather_axis("Gather { axis: 3 }", 3), None);
        assert_eq!(hir_gather_axis("Gather", 3), None);
    }

    #[test]
    fn indices_are_checked_against_the_axis() {
        let t = tensor1(&[0i64, 3, -4]);
        assert!(indices_in_range(&t, 4));
        assert!(!indices_in_range(&t, 3));
        assert!(!indices_in_range(&tensor1(&[i64::MIN]), 4));
    }

    #[test]
    fn a_checked_gather_fails_a_run_instead_of_panicking() {
        let op = CheckedGather { inner: Gather::new(0) };
        let data = tensor2(&[[1f32, 2.], [3., 4.]]).into_tvalue();
        let ok = op.eval(&EvalContext::out_of_plan(), tvec!(data.clone(), tensor1(&[1i64, 0]).into_tvalue()));
        assert!(ok.is_ok());
        let bad = op.eval(&EvalContext::out_of_plan(), tvec!(data, tensor1(&[7i64]).into_tvalue()));
        assert!(bad.is_err());
    }

    #[test]
    fn a_checked_gather_nd_fails_a_run_instead_of_panicking() {
        let op = CheckedGatherNd { inner: GatherNd::new(0) };
        let data = tensor2(&[[1f32, 2.], [3., 4.]]).into_tvalue();
        let run = |indices: Tensor| op.eval(&EvalContext::out_of_plan(), tvec!(data.clone(), indices.into_tvalue()));
        assert!(run(tensor2(&[[1i64, 0]])).is_ok());
        assert!(run(tensor2(&[[1i64, 2]])).is_err());
        assert!(run(tensor2(&[[-1i64, 0]])).is_err());
        assert!(run(tensor2(&[[0i64, 0, 0]])).is_err());
        assert!(run(tensor0(1i64)).is_err());
    }
}
