#!/usr/bin/env bash
# Makes a Rust build image for the Dockerfile's source stage where no registry is reachable:
# the debootstrap base (deploy/image/base.sh) with Debian's build tools and this machine's own
# Rust toolchain (rustup's default), tagged localhost/veil-rust:bookworm, trusting the CAs this
# machine adds to Debian's (/usr/local/share/ca-certificates: a TLS-inspecting egress proxy's,
# through which crates.io is reached). Then:
#
#   deploy/image/rust-local.sh
#   podman build --build-arg RUST_IMAGE=localhost/veil-rust:bookworm \
#     --build-arg RUNTIME_IMAGE=localhost/veil-base:bookworm -t veil .
set -euo pipefail
IMAGE="${1:-localhost/veil-rust:bookworm}"
cd "$(dirname "$0")/../.."
if podman image exists "$IMAGE"; then
  exit 0
fi
deploy/image/base.sh >/dev/null
TOOLCHAIN="$(rustup show active-toolchain | cut -d' ' -f1)"
CONTEXT="$(mktemp -d)"
trap 'rm -rf "$CONTEXT"' EXIT
cp -a "$(rustup show home)/toolchains/$TOOLCHAIN" "$CONTEXT/toolchain"
mkdir -p "$CONTEXT/ca"
cp /usr/local/share/ca-certificates/*.crt "$CONTEXT/ca/" 2>/dev/null || true
cat >"$CONTEXT/Containerfile" <<'CONTAINERFILE'
FROM localhost/veil-base:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
COPY toolchain /usr/local/rust
ENV PATH=/usr/local/rust/bin:$PATH CARGO_HOME=/usr/local/cargo
CONTAINERFILE
podman build -q -t "$IMAGE" "$CONTEXT" >/dev/null
echo "$IMAGE"
