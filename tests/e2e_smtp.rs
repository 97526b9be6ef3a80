//! End to end, one SMTP server behaviour at a time: the real binary, real
//! DNS answers from the lab zone, a lab SMTP server per test. Each test
//! asserts the exact outcome: finding ids and severities, error phase and
//! kind, verdict, exit code, and what the prober said to the server.

mod lab;

use std::time::Duration;

use lab::dns::ZoneBuilder;
use lab::pki::{KeyKind, LeafSpec, TestPki};
use lab::report::{domain, finding, first_address, level, severity};
use lab::run::{Lab, Run};
use lab::scenario::{Scenario, assert_polite, good, good_with, plain, self_signed};
use lab::server::closed_port;
use lab::smtp::{Banner, Behaviour, Ehlo, SmtpServer, StartTls};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// [`good`] with the certificate changed by `spec`, as a scenario's server.
fn with_leaf(spec: impl FnOnce(LeafSpec) -> LeafSpec) -> impl FnOnce(&TestPki, &str) -> Behaviour {
    move |pki, mx| good_with(pki, mx, spec)
}

fn verdict(json: &Value) -> &str {
    json["domains"][0]["verdict"].as_str().unwrap_or("?")
}

fn error_of(addr: &Value) -> (String, String, String) {
    let e = &addr["error"];
    (
        e["phase"].as_str().unwrap_or("-").to_string(),
        e["kind"].as_str().unwrap_or("-").to_string(),
        e["message"].as_str().unwrap_or("-").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn good_chain_is_secure_and_the_dialogue_is_polite() {
    // `--per-address 1`: one connection at a time, so the server's log of
    // commands is the transcript of each connection in turn (with the
    // default 2, the injection test and the scan's version hellos run side
    // by side and their lines interleave).
    let (run, json, server) = Scenario::new("good")
        .args(&["--per-address", "1"])
        .check(good)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, "good.test");
    assert_eq!(a["ip"], "127.0.0.1");
    assert_eq!(a["starttls"], true);
    assert_eq!(a["tls"]["version"], "TLSv1.3");
    assert!(
        a["tls"]["cipher"]
            .as_str()
            .is_some_and(|c| c.starts_with("TLS_"))
    );
    assert!(a["tls"]["key_exchange_group"].is_string());
    assert_eq!(a["certificate"]["chain_valid"], true);
    assert_eq!(a["certificate"]["hostname_match"], true);
    assert_eq!(a["certificate"]["chain_length"], 2);
    assert_eq!(
        a["certificate"]["subject_alt_names"],
        serde_json::json!(["mx.good.test"])
    );
    assert_eq!(a["certificate"]["days_left"], 89);
    assert_eq!(a["certificate"]["key"]["type"], "EC");
    assert_eq!(a["certificate"]["key"]["bits"], 256);
    assert_eq!(a["error"], Value::Null);
    // Every check ran and passed.
    for id in [
        "smtp.connect",
        "smtp.banner",
        "smtp.ehlo",
        "starttls.offered",
        "starttls.command",
        "tls.handshake",
        "tls.version",
        "smtp.ehlo-after-tls",
        "cert.chain.valid",
        "cert.hostname",
        "cert.expiry",
        "cert.key",
        "cert.signature",
    ] {
        assert_eq!(severity(a, id), "ok", "{id}: {:?}", finding(a, id));
    }
    // Extensions are reported before and inside TLS; STARTTLS only before.
    assert!(
        a["extensions"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == "STARTTLS"))
    );
    assert!(
        a["extensions_after_tls"]
            .as_array()
            .is_some_and(|e| !e.iter().any(|x| x == "STARTTLS"))
    );
    assert_eq!(
        server.commands(),
        expected_transcript(),
        "the main dialogue, the injection test, 7 scan hellos, the other key type's hello"
    );
    assert_polite(&server);
    assert!(run.stderr.is_empty(), "stderr: {}", run.stderr);
    // The lab server is rustls: TLS 1.2 and 1.3, AEAD suites with ECDHE,
    // no compression, secure renegotiation, client order.
    let scan = &a["scan"];
    assert_eq!(scan["mode"], "light");
    assert_eq!(scan["connections"], 7);
    assert_eq!(scan["complete"], true);
    assert_eq!(
        scan["accepted_versions"],
        serde_json::json!(["TLSv1.2", "TLSv1.3"])
    );
    for v in &scan["versions"].as_array().expect("versions")[..3] {
        assert_eq!(v["accepted"], false, "{v}");
    }
    assert_eq!(
        scan["versions"][3]["preferred_suite"],
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    );
    assert_eq!(scan["server_order"], false);
    assert_eq!(
        scan["weak_suites"],
        serde_json::json!({"null": false, "anonymous": false, "export": false, "rc4": false,
            "des": false, "triple_des": false, "static_rsa": false, "cbc": false})
    );
    assert_eq!(scan["dhe"], Value::Null);
    assert_eq!(scan["compression"], false);
    assert_eq!(scan["secure_renegotiation"], true);
    assert_eq!(a["starttls_injection"]["result"], "discarded");
    // Post-quantum readiness is what the main handshake negotiated.
    let pq = a["tls"]["key_exchange_group"] == "X25519MLKEM768";
    assert_eq!(a["post_quantum"], pq);
    assert_eq!(
        severity(a, "tls.post-quantum"),
        if pq { "ok" } else { "info" }
    );
    for (id, sev) in [
        ("tls.protocols", "ok"),
        ("tls.cipher-suites", "ok"),
        ("tls.cipher-order", "ok"),
        ("tls.key-exchange", "ok"),
        ("tls.compression", "ok"),
        ("tls.renegotiation", "ok"),
        ("starttls.injection", "ok"),
    ] {
        assert_eq!(severity(a, id), sev, "{id}: {:?}", finding(a, id));
    }
    assert_eq!(
        level(a, "tls.protocols"),
        Some(&json!("sufficient")),
        "TLS 1.2 is"
    );
    assert_eq!(level(a, "tls.key-exchange"), Some(&json!("good")));
    assert_eq!(level(a, "cert.key"), Some(&json!("good")));
    assert_eq!(level(a, "tls.handshake"), Some(&Value::Null));
}

