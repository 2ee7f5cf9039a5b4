//! Matrix products with constant weights run in integers
//! ([`crate::vectors::int8_gemm`]) instead of tract's f32 GEMM.
//!
//! [`rewrite`] walks a decluttered model and replaces every f32 `EinSum`
//! that multiplies an activation by a constant `k × n` matrix (or its
//! transpose) with an [`Int8MatMul`] holding the weights as int8 columns, and
//! folds a following `Add` of a constant bias of `n` values into it. The
//! activation's `k` channels may come last (`[..., k]`, a dense layer) or
//! first (`[k, ...]`, a 1×1 convolution in CHW), and the output's `n`
//! likewise, in any of the four combinations: in WebAssembly tract lays
//! MobileNet-style models out channels-last around their depthwise
//! convolutions (its channel-inner SIMD path), which leaves the 1×1
//! convolutions as `IHW,OI->HWO` and `HWI,OI->OHW`; natively they stay
//! `IHW,OI->OHW`. Products of two activations (attention) stay with tract. It is
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
use crate::vectors::int8_gemm::{Int8Weights, PixelLayout};

/// `y = x · W (+ bias)` with constant int8 weights: `x` of shape `[..., k]`
/// (f32) gives `y` of shape `[..., n]`. See [`crate::vectors::int8_gemm`]
/// for the arithmetic and its error.
#[derive(Debug, Clone)]
pub(crate) struct Int8MatMul {
    weights: Arc<Int8Weights>,
    bias: Option<Arc<Vec<f32>>>,
    layout: Layout,
    /// Where the output's `n` channels go: last (`[..., n]`) or first
    /// (`[n, ...]`).
    output: PixelLayout,
    /// Leading axes of size 1 in the input that the output drops (an ONNX
    /// batch axis of 1 the einsum sums away).
    unit_axes: usize,
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
            && self.output == other.output
            && self.unit_axes == other.unit_axes
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
        let Some(shape) = x.shape().get(self.unit_axes..) else { bail!("Int8MatMul: an input of shape {:?}", x.shape()) };
        let view = x.to_plain_array_view::<f32>()?;
        let Some(values) = view.as_slice() else { bail!("Int8MatMul: the input is not contiguous") };
        let bias = self.bias.as_deref().map(Vec::as_slice);
        let (kept, rows): (&[usize], usize) = match self.layout {
            Layout::Last { contracted } => {
                let Some(kept) = shape.len().checked_sub(contracted) else {
                    bail!("Int8MatMul: input of shape {shape:?} has fewer than {contracted} axes")
                };
                ensure!(
                    shape[kept..].iter().product::<usize>() == k,
                    "Int8MatMul: input of shape {shape:?} for {k} × {n} weights"
                );
                (&shape[..kept], shape[..kept].iter().product::<usize>())
            }
            Layout::ChannelsFirst => {
                ensure!(shape.first() == Some(&k), "Int8MatMul: input of shape {shape:?} for {k} channels");
                (&shape[1..], shape[1..].iter().product::<usize>())
            }
        };
        let len = rows.checked_mul(n).ok_or_else(|| format_err!("Int8MatMul: {rows} rows of {n} overflow"))?;
        let mut y = vec![0f32; len];
        let fail = |e: Error| format_err!("{e}");
        match (self.layout, self.output) {
            // dense layers: the rows-last kernel
            (Layout::Last { .. }, PixelLayout::ChannelsLast) => {
                self.weights.matmul(values, rows, bias, &mut y).map_err(fail)?
            }
            // 1×1 convolutions, in whichever layout each side is: the pixel kernel
            (Layout::Last { .. }, output) => {
                self.weights.matmul_pixels(values, rows, PixelLayout::ChannelsLast, output, bias, &mut y).map_err(fail)?
            }
            (Layout::ChannelsFirst, output) => {
                self.weights.matmul_pixels(values, rows, PixelLayout::ChannelsFirst, output, bias, &mut y).map_err(fail)?
            }
        }
        let out_shape: TVec<usize> = match self.output {
            PixelLayout::ChannelsLast => kept.iter().copied().chain([n]).collect(),
            PixelLayout::ChannelsFirst => [n].into_iter().chain(kept.iter().copied()).collect(),
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
        let Some(shape) = x.shape.dims().get(self.unit_axes..) else { bail!("Int8MatMul: an input {:?}", x.shape) };
        let kept: &[TDim] = match self.layout {
            Layout::Last { contracted } => {
                let Some(kept) = shape.len().checked_sub(contracted) else {
                    bail!("Int8MatMul: an input of rank {} for {contracted} contracted axes", shape.len())
                };
                let width = shape[kept..].iter().product::<TDim>();
                ensure!(fits(width.clone()), "Int8MatMul: input of width {width} for {k} × {n} weights");
                &shape[..kept]
            }
            Layout::ChannelsFirst => {
                let Some(first) = shape.first() else { bail!("Int8MatMul: an input of rank 0") };
                ensure!(shape.len() >= 2 && fits(first.clone()), "Int8MatMul: input {:?} for {k} channels", x.shape);
                &shape[1..]
            }
        };
        let out: TVec<TDim> = match self.output {
            PixelLayout::ChannelsLast => kept.iter().cloned().chain([n.to_dim()]).collect(),
            PixelLayout::ChannelsFirst => [n.to_dim()].into_iter().chain(kept.iter().cloned()).collect(),
        };
        Ok(tvec!(f32::fact(out)))
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
/// `k × n` shape, and where its input's contracted axes and its output's
/// channels are.
struct ConstantWeights {
    /// Row-major `k × n`, or `n × k` when `transposed`.
    values: Arc<Tensor>,
    transposed: bool,
    k: usize,
    n: usize,
    layout: Layout,
    output: PixelLayout,
    unit_axes: usize,
}

/// The weights of an `EinSum` node that is an activation times a constant
/// matrix, or `None` for any other node. The forms, with `P` any pixel or
/// row axes in the same order on both sides and the weights `kn` or `nk`:
/// `Pk,kn->Pn`, `kP,kn->nP` (a 1×1 convolution channels-first), the mixed
/// `kP,kn->Pn` and `Pk,kn->nP` that tract's channels-last layout leaves
/// around depthwise convolutions, each with leading input axes of size 1
/// that the output drops; and `...pq,pqn->...n` (several contracted axes,
/// in the same order in both).
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
    if a.len() != x.rank() || b.len() != dims.len() {
        return Ok(None);
    }
    if b.len() == 2 {
        // leading input axes of size 1 that neither the weights nor the output have
        let unit_axes = a
            .iter()
            .zip(x.shape.iter())
            .take_while(|(c, d)| !o.contains(c) && !b.contains(c) && d.to_usize().ok() == Some(1))
            .count();
        let a = &a[unit_axes..];
        for (k_axis, transposed) in [(0, false), (1, true)] {
            let (kc, nc) = (b[k_axis], b[1 - k_axis]);
            if kc == nc || !a.contains(&kc) || o.contains(&kc) || a.contains(&nc) || !o.contains(&nc) {
                continue;
            }
            let (layout, p_in) = match a {
                [p @ .., last] if *last == kc => (Layout::Last { contracted: 1 }, p),
                [first, p @ ..] if *first == kc && !p.is_empty() => (Layout::ChannelsFirst, p),
                _ => continue,
            };
            let (output, p_out) = match o.as_slice() {
                [p @ .., last] if *last == nc => (PixelLayout::ChannelsLast, p),
                [first, p @ ..] if *first == nc => (PixelLayout::ChannelsFirst, p),
                _ => continue,
            };
            if p_in != p_out {
                continue;
            }
            let (k, n) = (dims[k_axis], dims[1 - k_axis]);
            return Ok(Some(ConstantWeights { values: konst, transposed, k, n, layout, output, unit_axes }));
        }
        return Ok(None);
    }
    let (r, t) = (a.len(), b.len().saturating_sub(1));
    if t < 2 || t > r || o.len() != r - t + 1 || a[..r - t] != o[..r - t] {
        return Ok(None);
    }
    let (kc, nc) = (&a[r - t..], o[r - t]);
    if kc.iter().any(|c| o.contains(c)) || a.contains(&nc) || b[..t] != *kc || b[t] != nc {
        return Ok(None);
    }
    // [d_1, …, d_t, n] row-major is the k × n matrix, k = d_1 ⋯ d_t
    let k = dims[..t].iter().product::<usize>();
    let n = dims[t];
    Ok(Some(ConstantWeights {
        values: konst,
        transposed: false,
        k,
        n,
        layout: Layout::Last { contracted: t },
        output: PixelLayout::ChannelsLast,
        unit_axes: 0,
    }))
}

/// The constant bias added right after `node` (whose output has its `n`
/// channels on the last axis, or the first for [`PixelLayout::ChannelsFirst`]),
/// and the `Add` node that adds it, if its only successor is such an `Add`.
fn following_bias(model: &TypedModel, node: &TypedNode, n: usize, output: PixelLayout) -> TractResult<Option<(Vec<f32>, usize)>> {
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
    let channel_axis = match output {
        PixelLayout::ChannelsLast => out.rank().checked_sub(1),
        PixelLayout::ChannelsFirst => Some(0),
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
        let Some(ConstantWeights { values, transposed, k, n, layout, output, unit_axes }) =
            constant_weights(model, node).map_err(err)?
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
        let bias = following_bias(model, node, n, output).map_err(err)?;
        let target = OutletId::new(bias.as_ref().map_or(id, |(_, add)| *add), 0);
        let op = Int8MatMul { weights: Arc::new(weights), bias: bias.map(|(b, _)| Arc::new(b)), layout, output, unit_axes };
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

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::math::add;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// A model of one `EinSum` of an input of `shape` by constant weights
    /// of `weights_shape` (and a bias added after it, broadcast along
    /// `bias_shape`), its output and the output after the rewrite.
    fn run(expr: &str, shape: &[usize], weights_shape: &[usize], bias_shape: Option<&[usize]>) -> (usize, Vec<f32>, Vec<f32>) {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(shape)).unwrap();
        let w_len = weights_shape.iter().product::<usize>();
        let w = model.add_const("w", Tensor::from_shape(weights_shape, &values(w_len, 1)).unwrap()).unwrap();
        let op = EinSum::new(expr.parse().unwrap(), f32::datum_type());
        let mut y = model.wire_node("einsum", op, &[x, w]).unwrap()[0];
        if let Some(bias_shape) = bias_shape {
            let len = bias_shape.iter().product::<usize>();
            let b = model.add_const("b", Tensor::from_shape(bias_shape, &values(len, 2)).unwrap()).unwrap();
            y = model.wire_node("bias", add(), &[y, b]).unwrap()[0];
        }
        model.select_output_outlets(&[y]).unwrap();
        let input = Tensor::from_shape(shape, &values(shape.iter().product(), 3)).unwrap();
        let eval = |m: &TypedModel| -> Vec<f32> {
            let plan = m.clone().into_runnable().unwrap();
            let out = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
            out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect()
        };
        let reference = eval(&model);
        let before = model.outlet_fact(y).unwrap().shape.clone();
        let replaced = rewrite(&mut model).unwrap();
        let after = model.output_outlets().unwrap()[0];
        assert_eq!(model.outlet_fact(after).unwrap().shape, before, "{expr}: the output's shape");
        (replaced, reference, eval(&model))
    }

    fn close(reference: &[f32], ours: &[f32], what: &str) {
        assert_eq!(reference.len(), ours.len(), "{what}");
        let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (i, (r, o)) in reference.iter().zip(ours).enumerate() {
            assert!((r - o).abs() <= 0.02 * scale, "{what} at {i}: {o} vs {r}");
        }
    }

    /// Every layout tract leaves a 1×1 convolution or a dense layer in
    /// (rows-last, channels-first, the two mixed ones of a channels-last
    /// graph, a batch axis of 1 summed away), with and without a bias,
    /// runs in integers and gives the f32 product within quantisation error.
    #[test]
    fn every_layout_of_a_constant_product_runs_in_integers() {
        // expression, input shape, weights' shape, bias shape
        type Case<'a> = (&'a str, &'a [usize], &'a [usize], &'a [usize]);
        let cases: &[Case] = &[
            ("HWk,kn->HWn", &[5, 7, 16], &[16, 24], &[1, 1, 24]),
            ("HWk,nk->HWn", &[5, 7, 16], &[24, 16], &[1, 1, 24]),
            ("kHW,nk->nHW", &[16, 5, 7], &[24, 16], &[24, 1, 1]),
            ("kHW,kn->nHW", &[16, 5, 7], &[16, 24], &[24, 1, 1]),
            ("IHW,OI->HWO", &[16, 5, 7], &[24, 16], &[1, 1, 24]),
            ("HWI,OI->OHW", &[5, 7, 16], &[24, 16], &[24, 1, 1]),
            ("NIHW,OI->OHW", &[1, 16, 5, 7], &[24, 16], &[24, 1, 1]),
            ("NIHW,OI->HWO", &[1, 16, 5, 7], &[24, 16], &[1, 1, 24]),
            ("bspq,pqn->bsn", &[2, 3, 4, 8], &[4, 8, 12], &[1, 1, 12]),
        ];
        for (expr, shape, weights, bias) in cases {
            for bias in [None, Some(*bias)] {
                let (replaced, reference, ours) = run(expr, shape, weights, bias);
                assert_eq!(replaced, 1, "{expr} (bias {bias:?})");
                close(&reference, &ours, &format!("{expr} (bias {bias:?})"));
            }
        }
    }

    /// Products the op cannot run stay with tract: a weight axis on both
    /// sides, pixel axes reordered, a summed axis that is not of size 1.
    #[test]
    fn other_products_stay_with_tract() {
        for (expr, shape, weights) in [
            ("HWk,kn->WHn", &[5, 7, 16][..], &[16, 24][..]),
            ("NkHW,nk->nHW", &[2, 16, 5, 7], &[24, 16]),
            ("Hk,kn->Hkn", &[5, 16], &[16, 24]),
        ] {
            let (replaced, reference, ours) = run(expr, shape, weights, None);
            assert_eq!(replaced, 0, "{expr}");
            assert_eq!(reference, ours, "{expr}");
        }
    }
}
