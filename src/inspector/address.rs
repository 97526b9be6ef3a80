//! Grading one probed MX address: the SMTP/STARTTLS/TLS dialogue, the
//! certificate it showed, and what the scan and injection test saw.

use std::net::SocketAddr;

use super::assessment::{AddressAssessment, DaneResult};
use super::verdict::AddressGrade;
use super::{InspectSettings, certificate, scan};
use crate::prober::scan::Version;
use crate::prober::{Phase, Probe, ProbeErrorKind, StartTls, TlsFailure};
use crate::vocabulary::{ErrorKind, ErrorPhase, Failure, Finding, FindingId};

/// Grades one probed address: the dialogue, the certificate, the scan.
/// DANE and MTA-STS, which depend on the host, are added by `mx`.
pub fn inspect_address<'e>(
    host: &str,
    addr: SocketAddr,
    probe: &'e Probe,
    settings: &InspectSettings,
) -> AddressAssessment<'e> {
    let mut row = AddressAssessment {
        addr,
        probe,
        certificate: None,
        dane: DaneResult::Insecure,
        legacy_session: None,
        error: probe
            .error
            .as_ref()
            .map(|e| Failure::new(e.phase.into(), e.kind.kind(), e.to_string())),
        findings: Vec::new(),
        grade: AddressGrade::Unreachable,
        configuration: None,
    };
    let grade = dialogue_findings(probe, addr, &mut row);

    // Grade whatever certificate we saw, even if the handshake later failed.
    let chain = presented_chain(probe);
    let mut authenticated = false;
    if let Some((cert, chain_msg, name_msg)) =
        certificate::grade(chain, host, &settings.trust, settings.now)
    {
        // Authentication also needs the server to have proved it holds the
        // key, which an unverified handshake signature did not.
        let key_proven = probe
            .tls
            .as_ref()
            .is_none_or(|t| t.signature_unverified.is_none());
        authenticated = cert.chain_valid && cert.hostname_match && key_proven;
        certificate::findings(
            &cert,
            chain_msg,
            name_msg,
            host,
            settings,
            &mut row.findings,
        );
        row.certificate = Some(cert);
    } else if !chain.is_empty() {
        row.findings.push(Finding::fail(
            FindingId::CertChainValid,
            "the server's certificate could not be parsed",
        ));
    }
    scan::findings(probe, row.post_quantum(), &mut row.findings);
    row.legacy_session = scan::legacy_session(probe);
    if let Some(hello) = row.legacy_session {
        row.findings.push(scan::legacy_session_finding(hello));
    }
    row.grade = match grade {
        AddressGrade::Authenticated if !authenticated => AddressGrade::Unauthenticated,
        // Encrypted for senders whose TLS library still speaks what the
        // server accepts, but never authenticated by smtptls.
        AddressGrade::NoTls if row.legacy_tls() => AddressGrade::LegacyTls,
        g => g,
    };
    row
}

/// The certificates the server showed: from the session, or from a
/// handshake that failed after the certificate arrived.
pub(super) fn presented_chain(probe: &Probe) -> &[rustls::pki_types::CertificateDer<'static>] {
    let main = probe
        .tls
        .as_ref()
        .map(|t| t.chain.as_slice())
        .filter(|c| !c.is_empty())
        .unwrap_or(&probe.presented_chain);
    match &probe.fallback {
        // Only the fallback (OpenSSL-default) hello got as far as the
        // certificate: grade that one rather than none.
        Some(fallback) if main.is_empty() => &fallback.chain,
        _ => main,
    }
}

/// Findings for the SMTP/STARTTLS/TLS dialogue, phase by phase; returns
/// the grade it allows (`Authenticated` meaning "TLS works; the
/// certificate decides"). Each phase stops the dialogue where it failed.
fn dialogue_findings(
    probe: &Probe,
    addr: SocketAddr,
    row: &mut AddressAssessment<'_>,
) -> AddressGrade {
    if let Err(grade) = smtp_findings(probe, addr, &mut row.findings) {
        return grade;
    }
    if let Err(grade) = starttls_findings(probe, row) {
        return grade;
    }
    tls_findings(probe, &mut row.findings)
}

/// The probe's error, if it happened in one of `phases`.
fn failed_at<'p>(probe: &'p Probe, phases: &[Phase]) -> Option<&'p crate::prober::ProbeError> {
    probe.error.as_ref().filter(|e| phases.contains(&e.phase))
}

