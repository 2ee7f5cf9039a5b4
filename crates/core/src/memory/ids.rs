//! Id allocation: episodes and numbered facts (`f<n>`) share one counter,
//! `meta/next_id`, and a new record is written together with the counter
//! in one [`KvStore::write_if`](crate::platform::KvStore::write_if): the batch
//! applies only if none of the new records' keys exists. So two writers (two
//! tabs, two `Memory` values, two calls in flight) never get the same id, and
//! a stale or damaged counter can never make a new record overwrite an
//! existing one: the conflict is detected and the write is tried again.
//!
//! The counter is a hint, not a lock. A write does not also require the
//! counter unchanged: a writer with a queue of writes keeps one transaction
//! in flight ahead of the other writers (its next write is queued as soon as
//! its last one commits), so a second tab whose every write required the
//! counter it had read would lose every race until the first tab fell
//! silent. Instead, after a conflict a write starts [`CONFLICT_SKIP`] ids per
//! attempt past the counter, out of the range the other writer is taking,
//! and, when the counter had not moved (a stale or damaged counter), past
//! every stored id.
//!
//! All id arithmetic is checked; ids stop at [`MAX_ID`] (2^53 − 1, exact in
//! JavaScript) with [`Error::ResourceLimit`].

use super::validate::{fact_number, MAX_ID};
use super::{put, Memory, EPISODE_PREFIX, FACT_PREFIX, NEXT_ID_KEY};
use crate::error::{Error, Result};
use crate::platform::{Expect, WriteOp};

/// How many conflicting attempts a write makes before giving up.
pub(super) const MAX_ATTEMPTS: usize = 64;

/// How far past the counter a write starts per conflicting attempt (module
/// docs): more than the ids one writer takes in a transaction or two.
const CONFLICT_SKIP: u64 = 64;

/// The counter as read: its stored bytes (what the write expects) and the
/// next free id.
#[derive(Debug, Clone)]
pub(super) struct IdCounter {
    stored: Option<Vec<u8>>,
    next: u64,
}

/// What reserving ids gives: the first id, the expectation on the counter
/// and the write that advances it.
pub(super) struct Reserved {
    pub first: u64,
    pub expect: Expect,
    pub advance: WriteOp,
    counter: IdCounter,
}

fn parse_counter(bytes: &[u8]) -> Option<u64> {
    let n: u64 = std::str::from_utf8(bytes).ok()?.trim().parse().ok()?;
    (1..=MAX_ID.checked_add(1)?).contains(&n).then_some(n)
}

/// The id a stored key holds (`epi/<digits>`, `sem/f<digits>`), if any.
fn id_of_key(key: &str) -> Option<u64> {
    if let Some(d) = key.strip_prefix(EPISODE_PREFIX) {
        return d.parse().ok();
    }
    key.strip_prefix(FACT_PREFIX).and_then(fact_number)
}

/// The error when the ids are used up.
fn exhausted() -> Error {
    Error::ResourceLimit(format!("memory ids are used up (the largest is {MAX_ID})"))
}

/// The error after [`MAX_ATTEMPTS`] conflicting writes.
pub(super) fn kept_changing() -> Error {
    Error::Storage(format!(
        "the memory store kept changing under this write ({MAX_ATTEMPTS} attempts); try again"
    ))
}

/// Expectations that every key `ops` puts is still absent (new records).
pub(super) fn absent_keys(ops: &[WriteOp]) -> impl Iterator<Item = Expect> + '_ {
    ops.iter().filter_map(|op| match op {
        WriteOp::Put { key, .. } => Some(Expect::absent(key.clone())),
        WriteOp::Delete { .. } => None,
    })
}

impl Memory {
    /// 1 + the largest id any stored episode or numbered fact has.
    async fn recount_ids(&self) -> Result<u64> {
        let mut max = 0u64;
        for prefix in [EPISODE_PREFIX, FACT_PREFIX] {
            for (key, _) in self.store.scan_prefix(prefix).await? {
                if let Some(id) = id_of_key(&key) {
                    max = max.max(id.min(MAX_ID));
                }
            }
        }
        Ok(max.saturating_add(1))
    }

