//! Selection of the `k` best scores: a bounded binary heap over one pass,
//! `O(n log k)` in the worst case and close to `O(n)` in practice (most
//! scores lose against the current k-th best with a single comparison).
//!
//! Order is total and deterministic: higher score first, and among equal
//! scores the lower index first. NaN scores are never selected.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A candidate in the heap, ordered so that the heap's maximum is the
/// *worst* kept candidate (lowest score, then highest index).
#[derive(Clone, Copy)]
struct Worst {
    score: f32,
    index: u32,
}

impl Worst {
    /// `Greater` when `self` ranks below `other`. Scores are never NaN here.
    fn rank_below(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.index.cmp(&other.index))
    }
}

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.rank_below(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank_below(other)
    }
}

/// The `k` highest scores among the indices `i` for which `keep(i)` is
/// true, as `(index, score)` sorted by score descending, ties broken by the
/// lower index first.
///
/// Promises: NaN scores are never returned; fewer than `k` results only when
/// fewer than `k` indices pass `keep` with a non-NaN score; `k = 0` or an
/// empty `scores` give an empty vector; `-0.0` and `0.0` compare as
/// [`f32::total_cmp`] orders them (`0.0` first). `keep` is called at most
/// once per index, in increasing order, and only for non-NaN scores.
/// Indices are `u32`: entries of `scores` beyond `u32::MAX` are ignored.
/// Cost: one pass, `O(n log k)` worst case, memory `O(k)`.
pub fn top_k(scores: &[f32], k: usize, keep: impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
    let n = scores.len().min(u32::MAX as usize);
    let k = k.min(n);
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Worst> = BinaryHeap::with_capacity(k);
    // Fill phase: the first k kept, non-NaN scores.
    let mut next = 0;
    while next < n && heap.len() < k {
        let s = scores[next];
        if !s.is_nan() && keep(next) {
            heap.push(Worst {
                score: s,
                index: next as u32,
            });
        }
        next += 1;
    }
    // Hot loop: a score enters only if strictly above the worst kept one (an
    // equal score has a higher index, since indices increase; NaN compares
    // false), so most scores cost one comparison.
    let mut threshold = heap.peek().map_or(f32::INFINITY, |w| w.score);
    for (i, &s) in scores[..n].iter().enumerate().skip(next) {
        if s > threshold && keep(i) {
            if let Some(mut worst) = heap.peek_mut() {
                *worst = Worst {
                    score: s,
                    index: i as u32,
                };
            }
            threshold = heap.peek().map_or(f32::INFINITY, |w| w.score);
        }
    }
    // Ascending by `rank_below` = best first.
    heap.into_sorted_vec()
        .into_iter()
        .map(|w| (w.index, w.score))
        .collect()
}

/// Merges candidate lists into the `k` best, with the same order and tie
/// rule as [`top_k`] (`(index, score)` pairs; NaN dropped; an index
/// appearing twice is kept once, with its first score). Used to combine
/// per-shard results or to cut re-scored candidates down to `k`.
pub fn top_k_of(candidates: &[(u32, f32)], k: usize) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = candidates
        .iter()
        .copied()
        .filter(|(_, s)| !s.is_nan())
        .collect();
    all.sort_by_key(|c| c.0);
    all.dedup_by_key(|c| c.0);
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        let s = [0.5, f32::NAN, 0.9, 0.5, -1.0, 0.9];
        assert_eq!(top_k(&s, 3, |_| true), vec![(2, 0.9), (5, 0.9), (0, 0.5)]);
        assert_eq!(top_k(&s, 0, |_| true), vec![]);
        assert_eq!(top_k(&[], 4, |_| true), vec![]);
        assert_eq!(top_k(&s, 10, |_| true).len(), 5);
        assert_eq!(top_k(&s, 2, |i| i % 2 == 1), vec![(5, 0.9), (3, 0.5)]);
        assert_eq!(top_k(&[f32::NAN; 3], 2, |_| true), vec![]);
        assert_eq!(
            top_k_of(&[(3, 1.0), (1, 2.0), (3, 5.0), (2, f32::NAN), (0, 1.0)], 2),
            vec![(1, 2.0), (0, 1.0)]
        );
    }
}
