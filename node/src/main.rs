//! `veil`: the Veil node and its tools.

mod account_cli;
mod compat_cli;

use alloy_primitives::Address;
use clap::{Args, Parser, Subcommand};
use std::{net::IpAddr, path::PathBuf, process::ExitCode, time::Duration};
use veil_node::rpc::{server::Limits, Api};

#[derive(Parser, Debug)]
#[command(
    name = "veil",
    version,
    about = "Veil: a permissioned Ethereum ledger with private transactions"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Args, Debug)]
struct NodeArgs {
    /// Data directory for the databases.
    #[arg(long, global = true, default_value = "veil-data")]
    datadir: PathBuf,
    /// Logging verbosity: 0=silent, 1=error, 2=warn, 3=info, 4=debug, 5=trace.
    #[arg(long, global = true, default_value_t = 3)]
    verbosity: u8,
    /// Log line format: `veil` (tracing's), or `geth` (GoQuorum's terminal format, for log
    /// pipelines that parse it).
    #[arg(long = "log.format", global = true, default_value = "veil", value_parser = ["veil", "geth"])]
    log_format: String,
    /// Ephemeral-style developer chain with funded, well-known accounts.
    #[arg(long)]
    dev: bool,
    /// Minimum time between blocks in milliseconds.
    #[arg(long, default_value_t = 50)]
    blocktime: u64,
    /// Fee recipient of minted blocks.
    #[arg(long = "miner.etherbase", default_value_t = Address::ZERO)]
    etherbase: Address,
    #[command(flatten)]
    rpc: RpcArgs,
    #[command(flatten)]
    accounts: AccountArgs,
    #[command(flatten)]
    raft: RaftArgs,
    #[command(flatten)]
    istanbul: IstanbulArgs,
    #[command(flatten)]
    ptm: PtmArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
    #[command(flatten)]
    compat: compat_cli::CompatArgs,
}

/// geth's metrics flags.
#[derive(Args, Debug)]
struct MetricsArgs {
    /// Serve Prometheus metrics at /debug/metrics/prometheus.
    #[arg(long)]
    metrics: bool,
    /// The metrics server's listening address (default 127.0.0.1; without it, --pprof's
    /// address serves the metrics, as geth's).
    #[arg(long = "metrics.addr")]
    metrics_addr: Option<IpAddr>,
    /// The metrics server's port (default 6060).
    #[arg(long = "metrics.port")]
    metrics_port: Option<u16>,
}

/// GoQuorum's QBFT flags. The consensus comes from the genesis; these fill in what its legacy
/// `istanbul` object leaves to the command line.
#[derive(Args, Debug)]
struct IstanbulArgs {
    /// Seconds between QBFT blocks, for an `istanbul` genesis.
    #[arg(long = "istanbul.blockperiod", default_value_t = 5)]
    block_period: u64,
    /// Round-0 timeout in milliseconds, for an `istanbul` genesis.
    #[arg(long = "istanbul.requesttimeout", default_value_t = 10_000)]
    request_timeout: u64,
    /// Accepted for GoQuorum's scripts: a validator always takes part.
    #[arg(long)]
    mine: bool,
    /// Accepted for GoQuorum's scripts.
    #[arg(long = "miner.threads")]
    miner_threads: Option<u32>,
}

#[derive(Args, Debug)]
struct RaftArgs {
    /// Order blocks with Raft among the nodes of <datadir>/static-nodes.json.
    #[arg(long)]
    raft: bool,
    /// Accepted for GoQuorum compatibility: raft messages travel over the p2p port.
    #[arg(long)]
    raftport: Option<u16>,
    /// Least time between raft blocks in milliseconds.
    #[arg(long, default_value_t = 50)]
    raftblocktime: u64,
    /// Join a running cluster with this raft id (from raft_addPeer).
    #[arg(long)]
    raftjoinexisting: Option<u64>,
    /// The p2p TCP port.
    #[arg(long, default_value_t = 30303)]
    port: u16,
    /// The node key file (default: <datadir>/nodekey, created when missing).
    #[arg(long)]
    nodekey: Option<PathBuf>,
    /// Accepted for GoQuorum compatibility: peers come from static-nodes.json only.
    #[arg(long)]
    nodiscover: bool,
    /// Allow only the peers of <datadir>/permissioned-nodes.json, in both directions.
    #[arg(long)]
    permissioned: bool,
}

