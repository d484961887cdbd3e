//! The container image (issue 19): the Dockerfile's `prebuilt` target, built with podman from
//! this build's binaries on a Debian base made by `deploy/image/base.sh` (no registry is
//! reachable here), holds `veil`, `veil-tm` and `veil-sim`, runs as an unprivileged user, and
//! a node started from it answers JSON-RPC on its published port and passes the image's
//! health check. Needs podman and debootstrap (`.ci/run` installs them) and root.

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

#[test]
fn the_image_runs_a_node_as_an_unprivileged_user_that_answers_and_is_healthy() {
    let base = Command::new(repo().join("deploy/image/base.sh")).output().expect("base.sh runs");
    assert!(base.status.success(), "{}", String::from_utf8_lossy(&base.stderr));
    let root = tempfile::tempdir().unwrap();
    context(root.path());
    let id = std::process::id();
    let cleanup = Cleanup {
        container: format!("veil-image-test-{id}"),
        image: format!("localhost/veil:test-{id}"),
    };
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
        &cleanup.image,
        &context_dir,
    ]);
    assert!(ok, "{out}");

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
