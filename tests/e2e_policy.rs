//! End to end, downgrade protection: DNSSEC-signed lab zones with TLSA
//! records (validated with `--trust-anchor`), MTA-STS policies served by
//! the lab HTTPS server, TLS-RPT records; each case asserts the exact
//! `delivery` outcomes, DANE results, findings and verdict.

mod lab;

use std::net::Ipv4Addr;

use lab::dns::ZoneBuilder;
use lab::https::{HttpsServer, Response};
use lab::pki::{LeafSpec, ServerCert};
use lab::report::{delivery, domain, finding, severity};
use lab::run::{Lab, Run};
use lab::scenario::{LabBuilder, Scenario, good};
use lab::smtp::Behaviour;
use serde_json::Value;
use smtptls::protection::dane::{Tlsa, suggest};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The `3 1 1` and `2 1 1` records for a served chain.
fn records_for(cert: &ServerCert) -> (Tlsa, Tlsa) {
    let mut suggested = suggest(&cert.chain).into_iter();
    let ee = suggested.next().expect("3 1 1");
    let ta = suggested.next().expect("2 1 1");
    assert_eq!((ee.usage, ta.usage), (3, 2));
    (ee, ta)
}

/// `NAME.test` with MX `mx.NAME.test`, served with a good certificate, and
/// the TLSA records `tlsa` makes of it at `_25._tcp.mx.NAME.test`, in the
/// zone as `dnssec` has it (signed, or vouched for with AD).
async fn dane_lab(
    name: &str,
    tlsa: impl FnOnce(&ServerCert) -> Vec<Tlsa>,
    dnssec: impl FnOnce(ZoneBuilder) -> ZoneBuilder,
) -> Lab {
    let scenario = Scenario::new(name);
    let cert = scenario.cert();
    let records = tlsa(&cert);
    let owner = format!("_25._tcp.{}", scenario.mx);
    scenario
        .zone(|zone| {
            let zone = dnssec(zone);
            if records.is_empty() {
                // The lab server's NXDOMAIN proofs for names below an existing
                // name do not validate in hickory (see the closing notes); a
                // NODATA answer at the TLSA owner is a secure denial that does.
                zone.txt(&owner, &["no TLSA here"])
            } else {
                zone
            }
        })
        .tlsa(&records)
        .lab(|_, mx| Behaviour::good(mx, cert))
        .await
}

