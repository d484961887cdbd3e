//! Where the node finds its TM: `--ptm.socket PATH` / `--ptm.url URL` with `--ptm.timeout
//! SECONDS`, or GoQuorum's `PRIVATE_CONFIG` (a socket path, a TOML file with
//! `socket`/`workdir`/`httpUrl`/`timeout`, or `ignore`).

use std::{path::Path, time::Duration};
use veil_tm_api::TmEndpoint;

/// GoQuorum's default `timeout` (seconds).
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to reach the TM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtmConfig {
    /// The Q2T endpoint.
    pub endpoint: TmEndpoint,
    /// Longest wait for one answer.
    pub timeout: Duration,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrivateConfigFile {
    socket: Option<String>,
    workdir: Option<String>,
    http_url: Option<String>,
    timeout: Option<u64>,
}

impl PtmConfig {
    /// From the flags, else from `PRIVATE_CONFIG` (`private_config`); `None` when neither names
    /// a TM (or `PRIVATE_CONFIG=ignore`).
    pub fn resolve(
        socket: Option<&Path>,
        url: Option<&str>,
        timeout: Option<u64>,
        private_config: Option<&str>,
    ) -> eyre::Result<Option<Self>> {
        let timeout_or = |default: Duration| timeout.map_or(default, Duration::from_secs);
        match (socket, url) {
            (Some(_), Some(_)) => eyre::bail!("give --ptm.socket or --ptm.url, not both"),
            (Some(path), None) => {
                return Ok(Some(Self {
                    endpoint: TmEndpoint::Unix(path.into()),
                    timeout: timeout_or(DEFAULT_TIMEOUT),
                }))
            }
            (None, Some(url)) => {
                let endpoint = url.parse().map_err(|e: String| eyre::eyre!("--ptm.url: {e}"))?;
                return Ok(Some(Self { endpoint, timeout: timeout_or(DEFAULT_TIMEOUT) }));
            }
            (None, None) => {}
        }
        let Some(value) = private_config.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        if value.eq_ignore_ascii_case("ignore") {
            return Ok(None);
        }
        let path = Path::new(value);
        if path.extension().is_none_or(|e| e != "toml") {
            return Ok(Some(Self {
                endpoint: TmEndpoint::Unix(path.into()),
                timeout: timeout_or(DEFAULT_TIMEOUT),
            }));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| eyre::eyre!("PRIVATE_CONFIG {value}: {e}"))?;
        let file: PrivateConfigFile =
            toml::from_str(&text).map_err(|e| eyre::eyre!("PRIVATE_CONFIG {value}: {e}"))?;
        let endpoint = match (file.socket, file.http_url) {
            (Some(socket), _) => {
                let socket = Path::new(&socket);
                let dir = file.workdir.map(std::path::PathBuf::from);
                TmEndpoint::Unix(match dir {
                    Some(dir) if socket.is_relative() => dir.join(socket),
                    _ => socket.into(),
                })
            }
            (None, Some(url)) => {
                url.parse().map_err(|e: String| eyre::eyre!("PRIVATE_CONFIG {value}: {e}"))?
            }
            (None, None) => eyre::bail!("PRIVATE_CONFIG {value}: name a `socket` or an `httpUrl`"),
        };
        let timeout = timeout.or(file.timeout).map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        Ok(Some(Self { endpoint, timeout }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(path: &str) -> TmEndpoint {
        TmEndpoint::Unix(path.into())
    }

    #[test]
    fn flags_private_config_paths_and_toml_files_name_the_tm() {
        let resolve = |socket: Option<&str>, url: Option<&str>, env: Option<&str>| {
            PtmConfig::resolve(socket.map(Path::new), url, None, env)
        };
        assert_eq!(resolve(None, None, None).unwrap(), None);
        assert_eq!(resolve(None, None, Some("ignore")).unwrap(), None);
        let from_env = resolve(None, None, Some("qdata/c1/tm.ipc")).unwrap().unwrap();
        assert_eq!(
            from_env,
            PtmConfig { endpoint: unix("qdata/c1/tm.ipc"), timeout: DEFAULT_TIMEOUT }
        );
        // Flags win over PRIVATE_CONFIG.
        let flag = resolve(Some("/run/tm.ipc"), None, Some("other.ipc")).unwrap().unwrap();
        assert_eq!(flag.endpoint, unix("/run/tm.ipc"));
        let url = resolve(None, Some("http://127.0.0.1:9101"), None).unwrap().unwrap();
        assert_eq!(url.endpoint, TmEndpoint::Tcp("127.0.0.1:9101".into()));
        assert!(resolve(Some("a.ipc"), Some("http://x:1"), None)
            .unwrap_err()
            .to_string()
            .contains("not both"));
        assert!(resolve(None, Some("https://x:1"), None).is_err());

        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("tm.toml");
        std::fs::write(&toml, "socket = \"tm.ipc\"\nworkdir = \"/qdata/c1\"\ntimeout = 9\n")
            .unwrap();
        let file = resolve(None, None, toml.to_str()).unwrap().unwrap();
        assert_eq!(
            file,
            PtmConfig { endpoint: unix("/qdata/c1/tm.ipc"), timeout: Duration::from_secs(9) }
        );
        std::fs::write(&toml, "httpUrl = \"http://127.0.0.1:9102\"\n").unwrap();
        let file = resolve(None, None, toml.to_str()).unwrap().unwrap();
        assert_eq!(file.endpoint, TmEndpoint::Tcp("127.0.0.1:9102".into()));
        std::fs::write(&toml, "timeout = 3\n").unwrap();
        let err = resolve(None, None, toml.to_str()).unwrap_err().to_string();
        assert!(err.contains("name a `socket` or an `httpUrl`"), "{err}");
        std::fs::write(&toml, "socket = [").unwrap();
        assert!(resolve(None, None, toml.to_str()).is_err());
    }
}