/// The p2p settings of a Raft member or a QBFT validator.
fn network_setup(
    args: &RaftArgs,
    datadir: &std::path::Path,
) -> eyre::Result<veil_node::network::NetworkSetup> {
    veil_node::network::NetworkSetup::load(
        datadir,
        args.nodekey.clone(),
        args.port,
        args.permissioned,
    )
}

fn raft_setup(
    args: &RaftArgs,
    datadir: &std::path::Path,
) -> eyre::Result<Option<veil_node::raft::RaftSetup>> {
    if !args.raft {
        return Ok(None);
    }
    Ok(Some(veil_node::raft::RaftSetup {
        network: network_setup(args, datadir)?,
        join_existing: args.raftjoinexisting,
        block_time: Duration::from_millis(args.raftblocktime),
    }))
}

#[derive(Args, Debug)]
struct PtmArgs {
    /// The private transaction manager's Q2T unix socket (else `PRIVATE_CONFIG`).
    #[arg(long = "ptm.socket")]
    socket: Option<PathBuf>,
    /// The private transaction manager's Q2T HTTP URL.
    #[arg(long = "ptm.url")]
    url: Option<String>,
    /// Seconds to wait for the transaction manager's answers (default 5).
    #[arg(long = "ptm.timeout")]
    timeout: Option<u64>,
}

#[derive(Args, Debug)]
struct RpcArgs {
    /// Enable the HTTP JSON-RPC server.
    #[arg(long)]
    http: bool,
    /// HTTP JSON-RPC listening interface.
    #[arg(long = "http.addr", default_value = "127.0.0.1")]
    http_addr: IpAddr,
    /// HTTP JSON-RPC listening port (0 picks a free one).
    #[arg(long = "http.port", default_value_t = 8545)]
    http_port: u16,
    /// Namespaces served over HTTP.
    #[arg(long = "http.api", default_value = "eth,net,web3")]
    http_api: String,
    /// Comma-separated browser origins allowed by CORS ("*" for any).
    #[arg(long = "http.corsdomain", default_value = "")]
    http_corsdomain: String,
    /// Comma-separated host names accepted in the Host header ("*" for any; IPs always pass).
    #[arg(long = "http.vhosts", default_value = "localhost")]
    http_vhosts: String,
    /// Enable the WebSocket JSON-RPC server.
    #[arg(long)]
    ws: bool,
    /// WebSocket listening interface.
    #[arg(long = "ws.addr", default_value = "127.0.0.1")]
    ws_addr: IpAddr,
    /// WebSocket listening port (0 picks a free one).
    #[arg(long = "ws.port", default_value_t = 8546)]
    ws_port: u16,
    /// Namespaces served over WebSocket.
    #[arg(long = "ws.api", default_value = "eth,net,web3")]
    ws_api: String,
    /// Comma-separated browser origins allowed to connect ("*" for any; default localhost).
    #[arg(long = "ws.origins", default_value = "")]
    ws_origins: String,
    /// Do not open the IPC socket.
    #[arg(long)]
    ipcdisable: bool,
    /// IPC socket path (default: <datadir>/veil.ipc).
    #[arg(long)]
    ipcpath: Option<PathBuf>,
    /// Most gas an eth_call, eth_estimateGas or trace may use.
    #[arg(long = "rpc.gascap", default_value_t = 50_000_000)]
    gas_cap: u64,
    /// Most calls in one JSON-RPC batch.
    #[arg(long = "rpc.batch-request-limit", default_value_t = 1000)]
    batch_limit: u32,
    /// Largest JSON-RPC request in bytes.
    #[arg(long = "rpc.max-request-bytes", default_value_t = 5 * 1024 * 1024)]
    max_request_bytes: u32,
    /// Most open connections per transport (WS, IPC; on HTTP, requests in flight).
    #[arg(long = "rpc.max-connections", default_value_t = 1000)]
    max_connections: u32,
    /// Most polling filters (eth_newFilter, eth_newBlockFilter,
    /// eth_newPendingTransactionFilter) installed at once, over all clients.
    #[arg(long = "rpc.max-filters", default_value_t = 10_000)]
    max_filters: u32,
    /// Seconds an HTTP/WS client may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open).
    #[arg(long = "rpc.read-header-timeout", default_value_t = 30)]
    read_header_timeout: u64,
    /// Seconds an HTTP client may take to send a request's body.
    #[arg(long = "rpc.read-body-timeout", default_value_t = 60)]
    read_body_timeout: u64,
    /// Milliseconds the calls of one JSON-RPC batch may take together; later calls of the
    /// batch are answered with an error instead of run.
    #[arg(long = "rpc.batch-time-budget", default_value_t = 5000)]
    batch_time_budget: u64,
    /// Most HTTP/WS connections one IP address may hold.
    #[arg(long = "rpc.max-connections-per-ip", default_value_t = 256)]
    max_connections_per_ip: usize,
    /// Allow unlocking accounts while HTTP is served.
    #[arg(long = "allow-insecure-unlock")]
    allow_insecure_unlock: bool,
}

