//! End to end, `smtptls tlsrpt --audit` against the lab: reports whose
//! failures the lab reproduces, has fixed, or cannot show, each asserted by
//! its exact explanation status and id, and the exit code that follows
//! (1 only while a cause is still present).

mod lab;

use std::net::Ipv4Addr;

use lab::https::{HttpsServer, Response};
use lab::pki::LeafSpec;
use lab::run::Lab;
use lab::scenario::{LabBuilder, good, good_with};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// One failure detail of a report.
fn failure(result_type: &str, mx: &str, ip: &str) -> Value {
    json!({
        "result-type": result_type,
        "sending-mta-ip": "198.51.100.7",
        "receiving-mx-hostname": mx,
        "receiving-ip": ip,
        "failed-session-count": 4
    })
}

/// A report for `domain` under `policy_type` with these failures.
fn report(id: &str, domain: &str, policy_type: &str, failures: Vec<Value>) -> Value {
    json!({
        "organization-name": "Lab Sender",
        "date-range": {"start-datetime": "2026-11-30T00:00:00Z", "end-datetime": "2026-11-30T23:59:59Z"},
        "contact-info": "tlsrpt@sender.test",
        "report-id": id,
        "policies": [{
            "policy": {"policy-type": policy_type, "policy-string": [], "policy-domain": domain},
            "summary": {"total-successful-session-count": 10, "total-failure-session-count": 4 * failures.len()},
            "failure-details": failures
        }]
    })
}

/// The lab: `expired.test` (an MX serving an expired certificate),
/// `fixed.test` (an MX that is fine now), `stsbad.test` (an MTA-STS
/// policy whose `mx` patterns do not cover its MX), and the HTTPS server
/// of that policy, reached with the returned `--connect-to` rule.
async fn lab() -> (Lab, HttpsServer, String) {
    let builder = LabBuilder::new()
        .mx("expired.test", 10, "mx.expired.test", |pki, host| {
            good_with(pki, host, |spec| LeafSpec {
                not_before: OffsetDateTime::now_utc() - Duration::days(100),
                not_after: OffsetDateTime::now_utc() - Duration::days(3),
                ..spec
            })
        })
        .mx("fixed.test", 10, "mx.fixed.test", good)
        .mx("stsbad.test", 10, "mx.stsbad.test", good)
        .zone(|zone| {
            zone.a("mta-sts.stsbad.test", LO)
                .txt("_mta-sts.stsbad.test", &["v=STSv1; id=20261130T000000;"])
        });
    let web = builder
        .pki
        .leaf(&LeafSpec::valid_for("mta-sts.stsbad.test"));
    let https = HttpsServer::start(
        web,
        vec![(
            "/.well-known/mta-sts.txt".to_string(),
            Response::policy(
                "version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 86400\n",
            ),
        )],
    )
    .await;
    let rule = format!("mta-sts.stsbad.test:443::{}", https.port());
    (builder.start().await, https, rule)
}

/// `tlsrpt --audit --format json REPORTS… <lab args>`: exit code and JSON.
async fn audit(lab: &Lab, rule: &str, reports: &[Value]) -> (i32, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let path = dir.path().join(format!("report-{i}.json"));
        std::fs::write(&path, r.to_string()).expect("write report");
        paths.push(path.display().to_string());
    }
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let run = lab
        .smtptls(
            &["tlsrpt", "--audit", "--format", "json"],
            &paths,
            &["--scan", "off", "--connect-to", rule],
        )
        .await;
    let doc = run.json();
    assert_valid(&doc);
    (run.code, doc)
}

