//! The ranking kernels against naive references on seeded random data:
//! f32 and int8 scans for odd dims and row counts, the int8 error bound,
//! top-k against a full sort (ties, NaN, filters, k = 0, k > n).
//!
//! Runs natively (`cargo test`, AVX2 or portable kernels) and in headless
//! Chromium (`wasm-pack test`, the `simd128` kernels).

use recagent_core::vectors::kernels::{
    rescore_f32, scores_f32, scores_i8, stream_read_f32, QuantizedMatrix, QuantizedQuery,
    MAX_I8_DIM,
};
use recagent_core::vectors::topk::{top_k, top_k_of};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// SplitMix64: a tiny deterministic generator, identical on every target.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }
}

fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

const DIMS: [usize; 8] = [1, 3, 4, 8, 17, 33, 384, 385];
const ROWS: [usize; 5] = [0, 1, 3, 4, 13];

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn f32_scores_equal_reference() {
    let mut rng = Rng(1);
    for dim in DIMS {
        for rows in ROWS {
            let m = rng.vec(rows * dim);
            let q = rng.vec(dim);
            let mut out = vec![f32::NAN; rows];
            scores_f32(&m, dim, &q, &mut out).unwrap();
            for (i, &o) in out.iter().enumerate() {
                let row = &m[i * dim..(i + 1) * dim];
                let want = dot64(row, &q);
                // f32 summation error bound: dim * eps * Σ|x·y|.
                let mag: f64 = row
                    .iter()
                    .zip(&q)
                    .map(|(&x, &y)| f64::from((x * y).abs()))
                    .sum();
                let tol = 1e-6 + dim as f64 * f64::from(f32::EPSILON) * mag;
                assert!(
                    (f64::from(o) - want).abs() <= tol,
                    "dim {dim} rows {rows} row {i}: {o} vs {want}"
                );
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn i8_scores_equal_integer_reference_and_bound() {
    let mut rng = Rng(2);
    for dim in DIMS {
        for rows in ROWS {
            let m = rng.vec(rows * dim);
            let q = rng.vec(dim);
            let qm = QuantizedMatrix::quantize(&m, dim).unwrap();
            let qq = QuantizedQuery::quantize(&q);
            assert_eq!(qm.rows(), rows);
            assert!(qm.values.iter().chain(&qq.values).all(|&v| v >= -127));
            let mut out = vec![f32::NAN; rows];
            scores_i8(&qm, &qq, &mut out).unwrap();
            for (i, &o) in out.iter().enumerate() {
                let qrow = &qm.values[i * dim..(i + 1) * dim];
                let exact: i64 = qrow
                    .iter()
                    .zip(&qq.values)
                    .map(|(&a, &b)| i64::from(a) * i64::from(b))
                    .sum();
                let (sr, sq) = (qm.scales[i], qq.scale);
                let want = exact as f32 * sr * sq;
                assert!(
                    (o - want).abs() <= 1e-6 * want.abs().max(1e-6),
                    "dim {dim} row {i}: {o} vs {want}"
                );
                // Against the f32 dot product: half a step on each side.
                let row = &m[i * dim..(i + 1) * dim];
                let bound: f64 = row
                    .iter()
                    .zip(&q)
                    .map(|(&r, &x)| {
                        f64::from(x.abs() * sr / 2.0)
                            + f64::from(r.abs() * sq / 2.0)
                            + f64::from(sr * sq / 4.0)
                    })
                    .sum();
                let err = (f64::from(o) - dot64(row, &q)).abs();
                assert!(
                    err <= bound * 1.0001 + 1e-6,
                    "dim {dim} row {i}: error {err} > bound {bound}"
                );
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn i8_extremes_do_not_overflow() {
    // 127 * 127 * dim: a multiple of 32, a ragged tail over two blocks, the largest dim.
    for dim in [384, 4099, MAX_I8_DIM] {
        let qm = QuantizedMatrix::from_parts(dim, vec![-127; 5 * dim], vec![1.0; 5]).unwrap();
        let qq = QuantizedQuery {
            values: vec![-127; dim],
            scale: 1.0,
        };
        let mut out = vec![0.0; 5];
        scores_i8(&qm, &qq, &mut out).unwrap();
        assert!(
            out.iter().all(|&o| o == (127 * 127 * dim) as f32),
            "{out:?}"
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn quantization_round_trip_error() {
    let mut rng = Rng(3);
    let dim = 385;
    let m = rng.vec(7 * dim);
    let qm = QuantizedMatrix::quantize(&m, dim).unwrap();
    for (i, row) in m.chunks_exact(dim).enumerate() {
        let s = qm.scales[i];
        let max = row.iter().fold(0.0f32, |a, x| a.max(x.abs()));
        assert!((s * 127.0 - max).abs() <= 1e-6);
        for (j, &x) in row.iter().enumerate() {
            let back = f32::from(qm.values[i * dim + j]) * s;
            assert!((x - back).abs() <= s / 2.0 + 1e-7);
        }
    }
    let mut chunked = QuantizedMatrix::quantize(&m[..3 * dim], dim).unwrap();
    chunked
        .extend(&QuantizedMatrix::quantize(&m[3 * dim..], dim).unwrap())
        .unwrap();
    assert_eq!(chunked, qm);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn stream_read_sums() {
    let mut rng = Rng(4);
    for n in [0, 1, 31, 32, 33, 1000] {
        let v = rng.vec(n);
        let want: f64 = v.iter().map(|&x| f64::from(x)).sum();
        assert!(
            (f64::from(stream_read_f32(&v)) - want).abs() < 1e-3,
            "n {n}"
        );
    }
}

/// Reference: full sort, NaN and filtered-out indices removed.
fn sorted_reference(scores: &[f32], k: usize, keep: impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .filter(|&(i, s)| !s.is_nan() && keep(i))
        .map(|(i, &s)| (i as u32, s))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn top_k_equals_full_sort() {
    let mut rng = Rng(5);
    for n in [0, 1, 2, 10, 100, 1000] {
        for k in [0, 1, 3, 10, 99, 1000, 5000] {
            for variant in 0..4 {
                let scores: Vec<f32> = (0..n)
                    .map(|_| match variant {
                        // many ties: 8 distinct values
                        1 => (rng.next_u64() % 8) as f32,
                        // some NaN and infinities
                        2 => match rng.next_u64() % 10 {
                            0 => f32::NAN,
                            1 => f32::INFINITY,
                            2 => f32::NEG_INFINITY,
                            _ => rng.f32(),
                        },
                        _ => rng.f32(),
                    })
                    .collect();
                let keep = |i: usize| variant != 3 || i % 3 != 1;
                let got = top_k(&scores, k, keep);
                let want = sorted_reference(&scores, k, keep);
                let same = got.len() == want.len()
                    && got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
                assert!(same, "n {n} k {k} variant {variant}: {got:?} vs {want:?}");
                let merged = top_k_of(&want, k);
                assert_eq!(merged.len(), want.len());
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn int8_then_rescore_finds_exact_top_k() {
    let mut rng = Rng(6);
    let (rows, dim, k) = (2000, 64, 10);
    let m = rng.vec(rows * dim);
    let q = rng.vec(dim);
    let mut exact = vec![0.0; rows];
    scores_f32(&m, dim, &q, &mut exact).unwrap();
    let want: Vec<u32> = top_k(&exact, k, |_| true).iter().map(|c| c.0).collect();

    let qm = QuantizedMatrix::quantize(&m, dim).unwrap();
    let mut approx = vec![0.0; rows];
    scores_i8(&qm, &QuantizedQuery::quantize(&q), &mut approx).unwrap();
    let candidates: Vec<u32> = top_k(&approx, 10 * k, |_| true)
        .iter()
        .map(|c| c.0)
        .collect();
    let rescored = rescore_f32(&m, dim, &q, &candidates).unwrap();
    let got: Vec<u32> = top_k_of(&rescored, k).iter().map(|c| c.0).collect();
    assert_eq!(got, want);
}
