//! `--trust-anchor` files: reading them, their DS and DNSKEY records, and
//! the trust anchor hickory's validator starts from (a key-signing key
//! whose zone-signing key is trusted because the anchor signed it).

use super::{Answer, Backend, Resolver, ResolverSetupError, send_query};

use std::path::PathBuf;

use hickory_resolver::proto::dnssec::rdata::DNSSECRData;
use hickory_resolver::proto::dnssec::{
    Algorithm, DigestType, PublicKeyBuf, TrustAnchors, Verifier,
};
use hickory_resolver::proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

pub(super) fn read_anchor_file(path: &std::path::Path) -> Result<String, ResolverSetupError> {
    std::fs::read_to_string(path).map_err(|e| {
        ResolverSetupError(format!(
            "cannot read trust anchor file {}: {e}",
            path.display()
        ))
    })
}

/// The record type of a zone-file line: the first `DS` or `DNSKEY` after
/// the owner name (TTL and class may come between), upper-cased.
fn anchor_type(line: &str) -> Option<String> {
    let line = line.split(';').next().unwrap_or_default();
    line.split_whitespace()
        .skip(1)
        .find(|w| w.eq_ignore_ascii_case("DS") || w.eq_ignore_ascii_case("DNSKEY"))
        .map(str::to_ascii_uppercase)
}

/// A DS record of a `--trust-anchor` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DsAnchor {
    owner: Name,
    key_tag: u16,
    digest_type: u8,
    digest: Vec<u8>,
}

/// The DS records of a trust anchor file, in presentation format:
/// `owner [ttl] [class] DS key-tag algorithm digest-type hex-digest`.
pub(crate) fn ds_anchors(text: &str) -> Result<Vec<DsAnchor>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if anchor_type(line).as_deref() != Some("DS") {
            continue;
        }
        let bad = |why: &str| format!("line {}: {why}", n + 1);
        let data = line.split(';').next().unwrap_or_default();
        let words: Vec<&str> = data.split_whitespace().collect();
        let owner = words.first().ok_or_else(|| bad("no owner name"))?;
        let owner = Name::from_ascii(if owner.ends_with('.') {
            owner.to_string()
        } else {
            format!("{owner}.")
        })
        .map_err(|e| bad(&format!("owner name: {e}")))?;
        let at = words
            .iter()
            .position(|w| w.eq_ignore_ascii_case("DS"))
            .ok_or_else(|| bad("no DS"))?;
        let fields = &words[at + 1..];
        if fields.len() < 4 {
            return Err(bad(
                "a DS record needs key tag, algorithm, digest type and digest",
            ));
        }
        let key_tag = fields[0]
            .parse::<u16>()
            .map_err(|_| bad("key tag is not a number"))?;
        fields[1]
            .parse::<u8>()
            .map_err(|_| bad("algorithm is not a number"))?;
        let digest_type = fields[2]
            .parse::<u8>()
            .map_err(|_| bad("digest type is not a number"))?;
        let hex: String = fields[3..].concat();
        let digest = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .filter(|d| !d.is_empty() && hex.len().is_multiple_of(2))
            .ok_or_else(|| bad("digest is not hexadecimal"))?;
        out.push(DsAnchor {
            owner,
            key_tag,
            digest_type,
            digest,
        });
    }
    Ok(out)
}

impl Resolver {
    /// Fetches the DNSKEY RRset named by a DS anchor and returns the key
    /// whose digest matches (RFC 4034 §5.1.4).
    pub(super) async fn key_for_ds(
        &self,
        ds: &DsAnchor,
    ) -> Result<(LowerName, PublicKeyBuf), ResolverSetupError> {
        let fqdn = ds.owner.to_ascii();
        let (answer, _, _) = self.query_with_cname(&fqdn, RecordType::DNSKEY).await;
        let records = match answer {
            Answer::Records(r) => r,
            Answer::NoData | Answer::NxDomain => Vec::new(),
            Answer::Failed(f) => {
                return Err(ResolverSetupError(format!(
                    "DNSKEY lookup for the DS trust anchor of {fqdn} failed: {f}"
                )));
            }
        };
        let digest_type = DigestType::from(ds.digest_type);
        for rdata in records {
            let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = rdata else {
                continue;
            };
            let matches = key.zone_key()
                && key.calculate_key_tag().ok() == Some(ds.key_tag)
                && key
                    .to_digest(&ds.owner, digest_type)
                    .is_ok_and(|d| d.as_ref() == ds.digest.as_slice());
            if matches {
                return Ok((LowerName::from(&ds.owner), key.public_key().clone()));
            }
        }
        Err(ResolverSetupError(format!(
            "no DNSKEY at {fqdn} matches the DS trust anchor (key tag {})",
            ds.key_tag
        )))
    }

