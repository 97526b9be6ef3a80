//! Grading downgrade protection: MTA-STS record and policy, TLS-RPT,
//! TLSA lookups and per-address DANE results, as findings and report
//! sections. The rules themselves live in `crate::policy`; this file turns
//! their results into what the report says.

use time::OffsetDateTime;

use super::assessment::{
    AddressAssessment, DaneResult, MtaSts, StsPolicySummary, TlsRpt, TlsaAssessment,
};
use crate::protection::dane::{self, DaneStatus, Tlsa};
use crate::protection::mta_sts::{self, FetchProblem, Fetched, Mode, StsPolicy, StsTxtLookup};
use crate::protection::tls_rpt::{self, Rua, TlsRptLookup};
use crate::protection::{RecordState, TlsaStatus};
use crate::resolver::{Answer, Dnssec};
use crate::vocabulary::{Finding, FindingId};

/// What the audit found for MTA-STS.
#[derive(Debug, Clone)]
pub struct MtaStsEvidence {
    /// TXT records at `_mta-sts.<domain>`.
    pub txt: Answer<Vec<String>>,
    /// The policy fetch, made only when there is exactly one valid record.
    pub fetch: Option<Result<Fetched, FetchProblem>>,
}

/// What the audit found for one MX host's TLSA records.
#[derive(Debug, Clone)]
pub struct TlsaEvidence {
    pub answer: Answer<Vec<Tlsa>>,
    pub dnssec: Dnssec,
}

/// The MTA-STS section and its domain-level findings. Returns the policy
/// when one was fetched and parsed.
pub fn mta_sts(
    domain: &str,
    ev: &MtaStsEvidence,
    findings: &mut Vec<Finding>,
) -> (MtaSts, Option<StsPolicy>) {
    let mut report = MtaSts {
        record: RecordState::Absent,
        id: None,
        policy: None,
        fetch_error: None,
    };
    let records = match &ev.txt {
        Answer::Records(r) => r.clone(),
        Answer::NoData | Answer::NxDomain => Vec::new(),
        Answer::Failed(f) => {
            report.record = RecordState::LookupFailed;
            findings.push(Finding::warn(
                FindingId::MtaStsRecord,
                format!("TXT lookup of _mta-sts.{domain} failed: {f}"),
            ));
            return (report, None);
        }
    };
    match mta_sts::select_record(&records) {
        StsTxtLookup::Absent => {
            findings.push(Finding::info(
                FindingId::MtaStsRecord,
                format!("no MTA-STS record at _mta-sts.{domain}: senders cannot learn that TLS is required"),
            ));
            return (report, None);
        }
        StsTxtLookup::Invalid(e) => {
            report.record = RecordState::Invalid;
            findings.push(Finding::fail(
                FindingId::MtaStsRecord,
                format!("the _mta-sts.{domain} record is invalid: {e}"),
            ));
            return (report, None);
        }
        StsTxtLookup::Multiple(n) => {
            report.record = RecordState::Multiple;
            findings.push(Finding::fail(
                FindingId::MtaStsRecord,
                format!("{n} v=STSv1 records at _mta-sts.{domain}: RFC 8461 §3.1 requires exactly one, senders ignore them all"),
            ));
            return (report, None);
        }
        StsTxtLookup::Valid(record) => {
            report.record = RecordState::Valid;
            findings.push(Finding::ok(
                FindingId::MtaStsRecord,
                format!("MTA-STS record id={}", record.id),
            ));
            report.id = Some(record.id);
        }
    }
    let fetched = match &ev.fetch {
        Some(Ok(f)) => f,
        Some(Err(problem)) => {
            let msg = problem.to_string();
            findings.push(Finding::fail(
                FindingId::MtaStsPolicy,
                format!("the policy at https://mta-sts.{domain}/.well-known/mta-sts.txt cannot be used: {msg}"),
            ));
            report.fetch_error = Some(msg);
            return (report, None);
        }
        None => return (report, None),
    };
    let policy = match &fetched.policy {
        Ok(p) => p.clone(),
        Err(problems) => {
            let msg = problems.join("; ");
            findings.push(Finding::fail(
                FindingId::MtaStsPolicy,
                format!("the policy at {} is malformed: {msg}", fetched.url),
            ));
            report.fetch_error = Some(format!("malformed policy: {msg}"));
            return (report, None);
        }
    };
    findings.push(Finding::ok(
        FindingId::MtaStsPolicy,
        format!("policy fetched from {}", fetched.url),
    ));
    findings.push(match policy.mode {
        Mode::Enforce => Finding::ok(FindingId::MtaStsMode, "mode enforce: MTA-STS senders require valid TLS"),
        Mode::Testing => Finding::info(
            FindingId::MtaStsMode,
            "mode testing: failures are reported (TLS-RPT) but mail is still delivered; switch to enforce once reports are clean",
        ),
        Mode::None => Finding::info(FindingId::MtaStsMode, "mode none: the policy is switched off"),
    });
    report.policy = Some(StsPolicySummary {
        url: fetched.url.clone(),
        mode: policy.mode,
        mx: policy.mx.clone(),
        max_age: policy.max_age,
        text_sha256: Some(crate::crypto::sha256_hex(fetched.raw.as_bytes())),
    });
    (report, Some(policy))
}

