//! Stage 3: grading. Turns what the resolver and the prober saw into
//! findings and a verdict per domain ([`DomainReport`]).
//!
//! Pure functions of their inputs (the clock is passed in), so every rule
//! here is unit-testable without a network. A new check goes here: add its
//! id to [`findings`], emit it in the right `inspect_*` function, document
//! it in `docs/grading.md` and the schema.

pub mod certificate;
pub mod delivery;
pub mod protection;
pub mod scan;
pub mod verdict;

use std::net::SocketAddr;

use time::OffsetDateTime;

pub use crate::vocabulary::{Finding, FindingId, Severity};
pub use crate::vocabulary::{Threshold, Verdict};
pub use protection::{MtaStsEvidence, TlsaEvidence};
pub use verdict::AddressGrade;

use crate::domain::DomainName;
use crate::options::TrustStore;
use crate::prober::{Phase, Probe, ProbeErrorKind, StartTls, TlsFailure};
use crate::protection::mta_sts::StsPolicy;
use crate::report::{
    AddressReport, DaneResult, DeliveryResult, DomainReport, MxReport, MxSource, TlsReport,
};
use crate::resolver::{
    Answer, DnsFailure, Dnssec, Exchange, HostAddresses, MxRecord, MxResolution,
};
use crate::vocabulary::{ErrorKind, ErrorPhase, Failure};

/// How the inspector grades.
#[derive(Debug, Clone)]
pub struct InspectSettings {
    pub trust: TrustStore,
    pub expiry_warn_days: u32,
    /// "Now" for expiry; fixed per run so every row agrees.
    pub now: OffsetDateTime,
}

/// How a host's addresses were found.
#[derive(Debug, Clone)]
pub enum AddressEvidence {
    Resolved(HostAddresses),
    /// `--connect-to` named the address; DNS was not asked.
    ConnectTo(SocketAddr),
    /// The exchange is not a host name; nothing was looked up.
    NotLookedUp,
}

/// Everything observed for one MX host.
#[derive(Debug, Clone)]
pub struct MxEvidence {
    pub record: MxRecord,
    pub addresses: AddressEvidence,
    /// TLSA records, looked up only when the host's addresses are
    /// DNSSEC-secure (RFC 7672 §2.2).
    pub tlsa: Option<TlsaEvidence>,
    /// The SMTP port probed (for the TLSA owner name).
    pub port: u16,
    /// One probe per address, in address order.
    pub probes: Vec<(SocketAddr, Probe)>,
}

/// Everything observed for one domain.
#[derive(Debug, Clone)]
pub struct DomainEvidence {
    pub resolution: MxResolution,
    pub mx: Vec<MxEvidence>,
    /// Absent when the domain has no mail host to protect.
    pub mta_sts: Option<MtaStsEvidence>,
    /// TXT records at `_smtp._tls.<domain>`.
    pub tls_rpt: Option<Answer<Vec<String>>>,
}

