//! Baseline recommenders, each a [`Scorer`]. All are fitted on the item
//! lists the caller passes (the harness passes train + valid, never test).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::harness::Scorer;
use super::linalg::spd_inverse;
use super::split::Event;
use recagent_core::encoder::TextEncoder;
use recagent_core::error::{Error, Result};

/// Most-popular: the score of an item is its number of interactions.
#[derive(Debug, Clone)]
pub struct Popularity {
    /// Interaction count per item.
    pub counts: Vec<f32>,
}

impl Popularity {
    /// Counts every occurrence of each item in `histories`.
    pub fn fit(n_items: usize, histories: &[Vec<u32>]) -> Self {
        let mut counts = vec![0f32; n_items];
        for h in histories {
            for &i in h {
                counts[i as usize] += 1.0;
            }
        }
        Self { counts }
    }
}

impl Scorer for Popularity {
    fn score(&self, _history: &[Event], out: &mut [f32]) {
        out.copy_from_slice(&self.counts);
    }
}

/// EASE (Steck 2019): a closed-form item-item linear autoencoder.
///
/// With the binary user × item matrix X, G = XᵀX + λI, P = G⁻¹,
/// B = −P / diag(P) (column-wise), diag(B) = 0. A user's scores are x_u·B,
/// i.e. the sum of the rows of B of the items in their history.
#[derive(Debug, Clone)]
pub struct Ease {
    /// Number of items.
    pub n_items: usize,
    /// B, row-major `n_items × n_items`: `weights[i * n + j]` is the weight of
    /// history item `i` towards item `j`.
    pub weights: Vec<f32>,
}

impl Ease {
    /// Default L2 regularisation.
    pub const DEFAULT_LAMBDA: f64 = 200.0;

    /// Fits EASE on `user_histories` (item indices < `n_items`; repeats count
    /// once). Panics when `lambda` is not a positive finite number (see
    /// [`Ease::try_fit`]).
    pub fn fit(n_items: usize, user_histories: &[Vec<u32>], lambda: f64) -> Self {
        Self::try_fit(n_items, user_histories, lambda).expect("EASE fit")
    }

    /// [`Ease::fit`], with a bad `lambda` or an out-of-range item as
    /// [`Error::InvalidInput`].
    pub fn try_fit(n_items: usize, user_histories: &[Vec<u32>], lambda: f64) -> Result<Self> {
        if !(lambda > 0.0 && lambda.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "EASE lambda must be positive, got {lambda}"
            )));
        }
        let n = n_items;
        let mut g = gram(n, user_histories)?;
        for i in 0..n {
            g[i * n + i] += lambda;
        }
        spd_inverse(&mut g, n)?;
        let diag: Vec<f64> = (0..n).map(|j| g[j * n + j]).collect();
        let mut weights = vec![0f32; n * n];
        for (i, (w, p)) in weights
            .chunks_mut(n.max(1))
            .zip(g.chunks(n.max(1)))
            .enumerate()
        {
            for j in 0..n {
                w[j] = if i == j {
                    0.0
                } else {
                    (-p[j] / diag[j]) as f32
                };
            }
        }
        Ok(Self {
            n_items: n,
            weights,
        })
    }
}

