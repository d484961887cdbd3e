//! The `veil-tm` key commands: keygen with and without a password, update-password, and a TM
//! that refuses to start with a wrong password, naming the file.

mod support;

use std::{path::Path, process::Command};
use support::{veil_tm, Tm, BIN};

/// `veil-tm update-password` on `base.key`, from the password in `old` to the one in `new`
/// (none: unlocked).
fn update_password(base: &Path, old: &Path, new: Option<&Path>) {
    let key = base.with_extension("key");
    let mut args = vec!["update-password", "--keyfile", key.to_str().unwrap()];
    args.extend(["--password-file", old.to_str().unwrap()]);
    if let Some(new) = new {
        args.extend(["--new-password-file", new.to_str().unwrap()]);
    }
    veil_tm(&args);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_keys_generate_rotate_and_refuse_a_wrong_password() {
    let root = tempfile::tempdir().unwrap();
    let mut tm = Tm::new(root.path(), "a", "127.0.0.1", false);
    let (old, new) = (tm.dir.join("old.txt"), tm.dir.join("new.txt"));
    std::fs::write(&old, "correct horse\n").unwrap();
    std::fs::write(&new, "battery staple\n").unwrap();
    let base = tm.dir.join("locked");
    let out = veil_tm(&[
        "keygen",
        "--filename",
        base.to_str().unwrap(),
        "--password-file",
        old.to_str().unwrap(),
    ]);
    let public = std::fs::read_to_string(base.with_extension("pub")).unwrap();
    assert!(out.contains(public.trim()));
    let key_file = std::fs::read_to_string(base.with_extension("key")).unwrap();
    assert!(key_file.contains("argon2id-xchacha20poly1305") && !key_file.contains("unlocked"));

    // The TM reads the password from passwordFile, one line per key.
    let passwords = tm.dir.join("passwords");
    std::fs::write(&passwords, "correct horse\n").unwrap();
    tm.config["keys"] = serde_json::json!({
        "passwordFile": passwords,
        "keyData": [{ "privateKeyPath": base.with_extension("key"), "publicKeyPath": base.with_extension("pub") }]
    });
    tm.start().await;
    tm.kill();

    update_password(&base, &old, Some(&new));
    let refused = Command::new(BIN).arg("--configfile").arg(tm.config_path()).output().unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("locked.key") && message.contains("password"), "{message}");
    std::fs::write(&passwords, "battery staple\n").unwrap();
    tm.start().await;

    // And back to unlocked.
    tm.kill();
    update_password(&base, &new, None);
    assert!(std::fs::read_to_string(base.with_extension("key")).unwrap().contains("unlocked"));
}

#[test]
fn an_unknown_config_field_is_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("tm.json");
    std::fs::write(&path, r#"{"serverConfigs":[],"storage":{"path":"/tmp/x"},"jdbc":{}}"#).unwrap();
    let out = Command::new(BIN).arg("--configfile").arg(&path).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `jdbc`"));
}
