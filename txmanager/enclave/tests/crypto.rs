//! Payload encryption: round trips for any payload and recipient set, only recipients can open,
//! and any flipped bit in ciphertext, nonce or box is refused.

use proptest::prelude::*;
use veil_enclave::{Enclave, EnclaveError, EncodedPayload, KeyPair, LocalEnclave, TmPublicKey};

fn enclaves(n: usize, cache: usize) -> (Vec<LocalEnclave>, Vec<TmPublicKey>) {
    let pairs: Vec<KeyPair> = (0..n).map(|_| KeyPair::generate()).collect();
    let keys = pairs.iter().map(KeyPair::public).collect();
    let enclaves =
        pairs.into_iter().map(|p| LocalEnclave::with_cache_capacity(vec![p], cache)).collect();
    (enclaves, keys)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_recipient_and_the_sender_read_the_plaintext(
        plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
        recipients in 1usize..6,
        cache in prop_oneof![Just(0usize), Just(16usize)],
    ) {
        let (enclaves, keys) = enclaves(recipients + 2, cache);
        let sender = keys[0];
        let to = &keys[1..=recipients];
        let payload = enclaves[0].encrypt(&sender, &plaintext, to).unwrap();
        let decoded = EncodedPayload::decode(&payload.encode()).unwrap();
        prop_assert_eq!(&decoded, &payload);
        prop_assert_eq!(decoded.boxes.len(), recipients + 1, "the sender is a recipient");
        prop_assert_eq!(&enclaves[0].decrypt(&decoded, &sender).unwrap()[..], &plaintext[..]);
        for (i, key) in to.iter().enumerate() {
            let copy = decoded.for_recipients(&[*key]).unwrap();
            prop_assert_eq!(copy.boxes.len(), 1);
            prop_assert_eq!(copy.hash(), payload.hash());
            prop_assert_eq!(&enclaves[i + 1].decrypt(&copy, key).unwrap()[..], &plaintext[..]);
        }
        // The one left out cannot, with the whole payload in hand.
        let outsider = keys[recipients + 1];
        prop_assert_eq!(
            enclaves[recipients + 1].decrypt(&decoded, &outsider).unwrap_err(),
            EnclaveError::NotARecipient(outsider)
        );
    }
}

#[test]
fn a_box_copied_to_another_name_does_not_open() {
    let (enclaves, keys) = enclaves(3, 16);
    let mut payload = enclaves[0].encrypt(&keys[0], b"secret", &[keys[1]]).unwrap();
    // The outsider relabels B's box as its own: the box's AAD and key derivation bind the name.
    payload.boxes[1].recipient = keys[2];
    assert_eq!(
        enclaves[2].decrypt(&payload, &keys[2]).unwrap_err(),
        EnclaveError::Authentication("recipient box")
    );
}

#[test]
fn any_flipped_bit_in_ciphertext_nonce_or_box_is_refused() {
    let (enclaves, keys) = enclaves(2, 16);
    let payload = enclaves[0].encrypt(&keys[0], &[0x5a; 100], &[keys[1]]).unwrap();
    let bytes = payload.encode();
    // Flip every bit from the payload nonce to the end (the sender key and header are
    // authenticated too, but flipping them mostly changes whose box we look for). A flip in the
    // shared part stops both parties; a flip in a box stops that box's owner.
    let boxes_start = bytes.len() - 2 * 104;
    let mut refused = 0;
    for byte in 37..bytes.len() {
        for bit in 0..8 {
            let mut tampered = bytes.clone();
            tampered[byte] ^= 1 << bit;
            let Ok(decoded) = EncodedPayload::decode(&tampered) else {
                refused += 1;
                continue;
            };
            let affected: Vec<usize> =
                if byte < boxes_start { vec![0, 1] } else { vec![(byte - boxes_start) / 104] };
            for party in affected {
                let opened = enclaves[party].decrypt(&decoded, &keys[party]);
                assert!(opened.is_err(), "byte {byte} bit {bit} party {party}");
            }
            refused += 1;
        }
    }
    assert_eq!(refused, (bytes.len() - 37) * 8);
}

