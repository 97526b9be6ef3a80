//! End to end: REQUIRETLS in the EHLO inside TLS, and OCSP stapling (the
//! main hello's status_request, the staple's status, freshness and
//! signature, must-staple). Each lab case is also checked against
//! `openssl s_client -starttls smtp -status` where the machine has it, so
//! that the lab's staple is what a second TLS stack reads too. None of
//! these changes the verdict: each test asserts it stays `secure`.

mod lab;

use std::time::Duration;

use lab::pki::{Issuer, LeafSpec, OcspSpec, TestPki};
use lab::report::{finding, first_address, level, severity};
use lab::scenario::{Scenario, assert_polite, good};
use lab::smtp::{Behaviour, Ehlo, SmtpServer};
use serde_json::{Value, json};

fn verdict(json: &Value) -> &str {
    json["domains"][0]["verdict"].as_str().unwrap_or("?")
}

/// A good server whose leaf is `leaf` of the valid one, stapling the
/// response `spec` gives (none with `None`).
fn stapling(
    spec: Option<OcspSpec>,
    leaf: impl FnOnce(LeafSpec) -> LeafSpec,
) -> impl FnOnce(&TestPki, &str) -> Behaviour {
    move |pki, host| {
        let cert = pki.leaf(&leaf(LeafSpec::valid_for(host)));
        let cert = match spec {
            Some(spec) => {
                let response = pki.ocsp_response(&cert, &spec);
                cert.stapling(response)
            }
            None => cert,
        };
        Behaviour::good(host, cert)
    }
}

fn must_staple(leaf: LeafSpec) -> LeafSpec {
    LeafSpec {
        must_staple: true,
        ..leaf
    }
}

