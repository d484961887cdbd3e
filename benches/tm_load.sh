#!/usr/bin/env bash
# Runs tm-load against seven release `veil-tm` processes on this machine (A plus six
# recipients, one key each, on loopback) and prints a markdown table:
# /send of 1 KiB to 1 and 6 recipients, and GET /transaction/{key} on a recipient, over A's
# unix socket, with 1 and 32 clients.
#
#   benches/tm_load.sh            # builds release binaries first
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veil-target-release}"
cargo build --release -q -p veil-txmanager -p veil-benches --bins
TM="$CARGO_TARGET_DIR/release/veil-tm"
LOAD="$CARGO_TARGET_DIR/release/tm-load"

WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
BASE_PORT="${BASE_PORT:-19100}"

# shellcheck source=benches/tm_network.sh
source benches/tm_network.sh
start_tms "$TM" "$WORK" "$BASE_PORT" "$((BASE_PORT + 10))"

key() { cat "$WORK/tm$1/key.pub"; }
ONE="$(key 1)"
SIX="$(key 1),$(key 2),$(key 3),$(key 4),$(key 5),$(key 6)"
A="$WORK/tm0/tm.ipc"
B="$WORK/tm1/tm.ipc"
field() { echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
row() { # label args...
  local label=$1; shift
  local out; out="$("$LOAD" --target "$A" "$@")"
  echo "| $label | $(field "$out" clients) | $(field "$out" per_sec) | $(field "$out" p50_us) | $(field "$out" p99_us) |"
}
echo "| operation | clients | req/s | p50 µs | p99 µs |"
echo "|---|---|---|---|---|"
row "/send 1 KiB → 1 recipient" --op send --to "$ONE" --clients 1 --requests 5000
row "/send 1 KiB → 1 recipient" --op send --to "$ONE" --clients 32 --requests 32000
row "/send 1 KiB → 6 recipients" --op send --to "$SIX" --clients 1 --requests 3000
row "/send 1 KiB → 6 recipients" --op send --to "$SIX" --clients 32 --requests 16000
row "GET /transaction/{key} 1 KiB (on the recipient)" --op receive --to "$ONE" --receive-target "$B" --clients 1 --requests 20000
row "GET /transaction/{key} 1 KiB (on the recipient)" --op receive --to "$ONE" --receive-target "$B" --clients 32 --requests 64000
