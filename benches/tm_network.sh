# Sourced by the load scripts: seven `veil-tm` processes on loopback, one key each, each listing
# the other six as peers.
#
#   start_tms TM WORK P2P_BASE THIRD_PARTY_BASE
#
# starts TM i (0–6) in WORK/tmI (key.pub and key.key, tm.json, Q2T socket tm.ipc, store db, log)
# with P2P on P2P_BASE+i and ThirdParty on THIRD_PARTY_BASE+i, adds its pid to TM_PIDS, and
# returns once every TM knows all seven keys (or fails after 30 s). TM_FEATURES, when set, is
# a `"features": {…},` line added to every configuration.
TM_PIDS=()
start_tms() {
  local tm=$1 work=$2 p2p=$3 third=$4 i j peers known
  for i in 0 1 2 3 4 5 6; do
    mkdir -p "$work/tm$i"
    "$tm" keygen --filename "$work/tm$i/key" >/dev/null
  done
  for i in 0 1 2 3 4 5 6; do
    peers=""
    for j in 0 1 2 3 4 5 6; do
      [ "$i" = "$j" ] || peers="$peers{\"url\":\"http://127.0.0.1:$((p2p + j))\"},"
    done
    cat >"$work/tm$i/tm.json" <<JSON
{
  "serverConfigs": [
    {"app": "Q2T", "serverAddress": "unix:$work/tm$i/tm.ipc"},
    {"app": "P2P", "serverAddress": "http://127.0.0.1:$((p2p + i))", "properties": {"partyInfoInterval": "1000"}},
    {"app": "ThirdParty", "serverAddress": "http://127.0.0.1:$((third + i))"}
  ],
  "peer": [${peers%,}],
  "keys": {"keyData": [{"privateKeyPath": "$work/tm$i/key.key", "publicKeyPath": "$work/tm$i/key.pub"}]},
  ${TM_FEATURES:-}
  "storage": {"path": "$work/tm$i/db"}
}
JSON
    RUST_LOG=warn "$tm" --configfile "$work/tm$i/tm.json" 2>"$work/tm$i/log" &
    TM_PIDS+=("$!")
  done
  for i in 0 1 2 3 4 5 6; do
    known=0
    for _ in $(seq 300); do
      known="$(curl -s "http://127.0.0.1:$((third + i))/partyinfo/keys" | grep -o '"key"' | wc -l || true)"
      [ "$known" = 7 ] && break
      sleep 0.1
    done
    [ "$known" = 7 ] || { echo "discovery did not finish: TM $i knows $known keys" >&2; return 1; }
  done
}