/// Grades one domain.
pub fn inspect_domain(
    domain: &DomainName,
    evidence: &DomainEvidence,
    settings: &InspectSettings,
) -> DomainReport {
    let resolution = &evidence.resolution;
    let mut report = DomainReport::empty(domain.as_str());
    let dns_error = |kind, message: String| {
        Some(Failure {
            phase: ErrorPhase::Dns,
            kind,
            message,
        })
    };
    match resolution {
        MxResolution::NoMail => {
            report.verdict = Verdict::NoMail;
            report.mx_source = MxSource::Null;
            report.verdict_reason = "null MX: the domain accepts no mail (RFC 7505)".into();
            report.findings.push(Finding::info(
                FindingId::MxNull,
                "null MX (0 .): the domain states that it accepts no mail; nothing to probe",
            ));
            return report;
        }
        MxResolution::DomainNotFound => {
            let msg = format!("{domain} does not exist (NXDOMAIN)");
            report
                .findings
                .push(Finding::fail(FindingId::DnsNxdomain, msg.clone()));
            report.error = dns_error(ErrorKind::Nxdomain, msg.clone());
            report.verdict_reason = msg;
            return report;
        }
        MxResolution::Failed { query, failure } => {
            if *failure == DnsFailure::Bogus {
                report.dnssec = Dnssec::Bogus;
            }
            let mut msg = format!("DNS lookup {query} failed: {failure}");
            if *failure == DnsFailure::Bogus {
                // Also what a resolver that strips DNSSEC records looks like
                // to a validator: say how to tell the two apart.
                msg.push_str(
                    " (if every domain shows this, the resolver may be stripping DNSSEC records: try --dnssec trust-resolver)",
                );
            }
            report
                .findings
                .push(Finding::fail(dns_failure_finding(failure), msg.clone()));
            report.error = dns_error(dns_failure_id(failure), msg.clone());
            report.verdict_reason = msg;
            return report;
        }
        MxResolution::NoMailHost => {
            let msg = format!(
                "{domain} has neither MX nor address records: mail to it cannot be delivered"
            );
            report
                .findings
                .push(Finding::fail(FindingId::MxNone, msg.clone()));
            report.error = dns_error(ErrorKind::NoMailHost, msg.clone());
            report.verdict_reason = msg;
            return report;
        }
        MxResolution::Hosts {
            implicit,
            null_mx_mixed,
            dnssec,
            ..
        } => {
            report.dnssec = *dnssec;
            if *implicit {
                report.mx_source = MxSource::Implicit;
                report.findings.push(Finding::warn(
                    FindingId::MxImplicit,
                    format!("no MX records: senders deliver to {domain}'s own address (implicit MX, RFC 5321 §5.1); publish an MX record"),
                ));
            } else {
                report.mx_source = MxSource::Mx;
            }
            if *null_mx_mixed {
                report.findings.push(Finding::warn(
                    FindingId::MxNullMixed,
                    "a null MX (0 .) is published beside other MX records; RFC 7505 §3 forbids this and senders ignore it",
                ));
            }
        }
    }

    let name = domain.as_str();
    let mut sts_policy: Option<StsPolicy> = None;
    if let Some(ev) = &evidence.mta_sts {
        let (sts, policy) = protection::mta_sts(name, ev, &mut report.findings);
        report.mta_sts = Some(sts);
        sts_policy = policy;
    }
    if let Some(txt) = &evidence.tls_rpt {
        report.tls_rpt = Some(protection::tls_rpt(name, txt, &mut report.findings));
    }

    let mut grades = Vec::new();
    for mx in &evidence.mx {
        let (mx_report, mx_grades) = inspect_mx(name, mx, sts_policy.as_ref(), settings);
        grades.extend(mx_grades);
        report.mx.push(mx_report);
    }
    let delivery = delivery::delivery(&report.mx, report.mta_sts.as_ref());
    for (id, outcome, who) in [
        (FindingId::DeliveryMtaSts, &delivery.mta_sts, "MTA-STS"),
        (FindingId::DeliveryDane, &delivery.dane, "DANE"),
    ] {
        let msg = format!("{who}-enforcing senders: {}", outcome.reason);
        report.findings.push(match outcome.result {
            DeliveryResult::Deferred => Finding::fail(id, msg),
            DeliveryResult::NotApplicable => Finding::info(id, msg),
            DeliveryResult::Secure | DeliveryResult::Cleartext => Finding::ok(id, msg),
        });
    }
    let protected = delivery::fully_protected(&report.mx, report.mta_sts.as_ref());
    let (verdict, reason) =
        verdict::with_policies(verdict::domain_verdict(&grades), &delivery, protected);
    report.delivery = Some(delivery);
    report.verdict = verdict;
    report.verdict_reason = reason;
    report
}

/// A bogus answer is a finding of its own, never "just a DNS error".
fn dns_failure_finding(f: &DnsFailure) -> FindingId {
    match f {
        DnsFailure::Bogus => FindingId::DnssecBogus,
        _ => FindingId::DnsError,
    }
}

fn dns_failure_id(f: &DnsFailure) -> ErrorKind {
    match f {
        DnsFailure::Timeout => ErrorKind::DnsTimeout,
        DnsFailure::Bogus => ErrorKind::DnssecBogus,
        DnsFailure::ServFail => ErrorKind::DnsServfail,
        DnsFailure::Refused => ErrorKind::DnsRefused,
        DnsFailure::ResponseCode(_) | DnsFailure::Other(_) => ErrorKind::DnsFailure,
    }
}

