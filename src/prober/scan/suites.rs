//! The cipher-suite catalogue of the scan: which suites each protocol
//! version can offer, their IANA names, the weak categories a suite falls
//! in, and the NCSC-NL level of suites, key-exchange groups and
//! finite-field groups.
//!
//! The suite metadata (key exchange, authentication, cipher, mode, MAC)
//! comes from `tls-parser`'s copy of the IANA registry, so nothing here is
//! a hand-kept list of hundreds of names. The levels follow the NCSC-NL
//! "IT Security Guidelines for TLS" as internet.nl applies them since its
//! 2025 update (see `docs/grading.md`): the rules are written over the
//! metadata and tested against the guideline's own lists below.

use serde::Serialize;
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac};
use tls_parser::{TlsCipherSuite, TlsPRF};

use crate::vocabulary::NcscLevel;

/// A protocol version the scan can offer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub enum Version {
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl Version {
    /// Oldest first.
    pub const ALL: [Version; 5] = [
        Version::Ssl3,
        Version::Tls10,
        Version::Tls11,
        Version::Tls12,
        Version::Tls13,
    ];

    /// The version number on the wire.
    pub fn wire(self) -> u16 {
        match self {
            Version::Ssl3 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }

    pub fn from_wire(v: u16) -> Option<Version> {
        Version::ALL.into_iter().find(|x| x.wire() == v)
    }

    /// `TLSv1.2`: the spelling of the main handshake's `tls.version`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Ssl3 => "SSLv3",
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
            Version::Tls13 => "TLSv1.3",
        }
    }

    /// NCSC-NL level (2025): 1.3 good, 1.2 sufficient, older insufficient.
    pub fn level(self) -> NcscLevel {
        match self {
            Version::Tls13 => NcscLevel::Good,
            Version::Tls12 => NcscLevel::Sufficient,
            _ => NcscLevel::Insufficient,
        }
    }
}

/// The weak properties a suite can have; a category is "accepted" when
/// the server accepts at least one suite with that property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weakness {
    /// No encryption.
    Null,
    /// No server authentication (`DH_anon`, `ECDH_anon`).
    Anonymous,
    /// 40/56-bit export-grade suites.
    Export,
    Rc4,
    /// Single DES (and RC2, IDEA: 64-bit block ciphers other than 3DES).
    Des,
    TripleDes,
    /// RSA key transport: no forward secrecy.
    StaticRsa,
    /// CBC mode (MAC-then-encrypt).
    Cbc,
}

impl Weakness {
    pub const ALL: [Weakness; 8] = [
        Weakness::Null,
        Weakness::Anonymous,
        Weakness::Export,
        Weakness::Rc4,
        Weakness::Des,
        Weakness::TripleDes,
        Weakness::StaticRsa,
        Weakness::Cbc,
    ];
}

/// The IANA name of suite `id`, or `0xC0FF` style hex when unknown.
pub fn name(id: u16) -> String {
    TlsCipherSuite::from_id(id).map_or_else(|| format!("0x{id:04X}"), |s| s.name.to_string())
}

fn info(id: u16) -> Option<&'static TlsCipherSuite> {
    TlsCipherSuite::from_id(id)
}

/// Whether the suite's key exchange is finite-field DHE.
pub fn is_dhe(id: u16) -> bool {
    info(id).is_some_and(|s| {
        s.kx == TlsCipherKx::Dhe || (s.kx == TlsCipherKx::Dh && s.au == TlsCipherAu::Null)
    })
}

/// Whether the suite's key exchange is ECDHE (anonymous ECDH included:
/// it too sends a ServerKeyExchange with a named curve).
pub fn is_ecdhe(id: u16) -> bool {
    info(id).is_some_and(|s| {
        matches!(s.kx, TlsCipherKx::Ecdhe | TlsCipherKx::Aecdh)
            || (s.kx == TlsCipherKx::Ecdh && s.au == TlsCipherAu::Null)
    })
}

