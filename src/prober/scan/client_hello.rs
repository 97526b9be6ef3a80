//! Hand-built ClientHello records for the scan.
//!
//! rustls refuses to speak anything older than TLS 1.2 or to offer weak
//! suites, which is right for the main handshake and wrong for asking a
//! server what it still accepts. These hellos are never followed by a
//! key exchange: the scan reads the server's first flight and hangs up, so
//! nothing here needs real keys. The one exception is the TLS 1.3 key
//! share, where any 32 random bytes are a valid X25519 public key.

use super::suites::Version;

/// What one ClientHello offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloSpec {
    /// The highest version offered (TLS 1.3 alone via `supported_versions`).
    pub version: Version,
    /// Cipher suites, in preference order.
    pub suites: Vec<u16>,
    /// The `supported_groups` extension, in preference order.
    pub groups: Vec<u16>,
    /// TLS 1.3 only: send an X25519 key share (a ServerHello follows), or
    /// none (the server must name its group in a HelloRetryRequest).
    pub x25519_share: bool,
    /// Offer DEFLATE besides null compression (never with TLS 1.3), to see
    /// whether the server would compress (CRIME).
    pub offer_compression: bool,
}

/// The server name for SNI; omitted when it is not a valid DNS name.
pub type Sni<'a> = Option<&'a str>;

/// Signature algorithms offered in TLS 1.2 and 1.3: everything in use,
/// SHA-1 included, so the server is never refused for its certificate.
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, // ecdsa_secp{256,384,521}r1_sha{256,384,512}
    0x0807, 0x0808, // ed25519, ed448
    0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha{256,384,512}
    0x0809, 0x080a, 0x080b, // rsa_pss_pss_sha{256,384,512}
    0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha{256,384,512}
    0x0303, 0x0301, // ecdsa_sha224, rsa_pkcs1_sha224 (TLS 1.2 code points)
    0x0203, 0x0201, 0x0202, // ecdsa_sha1, rsa_pkcs1_sha1, dsa_sha1
    0x0402, // dsa_sha256
];

/// The bytes of one TLS record carrying the ClientHello. `random` is the
/// 32-byte client random (also used as the TLS 1.3 session id and key
/// share, which only have to look random).
pub fn build(spec: &HelloSpec, sni: Sni<'_>, random: &[u8; 32]) -> Vec<u8> {
    let tls13 = spec.version == Version::Tls13;
    let mut body = Vec::with_capacity(512);
    // legacy_version: TLS 1.3 is negotiated through supported_versions.
    let client_version = if tls13 { 0x0303 } else { spec.version.wire() };
    body.extend_from_slice(&client_version.to_be_bytes());
    body.extend_from_slice(random);
    if tls13 {
        // Middlebox compatibility mode (RFC 8446 §D.4): a non-empty session id.
        body.push(32);
        body.extend_from_slice(random);
    } else {
        body.push(0);
    }
    let mut suites = spec.suites.clone();
    if spec.version == Version::Ssl3 {
        // SSLv3 has no extensions: signal RFC 5746 support with the SCSV.
        suites.push(0x00ff);
    }
    put_u16_list(&mut body, &suites);
    if spec.offer_compression && !tls13 {
        body.extend_from_slice(&[2, 1, 0]); // DEFLATE, null
    } else {
        body.extend_from_slice(&[1, 0]);
    }
    if spec.version != Version::Ssl3 {
        let extensions = extensions(spec, sni, random);
        put_u16_len(&mut body, &extensions);
    }

    let mut handshake = Vec::with_capacity(body.len() + 4);
    handshake.push(1); // client_hello
    put_u24_len(&mut handshake, &body);

    let mut record = Vec::with_capacity(handshake.len() + 5);
    record.push(0x16);
    // Record-layer version: SSLv3 for an SSLv3 hello, else TLS 1.0, which
    // every server accepts for the first record (RFC 8446 §5.1).
    let record_version: u16 = if spec.version == Version::Ssl3 {
        0x0300
    } else {
        0x0301
    };
    record.extend_from_slice(&record_version.to_be_bytes());
    put_u16_len(&mut record, &handshake);
    record
}

