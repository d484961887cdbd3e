//! Veil's load generators and cross-crate benchmarks. The binaries live in `src/`:
//! `rpc-load` drives any Ethereum JSON-RPC endpoint (HTTP, WebSocket or IPC) and reports
//! requests per second and latency percentiles; `benches/rpc_compare.sh` runs it against a
//! release `veil --dev` and against Anvil on the same machine. `tm-load` drives a transaction
//! manager's Q2T API (`/send`, `GET /transaction/{key}`); `benches/tm_load.sh` runs it against
//! seven release `veil-tm` processes. Network load (Caliper-style rounds) is `veil-sim bench`;
//! `raft_load.sh`, `qbft_load.sh` and `hosts_load.sh` start networks and run it.
