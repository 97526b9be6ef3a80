//! End to end, a dual-certificate MX (issue 30, point 1): a lab server
//! with an ECDSA and an RSA chain, each served to a client whose hello
//! offers that key type's signature schemes (`ServerCert::with_alternative`),
//! under a signed zone with TLSA records for both keys or for one. The
//! verdict follows the certificate the main handshake gets (the one
//! Postfix and Exim, offering both, get); the other is graded on its own.

mod lab;

use lab::dns::ZoneBuilder;
use lab::pki::{KeyKind, LeafSpec, ServerCert};
use lab::report::{delivery, domain, finding, severity};
use lab::scenario::Scenario;
use lab::smtp::{Behaviour, SmtpServer};
use serde_json::Value;
use smtptls::protection::dane::{Tlsa, suggest};

/// The `3 1 1` record of a served chain's leaf key.
fn ee(cert: &ServerCert) -> Tlsa {
    let ee = suggest(&cert.chain).into_iter().next().expect("3 1 1");
    assert_eq!((ee.usage, ee.selector, ee.matching), (3, 1, 1));
    ee
}

/// `NAME.test` in a signed zone, its MX served with an ECDSA chain (the
/// main one: rustls's client offers ECDSA first and the lab server
/// prefers it) and, when `dual`, an RSA chain beside it; `tlsa` picks the
/// records from (ECDSA, RSA). Runs `check` with `args`.
async fn case(
    name: &str,
    dual: bool,
    tlsa: impl FnOnce(&ServerCert, &ServerCert) -> Vec<Tlsa>,
    args: &[&str],
) -> (Value, SmtpServer) {
    let scenario = Scenario::new(name);
    let ec = scenario.cert();
    let rsa = scenario.pki().leaf(&LeafSpec {
        key: KeyKind::Rsa2048,
        ..LeafSpec::valid_for(&scenario.mx)
    });
    let records = tlsa(&ec, &rsa);
    let served = if dual { ec.with_alternative(rsa) } else { ec };
    let (run, json, server) = scenario
        .zone(ZoneBuilder::signed)
        .tlsa(&records)
        .args(args)
        .check(|_, mx| Behaviour::good(mx, served))
        .await;
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    (json, server)
}

fn address<'a>(json: &'a Value, name: &str) -> &'a Value {
    &domain(json, &format!("{name}.test"))["mx"][0]["addresses"][0]
}

#[tokio::test(flavor = "multi_thread")]
async fn tlsa_for_both_keys_grades_both_and_warns_about_nothing() {
    let (json, _) = case("dualboth", true, |ec, rsa| vec![ee(ec), ee(rsa)], &[]).await;
    let d = domain(&json, "dualboth.test");
    let a = address(&json, "dualboth");
    assert_eq!(a["certificate"]["key"]["type"], "EC");
    assert_eq!(a["dane"], "valid");
    let others = a["other_certificates"].as_array().expect("a list");
    assert_eq!(others.len(), 1, "{a:#}");
    assert_eq!(others[0]["key_type"], "rsa");
    assert_eq!(others[0]["certificate"]["key"]["type"], "RSA");
    assert_eq!(others[0]["certificate"]["chain_valid"], true);
    assert_eq!(others[0]["certificate"]["hostname_match"], true);
    assert_eq!(others[0]["dane"], "valid");
    assert_eq!(severity(a, "dane.other-certificate"), "ok");
    assert_eq!(severity(a, "cert.other-certificate"), "ok");
    assert_eq!(a["error"], Value::Null);
    assert_eq!(d["verdict"], "protected", "{:#}", d["verdict_reason"]);
}

