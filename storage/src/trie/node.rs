//! Trie nodes and their RLP encoding (Ethereum Yellow Paper, appendix D).

use alloy_primitives::{keccak256, B256};
use alloy_rlp::{Encodable, Header, EMPTY_STRING_CODE};

/// A node of the in-memory part of a trie. Subtrees that were not touched stay as
/// [`Node::Hash`] references into the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Empty,
    /// A stored node not loaded yet.
    Hash(B256),
    Leaf {
        path: Vec<u8>,
        value: Vec<u8>,
    },
    Extension {
        path: Vec<u8>,
        child: Box<Node>,
    },
    Branch {
        children: Box<[Node; 16]>,
        value: Option<Vec<u8>>,
    },
}

impl Node {
    pub(crate) fn empty_branch() -> Box<[Node; 16]> {
        Box::new(std::array::from_fn(|_| Node::Empty))
    }
}

/// How a parent refers to a child: inline if the child's RLP is shorter than 32 bytes,
/// otherwise by hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ChildRef {
    Empty,
    Inline(Vec<u8>),
    Hash(B256),
}

impl ChildRef {
    /// The reference for a node with this RLP; nodes of 32 bytes or more go to `store`.
    pub(crate) fn from_rlp(rlp: Vec<u8>, store: &mut impl FnMut(B256, Vec<u8>)) -> Self {
        if rlp.len() < 32 {
            ChildRef::Inline(rlp)
        } else {
            let hash = keccak256(&rlp);
            store(hash, rlp);
            ChildRef::Hash(hash)
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            ChildRef::Empty => 1,
            ChildRef::Inline(rlp) => rlp.len(),
            ChildRef::Hash(_) => 33,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ChildRef::Empty => out.push(EMPTY_STRING_CODE),
            ChildRef::Inline(rlp) => out.extend_from_slice(rlp),
            ChildRef::Hash(hash) => hash.encode(out),
        }
    }
}

/// Hex-prefix encoding of a nibble path.
pub(crate) fn compact_path(path: &[u8], is_leaf: bool) -> Vec<u8> {
    let flag = if is_leaf { 2 } else { 0 } + (path.len() % 2) as u8;
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = if path.len() % 2 == 1 {
        out.push((flag << 4) | path[0]);
        &path[1..]
    } else {
        out.push(flag << 4);
        path
    };
    out.extend(rest.chunks_exact(2).map(|pair| (pair[0] << 4) | pair[1]));
    out
}

fn decode_compact_path(bytes: &[u8]) -> Result<(Vec<u8>, bool), alloy_rlp::Error> {
    let (&first, rest) = bytes.split_first().ok_or(alloy_rlp::Error::Custom("empty trie path"))?;
    let flag = first >> 4;
    if flag > 3 {
        return Err(alloy_rlp::Error::Custom("bad hex-prefix flag"));
    }
    let mut path = Vec::with_capacity(rest.len() * 2 + 1);
    if flag & 1 == 1 {
        path.push(first & 0x0f);
    }
    for byte in rest {
        path.push(byte >> 4);
        path.push(byte & 0x0f);
    }
    Ok((path, flag & 2 == 2))
}

fn string_len(bytes: &[u8]) -> usize {
    bytes.length()
}

/// RLP of a leaf.
pub(crate) fn encode_leaf(path: &[u8], value: &[u8]) -> Vec<u8> {
    let path = compact_path(path, true);
    let payload_length = string_len(&path) + string_len(value);
    let mut out = Vec::with_capacity(payload_length + 3);
    Header { list: true, payload_length }.encode(&mut out);
    path.as_slice().encode(&mut out);
    value.encode(&mut out);
    out
}

/// RLP of an extension.
pub(crate) fn encode_extension(path: &[u8], child: &ChildRef) -> Vec<u8> {
    let path = compact_path(path, false);
    let payload_length = string_len(&path) + child.encoded_len();
    let mut out = Vec::with_capacity(payload_length + 3);
    Header { list: true, payload_length }.encode(&mut out);
    path.as_slice().encode(&mut out);
    child.encode(&mut out);
    out
}

/// RLP of a branch.
pub(crate) fn encode_branch(children: &[ChildRef; 16], value: Option<&[u8]>) -> Vec<u8> {
    let value = value.unwrap_or_default();
    let payload_length =
        children.iter().map(ChildRef::encoded_len).sum::<usize>() + string_len(value);
    let mut out = Vec::with_capacity(payload_length + 3);
    Header { list: true, payload_length }.encode(&mut out);
    for child in children {
        child.encode(&mut out);
    }
    value.encode(&mut out);
    out
}

