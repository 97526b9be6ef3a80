//! Soak: the real audit, in this process, over failing and hostile lab
//! endpoints, again and again until the time is up, with the process's
//! memory and file descriptors printed after every round. Both must stay
//! flat: a leak shows up as a column that only grows.
//!
//! Everything listens and connects on 127.0.0.1 only. The lab (DNS, SMTP
//! and HTTPS servers from `tests/lab/`) runs on its own Tokio runtime; the
//! audit runs on another, created once and kept for the whole soak (as a
//! long-lived process would), with a fresh `Auditor` per round (as each
//! `smtptls check` run has). Each round parses a real command line
//! (`smtptls::cli`), audits every domain and renders the report in every
//! `--format` into a byte counter, so the reporters are soaked too.
//!
//! Per round it prints the wall time, VmRSS (current) and VmHWM (the
//! round's peak: VmHWM is reset before each round by writing `5` to
//! `/proc/self/clear_refs`, when the kernel allows it), the heap in use
//! (glibc's `mallinfo2`: what a leak raises, without the freed memory the
//! allocator keeps that RSS includes), the number of entries in
//! `/proc/self/fd` and of threads. At the end, a verdict:
//! `flat` or `growing`, comparing the last rounds against the first ones
//! after a warm-up.
//!
//! Run it with `scripts/soak [MINUTES]`. By hand:
//!
//! ```sh
//! SOAK_MINUTES=10 cargo bench --bench soak
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SOAK_MINUTES` | 10 | no new round starts after this |
//! | `SOAK_DOMAINS` | 300 | domains per round |
//! | `SOAK_REPLICAS` | 2 | lab servers of each kind |
//! | `SOAK_CONCURRENCY` | 32 | `--concurrency` |
//! | `SOAK_WARMUP` | 3 | rounds left out of the verdict's baseline |
//! | `SOAK_LAB_SESSIONS` | `on` | `off`: the lab's TLS servers keep no session cache and send no tickets (a control run: the lab runs in this process, so its caches are measured with the audit) |
//!
//! Figures are printed, never asserted in CI: this is a measurement, not a
//! test (`.ci/run` and `cargo test` do not run it).

#[path = "../tests/lab/mod.rs"]
mod lab;
#[path = "support/mod.rs"]
mod support;

use support::env_num;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use clap::Parser;
use smtptls::audit::{Auditor, StopReason};
use smtptls::cli::{Cli, Command};
use smtptls::reporter::{self, Format};
use time::OffsetDateTime;

use lab::dns::{TestDns, ZoneBuilder};
use lab::https::{HttpsServer, POLICY_PATH, Response, SilentServer};
use lab::pki::{Issuer, LeafSpec, TestPki};
use lab::run::Lab;
use lab::server::closed_port;
use lab::smtp::{Banner, Behaviour, Ehlo, SmtpServer, StartTls};

/// Per-step timeouts given to the audit: short, since every peer is local
/// and the stalling ones would otherwise dominate each round.
const TIMEOUT_SECS: &str = "2";
/// After a round, time for the lab's side of every connection to notice
/// the client went away, so the fd count is not a snapshot mid-teardown.
const SETTLE: Duration = Duration::from_millis(500);
/// A round that overruns this is stopped (`--deadline`-style): a hang is a
/// finding, not a reason to soak forever.
const ROUND_LIMIT: Duration = Duration::from_secs(300);
/// Slack of the verdict: RSS wanders by allocator noise (the allocator's
/// arenas grow in steps for a while before they settle), 2 MiB or 5 %,
/// whichever is more. A leak of a few dozen KiB per round over a
/// 10-minute soak (~60 rounds) still exceeds it.
const RSS_SLACK_KIB: u64 = 2 * 1024;
const RSS_SLACK_RATIO: f64 = 0.05;
/// Slack of the verdict for fds (a lab connection closing late).
const FD_SLACK: usize = 4;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` also
    // builds and runs this target, and must not start a 10-minute soak.
    let invoked_as_bench = std::env::args().any(|a| a == "--bench");
    if !invoked_as_bench && std::env::var_os("SOAK_MINUTES").is_none() {
        println!("soak: run it with scripts/soak [MINUTES] or `cargo bench --bench soak`");
        return;
    }
    match Config::from_env().and_then(|config| soak(&config)) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("soak: {message}");
            std::process::exit(2);
        }
    }
}

