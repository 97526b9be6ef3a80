//! Sender policies: configuration that makes *our* MTA insist on TLS to
//! partner domains, written from audit evidence.
//!
//! The rule is never to emit an enforcing level the audit shows would fail,
//! because that defers mail. [`choose`] picks, per domain, the strongest
//! level that every reachable MX address satisfied during the audit; the
//! writers turn the choices into a Postfix `smtp_tls_policy_maps` table
//! ([`postfix`]), Exim domain lists ([`exim`]), or, for a domain the admin
//! owns, an MTA-STS policy in testing mode ([`mta_sts`]).
//!
//! Input is [`DomainFacts`]: the few facts a policy needs, taken from an
//! in-process [`DomainReport`] ([`DomainFacts::from_report`]) or from a
//! domain object of an earlier JSON / NDJSON report
//! ([`DomainFacts::from_json`]).
//!
//! Output is deterministic: the same audit gives the same text, byte for
//! byte (input order, no clock; the date in the header is the audit's).
//! Every name written into an active configuration line is checked to be a
//! plain DNS name, and every string written into a comment is made
//! printable, so a hostile MX name or banner cannot inject configuration.

use std::fmt;
use std::str::FromStr;

use crate::protection::{RecordState, TlsaStatus};
use crate::report::{AddressReport, DaneResult, DomainReport, MxReport, SessionState};
use crate::resolver::Dnssec;

mod exim;
mod json;
mod mta_sts;
mod postfix;

pub use exim::exim;
pub use mta_sts::{MtaSts, mta_sts};
pub use postfix::postfix;

/// The facts a policy needs about one audited domain, from an in-process
/// report or from a line of an earlier NDJSON report (`--from`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainFacts {
    /// As audited (canonical A-labels for in-process reports).
    pub domain: String,
    /// The verdict name, e.g. `secure`, `no-mail`.
    pub verdict: String,
    /// Sorted by preference, as in the report.
    pub mx: Vec<MxFacts>,
    /// Why the domain could not be audited at all (NXDOMAIN, DNS failure…).
    pub error: Option<String>,
    /// The MX RRset is DNSSEC-`secure` (report field `dnssec`). Required
    /// for `dane-only`: Exim uses DANE only with a signed MX RRset, and a
    /// mandatory-DANE level must not depend on resolver leniency.
    pub mx_dnssec_secure: bool,
    /// The `rua` destinations of a valid TLS-RPT record; empty when none
    /// is published (or it was not looked up).
    pub tls_rpt_rua: Vec<String>,
}

/// One MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxFacts {
    pub host: String,
    /// `tlsa.status == "found"`: DNSSEC-signed TLSA records exist.
    pub tlsa_found: bool,
    pub addresses: Vec<AddressFacts>,
}

/// One probed MX address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFacts {
    pub ip: String,
    /// It answered SMTP (a sender would hand it mail).
    pub reachable: bool,
    /// Mail to it is encrypted: the TLS session was established and stayed
    /// usable, or TLS works only with legacy versions or suites.
    pub tls: bool,
    /// TLS works only with versions or suites smtptls's own client does not
    /// use (`legacy_tls` in the report): `encrypt` at most, since whether a
    /// verifying sender gets a session depends on its TLS library.
    pub legacy_tls: bool,
    pub chain_valid: bool,
    pub hostname_match: bool,
    /// The DANE result's kebab-case name (`valid`, `mismatch`, …).
    pub dane: String,
    /// The certificate's subject alternative names.
    pub cert_names: Vec<String>,
}

/// An address that failed in one of these phases never answered SMTP
/// (as `reachable` in `inspector/delivery.rs`).
fn dane_name(d: DaneResult) -> &'static str {
    match d {
        DaneResult::Valid => "valid",
        DaneResult::Mismatch => "mismatch",
        DaneResult::Unusable => "unusable",
        DaneResult::Insecure => "insecure",
        DaneResult::None => "none",
        DaneResult::LookupFailed => "lookup-failed",
    }
}

