//! The QBFT `extraData` codec against GoQuorum's and Besu's own test values and 7nodes' QBFT
//! genesis (`test-vectors/qbft/`): decoding gives their fields, encoding gives their bytes.

use alloy_primitives::{hex, Address, Bytes};
use alloy_rlp::Encodable;
use serde_json::Value;
use std::path::PathBuf;
use veil_primitives::istanbul::{CommittedSeal, QbftExtra, ValidatorVote};

fn vectors() -> PathBuf {
    std::env::var_os("VEIL_TEST_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/test-vectors")
        })
        .join("qbft")
}

fn json(path: &str) -> Value {
    let path = vectors().join(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set VEIL_TEST_VECTORS)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap()).unwrap()
}

fn addresses(value: &Value) -> Vec<Address> {
    value.as_array().unwrap().iter().map(|a| a.as_str().unwrap().parse().unwrap()).collect()
}

/// Checks `extra` against a vector's `expected` fields (`vote: null` in these).
fn assert_fields(extra: &QbftExtra, expected: &Value) {
    assert_eq!(extra.vanity.to_vec(), bytes(&expected["vanity"]));
    assert_eq!(extra.validators, addresses(&expected["validators"]));
    assert_eq!(extra.vote, None);
    assert_eq!(u64::from(extra.round), expected["round"].as_u64().unwrap());
    let seals: Vec<Vec<u8>> =
        expected["committed_seals"].as_array().unwrap().iter().map(bytes).collect();
    assert_eq!(extra.committed_seals.iter().map(|s| s.to_vec()).collect::<Vec<_>>(), seals);
}