/// The weak properties of a suite.
pub fn weaknesses(id: u16) -> Vec<Weakness> {
    let Some(s) = info(id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if s.enc == TlsCipherEnc::Null && s.kx != TlsCipherKx::Tls13 {
        out.push(Weakness::Null);
    }
    if s.au == TlsCipherAu::Null && s.kx != TlsCipherKx::Null {
        out.push(Weakness::Anonymous);
    }
    if s.name.contains("EXPORT") {
        out.push(Weakness::Export);
    }
    if s.enc == TlsCipherEnc::Rc4 {
        out.push(Weakness::Rc4);
    }
    if matches!(
        s.enc,
        TlsCipherEnc::Des | TlsCipherEnc::Rc2 | TlsCipherEnc::Idea
    ) {
        out.push(Weakness::Des);
    }
    if s.enc == TlsCipherEnc::TripleDes {
        out.push(Weakness::TripleDes);
    }
    if s.kx == TlsCipherKx::Rsa {
        out.push(Weakness::StaticRsa);
    }
    if s.enc_mode == TlsCipherEncMode::Cbc {
        out.push(Weakness::Cbc);
    }
    out
}

/// The NCSC-NL level of a suite (2025 guidelines, appendix B, as
/// internet.nl lists it): anything not named good, sufficient or phase-out
/// is insufficient.
pub fn level(id: u16) -> NcscLevel {
    let Some(s) = info(id) else {
        return NcscLevel::Insufficient;
    };
    let ccm8 = s.name.contains("CCM_8");
    let aead_aes = s.enc == TlsCipherEnc::Aes
        && matches!(s.enc_mode, TlsCipherEncMode::Gcm | TlsCipherEncMode::Ccm)
        && !ccm8;
    let chacha = s.enc == TlsCipherEnc::Chacha20_Poly1305;
    let sha2_mac = matches!(s.mac, TlsCipherMac::HmacSha256 | TlsCipherMac::HmacSha384);
    let cbc_sha2 = s.enc_mode == TlsCipherEncMode::Cbc
        && sha2_mac
        && matches!(
            s.enc,
            TlsCipherEnc::Aes | TlsCipherEnc::Camellia | TlsCipherEnc::Aria
        );
    let other_aead = s.enc_mode == TlsCipherEncMode::Gcm
        && matches!(s.enc, TlsCipherEnc::Camellia | TlsCipherEnc::Aria);
    match (s.kx, s.au) {
        (TlsCipherKx::Tls13, _) => match s.id.0 {
            // TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256
            0x1302 | 0x1303 => NcscLevel::Good,
            // TLS_AES_128_GCM_SHA256, TLS_AES_128_CCM_SHA256
            0x1301 | 0x1304 => NcscLevel::Sufficient,
            _ => NcscLevel::Insufficient,
        },
        (TlsCipherKx::Ecdhe, TlsCipherAu::Ecdsa | TlsCipherAu::Rsa) => {
            if aead_aes || chacha {
                NcscLevel::Sufficient
            } else if cbc_sha2 || other_aead {
                NcscLevel::PhaseOut
            } else {
                NcscLevel::Insufficient
            }
        }
        (TlsCipherKx::Dhe, TlsCipherAu::Rsa) => {
            if aead_aes || chacha || cbc_sha2 || other_aead {
                NcscLevel::PhaseOut
            } else {
                NcscLevel::Insufficient
            }
        }
        _ => NcscLevel::Insufficient,
    }
}

/// Key exchanges the scan offers. PSK, SRP and Kerberos suites need
/// credentials a server only uses when configured for them, and fixed
/// (non-ephemeral) DH/ECDH need DH certificates nobody deploys: offering
/// them would only make the ClientHello longer.
fn offerable(s: &TlsCipherSuite) -> bool {
    let kx_ok = match s.kx {
        TlsCipherKx::Rsa | TlsCipherKx::Dhe | TlsCipherKx::Ecdhe | TlsCipherKx::Aecdh => true,
        // Anonymous DH/ECDH are listed with a fixed-DH key exchange.
        TlsCipherKx::Dh | TlsCipherKx::Ecdh => s.au == TlsCipherAu::Null,
        _ => false,
    };
    let au_ok = !matches!(
        s.au,
        TlsCipherAu::Psk
            | TlsCipherAu::Krb5
            | TlsCipherAu::Srp
            | TlsCipherAu::Srp_Dss
            | TlsCipherAu::Srp_Rsa
            | TlsCipherAu::Eccpwd
    );
    kx_ok && au_ok && s.id.0 != 0x0000 && !matches!(s.enc, TlsCipherEnc::Sm4 | TlsCipherEnc::Aegis)
}

/// Every suite the scan offers at `version`, best level first (so a
/// server that follows the client's order picks a strong one), then by
/// id, descending: the order of the "forward" probe.
pub fn for_version(version: Version) -> Vec<u16> {
    let mut ids: Vec<u16> = match version {
        Version::Tls13 => vec![0x1302, 0x1303, 0x1301, 0x1304, 0x1305],
        Version::Tls12 => all()
            .filter(|s| s.kx != TlsCipherKx::Tls13)
            .map(|s| s.id.0)
            .collect(),
        // Suites with a SHA-256/384 PRF, AEAD modes and HMAC-SHA256/384
        // exist only from TLS 1.2 on.
        _ => all()
            .filter(|s| s.kx != TlsCipherKx::Tls13 && s.prf == TlsPRF::Default && !sha2_only(s))
            .map(|s| s.id.0)
            .collect(),
    };
    sort_strong_first(&mut ids);
    ids
}

fn sha2_only(s: &TlsCipherSuite) -> bool {
    matches!(
        s.mac,
        TlsCipherMac::HmacSha256 | TlsCipherMac::HmacSha384 | TlsCipherMac::Aead
    )
}

fn all() -> impl Iterator<Item = &'static TlsCipherSuite> {
    // Walk the 16-bit space instead of the registry map so the order is
    // deterministic (the map's iteration order is a hash order).
    (0u16..=0xffff).filter_map(info).filter(|s| offerable(s))
}

