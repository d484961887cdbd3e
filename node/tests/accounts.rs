//! Accounts: keystore files in geth's format load and sign; files we write have geth's shape;
//! `veil account new|list|import`; the personal namespace and its unlock rules over RPC.

mod support;

use alloy_primitives::{eip191_hash_message, Address, Bytes, Signature, B256};
use serde_json::{json, Value};
use std::{path::Path, process::Command};
use support::{rpc_call, rpc_error, VeilProcess};
use veil_node::accounts::{AccountError, Accounts};

/// The Web3 Secret Storage test vectors' key and address (see tests/fixtures/README.md).
const SPEC_KEY: &str = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
const SPEC_ADDRESS: &str = "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b";

fn fixture(name: &str) -> std::path::PathBuf {
    veil_testkit::package_dir().join("tests/fixtures").join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn geth_format_keystores_unlock_and_sign() {
    let address: Address = SPEC_ADDRESS.parse().unwrap();
    for name in ["keystore-pbkdf2", "keystore-scrypt"] {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture(name), dir.path());
        let accounts = Accounts::open(dir.path()).unwrap();
        assert_eq!(accounts.addresses(), vec![address], "{name}");

        let hash = B256::repeat_byte(0x42);
        assert!(matches!(accounts.sign_hash(address, hash), Err(AccountError::Locked)), "{name}");
        assert!(matches!(
            accounts.unlock(address, "not the password", None),
            Err(AccountError::WrongPassword)
        ));
        accounts.unlock(address, "testpassword", None).unwrap();
        let signature = accounts.sign_hash(address, hash).unwrap();
        // Independent check: the spec's private key signs to the same recoverable address.
        let key =
            secp256k1::SecretKey::from_slice(&alloy_primitives::hex::decode(SPEC_KEY).unwrap())
                .unwrap();
        assert_eq!(veil_primitives::address_of(&key), address);
        assert_eq!(veil_primitives::recover_signer(&signature, hash).unwrap(), address, "{name}");
        assert!(accounts.lock(address));
        assert!(matches!(accounts.sign_hash(address, hash), Err(AccountError::Locked)));
    }
}

#[test]
fn written_keystore_files_have_geths_shape_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::open(dir.path()).unwrap();
    let key = B256::from_slice(&alloy_primitives::hex::decode(SPEC_KEY).unwrap());
    let address = accounts.import(&key, "pw").unwrap();
    assert_eq!(address, SPEC_ADDRESS.parse::<Address>().unwrap());
    assert!(matches!(accounts.import(&key, "pw"), Err(AccountError::AlreadyExists)));

    let (_, path) = accounts.list().unwrap().remove(0);
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("UTC--") && name.ends_with("--008aeeda4d805471df9b2a5b0f38a0c3bcba786b"),
        "{name}"
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["version"], 3);
    assert_eq!(json["crypto"]["cipher"], "aes-128-ctr");
    assert_eq!(json["crypto"]["kdf"], "scrypt");
    let address_field = json["address"].as_str().unwrap().trim_start_matches("0x").to_lowercase();
    assert_eq!(address_field, "008aeeda4d805471df9b2a5b0f38a0c3bcba786b");
    for field in ["n", "r", "p", "dklen", "salt"] {
        assert!(!json["crypto"]["kdfparams"][field].is_null(), "kdfparams.{field}: {json}");
    }

    // A fresh handle on the directory (a restart) finds and unlocks it.
    let reopened = Accounts::open(dir.path()).unwrap();
    reopened.unlock(address, "pw", None).unwrap();
    let hash = B256::repeat_byte(1);
    let signature = reopened.sign_hash(address, hash).unwrap();
    assert_eq!(veil_primitives::recover_signer(&signature, hash).unwrap(), address);
}

