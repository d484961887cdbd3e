#!/usr/bin/env bash
# Makes the local base image the Dockerfile's runtime stage can start from when no registry is
# reachable: Debian bookworm (debootstrap's minbase variant) imported into podman.
#
#   deploy/image/base.sh [IMAGE]     # default localhost/veil-base:bookworm; kept if present
set -euo pipefail
IMAGE="${1:-localhost/veil-base:bookworm}"
if podman image exists "$IMAGE"; then
  exit 0
fi
ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
debootstrap --variant=minbase bookworm "$ROOT" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
tar -C "$ROOT" -c . | podman import - "$IMAGE" >/dev/null
echo "$IMAGE"
