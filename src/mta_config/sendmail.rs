//! Sendmail access map entries (cf/README, "STARTTLS", "Allowing
//! Connections"): `TLS_Rcpt:DOMAIN` per domain, which the `tls_rcpt`
//! ruleset checks before each `RCPT TO` to that domain, whichever MX host
//! the session is with.
//!
//! - `secure`: `VERIFY` (the chain verifies against `confCACERT`), with
//!   `+CN` (the MX name equals the certificate's subject CN) where the
//!   audit saw that on every reachable address: Sendmail compares the
//!   name with the subject CN only, never with the subject alternative
//!   names, so a `+CN` anywhere else would defer mail.
//! - `encrypt`: `ENCR:112` (TLS with a cipher of at least 112 bits, the
//!   floor of every suite a current OpenSSL negotiates).
//! - `dane-only`: Debian's Sendmail (8.17.1.9) is built without DANE
//!   (`sendmail -d0.1 -bt < /dev/null` lists no `DANE` under "Compiled
//!   with"), so no entry relies on TLSA records: such a domain gets what
//!   its certificates show without them.
//!
//! `Try_TLS:HOST NO` (no STARTTLS to a host) is a step down to clear
//! text: only suggested, commented out, for a host with only legacy TLS,
//! where Sendmail's OpenSSL (default security level) gets no session and
//! Sendmail defers the mail — seen in the interop suite. The fallback relay gets `TLS_Srv:` (TLS
//! required to the relay) and its domains `mailertable` entries, written
//! as `#mailertable ` lines so that the whole file stays one access map.

use super::{
    Entry, FallbackRelay, Generated, LEVEL_RULE, PolicyLevel, Provenance, RelayHost, Sender,
    below_min_block, below_min_list, commented, configuration_note, normalize, plan_with,
    printable, route_reason, titled,
};
use crate::mta_config::DomainFacts;

const DEFAULT: &str = "Sendmail's default applies: STARTTLS when offered";

/// `TLS_Rcpt:` requirement of an enforced entry.
fn requirement(e: &Entry, cn: bool) -> &'static str {
    match e.choice.level {
        // Never `DaneOnly`: the plan is made without DANE.
        PolicyLevel::Secure | PolicyLevel::DaneOnly if cn => "VERIFY+CN",
        PolicyLevel::Secure | PolicyLevel::DaneOnly => "VERIFY",
        _ => "ENCR:112",
    }
}

/// Every reachable address of the domain (in every audit of it) shows a
/// certificate whose subject CN is its MX host's name: `+CN` holds.
fn cn_names_every_mx(domains: &[DomainFacts], domain: &str) -> bool {
    let mut seen = false;
    for d in domains.iter().filter(|d| normalize(&d.domain) == domain) {
        for m in &d.mx {
            for a in m.addresses.iter().filter(|a| a.reachable) {
                seen = true;
                let cn = a.subject_cn.as_deref().map(normalize);
                if cn.as_deref() != Some(normalize(&m.host).as_str()) {
                    return false;
                }
            }
        }
    }
    seen
}

