//! `schema/report.schema.json` against the real `--format json` output.
//!
//! One lab run covers every shape a report can take (good and plaintext
//! MX, IPv4 and IPv6 addresses, null MX, NXDOMAIN, SERVFAIL, implicit MX,
//! CNAME MX, bad certificates, unreachable and address-less MX hosts, an
//! address never probed, a localhost MX, addresses beyond the cap), and
//! the whole document must validate. The schema sets
//! `additionalProperties: false` everywhere, so a field added in code but
//! not in the schema fails here.

#![recursion_limit = "256"]
mod lab;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use lab::dns::ZoneBuilder;
use lab::pki::{LeafSpec, TestPki};
use lab::report::domain;
use lab::run::Lab;
use lab::scenario::{good, good_with, self_signed};
use lab::server::closed_port;
use lab::smtp::{Behaviour, SmtpServer};
use serde_json::{Value, json};
use smtptls::vocabulary::{ErrorKind, FindingId};
use time::{Duration, OffsetDateTime};

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/report.schema.json");

fn schema() -> Value {
    let text =
        std::fs::read_to_string(SCHEMA_PATH).unwrap_or_else(|e| panic!("read {SCHEMA_PATH}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{SCHEMA_PATH} is not JSON: {e}"))
}

/// A Draft 2020-12 validator for the schema, with `format` checked
/// (date-time, ipv4, ipv6) rather than treated as an annotation.
fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema())
        .unwrap_or_else(|e| panic!("{SCHEMA_PATH} does not compile: {e}"))
}

/// Every validation error, one per line, with the instance path. For
/// `anyOf`/`oneOf` (how nullable objects are written), each branch's own
/// errors follow, indented, since the summary line alone hides which
/// property was wrong.
fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for error in validator.iter_errors(instance) {
        describe(&error, 0, &mut lines);
    }
    lines
}

fn describe(error: &ValidationError<'_>, depth: usize, lines: &mut Vec<String>) {
    lines.push(format!(
        "{:indent$}at {:?}: {error} (schema: {})",
        "",
        error.instance_path().as_str(),
        error.schema_path(),
        indent = depth * 4
    ));
    if let ValidationErrorKind::AnyOf { context }
    | ValidationErrorKind::OneOfNotValid { context }
    | ValidationErrorKind::OneOfMultipleValid { context } = error.kind()
    {
        for (i, branch) in context.iter().enumerate() {
            lines.push(format!("{:indent$}branch {i}:", "", indent = depth * 4 + 2));
            for nested in branch {
                describe(nested, depth + 1, lines);
            }
        }
    }
}

fn assert_valid(validator: &jsonschema::Validator, report: &Value) {
    let errors = errors(validator, report);
    assert!(
        errors.is_empty(),
        "the report does not match {SCHEMA_PATH}:\n{}\n\nreport:\n{report:#}",
        errors.join("\n")
    );
}

/// `(domain, expected verdict)` of the lab run.
const DOMAINS: &[(&str, &str)] = &[
    ("secure.test", "secure"),
    ("good.test", "partial"),
    ("nullmx.test", "no-mail"),
    ("nx.test", "error"),
    ("broken.test", "error"),
    ("implicit.test", "secure"),
    ("empty.test", "error"),
    ("alias.test", "secure"),
    ("expired.test", "encrypted"),
    ("selfsigned.test", "encrypted"),
    ("refused.test", "error"),
    ("noaddr.test", "error"),
    ("unusable.test", "error"),
    ("dual.test", "secure"),
];

