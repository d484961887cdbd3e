# Sourced by the load scripts: the `veil-sim bench` round their environment asks for.
#   bench_round SECONDS RATE   transfers, or with RECIPIENTS=R private transactions for R
#                              other nodes (with FLAG=F calls to a contract deployed with
#                              privacy flag F), for SECONDS at RATE tx/s (0: as fast as
#                              answered)
bench_round() {
  local round="transfer:seconds=$1"
  if [ -n "${RECIPIENTS:-}" ]; then
    round="private:seconds=$1,recipients=$RECIPIENTS"
    [ -n "${FLAG:-}" ] && round="$round,flag=$FLAG"
  fi
  [ "$2" != 0 ] && round="$round,rate=$2"
  echo "$round"
}