impl AddressFacts {
    fn from_report(a: &AddressReport) -> Self {
        let cert = a.certificate.as_ref();
        AddressFacts {
            ip: a.ip.to_string(),
            reachable: a.reachable(),
            tls: a.encrypts(),
            legacy_tls: a.legacy_tls,
            chain_valid: cert.is_some_and(|c| c.chain_valid),
            hostname_match: cert.is_some_and(|c| c.hostname_match),
            dane: dane_name(a.dane).to_string(),
            cert_names: cert
                .map(|c| c.subject_alt_names.clone())
                .unwrap_or_default(),
        }
    }
}

impl MxFacts {
    fn from_report(m: &MxReport) -> Self {
        MxFacts {
            host: m.host.clone(),
            tlsa_found: m
                .tlsa
                .as_ref()
                .is_some_and(|t| t.status == TlsaStatus::Found),
            addresses: m.addresses.iter().map(AddressFacts::from_report).collect(),
        }
    }
}

impl DomainFacts {
    pub fn from_report(r: &DomainReport) -> Self {
        DomainFacts {
            domain: r.domain.clone(),
            verdict: r.verdict.as_str().to_string(),
            mx: r.mx.iter().map(MxFacts::from_report).collect(),
            error: r.error.as_ref().map(|e| e.message.clone()),
            mx_dnssec_secure: r.dnssec == Dnssec::Secure,
            tls_rpt_rua: r
                .tls_rpt
                .as_ref()
                .filter(|t| t.record == RecordState::Valid)
                .map(|t| t.rua.clone())
                .unwrap_or_default(),
        }
    }

    /// From one domain object of a JSON report (an NDJSON line, or an
    /// element of `domains` in `--format json`). The error names the
    /// missing or mistyped field, with its path.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        json::domain(v)
    }
}

/// How strongly a sender can insist on TLS to a domain. Ordered by
/// strength: `May < Encrypt < Secure < DaneOnly`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum PolicyLevel {
    /// Opportunistic TLS: nothing enforced.
    May,
    /// TLS required, certificate not checked.
    Encrypt,
    /// TLS required with a certificate that validates and names the MX.
    Secure,
    /// DANE required: TLSA records must exist and match.
    DaneOnly,
}

impl PolicyLevel {
    pub const ALL: [PolicyLevel; 4] = [
        PolicyLevel::May,
        PolicyLevel::Encrypt,
        PolicyLevel::Secure,
        PolicyLevel::DaneOnly,
    ];

    /// The Postfix level name, also used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyLevel::May => "may",
            PolicyLevel::Encrypt => "encrypt",
            PolicyLevel::Secure => "secure",
            PolicyLevel::DaneOnly => "dane-only",
        }
    }
}

impl fmt::Display for PolicyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PolicyLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PolicyLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = PolicyLevel::ALL.iter().map(|l| l.as_str()).collect();
                format!("unknown level {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// The level chosen for a domain, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub level: PolicyLevel,
    /// One printable line (hostile names are escaped).
    pub reason: String,
    /// For `Secure`: the MX host names the certificate may match (sorted,
    /// deduplicated, lower case); empty otherwise.
    pub match_names: Vec<String>,
}

impl Choice {
    fn may(reason: impl Into<String>) -> Self {
        Choice {
            level: PolicyLevel::May,
            reason: reason.into(),
            match_names: Vec::new(),
        }
    }
}

/// Where a generated file came from; written as its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// smtptls's version (`CARGO_PKG_VERSION`).
    pub tool_version: String,
    /// When the audit ran: the report's `generated_at` (RFC 3339), never
    /// the clock, so the same audit gives the same file. May be empty when
    /// unknown (an NDJSON file carries no date).
    pub audit_time: String,
    /// What the facts came from, e.g. `an audit of 3 domains` or
    /// `report.ndjson`.
    pub source: String,
}

impl Provenance {
    /// With this build's version.
    pub fn new(audit_time: impl Into<String>, source: impl Into<String>) -> Self {
        Provenance {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            audit_time: audit_time.into(),
            source: source.into(),
        }
    }
}

/// A generated policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub text: String,
    /// With a minimum level: the domains below it, not enforced by the
    /// file, in input order.
    pub below_min: Vec<(String, Choice)>,
}

