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
    } else if a.legacy_tls {
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
