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
pub mod protection;
pub mod scan;
#[cfg(test)]
mod testkit;
pub mod verdict;

use std::net::SocketAddr;

use time::OffsetDateTime;

pub use assessment::{AddressAssessment, DomainAssessment, MxAssessment, TlsaAssessment};
pub use protection::{MtaStsEvidence, TlsaEvidence};
pub use verdict::AddressGrade;

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
    let (verdict, reason) =
        verdict::with_policies(verdict::domain_verdict(&grades), &delivery, protected);
    out.delivery = Some(delivery);
    out.verdict = verdict;
    out.verdict_reason = reason;
    out
}

/// The outcome of the MX lookup: `true` when there are mail hosts to
/// grade; otherwise `out` is complete (null MX, NXDOMAIN, DNS failure, no
/// mail host).
fn mail_hosts(
    domain: &DomainName,
    resolution: &MxResolution,
    out: &mut DomainAssessment<'_>,
) -> bool {
    // A domain that cannot get mail: the finding, the error and the reason.
    fn fail(out: &mut DomainAssessment<'_>, id: FindingId, kind: ErrorKind, msg: String) -> bool {
        out.findings.push(Finding::fail(id, msg.clone()));
        out.error = Some(Failure::new(ErrorPhase::Dns, kind, msg.clone()));
        out.verdict_reason = msg;
        false
    }
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
        MxResolution::DomainNotFound => fail(
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
            fail(
                out,
                dns_failure_finding(failure),
                dns_failure_id(failure),
                msg,
            )
        }
        MxResolution::NoMailHost => fail(
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

/// A bogus answer is a finding of its own, never "just a DNS error".
pub(crate) fn dns_failure_finding(f: &DnsFailure) -> FindingId {
    match f {
        DnsFailure::Bogus => FindingId::DnssecBogus,
        _ => FindingId::DnsError,
    }
}

pub(crate) fn dns_failure_id(f: &DnsFailure) -> ErrorKind {
    match f {
        DnsFailure::Timeout => ErrorKind::DnsTimeout,
        DnsFailure::Bogus => ErrorKind::DnssecBogus,
        DnsFailure::ServFail => ErrorKind::DnsServfail,
        DnsFailure::Refused => ErrorKind::DnsRefused,
        DnsFailure::ResponseCode(_) | DnsFailure::Other(_) => ErrorKind::DnsFailure,
    }
}