struct Config {
    duration: Duration,
    domains: usize,
    replicas: usize,
    concurrency: u16,
    warmup: usize,
    /// `SOAK_LAB_SESSIONS`: the lab servers' TLS session caches.
    lab_sessions: bool,
}

impl Config {
    fn from_env() -> Result<Self, String> {
        let minutes: f64 = env_num("SOAK_MINUTES", 10.0, 0.1, 24.0 * 60.0)?;
        Ok(Config {
            duration: Duration::from_secs_f64(minutes * 60.0),
            domains: env_num("SOAK_DOMAINS", 300, 1, 100_000)?,
            replicas: env_num("SOAK_REPLICAS", 2, 1, 50)?,
            concurrency: env_num("SOAK_CONCURRENCY", 32, 1, 1024)?,
            warmup: env_num("SOAK_WARMUP", 3, 0, 1000)?,
            lab_sessions: match std::env::var("SOAK_LAB_SESSIONS").as_deref() {
                Err(_) | Ok("on") => true,
                Ok("off") => false,
                Ok(other) => {
                    return Err(format!("SOAK_LAB_SESSIONS={other:?}: expected on or off"));
                }
            },
        })
    }
}

// ---------------------------------------------------------------------------
// The hostile fleet

/// What one lab endpoint does. Every kind the prober must survive without
/// keeping anything: stalls, floods, resets, junk, bad certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Good,
    Slow,
    /// Accepts, then never says a word.
    Stall,
    /// The banner one byte per second, never finished.
    Trickle,
    /// `220 aaaa…` forever, as fast as read.
    Flood,
    /// 10 000 continuation lines, never a last one.
    TooManyLines,
    Busy421,
    GarbageBanner,
    NoStartTls,
    /// RST after the ClientHello.
    Reset,
    /// Plaintext instead of a ServerHello.
    GarbageTls,
    /// Reads the ClientHello and never answers.
    StallTls,
    /// A certificate for another name.
    WrongName,
    Expired,
    SelfSigned,
    /// Banner, EHLO reply and certificate subject full of escapes.
    HostileText,
    /// Nobody listens.
    Refused,
}

const KINDS: [Kind; 17] = [
    Kind::Good,
    Kind::Slow,
    Kind::Stall,
    Kind::Trickle,
    Kind::Flood,
    Kind::TooManyLines,
    Kind::Busy421,
    Kind::GarbageBanner,
    Kind::NoStartTls,
    Kind::Reset,
    Kind::GarbageTls,
    Kind::StallTls,
    Kind::WrongName,
    Kind::Expired,
    Kind::SelfSigned,
    Kind::HostileText,
    Kind::Refused,
];

/// Peer text that must stay inert (see tests/formats.rs).
const HOSTILE: &str = "\x1b[2J\x1b]8;;http://x\x07=cmd|' /C calc'!A0\"<>&</script>\u{202e}\u{85}";

/// Endpoint `k`'s MX host name.
fn mx_host(k: usize) -> String {
    format!("mx{k}.soak.test")
}

/// How the MTA-STS side of a domain misbehaves (every seventh domain
/// publishes a record; its policy host is one of these).
#[derive(Debug, Clone, Copy)]
enum Sts {
    Good,
    /// A body that never ends (the fetch stops at 64 KiB).
    Endless,
    /// Accepts TCP and never answers (the fetch times out).
    Silent,
}

const STS: [Sts; 3] = [Sts::Good, Sts::Endless, Sts::Silent];

struct Fleet {
    lab: Lab,
    https: Vec<HttpsServer>,
    _silent: SilentServer,
    /// `--connect-to` rules besides the lab's own (refused endpoints,
    /// policy hosts).
    extra_routes: Vec<String>,
    domains: Vec<String>,
}

impl Fleet {
    fn args(&self) -> Vec<String> {
        let mut args = self.lab.args();
        for rule in &self.extra_routes {
            args.push("--connect-to".into());
            args.push(rule.clone());
        }
        args
    }

    /// Connections the lab servers accepted so far.
    fn connections(&self) -> usize {
        self.lab
            .servers
            .iter()
            .map(|(_, s)| s.connections())
            .sum::<usize>()
            + self
                .https
                .iter()
                .map(HttpsServer::connections)
                .sum::<usize>()
    }

