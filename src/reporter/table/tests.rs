//! The table on hand-built reports (fixed dates and days, no timings), so
//! that the snapshots (insta, `snapshots/`) are the same on every run:
//! a healthy domain, a mixed one, an error one, a null-MX one and a run
//! of several with the summary, each at 80, 120 and 200 columns; and the
//! properties every width must keep.

use super::*;
use crate::report::advice;
use crate::report::read::fixture::{address, certificate};
use crate::report::{
    Configuration, Delivery, ErrorKind, ErrorPhase, Failure, MtaStsReport, MxSource, Outcome,
    StsPolicyReport, TlsRptReport,
};
use crate::report::{Dnssec, RecordState};
use crate::reporter::fixture;
use crate::reporter::text::is_unsafe;
use crate::vocabulary::{FindingId, Threshold};

const WIDTHS: [usize; 3] = [80, 120, 200];

fn render(report: &Report, width: usize, color: bool, verbose: bool) -> String {
    let mut out = Vec::new();
    TableReporter {
        color,
        width,
        verbose,
    }
    .finish(report, &mut out)
    .expect("write");
    String::from_utf8(out).expect("UTF-8")
}

/// `text` without the colour escapes the table writes itself.
fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('\u{1b}') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find('m').expect("SGR ends with m");
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

fn outcome(result: DeliveryResult, reason: &str) -> Outcome {
    Outcome {
        result,
        reason: reason.to_string(),
    }
}

fn host(name: &str, preference: u16, addresses: Vec<AddressReport>) -> MxReport {
    MxReport {
        host: name.to_string(),
        preference,
        cname: None,
        dnssec: Dnssec::Insecure,
        tlsa: None,
        mta_sts_match: None,
        post_quantum: Some(false),
        addresses,
        addresses_left_out: Vec::new(),
        findings: Vec::new(),
        error: None,
    }
}

/// Looked up, and no `_mta-sts` record.
fn no_mta_sts() -> Option<MtaStsReport> {
    Some(MtaStsReport {
        record: RecordState::Absent,
        id: None,
        policy: None,
        fetch_error: None,
    })
}

/// Looked up, and no `_smtp._tls` record.
fn no_tls_rpt() -> Option<TlsRptReport> {
    Some(TlsRptReport {
        record: RecordState::Absent,
        rua: Vec::new(),
    })
}

fn configuration(level: NcscLevel) -> Option<Configuration> {
    Some(Configuration {
        level,
        items: Vec::new(),
        lower_bound: true,
    })
}

/// A light scan that saw `versions` accepted, `anonymous` suites, and a
/// DHE prime of `dhe_bits`.
fn scan(versions: &[&str], anonymous: bool, dhe_bits: Option<u32>) -> crate::report::ScanReport {
    serde_json::from_value(serde_json::json!({
        "mode": "light", "connections": 7, "complete": true, "stopped": null,
        "versions": [], "accepted_versions": versions, "server_order": true,
        "weak_suites": { "null": false, "anonymous": anonymous, "export": false, "rc4": false,
                         "des": false, "triple_des": false, "static_rsa": null, "cbc": null },
        "dhe": dhe_bits.map(|bits| serde_json::json!({ "bits": bits, "group": null, "level": "insufficient" })),
        "groups": [], "post_quantum_accepted": null,
        "compression": false, "secure_renegotiation": true
    }))
    .expect("scan")
}

/// One MX, TLS 1.3, a valid certificate, MTA-STS enforce, TLS-RPT.
fn healthy() -> DomainReport {
    let mut a = address("192.0.2.10");
    a.certificate = Some(certificate("mx.good.example", 89));
    a.dane = DaneResult::Insecure;
    a.scan = Some(scan(&["TLSv1.2", "TLSv1.3"], false, None));
    a.configuration = configuration(NcscLevel::Sufficient);
    a.findings = vec![
        Finding::ok(FindingId::StarttlsOffered, "STARTTLS is offered"),
        Finding::ok(FindingId::TlsVersion, "TLS 1.3"),
    ];
    let mut mx = host("mx.good.example", 10, vec![a]);
    mx.mta_sts_match = Some(true);
    let mut d = DomainReport {
        verdict: Verdict::Protected,
        verdict_reason: "secure, and every reachable MX address is protected by MTA-STS enforce"
            .into(),
        mx_source: MxSource::Mx,
        mx: vec![mx],
        dnssec: Dnssec::Insecure,
        mta_sts: Some(MtaStsReport {
            record: RecordState::Valid,
            id: Some("20250101".into()),
            policy: Some(StsPolicyReport {
                url: "https://mta-sts.good.example/.well-known/mta-sts.txt".into(),
                mode: crate::report::Mode::Enforce,
                mx: vec!["mx.good.example".into()],
                max_age: 604800,
                text_sha256: None,
            }),
            fetch_error: None,
        }),
        tls_rpt: Some(TlsRptReport {
            record: RecordState::Valid,
            rua: vec!["mailto:tlsrpt@good.example".into()],
        }),
        delivery: Some(Delivery {
            opportunistic: outcome(DeliveryResult::Secure, "TLS to mx.good.example"),
            mta_sts: outcome(DeliveryResult::Secure, "policy enforced"),
            dane: outcome(DeliveryResult::NotApplicable, "MX hosts not DNSSEC-signed"),
        }),
        configuration: configuration(NcscLevel::Sufficient),
        findings: vec![Finding::ok(FindingId::MtaStsMode, "mode enforce")],
        ..DomainReport::empty("good.example")
    };
    advice::annotate(&mut d, 25);
    d
}

