//! Libp2p services in one process on loopback: transactions by gossip (forwarded once
//! validated), raft messages and block sync by request-response, static peers, and
//! permissioning that refuses peers not listed, in both directions.

use libp2p::multiaddr::Protocol;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Receiver;
use veil_p2p::{
    start, Enode, NodeKey, P2pConfig, P2pEvent, P2pHandle, PeerId, SyncRequest, SyncResponse,
    Verdict,
};

struct Node {
    key: NodeKey,
    handle: P2pHandle,
    events: Receiver<P2pEvent>,
    enode: Enode,
}

async fn node(static_peers: Vec<Enode>, permissioned: Option<Vec<Enode>>) -> Node {
    let key =
        NodeKey::load_or_create(&tempfile::tempdir().unwrap().path().join("nodekey")).unwrap();
    let config = P2pConfig {
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        static_peers,
        permissioned,
        max_peers: 50,
    };
    let (handle, events, address) = start(&key, config).await.unwrap();
    let port = address
        .iter()
        .find_map(|p| if let Protocol::Tcp(port) = p { Some(port) } else { None })
        .unwrap();
    let enode = Enode { public: key.public(), host: "127.0.0.1".into(), port, raft_port: None };
    Node { key, handle, events, enode }
}

/// The next event `pick` accepts, within 10 s.
async fn next<T>(node: &mut Node, mut pick: impl FnMut(P2pEvent) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, node.events.recv())
            .await
            .expect("timed out")
            .expect("stopped");
        if let Some(found) = pick(event) {
            return found;
        }
    }
}

async fn connected(node: &mut Node, peer: PeerId) {
    next(node, |e| matches!(e, P2pEvent::PeerConnected(p) if p == peer).then_some(())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_raft_messages_and_block_sync_between_static_peers() {
    let mut a = node(vec![], None).await;
    let mut b = node(vec![a.enode.clone()], None).await;
    connected(&mut a, b.key.peer_id()).await;
    connected(&mut b, a.key.peer_id()).await;
    assert_eq!(
        a.handle.peers().await.iter().map(|p| p.peer_id).collect::<Vec<_>>(),
        vec![b.key.peer_id()]
    );

    // Gossip needs the mesh: publish until B hears it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (txs, from, id) = loop {
        a.handle.publish_transactions(&[b"raw tx".to_vec(), b"another".to_vec()]);
        let got = tokio::time::timeout(Duration::from_millis(300), async {
            next(&mut b, |e| match e {
                P2pEvent::Transactions { txs, from, id } => Some((txs, from, id)),
                _ => None,
            })
            .await
        })
        .await;
        if let Ok(got) = got {
            break got;
        }
        assert!(Instant::now() < deadline, "no gossip");
    };
    assert_eq!(txs, vec![b"raw tx".to_vec(), b"another".to_vec()]);
    assert_eq!(from, a.key.peer_id());
    b.handle.validated(id, from, Verdict::Accept);

    a.handle.send_consensus(b.key.peer_id(), vec![1, 2, 3]);
    let (from, data) = next(&mut b, |e| match e {
        P2pEvent::Consensus { from, data } => Some((from, data)),
        _ => None,
    })
    .await;
    assert_eq!((from, data), (a.key.peer_id(), vec![1, 2, 3]));

    // B asks A for blocks; A's node answers.
    let asking = b.handle.clone();
    let a_peer = a.key.peer_id();
    let request = tokio::spawn(async move {
        asking.request_blocks(a_peer, SyncRequest { from: 5, max: 2 }).await
    });
    let (request_seen, reply) = next(&mut a, |e| match e {
        P2pEvent::BlockRequest { request, reply, .. } => Some((request, reply)),
        _ => None,
    })
    .await;
    assert_eq!(request_seen, SyncRequest { from: 5, max: 2 });
    reply.send(SyncResponse { blocks: vec![b"five".to_vec(), b"six".to_vec()] }).unwrap();
    assert_eq!(request.await.unwrap().unwrap().blocks, vec![b"five".to_vec(), b"six".to_vec()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permissioned_node_refuses_unlisted_peers_both_ways() {
    let mut listed = node(vec![], None).await;
    let outsider = node(vec![], None).await;
    let mut guarded =
        node(vec![listed.enode.clone(), outsider.enode.clone()], Some(vec![listed.enode.clone()]))
            .await;
    // The listed peer is dialled and served; the outsider is never dialled.
    connected(&mut guarded, listed.key.peer_id()).await;
    connected(&mut listed, guarded.key.peer_id()).await;
    // The outsider dials the guarded node: refused, and never among its peers.
    outsider.handle.add_peer(guarded.enode.clone());
    let denied = next(&mut guarded, |e| match e {
        P2pEvent::PeerDenied(peer) => Some(peer),
        P2pEvent::PeerConnected(peer) => panic!("{peer} got in"),
        _ => None,
    })
    .await;
    assert_eq!(denied, Some(outsider.key.peer_id()));
    let peers: Vec<PeerId> = guarded.handle.peers().await.iter().map(|p| p.peer_id).collect();
    assert_eq!(peers, vec![listed.key.peer_id()]);
}
