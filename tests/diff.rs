//! `smtptls diff` end to end: two real runs of `check` against the lab,
//! between which three MX hosts change server (one loses STARTTLS, one
//! gets a new certificate, one gains STARTTLS), one domain leaves the list
//! and one joins; then the diff in every format, its exit codes and its
//! input errors. The rules of each change id are unit-tested on hand-built
//! rows (src/diff/tests.rs); this checks that real reports give exactly
//! these changes and no noise.

mod lab;

use std::path::Path;

use lab::run::{Lab, Run, smtptls};
use lab::scenario::{LabBuilder, good, plain};
use serde_json::Value;

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/diff.schema.json");

async fn lab() -> Lab {
    LabBuilder::new()
        .mx("same.test", 10, "mx.same.test", good)
        .mx("lost.test", 10, "mx.lost.test", good)
        .mx("rotated.test", 10, "mx.rotated.test", good)
        .mx("gained.test", 10, "mx.gained.test", plain)
        .mx("gone.test", 10, "mx.gone.test", good)
        .mx("new.test", 10, "mx.new.test", good)
        // The servers the second run reaches instead.
        .serve("next.lost", |_, _| {
            lab::smtp::Behaviour::plain("mx.lost.test")
        })
        .serve("next.rotated", |pki, _| good(pki, "mx.rotated.test"))
        .serve("next.gained", |pki, _| good(pki, "mx.gained.test"))
        .start()
        .await
}

/// Makes the second run reach the `next.*` servers for those MX hosts.
fn change_servers(lab: &mut Lab) {
    for (host, _) in &mut lab.servers {
        if let Some(base) = host.strip_prefix("next.") {
            *host = format!("mx.{base}.test");
        } else if ["mx.lost.test", "mx.rotated.test", "mx.gained.test"].contains(&host.as_str()) {
            *host = format!("old.{host}");
        }
    }
}

/// The two reports: OLD as a whole JSON report, NEW as NDJSON.
async fn reports(dir: &Path) -> (String, String) {
    let mut lab = lab().await;
    let first = lab
        .smtptls(
            &["check", "--format", "json"],
            &[
                "same.test",
                "lost.test",
                "rotated.test",
                "gained.test",
                "gone.test",
            ],
            &[],
        )
        .await;
    assert!(first.stderr.is_empty(), "{}", first.stderr);
    change_servers(&mut lab);
    let second = lab
        .smtptls(
            &["check", "--format", "ndjson"],
            &[
                "same.test",
                "lost.test",
                "rotated.test",
                "gained.test",
                "new.test",
            ],
            &[],
        )
        .await;
    assert!(second.stderr.is_empty(), "{}", second.stderr);
    let old = dir.join("old.json");
    let new = dir.join("new.ndjson");
    std::fs::write(&old, &first.stdout).expect("write old");
    std::fs::write(&new, &second.stdout).expect("write new");
    (old.display().to_string(), new.display().to_string())
}

async fn diff(args: &[&str]) -> Run {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    smtptls(all).await
}