/// Three MX hosts: a primary (two addresses) whose certificate expires
/// soon and which also accepts TLS 1.0, anonymous suites and a 1024-bit
/// DHE group; a backup without STARTTLS; a backup with a self-signed
/// certificate for another name. No MTA-STS, no TLS-RPT.
fn mixed() -> DomainReport {
    let primary = |ip: &str| {
        let mut a = address(ip);
        let mut cert = certificate("mx1.mixed.example", 9);
        cert.not_after = "2025-06-10T00:00:00Z".into();
        a.certificate = Some(cert);
        a.dane = DaneResult::Insecure;
        a.scan = Some(scan(&["TLSv1.0", "TLSv1.2", "TLSv1.3"], true, Some(1024)));
        a.configuration = configuration(NcscLevel::Insufficient);
        a.findings = vec![
            Finding::ok(FindingId::StarttlsOffered, "STARTTLS is offered"),
            Finding::warn(
                FindingId::CertExpiry,
                "certificate expires in 9 days (2025-06-10T00:00:00Z)",
            ),
            Finding::leveled(
                FindingId::TlsProtocols,
                NcscLevel::Insufficient,
                "accepted: TLSv1.0 (insufficient), TLSv1.2 (sufficient), TLSv1.3 (good)",
            ),
            Finding::leveled(
                FindingId::TlsCipherSuites,
                NcscLevel::Insufficient,
                "anonymous suites accepted: TLS_DH_anon_WITH_AES_256_GCM_SHA384 (insufficient)",
            ),
            Finding::leveled(
                FindingId::TlsKeyExchange,
                NcscLevel::Insufficient,
                "DHE prime of 1024 bits (insufficient)",
            ),
        ];
        a
    };
    let mut plain = address("192.0.2.22");
    plain.starttls = false;
    plain.tls = None;
    plain.certificate = None;
    plain.dane = DaneResult::Insecure;
    plain.post_quantum = None;
    plain.findings = vec![Finding::fail(
        FindingId::StarttlsOffered,
        "STARTTLS is not offered: mail to this address travels in clear text",
    )];
    let mut selfish = address("192.0.2.23");
    let mut cert = certificate("mail.hosting.example", 300);
    cert.chain_valid = false;
    cert.chain_error = Some(ChainError::SelfSigned);
    cert.hostname_match = false;
    selfish.certificate = Some(cert);
    selfish.dane = DaneResult::Insecure;
    selfish.tls = selfish.tls.map(|mut t| {
        t.version = crate::report::TlsVersion::Tls12;
        t.cipher = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into();
        t
    });
    selfish.findings = vec![
        Finding::fail(
            FindingId::CertChainValid,
            "self-signed certificate (CN=mail.hosting.example)",
        ),
        Finding::fail(
            FindingId::CertHostname,
            "the certificate does not name backup.mixed.example (it names mail.hosting.example)",
        ),
    ];
    let mut d = DomainReport {
        verdict: Verdict::Partial,
        verdict_reason: "1 of 4 reachable MX addresses have no working STARTTLS".into(),
        mx_source: MxSource::Mx,
        mx: vec![
            host(
                "mx1.mixed.example",
                10,
                vec![primary("192.0.2.21"), primary("2001:db8::21")],
            ),
            host("mx2.mixed.example", 20, vec![plain]),
            host("backup.mixed.example", 30, vec![selfish]),
        ],
        dnssec: Dnssec::Insecure,
        mta_sts: no_mta_sts(),
        tls_rpt: no_tls_rpt(),
        delivery: Some(Delivery {
            opportunistic: outcome(DeliveryResult::Secure, "TLS to mx1.mixed.example"),
            mta_sts: outcome(DeliveryResult::NotApplicable, "no MTA-STS record"),
            dane: outcome(DeliveryResult::NotApplicable, "MX hosts not DNSSEC-signed"),
        }),
        configuration: configuration(NcscLevel::Insufficient),
        findings: vec![
            Finding::info(
                FindingId::MtaStsRecord,
                "no MTA-STS record at _mta-sts.mixed.example: senders cannot learn that TLS is required",
            ),
            Finding::info(
                FindingId::TlsRptRecord,
                "no TLS-RPT record: senders cannot report TLS failures to you",
            ),
        ],
        ..DomainReport::empty("mixed.example")
    };
    advice::annotate(&mut d, 25);
    d
}

