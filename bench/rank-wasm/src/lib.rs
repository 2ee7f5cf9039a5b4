//! Browser benchmark of recagent's ranking kernels (`scripts/bench.sh rank`).
//!
//! One [`RankBench`] holds a seeded catalog (f32 and int8, optionally a large
//! int8-only one) and a query; each `rank_*` method is one timed unit of
//! work for the page (`bench/rank-page.mjs`): score every row, pick the top
//! k. Data comes from `data.rs`, the same generator as the native example.

use recagent_core::vectors::kernels::{
    implementation, rescore_f32, scores_f32, scores_i8, stream_read_f32, QuantizedMatrix,
    QuantizedQuery,
};
use recagent_core::vectors::topk::{top_k, top_k_of};
use wasm_bindgen::prelude::*;

pub mod data;
mod exp;

fn js(e: recagent_core::Error) -> JsError {
    JsError::new(&e.to_string())
}

fn indices(v: &[(u32, f32)]) -> Vec<u32> {
    v.iter().map(|c| c.0).collect()
}

/// Which kernels this module runs, and whether it was compiled with simd128.
#[wasm_bindgen(js_name = kernelInfo)]
pub fn kernel_info() -> String {
    format!(
        "{} (simd128 at compile time: {})",
        implementation(),
        cfg!(target_feature = "simd128")
    )
}

/// Seeded catalogs, a query and score buffers.
#[wasm_bindgen]
pub struct RankBench {
    dim: usize,
    f32m: Vec<f32>,
    i8m: QuantizedMatrix,
    big: Option<QuantizedMatrix>,
    query: Vec<f32>,
    scores: Vec<f32>,
    big_scores: Vec<f32>,
}

#[wasm_bindgen]
impl RankBench {
    /// `rows × dim` unit rows from `seed`, in f32 and quantized.
    #[wasm_bindgen(constructor)]
    pub fn new(rows: usize, dim: usize, seed: u32) -> Result<RankBench, JsError> {
        let f32m = data::catalog(u64::from(seed), rows, dim);
        let i8m = QuantizedMatrix::quantize(&f32m, dim).map_err(js)?;
        Ok(RankBench {
            dim,
            f32m,
            i8m,
            big: None,
            query: data::query(0, dim),
            scores: vec![0.0; rows],
            big_scores: Vec::new(),
        })
    }

    /// Adds the large int8-only catalog (`rows` rows, generated and quantized
    /// in chunks from `seed`).
    #[wasm_bindgen(js_name = addBig)]
    pub fn add_big(&mut self, rows: usize, seed: u32) -> Result<(), JsError> {
        self.big = None;
        let big = data::quantized_catalog(u64::from(seed), rows, self.dim).map_err(js)?;
        self.big_scores = vec![0.0; rows];
        self.big = Some(big);
        Ok(())
    }

    /// Selects the query of user number `user`.
    #[wasm_bindgen(js_name = setUser)]
    pub fn set_user(&mut self, user: u32) {
        self.query = data::query(u64::from(user), self.dim);
    }

    /// The current query (for the plain JS peer).
    pub fn query(&self) -> Vec<f32> {
        self.query.clone()
    }

    /// Byte offset of the f32 catalog in wasm memory, for a zero-copy
    /// Float32Array view (the plain JS peer reads the same bytes).
    #[wasm_bindgen(js_name = f32Ptr)]
    pub fn f32_ptr(&self) -> usize {
        self.f32m.as_ptr() as usize
    }

    /// Number of f32 values in the catalog.
    #[wasm_bindgen(js_name = f32Len)]
    pub fn f32_len(&self) -> usize {
        self.f32m.len()
    }

    /// f32 scan + top-k (exact).
    #[wasm_bindgen(js_name = rankF32)]
    pub fn rank_f32(&mut self, k: usize) -> Result<Vec<u32>, JsError> {
        scores_f32(&self.f32m, self.dim, &self.query, &mut self.scores).map_err(js)?;
        Ok(indices(&top_k(&self.scores, k, |_| true)))
    }

    /// f32 scan only; returns a checksum.
    #[wasm_bindgen(js_name = scanF32)]
    pub fn scan_f32(&mut self) -> Result<f32, JsError> {
        scores_f32(&self.f32m, self.dim, &self.query, &mut self.scores).map_err(js)?;
        Ok(self.scores[self.scores.len() / 2])
    }

    /// Query quantization + int8 scan + top-k.
    #[wasm_bindgen(js_name = rankI8)]
    pub fn rank_i8(&mut self, k: usize) -> Result<Vec<u32>, JsError> {
        let q = QuantizedQuery::quantize(&self.query);
        scores_i8(&self.i8m, &q, &mut self.scores).map_err(js)?;
        Ok(indices(&top_k(&self.scores, k, |_| true)))
    }

