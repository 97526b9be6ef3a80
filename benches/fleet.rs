//! Fleet benchmark: how fast and how lean `smtptls check` audits a long
//! partner list, and how much MX deduplication saves.
//!
//! It starts, on loopback only, M lab SMTP endpoints (most serve STARTTLS
//! with a lab certificate, some greet slowly, some fail: no STARTTLS, a
//! `421` greeting, connection refused) and one lab DNS zone in which N
//! domains have their MX at those M host names (`mxK.fleet.test`, many
//! domains per host, skewed like real providers). Then it runs the
//! *release* binary over the whole list at several `--concurrency` values
//! and prints wall time, peak RSS of the child, domains/s, probes/s and the
//! share of probes deduplication saved.
//!
//! With `BENCH_SSLYZE=/path/to/sslyze` it also times sslyze against the
//! same M endpoints (and smtptls on one domain per endpoint) side by side.
//!
//! Run it with `scripts/bench`, which builds the release binary first and
//! installs sslyze in a venv. By hand:
//!
//! ```sh
//! cargo build --release --locked
//! BENCH_DOMAINS=300 BENCH_ENDPOINTS=20 BENCH_CONCURRENCY="8 32" cargo bench --bench fleet
//! ```
//!
//! Environment (all optional):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BENCH_DOMAINS` | 2000 | N, domains in the list (`scale`: the largest size) |
//! | `BENCH_ENDPOINTS` | 50 | M, lab SMTP endpoints (MX host names); `scale`: 1000, `wan`: 200 |
//! | `BENCH_CONCURRENCY` | `8 32 64` | `--concurrency` values, one run each |
//! | `BENCH_MODE` | `all` | `fleet`, `compare` (sslyze side by side), `all` (both), `scale` (large lists) or `wan` (the lab behind netem in a network namespace; `lab-serve` is its server side) |
//! | `BENCH_WAN_NETNS`, `BENCH_WAN_ADDR` | — | `wan`: the namespace and its veth address (made by `scripts/bench wan`) |
//! | `BENCH_WAN_RTT_MS`, `BENCH_WAN_LOSS` | 50, 1 | `wan`: the round trip and loss (%) netem was given, for the ideal time and the header |
//! | `BENCH_WAN_SCANS` | `light off` | `wan`: `--scan` modes, one run each |
//! | `BENCH_WAN_CONCURRENCY`, `BENCH_WAN_PER_ADDRESS` | `default` | `wan`: values (or `default`: the binary's) of `--concurrency` and `--per-address`, one run per combination |
//! | `BENCH_SCALE_SIZES` | `2000 20000 100000` | `scale`: list sizes, one run each (prefixes of one list; `BENCH_DOMAINS` defaults to the largest, `BENCH_ENDPOINTS` to 1000) |
//! | `BENCH_SCALE_FORMATS` | `ndjson json` | `scale`: formats run at each size |
//! | `BENCH_SLOW_MS` | 200 | greeting delay of the slow endpoints |
//! | `BENCH_SECOND_MX_PERCENT` | 30 | domains that get a second MX |
//! | `BENCH_SEED` | 1 | seed of the domain → MX assignment |
//! | `BENCH_RUN_LIMIT_SECS` | 600 | a run still going then is killed |
//! | `BENCH_TIME_LIMIT_SECS` | 1800 | no new run starts after this |
//! | `BENCH_BIN` | `target/release/smtptls` | binary under test |
//! | `BENCH_SSLYZE` | — | sslyze executable, for the comparison |
//! | `BENCH_SSLYZE_UNAVAILABLE` | — | why there is none (printed) |
//! | `BENCH_COMPARE_CONCURRENCY` | smtptls's default | `--concurrency` in the comparison |
//! | `BENCH_FORMAT` | `json` | `--format` of the fleet runs: `json` or `ndjson` |
//! | `BENCH_KEEP` | — | `1`: keep the temp dir (domain list, each run's stdout/stderr) |
//! | `BENCH_DNS_RATE` | 0 (off) | `fleet`: the lab DNS answers at most this many questions a second, SERVFAIL to the rest (an authoritative server's rate limiting seen through a validating resolver) |
//! | `BENCH_REPEAT` | 1 | `fleet`: runs per `--concurrency` value |
//!
//! Timings are printed, never asserted: this is not a test.

#[path = "../tests/lab/mod.rs"]
mod lab;
#[path = "support/mod.rs"]
mod support;
#[path = "fleet/wan.rs"]
mod wan;

use support::{binary_path, env_num, env_string};

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lab::dns::ZoneBuilder;
use lab::pki::{LeafSpec, TestPki};
use lab::run::Lab;
use lab::smtp::{Banner, Behaviour, SmtpServer};

/// How often the child's `/proc/PID/status` is read while it runs.
const POLL: Duration = Duration::from_millis(5);
/// Per-step timeouts given to smtptls: short, since every peer is local.
const TIMEOUT_SECS: &str = "5";
/// Most `--concurrency` values accepted in one invocation.
const MAX_RUNS: usize = 16;

fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. `cargo test
    // --all-targets`, which also builds this target) must not start a
    // benchmark that runs for minutes.
    let invoked_as_bench = std::env::args().any(|a| a == "--bench");
    if !invoked_as_bench && std::env::var_os("BENCH_MODE").is_none() {
        println!("fleet benchmark: run it with scripts/bench or `cargo bench --bench fleet`");
        return;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("fleet bench: {message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = run(&config) {
        eprintln!("fleet bench: {message}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// Configuration

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fleet,
    Compare,
    All,
    /// Large lists: peak RSS and CPU at several list sizes, one run each.
    Scale,
    /// The lab in a network namespace behind netem, smtptls here.
    Wan,
    /// The server side of `Wan`, inside the namespace.
    LabServe,
}

struct Config {
    mode: Mode,
    domains: usize,
    endpoints: usize,
    concurrency: Vec<u16>,
    slow: Duration,
    second_mx_percent: u64,
    seed: u64,
    run_limit: Duration,
    time_limit: Duration,
    bin: PathBuf,
    sslyze: Option<PathBuf>,
    sslyze_unavailable: Option<String>,
    compare_concurrency: Option<u16>,
    /// `--format` of the fleet runs: json (one document) or ndjson.
    format: String,
    /// Keep the temporary directory (domain list, every run's output).
    keep: bool,
    /// `scale` mode: the list sizes, each a prefix of the same list.
    scale_sizes: Vec<usize>,
    /// `scale` mode: the formats run at each size.
    scale_formats: Vec<String>,
    /// Questions a second the lab DNS answers (0: no limit).
    dns_rate: usize,
    /// `fleet` mode: runs per concurrency value.
    repeat: usize,
}

impl Config {
    fn from_env() -> Result<Self, String> {
        let mode = match env_string("BENCH_MODE").as_deref() {
            None | Some("all") => Mode::All,
            Some("fleet") => Mode::Fleet,
            Some("compare") => Mode::Compare,
            Some("scale") => Mode::Scale,
            Some("wan") => Mode::Wan,
            Some("lab-serve") => Mode::LabServe,
            Some(other) => {
                return Err(format!(
                    "BENCH_MODE={other:?}: expected fleet, compare, scale, wan or all"
                ));
            }
        };
        let concurrency = match env_string("BENCH_CONCURRENCY") {
            None => vec![8, 32, 64],
            Some(list) => list
                .split([' ', ',', '\t'])
                .filter(|s| !s.is_empty())
                .map(|s| match s.parse::<u16>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(format!(
                        "BENCH_CONCURRENCY: {s:?} is not a number from 1 to 65535"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        if concurrency.is_empty() || concurrency.len() > MAX_RUNS {
            return Err(format!(
                "BENCH_CONCURRENCY: give 1 to {MAX_RUNS} values, e.g. \"8 32 64\""
            ));
        }
        let scale_sizes = match env_string("BENCH_SCALE_SIZES") {
            None => vec![2_000, 20_000, 100_000],
            Some(list) => list
                .split([' ', ',', '\t'])
                .filter(|s| !s.is_empty())
                .map(|s| match s.parse::<usize>() {
                    Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "BENCH_SCALE_SIZES: {s:?} is not a number from 1 to 1000000"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let scale_formats: Vec<String> = match env_string("BENCH_SCALE_FORMATS") {
            None => vec!["ndjson".into(), "json".into()],
            Some(list) => list.split_whitespace().map(str::to_string).collect(),
        };
        for f in &scale_formats {
            if !["ndjson", "json", "csv", "prometheus", "junit", "table"].contains(&f.as_str()) {
                return Err(format!("BENCH_SCALE_FORMATS: {f:?} is not a --format"));
            }
        }
        // In scale mode the list is as long as the largest size, over 1,000
        // endpoints unless told otherwise.
        // The WAN bench: 2,000 domains over 200 endpoints.
        let (default_domains, default_endpoints) = match mode {
            Mode::Scale => (scale_sizes.iter().copied().max().unwrap_or(2_000), 1_000),
            Mode::Wan | Mode::LabServe => (2_000, 200),
            _ => (2_000, 50),
        };
        Ok(Config {
            mode,
            scale_sizes,
            scale_formats,
            domains: env_num("BENCH_DOMAINS", default_domains, 1, 1_000_000)?,
            endpoints: env_num("BENCH_ENDPOINTS", default_endpoints, 1, 5_000)?,
            concurrency,
            slow: Duration::from_millis(env_num("BENCH_SLOW_MS", 200, 0, 60_000)?),
            second_mx_percent: env_num("BENCH_SECOND_MX_PERCENT", 30, 0, 100)?,
            seed: env_num("BENCH_SEED", 1, 0, u64::MAX)?,
            run_limit: Duration::from_secs(env_num("BENCH_RUN_LIMIT_SECS", 600, 10, 86_400)?),
            time_limit: Duration::from_secs(env_num("BENCH_TIME_LIMIT_SECS", 1800, 10, 86_400)?),
            bin: binary_path(),
            sslyze: env_string("BENCH_SSLYZE").map(PathBuf::from),
            sslyze_unavailable: env_string("BENCH_SSLYZE_UNAVAILABLE"),
            format: match env_string("BENCH_FORMAT").as_deref() {
                None | Some("json") => "json".into(),
                Some("ndjson") => "ndjson".into(),
                Some(other) => {
                    return Err(format!("BENCH_FORMAT={other:?}: expected json or ndjson"));
                }
            },
            keep: env_string("BENCH_KEEP").is_some_and(|v| v != "0"),
            dns_rate: env_num("BENCH_DNS_RATE", 0, 0, 10_000_000)?,
            repeat: env_num("BENCH_REPEAT", 1, 1, 100)?,
            compare_concurrency: match env_string("BENCH_COMPARE_CONCURRENCY") {
                None => None,
                Some(_) => Some(env_num("BENCH_COMPARE_CONCURRENCY", 16, 1, u16::MAX)?),
            },
        })
    }
}

// ---------------------------------------------------------------------------
// The simulated fleet

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Good,
    Slow,
    NoStartTls,
    Busy421,
    Refused,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Good => "good STARTTLS",
            Kind::Slow => "slow greeting",
            Kind::NoStartTls => "no STARTTLS",
            Kind::Busy421 => "421 greeting",
            Kind::Refused => "connection refused",
        }
    }
}

/// Endpoint `k` of `m`: the last tenth (at least three, from six endpoints
/// on) fail, cycling through the failure modes; of the others every fifth
/// greets slowly. Low indices get the most domains (see [`plan_domains`]),
/// so the big "providers" work and the long tail has the failures.
fn kind_of(k: usize, m: usize) -> Kind {
    let failing = if m >= 6 { (m / 10).max(3) } else { 0 };
    if k >= m - failing {
        return [Kind::NoStartTls, Kind::Busy421, Kind::Refused][(k - (m - failing)) % 3];
    }
    if k % 5 == 4 { Kind::Slow } else { Kind::Good }
}

fn mx_host(k: usize) -> String {
    format!("mx{k}.fleet.test")
}

/// One domain of the list and the endpoints its MX records point at.
struct DomainPlan {
    name: String,
    mx: Vec<usize>,
}

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An endpoint index, skewed towards 0 (density ∝ 1/√x): a few hosts
    /// carry most domains, as with big providers.
    fn skewed(&mut self, m: usize) -> usize {
        let u = self.unit();
        ((u * u * m as f64) as usize).min(m - 1)
    }
}

/// Domain i < M gets endpoint i (every endpoint is used); the rest pick
/// skewed; some domains get a second MX on a different endpoint.
fn plan_domains(n: usize, m: usize, second_mx_percent: u64, seed: u64) -> Vec<DomainPlan> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let primary = if i < m { i } else { rng.skewed(m) };
            let mut mx = vec![primary];
            if m > 1 && rng.next() % 100 < second_mx_percent {
                let mut backup = rng.skewed(m);
                // Bounded: at most m tries to find a different endpoint.
                for _ in 0..m {
                    if backup != primary {
                        break;
                    }
                    backup = (backup + 1) % m;
                }
                mx.push(backup);
            }
            DomainPlan {
                name: format!("customer{i}.test"),
                mx,
            }
        })
        .collect()
}

/// The lab: DNS, PKI and SMTP servers (inside [`Lab`]), plus the endpoints
/// that refuse connections (no server, just a closed port).
struct Fleet {
    lab: Lab,
    kinds: Vec<Kind>,
    /// Lab server index of endpoint k (`None` for a refused one).
    server_of: Vec<Option<usize>>,
    /// `(host, port)` of the endpoints nobody listens on.
    refused: Vec<(String, u16)>,
    /// Endpoint k's port.
    ports: Vec<u16>,
    plan: Vec<DomainPlan>,
}

/// The fleet on `ip`: 127.0.0.1, or (`lab-serve`, inside the WAN
/// benchmark's network namespace) the namespace's veth address.
async fn start_fleet(config: &Config, ip: Ipv4Addr) -> Fleet {
    let m = config.endpoints;
    let kinds: Vec<Kind> = (0..m).map(|k| kind_of(k, m)).collect();
    let plan = plan_domains(config.domains, m, config.second_mx_percent, config.seed);

    let mut zone = ZoneBuilder::new();
    for k in 0..m {
        zone = zone.a(&mx_host(k), ip);
        // One domain per endpoint, for the side-by-side comparison.
        zone = zone.mx(&format!("site{k}.test"), 10, &mx_host(k));
    }
    for domain in &plan {
        for (j, &k) in domain.mx.iter().enumerate() {
            zone = zone.mx(&domain.name, 10 * (j as u16 + 1), &mx_host(k));
        }
    }
    // The zone has two names that do not exist per domain (`_mta-sts`,
    // `_smtp._tls`): answered from a hash set, or the lab's DNS would be
    // what the large lists measure.
    let mut zone = zone.fast_negative();
    if config.dns_rate > 0 {
        zone = zone.rate_limited(config.dns_rate);
    }
    let dns = zone.start_on(ip).await;

    let pki = TestPki::new();
    let mut servers = Vec::new();
    let mut server_of = Vec::with_capacity(m);
    let mut pending_refused = Vec::new();
    for (k, &kind) in kinds.iter().enumerate() {
        let host = mx_host(k);
        let behaviour = match kind {
            Kind::Good => Behaviour::good(&host, pki.leaf(&LeafSpec::valid_for(&host))),
            Kind::Slow => Behaviour {
                banner: Banner::Delayed(config.slow),
                ..Behaviour::good(&host, pki.leaf(&LeafSpec::valid_for(&host)))
            },
            Kind::NoStartTls => Behaviour::plain(&host),
            Kind::Busy421 => Behaviour {
                banner: Banner::Reject421,
                ..Behaviour::plain(&host)
            },
            Kind::Refused => {
                server_of.push(None);
                pending_refused.push(k);
                continue;
            }
        };
        server_of.push(Some(servers.len()));
        let server = if ip.is_loopback() {
            SmtpServer::start(behaviour).await
        } else {
            SmtpServer::start_in_netns(SocketAddr::from((ip, 0)), behaviour)
                .await
                .expect("bind a port on the namespace's address")
        };
        servers.push((host, server));
    }

    let mut ports = vec![0u16; m];
    for (k, slot) in server_of.iter().enumerate() {
        if let Some(i) = slot {
            ports[k] = servers[*i].1.port();
        }
    }
    // Refused: a port that was free a moment ago and has no listener now.
    // Taken last, so no lab server can be given it afterwards.
    let mut refused = Vec::new();
    for k in pending_refused {
        let port = TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("find a free loopback port");
        ports[k] = port;
        refused.push((mx_host(k), port));
    }

    let mut lab = Lab::new(dns, pki);
    lab.timeout = TIMEOUT_SECS;
    lab.banner_timeout = TIMEOUT_SECS;
    for (host, server) in servers {
        lab.serve(&host, server);
    }
    Fleet {
        lab,
        kinds,
        server_of,
        refused,
        ports,
        plan,
    }
}

impl Fleet {
    /// Connections the lab servers accepted so far, all of them.
    fn connections(&self) -> usize {
        self.lab.servers.iter().map(|(_, s)| s.connections()).sum()
    }

    /// The lab's arguments (resolver, CA, timeouts, EHLO name, DNSSEC mode,
    /// a `--connect-to` per served endpoint) plus one per refused endpoint;
    /// `--allow-local-addresses` only for a binary that knows it.
    fn args(&self, caps: &Capabilities) -> Vec<String> {
        let mut args = self.lab.args();
        if !caps.allow_local {
            args.retain(|a| a != "--allow-local-addresses");
        }
        for (host, port) in &self.refused {
            args.push("--connect-to".into());
            args.push(format!("{host}:25::{port}"));
        }
        args
    }

    fn observable(&self, k: usize) -> bool {
        self.server_of[k].is_some()
    }
}

// ---------------------------------------------------------------------------
// Running and measuring a child process

/// What the binary under test can do (flags are being added over time).
struct Capabilities {
    file: bool,
    quiet: bool,
    deadline: bool,
    concurrency: bool,
    /// `--allow-local-addresses`: binaries without it probe loopback
    /// addresses anyway (and refuse the flag).
    allow_local: bool,
}

fn capabilities(bin: &Path) -> Result<Capabilities, String> {
    let out = Command::new(bin)
        .args(["check", "--help"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let help = String::from_utf8_lossy(&out.stdout);
    let has = |flag: &str| help.contains(flag);
    Ok(Capabilities {
        file: has("--file"),
        quiet: has("--quiet"),
        deadline: has("--deadline"),
        concurrency: has("--concurrency"),
        allow_local: has("--allow-local-addresses"),
    })
}

struct Measured {
    wall: Duration,
    /// Largest VmHWM seen while polling, KiB.
    peak_rss_kib: Option<u64>,
    /// User + system CPU time of the child (all threads), last sample.
    cpu: Option<Duration>,
    status: Option<ExitStatus>,
    killed: bool,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Measured {
    fn exit(&self) -> String {
        if self.killed {
            return "killed".into();
        }
        match self.status.and_then(|s| s.code()) {
            Some(code) => code.to_string(),
            None => "signal".into(),
        }
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

/// Peak resident set size of a live process, from `/proc/PID/status`.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// User + system CPU time from a `/proc/…/stat` file (all threads of the
/// process). Assumes the usual 100 clock ticks per second.
fn cpu_time(stat_path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) may contain spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, so 12 and 13
    // after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "?".into(), |d| format!("{:.2}", d.as_secs_f64()))
}

/// Runs `cmd` with stdout and stderr in files under `dir`, polling its
/// peak RSS until it exits; kills it once `limit` has passed.
fn measure(mut cmd: Command, limit: Duration, dir: &Path, tag: &str) -> Result<Measured, String> {
    let stdout = dir.join(format!("{tag}.out"));
    let stderr = dir.join(format!("{tag}.err"));
    let file =
        |p: &Path| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file(&stdout)?)
        .stderr(file(&stderr)?)
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let pid = child.id();
    let mut peak: Option<u64> = None;
    let mut cpu: Option<Duration> = None;
    let mut status = None;
    let mut killed = false;
    // Bounded twice: by a count of polls and by the clock.
    let max_polls = limit.as_millis() / POLL.as_millis() + 1;
    for _ in 0..max_polls {
        if let Some(hwm) = vm_hwm_kib(pid) {
            peak = Some(peak.map_or(hwm, |p| p.max(hwm)));
        }
        if let Some(used) = cpu_time(&format!("/proc/{pid}/stat")) {
            cpu = Some(used);
        }
        match child.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                break;
            }
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for {tag}: {e}")),
        }
        if start.elapsed() >= limit {
            break;
        }
        std::thread::sleep(POLL);
    }
    let wall = start.elapsed();
    if status.is_none() {
        killed = true;
        let _ = child.kill();
        status = child.wait().ok();
    }
    Ok(Measured {
        wall,
        peak_rss_kib: peak,
        cpu,
        status,
        killed,
        stdout,
        stderr,
    })
}

/// Domains reported and their verdicts, from a JSON report (one document)
/// or an NDJSON one (a domain per line).
#[derive(Default)]
struct Outcome {
    domains: usize,
    verdicts: BTreeMap<String, usize>,
    /// Why `error` domains are errors: the domain's `error.kind`, else the
    /// kinds of error of its MX hosts and addresses.
    errors: BTreeMap<String, usize>,
    /// `summary.probes` of a JSON report, where the binary counts them:
    /// connections it attempted, refused ones included.
    probes: Option<u64>,
    /// `summary.dns_retries`, where the binary counts them.
    dns_retries: Option<u64>,
    /// `error` rows whose cause is a DNS failure.
    dns_errors: usize,
}

impl Outcome {
    fn read(path: &Path) -> Outcome {
        let mut outcome = Outcome::default();
        let Ok(text) = std::fs::read_to_string(path) else {
            return outcome;
        };
        let mut count = |domain: &serde_json::Value| {
            if let Some(v) = domain.get("verdict").and_then(|v| v.as_str()) {
                outcome.domains += 1;
                *outcome.verdicts.entry(v.to_string()).or_default() += 1;
                if v == "error" {
                    let cause = error_cause(domain);
                    if cause.contains("dns") {
                        outcome.dns_errors += 1;
                    }
                    *outcome.errors.entry(cause).or_default() += 1;
                }
            }
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(doc) if doc.get("domains").is_some() => {
                for domain in doc["domains"].as_array().into_iter().flatten() {
                    count(domain);
                }
                outcome.probes = doc["summary"]["probes"].as_u64();
                outcome.dns_retries = doc["summary"]["dns_retries"].as_u64();
            }
            _ => {
                for line in text.lines() {
                    if let Ok(domain) = serde_json::from_str::<serde_json::Value>(line) {
                        count(&domain);
                    }
                }
            }
        }
        outcome
    }

    fn verdicts(&self) -> String {
        counts(&self.verdicts)
    }

    fn errors(&self) -> String {
        counts(&self.errors)
    }
}

fn counts(map: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = map.iter().map(|(what, n)| format!("{what} {n}")).collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// `phase/kind` of a domain's own error, else the distinct `phase/kind` of
/// its MX hosts' and addresses' errors (`+`-joined).
fn error_cause(domain: &serde_json::Value) -> String {
    let name = |e: &serde_json::Value| {
        format!(
            "{}/{}",
            e["phase"].as_str().unwrap_or("?"),
            e["kind"].as_str().unwrap_or("?")
        )
    };
    if domain["error"].is_object() {
        return name(&domain["error"]);
    }
    let mx = domain["mx"].as_array().into_iter().flatten();
    let addresses = mx
        .clone()
        .flat_map(|mx| mx["addresses"].as_array().into_iter().flatten());
    let kinds: BTreeSet<String> = mx
        .chain(addresses)
        .filter(|x| x["error"].is_object())
        .map(|x| name(&x["error"]))
        .collect();
    if kinds.is_empty() {
        "other".into()
    } else {
        kinds.into_iter().collect::<Vec<_>>().join("+")
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn per_sec(n: usize, wall: Duration) -> String {
    let secs = wall.as_secs_f64();
    if secs > 0.0 {
        format!("{:.1}", n as f64 / secs)
    } else {
        "-".into()
    }
}

// ---------------------------------------------------------------------------
// The benchmark

fn run(config: &Config) -> Result<(), String> {
    let started = Instant::now();
    if config.mode == Mode::LabServe {
        return wan::lab_serve(config);
    }
    if !config.bin.is_file() {
        return Err(format!(
            "{} not found: build it first with `cargo build --release --locked` \
             (scripts/bench does), or point BENCH_BIN at a binary",
            config.bin.display()
        ));
    }
    if config.mode == Mode::Wan {
        let dir = tempfile::Builder::new()
            .prefix("smtptls-bench-wan-")
            .tempdir()
            .map_err(|e| format!("cannot make a temp dir: {e}"))?;
        wan::wan_runs(config, dir.path(), started)?;
        if config.keep {
            println!("kept (BENCH_KEEP): {}", dir.keep().display());
        }
        return Ok(());
    }
    let caps = capabilities(&config.bin)?;
    if !caps.file && config.domains > 50_000 {
        return Err(format!(
            "{} has no --file and {} domains do not fit on a command line",
            config.bin.display(),
            config.domains
        ));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let setup = Instant::now();
    let fleet = runtime.block_on(start_fleet(config, Ipv4Addr::LOCALHOST));
    let setup = setup.elapsed();
    let dir = tempfile::Builder::new()
        .prefix("smtptls-bench-")
        .tempdir()
        .map_err(|e| format!("cannot make a temp dir: {e}"))?;

    if config.mode == Mode::Scale {
        scale_runs(config, &caps, &fleet, dir.path(), started, setup)?;
    } else if config.mode != Mode::Compare {
        fleet_runs(config, &caps, &fleet, dir.path(), started, setup)?;
    }
    if config.mode == Mode::All || config.mode == Mode::Compare {
        compare(config, &caps, &fleet, dir.path(), started)?;
    }
    if config.keep {
        println!();
        println!("kept (BENCH_KEEP): {}", dir.keep().display());
    }
    // Stop the servers (and the DNS thread) while the runtime still runs.
    drop(fleet);
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn fleet_runs(
    config: &Config,
    caps: &Capabilities,
    fleet: &Fleet,
    dir: &Path,
    started: Instant,
    setup: Duration,
) -> Result<(), String> {
    let m = config.endpoints;
    let plan = &fleet.plan;
    let list = dir.join("domains.txt");
    let mut text = String::with_capacity(plan.len() * 20);
    for domain in plan {
        text.push_str(&domain.name);
        text.push('\n');
    }
    std::fs::write(&list, text).map_err(|e| format!("cannot write the domain list: {e}"))?;

    // Without dedup every domain would probe each address of each MX:
    // here one address per MX host. Refused endpoints are left out of both
    // sides of the ratio: no lab server sees those connection attempts.
    let mx_records: usize = plan.iter().map(|d| d.mx.len()).sum();
    let naive: usize = plan
        .iter()
        .flat_map(|d| d.mx.iter())
        .filter(|&&k| fleet.observable(k))
        .count();
    let used: BTreeSet<usize> = plan.iter().flat_map(|d| d.mx.iter().copied()).collect();
    let ideal = used.iter().filter(|&&k| fleet.observable(k)).count();
    let mut per_endpoint = vec![0usize; m];
    for k in plan.iter().flat_map(|d| d.mx.iter()) {
        per_endpoint[*k] += 1;
    }
    let busiest = per_endpoint.iter().copied().max().unwrap_or(0);
    let mut mix: BTreeMap<Kind, usize> = BTreeMap::new();
    for kind in &fleet.kinds {
        *mix.entry(*kind).or_default() += 1;
    }
    let mix: Vec<String> = mix
        .iter()
        .map(|(kind, n)| format!("{n} {}", kind.label()))
        .collect();

    println!();
    println!("smtptls fleet benchmark");
    println!("  binary      {}", config.bin.display());
    println!(
        "  domains     {} ({} MX records, {} with a second MX), list passed {}",
        plan.len(),
        mx_records,
        plan.iter().filter(|d| d.mx.len() > 1).count(),
        if caps.file {
            "with --file"
        } else {
            "as arguments (this binary has no --file)"
        }
    );
    println!(
        "  endpoints   {m} MX hosts on 127.0.0.1: {} (slow = {} ms greeting)",
        mix.join(", "),
        config.slow.as_millis()
    );
    println!(
        "  sharing     busiest MX host serves {busiest} domains ({:.0} %); {:.1} domains per MX host on average",
        100.0 * busiest as f64 / plan.len().max(1) as f64,
        mx_records as f64 / m as f64
    );
    println!(
        "  probes      {naive} without dedup (one per domain × MX address, refused endpoints not counted), \
         {ideal} ideal (one per MX host and address)"
    );
    println!("  format      --format {}", config.format);
    println!(
        "  lab         started in {:.2} s; smtptls timeouts {TIMEOUT_SECS} s; host has {} CPUs",
        setup.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if config.dns_rate > 0 {
        println!(
            "  dns rate    the lab DNS answers {} questions a second, SERVFAIL to the rest; {} run(s) per concurrency",
            config.dns_rate, config.repeat
        );
    }
    println!();
    println!(
        "{:>11} {:>8} {:>10} {:>7} {:>9} {:>9} {:>12} {:>9} {:>8} {:>8} {:>5}",
        "concurrency",
        "wall s",
        "domains/s",
        "probes",
        "probes/s",
        "reported",
        "dedup saved",
        "peak MiB",
        "cpu s",
        "lab cpu",
        "exit"
    );

    let mut verdict_lines = Vec::new();
    let runs: Vec<(usize, u16)> = config
        .concurrency
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| std::iter::repeat_n((i, c), config.repeat))
        .collect();
    for (run_index, &(i, c)) in runs.iter().enumerate() {
        let Some(limit) = remaining(config, started) else {
            println!(
                "(BENCH_TIME_LIMIT_SECS reached: skipping --concurrency {})",
                config.concurrency[i..]
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            break;
        };
        let mut cmd = Command::new(&config.bin);
        cmd.env("NO_COLOR", "1")
            .args(["check", "--format", &config.format]);
        if caps.file {
            cmd.arg("--file").arg(&list);
        } else {
            cmd.args(plan.iter().map(|d| d.name.as_str()));
        }
        cmd.args(fleet.args(caps));
        if caps.concurrency {
            cmd.args(["--concurrency", &c.to_string()]);
        }
        if caps.quiet {
            cmd.arg("--quiet");
        }
        if caps.deadline {
            let secs = limit
                .saturating_sub(Duration::from_secs(5))
                .as_secs()
                .max(1);
            cmd.args(["--deadline", &secs.to_string()]);
        }
        let before = fleet.connections();
        let queries_before = fleet.lab.dns.queries();
        let limited_before = fleet.lab.dns.rate_limited();
        let lab_cpu = cpu_time("/proc/self/stat");
        let run = measure(cmd, limit, dir, &format!("fleet-c{c}-{run_index}"))?;
        let lab_cpu = cpu_time("/proc/self/stat")
            .zip(lab_cpu)
            .map(|(after, before)| after.saturating_sub(before));
        let probes = fleet.connections() - before;
        let queries = fleet.lab.dns.queries() - queries_before;
        let limited = fleet.lab.dns.rate_limited() - limited_before;
        let outcome = Outcome::read(&run.stdout);
        let saved = if naive > 0 {
            format!("{:.1} %", 100.0 * (1.0 - probes as f64 / naive as f64))
        } else {
            "-".into()
        };
        println!(
            "{:>11} {:>8.2} {:>10} {:>7} {:>9} {:>9} {:>12} {:>9} {:>8} {:>8} {:>5}",
            if caps.concurrency {
                c.to_string()
            } else {
                format!("default({c})")
            },
            run.wall.as_secs_f64(),
            per_sec(plan.len(), run.wall),
            probes,
            per_sec(probes, run.wall),
            outcome.domains,
            saved,
            mib(run.peak_rss_kib),
            secs(run.cpu),
            secs(lab_cpu),
            run.exit()
        );
        let own_count = outcome.probes.map_or_else(String::new, |p| {
            format!("; smtptls's own summary.probes: {p} (refused attempts included)")
        });
        verdict_lines.push(format!(
            "  --concurrency {c}: {}{own_count}; {queries} DNS queries ({:.1} per domain)",
            outcome.verdicts(),
            queries as f64 / plan.len().max(1) as f64
        ));
        if !outcome.errors.is_empty() {
            verdict_lines.push(format!("    errors by cause: {}", outcome.errors()));
        }
        if config.dns_rate > 0 {
            verdict_lines.push(format!(
                "    rate limiting: {limited} questions answered SERVFAIL by the lab DNS; \
                 {} error rows from DNS; smtptls's summary.dns_retries: {}; wall {:.2} s",
                outcome.dns_errors,
                outcome
                    .dns_retries
                    .map_or_else(|| "- (not in this binary)".to_string(), |n| n.to_string()),
                run.wall.as_secs_f64()
            ));
        }
        if outcome.domains != plan.len() {
            let tail = run.stderr_tail();
            if !tail.is_empty() {
                verdict_lines.push(format!("    stderr: {}", tail.replace('\n', "\n    ")));
            }
        }
    }
    println!();
    println!("verdicts (exit 1 is expected: the fleet has failing endpoints on purpose)");
    for line in verdict_lines {
        println!("{line}");
    }
    println!(
        "probes = connections the lab servers accepted; dedup saved = 1 - probes / {naive}; \
         peak MiB = VmHWM of the smtptls process; cpu s = its user+system CPU time; \
         lab cpu = the bench process's (lab DNS and SMTP servers) during the run"
    );
    Ok(())
}

/// Time left for one more child: the per-run limit, or less near the
/// overall limit; `None` once too little is left to start one.
/// Large lists: one run per size and format, the list being the first N
/// domains of the plan. Prints peak RSS and what it grows by per domain,
/// and the engine's CPU per domain and per connection.
fn scale_runs(
    config: &Config,
    caps: &Capabilities,
    fleet: &Fleet,
    dir: &Path,
    started: Instant,
    setup: Duration,
) -> Result<(), String> {
    let concurrency = config.concurrency.last().copied().unwrap_or(64);
    println!();
    println!("smtptls large-list benchmark");
    println!("  binary      {}", config.bin.display());
    println!(
        "  lab         {} domains over {} MX hosts on 127.0.0.1, started in {:.1} s; --concurrency {concurrency}",
        fleet.plan.len(),
        config.endpoints,
        setup.as_secs_f64()
    );
    println!(
        "  figures     peak = VmHWM of the smtptls process; per domain = (peak − peak of the smallest run of that format) ÷ (domains − its domains); cpu = smtptls's user+system"
    );
    println!();
    println!(
        "{:>8} {:>10} {:>8} {:>7} {:>9} {:>9} {:>8} {:>10} {:>10} {:>5}",
        "domains",
        "format",
        "wall s",
        "probes",
        "reported",
        "peak MiB",
        "KiB/dom",
        "cpu ms/dom",
        "cpu ms/conn",
        "exit"
    );
    let mut smallest: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut sizes = config.scale_sizes.clone();
    sizes.sort_unstable();
    for &n in &sizes {
        let n = n.min(fleet.plan.len());
        let list = dir.join(format!("scale-{n}.txt"));
        let text: String = fleet.plan[..n]
            .iter()
            .map(|d| format!("{}\n", d.name))
            .collect();
        std::fs::write(&list, text).map_err(|e| format!("cannot write the domain list: {e}"))?;
        for format in &config.scale_formats {
            let Some(limit) = remaining(config, started) else {
                println!("(BENCH_TIME_LIMIT_SECS reached: no more runs)");
                return Ok(());
            };
            let mut cmd = Command::new(&config.bin);
            cmd.env("NO_COLOR", "1")
                .args(["check", "--format", format, "--file"])
                .arg(&list)
                .args(fleet.args(caps))
                .args(["--concurrency", &concurrency.to_string(), "--quiet"]);
            let before = fleet.connections();
            let run = measure(cmd, limit, dir, &format!("scale-{n}-{format}"))?;
            let probes = fleet.connections() - before;
            let reported = match format.as_str() {
                "ndjson" | "json" => Outcome::read(&run.stdout).domains.to_string(),
                _ => "-".into(),
            };
            let peak = run.peak_rss_kib.unwrap_or(0);
            let per_domain = match smallest.get(format) {
                Some(&(n0, peak0)) if n > n0 => {
                    format!("{:.2}", (peak as f64 - peak0 as f64) / (n - n0) as f64)
                }
                _ => "-".into(),
            };
            smallest.entry(format.clone()).or_insert((n, peak));
            let cpu_ms = run.cpu.map(|c| c.as_secs_f64() * 1000.0);
            println!(
                "{:>8} {:>10} {:>8.2} {:>7} {:>9} {:>9} {:>8} {:>10} {:>10} {:>5}",
                n,
                format,
                run.wall.as_secs_f64(),
                probes,
                reported,
                mib(run.peak_rss_kib),
                per_domain,
                cpu_ms.map_or_else(|| "?".into(), |c| format!("{:.3}", c / n as f64)),
                cpu_ms.map_or_else(
                    || "?".into(),
                    |c| if probes > 0 {
                        format!("{:.2}", c / probes as f64)
                    } else {
                        "-".into()
                    }
                ),
                run.exit()
            );
            if run.killed || !matches!(run.status.and_then(|s| s.code()), Some(0 | 1)) {
                println!("  stderr: {}", run.stderr_tail());
            }
        }
    }
    println!();
    println!(
        "cpu ms/conn divides all of smtptls's CPU (DNS, inspection, output included) by the connections the lab accepted: an upper bound on the cost of one connection"
    );
    Ok(())
}

fn remaining(config: &Config, started: Instant) -> Option<Duration> {
    let left = config.time_limit.checked_sub(started.elapsed())?;
    (left >= Duration::from_secs(5)).then(|| left.min(config.run_limit))
}

/// smtptls over one domain per endpoint, and sslyze over the endpoints
/// themselves, side by side.
fn compare(
    config: &Config,
    caps: &Capabilities,
    fleet: &Fleet,
    dir: &Path,
    started: Instant,
) -> Result<(), String> {
    let m = config.endpoints;
    println!();
    println!("smtptls vs sslyze on the same {m} endpoints (one domain per endpoint for smtptls)");

    let Some(limit) = remaining(config, started) else {
        println!("(BENCH_TIME_LIMIT_SECS reached: comparison skipped)");
        return Ok(());
    };
    let mut cmd = Command::new(&config.bin);
    cmd.env("NO_COLOR", "1")
        .args(["check", "--format", "json"])
        .args((0..m).map(|k| format!("site{k}.test")))
        .args(fleet.args(caps));
    if let Some(c) = config.compare_concurrency {
        cmd.args(["--concurrency", &c.to_string()]);
    }
    if caps.quiet {
        cmd.arg("--quiet");
    }
    let before = fleet.connections();
    let ours = measure(cmd, limit, dir, "compare-smtptls")?;
    let our_conns = fleet.connections() - before;
    let outcome = Outcome::read(&ours.stdout);
    let secure = outcome.verdicts.get("secure").copied().unwrap_or(0);

    println!(
        "{:>8} {:>9} {:>9} {:>12} {:>9}  result",
        "tool", "wall s", "peak MiB", "connections", "exit"
    );
    let concurrency = config
        .compare_concurrency
        .map_or_else(|| "default".to_string(), |c| c.to_string());
    println!(
        "{:>8} {:>9.2} {:>9} {:>12} {:>9}  {} of {m} domains reported, {secure} secure (--concurrency {concurrency})",
        "smtptls",
        ours.wall.as_secs_f64(),
        mib(ours.peak_rss_kib),
        our_conns,
        ours.exit(),
        outcome.domains,
    );

    let Some(sslyze) = &config.sslyze else {
        let reason = config
            .sslyze_unavailable
            .as_deref()
            .unwrap_or("BENCH_SSLYZE is not set (scripts/bench installs it in a venv)");
        println!("sslyze unavailable: {reason}");
        return Ok(());
    };
    let Some(limit) = remaining(config, started) else {
        println!("sslyze skipped: BENCH_TIME_LIMIT_SECS reached");
        return Ok(());
    };
    let json_out = dir.join("sslyze.json");
    let mut cmd = Command::new(sslyze);
    // Certificate information only: without `--mozilla_config disable`
    // sslyze would also enumerate cipher suites and versions, which
    // smtptls does not do.
    cmd.args([
        "--quiet",
        "--mozilla_config",
        "disable",
        "--starttls",
        "smtp",
        "--certinfo",
    ])
    .arg("--certinfo_ca_file")
    .arg(fleet.lab.pki.ca_file())
    .arg("--json_out")
    .arg(&json_out)
    // host:port{ip}: connect to the ip, use the host name for SNI.
    .args((0..m).map(|k| format!("{}:{}{{127.0.0.1}}", mx_host(k), fleet.ports[k])));
    let before = fleet.connections();
    let theirs = match measure(cmd, limit, dir, "compare-sslyze") {
        Ok(run) => run,
        Err(e) => {
            println!("sslyze unavailable: {e}");
            return Ok(());
        }
    };
    let their_conns = fleet.connections() - before;
    let (completed, total) = sslyze_results(&json_out);
    println!(
        "{:>8} {:>9.2} {:>9} {:>12} {:>9}  {completed} of {total} scans completed (--starttls smtp --certinfo, --mozilla_config disable)",
        "sslyze",
        theirs.wall.as_secs_f64(),
        mib(theirs.peak_rss_kib),
        their_conns,
        theirs.exit(),
    );
    if theirs.status.is_none_or(|s| !s.success()) {
        let tail = theirs.stderr_tail();
        if !tail.is_empty() {
            println!("  sslyze stderr: {}", tail.replace('\n', "\n  "));
        }
    }
    let ours_s = ours.wall.as_secs_f64();
    if ours_s > 0.0 {
        println!(
            "ratio: sslyze took {:.1}× the wall time of smtptls",
            theirs.wall.as_secs_f64() / ours_s
        );
    }
    println!(
        "(smtptls also does DNS (MX, A/AAAA, MTA-STS, TLS-RPT) per domain; sslyze gets host:port{{ip}} \
         and resolves nothing; connections = what the lab servers accepted, refused endpoints excluded)"
    );
    Ok(())
}

/// `(completed, total)` server scans in sslyze's `--json_out`.
fn sslyze_results(path: &Path) -> (usize, usize) {
    let Ok(file) = File::open(path) else {
        return (0, 0);
    };
    let Ok(doc) = serde_json::from_reader::<_, serde_json::Value>(BufReader::new(file)) else {
        return (0, 0);
    };
    let scans = doc["server_scan_results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let completed = scans
        .iter()
        .filter(|s| s["scan_status"] == "COMPLETED")
        .count();
    (completed, scans.len())
}
