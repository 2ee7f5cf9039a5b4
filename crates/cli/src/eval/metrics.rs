//! Full-ranking metrics for one user: rank of the target among the
//! candidates, HR@k, NDCG@k and the top-k list (for catalogue coverage).
//!
//! Candidates are all items except the user's history (`excluded`); the
//! target itself is always ranked, even if it also occurs in the history.
//! A NaN score is treated as −∞ (lowest), never a crash.

/// Score used for comparisons: NaN becomes −∞.
#[inline]
fn key(x: f32) -> f32 {
    if x.is_nan() {
        f32::NEG_INFINITY
    } else {
        x
    }
}

/// Rank of `target` (0 = first): the number of candidate items (not
/// `excluded`, not the target) whose score is strictly higher than the
/// target's. Ties therefore favour the target.
pub fn rank(scores: &[f32], target: u32, excluded: &[bool]) -> usize {
    let t = key(scores[target as usize]);
    scores
        .iter()
        .zip(excluded)
        .enumerate()
        .filter(|&(i, (&s, &ex))| !ex && i != target as usize && key(s) > t)
        .count()
}

/// 1 when `rank < k`, else 0.
pub fn hit(rank: usize, k: usize) -> f64 {
    if rank < k {
        1.0
    } else {
        0.0
    }
}

/// `1 / log2(rank + 2)` when `rank < k`, else 0.
pub fn ndcg(rank: usize, k: usize) -> f64 {
    if rank < k {
        1.0 / ((rank + 2) as f64).log2()
    } else {
        0.0
    }
}

/// The `k` best candidates (not `excluded`), best first; ties go to the lower
/// index, NaN scores last. Fewer than `k` when there are fewer candidates.
pub fn top_k(scores: &[f32], k: usize, excluded: &[bool]) -> Vec<u32> {
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return Vec::new();
    }
    for (i, (&s, &ex)) in scores.iter().zip(excluded).enumerate() {
        if ex {
            continue;
        }
        let s = key(s);
        // Visiting in index order, a later item beats an earlier one only
        // with a strictly higher score.
        if best.len() == k && s <= best[k - 1].0 {
            continue;
        }
        let pos = best.partition_point(|&(b, _)| b >= s);
        best.insert(pos, (s, i as u32));
        best.truncate(k);
    }
    best.into_iter().map(|(_, i)| i).collect()
}