/// Runs the binary once over a lab with every kind of domain.
async fn lab_report() -> Value {
    let pki = TestPki::new();
    let now = OffsetDateTime::now_utc();

    let good_mx1 = good(&pki, "mx1.good.test");
    let mx1 = SmtpServer::start(good_mx1.clone()).await;
    // The same port on ::1, so mx1.good.test's AAAA record reaches the
    // same behaviour; hosts without IPv6 loopback just skip that address.
    let v6_addr = SocketAddr::from((Ipv6Addr::LOCALHOST, mx1.port()));
    let mx1_v6 = match SmtpServer::start_on(v6_addr, good_mx1).await {
        Ok(server) => Some(server),
        Err(e) => {
            eprintln!("skipping the ::1 address: cannot bind {v6_addr}: {e}");
            None
        }
    };
    let plain = SmtpServer::start(Behaviour::plain("mx2.good.test")).await;
    let implicit = SmtpServer::start(good(&pki, "implicit.test")).await;
    let alias = SmtpServer::start(good(&pki, "mx.alias.test")).await;
    let expired = SmtpServer::start(good_with(&pki, "mx.expired.test", |leaf| LeafSpec {
        not_before: now - Duration::days(100),
        not_after: now - Duration::days(10),
        ..leaf
    }))
    .await;
    let selfsigned = SmtpServer::start(self_signed(&pki, "mx.selfsigned.test")).await;
    // An ECDSA and an RSA chain: `other_certificates` filled.
    let dual = SmtpServer::start(Behaviour::good(
        "mx.dual.test",
        pki.leaf(&LeafSpec::valid_for("mx.dual.test"))
            .with_alternative(pki.leaf(&LeafSpec {
                key: lab::pki::KeyKind::Rsa2048,
                ..LeafSpec::valid_for("mx.dual.test")
            })),
    ))
    .await;
    let closed_port = closed_port();

    let mut zone = ZoneBuilder::new()
        .mx("secure.test.", 10, "mx1.good.test.")
        .mx("good.test.", 10, "mx1.good.test.")
        .mx("good.test.", 20, "mx2.good.test.")
        .a("mx1.good.test.", Ipv4Addr::LOCALHOST)
        .a("mx2.good.test.", Ipv4Addr::LOCALHOST)
        .mx("nullmx.test.", 0, ".")
        .servfail("broken.test.")
        .a("implicit.test.", Ipv4Addr::LOCALHOST)
        // Exists (NOERROR) but has neither MX nor addresses.
        .txt("empty.test.", &["v=spf1 -all"])
        .mx("alias.test.", 10, "mx.alias.test.")
        .cname("mx.alias.test.", "real.alias.test.")
        .a("real.alias.test.", Ipv4Addr::LOCALHOST)
        .mx("expired.test.", 10, "mx.expired.test.")
        .a("mx.expired.test.", Ipv4Addr::LOCALHOST)
        .mx("selfsigned.test.", 10, "mx.selfsigned.test.")
        .a("mx.selfsigned.test.", Ipv4Addr::LOCALHOST)
        .mx("dual.test.", 10, "mx.dual.test.")
        .a("mx.dual.test.", Ipv4Addr::LOCALHOST)
        .mx("refused.test.", 10, "mx.refused.test.")
        .a("mx.refused.test.", Ipv4Addr::LOCALHOST)
        // The MX host does not exist at all.
        .mx("noaddr.test.", 10, "mx.noaddr.test.")
        // An address never probed, more addresses than the cap, and a
        // localhost MX.
        .mx("unusable.test.", 10, "mx.unusable.test.")
        .mx("unusable.test.", 20, "localhost.")
        .a("mx.unusable.test.", Ipv4Addr::UNSPECIFIED);
    for last in 2..=6 {
        zone = zone.a("mx.unusable.test.", Ipv4Addr::new(127, 0, 0, last));
    }
    if mx1_v6.is_some() {
        zone = zone.aaaa("mx1.good.test.", Ipv6Addr::LOCALHOST);
    }
    let dns = zone.start().await;

    let mut lab = Lab::new(dns, pki);
    lab.serve("mx1.good.test", mx1)
        .serve("mx2.good.test", plain)
        .serve("implicit.test", implicit)
        .serve("mx.alias.test", alias)
        .serve("mx.expired.test", expired)
        .serve("mx.selfsigned.test", selfsigned)
        .serve("mx.dual.test", dual);
    let refused_rule = format!("mx.refused.test:25::{closed_port}");
    let unusable_rule = format!("mx.unusable.test:25::{closed_port}");
    let names: Vec<&str> = DOMAINS.iter().map(|(d, _)| *d).collect();
    let run = lab
        .check_json(
            &names,
            &[
                "--connect-to",
                &refused_rule,
                "--connect-to",
                &unusable_rule,
            ],
        )
        .await;
    assert_eq!(
        run.code, 1,
        "expected exit 1 (domains below the threshold)\nstderr:\n{}",
        run.stderr
    );
    drop(mx1_v6);
    run.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_report_matches_schema() {
    let report = lab_report().await;
    assert_valid(&validator(), &report);

    // The run really covered the shapes it is meant to cover.
    for (name, verdict) in DOMAINS {
        assert_eq!(
            domain(&report, name)["verdict"],
            *verdict,
            "{name}: {:#}",
            domain(&report, name)
        );
    }
    let good = domain(&report, "good.test");
    let mx1_ips: Vec<&str> = good["mx"][0]["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| a["ip"].as_str().expect("ip"))
        .collect();
    assert!(mx1_ips.contains(&"127.0.0.1"), "{mx1_ips:?}");
    assert_eq!(good["mx"][1]["addresses"][0]["tls"], Value::Null);
    assert_eq!(
        domain(&report, "dual.test")["mx"][0]["addresses"][0]["other_certificates"][0]["key_type"],
        "rsa"
    );
    assert_eq!(domain(&report, "nullmx.test")["mx_source"], "null");
    assert_eq!(domain(&report, "implicit.test")["mx_source"], "implicit");
    assert_eq!(domain(&report, "empty.test")["mx_source"], "none");
    assert_eq!(domain(&report, "nx.test")["error"]["kind"], "nxdomain");
    assert_eq!(domain(&report, "broken.test")["error"]["phase"], "dns");
    assert_eq!(
        domain(&report, "alias.test")["mx"][0]["cname"],
        "real.alias.test"
    );
    assert_eq!(
        domain(&report, "expired.test")["mx"][0]["addresses"][0]["certificate"]["chain_error"],
        "expired"
    );
    assert_eq!(
        domain(&report, "selfsigned.test")["mx"][0]["addresses"][0]["certificate"]["chain_error"],
        "self-signed"
    );
    assert_eq!(
        domain(&report, "refused.test")["mx"][0]["addresses"][0]["error"]["phase"],
        "connect"
    );
    assert_eq!(
        domain(&report, "noaddr.test")["mx"][0]["error"]["kind"],
        "no-address"
    );
    let unusable = domain(&report, "unusable.test");
    assert_eq!(
        unusable["mx"][0]["addresses"][0]["error"]["kind"],
        "not-probed"
    );
    assert_eq!(
        unusable["mx"][0]["addresses_left_out"],
        json!(["127.0.0.6"])
    );
    assert_eq!(unusable["mx"][1]["error"]["kind"], "localhost");
}

#[test]
fn schema_is_valid_draft_2020_12() {
    let schema = schema();
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "the schema must declare Draft 2020-12"
    );
    let meta = jsonschema::draft202012::meta::validator();
    let problems: Vec<String> = meta
        .iter_errors(&schema)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    assert!(
        problems.is_empty(),
        "{SCHEMA_PATH} is not a valid Draft 2020-12 schema:\n{}",
        problems.join("\n")
    );
    // And it compiles (every $ref resolves).
    validator();
}

#[test]
fn every_object_is_closed_and_fully_required_and_documented() {
    // Only the step times may be absent (steps not reached).
    lab::schema::assert_closed_required_documented(&schema(), |at, name| {
        at.ends_with("/timings") && name != "total"
    });
}

/// A minimal report that validates, to mutate.
fn sample_report() -> Value {
    json!({
        "schema_version": 1,
        "tool": { "name": "smtptls", "version": "0.1.0" },
        "generated_at": "2025-01-01T00:00:00Z",
        "settings": {
            "service": "smtp",
            "port": 25,
            "fail_below": "encrypted",
            "fail_level": null,
            "expiry_warn_days": 14,
            "extra_trust_anchors": 0,
            "resolvers": ["system"],
            "dnssec": "validate",
            "scan": "light",
            "allow_local_addresses": false,
            "max_mx_hosts": 10,
            "max_addresses_per_host": 5,
            "address_budget_secs": 90.0,
            "merged_from": [],
            "input_differences": []
        },
        "domains": [{
            "domain": "example.test",
            "service": "smtp",
            "verdict": "plaintext",
            "verdict_reason": "no reachable MX address has working STARTTLS",
            "mx_source": "mx",
            "mx": [{
                "host": "mx.example.test",
                "preference": 10,
                "cname": null,
                "dnssec": "insecure",
                "tlsa": null,
                "mta_sts_match": null,
                "post_quantum": null,
                "addresses": [{
                    "ip": "2001:db8::25",
                    "port": 25,
                    "starttls": false,
                    "banner": "220 mx.example.test ESMTP",
                    "extensions": ["PIPELINING", "SIZE 10240000"],
                    "extensions_after_tls": null,
                    "tls": null,
                    "certificate": null,
                    "other_certificates": [],
                    "dane": "insecure",
                    "post_quantum": null,
                    "scan": {
                        "mode": "light",
                        "connections": 7,
                        "complete": true,
                        "stopped": null,
                        "versions": [
                            { "version": "SSLv3", "accepted": false, "preferred_suite": null, "suites": [], "error": null },
                            { "version": "TLSv1.0", "accepted": true, "preferred_suite": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                              "suites": [{ "name": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "level": "insufficient" }], "error": null },
                            { "version": "TLSv1.1", "accepted": null, "preferred_suite": null, "suites": [], "error": "no answer to the ClientHello within 10 s" },
                            { "version": "TLSv1.2", "accepted": true, "preferred_suite": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
                              "suites": [{ "name": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "level": "phase-out" }], "error": null },
                            { "version": "TLSv1.3", "accepted": false, "preferred_suite": null, "suites": [], "error": null }
                        ],
                        "accepted_versions": ["TLSv1.0", "TLSv1.2"],
                        "server_order": true,
                        "weak_suites": { "null": false, "anonymous": false, "export": false, "rc4": false,
                                         "des": false, "triple_des": true, "static_rsa": true, "cbc": true },
                        "dhe": { "bits": 1024, "group": null, "level": "insufficient" },
                        "groups": [{ "name": "secp256r1", "level": "good" }],
                        "post_quantum_accepted": null,
                        "compression": false,
                        "secure_renegotiation": true
                    },
                    "starttls_injection": { "result": "vulnerable", "reply": "250 2.0.0 Ok", "error": null },
                    "legacy_tls": false,
                    "legacy_session": null,
                    "configuration": {
                        "level": "insufficient",
                        "items": ["tls.protocols: TLSv1.0 accepted (insufficient)"],
                        "lower_bound": false
                    },
                    "error": null,
                    "findings": [{
                        "id": "starttls.offered",
                        "severity": "fail",
                        "message": "STARTTLS is not offered",
                        "level": null,
                        "fix": { "by": "receiver", "text": "turn on STARTTLS" }
                    }, {
                        "id": "tls.key-exchange",
                        "severity": "fail",
                        "message": "key exchange: DHE with a 1024-bit custom group (insufficient)",
                        "level": "insufficient",
                        "fix": null
                    }],
                    "timings_ms": { "connect": 1, "banner": 2, "ehlo": 3, "total": 7 }
                }],
                "addresses_left_out": ["192.0.2.99", "2001:db8::99"],
                "findings": [],
                "error": null
            }],
            "mx_left_out": [{ "host": "mx11.example.test", "preference": 110 }],
            "dnssec": "insecure",
            "mta_sts": { "record": "absent", "id": null, "policy": null, "fetch_error": null },
            "tls_rpt": { "record": "absent", "rua": [] },
            "configuration": {
                "level": "insufficient",
                "items": ["mx.example.test [192.0.2.1]: tls.protocols: TLSv1.0 accepted (insufficient)"],
                "lower_bound": false
            },
            "delivery": {
                "opportunistic": { "result": "cleartext", "reason": "clear text to mx.example.test [2001:db8::25]: STARTTLS not offered" },
                "mta_sts": { "result": "not-applicable", "reason": "no MTA-STS record" },
                "dane": { "result": "not-applicable", "reason": "MX hosts not DNSSEC-signed: DANE does not apply, DANE senders deliver as opportunistic ones" }
            },
            "findings": [],
            "error": null
        }],
        "summary": {
            "domains": 1,
            "verdicts": { "protected": 0, "secure": 0, "encrypted": 0, "partial": 0, "plaintext": 1, "broken": 0, "error": 0, "no-mail": 0 },
            "below_threshold": 1,
            "below_level": 0,
            "setup_errors": 0,
            "probes": 1,
            "mx_reused": 0,
            "dns_retries": 0,
            "stopped": null
        }
    })
}

/// The one address row of the sample.
fn address(report: &mut Value) -> &mut Value {
    &mut report["domains"][0]["mx"][0]["addresses"][0]
}

/// Applies `mutate` to a copy of the sample and asserts the schema rejects it.
fn assert_rejected(validator: &jsonschema::Validator, what: &str, mutate: impl Fn(&mut Value)) {
    let mut report = sample_report();
    mutate(&mut report);
    assert!(
        !validator.is_valid(&report),
        "the schema accepts a report with {what}:\n{report:#}"
    );
}

#[test]
fn schema_rejects_what_the_tool_never_writes() {
    let validator = validator();
    assert_valid(&validator, &sample_report());

    assert_rejected(&validator, "an unknown top-level property", |r| {
        r["extra"] = json!(true);
    });
    assert_rejected(&validator, "an unknown address property", |r| {
        address(r)["dane"] = json!(null);
    });
    assert_rejected(
        &validator,
        "an unknown key type of another certificate",
        |r| {
            address(r)["other_certificates"] = json!([{
                "key_type": "ed25519", "certificate": null, "dane": "valid"
            }]);
        },
    );
    assert_rejected(&validator, "an unknown verdict", |r| {
        r["domains"][0]["verdict"] = json!("excellent");
    });
    assert_rejected(&validator, "an unknown verdict in the summary", |r| {
        r["summary"]["verdicts"] = json!({ "excellent": 1 });
    });
    assert_rejected(&validator, "another schema_version", |r| {
        r["schema_version"] = json!(2);
    });
    assert_rejected(&validator, "a missing nullable field", |r| {
        r["domains"][0]["mx"][0]
            .as_object_mut()
            .expect("mx object")
            .remove("cname");
    });
    assert_rejected(&validator, "a missing total time", |r| {
        address(r)["timings_ms"] = json!({ "connect": 1 });
    });
    assert_rejected(&validator, "an unknown finding id", |r| {
        address(r)["findings"][0]["id"] = json!("starttls.required");
    });
    assert_rejected(&validator, "an unknown severity", |r| {
        address(r)["findings"][0]["severity"] = json!("error");
    });
    assert_rejected(&validator, "a finding without its fix field", |r| {
        address(r)["findings"][0]
            .as_object_mut()
            .expect("finding")
            .remove("fix");
    });
    assert_rejected(&validator, "a fix for nobody", |r| {
        address(r)["findings"][0]["fix"]["by"] = json!("everyone");
    });
    assert_rejected(&validator, "a fix without its text", |r| {
        address(r)["findings"][0]["fix"] = json!({ "by": "sender" });
    });
    assert_rejected(&validator, "a port out of range", |r| {
        address(r)["port"] = json!(70000);
    });
    assert_rejected(&validator, "an IP address that is not one", |r| {
        address(r)["ip"] = json!("mx.example.test");
    });
    assert_rejected(&validator, "a timestamp that is not RFC 3339", |r| {
        r["generated_at"] = json!("yesterday");
    });
    assert_rejected(&validator, "a TLS object without its fields", |r| {
        address(r)["tls"] = json!({});
    });
    assert_rejected(&validator, "an unknown NCSC-NL level", |r| {
        address(r)["findings"][1]["level"] = json!("weak");
    });
    assert_rejected(&validator, "a finding without its level", |r| {
        address(r)["findings"][0]
            .as_object_mut()
            .expect("finding object")
            .remove("level");
    });
    assert_rejected(&validator, "an unknown configuration level", |r| {
        address(r)["configuration"]["level"] = json!("weak");
    });
    assert_rejected(&validator, "a configuration without its items", |r| {
        r["domains"][0]["configuration"]
            .as_object_mut()
            .expect("configuration object")
            .remove("items");
    });
    assert_rejected(&validator, "an unknown protocol version", |r| {
        address(r)["scan"]["accepted_versions"] = json!(["TLSv1.4"]);
    });
    assert_rejected(&validator, "an unknown weak-suite category", |r| {
        address(r)["scan"]["weak_suites"]["idea"] = json!(true);
    });
    assert_rejected(&validator, "an unknown injection result", |r| {
        address(r)["starttls_injection"]["result"] = json!("maybe");
    });
    assert_rejected(
        &validator,
        "a scan mode of off (never written: no scan is null)",
        |r| {
            address(r)["scan"]["mode"] = json!("off");
        },
    );
    assert_rejected(&validator, "an unknown error phase", |r| {
        address(r)["error"] = json!({ "phase": "data", "kind": "timeout", "message": "" });
    });
}

#[test]
fn finding_ids_match_the_code() {
    let schema = schema();
    let in_schema: BTreeSet<&str> = schema["$defs"]["finding_id"]["enum"]
        .as_array()
        .expect("$defs.finding_id.enum is an array")
        .iter()
        .map(|v| v.as_str().expect("finding ids are strings"))
        .collect();
    let in_code: BTreeSet<&str> = FindingId::ALL.iter().map(|id| id.as_str()).collect();
    let missing: Vec<_> = in_code.difference(&in_schema).collect();
    let stale: Vec<_> = in_schema.difference(&in_code).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "finding ids in the code but not in the schema: {missing:?}; \
         in the schema but not in the code: {stale:?}"
    );
    assert_eq!(
        in_schema.len(),
        schema["$defs"]["finding_id"]["enum"]
            .as_array()
            .map_or(0, Vec::len),
        "duplicate finding ids in the schema"
    );
}

#[test]
fn error_kinds_match_the_code() {
    let schema = schema();
    let in_schema: BTreeSet<&str> = schema["$defs"]["error_kind"]["enum"]
        .as_array()
        .expect("$defs.error_kind.enum is an array")
        .iter()
        .map(|v| v.as_str().expect("error kinds are strings"))
        .collect();
    let in_code: BTreeSet<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(in_schema, in_code, "error kinds: schema vs code");
}