/// Connect, greeting, EHLO/HELO: did the address take part in SMTP?
fn smtp_findings(
    probe: &Probe,
    addr: SocketAddr,
    findings: &mut Vec<Finding>,
) -> Result<(), AddressGrade> {
    if let Some(e) = failed_at(probe, &[Phase::Connect]) {
        // Not contacted on purpose: the address's own finding
        // (`address.unusable`, `address.local`) says why.
        if matches!(e.kind, ProbeErrorKind::NotProbed(_)) {
            return Err(AddressGrade::Unreachable);
        }
        findings.push(Finding::fail(
            FindingId::SmtpConnect,
            format!("cannot connect to {addr}: {}", e.kind),
        ));
        return Err(AddressGrade::Unreachable);
    }
    findings.push(Finding::ok(
        FindingId::SmtpConnect,
        format!(
            "connected to {addr} in {} ms",
            probe.timings.connect.unwrap_or_default()
        ),
    ));

    if let Some(e) = failed_at(probe, &[Phase::Banner]) {
        let msg = match &e.kind {
            ProbeErrorKind::Rejected(reply) => format!("server refused the connection: {reply}"),
            ProbeErrorKind::Timeout(d) => {
                format!(
                    "no complete 220 greeting within {}",
                    crate::prober::secs(*d)
                )
            }
            other => format!("greeting: {other}"),
        };
        findings.push(Finding::fail(FindingId::SmtpBanner, msg));
        return Err(AddressGrade::Unreachable);
    }
    let banner = probe
        .banner
        .as_ref()
        .map(|b| b.summary())
        .unwrap_or_default();
    findings.push(Finding::ok(FindingId::SmtpBanner, banner));

    if let Some(e) = failed_at(probe, &[Phase::Ehlo, Phase::Helo]) {
        findings.push(Finding::fail(
            FindingId::SmtpEhlo,
            format!("{}: {}", e.phase, e.kind),
        ));
        return Err(AddressGrade::Unreachable);
    }
    match &probe.greeting {
        Some(g) if g.helo_fallback => findings.push(Finding::warn(
            FindingId::SmtpEhlo,
            "EHLO rejected, HELO accepted: without ESMTP there is no STARTTLS",
        )),
        Some(g) => findings.push(Finding::ok(
            FindingId::SmtpEhlo,
            format!("EHLO accepted, {} extensions", g.extensions.len()),
        )),
        None => {}
    }
    Ok(())
}

/// STARTTLS offered and accepted (a refusal becomes the address's error).
fn starttls_findings(probe: &Probe, row: &mut AddressAssessment<'_>) -> Result<(), AddressGrade> {
    let starttls = row.starttls();
    let findings = &mut row.findings;
    if !starttls {
        findings.push(Finding::fail(
            FindingId::StarttlsOffered,
            "STARTTLS is not offered: mail to this address travels in clear text",
        ));
        return Err(AddressGrade::NoTls);
    }
    findings.push(Finding::ok(
        FindingId::StarttlsOffered,
        "STARTTLS is offered",
    ));

    if let StartTls::Refused(reply) = &probe.starttls {
        findings.push(Finding::fail(
            FindingId::StarttlsCommand,
            format!("STARTTLS refused: {reply}"),
        ));
        row.error = Some(Failure::new(
            ErrorPhase::Starttls,
            ErrorKind::Rejected,
            format!("STARTTLS: refused: {reply}"),
        ));
        return Err(AddressGrade::NoTls);
    }
    if let Some(e) = failed_at(probe, &[Phase::Starttls]) {
        findings.push(Finding::fail(
            FindingId::StarttlsCommand,
            format!("STARTTLS: {}", e.kind),
        ));
        return Err(AddressGrade::NoTls);
    }
    findings.push(Finding::ok(
        FindingId::StarttlsCommand,
        "STARTTLS accepted (220)",
    ));
    Ok(())
}

/// The handshake, the version, and the session after it.
fn tls_findings(probe: &Probe, findings: &mut Vec<Finding>) -> AddressGrade {
    if let Some(e) = failed_at(probe, &[Phase::TlsHandshake]) {
        if let ProbeErrorKind::Tls(TlsFailure::NoCommonVersion(_)) = &e.kind {
            findings.push(Finding::fail(
                FindingId::TlsVersion,
                "the server accepts neither TLS 1.3 nor TLS 1.2 (TLS 1.0/1.1 are deprecated, RFC 8996)",
            ));
        }
        findings.push(Finding::fail(FindingId::TlsHandshake, e.kind.to_string()));
        return AddressGrade::NoTls;
    }
    let Some(tls) = &probe.tls else {
        return AddressGrade::NoTls;
    };
    let handshake = format!(
        "{} with {}{} in {} ms",
        tls.version.as_str(),
        tls.cipher,
        tls.key_exchange_group
            .as_deref()
            .map(|g| format!(", {g}"))
            .unwrap_or_default(),
        probe.timings.tls_handshake.unwrap_or_default()
    );
    findings.push(match &tls.signature_unverified {
        None => Finding::ok(FindingId::TlsHandshake, handshake),
        Some(why) => Finding::warn(FindingId::TlsHandshake, format!("{handshake}; {why}")),
    });
    findings.push(match tls.version {
        Version::Tls13 => Finding::ok(FindingId::TlsVersion, "TLS 1.3"),
        Version::Tls12 => Finding::ok(
            FindingId::TlsVersion,
            "TLS 1.2 (sufficient; TLS 1.3 is better)",
        ),
        older @ (Version::Tls11 | Version::Tls10 | Version::Ssl3) => Finding::fail(
            FindingId::TlsVersion,
            format!("{} is deprecated (RFC 8996)", older.as_str()),
        ),
    });

    if let Some(e) = failed_at(probe, &[Phase::EhloAfterTls]) {
        findings.push(Finding::fail(
            FindingId::SmtpEhloAfterTls,
            format!("the session is unusable after TLS: EHLO {}", e.kind),
        ));
        return AddressGrade::NoTls;
    }
    findings.push(Finding::ok(
        FindingId::SmtpEhloAfterTls,
        "EHLO accepted inside TLS",
    ));
    AddressGrade::Authenticated
}

#[cfg(test)]
mod tests {
    //! The "Address grades" table of `docs/grading.md`, one case per way
    //! into each grade, graded as the inspector grades an address: through
    //! its MX host, which adds DANE (a match authenticates) and the
    //! injection downgrade (`Weak`).

    use rustls::pki_types::CertificateDer;

    use crate::inspector::MxEvidence;
    use crate::inspector::mx::inspect_mx;
    use crate::inspector::testkit::*;
    use crate::inspector::verdict::AddressGrade::{self, *};
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
}
