//! Folding int8-quantized weights into f32 initializers once, at load time.
//!
//! Weights written as `Cast(int8 initializer) → Mul(scale)` are kept
//! un-folded by tract (the folded constant is 4× larger), which makes it
//! de-quantize every weight on every call (measured 40 ms instead of 9 ms
//! per sentence for MiniLM natively). [`fold_quantized_weights`] does it once
//! on the protobuf, before tract parses it, writing each folded value
//! straight into the tensor tract will run with ([`FoldedWeights`]): the
//! protobuf holds a 6-byte placeholder under its name, and
//! [`FoldedWeights::install`] puts the tensor in its place once tract has
//! parsed the graph. No f32 protobuf bytes, no copy of them by tract
//! (measured in Chromium: 110 ms of MiniLM's 810 ms load).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tract_onnx::pb::{ModelProto, TensorProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::ops::konst::Const;

use super::onnx_budget::Budget;
use crate::error::{Error, Result};

/// ONNX `TensorProto.DataType` codes used here.
const ONNX_FLOAT: i32 = 1;
const ONNX_UINT8: i32 = 2;
const ONNX_INT8: i32 = 3;
const ONNX_UINT16: i32 = 4;

/// The first value of every placeholder ([`FoldedWeights`]): "ra".
const PLACEHOLDER_MAGIC: u16 = 0x6172;

/// The f32 tensors [`fold_quantized_weights`] made, by initializer name, for
/// [`FoldedWeights::install`] to put into the parsed model.
pub(crate) struct FoldedWeights {
    tensors: Vec<(String, Arc<Tensor>)>,
}

impl FoldedWeights {
    /// Nothing folded (a model without quantized weights).
    fn none() -> Self {
        FoldedWeights { tensors: Vec::new() }
    }

    /// Replaces each placeholder constant of `model` (tract's parse of the
    /// protobuf [`fold_quantized_weights`] left) with its folded tensor, so
    /// that analysis and typing see the real values. A placeholder tract did
    /// not keep under its own name (merged with an equal constant of the
    /// model, which only a crafted file could hold) is
    /// [`Error::UnsupportedModel`].
    pub(crate) fn install(self, model: &mut InferenceModel) -> Result<()> {
        if self.tensors.is_empty() {
            return Ok(());
        }
        let ids: HashMap<&str, usize> = model.nodes.iter().map(|n| (n.name.as_str(), n.id)).collect();
        let mut targets = Vec::with_capacity(self.tensors.len());
        for (ix, (name, _)) in self.tensors.iter().enumerate() {
            let expected = placeholder_values(ix);
            let ours = ids.get(name.as_str()).copied().filter(|&id| {
                model.nodes[id].op_as::<Const>().is_some_and(|c| {
                    c.val().datum_type() == u16::datum_type()
                        && c.val().try_as_plain_ram().and_then(|v| v.as_slice::<u16>()).is_ok_and(|v| v == expected)
                })
            });
            let Some(id) = ours else {
                return Err(Error::UnsupportedModel(format!(
                    "the folded weight {name:?} was merged with another constant by the parser"
                )));
            };
            targets.push(id);
        }
        for (id, (name, tensor)) in targets.into_iter().zip(self.tensors) {
            let unsupported = |e: TractError| Error::UnsupportedModel(format!("folded weight {name:?}: {e}"));
            let fact = TypedFact::try_from(tensor.clone()).map_err(unsupported)?;
            let node = &mut model.nodes[id];
            node.op = Box::new(Const::new(tensor).map_err(unsupported)?);
            let Some(output) = node.outputs.first_mut() else {
                return Err(Error::UnsupportedModel(format!("folded weight {name:?} has no output")));
            };
            output.fact = fact.into();
        }
        Ok(())
    }
}

/// The values of the `index`-th placeholder: unique per index, and of a type
/// (u16) and shape (3 values) no weight has.
fn placeholder_values(index: usize) -> [u16; 3] {
    let index = index as u32;
    [PLACEHOLDER_MAGIC, (index & 0xffff) as u16, (index >> 16) as u16]
}

