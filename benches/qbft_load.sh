#!/usr/bin/env bash
# Seven release QBFT validators (with their TMs) made and started by `veil-sim init --consensus
# qbft` (1 s blocks, every node a validator), then a `veil-sim bench` round of transfers against
# all seven for SECONDS (default 60) with CLIENTS (default 64) clients at RATE transactions per
# second in all (default 0: as fast as the nodes answer); prints its tables (reports:
# ./qbft-load.json and ./qbft-load.html).
#
#   benches/qbft_load.sh [SECONDS] [CLIENTS] [RATE]
#   PROFILE=debug benches/qbft_load.sh 10   # a quick check with the test build (no figures)
set -euo pipefail
REPORTS="$PWD"
cd "$(dirname "$0")/.."
# shellcheck source=benches/build_bins.sh
source benches/build_bins.sh
# shellcheck source=benches/round.sh
source benches/round.sh
SIM="$BIN/veil-sim"
SECONDS_TO_RUN="${1:-60}"
CLIENTS="${2:-64}"
RATE="${3:-0}"
OFFSET=600

WORK="$(mktemp -d)"
trap '"$SIM" --dir "$WORK/qdata" stop >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT
"$SIM" --dir "$WORK/qdata" init --consensus qbft --port-offset "$OFFSET" >/dev/null
"$SIM" --dir "$WORK/qdata" start >/dev/null
"$SIM" --dir "$WORK/qdata" bench --clients "$CLIENTS" --round "$(bench_round "$SECONDS_TO_RUN" "$RATE")" \
  --out "$REPORTS" --name qbft-load
