//! The text encoder natively: one plan for every shape against plans per
//! shape (`TextEncoderOptions::shape_plans`), alternating, on MiniLM-L6 int8.
//!
//! ```sh
//! cargo run --release -p recagent-core --example bench_text   # from the repository root, after scripts/setup.sh
//! ```
//!
//! Prints creation time, the first embedding (a new shape compiles its plan),
//! and medians of a 24-token text, a 6-token query and a batch of 64 texts.
use std::time::Instant;

use recagent_core::encoder::{TextEncoder, TextEncoderOptions};
use recagent_core::vectors::cosine;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = std::fs::read("assets/minilm-int8.onnx")?;
    let vocab = std::fs::read_to_string("assets/vocab.txt")?;
    let text = "A waterproof hiking jacket with taped seams, a hood and two zipped pockets, for rainy autumn walks";
    let query = "rain jacket for hiking";
    let texts: Vec<String> = (0..64)
        .map(|i| format!("{text} item {i} {}", "extra words ".repeat(i % 5)))
        .collect();
    let mut encoders = Vec::new();
    let variants: Vec<(&str, bool, bool)> = if std::env::args().any(|a| a == "--int8") {
        vec![("f32 products", false, false), ("int8 products", false, true)]
    } else {
        vec![("one plan", false, false), ("shape plans", true, false)]
    };
    for (label, shape_plans, int8_matmul) in variants {
        let t = Instant::now();
        let encoder = TextEncoder::with_options(
            &model,
            &vocab,
            TextEncoderOptions {
                shape_plans,
                int8_matmul,
                ..Default::default()
            },
        )?;
        let create = ms(t);
        let t = Instant::now();
        encoder.embed(text)?;
        println!(
            "{label}: create {create:.0} ms, first embedding {:.0} ms",
            ms(t)
        );
        encoder.embed(query)?;
        encoder.embed_batch(&texts)?;
        encoders.push((label, encoder));
    }
    let mut samples = vec![(Vec::new(), Vec::new(), Vec::new()); encoders.len()];
    for round in 0..15 {
        for (i, (_, encoder)) in encoders.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..4 {
                encoder.embed(text)?;
            }
            samples[i].0.push(ms(t) / 4.0);
            let t = Instant::now();
            for _ in 0..4 {
                encoder.embed(query)?;
            }
            samples[i].1.push(ms(t) / 4.0);
            if round % 3 == 0 {
                let t = Instant::now();
                encoder.embed_batch(&texts)?;
                samples[i].2.push(ms(t) / texts.len() as f64);
            }
        }
    }
    let tokens = (
        encoders[0].1.tokenize(text).len(),
        encoders[0].1.tokenize(query).len(),
    );
    for ((label, _), (single, short, batch)) in encoders.iter().zip(samples) {
        println!(
            "{label}: {}-token text {:.2} ms, {}-token query {:.2} ms, batch of 64 {:.2} ms/text",
            tokens.0,
            median(single),
            tokens.1,
            median(short),
            median(batch)
        );
    }
    let (a, b) = (encoders[0].1.embed(text)?, encoders[1].1.embed(text)?);
    println!("cosine {} vs {}: {:.6}", encoders[0].0, encoders[1].0, cosine(&a, &b));
    Ok(())
}
