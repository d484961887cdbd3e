//! An in-process Raft cluster, in the style of raft-rs's `harness/src/network.rs`: N members
//! in this test process, each a chain engine (as `veil` assembles it, on its own in-memory
//! store) driven by the Raft engine, over `veil_p2p::memory`'s network, whose links a test
//! cuts, isolates, drops, delays and recovers. No ports, no processes; the test waits for
//! conditions with deadlines. A member can be killed (its tasks stop, its memory is gone, its
//! store stays, as after kill -9) and restarted on the same store. A private cluster gives
//! each member its own real `veil-tm` ([`veil_testkit::tm::TmProcess`]), which a test can
//! pause to see one member's TM outage.

#![allow(dead_code, unreachable_pub)]

pub mod qbft;

use alloy_primitives::{keccak256, Address, B256};
use std::{sync::Arc, time::Duration};
use tokio::{sync::watch, task::JoinHandle};
use veil_node::{
    dev::dev_chain_spec,
    ptm::{Ptm, PtmConfig},
    raft::{RaftHandle, RaftSetup},
    Chain, TxPool,
};
use veil_p2p::{memory::MemoryNetwork, Enode, NodeKey, PeerId};
use veil_primitives::RecoveredTx;
use veil_storage::{InMemoryKv, KvStore};
use veil_testkit::tm::TmProcess;

/// A signed transfer of `1 + nonce` wei from dev account `sender`.
pub fn transfer(sender: usize, nonce: u64) -> RecoveredTx {
    RecoveredTx::try_new(crate::support::dev_transfer(sender, nonce)).expect("a valid signature")
}

/// `n` node keys made from their index, and their enodes on the in-memory network (ports
/// 30000 and up, which nothing listens on).
pub fn keys_and_enodes(n: usize) -> (Vec<NodeKey>, Vec<Enode>) {
    let keys: Vec<NodeKey> = (0..n)
        .map(|i| {
            let secret = keccak256(format!("veil harness member {i}"));
            NodeKey::from_hex(&alloy_primitives::hex::encode(secret)).expect("a valid key")
        })
        .collect();
    let enodes = keys
        .iter()
        .enumerate()
        .map(|(i, key)| Enode {
            public: key.public(),
            host: "127.0.0.1".into(),
            port: 30_000 + i as u16,
            raft_port: None,
        })
        .collect();
    (keys, enodes)
}

/// One running member.
pub struct Member {
    pub chain: Arc<Chain>,
    pub pool: Arc<TxPool>,
    pub raft: RaftHandle,
    /// Its TM client, in a private cluster.
    pub ptm: Option<Arc<Ptm>>,
    /// Why its import is halted, while it is.
    pub halted: watch::Receiver<Option<String>>,
    shutdown: watch::Sender<bool>,
    /// The raft task: it ends only on shutdown or on an error.
    raft_task: JoinHandle<eyre::Result<()>>,
    services: Vec<JoinHandle<()>>,
}

/// The cluster.
pub struct Cluster {
    pub network: MemoryNetwork,
    /// What drives the network's random drops.
    pub seed: u64,
    keys: Vec<NodeKey>,
    enodes: Vec<Enode>,
    stores: Vec<Arc<dyn KvStore>>,
    members: Vec<Option<Member>>,
    /// One TM per member in a private cluster; empty otherwise.
    pub tms: Vec<TmProcess>,
    _tm_root: Option<tempfile::TempDir>,
}

/// How long a member waits for one answer of its TM: short, so an outage shows quickly.
pub const TM_TIMEOUT: Duration = Duration::from_secs(1);

impl Cluster {
    /// `n` members on a dev chain, all started; the seed comes from `VEIL_HARNESS_SEED` or
    /// the clock, and is printed.
    pub async fn start(n: usize) -> Self {
        Self::start_with(n, false).await
    }

    /// As [`Cluster::start`], each member with its own `veil-tm`, the TMs peered and knowing
    /// each other's keys before the members start.
    pub async fn start_private(n: usize) -> Self {
        Self::start_with(n, true).await
    }

