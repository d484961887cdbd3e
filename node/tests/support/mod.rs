//! Running the real `veil` binary in tests: start, wait for its HTTP endpoint, call it, kill it.

#![allow(dead_code, unreachable_pub)]

use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// A running `veil` process.
pub struct VeilProcess {
    pub child: Child,
    pub url: String,
    /// The WebSocket endpoint, when started with `--ws`.
    pub ws_url: Option<String>,
    /// The IPC socket, unless started with `--ipcdisable`.
    pub ipc_path: Option<std::path::PathBuf>,
    /// What it logged up to and including the last endpoint line.
    pub startup_log: Vec<String>,
    pub log: mpsc::Receiver<String>,
}

impl VeilProcess {
    /// Starts `veil --dev` on `datadir` with HTTP on a free port and waits for its endpoints
    /// (HTTP, WebSocket with `--ws`, IPC unless `--ipcdisable`).
    pub fn start_dev(datadir: &Path, extra: &[&str]) -> Self {
        Self::start(datadir, &[&["--dev"], extra].concat())
    }

    /// As [`VeilProcess::start_dev`], on a data directory `veil init` made (no `--dev` of its
    /// own).
    pub fn start(datadir: &Path, extra: &[&str]) -> Self {
        let datadir = datadir.display().to_string();
        Self::start_exact(&[&["--http", "--http.port", "0", "--datadir", &datadir], extra].concat())
    }

