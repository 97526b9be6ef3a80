//! Per-probe latency benchmark: one SMTP dialogue (banner, EHLO, STARTTLS,
//! TLS handshake, EHLO, QUIT) by `smtptls check --scan off`, next to
//! `posttls-finger` against the same server.
//!
//! For each server (`BENCH_SERVERS`, `label=ADDR:PORT`, e.g. a Postfix on
//! 127.0.77.1:25 and an Exim on 127.0.77.2:25 that `scripts/bench` starts) and for the in-process lab
//! SMTP server (label `lab`, always there), it prints:
//!
//! - **in one process**: one `smtptls` run over N domains whose MX hosts
//!   are all distinct names for that address (so deduplication does not
//!   merge them), `--concurrency 1`: the probes run one after another. The
//!   per-probe figures are the probes' own `timings_ms.total` (median, p90,
//!   max), and the phase medians show where the time goes;
//! - **one process per probe**: N runs of `smtptls check` on one domain,
//!   whole-process wall time (start-up, DNS and report included);
//! - **posttls-finger**: N runs of `posttls-finger -c -l may "[ADDR]:PORT"`
//!   (STARTTLS, EHLO again, QUIT; no DNS), whole-process wall time,
//!   interleaved run by run with the previous column so that a machine
//!   whose speed drifts affects both alike.
//!
//! Environment (all optional):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BENCH_PROBES` | 50 | N, probes per column |
//! | `BENCH_SERVERS` | — | `label=ADDR:PORT …`, loopback addresses only |
//! | `BENCH_POSTTLS_FINGER` | `posttls-finger` on PATH, else `/usr/sbin/posttls-finger` | the yardstick; absent: that column says so |
//! | `BENCH_BIN` | `target/release/smtptls` | binary under test |
//!
//! Timings are printed, never asserted: this is not a test.

#[path = "../tests/lab/mod.rs"]
mod lab;
#[path = "support/mod.rs"]
mod support;

use support::{binary_path, env_string};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::dns::ZoneBuilder;
use lab::pki::{LeafSpec, TestPki};
use lab::smtp::{Behaviour, SmtpServer};

fn main() {
    let invoked_as_bench = std::env::args().any(|a| a == "--bench");
    if !invoked_as_bench && std::env::var_os("BENCH_PROBES").is_none() {
        println!("latency benchmark: run it with scripts/bench or `cargo bench --bench latency`");
        return;
    }
    if let Err(message) = run() {
        eprintln!("latency bench: {message}");
        std::process::exit(1);
    }
}

struct Target {
    label: String,
    addr: SocketAddr,
}

fn targets() -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    for item in env_string("BENCH_SERVERS")
        .unwrap_or_default()
        .split_whitespace()
    {
        let (label, addr) = item
            .split_once('=')
            .ok_or_else(|| format!("BENCH_SERVERS: {item:?} is not label=ADDR:PORT"))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("BENCH_SERVERS: {addr:?} is not ADDR:PORT"))?;
        // Never aim the bench at anything but this machine.
        if !addr.ip().is_loopback() {
            return Err(format!("BENCH_SERVERS: {addr} is not a loopback address"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric()) || label.is_empty() {
            return Err(format!(
                "BENCH_SERVERS: label {label:?} must be letters and digits"
            ));
        }
        out.push(Target {
            label: label.to_ascii_lowercase(),
            addr,
        });
    }
    Ok(out)
}

fn posttls_finger() -> Option<PathBuf> {
    if let Some(p) = env_string("BENCH_POSTTLS_FINGER") {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("posttls-finger"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = PathBuf::from("/usr/sbin/posttls-finger");
        p.is_file().then_some(p)
    })
}

fn domain(label: &str, i: usize) -> String {
    format!("d{i}.{label}.test")
}

fn mx(label: &str, i: usize) -> String {
    format!("mx{i}.{label}.test")
}

