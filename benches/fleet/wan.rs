//! The WAN benchmark (`BENCH_MODE=wan`) and its server side
//! (`BENCH_MODE=lab-serve`).
//!
//! `scripts/bench wan` makes a network namespace joined to this one by a
//! veth pair, with `tc netem` delay and loss on both ends (so that only
//! traffic over that pair is slowed), and passes its name and address in
//! `BENCH_WAN_NETNS` / `BENCH_WAN_ADDR`. This bench then starts itself
//! again inside the namespace (`ip netns exec`) as `lab-serve`: the fleet
//! lab (DNS and SMTP endpoints) listening on the namespace's address,
//! which prints the arguments that aim smtptls at it and then answers
//! `counts` on stdin with the connections each endpoint accepted. The
//! smtptls release binary runs here, in the root namespace, so every DNS
//! question and every connection crosses the delayed, lossy link.
//!
//! For each run it prints wall time, the connections smtptls attempted
//! and the lab accepted, the ideal time, and wall ÷ ideal. The ideal is
//! the longest chain of round trips the run's own connections force,
//! computed from the counts: see [`ideal`].

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::{
    Capabilities, Config, Kind, Outcome, capabilities, kind_of, measure, mib, plan_domains,
    remaining, secs, start_fleet,
};

/// Round trips of one connection, from the client's side, on a path with
/// no loss and servers that answer at once (each figure is what the
/// dialogue cannot do in fewer):
/// TCP connect and the 220 banner: 2 (the banner leaves when the server
/// accepts, after the third packet of the handshake); each command and its
/// reply: 1 (EHLO, STARTTLS, QUIT); a TLS 1.3 handshake: 1 (the client's
/// Finished travels with the EHLO that follows it).
const RT_CONNECT_BANNER: u32 = 2;
/// The main probe or the injection test on a STARTTLS server: connect and
/// banner, EHLO, STARTTLS, handshake, EHLO, QUIT.
const RT_FULL_DIALOGUE: u32 = RT_CONNECT_BANNER + 5;
/// A scan hello: connect and banner, EHLO, STARTTLS, the hello and the
/// server's first flight; then the connection is dropped.
const RT_SCAN_HELLO: u32 = RT_CONNECT_BANNER + 3;
/// No STARTTLS offered: connect and banner, EHLO, QUIT.
const RT_NO_STARTTLS: u32 = RT_CONNECT_BANNER + 2;
/// A 421 banner: connect and banner, QUIT.
const RT_BUSY: u32 = RT_CONNECT_BANNER + 1;
/// DNS before a domain's first connection: its MX, then the MX host's
/// address (the lab zone is unsigned: no TLSA lookup).
const RT_DNS_LEAD: u32 = 2;
/// The least a domain whose MX host is already observed costs: its MX
/// question, then the `_mta-sts` and `_smtp._tls` TXT questions (in
/// parallel with each other).
const RT_DOMAIN_MIN: u32 = 2;

/// What `lab-serve` prints first: how to reach the lab.
#[derive(serde::Serialize, serde::Deserialize)]
struct LabInfo {
    /// smtptls arguments: resolver, CA file, timeouts, `--connect-to`s.
    args: Vec<String>,
}

