//! Matrix products with constant weights run in integers
//! ([`crate::vectors::int8_gemm`]) instead of tract's f32 GEMM.
//!
//! [`rewrite`] walks a decluttered model and replaces every f32 `EinSum`
//! that multiplies an activation `[..., k]` by a constant `k × n` matrix (or
//! its transpose), or a channels-first activation `[k, ...]` by a constant
//! `n × k` matrix (a 1×1 convolution), with an [`Int8MatMul`] holding the
//! weights as int8 columns, and folds a following `Add` of a constant bias
//! of `n` values into it. Products of two activations (attention) stay with tract. It is
//! what [`super::TextEncoderOptions::int8_matmul`] turns on; on by default
//! in WebAssembly, where it measured faster (docs/benchmarks.md), and off
//! natively, where tract's FMA kernels are faster than the portable integer
//! kernel.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::einsum::EinSum;

use crate::error::{chain, Error, Result};
use crate::vectors::int8_gemm::Int8Weights;

/// `y = x · W (+ bias)` with constant int8 weights: `x` of shape `[..., k]`
/// (f32) gives `y` of shape `[..., n]`. See [`crate::vectors::int8_gemm`]
/// for the arithmetic and its error.
#[derive(Debug, Clone)]
pub(crate) struct Int8MatMul {
    weights: Arc<Int8Weights>,
    bias: Option<Arc<Vec<f32>>>,
    layout: Layout,
}

/// Where the contracted axes of an [`Int8MatMul`]'s input are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// The trailing `contracted` axes (their sizes multiply to `k`): 1 for
    /// `[..., k]`, 2 for MiniLM's attention output `[B, S, heads, head_dim]`
    /// against `[heads, head_dim, n]`. The output is `[..., n]`.
    Last { contracted: usize },
    /// The first axis, of `k` channels, the rest being pixels: a 1×1
    /// convolution in CHW layout (`IHW,OI->OHW`). The output is `[n, ...]`.
    ChannelsFirst,
}

impl PartialEq for Int8MatMul {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.weights, &other.weights)
            && self.layout == other.layout
            && match (&self.bias, &other.bias) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Eq for Int8MatMul {}

impl Op for Int8MatMul {
    fn name(&self) -> StaticName {
        "Int8MatMul".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} × {} int8 weights{}",
            self.weights.k(),
            self.weights.n(),
            if self.bias.is_some() { ", bias" } else { "" }
        )])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for Int8MatMul {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let Some(x) = inputs.first() else { bail!("Int8MatMul needs one input") };
        let (k, n) = (self.weights.k(), self.weights.n());
        let shape = x.shape();
        let view = x.to_plain_array_view::<f32>()?;
        let Some(values) = view.as_slice() else { bail!("Int8MatMul: the input is not contiguous") };
        let bias = self.bias.as_deref().map(Vec::as_slice);
        let (out_shape, y) = match self.layout {
            Layout::Last { contracted } => {
                let Some(kept) = shape.len().checked_sub(contracted) else {
                    bail!("Int8MatMul: input of shape {shape:?} has fewer than {contracted} axes")
                };
                ensure!(
                    shape[kept..].iter().product::<usize>() == k,
                    "Int8MatMul: input of shape {shape:?} for {k} × {n} weights"
                );
                let rows = shape[..kept].iter().product::<usize>();
                let len = rows.checked_mul(n).ok_or_else(|| format_err!("Int8MatMul: {rows} rows of {n} overflow"))?;
                let mut y = vec![0f32; len];
                self.weights.matmul(values, rows, bias, &mut y).map_err(|e| format_err!("{e}"))?;
                let out_shape: TVec<usize> = shape[..kept].iter().copied().chain([n]).collect();
                (out_shape, y)
            }
            Layout::ChannelsFirst => {
                ensure!(shape.first() == Some(&k), "Int8MatMul: input of shape {shape:?} for {k} channels");
                let pixels = shape[1..].iter().product::<usize>();
                let len =
                    pixels.checked_mul(n).ok_or_else(|| format_err!("Int8MatMul: {pixels} pixels of {n} overflow"))?;
                let mut y = vec![0f32; len];
                self.weights.matmul_channels_first(values, pixels, bias, &mut y).map_err(|e| format_err!("{e}"))?;
                let out_shape: TVec<usize> = [n].into_iter().chain(shape[1..].iter().copied()).collect();
                (out_shape, y)
            }
        };
        Ok(tvec!(tract_ndarray::ArrayD::from_shape_vec(&*out_shape, y)?.into_tvalue()))
    }
}

