//! The diff's rules on hand-built report rows: one scenario per change id
//! (each asserting the exact set of ids it produces), the rule and the
//! order of the run, and the readers of both report formats.

use std::io::Cursor;

use super::*;
use crate::report::read::fixture;
use crate::report::{
    DaneResult, Delivery, DeliveryResult, DomainReport, ErrorKind, ErrorPhase, Failure, Finding,
    Mode, MtaStsReport, Outcome, RecordState, StsPolicyReport, TlsVersion,
};
use crate::vocabulary::{FindingId, NcscLevel};

const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HASH_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn outcome(result: DeliveryResult) -> Outcome {
    Outcome {
        result,
        reason: String::new(),
    }
}

/// `fixture::report` (two MX hosts, DANE-valid through `3 1 1` records
/// for the certificate's key) with MTA-STS enforce, delivery, a
/// configuration level, and TLSA records that pin the fixture key.
fn base() -> DomainReport {
    let mut d = fixture::report();
    let key = fixture::certificate("x", 1).spki_sha256;
    for host in &mut d.mx {
        if let Some(t) = &mut host.tlsa {
            t.records = vec![format!("3 1 1 {key}")];
        }
    }
    d.mta_sts = Some(MtaStsReport {
        record: RecordState::Valid,
        id: Some("20261201".into()),
        policy: Some(StsPolicyReport {
            url: "https://mta-sts.r.example/.well-known/mta-sts.txt".into(),
            mode: Mode::Enforce,
            mx: vec!["mx1.r.example".into(), "mx2.r.example".into()],
            max_age: 604800,
            text_sha256: Some(HASH_A.into()),
        }),
        fetch_error: None,
    });
    d.delivery = Some(Delivery {
        opportunistic: outcome(DeliveryResult::Secure),
        mta_sts: outcome(DeliveryResult::Secure),
        dane: outcome(DeliveryResult::Secure),
    });
    d.configuration = Some(crate::report::Configuration {
        level: NcscLevel::Sufficient,
        items: Vec::new(),
        lower_bound: false,
    });
    d
}

