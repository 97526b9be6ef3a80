//! What `smtptls diff` keeps of a report row: the facts a change can be
//! about, and nothing else (no timings, scan tables, EHLO keywords or
//! banners). Both sides of a diff are held as views, keyed by domain, so
//! the memory a diff needs grows with the number of domains times a small
//! view, not with the size of the report files.

use std::net::IpAddr;

use crate::report::{
    DaneResult, DeliveryResult, Dnssec, DomainReport, ErrorKind, ErrorPhase, KeyType, Mode,
    RecordState, Severity, TlsVersion, TlsaStatus, Verdict,
};
use crate::vocabulary::NcscLevel;

/// One domain as a report row showed it.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainView {
    /// `--service`: rows of different services are not compared.
    pub service: crate::vocabulary::Service,
    pub verdict: Verdict,
    pub verdict_reason: String,
    /// The row's error, when the domain could not be audited at all.
    pub error: Option<(ErrorPhase, ErrorKind)>,
    pub configuration: Option<NcscLevel>,
    pub dnssec: Dnssec,
    /// By host name.
    pub mx: Keyed<String, MxView>,
    pub mta_sts: Option<MtaStsView>,
    pub tls_rpt: Option<TlsRptView>,
    /// Opportunistic, MTA-STS and DANE senders, in that order.
    pub delivery: Option<[DeliveryResult; 3]>,
    /// Findings of severity `fail`, keyed by where they are (`domain`,
    /// `HOST` or `HOST [ADDRESS]`) and their id; the value is the message.
    pub fails: Keyed<(String, String), String>,
}

impl DomainView {
    /// The row was written by a run that stopped before the domain was
    /// done, or for an invalid line: it says nothing about the domain.
    pub fn not_audited(&self) -> bool {
        matches!(self.error, Some((ErrorPhase::Run | ErrorPhase::Input, _)))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MxView {
    pub preference: u16,
    pub tlsa: Option<TlsaView>,
    pub addresses: Keyed<IpAddr, AddressView>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsaView {
    pub status: TlsaStatus,
    /// Presentation form (`3 1 1 <hex>`), lower case, sorted, distinct.
    pub records: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AddressView {
    pub starttls: bool,
    /// The server answered EHLO (or HELO): the address took part in SMTP.
    pub answered: bool,
    pub error: Option<(ErrorPhase, ErrorKind)>,
    /// Protocol version and cipher of the session smtptls got.
    pub tls: Option<(TlsVersion, String)>,
    pub certificate: Option<CertificateView>,
    pub dane: DaneResult,
    /// The certificates of the other key type (`other_certificates`).
    pub other_certificates: Vec<OtherCertificateView>,
}

/// A certificate of the other key type: what its changes are about.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherCertificateView {
    pub key_type: KeyType,
    pub sha256: String,
    pub spki_sha256: String,
    pub not_after: String,
    pub dane: DaneResult,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CertificateView {
    pub sha256: String,
    pub spki_sha256: String,
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    pub days_left: i64,
    pub chain_valid: bool,
    pub hostname_match: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MtaStsView {
    pub record: RecordState,
    pub id: Option<String>,
    /// Absent when the policy could not be fetched or read.
    pub policy: Option<StsPolicyView>,
    pub fetch_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StsPolicyView {
    pub mode: Mode,
    pub mx: Vec<String>,
    pub max_age: u64,
    /// Null in reports from before the hash was kept.
    pub text_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsRptView {
    pub record: RecordState,
    pub rua: Vec<String>,
}

impl From<&DomainReport> for DomainView {
    fn from(row: &DomainReport) -> Self {
        let mut fails = Vec::new();
        let mut add_fails = |scope: String, findings: &[crate::report::Finding]| {
            for f in findings.iter().filter(|f| f.severity == Severity::Fail) {
                fails.push((
                    (scope.clone(), f.id.as_str().to_string()),
                    f.message.clone(),
                ));
            }
        };
        add_fails("domain".to_string(), &row.findings);
        let mut mx = Vec::new();
        for host in &row.mx {
            add_fails(host.host.clone(), &host.findings);
            let mut addresses = Vec::new();
            for a in &host.addresses {
                add_fails(format!("{} [{}]", host.host, a.ip), &a.findings);
                addresses.push((
                    a.ip,
                    AddressView {
                        starttls: a.starttls,
                        answered: a.error.as_ref().is_none_or(|e| !e.phase.before_smtp()),
                        error: a.error.as_ref().map(|e| (e.phase, e.kind)),
                        tls: a.tls.as_ref().map(|t| (t.version, t.cipher.clone())),
                        certificate: a.certificate.as_ref().map(|c| CertificateView {
                            sha256: c.sha256.clone(),
                            spki_sha256: c.spki_sha256.clone(),
                            subject: c.subject.clone(),
                            issuer: c.issuer.clone(),
                            not_after: c.not_after.clone(),
                            days_left: c.days_left,
                            chain_valid: c.chain_valid,
                            hostname_match: c.hostname_match,
                        }),
                        dane: a.dane,
                        other_certificates: a
                            .other_certificates
                            .iter()
                            .map(|o| OtherCertificateView {
                                key_type: o.key_type,
                                sha256: o.certificate.sha256.clone(),
                                spki_sha256: o.certificate.spki_sha256.clone(),
                                not_after: o.certificate.not_after.clone(),
                                dane: o.dane,
                            })
                            .collect(),
                    },
                ));
            }
            mx.push((
                host.host.clone(),
                MxView {
                    preference: host.preference,
                    tlsa: host.tlsa.as_ref().map(|t| TlsaView {
                        status: t.status,
                        records: {
                            let mut r: Vec<String> =
                                t.records.iter().map(|r| r.to_ascii_lowercase()).collect();
                            r.sort();
                            r.dedup();
                            r
                        },
                    }),
                    addresses: Keyed::new(addresses),
                },
            ));
        }
        DomainView {
            service: row.service,
            mx: Keyed::new(mx),
            fails: Keyed::new(fails),
            verdict: row.verdict,
            verdict_reason: row.verdict_reason.clone(),
            error: row.error.as_ref().map(|e| (e.phase, e.kind)),
            configuration: row.configuration.as_ref().map(|c| c.level),
            dnssec: row.dnssec,
            mta_sts: row.mta_sts.as_ref().map(|m| MtaStsView {
                record: m.record,
                id: m.id.clone(),
                policy: m.policy.as_ref().map(|p| StsPolicyView {
                    mode: p.mode,
                    mx: p.mx.clone(),
                    max_age: p.max_age,
                    text_sha256: p.text_sha256.clone(),
                }),
                fetch_error: m.fetch_error.clone(),
            }),
            tls_rpt: row.tls_rpt.as_ref().map(|t| TlsRptView {
                record: t.record,
                rua: t.rua.clone(),
            }),
            delivery: row
                .delivery
                .as_ref()
                .map(|d| [d.opportunistic.result, d.mta_sts.result, d.dane.result]),
        }
    }
}

/// A small map as a sorted vector of exactly its entries. A view holds
/// one per domain, MX host and address: `BTreeMap`'s nodes reserve room
/// for eleven entries each, which made a view of one MX address weigh
/// more than 4 KiB (measured over 100,000 domains).
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed<K, V>(Vec<(K, V)>);

impl<K: Ord, V> Keyed<K, V> {
    /// Sorted by key; of equal keys the first is kept (a report lists a
    /// host or address once; a finding id may repeat at one place).
    pub fn new(mut entries: Vec<(K, V)>) -> Self {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, first| later.0 == first.0);
        entries.shrink_to_fit();
        Keyed(entries)
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.0
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a Keyed<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}
