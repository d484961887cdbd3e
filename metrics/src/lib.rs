//! Prometheus metrics for the node and the TM. Code anywhere records through the `metrics`
//! facade's macros (a no-op until a recorder is installed); [`Exporter::global`] installs
//! metrics-exporter-prometheus' recorder once per process, and [`Exporter::render`] gives the
//! text exposition format, after sampling what is read rather than counted (the process'
//! CPU, memory and disk use under geth's `system_*` names, and whatever the caller samples).
//! Metrics whose names end in `_seconds` are Prometheus histograms; the rest of the
//! histograms (geth's timers, in nanoseconds) are summaries with quantiles, as geth's are.
//! [`serve`] runs the HTTP endpoint; the TM mounts [`Exporter::render`] on its own servers.

mod process;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use parking_lot::Mutex;
use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
};

/// Buckets of the `_seconds` histograms: 1 ms to 30 s.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process' recorder and what renders it.
pub struct Exporter {
    handle: PrometheusHandle,
    process: Mutex<process::Sampler>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").finish_non_exhaustive()
    }
}

static GLOBAL: OnceLock<Result<Arc<Exporter>, String>> = OnceLock::new();

impl Exporter {
    /// The process' exporter, installing its recorder on the first call; an error when
    /// another recorder was installed first.
    pub fn global() -> Result<Arc<Self>, String> {
        GLOBAL
            .get_or_init(|| {
                let handle = PrometheusBuilder::new()
                    .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                    .map_err(|e| e.to_string())?
                    .install_recorder()
                    .map_err(|e| format!("installing the metrics recorder: {e}"))?;
                Ok(Arc::new(Self { handle, process: Mutex::new(process::Sampler::default()) }))
            })
            .clone()
    }

    /// The text exposition of every metric, after sampling the process.
    pub fn render(&self) -> String {
        self.process.lock().sample();
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Serves `GET path` on `listener` (the exposition, after `sample` updates what the caller
/// reads at scrape time) until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    path: &'static str,
    exporter: Arc<Exporter>,
    sample: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        path,
        axum::routing::get(move || {
            let (exporter, sample) = (exporter.clone(), sample.clone());
            async move {
                sample();
                exposition(&exporter)
            }
        }),
    );
    axum::serve(listener, app).await
}

/// The exposition as an HTTP answer, with Prometheus' content type.
pub fn exposition(exporter: &Exporter) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        exporter.render(),
    )
}

/// Binds `addr` for [`serve`], saying what is wrong when it cannot.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("binding the metrics endpoint on {addr}: {e}"))
}
