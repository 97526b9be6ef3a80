//! `smtptls report FILE…` against the lab: the saved rows of `check`
//! (shards, a resumed run, stdin) rendered as one run by `check`'s own
//! reporters, with `check`'s gate and exit codes; and `diff --old/--new`
//! and `policy --from` over several files by the same merging rule.

mod lab;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lab::run::{Lab, Run, smtptls, spawn_smtptls};
use lab::scenario::{LabBuilder, good, plain};
use lab::smtp::{Banner, Behaviour};
use serde_json::Value;

/// Input order.
const DOMAINS: [&str; 7] = [
    "tls.test",
    "tls2.test",
    "clear.test",
    "clear2.test",
    "gone.test",
    "null.test",
    "junk.test",
];

async fn lab() -> Lab {
    LabBuilder::new()
        .mx("tls.test", 10, "mx.tls.test", good)
        .mx("tls2.test", 10, "mx.tls2.test", good)
        .mx("clear.test", 10, "mx.clear.test", plain)
        .mx("clear2.test", 10, "mx.clear2.test", plain)
        .zone(|zone| zone.mx("null.test", 0, "."))
        .mx("junk.test", 10, "mx.junk.test", |_, mx| Behaviour {
            banner: Banner::Garbage,
            ..Behaviour::plain(mx)
        })
        .start()
        .await
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// `check --format FORMAT DOMAINS EXTRA… -o FILE`: the file.
async fn check_to(lab: &Lab, format: &str, extra: &[&str], file: &Path) {
    let mut extra = extra.to_vec();
    let out = arg(file);
    extra.extend(["-o", &out]);
    let run = lab
        .smtptls(&["check", "--format", format], &DOMAINS, &extra)
        .await;
    assert!(matches!(run.code, 0 | 1), "{run:?}");
}

/// `smtptls report ARGS…`.
async fn report(args: &[&str]) -> Run {
    smtptls(std::iter::once("report").chain(args.iter().copied())).await
}

/// A run of the whole list as NDJSON, and the same list as three shards.
struct Saved {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    single: PathBuf,
    shards: Vec<PathBuf>,
}

async fn saved(lab: &Lab) -> Saved {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().to_path_buf();
    let single = path.join("single.ndjson");
    check_to(lab, "ndjson", &[], &single).await;
    let mut shards = Vec::new();
    for k in 1..=3 {
        let shard = path.join(format!("shard-{k}.ndjson"));
        check_to(lab, "ndjson", &["--shard", &format!("{k}/3")], &shard).await;
        shards.push(shard);
    }
    let rows: usize = shards
        .iter()
        .map(|s| std::fs::read_to_string(s).expect("shard").lines().count())
        .sum();
    assert_eq!(rows, DOMAINS.len(), "every domain in exactly one shard");
    Saved {
        _dir: dir,
        dir: path,
        single,
        shards,
    }
}

/// The times of a run masked: `generated_at` (every output shows it),
/// the rows' `timings_ms` and the durations in messages ("connected in 4
/// ms": two runs never take the same time).
fn mask_json(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("generated_at");
            o.remove("timings_ms");
            // The files a report was merged from: the one setting that
            // says shards (checked on its own).
            o.remove("merged_from");
            o.values_mut().for_each(mask_json);
        }
        Value::Array(a) => a.iter_mut().for_each(mask_json),
        Value::String(text) => *text = mask_text(text),
        _ => {}
    }
}