fn ids(old: &DomainReport, new: &DomainReport) -> Vec<ChangeId> {
    let mut ids: Vec<ChangeId> = compare(&old.into(), &new.into(), 30)
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The first address of the first MX host.
fn first(d: &mut DomainReport) -> &mut crate::report::AddressReport {
    &mut d.mx[0].addresses[0]
}

fn new_cert(d: &mut DomainReport, key: &str) {
    let c = first(d).certificate.as_mut().expect("certificate");
    c.sha256 = "22".repeat(32);
    c.spki_sha256 = key.to_string();
    c.not_after = "2031-01-01T00:00:00Z".into();
}

/// An RSA certificate beside the fixture's, with its DANE result.
fn other_rsa(dane: DaneResult) -> crate::report::OtherCertificateReport {
    let mut certificate = fixture::certificate("mx1.r.example", 300);
    certificate.sha256 = "44".repeat(32);
    crate::report::OtherCertificateReport {
        key_type: crate::report::KeyType::Rsa,
        certificate,
        dane,
    }
}

/// A change scenario: the id it is for, and the new row made from `base()`.
type Scenario = (
    ChangeId,
    fn() -> (DomainReport, DomainReport),
    &'static [ChangeId],
);

fn scenarios() -> Vec<Scenario> {
    use ChangeId::*;
    fn with(f: fn(&mut DomainReport)) -> (DomainReport, DomainReport) {
        let old = base();
        let mut new = base();
        f(&mut new);
        (old, new)
    }
    fn reversed(f: fn(&mut DomainReport)) -> (DomainReport, DomainReport) {
        let (old, new) = with(f);
        (new, old)
    }
    vec![
        (
            NotCompared,
            || {
                with(|d| {
                    d.verdict = Verdict::Error;
                    d.error = Some(Failure::new(
                        ErrorPhase::Run,
                        ErrorKind::Deadline,
                        "stopped",
                    ));
                })
            },
            &[NotCompared],
        ),
        (
            VerdictDown,
            || with(|d| d.verdict = Verdict::Secure),
            &[VerdictDown],
        ),
        (
            VerdictUp,
            || reversed(|d| d.verdict = Verdict::Partial),
            &[VerdictUp],
        ),
        (
            VerdictChanged,
            || with(|d| d.verdict = Verdict::NoMail),
            &[VerdictChanged],
        ),
        (
            ConfigurationDown,
            || {
                with(|d| {
                    if let Some(c) = &mut d.configuration {
                        c.level = NcscLevel::PhaseOut
                    }
                })
            },
            &[ConfigurationDown],
        ),
        (
            ConfigurationUp,
            || {
                with(|d| {
                    if let Some(c) = &mut d.configuration {
                        c.level = NcscLevel::Good
                    }
                })
            },
            &[ConfigurationUp],
        ),
        (
            DnssecChanged,
            || with(|d| d.dnssec = crate::report::Dnssec::Insecure),
            &[DnssecChanged],
        ),
        (
            MxAdded,
            || {
                with(|d| {
                    let mut extra = d.mx[1].clone();
                    extra.host = "mx3.r.example".into();
                    d.mx.push(extra);
                })
            },
            &[MxAdded],
        ),
        (
            MxRemoved,
            || {
                with(|d| {
                    d.mx.pop();
                })
            },
            &[MxRemoved],
        ),
        (
            MxPreferenceChanged,
            || with(|d| d.mx[1].preference = 20),
            &[MxPreferenceChanged],
        ),
        (
            AddressAdded,
            || with(|d| d.mx[1].addresses.push(fixture::address("2001:db8::3"))),
            &[AddressAdded],
        ),
        (
            AddressRemoved,
            || {
                with(|d| {
                    d.mx[1].addresses.pop();
                })
            },
            &[AddressRemoved],
        ),
        (
            StarttlsLost,
            || {
                with(|d| {
                    let a = first(d);
                    a.starttls = false;
                    a.tls = None;
                    a.certificate = None;
                })
            },
            &[StarttlsLost],
        ),
        (
            StarttlsGained,
            || {
                reversed(|d| {
                    let a = first(d);
                    a.starttls = false;
                    a.tls = None;
                    a.certificate = None;
                })
            },
            &[StarttlsGained],
        ),
        (
            AddressFailing,
            || {
                with(|d| {
                    let a = first(d);
                    a.starttls = false;
                    a.tls = None;
                    a.certificate = None;
                    a.error = Some(Failure::new(
                        ErrorPhase::Connect,
                        ErrorKind::Timeout,
                        "timed out",
                    ));
                })
            },
            &[AddressFailing],
        ),
        (
            AddressRecovered,
            || {
                reversed(|d| {
                    let a = first(d);
                    a.starttls = false;
                    a.tls = None;
                    a.certificate = None;
                    a.error = Some(Failure::new(
                        ErrorPhase::Connect,
                        ErrorKind::Timeout,
                        "timed out",
                    ));
                })
            },
            &[AddressRecovered, StarttlsGained],
        ),
        (
            TlsVersionChanged,
            || {
                with(|d| {
                    if let Some(t) = &mut first(d).tls {
                        t.version = TlsVersion::Tls12
                    }
                })
            },
            &[TlsVersionChanged],
        ),
        (
            CipherChanged,
            || {
                with(|d| {
                    if let Some(t) = &mut first(d).tls {
                        t.cipher = "TLS13_AES_128_GCM_SHA256".into()
                    }
                })
            },
            &[CipherChanged],
        ),
        // Same key, new certificate: the `3 1 1` record still matches.
        (
            CertificateRotated,
            || {
                with(|d| {
                    let key = fixture::certificate("x", 1).spki_sha256;
                    new_cert(d, &key);
                })
            },
            &[CertificateRotated],
        ),
        (
            ChainNewlyFailing,
            || {
                with(|d| {
                    if let Some(c) = &mut first(d).certificate {
                        c.chain_valid = false
                    }
                })
            },
            &[ChainNewlyFailing],
        ),
        (
            ChainFixed,
            || {
                reversed(|d| {
                    if let Some(c) = &mut first(d).certificate {
                        c.chain_valid = false
                    }
                })
            },
            &[ChainFixed],
        ),
        (
            NameNewlyFailing,
            || {
                with(|d| {
                    if let Some(c) = &mut first(d).certificate {
                        c.hostname_match = false
                    }
                })
            },
            &[NameNewlyFailing],
        ),
        (
            NameFixed,
            || {
                reversed(|d| {
                    if let Some(c) = &mut first(d).certificate {
                        c.hostname_match = false
                    }
                })
            },
            &[NameFixed],
        ),
        (
            DaneChanged,
            || with(|d| first(d).dane = DaneResult::LookupFailed),
            &[DaneChanged],
        ),
        (
            TlsaChanged,
            || {
                with(|d| {
                    if let Some(t) = &mut d.mx[0].tlsa {
                        t.records.push(format!("3 1 1 {HASH_B}"))
                    }
                })
            },
            &[TlsaChanged],
        ),
        // New key, same records, no match: the rollover broke DANE.
        (
            DaneRolloverBroke,
            || {
                with(|d| {
                    new_cert(d, HASH_B);
                    first(d).dane = DaneResult::Mismatch;
                })
            },
            &[CertificateRotated, DaneChanged, DaneRolloverBroke],
        ),
        // New key, same records, DANE still valid (through a `2 1 1`
        // record): the `3 1 1` record of the old key is stale.
        (
            TlsaStale,
            || {
                let mut old = base();
                if let Some(t) = &mut old.mx[0].tlsa {
                    t.records.push(format!("2 1 1 {HASH_A}"))
                }
                let mut new = old.clone();
                new_cert(&mut new, HASH_B);
                (old, new)
            },
            &[CertificateRotated, TlsaStale],
        ),
        // The RSA certificate of a dual-certificate server appears.
        (
            OtherCertificateChanged,
            || with(|d| first(d).other_certificates = vec![other_rsa(DaneResult::Valid)]),
            &[OtherCertificateChanged],
        ),
        // Only the RSA certificate rolls over, the records stay: it no
        // longer matches, while the main certificate (and the verdict,
        // DANE result and delivery) do not change.
        (
            OtherCertificateTlsaStale,
            || {
                let mut old = base();
                first(&mut old).other_certificates = vec![other_rsa(DaneResult::Valid)];
                let mut new = old.clone();
                let o = &mut first(&mut new).other_certificates[0];
                o.certificate.sha256 = "33".repeat(32);
                o.certificate.spki_sha256 = HASH_B.into();
                o.dane = DaneResult::Mismatch;
                (old, new)
            },
            &[OtherCertificateChanged, OtherCertificateTlsaStale],
        ),
        (
            CertificateExpiring,
            || {
                let mut old = base();
                if let Some(c) = &mut first(&mut old).certificate {
                    c.days_left = 31
                }
                let mut new = old.clone();
                if let Some(c) = &mut first(&mut new).certificate {
                    c.days_left = 29
                }
                (old, new)
            },
            &[CertificateExpiring],
        ),
        (
            MtaStsRecordChanged,
            || {
                with(|d| {
                    if let Some(m) = &mut d.mta_sts {
                        m.record = RecordState::Multiple;
                        m.id = None;
                        m.policy = None;
                    }
                })
            },
            &[MtaStsRecordChanged],
        ),
        // A new id and new text: the normal way to publish a policy.
        (
            MtaStsIdChanged,
            || {
                with(|d| {
                    if let Some(m) = &mut d.mta_sts {
                        m.id = Some("20261202".into());
                        if let Some(p) = &mut m.policy {
                            p.text_sha256 = Some(HASH_B.into())
                        }
                    }
                })
            },
            &[MtaStsIdChanged],
        ),
        (
            MtaStsModeChanged,
            || {
                with(|d| {
                    if let Some(p) = d.mta_sts.as_mut().and_then(|m| m.policy.as_mut()) {
                        p.mode = Mode::Testing
                    }
                })
            },
            &[MtaStsModeChanged],
        ),
        (
            MtaStsMxChanged,
            || {
                with(|d| {
                    if let Some(p) = d.mta_sts.as_mut().and_then(|m| m.policy.as_mut()) {
                        p.mx.pop();
                    }
                })
            },
            &[MtaStsMxChanged],
        ),
        (
            MtaStsMaxAgeChanged,
            || {
                with(|d| {
                    if let Some(p) = d.mta_sts.as_mut().and_then(|m| m.policy.as_mut()) {
                        p.max_age = 86400
                    }
                })
            },
            &[MtaStsMaxAgeChanged],
        ),
        (
            MtaStsPolicyChangedSameId,
            || {
                with(|d| {
                    if let Some(p) = d.mta_sts.as_mut().and_then(|m| m.policy.as_mut()) {
                        p.mx.push("mx9.r.example".into());
                        p.text_sha256 = Some(HASH_B.into());
                    }
                })
            },
            &[MtaStsMxChanged, MtaStsPolicyChangedSameId],
        ),
        (
            TlsRptChanged,
            || {
                with(|d| {
                    if let Some(t) = &mut d.tls_rpt {
                        t.rua = vec!["mailto:other@r.example".into()]
                    }
                })
            },
            &[TlsRptChanged],
        ),
        (
            DeliveryChanged,
            || {
                with(|d| {
                    if let Some(x) = &mut d.delivery {
                        x.opportunistic = outcome(DeliveryResult::Cleartext)
                    }
                })
            },
            &[DeliveryChanged],
        ),
        (
            DaneBroken,
            || {
                with(|d| {
                    if let Some(x) = &mut d.delivery {
                        x.dane = outcome(DeliveryResult::Deferred)
                    }
                })
            },
            &[DaneBroken],
        ),
        (
            MtaStsBroken,
            || {
                with(|d| {
                    if let Some(x) = &mut d.delivery {
                        x.mta_sts = outcome(DeliveryResult::Deferred)
                    }
                })
            },
            &[MtaStsBroken],
        ),
        (
            FailFindingNew,
            || {
                with(|d| {
                    first(d)
                        .findings
                        .push(Finding::fail(FindingId::CertExpiry, "expired"));
                })
            },
            &[FailFindingNew],
        ),
        (
            FailFindingResolved,
            || {
                reversed(|d| {
                    d.findings
                        .push(Finding::fail(FindingId::MtaStsPolicy, "gone"));
                })
            },
            &[FailFindingResolved],
        ),
    ]
}

#[test]
fn every_change_id_has_a_scenario_that_produces_exactly_its_changes() {
    let scenarios = scenarios();
    for id in ChangeId::all() {
        if matches!(id, ChangeId::DomainAdded | ChangeId::DomainRemoved) {
            continue; // a run-level change: `added_and_removed_domains`
        }
        assert!(
            scenarios.iter().any(|(s, _, _)| s == id),
            "no scenario for {}",
            id.as_str()
        );
    }
    for (id, make, expected) in scenarios {
        let (old, new) = make();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(ids(&old, &new), expected, "scenario {}", id.as_str());
    }
}

#[test]
fn the_same_row_has_no_changes() {
    assert_eq!(ids(&base(), &base()), Vec::<ChangeId>::new());
}

#[test]
fn changes_say_where_and_which_way() {
    let old = base();
    let mut new = base();
    first(&mut new).starttls = false;
    first(&mut new).tls = None;
    first(&mut new).certificate = None;
    let changes = compare(&(&old).into(), &(&new).into(), 30);
    assert_eq!(changes.len(), 1);
    let c = &changes[0];
    assert_eq!(c.mx.as_deref(), Some("mx1.r.example"));
    assert_eq!(c.address, Some("192.0.2.1".parse().expect("IP")));
    assert_eq!(c.direction, Direction::Worse);
    assert!(!c.problem);
    assert_eq!(
        c.message,
        "mx1.r.example [192.0.2.1] no longer offers STARTTLS: mail to it travels in clear text"
    );
}

/// Better and worse follow the protocol version, not its name, and the
/// change says the versions as the report spells them. (No two names of
/// today sort unlike their versions, so this pins the order the enum
/// declares: a variant out of place, or a direction turned round, fails.)
#[test]
fn a_tls_version_change_is_better_or_worse_by_the_version() {
    use TlsVersion::*;
    let direction = |old: TlsVersion, new: TlsVersion| {
        let (mut o, mut n) = (base(), base());
        for (d, v) in [(&mut o, old), (&mut n, new)] {
            if let Some(t) = &mut first(d).tls {
                t.version = v;
            }
        }
        let changes = compare(&(&o).into(), &(&n).into(), 30);
        let c = changes
            .iter()
            .find(|c| c.id == ChangeId::TlsVersionChanged)
            .expect("a version change");
        assert_eq!(
            (c.from.as_deref(), c.to.as_deref()),
            (Some(old.as_str()), Some(new.as_str()))
        );
        c.direction
    };
    // Oldest first: each is better than every one before it.
    let order = [Ssl3, Tls10, Tls11, Tls12, Tls13];
    for (i, &older) in order.iter().enumerate() {
        for &newer in &order[i + 1..] {
            assert_eq!(
                direction(older, newer),
                Direction::Better,
                "{older} → {newer}"
            );
            assert_eq!(
                direction(newer, older),
                Direction::Worse,
                "{newer} → {older}"
            );
        }
    }
}

#[test]
fn a_certificate_already_below_the_warning_is_not_flagged_again() {
    let mut old = base();
    if let Some(c) = &mut first(&mut old).certificate {
        c.days_left = 20;
    }
    let mut new = old.clone();
    if let Some(c) = &mut first(&mut new).certificate {
        c.days_left = 19;
    }
    assert_eq!(ids(&old, &new), Vec::<ChangeId>::new());
}

#[test]
fn a_policy_hash_missing_on_one_side_is_not_a_change() {
    // Reports from before the hash was kept.
    let mut old = base();
    if let Some(p) = old.mta_sts.as_mut().and_then(|m| m.policy.as_mut()) {
        p.text_sha256 = None;
    }
    assert_eq!(ids(&old, &base()), Vec::<ChangeId>::new());
}

fn snapshot(rows: &[DomainReport], file: &str) -> Snapshot {
    let text: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).expect("row") + "\n")
        .collect();
    Snapshot::read(Cursor::new(text), file).expect("read")
}