fn extensions(spec: &HelloSpec, sni: Sni<'_>, random: &[u8; 32]) -> Vec<u8> {
    let tls13 = spec.version == Version::Tls13;
    let mut ext = Vec::with_capacity(256);
    if let Some(host) = sni.filter(|h| !h.is_empty() && h.len() < 256) {
        // server_name: list of one host_name entry.
        let mut entry = vec![0u8];
        put_u16_len(&mut entry, host.as_bytes());
        let mut list = Vec::new();
        put_u16_len(&mut list, &entry);
        put_extension(&mut ext, 0x0000, &list);
    }
    if !spec.groups.is_empty() {
        let mut groups = Vec::new();
        put_u16_list(&mut groups, &spec.groups);
        put_extension(&mut ext, 0x000a, &groups);
        // ec_point_formats: uncompressed only.
        put_extension(&mut ext, 0x000b, &[1, 0]);
    }
    if spec.version >= Version::Tls12 {
        let mut sigs = Vec::new();
        put_u16_list(&mut sigs, SIGNATURE_ALGORITHMS);
        put_extension(&mut ext, 0x000d, &sigs);
    }
    if tls13 {
        // supported_versions: TLS 1.3 only, so a ServerHello means 1.3.
        put_extension(&mut ext, 0x002b, &[2, 0x03, 0x04]);
        let mut shares = Vec::new();
        if spec.x25519_share {
            let mut entry = Vec::new();
            entry.extend_from_slice(&0x001du16.to_be_bytes());
            put_u16_len(&mut entry, random);
            put_u16_len(&mut shares, &entry);
        } else {
            put_u16_len(&mut shares, &[]);
        }
        put_extension(&mut ext, 0x0033, &shares);
        // psk_key_exchange_modes: psk_dhe_ke. Some servers insist on it.
        put_extension(&mut ext, 0x002d, &[1, 1]);
    } else {
        // renegotiation_info, empty: the initial handshake's RFC 5746 signal.
        put_extension(&mut ext, 0xff01, &[0]);
    }
    ext
}

fn put_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    put_u16_len(out, data);
}

fn put_u16_list(out: &mut Vec<u8>, items: &[u16]) {
    let bytes: Vec<u8> = items.iter().flat_map(|i| i.to_be_bytes()).collect();
    put_u16_len(out, &bytes);
}

/// Lengths here are bounded by construction (a few hundred suites at
/// most), so the truncating casts cannot lose anything.
fn put_u16_len(out: &mut Vec<u8>, data: &[u8]) {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
}

fn put_u24_len(out: &mut Vec<u8>, data: &[u8]) {
    let len = u32::try_from(data.len())
        .unwrap_or(0x00ff_ffff)
        .min(0x00ff_ffff);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tls_parser::{TlsMessage, TlsMessageHandshake, parse_tls_plaintext};

    fn spec(version: Version) -> HelloSpec {
        HelloSpec {
            version,
            suites: vec![0xc02f, 0x002f],
            groups: vec![0x001d, 0x0017],
            x25519_share: true,
            offer_compression: true,
        }
    }

    fn parse(bytes: &[u8]) -> (u16, Vec<u16>, Vec<u8>, Option<Vec<u8>>) {
        let (rest, record) = parse_tls_plaintext(bytes).expect("a TLS record");
        assert!(rest.is_empty());
        let Some(TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello))) =
            record.msg.first()
        else {
            panic!("not a ClientHello: {record:?}");
        };
        (
            hello.version.0,
            hello.ciphers.iter().map(|c| c.0).collect(),
            hello.comp.iter().map(|c| c.0).collect(),
            hello.ext.map(<[u8]>::to_vec),
        )
    }

    #[test]
    fn tls12_hello_parses_back() {
        let bytes = build(&spec(Version::Tls12), Some("mx.example"), &[7; 32]);
        let (version, suites, comp, ext) = parse(&bytes);
        assert_eq!(version, 0x0303);
        assert_eq!(suites, vec![0xc02f, 0x002f]);
        assert_eq!(comp, vec![1, 0]);
        let ext = ext.expect("extensions");
        let (_, exts) = tls_parser::parse_tls_client_hello_extensions(&ext).expect("extensions");
        assert!(
            exts.iter()
                .any(|e| matches!(e, tls_parser::TlsExtension::SNI(_)))
        );
        assert!(
            exts.iter()
                .any(|e| matches!(e, tls_parser::TlsExtension::RenegotiationInfo(_)))
        );
    }

    #[test]
    fn sslv3_hello_has_scsv_and_no_extensions() {
        let bytes = build(&spec(Version::Ssl3), Some("mx.example"), &[7; 32]);
        assert_eq!(&bytes[1..3], &[3, 0]);
        let (version, suites, _, ext) = parse(&bytes);
        assert_eq!(version, 0x0300);
        assert_eq!(suites.last(), Some(&0x00ff));
        assert!(ext.is_none());
    }

    #[test]
    fn tls13_hello_offers_only_tls13() {
        let bytes = build(&spec(Version::Tls13), None, &[7; 32]);
        let (version, _, comp, ext) = parse(&bytes);
        assert_eq!(version, 0x0303);
        assert_eq!(comp, vec![0], "no compression in TLS 1.3");
        let ext = ext.expect("extensions");
        let (_, exts) = tls_parser::parse_tls_client_hello_extensions(&ext).expect("extensions");
        assert!(exts.iter().any(|e| matches!(e,
            tls_parser::TlsExtension::SupportedVersions(v) if v == &[tls_parser::TlsVersion(0x0304)])));
    }
}