/// The transcript of one `--scan light --per-address 1` audit of a good
/// lab server: the main dialogue, then the injection test (its NOOP,
/// pipelined behind STARTTLS, is dropped with the plaintext buffer and
/// never reaches the command loop), then EHLO and STARTTLS for each of the
/// seven hellos (SSLv3, TLS 1.0, 1.1, 1.2, reversed 1.2, weak suites, DHE
/// suites).
fn expected_transcript() -> Vec<&'static str> {
    let ehlo = "EHLO client.smtptls.test";
    // The injection test takes the address's gate before the scan: what
    // decides the verdict starts first, so the --address-budget never cuts
    // it off.
    let mut t = vec![ehlo, "STARTTLS", ehlo, "QUIT"];
    t.extend([ehlo, "STARTTLS", ehlo, "QUIT"]);
    for _ in 0..7 {
        t.extend([ehlo, "STARTTLS"]);
    }
    // Last, the hello that offers only RSA (the lab's certificate is
    // ECDSA): this server has no RSA chain and refuses it.
    t.extend([ehlo, "STARTTLS"]);
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_certificate_is_encrypted_not_secure() {
    let now = OffsetDateTime::now_utc();
    let (run, json, _s) = Scenario::new("expired")
        .check(with_leaf(|l| LeafSpec {
            not_before: now - time::Duration::days(100),
            not_after: now - time::Duration::days(10),
            ..l
        }))
        .await;
    assert_eq!(run.code, 0, "encrypted is at the default threshold");
    assert_eq!(verdict(&json), "encrypted");
    let a = first_address(&json, "expired.test");
    assert_eq!(a["certificate"]["chain_valid"], false);
    assert_eq!(a["certificate"]["chain_error"], "expired");
    assert_eq!(a["certificate"]["days_left"], -10);
    assert_eq!(severity(a, "cert.expiry"), "fail");
    assert_eq!(severity(a, "cert.chain.valid"), "fail");
    assert_eq!(severity(a, "cert.hostname"), "ok");
    assert_eq!(
        severity(a, "tls.handshake"),
        "ok",
        "an expired certificate is not a TLS failure"
    );
    assert_eq!(severity(a, "starttls.offered"), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_expiring_soon_warns() {
    let now = OffsetDateTime::now_utc();
    let (run, json, _s) = Scenario::new("soon")
        .check(with_leaf(|l| LeafSpec {
            not_after: now + time::Duration::days(10) + time::Duration::hours(1),
            ..l
        }))
        .await;
    assert_eq!(run.code, 0);
    assert_eq!(verdict(&json), "secure");
    let a = first_address(&json, "soon.test");
    let (sev, msg) = finding(a, "cert.expiry").expect("cert.expiry");
    assert_eq!(sev, "warn");
    assert!(msg.contains("10 days"), "{msg}");
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_window_is_configurable() {
    let (_, json, _s) = Scenario::new("window")
        .args(&["--expiry-warn-days", "100"])
        .check(good)
        .await;
    assert_eq!(
        severity(first_address(&json, "window.test"), "cert.expiry"),
        "warn"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_yet_valid_certificate() {
    let now = OffsetDateTime::now_utc();
    let (_, json, _s) = Scenario::new("future")
        .check(with_leaf(|l| LeafSpec {
            not_before: now + time::Duration::days(5),
            ..l
        }))
        .await;
    assert_eq!(verdict(&json), "encrypted");
    let a = first_address(&json, "future.test");
    assert_eq!(a["certificate"]["chain_error"], "not-yet-valid");
    let (sev, msg) = finding(a, "cert.expiry").expect("cert.expiry");
    assert_eq!(sev, "fail");
    assert!(msg.contains("not valid before"), "{msg}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_name_is_a_name_failure_not_a_chain_failure() {
    let (run, json, _s) = Scenario::new("wrongname")
        .check(with_leaf(|l| LeafSpec {
            names: vec!["mail.other.test".into()],
            ..l
        }))
        .await;
    assert_eq!(run.code, 0);
    assert_eq!(verdict(&json), "encrypted");
    let a = first_address(&json, "wrongname.test");
    assert_eq!(a["certificate"]["chain_valid"], true);
    assert_eq!(a["certificate"]["hostname_match"], false);
    let (sev, msg) = finding(a, "cert.hostname").expect("cert.hostname");
    assert_eq!(sev, "fail");
    assert!(
        msg.contains("mail.other.test") && msg.contains("mx.wrongname.test"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wildcard_matches_only_the_leftmost_label() {
    // MX mx.wild.test with *.wild.test: matches.
    let (_, json, _s) = Scenario::new("wild")
        .check(with_leaf(|l| LeafSpec {
            names: vec!["*.wild.test".into()],
            ..l
        }))
        .await;
    assert_eq!(verdict(&json), "secure");
    assert_eq!(
        first_address(&json, "wild.test")["certificate"]["hostname_match"],
        true
    );

    // MX mx.deep.test with *.test: the wildcard covers one label only.
    let (_, json, _s) = Scenario::new("deep")
        .check(with_leaf(|l| LeafSpec {
            names: vec!["*.test".into()],
            ..l
        }))
        .await;
    assert_eq!(verdict(&json), "encrypted");
    assert_eq!(
        first_address(&json, "deep.test")["certificate"]["hostname_match"],
        false
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn self_signed_certificate() {
    let (_, json, _s) = Scenario::new("selfsigned").check(self_signed).await;
    assert_eq!(verdict(&json), "encrypted");
    let a = first_address(&json, "selfsigned.test");
    assert_eq!(a["certificate"]["chain_error"], "self-signed");
    assert_eq!(a["certificate"]["hostname_match"], true);
    assert!(
        finding(a, "cert.chain.valid")
            .is_some_and(|(s, m)| s == "fail" && m.contains("self-signed"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_intermediate_is_an_incomplete_chain() {
    let (_, json, _s) = Scenario::new("nointermediate")
        .check(with_leaf(|l| LeafSpec {
            send_intermediate: false,
            ..l
        }))
        .await;
    assert_eq!(verdict(&json), "encrypted");
    let a = first_address(&json, "nointermediate.test");
    assert_eq!(a["certificate"]["chain_length"], 1);
    assert_eq!(a["certificate"]["chain_error"], "incomplete-chain");
    assert!(finding(a, "cert.chain.valid").is_some_and(|(_, m)| m.contains("intermediate")));
}

#[tokio::test(flavor = "multi_thread")]
async fn untrusted_ca_is_an_unknown_issuer() {
    // The server's chain is complete, but its root is not in --ca-file:
    // the lab PKI for this scenario differs from the one the CLI trusts.
    let other_pki = TestPki::new();
    let (_, json, _s) = Scenario::new("untrusted")
        .check(|_, mx| Behaviour::good(mx, other_pki.leaf(&LeafSpec::valid_for(mx))))
        .await;
    let a = first_address(&json, "untrusted.test");
    assert_eq!(a["certificate"]["chain_error"], "unknown-issuer");
    assert_eq!(verdict(&json), "encrypted");
}

#[tokio::test(flavor = "multi_thread")]
async fn rsa_and_ed25519_keys_are_reported() {
    for (name, kind, ty, bits) in [
        ("rsa", KeyKind::Rsa2048, "RSA", 2048),
        ("ed", KeyKind::Ed25519, "Ed25519", 256),
    ] {
        let (_, json, _s) = Scenario::new(name)
            .check(with_leaf(|l| LeafSpec { key: kind, ..l }))
            .await;
        assert_eq!(verdict(&json), "secure", "{name}");
        let key = &first_address(&json, &format!("{name}.test"))["certificate"]["key"];
        assert_eq!(
            (key["type"].as_str(), key["bits"].as_u64()),
            (Some(ty), Some(bits)),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rsa_1024_handshake_signature_is_verified_as_mtas_do() {
    let (_, json, _s) = Scenario::new("weakkey")
        .check(with_leaf(|l| LeafSpec {
            key: KeyKind::Rsa1024,
            ..l
        }))
        .await;
    let a = first_address(&json, "weakkey.test");
    // OpenSSL- and GnuTLS-based senders verify this handshake (Postfix and
    // posttls-finger say Verified, in the interop suite); aws-lc-rs will
    // not, so the probe checks the signature with the `rsa` crate.
    assert_eq!(a["error"], Value::Null);
    assert_eq!(a["tls"]["signature_verified"], true);
    assert_eq!(severity(a, "tls.handshake"), "ok");
    assert_eq!(a["certificate"]["key"]["bits"], 1024);
    assert_eq!(a["certificate"]["chain_valid"], true);
    // What MTAs do decides the verdict: a verified session with a valid
    // chain is secure; the small key is insufficient on the configuration
    // axis.
    assert_eq!(severity(a, "cert.key"), "warn");
    assert_eq!(verdict(&json), "secure");
    let d = domain(&json, "weakkey.test");
    assert_eq!(d["configuration"]["level"], "insufficient");
    assert!(
        d["configuration"]["items"][0]
            .as_str()
            .is_some_and(|i| i.contains("cert.key: RSA key of 1024 bits"))
    );
    assert_eq!(d["delivery"]["opportunistic"]["result"], "secure");
}

#[tokio::test(flavor = "multi_thread")]
async fn rsa_1024_with_a_bad_handshake_signature_is_refused() {
    let (_, json, _s) = Scenario::new("badsig")
        .check(with_leaf(|l| LeafSpec {
            key: KeyKind::Rsa1024BadSignature,
            ..l
        }))
        .await;
    let a = first_address(&json, "badsig.test");
    assert_eq!(a["tls"], Value::Null, "{a:#}");
    assert_eq!(a["error"]["phase"], "tls-handshake");
    assert_eq!(severity(a, "tls.handshake"), "fail");
    assert_eq!(verdict(&json), "plaintext");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_starttls_is_plaintext_and_fails_the_run() {
    let (run, json, server) = Scenario::new("plain").check(plain).await;
    assert_eq!(run.code, 1);
    assert_eq!(verdict(&json), "plaintext");
    let a = first_address(&json, "plain.test");
    assert_eq!(a["starttls"], false);
    assert_eq!(a["tls"], Value::Null);
    assert_eq!(a["certificate"], Value::Null);
    assert_eq!(a["error"], Value::Null, "a clean dialogue is not an error");
    assert_eq!(severity(a, "starttls.offered"), "fail");
    assert_eq!(server.commands(), vec!["EHLO client.smtptls.test", "QUIT"]);
    assert_polite(&server);
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_refused_with_454() {
    let (run, json, server) = starttls_failure("refused", StartTls::Refused454).await;
    assert_eq!(run.code, 1);
    assert_eq!(verdict(&json), "plaintext");
    let a = first_address(&json, "refused.test");
    assert_eq!(a["starttls"], true);
    assert_eq!(severity(a, "starttls.offered"), "ok");
    let (sev, msg) = finding(a, "starttls.command").expect("starttls.command");
    assert_eq!(sev, "fail");
    assert!(msg.contains("454"), "{msg}");
    let (phase, kind, _) = error_of(a);
    assert_eq!((phase.as_str(), kind.as_str()), ("starttls", "rejected"));
    assert_eq!(
        server.commands(),
        vec!["EHLO client.smtptls.test", "STARTTLS", "QUIT"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_closed_right_after_starttls() {
    let (_, json, _s) = starttls_failure("closes", StartTls::CloseOnStartTls).await;
    let a = first_address(&json, "closes.test");
    let (phase, kind, _) = error_of(a);
    assert_eq!((phase.as_str(), kind.as_str()), ("starttls", "closed"));
    assert_eq!(severity(a, "starttls.command"), "fail");
    assert_eq!(verdict(&json), "plaintext");
}

#[tokio::test(flavor = "multi_thread")]
async fn plaintext_instead_of_a_tls_handshake() {
    let (_, json, _s) = starttls_failure("nottls", StartTls::HandshakeGarbage).await;
    let a = first_address(&json, "nottls.test");
    let (phase, kind, message) = error_of(a);
    // The junk arrives right behind the 220: it is plaintext the client
    // must refuse to treat as part of the session.
    assert_eq!(
        (phase.as_str(), kind.as_str()),
        ("starttls", "plaintext-after-starttls"),
        "{message}"
    );
    assert_eq!(verdict(&json), "plaintext");
}

#[tokio::test(flavor = "multi_thread")]
async fn multiline_banner_is_read_whole() {
    let (run, json, server) = Scenario::new("multiline")
        .check(|pki, mx| Behaviour {
            banner: Banner::Multiline,
            ..good(pki, mx)
        })
        .await;
    assert_eq!(run.code, 0);
    assert_eq!(verdict(&json), "secure");
    let banner = first_address(&json, "multiline.test")["banner"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        banner.starts_with("220 mx.multiline.test") && banner.contains("third"),
        "{banner}"
    );
    assert_polite(&server);
}

#[tokio::test(flavor = "multi_thread")]
async fn greet_delay_is_waited_out_without_talking_early() {
    let (run, json, server) = Scenario::new("slow")
        .args(&["--banner-timeout", "10"])
        .check(|pki, mx| Behaviour {
            banner: Banner::Delayed(Duration::from_millis(2500)),
            ..good(pki, mx)
        })
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(verdict(&json), "secure");
    let banner_ms = first_address(&json, "slow.test")["timings_ms"]["banner"]
        .as_u64()
        .unwrap_or(0);
    assert!(banner_ms >= 2400, "banner after {banner_ms} ms");
    assert_polite(&server);
}

/// A good server for `NAME.test` but for how it answers STARTTLS.
async fn starttls_failure(name: &str, starttls: StartTls) -> (Run, Value, SmtpServer) {
    Scenario::new(name)
        .check(move |pki, mx| Behaviour {
            starttls,
            ..good(pki, mx)
        })
        .await
}

/// A good server for `NAME.test` but for its greeting.
async fn banner_failure(name: &str, banner: Banner) -> (Run, Value, SmtpServer) {
    Scenario::new(name)
        .check(move |pki, mx| Behaviour {
            banner,
            ..good(pki, mx)
        })
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn banner_421_is_reported_as_a_refusal() {
    let (run, json, server) = banner_failure("busy", Banner::Reject421).await;
    assert_eq!(run.code, 1);
    assert_eq!(verdict(&json), "error");
    let a = first_address(&json, "busy.test");
    let (phase, kind, message) = error_of(a);
    assert_eq!((phase.as_str(), kind.as_str()), ("banner", "rejected"));
    assert!(
        message.contains("421") && message.contains("too many connections"),
        "{message}"
    );
    let (sev, msg) = finding(a, "smtp.banner").expect("smtp.banner");
    assert_eq!(sev, "fail");
    assert!(
        msg.starts_with("server refused the connection: 421"),
        "{msg}"
    );
    assert_eq!(a["starttls"], false);
    assert!(
        server.commands().iter().all(|c| c == "QUIT"),
        "{:?}",
        server.commands()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn banner_554_is_reported_as_a_refusal() {
    let (_, json, _s) = banner_failure("nosmtp", Banner::Reject554).await;
    let (phase, kind, message) = error_of(first_address(&json, "nosmtp.test"));
    assert_eq!((phase.as_str(), kind.as_str()), ("banner", "rejected"));
    assert!(message.contains("554"), "{message}");
    assert_eq!(verdict(&json), "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_line_is_cut_off() {
    let (_, json, _s) = banner_failure("endless", Banner::EndlessLine).await;
    let (phase, kind, _) = error_of(first_address(&json, "endless.test"));
    assert_eq!((phase.as_str(), kind.as_str()), ("banner", "line-too-long"));
}

#[tokio::test(flavor = "multi_thread")]
async fn reply_with_too_many_lines_is_cut_off() {
    let (_, json, _s) = banner_failure("manylines", Banner::TooManyLines).await;
    let (phase, kind, _) = error_of(first_address(&json, "manylines.test"));
    assert_eq!(
        (phase.as_str(), kind.as_str()),
        ("banner", "too-many-lines")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trickling_server_times_out() {
    let (_, json, _s) = banner_failure("trickle", Banner::Trickle).await;
    let a = first_address(&json, "trickle.test");
    let (phase, kind, message) = error_of(a);
    assert_eq!(
        (phase.as_str(), kind.as_str()),
        ("banner", "timeout"),
        "{message}"
    );
    assert!(finding(a, "smtp.banner").is_some_and(|(_, m)| m.contains("within 3 s")));
    assert_eq!(verdict(&json), "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_reply_is_unparseable() {
    let (_, json, _s) = banner_failure("garbage", Banner::Garbage).await;
    let (phase, kind, message) = error_of(first_address(&json, "garbage.test"));
    assert_eq!(
        (phase.as_str(), kind.as_str()),
        ("banner", "unparseable"),
        "{message}"
    );
    assert!(message.contains("\\x"), "binary shown escaped: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_server_does_not_deadlock_the_prober() {
    let (run, json, server) = banner_failure("silent", Banner::Silent).await;
    assert_eq!(run.code, 1);
    let (phase, kind, _) = error_of(first_address(&json, "silent.test"));
    assert_eq!((phase.as_str(), kind.as_str()), ("banner", "timeout"));
    // We waited for the server and never spoke first.
    assert!(server.commands().is_empty(), "{:?}", server.commands());
    assert!(!server.saw_early_talker());
}

#[tokio::test(flavor = "multi_thread")]
async fn ehlo_rejected_falls_back_to_helo() {
    let (run, json, server) = Scenario::new("helo")
        .check(|pki, mx| Behaviour {
            ehlo: Ehlo::RejectEhlo,
            ..good(pki, mx)
        })
        .await;
    assert_eq!(run.code, 1);
    let a = first_address(&json, "helo.test");
    assert_eq!(severity(a, "smtp.ehlo"), "warn");
    assert_eq!(severity(a, "starttls.offered"), "fail");
    assert_eq!(verdict(&json), "plaintext");
    assert_eq!(
        server.commands(),
        vec![
            "EHLO client.smtptls.test",
            "HELO client.smtptls.test",
            "QUIT"
        ]
    );
}

/// A server that answers STARTTLS and then stalls the handshake costs one
/// `--timeout`, not one per scan and injection connection: a timed-out
/// address is not contacted again (`--retries 0`).
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_handshake_is_waited_out_once() {
    let (_, json, server) = Scenario::new("stall")
        .args(&["--timeout", "1"])
        .check(|pki, mx| Behaviour {
            starttls: StartTls::StallHandshake,
            ..good(pki, mx)
        })
        .await;
    let a = first_address(&json, "stall.test");
    assert_eq!(a["error"]["phase"], "tls-handshake", "{a:#}");
    assert_eq!(a["error"]["kind"], "timeout");
    // The scan says it was cut short, having made no connection.
    assert_eq!(a["scan"]["connections"], 0, "{a:#}");
    assert_eq!(a["scan"]["complete"], false);
    assert_eq!(a["starttls_injection"], Value::Null);
    assert_eq!(server.connections(), 1);
    assert_eq!(verdict(&json), "plaintext");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_220_to_helo_is_not_a_greeting() {
    let (_, json, _server) = Scenario::new("helo220")
        .check(|pki, mx| Behaviour {
            ehlo: Ehlo::RejectEhloHelo220,
            ..good(pki, mx)
        })
        .await;
    let a = first_address(&json, "helo220.test");
    assert_eq!(a["error"]["phase"], "helo", "{a:#}");
    assert_eq!(a["error"]["kind"], "rejected");
    assert_eq!(severity(a, "smtp.ehlo"), "fail");
    assert_eq!(verdict(&json), "error", "the address took no part in SMTP");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused() {
    let port = closed_port();
    let pki = TestPki::new();
    let dns = ZoneBuilder::new()
        .mx("closed.test", 10, "mx.closed.test")
        .a("mx.closed.test", std::net::Ipv4Addr::LOCALHOST)
        .start()
        .await;
    let lab = Lab::new(dns, pki);
    let run = lab
        .check_json(
            &["closed.test"],
            &["--connect-to", &format!("mx.closed.test:25::{port}")],
        )
        .await;
    assert_eq!(run.code, 1);
    let json = run.json();
    let a = first_address(&json, "closed.test");
    let (phase, kind, message) = error_of(a);
    assert_eq!(
        (phase.as_str(), kind.as_str()),
        ("connect", "connection-refused")
    );
    assert!(message.contains("refused"));
    assert_eq!(severity(a, "smtp.connect"), "fail");
    assert_eq!(verdict(&json), "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn ehlo_name_default_is_never_a_bare_word() {
    // No --ehlo-name: /etc/mailname, an FQDN host name, or an address literal.
    let lab = Scenario::new("ehlo").lab(good).await;
    let (_, server) = &lab.servers[0];
    let args = vec![
        "check".to_string(),
        "ehlo.test".into(),
        "--format".into(),
        "json".into(),
        "--resolver".into(),
        lab.dns.resolver_arg(),
        "--ca-file".into(),
        lab.pki.ca_file().display().to_string(),
        "--connect-to".into(),
        format!("mx.ehlo.test:25::{}", server.port()),
        "--dnssec".into(),
        "trust-resolver".into(),
        "--allow-local-addresses".into(),
    ];
    let run = lab::run::smtptls(args).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let first = server.commands().first().cloned().unwrap_or_default();
    let name = first.strip_prefix("EHLO ").unwrap_or_default();
    assert!(name.contains('.') || name.starts_with('['), "EHLO {name:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_only_server_is_a_tls_version_failure() {
    // What a TLS 1.0-only server answers a TLS 1.2+ ClientHello.
    let (_, json, _s) = starttls_failure("legacy", StartTls::TlsAlert(70)).await;
    let a = first_address(&json, "legacy.test");
    let (phase, kind, message) = error_of(a);
    assert_eq!((phase.as_str(), kind.as_str()), ("tls-handshake", "tls"));
    assert!(message.contains("no TLS version we share"), "{message}");
    assert_eq!(severity(a, "tls.version"), "fail");
    assert_eq!(severity(a, "tls.handshake"), "fail");
    assert_eq!(a["starttls"], true, "offered, but unusable");
    assert_eq!(verdict(&json), "plaintext");
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_failure_alert_is_named() {
    let (_, json, _s) = starttls_failure("alert", StartTls::TlsAlert(40)).await;
    let a = first_address(&json, "alert.test");
    let (_, _, message) = error_of(a);
    assert!(message.contains("alert handshake_failure"), "{message}");
    assert_eq!(severity(a, "tls.version"), "absent");
}

#[tokio::test(flavor = "multi_thread")]
async fn plaintext_answer_to_the_client_hello_is_not_tls() {
    let (_, json, _s) = starttls_failure("nothello", StartTls::NotTlsAfterHello).await;
    let a = first_address(&json, "nothello.test");
    let (phase, kind, message) = error_of(a);
    assert_eq!((phase.as_str(), kind.as_str()), ("tls-handshake", "tls"));
    assert!(message.contains("not TLS"), "{message}");
    assert_eq!(severity(a, "tls.handshake"), "fail");
    assert_eq!(verdict(&json), "plaintext");
}
