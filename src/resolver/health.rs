//! The start-of-run check of the resolver ([`Resolver::check`]) and what
//! it predicts for each domain ([`ResolverHealth::predicts`]).
//!
//! The check asks one question per trust anchor zone before the run, but
//! it decides nothing for a domain by itself: a resolver that serves only
//! private zones, or answers REFUSED to what it is not configured for,
//! fails the check and still serves the domains of its zones. So the
//! check only says *how* the resolver failed ([`CheckFailure`]); a domain
//! is `resolver-unusable` when its own MX lookup then fails that same way,
//! and is audited otherwise.

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RecordType};

use super::{
    Answer, Backend, DnsFailure, Dnssec, MxResolution, Resolver, ResolverSettings, send_query,
};
use crate::options::DnssecMode;

/// How the resolver failed the start-of-run check, in the terms a
/// domain's own lookup is compared with ([`ResolverHealth::predicts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFailure {
    NxDomain,
    Refused,
    ServFail,
    Timeout,
    Truncated,
    /// It answered, but nothing validated from the anchors: no keys, keys
    /// without their signatures, signatures that do not verify.
    NotValidated,
    Other,
}

impl CheckFailure {
    /// The class of a failed question (the retries left aside).
    pub fn of(failure: &DnsFailure) -> Self {
        match failure.cause() {
            DnsFailure::Timeout => CheckFailure::Timeout,
            DnsFailure::ServFail => CheckFailure::ServFail,
            DnsFailure::Refused => CheckFailure::Refused,
            DnsFailure::Truncated(_) => CheckFailure::Truncated,
            DnsFailure::Bogus => CheckFailure::NotValidated,
            DnsFailure::ResponseCode(_) | DnsFailure::Retried { .. } | DnsFailure::Other(_) => {
                CheckFailure::Other
            }
        }
    }
}

/// What the start-of-run check of the resolver found ([`Resolver::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolverHealth {
    /// It serves what the run needs, as far as one question can tell.
    Usable,
    /// `--dnssec trust-resolver`: it answered the signed root DNSKEY
    /// without the AD bit, so it does not validate and every answer will
    /// count as insecure (no DANE). Worth a notice; the audit goes on.
    NotValidating { servers: String },
    /// It could not serve the question validation starts from (with
    /// `validate`, the anchors' keys; with `trust-resolver`, the root).
    /// Each domain is still audited; one whose MX lookup fails the way
    /// the check did ([`ResolverHealth::predicts`]) is reported
    /// `resolver-unusable` instead of as the partner's DNS error.
    Unusable {
        servers: String,
        /// The question, e.g. `DNSKEY .`.
        asked: String,
        /// What came back, e.g. `NXDOMAIN`.
        answered: String,
        /// The same, as a class a domain's failure is compared with.
        seen: CheckFailure,
        /// The `--dnssec` mode in use: the advice never names it.
        mode: DnssecMode,
    },
}

impl ResolverHealth {
    /// The one line for stderr, naming the resolver, what it answered and
    /// what to do; `None` when there is nothing to say.
    pub fn notice(&self) -> Option<String> {
        match self {
            ResolverHealth::Usable => None,
            ResolverHealth::NotValidating { servers } => Some(format!(
                "the resolver ({servers}) does not validate DNSSEC: it answered the signed root DNSKEY without the AD bit, so every answer counts as unsigned and DANE is never in effect; use a validating resolver (--resolver) or --dnssec validate"
            )),
            ResolverHealth::Unusable {
                servers,
                asked,
                answered,
                mode: DnssecMode::Validate,
                ..
            } => Some(format!(
                "the resolver ({servers}) cannot serve DNSSEC validation: asked {asked}, got {answered}; a domain whose MX lookup fails through it is reported resolver-unusable (not audited), the others are audited. Use a resolver that passes DNSSEC records on (--resolver ADDR), or trust its validation with --dnssec trust-resolver"
            )),
            // `trust-resolver` is in use: the resolver's own validation is
            // what the run relies on, so the only advice is another one.
            ResolverHealth::Unusable {
                servers,
                asked,
                answered,
                mode: DnssecMode::TrustResolver,
                ..
            } => Some(format!(
                "the resolver ({servers}) does not serve the DNS root: asked {asked}, got {answered}; a domain whose MX lookup gets the same answer is reported resolver-unusable (not audited), the others are audited. To audit public domains, use a resolver that serves them (--resolver ADDR)"
            )),
        }
    }

