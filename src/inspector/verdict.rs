//! The grading rubric: from what each MX address showed to one verdict per
//! domain. This is the only place the rubric lives; `docs/grading.md`
//! explains it and must change with it.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A domain's overall grade, best first. See `docs/grading.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// `secure`, and downgrade protection (DANE, or MTA-STS in enforce
    /// mode) works for every reachable MX address.
    Protected,
    /// Every reachable MX address offers STARTTLS with TLS ≥ 1.2 and a
    /// certificate that validates and matches the MX name.
    Secure,
    /// Every reachable MX address has working STARTTLS, but at least one
    /// certificate cannot be authenticated (chain, name, dates).
    Encrypted,
    /// Some reachable MX addresses have no working STARTTLS.
    Partial,
    /// No reachable MX address has working STARTTLS.
    Plaintext,
    /// A published policy (DANE, MTA-STS enforce) makes enforcing senders
    /// defer: the domain is losing mail now.
    Broken,
    /// DNS failed, the domain does not exist, or no MX address answered.
    Error,
    /// Null MX: the domain accepts no mail. Outside the order.
    NoMail,
}

impl Verdict {
    pub const ALL: [Verdict; 8] = [
        Verdict::Protected,
        Verdict::Secure,
        Verdict::Encrypted,
        Verdict::Partial,
        Verdict::Plaintext,
        Verdict::Broken,
        Verdict::Error,
        Verdict::NoMail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Protected => "protected",
            Verdict::Secure => "secure",
            Verdict::Encrypted => "encrypted",
            Verdict::Partial => "partial",
            Verdict::Plaintext => "plaintext",
            Verdict::Broken => "broken",
            Verdict::Error => "error",
            Verdict::NoMail => "no-mail",
        }
    }

    /// Position in the order, higher is better; `None` for `no-mail`,
    /// which has no mail to protect and so is never below a threshold.
    pub fn rank(self) -> Option<u8> {
        match self {
            Verdict::Protected => Some(6),
            Verdict::Secure => Some(5),
            Verdict::Encrypted => Some(4),
            Verdict::Partial => Some(3),
            Verdict::Plaintext => Some(2),
            Verdict::Broken => Some(1),
            Verdict::Error => Some(0),
            Verdict::NoMail => None,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
                format!("unknown verdict {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// `--fail-below VERDICT`: a domain whose verdict ranks below this fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold(pub Verdict);

impl Default for Threshold {
    /// Fail on `partial`, `plaintext`, `broken` and `error`.
    fn default() -> Self {
        Threshold(Verdict::Encrypted)
    }
}

impl Threshold {
    pub fn fails(self, verdict: Verdict) -> bool {
        match (verdict.rank(), self.0.rank()) {
            (Some(v), Some(t)) => v < t,
            // no-mail never fails; `--fail-below no-mail` is rejected by the CLI.
            _ => false,
        }
    }
}

/// What one MX address amounts to, for the rubric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressGrade {
    /// Could not be judged: no connection, no banner, refused greeting.
    Unreachable,
    /// Reached, but mail to it would travel in clear text (no STARTTLS,
    /// STARTTLS refused, handshake failed, session unusable).
    NoTls,
    /// Encrypted only with TLS versions or suites smtptls's own client does
    /// not speak (`legacy_tls`): senders on OpenSSL or GnuTLS encrypt,
    /// stricter ones do not; never authenticated.
    LegacyTls,
    /// Encrypted, but the certificate cannot be authenticated.
    Unauthenticated,
    /// Encrypted and authenticated, but the address accepts insufficient
    /// TLS settings (NCSC-NL: a version, suite, key exchange, compression,
    /// certificate key or hash) or runs commands injected before TLS.
    Weak,
    /// Encrypted, TLS ≥ 1.2, valid chain, matching name.
    Authenticated,
}

/// The rubric. `grades` holds every probed address of every MX.
pub fn domain_verdict(grades: &[AddressGrade]) -> (Verdict, String) {
    let count = |g| grades.iter().filter(|&&x| x == g).count();
    let unreachable = count(AddressGrade::Unreachable);
    let no_tls = count(AddressGrade::NoTls);
    let unauth = count(AddressGrade::Unauthenticated);
    let legacy = count(AddressGrade::LegacyTls);
    let weak = count(AddressGrade::Weak);
    let reachable = grades.len() - unreachable;
    let skipped = if unreachable > 0 {
        format!(" ({unreachable} unreachable MX address(es) or host(s) not graded)")
    } else {
        String::new()
    };
    if grades.is_empty() {
        return (Verdict::Error, "no MX address to probe".into());
    }
    if reachable == 0 {
        return (Verdict::Error, "no MX address could be reached".into());
    }
    if no_tls == reachable {
        return (
            Verdict::Plaintext,
            format!("no reachable MX address has working STARTTLS{skipped}"),
        );
    }
    if no_tls > 0 {
        return (
            Verdict::Partial,
            format!(
                "{no_tls} of {reachable} reachable MX addresses have no working STARTTLS{skipped}"
            ),
        );
    }
    if unauth > 0 || legacy > 0 {
        let mut but = Vec::new();
        if legacy > 0 {
            but.push(format!(
                "{legacy} of {reachable} addresses encrypt only with legacy TLS (versions or suites a TLS 1.2/1.3 client with modern suites does not use)"
            ));
        }
        if unauth > 0 {
            but.push(format!(
                "{unauth} of {reachable} certificates cannot be authenticated"
            ));
        }
        return (
            Verdict::Encrypted,
            format!("STARTTLS everywhere, but {}{skipped}", but.join("; ")),
        );
    }
    if weak > 0 {
        return (
            Verdict::Encrypted,
            format!(
                "STARTTLS with valid certificates everywhere, but {weak} of {reachable} addresses accept insufficient TLS settings or command injection{skipped}"
            ),
        );
    }
    (
        Verdict::Secure,
        format!(
            "STARTTLS with a valid, matching certificate on every reachable MX address{skipped}"
        ),
    )
}

/// The policy layer of the rubric, on top of [`domain_verdict`]: a policy
/// that makes an enforcing sender defer is `broken` (mail is being lost,
/// whatever the encryption looks like); a `secure` domain whose every
/// reachable address is covered by DANE or MTA-STS enforce is `protected`.
pub fn with_policies(
    base: (Verdict, String),
    delivery: &crate::report::Delivery,
    fully_protected: bool,
) -> (Verdict, String) {
    use crate::report::DeliveryResult::Deferred;
    let (verdict, reason) = base;
    // Nothing reachable is an error, not a policy problem.
    if verdict == Verdict::Error {
        return (verdict, reason);
    }
    if delivery.dane.result == Deferred {
        return (
            Verdict::Broken,
            format!(
                "DANE-enforcing senders defer mail: {}",
                delivery.dane.reason
            ),
        );
    }
    if delivery.mta_sts.result == Deferred {
        return (
            Verdict::Broken,
            format!(
                "MTA-STS-enforcing senders defer mail: {}",
                delivery.mta_sts.reason
            ),
        );
    }
    if verdict == Verdict::Secure && fully_protected {
        return (
            Verdict::Protected,
            format!(
                "{reason}; DANE or MTA-STS enforce protects every MX address against downgrade"
            ),
        );
    }
    (verdict, reason)
}

#[cfg(test)]
mod tests {
    use super::AddressGrade::*;
    use super::*;

    #[test]
    fn rubric() {
        assert_eq!(domain_verdict(&[]).0, Verdict::Error);
        assert_eq!(
            domain_verdict(&[Unreachable, Unreachable]).0,
            Verdict::Error
        );
        assert_eq!(domain_verdict(&[NoTls, Unreachable]).0, Verdict::Plaintext);
        assert_eq!(domain_verdict(&[NoTls, Authenticated]).0, Verdict::Partial);
        assert_eq!(
            domain_verdict(&[Unauthenticated, Authenticated]).0,
            Verdict::Encrypted
        );
        assert_eq!(
            domain_verdict(&[Authenticated, Authenticated]).0,
            Verdict::Secure
        );
        let (v, why) = domain_verdict(&[Weak, Authenticated]);
        assert_eq!(v, Verdict::Encrypted);
        assert!(why.contains("insufficient TLS settings"), "{why}");
        assert_eq!(
            domain_verdict(&[Weak, Unauthenticated]).0,
            Verdict::Encrypted
        );
        let (v, why) = domain_verdict(&[Authenticated, Unreachable]);
        assert_eq!(v, Verdict::Secure);
        assert!(why.contains("1 unreachable"));
        // Legacy TLS only: encrypted, and the reason says why.
        let (v, why) = domain_verdict(&[LegacyTls]);
        assert_eq!(v, Verdict::Encrypted);
        assert_eq!(
            why,
            "STARTTLS everywhere, but 1 of 1 addresses encrypt only with legacy TLS (versions or suites a TLS 1.2/1.3 client with modern suites does not use)"
        );
        let (_, why) = domain_verdict(&[LegacyTls, Unauthenticated]);
        assert!(
            why.ends_with("; 1 of 2 certificates cannot be authenticated"),
            "{why}"
        );
        assert_eq!(domain_verdict(&[LegacyTls, NoTls]).0, Verdict::Partial);
    }

    #[test]
    fn threshold_order() {
        let t = Threshold::default();
        assert!(!t.fails(Verdict::Secure));
        assert!(!t.fails(Verdict::Encrypted));
        assert!(t.fails(Verdict::Partial));
        assert!(t.fails(Verdict::Plaintext));
        assert!(t.fails(Verdict::Error));
        assert!(!t.fails(Verdict::NoMail));
        assert!(Threshold(Verdict::Secure).fails(Verdict::Encrypted));
        assert!(t.fails(Verdict::Broken));
        assert!(Threshold(Verdict::Plaintext).fails(Verdict::Broken));
        assert!(Threshold(Verdict::Protected).fails(Verdict::Secure));
        assert!(!Threshold(Verdict::Error).fails(Verdict::Error));
    }

    #[test]
    fn names_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(v.as_str().parse::<Verdict>(), Ok(v));
            assert_eq!(
                serde_json::to_value(v).ok(),
                Some(serde_json::json!(v.as_str()))
            );
        }
    }
}
