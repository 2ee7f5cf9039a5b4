//! The evaluation loop: any model implementing [`Scorer`] is ranked against
//! the full catalogue for every user, in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::metrics;
use super::split::{Event, Split};

/// A fitted recommender, as the harness sees it.
pub trait Scorer: Sync {
    /// Score every item (`out.len() == n_items`, higher is better) for a user
    /// whose chronological history (oldest first) is `history`. `out` holds
    /// garbage on entry: write every element. Items of the history are
    /// excluded by the harness, whatever their score.
    fn score(&self, history: &[Event], out: &mut [f32]);
}

/// One thread's `(user, hit, ndcg)` rows and covered-item flags.
type ThreadPart = (Vec<(usize, f64, f64)>, Vec<bool>);

/// Averages over users of one model's evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelResult {
    /// Hit rate at k.
    pub hr: f64,
    /// NDCG at k.
    pub ndcg: f64,
    /// Fraction of the items that appear in at least one user's top-k.
    pub coverage: f64,
    /// Wall-clock seconds of the evaluation (scoring and ranking, not fitting).
    pub seconds: f64,
}

/// Evaluates `scorer` on every user of `split` at cut-off `k`.
///
/// `use_valid_as_target = false`: the target is the test item and the history
/// is train + valid (the final figures). `true`: the target is the validation
/// item and the history is train only (for hyperparameter tuning). Users are
/// scored in parallel on `available_parallelism` threads; the averages are
/// summed in user order, so results do not depend on the thread count.
pub fn evaluate(
    split: &Split,
    k: usize,
    scorer: &dyn Scorer,
    use_valid_as_target: bool,
) -> ModelResult {
    evaluate_with_progress(split, k, scorer, use_valid_as_target, &mut |_, _| {})
}

/// [`evaluate`], calling `progress(users_started, users)` from the calling
/// thread about every 100 ms while the scoring threads run, and once at
/// the end with `(users, users)`.
pub fn evaluate_with_progress(
    split: &Split,
    k: usize,
    scorer: &dyn Scorer,
    use_valid_as_target: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> ModelResult {
    let start = Instant::now();
    let n_users = split.n_users();
    let n_items = split.n_items();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(n_users.max(1));
    let next = AtomicUsize::new(0);
    const CHUNK: usize = 32;
    let mut per_user = vec![(0.0f64, 0.0f64); n_users];
    let mut covered = vec![false; n_items];
    let parts: Vec<ThreadPart> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    let mut covered = vec![false; n_items];
                    let mut scores = vec![0f32; n_items];
                    let mut excluded = vec![false; n_items];
                    let mut history: Vec<Event> = Vec::new();
                    loop {
                        let first = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if first >= n_users {
                            break;
                        }
                        for u in first..(first + CHUNK).min(n_users) {
                            history.clear();
                            history.extend_from_slice(&split.train[u]);
                            let target = if use_valid_as_target {
                                split.valid[u].item
                            } else {
                                history.push(split.valid[u]);
                                split.test[u].item
                            };
                            scorer.score(&history, &mut scores);
                            for e in &history {
                                excluded[e.item as usize] = true;
                            }
                            let r = metrics::rank(&scores, target, &excluded);
                            for i in metrics::top_k(&scores, k, &excluded) {
                                covered[i as usize] = true;
                            }
                            for e in &history {
                                excluded[e.item as usize] = false;
                            }
                            out.push((u, metrics::hit(r, k), metrics::ndcg(r, k)));
                        }
                    }
                    (out, covered)
                })
            })
            .collect();
        while !handles.iter().all(|h| h.is_finished()) {
            progress(next.load(Ordering::Relaxed).min(n_users), n_users);
            std::thread::sleep(Duration::from_millis(100));
        }
        progress(n_users, n_users);
        handles
            .into_iter()
            .map(|h| h.join().expect("evaluation thread panicked"))
            .collect()
    });
    for (rows, cov) in parts {
        for (u, h, n) in rows {
            per_user[u] = (h, n);
        }
        covered.iter_mut().zip(cov).for_each(|(c, x)| *c |= x);
    }
    let users = n_users.max(1) as f64;
    ModelResult {
        hr: per_user.iter().map(|p| p.0).sum::<f64>() / users,
        ndcg: per_user.iter().map(|p| p.1).sum::<f64>() / users,
        coverage: covered.iter().filter(|&&c| c).count() as f64 / n_items.max(1) as f64,
        seconds: start.elapsed().as_secs_f64(),
    }
}