/// The MX hosts of `domain` where the audit saw only legacy TLS, which
/// Sendmail's OpenSSL refuses: its STARTTLS there fails and the mail is
/// deferred (454 4.7.0 TLS handshake failed) unless `Try_TLS:HOST NO`.
fn legacy_hosts(domains: &[DomainFacts], domain: &str) -> Vec<String> {
    let mut hosts: Vec<String> = domains
        .iter()
        .filter(|d| normalize(&d.domain) == domain)
        .flat_map(|d| &d.mx)
        .filter(|m| m.addresses.iter().any(|a| a.reachable && a.legacy_tls))
        .map(|m| normalize(&m.host))
        .filter(|h| super::safe_name(h))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The access map key of the relay for `TLS_Srv:` (Sendmail looks up
/// `${server_name}`, then `${server_addr}`; an IPv6 address is written
/// with its `IPv6:` tag).
fn relay_key(relay: &FallbackRelay) -> String {
    match &relay.host {
        RelayHost::Ipv6(ip) => format!("IPv6:{ip}"),
        other => other.bare(),
    }
}

fn fallback_block(
    out: &mut String,
    entries: &[Entry],
    min: Option<PolicyLevel>,
    relay: &FallbackRelay,
) {
    let host = relay.host.bracketed("IPv6:");
    let port_line = if relay.port == 25 {
        String::new()
    } else {
        format!("#   define(`RELAY_MAILER_ARGS', `TCP $h {}')\n", relay.port)
    };
    out.push_str(&format!(
        "\n# Fallback relay {relay}: the domains below the minimum level or without\n\
         # working STARTTLS go there instead of being sent in clear text, through\n\
         # the mailertable (the #mailertable lines below). sendmail.mc:\n\
         #   FEATURE(`mailertable', `hash -o /etc/mail/mailertable')\n\
         {port_line}\
         # then:\n\
         #   sed -n 's/^#mailertable //p' THIS_FILE >> /etc/mail/mailertable\n\
         #   makemap hash /etc/mail/mailertable < /etc/mail/mailertable\n\
         # The relay itself is reached with TLS required (TLS_Srv below); make it\n\
         # VERIFY once its certificate verifies with confCACERT.\n\
         TLS_Srv:{key}\tENCR:112\n",
        key = relay_key(relay),
    ));
    for e in entries.iter().filter(|e| e.routed) {
        out.push_str(&format!("# {}: {}\n", e.domain, route_reason(e, min)));
        out.push_str(&format!("#mailertable {}\trelay:{host}\n", e.domain));
    }
}

/// Access map entries for `domains`, in input order. `may` domains are
/// commented out with the reason; with `min`, domains below it are only
/// listed at the end (and returned in `below_min`); with `fallback`, the
/// routed ones get mailertable entries instead.
pub fn sendmail(
    domains: &[DomainFacts],
    min: Option<PolicyLevel>,
    fallback: Option<&FallbackRelay>,
    p: &Provenance,
) -> Generated {
    let entries = plan_with(domains, min, Sender::Sendmail, fallback.is_some());
    let mut out = String::new();
    let n = entries.len();
    titled(
        &mut out,
        "Sendmail access map entries for mandatory TLS to",
        n,
        p,
    );
    out.push_str(LEVEL_RULE);
    out.push_str(
        "#\n\
         # TLS_Rcpt:DOMAIN is checked before each RCPT TO to DOMAIN, on whichever MX\n\
         # host: VERIFY needs a certificate chain that verifies with confCACERT,\n\
         # +CN also the MX name as the certificate's subject CN (Sendmail does not\n\
         # read subjectAltName), ENCR:112 TLS with a cipher of 112 bits or more.\n\
         # Unmet, the mail is deferred (403 4.7.0).\n\
         #\n\
         # sendmail.mc (Sendmail 8.13 or later; then rebuild sendmail.cf):\n\
         #   FEATURE(`access_db', `hash -T<TMPF> -o /etc/mail/access')\n\
         #   define(`confCACERT_PATH', `/etc/ssl/certs')\n\
         #   define(`confCACERT', `/etc/ssl/certs/ca-certificates.crt')\n\
         # Add these entries to the access map (makemap skips the # lines):\n\
         #   cat THIS_FILE >> /etc/mail/access\n\
         #   makemap hash /etc/mail/access < /etc/mail/access\n\
         #\n\
         # DANE: Debian's Sendmail 8.17.1.9 is built without it (sendmail -d0.1 -bt\n\
         # < /dev/null lists no DANE under \"Compiled with\"), so no entry relies on\n\
         # TLSA records: where DANE works, a domain gets VERIFY if its certificates\n\
         # also verify, else ENCR:112.\n\
         # Try_TLS:HOST NO (no STARTTLS to a host: clear text) is only suggested,\n\
         # commented out, for a server with only legacy TLS, where Sendmail's\n\
         # OpenSSL gets no session and defers the mail; --fallback-relay avoids it.\n\
         # Domains left at \"may\" are commented out: STARTTLS when offered applies.\n",
    );
    for e in entries.iter().filter(|e| !e.below_min && !e.routed) {
        out.push('\n');
        if e.choice.level == PolicyLevel::May {
            out.push_str(&commented(e));
            // Sendmail's default (STARTTLS when offered) defers there:
            // the step down to clear text is the admin's, commented out.
            for host in legacy_hosts(domains, &e.domain) {
                out.push_str(&format!(
                    "#   Sendmail defers mail to {host} (454 4.7.0 TLS handshake failed); to send it\n\
                     #   in clear text instead, uncomment (or use --fallback-relay):\n\
                     # Try_TLS:{host}\tNO\n"
                ));
            }
            continue;
        }
        let cn = cn_names_every_mx(domains, &e.domain);
        out.push_str(&format!(
            "# {} {}: {}\n",
            e.domain,
            e.choice.level,
            printable(&e.choice.reason)
        ));
        if e.dane_unused {
            out.push_str("#   DANE works there too; this Sendmail cannot require it.\n");
        }
        if e.choice.level >= PolicyLevel::Secure && !cn {
            out.push_str("#   no +CN: not every MX host's name is its certificate's subject CN\n");
        }
        out.push_str(&configuration_note(e));
        out.push_str(&format!("TLS_Rcpt:{}\t{}\n", e.domain, requirement(e, cn)));
    }
    below_min_block(&mut out, &entries, min, DEFAULT);
    if let Some(relay) = fallback {
        fallback_block(&mut out, &entries, min, relay);
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

    /// pkix.example's certificates name their MX hosts in the CN,
    /// san.example's only in the subject alternative names; dane.example
    /// has DANE and a chain that verifies, daneee.example DANE only.
    fn input() -> Vec<DomainFacts> {
        let mut pkix = pkix();
        for m in &mut pkix.mx {
            let name = m.host.to_ascii_lowercase();
            for a in &mut m.addresses {
                a.subject_cn = Some(name.trim_end_matches('.').to_string());
            }
        }
        let mut pkix_san = super::super::testutil::pkix();
        pkix_san.domain = "san.example".into();
        let mut dane_ee = dane();
        dane_ee.domain = "daneee.example".into();
        dane_ee.mx[0].addresses[0].chain_valid = false;
        let mut legacy = selfsigned();
        legacy.domain = "legacy.example".into();
        legacy.mx[0].host = "mx.legacy.example".into();
        legacy.mx[0].addresses[0].legacy_tls = true;
        let mut small = super::super::testutil::pkix();
        small.domain = "small.example".into();
        small.mx[0].addresses[0].small_key = true;
        vec![
            dane(),
            dane_ee,
            pkix,
            pkix_san,
            selfsigned(),
            plain(),
            legacy,
            small,
        ]
    }

    #[test]
    fn access_entries() {
        let g = sendmail(&input(), None, None, &provenance());
        insta::assert_snapshot!(g.text);
        assert!(g.below_min.is_empty());
    }

    #[test]
    fn min_level_and_fallback_relay() {
        let relay: FallbackRelay = "relay.example:2525".parse().expect("relay");
        let g = sendmail(
            &input(),
            Some(PolicyLevel::Secure),
            Some(&relay),
            &provenance(),
        );
        insta::assert_snapshot!(g.text);
        let below: Vec<&str> = g.below_min.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            below,
            [
                "daneee.example",
                "self.example",
                "plain.example",
                "legacy.example",
                "small.example"
            ]
        );
    }

    #[test]
    fn active_lines_are_access_entries_only() {
        let relay: FallbackRelay = "[2001:db8::25]".parse().expect("relay");
        let mut evil = pkix();
        evil.domain = "evil.example\nTLS_Rcpt:example.com VERIFY".into();
        let mut inputs = input();
        inputs.push(evil);
        for fallback in [None, Some(&relay)] {
            let t = sendmail(&inputs, Some(PolicyLevel::Encrypt), fallback, &provenance()).text;
            for l in t.lines() {
                assert!(
                    l.is_empty()
                        || l.starts_with('#')
                        || l.starts_with("TLS_Rcpt:")
                        || l.starts_with("TLS_Srv:"),
                    "{l:?}"
                );
            }
            assert!(!t.contains("TLS_Rcpt:evil"), "{t}");
        }
        let t = sendmail(&inputs, None, Some(&relay), &provenance()).text;
        assert!(t.contains("TLS_Srv:IPv6:2001:db8::25\tENCR:112\n"), "{t}");
        assert!(
            t.contains("#mailertable plain.example\trelay:[IPv6:2001:db8::25]\n"),
            "{t}"
        );
        assert!(!t.contains("RELAY_MAILER_ARGS"), "port 25 needs none: {t}");
    }
}
