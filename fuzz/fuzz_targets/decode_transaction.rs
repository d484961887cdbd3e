//! Transaction decoding (EIP-2718 and network forms) never panics, and whatever decodes
//! re-encodes to the same bytes and hash.
#![no_main]

use alloy_rlp::{Decodable, Encodable};
use libfuzzer_sys::fuzz_target;
use veil_primitives::{RecoveredTx, Transaction};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Transaction::decode_2718_exact(data) {
        let encoded = tx.encoded_2718();
        assert_eq!(encoded, data, "2718 re-encoding differs");
        assert_eq!(tx.hash(), alloy_primitives_hash(&encoded));
        let _ = RecoveredTx::try_new(tx);
    }
    let mut buf = data;
    if let Ok(tx) = Transaction::decode(&mut buf) {
        let consumed = &data[..data.len() - buf.len()];
        let mut out = Vec::new();
        tx.encode(&mut out);
        assert_eq!(out, consumed, "network re-encoding differs");
    }
});

fn alloy_primitives_hash(bytes: &[u8]) -> veil_primitives::alloy_primitives::B256 {
    veil_primitives::alloy_primitives::keccak256(bytes)
}