#[test]
fn malformed_bytes_are_errors_and_recipients_can_be_added_by_the_sender_only() {
    assert!(EncodedPayload::decode(b"").is_err());
    assert!(EncodedPayload::decode(b"NOPE").is_err());
    let (enclaves, keys) = enclaves(3, 16);
    let payload = enclaves[0].encrypt(&keys[0], b"late joiner", &[keys[1]]).unwrap();
    let mut bytes = payload.encode();
    bytes.push(0);
    assert!(EncodedPayload::decode(&bytes).is_err(), "trailing byte");
    bytes.truncate(bytes.len() - 2);
    assert!(EncodedPayload::decode(&bytes).is_err(), "short box");

    assert_eq!(
        enclaves[1].add_recipients(&payload, &[keys[2]]).unwrap_err(),
        EnclaveError::NotTheSender(keys[0])
    );
    let extended = enclaves[0].add_recipients(&payload, &[keys[2], keys[1]]).unwrap();
    assert_eq!(extended.boxes.len(), 3, "existing recipients are not sealed twice");
    assert_eq!(extended.hash(), payload.hash(), "same ciphertext, same key");
    assert_eq!(&enclaves[2].decrypt(&extended, &keys[2]).unwrap()[..], b"late joiner");
    assert_eq!(
        enclaves[0].encrypt(&keys[1], b"x", &[]).unwrap_err(),
        EnclaveError::UnknownKey(keys[1])
    );
}

#[test]
fn the_sender_opens_a_recipients_copy_pushed_back_to_it_and_no_one_else_does() {
    let (enclaves, keys) = enclaves(3, 0);
    let payload = enclaves[0].encrypt(&keys[0], b"lost and found", &[keys[1]]).unwrap();
    // What B holds, and pushes back when A lost its store: only B's box.
    let copy = payload.for_recipients(&[keys[1]]).unwrap();
    assert_eq!(copy.recipients(), vec![keys[1]]);
    assert_eq!(&enclaves[0].decrypt(&copy, &keys[0]).unwrap()[..], b"lost and found");
    assert_eq!(
        enclaves[2].decrypt(&copy, &keys[2]).unwrap_err(),
        EnclaveError::NotARecipient(keys[2])
    );
}

#[test]
fn merging_copies_gathers_each_recipients_box_once() {
    let (enclaves, keys) = enclaves(3, 16);
    let payload = enclaves[0].encrypt(&keys[0], b"x", &[keys[1], keys[2]]).unwrap();
    let mut merged = payload.for_recipients(&[keys[1]]).unwrap();
    merged.merge_boxes(payload.for_recipients(&[keys[2], keys[1]]).unwrap());
    assert_eq!(merged.recipients(), vec![keys[1], keys[2]]);
    assert_eq!(&enclaves[2].decrypt(&merged, &keys[2]).unwrap()[..], b"x");
}

/// Privacy metadata makes a version 2 payload that reads back whole and still decrypts (the
/// ciphertext's AAD is version 1's); a standard payload stays version 1; truncated metadata
/// is an error.
#[test]
fn privacy_metadata_round_trips_as_version_2_and_standard_payloads_stay_version_1() {
    use veil_enclave::{AffectedTransaction, PayloadHash, PrivacyFlag, PrivacyMetadata};
    let (enclaves, keys) = enclaves(2, 16);
    let standard = enclaves[0].encrypt(&keys[0], b"call", &[keys[1]]).unwrap();
    assert_eq!(standard.encode()[4], 1, "standard private is version 1");
    let mut protected = standard.clone();
    protected.privacy = Some(PrivacyMetadata {
        flag: PrivacyFlag::StateValidation,
        affected: vec![AffectedTransaction { hash: PayloadHash([3; 64]), security_hash: [4; 64] }],
        exec_hash: b"0xabc".to_vec(),
        mandatory: vec![keys[1]],
        recipients: keys.clone(),
    });
    let bytes = protected.encode();
    assert_eq!(bytes[4], 2);
    let decoded = EncodedPayload::decode(&bytes).unwrap();
    assert_eq!(decoded, protected);
    assert_eq!(decoded.hash(), standard.hash(), "the metadata is not part of the hash");
    assert_eq!(&enclaves[1].decrypt(&decoded, &keys[1]).unwrap()[..], b"call");
    for cut in 1..40 {
        assert!(EncodedPayload::decode(&bytes[..bytes.len() - cut]).is_err(), "cut {cut}");
    }
    let mut flag_zero = bytes.clone();
    let flag_at = standard.encode().len();
    flag_zero[flag_at] = 0;
    assert!(EncodedPayload::decode(&flag_zero).is_err(), "version 2 needs an enhanced flag");
}