/// The only MX turns every connection away with a 421 banner.
fn error() -> DomainReport {
    let mut a = address("192.0.2.30");
    a.starttls = false;
    a.tls = None;
    a.certificate = None;
    a.dane = DaneResult::Insecure;
    a.post_quantum = None;
    let message =
        "server refused the connection: 421 4.7.0 mx.busy.example too many connections, try later";
    a.error = Some(Failure {
        phase: ErrorPhase::Banner,
        kind: ErrorKind::Rejected,
        message: message.into(),
    });
    a.findings = vec![Finding::fail(FindingId::SmtpBanner, message)];
    let mut d = DomainReport {
        verdict: Verdict::Error,
        verdict_reason: "no MX address could be reached".into(),
        mx_source: MxSource::Mx,
        mx: vec![host("mx.busy.example", 10, vec![a])],
        dnssec: Dnssec::Insecure,
        mta_sts: no_mta_sts(),
        tls_rpt: Some(TlsRptReport {
            record: RecordState::Valid,
            rua: vec!["mailto:tlsrpt@busy.example".into()],
        }),
        delivery: Some(Delivery {
            opportunistic: outcome(DeliveryResult::Deferred, "no MX address answered"),
            mta_sts: outcome(DeliveryResult::NotApplicable, "no MTA-STS record"),
            dane: outcome(DeliveryResult::NotApplicable, "MX hosts not DNSSEC-signed"),
        }),
        findings: vec![Finding::info(
            FindingId::MtaStsRecord,
            "no MTA-STS record at _mta-sts.busy.example: senders cannot learn that TLS is required",
        )],
        ..DomainReport::empty("busy.example")
    };
    advice::annotate(&mut d, 25);
    d
}

fn null_mx() -> DomainReport {
    DomainReport {
        verdict: Verdict::NoMail,
        verdict_reason: "null MX: the domain accepts no mail (RFC 7505)".into(),
        mx_source: MxSource::Null,
        findings: vec![Finding::info(
            FindingId::MxNull,
            "null MX (0 .): the domain states that it accepts no mail; nothing to probe",
        )],
        ..DomainReport::empty("nomail.example")
    }
}

fn nxdomain() -> DomainReport {
    let mut d = DomainReport::failed(
        "gone.example",
        Failure {
            phase: ErrorPhase::Dns,
            kind: ErrorKind::Nxdomain,
            message: "gone.example does not exist (NXDOMAIN)".into(),
        },
    );
    d.verdict_reason = "gone.example does not exist (NXDOMAIN)".into();
    d.findings = vec![Finding::fail(
        FindingId::DnsNxdomain,
        "gone.example does not exist (NXDOMAIN)",
    )];
    d
}

