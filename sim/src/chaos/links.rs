//! The p2p links between the nodes during a chaos run. Node n reaches node m through a relay
//! of this process (one per ordered pair n → m, on a port of its own), so a partition is cut
//! here, between the processes, and the nodes carry no fault switch: while a node is cut off,
//! its relays close every connection they carry and refuse new ones, in both directions, so
//! each side sees its peers go away and its redials fail — what a partition does to the layers
//! above TCP. A node restarted during a partition stays cut off: its dials go through the same
//! relays.
//!
//! The nodes learn the relays from their `static-nodes.json` (peers are dialled only at the
//! addresses listed there), which the run rewrites for its duration: [`Relayed`] keeps each
//! original as `static-nodes.json.before-chaos` and puts it back when dropped;
//! [`restore_static_nodes`] puts back one left by a run that was itself killed.

use crate::layout::Layout;
use std::{
    collections::{BTreeMap, HashMap},
    io,
    net::{Shutdown, TcpListener, TcpStream},
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

/// One directed link's relay: whether it is cut, and the connections it carries.
#[derive(Debug, Default)]
struct Link {
    state: Mutex<LinkState>,
    next_id: AtomicU64,
}

#[derive(Debug, Default)]
struct LinkState {
    cut: bool,
    /// Both sockets of each connection carried, by connection id.
    open: HashMap<u64, [TcpStream; 2]>,
}

impl Link {
    /// Carries one accepted connection to `target`, unless the link is cut.
    fn carry(self: &Arc<Self>, inbound: TcpStream, target: u16) {
        if self.state.lock().unwrap_or_else(|e| e.into_inner()).cut {
            return;
        }
        let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)) else { return };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (Ok(a), Ok(b)) = (inbound.try_clone(), outbound.try_clone()) else { return };
        {
            // Checked and registered under one lock, so a cut never misses a connection.
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.cut {
                return;
            }
            state.open.insert(id, [a, b]);
        }
        let (Ok(inbound_reader), Ok(outbound_reader)) = (inbound.try_clone(), outbound.try_clone())
        else {
            return;
        };
        let link = self.clone();
        std::thread::spawn(move || {
            pump(inbound_reader, outbound);
            link.forget(id);
        });
        let link = self.clone();
        std::thread::spawn(move || {
            pump(outbound_reader, inbound);
            link.forget(id);
        });
    }

    fn forget(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sockets) = state.open.remove(&id) {
            for socket in sockets {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }

    fn set_cut(&self, cut: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.cut = cut;
        if cut {
            for (_, sockets) in state.open.drain() {
                for socket in sockets {
                    let _ = socket.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

/// Copies one direction until either side closes, then closes both.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// Every node's relays to every other node.
#[derive(Debug)]
pub(crate) struct Links {
    /// (from, to) → the relay's port and its state.
    links: BTreeMap<(usize, usize), (u16, Arc<Link>)>,
}

impl Links {
    /// Opens a relay for every ordered pair of nodes, each forwarding to the target's p2p port.
    pub(crate) fn open(layout: &Layout) -> eyre::Result<Self> {
        let mut links = BTreeMap::new();
        for from in layout.numbers() {
            for to in layout.numbers().filter(|&to| to != from) {
                let listener = TcpListener::bind(("127.0.0.1", 0))?;
                let port = listener.local_addr()?.port();
                let link = Arc::new(Link::default());
                let target = layout.p2p_port(to);
                let carrier = link.clone();
                std::thread::Builder::new().name(format!("link {from}->{to}")).spawn(
                    move || {
                        for inbound in listener.incoming().flatten() {
                            carrier.carry(inbound, target);
                        }
                    },
                )?;
                links.insert((from, to), (port, link));
            }
        }
        Ok(Self { links })
    }

    /// The port node `from` dials to reach node `to`.
    pub(crate) fn port(&self, from: usize, to: usize) -> Option<u16> {
        self.links.get(&(from, to)).map(|(port, _)| *port)
    }

    /// Cuts node `n` off from every other node, both ways, or restores its links.
    pub(crate) fn isolate(&self, n: usize, cut: bool) {
        for ((from, to), (_, link)) in &self.links {
            if *from == n || *to == n {
                link.set_cut(cut);
            }
        }
    }

    /// Points every node's `static-nodes.json` at its relays for as long as the answer lives.
    pub(crate) fn relay_static_nodes(&self, layout: &Layout) -> eyre::Result<Relayed> {
        restore_static_nodes(layout)?;
        let mut relayed = Relayed { files: Vec::new() };
        for n in layout.numbers() {
            let file = layout.node_dir(n).join("static-nodes.json");
            let enodes: Vec<String> = serde_json::from_slice(&std::fs::read(&file)?)?;
            let rewritten = enodes
                .iter()
                .enumerate()
                .map(|(i, enode)| match self.port(n, i + 1) {
                    Some(port) => with_address(enode, &format!("127.0.0.1:{port}")),
                    None => Ok(enode.clone()),
                })
                .collect::<eyre::Result<Vec<_>>>()?;
            std::fs::rename(&file, backup(&file))?;
            relayed.files.push(file.clone());
            std::fs::write(&file, serde_json::to_vec_pretty(&rewritten)?)?;
        }
        Ok(relayed)
    }
}

/// The nodes' `static-nodes.json` pointed at the relays; the originals come back on drop.
#[derive(Debug)]
pub(crate) struct Relayed {
    files: Vec<PathBuf>,
}

impl Drop for Relayed {
    fn drop(&mut self) {
        for file in &self.files {
            if let Err(e) = std::fs::rename(backup(file), file) {
                eprintln!("chaos: could not restore {}: {e}", file.display());
            }
        }
    }
}

fn backup(file: &std::path::Path) -> PathBuf {
    file.with_extension("json.before-chaos")
}

/// Puts back the `static-nodes.json` a chaos run that did not finish left pointed at relays.
pub(crate) fn restore_static_nodes(layout: &Layout) -> eyre::Result<()> {
    for n in layout.numbers() {
        let file = layout.node_dir(n).join("static-nodes.json");
        if backup(&file).exists() {
            std::fs::rename(backup(&file), &file)?;
        }
    }
    Ok(())
}

/// `enode://ID@HOST:PORT?QUERY` with `address` for `HOST:PORT`.
fn with_address(enode: &str, address: &str) -> eyre::Result<String> {
    let (head, rest) =
        enode.split_once('@').ok_or_else(|| eyre::eyre!("{enode}: not an enode URL"))?;
    let query = rest.find('?').map_or("", |i| &rest[i..]);
    Ok(format!("{head}@{address}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn an_enode_gets_the_relay_address_and_keeps_its_id_and_query() {
        let enode = "enode://ab12@127.0.0.1:21000?discport=0&raftport=50401";
        assert_eq!(
            with_address(enode, "127.0.0.1:40000").unwrap(),
            "enode://ab12@127.0.0.1:40000?discport=0&raftport=50401"
        );
        assert_eq!(
            with_address("enode://ab12@10.0.0.1:30303", "127.0.0.1:1").unwrap(),
            "enode://ab12@127.0.0.1:1"
        );
        assert!(with_address("ab12", "127.0.0.1:1").is_err());
    }

    /// An echo server behind a link: bytes go through while it is whole; cutting it closes the
    /// open connection and refuses new ones; restoring it carries new connections again.
    #[test]
    fn a_cut_link_closes_its_connections_and_refuses_new_ones_until_restored() {
        let echo = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let target = echo.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in echo.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = stream.try_clone().unwrap();
                    let mut writer = stream;
                    let _ = io::copy(&mut reader, &mut writer);
                });
            }
        });
        let link = Arc::new(Link::default());
        let relay = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = relay.local_addr().unwrap().port();
        let carrier = link.clone();
        std::thread::spawn(move || {
            for inbound in relay.incoming().flatten() {
                carrier.carry(inbound, target);
            }
        });
        let round_trip = |stream: &mut TcpStream| -> io::Result<[u8; 4]> {
            stream.write_all(b"ping")?;
            let mut answer = [0; 4];
            stream.read_exact(&mut answer)?;
            Ok(answer)
        };
        let mut first = TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert_eq!(&round_trip(&mut first).unwrap(), b"ping");

        link.set_cut(true);
        assert!(round_trip(&mut first).is_err(), "the open connection is closed by the cut");
        let mut second = TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert!(round_trip(&mut second).is_err(), "a new connection is refused while cut");

        link.set_cut(false);
        let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert_eq!(&round_trip(&mut third).unwrap(), b"ping");
    }
}
