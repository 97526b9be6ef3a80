//! Reading the server's answer to a hand-built ClientHello: records and
//! handshake messages up to the ServerHello (TLS 1.3, HelloRetryRequest,
//! or a key exchange without ServerKeyExchange) or up to the
//! ServerKeyExchange (DHE/ECDHE in TLS ≤ 1.2), with `tls-parser`.
//!
//! [`parse_flight`] is a pure function over the bytes received so far; it
//! says "need more" until it can answer, and every length it reads is
//! checked against a bound first, so a hostile peer can make it return an
//! error but never panic or buffer without limit ([`MAX_FLIGHT`]).

use tls_parser::{
    ECParametersContent, TlsExtension, parse_dh_params, parse_ecdh_params,
    parse_tls_handshake_server_hello, parse_tls_server_hello_extensions,
};

use super::suites::{self, Version};

/// Largest record payload allowed (TLSCiphertext, RFC 8446 §5.2).
pub const MAX_RECORD: usize = (1 << 14) + 256;
/// Most bytes read from the server for one probe: a ServerHello, a
/// certificate chain (which can be long) and a ServerKeyExchange.
pub const MAX_FLIGHT: usize = 128 * 1024;

/// `SHA-256("HelloRetryRequest")`, the random of a HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The key exchange the server's ServerKeyExchange shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyExchange {
    /// Finite-field DHE: the prime's size, and the RFC 7919 group it is
    /// (as a named-group code point), if it is one.
    Dhe { bits: u32, named: Option<u16> },
    /// ECDHE over a named curve.
    Ecdhe { group: u16 },
    /// ECDHE with explicit curve parameters (nobody should, RFC 8422 §5.4).
    EcdheExplicit,
}

/// What a ServerHello (and the ServerKeyExchange after it) showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The version the server chose (from `supported_versions` in TLS 1.3).
    pub version: Version,
    pub suite: u16,
    /// The compression method chosen (0 = none, 1 = DEFLATE).
    pub compression: u8,
    /// The `renegotiation_info` extension came back (RFC 5746).
    pub secure_renegotiation: bool,
    /// A HelloRetryRequest rather than a ServerHello.
    pub retry_request: bool,
    /// TLS 1.3: the group of the key share (or the one an HRR asks for).
    pub group: Option<u16>,
    /// TLS ≤ 1.2 DHE/ECDHE: what the ServerKeyExchange carried.
    pub key_exchange: Option<KeyExchange>,
    /// TLS ≤ 1.2 DHE/ECDHE: the certificate chain (DER, leaf first) from
    /// the Certificate message before the ServerKeyExchange; empty when
    /// none came or it did not parse. Lets the certificate be graded when
    /// only such a legacy handshake works.
    pub chain: Vec<Vec<u8>>,
}

/// The server's answer to a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Hello(ServerHello),
    /// A TLS alert (level, description), e.g. `handshake_failure` (40) or
    /// `protocol_version` (70): the offer was refused.
    Alert {
        level: u8,
        description: u8,
    },
}

/// Why the answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlightError {
    #[error("the reply is not TLS: {0}")]
    NotTls(String),
    #[error("TLS record of {0} bytes, more than allowed")]
    Oversize(usize),
    #[error("more than {MAX_FLIGHT} bytes before the ServerHello (or ServerKeyExchange)")]
    TooLong,
    #[error("unexpected handshake message type {0} before the ServerHello")]
    Unexpected(u8),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("the server chose version 0x{0:04x}, which smtptls does not know")]
    UnknownVersion(u16),
    #[error("unexpected {0} record during the handshake")]
    UnexpectedRecord(u8),
}

/// Either an answer, or "send more bytes".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    NeedMore,
    Done(Reply),
}