/// [`dane_lab`] in a signed zone, and a run.
async fn dane_case(name: &str, tlsa: impl FnOnce(&ServerCert) -> Vec<Tlsa>) -> (Run, Value) {
    let lab = dane_lab(name, tlsa, ZoneBuilder::signed).await;
    let run = lab.check_json(&[&format!("{name}.test")], &[]).await;
    let json = run.json();
    (run, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn dane_ee_3_1_1_valid_is_protected() {
    let (run, json) = dane_case("daneee", |c| vec![records_for(c).0]).await;
    let d = domain(&json, "daneee.test");
    assert_eq!(json["settings"]["dnssec"], "validate");
    assert_eq!(d["dnssec"], "secure");
    let mx = &d["mx"][0];
    assert_eq!(mx["dnssec"], "secure");
    assert_eq!(mx["tlsa"]["status"], "found");
    assert_eq!(mx["tlsa"]["dnssec"], "secure");
    let a = &mx["addresses"][0];
    assert_eq!(a["dane"], "valid");
    assert_eq!(severity(a, "dane.valid"), "ok");
    // A single record matching the current key: rollover advice.
    assert_eq!(severity(a, "dane.rollover"), "info");
    assert_eq!(delivery(d), ["secure", "not-applicable", "secure"]);
    assert_eq!(d["verdict"], "protected", "{:#}", d["verdict_reason"]);
    assert_eq!(run.code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn dane_ta_2_1_1_with_its_chain_is_valid() {
    let (_, json) = dane_case("daneta", |c| {
        let (ee, ta) = records_for(c);
        // Both, so no rollover advice either.
        vec![ta, ee]
    })
    .await;
    let d = domain(&json, "daneta.test");
    let a = &d["mx"][0]["addresses"][0];
    assert_eq!(a["dane"], "valid");
    assert_eq!(severity(a, "dane.rollover"), "absent");
    assert_eq!(d["verdict"], "protected");

    let (_, json) = dane_case("daneta2", |c| vec![records_for(c).1]).await;
    assert_eq!(
        domain(&json, "daneta2.test")["mx"][0]["addresses"][0]["dane"],
        "valid"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dane_mismatch_breaks_delivery_for_dane_senders() {
    let (run, json) = dane_case("danebad", |_| {
        vec![Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![0xab; 32],
        }]
    })
    .await;
    let d = domain(&json, "danebad.test");
    let a = &d["mx"][0]["addresses"][0];
    assert_eq!(a["dane"], "mismatch");
    assert_eq!(severity(a, "dane.valid"), "fail");
    let [opp, sts, dane] = delivery(d);
    assert_eq!(
        (opp.as_str(), sts.as_str(), dane.as_str()),
        ("secure", "not-applicable", "deferred")
    );
    assert_eq!(severity(d, "delivery.dane"), "fail");
    assert_eq!(d["verdict"], "broken");
    assert_eq!(run.code, 1, "broken fails the default threshold");
}

#[tokio::test(flavor = "multi_thread")]
async fn pkix_only_tlsa_records_are_unusable() {
    let (_, json) = dane_case("danepkix", |c| {
        let (mut ee, _) = records_for(c);
        ee.usage = 1; // PKIX-EE: not for SMTP (RFC 7672 §3.1.3)
        vec![ee]
    })
    .await;
    let d = domain(&json, "danepkix.test");
    let a = &d["mx"][0]["addresses"][0];
    assert_eq!(a["dane"], "unusable");
    assert_eq!(severity(a, "dane.valid"), "warn");
    assert_eq!(
        delivery(d)[2],
        "secure",
        "DANE senders still deliver, encrypted"
    );
    assert_eq!(d["verdict"], "secure", "not protected");
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_zone_without_tlsa_is_secure_not_protected() {
    let (_, json) = dane_case("nodane", |_| Vec::new()).await;
    let d = domain(&json, "nodane.test");
    assert_eq!(d["mx"][0]["tlsa"]["status"], "none");
    assert_eq!(d["mx"][0]["addresses"][0]["dane"], "none");
    assert_eq!(delivery(d)[2], "not-applicable");
    assert_eq!(d["verdict"], "secure");
}

#[tokio::test(flavor = "multi_thread")]
async fn tlsa_in_an_unsigned_zone_is_ignored() {
    let (run, json, _server) = Scenario::new("unsigned")
        .zone(|zone| zone.tlsa("_25._tcp.mx.unsigned.test", 3, 1, 1, &[0xab; 32]))
        .check(good)
        .await;
    let d = domain(&json, "unsigned.test");
    assert_eq!(json["settings"]["dnssec"], "trust-resolver");
    assert_eq!(d["dnssec"], "insecure");
    assert_eq!(d["mx"][0]["tlsa"], Value::Null, "not even looked up");
    assert_eq!(d["mx"][0]["addresses"][0]["dane"], "insecure");
    assert_eq!(severity(&d["mx"][0], "dane.tlsa"), "info");
    assert_eq!(delivery(d)[2], "not-applicable");
    assert_eq!(
        d["verdict"], "secure",
        "a wrong but unsigned TLSA must not break anything"
    );
    assert_eq!(run.code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bogus_signatures_are_a_finding_not_insecure() {
    let (run, json, _server) = Scenario::new("bogus")
        .zone(|zone| zone.bogus("mx.bogus.test"))
        .check(good)
        .await;
    let d = domain(&json, "bogus.test");
    let mx = &d["mx"][0];
    let (sev, msg) = finding(mx, "dnssec.bogus").expect("dnssec.bogus");
    assert_eq!(sev, "fail");
    assert!(msg.contains("bogus"), "{msg}");
    assert_eq!(mx["error"]["kind"], "dnssec-bogus");
    assert_eq!(
        mx["addresses"],
        serde_json::json!([]),
        "a validating sender cannot reach it"
    );
    assert_eq!(d["verdict"], "error");
    assert_eq!(run.code, 1);
}

/// An unsigned zone with `MX 10 mx.NAME.test`, `_mta-sts` TXT, the
/// policy served at `mta-sts.NAME.test` by the lab HTTPS server.
async fn sts_case(
    name: &str,
    policy: Response,
    extra_zone: impl FnOnce(ZoneBuilder) -> ZoneBuilder,
) -> (Run, Value, HttpsServer) {
    let scenario = Scenario::new(name);
    let web = format!("mta-sts.{name}.test");
    let https = HttpsServer::start(
        scenario.pki().leaf(&LeafSpec::valid_for(&web)),
        vec![("/.well-known/mta-sts.txt".to_string(), policy)],
    )
    .await;
    let rule = format!("{web}:443::{}", https.port());
    let sts = format!("_mta-sts.{}", scenario.domain);
    let (run, json, _server) = scenario
        .zone(|zone| {
            extra_zone(
                zone.a(&web, LO)
                    .txt(&sts, &["v=STSv1; id=20261129T000000;"]),
            )
        })
        .args(&["--connect-to", &rule])
        .check(good)
        .await;
    (run, json, https)
}

#[tokio::test(flavor = "multi_thread")]
async fn mta_sts_enforce_matching_is_protected() {
    let policy = Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: *.stsok.test\r\nmax_age: 86400\r\n",
    );
    let (run, json, https) = sts_case("stsok", policy, |z| {
        z.txt(
            "_smtp._tls.stsok.test",
            &["v=TLSRPTv1; rua=mailto:tlsrpt@stsok.test"],
        )
    })
    .await;
    let d = domain(&json, "stsok.test");
    assert_eq!(d["mta_sts"]["record"], "valid");
    assert_eq!(d["mta_sts"]["policy"]["mode"], "enforce");
    assert_eq!(
        d["mta_sts"]["policy"]["mx"],
        serde_json::json!(["*.stsok.test"])
    );
    assert_eq!(d["mx"][0]["mta_sts_match"], true);
    assert_eq!(
        severity(&d["mx"][0]["addresses"][0], "mta-sts.certificate"),
        "ok"
    );
    assert_eq!(delivery(d), ["secure", "secure", "not-applicable"]);
    assert_eq!(d["tls_rpt"]["record"], "valid");
    assert_eq!(
        d["tls_rpt"]["rua"],
        serde_json::json!(["mailto:tlsrpt@stsok.test"])
    );
    assert_eq!(d["verdict"], "protected");
    assert_eq!(run.code, 0);
    assert!(
        https
            .requests()
            .iter()
            .any(|r| r.contains("/.well-known/mta-sts.txt")),
        "{:?}",
        https.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mta_sts_enforce_not_matching_is_broken() {
    let policy = Response::policy(
        "version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 86400\n",
    );
    let (run, json, _https) = sts_case("stsbad", policy, |z| z).await;
    let d = domain(&json, "stsbad.test");
    assert_eq!(d["mx"][0]["mta_sts_match"], false);
    assert_eq!(severity(&d["mx"][0], "mta-sts.mx"), "fail");
    assert_eq!(delivery(d)[1], "deferred");
    assert_eq!(d["verdict"], "broken");
    assert_eq!(run.code, 1);
    // No TLS-RPT record: advice with the record to publish.
    let (sev, msg) = finding(d, "tls-rpt.record").expect("tls-rpt.record");
    assert_eq!(sev, "info");
    assert!(msg.contains("v=TLSRPTv1"), "{msg}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mta_sts_testing_mode_only_warns() {
    let policy = Response::policy(
        "version: STSv1\nmode: testing\nmx: mail.elsewhere.test\nmax_age: 86400\n",
    );
    let (_, json, _https) = sts_case("ststest", policy, |z| z).await;
    let d = domain(&json, "ststest.test");
    assert_eq!(severity(d, "mta-sts.mode"), "info");
    assert_eq!(severity(&d["mx"][0], "mta-sts.mx"), "warn");
    assert_eq!(delivery(d)[1], "not-applicable");
    assert_eq!(d["verdict"], "secure");
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_policy_fetches_are_findings() {
    for (name, response, expect) in [
        (
            "stsredirect",
            Response::redirect(301, "https://elsewhere.test/policy"),
            "redirect",
        ),
        (
            "ststype",
            Response::policy("version: STSv1\nmode: enforce\nmx: *.ststype.test\nmax_age: 86400\n")
                .content_type(Some("text/html")),
            "content",
        ),
        ("stsmissing", Response::new(404), "404"),
        (
            "stsmalformed",
            Response::policy("version: STSv1\nmode: sometimes\n"),
            "malformed",
        ),
        ("stshuge", Response::endless(), "64"),
    ] {
        let (_, json, _https) = sts_case(name, response, |z| z).await;
        let d = domain(&json, &format!("{name}.test"));
        let (sev, msg) = finding(d, "mta-sts.policy").unwrap_or_else(|| panic!("{name}: {d:#}"));
        assert_eq!(sev, "fail", "{name}");
        assert!(msg.to_lowercase().contains(expect), "{name}: {msg}");
        assert_eq!(d["mta_sts"]["policy"], Value::Null, "{name}");
        // Without a usable policy a sender without a cache delivers opportunistically.
        assert_eq!(delivery(d)[1], "not-applicable", "{name}");
        assert_eq!(d["verdict"], "secure", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_behind_an_invalid_certificate_is_not_used() {
    let scenario = Scenario::new("stscert");
    // Certificate for the wrong name.
    let https = HttpsServer::start(
        scenario
            .pki()
            .leaf(&LeafSpec::valid_for("www.stscert.test")),
        vec![(
            "/.well-known/mta-sts.txt".to_string(),
            Response::policy(
                "version: STSv1\nmode: enforce\nmx: mx.stscert.test\nmax_age: 86400\n",
            ),
        )],
    )
    .await;
    let rule = format!("mta-sts.stscert.test:443::{}", https.port());
    let (_, json, _server) = scenario
        .zone(|zone| {
            zone.a("mta-sts.stscert.test", LO)
                .txt("_mta-sts.stscert.test", &["v=STSv1; id=1;"])
        })
        .args(&["--connect-to", &rule])
        .check(good)
        .await;
    let d = domain(&json, "stscert.test");
    let (sev, _) = finding(d, "mta-sts.policy").expect("mta-sts.policy");
    assert_eq!(sev, "fail");
    assert_eq!(d["mta_sts"]["policy"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn mta_sts_record_problems() {
    let lab = Scenario::new("stsrec")
        .zone(|zone| {
            zone.txt("_mta-sts.stsrec.test", &["v=STSv1; id=1;"])
                .txt("_mta-sts.stsrec.test", &["v=STSv1; id=2;"])
                .mx("stsnone.test", 10, "mx.stsrec.test")
        })
        .lab(good)
        .await;
    let run = lab.check_json(&["stsrec.test", "stsnone.test"], &[]).await;
    let json = run.json();
    let d = domain(&json, "stsrec.test");
    assert_eq!(d["mta_sts"]["record"], "multiple");
    assert_eq!(severity(d, "mta-sts.record"), "fail");
    let d = domain(&json, "stsnone.test");
    assert_eq!(d["mta_sts"]["record"], "absent");
    assert_eq!(severity(d, "mta-sts.record"), "info");
    assert_eq!(delivery(d)[1], "not-applicable");
}

#[tokio::test(flavor = "multi_thread")]
async fn tlsa_of_a_cname_mx_is_looked_up_at_the_target() {
    let builder = LabBuilder::new();
    // The certificate names the alias (the MX name senders use).
    let cert = builder.pki.leaf(&LeafSpec {
        names: vec!["alias.dcname.test".into(), "real.dcname.test".into()],
        ..LeafSpec::valid_for("alias.dcname.test")
    });
    let (ee, _) = records_for(&cert);
    let lab = builder
        .zone(|zone| {
            zone.mx("dcname.test", 10, "alias.dcname.test")
                .cname("alias.dcname.test", "real.dcname.test")
                .a("real.dcname.test", LO)
                .tlsa(
                    "_25._tcp.real.dcname.test",
                    ee.usage,
                    ee.selector,
                    ee.matching,
                    &ee.data,
                )
                .signed()
        })
        .serve("alias.dcname.test", |_, mx| Behaviour::good(mx, cert))
        .start()
        .await;
    let run = lab.check_json(&["dcname.test"], &[]).await;
    let json = run.json();
    let mx = &domain(&json, "dcname.test")["mx"][0];
    assert_eq!(mx["cname"], "real.dcname.test");
    assert_eq!(mx["tlsa"]["status"], "found", "{mx:#}");
    assert_eq!(mx["addresses"][0]["dane"], "valid");
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_resolver_mode_believes_the_ad_bit() {
    // Unsigned, but the "resolver" vouches for these names with AD.
    let lab = dane_lab(
        "adbit",
        |c| vec![records_for(c).0],
        |zone| zone.authentic("adbit.test"),
    )
    .await;
    let json = lab.check_json(&["adbit.test"], &[]).await.json();
    assert_eq!(json["settings"]["dnssec"], "trust-resolver");
    let d = domain(&json, "adbit.test");
    assert_eq!(d["dnssec"], "secure");
    assert_eq!(d["mx"][0]["tlsa"]["status"], "found");
    assert_eq!(d["mx"][0]["addresses"][0]["dane"], "valid");
    assert_eq!(d["verdict"], "protected");
}

#[tokio::test(flavor = "multi_thread")]
async fn dane_ee_authenticates_a_self_signed_certificate() {
    let scenario = Scenario::new("selfdane");
    let cert = scenario.pki().leaf(&LeafSpec {
        issuer: lab::pki::Issuer::SelfSigned,
        ..LeafSpec::valid_for(&scenario.mx)
    });
    let ee = suggest(&cert.chain).into_iter().next().expect("3 1 1");
    let (_, json, _server) = scenario
        .tlsa(&[ee])
        .zone(ZoneBuilder::signed)
        .check(|_, mx| Behaviour::good(mx, cert))
        .await;
    let d = domain(&json, "selfdane.test");
    let a = &d["mx"][0]["addresses"][0];
    assert_eq!(
        a["certificate"]["chain_error"], "self-signed",
        "PKIX still says so"
    );
    assert_eq!(a["dane"], "valid");
    assert_eq!(d["verdict"], "protected", "{}", d["verdict_reason"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ds_trust_anchor_validates_like_the_dnskey() {
    use hickory_resolver::TokioResolver;
    use hickory_resolver::config::{NameServerConfig, ResolverConfig};
    use hickory_resolver::net::runtime::TokioRuntimeProvider;
    use hickory_resolver::proto::dnssec::DigestType;
    use hickory_resolver::proto::dnssec::rdata::DNSSECRData;
    use hickory_resolver::proto::rr::{Name, RData, RecordType};

    let lab = dane_lab("dsanchor", |c| vec![records_for(c).0], ZoneBuilder::signed).await;

    // The zone's DS record, as a parent would publish it.
    let mut ns = NameServerConfig::udp_and_tcp(lab.dns.addr.ip());
    for c in &mut ns.connections {
        c.port = lab.dns.addr.port();
    }
    let resolver = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    )
    .build()
    .expect("resolver");
    let origin = Name::from_ascii("test.").expect("name");
    let keys = resolver
        .lookup(origin.clone(), RecordType::DNSKEY)
        .await
        .expect("DNSKEY");
    let ds_lines: Vec<String> = keys
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(key))
                if key.secure_entry_point() || key.zone_key() =>
            {
                let tag = key.calculate_key_tag().ok()?;
                let digest = key.to_digest(&origin, DigestType::SHA256).ok()?;
                let hex: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
                Some(format!("test. 3600 IN DS {tag} 13 2 {hex}"))
            }
            _ => None,
        })
        .collect();
    assert!(!ds_lines.is_empty());

    let ds_file = lab.pki.dir().join("lab.ds");
    std::fs::write(
        &ds_file,
        format!("; the lab zone's DS\n{}\n", ds_lines.join("\n")),
    )
    .expect("write");
    // Replace the DNSKEY anchor the lab passes by the DS file.
    let mut args = lab.command_line(&["check", "--format", "json"], &["dsanchor.test"], &[]);
    let anchor = args
        .iter()
        .position(|a| a == "--trust-anchor")
        .expect("a signed lab zone comes with its anchor");
    args[anchor + 1] = ds_file.display().to_string();
    let run = lab::run::smtptls(&args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let d = domain(&json, "dsanchor.test");
    assert_eq!(d["dnssec"], "secure");
    assert_eq!(d["mx"][0]["addresses"][0]["dane"], "valid");
    assert_eq!(d["verdict"], "protected");

    // A DS that matches no key is a set-up error before any audit.
    std::fs::write(
        &ds_file,
        "test. IN DS 1 13 2 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n",
    )
    .expect("write");
    let run = lab::run::smtptls(&args).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("matches the DS trust anchor"),
        "{}",
        run.stderr
    );
}

/// Operators publish the key-signing key as the trust anchor while a
/// separate zone-signing key signs the records (found against nsd and
/// unbound in the interop suite): the anchored KSK's signature over the
/// DNSKEY RRset must make the ZSK trusted, instead of a DS lookup above the
/// anchor turning every answer bogus.
#[tokio::test(flavor = "multi_thread")]
async fn ksk_anchor_trusts_the_zone_signing_key() {
    let lab = dane_lab(
        "ksk",
        |c| vec![records_for(c).0],
        ZoneBuilder::signed_with_zsk,
    )
    .await;
    let anchor = lab.dns.trust_anchor().expect("signed");
    assert_eq!(anchor.lines().count(), 1, "only the KSK is the anchor");
    let run = lab.check_json(&["ksk.test"], &[]).await;
    let json = run.json();
    let d = domain(&json, "ksk.test");
    assert_eq!(d["dnssec"], "secure", "{}", run.stdout);
    assert_eq!(d["mx"][0]["tlsa"]["dnssec"], "secure");
    assert_eq!(d["verdict"], "protected", "{}", d["verdict_reason"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
