//! `--format list`: the domains per level, one per line under a `# level`
//! heading, strongest first, for MTAs configured through a UI or a script
//! (a Microsoft 365 outbound connector's `-RecipientDomains`, an Exchange
//! send connector's address spaces). Every line that is not a heading or
//! a comment is a plain DNS name; a domain whose name cannot be written
//! is only said in a comment.

use super::{
    Entry, FallbackRelay, Generated, PolicyLevel, Provenance, Sender, below_min_list, plan_with,
    printable, route_reason, safe_name, titled,
};
use crate::mta_config::DomainFacts;

/// The domains of one heading, or nothing when it has none.
fn section(out: &mut String, heading: &str, entries: &[&Entry]) {
    if entries.is_empty() {
        return;
    }
    out.push_str(&format!("\n# {heading}\n"));
    for e in entries {
        if safe_name(&e.domain) {
            out.push_str(&format!("{}\n", e.domain));
        } else {
            out.push_str(&format!("#   (not a DNS name) {}\n", printable(&e.domain)));
        }
    }
}

pub fn list(
    domains: &[DomainFacts],
    min: Option<PolicyLevel>,
    fallback: Option<&FallbackRelay>,
    p: &Provenance,
) -> Generated {
    let entries = plan_with(domains, min, Sender::DaneCapable, fallback.is_some());
    let mut out = String::new();
    let n = entries.len();
    titled(&mut out, "Domains per TLS level,", n, p);
    out.push_str(
        "# Each domain is under the strongest level that every reachable MX\n\
         # address passed in the audit: dane-only (DANE required), secure (a\n\
         # verified certificate naming the MX), encrypt (TLS, certificate not\n\
         # checked), may (nothing enforceable). A stronger level would defer mail.\n",
    );
    let shown = |level: PolicyLevel| -> Vec<&Entry> {
        entries
            .iter()
            .filter(|e| !e.below_min && !e.routed && e.choice.level == level)
            .collect()
    };
    for level in PolicyLevel::ALL.into_iter().rev() {
        section(&mut out, level.as_str(), &shown(level));
    }
    if let Some(min) = min {
        let below: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.below_min && !e.routed)
            .collect();
        section(&mut out, &format!("below {min} (not enforced)"), &below);
    }
    if let Some(relay) = fallback {
        let routed: Vec<&Entry> = entries.iter().filter(|e| e.routed).collect();
        section(&mut out, &format!("fallback-relay {relay}"), &routed);
        for e in &routed {
            out.push_str(&format!("#   {}: {}\n", e.domain, route_reason(e, min)));
        }
    }
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
    fn domains_under_level_headings() {
        let g = list(&input(), None, None, &provenance());
        insta::assert_snapshot!(g.text);
        assert!(g.below_min.is_empty());
    }

    #[test]
    fn min_level_and_fallback_relay() {
        let relay: FallbackRelay = "relay.example".parse().expect("relay");
        let g = list(
            &input(),
            Some(PolicyLevel::Secure),
            Some(&relay),
            &provenance(),
        );
        insta::assert_snapshot!(g.text);
        assert_eq!(g.below_min.len(), 2);
    }

    #[test]
    fn every_other_line_is_a_dns_name() {
        let mut evil = pkix();
        evil.domain = "evil.example\nexample.com".into();
        let t = list(&[evil, pkix()], None, None, &provenance()).text;
        for l in t.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            assert!(safe_name(l), "{l:?}");
        }
        assert!(
            t.contains("#   (not a DNS name) evil.example\\u{a}example.com\n"),
            "{t}"
        );
    }
}
