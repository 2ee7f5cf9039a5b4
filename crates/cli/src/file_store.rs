//! [`KvStore`] in one file on disk, for the native CLI: a
//! [redb](https://docs.rs/redb) database (ACID, crash-safe, pure Rust).

use std::cell::RefCell;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};

use recagent_core::error::{Error, Result};
use recagent_core::platform::{
    check_conditional_batch, Expect, KvStore, LocalBoxFuture, WriteOp,
};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");

/// Name of the database file inside the memory directory.
pub const FILE_NAME: &str = "memory.redb";

fn storage<E: Display>(e: E) -> Error {
    Error::Storage(e.to_string())
}

/// A [`KvStore`] in `DIR/memory.redb`: every `put`, `delete` and batch
/// [`KvStore::write`] is one durable write transaction, so a batch is all or
/// nothing even if the process dies half-way. One process at a time may
/// open a directory (another gets [`Error::Storage`]). [`KvStore::clear`]
/// also compacts the file.
pub struct FileKvStore {
    db: RefCell<Database>,
    path: PathBuf,
}

impl FileKvStore {
    /// Opens the store in `dir`, creating the directory and the database
    /// when missing.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path)
            .map_err(|e| Error::Storage(format!("{}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(TABLE).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(Self {
            db: RefCell::new(db),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn apply(&self, ops: Vec<WriteOp>) -> Result<()> {
        self.apply_if(&[], ops).map(|_| ())
    }

    /// Checks `expect` and applies `ops` in one write transaction (redb
    /// serialises write transactions: nothing can change in between).
    fn apply_if(&self, expect: &[Expect], ops: Vec<WriteOp>) -> Result<bool> {
        check_conditional_batch(expect, &ops)?;
        let txn = self.db.borrow().begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(TABLE).map_err(storage)?;
            for e in expect {
                let now = table.get(e.key.as_str()).map_err(storage)?;
                if now.as_ref().map(|v| v.value()) != e.value.as_deref() {
                    drop(now);
                    drop(table);
                    txn.abort().map_err(storage)?;
                    return Ok(false);
                }
            }
            for op in &ops {
                match op {
                    WriteOp::Put { key, value } => {
                        table
                            .insert(key.as_str(), value.as_slice())
                            .map_err(storage)?;
                    }
                    WriteOp::Delete { key } => {
                        table.remove(key.as_str()).map_err(storage)?;
                    }
                }
            }
        }
        // An error above drops `txn` uncommitted: redb aborts it.
        txn.commit().map_err(storage)?;
        Ok(true)
    }

    fn get_now(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.db.borrow().begin_read().map_err(storage)?;
        let table = txn.open_table(TABLE).map_err(storage)?;
        Ok(table.get(key).map_err(storage)?.map(|v| v.value().to_vec()))
    }

    fn scan_now(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let txn = self.db.borrow().begin_read().map_err(storage)?;
        let table = txn.open_table(TABLE).map_err(storage)?;
        let mut out = Vec::new();
        for entry in table.range(prefix..).map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn clear_now(&self) -> Result<()> {
        let txn = self.db.borrow().begin_write().map_err(storage)?;
        txn.delete_table(TABLE).map_err(storage)?;
        txn.open_table(TABLE).map_err(storage)?;
        txn.commit().map_err(storage)?;
        // Give the freed pages back: the file shrinks to an empty database.
        while self.db.borrow_mut().compact().map_err(storage)? {}
        Ok(())
    }
}

impl KvStore for FileKvStore {
    fn get(&self, key: &str) -> LocalBoxFuture<'_, Result<Option<Vec<u8>>>> {
        let r = self.get_now(key);
        Box::pin(async move { r })
    }

    fn put(&self, key: &str, value: Vec<u8>) -> LocalBoxFuture<'_, Result<()>> {
        let r = self.apply(vec![WriteOp::Put {
            key: key.to_string(),
            value,
        }]);
        Box::pin(async move { r })
    }

    fn delete(&self, key: &str) -> LocalBoxFuture<'_, Result<()>> {
        let r = self.apply(vec![WriteOp::Delete {
            key: key.to_string(),
        }]);
        Box::pin(async move { r })
    }

    fn scan_prefix(&self, prefix: &str) -> LocalBoxFuture<'_, Result<Vec<(String, Vec<u8>)>>> {
        let r = self.scan_now(prefix);
        Box::pin(async move { r })
    }

    fn write(&self, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<()>> {
        let r = self.apply(ops);
        Box::pin(async move { r })
    }

    fn write_if(&self, expect: Vec<Expect>, ops: Vec<WriteOp>) -> LocalBoxFuture<'_, Result<bool>> {
        let r = self.apply_if(&expect, ops);
        Box::pin(async move { r })
    }

    fn clear(&self) -> LocalBoxFuture<'_, Result<()>> {
        let r = self.clear_now();
        Box::pin(async move { r })
    }
}
