//! Logs and polling filters: `eth_getLogs`, `eth_newFilter`, `eth_newBlockFilter`,
//! `eth_newPendingTransactionFilter`, `eth_getFilterChanges`, `eth_getFilterLogs`,
//! `eth_uninstallFilter`. A filter not polled for five minutes is removed, as in geth. At most
//! `--rpc.max-filters` are installed at once (geth has no bound: 300,000 filters once took a
//! node from 43 to 207 MB for the five minutes they lived); one more is refused with a message
//! that says so, until some are uninstalled or expire.

use super::{
    blocking,
    convert::block_logs,
    error::{internal_error, invalid_params, server_error},
    method, MethodResult, Module, RpcContext,
};
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, Log};
use jsonrpsee::core::RegisterMethodError;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::broadcast::{error::RecvError, Receiver};

/// How long an unpolled filter lives (geth: 5 minutes).
pub(crate) const FILTER_TIMEOUT: Duration = Duration::from_secs(300);
/// Most logs one query returns; a wider query is refused with a message saying so.
pub(crate) const MAX_LOGS: usize = 10_000;
/// Most pending hashes a filter buffers between polls.
const MAX_PENDING_BUFFER: usize = 4096;

enum FilterKind {
    Logs { filter: Box<Filter>, next_block: u64 },
    Blocks { next_block: u64 },
    PendingTransactions { hashes: Vec<B256> },
}

struct Installed {
    kind: FilterKind,
    last_poll: Instant,
}

/// The installed filters, shared by every transport.
#[derive(Clone)]
pub struct FilterStore {
    filters: Arc<Mutex<HashMap<String, Installed>>>,
    max: usize,
}

impl Default for FilterStore {
    fn default() -> Self {
        Self::new(super::server::Limits::default().max_filters as usize)
    }
}

impl std::fmt::Debug for FilterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterStore").field("installed", &self.filters.lock().len()).finish()
    }
}

/// A fresh id in geth's form: `0x` and 32 hex digits.
pub(crate) fn new_id() -> String {
    format!("0x{}", alloy_primitives::hex::encode(rand::random::<[u8; 16]>()))
}

impl FilterStore {
    /// An empty store that holds at most `max` filters.
    pub fn new(max: usize) -> Self {
        Self { filters: Default::default(), max }
    }

    fn install(&self, kind: FilterKind) -> MethodResult<String> {
        let mut filters = self.filters.lock();
        if filters.len() >= self.max {
            return Err(server_error(format!(
                "too many filters: this node keeps at most {} (--rpc.max-filters); uninstall some with eth_uninstallFilter or let unpolled ones expire (5 minutes)",
                self.max
            )));
        }
        let id = new_id();
        filters.insert(id.clone(), Installed { kind, last_poll: Instant::now() });
        Ok(id)
    }

    fn expire(&self) {
        self.filters.lock().retain(|_, f| f.last_poll.elapsed() < FILTER_TIMEOUT);
    }

    /// Feeds pending-transaction filters from the pool and removes filters nobody polls, until
    /// the pool's channel closes.
    pub async fn run(self, mut pending: Receiver<B256>) {
        let mut sweep = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                received = pending.recv() => match received {
                    Ok(hash) => {
                        for f in self.filters.lock().values_mut() {
                            if let FilterKind::PendingTransactions { hashes } = &mut f.kind {
                                if hashes.len() < MAX_PENDING_BUFFER {
                                    hashes.push(hash);
                                }
                            }
                        }
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
                _ = sweep.tick() => self.expire(),
            }
        }
    }
}

impl RpcContext {
    fn block_number_of(&self, tag: Option<BlockNumberOrTag>, head: u64) -> u64 {
        match tag {
            Some(BlockNumberOrTag::Number(n)) => n,
            Some(BlockNumberOrTag::Earliest) => 0,
            _ => head,
        }
    }

    /// The logs of blocks `from..=to` matching `filter`, using each header's bloom to skip
    /// blocks.
    fn logs_in_range(&self, filter: &Filter, from: u64, to: u64) -> MethodResult<Vec<Log>> {
        let store = self.chain.store();
        let mut found = Vec::new();
        for number in from..=to {
            let Some(hash) = store.canonical_hash(number).map_err(internal_error)? else { break };
            found.extend(self.logs_in_block(filter, hash)?);
            if found.len() > MAX_LOGS {
                return Err(server_error(format!(
                    "query returned more than {MAX_LOGS} results; narrow the block range or the filter"
                )));
            }
        }
        Ok(found)
    }

