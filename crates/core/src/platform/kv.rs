//! Storage: the [`KvStore`] trait, its batch operations and the in-memory
//! [`MemoryKvStore`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::LocalBoxFuture;
use crate::error::{Error, Result};

/// One write of an atomic batch ([`KvStore::write`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Store `value` under `key`, replacing any earlier value.
    Put {
        /// The key (non-empty, at most [`MAX_KEY_LEN`] bytes).
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key` (a missing key is not an error).
    Delete {
        /// The key (non-empty, at most [`MAX_KEY_LEN`] bytes).
        key: String,
    },
}

impl WriteOp {
    /// The key this operation writes.
    pub fn key(&self) -> &str {
        match self {
            WriteOp::Put { key, .. } | WriteOp::Delete { key } => key,
        }
    }
}

/// Longest key a [`KvStore`] must accept, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// Checks every key of a batch before anything is written: an empty key or
/// one longer than [`MAX_KEY_LEN`] rejects the whole batch with
/// [`Error::InvalidInput`]. Every [`KvStore::write`] implementation calls it
/// first, so an invalid batch writes nothing on any backend.
pub fn check_batch(ops: &[WriteOp]) -> Result<()> {
    for op in ops {
        let key = op.key();
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(Error::InvalidInput(format!(
                "storage key must be 1..={MAX_KEY_LEN} bytes, got {} bytes",
                key.len()
            )));
        }
    }
    Ok(())
}

/// [`check_batch`] for the keys of a [`KvStore::write_if`]: its expectations and its operations.
pub fn check_conditional_batch(expect: &[Expect], ops: &[WriteOp]) -> Result<()> {
    check_batch(ops)?;
    for e in expect {
        if e.key.is_empty() || e.key.len() > MAX_KEY_LEN {
            return Err(Error::InvalidInput(format!(
                "storage key must be 1..={MAX_KEY_LEN} bytes, got {} bytes",
                e.key.len()
            )));
        }
    }
    Ok(())
}

/// A condition of [`KvStore::write_if`]: `key` holds exactly `value` at the
/// moment the batch is applied (`None`: `key` is absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The key to look at.
    pub key: String,
    /// The bytes it must hold, or `None` for "no value".
    pub value: Option<Vec<u8>>,
}

impl Expect {
    /// `key` must hold `value` (`None`: must be absent).
    pub fn new(key: impl Into<String>, value: Option<Vec<u8>>) -> Self {
        Self { key: key.into(), value }
    }

    /// `key` must be absent.
    pub fn absent(key: impl Into<String>) -> Self {
        Self::new(key, None)
    }
}

/// A key-value store: single-key writes are atomic, and [`KvStore::write`]
/// applies a batch all or nothing (IndexedDB: one transaction; the native
/// file store: one write transaction). [`KvStore::write_if`] is the one
/// read-modify-write primitive: the check and the batch happen in one
/// transaction, so two writers (two tabs, two `Memory` values) can never both
/// act on the same value they read.
pub trait KvStore {
    /// The value stored under `key`, if any.
    fn get(&self, key: &str) -> LocalBoxFuture<'_, Result<Option<Vec<u8>>>>;
    /// Stores `value` under `key`, replacing any earlier value.
    fn put(&self, key: &str, value: Vec<u8>) -> LocalBoxFuture<'_, Result<()>>;
    /// Removes `key`; removing a missing key is not an error.
    fn delete(&self, key: &str) -> LocalBoxFuture<'_, Result<()>>;
    /// All `(key, value)` pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &str) -> LocalBoxFuture<'_, Result<Vec<(String, Vec<u8>)>>>;
    /// Applies `ops` in order, atomically: after an error nothing of the
    /// batch is visible. Implementations reject invalid keys first with
    /// [`check_batch`].
    fn write(&self, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<()>>;
    /// Compare-and-set: in one transaction, checks every [`Expect`] and, only
    /// if all hold, applies `ops` as [`KvStore::write`] does. `Ok(true)`:
    /// applied; `Ok(false)`: some value differed and nothing was written.
    /// Invalid keys (of `ops` or `expect`) are rejected first with
    /// [`check_conditional_batch`].
    fn write_if(&self, expect: Vec<Expect>, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<bool>>;
    /// Removes every key of this store (the store itself may remain, empty).
    fn clear(&self) -> LocalBoxFuture<'_, Result<()>>;
}

/// [`KvStore`] in memory; clones share the same map. For tests and as the
/// fallback when no persistent storage exists.
#[derive(Debug, Clone, Default)]
pub struct MemoryKvStore {
    map: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
}

impl MemoryKvStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.map.borrow().len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.borrow().is_empty()
    }
}

/// Applies a checked batch to the in-memory map, in order.
fn apply_ops(map: &mut BTreeMap<String, Vec<u8>>, ops: Vec<WriteOp>) {
    for op in ops {
        match op {
            WriteOp::Put { key, value } => {
                map.insert(key, value);
            }
            WriteOp::Delete { key } => {
                map.remove(&key);
            }
        }
    }
}

impl KvStore for MemoryKvStore {
    fn get(&self, key: &str) -> LocalBoxFuture<'_, Result<Option<Vec<u8>>>> {
        let value = self.map.borrow().get(key).cloned();
        Box::pin(async move { Ok(value) })
    }

    fn put(&self, key: &str, value: Vec<u8>) -> LocalBoxFuture<'_, Result<()>> {
        self.map.borrow_mut().insert(key.to_string(), value);
        Box::pin(async { Ok(()) })
    }

    fn delete(&self, key: &str) -> LocalBoxFuture<'_, Result<()>> {
        self.map.borrow_mut().remove(key);
        Box::pin(async { Ok(()) })
    }

    fn scan_prefix(&self, prefix: &str) -> LocalBoxFuture<'_, Result<Vec<(String, Vec<u8>)>>> {
        let found = self
            .map
            .borrow()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn write(&self, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<()>> {
        let result = check_batch(&ops).map(|()| {
            apply_ops(&mut self.map.borrow_mut(), ops);
        });
        Box::pin(async move { result })
    }

    fn write_if(&self, expect: Vec<Expect>, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<bool>> {
        let result = check_conditional_batch(&expect, &ops).map(|()| {
            let mut map = self.map.borrow_mut();
            if !expect.iter().all(|e| map.get(&e.key) == e.value.as_ref()) {
                return false;
            }
            apply_ops(&mut map, ops);
            true
        });
        Box::pin(async move { result })
    }

    fn clear(&self) -> LocalBoxFuture<'_, Result<()>> {
        self.map.borrow_mut().clear();
        Box::pin(async { Ok(()) })
    }
}