/// The initializer that stands for the folded tensor `name` in the protobuf.
fn placeholder(name: String, index: usize) -> TensorProto {
    TensorProto {
        name,
        dims: vec![3],
        data_type: ONNX_UINT16,
        raw_data: placeholder_values(index).iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// Folds `Cast(q: int8|uint8 initializer, to=FLOAT)` into an f32 initializer,
/// then `Mul(a, b)` of two f32 initializers into one (numpy broadcasting), and
/// drops the initializers nothing uses any more. Returns the folded tensors
/// (placeholders in `proto` until [`FoldedWeights::install`]). Every tensor
/// made is charged to `budget` before it is allocated (a broadcast `Mul` of
/// two small constants can be huge).
///
/// The usual weight, `Mul(Cast(q), scale)` with a scale per tensor, row or
/// column, is made in one pass from the int8 bytes, with no f32 copy of `q`
/// in between (measured natively: MiniLM-L6 int8 loads in about 290 ms
/// instead of 340 ms).
pub(crate) fn fold_quantized_weights(proto: &mut ModelProto, budget: &mut Budget) -> Result<FoldedWeights> {
    let Some(graph) = proto.graph.as_mut() else {
        return Ok(FoldedWeights::none());
    };
    let inits: HashMap<String, TensorProto> = graph
        .initializer
        .drain(..)
        .map(|t| (t.name.clone(), t))
        .collect();
    // Folded values stay as f32 until the end: no protobuf round trip between steps.
    let mut values: HashMap<String, (Vec<i64>, Tensor)> = HashMap::new();
    // Casts of int8 initializers (by output name), kept as int8 until a Mul
    // folds them or the end makes them f32.
    let mut casts: HashMap<String, &TensorProto> = HashMap::new();
    let mut kept = Vec::with_capacity(graph.node.len());
    for node in graph.node.drain(..) {
        let fold = match node.op_type.as_str() {
            "Cast" if node.input.len() == 1 && node.output.len() == 1 => {
                let to = node.attribute.iter().find(|a| a.name == "to").map(|a| a.i);
                match (to, inits.get(&node.input[0])) {
                    (Some(t), Some(q))
                        if t == i64::from(ONNX_FLOAT)
                            && (q.data_type == ONNX_INT8 || q.data_type == ONNX_UINT8) =>
                    {
                        charge_f32(budget, int_len(q)?, &q.name)?;
                        casts.insert(node.output[0].clone(), q);
                        continue;
                    }
                    _ => None,
                }
            }
            "Mul" if node.input.len() == 2 && node.output.len() == 1 => {
                let a = operand(&values, &casts, &inits, &node.input[0])?;
                let b = operand(&values, &casts, &inits, &node.input[1])?;
                match (a, b) {
                    (Some((ad, av)), Some((bd, bv))) => mul_f32(ad, av.values(), bd, bv.values(), budget)?,
                    _ => None,
                }
            }
            _ => None,
        };
        match fold {
            Some(value) => {
                values.insert(node.output[0].clone(), value);
            }
            None => kept.push(node),
        }
    }
    graph.node = kept;
    let used: HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter())
        .chain(graph.output.iter().map(|o| &o.name))
        .map(String::as_str)
        .collect();
    // Casts something other than a folded Mul reads become f32 tensors.
    for (name, q) in &casts {
        if used.contains(name.as_str()) {
            values.insert(name.clone(), (q.dims.clone(), f32_tensor(&q.dims, &int_values(q, 1.0)?)?));
        }
    }
    let mut out: Vec<TensorProto> = inits
        .into_values()
        .filter(|t| used.contains(t.name.as_str()))
        .collect();
    let mut tensors: Vec<(String, Arc<Tensor>)> = values
        .into_iter()
        .filter(|(name, _)| used.contains(name.as_str()))
        .map(|(name, (_, data))| (name, data.into_arc_tensor()))
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(tensors.iter().enumerate().map(|(ix, (name, _))| placeholder(name.clone(), ix)));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    graph.initializer = out;
    Ok(FoldedWeights { tensors })
}

type Folded = Option<(Vec<i64>, Tensor)>;

/// The values of a constant operand of a folded `Mul`: f32, or the bytes of
/// an int8/uint8 initializer read as f32 value by value (no f32 copy first).
#[derive(Clone, Copy)]
enum Values<'a> {
    F32(&'a [f32]),
    I8(&'a [u8]),
    U8(&'a [u8]),
}

/// A `Mul` operand's values, borrowed or made here.
enum Operand<'a> {
    Borrowed(Values<'a>),
    Owned(Vec<f32>),
}

impl Operand<'_> {
    fn values(&self) -> Values<'_> {
        match self {
            Operand::Borrowed(v) => *v,
            Operand::Owned(v) => Values::F32(v),
        }
    }
}

/// A constant by name, with its dims: a value folded earlier, an int8
/// initializer cast to f32 (its bytes), or an f32 initializer.
fn operand<'a>(
    values: &'a HashMap<String, (Vec<i64>, Tensor)>,
    casts: &HashMap<String, &'a TensorProto>,
    inits: &'a HashMap<String, TensorProto>,
    name: &str,
) -> Result<Option<(&'a [i64], Operand<'a>)>> {
    if let Some((dims, data)) = values.get(name) {
        let data = data.try_as_plain_ram().and_then(|v| v.as_slice::<f32>()).map_err(|e| Error::InvalidModel(format!("{name:?}: {e}")))?;
        return Ok(Some((dims, Operand::Borrowed(Values::F32(data)))));
    }
    if let Some(q) = casts.get(name) {
        int_len(q)?;
        let values = match (q.raw_data.is_empty(), q.data_type == ONNX_INT8) {
            (true, _) => Operand::Owned(int_values(q, 1.0)?),
            (false, true) => Operand::Borrowed(Values::I8(&q.raw_data)),
            (false, false) => Operand::Borrowed(Values::U8(&q.raw_data)),
        };
        return Ok(Some((&q.dims, values)));
    }
    match inits.get(name) {
        Some(t) => Ok(f32_values(t)?.map(|v| (t.dims.as_slice(), Operand::Owned(v)))),
        None => Ok(None),
    }
}

