#!/usr/bin/env bash
# Starts seven release `veil --dev --raft` nodes on this machine (one static-nodes.json, ports
# from 31000), runs a `veil-sim bench` round against all seven for SECONDS (default 60) with
# CLIENTS (default 64) clients at RATE transactions per second in all (default 0: as fast as
# the nodes answer), and prints its tables (reports: ./raft-load.json and ./raft-load.html).
#
#   benches/raft_load.sh [SECONDS] [CLIENTS] [RATE]
#   PROFILE=debug benches/raft_load.sh 10   # a quick check with the test build (no figures)
#   RECIPIENTS=1 benches/raft_load.sh 60 64 600  # private transactions: a veil-tm per node,
#                                                # 1 KiB payloads for 1 (or up to 6) other nodes
#   RECIPIENTS=1 FLAG=3 benches/raft_load.sh     # each client calls a SimpleStorage of its own
#                                                # deployed with privacy flag FLAG (0, 1 or 3);
#                                                # the chain and TMs have privacy enhancements on
set -euo pipefail
REPORTS="$PWD"
cd "$(dirname "$0")/.."
# shellcheck source=benches/build_bins.sh
source benches/build_bins.sh
# shellcheck source=benches/round.sh
source benches/round.sh
VEIL="$BIN/veil"
TM="$BIN/veil-tm"
SECONDS_TO_RUN="${1:-60}"
CLIENTS="${2:-64}"
RATE="${3:-0}"

WORK="$(mktemp -d)"
# KEEP=1 keeps the nodes' data and logs (VERBOSITY=3 logs every block) for a look afterwards.
trap 'kill $(jobs -p) 2>/dev/null || true; wait; [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT
enodes=()
for i in 0 1 2 3 4 5 6; do
  mkdir -p "$WORK/n$i"
  pub="$("$VEIL" nodekey "$WORK/n$i/nodekey")"
  enodes+=("\"enode://$pub@127.0.0.1:$((31000 + i))?discport=0&raftport=$((31000 + i))\"")
done
list="[$(IFS=,; echo "${enodes[*]}")]"
pids=()
urls=()
ptm=()
private_args=()
if [ -n "${RECIPIENTS:-}" ]; then
  # One veil-tm per node: Q2T on a unix socket, P2P on 33000+i, ThirdParty on 34000+i.
  # shellcheck source=benches/tm_network.sh
  source benches/tm_network.sh
  [ -n "${FLAG:-}" ] && TM_FEATURES='"features": {"enablePrivacyEnhancements": true},'
  start_tms "$TM" "$WORK" 33000 34000
  pids+=("${TM_PIDS[@]}")
  keys=()
  tm_urls=()
  for i in 0 1 2 3 4 5 6; do
    keys+=("$(cat "$WORK/tm$i/key.pub")")
    tm_urls+=("http://127.0.0.1:$((34000 + i))")
  done
  private_args=(--tm-urls "$(IFS=,; echo "${tm_urls[*]}")" --tm-keys "$(IFS=,; echo "${keys[*]}")")
fi
chain=(--dev)
if [ -n "${FLAG:-}" ]; then
  # A genesis with privacy enhancements from block 0 (veil-sim's), the same for every FLAG.
  "$BIN/veil-sim" --dir "$WORK/genesis" init --nodes 1 --privacy-enhancements >/dev/null
  for i in 0 1 2 3 4 5 6; do
    "$VEIL" init --datadir "$WORK/n$i" "$WORK/genesis/genesis.json" >/dev/null
  done
  chain=()
fi
for i in 0 1 2 3 4 5 6; do
  echo "$list" >"$WORK/n$i/static-nodes.json"
  [ -n "${RECIPIENTS:-}" ] && ptm=(--ptm.socket "$WORK/tm$i/tm.ipc")
  "$VEIL" "${chain[@]}" --raft --datadir "$WORK/n$i" --port $((31000 + i)) --http --http.port $((32000 + i)) \
    --http.api eth,net,web3,raft --ipcdisable --verbosity "${VERBOSITY:-2}" "${ptm[@]}" \
    2>"$WORK/n$i/log" &
  pids+=("$!")
  urls+=("http://127.0.0.1:$((32000 + i))")
done
# Wait until every node knows the leader.
for url in "${urls[@]}"; do
  for _ in $(seq 600); do
    curl -s -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"raft_leader","params":[]}' "$url" 2>/dev/null |
      grep -q '"result"' && break
    sleep 0.1
  done
done
"$BIN/veil-sim" bench --urls "$(IFS=,; echo "${urls[*]}")" --pids "$(IFS=,; echo "${pids[*]}")" \
  --clients "$CLIENTS" --round "$(bench_round "$SECONDS_TO_RUN" "$RATE")" --out "$REPORTS" \
  --name raft-load "${private_args[@]}"
