//! `smtptls serve` end to end: the real binary on 127.0.0.1:0 (it prints
//! the address it bound on stderr), scraped over raw HTTP/1.1 like
//! Prometheus does, against lab domains. The lab servers' connection
//! counts say how many audits ran.
//!
//! The `#[ignore]`d tests need more than the lab: `real_prometheus_scrapes_the_exporter`
//! runs Debian's `prometheus` (tests/exporter/run installs it), and
//! `load_500_concurrent_scrapes_over_50_targets` prints the load figures.

mod lab;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use lab::run::{Lab, spawn_smtptls};
use lab::scenario::{LabBuilder, good};
use lab::smtp::{Banner, Behaviour};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A running `smtptls serve`, killed when dropped.
struct Serve {
    child: tokio::process::Child,
    addr: SocketAddr,
}

impl Serve {
    /// `smtptls serve --listen 127.0.0.1:0 <lab args> EXTRA…`, once it
    /// says where it listens.
    async fn start(lab: &Lab, extra: &[&str]) -> Serve {
        let mut args = vec!["serve".to_string(), "--listen".into(), "127.0.0.1:0".into()];
        args.extend(lab.args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut child = spawn_smtptls(args, Stdio::null());
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read stderr") {
                if let Some(rest) = line.strip_prefix("smtptls serve: listening on http://") {
                    let addr = rest.split('/').next().unwrap_or_default();
                    return addr.parse::<SocketAddr>().expect("the bound address");
                }
            }
            panic!("serve ended before listening");
        })
        .await
        .expect("serve did not start within 30 s");
        // Keep reading stderr, so that the child never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Serve { child, addr }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        get(self.addr, path, &[]).await
    }

    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        get(self.addr, path, headers).await
    }
}

/// One GET on a fresh connection: the status and the body.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 60 s")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.to_string())
}

/// The samples of a text exposition, without the comment lines and
/// without the families that measure time, not the domain.
fn verdict_samples(text: &str) -> BTreeSet<String> {
    const TIMED: [&str; 5] = [
        "smtptls_run_timestamp_seconds",
        "probe_",
        "smtptls_probe_",
        "smtptls_run_",
        "smtptls_mx_certificate_expiry",
    ];
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter(|l| !TIMED.iter().any(|t| l.starts_with(t)))
        .map(str::to_string)
        .collect()
}

/// The value of the sample `name` (exactly, labels included).
fn sample(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::to_string))
}

async fn two_domains() -> Lab {
    LabBuilder::new()
        .mx("good.test", 10, "mx.good.test", good)
        .mx("plain.test", 10, "mx.plain.test", lab::scenario::plain)
        .start()
        .await
}

/// A probe's families are those of `check --format prometheus` for the
/// same domain, value for value (timestamps aside); the second scrape is
/// answered from the cache without a connection to the MX.
#[tokio::test(flavor = "multi_thread")]
async fn a_probe_says_what_check_says_and_the_second_scrape_is_cached() {
    let lab = two_domains().await;
    let check = lab
        .smtptls(&["check", "--format", "prometheus"], &["good.test"], &[])
        .await;
    let after_check = lab.servers[0].1.connections();
    let serve = Serve::start(&lab, &[]).await;
    let (status, first) = serve.get("/probe?target=good.test").await;
    assert_eq!(status, 200, "{first}");
    let audit = lab.servers[0].1.connections() - after_check;
    assert!(audit > 0, "the first scrape audits");
    assert_eq!(verdict_samples(&first), verdict_samples(&check.stdout));
    assert!(first.contains("smtptls_domain_verdict{domain=\"good.test\",verdict=\"secure\"} 1"));
    assert_eq!(sample(&first, "probe_success").as_deref(), Some("1"));
    assert_eq!(sample(&first, "smtptls_probe_cached").as_deref(), Some("0"));
    assert_eq!(sample(&first, "smtptls_run_domains").as_deref(), Some("1"));
    let (status, second) = serve.get("/probe?target=good.test").await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(&second, "smtptls_probe_cached").as_deref(),
        Some("1")
    );
    assert_eq!(sample(&second, "probe_success").as_deref(), Some("1"));
    assert_eq!(verdict_samples(&second), verdict_samples(&first));
    assert_eq!(
        lab.servers[0].1.connections() - after_check,
        audit,
        "the cached scrape made no connection"
    );
    // Another scan mode is another audit.
    let (_, off) = serve.get("/probe?target=good.test&scan=off").await;
    assert_eq!(sample(&off, "smtptls_probe_cached").as_deref(), Some("0"));
    assert!(lab.servers[0].1.connections() - after_check > audit);
    // A domain that is audited and found wanting is still a completed
    // probe: its verdict says the rest.
    let (_, plain) = serve.get("/probe?target=plain.test").await;
    assert_eq!(sample(&plain, "probe_success").as_deref(), Some("1"));
    assert!(
        plain.contains("smtptls_domain_verdict{domain=\"plain.test\",verdict=\"plaintext\"} 1")
    );
    let (_, own) = serve.get("/metrics").await;
    assert!(
        own.contains("smtptls_exporter_cache_hits_total 1\n"),
        "{own}"
    );
    assert!(own.contains("smtptls_exporter_audits_total 3\n"), "{own}");
    assert!(
        own.contains("smtptls_exporter_probes_total{result=\"success\"} 4\n"),
        "{own}"
    );
    lab::scenario::assert_polite(&lab.servers[0].1);
}