fn ids(domain: &Value) -> Vec<String> {
    let mut ids: Vec<String> = domain["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn two_real_runs_give_exactly_their_changes_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, new) = reports(dir.path()).await;

    // JSON: schema-valid, worst first, exactly the changes made.
    let run = diff(&[&old, &new, "--format", "json"]).await;
    assert_eq!(run.code, 1, "lost.test regressed: {run:?}");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let doc = run.json();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA_PATH).expect("schema")).expect("JSON");
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");

    let domains: Vec<(&str, Vec<String>, bool)> = doc["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().expect("domain"),
                ids(d),
                d["regression"] == true,
            )
        })
        .collect();
    let names: Vec<&str> = domains.iter().map(|d| d.0).collect();
    // same.test is absent: two runs of an unchanged server differ in nothing.
    assert_eq!(
        names,
        [
            "lost.test",
            "gained.test",
            "gone.test",
            "new.test",
            "rotated.test"
        ],
        "{doc:#}"
    );
    let of = |name: &str| domains.iter().find(|d| d.0 == name).expect("domain");
    let lost = of("lost.test");
    assert!(lost.2, "a regression");
    for id in ["verdict-down", "starttls-lost", "delivery-changed"] {
        assert!(lost.1.iter().any(|i| i == id), "{id} in {:?}", lost.1);
    }
    assert_eq!(of("rotated.test").1, ["certificate-rotated"]);
    assert!(!of("rotated.test").2);
    let gained = of("gained.test");
    for id in ["verdict-up", "starttls-gained", "delivery-changed"] {
        assert!(gained.1.iter().any(|i| i == id), "{id} in {:?}", gained.1);
    }
    assert_eq!(of("gone.test").1, ["domain-removed"]);
    assert_eq!(of("new.test").1, ["domain-added"]);
    let summary = &doc["summary"];
    assert_eq!(summary["compared"], 4);
    assert_eq!(summary["unchanged"], 1);
    assert_eq!(summary["changed"], 3);
    assert_eq!(summary["regressions"], 1);
    assert_eq!(doc["old"]["format"], "json");
    assert_eq!(doc["new"]["format"], "ndjson");
    let rotated = &doc["domains"][4]["changes"][0];
    assert_eq!(rotated["mx"], "mx.rotated.test");
    assert_eq!(rotated["address"], "127.0.0.1");

    // NDJSON: the same domain objects, one per line.
    let run = diff(&[&old, &new, "--format", "ndjson"]).await;
    assert_eq!(run.code, 1);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(&Value::Array(lines), &doc["domains"]);

    // Table: grouped by domain, worst first, the regression named.
    let run = smtptls(["diff", &old, &new, "--color", "never"]).await;
    assert_eq!(run.code, 1);
    let table = run
        .stdout
        .replace(&format!("{}/", dir.path().display()), "");
    let first_lines: Vec<&str> = table.lines().take(4).collect();
    assert_eq!(first_lines[0].split(" (").next(), Some("old: old.json"));
    assert_eq!(first_lines[1], "new: new.ndjson (ndjson, 5 domains)");
    assert_eq!(first_lines[3], "lost.test  secure → plaintext");
    assert!(
        table.contains(
            "  REGRESSION starttls-lost: mx.lost.test [127.0.0.1] no longer offers STARTTLS"
        ),
        "{table}"
    );
    assert!(
        table
            .contains("1 regressions · 0 problems · 3 changed · 1 added · 1 removed · 1 unchanged"),
        "{table}"
    );

    // HTML: a valid page with the same domains in the same order, each
    // row carrying its kind for the filter.
    let run = diff(&[&old, &new, "--format", "html"]).await;
    assert_eq!(run.code, 1);
    let page = scraper::Html::parse_document(&run.stdout);
    let errors: Vec<String> = page.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    let rows = scraper::Selector::parse("#rows tbody tr").expect("selector");
    let link = scraper::Selector::parse("td a").expect("selector");
    let shown: Vec<(String, String)> = page
        .select(&rows)
        .map(|r| {
            let name = r.select(&link).flat_map(|a| a.text()).collect::<String>();
            (
                name,
                r.value().attr("data-verdict").unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("lost.test", "regression"),
        ("gained.test", "better"),
        ("gone.test", "removed"),
        ("new.test", "added"),
        ("rotated.test", "changed"),
    ]
    .iter()
    .map(|(d, k)| (d.to_string(), k.to_string()))
    .collect();
    assert_eq!(shown, expected);

    // The rule decides the exit code.
    let run = diff(&[&old, &new, "--fail-on", "none"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = diff(&[&old, &new, "--fail-on", "certificate-rotated"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let run = diff(&[&old, &old, "--format", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["domains"], Value::Array(Vec::new()));
}

/// `smtptls diff ARGS…` run to the end: exit code and stderr.
fn diff_sync(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_smtptls"))
        .arg("diff")
        .args(args)
        .output()
        .expect("run");
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

#[test]
fn input_errors_name_the_file_and_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good_row = r#"{"domain":"a.test","verdict":"secure"}"#;
    let old = dir.path().join("old.ndjson");
    std::fs::write(&old, "").expect("write");
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, format!("{good_row}\nthis is not a row\n")).expect("write");
    let (code, stderr) = diff_sync(&[old.as_os_str(), bad.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(&format!(
            "smtptls: error: {}:1: not a line of an NDJSON report: not a report row:",
            bad.display()
        )),
        "the first line lacks fields: {stderr}"
    );

    let missing = dir.path().join("missing.ndjson");
    let (code, stderr) = diff_sync(&[missing.as_os_str(), old.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(&format!(
            "smtptls: error: cannot read {}",
            missing.display()
        )),
        "{stderr}"
    );

    let (code, stderr) = diff_sync(&[
        "--fail-on".as_ref(),
        "verdict-sideways".as_ref(),
        old.as_os_str(),
        old.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with("smtptls: error: --fail-on: unknown change id `verdict-sideways`"),
        "{stderr}"
    );
}

#[test]
fn new_can_come_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = dir.path().join("old.ndjson");
    std::fs::write(&old, "").expect("write");
    let output = assert_cmd::Command::cargo_bin("smtptls")
        .expect("binary")
        .args(["diff", "--format", "json"])
        .arg(&old)
        .arg("-")
        .write_stdin("")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(doc["new"]["file"], "<stdin>");
}

/// Every change id is in the schema's enum and in the README's table, and
/// nothing else is.
#[test]
fn schema_and_readme_list_every_change_id() {
    let ids: Vec<&str> = smtptls::diff::ChangeId::all()
        .iter()
        .map(|id| id.as_str())
        .collect();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA_PATH).expect("schema")).expect("JSON");
    let listed: Vec<&str> = schema["$defs"]["change_id"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect();
    assert_eq!(listed, ids);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    for id in &ids {
        assert!(
            readme.contains(&format!("| `{id}` |")),
            "README lacks a row for {id}"
        );
    }
}

#[test]
fn the_schema_is_closed_fully_required_and_documented() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA_PATH).expect("schema")).expect("JSON");
    lab::schema::assert_closed_required_documented(&schema, |_, _| false);
}
