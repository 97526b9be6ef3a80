//! Grading a submission service (`--service submission|submissions`) by
//! what a mail client needs, not by what a sending MTA does: TLS on every
//! host (STARTTLS on 587, implicit TLS on 465), a certificate valid for the
//! host name the client asked for, and no invitation to log in before TLS.
//! DANE and MTA-STS are for server-to-server mail and play no part: a mail
//! client verifies the certificate against its trust store.
//!
//! The hosts are graded with the MX code (`mx::inspect_mx`: the dialogue,
//! the certificate for the host name, the scan), then re-graded here.

use super::assessment::{AddressAssessment, AddressGrade, DomainAssessment, MxSource};
use super::{InspectSettings, MxEvidence, configuration, mx, verdict};
use crate::domain::DomainName;
use crate::prober::{Greeting, StartTls};
use crate::resolver::{DnsFailure, MxRecord, MxResolution};
use crate::vocabulary::{ErrorKind, Finding, FindingId, Service};

/// Everything observed for one name of a submission service.
#[derive(Debug, Clone)]
pub struct ServiceEvidence {
    pub service: Service,
    /// The hosts came from SRV records (RFC 6186), or the lookup of them
    /// failed; `false` when the name given is the host.
    pub from_srv: bool,
    /// The hosts, read like an MX lookup (`Resolver::service_hosts`).
    pub resolution: MxResolution,
    /// One per host probed, in SRV order, each with the port probed.
    pub hosts: Vec<MxEvidence>,
    /// SRV targets beyond `--max-mx-hosts`.
    pub hosts_left_out: Vec<MxRecord>,
}

/// Grades one name of a submission service.
pub fn inspect_service<'e>(
    domain: &DomainName,
    evidence: &'e ServiceEvidence,
    settings: &InspectSettings,
) -> DomainAssessment<'e> {
    let service = evidence.service;
    let mut out = DomainAssessment::new(domain);
    out.service = service;
    if !service_hosts(domain, evidence, &mut out) {
        return out;
    }
    if !evidence.hosts_left_out.is_empty() {
        let names: Vec<&str> = evidence
            .hosts_left_out
            .iter()
            .map(|r| r.exchange.name())
            .collect();
        out.findings.push(Finding::info(
            FindingId::MxHostsLeftOut,
            format!(
                "{} SRV target(s) beyond --max-mx-hosts not probed: {}",
                names.len(),
                names.join(", ")
            ),
        ));
        out.mx_left_out = evidence.hosts_left_out.clone();
    }
    let mut grades = Vec::new();
    for host in &evidence.hosts {
        let (mut graded, host_grades) = mx::inspect_mx(domain.as_str(), host, None, settings);
        // Mail clients do not look DANE up: the MX rubric's findings about
        // it would only be noise here.
        graded.findings.retain(|f| !is_dane(f.id));
        graded.tlsa = None;
        if graded.addresses.is_empty() {
            grades.extend(host_grades);
        }
        for row in &mut graded.addresses {
            row.findings.retain(|f| !is_dane(f.id));
            row.grade = client_grade(service, row);
            row.configuration = configuration::of_address(row);
            grades.push(row.grade);
        }
        out.mx.push(graded);
    }
    out.configuration = configuration::of_domain(&out.mx);
    let (verdict, reason) = verdict::service_verdict(&grades, service);
    out.verdict = verdict;
    out.verdict_reason = reason;
    out
}

fn is_dane(id: FindingId) -> bool {
    matches!(
        id,
        FindingId::DaneTlsa
            | FindingId::DaneValid
            | FindingId::DaneRollover
            | FindingId::DaneOtherCertificate
    )
}

/// Where the hosts came from; `true` when there are hosts to grade,
/// otherwise `out` is complete.
fn service_hosts(
    domain: &DomainName,
    evidence: &ServiceEvidence,
    out: &mut DomainAssessment<'_>,
) -> bool {
    let label = evidence.service.srv_label().unwrap_or_default();
    let srv_name = format!("{label}.{domain}");
    match &evidence.resolution {
        MxResolution::NoMail => {
            out.verdict = crate::vocabulary::Verdict::NoMail;
            out.mx_source = MxSource::Srv;
            out.verdict_reason = format!(
                "{srv_name} has the target \".\": the service is not offered (RFC 6186 §3)"
            );
            out.findings.push(Finding::info(
                FindingId::SubmissionSrv,
                format!(
                    "SRV {srv_name} is \".\": {domain} offers no {} service; nothing to probe",
                    evidence.service
                ),
            ));
            false
        }
        MxResolution::DomainNotFound => super::cannot_audit(
            out,
            FindingId::DnsNxdomain,
            ErrorKind::Nxdomain,
            format!("{domain} does not exist (NXDOMAIN)"),
        ),
        MxResolution::NoMailHost => super::cannot_audit(
            out,
            FindingId::MxNone,
            ErrorKind::NoMailHost,
            format!(
                "{domain} has neither {label} SRV records nor address records: there is no {} host to probe",
                evidence.service
            ),
        ),
        MxResolution::Failed { query, failure } => {
            if *failure == DnsFailure::Bogus {
                out.dnssec = crate::resolver::Dnssec::Bogus;
            }
            super::cannot_audit(
                out,
                super::dns_failure_finding(failure),
                super::dns_failure_id(failure),
                format!("DNS lookup {query} failed: {failure}"),
            )
        }
        MxResolution::Hosts { hosts, dnssec, .. } => {
            out.dnssec = *dnssec;
            let port = evidence.service.default_port();
            if evidence.from_srv {
                out.mx_source = MxSource::Srv;
                let targets: Vec<String> = hosts
                    .iter()
                    .zip(&evidence.hosts)
                    .map(|(r, h)| format!("{}:{}", r.exchange.name(), h.port))
                    .collect();
                out.findings.push(Finding::ok(
                    FindingId::SubmissionSrv,
                    format!(
                        "SRV {srv_name} names {} (RFC 6186): clients that configure themselves use them",
                        targets.join(", ")
                    ),
                ));
            } else {
                out.mx_source = MxSource::Host;
                out.findings.push(Finding::info(
                    FindingId::SubmissionSrv,
                    format!(
                        "no SRV records at {srv_name}: {domain} itself is the host (port {port}), as a client configured by hand uses it"
                    ),
                ));
            }
            true
        }
    }
}

