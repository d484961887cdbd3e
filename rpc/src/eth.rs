//! `eth_*` reads of chain data, state and fees, and `eth_sendRawTransaction`.

use super::{
    blocking,
    convert::{self, BlockReceipts, TxPlace},
    error::{internal_error, invalid_params, server_error},
    method, Args, MethodResult, Module, RpcContext,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, B256, U256, U64};
use alloy_rpc_types_eth::{EIP1186AccountProofResponse, EIP1186StorageProof, FeeHistory};
use alloy_serde::storage::JsonStorageKey;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use jsonrpsee::core::RegisterMethodError;
use serde_json::{json, Value};
use std::sync::Arc;
use veil_primitives::{RecoveredTx, Transaction};
use veil_storage::StateReader;

/// The tip suggested on chains that charge gas (geth's default floor, 1 gwei).
const SUGGESTED_TIP: u128 = 1_000_000_000;
/// Most blocks one `eth_feeHistory` call covers (geth's limit).
const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;

/// A stored block with what the RPC shapes need.
pub(crate) struct LoadedBlock {
    pub(crate) hash: B256,
    pub(crate) block: veil_primitives::Block,
    pub(crate) senders: Vec<Address>,
}

impl RpcContext {
    pub(crate) fn load_block(&self, id: BlockId) -> MethodResult<Option<LoadedBlock>> {
        let Some((hash, _)) = self.header_of(id)? else { return Ok(None) };
        let store = self.chain.store();
        let Some(block) = store.block(hash).map_err(internal_error)? else { return Ok(None) };
        let senders = store.senders(hash).map_err(internal_error)?.unwrap_or_default();
        Ok(Some(LoadedBlock { hash, block, senders }))
    }

    fn block_json(&self, id: BlockId, full: bool) -> MethodResult<Value> {
        match self.load_block(id)? {
            Some(loaded) => block_value(&loaded, full),
            None => Ok(Value::Null),
        }
    }

    fn transaction_count_in(&self, id: BlockId) -> MethodResult<Option<U64>> {
        Ok(self.load_block(id)?.map(|b| U64::from(b.block.body.transactions.len())))
    }

    fn transaction_at(&self, id: BlockId, index: U64) -> MethodResult<Value> {
        let Some(LoadedBlock { hash, block, senders }) = self.load_block(id)? else {
            return Ok(Value::Null);
        };
        let i = index.to::<usize>();
        match (block.body.transactions.get(i), senders.get(i)) {
            (Some(tx), Some(from)) => {
                Ok(convert::transaction(tx, *from, Some(place(hash, &block.header, i))))
            }
            _ => Ok(Value::Null),
        }
    }

    /// A block's transaction at `index` in its EIP-2718 encoding (geth's
    /// `eth_getRawTransactionBy…AndIndex`), or `None`.
    fn raw_transaction_at(&self, id: BlockId, index: U64) -> MethodResult<Option<Bytes>> {
        let Some(LoadedBlock { block, .. }) = self.load_block(id)? else { return Ok(None) };
        let tx = block.body.transactions.get(index.to::<usize>());
        Ok(tx.map(|tx| Bytes::from(tx.encoded_2718())))
    }

    /// A mined or pooled transaction in its EIP-2718 encoding, as geth's
    /// `eth_getRawTransactionByHash`, or `None`.
    fn raw_transaction_by_hash(&self, hash: B256) -> MethodResult<Option<Bytes>> {
        if let Some(location) = self.chain.store().tx_location(hash).map_err(internal_error)? {
            let block = BlockId::Hash(location.block_hash.into());
            return self.raw_transaction_at(block, U64::from(location.index));
        }
        Ok(self.pool.get(&hash).map(|tx| Bytes::from(tx.tx().encoded_2718())))
    }

