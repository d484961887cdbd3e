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

/// The state after some block: flat tables for the head, tries for the past. On a node that
/// runs private transactions, the private state over the public one, as private contracts
/// see it: an account is looked up in private state first (GoQuorum's `getDualState`).
#[derive(Clone)]
pub(crate) enum StateAt {
    Latest(LatestState),
    Historic(HistoricState),
    Dual { private: Box<StateAt>, public: Box<StateAt> },
}

impl StateReader for StateAt {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, StorageError> {
        match self {
            StateAt::Latest(state) => state.account(address),
            StateAt::Historic(state) => state.account(address),
            StateAt::Dual { private, public } => match private.account(address)? {
                Some(account) => Ok(Some(account)),
                None => public.account(address),
            },
        }
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StorageError> {
        match self {
            StateAt::Latest(state) => state.storage(address, slot),
            StateAt::Historic(state) => state.storage(address, slot),
            StateAt::Dual { private, public } => {
                if private.account(address)?.is_some() {
                    private.storage(address, slot)
                } else {
                    public.storage(address, slot)
                }
            }
        }
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, StorageError> {
        match self {
            StateAt::Latest(state) => state.code(code_hash),
            StateAt::Historic(state) => state.code(code_hash),
            StateAt::Dual { private, public } => match private.code(code_hash)? {
                Some(code) => Ok(Some(code)),
                None => public.code(code_hash),
            },
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
                let public = StateAt::Latest(self.chain.state().latest(StateNamespace::PUBLIC));
                if !self.chain.runs_private_transactions() {
                    return Ok((head, public));
                }
                let private = StateAt::Latest(self.chain.state().latest(StateNamespace::PRIVATE));
                return Ok((
                    head,
                    StateAt::Dual { private: private.into(), public: public.into() },
                ));
            }
        }
        let (hash, header) = self.header_of(id)?.ok_or_else(|| server_error("header not found"))?;
        let public = StateAt::Historic(self.chain.state().at_root(header.state_root));
        let private_root = if self.chain.runs_private_transactions() {
            self.chain.store().private_root(hash).map_err(internal_error)?
        } else {
            None
        };
        let state = match private_root {
            Some(root) => StateAt::Dual {
                private: StateAt::Historic(self.chain.state().at_root(root)).into(),
                public: public.into(),
            },
            None => public,
        };
        Ok((header, state))
    }

    /// This node's private state root after block `id` (`debug_privateStateRoot`).
    pub(crate) fn private_state_root(&self, id: BlockId) -> MethodResult<B256> {
        let (hash, _) = self.header_of(id)?.ok_or_else(|| server_error("header not found"))?;
        self.chain
            .store()
            .private_root(hash)
            .map_err(internal_error)?
            .ok_or_else(|| server_error("no private state root for this block: this node runs no private transactions, or did not then"))
    }
}
