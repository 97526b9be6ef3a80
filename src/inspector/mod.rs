//! Layer 3, assessment: grading. Turns what the resolver and the prober
//! saw (the evidence: [`DomainEvidence`]) into findings, per-sender
//! delivery outcomes and a verdict per domain ([`DomainAssessment`]).
//! No I/O and no report types: `crate::report` builds the JSON rows from
//! the assessment.
//!
//! Pure functions of their inputs (the clock is passed in), so every rule
//! here is unit-testable without a network. One file per thing judged:
//! this one the domain, [`mx`] a host, [`address`] an address,
//! [`certificate`] its certificate, [`scan`] what else it accepts,
//! [`protection`] DANE/MTA-STS/TLS-RPT, [`delivery`] what each sender
//! does, [`verdict`] the rubric. A new check: add its id to
//! `vocabulary::FindingId`, emit it where it belongs, document it in
//! `docs/grading.md` and the schema.

pub mod address;
pub mod assessment;
pub mod certificate;
pub mod configuration;
pub mod delivery;
pub mod mx;
pub mod ocsp;
pub mod protection;
pub mod scan;
pub mod submission;
#[cfg(test)]
mod testkit;
// The tests that grade through `mx::inspect_mx` sit above `mx`, not in
// the files `mx` uses (`tests/layers.rs`: no cycle between the files of a
// folder, test code included).
#[cfg(test)]
mod address_grade_tests;
#[cfg(test)]
mod protection_tests;
pub mod verdict;

use std::net::{IpAddr, SocketAddr};

use time::OffsetDateTime;

pub use assessment::AddressGrade;
pub use assessment::{AddressAssessment, DomainAssessment, MxAssessment, TlsaAssessment};
pub use protection::{MtaStsEvidence, TlsaEvidence};

use crate::domain::DomainName;
use crate::options::TrustStore;
use crate::prober::Probe;
use crate::protection::mta_sts::StsPolicy;
use crate::resolver::{Answer, DnsFailure, Dnssec, HostAddresses, MxRecord, MxResolution};
use crate::vocabulary::{ErrorKind, ErrorPhase, Failure, Finding, FindingId, Verdict};
use assessment::{DeliveryResult, MxSource};

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
    /// One probe per address, in address order (addresses the audit may
    /// not connect to have a probe whose error says so).
    pub probes: Vec<(SocketAddr, Probe)>,
    /// Resolved addresses beyond `--max-addresses-per-host`: not probed.
    pub addresses_left_out: Vec<IpAddr>,
}

/// Everything observed for one domain.
#[derive(Debug, Clone)]
pub struct DomainEvidence {
    pub resolution: MxResolution,
    pub mx: Vec<MxEvidence>,
    /// MX records beyond `--max-mx-hosts` (the highest preferences):
    /// neither looked up nor probed.
    pub mx_left_out: Vec<MxRecord>,
    /// Absent when the domain has no mail host to protect.
    pub mta_sts: Option<MtaStsEvidence>,
    /// TXT records at `_smtp._tls.<domain>`.
    pub tls_rpt: Option<Answer<Vec<String>>>,
}

