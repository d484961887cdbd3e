//! TLS between TMs with rustls, configured by Tessera's `sslConfig`.
//!
//! - `tls: "STRICT"` turns TLS on for the P2P server and client; certificates and keys are PEM
//!   files, generated (self-signed, with the server's host, `localhost` and `127.0.0.1` as
//!   names) when `generateKeyStoreIfNotExisted` is set and they are missing.
//! - Trust modes (`serverTrustMode` for the clients a server accepts, `clientTrustMode` for the
//!   servers a client accepts): `CA` (a chain to `…TrustCertificates`), `TOFU` (the first
//!   certificate seen for an address is recorded in `knownServersFile`/`knownClientsFile` and
//!   must not change), `WHITELIST` (the certificate must already be listed there), `CA_OR_TOFU`,
//!   and `NONE` (servers: no client certificate asked; clients: any server accepted).
//! - Known-certificate files hold one `<address> <sha256 hex of the DER certificate>` per line.
//!   Servers are recorded by `host:port`, clients by their IP address, so client certificates
//!   are checked after the handshake, when the address is known.

use parking_lot::Mutex;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider},
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime},
    server::danger::{ClientCertVerified, ClientCertVerifier},
    ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};
use sha2::{Digest, Sha256};
use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};
use veil_config::SslConfig;

/// How the other side's certificate is trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustMode {
    /// A chain to a configured CA.
    Ca,
    /// The first certificate seen for an address, from then on.
    Tofu,
    /// Only listed certificates.
    Whitelist,
    /// A CA chain, or else trust on first use.
    CaOrTofu,
    /// Anything (servers: no client certificate).
    None,
}

impl TrustMode {
    fn parse(text: Option<&str>) -> Result<Self, String> {
        Ok(match text.unwrap_or("NONE") {
            "CA" => TrustMode::Ca,
            "TOFU" => TrustMode::Tofu,
            "WHITELIST" => TrustMode::Whitelist,
            "CA_OR_TOFU" => TrustMode::CaOrTofu,
            "NONE" => TrustMode::None,
            other => {
                return Err(format!(
                    "trust mode {other:?}: want CA, TOFU, WHITELIST, CA_OR_TOFU or NONE"
                ))
            }
        })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// SHA-256 of a DER certificate, hex.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A known-certificates file (TOFU and WHITELIST).
#[derive(Debug)]
pub struct KnownCerts {
    file: Option<PathBuf>,
    lock: Mutex<()>,
}

impl KnownCerts {
    fn new(file: Option<PathBuf>) -> Self {
        Self { file, lock: Mutex::new(()) }
    }

    fn entries(&self) -> Vec<(String, String)> {
        let Some(file) = &self.file else { return Vec::new() };
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                l.split_once(' ').map(|(a, f)| (a.trim().to_string(), f.trim().to_lowercase()))
            })
            .collect()
    }

    /// Checks `cert` for `address` under `mode` (TOFU records a first sighting).
    pub fn check(
        &self,
        mode: TrustMode,
        address: &str,
        cert: &CertificateDer<'_>,
    ) -> Result<(), String> {
        let print = fingerprint(cert);
        let _one_at_a_time = self.lock.lock();
        let known: Vec<String> =
            self.entries().into_iter().filter(|(a, _)| a == address).map(|(_, f)| f).collect();
        if known.contains(&print) {
            return Ok(());
        }
        let file = self
            .file
            .as_ref()
            .map_or("(no known certificates file)".into(), |f| f.display().to_string());
        if mode == TrustMode::Whitelist || !known.is_empty() {
            return Err(format!(
                "certificate {print} of {address} is not the one listed in {file}"
            ));
        }
        let Some(path) = &self.file else {
            return Err(format!("trust on first use of {address} needs a known certificates file"));
        };
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{file}: {e}"))?;
        writeln!(out, "{address} {print}").map_err(|e| format!("{file}: {e}"))?;
        tracing::info!(address, fingerprint = %print, "trusting a certificate on first use");
        Ok(())
    }
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut data.as_slice()).collect();
    let certs = certs.map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn read_pem_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let data = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| format!("{}: {e}", path.display()))?
        .ok_or_else(|| format!("{}: no PEM private key", path.display()))
}