#[test]
fn goquorum_extras_decode_to_their_fields_and_encode_back() {
    let v = &json("goquorum/extra_data.json")["vectors"];
    for name in ["goquorum_TestExtractToQBFTExtra", "goquorum_TestWriteRoundNumber"] {
        let input = bytes(&v[name]["input_extra"]);
        let extra = QbftExtra::decode(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_fields(&extra, &v[name]["expected"]);
        assert_eq!(extra.encode().to_vec(), input, "{name}");
    }

    // TestPrepareExtra: 32 zero bytes of vanity and the validators, nothing else.
    let prepare = &v["goquorum_TestPrepareExtra"];
    let extra = QbftExtra {
        vanity: Bytes::from(vec![0; 32]),
        validators: addresses(&prepare["input_validators"]),
        ..Default::default()
    };
    assert_eq!(extra.encode().to_vec(), bytes(&prepare["expected_extra"]));

    // TestWriteCommittedSeals: a 65-byte seal is written and read back; 66 bytes never are.
    let seals = &v["goquorum_TestWriteCommittedSeals"];
    let mut extra = QbftExtra::decode(&bytes(&seals["input_extra"])).unwrap();
    extra.committed_seals = vec![CommittedSeal::from_slice(&bytes(&seals["input_seal"]))];
    assert_fields(&QbftExtra::decode(&extra.encode()).unwrap(), &seals["expected"]);
    let too_long = bytes(&seals["error_case"]["input_seal"]);
    assert_eq!(too_long.len(), 66);
    // The same extra with the 66-byte seal in its seal list.
    let list = |payload: &[u8]| -> Vec<u8> {
        let mut out = Vec::new();
        alloy_rlp::Header { list: true, payload_length: payload.len() }.encode(&mut out);
        out.extend_from_slice(payload);
        out
    };
    let mut fields = Vec::new();
    extra.vanity.encode(&mut fields);
    extra.validators.encode(&mut fields);
    fields.push(0xc0);
    extra.round.encode(&mut fields);
    let mut seal = Vec::new();
    Bytes::from(too_long).encode(&mut seal);
    fields.extend(list(&seal));
    assert!(QbftExtra::decode(&list(&fields)).is_err(), "a 66-byte seal is refused");

    // TestWriteValidatorVote: an add vote reads back as 0xff.
    let vote = &v["goquorum_TestWriteValidatorVote"];
    let mut extra = QbftExtra::decode(&bytes(&vote["input_extra"])).unwrap();
    let recipient: Address = vote["input_candidate"].as_str().unwrap().parse().unwrap();
    extra.vote = Some(ValidatorVote { recipient, add: true });
    let read = QbftExtra::decode(&extra.encode()).unwrap();
    assert_eq!(read.vote, Some(ValidatorVote { recipient, add: true }));
    assert_eq!(vote["expected_vote"]["voteType"], "0xff");
}

#[test]
fn besus_fully_populated_extra_encodes_to_its_bytes_and_back() {
    let v =
        &json("besu/extra_data.json")["vectors"]["besu_QbftExtraDataCodecTest_knownRawHexString"];
    let fields = &v["fields"];
    // createSignature(r, s, recId): r (32 bytes) ‖ s (32 bytes) ‖ recId.
    let seal = |r: u8, s: u8| {
        let mut bytes = [0u8; 65];
        bytes[31] = r;
        bytes[63] = s;
        CommittedSeal::from(bytes)
    };
    let expected = QbftExtra {
        vanity: Bytes::from(bytes(&fields["vanity"])),
        validators: addresses(&fields["validators"]),
        vote: Some(ValidatorVote {
            recipient: fields["vote"]["recipient"].as_str().unwrap().parse().unwrap(),
            add: true,
        }),
        round: 0x00FE_DCBA,
        committed_seals: vec![seal(1, 10), seal(10, 1)],
    };
    let rlp = bytes(&v["rlp"]);
    assert_eq!(expected.encode().to_vec(), rlp);
    assert_eq!(QbftExtra::decode(&rlp).unwrap(), expected);
}

#[test]
fn the_stale_qbft_tests_extra_is_refused_as_goquorum_refuses_it() {
    // Written before the 2021 interop changes: a 4-byte round and 0x80 for an absent vote.
    let v = json("qbft-tests/stale/bft_extra_data.json");
    let text = v.to_string();
    let stale: Vec<&str> =
        text.split('"').filter(|s| s.starts_with("0xf8") || s.starts_with("0xf9")).collect();
    assert!(!stale.is_empty(), "the stale file holds encoded extras");
    for hex_text in stale {
        assert!(QbftExtra::decode(&hex::decode(hex_text).unwrap()).is_err(), "{hex_text}");
    }
}

#[test]
fn seven_nodes_qbft_extras_decode_and_the_genesis_lists_its_seven_sorted_validators() {
    let text =
        std::fs::read_to_string(vectors().join("genesis/7nodes-qbft-extradata.txt")).unwrap();
    let mut sizes = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (name, value) = line.split_once(':').unwrap();
        let n: usize = name.trim_end_matches("node").parse().unwrap();
        let input = hex::decode(value.trim().trim_matches('"')).unwrap();
        let extra = QbftExtra::decode(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(extra.validators.len(), n, "{name}");
        assert_eq!((extra.vanity.len(), extra.vote, extra.round), (32, None, 0), "{name}");
        assert!(extra.committed_seals.is_empty());
        assert_eq!(extra.encode().to_vec(), input, "{name} encodes back to its bytes");
        sizes.push(n);
    }
    assert_eq!(sizes, (1..=7).collect::<Vec<_>>());

    let genesis = json("genesis/7nodes-qbft-genesis.json");
    let extra = QbftExtra::decode(&bytes(&genesis["extraData"])).unwrap();
    let mut sorted = extra.validators.clone();
    sorted.sort();
    assert_eq!(extra.validators, sorted, "byte-sorted");
    let expected_prefixes =
        ["6571d97f", "8157d443", "b131288f", "b912de28", "d8dba507", "e36cbeb5", "f512a992"];
    for (validator, prefix) in extra.validators.iter().zip(expected_prefixes) {
        assert!(hex::encode(validator).starts_with(prefix), "{validator}");
    }
}
