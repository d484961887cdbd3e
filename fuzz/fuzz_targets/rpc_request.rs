//! Arbitrary bytes sent to the JSON-RPC layer (every namespace, the IPC framing included) never
//! panic the node, and every answer is JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use veil_node::rpc::{self, Api};

struct Harness {
    runtime: tokio::runtime::Runtime,
    module: jsonrpsee::RpcModule<()>,
    _keystore: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let keystore = tempfile::tempdir().expect("tempdir");
        let context = runtime.block_on(async { rpc::dev_context(keystore.path()) }).expect("context");
        let module = rpc::modules_for(&Arc::new(context), &Api::ALL, true).expect("modules");
        Harness { runtime, module, _keystore: keystore }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let h = harness();
    if let Some(answer) = h.runtime.block_on(rpc::ipc::respond(&h.module, text, 100)) {
        serde_json::from_str::<serde_json::Value>(&answer).expect("answers are JSON");
    }
});
