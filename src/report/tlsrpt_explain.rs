//! `smtptls tlsrpt --audit`: what an audit made now says about a failure
//! group of the reports. Each RFC 8460 `result-type` is compared with the
//! audit facts that judge the same thing (the table in `docs/tlsrpt.md`,
//! [`ResultType::findings`]) at the place the reports name: the receiving
//! IP, else the receiving MX, else every MX address. The answer is an
//! [`Explanation`]: still present, gone, or not reproducible from here
//! and why.
//!
//! Pure: it reads the `DomainReport` the audit produced.

use std::net::IpAddr;

// The types of the TLS-RPT model come from where they are defined, not
// through `tlsrpt`, which calls this file (no cycle between the two).
use super::{AddressReport, DaneResult, DomainReport, MxReport, RecordState, TlsaStatus};
use crate::protection::tls_rpt_report::{
    Explanation, ExplanationId, FailureGroup, PolicyType, ResultType,
};
use crate::report::{ChainError, Dnssec, ErrorPhase};

/// What one address says about the cause.
enum Seen {
    Present(ExplanationId, String),
    Fixed(ExplanationId, String),
    Unknown(ExplanationId, String),
}

/// One probed address and its MX host.
struct Place<'a> {
    mx: &'a MxReport,
    addr: &'a AddressReport,
}

impl Place<'_> {
    fn label(&self) -> String {
        format!("{} [{}]", self.mx.host, self.addr.ip)
    }
}

/// The explanation of `group` from the audit of its policy domain (`None`:
/// the domain was not audited).
pub fn explain(group: &FailureGroup, audit: Option<&DomainReport>) -> Explanation {
    if let ResultType::Unknown(t) = &group.result_type {
        return Explanation::new(
            ExplanationId::UnknownResultType,
            format!(
                "{:?} is not a result type of RFC 8460: no audit finding maps to it",
                clip(t)
            ),
        );
    }
    let Some(d) = audit else {
        return Explanation::new(
            ExplanationId::DomainNotAudited,
            "the policy domain was not audited (not a valid domain name)",
        );
    };
    // The MTA-STS policy is the domain's, not an address's.
    if matches!(
        group.result_type,
        ResultType::StsPolicyFetchError | ResultType::StsWebpkiInvalid
    ) {
        return sts_policy(d).unwrap_or_else(|| {
            Explanation::new(
                ExplanationId::StsPolicyNowValid,
                "the MTA-STS policy is fetched and read now",
            )
        });
    }
    if group.result_type == ResultType::StsPolicyInvalid
        && let Some(problem) = sts_policy(d)
        && problem.id == ExplanationId::StsPolicyUnusable
    {
        return problem;
    }
    if let Some(error) = &d.error
        && d.mx.is_empty()
    {
        return Explanation::new(
            ExplanationId::DomainNotAudited,
            format!("the domain could not be audited: {}", error.message),
        );
    }
    let places = match locate(group, d) {
        Ok(places) => places,
        Err(why) => return why,
    };
    let seen: Vec<Seen> = places.iter().map(|p| judge(group, d, p)).collect();
    combine(seen)
}

