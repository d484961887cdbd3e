//! A round as the command line gives it: `WORKLOAD[:key=value,...]`, e.g.
//! `transfer:seconds=30,rate=500` or `private:recipients=6,load=128,count=20000`.

use std::{fmt, time::Duration};

/// What each transaction of a round is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    /// A zero-value transfer from the client's fresh key (gas-free chains).
    Transfer,
    /// `set(n)` on a public SimpleStorage of the client's (Caliper's `simple` open).
    Write,
    /// `eth_call` of `get()` on it (Caliper's `simple` query): done when answered.
    Read,
    /// A private transaction for the next `recipients` nodes' TMs, as web3js-quorum sends it
    /// (`/storeraw`, then `eth_sendRawPrivateTransaction`): a 1 KiB payload to no code, or with
    /// `flag`, `set(n)` on a private SimpleStorage of the client's deployed with that privacy
    /// flag.
    Private { recipients: usize, flag: Option<u8> },
}

/// How fast a round sends (Caliper's rate controllers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Control {
    /// As fast as the nodes answer.
    Max,
    /// Caliper's `fixed-rate`: this many transactions per second over all clients.
    Rate(f64),
    /// Caliper's `linear-rate`: from the first rate to the second over the round.
    Ramp(f64, f64),
    /// Caliper's `fixed-load`: this many transactions in flight (sent, not yet mined).
    Load(usize),
}

/// When a round stops sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// After this long.
    Duration(Duration),
    /// After this many transactions.
    Count(u64),
}

/// One round.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RoundSpec {
    pub(crate) label: String,
    pub(crate) workload: Workload,
    pub(crate) control: Control,
    pub(crate) end: End,
    pub(crate) clients: usize,
}

/// The round `veil-sim bench` runs when given none: 20 s of transfers as fast as answered.
pub(crate) const STANDARD_ROUND: &str = "transfer:seconds=20";

impl RoundSpec {
    /// Parses `WORKLOAD[:key=value,...]`; `clients` unless the spec says.
    pub(crate) fn parse(spec: &str, clients: usize) -> eyre::Result<Self> {
        let (name, options) = spec.split_once(':').unwrap_or((spec, ""));
        let mut round = RoundSpec {
            label: String::new(),
            workload: match name {
                "transfer" => Workload::Transfer,
                "write" => Workload::Write,
                "read" => Workload::Read,
                "private" => Workload::Private { recipients: 1, flag: None },
                other => eyre::bail!(
                    "round {spec:?}: unknown workload {other:?} (transfer, write, read, private)"
                ),
            },
            control: Control::Max,
            end: End::Duration(Duration::from_secs(30)),
            clients,
        };
        for option in options.split(',').filter(|o| !o.is_empty()) {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| eyre::eyre!("round {spec:?}: {option:?} is not key=value"))?;
            let number = |what: &str| -> eyre::Result<f64> {
                let n: f64 = value
                    .parse()
                    .map_err(|_| eyre::eyre!("round {spec:?}: {what} {value:?} is not a number"))?;
                eyre::ensure!(n > 0.0 && n.is_finite(), "round {spec:?}: {what} must be above 0");
                Ok(n)
            };
            match key {
                "label" => round.label = value.to_string(),
                "seconds" => round.end = End::Duration(Duration::from_secs_f64(number(key)?)),
                "count" => round.end = End::Count(number(key)? as u64),
                "rate" => round.control = Control::Rate(number(key)?),
                "load" => round.control = Control::Load(number(key)? as usize),
                "ramp" => {
                    let (from, to) = value.split_once('-').ok_or_else(|| {
                        eyre::eyre!("round {spec:?}: ramp is FROM-TO transactions per second")
                    })?;
                    let parse = |v: &str| -> eyre::Result<f64> {
                        v.parse::<f64>()
                            .ok()
                            .filter(|n| *n > 0.0)
                            .ok_or_else(|| eyre::eyre!("round {spec:?}: bad ramp rate {v:?}"))
                    };
                    round.control = Control::Ramp(parse(from)?, parse(to)?);
                }
                "clients" => round.clients = number(key)? as usize,
                "recipients" | "flag" => {
                    let Workload::Private { recipients, flag } = &mut round.workload else {
                        eyre::bail!("round {spec:?}: {key} is for private rounds");
                    };
                    if key == "recipients" {
                        *recipients = number(key)? as usize;
                    } else {
                        let f: u8 = value.parse().ok().filter(|f| [0, 1, 2, 3].contains(f)).ok_or_else(
                            || eyre::eyre!("round {spec:?}: flag is a privacy flag, 0 to 3"),
                        )?;
                        *flag = Some(f);
                    }
                }
                other => eyre::bail!(
                    "round {spec:?}: unknown option {other:?} (label, seconds, count, rate, ramp, load, clients, recipients, flag)"
                ),
            }
        }
        if round.label.is_empty() {
            round.label = round.default_label();
        }
        Ok(round)
    }

    fn default_label(&self) -> String {
        match self.workload {
            Workload::Transfer => "transfer".into(),
            Workload::Write => "write".into(),
            Workload::Read => "read".into(),
            Workload::Private { recipients, flag: None } => format!("private-{recipients}"),
            Workload::Private { recipients, flag: Some(f) } => {
                format!("private-{recipients}-flag{f}")
            }
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Control::Max => write!(f, "as fast as answered"),
            Control::Rate(r) => write!(f, "fixed rate {r} tx/s"),
            Control::Ramp(a, b) => write!(f, "linear rate {a} to {b} tx/s"),
            Control::Load(n) => write!(f, "fixed load {n} in flight"),
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Duration(d) => write!(f, "{} s", d.as_secs_f64()),
            End::Count(n) => write!(f, "{n} transactions"),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::Transfer => write!(f, "transfers"),
            Workload::Write => write!(f, "SimpleStorage set(n)"),
            Workload::Read => write!(f, "SimpleStorage get() (eth_call)"),
            Workload::Private { recipients, flag: None } => {
                write!(f, "private, 1 KiB payload for {recipients} recipient(s)")
            }
            Workload::Private { recipients, flag: Some(flag) } => {
                write!(f, "private set(n), privacy flag {flag}, for {recipients} recipient(s)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_parse_with_caliper_controllers_and_refuse_nonsense() {
        let r = RoundSpec::parse("private:recipients=6,load=128,count=2000", 64).unwrap();
        assert_eq!(r.workload, Workload::Private { recipients: 6, flag: None });
        assert_eq!(r.control, Control::Load(128));
        assert_eq!(r.end, End::Count(2000));
        assert_eq!(r.label, "private-6");
        let r =
            RoundSpec::parse("transfer:ramp=100-500,seconds=10,clients=8,label=up", 64).unwrap();
        assert_eq!(
            (r.control, r.clients, r.label.as_str()),
            (Control::Ramp(100.0, 500.0), 8, "up")
        );
        let r = RoundSpec::parse(STANDARD_ROUND, 64).unwrap();
        assert_eq!((r.workload, r.control), (Workload::Transfer, Control::Max));
        for bad in [
            "mint",
            "transfer:rate=-1",
            "transfer:rate",
            "read:flag=1",
            "private:flag=7",
            "transfer:speed=3",
            "write:ramp=5",
        ] {
            assert!(RoundSpec::parse(bad, 64).is_err(), "{bad} was accepted");
        }
    }
}
