//! [`RaftStorage`]: raft-rs's `Storage` over the storage crate's `raft_log` and `raft_meta`
//! tables. Reads are served from raft-rs's `MemStorage`, loaded from the tables at open; every
//! change is written to the tables (one write batch, fsynced) before it is made in memory.

use crate::ConsensusError;
use raft::{
    prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata},
    storage::MemStorage,
    GetEntriesContext, RaftState, Storage,
};
use std::sync::Arc;
use veil_storage::{KvStore, Table, WriteBatch};

const HARD_STATE: &[u8] = b"hard_state";
const CONF_STATE: &[u8] = b"conf_state";
const SNAPSHOT: &[u8] = b"snapshot_metadata";

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn decode<M: protobuf::Message>(bytes: &[u8], what: &str) -> Result<M, ConsensusError> {
    M::parse_from_bytes(bytes).map_err(|e| ConsensusError::Corrupt(format!("{what}: {e}")))
}

fn encode(message: &impl protobuf::Message) -> Vec<u8> {
    // Writing a message to a Vec cannot fail.
    message.write_to_bytes().unwrap_or_default()
}

/// The raft log, hard state and membership of one node, persisted.
#[derive(Clone)]
pub struct RaftStorage {
    mem: MemStorage,
    kv: Arc<dyn KvStore>,
}

/// A raft log write slower than this is logged.
const SLOW_SYNC: std::time::Duration = std::time::Duration::from_millis(500);

impl RaftStorage {
    /// Opens the stored raft state, or starts one whose first membership is `voters` (empty
    /// for a node joining an existing cluster, which learns it from the leader).
    pub fn open(kv: Arc<dyn KvStore>, voters: &[u64]) -> Result<Self, ConsensusError> {
        let meta = |key: &[u8]| kv.get(Table::RaftMeta, key).map_err(ConsensusError::storage);
        let stored_entries =
            kv.scan_prefix(Table::RaftLog, &[]).map_err(ConsensusError::storage)?;
        if meta(HARD_STATE)?.is_none() && meta(SNAPSHOT)?.is_none() && !voters.is_empty() {
            // A new cluster starts from a snapshot at index 1 holding its first membership (as
            // raft-rs's `initialize_with_conf_state`): members that join later get this snapshot
            // and so learn the membership before replaying any change to it.
            let mut snapshot = SnapshotMetadata { index: 1, term: 1, ..Default::default() };
            snapshot.set_conf_state(ConfState::from((voters.to_vec(), vec![])));
            let hard_state = HardState { term: 1, commit: 1, ..Default::default() };
            let mut batch = WriteBatch::new();
            batch.put(Table::RaftMeta, SNAPSHOT.to_vec(), encode(&snapshot));
            batch.put(Table::RaftMeta, CONF_STATE.to_vec(), encode(snapshot.get_conf_state()));
            batch.put(Table::RaftMeta, HARD_STATE.to_vec(), encode(&hard_state));
            kv.write(batch).map_err(ConsensusError::storage)?;
            kv.flush().map_err(ConsensusError::storage)?;
        }
        let mem = MemStorage::new();
        {
            let mut core = mem.wl();
            if let Some(bytes) = meta(SNAPSHOT)? {
                let mut snapshot = Snapshot::default();
                snapshot.set_metadata(decode::<SnapshotMetadata>(&bytes, "snapshot metadata")?);
                core.apply_snapshot(snapshot).map_err(ConsensusError::raft)?;
            }
            if let Some(bytes) = meta(CONF_STATE)? {
                core.set_conf_state(decode(&bytes, "conf state")?);
            }
            let entries: Vec<Entry> = stored_entries
                .iter()
                .map(|(_, bytes)| decode(bytes, "log entry"))
                .collect::<Result<_, _>>()?;
            core.append(&entries).map_err(ConsensusError::raft)?;
            if let Some(bytes) = meta(HARD_STATE)? {
                core.set_hardstate(decode(&bytes, "hard state")?);
            }
        }
        Ok(Self { mem, kv })
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), ConsensusError> {
        let started = std::time::Instant::now();
        self.kv.write(batch).map_err(ConsensusError::storage)?;
        self.kv.flush().map_err(ConsensusError::storage)?;
        // As etcd warns of a slow fdatasync: a slow disk stalls the whole cluster's commits.
        let took = started.elapsed();
        if took > SLOW_SYNC {
            tracing::warn!(target: "raft", took_ms = took.as_millis() as u64, "slow fsync of the raft log");
        }
        Ok(())
    }

