//! `veil`: the Veil node and its tools.

use clap::{Args, Parser, Subcommand};
use std::{net::IpAddr, path::PathBuf, process::ExitCode, time::Duration};

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
    /// Ephemeral-style developer chain with funded, well-known accounts.
    #[arg(long)]
    dev: bool,
    /// Minimum time between blocks in milliseconds.
    #[arg(long, default_value_t = 50)]
    blocktime: u64,
    /// Enable the HTTP JSON-RPC server.
    #[arg(long)]
    http: bool,
    /// HTTP JSON-RPC listening interface.
    #[arg(long = "http.addr", default_value = "127.0.0.1")]
    http_addr: IpAddr,
    /// HTTP JSON-RPC listening port (0 picks a free one).
    #[arg(long = "http.port", default_value_t = 8545)]
    http_port: u16,
    /// Fee recipient of minted blocks.
    #[arg(long = "miner.etherbase", default_value_t = alloy_primitives::Address::ZERO)]
    etherbase: alloy_primitives::Address,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write the genesis block of a geth-format genesis.json into the data directory.
    Init {
        /// The genesis file.
        genesis: PathBuf,
    },
    /// EVM tools.
    Evm {
        #[command(subcommand)]
        command: EvmCommand,
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
}

fn init_logging(verbosity: u8) {
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.node.verbosity);
    let result = match cli.command {
        Some(Command::Init { genesis }) => init(&cli.node.datadir, &genesis),
        Some(Command::Evm { command: EvmCommand::Statetest { paths } }) => {
            return veil_node::statetest_cli::run(&paths);
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
    let config = veil_node::NodeConfig {
        datadir: args.datadir,
        dev: args.dev,
        block_time: Duration::from_millis(args.blocktime),
        http: args.http.then(|| (args.http_addr, args.http_port).into()),
        beneficiary: args.etherbase,
    };
    tokio::runtime::Runtime::new()?.block_on(veil_node::run(config))
}