/// The addresses the group is about, or why none of today's is.
fn locate<'a>(group: &FailureGroup, d: &'a DomainReport) -> Result<Vec<Place<'a>>, Explanation> {
    let all = || {
        d.mx.iter()
            .flat_map(|mx| mx.addresses.iter().map(move |addr| Place { mx, addr }))
    };
    let today = || {
        let list: Vec<String> = all().map(|p| p.label()).collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    if let Some(ip) = &group.receiving_ip {
        let parsed: Option<IpAddr> = ip.parse().ok();
        let found: Vec<Place<'a>> = all().filter(|p| Some(p.addr.ip) == parsed).collect();
        if let Some(ip) = parsed
            && found.is_empty()
            && let Some(mx) = d.mx.iter().find(|mx| mx.addresses_left_out.contains(&ip))
        {
            return Err(beyond_cap(format!("{ip} ({})", mx.host)));
        }
        if found.is_empty() {
            return Err(Explanation::new(
                ExplanationId::IpNotAnMxAddress,
                format!(
                    "{} is not an address of today's MX hosts ({}): the sender used an old MX or address, or its own routing",
                    clip(ip),
                    today()
                ),
            ));
        }
        return Ok(found);
    }
    if let Some(host) = &group.receiving_mx_hostname {
        let Some(mx) = d.mx.iter().find(|mx| mx.host.eq_ignore_ascii_case(host)) else {
            if d.mx_left_out
                .iter()
                .any(|left| left.host.eq_ignore_ascii_case(host))
            {
                return Err(beyond_cap(clip(host)));
            }
            return Err(Explanation::new(
                ExplanationId::MxNotCurrent,
                format!(
                    "{} is not an MX host of {} today ({})",
                    clip(host),
                    d.domain,
                    today()
                ),
            ));
        };
        let found: Vec<Place<'a>> = mx.addresses.iter().map(|addr| Place { mx, addr }).collect();
        if found.is_empty() {
            return Err(Explanation::new(
                ExplanationId::AddressUnreachable,
                format!("{} has no address to probe today", mx.host),
            ));
        }
        return Ok(found);
    }
    let found: Vec<Place<'a>> = all().collect();
    if found.is_empty() {
        return Err(Explanation::new(
            ExplanationId::AddressUnreachable,
            format!("{} has no MX address to probe today", d.domain),
        ));
    }
    Ok(found)
}

/// A place of today's MX set that the audit's caps left unprobed.
fn beyond_cap(what: String) -> Explanation {
    Explanation::new(
        ExplanationId::BeyondAuditCap,
        format!(
            "{what} is one of today's MX addresses but beyond the audit's caps (--max-mx-hosts, --max-addresses-per-host), so it was not probed: raise them to check it"
        ),
    )
}

/// The first address that still shows the cause; else the first that
/// shows it fixed; else why none could tell.
fn combine(seen: Vec<Seen>) -> Explanation {
    let present = seen
        .iter()
        .filter(|s| matches!(s, Seen::Present(..)))
        .count();
    let mut fixed = None;
    let mut unknown = None;
    for s in seen {
        match s {
            Seen::Present(id, msg) => {
                let more = if present > 1 {
                    format!(" (and {} more addresses)", present - 1)
                } else {
                    String::new()
                };
                return Explanation::new(id, format!("{msg}{more}"));
            }
            Seen::Fixed(id, msg) => {
                fixed.get_or_insert(Explanation::new(id, msg));
            }
            Seen::Unknown(id, msg) => {
                unknown.get_or_insert(Explanation::new(id, msg));
            }
        }
    }
    fixed.or(unknown).unwrap_or_else(|| {
        Explanation::new(ExplanationId::AddressUnreachable, "no address to probe")
    })
}

/// The MTA-STS policy fetch now: `None` when it worked.
fn sts_policy(d: &DomainReport) -> Option<Explanation> {
    let Some(sts) = &d.mta_sts else {
        return Some(Explanation::new(
            ExplanationId::DomainNotAudited,
            "the _mta-sts record was not looked up",
        ));
    };
    if sts.record != RecordState::Valid {
        return Some(Explanation::new(
            ExplanationId::StsPolicyWithdrawn,
            format!(
                "the _mta-sts record is {} today: senders no longer fetch a policy",
                sts.record
            ),
        ));
    }
    if let Some(error) = &sts.fetch_error {
        return Some(Explanation::new(
            ExplanationId::StsPolicyUnusable,
            format!("the MTA-STS policy still cannot be used: {error}"),
        ));
    }
    None
}

