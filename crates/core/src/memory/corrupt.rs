//! Corrupt records: a stored value that does not parse (bad bytes, bad JSON,
//! a non-finite number, a record whose id does not match its key, anything
//! [`super::validate`] refuses) never blocks a read. Every read of the
//! memory (`facts`, `episodes`, `working`, `profile`, `items`, and so
//! `list`, `recall`, `export` and the profile restore) skips it, reports it
//! to the [`Memory::on_corrupt`] listeners, and sets it aside: in one
//! conditional batch the record moves, bytes unchanged, from `KEY` to
//! `corrupt/KEY` (only if it still holds the bytes that failed, so a
//! concurrent repair is never undone). [`Memory::export`] carries the
//! set-aside records (key and base64 bytes) and [`Memory::import`] puts them
//! back aside; [`Memory::forget_everything`] deletes them with the rest.

use std::rc::Rc;

use super::{put, Memory};
use crate::error::Result;
use crate::platform::{Expect, WriteOp, MAX_KEY_LEN};

/// Key prefix of the records set aside as corrupt (`corrupt/<original key>`).
pub const CORRUPT_PREFIX: &str = "corrupt/";

/// A record a read found corrupt, as reported to [`Memory::on_corrupt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptRecord {
    /// The record's key (e.g. `sem/f12`).
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
    /// Whether it was moved under [`CORRUPT_PREFIX`] (`false` when the move
    /// failed or the key is too long to prefix: it stays, skipped, and is
    /// reported again at the next read).
    pub set_aside: bool,
}

/// Who hears about corrupt records.
pub(super) type CorruptListener = Rc<dyn Fn(&CorruptRecord)>;

impl Memory {
    /// Calls `listener` for every corrupt record a later read finds (see the
    /// module docs of `memory::corrupt`).
    pub fn on_corrupt(&self, listener: impl Fn(&CorruptRecord) + 'static) {
        self.corrupt_listeners.borrow_mut().push(Rc::new(listener));
    }

    /// How many records are set aside as corrupt.
    pub async fn corrupt_count(&self) -> Result<usize> {
        Ok(self.store.scan_prefix(CORRUPT_PREFIX).await?.len())
    }

    /// The records set aside as corrupt: `(original key, bytes)`, in key order.
    pub async fn corrupt_records(&self) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self
            .store
            .scan_prefix(CORRUPT_PREFIX)
            .await?
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(CORRUPT_PREFIX).map(|k| (k.to_string(), v)))
            .collect())
    }

    /// Reports `key` (holding `raw`) as corrupt and moves it aside, best
    /// effort: a failure to move is reported, never returned.
    pub(super) async fn set_aside(&self, key: &str, raw: &[u8], reason: String) {
        let aside = format!("{CORRUPT_PREFIX}{key}");
        let moved = if aside.len() <= MAX_KEY_LEN && !key.starts_with(CORRUPT_PREFIX) {
            let ops = vec![WriteOp::Delete { key: key.to_string() }, put(aside, raw.to_vec())];
            matches!(
                self.store.write_if(vec![Expect::new(key, Some(raw.to_vec()))], ops).await,
                Ok(true)
            )
        } else {
            false
        };
        let record = CorruptRecord {
            key: key.to_string(),
            reason,
            set_aside: moved,
        };
        let listeners: Vec<CorruptListener> = self.corrupt_listeners.borrow().clone();
        for f in listeners {
            f(&record);
        }
    }

    /// Every record under `prefix` that parses as `T` and passes `check`
    /// (which also gets the key), as `(key, bytes, record)` in key order; the
    /// others are set aside.
    pub(super) async fn read_valid<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
        check: impl Fn(&str, &T) -> std::result::Result<(), String>,
    ) -> Result<Vec<(String, Vec<u8>, T)>> {
        let mut out = Vec::new();
        for (key, raw) in self.store.scan_prefix(prefix).await? {
            match parse_checked(&key, &raw, &check) {
                Ok(record) => out.push((key, raw, record)),
                Err(reason) => self.set_aside(&key, &raw, reason).await,
            }
        }
        Ok(out)
    }

    /// The record at `key` if it parses as `T` and passes `check`; a corrupt
    /// one is set aside and reads as absent.
    pub(super) async fn get_valid<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        check: impl Fn(&str, &T) -> std::result::Result<(), String>,
    ) -> Result<Option<(Vec<u8>, T)>> {
        let Some(raw) = self.store.get(key).await? else {
            return Ok(None);
        };
        match parse_checked(key, &raw, &check) {
            Ok(record) => Ok(Some((raw, record))),
            Err(reason) => {
                self.set_aside(key, &raw, reason).await;
                Ok(None)
            }
        }
    }
}

fn parse_checked<T: serde::de::DeserializeOwned>(
    key: &str,
    raw: &[u8],
    check: &impl Fn(&str, &T) -> std::result::Result<(), String>,
) -> std::result::Result<T, String> {
    let record: T = serde_json::from_slice(raw).map_err(|e| format!("not a valid record: {e}"))?;
    check(key, &record)?;
    Ok(record)
}