/// The strongest level every reachable MX address satisfied in the audit.
///
/// Conservative: unreachable addresses are not judged (a sender moves on
/// to the next), but a domain with nothing reachable, an audit error or no
/// MX gets `May`; `DaneOnly` needs a DNSSEC-signed MX RRset, TLSA records
/// on every MX host and a DANE match with TLS on every reachable address;
/// `Secure` a valid chain and name on every reachable address; `Encrypt`
/// TLS on every reachable address.
pub fn choose(d: &DomainFacts) -> Choice {
    let domain = normalize(&d.domain);
    if !safe_name(&domain) {
        return Choice::may(format!(
            "the domain name {} cannot be written into a policy file",
            printable(&d.domain)
        ));
    }
    if let Some(e) = &d.error {
        return Choice::may(format!("the audit failed: {}", printable(e)));
    }
    if d.verdict == "no-mail" {
        return Choice::may("null MX: the domain accepts no mail");
    }
    if d.mx.is_empty() {
        return Choice::may("no MX host was found");
    }
    let reachable: Vec<(&MxFacts, &AddressFacts)> =
        d.mx.iter()
            .flat_map(|m| m.addresses.iter().map(move |a| (m, a)))
            .filter(|(_, a)| a.reachable)
            .collect();
    if reachable.is_empty() {
        return Choice::may(
            "no MX address answered during the audit: nothing shows what would work",
        );
    }
    let unreachable = d.mx.iter().map(|m| m.addresses.len()).sum::<usize>() - reachable.len();
    let unjudged = match unreachable {
        0 => String::new(),
        1 => "; 1 unreachable address not judged".to_string(),
        n => format!("; {n} unreachable addresses not judged"),
    };
    let n = reachable.len();
    let at =
        |m: &MxFacts, a: &AddressFacts| format!("{} [{}]", printable(&m.host), printable(&a.ip));

    // Every enforcing level needs TLS.
    if let Some((m, a)) = reachable.iter().find(|(_, a)| !a.tls) {
        return Choice::may(format!(
            "{} has no working STARTTLS: enforcing TLS would defer mail",
            at(m, a)
        ));
    }

    let encrypt = |why: String| Choice {
        level: PolicyLevel::Encrypt,
        reason: format!("TLS on every reachable MX address, but {why}{unjudged}"),
        match_names: Vec::new(),
    };
    if let Some((m, a)) = reachable.iter().find(|(_, a)| a.legacy_tls) {
        return encrypt(format!(
            "{}: only with TLS versions or suites that smtptls's own client does not use (legacy TLS); whether a verifying sender gets a session there depends on its TLS library",
            at(m, a)
        ));
    }

    let dane = d.mx_dnssec_secure
        && d.mx.iter().all(|m| m.tlsa_found)
        && reachable.iter().all(|(_, a)| a.dane == "valid");
    if dane {
        return Choice {
            level: PolicyLevel::DaneOnly,
            reason: format!(
                "DANE: signed TLSA records on every MX host match on every reachable address ({n}){unjudged}"
            ),
            match_names: Vec::new(),
        };
    }

    if let Some((m, a)) = reachable
        .iter()
        .find(|(_, a)| !(a.chain_valid && a.hostname_match))
    {
        let why = match (a.chain_valid, a.hostname_match) {
            (false, false) => "certificate chain not valid and not naming the host",
            (false, true) => "certificate chain not valid",
            _ => "certificate does not name the host",
        };
        return encrypt(format!("{}: {why}", at(m, a)));
    }
    // The names go into an active line: each must be a plain DNS name.
    if let Some((m, _)) = reachable
        .iter()
        .find(|(m, _)| !safe_name(&normalize(&m.host)))
    {
        return encrypt(format!(
            "the MX name {} cannot be written into a policy file",
            printable(&m.host)
        ));
    }
    let mut names: Vec<String> =
        d.mx.iter()
            .map(|m| normalize(&m.host))
            .filter(|h| safe_name(h))
            .collect();
    names.sort();
    names.dedup();
    Choice {
        level: PolicyLevel::Secure,
        reason: format!(
            "valid certificate chain and name on every reachable MX address ({n}){unjudged}"
        ),
        match_names: names,
    }
}

