//! GoQuorum 7nodes' own `qbft-genesis.json` loads unchanged: QBFT from block 0 with its
//! `istanbul` object's epoch and ⌈2N/3⌉ quorum, and its extraData names the seven validators.

use std::path::PathBuf;
use veil_config::{ChainSpec, ProposerPolicy, ValidatorSelection};
use veil_primitives::istanbul::{QbftExtra, ISTANBUL_DIGEST};

#[test]
fn seven_nodes_qbft_genesis_loads_as_a_qbft_chain_of_seven_validators() {
    let path = std::env::var_os("VEIL_TEST_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/test-vectors")
        })
        .join("qbft/genesis/7nodes-qbft-genesis.json");
    let spec = ChainSpec::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let qbft = spec.qbft().expect("the istanbul object with testQBFTBlock 0 is QBFT");
    assert!(qbft.is_legacy(), "period and timeout come from --istanbul.* flags");
    let params = qbft.params_at(1, (5, 10_000));
    assert_eq!(params.epoch_length, 30_000);
    assert_eq!(params.policy, ProposerPolicy::RoundRobin);
    assert!(!params.two_f_plus_one, "ceil2Nby3Block 0: ⌈2N/3⌉");
    assert_eq!(params.quorum(7), 5);
    assert_eq!(params.selection, ValidatorSelection::BlockHeader);
    let genesis = spec.genesis();
    assert_eq!(genesis.mix_hash, ISTANBUL_DIGEST);
    let extra = QbftExtra::decode(&genesis.extra_data).unwrap();
    assert_eq!(extra.validators.len(), 7);
    assert_eq!(spec.chain_id(), 10);
}
