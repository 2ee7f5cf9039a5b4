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

fn values(t: &Tensor) -> Vec<f32> {
    t.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn broadcasting_mul_matches_numpy() {
    let a = [1., 2., 3., 4., 5., 6.];
    let mut budget = Budget::for_model(0);
    let mut mul = |bd: &[i64], b: &[f32]| {
        mul_f32(&[2, 3], Values::F32(&a), bd, Values::F32(b), &mut budget).unwrap().map(|(d, t)| (d, values(&t)))
    };
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
    let scalar = mul_f32(&[], Values::F32(&[3.]), &[], Values::F32(&[2.]), &mut Budget::for_model(0)).unwrap().unwrap();
    assert_eq!(values(&scalar.1), vec![6.]);
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
    let folded = fold_quantized_weights(&mut proto, &mut budget).unwrap();
    let graph = proto.graph.unwrap();
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Add", "MatMul"]);
    let value = |name: &str| {
        folded.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| (t.shape().to_vec(), values(t)))
    };
    assert_eq!(value("w"), Some((vec![2, 2], vec![1., -1., 2., 3.])));
    assert_eq!(value("rf"), Some((vec![2], vec![1., 3.])));
    assert!(value("q").is_none() && value("r").is_none() && value("v").is_none());
    // the protobuf holds a distinct placeholder under each folded name
    let names: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["rf", "w"]);
    let placeholders: Vec<&TensorProto> = graph.initializer.iter().filter(|t| t.data_type == ONNX_UINT16).collect();
    assert_eq!(placeholders.len(), 2);
    assert_ne!(placeholders[0].raw_data, placeholders[1].raw_data);
}

/// A one-product model with int8 weights: parsed with the placeholders,
/// then installed, it runs with the folded values; a placeholder the
/// parser merged with an equal constant of the model is refused.
#[test]
fn installed_weights_replace_the_placeholders() {
    let scale = t("s", &[1, 2], ONNX_FLOAT, [0.5f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect());
    let q = t("q", &[2, 2], ONNX_INT8, vec![2, 0xfe, 4, 6]);
    let input = |name: &str| {
        use tract_onnx::pb::{tensor_shape_proto::{dimension::Value, Dimension}, type_proto, TensorShapeProto, TypeProto};
        let dim = |d| Dimension { value: Some(Value::DimValue(d)), ..Default::default() };
        tract_onnx::pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: ONNX_FLOAT,
                    shape: Some(TensorShapeProto { dim: vec![dim(1), dim(2)] }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    let graph = |extra: Vec<TensorProto>, extra_outputs: &[&str]| tract_onnx::pb::GraphProto {
        node: vec![node("Cast", &["q"], "qf"), node("Mul", &["qf", "s"], "w"), node("MatMul", &["x", "w"], "z")],
        initializer: [vec![scale.clone(), q.clone()], extra].concat(),
        input: vec![input("x")],
        output: ["z"].iter().chain(extra_outputs).map(|o| tract_onnx::pb::ValueInfoProto { name: o.to_string(), ..Default::default() }).collect(),
        ..Default::default()
    };
    let run = |extra: Vec<TensorProto>, extra_outputs: &[&str]| -> Result<Vec<f32>> {
        let mut proto = ModelProto { graph: Some(graph(extra, extra_outputs)), ..Default::default() };
        let folded = fold_quantized_weights(&mut proto, &mut Budget::for_model(1 << 20))?;
        let mut model = tract_onnx::onnx().model_for_proto_model(&proto).unwrap();
        folded.install(&mut model)?;
        let plan = model.into_optimized().unwrap().into_runnable().unwrap();
        let x = Tensor::from_shape(&[1, 2], &[1f32, 10.]).unwrap();
        let out = plan.run(tvec!(x.into_tvalue())).unwrap();
        Ok(values(&out[0]))
    };
    // w = [[1, -4], [2, 12]]: x·w = [1 + 20, -4 + 120]
    assert_eq!(run(Vec::new(), &[]).unwrap(), vec![21., 116.]);
    // a (crafted) constant equal to the placeholder: the parser keeps one node for both
    let twin = TensorProto { name: "twin".into(), ..placeholder("twin".into(), 0) };
    assert_eq!(run(vec![twin], &["twin"]).unwrap_err().code(), "unsupported_model");
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