#[derive(Args, Debug)]
struct AccountArgs {
    /// Keystore directory (default: <datadir>/keystore).
    #[arg(long, global = true)]
    keystore: Option<PathBuf>,
    /// Comma-separated accounts to unlock at start: addresses, or indexes in the keystore.
    #[arg(long, default_value = "")]
    unlock: String,
    /// Password file: one password per line, for --unlock and `account new|import`.
    #[arg(long, global = true)]
    password: Option<PathBuf>,
}

fn parse_list(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The namespaces of an API list; names no namespace has are warned about and skipped.
fn parse_apis(flag: &str, list: &str) -> Vec<Api> {
    let (apis, unknown) = veil_node::rpc::parse_api_list(list);
    if !unknown.is_empty() {
        let known: Vec<&str> = Api::ALL.iter().map(|api| api.name()).collect();
        tracing::warn!(target: "rpc", "--{flag}: no namespace {} here; skipped (known: {})", unknown.join(", "), known.join(", "));
    }
    apis
}

fn parse_unlock(list: &str) -> eyre::Result<Vec<veil_node::UnlockTarget>> {
    parse_list(list).iter().map(|a| a.parse().map_err(|e| eyre::eyre!("--unlock: {e}"))).collect()
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write the genesis block of a geth-format genesis.json into the data directory.
    Init {
        /// The genesis file.
        genesis: PathBuf,
    },
    /// Manage the keystore's accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// EVM tools.
    Evm {
        #[command(subcommand)]
        command: EvmCommand,
    },
    /// Print the node id (the enode public key, hex) of a node key file, creating the file when
    /// missing, like geth's `bootnode -nodekey FILE -writeaddress`.
    Nodekey {
        /// The node key file.
        file: PathBuf,
    },
    /// Attach the JavaScript console to a running node, like geth's `attach`.
    Attach {
        /// `ipc:PATH`, a socket path, `http://…` or `ws://…` (default: <datadir>/veil.ipc).
        endpoint: Option<String>,
        /// Evaluate this, print its value and exit (after pending callbacks and timers).
        #[arg(long)]
        exec: Option<String>,
        /// Scripts to load first, comma-separated.
        #[arg(long, value_delimiter = ',')]
        preload: Vec<PathBuf>,
        /// The REPL's history file (default: ~/.veil_history).
        #[arg(long)]
        history: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum AccountCommand {
    /// Create a new account (password from --password, else asked twice).
    New,
    /// List the keystore's accounts.
    List,
    /// Import a hex private key from a file into the keystore.
    Import {
        /// File holding the 32-byte key in hex.
        keyfile: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum EvmCommand {
    /// Run ethereum/tests GeneralStateTests fixtures and print pass/fail per fork and index.
    Statetest {
        /// Fixture files (or directories of them).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run ethereum/tests BlockchainTests (NoProof) through the node's block import and print
    /// pass/fail per test.
    Blocktest {
        /// Fixture files (or directories of them).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn init_logging(verbosity: u8, format: &str) {
    let level = match verbosity {
        0 => "off",
        1 => "error",
        2 => "warn",
        3 => "info",
        4 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "geth" {
        logs.event_format(veil_node::geth_log::GethFormat).init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.node.verbosity, &cli.node.log_format);
    let result = match cli.command {
        Some(Command::Init { genesis }) => init(&cli.node.datadir, &genesis),
        Some(Command::Account { command }) => {
            let keystore = cli.node.accounts.keystore.clone();
            let keystore = keystore.unwrap_or_else(|| cli.node.datadir.join("keystore"));
            let password = cli.node.accounts.password.as_deref();
            match command {
                AccountCommand::New => account_cli::new(&keystore, password),
                AccountCommand::List => account_cli::list(&keystore),
                AccountCommand::Import { keyfile } => {
                    account_cli::import(&keystore, &keyfile, password)
                }
            }
        }
        Some(Command::Nodekey { file }) => veil_p2p::NodeKey::load_or_create(&file)
            .map(|key| println!("{}", alloy_primitives::hex::encode(key.public())))
            .map_err(Into::into),
        Some(Command::Attach { endpoint, exec, preload, history }) => {
            let endpoint = match endpoint {
                Some(text) => text.parse().map_err(|e: String| eyre::eyre!(e)),
                None => Ok(veil_console::Endpoint::Ipc(cli.node.datadir.join("veil.ipc"))),
            };
            let history = history.unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .map_or_else(PathBuf::new, PathBuf::from)
                    .join(".veil_history")
            });
            endpoint.and_then(|endpoint| {
                veil_console::attach(&endpoint, exec.as_deref(), &preload, &history)
            })
        }
        Some(Command::Evm { command: EvmCommand::Statetest { paths } }) => {
            return veil_node::statetest_cli::run(&paths);
        }
        Some(Command::Evm { command: EvmCommand::Blocktest { paths } }) => {
            return veil_node::blocktest_cli::run(&paths);
        }
        None => run_node(cli.node),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init(datadir: &std::path::Path, genesis: &std::path::Path) -> eyre::Result<()> {
    let spec = veil_config::ChainSpec::from_file(genesis)?;
    let kv = veil_node::open_store(datadir)?;
    let hash = veil_node::Chain::init(&kv, &spec)?;
    println!("Successfully wrote genesis state hash={hash}");
    Ok(())
}

fn run_node(args: NodeArgs) -> eyre::Result<()> {
    let compat = args.compat.apply()?;
    let metrics_listen =
        args.compat.metrics_listen(args.metrics.metrics_addr, args.metrics.metrics_port)?;
    for warning in &compat.warnings {
        tracing::warn!(target: "node", "{warning}");
    }
    let r = args.rpc;
    let http_apis = parse_apis("http.api", &r.http_api);
    let ws_apis = parse_apis("ws.api", &r.ws_api);
    let rpc = veil_node::RpcConfig {
        http: r.http.then(|| veil_node::HttpConfig {
            addr: (r.http_addr, r.http_port).into(),
            apis: http_apis,
            cors_domains: parse_list(&r.http_corsdomain),
            vhosts: parse_list(&r.http_vhosts),
        }),
        ws: r.ws.then(|| veil_node::WsConfig {
            addr: (r.ws_addr, r.ws_port).into(),
            apis: ws_apis,
            origins: parse_list(&r.ws_origins),
        }),
        ipc: (!r.ipcdisable).then(|| r.ipcpath.unwrap_or_else(|| args.datadir.join("veil.ipc"))),
        limits: Limits {
            max_request_bytes: r.max_request_bytes,
            max_connections: r.max_connections,
            max_batch_len: r.batch_limit,
            max_filters: r.max_filters,
            http: veil_node::rpc::server::Bounds {
                header_read_timeout: Duration::from_secs(r.read_header_timeout),
                body_read_timeout: Duration::from_secs(r.read_body_timeout),
                max_connections_per_ip: r.max_connections_per_ip,
            },
            batch_time_budget: Duration::from_millis(r.batch_time_budget),
            ..Limits::default()
        },
        gas_cap: r.gas_cap,
        allow_insecure_unlock: r.allow_insecure_unlock,
        revert_reason: args.compat.revertreason,
    };
    let raft = raft_setup(&args.raft, &args.datadir)?;
    let qbft = veil_node::QbftArgs {
        nodekey: args.raft.nodekey.clone(),
        port: args.raft.port,
        permissioned: args.raft.permissioned,
        block_period_seconds: args.istanbul.block_period.max(1),
        request_timeout_ms: args.istanbul.request_timeout.max(1),
    };
    let config = veil_node::NodeConfig {
        raft,
        qbft,
        datadir: args.datadir,
        dev: args.dev,
        block_time: Duration::from_millis(args.blocktime),
        rpc,
        beneficiary: args.etherbase,
        keystore: args.accounts.keystore,
        unlock: parse_unlock(&args.accounts.unlock)?,
        password_file: args.accounts.password,
        ptm: veil_node::ptm::PtmConfig::resolve(
            args.ptm.socket.as_deref(),
            args.ptm.url.as_deref(),
            args.ptm.timeout,
            std::env::var("PRIVATE_CONFIG").ok().as_deref(),
        )?,
        metrics: args.metrics.metrics.then_some(metrics_listen),
        identity: veil_node::rpc::NodeIdentity {
            network_id: compat.network_id,
            name: compat.identity,
            external_ip: compat.external_ip,
        },
        bootnodes: compat.bootnodes,
    };
    tokio::runtime::Runtime::new()?.block_on(veil_node::run(config))
}
