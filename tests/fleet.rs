//! Fleet mode, end to end: shared MX hosts cost one probe, a run's
//! deadline and Ctrl-C report every unfinished domain, timed-out addresses
//! are not hammered, and a 421 is not answered with more connections.

mod lab;

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;

use lab::dns::ZoneBuilder;
use lab::pki::TestPki;
use lab::report::domain;
use lab::run::{Lab, spawn_smtptls};
use lab::scenario::{LabBuilder, good};
use lab::smtp::{Banner, Behaviour, SmtpServer};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A server for `host` that accepts connections and never greets.
fn silent(_pki: &TestPki, host: &str) -> Behaviour {
    Behaviour {
        banner: Banner::Silent,
        ..Behaviour::plain(host)
    }
}

/// `NAME.test`, whose MX never greets and is given a minute to, and the
/// null-MX domain `nomail`: a run that only a deadline or Ctrl-C ends,
/// with one domain that finishes at once.
async fn stuck_lab(name: &str, nomail: &str) -> Lab {
    let mut lab = LabBuilder::new()
        .mx(
            &format!("{name}.test"),
            10,
            &format!("mx.{name}.test"),
            silent,
        )
        .zone(|zone| zone.mx(nomail, 0, "."))
        .start()
        .await;
    lab.banner_timeout = "60";
    lab
}