/// Two MX hosts under DANE (DNSSEC-signed, one TLSA record each, so a
/// rollover tip per host), MTA-STS enforce, TLS-RPT; each address accepts
/// TLS 1.0, a 1024-bit DHE group and lets the client choose the suite:
/// three configuration warnings that do not touch the verdict.
fn protected_two_mx(name: &str) -> DomainReport {
    let mx_name = |n: u8| format!("mx{n}.{name}");
    let addr = |n: u8, ip: &str| {
        let mut a = address(ip);
        a.certificate = Some(certificate(&mx_name(n), 61));
        a.dane = DaneResult::Valid;
        a.scan = Some(scan(&["TLSv1.0", "TLSv1.2", "TLSv1.3"], false, Some(1024)));
        a.configuration = configuration(NcscLevel::Insufficient);
        a.findings = vec![
            Finding::ok(FindingId::StarttlsOffered, "STARTTLS is offered"),
            Finding::ok(
                FindingId::DaneValid,
                "the certificate matches a TLSA record",
            ),
            Finding::leveled(
                FindingId::TlsProtocols,
                NcscLevel::Insufficient,
                "accepted: TLSv1.0 (insufficient), TLSv1.2 (sufficient), TLSv1.3 (good)",
            ),
            Finding::leveled(
                FindingId::TlsKeyExchange,
                NcscLevel::Insufficient,
                "DHE prime of 1024 bits (insufficient)",
            ),
            Finding::warn(
                FindingId::TlsCipherOrder,
                "the server follows the client's suite order although it accepts phase-out or insufficient suites (NCSC-NL B2-5: prefer the strongest)",
            ),
        ];
        a
    };
    let host_with_tlsa = |n: u8, ip: &str| {
        let mut h = host(&mx_name(n), 10 * u16::from(n), vec![addr(n, ip)]);
        h.dnssec = Dnssec::Secure;
        h.mta_sts_match = Some(true);
        h.tlsa = Some(crate::report::TlsaReport {
            status: crate::report::TlsaStatus::Found,
            dnssec: Dnssec::Secure,
            records: vec![format!("3 1 1 {}", "11".repeat(32))],
        });
        h.findings = vec![Finding::info(
            FindingId::DaneRollover,
            format!(
                "one TLSA record at _25._tcp.{}: publish the next key's record before a key change",
                mx_name(n)
            ),
        )];
        h
    };
    let mut d = DomainReport {
        verdict: Verdict::Protected,
        verdict_reason: "secure, and every reachable MX address is protected by DANE".into(),
        mx_source: MxSource::Mx,
        mx: vec![
            host_with_tlsa(1, "192.0.2.41"),
            host_with_tlsa(2, "192.0.2.42"),
        ],
        dnssec: Dnssec::Secure,
        mta_sts: Some(MtaStsReport {
            record: RecordState::Valid,
            id: Some("1".into()),
            policy: Some(StsPolicyReport {
                url: format!("https://mta-sts.{name}/.well-known/mta-sts.txt"),
                mode: crate::report::Mode::Enforce,
                mx: vec![format!("*.{name}")],
                max_age: 604800,
                text_sha256: None,
            }),
            fetch_error: None,
        }),
        tls_rpt: Some(TlsRptReport {
            record: RecordState::Valid,
            rua: vec![format!("mailto:tlsrpt@{name}")],
        }),
        delivery: Some(Delivery {
            opportunistic: outcome(DeliveryResult::Secure, "TLS to every MX"),
            mta_sts: outcome(DeliveryResult::Secure, "policy enforced"),
            dane: outcome(DeliveryResult::Secure, "every MX matches its TLSA records"),
        }),
        configuration: configuration(NcscLevel::Insufficient),
        ..DomainReport::empty(name)
    };
    advice::annotate(&mut d, 25);
    d
}

/// One MX, TLS 1.2 and 1.3, a valid certificate, no MTA-STS and no
/// TLS-RPT (`secure`); with `self_signed`, the certificate is the
/// hoster's own (`encrypted`, two failures). Every one lets the client
/// choose the suite order: the warning a partner list shares most.
fn plain_partner(name: &str, self_signed: bool) -> DomainReport {
    let mx_name = format!("mx.{name}");
    let mut a = address("192.0.2.50");
    let mut cert = certificate(&mx_name, 40);
    a.dane = DaneResult::Insecure;
    a.scan = Some(scan(&["TLSv1.2", "TLSv1.3"], false, None));
    a.configuration = configuration(NcscLevel::PhaseOut);
    a.findings = vec![
        Finding::ok(FindingId::StarttlsOffered, "STARTTLS is offered"),
        Finding::warn(
            FindingId::TlsCipherOrder,
            "the server follows the client's suite order although it accepts phase-out or insufficient suites (NCSC-NL B2-5: prefer the strongest)",
        ),
    ];
    if self_signed {
        cert.chain_valid = false;
        cert.chain_error = Some(ChainError::SelfSigned);
        cert.hostname_match = false;
        a.findings.push(Finding::fail(
            FindingId::CertChainValid,
            "self-signed certificate (CN=localhost)",
        ));
        a.findings.push(Finding::fail(
            FindingId::CertHostname,
            format!("the certificate does not name {mx_name} (it names localhost)"),
        ));
    }
    a.certificate = Some(cert);
    let (verdict, reason) = if self_signed {
        (
            Verdict::Encrypted,
            "every MX address has STARTTLS, but a certificate does not validate",
        )
    } else {
        (
            Verdict::Secure,
            "every MX address has STARTTLS with a valid certificate",
        )
    };
    let mut d = DomainReport {
        verdict,
        verdict_reason: reason.into(),
        mx_source: MxSource::Mx,
        mx: vec![host(&mx_name, 10, vec![a])],
        dnssec: Dnssec::Insecure,
        mta_sts: no_mta_sts(),
        tls_rpt: no_tls_rpt(),
        delivery: Some(Delivery {
            opportunistic: outcome(DeliveryResult::Secure, "TLS to every MX"),
            mta_sts: outcome(DeliveryResult::NotApplicable, "no MTA-STS record"),
            dane: outcome(DeliveryResult::NotApplicable, "MX hosts not DNSSEC-signed"),
        }),
        configuration: configuration(NcscLevel::PhaseOut),
        findings: vec![
            Finding::info(
                FindingId::MtaStsRecord,
                format!(
                    "no MTA-STS record at _mta-sts.{name}: senders cannot learn that TLS is required"
                ),
            ),
            Finding::info(
                FindingId::TlsRptRecord,
                "no TLS-RPT record: senders cannot report TLS failures to you",
            ),
        ],
        ..DomainReport::empty(name)
    };
    advice::annotate(&mut d, 25);
    d
}

