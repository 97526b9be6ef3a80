//! OCSP stapling (RFC 6066 §8, RFC 6960): the response a server stapled
//! to its certificate, read against the leaf it was stapled for, and the
//! must-staple extension (RFC 7633).
//!
//! Why by hand on asn1-rs rather than with `x509-ocsp`? That crate (0.2)
//! pulls in a second DER stack (`der` 0.7, `x509-cert`, `spki` 0.7) beside
//! the one x509-parser already brings; what is read here is a handful of
//! fields, each one a bounded TLV (`asn1_rs::Any`: lengths are checked
//! against the input, nothing is buffered beyond the staple itself, which
//! rustls already bounds to one handshake message).
//!
//! The signature is checked with the issuer's key and the run's crypto
//! provider (the algorithms rustls verifies handshakes with), when the
//! issuer certificate was served; a response from a delegated responder
//! (its own certificate inside the response) is reported as not checked.

use ::time::OffsetDateTime;
use x509_parser::asn1_rs::{Any, Class, FromDer, GeneralizedTime, Tag};
use x509_parser::prelude::X509Certificate;

use crate::vocabulary::{Finding, FindingId, NcscLevel};

/// What the CA said about the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspStatus {
    Good,
    Revoked,
    Unknown,
    /// The response could not be used: not a successful response, not
    /// parseable, or about another certificate (`Ocsp::problem` says).
    Unusable,
}

/// The response's validity period against the run's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspFreshness {
    Fresh,
    /// `nextUpdate` has passed: newer information was due.
    Expired,
    /// `thisUpdate` is in the future.
    NotYetValid,
}

/// Whether the response is signed by the certificate's issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspSignature {
    Valid,
    Invalid,
    /// Not checked: the issuer was not served, a delegated responder
    /// signed, or the algorithm is not one the provider verifies.
    NotChecked,
}

/// A stapled response, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ocsp {
    pub status: OcspStatus,
    /// Why the response is unusable, or why its signature was not checked.
    pub problem: Option<String>,
    pub this_update: Option<OffsetDateTime>,
    pub next_update: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    /// `None` when the response is unusable.
    pub freshness: Option<OcspFreshness>,
    pub signature: OcspSignature,
}

impl Ocsp {
    fn unusable(problem: impl Into<String>) -> Self {
        Ocsp {
            status: OcspStatus::Unusable,
            problem: Some(problem.into()),
            this_update: None,
            next_update: None,
            revoked_at: None,
            freshness: None,
            signature: OcspSignature::NotChecked,
        }
    }

    /// Good, current, and not contradicted by a failed signature check:
    /// what a client that insists on a staple (must-staple) accepts.
    pub fn acceptable(&self) -> bool {
        self.status == OcspStatus::Good
            && self.freshness == Some(OcspFreshness::Fresh)
            && self.signature != OcspSignature::Invalid
    }
}

/// id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1, as DER content octets.
const OCSP_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
/// id-pe-tlsfeature, 1.3.6.1.5.5.7.1.24 (RFC 7633).
const TLS_FEATURE: &str = "1.3.6.1.5.5.7.1.24";
/// status_request, the TLS feature a must-staple certificate lists.
const STATUS_REQUEST: u8 = 5;

/// One TLV and the input after it, and the whole TLV's bytes.
fn tlv(input: &[u8]) -> Result<(&[u8], Any<'_>, &[u8]), String> {
    let (rest, any) = Any::from_der(input).map_err(|e| format!("malformed DER: {e}"))?;
    let raw = &input[..input.len() - rest.len()];
    Ok((rest, any, raw))
}

fn is(any: &Any<'_>, class: Class, tag: u32) -> bool {
    any.header.class() == class && any.header.tag() == Tag(tag)
}

fn universal(any: &Any<'_>, tag: Tag, what: &str) -> Result<(), String> {
    if any.header.class() == Class::Universal && any.header.tag() == tag {
        Ok(())
    } else {
        Err(format!("{what}: unexpected ASN.1 element"))
    }
}