/// The mechanisms an EHLO reply offers: `AUTH PLAIN LOGIN`, and the old
/// `AUTH=PLAIN LOGIN` form some servers still send for Outlook Express.
pub fn auth_mechanisms(greeting: &Greeting) -> Option<Vec<String>> {
    let mut found: Option<Vec<String>> = None;
    for line in &greeting.extensions {
        let (keyword, rest) = line.split_once([' ', '=']).unwrap_or((line.as_str(), ""));
        if keyword.eq_ignore_ascii_case("AUTH") {
            let list = found.get_or_insert_with(Vec::new);
            for mech in rest.split_ascii_whitespace() {
                let mech = mech.to_ascii_uppercase();
                if !list.contains(&mech) {
                    list.push(mech);
                }
            }
        }
    }
    found
}

/// The client rubric for one address, with its findings: no TLS (or
/// only TLS a current client refuses) is `NoTls`; a certificate that
/// does not validate for the host name asked is `Unauthenticated`, DANE
/// or not; AUTH before TLS makes a valid session `Weak`.
fn client_grade(service: Service, row: &mut AddressAssessment<'_>) -> AddressGrade {
    let probe = row.probe;
    let mut grade = row.grade;
    if grade == AddressGrade::Unreachable {
        return grade;
    }
    // Current mail clients speak TLS 1.2 and 1.3 only (Thunderbird since
    // 78, Apple Mail, Outlook): a legacy-only server gets no session.
    if matches!(grade, AddressGrade::NoTls | AddressGrade::LegacyTls) {
        let how = match service {
            Service::Submissions => "no TLS session on the implicit-TLS port",
            _ => "no STARTTLS session",
        };
        let legacy = if grade == AddressGrade::LegacyTls {
            " (only TLS 1.0/1.1 or legacy suites, which current mail clients refuse)"
        } else {
            ""
        };
        row.findings.push(Finding::fail(
            FindingId::SubmissionNoTls,
            format!("{how}{legacy}: a mail client's password and mail would travel in clear text, or it cannot submit at all"),
        ));
        grade = AddressGrade::NoTls;
    } else {
        let valid = row
            .certificate
            .as_ref()
            .is_some_and(|c| c.chain_valid && c.hostname_match)
            && probe
                .tls
                .as_ref()
                .is_some_and(|t| t.signature_unverified.is_none());
        if !valid {
            grade = AddressGrade::Unauthenticated;
        }
    }
    let before = if probe.starttls == StartTls::Implicit {
        None
    } else {
        probe.greeting.as_ref().and_then(auth_mechanisms)
    };
    let inside = probe.greeting_after_tls.as_ref().and_then(auth_mechanisms);
    match before {
        Some(mechs) => {
            let shown = if mechs.is_empty() {
                "no mechanism named".to_string()
            } else {
                mechs.join(" ")
            };
            row.findings.push(Finding::fail(
                FindingId::SubmissionAuthBeforeTls,
                format!("AUTH ({shown}) is advertised before STARTTLS: a client may log in before TLS, and an attacker who strips STARTTLS gets the credentials"),
            ));
            let clear: Vec<&str> = mechs
                .iter()
                .map(String::as_str)
                .filter(|m| matches!(*m, "PLAIN" | "LOGIN"))
                .collect();
            if !clear.is_empty() {
                row.findings.push(Finding::fail(
                    FindingId::SubmissionCleartextPassword,
                    format!(
                        "{} offered before TLS: the password itself crosses the network in clear text (base64 only)",
                        clear.join(" and ")
                    ),
                ));
            }
            if grade == AddressGrade::Authenticated {
                grade = AddressGrade::Weak;
            }
        }
        None if grade != AddressGrade::NoTls => {
            row.findings.push(match inside {
                Some(mechs) => Finding::ok(
                    FindingId::SubmissionAuthBeforeTls,
                    format!("AUTH ({}) is advertised only inside TLS", mechs.join(" ")),
                ),
                None => Finding::info(
                    FindingId::SubmissionAuthBeforeTls,
                    "no AUTH advertised, before or inside TLS: clients cannot log in here (or the server authenticates them otherwise, e.g. by client certificate or address)",
                ),
            });
        }
        None => {}
    }
    grade
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting(lines: &[&str]) -> Greeting {
        Greeting {
            helo_fallback: false,
            extensions: lines.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    #[test]
    fn auth_mechanisms_in_both_forms() {
        assert_eq!(auth_mechanisms(&greeting(&["PIPELINING", "SIZE 10"])), None);
        assert_eq!(
            auth_mechanisms(&greeting(&["AUTH PLAIN LOGIN", "AUTH=PLAIN LOGIN"])),
            Some(vec!["PLAIN".to_string(), "LOGIN".to_string()])
        );
        assert_eq!(
            auth_mechanisms(&greeting(&["auth cram-md5"])),
            Some(vec!["CRAM-MD5".to_string()])
        );
        assert_eq!(auth_mechanisms(&greeting(&["AUTH"])), Some(vec![]));
        // Not AUTH: a keyword that merely starts with it.
        assert_eq!(auth_mechanisms(&greeting(&["AUTHX PLAIN"])), None);
    }
}