/// A partner list of 15 domains with every kind of verdict: two under
/// DANE, one under MTA-STS, nine plain partners (three with a self-signed
/// certificate), a partial one, an unreachable one, a null MX and one
/// that does not exist.
fn fleet() -> Vec<DomainReport> {
    let mut domains = vec![
        protected_two_mx("dane-a.example"),
        protected_two_mx("dane-b.example"),
        healthy(),
        mixed(),
        error(),
        null_mx(),
        nxdomain(),
    ];
    for (i, name) in [
        "p1.example",
        "p2.example",
        "p3.example",
        "p4.example",
        "p5.example",
        "p6.example",
        "s1.example",
        "s2.example",
    ]
    .into_iter()
    .enumerate()
    {
        domains.push(plain_partner(name, i >= 5));
    }
    domains
}

/// A run over `domains` with `--fail-below encrypted`, the summary
/// counted from them.
fn run(domains: Vec<DomainReport>) -> Report {
    let mut report = fixture::report();
    let threshold = Threshold(Verdict::Encrypted);
    report.settings.fail_below = threshold.0;
    report.summary.domains = domains.len();
    report.summary.verdicts = Verdict::ALL
        .into_iter()
        .map(|v| (v, domains.iter().filter(|d| d.verdict == v).count()))
        .collect();
    report.summary.below_threshold = domains
        .iter()
        .filter(|d| threshold.fails(d.verdict))
        .count();
    report.domains = domains;
    report
}

fn cases() -> Vec<(&'static str, Report)> {
    vec![
        ("healthy", run(vec![healthy()])),
        ("mixed", run(vec![mixed()])),
        ("error", run(vec![error()])),
        ("null_mx", run(vec![null_mx()])),
        (
            "multi",
            run(vec![healthy(), mixed(), error(), null_mx(), nxdomain()]),
        ),
        (
            "protected_two_mx",
            run(vec![protected_two_mx("dane-a.example")]),
        ),
        ("fleet", run(fleet())),
    ]
}

#[test]
fn snapshots_at_80_120_and_200_columns() {
    for (name, report) in cases() {
        for width in WIDTHS {
            insta::assert_snapshot!(
                format!("{name}_{width}"),
                render(&report, width, false, false)
            );
        }
    }
}

#[test]
fn verbose_snapshot() {
    insta::assert_snapshot!(
        "mixed_verbose_100",
        render(&run(vec![mixed()]), 100, false, true)
    );
}

/// The promise of the layout: no line is longer than the width it was
/// given. The one exception is a single word that is longer than the line
/// on its own (a 64-digit TLSA digest at 40 columns): it is never split,
/// so it stands alone on its line. From 80 columns on, every word of
/// these reports fits, so there is no exception at all. Default and
/// verbose output, with and without colour.
#[test]
fn no_line_exceeds_the_width() {
    for (name, report) in cases() {
        for width in (MIN_WIDTH..=200).step_by(7).chain(WIDTHS) {
            for verbose in [false, true] {
                for color in [false, true] {
                    let text = strip_sgr(&render(&report, width, color, verbose));
                    for line in text.lines() {
                        let lone_word = width < 80 && line.split_whitespace().count() == 1;
                        assert!(
                            line.width() <= width || lone_word,
                            "{name} at {width} (verbose {verbose}, colour {color}): {} columns: {line:?}",
                            line.width()
                        );
                    }
                }
            }
        }
    }
}

/// Colour changes colour only: without its escapes, coloured output is
/// the uncoloured output, character for character.
#[test]
fn colour_never_changes_the_layout() {
    for (name, report) in cases() {
        for width in WIDTHS {
            let plain = render(&report, width, false, false);
            let coloured = render(&report, width, true, false);
            assert_ne!(plain, coloured, "{name}: no colour at all");
            assert_eq!(strip_sgr(&coloured), plain, "{name} at {width}");
        }
    }
}

