//! Cancun, Prague and Osaka on Veil chains: the header fields clients read, the opcodes and
//! system contracts of those forks on `veil --dev`, EIP-7702 set-code transactions and the
//! pool's rules for them, and the refusal of blob transactions.

mod support;

use alloy_consensus::{TxEip1559, TxEip4844, TxEip4844Variant, TxEip7702, TypedTransaction};
use alloy_eips::eip7702::{Authorization, SignedAuthorization};
use alloy_primitives::{address, hex, Address, Bytes, TxKind, B256, U256};
use secp256k1::SecretKey;
use serde_json::{json, Value};
use std::sync::Arc;
use support::{deploying, eip1559, raw_tx, rpc_error, wait_for_receipt, VeilProcess};
use veil_config::{ChainSpec, Hardfork};
use veil_node::{dev::dev_key, pool::Journal, Chain, Minter, PoolConfig, TxPool};
use veil_primitives::{address_of, sign_hash, sign_transaction, RecoveredTx, Transaction};
use veil_storage::{InMemoryKv, KvStore, StateReader};

/// EIP-2935's history contract.
const HISTORY: Address = address!("0x0000F90827F1C53a10cb7A02335B175320002935");
/// A contract whose code stores its caller in slot 0: CALLER PUSH1 0 SSTORE STOP.
const STORE_CALLER_RUNTIME: [u8; 5] = [0x33, 0x60, 0x00, 0x55, 0x00];

fn sign_authorization(
    chain_id: u64,
    delegate: Address,
    nonce: u64,
    key: &SecretKey,
) -> SignedAuthorization {
    let auth = Authorization { chain_id: U256::from(chain_id), address: delegate, nonce };
    let signature = sign_hash(auth.signature_hash(), key);
    auth.into_signed(signature)
}

fn set_code(chain_id: u64, nonce: u64, to: Address, auths: Vec<SignedAuthorization>) -> TxEip7702 {
    TxEip7702 {
        chain_id,
        nonce,
        gas_limit: 1_000_000,
        max_fee_per_gas: 0,
        max_priority_fee_per_gas: 0,
        to,
        value: U256::ZERO,
        access_list: Default::default(),
        authorization_list: auths,
        input: Bytes::new(),
    }
}

fn blob_tx(chain_id: u64) -> TxEip4844Variant {
    TxEip4844Variant::TxEip4844(TxEip4844 {
        chain_id,
        nonce: 0,
        gas_limit: 100_000,
        max_fee_per_gas: 0,
        max_priority_fee_per_gas: 0,
        to: Address::repeat_byte(7),
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![B256::with_last_byte(1)],
        max_fee_per_blob_gas: 1,
        input: Bytes::new(),
    })
}