#[tokio::test(flavor = "multi_thread")]
async fn domains_sharing_an_mx_host_cost_one_probe() {
    let names: Vec<String> = (0..25).map(|i| format!("customer{i}.test")).collect();
    let lab = LabBuilder::new()
        .zone(|mut zone| {
            zone = zone.a("mx.provider.test", LO);
            for name in &names {
                zone = zone.mx(name, 10, "mx.provider.test");
            }
            zone
        })
        .serve("mx.provider.test", good)
        .start()
        .await;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // One connection per address (no scan): what is shared is the probe.
    let run = lab
        .check_json(&refs, &["--concurrency", "8", "--scan", "off"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    for name in &names {
        assert_eq!(domain(&json, name)["verdict"], "secure", "{name}");
    }
    let (_, server) = &lab.servers[0];
    // The main probe, the injection test and the other key type's hello
    // (all three made in every --scan mode).
    assert_eq!(
        server.connections(),
        3,
        "25 domains, one MX host: one probe, its injection test and its second hello"
    );
    assert_eq!(json["summary"]["probes"], 3);
    assert_eq!(json["summary"]["mx_reused"], 24);
}

#[tokio::test(flavor = "multi_thread")]
async fn deadline_reports_unfinished_domains_as_errors() {
    let lab = stuck_lab("slow", "nomail.test").await;
    let run = lab
        .check_json(&["slow.test", "nomail.test"], &["--deadline", "1"])
        .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--deadline passed"), "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["summary"]["stopped"], "deadline");
    let slow = domain(&json, "slow.test");
    assert_eq!(slow["verdict"], "error");
    assert_eq!(slow["error"]["phase"], "run");
    assert_eq!(slow["error"]["kind"], "deadline");
    // What finished is kept.
    assert_eq!(domain(&json, "nomail.test")["verdict"], "no-mail");
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupt_reports_what_finished_and_exits_130() {
    let lab = stuck_lab("stuck", "done.test").await;
    let args = lab.command_line(
        &["check", "--format", "ndjson"],
        &["stuck.test", "done.test"],
        &[],
    );
    let child = spawn_smtptls(&args, Stdio::null());
    let pid = child.id().expect("pid");
    // Wait until the probe is connected and waiting for its banner.
    let (_, server) = &lab.servers[0];
    for _ in 0..100 {
        if server.connections() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("exits promptly after SIGINT")
        .expect("wait");
    assert_eq!(out.status.code(), Some(130));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "both domains reported: {stdout}");
    let stuck = lines
        .iter()
        .find(|d| d["domain"] == "stuck.test")
        .expect("stuck.test");
    assert_eq!(stuck["error"]["kind"], "interrupted");
    let done = lines
        .iter()
        .find(|d| d["domain"] == "done.test")
        .expect("done.test");
    assert_eq!(done["verdict"], "no-mail");
}

/// The error kind of the first address of each MX of `name` ("-" for
/// none), in MX order.
fn error_kinds(json: &serde_json::Value, name: &str) -> Vec<String> {
    domain(json, name)["mx"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            m["addresses"][0]["error"]["kind"]
                .as_str()
                .unwrap_or("-")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_address_is_not_contacted_again() {
    let pki = TestPki::new();
    let silent = SmtpServer::start(silent(&pki, "mx.tarpit.test")).await;
    let port = silent.port();
    // Two MX host names, one address (and port): one tarpit.
    let dns = ZoneBuilder::new()
        .mx("tarpit.test", 10, "mx1.tarpit.test")
        .mx("tarpit.test", 20, "mx2.tarpit.test")
        .a("mx1.tarpit.test", LO)
        .a("mx2.tarpit.test", LO)
        .start()
        .await;
    let mut lab = Lab::new(dns, pki);
    lab.banner_timeout = "1";
    let rule = format!(":25::{port}");
    let run = lab
        .check_json(
            &["tarpit.test"],
            &["--connect-to", &rule, "--per-address", "1"],
        )
        .await;
    let json = run.json();
    let mut kinds = error_kinds(&json, "tarpit.test");
    // Which host gets there first is up to the scheduler; one times out,
    // the other is not tried.
    kinds.sort();
    assert_eq!(kinds, vec!["skipped", "timeout"], "{json:#}");
    assert_eq!(silent.connections(), 1);

    // With --retries 1 both hosts are tried, twice each.
    let before = silent.connections();
    let run = lab
        .check_json(
            &["tarpit.test"],
            &[
                "--connect-to",
                &rule,
                "--per-address",
                "1",
                "--retries",
                "1",
            ],
        )
        .await;
    let json = run.json();
    assert!(
        error_kinds(&json, "tarpit.test")
            .iter()
            .all(|kind| kind == "timeout"),
        "{json:#}"
    );
    assert_eq!(silent.connections() - before, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_server_is_not_hammered() {
    let pki = TestPki::new();
    let busy = SmtpServer::start(Behaviour {
        banner: Banner::Reject421,
        ..Behaviour::plain("mx.busy.test")
    })
    .await;
    let port = busy.port();
    let mut zone = ZoneBuilder::new();
    for i in 0..3 {
        let host = format!("mx{i}.busy.test");
        zone = zone.mx("busy.test", 10 + i, &host).a(&host, LO);
    }
    let dns = zone.start().await;
    let lab = Lab::new(dns, pki);
    let run = lab
        .check_json(&["busy.test"], &["--connect-to", &format!(":25::{port}")])
        .await;
    let json = run.json();
    let d = domain(&json, "busy.test");
    for m in d["mx"].as_array().into_iter().flatten() {
        let message = m["addresses"][0]["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("421"), "{message}");
    }
    assert_eq!(busy.connections(), 3, "one connection per host, no retries");
}

/// Three no-mail domains: nothing to probe, fast, deterministic.
async fn list_lab() -> Lab {
    let mut zone = ZoneBuilder::new();
    for name in ["a.test", "b.test", "c.test", "xn--bcher-kva.test"] {
        zone = zone.mx(name, 0, ".");
    }
    Lab::new(zone.start().await, TestPki::new())
}

#[tokio::test(flavor = "multi_thread")]
async fn domain_lists_skip_comments_dedupe_and_keep_bad_lines_in_place() {
    let lab = list_lab().await;
    let dir = tempfile::tempdir().expect("dir");
    let list = dir.path().join("partners.txt");
    std::fs::write(
        &list,
        "# partners\r\na.test\n\nB.TEST.  # trailing comment\nnot a domain\nbücher.test\nxn--bcher-kva.test\na.test\n",
    )
    .expect("write");
    let run = lab
        .check_json(&["c.test"], &["--file", &list.display().to_string()])
        .await;
    assert_eq!(run.code, 1, "the invalid line is an error row");
    assert!(run.stderr.contains("2 duplicate"), "{}", run.stderr);
    let json = run.json();
    let names: Vec<&str> = json["domains"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["domain"].as_str()).collect())
        .unwrap_or_default();
    // Arguments first, then the list in order, each domain once.
    assert_eq!(
        names,
        vec![
            "c.test",
            "a.test",
            "b.test",
            "not a domain",
            "xn--bcher-kva.test"
        ]
    );
    let bad = &json["domains"][3];
    assert_eq!(bad["verdict"], "error");
    assert_eq!(bad["error"]["phase"], "input");
    assert_eq!(bad["error"]["kind"], "invalid-domain");
    let message = bad["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("partners.txt:5"), "{message}");

    // --strict: exit 2 before any DNS query.
    let before = lab.dns.queries();
    let run = lab
        .check_json(&[], &["--file", &list.display().to_string(), "--strict"])
        .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("partners.txt:5"), "{}", run.stderr);
    assert_eq!(lab.dns.queries(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn domain_list_from_stdin() {
    let lab = list_lab().await;
    let args = lab.command_line(&["check", "--format", "json", "--file", "-"], &[], &[]);
    let mut child = spawn_smtptls(&args, Stdio::piped());
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"a.test\nb.test\n").await.expect("write");
    }
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("finishes")
        .expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["summary"]["domains"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_partition_the_list() {
    let mut zone = ZoneBuilder::new();
    let names: Vec<String> = (0..12).map(|i| format!("s{i}.test")).collect();
    for name in &names {
        zone = zone.mx(name, 0, ".");
    }
    let lab = Lab::new(zone.start().await, TestPki::new());
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut seen = Vec::new();
    for k in 1..=3 {
        let run = lab.check_json(&refs, &["--shard", &format!("{k}/3")]).await;
        assert_eq!(run.code, 0);
        let json = run.json();
        for d in json["domains"].as_array().into_iter().flatten() {
            seen.push(d["domain"].as_str().unwrap_or_default().to_string());
        }
    }
    seen.sort();
    let mut all = names.clone();
    all.sort();
    assert_eq!(seen, all, "every domain in exactly one shard");
    let run = lab.check_json(&refs, &["--shard", "4/3"]).await;
    assert_eq!(run.code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_skips_domains_already_reported() {
    let lab = list_lab().await;
    let dir = tempfile::tempdir().expect("dir");
    let first = dir.path().join("first.ndjson");
    let run = lab
        .smtptls(
            &["check", "--format", "ndjson"],
            &["a.test", "b.test"],
            &["--output", &first.display().to_string()],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the report went to the file");
    let written = std::fs::read_to_string(&first).expect("report file");
    assert_eq!(written.lines().count(), 2);

    let run = lab
        .check_json(
            &["a.test", "b.test", "c.test"],
            &["--resume", &first.display().to_string()],
        )
        .await;
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("2 domain(s) already in"),
        "{}",
        run.stderr
    );
    let json = run.json();
    assert_eq!(json["summary"]["domains"], 1);
    assert_eq!(json["domains"][0]["domain"], "c.test");
}
