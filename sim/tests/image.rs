//! The container image and the compose network (issue 19). The Dockerfile's `prebuilt`
//! target, built with podman from this build's binaries on a Debian base made by
//! `deploy/image/base.sh` (no registry is reachable here), holds `veil`, `veil-tm` and
//! `veil-sim`, runs as an unprivileged user, and a node started from it answers JSON-RPC on
//! its published port and passes the image's health check. `deploy/compose`'s network —
//! four QBFT validators, an RPC node, three members each with a TM, started by
//! podman-compose from that image — runs the private demo: member1 deploys SimpleStorage(42)
//! for member3, which reads 42, while member2 and the RPC node have no such contract. Needs
//! podman, podman-compose and debootstrap (`.ci/run` installs them) and root.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

fn podman(args: &[&str]) -> (bool, String) {
    let out = Command::new("podman").args(args).output().expect("podman runs");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn repo() -> PathBuf {
    veil_testkit::package_dir().join("..")
}

/// Removes the test's container and image when dropped.
struct Cleanup {
    container: String,
    image: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", &self.container]);
        let _ = podman(&["rmi", "-f", &self.image]);
    }
}

/// A build context with what the `prebuilt` target reads: the Dockerfile, the health check,
/// and this build's binaries in `deploy/image/bin/`.
fn context(dir: &Path) {
    let bin = dir.join("deploy/image/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(repo().join("Dockerfile"), dir.join("Dockerfile")).unwrap();
    std::fs::copy(repo().join("deploy/image/healthcheck"), dir.join("deploy/image/healthcheck"))
        .unwrap();
    let built = Path::new(env!("CARGO_BIN_EXE_veil-sim")).parent().unwrap().to_path_buf();
    for name in ["veil", "veil-tm", "veil-sim"] {
        std::fs::copy(built.join(name), bin.join(name)).unwrap();
    }
}

/// Builds the `prebuilt` image from this build's binaries as `image`.
fn build_image(image: &str) {
    let base = Command::new(repo().join("deploy/image/base.sh")).output().expect("base.sh runs");
    assert!(base.status.success(), "{}", String::from_utf8_lossy(&base.stderr));
    let root = tempfile::tempdir().unwrap();
    context(root.path());
    let context_dir = root.path().display().to_string();
    let (ok, out) = podman(&[
        "build",
        "--format",
        "docker",
        "--target",
        "prebuilt",
        "--build-arg",
        "RUNTIME_IMAGE=localhost/veil-base:bookworm",
        "-t",
        image,
        &context_dir,
    ]);
    assert!(ok, "{out}");
}

/// A JSON-RPC call's result, `None` on no answer or an error.
fn call(url: &str, method: &str, params: serde_json::Value) -> Option<serde_json::Value> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .ok()?
        .post(url)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .and_then(|r| r.json::<serde_json::Value>())
        .ok()?
        .get("result")
        .cloned()
}

#[test]
fn the_image_runs_a_node_as_an_unprivileged_user_that_answers_and_is_healthy() {
    let id = std::process::id();
    let cleanup = Cleanup {
        container: format!("veil-image-test-{id}"),
        image: format!("localhost/veil:test-{id}"),
    };
    build_image(&cleanup.image);

    for tool in ["veil-tm", "veil-sim"] {
        let (ok, out) = podman(&["run", "--rm", "--entrypoint", tool, &cleanup.image, "--help"]);
        assert!(ok && out.contains("Usage"), "{tool}: {out}");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, out) = podman(&[
        "run",
        "-d",
        "--name",
        &cleanup.container,
        "-p",
        &format!("127.0.0.1:{port}:8545"),
        &cleanup.image,
        "--dev",
        "--http",
        "--http.addr",
        "0.0.0.0",
        "--datadir",
        "/data/dev",
    ]);
    assert!(ok, "{out}");
    let url = format!("http://127.0.0.1:{port}");
    veil_testkit::wait_until(
        "the node in the container to answer",
        Duration::from_secs(60),
        || {
            reqwest::blocking::Client::new()
            .post(&url)
            .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}))
            .send()
            .and_then(|r| r.json::<serde_json::Value>())
            .is_ok_and(|answer| answer["result"] == "0x539")
        },
    );
    let (ok, out) = podman(&["healthcheck", "run", &cleanup.container]);
    assert!(ok, "the image's health check failed: {out}");
    let (ok, out) = podman(&["exec", &cleanup.container, "id", "-u"]);
    assert!(ok && out.trim() == "1000", "the node runs as uid {out}");
}

/// podman-compose (from PyPI: Debian's 1.0.3 cannot give a service a fixed address).
fn podman_compose() -> Command {
    let mut command = Command::new("python3");
    command.args(["-m", "podman_compose"]);
    command
}