fn named(name: &str, f: impl FnOnce(&mut DomainReport)) -> DomainReport {
    let mut d = base();
    d.domain = name.into();
    f(&mut d);
    d
}

#[test]
fn added_and_removed_domains_and_the_rule_decide_the_exit() {
    let old = snapshot(
        &[
            named("a.example", |_| {}),
            named("gone.example", |_| {}),
            named("same.example", |_| {}),
        ],
        "old.ndjson",
    );
    let new = snapshot(
        &[
            named("a.example", |d| d.verdict = Verdict::Plaintext),
            named("new.example", |_| {}),
            named("same.example", |_| {}),
        ],
        "new.ndjson",
    );
    let run = diff(&old, &new, &FailOn::default_rule(), 30, "now".into());
    let order: Vec<(&str, DomainStatus, bool)> = run
        .domains
        .iter()
        .map(|d| (d.domain.as_str(), d.status, d.regression))
        .collect();
    // The regression first; then the others by verdict and name.
    assert_eq!(
        order,
        [
            ("a.example", DomainStatus::Changed, true),
            ("gone.example", DomainStatus::Removed, false),
            ("new.example", DomainStatus::Added, false),
        ]
    );
    assert_eq!(run.summary.compared, 2);
    assert_eq!(run.summary.unchanged, 1);
    assert_eq!(run.summary.changed, 1);
    assert_eq!((run.summary.added, run.summary.removed), (1, 1));
    assert_eq!(run.summary.regressions, 1);
    assert!(run.has_regression());
    assert_eq!(run.domains[2].changes[0].id, ChangeId::DomainAdded);
    assert_eq!(run.domains[1].changes[0].id, ChangeId::DomainRemoved);

    let lenient = FailOn::parse(&["none".into()]).expect("none");
    assert!(!diff(&old, &new, &lenient, 30, "now".into()).has_regression());
    let removal = FailOn::parse(&["domain-removed".into()]).expect("id");
    let run = diff(&old, &new, &removal, 30, "now".into());
    assert_eq!(run.summary.regressions, 1);
    assert_eq!(run.domains[0].domain, "gone.example");
}

