//! The JSON-RPC subset this node serves over HTTP today: enough to submit transactions and
//! watch them land (`eth_sendRawTransaction`, receipts, blocks, balances, nonces). The full
//! geth-compatible API, WebSocket and IPC come with the RPC work that builds on this module.

use crate::{Chain, TxPool};
use alloy_consensus::{Header, TxReceipt};
use alloy_primitives::{hex, Address, Bytes, B256, U256};
use jsonrpsee::{
    server::{RpcModule, Server, ServerHandle},
    types::{ErrorObjectOwned, Params},
};
use serde_json::{json, Value};
use std::{net::SocketAddr, sync::Arc};
use veil_primitives::{RecoveredTx, Transaction};
use veil_storage::StateReader;

/// What the RPC methods work on.
#[derive(Debug)]
pub struct RpcContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The pool.
    pub pool: Arc<TxPool>,
}

type RpcResult = Result<Value, ErrorObjectOwned>;
type Method = fn(&RpcContext, &[Value]) -> RpcResult;

fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, message.into(), None::<()>)
}

fn server_error(message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32000, message.to_string(), None::<()>)
}

fn quantity(value: impl std::fmt::LowerHex) -> Value {
    Value::String(format!("0x{value:x}"))
}

/// Which block a request names.
enum BlockTag {
    Latest,
    Pending,
    Number(u64),
}

fn block_tag(value: Option<&Value>) -> Result<BlockTag, ErrorObjectOwned> {
    match value.and_then(Value::as_str) {
        None | Some("latest") | Some("safe") | Some("finalized") => Ok(BlockTag::Latest),
        Some("pending") => Ok(BlockTag::Pending),
        Some("earliest") => Ok(BlockTag::Number(0)),
        Some(other) => other
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .map(BlockTag::Number)
            .ok_or_else(|| invalid_params(format!("invalid block number or tag: {other}"))),
    }
}

fn positional(params: &Params<'_>) -> Result<Vec<Value>, ErrorObjectOwned> {
    if params.as_str().is_none() {
        return Ok(Vec::new());
    }
    params.parse::<Vec<Value>>().map_err(|e| invalid_params(e.to_string()))
}

fn param<T: serde::de::DeserializeOwned>(
    args: &[Value],
    index: usize,
    what: &str,
) -> Result<T, ErrorObjectOwned> {
    let value = args.get(index).ok_or_else(|| {
        invalid_params(format!("missing value for required argument {index} ({what})"))
    })?;
    serde_json::from_value(value.clone())
        .map_err(|e| invalid_params(format!("invalid {what}: {e}")))
}

impl RpcContext {
    fn header_at(&self, tag: BlockTag) -> Result<Option<(B256, Header)>, ErrorObjectOwned> {
        let store = self.chain.store();
        match tag {
            BlockTag::Latest | BlockTag::Pending => Ok(Some(self.chain.head())),
            BlockTag::Number(n) => {
                let Some(hash) = store.canonical_hash(n).map_err(server_error)? else {
                    return Ok(None);
                };
                Ok(store.header(hash).map_err(server_error)?.map(|h| (hash, h)))
            }
        }
    }

    fn account_field(
        &self,
        args: &[Value],
        read: impl Fn(Option<alloy_trie::TrieAccount>) -> U256,
    ) -> RpcResult {
        let address: Address = param(args, 0, "address")?;
        let tag = block_tag(args.get(1))?;
        let account = match tag {
            BlockTag::Latest | BlockTag::Pending => self.chain.latest_state().account(address),
            BlockTag::Number(_) => {
                let (_, header) =
                    self.header_at(tag)?.ok_or_else(|| server_error("header not found"))?;
                self.chain.state().at_root(header.state_root).account(address)
            }
        }
        .map_err(server_error)?;
        Ok(quantity(read(account)))
    }

    fn send_raw_transaction(&self, args: &[Value]) -> RpcResult {
        let raw: Bytes = param(args, 0, "raw transaction")?;
        let tx = Transaction::decode_2718_exact(&raw).map_err(|e| invalid_params(e.to_string()))?;
        let tx = RecoveredTx::try_new(tx).map_err(server_error)?;
        let (_, head) = self.chain.head();
        let hash = self.pool.add(tx, &self.chain.latest_state(), &head).map_err(server_error)?;
        Ok(json!(hash))
    }

    fn transaction_count(&self, args: &[Value]) -> RpcResult {
        let address: Address = param(args, 0, "address")?;
        let pending = matches!(block_tag(args.get(1))?, BlockTag::Pending);
        let nonce = self.account_field(args, |a| U256::from(a.map_or(0, |a| a.nonce)))?;
        if !pending {
            return Ok(nonce);
        }
        let state_nonce = self
            .chain
            .latest_state()
            .account(address)
            .map_err(server_error)?
            .map_or(0, |a| a.nonce);
        Ok(quantity(self.pool.pending_nonce(address, state_nonce)))
    }

