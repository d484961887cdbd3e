//! Privacy enhancements on real processes (issue 20): a `veil-sim` network made with
//! `--privacy-enhancements` (four Raft nodes, each with its TM), driven over JSON-RPC as
//! GoQuorum's users drive it.
//!
//! - Party protection: a non-party's transaction to a protected contract is refused on its own
//!   node; sent as standard private instead, it is mined and changes no party's state; a
//!   party with a lower flag is refused; a party with the same flag changes it, also signed by
//!   the client itself (`eth_fillTransaction`, `eth_sendRawPrivateTransaction`), where a
//!   non-party is refused the same way.
//! - Private state validation: a transaction sent to a subset of the contract's parties is
//!   refused by the TM; sent to all, every party applies it and their private state roots agree.
//!   Of two increments simulated on the same state, the one run second is marked failed by
//!   every party alike.
//! - Mandatory recipients: leaving a mandatory recipient out is refused with the TM's message.
//! - `eth_getContractPrivacyMetadata` on a party; flag 0 behaves as before.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{call, call_or_error, sim, Running};

/// SimpleStorage(42)'s deployment data (`set(uint)` 0x60fe47b1, `get()` 0x6d4ce63c).
const SIMPLE_STORAGE_42: &str = "0x602060506000396000516000556037601960003960376000f360003560e01c806360fe47b114601d57636d4ce63c14602b57600080fd5b6004358060005560006000a1005b60005460005260206000f3000000000000000000000000000000000000000000000000000000000000002a";
/// A counter, hand-assembled: `get()` (0x6d4ce63c) returns slot 0, any other call adds one
/// to it. Runtime: `PUSH1 0 CALLDATALOAD PUSH1 0xe0 SHR DUP1 PUSH4 get EQ PUSH1 0x1a JUMPI
/// PUSH1 0 SLOAD PUSH1 1 ADD PUSH1 0 SSTORE STOP JUMPDEST PUSH1 0 SLOAD PUSH1 0 MSTORE
/// PUSH1 0x20 PUSH1 0 RETURN` (38 bytes), behind an init code that copies and returns it.
const COUNTER: &str = "0x6026600c60003960266000f360003560e01c80636d4ce63c14601a57600054600101600055005b60005460005260206000f3";
/// `increment()`'s selector (the counter takes any call but `get()` as one).
const INCREMENT: &str = "0xd09de08a";
/// Port offsets whose every port (p2p, JSON-RPC, metrics, raft, TM P2P and ThirdParty) stays
/// clear of those the other `veil-sim` tests use, including their random offsets (a TM P2P port
/// is another offset's ThirdParty port 80 offsets lower).
const OFFSET: u16 = 980;
const SEVEN_NODES_OFFSET: u16 = 990;

struct Node {
    url: String,
    key: String,
    account: Value,
}

fn set(value: u64) -> String {
    format!("0x60fe47b1{value:064x}")
}