#[test]
fn fail_on_words() {
    let all = |w: &[&str]| FailOn::parse(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(all(&["default"]), Ok(FailOn::default_rule()));
    assert_eq!(all(&["none"]), Ok(FailOn(Default::default())));
    let problems = all(&["problems"]).expect("problems");
    assert_eq!(problems.0.len(), 5);
    assert!(problems.0.iter().all(|id| id.is_problem()));
    let err = all(&["verdict-down", "nonsense"]).expect_err("unknown");
    assert!(
        err.starts_with(
            "unknown change id `nonsense`; use default, problems, none or: domain-added,"
        ),
        "{err}"
    );
}

#[test]
fn change_ids_are_spelled_as_in_json() {
    for id in ChangeId::all() {
        assert_eq!(
            serde_json::to_value(id).expect("id"),
            serde_json::Value::String(id.as_str().to_string())
        );
    }
}

#[test]
fn a_later_row_for_the_same_domain_wins() {
    let s = snapshot(
        &[
            named("a.example", |d| d.verdict = Verdict::Error),
            named("a.example", |_| {}),
        ],
        "resumed.ndjson",
    );
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.views["a.example"].verdict, Verdict::Protected);
}

fn whole_json(rows: Vec<DomainReport>, pretty: bool) -> String {
    let report = crate::report::Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool: Default::default(),
        generated_at: "2026-12-01T02:00:00Z".into(),
        settings: crate::report::RunSettings {
            service: crate::vocabulary::Service::Smtp,
            port: 25,
            fail_below: Verdict::Encrypted,
            fail_level: None,
            expiry_warn_days: 21,
            extra_trust_anchors: 0,
            resolvers: vec!["system".into()],
            dnssec: crate::options::DnssecMode::Validate,
            scan: crate::vocabulary::ScanMode::Light,
            allow_local_addresses: false,
            max_mx_hosts: 10,
            max_addresses_per_host: 5,
            address_budget_secs: 60.0,
            merged_from: Vec::new(),
            input_differences: Vec::new(),
        },
        domains: rows,
        summary: Default::default(),
    };
    if pretty {
        serde_json::to_string_pretty(&report).expect("json")
    } else {
        serde_json::to_string(&report).expect("json")
    }
}