    /// Drops the lab's transcripts, so its memory does not grow with the
    /// rounds and blur the figures of the code under test.
    fn forget(&self) {
        for (_, server) in &self.lab.servers {
            server.forget_commands();
        }
        for server in &self.https {
            server.forget_requests();
        }
    }
}

async fn start_fleet(config: &Config) -> Fleet {
    let pki = TestPki::new();
    let now = OffsetDateTime::now_utc();
    let endpoints: Vec<Kind> = KINDS
        .iter()
        .flat_map(|&kind| std::iter::repeat_n(kind, config.replicas))
        .collect();

    let mut zone = ZoneBuilder::new();
    let mut servers = Vec::new();
    let mut extra_routes = Vec::new();
    for (k, &kind) in endpoints.iter().enumerate() {
        let host = mx_host(k);
        zone = zone.a(&host, Ipv4Addr::LOCALHOST);
        let good = || Behaviour::good(&host, pki.leaf(&LeafSpec::valid_for(&host)));
        let behaviour = match kind {
            Kind::Good => good(),
            Kind::Slow => Behaviour {
                banner: Banner::Delayed(Duration::from_millis(300)),
                ..good()
            },
            Kind::Stall => Behaviour {
                banner: Banner::Silent,
                ..good()
            },
            Kind::Trickle => Behaviour {
                banner: Banner::Trickle,
                ..good()
            },
            Kind::Flood => Behaviour {
                banner: Banner::EndlessLine,
                ..good()
            },
            Kind::TooManyLines => Behaviour {
                banner: Banner::TooManyLines,
                ..good()
            },
            Kind::Busy421 => Behaviour {
                banner: Banner::Reject421,
                ..good()
            },
            Kind::GarbageBanner => Behaviour {
                banner: Banner::Garbage,
                ..good()
            },
            Kind::NoStartTls => Behaviour::plain(&host),
            Kind::Reset => Behaviour {
                starttls: StartTls::ResetMidHandshake,
                ..good()
            },
            Kind::GarbageTls => Behaviour {
                starttls: StartTls::HandshakeGarbage,
                ..good()
            },
            Kind::StallTls => Behaviour {
                starttls: StartTls::StallHandshake,
                ..good()
            },
            Kind::WrongName => Behaviour::good(
                &host,
                pki.leaf(&LeafSpec::valid_for("somebody-else.soak.test")),
            ),
            Kind::Expired => Behaviour::good(
                &host,
                pki.leaf(&LeafSpec {
                    not_before: now - time::Duration::days(100),
                    not_after: now - time::Duration::days(10),
                    ..LeafSpec::valid_for(&host)
                }),
            ),
            Kind::SelfSigned => Behaviour::good(
                &host,
                pki.leaf(&LeafSpec {
                    issuer: Issuer::SelfSigned,
                    ..LeafSpec::valid_for(&host)
                }),
            ),
            Kind::HostileText => Behaviour {
                hostname: format!("{host} {HOSTILE}"),
                ehlo: Ehlo::Normal,
                ..good()
            },
            Kind::Refused => {
                extra_routes.push(format!("{host}:25::{}", closed_port()));
                continue;
            }
        };
        servers.push((host, SmtpServer::start(behaviour).await));
    }

    // MTA-STS policy hosts, one per way of failing, shared by the domains.
    let mut https = Vec::new();
    for (i, sts) in STS.iter().enumerate() {
        let web = format!("sts{i}.soak.test");
        zone = zone.a(&web, Ipv4Addr::LOCALHOST);
        let response = match sts {
            Sts::Good => {
                Response::policy("version: STSv1\nmode: testing\nmx: *.soak.test\nmax_age: 86400\n")
            }
            Sts::Endless => Response::endless(),
            Sts::Silent => continue,
        };
        let server = HttpsServer::start(
            pki.leaf(&LeafSpec::valid_for(&web)),
            vec![(POLICY_PATH.to_string(), response)],
        )
        .await;
        extra_routes.push(format!("{web}:443::{}", server.port()));
        https.push(server);
    }
    let silent = SilentServer::start().await;

    let mut domains = Vec::with_capacity(config.domains);
    for i in 0..config.domains {
        let name = format!("d{i}.soak.test");
        let primary = i % endpoints.len();
        zone = zone.mx(&name, 10, &mx_host(primary));
        // Every third domain has a backup MX of another kind.
        if i % 3 == 0 {
            let backup = (primary + endpoints.len() / 2 + 1) % endpoints.len();
            zone = zone.mx(&name, 20, &mx_host(backup));
        }
        if i % 7 == 0 {
            let which = (i / 7) % STS.len();
            let web = format!("mta-sts.{name}");
            zone = zone
                .cname(&web, &format!("sts{which}.soak.test"))
                .txt(&format!("_mta-sts.{name}"), &["v=STSv1; id=1;"])
                .txt(
                    &format!("_smtp._tls.{name}"),
                    &["v=TLSRPTv1; rua=mailto:r@soak.test"],
                );
            // The fetch connects by the policy host name, not its CNAME
            // target: route that name.
            let port = match STS[which] {
                Sts::Silent => silent.port(),
                _ => https[which].port(),
            };
            extra_routes.push(format!("{web}:443::{port}"));
        }
        // DNS that fails: a few domains answer SERVFAIL or never answer.
        if i % 50 == 11 {
            zone = zone.servfail(&format!("sf{i}.soak.test"));
            domains.push(format!("sf{i}.soak.test"));
            continue;
        }
        if i % 50 == 23 {
            zone = zone.blackhole(&format!("bh{i}.soak.test"));
            domains.push(format!("bh{i}.soak.test"));
            continue;
        }
        domains.push(name);
    }
    let dns: TestDns = zone.start().await;
    let mut lab = Lab::new(dns, pki);
    lab.timeout = TIMEOUT_SECS;
    lab.banner_timeout = TIMEOUT_SECS;
    for (host, server) in servers {
        lab.serve(&host, server);
    }
    Fleet {
        lab,
        https,
        _silent: silent,
        extra_routes,
        domains,
    }
}

