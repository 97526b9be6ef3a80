//! End to end: the protocol scan (`--scan`) and the STARTTLS injection
//! test against lab servers on loopback. The fake legacy stack of the lab
//! server (`Behaviour::legacy`) answers the scan's hand-built TLS ≤ 1.2
//! hellos with canned bytes, while rustls still serves the main handshake,
//! so one server is "secure" by its main handshake and shows what else it
//! accepts. Exact JSON, finding ids, verdicts and transcripts.

mod lab;

use lab::pki::TestPki;
use lab::report::{first_address, level, severity};
use lab::scenario::{Scenario, assert_polite, good};
use lab::smtp::{Behaviour, Legacy, Pipelined};
use serde_json::{Value, json};

/// TLS 1.0 and 1.2 with 3DES (static RSA) first, DHE over a 1024-bit
/// prime, ECDHE-CBC and ECDHE-GCM; server order.
fn legacy() -> Legacy {
    Legacy {
        versions: vec![0x0301, 0x0303],
        suites: vec![0x000a, 0x0033, 0xc013, 0xc02f],
        dhe_bits: 1024,
        only: false,
    }
}

/// A good server with the fake legacy stack `legacy` beside rustls.
fn with_legacy(legacy: Legacy) -> impl FnOnce(&TestPki, &str) -> Behaviour {
    move |pki, mx| Behaviour {
        legacy: Some(legacy),
        ..good(pki, mx)
    }
}

/// A good server that handles commands pipelined behind STARTTLS as
/// `pipelined` says.
fn pipelining(pipelined: Pipelined) -> impl FnOnce(&TestPki, &str) -> Behaviour {
    move |pki, mx| Behaviour {
        pipelined,
        ..good(pki, mx)
    }
}