fn roots(paths: &[PathBuf]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for path in paths {
        for cert in read_pem_certs(path)? {
            roots.add(cert).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if roots.is_empty() {
        return Err("CA trust needs trust certificates".into());
    }
    Ok(roots)
}

/// A certificate and key, generated when missing and `generate` is set.
fn identity(
    cert: Option<&Path>,
    key: Option<&Path>,
    generate: bool,
    host: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err("TLS needs a certificate path and a key path".into());
    };
    if generate && !cert.exists() && !key.exists() {
        let names = vec![host.to_string(), "localhost".into(), "127.0.0.1".into()];
        let pair = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let generated = rcgen::CertificateParams::new(names)
            .and_then(|params| params.self_signed(&pair))
            .map_err(|e| e.to_string())?;
        std::fs::write(cert, generated.pem()).map_err(|e| format!("{}: {e}", cert.display()))?;
        write_secret(key, pair.serialize_pem().as_bytes())?;
        tracing::info!(cert = %cert.display(), "generated a TLS certificate");
    }
    Ok((read_pem_certs(cert)?, read_pem_key(key)?))
}

fn write_secret(path: &Path, contents: &[u8]) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks signatures with the provider's algorithms; trust is decided elsewhere.
#[derive(Debug)]
struct SignaturesOnly(Arc<CryptoProvider>);

impl SignaturesOnly {
    fn tls12(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn tls13(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The handshake-signature methods both verifier traits share, forwarded to a
/// [`SignaturesOnly`] field.
macro_rules! signature_checks {
    ($field:tt) => {
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.$field.tls12(m, c, d)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.$field.tls13(m, c, d)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.$field.schemes()
        }
    };
}

/// Accepts any client certificate during the handshake (its signature still has to verify);
/// the server loop then checks it against the known clients by address.
#[derive(Debug)]
struct AnyClientCert(SignaturesOnly);

impl ClientCertVerifier for AnyClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    signature_checks!(0);
}

/// Checks one server (by `host:port`) against the known servers, after CA for `CA_OR_TOFU`.
#[derive(Debug)]
struct KnownServer {
    signatures: SignaturesOnly,
    mode: TrustMode,
    address: String,
    known: Arc<KnownCerts>,
    ca: Option<Arc<dyn ServerCertVerifier>>,
}

impl ServerCertVerifier for KnownServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(ca) = &self.ca {
            if ca.verify_server_cert(end_entity, intermediates, name, ocsp, now).is_ok() {
                return Ok(ServerCertVerified::assertion());
            }
        }
        if self.mode == TrustMode::None {
            return Ok(ServerCertVerified::assertion());
        }
        self.known
            .check(self.mode, &self.address, end_entity)
            .map(|()| ServerCertVerified::assertion())
            .map_err(rustls::Error::General)
    }
    signature_checks!(signatures);
}

