//! The transaction pool: ordering, pending and queued, replacement, limits, eviction, the
//! journal, and every geth-style rejection.

use alloy_consensus::{TxEip1559, TxLegacy};
use alloy_primitives::{Address, TxKind, U256};
use secp256k1::SecretKey;
use std::sync::Arc;
use veil_config::ChainSpec;
use veil_node::{pool::Journal, Chain, PoolConfig, PoolError, TxPool};
use veil_primitives::{
    address_of, sign_private_transaction, sign_transaction, RecoveredTx, Transaction,
};
use veil_storage::{InMemoryKv, KvStore, StateReader};

fn key(i: u8) -> SecretKey {
    SecretKey::from_slice(&[i + 1; 32]).unwrap()
}

fn spec(quorum: bool) -> ChainSpec {
    let alloc: serde_json::Map<String, serde_json::Value> = (0..4)
        .map(|i| {
            (address_of(&key(i)).to_string(), serde_json::json!({ "balance": "0x3b9aca0000000" }))
        })
        .collect();
    let mut config = serde_json::json!({ "chainId": 10, "homesteadBlock": 0, "eip150Block": 0,
        "eip155Block": 0, "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0,
        "petersburgBlock": 0, "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0, "txnSizeLimit": 32 });
    if quorum {
        config["isQuorum"] = true.into();
    }
    ChainSpec::from_json(
        &serde_json::json!({ "config": config, "alloc": alloc, "gasLimit": "0x989680" })
            .to_string(),
    )
    .unwrap()
}

struct Fixture {
    kv: Arc<dyn KvStore>,
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
}

fn fixture_with(quorum: bool, config: PoolConfig) -> Fixture {
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    let spec = spec(quorum);
    Chain::init(&kv, &spec).unwrap();
    let chain = Arc::new(Chain::open(kv.clone()).unwrap());
    let pool = Arc::new(TxPool::new(config, chain.spec().clone(), Some(Journal::new(kv.clone()))));
    Fixture { kv, chain, pool }
}

fn fixture(quorum: bool) -> Fixture {
    fixture_with(quorum, PoolConfig::default())
}

fn legacy(_sender: u8, nonce: u64, gas_price: u128) -> TxLegacy {
    TxLegacy {
        chain_id: Some(10),
        nonce,
        gas_price,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(9)),
        value: U256::from(1),
        input: Default::default(),
    }
}

fn signed(from: u8, tx: TxLegacy) -> RecoveredTx {
    RecoveredTx::try_new(sign_transaction(tx.into(), &key(from))).unwrap()
}

impl Fixture {
    fn add(&self, tx: RecoveredTx) -> Result<alloy_primitives::B256, PoolError> {
        self.pool.add(tx, &self.chain.latest_state(), &self.chain.head().1)
    }
}

#[test]
fn geth_reasons_for_every_rejection() {
    let f = fixture(false);
    let reason = |tx: RecoveredTx| f.add(tx).unwrap_err().to_string();

    assert!(reason(signed(0, TxLegacy { gas_limit: 20_999, ..legacy(0, 0, 1) }))
        .starts_with("intrinsic gas too low"));
    assert!(reason(signed(0, TxLegacy { gas_limit: 20_000_000, ..legacy(0, 0, 1) }))
        .starts_with("exceeds block gas limit"));
    assert!(reason(signed(0, TxLegacy { chain_id: Some(11), ..legacy(0, 0, 1) }))
        .starts_with("invalid chain id for signer"));
    assert!(reason(signed(0, TxLegacy { value: U256::MAX / U256::from(2), ..legacy(0, 0, 1) }))
        .starts_with("insufficient funds for gas * price + value"));
    let big =
        TxLegacy { input: vec![1u8; 33 * 1024].into(), gas_limit: 9_000_000, ..legacy(0, 0, 1) };
    assert!(reason(signed(0, big)).starts_with("oversized data"), "txnSizeLimit 32 KiB");
    let private = RecoveredTx::try_new(sign_private_transaction(legacy(0, 0, 0), &key(0))).unwrap();
    assert!(reason(private).starts_with("private transactions"));

    f.add(signed(0, legacy(0, 0, 1))).unwrap();
    assert_eq!(reason(signed(0, legacy(0, 0, 1))), "already known");
    assert!(reason(signed(0, TxLegacy { value: U256::from(2), ..legacy(0, 0, 1) }))
        .starts_with("replacement transaction underpriced"));
}

#[test]
fn nonce_too_low_after_a_block_and_mined_transactions_leave_the_journal() {
    let f = fixture(true);
    f.add(signed(0, legacy(0, 0, 0))).unwrap();
    veil_node::Minter::new(f.chain.clone(), f.pool.clone(), Address::ZERO).mint().unwrap().unwrap();
    let err = f.add(signed(0, TxLegacy { value: U256::from(5), ..legacy(0, 0, 0) })).unwrap_err();
    assert!(err.to_string().starts_with("nonce too low"), "{err}");
    assert!(Journal::new(f.kv.clone()).load().unwrap().is_empty());
}

#[test]
fn pending_is_nonce_ordered_and_gaps_are_queued() {
    let f = fixture(true);
    f.add(signed(0, legacy(0, 2, 0))).unwrap();
    f.add(signed(1, legacy(1, 0, 0))).unwrap();
    assert_eq!(f.pool.status().pending, 1);
    assert_eq!(f.pool.status().queued, 1);
    f.add(signed(0, legacy(0, 0, 0))).unwrap();
    f.add(signed(0, legacy(0, 1, 0))).unwrap();
    assert_eq!((f.pool.status().pending, f.pool.status().queued), (4, 0));
    let pending = f.pool.pending(100);
    let of = |i: u8| -> Vec<u64> {
        pending
            .iter()
            .filter(|t| t.sender() == address_of(&key(i)))
            .map(|t| t.tx().nonce())
            .collect()
    };
    assert_eq!(of(0), vec![0, 1, 2]);
    assert_eq!(of(1), vec![0]);
    // Arrival order across senders: sender 1's tx came before sender 0's first executable one.
    assert_eq!(pending[0].sender(), address_of(&key(1)));
    assert_eq!(f.pool.pending_nonce(address_of(&key(0)), 0), 3);
}

#[test]
fn replacement_needs_a_price_bump_and_is_refused_on_gas_free_networks() {
    let priced = fixture(false);
    let base = TxEip1559 {
        chain_id: 10,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 100,
        max_priority_fee_per_gas: 10,
        to: TxKind::Call(Address::ZERO),
        value: U256::ZERO,
        access_list: Default::default(),
        input: Default::default(),
    };
    let sign = |tx: TxEip1559| RecoveredTx::try_new(sign_transaction(tx.into(), &key(0))).unwrap();
    let first = priced.add(sign(base.clone())).unwrap();
    let err = priced
        .add(sign(TxEip1559 { max_fee_per_gas: 109, max_priority_fee_per_gas: 11, ..base.clone() }))
        .unwrap_err();
    assert!(matches!(err, PoolError::ReplacementUnderpriced(10)));
    let second = priced
        .add(sign(TxEip1559 { max_fee_per_gas: 110, max_priority_fee_per_gas: 11, ..base }))
        .unwrap();
    assert!(!priced.pool.contains(&first));
    assert!(priced.pool.contains(&second));
    assert_eq!(priced.pool.status().pending, 1);

    // A gas-free network has no fee to bump: a second transaction with a pooled one's nonce is
    // refused, as geth refuses a replacement that does not pay more, and the first stays. (It
    // used to win, and silently evicted an acknowledged transaction.)
    let free = fixture(true);
    let a = free.add(signed(0, legacy(0, 0, 0))).unwrap();
    let err =
        free.add(signed(0, TxLegacy { value: U256::from(2), ..legacy(0, 0, 0) })).unwrap_err();
    assert!(matches!(err, PoolError::NonceTaken { nonce: 0, pooled, .. } if pooled == a), "{err}");
    assert!(err.to_string().starts_with("replacement transaction underpriced"), "{err}");
    assert!(free.pool.contains(&a));
    assert_eq!(free.pool.status().pending, 1);
    assert_eq!(Journal::new(free.kv.clone()).load().unwrap().len(), 1);
}

#[test]
fn limits_evict_queued_before_refusing() {
    let f = fixture_with(
        true,
        PoolConfig {
            max_transactions: 3,
            max_queued_per_sender: 2,
            price_bump_percent: 10,
            private_transactions: false,
        },
    );
    // Sender 1's queued transactions came from a peer (local ones are never evicted).
    let remote = |tx| f.pool.add_remote(tx, &f.chain.latest_state(), &f.chain.head().1);
    f.add(signed(0, legacy(0, 0, 0))).unwrap();
    remote(signed(1, legacy(1, 5, 0))).unwrap();
    remote(signed(1, legacy(1, 6, 0))).unwrap();
    // Per-sender queue limit.
    assert!(matches!(remote(signed(1, legacy(1, 7, 0))), Err(PoolError::Full)));
    // Pool full: a new executable tx evicts the furthest queued one.
    let h = f.add(signed(2, legacy(2, 0, 0))).unwrap();
    assert!(f.pool.contains(&h));
    assert_eq!(f.pool.status(), veil_node::PoolStatus { pending: 2, queued: 1 });
    // Full again: the last queued transaction makes room; then only pending ones are left
    // and the pool refuses.
    f.add(signed(3, legacy(3, 0, 0))).unwrap();
    assert_eq!(f.pool.status(), veil_node::PoolStatus { pending: 3, queued: 0 });
    assert!(matches!(f.add(signed(0, legacy(0, 1, 0))), Err(PoolError::Full)));
}

#[test]
fn journal_brings_accepted_transactions_back() {
    let f = fixture(true);
    let a = f.add(signed(0, legacy(0, 0, 0))).unwrap();
    let b = f.add(signed(0, legacy(0, 1, 0))).unwrap();
    let queued = f.add(signed(1, legacy(1, 3, 0))).unwrap();
    // A fresh pool over the same store, as after a crash.
    let restarted = TxPool::new(
        PoolConfig::default(),
        f.chain.spec().clone(),
        Some(Journal::new(f.kv.clone())),
    );
    let restored = restarted.restore(&f.chain.latest_state(), &f.chain.head().1).unwrap();
    assert_eq!(restored, 3);
    for hash in [a, b, queued] {
        assert!(restarted.contains(&hash));
    }
    assert_eq!(restarted.status(), veil_node::PoolStatus { pending: 2, queued: 1 });
}

#[test]
fn undecodable_transaction_bytes_are_errors() {
    assert!(Transaction::decode_2718_exact(&[0x01, 0x02]).is_err());
}

#[test]
fn transactions_arriving_between_import_and_pool_cleanup_stay_pending() {
    // The minter imports a block and only then removes its transactions from the pool. A
    // sender's next transaction arriving in between must count as pending, not as queued behind
    // the already-mined ones (which once filled the sender's queue: "txpool is full").
    let f = fixture(true);
    let limit = PoolConfig::default().max_queued_per_sender as u64;
    for nonce in 0..limit + 10 {
        f.add(signed(0, legacy(0, nonce, 0))).unwrap();
    }
    let pending = f.pool.pending(usize::MAX);
    let built = f.chain.build_block(pending, Address::ZERO, 1, &Default::default()).unwrap();
    f.chain.import_recovered(built.block.header, built.included, &Default::default()).unwrap();

    for nonce in limit + 10..2 * limit + 20 {
        f.add(signed(0, legacy(0, nonce, 0))).unwrap();
    }
    assert_eq!(f.pool.pending(usize::MAX).len() as u64, limit + 10, "only the new ones");
    assert_eq!(f.pool.content().queued.len(), 0);
}

#[test]
fn a_dropped_transaction_queues_the_senders_later_ones_until_its_nonce_returns() {
    let f = fixture(true);
    let txs: Vec<RecoveredTx> = (0..5).map(|n| signed(0, legacy(0, n, 0))).collect();
    for tx in &txs {
        f.add(tx.clone()).unwrap();
    }
    assert_eq!((f.pool.status().pending, f.pool.status().queued), (5, 0));
    // Nonce 2 is dropped (a block left it out): 3 and 4 wait behind the gap.
    f.pool
        .remove_after_block(&[], &[(txs[2].clone(), "test".into())], &f.chain.latest_state())
        .unwrap();
    assert_eq!((f.pool.status().pending, f.pool.status().queued), (2, 2));
    assert_eq!(f.pool.pending(usize::MAX).len(), 2);
    assert_eq!(f.pool.pending_nonce(address_of(&key(0)), 0), 2);
    // Sending nonce 2 again closes the gap.
    f.add(signed(0, TxLegacy { value: U256::from(7), ..legacy(0, 2, 0) })).unwrap();
    assert_eq!((f.pool.status().pending, f.pool.status().queued), (5, 0));
    // A block mines 0..=2: the rest stay pending from the new state nonce.
    let built =
        f.chain.build_block(f.pool.pending(3), Address::ZERO, 1, &Default::default()).unwrap();
    let imported = f.chain.commit_built(built).unwrap();
    f.pool.remove_after_block(&imported.transactions, &[], &f.chain.latest_state()).unwrap();
    assert_eq!((f.pool.status().pending, f.pool.status().queued), (2, 0));
    assert_eq!(
        f.pool.pending(usize::MAX).iter().map(|t| t.tx().nonce()).collect::<Vec<_>>(),
        vec![3, 4]
    );
}

#[test]
fn the_pending_nonce_counts_pooled_transactions_while_the_pool_is_behind_the_state() {
    // A block mined nonces 0..=1 and is committed; the pool has not been cleaned up after it
    // yet (its senders' recorded state nonce is still 0). A caller reading the new state
    // nonce (2) must still be told to skip 2..=3, which are pooled and pending. It used to get
    // 2: a second transaction with nonce 2 then took the first one's place.
    let f = fixture(true);
    let txs: Vec<RecoveredTx> = (0..4).map(|n| signed(0, legacy(0, n, 0))).collect();
    for tx in &txs {
        f.add(tx.clone()).unwrap();
    }
    let built =
        f.chain.build_block(txs[..2].to_vec(), Address::ZERO, 1, &Default::default()).unwrap();
    f.chain.commit_built(built).unwrap();
    let sender = address_of(&key(0));
    let state_nonce = f.chain.latest_state().account(sender).unwrap().unwrap().nonce;
    assert_eq!(state_nonce, 2);
    assert_eq!(f.pool.pending_nonce(sender, state_nonce), 4);
    // Past the pooled run, and from a caller whose view is older than the pool's.
    assert_eq!(f.pool.pending_nonce(sender, 5), 5);
    f.pool.remove_after_block(&txs[..2], &[], &f.chain.latest_state()).unwrap();
    assert_eq!(f.pool.pending_nonce(sender, 0), 4);
    assert_eq!(f.pool.pending_nonce(sender, 2), 4);
    assert_eq!(f.pool.pending_nonce_in(sender, &f.chain.latest_state()).unwrap(), 4);

    // Everything mined and forgotten: the pool knows nothing of the sender, and only the
    // state read under its lock gives the next nonce (a state nonce read before a block
    // committed would be one the block used).
    let built =
        f.chain.build_block(txs[2..].to_vec(), Address::ZERO, 2, &Default::default()).unwrap();
    f.chain.commit_built(built).unwrap();
    f.pool.remove_after_block(&txs[2..], &[], &f.chain.latest_state()).unwrap();
    assert_eq!(f.pool.status(), veil_node::PoolStatus { pending: 0, queued: 0 });
    assert_eq!(f.pool.pending_nonce_in(sender, &f.chain.latest_state()).unwrap(), 4);
}

#[test]
fn local_transactions_are_never_evicted_to_make_room() {
    let f = fixture_with(
        true,
        PoolConfig {
            max_transactions: 2,
            max_queued_per_sender: 4,
            price_bump_percent: 10,
            private_transactions: false,
        },
    );
    let state = f.chain.latest_state();
    let head = f.chain.head().1;
    // Sender 1's queued transaction was acknowledged by this node; sender 2's came from a peer.
    let local = f.add(signed(1, legacy(1, 5, 0))).unwrap();
    let remote = f.pool.add_remote(signed(2, legacy(2, 5, 0)), &state, &head).unwrap();
    f.add(signed(0, legacy(0, 0, 0))).unwrap();
    assert!(f.pool.contains(&local), "the peer's queued transaction made room, not ours");
    assert!(!f.pool.contains(&remote));
    assert!(matches!(f.add(signed(3, legacy(3, 0, 0))), Err(PoolError::Full)));
    assert!(f.pool.contains(&local));
}

#[test]
fn local_pending_transactions_are_handed_out_for_re_announcement_once_per_interval() {
    use std::time::Duration;
    let f = fixture(true);
    let state = f.chain.latest_state();
    let head = f.chain.head().1;
    let a = f.add(signed(0, legacy(0, 0, 0))).unwrap();
    f.add(signed(0, legacy(0, 2, 0))).unwrap(); // queued behind a gap: not executable
    f.pool.add_remote(signed(1, legacy(1, 0, 0)), &state, &head).unwrap();
    // Just gossiped: not due within the interval, due at once with a zero one.
    assert!(f.pool.unannounced_local(Duration::from_secs(3600), 10).is_empty());
    let due = f.pool.unannounced_local(Duration::ZERO, 10);
    assert_eq!(due.iter().map(RecoveredTx::hash).collect::<Vec<_>>(), vec![a]);
    assert!(f.pool.unannounced_local(Duration::from_secs(3600), 10).is_empty(), "marked");

    // After a restart the journal's transactions were never announced by this process.
    let restarted = TxPool::new(
        PoolConfig::default(),
        f.chain.spec().clone(),
        Some(Journal::new(f.kv.clone())),
    );
    restarted.restore(&state, &head).unwrap();
    let due = restarted.unannounced_local(Duration::from_secs(3600), 10);
    assert!(due.iter().any(|t| t.hash() == a), "restored and pending: due at once");
}

#[test]
fn a_block_that_is_full_keeps_the_rest_pooled_instead_of_dropping_them() {
    // The block gas limit (about 10,000,000) holds some 476 transfers; the rest did not fit,
    // which does not make them invalid. They used to be reported as rejected and dropped, and with them
    // every later nonce of their senders ("nonce too high").
    let f = fixture(true);
    for sender in 0..2u8 {
        for nonce in 0..300 {
            f.add(signed(sender, legacy(sender, nonce, 0))).unwrap();
        }
    }
    let minted =
        veil_node::Minter::new(f.chain.clone(), f.pool.clone(), Address::ZERO).mint().unwrap();
    let block = minted.expect("a block");
    assert_eq!(block.transactions.len() as u64, block.header.gas_limit / 21_000);
    assert_eq!(f.pool.status().pending, 600 - block.transactions.len());
    assert_eq!(f.pool.status().queued, 0);
    veil_node::Minter::new(f.chain.clone(), f.pool.clone(), Address::ZERO).mint().unwrap();
    assert_eq!(f.pool.status(), veil_node::PoolStatus { pending: 0, queued: 0 });
}

#[test]
fn a_block_imported_from_elsewhere_empties_the_pool_the_chain_maintains() {
    // Node A mints a block; node B, which pooled the same transactions (gossip), imports it.
    let a = fixture(true);
    let b = fixture(true);
    let txs: Vec<RecoveredTx> = (0..3).map(|nonce| signed(0, legacy(0, nonce, 0))).collect();
    for tx in &txs {
        a.add(tx.clone()).unwrap();
        b.add(tx.clone()).unwrap();
    }
    // A later nonce that stays pending on B after the block.
    b.add(signed(0, legacy(0, 3, 0))).unwrap();
    let minted = veil_node::Minter::new(a.chain.clone(), a.pool.clone(), Address::ZERO)
        .mint()
        .unwrap()
        .unwrap();
    assert_eq!(a.pool.status().pending, 0, "the minting chain's pool");
    assert!(b.chain.maintain_pool(b.pool.clone()));
    assert!(!b.chain.maintain_pool(a.pool.clone()), "a chain keeps one pool");
    let block = a.chain.store().block(minted.hash).unwrap().unwrap();
    b.chain.import(block, &Default::default()).unwrap();
    assert_eq!(b.pool.status().pending, 1, "only nonce 3 is left");
    assert!(Journal::new(b.kv.clone()).load().unwrap().len() == 1);
}

/// A store whose writes fail once `failing` is set (a full disk), reads served from memory.
struct FullDisk {
    inner: InMemoryKv,
    failing: std::sync::atomic::AtomicBool,
}

impl KvStore for FullDisk {
    fn get(
        &self,
        table: veil_storage::Table,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, veil_storage::StorageError> {
        self.inner.get(table, key)
    }
    fn write(&self, batch: veil_storage::WriteBatch) -> Result<(), veil_storage::StorageError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(veil_storage::StorageError::Backend("No space left on device".into()));
        }
        self.inner.write(batch)
    }
    fn scan_prefix(
        &self,
        table: veil_storage::Table,
        prefix: &[u8],
    ) -> Result<veil_storage::KvPairs, veil_storage::StorageError> {
        self.inner.scan_prefix(table, prefix)
    }
    fn flush(&self) -> Result<(), veil_storage::StorageError> {
        self.inner.flush()
    }
}

