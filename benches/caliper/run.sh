#!/usr/bin/env bash
# Runs Hyperledger Caliper 0.6 (its Ethereum connector: web3 1.3 over WebSocket) with its
# `simple` benchmark — TX `open` transactions, then TX `query` calls, each at TPS per second
# from WORKERS workers — against node 1 of the running veil-sim network in DIR (default
# ./qdata). Caliper deploys the contract from a fresh key (the network is gas-free) and writes
# its HTML report to OUT (default ./caliper-report.html). While it runs, ticker.cjs sends one
# transfer a second so blocks keep coming (see there why web3 needs them). Caliper gets
# LIMIT seconds (default: 300 + 4 × TX / TPS) and is stopped after that, failing the run.
#
#   benches/caliper/run.sh [DIR]                 # TX=1000 TPS=100 WORKERS=2
#   TX=200 TPS=50 benches/caliper/run.sh qdata
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$(cd "${1:-qdata}" && pwd)"
OUT="$(realpath -m "${OUT:-caliper-report.html}")"
TX="${TX:-1000}"
TPS="${TPS:-100}"
WORKERS="${WORKERS:-2}"

[ -d "$HERE/node_modules/@hyperledger/caliper-cli" ] ||
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
OFFSET="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("portOffset", 0))' "$DIR/network.json")"
URL="ws://127.0.0.1:$((23000 + OFFSET))"
HTTP_URL="http://127.0.0.1:$((22000 + OFFSET))"
LIMIT="${LIMIT:-$((300 + 4 * TX / TPS))}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# A fresh deployer key and worker seed for every run (gas-free chain: no funding needed).
read -r DEPLOYER KEY SEED < <(cd "$HERE" && node -e '
  const Web3 = require("web3");
  const web3 = new Web3();
  const a = web3.eth.accounts.create();
  console.log(a.address, a.privateKey, web3.utils.randomHex(32));')
cat >"$WORK/networkconfig.json" <<JSON
{
  "caliper": { "blockchain": "ethereum" },
  "ethereum": {
    "url": "$URL",
    "contractDeployerAddress": "$DEPLOYER",
    "contractDeployerAddressPrivateKey": "$KEY",
    "fromAddressSeed": "$SEED",
    "transactionConfirmationBlocks": 1,
    "contracts": {
      "simple": {
        "path": "$HERE/contracts/simple.json",
        "estimateGas": true,
        "gas": { "open": 100000, "query": 100000, "transfer": 100000 }
      }
    }
  }
}
JSON
sed -e "s/WORKERS/$WORKERS/" -e "s/TX/$TX/g" -e "s/TPS/$TPS/g" \
  -e "s/ACCOUNTS/$(( (TX + WORKERS - 1) / WORKERS ))/" "$HERE/config.yaml" >"$WORK/config.yaml"
cd "$HERE"
node ticker.cjs "$HTTP_URL" &
TICKER=$!
trap 'kill "$TICKER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Caliper's workers outlive its manager (their WebSocket keeps them up) and would hold our
# output open: the manager runs in a process group of its own, which goes when it is done.
# The web3 1.3 it binds to is package.json's (no `--caliper-bind-sut`: that would npm-install
# it again on every run).
setsid timeout "$LIMIT" npx caliper launch manager --caliper-workspace "$HERE" \
  --caliper-networkconfig "$WORK/networkconfig.json" --caliper-benchconfig "$WORK/config.yaml" \
  --caliper-report-path "$OUT" --caliper-flow-skip-start --caliper-flow-skip-end &
MANAGER=$!
trap 'kill "$TICKER" 2>/dev/null || true; kill -- -"$MANAGER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait "$MANAGER" || {
  status=$?
  [ "$status" -ne 124 ] || echo "run.sh: Caliper did not finish within $LIMIT s; stopped" >&2
  exit "$status"
}