    /// A block's header as geth's `eth_getHeaderBy…` shows it (the block's fields without
    /// its transactions, uncles and size), or `null`.
    fn header_json(&self, id: BlockId) -> MethodResult<Value> {
        let Some(LoadedBlock { hash, block, .. }) = self.load_block(id)? else {
            return Ok(Value::Null);
        };
        serde_json::to_value(convert::header(hash, block.header, None)).map_err(internal_error)
    }

    fn transaction_by_hash(&self, hash: B256) -> MethodResult<Value> {
        let store = self.chain.store();
        if let Some(location) = store.tx_location(hash).map_err(internal_error)? {
            let block = BlockId::Hash(location.block_hash.into());
            return self.transaction_at(block, U64::from(location.index));
        }
        Ok(match self.pool.get(&hash) {
            Some(tx) => convert::transaction(tx.tx(), tx.sender(), None),
            None => Value::Null,
        })
    }

    /// The receipts of block `id`, shaped by `shape` (all of them, or one).
    fn with_block_receipts<T>(
        &self,
        id: BlockId,
        shape: impl FnOnce(&BlockReceipts<'_>) -> Option<T>,
    ) -> MethodResult<Option<T>> {
        let Some(LoadedBlock { hash, block, senders }) = self.load_block(id)? else {
            return Ok(None);
        };
        let mut receipts =
            self.chain.store().receipts(hash).map_err(internal_error)?.unwrap_or_default();
        self.merge_private_receipts(&block.body.transactions, &mut receipts)?;
        Ok(shape(&BlockReceipts {
            hash,
            header: &block.header,
            transactions: &block.body.transactions,
            senders: &senders,
            receipts: &receipts,
        }))
    }

    /// `eth_syncing`: `false`, unless block import is halted because the transaction manager
    /// cannot answer; then geth's progress object, with the reason.
    fn syncing(&self) -> serde_json::Value {
        let halted = self.halted.borrow().clone();
        match halted {
            None => serde_json::Value::Bool(false),
            Some(reason) => {
                let current = self.chain.head().1.number;
                serde_json::json!({
                    "startingBlock": U64::from(current),
                    "currentBlock": U64::from(current),
                    "highestBlock": U64::from(current + 1),
                    "haltedReason": reason,
                })
            }
        }
    }

    /// On a party, a private transaction's receipt shows its private run (status, logs), as
    /// GoQuorum's `MergeReceipts` does; the public receipt's gas stays.
    pub(crate) fn merge_private_receipts(
        &self,
        transactions: &[Transaction],
        receipts: &mut [veil_primitives::Receipt],
    ) -> MethodResult<()> {
        if !self.chain.runs_private_transactions() {
            return Ok(());
        }
        for (tx, receipt) in transactions.iter().zip(receipts.iter_mut()) {
            if !tx.is_private() {
                continue;
            }
            if let Some((private, _)) =
                self.chain.store().private_receipt(tx.hash()).map_err(internal_error)?
            {
                *receipt = veil_chain::merged_receipt(receipt, &private);
            }
        }
        Ok(())
    }

    fn block_receipts(
        &self,
        id: BlockId,
    ) -> MethodResult<Option<Vec<alloy_rpc_types_eth::TransactionReceipt>>> {
        self.with_block_receipts(id, |block| Some(block.all()))
    }

    pub(crate) fn receipt(
        &self,
        hash: B256,
    ) -> MethodResult<Option<alloy_rpc_types_eth::TransactionReceipt>> {
        let Some(location) = self.chain.store().tx_location(hash).map_err(internal_error)? else {
            return Ok(None);
        };
        let block = BlockId::Hash(location.block_hash.into());
        self.with_block_receipts(block, |block| block.nth(location.index as usize))
    }

    fn send_raw_transaction(&self, raw: &Bytes) -> MethodResult<B256> {
        let tx = Transaction::decode_2718_exact(raw)
            .map_err(|e| invalid_params(format!("invalid raw transaction: {e}")))?;
        let tx = RecoveredTx::try_new(tx)
            .map_err(|e| invalid_params(format!("invalid transaction signature: {e}")))?;
        self.submit(tx)
    }

    /// Adds a signed transaction to the pool (geth's errors are the pool's).
    pub(crate) fn submit(&self, tx: RecoveredTx) -> MethodResult<B256> {
        let (_, head) = self.chain.head();
        self.pool.add(tx, &self.chain.latest_state(), &head).map_err(server_error)
    }

    fn transaction_count(&self, address: Address, id: Option<BlockId>) -> MethodResult<U64> {
        if matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            let state = self.chain.latest_state();
            return self
                .pool
                .pending_nonce_in(address, &state)
                .map(U64::from)
                .map_err(internal_error);
        }
        let (_, state) = self.state_at(id)?;
        let nonce = state.account(address).map_err(internal_error)?.map_or(0, |a| a.nonce);
        Ok(U64::from(nonce))
    }