    /// Same as `rankI8` over the large catalog.
    #[wasm_bindgen(js_name = rankI8Big)]
    pub fn rank_i8_big(&mut self, k: usize) -> Result<Vec<u32>, JsError> {
        let big = self
            .big
            .as_ref()
            .ok_or_else(|| JsError::new("call addBig first"))?;
        let q = QuantizedQuery::quantize(&self.query);
        scores_i8(big, &q, &mut self.big_scores).map_err(js)?;
        Ok(indices(&top_k(&self.big_scores, k, |_| true)))
    }

    /// Exact mode: int8 scan for the top `c·k` candidates, f32 re-scoring of
    /// those, top k of them.
    #[wasm_bindgen(js_name = rankExact)]
    pub fn rank_exact(&mut self, k: usize, c: usize) -> Result<Vec<u32>, JsError> {
        let q = QuantizedQuery::quantize(&self.query);
        scores_i8(&self.i8m, &q, &mut self.scores).map_err(js)?;
        let candidates = indices(&top_k(&self.scores, c.saturating_mul(k), |_| true));
        let rescored = rescore_f32(&self.f32m, self.dim, &self.query, &candidates).map_err(js)?;
        Ok(indices(&top_k_of(&rescored, k)))
    }

    /// The roofline reference: reads the whole f32 catalog once.
    pub fn stream(&self) -> f32 {
        stream_read_f32(&self.f32m)
    }

    /// Kernel variants (see exp.rs), scores of the 100k catalog; returns a
    /// checksum. f32: 0 library, 1 one row × 4 acc, 2 one row × 2 acc,
    /// 3 one row × 8 acc, 4 two rows × 2 acc.
    #[wasm_bindgen(js_name = expF32)]
    pub fn exp_f32(&mut self, variant: u32) -> f32 {
        let (m, d, q, o) = (&self.f32m, self.dim, &self.query, &mut self.scores);
        match variant {
            1 => exp::f32_rows1::<4>(m, d, q, o),
            2 => exp::f32_rows1::<2>(m, d, q, o),
            3 => exp::f32_rows1::<8>(m, d, q, o),
            4 => exp::f32_rows2(m, d, q, o),
            5 => exp::f32_rows1_defer(m, d, q, o),
            _ => {
                scores_f32(m, d, q, o).ok();
            }
        }
        self.scores[self.scores.len() / 3]
    }

    /// int8 variants: 0 library, 1 one row ext low/high, 2 one row load8x8 × 2 acc,
    /// 3 one row load8x8 × 4 acc, 4 one row extmul, 5 two rows load8x8.
    #[wasm_bindgen(js_name = expI8)]
    pub fn exp_i8(&mut self, variant: u32) -> f32 {
        let q = QuantizedQuery::quantize(&self.query);
        let q16: Vec<i16> = q.values.iter().map(|&x| i16::from(x)).collect();
        let (m, d, s, o) = (
            &self.i8m.values,
            self.dim,
            &self.i8m.scales,
            &mut self.scores,
        );
        match variant {
            1 => exp::i8_rows1_ext(m, d, &q16, s, q.scale, o),
            2 => exp::i8_rows1_load::<2>(m, d, &q16, s, q.scale, o),
            3 => exp::i8_rows1_load::<4>(m, d, &q16, s, q.scale, o),
            4 => exp::i8_rows1_extmul(m, d, &q.values, s, q.scale, o),
            5 => exp::i8_rows2_load(m, d, &q16, s, q.scale, o),
            6 => exp::i8_rows1_ext_unroll::<2>(m, d, &q16, s, q.scale, o),
            7 => exp::i8_rows1_ext_unroll::<4>(m, d, &q16, s, q.scale, o),
            8 => {
                let qe: Vec<i16> = q16.iter().step_by(2).copied().collect();
                let qo: Vec<i16> = q16.iter().skip(1).step_by(2).copied().collect();
                exp::i8_rows1_shift(m, d, &qe, &qo, s, q.scale, o)
            }
            9 => exp::i8_rows1_ext_sep::<2>(m, d, &q16, s, q.scale, o),
            10 => exp::i8_rows1_ext_sep::<4>(m, d, &q16, s, q.scale, o),
            11 => {
                let qe: Vec<i16> = q16.iter().step_by(2).copied().collect();
                let qo: Vec<i16> = q16.iter().skip(1).step_by(2).copied().collect();
                exp::i8_rows1_shift_defer(m, d, &qe, &qo, s, q.scale, o)
            }
            _ => {
                scores_i8(&self.i8m, &q, o).ok();
            }
        }
        self.scores[self.scores.len() / 3]
    }
}
