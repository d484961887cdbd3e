//! The container image and the compose network (issue 19). The Dockerfile's `prebuilt`
//! target, built with podman from this build's binaries on a Debian base made by
//! `deploy/image/base.sh` (no registry is reachable here), holds `veil`, `veil-tm` and
//! `veil-sim`, runs as an unprivileged user, and a node started from it answers JSON-RPC on
//! its published port and passes the image's health check. `deploy/compose`'s network —
//! four QBFT validators, an RPC node, three members each with a TM, started by
//! podman-compose from that image — runs the private demo: member1 deploys SimpleStorage(42)
//! for member3, which reads 42, while member2 and the RPC node have no such contract; its
//! Prometheus (Debian's binary in a stand-in for the official image) scrapes every node and
//! TM.
//! `deploy/helm`'s charts pass `helm lint`, render objects that Kubernetes' schemas accept,
//! and, run as pods by `podman kube play`, make a network that runs the same demo. Needs
//! podman, podman-compose, helm, kubernetes-validate, catatonit and debootstrap (`.ci/run`
//! installs them) and root.

mod support;

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

/// What `deploy/image/prometheus-local.sh` tags by default.
const PROMETHEUS_IMAGE: &str = "localhost/prometheus:debian";

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
    // Prometheus from a stand-in for its official image (no registry is reachable here).
    run(&mut Command::new(repo().join("deploy/image/prometheus-local.sh")));
    let network = Compose { file: file.clone(), image: image.clone() };
    let services = [
        "prometheus",
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
        .env("PROMETHEUS_IMAGE", PROMETHEUS_IMAGE)
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
    let member3_key = std::fs::read_to_string(dir.join("config/member3tessera/tm.pub")).unwrap();
    private_demo(&member1, &member3, member3_key.trim(), &[&member2, &rpcnode]);

    // The compose file's Prometheus scrapes all eight nodes and three TMs by its
    // prometheus.yml: every target is up, every node's head rises, the TMs count requests.
    let prometheus = "http://172.16.239.32:9090";
    let query = |q: &str| support::prometheus_query(prometheus, q);
    veil_testkit::wait_until("all eleven targets up", Duration::from_secs(120), || {
        let up = query("up");
        up.len() == 11 && up.iter().all(|(_, value)| *value == 1.0)
    });
    let mut before = Vec::new();
    veil_testkit::wait_until(
        "chain_head_block of all eight nodes",
        Duration::from_secs(60),
        || {
            before = query("chain_head_block");
            before.len() == 8
        },
    );
    veil_testkit::wait_until("every node's head rising", Duration::from_secs(120), || {
        let now = query("chain_head_block");
        before.iter().all(|(instance, head)| {
            now.iter().any(|(other, later)| other == instance && later > head)
        })
    });
    veil_testkit::wait_until("the TMs' request counters", Duration::from_secs(60), || {
        query("sum by (instance) (veil_tm_requests_total)").len() == 3
    });
    drop(network);
}