fn inspect_mx(
    domain: &str,
    mx: &MxEvidence,
    sts: Option<&StsPolicy>,
    settings: &InspectSettings,
) -> (MxReport, Vec<AddressGrade>) {
    let host = mx.record.exchange.name().to_string();
    let addresses_dnssec = match &mx.addresses {
        AddressEvidence::Resolved(a) => a.dnssec,
        _ => Dnssec::Indeterminate,
    };
    let mut report = MxReport {
        host: host.clone(),
        preference: mx.record.preference,
        cname: None,
        dnssec: addresses_dnssec,
        tlsa: None,
        mta_sts_match: None,
        post_quantum: None,
        addresses: Vec::new(),
        findings: Vec::new(),
        error: None,
    };
    match &mx.record.exchange {
        Exchange::IpLiteral(ip) => {
            let msg = format!(
                "MX target {ip} is an IP address, not a host name; senders look it up as a name and fail"
            );
            report
                .findings
                .push(Finding::fail(FindingId::MxIpLiteral, msg.clone()));
            report.error = Some(Failure {
                phase: ErrorPhase::Dns,
                kind: ErrorKind::IpLiteral,
                message: msg,
            });
        }
        Exchange::Invalid(name) => {
            let msg = format!("MX target {name:?} is not a valid host name");
            report
                .findings
                .push(Finding::fail(FindingId::MxInvalidName, msg.clone()));
            report.error = Some(Failure {
                phase: ErrorPhase::Dns,
                kind: ErrorKind::InvalidName,
                message: msg,
            });
        }
        Exchange::Host(_) => {}
    }
    if let AddressEvidence::Resolved(addrs) = &mx.addresses {
        address_findings(&host, addrs, &mut report);
    }
    if matches!(mx.record.exchange, Exchange::Host(_)) {
        report.tlsa = protection::tlsa(
            &host,
            mx.port,
            addresses_dnssec,
            mx.tlsa.as_ref(),
            &mut report.findings,
        );
    }
    if let Some(policy) = sts {
        report.mta_sts_match = Some(protection::sts_mx_match(
            policy,
            &host,
            &mut report.findings,
        ));
    }
    let mut grades = Vec::new();
    if mx.probes.is_empty() {
        // No address to try: like an unreachable address, a sender skips
        // it; counted so the verdict reason says something was not graded.
        grades.push(AddressGrade::Unreachable);
    }
    // RFC 7672 §3.2.2: the MX host name, and the domain, are the names a
    // DANE-TA certificate may carry.
    let alias = match &mx.addresses {
        AddressEvidence::Resolved(a) => a.cname.clone(),
        _ => None,
    };
    let mut names = vec![host.as_str(), domain];
    if let Some(target) = &alias {
        names.push(target.as_str());
    }
    for (addr, probe) in &mx.probes {
        let (mut row, grade) = inspect_address(&host, *addr, probe, settings);
        row.dane = protection::dane_for_address(
            report.tlsa.as_ref(),
            mx.tlsa.as_ref(),
            presented_chain(probe),
            &names,
            settings.now,
            &mut row,
        );
        if let Some(policy) = sts {
            protection::sts_certificate(policy, &mut row);
        }
        // A DANE match authenticates the server (RFC 7672 §3), even a
        // self-signed DANE-EE certificate that PKIX rejects.
        let grade = match grade {
            AddressGrade::Unauthenticated if row.dane == DaneResult::Valid => {
                AddressGrade::Authenticated
            }
            g => g,
        };
        // Insufficient TLS settings (NCSC-NL) or command injection: the
        // address is encrypted and authenticated, but not secure.
        let grade = match grade {
            AddressGrade::Authenticated if scan::insufficient(&row) => AddressGrade::Weak,
            g => g,
        };
        report.addresses.push(row);
        grades.push(grade);
    }
    // Post-quantum readiness of the host: every address with a TLS
    // session negotiated a hybrid group.
    let sessions: Vec<bool> = report
        .addresses
        .iter()
        .filter_map(|a| a.post_quantum)
        .collect();
    if !sessions.is_empty() {
        report.post_quantum = Some(sessions.iter().all(|&pq| pq));
    }
    if report.tlsa.is_none() {
        for row in &mut report.addresses {
            row.dane = if addresses_dnssec == Dnssec::Secure {
                DaneResult::None
            } else {
                DaneResult::Insecure
            };
        }
    }
    (report, grades)
}

