//! Each client's transactions: a fresh key, a nonce, and what the round's workload sends
//! (raft-load's generators, moved here).

use super::spec::Workload;
use alloy_consensus::TxLegacy;
use alloy_primitives::{hex, Address, TxKind, B256, U256};
use jsonrpsee::{core::client::ClientT, http_client::HttpClient, rpc_params};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// SimpleStorage(42)'s deployment data (`set(uint)` is 0x60fe47b1, `get()` 0x6d4ce63c).
const SIMPLE_STORAGE_42: &str = "602060506000396000516000556037601960003960376000f360003560e01c806360fe47b114601d57636d4ce63c14602b57600080fd5b6004358060005560006000a1005b60005460005260206000f3000000000000000000000000000000000000000000000000000000000000002a";
const GET: &str = "0x6d4ce63c";

/// A private round's TM side for one client: its node's TM and the recipients' keys.
#[derive(Clone)]
pub(crate) struct PrivateParties {
    pub(crate) tm: std::sync::Arc<veil_tm_api::TmClient>,
    pub(crate) from: String,
    pub(crate) to: Vec<String>,
}

/// What a client sends next: a transaction to follow into a block, or a call to time.
pub(crate) enum Request {
    Transaction { hash: B256, method: &'static str, params: Vec<Value> },
    Call { params: Vec<Value> },
}

/// One client of a round.
pub(crate) struct Client {
    pub(crate) rpc: HttpClient,
    key: secp256k1::SecretKey,
    nonce: u64,
    chain_id: u64,
    workload: Workload,
    private: Option<PrivateParties>,
    contract: Option<Address>,
}

impl Client {
    pub(crate) fn new(
        rpc: HttpClient,
        chain_id: u64,
        workload: Workload,
        private: Option<PrivateParties>,
    ) -> Self {
        let key = secp256k1::SecretKey::new(&mut rand::thread_rng());
        Self { rpc, key, nonce: 0, chain_id, workload, private, contract: None }
    }

    /// What the workload needs before the round's clock starts: its own SimpleStorage for
    /// writes and reads (public) and for private calls with a flag (private, with that flag).
    pub(crate) async fn prepare(&mut self) -> eyre::Result<()> {
        let (hash, method, params) = match self.workload {
            Workload::Write | Workload::Read => {
                let (hash, raw) = self.public(None, hex::decode(SIMPLE_STORAGE_42)?);
                (hash, "eth_sendRawTransaction", vec![json!(raw)])
            }
            Workload::Private { flag: Some(flag), .. } => {
                self.private_request(None, hex::decode(SIMPLE_STORAGE_42)?, flag).await?
            }
            Workload::Transfer | Workload::Private { flag: None, .. } => return Ok(()),
        };
        send(&self.rpc, method, params).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let receipt: Value =
                self.rpc.request("eth_getTransactionReceipt", rpc_params![hash]).await?;
            if !receipt.is_null() {
                eyre::ensure!(receipt["status"] == "0x1", "the deployment failed: {receipt}");
                break;
            }
            eyre::ensure!(Instant::now() < deadline, "the deployment was not mined in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.contract = Some(veil_primitives::address_of(&self.key).create(0));
        self.nonce = 1;
        Ok(())
    }

    /// The next request; a transaction's nonce is spent only by [`Client::accepted`].
    pub(crate) async fn next(&mut self) -> eyre::Result<Request> {
        let n = self.nonce;
        let set = || hex::decode(format!("60fe47b1{n:064x}"));
        Ok(match self.workload {
            Workload::Transfer => {
                let (hash, raw) = self.public(Some(Address::repeat_byte(0x42)), Vec::new());
                Request::Transaction {
                    hash,
                    method: "eth_sendRawTransaction",
                    params: vec![json!(raw)],
                }
            }
            Workload::Write => {
                let (hash, raw) = self.public(self.contract, set()?);
                Request::Transaction {
                    hash,
                    method: "eth_sendRawTransaction",
                    params: vec![json!(raw)],
                }
            }
            Workload::Read => Request::Call {
                params: vec![json!({ "to": self.contract, "data": GET }), json!("latest")],
            },
            Workload::Private { flag, .. } => {
                let (to, payload) = match (flag, self.contract) {
                    (Some(_), Some(contract)) => (Some(contract), set()?),
                    _ => (
                        Some(Address::repeat_byte(0x42)),
                        (0..1024).map(|i| (i as u8) ^ (n as u8)).collect(),
                    ),
                };
                let (hash, method, params) =
                    self.private_request(to, payload, flag.unwrap_or(0)).await?;
                Request::Transaction { hash, method, params }
            }
        })
    }

    /// The node took the last transaction: the next one takes the next nonce.
    pub(crate) fn accepted(&mut self) {
        self.nonce += 1;
    }

    fn public(&self, to: Option<Address>, input: Vec<u8>) -> (B256, String) {
        let tx = TxLegacy {
            chain_id: Some(self.chain_id),
            nonce: self.nonce,
            gas_price: 0,
            gas_limit: if input.is_empty() { 21_000 } else { 300_000 },
            to: to.map_or(TxKind::Create, TxKind::Call),
            value: U256::ZERO,
            input: input.into(),
        };
        let signed = veil_primitives::sign_transaction(tx.into(), &self.key);
        (signed.hash(), format!("0x{}", hex::encode(signed.encoded_2718())))
    }

    /// Stores `payload` with the client's TM (`/storeraw`) and signs the private transaction
    /// carrying its hash, for `eth_sendRawPrivateTransaction`.
    async fn private_request(
        &self,
        to: Option<Address>,
        payload: Vec<u8>,
        flag: u8,
    ) -> eyre::Result<(B256, &'static str, Vec<Value>)> {
        let parties =
            self.private.as_ref().ok_or_else(|| eyre::eyre!("private rounds need the TMs"))?;
        let request = veil_tm_api::StoreRawRequest {
            payload: veil_tm_api::Base64Bytes(payload),
            from: Some(parties.from.parse().map_err(|e| eyre::eyre!("{e:?}"))?),
        };
        let stored = parties.tm.store_raw(&request).await?.key;
        let tx = TxLegacy {
            chain_id: None,
            nonce: self.nonce,
            gas_price: 0,
            gas_limit: 300_000,
            to: to.map_or(TxKind::Create, TxKind::Call),
            value: U256::ZERO,
            input: alloy_primitives::Bytes::copy_from_slice(stored.as_bytes()),
        };
        let signed = veil_primitives::sign_private_transaction(tx, &self.key);
        let raw = format!("0x{}", hex::encode(signed.encoded_2718()));
        Ok((
            signed.hash(),
            "eth_sendRawPrivateTransaction",
            vec![json!(raw), json!({ "privateFor": parties.to, "privacyFlag": flag })],
        ))
    }
}

/// Sends one JSON-RPC request with positional `params`.
pub(crate) async fn send(
    rpc: &HttpClient,
    method: &str,
    params: Vec<Value>,
) -> eyre::Result<Value> {
    let mut array = jsonrpsee::core::params::ArrayParams::new();
    for param in params {
        array.insert(param)?;
    }
    Ok(rpc.request(method, array).await?)
}