fn call(node: &VeilProcess, method: &str, params: Value) -> Value {
    node.call(method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
}

#[test]
fn a_dev_chain_runs_osaka_with_the_fields_and_opcodes_of_every_fork() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let chain_id = 1337;
    let (deployer, user) = (dev_key(1), dev_key(2));

    // A few blocks, each a deployment of the caller-storing contract.
    let mut receipts = Vec::new();
    for nonce in 0..3 {
        let tx = eip1559(chain_id, nonce, TxKind::Create, deploying(&STORE_CALLER_RUNTIME));
        let hash = call(&node, "eth_sendRawTransaction", json!([raw_tx(tx, &deployer)]));
        receipts.push(wait_for_receipt(&node.url, &hash));
    }
    let delegate: Address = serde_json::from_value(receipts[0]["contractAddress"].clone()).unwrap();

    // Headers carry what Cancun and Prague add, with a chain without blobs or beacon chain's
    // values: blob gas 0, a zero beacon root, and EIP-7685's empty requests hash
    // (sha256 of nothing).
    let latest = call(&node, "eth_getBlockByNumber", json!(["latest", false]));
    assert_eq!(latest["blobGasUsed"], "0x0", "{latest}");
    assert_eq!(latest["excessBlobGas"], "0x0");
    assert_eq!(latest["parentBeaconBlockRoot"], format!("{:#x}", B256::ZERO));
    assert_eq!(
        latest["requestsHash"],
        "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(latest["withdrawalsRoot"], format!("{:#x}", alloy_trie::EMPTY_ROOT_HASH));
    // No blob is ever used, so the blob base fee stays at EIP-4844's minimum, 1 wei.
    assert_eq!(call(&node, "eth_blobBaseFee", json!([])), "0x1");

    // EIP-2935: the history contract, in the dev genesis, returns the hash of an earlier block.
    let number = support::quantity(&latest["number"]) as u64;
    let parent = call(&node, "eth_getBlockByNumber", json!([format!("{:#x}", number - 1), false]));
    let input = format!("0x{}", hex::encode(U256::from(number - 1).to_be_bytes::<32>()));
    let served = call(&node, "eth_call", json!([{ "to": HISTORY, "data": input }, "latest"]));
    assert_eq!(served, parent["hash"], "the history contract serves block {}", number - 1);

    // Opcodes of Cancun (TSTORE/TLOAD, MCOPY) and Osaka (CLZ), run as creation code by
    // eth_call. TSTORE 42 at 0, TLOAD 0, return it:
    let tstore = "0x602a60005d60005c60005260206000f3";
    let out = call(&node, "eth_call", json!([{ "data": tstore }, "latest"]));
    assert_eq!(out, format!("0x{}", hex::encode(U256::from(42).to_be_bytes::<32>())));
    // MSTORE 0xff at 0, MCOPY 32 bytes from 0 to 32, return the copy:
    let mcopy = "0x60ff6000526020600060205e60206020f3";
    let out = call(&node, "eth_call", json!([{ "data": mcopy }, "latest"]));
    assert_eq!(out, format!("0x{}", hex::encode(U256::from(0xff).to_be_bytes::<32>())));
    // CLZ(1) = 255 (EIP-7939's own example values: clz(0) = 256, clz(1) = 255):
    let clz = "0x60011e60005260206000f3";
    let out = call(&node, "eth_call", json!([{ "data": clz }, "latest"]));
    assert_eq!(out, format!("0x{}", hex::encode(U256::from(255).to_be_bytes::<32>())));

    // Prague's EIP-7702: the user signs an authorization delegating its account to the
    // contract; the deployer sends it. The user's account then has the delegation as code,
    // and a call to it runs the contract in the user's account.
    let user_address = address_of(&user);
    let user_nonce =
        support::quantity(&call(&node, "eth_getTransactionCount", json!([user_address, "latest"])))
            as u64;
    let auth = sign_authorization(chain_id, delegate, user_nonce, &user);
    let tx = set_code(chain_id, 3, user_address, vec![auth]);
    let hash = call(&node, "eth_sendRawTransaction", json!([raw_tx(tx, &deployer)]));
    let receipt = wait_for_receipt(&node.url, &hash);
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(receipt["type"], "0x4");
    let code = call(&node, "eth_getCode", json!([user_address, "latest"]));
    assert_eq!(code, format!("0xef0100{}", hex::encode(delegate)));
    let slot = call(&node, "eth_getStorageAt", json!([user_address, "0x0", "latest"]));
    let deployer_word = format!("0x{}", hex::encode(address_of(&deployer).into_word()));
    assert_eq!(slot, deployer_word, "the delegated code stored its caller in the user's storage");
    let nonce = call(&node, "eth_getTransactionCount", json!([user_address, "latest"]));
    assert_eq!(support::quantity(&nonce) as u64, user_nonce + 1, "the authorization used a nonce");

    // Blob transactions are refused with the reason.
    let error =
        rpc_error(&node.url, "eth_sendRawTransaction", json!([raw_tx(blob_tx(chain_id), &user)]));
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("blob transactions (type 3)"), "{error}");
    // So is gas above EIP-7825's cap.
    let mut big = eip1559(chain_id, 10, TxKind::Call(Address::ZERO), Bytes::new());
    big.gas_limit = 16_777_217;
    let error = rpc_error(&node.url, "eth_sendRawTransaction", json!([raw_tx(big, &user)]));
    assert!(
        error["message"].as_str().unwrap_or_default().contains("gas limit too high"),
        "{error}"
    );
}

fn key(i: u8) -> SecretKey {
    SecretKey::from_slice(&[i + 1; 32]).unwrap()
}

fn chain_on(fork: Hardfork) -> (Arc<Chain>, Arc<TxPool>) {
    let mut config = veil_config::genesis_fork_schedule(fork);
    config.insert("chainId".into(), 10.into());
    config.insert("isQuorum".into(), true.into());
    let mut alloc: serde_json::Map<String, Value> =
        (0..4).map(|i| (address_of(&key(i)).to_string(), json!({ "balance": "0x1" }))).collect();
    // The EIP-2935 contract, whatever the fork: execution decides whether to call it.
    alloc.extend(veil_config::genesis_system_contracts(Hardfork::Prague));
    let genesis = json!({ "config": config, "alloc": alloc, "gasLimit": "0x2000000" });
    let spec = ChainSpec::from_json(&genesis.to_string()).unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    Chain::init(&kv, &spec).unwrap();
    let chain = Arc::new(Chain::open(kv.clone()).unwrap());
    let pool =
        Arc::new(TxPool::new(PoolConfig::default(), chain.spec().clone(), Some(Journal::new(kv))));
    (chain, pool)
}

fn add(chain: &Chain, pool: &TxPool, tx: Transaction) -> Result<B256, String> {
    let tx = RecoveredTx::try_new(tx).unwrap();
    pool.add(tx, &chain.latest_state(), &chain.head().1).map_err(|e| e.to_string())
}

fn signed(tx: impl Into<TypedTransaction>, from: u8) -> Transaction {
    sign_transaction(tx.into(), &key(from))
}

fn transfer(nonce: u64) -> TxEip1559 {
    eip1559(10, nonce, TxKind::Call(Address::repeat_byte(9)), Bytes::new())
}

#[test]
fn the_pool_keeps_geths_rules_for_set_code_transactions_and_refuses_blobs() {
    let (chain, pool) = chain_on(Hardfork::Prague);
    let delegate = Address::repeat_byte(0xde);
    let auth = |from: u8, nonce: u64| sign_authorization(10, delegate, nonce, &key(from));

    let empty = set_code(10, 0, Address::repeat_byte(1), vec![]);
    assert_eq!(
        add(&chain, &pool, signed(empty, 1)).unwrap_err(),
        "EIP-7702 transaction with empty auth list"
    );
    let blob = add(&chain, &pool, signed(blob_tx(10), 1)).unwrap_err();
    assert!(blob.contains("blob transactions (type 3)"), "{blob}");

    // An account with pooled transactions cannot be delegated by another sender.
    add(&chain, &pool, signed(transfer(0), 2)).unwrap();
    let reserved = set_code(10, 0, address_of(&key(2)), vec![auth(2, 1)]);
    let err = add(&chain, &pool, signed(reserved, 1)).unwrap_err();
    assert_eq!(
        err,
        format!("authority already reserved: {} has transactions pooled", address_of(&key(2)))
    );

    // An account a pooled set-code transaction delegates may have one transaction pooled.
    add(&chain, &pool, signed(set_code(10, 0, address_of(&key(3)), vec![auth(3, 0)]), 1)).unwrap();
    add(&chain, &pool, signed(transfer(1), 3)).unwrap();
    let err = add(&chain, &pool, signed(transfer(2), 3)).unwrap_err();
    assert!(err.starts_with("in-flight transaction limit reached for delegated accounts"), "{err}");

    // Once mined, the delegation is code (and took the authority's nonce 0), and the same
    // limit holds for the delegated account.
    Minter::new(chain.clone(), pool.clone(), Address::ZERO).mint().unwrap().unwrap();
    let account = chain.latest_state().account(address_of(&key(3))).unwrap().unwrap();
    let code = chain.latest_state().code(account.code_hash).unwrap().unwrap();
    assert_eq!(code.as_ref(), [&[0xef, 0x01, 0x00][..], delegate.as_slice()].concat());
    assert_eq!(account.nonce, 1);
    let err = add(&chain, &pool, signed(transfer(2), 3)).unwrap_err();
    assert!(err.starts_with("in-flight transaction limit reached"), "{err}");
    // Replacing its one pooled transaction is not a second one (a gas-free chain refuses
    // replacements for its own reason).
    let again = add(&chain, &pool, signed(TxEip1559 { value: U256::from(1), ..transfer(1) }, 3));
    assert!(again.unwrap_err().starts_with("replacement transaction underpriced"));
}

#[test]
fn set_code_transactions_wait_for_prague_and_gas_above_the_cap_for_osaka() {
    let (chain, pool) = chain_on(Hardfork::Cancun);
    let tx = set_code(
        10,
        0,
        Address::repeat_byte(1),
        vec![sign_authorization(10, Address::ZERO, 0, &key(0))],
    );
    let err = add(&chain, &pool, signed(tx, 1)).unwrap_err();
    assert!(err.contains("type 4 needs Prague"), "{err}");
    // Before Osaka a transaction may use the whole block.
    let big = TxEip1559 { gas_limit: 20_000_000, ..transfer(0) };
    add(&chain, &pool, signed(big.clone(), 1)).unwrap();
    let (chain, pool) = chain_on(Hardfork::Osaka);
    let err = add(&chain, &pool, signed(big, 1)).unwrap_err();
    assert_eq!(err, "transaction gas limit too high (cap: 16777216, tx: 20000000)");
}

#[test]
fn a_block_records_its_parent_hash_in_the_history_contract_only_from_prague() {
    for (fork, records) in [(Hardfork::Cancun, false), (Hardfork::Prague, true)] {
        let (chain, pool) = chain_on(fork);
        // The history contract's code is at its address in both genesis states, to show
        // that the fork, not the code alone, decides.
        let genesis_hash = chain.head().0;
        add(&chain, &pool, signed(transfer(0), 0)).unwrap();
        Minter::new(chain.clone(), pool.clone(), Address::ZERO).mint().unwrap().unwrap();
        let stored = chain.latest_state().storage(HISTORY, U256::ZERO).unwrap();
        let expected = if records { U256::from_be_bytes(genesis_hash.0) } else { U256::ZERO };
        assert_eq!(stored, expected, "{fork:?}");
        // The block itself carries the Cancun fields either way.
        let head = chain.head().1;
        assert_eq!((head.blob_gas_used, head.excess_blob_gas), (Some(0), Some(0)));
        assert_eq!(head.parent_beacon_block_root, Some(B256::ZERO));
        assert_eq!(head.requests_hash.is_some(), records);
    }
}

#[test]
fn an_osaka_block_stays_under_eip_7934s_size_cap_and_what_does_not_fit_waits() {
    // 160 transactions of 60 KiB of calldata (9.4 MiB in all) from 4 senders, on a chain whose
    // gas limit would take them all.
    let mut config = veil_config::genesis_fork_schedule(Hardfork::Osaka);
    config.insert("chainId".into(), 10.into());
    config.insert("isQuorum".into(), true.into());
    let alloc: serde_json::Map<String, Value> =
        (0..4).map(|i| (address_of(&key(i)).to_string(), json!({ "balance": "0x1" }))).collect();
    let genesis = json!({ "config": config, "alloc": alloc, "gasLimit": "0xE0000000" });
    let spec = ChainSpec::from_json(&genesis.to_string()).unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    Chain::init(&kv, &spec).unwrap();
    let chain = Arc::new(Chain::open(kv).unwrap());
    let pool = Arc::new(TxPool::new(PoolConfig::default(), chain.spec().clone(), None));
    for sender in 0..4u8 {
        for nonce in 0..40 {
            let tx = TxEip1559 {
                gas_limit: 1_000_000,
                input: vec![0u8; 60 * 1024].into(),
                ..transfer(nonce)
            };
            add(&chain, &pool, signed(tx, sender)).unwrap();
        }
    }
    let minter = Minter::new(chain.clone(), pool.clone(), Address::ZERO);
    let first = minter.mint().unwrap().unwrap();
    let block = chain.store().block(first.hash).unwrap().unwrap();
    let size = alloy_rlp::encode(&block).len();
    assert!(size <= veil_evm::MAX_RLP_BLOCK_SIZE, "{size} bytes");
    let included = block.body.transactions.len();
    assert!(included > 100 && included < 160, "{included} included");
    // The rest stay pooled and go in the next block: nothing acknowledged is dropped.
    assert_eq!(pool.status().pending, 160 - included);
    let second = minter.mint().unwrap().unwrap();
    assert_eq!(second.transactions.len(), 160 - included);
    assert_eq!(pool.status().pending, 0);
}

#[test]
fn prague_prices_calldata_at_eip_7623s_floor() {
    // EIP-7623: a transaction pays at least 21000 + 10 × tokens, a non-zero byte being 4
    // tokens. 1,000 non-zero bytes: 37,000 before Prague (16 a byte), a 61,000 floor after.
    let tx = TxEip1559 { gas_limit: 50_000, input: vec![0xff; 1000].into(), ..transfer(0) };
    let (chain, pool) = chain_on(Hardfork::Cancun);
    add(&chain, &pool, signed(tx.clone(), 1)).unwrap();
    let (chain, pool) = chain_on(Hardfork::Prague);
    let err = add(&chain, &pool, signed(tx, 1)).unwrap_err();
    assert_eq!(err, "intrinsic gas too low: have 50000, want 61000");
}

#[test]
fn osaka_reprices_modexp_as_eip_7883_says() {
    // MODEXP (0x05) of 1-byte base, exponent and modulus: EIP-2565's minimum of 200 gas
    // before Osaka, EIP-7883's minimum of 500 from Osaka; everything else equal. A contract
    // makes the call, so no calldata brings EIP-7623's floor into play.
    // mem[0..96] = lengths 1, 1, 1; mem[96..99] = 3, 5, 7; STATICCALL(GAS, 5, 0, 99, 0, 1);
    // RETURN(0, 1).
    let code = alloy_primitives::hex!(
        "600160005260016020526001604052600360605360056061536007606253"
        "600160006063600060055afa5060016000f3"
    );
    let contract = Address::repeat_byte(0xc0);
    let gas_on = |fork| {
        let (chain, _) = chain_on(fork);
        let header = chain.head().1;
        let db = veil_evm::StateDatabase::new(chain.latest_state(), chain.store().clone());
        let context = veil_evm::BlockContext::from_header(&header);
        let mut simulation = veil_evm::Simulation::new(chain.spec(), &context, db).for_calls();
        let code = revm::bytecode::Bytecode::new_raw(code.to_vec().into());
        let info = revm::state::AccountInfo {
            code_hash: code.hash_slow(),
            code: Some(code),
            ..Default::default()
        };
        simulation.db_mut().insert_account_info(contract, info);
        let env = revm::context::TxEnv {
            caller: address_of(&key(0)),
            kind: TxKind::Call(contract),
            gas_limit: 100_000,
            chain_id: Some(10),
            ..Default::default()
        };
        let result = simulation.run(env).unwrap();
        assert!(result.is_success(), "{result:?}");
        // 3^5 mod 7 = 5.
        assert_eq!(result.output().unwrap().as_ref(), [5]);
        result.tx_gas_used()
    };
    assert_eq!(gas_on(Hardfork::Osaka) - gas_on(Hardfork::Prague), 300);
}