/// Lower case, without a trailing dot.
fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A plain (A-label) DNS name, safe to write into an active configuration
/// line of any of the formats: letters, digits, `-`, `_`, dots between
/// non-empty labels.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// One line of printable text: control characters and noncharacters are
/// escaped (`\u{a}`), so nothing read from the network can end a comment
/// line or hide text. Idempotent.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let nonchar = matches!(c as u32, 0xfdd0..=0xfdef) || (c as u32) & 0xfffe == 0xfffe;
        if c.is_control() || nonchar || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// The header every generated file starts with, as `#` comments.
fn header(out: &mut String, title: &str, p: &Provenance) {
    let time = if p.audit_time.trim().is_empty() {
        "unknown".to_string()
    } else {
        printable(&p.audit_time)
    };
    out.push_str(&format!("# {title}\n"));
    out.push_str(&format!(
        "# Generated by smtptls {} from {} (audit time: {time}).\n",
        printable(&p.tool_version),
        printable(&p.source),
    ));
}

/// One domain of a policy file.
struct Entry {
    domain: String,
    choice: Choice,
    /// Below the minimum level: listed at the end, not enforced.
    below_min: bool,
}

/// One entry per distinct domain, in input order. A domain given twice
/// gets the weaker of its choices (for two `Secure` ones, the union of
/// their names): the file must hold for every audit it came from.
fn plan(domains: &[DomainFacts], min: Option<PolicyLevel>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for d in domains {
        let choice = choose(d);
        let domain = normalize(&d.domain);
        if let Some(e) = entries.iter_mut().find(|e| e.domain == domain) {
            if choice.level < e.choice.level {
                e.choice = choice;
            } else if choice.level == e.choice.level {
                e.choice.match_names.extend(choice.match_names);
                e.choice.match_names.sort();
                e.choice.match_names.dedup();
            }
            continue;
        }
        entries.push(Entry {
            domain,
            choice,
            below_min: false,
        });
    }
    for e in &mut entries {
        e.below_min = min.is_some_and(|min| e.choice.level < min);
        if !safe_name(&e.domain) {
            e.domain = printable(&e.domain);
        }
    }
    entries
}

/// The commented-out line of a domain left at `may` (or below the
/// minimum): `# example.com may  (reason)`.
fn commented(e: &Entry) -> String {
    format!(
        "# {} {}  ({})\n",
        e.domain,
        e.choice.level,
        printable(&e.choice.reason)
    )
}

/// The closing block listing the domains below `min`.
fn below_min_block(out: &mut String, entries: &[Entry], min: Option<PolicyLevel>, default: &str) {
    let Some(min) = min else { return };
    let below: Vec<&Entry> = entries.iter().filter(|e| e.below_min).collect();
    if below.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n# Below the minimum level {min}: not enforced by this file ({default}).\n"
    ));
    for e in below {
        out.push_str(&commented(e));
    }
}