/// The certificates the server showed: from the session, or from a
/// handshake that failed after the certificate arrived.
fn presented_chain(probe: &Probe) -> &[rustls::pki_types::CertificateDer<'static>] {
    let main = probe
        .tls
        .as_ref()
        .map(|t| t.chain.as_slice())
        .filter(|c| !c.is_empty())
        .unwrap_or(&probe.presented_chain);
    match &probe.scan {
        // Only a legacy handshake got as far as the certificate: grade
        // that one rather than none.
        Some(scan) if main.is_empty() => &scan.chain,
        _ => main,
    }
}

/// Findings about the address lookups of an MX host.
fn address_findings(host: &str, addrs: &HostAddresses, report: &mut MxReport) {
    if let Some(alias) = &addrs.cname {
        report.cname = Some(alias.clone());
        report.findings.push(Finding::warn(
            FindingId::MxCname,
            format!("MX target {host} is an alias (CNAME) for {alias}; RFC 2181 §10.3 requires the MX to name the host itself"),
        ));
    }
    let found = !addrs.all().is_empty();
    let answers = [
        ("A", addrs.v4.as_ref().map(strip)),
        ("AAAA", addrs.v6.as_ref().map(strip)),
    ];
    for (rtype, answer) in &answers {
        if let Some(Answer::Failed(failure)) = answer {
            let msg = format!("{rtype} lookup for {host} failed: {failure}");
            if found {
                report
                    .findings
                    .push(Finding::warn(dns_failure_finding(failure), msg));
            } else {
                report
                    .findings
                    .push(Finding::fail(dns_failure_finding(failure), msg.clone()));
                report.error.get_or_insert(Failure {
                    phase: ErrorPhase::Dns,
                    kind: dns_failure_id(failure),
                    message: msg,
                });
            }
        }
    }
    if found || report.error.is_some() {
        return;
    }
    let nx = answers
        .iter()
        .any(|(_, a)| matches!(a, Some(Answer::NxDomain)));
    let asked: Vec<&str> = answers
        .iter()
        .filter(|(_, a)| a.is_some())
        .map(|(t, _)| *t)
        .collect();
    let msg = if nx {
        format!("MX host {host} does not exist (NXDOMAIN)")
    } else {
        format!("MX host {host} has no {} records", asked.join("/"))
    };
    report
        .findings
        .push(Finding::fail(FindingId::MxNoAddress, msg.clone()));
    report.error = Some(Failure {
        phase: ErrorPhase::Dns,
        kind: ErrorKind::NoAddress,
        message: msg,
    });
}

/// Drops the payload of an answer, keeping its kind.
fn strip<T>(a: &Answer<T>) -> Answer<()> {
    match a {
        Answer::Records(_) => Answer::Records(()),
        Answer::NoData => Answer::NoData,
        Answer::NxDomain => Answer::NxDomain,
        Answer::Failed(f) => Answer::Failed(f.clone()),
    }
}

