#!/usr/bin/env bash
# Runs rpc-load against a release `veil --dev` and against Anvil (npm @foundry-rs/anvil) on this
# machine, over HTTP, WebSocket and IPC with 1 and 32 clients, and prints a markdown table.
#
#   benches/rpc_compare.sh            # builds release binaries first
# Needs: cargo, node/npm (Anvil is installed into $HOME/.cache/veil-anvil).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veil-target-release}"
cargo build --release -q -p veil-node -p veil-benches --bins
VEIL="$CARGO_TARGET_DIR/release/veil"
LOAD="$CARGO_TARGET_DIR/release/rpc-load"

ANVIL_DIR="$HOME/.cache/veil-anvil"
if [ ! -x "$ANVIL_DIR/node_modules/.bin/anvil" ]; then
  mkdir -p "$ANVIL_DIR"
  (cd "$ANVIL_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund -s @foundry-rs/anvil@1.7.1)
fi
ANVIL="$ANVIL_DIR/node_modules/.bin/anvil"

WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$VEIL" --dev --datadir "$WORK/veil" --http --http.port 18545 --ws --ws.port 18546 \
  --verbosity 3 2>"$WORK/veil.log" &
"$ANVIL" --port 28545 --ipc "$WORK/anvil.ipc" --no-mining --silent &
for _ in $(seq 100); do
  [ -S "$WORK/veil/veil.ipc" ] && [ -S "$WORK/anvil.ipc" ] && break
  sleep 0.1
done
VEIL_KEY="$(grep -o 'index=0 .*key=0x[0-9a-f]*' "$WORK/veil.log" | grep -o '0x[0-9a-f]\{64\}')"
ANVIL_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

run() { # node transport method clients
  local node=$1 transport=$2 method=$3 clients=$4 target requests=20000 extra=()
  case "$node/$transport" in
    veil/http) target=http://127.0.0.1:18545 ;;
    veil/ws) target=ws://127.0.0.1:18546 ;;
    veil/ipc) target="$WORK/veil/veil.ipc" ;;
    anvil/http) target=http://127.0.0.1:28545 ;;
    anvil/ws) target=ws://127.0.0.1:28545 ;;
    anvil/ipc) target="$WORK/anvil.ipc" ;;
  esac
  if [ "$node" = veil ]; then
    extra=(--chain-id 1337 --deployer-key "$VEIL_KEY")
  else
    extra=(--chain-id 31337 --gas-price 2000000000 --deployer-key "$ANVIL_KEY" --fund-with-anvil)
  fi
  [ "$clients" -gt 1 ] && [ "$method" != send-raw-transaction ] && requests=64000
  "$LOAD" --target "$target" --method "$method" --clients "$clients" --requests "$requests" "${extra[@]}"
}

echo "| method | transport | clients | veil req/s | veil p99 µs | anvil req/s | anvil p99 µs |"
echo "|---|---|---|---|---|---|---|"
for method in block-number get-balance call send-raw-transaction; do
  for transport in http ws ipc; do
    for clients in 1 32; do
      v="$(run veil $transport $method $clients)"
      a="$(run anvil $transport $method $clients)"
      field() { echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
      echo "| $method | $transport | $clients | $(field "$v" rps) | $(field "$v" p99_us) | $(field "$a" rps) | $(field "$a" p99_us) |"
      for r in "$v" "$a"; do
        [ "$(field "$r" errors)" = 0 ] || echo "  errors: $r" >&2
      done
    done
  done
done