fn time_of(any: Any<'_>) -> Result<OffsetDateTime, String> {
    GeneralizedTime::try_from(any)
        .ok()
        .and_then(|t| t.utc_datetime().ok())
        .ok_or_else(|| "a time is not a valid GeneralizedTime".to_string())
}

/// The parts of a BasicOCSPResponse this module needs.
struct Basic<'a> {
    /// The whole `tbsResponseData` TLV: what the signature covers.
    tbs: &'a [u8],
    /// `signatureAlgorithm`'s content octets (an `AlgorithmIdentifier`
    /// without its SEQUENCE header, as rustls names algorithms).
    algorithm: &'a [u8],
    signature: &'a [u8],
    /// The response carries certificates: a delegated responder's.
    certs: bool,
}

fn basic(der: &[u8]) -> Result<Basic<'_>, String> {
    let (_, response, _) = tlv(der)?;
    universal(&response, Tag::Sequence, "OCSPResponse")?;
    let (rest, status, _) = tlv(response.data)?;
    universal(&status, Tag::Enumerated, "responseStatus")?;
    match status.data {
        [0] => {}
        [code] => {
            let name = match code {
                1 => "malformedRequest",
                2 => "internalError",
                3 => "tryLater",
                5 => "sigRequired",
                6 => "unauthorized",
                _ => "unknown",
            };
            return Err(format!("the responder answered {name} ({code})"));
        }
        _ => return Err("responseStatus is not one octet".into()),
    }
    let (_, bytes, _) = tlv(rest)?;
    if !is(&bytes, Class::ContextSpecific, 0) {
        return Err("a successful response without responseBytes".into());
    }
    let (_, seq, _) = tlv(bytes.data)?;
    let (rest, kind, _) = tlv(seq.data)?;
    universal(&kind, Tag::Oid, "responseType")?;
    if kind.data != OCSP_BASIC {
        return Err("responseType is not id-pkix-ocsp-basic".into());
    }
    let (_, octets, _) = tlv(rest)?;
    universal(&octets, Tag::OctetString, "response")?;
    let (_, basic, _) = tlv(octets.data)?;
    universal(&basic, Tag::Sequence, "BasicOCSPResponse")?;
    let (rest, _, tbs) = tlv(basic.data)?;
    let (rest, algorithm, _) = tlv(rest)?;
    universal(&algorithm, Tag::Sequence, "signatureAlgorithm")?;
    let (rest, signature, _) = tlv(rest)?;
    universal(&signature, Tag::BitString, "signature")?;
    let signature = match signature.data {
        [0, sig @ ..] => sig,
        _ => return Err("the signature has unused bits".into()),
    };
    Ok(Basic {
        tbs,
        algorithm: algorithm.data,
        signature,
        certs: !rest.is_empty(),
    })
}

/// The single response about `serial` (the leaf's INTEGER content octets).
struct Single {
    status: OcspStatus,
    revoked_at: Option<OffsetDateTime>,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
}

fn single_for(tbs: &[u8], serial: &[u8]) -> Result<Single, String> {
    let (_, data, _) = tlv(tbs)?;
    universal(&data, Tag::Sequence, "tbsResponseData")?;
    let mut rest = data.data;
    let (r, mut next, _) = tlv(rest)?;
    rest = r;
    if is(&next, Class::ContextSpecific, 0) {
        // version [0], v1 only
        (rest, next, _) = tlv(rest)?;
    }
    // responderID [1] or [2]
    if !(is(&next, Class::ContextSpecific, 1) || is(&next, Class::ContextSpecific, 2)) {
        return Err("responderID missing".into());
    }
    let (rest, produced, _) = tlv(rest)?;
    time_of(produced)?;
    let (_, responses, _) = tlv(rest)?;
    universal(&responses, Tag::Sequence, "responses")?;
    let mut list = responses.data;
    while !list.is_empty() {
        let (r, single, _) = tlv(list)?;
        list = r;
        let (rest, cert_id, _) = tlv(single.data)?;
        // CertID: hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber.
        let (id, _, _) = tlv(cert_id.data)?;
        let (id, _, _) = tlv(id)?;
        let (id, _, _) = tlv(id)?;
        let (_, number, _) = tlv(id)?;
        universal(&number, Tag::Integer, "serialNumber")?;
        if number.data != serial {
            continue;
        }
        let (rest, status, _) = tlv(rest)?;
        let (status, revoked_at) = match status.header.tag() {
            _ if status.header.class() != Class::ContextSpecific => {
                return Err("certStatus: unexpected ASN.1 element".into());
            }
            Tag(0) => (OcspStatus::Good, None),
            Tag(1) => {
                let (_, at, _) = tlv(status.data)?;
                (OcspStatus::Revoked, Some(time_of(at)?))
            }
            _ => (OcspStatus::Unknown, None),
        };
        let (rest, this, _) = tlv(rest)?;
        let this_update = time_of(this)?;
        let next_update = match tlv(rest) {
            Ok((_, next, _)) if is(&next, Class::ContextSpecific, 0) => {
                let (_, t, _) = tlv(next.data)?;
                Some(time_of(t)?)
            }
            _ => None,
        };
        return Ok(Single {
            status,
            revoked_at,
            this_update,
            next_update,
        });
    }
    Err("the response is about another certificate (no serial number matches)".into())
}

