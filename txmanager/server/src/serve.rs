//! Serving a router on a unix socket, TCP or TLS: one HTTP/1.1 connection task per client,
//! each request tagged with the client's IP ([`RemoteIp`]) for the whitelist, within
//! [`Bounds`]: a client must send a request's headers within `headerReadTimeout` (which also
//! closes connections idle that long) and its body within `bodyReadTimeout`, and one IP may
//! hold at most `maxConnectionsPerIp` connections.

use crate::{api::RemoteIp, tls::ServerTls};
use axum::Router;
use hyper::{body::Incoming, Request};
use hyper_util::rt::TokioIo;
use std::{net::IpAddr, path::PathBuf, sync::Arc, time::Duration};
use tokio::net::{TcpListener, UnixListener};
use tower::ServiceExt;
use veil_config::ServerAddress;
pub use veil_http_bounds::Bounds;
use veil_http_bounds::PerIp;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener, ready to serve.
pub enum Listener {
    /// TCP, with TLS when set.
    Tcp(TcpListener, Option<Arc<ServerTls>>),
    /// A unix socket (removed again when the TM stops).
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds `address` (a stale unix socket file is replaced).
    pub async fn bind(
        address: &ServerAddress,
        tls: Option<Arc<ServerTls>>,
    ) -> Result<Self, String> {
        match address {
            ServerAddress::Unix(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("{}: {e}", parent.display()))?;
                }
                if path.exists() {
                    std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                let listener =
                    UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(Listener::Unix(listener, path.clone()))
            }
            ServerAddress::Http { authority, .. } => {
                let listener = TcpListener::bind(authority.as_str())
                    .await
                    .map_err(|e| format!("{authority}: {e}"))?;
                Ok(Listener::Tcp(listener, tls))
            }
        }
    }

    /// Where it listens, for the log.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l, tls) => {
                let scheme = if tls.is_some() { "https" } else { "http" };
                l.local_addr().map_or("?".into(), |a| format!("{scheme}://{a}"))
            }
            Listener::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }

    /// Serves `router` within `bounds` until the task is dropped.
    pub async fn serve(self, router: Router, bounds: Bounds) {
        let per_ip = Arc::new(PerIp::default());
        match &self {
            Listener::Unix(listener, _) => loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(connection(stream, router.clone(), None, bounds));
                    }
                    Err(e) => accept_failed(e).await,
                }
            },
            Listener::Tcp(listener, tls) => loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let Some(counted) = per_ip.admit(peer.ip(), bounds.max_connections_per_ip)
                        else {
                            tracing::warn!(
                                ip = %peer.ip(),
                                max = bounds.max_connections_per_ip,
                                "refused a connection: this IP holds the most allowed \
                                 (maxConnectionsPerIp)"
                            );
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        let router = router.clone();
                        match tls.clone() {
                            None => {
                                tokio::spawn(async move {
                                    connection(stream, router, Some(peer.ip()), bounds).await;
                                    drop(counted);
                                });
                            }
                            Some(tls) => {
                                tokio::spawn(async move {
                                    let _counted = counted;
                                    let handshake = tokio::time::timeout(
                                        HANDSHAKE_TIMEOUT,
                                        tls.acceptor.accept(stream),
                                    );
                                    let stream = match handshake.await {
                                        Ok(Ok(stream)) => stream,
                                        Ok(Err(e)) => {
                                            return tracing::warn!(%peer, error = %e, "TLS handshake failed")
                                        }
                                        Err(_) => {
                                            return tracing::warn!(%peer, "TLS handshake timed out")
                                        }
                                    };
                                    let certs = stream.get_ref().1.peer_certificates();
                                    if let Err(why) =
                                        tls.check_client(&peer.ip().to_string(), certs)
                                    {
                                        return tracing::warn!(%peer, %why, "client certificate refused");
                                    }
                                    connection(stream, router, Some(peer.ip()), bounds).await
                                });
                            }
                        }
                    }
                    Err(e) => accept_failed(e).await,
                }
            },
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Out of file descriptors and the like: wait a little instead of spinning.
async fn accept_failed(error: std::io::Error) {
    tracing::warn!(%error, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

async fn connection<IO>(io: IO, router: Router, ip: Option<IpAddr>, bounds: Bounds)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(|inner| {
            axum::body::Body::new(bounds.deadline(inner, "server property bodyReadTimeoutMillis"))
        });
        request.extensions_mut().insert(RemoteIp(ip));
        router.clone().oneshot(request)
    });
    let served = bounds.http1().serve_connection(TokioIo::new(io), service).await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
