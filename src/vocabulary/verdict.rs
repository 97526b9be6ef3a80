//! The verdict: the one word per domain users act on, and the CI threshold
//! over it. What decides it is the rubric in `inspector::verdict`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A domain's overall grade, best first. See `docs/grading.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
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
    /// The default of `--fail-below` for a service: encrypted for MX
    /// hosts (opportunistic senders still encrypt), secure for submission
    /// (a mail client verifies the certificate and must not be invited to
    /// log in before TLS: anything less fails).
    pub fn default_for(service: super::Service) -> Threshold {
        match service {
            super::Service::Smtp => Threshold::default(),
            super::Service::Submission | super::Service::Submissions => Threshold(Verdict::Secure),
        }
    }

    pub fn fails(self, verdict: Verdict) -> bool {
        match (verdict.rank(), self.0.rank()) {
            (Some(v), Some(t)) => v < t,
            // no-mail never fails; `--fail-below no-mail` is rejected by the CLI.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
