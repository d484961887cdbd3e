//! Block import throughput: 1,000 plain transfers and 1,000 ERC-20-style token transfers, as a
//! whole (`Chain::import`: parallel sender recovery, execution, state root, commit) and split by
//! stage, under London rules; and the token block under London and under Osaka. Each iteration
//! imports into a fresh RocksDB store holding the same genesis.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use alloy_consensus::TxLegacy;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rayon::prelude::*;
use std::sync::Arc;
use veil_config::{ChainSpec, Hardfork};
use veil_evm::{execute_block, BlockContext, ExecutionMode, StateDatabase};
use veil_node::{Chain, Minter, PoolConfig, TxPool};
use veil_primitives::{address_of, sign_transaction, Block, RecoveredTx};
use veil_storage::{KvStore, RocksKv, StateNamespace, WriteBatch};

const TXS: usize = 1_000;

fn key(i: usize) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_slice(keccak256((i as u64 + 1).to_be_bytes()).as_slice()).unwrap()
}

/// Runtime code of a minimal token: calldata = to (32 bytes) ‖ amount (32 bytes); moves
/// `amount` from `balances[caller]` to `balances[to]` (mapping at slot 0, Solidity layout),
/// reverts on insufficient balance, and emits ERC-20's Transfer(from, to, amount).
fn token_code() -> Bytes {
    let topic = keccak256("Transfer(address,address,uint256)");
    let mut code = vec![
        0x60, 0x00, 0x35, // to
        0x60, 0x20, 0x35, // amount
        0x33, 0x60, 0x00, 0x52, // mem[0] = caller
        0x60, 0x00, 0x60, 0x20, 0x52, // mem[32] = 0 (slot of the mapping)
        0x60, 0x40, 0x60, 0x00, 0x20, // key_from
        0x80, 0x54, // balance_from
        0x82, 0x81, 0x10, // balance_from < amount
        0x60, 0x00, 0x57, // JUMPI revert (patched below)
        0x82, 0x90, 0x03, 0x90, 0x55, // balances[from] -= amount
        0x81, 0x60, 0x00, 0x52, // mem[0] = to
        0x60, 0x40, 0x60, 0x00, 0x20, // key_to
        0x80, 0x54, 0x82, 0x01, 0x90, 0x55, // balances[to] += amount
        0x80, 0x60, 0x00, 0x52, // mem[0] = amount
        0x81, 0x33, 0x7f, // to, caller, PUSH32 topic
    ];
    code.extend_from_slice(topic.as_slice());
    code.extend_from_slice(&[0x60, 0x20, 0x60, 0x00, 0xa3, 0x00]); // LOG3(0, 32, ...); STOP
    let revert = code.len() as u8;
    code.extend_from_slice(&[0x5b, 0x60, 0x00, 0x80, 0xfd]); // JUMPDEST; REVERT(0, 0)
    code[26] = revert;
    code.into()
}

fn token_address() -> Address {
    Address::repeat_byte(0x70)
}

fn balance_slot(holder: Address) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(holder.as_slice());
    keccak256(preimage)
}

/// The benchmark chain with every fork through `fork` at genesis (and the system contracts a
/// new Veil chain on it holds).
fn spec(fork: Hardfork) -> ChainSpec {
    let mut alloc = serde_json::Map::new();
    let mut token_storage = serde_json::Map::new();
    for i in 0..TXS {
        let holder = address_of(&key(i));
        alloc.insert(holder.to_string(), serde_json::json!({ "balance": "0xde0b6b3a7640000" }));
        token_storage
            .insert(balance_slot(holder).to_string(), serde_json::json!(B256::with_last_byte(100)));
    }
    alloc.insert(
        token_address().to_string(),
        serde_json::json!({ "balance": "0x0", "code": token_code(), "storage": token_storage }),
    );
    alloc.extend(veil_config::genesis_system_contracts(fork));
    let mut config = veil_config::genesis_fork_schedule(fork);
    config.insert("chainId".into(), 10.into());
    config.insert("isQuorum".into(), true.into());
    ChainSpec::from_json(
        &serde_json::json!({ "config": config, "alloc": alloc, "gasLimit": "0xE0000000" })
            .to_string(),
    )
    .unwrap()
}

fn fresh_chain(spec: &ChainSpec) -> (tempfile::TempDir, Arc<Chain>) {
    let dir = tempfile::tempdir().unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(RocksKv::open(dir.path()).unwrap());
    Chain::init(&kv, spec).unwrap();
    (dir, Arc::new(Chain::open(kv).unwrap()))
}

