//! The user guide is true to the code: its reference pages are what the binaries and the node
//! say (regenerated here; `VEIL_BLESS=1` rewrites them), and the book builds with `mdbook`
//! with every internal link and anchor resolving.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};
use veil_rpc::Api;

/// `book/`, where `book.toml` is.
fn book_dir() -> PathBuf {
    veil_testkit::package_dir()
}

/// A binary of the workspace, built beside this test's own directory (`target/PROFILE/`).
fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe.parent().and_then(Path::parent).expect("target/PROFILE/deps/TEST");
    let binary = profile.join(name);
    assert!(binary.exists(), "{} is not built: cargo build --workspace --bins", binary.display());
    binary
}

/// Compares `generated` with the committed page `reference/NAME.md`, or writes it there when
/// `VEIL_BLESS` is set.
fn check_page(name: &str, generated: &str) {
    let path = book_dir().join("src/reference").join(format!("{name}.md"));
    if std::env::var_os("VEIL_BLESS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is out of date (first difference at line {}: {:?} is now {:?}); regenerate it \
             with VEIL_BLESS=1 cargo nextest run --workspace -E 'package(veil-book)'",
            path.display(),
            first + 1,
            committed.lines().nth(first).unwrap_or("<end>"),
            generated.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

#[test]
fn the_cli_reference_is_what_the_binaries_print() {
    for name in ["veil", "veil-tm", "veil-sim"] {
        let page = veil_book::cli_page(&workspace_binary(name), name).unwrap();
        assert!(page.contains(&format!("## `{name}`\n")), "{page}");
        check_page(name, &page);
    }
}

#[test]
fn the_rpc_reference_lists_every_method_a_node_serves() {
    let keystore = tempfile::tempdir().unwrap();
    let context = Arc::new(veil_rpc::dev_context(keystore.path()).unwrap());
    let module = veil_rpc::modules_for(&context, &Api::ALL, true).unwrap();
    let methods: Vec<&str> = module.method_names().collect();
    // Methods any Ethereum client has, and GoQuorum's, are there (so the page is not empty
    // because registration changed shape).
    for expected in
        ["eth_call", "eth_sendRawPrivateTransaction", "raft_cluster", "qbft_getPendingVotes"]
    {
        assert!(methods.contains(&expected), "{expected} is not served: {methods:?}");
    }
    check_page("rpc-methods", &veil_book::rpc_page(methods));
}

#[test]
fn the_book_builds_and_every_link_in_it_resolves() {
    let out = tempfile::tempdir().unwrap();
    let mut build = Command::new("mdbook");
    build.arg("build").arg(book_dir()).arg("--dest-dir").arg(out.path());
    assert!(
        Command::new("mdbook").arg("--version").output().is_ok_and(|o| o.status.success()),
        "mdbook is not on PATH: ./dev.sh test installs it (cargo install --locked mdbook --version 0.5.4)"
    );
    let (ok, text) = veil_testkit::output_within(build, Duration::from_secs(300));
    assert!(ok, "mdbook build failed: {text}");
    assert!(!text.contains("WARN") && !text.contains("ERROR"), "mdbook complained: {text}");
    for page in ["index.html", "getting-started.html", "reference/veil.html", "design/qbft.html"] {
        assert!(out.path().join(page).is_file(), "{page} was not built");
    }
    // The design notes are included from docs/design, not copied.
    let qbft = std::fs::read_to_string(out.path().join("design/qbft.html")).unwrap();
    assert!(!qbft.contains("{{#include"), "the include was not expanded");
    let broken = veil_book::broken_links(out.path());
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    println!("links to other sites (not followed): {:?}", veil_book::external_links(out.path()));
}

#[test]
fn every_file_the_readme_links_to_exists() {
    let repo = book_dir().parent().unwrap().to_path_buf();
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let targets: Vec<&str> = readme
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.starts_with("http"))
        .collect();
    assert!(targets.len() >= 10, "the README points into the book: {targets:?}");
    for target in targets {
        let path = target.split('#').next().unwrap();
        assert!(repo.join(path).exists(), "README.md links to {target}, which does not exist");
    }
}
