//! Exim named domain lists, one per level, and a commented snippet showing
//! how the smtp transport uses them with the documented idiom
//! `${if match_domain{$domain}{+list}{*}{}}`.
//!
//! - `smtptls_dane`: `hosts_require_dane` (Exim ≥ 4.91, built with DANE
//!   support) with `dnssec_request_domains`.
//! - `smtptls_secure`: `hosts_require_tls` + `tls_verify_hosts`, checked
//!   against `tls_verify_certificates` and the MX name
//!   (`tls_verify_cert_hostnames`).
//! - `smtptls_encrypt`: `hosts_require_tls` only.
//!
//! `$domain` is set in the smtp transport only when all addresses of a
//! delivery share one domain, hence `multi_domain = false` (Exim FAQ Q0633).

use super::{
    FallbackRelay, Generated, LEVEL_RULE, PolicyLevel, Provenance, RelayHost, Sender,
    below_min_block, below_min_list, commented, configuration_note, plan_with, printable,
    route_reason, titled,
};
use crate::mta_config::DomainFacts;
use crate::report::DaneResult;

const DEFAULT: &str = "the transport's defaults apply";

const LISTS: [(PolicyLevel, &str); 3] = [
    (PolicyLevel::DaneOnly, "smtptls_dane"),
    (PolicyLevel::Secure, "smtptls_secure"),
    (PolicyLevel::Encrypt, "smtptls_encrypt"),
];

const TRANSPORT: &str = "\
# In the smtp transport (\"remote_smtp\" in the default configuration):
#
#   remote_smtp:
#     driver = smtp
#     # $domain is set only when a delivery has a single domain:
#     multi_domain = false
#     dnssec_request_domains = *
#     hosts_require_dane = ${if match_domain{$domain}{+smtptls_dane}{*}{}}
#     hosts_require_tls = ${if match_domain{$domain}{+smtptls_require_tls}{*}{}}
#     tls_verify_hosts = ${if match_domain{$domain}{+smtptls_secure}{*}{}}
#     tls_verify_certificates = system
#     tls_verify_cert_hostnames = *
#
# and in the dnslookup router, so that MX and address lookups ask for
# DNSSEC (DANE needs a signed MX RRset and host addresses):
#
#     dnssec_request_domains = *
";

/// `domainlist NAME = a : b`, one domain per continuation line when
/// there are several; empty lists are valid and match nothing.
fn domainlist(name: &str, domains: &[&str]) -> String {
    match domains {
        [] => format!("domainlist {name} =\n"),
        [one] => format!("domainlist {name} = {one}\n"),
        many => format!("domainlist {name} = \\\n  {}\n", many.join(" : \\\n  ")),
    }
}

/// The snippet asks for DNSSEC everywhere (`dnssec_request_domains = *`),
/// and Exim then tries DANE wherever signed TLSA records exist
/// (`hosts_try_dane`, whose default is `*`: Exim 4.96's `exim -bP
/// transport remote_smtp` shows it). A DANE check that fails is not a
/// fallback case (RFC 7672 §2.2), so such a domain's mail is deferred
/// whatever list it is in: the interop suite saw Exim defer a `secure`
/// domain whose TLSA record matches nothing. Say so beside the lists.
fn dane_mismatch_warnings(domains: &[DomainFacts], active: &[&super::Entry]) -> Vec<String> {
    let mut out = Vec::new();
    for e in active {
        let bad: Vec<String> = domains
            .iter()
            .filter(|d| super::normalize(&d.domain) == e.domain)
            .flat_map(|d| &d.mx)
            .filter(|m| m.tlsa_found)
            .flat_map(|m| {
                m.addresses
                    .iter()
                    .filter(|a| a.dane == DaneResult::Mismatch)
                    .map(move |a| {
                        format!(
                            "{} [{}]",
                            printable(&super::normalize(&m.host)),
                            printable(&a.ip)
                        )
                    })
            })
            .collect();
        if !bad.is_empty() && e.choice.level != PolicyLevel::DaneOnly {
            out.push(format!(
                "# WARNING: {}: signed TLSA records match no certificate at {}:\n\
                 #   with dnssec_request_domains Exim tries DANE there (hosts_try_dane,\n\
                 #   default \"*\") and defers this domain's mail whatever list it is in.\n",
                e.domain,
                bad.join(", ")
            ));
        }
    }
    out
}

/// Domain lists for `domains`, in input order within each list. `may`
/// domains are not listed; with `min`, domains below it are only listed
/// in a comment at the end (and returned in `below_min`).
pub fn exim(domains: &[DomainFacts], min: Option<PolicyLevel>, p: &Provenance) -> Generated {
    exim_routed(domains, min, None, p)
}