/// The P2P server's TLS: the acceptor and how clients are trusted.
pub struct ServerTls {
    /// The rustls acceptor.
    pub acceptor: tokio_rustls::TlsAcceptor,
    mode: TrustMode,
    known: KnownCerts,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// The server side of `ssl` (`None` unless `tls` is `STRICT`), for a server at `host`.
    pub fn from_config(ssl: &SslConfig, host: &str) -> Result<Option<Self>, String> {
        if ssl.tls != "STRICT" {
            return Ok(None);
        }
        let (certs, key) = identity(
            ssl.server_tls_certificate_path.as_deref(),
            ssl.server_tls_key_path.as_deref(),
            ssl.generate_key_store_if_not_existed,
            host,
        )?;
        let mode = TrustMode::parse(ssl.server_trust_mode.as_deref())?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match mode {
            TrustMode::None => builder.with_no_client_auth(),
            TrustMode::Ca => builder.with_client_cert_verifier(
                rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots(&ssl.server_trust_certificates)?),
                    provider(),
                )
                .build()
                .map_err(|e| e.to_string())?,
            ),
            _ => builder
                .with_client_cert_verifier(Arc::new(AnyClientCert(SignaturesOnly(provider())))),
        };
        let config = builder.with_single_cert(certs, key).map_err(|e| e.to_string())?;
        Ok(Some(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            mode,
            known: KnownCerts::new(ssl.known_clients_file.clone()),
        }))
    }

    /// After the handshake: checks the client's certificate by its address (TOFU, WHITELIST).
    pub fn check_client(
        &self,
        address: &str,
        certs: Option<&[CertificateDer<'static>]>,
    ) -> Result<(), String> {
        match self.mode {
            TrustMode::None | TrustMode::Ca => Ok(()),
            mode => {
                let cert = certs.and_then(|c| c.first()).ok_or("no client certificate")?;
                let mode = if mode == TrustMode::CaOrTofu { TrustMode::Tofu } else { mode };
                self.known.check(mode, address, cert)
            }
        }
    }
}

/// The P2P client's TLS: a rustls config per peer address.
#[derive(Debug)]
pub struct ClientTls {
    mode: TrustMode,
    known: Arc<KnownCerts>,
    roots: Option<Arc<RootCertStore>>,
    identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
}

impl ClientTls {
    /// The client side of `ssl` (`None` unless `tls` is `STRICT`), for a TM at `host`.
    pub fn from_config(ssl: &SslConfig, host: &str) -> Result<Option<Self>, String> {
        if ssl.tls != "STRICT" {
            return Ok(None);
        }
        let mode = TrustMode::parse(ssl.client_trust_mode.as_deref())?;
        let roots = match mode {
            TrustMode::Ca | TrustMode::CaOrTofu => {
                Some(Arc::new(roots(&ssl.client_trust_certificates)?))
            }
            _ => None,
        };
        let identity = match (&ssl.client_tls_certificate_path, &ssl.client_tls_key_path) {
            (None, None) => None,
            (cert, key) => {
                let (certs, key) = identity(
                    cert.as_deref(),
                    key.as_deref(),
                    ssl.generate_key_store_if_not_existed,
                    host,
                )?;
                Some((certs, Arc::new(key)))
            }
        };
        Ok(Some(Self {
            mode,
            known: Arc::new(KnownCerts::new(ssl.known_servers_file.clone())),
            roots,
            identity,
        }))
    }

    /// The rustls config for connections to the TM at `address` (`host:port`).
    pub fn config_for(&self, address: &str) -> Result<ClientConfig, String> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match (self.mode, &self.roots) {
            (TrustMode::Ca, Some(roots)) => builder.with_root_certificates(roots.clone()),
            (mode, roots) => {
                let ca = roots
                    .as_ref()
                    .map(|r| {
                        rustls::client::WebPkiServerVerifier::builder_with_provider(
                            r.clone(),
                            provider(),
                        )
                        .build()
                        .map(|v| v as Arc<dyn ServerCertVerifier>)
                    })
                    .transpose()
                    .map_err(|e| e.to_string())?;
                let mode = if mode == TrustMode::CaOrTofu { TrustMode::Tofu } else { mode };
                builder.dangerous().with_custom_certificate_verifier(Arc::new(KnownServer {
                    signatures: SignaturesOnly(provider()),
                    mode,
                    address: address.to_string(),
                    known: self.known.clone(),
                    ca,
                }))
            }
        };
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some((certs, key)) => builder
                .with_client_auth_cert(certs.clone(), key.clone_key())
                .map_err(|e| e.to_string()),
        }
    }
}