/// Host names, addresses and suite names are never split, whatever the
/// width: each appears whole on some line.
#[test]
fn names_are_never_split() {
    let report = run(vec![mixed(), error()]);
    for width in (MIN_WIDTH..=120).step_by(3) {
        let text = render(&report, width, false, true);
        for word in [
            "mx1.mixed.example",
            "backup.mixed.example",
            "mail.hosting.example",
            "2001:db8::21",
            "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
            "smtpd_tls_exclude_ciphers",
            "_mta-sts.mixed.example",
        ] {
            assert!(text.contains(word), "{word} split at {width}:\n{text}");
        }
    }
}

#[test]
fn a_healthy_one_mx_domain_takes_about_eight_lines_at_80_columns() {
    let text = render(&run(vec![healthy()]), 80, false, false);
    let domain: Vec<&str> = text.split("\n\n").next().expect("domain").lines().collect();
    assert!(domain.len() <= 8, "{} lines:\n{text}", domain.len());
}

#[test]
fn the_table_keeps_its_facts_and_adds_columns_as_they_fit() {
    let report = run(vec![mixed()]);
    let narrow = render(&report, 80, false, false);
    let wide = render(&report, 200, false, false);
    let header = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("Pref") || l.trim_start().starts_with("MX /"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    // At 80 the host names take a line of their own; the cipher (the
    // widest) is left out.
    let narrow = header(&narrow).expect("header at 80");
    assert!(
        narrow.starts_with("MX / Address TLS Cert Days DANE Config"),
        "{narrow}"
    );
    assert!(!narrow.contains("Cipher"), "{narrow}");
    assert_eq!(
        header(&wide).as_deref(),
        Some("Pref MX Address TLS Cert Days DANE Config Accepts PQ Cipher")
    );
}

/// Where no table fits, each address becomes a wrapped line of facts.
#[test]
fn too_narrow_for_a_table_means_a_line_of_facts_per_address() {
    let text = render(&run(vec![healthy()]), MIN_WIDTH, false, false);
    assert!(!text.contains("Pref") && !text.contains("MX /"), "{text}");
    assert!(
        text.contains("\n  10 mx.good.example 192.0.2.10:\n"),
        "{text}"
    );
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("192.0.2.10: TLS 1.3, cert valid, days 89, DANE -, config suff.?"),
        "{text}"
    );
}

/// Too narrow for the host names in a column: each host on a line of
/// its own, its addresses under it.
#[test]
fn long_host_names_get_a_line_of_their_own() {
    let mut d = healthy();
    d.mx[0].host = "a-rather-long-mail-exchanger-name.hosting-provider.example".into();
    let text = render(&run(vec![d]), 80, false, false);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "  10 a-rather-long-mail-exchanger-name.hosting-provider.example")
        .expect("host line");
    assert!(lines[at - 1].starts_with("  MX / Address"), "{text}");
    assert!(
        lines[at + 1].starts_with("    192.0.2.10  1.3  valid"),
        "{text}"
    );
}

#[test]
fn failures_carry_their_fix_and_warnings_take_one_line_each() {
    let text = render(&run(vec![mixed()]), 100, false, false);
    // A finding on every address of a host names the host once (the
    // rows above show its addresses).
    assert!(
        text.contains(
            "\n  warn  mx1.mixed.example: certificate expires in 9 days (2025-06-10T00:00:00Z)\n"
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("certificate expires in 9 days").count(),
        1,
        "{text}"
    );
    // Every failure comes with its fix; a warning's fix waits for -v.
    assert!(
        text.contains("        fix: turn on STARTTLS with a certificate for mx2.mixed.example"),
        "{text}"
    );
    assert!(!text.contains("fix: renew the certificate"), "{text}");
    assert!(text.contains("\n-v: every finding with its fix"), "{text}");
    // A warning never takes a second line: the next line is another item.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("  warn  ") {
            let next = lines.get(i + 1).copied().unwrap_or("");
            assert!(
                next.is_empty() || next.starts_with("  warn") || next.starts_with("  FAIL"),
                "a warning continued: {l:?} / {next:?}"
            );
            assert!(l.width() <= 100, "{l}");
        }
    }
    // Failures come before warnings.
    let fail = text.find("FAIL").expect("FAIL");
    let warn = text.find("warn").expect("warn");
    assert!(fail < warn, "{text}");
    // The default output leaves out what passed and the notes; -v shows
    // every finding with its id, level and fix.
    assert!(!text.contains("STARTTLS is offered"), "{text}");
    assert!(!text.contains("mta-sts.record"), "{text}");
    let verbose = render(&run(vec![mixed()]), 100, false, true);
    for expected in [
        "    ok    starttls.offered: STARTTLS is offered",
        "tls.protocols: accepted: TLSv1.0 (insufficient)",
        "[insufficient]",
        "fix: renew the certificate of mx1.mixed.example",
        "info  mta-sts.record: no MTA-STS record",
    ] {
        assert!(verbose.contains(expected), "{expected} in:\n{verbose}");
    }
    assert!(!verbose.contains("\n-v: "), "{verbose}");
}