    /// The next nonce of `address` counting its pooled transactions.
    pub(crate) fn pending_nonce(&self, address: Address) -> MethodResult<u64> {
        self.transaction_count(address, Some(BlockId::Number(BlockNumberOrTag::Pending)))
            .map(|n| n.to())
    }

    /// geth's tip suggestion: 0 on a gas-free network, else 1 gwei.
    pub(crate) fn suggested_tip(&self) -> u128 {
        if self.chain.spec().is_gas_free() {
            0
        } else {
            SUGGESTED_TIP
        }
    }

    /// The base fee of the next block, if the chain has one.
    pub(crate) fn next_base_fee(&self) -> Option<u64> {
        let (_, head) = self.chain.head();
        self.chain.spec().next_base_fee(&head, head.number + 1, head.timestamp)
    }

    /// The blob base fee at the head (EIP-4844), as geth's `eth_blobBaseFee`.
    fn blob_base_fee(&self) -> MethodResult<U256> {
        let (_, head) = self.chain.head();
        let params = self.chain.spec().blob_params(head.number, head.timestamp);
        match (params, head.excess_blob_gas) {
            (Some(params), Some(excess)) => Ok(U256::from(params.calc_blob_fee(excess))),
            _ => Err(server_error("the head block is before Cancun: there is no blob base fee")),
        }
    }

    fn gas_price(&self) -> u128 {
        u128::from(self.next_base_fee().unwrap_or_default()) + self.suggested_tip()
    }