/// Grades one domain.
pub fn inspect_domain<'e>(
    domain: &DomainName,
    evidence: &'e DomainEvidence,
    settings: &InspectSettings,
) -> DomainAssessment<'e> {
    let mut out = DomainAssessment::new(domain);
    if !mail_hosts(domain, &evidence.resolution, &mut out) {
        return out;
    }
    let name = domain.as_str();
    let mut sts_policy: Option<StsPolicy> = None;
    if let Some(ev) = &evidence.mta_sts {
        let (sts, policy) = protection::mta_sts(name, ev, &mut out.findings);
        out.mta_sts = Some(sts);
        sts_policy = policy;
    }
    if let Some(txt) = &evidence.tls_rpt {
        out.tls_rpt = Some(protection::tls_rpt(name, txt, &mut out.findings));
    }

    if !evidence.mx_left_out.is_empty() {
        out.findings.push(left_out_hosts(&evidence.mx_left_out));
        out.mx_left_out = evidence.mx_left_out.clone();
    }
    let mut grades = Vec::new();
    for mx in &evidence.mx {
        let (mx_out, mx_grades) = mx::inspect_mx(name, mx, sts_policy.as_ref(), settings);
        grades.extend(mx_grades);
        out.mx.push(mx_out);
    }
    out.configuration = configuration::of_domain(&out.mx);
    let delivery = delivery::delivery(&out.mx, out.mta_sts.as_ref());
    for (id, outcome, who) in [
        (FindingId::DeliveryMtaSts, &delivery.mta_sts, "MTA-STS"),
        (FindingId::DeliveryDane, &delivery.dane, "DANE"),
    ] {
        let msg = format!("{who}-enforcing senders: {}", outcome.reason);
        out.findings.push(match outcome.result {
            DeliveryResult::Deferred => Finding::fail(id, msg),
            DeliveryResult::NotApplicable => Finding::info(id, msg),
            DeliveryResult::Secure | DeliveryResult::Cleartext => Finding::ok(id, msg),
        });
    }
    let protected = delivery::fully_protected(&out.mx, out.mta_sts.as_ref());
    let (verdict, mut reason) =
        verdict::with_policies(verdict::domain_verdict(&grades), &delivery, protected);
    // "Could not be reached" would blame the network; say that no address
    // was one a sender can use at all.
    if verdict == Verdict::Error && unusable_only(&out.mx) {
        reason = "no MX address is one a sender can use (unspecified, broadcast, multicast, or loopback/link-local without --allow-local-addresses; a localhost MX): nothing was probed".into();
    }
    out.delivery = Some(delivery);
    out.verdict = verdict;
    out.verdict_reason = reason;
    out
}

/// A domain whose hosts could not be found (NXDOMAIN, a DNS failure, no
/// host): the finding, the error and the reason; `false`, nothing to
/// grade. Shared by the MX lookup and a submission service's.
pub(super) fn cannot_audit(
    out: &mut DomainAssessment<'_>,
    id: FindingId,
    kind: ErrorKind,
    msg: String,
) -> bool {
    out.findings.push(Finding::fail(id, msg.clone()));
    out.error = Some(Failure::new(ErrorPhase::Dns, kind, msg.clone()));
    out.verdict_reason = msg;
    false
}

/// The outcome of the MX lookup: `true` when there are mail hosts to
/// grade; otherwise `out` is complete (null MX, NXDOMAIN, DNS failure, no
/// mail host).
fn mail_hosts(
    domain: &DomainName,
    resolution: &MxResolution,
    out: &mut DomainAssessment<'_>,
) -> bool {
    match resolution {
        MxResolution::NoMail => {
            out.verdict = Verdict::NoMail;
            out.mx_source = MxSource::Null;
            out.verdict_reason = "null MX: the domain accepts no mail (RFC 7505)".into();
            out.findings.push(Finding::info(
                FindingId::MxNull,
                "null MX (0 .): the domain states that it accepts no mail; nothing to probe",
            ));
            false
        }
        MxResolution::DomainNotFound => cannot_audit(
            out,
            FindingId::DnsNxdomain,
            ErrorKind::Nxdomain,
            format!("{domain} does not exist (NXDOMAIN)"),
        ),
        MxResolution::Failed { query, failure } => {
            if *failure == DnsFailure::Bogus {
                out.dnssec = Dnssec::Bogus;
            }
            let mut msg = format!("DNS lookup {query} failed: {failure}");
            if *failure == DnsFailure::Bogus {
                // Also what a resolver that strips DNSSEC records looks like
                // to a validator: say how to tell the two apart.
                msg.push_str(
                    " (if every domain shows this, the resolver may be stripping DNSSEC records: try --dnssec trust-resolver)",
                );
            }
            cannot_audit(
                out,
                dns_failure_finding(failure),
                dns_failure_id(failure),
                msg,
            )
        }
        MxResolution::NoMailHost => cannot_audit(
            out,
            FindingId::MxNone,
            ErrorKind::NoMailHost,
            format!("{domain} has neither MX nor address records: mail to it cannot be delivered"),
        ),
        MxResolution::Hosts {
            implicit,
            null_mx_mixed,
            dnssec,
            ..
        } => {
            out.dnssec = *dnssec;
            if *implicit {
                out.mx_source = MxSource::Implicit;
                out.findings.push(Finding::warn(
                    FindingId::MxImplicit,
                    format!("no MX records: senders deliver to {domain}'s own address (implicit MX, RFC 5321 §5.1); publish an MX record"),
                ));
            } else {
                out.mx_source = MxSource::Mx;
            }
            if *null_mx_mixed {
                out.findings.push(Finding::warn(
                    FindingId::MxNullMixed,
                    "a null MX (0 .) is published beside other MX records; RFC 7505 §3 forbids this and senders ignore it",
                ));
            }
            true
        }
    }
}

