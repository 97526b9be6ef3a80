//! What three kinds of sender would do with mail to the domain, from the
//! graded MX rows: an opportunistic one, one enforcing MTA-STS (RFC 8461),
//! one enforcing DANE (RFC 7672).
//!
//! Each walks the MX hosts in preference order and their addresses in
//! order, skipping what it cannot reach, as an MTA does: the first address
//! that takes the mail under the sender's rules decides. A host that fails
//! an enforcing sender's rules is skipped too, so a broken primary with a
//! good backup still delivers (late); only when no host qualifies is the
//! mail deferred, and eventually bounced.

use super::assessment::{
    AddressAssessment, DaneResult, Delivery, DeliveryResult, MtaSts, MxAssessment, Outcome,
    SessionState,
};
use crate::protection::mta_sts::Mode;
use crate::protection::{RecordState, TlsaStatus};

fn outcome(result: DeliveryResult, reason: impl Into<String>) -> Outcome {
    Outcome {
        result,
        reason: reason.into(),
    }
}

fn at(mx: &MxAssessment<'_>, a: &AddressAssessment<'_>) -> String {
    format!("{} [{}]", mx.host, a.addr.ip())
}

/// Why TLS did not work, for reasons.
fn no_tls_reason(a: &AddressAssessment<'_>) -> String {
    if let Some(e) = &a.error {
        e.message.clone()
    } else if !a.starttls() {
        "STARTTLS not offered".into()
    } else {
        "no TLS".into()
    }
}

