//! Block decoding never panics, and a decoded block re-encodes to the bytes it came from.
#![no_main]

use alloy_rlp::{Decodable, Encodable};
use libfuzzer_sys::fuzz_target;
use veil_primitives::Block;

fuzz_target!(|data: &[u8]| {
    let mut buf = data;
    if let Ok(block) = Block::decode(&mut buf) {
        let consumed = &data[..data.len() - buf.len()];
        let mut out = Vec::new();
        block.encode(&mut out);
        assert_eq!(out, consumed, "block re-encoding differs");
        let _ = block.header.hash_slow();
    }
});