/// Splits an RLP list payload into its items' raw encodings.
fn list_items(mut payload: &[u8]) -> Result<Vec<&[u8]>, alloy_rlp::Error> {
    let mut items = Vec::with_capacity(17);
    while !payload.is_empty() {
        let start = payload;
        let header = Header::decode(&mut payload)?;
        if payload.len() < header.payload_length {
            return Err(alloy_rlp::Error::InputTooShort);
        }
        payload = &payload[header.payload_length..];
        items.push(&start[..start.len() - payload.len()]);
    }
    Ok(items)
}

fn string_payload(mut item: &[u8]) -> Result<&[u8], alloy_rlp::Error> {
    let header = Header::decode(&mut item)?;
    if header.list {
        return Err(alloy_rlp::Error::UnexpectedList);
    }
    Ok(&item[..header.payload_length])
}

fn decode_child(item: &[u8]) -> Result<Node, alloy_rlp::Error> {
    if item.first().is_some_and(|b| *b >= alloy_rlp::EMPTY_LIST_CODE) {
        return decode_node(item);
    }
    let payload = string_payload(item)?;
    match payload.len() {
        0 => Ok(Node::Empty),
        32 => Ok(Node::Hash(B256::from_slice(payload))),
        _ => Err(alloy_rlp::Error::Custom("trie child is neither a hash nor a node")),
    }
}

/// Decodes a node's RLP; inline children are decoded too.
pub(crate) fn decode_node(mut rlp: &[u8]) -> Result<Node, alloy_rlp::Error> {
    let header = Header::decode(&mut rlp)?;
    if rlp.len() < header.payload_length {
        return Err(alloy_rlp::Error::InputTooShort);
    }
    let payload = &rlp[..header.payload_length];
    if !header.list {
        return if payload.is_empty() {
            Ok(Node::Empty)
        } else {
            Err(alloy_rlp::Error::UnexpectedString)
        };
    }
    let items = list_items(payload)?;
    match items.len() {
        17 => {
            let mut children = Node::empty_branch();
            for (slot, item) in children.iter_mut().zip(&items) {
                *slot = decode_child(item)?;
            }
            let value = string_payload(items[16])?;
            let value = (!value.is_empty()).then(|| value.to_vec());
            Ok(Node::Branch { children, value })
        }
        2 => {
            let (path, is_leaf) = decode_compact_path(string_payload(items[0])?)?;
            if is_leaf {
                Ok(Node::Leaf { path, value: string_payload(items[1])?.to_vec() })
            } else {
                Ok(Node::Extension { path, child: Box::new(decode_child(items[1])?) })
            }
        }
        _ => Err(alloy_rlp::Error::Custom("trie node must have 2 or 17 items")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_path_matches_yellow_paper_examples() {
        // Examples from the Ethereum wiki's Patricia tree page.
        assert_eq!(compact_path(&[1, 2, 3, 4, 5], false), vec![0x11, 0x23, 0x45]);
        assert_eq!(compact_path(&[0, 1, 2, 3, 4, 5], false), vec![0x00, 0x01, 0x23, 0x45]);
        assert_eq!(compact_path(&[0, 0xf, 1, 0xc, 0xb, 8], true), vec![0x20, 0x0f, 0x1c, 0xb8]);
        assert_eq!(compact_path(&[0xf, 1, 0xc, 0xb, 8], true), vec![0x3f, 0x1c, 0xb8]);
        for (path, leaf) in [(vec![1, 2, 3], true), (vec![], false), (vec![0xa; 64], true)] {
            assert_eq!(decode_compact_path(&compact_path(&path, leaf)).unwrap(), (path, leaf));
        }
    }

    #[test]
    fn nodes_round_trip() {
        let leaf = encode_leaf(&[1, 2, 3], b"value-long-enough-to-matter-here-xx");
        assert_eq!(
            decode_node(&leaf).unwrap(),
            Node::Leaf {
                path: vec![1, 2, 3],
                value: b"value-long-enough-to-matter-here-xx".to_vec()
            }
        );
        let refs: [ChildRef; 16] = std::array::from_fn(|i| match i {
            0 => ChildRef::Hash(B256::repeat_byte(7)),
            3 => ChildRef::Inline(encode_leaf(&[4], b"x")),
            _ => ChildRef::Empty,
        });
        let branch = encode_branch(&refs, Some(b"v"));
        let Node::Branch { children, value } = decode_node(&branch).unwrap() else { panic!() };
        assert_eq!(children[0], Node::Hash(B256::repeat_byte(7)));
        assert_eq!(children[3], Node::Leaf { path: vec![4], value: b"x".to_vec() });
        assert_eq!(value.as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [&[][..], &[0xc1, 0x80], &[0xc3, 0x80, 0x80, 0x80], &[0x85, 1]] {
            assert!(decode_node(bad).is_err(), "{bad:?}");
        }
    }
}
