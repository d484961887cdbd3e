//! Genesis hashes and state roots of public networks, from ../shared/test-vectors/genesis.

use alloy_primitives::B256;
use std::path::PathBuf;
use veil_config::ChainSpec;

fn vectors_dir() -> PathBuf {
    std::env::var_os("VEIL_TEST_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| veil_testkit::package_dir().join("../../shared/test-vectors"))
}

#[test]
fn genesis_hashes_and_state_roots_match_the_published_values() {
    let dir = vectors_dir().join("genesis");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("EXPECTED.json")).unwrap()).unwrap();
    let files = expected["files"].as_object().unwrap();
    assert_eq!(files.len(), 4);
    for (file, values) in files {
        let spec = ChainSpec::from_file(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (hash, header) = veil_evm::genesis_header(&spec).unwrap();
        let want_root: B256 = values["stateRoot"].as_str().unwrap().parse().unwrap();
        let want_hash: B256 = values["genesisHash"].as_str().unwrap().parse().unwrap();
        assert_eq!(header.state_root, want_root, "{file}: state root");
        assert_eq!(hash, want_hash, "{file}: genesis hash");
        assert_eq!(spec.chain_id(), values["chainId"].as_u64().unwrap(), "{file}: chain id");
    }
}
