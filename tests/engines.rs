//! The engine suite: `deploy/slurm/` run for real on a one-node Slurm
//! cluster against a lab of a few hundred domains, and held against one
//! process auditing the same list.
//!
//! The cluster (munged, slurmctld, slurmd on this machine) is started by
//! `tests/engines/run` (root; it installs `slurm-wlm` and `munge`), which
//! runs this file with `SLURM_CONF` and `SMTPTLS_ENGINES_DIR` set. Plain
//! `cargo test` lists these tests as ignored: they need that cluster. The
//! lab (DNS, SMTP servers, PKI) is the in-process one of `tests/lab/`;
//! every address is 127.0.0.1.

mod lab;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lab::pki::{LeafSpec, TestPki};
use lab::run::Lab;
use lab::scenario::{LabBuilder, good, good_with, plain, self_signed};
use lab::smtp::{Banner, Behaviour};
use serde_json::Value;
use smtptls::domain::DomainName;
use smtptls::input::Shard;

/// The array of the brief: 4 shards, 2 at a time (`--array=1-4%2`).
const SHARDS: u32 = 4;
const ARRAY: &str = "1-4%2";
/// Domains whose MX greets only after this long: they keep a task running
/// long enough to be cancelled in the middle, reliably.
/// Each of their connections waits this long; with `--scan off` an
/// address takes two (the main probe, then the injection test).
const SLOW: Duration = Duration::from_secs(3);
/// Slow domains per shard.
const SLOW_PER_SHARD: usize = 2;
/// Domains that share the providers' MX hosts (besides the slow ones).
const FLEET: usize = 300;

fn work_dir() -> PathBuf {
    PathBuf::from(std::env::var("SMTPTLS_ENGINES_DIR").unwrap_or_else(|_| {
        panic!("SMTPTLS_ENGINES_DIR is not set: run the engine suite with `sudo tests/engines/run`")
    }))
}

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/slurm")
        .join(file)
}

fn shard_of(domain: &str) -> u32 {
    let name: DomainName = domain.parse().expect("a lab domain name");
    (1..=SHARDS)
        .find(|&index| {
            Shard {
                index,
                count: SHARDS,
            }
            .contains(&name)
        })
        .expect("every name is in one shard")
}

fn expired(pki: &TestPki, host: &str) -> Behaviour {
    good_with(pki, host, |leaf| LeafSpec {
        not_after: time::OffsetDateTime::now_utc() - time::Duration::days(3),
        ..leaf
    })
}

fn wrong_name(pki: &TestPki, host: &str) -> Behaviour {
    good_with(pki, host, |leaf| LeafSpec {
        names: vec!["mx.elsewhere.test".to_string()],
        ..leaf
    })
}

fn slow(pki: &TestPki, host: &str) -> Behaviour {
    Behaviour {
        banner: Banner::Delayed(SLOW),
        ..good(pki, host)
    }
}

/// The lab of the suite and its domain list, in list order.
struct Fleet {
    lab: Lab,
    domains: Vec<String>,
    /// The slow domains' servers (index into `lab.servers`), by shard.
    slow_servers: BTreeMap<u32, Vec<usize>>,
}