/// The fallback relay's router and transport, as comments (like the
/// transport snippet): a manualroute router before dnslookup for the
/// `smtptls_fallback` list, and an smtp transport that requires TLS to
/// the relay. The host goes in `route_data` with `<;` as the list
/// separator, so that an IPv6 address's colons are not taken for one; the
/// port in the transport.
fn fallback_snippet(relay: &FallbackRelay) -> String {
    let host = match &relay.host {
        RelayHost::Name(n) => n.clone(),
        other => other.bare(),
    };
    format!(
        "\n# Fallback relay {relay}: the domains in smtptls_fallback (below the\n\
         # minimum level, or without working STARTTLS) go there instead of being\n\
         # sent in clear text. First among the routers (after \"begin routers\"):\n\
         #\n\
         #   smtptls_fallback:\n\
         #     driver = manualroute\n\
         #     domains = +smtptls_fallback\n\
         #     route_data = <; {host}\n\
         #     transport = smtptls_fallback_smtp\n\
         #     no_more\n\
         #\n\
         # and among the transports; the relay itself is reached with TLS\n\
         # required (add tls_verify_hosts = * once its certificate verifies):\n\
         #\n\
         #   smtptls_fallback_smtp:\n\
         #     driver = smtp\n\
         #     port = {port}\n\
         #     hosts_require_tls = *\n",
        port = relay.port,
    )
}