    /// Whether a domain's MX lookup failed the way the check predicted,
    /// so that the failure is the resolver's, not the domain's:
    ///
    /// - NXDOMAIN for the domain when the check got NXDOMAIN (a resolver
    ///   that denies everything);
    /// - with `trust-resolver`, a failure of the same kind as the check's
    ///   (REFUSED, SERVFAIL);
    /// - with `validate`, any failure: validation could not start from
    ///   the anchors, so no failed lookup can be told from that.
    ///
    /// A domain that resolves (its zone served, validated from a
    /// `--trust-anchor`) is audited, whatever the check found.
    pub fn predicts(&self, resolution: &MxResolution) -> bool {
        let ResolverHealth::Unusable { seen, mode, .. } = self else {
            return false;
        };
        match resolution {
            MxResolution::DomainNotFound => *seen == CheckFailure::NxDomain,
            MxResolution::Failed { failure, .. } => {
                *mode == DnssecMode::Validate || CheckFailure::of(failure) == *seen
            }
            MxResolution::Hosts { .. } | MxResolution::NoMail | MxResolution::NoMailHost => false,
        }
    }

    /// The message of a `resolver-unusable` row: the domain's failure and
    /// the check's, side by side; `None` unless [`Self::predicts`] it.
    pub fn domain_message(&self, resolution: &MxResolution) -> Option<String> {
        let ResolverHealth::Unusable {
            servers,
            asked,
            answered,
            ..
        } = self
        else {
            return None;
        };
        if !self.predicts(resolution) {
            return None;
        }
        let got = match resolution {
            MxResolution::Failed { query, failure } => format!("{query}: {failure}"),
            _ => "NXDOMAIN".to_string(),
        };
        Some(format!(
            "not audited: its lookup failed ({got}) the way the resolver ({servers}) failed the start-of-run check (asked {asked}, got {answered})"
        ))
    }
}

