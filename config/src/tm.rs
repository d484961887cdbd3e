//! The transaction manager's configuration, shaped like Tessera's `tessera-config.json` so
//! existing files carry over: `serverConfigs`, `peer`, `keys`, `alwaysSendTo`,
//! `useWhiteList`, `disablePeerDiscovery`, `features`, plus Veil's `storage` (`{"path": …}`,
//! instead of Tessera's `jdbc`) and `payloadSizeLimit`. Unknown fields are refused by name;
//! [`TmConfig::validate`] checks the whole file at once and reports every problem.

use serde::Deserialize;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};
use veil_primitives::TmPublicKey;

/// The servers a TM runs (`serverConfigs[].app`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TmApp {
    /// Node-to-TM private API.
    Q2T,
    /// TM-to-TM API: push, party info, resend.
    P2P,
    /// External applications' API (`storeraw`, keys).
    ThirdParty,
    /// A remote enclave (absent: the enclave runs in process).
    #[serde(rename = "ENCLAVE")]
    Enclave,
}

/// Where a server listens or is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerAddress {
    /// `unix:/path/to/socket`.
    Unix(PathBuf),
    /// `http://host:port` or `https://host:port`.
    Http {
        /// Whether TLS is used.
        tls: bool,
        /// `host:port`.
        authority: String,
    },
}

impl std::str::FromStr for ServerAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: address without a path".into());
            }
            return Ok(ServerAddress::Unix(path.into()));
        }
        let (tls, rest) = match (s.strip_prefix("http://"), s.strip_prefix("https://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(format!("{s:?} is neither unix:/path nor http(s)://host:port")),
        };
        let authority = rest.trim_end_matches('/');
        match authority.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(ServerAddress::Http { tls, authority: authority.to_string() })
            }
            _ => Err(format!("{s:?} needs host:port")),
        }
    }
}

/// TLS settings of a server (`sslConfig`), Tessera's names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SslConfig {
    /// `STRICT` or `OFF`.
    pub tls: String,
    /// Generate a certificate and key when the files do not exist.
    #[serde(default)]
    pub generate_key_store_if_not_existed: bool,
    /// Server certificate (PEM).
    pub server_tls_certificate_path: Option<PathBuf>,
    /// Server key (PEM).
    pub server_tls_key_path: Option<PathBuf>,
    /// CA certificates trusted for clients (PEM).
    #[serde(default)]
    pub server_trust_certificates: Vec<PathBuf>,
    /// `CA`, `TOFU`, `WHITELIST`, `CA_OR_TOFU` or `NONE`.
    pub server_trust_mode: Option<String>,
    /// Client certificate (PEM).
    pub client_tls_certificate_path: Option<PathBuf>,
    /// Client key (PEM).
    pub client_tls_key_path: Option<PathBuf>,
    /// CA certificates trusted for servers (PEM).
    #[serde(default)]
    pub client_trust_certificates: Vec<PathBuf>,
    /// `CA`, `TOFU`, `WHITELIST`, `CA_OR_TOFU` or `NONE`.
    pub client_trust_mode: Option<String>,
    /// Fingerprints of known clients (TOFU/WHITELIST).
    pub known_clients_file: Option<PathBuf>,
    /// Fingerprints of known servers (TOFU/WHITELIST).
    pub known_servers_file: Option<PathBuf>,
}

/// CORS of the ThirdParty server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorsConfig {
    /// Allowed origins (`*` for any).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Allowed methods (default: any).
    #[serde(default)]
    pub allowed_methods: Vec<String>,
    /// Allowed request headers (default: any).
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Whether credentials are allowed.
    #[serde(default)]
    pub allow_credentials: bool,
}

/// One `serverConfigs` entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerConfig {
    /// Which API.
    pub app: TmApp,
    /// Tessera's older switch; `false` skips the entry.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where it is reached (and, without `bindingAddress`, where it listens).
    pub server_address: String,
    /// Where it listens, when different.
    pub binding_address: Option<String>,
    /// Only "REST".
    pub communication_type: Option<String>,
    /// TLS.
    pub ssl_config: Option<SslConfig>,
    /// CORS (ThirdParty).
    pub cors: Option<CorsConfig>,
    /// Tessera's free-form properties (P2P: `partyInfoInterval` in ms, …).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// A configured peer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Its P2P URL.
    pub url: String,
}

