//! GoQuorum's and geth's flags that deployments pass (quorum-dev-quickstart's
//! `docker-entrypoint.sh`, the quorum-kubernetes StatefulSets, 7nodes' scripts). The meaningful
//! ones take effect — `--networkid` (net_version), `--identity` (the client name),
//! `--nat extip:IP` (the enode's address), `--bootnodes` (peers to dial), `--revertreason`
//! (`revertReason` in failed receipts) —; the ones that mean
//! nothing for Veil are accepted with one warning each, saying why; the ones Veil cannot honour
//! (`--ptm.tls.mode strict`, `--syncmode snap`) are refused or warned about plainly.

use clap::Args;

/// The flags.
#[derive(Args, Debug, Default)]
pub(crate) struct CompatArgs {
    /// The network id answered by net_version (default: the chain id).
    #[arg(long)]
    pub(crate) networkid: Option<u64>,
    /// A name for this node, shown in web3_clientVersion and admin_nodeInfo.
    #[arg(long)]
    pub(crate) identity: Option<String>,
    /// `extip:IP`: the address this node's enode names (admin_nodeInfo).
    #[arg(long)]
    pub(crate) nat: Option<String>,
    /// Comma-separated enode URLs dialled like static nodes.
    #[arg(long)]
    pub(crate) bootnodes: Option<String>,
    /// Accepted: Veil always imports and executes every block ("full").
    #[arg(long)]
    pub(crate) syncmode: Option<String>,
    /// Accepted: no USB wallets.
    #[arg(long)]
    pub(crate) nousb: bool,
    /// A failed transaction's receipt carries revertReason, the data it reverted with.
    #[arg(long)]
    pub(crate) revertreason: bool,
    /// Accepted: GoQuorum's checkpoint log lines are not written.
    #[arg(long)]
    pub(crate) emitcheckpoints: bool,
    /// Go's profiler does not exist here; as geth's, its server serves --metrics when
    /// --metrics.addr is not given.
    #[arg(long)]
    pub(crate) pprof: bool,
    /// With --pprof: the metrics' address (default 127.0.0.1).
    #[arg(long = "pprof.addr")]
    pub(crate) pprof_addr: Option<String>,
    /// With --pprof: the metrics' port (default 6060).
    #[arg(long = "pprof.port")]
    pub(crate) pprof_port: Option<u16>,
    /// Accepted: the pool takes any gas price the chain allows.
    #[arg(long = "miner.gasprice")]
    pub(crate) miner_gasprice: Option<String>,
    /// Accepted: privacy marker transactions are not supported; private transactions are sent
    /// as GoQuorum sends them without it.
    #[arg(long = "privacymarker.enable")]
    pub(crate) privacymarker: bool,
    /// Accepted: peers are the static nodes.
    #[arg(long)]
    pub(crate) maxpeers: Option<u32>,
    /// Accepted: there are no expensive metrics apart.
    #[arg(long = "metrics.expensive")]
    pub(crate) metrics_expensive: bool,
    /// Accepted: the TM client's HTTP buffers are hyper's.
    #[arg(long = "ptm.http.writebuffersize")]
    pub(crate) ptm_write_buffer: Option<u64>,
    /// Accepted: the TM client's HTTP buffers are hyper's.
    #[arg(long = "ptm.http.readbuffersize")]
    pub(crate) ptm_read_buffer: Option<u64>,
    /// Accepted: idle TM connections are hyper's to close.
    #[arg(long = "ptm.http.idletimeout")]
    pub(crate) ptm_idle_timeout: Option<u64>,
    /// Accepted: connecting is bounded by --ptm.timeout.
    #[arg(long = "ptm.dialtimeout")]
    pub(crate) ptm_dial_timeout: Option<u64>,
    /// `off` (plain HTTP or a unix socket); `strict` (TLS) is refused.
    #[arg(long = "ptm.tls.mode")]
    pub(crate) ptm_tls_mode: Option<String>,
}

/// What the flags change, and the warnings for the ones that change nothing.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// `--networkid`.
    pub(crate) network_id: Option<u64>,
    /// `--identity`.
    pub(crate) identity: Option<String>,
    /// The IP of `--nat extip:IP`.
    pub(crate) external_ip: Option<std::net::IpAddr>,
    /// `--bootnodes`, parsed.
    pub(crate) bootnodes: Vec<veil_p2p::Enode>,
    /// One line per flag accepted without effect.
    pub(crate) warnings: Vec<String>,
}

