//! Which block a request names, and the state after it. Raft gives instant finality, so
//! "safe" and "finalized" are the head; "pending" reads the head too (the pool's nonces are
//! added where geth adds them).

use super::{
    error::{internal_error, server_error},
    MethodResult, RpcContext,
};
use alloy_consensus::Header;
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_trie::TrieAccount;
use veil_storage::{HistoricState, LatestState, StateNamespace, StateReader, StorageError};

/// The state after some block: flat tables for the head, tries for the past.
#[derive(Clone)]
pub(crate) enum StateAt {
    Latest(LatestState),
    Historic(HistoricState),
}

impl StateReader for StateAt {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, StorageError> {
        match self {
            StateAt::Latest(state) => state.account(address),
            StateAt::Historic(state) => state.account(address),
        }
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StorageError> {
        match self {
            StateAt::Latest(state) => state.storage(address, slot),
            StateAt::Historic(state) => state.storage(address, slot),
        }
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, StorageError> {
        match self {
            StateAt::Latest(state) => state.code(code_hash),
            StateAt::Historic(state) => state.code(code_hash),
        }
    }
}

/// The block a tag names; `None` for the head.
fn tag_number(tag: BlockNumberOrTag) -> Option<u64> {
    match tag {
        BlockNumberOrTag::Earliest => Some(0),
        BlockNumberOrTag::Number(n) => Some(n),
        BlockNumberOrTag::Latest
        | BlockNumberOrTag::Pending
        | BlockNumberOrTag::Safe
        | BlockNumberOrTag::Finalized => None,
    }
}

impl RpcContext {
    /// The hash and header of block `id`, `None` when there is no such block.
    pub(crate) fn header_of(&self, id: BlockId) -> MethodResult<Option<(B256, Header)>> {
        let store = self.chain.store();
        let hash = match id {
            BlockId::Hash(hash) => hash.block_hash,
            BlockId::Number(tag) => match tag_number(tag) {
                None => return Ok(Some(self.chain.head())),
                Some(n) => match store.canonical_hash(n).map_err(internal_error)? {
                    Some(hash) => hash,
                    None => return Ok(None),
                },
            },
        };
        Ok(store.header(hash).map_err(internal_error)?.map(|header| (hash, header)))
    }

    /// The state after block `id` (default: latest) with that block's header; geth's "header
    /// not found" when there is no such block.
    pub(crate) fn state_at(&self, id: Option<BlockId>) -> MethodResult<(Header, StateAt)> {
        let id = id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest));
        if let BlockId::Number(tag) = id {
            if tag_number(tag).is_none() {
                let (_, head) = self.chain.head();
                let state = self.chain.state().latest(StateNamespace::PUBLIC);
                return Ok((head, StateAt::Latest(state)));
            }
        }
        let (_, header) = self.header_of(id)?.ok_or_else(|| server_error("header not found"))?;
        let state = self.chain.state().at_root(header.state_root);
        Ok((header, StateAt::Historic(state)))
    }
}
