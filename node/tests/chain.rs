//! A node from a small genesis mints blocks whose receipts, roots and balances are checked
//! against values computed independently: alloy's trie and proof helpers for the roots,
//! hand-derived gas and fees for the balances.

use alloy_consensus::{
    proofs::{calculate_receipt_root, calculate_transaction_root},
    Eip658Value, Receipt as AlloyReceipt, ReceiptEnvelope, TxEnvelope, TxLegacy,
};
use alloy_primitives::{Address, TxKind, B256, U256};
use alloy_trie::{root::state_root_unhashed, TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use secp256k1::SecretKey;
use std::sync::Arc;
use veil_config::ChainSpec;
use veil_node::{Chain, ImportError, Minter, PoolConfig, TxPool};
use veil_primitives::{address_of, sign_transaction, Transaction};
use veil_storage::{KvStore, RocksKv, StateNamespace, StateReader};

const GWEI: u128 = 1_000_000_000;

fn key(i: u8) -> SecretKey {
    SecretKey::from_slice(&[i + 1; 32]).unwrap()
}

fn genesis(quorum: bool) -> ChainSpec {
    let alloc: serde_json::Map<String, serde_json::Value> = (0..3)
        .map(|i| {
            (address_of(&key(i)).to_string(), serde_json::json!({ "balance": "0xde0b6b3a7640000" }))
        })
        .collect();
    let mut config = serde_json::json!({
        "chainId": 10, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0, "eip158Block": 0,
        "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0, "istanbulBlock": 0,
        "berlinBlock": 0, "londonBlock": 0
    });
    if quorum {
        config["isQuorum"] = true.into();
    }
    ChainSpec::from_json(
        &serde_json::json!({ "config": config, "alloc": alloc, "gasLimit": "0x1c9c380",
            "difficulty": "0x1", "timestamp": "0x0", "extraData": "0x" })
        .to_string(),
    )
    .unwrap()
}

struct Node {
    _dir: tempfile::TempDir,
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
}

fn node(spec: &ChainSpec) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(RocksKv::open(dir.path()).unwrap());
    Chain::init(&kv, spec).unwrap();
    let chain = Arc::new(Chain::open(kv).unwrap());
    let pool = Arc::new(TxPool::new(PoolConfig::default(), chain.spec().clone(), None));
    Node { _dir: dir, chain, pool }
}

fn transfer(from: u8, nonce: u64, to: Address, value: u64, gas_price: u128) -> Transaction {
    sign_transaction(
        TxLegacy {
            chain_id: Some(10),
            nonce,
            gas_price,
            gas_limit: 21_000,
            to: TxKind::Call(to),
            value: U256::from(value),
            input: Default::default(),
        }
        .into(),
        &key(from),
    )
}

fn submit(node: &Node, tx: Transaction) -> B256 {
    let tx = veil_primitives::RecoveredTx::try_new(tx).unwrap();
    node.pool.add(tx, &node.chain.latest_state(), &node.chain.head().1).unwrap()
}

fn envelopes(txs: &[Transaction]) -> Vec<TxEnvelope> {
    txs.iter()
        .map(|tx| match tx {
            Transaction::Public(e) => e.clone(),
            Transaction::Private(_) => unreachable!(),
        })
        .collect()
}