fn veil(args: &[&str], datadir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .arg("--datadir")
        .arg(datadir)
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn account_commands_create_list_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password.txt");
    std::fs::write(&password, "secret\n").unwrap();
    let pw = password.to_str().unwrap();

    let (ok, out) = veil(&["account", "new", "--password", pw], dir.path());
    assert!(ok, "{out}");
    let created = out
        .lines()
        .find_map(|l| l.strip_prefix("Public address of the key:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("{out}"))
        .to_lowercase();

    let keyfile = dir.path().join("key.hex");
    std::fs::write(&keyfile, format!("{SPEC_KEY}\n")).unwrap();
    let (ok, out) =
        veil(&["account", "import", keyfile.to_str().unwrap(), "--password", pw], dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("008aeeda4d805471df9b2a5b0f38a0c3bcba786b"), "{out}");
    let (ok, out) =
        veil(&["account", "import", keyfile.to_str().unwrap(), "--password", pw], dir.path());
    assert!(!ok && out.contains("account already exists"), "{out}");

    std::fs::write(&keyfile, "not a key").unwrap();
    let (ok, out) =
        veil(&["account", "import", keyfile.to_str().unwrap(), "--password", pw], dir.path());
    assert!(!ok && out.contains("32-byte private key"), "{out}");

    let (ok, out) = veil(&["account", "list"], dir.path());
    assert!(ok, "{out}");
    assert!(out.contains(&format!("{{{}}}", created.trim_start_matches("0x"))), "{out}");
    assert!(out.contains("{008aeeda4d805471df9b2a5b0f38a0c3bcba786b}"), "{out}");
    assert!(out.contains("Account #1"), "{out}");
    assert!(!out.contains("secret"), "the password never appears: {out}");
}

#[test]
fn personal_namespace_signs_and_enforces_unlock_rules() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("keystore-pbkdf2"), &dir.path().join("keystore"));

    // HTTP without --allow-insecure-unlock: unlocking is refused, as in geth.
    let node = VeilProcess::start_dev(dir.path(), &["--ipcdisable", "--http.api", "eth,personal"]);
    let error =
        rpc_error(&node.url, "personal_unlockAccount", json!([SPEC_ADDRESS, "testpassword", 0]));
    assert!(
        error["message"].as_str().unwrap().contains("unlock with HTTP access is forbidden"),
        "{error}"
    );
    drop(node);

    let node = VeilProcess::start_dev(
        dir.path(),
        &["--ipcdisable", "--http.api", "eth,personal", "--allow-insecure-unlock"],
    );
    let url = node.url.as_str();
    let listed = rpc_call(url, "personal_listAccounts", json!([])).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().eq_ignore_ascii_case(SPEC_ADDRESS)),
        "{listed}"
    );

    let data = "0xdeadbeef";
    let locked = rpc_error(url, "eth_sign", json!([SPEC_ADDRESS, data]));
    assert_eq!(locked["message"], "authentication needed: password or unlock");
    let wrong = rpc_error(url, "personal_unlockAccount", json!([SPEC_ADDRESS, "nope", 60]));
    assert_eq!(wrong["message"], "could not decrypt key with given password");
    assert_eq!(
        rpc_call(url, "personal_unlockAccount", json!([SPEC_ADDRESS, "testpassword", 60])).unwrap(),
        true
    );

    let signature: Bytes =
        serde_json::from_value(rpc_call(url, "eth_sign", json!([SPEC_ADDRESS, data])).unwrap())
            .unwrap();
    assert_eq!(signature.len(), 65);
    assert!(signature[64] == 27 || signature[64] == 28);
    let parsed = Signature::from_raw(&signature).unwrap();
    let message = alloy_primitives::hex::decode(data).unwrap();
    let signer = veil_primitives::recover_signer(&parsed, eip191_hash_message(&message)).unwrap();
    assert_eq!(signer, SPEC_ADDRESS.parse::<Address>().unwrap());
    let recovered = rpc_call(url, "personal_ecRecover", json!([data, signature])).unwrap();
    assert!(recovered.as_str().unwrap().eq_ignore_ascii_case(SPEC_ADDRESS));

    // personal_sign with the password needs no unlock; the signature is the same (RFC 6979).
    assert_eq!(rpc_call(url, "personal_lockAccount", json!([SPEC_ADDRESS])).unwrap(), true);
    let with_password =
        rpc_call(url, "personal_sign", json!([data, SPEC_ADDRESS, "testpassword"])).unwrap();
    assert_eq!(with_password, json!(signature));

    // A new account over RPC appears in the list and the keystore directory.
    let created = rpc_call(url, "personal_newAccount", json!(["pw"])).unwrap();
    let listed = rpc_call(url, "eth_accounts", json!([])).unwrap();
    assert!(listed.as_array().unwrap().contains(&created), "{listed}");
}