/// The audited output follows `schema/tlsrpt.schema.json` too (its
/// `audit` objects appear only here).
fn assert_valid(doc: &Value) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/tlsrpt.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read the schema"))
            .expect("the schema is JSON");
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The explanation of the failure group `result_type` of `domain`.
fn explanation<'a>(doc: &'a Value, domain: &str, result_type: &str) -> &'a Value {
    let d = doc["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .find(|d| d["policy_domain"] == domain)
        .unwrap_or_else(|| panic!("no {domain} in {doc:#}"));
    let g = d["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .find(|g| g["result_type"] == result_type)
        .unwrap_or_else(|| panic!("no {result_type} in {d:#}"));
    &g["audit"]
}

fn assert_explained(doc: &Value, domain: &str, result_type: &str, status: &str, id: &str) {
    let e = explanation(doc, domain, result_type);
    assert_eq!(e["status"], status, "{domain} {result_type}: {e:#}");
    assert_eq!(e["id"], id, "{domain} {result_type}: {e:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_says_which_causes_are_still_present() {
    let (lab, https, rule) = lab().await;
    let reports = [
        report(
            "expired-1",
            "expired.test",
            "no-policy-found",
            vec![failure(
                "certificate-expired",
                "mx.expired.test",
                "127.0.0.1",
            )],
        ),
        report(
            "fixed-1",
            "fixed.test",
            "no-policy-found",
            vec![
                failure("certificate-expired", "mx.fixed.test", "127.0.0.1"),
                failure("starttls-not-supported", "mx.fixed.test", "192.0.2.99"),
            ],
        ),
        report(
            "stsbad-1",
            "stsbad.test",
            "sts",
            vec![failure("sts-policy-invalid", "mx.stsbad.test", "127.0.0.1")],
        ),
    ];
    let (code, doc) = audit(&lab, &rule, &reports).await;
    assert_eq!(doc["audited"], true);

    assert_explained(
        &doc,
        "expired.test",
        "certificate-expired",
        "still-present",
        "certificate-expired",
    );
    let msg = explanation(&doc, "expired.test", "certificate-expired")["message"]
        .as_str()
        .expect("message");
    assert!(
        msg.starts_with("mx.expired.test [127.0.0.1] still serves a certificate that expired on "),
        "{msg}"
    );

    assert_explained(
        &doc,
        "fixed.test",
        "certificate-expired",
        "gone",
        "certificate-now-valid",
    );
    let msg = explanation(&doc, "fixed.test", "certificate-expired")["message"]
        .as_str()
        .expect("message");
    assert!(
        msg.contains("now serves a certificate valid until"),
        "{msg}"
    );

    assert_explained(
        &doc,
        "fixed.test",
        "starttls-not-supported",
        "not-reproducible",
        "ip-not-an-mx-address",
    );
    let msg = explanation(&doc, "fixed.test", "starttls-not-supported")["message"]
        .as_str()
        .expect("message");
    assert!(
        msg.contains(
            "192.0.2.99 is not an address of today's MX hosts (mx.fixed.test [127.0.0.1])"
        ),
        "{msg}"
    );

    assert_explained(
        &doc,
        "stsbad.test",
        "sts-policy-invalid",
        "still-present",
        "sts-mx-not-covered",
    );
    let msg = explanation(&doc, "stsbad.test", "sts-policy-invalid")["message"]
        .as_str()
        .expect("message");
    assert!(msg.contains("mail.elsewhere.test"), "{msg}");
    assert!(
        https
            .requests()
            .iter()
            .any(|r| r.contains("/.well-known/mta-sts.txt")),
        "{:?}",
        https.requests()
    );

    assert_eq!(doc["totals"]["still_present"], 2);
    assert_eq!(doc["totals"]["gone"], 1);
    assert_eq!(doc["totals"]["not_reproducible"], 1);
    assert_eq!(code, 1, "causes still present");
    for (_, server) in &lab.servers {
        lab::scenario::assert_polite(server);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_exits_zero_when_no_cause_is_still_present() {
    let (lab, _https, rule) = lab().await;
    let reports = [report(
        "fixed-2",
        "fixed.test",
        "no-policy-found",
        vec![
            failure("certificate-expired", "mx.fixed.test", "127.0.0.1"),
            failure("starttls-not-supported", "mx.fixed.test", "192.0.2.99"),
            failure("quantum-entanglement-lost", "mx.fixed.test", "127.0.0.1"),
        ],
    )];
    let (code, doc) = audit(&lab, &rule, &reports).await;
    assert_explained(
        &doc,
        "fixed.test",
        "quantum-entanglement-lost",
        "not-reproducible",
        "unknown-result-type",
    );
    assert_eq!(doc["totals"]["still_present"], 0);
    assert_eq!(code, 0, "failures in the reports, but none still present");

    // The table says the same, with the ids.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.json");
    std::fs::write(&path, reports[0].to_string()).expect("write report");
    let path = path.display().to_string();
    let run = lab
        .smtptls(
            &["tlsrpt", "--audit"],
            &[&path],
            &["--scan", "off", "--connect-to", &rule],
        )
        .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The table wraps prose to the width (the lab's COLUMNS): the words
    // are compared, not where the lines break.
    let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for text in [
        "gone",
        "not reproducible",
        "mx.fixed.test [127.0.0.1] now serves a certificate valid until",
        "[certificate-now-valid]",
        "[ip-not-an-mx-address]",
        "quantum-entanglement-lost (unknown type)",
        "audit: 0 still present, 1 gone, 2 not reproducible",
    ] {
        assert!(words.contains(text), "{text:?} not in\n{}", run.stdout);
    }
}