/// What is not a mail domain is 400, what the allow-list does not name
/// is 403; neither costs a connection or a DNS question.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_targets_are_400_and_others_403_without_a_probe() {
    let lab = two_domains().await;
    let serve = Serve::start(&lab, &["--allow-target", "good.test"]).await;
    let queries = lab.dns.queries();
    for path in [
        "/probe",
        "/probe?target=127.0.0.1",
        "/probe?target=%5B::1%5D",
        "/probe?target=mx.good.test:25",
        "/probe?target=http://good.test/",
        "/probe?target=good.test%0D%0AX:%20y",
        "/probe?target=good.test&module=smtp_starttls",
    ] {
        let (status, body) = serve.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body.lines().count(), 1, "{path}: {body}");
    }
    let (status, body) = serve.get("/probe?target=plain.test").await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = serve.get("/nowhere").await;
    assert_eq!(status, 404);
    assert_eq!(lab.servers[1].1.connections(), 0);
    assert_eq!(lab.dns.queries(), queries, "no lookup for a refused target");
    let (status, _) = serve.get("/probe?target=good.test").await;
    assert_eq!(status, 200);
}

/// Many scrapes of one target at once: one audit (the lab server sees
/// the connections of one audit, as a check makes them).
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_scrapes_of_one_target_share_one_audit() {
    let lab = two_domains().await;
    lab.smtptls(&["check", "--format", "json"], &["good.test"], &[])
        .await;
    let one_audit = lab.servers[0].1.connections();
    let serve = Serve::start(&lab, &[]).await;
    let scrapes: Vec<_> = (0..20)
        .map(|_| {
            let addr = serve.addr;
            tokio::spawn(async move { get(addr, "/probe?target=good.test", &[]).await })
        })
        .collect();
    for scrape in scrapes {
        let (status, body) = scrape.await.expect("scrape");
        assert_eq!(status, 200);
        assert_eq!(
            sample(&body, "probe_success").as_deref(),
            Some("1"),
            "{body}"
        );
    }
    assert_eq!(lab.servers[0].1.connections(), 2 * one_audit);
    let (_, own) = serve.get("/metrics").await;
    assert!(own.contains("smtptls_exporter_audits_total 1\n"), "{own}");
}

/// A scrape timeout shorter than the audit: `probe_success 0` with the
/// timeout's error, in time for Prometheus; the audit finishes, and the
/// next scrape gets its result from the cache.
#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_timeout_answers_in_time_and_the_audit_finishes_for_the_next() {
    let lab = LabBuilder::new()
        .mx("slow.test", 10, "mx.slow.test", |pki, host| Behaviour {
            banner: Banner::Delayed(Duration::from_secs(2)),
            ..good(pki, host)
        })
        .start()
        .await;
    let serve = Serve::start(&lab, &["--scan", "off"]).await;
    let timeout = [("X-Prometheus-Scrape-Timeout-Seconds", "1.5")];
    let started = std::time::Instant::now();
    let (status, first) = serve.get_with("/probe?target=slow.test", &timeout).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(1500), "answered in {took:?}");
    assert_eq!(
        sample(&first, "probe_success").as_deref(),
        Some("0"),
        "{first}"
    );
    assert!(first.contains("smtptls_probe_error{phase=\"run\",kind=\"deadline\"} 1"));
    assert!(
        !first.contains("smtptls_domain_verdict"),
        "nothing learnt yet: {first}"
    );
    // The audit goes on: banner delay, then STARTTLS and the injection test.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_, second) = serve.get_with("/probe?target=slow.test", &timeout).await;
    assert_eq!(
        sample(&second, "probe_success").as_deref(),
        Some("1"),
        "{second}"
    );
    assert_eq!(
        sample(&second, "smtptls_probe_cached").as_deref(),
        Some("1")
    );
    assert!(second.contains("smtptls_domain_verdict{domain=\"slow.test\",verdict=\"secure\"} 1"));
    let (_, own) = serve.get("/metrics").await;
    assert!(
        own.contains("smtptls_exporter_errors_total{kind=\"scrape-timeout\"} 1\n"),
        "{own}"
    );
}

/// On an address other than loopback, serve refuses to start without an
/// allow-list: one line, exit 2, nothing listening.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_listener_needs_an_allow_list() {
    let run = lab::run::smtptls(["serve", "--listen", "0.0.0.0:0"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("--allow-target"), "{}", run.stderr);
}

/// SIGTERM: serve stops, exit 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_server() {
    let lab = two_domains().await;
    let mut serve = Serve::start(&lab, &[]).await;
    let pid = serve.child.id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), serve.child.wait())
        .await
        .expect("stopped within 10 s")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(TcpStream::connect(serve.addr).await.is_err());
}
