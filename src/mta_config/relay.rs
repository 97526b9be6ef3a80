//! `--fallback-relay HOST[:PORT]`: where the MTA formats route the domains
//! that must not get clear text but cannot get enforced TLS either (below
//! `--min-level`, or a reachable MX without working STARTTLS) — for
//! instance a secure-message gateway that holds the mail for pick-up over
//! HTTPS.
//!
//! The value goes into active configuration lines of four MTAs, so it is
//! parsed into a typed host (a plain DNS name, an IPv4 or an IPv6 address)
//! and a port, and nothing else is accepted.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::safe_name;

/// The relay's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayHost {
    /// A plain DNS name (A-labels), lower case, without a trailing dot.
    Name(String),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

/// A fallback relay: host and port (25 unless given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackRelay {
    pub host: RelayHost,
    pub port: u16,
}

/// Why a `--fallback-relay` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("empty relay")]
    Empty,
    #[error("{0:?} is not a port (1-65535)")]
    Port(String),
    #[error("{0:?} is not an IPv6 address (write it as [ADDRESS] or [ADDRESS]:PORT)")]
    Ipv6(String),
    #[error("{0:?} is not a host name or address (a plain DNS name, IPv4, or [IPv6])")]
    Host(String),
}

fn port(s: &str) -> Result<u16, RelayError> {
    match s.parse::<u16>() {
        // `+25` parses as a u16; a port is written with digits only.
        Ok(p) if p > 0 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(RelayError::Port(s.to_string())),
    }
}

impl FromStr for FallbackRelay {
    type Err = RelayError;

    /// `HOST`, `HOST:PORT`, `[IPv6]`, `[IPv6]:PORT` (a bare IPv6 address
    /// without brackets too, since its colons cannot be a port).
    fn from_str(s: &str) -> Result<Self, RelayError> {
        if s.is_empty() {
            return Err(RelayError::Empty);
        }
        if let Some(rest) = s.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| RelayError::Ipv6(s.to_string()))?;
            let ip: Ipv6Addr = inside
                .parse()
                .map_err(|_| RelayError::Ipv6(inside.to_string()))?;
            let port = match after {
                "" => 25,
                _ => port(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| RelayError::Port(after.to_string()))?,
                )?,
            };
            return Ok(FallbackRelay {
                host: RelayHost::Ipv6(ip),
                port,
            });
        }
        if let Ok(ip) = s.parse::<Ipv6Addr>() {
            return Ok(FallbackRelay {
                host: RelayHost::Ipv6(ip),
                port: 25,
            });
        }
        let (host, port) = match s.split_once(':') {
            Some((h, p)) => (h, port(p)?),
            None => (s, 25),
        };
        let host = if let Ok(ip) = host.parse::<Ipv4Addr>() {
            RelayHost::Ipv4(ip)
        } else {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            // All digits and dots is a mistyped address, not a name.
            let numeric = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if !safe_name(&name) || numeric {
                return Err(RelayError::Host(host.to_string()));
            }
            RelayHost::Name(name)
        };
        Ok(FallbackRelay { host, port })
    }
}

impl RelayHost {
    /// The host as a name or address, without brackets.
    pub fn bare(&self) -> String {
        match self {
            RelayHost::Name(n) => n.clone(),
            RelayHost::Ipv4(ip) => ip.to_string(),
            RelayHost::Ipv6(ip) => ip.to_string(),
        }
    }

    /// `[host]`: Postfix's and Sendmail's "no MX lookup" form. Sendmail
    /// writes an IPv6 literal as `[IPv6:…]`.
    pub fn bracketed(&self, ipv6_tag: &str) -> String {
        match self {
            RelayHost::Ipv6(ip) => format!("[{ipv6_tag}{ip}]"),
            other => format!("[{}]", other.bare()),
        }
    }

    /// The host in a URL (`[…]` around an IPv6 address).
    pub fn url(&self) -> String {
        match self {
            RelayHost::Ipv6(ip) => format!("[{ip}]"),
            other => other.bare(),
        }
    }
}

impl fmt::Display for FallbackRelay {
    /// `host:port`, `[v6]:port`: what `FromStr` reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host.url(), self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(s: &str) -> Result<FallbackRelay, RelayError> {
        s.parse()
    }

    #[test]
    fn host_host_port_and_bracketed_ipv6() {
        assert_eq!(
            relay("Relay.Example.").expect("name"),
            FallbackRelay {
                host: RelayHost::Name("relay.example".into()),
                port: 25
            }
        );
        assert_eq!(
            relay("relay.example:2525").expect("name:port"),
            FallbackRelay {
                host: RelayHost::Name("relay.example".into()),
                port: 2525
            }
        );
        assert_eq!(
            relay("192.0.2.7:587").expect("v4:port"),
            FallbackRelay {
                host: RelayHost::Ipv4(Ipv4Addr::new(192, 0, 2, 7)),
                port: 587
            }
        );
        let v6 = relay("[2001:db8::25]:2525").expect("[v6]:port");
        assert_eq!(
            v6,
            FallbackRelay {
                host: RelayHost::Ipv6("2001:db8::25".parse().expect("v6")),
                port: 2525
            }
        );
        assert_eq!(relay("[::1]").expect("[v6]").port, 25);
        assert_eq!(relay("2001:db8::25").expect("bare v6").port, 25);
        // Display reads back.
        for s in ["relay.example:2525", "192.0.2.7:25", "[2001:db8::25]:2525"] {
            assert_eq!(relay(s).expect(s).to_string(), s);
        }
        assert_eq!(v6.host.bracketed("IPv6:"), "[IPv6:2001:db8::25]");
        assert_eq!(v6.host.bracketed(""), "[2001:db8::25]");
    }

    #[test]
    fn junk_is_refused() {
        for junk in [
            "",
            "relay.example:",
            "relay.example:0",
            "relay.example:65536",
            "relay.example:+25",
            "relay.example:25x",
            "relay example",
            "relay.example\nexample.com encrypt",
            "-relay.example",
            "*.example",
            "[2001:db8::25",
            "[relay.example]:25",
            "[2001:db8::25]25",
            "[2001:db8::25]:x",
            "192.0.2.300",
            "smtp://relay.example",
            "relay..example",
            "a:b:c.example",
        ] {
            assert!(relay(junk).is_err(), "{junk:?} was accepted");
        }
        assert_eq!(relay("relay.example:0"), Err(RelayError::Port("0".into())));
        assert_eq!(relay("bad host"), Err(RelayError::Host("bad host".into())));
    }
}
