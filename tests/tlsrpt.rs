//! `smtptls tlsrpt` on report fixtures (`tests/fixtures/tlsrpt/`, and
//! gzip files made here): every input kind, the limits, duplicates,
//! malformed input, the output formats against `schema/tlsrpt.schema.json`,
//! and the exit codes. No network: without `--audit` nothing is probed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use smtptls::protection::tls_rpt_report::{ExplanationId, ResultType};
use smtptls::vocabulary::FindingId;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tlsrpt");
const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/tlsrpt.schema.json");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn smtptls(args: &[&str], stdin: Option<&[u8]>) -> Out {
    smtptls_env(args, stdin, &[])
}

/// [`smtptls`] with more environment (`COLUMNS`).
fn smtptls_env(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smtptls"))
        .args(args)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn smtptls");
    if let Some(bytes) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(bytes)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn schema() -> Value {
    let text = std::fs::read_to_string(SCHEMA_PATH).expect("read the schema");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn assert_valid(schema: &Value, instance: &Value) {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{}\n{instance:#}", errors.join("\n"));
}

/// `tlsrpt --format json PATHS…`: the exit code and the document, checked
/// against the schema.
fn json(paths: &[&str]) -> (i32, Value) {
    let mut args = vec!["tlsrpt", "--format", "json"];
    args.extend_from_slice(paths);
    let out = smtptls(&args, None);
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr));
    assert_valid(&schema(), &doc);
    (out.code, doc)
}

fn domain<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .find(|d| d["policy_domain"] == name)
        .unwrap_or_else(|| panic!("no domain {name} in {doc:#}"))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("compress");
    enc.finish().expect("compress")
}

fn temp_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a temp file");
    path
}

