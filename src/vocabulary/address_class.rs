//! What kind of address an MX host resolved to, and whether a sender on
//! the internet could use it: the audit decides from this whether to
//! connect at all, the inspector says why in a finding.
//!
//! Connecting to every address DNS returns is wrong: on Linux `0.0.0.0`
//! and `::` reach the auditing machine's own port 25, whose certificate
//! would then be reported as the partner's. The ranges are those of the
//! IANA special-purpose registries (RFC 6890) that change what a
//! connection reaches; documentation and benchmarking ranges are left
//! `Public`, since a connection to them goes wherever routing says.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The scope of one resolved address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressClass {
    /// Reachable from the internet as far as the address says.
    Public,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10, RFC
    /// 6598) and IPv6 unique local addresses (fc00::/7, RFC 4193):
    /// probed, but senders on the internet cannot reach them.
    Private,
    /// 127/8 and ::1: the sender's own machine.
    Loopback,
    /// 169.254/16 and fe80::/10: only the sender's own link.
    LinkLocal,
    /// 0/8 ("this network", RFC 1122 §3.2.1.3) and `::`: a connection
    /// reaches the connecting machine itself (Linux), or fails.
    Unspecified,
    /// 255.255.255.255 (and the rest of 240/4, reserved): no TCP peer.
    Broadcast,
    /// 224/4 and ff00::/8: no TCP peer.
    Multicast,
}

/// What the audit does with an address of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeRule {
    /// Probe it.
    Probe,
    /// Probe it only with `--allow-local-addresses` (test labs on loopback).
    OptIn,
    /// Never connect: no sender reaches a mail server there.
    Never,
}

impl AddressClass {
    /// The class of `ip`. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
    /// are what a dual-stack socket connects to as IPv4, so they take the
    /// class of their IPv4 address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::of_v4(v4),
                None => Self::of_v6(v6),
            },
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, ..] = ip.octets();
        match (a, b) {
            (0, _) => AddressClass::Unspecified,
            (127, _) => AddressClass::Loopback,
            (169, 254) => AddressClass::LinkLocal,
            (224..=239, _) => AddressClass::Multicast,
            // 255.255.255.255 and the reserved 240/4 around it: neither
            // can be a TCP peer (the kernel refuses or drops them).
            (240..=255, _) => AddressClass::Broadcast,
            (10, _) | (192, 168) => AddressClass::Private,
            (172, 16..=31) => AddressClass::Private,
            (100, 64..=127) => AddressClass::Private,
            _ => AddressClass::Public,
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        let first = ip.segments()[0];
        if ip.is_unspecified() {
            AddressClass::Unspecified
        } else if ip.is_loopback() {
            AddressClass::Loopback
        } else if first & 0xff00 == 0xff00 {
            AddressClass::Multicast
        } else if first & 0xffc0 == 0xfe80 {
            AddressClass::LinkLocal
        } else if first & 0xfe00 == 0xfc00 {
            AddressClass::Private
        } else {
            AddressClass::Public
        }
    }

    /// Whether the audit connects to an address of this class.
    pub fn rule(self) -> ProbeRule {
        match self {
            AddressClass::Public | AddressClass::Private => ProbeRule::Probe,
            AddressClass::Loopback | AddressClass::LinkLocal => ProbeRule::OptIn,
            AddressClass::Unspecified | AddressClass::Broadcast | AddressClass::Multicast => {
                ProbeRule::Never
            }
        }
    }

    /// Whether the audit connects to an address of this class, given
    /// `--allow-local-addresses`.
    pub fn probed(self, allow_local: bool) -> bool {
        match self.rule() {
            ProbeRule::Probe => true,
            ProbeRule::OptIn => allow_local,
            ProbeRule::Never => false,
        }
    }

    /// "a loopback address", for findings.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Private => "a private address (RFC 1918, CGNAT or IPv6 unique local)",
            AddressClass::Loopback => "a loopback address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Unspecified => "the unspecified address (this host)",
            AddressClass::Broadcast => "a broadcast or reserved address",
            AddressClass::Multicast => "a multicast address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Public => "public",
            AddressClass::Private => "private",
            AddressClass::Loopback => "loopback",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Multicast => "multicast",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::AddressClass::{self, *};
    use super::ProbeRule;

    fn class(s: &str) -> AddressClass {
        AddressClass::of(s.parse().expect("test address"))
    }

    #[test]
    fn each_range_and_its_edges() {
        let cases = [
            // IPv4
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("1.0.0.0", Public),
            ("9.255.255.255", Public),
            ("10.0.0.0", Private),
            ("10.255.255.255", Private),
            ("11.0.0.0", Public),
            ("100.63.255.255", Public),
            ("100.64.0.0", Private),
            ("100.127.255.255", Private),
            ("100.128.0.0", Public),
            ("126.255.255.255", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("128.0.0.0", Public),
            ("169.253.255.255", Public),
            ("169.254.0.1", LinkLocal),
            ("169.255.0.0", Public),
            ("172.15.255.255", Public),
            ("172.16.0.0", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Public),
            ("192.0.2.1", Public),
            ("192.167.255.255", Public),
            ("192.168.0.1", Private),
            ("192.169.0.0", Public),
            ("223.255.255.255", Public),
            ("224.0.0.1", Multicast),
            ("239.255.255.255", Multicast),
            ("240.0.0.1", Broadcast),
            ("255.255.255.255", Broadcast),
            // IPv6
            ("::", Unspecified),
            ("::1", Loopback),
            ("::2", Public),
            ("2001:db8::1", Public),
            ("2a00:1450::1", Public),
            ("fbff:ffff::1", Public),
            ("fc00::1", Private),
            ("fdff:ffff::1", Private),
            ("fe7f:ffff::1", Public),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", Public),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            // IPv4-mapped: the class of the IPv4 address.
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:224.0.0.1", Multicast),
            ("::ffff:255.255.255.255", Broadcast),
            ("::ffff:192.0.2.1", Public),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(ip, want)| class(ip) != *want)
            .map(|(ip, want)| format!("{ip}: {:?}, expected {want:?}", class(ip)))
            .collect();
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }

    #[test]
    fn which_classes_are_probed() {
        for (c, rule) in [
            (Public, ProbeRule::Probe),
            (Private, ProbeRule::Probe),
            (Loopback, ProbeRule::OptIn),
            (LinkLocal, ProbeRule::OptIn),
            (Unspecified, ProbeRule::Never),
            (Broadcast, ProbeRule::Never),
            (Multicast, ProbeRule::Never),
        ] {
            assert_eq!(c.rule(), rule, "{c}");
        }
        assert!(Loopback.probed(true) && !Loopback.probed(false));
        assert!(!Unspecified.probed(true) && !Multicast.probed(true));
        assert!(Private.probed(false) && Public.probed(false));
    }

    #[test]
    fn serde_names_are_the_display_names() {
        for c in [
            Public,
            Private,
            Loopback,
            LinkLocal,
            Unspecified,
            Broadcast,
            Multicast,
        ] {
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::json!(c.to_string()))
            );
        }
    }
}
