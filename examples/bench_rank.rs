//! Native benchmark of the ranking kernels (`scripts/bench.sh rank` runs it):
//!
//! ```sh
//! cargo run --release --example bench_rank -- [--quick] [--json PATH]
//! ```
//!
//! One user, one core: rank 100k × 384 (f32, int8, int8 + f32 re-scoring),
//! 1M × 384 int8, and the streaming-read kernel over the f32 catalog as the
//! memory-bandwidth roofline. Prints a table (median of N runs) and writes the
//! figures as JSON. Data: the seeded generator of `bench/rank-wasm/src/data.rs`,
//! the same as in the browser benchmark.

use std::time::Instant;

use recagent_core::vectors::kernels::{
    implementation, rescore_f32, scores_f32, scores_i8, stream_read_f32, QuantizedQuery,
};
use recagent_core::vectors::topk::{top_k, top_k_of};

#[path = "../bench/rank-wasm/src/data.rs"]
#[allow(dead_code)]
mod data;

const DIM: usize = 384;
const ROWS: usize = 100_000;
const BIG_ROWS: usize = 1_000_000;
const K: usize = 10;
const EXACT_C: usize = 10;
const SEED: u64 = 42;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

/// Median wall time in ms of `runs` calls after `warmup` untimed ones.
fn time_ms(warmup: usize, runs: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn ids(v: &[(u32, f32)]) -> Vec<u32> {
    v.iter().map(|c| c.0).collect()
}

fn main() -> recagent_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json_path = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let (warmup, runs, users) = if quick { (2, 5, 5) } else { (5, 31, 20) };

    eprintln!("[bench-rank] generating {ROWS} x {DIM} (f32 + int8) and {BIG_ROWS} x {DIM} int8, seed {SEED}");
    let f32m = data::catalog(SEED, ROWS, DIM);
    let i8m = recagent_core::vectors::kernels::QuantizedMatrix::quantize(&f32m, DIM)?;
    let big = data::quantized_catalog(SEED, BIG_ROWS, DIM)?;
    let query = data::query(0, DIM);
    let mut scores = vec![0.0f32; ROWS];
    let mut big_scores = vec![0.0f32; BIG_ROWS];

    let stream = time_ms(warmup, runs, || {
        std::hint::black_box(stream_read_f32(std::hint::black_box(&f32m)));
    });
    let f32_scan = time_ms(warmup, runs, || {
        scores_f32(&f32m, DIM, &query, &mut scores).ok();
        std::hint::black_box(&scores);
    });
    let f32_rank = time_ms(warmup, runs, || {
        scores_f32(&f32m, DIM, &query, &mut scores).ok();
        std::hint::black_box(top_k(&scores, K, |_| true));
    });
    let i8_rank = time_ms(warmup, runs, || {
        let q = QuantizedQuery::quantize(&query);
        scores_i8(&i8m, &q, &mut scores).ok();
        std::hint::black_box(top_k(&scores, K, |_| true));
    });
    let mut exact = || -> recagent_core::Result<Vec<u32>> {
        let q = QuantizedQuery::quantize(&query);
        scores_i8(&i8m, &q, &mut scores)?;
        let cand = ids(&top_k(&scores, EXACT_C * K, |_| true));
        Ok(ids(&top_k_of(&rescore_f32(&f32m, DIM, &query, &cand)?, K)))
    };
    let exact_rank = time_ms(warmup, runs, || {
        std::hint::black_box(exact().ok());
    });
    let big_rank = time_ms(warmup.min(2), runs.min(11), || {
        let q = QuantizedQuery::quantize(&query);
        scores_i8(&big, &q, &mut big_scores).ok();
        std::hint::black_box(top_k(&big_scores, K, |_| true));
    });

    // Recall@10 of int8 and of int8 + re-scoring against exact f32, over users.
    let (mut r_i8, mut r_exact) = (0.0, 0.0);
    for user in 0..users {
        let q = data::query(user as u64, DIM);
        scores_f32(&f32m, DIM, &q, &mut scores)?;
        let want = ids(&top_k(&scores, K, |_| true));
        scores_i8(&i8m, &QuantizedQuery::quantize(&q), &mut scores)?;
        let approx = top_k(&scores, EXACT_C * K, |_| true);
        r_i8 += data::recall(&ids(&approx[..K.min(approx.len())]), &want);
        let re = top_k_of(&rescore_f32(&f32m, DIM, &q, &ids(&approx))?, K);
        r_exact += data::recall(&ids(&re), &want);
    }
    let (r_i8, r_exact) = (r_i8 / users as f64, r_exact / users as f64);

    let f32_bytes = (ROWS * DIM * 4) as f64;
    let i8_bytes = (ROWS * DIM) as f64;
    let gbs = |bytes: f64, ms: f64| bytes / ms / 1e6;
    let roofline = gbs(f32_bytes, stream);
    let row = |name: &str, ms: f64, items: usize, bytes: f64| {
        format!(
            "{name:<34} {ms:>9.3} {:>10.1} {:>8.2} {:>9.2}",
            items as f64 / ms / 1e3,
            gbs(bytes, ms),
            gbs(bytes, ms) / roofline
        )
    };
    println!(
        "native ({}, one thread, {runs} runs, median)",
        implementation()
    );
    println!(
        "{:<34} {:>9} {:>10} {:>8} {:>9}",
        "row", "ms", "M items/s", "GB/s", "roofline"
    );
    println!(
        "{}",
        row("stream-read f32 100k x 384", stream, ROWS, f32_bytes)
    );
    println!("{}", row("f32 scan only 100k", f32_scan, ROWS, f32_bytes));
    println!("{}", row("f32 rank 100k top-10", f32_rank, ROWS, f32_bytes));
    println!("{}", row("int8 rank 100k top-10", i8_rank, ROWS, i8_bytes));
    println!(
        "{}",
        row("int8+f32 rescore (c=10) 100k", exact_rank, ROWS, i8_bytes)
    );
    println!(
        "{}",
        row("int8 rank 1M top-10", big_rank, BIG_ROWS, i8_bytes * 10.0)
    );
    println!(
        "int8 speed-up over f32: {:.2}x; recall@10 vs f32 over {users} users: int8 {r_i8:.3}, int8+rescore {r_exact:.3}",
        f32_rank / i8_rank
    );

    if let Some(path) = json_path {
        let json = serde_json::json!({
            "implementation": implementation(),
            "quick": quick,
            "runs": runs,
            "rows": ROWS, "bigRows": BIG_ROWS, "dim": DIM, "k": K, "exactC": EXACT_C, "users": users,
            "ms": {
                "stream": stream, "f32Scan": f32_scan, "f32": f32_rank, "i8": i8_rank,
                "exact": exact_rank, "i8Big": big_rank,
            },
            "rooflineGBs": roofline,
            "recall": { "i8": r_i8, "exact": r_exact },
        });
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        )?;
        eprintln!("[bench-rank] wrote {path}");
    }
    Ok(())
}