#[test]
fn a_whole_json_report_reads_as_its_rows_with_its_header() {
    for pretty in [true, false] {
        let text = whole_json(
            vec![named("a.example", |_| {}), named("b.example", |_| {})],
            pretty,
        );
        let s = Snapshot::read(Cursor::new(text), "r.json").expect("read");
        assert_eq!(s.header.shape, crate::report::read::Shape::Json);
        assert_eq!(
            s.header.generated_at.as_deref(),
            Some("2026-12-01T02:00:00Z")
        );
        assert_eq!(s.header.expiry_warn_days, Some(21));
        assert_eq!(
            s.views.keys().collect::<Vec<_>>(),
            ["a.example", "b.example"]
        );
    }
}

#[test]
fn a_bad_row_in_a_json_report_names_file_line_and_field() {
    let text = whole_json(
        vec![named("a.example", |_| {}), named("b.example", |_| {})],
        true,
    );
    // Break the second row's verdict.
    let at = text.rfind("\"verdict\": \"protected\"").expect("verdict");
    let broken = format!(
        "{}\"verdict\": \"splendid\"{}",
        &text[..at],
        &text[at + 22..]
    );
    let line_of_row = broken[..broken.rfind("\"domain\": \"b.example\"").expect("row")]
        .matches('\n')
        .count(); // the `{` is on the line before `"domain"`
    let err = Snapshot::read(Cursor::new(broken), "r.json").expect_err("bad row");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("r.json:{line_of_row}: not a line of an NDJSON report: not a report row: domains[1]: verdict: unknown variant `splendid`")),
        "{message}"
    );
}