#[test]
fn the_rfc_example_adds_up() {
    let (code, doc) = json(&[&fixture("rfc8460-example.json")]);
    assert_eq!(code, 1, "failures present");
    let d = domain(&doc, "company-y.example");
    assert_eq!(d["reports"], 1);
    assert_eq!(d["sessions"]["successful"], 5326);
    assert_eq!(d["sessions"]["failed"], 303);
    assert_eq!(d["window"]["start"], "2016-04-01T00:00:00Z");
    assert_eq!(d["window"]["end"], "2016-04-01T23:59:59Z");
    assert_eq!(d["organisations"][0]["organisation"], "Company-X");
    assert_eq!(d["policies"][0]["policy_type"], "sts");
    assert_eq!(d["policies"][0]["mx_host"][0], "*.mail.company-y.example");
    let f = &d["failures"];
    assert_eq!(f.as_array().map(Vec::len), Some(3));
    // Most failed sessions first, with the share of the domain's failures.
    assert_eq!(f[0]["result_type"], "starttls-not-supported");
    assert_eq!(f[0]["receiving_mx_hostname"], "mx2.mail.company-y.example");
    assert_eq!(f[0]["receiving_ip"], "203.0.113.56");
    assert_eq!(f[0]["failed_sessions"], 200);
    assert_eq!(f[0]["share"], 0.6601);
    assert_eq!(f[1]["result_type"], "certificate-expired");
    assert_eq!(f[1]["receiving_ip"], Value::Null);
    assert_eq!(
        f[1]["findings"],
        serde_json::json!(["cert.expiry", "cert.chain.valid"])
    );
    assert_eq!(
        f[2]["failure_reason_codes"][0],
        "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    );
    assert_eq!(doc["audited"], false);
    assert_eq!(doc["totals"]["still_present"], Value::Null);
}

#[test]
fn every_result_type_of_sts_and_tlsa_reports_is_kept() {
    let (code, doc) = json(&[
        &fixture("sts-every-result-type.json"),
        &fixture("tlsa-every-result-type.json"),
    ]);
    assert_eq!(code, 1);
    for (name, policy) in [("sts.example", "sts"), ("dane.example", "tlsa")] {
        let d = domain(&doc, name);
        assert_eq!(d["policies"][0]["policy_type"], policy);
        let groups = d["failures"].as_array().expect("failures");
        for known in ResultType::KNOWN {
            let g = groups
                .iter()
                .find(|g| g["result_type"] == known.as_str())
                .unwrap_or_else(|| panic!("{name}: no {known}"));
            assert_eq!(g["unknown_result_type"], false);
            assert!(!g["findings"].as_array().expect("findings").is_empty());
            assert_eq!(g["policy_types"][0], policy);
        }
        // An unknown type is shown as such, never dropped.
        let unknown = groups
            .iter()
            .find(|g| g["result_type"] == "quantum-entanglement-lost")
            .expect("the unknown result type");
        assert_eq!(unknown["unknown_result_type"], true);
        assert_eq!(unknown["findings"], serde_json::json!([]));
        assert_eq!(groups.len(), 12);
    }
    let table = smtptls(&["tlsrpt", &fixture("sts-every-result-type.json")], None);
    assert!(
        table
            .stdout
            .contains("quantum-entanglement-lost (unknown type)"),
        "{}",
        table.stdout
    );
}

#[test]
fn optional_fields_may_be_missing_or_null() {
    let (code, doc) = json(&[&fixture("missing-optional-fields.json")]);
    assert_eq!(code, 1);
    let d = domain(&doc, "company-y.example");
    assert_eq!(d["policies"][0]["policy_type"], "no-policy-found");
    let g = &d["failures"][0];
    assert_eq!(g["receiving_ip"], Value::Null);
    assert_eq!(g["receiving_mx_hostname"], Value::Null);
    assert_eq!(g["sending_mta_ips"], serde_json::json!([]));
    let quiet = domain(&doc, "quiet.example");
    assert_eq!(quiet["sessions"]["failed"], 0);
    assert_eq!(quiet["policies"][0]["policy_string"], serde_json::json!([]));
}

#[test]
fn a_duplicate_report_is_counted_once() {
    let (_, doc) = json(&[&fixture("rfc8460-example.json"), &fixture("duplicate.json")]);
    assert_eq!(doc["totals"]["reports"], 1);
    assert_eq!(doc["totals"]["duplicates"], 1);
    assert_eq!(doc["inputs"][1]["duplicates"], 1);
    assert_eq!(domain(&doc, "company-y.example")["sessions"]["failed"], 303);
    assert_eq!(doc["conflicts"], serde_json::json!([]));

    // The same report-id with other numbers: still once, and said.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("rfc8460-example.json")).expect("fixture");
    let changed = temp_file(
        dir.path(),
        "changed.json",
        text.replace("5326", "9999").as_bytes(),
    );
    let (_, doc) = json(&[
        &fixture("rfc8460-example.json"),
        changed.to_str().expect("path"),
    ]);
    assert_eq!(doc["totals"]["reports"], 1);
    assert_eq!(doc["conflicts"][0]["kind"], "same-id-different-content");
    assert_eq!(
        doc["conflicts"][0]["report_id"],
        "5065427c-23d3-47ca-b6e0-946ea0e8c4be"
    );
}

#[test]
fn reports_that_disagree_are_listed() {
    // Company-X saw an sts policy for company-y.example on the day Minimal
    // Sender found none.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("rfc8460-example.json")).expect("fixture");
    let same_day = temp_file(
        dir.path(),
        "same-day.json",
        text.replace("2016-04-01", "2026-11-30")
            .replace("5065427c", "6065427c")
            .as_bytes(),
    );
    let (_, doc) = json(&[
        same_day.to_str().expect("path"),
        &fixture("missing-optional-fields.json"),
    ]);
    let c = &doc["conflicts"][0];
    assert_eq!(c["kind"], "policy-found-by-only-some");
    assert_eq!(c["policy_domain"], "company-y.example");
    assert_eq!(
        c["organisations"],
        serde_json::json!(["Company-X", "Minimal Sender"])
    );
    // Ten years apart, it is a change of policy, not a disagreement.
    let (_, doc) = json(&[
        &fixture("rfc8460-example.json"),
        &fixture("missing-optional-fields.json"),
    ]);
    assert_eq!(doc["conflicts"], serde_json::json!([]));
    // Different policy strings of one type are listed too.
    let changed = temp_file(
        dir.path(),
        "enforce.json",
        text.replace("mode: testing", "mode: enforce")
            .replace("5065427c", "7065427c")
            .as_bytes(),
    );
    let (_, doc) = json(&[
        &fixture("rfc8460-example.json"),
        changed.to_str().expect("path"),
    ]);
    assert_eq!(doc["conflicts"][0]["kind"], "policy-strings-differ");
}

#[test]
fn a_malformed_report_is_an_error_for_its_file_and_the_rest_goes_on() {
    let (code, doc) = json(&[
        &fixture("malformed.json"),
        &fixture("rfc8460-example.json"),
        &fixture("no-such-file.json"),
    ]);
    assert_eq!(code, 2, "unreadable input");
    let e = &doc["inputs"][0]["errors"][0];
    assert_eq!(e["kind"], "malformed-report");
    let msg = e["message"].as_str().expect("message");
    assert!(
        msg.contains("policies[0].summary.total-successful-session-count"),
        "{msg}"
    );
    assert_eq!(doc["inputs"][1]["reports"], 1);
    assert_eq!(doc["inputs"][2]["errors"][0]["kind"], "unreadable");
    assert_eq!(doc["totals"]["unreadable"], 2);
    let out = smtptls(&["tlsrpt", &fixture("malformed.json")], None);
    assert!(
        out.stderr.contains("malformed.json: not a TLS-RPT report"),
        "{}",
        out.stderr
    );
}

#[test]
fn gzip_reports_are_read_by_content_and_a_gzip_bomb_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read(fixture("sts-every-result-type.json")).expect("fixture");
    let gz = temp_file(dir.path(), "report.json.gz", &gzip(&text));
    // Named .json, but gzip inside: the content decides.
    let misnamed = temp_file(
        dir.path(),
        "misnamed.json",
        &gzip(&std::fs::read(fixture("tlsa-every-result-type.json")).expect("fixture")),
    );
    // 17 MiB of spaces: about 17 KiB compressed, over the 16 MiB limit.
    let bomb = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..17 {
            enc.write_all(&chunk).expect("compress");
        }
        enc.finish().expect("compress")
    };
    assert!(bomb.len() < 1 << 20);
    let bomb = temp_file(dir.path(), "bomb.json.gz", &bomb);
    let truncated = temp_file(dir.path(), "cut.json.gz", &gzip(&text)[..40]);
    let (code, doc) = json(&[
        bomb.to_str().expect("path"),
        gz.to_str().expect("path"),
        truncated.to_str().expect("path"),
        misnamed.to_str().expect("path"),
    ]);
    assert_eq!(code, 2);
    assert_eq!(
        doc["inputs"][0]["errors"][0]["kind"],
        "decompressed-too-large"
    );
    assert_eq!(doc["inputs"][1]["reports"], 1);
    assert_eq!(doc["inputs"][2]["errors"][0]["kind"], "bad-gzip");
    assert_eq!(doc["inputs"][3]["reports"], 1);
    domain(&doc, "sts.example");
    domain(&doc, "dane.example");
}