/// Mints the benchmark block once on a leader.
fn make_block(spec: &ChainSpec, token: bool) -> Block {
    let (_dir, chain) = fresh_chain(spec);
    let pool = Arc::new(TxPool::new(
        PoolConfig { max_transactions: 10_000, ..Default::default() },
        chain.spec().clone(),
        None,
    ));
    for i in 0..TXS {
        let to = Address::from_slice(&keccak256((i as u64 + 1_000_000).to_be_bytes())[12..]);
        let (target, input, gas) = if token {
            let mut data = vec![0u8; 64];
            data[12..32].copy_from_slice(to.as_slice());
            data[63] = 1;
            (token_address(), Bytes::from(data), 100_000)
        } else {
            (to, Bytes::new(), 21_000)
        };
        let tx = TxLegacy {
            chain_id: Some(10),
            nonce: 0,
            gas_price: 0,
            gas_limit: gas,
            to: TxKind::Call(target),
            value: U256::from(u64::from(!token)),
            input,
        };
        let tx = RecoveredTx::try_new(sign_transaction(tx.into(), &key(i))).unwrap();
        pool.add(tx, &chain.latest_state(), &chain.head().1).unwrap();
    }
    let minted = Minter::new(chain.clone(), pool, Address::ZERO).mint().unwrap().unwrap();
    assert_eq!(minted.transactions.len(), TXS);
    let block = chain.store().block(minted.hash).unwrap().unwrap();
    let receipts = chain.store().receipts(minted.hash).unwrap().unwrap();
    assert!(receipts.iter().all(alloy_consensus::TxReceipt::status), "every transfer succeeds");
    println!(
        "{} block: {} gas for {TXS} txs",
        if token { "token" } else { "plain" },
        block.header.gas_used
    );
    block
}

/// The same 1,000 token transfers imported under London and under Osaka rules (Osaka adds the
/// EIP-2935 system call, the Cancun and Prague header checks and Osaka's gas rules).
fn bench_by_fork(c: &mut Criterion) {
    let mut group = c.benchmark_group("import_1000_erc20_transfers_by_fork");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TXS as u64));
    for (name, fork) in [("london", Hardfork::London), ("osaka", Hardfork::Osaka)] {
        let spec = spec(fork);
        let block = make_block(&spec, true);
        group.bench_function(name, |b| {
            b.iter_batched(
                || fresh_chain(&spec),
                |(_dir, chain)| chain.import(block.clone(), &Default::default()).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let spec = spec(Hardfork::London);
    for (name, token) in [("plain_transfers", false), ("erc20_transfers", true)] {
        let block = make_block(&spec, token);
        let mut group = c.benchmark_group(format!("import_1000_{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(TXS as u64));

        group.bench_function("full_import", |b| {
            b.iter_batched(
                || fresh_chain(&spec),
                |(_dir, chain)| chain.import(block.clone(), &Default::default()).unwrap(),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("1_sender_recovery_parallel", |b| {
            b.iter(|| {
                block
                    .body
                    .transactions
                    .par_iter()
                    .map(|tx| RecoveredTx::try_new(tx.clone()).unwrap())
                    .collect::<Vec<_>>()
            })
        });
        let recovered: Vec<RecoveredTx> = block
            .body
            .transactions
            .iter()
            .map(|tx| RecoveredTx::try_new(tx.clone()).unwrap())
            .collect();
        let (_dir, chain) = fresh_chain(&spec);
        let context = BlockContext::from_header(&block.header);
        let execute = || {
            let db = StateDatabase::new(chain.latest_state(), chain.store().clone());
            execute_block(&spec, &context, db, recovered.clone(), ExecutionMode::Import).unwrap()
        };
        group.bench_function("2_execution", |b| b.iter(execute));
        let execution = execute();
        let parent_root = chain.head().1.state_root;
        group.bench_function("3_state_root", |b| {
            b.iter(|| {
                let mut batch = WriteBatch::new();
                chain
                    .state()
                    .apply(StateNamespace::PUBLIC, parent_root, &execution.diff, &mut batch)
                    .unwrap()
            })
        });
        group.bench_function("4_commit_write_batch", |b| {
            b.iter_batched(
                || {
                    let (dir, chain) = fresh_chain(&spec);
                    let mut batch = WriteBatch::new();
                    chain
                        .state()
                        .apply(StateNamespace::PUBLIC, parent_root, &execution.diff, &mut batch)
                        .unwrap();
                    (dir, chain, batch)
                },
                |(_dir, chain, batch)| chain.kv().write(batch).unwrap(),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, bench, bench_by_fork);
criterion_main!(benches);