fn suites(v: &Value) -> Vec<&str> {
    v["suites"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn light_scan_of_a_legacy_server() {
    let (run, json, server) = Scenario::new("legacy").check(with_legacy(legacy())).await;
    // Secure by what senders get (its main handshake); that it also
    // accepts TLS 1.0, 3DES, static RSA and a 1024-bit DHE prime is the
    // configuration axis: insufficient, which leaves the verdict alone.
    assert_eq!(run.code, 0, "{}", run.stderr);
    let d = &json["domains"][0];
    assert_eq!(d["verdict"], "secure", "{}", d["verdict_reason"]);
    assert_eq!(d["configuration"]["level"], "insufficient");
    assert_eq!(d["configuration"]["lower_bound"], false);
    let items = d["configuration"]["items"].to_string();
    for id in ["tls.protocols", "tls.cipher-suites", "tls.key-exchange"] {
        assert!(items.contains(id), "{id} in {items}");
    }
    let a = first_address(&json, "legacy.test");
    let scan = &a["scan"];
    assert_eq!(scan["mode"], "light");
    assert_eq!(scan["connections"], 7);
    assert_eq!(scan["complete"], true);
    assert_eq!(
        scan["accepted_versions"],
        json!(["TLSv1.0", "TLSv1.2", "TLSv1.3"])
    );
    let versions = scan["versions"].as_array().expect("versions");
    let accepted: Vec<&Value> = versions.iter().map(|v| &v["accepted"]).collect();
    assert_eq!(
        accepted,
        vec![
            &json!(false),
            &json!(true),
            &json!(false),
            &json!(true),
            &json!(true)
        ]
    );
    assert_eq!(
        versions[1]["preferred_suite"],
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    );
    assert_eq!(suites(&versions[1]), vec!["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]);
    assert_eq!(
        versions[3]["preferred_suite"],
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    );
    assert_eq!(
        suites(&versions[3]),
        vec![
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"
        ]
    );
    assert_eq!(versions[3]["suites"][0]["level"], "insufficient");
    assert_eq!(scan["server_order"], true);
    assert_eq!(
        scan["weak_suites"],
        json!({"null": null, "anonymous": null, "export": null, "rc4": null, "des": null,
               "triple_des": true, "static_rsa": true, "cbc": true})
    );
    assert_eq!(
        scan["dhe"],
        json!({"bits": 1024, "group": null, "level": "insufficient"})
    );
    assert_eq!(scan["compression"], false);
    assert_eq!(scan["secure_renegotiation"], true);
    assert_eq!(scan["post_quantum_accepted"], Value::Null);

    for (id, sev, lvl) in [
        // Configuration axis only: warn, level insufficient.
        ("tls.protocols", "warn", json!("insufficient")),
        ("tls.cipher-suites", "warn", json!("insufficient")),
        ("tls.key-exchange", "warn", json!("insufficient")),
        ("tls.cipher-order", "ok", Value::Null),
        ("tls.compression", "ok", json!("good")),
        ("tls.renegotiation", "ok", Value::Null),
        ("starttls.injection", "ok", Value::Null),
        ("tls.handshake", "ok", Value::Null),
    ] {
        assert_eq!(severity(a, id), sev, "{id}");
        assert_eq!(level(a, id), Some(&lvl), "{id}");
    }
    // Main dialogue, seven hellos, the injection test, the second hello
    // for an RSA certificate (refused: the server has one key type);
    // never mail.
    assert_eq!(server.connections(), 10);
    assert_eq!(json["summary"]["probes"], 10);
    assert_polite(&server);
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_scan_enumerates_every_suite_and_group() {
    let (run, json, server) = Scenario::new("deep")
        .args(&["--scan", "deep"])
        .check(with_legacy(legacy()))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["settings"]["scan"], "deep");
    let a = first_address(&json, "deep.test");
    let scan = &a["scan"];
    assert_eq!(scan["mode"], "deep");
    let versions = scan["versions"].as_array().expect("versions");
    // In the server's order, which it enforces.
    assert_eq!(
        suites(&versions[1]),
        vec![
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        ]
    );
    assert_eq!(
        suites(&versions[3]),
        vec![
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ]
    );
    // rustls serves TLS 1.3, in the client's order.
    assert_eq!(
        suites(&versions[4]),
        vec![
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256"
        ]
    );
    // Exact categories: every suite is known.
    assert_eq!(
        scan["weak_suites"],
        json!({"null": false, "anonymous": false, "export": false, "rc4": false, "des": false,
               "triple_des": true, "static_rsa": true, "cbc": true})
    );
    let groups: Vec<&str> = scan["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    for g in ["secp256r1", "secp384r1", "X25519", "X25519MLKEM768"] {
        assert!(groups.contains(&g), "{g} in {groups:?}");
    }
    assert_eq!(scan["post_quantum_accepted"], true);
    assert_eq!(scan["complete"], true);
    assert!(
        scan["connections"].as_u64().is_some_and(|n| n > 30),
        "{}",
        scan["connections"]
    );
    assert_polite(&server);
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_injection_answered_inside_tls_fails() {
    // `--scan off`: the injection test then has the address to itself
    // after the main probe (with a scan, its connection runs beside the
    // scan's and the server's log interleaves them).
    let (run, json, server) = Scenario::new("injectable")
        .args(&["--scan", "off"])
        .check(pipelining(Pipelined::AnsweredInTls))
        .await;
    let a = first_address(&json, "injectable.test");
    assert_eq!(
        a["starttls_injection"],
        json!({"result": "vulnerable", "reply": "250 2.0.0 OK", "error": null})
    );
    assert_eq!(severity(a, "starttls.injection"), "fail");
    // Encrypted and authenticated, but not secure.
    assert_eq!(json["domains"][0]["verdict"], "encrypted");
    assert_eq!(run.code, 0);
    // The NOOP reached the command loop inside TLS, after the second EHLO
    // of the injection test's connection, the one right after the main
    // probe's.
    let commands = server.commands();
    let injection: Vec<&str> = commands[4..9].iter().map(String::as_str).collect();
    assert_eq!(
        injection,
        vec![
            "EHLO client.smtptls.test",
            "STARTTLS",
            "NOOP",
            "EHLO client.smtptls.test",
            "QUIT"
        ]
    );
    assert_polite(&server);
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_injection_answered_in_plaintext_is_not_a_failure() {
    let (_, json, server) = Scenario::new("plainanswer")
        .check(pipelining(Pipelined::AnsweredInPlaintext))
        .await;
    let a = first_address(&json, "plainanswer.test");
    assert_eq!(
        a["starttls_injection"],
        json!({"result": "answered-in-plaintext", "reply": "250 2.0.0 OK", "error": null})
    );
    assert_eq!(severity(a, "starttls.injection"), "info");
    assert_eq!(json["domains"][0]["verdict"], "secure");
    assert_polite(&server);
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_off_makes_no_scan_but_still_tests_injection() {
    let (run, json, server) = Scenario::new("noscan")
        .args(&["--scan", "off"])
        .check(with_legacy(legacy()))
        .await;
    assert_eq!(run.code, 0);
    let a = first_address(&json, "noscan.test");
    assert_eq!(a["scan"], Value::Null);
    // The injection test decides what senders get, so it runs in every
    // mode, and so does the second hello for the other key type's
    // certificate: the main connection, the test's and the hello's.
    assert_eq!(a["starttls_injection"]["result"], "discarded");
    assert_eq!(severity(a, "tls.protocols"), "absent");
    assert_eq!(json["domains"][0]["verdict"], "secure");
    assert_eq!(a["configuration"]["lower_bound"], true);
    assert_eq!(json["settings"]["scan"], "off");
    assert_eq!(server.connections(), 3);
}

/// A server that speaks only TLS 1.0 (as the interop suite's Postfix
/// tls10.test): smtptls's own client gets no TLS, but the scan shows what
/// OpenSSL-based senders get, so the address is encrypted (`legacy_tls`),
/// never authenticated, and a sender policy offers `encrypt` at most.
#[tokio::test(flavor = "multi_thread")]
async fn legacy_only_server_is_encrypted_for_legacy_senders() {
    let only_tls10 = with_legacy(Legacy {
        versions: vec![0x0301],
        suites: vec![0xc013],
        dhe_bits: 2048,
        only: true,
    });
    let (run, json, server) = Scenario::new("legacyonly").check(only_tls10).await;
    let d = &json["domains"][0];
    assert_eq!(d["verdict"], "encrypted", "{}", d["verdict_reason"]);
    assert!(
        d["verdict_reason"]
            .as_str()
            .is_some_and(|r| r.contains("only with legacy TLS")),
        "{}",
        d["verdict_reason"]
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let a = first_address(&json, "legacyonly.test");
    assert_eq!(a["tls"], Value::Null, "no rustls session");
    assert_eq!(a["error"]["phase"], "tls-handshake");
    assert_eq!(a["legacy_tls"], true);
    assert_eq!(a["scan"]["accepted_versions"], json!(["TLSv1.0"]));
    assert_eq!(severity(a, "tls.protocols"), "warn");
    assert_eq!(a["configuration"]["level"], "insufficient");
    let opportunistic = &d["delivery"]["opportunistic"];
    assert_eq!(opportunistic["result"], "secure");
    assert!(
        opportunistic["reason"]
            .as_str()
            .is_some_and(|r| r.contains("legacy TLS")),
        "{opportunistic}"
    );
    assert_polite(&server);

    // The same server without the TLS 1.0 stack is clear text.
    let (_, json, _) = Scenario::new("alertonly")
        .check(with_legacy(Legacy {
            versions: Vec::new(),
            suites: Vec::new(),
            dhe_bits: 2048,
            only: true,
        }))
        .await;
    let a = first_address(&json, "alertonly.test");
    assert_eq!(a["legacy_tls"], false);
    assert_eq!(json["domains"][0]["verdict"], "plaintext");
}

/// `--deep` is `--scan deep`.
#[tokio::test(flavor = "multi_thread")]
async fn deep_flag_is_scan_deep() {
    let (run, json, _server) = Scenario::new("deepflag")
        .args(&["--deep"])
        .check(good)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["settings"]["scan"], "deep");
    assert_eq!(
        first_address(&json, "deepflag.test")["scan"]["mode"],
        "deep"
    );
}

/// `--fail-level`: the configuration axis as a CI threshold of its own. A
/// secure domain whose server also accepts insufficient settings passes by
/// default and fails with `--fail-level insufficient`.
#[tokio::test(flavor = "multi_thread")]
async fn fail_level_makes_the_configuration_axis_a_threshold() {
    let (run, json, _server) = Scenario::new("level")
        .args(&["--fail-level", "insufficient"])
        .check(with_legacy(legacy()))
        .await;
    let d = &json["domains"][0];
    assert_eq!(d["verdict"], "secure");
    assert_eq!(d["configuration"]["level"], "insufficient");
    assert_eq!(json["settings"]["fail_level"], "insufficient");
    assert_eq!(json["summary"]["below_level"], 1);
    assert_eq!(json["summary"]["below_threshold"], 0);
    assert_eq!(run.code, 1, "{}", run.stderr);

    let (run, json, _server) = Scenario::new("nolevel").check(with_legacy(legacy())).await;
    assert_eq!(json["settings"]["fail_level"], Value::Null);
    assert_eq!(json["summary"]["below_level"], 0);
    assert_eq!(run.code, 0, "off by default");
}