    fn logs_in_block(&self, filter: &Filter, hash: B256) -> MethodResult<Vec<Log>> {
        let store = self.chain.store();
        let Some(header) = store.header(hash).map_err(internal_error)? else {
            return Err(server_error("unknown block"));
        };
        // Private logs are not in the header's bloom: a block with private transactions is
        // looked into on a node that runs them.
        let private = self.chain.runs_private_transactions();
        if !private && !filter.matches_bloom(header.logs_bloom) {
            return Ok(Vec::new());
        }
        let txs = store.transactions(hash).map_err(internal_error)?.unwrap_or_default();
        if private
            && !txs.iter().any(veil_primitives::Transaction::is_private)
            && !filter.matches_bloom(header.logs_bloom)
        {
            return Ok(Vec::new());
        }
        let mut receipts = store.receipts(hash).map_err(internal_error)?.unwrap_or_default();
        self.merge_private_receipts(&txs, &mut receipts)?;
        let tx_hashes: Vec<B256> = txs.iter().map(veil_primitives::Transaction::hash).collect();
        Ok(block_logs(hash, header.number, header.timestamp, &tx_hashes, &receipts)
            .into_iter()
            .flatten()
            .filter(|log| filter.matches(&log.inner))
            .collect())
    }

    fn logs(&self, filter: &Filter) -> MethodResult<Vec<Log>> {
        match filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => self.logs_in_block(filter, hash),
            FilterBlockOption::Range { from_block, to_block } => {
                let head = self.chain.head().1.number;
                let from = self.block_number_of(from_block, head);
                let to = self.block_number_of(to_block, head).min(head);
                if from > to && to_block.is_some() && from_block.is_some() {
                    return Err(invalid_params("invalid block range params"));
                }
                self.logs_in_range(filter, from, to)
            }
        }
    }

    fn new_log_filter(&self, filter: Filter) -> MethodResult<String> {
        if let FilterBlockOption::Range { from_block: Some(f), to_block: Some(t) } =
            filter.block_option
        {
            if let (Some(f), Some(t)) = (f.as_number(), t.as_number()) {
                if f > t {
                    return Err(invalid_params("invalid block range params"));
                }
            }
        }
        let head = self.chain.head().1.number;
        let next_block = match filter.block_option {
            FilterBlockOption::Range { from_block: Some(BlockNumberOrTag::Number(n)), .. } => n,
            _ => head + 1,
        };
        self.filters.install(FilterKind::Logs { filter: Box::new(filter), next_block })
    }

    fn filter_changes(&self, id: &str) -> MethodResult<Value> {
        let head = self.chain.head().1.number;
        let mut filters = self.filters.filters.lock();
        let installed = filters.get_mut(id).ok_or_else(|| server_error("filter not found"))?;
        installed.last_poll = Instant::now();
        match &mut installed.kind {
            FilterKind::PendingTransactions { hashes } => Ok(json!(std::mem::take(hashes))),
            FilterKind::Blocks { next_block } => {
                let from = *next_block;
                *next_block = head + 1;
                drop(filters);
                let store = self.chain.store();
                let mut hashes = Vec::new();
                for n in from..=head {
                    if let Some(hash) = store.canonical_hash(n).map_err(internal_error)? {
                        hashes.push(hash);
                    }
                }
                Ok(json!(hashes))
            }
            FilterKind::Logs { filter, next_block } => {
                let (filter, from) = (filter.as_ref().clone(), *next_block);
                let to = match filter.block_option.get_to_block() {
                    Some(BlockNumberOrTag::Number(n)) => (*n).min(head),
                    _ => head,
                };
                *next_block = to + 1;
                drop(filters);
                if from > to {
                    return Ok(json!([]));
                }
                Ok(json!(self.logs_in_range(&filter, from, to)?))
            }
        }
    }

    fn filter_logs(&self, id: &str) -> MethodResult<Vec<Log>> {
        let filter = {
            let mut filters = self.filters.filters.lock();
            let installed = filters.get_mut(id).ok_or_else(|| server_error("filter not found"))?;
            installed.last_poll = Instant::now();
            match &installed.kind {
                FilterKind::Logs { filter, .. } => filter.as_ref().clone(),
                _ => return Err(server_error("filter not found")),
            }
        };
        self.logs(&filter)
    }
}

/// The filter family of `eth_*`.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    blocking(&mut m, "eth_getLogs", |c, a| c.logs(&a.at_most(1)?.required(0)?))?;
    method(&mut m, "eth_newFilter", |c, a| c.new_log_filter(a.at_most(1)?.required(0)?))?;
    method(&mut m, "eth_newBlockFilter", |c, _| {
        let next_block = c.chain.head().1.number + 1;
        c.filters.install(FilterKind::Blocks { next_block })
    })?;
    method(&mut m, "eth_newPendingTransactionFilter", |c, _| {
        c.filters.install(FilterKind::PendingTransactions { hashes: Vec::new() })
    })?;
    blocking(&mut m, "eth_getFilterChanges", |c, a| {
        c.filter_changes(&a.at_most(1)?.required::<String>(0)?)
    })?;
    blocking(&mut m, "eth_getFilterLogs", |c, a| {
        c.filter_logs(&a.at_most(1)?.required::<String>(0)?)
    })?;
    method(&mut m, "eth_uninstallFilter", |c, a| {
        let id: String = a.at_most(1)?.required(0)?;
        Ok(c.filters.filters.lock().remove(&id).is_some())
    })?;
    Ok(m)
}