/// 300 domains over ten provider MX hosts (secure, self-signed, expired,
/// wrong name, no STARTTLS: verdicts from secure to plaintext), every
/// fifteenth a null MX, and two slow domains per shard with their own MX.
async fn fleet() -> Fleet {
    let makers: [fn(&TestPki, &str) -> Behaviour; 10] = [
        good,
        good,
        good,
        good,
        good,
        good,
        self_signed,
        plain,
        expired,
        wrong_name,
    ];
    let mut builder = LabBuilder::new();
    for (p, make) in makers.iter().enumerate() {
        let host = format!("mx{p}.provider.test");
        builder = builder
            .zone(|zone| zone.a(&host, std::net::Ipv4Addr::LOCALHOST))
            .serve(&host, make);
    }
    let mut domains = Vec::new();
    for i in 0..FLEET {
        let domain = format!("d{i:03}.test");
        builder = if i % 15 == 0 {
            builder.zone(|zone| zone.mx(&domain, 0, "."))
        } else {
            let host = format!("mx{}.provider.test", i % makers.len());
            builder.zone(|zone| zone.mx(&domain, 10, &host))
        };
        domains.push(domain);
    }
    // Chosen by the documented hash so that every shard has its slow ones
    // whatever the names hash to.
    let mut slow_domains: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut n = 0;
    while slow_domains.values().map(Vec::len).sum::<usize>() < SLOW_PER_SHARD * SHARDS as usize {
        let domain = format!("slow{n}.test");
        n += 1;
        let list = slow_domains.entry(shard_of(&domain)).or_default();
        if list.len() < SLOW_PER_SHARD {
            list.push(domain);
        }
    }
    let mut slow_servers: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    let mut server = makers.len();
    for (shard, list) in &slow_domains {
        for domain in list {
            builder = builder.mx(domain, 10, &format!("mx.{domain}"), slow);
            slow_servers.entry(*shard).or_default().push(server);
            server += 1;
            domains.push(domain.clone());
        }
    }
    let mut lab = builder.start().await;
    // The slow servers greet after SLOW: well within this.
    lab.banner_timeout = "30";
    Fleet {
        lab,
        domains,
        slow_servers,
    }
}

impl Fleet {
    /// The audit arguments of every run: the lab's, and no scan: the
    /// scan's hellos would each wait for a slow server's greeting, one
    /// after another under `--per-address 1`, and what is proven here is
    /// the split and the merge, not the scan.
    fn args(&self) -> Vec<String> {
        let mut args = self.lab.args();
        args.extend(["--scan".to_string(), "off".to_string()]);
        args
    }
}

/// The list file and the args file (one argument per line) of a run.
struct Inputs {
    list: PathBuf,
    args: PathBuf,
}

fn write_inputs(dir: &Path, fleet: &Fleet) -> Inputs {
    std::fs::create_dir_all(dir).expect("work dir");
    let list = dir.join("domains.txt");
    let mut text = String::from("# the engine suite's lab domains\n");
    for d in &fleet.domains {
        text.push_str(d);
        text.push('\n');
    }
    std::fs::write(&list, text).expect("write list");
    let args = dir.join("smtptls.args");
    let mut text = String::from("# the lab's audit arguments, one per line\n");
    for a in fleet.args() {
        assert!(!a.contains('\n'), "an argument on one line: {a:?}");
        text.push_str(&a);
        text.push('\n');
    }
    std::fs::write(&args, text).expect("write args");
    Inputs { list, args }
}

/// Runs a command to its end without blocking the lab's runtime.
async fn run(program: &str, args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).env("NO_COLOR", "1").env("COLUMNS", "100");
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} did not finish within 120 s"))
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

fn smtptls_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_smtptls"))
}

/// The single-process run over the same list and arguments: its NDJSON
/// and exit code.
async fn single_run(dir: &Path, inputs: &Inputs, fleet: &Fleet) -> (PathBuf, i32) {
    let out = dir.join("single.ndjson");
    let list = inputs.list.display().to_string();
    let path = out.display().to_string();
    let mut args = vec![
        "check",
        "--file",
        &list,
        "--format",
        "ndjson",
        "--quiet",
        "--per-address",
        "1",
        "--output",
        &path,
    ];
    let lab_args = fleet.args();
    args.extend(lab_args.iter().map(String::as_str));
    let started = Instant::now();
    let output = run(&smtptls_bin().display().to_string(), &args, &[]).await;
    let code = output.status.code().unwrap_or(-1);
    println!(
        "single process: {} domains in {:.1} s, exit {code}",
        fleet.domains.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        code == 0 || code == 1,
        "single run: exit {code}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (out, code)
}

/// What the batch scripts read from the environment.
fn batch_env<'a>(inputs: &'a Inputs, out: &'a Path) -> Vec<(&'static str, &'a Path)> {
    vec![
        ("SMTPTLS", smtptls_bin()),
        ("SMTPTLS_LIST", &inputs.list),
        ("SMTPTLS_ARGS_FILE", &inputs.args),
        ("SMTPTLS_OUT", out),
        ("SMTPTLS_SHARDS", Path::new("4")),
    ]
}