/// Does `host` match the policy's `mx` patterns? A finding when it does not.
pub fn sts_mx_match(policy: &StsPolicy, host: &str, findings: &mut Vec<Finding>) -> bool {
    let matched = policy.mx.iter().any(|p| mta_sts::mx_matches(p, host));
    if matched {
        findings.push(Finding::ok(
            FindingId::MtaStsMx,
            format!("{host} matches the policy's mx list"),
        ));
    } else {
        let list = policy.mx.join(", ");
        let msg = format!("{host} is not in the MTA-STS policy's mx list ({list})");
        findings.push(match policy.mode {
            Mode::Enforce => Finding::fail(
                FindingId::MtaStsMx,
                format!("{msg}: MTA-STS senders will not deliver to it"),
            ),
            Mode::Testing => Finding::warn(
                FindingId::MtaStsMx,
                format!("{msg}: would fail under enforce"),
            ),
            Mode::None => Finding::info(FindingId::MtaStsMx, msg),
        });
    }
    matched
}

/// Under a policy, the certificate must validate and name the host
/// (RFC 8461 §4.2). Adds the finding to the address row.
pub fn sts_certificate(policy: &StsPolicy, row: &mut AddressAssessment<'_>) {
    let Some(cert) = &row.certificate else {
        return;
    };
    if row.probe.tls.is_none() {
        return;
    }
    let ok = cert.chain_valid && cert.hostname_match;
    let finding = if ok {
        Finding::ok(
            FindingId::MtaStsCertificate,
            "certificate valid for MTA-STS",
        )
    } else {
        let msg = "certificate not valid for MTA-STS (chain or name)";
        match policy.mode {
            Mode::Enforce => Finding::fail(
                FindingId::MtaStsCertificate,
                format!("{msg}: MTA-STS senders will not deliver here"),
            ),
            Mode::Testing => Finding::warn(
                FindingId::MtaStsCertificate,
                format!("{msg}: would fail under enforce"),
            ),
            Mode::None => Finding::info(FindingId::MtaStsCertificate, msg),
        }
    };
    row.findings.push(finding);
}

/// The TLS-RPT section and its finding.
pub fn tls_rpt(domain: &str, txt: &Answer<Vec<String>>, findings: &mut Vec<Finding>) -> TlsRpt {
    let mut report = TlsRpt {
        record: RecordState::Absent,
        rua: Vec::new(),
    };
    let records = match txt {
        Answer::Records(r) => r.clone(),
        Answer::NoData | Answer::NxDomain => Vec::new(),
        Answer::Failed(f) => {
            report.record = RecordState::LookupFailed;
            findings.push(Finding::warn(
                FindingId::TlsRptRecord,
                format!("TXT lookup of _smtp._tls.{domain} failed: {f}"),
            ));
            return report;
        }
    };
    match tls_rpt::select(&records) {
        TlsRptLookup::Absent => findings.push(Finding::info(
            FindingId::TlsRptRecord,
            format!(
                "no TLS-RPT record: senders cannot report TLS failures to you; publish {}",
                tls_rpt::suggested_record(domain)
            ),
        )),
        TlsRptLookup::Invalid(e) => {
            report.record = RecordState::Invalid;
            findings.push(Finding::fail(
                FindingId::TlsRptRecord,
                format!("the TLS-RPT record is invalid: {e}"),
            ));
        }
        TlsRptLookup::Multiple(n) => {
            report.record = RecordState::Multiple;
            findings.push(Finding::fail(
                FindingId::TlsRptRecord,
                format!("{n} v=TLSRPTv1 records at _smtp._tls.{domain}: exactly one is allowed"),
            ));
        }
        TlsRptLookup::Valid(record) => {
            report.record = RecordState::Valid;
            report.rua = record
                .rua
                .iter()
                .map(|r| match r {
                    Rua::Mailto(a) => format!("mailto:{a}"),
                    Rua::Https(u) => u.clone(),
                })
                .collect();
            findings.push(Finding::ok(
                FindingId::TlsRptRecord,
                format!("TLS-RPT reports go to {}", report.rua.join(", ")),
            ));
        }
    }
    report
}

