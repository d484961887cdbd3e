//! The state layer against a model: roots from alloy-trie, flat reads equal trie reads, past
//! roots stay readable, and a diff for a stale parent is refused.

use alloy_primitives::{Address, B256, U256};
use alloy_trie::{
    root::{state_root_unhashed, storage_root_unhashed},
    TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY,
};
use proptest::prelude::*;
use std::{collections::BTreeMap, sync::Arc};
use veil_storage::{
    AccountChange, AccountInfo, AccountUpdate, InMemoryKv, KvStore, RocksKv, StateDb, StateDiff,
    StateNamespace, StateReader, StorageError, WriteBatch,
};

type Model = BTreeMap<Address, (u64, U256, BTreeMap<U256, U256>)>;

fn model_root(model: &Model) -> B256 {
    state_root_unhashed(model.iter().map(|(address, (nonce, balance, storage))| {
        let storage_root = storage_root_unhashed(
            storage.iter().map(|(k, v)| (B256::from(k.to_be_bytes::<32>()), *v)),
        );
        (
            *address,
            TrieAccount { nonce: *nonce, balance: *balance, storage_root, code_hash: KECCAK_EMPTY },
        )
    }))
}

#[derive(Debug, Clone)]
enum Op {
    Set { account: u8, balance: u64, slots: Vec<(u8, u8)> },
    Wipe { account: u8, slots: Vec<(u8, u8)> },
    Destroy { account: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let slots = proptest::collection::vec((0u8..6, 0u8..4), 0..5);
    prop_oneof![
        6 => (0u8..8, 1u64..1000, slots.clone()).prop_map(|(account, balance, slots)| Op::Set { account, balance, slots }),
        1 => (0u8..8, slots).prop_map(|(account, slots)| Op::Wipe { account, slots }),
        1 => (0u8..8).prop_map(|account| Op::Destroy { account }),
    ]
}

fn apply_op(model: &mut Model, diff: &mut BTreeMap<Address, AccountChange>, op: &Op) {
    let address = |a: u8| Address::repeat_byte(a + 1);
    match op {
        Op::Set { account, balance, slots } => {
            touch(model, diff, address(*account), Some(*balance), false, slots)
        }
        Op::Wipe { account, slots } => touch(model, diff, address(*account), None, true, slots),
        Op::Destroy { account } => {
            let a = address(*account);
            model.remove(&a);
            diff.insert(
                a,
                AccountChange {
                    address: a,
                    update: AccountUpdate::Destroyed,
                    wipe_storage: true,
                    storage: vec![],
                },
            );
        }
    }
}

/// Sets the balance and slots of an account, first clearing its storage when `wipe`.
fn touch(
    model: &mut Model,
    diff: &mut BTreeMap<Address, AccountChange>,
    a: Address,
    balance: Option<u64>,
    wipe: bool,
    slots: &[(u8, u8)],
) {
    let entry = model.entry(a).or_insert((0, U256::from(1), BTreeMap::new()));
    if let Some(balance) = balance {
        entry.1 = U256::from(balance);
    }
    if wipe {
        entry.2.clear();
    }
    for (slot, value) in slots {
        if *value == 0 {
            entry.2.remove(&U256::from(*slot));
        } else {
            entry.2.insert(U256::from(*slot), U256::from(*value));
        }
    }
    let change = diff.entry(a).or_insert(AccountChange {
        address: a,
        update: AccountUpdate::Unchanged,
        wipe_storage: false,
        storage: vec![],
    });
    // A destroyed-then-recreated account keeps its wipe, as in revm's change set.
    if change.update == AccountUpdate::Destroyed || wipe {
        change.wipe_storage = true;
        change.storage.clear();
    }
    change.update = AccountUpdate::Updated(AccountInfo {
        nonce: entry.0,
        balance: entry.1,
        code_hash: KECCAK_EMPTY,
    });
    // Later writes to a slot win: one value per slot, as in revm's change set.
    for (slot, value) in slots {
        change.storage.retain(|(s, _)| *s != U256::from(*slot));
        change.storage.push((U256::from(*slot), U256::from(*value)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn blocks_of_random_changes_match_alloy_trie(blocks in proptest::collection::vec(proptest::collection::vec(op(), 1..12), 1..8)) {
        let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
        let state = StateDb::new(kv.clone());
        let mut model = Model::new();
        let mut root = EMPTY_ROOT_HASH;
        let mut history = vec![];
        for ops in blocks {
            let mut diff = BTreeMap::new();
            for op in &ops {
                apply_op(&mut model, &mut diff, op);
            }
            let diff = StateDiff { accounts: diff.into_values().collect(), code: vec![] };
            let mut batch = WriteBatch::new();
            root = state.apply(StateNamespace::PUBLIC, root, &diff, &mut batch).unwrap();
            kv.write(batch).unwrap();
            prop_assert_eq!(root, model_root(&model));
            history.push((root, model.clone()));
        }
        let latest = state.latest(StateNamespace::PUBLIC);
        for (root, snapshot) in &history {
            let past = state.at_root(*root);
            for a in 1..=8u8 {
                let address = Address::repeat_byte(a);
                let expected = snapshot.get(&address);
                prop_assert_eq!(past.account(address).unwrap().map(|x| x.balance), expected.map(|e| e.1));
                for slot in 0..6u8 {
                    let want = expected.and_then(|e| e.2.get(&U256::from(slot))).copied().unwrap_or_default();
                    prop_assert_eq!(past.storage(address, U256::from(slot)).unwrap(), want);
                }
            }
        }
        for a in 1..=8u8 {
            let address = Address::repeat_byte(a);
            prop_assert_eq!(latest.account(address).unwrap(), state.at_root(root).account(address).unwrap());
            for slot in 0..6u8 {
                prop_assert_eq!(latest.storage(address, U256::from(slot)).unwrap(), state.at_root(root).storage(address, U256::from(slot)).unwrap());
            }
        }
    }
}

#[test]
fn a_diff_on_a_stale_root_is_refused_and_namespaces_are_independent() {
    let dir = tempfile::tempdir().unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(RocksKv::open(dir.path()).unwrap());
    let state = StateDb::new(kv.clone());
    let diff = |balance: u64| StateDiff {
        accounts: vec![AccountChange {
            address: Address::repeat_byte(1),
            update: AccountUpdate::Updated(AccountInfo {
                balance: U256::from(balance),
                ..Default::default()
            }),
            wipe_storage: false,
            storage: vec![(U256::from(1), U256::from(balance))],
        }],
        code: vec![],
    };
    let mut batch = WriteBatch::new();
    let public =
        state.apply(StateNamespace::PUBLIC, EMPTY_ROOT_HASH, &diff(5), &mut batch).unwrap();
    kv.write(batch).unwrap();
    let mut batch = WriteBatch::new();
    let err =
        state.apply(StateNamespace::PUBLIC, EMPTY_ROOT_HASH, &diff(6), &mut batch).unwrap_err();
    assert!(matches!(err, StorageError::NotLatest { .. }), "{err}");

    // The private namespace starts empty and does not see the public account.
    assert_eq!(
        state.latest(StateNamespace::PRIVATE).account(Address::repeat_byte(1)).unwrap(),
        None
    );
    let mut batch = WriteBatch::new();
    let private =
        state.apply(StateNamespace::PRIVATE, EMPTY_ROOT_HASH, &diff(9), &mut batch).unwrap();
    kv.write(batch).unwrap();
    assert_ne!(public, private);
    assert_eq!(
        state
            .latest(StateNamespace::PUBLIC)
            .storage(Address::repeat_byte(1), U256::from(1))
            .unwrap(),
        U256::from(5)
    );
    assert_eq!(
        state
            .latest(StateNamespace::PRIVATE)
            .storage(Address::repeat_byte(1), U256::from(1))
            .unwrap(),
        U256::from(9)
    );
    assert_eq!(state.flat_root(StateNamespace::PRIVATE).unwrap(), private);

    // Reopening the database keeps everything.
    drop(state);
    drop(kv);
    let kv: Arc<dyn KvStore> = Arc::new(RocksKv::open(dir.path()).unwrap());
    let state = StateDb::new(kv);
    assert_eq!(state.flat_root(StateNamespace::PUBLIC).unwrap(), public);
    assert_eq!(
        state.at_root(public).storage(Address::repeat_byte(1), U256::from(1)).unwrap(),
        U256::from(5)
    );
}