/// `BENCH_MODE=lab-serve`: the fleet on `BENCH_LAB_ADDR` until stdin
/// closes. Runs inside the namespace, started by [`wan_runs`].
pub(super) fn lab_serve(config: &Config) -> Result<(), String> {
    let ip: Ipv4Addr = super::env_string("BENCH_LAB_ADDR")
        .ok_or("lab-serve needs BENCH_LAB_ADDR")?
        .parse()
        .map_err(|_| "BENCH_LAB_ADDR is not an IPv4 address".to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let fleet = runtime.block_on(start_fleet(config, ip));
    let caps = Capabilities {
        file: true,
        quiet: true,
        deadline: true,
        concurrency: true,
        allow_local: false,
    };
    let info = LabInfo {
        args: fleet.args(&caps),
    };
    let mut out = std::io::stdout().lock();
    let line = serde_json::to_string(&info).map_err(|e| e.to_string())?;
    writeln!(out, "{line}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    // The servers run on the runtime's threads; this thread only answers.
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "counts" {
            let counts: Vec<usize> = fleet
                .server_of
                .iter()
                .map(|slot| slot.map_or(0, |i| fleet.lab.servers[i].1.connections()))
                .collect();
            let text = serde_json::to_string(&counts).map_err(|e| e.to_string())?;
            writeln!(out, "{text}").map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
        }
    }
    drop(fleet);
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

/// The `lab-serve` child, in the namespace.
struct LabChild {
    child: Child,
    /// Taken (closed) on drop: that is the child's signal to stop.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl LabChild {
    fn counts(&mut self) -> Result<Vec<usize>, String> {
        let stdin = self.stdin.as_mut().ok_or("lab-serve: stdin closed")?;
        writeln!(stdin, "counts").map_err(|e| format!("lab-serve: {e}"))?;
        stdin.flush().map_err(|e| format!("lab-serve: {e}"))?;
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .map_err(|e| format!("lab-serve: {e}"))?;
        serde_json::from_str(&line).map_err(|e| format!("lab-serve answered {line:?}: {e}"))
    }
}

impl Drop for LabChild {
    fn drop(&mut self) {
        // Closing stdin ends it; kill (our own child, by its handle) only
        // if it does not go within 5 s.
        drop(self.stdin.take());
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The knobs of `BENCH_MODE=wan`.
struct WanConfig {
    netns: String,
    addr: Ipv4Addr,
    rtt: Duration,
    loss: String,
    scans: Vec<String>,
    /// `None`: the binary's default.
    concurrency: Vec<Option<u16>>,
    per_address: Vec<Option<u16>>,
}

fn optional_list(name: &str) -> Result<Vec<Option<u16>>, String> {
    let Some(list) = super::env_string(name) else {
        return Ok(vec![None]);
    };
    list.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "default" => Ok(None),
            _ => match s.parse::<u16>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err(format!("{name}: {s:?} is neither `default` nor 1–65535")),
            },
        })
        .collect()
}

impl WanConfig {
    fn from_env() -> Result<Self, String> {
        let netns = super::env_string("BENCH_WAN_NETNS")
            .ok_or("BENCH_MODE=wan needs BENCH_WAN_NETNS and BENCH_WAN_ADDR (scripts/bench wan makes the namespace)")?;
        let addr = super::env_string("BENCH_WAN_ADDR")
            .ok_or("BENCH_MODE=wan needs BENCH_WAN_ADDR")?
            .parse()
            .map_err(|_| "BENCH_WAN_ADDR is not an IPv4 address".to_string())?;
        let rtt_ms: u64 = super::env_num("BENCH_WAN_RTT_MS", 50, 0, 10_000)?;
        let scans: Vec<String> = super::env_string("BENCH_WAN_SCANS")
            .unwrap_or_else(|| "light off".into())
            .split_whitespace()
            .map(str::to_string)
            .collect();
        for s in &scans {
            if !["light", "off", "deep"].contains(&s.as_str()) {
                return Err(format!("BENCH_WAN_SCANS: {s:?} is not a --scan mode"));
            }
        }
        Ok(WanConfig {
            netns,
            addr,
            rtt: Duration::from_millis(rtt_ms),
            loss: super::env_string("BENCH_WAN_LOSS").unwrap_or_else(|| "1".into()),
            scans,
            concurrency: optional_list("BENCH_WAN_CONCURRENCY")?,
            per_address: optional_list("BENCH_WAN_PER_ADDRESS")?,
        })
    }
}

/// The smtptls defaults, read from `check --help` so that the ideal uses
/// the run's real `--per-address` when the bench does not pass one.
fn default_of(bin: &Path, flag: &str) -> Option<u16> {
    let out = Command::new(bin).args(["check", "--help"]).output().ok()?;
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let at = help.find(&format!("{flag} <N>"))?;
    let rest = &help[at..];
    let d = rest.find("[default: ")?;
    rest[d + 10..]
        .split(']')
        .next()
        .and_then(|n| n.trim().parse().ok())
}

/// The ideal time of a run, from the connections each endpoint accepted:
///
/// - per endpoint with `c` connections: its main probe (the scan and the
///   injection test need its result), then the other `c − 1` connections
///   (one injection test, the rest scan hellos) spread over
///   `--per-address` lanes, longest first (LPT); each connection costs
///   its dialogue's round trips (the `RT_*` constants), plus the
///   endpoint's greeting delay; the domain's DNS lead-in (MX, then the
///   host's A) comes first. The longest such chain is what the
///   per-address limit forces.
/// - no run is shorter than that chain, however high `--concurrency`.
///
/// Loss is not in it (a lost SYN costs a 1 s retransmission timeout, a
/// lost segment at least 200 ms): wall ÷ ideal shows what loss, the
/// concurrency limit and the engine's own order cost together.
fn ideal(
    kinds: &[Kind],
    conns: &[usize],
    per_address: usize,
    rtt: Duration,
    slow: Duration,
) -> (Duration, usize) {
    let mut longest = Duration::ZERO;
    let mut at = 0;
    for (k, (&kind, &c)) in kinds.iter().zip(conns).enumerate() {
        if c == 0 {
            continue;
        }
        let greeting = if kind == Kind::Slow {
            slow
        } else {
            Duration::ZERO
        };
        let (first, rest): (u32, Vec<u32>) = match kind {
            Kind::Good | Kind::Slow => {
                let extra = c - 1;
                // One injection test (a full dialogue), the rest hellos.
                let mut rest = Vec::with_capacity(extra);
                if extra > 0 {
                    rest.push(RT_FULL_DIALOGUE);
                }
                rest.extend(std::iter::repeat_n(RT_SCAN_HELLO, extra.saturating_sub(1)));
                (RT_FULL_DIALOGUE, rest)
            }
            Kind::NoStartTls => (RT_NO_STARTTLS, vec![RT_NO_STARTTLS; c - 1]),
            Kind::Busy421 => (RT_BUSY, vec![RT_BUSY; c - 1]),
            Kind::Refused => (1, Vec::new()),
        };
        let lanes = per_address.max(1);
        let mut load = vec![Duration::ZERO; lanes];
        // Longest first onto the least loaded lane.
        let mut rest = rest;
        rest.sort_unstable_by(|a, b| b.cmp(a));
        for r in rest {
            if let Some(lane) = load.iter_mut().min() {
                *lane += rtt * r + greeting;
            }
        }
        let chain =
            rtt * (RT_DNS_LEAD + first) + greeting + load.iter().copied().max().unwrap_or_default();
        if chain > longest {
            longest = chain;
            at = k;
        }
    }
    (longest, at)
}

/// `BENCH_MODE=wan`: the lab in the namespace, smtptls here, once per
/// scan mode × `--concurrency` × `--per-address`.
pub(super) fn wan_runs(config: &Config, dir: &Path, started: Instant) -> Result<(), String> {
    let wan = WanConfig::from_env()?;
    let caps = capabilities(&config.bin)?;
    let m = config.endpoints;
    let plan = plan_domains(config.domains, m, config.second_mx_percent, config.seed);
    let kinds: Vec<Kind> = (0..m).map(|k| kind_of(k, m)).collect();
    let list = dir.join("wan-domains.txt");
    let text: String = plan.iter().map(|d| format!("{}\n", d.name)).collect();
    std::fs::write(&list, text).map_err(|e| format!("cannot write the domain list: {e}"))?;

    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let setup = Instant::now();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &wan.netns])
        .arg(&exe)
        .env("BENCH_MODE", "lab-serve")
        .env("BENCH_LAB_ADDR", wan.addr.to_string())
        .env("BENCH_DOMAINS", config.domains.to_string())
        .env("BENCH_ENDPOINTS", m.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start `ip netns exec {}`: {e}", wan.netns))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err("lab-serve: no pipes".into());
    };
    let mut lab = LabChild {
        child,
        stdin: Some(stdin),
        stdout: BufReader::new(stdout),
    };
    let mut first = String::new();
    lab.stdout
        .read_line(&mut first)
        .map_err(|e| format!("lab-serve: {e}"))?;
    let info: LabInfo = serde_json::from_str(&first)
        .map_err(|e| format!("lab-serve did not start (it said {first:?}): {e}"))?;
    let mut lab_args = info.args;
    if caps.allow_local {
        // Not needed (the namespace's address is not local), harmless.
        lab_args.retain(|a| a != "--allow-local-addresses");
    }
    let default_c = default_of(&config.bin, "--concurrency");
    let default_p = default_of(&config.bin, "--per-address");

    println!();
    println!("smtptls WAN benchmark");
    println!("  binary      {}", config.bin.display());
    println!(
        "  path        namespace {} at {}: {} ms round trip, {} % loss (half each way), by {}",
        wan.netns,
        wan.addr,
        wan.rtt.as_millis(),
        wan.loss,
        super::env_string("BENCH_WAN_PATH").unwrap_or_else(|| "netem (scripts/bench wan)".into())
    );
    println!(
        "  lab         {} domains ({} MX records) over {m} MX hosts in the namespace, started in {:.1} s; slow = {} ms greeting",
        plan.len(),
        plan.iter().map(|d| d.mx.len()).sum::<usize>(),
        setup.elapsed().as_secs_f64(),
        config.slow.as_millis()
    );
    println!(
        "  defaults    --concurrency {}, --per-address {} (this binary's)",
        default_c.map_or("?".into(), |c| c.to_string()),
        default_p.map_or("?".into(), |p| p.to_string())
    );
    println!();
    println!(
        "{:>6} {:>5} {:>4} {:>8} {:>7} {:>8} {:>9} {:>8} {:>8} {:>8} {:>9} {:>10} {:>10} {:>5}",
        "scan",
        "conc",
        "p/a",
        "wall s",
        "probes",
        "accepted",
        "max/addr",
        "ideal s",
        "wall/id",
        "floor s",
        "peak MiB",
        "cpu ms/dom",
        "cpu ms/conn",
        "exit"
    );
    let mut notes = Vec::new();
    for scan in &wan.scans {
        for &c in &wan.concurrency {
            for &p in &wan.per_address {
                let Some(limit) = remaining(config, started) else {
                    println!("(BENCH_TIME_LIMIT_SECS reached: no more runs)");
                    return Ok(());
                };
                let mut cmd = Command::new(&config.bin);
                cmd.env("NO_COLOR", "1")
                    .args(["check", "--format", "json", "--quiet", "--scan", scan])
                    .arg("--file")
                    .arg(&list)
                    .args(&lab_args);
                if let Some(c) = c {
                    cmd.args(["--concurrency", &c.to_string()]);
                }
                if let Some(p) = p {
                    cmd.args(["--per-address", &p.to_string()]);
                }
                let secs_left = limit
                    .saturating_sub(Duration::from_secs(5))
                    .as_secs()
                    .max(1);
                cmd.args(["--deadline", &secs_left.to_string()]);
                let before = lab.counts()?;
                let tag = format!("wan-{scan}-c{}-p{}", opt(c), opt(p));
                let run = measure(cmd, limit, dir, &tag)?;
                let after = lab.counts()?;
                let conns: Vec<usize> = after
                    .iter()
                    .zip(&before)
                    .map(|(a, b)| a.saturating_sub(*b))
                    .collect();
                let accepted: usize = conns.iter().sum();
                let max_per_addr = conns.iter().copied().max().unwrap_or(0);
                let outcome = Outcome::read(&run.stdout);
                let per_address = p.or(default_p).unwrap_or(2) as usize;
                let concurrency = c.or(default_c).unwrap_or(16) as usize;
                let (ideal, at) = ideal(&kinds, &conns, per_address, wan.rtt, config.slow);
                // What --concurrency alone allows: every domain costs at
                // least its own DNS round trips, C at a time.
                let floor = wan.rtt * RT_DOMAIN_MIN * plan.len() as u32 / concurrency as u32;
                let ratio = if ideal.is_zero() {
                    "-".into()
                } else {
                    format!("{:.2}", run.wall.as_secs_f64() / ideal.as_secs_f64())
                };
                let cpu_ms = run.cpu.map(|c| c.as_secs_f64() * 1000.0);
                println!(
                    "{:>6} {:>5} {:>4} {:>8.2} {:>7} {:>8} {:>9} {:>8.2} {:>8} {:>8.2} {:>9} {:>10} {:>10} {:>5}",
                    scan,
                    concurrency,
                    per_address,
                    run.wall.as_secs_f64(),
                    outcome.probes.map_or("?".into(), |p| p.to_string()),
                    accepted,
                    max_per_addr,
                    ideal.as_secs_f64(),
                    ratio,
                    floor.as_secs_f64(),
                    mib(run.peak_rss_kib),
                    cpu_ms.map_or("?".into(), |c| format!("{:.3}", c / plan.len() as f64)),
                    cpu_ms.map_or("?".into(), |c| if accepted > 0 {
                        format!("{:.2}", c / accepted as f64)
                    } else {
                        "-".into()
                    }),
                    run.exit()
                );
                notes.push(format!(
                    "  {tag}: {} of {} domains reported: {}; longest chain at mx{at}.fleet.test ({}, {} connections); cpu {} s",
                    outcome.domains,
                    plan.len(),
                    outcome.verdicts(),
                    kinds[at].label(),
                    conns[at],
                    secs(run.cpu)
                ));
                if !outcome.errors.is_empty() {
                    notes.push(format!("    errors by cause: {}", outcome.errors()));
                }
                if outcome.domains != plan.len() {
                    notes.push(format!(
                        "    stderr: {}",
                        run.stderr_tail().replace('\n', "\n    ")
                    ));
                }
            }
        }
    }
    println!();
    for note in notes {
        println!("{note}");
    }
    println!(
        "probes = smtptls's summary.probes (connections it attempted, refused ones included); accepted = connections the lab accepted; \
         max/addr = most accepted by one endpoint; ideal = the longest chain of round trips the per-address limit forces (DNS lead-in, \
         the main probe, then the other connections over --per-address lanes; no loss); floor = {RT_DOMAIN_MIN} round trips per domain ÷ --concurrency; \
         cpu = smtptls's user+system"
    );
    Ok(())
}

fn opt(v: Option<u16>) -> String {
    v.map_or_else(|| "default".into(), |v| v.to_string())
}