    /// The zone keys of `owner`'s DNSKEY RRset when a currently valid RRSIG
    /// by an anchored key covers it (RFC 4035 §5.2: a trusted key
    /// authenticates the RRset it signs). Empty when the RRset cannot be
    /// fetched or no anchored signature verifies: validation then goes on
    /// with the anchors as given and reports what it finds.
    pub(super) async fn keys_signed_by_anchor(
        &self,
        owner: &Name,
        anchors: &TrustAnchors,
    ) -> Vec<(LowerName, PublicKeyBuf)> {
        let Backend::TrustAd { clients, timeout } = &self.backend else {
            return Vec::new();
        };
        // Checking disabled: the upstream may not know this private
        // anchor, and it is our own signature check that decides.
        let Ok(response) = send_query(clients, *timeout, owner, RecordType::DNSKEY, true).await
        else {
            return Vec::new();
        };
        let rrset: Vec<&Record> = response
            .answers
            .iter()
            .filter(|r| r.name == *owner && r.record_type() == RecordType::DNSKEY)
            .collect();
        let lower = LowerName::from(owner);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or_default();
        let signed = response.answers.iter().any(|r| {
            let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data else {
                return false;
            };
            let input = sig.input();
            // RFC 4034 §3.1.5: serial-number arithmetic on the times.
            let current = now.wrapping_sub(input.sig_inception.get()) as i32 >= 0
                && input.sig_expiration.get().wrapping_sub(now) as i32 >= 0;
            r.name == *owner
                && input.type_covered == RecordType::DNSKEY
                && current
                && rrset.iter().any(|k| {
                    let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &k.data else {
                        return false;
                    };
                    key.calculate_key_tag().ok() == Some(input.key_tag)
                        && anchors.contains_with_name(key.public_key(), &lower)
                        && key
                            .verify_rrsig(owner, DNSClass::IN, sig, rrset.iter().copied())
                            .is_ok()
                })
        });
        if !signed {
            return Vec::new();
        }
        rrset
            .iter()
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DNSKEY(key)) if key.zone_key() && !key.revoke() => {
                    Some((lower.clone(), key.public_key().clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// The owner names of the DNSKEY records of a trust anchor file.
pub(crate) fn dnskey_anchor_owners(text: &str) -> Vec<Name> {
    text.lines()
        .filter(|line| anchor_type(line).as_deref() == Some("DNSKEY"))
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|owner| Name::from_ascii(owner).ok())
        .map(|mut name| {
            name.set_fqdn(true);
            name
        })
        .collect()
}

/// The lines of a trust anchor file for hickory's parser (all but the DS
/// records, which [`ds_anchors`] reads), and whether it had DS records.
pub(crate) fn anchor_key_lines(file: &str) -> (String, bool) {
    let mut text = String::new();
    let mut has_ds = false;
    for line in file.lines() {
        if anchor_type(line).as_deref() == Some("DS") {
            has_ds = true;
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    (text, has_ds)
}

/// hickory's reading of the DNSKEY lines of the trust anchor files.
///
/// A key of an algorithm hickory cannot verify is refused here, naming
/// the line: hickory's parser decodes every key and asserts (in debug
/// builds) that its algorithm is supported, which the fuzzer found as a
/// panic on `DNSKEY 257 3 63 …`. An anchor that can verify nothing is a
/// configuration error, not a key to drop silently.
pub(crate) fn parse_key_lines(text: &str) -> Result<TrustAnchors, ResolverSetupError> {
    // Tokens as hickory's zone lexer sees them, closely enough to find
    // the algorithm field: comments dropped per line, quotes and the
    // parentheses of a multi-line record are separators (`"57"3` is two
    // tokens, as the fuzzer showed).
    let data: String = text
        .lines()
        .map(|line| line.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['"', '(', ')'], " ");
    let fields: Vec<&str> = data.split_whitespace().collect();
    for (at, _) in fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.eq_ignore_ascii_case("DNSKEY"))
    {
        // DNSKEY flags protocol algorithm key: a number hickory's parser
        // reads itself (and rejects when it is not one).
        let Some(Ok(number)) = fields.get(at + 3).map(|a| a.parse::<u8>()) else {
            continue;
        };
        if !Algorithm::from_u8(number).is_supported() {
            let record = fields[at..fields.len().min(at + 4)].join(" ");
            return Err(ResolverSetupError(format!(
                "trust anchor files: DNSKEY algorithm {number} is not supported \
                 (the validator verifies algorithms 5, 7, 8, 10, 13, 14 and 15): {record} …"
            )));
        }
    }
    text.parse()
        .map_err(|e| ResolverSetupError(format!("trust anchor files: {e}")))
}

/// The root anchor, every DNSKEY in the `--trust-anchor` files and the
/// `resolved` keys that [`Resolver::build`] found through DNS (for DS
/// anchors, and the keys of an anchored zone's signed DNSKEY RRset). A DS
/// anchor that was not resolved (a synchronous [`Resolver::new`]) is an
/// error rather than silently ignored.
pub(super) fn trust_anchors(
    files: &[PathBuf],
    resolved: &[(LowerName, PublicKeyBuf)],
) -> Result<TrustAnchors, ResolverSetupError> {
    // hickory keeps non-root anchors private, so the files are parsed as
    // one text rather than merged anchor by anchor.
    let reject_ds = resolved.is_empty();
    let mut text = String::new();
    for path in files {
        let file = read_anchor_file(path)?;
        let (keys, has_ds) = anchor_key_lines(&file);
        if has_ds && reject_ds {
            return Err(ResolverSetupError(format!(
                "trust anchor file {}: DS records need the asynchronous set-up (Resolver::build)",
                path.display()
            )));
        }
        text.push_str(&keys);
    }
    let mut anchors = parse_key_lines(&text)?;
    let root = TrustAnchors::default();
    for i in 0..root.len() {
        if let Some(key) = root.get(i) {
            anchors.insert(key);
        }
    }
    for (owner, key) in resolved {
        anchors.insert_with_name(key, owner.clone());
    }
    Ok(anchors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_an_unsupported_algorithm_is_an_error_naming_it() {
        // The fuzzer's find (fuzz/regressions/trust_anchor/): hickory's
        // parser panicked on it in debug builds.
        let text = "example. 3600 IN DNSKEY 257 3 63 AAAA\n";
        let Err(err) = parse_key_lines(text) else {
            panic!("algorithm 63 is refused");
        };
        assert!(
            err.0.contains("DNSKEY algorithm 63 is not supported"),
            "{err}"
        );
        assert!(err.0.contains("DNSKEY 257 3 63 …"), "{err}");
        // Quotes split tokens as in hickory's lexer (the second find).
        assert!(parse_key_lines("example. IN DNSKEY \"57\"3 26 AIN\n").is_err());
        // RSA/MD5 (1), which RFC 8624 forbids, is refused too.
        assert!(parse_key_lines("example. IN DNSKEY 257 3 1 AwEAAQ==\n").is_err());
    }

    #[test]
    fn ds_anchor_lines() {
        let text = "; comment\nexample. 3600 IN DNSKEY 257 3 13 AAAA\nexample. IN DS 12345 13 2 AB CD ; split digest\nsub.example DS 1 8 1 ff\n";
        let ds = ds_anchors(text).expect("parses");
        assert_eq!(ds.len(), 2);
        assert_eq!(
            (ds[0].key_tag, ds[0].digest_type, ds[0].digest.clone()),
            (12345, 2, vec![0xab, 0xcd])
        );
        assert_eq!(ds[1].owner.to_ascii(), "sub.example.");
        for bad in [
            "x. DS 1 13 2",
            "x. DS tag 13 2 ab",
            "x. DS 1 13 2 abc",
            "x. DS 1 13 2 zz",
        ] {
            assert!(ds_anchors(bad).is_err(), "{bad}");
        }
        assert_eq!(
            anchor_type("example. 300 IN DNSKEY 257 3 13 DS=="),
            Some("DNSKEY".into())
        );
        assert_eq!(
            anchor_type("ds. 300 IN DNSKEY 257 3 13 x"),
            Some("DNSKEY".into())
        );
    }
}