impl TypedOp for Int8MatMul {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let Some(x) = inputs.first() else { bail!("Int8MatMul needs one input") };
        ensure!(x.datum_type == f32::datum_type(), "Int8MatMul takes f32, not {:?}", x.datum_type);
        let (k, n) = (self.weights.k(), self.weights.n());
        let fits = |d: TDim| d.to_usize().map_or(true, |d| d == k);
        let shape: TVec<TDim> = match self.layout {
            Layout::Last { contracted } => {
                let Some(kept) = x.rank().checked_sub(contracted) else {
                    bail!("Int8MatMul: an input of rank {} for {contracted} contracted axes", x.rank())
                };
                let width = x.shape[kept..].iter().product::<TDim>();
                ensure!(fits(width.clone()), "Int8MatMul: input of width {width} for {k} × {n} weights");
                x.shape[..kept].iter().cloned().chain([n.to_dim()]).collect()
            }
            Layout::ChannelsFirst => {
                let Some(first) = x.shape.iter().next() else { bail!("Int8MatMul: an input of rank 0") };
                ensure!(x.rank() >= 2 && fits(first.clone()), "Int8MatMul: input {:?} for {k} channels", x.shape);
                [n.to_dim()].into_iter().chain(x.shape.iter().skip(1).cloned()).collect()
            }
        };
        Ok(tvec!(f32::fact(shape)))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let Some(x) = inputs.first() else { bail!("Int8MatMul needs one input") };
        // the input's volume is rows × k (or k × pixels)
        let macs = x.shape.iter().product::<TDim>() * self.weights.n();
        Ok(tvec!((Cost::FMA(i32::datum_type()), macs)))
    }

    as_op!();
}

/// A product's constant weights (the constant tensor itself, no copy), its
/// `k × n` shape, and where its input's contracted axes are.
struct ConstantWeights {
    /// Row-major `k × n`, or `n × k` when `transposed`.
    values: Arc<Tensor>,
    transposed: bool,
    k: usize,
    n: usize,
    layout: Layout,
}

/// The weights of an `EinSum` node that is an activation times a constant
/// matrix, or `None` for any other node. The forms:
/// `...k,kn->...n`, `...k,nk->...n`, and `...pq,pqn->...n` (any number of
/// contracted axes, in the same order in both), and the channels-first
/// `k...,nk->n...` of a 1×1 convolution.
fn constant_weights(model: &TypedModel, node: &TypedNode) -> TractResult<Option<ConstantWeights>> {
    let Some(einsum) = node.op_as::<EinSum>() else { return Ok(None) };
    if einsum.q_params.is_some() || einsum.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let facts = model.node_input_facts(node.id)?;
    let (x, w) = (facts[0], facts[1]);
    if x.datum_type != f32::datum_type() || w.datum_type != f32::datum_type() {
        return Ok(None);
    }
    let Some(konst) = w.konst.clone() else { return Ok(None) };
    let (ins, outs) = einsum.axes.to_strs();
    let (Some(a), Some(b), Some(o)) = (ins.first(), ins.get(1), outs.first()) else { return Ok(None) };
    let (a, b, o): (Vec<char>, Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect(), o.chars().collect());
    let dims = konst.shape();
    if b.len() == 2 && dims.len() == 2 && a.len() >= 2 && o.len() == a.len() && a[1..] == o[1..] {
        let (kc, nc) = (a[0], o[0]);
        if b[0] == nc && b[1] == kc && kc != nc && !o.contains(&kc) && !a.contains(&nc) {
            let (k, n) = (dims[1], dims[0]);
            return Ok(Some(ConstantWeights { values: konst, transposed: true, k, n, layout: Layout::ChannelsFirst }));
        }
    }
    let (r, t) = (a.len(), b.len().saturating_sub(1));
    if t == 0 || t > r || o.len() != r - t + 1 || a[..r - t] != o[..r - t] {
        return Ok(None);
    }
    let (kc, nc) = (&a[r - t..], o[r - t]);
    if kc.iter().any(|c| o.contains(c)) || a.contains(&nc) {
        return Ok(None);
    }
    let is_transposed = if b[..t] == *kc && b[t] == nc {
        false
    } else if t == 1 && b[0] == nc && b[1] == kc[0] {
        true
    } else {
        return Ok(None);
    };
    if dims.len() != t + 1 {
        return Ok(None);
    }
    if !is_transposed {
        // [d_1, …, d_t, n] row-major is the k × n matrix, k = d_1 ⋯ d_t
        let k = dims[..t].iter().product::<usize>();
        let n = dims[t];
        return Ok(Some(ConstantWeights { values: konst, transposed: false, k, n, layout: Layout::Last { contracted: t } }));
    }
    let (k, n) = (dims[1], dims[0]);
    Ok(Some(ConstantWeights { values: konst, transposed: true, k, n, layout: Layout::Last { contracted: 1 } }))
}

