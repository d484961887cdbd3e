//! Veil's user guide is the mdBook in `book/src/`; this crate holds what keeps it true.
//!
//! - The reference pages are generated, not written: [`cli_page`] renders a binary's `--help`
//!   and every subcommand's, [`rpc_page`] the JSON-RPC methods a node registers. The book's
//!   tests regenerate them and fail when the committed pages differ (`VEIL_BLESS=1` rewrites
//!   them), so a flag or a method cannot change without its page.
//! - [`broken_links`] reads the built HTML and lists every internal link whose file or anchor
//!   is missing; the tests build the book with `mdbook` and require none.

use std::{
    collections::BTreeMap,
    path::{Component, Path, PathBuf},
    process::Command,
};

/// The note at the top of every generated page.
fn generated_note(from: &str) -> String {
    format!(
        "<!-- Generated from {from} by book/tests/book.rs; do not edit. \
         `VEIL_BLESS=1 cargo nextest run --workspace -E 'package(veil-book)'` rewrites it. -->\n"
    )
}

/// What `command --help` prints; fails with its output when it does not succeed.
fn help(binary: &Path, words: &[&str]) -> Result<String, String> {
    let out = Command::new(binary)
        .args(words)
        .arg("--help")
        // clap wraps at the terminal's width; a fixed one keeps the page the same everywhere.
        .env("COLUMNS", "100")
        .output()
        .map_err(|e| format!("{} does not run: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{} {} --help failed: {text}{}",
            binary.display(),
            words.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// The subcommands a clap help text lists under `Commands:` (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The reference page of `binary` (called `name` on the page): its `--help`, then every
/// subcommand's, depth first, each under a heading of its own.
pub fn cli_page(binary: &Path, name: &str) -> Result<String, String> {
    let mut page = format!("# `{name}`\n\n{}", generated_note(&format!("`{name} --help`")));
    page.push_str(&format!(
        "\nEvery command and flag of `{name}`, as `{name} [COMMAND…] --help` prints them.\n"
    ));
    let mut stack = vec![Vec::<String>::new()];
    while let Some(words) = stack.pop() {
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let text = help(binary, &refs)?;
        let title = std::iter::once(name).chain(refs.iter().copied()).collect::<Vec<_>>().join(" ");
        page.push_str(&format!("\n## `{title}`\n\n```text\n{}\n```\n", text.trim_end()));
        for sub in subcommands(&text).into_iter().rev() {
            let mut next = words.clone();
            next.push(sub);
            stack.push(next);
        }
    }
    Ok(page)
}

/// The reference page of the JSON-RPC methods: every name in `methods`, by namespace.
pub fn rpc_page<'a>(methods: impl IntoIterator<Item = &'a str>) -> String {
    let mut by_namespace: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for method in methods {
        let namespace = method.split_once('_').map_or(method, |(namespace, _)| namespace);
        by_namespace.entry(namespace).or_default().push(method);
    }
    let mut page = format!(
        "# JSON-RPC methods\n\n{}",
        generated_note(
            "the methods a node registers (`veil_rpc::modules_for` over every namespace)"
        )
    );
    page.push_str(
        "\nEvery method a node serves, by namespace. IPC serves every namespace; HTTP and \
         WebSocket serve those named in `--http.api` and `--ws.api` (default `eth,net,web3`). \
         Shapes, errors and what each method does differently from geth: \
         [JSON-RPC](../json-rpc.md).\n",
    );
    for (namespace, mut methods) in by_namespace {
        methods.sort_unstable();
        methods.dedup();
        let plural = if methods.len() == 1 { "" } else { "s" };
        page.push_str(&format!("\n## `{namespace}` ({} method{plural})\n\n", methods.len()));
        for method in methods {
            page.push_str(&format!("- `{method}`\n"));
        }
    }
    page
}

/// Every internal link in the HTML files under `root` whose target file or anchor does not
/// exist, as `page: link (why)`. Links to other sites are not followed (nothing outside is
/// reachable from where the tests run); [`external_links`] lists them.
pub fn broken_links(root: &Path) -> Vec<String> {
    let mut broken = Vec::new();
    for page in html_files(root) {
        let html = std::fs::read_to_string(&page).unwrap_or_default();
        let shown = page.strip_prefix(root).unwrap_or(&page).display().to_string();
        for link in links(&html) {
            if is_external(&link) {
                continue;
            }
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let path = path.split('?').next().unwrap_or_default();
            let target = if path.is_empty() {
                page.clone()
            } else {
                match resolve(root, page.parent().unwrap_or(root), path) {
                    Some(target) => target,
                    None => {
                        broken.push(format!("{shown}: {link} (outside the book)"));
                        continue;
                    }
                }
            };
            let target = if target.is_dir() { target.join("index.html") } else { target };
            if !target.is_file() {
                broken.push(format!("{shown}: {link} (no such file)"));
                continue;
            }
            if !anchor.is_empty() && target.extension().is_some_and(|e| e == "html") {
                let body = std::fs::read_to_string(&target).unwrap_or_default();
                if !body.contains(&format!("id=\"{anchor}\"")) {
                    broken.push(format!("{shown}: {link} (no such anchor)"));
                }
            }
        }
    }
    broken.sort();
    broken.dedup();
    broken
}

/// The links to other sites in the HTML files under `root`, each once.
pub fn external_links(root: &Path) -> Vec<String> {
    let mut external: Vec<String> = html_files(root)
        .iter()
        .flat_map(|page| links(&std::fs::read_to_string(page).unwrap_or_default()))
        .filter(|link| is_external(link))
        .collect();
    external.sort();
    external.dedup();
    external
}

fn is_external(link: &str) -> bool {
    ["http://", "https://", "//", "mailto:", "javascript:", "data:"]
        .iter()
        .any(|scheme| link.starts_with(scheme))
}

/// The HTML files under `root`, at any depth.
fn html_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The values of the `href` and `src` attributes in `html`, entities decoded.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" href=\"", " src=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            let Some(end) = rest.find('"') else { break };
            found.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    found
}

/// `link` from a page in `dir`, as a path under `root`; `None` when it leaves `root`.
fn resolve(root: &Path, dir: &Path, link: &str) -> Option<PathBuf> {
    let mut path = if link.starts_with('/') { root.to_path_buf() } else { dir.to_path_buf() };
    for component in Path::new(link.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::ParentDir => {
                path.pop();
            }
            _ => {}
        }
    }
    path.starts_with(root).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_subcommands_clap_lists() {
        let help = "Usage: x [OPTIONS] <COMMAND>\n\nCommands:\n  init   Creates\n  \
                    start  Starts it,\n         over two lines\n  help   Print this\n\n\
                    Options:\n  -h, --help  Print help\n";
        assert_eq!(subcommands(help), ["init", "start"]);
    }

    #[test]
    fn a_missing_page_and_a_missing_anchor_are_broken_and_the_rest_is_not() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir(r.join("sub")).unwrap();
        std::fs::write(
            r.join("a.html"),
            r##"<h2 id="here">x</h2><a href="#here">1</a><a href="sub/b.html#there">2</a>
               <a href="sub/">3</a><a href="https://example.com/x">4</a>
               <a href="gone.html">5</a><a href="sub/b.html#nowhere">6</a>
               <img src="../../etc/passwd">"##,
        )
        .unwrap();
        std::fs::write(r.join("sub/b.html"), r#"<p id="there"></p><a href="../a.html">b</a>"#)
            .unwrap();
        std::fs::write(r.join("sub/index.html"), "").unwrap();
        assert_eq!(
            broken_links(r),
            [
                "a.html: ../../etc/passwd (outside the book)",
                "a.html: gone.html (no such file)",
                "a.html: sub/b.html#nowhere (no such anchor)",
            ]
        );
        assert_eq!(external_links(r), ["https://example.com/x"]);
    }

    #[test]
    fn methods_are_listed_once_by_namespace_in_order() {
        let page = rpc_page(["net_version", "eth_call", "eth_blockNumber", "eth_call"]);
        let eth = page.find("## `eth` (2 methods)").unwrap();
        let net = page.find("## `net` (1 method)").unwrap();
        assert!(eth < net);
        let block_number = page.find("- `eth_blockNumber`").unwrap();
        assert!(eth < block_number && block_number < page.find("- `eth_call`").unwrap());
        assert_eq!(page.matches("- `eth_call`").count(), 1);
    }
}
