//! The TM configuration: a Tessera-style file loads; unknown fields are named; every
//! inconsistency is reported at once.

use std::path::Path;
use veil_config::{ServerAddress, TmApp, TmConfig, TmConfigError};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn tessera_style(dir: &Path) -> String {
    write(dir, "tm1.pub", "BULeR8JyUWhiuuCMU/HLA0Q5pzkYT+cHII3ZKBey3Bo=");
    write(
        dir,
        "tm1.key",
        r#"{"type":"unlocked","data":{"bytes":"Wl+xSyXVuuqzpvznOS7dOobhcn4C5auxkFRi7yLtgtA="}}"#,
    );
    format!(
        r#"{{
  "useWhiteList": false,
  "storage": {{ "path": "{dir}/db" }},
  "serverConfigs": [
    {{ "app": "ThirdParty", "enabled": true, "serverAddress": "http://localhost:9081",
       "communicationType": "REST", "cors": {{ "allowedOrigins": ["*"] }} }},
    {{ "app": "Q2T", "enabled": true, "serverAddress": "unix:{dir}/tm.ipc", "communicationType": "REST" }},
    {{ "app": "P2P", "enabled": true, "serverAddress": "http://127.0.0.1:9001",
       "sslConfig": {{ "tls": "OFF" }}, "communicationType": "REST",
       "properties": {{ "partyInfoInterval": "5000" }} }}
  ],
  "peer": [ {{ "url": "http://127.0.0.1:9002" }} ],
  "keys": {{ "keyData": [ {{ "privateKeyPath": "{dir}/tm1.key", "publicKeyPath": "{dir}/tm1.pub" }} ] }},
  "alwaysSendTo": []
}}"#,
        dir = dir.display()
    )
}

#[test]
fn a_tessera_style_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "tm.json", &tessera_style(dir.path()));
    let config = TmConfig::from_file(&path).unwrap();
    let q2t = config.server(TmApp::Q2T).unwrap();
    assert_eq!(
        q2t.server_address.parse::<ServerAddress>().unwrap(),
        ServerAddress::Unix(dir.path().join("tm.ipc"))
    );
    assert_eq!(config.server(TmApp::P2P).unwrap().properties["partyInfoInterval"], "5000");
    assert!(config.server(TmApp::Enclave).is_none(), "in-process enclave");
    assert_eq!(config.payload_size_limit, 16 * 1024 * 1024);
}

#[test]
fn unknown_fields_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = tessera_style(dir.path()).replace("\"useWhiteList\"", "\"useWhitelist\"");
    let path = write(dir.path(), "tm.json", &text);
    let error = TmConfig::from_file(&path).unwrap_err();
    assert!(matches!(error, TmConfigError::Parse { .. }));
    let message = error.to_string();
    assert!(
        message.contains("unknown field `useWhitelist`") && message.contains("tm.json"),
        "{message}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"{{
  "storage": {{ "path": "{dir}/db" }},
  "serverConfigs": [
    {{ "app": "Q2T", "serverAddress": "tcp://nowhere" }},
    {{ "app": "Q2T", "serverAddress": "unix:/tmp/x.ipc", "communicationType": "GRPC" }}
  ],
  "peer": [ {{ "url": "ftp://peer" }} ],
  "keys": {{ "keyData": [ {{ "privateKeyPath": "{dir}/missing.key", "publicKeyPath": "{dir}/missing.pub" }} ] }},
  "alwaysSendTo": ["AAAA"]
}}"#,
        dir = dir.path().display()
    );
    let path = write(dir.path(), "tm.json", &text);
    // A malformed key in alwaysSendTo fails parsing first, naming the problem.
    let message = TmConfig::from_file(&path).unwrap_err().to_string();
    assert!(message.contains("wrong length: 3 bytes, want 32"), "{message}");

    let path = write(dir.path(), "tm.json", &text.replace(r#"["AAAA"]"#, "[]"));
    let TmConfigError::Invalid { problems, .. } = TmConfig::from_file(&path).unwrap_err() else {
        panic!("expected validation problems");
    };
    let all = problems.join("\n");
    for expected in [
        "serverConfigs[0] (Q2T).serverAddress: \"tcp://nowhere\" is neither",
        "serverConfigs[1] (Q2T): a second Q2T server",
        "serverConfigs[1] (Q2T).communicationType: only \"REST\"",
        "serverConfigs: no P2P server",
        "keys.keyData[0].privateKeyPath:",
        "keys.keyData[0].publicKeyPath:",
        "peer[0].url: \"ftp://peer\"",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}