/// The TLSA section of one MX host and its finding. `None` when DANE does
/// not apply (the host's addresses are not DNSSEC-secure).
pub fn tlsa(
    host: &str,
    port: u16,
    addresses: Dnssec,
    ev: Option<&TlsaEvidence>,
    findings: &mut Vec<Finding>,
) -> Option<TlsaAssessment> {
    let owner = format!("_{port}._tcp.{host}");
    if addresses == Dnssec::Bogus {
        // A validating sender gets SERVFAIL for these addresses: it cannot
        // use the host at all, and must not fall back to opportunistic TLS.
        findings.push(Finding::fail(
            FindingId::DaneTlsa,
            format!("{host}'s address records fail DNSSEC validation: validating senders cannot use this host"),
        ));
        return Some(TlsaAssessment {
            status: TlsaStatus::LookupFailed,
            dnssec: Dnssec::Bogus,
            records: Vec::new(),
        });
    }
    let Some(ev) = ev else {
        if addresses != Dnssec::Secure {
            findings.push(Finding::info(
                FindingId::DaneTlsa,
                format!("{host}'s addresses are not DNSSEC-signed: DANE does not apply"),
            ));
        }
        return None;
    };
    let (status, records) = match &ev.answer {
        Answer::Failed(f) => {
            findings.push(Finding::fail(
                FindingId::DaneTlsa,
                format!("TLSA lookup of {owner} failed ({f}): DANE senders defer mail to this host (RFC 7672 §2.2)"),
            ));
            (TlsaStatus::LookupFailed, Vec::new())
        }
        _ if ev.dnssec == Dnssec::Bogus => {
            findings.push(Finding::fail(
                FindingId::DaneTlsa,
                format!("TLSA records at {owner} fail DNSSEC validation: DANE senders defer"),
            ));
            (TlsaStatus::LookupFailed, Vec::new())
        }
        Answer::Records(r) if ev.dnssec != Dnssec::Secure => {
            findings.push(Finding::warn(
                FindingId::DaneTlsa,
                format!("TLSA records at {owner} are not DNSSEC-signed: senders ignore them"),
            ));
            (TlsaStatus::Insecure, r.clone())
        }
        Answer::Records(r) => {
            findings.push(Finding::ok(
                FindingId::DaneTlsa,
                format!("{} DNSSEC-signed TLSA record(s) at {owner}", r.len()),
            ));
            (TlsaStatus::Found, r.clone())
        }
        Answer::NoData | Answer::NxDomain => {
            findings.push(Finding::info(
                FindingId::DaneTlsa,
                format!("no TLSA records at {owner}: DANE senders use TLS opportunistically; publish TLSA records to make it mandatory"),
            ));
            (TlsaStatus::None, Vec::new())
        }
    };
    Some(TlsaAssessment {
        status,
        dnssec: ev.dnssec,
        records,
    })
}

