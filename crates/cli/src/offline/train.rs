//! Offline training of the [`SequenceModel`] (native only; `build-catalog`
//! and `eval` run it, the browser never does).
//!
//! Next-item prediction with a full softmax over the catalog: for every
//! position `t ≥ 1` of every training sequence, the user vector of the items
//! before `t` (see [`SequenceModel::user_vector`]) must score item `t` above
//! all others. Adam, mini-batches, both CPU cores (the batch is split between
//! threads), deterministic for a given seed and thread count.

use std::time::Instant;

use recagent_core::catalog::sequence::{ContextItem, SequenceModel, KIND_CLASSES};
use recagent_core::error::{Error, Result};
use recagent_core::vectors::Embeddings;
use recagent_core::platform::{Rng, SeededRng};

/// Training hyper-parameters. The defaults are what the README's figures used.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Width of the item vectors.
    pub dim: usize,
    /// History items the user vector looks at.
    pub window: usize,
    /// Passes over all training positions.
    pub epochs: usize,
    /// Positions per gradient step.
    pub batch: usize,
    /// Adam learning rate.
    pub learning_rate: f32,
    /// Seed for initialisation and shuffling.
    pub seed: u64,
    /// Worker threads (0 = all available cores).
    pub threads: usize,
    /// Hidden width of the residual MLP over the pooled history (0: none).
    pub hidden: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            dim: 64,
            window: 50,
            epochs: 3,
            batch: 1024,
            learning_rate: 2e-3,
            seed: 7,
            threads: 0,
            hidden: 256,
        }
    }
}

/// One event of a training sequence: catalog index and kind class
/// (0 implicit, 1..=5 star rating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainEvent {
    /// Catalog index of the item.
    pub item: u32,
    /// Kind class (see [`ContextItem::kind`]).
    pub kind: u8,
}

/// Progress of a training run, reported after every epoch.
#[derive(Debug, Clone)]
pub struct TrainProgress {
    /// Epochs done so far.
    pub epoch: usize,
    /// Total epochs.
    pub epochs: usize,
    /// Mean cross-entropy of the epoch.
    pub loss: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
}

struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    fn step(&mut self, params: &mut [f32], grad: &[f32], lr: f32, t: i32) {
        let (b1, b2) = (0.9f32, 0.999f32);
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        for ((p, g), (m, v)) in params
            .iter_mut()
            .zip(grad)
            .zip(self.m.iter_mut().zip(self.v.iter_mut()))
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
}

/// Gradients one worker computes for its share of a batch.
struct Part {
    loss: f64,
    grad_output: Vec<f32>,
    grad_bias: Vec<f32>,
    /// Gradient with respect to each example's user vector.
    grad_user: Vec<f32>,
}

