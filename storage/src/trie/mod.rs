//! A Merkle Patricia trie whose nodes live in the [`Table::TrieNodes`] table.
//!
//! [`Trie`] opens at a root hash and loads only the nodes on the paths it changes; untouched
//! subtrees stay as hash references. [`Trie::commit`] re-encodes and hashes just the changed
//! nodes, queues them into a [`WriteBatch`] and returns the new root, so the cost of a block
//! grows with the keys it touches, not with the size of the state. Nodes are content-addressed
//! and never deleted, so every past root stays readable ([`lookup`]).

mod node;

use crate::{KvStore, StorageError, Table, WriteBatch};
use alloy_primitives::{keccak256, Bytes, B256};
use alloy_trie::EMPTY_ROOT_HASH;
use node::{encode_branch, encode_extension, encode_leaf, ChildRef, Node};

/// The nibbles of a key.
fn nibbles(key: &[u8]) -> Vec<u8> {
    key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn load_rlp(kv: &dyn KvStore, hash: B256) -> Result<Vec<u8>, StorageError> {
    kv.get(Table::TrieNodes, hash.as_slice())?.ok_or(StorageError::MissingNode(hash))
}

fn decode(hash: B256, rlp: &[u8]) -> Result<Node, StorageError> {
    node::decode_node(rlp).map_err(|e| StorageError::Corrupt(format!("trie node {hash}: {e}")))
}

fn load(kv: &dyn KvStore, hash: B256) -> Result<Node, StorageError> {
    decode(hash, &load_rlp(kv, hash)?)
}

/// The Merkle proof of `key` under `root` (EIP-1186): the RLP of every hashed node on the path
/// from the root towards the key, root first. It proves presence or absence alike.
pub fn proof(kv: &dyn KvStore, root: B256, key: &[u8]) -> Result<Vec<Bytes>, StorageError> {
    if root == EMPTY_ROOT_HASH {
        return Ok(Vec::new());
    }
    let path = nibbles(key);
    let mut rest = path.as_slice();
    let mut nodes = Vec::new();
    let mut next = Node::Hash(root);
    loop {
        let node = match next {
            Node::Hash(hash) => {
                let rlp = load_rlp(kv, hash)?;
                let node = decode(hash, &rlp)?;
                nodes.push(Bytes::from(rlp));
                node
            }
            inline => inline,
        };
        next = match node {
            Node::Empty | Node::Leaf { .. } => return Ok(nodes),
            reference @ Node::Hash(_) => reference,
            Node::Extension { path, child } => {
                if !rest.starts_with(&path) {
                    return Ok(nodes);
                }
                rest = &rest[path.len()..];
                *child
            }
            Node::Branch { mut children, .. } => match rest.split_first() {
                None => return Ok(nodes),
                Some((&index, tail)) => {
                    rest = tail;
                    std::mem::replace(&mut children[usize::from(index)], Node::Empty)
                }
            },
        }
    }
}

/// Reads `key` from the trie with root `root` without loading it for change.
pub fn lookup(kv: &dyn KvStore, root: B256, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
    if root == EMPTY_ROOT_HASH {
        return Ok(None);
    }
    let path = nibbles(key);
    let mut rest = path.as_slice();
    let mut node = load(kv, root)?;
    loop {
        node = match node {
            Node::Empty => return Ok(None),
            Node::Hash(hash) => load(kv, hash)?,
            Node::Leaf { path, value } => return Ok((path == rest).then_some(value)),
            Node::Extension { path, child } => {
                if !rest.starts_with(&path) {
                    return Ok(None);
                }
                rest = &rest[path.len()..];
                *child
            }
            Node::Branch { mut children, value } => match rest.split_first() {
                None => return Ok(value),
                Some((&index, tail)) => {
                    rest = tail;
                    std::mem::replace(&mut children[usize::from(index)], Node::Empty)
                }
            },
        }
    }
}

/// A trie opened for change at some root.
pub struct Trie<'a> {
    kv: &'a dyn KvStore,
    root: Node,
}

