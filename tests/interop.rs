//! The interop suite's assertions: smtptls against real Postfix, Exim,
//! nsd + unbound and nginx, cross-checked with posttls-finger and
//! testssl.sh on the same lab in the same run.
//!
//! The lab is built by `tests/interop/run` (root; see docs/interop.md),
//! which runs this file with `SMTPTLS_LAB` set. Plain `cargo test` lists
//! these tests as ignored: they need that lab. Every address here is on
//! 127.0.0.0/8.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const RESOLVER: &str = "127.0.53.2";

fn lab() -> PathBuf {
    PathBuf::from(std::env::var("SMTPTLS_LAB").unwrap_or_else(|_| {
        panic!("SMTPTLS_LAB is not set: run the interop suite with `sudo tests/interop/run`")
    }))
}

/// What smtptls must say about one lab domain.
struct Scenario {
    domain: &'static str,
    verdict: &'static str,
    /// `id=severity` that must appear somewhere in the domain's findings.
    findings: &'static [&'static str],
    /// delivery results: opportunistic, MTA-STS sender, DANE sender.
    delivery: [&'static str; 3],
    /// `certificate.chain_error` of the first MX address ("" = not checked,
    /// "null" = the chain validates).
    chain_error: &'static str,
}

const NA: &str = "not-applicable";

const SCENARIOS: &[Scenario] = &[
    Scenario {
        domain: "valid.test",
        verdict: "secure",
        findings: &[
            "cert.chain.valid=ok",
            "cert.hostname=ok",
            "tls-rpt.record=ok",
        ],
        delivery: ["secure", NA, NA],
        chain_error: "null",
    },
    Scenario {
        domain: "expired.test",
        verdict: "encrypted",
        findings: &["cert.expiry=fail", "cert.chain.valid=fail"],
        delivery: ["secure", NA, NA],
        chain_error: "expired",
    },
    Scenario {
        domain: "wrongname.test",
        verdict: "encrypted",
        findings: &["cert.hostname=fail", "cert.chain.valid=ok"],
        delivery: ["secure", NA, NA],
        chain_error: "null",
    },
    Scenario {
        domain: "selfsigned.test",
        verdict: "encrypted",
        findings: &["cert.chain.valid=fail"],
        delivery: ["secure", NA, NA],
        chain_error: "self-signed",
    },
    Scenario {
        domain: "nointer.test",
        verdict: "encrypted",
        findings: &["cert.chain.valid=fail"],
        delivery: ["secure", NA, NA],
        chain_error: "incomplete-chain",
    },
    Scenario {
        domain: "rsa1024.test",
        verdict: "encrypted",
        findings: &["cert.key=fail", "tls.handshake=warn"],
        delivery: ["secure", NA, NA],
        chain_error: "",
    },
    Scenario {
        domain: "nostarttls.test",
        verdict: "plaintext",
        findings: &["starttls.offered=fail"],
        delivery: ["cleartext", NA, NA],
        chain_error: "",
    },
    Scenario {
        domain: "twomx.test",
        verdict: "partial",
        findings: &["starttls.offered=fail", "cert.chain.valid=ok"],
        delivery: ["secure", NA, NA],
        chain_error: "null",
    },
    Scenario {
        domain: "tls10.test",
        verdict: "plaintext",
        findings: &["tls.version=fail", "tls.handshake=fail"],
        delivery: ["cleartext", NA, NA],
        chain_error: "",
    },
    Scenario {
        domain: "dane.test",
        verdict: "protected",
        findings: &["dane.valid=ok"],
        delivery: ["secure", NA, "secure"],
        chain_error: "null",
    },
    Scenario {
        domain: "danebad.test",
        verdict: "broken",
        findings: &["dane.valid=fail", "delivery.dane=fail"],
        delivery: ["secure", NA, "deferred"],
        chain_error: "",
    },
    Scenario {
        domain: "stsgood.test",
        verdict: "protected",
        findings: &["mta-sts.policy=ok", "mta-sts.mx=ok"],
        delivery: ["secure", "secure", NA],
        chain_error: "null",
    },
    Scenario {
        domain: "stsbad.test",
        verdict: "broken",
        findings: &["mta-sts.mx=fail", "delivery.mta-sts=fail"],
        delivery: ["secure", "deferred", NA],
        chain_error: "",
    },
    Scenario {
        domain: "nullmx.test",
        verdict: "no-mail",
        findings: &["mx.null=info"],
        delivery: ["-", "-", "-"],
        chain_error: "",
    },
    Scenario {
        domain: "unreachable.test",
        verdict: "error",
        findings: &["smtp.connect=fail"],
        delivery: ["deferred", NA, NA],
        chain_error: "",
    },
    Scenario {
        domain: "exim.test",
        verdict: "protected",
        findings: &["dane.valid=ok", "cert.chain.valid=ok"],
        delivery: ["secure", NA, "secure"],
        chain_error: "null",
    },
    Scenario {
        domain: "eximexpired.test",
        verdict: "encrypted",
        findings: &["cert.expiry=fail"],
        delivery: ["secure", NA, NA],
        chain_error: "expired",
    },
];