/// A JSON-RPC quantity.
fn number(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn word(value: u64) -> Value {
    json!(format!("0x{value:064x}"))
}

/// A transaction's receipt on the node at `url`, once it has one.
fn receipt_at(url: &str, hash: &Value) -> Value {
    let mut receipt = Value::Null;
    veil_testkit::wait_until("the receipt", Duration::from_secs(60), || {
        receipt = call(url, "eth_getTransactionReceipt", json!([hash])).unwrap_or_default();
        !receipt.is_null()
    });
    receipt
}

/// `get()` of `contract` on the node at `url`, at its latest block.
fn get_at(url: &str, contract: &str) -> Value {
    call(url, "eth_call", json!([{ "to": contract, "data": "0x6d4ce63c" }, "latest"])).unwrap()
}

impl Node {
    fn send(
        &self,
        to: Option<&str>,
        data: &str,
        private_for: &[&Node],
        extra: Value,
    ) -> Result<Value, String> {
        let mut tx = json!({
            "from": self.account, "data": data, "gas": "0x100000",
            "privateFor": private_for.iter().map(|n| n.key.clone()).collect::<Vec<_>>(),
        });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        for (k, v) in extra.as_object().unwrap() {
            tx[k] = v.clone();
        }
        call_or_error(&self.url, "eth_sendTransaction", json!([tx]))
    }

    fn receipt(&self, hash: &Value) -> Value {
        receipt_at(&self.url, hash)
    }

    /// `get()` once this node has block `block`.
    fn get(&self, contract: &str, block: &Value) -> Value {
        veil_testkit::wait_until("the block", Duration::from_secs(60), || {
            call(&self.url, "eth_getBlockByNumber", json!([block, false]))
                .is_some_and(|b| !b.is_null())
        });
        get_at(&self.url, contract)
    }

    fn deploy(&self, private_for: &[&Node], extra: Value) -> (String, Value) {
        self.deploy_code(SIMPLE_STORAGE_42, private_for, extra)
    }

    fn deploy_code(&self, code: &str, private_for: &[&Node], extra: Value) -> (String, Value) {
        let hash = self.send(None, code, private_for, extra).expect("the deployment is sent");
        let receipt = self.receipt(&hash);
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        (receipt["contractAddress"].as_str().unwrap().to_string(), receipt["blockNumber"].clone())
    }
}

#[test]
fn party_protection_state_validation_and_mandatory_recipients_on_four_nodes() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let offset = OFFSET.to_string();
    let (ok, out) =
        sim(&dir, &["init", "--nodes", "4", "--port-offset", &offset, "--privacy-enhancements"]);
    assert!(ok, "{out}");
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(dir.join("genesis.json")).unwrap()).unwrap();
    assert_eq!(genesis["config"]["privacyEnhancementsBlock"], 0);
    let tm: Value =
        serde_json::from_slice(&std::fs::read(dir.join("c1/tm.json")).unwrap()).unwrap();
    assert_eq!(tm["features"]["enablePrivacyEnhancements"], true);
    let (ok, out) = sim(&dir, &["start"]);
    let _running = Running(&dir);
    assert!(ok, "{out}");
    let nodes: Vec<Node> = (1..=4)
        .map(|n| {
            let url = format!("http://127.0.0.1:{}", 22000 + OFFSET + n - 1);
            let key = std::fs::read_to_string(dir.join(format!("c{n}/tm.pub")))
                .unwrap()
                .trim()
                .to_string();
            let account = call(&url, "eth_accounts", json!([])).unwrap()[0].clone();
            Node { url, key, account }
        })
        .collect();
    let [a, b, c, d] = [&nodes[0], &nodes[1], &nodes[2], &nodes[3]];

    // Party protection: A deploys for B.
    let (pp, block) = a.deploy(&[b], json!({ "privacyFlag": 1 }));
    assert_eq!(b.get(&pp, &block), word(42));
    assert_eq!(c.get(&pp, &block), json!("0x"), "C is not a party");
    let metadata = call(&b.url, "eth_getContractPrivacyMetadata", json!([pp])).unwrap();
    assert_eq!(metadata["privacyFlag"], 1, "{metadata}");
    assert_eq!(
        metadata,
        call(&a.url, "eth_getContractPrivacyMetadata", json!([pp])).unwrap(),
        "both parties keep the same creation hash"
    );
    // A non-party is refused on its own node before anything is distributed…
    let refused = c.send(Some(&pp), &set(99), &[a, b], json!({ "privacyFlag": 1 })).unwrap_err();
    assert!(refused.contains("contract not found. cannot transact"), "{refused}");
    // …and its standard private transaction, mined, changes no party's state.
    let sneaky = c.send(Some(&pp), &set(99), &[a, b], json!({})).unwrap();
    let mined = c.receipt(&sneaky)["blockNumber"].clone();
    assert_eq!(a.get(&pp, &mined), word(42));
    assert_eq!(b.get(&pp, &mined), word(42));
    let at_b = b.receipt(&sneaky);
    assert_eq!(at_b["status"], "0x0", "the party marks it failed: {at_b}");
    // A party with a lower flag is refused; with the same flag it changes the contract.
    let lower = b.send(Some(&pp), &set(7), &[a], json!({})).unwrap_err();
    assert!(lower.contains("doesn't match"), "{lower}");
    let by_b = b.send(Some(&pp), &set(7), &[a], json!({ "privacyFlag": 1 })).unwrap();
    let mined = b.receipt(&by_b)["blockNumber"].clone();
    assert_eq!(a.get(&pp, &mined), word(7));
    assert_eq!(b.get(&pp, &mined), word(7));
    // The same from clients that sign for themselves (web3js-quorum's flow): eth_fillTransaction
    // stores the payload with the node's TM, the client signs the private transaction with its
    // own key and sends it with eth_sendRawPrivateTransaction and the flag. B's is applied on
    // both parties; C, not a party, is refused on its node.
    let raw_set = |node: &Node, value: u64| -> Result<Value, String> {
        let key = secp256k1::SecretKey::new(&mut rand::thread_rng());
        let from = veil_primitives::address_of(&key);
        let privacy = json!({ "privateFor": [a.key], "privacyFlag": 1 });
        let mut request = json!({ "from": from, "to": pp, "data": set(value), "gas": "0x100000" });
        request.as_object_mut().unwrap().extend(privacy.as_object().unwrap().clone());
        let filled = call_or_error(&node.url, "eth_fillTransaction", json!([request]))?;
        let fields = &filled["tx"];
        let tx = alloy_consensus::TxLegacy {
            chain_id: None,
            nonce: number(&fields["nonce"]),
            gas_price: 0,
            gas_limit: number(&fields["gas"]),
            to: alloy_primitives::TxKind::Call(pp.parse().unwrap()),
            value: alloy_primitives::U256::ZERO,
            input: fields["input"].as_str().unwrap().parse().unwrap(),
        };
        let signed = veil_primitives::sign_private_transaction(tx, &key);
        let raw = format!("0x{}", alloy_primitives::hex::encode(signed.encoded_2718()));
        call_or_error(&node.url, "eth_sendRawPrivateTransaction", json!([raw, privacy]))
    };
    let raw_by_b = raw_set(b, 8).expect("a party's raw transaction is sent");
    let mined = b.receipt(&raw_by_b)["blockNumber"].clone();
    assert_eq!(a.get(&pp, &mined), word(8));
    assert_eq!(b.get(&pp, &mined), word(8));
    let raw_by_c = raw_set(c, 9).unwrap_err();
    assert!(raw_by_c.contains("contract not found. cannot transact"), "{raw_by_c}");

    // Private state validation: A deploys for B and C.
    let (psv, _) = a.deploy(&[b, c], json!({ "privacyFlag": 3 }));
    let subset = a.send(Some(&psv), &set(5), &[b], json!({ "privacyFlag": 3 })).unwrap_err();
    assert!(subset.contains("exactly the parties"), "{subset}");
    let all = a.send(Some(&psv), &set(5), &[b, c], json!({ "privacyFlag": 3 })).unwrap();
    let receipt = a.receipt(&all);
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let mined = receipt["blockNumber"].clone();
    for party in [a, b, c] {
        assert_eq!(party.get(&psv, &mined), word(5));
    }
    assert_eq!(d.get(&psv, &mined), json!("0x"));
    let storage_root = |n: &Node| call(&n.url, "eth_storageRoot", json!([psv, mined])).unwrap();
    assert_eq!(storage_root(a), storage_root(b));
    assert_eq!(storage_root(b), storage_root(c));

    // Two state-validated increments sent at once: the sender simulates both on the same
    // state, so whichever runs second gets another execution hash than the sender's. Every
    // party marks that one failed, the same way, and their private states stay equal.
    let (counter, _) = a.deploy_code(COUNTER, &[b, c], json!({ "privacyFlag": 3 }));
    let (mut succeeded, mut failed) = (0u64, 0u64);
    for attempt in 0..10 {
        let hashes: Vec<Value> = std::thread::scope(|s| {
            let sends: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        a.send(Some(&counter), INCREMENT, &[b, c], json!({ "privacyFlag": 3 }))
                            .expect("an increment is sent")
                    })
                })
                .collect();
            sends.into_iter().map(|send| send.join().unwrap()).collect()
        });
        let mut last = 0;
        for hash in &hashes {
            let receipts: Vec<Value> = [a, b, c].iter().map(|n| n.receipt(hash)).collect();
            let status = &receipts[0]["status"];
            for receipt in &receipts {
                assert_eq!(&receipt["status"], status, "every party the same: {receipts:?}");
            }
            if status == "0x1" {
                succeeded += 1;
            } else {
                failed += 1;
            }
            last = last.max(number(&receipts[0]["blockNumber"]));
        }
        let mined = json!(format!("0x{last:x}"));
        for party in [a, b, c] {
            assert_eq!(party.get(&counter, &mined), word(succeeded), "{succeeded} increments kept");
        }
        let root = |n: &Node| call(&n.url, "eth_storageRoot", json!([counter, mined])).unwrap();
        assert_eq!(root(a), root(b));
        assert_eq!(root(b), root(c));
        if failed > 0 {
            eprintln!(
                "racing increments: {succeeded} kept, {failed} failed, in {attempt} pairs",
                attempt = attempt + 1
            );
            break;
        }
    }
    assert!(failed > 0, "in 10 attempts no two increments ran on the same simulated state");

    // Mandatory recipients: D must be in every transaction on this contract.
    let (mr, block) = a.deploy(&[b, d], json!({ "privacyFlag": 2, "mandatoryFor": [d.key] }));
    // B has imported the creation before it reads the metadata or sends.
    assert_eq!(b.get(&mr, &block), word(42));
    let metadata = call(&b.url, "eth_getContractPrivacyMetadata", json!([mr])).unwrap();
    assert_eq!(metadata["mandatoryFor"], json!([d.key]), "{metadata}");
    let left_out = b
        .send(Some(&mr), &set(3), &[a], json!({ "privacyFlag": 2, "mandatoryFor": [d.key] }))
        .unwrap_err();
    assert!(left_out.contains("Mandatory recipients not found"), "{left_out}");

    // Standard private, as before.
    let (sp, block) = a.deploy(&[d], json!({}));
    assert_eq!(d.get(&sp, &block), word(42));
    assert_eq!(call(&d.url, "eth_getContractPrivacyMetadata", json!([sp])).unwrap(), Value::Null);
}