// ---------------------------------------------------------------------------
// Measuring this process

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    rss_kib: u64,
    hwm_kib: u64,
    /// Bytes the allocator has handed out and not got back (glibc's
    /// `mallinfo2`, all arenas, mmapped chunks included), in KiB; `None`
    /// off glibc. RSS also counts freed memory the allocator keeps, and
    /// its arenas grow in steps; this is what a leak would raise.
    heap_kib: Option<u64>,
    fds: usize,
    threads: u64,
    /// Tasks alive on the audit's runtime after the round: a task the
    /// audit left behind (a DNS client's background task, a pool's idle
    /// task) shows here even when it holds no socket.
    tasks: usize,
    /// The same on the lab's runtime.
    lab_tasks: usize,
}

/// glibc's `struct mallinfo2` (glibc 2.33+): ten `size_t` fields.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[repr(C)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// In-use heap bytes, in KiB: allocated ordinary chunks plus mmapped ones.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use_kib() -> Option<u64> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by
    // value; it only reads the allocator's statistics under its locks.
    let info = unsafe { mallinfo2() };
    Some(((info.uordblks + info.hblkhd) / 1024) as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use_kib() -> Option<u64> {
    None
}

fn status_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn sample() -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    Sample {
        rss_kib: status_field(&status, "VmRSS:").unwrap_or(0),
        hwm_kib: status_field(&status, "VmHWM:").unwrap_or(0),
        heap_kib: heap_in_use_kib(),
        fds: std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count),
        threads: status_field(&status, "Threads:").unwrap_or(0),
        tasks: 0,
        lab_tasks: 0,
    }
}

/// Resets VmHWM to the current RSS, so each round's peak is its own.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// A writer that only counts: the reporters do all their work, nothing
/// is kept.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const FORMATS: [Format; 6] = [
    Format::Table,
    Format::Json,
    Format::Ndjson,
    Format::Junit,
    Format::Prometheus,
    Format::Csv,
];

// ---------------------------------------------------------------------------
// The loop

struct Round {
    wall: Duration,
    domains: usize,
    verdicts: BTreeMap<String, usize>,
    connections: usize,
    bytes: u64,
    after: Sample,
}