fn smtptls(lab: &Path, dnssec: &[&str]) -> Value {
    let anchor = lab.join("dns/anchor.key");
    let ca = lab.join("pki/ca.pem");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtptls"));
    cmd.args(["check", "--format", "json", "--resolver", RESOLVER])
        .args(["--timeout", "5", "--ehlo-name", "probe.lab.test"])
        .arg("--ca-file")
        .arg(&ca);
    for a in dnssec {
        if *a == "ANCHOR" {
            cmd.arg(&anchor);
        } else {
            cmd.arg(a);
        }
    }
    cmd.args(SCENARIOS.iter().map(|s| s.domain));
    let out = cmd.output().expect("run smtptls");
    // Exit 1: some lab domains are below the default threshold on purpose.
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn domain<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["domains"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["domain"] == name))
        .unwrap_or_else(|| panic!("{name} missing from the report"))
}

/// Every `id=severity` in a domain row, at any level.
fn findings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(list)) = map.get("findings") {
                for f in list {
                    if let (Some(id), Some(sev)) = (f["id"].as_str(), f["severity"].as_str()) {
                        out.push(format!("{id}={sev}"));
                    }
                }
            }
            for (k, child) in map {
                if k != "findings" {
                    findings(child, out);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|c| findings(c, out)),
        _ => {}
    }
}

fn delivery(d: &Value) -> [String; 3] {
    let r = |k: &str| {
        d["delivery"][k]["result"]
            .as_str()
            .unwrap_or("-")
            .to_string()
    };
    [r("opportunistic"), r("mta_sts"), r("dane")]
}

/// Every MX address row of a domain: (MX host, address row).
fn addresses(d: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for mx in d["mx"].as_array().into_iter().flatten() {
        for a in mx["addresses"].as_array().into_iter().flatten() {
            out.push((mx["host"].as_str().unwrap_or("?").to_string(), a));
        }
    }
    out
}

fn pkix_valid(a: &Value) -> bool {
    a["tls"].is_object()
        && a["certificate"]["chain_valid"] == true
        && a["certificate"]["hostname_match"] == true
}

