//! The "Address grades" table of `docs/grading.md`, one case per way
//! into each grade, graded as the inspector grades an address: through
//! its MX host, which adds DANE (a match authenticates) and the
//! injection downgrade (`Weak`).

use rustls::pki_types::CertificateDer;

use crate::inspector::MxEvidence;
use crate::inspector::assessment::AddressGrade::{self, *};
use crate::inspector::mx::inspect_mx;
use crate::inspector::testkit::*;
use crate::prober::injection::Injection;
use crate::prober::scan::Version;
use crate::prober::{Phase, Probe, ProbeErrorKind, TlsFailure};
use crate::resolver::Answer;

struct Case {
    name: &'static str,
    mx: MxEvidence,
    grade: AddressGrade,
    /// `id=severity` present, `!id` absent.
    findings: &'static [&'static str],
}

/// MX1 with one address, probed as `probe`.
fn one(probe: Probe) -> MxEvidence {
    mx(10, MX1, vec![probe])
}

fn run(cases: Vec<Case>) {
    let settings = settings();
    let mut failures = Vec::new();
    for c in &cases {
        let (out, grades) = inspect_mx(DOMAIN, &c.mx, None, &settings);
        let row = &out.addresses[0];
        if row.grade != c.grade || grades != [c.grade] {
            failures.push(format!(
                "{}: grade {:?} (rubric {grades:?}), expected {:?}",
                c.name, row.grade, c.grade
            ));
        }
        if let Err(e) = check_findings(&row.findings, c.findings) {
            failures.push(format!("{}: {e}", c.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn unreachable_when_connect_banner_or_ehlo_fails() {
    let rejected = |code, text| ProbeErrorKind::Rejected(reply(code, text));
    run(vec![
        Case {
            name: "no TCP connection",
            mx: one(connect_failed()),
            grade: Unreachable,
            findings: &["smtp.connect=fail", "!smtp.banner", "!starttls.offered"],
        },
        Case {
            name: "not contacted: timed out earlier in the run",
            mx: one(skipped()),
            grade: Unreachable,
            findings: &["smtp.connect=fail", "!smtp.banner"],
        },
        Case {
            name: "no complete greeting (timeout)",
            mx: one(banner_failed(timeout(30))),
            grade: Unreachable,
            findings: &["smtp.connect=ok", "smtp.banner=fail", "!smtp.ehlo"],
        },
        Case {
            name: "421 greeting",
            mx: one(banner_failed(rejected(421, "4.7.0 try later"))),
            grade: Unreachable,
            findings: &["smtp.banner=fail", "!smtp.ehlo"],
        },
        Case {
            name: "554 greeting",
            mx: one(banner_failed(rejected(554, "5.7.1 go away"))),
            grade: Unreachable,
            findings: &["smtp.banner=fail"],
        },
        Case {
            name: "garbage greeting",
            mx: one(banner_failed(ProbeErrorKind::Unparseable(
                "HTTP/1.1 400".into(),
            ))),
            grade: Unreachable,
            findings: &["smtp.banner=fail"],
        },
        Case {
            name: "over-long greeting",
            mx: one(banner_failed(ProbeErrorKind::LineTooLong)),
            grade: Unreachable,
            findings: &["smtp.banner=fail"],
        },
        Case {
            name: "EHLO answered 4xx",
            mx: one(greeting_failed(
                Phase::Ehlo,
                rejected(421, "4.3.2 shutting down"),
            )),
            grade: Unreachable,
            findings: &["smtp.banner=ok", "smtp.ehlo=fail", "!starttls.offered"],
        },
        Case {
            name: "HELO refused",
            mx: one(greeting_failed(Phase::Helo, rejected(502, "5.5.1 no"))),
            grade: Unreachable,
            findings: &["smtp.ehlo=fail", "!starttls.offered"],
        },
        Case {
            name: "no reply to EHLO",
            mx: one(greeting_failed(Phase::Ehlo, timeout(30))),
            grade: Unreachable,
            findings: &["smtp.ehlo=fail"],
        },
    ]);
}

#[test]
fn no_tls_when_starttls_handshake_or_ehlo_after_tls_fails() {
    run(vec![
        Case {
            name: "STARTTLS not offered",
            mx: one(no_starttls()),
            grade: NoTls,
            findings: &["smtp.ehlo=ok", "starttls.offered=fail", "!starttls.command"],
        },
        Case {
            name: "HELO only",
            mx: one(helo_only()),
            grade: NoTls,
            findings: &["smtp.ehlo=warn", "starttls.offered=fail"],
        },
        Case {
            name: "STARTTLS refused",
            mx: one(starttls_refused()),
            grade: NoTls,
            findings: &[
                "starttls.offered=ok",
                "starttls.command=fail",
                "!tls.handshake",
            ],
        },
        Case {
            name: "plain text after 220 to STARTTLS",
            mx: one(starttls_failed()),
            grade: NoTls,
            findings: &["starttls.command=fail", "!tls.handshake"],
        },
        Case {
            name: "handshake alert after the certificate",
            mx: one(handshake_failed(
                TlsFailure::Alert("handshake_failure".into()),
                valid(MX1),
            )),
            grade: NoTls,
            // The certificate seen before the failure is still graded.
            findings: &[
                "starttls.command=ok",
                "tls.handshake=fail",
                "cert.chain.valid=ok",
                "!smtp.ehlo-after-tls",
            ],
        },
        Case {
            name: "no common TLS version, no scan",
            mx: one(handshake_failed(
                TlsFailure::NoCommonVersion("protocol version".into()),
                Vec::new(),
            )),
            grade: NoTls,
            findings: &[
                "tls.version=fail",
                "tls.handshake=fail",
                "!cert.chain.valid",
            ],
        },
        Case {
            name: "handshake failed, yet the scan saw a suite our client offers",
            mx: one(Probe {
                scan: Some(scan(
                    &[(Version::Tls12, &[ECDHE_ECDSA_AES128_GCM])],
                    valid(MX1),
                )),
                ..handshake_failed(TlsFailure::Alert("decrypt_error".into()), Vec::new())
            }),
            grade: NoTls,
            findings: &["tls.handshake=fail"],
        },
        Case {
            name: "EHLO inside TLS refused",
            mx: one(ehlo_after_tls_failed(valid(MX1))),
            grade: NoTls,
            findings: &["tls.handshake=ok", "smtp.ehlo-after-tls=fail"],
        },
    ]);
}

#[test]
fn unauthenticated_when_the_certificate_does_not_authenticate() {
    let self_signed_mx1 = self_signed(MX1);
    run(vec![
        Case {
            name: "chain to an untrusted root",
            mx: one(tls(untrusted(MX1))),
            grade: Unauthenticated,
            findings: &["cert.chain.valid=fail", "cert.hostname=ok"],
        },
        Case {
            name: "name does not match the MX host",
            mx: one(tls(valid("mail.other.test"))),
            grade: Unauthenticated,
            findings: &["cert.chain.valid=ok", "cert.hostname=fail"],
        },
        Case {
            name: "self-signed, no TLSA",
            mx: one(tls(self_signed(MX1))),
            grade: Unauthenticated,
            findings: &["cert.chain.valid=fail", "!dane.valid"],
        },
        Case {
            name: "expired",
            mx: one(tls(expiring(MX1, -1))),
            grade: Unauthenticated,
            findings: &["cert.chain.valid=fail", "cert.expiry=fail"],
        },
        Case {
            name: "certificate cannot be parsed",
            mx: one(tls(vec![CertificateDer::from(vec![
                0x30, 0x03, 0x02, 0x01, 0x00,
            ])])),
            grade: Unauthenticated,
            findings: &["cert.chain.valid=fail", "!cert.hostname"],
        },
        Case {
            name: "handshake signature not verified",
            mx: one(signature_unverified(valid(MX1))),
            grade: Unauthenticated,
            findings: &[
                "tls.handshake=warn",
                "cert.chain.valid=ok",
                "cert.hostname=ok",
            ],
        },
        Case {
            name: "self-signed, TLSA that does not match",
            mx: signed(
                one(tls(self_signed_mx1.clone())),
                Answer::Records(vec![dane_ee_other()]),
            ),
            grade: Unauthenticated,
            findings: &["cert.chain.valid=fail", "dane.valid=fail"],
        },
        Case {
            name: "injectable, but not authenticated",
            mx: one(injectable(untrusted(MX1))),
            grade: Unauthenticated,
            findings: &["starttls.injection=fail", "cert.chain.valid=fail"],
        },
    ]);
}

#[test]
fn legacy_tls_when_only_the_fallback_hello_got_a_session() {
    run(vec![Case {
        name: "TLS 1.0 with static RSA only",
        mx: one(legacy_only(valid(MX1))),
        grade: LegacyTls,
        // The certificate the fallback hello got is graded, and what
        // such a sender gets is said (the scan's findings need --scan).
        findings: &[
            "tls.version=fail",
            "tls.handshake=fail",
            "tls.legacy-session=warn",
            "cert.chain.valid=ok",
        ],
    }]);
}

#[test]
fn weak_when_commands_injected_before_tls_run_inside_it() {
    let chain = self_signed(MX1);
    run(vec![
        Case {
            name: "PKIX-valid, injectable",
            mx: one(injectable(valid(MX1))),
            grade: Weak,
            findings: &["starttls.injection=fail", "cert.chain.valid=ok"],
        },
        Case {
            name: "DANE-valid, injectable",
            mx: signed(
                one(injectable(chain.clone())),
                Answer::Records(vec![dane_ee(&chain)]),
            ),
            grade: Weak,
            findings: &["starttls.injection=fail", "dane.valid=ok"],
        },
    ]);
}

#[test]
fn authenticated_by_pkix_or_by_dane() {
    let pinned = self_signed(MX1);
    let misnamed = valid("mail.other.test");
    run(vec![
        Case {
            name: "valid chain and name",
            mx: one(tls(valid(MX1))),
            grade: Authenticated,
            findings: &[
                "smtp.connect=ok",
                "smtp.banner=ok",
                "smtp.ehlo=ok",
                "starttls.offered=ok",
                "starttls.command=ok",
                "tls.handshake=ok",
                "tls.version=ok",
                "smtp.ehlo-after-tls=ok",
                "cert.chain.valid=ok",
                "cert.hostname=ok",
                "cert.expiry=ok",
                "!dane.valid",
            ],
        },
        Case {
            name: "self-signed, DANE-EE match",
            mx: signed(
                one(tls(pinned.clone())),
                Answer::Records(vec![dane_ee(&pinned)]),
            ),
            grade: Authenticated,
            findings: &["cert.chain.valid=fail", "dane.valid=ok"],
        },
        Case {
            name: "wrong name, DANE-EE match",
            mx: signed(
                one(tls(misnamed.clone())),
                Answer::Records(vec![dane_ee(&misnamed)]),
            ),
            grade: Authenticated,
            findings: &["cert.hostname=fail", "dane.valid=ok"],
        },
    ]);
}

/// "These findings do not change the grade on their own": the expiry
/// warning, every warn and info finding, the configuration axis.
#[test]
fn warnings_and_infos_do_not_change_the_grade() {
    run(vec![
        Case {
            name: "expires in 10 days",
            mx: one(tls(expiring(MX1, 10))),
            grade: Authenticated,
            findings: &["cert.expiry=warn"],
        },
        Case {
            name: "RSA-2048 key (phase-out)",
            mx: one(tls(rsa2048(MX1))),
            grade: Authenticated,
            findings: &["cert.key=warn"],
        },
        Case {
            name: "no post-quantum key exchange",
            mx: one(tls(valid(MX1))),
            grade: Authenticated,
            findings: &["tls.post-quantum=info"],
        },
        Case {
            name: "pipelined command answered in plain text",
            mx: one(Probe {
                injection: Some(Ok(Injection::AnsweredInPlaintext(reply(250, "OK")))),
                ..tls(valid(MX1))
            }),
            grade: Authenticated,
            findings: &["starttls.injection=info"],
        },
        Case {
            name: "also accepts TLS 1.0 with static RSA",
            mx: one(Probe {
                scan: Some(scan(
                    &[
                        (Version::Tls10, &[RSA_AES128_CBC_SHA]),
                        (Version::Tls12, &[ECDHE_ECDSA_AES128_GCM]),
                    ],
                    Vec::new(),
                )),
                ..tls(valid(MX1))
            }),
            grade: Authenticated,
            findings: &["tls.protocols=warn", "tls.cipher-suites=warn"],
        },
    ]);
}

/// REQUIRETLS and OCSP stapling are facts and the configuration axis:
/// whatever they say, the address keeps the grade its dialogue and
/// certificate give.
#[test]
fn requiretls_and_stapling_never_change_the_grade() {
    let with_ehlo = |extensions: &[&str]| Probe {
        greeting_after_tls: Some(crate::prober::Greeting {
            helo_fallback: false,
            extensions: extensions.iter().map(|e| e.to_string()).collect(),
        }),
        ..tls(valid(MX1))
    };
    let stapled = |der: &[u8]| {
        let mut p = tls(valid(MX1));
        if let Some(t) = p.tls.as_mut() {
            t.ocsp_stapled = true;
            t.ocsp = Some(der.to_vec());
        }
        p
    };
    run(vec![
        Case {
            name: "REQUIRETLS advertised (any case)",
            mx: one(with_ehlo(&["PIPELINING", "requiretls"])),
            grade: Authenticated,
            findings: &["smtp.requiretls=ok", "tls.ocsp-stapling=ok"],
        },
        Case {
            name: "REQUIRETLS not advertised",
            mx: one(with_ehlo(&["PIPELINING", "REQUIRETLSX"])),
            grade: Authenticated,
            findings: &["smtp.requiretls=ok"],
        },
        Case {
            name: "an unusable staple",
            mx: one(stapled(b"\x30\x03\x0a\x01\x03")),
            grade: Authenticated,
            findings: &["tls.ocsp-stapling=warn", "!cert.must-staple"],
        },
        Case {
            name: "no session: nothing said of stapling or REQUIRETLS",
            mx: one(no_starttls()),
            grade: NoTls,
            findings: &["!tls.ocsp-stapling", "!smtp.requiretls"],
        },
    ]);
}

#[test]
fn requiretls_is_the_first_word_of_an_ehlo_line() {
    use crate::inspector::address::advertises_requiretls;
    let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(advertises_requiretls(&lines(&["SIZE 1000", "REQUIRETLS"])));
    assert!(advertises_requiretls(&lines(&["RequireTLS"])));
    assert!(!advertises_requiretls(&lines(&[
        "X-REQUIRETLS",
        "SIZE REQUIRETLS"
    ])));
    assert!(!advertises_requiretls(&[]));
}
