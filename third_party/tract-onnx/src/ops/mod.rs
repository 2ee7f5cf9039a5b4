use crate::model::{OnnxOpRegister, ParsingContext};
use crate::pb::*;
use tract_hir::internal::*;

mod array;
mod cast;
pub mod cumsum;
mod d2s;
mod einsum;
#[allow(dead_code)] // recagent: not registered
mod fft;
#[allow(dead_code)] // recagent: not registered
mod grid_sample;
pub mod logic;
mod math;
#[allow(dead_code)] // recagent: not registered
mod ml;
#[allow(dead_code)] // recagent: not registered
pub mod multinomial;
mod nn;
#[allow(dead_code)] // recagent: not registered
mod non_max_suppression;
mod quant;
#[allow(dead_code)] // recagent: not registered
mod random;
#[allow(dead_code)] // recagent: not registered
pub mod rec;
mod resize;
mod s2d;

// recagent: the registry leaves out the operators no text or image encoder
// uses (DFT/STFT, the ONNX-ML classical models, the recurrent ops and Scan,
// the random generators, Multinomial, NonMaxSuppression, GridSample). Their
// modules stay compiled but unreachable, so the linker drops them; a node
// of one becomes an `UnimplementedOp`, which recagent refuses before
// parsing (`unsupported_model` naming the operator). PATCHES.md.
pub fn register_all_ops(reg: &mut OnnxOpRegister) {
    reg.insert("Constant", konst);
    reg.insert("Einsum", einsum::einsum);
    reg.insert("Identity", |_, _| {
        Ok((Box::<tract_hir::ops::identity::Identity>::default(), vec![]))
    });
    reg.insert("Resize", resize::resize);
    array::register_all_ops(reg);
    cast::register_all_ops(reg);
    cumsum::register_all_ops(reg);
    d2s::register_all_ops(reg);
    logic::register_all_ops(reg);
    math::register_all_ops(reg);
    nn::register_all_ops(reg);
    quant::register_all_ops(reg);
    s2d::register_all_ops(reg);
}

fn konst(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let value = if let Some(v) = node.get_attr_opt("value")? {
        ctx.load_tensor(v)?
    } else if let Some(i) = node.get_attr_opt::<i64>("value_int")? {
        tensor0(i)
    } else if let Some(v) = node.get_attr_opt::<f32>("value_float")? {
        tensor0(v)
    } else if let Some(ints) = node.get_attr_opt_slice::<i64>("value_ints")? {
        tensor1(ints)
    } else if let Some(floats) = node.get_attr_opt_slice::<f32>("value_floats")? {
        tensor1(floats)
    } else if let Some(s) = node.get_attr_opt::<String>("value_string")? {
        tensor0(s)
    } else if let Some(strings) = node.get_attr_opt_slice::<Vec<u8>>("value_strings")? {
        let strings: Vec<String> =
            strings.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        tensor1(&strings)
    } else {
        bail!("Could not extract value out of Constant node")
    };
    Ok((Box::new(tract_hir::ops::konst::Const::new(value.into_arc_tensor())?), vec![]))
}