/// Parses the bytes received so far.
pub fn parse_flight(buf: &[u8]) -> Result<Progress, FlightError> {
    if buf.len() > MAX_FLIGHT {
        return Err(FlightError::TooLong);
    }
    let mut rest = buf;
    let mut handshake: Vec<u8> = Vec::new();
    let mut hello: Option<ServerHello> = None;
    let mut first = true;
    loop {
        if rest.len() < 5 {
            if first && !rest.is_empty() && !plausible_record_start(rest) {
                return Err(FlightError::NotTls(crate::prober::smtp::excerpt(rest)));
            }
            return Ok(Progress::NeedMore);
        }
        let (kind, len) = (rest[0], usize::from(u16::from_be_bytes([rest[3], rest[4]])));
        if !plausible_record_start(rest) {
            return Err(FlightError::NotTls(crate::prober::smtp::excerpt(rest)));
        }
        if len > MAX_RECORD {
            return Err(FlightError::Oversize(len));
        }
        if len == 0 {
            return Err(FlightError::Malformed("empty record"));
        }
        let Some(fragment) = rest.get(5..5 + len) else {
            return Ok(Progress::NeedMore);
        };
        rest = &rest[5 + len..];
        first = false;
        match kind {
            0x15 => {
                let [level, description, ..] = fragment else {
                    return Err(FlightError::Malformed("alert"));
                };
                return Ok(Progress::Done(Reply::Alert {
                    level: *level,
                    description: *description,
                }));
            }
            0x16 => handshake.extend_from_slice(fragment),
            // TLS 1.3 middlebox compatibility: a ChangeCipherSpec may follow
            // the ServerHello; by then the answer is already known.
            0x14 if hello.is_some() => {}
            other => return Err(FlightError::UnexpectedRecord(other)),
        }
        // Every complete handshake message so far.
        let mut messages = handshake.as_slice();
        while messages.len() >= 4 {
            let kind = messages[0];
            let len = usize::from(messages[1]) << 16
                | usize::from(messages[2]) << 8
                | usize::from(messages[3]);
            if len > MAX_FLIGHT {
                return Err(FlightError::TooLong);
            }
            let Some(body) = messages.get(4..4 + len) else {
                break;
            };
            messages = &messages[4 + len..];
            match (kind, &mut hello) {
                (2, None) => {
                    let parsed = server_hello(body)?;
                    if parsed.version == Version::Tls13
                        || parsed.retry_request
                        || !(suites::is_dhe(parsed.suite) || suites::is_ecdhe(parsed.suite))
                    {
                        return Ok(Progress::Done(Reply::Hello(parsed)));
                    }
                    hello = Some(parsed);
                }
                (_, None) => return Err(FlightError::Unexpected(kind)),
                // ServerKeyExchange
                (12, Some(h)) => {
                    h.key_exchange = Some(key_exchange(h.suite, body)?);
                    return Ok(Progress::Done(Reply::Hello(h.clone())));
                }
                // ServerHelloDone without a key exchange: nothing more comes.
                (14, Some(h)) => return Ok(Progress::Done(Reply::Hello(h.clone()))),
                (11, Some(h)) => h.chain = certificate_list(body).unwrap_or_default(),
                // CertificateStatus, CertificateRequest: skipped.
                (_, Some(_)) => {}
            }
        }
        let consumed = handshake.len() - messages.len();
        handshake.drain(..consumed);
    }
}

/// A TLS record starts with a known content type and a 3.x version. SMTP
/// text (`500 …`) and SSLv2 records do not.
fn plausible_record_start(b: &[u8]) -> bool {
    matches!(b.first(), Some(0x14..=0x17)) && b.get(1).is_none_or(|&major| major == 3)
}

fn server_hello(body: &[u8]) -> Result<ServerHello, FlightError> {
    let (_, sh) = parse_tls_handshake_server_hello(body)
        .map_err(|_| FlightError::Malformed("ServerHello"))?;
    let retry_request = sh.random == HRR_RANDOM;
    let mut version = sh.version.0;
    let mut secure_renegotiation = false;
    let mut group = None;
    if let Some(ext) = sh.ext {
        let (_, extensions) = parse_tls_server_hello_extensions(ext)
            .map_err(|_| FlightError::Malformed("ServerHello extensions"))?;
        for e in extensions {
            match e {
                TlsExtension::SupportedVersions(v) => {
                    if let Some(v) = v.first() {
                        version = v.0;
                    }
                }
                TlsExtension::RenegotiationInfo(_) => secure_renegotiation = true,
                // ServerHello: group(2) + key; HRR: group(2) only.
                TlsExtension::KeyShare(data) if data.len() >= 2 => {
                    group = Some(u16::from_be_bytes([data[0], data[1]]));
                }
                _ => {}
            }
        }
    }
    let version = Version::from_wire(version).ok_or(FlightError::UnknownVersion(version))?;
    Ok(ServerHello {
        version,
        suite: sh.cipher.0,
        compression: sh.compression.0,
        secure_renegotiation,
        retry_request,
        group,
        key_exchange: None,
        chain: Vec::new(),
    })
}

/// The DER certificates of a TLS ≤ 1.2 Certificate message (RFC 5246
/// §7.4.2): a 3-byte list length, then 3-byte length + DER each. `None` if
/// a length runs past the message.
fn certificate_list(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let u24 = |b: &[u8]| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
    let total = u24(body.get(..3)?);
    let mut rest = body.get(3..3 + total)?;
    let mut chain = Vec::new();
    while !rest.is_empty() {
        let len = u24(rest.get(..3)?);
        chain.push(rest.get(3..3 + len)?.to_vec());
        rest = &rest[3 + len..];
    }
    Some(chain)
}

