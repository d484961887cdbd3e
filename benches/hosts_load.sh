#!/usr/bin/env bash
# Seven release nodes with their TMs on hosts of their own (`veil-sim init --hosts`: a network
# namespace each, DELAY ms ± DELAY/4 between hosts through the link proxy), CONSENSUS raft
# (default) or qbft, then a `veil-sim bench` round against all seven for SECONDS (default 60)
# with CLIENTS (default 64) clients at RATE transactions per second in all (default 0: as fast
# as the nodes answer), then up to SETTLE seconds (default 60) for what was accepted to be mined
# (flooded at 100 ms, Raft's queue takes ~20 s to drain); prints its tables (reports:
# ./hosts-load.json and ./hosts-load.html). Needs root.
#
#   benches/hosts_load.sh DELAY [SECONDS] [CLIENTS] [RATE]
#   CONSENSUS=qbft benches/hosts_load.sh 20 60
#   RECIPIENTS=1 benches/hosts_load.sh 100 60   # private transactions for 1 other node
set -euo pipefail
REPORTS="$PWD"
cd "$(dirname "$0")/.."
# shellcheck source=benches/build_bins.sh
source benches/build_bins.sh
# shellcheck source=benches/round.sh
source benches/round.sh
SIM="$BIN/veil-sim"
DELAY="${1:?the delay between hosts in ms}"
SECONDS_TO_RUN="${2:-60}"
CLIENTS="${3:-64}"
RATE="${4:-0}"
CONSENSUS="${CONSENSUS:-raft}"
OFFSET=620

WORK="$(mktemp -d)"
trap '"$SIM" --dir "$WORK/qdata" stop >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT
"$SIM" --dir "$WORK/qdata" init --hosts --consensus "$CONSENSUS" --port-offset "$OFFSET" >/dev/null
"$SIM" --dir "$WORK/qdata" delay "$DELAY" --jitter "$(python3 -c "print($DELAY / 4)")" >/dev/null
"$SIM" --dir "$WORK/qdata" start >/dev/null
"$SIM" --dir "$WORK/qdata" bench --clients "$CLIENTS" --settle "${SETTLE:-60}" --round "$(bench_round "$SECONDS_TO_RUN" "$RATE")" \
  --out "$REPORTS" --name hosts-load
