//! The RocksDB [`KvStore`]: one column family per [`Table`].

use crate::{KvPairs, KvStore, StorageError, Table, WriteBatch, WriteOp};
use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, Options, DB};

/// Block cache shared by all column families. Trie nodes and flat state are read at random;
/// RocksDB's 32 MiB default makes commit cost climb with state size (see the guide, book/src/performance.md).
const BLOCK_CACHE_BYTES: usize = 512 << 20;
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
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        // Point lookups dominate (trie nodes by hash, accounts, slots): bloom filters skip the
        // files that do not hold a key; index and filter blocks live in the cache.
        table.set_bloom_filter(10.0, false);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        let families = Table::ALL.iter().map(|t| {
            let mut cf = Options::default();
            cf.set_compression_type(rocksdb::DBCompressionType::None);
            cf.set_block_based_table_factory(&table);
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

    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<KvPairs, StorageError> {
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