impl CompatArgs {
    /// Checks the flags: an error for one Veil cannot honour, warnings for the rest.
    pub(crate) fn apply(&self) -> eyre::Result<Applied> {
        let mut applied = Applied {
            network_id: self.networkid,
            identity: self.identity.clone(),
            ..Default::default()
        };
        let warn = |applied: &mut Applied, flag: &str, why: &str| {
            applied.warnings.push(format!("{flag} is accepted for GoQuorum compatibility: {why}"));
        };
        if let Some(nat) = &self.nat {
            match nat.split_once(':') {
                Some(("extip", ip)) => {
                    applied.external_ip = Some(ip.parse().map_err(|e| {
                        eyre::eyre!("--nat extip:{ip}: not an IP address ({e})")
                    })?)
                }
                _ if ["any", "none", "upnp", "pmp"].contains(&nat.as_str()) => warn(
                    &mut applied,
                    "--nat",
                    "only extip:IP changes anything (the enode's address); there is no port mapping",
                ),
                _ => eyre::bail!("--nat {nat}: expected extip:IP, any, none, upnp or pmp"),
            }
        }
        if let Some(list) = &self.bootnodes {
            for url in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let enode = url
                    .parse::<veil_p2p::Enode>()
                    .map_err(|e| eyre::eyre!("--bootnodes {url}: {e}"))?;
                applied.bootnodes.push(enode);
            }
        }
        match self.syncmode.as_deref() {
            None | Some("full") => {}
            Some(mode @ ("snap" | "fast" | "light")) => warn(
                &mut applied,
                &format!("--syncmode {mode}"),
                "Veil always syncs in full (every block imported and executed)",
            ),
            Some(other) => eyre::bail!("--syncmode {other}: expected full, snap, fast or light"),
        }
        match self.ptm_tls_mode.as_deref() {
            None | Some("off") => {}
            Some("strict") => eyre::bail!(
                "--ptm.tls.mode strict: TLS to the transaction manager is not supported; reach \
                 it over its unix socket (--ptm.socket) or plain HTTP on a private network"
            ),
            Some(other) => eyre::bail!("--ptm.tls.mode {other}: expected off or strict"),
        }
        let ignored: [(bool, &str, &str); 11] = [
            (self.nousb, "--nousb", "there are no USB wallets"),
            (self.emitcheckpoints, "--emitcheckpoints", "GoQuorum's checkpoint log lines are not written"),
            (self.pprof || self.pprof_addr.is_some() || self.pprof_port.is_some(), "--pprof", "there is no Go profiler; as geth's, its address serves --metrics when --metrics.addr is not given"),
            (self.miner_gasprice.is_some(), "--miner.gasprice", "the pool takes every gas price the chain allows"),
            (self.privacymarker, "--privacymarker.enable", "privacy marker transactions are not supported; private transactions go out as without the flag"),
            (self.maxpeers.is_some(), "--maxpeers", "the peers are the static nodes"),
            (self.metrics_expensive, "--metrics.expensive", "every metric is always recorded"),
            (self.ptm_write_buffer.is_some(), "--ptm.http.writebuffersize", "the TM client's buffers are hyper's"),
            (self.ptm_read_buffer.is_some(), "--ptm.http.readbuffersize", "the TM client's buffers are hyper's"),
            (self.ptm_idle_timeout.is_some(), "--ptm.http.idletimeout", "idle TM connections are closed by hyper"),
            (self.ptm_dial_timeout.is_some(), "--ptm.dialtimeout", "connecting is bounded by --ptm.timeout"),
        ];
        for (given, flag, why) in ignored {
            if given {
                warn(&mut applied, flag, why);
            }
        }
        Ok(applied)
    }
}

