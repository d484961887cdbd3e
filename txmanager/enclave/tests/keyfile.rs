//! Key files: Tessera's unlocked form loads as it is; the locked form needs its password; every
//! error names the file and never shows key bytes.

use veil_enclave::{keyfile, KeyPair, PrivateKey};

#[test]
fn tessera_unlocked_key_files_load_as_they_are() {
    // A Tessera 7nodes key pair (tm1.key / tm1.pub of quorum-examples).
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("tm1.key");
    let public = dir.path().join("tm1.pub");
    std::fs::write(
        &private,
        r#"{"data":{"bytes":"Wl+xSyXVuuqzpvznOS7dOobhcn4C5auxkFRi7yLtgtA="},"type":"unlocked"}"#,
    )
    .unwrap();
    std::fs::write(&public, "BULeR8JyUWhiuuCMU/HLA0Q5pzkYT+cHII3ZKBey3Bo=").unwrap();
    let pair = keyfile::load_key_pair(&public, &private, None).unwrap();
    assert_eq!(pair.public().to_string(), "BULeR8JyUWhiuuCMU/HLA0Q5pzkYT+cHII3ZKBey3Bo=");
}

#[test]
fn locked_keys_need_their_password_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pair = KeyPair::generate();
    let private = dir.path().join("locked.key");
    keyfile::write_private_key(&private, pair.private(), Some("correct horse")).unwrap();
    let text = std::fs::read_to_string(&private).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["type"], "argon2id-xchacha20poly1305");
    assert_eq!(json["data"]["aopts"]["variant"], "id");
    assert!(!text.contains(&base64_of(pair.private())), "the key is not in the file in clear");

    let back = keyfile::read_private_key(&private, Some("correct horse")).unwrap();
    assert_eq!(back.public(), pair.public());
    let wrong = keyfile::read_private_key(&private, Some("wrong")).unwrap_err().to_string();
    assert!(wrong.contains("locked.key") && wrong.contains("wrong password"), "{wrong}");
    let missing = keyfile::read_private_key(&private, None).unwrap_err().to_string();
    assert!(missing.contains("password-locked"), "{missing}");

    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, r#"{"type":"unlocked","data":{"bytes":"AAAA"}}"#).unwrap();
    let error = keyfile::read_private_key(&bad, None).unwrap_err().to_string();
    assert!(error.contains("bad.key") && error.contains("3 bytes, want 32"), "{error}");
    std::fs::write(&bad, "not json").unwrap();
    assert!(keyfile::read_private_key(&bad, None).unwrap_err().to_string().contains("bad.key"));
    std::fs::write(&bad, r#"{"type":"unlocked","data":{"bytes":"AAAA","extra":1}}"#).unwrap();
    assert!(keyfile::read_private_key(&bad, None).is_err(), "unknown fields are refused");

    let other = dir.path().join("other.pub");
    keyfile::write_public_key(&other, &KeyPair::generate().public()).unwrap();
    let mismatch = keyfile::load_key_pair(&other, &private, Some("correct horse")).unwrap_err();
    assert!(mismatch.to_string().contains("does not match"), "{mismatch}");

    // Debug output of keys never shows the secret.
    assert_eq!(format!("{:?}", pair.private()), "PrivateKey(<redacted>)");
    assert!(!format!("{pair:?}").contains(&base64_of(pair.private())));
}

fn base64_of(key: &PrivateKey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(*key.to_bytes())
}