/// What `openssl s_client -starttls smtp -status` prints about the staple
/// of `server` (the lines from "OCSP response" on), or `None` without
/// openssl on this machine.
async fn openssl_status(server: &SmtpServer, host: &str) -> Option<String> {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("openssl")
            .args([
                "s_client",
                "-starttls",
                "smtp",
                "-status",
                "-servername",
                host,
            ])
            .arg("-connect")
            .arg(server.addr.to_string())
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("openssl s_client finishes");
    let Ok(out) = out else {
        eprintln!("no openssl on this machine: the cross-check is skipped");
        return None;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let start = text
        .find("OCSP response")
        .unwrap_or_else(|| panic!("openssl printed no OCSP section:\n{text}"));
    let section = text[start..]
        .lines()
        .take(30)
        .collect::<Vec<_>>()
        .join("\n");
    // For the record of each lab case (`--nocapture`).
    eprintln!("openssl s_client -status for {host}:\n{section}");
    Some(section)
}

#[tokio::test(flavor = "multi_thread")]
async fn requiretls_inside_tls_is_reported_in_json_table_and_csv_and_changes_nothing() {
    let requiretls = |pki: &TestPki, host: &str| Behaviour {
        ehlo: Ehlo::RequireTls,
        ..good(pki, host)
    };
    let scenario = Scenario::new("requiretls");
    let domain = scenario.domain.clone();
    let lab = scenario.lab(requiretls).await;
    let run = lab.check_json(&[&domain], &["--scan", "off"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, &domain);
    assert_eq!(a["tls"]["requiretls"], true);
    // Only inside TLS, where RFC 8689 has it advertised.
    assert!(!a["extensions"].to_string().contains("REQUIRETLS"));
    assert!(a["extensions_after_tls"].to_string().contains("REQUIRETLS"));
    let (sev, msg) = finding(a, "smtp.requiretls").expect("smtp.requiretls");
    assert_eq!(sev, "ok");
    assert!(msg.contains("is advertised"), "{msg}");

    let table = lab.check_table(&[&domain], &["--scan", "off", "-v"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("REQUIRETLS is advertised inside TLS"),
        "{}",
        table.stdout
    );
    let csv = lab
        .smtptls(
            &["check", "--format", "csv"],
            &[&domain],
            &["--scan", "off"],
        )
        .await;
    let mut reader = ::csv::Reader::from_reader(csv.stdout.as_bytes());
    let header = reader.headers().expect("header").clone();
    let row = reader
        .records()
        .next()
        .expect("a row")
        .expect("a CSV record");
    let column = header
        .iter()
        .position(|c| c == "requiretls")
        .expect("requiretls column");
    assert_eq!(&row[column], "true");
    assert_polite(&lab.servers[0].1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_requiretls_or_a_staple_says_so() {
    let (run, json, _) = Scenario::new("nostaple")
        .args(&["--scan", "off"])
        .check(good)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, "nostaple.test");
    assert_eq!(a["tls"]["requiretls"], false);
    assert_eq!(
        finding(a, "smtp.requiretls").map(|f| f.0),
        Some("ok".into())
    );
    assert_eq!(a["tls"]["ocsp_stapled"], false);
    assert_eq!(a["tls"]["ocsp"], Value::Null);
    assert_eq!(a["certificate"]["must_staple"], false);
    assert_eq!(severity(a, "tls.ocsp-stapling"), "ok");
    assert_eq!(level(a, "tls.ocsp-stapling"), Some(&json!("sufficient")));
    assert_eq!(severity(a, "cert.must-staple"), "absent");
    // NCSC-NL: no stapling is sufficient, so the axis is no better.
    assert_eq!(a["configuration"]["level"], "sufficient");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_staple_is_read_and_its_signature_checked() {
    let (run, json, server) = Scenario::new("staple-good")
        .args(&["--scan", "off"])
        .check(stapling(Some(OcspSpec::good()), |l| l))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, "staple-good.test");
    // The main hello asked (status_request), or rustls would not staple.
    assert_eq!(a["tls"]["ocsp_stapled"], true);
    let o = &a["tls"]["ocsp"];
    assert_eq!(o["status"], "good");
    assert_eq!(o["freshness"], "fresh");
    assert_eq!(o["signature"], "valid");
    assert_eq!(o["problem"], Value::Null);
    assert!(o["next_update"].is_string());
    assert_eq!(severity(a, "tls.ocsp-stapling"), "ok");
    assert_eq!(level(a, "tls.ocsp-stapling"), Some(&json!("good")));
    if let Some(openssl) = openssl_status(&server, "mx.staple-good.test").await {
        assert!(
            openssl.contains("OCSP Response Status: successful"),
            "{openssl}"
        );
        assert!(openssl.contains("Cert Status: good"), "{openssl}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_staple_warns_and_the_verdict_follows_the_mtas() {
    let (run, json, server) = Scenario::new("staple-revoked")
        .args(&["--scan", "off"])
        .check(stapling(Some(OcspSpec::revoked()), |l| l))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, "staple-revoked.test");
    let o = &a["tls"]["ocsp"];
    assert_eq!(o["status"], "revoked");
    assert_eq!(o["signature"], "valid");
    assert!(o["revoked_at"].is_string());
    let (sev, msg) = finding(a, "tls.ocsp-stapling").expect("finding");
    assert_eq!(sev, "warn");
    assert!(msg.contains("revoked"), "{msg}");
    assert_eq!(level(a, "tls.ocsp-stapling"), Some(&json!("sufficient")));
    if let Some(openssl) = openssl_status(&server, "mx.staple-revoked.test").await {
        assert!(openssl.contains("Cert Status: revoked"), "{openssl}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_staple_is_stale() {
    let (run, json, server) = Scenario::new("staple-expired")
        .args(&["--scan", "off"])
        .check(stapling(Some(OcspSpec::expired()), |l| l))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, "staple-expired.test");
    let o = &a["tls"]["ocsp"];
    assert_eq!(o["status"], "good");
    assert_eq!(o["freshness"], "expired");
    let (sev, msg) = finding(a, "tls.ocsp-stapling").expect("finding");
    assert_eq!(sev, "warn");
    assert!(msg.contains("expired"), "{msg}");
    if let Some(openssl) = openssl_status(&server, "mx.staple-expired.test").await {
        assert!(openssl.contains("Cert Status: good"), "{openssl}");
        assert!(openssl.contains("Next Update"), "{openssl}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn must_staple_without_a_staple_warns_and_keeps_the_verdict() {
    let (run, json, server) = Scenario::new("muststaple")
        .args(&["--scan", "off"])
        .check(stapling(None, must_staple))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, "muststaple.test");
    assert_eq!(a["certificate"]["must_staple"], true);
    assert_eq!(a["tls"]["ocsp"], Value::Null);
    let (sev, msg) = finding(a, "cert.must-staple").expect("cert.must-staple");
    assert_eq!(sev, "warn");
    assert!(
        msg.contains("none is stapled") && msg.contains("Postfix"),
        "{msg}"
    );
    let fix = a["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == "cert.must-staple"))
        .map(|f| f["fix"]["text"].to_string())
        .unwrap_or_default();
    assert!(fix.contains("staple a current OCSP response"), "{fix}");
    if let Some(openssl) = openssl_status(&server, "mx.muststaple.test").await {
        assert!(
            openssl.contains("OCSP response: no response sent"),
            "{openssl}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn must_staple_with_a_good_staple_is_ok() {
    let (run, json, _) = Scenario::new("muststaple-ok")
        .args(&["--scan", "off"])
        .check(stapling(Some(OcspSpec::good()), must_staple))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let a = first_address(&json, "muststaple-ok.test");
    assert_eq!(severity(a, "cert.must-staple"), "ok");
    assert_eq!(a["tls"]["ocsp"]["status"], "good");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staple_without_its_issuer_served_is_not_checked() {
    // Signed by the root, which the server does not send: nothing to
    // check the response's signature with.
    let (run, json, _) = Scenario::new("staple-rootissued")
        .args(&["--scan", "off"])
        .check(stapling(Some(OcspSpec::good()), |l| LeafSpec {
            issuer: Issuer::Root,
            ..l
        }))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let o = &first_address(&json, "staple-rootissued.test")["tls"]["ocsp"];
    assert_eq!(o["status"], "good");
    assert_eq!(o["signature"], "not_checked");
    assert!(
        o["problem"]
            .as_str()
            .is_some_and(|p| p.contains("not served")),
        "{o}"
    );
}

/// The lab's responses are what OpenSSL's OCSP client accepts: signed by
/// the issuing CA (`Response verify OK`) and about the leaf, with the
/// status asked for. A response for another PKI's leaf is refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_lab_staples_verify_with_openssl_ocsp() {
    let pki = TestPki::new();
    let dir = pki.dir();
    let cert = pki.leaf(&LeafSpec::valid_for("mx.example.test"));
    let der_to_pem = |der: &[u8], name: &str| {
        let der_path = dir.join(format!("{name}.der"));
        let pem_path = dir.join(format!("{name}.pem"));
        std::fs::write(&der_path, der).expect("write DER");
        let ok = std::process::Command::new("openssl")
            .args(["x509", "-inform", "DER", "-in"])
            .arg(&der_path)
            .arg("-out")
            .arg(&pem_path)
            .status()
            .map(|s| s.success());
        ok.ok().map(|_| pem_path)
    };
    let Some(leaf) = der_to_pem(cert.leaf_der().as_ref(), "leaf") else {
        eprintln!("no openssl on this machine: the cross-check is skipped");
        return;
    };
    let issuer = der_to_pem(cert.chain[1].as_ref(), "issuer").expect("issuer PEM");
    let openssl_ocsp = |response: &[u8], name: &str| {
        let path = dir.join(format!("{name}.ocsp"));
        std::fs::write(&path, response).expect("write response");
        let out = std::process::Command::new("openssl")
            .arg("ocsp")
            .arg("-respin")
            .arg(&path)
            .arg("-issuer")
            .arg(&issuer)
            .arg("-CAfile")
            .arg(pki.ca_file())
            // The lab's CertID hashes with SHA-256: OpenSSL then matches
            // name hash, key hash and serial, so all three are right.
            .arg("-sha256")
            .arg("-cert")
            .arg(&leaf)
            .arg("-no_nonce")
            .output()
            .expect("openssl ocsp runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    for (spec, status) in [
        (OcspSpec::good(), ": good"),
        (OcspSpec::revoked(), ": revoked"),
    ] {
        let out = openssl_ocsp(&pki.ocsp_response(&cert, &spec), "lab");
        assert!(out.contains("Response verify OK"), "{out}");
        assert!(out.contains(status), "{out}");
    }
    // Signed by another lab's CA: OpenSSL refuses it, as smtptls does.
    let other = TestPki::new();
    let foreign = other.leaf(&LeafSpec::valid_for("mx.example.test"));
    let out = openssl_ocsp(&other.ocsp_response(&foreign, &OcspSpec::good()), "foreign");
    assert!(!out.contains("Response verify OK"), "{out}");
}