impl std::fmt::Debug for Trie<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trie").field("root", &self.root).finish_non_exhaustive()
    }
}

impl<'a> Trie<'a> {
    /// Opens the trie with root `root` (the empty root opens an empty trie).
    pub fn open(kv: &'a dyn KvStore, root: B256) -> Self {
        let root = if root == EMPTY_ROOT_HASH { Node::Empty } else { Node::Hash(root) };
        Self { kv, root }
    }

    /// Sets `key` to `value`; an empty value deletes the key, as in Ethereum.
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), StorageError> {
        if value.is_empty() {
            return self.delete(key);
        }
        let root = std::mem::replace(&mut self.root, Node::Empty);
        self.root = self.insert_at(root, &nibbles(key), value)?;
        Ok(())
    }

    /// Removes `key` (a missing key is not an error).
    pub fn delete(&mut self, key: &[u8]) -> Result<(), StorageError> {
        let root = std::mem::replace(&mut self.root, Node::Empty);
        self.root = self.delete_at(root, &nibbles(key))?;
        Ok(())
    }

    /// Hashes the changed nodes, queues them into `batch` and returns the root hash.
    pub fn commit(self, batch: &mut WriteBatch) -> B256 {
        let mut store =
            |hash: B256, rlp: Vec<u8>| batch.put(Table::TrieNodes, hash.as_slice(), rlp);
        match commit_node(self.root, &mut store) {
            ChildRef::Empty => EMPTY_ROOT_HASH,
            ChildRef::Hash(hash) => hash,
            ChildRef::Inline(rlp) => {
                let hash = keccak256(&rlp);
                store(hash, rlp);
                hash
            }
        }
    }

    fn resolve(&self, node: Node) -> Result<Node, StorageError> {
        match node {
            Node::Hash(hash) => load(self.kv, hash),
            other => Ok(other),
        }
    }

    fn insert_at(&self, node: Node, path: &[u8], value: Vec<u8>) -> Result<Node, StorageError> {
        Ok(match self.resolve(node)? {
            Node::Empty => Node::Leaf { path: path.to_vec(), value },
            Node::Hash(hash) => return Err(unresolved(hash)),
            Node::Leaf { path: leaf_path, value: leaf_value } => {
                let common = common_prefix(&leaf_path, path);
                if common == leaf_path.len() && common == path.len() {
                    return Ok(Node::Leaf { path: leaf_path, value });
                }
                let mut children = Node::empty_branch();
                let mut branch_value = None;
                for (p, v) in [(leaf_path.as_slice(), leaf_value), (path, value)] {
                    match p.get(common) {
                        None => branch_value = Some(v),
                        Some(&index) => {
                            children[usize::from(index)] =
                                Node::Leaf { path: p[common + 1..].to_vec(), value: v }
                        }
                    }
                }
                wrap_in_extension(&path[..common], Node::Branch { children, value: branch_value })
            }
            Node::Extension { path: ext_path, child } => {
                let common = common_prefix(&ext_path, path);
                if common == ext_path.len() {
                    let child = self.insert_at(*child, &path[common..], value)?;
                    return Ok(Node::Extension { path: ext_path, child: Box::new(child) });
                }
                let mut children = Node::empty_branch();
                let mut branch_value = None;
                children[usize::from(ext_path[common])] =
                    wrap_in_extension(&ext_path[common + 1..], *child);
                match path.get(common) {
                    None => branch_value = Some(value),
                    Some(&index) => {
                        children[usize::from(index)] =
                            Node::Leaf { path: path[common + 1..].to_vec(), value }
                    }
                }
                wrap_in_extension(&path[..common], Node::Branch { children, value: branch_value })
            }
            Node::Branch { mut children, value: branch_value } => match path.split_first() {
                None => Node::Branch { children, value: Some(value) },
                Some((&index, rest)) => {
                    let slot = &mut children[usize::from(index)];
                    let child = std::mem::replace(slot, Node::Empty);
                    *slot = self.insert_at(child, rest, value)?;
                    Node::Branch { children, value: branch_value }
                }
            },
        })
    }

    fn delete_at(&self, node: Node, path: &[u8]) -> Result<Node, StorageError> {
        Ok(match self.resolve(node)? {
            Node::Empty => Node::Empty,
            Node::Hash(hash) => return Err(unresolved(hash)),
            Node::Leaf { path: leaf_path, value } => {
                if leaf_path == path {
                    Node::Empty
                } else {
                    Node::Leaf { path: leaf_path, value }
                }
            }
            Node::Extension { path: ext_path, child } => {
                if !path.starts_with(&ext_path) {
                    return Ok(Node::Extension { path: ext_path, child });
                }
                let child = self.delete_at(*child, &path[ext_path.len()..])?;
                self.join(ext_path, child)?
            }
            Node::Branch { mut children, mut value } => {
                match path.split_first() {
                    None => value = None,
                    Some((&index, rest)) => {
                        let slot = &mut children[usize::from(index)];
                        let child = std::mem::replace(slot, Node::Empty);
                        *slot = self.delete_at(child, rest)?;
                    }
                }
                self.normalize_branch(children, value)?
            }
        })
    }

    /// Puts `prefix` in front of `child`, merging paths so no extension points at a leaf or
    /// another extension.
    fn join(&self, mut prefix: Vec<u8>, child: Node) -> Result<Node, StorageError> {
        Ok(match self.resolve(child)? {
            Node::Empty => Node::Empty,
            Node::Leaf { path, value } => {
                prefix.extend_from_slice(&path);
                Node::Leaf { path: prefix, value }
            }
            Node::Extension { path, child } => {
                prefix.extend_from_slice(&path);
                Node::Extension { path: prefix, child }
            }
            branch => wrap_in_extension(&prefix, branch),
        })
    }

    /// A branch left with one child and no value collapses into its child; with only a value,
    /// into a leaf.
    fn normalize_branch(
        &self,
        mut children: Box<[Node; 16]>,
        value: Option<Vec<u8>>,
    ) -> Result<Node, StorageError> {
        let mut occupied = children.iter().enumerate().filter(|(_, c)| **c != Node::Empty);
        let first = occupied.next().map(|(i, _)| i);
        let more = occupied.next().is_some();
        Ok(match (first, more, value) {
            (None, _, None) => Node::Empty,
            (None, _, Some(value)) => Node::Leaf { path: Vec::new(), value },
            (Some(index), false, None) => {
                let child = std::mem::replace(&mut children[index], Node::Empty);
                self.join(vec![index as u8], child)?
            }
            (_, _, value) => Node::Branch { children, value },
        })
    }
}

/// A stored node decoded to a bare hash reference: only a corrupt store does that.
fn unresolved(hash: B256) -> StorageError {
    StorageError::Corrupt(format!("trie node {hash} decoded to a hash reference"))
}

fn wrap_in_extension(prefix: &[u8], child: Node) -> Node {
    if prefix.is_empty() {
        child
    } else {
        Node::Extension { path: prefix.to_vec(), child: Box::new(child) }
    }
}

fn commit_node(node: Node, store: &mut impl FnMut(B256, Vec<u8>)) -> ChildRef {
    let rlp = match node {
        Node::Empty => return ChildRef::Empty,
        Node::Hash(hash) => return ChildRef::Hash(hash),
        Node::Leaf { path, value } => encode_leaf(&path, &value),
        Node::Extension { path, child } => encode_extension(&path, &commit_node(*child, store)),
        Node::Branch { children, value } => {
            let refs = (*children).map(|child| commit_node(child, store));
            encode_branch(&refs, value.as_deref())
        }
    };
    ChildRef::from_rlp(rlp, store)
}