fn element_count(dims: &[i64]) -> Result<usize> {
    dims.iter().try_fold(1usize, |acc, &d| {
        usize::try_from(d)
            .ok()
            .and_then(|d| acc.checked_mul(d))
            .ok_or_else(|| {
                Error::InvalidModel(format!("initializer has an invalid shape {dims:?}"))
            })
    })
}

/// Charges the f32 tensor of `n` values named `what` to `budget`.
fn charge_f32(budget: &mut Budget, n: usize, what: &str) -> Result<()> {
    budget.charge((n as u64).saturating_mul(4), || format!("folding {what} to f32"))
}

/// The number of values of an int8/uint8 initializer (its shape's), checked
/// against the values it holds.
fn int_len(t: &TensorProto) -> Result<usize> {
    let n = element_count(&t.dims)?;
    let held = if t.raw_data.is_empty() { t.int32_data.len() } else { t.raw_data.len() };
    if held != n {
        return Err(Error::InvalidModel(format!(
            "initializer {:?} holds {held} values for shape {:?}",
            t.name, t.dims
        )));
    }
    Ok(n)
}

/// The values of an int8/uint8 initializer times `scale`, as f32, in one
/// pass (see [`int_len`] for the checks).
fn int_values(t: &TensorProto, scale: f32) -> Result<Vec<f32>> {
    int_len(t)?;
    Ok(if t.raw_data.is_empty() {
        t.int32_data.iter().map(|&v| v as f32 * scale).collect()
    } else if t.data_type == ONNX_INT8 {
        t.raw_data.iter().map(|&b| f32::from(b as i8) * scale).collect()
    } else {
        t.raw_data.iter().map(|&b| f32::from(b) * scale).collect()
    })
}

fn f32_values(t: &TensorProto) -> Result<Option<Vec<f32>>> {
    if t.data_type != ONNX_FLOAT {
        return Ok(None);
    }
    let n = element_count(&t.dims)?;
    let data: Vec<f32> = if !t.raw_data.is_empty() {
        if Some(t.raw_data.len()) != n.checked_mul(4) {
            return Err(Error::InvalidModel(format!(
                "initializer {:?} holds {} bytes for shape {:?}",
                t.name,
                t.raw_data.len(),
                t.dims
            )));
        }
        t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        t.float_data.clone()
    };
    if data.len() != n {
        return Err(Error::InvalidModel(format!(
            "initializer {:?} holds {} values for shape {:?}",
            t.name,
            data.len(),
            t.dims
        )));
    }
    Ok(Some(data))
}

/// Multiplies two constants with numpy broadcasting, into f32; `None` when
/// the shapes do not broadcast or a side holds fewer values than its shape.
fn mul_f32(a_dims: &[i64], av: Values, b_dims: &[i64], bv: Values, budget: &mut Budget) -> Result<Folded> {
    use Values::*;
    let i8f = |b: u8| f32::from(b as i8);
    let u8f = f32::from;
    // one monomorphic loop per pair of kinds (the weights: int8 × f32 scales)
    match (av, bv) {
        (F32(a), F32(b)) => mul_with(a_dims, a, |x| *x, b_dims, b, |y| *y, budget),
        (I8(a), F32(b)) => mul_with(a_dims, a, |x| i8f(*x), b_dims, b, |y| *y, budget),
        (U8(a), F32(b)) => mul_with(a_dims, a, |x| u8f(*x), b_dims, b, |y| *y, budget),
        (F32(a), I8(b)) => mul_with(a_dims, a, |x| *x, b_dims, b, |y| i8f(*y), budget),
        (F32(a), U8(b)) => mul_with(a_dims, a, |x| *x, b_dims, b, |y| u8f(*y), budget),
        (I8(a), I8(b)) => mul_with(a_dims, a, |x| i8f(*x), b_dims, b, |y| i8f(*y), budget),
        (I8(a), U8(b)) => mul_with(a_dims, a, |x| i8f(*x), b_dims, b, |y| u8f(*y), budget),
        (U8(a), I8(b)) => mul_with(a_dims, a, |x| u8f(*x), b_dims, b, |y| i8f(*y), budget),
        (U8(a), U8(b)) => mul_with(a_dims, a, |x| u8f(*x), b_dims, b, |y| u8f(*y), budget),
    }
}