fn judge(group: &FailureGroup, d: &DomainReport, p: &Place<'_>) -> Seen {
    use ExplanationId as E;
    let label = p.label();
    if let Some(error) = &p.addr.error
        && error.phase.before_smtp()
    {
        return Seen::Unknown(
            E::AddressUnreachable,
            format!("{label} could not be audited now: {}", clip(&error.message)),
        );
    }
    let cert = p.addr.certificate.as_ref();
    match group.result_type {
        ResultType::StarttlsNotSupported => {
            if !p.addr.starttls {
                Seen::Present(
                    E::StarttlsNotOffered,
                    format!("{label} still does not offer STARTTLS"),
                )
            } else if p
                .addr
                .error
                .as_ref()
                .is_some_and(|e| e.phase == ErrorPhase::Starttls)
            {
                Seen::Present(
                    E::StarttlsNotOffered,
                    format!("{label} offers STARTTLS but still refuses it"),
                )
            } else if p.addr.tls.is_none() && !p.addr.legacy_tls {
                Seen::Present(
                    E::TlsHandshakeFails,
                    format!("{label} offers STARTTLS but the TLS handshake still fails"),
                )
            } else {
                Seen::Fixed(
                    E::StarttlsNowWorks,
                    format!("{label} now offers STARTTLS and completes the handshake"),
                )
            }
        }
        ResultType::CertificateExpired => match cert {
            Some(c) if c.days_left < 0 || c.chain_error == Some(ChainError::Expired) => {
                Seen::Present(
                    E::CertificateExpired,
                    format!(
                        "{label} still serves a certificate that expired on {}",
                        c.not_after
                    ),
                )
            }
            Some(c) => Seen::Fixed(
                E::CertificateNowValid,
                format!(
                    "{label} now serves a certificate valid until {}",
                    c.not_after
                ),
            ),
            None => no_certificate(&label),
        },
        ResultType::CertificateNotTrusted => match cert {
            Some(c) if !c.chain_valid => Seen::Present(
                E::CertificateNotTrusted,
                format!(
                    "{label} still serves a chain that does not validate ({})",
                    chain_error(c.chain_error)
                ),
            ),
            Some(c) => Seen::Fixed(
                E::CertificateNowValid,
                format!(
                    "{label} now serves a chain that validates (valid until {}); if it has not changed, the sender's trust store lacks its root",
                    c.not_after
                ),
            ),
            None => no_certificate(&label),
        },
        ResultType::CertificateHostMismatch => match cert {
            Some(c) if !c.hostname_match => Seen::Present(
                E::CertificateHostMismatch,
                format!(
                    "{label} still serves a certificate that does not name {} (names: {})",
                    p.mx.host,
                    c.subject_alt_names.join(", ")
                ),
            ),
            Some(_) => Seen::Fixed(
                E::CertificateNowValid,
                format!("{label} now serves a certificate that names {}", p.mx.host),
            ),
            None => no_certificate(&label),
        },
        ResultType::ValidationFailure => validation_failure(group, p, &label),
        ResultType::TlsaInvalid => match p.addr.dane {
            DaneResult::Mismatch | DaneResult::Unusable => Seen::Present(
                E::TlsaMismatch,
                format!(
                    "{label}: the TLSA records of {} still do not match its certificate, or are unusable",
                    p.mx.host
                ),
            ),
            DaneResult::LookupFailed => Seen::Present(
                E::DnssecBogus,
                format!("the TLSA lookup of {} still fails", p.mx.host),
            ),
            DaneResult::Valid => Seen::Fixed(
                E::TlsaNowMatches,
                format!("{label}: a TLSA record of {} matches now", p.mx.host),
            ),
            DaneResult::Insecure | DaneResult::None => Seen::Unknown(
                E::SenderSide,
                format!(
                    "{} publishes no DNSSEC-signed TLSA records today: DANE does not apply, so the sender's TLSA answer was not what this audit sees",
                    p.mx.host
                ),
            ),
        },
        ResultType::DnssecInvalid => {
            let tlsa_failed =
                p.mx.tlsa.as_ref().is_some_and(|t| {
                    t.status == TlsaStatus::LookupFailed || t.dnssec == Dnssec::Bogus
                });
            if d.dnssec == Dnssec::Bogus || p.mx.dnssec == Dnssec::Bogus || tlsa_failed {
                Seen::Present(
                    E::DnssecBogus,
                    format!(
                        "DNSSEC validation for {} still fails (MX {}, host {})",
                        p.mx.host,
                        dnssec(d.dnssec),
                        dnssec(p.mx.dnssec)
                    ),
                )
            } else {
                Seen::Fixed(
                    E::DnssecNowValid,
                    format!("the DNSSEC answers for {} validate now", p.mx.host),
                )
            }
        }
        ResultType::DaneRequired => match p.addr.dane {
            DaneResult::Valid => Seen::Fixed(
                E::TlsaNowMatches,
                format!(
                    "{label}: {} publishes a matching DNSSEC-signed TLSA record now",
                    p.mx.host
                ),
            ),
            DaneResult::Mismatch | DaneResult::Unusable => Seen::Present(
                E::TlsaMismatch,
                format!(
                    "{label}: the TLSA records of {} still do not match",
                    p.mx.host
                ),
            ),
            _ => Seen::Unknown(
                E::SenderRequiresDane,
                format!(
                    "{} publishes no usable DNSSEC-signed TLSA records: the sender requires DANE by its own policy",
                    p.mx.host
                ),
            ),
        },
        ResultType::StsPolicyInvalid => match p.mx.mta_sts_match {
            Some(false) => Seen::Present(
                E::StsMxNotCovered,
                format!(
                    "{} is still not covered by the MTA-STS policy's mx patterns ({})",
                    p.mx.host,
                    sts_patterns(d)
                ),
            ),
            Some(true) => Seen::Fixed(
                E::StsMxNowCovered,
                format!(
                    "{} is covered by the MTA-STS policy's mx patterns now ({})",
                    p.mx.host,
                    sts_patterns(d)
                ),
            ),
            None => Seen::Unknown(
                E::SenderSide,
                "no MTA-STS policy applies today: the sender used a cached policy".to_string(),
            ),
        },
        // Handled before any address is located.
        ResultType::StsPolicyFetchError | ResultType::StsWebpkiInvalid | ResultType::Unknown(_) => {
            Seen::Unknown(E::SenderSide, String::new())
        }
    }
}