/// A protected domain with two MX hosts and three configuration
/// warnings (and a DANE rollover tip per host) reads in ten lines at 80
/// columns: the verdict and why, protection, senders, the table, one line
/// per warning.
#[test]
fn a_protected_two_mx_domain_takes_at_most_ten_lines_at_80_columns() {
    let text = render(
        &run(vec![protected_two_mx("dane-a.example")]),
        80,
        false,
        false,
    );
    let block: Vec<&str> = text.split("\n\n").next().expect("domain").lines().collect();
    assert!(block.len() <= 10, "{} lines:\n{text}", block.len());
    assert_eq!(
        block.iter().filter(|l| l.starts_with("  warn  ")).count(),
        3,
        "{text}"
    );
    assert!(!text.contains("rollover"), "tips wait for -v:\n{text}");
    let verbose = render(
        &run(vec![protected_two_mx("dane-a.example")]),
        80,
        false,
        true,
    );
    assert!(verbose.contains("dane.rollover"), "{verbose}");
}

/// Over a fleet, a warning that several domains share is said once, in
/// the summary with its count; each domain only names it. The summary
/// lists failures first, each (id, severity) with its own count.
#[test]
fn a_fleet_says_a_shared_warning_once_and_lists_failures_first() {
    let report = run(fleet());
    let text = render(&report, 100, false, false);
    let summary = text.rsplit("\n\n").next().expect("summary");
    let rows: Vec<&str> = summary
        .lines()
        .filter(|l| l.starts_with("  FAIL") || l.starts_with("  warn"))
        .collect();
    let first_warn = rows
        .iter()
        .position(|l| l.starts_with("  warn"))
        .expect("warn row");
    assert!(
        rows[..first_warn].iter().all(|l| l.starts_with("  FAIL")) && first_warn > 0,
        "failures first:\n{summary}"
    );
    assert!(
        rows[first_warn..].iter().all(|l| l.starts_with("  warn")),
        "{summary}"
    );
    let cipher_order: Vec<&&str> = rows
        .iter()
        .filter(|l| l.contains("tls.cipher-order"))
        .collect();
    assert_eq!(cipher_order.len(), 1, "{summary}");
    let count: Vec<&str> = cipher_order[0].split_whitespace().collect();
    assert_eq!(count[..3], ["warn", "tls.cipher-order", "10"], "{summary}");
    // That warning is said once in the whole output, in the registry's
    // words (`smtptls explain tls.cipher-order`); no domain repeats it.
    let meaning = crate::vocabulary::explain(FindingId::TlsCipherOrder).meaning;
    assert!(cipher_order[0].ends_with(meaning), "{summary}");
    assert_eq!(text.matches(meaning).count(), 1, "{text}");
    assert!(!text.contains("follows the client's suite order"), "{text}");
    // A failure names its domains in the summary, and keeps its fix in
    // each domain's block.
    let chain = rows
        .iter()
        .find(|l| l.contains("cert.chain.valid"))
        .expect("chain row");
    assert!(chain.contains(" 4  mixed.example, p6.example"), "{chain}");
    assert_eq!(
        text.matches("fix: use a certificate for mx.s1.example")
            .count(),
        1,
        "{text}"
    );
    // Far shorter than before the one view (255 lines at 100 columns).
    assert!(text.lines().count() < 170, "{} lines", text.lines().count());
}

#[test]
fn the_summary_wraps_between_items_never_inside_one() {
    let report = run(vec![healthy(), mixed(), error(), null_mx(), nxdomain()]);
    for width in [MIN_WIDTH, 50, 80] {
        let text = render(&report, width, false, false);
        let summary: Vec<&str> = text
            .rsplit("\n\n")
            .next()
            .expect("summary")
            .lines()
            .collect();
        let joined = summary.join(" ");
        for item in [
            "1 protected,",
            "1 partial,",
            "2 error,",
            "1 no-mail;",
            "3 below the threshold (encrypted)",
        ] {
            assert!(
                summary.iter().any(|l| l.contains(item)),
                "{item} split at {width}: {joined}"
            );
        }
    }
}