/// "4 ms" → "N ms".
fn mask_ms(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(" ms") {
        let head = &rest[..at];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str(&head[..head.len() - digits]);
            out.push('N');
        } else {
            out.push_str(head);
        }
        out.push_str(" ms");
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

/// The first line where two outputs differ, for a readable failure.
fn assert_same(a: &str, b: &str, what: &str) {
    if a == b {
        return;
    }
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    panic!(
        "{what}: differ at line {}:\n  {:?}\n  {:?}",
        at + 1,
        la.get(at),
        lb.get(at)
    );
}

/// RFC 3339 times and the Prometheus run timestamp masked in text.
fn mask_text(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("smtptls_run_timestamp_seconds ") {
                return "smtptls_run_timestamp_seconds TIME".to_string();
            }
            // The page's "Merged from" setting lists the shards.
            let line = match line.split_once("<dt>Merged from</dt><dd>") {
                Some((head, tail)) => {
                    let rest = tail.split_once("</dd>").map_or("", |(_, r)| r);
                    format!("{head}<dt>Merged from</dt><dd>FILES</dd>{rest}")
                }
                None => line.to_string(),
            };
            let line = line.as_str();
            // 2025-06-01T12:00:00Z and 2025-06-01T12:00:00.123Z
            let b = line.as_bytes();
            let mut out = String::new();
            let mut i = 0;
            while i < b.len() {
                let is_time = b.len() - i >= 20
                    && b[i..i + 4].iter().all(u8::is_ascii_digit)
                    && b[i + 4] == b'-'
                    && b[i + 10] == b'T'
                    && b[i + 13] == b':';
                if is_time {
                    let mut j = i + 19;
                    while j < b.len() && (b[j] == b'.' || b[j].is_ascii_digit()) {
                        j += 1;
                    }
                    if j < b.len() && b[j] == b'Z' {
                        j += 1;
                    }
                    out.push_str("TIME");
                    i = j;
                } else {
                    let ch = line[i..].chars().next().unwrap_or(' ');
                    out.push(ch);
                    i += ch.len_utf8();
                }
            }
            mask_ms(&out)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// NDJSON lines as masked values, in domain order.
fn ndjson_rows(text: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("a JSON line");
            mask_json(&mut v);
            v
        })
        .collect();
    rows.sort_by_key(|v| v["domain"].as_str().unwrap_or_default().to_string());
    rows
}

/// The report of three shards is the report of one run: every format,
/// once the times are masked (the settings line is the same too here, as
/// every shard ran with the same flags); and the JSON equals `check
/// --format json`'s of the same list, but for the run's own counters and
/// the settings NDJSON rows do not carry.
#[tokio::test(flavor = "multi_thread")]
async fn three_shards_render_as_one_run() {
    let lab = lab().await;
    let saved = saved(&lab).await;
    let single = arg(&saved.single);
    let shards: Vec<String> = saved.shards.iter().map(|s| arg(s)).collect();

    for format in [
        "json",
        "table",
        "html",
        "junit",
        "csv",
        "prometheus",
        "ndjson",
    ] {
        let one = report(&["--format", format, &single]).await;
        let mut args = vec!["--format", format];
        args.extend(shards.iter().map(String::as_str));
        let three = report(&args).await;
        assert_eq!(one.code, 1, "{format}: below encrypted: {one:?}");
        assert_eq!(three.code, 1, "{format}: {three:?}");
        assert!(one.stderr.is_empty(), "{format}: {}", one.stderr);
        assert!(three.stderr.is_empty(), "{format}: {}", three.stderr);
        match format {
            "json" => {
                let (mut a, mut b) = (one.json(), three.json());
                // What differs: the files each was made from, in order.
                assert_eq!(a["settings"]["merged_from"], serde_json::json!([single]));
                assert_eq!(b["settings"]["merged_from"], serde_json::json!(shards));
                mask_json(&mut a);
                mask_json(&mut b);
                assert_same(
                    &serde_json::to_string_pretty(&a).unwrap_or_default(),
                    &serde_json::to_string_pretty(&b).unwrap_or_default(),
                    format,
                );
                assert_eq!(a["summary"]["domains"], DOMAINS.len());
            }
            "ndjson" => assert_eq!(ndjson_rows(&one.stdout), ndjson_rows(&three.stdout)),
            // Streamed in the order the rows were read: the series of a
            // family in another order are the same exposition.
            "prometheus" => {
                let sorted = |t: &str| {
                    let mut l: Vec<String> = mask_text(t).lines().map(str::to_string).collect();
                    l.sort();
                    l.join("\n")
                };
                assert_same(&sorted(&one.stdout), &sorted(&three.stdout), format)
            }
            "html" => {
                assert!(three.stdout.contains("<dt>Merged from</dt><dd>3 files: "));
                assert_same(&mask_text(&one.stdout), &mask_text(&three.stdout), format)
            }
            _ => assert_same(&mask_text(&one.stdout), &mask_text(&three.stdout), format),
        }
        // The rows of single and shard runs differ in their timings:
        // only masking makes them equal, so the comparison is not empty.
        assert!(!one.stdout.is_empty(), "{format}");
    }

    // And as `check` wrote it itself.
    let direct = lab.check_json(&DOMAINS, &[]).await;
    let mut direct = direct.json();
    let mut merged = report(&["--format", "json", &single]).await.json();
    for v in [&mut direct, &mut merged] {
        mask_json(v);
        let domains = v["domains"].as_array_mut().expect("domains");
        domains.sort_by_key(|d| d["domain"].as_str().unwrap_or_default().to_string());
        // The run's own counters are not in NDJSON rows.
        for counter in ["probes", "mx_reused", "dns_retries"] {
            v["summary"][counter] = Value::Null;
        }
    }
    assert_same(
        &serde_json::to_string_pretty(&direct["domains"]).unwrap_or_default(),
        &serde_json::to_string_pretty(&merged["domains"]).unwrap_or_default(),
        "check --format json",
    );
    assert_eq!(direct["summary"], merged["summary"]);
    for setting in ["port", "fail_below", "fail_level", "scan"] {
        assert_eq!(
            direct["settings"][setting], merged["settings"][setting],
            "{setting}"
        );
    }
    assert_eq!(direct["schema_version"], merged["schema_version"]);

    // The batch script's spellings: a page and a merged NDJSON to files.
    let page = saved.dir.join("fleet.html");
    let mut args = vec!["--format", "html", "-o"];
    let page_arg = arg(&page);
    args.push(&page_arg);
    args.extend(["--fail-below", "secure"]);
    args.extend(shards.iter().map(String::as_str));
    let run = report(&args).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty());
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(html.contains("smtptls check: 7 domains"), "{html}");
    let merged_file = saved.dir.join("merged.ndjson");
    let merged_arg = arg(&merged_file);
    let mut args = vec!["--format", "ndjson", "-o", &merged_arg];
    args.extend(shards.iter().map(String::as_str));
    assert_eq!(report(&args).await.code, 1);
    let text = std::fs::read_to_string(&merged_file).expect("merged");
    assert_eq!(
        ndjson_rows(&text),
        ndjson_rows(&std::fs::read_to_string(&saved.single).expect("single"))
    );
}

