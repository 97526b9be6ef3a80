//! `smtptls demo`, end to end: the real binary, in a network namespace
//! that has only loopback (so the demo cannot have reached anything
//! else), shows every verdict; `demo --serve` prints command lines that
//! reach its lab and give the same verdicts; the README shows its real
//! output.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use smtptls::demo::DOMAINS;

const BIN: &str = env!("CARGO_BIN_EXE_smtptls");

/// `smtptls ARGS…` in a new network namespace (a user namespace too, so
/// no root is needed) whose only interface is loopback, brought up first.
fn in_loopback_only_netns(args: &[&str]) -> std::process::Output {
    let script = r#"ip link set lo up && exec "$@""#;
    let out = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--net",
            "sh",
            "-c",
            script,
            "sh",
            BIN,
        ])
        .args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("run unshare (util-linux)");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unshare failed"),
        "this test needs unprivileged user and network namespaces (or root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The eight verdict words, as the table writes them.
const VERDICT_WORDS: [&str; 8] = [
    "PROTECTED",
    "SECURE",
    "ENCRYPTED",
    "PARTIAL",
    "PLAINTEXT",
    "BROKEN",
    "ERROR",
    "NO-MAIL",
];

/// Each domain's verdict in a JSON report.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap_or_default().to_string(),
                d["verdict"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn expected() -> Vec<(String, String)> {
    DOMAINS
        .iter()
        .map(|d| (d.name.to_string(), d.shows.as_str().to_string()))
        .collect()
}

#[test]
fn demo_shows_every_verdict_with_nothing_but_loopback() {
    // The namespace proves the point: had the demo needed any address but
    // loopback, the connection would fail there and a verdict would change.
    let check = Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "ip", "-o", "link"])
        .output()
        .expect("run unshare");
    let links = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        links.lines().count(),
        1,
        "only lo in the namespace: {links}"
    );

    let started = Instant::now();
    let out = in_loopback_only_netns(&["demo"]);
    let took = started.elapsed();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.starts_with(smtptls::demo::INTRO), "{table}");
    for word in VERDICT_WORDS {
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(word)),
            "no domain line shows {word}:\n{table}"
        );
    }
    // Within a few seconds, even on a debug build of a busy machine.
    assert!(took < Duration::from_secs(20), "took {took:?}");

    let out = in_loopback_only_netns(&["demo", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(verdicts(&report), expected());
}

#[test]
fn demo_takes_no_audit_flags() {
    for flag in [
        ["--resolver", "192.0.2.53"].as_slice(),
        &["--connect-to", "::192.0.2.1:25"],
        &["--ca-file", "/etc/ssl/certs/ca-certificates.crt"],
        &["example.com"],
    ] {
        let out = Command::new(BIN)
            .arg("demo")
            .args(flag)
            .output()
            .expect("run smtptls");
        assert_eq!(out.status.code(), Some(2), "demo {flag:?}");
        assert!(out.stdout.is_empty(), "demo {flag:?} printed a report");
    }
}

/// The lines `demo --serve` printed: `(comment, command line)` pairs.
fn read_examples(reader: &mut impl BufRead) -> (String, Vec<(String, String)>) {
    let mut head = String::new();
    let mut examples = Vec::new();
    let mut comment: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).expect("read demo output") == 0 {
            panic!("demo --serve ended early:\n{head}");
        }
        let text = line.trim_end().to_string();
        if let Some(c) = text.strip_prefix("# ") {
            comment = Some(c.to_string());
        } else if let Some(c) = comment.take() {
            let last = c.starts_with("A Prometheus exporter");
            examples.push((c, text));
            if last {
                return (head, examples);
            }
        } else {
            head.push_str(&text);
            head.push('\n');
        }
    }
}

/// Runs one printed command line in a shell, in `dir`.
fn sh(line: &str, dir: &std::path::Path) -> std::process::Output {
    Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("run sh")
}