/// Reads `der`, stapled for `leaf` (DER), with `issuer` (DER) when the
/// server sent it, at `now`.
pub fn read(der: &[u8], leaf: &[u8], issuer: Option<&[u8]>, now: OffsetDateTime) -> Ocsp {
    let Ok((_, leaf)) = X509Certificate::from_der(leaf) else {
        return Ocsp::unusable("the certificate could not be parsed");
    };
    let basic = match basic(der) {
        Ok(b) => b,
        Err(e) => return Ocsp::unusable(e),
    };
    let single = match single_for(basic.tbs, leaf.raw_serial()) {
        Ok(s) => s,
        Err(e) => return Ocsp::unusable(e),
    };
    let freshness = if single.this_update > now {
        OcspFreshness::NotYetValid
    } else if single.next_update.is_some_and(|n| n < now) {
        OcspFreshness::Expired
    } else {
        OcspFreshness::Fresh
    };
    let issuer = issuer
        .and_then(|i| X509Certificate::from_der(i).ok())
        .map(|(_, i)| i)
        .filter(|i| i.subject().as_raw() == leaf.issuer().as_raw());
    let (signature, problem) = match issuer {
        None => (
            OcspSignature::NotChecked,
            Some("signature not checked: the issuer's certificate was not served".to_string()),
        ),
        Some(issuer) => match verify(&basic, issuer.public_key().raw) {
            Some(true) => (OcspSignature::Valid, None),
            // The issuer's key did not sign it, but the response carries
            // a certificate: a delegated responder's (RFC 6960 §4.2.2.2),
            // whose own chain this module does not follow.
            Some(false) | None if basic.certs => (
                OcspSignature::NotChecked,
                Some("signature not checked: signed by a delegated responder".to_string()),
            ),
            Some(false) => (OcspSignature::Invalid, None),
            None => (
                OcspSignature::NotChecked,
                Some("signature not checked: an algorithm the probe does not verify".to_string()),
            ),
        },
    };
    Ocsp {
        status: single.status,
        problem,
        this_update: Some(single.this_update),
        next_update: single.next_update,
        revoked_at: single.revoked_at,
        freshness: Some(freshness),
        signature,
    }
}

/// The signature against the issuer's SPKI (DER): `None` when no
/// algorithm of the provider fits the key and signature algorithm.
fn verify(basic: &Basic<'_>, spki: &[u8]) -> Option<bool> {
    let (_, spki, _) = tlv(spki).ok()?;
    let (rest, key_alg, _) = tlv(spki.data).ok()?;
    let (_, key, _) = tlv(rest).ok()?;
    let key = key.data.strip_prefix(&[0])?;
    let provider = crate::crypto::provider();
    let alg = provider
        .signature_verification_algorithms
        .all
        .iter()
        .find(|a| {
            a.public_key_alg_id().as_ref() == key_alg.data
                && a.signature_alg_id().as_ref() == basic.algorithm
        })?;
    Some(
        alg.verify_signature(key, basic.tbs, basic.signature)
            .is_ok(),
    )
}

