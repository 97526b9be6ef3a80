//! The verdict says what senders get, whatever `--scan` asks for: every
//! in-process lab knob, audited with `--scan off`, `light` and `deep`, gives
//! the same verdict, the same delivery outcome for each kind of sender and
//! the same `smtptls policy` level. Only the configuration axis may differ
//! (and `light`/`off` say when their level is a lower bound).

mod lab;

use std::collections::BTreeMap;
use std::time::Duration;

use lab::dns::ZoneBuilder;
use lab::pki::{Issuer, KeyKind, LeafSpec, OcspSpec, TestPki};
use lab::report::domain;
use lab::run::{Lab, smtptls};
use lab::smtp::{Banner, Behaviour, Ehlo, Legacy, Pipelined, SmtpServer, StartTls};
use serde_json::Value;
use time::OffsetDateTime;

/// One lab server per knob: `(name, behaviour for mx.NAME.test)`.
fn knobs(pki: &TestPki) -> Vec<(&'static str, Behaviour)> {
    let leaf = |name: &str, f: &dyn Fn(LeafSpec) -> LeafSpec| {
        pki.leaf(&f(LeafSpec::valid_for(&format!("mx.{name}.test"))))
    };
    let good = |name: &str| Behaviour::good(&format!("mx.{name}.test"), leaf(name, &|l| l));
    let with_cert = |name: &str, f: &dyn Fn(LeafSpec) -> LeafSpec| {
        Behaviour::good(&format!("mx.{name}.test"), leaf(name, f))
    };
    let legacy = Legacy {
        versions: vec![0x0301, 0x0303],
        suites: vec![0x000a, 0x0033, 0xc013, 0xc02f],
        dhe_bits: 1024,
        only: false,
    };
    // A must-staple leaf (or not) stapling the response `spec` gives.
    let stapled = |name: &str, spec: OcspSpec, must_staple: bool| {
        let cert = leaf(name, &|l| LeafSpec { must_staple, ..l });
        let response = pki.ocsp_response(&cert, &spec);
        Behaviour::good(&format!("mx.{name}.test"), cert.stapling(response))
    };
    let now = OffsetDateTime::now_utc();
    vec![
        ("good", good("good")),
        (
            "multiline",
            Behaviour {
                banner: Banner::Multiline,
                ..good("multiline")
            },
        ),
        ("plain", Behaviour::plain("mx.plain.test")),
        (
            "refused",
            Behaviour {
                starttls: StartTls::Refused454,
                ..good("refused")
            },
        ),
        (
            "closes",
            Behaviour {
                starttls: StartTls::CloseOnStartTls,
                ..good("closes")
            },
        ),
        (
            "garbage",
            Behaviour {
                starttls: StartTls::HandshakeGarbage,
                ..good("garbage")
            },
        ),
        (
            "nottls",
            Behaviour {
                starttls: StartTls::NotTlsAfterHello,
                ..good("nottls")
            },
        ),
        (
            "alert",
            Behaviour {
                starttls: StartTls::TlsAlert(40),
                ..good("alert")
            },
        ),
        (
            "noehlo",
            Behaviour {
                ehlo: Ehlo::RejectEhlo,
                ..good("noehlo")
            },
        ),
        (
            "busy",
            Behaviour {
                banner: Banner::Reject421,
                ..good("busy")
            },
        ),
        (
            "badbanner",
            Behaviour {
                banner: Banner::Garbage,
                ..good("badbanner")
            },
        ),
        (
            "inject",
            Behaviour {
                pipelined: Pipelined::AnsweredInTls,
                ..good("inject")
            },
        ),
        (
            "plainreply",
            Behaviour {
                pipelined: Pipelined::AnsweredInPlaintext,
                ..good("plainreply")
            },
        ),
        (
            "legacy",
            Behaviour {
                legacy: Some(legacy.clone()),
                ..good("legacy")
            },
        ),
        (
            "tls10only",
            Behaviour {
                legacy: Some(Legacy {
                    versions: vec![0x0301],
                    only: true,
                    ..legacy.clone()
                }),
                ..good("tls10only")
            },
        ),
        (
            "dheonly",
            Behaviour {
                legacy: Some(Legacy {
                    versions: vec![0x0303],
                    suites: vec![0x009e],
                    only: true,
                    ..legacy.clone()
                }),
                ..good("dheonly")
            },
        ),
        (
            "expired",
            with_cert("expired", &|l| LeafSpec {
                not_before: now - Duration::from_secs(90 * 86400),
                not_after: now - Duration::from_secs(86400),
                ..l
            }),
        ),
        (
            "selfsigned",
            with_cert("selfsigned", &|l| LeafSpec {
                issuer: Issuer::SelfSigned,
                ..l
            }),
        ),
        (
            "nointer",
            with_cert("nointer", &|l| LeafSpec {
                send_intermediate: false,
                ..l
            }),
        ),
        (
            "wrongname",
            with_cert("wrongname", &|l| LeafSpec {
                names: vec!["mx.elsewhere.test".into()],
                ..l
            }),
        ),
        (
            "rsa1024",
            with_cert("rsa1024", &|l| LeafSpec {
                key: KeyKind::Rsa1024,
                ..l
            }),
        ),
        (
            "badsig",
            with_cert("badsig", &|l| LeafSpec {
                key: KeyKind::Rsa1024BadSignature,
                ..l
            }),
        ),
        (
            "requiretls",
            Behaviour {
                ehlo: Ehlo::RequireTls,
                ..good("requiretls")
            },
        ),
        ("stapled", stapled("stapled", OcspSpec::revoked(), false)),
        ("muststaple", {
            let cert = leaf("muststaple", &|l| LeafSpec {
                must_staple: true,
                ..l
            });
            Behaviour::good("mx.muststaple.test", cert)
        }),
    ]
}