#[test]
fn minted_block_matches_independent_roots_gas_and_balances() {
    let spec = genesis(false);
    let node = node(&spec);
    let recipient = Address::repeat_byte(0x77);
    let coinbase = Address::repeat_byte(0xcb);
    let gas_price = 2 * GWEI;
    let txs = vec![
        transfer(0, 0, recipient, 1_000, gas_price),
        transfer(1, 0, recipient, 2_000, gas_price),
        transfer(0, 1, recipient, 3_000, gas_price),
    ];
    for tx in &txs {
        submit(&node, tx.clone());
    }
    assert_eq!(node.pool.status().pending, 3);

    let minter = Minter::new(node.chain.clone(), node.pool.clone(), coinbase);
    let block = minter.mint().unwrap().expect("a block");
    assert_eq!(block.header.number, 1);
    assert_eq!(node.pool.status().pending, 0);

    // Gas: a plain transfer costs exactly 21000.
    assert_eq!(block.header.gas_used, 63_000);
    // London's first base fee is 1 gwei in the genesis; block 1 had an empty parent, so the
    // fee falls by 1/8 (EIP-1559): 875_000_000.
    let base_fee: u128 = 875_000_000;
    assert_eq!(block.header.base_fee_per_gas, Some(base_fee as u64));

    // Transactions root from alloy's own helper over the envelopes, in the included order.
    let included: Vec<Transaction> = block.transactions.iter().map(|t| t.tx().clone()).collect();
    assert_eq!(block.header.transactions_root, calculate_transaction_root(&envelopes(&included)));

    // Receipts built by hand: status 1, cumulative 21k steps, no logs.
    let expected_receipts: Vec<ReceiptEnvelope> = (1..=3u64)
        .map(|i| {
            ReceiptEnvelope::Legacy(
                AlloyReceipt {
                    status: Eip658Value::Eip658(true),
                    cumulative_gas_used: 21_000 * i,
                    logs: vec![],
                }
                .with_bloom(),
            )
        })
        .collect();
    assert_eq!(block.header.receipts_root, calculate_receipt_root(&expected_receipts));
    let stored = node.chain.store().receipts(block.hash).unwrap().unwrap();
    assert_eq!(stored, expected_receipts);

    // Balances by hand: each sender pays value + 21000 × 2 gwei; the coinbase gets the tip
    // (2 gwei − base fee) per gas; the base fee is burnt.
    let ether = U256::from(10u128.pow(18));
    let fee = U256::from(21_000 * gas_price);
    let tip = U256::from(63_000 * (gas_price - base_fee));
    let model = [
        (address_of(&key(0)), 2, ether - U256::from(4_000) - fee * U256::from(2)),
        (address_of(&key(1)), 1, ether - U256::from(2_000) - fee),
        (address_of(&key(2)), 0, ether),
        (recipient, 0, U256::from(6_000)),
        (coinbase, 0, tip),
    ];
    let state = node.chain.latest_state();
    for (address, nonce, balance) in model {
        let account = state.account(address).unwrap().unwrap();
        assert_eq!((account.nonce, account.balance), (nonce, balance), "{address}");
    }
    // State root from alloy-trie over the hand-built accounts.
    let accounts = model.map(|(address, nonce, balance)| {
        (
            address,
            TrieAccount { nonce, balance, storage_root: EMPTY_ROOT_HASH, code_hash: KECCAK_EMPTY },
        )
    });
    assert_eq!(block.header.state_root, state_root_unhashed(accounts));
    assert_eq!(
        node.chain.state().flat_root(StateNamespace::PUBLIC).unwrap(),
        block.header.state_root
    );

    // A second node imports the same block through the import path and agrees.
    let follower = self::node(&spec);
    let full = node.chain.store().block(block.hash).unwrap().unwrap();
    let imported = follower.chain.import(full.clone(), &Default::default()).unwrap();
    assert_eq!(imported.hash, block.hash);
    assert_eq!(follower.chain.head().1.state_root, block.header.state_root);
    assert_eq!(
        follower.chain.store().senders(block.hash).unwrap().unwrap()[2],
        address_of(&key(0))
    );

    // The same block again no longer extends the head.
    assert!(matches!(
        follower.chain.import(full, &Default::default()).unwrap_err(),
        ImportError::NotOnHead { .. }
    ));
}