/// `validation-failure` is any of the certificate checks, the MTA-STS MX
/// match and the DANE match, whichever applies to the sender's policy.
fn validation_failure(group: &FailureGroup, p: &Place<'_>, label: &str) -> Seen {
    use ExplanationId as E;
    let sts = group.policy_types.contains(&PolicyType::Sts);
    let tlsa = group.policy_types.contains(&PolicyType::Tlsa);
    if let Some(c) = &p.addr.certificate {
        if c.days_left < 0 || c.chain_error == Some(ChainError::Expired) {
            return Seen::Present(
                E::CertificateExpired,
                format!(
                    "{label} still serves a certificate that expired on {}",
                    c.not_after
                ),
            );
        }
        if !c.chain_valid && !tlsa {
            return Seen::Present(
                E::CertificateNotTrusted,
                format!(
                    "{label} still serves a chain that does not validate ({})",
                    chain_error(c.chain_error)
                ),
            );
        }
        if !c.hostname_match && !tlsa {
            return Seen::Present(
                E::CertificateHostMismatch,
                format!(
                    "{label} still serves a certificate that does not name {}",
                    p.mx.host
                ),
            );
        }
    } else {
        return no_certificate(label);
    }
    if sts && p.mx.mta_sts_match == Some(false) {
        return Seen::Present(
            E::StsMxNotCovered,
            format!(
                "{} is still not covered by the MTA-STS policy's mx patterns",
                p.mx.host
            ),
        );
    }
    if tlsa && matches!(p.addr.dane, DaneResult::Mismatch | DaneResult::Unusable) {
        return Seen::Present(
            E::TlsaMismatch,
            format!("{label}: the TLSA records still do not match"),
        );
    }
    Seen::Fixed(
        E::CertificateNowValid,
        format!("{label} now passes every certificate check the sender's policy asks for"),
    )
}

