//! PLACEHOLDER until the kernels branch lands; same API.

/// The k highest scores among kept indices, descending, ties by lower index; NaN never selected.
pub fn top_k(scores: &[f32], k: usize, keep: impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .filter(|(i, s)| !s.is_nan() && keep(*i))
        .map(|(i, &s)| (i as u32, s))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}