/// Every MX host is a `localhost` name or has only addresses the audit
/// would not connect to, and there is at least one such address or host.
fn unusable_only(mx: &[MxAssessment<'_>]) -> bool {
    let localhost = |m: &MxAssessment<'_>| {
        m.error
            .as_ref()
            .is_some_and(|e| e.kind == ErrorKind::Localhost)
    };
    let not_probed = |a: &AddressAssessment<'_>| {
        a.error
            .as_ref()
            .is_some_and(|e| e.kind == ErrorKind::NotProbed)
    };
    !mx.is_empty()
        && mx.iter().all(|m| {
            localhost(m) || (!m.addresses.is_empty() && m.addresses.iter().all(not_probed))
        })
}

/// MX hosts the cap left out, named, so nothing is dropped silently.
fn left_out_hosts(left_out: &[MxRecord]) -> Finding {
    let names: Vec<String> = left_out
        .iter()
        .map(|r| format!("{} ({})", r.exchange.name(), r.preference))
        .collect();
    Finding::info(
        FindingId::MxHostsLeftOut,
        format!(
            "{} MX host(s) beyond --max-mx-hosts not probed (senders reach them only when every host before them fails): {}",
            left_out.len(),
            names.join(", ")
        ),
    )
}

/// A bogus answer is a finding of its own, never "just a DNS error".
pub(crate) fn dns_failure_finding(f: &DnsFailure) -> FindingId {
    match f.cause() {
        DnsFailure::Bogus => FindingId::DnssecBogus,
        _ => FindingId::DnsError,
    }
}

pub(crate) fn dns_failure_id(f: &DnsFailure) -> ErrorKind {
    match f.cause() {
        DnsFailure::Timeout => ErrorKind::DnsTimeout,
        DnsFailure::Bogus => ErrorKind::DnssecBogus,
        DnsFailure::ServFail => ErrorKind::DnsServfail,
        DnsFailure::Refused => ErrorKind::DnsRefused,
        DnsFailure::Truncated(_) => ErrorKind::DnsTruncated,
        DnsFailure::ResponseCode(_) | DnsFailure::Other(_) | DnsFailure::Retried { .. } => {
            ErrorKind::DnsFailure
        }
    }
}

#[cfg(test)]
mod tests {
    //! "Domain verdict" in `docs/grading.md`, through [`inspect_domain`] on
    //! hand-built evidence: the MX-lookup outcomes decided before any
    //! probe, the rubric over address grades (rules 1–7), the policy layer
    //! (rules 8–12, `broken` and `protected`), DNSSEC-bogus answers, and
    //! the domain-level delivery findings.

    use super::testkit::*;
    use super::*;
    use crate::resolver::DnsFailure;

