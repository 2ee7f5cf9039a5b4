//! Loading ONNX models from bytes into optimized tract plans.
//!
//! Bytes in, never paths or URLs. Two things happen besides tract's own
//! optimisation:
//! * declared output shapes and `value_info` are ignored, so models exported
//!   with symbolic `batch`/`sequence` dims load (otherwise tract fails with
//!   "Impossible to unify Sym(batch) with Val(1)");
//! * int8-quantized weights written as `Cast(int8 initializer) → Mul(scale)`
//!   are folded into f32 initializers once, at load time
//!   ([`super::onnx_fold`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

use super::onnx_budget::{self, Budget};
use super::onnx_fold::FoldedWeights;
use crate::error::{chain, Error, Result};

/// An optimized, runnable tract plan.
pub(crate) type Plan = Arc<TypedRunnableModel>;

/// Decodes ONNX protobuf bytes. Empty, truncated or non-ONNX bytes give
/// [`Error::InvalidModel`].
pub(crate) fn decode(bytes: &[u8]) -> Result<ModelProto> {
    if bytes.is_empty() {
        return Err(Error::InvalidModel("the model is empty (0 bytes)".into()));
    }
    // straight from the bytes: tract's `proto_model_for_read` copies them
    // into a buffer first (23 MB for MiniLM)
    let proto = <ModelProto as prost::Message>::decode(bytes)
        .map_err(|e| Error::InvalidModel(format!("not a readable ONNX protobuf: {e}")))?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| Error::InvalidModel("the ONNX model has no graph".into()))?;
    if graph.node.is_empty() || graph.input.is_empty() || graph.output.is_empty() {
        return Err(Error::InvalidModel(
            "the ONNX graph has no nodes, inputs or outputs (truncated or not a model)".into(),
        ));
    }
    Ok(proto)
}

/// [`decode`], then step 1 of the budget ([`onnx_budget::check_tensors`]):
/// the proto and the budget the rest of the load draws from.
pub(crate) fn load(bytes: &[u8]) -> Result<(ModelProto, Budget)> {
    let proto = decode(bytes)?;
    let mut budget = Budget::for_model(bytes.len());
    onnx_budget::check_tensors(&proto, &mut budget)?;
    Ok((proto, budget))
}

/// The input facts of a model and the worst-case values of their symbols
/// (the largest shapes a run will use), for [`typed`].
pub(crate) type InputFacts = (Vec<InferenceFact>, Vec<SymbolValues>);

/// Names of the graph's outputs, in order.
pub(crate) fn output_names(proto: &ModelProto) -> Vec<String> {
    proto
        .graph
        .iter()
        .flat_map(|g| g.output.iter().map(|o| o.name.clone()))
        .collect()
}

/// Names of the graph's real inputs (initializers listed as inputs excluded), in order.
pub(crate) fn input_names(proto: &ModelProto) -> Vec<String> {
    let Some(graph) = proto.graph.as_ref() else {
        return Vec::new();
    };
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    graph
        .input
        .iter()
        .map(|i| i.name.clone())
        .filter(|n| !inits.contains(n.as_str()))
        .collect()
}

/// Parses and types `proto` (its weights folded into `folded`,
/// [`super::onnx_fold`]) into a decluttered model, keeping only `outputs`
/// (by name) as the model outputs, in that order. `inputs` gives the input
/// facts (one per model input, or none to keep the model's own) and the
/// worst-case values of their symbols; it gets the model's symbol scope to
/// create symbols and state their bounds. Steps 3 and 4 of the budget
/// ([`onnx_budget`]) run between parsing and typing, and the gathers are
/// guarded ([`super::onnx_guard`]). The model's constants are shared
/// (`Arc`) by every plan [`optimize`] makes from it.
pub(crate) fn typed(
    proto: &ModelProto,
    folded: FoldedWeights,
    inputs: impl FnOnce(&SymbolScope) -> TractResult<InputFacts>,
    outputs: &[&str],
    budget: &mut Budget,
) -> Result<TypedModel> {
    let onnx = tract_onnx::onnx();
    refuse_unregistered_operators(&onnx, proto)?;
    let mut model = onnx
        .with_ignore_output_shapes(true)
        .with_ignore_value_info(true)
        .model_for_proto_model(proto)
        .map_err(|e| Error::UnsupportedModel(chain(&e)))?;
    folded.install(&mut model)?;
    let (facts, worst_cases) =
        inputs(&model.symbols).map_err(|e| Error::UnsupportedModel(chain(&e)))?;
    for (ix, fact) in facts.into_iter().enumerate() {
        model
            .set_input_fact(ix, fact)
            .map_err(|e| Error::UnsupportedModel(format!("input {ix}: {}", chain(&e))))?;
    }
    model
        .select_outputs_by_name(outputs)
        .map_err(|e| Error::UnsupportedModel(format!("outputs {outputs:?}: {}", chain(&e))))?;
    onnx_budget::analyse(&mut model, budget)?;
    let mut typed = model.into_typed().map_err(|e| Error::UnsupportedModel(chain(&e)))?;
    onnx_budget::check_typed(&typed, budget, &worst_cases)?;
    super::onnx_guard::guard_typed(&mut typed)?;
    typed.into_decluttered().map_err(|e| Error::UnsupportedModel(chain(&e)))
}