    fn proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        id: Option<BlockId>,
    ) -> MethodResult<EIP1186AccountProofResponse> {
        let id = id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest));
        let (_, header) = self.header_of(id)?.ok_or_else(|| server_error("header not found"))?;
        let slots: Vec<B256> = keys.iter().map(|k| k.as_b256()).collect();
        let proof =
            self.chain.state().proof(header.state_root, address, &slots).map_err(internal_error)?;
        let account = proof.account.unwrap_or_default();
        let exists = proof.account.is_some();
        Ok(EIP1186AccountProofResponse {
            address,
            balance: account.balance,
            code_hash: if exists { account.code_hash } else { KECCAK_EMPTY },
            nonce: account.nonce,
            storage_hash: if exists { account.storage_root } else { EMPTY_ROOT_HASH },
            account_proof: proof.account_proof,
            storage_proof: proof
                .storage
                .into_iter()
                .zip(keys)
                .map(|(slot, key)| EIP1186StorageProof {
                    key,
                    value: slot.value,
                    proof: slot.proof,
                })
                .collect(),
        })
    }

    fn fee_history(
        &self,
        count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> MethodResult<FeeHistory> {
        if let Some(p) = &percentiles {
            let ordered = p.windows(2).all(|w| w[0] <= w[1]);
            if !ordered || p.iter().any(|x| !(0.0..=100.0).contains(x)) {
                return Err(invalid_params(
                    "invalid reward percentiles: must be ascending in [0, 100]",
                ));
            }
        }
        let Some((_, newest)) = self.header_of(BlockId::Number(newest))? else {
            return Err(server_error("header not found"));
        };
        let count = count.to::<u64>().min(MAX_FEE_HISTORY_BLOCKS).min(newest.number + 1);
        let oldest = newest.number + 1 - count;
        let mut history = FeeHistory { oldest_block: oldest, ..Default::default() };
        let mut rewards = Vec::new();
        let mut last = None;
        for number in oldest..=newest.number {
            let Some((hash, header)) = self.header_of(BlockId::Number(number.into()))? else {
                return Err(server_error("header not found"));
            };
            history.base_fee_per_gas.push(u128::from(header.base_fee_per_gas.unwrap_or_default()));
            history.gas_used_ratio.push(header.gas_used as f64 / header.gas_limit.max(1) as f64);
            if let Some(p) = &percentiles {
                rewards.push(self.block_rewards(hash, &header, p)?);
            }
            last = Some(header);
        }
        if let Some(last) = last {
            let next = self.chain.spec().next_base_fee(&last, last.number + 1, last.timestamp);
            history.base_fee_per_gas.push(u128::from(next.unwrap_or_default()));
        }
        history.reward = percentiles.map(|_| rewards);
        Ok(history)
    }

    /// The effective tips at `percentiles` of the block's gas, as geth computes them.
    fn block_rewards(
        &self,
        hash: B256,
        header: &alloy_consensus::Header,
        percentiles: &[f64],
    ) -> MethodResult<Vec<u128>> {
        let store = self.chain.store();
        let receipts = store.receipts(hash).map_err(internal_error)?.unwrap_or_default();
        let transactions = store.transactions(hash).map_err(internal_error)?.unwrap_or_default();
        let base_fee = header.base_fee_per_gas;
        let mut previous = 0;
        let mut tips: Vec<(u128, u64)> = transactions
            .iter()
            .zip(&receipts)
            .map(|(tx, receipt)| {
                let cumulative = receipt.cumulative_gas_used();
                let used = cumulative - previous;
                previous = cumulative;
                let tip = tx.fields().effective_tip_per_gas(base_fee.unwrap_or_default());
                (tip.unwrap_or_default(), used)
            })
            .collect();
        if tips.is_empty() {
            return Ok(vec![0; percentiles.len()]);
        }
        tips.sort_unstable();
        let total: u64 = tips.iter().map(|(_, used)| used).sum();
        let mut out = Vec::with_capacity(percentiles.len());
        let (mut i, mut sum) = (0, tips[0].1);
        for p in percentiles {
            let threshold = (total as f64 * p / 100.0) as u64;
            while sum < threshold && i < tips.len() - 1 {
                i += 1;
                sum += tips[i].1;
            }
            out.push(tips[i].0);
        }
        Ok(out)
    }
}

/// A block as geth shows it: the header, transaction hashes (or the transactions, `full`), no
/// uncles, and the withdrawals list from Shanghai on.
pub(crate) fn block_value(loaded: &LoadedBlock, full: bool) -> MethodResult<Value> {
    let LoadedBlock { hash, block, senders } = loaded;
    let size = alloy_rlp::Encodable::length(block);
    let header = &block.header;
    let transactions: Vec<Value> = if full {
        block
            .body
            .transactions
            .iter()
            .zip(senders)
            .enumerate()
            .map(|(i, (tx, from))| convert::transaction(tx, *from, Some(place(*hash, header, i))))
            .collect()
    } else {
        block.body.transactions.iter().map(|tx| json!(tx.hash())).collect()
    };
    let mut value = serde_json::to_value(convert::header(*hash, header.clone(), Some(size)))
        .map_err(internal_error)?;
    value["uncles"] = json!([]);
    value["transactions"] = Value::Array(transactions);
    if header.withdrawals_root.is_some() {
        value["withdrawals"] = json!([]);
    }
    Ok(value)
}

fn place(block_hash: B256, header: &alloy_consensus::Header, index: usize) -> TxPlace {
    TxPlace {
        block_hash,
        block_number: header.number,
        index: index as u64,
        base_fee: header.base_fee_per_gas,
    }
}

