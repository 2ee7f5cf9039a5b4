//! The evaluation protocol: k-core filtering, dense re-indexing and a
//! leave-one-out split by time.

use super::atomic::Dataset;
use recagent_core::error::{Error, Result};

/// One interaction of a user's history after the split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Dense item index (into [`Split::items`]).
    pub item: u32,
    /// Rating (1.0 when the dataset has none).
    pub rating: f32,
    /// Timestamp.
    pub timestamp: f64,
}

/// A leave-one-out split of a k-core-filtered dataset.
///
/// Users and items are re-indexed densely (`0..users.len()`, `0..items.len()`),
/// in their order in the [`Dataset`]. For each user, the history sorted by
/// timestamp (stable: ties keep file order) is cut into `train` (all but the
/// last two), `valid` (the second to last) and `test` (the last).
#[derive(Debug, Clone)]
pub struct Split {
    /// Original user ids of the kept users.
    pub users: Vec<String>,
    /// Original item ids of the kept items.
    pub items: Vec<String>,
    /// Dense user → index into [`Dataset::users`].
    pub user_orig: Vec<u32>,
    /// Dense item → index into [`Dataset::items`] (and row of the item table).
    pub item_orig: Vec<u32>,
    /// Training history of each user, oldest first.
    pub train: Vec<Vec<Event>>,
    /// Validation event of each user.
    pub valid: Vec<Event>,
    /// Test event of each user.
    pub test: Vec<Event>,
}

impl Split {
    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Chronological history of `user` seen when predicting the test item
    /// (`train` + `valid`), or the validation item (`train` only, when
    /// `for_valid`).
    pub fn history(&self, user: usize, for_valid: bool) -> Vec<Event> {
        let mut h = self.train[user].clone();
        if !for_valid {
            h.push(self.valid[user]);
        }
        h
    }

    /// Item lists of every user's train (+ valid unless `for_valid`) history:
    /// what models are fitted on. Never contains a test item.
    pub fn histories(&self, for_valid: bool) -> Vec<Vec<u32>> {
        (0..self.n_users())
            .map(|u| self.history(u, for_valid).iter().map(|e| e.item).collect())
            .collect()
    }
}

/// Keeps the interactions of the `min`-core: repeatedly drops users and items
/// with fewer than `min` interactions until every remaining user and item has
/// at least `min`. Returns a keep-flag per interaction of `dataset`.
pub fn k_core(dataset: &Dataset, min: usize) -> Vec<bool> {
    let inter = &dataset.interactions;
    let mut keep = vec![true; inter.len()];
    let mut user_ok = vec![true; dataset.users.len()];
    let mut item_ok = vec![true; dataset.items.len()];
    loop {
        let mut uc = vec![0usize; user_ok.len()];
        let mut ic = vec![0usize; item_ok.len()];
        for (x, k) in inter.iter().zip(&keep) {
            if *k {
                uc[x.user as usize] += 1;
                ic[x.item as usize] += 1;
            }
        }
        let mut changed = false;
        for (ok, &c) in user_ok.iter_mut().zip(&uc) {
            if *ok && c < min {
                *ok = false;
                changed = true;
            }
        }
        for (ok, &c) in item_ok.iter_mut().zip(&ic) {
            if *ok && c < min {
                *ok = false;
                changed = true;
            }
        }
        if !changed {
            return keep;
        }
        for (x, k) in inter.iter().zip(keep.iter_mut()) {
            *k = *k && user_ok[x.user as usize] && item_ok[x.item as usize];
        }
    }
}

/// `min`-core filtering, dense re-indexing and leave-one-out by time.
///
/// `min` must be at least 3 (each user needs a train, a valid and a test
/// item); an empty result is [`Error::InvalidInput`].
pub fn leave_one_out(dataset: &Dataset, min: usize) -> Result<Split> {
    if min < 3 {
        return Err(Error::InvalidInput(format!(
            "core threshold {min} is below 3 (train, validation and test need one item each)"
        )));
    }
    let keep = k_core(dataset, min);
    let mut user_new = vec![u32::MAX; dataset.users.len()];
    let mut item_new = vec![u32::MAX; dataset.items.len()];
    for (x, &k) in dataset.interactions.iter().zip(&keep) {
        if k {
            user_new[x.user as usize] = 0;
            item_new[x.item as usize] = 0;
        }
    }
    let dense = |map: &mut Vec<u32>| -> Vec<u32> {
        let mut orig = Vec::new();
        for (i, m) in map.iter_mut().enumerate() {
            if *m == 0 {
                *m = orig.len() as u32;
                orig.push(i as u32);
            }
        }
        orig
    };
    let user_orig = dense(&mut user_new);
    let item_orig = dense(&mut item_new);
    if user_orig.is_empty() {
        return Err(Error::InvalidInput(format!(
            "dataset {}: no user and item left after {min}-core filtering",
            dataset.name
        )));
    }
    let mut hist: Vec<Vec<Event>> = vec![Vec::new(); user_orig.len()];
    for (x, &k) in dataset.interactions.iter().zip(&keep) {
        if k {
            hist[user_new[x.user as usize] as usize].push(Event {
                item: item_new[x.item as usize],
                rating: x.rating,
                timestamp: x.timestamp,
            });
        }
    }
    let mut valid = Vec::with_capacity(hist.len());
    let mut test = Vec::with_capacity(hist.len());
    for h in &mut hist {
        // Stable: equal timestamps keep file order.
        h.sort_by(|a, b| a.timestamp.total_cmp(&b.timestamp));
        test.push(h.pop().expect("k-core users have >= 3 events"));
        valid.push(h.pop().expect("k-core users have >= 3 events"));
    }
    Ok(Split {
        users: user_orig
            .iter()
            .map(|&u| dataset.users[u as usize].clone())
            .collect(),
        items: item_orig
            .iter()
            .map(|&i| dataset.items[i as usize].clone())
            .collect(),
        user_orig,
        item_orig,
        train: hist,
        valid,
        test,
    })
}