/// `unsupported_model` naming each operator of the graph that tract's ONNX
/// registry does not hold (tract itself would fail later, on the first
/// such node, with "Operator can not be made a TypedOp"). The registry is
/// the patched one of third_party/tract-onnx, which leaves out the
/// operators no text or image encoder uses (DFT, the ONNX-ML models, the
/// recurrent and random ops, …). Operators inside subgraphs are left to
/// tract, which refuses them as `unsupported_model` too.
fn refuse_unregistered_operators(onnx: &tract_onnx::Onnx, proto: &ModelProto) -> Result<()> {
    let Some(graph) = proto.graph.as_ref() else { return Ok(()) };
    // the first node of each missing operator, at most 8 operators named
    let mut seen: HashSet<&str> = HashSet::new();
    let mut missing: Vec<String> = Vec::new();
    for node in &graph.node {
        let op = node.op_type.as_str();
        if !onnx.op_register.0.contains_key(op) && missing.len() < 8 && seen.insert(op) {
            missing.push(format!("{op} (node {:?})", node.name));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::UnsupportedModel(format!(
        "the model uses ONNX operators recagent does not run: {}",
        missing.join(", ")
    )))
}

/// A runnable plan of `model` (decluttered by [`typed`]) with each symbol
/// of `values` bound to its value (none: the symbolic plan, for every
/// shape). A plan for concrete shapes runs only those shapes, and tract
/// optimizes it further (static memory, kernels chosen for the real sizes).
pub(crate) fn optimize(model: &TypedModel, values: &[(Symbol, i64)]) -> Result<Plan> {
    // our wasm GEMM kernels must be registered before tract picks kernels
    crate::vectors::wasm_gemm::install();
    let optimized = if values.is_empty() {
        // already decluttered: only the code generation is left
        let mut model = model.clone();
        model.optimize().map(|()| model)
    } else {
        let subs: HashMap<Symbol, TDim> =
            values.iter().map(|(s, v)| (s.clone(), TDim::Val(*v))).collect();
        // bound symbols let declutter fold what was shape arithmetic
        model.set_symbols(&subs).and_then(TypedModel::into_optimized)
    };
    optimized
        .and_then(|m| m.into_runnable())
        .map_err(|e| Error::UnsupportedModel(chain(&e)))
}

/// A tract tensor from a shape and data, mapping tract's error to ours.
pub(crate) fn tensor<T: Datum + Copy>(shape: &[usize], data: &[T]) -> Result<Tensor> {
    Tensor::from_shape(shape, data).map_err(|e| Error::InvalidInput(chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_invalid_model() {
        assert_eq!(decode(&[]).unwrap_err().code(), "invalid_model");
        assert_eq!(
            decode(b"definitely not onnx").unwrap_err().code(),
            "invalid_model"
        );
    }

    /// An image model `x` (f32 [1, 3, 8, 8]) → `out` made of one `op` node.
    fn one_node_model(op: &str) -> Vec<u8> {
        use prost::Message;
        use tract_onnx::pb::{
            tensor_shape_proto::{dimension, Dimension},
            type_proto, GraphProto, NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto,
            ValueInfoProto,
        };
        let info = |name: &str, dims: &[i64]| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: 1,
                    shape: Some(TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| Dimension {
                                value: Some(dimension::Value::DimValue(d)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
            graph: Some(GraphProto {
                name: "one node".into(),
                node: vec![NodeProto {
                    op_type: op.into(),
                    name: "the_node".into(),
                    input: vec!["x".into()],
                    output: vec!["out".into()],
                    ..Default::default()
                }],
                input: vec![info("x", &[1, 3, 8, 8])],
                output: vec![info("out", &[])],
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn image_load(op: &str) -> Result<crate::ImageEncoder> {
        let options = crate::ImageEncoderOptions {
            preprocessing: crate::encoder::preprocess::Preprocessing {
                resize_shorter: 8,
                crop: 8,
                ..Default::default()
            },
            embedding_output: Some("out".into()),
            ..Default::default()
        };
        crate::ImageEncoder::from_bytes(&one_node_model(op), options)
    }

    /// The patched tract-onnx (third_party/tract-onnx) leaves these operator
    /// families out of its registry; a model holding one is refused as
    /// `unsupported_model` naming the operator, and an operator the registry
    /// keeps still loads through the same path.
    #[test]
    fn operators_left_out_of_the_registry_are_unsupported_model() {
        for op in [
            "DFT",
            "STFT",
            "TreeEnsembleClassifier",
            "LinearRegressor",
            "LSTM",
            "GRU",
            "Scan",
            "RandomNormalLike",
            "RandomUniformLike",
            "Multinomial",
            "NonMaxSuppression",
            "GridSample",
        ] {
            let err = image_load(op).err().unwrap_or_else(|| panic!("{op} loaded"));
            assert_eq!(err.code(), "unsupported_model", "{op}: {err}");
            let named = format!("ONNX operators recagent does not run: {op} (node \"the_node\")");
            assert!(err.to_string().contains(&named), "{op}: {err}");
        }
        let kept = image_load("Relu").expect("Relu is in the registry");
        assert_eq!(kept.dim(), 192);
    }
}
