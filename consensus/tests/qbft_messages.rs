//! QBFT messages against upstream bytes (`test-vectors/qbft/`): Consensys/qbft-tests' six
//! encodings decode and encode back byte for byte, and two messages GoQuorum validators
//! broadcast (quoted in public issues) decode to the logged height and round and recover the
//! logged signer.

use alloy_primitives::{hex, Address};
use serde_json::Value;
use std::path::PathBuf;
use veil_consensus::qbft::{message::code, Message};

fn json(path: &str) -> Value {
    let path = std::env::var_os("VEIL_TEST_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/test-vectors")
        })
        .join("qbft")
        .join(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set VEIL_TEST_VECTORS)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap()).unwrap()
}

#[test]
fn qbft_tests_encodings_decode_to_their_fields_and_encode_back() {
    let vectors = json("qbft-tests/messages.json");
    let mut seen = 0;
    for (name, vector) in vectors.as_object().unwrap() {
        let message = &vector["message"];
        let code = match message["type"].as_str().unwrap() {
            "proposal" => code::PROPOSAL,
            "prepare" => code::PREPARE,
            "commit" => code::COMMIT,
            "roundChange" => code::ROUND_CHANGE,
            other => panic!("{name}: type {other}"),
        };
        let rlp = bytes(&vector["rlp"]);
        let decoded = Message::decode(code, &rlp).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded.encode(), rlp, "{name} encodes back to its bytes");
        match &decoded {
            Message::Prepare(p) => {
                let fields = &message["unsignedPrepare"];
                assert_eq!(p.payload.sequence, fields["sequence"].as_u64().unwrap());
                assert_eq!(p.payload.digest.to_vec(), bytes(&fields["digest"]));
                assert_eq!(p.signature().to_vec(), bytes(&message["signature"]));
            }
            Message::Commit(c) => {
                let fields = &message["unsignedCommit"];
                assert_eq!(c.payload.seal.to_vec(), bytes(&fields["commitSeal"]));
                assert_eq!(c.payload.digest.to_vec(), bytes(&fields["digest"]));
            }
            Message::RoundChange(rc) => {
                let fields = &message["signedRoundChange"]["unsignedRoundChange"];
                let prepared = fields["preparedValue"].as_str().map(|d| {
                    (fields["preparedRound"].as_u64().unwrap() as u32, d.parse().unwrap())
                });
                assert_eq!(rc.signed.payload.prepared, prepared, "{name}");
                assert_eq!(rc.prepared_block.is_some(), !message["block"].is_null(), "{name}");
                let prepares = message["prepares"].as_array().unwrap().len();
                assert_eq!(rc.prepares.len(), prepares, "{name}");
            }
            Message::Proposal(p) => {
                let fields = &message["signedProposal"]["unsignedProposal"];
                assert_eq!(p.signed.payload.sequence, fields["sequence"].as_u64().unwrap());
                let mut block = Vec::new();
                alloy_rlp::Encodable::encode(&p.signed.payload.block, &mut block);
                assert_eq!(block, bytes(&fields["block"]), "{name}: the embedded block");
                let count = |key: &str| message[key].as_array().map_or(0, Vec::len);
                assert_eq!(p.round_changes.len(), count("roundChanges"), "{name}");
                assert_eq!(p.prepares.len(), count("prepares"), "{name}");
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 6);
}

#[test]
fn goquorums_broadcast_messages_recover_their_logged_signers() {
    let vectors = json("goquorum/messages_from_issue_logs.json");
    for (name, vector) in vectors["vectors"].as_object().unwrap() {
        let logged = &vector["logged"];
        let code = logged["msg.code"].as_u64().unwrap() as u8;
        let payload = bytes(&vector["payload"]);
        let message = Message::decode(code, &payload).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(message.encode(), payload, "{name}");
        let (sequence, round) = message.view();
        assert_eq!(sequence, logged["msg.sequence"].as_u64().unwrap(), "{name}");
        assert_eq!(u64::from(round), logged["msg.round"].as_u64().unwrap(), "{name}");
        let source: Address = logged["msg.source"].as_str().unwrap().parse().unwrap();
        assert_eq!(message.signer().unwrap(), source, "{name}");
        // A round-0 commit seal signs the block hash itself: the digest, with no more hashing.
        if let Message::Commit(commit) = &message {
            let seal =
                alloy_primitives::Signature::from_raw(commit.payload.seal.as_slice()).unwrap();
            let sealer = veil_primitives::recover_signer(&seal, commit.payload.digest).unwrap();
            assert_eq!((round, sealer), (0, source), "{name}");
        }
    }
}