/// Trains a [`SequenceModel`] over `n_items` items from chronological
/// sequences (oldest first). Sequences of one event add nothing.
pub fn train_sequence_model(
    n_items: usize,
    sequences: &[Vec<TrainEvent>],
    config: &TrainConfig,
    mut progress: impl FnMut(&TrainProgress),
) -> Result<SequenceModel> {
    let (d, window) = (config.dim, config.window);
    if n_items == 0 || d == 0 || window == 0 || config.batch == 0 {
        return Err(Error::InvalidInput(
            "training needs items, dim, window and batch > 0".into(),
        ));
    }
    if let Some(bad) = sequences.iter().flatten().find(|e| e.item as usize >= n_items) {
        return Err(Error::InvalidInput(format!(
            "training event refers to item {} of {n_items}",
            bad.item
        )));
    }
    let threads = match config.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut rng = SeededRng::new(config.seed);
    let mut gaussian = |scale: f32| {
        // Box-Muller.
        let u1 = rng.next_f64().max(1e-12);
        let u2 = rng.next_f64();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32 * scale
    };
    let mut model = SequenceModel {
        dim: d,
        window,
        input: Embeddings::F32 { dim: d, values: (0..n_items * d).map(|_| gaussian(0.05)).collect() },
        output: Embeddings::F32 { dim: d, values: (0..n_items * d).map(|_| gaussian(0.05)).collect() },
        bias: vec![0.0; n_items],
        position_weights: (0..window).map(|l| (-(l as f32) / 10.0).exp()).collect(),
        kind_weights: vec![1.0; KIND_CLASSES],
        hidden: config.hidden,
        w1: (0..d * config.hidden).map(|_| gaussian(0.05)).collect(),
        b1: vec![0.0; config.hidden],
        // Zero output weights: training starts from the plain pooling.
        w2: vec![0.0; config.hidden * d],
    };
    let hidden = config.hidden;
    let mut adam_w1 = Adam::new(model.w1.len());
    let mut adam_b1 = Adam::new(hidden);
    let mut adam_w2 = Adam::new(model.w2.len());
    let mut examples: Vec<(u32, u32)> = sequences
        .iter()
        .enumerate()
        .flat_map(|(s, seq)| (1..seq.len()).map(move |t| (s as u32, t as u32)))
        .collect();
    let mut adam_in = Adam::new(n_items * d);
    let mut adam_out = Adam::new(n_items * d);
    let mut adam_bias = Adam::new(n_items);
    let mut adam_pos = Adam::new(window);
    let mut adam_kind = Adam::new(KIND_CLASSES);
    let mut grad_in = vec![0.0f32; n_items * d];
    let mut step = 0i32;
    for epoch in 0..config.epochs {
        let started = Instant::now();
        // Fisher-Yates with the seeded generator.
        for i in (1..examples.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            examples.swap(i, j);
        }
        let mut total_loss = 0.0f64;
        for batch in examples.chunks(config.batch) {
            let b = batch.len();
            // Context of every example, most recent first.
            let contexts: Vec<&[TrainEvent]> = batch
                .iter()
                .map(|&(s, t)| {
                    let seq = &sequences[s as usize];
                    let t = t as usize;
                    &seq[t.saturating_sub(window)..t]
                })
                .collect();
            let targets: Vec<u32> = batch
                .iter()
                .map(|&(s, t)| sequences[s as usize][t as usize].item)
                .collect();
            let mut pooled = vec![0.0f32; b * d];
            for (e, ctx) in contexts.iter().enumerate() {
                let history: Vec<ContextItem> = ctx
                    .iter()
                    .map(|ev| ContextItem {
                        item: ev.item,
                        kind: ev.kind,
                        strength: 1.0,
                    })
                    .collect();
                if let Some(u) = model.pooled(&history) {
                    pooled[e * d..(e + 1) * d].copy_from_slice(&u);
                }
            }
            // The residual MLP: z = pooled·W1 + b1, users = pooled + relu(z)·W2.
            let mut z = vec![0.0f32; b * hidden];
            let mut act = vec![0.0f32; b * hidden];
            let mut users = pooled.clone();
            if hidden > 0 {
                for row in z.chunks_exact_mut(hidden) {
                    row.copy_from_slice(&model.b1);
                }
                gemm(b, d, hidden, &pooled, (d, 1), &model.w1, (hidden, 1), &mut z, 1.0);
                act.iter_mut().zip(&z).for_each(|(a, z)| *a = z.max(0.0));
                gemm(b, hidden, d, &act, (hidden, 1), &model.w2, (d, 1), &mut users, 1.0);
            }
            // Forward + softmax + output-side gradients, split over threads.
            let share = b.div_ceil(threads);
            let parts: Vec<Part> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..b)
                    .step_by(share)
                    .map(|lo| {
                        let hi = (lo + share).min(b);
                        let users = &users[lo * d..hi * d];
                        let targets = &targets[lo..hi];
                        let model = &model;
                        scope.spawn(move || softmax_part(model, users, targets, b))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().map_err(|_| Error::InvalidInput("training worker panicked".into())))
                    .collect::<Result<Vec<_>>>()
            })?;
            let mut grad_out = vec![0.0f32; n_items * d];
            let mut grad_bias = vec![0.0f32; n_items];
            let mut grad_user = Vec::with_capacity(b * d);
            for part in parts {
                total_loss += part.loss;
                add(&mut grad_out, &part.grad_output);
                add(&mut grad_bias, &part.grad_bias);
                grad_user.extend_from_slice(&part.grad_user);
            }
            // Back through the MLP.
            let mut grad_w1 = vec![0.0f32; model.w1.len()];
            let mut grad_b1 = vec![0.0f32; hidden];
            let mut grad_w2 = vec![0.0f32; model.w2.len()];
            if hidden > 0 {
                gemm(hidden, b, d, &act, (1, hidden), &grad_user, (d, 1), &mut grad_w2, 0.0);
                let mut grad_z = vec![0.0f32; b * hidden];
                gemm(b, d, hidden, &grad_user, (d, 1), &model.w2, (1, d), &mut grad_z, 0.0);
                grad_z.iter_mut().zip(&z).for_each(|(g, z)| {
                    if *z <= 0.0 {
                        *g = 0.0;
                    }
                });
                for row in grad_z.chunks_exact(hidden) {
                    add(&mut grad_b1, row);
                }
                gemm(d, b, hidden, &pooled, (1, d), &grad_z, (hidden, 1), &mut grad_w1, 0.0);
                // grad_user becomes the gradient with respect to the pooled vector.
                gemm(b, hidden, d, &grad_z, (hidden, 1), &model.w1, (1, hidden), &mut grad_user, 1.0);
            }
            // Back through the pooling: input rows, position and kind weights.
            grad_in.iter_mut().for_each(|g| *g = 0.0);
            let mut grad_pos = vec![0.0f32; window];
            let mut grad_kind = vec![0.0f32; KIND_CLASSES];
            for (e, ctx) in contexts.iter().enumerate() {
                let gu = &grad_user[e * d..(e + 1) * d];
                for (position, ev) in ctx.iter().rev().enumerate() {
                    let i = ev.item as usize;
                    let kind = usize::from(ev.kind).min(KIND_CLASSES - 1);
                    let (wp, wk) = (model.position_weights[position], model.kind_weights[kind]);
                    let row = &trained(&model.input)[i * d..(i + 1) * d];
                    let dot: f32 = row.iter().zip(gu).map(|(a, g)| a * g).sum();
                    grad_pos[position] += dot * wk;
                    grad_kind[kind] += dot * wp;
                    let w = wp * wk;
                    for (g, x) in grad_in[i * d..(i + 1) * d].iter_mut().zip(gu) {
                        *g += w * x;
                    }
                }
            }
            step += 1;
            let lr = config.learning_rate;
            if let Some(values) = model.input.f32_values_mut() {
                adam_in.step(values, &grad_in, lr, step);
            }
            if let Some(values) = model.output.f32_values_mut() {
                adam_out.step(values, &grad_out, lr, step);
            }
            adam_bias.step(&mut model.bias, &grad_bias, lr, step);
            adam_pos.step(&mut model.position_weights, &grad_pos, lr, step);
            adam_kind.step(&mut model.kind_weights, &grad_kind, lr, step);
            if hidden > 0 {
                adam_w1.step(&mut model.w1, &grad_w1, lr, step);
                adam_b1.step(&mut model.b1, &grad_b1, lr, step);
                adam_w2.step(&mut model.w2, &grad_w2, lr, step);
            }
        }
        progress(&TrainProgress {
            epoch: epoch + 1,
            epochs: config.epochs,
            loss: total_loss / examples.len().max(1) as f64,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    // Kind class 0 (implicit events) never occurs in rated logs: give it the
    // mean of the classes that were trained.
    let seen: Vec<usize> = (0..KIND_CLASSES)
        .filter(|&k| sequences.iter().flatten().any(|e| usize::from(e.kind) == k))
        .collect();
    if !seen.is_empty() {
        let mean = seen.iter().map(|&k| model.kind_weights[k]).sum::<f32>() / seen.len() as f32;
        for k in 0..KIND_CLASSES {
            if !seen.contains(&k) {
                model.kind_weights[k] = mean;
            }
        }
    }
    model.validate(n_items)?;
    Ok(model)
}

/// `c = a · b + beta · c` for row-major-with-strides matrices: `a` is
/// `m × k` with strides `(row, col)`, `b` is `k × n`, `c` is `m × n` dense.
#[allow(clippy::too_many_arguments)]
fn gemm(m: usize, k: usize, n: usize, a: &[f32], sa: (usize, usize), b: &[f32], sb: (usize, usize), c: &mut [f32], beta: f32) {
    let max_index = |rows: usize, cols: usize, s: (usize, usize)| (rows - 1) * s.0 + (cols - 1) * s.1;
    if m == 0 || k == 0 || n == 0 {
        return;
    }
    assert!(max_index(m, k, sa) < a.len() && max_index(k, n, sb) < b.len() && m * n <= c.len());
    // SAFETY: the assertion above bounds every element matrixmultiply reads or writes.
    unsafe {
        matrixmultiply::sgemm(
            m, k, n, 1.0, a.as_ptr(), sa.0 as isize, sa.1 as isize, b.as_ptr(), sb.0 as isize, sb.1 as isize, beta,
            c.as_mut_ptr(), n as isize, 1,
        );
    }
}

/// The values of a matrix this module trains (built as f32 above, so never
/// the empty fallback).
fn trained(m: &Embeddings) -> &[f32] {
    m.f32_values().unwrap_or_default()
}

fn add(acc: &mut [f32], x: &[f32]) {
    acc.iter_mut().zip(x).for_each(|(a, b)| *a += b);
}

/// Logits = users · outputᵀ + bias, softmax cross-entropy against `targets`;
/// gradients scaled by `1 / batch` (the whole batch, not this share).
fn softmax_part(model: &SequenceModel, users: &[f32], targets: &[u32], batch: usize) -> Part {
    let d = model.dim;
    let n = model.items();
    let m = targets.len();
    let output = trained(&model.output);
    if output.len() != n * d || users.len() != m * d {
        // not reachable: the model is built as f32 with n × d values above
        return Part { loss: 0.0, grad_output: vec![0.0; n * d], grad_bias: vec![0.0; n], grad_user: vec![0.0; m * d] };
    }
    let mut logits = vec![0.0f32; m * n];
    // SAFETY: matrixmultiply reads `m×d`, `d×n` (the transposed output
    // matrix via strides) and writes `m×n`; all slices have exactly those
    // sizes (checked by construction above).
    unsafe {
        matrixmultiply::sgemm(
            m,
            d,
            n,
            1.0,
            users.as_ptr(),
            d as isize,
            1,
            output.as_ptr(),
            1,
            d as isize,
            0.0,
            logits.as_mut_ptr(),
            n as isize,
            1,
        );
    }
    let mut loss = 0.0f64;
    let scale = 1.0 / batch as f32;
    let mut grad_bias = vec![0.0f32; n];
    for (row, &t) in logits.chunks_exact_mut(n).zip(targets) {
        let mut max = f32::NEG_INFINITY;
        for (x, b) in row.iter_mut().zip(&model.bias) {
            *x += b;
            max = max.max(*x);
        }
        let mut sum = 0.0f32;
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        let t = t as usize;
        loss -= f64::from((row[t] / sum).max(1e-30)).ln();
        let inv = scale / sum;
        for x in row.iter_mut() {
            *x *= inv;
        }
        row[t] -= scale;
        add(&mut grad_bias, row);
    }
    let mut grad_output = vec![0.0f32; n * d];
    let mut grad_user = vec![0.0f32; m * d];
    // SAFETY: as above; gradᵀ (n×m via strides) · users (m×d) → n×d, and
    // grad (m×n) · output (n×d) → m×d.
    unsafe {
        matrixmultiply::sgemm(
            n,
            m,
            d,
            1.0,
            logits.as_ptr(),
            1,
            n as isize,
            users.as_ptr(),
            d as isize,
            1,
            0.0,
            grad_output.as_mut_ptr(),
            d as isize,
            1,
        );
        matrixmultiply::sgemm(
            m,
            n,
            d,
            1.0,
            logits.as_ptr(),
            n as isize,
            1,
            output.as_ptr(),
            d as isize,
            1,
            0.0,
            grad_user.as_mut_ptr(),
            d as isize,
            1,
        );
    }
    Part {
        loss,
        grad_output,
        grad_bias,
        grad_user,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_deterministic_cycle() {
        // Every sequence walks the cycle 0 → 1 → … → 7 → 0: the next item is
        // fully determined by the last one.
        let n = 8;
        let sequences: Vec<Vec<TrainEvent>> = (0..40)
            .map(|s| {
                (0..12)
                    .map(|t| TrainEvent {
                        item: ((s + t) % n) as u32,
                        kind: 4,
                    })
                    .collect()
            })
            .collect();
        let config = TrainConfig {
            dim: 8,
            window: 3,
            epochs: 60,
            batch: 64,
            learning_rate: 0.02,
            threads: 2,
            ..Default::default()
        };
        let mut losses = Vec::new();
        let model = train_sequence_model(n, &sequences, &config, |p| losses.push(p.loss)).unwrap();
        assert!(losses.last().unwrap() < &(losses[0] * 0.5), "{losses:?}");
        for last in 0..n as u32 {
            let history = [ContextItem {
                item: last,
                kind: 4,
                strength: 1.0,
            }];
            let u = model.user_vector(&history).unwrap();
            let best = (0..n)
                .max_by(|&a, &b| {
                    let sa = model.output.row_dot(a, &u).unwrap() + model.bias[a];
                    let sb = model.output.row_dot(b, &u).unwrap() + model.bias[b];
                    sa.total_cmp(&sb)
                })
                .unwrap();
            assert_eq!(best as u32, (last + 1) % n as u32);
        }
        // Kind class 0 never occurred: it gets the mean of the trained ones.
        assert_eq!(model.kind_weights[0], model.kind_weights[4]);
    }

    #[test]
    fn rejects_out_of_range_items() {
        let seqs = vec![vec![TrainEvent { item: 5, kind: 0 }, TrainEvent { item: 0, kind: 0 }]];
        let err = train_sequence_model(2, &seqs, &TrainConfig::default(), |_| {}).unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }
}