/// Grades one probed address.
pub fn inspect_address(
    host: &str,
    addr: SocketAddr,
    probe: &Probe,
    settings: &InspectSettings,
) -> (AddressReport, AddressGrade) {
    let mut row = AddressReport {
        ip: addr.ip(),
        port: addr.port(),
        starttls: probe
            .greeting
            .as_ref()
            .is_some_and(|g| g.offers("STARTTLS")),
        banner: probe.banner.as_ref().map(|b| b.summary()),
        extensions: probe
            .greeting
            .as_ref()
            .map(|g| g.extensions.clone())
            .unwrap_or_default(),
        extensions_after_tls: probe
            .greeting_after_tls
            .as_ref()
            .map(|g| g.extensions.clone()),
        tls: probe.tls.as_ref().map(|t| TlsReport {
            version: t.version.clone(),
            cipher: t.cipher.clone(),
            key_exchange_group: t.key_exchange_group.clone(),
            ocsp_stapled: t.ocsp_stapled,
            signature_verified: t.signature_unverified.is_none(),
        }),
        certificate: None,
        dane: DaneResult::Insecure,
        post_quantum: probe.tls.as_ref().map(|t| {
            t.key_exchange_group
                .as_deref()
                .is_some_and(|g| g.contains("MLKEM"))
        }),
        scan: probe.scan.as_ref().map(scan::scan_report),
        starttls_injection: probe.injection.as_ref().map(scan::injection_report),
        legacy_tls: false,
        error: probe.error.as_ref().map(|e| Failure {
            phase: e.phase.into(),
            kind: e.kind.kind(),
            message: e.to_string(),
        }),
        findings: Vec::new(),
        timings_ms: probe.timings,
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
        certificate_findings(
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
    scan::findings(probe, &mut row);
    row.legacy_tls = scan::legacy_tls_only(probe);
    let grade = match grade {
        AddressGrade::Authenticated if !authenticated => AddressGrade::Unauthenticated,
        // Encrypted for senders whose TLS library still speaks what the
        // server accepts, but never authenticated by smtptls.
        AddressGrade::NoTls if row.legacy_tls => AddressGrade::LegacyTls,
        g => g,
    };
    (row, grade)
}

/// Findings for the SMTP/STARTTLS/TLS dialogue; returns the grade it allows
/// (`Authenticated` meaning "TLS works; the certificate decides").
fn dialogue_findings(probe: &Probe, addr: SocketAddr, row: &mut AddressReport) -> AddressGrade {
    let findings = &mut row.findings;
    let failed_at = |phases: &[Phase]| probe.error.as_ref().filter(|e| phases.contains(&e.phase));
    let t = probe.timings;

    if let Some(e) = failed_at(&[Phase::Connect]) {
        findings.push(Finding::fail(
            FindingId::SmtpConnect,
            format!("cannot connect to {addr}: {}", e.kind),
        ));
        return AddressGrade::Unreachable;
    }
    findings.push(Finding::ok(
        FindingId::SmtpConnect,
        format!(
            "connected to {addr} in {} ms",
            t.connect.unwrap_or_default()
        ),
    ));

    if let Some(e) = failed_at(&[Phase::Banner]) {
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
        return AddressGrade::Unreachable;
    }
    let banner = probe
        .banner
        .as_ref()
        .map(|b| b.summary())
        .unwrap_or_default();
    findings.push(Finding::ok(FindingId::SmtpBanner, banner));

    if let Some(e) = failed_at(&[Phase::Ehlo, Phase::Helo]) {
        findings.push(Finding::fail(
            FindingId::SmtpEhlo,
            format!("{}: {}", e.phase, e.kind),
        ));
        return AddressGrade::Unreachable;
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

    if !row.starttls {
        findings.push(Finding::fail(
            FindingId::StarttlsOffered,
            "STARTTLS is not offered: mail to this address travels in clear text",
        ));
        return AddressGrade::NoTls;
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
        row.error = Some(Failure {
            phase: ErrorPhase::Starttls,
            kind: ErrorKind::Rejected,
            message: format!("STARTTLS: refused: {reply}"),
        });
        return AddressGrade::NoTls;
    }
    if let Some(e) = failed_at(&[Phase::Starttls]) {
        findings.push(Finding::fail(
            FindingId::StarttlsCommand,
            format!("STARTTLS: {}", e.kind),
        ));
        return AddressGrade::NoTls;
    }
    findings.push(Finding::ok(
        FindingId::StarttlsCommand,
        "STARTTLS accepted (220)",
    ));

    if let Some(e) = failed_at(&[Phase::TlsHandshake]) {
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
        tls.version,
        tls.cipher,
        tls.key_exchange_group
            .as_deref()
            .map(|g| format!(", {g}"))
            .unwrap_or_default(),
        t.tls_handshake.unwrap_or_default()
    );
    findings.push(match &tls.signature_unverified {
        None => Finding::ok(FindingId::TlsHandshake, handshake),
        Some(why) => Finding::warn(FindingId::TlsHandshake, format!("{handshake}; {why}")),
    });
    findings.push(match tls.version.as_str() {
        "TLSv1.3" => Finding::ok(FindingId::TlsVersion, "TLS 1.3"),
        "TLSv1.2" => Finding::ok(
            FindingId::TlsVersion,
            "TLS 1.2 (sufficient; TLS 1.3 is better)",
        ),
        other => Finding::fail(
            FindingId::TlsVersion,
            format!("{other} is deprecated (RFC 8996)"),
        ),
    });

    if let Some(e) = failed_at(&[Phase::EhloAfterTls]) {
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

fn certificate_findings(
    cert: &crate::report::CertificateReport,
    chain_msg: Option<String>,
    name_msg: Option<String>,
    host: &str,
    settings: &InspectSettings,
    findings: &mut Vec<Finding>,
) {
    findings.push(match chain_msg {
        None => Finding::ok(
            FindingId::CertChainValid,
            format!("chain of {} validates to a trusted root", cert.chain_length),
        ),
        Some(msg) => Finding::fail(FindingId::CertChainValid, msg),
    });
    findings.push(match name_msg {
        None => Finding::ok(
            FindingId::CertHostname,
            format!("certificate is valid for {host}"),
        ),
        Some(msg) => Finding::fail(FindingId::CertHostname, msg),
    });
    let not_yet = cert.chain_error == Some(crate::report::ChainError::NotYetValid)
        && time::OffsetDateTime::parse(
            &cert.not_before,
            &time::format_description::well_known::Rfc3339,
        )
        .is_ok_and(|nb| nb > settings.now);
    findings.push(if not_yet {
        Finding::fail(
            FindingId::CertExpiry,
            format!("certificate is not valid before {}", cert.not_before),
        )
    } else if cert.days_left < 0
        || cert.chain_error == Some(crate::report::ChainError::Expired) && cert.days_left <= 0
    {
        Finding::fail(
            FindingId::CertExpiry,
            format!("certificate expired on {}", cert.not_after),
        )
    } else if cert.days_left < i64::from(settings.expiry_warn_days) {
        Finding::warn(
            FindingId::CertExpiry,
            format!(
                "certificate expires in {} days ({})",
                cert.days_left, cert.not_after
            ),
        )
    } else {
        Finding::ok(
            FindingId::CertExpiry,
            format!(
                "certificate expires in {} days ({})",
                cert.days_left, cert.not_after
            ),
        )
    });
    // NCSC-NL levels (2025, §3.3.2.1, as internet.nl applies them): RSA
    // from 3072 bits good, 2048–3071 phase-out, less insufficient; the
    // NIST P and Brainpool curves from 256 bits, Ed25519 and Ed448 good,
    // P-224 phase-out; DSA and anything smaller insufficient.
    use crate::vocabulary::NcscLevel;
    let key = &cert.key;
    let described = match &key.curve {
        Some(curve) => format!("{} {} bits ({curve})", key.kind, key.bits),
        None => format!("{} {} bits", key.kind, key.bits),
    };
    findings.push(match key.kind.as_str() {
        "RSA" if key.bits < 2048 => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::Insufficient,
            format!("RSA key of {} bits is too weak (2048 at least)", key.bits),
        ),
        "RSA" if key.bits < 3072 => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::PhaseOut,
            format!(
                "RSA {} bits (phase out: 3072 bits or an EC key is good)",
                key.bits
            ),
        ),
        "RSA" => Finding::leveled(FindingId::CertKey, NcscLevel::Good, described),
        "EC" if key.bits < 224 => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::Insufficient,
            format!("EC key of {} bits is too weak", key.bits),
        ),
        "EC" if key.bits < 256 => {
            Finding::leveled(FindingId::CertKey, NcscLevel::PhaseOut, described)
        }
        "DSA" => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::Insufficient,
            "DSA keys are obsolete",
        ),
        _ if key.bits == 0 => Finding::warn(
            FindingId::CertKey,
            format!("key type {} is not one smtptls can grade", key.kind),
        ),
        _ => Finding::leveled(FindingId::CertKey, NcscLevel::Good, described),
    });
    let sig = cert.signature_algorithm.to_ascii_lowercase();
    findings.push(
        if sig.contains("sha1") || sig.contains("md5") || sig.contains("md2") {
            Finding::leveled(
                FindingId::CertSignature,
                NcscLevel::Insufficient,
                format!("signed with {}: broken hash", cert.signature_algorithm),
            )
        } else if sig.contains("sha224") {
            Finding::leveled(
                FindingId::CertSignature,
                NcscLevel::PhaseOut,
                format!("signed with {}", cert.signature_algorithm),
            )
        } else {
            Finding::leveled(
                FindingId::CertSignature,
                NcscLevel::Good,
                format!("signed with {}", cert.signature_algorithm),
            )
        },
    );
}