/// DANE result of one address, with its findings.
pub fn dane_for_address(
    tlsa: Option<&TlsaAssessment>,
    ev: Option<&TlsaEvidence>,
    chain: &[rustls::pki_types::CertificateDer<'static>],
    names: &[&str],
    now: OffsetDateTime,
    findings: &mut Vec<Finding>,
) -> DaneResult {
    let (Some(report), Some(ev)) = (tlsa, ev) else {
        return DaneResult::Insecure;
    };
    let records = match (report.status, &ev.answer) {
        (TlsaStatus::Found, Answer::Records(r)) => r,
        (TlsaStatus::LookupFailed, _) => return DaneResult::LookupFailed,
        (TlsaStatus::Insecure, _) => return DaneResult::Insecure,
        _ => return DaneResult::None,
    };
    let eval = dane::evaluate(records, chain, names, now);
    let result = match eval.status {
        DaneStatus::Valid => {
            let matched: Vec<String> = eval
                .records
                .iter()
                .filter(|(_, o)| matches!(o, dane::RecordOutcome::Matches))
                .map(|(t, _)| t.to_string())
                .collect();
            findings.push(Finding::ok(
                FindingId::DaneValid,
                format!("certificate matches TLSA {}", matched.join(", ")),
            ));
            DaneResult::Valid
        }
        DaneStatus::Mismatch => {
            let why = if chain.is_empty() {
                "no TLS session, so nothing to match".to_string()
            } else {
                eval.records
                    .iter()
                    .map(|(t, o)| {
                        format!("{} {} {}: {}", t.usage, t.selector, t.matching, describe(o))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            findings.push(Finding::fail(
                FindingId::DaneValid,
                format!("no TLSA record matches the certificate ({why}): DANE senders will not deliver here"),
            ));
            DaneResult::Mismatch
        }
        DaneStatus::Unusable => {
            findings.push(Finding::warn(
                FindingId::DaneValid,
                "TLSA records exist but none is usable for SMTP (only DANE-TA(2) and DANE-EE(3) are): DANE senders require TLS without authenticating",
            ));
            DaneResult::Unusable
        }
    };
    if let Some(advice) = eval.rollover {
        findings.push(Finding::info(FindingId::DaneRollover, advice));
    }
    result
}

/// The certificates of the other key type against the same TLSA records
/// (RFC 7671 §5.1: the records must match every chain the server may
/// present): each gets its DANE result, and a `dane.other-certificate`
/// finding when the records are usable, `warn` on a mismatch. The
/// address's own result (`row.dane`, already set) and grade stay those of
/// the main certificate, which mainstream senders negotiate.
pub fn dane_for_other_certificates(
    tlsa: Option<&TlsaAssessment>,
    ev: Option<&TlsaEvidence>,
    probe: &crate::prober::Probe,
    names: &[&str],
    now: OffsetDateTime,
    row: &mut AddressAssessment<'_>,
) {
    let Some(chain) = probe.other_certificate.as_ref().and_then(|o| o.chain()) else {
        return;
    };
    let main_dane = row.dane;
    for other in &mut row.other_certificates {
        // The main certificate's findings already say what is wrong with
        // the records themselves; only the match is this certificate's.
        let mut said = Vec::new();
        other.dane = dane_for_address(tlsa, ev, chain, names, now, &mut said);
        let name = other.family.as_str();
        let main = other.family.other().as_str();
        let finding = match other.dane {
            DaneResult::Valid => Finding::ok(
                FindingId::DaneOtherCertificate,
                format!("the {name} certificate matches the TLSA records too"),
            ),
            DaneResult::Mismatch if main_dane == DaneResult::Valid => Finding::warn(
                FindingId::DaneOtherCertificate,
                format!(
                    "TLSA records match the {main} certificate only: a DANE sender that negotiates {name} defers (RFC 7671: the TLSA records must match every chain the server may present)"
                ),
            ),
            DaneResult::Mismatch => Finding::warn(
                FindingId::DaneOtherCertificate,
                format!(
                    "TLSA records match neither the {main} nor the {name} certificate: DANE senders defer whichever they negotiate"
                ),
            ),
            _ => continue,
        };
        row.findings.push(finding);
    }
}

fn describe(o: &dane::RecordOutcome) -> String {
    match o {
        dane::RecordOutcome::Matches => "matches".into(),
        dane::RecordOutcome::NoMatch => "does not match".into(),
        dane::RecordOutcome::Unusable(u) => format!("unusable ({u})"),
        dane::RecordOutcome::Superseded(by) => {
            format!("ignored, matching type {by} is published for the same usage and selector")
        }
        dane::RecordOutcome::TaMatchedButChainFails(why) => {
            format!("trust anchor matched, but {why}")
        }
    }
}
