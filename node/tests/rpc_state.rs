//! State over RPC checked against independent verifiers: `eth_getProof` against alloy-trie's
//! proof verifier and the block's state root, `eth_call` state overrides, and the JSON shapes of
//! blocks and receipts.

mod support;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rlp::Encodable;
use alloy_trie::{proof::verify_proof, Nibbles, TrieAccount};
use serde_json::{json, Value};
use support::{rpc_call, wait_for_receipt, VeilProcess};

fn bytes_list(value: &Value) -> Vec<Bytes> {
    serde_json::from_value(value.clone()).unwrap()
}

fn verify_account(proof: &Value, state_root: B256, address: Address) {
    let account = TrieAccount {
        nonce: support::quantity(&proof["nonce"]) as u64,
        balance: proof["balance"].as_str().unwrap().parse().unwrap(),
        storage_root: proof["storageHash"].as_str().unwrap().parse().unwrap(),
        code_hash: proof["codeHash"].as_str().unwrap().parse().unwrap(),
    };
    let exists = account.nonce != 0
        || account.balance != U256::ZERO
        || account.code_hash != alloy_trie::KECCAK_EMPTY;
    let expected = exists.then(|| {
        let mut rlp = Vec::new();
        account.encode(&mut rlp);
        rlp
    });
    verify_proof(
        state_root,
        Nibbles::unpack(keccak256(address)),
        expected,
        &bytes_list(&proof["accountProof"]),
    )
    .unwrap_or_else(|e| panic!("account proof of {address} does not verify: {e:?}"));
}

#[test]
fn get_proof_verifies_against_the_state_root_and_calls_take_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--ipcdisable"]);
    let url = node.url.as_str();
    let from = rpc_call(url, "eth_accounts", json!([])).unwrap()[0].clone();

    // Init code that stores 42 in slot 0 and deploys no code: PUSH1 42 PUSH1 0 SSTORE.
    let hash =
        rpc_call(url, "eth_sendTransaction", json!([{"from": from, "data": "0x602a600055"}]))
            .unwrap();
    let receipt = wait_for_receipt(url, &hash);
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let contract: Address = receipt["contractAddress"].as_str().unwrap().parse().unwrap();
    let block =
        rpc_call(url, "eth_getBlockByNumber", json!([receipt["blockNumber"], false])).unwrap();
    let state_root: B256 = block["stateRoot"].as_str().unwrap().parse().unwrap();

    let slot0 = B256::ZERO;
    let slot1 = B256::with_last_byte(1);
    let proof =
        rpc_call(url, "eth_getProof", json!([contract, [slot0, slot1], receipt["blockNumber"]]))
            .unwrap();
    verify_account(&proof, state_root, contract);
    let storage_root: B256 = proof["storageHash"].as_str().unwrap().parse().unwrap();
    let stored = &proof["storageProof"][0];
    assert_eq!(stored["value"], "0x2a", "{proof}");
    let mut value_rlp = Vec::new();
    U256::from(42).encode(&mut value_rlp);
    verify_proof(
        storage_root,
        Nibbles::unpack(keccak256(slot0)),
        Some(value_rlp),
        &bytes_list(&stored["proof"]),
    )
    .expect("slot 0 proof verifies");
    let absent = &proof["storageProof"][1];
    assert_eq!(absent["value"], "0x0", "{proof}");
    verify_proof(
        storage_root,
        Nibbles::unpack(keccak256(slot1)),
        None,
        &bytes_list(&absent["proof"]),
    )
    .expect("absence of slot 1 verifies");

    // The sender (exists) and an address that never appeared (absence proof).
    let sender: Address = from.as_str().unwrap().parse().unwrap();
    let sender_proof =
        rpc_call(url, "eth_getProof", json!([sender, [], receipt["blockNumber"]])).unwrap();
    verify_account(&sender_proof, state_root, sender);
    let nobody = Address::repeat_byte(0xee);
    let nobody_proof = rpc_call(url, "eth_getProof", json!([nobody, [], "latest"])).unwrap();
    let latest = rpc_call(url, "eth_getBlockByNumber", json!(["latest", false])).unwrap();
    verify_account(&nobody_proof, latest["stateRoot"].as_str().unwrap().parse().unwrap(), nobody);

    // eth_getStorageAt agrees with the proof; an override replaces code and storage for one call.
    let stored = rpc_call(url, "eth_getStorageAt", json!([contract, "0x0", "latest"])).unwrap();
    assert_eq!(stored, json!(format!("0x{:064x}", 42)));
    // Runtime code: PUSH1 0 SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN (returns slot 0).
    let returns_slot0 = "0x60005460005260206000f3";
    let call = json!({"to": contract, "data": "0x"});
    let plain = rpc_call(url, "eth_call", json!([call, "latest"])).unwrap();
    assert_eq!(plain, "0x", "no code: empty output");
    let overridden = rpc_call(
        url,
        "eth_call",
        json!([call, "latest", {
            contract.to_string(): {"code": returns_slot0, "stateDiff": {format!("{slot0}"): format!("0x{:064x}", 7)}}
        }]),
    )
    .unwrap();
    assert_eq!(overridden, json!(format!("0x{:064x}", 7)));
    let after = rpc_call(url, "eth_getStorageAt", json!([contract, "0x0", "latest"])).unwrap();
    assert_eq!(after, stored, "an override never reaches the state");
}

