#!/bin/bash
# A node's entrypoint, as quickstart's docker-entrypoint.sh: geth's data directory layout, the
# genesis applied once, then the node with GoQuorum's flags. NODE names its directory under
# /config; QUORUM_PTM (a member's TM address) adds the TM flags.
set -euo pipefail
CONFIG="/config/${NODE:?}"
if [ ! -d /data/chaindata ]; then
  veil --nousb --verbosity 1 --datadir=/data init /config/genesis.json
fi
mkdir -p /data/keystore /data/geth
cp "$CONFIG/key" /data/keystore/key
cp "$CONFIG/nodekey" /data/geth/nodekey
cp "$CONFIG/static-nodes.json" "$CONFIG/permissioned-nodes.json" /data/
ADDRESS="0x$(grep -o '"address": *"[0-9a-fA-Fx]*"' "$CONFIG/key" | grep -o '[0-9a-fA-F]\{40\}' | head -1)"
ARGS=()
if [ -n "${QUORUM_PTM:-}" ]; then
  ARGS+=(--ptm.timeout 5 --ptm.url "http://${QUORUM_PTM}:9101" --ptm.http.writebuffersize 4096
    --ptm.http.readbuffersize 4096 --ptm.tls.mode off)
fi
exec veil \
  --datadir /data \
  --nodiscover \
  --permissioned \
  --verbosity 3 \
  --mine --miner.threads 1 --miner.gasprice 0 --emitcheckpoints \
  --syncmode full --revertreason \
  --metrics --pprof --pprof.addr 0.0.0.0 --pprof.port 9545 \
  --networkid 1337 \
  --http --http.addr 0.0.0.0 --http.port 8545 --http.corsdomain "*" --http.vhosts "*" \
  --http.api admin,eth,debug,miner,net,txpool,personal,web3,istanbul,qbft \
  --ws --ws.addr 0.0.0.0 --ws.port 8546 --ws.origins "*" \
  --ws.api admin,eth,debug,miner,net,txpool,personal,web3,istanbul,qbft \
  --port 30303 \
  --identity "${NODE}" \
  --unlock "$ADDRESS" --allow-insecure-unlock --password /config/passwords.txt \
  "${ARGS[@]}"