    async fn start_with(n: usize, private: bool) -> Self {
        let seed = std::env::var("VEIL_HARNESS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        println!("harness seed: {seed} (VEIL_HARNESS_SEED={seed} repeats it)");
        let (keys, enodes) = keys_and_enodes(n);
        let stores = (0..n)
            .map(|_| {
                let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
                Chain::init(&kv, &dev_chain_spec()).expect("genesis");
                kv
            })
            .collect();
        let (tms, tm_root) = if private { start_tms(n).await } else { (Vec::new(), None) };
        let mut cluster = Self {
            network: MemoryNetwork::new(seed),
            seed,
            keys,
            enodes,
            stores,
            members: (0..n).map(|_| None).collect(),
            tms,
            _tm_root: tm_root,
        };
        for i in 0..n {
            cluster.start_member(i).await;
        }
        cluster
    }

    /// Starts member `i` on its store (it must not be running).
    pub async fn start_member(&mut self, i: usize) {
        assert!(self.members[i].is_none(), "member {i} runs already");
        let kv = self.stores[i].clone();
        let ptm = match self.tms.get(i) {
            Some(tm) => {
                let endpoint = veil_tm_api::TmEndpoint::Unix(tm.socket());
                let config = PtmConfig { endpoint, timeout: TM_TIMEOUT };
                Some(Arc::new(Ptm::connect(config).await.expect("the member's TM answers")))
            }
            None => None,
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let engine =
            veil_node::assemble(kv.clone(), ptm.clone(), Address::ZERO, shutdown_rx.clone())
                .expect("chain engine");
        let halted = engine.handle.halted();
        let mut services = vec![tokio::spawn(async move {
            if let Err(why) = engine.executor.await {
                panic!("the chain executor stopped: {why}");
            }
        })];
        services.extend(engine.prefetch.map(tokio::spawn));
        let setup = RaftSetup {
            network: veil_node::network::NetworkSetup {
                key: self.keys[i].clone(),
                port: self.enodes[i].port,
                static_nodes: self.enodes.clone(),
                permissioned: None,
            },
            join_existing: None,
            block_time: Duration::from_millis(50),
        };
        let p2p = self.network.join(&self.keys[i]);
        let started = veil_node::raft::start_on(setup, p2p, engine.handle, kv, shutdown_rx)
            .expect("the raft member starts");
        services.extend(started.services.into_iter().map(|(_, service)| tokio::spawn(service)));
        self.members[i] = Some(Member {
            chain: engine.chain,
            pool: engine.pool,
            raft: started.handle,
            ptm,
            halted,
            shutdown,
            raft_task: started.task,
            services,
        });
    }

    /// Kills member `i`: every task stops at once and its memory is gone (pool, gossip
    /// queues, caches); its store keeps what was written, as after kill -9.
    pub async fn kill(&mut self, i: usize) {
        let member = self.members[i].take().expect("member runs");
        member.raft_task.abort();
        for task in &member.services {
            task.abort();
        }
        let _ = member.raft_task.await;
        for task in member.services {
            let _ = task.await;
        }
        // Work already on a blocking thread (an import) finishes before the store is reused.
        let chain = member.chain;
        drop(member.pool);
        drop(member.shutdown);
        let what = format!("member {i}'s last blocking work to end");
        self.wait(&what, 30, |_| Arc::strong_count(&chain) == 1).await;
    }

    /// The running member `i`.
    pub fn member(&self, i: usize) -> &Member {
        self.members[i].as_ref().expect("member runs")
    }

    /// Its peer id on the network.
    pub fn peer(&self, i: usize) -> PeerId {
        self.keys[i].peer_id()
    }

    /// How many members the cluster has.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Member `i`'s raft role ("minter", "verifier", …); `None` when it is not running.
    pub fn role(&self, i: usize) -> Option<&'static str> {
        self.members[i].as_ref().map(|m| m.raft.status.borrow().role)
    }

    /// The running member that leads, if one does.
    pub fn leader(&self) -> Option<usize> {
        (0..self.len()).find(|&i| self.role(i) == Some("minter"))
    }

    /// Member `i`'s head: hash and number.
    pub fn head(&self, i: usize) -> (B256, u64) {
        let (hash, header) = self.member(i).chain.head();
        (hash, header.number)
    }

    /// The canonical hash at `number` on member `i`.
    pub fn hash_at(&self, i: usize, number: u64) -> Option<B256> {
        self.member(i).chain.store().canonical_hash(number).expect("store")
    }

    /// Hands `tx` to member `i` as RPC would; its hash once the pool took it.
    pub fn submit(&self, i: usize, tx: RecoveredTx) -> B256 {
        let member = self.member(i);
        let (_, head) = member.chain.head();
        member.pool.add(tx, &member.chain.latest_state(), &head).expect("the pool takes it")
    }

    /// Sends `payload` privately from member `i`'s TM to the TMs of `parties`, and hands
    /// member `i` the private transaction (from dev account `sender`, with `nonce`) that
    /// carries its hash: a call to an account without code, as web3js-quorum sends one.
    pub async fn send_private(
        &self,
        i: usize,
        parties: &[usize],
        sender: usize,
        nonce: u64,
        payload: &[u8],
    ) -> B256 {
        let to = parties.iter().map(|&p| self.tms[p].key).collect();
        let ptm = self.member(i).ptm.as_ref().expect("a private cluster");
        self.submit(i, private_tx(ptm, to, sender, nonce, payload).await)
    }

    /// Why member `i`'s import is halted, while it is.
    pub fn halted(&self, i: usize) -> Option<String> {
        self.member(i).halted.borrow().clone()
    }

    /// On the leader: whether it heard from member `i` within the last election timeout.
    pub fn leader_sees_active(&self, i: usize) -> bool {
        let Some(leader) = self.leader() else { return false };
        let status = self.member(leader).raft.status.borrow().clone();
        leader == i || status.recently_active.contains(&(i as u64 + 1))
    }

    /// Whether member `i` has `hash` in a block.
    pub fn mined(&self, i: usize, hash: B256) -> bool {
        self.member(i).chain.store().tx_location(hash).expect("store").is_some()
    }

    /// Panics if a running member's raft task has ended (it ends only on an error).
    fn check_alive(&self) {
        for (i, member) in self.members.iter().enumerate() {
            if let Some(member) = member {
                assert!(!member.raft_task.is_finished(), "member {i}'s raft task ended");
            }
        }
    }

    /// Polls `condition` until it holds, checking every member's raft task is alive; panics
    /// naming `what` (and the seed) after `secs`.
    pub async fn wait(&self, what: &str, secs: u64, mut condition: impl FnMut(&Self) -> bool) {
        let what = format!("{what} (seed {})", self.seed);
        veil_testkit::wait_for(&what, Duration::from_secs(secs), || {
            self.check_alive();
            std::future::ready(condition(self))
        })
        .await;
    }

    /// Asserts that the running members agree on every block up to the lowest head.
    pub fn assert_no_fork(&self) {
        let running: Vec<usize> = (0..self.len()).filter(|&i| self.members[i].is_some()).collect();
        let lowest = running.iter().map(|&i| self.head(i).1).min().unwrap_or(0);
        for number in 0..=lowest {
            let first = self.hash_at(running[0], number);
            for &i in &running[1..] {
                assert_eq!(self.hash_at(i, number), first, "fork at block {number} on member {i}");
            }
        }
    }

    /// Stops every member cleanly.
    pub async fn stop(mut self) {
        for i in 0..self.len() {
            if let Some(member) = self.members[i].take() {
                let _ = member.shutdown.send(true);
                let _ = member.raft_task.await;
                for task in member.services {
                    task.abort();
                }
            }
        }
    }
}

/// Sends `payload` through `ptm` to the TMs of `to`, and makes the private transaction (from
/// dev account `sender`, with `nonce`) that carries its hash: a call to an account without
/// code, as web3js-quorum sends one.
pub async fn private_tx(
    ptm: &Ptm,
    to: Vec<veil_primitives::TmPublicKey>,
    sender: usize,
    nonce: u64,
    payload: &[u8],
) -> RecoveredTx {
    let hash = ptm
        .send(payload.to_vec(), None, to, Default::default())
        .await
        .expect("the TM takes the payload");
    let tx = alloy_consensus::TxLegacy {
        chain_id: None,
        nonce,
        gas_price: 0,
        gas_limit: 100_000,
        to: alloy_primitives::TxKind::Call(Address::repeat_byte(0x42)),
        value: alloy_primitives::U256::ZERO,
        input: alloy_primitives::Bytes::copy_from_slice(hash.as_bytes()),
    };
    let signed = veil_primitives::sign_private_transaction(tx, &veil_node::dev::dev_key(sender));
    RecoveredTx::try_new(signed).expect("a valid signature")
}

/// One `veil-tm` per member (the binary beside `veil`), peered with the others, started and
/// knowing every other TM's key.
pub async fn start_tms(n: usize) -> (Vec<TmProcess>, Option<tempfile::TempDir>) {
    let bin = crate::support::veil_tm_bin();
    let root = tempfile::tempdir().expect("a temporary directory");
    let mut tms: Vec<TmProcess> = (0..n)
        .map(|i| TmProcess::new(&bin, root.path(), &format!("tm{i}"), "127.0.0.1", false))
        .collect();
    let urls: Vec<String> = tms.iter().map(|tm| tm.p2p_url.clone()).collect();
    for (i, tm) in tms.iter_mut().enumerate() {
        let peers: Vec<String> =
            urls.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, u)| u.clone()).collect();
        tm.set_peers(&peers);
        tm.spawn();
    }
    for tm in &mut tms {
        let what = format!("{} to come up", tm.name);
        veil_testkit::wait_for(&what, Duration::from_secs(60), || {
            tm.assert_running();
            std::future::ready(tm.is_up())
        })
        .await;
    }
    let keys: Vec<String> = tms.iter().map(|tm| tm.key.to_string()).collect();
    for tm in &tms {
        let url = format!("{}/partyinfo", tm.p2p_url);
        let what = format!("{} to learn every key", tm.name);
        veil_testkit::wait_for(&what, Duration::from_secs(60), || {
            let known = veil_testkit::http::get(&url)
                .is_some_and(|(_, body)| keys.iter().all(|k| body.contains(k.as_str())));
            std::future::ready(known)
        })
        .await;
    }
    (tms, Some(root))
}