fn no_certificate(label: &str) -> Seen {
    Seen::Unknown(
        ExplanationId::AddressUnreachable,
        format!("{label} presented no certificate now (no TLS session)"),
    )
}

fn chain_error(e: Option<ChainError>) -> &'static str {
    match e {
        Some(ChainError::Expired) => "expired",
        Some(ChainError::NotYetValid) => "not yet valid",
        Some(ChainError::SelfSigned) => "self-signed",
        Some(ChainError::IncompleteChain) => "incomplete chain",
        Some(ChainError::UnknownIssuer) => "unknown issuer",
        Some(ChainError::BadSignature) => "bad signature",
        Some(ChainError::UnsupportedAlgorithm) => "unsupported algorithm",
        Some(ChainError::InvalidPurpose) => "not a TLS server certificate",
        Some(ChainError::Malformed) => "malformed",
        Some(ChainError::Other) | None => "invalid",
    }
}

fn dnssec(d: Dnssec) -> &'static str {
    match d {
        Dnssec::Secure => "secure",
        Dnssec::Insecure => "insecure",
        Dnssec::Bogus => "bogus",
        Dnssec::Indeterminate => "indeterminate",
    }
}

fn sts_patterns(d: &DomainReport) -> String {
    d.mta_sts
        .as_ref()
        .and_then(|s| s.policy.as_ref())
        .map(|p| p.mx.join(", "))
        .unwrap_or_else(|| "none".to_string())
}