impl Resolver {
    /// Asks once, before any domain, whether the resolver can serve what
    /// the run needs: the DNSKEY RRset of each zone validation starts from
    /// (the root, or each `--trust-anchor` zone), validated.
    ///
    /// A resolver on a machine without internet that answers NXDOMAIN for
    /// everything, or a middlebox that strips RRSIGs, would otherwise make
    /// every domain "DNSSEC bogus" — the resolver's fault reported as each
    /// partner's. With `--dnssec trust-resolver` nothing is validated
    /// here: a root that the resolver denies (NXDOMAIN), refuses
    /// (REFUSED) or fails (SERVFAIL) is the same thing, a resolver that
    /// does not serve the public DNS (perhaps only private zones); a root
    /// DNSKEY without AD means the resolver does not validate (a notice);
    /// a timeout, a truncated answer or no records cannot tell, and stay
    /// quiet. Either way the check only predicts ([`ResolverHealth`]):
    /// each domain is still looked up.
    pub async fn check(&self) -> ResolverHealth {
        let mode = self.settings.dnssec;
        match &self.backend {
            Backend::Validating(_) => {
                // The keys, then a record they sign: an RRset made only of
                // anchored keys validates even without its RRSIGs, so the
                // SOA is what shows a resolver that strips them.
                let questions = self
                    .anchor_zones
                    .iter()
                    .flat_map(|zone| [(zone, RecordType::DNSKEY), (zone, RecordType::SOA)]);
                for (zone, rtype) in questions {
                    let (answer, _, dnssec) = self.query_with_cname(&zone.to_ascii(), rtype).await;
                    if matches!(answer, Answer::Records(_)) && dnssec == Dnssec::Secure {
                        continue;
                    }
                    // The validator only says "bogus"; what the resolver
                    // really sent (NXDOMAIN, keys without RRSIGs) is what
                    // tells the user what is wrong.
                    let (seen, answered) = match self.plain_look(zone, rtype).await {
                        Some(what) => what,
                        None => match answer {
                            Answer::Failed(failure) => {
                                (CheckFailure::of(&failure), failure.to_string())
                            }
                            Answer::NxDomain => (CheckFailure::NxDomain, "NXDOMAIN".to_string()),
                            _ => (
                                CheckFailure::NotValidated,
                                format!("an answer that does not validate ({dnssec:?})"),
                            ),
                        },
                    };
                    return ResolverHealth::Unusable {
                        servers: self.servers.clone(),
                        asked: format!("{rtype} {zone}"),
                        answered,
                        seen,
                        mode,
                    };
                }
                ResolverHealth::Usable
            }
            Backend::TrustAd { .. } => {
                let root = Name::root();
                let (answer, _, dnssec) = self
                    .query_with_cname(&root.to_ascii(), RecordType::DNSKEY)
                    .await;
                let unusable = |seen: CheckFailure, answered: String| ResolverHealth::Unusable {
                    servers: self.servers.clone(),
                    asked: format!("DNSKEY {root}"),
                    answered,
                    seen,
                    mode,
                };
                match (answer, dnssec) {
                    (Answer::NxDomain, _) => unusable(CheckFailure::NxDomain, "NXDOMAIN".into()),
                    // The same as NXDOMAIN: the resolver does not serve the
                    // root (issue 25: REFUSED used to pass, NXDOMAIN not).
                    (Answer::Failed(failure), _)
                        if matches!(
                            CheckFailure::of(&failure),
                            CheckFailure::Refused | CheckFailure::ServFail
                        ) =>
                    {
                        unusable(CheckFailure::of(&failure), failure.to_string())
                    }
                    (Answer::Records(_), Dnssec::Secure) => ResolverHealth::Usable,
                    (Answer::Records(_), _) => ResolverHealth::NotValidating {
                        servers: self.servers.clone(),
                    },
                    _ => ResolverHealth::Usable,
                }
            }
        }
    }

