//! Domain names as the user types them, validated before any network work.
//!
//! A [`DomainName`] is always in its canonical form: A-labels (IDN converted
//! with UTS #46), lower case, no trailing dot, every label a valid host name
//! label. Holding one means "this is safe to put in a DNS query and in an
//! EHLO/SNI", so the later stages never re-validate.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A validated, canonical mail domain (e.g. `example.com`, `xn--bcher-kva.example`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

/// Why a domain argument was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("empty domain name")]
    Empty,
    #[error("{0:?} is an IP address, not a domain name")]
    IpAddress(String),
    #[error("{input:?} is not a valid domain name: {reason}")]
    Invalid { input: String, reason: &'static str },
}

/// Longest domain name in presentation form without the trailing dot (RFC 1035: 255 octets on the wire).
const MAX_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

impl DomainName {
    /// The canonical A-label form, without trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute form (`example.com.`) used in DNS queries, so that no
    /// search list of the local resolver configuration is ever applied.
    pub fn to_fqdn(&self) -> String {
        format!("{}.", self.0)
    }

    /// `localhost` or a name below it: RFC 6761 §6.3 reserves these for
    /// the loopback address, and resolvers answer them locally, so a
    /// sender given such an MX connects to itself.
    pub fn is_localhost(&self) -> bool {
        self.0 == "localhost" || self.0.ends_with(".localhost")
    }

    /// Parses a name that came from DNS (e.g. an MX exchange). The same
    /// rules apply, except that underscores are tolerated, since they occur
    /// in real zones and rejecting them would hide the rest of the report.
    pub fn from_dns(name: &str) -> Result<Self, DomainError> {
        parse(name, true)
    }
}

impl FromStr for DomainName {
    type Err = DomainError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse(input, false)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse(input: &str, allow_underscore: bool) -> Result<DomainName, DomainError> {
    let invalid = |reason| DomainError::Invalid {
        input: input.to_string(),
        reason,
    };
    let trimmed = input.trim();
    let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if without_dot.is_empty() {
        return Err(if trimmed.is_empty() {
            DomainError::Empty
        } else {
            invalid("the root is not a mail domain")
        });
    }
    if without_dot.parse::<IpAddr>().is_ok()
        || without_dot
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .is_some_and(|s| s.parse::<IpAddr>().is_ok())
    {
        return Err(DomainError::IpAddress(input.to_string()));
    }
    if without_dot
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid("contains white space or control characters"));
    }
    // UTS #46 maps Unicode to A-labels and lower-cases; it does not enforce
    // host-name syntax (STD3) when given the empty deny list, so we check
    // label syntax ourselves below with a rule that can allow `_`.
    let ascii = idna::domain_to_ascii(without_dot)
        .map_err(|_| invalid("not a valid internationalised domain name"))?;
    if ascii.len() > MAX_NAME_LEN {
        return Err(invalid("longer than 253 characters"));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(invalid("has an empty label (two dots in a row?)"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(invalid("has a label longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("has a label that starts or ends with a hyphen"));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || (allow_underscore && c == '_');
        if !label.chars().all(ok) {
            return Err(invalid(
                "may contain only letters, digits, hyphens and dots",
            ));
        }
    }
    if !ascii.contains('.') && !allow_underscore {
        // A single label is almost always a typo (`gmail` for `gmail.com`);
        // mail to TLDs themselves is not a use case for this tool.
        return Err(invalid("needs at least two labels, e.g. example.com"));
    }
    if ascii
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(invalid("the top-level label is all digits"));
    }
    Ok(DomainName(ascii))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_names() {
        for (name, local) in [
            ("localhost", true),
            ("LocalHost.", true),
            ("mx.localhost", true),
            ("localhost.example.com", false),
            ("notlocalhost", false),
            ("mx.notlocalhost", false),
        ] {
            let parsed = DomainName::from_dns(name).expect("name");
            assert_eq!(parsed.is_localhost(), local, "{name}");
        }
    }

    fn ok(input: &str) -> String {
        input.parse::<DomainName>().expect(input).to_string()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(ok("Example.COM"), "example.com");
        assert_eq!(ok("example.com."), "example.com");
        assert_eq!(ok("  example.com  "), "example.com");
        assert_eq!(ok("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(ok("xn--bcher-kva.example"), "xn--bcher-kva.example");
        assert_eq!(ok("mail-1.example.co.uk"), "mail-1.example.co.uk");
        assert_eq!(
            "example.com".parse::<DomainName>().map(|d| d.to_fqdn()),
            Ok("example.com.".to_string())
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        for bad in [
            "",
            ".",
            "exa mple.com",
            "example..com",
            "-example.com",
            "example-.com",
            "exa_mple.com",
            "example.com/path",
            "user@example.com",
            "localhost",
            "192.0.2.1",
            "[::1]",
            "1.2.3.4.5",
            "a\u{0}b.com",
        ] {
            assert!(bad.parse::<DomainName>().is_err(), "{bad:?} accepted");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(long_label.parse::<DomainName>().is_err());
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        assert!(long_name.parse::<DomainName>().is_err());
    }

    #[test]
    fn names_from_dns_may_have_underscores() {
        assert!(DomainName::from_dns("mx_1.example.com.").is_ok());
        assert!(DomainName::from_dns("mx 1.example.com.").is_err());
    }
}