#[test]
fn width_comes_from_the_terminal_then_columns_then_100() {
    assert_eq!(table_width(Some(132), Some("80")), 132);
    assert_eq!(table_width(None, Some("80")), 80);
    assert_eq!(table_width(None, Some(" 90 ")), 90);
    assert_eq!(table_width(None, Some("wide")), DEFAULT_WIDTH);
    assert_eq!(table_width(None, Some("0")), DEFAULT_WIDTH);
    assert_eq!(table_width(None, None), DEFAULT_WIDTH);
    assert_eq!(table_width(Some(20), None), MIN_WIDTH);
}

#[test]
fn wrapping_keeps_words_whole() {
    let lines = wrap_words(
        "aaa bbb ccc-very-long-word-longer-than-the-line ddd",
        &Span::plain("> "),
        "  ",
        12,
    );
    assert_eq!(
        lines,
        [
            "> aaa bbb",
            "  ccc-very-long-word-longer-than-the-line",
            "  ddd"
        ]
    );
    // A quoted setting stays whole when it fits on a line; one that does
    // not fit anywhere wraps like prose.
    let lines = wrap_words(
        "set `a = b`; or `c = d e f g h i j`",
        &Span::plain(""),
        "",
        12,
    );
    assert_eq!(lines, ["set `a = b`;", "or `c = d e", "f g h i j`"]);
    // A label stands alone when the first item fits only on a line of
    // its own.
    let lines = wrap_units(
        &[Span::plain("a-long-item,"), Span::plain("b")],
        " ",
        &Span::plain("label: "),
        "  ",
        16,
    );
    assert_eq!(lines, ["label:", "  a-long-item, b"]);
}

/// `fixture::PEER` as the table shows it.
const SHOWN: &str = r#"=cmd|' /C calc'!A0\x1b[2J\x1b]0;T\x07\x00\x7f\u{9b}31m\u{85}\u{202e}\u{2066}\u{2028}"q"</script>\r\nX"#;

#[test]
fn peer_text_is_shown_escaped_in_every_line_and_cell() {
    for verbose in [false, true] {
        let text = render(&fixture::peer_report(), 100, false, verbose);
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| c != '\n' && is_unsafe(c))
            .collect();
        assert!(raw.is_empty(), "raw {raw:?} in:\n{text}");
        // Peer text wraps at its own spaces like any prose; read as
        // words, every field is there whole and escaped.
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let shown = SHOWN.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut expected = vec![
            format!("peer.example BROKEN because {shown}"),
            format!("policy: {shown}"),
            format!("(CN={shown})"),
        ];
        // A warning is one line by default, cut with `…`; -v has it whole.
        if verbose {
            expected.push(format!("MX {shown}"));
        }
        for expected in expected {
            assert!(words.contains(&expected), "no {expected} in:\n{text}");
        }
        // A table cell is never wrapped: the MX name is whole on a line
        // (its own, as it is too wide for a column).
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.iter().any(|l| *l == format!("  10 {SHOWN}")),
            "{text}"
        );
        assert_eq!(
            lines.last().copied(),
            Some("1 domain: 1 broken; 1 below the threshold (encrypted)")
        );
    }
}

#[test]
fn with_colour_only_our_own_escapes_reach_the_terminal() {
    let text = render(&fixture::peer_report(), 100, true, true);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown = SHOWN.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains(&format!("because {shown}")), "{text}");
    // Every ESC left starts an SGR sequence the table wrote itself.
    for (i, _) in text.match_indices('\u{1b}') {
        let sgr = text[i + 1..]
            .strip_prefix('[')
            .and_then(|rest| rest.find('m').map(|end| &rest[..end]));
        assert!(
            sgr.is_some_and(|p| p.chars().all(|c| c.is_ascii_digit() || c == ';')),
            "not an SGR sequence at {i}: {:?}",
            &text[i..(i + 12).min(text.len())]
        );
    }
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| !matches!(c, '\n' | '\u{1b}') && is_unsafe(c))
        .collect();
    assert!(raw.is_empty(), "raw {raw:?}");
}

/// Rows not audited because of the resolver are counted apart in the
/// summary, as the set-up's, not hidden among the partners below the
/// threshold; a run without them says nothing of the kind.
#[test]
fn the_summary_counts_the_domains_the_set_up_kept_from_being_audited() {
    let mut report = run(vec![healthy(), error()]);
    // The summary may wrap: read it as words.
    let words = |report: &Report| {
        let text = render(report, 100, false, false);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert!(!words(&report).contains("set-up"), "{}", words(&report));
    report.summary.setup_errors = 1;
    assert!(
        words(&report).contains(
            "2 domains: 1 protected, 1 error; 1 below the threshold (encrypted), 1 not audited: the resolver is unusable (set-up)"
        ),
        "{}",
        words(&report)
    );
}
