#!/usr/bin/env bash
# Seven release QBFT validators (with their TMs) made and started by `veil-sim init --consensus
# qbft` (1 s blocks, every node a validator), then raft-load's transfers against all seven for
# SECONDS (default 60) with CLIENTS (default 64) clients at RATE transactions per second in all
# (default 0: as fast as the nodes answer); prints the table (JSON report: ./qbft-load.json).
#
#   benches/qbft_load.sh [SECONDS] [CLIENTS] [RATE]
#   PROFILE=debug benches/qbft_load.sh 10   # a quick check with the test build (no figures)
set -euo pipefail
REPORT="$PWD/qbft-load.json"
cd "$(dirname "$0")/.."
# shellcheck source=benches/build_bins.sh
source benches/build_bins.sh
SIM="$BIN/veil-sim"
LOAD="$BIN/raft-load"
SECONDS_TO_RUN="${1:-60}"
CLIENTS="${2:-64}"
RATE="${3:-0}"
OFFSET=600

WORK="$(mktemp -d)"
trap '"$SIM" --dir "$WORK/qdata" stop >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT
"$SIM" --dir "$WORK/qdata" init --consensus qbft --port-offset "$OFFSET" >/dev/null
"$SIM" --dir "$WORK/qdata" start >/dev/null
urls=()
for i in 0 1 2 3 4 5 6; do urls+=("http://127.0.0.1:$((22000 + OFFSET + i))"); done
# pids.json lists the TMs first, then the nodes.
node_pids="$(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(','.join(map(str, p[7:])))" "$WORK/qdata/pids.json")"
"$LOAD" --nodes "$(IFS=,; echo "${urls[*]}")" --pids "$node_pids" --chain-id 10 \
  --seconds "$SECONDS_TO_RUN" --clients "$CLIENTS" --rate "$RATE" --json "$REPORT"
