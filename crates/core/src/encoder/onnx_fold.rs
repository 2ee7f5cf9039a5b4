//! Folding int8-quantized weights into f32 initializers once, at load time.
//!
//! Weights written as `Cast(int8 initializer) → Mul(scale)` are kept
//! un-folded by tract (the folded constant is 4× larger), which makes it
//! de-quantize every weight on every call (measured 40 ms instead of 9 ms
//! per sentence for MiniLM natively). [`fold_quantized_weights`] does it once
//! on the protobuf, before tract parses it.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{ModelProto, TensorProto};

use super::onnx_budget::Budget;
use crate::error::{Error, Result};

/// ONNX `TensorProto.DataType` codes used here.
const ONNX_FLOAT: i32 = 1;
const ONNX_UINT8: i32 = 2;
const ONNX_INT8: i32 = 3;

/// Folds `Cast(q: int8|uint8 initializer, to=FLOAT)` into an f32 initializer,
/// then `Mul(a, b)` of two f32 initializers into one (numpy broadcasting), and
/// drops the initializers nothing uses any more. Returns how many weight
/// tensors were folded. Every tensor made is charged to `budget` before it
/// is allocated (a broadcast `Mul` of two small constants can be huge).
///
/// The usual weight, `Mul(Cast(q), scale)` with a scale per tensor, row or
/// column, is made in one pass from the int8 bytes, with no f32 copy of `q`
/// in between (measured natively: MiniLM-L6 int8 loads in about 290 ms
/// instead of 340 ms).
pub(crate) fn fold_quantized_weights(proto: &mut ModelProto, budget: &mut Budget) -> Result<usize> {
    let Some(graph) = proto.graph.as_mut() else {
        return Ok(0);
    };
    let inits: HashMap<String, TensorProto> = graph
        .initializer
        .drain(..)
        .map(|t| (t.name.clone(), t))
        .collect();
    // Folded values stay as f32 until the end: no protobuf round trip between steps.
    let mut values: HashMap<String, (Vec<i64>, Vec<f32>)> = HashMap::new();
    // Casts of int8 initializers (by output name), kept as int8 until a Mul
    // folds them or the end makes them f32.
    let mut casts: HashMap<String, &TensorProto> = HashMap::new();
    let mut folded = 0;
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
                    (Some((ad, av)), Some((bd, bv))) => mul_f32(&ad, av.values(), &bd, bv.values(), budget)?,
                    _ => None,
                }
            }
            _ => None,
        };
        match fold {
            Some(value) => {
                if node.op_type == "Mul" {
                    folded += 1;
                }
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
    // Casts something other than a folded Mul reads become f32 initializers.
    for (name, q) in &casts {
        if used.contains(name.as_str()) {
            values.insert(name.clone(), (q.dims.clone(), int_values(q, 1.0)?));
        }
    }
    let mut out: Vec<TensorProto> = inits
        .into_values()
        .filter(|t| used.contains(t.name.as_str()))
        .collect();
    out.extend(
        values
            .into_iter()
            .filter(|(name, _)| used.contains(name.as_str()))
            .map(|(name, (dims, data))| f32_tensor(name, dims, &data)),
    );
    out.sort_by(|a, b| a.name.cmp(&b.name));
    graph.initializer = out;
    Ok(folded)
}

type Folded = Option<(Vec<i64>, Vec<f32>)>;

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
    values: &'a HashMap<String, (Vec<i64>, Vec<f32>)>,
    casts: &HashMap<String, &'a TensorProto>,
    inits: &'a HashMap<String, TensorProto>,
    name: &str,
) -> Result<Option<(&'a [i64], Operand<'a>)>> {
    if let Some((dims, data)) = values.get(name) {
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
        return Ok(Some((out_dims, vec![product])));
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
    Ok(Some((out_dims, out)))
}

fn f32_tensor(name: String, dims: Vec<i64>, data: &[f32]) -> TensorProto {
    let mut raw_data = vec![0u8; data.len() * 4];
    // whole 4-byte arrays: a plain store per value (`copy_from_slice` on
    // 4-byte chunks stayed a call per value at the release `opt-level = "s"`,
    // 69 ms of MiniLM's load in Chromium)
    let (words, _) = raw_data.as_chunks_mut::<4>();
    for (bytes, v) in words.iter_mut().zip(data) {
        *bytes = v.to_le_bytes();
    }
    TensorProto {
        name,
        dims,
        data_type: ONNX_FLOAT,
        raw_data,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, dims: &[i64], dt: i32, raw: Vec<u8>) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: dt,
            raw_data: raw,
            ..Default::default()
        }
    }

    #[test]
    fn broadcasting_mul_matches_numpy() {
        let a = [1., 2., 3., 4., 5., 6.];
        let mut budget = Budget::for_model(0);
        let mut mul = |bd: &[i64], b: &[f32]| mul_f32(&[2, 3], Values::F32(&a), bd, Values::F32(b), &mut budget).unwrap();
        assert_eq!(
            mul(&[2, 1], &[10., 100.]).unwrap().1,
            vec![10., 20., 30., 400., 500., 600.]
        );
        assert_eq!(
            mul(&[1, 3], &[1., 0., -1.]).unwrap().1,
            vec![1., 0., -3., 4., 0., -6.]
        );
        assert_eq!(mul(&[3], &[1., 0., -1.]).unwrap().0, vec![2, 3]);
        assert_eq!(mul(&[], &[2.]).unwrap().1, vec![2., 4., 6., 8., 10., 12.]);
        assert!(mul(&[4], &[0.; 4]).is_none());
        assert_eq!(
            mul_f32(&[], Values::F32(&[3.]), &[], Values::F32(&[2.]), &mut Budget::for_model(0)).unwrap().unwrap().1,
            vec![6.]
        );
    }

    fn node(op: &str, inputs: &[&str], output: &str) -> tract_onnx::pb::NodeProto {
        let mut n = tract_onnx::pb::NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        };
        if op == "Cast" {
            n.attribute.push(tract_onnx::pb::AttributeProto { name: "to".into(), i: ONNX_FLOAT.into(), ..Default::default() });
        }
        n
    }

    /// `Mul(Cast(q), scale)` becomes one f32 initializer; a cast another node
    /// also reads is kept as f32 for it; the int8 tensor nothing reads is dropped.
    #[test]
    fn folds_scaled_weights_and_keeps_casts_others_read() {
        let scale = t("s", &[], ONNX_FLOAT, 0.5f32.to_le_bytes().to_vec());
        let q = t("q", &[2, 2], ONNX_INT8, vec![2, 0xfe, 4, 6]);
        let r = t("r", &[2], ONNX_INT8, vec![1, 3]);
        let graph = tract_onnx::pb::GraphProto {
            node: vec![
                node("Cast", &["q"], "qf"),
                node("Mul", &["qf", "s"], "w"),
                node("Cast", &["r"], "rf"),
                node("Mul", &["s", "rf"], "v"),
                node("Add", &["rf", "x"], "y"),
                node("MatMul", &["x", "w"], "z"),
            ],
            initializer: vec![scale, q, r],
            output: vec![tract_onnx::pb::ValueInfoProto { name: "z".into(), ..Default::default() }],
            ..Default::default()
        };
        let mut proto = ModelProto { graph: Some(graph), ..Default::default() };
        let mut budget = Budget::for_model(1 << 20);
        assert_eq!(fold_quantized_weights(&mut proto, &mut budget).unwrap(), 2);
        let graph = proto.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Add", "MatMul"]);
        let init = |name: &str| graph.initializer.iter().find(|t| t.name == name).map(|t| f32_values(t).unwrap().unwrap());
        assert_eq!(init("w"), Some(vec![1., -1., 2., 3.]));
        assert_eq!(init("rf"), Some(vec![1., 3.]));
        assert!(init("q").is_none() && init("r").is_none() && init("v").is_none());
    }

    #[test]
    fn int8_cast_reads_signed_bytes() {
        let q = t("q", &[3], ONNX_INT8, vec![0xff, 0x01, 0x80]);
        assert_eq!(int_values(&q, 1.0).unwrap(), vec![-1., 1., -128.]);
        assert_eq!(int_values(&q, 0.5).unwrap(), vec![-0.5, 0.5, -64.]);
        let u = t("u", &[2], ONNX_UINT8, vec![0xff, 0x01]);
        assert_eq!(int_values(&u, 2.0).unwrap(), vec![510., 2.]);
        let short = t("q", &[4], ONNX_INT8, vec![1, 2]);
        assert_eq!(int_values(&short, 1.0).unwrap_err().code(), "invalid_model");
        assert_eq!(int_len(&short).unwrap_err().code(), "invalid_model");
    }

}
