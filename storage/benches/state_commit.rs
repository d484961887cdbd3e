//! State commit cost per touched account as the state grows: 1,000 accounts touched per block
//! on top of 10k and 1M existing accounts (RocksDB on disk). The bar: at most 2× while
//! the state grows 100×.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use alloy_primitives::{keccak256, Address, U256};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::sync::Arc;
use veil_storage::{
    AccountChange, AccountInfo, AccountUpdate, KvStore, RocksKv, StateDb, StateDiff,
    StateNamespace, WriteBatch,
};

fn address(i: u64) -> Address {
    Address::from_slice(&keccak256(i.to_be_bytes())[12..])
}

fn diff(range: impl Iterator<Item = u64>, balance: u64) -> StateDiff {
    StateDiff {
        accounts: range
            .map(|i| AccountChange {
                address: address(i),
                update: AccountUpdate::Updated(AccountInfo {
                    nonce: 1,
                    balance: U256::from(balance + i),
                    ..Default::default()
                }),
                wipe_storage: false,
                storage: vec![],
            })
            .collect(),
        code: vec![],
    }
}

fn populated(accounts: u64) -> (tempfile::TempDir, Arc<dyn KvStore>, StateDb) {
    let dir = tempfile::tempdir().unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(RocksKv::open(dir.path()).unwrap());
    let state = StateDb::new(kv.clone());
    let mut root = alloy_trie::EMPTY_ROOT_HASH;
    // Fill in chunks so no single batch holds the whole state in memory.
    for start in (0..accounts).step_by(100_000) {
        let mut batch = WriteBatch::new();
        let end = (start + 100_000).min(accounts);
        root = state.apply(StateNamespace::PUBLIC, root, &diff(start..end, 1), &mut batch).unwrap();
        kv.write(batch).unwrap();
    }
    (dir, kv, state)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_commit_1000_touched");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1_000));
    for accounts in [10_000u64, 1_000_000] {
        let (_dir, kv, state) = populated(accounts);
        let mut round = 0u64;
        group.bench_function(format!("{accounts}_accounts"), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    // A different spread-out set of 1,000 existing accounts each round.
                    let touched = (0..1_000u64).map(move |i| (i * 7_919 + round * 13) % accounts);
                    diff(touched, round * 1_000_000)
                },
                |diff| {
                    let root = state.flat_root(StateNamespace::PUBLIC).unwrap();
                    let mut batch = WriteBatch::new();
                    state.apply(StateNamespace::PUBLIC, root, &diff, &mut batch).unwrap();
                    kv.write(batch).unwrap();
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