fn soak(config: &Config) -> Result<bool, String> {
    let lab_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("soak-lab")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the lab runtime: {e}"))?;
    let audit_runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("soak-audit")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the audit runtime: {e}"))?;

    let started = Instant::now();
    if !config.lab_sessions {
        lab::pki::keep_no_sessions();
    }
    let fleet = lab_runtime.block_on(start_fleet(config));
    let mut command_line = vec![
        "smtptls".to_string(),
        "check".into(),
        "--quiet".into(),
        "--concurrency".into(),
        config.concurrency.to_string(),
    ];
    command_line.extend(fleet.domains.iter().cloned());
    command_line.extend(fleet.args());

    let can_reset = reset_peak();
    println!(
        "soak: {} domains over {} lab endpoints ({} kinds × {}), {} MTA-STS hosts, \
         --concurrency {}, timeouts {TIMEOUT_SECS} s, for {:.1} min; lab up in {:.2} s; \
         lab TLS session caches {}",
        fleet.domains.len(),
        KINDS.len() * config.replicas,
        KINDS.len(),
        config.replicas,
        STS.len(),
        config.concurrency,
        config.duration.as_secs_f64() / 60.0,
        started.elapsed().as_secs_f64(),
        if config.lab_sessions {
            "on"
        } else {
            "off (SOAK_LAB_SESSIONS)"
        }
    );
    println!(
        "peak = VmHWM of the round{}; fds = entries of /proc/self/fd after the round; \
         the lab runs in this process too (its transcripts are cleared every round)",
        if can_reset {
            " (reset before each round via /proc/self/clear_refs)"
        } else {
            " (NOT reset: /proc/self/clear_refs is not writable, so it is the process's peak so far)"
        }
    );
    let before = sample();
    println!(
        "before the first round: rss {} MiB, fds {}, threads {}",
        mib(before.rss_kib),
        before.fds,
        before.threads
    );
    println!();
    println!(
        "{:>5} {:>7} {:>7} {:>8} {:>8} {:>8} {:>5} {:>7} {:>5} {:>9} {:>7} {:>9}  verdicts",
        "round",
        "domains",
        "wall s",
        "rss MiB",
        "peak MiB",
        "heap MiB",
        "fds",
        "threads",
        "tasks",
        "lab tasks",
        "conns",
        "out KiB"
    );

    let mut rounds: Vec<Round> = Vec::new();
    while started.elapsed() < config.duration {
        reset_peak();
        let connections_before = fleet.connections();
        let round = audit_runtime.block_on(round(&command_line))?;
        std::thread::sleep(SETTLE);
        let connections = fleet.connections() - connections_before;
        // Before sampling: what the lab heard is not the code under test.
        fleet.forget();
        let round = Round {
            after: Sample {
                tasks: audit_runtime.metrics().num_alive_tasks(),
                lab_tasks: lab_runtime.metrics().num_alive_tasks(),
                ..sample()
            },
            connections,
            ..round
        };
        println!(
            "{:>5} {:>7} {:>7.1} {:>8} {:>8} {:>8} {:>5} {:>7} {:>5} {:>9} {:>7} {:>9}  {}",
            rounds.len() + 1,
            round.domains,
            round.wall.as_secs_f64(),
            mib(round.after.rss_kib),
            mib(round.after.hwm_kib),
            round.after.heap_kib.map_or_else(|| "-".into(), mib),
            round.after.fds,
            round.after.threads,
            round.after.tasks,
            round.after.lab_tasks,
            round.connections,
            round.bytes / 1024,
            round
                .verdicts
                .iter()
                .map(|(v, n)| format!("{v} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = io::stdout().flush();
        rounds.push(round);
    }
    Ok(verdict(config, &rounds))
}

/// One audit of the whole list, as `smtptls check` does it, plus every
/// format rendered.
async fn round(command_line: &[String]) -> Result<Round, String> {
    let cli = Cli::try_parse_from(command_line).map_err(|e| format!("command line: {e}"))?;
    let Command::Check(args) = cli.command else {
        return Err("command line: not `check`".into());
    };
    let options = args.options().map_err(|e| format!("options: {e}"))?;
    let jobs = args.audit.jobs().map_err(|e| format!("domain list: {e}"))?;
    let start = Instant::now();
    let auditor = Auditor::connect(options)
        .await
        .map_err(|e| format!("auditor: {e}"))?;
    let mut streamed = reporter::reporter(Format::Ndjson, reporter::TableLayout::default());
    let mut out = Counter(0);
    let report = auditor
        .run(
            jobs.jobs,
            async {
                tokio::time::sleep(ROUND_LIMIT).await;
                StopReason::Deadline
            },
            |domain| {
                let _ = streamed.domain_done(domain, &mut out);
            },
        )
        .await;
    drop(auditor);
    for format in FORMATS {
        let mut reporter = reporter::reporter(
            format,
            reporter::TableLayout {
                color: format == Format::Table,
                ..reporter::TableLayout::default()
            },
        );
        reporter
            .finish(&report, &mut out)
            .map_err(|e| format!("{format:?}: {e}"))?;
    }
    let mut verdicts = BTreeMap::new();
    for domain in &report.domains {
        let name = serde_json::to_value(domain.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *verdicts.entry(name).or_insert(0) += 1;
    }
    if report.summary.stopped.is_some() {
        verdicts.insert("STOPPED".into(), 1);
    }
    Ok(Round {
        wall: start.elapsed(),
        domains: report.domains.len(),
        verdicts,
        connections: 0,
        bytes: out.0,
        after: Sample::default(),
    })
}

/// The least-squares slope of `ys` against their index.
fn slope(ys: impl Iterator<Item = f64>) -> f64 {
    let ys: Vec<f64> = ys.collect();
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return 0.0;
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (y - mean_y);
        den += dx * dx;
    }
    num / den
}

/// Flat or growing: the last rounds against the first ones after the
/// warm-up. Prints the figures it compares; returns whether flat.
fn verdict(config: &Config, rounds: &[Round]) -> bool {
    println!();
    let n = rounds.len();
    let warmup = config.warmup.min(n.saturating_sub(2));
    let measured = &rounds[warmup..];
    if measured.len() < 2 {
        println!("verdict: too few rounds ({n}) to tell; give it more time");
        return true;
    }
    let window = (measured.len() / 3).clamp(1, 5);
    let first = &measured[..window];
    let last = &measured[measured.len() - window..];
    let max =
        |rs: &[Round], f: fn(&Sample) -> u64| rs.iter().map(|r| f(&r.after)).max().unwrap_or(0);
    let rss_first = max(first, |s| s.rss_kib);
    let rss_last = max(last, |s| s.rss_kib);
    let hwm_first = max(first, |s| s.hwm_kib);
    let hwm_last = max(last, |s| s.hwm_kib);
    let heap_first = max(first, |s| s.heap_kib.unwrap_or(0));
    let heap_last = max(last, |s| s.heap_kib.unwrap_or(0));
    let fds_first = max(first, |s| s.fds as u64) as usize;
    let fds_last = max(last, |s| s.fds as u64) as usize;
    let peak = rounds.iter().map(|r| r.after.hwm_kib).max().unwrap_or(0);
    let limit = |base: u64| base + RSS_SLACK_KIB.max((base as f64 * RSS_SLACK_RATIO) as u64);
    let rss_flat = rss_last <= limit(rss_first);
    let hwm_flat = hwm_last <= limit(hwm_first);
    let fds_flat = fds_last <= fds_first + FD_SLACK;
    let heap_flat = heap_last <= limit(heap_first);
    println!(
        "{n} rounds, {} domains audited; warm-up {warmup} rounds; comparing the max of the first \
         {window} measured rounds with the max of the last {window}",
        rounds.iter().map(|r| r.domains).sum::<usize>()
    );
    println!(
        "  rss  {} → {} MiB ({})",
        mib(rss_first),
        mib(rss_last),
        if rss_flat { "flat" } else { "growing" }
    );
    println!(
        "  peak {} → {} MiB ({}); highest of the soak {} MiB",
        mib(hwm_first),
        mib(hwm_last),
        if hwm_flat { "flat" } else { "growing" },
        mib(peak)
    );
    if rounds.iter().any(|r| r.after.heap_kib.is_some()) {
        println!(
            "  heap {} → {} MiB in use ({})",
            mib(heap_first),
            mib(heap_last),
            if heap_flat { "flat" } else { "growing" }
        );
    }
    println!(
        "  fds  {fds_first} → {fds_last} ({})",
        if fds_flat { "flat" } else { "growing" }
    );
    println!(
        "  rss trend over the measured rounds: {:+.1} KiB per round (least squares)",
        slope(measured.iter().map(|r| r.after.rss_kib as f64))
    );
    println!(
        "  heap trend over the measured rounds: {:+.1} KiB per round (least squares)",
        slope(
            measured
                .iter()
                .map(|r| r.after.heap_kib.unwrap_or(0) as f64)
        )
    );
    let flat = rss_flat && hwm_flat && heap_flat && fds_flat;
    println!("verdict: {}", if flat { "flat" } else { "GROWING" });
    flat
}