/// The constant bias added right after `node` (whose output has its `n`
/// channels on the last axis, or the first for [`Layout::ChannelsFirst`]),
/// and the `Add` node that adds it, if its only successor is such an `Add`.
fn following_bias(model: &TypedModel, node: &TypedNode, n: usize, layout: Layout) -> TractResult<Option<(Vec<f32>, usize)>> {
    let Some(succ) = model.single_succ(node.id)? else { return Ok(None) };
    let Some(bin) = succ.op_as::<TypedBinOp>() else { return Ok(None) };
    if bin.0.name() != "Add" || succ.inputs.len() != 2 {
        return Ok(None);
    }
    let ours = OutletId::new(node.id, 0);
    let Some(other) = succ.inputs.iter().find(|i| **i != ours) else { return Ok(None) };
    let fact = model.outlet_fact(*other)?;
    let Some(konst) = fact.konst.clone() else { return Ok(None) };
    let dims = konst.shape();
    let out = model.outlet_fact(ours)?;
    // numpy broadcasting aligns the bias's axes to the right of the
    // output's; the Add must not broadcast our output to a larger shape
    let channel_axis = match layout {
        Layout::Last { .. } => out.rank().checked_sub(1),
        Layout::ChannelsFirst => Some(0),
    };
    let at = channel_axis.and_then(|c| (c + dims.len()).checked_sub(out.rank()));
    if konst.datum_type() != f32::datum_type()
        || at.is_none_or(|at| dims.get(at) != Some(&n))
        || dims.iter().enumerate().any(|(i, d)| Some(i) != at && *d != 1)
        || dims.len() > out.rank()
        || model.outlet_fact(OutletId::new(succ.id, 0))?.shape != out.shape
    {
        return Ok(None);
    }
    let view = konst.to_plain_array_view::<f32>()?;
    let Some(values) = view.as_slice() else { return Ok(None) };
    Ok(Some((values.to_vec(), succ.id)))
}

/// Replaces the matrix products of `model` with constant weights by
/// [`Int8MatMul`] (see the module docs) and returns how many it replaced.
/// A product whose weights cannot be held as int8 (not finite, or a `k`
/// beyond [`crate::vectors::int8_gemm::MAX_K`]) or would take more bytes
/// as int8 than as f32 (`k` below 4, padded to 8) stays as it is.
pub(crate) fn rewrite(model: &mut TypedModel) -> Result<usize> {
    let err = |e: TractError| Error::UnsupportedModel(format!("int8 matmul rewrite: {}", chain(&e)));
    let mut replaced = 0;
    for id in model.eval_order().map_err(err)? {
        let node = &model.nodes()[id];
        let Some(ConstantWeights { values, transposed, k, n, layout }) = constant_weights(model, node).map_err(err)?
        else {
            continue;
        };
        // k is padded to a multiple of 8 in 16-bit lanes: for k < 4 the int8
        // form would outgrow the f32 tensor the load's budget checked
        if k.div_ceil(8) * 8 > 2 * k {
            continue;
        }
        let view = values.to_plain_array_view::<f32>().map_err(err)?;
        let Some(values) = view.as_slice() else { continue };
        let quantized = if transposed {
            Int8Weights::quantize_transposed(values, k, n)
        } else {
            Int8Weights::quantize(values, k, n)
        };
        let Ok(weights) = quantized else { continue };
        let bias = following_bias(model, node, n, layout).map_err(err)?;
        let target = OutletId::new(bias.as_ref().map_or(id, |(_, add)| *add), 0);
        let op = Int8MatMul { weights: Arc::new(weights), bias: bias.map(|(b, _)| Arc::new(b)), layout };
        let name = node.name.clone();
        let patch = TypedModelPatch::rewire(model, &[node.inputs[0]], &[target], &|p, xs| {
            p.wire_node(&name, op.clone(), xs)
        })
        .map_err(err)?;
        patch.apply(model).map_err(err)?;
        replaced += 1;
    }
    model.compact().map_err(err)?;
    Ok(replaced)
}
