//! Real `veil-tm` processes for end-to-end tests (the node's and the TM's own): keys made by
//! the binary, a Tessera-shaped configuration ([`veil_config::LocalTm`]) the test may edit
//! before starting, start and wait until up, pause (SIGSTOP), resume, kill -9.

use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};
use veil_primitives::TmPublicKey;

/// One TM's files, configuration and (once started) process; killed when dropped.
#[derive(Debug)]
pub struct TmProcess {
    /// Its name in messages.
    pub name: String,
    /// The `veil-tm` binary.
    pub bin: PathBuf,
    /// Its directory: keys, `tm.json`, `tm.log`, the store, the Q2T socket.
    pub dir: PathBuf,
    /// Its public key.
    pub key: TmPublicKey,
    /// The host its APIs listen on.
    pub ip: String,
    /// Where peers reach its P2P API.
    pub p2p_url: String,
    /// Its ThirdParty API.
    pub third_party_url: String,
    /// The configuration written at each start; edit it to test an option.
    pub config: Value,
    child: Option<Child>,
}

/// Runs `bin` with `args` to completion (within a minute); panics with its output when it
/// fails.
pub fn run_to_end(bin: &Path, args: &[&str]) -> String {
    let mut command = Command::new(bin);
    command.args(args);
    let (ok, text) = crate::output_within(command, std::time::Duration::from_secs(60));
    assert!(ok, "veil-tm {args:?} failed: {text}");
    text
}

/// Generates `dir/name.{key,pub}` with `veil-tm keygen`; answers the public key.
pub fn keygen(bin: &Path, dir: &Path, name: &str) -> TmPublicKey {
    let base = dir.join(name);
    run_to_end(bin, &["keygen", "--filename", base.to_str().expect("a UTF-8 path")]);
    let text = std::fs::read_to_string(base.with_extension("pub")).expect("the public key file");
    text.trim().parse().expect("a TM public key")
}

impl TmProcess {
    /// Keys and a configuration under `root/name`; its APIs on free ports of `ip`, P2P with
    /// TLS when `https`.
    pub fn new(bin: &Path, root: &Path, name: &str, ip: &str, https: bool) -> Self {
        let scheme = if https { "https" } else { "http" };
        let p2p_url = format!("{scheme}://{ip}:{}", crate::free_port(ip));
        Self::build(bin, root, name, ip, p2p_url, None)
    }

    /// As [`TmProcess::new`] (plain HTTP), but peers reach its P2P API through a relay the
    /// test runs: `relay` gets the port the API listens on and answers the relay's URL,
    /// which the TM advertises.
    pub fn behind_relay(
        bin: &Path,
        root: &Path,
        name: &str,
        ip: &str,
        relay: impl FnOnce(u16) -> String,
    ) -> Self {
        let port = crate::free_port(ip);
        let binding = format!("http://{ip}:{port}");
        Self::build(bin, root, name, ip, relay(port), Some(binding))
    }

    fn build(
        bin: &Path,
        root: &Path,
        name: &str,
        ip: &str,
        p2p_url: String,
        p2p_binding: Option<String>,
    ) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("the TM's directory");
        let key = keygen(bin, &dir, "key");
        let third_party_url = format!("http://{ip}:{}", crate::free_port(ip));
        let config = veil_config::LocalTm {
            socket: dir.join("tm.ipc"),
            p2p_url: p2p_url.clone(),
            p2p_binding,
            third_party_url: third_party_url.clone(),
            key_base: dir.join("key"),
            storage: dir.join("db"),
            peers: Vec::new(),
            party_info_interval_ms: Some(100),
        }
        .to_json();
        Self {
            name: name.into(),
            bin: bin.to_path_buf(),
            dir,
            key,
            ip: ip.into(),
            p2p_url,
            third_party_url,
            config,
            child: None,
        }
    }

    /// Adds a peer's P2P URL to the configuration.
    pub fn add_peer(&mut self, url: &str) {
        self.peers_mut().push(json!({ "url": url }));
    }

    /// Replaces the configuration's peers.
    pub fn set_peers(&mut self, urls: &[String]) {
        *self.peers_mut() = urls.iter().map(|url| json!({ "url": url })).collect();
    }

    fn peers_mut(&mut self) -> &mut Vec<Value> {
        self.config["peer"].as_array_mut().expect("LocalTm writes a peer array")
    }

    /// Its Q2T unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("tm.ipc")
    }

    /// Where the configuration is written.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("tm.json")
    }

    /// Its log (debug level).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("tm.log")
    }

    /// Its payload store's directory.
    pub fn store_path(&self) -> PathBuf {
        self.dir.join("db")
    }

    /// Writes the configuration and starts the process, logging (debug) to `tm.log`, without
    /// waiting: see [`TmProcess::is_up`] and [`TmProcess::start`].
    pub fn spawn(&mut self) {
        let config = serde_json::to_vec_pretty(&self.config).expect("JSON");
        std::fs::write(self.config_path(), config).expect("write tm.json");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open tm.log");
        let child = Command::new(&self.bin)
            .arg("--configfile")
            .arg(self.config_path())
            .env("RUST_LOG", "debug")
            .stdout(log.try_clone().expect("tm.log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn veil-tm");
        self.child = Some(child);
    }

    /// Whether it is up: `/upcheck` on its Q2T socket (what a node talks to) says so, and
    /// every TCP server of its configuration accepts connections (the TM starts its servers
    /// one after another, so the socket answering says nothing of the others).
    pub fn is_up(&self) -> bool {
        crate::http::get_unix(&self.socket(), "/upcheck").is_some_and(|(status, _)| status == 200)
            && self.listening()
    }

    /// Whether every enabled TCP server of its configuration (Q2T, P2P, ThirdParty, at their
    /// binding addresses) accepts connections. A configuration the TM cannot read counts as
    /// listening: the process exits, which [`TmProcess::assert_running`] reports.
    pub fn listening(&self) -> bool {
        use veil_config::{ServerAddress, TmApp, TmConfig};
        let Ok(config) = serde_json::from_value::<TmConfig>(self.config.clone()) else {
            return true;
        };
        config
            .server_configs
            .iter()
            .filter(|server| server.enabled && server.app != TmApp::Enclave)
            .all(|server| {
                let address = server.binding_address.as_ref().unwrap_or(&server.server_address);
                match address.parse::<ServerAddress>() {
                    Ok(ServerAddress::Http { authority, .. }) => {
                        std::net::TcpStream::connect(authority).is_ok()
                    }
                    _ => true,
                }
            })
    }

    /// Panics with its log if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            panic!(
                "{} exited with {status}: {}",
                self.name,
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
        }
    }

    /// [`TmProcess::spawn`], then waits until it is up (blocking the thread).
    pub fn start(&mut self) {
        self.spawn();
        let what = format!("{} to come up", self.name);
        crate::wait_until(&what, Duration::from_secs(60), || {
            self.assert_running();
            self.is_up()
        });
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes it (SIGSTOP): its sockets still accept connections, but nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused TM run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the TM runs").to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// kill -9, and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TmProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