/// `sbatch --parsable ARGS…`: the job id.
async fn sbatch(args: &[&str], env: &[(&str, &Path)]) -> String {
    let output = run("sbatch", &[&["--parsable"], args].concat(), env).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sbatch {args:?}: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    // "ID" or "ID;cluster"
    let id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "job id {stdout:?}"
    );
    id
}

/// One record of `scontrol show job -o`: an array task, a job, or the
/// pending rest of an array.
#[derive(Debug, Clone)]
struct JobRecord {
    /// `ID` or `ARRAYID_TASK` (or `ARRAYID_[3-4%2]` for pending tasks).
    name: String,
    state: String,
    exit_code: String,
}

const FINAL_STATES: &[&str] = &[
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
];

/// The records of job `id` (every task of an array). No sacct here: the
/// suite's cluster has no accounting database (slurmdbd needs MySQL), and
/// slurmctld keeps finished jobs for MinJobAge (600 s).
async fn job(id: &str) -> Vec<JobRecord> {
    let output = run("scontrol", &["show", "job", "-o", id], &[]).await;
    assert!(
        output.status.success(),
        "scontrol show job {id}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let field = |key: &str| {
                line.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(key))
                    .unwrap_or_default()
                    .to_string()
            };
            let array = field("ArrayJobId=");
            let task = field("ArrayTaskId=");
            let name = if array.is_empty() {
                field("JobId=")
            } else {
                format!("{array}_{task}")
            };
            JobRecord {
                name,
                state: field("JobState="),
                exit_code: field("ExitCode="),
            }
        })
        .collect()
}