    /// Starts `veil` with exactly `args` (which must enable HTTP) and waits for its endpoints.
    pub fn start_exact(args: &[&str]) -> Self {
        let extra = args;
        let mut child = Command::new(env!("CARGO_BIN_EXE_veil"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn veil");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Owned from here on, so a failed wait below still kills the process (Drop).
        let mut node = Self {
            child,
            url: String::new(),
            ws_url: None,
            ipc_path: None,
            startup_log: Vec::new(),
            log: rx,
        };
        let want_ws = extra.contains(&"--ws");
        let want_ipc = !extra.contains(&"--ipcdisable");
        let deadline = Instant::now() + Duration::from_secs(60);
        while node.url.is_empty()
            || (want_ws && node.ws_url.is_none())
            || (want_ipc && node.ipc_path.is_none())
        {
            let line = node
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("veil printed its endpoints before the deadline");
            let value = |key: &str| {
                line.split(key).nth(1).and_then(|v| v.split_whitespace().next()).map(str::to_string)
            };
            match value("url=") {
                Some(url) if url.starts_with("http://") => node.url = url,
                Some(url) if url.starts_with("ws://") => node.ws_url = Some(url),
                _ => {}
            }
            if line.contains("IPC endpoint opened") {
                node.ipc_path = value("path=").map(Into::into);
            }
            node.startup_log.push(line);
        }
        node
    }

    /// One JSON-RPC call.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        rpc_call(&self.url, method, params)
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "veil did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for VeilProcess {
    /// A test that fails half-way must not leave a node running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON-RPC call over HTTP/1.1 on a plain TCP socket.
pub fn rpc_call(url: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let (_, json) = http_post(url, &body).map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    match value.get("error") {
        Some(error) => Err(error.to_string()),
        None => Ok(value["result"].clone()),
    }
}

pub use veil_testkit::wait_until;

/// The shared Ethereum test vectors (`../shared/test-vectors`, or `$VEIL_TEST_VECTORS`).
pub fn vectors_dir() -> std::path::PathBuf {
    std::env::var_os("VEIL_TEST_VECTORS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| veil_testkit::package_dir().join("../../shared/test-vectors"))
}

/// Parses a hex quantity.
pub fn quantity(value: &Value) -> u128 {
    u128::from_str_radix(value.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0)
}

pub use veil_testkit::http::post as http_post;

/// The error object of a JSON-RPC call, panicking if it succeeded.
pub fn rpc_error(url: &str, method: &str, params: Value) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let (_, response) = http_post(url, &body).expect("POST");
    let value: Value =
        serde_json::from_str(&response).unwrap_or_else(|e| panic!("{e}: {response}"));
    value.get("error").cloned().unwrap_or_else(|| panic!("{method} succeeded: {value}"))
}

/// Waits for the receipt of `hash`.
pub fn wait_for_receipt(url: &str, hash: &Value) -> Value {
    let mut receipt = Value::Null;
    wait_until("receipt", Duration::from_secs(30), || {
        receipt = rpc_call(url, "eth_getTransactionReceipt", json!([hash])).unwrap_or(Value::Null);
        !receipt.is_null()
    });
    receipt
}

/// The `veil-tm` binary built beside `veil`.
pub fn veil_tm_bin() -> std::path::PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_veil")).with_file_name("veil-tm");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace (cargo build --workspace)",
        bin.display()
    );
    bin
}

/// A free TCP port on loopback for a process the test starts.
pub fn free_port() -> u16 {
    veil_testkit::free_port("127.0.0.1")
}

/// Data directories `root/node{i}` for a raft network of `n`: node keys, p2p ports and one
/// static-nodes.json listing all of them.
pub fn raft_network(root: &Path, n: usize) -> Vec<(std::path::PathBuf, u16)> {
    let mut nodes = Vec::new();
    let mut enodes = Vec::new();
    for i in 0..n {
        let dir = root.join(format!("node{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let key = veil_p2p::NodeKey::load_or_create(&dir.join("nodekey")).unwrap();
        let port = free_port();
        let enode = veil_p2p::Enode {
            public: key.public(),
            host: "127.0.0.1".into(),
            port,
            raft_port: Some(port),
        };
        enodes.push(enode.to_string());
        nodes.push((dir, port));
    }
    for (dir, _) in &nodes {
        std::fs::write(dir.join("static-nodes.json"), serde_json::to_string(&enodes).unwrap())
            .unwrap();
    }
    nodes
}

/// A JSON-RPC client on a node's IPC socket that also hands over subscription notifications.
pub struct Ipc {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: u64,
}

impl Ipc {
    pub fn connect(path: &std::path::Path) -> Self {
        let stream = UnixStream::connect(path).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Self { stream, reader, next_id: 0 }
    }

    /// The next message (answer or notification).
    pub fn line(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// A call; notifications that arrive first are returned alongside.
    pub fn call(&mut self, method: &str, params: Value) -> (Value, Vec<Value>) {
        self.next_id += 1;
        let request =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        self.stream.write_all(request.to_string().as_bytes()).unwrap();
        let mut notes = Vec::new();
        loop {
            let message = self.line();
            if message["id"] == json!(self.next_id) {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return (message["result"].clone(), notes);
            }
            notes.push(message);
        }
    }

    /// A call's result.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        self.call(method, params).0
    }
}

/// `tx` signed by `key`, as `eth_sendRawTransaction` takes it.
pub fn raw_tx(
    tx: impl Into<alloy_consensus::TypedTransaction>,
    key: &secp256k1::SecretKey,
) -> String {
    let signed = veil_primitives::sign_transaction(tx.into(), key);
    format!("0x{}", alloy_primitives::hex::encode(signed.encoded_2718()))
}

/// A gas-free EIP-1559 transaction with a million gas (dev chains are gas-free).
pub fn eip1559(
    chain_id: u64,
    nonce: u64,
    to: alloy_primitives::TxKind,
    input: alloy_primitives::Bytes,
) -> alloy_consensus::TxEip1559 {
    alloy_consensus::TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 1_000_000,
        max_fee_per_gas: 0,
        max_priority_fee_per_gas: 0,
        to,
        value: alloy_primitives::U256::ZERO,
        access_list: Default::default(),
        input,
    }
}

/// Init code that deploys `runtime` (at most 32 bytes): PUSHn runtime, PUSH1 0, MSTORE,
/// PUSH1 len, PUSH1 32-len, RETURN.
pub fn deploying(runtime: &[u8]) -> alloy_primitives::Bytes {
    assert!(!runtime.is_empty() && runtime.len() <= 32);
    let mut code = vec![0x5f + runtime.len() as u8];
    code.extend_from_slice(runtime);
    code.extend_from_slice(&[0x60, 0x00, 0x52, 0x60, runtime.len() as u8]);
    code.extend_from_slice(&[0x60, 32 - runtime.len() as u8, 0xf3]);
    code.into()
}

/// A signed transfer of `1 + nonce` wei from dev account `sender` to 0x7777…, without fees.
pub fn dev_transfer(sender: usize, nonce: u64) -> veil_primitives::Transaction {
    let tx = alloy_consensus::TxLegacy {
        chain_id: Some(veil_node::dev::DEV_CHAIN_ID),
        nonce,
        gas_price: 0,
        gas_limit: 21_000,
        to: alloy_primitives::TxKind::Call(alloy_primitives::Address::repeat_byte(0x77)),
        value: alloy_primitives::U256::from(1 + nonce),
        input: Default::default(),
    };
    veil_primitives::sign_transaction(tx.into(), &veil_node::dev::dev_key(sender))
}

/// Creation code that reverts with Solidity's `Error(string)` for `message` (at most 32
/// bytes), and that revert data as a JSON-RPC hex string, built by the ABI specification: the
/// selector keccak256("Error(string)")[..4], the string's offset (32), its length, its bytes
/// padded to a word.
pub fn reverting_with(message: &str) -> (String, String) {
    assert!(message.len() <= 32);
    let padded = |hex: &str| format!("{hex:0<64}");
    let text = alloy_primitives::hex::encode(message);
    assert_eq!(&alloy_primitives::keccak256("Error(string)")[..4], [0x08, 0xc3, 0x79, 0xa0]);
    let data = format!("0x08c379a0{:064x}{:064x}{}", 32, message.len(), padded(&text));
    // PUSH32 selector, MSTORE at 0; MSTORE 32 at 4; MSTORE len at 36; PUSH32 text, MSTORE at
    // 68; REVERT(0, 100).
    let code = format!(
        "0x7f{}6000526020600452{}6024527f{}604452606460{}fd",
        padded("08c379a0"),
        format_args!("60{:02x}", message.len()),
        padded(&text),
        "00"
    );
    (code, data)
}
