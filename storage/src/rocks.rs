//! The RocksDB [`KvStore`]: one column family per [`Table`].

use crate::{KvStore, StorageError, Table, WriteBatch, WriteOp};
use rocksdb::{ColumnFamilyDescriptor, Options, DB};
use std::path::Path;

/// A RocksDB database with Veil's column families.
pub struct RocksKv {
    db: DB,
}

impl std::fmt::Debug for RocksKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksKv").field("path", &self.db.path()).finish()
    }
}

impl RocksKv {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::None);
        options.increase_parallelism(2);
        let families = Table::ALL.iter().map(|t| {
            let mut cf = Options::default();
            cf.set_compression_type(rocksdb::DBCompressionType::None);
            ColumnFamilyDescriptor::new(t.name(), cf)
        });
        let db = DB::open_cf_descriptors(&options, path, families)
            .map_err(|e| StorageError::Backend(format!("opening {}: {e}", path.display())))?;
        Ok(Self { db })
    }

    fn cf(&self, table: Table) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db
            .cf_handle(table.name())
            .ok_or_else(|| StorageError::Backend(format!("missing column family {}", table.name())))
    }
}

fn backend(e: rocksdb::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

impl KvStore for RocksKv {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.db.get_cf(self.cf(table)?, key).map_err(backend)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut rocks = rocksdb::WriteBatch::default();
        for op in batch.ops() {
            match op {
                WriteOp::Put(table, key, value) => rocks.put_cf(self.cf(*table)?, key, value),
                WriteOp::Delete(table, key) => rocks.delete_cf(self.cf(*table)?, key),
                WriteOp::DeleteRange(table, from, to) => {
                    rocks.delete_range_cf(self.cf(*table)?, from, to)
                }
            }
        }
        self.db.write(rocks).map_err(backend)
    }

    fn scan_prefix(
        &self,
        table: Table,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            self.cf(table)?,
            rocksdb::IteratorMode::From(prefix, rocksdb::Direction::Forward),
        );
        for item in iter {
            let (key, value) = item.map_err(backend)?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.db.flush_wal(true).map_err(backend)
    }
}
