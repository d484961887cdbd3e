#!/usr/bin/env bash
# Compares two `veil-tm` builds on /send of 1 KiB to one recipient (1 and 32 clients), in
# interleaved rounds so that both see the same machine: seven TMs per round, as tm_load.sh.
#
#   benches/tm_send_ab.sh OLD_VEIL_TM NEW_VEIL_TM [ROUNDS]
#
# e.g. the cost of TM signatures: build the commit before them in a worktree
# (git worktree add /tmp/before 288f58e; cd /tmp/before; cargo build --release -p veil-txmanager)
# and compare its veil-tm with this one's.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veil-target-release}"
cargo build --release -q -p veil-benches --bin tm-load
LOAD="$CARGO_TARGET_DIR/release/tm-load"
OLD=$1 NEW=$2 ROUNDS=${3:-2}
BASE_PORT="${BASE_PORT:-19600}"
# shellcheck source=benches/tm_network.sh
source benches/tm_network.sh

field() { echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
round() { # label binary
  local work one out clients
  work="$(mktemp -d)"
  TM_PIDS=()
  start_tms "$2" "$work" "$BASE_PORT" "$((BASE_PORT + 10))"
  one="$(cat "$work/tm1/key.pub")"
  for clients in 1 32; do
    out="$("$LOAD" --target "$work/tm0/tm.ipc" --op send --to "$one" --clients "$clients" \
      --requests $((clients == 1 ? 4000 : 32000)))"
    echo "| $1 | $clients | $(field "$out" per_sec) | $(field "$out" p50_us) |"
  done
  kill "${TM_PIDS[@]}" 2>/dev/null || true
  wait "${TM_PIDS[@]}" 2>/dev/null || true
  rm -rf "$work"
}
echo "| build | clients | req/s | p50 µs |"
echo "|---|---|---|---|"
for _ in $(seq "$ROUNDS"); do
  round old "$OLD"
  round new "$NEW"
done
