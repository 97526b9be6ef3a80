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

/// `/api/v1/query?query=QUERY` of the Prometheus at `addr`: its `result`.
async fn query(addr: SocketAddr, q: &str) -> Vec<serde_json::Value> {
    let encoded: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, body) = get(addr, &format!("/api/v1/query?query={encoded}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    json["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `label=value … => value` per series, sorted: what the closing note shows.
fn series(result: &[serde_json::Value]) -> Vec<String> {
    let mut lines: Vec<String> = result
        .iter()
        .map(|s| {
            let labels = s["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            format!("{labels} => {}", s["value"][1].as_str().unwrap_or_default())
        })
        .collect();
    lines.sort();
    lines
}

/// `RSS` of a process in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// A real Prometheus (Debian's, from tests/exporter/run) scrapes the
/// exporter with the multi-target relabelling of deploy/prometheus: after
/// two scrapes of each lab domain the query API has the verdict series
/// per domain, probe_success 1, and smtptls_probe_cached 1 (the second
/// scrape from the cache: the lab servers saw no new connection).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Debian's prometheus: tests/exporter/run"]
async fn real_prometheus_scrapes_the_exporter() {
    let lab = two_domains().await;
    let serve = Serve::start(&lab, &["--scan", "off"]).await;
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "global:\n  scrape_interval: 3s\n  scrape_timeout: 3s\n\
         scrape_configs:\n  - job_name: smtptls\n    metrics_path: /probe\n    \
         static_configs:\n      - targets: [good.test, plain.test]\n    relabel_configs:\n      \
         - source_labels: [__address__]\n        target_label: __param_target\n      \
         - source_labels: [__param_target]\n        target_label: instance\n      \
         - target_label: __address__\n        replacement: {}\n",
        serve.addr
    );
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(&config_file, config).expect("write config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let web: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut prometheus = tokio::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!("--web.listen-address={web}"))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus (tests/exporter/run installs it)");
    let pid = prometheus.id().expect("pid");
    println!(
        "prometheus: pid {pid} on {web}, smtptls serve on {}",
        serve.addr
    );
    // Wait for the first scrape of both, then for a second one.
    let scrapes = "count_over_time(probe_success{job=\"smtptls\"}[5m])";
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut after_first = None;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no two scrapes in 90 s"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        if TcpStream::connect(web).await.is_err() {
            continue;
        }
        let counts: Vec<u64> = query(web, scrapes)
            .await
            .iter()
            .filter_map(|s| s["value"][1].as_str()?.parse().ok())
            .collect();
        if counts.len() == 2 && after_first.is_none() {
            after_first = Some([
                lab.servers[0].1.connections(),
                lab.servers[1].1.connections(),
            ]);
        }
        if counts.len() == 2 && counts.iter().all(|n| *n >= 2) {
            break;
        }
    }
    let mut shown = Vec::new();
    for q in [
        "smtptls_domain_verdict{job=\"smtptls\"} == 1",
        "probe_success{job=\"smtptls\"}",
        "smtptls_probe_cached{job=\"smtptls\"}",
        scrapes,
    ] {
        let result = query(web, q).await;
        println!("query: {q}");
        for line in series(&result) {
            println!("  {line}");
        }
        shown.push(series(&result));
    }
    let verdicts = shown[0].join("\n");
    assert!(
        verdicts.contains("domain=good.test") && verdicts.contains("verdict=secure"),
        "{verdicts}"
    );
    assert!(
        verdicts.contains("domain=plain.test") && verdicts.contains("verdict=plaintext"),
        "{verdicts}"
    );
    assert!(
        verdicts.contains("instance=good.test"),
        "the relabelled instance: {verdicts}"
    );
    assert_eq!(shown[1].len(), 2);
    assert!(
        shown[1].iter().all(|l| l.ends_with("=> 1")),
        "{:?}",
        shown[1]
    );
    assert_eq!(shown[2].len(), 2);
    assert!(
        shown[2].iter().all(|l| l.ends_with("=> 1")),
        "the last scrape was cached: {:?}",
        shown[2]
    );
    assert_eq!(
        Some([
            lab.servers[0].1.connections(),
            lab.servers[1].1.connections()
        ]),
        after_first,
        "no connection after the first scrape"
    );
    let killed = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(killed.success());
    let _ = tokio::time::timeout(Duration::from_secs(20), prometheus.wait()).await;
}

/// Load: 500 concurrent scrapes over 50 lab domains, twice (fresh, then
/// cached). Prints audits per target (the lab servers' connections over
/// those of one audit), errors, and the exporter's RSS. Run by hand:
/// `cargo test --test exporter -- --ignored --nocapture load_`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a load run whose figures are printed: run by hand"]
async fn load_500_concurrent_scrapes_over_50_targets() {
    const TARGETS: usize = 50;
    let mut builder = LabBuilder::new();
    for i in 0..TARGETS {
        builder = builder.mx(&format!("d{i}.test"), 10, &format!("mx.d{i}.test"), good);
    }
    let lab = builder.start().await;
    // One audit's connections to one server, as check makes them.
    lab.smtptls(
        &["check", "--format", "json", "--scan", "off"],
        &["d0.test"],
        &[],
    )
    .await;
    let one_audit = lab.servers[0].1.connections();
    let before: Vec<usize> = lab.servers.iter().map(|(_, s)| s.connections()).collect();
    let serve = Serve::start(&lab, &["--scan", "off"]).await;
    let pid = serve.child.id().expect("pid");
    let rss_start = rss_kib(pid);
    let mut rss = vec![rss_start];
    let mut errors = 0;
    for wave in 0..2 {
        let started = std::time::Instant::now();
        let scrapes: Vec<_> = (0..500)
            .map(|n| {
                let addr = serve.addr;
                let path = format!("/probe?target=d{}.test", n % TARGETS);
                tokio::spawn(async move {
                    get(
                        addr,
                        &path,
                        &[("X-Prometheus-Scrape-Timeout-Seconds", "30")],
                    )
                    .await
                })
            })
            .collect();
        for scrape in scrapes {
            match scrape.await {
                Ok((200, body)) if sample(&body, "probe_success").as_deref() == Some("1") => {}
                _ => errors += 1,
            }
        }
        rss.push(rss_kib(pid));
        println!("wave {wave}: 500 scrapes in {:?}", started.elapsed());
    }
    let audits: Vec<f64> = lab
        .servers
        .iter()
        .zip(&before)
        .map(|((_, s), b)| (s.connections() - b) as f64 / one_audit as f64)
        .collect();
    let (_, own) = serve.get("/metrics").await;
    println!(
        "load: {TARGETS} targets, 2 x 500 concurrent scrapes; audits per target min {} max {}; errors {errors}; RSS KiB start {} after wave 1 {} after wave 2 {}",
        audits.iter().cloned().fold(f64::INFINITY, f64::min),
        audits.iter().cloned().fold(0.0, f64::max),
        rss[0],
        rss[1],
        rss[2],
    );
    for line in own.lines().filter(|l| !l.starts_with('#')) {
        println!("  {line}");
    }
    assert_eq!(errors, 0);
    assert!(
        audits.iter().all(|a| (*a - 1.0).abs() < f64::EPSILON),
        "{audits:?}"
    );
}