/// quorum-examples' 7nodes scripts `private-contract-pp.js`, `private-contract-psv.js` and
/// `private-contract-mr.js`, in their shape (web3 0.20's `contract.new` with `privacyFlag`,
/// `privateFor` and `mandatoryFor`, a callback that prints "Contract mined!") with this
/// network's keys and veil-sim's SimpleStorage, run from node 1's console on seven nodes: the
/// parties read 42, the others 0. Then a method call from the console with `privacyFlag`.
#[test]
fn sevennodes_enhanced_contract_scripts_run_from_the_console() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let offset = SEVEN_NODES_OFFSET.to_string();
    let (ok, out) = sim(&dir, &["init", "--port-offset", &offset, "--privacy-enhancements"]);
    assert!(ok, "{out}");
    let (ok, out) = sim(&dir, &["start"]);
    let _running = Running(&dir);
    assert!(ok, "{out}");
    let key = |n: usize| {
        std::fs::read_to_string(dir.join(format!("c{n}/tm.pub"))).unwrap().trim().to_string()
    };
    let scripts = [
        (
            "private-contract-pp.js",
            format!(r#"privacyFlag: 1, privateFor: ["{}"]"#, key(7)),
            vec![7],
        ),
        (
            "private-contract-psv.js",
            format!(r#"privacyFlag: 3, privateFor: ["{}"]"#, key(7)),
            vec![7],
        ),
        (
            "private-contract-mr.js",
            format!(
                r#"privacyFlag: 2, privateFor: ["{}", "{}"], mandatoryFor: ["{}"]"#,
                key(7),
                key(6),
                key(6)
            ),
            vec![6, 7],
        ),
    ];
    let rpc = |n: u16| format!("http://127.0.0.1:{}", 22000 + SEVEN_NODES_OFFSET + n - 1);
    let mut protected = None;
    for (name, privacy, parties) in scripts {
        let script = root.path().join(name);
        std::fs::write(&script, support::private_contract_script(&privacy)).unwrap();
        let (ok, out) = sim(&dir, &["run", "1", script.to_str().unwrap()]);
        assert!(ok && out.contains("waiting to be mined"), "{name}: {out}");
        let address = out
            .lines()
            .find_map(|l| l.strip_prefix("Contract mined! Address: "))
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .to_string();
        let head = call(&rpc(1), "eth_blockNumber", json!([])).unwrap();
        for n in 1..=7 {
            let url = rpc(n);
            veil_testkit::wait_until(
                "node 1's head on every node",
                Duration::from_secs(60),
                || {
                    call(&url, "eth_getBlockByNumber", json!([head, false]))
                        .is_some_and(|b| !b.is_null())
                },
            );
            let value = get_at(&url, &address);
            let party = n == 1 || parties.contains(&n);
            assert_eq!(value, if party { word(42) } else { json!("0x") }, "{name} on node {n}");
        }
        if name == "private-contract-pp.js" {
            protected = Some(address);
        }
    }

    // A method call through the console passes the privacy fields on: `set(4, {privateFor,
    // privacyFlag})` on the party-protected contract changes it on both parties only.
    let address = protected.expect("the party-protection script ran");
    let script = root.path().join("set-pp.js");
    let abi = support::SIMPLE_STORAGE_ABI;
    let seventh = key(7);
    std::fs::write(
        &script,
        format!(
            r#"var c = eth.contract({abi}).at("{address}");
var hash = c.set(4, {{from: eth.accounts[0], privateFor: ["{seventh}"], privacyFlag: 1}});
console.log("sent: " + hash);
"#
        ),
    )
    .unwrap();
    let (ok, out) = sim(&dir, &["run", "1", script.to_str().unwrap()]);
    let hash = out.lines().find_map(|l| l.strip_prefix("sent: ")).map(str::to_string);
    let hash = hash.filter(|_| ok).unwrap_or_else(|| panic!("set-pp.js: {out}"));
    let hash = json!(hash);
    let receipt = receipt_at(&rpc(1), &hash);
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    for n in 1..=7 {
        receipt_at(&rpc(n), &hash);
        let party = n == 1 || n == 7;
        let value = get_at(&rpc(n), &address);
        assert_eq!(value, if party { word(4) } else { json!("0x") }, "set(4) on node {n}");
    }
}
