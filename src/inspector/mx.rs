//! Grading one MX host: its name and address lookups, its TLSA records,
//! whether the MTA-STS policy covers it, and each of its addresses with
//! the DANE and MTA-STS checks that depend on the host.

use super::address::{inspect_address, presented_chain};
use super::assessment::AddressGrade;
use super::assessment::{DaneResult, MxAssessment};
use super::{AddressEvidence, InspectSettings, MxEvidence, dns_failure_finding, dns_failure_id};
use super::{configuration, protection, scan};
use crate::prober::{Probe, ProbeError, ProbeErrorKind};
use crate::protection::mta_sts::StsPolicy;
use crate::resolver::{Answer, Dnssec, Exchange, HostAddresses};
use crate::vocabulary::ProbeRule;
use crate::vocabulary::{AddressClass, ErrorKind, ErrorPhase, Failure, Finding, FindingId};
use std::net::SocketAddr;

/// Grades one MX host of `domain`; the grades are for the rubric, one per
/// address (or one `Unreachable` for a host without addresses).
pub fn inspect_mx<'e>(
    domain: &str,
    mx: &'e MxEvidence,
    sts: Option<&StsPolicy>,
    settings: &InspectSettings,
) -> (MxAssessment<'e>, Vec<AddressGrade>) {
    let host = mx.record.exchange.name().to_string();
    let addresses_dnssec = match &mx.addresses {
        AddressEvidence::Resolved(a) => a.dnssec,
        _ => Dnssec::Indeterminate,
    };
    let mut out = MxAssessment {
        host: host.clone(),
        preference: mx.record.preference,
        cname: None,
        dnssec: addresses_dnssec,
        tlsa: None,
        mta_sts_match: None,
        addresses: Vec::new(),
        addresses_left_out: mx.addresses_left_out.clone(),
        findings: Vec::new(),
        error: None,
    };
    exchange_findings(&mx.record.exchange, &mut out);
    let localhost = matches!(&mx.record.exchange, Exchange::Host(h) if h.is_localhost());
    if let AddressEvidence::Resolved(addrs) = &mx.addresses {
        address_findings(&host, addrs, &mut out);
    }
    if !mx.addresses_left_out.is_empty() {
        let list: Vec<String> = mx
            .addresses_left_out
            .iter()
            .map(ToString::to_string)
            .collect();
        out.findings.push(Finding::info(
            FindingId::MxAddressesLeftOut,
            format!(
                "{} of {host}'s {} addresses beyond --max-addresses-per-host not probed (senders try a few addresses per delivery): {}",
                list.len(),
                list.len() + mx.probes.len(),
                list.join(", ")
            ),
        ));
    }
    if matches!(mx.record.exchange, Exchange::Host(_)) && !localhost {
        out.tlsa = protection::tlsa(
            &host,
            mx.port,
            addresses_dnssec,
            mx.tlsa.as_ref(),
            &mut out.findings,
        );
    }
    if let Some(policy) = sts {
        out.mta_sts_match = Some(protection::sts_mx_match(policy, &host, &mut out.findings));
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
    // Only a resolved address is what a sender would use; a --connect-to
    // address is the auditor's choice and says nothing about senders.
    let resolved = matches!(mx.addresses, AddressEvidence::Resolved(_));
    for (addr, probe) in &mx.probes {
        let mut row = inspect_address(&host, *addr, probe, settings);
        if resolved && let Some(finding) = scope_finding(*addr, probe) {
            // A reason not to probe, or a warning, leads the row; the
            // note that a lab address was probed on request comes last, so
            // it never stands in for the address's real problem.
            if finding.severity == crate::vocabulary::Severity::Info {
                row.findings.push(finding);
            } else {
                row.findings.insert(0, finding);
            }
        }
        row.dane = protection::dane_for_address(
            out.tlsa.as_ref(),
            mx.tlsa.as_ref(),
            presented_chain(probe),
            &names,
            settings.now,
            &mut row.findings,
        );
        protection::dane_for_other_certificates(
            out.tlsa.as_ref(),
            mx.tlsa.as_ref(),
            probe,
            &names,
            settings.now,
            &mut row,
        );
        if let Some(policy) = sts {
            protection::sts_certificate(policy, &mut row);
        }
        // A DANE match authenticates the server (RFC 7672 §3), even a
        // self-signed DANE-EE certificate that PKIX rejects.
        if row.grade == AddressGrade::Unauthenticated && row.dane == DaneResult::Valid {
            row.grade = AddressGrade::Authenticated;
        }
        // Command injection breaks a correctly configured sender's session:
        // encrypted and authenticated, but not secure. What the server
        // merely also accepts is the configuration axis, not the grade.
        if row.grade == AddressGrade::Authenticated && scan::injectable(&row.findings) {
            row.grade = AddressGrade::Weak;
        }
        row.configuration = configuration::of_address(&row);
        grades.push(row.grade);
        out.addresses.push(row);
    }
    if out.tlsa.is_none() {
        for row in &mut out.addresses {
            row.dane = if addresses_dnssec == Dnssec::Secure {
                DaneResult::None
            } else {
                DaneResult::Insecure
            };
            for other in &mut row.other_certificates {
                other.dane = row.dane;
            }
        }
    }
    (out, grades)
}

/// An MX target that is not a host name is a DNS error of its own.
fn exchange_findings(exchange: &Exchange, out: &mut MxAssessment<'_>) {
    let (id, kind, msg) = match exchange {
        Exchange::IpLiteral(ip) => (
            FindingId::MxIpLiteral,
            ErrorKind::IpLiteral,
            format!(
                "MX target {ip} is an IP address, not a host name; senders look it up as a name and fail"
            ),
        ),
        Exchange::Invalid(name) => (
            FindingId::MxInvalidName,
            ErrorKind::InvalidName,
            format!("MX target {name:?} is not a valid host name"),
        ),
        Exchange::Host(h) if h.is_localhost() => (
            FindingId::MxLocalhost,
            ErrorKind::Localhost,
            format!(
                "MX target {h} is a loopback name (RFC 6761): a sender connects to itself, not to this domain's server; not probed"
            ),
        ),
        Exchange::Host(_) => return,
    };
    out.findings.push(Finding::fail(id, msg.clone()));
    out.error = Some(Failure::new(ErrorPhase::Dns, kind, msg));
}

/// What a resolved address is, when that matters to senders: never
/// probed (unspecified, broadcast, multicast), probed only on request
/// (loopback, link-local) or out of reach from the internet (private).
fn scope_finding(addr: SocketAddr, probe: &Probe) -> Option<Finding> {
    let class = AddressClass::of(addr.ip());
    let ip = addr.ip();
    let skipped = matches!(
        &probe.error,
        Some(ProbeError {
            kind: ProbeErrorKind::NotProbed(_),
            ..
        })
    );
    Some(match class.rule() {
        ProbeRule::Never => Finding::fail(
            FindingId::AddressUnusable,
            format!(
                "{ip} is {}: no sender can deliver there (a connection to it reaches no server, or on Linux the connecting machine itself); not probed",
                class.describe()
            ),
        ),
        ProbeRule::OptIn if skipped => Finding::fail(
            FindingId::AddressLocal,
            format!(
                "{ip} is {}: a sender connecting there reaches its own machine or link, not this domain's server; not probed (--allow-local-addresses probes it, for test labs)",
                class.describe()
            ),
        ),
        ProbeRule::OptIn => Finding::info(
            FindingId::AddressLocal,
            format!(
                "{ip} is {}: probed only because of --allow-local-addresses; no sender on the internet reaches it",
                class.describe()
            ),
        ),
        ProbeRule::Probe if class == AddressClass::Private => Finding::warn(
            FindingId::AddressPrivate,
            format!(
                "{ip} is {}: senders on the internet cannot reach it (probed from here)",
                class.describe()
            ),
        ),
        ProbeRule::Probe => return None,
    })
}

/// Findings about the address lookups of an MX host.
fn address_findings(host: &str, addrs: &HostAddresses, out: &mut MxAssessment<'_>) {
    if let Some(alias) = &addrs.cname {
        out.cname = Some(alias.clone());
        out.findings.push(Finding::warn(
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
                out.findings
                    .push(Finding::warn(dns_failure_finding(failure), msg));
            } else {
                out.findings
                    .push(Finding::fail(dns_failure_finding(failure), msg.clone()));
                out.error.get_or_insert(Failure::new(
                    ErrorPhase::Dns,
                    dns_failure_id(failure),
                    msg,
                ));
            }
        }
    }
    if found || out.error.is_some() {
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
    out.findings
        .push(Finding::fail(FindingId::MxNoAddress, msg.clone()));
    out.error = Some(Failure::new(ErrorPhase::Dns, ErrorKind::NoAddress, msg));
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

#[cfg(test)]
mod tests {
    //! MX hosts that yield no address ("MX hosts that yield no address get
    //! the same treatment" in `docs/grading.md`), the address lookups'
    //! findings, and one grade per probed address.

    use std::net::Ipv4Addr;

    use super::inspect_mx;
    use crate::inspector::assessment::AddressGrade::{self, *};
    use crate::inspector::testkit::*;
    use crate::inspector::{AddressEvidence, MxEvidence};
    use crate::resolver::{Answer, DnsFailure, Dnssec, Exchange, HostAddresses};
    use crate::vocabulary::ErrorKind;

    struct Case {
        name: &'static str,
        mx: MxEvidence,
        /// One per probed address, or one `Unreachable` for a host
        /// without addresses.
        grades: Vec<AddressGrade>,
        /// `id=severity` present, `!id` absent, at the MX level.
        findings: &'static [&'static str],
        /// The host's error kind.
        error: Option<ErrorKind>,
    }

    fn exchange(exchange: Exchange) -> MxEvidence {
        MxEvidence {
            record: crate::resolver::MxRecord {
                preference: 10,
                exchange,
            },
            addresses: AddressEvidence::NotLookedUp,
            ..mx(10, MX1, Vec::new())
        }
    }

    /// MX1's lookups gave `v4` and `v6` (DNSSEC `dnssec`), and each found
    /// address was probed with a working, valid TLS session.
    fn looked_up(
        v4: Answer<Vec<Ipv4Addr>>,
        v6: Option<Answer<Vec<std::net::Ipv6Addr>>>,
        dnssec: Dnssec,
    ) -> MxEvidence {
        let found = match &v4 {
            Answer::Records(r) => r.len(),
            _ => 0,
        };
        let mut m = mx(10, MX1, (0..found).map(|_| tls(valid(MX1))).collect());
        m.addresses = AddressEvidence::Resolved(HostAddresses {
            v4: Some(v4),
            v6,
            cname: None,
            dnssec,
        });
        m
    }

    fn a(n: u8) -> Answer<Vec<Ipv4Addr>> {
        Answer::Records(vec![Ipv4Addr::new(192, 0, 2, n)])
    }

    #[test]
    fn mx_hosts_and_their_address_lookups() {
        let cname = {
            let mut m = mx(10, MX1, vec![tls(valid(MX1))]);
            if let AddressEvidence::Resolved(h) = &mut m.addresses {
                h.cname = Some("real.example.test".into());
            }
            m
        };
        let connect_to = MxEvidence {
            addresses: AddressEvidence::ConnectTo(addr(10)),
            ..mx(10, MX1, vec![tls(valid(MX1))])
        };
        let cases = vec![
            Case {
                name: "IP literal",
                mx: exchange(Exchange::IpLiteral("192.0.2.1".into())),
                grades: vec![Unreachable],
                findings: &["mx.ip-literal=fail", "!dane.tlsa"],
                error: Some(ErrorKind::IpLiteral),
            },
            Case {
                name: "invalid name",
                mx: exchange(Exchange::Invalid("-bad-.example.test".into())),
                grades: vec![Unreachable],
                findings: &["mx.invalid-name=fail", "!dane.tlsa"],
                error: Some(ErrorKind::InvalidName),
            },
            Case {
                name: "no A records",
                mx: addressless(10, MX1, Answer::NoData),
                grades: vec![Unreachable],
                findings: &["mx.no-address=fail"],
                error: Some(ErrorKind::NoAddress),
            },
            Case {
                name: "host does not exist",
                mx: addressless(10, MX1, Answer::NxDomain),
                grades: vec![Unreachable],
                findings: &["mx.no-address=fail"],
                error: Some(ErrorKind::NoAddress),
            },
            Case {
                name: "A lookup SERVFAIL, nothing found",
                mx: addressless(10, MX1, Answer::Failed(DnsFailure::ServFail)),
                grades: vec![Unreachable],
                findings: &["dns.error=fail", "!mx.no-address"],
                error: Some(ErrorKind::DnsServfail),
            },
            Case {
                name: "A lookup timed out, nothing found",
                mx: addressless(10, MX1, Answer::Failed(DnsFailure::Timeout)),
                grades: vec![Unreachable],
                findings: &["dns.error=fail"],
                error: Some(ErrorKind::DnsTimeout),
            },
            Case {
                name: "A answer bogus, nothing found",
                mx: addressless(10, MX1, Answer::Failed(DnsFailure::Bogus)),
                grades: vec![Unreachable],
                findings: &["dnssec.bogus=fail", "!dns.error"],
                error: Some(ErrorKind::DnssecBogus),
            },
            Case {
                name: "AAAA lookup failed, A found",
                mx: looked_up(
                    a(10),
                    Some(Answer::Failed(DnsFailure::Refused)),
                    Dnssec::Insecure,
                ),
                grades: vec![Authenticated],
                findings: &["dns.error=warn"],
                error: None,
            },
            Case {
                name: "AAAA answer bogus, A found",
                mx: looked_up(
                    a(10),
                    Some(Answer::Failed(DnsFailure::Bogus)),
                    Dnssec::Bogus,
                ),
                grades: vec![Authenticated],
                // Validating senders cannot use the host: see the DNSSEC
                // cases of the domain verdict.
                findings: &["dnssec.bogus=warn", "dane.tlsa=fail"],
                error: None,
            },
            Case {
                name: "CNAME",
                mx: cname,
                grades: vec![Authenticated],
                findings: &["mx.cname=warn"],
                error: None,
            },
            Case {
                name: "--connect-to address",
                mx: connect_to,
                grades: vec![Authenticated],
                findings: &["dane.tlsa=info", "!mx.no-address"],
                error: None,
            },
            Case {
                name: "two addresses, graded each",
                mx: mx(10, MX1, vec![no_starttls(), tls(valid(MX1))]),
                grades: vec![NoTls, Authenticated],
                findings: &["dane.tlsa=info"],
                error: None,
            },
        ];
        let settings = settings();
        let mut failures = Vec::new();
        for c in &cases {
            let (out, grades) = inspect_mx(DOMAIN, &c.mx, None, &settings);
            if grades != c.grades {
                failures.push(format!(
                    "{}: grades {grades:?}, expected {:?}",
                    c.name, c.grades
                ));
            }
            let error = out.error.as_ref().map(|e| e.kind);
            if error != c.error {
                failures.push(format!(
                    "{}: error {error:?}, expected {:?}",
                    c.name, c.error
                ));
            }
            if let Err(e) = check_findings(&out.findings, c.findings) {
                failures.push(format!("{}: {e}", c.name));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// What a resolved address is: `address.unusable` and `address.local`
    /// (fail) for addresses the audit did not connect to, `address.local`
    /// (info) for loopback probed on request, `address.private` (warn);
    /// nothing for a public address, nor for a `--connect-to` address.
    #[test]
    fn what_an_address_is_decides_its_finding() {
        use crate::prober::{Phase, Probe, ProbeError, ProbeErrorKind};
        use crate::vocabulary::AddressClass;

        let skipped = |ip: &str| Probe {
            error: Some(ProbeError {
                phase: Phase::Connect,
                kind: ProbeErrorKind::NotProbed(AddressClass::of(ip.parse().expect("ip"))),
            }),
            ..Probe::default()
        };
        let probed = || tls(valid(MX1));
        let cases: Vec<(&str, Probe, AddressGrade, &[&str])> = vec![
            (
                "192.0.2.1",
                probed(),
                Authenticated,
                &["!address.unusable", "!address.local", "!address.private"],
            ),
            (
                "10.1.2.3",
                probed(),
                Authenticated,
                &["address.private=warn"],
            ),
            (
                "172.20.0.1",
                probed(),
                Authenticated,
                &["address.private=warn"],
            ),
            (
                "100.64.0.1",
                probed(),
                Authenticated,
                &["address.private=warn"],
            ),
            (
                "fd12::1",
                probed(),
                Authenticated,
                &["address.private=warn"],
            ),
            (
                "127.0.0.1",
                probed(),
                Authenticated,
                &["address.local=info"],
            ),
            (
                "127.0.0.1",
                skipped("127.0.0.1"),
                Unreachable,
                &["address.local=fail", "!smtp.connect"],
            ),
            (
                "fe80::1",
                skipped("fe80::1"),
                Unreachable,
                &["address.local=fail"],
            ),
            (
                "0.0.0.0",
                skipped("0.0.0.0"),
                Unreachable,
                &["address.unusable=fail", "!smtp.connect"],
            ),
            (
                "255.255.255.255",
                skipped("255.255.255.255"),
                Unreachable,
                &["address.unusable=fail"],
            ),
            (
                "ff02::1",
                skipped("ff02::1"),
                Unreachable,
                &["address.unusable=fail"],
            ),
            ("::", skipped("::"), Unreachable, &["address.unusable=fail"]),
        ];
        let settings = settings();
        let mut failures = Vec::new();
        for (ip, probe, grade, expected) in cases {
            let mut m = mx(10, MX1, Vec::new());
            m.probes = vec![(
                std::net::SocketAddr::new(ip.parse().expect("ip"), 25),
                probe,
            )];
            let (out, grades) = inspect_mx(DOMAIN, &m, None, &settings);
            if grades != vec![grade] {
                failures.push(format!("{ip}: {grades:?}, expected {grade:?}"));
            }
            if let Err(e) = check_findings(&out.addresses[0].findings, expected) {
                failures.push(format!("{ip}: {e}"));
            }
        }
        // A --connect-to address is the auditor's choice, not a sender's.
        let connect_to = MxEvidence {
            addresses: AddressEvidence::ConnectTo("127.0.0.1:2525".parse().expect("sa")),
            probes: vec![("127.0.0.1:2525".parse().expect("sa"), probed())],
            ..mx(10, MX1, Vec::new())
        };
        let (out, _) = inspect_mx(DOMAIN, &connect_to, None, &settings);
        if let Err(e) = check_findings(&out.addresses[0].findings, &["!address.local"]) {
            failures.push(format!("--connect-to: {e}"));
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// A localhost MX is neither looked up nor probed; a host whose
    /// addresses the cap cut lists them.
    #[test]
    fn localhost_and_left_out_addresses() {
        let local = exchange(Exchange::Host(
            crate::domain::DomainName::from_dns("localhost.").expect("localhost"),
        ));
        let (out, grades) = inspect_mx(DOMAIN, &local, None, &settings());
        assert_eq!(grades, vec![Unreachable]);
        assert_eq!(out.error.map(|e| e.kind), Some(ErrorKind::Localhost));
        check_findings(&out.findings, &["mx.localhost=fail", "!dane.tlsa"]).expect("findings");

        let mut m = mx(10, MX1, vec![tls(valid(MX1))]);
        m.addresses_left_out = vec!["192.0.2.99".parse().expect("ip")];
        let (out, _) = inspect_mx(DOMAIN, &m, None, &settings());
        check_findings(&out.findings, &["mx.addresses-left-out=info"]).expect("findings");
        assert_eq!(out.addresses_left_out.len(), 1);
        assert!(
            out.findings
                .iter()
                .any(|f| f.message.contains("192.0.2.99"))
        );
    }
}