fn key_exchange(suite: u16, body: &[u8]) -> Result<KeyExchange, FlightError> {
    if suites::is_dhe(suite) {
        let (_, dh) = parse_dh_params(body).map_err(|_| FlightError::Malformed("DH parameters"))?;
        let named = rfc7919_group(dh.dh_p, dh.dh_g);
        Ok(KeyExchange::Dhe {
            bits: bit_length(dh.dh_p),
            named,
        })
    } else {
        let (_, ec) =
            parse_ecdh_params(body).map_err(|_| FlightError::Malformed("ECDH parameters"))?;
        Ok(match ec.curve_params.params_content {
            ECParametersContent::NamedGroup(g) => KeyExchange::Ecdhe { group: g.0 },
            ECParametersContent::ExplicitPrime(_) => KeyExchange::EcdheExplicit,
        })
    }
}

/// The RFC 7919 group these parameters are, as a named-group code point.
fn rfc7919_group(p: &[u8], g: &[u8]) -> Option<u16> {
    use rustls::ffdhe_groups::{FFDHE2048, FFDHE3072, FFDHE4096, FFDHE6144, FFDHE8192};
    let trim = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|&x| x == 0).collect() };
    let (p, g) = (trim(p), trim(g));
    [
        (0x0100, FFDHE2048),
        (0x0101, FFDHE3072),
        (0x0102, FFDHE4096),
        (0x0103, FFDHE6144),
        (0x0104, FFDHE8192),
    ]
    .into_iter()
    .find(|(_, group)| trim(group.p) == p && trim(group.g) == g)
    .map(|(id, _)| id)
}