/// The premise the interop suite checks with posttls-finger: records for
/// the ECDSA key only, and the domain keeps the verdict of the ECDSA
/// certificate those senders negotiate; the RSA certificate's mismatch is
/// a warning naming both key types. With `--scan off`: the second hello
/// runs in every mode.
#[tokio::test(flavor = "multi_thread")]
async fn tlsa_for_the_ecdsa_key_only_keeps_the_verdict_and_warns() {
    let (json, _) = case("dualec", true, |ec, _| vec![ee(ec)], &["--scan", "off"]).await;
    let (alone, _) = case(
        "dualecalone",
        false,
        |ec, _| vec![ee(ec)],
        &["--scan", "off"],
    )
    .await;
    let d = domain(&json, "dualec.test");
    let single = domain(&alone, "dualecalone.test");
    assert_eq!(d["verdict"], "protected", "{:#}", d["verdict_reason"]);
    assert_eq!(d["verdict"], single["verdict"]);
    assert_eq!(delivery(d), delivery(single));
    let a = address(&json, "dualec");
    assert_eq!(a["dane"], "valid");
    assert_eq!(a["other_certificates"][0]["dane"], "mismatch");
    let (sev, message) = finding(a, "dane.other-certificate").expect("dane.other-certificate");
    assert_eq!(sev, "warn");
    assert!(
        message.starts_with(
            "TLSA records match the ECDSA certificate only: a DANE sender that negotiates RSA defers"
        ),
        "{message}"
    );
    // The fix names the RSA key's record.
    let rsa_spki = a["other_certificates"][0]["certificate"]["spki_sha256"]
        .as_str()
        .expect("spki");
    let fix = a["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == "dane.other-certificate"))
        .map(|f| f["fix"]["text"].as_str().unwrap_or_default().to_string())
        .expect("a fix");
    assert!(fix.contains(&format!("3 1 1 {rsa_spki}")), "{fix}");
    assert_eq!(severity(a, "cert.other-certificate"), "ok");
}

/// A server with one key type (RSA) refuses the ECDSA-only hello: no
/// second certificate, no finding about one, no error; one connection
/// more than without the second hello would be (main, injection test,
/// second hello with `--scan off`).
#[tokio::test(flavor = "multi_thread")]
async fn a_single_key_type_server_refuses_the_second_hello_harmlessly() {
    let scenario = Scenario::new("rsaonly");
    let rsa = scenario.pki().leaf(&LeafSpec {
        key: KeyKind::Rsa2048,
        ..LeafSpec::valid_for(&scenario.mx)
    });
    let records = vec![ee(&rsa)];
    let (run, json, server) = scenario
        .zone(ZoneBuilder::signed)
        .tlsa(&records)
        .args(&["--scan", "off"])
        .check(|_, mx| Behaviour::good(mx, rsa))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let a = address(&json, "rsaonly");
    assert_eq!(a["certificate"]["key"]["type"], "RSA");
    assert_eq!(a["other_certificates"], serde_json::json!([]));
    assert_eq!(severity(a, "dane.other-certificate"), "absent");
    assert_eq!(severity(a, "cert.other-certificate"), "absent");
    assert_eq!(a["error"], Value::Null);
    assert_eq!(a["dane"], "valid");
    assert_eq!(server.connections(), 3);
    assert_eq!(
        domain(&json, "rsaonly.test")["verdict"],
        "protected",
        "{json:#}"
    );
}

/// The table's Cert column says both key types.
#[tokio::test(flavor = "multi_thread")]
async fn the_table_shows_both_key_types() {
    let scenario = Scenario::new("dualtable");
    let ec = scenario.cert();
    let rsa = scenario.pki().leaf(&LeafSpec {
        key: KeyKind::Rsa2048,
        ..LeafSpec::valid_for(&scenario.mx)
    });
    let lab = scenario
        .lab(|_, mx| Behaviour::good(mx, ec.with_alternative(rsa)))
        .await;
    let run = lab
        .check_table(&["dualtable.test"], &["--scan", "off"])
        .await;
    assert!(run.stdout.contains("valid RSA+EC"), "{}", run.stdout);
}