#[test]
fn an_email_with_a_base64_gzip_attachment() {
    let (code, doc) = json(&[&fixture("report-base64.eml")]);
    assert_eq!(code, 1);
    assert_eq!(doc["inputs"][0]["reports"], 1);
    let d = domain(&doc, "mail.example");
    assert_eq!(d["organisations"][0]["organisation"], "Mail Giant");
    assert_eq!(d["failures"][0]["result_type"], "certificate-expired");
    assert_eq!(d["failures"][0]["failed_sessions"], 4);

    // A message without a report, given on its own, is an error.
    let dir = tempfile::tempdir().expect("tempdir");
    let mail = temp_file(
        dir.path(),
        "hello.eml",
        b"From: a@example.org\r\nSubject: hi\r\n\r\nno report here\r\n",
    );
    let (code, doc) = json(&[mail.to_str().expect("path")]);
    assert_eq!(code, 2);
    assert_eq!(doc["inputs"][0]["errors"][0]["kind"], "no-report");
}

#[test]
fn an_mbox_with_several_messages() {
    let (code, doc) = json(&[&fixture("several.mbox")]);
    assert_eq!(code, 1);
    let input = &doc["inputs"][0];
    // Sender A (gzip), Sender B (json), someone's mail, Sender A again.
    assert_eq!(input["reports"], 2);
    assert_eq!(input["duplicates"], 1);
    assert_eq!(input["skipped"], 1);
    assert_eq!(input["errors"], serde_json::json!([]));
    let d = domain(&doc, "mail.example");
    assert_eq!(d["sessions"]["failed"], 3);
    assert_eq!(d["organisations"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_maildir_folder() {
    let (code, doc) = json(&[&fixture("maildir")]);
    assert_eq!(code, 1);
    assert_eq!(doc["inputs"][0]["reports"], 2);
    let d = domain(&doc, "mail.example");
    assert_eq!(d["sessions"]["failed"], 8);
    let orgs: Vec<&str> = d["organisations"]
        .as_array()
        .expect("organisations")
        .iter()
        .filter_map(|o| o["organisation"].as_str())
        .collect();
    assert_eq!(orgs, ["Sender C", "Sender D"]);
}

#[test]
fn a_plain_folder_is_read_file_by_file_in_path_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let copy = |from: &str, to: &str| {
        let path = root.join(to);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::copy(fixture(from), path).expect("copy");
    };
    copy("rfc8460-example.json", "2026/11/report.json");
    copy("multipart-report-gzip.eml", "2026/12/report.eml");
    copy("malformed.json", "2026/12/zz-bad.json");
    copy("malformed.json", ".trash/ignored.json");
    copy("several.mbox", "mail.mbox");
    temp_file(root, "notes.txt", b"hello world\n");
    std::fs::create_dir_all(root.join("saved")).expect("mkdir");
    temp_file(
        &root.join("saved"),
        "hello.eml",
        b"From: a@example.org\r\nSubject: hi\r\n\r\nno report here\r\n",
    );
    let (code, doc) = json(&[root.to_str().expect("path")]);
    assert_eq!(code, 2, "two files are not reports");
    let input = &doc["inputs"][0];
    // rfc8460-example, the multipart report, Sender A and B of the mbox
    // (Sender A's repeat a duplicate); its someone's-mail and hello.eml
    // skipped; the hidden folder not read.
    assert_eq!(input["reports"], 4, "{input:#}");
    assert_eq!(input["duplicates"], 1);
    assert_eq!(input["skipped"], 2);
    let parts: Vec<(&str, &str)> = input["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["part"].as_str().expect("named"),
                e["kind"].as_str().expect("kind"),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            ("2026/12/zz-bad.json", "malformed-report"),
            ("notes.txt", "not-recognised")
        ]
    );
    domain(&doc, "company-y.example");
    domain(&doc, "shop.example");
    domain(&doc, "mail.example");
    // An empty folder has nothing wrong with it.
    let empty = tempfile::tempdir().expect("tempdir");
    let (code, doc) = json(&[empty.path().to_str().expect("path")]);
    assert_eq!(code, 0);
    assert_eq!(doc["inputs"][0]["errors"], serde_json::json!([]));
}

#[test]
fn a_big_reporter_without_sending_mta_ip() {
    let (code, doc) = json(&[&fixture("no-sending-ip.json")]);
    assert_eq!(code, 1);
    let d = domain(&doc, "shop.example");
    assert_eq!(
        d["policies"][0]["mx_host"],
        serde_json::json!(["mx1.shop.example", "mx2.shop.example"])
    );
    let f = &d["failures"];
    assert_eq!(f[0]["result_type"], "certificate-expired");
    assert_eq!(f[0]["receiving_mx_hostname"], "mx2.shop.example");
    assert_eq!(f[0]["failed_sessions"], 17);
    assert_eq!(f[0]["sending_mta_ips"], serde_json::json!([]));
    assert_eq!(f[1]["result_type"], "sts-policy-fetch-error");
    assert_eq!(f[1]["receiving_mx_hostname"], Value::Null);
    assert!(
        d["inconsistent_reports"]
            .as_array()
            .expect("array")
            .is_empty()
    );
    let out = smtptls(&["tlsrpt", &fixture("no-sending-ip.json")], None);
    assert!(
        out.stdout.contains("sts-policy-fetch-error"),
        "{}",
        out.stdout
    );
}

#[test]
fn reason_codes_keep_groups_apart_and_empty_strings_are_absent() {
    let (code, doc) = json(&[&fixture("reason-codes-no-policy-string.json")]);
    assert_eq!(code, 1);
    let d = domain(&doc, "shop.example");
    assert_eq!(d["policies"][0]["policy_string"], serde_json::json!([]));
    let groups: Vec<(&str, &Value, u64)> = d["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|g| {
            (
                g["result_type"].as_str().expect("type"),
                &g["failure_reason_code"],
                g["failed_sessions"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                "validation-failure",
                &Value::from("CertificateChainIncomplete"),
                6
            ),
            ("validation-failure", &Value::from("CertificateRevoked"), 2),
            ("starttls-not-supported", &Value::Null, 1),
        ]
    );
    let revoked = &d["failures"][1];
    assert_eq!(
        revoked["failure_reason_codes"],
        serde_json::json!(["CertificateRevoked"])
    );
    assert_eq!(
        revoked["additional_information"],
        serde_json::json!(["https://hostedmail.example/tlsrpt/help#revoked"])
    );
    // "" is no IP and no code.
    assert_eq!(d["failures"][2]["receiving_ip"], Value::Null);
    assert_eq!(
        d["failures"][2]["failure_reason_codes"],
        serde_json::json!([])
    );
    // Both codes in the table: in their column when it fits, else under
    // the table, each with its place.
    let path = fixture("reason-codes-no-policy-string.json");
    for columns in ["80", "120"] {
        let out = smtptls_env(&["tlsrpt", &path], None, &[("COLUMNS", columns)]);
        for code in ["CertificateChainIncomplete", "CertificateRevoked"] {
            assert!(
                out.stdout.contains(code),
                "{columns}: {code}\n{}",
                out.stdout
            );
        }
        assert!(
            out.stdout
                .contains("https://hostedmail.example/tlsrpt/help#revoked"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn a_multipart_report_with_folded_headers_and_a_gzip_attachment() {
    let (code, doc) = json(&[&fixture("multipart-report-gzip.eml")]);
    assert_eq!(code, 1);
    assert_eq!(doc["inputs"][0]["reports"], 1);
    assert_eq!(doc["inputs"][0]["errors"], serde_json::json!([]));
    let d = domain(&doc, "shop.example");
    assert_eq!(
        d["organisations"][0]["organisation"],
        "Regional Mail Provider Example AG"
    );
    let g = &d["failures"][0];
    assert_eq!(g["result_type"], "certificate-host-mismatch");
    // Sent with a trailing dot.
    assert_eq!(g["receiving_mx_hostname"], "mx2.shop.example");
    assert_eq!(g["failed_sessions"], 3);
}

#[test]
fn a_report_whose_summary_disagrees_with_its_details_is_listed() {
    let (code, doc) = json(&[
        &fixture("summary-disagrees.json"),
        &fixture("rfc8460-example.json"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        domain(&doc, "dane.example")["inconsistent_reports"],
        serde_json::json!([{
            "report_id": "careless-2026-11-29",
            "organisation": "Careless Sender",
            "policy_type": "tlsa",
            "summary_failed": 1,
            "details_failed": 2
        }])
    );
    // The RFC's example adds up.
    assert_eq!(
        domain(&doc, "company-y.example")["inconsistent_reports"],
        serde_json::json!([])
    );
    assert_eq!(doc["totals"]["inconsistent_reports"], 1);
    let out = smtptls(&["tlsrpt", &fixture("summary-disagrees.json")], None);
    let section = out
        .stdout
        .split("Reports that disagree:")
        .nth(1)
        .unwrap_or_else(|| panic!("no section:\n{}", out.stdout));
    assert!(
        section.contains("careless-2026-11-29") && section.contains("add up to 2"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_table_takes_the_width_and_colours_only_when_asked() {
    let path = fixture("reason-codes-no-policy-string.json");
    let width = |out: &Out| {
        out.stdout
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    let narrow = smtptls_env(&["tlsrpt", &path], None, &[("COLUMNS", "80")]);
    let wide = smtptls_env(&["tlsrpt", &path], None, &[("COLUMNS", "160")]);
    assert!(width(&narrow) <= 80, "{}", narrow.stdout);
    assert!(width(&wide) > 80, "{}", wide.stdout);
    // Host names are never split across lines.
    assert!(
        narrow.stdout.contains("mx1.shop.example"),
        "{}",
        narrow.stdout
    );
    assert!(!narrow.stdout.contains('\u{1b}'));
    let always = smtptls(&["tlsrpt", "--color", "always", &path], None);
    assert!(always.stdout.contains("\u{1b}["), "{}", always.stdout);
    let never = smtptls(&["tlsrpt", "--color", "never", &path], None);
    assert!(!never.stdout.contains('\u{1b}'));
}

/// The table of the big reporters' fixtures, at a width, without colour.
fn table_at(columns: &str) -> String {
    let out = smtptls_env(
        &[
            "tlsrpt",
            "--color",
            "never",
            &fixture("no-sending-ip.json"),
            &fixture("reason-codes-no-policy-string.json"),
            &fixture("multipart-report-gzip.eml"),
            &fixture("summary-disagrees.json"),
            &fixture("rfc8460-example.json"),
        ],
        None,
        &[("COLUMNS", columns)],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    out.stdout
}

#[test]
fn table_snapshot_at_80_columns() {
    insta::assert_snapshot!("tlsrpt_table_80", table_at("80"));
}

#[test]
fn table_snapshot_at_120_columns() {
    insta::assert_snapshot!("tlsrpt_table_120", table_at("120"));
}

#[test]
fn stdin_and_exit_zero_without_failures() {
    let text = std::fs::read_to_string(fixture("missing-optional-fields.json")).expect("fixture");
    let out = smtptls(&["tlsrpt", "--format", "json", "-"], Some(text.as_bytes()));
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Only the quiet policy: no failed session, exit 0.
    let quiet = r#"{"organization-name": "Q", "report-id": "q-1",
      "date-range": {"start-datetime": "2026-11-30T00:00:00Z", "end-datetime": "2026-11-30T23:59:59Z"},
      "policies": [{"policy": {"policy-type": "sts", "policy-domain": "quiet.example"},
        "summary": {"total-successful-session-count": 7, "total-failure-session-count": 0}}]}"#;
    let out = smtptls(&["tlsrpt", "-"], Some(quiet.as_bytes()));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("quiet.example"), "{}", out.stdout);
    // Not a report, not mail: unreadable.
    let out = smtptls(&["tlsrpt", "-"], Some(b"hello world\n"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("-: not a TLS-RPT report"),
        "{}",
        out.stderr
    );
}

#[test]
fn ndjson_lines_follow_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("rfc8460-example.json")).expect("fixture");
    let changed = temp_file(
        dir.path(),
        "enforce.json",
        text.replace("mode: testing", "mode: enforce")
            .replace("5065427c", "7065427c")
            .as_bytes(),
    );
    let out = smtptls(
        &[
            "tlsrpt",
            "--format",
            "ndjson",
            &fixture("rfc8460-example.json"),
            changed.to_str().expect("path"),
            &fixture("missing-optional-fields.json"),
            &fixture("malformed.json"),
        ],
        None,
    );
    assert_eq!(out.code, 2);
    let mut schema = schema();
    schema["$ref"] = Value::String("#/$defs/ndjson_line".into());
    for key in ["type", "additionalProperties", "required", "properties"] {
        schema
            .as_object_mut()
            .expect("object")
            .remove(key)
            .expect("root keyword");
    }
    let types: Vec<String> = out
        .stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            assert_valid(&schema, &v);
            v["type"].as_str().expect("type").to_string()
        })
        .collect();
    assert_eq!(
        types,
        [
            "input", "input", "input", "input", "domain", "domain", "conflict", "totals"
        ]
    );
}

#[test]
fn report_text_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hostile = std::fs::read_to_string(fixture("rfc8460-example.json"))
        .expect("fixture")
        .replace("Company-X", "Evil\\u001b[2JCorp\\u0007")
        .replace(
            "mx2.mail.company-y.example",
            "mx2\\u001b]0;pwned\\u0007.example",
        );
    let path = temp_file(dir.path(), "hostile.json", hostile.as_bytes());
    let out = smtptls(&["tlsrpt", path.to_str().expect("path")], None);
    assert_eq!(out.code, 1);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    assert!(!out.stdout.contains('\u{7}'), "{:?}", out.stdout);
    assert!(out.stdout.contains("Evil\\x1b[2JCorp"), "{}", out.stdout);
}

#[test]
fn report_text_in_json_and_ndjson_keeps_controls_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    // DEL, a C1 control and a right-to-left override: serde_json writes
    // them raw; the output must not.
    let hostile = std::fs::read_to_string(fixture("rfc8460-example.json"))
        .expect("fixture")
        .replace("Company-X", "Evil\\u007f\\u009b2J\\u202eCorp");
    let path = temp_file(dir.path(), "hostile.json", hostile.as_bytes());
    for format in ["json", "ndjson"] {
        let out = smtptls(
            &["tlsrpt", "--format", format, path.to_str().expect("path")],
            None,
        );
        assert_eq!(out.code, 1, "{format}");
        for c in ['\u{7f}', '\u{9b}', '\u{202e}'] {
            assert!(!out.stdout.contains(c), "{format}: {c:?} raw");
        }
        assert!(
            out.stdout.contains("Evil\\u007f\\u009b2J\\u202eCorp"),
            "{format}: {}",
            out.stdout
        );
    }
}

#[test]
fn schema_enums_match_the_code() {
    let schema = schema();
    let ids: Vec<&str> = schema["$defs"]["explanation"]["properties"]["id"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let code: Vec<&str> = ExplanationId::ALL.iter().map(|e| e.as_str()).collect();
    assert_eq!(ids, code);
    let findings: Vec<&str> =
        schema["$defs"]["failure_group"]["properties"]["findings"]["items"]["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .filter_map(Value::as_str)
            .collect();
    let code: Vec<&str> = FindingId::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(findings, code);
}

/// Standard base64 with line breaks, for messages built here.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn attachments_are_found_by_content_and_a_bad_one_is_named() {
    let report = std::fs::read(fixture("tlsa-every-result-type.json")).expect("fixture");
    // An unlabelled gzip attachment (application/gzip), a labelled one
    // that is not a report, and a forwarded message with a JSON report.
    let forwarded = std::fs::read_to_string(fixture("rfc8460-example.json")).expect("fixture");
    let mail = format!(
        "From: reports@sender.example\r\n\
         Subject: reports\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\
         \r\n\
         --b\r\n\
         Content-Type: text/plain\r\n\
         \r\n\
         Three attachments.\r\n\
         --b\r\n\
         Content-Type: application/gzip\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"dane.json.gz\"\r\n\
         \r\n\
         {}\r\n\
         --b\r\n\
         Content-Type: application/tlsrpt+json\r\n\
         Content-Disposition: attachment; filename=\"broken.json\"\r\n\
         \r\n\
         {{\"organization-name\": \"X\"}}\r\n\
         --b\r\n\
         Content-Type: message/rfc822\r\n\
         \r\n\
         From: other@sender.example\r\n\
         Subject: fwd\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=tlsrpt; boundary=\"c\"\r\n\
         \r\n\
         --c\r\n\
         Content-Type: application/tlsrpt+json\r\n\
         \r\n\
         {}\r\n\
         --c--\r\n\
         --b--\r\n",
        base64(&gzip(&report)),
        forwarded.replace('\n', "\r\n"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = temp_file(dir.path(), "mixed.eml", mail.as_bytes());
    let (code, doc) = json(&[path.to_str().expect("path")]);
    assert_eq!(code, 2, "one attachment is broken");
    let input = &doc["inputs"][0];
    assert_eq!(input["reports"], 2, "{input:#}");
    let e = &input["errors"][0];
    assert_eq!(e["part"], "broken.json");
    assert_eq!(e["kind"], "malformed-report");
    domain(&doc, "dane.example");
    domain(&doc, "company-y.example");
}