#[test]
fn tampered_blocks_are_refused_and_change_nothing() {
    let spec = genesis(false);
    let leader = node(&spec);
    submit(&leader, transfer(0, 0, Address::repeat_byte(1), 5, 2 * GWEI));
    let minted = Minter::new(leader.chain.clone(), leader.pool.clone(), Address::ZERO)
        .mint()
        .unwrap()
        .unwrap();
    let good = leader.chain.store().block(minted.hash).unwrap().unwrap();
    let follower = node(&spec);
    let genesis_head = follower.chain.head();

    let mut bad_root = good.clone();
    bad_root.header.state_root = B256::repeat_byte(9);
    let err = follower.chain.import(bad_root, &Default::default()).unwrap_err();
    assert!(matches!(err, ImportError::Mismatch { field: "state root", .. }), "{err}");

    let mut bad_gas = good.clone();
    bad_gas.header.gas_used += 1;
    assert!(matches!(
        follower.chain.import(bad_gas, &Default::default()).unwrap_err(),
        ImportError::Mismatch { field: "gas used", .. }
    ));

    let mut bad_receipts = good.clone();
    bad_receipts.header.receipts_root = B256::repeat_byte(3);
    assert!(matches!(
        follower.chain.import(bad_receipts, &Default::default()).unwrap_err(),
        ImportError::Mismatch { field: "receipts root", .. }
    ));

    assert_eq!(follower.chain.head(), genesis_head);
    assert_eq!(
        follower.chain.state().flat_root(StateNamespace::PUBLIC).unwrap(),
        genesis_head.1.state_root
    );
    follower.chain.import(good, &Default::default()).unwrap();
    assert_eq!(follower.chain.head().0, minted.hash);
}

#[test]
fn gas_free_network_accepts_price_zero_and_burns_nothing() {
    let spec = genesis(true);
    let node = node(&spec);
    let coinbase = Address::repeat_byte(0xcb);
    let priced =
        veil_primitives::RecoveredTx::try_new(transfer(0, 0, Address::ZERO, 1, 1)).unwrap();
    let err = node.pool.add(priced, &node.chain.latest_state(), &node.chain.head().1).unwrap_err();
    assert!(err.to_string().starts_with("gas price not 0"), "{err}");

    submit(&node, transfer(0, 0, Address::repeat_byte(5), 7, 0));
    let block =
        Minter::new(node.chain.clone(), node.pool.clone(), coinbase).mint().unwrap().unwrap();
    assert_eq!(block.header.base_fee_per_gas, Some(0));
    assert_eq!(block.header.gas_used, 21_000);
    let state = node.chain.latest_state();
    let sender = state.account(address_of(&key(0))).unwrap().unwrap();
    assert_eq!(sender.balance, U256::from(10u128.pow(18)) - U256::from(7));
    assert!(state.account(coinbase).unwrap().is_none(), "coinbase got nothing");
}

#[test]
fn past_states_stay_readable() {
    let spec = genesis(true);
    let node = node(&spec);
    let recipient = Address::repeat_byte(0x42);
    let minter = Minter::new(node.chain.clone(), node.pool.clone(), Address::ZERO);
    let mut roots = vec![node.chain.head().1.state_root];
    for nonce in 0..3 {
        submit(&node, transfer(0, nonce, recipient, 10, 0));
        roots.push(minter.mint().unwrap().unwrap().header.state_root);
    }
    for (i, root) in roots.iter().enumerate() {
        let balance =
            node.chain.state().at_root(*root).account(recipient).unwrap().map(|a| a.balance);
        let expected = (i > 0).then(|| U256::from(10 * i as u64));
        assert_eq!(balance, expected, "after block {i}");
    }
}

/// Init code returning `size` zero bytes as the contract's code.
fn deploy_code_of_size(size: u16) -> Vec<u8> {
    let [hi, lo] = size.to_be_bytes();
    vec![0x61, hi, lo, 0x60, 0x00, 0xf3] // PUSH2 size, PUSH1 0, RETURN
}

