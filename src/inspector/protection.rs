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

#[cfg(test)]
mod tests {
    //! The findings of downgrade protection (`docs/grading.md`, "Findings
    //! of downgrade protection", and the DANE, MTA-STS and TLS-RPT
    //! sections): each outcome with its section state and severity.

    use super::*;
    use crate::inspector::assessment::DaneResult;
    use crate::inspector::mx::inspect_mx;
    use crate::inspector::testkit::*;
    use crate::inspector::{MxAssessment, MxEvidence};
    use crate::protection::mta_sts::parse_policy;
    use crate::resolver::DnsFailure;

    fn txt(records: &[&str]) -> Answer<Vec<String>> {
        Answer::Records(records.iter().map(|r| r.to_string()).collect())
    }

    #[test]
    fn mta_sts_record_policy_and_mode() {
        struct Case {
            name: &'static str,
            ev: MtaStsEvidence,
            record: RecordState,
            mode: Option<Mode>,
            /// The start of `fetch_error`, when there is one.
            fetch_error: Option<&'static str>,
            findings: &'static [&'static str],
        }
        let cases = vec![
            Case {
                name: "enforce",
                ev: sts(&policy("enforce", &[MX1])),
                record: RecordState::Valid,
                mode: Some(Mode::Enforce),
                fetch_error: None,
                findings: &["mta-sts.record=ok", "mta-sts.policy=ok", "mta-sts.mode=ok"],
            },
            Case {
                name: "testing",
                ev: sts(&policy("testing", &[MX1])),
                record: RecordState::Valid,
                mode: Some(Mode::Testing),
                fetch_error: None,
                findings: &["mta-sts.policy=ok", "mta-sts.mode=info"],
            },
            Case {
                name: "none",
                ev: sts(&policy("none", &[])),
                record: RecordState::Valid,
                mode: Some(Mode::None),
                fetch_error: None,
                findings: &["mta-sts.policy=ok", "mta-sts.mode=info"],
            },
            Case {
                name: "no TXT record",
                ev: sts_txt(Answer::NoData),
                record: RecordState::Absent,
                mode: None,
                fetch_error: None,
                findings: &["mta-sts.record=info", "!mta-sts.policy", "!mta-sts.mode"],
            },
            Case {
                name: "only other TXT records",
                ev: sts_txt(txt(&["v=spf1 -all"])),
                record: RecordState::Absent,
                mode: None,
                fetch_error: None,
                findings: &["mta-sts.record=info"],
            },
            Case {
                name: "invalid record",
                ev: sts_txt(txt(&["v=STSv1; id="])),
                record: RecordState::Invalid,
                mode: None,
                fetch_error: None,
                findings: &["mta-sts.record=fail", "!mta-sts.policy"],
            },
            Case {
                name: "two records",
                ev: sts_txt(txt(&["v=STSv1; id=1", "v=STSv1; id=2"])),
                record: RecordState::Multiple,
                mode: None,
                fetch_error: None,
                findings: &["mta-sts.record=fail"],
            },
            Case {
                name: "TXT lookup failed",
                ev: sts_txt(Answer::Failed(DnsFailure::Timeout)),
                record: RecordState::LookupFailed,
                mode: None,
                fetch_error: None,
                findings: &["mta-sts.record=warn"],
            },
            Case {
                name: "TXT answer bogus",
                ev: sts_txt(Answer::Failed(DnsFailure::Bogus)),
                record: RecordState::LookupFailed,
                mode: None,
                fetch_error: None,
                findings: &["mta-sts.record=warn"],
            },
            Case {
                name: "fetch failed",
                ev: sts_unfetched(FetchProblem::Status(404)),
                record: RecordState::Valid,
                mode: None,
                fetch_error: Some("HTTP status 404"),
                findings: &["mta-sts.record=ok", "mta-sts.policy=fail", "!mta-sts.mode"],
            },
            Case {
                name: "malformed policy (case-sensitive names)",
                ev: sts("version: STSv1\nMode: enforce\nmx: mx1.example.test\nmax_age: 86400\n"),
                record: RecordState::Valid,
                mode: None,
                fetch_error: Some("malformed policy: "),
                findings: &["mta-sts.policy=fail", "!mta-sts.mode"],
            },
        ];
        let mut failures = Vec::new();
        for c in &cases {
            let mut findings = Vec::new();
            let (out, policy) = mta_sts(DOMAIN, &c.ev, &mut findings);
            let mode = out.policy.as_ref().map(|p| p.mode);
            if out.record != c.record || mode != c.mode || policy.map(|p| p.mode) != c.mode {
                failures.push(format!(
                    "{}: record {:?} mode {mode:?}, expected {:?} {:?}",
                    c.name, out.record, c.record, c.mode
                ));
            }
            let fetch_ok = match (&out.fetch_error, c.fetch_error) {
                (None, None) => true,
                (Some(got), Some(want)) => got.starts_with(want),
                _ => false,
            };
            if !fetch_ok {
                failures.push(format!(
                    "{}: fetch_error {:?}, expected {:?}",
                    c.name, out.fetch_error, c.fetch_error
                ));
            }
            if let Err(e) = check_findings(&findings, c.findings) {
                failures.push(format!("{}: {e}", c.name));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn tls_rpt_record() {
        struct Case {
            name: &'static str,
            txt: Answer<Vec<String>>,
            record: RecordState,
            rua: &'static [&'static str],
            finding: &'static str,
        }
        let cases = vec![
            Case {
                name: "one valid record",
                txt: txt(&["v=TLSRPTv1; rua=mailto:tlsrpt@example.test"]),
                record: RecordState::Valid,
                rua: &["mailto:tlsrpt@example.test"],
                finding: "tls-rpt.record=ok",
            },
            Case {
                name: "no record",
                txt: Answer::NoData,
                record: RecordState::Absent,
                rua: &[],
                finding: "tls-rpt.record=info",
            },
            Case {
                name: "invalid record",
                txt: txt(&["v=TLSRPTv1;"]),
                record: RecordState::Invalid,
                rua: &[],
                finding: "tls-rpt.record=fail",
            },
            Case {
                name: "two records",
                txt: txt(&[
                    "v=TLSRPTv1; rua=mailto:a@example.test",
                    "v=TLSRPTv1; rua=mailto:b@example.test",
                ]),
                record: RecordState::Multiple,
                rua: &[],
                finding: "tls-rpt.record=fail",
            },
            Case {
                name: "lookup failed",
                txt: Answer::Failed(DnsFailure::ServFail),
                record: RecordState::LookupFailed,
                rua: &[],
                finding: "tls-rpt.record=warn",
            },
            Case {
                name: "answer bogus",
                txt: Answer::Failed(DnsFailure::Bogus),
                record: RecordState::LookupFailed,
                rua: &[],
                finding: "tls-rpt.record=warn",
            },
        ];
        let mut failures = Vec::new();
        for c in &cases {
            let mut findings = Vec::new();
            let out = tls_rpt(DOMAIN, &c.txt, &mut findings);
            if out.record != c.record || out.rua != c.rua {
                failures.push(format!(
                    "{}: {:?} {:?}, expected {:?} {:?}",
                    c.name, out.record, out.rua, c.record, c.rua
                ));
            }
            if let Err(e) = check_findings(&findings, &[c.finding]) {
                failures.push(format!("{}: {e}", c.name));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    struct DaneCase {
        name: &'static str,
        mx: MxEvidence,
        status: Option<TlsaStatus>,
        dane: DaneResult,
        /// `dane.tlsa` at the MX level.
        tlsa_finding: &'static str,
        /// At the address level.
        findings: &'static [&'static str],
    }

    fn grade_one(mx: &MxEvidence) -> MxAssessment<'_> {
        inspect_mx(DOMAIN, mx, None, &settings()).0
    }

    #[test]
    fn tlsa_lookup_and_dane_result_per_address() {
        let leaf = valid(MX1);
        let rooted = with_root(MX1);
        let for_domain = with_root(DOMAIN);
        let other_name = with_root("mail.other.test");
        let host = |chain: &Chain| mx(10, MX1, vec![tls(chain.clone())]);
        let found =
            |chain: &Chain, records: Vec<Tlsa>| signed(host(chain), Answer::Records(records));
        let cases = vec![
            DaneCase {
                name: "not DNSSEC-signed: no TLSA lookup",
                mx: host(&leaf),
                status: None,
                dane: DaneResult::Insecure,
                tlsa_finding: "dane.tlsa=info",
                findings: &["!dane.valid"],
            },
            DaneCase {
                name: "signed, no TLSA records",
                mx: signed(host(&leaf), Answer::NoData),
                status: Some(TlsaStatus::None),
                dane: DaneResult::None,
                tlsa_finding: "dane.tlsa=info",
                findings: &["!dane.valid"],
            },
            DaneCase {
                name: "TLSA records not signed",
                mx: with_tlsa(
                    host(&leaf),
                    Answer::Records(vec![dane_ee(&leaf)]),
                    Dnssec::Insecure,
                ),
                status: Some(TlsaStatus::Insecure),
                dane: DaneResult::Insecure,
                tlsa_finding: "dane.tlsa=warn",
                findings: &["!dane.valid"],
            },
            DaneCase {
                name: "TLSA lookup failed",
                mx: signed(host(&leaf), Answer::Failed(DnsFailure::ServFail)),
                status: Some(TlsaStatus::LookupFailed),
                dane: DaneResult::LookupFailed,
                tlsa_finding: "dane.tlsa=fail",
                findings: &["!dane.valid"],
            },
            DaneCase {
                name: "TLSA answer bogus",
                mx: with_tlsa(
                    host(&leaf),
                    Answer::Records(vec![dane_ee(&leaf)]),
                    Dnssec::Bogus,
                ),
                status: Some(TlsaStatus::LookupFailed),
                dane: DaneResult::LookupFailed,
                tlsa_finding: "dane.tlsa=fail",
                findings: &["!dane.valid"],
            },
            DaneCase {
                name: "3 1 1 matches, the only record",
                mx: found(&leaf, vec![dane_ee(&leaf)]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Valid,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=ok", "dane.rollover=info"],
            },
            DaneCase {
                name: "3 1 1 and 2 1 1 both match: room to roll over",
                mx: found(&rooted, vec![dane_ee(&rooted), dane_ta(&rooted)]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Valid,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=ok", "!dane.rollover"],
            },
            DaneCase {
                name: "2 1 1 anchor sent, leaf names the MX host",
                mx: found(&rooted, vec![dane_ta(&rooted)]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Valid,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=ok"],
            },
            DaneCase {
                name: "2 1 1, leaf names the recipient domain",
                mx: found(&for_domain, vec![dane_ta(&for_domain)]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Valid,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=ok"],
            },
            DaneCase {
                name: "2 1 1, leaf names neither",
                mx: found(&other_name, vec![dane_ta(&other_name)]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Mismatch,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=fail"],
            },
            DaneCase {
                name: "3 1 1 for another key",
                mx: found(&leaf, vec![dane_ee_other()]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Mismatch,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=fail", "!dane.rollover"],
            },
            DaneCase {
                name: "stale 3 1 2 beside a correct 3 1 1 (digest agility)",
                mx: found(
                    &leaf,
                    vec![dane_ee(&leaf), tlsa_record(3, 1, 2, vec![0xcd; 64])],
                ),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Mismatch,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=fail"],
            },
            DaneCase {
                name: "3 1 2 matches beside a stale 3 1 1",
                mx: found(&leaf, vec![dane_ee_other(), dane_ee_sha512(&leaf)]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Valid,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=ok"],
            },
            DaneCase {
                name: "only PKIX-EE records: unusable",
                mx: found(&leaf, vec![pkix_ee(&leaf)]),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Unusable,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=warn"],
            },
            DaneCase {
                name: "no TLS session to match",
                mx: signed(
                    mx(10, MX1, vec![no_starttls()]),
                    Answer::Records(vec![dane_ee(&leaf)]),
                ),
                status: Some(TlsaStatus::Found),
                dane: DaneResult::Mismatch,
                tlsa_finding: "dane.tlsa=ok",
                findings: &["dane.valid=fail"],
            },
        ];
        let mut failures = Vec::new();
        for c in &cases {
            let out = grade_one(&c.mx);
            let status = out.tlsa.as_ref().map(|t| t.status);
            let row = &out.addresses[0];
            if status != c.status || row.dane != c.dane {
                failures.push(format!(
                    "{}: tlsa {status:?} dane {:?}, expected {:?} {:?}",
                    c.name, row.dane, c.status, c.dane
                ));
            }
            if let Err(e) = check_findings(&out.findings, &[c.tlsa_finding]) {
                failures.push(format!("{} (MX): {e}", c.name));
            }
            if let Err(e) = check_findings(&row.findings, c.findings) {
                failures.push(format!("{} (address): {e}", c.name));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// `mta-sts.mx` and `mta-sts.certificate` by mode: ok when they pass,
    /// info / warn / fail under `none` / `testing` / `enforce` when not.
    #[test]
    fn mta_sts_mx_and_certificate_by_mode() {
        struct Case {
            name: &'static str,
            mode: &'static str,
            patterns: &'static [&'static str],
            probe: fn() -> crate::prober::Probe,
            matched: bool,
            mx_finding: &'static str,
            address: &'static [&'static str],
        }
        let cases = [
            Case {
                name: "listed, valid certificate",
                mode: "enforce",
                patterns: &[MX1],
                probe: || tls(valid(MX1)),
                matched: true,
                mx_finding: "mta-sts.mx=ok",
                address: &["mta-sts.certificate=ok"],
            },
            Case {
                name: "matched by a wildcard",
                mode: "enforce",
                patterns: &["*.example.test"],
                probe: || tls(valid(MX1)),
                matched: true,
                mx_finding: "mta-sts.mx=ok",
                address: &["mta-sts.certificate=ok"],
            },
            Case {
                name: "a wildcard matches one label only",
                mode: "enforce",
                patterns: &["*.test"],
                probe: || tls(valid(MX1)),
                matched: false,
                mx_finding: "mta-sts.mx=fail",
                address: &["mta-sts.certificate=ok"],
            },
            Case {
                name: "not listed, enforce",
                mode: "enforce",
                patterns: &[MX2],
                probe: || tls(untrusted(MX1)),
                matched: false,
                mx_finding: "mta-sts.mx=fail",
                address: &["mta-sts.certificate=fail"],
            },
            Case {
                name: "not listed, testing",
                mode: "testing",
                patterns: &[MX2],
                probe: || tls(untrusted(MX1)),
                matched: false,
                mx_finding: "mta-sts.mx=warn",
                address: &["mta-sts.certificate=warn"],
            },
            Case {
                name: "not listed, none",
                mode: "none",
                patterns: &[MX2],
                probe: || tls(valid("mail.other.test")),
                matched: false,
                mx_finding: "mta-sts.mx=info",
                address: &["mta-sts.certificate=info"],
            },
            Case {
                name: "no TLS: no certificate check",
                mode: "enforce",
                patterns: &[MX1],
                probe: no_starttls,
                matched: true,
                mx_finding: "mta-sts.mx=ok",
                address: &["!mta-sts.certificate"],
            },
        ];
        let mut failures = Vec::new();
        for c in &cases {
            let policy = parse_policy(&policy(c.mode, c.patterns)).expect("policy");
            let ev = mx(10, MX1, vec![(c.probe)()]);
            let (out, _) = inspect_mx(DOMAIN, &ev, Some(&policy), &settings());
            if out.mta_sts_match != Some(c.matched) {
                failures.push(format!(
                    "{}: matched {:?}, expected {}",
                    c.name, out.mta_sts_match, c.matched
                ));
            }
            if let Err(e) = check_findings(&out.findings, &[c.mx_finding]) {
                failures.push(format!("{} (MX): {e}", c.name));
            }
            if let Err(e) = check_findings(&out.addresses[0].findings, c.address) {
                failures.push(format!("{} (address): {e}", c.name));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }
}
