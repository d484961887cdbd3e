//! Raft membership: `raft_addPeer` / `raft_addLearner` / `raft_promoteToPeer` /
//! `raft_removePeer` become raft proposals; committed changes update the member list and the
//! p2p peers, and are kept in the chain's meta so a restart knows them.

use super::{Member, RaftCommand, MEMBERS_KEY, REMOVED_KEY};
use std::collections::BTreeMap;
use veil_p2p::Enode;
use veil_storage::{ChainStore, WriteBatch};

impl Member {
    pub(super) fn on_command(&mut self, command: RaftCommand) {
        use veil_consensus::MembershipChange;
        match command {
            RaftCommand::Add { enode, learner, reply } => {
                let answer = if self.members.values().any(|e| e.public == enode.public) {
                    Err("node with this enode is already a member of the cluster".to_string())
                } else {
                    let highest =
                        self.members.keys().chain(&self.removed).max().copied().unwrap_or(0);
                    let id = highest.max(self.raft.id()) + 1;
                    let change = if learner {
                        MembershipChange::AddLearner(id)
                    } else {
                        MembershipChange::AddVoter(id)
                    };
                    self.raft
                        .propose_membership(&change, enode.to_string().into_bytes())
                        .map(|()| id)
                        .map_err(|e| e.to_string())
                };
                let _ = reply.send(answer);
            }
            RaftCommand::Promote { id, reply } => {
                let answer = if self.raft.members().1.contains(&id) {
                    self.raft
                        .propose_membership(&MembershipChange::AddVoter(id), vec![])
                        .map(|()| true)
                        .map_err(|e| e.to_string())
                } else {
                    Err(format!("raft id {id} is not a learner"))
                };
                let _ = reply.send(answer);
            }
            RaftCommand::Remove { id, reply } => {
                let answer = if self.members.contains_key(&id) {
                    self.raft
                        .propose_membership(&MembershipChange::Remove(id), vec![])
                        .map_err(|e| e.to_string())
                } else {
                    Err(format!("raft id {id} is not a member"))
                };
                let _ = reply.send(answer);
            }
        }
    }

    /// Applies a committed membership change to the member list and the p2p peers.
    pub(super) fn apply_membership(
        &mut self,
        change: &veil_consensus::MembershipChange,
        context: &[u8],
    ) -> eyre::Result<()> {
        use veil_consensus::MembershipChange;
        match change {
            MembershipChange::AddVoter(id) | MembershipChange::AddLearner(id) => {
                if let Ok(enode) = std::str::from_utf8(context).unwrap_or("").parse::<Enode>() {
                    if *id == self.raft.id() {
                        self.enode = Some(enode.clone());
                    } else {
                        self.p2p.add_peer(enode.clone());
                    }
                    self.members.insert(*id, enode);
                }
            }
            MembershipChange::Remove(id) => {
                if let Some(enode) = self.members.remove(id) {
                    if let Ok(peer) = enode.peer_id() {
                        self.p2p.remove_peer(peer);
                    }
                }
                self.removed.push(*id);
                if *id == self.raft.id() {
                    tracing::warn!(target: "raft", "this node was removed from the cluster");
                }
            }
        }
        let added: BTreeMap<u64, String> =
            self.members.iter().map(|(id, e)| (*id, e.to_string())).collect();
        let mut batch = WriteBatch::new();
        ChainStore::put_meta(&mut batch, MEMBERS_KEY, serde_json::to_vec(&added)?);
        ChainStore::put_meta(&mut batch, REMOVED_KEY, serde_json::to_vec(&self.removed)?);
        Ok(self.kv.write(batch)?)
    }
}
