//! The `veil-tm` binary.

use clap::Parser;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Tessera serves /metrics on every server; recording starts with the process.
    if let Err(why) = veil_metrics::Exporter::global() {
        tracing::warn!(%why, "metrics are not recorded");
    }
    if let Err(e) = veil_txmanager::cli::main(veil_txmanager::cli::Cli::parse()).await {
        eprintln!("veil-tm: {e:#}");
        std::process::exit(1);
    }
}