impl CompatArgs {
    /// Where `--metrics` is served: `--metrics.addr`/`--metrics.port` when the address is
    /// given; else, as geth serves metrics on its profiler's server, `--pprof.addr`/
    /// `--pprof.port` with `--pprof`; else 127.0.0.1:6060.
    pub(crate) fn metrics_listen(
        &self,
        metrics_addr: Option<std::net::IpAddr>,
        metrics_port: Option<u16>,
    ) -> eyre::Result<std::net::SocketAddr> {
        const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        const PORT: u16 = 6060;
        if metrics_addr.is_none() && self.pprof {
            let ip = match &self.pprof_addr {
                Some(text) => text
                    .parse()
                    .map_err(|e| eyre::eyre!("--pprof.addr {text}: not an IP address ({e})"))?,
                None => LOCAL,
            };
            return Ok((ip, self.pprof_port.unwrap_or(PORT)).into());
        }
        Ok((metrics_addr.unwrap_or(LOCAL), metrics_port.unwrap_or(PORT)).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        compat: CompatArgs,
    }

    fn applied(args: &[&str]) -> eyre::Result<Applied> {
        Cli::try_parse_from(std::iter::once("veil").chain(args.iter().copied()))
            .map_err(|e| eyre::eyre!(e))?
            .compat
            .apply()
    }

    #[test]
    fn meaningful_flags_take_effect_and_the_others_warn_once_each() {
        let a = applied(&[
            "--networkid",
            "1338",
            "--identity",
            "member1-qbft",
            "--nat",
            "extip:172.16.239.11",
            "--nousb",
            "--syncmode",
            "full",
            "--revertreason",
            "--pprof",
            "--pprof.addr",
            "0.0.0.0",
            "--pprof.port",
            "9545",
            "--ptm.tls.mode",
            "off",
        ])
        .unwrap();
        assert_eq!(a.network_id, Some(1338));
        assert_eq!(a.identity.as_deref(), Some("member1-qbft"));
        assert_eq!(a.external_ip, Some("172.16.239.11".parse().unwrap()));
        assert_eq!(a.warnings.len(), 2, "{:?}", a.warnings);
        assert!(a.warnings.iter().any(|w| w.starts_with("--pprof ")));
        assert!(a.warnings.iter().any(|w| w.starts_with("--nousb ")));
    }

    #[test]
    fn flags_veil_cannot_honour_are_refused_with_the_reason() {
        let strict = applied(&["--ptm.tls.mode", "strict"]).unwrap_err().to_string();
        assert!(strict.contains("TLS to the transaction manager is not supported"), "{strict}");
        let nat = applied(&["--nat", "extip:not-an-ip"]).unwrap_err().to_string();
        assert!(nat.contains("not an IP address"), "{nat}");
        let sync = applied(&["--syncmode", "quick"]).unwrap_err().to_string();
        assert!(sync.contains("expected full"), "{sync}");
        let boot = applied(&["--bootnodes", "enode://zz@1.2.3.4:30303"]).unwrap_err().to_string();
        assert!(boot.contains("--bootnodes"), "{boot}");
    }

    fn compat(args: &[&str]) -> CompatArgs {
        Cli::try_parse_from(std::iter::once("veil").chain(args.iter().copied())).unwrap().compat
    }

    /// geth serves /debug/metrics/prometheus on the profiler's server (quickstart's and the
    /// Kubernetes charts' `--metrics --pprof --pprof.addr 0.0.0.0 --pprof.port 9545`), and on
    /// its own server when --metrics.addr is given.
    #[test]
    fn metrics_are_served_where_geth_serves_them() {
        let at = |text: &str| -> std::net::SocketAddr { text.parse().unwrap() };
        let pprof = compat(&["--pprof", "--pprof.addr", "0.0.0.0", "--pprof.port", "9545"]);
        assert_eq!(pprof.metrics_listen(None, None).unwrap(), at("0.0.0.0:9545"));
        assert_eq!(compat(&["--pprof"]).metrics_listen(None, None).unwrap(), at("127.0.0.1:6060"));
        let own = pprof.metrics_listen(Some("0.0.0.0".parse().unwrap()), None).unwrap();
        assert_eq!(own, at("0.0.0.0:6060"));
        assert_eq!(compat(&[]).metrics_listen(None, Some(7070)).unwrap(), at("127.0.0.1:7070"));
        let bad = compat(&["--pprof", "--pprof.addr", "everywhere"]).metrics_listen(None, None);
        assert!(bad.unwrap_err().to_string().contains("--pprof.addr everywhere"));
    }
}