#[test]
fn contract_size_limit_comes_from_the_genesis() {
    // maxCodeSizeConfig: 1 KiB from block 0, 2 KiB from block 3.
    let mut genesis: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(genesis(true).genesis()).unwrap()).unwrap();
    genesis["config"]["maxCodeSizeConfig"] =
        serde_json::json!([{ "block": 0, "size": 1 }, { "block": 3, "size": 2 }]);
    let spec = ChainSpec::from_json(&genesis.to_string()).unwrap();
    let node = node(&spec);
    let minter = Minter::new(node.chain.clone(), node.pool.clone(), Address::ZERO);
    assert!(minter.mint().unwrap().is_none(), "no empty blocks");
    let deploy = |nonce: u64, size: u16| {
        sign_transaction(
            TxLegacy {
                chain_id: Some(10),
                nonce,
                gas_price: 0,
                gas_limit: 1_000_000,
                to: TxKind::Create,
                value: U256::ZERO,
                input: deploy_code_of_size(size).into(),
            }
            .into(),
            &key(0),
        )
    };
    let status = |node: &Node, hash: B256| {
        let location = node.chain.store().tx_location(hash).unwrap().unwrap();
        let receipts = node.chain.store().receipts(location.block_hash).unwrap().unwrap();
        alloy_consensus::TxReceipt::status(&receipts[location.index as usize])
    };
    // Block 1: 1024 bytes fit, 1025 do not.
    let fits = submit(&node, deploy(0, 1024));
    let too_big = submit(&node, deploy(1, 1025));
    minter.mint().unwrap().unwrap();
    assert!(status(&node, fits));
    assert!(!status(&node, too_big));
    // Blocks 2 and 3: the limit rises to 2 KiB at block 3.
    let still_too_big = submit(&node, deploy(2, 1500));
    assert_eq!(minter.mint().unwrap().unwrap().header.number, 2);
    assert!(!status(&node, still_too_big));
    let now_fits = submit(&node, deploy(3, 1500));
    assert_eq!(minter.mint().unwrap().unwrap().header.number, 3);
    assert!(status(&node, now_fits));
    let code = node.chain.latest_state().account(address_of(&key(0)).create(3)).unwrap().unwrap();
    assert_ne!(code.code_hash, KECCAK_EMPTY);
}

#[test]
fn a_built_block_commits_as_built_and_only_on_its_parent() {
    let spec = genesis(false);
    let leader = node(&spec);
    let hash = submit(&leader, transfer(0, 0, Address::repeat_byte(1), 5, 2 * GWEI));
    let candidates = leader.pool.pending(10);
    let head = leader.chain.head();

    // Only extra data (the raft seal) may change between building and committing.
    let mut tampered = leader
        .chain
        .build_block(candidates.clone(), Address::ZERO, 1, &Default::default())
        .unwrap();
    tampered.block.header.gas_used += 1;
    let err = leader.chain.commit_built(tampered).unwrap_err();
    assert!(matches!(err, ImportError::InvalidHeader { .. }), "{err}");
    assert_eq!(leader.chain.head(), head);

    let mut first = leader
        .chain
        .build_block(candidates.clone(), Address::ZERO, 1, &Default::default())
        .unwrap();
    let stale =
        leader.chain.build_block(candidates, Address::ZERO, 1, &Default::default()).unwrap();
    first.block.header.extra_data = vec![7; 73].into();
    let committed = leader.chain.commit_built(first).unwrap();
    assert_eq!(leader.chain.head().0, committed.hash);
    assert!(leader.chain.store().tx_location(hash).unwrap().is_some());
    // A second block built on the same parent no longer extends the head.
    let err = leader.chain.commit_built(stale).unwrap_err();
    assert!(matches!(err, ImportError::NotOnHead { .. }), "{err}");

    // What was committed without re-execution is what executing it gives: a follower imports
    // the stored block (its senders taken from its own pool) to the same hash and state root.
    let block = leader.chain.store().block(committed.hash).unwrap().unwrap();
    let follower = node(&spec);
    submit(&follower, transfer(0, 0, Address::repeat_byte(1), 5, 2 * GWEI));
    let known = follower.pool.senders_of(&[hash]);
    assert_eq!(known, vec![Some(address_of(&key(0)))]);
    let imported =
        follower.chain.import_with_known_senders(block, &known, &Default::default()).unwrap();
    assert_eq!(imported.hash, committed.hash);
    assert_eq!(
        follower.chain.state().flat_root(StateNamespace::PUBLIC).unwrap(),
        committed.header.state_root
    );
}