/// One key pair's files.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyData {
    /// The private key file.
    pub private_key_path: PathBuf,
    /// The public key file.
    pub public_key_path: PathBuf,
}

/// `keys`: the key pairs (the first is the default) and their passwords.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeysConfig {
    /// One password per key, one per line (blank for an unlocked key).
    pub password_file: Option<PathBuf>,
    /// The key pairs.
    pub key_data: Vec<KeyData>,
}

impl KeysConfig {
    /// Every problem with the key list: none configured, or files that do not exist.
    fn problems(&self) -> Vec<String> {
        if self.key_data.is_empty() {
            return vec!["keys.keyData: at least one key pair".into()];
        }
        let mut problems = Vec::new();
        for (i, data) in self.key_data.iter().enumerate() {
            for (field, path) in [
                ("privateKeyPath", &data.private_key_path),
                ("publicKeyPath", &data.public_key_path),
            ] {
                if !path.is_file() {
                    problems.push(format!(
                        "keys.keyData[{i}].{field}: {} does not exist",
                        path.display()
                    ));
                }
            }
        }
        problems
    }
}

/// Payload storage (Veil: a RocksDB directory).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The database directory.
    pub path: PathBuf,
}

/// Tessera's feature switches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Features {
    /// Always on in Veil (a key→URL mapping needs proof of key ownership); accepted for
    /// compatibility.
    #[serde(default)]
    pub enable_remote_key_validation: bool,
    /// Privacy enhancements: payloads with privacy flags 1–3 (party protection, mandatory
    /// recipients, private state validation). The node's genesis must agree.
    #[serde(default)]
    pub enable_privacy_enhancements: bool,
    /// Multiple private states (not supported yet; must be false).
    #[serde(default)]
    pub enable_multiple_private_states: bool,
}

/// A TM's whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TmConfig {
    /// Only configured peers may connect.
    #[serde(default)]
    pub use_white_list: bool,
    /// Only configured peers are contacted.
    #[serde(default)]
    pub disable_peer_discovery: bool,
    /// The servers.
    pub server_configs: Vec<ServerConfig>,
    /// Known peers.
    #[serde(default)]
    pub peer: Vec<PeerConfig>,
    /// The keys (absent when a remote enclave holds them).
    pub keys: Option<KeysConfig>,
    /// Keys every payload is also sent to.
    #[serde(default)]
    pub always_send_to: Vec<TmPublicKey>,
    /// Payload storage.
    pub storage: StorageConfig,
    /// Feature switches.
    #[serde(default)]
    pub features: Features,
    /// Largest payload accepted, in bytes (default 16 MiB).
    #[serde(default = "default_payload_limit")]
    pub payload_size_limit: usize,
    /// Veil: the TM's ed25519 identity (absent: one kept in the storage directory, created on
    /// first start).
    pub identity: Option<IdentityConfig>,
}

/// Veil's `identity`: the files of the TM's ed25519 identity key (`veil-tm keygen --identity`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityConfig {
    /// The private key file (the key files' format; may be password-locked).
    pub private_key_path: PathBuf,
    /// The public key file, checked against the private key when given.
    pub public_key_path: Option<PathBuf>,
    /// The password of a locked key (first line).
    pub password_file: Option<PathBuf>,
}

fn default_payload_limit() -> usize {
    16 * 1024 * 1024
}

/// Why a TM configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum TmConfigError {
    /// The file could not be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The JSON does not fit the schema (names the field and its place).
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde's message: unknown or missing field, wrong type, with line and column.
        reason: String,
    },
    /// The values are inconsistent; every problem found is listed.
    #[error("{path}: invalid configuration:\n  - {}", problems.join("\n  - "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// One line per problem.
        problems: Vec<String>,
    },
}

/// Reads a JSON configuration of type `T` and checks it with `validate`.
fn load<T: serde::de::DeserializeOwned>(
    path: &Path,
    validate: fn(&T) -> Vec<String>,
) -> Result<T, TmConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TmConfigError::Read { path: path.into(), reason: e.to_string() })?;
    let config: T = serde_json::from_str(&text)
        .map_err(|e| TmConfigError::Parse { path: path.into(), reason: e.to_string() })?;
    let problems = validate(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(TmConfigError::Invalid { path: path.into(), problems })
    }
}