/// [`exim`] with `--fallback-relay`: the routed domains go in the
/// `smtptls_fallback` list, not in a level's list, with the router that
/// sends them to the relay.
pub fn exim_routed(
    domains: &[DomainFacts],
    min: Option<PolicyLevel>,
    fallback: Option<&FallbackRelay>,
    p: &Provenance,
) -> Generated {
    let entries = plan_with(domains, min, Sender::DaneCapable, fallback.is_some());
    let mut out = String::new();
    let n = entries.len();
    titled(&mut out, "Exim domain lists for mandatory TLS to", n, p);
    out.push_str(LEVEL_RULE);
    out.push_str(
        "#\n\
         # Put the domainlist lines in the main section (before \"begin routers\")\n\
         # and use them in the smtp transport as shown below. Needs Exim 4.91 or\n\
         # later built with DANE support (\"exim -bV\" lists DANE); smtptls_dane\n\
         # also needs a local DNSSEC-validating resolver.\n\
         # Domains left at \"may\" are not listed: the transport's defaults apply.\n\n",
    );
    let active: Vec<_> = entries
        .iter()
        .filter(|e| !e.below_min && !e.routed)
        .collect();
    for w in dane_mismatch_warnings(domains, &active) {
        out.push_str(&w);
    }
    for e in &active {
        if e.choice.level == PolicyLevel::May {
            out.push_str(&commented(e));
        } else {
            out.push_str(&format!(
                "# {} {}: {}\n",
                e.domain,
                e.choice.level,
                printable(&e.choice.reason)
            ));
            out.push_str(&configuration_note(e));
        }
    }
    if !active.is_empty() {
        out.push('\n');
    }
    for (level, name) in LISTS {
        let listed: Vec<&str> = active
            .iter()
            .filter(|e| e.choice.level == level)
            .map(|e| e.domain.as_str())
            .collect();
        out.push_str(&domainlist(name, &listed));
    }
    out.push_str(
        "domainlist smtptls_require_tls = +smtptls_dane : +smtptls_secure : +smtptls_encrypt\n",
    );
    if fallback.is_some() {
        let routed: Vec<&super::Entry> = entries.iter().filter(|e| e.routed).collect();
        for e in &routed {
            out.push_str(&format!("# {}: {}\n", e.domain, route_reason(e, min)));
        }
        let names: Vec<&str> = routed.iter().map(|e| e.domain.as_str()).collect();
        out.push_str(&domainlist("smtptls_fallback", &names));
    }
    out.push('\n');
    out.push_str(TRANSPORT);
    if let Some(relay) = fallback {
        out.push_str(&fallback_snippet(relay));
    }
    below_min_block(&mut out, &entries, min, DEFAULT);
    Generated {
        text: out,
        below_min: below_min_list(&entries),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mta_config::testutil::*;

    fn input() -> Vec<DomainFacts> {
        let mut pkix2 = pkix();
        pkix2.domain = "pkix2.example".into();
        vec![dane(), pkix(), selfsigned(), plain(), pkix2]
    }

    #[test]
    fn lists_per_level() {
        let g = exim(&input(), None, &provenance());
        let t = &g.text;
        assert!(t.starts_with(
            "# Exim domain lists for mandatory TLS to 5 domains.\n\
             # Generated by smtptls 0.1.0 from an audit of 4 domains (audit time: 2025-06-01T12:00:00Z).\n"
        ));
        assert!(t.contains(
            "\n# dane.example dane-only: DANE: signed TLSA records on every MX host match on every reachable address (1)\n\
             # pkix.example secure: valid certificate chain and name on every reachable MX address (2)\n\
             # self.example encrypt: TLS on every reachable MX address, but mx.self.example [192.0.2.3]: certificate chain not valid\n\
             # plain.example may  (mx2.plain.example [192.0.2.4] has no working STARTTLS: enforcing TLS would defer mail)\n\
             # pkix2.example secure: valid certificate chain and name on every reachable MX address (2)\n\n\
             domainlist smtptls_dane = dane.example\n\
             domainlist smtptls_secure = \\\n  pkix.example : \\\n  pkix2.example\n\
             domainlist smtptls_encrypt = self.example\n\
             domainlist smtptls_require_tls = +smtptls_dane : +smtptls_secure : +smtptls_encrypt\n\n"
        ), "{t}");
        assert!(t.contains("hosts_require_dane = ${if match_domain{$domain}{+smtptls_dane}{*}{}}"));
        assert!(t.contains("tls_verify_hosts = ${if match_domain{$domain}{+smtptls_secure}{*}{}}"));
        assert!(t.contains("multi_domain = false"));
        // plain.example is in no list.
        assert!(
            !t.lines()
                .any(|l| !l.starts_with('#') && l.contains("plain.example"))
        );
        // Everything but the domainlist lines is a comment or blank.
        for l in t.lines() {
            assert!(
                l.is_empty()
                    || l.starts_with('#')
                    || l.starts_with("domainlist ")
                    || l.starts_with("  "),
                "{l:?}"
            );
        }
        assert!(g.below_min.is_empty());
    }

    #[test]
    fn min_level_and_empty_lists() {
        let g = exim(&input(), Some(PolicyLevel::DaneOnly), &provenance());
        let t = &g.text;
        assert!(t.contains(
            "domainlist smtptls_dane = dane.example\n\
             domainlist smtptls_secure =\n\
             domainlist smtptls_encrypt =\n"
        ));
        assert!(t.ends_with(
            "\n# Below the minimum level dane-only: not enforced by this file (the transport's defaults apply).\n\
             # pkix.example secure  (valid certificate chain and name on every reachable MX address (2))\n\
             # self.example encrypt  (TLS on every reachable MX address, but mx.self.example [192.0.2.3]: certificate chain not valid)\n\
             # plain.example may  (mx2.plain.example [192.0.2.4] has no working STARTTLS: enforcing TLS would defer mail)\n\
             # pkix2.example secure  (valid certificate chain and name on every reachable MX address (2))\n"
        ), "{t}");
        assert_eq!(g.below_min.len(), 4);
    }

    #[test]
    fn warns_of_tlsa_records_that_match_nothing() {
        let mut bad = pkix();
        bad.domain = "danebad.example".into();
        bad.mx[0].tlsa_found = true;
        bad.mx[0].addresses[0].dane = DaneResult::Mismatch;
        let t = exim(&[bad, pkix()], None, &provenance()).text;
        assert!(t.contains(
            "# WARNING: danebad.example: signed TLSA records match no certificate at mx2.pkix.example [192.0.2.2]:\n\
             #   with dnssec_request_domains Exim tries DANE there (hosts_try_dane,\n"
        ), "{t}");
        assert_eq!(t.matches("# WARNING").count(), 1, "{t}");
    }

    #[test]
    fn fallback_relay_list_and_router() {
        let relay: FallbackRelay = "[2001:db8::25]:2525".parse().expect("relay");
        let g = exim_routed(
            &input(),
            Some(PolicyLevel::Secure),
            Some(&relay),
            &provenance(),
        );
        insta::assert_snapshot!(g.text);
        assert!(
            g.text.contains(
                "domainlist smtptls_fallback = \\\n  self.example : \\\n  plain.example\n"
            ),
            "{}",
            g.text
        );
        assert!(g.text.contains("#     route_data = <; 2001:db8::25\n"));
        assert!(g.text.contains("#     port = 2525\n"));
        // Without the flag: exactly `exim`.
        assert_eq!(
            exim_routed(&input(), None, None, &provenance()),
            exim(&input(), None, &provenance())
        );
        assert!(
            !exim(&input(), None, &provenance())
                .text
                .contains("fallback")
        );
    }

    #[test]
    fn deterministic() {
        let a = exim(&input(), Some(PolicyLevel::Secure), &provenance());
        assert_eq!(a, exim(&input(), Some(PolicyLevel::Secure), &provenance()));
    }
}