/// Best level first; within a level, suites that authenticate the server
/// before anonymous ones (real clients never offer those, and a server that
/// follows the client's order then shows its certificate, which the
/// inspector grades when only such a handshake works); then by id
/// descending (newer suites first).
pub fn sort_strong_first(ids: &mut [u16]) {
    let anonymous = |id: u16| info(id).is_some_and(|s| s.au == TlsCipherAu::Null);
    ids.sort_by_key(|&id| (level(id), anonymous(id), std::cmp::Reverse(id)));
}

/// Supported groups offered by default, in the order of the `supported_groups`
/// extension: strong first, so a server that follows the client picks
/// a good one.
pub const GROUPS: &[u16] = &[
    0x001d, // x25519
    0x0017, // secp256r1
    0x0018, // secp384r1
    0x0019, // secp521r1
    0x001e, // x448
    0x001a, // brainpoolP256r1
    0x001b, // brainpoolP384r1
    0x001c, // brainpoolP512r1
    0x0016, // secp256k1
    0x0015, // secp224r1
    0x0013, // secp192r1
    0x0100, // ffdhe2048
    0x0101, // ffdhe3072
    0x0102, // ffdhe4096
    0x0103, // ffdhe6144
    0x0104, // ffdhe8192
];

/// Groups `--scan deep` tries one by one over TLS 1.3 (with an empty key
/// share the server names its choice in a HelloRetryRequest).
pub const GROUPS_TLS13: &[u16] = &[
    0x11ec, // X25519MLKEM768
    0x11eb, // SecP256r1MLKEM768
    0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104,
];

/// Elliptic curves `--scan deep` tries one by one with ECDHE over TLS ≤ 1.2.
pub const CURVES_TLS12: &[u16] = &[
    0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x001a, 0x001b, 0x001c, 0x0016, 0x0015, 0x0013,
];

/// The name of a named group, as rustls (and the main handshake's
/// `key_exchange_group`) spells it.
pub fn group_name(id: u16) -> String {
    let g = rustls::NamedGroup::from(id);
    g.as_str()
        .map_or_else(|| format!("0x{id:04X}"), str::to_string)
}

/// Hybrid post-quantum groups (ML-KEM with a classical curve).
pub fn is_post_quantum(id: u16) -> bool {
    matches!(id, 0x11eb..=0x11ed)
}

/// NCSC-NL level of an ECDHE group (2025 guidelines §3.3.2.1, as
/// internet.nl applies them): the NIST P curves from 256 bits, Brainpool,
/// X25519 and X448 good; secp224r1 phase-out; any other insufficient.
/// The hybrid ML-KEM groups are graded good: their classical half is a
/// good curve (the guideline predates their registration).
pub fn group_level(id: u16) -> NcscLevel {
    match id {
        // secp256r1..secp521r1, brainpool (TLS 1.2 and 1.3 code points), X25519, X448
        0x0017..=0x0021 => NcscLevel::Good,
        id if is_post_quantum(id) => NcscLevel::Good,
        0x0015 => NcscLevel::PhaseOut,
        _ => NcscLevel::Insufficient,
    }
}