/// [`mul_f32`] over slices read as f32 by `fa` and `fb`.
fn mul_with<A, B>(
    a_dims: &[i64],
    av: &[A],
    fa: impl Fn(&A) -> f32,
    b_dims: &[i64],
    bv: &[B],
    fb: impl Fn(&B) -> f32,
    budget: &mut Budget,
) -> Result<Folded> {
    let rank = a_dims.len().max(b_dims.len());
    let pad = |d: &[i64]| {
        let mut v = vec![1i64; rank - d.len()];
        v.extend_from_slice(d);
        v
    };
    let (ad, bd) = (pad(a_dims), pad(b_dims));
    let mut out_dims = Vec::with_capacity(rank);
    for (&x, &y) in ad.iter().zip(&bd) {
        out_dims.push(match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Ok(None),
        });
    }
    let n = element_count(&out_dims)?;
    charge_f32(budget, n, &format!("a Mul of shape {out_dims:?}"))?;
    let strides = |d: &[i64]| {
        let mut s = vec![0usize; rank];
        let mut acc = 1usize;
        for i in (0..rank).rev() {
            s[i] = if d[i] == 1 { 0 } else { acc };
            acc *= d[i] as usize;
        }
        s
    };
    let (sa, sb) = (strides(&ad), strides(&bd));
    if rank == 0 {
        let product = match (av.first(), bv.first()) {
            (Some(a), Some(b)) => fa(a) * fb(b),
            _ => return Err(Error::InvalidModel("a scalar initializer holds no value".into())),
        };
        return Ok(Some((out_dims.clone(), f32_tensor(&out_dims, &[product])?)));
    }
    if element_count(&ad)? != av.len() || element_count(&bd)? != bv.len() {
        return Ok(None);
    }
    // Row by row over the last axis, so the inner loop is a plain strided
    // multiply (the word-embedding table alone has 11.7 M values).
    let last = rank - 1;
    let inner = out_dims[last] as usize;
    let (step_a, step_b) = (sa[last], sb[last]);
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; last];
    for _ in 0..n / inner.max(1) {
        let ia: usize = index.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let ib: usize = index.iter().zip(&sb).map(|(i, s)| i * s).sum();
        match (step_a, step_b) {
            // contiguous rows (or a broadcast value): slices, no index per value
            (1, 1) => out.extend(av[ia..ia + inner].iter().zip(&bv[ib..ib + inner]).map(|(x, y)| fa(x) * fb(y))),
            (1, 0) => {
                let y = fb(&bv[ib]);
                out.extend(av[ia..ia + inner].iter().map(|x| fa(x) * y))
            }
            (0, 1) => {
                let x = fa(&av[ia]);
                out.extend(bv[ib..ib + inner].iter().map(|y| x * fb(y)))
            }
            _ => out.extend((0..inner).map(|k| fa(&av[ia + k * step_a]) * fb(&bv[ib + k * step_b]))),
        }
        for axis in (0..last).rev() {
            index[axis] += 1;
            if (index[axis] as i64) < out_dims[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    // one copy into tract's storage (its zeroed tensors are filled value by
    // value: 68 ms of MiniLM's load in Chromium, a copy about 10)
    let tensor = f32_tensor(&out_dims, &out)?;
    Ok(Some((out_dims, tensor)))
}

/// The shape of `dims` in tract's terms (the dims were checked by
/// [`element_count`] before).
fn shape_of(dims: &[i64]) -> Result<Vec<usize>> {
    dims.iter()
        .map(|&d| usize::try_from(d).map_err(|_| Error::InvalidModel(format!("an invalid shape {dims:?}"))))
        .collect()
}

/// An f32 tensor of shape `dims` holding `data` (a copy, one `memcpy`).
fn f32_tensor(dims: &[i64], data: &[f32]) -> Result<Tensor> {
    Tensor::from_shape(&shape_of(dims)?, data).map_err(|e| Error::InvalidModel(e.to_string()))
}

#[cfg(test)]
mod tests;