fn run() -> Result<(), String> {
    let n: usize = match env_string("BENCH_PROBES") {
        None => 50,
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| format!("BENCH_PROBES={s:?}: expected 1 to 10000"))?,
    };
    let bin = binary_path();
    if !bin.is_file() {
        return Err(format!(
            "{} not found: build it first (cargo build --release --locked)",
            bin.display()
        ));
    }
    let finger = posttls_finger();
    let mut targets = targets()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let pki = TestPki::new();
    let lab_server = runtime.block_on(SmtpServer::start(Behaviour::good(
        "mx0.lab.test",
        pki.leaf(&LeafSpec::valid_for("mx0.lab.test")),
    )));
    targets.push(Target {
        label: "lab".into(),
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), lab_server.port()),
    });
    let mut zone = ZoneBuilder::new();
    for t in &targets {
        let IpAddr::V4(ip) = t.addr.ip() else {
            return Err(format!("{}: IPv4 loopback addresses only", t.addr));
        };
        for i in 0..n {
            zone = zone
                .a(&mx(&t.label, i), ip)
                .mx(&domain(&t.label, i), 10, &mx(&t.label, i));
        }
    }
    let dns = runtime.block_on(zone.start());
    let dir = tempfile::Builder::new()
        .prefix("smtptls-latency-")
        .tempdir()
        .map_err(|e| format!("cannot make a temp dir: {e}"))?;

    if env_string("BENCH_HOLD").is_some() {
        // For working on the prober: the lab stays up until killed.
        for t in &targets {
            println!(
                "hold: {} d0.{}.test … d{}.{}.test --resolver {} --dnssec trust-resolver --allow-local-addresses --port {}",
                t.label,
                t.label,
                n - 1,
                t.label,
                dns.resolver_arg(),
                t.addr.port()
            );
        }
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    println!(
        "per-probe latency: N = {n} probes per column, --scan off, STARTTLS + TLS + EHLO + QUIT"
    );
    println!("binary: {}", bin.display());
    match &finger {
        Some(p) => println!("yardstick: {} -c -l may \"[ADDR]:PORT\"", p.display()),
        None => println!("yardstick: posttls-finger not found (install the postfix package)"),
    }
    for t in &targets {
        let common = |cmd: &mut Command| {
            cmd.args(["check", "--scan", "off", "--quiet", "--format", "ndjson"])
                .args([
                    "--resolver",
                    &dns.resolver_arg(),
                    "--dnssec",
                    "trust-resolver",
                ])
                .args([
                    "--allow-local-addresses",
                    "--timeout",
                    "5",
                    "--banner-timeout",
                    "5",
                ])
                .args([
                    "--ehlo-name",
                    "client.smtptls.test",
                    "--fail-below",
                    "error",
                ])
                .args(["--port", &t.addr.port().to_string()]);
        };
        println!();
        println!("== {} ({})", t.label, t.addr);

        // In one process, probes one after another.
        let list = dir.path().join(format!("{}.txt", t.label));
        let text: String = (0..n).map(|i| domain(&t.label, i) + "\n").collect();
        std::fs::write(&list, text).map_err(|e| format!("cannot write {}: {e}", list.display()))?;
        let mut cmd = Command::new(&bin);
        common(&mut cmd);
        cmd.args(["--concurrency", "1", "--file"]).arg(&list);
        let started = Instant::now();
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let in_process = started.elapsed();
        let phases = Phases::read(&String::from_utf8_lossy(&out.stdout));

        // One process per probe, interleaved with posttls-finger.
        let mut per_process = Vec::with_capacity(n);
        let mut fingers = Vec::with_capacity(n);
        let mut finger_failed = 0;
        for i in 0..n {
            let mut cmd = Command::new(&bin);
            common(&mut cmd);
            cmd.arg(domain(&t.label, i));
            per_process.push(wall_of(cmd)?.0);
            if let Some(p) = &finger {
                let mut cmd = Command::new(p);
                cmd.args(["-c", "-l", "may"])
                    .arg(format!("[{}]:{}", t.addr.ip(), t.addr.port()));
                let (wall, ok) = wall_of(cmd)?;
                fingers.push(wall);
                finger_failed += usize::from(!ok);
            }
        }

        println!("{:<44} {:>8} {:>8} {:>8}", "ms", "median", "p90", "max");
        row(
            "smtptls, one process, per probe (timings_ms.total)",
            &phases.total,
        );
        println!(
            "{:<44} {:>8.2}",
            "smtptls, one process, wall ÷ N",
            in_process.as_secs_f64() * 1000.0 / n as f64
        );
        row("smtptls, one process per probe (wall)", &ms(&per_process));
        if finger.is_some() {
            row(
                "posttls-finger, one process per probe (wall)",
                &ms(&fingers),
            );
            if finger_failed > 0 {
                println!("  ({finger_failed} posttls-finger runs exited non-zero)");
            }
            let (a, b) = (median(&phases.total), median(&ms(&fingers)));
            let c = median(&ms(&per_process));
            if b > 0.0 {
                println!(
                    "ratio to posttls-finger (medians): per probe in one process {:.2}×, one process per probe {:.2}×",
                    a / b,
                    c / b
                );
            }
        }
        println!(
            "phase medians (max), ms: connect {}, banner {}, ehlo {}, starttls {}, tls_handshake {}, ehlo_after_tls {}",
            med_max(&phases.connect),
            med_max(&phases.banner),
            med_max(&phases.ehlo),
            med_max(&phases.starttls),
            med_max(&phases.tls_handshake),
            med_max(&phases.ehlo_after_tls)
        );
        println!(
            "probes read: {} of {n} (verdicts: {})",
            phases.total.len(),
            phases.verdicts
        );
    }
    drop(dns);
    drop(lab_server);
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

/// Wall time of a child run to completion, output discarded, and whether
/// it exited 0.
fn wall_of(mut cmd: Command) -> Result<(Duration, bool), String> {
    let started = Instant::now();
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    Ok((started.elapsed(), status.success()))
}

fn ms(d: &[Duration]) -> Vec<f64> {
    d.iter().map(|d| d.as_secs_f64() * 1000.0).collect()
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let v = sorted(v);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn row(label: &str, v: &[f64]) {
    let max = sorted(v).last().copied().unwrap_or(f64::NAN);
    println!(
        "{label:<44} {:>8.2} {:>8.2} {:>8.2}",
        median(v),
        quantile(v, 0.9),
        max
    );
}

fn med_max(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let max = sorted(v).last().copied().unwrap_or(f64::NAN);
    format!("{:.0} ({max:.0})", median(v))
}

/// The `timings_ms` of every address of an NDJSON report.
#[derive(Default)]
struct Phases {
    total: Vec<f64>,
    connect: Vec<f64>,
    banner: Vec<f64>,
    ehlo: Vec<f64>,
    starttls: Vec<f64>,
    tls_handshake: Vec<f64>,
    ehlo_after_tls: Vec<f64>,
    verdicts: String,
}

impl Phases {
    fn read(ndjson: &str) -> Phases {
        let mut p = Phases::default();
        let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
        for line in ndjson.lines() {
            let Ok(row) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(v) = row["verdict"].as_str() {
                *verdicts.entry(v.to_string()).or_default() += 1;
            }
            let addresses = row["mx"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|mx| mx["addresses"].as_array().into_iter().flatten());
            for a in addresses {
                let t = &a["timings_ms"];
                let take = |key: &str, into: &mut Vec<f64>| {
                    if let Some(v) = t[key].as_f64() {
                        into.push(v);
                    }
                };
                take("total", &mut p.total);
                take("connect", &mut p.connect);
                take("banner", &mut p.banner);
                take("ehlo", &mut p.ehlo);
                take("starttls", &mut p.starttls);
                take("tls_handshake", &mut p.tls_handshake);
                take("ehlo_after_tls", &mut p.ehlo_after_tls);
            }
        }
        p.verdicts = verdicts
            .iter()
            .map(|(v, n)| format!("{v} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        p
    }
}