/// A BFT engine's path: the proposer builds with its header fields (mix hash, extra data); a
/// validator checks the proposal on its own chain without committing anything, and commits
/// the checked block later with a seal in its extra data, to the proposer's block hash and
/// state root. A tampered proposal fails the check and changes nothing.
#[test]
fn a_proposal_is_checked_without_commit_and_committed_later_with_its_seal() {
    use veil_node::HeaderTemplate;
    use veil_primitives::istanbul::{block_hash, QbftExtra, ISTANBUL_DIGEST};
    let spec = genesis(false);
    let proposer = node(&spec);
    let validator = node(&spec);
    let tx = transfer(0, 0, Address::repeat_byte(1), 5, 2 * GWEI);
    submit(&proposer, tx.clone());
    let proposal_extra = QbftExtra {
        vanity: vec![0; 32].into(),
        validators: vec![Address::repeat_byte(9)],
        ..Default::default()
    };
    let template = HeaderTemplate {
        beneficiary: Address::repeat_byte(9),
        timestamp: 7,
        mix_hash: ISTANBUL_DIGEST,
        extra_data: proposal_extra.encode(),
    };
    let built = proposer
        .chain
        .build_block_with(proposer.pool.pending(10), &template, &Default::default())
        .unwrap();
    let proposal = built.block.clone();
    assert_eq!((proposal.header.mix_hash, proposal.header.timestamp), (ISTANBUL_DIGEST, 7));
    assert_eq!(proposal.header.extra_data, template.extra_data);

    let head = validator.chain.head();
    let mut tampered = proposal.clone();
    tampered.header.state_root = B256::repeat_byte(1);
    assert!(validator.chain.check_block(tampered, &[], &Default::default()).is_err());
    let checked = validator.chain.check_block(proposal.clone(), &[], &Default::default()).unwrap();
    assert_eq!(validator.chain.head(), head, "a check commits nothing");
    assert!(validator.chain.latest_state().account(Address::repeat_byte(1)).unwrap().is_none());

    // Sealed: round 2 and a seal in the extra; the block hash is the proposal's.
    let sealed_extra =
        QbftExtra { round: 2, committed_seals: vec![[5u8; 65].into()], ..proposal_extra };
    let mut sealed = checked;
    sealed.block.header.extra_data = sealed_extra.encode();
    let committed = validator.chain.commit_built(sealed).unwrap();
    assert_eq!(committed.hash, block_hash(&proposal.header));
    assert_eq!(validator.chain.head().0, committed.hash);
    let mut own = built;
    own.block.header.extra_data = sealed_extra.encode();
    let mine = proposer.chain.commit_built(own).unwrap();
    assert_eq!(mine.hash, committed.hash);
    assert_eq!(mine.header.state_root, committed.header.state_root);
}

/// GoQuorum's QBFT `blockReward`: a block built with a `miningBeneficiary` credits it (and a
/// `beneficiaryMode: "validator"` transition credits the proposer from its block on), and a
/// node importing the block credits the same, to the same state root.
#[test]
fn a_qbft_block_reward_goes_to_its_beneficiary_on_the_builder_and_the_importer() {
    use veil_node::HeaderTemplate;
    let fixed = Address::repeat_byte(0xfe);
    let proposer = Address::repeat_byte(0x07);
    let mut value = serde_json::to_value(genesis(true).genesis()).unwrap();
    value["config"]["qbft"] = serde_json::json!({
        "blockperiodseconds": 1, "blockReward": "1000", "miningBeneficiary": fixed
    });
    value["config"]["transitions"] =
        serde_json::json!([{ "block": 2, "blockReward": "0x10", "beneficiaryMode": "validator" }]);
    let spec = ChainSpec::from_json(&value.to_string()).unwrap();
    let (builder, importer) = (node(&spec), node(&spec));
    let balance = |node: &Node, address: Address| {
        node.chain.latest_state().account(address).unwrap().map_or(U256::ZERO, |a| a.balance)
    };
    for (number, reward_to, amount) in [(1u64, fixed, 1000u64), (2, proposer, 16)] {
        let template =
            HeaderTemplate { beneficiary: proposer, timestamp: number, ..Default::default() };
        let before = balance(&builder, reward_to);
        let built = builder.chain.build_block_with(vec![], &template, &Default::default()).unwrap();
        let block = built.block.clone();
        builder.chain.commit_built(built).unwrap();
        assert_eq!(balance(&builder, reward_to) - before, U256::from(amount), "block {number}");
        let imported = importer.chain.import(block, &Default::default()).unwrap();
        assert_eq!(imported.header.state_root, builder.chain.head().1.state_root);
        assert_eq!(balance(&importer, reward_to), balance(&builder, reward_to));
    }
}