#[test]
fn a_transaction_whose_journal_write_fails_is_refused_and_not_pooled() {
    let disk = Arc::new(FullDisk { inner: InMemoryKv::new(), failing: false.into() });
    let kv: Arc<dyn KvStore> = disk.clone();
    Chain::init(&kv, &spec(true)).unwrap();
    let chain = Arc::new(Chain::open(kv.clone()).unwrap());
    let pool = TxPool::new(PoolConfig::default(), chain.spec().clone(), Some(Journal::new(kv)));
    disk.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let tx = signed(0, legacy(0, 0, 0));
    let err = pool.add(tx.clone(), &chain.latest_state(), &chain.head().1).unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    assert_eq!(pool.status().pending, 0, "refused, so not pooled");
    // The disk recovers: the same nonce is taken by a retry, not refused as a replacement.
    disk.failing.store(false, std::sync::atomic::Ordering::SeqCst);
    pool.add(tx, &chain.latest_state(), &chain.head().1).unwrap();
    assert_eq!(pool.status().pending, 1);
}

/// A node without a transaction manager (a quickstart validator, GoQuorum's
/// `PRIVATE_CONFIG=ignore`) refuses private transactions from its own clients but takes them
/// from peers, and orders and executes them as a non-party: the block carries the transaction,
/// its receipt succeeds, and nothing private runs here.
#[test]
fn a_node_without_a_tm_takes_private_transactions_from_peers_and_mines_them_as_a_non_party() {
    let f = fixture(true);
    let private = || {
        let tx = TxLegacy { input: vec![7u8; 64].into(), gas_limit: 30_000, ..legacy(0, 0, 0) };
        RecoveredTx::try_new(sign_private_transaction(tx, &key(0))).unwrap()
    };
    assert!(matches!(f.add(private()), Err(PoolError::PrivateUnsupported)));
    let (_, head) = f.chain.head();
    let hash = f.pool.add_remote(private(), &f.chain.latest_state(), &head).unwrap();
    let built = f
        .chain
        .build_block_with(f.pool.pending(10), &Default::default(), &Default::default())
        .unwrap();
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    let committed = f.chain.commit_built(built).unwrap();
    assert_eq!(committed.header.number, 1);
    let location =
        f.chain.store().tx_location(hash).unwrap().expect("the private transaction is mined");
    let receipts = f.chain.store().receipts(location.block_hash).unwrap().unwrap();
    assert!(receipts[location.index as usize].status());
    assert!(f.chain.store().private_receipt(hash).unwrap().is_none(), "nothing private ran here");
}

