#!/usr/bin/env bash
# Writes config/ for docker-compose.yml: a QBFT network in quorum-dev-quickstart's shape —
# validator1-4 (the validators), rpcnode, member1-3 each with a TM — on 172.16.239.0/24.
# Keys, genesis and TM configurations come from `veil-sim init --consensus qbft --nodes 8
# --validators 4`; the addresses are rewritten to the containers'. The keys are for testing:
# anyone can read them here, as quickstart's.
#
#   deploy/compose/generate.sh [BIN_DIR]   # BIN_DIR holds veil, veil-tm, veil-sim
set -euo pipefail
cd "$(dirname "$0")"
BIN="${1:-${CARGO_TARGET_DIR:-../../target}/release}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN/veil-sim" --dir "$WORK/qdata" init --consensus qbft --nodes 8 --validators 4 >/dev/null
rm -rf config
mkdir -p config
python3 - "$WORK/qdata" <<'PY'
import json, os, shutil, sys
src = sys.argv[1]
names = ["validator1", "validator2", "validator3", "validator4", "rpcnode", "member1", "member2", "member3"]
ip = {name: f"172.16.239.{11 + i}" for i, name in enumerate(names)}
tm_ip = {f"member{i}": f"172.16.239.{25 + i}" for i in (1, 2, 3)}
shutil.copy(f"{src}/genesis.json", "config/genesis.json")
enodes = []
for i, name in enumerate(names, start=1):
    static = json.load(open(f"{src}/dd{i}/static-nodes.json"))
    node_id = static[i - 1].split("enode://")[1].split("@")[0]
    enodes.append(f"enode://{node_id}@{ip[name]}:30303?discport=0")
for i, name in enumerate(names, start=1):
    out = f"config/{name}"
    os.makedirs(out)
    shutil.copy(f"{src}/dd{i}/nodekey", f"{out}/nodekey")
    keystore = f"{src}/dd{i}/keystore"
    shutil.copy(f"{keystore}/{sorted(os.listdir(keystore))[0]}", f"{out}/key")
    for name_list in ("static-nodes.json", "permissioned-nodes.json"):
        json.dump(enodes, open(f"{out}/{name_list}", "w"), indent=2)
open("config/passwords.txt", "w").write("\n")
for m in (1, 2, 3):
    name, i = f"member{m}", 5 + m
    out = f"config/{name}tessera"
    os.makedirs(out)
    shutil.copy(f"{src}/c{i}/tm.pub", f"{out}/tm.pub")
    shutil.copy(f"{src}/c{i}/tm.key", f"{out}/tm.key")
    peers = [{"url": f"http://{tm_ip[f'member{o}']}:9000"} for o in (1, 2, 3) if o != m]
    json.dump({
        "serverConfigs": [
            {"app": "Q2T", "serverAddress": f"http://{tm_ip[name]}:9101"},
            {"app": "P2P", "serverAddress": f"http://{tm_ip[name]}:9000"},
            {"app": "ThirdParty", "serverAddress": f"http://{tm_ip[name]}:9080"},
        ],
        "peer": peers,
        "keys": {"keyData": [{"privateKeyPath": f"/config/{name}tessera/tm.key", "publicKeyPath": f"/config/{name}tessera/tm.pub"}]},
        "storage": {"path": "/data/tm"},
    }, open(f"{out}/tm.json", "w"), indent=2)
PY
chmod -R a+rX config
echo "config/ written"