#[test]
fn demo_serve_prints_command_lines_that_reach_its_lab() {
    let mut child = Command::new(BIN)
        .args(["demo", "--serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start demo --serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (head, examples) = read_examples(&mut stdout);
    let dir = head
        .lines()
        .find_map(|l| l.strip_prefix("Its CA and the zone's trust anchor are in "))
        .and_then(|l| l.strip_suffix(", removed when it stops."))
        .map(std::path::PathBuf::from)
        .expect("the temporary directory is named");
    assert!(dir.is_dir(), "{}", dir.display());
    let find = |what: &str| -> String {
        examples
            .iter()
            .find(|(c, _)| c.starts_with(what))
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| panic!("no example {what:?} in {examples:?}"))
    };

    let work = tempfile::tempdir().expect("temp dir");
    // The first line, as printed, and as JSON: the demo's verdicts.
    let every = find("Every domain");
    let table = sh(&every, work.path());
    let text = String::from_utf8_lossy(&table.stdout);
    for word in VERDICT_WORDS {
        assert!(
            text.contains(&format!(" {word} ")),
            "{word} missing:\n{text}"
        );
    }
    let json = sh(&format!("{every} --format json"), work.path());
    let report: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(verdicts(&report), expected());

    // A change: before, after the key rollover, and the diff between.
    for what in ["Today's state", "The state after"] {
        let out = sh(&find(what), work.path());
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let diff = sh(
        &format!("{} --format json", find("What changed")),
        work.path(),
    );
    assert_eq!(diff.status.code(), Some(1), "a regression fails the diff");
    let diff: Value = serde_json::from_slice(&diff.stdout).expect("diff JSON");
    let changed: Vec<&str> = diff["domains"]
        .as_array()
        .expect("diff domains")
        .iter()
        .filter_map(|d| d["domain"].as_str())
        .collect();
    assert_eq!(changed, ["dane.test"], "{diff}");

    // The policy and the page work too.
    let policy = sh(&find("Sender policies"), work.path());
    assert!(String::from_utf8_lossy(&policy.stdout).contains("dane.test"));
    let page = sh(&find("The HTML page"), work.path());
    assert!(page.status.code().is_some_and(|c| c <= 1));
    assert!(work.path().join("demo.html").is_file());

    // The exporter line, on a port of its own: a scrape of dane.test says
    // what `check` says.
    let serve_line = find("A Prometheus exporter").replace("127.0.0.1:9612", "127.0.0.1:0");
    let mut exporter = Command::new("sh")
        .args(["-c", &format!("exec {serve_line}")])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the printed serve line");
    let mut err = BufReader::new(exporter.stderr.take().expect("stderr"));
    let mut first = String::new();
    err.read_line(&mut first).expect("read serve's stderr");
    let bound = first
        .split_once("listening on http://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(addr, _)| addr.to_string())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    let scrape = http_get(&bound, "/probe?target=dane.test");
    let _ = exporter.kill();
    let _ = exporter.wait();
    assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
    assert!(
        scrape.contains(r#"smtptls_domain_verdict{domain="dane.test",verdict="protected"} 1"#),
        "{scrape}"
    );
    assert!(scrape.contains("probe_success 1"), "{scrape}");

    // SIGTERM: it stops, exit 0, and its trust material is gone.
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait for demo");
    assert_eq!(status.code(), Some(0));
    assert!(!dir.exists(), "{} outlived the demo", dir.display());
}

/// `GET PATH` over HTTP/1.1 to `addr`, the whole answer as text.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the exporter");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    answer
}

/// The README's quick start shows the demo's real output. Ports, key
/// digests and PIDs change with every run; everything else must match.
/// `UPDATE_DOCS=1 cargo test --test demo` writes a fresh run into it.
#[test]
fn the_readme_shows_the_demo_as_it_is() {
    const START: &str =
        "<!-- demo output: written by `UPDATE_DOCS=1 cargo test --test demo` -->\n```text\n";
    const END: &str = "```\n<!-- end of demo output -->";
    let out = Command::new(BIN)
        .arg("demo")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("run smtptls demo");
    assert_eq!(out.status.code(), Some(0));
    let now = String::from_utf8(out.stdout).expect("UTF-8");
    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(readme_path).expect("README.md");
    let (before, rest) = readme
        .split_once(START)
        .expect("the README has the demo block");
    let (shown, after) = rest.split_once(END).expect("the demo block ends");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(readme_path, format!("{before}{START}{now}{END}{after}")).expect("write");
        return;
    }
    assert_eq!(
        masked(shown),
        masked(&now),
        "the README's demo output is stale: UPDATE_DOCS=1 cargo test --test demo"
    );
}

/// Text with what changes between runs replaced: ports, hex digests.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push_str(":PORT");
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    // A 64-digit SHA-256 digest may be wrapped across lines: mask every
    // run of 16 or more hex digits.
    let mut masked = String::with_capacity(out.len());
    let mut run = String::new();
    for c in out.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() >= 16 {
            masked.push_str("HEX");
        } else {
            masked.push_str(&run);
        }
        run.clear();
        masked.push(c);
    }
    masked.push_str(&run);
    masked
}
