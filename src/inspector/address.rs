//! Grading one probed MX address: the SMTP/STARTTLS/TLS dialogue, the
//! certificate it showed, and what the scan and injection test saw.

use std::net::SocketAddr;

use super::assessment::AddressGrade;
use super::assessment::{AddressAssessment, DaneResult, OtherCertificate};
use super::{InspectSettings, certificate, ocsp, scan};
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
        ocsp: None,
        other_certificates: Vec::new(),
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
    stapling(probe, settings, &mut row);
    other_certificates(host, probe, settings, &mut row);
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

/// The staple of the main handshake, only where smtptls's own client got
/// a session (it always asks, with status_request): without one there is
/// nothing to say about stapling.
fn stapling(probe: &Probe, settings: &InspectSettings, row: &mut AddressAssessment<'_>) {
    let Some(tls) = &probe.tls else { return };
    let Some(leaf) = tls.chain.first() else {
        return;
    };
    row.ocsp = tls.ocsp.as_deref().map(|der| {
        ocsp::read(
            der,
            leaf.as_ref(),
            tls.chain.get(1).map(|c| c.as_ref()),
            settings.now,
        )
    });
    let must_staple = row.certificate.as_ref().is_some_and(|c| c.must_staple);
    ocsp::findings(row.ocsp.as_ref(), must_staple, &mut row.findings);
}

/// Whether an EHLO reply lists REQUIRETLS (RFC 8689 §2): the keyword is
/// the line's first word, case-insensitive (RFC 5321 §2.4).
pub fn advertises_requiretls(extensions: &[String]) -> bool {
    extensions.iter().any(|line| {
        line.split_ascii_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("REQUIRETLS"))
    })
}

/// The certificate of the other key type that the second hello got,
/// graded like the main one (chain, name, expiry, key) into one finding
/// of its own: a warning at most, because the senders that matter offer
/// both key types and get the main one. DANE is added by `mx`.
fn other_certificates(
    host: &str,
    probe: &Probe,
    settings: &InspectSettings,
    row: &mut AddressAssessment<'_>,
) {
    let Some(other) = &probe.other_certificate else {
        return;
    };
    let Some(chain) = other.chain() else {
        return;
    };
    let Some((cert, chain_msg, name_msg)) =
        certificate::grade(chain, host, &settings.trust, settings.now)
    else {
        row.findings.push(Finding::warn(
            FindingId::CertOtherCertificate,
            format!(
                "the server's {} certificate could not be parsed: senders that negotiate {} cannot use it",
                other.family.as_str(),
                other.family.as_str()
            ),
        ));
        return;
    };
    row.findings.push(certificate::other_finding(
        other.family,
        &cert,
        chain_msg,
        name_msg,
        host,
        settings,
    ));
    row.other_certificates.push(OtherCertificate {
        family: other.family,
        certificate: cert,
        dane: DaneResult::Insecure,
    });
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
    if probe.starttls == StartTls::Implicit {
        // RFC 8314 §3.3: TLS first, the SMTP dialogue inside it. A failed
        // handshake ends it after the connect, with no banner to judge.
        if failed_at(probe, &[Phase::TlsHandshake]).is_some() {
            row.findings.push(connected(probe, addr));
        } else if let Err(grade) = smtp_findings(probe, addr, &mut row.findings) {
            return grade;
        }
        return tls_findings(probe, &mut row.findings);
    }
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

/// The connect succeeded, and how long it took.
fn connected(probe: &Probe, addr: SocketAddr) -> Finding {
    Finding::ok(
        FindingId::SmtpConnect,
        format!(
            "connected to {addr} in {} ms",
            probe.timings.connect.unwrap_or_default()
        ),
    )
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
    findings.push(connected(probe, addr));

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
    // A fact for the reader, `ok` either way: REQUIRETLS is a flag the
    // sender sets on a message (RFC 8689 §4); the receiver advertising it
    // says nothing about what other senders' mail gets.
    let requiretls = probe
        .greeting_after_tls
        .as_ref()
        .is_some_and(|g| advertises_requiretls(&g.extensions));
    findings.push(Finding::ok(
        FindingId::SmtpRequiretls,
        if requiretls {
            "REQUIRETLS is advertised inside TLS (RFC 8689): it accepts messages whose sender demands TLS all the way"
        } else {
            "REQUIRETLS is not advertised inside TLS (RFC 8689): a message flagged REQUIRETLS is returned to its sender instead"
        },
    ));
    AddressGrade::Authenticated
}