/// The latest state, where a block commits (and the pool is cleaned up after it) right after
/// the first account read: the reader then holds a nonce the block has since used, as an RPC
/// or gossip admission does when a block lands between its state read and its pool update.
struct BlockLandsAfterFirstRead<'a> {
    f: &'a Fixture,
    mined: usize,
    landed: std::cell::Cell<bool>,
}

impl StateReader for BlockLandsAfterFirstRead<'_> {
    fn account(
        &self,
        address: Address,
    ) -> Result<Option<alloy_trie::TrieAccount>, veil_storage::StorageError> {
        let read = self.f.chain.latest_state().account(address);
        if !self.landed.replace(true) {
            let pending = self.f.pool.pending(self.mined);
            let built =
                self.f.chain.build_block(pending, Address::ZERO, 1, &Default::default()).unwrap();
            let imported = self.f.chain.commit_built(built).unwrap();
            self.f
                .pool
                .remove_after_block(&imported.transactions, &[], &self.f.chain.latest_state())
                .unwrap();
        }
        read
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, veil_storage::StorageError> {
        self.f.chain.latest_state().storage(address, slot)
    }
}

#[test]
fn a_block_landing_while_a_transaction_is_admitted_does_not_set_its_senders_nonce_back() {
    // Seen under load: a minter whose pool took a sender's nonce from a read made before the
    // block that used it. The sender's executable transactions then counted as queued behind
    // a gap that does not exist, and a minter builds only from pending ones: they were never
    // mined. Both shapes: the block mines part of the sender's run, or all of it.
    for mined in [2, 4] {
        let f = fixture(true);
        for nonce in 0..4 {
            f.add(signed(0, legacy(0, nonce, 0))).unwrap();
        }
        let racing = BlockLandsAfterFirstRead { f: &f, mined, landed: Default::default() };
        f.pool.add(signed(0, legacy(0, 4, 0)), &racing, &f.chain.head().1).unwrap();
        let sender = address_of(&key(0));
        assert_eq!(f.chain.latest_state().account(sender).unwrap().unwrap().nonce, mined as u64);
        assert_eq!(
            f.pool.pending(usize::MAX).iter().map(|t| t.tx().nonce()).collect::<Vec<_>>(),
            (mined as u64..5).collect::<Vec<_>>(),
            "{mined} mined: the rest must be pending"
        );
        assert_eq!(f.pool.status().queued, 0, "{mined} mined");
    }
}