    /// What the servers answer to `DNSKEY zone` when nothing validates:
    /// for the check's message and its prediction. `None` if even that
    /// cannot be asked.
    async fn plain_look(&self, zone: &Name, rtype: RecordType) -> Option<(CheckFailure, String)> {
        let plain = Resolver::with_keys(
            &ResolverSettings {
                dnssec: DnssecMode::TrustResolver,
                trust_anchors: Vec::new(),
                ..self.settings.clone()
            },
            Vec::new(),
        )
        .ok()?;
        let Backend::TrustAd { clients, timeout } = &plain.backend else {
            return None;
        };
        let response = match send_query(clients, *timeout, zone, rtype, true).await {
            Ok(response) => response,
            Err(failure) => return Some((CheckFailure::of(&failure), failure.to_string())),
        };
        match response.metadata.response_code {
            ResponseCode::NXDomain => return Some((CheckFailure::NxDomain, "NXDOMAIN".into())),
            ResponseCode::Refused => return Some((CheckFailure::Refused, "REFUSED".into())),
            ResponseCode::ServFail => return Some((CheckFailure::ServFail, "SERVFAIL".into())),
            _ => {}
        }
        let has = |rtype: RecordType| response.answers.iter().any(|r| r.record_type() == rtype);
        let what = match (has(rtype), has(RecordType::RRSIG)) {
            (false, _) => format!("no {rtype} records"),
            (true, false) => {
                format!("{rtype} records without their RRSIG signatures (stripped on the way?)")
            }
            (true, true) => {
                format!("{rtype} records whose signatures do not validate against the trust anchor")
            }
        };
        Some((CheckFailure::NotValidated, what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unusable(seen: CheckFailure, answered: &str, mode: DnssecMode) -> ResolverHealth {
        ResolverHealth::Unusable {
            servers: "127.0.0.1:53".into(),
            asked: "DNSKEY .".into(),
            answered: answered.into(),
            seen,
            mode,
        }
    }

    fn failed(failure: DnsFailure) -> MxResolution {
        MxResolution::Failed {
            query: "MX a.example.".into(),
            failure,
        }
    }

    #[test]
    fn a_domain_is_unusable_only_when_it_fails_as_the_check_did() {
        let trust = DnssecMode::TrustResolver;
        let nx = unusable(CheckFailure::NxDomain, "NXDOMAIN", trust);
        assert!(nx.predicts(&MxResolution::DomainNotFound));
        assert!(!nx.predicts(&failed(DnsFailure::Refused)));
        assert!(!nx.predicts(&MxResolution::NoMailHost));
        let refused = unusable(CheckFailure::Refused, "REFUSED", trust);
        assert!(refused.predicts(&failed(DnsFailure::Refused)));
        assert!(!refused.predicts(&MxResolution::DomainNotFound));
        assert!(!refused.predicts(&failed(DnsFailure::Timeout)));
        let servfail = unusable(CheckFailure::ServFail, "SERVFAIL", trust);
        let retried = DnsFailure::Retried {
            failure: Box::new(DnsFailure::ServFail),
            attempts: 3,
        };
        assert!(servfail.predicts(&failed(retried)));
        // Validation that cannot start from the anchors explains any
        // failed lookup; NXDOMAIN only when the check saw it too.
        let keys = unusable(
            CheckFailure::NotValidated,
            "no DNSKEY records",
            DnssecMode::Validate,
        );
        assert!(keys.predicts(&failed(DnsFailure::Bogus)));
        assert!(keys.predicts(&failed(DnsFailure::Timeout)));
        assert!(!keys.predicts(&MxResolution::DomainNotFound));
        // A usable resolver predicts nothing.
        assert!(!ResolverHealth::Usable.predicts(&failed(DnsFailure::Refused)));
        assert!(
            ResolverHealth::Usable
                .domain_message(&MxResolution::DomainNotFound)
                .is_none()
        );
        let message = refused
            .domain_message(&failed(DnsFailure::Refused))
            .unwrap_or_default();
        assert!(
            message.contains("MX a.example.: REFUSED") && message.contains("DNSKEY ."),
            "{message}"
        );
    }

    #[test]
    fn the_notice_never_advises_the_mode_in_use() {
        for mode in [DnssecMode::Validate, DnssecMode::TrustResolver] {
            let notice = unusable(CheckFailure::NxDomain, "NXDOMAIN", mode)
                .notice()
                .unwrap_or_default();
            let in_use = match mode {
                DnssecMode::Validate => "--dnssec validate",
                DnssecMode::TrustResolver => "--dnssec trust-resolver",
            };
            assert!(!notice.contains(in_use), "{mode:?}: {notice}");
            assert!(
                notice.contains("127.0.0.1:53") && notice.contains("NXDOMAIN"),
                "{notice}"
            );
        }
    }

    #[test]
    fn failures_are_classed_by_their_cause() {
        assert_eq!(
            CheckFailure::of(&DnsFailure::Bogus),
            CheckFailure::NotValidated
        );
        assert_eq!(
            CheckFailure::of(&DnsFailure::Retried {
                failure: Box::new(DnsFailure::Timeout),
                attempts: 3
            }),
            CheckFailure::Timeout
        );
        assert_eq!(
            CheckFailure::of(&DnsFailure::Truncated("x".into())),
            CheckFailure::Truncated
        );
    }
}
