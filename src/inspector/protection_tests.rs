//! The findings of downgrade protection (`docs/grading.md`, "Findings
//! of downgrade protection", and the DANE, MTA-STS and TLS-RPT
//! sections): each outcome with its section state and severity.

use super::assessment::DaneResult;
use super::mx::inspect_mx;
use super::protection::*;
use super::testkit::*;
use super::{MxAssessment, MxEvidence};
use crate::protection::dane::Tlsa;
use crate::protection::mta_sts::{FetchProblem, Mode, parse_policy};
use crate::protection::{RecordState, TlsaStatus};
use crate::resolver::{Answer, DnsFailure, Dnssec};

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
    let found = |chain: &Chain, records: Vec<Tlsa>| signed(host(chain), Answer::Records(records));
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

/// A dual-certificate server (ECDSA main, RSA other) under signed TLSA
/// records: the address's DANE result and grade follow the ECDSA
/// certificate (the one mainstream senders negotiate); the RSA one gets
/// its own DANE result and findings, `warn` at most.
#[test]
fn dual_certificate_dane_follows_the_main_certificate_and_warns_for_the_other() {
    use super::assessment::AddressGrade;
    use crate::prober::tls::KeyFamily;
    let ec = valid(MX1);
    let rsa = rsa2048(MX1);
    let probe = |records: Vec<Tlsa>| {
        signed(
            mx(10, MX1, vec![dual(ec.clone(), rsa.clone())]),
            Answer::Records(records),
        )
    };
    // TLSA for both keys: both match, nothing to warn about.
    let both = probe(vec![dane_ee(&ec), dane_ee(&rsa)]);
    let out = grade_one(&both);
    let row = &out.addresses[0];
    assert_eq!(
        (row.dane, row.grade),
        (DaneResult::Valid, AddressGrade::Authenticated)
    );
    assert_eq!(row.other_certificates.len(), 1);
    assert_eq!(row.other_certificates[0].family, KeyFamily::Rsa);
    assert_eq!(row.other_certificates[0].dane, DaneResult::Valid);
    assert_eq!(row.other_certificates[0].certificate.key.kind, "RSA");
    check_findings(
        &row.findings,
        &[
            "dane.valid=ok",
            "dane.other-certificate=ok",
            "cert.other-certificate=ok",
        ],
    )
    .expect("both match");

    // TLSA for the ECDSA key only: the address stays DANE-valid and
    // authenticated (what Postfix, offering both, gets); the RSA
    // certificate's mismatch is a warning that names both key types.
    let ec_only = probe(vec![dane_ee(&ec)]);
    let out = grade_one(&ec_only);
    let row = &out.addresses[0];
    assert_eq!(
        (row.dane, row.grade),
        (DaneResult::Valid, AddressGrade::Authenticated)
    );
    assert_eq!(row.other_certificates[0].dane, DaneResult::Mismatch);
    check_findings(
        &row.findings,
        &[
            "dane.valid=ok",
            "dane.other-certificate=warn",
            "cert.other-certificate=ok",
        ],
    )
    .expect("ECDSA only");
    let warning = row
        .findings
        .iter()
        .find(|f| f.id == crate::vocabulary::FindingId::DaneOtherCertificate)
        .expect("dane.other-certificate");
    assert!(
        warning
            .message
            .starts_with("TLSA records match the ECDSA certificate only: a DANE sender that negotiates RSA defers"),
        "{}",
        warning.message
    );
    // The domain's verdict is that of the same server without its RSA
    // certificate.
    let alone = signed(
        mx(10, MX1, vec![tls(ec.clone())]),
        Answer::Records(vec![dane_ee(&ec)]),
    );
    let (dual_domain, single_domain) = (domain(vec![ec_only.clone()]), domain(vec![alone]));
    let (with_rsa, without) = (inspect(&dual_domain), inspect(&single_domain));
    assert_eq!(with_rsa.verdict, without.verdict);
    assert_eq!(with_rsa.verdict_reason, without.verdict_reason);

    // TLSA for the RSA key only: the main certificate fails DANE (the
    // address's result), and the RSA one is said to match.
    let rsa_only = probe(vec![dane_ee(&rsa)]);
    let out = grade_one(&rsa_only);
    let row = &out.addresses[0];
    assert_eq!(row.dane, DaneResult::Mismatch);
    assert_eq!(row.other_certificates[0].dane, DaneResult::Valid);
    check_findings(
        &row.findings,
        &["dane.valid=fail", "dane.other-certificate=ok"],
    )
    .expect("RSA only");
}

/// The other certificate's own chain, name and expiry, toward verifying
/// and MTA-STS senders: a warning naming the key type, the address's
/// grade untouched; without DNSSEC no DANE finding for it at all.
#[test]
fn other_certificate_failures_warn_without_changing_the_grade() {
    use super::assessment::AddressGrade;
    let ec = valid(MX1);
    let cases: [(&str, Chain, &str); 3] = [
        (
            "wrong name",
            rsa2048("mail.other.test"),
            "not mx1.example.test",
        ),
        ("untrusted", untrusted(MX1), "not a trusted root"),
        ("expiring", expiring(MX1, 5), "expires in 5 days"),
    ];
    for (name, other, says) in cases {
        let evidence = mx(10, MX1, vec![dual(ec.clone(), other)]);
        let out = grade_one(&evidence);
        let row = &out.addresses[0];
        assert_eq!(row.grade, AddressGrade::Authenticated, "{name}");
        assert_eq!(row.dane, DaneResult::Insecure, "{name}");
        assert_eq!(
            row.other_certificates[0].dane,
            DaneResult::Insecure,
            "{name}"
        );
        check_findings(
            &row.findings,
            &[
                "cert.other-certificate=warn",
                "cert.chain.valid=ok",
                "!dane.other-certificate",
            ],
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let f = row
            .findings
            .iter()
            .find(|f| f.id == crate::vocabulary::FindingId::CertOtherCertificate)
            .expect("cert.other-certificate");
        assert!(f.message.contains(says), "{name}: {}", f.message);
    }
}

/// A server with one key type fails the second hello: no other
/// certificate, no finding about one, and no error of the address.
#[test]
fn a_single_key_type_server_has_no_other_certificate() {
    use super::assessment::AddressGrade;
    let ec = valid(MX1);
    let evidence = signed(
        mx(10, MX1, vec![single_key_type(ec.clone())]),
        Answer::Records(vec![dane_ee(&ec)]),
    );
    let out = grade_one(&evidence);
    let row = &out.addresses[0];
    assert!(row.other_certificates.is_empty());
    assert!(row.error.is_none());
    assert_eq!(
        (row.dane, row.grade),
        (DaneResult::Valid, AddressGrade::Authenticated)
    );
    check_findings(
        &row.findings,
        &[
            "!cert.other-certificate",
            "!dane.other-certificate",
            "tls.handshake=ok",
        ],
    )
    .expect("single key type");
}
