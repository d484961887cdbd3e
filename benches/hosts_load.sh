#!/usr/bin/env bash
# Seven release nodes with their TMs on hosts of their own (`veil-sim init --hosts`: a network
# namespace each, DELAY ms ± DELAY/4 between hosts through the link proxy), CONSENSUS raft
# (default) or qbft, then raft-load against all seven for SECONDS (default 60) with CLIENTS
# (default 64) clients at RATE transactions per second in all (default 0: as fast as the
# nodes answer); prints the table (JSON report: ./hosts-load.json). Needs root.
#
#   benches/hosts_load.sh DELAY [SECONDS] [CLIENTS] [RATE]
#   CONSENSUS=qbft benches/hosts_load.sh 20 60
#   RECIPIENTS=1 benches/hosts_load.sh 100 60   # private transactions for 1 other node
set -euo pipefail
REPORT="$PWD/hosts-load.json"
cd "$(dirname "$0")/.."
# shellcheck source=benches/build_bins.sh
source benches/build_bins.sh
SIM="$BIN/veil-sim"
LOAD="$BIN/raft-load"
DELAY="${1:?the delay between hosts in ms}"
SECONDS_TO_RUN="${2:-60}"
CLIENTS="${3:-64}"
RATE="${4:-0}"
CONSENSUS="${CONSENSUS:-raft}"
OFFSET=620
SUBNET="10.200.$((OFFSET % 250))"

WORK="$(mktemp -d)"
trap '"$SIM" --dir "$WORK/qdata" stop >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT
"$SIM" --dir "$WORK/qdata" init --hosts --consensus "$CONSENSUS" --port-offset "$OFFSET" >/dev/null
"$SIM" --dir "$WORK/qdata" delay "$DELAY" --jitter "$(python3 -c "print($DELAY / 4)")" >/dev/null
"$SIM" --dir "$WORK/qdata" start >/dev/null
urls=()
tm_urls=()
keys=()
for i in 0 1 2 3 4 5 6; do
  urls+=("http://$SUBNET.$((11 + i)):$((22000 + OFFSET + i))")
  tm_urls+=("http://$SUBNET.$((11 + i)):$((9081 + OFFSET + i))")
  keys+=("$(cat "$WORK/qdata/c$((i + 1))/tm.pub")")
done
private_args=()
if [ -n "${RECIPIENTS:-}" ]; then
  private_args=(--tm-urls "$(IFS=,; echo "${tm_urls[*]}")" --tm-keys "$(IFS=,; echo "${keys[*]}")"
    --recipients "$RECIPIENTS")
fi
# pids.json lists the TMs first, then the nodes.
node_pids="$(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(','.join(map(str, p[7:])))" "$WORK/qdata/pids.json")"
"$LOAD" --nodes "$(IFS=,; echo "${urls[*]}")" --pids "$node_pids" --chain-id 10 \
  --seconds "$SECONDS_TO_RUN" --clients "$CLIENTS" --rate "$RATE" --json "$REPORT" "${private_args[@]}"