/// `diff --old SHARDS… --new ONE-RUN` finds no change; `policy --from`
/// over the shards writes the single run's policies.
#[tokio::test(flavor = "multi_thread")]
async fn diff_and_policy_read_several_files() {
    let lab = lab().await;
    let saved = saved(&lab).await;
    let single = arg(&saved.single);
    let shards: Vec<String> = saved.shards.iter().map(|s| arg(s)).collect();
    let mut args = vec!["diff", "--format", "json", "--old"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--new", &single]);
    let run = smtptls(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["summary"]["compared"], DOMAINS.len(), "{json}");
    assert_eq!(json["summary"]["changed"], 0, "{json}");
    // Positionals and --old do not mix.
    let run = smtptls(["diff", &single, &single, "--old", &single]).await;
    assert_eq!(run.code, 2, "{run:?}");

    let body = |run: &Run| -> Vec<String> {
        run.stdout
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let one = smtptls(["policy", "--format", "postfix", "--from", &single]).await;
    let mut args = vec!["policy", "--format", "postfix"];
    for s in &shards {
        args.extend(["--from", s.as_str()]);
    }
    let three = smtptls(&args).await;
    assert_eq!(one.code, 0, "{one:?}");
    assert_eq!(three.code, 0, "{three:?}");
    let (mut a, mut b) = (body(&one), body(&three));
    a.sort();
    b.sort();
    assert!(a.iter().any(|l| l.contains("tls.test")), "{a:?}");
    assert_eq!(a, b);
}

/// `--fail-below` and `--fail-level` decide the exit code as in `check`.
#[tokio::test(flavor = "multi_thread")]
async fn the_gate_decides_the_exit_code() {
    let lab = lab().await;
    let dir = tempfile::tempdir().expect("dir");
    let single = dir.path().join("single.ndjson");
    check_to(&lab, "ndjson", &[], &single).await;
    let single = arg(&single);
    for (args, code, below) in [
        (&["--fail-below", "error"][..], 0, 0),
        (&[], 1, 4),
        (&["--fail-below", "secure"], 1, 4),
        (&["--fail-below", "error", "--fail-level", "good"], 1, 0),
    ] {
        let mut all = vec!["--format", "json"];
        all.extend(args);
        all.push(&single);
        let run = report(&all).await;
        assert_eq!(run.code, code, "{args:?}: {run:?}");
        let json = run.json();
        assert_eq!(json["summary"]["below_threshold"], below, "{args:?}");
        assert_eq!(
            json["settings"]["fail_below"],
            args.get(1).copied().unwrap_or("encrypted"),
            "{args:?}"
        );
    }
}

/// Unreadable input exits 2, naming the file and the line, before any
/// output.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("dir");
    let good = row("a.test", None);
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, format!("{good}\n\nnot a row\n")).expect("write");
    for format in ["json", "ndjson"] {
        let run = report(&["--format", format, &arg(&bad)]).await;
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stdout.is_empty(), "{format}: {}", run.stdout);
        assert!(
            run.stderr
                .contains(&format!("{}:3: not a line of an NDJSON report", arg(&bad))),
            "{}",
            run.stderr
        );
    }
    let missing = dir.path().join("missing.ndjson");
    let run = report(&[&arg(&missing)]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.ndjson"), "{}", run.stderr);
    let run = report(&["-", "-"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("stdin (-) can be read once"),
        "{}",
        run.stderr
    );
    let run = report(&[]).await;
    assert_eq!(run.code, 2, "a FILE is required");
}

/// A row as `check` writes it, from the JSON of an empty one: `error`
/// phase `run` for an unfinished domain.
fn row(domain: &str, verdict_or_run: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "domain": domain, "verdict": "no-mail", "verdict_reason": "null MX",
        "mx_source": "null", "mx": [], "dnssec": "insecure", "mta_sts": null,
        "tls_rpt": null, "delivery": null, "findings": [], "error": null
    });
    match verdict_or_run {
        Some("run") => {
            v["verdict"] = "error".into();
            v["error"] = serde_json::json!({
                "phase": "run", "kind": "deadline", "message": "not finished: the run's --deadline passed"
            });
        }
        Some(verdict) => v["verdict"] = verdict.into(),
        None => {}
    }
    v.to_string()
}