    struct Case {
        name: &'static str,
        evidence: DomainEvidence,
        verdict: Verdict,
        /// A part of the verdict reason.
        reason: &'static str,
        /// Domain-level findings: `id=severity` present, `!id` absent.
        findings: &'static [&'static str],
    }

    fn run(cases: Vec<Case>) {
        let mut failures = Vec::new();
        for c in &cases {
            let out = inspect(&c.evidence);
            if out.verdict != c.verdict || !out.verdict_reason.contains(c.reason) {
                failures.push(format!(
                    "{}: {:?} {:?}, expected {:?} with {:?}",
                    c.name, out.verdict, out.verdict_reason, c.verdict, c.reason
                ));
            }
            if let Err(e) = check_findings(&out.findings, c.findings) {
                failures.push(format!("{}: {e}", c.name));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    fn one(probe: Probe) -> Vec<MxEvidence> {
        vec![testkit::mx(10, MX1, vec![probe])]
    }

    fn dane(
        pref: u8,
        host: &str,
        probes: Vec<Probe>,
        records: Vec<crate::protection::dane::Tlsa>,
    ) -> MxEvidence {
        signed(testkit::mx(pref, host, probes), Answer::Records(records))
    }

    fn failed(failure: DnsFailure) -> MxResolution {
        MxResolution::Failed {
            query: format!("{DOMAIN} MX"),
            failure,
        }
    }

    /// The first table of "Domain verdict": outcomes of the MX lookup
    /// decided before any probe; such domains have no `mta_sts`,
    /// `tls_rpt` or `delivery` section.
    #[test]
    fn mx_lookup_outcomes() {
        let cases: Vec<(&str, MxResolution, Verdict, &str, Option<ErrorKind>)> = vec![
            (
                "null MX",
                MxResolution::NoMail,
                Verdict::NoMail,
                "mx.null=info",
                None,
            ),
            (
                "NXDOMAIN",
                MxResolution::DomainNotFound,
                Verdict::Error,
                "dns.nxdomain=fail",
                Some(ErrorKind::Nxdomain),
            ),
            (
                "MX lookup timed out",
                failed(DnsFailure::Timeout),
                Verdict::Error,
                "dns.error=fail",
                Some(ErrorKind::DnsTimeout),
            ),
            (
                "MX lookup SERVFAIL",
                failed(DnsFailure::ServFail),
                Verdict::Error,
                "dns.error=fail",
                Some(ErrorKind::DnsServfail),
            ),
            (
                "MX lookup REFUSED",
                failed(DnsFailure::Refused),
                Verdict::Error,
                "dns.error=fail",
                Some(ErrorKind::DnsRefused),
            ),
            (
                "MX lookup, other response code",
                failed(DnsFailure::ResponseCode("NOTIMP".into())),
                Verdict::Error,
                "dns.error=fail",
                Some(ErrorKind::DnsFailure),
            ),
            (
                "MX lookup, other failure",
                failed(DnsFailure::Other("no connections available".into())),
                Verdict::Error,
                "dns.error=fail",
                Some(ErrorKind::DnsFailure),
            ),
            (
                "MX answer bogus",
                failed(DnsFailure::Bogus),
                Verdict::Error,
                "dnssec.bogus=fail",
                Some(ErrorKind::DnssecBogus),
            ),
            (
                "neither MX nor A/AAAA",
                MxResolution::NoMailHost,
                Verdict::Error,
                "mx.none=fail",
                Some(ErrorKind::NoMailHost),
            ),
        ];
        let mut failures = Vec::new();
        for (name, resolution, verdict, finding, error) in cases {
            let bogus = matches!(
                resolution,
                MxResolution::Failed {
                    failure: DnsFailure::Bogus,
                    ..
                }
            );
            let evidence = resolved(resolution);
            let out = inspect(&evidence);
            let kind = out.error.as_ref().map(|e| e.kind);
            if out.verdict != verdict || kind != error {
                failures.push(format!(
                    "{name}: {:?} {kind:?}, expected {verdict:?} {error:?}",
                    out.verdict
                ));
            }
            if out.mta_sts.is_some() || out.tls_rpt.is_some() || out.delivery.is_some() {
                failures.push(format!("{name}: has mta_sts, tls_rpt or delivery"));
            }
            if bogus != (out.dnssec == Dnssec::Bogus) {
                failures.push(format!("{name}: dnssec {:?}", out.dnssec));
            }
            if let Err(e) = check_findings(&out.findings, &[finding]) {
                failures.push(format!("{name}: {e}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// `mx.implicit` and `mx.null-mixed` warn, and the hosts are audited.
    #[test]
    fn implicit_and_mixed_null_mx_are_audited() {
        let flagged = |implicit, null_mx_mixed| {
            let mut ev = domain(one(tls(valid(MX1))));
            if let MxResolution::Hosts {
                implicit: i,
                null_mx_mixed: m,
                ..
            } = &mut ev.resolution
            {
                (*i, *m) = (implicit, null_mx_mixed);
            }
            ev
        };
        run(vec![
            Case {
                name: "MX records",
                evidence: flagged(false, false),
                verdict: Verdict::Secure,
                reason: "",
                findings: &["!mx.implicit", "!mx.null-mixed"],
            },
            Case {
                name: "implicit MX",
                evidence: flagged(true, false),
                verdict: Verdict::Secure,
                reason: "",
                findings: &["mx.implicit=warn"],
            },
            Case {
                name: "null MX beside other MX records",
                evidence: flagged(false, true),
                verdict: Verdict::Secure,
                reason: "",
                findings: &["mx.null-mixed=warn"],
            },
        ]);
        let ev = flagged(true, false);
        assert_eq!(inspect(&ev).mx_source, assessment::MxSource::Implicit);
    }

    /// Rules 1–7: `domain_verdict` over the grades of every probed address.
    #[test]
    fn rubric_over_address_grades() {
        run(vec![
            Case {
                name: "1. no MX host at all",
                evidence: domain(Vec::new()),
                verdict: Verdict::Error,
                reason: "no MX address to probe",
                findings: &[],
            },
            Case {
                name: "1. every MX address-less, an IP literal or invalid",
                evidence: domain(vec![
                    addressless(10, MX1, Answer::NoData),
                    MxEvidence {
                        record: MxRecord {
                            preference: 20,
                            exchange: crate::resolver::Exchange::IpLiteral("192.0.2.1".into()),
                        },
                        addresses: AddressEvidence::NotLookedUp,
                        ..testkit::mx(20, MX2, Vec::new())
                    },
                ]),
                verdict: Verdict::Error,
                // docs/grading.md, rule 2: each host without addresses counts as
                // one unreachable grade, so rule 2 decides, not rule 1.
                reason: "no MX address could be reached",
                findings: &[],
            },
            Case {
                name: "2. every address unreachable",
                evidence: domain(vec![
                    testkit::mx(10, MX1, vec![connect_failed(), banner_failed(timeout(30))]),
                    testkit::mx(20, MX2, vec![skipped()]),
                ]),
                verdict: Verdict::Error,
                reason: "no MX address could be reached",
                findings: &[],
            },
            Case {
                name: "2. every address one no sender can use (not probed)",
                evidence: domain(vec![{
                    let mut m = testkit::mx(10, MX1, Vec::new());
                    m.probes = vec![not_probed("0.0.0.0"), not_probed("::")];
                    m
                }]),
                verdict: Verdict::Error,
                // docs/grading.md: like an MX without a usable address.
                reason: "no MX address is one a sender can use",
                findings: &[],
            },
            Case {
                name: "7. MX hosts beyond --max-mx-hosts: listed, not graded",
                evidence: {
                    let mut e = domain(one(tls(valid(MX1))));
                    e.mx_left_out = vec![MxRecord {
                        preference: 20,
                        exchange: crate::resolver::Exchange::Host(name(MX2)),
                    }];
                    e
                },
                verdict: Verdict::Secure,
                reason: "",
                findings: &["mx.hosts-left-out=info"],
            },
            Case {
                name: "3. every reachable address without TLS",
                evidence: domain(vec![testkit::mx(
                    10,
                    MX1,
                    vec![no_starttls(), connect_failed(), starttls_refused()],
                )]),
                verdict: Verdict::Plaintext,
                reason: "no reachable MX address has working STARTTLS (1 unreachable",
                findings: &[],
            },
            Case {
                name: "4. some reachable address without TLS",
                evidence: domain(vec![
                    testkit::mx(10, MX1, vec![tls(valid(MX1))]),
                    testkit::mx(
                        20,
                        MX2,
                        vec![handshake_failed(
                            crate::prober::TlsFailure::Alert("handshake_failure".into()),
                            Vec::new(),
                        )],
                    ),
                ]),
                verdict: Verdict::Partial,
                reason: "1 of 2 reachable MX addresses have no working STARTTLS",
                findings: &[],
            },
            Case {
                name: "5. some certificate unauthenticated",
                evidence: domain(vec![testkit::mx(
                    10,
                    MX1,
                    vec![tls(valid(MX1)), tls(untrusted(MX1))],
                )]),
                verdict: Verdict::Encrypted,
                reason: "1 of 2 certificates cannot be authenticated",
                findings: &[],
            },
            Case {
                name: "5. legacy TLS only",
                evidence: domain(one(legacy_only(valid(MX1)))),
                verdict: Verdict::Encrypted,
                reason: "encrypt only with legacy TLS",
                findings: &[],
            },
            Case {
                name: "6. some address runs injected commands",
                evidence: domain(vec![testkit::mx(
                    10,
                    MX1,
                    vec![tls(valid(MX1)), injectable(valid(MX1))],
                )]),
                verdict: Verdict::Encrypted,
                reason: "STARTTLS with valid certificates everywhere, but 1 of 2 addresses run commands injected before TLS (STARTTLS command injection)",
                findings: &[],
            },
            Case {
                name: "7. valid everywhere",
                evidence: domain(vec![
                    testkit::mx(10, MX1, vec![tls(valid(MX1))]),
                    testkit::mx(20, MX2, vec![tls(valid(MX2))]),
                ]),
                verdict: Verdict::Secure,
                reason: "STARTTLS with a valid, matching certificate on every reachable MX address",
                findings: &[],
            },
            Case {
                name: "7. unreachable addresses are not graded",
                evidence: domain(vec![testkit::mx(
                    10,
                    MX1,
                    vec![tls(valid(MX1)), connect_failed()],
                )]),
                verdict: Verdict::Secure,
                reason: "(1 unreachable MX address(es) or host(s) not graded)",
                findings: &[],
            },
            Case {
                name: "7. one good MX and one address-less MX",
                evidence: domain(vec![
                    testkit::mx(10, MX1, vec![tls(valid(MX1))]),
                    addressless(20, MX2, Answer::NxDomain),
                ]),
                verdict: Verdict::Secure,
                // docs/grading.md: an address-less host counts as one unreachable
                // grade, and the verdict reason says so.
                reason: "(1 unreachable MX address(es) or host(s) not graded)",
                findings: &[],
            },
        ]);
    }

    /// Rules 8–12: `with_policies`, from the delivery outcomes.
    #[test]
    fn policy_layer_broken_and_protected() {
        let leaf = valid(MX1);
        let backup = valid(MX2);
        let pinned = self_signed(MX1);
        run(vec![
            Case {
                name: "8. error stays error, even when DANE senders defer",
                evidence: domain(vec![dane(
                    10,
                    MX1,
                    vec![connect_failed()],
                    vec![dane_ee(&leaf)],
                )]),
                verdict: Verdict::Error,
                reason: "no MX address could be reached",
                findings: &["delivery.dane=fail"],
            },
            Case {
                name: "9. TLSA records match no MX: broken, though secure for PKIX",
                evidence: domain(vec![dane(
                    10,
                    MX1,
                    vec![tls(leaf.clone())],
                    vec![dane_ee_other()],
                )]),
                verdict: Verdict::Broken,
                reason: "DANE-enforcing senders defer mail: no MX qualifies",
                findings: &["delivery.dane=fail", "delivery.mta-sts=info"],
            },
            Case {
                name: "9. broken overrides plaintext",
                evidence: domain(vec![dane(
                    10,
                    MX1,
                    vec![no_starttls()],
                    vec![dane_ee(&leaf)],
                )]),
                verdict: Verdict::Broken,
                reason: "DANE-enforcing senders defer mail",
                findings: &["delivery.dane=fail"],
            },
            Case {
                name: "10. MTA-STS enforce lists no MX",
                evidence: enforced(one(tls(leaf.clone())), &["mail.other.test"]),
                verdict: Verdict::Broken,
                reason: "MTA-STS-enforcing senders defer mail: enforce policy, no MX qualifies",
                findings: &["delivery.mta-sts=fail", "delivery.dane=info"],
            },
            Case {
                name: "10. MTA-STS enforce, untrusted certificate: broken overrides encrypted",
                evidence: enforced(one(tls(untrusted(MX1))), &[MX1]),
                verdict: Verdict::Broken,
                reason: "MTA-STS-enforcing senders defer mail",
                findings: &["delivery.mta-sts=fail"],
            },
            Case {
                name: "9/10. both defer: the reason names DANE",
                evidence: enforced(
                    vec![dane(
                        10,
                        MX1,
                        vec![tls(leaf.clone())],
                        vec![dane_ee_other()],
                    )],
                    &[MX2],
                ),
                verdict: Verdict::Broken,
                reason: "DANE-enforcing senders defer mail",
                findings: &["delivery.mta-sts=fail", "delivery.dane=fail"],
            },
            Case {
                name: "9. a bad primary with a good backup still delivers",
                evidence: domain(vec![
                    dane(10, MX1, vec![tls(leaf.clone())], vec![dane_ee_other()]),
                    dane(20, MX2, vec![tls(backup.clone())], vec![dane_ee(&backup)]),
                ]),
                verdict: Verdict::Secure,
                reason: "STARTTLS with a valid, matching certificate",
                findings: &["delivery.dane=ok"],
            },
            Case {
                name: "11. secure and DANE-valid everywhere: protected",
                evidence: domain(vec![dane(
                    10,
                    MX1,
                    vec![tls(leaf.clone())],
                    vec![dane_ee(&leaf)],
                )]),
                verdict: Verdict::Protected,
                reason: "DANE or MTA-STS enforce protects every MX address against downgrade",
                findings: &["delivery.dane=ok", "delivery.mta-sts=info"],
            },
            Case {
                name: "11. secure and MTA-STS enforce covers every MX: protected",
                evidence: enforced(
                    vec![
                        testkit::mx(10, MX1, vec![tls(leaf.clone())]),
                        testkit::mx(20, MX2, vec![tls(backup.clone())]),
                    ],
                    &["*.example.test"],
                ),
                verdict: Verdict::Protected,
                reason: "protects every MX address",
                findings: &["delivery.mta-sts=ok", "delivery.dane=info"],
            },
            Case {
                name: "11. DANE-EE pinning a self-signed certificate",
                evidence: domain(vec![dane(
                    10,
                    MX1,
                    vec![tls(pinned.clone())],
                    vec![dane_ee(&pinned)],
                )]),
                // docs/grading.md: a DANE match authenticates the server, even a
                // self-signed DANE-EE(3) certificate, so the domain is secure.
                verdict: Verdict::Protected,
                reason: "protects every MX address",
                findings: &["delivery.dane=ok"],
            },
            Case {
                name: "12. protected is never on top of encrypted",
                evidence: domain(vec![dane(
                    10,
                    MX1,
                    vec![injectable(leaf.clone())],
                    vec![dane_ee(&leaf)],
                )]),
                verdict: Verdict::Encrypted,
                reason: "STARTTLS command injection",
                findings: &["delivery.dane=ok"],
            },
            Case {
                name: "12. one MX uncovered: secure stands",
                evidence: domain(vec![
                    dane(10, MX1, vec![tls(leaf.clone())], vec![dane_ee(&leaf)]),
                    testkit::mx(20, MX2, vec![tls(backup.clone())]),
                ]),
                verdict: Verdict::Secure,
                reason: "STARTTLS with a valid, matching certificate",
                findings: &[],
            },
            Case {
                name: "12. MTA-STS testing: secure stands",
                evidence: DomainEvidence {
                    mta_sts: Some(sts(&policy("testing", &["mail.other.test"]))),
                    ..domain(one(tls(leaf.clone())))
                },
                verdict: Verdict::Secure,
                reason: "STARTTLS with a valid, matching certificate",
                findings: &["delivery.mta-sts=info"],
            },
            Case {
                name: "12. partial stands under a delivering policy",
                evidence: domain(vec![
                    dane(10, MX1, vec![tls(leaf.clone())], vec![dane_ee(&leaf)]),
                    testkit::mx(20, MX2, vec![no_starttls()]),
                ]),
                verdict: Verdict::Partial,
                reason: "1 of 2 reachable MX addresses have no working STARTTLS",
                findings: &["delivery.dane=ok"],
            },
        ]);
    }

    /// "Bogus is never treated as insecure" (`docs/grading.md`, DNSSEC),
    /// as far as the verdict goes. The bogus MX answer itself is in
    /// [`mx_lookup_outcomes`].
    #[test]
    fn dnssec_bogus_answers() {
        let leaf = valid(MX1);
        let backup = valid(MX2);
        let aaaa_bogus = {
            let mut m = testkit::mx(10, MX1, vec![tls(leaf.clone())]);
            if let AddressEvidence::Resolved(a) = &mut m.addresses {
                a.v6 = Some(Answer::Failed(DnsFailure::Bogus));
                a.dnssec = Dnssec::Bogus;
            }
            m
        };
        run(vec![
            Case {
                name: "the only MX host's address answer bogus: nothing to probe",
                evidence: domain(vec![addressless(
                    10,
                    MX1,
                    Answer::Failed(DnsFailure::Bogus),
                )]),
                verdict: Verdict::Error,
                reason: "no MX address could be reached",
                findings: &[],
            },
            Case {
                name: "AAAA bogus, A fine: DANE senders cannot use the host",
                evidence: domain(vec![aaaa_bogus]),
                // docs/grading.md: a bogus answer of one family makes the host's
                // TLSA lookup-failed, so DANE senders skip it.
                verdict: Verdict::Broken,
                reason: "DANE-enforcing senders defer mail: no MX qualifies: mx1.example.test: TLSA lookup failed",
                findings: &["delivery.dane=fail"],
            },
            Case {
                name: "TLSA answer bogus, the only host",
                evidence: domain(vec![with_tlsa(
                    testkit::mx(10, MX1, vec![tls(leaf.clone())]),
                    Answer::Records(vec![dane_ee(&leaf)]),
                    Dnssec::Bogus,
                )]),
                verdict: Verdict::Broken,
                reason: "TLSA lookup failed",
                findings: &["delivery.dane=fail"],
            },
            Case {
                name: "TLSA answer bogus, a backup without TLSA",
                evidence: domain(vec![
                    with_tlsa(
                        testkit::mx(10, MX1, vec![tls(leaf.clone())]),
                        Answer::Records(vec![dane_ee(&leaf)]),
                        Dnssec::Bogus,
                    ),
                    testkit::mx(20, MX2, vec![tls(backup.clone())]),
                ]),
                verdict: Verdict::Secure,
                reason: "",
                findings: &["delivery.dane=ok"],
            },
            Case {
                name: "_mta-sts TXT answer bogus: a failed lookup",
                evidence: DomainEvidence {
                    mta_sts: Some(MtaStsEvidence {
                        txt: Answer::Failed(DnsFailure::Bogus),
                        fetch: None,
                    }),
                    tls_rpt: Some(Answer::Failed(DnsFailure::Bogus)),
                    ..domain(one(tls(leaf.clone())))
                },
                verdict: Verdict::Secure,
                reason: "",
                findings: &[
                    "mta-sts.record=warn",
                    "tls-rpt.record=warn",
                    "delivery.mta-sts=info",
                ],
            },
        ]);
    }

    /// `delivery.mta-sts` and `delivery.dane`: ok when the sender
    /// delivers (even in clear text), info when not applicable, fail when
    /// it defers.
    #[test]
    fn delivery_findings() {
        let leaf = valid(MX1);
        run(vec![
            Case {
                name: "neither policy",
                evidence: domain(one(no_starttls())),
                verdict: Verdict::Plaintext,
                reason: "",
                findings: &["delivery.mta-sts=info", "delivery.dane=info"],
            },
            Case {
                name: "DANE host in clear text to an unsigned backup",
                evidence: domain(vec![
                    signed(
                        testkit::mx(10, MX1, vec![tls(leaf.clone())]),
                        Answer::Failed(DnsFailure::ServFail),
                    ),
                    testkit::mx(20, MX2, vec![no_starttls()]),
                ]),
                verdict: Verdict::Partial,
                reason: "",
                findings: &["delivery.dane=ok"],
            },
            Case {
                name: "both deliver",
                evidence: enforced(
                    vec![dane(10, MX1, vec![tls(leaf.clone())], vec![dane_ee(&leaf)])],
                    &[MX1],
                ),
                verdict: Verdict::Protected,
                reason: "",
                findings: &["delivery.mta-sts=ok", "delivery.dane=ok"],
            },
        ]);
    }

    /// The assessment's delivery section is what `delivery::delivery` says
    /// of its rows, and `domain.dnssec` is the MX RRset's status.
    #[test]
    fn delivery_section_and_dnssec_status() {
        let leaf = valid(MX1);
        let mut evidence = enforced(one(tls(leaf)), &[MX1]);
        if let MxResolution::Hosts { dnssec, .. } = &mut evidence.resolution {
            *dnssec = Dnssec::Secure;
        }
        let out = inspect(&evidence);
        assert_eq!(
            out.delivery,
            Some(delivery::delivery(&out.mx, out.mta_sts.as_ref()))
        );
        assert_eq!(out.dnssec, Dnssec::Secure);
        assert_eq!(out.mx_source, assessment::MxSource::Mx);
    }
}