#[test]
#[ignore = "needs the interop lab: sudo tests/interop/run"]
fn scenarios_against_real_servers() {
    let lab = lab();
    let validated = smtptls(&lab, &["--trust-anchor", "ANCHOR"]);
    let trusted = smtptls(&lab, &["--dnssec", "trust-resolver"]);
    std::fs::write(
        lab.join("report.json"),
        serde_json::to_string_pretty(&validated).expect("JSON"),
    )
    .expect("write report");

    let mut failures = Vec::new();
    println!(
        "\n{:<18} {:<10} {:<45} delivery (opportunistic / mta-sts / dane)",
        "domain", "verdict", "checked findings"
    );
    for s in SCENARIOS {
        let d = domain(&validated, s.domain);
        let mut have = Vec::new();
        findings(d, &mut have);
        let verdict = d["verdict"].as_str().unwrap_or("?");
        if verdict != s.verdict {
            failures.push(format!(
                "{}: verdict {verdict}, expected {} ({})",
                s.domain, s.verdict, d["verdict_reason"]
            ));
        }
        for want in s.findings {
            if !have.iter().any(|h| h == want) {
                failures.push(format!("{}: no finding {want} (have {have:?})", s.domain));
            }
        }
        if !s.chain_error.is_empty() {
            let got = &d["mx"][0]["addresses"][0]["certificate"]["chain_error"];
            let got = got.as_str().unwrap_or("null");
            if got != s.chain_error {
                failures.push(format!(
                    "{}: chain_error {got}, expected {}",
                    s.domain, s.chain_error
                ));
            }
        }
        let got = delivery(d);
        if got != s.delivery.map(String::from) {
            failures.push(format!(
                "{}: delivery {got:?}, expected {:?}",
                s.domain, s.delivery
            ));
        }
        // Both DNSSEC modes — smtptls's own validation from the zone's KSK
        // and unbound's AD bit — must reach the same conclusions.
        let other = domain(&trusted, s.domain);
        for key in ["verdict", "dnssec"] {
            if d[key] != other[key] {
                failures.push(format!(
                    "{}: {key} is {} with --trust-anchor but {} with --dnssec trust-resolver",
                    s.domain, d[key], other[key]
                ));
            }
        }
        if s.domain != "nullmx.test" && d["dnssec"] != "secure" {
            failures.push(format!(
                "{}: dnssec {} in a signed zone",
                s.domain, d["dnssec"]
            ));
        }
        println!(
            "{:<18} {:<10} {:<45} {}",
            s.domain,
            verdict,
            s.findings.join(" "),
            got.join(" / ")
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// How posttls-finger's session to a domain ended, from its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finger {
    /// "Verified TLS connection established" (DANE match or PKIX + name).
    Verified,
    /// A TLS session without authentication (Untrusted/Anonymous/Trusted):
    /// posttls-finger goes on after a failed check ("verification
    /// failed"), where a sender enforcing that level would not deliver.
    Encrypted,
    /// Connected, but no TLS session (STARTTLS missing or handshake failed).
    NoTls,
    /// No MX address answered.
    Unreachable,
}

fn finger(lab: &Path, level: &str, domain: &str) -> (Finger, String) {
    let mut cmd = Command::new(lab.join("bin/lab-dns"));
    cmd.args(["posttls-finger", "-t", "5", "-T", "10", "-l", level]);
    if level == "secure" {
        // A verifying sender as MTA-STS defines one: the chain to a trusted
        // root and the MX host name (RFC 8461 §4.2).
        cmd.args(["-m", "hostname", "-F"])
            .arg(lab.join("pki/ca.pem"));
    }
    let out = cmd.arg(domain).output().expect("run posttls-finger");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let has = |s: &str| text.contains(s);
    let class = if has("Verified TLS connection established") {
        Finger::Verified
    } else if has("TLS connection established") {
        Finger::Encrypted
    } else if has("Connected to") {
        Finger::NoTls
    } else {
        Finger::Unreachable
    };
    let summary = text
        .lines()
        .filter(|l| {
            l.contains("established")
                || l.contains("verification failed")
                || l.contains("Failed to establish")
                || l.contains("SSL_connect error")
        })
        .map(|l| l.trim_start_matches("posttls-finger: "))
        .collect::<Vec<_>>()
        .join(" | ");
    (class, summary)
}

/// What posttls-finger must show for what smtptls says a sender would do.
/// `enforcing`: the sender authenticates (DANE with TLSA records), so only
/// a verified session delivers.
fn finger_agrees(result: &str, enforcing: bool, f: Finger) -> bool {
    match (result, enforcing) {
        ("secure", true) => f == Finger::Verified,
        // Without TLSA records posttls-finger at level dane is
        // opportunistic and authenticates nothing.
        ("secure", false) => f == Finger::Encrypted,
        ("cleartext", _) => f == Finger::NoTls,
        ("deferred", true) => f != Finger::Verified,
        ("deferred", false) => f == Finger::Unreachable,
        _ => false,
    }
}

/// posttls-finger is Postfix's own prober and the reference DANE
/// implementation. For every scenario: its `-l dane` outcome must match
/// smtptls's DANE-enforcing sender (or, without TLSA records, the
/// opportunistic sender that a DANE sender then is), and its `-l secure`
/// outcome must match whether smtptls found an address with a valid chain
/// and matching name.
#[test]
#[ignore = "needs the interop lab: sudo tests/interop/run"]
fn posttls_finger_agrees() {
    let lab = lab();
    let report = smtptls(&lab, &["--trust-anchor", "ANCHOR"]);
    let mut failures = Vec::new();
    println!(
        "\n{:<18} {:<28} {:<14} {:<28} {:<14}",
        "domain",
        "smtptls DANE sender",
        "posttls -l dane",
        "smtptls verifying sender",
        "posttls -l secure"
    );
    for s in SCENARIOS.iter().filter(|s| s.domain != "nullmx.test") {
        let d = domain(&report, s.domain);
        let [opportunistic, _, dane] = delivery(d);
        let dane_sender = if dane == NA {
            format!("{opportunistic} (no TLSA)")
        } else {
            dane.clone()
        };
        let dane_result = if dane == NA { &opportunistic } else { &dane };
        let (f_dane, dane_log) = finger(&lab, "dane", s.domain);
        let dane_ok = finger_agrees(dane_result, dane != NA, f_dane);
        let verified = addresses(d).iter().any(|(_, a)| pkix_valid(a));
        let (f_secure, secure_log) = finger(&lab, "secure", s.domain);
        let secure_ok = verified == (f_secure == Finger::Verified);
        println!(
            "{:<18} {:<28} {:<14} {:<28} {:<14}",
            s.domain,
            dane_sender,
            format!("{f_dane:?}"),
            if verified {
                "delivers (verified)"
            } else {
                "does not deliver"
            },
            format!("{f_secure:?}"),
        );
        if !dane_ok {
            failures.push(format!(
                "{}: smtptls DANE sender {dane_sender}, posttls-finger -l dane {f_dane:?}: {dane_log}",
                s.domain
            ));
        }
        if !secure_ok {
            failures.push(format!(
                "{}: smtptls verified={verified}, posttls-finger -l secure {f_secure:?}: {secure_log}",
                s.domain
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