fn below_min_list(entries: &[Entry]) -> Vec<(String, Choice)> {
    entries
        .iter()
        .filter(|e| e.below_min)
        .map(|e| (e.domain.clone(), e.choice.clone()))
        .collect()
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Hand-built facts for the writers' tests.
    use super::*;

    pub fn addr(ip: &str) -> AddressFacts {
        AddressFacts {
            ip: ip.to_string(),
            reachable: true,
            tls: true,
            legacy_tls: false,
            chain_valid: true,
            hostname_match: true,
            dane: "none".to_string(),
            cert_names: Vec::new(),
        }
    }

    pub fn mx(host: &str, addresses: Vec<AddressFacts>) -> MxFacts {
        MxFacts {
            host: host.to_string(),
            tlsa_found: false,
            addresses,
        }
    }

    pub fn domain(name: &str, verdict: &str, mx: Vec<MxFacts>) -> DomainFacts {
        DomainFacts {
            domain: name.to_string(),
            verdict: verdict.to_string(),
            mx,
            error: None,
            mx_dnssec_secure: false,
            tls_rpt_rua: Vec::new(),
        }
    }

    /// DANE-valid everywhere, signed MX.
    pub fn dane() -> DomainFacts {
        let mut a = addr("192.0.2.1");
        a.dane = "valid".into();
        let mut m = mx("mx.dane.example", vec![a]);
        m.tlsa_found = true;
        let mut d = domain("dane.example", "protected", vec![m]);
        d.mx_dnssec_secure = true;
        d
    }

    /// Valid certificates on two MX hosts (given upper case, with dots).
    pub fn pkix() -> DomainFacts {
        domain(
            "pkix.example",
            "secure",
            vec![
                mx("MX2.pkix.example.", vec![addr("192.0.2.2")]),
                mx("mx1.pkix.example", vec![addr("2001:db8::1")]),
            ],
        )
    }

    /// A self-signed certificate.
    pub fn selfsigned() -> DomainFacts {
        let mut a = addr("192.0.2.3");
        a.chain_valid = false;
        domain(
            "self.example",
            "encrypted",
            vec![mx("mx.self.example", vec![a])],
        )
    }

    /// One MX without STARTTLS beside a good one.
    pub fn plain() -> DomainFacts {
        let mut a = addr("192.0.2.4");
        a.tls = false;
        a.chain_valid = false;
        a.hostname_match = false;
        domain(
            "plain.example",
            "partial",
            vec![
                mx("mx1.plain.example", vec![addr("192.0.2.5")]),
                mx("mx2.plain.example", vec![a]),
            ],
        )
    }

    pub fn provenance() -> Provenance {
        Provenance {
            tool_version: "0.1.0".into(),
            audit_time: "2025-06-01T12:00:00Z".into(),
            source: "an audit of 4 domains".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn levels_parse_display_and_order() {
        for l in PolicyLevel::ALL {
            assert_eq!(l.to_string().parse::<PolicyLevel>(), Ok(l));
        }
        assert_eq!(
            "dane-only".parse::<PolicyLevel>(),
            Ok(PolicyLevel::DaneOnly)
        );
        assert!(
            "verify"
                .parse::<PolicyLevel>()
                .unwrap_err()
                .contains("dane-only")
        );
        assert!(PolicyLevel::May < PolicyLevel::Encrypt);
        assert!(PolicyLevel::Encrypt < PolicyLevel::Secure);
        assert!(PolicyLevel::Secure < PolicyLevel::DaneOnly);
    }

    #[test]
    fn dane_valid_everywhere_is_dane_only() {
        let c = choose(&dane());
        assert_eq!(c.level, PolicyLevel::DaneOnly, "{c:?}");
        assert!(c.reason.contains("TLSA"), "{}", c.reason);
    }

    #[test]
    fn dane_needs_signed_mx_tlsa_everywhere_and_matches() {
        // Unsigned MX RRset: PKIX is valid, so secure.
        let mut d = dane();
        d.mx_dnssec_secure = false;
        assert_eq!(choose(&d).level, PolicyLevel::Secure);
        // A second host without TLSA records.
        let mut d = dane();
        let mut a = addr("192.0.2.9");
        a.dane = "valid".into();
        d.mx.push(mx("mx2.dane.example", vec![a]));
        assert_eq!(choose(&d).level, PolicyLevel::Secure);
        // A mismatch on one address.
        let mut d = dane();
        d.mx[0].addresses[0].dane = "mismatch".into();
        assert_eq!(choose(&d).level, PolicyLevel::Secure);
        // DANE-EE on a self-signed certificate: DANE only.
        let mut d = dane();
        d.mx[0].addresses[0].chain_valid = false;
        assert_eq!(choose(&d).level, PolicyLevel::DaneOnly);
        // Without TLS, nothing is enforced.
        d.mx[0].addresses[0].tls = false;
        assert_eq!(choose(&d).level, PolicyLevel::May);
    }

    #[test]
    fn valid_certificates_are_secure_with_the_mx_names() {
        let c = choose(&pkix());
        assert_eq!(c.level, PolicyLevel::Secure, "{c:?}");
        assert_eq!(c.match_names, ["mx1.pkix.example", "mx2.pkix.example"]);
        assert_eq!(
            c.reason,
            "valid certificate chain and name on every reachable MX address (2)"
        );
    }

    #[test]
    fn legacy_tls_is_encrypt_even_with_a_valid_chain() {
        // TLS 1.0 only: OpenSSL senders encrypt, but whether a verifying
        // one gets a session depends on its library (Postfix at `secure`
        // does not, in the interop suite).
        let mut d = selfsigned();
        let a = &mut d.mx[0].addresses[0];
        a.chain_valid = true;
        a.hostname_match = true;
        a.legacy_tls = true;
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::Encrypt);
        assert!(c.reason.contains("legacy TLS"), "{}", c.reason);
    }

    #[test]
    fn self_signed_is_encrypt() {
        let c = choose(&selfsigned());
        assert_eq!(c.level, PolicyLevel::Encrypt);
        assert!(c.match_names.is_empty());
        assert_eq!(
            c.reason,
            "TLS on every reachable MX address, but mx.self.example [192.0.2.3]: certificate chain not valid"
        );
        let mut d = selfsigned();
        d.mx[0].addresses[0].chain_valid = true;
        d.mx[0].addresses[0].hostname_match = false;
        assert!(
            choose(&d)
                .reason
                .ends_with("certificate does not name the host")
        );
    }

    #[test]
    fn one_mx_without_starttls_is_may() {
        let c = choose(&plain());
        assert_eq!(c.level, PolicyLevel::May);
        assert_eq!(
            c.reason,
            "mx2.plain.example [192.0.2.4] has no working STARTTLS: enforcing TLS would defer mail"
        );
    }

    #[test]
    fn unreachable_addresses_are_not_judged() {
        let mut d = pkix();
        let mut dead = addr("192.0.2.99");
        dead.reachable = false;
        dead.tls = false;
        d.mx[0].addresses.push(dead);
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::Secure);
        assert!(
            c.reason.ends_with("; 1 unreachable address not judged"),
            "{}",
            c.reason
        );
    }

    #[test]
    fn nothing_reachable_error_or_no_mx_is_may() {
        let mut d = pkix();
        for m in &mut d.mx {
            for a in &mut m.addresses {
                a.reachable = false;
            }
        }
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::May);
        assert!(c.reason.contains("no MX address answered"));

        let mut nx = domain("nx.example", "error", Vec::new());
        nx.error = Some("nx.example does not exist (NXDOMAIN)".into());
        let c = choose(&nx);
        assert_eq!(c.level, PolicyLevel::May);
        assert_eq!(
            c.reason,
            "the audit failed: nx.example does not exist (NXDOMAIN)"
        );

        let null = domain("null.example", "no-mail", Vec::new());
        assert_eq!(choose(&null).level, PolicyLevel::May);
        assert!(choose(&null).reason.contains("null MX"));

        let none = domain("none.example", "error", vec![mx("mx.none.example", vec![])]);
        assert_eq!(choose(&none).level, PolicyLevel::May);
    }

    #[test]
    fn hostile_names_never_reach_an_active_line() {
        let hostile = "mx\n/etc/passwd\r\u{1b}.evil.example";
        let mut d = pkix();
        d.mx[0].host = hostile.into();
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::Encrypt, "{c:?}");
        assert!(!c.reason.contains('\n') && !c.reason.contains('\u{1b}'));

        let mut d = pkix();
        d.domain = "evil.example\nexample.com may".into();
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::May);
        assert!(!c.reason.contains('\n'));
        assert_eq!(printable(&c.reason), c.reason, "idempotent");
    }

    #[test]
    fn safe_names() {
        assert!(safe_name("mx1.example.com"));
        assert!(safe_name("xn--bcher-kva.example"));
        assert!(!safe_name(""));
        assert!(!safe_name("a..b"));
        assert!(!safe_name("-a.b"));
        assert!(!safe_name("a b"));
        assert!(!safe_name("a:b"));
        assert!(!safe_name("*.example"));
    }

    #[test]
    fn a_repeated_domain_gets_its_weakest_choice() {
        let mut again = selfsigned();
        again.domain = "PKIX.example.".into();
        let entries = plan(&[pkix(), again], None);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].domain, "pkix.example");
        assert_eq!(entries[0].choice.level, PolicyLevel::Encrypt);
    }
}