/// Whether the certificate demands a staple: the TLS feature extension
/// (RFC 7633) listing status_request.
pub fn must_staple(x509: &X509Certificate<'_>) -> bool {
    x509.extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == TLS_FEATURE)
        .any(|e| {
            let Ok((_, features, _)) = tlv(e.value) else {
                return false;
            };
            let mut list = features.data;
            while let Ok((rest, feature, _)) = tlv(list) {
                if feature.data == [STATUS_REQUEST] {
                    return true;
                }
                list = rest;
            }
            false
        })
}

fn date(t: Option<OffsetDateTime>) -> String {
    t.map_or_else(|| "-".into(), |t| t.date().to_string())
}

/// The findings of stapling: `tls.ocsp-stapling` on the configuration
/// axis (NCSC-NL: stapling is good, none is sufficient), and
/// `cert.must-staple` when the certificate demands a staple. Neither
/// changes the verdict: Postfix and Exim neither ask for nor check a
/// staple, so what they deliver over is not changed by one
/// (`docs/grading.md`).
pub fn findings(staple: Option<&Ocsp>, must_staple: bool, findings: &mut Vec<Finding>) {
    let sufficient = |f: Finding| Finding {
        level: Some(NcscLevel::Sufficient),
        ..f
    };
    let finding = match staple {
        None => Finding::leveled(
            FindingId::TlsOcspStapling,
            NcscLevel::Sufficient,
            "no OCSP response stapled (NCSC-NL: sufficient; stapling is good)",
        ),
        Some(o) => {
            let note = o
                .problem
                .as_deref()
                .map(|p| format!("; {p}"))
                .unwrap_or_default();
            match (o.status, o.freshness, o.signature) {
                (OcspStatus::Unusable, ..) => sufficient(Finding::warn(
                    FindingId::TlsOcspStapling,
                    format!("the stapled OCSP response is unusable{note}"),
                )),
                (_, _, OcspSignature::Invalid) => sufficient(Finding::warn(
                    FindingId::TlsOcspStapling,
                    "the stapled OCSP response's signature does not verify with the issuer's key",
                )),
                (OcspStatus::Revoked, ..) => sufficient(Finding::warn(
                    FindingId::TlsOcspStapling,
                    format!(
                        "the stapled OCSP response says the certificate was revoked on {}: clients that check OCSP refuse it{note}",
                        date(o.revoked_at)
                    ),
                )),
                (_, Some(OcspFreshness::Expired), _) => sufficient(Finding::warn(
                    FindingId::TlsOcspStapling,
                    format!(
                        "the stapled OCSP response expired on {} (nextUpdate): the server staples a stale response{note}",
                        date(o.next_update)
                    ),
                )),
                (_, Some(OcspFreshness::NotYetValid), _) => sufficient(Finding::warn(
                    FindingId::TlsOcspStapling,
                    format!(
                        "the stapled OCSP response is not valid before {} (thisUpdate){note}",
                        date(o.this_update)
                    ),
                )),
                (OcspStatus::Unknown, ..) => sufficient(Finding::warn(
                    FindingId::TlsOcspStapling,
                    format!(
                        "the stapled OCSP response says the CA does not know the certificate (status unknown){note}"
                    ),
                )),
                _ => Finding::leveled(
                    FindingId::TlsOcspStapling,
                    NcscLevel::Good,
                    format!(
                        "OCSP response stapled: good, valid until {}{note}",
                        date(o.next_update)
                    ),
                ),
            }
        }
    };
    findings.push(finding);
    if must_staple {
        findings.push(match staple {
            Some(o) if o.acceptable() => Finding::ok(
                FindingId::CertMustStaple,
                "the certificate demands a stapled OCSP response (must-staple) and gets one",
            ),
            Some(_) => Finding::warn(
                FindingId::CertMustStaple,
                "the certificate demands a stapled OCSP response (must-staple, RFC 7633) and the one stapled is not good and current: a sender that enforces must-staple refuses the certificate (Postfix and Exim do not enforce it, so the verdict stands)",
            ),
            None => Finding::warn(
                FindingId::CertMustStaple,
                "the certificate demands a stapled OCSP response (must-staple, RFC 7633) and none is stapled: a sender that enforces must-staple refuses the certificate (Postfix and Exim do not enforce it, so the verdict stands)",
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use ::time::{Duration, OffsetDateTime};
    use rcgen::{CertificateParams, CertifiedIssuer, IsCa, KeyPair, SigningKey};

    use super::*;
    use crate::vocabulary::Severity;

    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    fn gtime(t: OffsetDateTime) -> Vec<u8> {
        let text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        der(0x18, text.as_bytes())
    }

    /// A CA and a leaf it issued (with must-staple when asked).
    struct Pki {
        ca: CertifiedIssuer<'static, KeyPair>,
        leaf: Vec<u8>,
    }

    fn pki(must_staple: bool) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "ocsp test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("ca");
        let mut leaf = CertificateParams::new(vec!["mx.test".to_string()]).expect("params");
        if must_staple {
            leaf.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 5, 5, 7, 1, 24],
                    vec![0x30, 0x03, 0x02, 0x01, 0x05],
                ));
        }
        let leaf = leaf
            .signed_by(&KeyPair::generate().expect("key"), &ca)
            .expect("leaf");
        Pki {
            ca,
            leaf: leaf.der().to_vec(),
        }
    }

    /// `status` is the encoded CertStatus; `serial` overrides the leaf's.
    fn response(
        p: &Pki,
        status: &[u8],
        this: OffsetDateTime,
        next: Option<OffsetDateTime>,
        serial: Option<&[u8]>,
        tamper: bool,
    ) -> Vec<u8> {
        signed(p, status, this, next, serial, tamper, None)
    }

    /// [`response`], signed by `signer`'s key (else the CA's), carrying
    /// its certificate when it has one: a delegated responder's.
    fn signed(
        p: &Pki,
        status: &[u8],
        this: OffsetDateTime,
        next: Option<OffsetDateTime>,
        serial: Option<&[u8]>,
        tamper: bool,
        signer: Option<(&KeyPair, Option<&[u8]>)>,
    ) -> Vec<u8> {
        let (_, leaf) = X509Certificate::from_der(&p.leaf).expect("leaf");
        let (_, ca) = X509Certificate::from_der(p.ca.der()).expect("ca");
        let sha256 = [
            0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
        ];
        let cert_id = der(
            0x30,
            &[
                der(0x30, &sha256),
                der(0x04, &[0; 32]),
                der(0x04, &[0; 32]),
                der(0x02, serial.unwrap_or(leaf.raw_serial())),
            ]
            .concat(),
        );
        let mut single = [cert_id, status.to_vec(), gtime(this)].concat();
        if let Some(next) = next {
            single.extend(der(0xa0, &gtime(next)));
        }
        let tbs = der(
            0x30,
            &[
                der(0xa1, ca.subject().as_raw()),
                gtime(this),
                der(0x30, &der(0x30, &single)),
            ]
            .concat(),
        );
        let mut sig = match signer {
            Some((key, _)) => key.sign(&tbs),
            None => p.ca.key().sign(&tbs),
        }
        .expect("sign");
        if tamper {
            let last = sig.len() - 2;
            sig[last] ^= 1;
        }
        let alg = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let mut basic = [
            tbs,
            der(0x30, &alg),
            der(0x03, &[&[0u8][..], &sig].concat()),
        ]
        .concat();
        if let Some((_, Some(cert))) = signer {
            basic.extend(der(0xa0, &der(0x30, cert)));
        }
        let basic = der(0x30, &basic);
        der(
            0x30,
            &[
                der(0x0a, &[0]),
                der(
                    0xa0,
                    &der(0x30, &[&OCSP_TYPE[..], &der(0x04, &basic)].concat()),
                ),
            ]
            .concat(),
        )
    }

    const OCSP_TYPE: [u8; 11] = [
        0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01,
    ];
    const GOOD: &[u8] = &[0x80, 0x00];
    const UNKNOWN: &[u8] = &[0x82, 0x00];

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn read_with_issuer(p: &Pki, der: &[u8]) -> Ocsp {
        read(der, &p.leaf, Some(p.ca.der().as_ref()), now())
    }

    #[test]
    fn a_good_current_response_signed_by_the_issuer_reads_as_such() {
        let p = pki(false);
        let r = response(
            &p,
            GOOD,
            now() - Duration::hours(1),
            Some(now() + Duration::days(7)),
            None,
            false,
        );
        let o = read_with_issuer(&p, &r);
        assert_eq!(o.status, OcspStatus::Good);
        assert_eq!(o.freshness, Some(OcspFreshness::Fresh));
        assert_eq!(o.signature, OcspSignature::Valid);
        assert!(o.acceptable());
        // Without the issuer certificate nothing can check the signature.
        let o = read(&r, &p.leaf, None, now());
        assert_eq!(o.signature, OcspSignature::NotChecked);
        assert!(o.problem.is_some_and(|p| p.contains("not served")));
    }

    #[test]
    fn revoked_unknown_and_stale_responses_are_told_apart() {
        let p = pki(false);
        let at = now() - Duration::days(1);
        let revoked = der(0xa1, &gtime(at));
        let r = response(
            &p,
            &revoked,
            now() - Duration::hours(1),
            Some(now() + Duration::days(7)),
            None,
            false,
        );
        let o = read_with_issuer(&p, &r);
        assert_eq!(o.status, OcspStatus::Revoked);
        assert_eq!(
            o.revoked_at.map(|t| t.unix_timestamp()),
            Some(at.unix_timestamp())
        );
        assert!(!o.acceptable());

        let r = response(&p, UNKNOWN, now() - Duration::hours(1), None, None, false);
        let o = read_with_issuer(&p, &r);
        assert_eq!(
            (o.status, o.freshness),
            (OcspStatus::Unknown, Some(OcspFreshness::Fresh))
        );

        let r = response(
            &p,
            GOOD,
            now() - Duration::days(9),
            Some(now() - Duration::days(2)),
            None,
            false,
        );
        let o = read_with_issuer(&p, &r);
        assert_eq!(
            (o.status, o.freshness),
            (OcspStatus::Good, Some(OcspFreshness::Expired))
        );
        assert!(!o.acceptable());

        let r = response(&p, GOOD, now() + Duration::days(1), None, None, false);
        assert_eq!(
            read_with_issuer(&p, &r).freshness,
            Some(OcspFreshness::NotYetValid)
        );
    }

    #[test]
    fn a_tampered_signature_another_serial_or_garbage_is_caught() {
        let p = pki(false);
        let this = now() - Duration::hours(1);
        let r = response(&p, GOOD, this, None, None, true);
        assert_eq!(read_with_issuer(&p, &r).signature, OcspSignature::Invalid);

        let r = response(&p, GOOD, this, None, Some(&[0x01, 0x02]), false);
        let o = read_with_issuer(&p, &r);
        assert_eq!(o.status, OcspStatus::Unusable);
        assert!(o.problem.is_some_and(|p| p.contains("another certificate")));

        for garbage in [
            &b""[..],
            b"\x30\x03\x0a\x01\x03",
            b"\x30\x80",
            b"not DER at all",
        ] {
            assert_eq!(
                read_with_issuer(&p, garbage).status,
                OcspStatus::Unusable,
                "{garbage:?}"
            );
        }
        // tryLater: a responder status, not a response.
        let o = read_with_issuer(&p, b"\x30\x03\x0a\x01\x03");
        assert!(o.problem.is_some_and(|p| p.contains("tryLater")));
        // Every truncation of a good response is unusable, never a panic.
        let r = response(&p, GOOD, this, None, None, false);
        for n in 0..r.len() {
            assert_eq!(read_with_issuer(&p, &r[..n]).status, OcspStatus::Unusable);
        }
    }

    #[test]
    fn a_delegated_responders_signature_is_not_checked_but_not_called_invalid() {
        let p = pki(false);
        let responder = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec!["ocsp.test".to_string()])
            .expect("params")
            .signed_by(&responder, &p.ca)
            .expect("responder certificate");
        let this = now() - Duration::hours(1);
        let r = signed(
            &p,
            GOOD,
            this,
            None,
            None,
            false,
            Some((&responder, Some(cert.der().as_ref()))),
        );
        let o = read_with_issuer(&p, &r);
        assert_eq!(
            (o.status, o.signature),
            (OcspStatus::Good, OcspSignature::NotChecked)
        );
        assert!(o.problem.is_some_and(|p| p.contains("delegated")));
        // Another key's signature with no certificate in the response is
        // not the issuer's: invalid.
        let forged = signed(&p, GOOD, this, None, None, false, Some((&responder, None)));
        assert_eq!(
            read_with_issuer(&p, &forged).signature,
            OcspSignature::Invalid
        );
    }

    #[test]
    fn must_staple_is_read_from_the_tls_feature_extension() {
        for wanted in [false, true] {
            let p = pki(wanted);
            let (_, leaf) = X509Certificate::from_der(&p.leaf).expect("leaf");
            assert_eq!(must_staple(&leaf), wanted);
        }
    }

    fn graded(staple: Option<&Ocsp>, must: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        findings(staple, must, &mut out);
        out
    }

    fn good() -> Ocsp {
        Ocsp {
            status: OcspStatus::Good,
            problem: None,
            this_update: Some(now()),
            next_update: Some(now() + Duration::days(1)),
            revoked_at: None,
            freshness: Some(OcspFreshness::Fresh),
            signature: OcspSignature::Valid,
        }
    }

    /// The rubric: a staple is good, none sufficient, a bad one a warning
    /// at sufficient; must-staple without a good staple a warning. None
    /// of them is a `fail`: the verdict follows Postfix and Exim, which do
    /// not check staples.
    #[test]
    fn the_rubric_of_stapling() {
        let level = |f: &Finding| (f.id, f.severity, f.level);
        assert_eq!(
            graded(None, false).iter().map(level).collect::<Vec<_>>(),
            [(
                FindingId::TlsOcspStapling,
                Severity::Ok,
                Some(NcscLevel::Sufficient)
            )]
        );
        assert_eq!(
            graded(Some(&good()), false)
                .iter()
                .map(level)
                .collect::<Vec<_>>(),
            [(
                FindingId::TlsOcspStapling,
                Severity::Ok,
                Some(NcscLevel::Good)
            )]
        );
        let bad = [
            Ocsp {
                status: OcspStatus::Revoked,
                ..good()
            },
            Ocsp {
                status: OcspStatus::Unknown,
                ..good()
            },
            Ocsp {
                freshness: Some(OcspFreshness::Expired),
                ..good()
            },
            Ocsp {
                freshness: Some(OcspFreshness::NotYetValid),
                ..good()
            },
            Ocsp {
                signature: OcspSignature::Invalid,
                ..good()
            },
            Ocsp::unusable("garbage"),
        ];
        for o in &bad {
            let f = graded(Some(o), false);
            assert_eq!(
                f.iter().map(level).collect::<Vec<_>>(),
                [(
                    FindingId::TlsOcspStapling,
                    Severity::Warn,
                    Some(NcscLevel::Sufficient)
                )],
                "{o:?}"
            );
            let f = graded(Some(o), true);
            assert_eq!(
                (f[1].id, f[1].severity),
                (FindingId::CertMustStaple, Severity::Warn),
                "{o:?}"
            );
        }
        let f = graded(None, true);
        assert_eq!(
            (f[1].id, f[1].severity),
            (FindingId::CertMustStaple, Severity::Warn)
        );
        assert!(f[1].message.contains("none is stapled") && f[1].message.contains("Postfix"));
        let f = graded(Some(&good()), true);
        assert_eq!(
            (f[1].id, f[1].severity),
            (FindingId::CertMustStaple, Severity::Ok)
        );
        // A signature that could not be checked does not spoil a good staple.
        let unchecked = Ocsp {
            signature: OcspSignature::NotChecked,
            ..good()
        };
        assert_eq!(graded(Some(&unchecked), true)[1].severity, Severity::Ok);
        for o in bad.iter().chain([&good()]) {
            assert!(
                graded(Some(o), true)
                    .iter()
                    .all(|f| f.severity < Severity::Fail)
            );
        }
    }
}
