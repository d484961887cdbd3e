#!/usr/bin/env bash
# Makes a stand-in for docker.io/prom/prometheus where no registry is reachable: the debootstrap
# base (deploy/image/base.sh) with Debian's prometheus binary from this machine (apt-get install
# prometheus), laid out as the official image is (config in /etc/prometheus, data in /prometheus,
# user nobody, the same entrypoint and default command). The compose network takes it with
#
#   deploy/image/prometheus-local.sh
#   PROMETHEUS_IMAGE=localhost/prometheus:debian podman-compose -f deploy/compose/docker-compose.yml up -d
set -euo pipefail
IMAGE="${1:-localhost/prometheus:debian}"
cd "$(dirname "$0")/../.."
if podman image exists "$IMAGE"; then
  exit 0
fi
BINARY="$(command -v prometheus)" || { echo "prometheus is missing: apt-get install prometheus" >&2; exit 1; }
deploy/image/base.sh >/dev/null
CONTEXT="$(mktemp -d)"
trap 'rm -rf "$CONTEXT"' EXIT
cp "$BINARY" "$CONTEXT/prometheus"
cat >"$CONTEXT/Containerfile" <<'CONTAINERFILE'
FROM localhost/veil-base:bookworm
COPY prometheus /bin/prometheus
RUN mkdir -p /etc/prometheus /prometheus && chown 65534:65534 /prometheus
USER 65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
CONTAINERFILE
podman build --format docker -t "$IMAGE" "$CONTEXT" >/dev/null
echo "$IMAGE"