/// Waits until every task of each job is in a final state; their records.
async fn wait_for_jobs(ids: &[&str], limit: Duration) -> Vec<JobRecord> {
    let started = Instant::now();
    loop {
        let mut records = Vec::new();
        for id in ids {
            records.extend(job(id).await);
        }
        if records
            .iter()
            .all(|r| FINAL_STATES.contains(&r.state.as_str()))
        {
            return records;
        }
        assert!(
            started.elapsed() < limit,
            "jobs {ids:?} not done after {limit:?}: {records:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn print_states(what: &str, records: &[JobRecord]) {
    println!("{what}:");
    for r in records {
        println!("  {:<12} {:<10} exit {}", r.name, r.state, r.exit_code);
    }
}

/// The rows of an NDJSON file.
fn rows(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

fn domain_of(row: &Value) -> String {
    row["domain"].as_str().unwrap_or_default().to_string()
}

/// A row the run did not finish (deadline, interrupt): `--resume` audits
/// its domain again.
fn unfinished(row: &Value) -> bool {
    row["error"]["phase"] == "run"
}

/// The attempt files of shard K, in the order they ran (job ids grow).
fn attempts(out: &Path, k: u32) -> Vec<PathBuf> {
    let dir = out.join(format!("shard-{k}-of-{SHARDS}"));
    // Not there yet: the task has not started.
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let id = name
                .strip_prefix("attempt-")?
                .strip_suffix(".ndjson")?
                .parse()
                .ok()?;
            Some((id, p))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// The merge job's results: its exit-code file, and `smtptls diff` of the
/// single run against the merged NDJSON (which must show no change).
async fn assert_merge_equals_single(
    out: &Path,
    merge: &JobRecord,
    single: &Path,
    single_code: i32,
    fleet: &Fleet,
) {
    let code = std::fs::read_to_string(out.join("exit-code")).expect("the merge's exit-code file");
    assert_eq!(
        code.trim(),
        single_code.to_string(),
        "the merged report's exit code is the single run's"
    );
    assert_eq!(
        merge.exit_code,
        format!("{single_code}:0"),
        "the merge job exits with it"
    );
    let page = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(page.contains("</html>"), "a whole page");

    let merged = out.join("merged.ndjson");
    let merged_rows = rows(&merged);
    let names: Vec<String> = merged_rows.iter().map(domain_of).collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "one merged row per domain");
    let expected: BTreeSet<&String> = fleet.domains.iter().collect();
    assert_eq!(unique, expected, "the merged report has every domain");
    assert!(
        !merged_rows.iter().any(unfinished),
        "no unfinished row is left in the merged report"
    );

    let (single_s, merged_s) = (single.display().to_string(), merged.display().to_string());
    let table = run(
        &smtptls_bin().display().to_string(),
        &["diff", &single_s, &merged_s],
        &[],
    )
    .await;
    println!(
        "smtptls diff single.ndjson merged.ndjson (exit {}):\n{}",
        table.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&table.stdout)
    );
    assert_eq!(
        table.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let json = run(
        &smtptls_bin().display().to_string(),
        &["diff", "--format", "json", &single_s, &merged_s],
        &[],
    )
    .await;
    assert_eq!(json.status.code(), Some(0));
    let diff: Value = serde_json::from_slice(&json.stdout).expect("diff JSON");
    let summary = &diff["summary"];
    assert_eq!(summary["compared"], fleet.domains.len(), "{summary}");
    for key in ["changed", "added", "removed", "regressions"] {
        assert_eq!(summary[key], 0, "{key}: {diff:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Slurm cluster of tests/engines/run"]
async fn an_array_of_four_two_at_a_time_equals_one_process() {
    let fleet = fleet().await;
    let dir = work_dir().join("array");
    let inputs = write_inputs(&dir, &fleet);
    let (single, single_code) = single_run(&dir, &inputs, &fleet).await;

    let out = dir.join("out");
    let env = batch_env(&inputs, &out);
    let log = format!("--output={}/%x-%A_%a.log", dir.display());
    let audit_script = deploy("audit.sbatch").display().to_string();
    let merge_script = deploy("merge.sbatch").display().to_string();
    let started = Instant::now();
    let audit = sbatch(&[&format!("--array={ARRAY}"), &log, &audit_script], &env).await;
    let merge = sbatch(
        &[
            &format!("--dependency=afterok:{audit}"),
            &log,
            &merge_script,
        ],
        &env,
    )
    .await;
    println!("audit array job {audit} (--array={ARRAY}), merge job {merge} (afterok:{audit})");
    let records = wait_for_jobs(&[&audit, &merge], Duration::from_secs(180)).await;
    println!("all done in {:.1} s", started.elapsed().as_secs_f64());
    print_states("task states (scontrol show job)", &records);

    let tasks: Vec<&JobRecord> = records
        .iter()
        .filter(|r| r.name.starts_with(&format!("{audit}_")))
        .collect();
    assert_eq!(tasks.len(), SHARDS as usize, "{records:#?}");
    for t in &tasks {
        assert_eq!(
            (t.state.as_str(), t.exit_code.as_str()),
            ("COMPLETED", "0:0"),
            "{t:?}"
        );
    }

    // Every domain exactly once across the task outputs, each in its shard.
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for k in 1..=SHARDS {
        let files = attempts(&out, k);
        assert_eq!(files.len(), 1, "one attempt for shard {k}: {files:?}");
        let shard_rows = rows(&files[0]);
        println!("shard {k}/{SHARDS}: {} domains", shard_rows.len());
        for row in &shard_rows {
            let name = domain_of(row);
            assert!(!unfinished(row), "{name} finished in shard {k}");
            assert_eq!(shard_of(&name), k, "{name} is in shard {k}'s output");
            assert!(seen.insert(name.clone(), k).is_none(), "{name} twice");
        }
    }
    let expected: BTreeSet<&String> = fleet.domains.iter().collect();
    assert_eq!(
        seen.keys().collect::<BTreeSet<_>>(),
        expected,
        "every domain once"
    );

    let merge_record = records
        .iter()
        .find(|r| r.name == merge)
        .expect("the merge job's record");
    assert_merge_equals_single(&out, merge_record, &single, single_code, &fleet).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Slurm cluster of tests/engines/run"]
async fn a_cancelled_task_resubmitted_resumes_and_completes_the_set() {
    let fleet = fleet().await;
    let dir = work_dir().join("cancel");
    let inputs = write_inputs(&dir, &fleet);
    let (single, single_code) = single_run(&dir, &inputs, &fleet).await;

    let out = dir.join("out");
    let env = batch_env(&inputs, &out);
    let log = format!("--output={}/%x-%A_%a.log", dir.display());
    let audit_script = deploy("audit.sbatch").display().to_string();
    let merge_script = deploy("merge.sbatch").display().to_string();
    // The slow servers of shard 1 have been greeted by the single run:
    // count only this array's connections.
    let slow = &fleet.slow_servers[&1];
    let connections = |lab: &Lab| -> usize {
        slow.iter()
            .map(|&i| lab.servers[i].1.connections())
            .sum::<usize>()
    };
    let before = connections(&fleet.lab);
    let audit = sbatch(&[&format!("--array={ARRAY}"), &log, &audit_script], &env).await;
    let task = format!("{audit}_1");
    println!("audit array job {audit} (--array={ARRAY}); cancelling {task} mid-run");

    // Mid-run: task 1 is running, has written rows, and is waiting for a
    // slow server's greeting (SLOW), so it cannot finish before the cancel.
    let started = Instant::now();
    let first_attempt = loop {
        let running = job(&task).await.iter().any(|r| r.state == "RUNNING");
        let written = attempts(&out, 1)
            .into_iter()
            .next()
            .filter(|f| std::fs::metadata(f).map(|m| m.len() > 0).unwrap_or(false));
        if running
            && connections(&fleet.lab) > before
            && let Some(f) = written
        {
            break f;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "task {task} did not reach its slow servers: {:?}",
            job(&task).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = run("scancel", &[&task], &[]).await;
    assert!(output.status.success(), "scancel {task}");
    let records = wait_for_jobs(&[&audit], Duration::from_secs(180)).await;
    print_states("task states after the cancel", &records);
    for r in &records {
        let want = if r.name == task {
            "CANCELLED"
        } else {
            "COMPLETED"
        };
        assert_eq!(r.state, want, "{r:?}");
    }

    // The cancelled attempt stopped short of its shard.
    let shard1: BTreeSet<String> = fleet
        .domains
        .iter()
        .filter(|d| shard_of(d) == 1)
        .cloned()
        .collect();
    let first_rows = rows(&first_attempt);
    let finished: BTreeSet<String> = first_rows
        .iter()
        .filter(|r| !unfinished(r))
        .map(domain_of)
        .collect();
    let interrupted = first_rows.iter().filter(|r| unfinished(r)).count();
    println!(
        "cancelled attempt: {} of {} shard-1 domains finished, {interrupted} row(s) marked unfinished",
        finished.len(),
        shard1.len()
    );
    assert!(finished.len() < shard1.len(), "the cancel was mid-run");

    // Resubmitted: the same script, the one index, N from SMTPTLS_SHARDS.
    let again = sbatch(&["--array=1", &log, &audit_script], &env).await;
    let merge = sbatch(
        &[
            &format!("--dependency=afterok:{again}"),
            &log,
            &merge_script,
        ],
        &env,
    )
    .await;
    println!("resubmitted shard 1 as job {again}, merge job {merge} (afterok:{again})");
    let records = wait_for_jobs(&[&again, &merge], Duration::from_secs(180)).await;
    print_states("task states after the resubmit", &records);
    let resumed = records
        .iter()
        .find(|r| r.name.starts_with(&format!("{again}_")))
        .expect("the resubmitted task");
    assert_eq!(resumed.state, "COMPLETED", "{resumed:?}");

    // The second attempt audited exactly what the first did not finish.
    let files = attempts(&out, 1);
    assert_eq!(files.len(), 2, "two attempts of shard 1: {files:?}");
    let second: BTreeSet<String> = rows(&files[1]).iter().map(domain_of).collect();
    let rest: BTreeSet<String> = shard1.difference(&finished).cloned().collect();
    println!(
        "resumed attempt: {} domains (shard 1 has {})",
        second.len(),
        shard1.len()
    );
    assert_eq!(second, rest, "--resume audits only what was left");
    for k in 1..=SHARDS {
        let n: usize = attempts(&out, k).iter().map(|f| rows(f).len()).sum();
        println!("shard {k}/{SHARDS}: {n} rows");
    }

    let merge_record = records
        .iter()
        .find(|r| r.name == merge)
        .expect("the merge job's record");
    assert_merge_equals_single(&out, merge_record, &single, single_code, &fleet).await;
}
