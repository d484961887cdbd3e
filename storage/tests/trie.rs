//! The trie against ethereum/tests' TrieTests vectors and against alloy-trie's `HashBuilder`.

use alloy_primitives::{hex, keccak256, B256};
use alloy_trie::{HashBuilder, Nibbles, EMPTY_ROOT_HASH};
use proptest::prelude::*;
use serde_json::Value;
use std::{collections::BTreeMap, path::PathBuf, sync::Arc};
use veil_storage::{lookup, InMemoryKv, KvStore, Trie, WriteBatch};

fn vectors_dir() -> PathBuf {
    std::env::var_os("VEIL_TEST_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| veil_testkit::package_dir().join("../../shared/test-vectors"))
}

fn bytes_of(value: &str) -> Vec<u8> {
    match value.strip_prefix("0x") {
        Some(h) => hex::decode(h).expect("hex in vector"),
        None => value.as_bytes().to_vec(),
    }
}

/// Applies `(key, value-or-delete)` pairs, committing after every `commit_every` operations so
/// the persisted-node paths are exercised, and returns the final root.
fn apply(kv: &dyn KvStore, ops: &[(Vec<u8>, Option<Vec<u8>>)], commit_every: usize) -> B256 {
    let mut root = EMPTY_ROOT_HASH;
    for chunk in ops.chunks(commit_every.max(1)) {
        let mut trie = Trie::open(kv, root);
        for (key, value) in chunk {
            match value {
                Some(v) => trie.insert(key, v.clone()).unwrap(),
                None => trie.delete(key).unwrap(),
            }
        }
        let mut batch = WriteBatch::new();
        root = trie.commit(&mut batch);
        kv.write(batch).unwrap();
    }
    root
}

fn run_vector_file(name: &str, secure: bool) -> usize {
    let path = vectors_dir().join("trie").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set VEIL_TEST_VECTORS)", path.display()));
    let tests: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for (test_name, test) in tests {
        let ops: Vec<(Vec<u8>, Option<Vec<u8>>)> = match &test["in"] {
            Value::Object(map) => {
                map.iter().map(|(k, v)| (bytes_of(k), v.as_str().map(bytes_of))).collect()
            }
            Value::Array(pairs) => pairs
                .iter()
                .map(|p| (bytes_of(p[0].as_str().unwrap()), p[1].as_str().map(bytes_of)))
                .collect(),
            other => panic!("{test_name}: unexpected input {other}"),
        };
        let ops: Vec<_> = ops
            .into_iter()
            .map(|(k, v)| (if secure { keccak256(&k).to_vec() } else { k }, v))
            .collect();
        let expected: B256 = test["root"].as_str().unwrap().parse().unwrap();
        for commit_every in [1, 2, ops.len()] {
            let kv = InMemoryKv::new();
            let root = apply(&kv, &ops, commit_every);
            assert_eq!(root, expected, "{name}/{test_name} (commit every {commit_every})");
        }
        checked += 1;
    }
    checked
}

#[test]
fn trie_vectors_match_ethereum_tests() {
    let mut total = 0;
    for (file, secure) in [
        ("trietest.json", false),
        ("trieanyorder.json", false),
        ("trietest_secureTrie.json", true),
        ("trieanyorder_secureTrie.json", true),
        ("hex_encoded_securetrie_test.json", true),
    ] {
        total += run_vector_file(file, secure);
    }
    // The README of the vectors counts 25 roots across these five files.
    assert_eq!(total, 25);
}

fn reference_root(map: &BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in map {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random inserts, updates and deletes over several commits give the same root as
    /// alloy-trie's HashBuilder over the final map, and every intermediate root stays readable.
    #[test]
    fn incremental_root_matches_hash_builder(
        ops in proptest::collection::vec(
            (0u16..300, proptest::option::weighted(0.8, proptest::collection::vec(any::<u8>(), 1..70))),
            1..400),
        commit_every in 1usize..100,
    ) {
        let kv = Arc::new(InMemoryKv::new());
        let mut model = BTreeMap::new();
        let mut root = EMPTY_ROOT_HASH;
        let mut history = Vec::new();
        for chunk in ops.chunks(commit_every) {
            let mut trie = Trie::open(kv.as_ref(), root);
            for (key, value) in chunk {
                let key = keccak256(key.to_be_bytes());
                match value {
                    Some(v) => { trie.insert(key.as_slice(), v.clone()).unwrap(); model.insert(key, v.clone()); }
                    None => { trie.delete(key.as_slice()).unwrap(); model.remove(&key); }
                }
            }
            let mut batch = WriteBatch::new();
            root = trie.commit(&mut batch);
            kv.write(batch).unwrap();
            prop_assert_eq!(root, reference_root(&model));
            history.push((root, model.clone()));
        }
        for (old_root, old_model) in history {
            for (key, value) in old_model.iter().take(20) {
                prop_assert_eq!(lookup(kv.as_ref(), old_root, key.as_slice()).unwrap(), Some(value.clone()));
            }
            let absent = keccak256(b"absent");
            prop_assert_eq!(lookup(kv.as_ref(), old_root, absent.as_slice()).unwrap(), None);
        }
    }
}

#[test]
fn commit_writes_only_changed_nodes() {
    let kv = InMemoryKv::new();
    let ops: Vec<_> =
        (0u32..5_000).map(|i| (keccak256(i.to_be_bytes()).to_vec(), Some(vec![1u8; 40]))).collect();
    let root = apply(&kv, &ops, ops.len());
    let mut trie = Trie::open(&kv, root);
    trie.insert(keccak256(7u32.to_be_bytes()).as_slice(), vec![2u8; 40]).unwrap();
    let mut batch = WriteBatch::new();
    trie.commit(&mut batch);
    // One leaf changes: only the nodes on its path (depth ~4 for 5k keys) are rewritten.
    assert!(batch.len() <= 6, "rewrote {} nodes for one key", batch.len());
}