/// The configuration of a separate enclave process (`veil-tm enclave`): its one `ENCLAVE`
/// server and the keys; Tessera's enclave files have the same shape.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnclaveConfig {
    /// Exactly one server, `app: "ENCLAVE"`, on `http://host:port`.
    pub server_configs: Vec<ServerConfig>,
    /// The keys the enclave holds.
    pub keys: KeysConfig,
    /// Veil: the identities (base64 ed25519 public keys) of the TMs this enclave serves; every
    /// request must be signed by one of them.
    #[serde(default)]
    pub served_identities: Vec<String>,
}

impl EnclaveConfig {
    /// Reads and validates an enclave configuration file.
    pub fn from_file(path: &Path) -> Result<Self, TmConfigError> {
        load(path, Self::validate)
    }

    /// Every inconsistency (empty: valid).
    pub fn validate(&self) -> Vec<String> {
        let mut problems = self.keys.problems();
        match self.server_configs.as_slice() {
            [server] if server.app == TmApp::Enclave => match server.server_address.parse() {
                Ok(ServerAddress::Http { tls: false, .. }) => {}
                Ok(ServerAddress::Http { tls: true, .. })
                    if server.ssl_config.as_ref().is_some_and(|s| s.tls == "STRICT") => {}
                Ok(ServerAddress::Http { tls: true, .. }) => problems.push(
                    "serverConfigs[0]: an https:// enclave needs an sslConfig with tls STRICT"
                        .into(),
                ),
                _ => problems.push(format!(
                    "serverConfigs[0].serverAddress: {:?} is not http(s)://host:port",
                    server.server_address
                )),
            },
            _ => problems.push("serverConfigs: exactly one server, with app ENCLAVE".into()),
        }
        if self.served_identities.is_empty() {
            problems.push(
                "servedIdentities: list the identities of the TMs this enclave serves (each TM \
                 logs its identity at start and keeps it in identity.pub)"
                    .into(),
            );
        }
        problems
    }

    /// The enclave's address.
    pub fn address(&self) -> &str {
        &self.server_configs[0].server_address
    }
}

impl TmConfig {
    /// Reads and validates a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, TmConfigError> {
        load(path, Self::validate)
    }

    /// The enabled server of `app`, if configured.
    pub fn server(&self, app: TmApp) -> Option<&ServerConfig> {
        self.server_configs.iter().find(|s| s.enabled && s.app == app)
    }

    /// Every inconsistency in the configuration (empty: valid).
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for (i, server) in self.server_configs.iter().enumerate().filter(|(_, s)| s.enabled) {
            let place = format!("serverConfigs[{i}] ({:?})", server.app);
            if seen.contains(&server.app) {
                problems.push(format!("{place}: a second {:?} server", server.app));
            }
            seen.push(server.app);
            for (field, value) in [
                ("serverAddress", Some(&server.server_address)),
                ("bindingAddress", server.binding_address.as_ref()),
            ] {
                if let Some(Err(e)) = value.map(|v| v.parse::<ServerAddress>()) {
                    problems.push(format!("{place}.{field}: {e}"));
                }
            }
            if server.communication_type.as_deref().is_some_and(|t| t != "REST") {
                problems.push(format!("{place}.communicationType: only \"REST\" is supported"));
            }
            if let Some(ssl) = &server.ssl_config {
                if ssl.tls != "STRICT" && ssl.tls != "OFF" {
                    problems
                        .push(format!("{place}.sslConfig.tls: {:?}, want STRICT or OFF", ssl.tls));
                }
            }
        }
        for app in [TmApp::Q2T, TmApp::P2P] {
            if !seen.contains(&app) {
                problems.push(format!("serverConfigs: no {app:?} server"));
            }
        }
        if self.server(TmApp::Enclave).is_none() {
            match &self.keys {
                None => problems.push("keys: required unless an ENCLAVE server holds them".into()),
                Some(keys) => problems.extend(keys.problems()),
            }
        }
        for (i, peer) in self.peer.iter().enumerate() {
            match peer.url.parse::<ServerAddress>() {
                Ok(ServerAddress::Http { .. }) => {}
                _ => problems
                    .push(format!("peer[{i}].url: {:?} is not http(s)://host:port", peer.url)),
            }
        }
        if self.features.enable_multiple_private_states {
            problems.push("features.enableMultiplePrivateStates: not supported".into());
        }
        if self.payload_size_limit == 0 {
            problems.push("payloadSizeLimit: must be above 0".into());
        }
        problems
    }
}
