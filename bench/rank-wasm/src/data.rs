//! Seeded benchmark data, bit-identical natively and in wasm (integer PRNG,
//! f32 arithmetic in a fixed order). Shared by the wasm bench crate and the
//! native example `examples/bench_rank.rs` (included there by `#[path]`).

use recagent_core::vectors::kernels::QuantizedMatrix;

/// SplitMix64: tiny, fast, the same stream on every target.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1) with 24 random bits.
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Appends `rows` unit-length rows of `dim` uniform values (then normalised)
/// drawn from `rng` to `out`.
pub fn push_unit_rows(rng: &mut SplitMix64, rows: usize, dim: usize, out: &mut Vec<f32>) {
    out.reserve(rows * dim);
    for _ in 0..rows {
        let start = out.len();
        let mut norm = 0.0f32;
        for _ in 0..dim {
            let x = rng.f32();
            norm += x * x;
            out.push(x);
        }
        let inv = 1.0 / norm.sqrt().max(f32::MIN_POSITIVE);
        out[start..].iter_mut().for_each(|x| *x *= inv);
    }
}

/// The f32 catalog: `rows × dim` unit rows from `seed`.
pub fn catalog(seed: u64, rows: usize, dim: usize) -> Vec<f32> {
    let mut out = Vec::new();
    push_unit_rows(&mut SplitMix64(seed), rows, dim, &mut out);
    out
}

/// The same rows as [`catalog`] (same seed: identical first rows), quantized
/// chunk by chunk so a million rows never exist in f32 at once.
pub fn quantized_catalog(seed: u64, rows: usize, dim: usize) -> recagent_core::Result<QuantizedMatrix> {
    const CHUNK: usize = 8192;
    let mut rng = SplitMix64(seed);
    let mut all = QuantizedMatrix::from_parts(
        dim,
        Vec::with_capacity(rows * dim),
        Vec::with_capacity(rows),
    )?;
    let mut buf = Vec::with_capacity(CHUNK * dim);
    let mut done = 0;
    while done < rows {
        let n = CHUNK.min(rows - done);
        buf.clear();
        push_unit_rows(&mut rng, n, dim, &mut buf);
        all.extend(&QuantizedMatrix::quantize(&buf, dim)?)?;
        done += n;
    }
    Ok(all)
}

/// A unit query vector for user number `user` (a seed of its own).
pub fn query(user: u64, dim: usize) -> Vec<f32> {
    catalog(0x5EED_0000 ^ user.wrapping_mul(0x1000_0001), 1, dim)
}

/// Share of `want` found in `got` (recall@k, k = want.len()).
pub fn recall(got: &[u32], want: &[u32]) -> f64 {
    if want.is_empty() {
        return 1.0;
    }
    want.iter().filter(|w| got.contains(w)).count() as f64 / want.len() as f64
}