/// What must not change with `--scan`: verdict and the three senders.
fn senders_get(d: &Value) -> String {
    let delivery = &d["delivery"];
    format!(
        "{} / {} {} {}",
        d["verdict"].as_str().unwrap_or("?"),
        delivery["opportunistic"]["result"],
        delivery["mta_sts"]["result"],
        delivery["dane"]["result"],
    )
}

/// The active lines of a generated Postfix policy table, by domain.
fn policy_levels(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((
                words.next()?.to_string(),
                words.collect::<Vec<_>>().join(" "),
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn verdict_delivery_and_policy_are_the_same_in_every_scan_mode() {
    let pki = TestPki::new();
    let mut zone = ZoneBuilder::new();
    let knobs = knobs(&pki);
    let names: Vec<String> = knobs.iter().map(|(n, _)| format!("{n}.test")).collect();
    for (name, _) in &knobs {
        let mx = format!("mx.{name}.test");
        zone = zone
            .mx(&format!("{name}.test"), 10, &mx)
            .a(&mx, std::net::Ipv4Addr::LOCALHOST);
    }
    let mut lab = Lab::new(zone.start().await, pki);
    for (name, behaviour) in knobs {
        lab.serve(
            &format!("mx.{name}.test"),
            SmtpServer::start(behaviour).await,
        );
    }
    let domains: Vec<&str> = names.iter().map(String::as_str).collect();

    let mut seen: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    let mut policies = Vec::new();
    for mode in ["off", "light", "deep"] {
        let run = lab.check_json(&domains, &["--scan", mode]).await;
        let json = run.json();
        for name in &domains {
            seen.entry(name)
                .or_default()
                .push((mode, senders_get(domain(&json, name))));
        }
        let mut args = vec!["policy".to_string(), "--format".into(), "postfix".into()];
        args.extend(domains.iter().map(|d| d.to_string()));
        args.extend(lab.args());
        args.extend(["--scan".to_string(), mode.to_string()]);
        let policy = smtptls(args).await;
        policies.push((mode, policy_levels(&policy.stdout)));
    }

    let mut differ = Vec::new();
    println!(
        "\n{:<18} {:<48} {:<48} {:<48}",
        "domain", "off", "light", "deep"
    );
    for (name, by_mode) in &seen {
        let cells: Vec<&str> = by_mode.iter().map(|(_, s)| s.as_str()).collect();
        println!(
            "{name:<18} {:<48} {:<48} {:<48}",
            cells[0], cells[1], cells[2]
        );
        if cells.iter().any(|c| *c != cells[0]) {
            differ.push(format!("{name}: {by_mode:?}"));
        }
    }
    for (mode, levels) in &policies[1..] {
        if *levels != policies[0].1 {
            differ.push(format!(
                "policy with --scan {mode}: {levels:?}\n  with --scan off: {:?}",
                policies[0].1
            ));
        }
    }
    assert!(
        policies[0].1.len() > 10,
        "policy lines: {:?}",
        policies[0].1
    );
    assert!(
        differ.is_empty(),
        "differs by --scan mode:\n{}",
        differ.join("\n")
    );
}