    fn block_by_number(&self, args: &[Value]) -> RpcResult {
        let tag = block_tag(args.first())?;
        let Some((hash, header)) = self.header_at(tag)? else { return Ok(Value::Null) };
        let txs = self.chain.store().transactions(hash).map_err(server_error)?.unwrap_or_default();
        Ok(json!({
            "hash": hash,
            "parentHash": header.parent_hash,
            "number": quantity(header.number),
            "stateRoot": header.state_root,
            "transactionsRoot": header.transactions_root,
            "receiptsRoot": header.receipts_root,
            "logsBloom": header.logs_bloom,
            "miner": header.beneficiary,
            "gasLimit": quantity(header.gas_limit),
            "gasUsed": quantity(header.gas_used),
            "timestamp": quantity(header.timestamp),
            "baseFeePerGas": header.base_fee_per_gas.map(quantity),
            "transactions": txs.iter().map(|tx| tx.hash()).collect::<Vec<_>>(),
        }))
    }

    fn transaction_receipt(&self, args: &[Value]) -> RpcResult {
        let tx_hash: B256 = param(args, 0, "transaction hash")?;
        let store = self.chain.store();
        let Some(location) = store.tx_location(tx_hash).map_err(server_error)? else {
            return Ok(Value::Null);
        };
        let header = store
            .header(location.block_hash)
            .map_err(server_error)?
            .ok_or_else(|| server_error("header not found"))?;
        let receipts =
            store.receipts(location.block_hash).map_err(server_error)?.unwrap_or_default();
        let senders = store.senders(location.block_hash).map_err(server_error)?.unwrap_or_default();
        let txs =
            store.transactions(location.block_hash).map_err(server_error)?.unwrap_or_default();
        let i = location.index as usize;
        let (Some(receipt), Some(tx), Some(from)) = (receipts.get(i), txs.get(i), senders.get(i))
        else {
            return Err(server_error("receipt index out of range"));
        };
        let previous = if i == 0 { 0 } else { receipts[i - 1].cumulative_gas_used() };
        let contract_address = tx.to().is_none().then(|| from.create(tx.nonce()));
        let log_offset: usize = receipts[..i].iter().map(|r| r.logs().len()).sum();
        let logs: Vec<Value> = receipt
            .logs()
            .iter()
            .enumerate()
            .map(|(j, log)| {
                json!({
                    "address": log.address,
                    "topics": log.topics(),
                    "data": log.data.data,
                    "blockHash": location.block_hash,
                    "blockNumber": quantity(header.number),
                    "transactionHash": tx_hash,
                    "transactionIndex": quantity(i),
                    "logIndex": quantity(log_offset + j),
                    "removed": false,
                })
            })
            .collect();
        Ok(json!({
            "transactionHash": tx_hash,
            "transactionIndex": quantity(i),
            "blockHash": location.block_hash,
            "blockNumber": quantity(header.number),
            "from": from,
            "to": tx.to(),
            "cumulativeGasUsed": quantity(receipt.cumulative_gas_used()),
            "gasUsed": quantity(receipt.cumulative_gas_used() - previous),
            "contractAddress": contract_address,
            "logs": logs,
            "logsBloom": receipt.bloom(),
            "status": quantity(u8::from(receipt.status())),
            "type": quantity(tx.tx_type()),
            "effectiveGasPrice": quantity(tx.max_fee_per_gas()),
        }))
    }
}

/// The methods, registered on a jsonrpsee module.
pub fn rpc_module(context: Arc<RpcContext>) -> RpcModule<Arc<RpcContext>> {
    let mut module = RpcModule::new(context);
    let methods: [(&'static str, Method); 11] = [
        ("web3_clientVersion", |_, _| Ok(json!(format!("veil/v{}", env!("CARGO_PKG_VERSION"))))),
        ("net_version", |c, _| Ok(json!(c.chain.spec().chain_id().to_string()))),
        ("eth_chainId", |c, _| Ok(quantity(c.chain.spec().chain_id()))),
        ("eth_blockNumber", |c, _| Ok(quantity(c.chain.head().1.number))),
        ("eth_getBalance", |c, a| {
            c.account_field(a, |acc| acc.map_or(U256::ZERO, |acc| acc.balance))
        }),
        ("eth_getTransactionCount", RpcContext::transaction_count),
        ("eth_sendRawTransaction", RpcContext::send_raw_transaction),
        ("eth_getBlockByNumber", RpcContext::block_by_number),
        ("eth_getTransactionReceipt", RpcContext::transaction_receipt),
        ("txpool_status", |c, _| {
            let status = c.pool.status();
            Ok(json!({ "pending": quantity(status.pending), "queued": quantity(status.queued) }))
        }),
        ("web3_sha3", |_, a| {
            let data: Bytes = param(a, 0, "data")?;
            Ok(json!(format!("0x{}", hex::encode(alloy_primitives::keccak256(&data)))))
        }),
    ];
    for (name, method) in methods {
        // Names are distinct constants, so registration cannot clash.
        let registered = module.register_method(name, move |params, context, _| {
            let args = positional(&params)?;
            method(context, &args)
        });
        if let Err(e) = registered {
            tracing::error!(target: "rpc", method = name, error = %e, "cannot register method");
        }
    }
    module
}

/// Starts the HTTP server on `addr`; returns the bound address and the handle that stops it.
pub async fn start_http(
    addr: SocketAddr,
    context: Arc<RpcContext>,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder().build(addr).await?;
    let bound = server.local_addr()?;
    Ok((bound, server.start(rpc_module(context))))
}