/// NCSC-NL level of a finite-field group (2025 guidelines §3.3.3.1, as
/// internet.nl applies them): the RFC 7919 groups of 3072 bits and more
/// are phase-out; ffdhe2048 and every other group insufficient.
pub fn dhe_level(named: Option<u16>) -> NcscLevel {
    match named {
        Some(0x0101..=0x0104) => NcscLevel::PhaseOut,
        _ => NcscLevel::Insufficient,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn offers_list_authenticated_suites_before_anonymous_ones() {
        let anonymous = |id: u16| info(id).is_some_and(|s| s.au == TlsCipherAu::Null);
        for version in [Version::Tls10, Version::Tls12] {
            let ids = for_version(version);
            assert!(!anonymous(ids[0]), "{version:?}: {:#06x}", ids[0]);
            // Within each level, no authenticated suite after an anonymous one.
            for pair in ids.windows(2) {
                if level(pair[0]) == level(pair[1]) {
                    assert!(
                        !anonymous(pair[0]) || anonymous(pair[1]),
                        "{version:?}: {:#06x} before {:#06x}",
                        pair[0],
                        pair[1]
                    );
                }
            }
        }
    }

    use super::*;

    fn id(name: &str) -> u16 {
        TlsCipherSuite::from_name(name)
            .map(|s| s.id.0)
            .unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn levels_match_the_guideline_lists() {
        for n in ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] {
            assert_eq!(level(id(n)), NcscLevel::Good, "{n}");
        }
        for n in [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_128_CCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ] {
            assert_eq!(level(id(n)), NcscLevel::Sufficient, "{n}");
        }
        for n in [
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
            "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384",
            "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
            "TLS_DHE_RSA_WITH_AES_128_CCM",
        ] {
            assert_eq!(level(id(n)), NcscLevel::PhaseOut, "{n}");
        }
        for n in [
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_RSA_WITH_RC4_128_SHA",
            "TLS_RSA_WITH_NULL_SHA256",
            "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
            "TLS_AES_128_CCM_8_SHA256",
            "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
        ] {
            assert_eq!(level(id(n)), NcscLevel::Insufficient, "{n}");
        }
    }

    #[test]
    fn weak_categories() {
        use Weakness::*;
        assert_eq!(
            weaknesses(id("TLS_RSA_EXPORT_WITH_RC4_40_MD5")),
            vec![Export, Rc4, StaticRsa]
        );
        assert_eq!(
            weaknesses(id("TLS_RSA_WITH_NULL_SHA")),
            vec![Null, StaticRsa]
        );
        assert_eq!(
            weaknesses(id("TLS_DH_anon_WITH_AES_128_CBC_SHA")),
            vec![Anonymous, Cbc]
        );
        assert_eq!(
            weaknesses(id("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA")),
            vec![TripleDes, Cbc]
        );
        assert_eq!(
            weaknesses(id("TLS_RSA_WITH_DES_CBC_SHA")),
            vec![Des, StaticRsa, Cbc]
        );
        assert!(weaknesses(id("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")).is_empty());
        assert!(weaknesses(id("TLS_AES_128_GCM_SHA256")).is_empty());
    }

    #[test]
    fn suites_per_version() {
        let legacy = for_version(Version::Tls10);
        assert!(legacy.contains(&id("TLS_RSA_WITH_AES_128_CBC_SHA")));
        assert!(legacy.contains(&id("TLS_RSA_EXPORT_WITH_RC4_40_MD5")));
        assert!(!legacy.contains(&id("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")));
        assert!(!legacy.contains(&id("TLS_RSA_WITH_AES_128_CBC_SHA256")));
        let tls12 = for_version(Version::Tls12);
        assert!(tls12.contains(&id("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")));
        assert!(!tls12.contains(&0x1301));
        assert!(!tls12.iter().any(|&s| name(s).contains("PSK")));
        // Strong first: the first suites are sufficient, the last insufficient.
        assert_eq!(level(tls12[0]), NcscLevel::Sufficient);
        assert_eq!(
            level(*tls12.last().expect("suites")),
            NcscLevel::Insufficient
        );
        assert!(tls12.len() < 400, "{}", tls12.len());
    }

    #[test]
    fn groups() {
        assert_eq!(group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(group_name(0x0017), "secp256r1");
        assert_eq!(group_level(0x001d), NcscLevel::Good);
        assert_eq!(group_level(0x0015), NcscLevel::PhaseOut);
        assert_eq!(group_level(0x0013), NcscLevel::Insufficient);
        assert_eq!(dhe_level(Some(0x0100)), NcscLevel::Insufficient);
        assert_eq!(dhe_level(Some(0x0101)), NcscLevel::PhaseOut);
        assert_eq!(dhe_level(None), NcscLevel::Insufficient);
    }
}