/// Stdin is an input like a file; duplicates and unfinished rows are
/// merged by the rule and counted on stderr, one line each.
#[tokio::test(flavor = "multi_thread")]
async fn stdin_duplicates_and_unfinished_rows() {
    let dir = tempfile::tempdir().expect("dir");
    let first = dir.path().join("first.ndjson");
    // a: finished, then a late unfinished row (kept: the finished one);
    // b: unfinished, then finished on stdin; c: only unfinished.
    std::fs::write(
        &first,
        [
            row("a.test", None),
            row("b.test", Some("run")),
            row("c.test", Some("run")),
        ]
        .join("\n"),
    )
    .expect("write");
    let stdin_rows = [row("a.test", Some("run")), row("b.test", None)].join("\n");
    for format in ["json", "ndjson"] {
        let mut child = spawn_smtptls(
            ["report", "--format", format, &arg(&first), "-"],
            Stdio::piped(),
        );
        {
            use tokio::io::AsyncWriteExt;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(stdin_rows.as_bytes()).await.expect("write");
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("finishes")
            .expect("wait");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "c is an error: {stderr}");
        let rows: Vec<Value> = match format {
            "json" => {
                let json: Value = serde_json::from_str(&stdout).expect("json");
                assert_eq!(json["summary"]["domains"], 3);
                assert_eq!(json["summary"]["verdicts"]["no-mail"], 2);
                assert_eq!(json["summary"]["verdicts"]["error"], 1);
                json["domains"].as_array().cloned().unwrap_or_default()
            }
            _ => stdout
                .lines()
                .map(|l| serde_json::from_str(l).expect("line"))
                .collect(),
        };
        let mut got: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["domain"].as_str().unwrap_or_default().to_string(),
                    r["verdict"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("a.test".to_string(), "no-mail".to_string()),
                ("b.test".to_string(), "no-mail".to_string()),
                ("c.test".to_string(), "error".to_string()),
            ],
            "{format}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{stderr}");
        assert!(
            lines[0]
                .starts_with("smtptls: 2 domain(s) have more than one row (5 rows for 3 domains)"),
            "{stderr}"
        );
        assert!(
            lines[1].starts_with("smtptls: 1 domain(s) are still unfinished"),
            "{stderr}"
        );
    }
}