/// The private demo on a running network: once every node has blocks, `sender` deploys
/// SimpleStorage(42) for the TM key `party_key` (the node `party`'s); both read 42 and every
/// node of `outsiders` has no such contract.
fn private_demo(sender: &str, party: &str, party_key: &str, outsiders: &[&str]) {
    let everyone: Vec<&str> =
        [sender, party].into_iter().chain(outsiders.iter().copied()).collect();
    veil_testkit::wait_until("blocks on every node", Duration::from_secs(180), || {
        everyone
            .iter()
            .all(|u| call(u, "eth_blockNumber", serde_json::json!([])).is_some_and(|h| h != "0x0"))
    });
    let from = call(sender, "eth_accounts", serde_json::json!([])).unwrap()[0].clone();
    let hash = call(
        sender,
        "eth_sendTransaction",
        serde_json::json!([{ "from": from, "data": SIMPLE_STORAGE_42, "gas": "0x100000",
                             "privateFor": [party_key] }]),
    )
    .expect("the sender sends the private deployment");
    let mut receipt = serde_json::Value::Null;
    veil_testkit::wait_until("the deployment mined on the sender", Duration::from_secs(60), || {
        receipt = call(sender, "eth_getTransactionReceipt", serde_json::json!([hash]))
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
    assert_eq!(get(sender), forty_two);
    assert_eq!(get(party), forty_two);
    for outsider in outsiders {
        assert_eq!(get(outsider), "0x", "{outsider} is not a party");
    }
}

/// Runs a tool, asserting it succeeded; what it printed on standard output.
fn run(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{command:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

/// Removes the test's pods, network and image when dropped.
struct Pods {
    file: PathBuf,
    network: String,
    image: String,
}

impl Drop for Pods {
    fn drop(&mut self) {
        let _ = podman(&["kube", "down", &self.file.display().to_string()]);
        let _ = podman(&["network", "rm", "-f", &self.network]);
        let _ = podman(&["rmi", "-f", &self.image]);
    }
}

#[test]
fn the_helm_charts_pass_lint_and_schemas_and_their_pods_run_the_private_demo() {
    let id = std::process::id();
    let tag = format!("helm-{id}");
    let image = format!("localhost/veil:{tag}");
    build_image(&image);
    let root = tempfile::tempdir().unwrap();
    let copy =
        Command::new("cp").arg("-r").arg(repo().join("deploy/helm")).arg(root.path()).status();
    assert!(copy.unwrap().success());
    let helm = root.path().join("helm");
    let bin = Path::new(env!("CARGO_BIN_EXE_veil-sim")).parent().unwrap();
    run(Command::new(helm.join("generate.sh")).arg(bin));

    let (genesis, node) = (helm.join("charts/veil-genesis"), helm.join("charts/veil-node"));
    let values = |name: &str| helm.join("values").join(name);
    for (chart, values) in [
        (&genesis, values("genesis.yml")),
        (&node, values("validator.yml")),
        (&node, values("txnode.yml")),
    ] {
        let lint = run(Command::new("helm").arg("lint").arg(chart).arg("-f").arg(&values));
        assert!(lint.contains("0 chart(s) failed"), "{lint}");
    }
    // The releases quorum-kubernetes' README installs: the genesis, then each node.
    let image_values = ["--set", "image.veil.repository=localhost/veil", "--set"];
    let mut rendered = run(Command::new("helm")
        .args(["template", "genesis"])
        .arg(&genesis)
        .args(["--namespace", "quorum", "-f"])
        .arg(values("genesis.yml")));
    let releases = [
        ("validator-1", "validator.yml"),
        ("validator-2", "validator.yml"),
        ("validator-3", "validator.yml"),
        ("validator-4", "validator.yml"),
        ("member-1", "txnode.yml"),
        ("member-2", "txnode.yml"),
        ("member-3", "txnode.yml"),
    ];
    for (release, file) in releases {
        rendered += &run(Command::new("helm")
            .args(["template", release])
            .arg(&node)
            .args(["--namespace", "quorum", "-f"])
            .arg(values(file))
            .args(image_values)
            .arg(format!("image.veil.tag={tag}")));
    }
    let all = root.path().join("rendered.yaml");
    std::fs::write(&all, &rendered).unwrap();
    run(Command::new("kubernetes-validate").args(["--strict", "--quiet"]).arg(&all));

    // The pods, as a cluster would run them (kube_pods.py says what it stands in for).
    let pods_dir = root.path().join("pods");
    std::fs::create_dir_all(&pods_dir).unwrap();
    let script = veil_testkit::package_dir().join("tests/fixtures/kube_pods.py");
    let listing = run(Command::new("python3")
        .arg(script)
        .arg(&all)
        .arg(&pods_dir)
        .args(["quorum", "172.16.240.10"]));
    let pods: Vec<(String, String)> = listing
        .lines()
        .map(|line| {
            let (name, ip) = line.split_once(' ').unwrap();
            (name.to_string(), ip.to_string())
        })
        .collect();
    assert_eq!(pods.len(), releases.len(), "{listing}");
    let network = format!("veil-helm-{id}");
    let running = Pods { file: pods_dir.join("pods.yaml"), network, image: image.clone() };
    let (ok, out) = podman(&["network", "create", "--subnet", "172.16.240.0/24", &running.network]);
    assert!(ok, "{out}");
    let mut play = vec!["kube", "play", "--network", &running.network];
    for (_, ip) in &pods {
        play.extend(["--ip", ip]);
    }
    let file = running.file.display().to_string();
    play.push(&file);
    let (ok, out) = podman(&play);
    assert!(ok, "{out}");

    let ip_of = |release: &str| {
        let pod = format!("veil-node-{release}-0");
        pods.iter().find(|(name, _)| *name == pod).unwrap().1.clone()
    };
    let url = |release: &str| format!("http://{}:8545", ip_of(release));
    let key = std::fs::read_to_string(helm.join("charts/veil-genesis/files/nodes/member-2/tm.pub"))
        .unwrap();
    private_demo(
        &url("member-1"),
        &url("member-2"),
        key.trim(),
        &[&url("member-3"), &url("validator-1")],
    );

    // The pod's address in its enode (--nat extip:$POD_IP), and metrics where the pod's
    // prometheus.io annotations point (--pprof.port, as geth).
    let info = call(&url("validator-1"), "admin_nodeInfo", serde_json::json!([])).unwrap();
    let enode = info["enode"].as_str().unwrap();
    assert!(enode.contains(&format!("@{}:30303", ip_of("validator-1"))), "{enode}");
    let metrics = format!("http://{}:9545/debug/metrics/prometheus", ip_of("validator-1"));
    let (status, body) = veil_testkit::http::get(&metrics).expect("the metrics answer");
    assert_eq!(status, 200);
    assert!(body.contains("chain_head_block"), "{body}");
    drop(running);
}
