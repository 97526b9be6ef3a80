//! OpenSMTPD `smtpd.conf` lines (smtpd.conf(5), the action/match grammar
//! of 6.4 and later): a list table per level, an action per level and a
//! `match … for domain <table> action …` rule per table.
//!
//! - `secure`: `relay tls` (STARTTLS required, the certificate verified
//!   against the CA file).
//! - `encrypt`: `relay tls no-verify`.
//! - OpenSMTPD enforces neither DANE nor MTA-STS: a domain where DANE
//!   works gets what its certificates show without it.
//!
//! The rules match `from local` (smtpd.conf's default source): the admin
//! adds the `from` conditions of their own outbound rules. A table must
//! hold a value, so a level without domains gets no table, action or
//! rule.

use super::{
    Entry, FallbackRelay, Generated, LEVEL_RULE, PolicyLevel, Provenance, Sender, below_min_block,
    below_min_list, commented, configuration_note, plan_with, printable, route_reason, titled,
};
use crate::mta_config::DomainFacts;

const DEFAULT: &str = "your general relay rule applies";

/// The levels OpenSMTPD can require: (level, table and action name, the
/// action's options).
const LEVELS: [(PolicyLevel, &str, &str); 2] = [
    (PolicyLevel::Secure, "smtptls_verify", "relay tls"),
    (
        PolicyLevel::Encrypt,
        "smtptls_encrypt",
        "relay tls no-verify",
    ),
];

/// `table NAME { a, b }`, `action`, `match` for the domains of one
/// level; nothing for none.
fn rule(out: &mut String, name: &str, action: &str, domains: &[&str]) {
    if domains.is_empty() {
        return;
    }
    out.push_str(&format!("table {name} {{ {} }}\n", domains.join(", ")));
    out.push_str(&format!("action \"{name}\" {action}\n"));
    out.push_str(&format!(
        "match from local for domain <{name}> action \"{name}\"\n"
    ));
}

/// Lines for `domains`, in input order within each table.
pub fn opensmtpd(
    domains: &[DomainFacts],
    min: Option<PolicyLevel>,
    fallback: Option<&FallbackRelay>,
    p: &Provenance,
) -> Generated {
    let entries = plan_with(domains, min, Sender::Opensmtpd, fallback.is_some());
    let mut out = String::new();
    let n = entries.len();
    titled(
        &mut out,
        "OpenSMTPD smtpd.conf rules for mandatory TLS to",
        n,
        p,
    );
    out.push_str(LEVEL_RULE);
    out.push_str(
        "#\n\
         # Needs OpenSMTPD 6.4 or later (the action/match grammar; proven with\n\
         # Debian 12's 6.8.0p2). \"relay tls\" requires STARTTLS and a certificate\n\
         # that verifies with the CA file (ca-certificates, or a \"ca\" directive);\n\
         # \"relay tls no-verify\" requires STARTTLS only.\n\
         # OpenSMTPD cannot enforce DANE or MTA-STS: where DANE works, a domain\n\
         # gets \"relay tls\" if its certificates also verify, else \"relay tls\n\
         # no-verify\". A server with only legacy TLS (TLS 1.0/1.1, or suites\n\
         # OpenSSL refuses at its default level) gets no session from OpenSMTPD:\n\
         # such a domain is left at \"may\".\n\
         # Put these lines before your general relay rule (the first matching\n\
         # rule wins) and give the rules your outbound rules' \"from\" condition\n\
         # (they match \"from local\": mail from this host).\n\
         # Domains left at \"may\" are not listed: your general relay rule applies.\n\n",
    );
    let active: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.below_min && !e.routed)
        .collect();
    for e in &active {
        if e.choice.level == PolicyLevel::May {
            out.push_str(&commented(e));
            continue;
        }
        out.push_str(&format!(
            "# {} {}: {}\n",
            e.domain,
            e.choice.level,
            printable(&e.choice.reason)
        ));
        if e.dane_unused {
            out.push_str("#   DANE works there too; OpenSMTPD cannot require it.\n");
        }
        out.push_str(&configuration_note(e));
    }
    if !active.is_empty() {
        out.push('\n');
    }
    for (level, name, action) in LEVELS {
        let listed: Vec<&str> = active
            .iter()
            .filter(|e| e.choice.level == level)
            .map(|e| e.domain.as_str())
            .collect();
        rule(&mut out, name, action, &listed);
    }
    if let Some(relay) = fallback {
        out.push_str(&format!(
            "\n# Fallback relay {relay}: the domains below the minimum level or without\n\
             # working STARTTLS go there instead of being sent in clear text, with\n\
             # STARTTLS required (smtp+tls; drop no-verify once the relay's\n\
             # certificate verifies with the CA file).\n"
        ));
        let routed: Vec<&Entry> = entries.iter().filter(|e| e.routed).collect();
        for e in &routed {
            out.push_str(&format!("# {}: {}\n", e.domain, route_reason(e, min)));
        }
        let names: Vec<&str> = routed.iter().map(|e| e.domain.as_str()).collect();
        let action = format!(
            "relay host smtp+tls://{}:{} tls no-verify",
            relay.host.url(),
            relay.port
        );
        rule(&mut out, "smtptls_fallback", &action, &names);
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
        let mut dane_ee = dane();
        dane_ee.domain = "daneee.example".into();
        dane_ee.mx[0].addresses[0].chain_valid = false;
        let mut pkix2 = pkix();
        pkix2.domain = "pkix2.example".into();
        let mut legacy = selfsigned();
        legacy.domain = "legacy.example".into();
        legacy.mx[0].addresses[0].legacy_tls = true;
        vec![
            dane(),
            dane_ee,
            pkix(),
            selfsigned(),
            plain(),
            pkix2,
            legacy,
        ]
    }

    #[test]
    fn tables_actions_and_rules() {
        let g = opensmtpd(&input(), None, None, &provenance());
        insta::assert_snapshot!(g.text);
        assert!(g.below_min.is_empty());
    }

    #[test]
    fn min_level_and_fallback_relay() {
        let relay: FallbackRelay = "[2001:db8::25]:2525".parse().expect("relay");
        let g = opensmtpd(
            &input(),
            Some(PolicyLevel::Secure),
            Some(&relay),
            &provenance(),
        );
        insta::assert_snapshot!(g.text);
        assert!(g.text.contains(
            "action \"smtptls_fallback\" relay host smtp+tls://[2001:db8::25]:2525 tls no-verify\n"
        ));
        let below: Vec<&str> = g.below_min.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            below,
            [
                "daneee.example",
                "self.example",
                "plain.example",
                "legacy.example"
            ]
        );
    }

    /// A table must hold a value: a level without domains has no lines.
    #[test]
    fn no_empty_table() {
        let t = opensmtpd(&[selfsigned()], None, None, &provenance()).text;
        assert!(
            t.contains("table smtptls_encrypt { self.example }\n"),
            "{t}"
        );
        assert!(!t.contains("smtptls_verify"), "{t}");
        let t = opensmtpd(&[plain()], None, None, &provenance()).text;
        assert!(
            !t.lines().any(|l| !l.is_empty() && !l.starts_with('#')),
            "{t}"
        );
    }
}
