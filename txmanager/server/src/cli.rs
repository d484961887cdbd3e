//! The `veil-tm` command line: run a TM, generate keys, run an enclave, change a key's
//! password, ask peers to resend.

use crate::{
    auth::{Identity, IdentityKey},
    party::normalize,
    peer_client::PeerClient,
    remote_enclave::{self, RemoteEnclave},
    run,
    serve::Listener,
    tls::{ClientTls, ServerTls},
};
use clap::{Args, Parser, Subcommand};
use eyre::eyre;
use std::collections::HashSet;
use std::{path::PathBuf, sync::Arc};
use veil_config::{EnclaveConfig, TmApp, TmConfig};
use veil_enclave::{keyfile, Enclave, KeyPair, LocalEnclave, TmPublicKey};
use veil_tm_api::{ResendRequest, ResendType};

/// Veil's transaction manager.
#[derive(Debug, Parser)]
#[command(name = "veil-tm", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// The TM configuration (Tessera's JSON shape).
    #[arg(long, value_name = "FILE")]
    pub configfile: Option<PathBuf>,
    /// A subcommand instead of running the TM.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Writes new key pairs: NAME.pub and NAME.key for each name (X25519 keys, or with
    /// `--identity` a TM's ed25519 identity, for its `identity` configuration).
    Keygen {
        /// Comma-separated file names without extension.
        #[arg(long, value_delimiter = ',', required = true)]
        filename: Vec<PathBuf>,
        /// Write TM identities (ed25519) instead of X25519 keys.
        #[arg(long)]
        identity: bool,
        /// Lock the private keys with the password on this file's first line (blank or
        /// absent: unlocked).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Runs a separate enclave process holding the keys.
    Enclave(ConfigFile),
    /// Re-writes a private key file under a new password.
    UpdatePassword {
        /// The private key file.
        #[arg(long)]
        keyfile: PathBuf,
        /// The current password (first line); absent for an unlocked key.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// The new password (first line); absent or blank: unlocked.
        #[arg(long)]
        new_password_file: Option<PathBuf>,
    },
    /// Asks peers to push back every payload this TM's keys are party to (after losing the
    /// store). The TM itself must be running to receive them.
    Resend {
        /// The TM configuration.
        #[arg(long, value_name = "FILE")]
        configfile: PathBuf,
        /// Ask only this peer (default: every configured peer).
        #[arg(long)]
        peer: Option<String>,
    },
}

/// A configuration file argument.
#[derive(Debug, Args)]
pub struct ConfigFile {
    /// The configuration file.
    #[arg(long, value_name = "FILE")]
    pub configfile: PathBuf,
}

/// Runs the command line.
pub async fn main(cli: Cli) -> eyre::Result<()> {
    match cli.command {
        None => {
            let path =
                cli.configfile.ok_or_else(|| eyre!("--configfile is required (see --help)"))?;
            run::run(TmConfig::from_file(&path)?).await
        }
        Some(Command::Keygen { filename, identity: true, password_file }) => {
            let password = run::first_line(password_file.as_deref())?;
            for name in filename {
                let identity = Identity::generate();
                identity.write(
                    &name.with_extension("key"),
                    &name.with_extension("pub"),
                    password.as_deref().map(|p| p.as_str()),
                )?;
                println!("{} {}", name.with_extension("pub").display(), identity.public());
            }
            Ok(())
        }
        Some(Command::Keygen { filename, identity: false, password_file }) => {
            let password = run::first_line(password_file.as_deref())?;
            for name in filename {
                let pair = KeyPair::generate();
                keyfile::write_private_key(
                    &name.with_extension("key"),
                    pair.private(),
                    password.as_deref().map(|p| p.as_str()),
                )?;
                keyfile::write_public_key(&name.with_extension("pub"), &pair.public())?;
                println!("{} {}", name.with_extension("pub").display(), pair.public());
            }
            Ok(())
        }
        Some(Command::Enclave(ConfigFile { configfile })) => {
            let config = EnclaveConfig::from_file(&configfile)?;
            let served = config
                .served_identities
                .iter()
                .map(|text| text.parse::<IdentityKey>().map_err(|e| eyre!("servedIdentities: {e}")))
                .collect::<eyre::Result<HashSet<_>>>()?;
            let enclave = Arc::new(LocalEnclave::new(run::load_keys(&config.keys)?));
            let address = config.address().parse().map_err(|e: String| eyre!(e))?;
            let tls = match &config.server_configs[0].ssl_config {
                Some(ssl) => ServerTls::from_config(ssl, &run::host_of(config.address()))
                    .map_err(|e| eyre!("ENCLAVE sslConfig: {e}"))?
                    .map(Arc::new),
                None => None,
            };
            let listener =
                Listener::bind(&address, tls).await.map_err(|e| eyre!("ENCLAVE server: {e}"))?;
            tracing::info!(address = %listener.describe(), keys = ?enclave.public_keys().iter().map(ToString::to_string).collect::<Vec<_>>(), "enclave ready");
            let bounds = run::bounds(&config.server_configs[0])?;
            let server =
                tokio::spawn(listener.serve(remote_enclave::router(enclave, served), bounds));
            run::shutdown_signal().await;
            server.abort();
            Ok(())
        }
        Some(Command::UpdatePassword { keyfile: path, password_file, new_password_file }) => {
            let old = run::first_line(password_file.as_deref())?;
            let new = run::first_line(new_password_file.as_deref())?;
            let key = keyfile::read_private_key(&path, old.as_deref().map(|p| p.as_str()))?;
            keyfile::write_private_key(&path, &key, new.as_deref().map(|p| p.as_str()))?;
            println!(
                "{}: {}",
                path.display(),
                if new.is_some() { "locked with the new password" } else { "unlocked" }
            );
            Ok(())
        }
        Some(Command::Resend { configfile, peer }) => {
            resend(&TmConfig::from_file(&configfile)?, peer).await
        }
    }
}

async fn resend(config: &TmConfig, peer: Option<String>) -> eyre::Result<()> {
    let identity = Arc::new(run::load_identity(config)?);
    let keys: Vec<TmPublicKey> = match (config.server(TmApp::Enclave), &config.keys) {
        (Some(enclave), _) => RemoteEnclave::connect(
            &enclave.server_address,
            identity.clone(),
            run::enclave_tls(enclave)?.as_ref(),
        )
        .await?
        .public_keys(),
        (None, Some(keys)) => keys
            .key_data
            .iter()
            .map(|k| keyfile::read_public_key(&k.public_key_path))
            .collect::<Result<_, _>>()?,
        (None, None) => return Err(eyre!("no keys configured")),
    };
    let tls = match config.server(TmApp::P2P).and_then(|p| p.ssl_config.as_ref()) {
        Some(ssl) => ClientTls::from_config(ssl, "localhost").map_err(|e| eyre!(e))?.map(Arc::new),
        None => None,
    };
    let client = PeerClient::new(identity, None, tls);
    let peers: Vec<String> = match peer {
        Some(url) => vec![normalize(&url)],
        None => config.peer.iter().map(|p| normalize(&p.url)).collect(),
    };
    let mut failed = Vec::new();
    for url in &peers {
        for key in &keys {
            let request = ResendRequest { kind: ResendType::All, public_key: *key, key: None };
            match client.resend(url, &request).await {
                Ok(answer) => println!("{url}: {} payloads for {key}", answer.total),
                Err(why) => failed.push(format!("{url} for {key}: {why}")),
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(eyre!("resend failed:\n  {}", failed.join("\n  ")))
    }
}