/// Report text in a sentence: at most 200 characters.
fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protection::tls_rpt_report::{CauseStatus, Explanation};
    use crate::report::{
        CertificateReport, ErrorKind, Failure, KeyInfo, Mode, MtaStsReport, MxSource,
        StsPolicyReport, TlsReport, TlsVersion,
    };

    fn certificate() -> CertificateReport {
        CertificateReport {
            subject: "CN=mx.example.test".into(),
            issuer: "CN=CA".into(),
            subject_alt_names: vec!["mx.example.test".into()],
            serial: "01".into(),
            not_before: "2026-11-01T00:00:00Z".into(),
            not_after: "2027-02-01T00:00:00Z".into(),
            days_left: 60,
            not_yet_valid: false,
            key: KeyInfo {
                kind: "EC".into(),
                bits: 256,
                curve: Some("P-256".into()),
            },
            signature_algorithm: "ecdsa-with-SHA256".into(),
            sha256: String::new(),
            spki_sha256: String::new(),
            chain_length: 2,
            chain_valid: true,
            chain_error: None,
            hostname_match: true,
            must_staple: false,
        }
    }

    /// A good address: STARTTLS, TLS 1.3, a valid certificate.
    fn address() -> AddressReport {
        AddressReport {
            starttls: true,
            tls: Some(TlsReport {
                version: TlsVersion::Tls13,
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
                key_exchange_group: None,
                ocsp_stapled: false,
                requiretls: false,
                ocsp: None,
                signature_verified: true,
            }),
            certificate: Some(certificate()),
            ..AddressReport::unprobed("192.0.2.1".parse().expect("IP"), 25)
        }
    }

    fn domain(change: impl FnOnce(&mut AddressReport)) -> DomainReport {
        let mut addr = address();
        change(&mut addr);
        DomainReport {
            mx_source: MxSource::Mx,
            mx: vec![MxReport {
                host: "mx.example.test".into(),
                preference: 10,
                cname: None,
                dnssec: Dnssec::Insecure,
                tlsa: None,
                mta_sts_match: None,
                post_quantum: None,
                addresses: vec![addr],
                addresses_left_out: Vec::new(),
                findings: Vec::new(),
                error: None,
            }],
            ..DomainReport::empty("example.test")
        }
    }

    fn group(result_type: &str, mx: Option<&str>, ip: Option<&str>) -> FailureGroup {
        let result_type: ResultType =
            serde_json::from_value(serde_json::Value::String(result_type.into()))
                .expect("result type");
        FailureGroup {
            unknown_result_type: matches!(result_type, ResultType::Unknown(_)),
            findings: result_type.findings().to_vec(),
            result_type,
            receiving_mx_hostname: mx.map(str::to_string),
            receiving_ip: ip.map(str::to_string),
            failed_sessions: 1,
            share: 1.0,
            policy_types: vec![PolicyType::Sts],
            organisations: Vec::new(),
            sending_mta_ips: Vec::new(),
            receiving_mx_helos: Vec::new(),
            additional_information: Vec::new(),
            failure_reason_code: None,
            failure_reason_codes: Vec::new(),
            audit: None,
        }
    }

    fn at_mx(result_type: &str, d: &DomainReport) -> Explanation {
        explain(
            &group(result_type, Some("mx.example.test"), Some("192.0.2.1")),
            Some(d),
        )
    }

    #[test]
    fn starttls() {
        let e = at_mx("starttls-not-supported", &domain(|a| a.starttls = false));
        assert_eq!(e.id, ExplanationId::StarttlsNotOffered);
        assert_eq!(e.status, CauseStatus::StillPresent);
        let e = at_mx("starttls-not-supported", &domain(|a| a.tls = None));
        assert_eq!(e.id, ExplanationId::TlsHandshakeFails);
        let e = at_mx("starttls-not-supported", &domain(|_| {}));
        assert_eq!(e.id, ExplanationId::StarttlsNowWorks);
        assert_eq!(e.status, CauseStatus::Gone);
    }

    #[test]
    fn certificates() {
        let untrusted = domain(|a| {
            if let Some(c) = &mut a.certificate {
                c.chain_valid = false;
                c.chain_error = Some(ChainError::SelfSigned);
            }
        });
        let e = at_mx("certificate-not-trusted", &untrusted);
        assert_eq!(e.id, ExplanationId::CertificateNotTrusted);
        assert!(e.message.contains("self-signed"), "{}", e.message);
        let e = at_mx("validation-failure", &untrusted);
        assert_eq!(e.id, ExplanationId::CertificateNotTrusted);
        let wrong_name = domain(|a| {
            if let Some(c) = &mut a.certificate {
                c.hostname_match = false;
            }
        });
        let e = at_mx("certificate-host-mismatch", &wrong_name);
        assert_eq!(e.id, ExplanationId::CertificateHostMismatch);
        let e = at_mx("certificate-host-mismatch", &domain(|_| {}));
        assert_eq!(e.id, ExplanationId::CertificateNowValid);
        let e = at_mx("certificate-expired", &domain(|a| a.certificate = None));
        assert_eq!(e.id, ExplanationId::AddressUnreachable);
    }

    #[test]
    fn dane() {
        let e = at_mx("tlsa-invalid", &domain(|a| a.dane = DaneResult::Mismatch));
        assert_eq!(e.id, ExplanationId::TlsaMismatch);
        let e = at_mx("tlsa-invalid", &domain(|a| a.dane = DaneResult::Valid));
        assert_eq!(e.id, ExplanationId::TlsaNowMatches);
        let e = at_mx("dane-required", &domain(|_| {}));
        assert_eq!(e.id, ExplanationId::SenderRequiresDane);
        assert_eq!(e.status, CauseStatus::NotReproducible);
        let mut bogus = domain(|_| {});
        bogus.mx[0].dnssec = Dnssec::Bogus;
        assert_eq!(
            at_mx("dnssec-invalid", &bogus).id,
            ExplanationId::DnssecBogus
        );
        assert_eq!(
            at_mx("dnssec-invalid", &domain(|_| {})).id,
            ExplanationId::DnssecNowValid
        );
    }

    #[test]
    fn mta_sts_policy() {
        let mut d = domain(|_| {});
        d.mta_sts = Some(MtaStsReport {
            record: RecordState::Valid,
            id: Some("1".into()),
            policy: None,
            fetch_error: Some("HTTP 404".into()),
        });
        let e = explain(&group("sts-policy-fetch-error", None, None), Some(&d));
        assert_eq!(e.id, ExplanationId::StsPolicyUnusable);
        assert!(e.message.contains("HTTP 404"), "{}", e.message);
        assert_eq!(
            at_mx("sts-policy-invalid", &d).id,
            ExplanationId::StsPolicyUnusable
        );
        d.mta_sts = Some(MtaStsReport {
            record: RecordState::Valid,
            id: Some("1".into()),
            policy: Some(StsPolicyReport {
                url: "https://mta-sts.example.test/.well-known/mta-sts.txt".into(),
                mode: Mode::Enforce,
                mx: vec!["*.example.test".into()],
                max_age: 86400,
                text_sha256: None,
            }),
            fetch_error: None,
        });
        d.mx[0].mta_sts_match = Some(true);
        let e = explain(&group("sts-webpki-invalid", None, None), Some(&d));
        assert_eq!(e.id, ExplanationId::StsPolicyNowValid);
        assert_eq!(
            at_mx("sts-policy-invalid", &d).id,
            ExplanationId::StsMxNowCovered
        );
        d.mta_sts = Some(MtaStsReport {
            record: RecordState::Absent,
            id: None,
            policy: None,
            fetch_error: None,
        });
        let e = explain(&group("sts-policy-fetch-error", None, None), Some(&d));
        assert_eq!(e.id, ExplanationId::StsPolicyWithdrawn);
        assert_eq!(e.status, CauseStatus::Gone);
    }

    #[test]
    fn places_that_are_not_today_s() {
        let d = domain(|_| {});
        let e = explain(
            &group("certificate-expired", Some("old-mx.example.test"), None),
            Some(&d),
        );
        assert_eq!(e.id, ExplanationId::MxNotCurrent);
        let e = explain(
            &group("certificate-expired", None, Some("not-an-ip")),
            Some(&d),
        );
        assert_eq!(e.id, ExplanationId::IpNotAnMxAddress);
        let down = domain(|a| {
            a.error = Some(Failure::new(
                ErrorPhase::Connect,
                ErrorKind::ConnectionRefused,
                "refused",
            ))
        });
        assert_eq!(
            at_mx("certificate-expired", &down).id,
            ExplanationId::AddressUnreachable
        );
        let e = explain(&group("certificate-expired", None, None), None);
        assert_eq!(e.id, ExplanationId::DomainNotAudited);
        let e = explain(&group("made-up", None, None), Some(&d));
        assert_eq!(e.id, ExplanationId::UnknownResultType);
    }

    #[test]
    fn places_beyond_the_audit_caps_are_said_to_be() {
        let mut d = domain(|_| {});
        d.mx[0].addresses_left_out = vec!["192.0.2.77".parse().expect("ip")];
        d.mx_left_out = vec![crate::report::LeftOutMx {
            host: "mx11.example.test".into(),
            preference: 50,
        }];
        let e = explain(
            &group("certificate-expired", None, Some("192.0.2.77")),
            Some(&d),
        );
        assert_eq!(e.id, ExplanationId::BeyondAuditCap);
        assert_eq!(e.status, CauseStatus::NotReproducible);
        assert!(e.message.contains("mx.example.test"), "{}", e.message);
        let e = explain(
            &group("certificate-expired", Some("MX11.example.test"), None),
            Some(&d),
        );
        assert_eq!(e.id, ExplanationId::BeyondAuditCap);
        // An address in no list is still not an MX address.
        let e = explain(
            &group("certificate-expired", None, Some("192.0.2.78")),
            Some(&d),
        );
        assert_eq!(e.id, ExplanationId::IpNotAnMxAddress);
    }
}
