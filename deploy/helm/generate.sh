#!/usr/bin/env bash
# Writes charts/veil-genesis/files/: a QBFT network's genesis and every node's keys, for the
# charts' releases validator-1..V (validators, no TM) and member-1..M (each with a TM).
# Keys and genesis come from `veil-sim init --consensus qbft --validators V`. The files are
# secrets: they go into the cluster as Secrets and are not committed (.gitignore).
#
#   deploy/helm/generate.sh [BIN_DIR]        # BIN_DIR holds veil-sim; VALIDATORS=4 MEMBERS=3
set -euo pipefail
cd "$(dirname "$0")"
BIN="${1:-${CARGO_TARGET_DIR:-../../target}/release}"
VALIDATORS="${VALIDATORS:-4}"
MEMBERS="${MEMBERS:-3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN/veil-sim" --dir "$WORK/qdata" init --consensus qbft \
  --nodes $((VALIDATORS + MEMBERS)) --validators "$VALIDATORS" >/dev/null
OUT=charts/veil-genesis/files
rm -rf "$OUT"
mkdir -p "$OUT/nodes"
python3 - "$WORK/qdata" "$OUT" "$VALIDATORS" "$MEMBERS" <<'PY'
import json, os, shutil, sys
src, out, validators, members = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
names = [f"validator-{i}" for i in range(1, validators + 1)]
names += [f"member-{i}" for i in range(1, members + 1)]
shutil.copy(f"{src}/genesis.json", f"{out}/genesis.json")
for i, name in enumerate(names, start=1):
    node = f"{out}/nodes/{name}"
    os.makedirs(node)
    static = json.load(open(f"{src}/dd{i}/static-nodes.json"))
    public = static[i - 1].split("enode://")[1].split("@")[0]
    open(f"{node}/nodekey.pub", "w").write(public + "\n")
    shutil.copy(f"{src}/dd{i}/nodekey", f"{node}/nodekey")
    keystore = f"{src}/dd{i}/keystore"
    key = f"{keystore}/{sorted(os.listdir(keystore))[0]}"
    shutil.copy(key, f"{node}/accountKeystore")
    open(f"{node}/address", "w").write("0x" + json.load(open(key))["address"].removeprefix("0x") + "\n")
    open(f"{node}/accountPassword", "w").write("\n")
    if name.startswith("member-"):
        shutil.copy(f"{src}/c{i}/tm.pub", f"{node}/tm.pub")
        shutil.copy(f"{src}/c{i}/tm.key", f"{node}/tm.key")
        open(f"{node}/tm.password", "w").write("\n")
PY
echo "$OUT written: $(ls "$OUT/nodes" | tr '\n' ' ')"