/// Bits of a big-endian unsigned number, leading zeros ignored.
fn bit_length(n: &[u8]) -> u32 {
    let n = match n.iter().position(|&b| b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    let bytes = u32::try_from(n.len()).unwrap_or(u32::MAX / 8);
    bytes * 8 - n[0].leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01, 0]), 9);
        assert_eq!(bit_length(&[0, 0]), 0);
    }

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/", $name)).as_slice()
        };
    }

    fn hello(bytes: &[u8]) -> ServerHello {
        match parse_flight(bytes) {
            Ok(Progress::Done(Reply::Hello(h))) => h,
            other => panic!("not a ServerHello: {other:?}"),
        }
    }

    #[test]
    fn captured_server_hellos() {
        let h = hello(fixture!("tls10-seclevel0.bin"));
        assert_eq!(
            (h.version, suites::name(h.suite).as_str()),
            (Version::Tls10, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA")
        );
        assert!(h.secure_renegotiation);
        assert_eq!(h.key_exchange, Some(KeyExchange::Ecdhe { group: 0x001d }));

        assert!(
            h.chain.is_empty(),
            "an anonymous suite sends no certificate"
        );

        let h = hello(fixture!("tls12-dhe1024.bin"));
        assert_eq!(suites::name(h.suite), "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256");
        // The Certificate message before the ServerKeyExchange is kept,
        // one DER SEQUENCE per certificate.
        assert!(!h.chain.is_empty());
        assert!(h.chain.iter().all(|der| der.first() == Some(&0x30)));
        assert_eq!(
            h.key_exchange,
            Some(KeyExchange::Dhe {
                bits: 1024,
                named: None
            })
        );

        let h = hello(fixture!("tls12-ffdhe3072.bin"));
        assert_eq!(
            h.key_exchange,
            Some(KeyExchange::Dhe {
                bits: 3072,
                named: Some(0x0101)
            })
        );

        let h = hello(fixture!("tls12-static-rsa.bin"));
        assert_eq!(suites::name(h.suite), "TLS_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(h.key_exchange, None);
        assert_eq!(h.compression, 0);

        let h = hello(fixture!("tls12-3des.bin"));
        assert_eq!(suites::name(h.suite), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");

        let h = hello(fixture!("tls12-ecdhe-secp384r1.bin"));
        assert_eq!(h.key_exchange, Some(KeyExchange::Ecdhe { group: 0x0018 }));

        let h = hello(fixture!("tls13.bin"));
        assert_eq!(
            (h.version, h.group, h.retry_request),
            (Version::Tls13, Some(0x001d), false)
        );
        assert_eq!(suites::name(h.suite), "TLS_CHACHA20_POLY1305_SHA256");

        let h = hello(fixture!("ssl3.bin"));
        assert_eq!(
            (h.version, h.suite, h.secure_renegotiation),
            (Version::Ssl3, 0x000a, false)
        );

        assert_eq!(
            parse_flight(fixture!("tls12only-to-tls10.bin")),
            Ok(Progress::Done(Reply::Alert {
                level: 2,
                description: 70
            }))
        );
    }

    #[test]
    fn every_truncation_needs_more_and_never_panics() {
        for bytes in [
            fixture!("tls12-dhe1024.bin"),
            fixture!("tls13.bin"),
            fixture!("tls10-seclevel0.bin"),
            fixture!("ssl3.bin"),
        ] {
            // Up to the last byte the answer needs, more is needed; from
            // there on the answer is the same.
            let complete = parse_flight(bytes);
            let needed = (0..=bytes.len())
                .find(|&n| parse_flight(&bytes[..n]) != Ok(Progress::NeedMore))
                .expect("the whole fixture is an answer");
            for cut in 0..bytes.len() {
                let got = parse_flight(&bytes[..cut]);
                if cut < needed {
                    assert_eq!(got, Ok(Progress::NeedMore), "cut at {cut}");
                } else {
                    assert_eq!(got, complete, "cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_are_errors_not_panics() {
        let good = fixture!("tls12-dhe1024.bin");
        // A handshake length larger than the record: the next "record"
        // starts inside the certificate.
        let mut bad = good.to_vec();
        bad[6] = 0xff;
        assert!(parse_flight(&bad).is_err() || parse_flight(&bad) == Ok(Progress::NeedMore));
        // A ServerHello body too short for its fields.
        let short = [0x16, 3, 3, 0, 8, 2, 0, 0, 4, 3, 3, 0, 0];
        assert_eq!(
            parse_flight(&short),
            Err(FlightError::Malformed("ServerHello"))
        );
        // A handshake message announced at 16 MiB.
        let huge = [0x16, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff];
        assert_eq!(parse_flight(&huge), Err(FlightError::TooLong));
        // Something other than a ServerHello first.
        let cert_first = [0x16, 3, 3, 0, 4, 11, 0, 0, 0];
        assert_eq!(parse_flight(&cert_first), Err(FlightError::Unexpected(11)));
        // Flipping any single byte never panics.
        for i in 0..good.len() {
            let mut flipped = good.to_vec();
            flipped[i] ^= 0xff;
            let _ = parse_flight(&flipped);
        }
        // More than MAX_FLIGHT of well-formed but useless records.
        let mut flood = Vec::new();
        while flood.len() <= MAX_FLIGHT {
            flood.extend_from_slice(&[0x16, 3, 3, 0x40, 0x00]);
            flood.extend(std::iter::repeat_n(0u8, 0x4000));
        }
        assert!(parse_flight(&flood).is_err());
    }

    #[test]
    fn certificate_list_is_bounded() {
        // Two certificates of 2 and 1 bytes.
        let ok = [0, 0, 9, 0, 0, 2, 0x30, 0x00, 0, 0, 1, 0x30];
        assert_eq!(
            certificate_list(&ok),
            Some(vec![vec![0x30, 0x00], vec![0x30]])
        );
        // Every truncation and an entry running past the list: no chain.
        for end in 0..ok.len() {
            assert_eq!(certificate_list(&ok[..end]), None, "cut at {end}");
        }
        assert_eq!(certificate_list(&[0, 0, 4, 0, 0, 9, 0x30]), None);
        assert_eq!(certificate_list(&[0, 0, 0]), Some(Vec::new()));
    }

    #[test]
    fn alert_and_garbage() {
        assert_eq!(
            parse_flight(&[0x15, 3, 1, 0, 2, 2, 40]),
            Ok(Progress::Done(Reply::Alert {
                level: 2,
                description: 40
            }))
        );
        assert_eq!(parse_flight(&[0x15, 3, 1, 0]), Ok(Progress::NeedMore));
        assert!(matches!(
            parse_flight(b"500 5.5.2 what?\r\n"),
            Err(FlightError::NotTls(_))
        ));
        assert!(matches!(parse_flight(b"5"), Err(FlightError::NotTls(_))));
        assert_eq!(
            parse_flight(&[0x16, 3, 3, 0xff, 0xff]),
            Err(FlightError::Oversize(0xffff))
        );
        assert_eq!(
            parse_flight(&[0x17, 3, 3, 0, 1, 0]),
            Err(FlightError::UnexpectedRecord(0x17))
        );
        assert_eq!(
            parse_flight(&[0x15, 3, 3, 0, 1, 2]),
            Err(FlightError::Malformed("alert"))
        );
    }
}
