//! Helpers the end-to-end tests of several Veil crates share: where the package's fixtures are,
//! ports for the processes they start, waiting for a condition with a deadline (blocking,
//! [`wait_until`], or on a tokio runtime, [`wait_for`]), plain HTTP
//! ([`http`]), commands that must end within a limit ([`output_within`]), real `veil-tm`
//! processes ([`tm`]), and looking for a secret where it must not
//! be — in files under a directory, or in a running process's memory.

pub mod http;
pub mod tm;

use std::{
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
};

/// The directory of the package whose tests are running, read when they run (cargo and nextest
/// set `CARGO_MANIFEST_DIR` for test processes). `env!("CARGO_MANIFEST_DIR")` is fixed at build
/// time: a target directory shared by two checkouts can hand one checkout test binaries that
/// point into the other, which may be gone.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .expect("CARGO_MANIFEST_DIR is set by cargo and nextest when they run tests")
}

/// Ports handed out by [`free_port`]: below Linux's ephemeral range (32768 and up), so no
/// outgoing connection of a concurrent test can take one between our check and the process's
/// bind (which the port 0 trick cannot promise), and clear of `veil-sim`'s 7nodes ports.
const TEST_PORTS: std::ops::Range<u16> = 10_000..20_000;

/// A port on `ip` that nothing listens on now, picked at random from [`TEST_PORTS`], for a
/// process the test is about to start. The port stays reserved for this test process's
/// lifetime (see [`reserve`]), so two tests running at once never pick the same one between
/// the check and the bind of the processes they start.
pub fn free_port(ip: &str) -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let port =
            TEST_PORTS.start + (random % u64::from(TEST_PORTS.end - TEST_PORTS.start)) as u16;
        if reserve(port) && std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

/// Takes an exclusive lock on `port`'s file under the system's temporary directory and keeps
/// it until this process exits (the kernel drops the lock then, however the process ends);
/// false when another test process — or an earlier call in this one — holds it.
fn reserve(port: u16) -> bool {
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join("veil-test-ports");
    std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{port}.lock")))
        .expect("a port's lock file opens");
    if file.try_lock().is_err() {
        return false;
    }
    HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(file);
    true
}

/// Runs `command` to its end, with its standard output and error together (as a terminal
/// would show them), and whether it succeeded. A command still running after `limit` is
/// killed with every process of its group and the test fails with what it printed so far: a
/// hung child fails its test instead of holding the whole run until CI's own timeout.
pub fn output_within(
    mut command: std::process::Command,
    limit: std::time::Duration,
) -> (bool, String) {
    use std::os::unix::process::CommandExt;
    let log = std::env::temp_dir().join(format!(
        "veil-test-output-{}-{}",
        std::process::id(),
        NEXT_OUTPUT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let file = std::fs::File::create(&log).expect("a temporary output file");
    let mut child = command
        .stdout(file.try_clone().expect("the output file's handle"))
        .stderr(file)
        .stdin(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let group = format!("-{}", child.id());
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
    let _ = std::fs::remove_file(&log);
    match status {
        Some(status) => (status.success(), text),
        None => panic!("{command:?} still ran after {limit:?} and was killed; it printed:\n{text}"),
    }
}

/// Numbers [`output_within`]'s files apart within one test process.
static NEXT_OUTPUT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Polls `condition` until it holds; panics naming `what` once `timeout` has passed.
pub fn wait_until(what: &str, timeout: std::time::Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// The async form of [`wait_until`], for tests on a tokio runtime: awaits `condition` every
/// 25 ms until it holds, sleeping without blocking the runtime; panics naming `what` once
/// `timeout` has passed.
pub async fn wait_for<F, Fut>(what: &str, timeout: std::time::Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|bytes| contains(&bytes, needle)) {
            found.push(path);
        }
    }
    found
}

/// Whether the resident memory of process `pid` contains `needle`. Reads `/proc/<pid>/mem`,
/// which the parent of a process may; panics when it cannot.
pub fn memory_contains(pid: u32, needle: &[u8]) -> bool {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("read smaps");
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open mem");
    let mut region: Option<(u64, u64, bool)> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let readable = line.split_whitespace().nth(1).is_some_and(|p| p.starts_with('r'));
            let parse = |hex: &str| u64::from_str_radix(hex, 16).expect("smaps address");
            region = Some((parse(start), parse(end), readable));
        } else if let (Some(kb), Some((start, end, true))) = (line.strip_prefix("Rss:"), region) {
            if kb.trim().trim_end_matches("kB").trim() == "0" {
                continue;
            }
            let mut bytes = vec![0u8; (end - start) as usize];
            if mem.seek(SeekFrom::Start(start)).is_ok()
                && mem.read_exact(&mut bytes).is_ok()
                && contains(&bytes, needle)
            {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_below_the_ephemeral_range_and_bindable() {
        for _ in 0..20 {
            let port = free_port("127.0.0.1");
            assert!(TEST_PORTS.contains(&port));
            std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }

    #[test]
    fn a_port_handed_out_is_never_handed_out_again_while_its_holder_lives() {
        let ports: std::collections::HashSet<u16> =
            (0..200).map(|_| free_port("127.0.0.1")).collect();
        assert_eq!(ports.len(), 200, "free_port handed out a port twice");
        for port in ports {
            assert!(!reserve(port), "port {port} was reserved twice");
        }
    }

    #[test]
    fn finds_a_secret_in_files_and_in_this_process() {
        let dir = std::env::temp_dir().join(format!("veil-testkit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a"), b"xx-needle-7c1e-xx").unwrap();
        std::fs::write(dir.join("b"), b"nothing here").unwrap();
        assert_eq!(files_containing(&dir, b"needle-7c1e"), vec![dir.join("sub/a")]);
        std::fs::remove_dir_all(&dir).unwrap();

        let secret: Vec<u8> = b"in-memory-secret-".iter().chain(b"4f0d").copied().collect();
        assert!(memory_contains(std::process::id(), &secret));
    }
}