    /// Appends `entries` (replacing any conflicting tail) and records `hard_state`, durably.
    pub fn append(
        &self,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> Result<(), ConsensusError> {
        let mut batch = WriteBatch::new();
        if let Some(first) = entries.first() {
            batch.delete_range(Table::RaftLog, index_key(first.index).to_vec(), vec![0xff; 9]);
            for entry in entries {
                batch.put(Table::RaftLog, index_key(entry.index).to_vec(), encode(entry));
            }
        }
        if let Some(hs) = hard_state {
            batch.put(Table::RaftMeta, HARD_STATE.to_vec(), encode(hs));
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.commit(batch)?;
        let mut core = self.mem.wl();
        core.append(entries).map_err(ConsensusError::raft)?;
        if let Some(hs) = hard_state {
            core.set_hardstate(hs.clone());
        }
        Ok(())
    }

    /// Records the commit index raft reported after a ready.
    pub fn set_commit(&self, commit: u64) -> Result<(), ConsensusError> {
        let mut hs = self.mem.rl().hard_state().clone();
        hs.commit = commit;
        self.append(&[], Some(&hs))
    }

    /// Records a new membership.
    pub fn set_conf_state(&self, conf_state: ConfState) -> Result<(), ConsensusError> {
        let mut batch = WriteBatch::new();
        batch.put(Table::RaftMeta, CONF_STATE.to_vec(), encode(&conf_state));
        self.commit(batch)?;
        self.mem.wl().set_conf_state(conf_state);
        Ok(())
    }

    /// Replaces the log with a snapshot received from the leader.
    pub fn apply_snapshot(&self, snapshot: &Snapshot) -> Result<(), ConsensusError> {
        let meta = snapshot.get_metadata();
        let mut batch = WriteBatch::new();
        batch.delete_range(Table::RaftLog, index_key(0).to_vec(), vec![0xff; 9]);
        batch.put(Table::RaftMeta, SNAPSHOT.to_vec(), encode(meta));
        batch.put(Table::RaftMeta, CONF_STATE.to_vec(), encode(meta.get_conf_state()));
        self.commit(batch)?;
        self.mem.wl().apply_snapshot(snapshot.clone()).map_err(ConsensusError::raft)
    }

    /// Drops the entries before `index` (which must be applied), keeping the log bounded.
    pub fn compact(&self, index: u64) -> Result<(), ConsensusError> {
        let first = self.mem.first_index().map_err(ConsensusError::raft)?;
        if index <= first {
            return Ok(());
        }
        let term = self.mem.term(index - 1).map_err(ConsensusError::raft)?;
        let mut meta = SnapshotMetadata { index: index - 1, term, ..Default::default() };
        meta.set_conf_state(self.conf_state());
        let mut batch = WriteBatch::new();
        batch.delete_range(Table::RaftLog, index_key(0).to_vec(), index_key(index).to_vec());
        batch.put(Table::RaftMeta, SNAPSHOT.to_vec(), encode(&meta));
        self.commit(batch)?;
        self.mem.wl().compact(index).map_err(ConsensusError::raft)
    }

    /// The membership in force.
    pub fn conf_state(&self) -> ConfState {
        // MemStorage's initial state is its current hard state and membership; it cannot fail.
        self.mem.initial_state().map(|state| state.conf_state).unwrap_or_default()
    }
}

impl Storage for RaftStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.mem.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.mem.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.mem.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.mem.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.mem.last_index()
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        self.mem.snapshot(request_index, to)
    }
}