#[test]
fn blocks_transactions_and_receipts_have_geths_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let node =
        VeilProcess::start_dev(dir.path(), &["--ipcdisable", "--http.api", "eth,net,web3,txpool"]);
    let url = node.url.as_str();
    let from = rpc_call(url, "eth_accounts", json!([])).unwrap()[0].clone();
    let to = "0x00000000000000000000000000000000000000aa";
    let block_filter = rpc_call(url, "eth_newBlockFilter", json!([])).unwrap();
    let pending_filter = rpc_call(url, "eth_newPendingTransactionFilter", json!([])).unwrap();
    let hash =
        rpc_call(url, "eth_sendTransaction", json!([{"from": from, "to": to, "value": "0x5"}]))
            .unwrap();
    let receipt = wait_for_receipt(url, &hash);

    let block = rpc_call(url, "eth_getBlockByHash", json!([receipt["blockHash"], true])).unwrap();
    let tx = &block["transactions"][0];
    assert_eq!(tx["hash"], hash);
    assert_eq!(tx["from"], from);
    assert_eq!(tx["to"], to);
    assert_eq!(tx["value"], "0x5");
    assert_eq!(tx["blockHash"], receipt["blockHash"]);
    assert_eq!(tx["type"], "0x0", "the dev chain is gas-free: eth_sendTransaction makes legacy");
    assert_eq!(tx["gasPrice"], "0x0");
    // The header hash is keccak256 of its RLP: recompute it from the JSON fields.
    let header: alloy_rpc_types_eth::Header = serde_json::from_value(block.clone()).unwrap();
    assert_eq!(header.inner.hash_slow(), header.hash);
    let raw = rpc_call(url, "eth_getTransactionByHash", json!([hash])).unwrap();
    assert_eq!(&raw, tx);
    let by_index = rpc_call(
        url,
        "eth_getTransactionByBlockNumberAndIndex",
        json!([receipt["blockNumber"], "0x0"]),
    )
    .unwrap();
    assert_eq!(&by_index, tx);
    let count =
        rpc_call(url, "eth_getBlockTransactionCountByHash", json!([receipt["blockHash"]])).unwrap();
    assert_eq!(count, "0x1");
    let receipts = rpc_call(url, "eth_getBlockReceipts", json!([receipt["blockNumber"]])).unwrap();
    assert_eq!(receipts[0], receipt);
    assert_eq!(receipt["gasUsed"], "0x5208");
    assert_eq!(receipt["from"], from);
    assert_eq!(receipt["to"], to);
    let fee_history = rpc_call(url, "eth_feeHistory", json!(["0x2", "latest", [50.0]])).unwrap();
    assert_eq!(fee_history["baseFeePerGas"].as_array().unwrap().len(), 3, "{fee_history}");
    assert_eq!(fee_history["reward"].as_array().unwrap().len(), 2, "{fee_history}");
    let new_blocks = rpc_call(url, "eth_getFilterChanges", json!([block_filter])).unwrap();
    assert!(new_blocks.as_array().unwrap().contains(&receipt["blockHash"]), "{new_blocks}");
    let pending = rpc_call(url, "eth_getFilterChanges", json!([pending_filter])).unwrap();
    assert_eq!(pending, json!([hash]));
    assert_eq!(rpc_call(url, "eth_getFilterChanges", json!([pending_filter])).unwrap(), json!([]));

    // A transaction behind a nonce gap waits in the pool as queued.
    let key = veil_node::dev::dev_key(3);
    let gap = alloy_consensus::TxLegacy {
        chain_id: Some(veil_node::dev::DEV_CHAIN_ID),
        nonce: 5,
        gas_limit: 21_000,
        to: alloy_primitives::TxKind::Call(Address::repeat_byte(0xbb)),
        value: U256::from(9),
        ..Default::default()
    };
    let raw = veil_primitives::sign_transaction(gap.into(), &key).encoded_2718();
    let queued_hash = rpc_call(
        url,
        "eth_sendRawTransaction",
        json!([format!("0x{}", alloy_primitives::hex::encode(raw))]),
    )
    .unwrap();
    let sender = veil_primitives::address_of(&key).to_checksum(None);
    let status = rpc_call(url, "txpool_status", json!([])).unwrap();
    assert_eq!(status, json!({"pending": "0x0", "queued": "0x1"}));
    let content = rpc_call(url, "txpool_content", json!([])).unwrap();
    assert_eq!(content["queued"][&sender]["5"]["hash"], queued_hash, "{content}");
    assert_eq!(content["queued"][&sender]["5"]["nonce"], "0x5", "{content}");
    let inspect = rpc_call(url, "txpool_inspect", json!([])).unwrap();
    let summary = inspect["queued"][&sender]["5"].as_str().unwrap();
    assert!(summary.ends_with(": 9 wei + 21000 gas × 0 wei"), "{summary}");
    let pooled = rpc_call(url, "eth_getTransactionByHash", json!([queued_hash])).unwrap();
    assert!(pooled["blockHash"].is_null(), "{pooled}");

    assert_eq!(rpc_call(url, "eth_syncing", json!([])).unwrap(), false);
    assert_eq!(rpc_call(url, "net_listening", json!([])).unwrap(), true);
    assert_eq!(
        rpc_call(url, "web3_sha3", json!(["0x68656c6c6f20776f726c64"])).unwrap(),
        // keccak256("hello world"), the example in geth's web3_sha3 documentation.
        "0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad"
    );
}