fn storage_key(args: &Args, index: usize) -> MethodResult<JsonStorageKey> {
    args.required::<JsonStorageKey>(index)
}

/// The `eth_*` reads and raw submission.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let revert_reason = context.revert_reason;
    let mut m = Module::from_arc(context);
    method(&mut m, "eth_chainId", |c, _| Ok(U64::from(c.chain.spec().chain_id())))?;
    method(&mut m, "eth_blockNumber", |c, _| Ok(U64::from(c.chain.head().1.number)))?;
    method(&mut m, "eth_syncing", |c, _| Ok(c.syncing()))?;
    method(&mut m, "eth_mining", |_, _| Ok(true))?;
    method(&mut m, "eth_hashrate", |_, _| Ok(U64::ZERO))?;
    method(&mut m, "eth_gasPrice", |c, _| Ok(U256::from(c.gas_price())))?;
    method(&mut m, "eth_blobBaseFee", |c, a| {
        a.at_most(0)?;
        c.blob_base_fee()
    })?;
    method(&mut m, "eth_maxPriorityFeePerGas", |c, _| Ok(U256::from(c.suggested_tip())))?;
    blocking(&mut m, "eth_feeHistory", |c, a| {
        c.fee_history(a.required(0)?, a.required(1)?, a.optional(2)?)
    })?;
    method(&mut m, "eth_accounts", |c, _| Ok(c.accounts.addresses()))?;
    method(&mut m, "eth_coinbase", |c, _| Ok(c.etherbase))?;
    method(&mut m, "eth_getBalance", |c, a| {
        let (_, state) = c.state_at(a.at_most(2)?.optional(1)?)?;
        let account = state.account(a.required(0)?).map_err(internal_error)?;
        Ok(account.map_or(U256::ZERO, |a| a.balance))
    })?;
    method(&mut m, "eth_getTransactionCount", |c, a| {
        c.transaction_count(a.at_most(2)?.required(0)?, a.optional(1)?)
    })?;
    method(&mut m, "eth_getCode", |c, a| {
        let (_, state) = c.state_at(a.at_most(2)?.optional(1)?)?;
        let Some(account) = state.account(a.required(0)?).map_err(internal_error)? else {
            return Ok(Bytes::new());
        };
        Ok(state.code(account.code_hash).map_err(internal_error)?.unwrap_or_default())
    })?;
    method(&mut m, "eth_getStorageAt", |c, a| {
        let slot = storage_key(a.at_most(3)?, 1)?;
        let (_, state) = c.state_at(a.optional(2)?)?;
        let value = state.storage(a.required(0)?, slot.as_b256().into()).map_err(internal_error)?;
        Ok(B256::from(value))
    })?;
    // GoQuorum's: the account's storage root, from private state for a private contract.
    method(&mut m, "eth_storageRoot", |c, a| {
        let (_, state) = c.state_at(a.at_most(2)?.optional(1)?)?;
        let account = state.account(a.required(0)?).map_err(internal_error)?;
        Ok(account.map_or(alloy_trie::EMPTY_ROOT_HASH, |account| account.storage_root))
    })?;
    blocking(&mut m, "eth_getProof", |c, a| {
        c.proof(a.at_most(3)?.required(0)?, a.required(1)?, a.optional(2)?)
    })?;
    method(&mut m, "eth_getBlockByNumber", |c, a| {
        let tag: BlockNumberOrTag = a.at_most(2)?.required(0)?;
        c.block_json(BlockId::Number(tag), a.optional(1)?.unwrap_or(false))
    })?;
    method(&mut m, "eth_getBlockByHash", |c, a| {
        let hash: B256 = a.at_most(2)?.required(0)?;
        c.block_json(BlockId::Hash(hash.into()), a.optional(1)?.unwrap_or(false))
    })?;
    method(&mut m, "eth_getBlockTransactionCountByNumber", |c, a| {
        c.transaction_count_in(BlockId::Number(a.required(0)?))
    })?;
    method(&mut m, "eth_getBlockTransactionCountByHash", |c, a| {
        c.transaction_count_in(BlockId::Hash(a.required::<B256>(0)?.into()))
    })?;
    method(&mut m, "eth_getUncleCountByBlockNumber", |_, _| Ok(U64::ZERO))?;
    method(&mut m, "eth_getUncleCountByBlockHash", |_, _| Ok(U64::ZERO))?;
    // No block has uncles (Raft and QBFT seal one block per height): geth's answer for an
    // index past a block's uncles, or an unknown block, is null.
    method(&mut m, "eth_getUncleByBlockNumberAndIndex", |_, a| {
        a.at_most(2)?.required::<BlockNumberOrTag>(0)?;
        a.required::<U64>(1)?;
        Ok(Value::Null)
    })?;
    method(&mut m, "eth_getUncleByBlockHashAndIndex", |_, a| {
        a.at_most(2)?.required::<B256>(0)?;
        a.required::<U64>(1)?;
        Ok(Value::Null)
    })?;
    method(&mut m, "eth_getTransactionByHash", |c, a| c.transaction_by_hash(a.required(0)?))?;
    method(&mut m, "eth_getTransactionByBlockNumberAndIndex", |c, a| {
        c.transaction_at(BlockId::Number(a.required(0)?), a.required(1)?)
    })?;
    method(&mut m, "eth_getTransactionByBlockHashAndIndex", |c, a| {
        c.transaction_at(BlockId::Hash(a.required::<B256>(0)?.into()), a.required(1)?)
    })?;
    method(&mut m, "eth_getRawTransactionByHash", |c, a| {
        c.raw_transaction_by_hash(a.at_most(1)?.required(0)?)
    })?;
    method(&mut m, "eth_getRawTransactionByBlockNumberAndIndex", |c, a| {
        c.raw_transaction_at(BlockId::Number(a.at_most(2)?.required(0)?), a.required(1)?)
    })?;
    method(&mut m, "eth_getRawTransactionByBlockHashAndIndex", |c, a| {
        c.raw_transaction_at(
            BlockId::Hash(a.at_most(2)?.required::<B256>(0)?.into()),
            a.required(1)?,
        )
    })?;
    method(&mut m, "eth_getHeaderByNumber", |c, a| {
        c.header_json(BlockId::Number(a.at_most(1)?.required(0)?))
    })?;
    method(&mut m, "eth_getHeaderByHash", |c, a| {
        c.header_json(BlockId::Hash(a.at_most(1)?.required::<B256>(0)?.into()))
    })?;
    if revert_reason {
        super::async_method(&mut m, "eth_getTransactionReceipt", |c, a| async move {
            c.receipt_with_revert_reason(a.at_most(1)?.required(0)?).await
        })?;
    } else {
        method(&mut m, "eth_getTransactionReceipt", |c, a| c.receipt(a.required(0)?))?;
    }
    method(&mut m, "eth_getBlockReceipts", |c, a| c.block_receipts(a.required(0)?))?;
    method(&mut m, "eth_sendRawTransaction", |c, a| {
        c.send_raw_transaction(&a.at_most(1)?.required(0)?)
    })?;
    super::async_method(&mut m, "eth_sendRawPrivateTransaction", |c, a| async move {
        c.send_raw_private(&a.at_most(2)?.required(0)?, a.required(1)?).await
    })?;
    super::async_method(&mut m, "eth_fillTransaction", |c, a| async move {
        RpcContext::fill(c, a.at_most(1)?.required(0)?).await
    })?;
    super::async_method(&mut m, "eth_getQuorumPayload", |c, a| async move {
        c.quorum_payload(&a.at_most(1)?.required::<String>(0)?).await
    })?;
    super::async_method(&mut m, "eth_getContractPrivacyMetadata", |c, a| async move {
        c.contract_privacy_metadata(a.at_most(1)?.required(0)?).await
    })?;
    Ok(m)
}