/// Stops the compose network and removes the test's image when dropped.
struct Compose {
    file: PathBuf,
    image: String,
}

impl Drop for Compose {
    fn drop(&mut self) {
        let _ = podman_compose()
            .arg("-f")
            .arg(&self.file)
            .arg("down")
            .env("VEIL_IMAGE", &self.image)
            .output();
        let _ = podman(&["rmi", "-f", &self.image]);
    }
}

/// SimpleStorage(42)'s deployment data (veil-sim's demo contract: `get()` is 0x6d4ce63c).
const SIMPLE_STORAGE_42: &str = "0x602060506000396000516000556037601960003960376000f360003560e01c806360fe47b114601d57636d4ce63c14602b57600080fd5b6004358060005560006000a1005b60005460005260206000f3000000000000000000000000000000000000000000000000000000000000002a";

#[test]
fn the_compose_network_runs_the_private_demo_across_its_containers() {
    let id = std::process::id();
    let image = format!("localhost/veil:compose-{id}");
    build_image(&image);
    // deploy/compose as it is, but for its published ports (the test reaches the containers
    // at their addresses, and another test may hold a port).
    let root = tempfile::tempdir().unwrap();
    let compose = repo().join("deploy/compose");
    let copy = Command::new("cp").arg("-r").arg(&compose).arg(root.path()).status().unwrap();
    assert!(copy.success());
    let dir = root.path().join("compose");
    let file = dir.join("docker-compose.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut kept = Vec::new();
    let mut in_ports = false;
    for line in text.lines() {
        if line.trim() == "ports:" {
            in_ports = true;
            continue;
        }
        if in_ports && line.trim_start().starts_with("- \"") {
            continue;
        }
        in_ports = false;
        kept.push(line);
    }
    std::fs::write(&file, kept.join("\n")).unwrap();
    let network = Compose { file: file.clone(), image: image.clone() };
    let services = [
        "validator1",
        "validator2",
        "validator3",
        "validator4",
        "rpcnode",
        "member1tessera",
        "member2tessera",
        "member3tessera",
        "member1",
        "member2",
        "member3",
    ];
    let up = podman_compose()
        .arg("-f")
        .arg(&network.file)
        .args(["up", "-d"])
        .args(services)
        .env("VEIL_IMAGE", &image)
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}{}",
        String::from_utf8_lossy(&up.stdout),
        String::from_utf8_lossy(&up.stderr)
    );

    let url = |last: u8| format!("http://172.16.239.{last}:8545");
    let (member1, member2, member3, rpcnode) = (url(16), url(17), url(18), url(15));
    veil_testkit::wait_until(
        "blocks on every member and the RPC node",
        Duration::from_secs(180),
        || {
            [&member1, &member2, &member3, &rpcnode].iter().all(|u| {
                call(u, "eth_blockNumber", serde_json::json!([])).is_some_and(|h| h != "0x0")
            })
        },
    );
    let member3_key = std::fs::read_to_string(dir.join("config/member3tessera/tm.pub")).unwrap();
    let from = call(&member1, "eth_accounts", serde_json::json!([])).unwrap()[0].clone();
    let hash = call(
        &member1,
        "eth_sendTransaction",
        serde_json::json!([{ "from": from, "data": SIMPLE_STORAGE_42, "gas": "0x100000",
                             "privateFor": [member3_key.trim()] }]),
    )
    .expect("member1 sends the private deployment");
    let mut receipt = serde_json::Value::Null;
    veil_testkit::wait_until("the deployment mined on member1", Duration::from_secs(60), || {
        receipt = call(&member1, "eth_getTransactionReceipt", serde_json::json!([hash]))
            .unwrap_or_default();
        !receipt.is_null()
    });
    let contract = receipt["contractAddress"].clone();
    let block = receipt["blockNumber"].as_str().unwrap().to_string();
    let get = |u: &str| {
        veil_testkit::wait_until("the block on every node", Duration::from_secs(60), || {
            call(u, "eth_getBlockByNumber", serde_json::json!([block, false]))
                .is_some_and(|b| !b.is_null())
        });
        call(u, "eth_call", serde_json::json!([{ "to": contract, "data": "0x6d4ce63c" }, "latest"]))
            .unwrap()
    };
    let forty_two = format!("0x{:064x}", 42);
    assert_eq!(get(&member1), forty_two);
    assert_eq!(get(&member3), forty_two);
    assert_eq!(get(&member2), "0x", "member2 is not a party");
    assert_eq!(get(&rpcnode), "0x", "the RPC node is not a party");
    drop(network);
}