    /// The counter: the one the last successful write left (a guess,
    /// checked by the write), else read from the store; a missing counter
    /// is 1, a damaged one is recomputed from the stored keys.
    pub(super) async fn read_counter(&self) -> Result<IdCounter> {
        if let Some(known) = self.id_hint.borrow_mut().take() {
            return Ok(known);
        }
        let stored = self.store.get(NEXT_ID_KEY).await?;
        let next = match stored.as_deref() {
            None => 1,
            Some(bytes) => match parse_counter(bytes) {
                Some(n) => n,
                None => self.recount_ids().await?,
            },
        };
        Ok(IdCounter { stored, next })
    }

    /// Reserves `n` (≥ 1) consecutive ids from `counter`.
    pub(super) fn reserve(&self, counter: IdCounter, n: u64) -> Result<Reserved> {
        let last = counter
            .next
            .checked_add(n.saturating_sub(1))
            .filter(|last| *last <= MAX_ID)
            .ok_or_else(exhausted)?;
        let after = last.checked_add(1).ok_or_else(exhausted)?;
        Ok(Reserved {
            first: counter.next,
            expect: Expect::new(NEXT_ID_KEY, counter.stored.clone()),
            advance: put(NEXT_ID_KEY.into(), after.to_string().into_bytes()),
            counter,
        })
    }

    /// After a successful write with `reserved`: remembers the counter it left.
    pub(super) fn reserved_written(&self, reserved: Reserved) {
        if let WriteOp::Put { value, .. } = reserved.advance {
            let next = parse_counter(&value);
            *self.id_hint.borrow_mut() = next.map(|next| IdCounter {
                stored: Some(value),
                next,
            });
        }
    }

    /// After a conflicting write with `reserved`: when the counter did not
    /// change, a new record's key was taken (a stale counter), so the next
    /// attempt starts past every stored id.
    pub(super) async fn reserved_conflicted(&self, reserved: Reserved) -> Result<()> {
        self.id_hint.borrow_mut().take();
        let now = self.store.get(NEXT_ID_KEY).await?;
        if now == reserved.counter.stored {
            let next = self.recount_ids().await?.max(reserved.counter.next);
            *self.id_hint.borrow_mut() = Some(IdCounter { stored: now, next });
        }
        Ok(())
    }

    /// Forgets the remembered counter (after the store was replaced).
    pub(super) fn forget_counter(&self) {
        self.id_hint.borrow_mut().take();
    }

    /// Writes new records under `n` fresh ids, atomically with the counter:
    /// `build(first)` makes the records' writes (all new keys). Returns the
    /// first id. Retries on conflicts (module docs).
    pub(super) async fn insert_new(
        &self,
        n: u64,
        build: impl Fn(u64) -> Result<Vec<WriteOp>>,
    ) -> Result<u64> {
        for attempt in 0..MAX_ATTEMPTS as u64 {
            let mut counter = self.read_counter().await?;
            counter.next = attempt
                .checked_mul(CONFLICT_SKIP)
                .and_then(|skip| counter.next.checked_add(skip))
                .filter(|next| *next <= MAX_ID)
                .ok_or_else(exhausted)?;
            let reserved = self.reserve(counter, n)?;
            let mut ops = build(reserved.first)?;
            let expect: Vec<Expect> = absent_keys(&ops).collect();
            ops.push(reserved.advance.clone());
            if self.commit_if(expect, ops).await? {
                let first = reserved.first;
                self.reserved_written(reserved);
                return Ok(first);
            }
            self.reserved_conflicted(reserved).await?;
        }
        Err(kept_changing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_keys_parse_within_range() {
        assert_eq!(parse_counter(b"7"), Some(7));
        assert_eq!(parse_counter(b"0"), None);
        assert_eq!(parse_counter(b"x"), None);
        assert_eq!(parse_counter(format!("{}", MAX_ID + 1).as_bytes()), Some(MAX_ID + 1));
        assert_eq!(parse_counter(format!("{}", MAX_ID + 2).as_bytes()), None);
        assert_eq!(parse_counter(u64::MAX.to_string().as_bytes()), None);
        assert_eq!(id_of_key("epi/0000000000000012"), Some(12));
        assert_eq!(id_of_key("sem/f9"), Some(9));
        assert_eq!(id_of_key("sem/vegetarian"), None);
    }
}
