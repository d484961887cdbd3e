//! Starting a TM from its configuration: keys or remote enclave, store, TLS, servers and
//! discovery.

use crate::{
    api,
    auth::{Authenticator, Identity},
    discovery,
    enclave_handle::EnclaveHandle,
    manager::TransactionManager,
    party::{normalize, PartyStore, PeerLimits},
    peer_client::PeerClient,
    remote_enclave::RemoteEnclave,
    serve::{Bounds, Listener},
    store::PayloadStore,
    tls::{ClientTls, ServerTls},
};
use eyre::{eyre, WrapErr};
use std::{collections::HashSet, net::IpAddr, sync::Arc, time::Duration};
use veil_config::{KeysConfig, ServerAddress, ServerConfig, TmApp, TmConfig};
use veil_enclave::{keyfile, KeyPair, LocalEnclave};
use zeroize::Zeroizing;

/// Party info is exchanged this often unless `partyInfoInterval` (ms) says otherwise.
const DEFAULT_PARTY_INFO_INTERVAL: Duration = Duration::from_secs(5);

/// Loads every configured key pair, with its line of `passwordFile` (blank: unlocked).
pub fn load_keys(keys: &KeysConfig) -> eyre::Result<Vec<KeyPair>> {
    let passwords: Vec<String> = match &keys.password_file {
        None => Vec::new(),
        Some(path) => std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading {}", path.display()))?
            .lines()
            .map(str::to_string)
            .collect(),
    };
    keys.key_data
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let password = passwords.get(i).map(String::as_str).filter(|p| !p.is_empty());
            Ok(keyfile::load_key_pair(&data.public_key_path, &data.private_key_path, password)?)
        })
        .collect()
}

/// The TM's identity: the configured one, or the one kept in the storage directory.
pub fn load_identity(config: &TmConfig) -> eyre::Result<Identity> {
    match &config.identity {
        Some(id) => {
            let password = first_line(id.password_file.as_deref())?;
            let password = password.as_deref().map(String::as_str);
            Ok(Identity::load(&id.private_key_path, id.public_key_path.as_deref(), password)?)
        }
        None => Ok(Identity::load_or_create(&config.storage.path)?),
    }
}

/// The first line of a password file (wiped when dropped), `None` without a file or for a
/// blank line.
pub fn first_line(path: Option<&std::path::Path>) -> eyre::Result<Option<Zeroizing<String>>> {
    let Some(path) = path else { return Ok(None) };
    let text = Zeroizing::new(
        std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?,
    );
    let line = text.lines().next().unwrap_or("");
    Ok((!line.is_empty()).then(|| Zeroizing::new(line.to_string())))
}

/// The server property `name` as a number, if set.
fn property(server: &ServerConfig, name: &str) -> eyre::Result<Option<u64>> {
    server
        .properties
        .get(name)
        .map(|v| {
            v.parse().map_err(|_| {
                eyre!("{:?} server property {name}: {v:?} is not a number", server.app)
            })
        })
        .transpose()
}

/// A server's bounds: its properties `headerReadTimeoutMillis`, `bodyReadTimeoutMillis` and
/// `maxConnectionsPerIp`, or the defaults.
pub fn bounds(server: &ServerConfig) -> eyre::Result<Bounds> {
    let defaults = Bounds::default();
    Ok(Bounds {
        header_read_timeout: property(server, "headerReadTimeoutMillis")?
            .map_or(defaults.header_read_timeout, Duration::from_millis),
        body_read_timeout: property(server, "bodyReadTimeoutMillis")?
            .map_or(defaults.body_read_timeout, Duration::from_millis),
        max_connections_per_ip: property(server, "maxConnectionsPerIp")?
            .map_or(defaults.max_connections_per_ip, |n| n as usize),
    })
}

/// The client TLS of the `ENCLAVE` server entry, when it has an `sslConfig`.
pub fn enclave_tls(server: &ServerConfig) -> eyre::Result<Option<ClientTls>> {
    match &server.ssl_config {
        None => Ok(None),
        Some(ssl) => ClientTls::from_config(ssl, &host_of(&server.server_address))
            .map_err(|e| eyre!("ENCLAVE sslConfig: {e}")),
    }
}

/// The host of an `http(s)://host:port` address (`localhost` otherwise).
pub fn host_of(address: &str) -> String {
    match address.parse::<ServerAddress>() {
        Ok(ServerAddress::Http { authority, .. }) => authority
            .rsplit_once(':')
            .map_or(authority.clone(), |(h, _)| h.trim_matches(['[', ']']).to_string()),
        _ => "localhost".into(),
    }
}

fn listen_address(server: &ServerConfig) -> eyre::Result<ServerAddress> {
    let text = server.binding_address.as_deref().unwrap_or(&server.server_address);
    text.parse().map_err(|e| eyre!("{:?} server: {e}", server.app))
}