#[test]
fn a_json_report_of_a_newer_schema_is_refused() {
    let text = whole_json(vec![], true).replace("\"schema_version\": 1", "\"schema_version\": 9");
    let err = Snapshot::read(Cursor::new(text), "r.json").expect_err("newer");
    assert!(
        err.to_string().contains("schema_version 9 is newer"),
        "{err}"
    );
}

#[test]
fn a_json_value_longer_than_a_row_may_be_is_an_error_not_memory() {
    // A `domains` element of 5 MiB: refused after at most one row's bytes.
    let big = format!(
        "{{\"schema_version\":1,\"domains\":[{{\"domain\":\"{}\"}}]}}",
        "x".repeat(5 * 1024 * 1024)
    );
    let err = Snapshot::read(Cursor::new(big), "big.json").expect_err("too long");
    assert!(matches!(err, ReadError::ValueTooLong { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("big.json:1: a value longer than 4 MiB"),
        "{err}"
    );
}

#[test]
fn truncated_json_is_an_error_naming_the_file() {
    let text = whole_json(vec![named("a.example", |_| {})], true);
    let cut = &text[..text.len() / 2];
    let err = Snapshot::read(Cursor::new(cut.to_string()), "cut.json").expect_err("truncated");
    assert!(err.to_string().starts_with("cut.json:"), "{err}");
}

#[test]
fn an_empty_file_is_an_empty_report() {
    let s = Snapshot::read(Cursor::new(""), "empty.ndjson").expect("empty");
    assert!(s.views.is_empty());
}
