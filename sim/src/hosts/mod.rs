//! `init --hosts`: every node and its TM on a host of their own — a Linux network namespace
//! with its own address on a bridge — so the network's traffic crosses real (virtual) links
//! that can be cut (`veil-sim cut N`: the host's link goes down, a partition) and restored
//! (`heal N`), and rate-limited with `tc tbf` (`limit N RATE`). This kernel has no `netem`, so
//! delay and jitter come from the link proxy ([`proxy`]), a process of `veil-sim`'s in the
//! root namespace that every cross-host connection goes through (`delay MS [--jitter MS]`).
//! Everything is created at `start` and removed at `stop`; it needs root.
//!
//! Names: namespace `vsOhN`, its link `vsOvN` (root side; `eth0` inside), bridge `vsbO`, where
//! O is the port offset modulo 250 — so networks with different offsets never share one.

pub(crate) mod proxy;

use crate::layout::Layout;
use std::process::Command;

fn tag(layout: &Layout) -> u16 {
    layout.port_offset % 250
}

/// Host `n`'s namespace.
pub(crate) fn namespace(layout: &Layout, n: usize) -> String {
    format!("vs{}h{n}", tag(layout))
}

/// Host `n`'s link, on the bridge's side.
fn link(layout: &Layout, n: usize) -> String {
    format!("vs{}v{n}", tag(layout))
}

fn bridge(layout: &Layout) -> String {
    format!("vsb{}", tag(layout))
}

/// Runs `ip`/`tc` with `args`; an error names the command and what it printed.
fn run(program: &str, args: &[&str]) -> eyre::Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| eyre::eyre!("cannot run {program}: {e} (hosts need iproute2 and root)"))?;
    eyre::ensure!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Creates the bridge and one namespace per node, each linked to the bridge with its address;
/// first removes whatever a killed run left.
pub(crate) fn create(layout: &Layout) -> eyre::Result<()> {
    destroy(layout);
    let (bridge, subnet) = (bridge(layout), layout.subnet());
    run("ip", &["link", "add", &bridge, "type", "bridge"])?;
    run("ip", &["addr", "add", &format!("{}/24", layout.bridge_ip()), "dev", &bridge])?;
    run("ip", &["link", "set", &bridge, "up"])?;
    for n in layout.numbers() {
        let (ns, link) = (namespace(layout, n), link(layout, n));
        let inside = format!("vs{}p{n}", tag(layout));
        run("ip", &["netns", "add", &ns])?;
        run("ip", &["link", "add", &link, "type", "veth", "peer", "name", &inside])?;
        run("ip", &["link", "set", &inside, "netns", &ns])?;
        run("ip", &["-n", &ns, "link", "set", &inside, "name", "eth0"])?;
        run("ip", &["-n", &ns, "addr", "add", &format!("{subnet}.{}/24", 10 + n), "dev", "eth0"])?;
        run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        run("ip", &["link", "set", &link, "master", &bridge])?;
        run("ip", &["link", "set", &link, "up"])?;
    }
    Ok(())
}

/// Removes the namespaces (their links go with them) and the bridge; what is not there is
/// skipped.
pub(crate) fn destroy(layout: &Layout) {
    for n in layout.numbers() {
        let _ = run("ip", &["netns", "del", &namespace(layout, n)]);
    }
    let _ = run("ip", &["link", "del", &bridge(layout)]);
}

/// `command`, run inside host `n` (`ip netns exec`, which execs it: the pid is the program's).
pub(crate) fn inside(layout: &Layout, n: usize, command: Command) -> Command {
    if !layout.hosts {
        return command;
    }
    let mut wrapped = Command::new("ip");
    wrapped.args(["netns", "exec", &namespace(layout, n)]).arg(command.get_program());
    wrapped.args(command.get_args());
    wrapped
}

/// Cuts host `n` off (its link down: every connection to and from it stalls, then fails) or
/// restores it.
pub(crate) fn cut(layout: &Layout, n: usize, cut: bool) -> eyre::Result<()> {
    eyre::ensure!(layout.hosts, "cut and heal need a network made with `init --hosts`");
    eyre::ensure!(layout.numbers().contains(&n), "there is no host {n}");
    run("ip", &["link", "set", &link(layout, n), if cut { "down" } else { "up" }])
}

/// Limits host `n`'s link to `rate` (tc's units: `1mbit`, `500kbit`) both ways with a token
/// bucket, or lifts the limit (`off`).
pub(crate) fn limit(layout: &Layout, n: usize, rate: &str) -> eyre::Result<()> {
    eyre::ensure!(layout.hosts, "limit needs a network made with `init --hosts`");
    eyre::ensure!(layout.numbers().contains(&n), "there is no host {n}");
    let (ns, link) = (namespace(layout, n), link(layout, n));
    for (prefix, device) in [(vec![], link.as_str()), (vec!["-n", ns.as_str()], "eth0")] {
        let mut args: Vec<&str> = prefix.clone();
        if rate == "off" {
            args.extend(["qdisc", "del", "dev", device, "root"]);
            let _ = run("tc", &args);
        } else {
            args.extend(["qdisc", "replace", "dev", device, "root", "tbf", "rate", rate]);
            args.extend(["burst", "32kbit", "latency", "400ms"]);
            run("tc", &args)?;
        }
    }
    Ok(())
}
