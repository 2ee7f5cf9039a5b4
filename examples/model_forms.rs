//! Does a pre-optimised model form load faster than ONNX? (issue 16's
//! cold-start lever: "tract's NNEF with its extensions, written at
//! catalog-build time"). Natively, on MiniLM-L6 int8, alternating:
//!
//! * recagent's whole text-encoder start (`TextEncoder::with_options`, as the
//!   browser runs it: weights folded, integer products, a first embedding);
//! * tract's ONNX path to a decluttered model (protobuf, analysis, typing,
//!   declutter) with the encoder's bounded `B`/`S` symbols;
//! * the same decluttered model written once as an NNEF tar (with the
//!   `tract_onnx` extension) and read back: the part a pre-optimised form
//!   would replace;
//! * what both forms still need: tract's declutter pass once more (a model
//!   read from NNEF comes back in NNEF's primitives) and the code
//!   generation (`into_optimized`).
//!
//! ```sh
//! cargo run --release -p recagent-core --example model_forms   # from the repository root, after scripts/setup.sh
//! ```
//!
//! Prints medians over `--runs N` (5 by default), the tar's size against the
//! ONNX file's, and the cosine between the two forms' outputs; `--write
//! PATH` also keeps the tar.
use std::time::Instant;

use recagent_core::encoder::{TextEncoder, TextEncoderOptions};
use recagent_core::vectors::cosine;
use tract_nnef::framework::Nnef;
use tract_onnx::prelude::*;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// tract's ONNX path to a decluttered model, the encoder's symbols bounded.
fn onnx_decluttered(bytes: &[u8]) -> TractResult<TypedModel> {
    let mut model = tract_onnx::onnx()
        .with_ignore_output_shapes(true)
        .with_ignore_value_info(true)
        .model_for_read(&mut &*bytes)?;
    let (b, s) = (model.symbols.sym("B"), model.symbols.sym("S"));
    // as TextEncoder states them: at most 4,096 texts a call, the default
    // longest sequence
    let max_len = TextEncoderOptions::default().max_len;
    for assertion in [
        "B>=1".into(),
        "B<=4096".into(),
        "S>=1".into(),
        format!("S<={max_len}"),
    ] {
        model.symbols.add_assertion(assertion)?;
    }
    let fact = InferenceFact::dt_shape(i64::datum_type(), tvec![b.to_dim(), s.to_dim()]);
    for ix in 0..model.inputs.len() {
        model.set_input_fact(ix, fact.clone())?;
    }
    model.select_outputs_by_name(["last_hidden_state"])?;
    model.into_typed()?.into_decluttered()
}

fn nnef() -> Nnef {
    tract_nnef::nnef().with_onnx()
}

/// The first output of `plan` on a 1 × 12 input of ids 101…, fed by input
/// name as `TextEncoder` feeds them (mask 1, token types 0).
fn run(plan: &std::sync::Arc<TypedRunnableModel>) -> TractResult<Vec<f32>> {
    let model = plan.model();
    let inputs: TVec<TValue> = model
        .inputs
        .iter()
        .map(|outlet| {
            let data: Vec<i64> = match model.node(outlet.node).name.as_str() {
                "attention_mask" => vec![1; 12],
                "token_type_ids" => vec![0; 12],
                _ => (0..12).map(|i| 101 + i * 37).collect(),
            };
            Tensor::from_shape(&[1, 12], &data).map(IntoTValue::into_tvalue)
        })
        .collect::<TractResult<_>>()?;
    let out = plan.run(inputs)?;
    let first = out.first().ok_or_else(|| TractError::msg("no output"))?;
    Ok(first
        .to_plain_array_view::<f32>()?
        .iter()
        .copied()
        .collect())
}

/// One model form's stage times (ms) and its last output.
#[derive(Default)]
struct Form {
    read: Vec<f64>,
    again: Vec<f64>,
    optimize: Vec<f64>,
    output: Vec<f32>,
}

impl Form {
    /// Times `read` (to a typed model), declutter once more, and the code
    /// generation, then runs the plan once.
    fn time(&mut self, read: impl FnOnce() -> TractResult<TypedModel>) -> TractResult<()> {
        let t = Instant::now();
        let model = read()?;
        self.read.push(ms(t));
        let t = Instant::now();
        let model = model.into_decluttered()?;
        self.again.push(ms(t));
        let t = Instant::now();
        let plan = model.into_optimized()?.into_runnable()?;
        self.optimize.push(ms(t));
        self.output = run(&plan)?;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(5), |v| v.parse::<usize>())?;
    let onnx = std::fs::read("assets/minilm-int8.onnx")?;
    let vocab = std::fs::read_to_string("assets/vocab.txt")?;

    // the NNEF form, written once (what a catalog build would ship)
    let decluttered = onnx_decluttered(&onnx)?;
    let tar = nnef().write_to_tar(&decluttered, Vec::new())?;
    if let Some(path) = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
    {
        std::fs::write(path, &tar)?;
        println!("NNEF tar written to {path}");
    }

    let mut whole = Vec::new();
    let (mut from_onnx, mut from_nnef) = (Form::default(), Form::default());
    for _ in 0..runs {
        let t = Instant::now();
        let encoder = TextEncoder::with_options(
            &onnx,
            &vocab,
            TextEncoderOptions {
                int8_matmul: true,
                ..Default::default()
            },
        )?;
        whole.push(ms(t));
        drop(encoder);
        from_onnx.time(|| onnx_decluttered(&onnx))?;
        from_nnef.time(|| nnef().model_for_read(&mut &*tar))?;
    }
    println!(
        "MiniLM-L6 int8, {runs} runs each, alternating, medians (this machine's load at the end: {})",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "  files: ONNX {} bytes, NNEF tar {} bytes",
        onnx.len(),
        tar.len()
    );
    println!(
        "  recagent TextEncoder start (fold, int8 products, first embedding): {:.0} ms",
        median(whole)
    );
    println!(
        "  to a decluttered model: from ONNX {:.0} ms, from the NNEF tar {:.0} ms",
        median(from_onnx.read),
        median(from_nnef.read)
    );
    println!(
        "  declutter once more: after ONNX {:.0} ms, after NNEF {:.0} ms",
        median(from_onnx.again),
        median(from_nnef.again)
    );
    println!(
        "  into_optimized + runnable: after ONNX {:.0} ms, after NNEF {:.0} ms",
        median(from_onnx.optimize),
        median(from_nnef.optimize)
    );
    println!(
        "  cosine between the two forms' outputs: {:.6}",
        cosine(&from_onnx.output, &from_nnef.output)
    );
    Ok(())
}