pub fn delivery(mx: &[MxAssessment<'_>], mta_sts: Option<&MtaSts>) -> Delivery {
    Delivery {
        opportunistic: opportunistic(mx),
        mta_sts: mta_sts_sender(mx, mta_sts),
        dane: dane_sender(mx),
    }
}

fn opportunistic(mx: &[MxAssessment<'_>]) -> Outcome {
    // The first address that answers takes the mail, with or without TLS.
    let first = mx
        .iter()
        .flat_map(|host| host.addresses.iter().map(move |a| (host, a)))
        .find(|(_, a)| a.reachable());
    let Some((host, a)) = first else {
        return outcome(DeliveryResult::Deferred, "no MX address answered");
    };
    if a.tls_works() {
        let how = if a.pkix_valid() {
            "with a valid certificate"
        } else {
            "encrypted only: opportunistic senders do not check the certificate"
        };
        outcome(
            DeliveryResult::Secure,
            format!("TLS to {}, {how}", at(host, a)),
        )
    } else if a.legacy_tls() {
        outcome(
            DeliveryResult::Secure,
            format!(
                "TLS to {} only with versions or suites smtptls's own client does not use (legacy TLS): senders on OpenSSL or GnuTLS encrypt, stricter ones send in clear text",
                at(host, a)
            ),
        )
    } else {
        outcome(
            DeliveryResult::Cleartext,
            format!("clear text to {}: {}", at(host, a), no_tls_reason(a)),
        )
    }
}

fn mta_sts_sender(mx: &[MxAssessment<'_>], sts: Option<&MtaSts>) -> Outcome {
    let Some(sts) = sts else {
        return outcome(DeliveryResult::NotApplicable, "MTA-STS not looked up");
    };
    let Some(policy) = &sts.policy else {
        let why = match (sts.record, &sts.fetch_error) {
            (RecordState::Valid, Some(err)) => format!(
                "the policy could not be fetched ({err}): a sender without a cached policy delivers opportunistically, one with a cached enforce policy defers"
            ),
            (RecordState::Absent, _) => "no MTA-STS record".to_string(),
            (state, _) => format!("MTA-STS record {state}: senders ignore it"),
        };
        return outcome(DeliveryResult::NotApplicable, why);
    };
    match policy.mode {
        Mode::Enforce => {}
        Mode::Testing => {
            return outcome(
                DeliveryResult::NotApplicable,
                "policy in testing mode: failures are only reported, mail is delivered as by an opportunistic sender",
            );
        }
        _ => {
            return outcome(
                DeliveryResult::NotApplicable,
                "policy mode none: MTA-STS is switched off",
            );
        }
    }
    let mut skipped = Vec::new();
    for host in mx {
        if host.mta_sts_match != Some(true) {
            skipped.push(format!("{} is not in the policy's mx list", host.host));
            continue;
        }
        for a in host.addresses.iter().filter(|a| a.reachable()) {
            if a.tls_works() && a.pkix_valid() {
                return outcome(
                    DeliveryResult::Secure,
                    format!("TLS with a valid certificate to {}", at(host, a)),
                );
            }
            let why = if !a.tls_works() {
                no_tls_reason(a)
            } else {
                "certificate not valid for the policy (chain or name)".into()
            };
            skipped.push(format!("{}: {why}", at(host, a)));
        }
    }
    if skipped.is_empty() {
        skipped.push("no MX address answered".into());
    }
    outcome(
        DeliveryResult::Deferred,
        format!("enforce policy, no MX qualifies: {}", skipped.join("; ")),
    )
}

fn dane_sender(mx: &[MxAssessment<'_>]) -> Outcome {
    let applies = |m: &MxAssessment<'_>| {
        m.tlsa
            .as_ref()
            .is_some_and(|t| matches!(t.status, TlsaStatus::Found | TlsaStatus::LookupFailed))
    };
    if !mx.iter().any(applies) {
        let signed = mx
            .iter()
            .any(|m| m.dnssec == crate::resolver::Dnssec::Secure);
        let why = if signed {
            "no TLSA records: DANE senders deliver as opportunistic ones"
        } else {
            "MX hosts not DNSSEC-signed: DANE does not apply, DANE senders deliver as opportunistic ones"
        };
        return outcome(DeliveryResult::NotApplicable, why);
    }
    let mut skipped = Vec::new();
    for host in mx {
        if host
            .tlsa
            .as_ref()
            .is_some_and(|t| t.status == TlsaStatus::LookupFailed)
        {
            skipped.push(format!("{}: TLSA lookup failed", host.host));
            continue;
        }
        for a in host.addresses.iter().filter(|a| a.reachable()) {
            if !applies(host) {
                // RFC 7672 §2.2: without secure TLSA this host is used opportunistically.
                return if a.tls_works() {
                    outcome(
                        DeliveryResult::Secure,
                        format!(
                            "TLS to {} (no TLSA for this host: encrypted, not authenticated)",
                            at(host, a)
                        ),
                    )
                } else {
                    outcome(
                        DeliveryResult::Cleartext,
                        format!(
                            "clear text to {} (no TLSA for this host): {}",
                            at(host, a),
                            no_tls_reason(a)
                        ),
                    )
                };
            }
            match a.dane {
                DaneResult::Valid if a.tls_works() => {
                    return outcome(
                        DeliveryResult::Secure,
                        format!("TLS to {}, authenticated by its TLSA records", at(host, a)),
                    );
                }
                DaneResult::Unusable if a.tls_works() => {
                    return outcome(
                        DeliveryResult::Secure,
                        format!(
                            "TLS to {} (TLSA records unusable: encrypted, not authenticated)",
                            at(host, a)
                        ),
                    );
                }
                DaneResult::Valid | DaneResult::Unusable => {
                    skipped.push(format!("{}: {}", at(host, a), no_tls_reason(a)))
                }
                _ if !a.tls_works() => {
                    skipped.push(format!("{}: {}", at(host, a), no_tls_reason(a)))
                }
                _ => skipped.push(format!(
                    "{}: certificate does not match the TLSA records",
                    at(host, a)
                )),
            }
        }
    }
    if skipped.is_empty() {
        skipped.push("no MX address answered".into());
    }
    outcome(
        DeliveryResult::Deferred,
        format!("no MX qualifies: {}", skipped.join("; ")),
    )
}

/// Does the enforcing sender's outcome show a published policy that
/// loses mail (the `broken` verdict)?
pub fn policy_breaks_delivery(d: &Delivery) -> bool {
    d.mta_sts.result == DeliveryResult::Deferred || d.dane.result == DeliveryResult::Deferred
}

/// Downgrade protection works for every reachable MX address: each is
/// DANE-valid, or an MTA-STS enforce policy covers the host and its
/// certificate validates (the `protected` verdict, on top of `secure`).
pub fn fully_protected(mx: &[MxAssessment<'_>], sts: Option<&MtaSts>) -> bool {
    let enforce = sts
        .and_then(|s| s.policy.as_ref())
        .is_some_and(|p| p.mode == Mode::Enforce);
    let mut any = false;
    for host in mx {
        for a in host.addresses.iter().filter(|a| a.reachable()) {
            any = true;
            let by_dane = a.dane == DaneResult::Valid && a.tls_works();
            let by_sts =
                enforce && host.mta_sts_match == Some(true) && a.tls_works() && a.pkix_valid();
            if !(by_dane || by_sts) {
                return false;
            }
        }
    }
    any
}

#[cfg(test)]
mod tests {
    //! "Delivery: what each kind of sender does" in `docs/grading.md`: each
    //! outcome and reason of the three senders, `fully_protected` and
    //! `policy_breaks_delivery`, on graded MX rows built from evidence.

    use super::*;
    use crate::inspector::testkit::*;
    use crate::inspector::{DomainEvidence, MxEvidence};
    use crate::prober::TlsFailure;
    use crate::protection::mta_sts::FetchProblem;
    use crate::resolver::{Answer, DnsFailure, Dnssec, HostAddresses};
    use DeliveryResult::*;

    struct Case {
        name: &'static str,
        evidence: DomainEvidence,
        result: DeliveryResult,
        /// A part of the reason that says which kind it is.
        reason: &'static str,
    }

    /// Runs `sender` (one of the three outcomes of [`delivery`]) on each case.
    fn run(cases: Vec<Case>, sender: fn(&Delivery) -> &Outcome) {
        let mut failures = Vec::new();
        for c in &cases {
            let out = inspect(&c.evidence);
            let d = delivery(&out.mx, out.mta_sts.as_ref());
            let o = sender(&d);
            if o.result != c.result || !o.reason.contains(c.reason) {
                failures.push(format!(
                    "{}: {:?} {:?}, expected {:?} with {:?}",
                    c.name, o.result, o.reason, c.result, c.reason
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    fn one(probe: crate::prober::Probe) -> Vec<MxEvidence> {
        vec![mx(10, MX1, vec![probe])]
    }

    fn alert() -> TlsFailure {
        TlsFailure::Alert("handshake_failure".into())
    }

    #[test]
    fn opportunistic_sender() {
        run(
            vec![
                Case {
                    name: "TLS, valid certificate",
                    evidence: domain(one(tls(valid(MX1)))),
                    result: Secure,
                    reason: "TLS to mx1.example.test [192.0.2.10], with a valid certificate",
                },
                Case {
                    name: "TLS, invalid certificate",
                    evidence: domain(one(tls(untrusted(MX1)))),
                    result: Secure,
                    reason: "encrypted only: opportunistic senders do not check the certificate",
                },
                Case {
                    name: "legacy TLS only",
                    evidence: domain(one(legacy_only(Vec::new()))),
                    result: Secure,
                    reason: "(legacy TLS)",
                },
                Case {
                    name: "no STARTTLS",
                    evidence: domain(one(no_starttls())),
                    result: Cleartext,
                    reason: "clear text to mx1.example.test [192.0.2.10]: STARTTLS not offered",
                },
                Case {
                    name: "STARTTLS refused",
                    evidence: domain(one(starttls_refused())),
                    result: Cleartext,
                    reason: "STARTTLS: refused: 454",
                },
                Case {
                    name: "handshake failed: falls back to clear text",
                    evidence: domain(one(handshake_failed(alert(), valid(MX1)))),
                    result: Cleartext,
                    reason: "server sent TLS alert handshake_failure",
                },
                Case {
                    name: "EHLO inside TLS failed",
                    evidence: domain(one(ehlo_after_tls_failed(valid(MX1)))),
                    result: Cleartext,
                    reason: "EHLO after TLS",
                },
                Case {
                    name: "first address unreachable, the second takes it",
                    evidence: domain(vec![mx(10, MX1, vec![connect_failed(), tls(valid(MX1))])]),
                    result: Secure,
                    reason: "[192.0.2.11]",
                },
                Case {
                    name: "primary skipped (timed out earlier), backup without TLS",
                    evidence: domain(vec![
                        mx(10, MX1, vec![skipped()]),
                        mx(20, MX2, vec![no_starttls()]),
                    ]),
                    result: Cleartext,
                    reason: "clear text to mx2.example.test [192.0.2.20]",
                },
                Case {
                    name: "a reachable primary without TLS takes it before a good backup",
                    evidence: domain(vec![
                        mx(10, MX1, vec![no_starttls()]),
                        mx(20, MX2, vec![tls(valid(MX2))]),
                    ]),
                    result: Cleartext,
                    reason: "mx1.example.test [192.0.2.10]",
                },
                Case {
                    name: "nothing reachable",
                    evidence: domain(vec![
                        mx(10, MX1, vec![connect_failed()]),
                        mx(20, MX2, vec![banner_failed(timeout(30))]),
                    ]),
                    result: Deferred,
                    reason: "no MX address answered",
                },
            ],
            |d| &d.opportunistic,
        );
    }

    #[test]
    fn mta_sts_enforcing_sender() {
        let with = |mta_sts, mx| DomainEvidence {
            mta_sts: Some(mta_sts),
            ..domain(mx)
        };
        let txt = |r: &[&str]| Answer::Records(r.iter().map(|s| s.to_string()).collect());
        let pinned = self_signed(MX1);
        run(
            vec![
                Case {
                    name: "MTA-STS not looked up",
                    evidence: DomainEvidence {
                        mta_sts: None,
                        ..domain(one(tls(valid(MX1))))
                    },
                    result: NotApplicable,
                    reason: "MTA-STS not looked up",
                },
                Case {
                    name: "no record",
                    evidence: domain(one(no_starttls())),
                    result: NotApplicable,
                    reason: "no MTA-STS record",
                },
                Case {
                    name: "invalid record",
                    evidence: with(sts_txt(txt(&["v=STSv1; id="])), one(tls(valid(MX1)))),
                    result: NotApplicable,
                    reason: "MTA-STS record invalid: senders ignore it",
                },
                Case {
                    name: "several records",
                    evidence: with(
                        sts_txt(txt(&["v=STSv1; id=1", "v=STSv1; id=2"])),
                        one(tls(valid(MX1))),
                    ),
                    result: NotApplicable,
                    reason: "MTA-STS record multiple: senders ignore it",
                },
                Case {
                    name: "TXT lookup failed",
                    evidence: with(
                        sts_txt(Answer::Failed(DnsFailure::ServFail)),
                        one(tls(valid(MX1))),
                    ),
                    result: NotApplicable,
                    reason: "MTA-STS record lookup-failed: senders ignore it",
                },
                Case {
                    name: "policy fetch failed",
                    evidence: with(
                        sts_unfetched(FetchProblem::Redirect(301, None)),
                        one(no_starttls()),
                    ),
                    result: NotApplicable,
                    reason: "one with a cached enforce policy defers",
                },
                Case {
                    name: "malformed policy",
                    evidence: with(sts("version: STSv1\nmode: enforce\n"), one(no_starttls())),
                    result: NotApplicable,
                    reason: "the policy could not be fetched (malformed policy: ",
                },
                Case {
                    name: "testing, host not listed",
                    evidence: with(sts(&policy("testing", &[MX2])), one(no_starttls())),
                    result: NotApplicable,
                    reason: "policy in testing mode",
                },
                Case {
                    name: "mode none",
                    evidence: with(sts(&policy("none", &[])), one(no_starttls())),
                    result: NotApplicable,
                    reason: "policy mode none",
                },
                Case {
                    name: "enforce, listed, valid certificate",
                    evidence: enforced(one(tls(valid(MX1))), &[MX1]),
                    result: Secure,
                    reason: "TLS with a valid certificate to mx1.example.test [192.0.2.10]",
                },
                Case {
                    name: "enforce, listed by a wildcard",
                    evidence: enforced(one(tls(valid(MX1))), &["*.example.test"]),
                    result: Secure,
                    reason: "TLS with a valid certificate to mx1.example.test",
                },
                Case {
                    name: "enforce, host not listed",
                    evidence: enforced(one(tls(valid(MX1))), &[MX2]),
                    result: Deferred,
                    reason: "mx1.example.test is not in the policy's mx list",
                },
                Case {
                    name: "enforce, untrusted chain",
                    evidence: enforced(one(tls(untrusted(MX1))), &[MX1]),
                    result: Deferred,
                    reason: "certificate not valid for the policy (chain or name)",
                },
                Case {
                    name: "enforce, wrong name",
                    evidence: enforced(one(tls(valid("mail.other.test"))), &[MX1]),
                    result: Deferred,
                    reason: "certificate not valid for the policy (chain or name)",
                },
                Case {
                    name: "enforce, DANE-valid but not PKIX-valid",
                    evidence: enforced(
                        vec![signed(
                            mx(10, MX1, vec![tls(pinned.clone())]),
                            Answer::Records(vec![dane_ee(&pinned)]),
                        )],
                        &[MX1],
                    ),
                    result: Deferred,
                    reason: "certificate not valid for the policy",
                },
                Case {
                    name: "enforce, no STARTTLS",
                    evidence: enforced(one(no_starttls()), &[MX1]),
                    result: Deferred,
                    reason: "mx1.example.test [192.0.2.10]: STARTTLS not offered",
                },
                Case {
                    name: "enforce, legacy TLS only",
                    evidence: enforced(one(legacy_only(valid(MX1))), &[MX1]),
                    result: Deferred,
                    reason: "TLS handshake",
                },
                Case {
                    name: "enforce, bad primary, good backup",
                    evidence: enforced(
                        vec![
                            mx(10, MX1, vec![tls(untrusted(MX1))]),
                            mx(20, MX2, vec![tls(valid(MX2))]),
                        ],
                        &["*.example.test"],
                    ),
                    result: Secure,
                    reason: "to mx2.example.test [192.0.2.20]",
                },
                Case {
                    name: "enforce, unlisted primary, listed backup",
                    evidence: enforced(
                        vec![
                            mx(10, MX1, vec![tls(valid(MX1))]),
                            mx(20, MX2, vec![tls(valid(MX2))]),
                        ],
                        &[MX2],
                    ),
                    result: Secure,
                    reason: "to mx2.example.test [192.0.2.20]",
                },
                Case {
                    name: "enforce, unreachable primary, good backup",
                    evidence: enforced(
                        vec![
                            mx(10, MX1, vec![connect_failed()]),
                            mx(20, MX2, vec![tls(valid(MX2))]),
                        ],
                        &[MX1, MX2],
                    ),
                    result: Secure,
                    reason: "to mx2.example.test [192.0.2.20]",
                },
                Case {
                    name: "enforce, every skipped host and address listed",
                    evidence: enforced(
                        vec![
                            mx(10, MX1, vec![tls(untrusted(MX1))]),
                            mx(20, MX2, vec![tls(valid(MX2))]),
                        ],
                        &[MX1],
                    ),
                    result: Deferred,
                    reason: "enforce policy, no MX qualifies: mx1.example.test [192.0.2.10]: certificate not valid for the policy (chain or name); mx2.example.test is not in the policy's mx list",
                },
                Case {
                    name: "enforce, nothing reachable",
                    evidence: enforced(one(connect_failed()), &[MX1]),
                    result: Deferred,
                    reason: "no MX address answered",
                },
            ],
            |d| &d.mta_sts,
        );
    }

    #[test]
    fn dane_enforcing_sender() {
        let leaf = valid(MX1);
        let backup = valid(MX2);
        let dane =
            |pref, host, probes, records| signed(mx(pref, host, probes), Answer::Records(records));
        let bogus_aaaa = {
            let mut m = mx(10, MX1, vec![tls(leaf.clone())]);
            if let crate::inspector::AddressEvidence::Resolved(a) = &mut m.addresses {
                *a = HostAddresses {
                    v6: Some(Answer::Failed(DnsFailure::Bogus)),
                    dnssec: Dnssec::Bogus,
                    ..a.clone()
                };
            }
            m
        };
        run(
            vec![
                Case {
                    name: "MX hosts not signed",
                    evidence: domain(one(tls(leaf.clone()))),
                    result: NotApplicable,
                    reason: "MX hosts not DNSSEC-signed",
                },
                Case {
                    name: "signed, no TLSA records",
                    evidence: domain(vec![signed(
                        mx(10, MX1, vec![no_starttls()]),
                        Answer::NoData,
                    )]),
                    result: NotApplicable,
                    reason: "no TLSA records: DANE senders deliver as opportunistic ones",
                },
                Case {
                    name: "TLSA records not signed",
                    evidence: domain(vec![with_tlsa(
                        mx(10, MX1, vec![no_starttls()]),
                        Answer::Records(vec![dane_ee(&leaf)]),
                        Dnssec::Insecure,
                    )]),
                    result: NotApplicable,
                    reason: "no TLSA records",
                },
                Case {
                    name: "TLSA match",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![tls(leaf.clone())],
                        vec![dane_ee(&leaf)],
                    )]),
                    result: Secure,
                    reason: "TLS to mx1.example.test [192.0.2.10], authenticated by its TLSA records",
                },
                Case {
                    name: "TLSA unusable, TLS works",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![tls(leaf.clone())],
                        vec![pkix_ee(&leaf)],
                    )]),
                    result: Secure,
                    reason: "(TLSA records unusable: encrypted, not authenticated)",
                },
                Case {
                    name: "TLSA mismatch",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![tls(leaf.clone())],
                        vec![dane_ee_other()],
                    )]),
                    result: Deferred,
                    reason: "no MX qualifies: mx1.example.test [192.0.2.10]: certificate does not match the TLSA records",
                },
                Case {
                    name: "TLSA match, but the session is unusable",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![ehlo_after_tls_failed(leaf.clone())],
                        vec![dane_ee(&leaf)],
                    )]),
                    result: Deferred,
                    reason: "EHLO after TLS",
                },
                Case {
                    name: "TLSA unusable, no STARTTLS",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![no_starttls()],
                        vec![pkix_ee(&leaf)],
                    )]),
                    result: Deferred,
                    reason: "[192.0.2.10]: STARTTLS not offered",
                },
                Case {
                    name: "TLSA found, no STARTTLS",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![no_starttls()],
                        vec![dane_ee(&leaf)],
                    )]),
                    result: Deferred,
                    reason: "[192.0.2.10]: STARTTLS not offered",
                },
                Case {
                    name: "TLSA found, legacy TLS only",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![legacy_only(leaf.clone())],
                        vec![dane_ee(&leaf)],
                    )]),
                    result: Deferred,
                    reason: "TLS handshake",
                },
                Case {
                    name: "TLSA lookup failed, the only host",
                    evidence: domain(vec![signed(
                        mx(10, MX1, vec![tls(leaf.clone())]),
                        Answer::Failed(DnsFailure::ServFail),
                    )]),
                    result: Deferred,
                    reason: "mx1.example.test: TLSA lookup failed",
                },
                Case {
                    name: "address records bogus (AAAA), A fine",
                    evidence: domain(vec![bogus_aaaa]),
                    result: Deferred,
                    reason: "mx1.example.test: TLSA lookup failed",
                },
                Case {
                    name: "TLSA lookup failed, backup unsigned with TLS",
                    evidence: domain(vec![
                        signed(
                            mx(10, MX1, vec![tls(leaf.clone())]),
                            Answer::Failed(DnsFailure::Timeout),
                        ),
                        mx(20, MX2, vec![tls(backup.clone())]),
                    ]),
                    result: Secure,
                    reason: "TLS to mx2.example.test [192.0.2.20] (no TLSA for this host: encrypted, not authenticated)",
                },
                Case {
                    name: "TLSA lookup failed, backup unsigned without TLS",
                    evidence: domain(vec![
                        signed(
                            mx(10, MX1, vec![tls(leaf.clone())]),
                            Answer::Failed(DnsFailure::Timeout),
                        ),
                        mx(20, MX2, vec![no_starttls()]),
                    ]),
                    result: Cleartext,
                    reason: "clear text to mx2.example.test [192.0.2.20] (no TLSA for this host): STARTTLS not offered",
                },
                Case {
                    name: "unsigned primary is used opportunistically before a DANE backup",
                    evidence: domain(vec![
                        mx(10, MX1, vec![tls(untrusted(MX1))]),
                        dane(20, MX2, vec![tls(backup.clone())], vec![dane_ee(&backup)]),
                    ]),
                    result: Secure,
                    reason: "TLS to mx1.example.test [192.0.2.10] (no TLSA for this host",
                },
                Case {
                    name: "mismatching primary, matching backup",
                    evidence: domain(vec![
                        dane(10, MX1, vec![tls(leaf.clone())], vec![dane_ee_other()]),
                        dane(20, MX2, vec![tls(backup.clone())], vec![dane_ee(&backup)]),
                    ]),
                    result: Secure,
                    reason: "TLS to mx2.example.test [192.0.2.20], authenticated",
                },
                Case {
                    name: "first address without TLS, second matches",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![no_starttls(), tls(leaf.clone())],
                        vec![dane_ee(&leaf)],
                    )]),
                    result: Secure,
                    reason: "[192.0.2.11], authenticated",
                },
                Case {
                    name: "TLSA found, nothing reachable",
                    evidence: domain(vec![dane(
                        10,
                        MX1,
                        vec![connect_failed()],
                        vec![dane_ee(&leaf)],
                    )]),
                    result: Deferred,
                    reason: "no MX qualifies: no MX address answered",
                },
            ],
            |d| &d.dane,
        );
    }

    #[test]
    fn fully_protected_when_every_reachable_address_is_covered() {
        let leaf = valid(MX1);
        let backup = valid(MX2);
        let dane =
            |pref, host, probes, records| signed(mx(pref, host, probes), Answer::Records(records));
        let with_sts = |mode, patterns: &[&str], mx| DomainEvidence {
            mta_sts: Some(sts(&policy(mode, patterns))),
            ..domain(mx)
        };
        let cases: Vec<(&str, DomainEvidence, bool)> = vec![
            (
                "DANE-valid everywhere",
                domain(vec![dane(
                    10,
                    MX1,
                    vec![tls(leaf.clone())],
                    vec![dane_ee(&leaf)],
                )]),
                true,
            ),
            (
                "MTA-STS enforce, listed, PKIX-valid",
                enforced(vec![mx(10, MX1, vec![tls(leaf.clone())])], &[MX1]),
                true,
            ),
            (
                "MX1 by DANE, MX2 by MTA-STS",
                enforced(
                    vec![
                        dane(10, MX1, vec![tls(leaf.clone())], vec![dane_ee(&leaf)]),
                        mx(20, MX2, vec![tls(backup.clone())]),
                    ],
                    &[MX2],
                ),
                true,
            ),
            (
                "unreachable addresses do not count",
                domain(vec![dane(
                    10,
                    MX1,
                    vec![connect_failed(), tls(leaf.clone())],
                    vec![dane_ee(&leaf)],
                )]),
                true,
            ),
            (
                "one host uncovered",
                domain(vec![
                    dane(10, MX1, vec![tls(leaf.clone())], vec![dane_ee(&leaf)]),
                    mx(20, MX2, vec![tls(backup.clone())]),
                ]),
                false,
            ),
            (
                "MTA-STS testing",
                with_sts(
                    "testing",
                    &[MX1],
                    vec![mx(10, MX1, vec![tls(leaf.clone())])],
                ),
                false,
            ),
            (
                "MTA-STS enforce, host not listed",
                enforced(vec![mx(10, MX1, vec![tls(leaf.clone())])], &[MX2]),
                false,
            ),
            (
                "MTA-STS enforce, certificate invalid",
                enforced(vec![mx(10, MX1, vec![tls(untrusted(MX1))])], &[MX1]),
                false,
            ),
            (
                "DANE-valid, but the session is unusable",
                domain(vec![dane(
                    10,
                    MX1,
                    vec![ehlo_after_tls_failed(leaf.clone())],
                    vec![dane_ee(&leaf)],
                )]),
                false,
            ),
            (
                "TLSA unusable",
                domain(vec![dane(
                    10,
                    MX1,
                    vec![tls(leaf.clone())],
                    vec![pkix_ee(&leaf)],
                )]),
                false,
            ),
            (
                "no policy at all",
                domain(vec![mx(10, MX1, vec![tls(leaf.clone())])]),
                false,
            ),
            (
                "nothing reachable",
                domain(vec![dane(
                    10,
                    MX1,
                    vec![connect_failed()],
                    vec![dane_ee(&leaf)],
                )]),
                false,
            ),
        ];
        let mut failures = Vec::new();
        for (name, evidence, want) in &cases {
            let out = inspect(evidence);
            let got = fully_protected(&out.mx, out.mta_sts.as_ref());
            if got != *want {
                failures.push(format!("{name}: {got}, expected {want}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn policy_breaks_delivery_when_an_enforcing_sender_defers() {
        let o = |result| Outcome {
            result,
            reason: String::new(),
        };
        let cases = [
            ("MTA-STS defers", Secure, Deferred, NotApplicable, true),
            ("DANE defers", Secure, Secure, Deferred, true),
            ("both defer", Deferred, Deferred, Deferred, true),
            (
                "only the opportunistic sender defers",
                Deferred,
                NotApplicable,
                NotApplicable,
                false,
            ),
            ("both deliver", Secure, Secure, Secure, false),
            (
                "clear text is delivery",
                Cleartext,
                Cleartext,
                Cleartext,
                false,
            ),
            (
                "not applicable",
                Secure,
                NotApplicable,
                NotApplicable,
                false,
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(_, opp, sts, dane, want)| {
                let d = Delivery {
                    opportunistic: o(*opp),
                    mta_sts: o(*sts),
                    dane: o(*dane),
                };
                policy_breaks_delivery(&d) != *want
            })
            .map(|(name, .., want)| format!("{name}: expected {want}"))
            .collect();
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }
}