/// XᵀX of the binary user × item matrix, row-major f64, computed from the
/// sparse histories; rows are split over the cores with equal work.
pub fn gram(n: usize, user_histories: &[Vec<u32>]) -> Result<Vec<f64>> {
    let sets: Vec<Vec<u32>> = user_histories
        .iter()
        .map(|h| {
            let mut s = h.clone();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    if let Some(&bad) = sets
        .iter()
        .filter_map(|s| s.last())
        .find(|&&i| i as usize >= n)
    {
        return Err(Error::InvalidInput(format!(
            "item {bad} out of range for {n} items"
        )));
    }
    // Work of row i: sum of the history lengths of the users who have i.
    let mut work = vec![0u64; n];
    for s in &sets {
        for &i in s {
            work[i as usize] += s.len() as u64;
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .max(1);
    let total: u64 = work.iter().sum();
    let mut bounds = vec![0usize];
    let mut acc = 0u64;
    for (i, w) in work.iter().enumerate() {
        acc += w;
        if bounds.len() < threads && acc * threads as u64 >= total * bounds.len() as u64 {
            bounds.push(i + 1);
        }
    }
    bounds.push(n);
    bounds.dedup();
    let mut g = vec![0f64; n * n];
    std::thread::scope(|s| {
        let mut rest: &mut [f64] = &mut g;
        for win in bounds.windows(2) {
            let (lo, hi) = (win[0], win[1]);
            let (band, tail) = rest.split_at_mut((hi - lo) * n);
            rest = tail;
            let sets = &sets;
            s.spawn(move || {
                for set in sets {
                    let a = set.partition_point(|&i| (i as usize) < lo);
                    let b = set.partition_point(|&i| (i as usize) < hi);
                    for &i in &set[a..b] {
                        let row = &mut band[(i as usize - lo) * n..(i as usize - lo + 1) * n];
                        for &j in set {
                            row[j as usize] += 1.0;
                        }
                    }
                }
            });
        }
    });
    Ok(g)
}

/// `out` = the sum of the rows of the row-major `n × n` item-item `matrix`
/// for the distinct items of `history` (EASE and item-kNN scoring).
fn sum_history_rows(matrix: &[f32], n: usize, history: &[Event], out: &mut [f32]) {
    out.fill(0.0);
    let mut items: Vec<u32> = history.iter().map(|e| e.item).collect();
    items.sort_unstable();
    items.dedup();
    for i in items {
        let row = &matrix[i as usize * n..(i as usize + 1) * n];
        out.iter_mut().zip(row).for_each(|(o, w)| *o += w);
    }
}

impl Scorer for Ease {
    fn score(&self, history: &[Event], out: &mut [f32]) {
        sum_history_rows(&self.weights, self.n_items, history, out);
    }
}

/// Item-kNN: cosine similarity between the binary item columns of the
/// user × item matrix (|U_i ∩ U_j| / √(|U_i| |U_j|)), each item keeping its
/// `neighbours` most similar items (0 = all); a user's scores are the sums of
/// the similarity rows of their history items.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    /// Number of items.
    pub n_items: usize,
    /// Similarities, row-major `n_items × n_items`, zero on the diagonal
    /// and outside each row's kept neighbours.
    pub similarities: Vec<f32>,
}

impl ItemKnn {
    /// Default neighbourhood size.
    pub const DEFAULT_NEIGHBOURS: usize = 100;

    /// Fits on `user_histories` (repeats count once).
    pub fn fit(n_items: usize, user_histories: &[Vec<u32>], neighbours: usize) -> Result<Self> {
        let n = n_items;
        let g = gram(n, user_histories)?;
        let norm: Vec<f64> = (0..n).map(|i| g[i * n + i].sqrt()).collect();
        let mut similarities = vec![0f32; n * n];
        let mut order: Vec<u32> = Vec::with_capacity(n);
        for i in 0..n {
            let row = &mut similarities[i * n..(i + 1) * n];
            for j in 0..n {
                let d = norm[i] * norm[j];
                row[j] = if i == j || d == 0.0 {
                    0.0
                } else {
                    (g[i * n + j] / d) as f32
                };
            }
            if neighbours > 0 && neighbours < n {
                order.clear();
                order.extend(0..n as u32);
                order.select_nth_unstable_by(neighbours, |&a, &b| {
                    row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b))
                });
                for &j in &order[neighbours..] {
                    row[j as usize] = 0.0;
                }
            }
        }
        Ok(Self {
            n_items: n,
            similarities,
        })
    }
}

impl Scorer for ItemKnn {
    fn score(&self, history: &[Event], out: &mut [f32]) {
        sum_history_rows(&self.similarities, self.n_items, history, out);
    }
}

/// Content-only: the user is the mean of the text embeddings of their
/// history items; an item's score is the dot product with it.
#[derive(Debug, Clone)]
pub struct ContentOnly {
    /// Embedding dimension.
    pub dim: usize,
    /// Item embeddings, row-major `n_items × dim` (unit length).
    pub embeddings: Vec<f32>,
}

impl ContentOnly {
    /// From precomputed embeddings (`n_items × dim`, row-major).
    pub fn new(dim: usize, embeddings: Vec<f32>) -> Self {
        Self { dim, embeddings }
    }

    /// Embeds `texts` (one per item, in item order) with `encoder`, in
    /// batches on all cores, calling `progress(done, total)` from the calling
    /// thread. Nothing is cached.
    pub fn encode<S: AsRef<str> + Sync>(
        encoder: &TextEncoder,
        texts: &[S],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Self> {
        let total = texts.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .clamp(1, total.max(1));
        // Interleaved shares keep the text lengths of the threads similar.
        let shares: Vec<Vec<&str>> = (0..threads)
            .map(|t| {
                texts
                    .iter()
                    .skip(t)
                    .step_by(threads)
                    .map(AsRef::as_ref)
                    .collect()
            })
            .collect();
        let done = AtomicUsize::new(0);
        let results: Vec<Result<Vec<Vec<f32>>>> = std::thread::scope(|s| {
            let workers: Vec<_> = shares[1..]
                .iter()
                .map(|share| {
                    let done = &done;
                    s.spawn(move || {
                        let mut seen = 0;
                        encoder.embed_batch_with_progress(share, &mut |d, _| {
                            done.fetch_add(d - seen, Ordering::Relaxed);
                            seen = d;
                        })
                    })
                })
                .collect();
            let mut seen = 0;
            let first = encoder.embed_batch_with_progress(&shares[0], &mut |d, _| {
                let all = done.fetch_add(d - seen, Ordering::Relaxed) + d - seen;
                seen = d;
                progress(all.min(total), total);
            });
            let mut all = vec![first];
            all.extend(
                workers
                    .into_iter()
                    .map(|w| w.join().expect("encoder thread panicked")),
            );
            all
        });
        let results = results.into_iter().collect::<Result<Vec<_>>>()?;
        if threads > 1 {
            progress(total, total);
        }
        let dim = encoder.dim();
        let mut embeddings = vec![0f32; total * dim];
        for (t, rows) in results.iter().enumerate() {
            for (j, row) in rows.iter().enumerate() {
                let i = t + j * threads;
                embeddings[i * dim..(i + 1) * dim].copy_from_slice(row);
            }
        }
        Ok(Self::new(dim, embeddings))
    }
}

impl Scorer for ContentOnly {
    fn score(&self, history: &[Event], out: &mut [f32]) {
        let d = self.dim;
        let mut user = vec![0f32; d];
        for e in history {
            let v = &self.embeddings[e.item as usize * d..(e.item as usize + 1) * d];
            user.iter_mut().zip(v).for_each(|(u, x)| *u += x);
        }
        let scale = 1.0 / history.len().max(1) as f32;
        user.iter_mut().for_each(|u| *u *= scale);
        for (o, v) in out.iter_mut().zip(self.embeddings.chunks_exact(d)) {
            *o = v.iter().zip(&user).map(|(a, b)| a * b).sum();
        }
    }
}