/// The IPs of the configured peers: with `useWhiteList`, the only ones served.
async fn whitelist(config: &TmConfig) -> eyre::Result<HashSet<IpAddr>> {
    let mut allowed = HashSet::new();
    for peer in &config.peer {
        if let Ok(ServerAddress::Http { authority, .. }) = peer.url.parse() {
            let found = tokio::net::lookup_host(authority.as_str())
                .await
                .wrap_err_with(|| format!("resolving peer {}", peer.url))?;
            allowed.extend(found.map(|a| a.ip()));
        }
    }
    Ok(allowed)
}

/// Runs the TM until interrupted.
pub async fn run(config: TmConfig) -> eyre::Result<()> {
    let identity = Arc::new(load_identity(&config)?);
    let enclave = match config.server(TmApp::Enclave) {
        Some(server) => EnclaveHandle::Remote(Arc::new(
            RemoteEnclave::connect(
                &server.server_address,
                identity.clone(),
                enclave_tls(server)?.as_ref(),
            )
            .await
            .wrap_err("connecting to the enclave")?,
        )),
        None => {
            let keys = config.keys.as_ref().ok_or_else(|| eyre!("no keys configured"))?;
            EnclaveHandle::Local(Arc::new(LocalEnclave::new(load_keys(keys)?)))
        }
    };
    let store = PayloadStore::open(&config.storage.path)?;
    let p2p = config.server(TmApp::P2P).ok_or_else(|| eyre!("no P2P server"))?;
    let host = host_of(&p2p.server_address);
    let (server_tls, client_tls) = match &p2p.ssl_config {
        Some(ssl) => (
            ServerTls::from_config(ssl, &host)
                .map_err(|e| eyre!("P2P sslConfig: {e}"))?
                .map(Arc::new),
            ClientTls::from_config(ssl, &host)
                .map_err(|e| eyre!("P2P sslConfig: {e}"))?
                .map(Arc::new),
        ),
        None => (None, None),
    };
    // Connections to peers leave from an address of this machine: the binding address's
    // when there is one (the advertised one may be a proxy's, a NAT's or a load balancer's,
    // which nothing here can bind), else the advertised one, so whitelists see it.
    let local_host = p2p.binding_address.as_deref().map_or_else(|| host.clone(), host_of);
    let local_ip = local_host.parse::<IpAddr>().ok().filter(|ip| !ip.is_unspecified());
    let peers = Arc::new(PeerClient::new(identity.clone(), local_ip, client_tls));
    let defaults = PeerLimits::default();
    let limits = PeerLimits {
        max_peers: property(p2p, "maxPeers")?.map_or(defaults.max_peers, |n| n as usize),
        expiry: property(p2p, "peerExpiryMillis")?.map_or(defaults.expiry, Duration::from_millis),
    };
    let parties = Arc::new(PartyStore::new(
        &p2p.server_address,
        identity.public(),
        enclave.public_keys(),
        config.peer.iter().map(|p| p.url.clone()),
        !config.disable_peer_discovery,
        limits,
    ));
    let manager = Arc::new(
        TransactionManager::new(
            enclave,
            store,
            parties,
            peers,
            config.always_send_to.clone(),
            config.payload_size_limit,
        )
        .with_privacy_enhancements(config.features.enable_privacy_enhancements),
    );
    let allowed = if config.use_white_list { Some(whitelist(&config).await?) } else { None };
    let authenticator = Authenticator::new(Some(identity.clone()), api::body_limit(&manager), None);

    let mut servers = Vec::new();
    for server in config.server_configs.iter().filter(|s| s.enabled) {
        let router = match server.app {
            TmApp::Q2T => api::q2t::router(manager.clone()),
            TmApp::ThirdParty => api::third_party::router(manager.clone(), server.cors.as_ref()),
            TmApp::P2P => api::p2p::router(manager.clone(), authenticator.clone(), allowed.clone()),
            TmApp::Enclave => continue,
        };
        let tls = if server.app == TmApp::P2P { server_tls.clone() } else { None };
        let listener = Listener::bind(&listen_address(server)?, tls)
            .await
            .map_err(|e| eyre!("{:?} server: {e}", server.app))?;
        tracing::info!(app = ?server.app, address = %listener.describe(), "serving");
        servers.push(tokio::spawn(listener.serve(router, bounds(server)?)));
    }
    let interval = property(p2p, "partyInfoInterval")?
        .map_or(DEFAULT_PARTY_INFO_INTERVAL, Duration::from_millis);
    let discovery = tokio::spawn(discovery::run(manager.clone(), interval));
    tracing::info!(
        url = %normalize(&p2p.server_address),
        identity = %identity.public(),
        keys = ?manager.local_keys().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "veil-tm ready"
    );
    shutdown_signal().await;
    discovery.abort();
    for server in servers {
        server.abort();
        let _ = server.await;
    }
    tracing::info!("veil-tm stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
