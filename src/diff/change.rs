//! The typed changes of `smtptls diff`: their stable ids, which way each
//! goes, and the rules that find them between two views of one domain
//! ([`compare`]). Pure: no I/O, unit-tested on hand-built views.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::view::{
    AddressView, CertificateView, DomainView, Keyed, MtaStsView, MxView, OtherCertificateView,
    TlsaView,
};
use crate::report::{DaneResult, DeliveryResult, Dnssec, KeyType, Mode, RecordState, Verdict};
use crate::vocabulary::{NcscLevel, wire_name as name};

/// Every kind of change, by stable id (the JSON `id`, `--fail-on` value).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeId {
    /// The domain is only in the new report.
    DomainAdded,
    /// The domain is only in the old report.
    DomainRemoved,
    /// One side's row says nothing about the domain (the run stopped
    /// before it, or the line was invalid): not compared.
    NotCompared,
    /// The verdict got better.
    VerdictUp,
    /// The verdict got worse.
    VerdictDown,
    /// To or from `no-mail` (outside the verdicts' order).
    VerdictChanged,
    /// The configuration level (NCSC-NL, what servers accept) got better.
    ConfigurationUp,
    /// The configuration level got worse.
    ConfigurationDown,
    /// The DNSSEC status of the MX RRset changed.
    DnssecChanged,
    MxAdded,
    MxRemoved,
    MxPreferenceChanged,
    AddressAdded,
    AddressRemoved,
    /// The address answers SMTP but no longer offers STARTTLS.
    StarttlsLost,
    StarttlsGained,
    /// The address no longer answers SMTP (connect, banner or EHLO fail).
    AddressFailing,
    /// The address answers SMTP again.
    AddressRecovered,
    /// The TLS version smtptls negotiated changed.
    TlsVersionChanged,
    /// The cipher suite smtptls negotiated changed.
    CipherChanged,
    /// A different certificate (fingerprint), with its issuer and expiry.
    CertificateRotated,
    /// The chain no longer validates.
    ChainNewlyFailing,
    ChainFixed,
    /// The certificate no longer matches the MX name.
    NameNewlyFailing,
    NameFixed,
    /// The DANE result of an address changed.
    DaneChanged,
    /// The TLSA records of an MX host changed.
    TlsaChanged,
    /// The certificate or key changed, the TLSA records did not, and they
    /// no longer match: a rollover that broke DANE.
    DaneRolloverBroke,
    /// The certificate or key changed, the TLSA records did not; DANE
    /// still matches, but through other records: the records that
    /// matched the old certificate are now stale.
    TlsaStale,
    /// The certificate's days left fell below the warning and it was not
    /// renewed (same fingerprint).
    CertificateExpiring,
    /// The certificate of the other key type (a dual-certificate server's
    /// second chain) changed, appeared or went away.
    OtherCertificateChanged,
    /// The certificate of the other key type matched the TLSA records and
    /// no longer does (it rolled over, or the records changed), while the
    /// main one may still match: DANE senders that negotiate that key type
    /// defer.
    OtherCertificateTlsaStale,
    /// The `_mta-sts` record's state (valid, absent, invalid…) changed.
    MtaStsRecordChanged,
    MtaStsIdChanged,
    MtaStsModeChanged,
    MtaStsMxChanged,
    MtaStsMaxAgeChanged,
    /// The policy text changed but the record's `id` did not: senders
    /// with a cached policy will not fetch it (RFC 8461 §3.3).
    MtaStsPolicyChangedSameId,
    /// The `_smtp._tls` record (state or destinations) changed.
    TlsRptChanged,
    /// What a kind of sender does changed (other than the two below).
    DeliveryChanged,
    /// DANE senders now defer mail to the domain.
    DaneBroken,
    /// MTA-STS senders now defer mail to the domain.
    MtaStsBroken,
    /// A finding of severity `fail` that the old report did not have.
    FailFindingNew,
    /// A `fail` finding of the old report that is gone.
    FailFindingResolved,
}

impl ChangeId {
    /// Every id, in the order of the docs.
    pub fn all() -> &'static [ChangeId] {
        <ChangeId as clap::ValueEnum>::value_variants()
    }

    /// The JSON name (the `--fail-on` value).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeId::DomainAdded => "domain-added",
            ChangeId::DomainRemoved => "domain-removed",
            ChangeId::NotCompared => "not-compared",
            ChangeId::VerdictUp => "verdict-up",
            ChangeId::VerdictDown => "verdict-down",
            ChangeId::VerdictChanged => "verdict-changed",
            ChangeId::ConfigurationUp => "configuration-up",
            ChangeId::ConfigurationDown => "configuration-down",
            ChangeId::DnssecChanged => "dnssec-changed",
            ChangeId::MxAdded => "mx-added",
            ChangeId::MxRemoved => "mx-removed",
            ChangeId::MxPreferenceChanged => "mx-preference-changed",
            ChangeId::AddressAdded => "address-added",
            ChangeId::AddressRemoved => "address-removed",
            ChangeId::StarttlsLost => "starttls-lost",
            ChangeId::StarttlsGained => "starttls-gained",
            ChangeId::AddressFailing => "address-failing",
            ChangeId::AddressRecovered => "address-recovered",
            ChangeId::TlsVersionChanged => "tls-version-changed",
            ChangeId::CipherChanged => "cipher-changed",
            ChangeId::CertificateRotated => "certificate-rotated",
            ChangeId::ChainNewlyFailing => "chain-newly-failing",
            ChangeId::ChainFixed => "chain-fixed",
            ChangeId::NameNewlyFailing => "name-newly-failing",
            ChangeId::NameFixed => "name-fixed",
            ChangeId::DaneChanged => "dane-changed",
            ChangeId::TlsaChanged => "tlsa-changed",
            ChangeId::DaneRolloverBroke => "dane-rollover-broke",
            ChangeId::TlsaStale => "tlsa-stale",
            ChangeId::CertificateExpiring => "certificate-expiring",
            ChangeId::OtherCertificateChanged => "other-certificate-changed",
            ChangeId::OtherCertificateTlsaStale => "other-certificate-tlsa-stale",
            ChangeId::MtaStsRecordChanged => "mta-sts-record-changed",
            ChangeId::MtaStsIdChanged => "mta-sts-id-changed",
            ChangeId::MtaStsModeChanged => "mta-sts-mode-changed",
            ChangeId::MtaStsMxChanged => "mta-sts-mx-changed",
            ChangeId::MtaStsMaxAgeChanged => "mta-sts-max-age-changed",
            ChangeId::MtaStsPolicyChangedSameId => "mta-sts-policy-changed-same-id",
            ChangeId::TlsRptChanged => "tls-rpt-changed",
            ChangeId::DeliveryChanged => "delivery-changed",
            ChangeId::DaneBroken => "dane-broken",
            ChangeId::MtaStsBroken => "mta-sts-broken",
            ChangeId::FailFindingNew => "fail-finding-new",
            ChangeId::FailFindingResolved => "fail-finding-resolved",
        }
    }

    /// Changes that only time reveals: each needs someone to act although
    /// the verdict may not show it yet.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            ChangeId::DaneRolloverBroke
                | ChangeId::TlsaStale
                | ChangeId::OtherCertificateTlsaStale
                | ChangeId::CertificateExpiring
                | ChangeId::MtaStsPolicyChangedSameId
        )
    }
}

/// Which way a change goes for the senders and the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Worse,
    Neutral,
    Better,
}

/// A kind of sender (the `delivery` section of a report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SenderKind {
    Opportunistic,
    MtaSts,
    Dane,
}

impl SenderKind {
    const ALL: [SenderKind; 3] = [
        SenderKind::Opportunistic,
        SenderKind::MtaSts,
        SenderKind::Dane,
    ];

    fn words(self) -> &'static str {
        match self {
            SenderKind::Opportunistic => "opportunistic senders",
            SenderKind::MtaSts => "MTA-STS senders",
            SenderKind::Dane => "DANE senders",
        }
    }
}

/// One change of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: ChangeId,
    pub direction: Direction,
    /// A change that only time reveals ([`ChangeId::is_problem`]).
    pub problem: bool,
    /// Matches the `--fail-on` rule: makes `smtptls diff` exit 1.
    pub regression: bool,
    /// The MX host it is about, if any.
    pub mx: Option<String>,
    /// The MX address it is about, if any.
    pub address: Option<IpAddr>,
    /// The kind of sender, for delivery changes.
    pub sender: Option<SenderKind>,
    /// The old value, in words (absent for an addition).
    pub from: Option<String>,
    /// The new value, in words (absent for a removal).
    pub to: Option<String>,
    /// One sentence: what changed and, for a problem, what to do.
    pub message: String,
}

impl Change {
    pub(crate) fn new(id: ChangeId, direction: Direction, message: impl Into<String>) -> Self {
        Change {
            id,
            direction,
            problem: id.is_problem(),
            regression: false,
            mx: None,
            address: None,
            sender: None,
            from: None,
            to: None,
            message: message.into(),
        }
    }

    fn values(mut self, from: Option<String>, to: Option<String>) -> Self {
        self.from = from;
        self.to = to;
        self
    }

    fn at_mx(mut self, host: &str) -> Self {
        self.mx = Some(host.to_string());
        self
    }

    fn at(mut self, host: &str, ip: IpAddr) -> Self {
        self.mx = Some(host.to_string());
        self.address = Some(ip);
        self
    }
}

/// Every change from `old` to `new` for one domain. `warn_days`: the
/// expiry warning (`--expiry-warn-days`) for [`ChangeId::CertificateExpiring`].
pub fn compare(old: &DomainView, new: &DomainView, warn_days: u32) -> Vec<Change> {
    let mut out = Vec::new();
    if old.not_audited() || new.not_audited() {
        let which = if new.not_audited() { "new" } else { "old" };
        out.push(Change::new(
            ChangeId::NotCompared,
            Direction::Neutral,
            format!("the {which} report has no result for this domain (the run stopped before it, or the line was invalid): not compared"),
        ));
        return out;
    }
    verdict(old, new, &mut out);
    configuration(old.configuration, new.configuration, &mut out);
    if old.dnssec != new.dnssec {
        let direction = match (old.dnssec, new.dnssec) {
            (_, Dnssec::Secure) => Direction::Better,
            (Dnssec::Secure, _) => Direction::Worse,
            _ => Direction::Neutral,
        };
        out.push(
            Change::new(
                ChangeId::DnssecChanged,
                direction,
                format!(
                    "DNSSEC of the MX records: {} → {}",
                    name(&old.dnssec),
                    name(&new.dnssec)
                ),
            )
            .values(Some(name(&old.dnssec)), Some(name(&new.dnssec))),
        );
    }
    mx_set(old, new, warn_days, &mut out);
    mta_sts(old.mta_sts.as_ref(), new.mta_sts.as_ref(), &mut out);
    tls_rpt(old, new, &mut out);
    delivery(old, new, &mut out);
    fails(&old.fails, &new.fails, &mut out);
    out
}

fn verdict(old: &DomainView, new: &DomainView, out: &mut Vec<Change>) {
    if old.verdict == new.verdict {
        return;
    }
    let (id, direction) = match (old.verdict, new.verdict) {
        (Verdict::NoMail, _) | (_, Verdict::NoMail) => {
            (ChangeId::VerdictChanged, Direction::Neutral)
        }
        (o, n) if n > o => (ChangeId::VerdictDown, Direction::Worse),
        _ => (ChangeId::VerdictUp, Direction::Better),
    };
    out.push(
        Change::new(
            id,
            direction,
            format!(
                "verdict {} → {}: {}",
                old.verdict.as_str(),
                new.verdict.as_str(),
                new.verdict_reason
            ),
        )
        .values(
            Some(old.verdict.as_str().to_string()),
            Some(new.verdict.as_str().to_string()),
        ),
    );
}

fn configuration(old: Option<NcscLevel>, new: Option<NcscLevel>, out: &mut Vec<Change>) {
    let (Some(o), Some(n)) = (old, new) else {
        return;
    };
    if o == n {
        return;
    }
    let (id, direction) = if n > o {
        (ChangeId::ConfigurationDown, Direction::Worse)
    } else {
        (ChangeId::ConfigurationUp, Direction::Better)
    };
    out.push(
        Change::new(
            id,
            direction,
            format!("configuration level {} → {}", name(&o), name(&n)),
        )
        .values(Some(name(&o)), Some(name(&n))),
    );
}

fn mx_set(old: &DomainView, new: &DomainView, warn_days: u32, out: &mut Vec<Change>) {
    for (host, o) in &old.mx {
        if !new.mx.contains_key(host) {
            out.push(
                Change::new(
                    ChangeId::MxRemoved,
                    Direction::Neutral,
                    format!("MX {host} (preference {}) removed", o.preference),
                )
                .at_mx(host)
                .values(Some(o.preference.to_string()), None),
            );
        }
    }
    for (host, n) in &new.mx {
        let Some(o) = old.mx.get(host) else {
            out.push(
                Change::new(
                    ChangeId::MxAdded,
                    Direction::Neutral,
                    format!("MX {host} (preference {}) added", n.preference),
                )
                .at_mx(host)
                .values(None, Some(n.preference.to_string())),
            );
            continue;
        };
        if o.preference != n.preference {
            out.push(
                Change::new(
                    ChangeId::MxPreferenceChanged,
                    Direction::Neutral,
                    format!("MX {host}: preference {} → {}", o.preference, n.preference),
                )
                .at_mx(host)
                .values(
                    Some(o.preference.to_string()),
                    Some(n.preference.to_string()),
                ),
            );
        }
        host_changes(host, o, n, warn_days, out);
    }
}

fn tlsa_words(t: Option<&TlsaView>) -> String {
    match t {
        None => "not looked up".to_string(),
        Some(t) if t.records.is_empty() => name(&t.status),
        Some(t) => format!("{} ({} records)", name(&t.status), t.records.len()),
    }
}

fn host_changes(host: &str, o: &MxView, n: &MxView, warn_days: u32, out: &mut Vec<Change>) {
    let tlsa_same = o.tlsa == n.tlsa;
    if !tlsa_same {
        let none = Vec::new();
        let old_records = o.tlsa.as_ref().map_or(&none, |t| &t.records);
        let new_records = n.tlsa.as_ref().map_or(&none, |t| &t.records);
        let added: Vec<&String> = new_records
            .iter()
            .filter(|r| !old_records.contains(r))
            .collect();
        let removed: Vec<&String> = old_records
            .iter()
            .filter(|r| !new_records.contains(r))
            .collect();
        let mut message = format!(
            "TLSA at {host}: {} → {}",
            tlsa_words(o.tlsa.as_ref()),
            tlsa_words(n.tlsa.as_ref())
        );
        if !added.is_empty() {
            message.push_str(&format!("; added {}", join(&added)));
        }
        if !removed.is_empty() {
            message.push_str(&format!("; removed {}", join(&removed)));
        }
        out.push(
            Change::new(ChangeId::TlsaChanged, Direction::Neutral, message)
                .at_mx(host)
                .values(
                    Some(tlsa_words(o.tlsa.as_ref())),
                    Some(tlsa_words(n.tlsa.as_ref())),
                ),
        );
    }
    for ip in o.addresses.keys() {
        if !n.addresses.contains_key(ip) {
            out.push(
                Change::new(
                    ChangeId::AddressRemoved,
                    Direction::Neutral,
                    format!("{host}: address {ip} removed"),
                )
                .at(host, *ip),
            );
        }
    }
    for (ip, na) in &n.addresses {
        let Some(oa) = o.addresses.get(ip) else {
            out.push(
                Change::new(
                    ChangeId::AddressAdded,
                    Direction::Neutral,
                    format!("{host}: address {ip} added"),
                )
                .at(host, *ip),
            );
            continue;
        };
        let tlsa = if tlsa_same { n.tlsa.as_ref() } else { None };
        address_changes(host, *ip, oa, na, tlsa, warn_days, out);
    }
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn address_changes(
    host: &str,
    ip: IpAddr,
    o: &AddressView,
    n: &AddressView,
    unchanged_tlsa: Option<&TlsaView>,
    warn_days: u32,
    out: &mut Vec<Change>,
) {
    let at = |c: Change| c.at(host, ip);
    match (o.answered, n.answered) {
        (true, false) => {
            let why = n
                .error
                .map(|(phase, kind)| format!("{} at {}", name(&kind), name(&phase)))
                .unwrap_or_default();
            out.push(at(Change::new(
                ChangeId::AddressFailing,
                Direction::Worse,
                format!("{host} [{ip}] no longer answers SMTP ({why})"),
            )
            .values(None, Some(why))));
            // Nothing else can be compared for an address that did not answer.
            return;
        }
        (false, true) => out.push(at(Change::new(
            ChangeId::AddressRecovered,
            Direction::Better,
            format!("{host} [{ip}] answers SMTP again"),
        ))),
        (false, false) => return,
        (true, true) => {}
    }
    if o.starttls && !n.starttls {
        out.push(at(Change::new(
            ChangeId::StarttlsLost,
            Direction::Worse,
            format!("{host} [{ip}] no longer offers STARTTLS: mail to it travels in clear text"),
        )));
    } else if !o.starttls && n.starttls {
        out.push(at(Change::new(
            ChangeId::StarttlsGained,
            Direction::Better,
            format!("{host} [{ip}] now offers STARTTLS"),
        )));
    }
    if let (Some((ov, oc)), Some((nv, nc))) = (&o.tls, &n.tls) {
        if ov != nv {
            // By the version, never by its name: `TlsVersion` is ordered
            // oldest first.
            let direction = if nv < ov {
                Direction::Worse
            } else {
                Direction::Better
            };
            out.push(at(Change::new(
                ChangeId::TlsVersionChanged,
                direction,
                format!("{host} [{ip}]: TLS version {ov} → {nv}"),
            )
            .values(
                Some(ov.as_str().to_string()),
                Some(nv.as_str().to_string()),
            )));
        }
        if oc != nc {
            out.push(at(Change::new(
                ChangeId::CipherChanged,
                Direction::Neutral,
                format!("{host} [{ip}]: cipher {oc} → {nc}"),
            )
            .values(Some(oc.clone()), Some(nc.clone()))));
        }
    }
    if let (Some(oc), Some(nc)) = (&o.certificate, &n.certificate) {
        certificate_changes(host, ip, oc, nc, warn_days, out);
        if let Some(tlsa) = unchanged_tlsa {
            rollover(host, ip, o, n, oc, nc, tlsa, out);
        }
    }
    other_certificate_changes(host, ip, o, n, out);
    if o.dane != n.dane {
        let direction = match (o.dane, n.dane) {
            (_, DaneResult::Mismatch | DaneResult::LookupFailed) => Direction::Worse,
            (DaneResult::Mismatch | DaneResult::LookupFailed, _) | (_, DaneResult::Valid) => {
                Direction::Better
            }
            (DaneResult::Valid, _) => Direction::Worse,
            _ => Direction::Neutral,
        };
        out.push(at(Change::new(
            ChangeId::DaneChanged,
            direction,
            format!("{host} [{ip}]: DANE {} → {}", name(&o.dane), name(&n.dane)),
        )
        .values(Some(name(&o.dane)), Some(name(&n.dane)))));
    }
}

/// The certificates of the other key type, by key type: one that
/// appeared, went away or changed, and one that stopped matching the TLSA
/// records (the `tlsa-stale` of a dual-certificate server: the verdict
/// follows the main certificate and does not show it).
fn other_certificate_changes(
    host: &str,
    ip: IpAddr,
    o: &AddressView,
    n: &AddressView,
    out: &mut Vec<Change>,
) {
    let at = |c: Change| c.at(host, ip);
    let mut types: Vec<KeyType> = o
        .other_certificates
        .iter()
        .chain(&n.other_certificates)
        .map(|c| c.key_type)
        .collect();
    types.sort_by_key(|t| t.as_str());
    types.dedup();
    for key_type in types {
        let find = |v: &AddressView| {
            v.other_certificates
                .iter()
                .find(|c| c.key_type == key_type)
                .cloned()
        };
        let kind = key_type.as_str();
        let (old, new) = (find(o), find(n));
        let fingerprint = |c: &Option<OtherCertificateView>| c.as_ref().map(|c| short(&c.sha256));
        let message = match (&old, &new) {
            (None, Some(c)) => format!(
                "{host} [{ip}] now also serves an {kind} certificate (expires {})",
                c.not_after
            ),
            (Some(_), None) => format!("{host} [{ip}] no longer serves its {kind} certificate"),
            (Some(a), Some(b)) if a.sha256 != b.sha256 => format!(
                "{host} [{ip}]: new {kind} certificate, expires {} (was {}); {}",
                b.not_after,
                a.not_after,
                if a.spki_sha256 == b.spki_sha256 {
                    "same key"
                } else {
                    "new key"
                }
            ),
            _ => String::new(),
        };
        if !message.is_empty() {
            out.push(at(Change::new(
                ChangeId::OtherCertificateChanged,
                Direction::Neutral,
                message,
            )
            .values(fingerprint(&old), fingerprint(&new))));
        }
        if let (Some(a), Some(b)) = (&old, &new)
            && a.dane == DaneResult::Valid
            && b.dane == DaneResult::Mismatch
        {
            out.push(at(Change::new(
                ChangeId::OtherCertificateTlsaStale,
                Direction::Worse,
                format!(
                    "{host} [{ip}]: the TLSA records no longer match the {kind} certificate: DANE senders that negotiate {kind} defer; publish 3 1 1 {} beside the records of the other key",
                    b.spki_sha256
                ),
            )
            .values(Some(name(&a.dane)), Some(name(&b.dane)))));
        }
    }
}

fn certificate_changes(
    host: &str,
    ip: IpAddr,
    o: &CertificateView,
    n: &CertificateView,
    warn_days: u32,
    out: &mut Vec<Change>,
) {
    let at = |c: Change| c.at(host, ip);
    if o.sha256 != n.sha256 {
        let mut message = format!(
            "{host} [{ip}]: new certificate, expires {} (was {})",
            n.not_after, o.not_after
        );
        if o.issuer != n.issuer {
            message.push_str(&format!("; issuer {} (was {})", n.issuer, o.issuer));
        }
        if o.spki_sha256 == n.spki_sha256 {
            message.push_str("; same key");
        } else {
            message.push_str("; new key");
        }
        out.push(at(Change::new(
            ChangeId::CertificateRotated,
            Direction::Neutral,
            message,
        )
        .values(Some(short(&o.sha256)), Some(short(&n.sha256)))));
    } else if n.days_left < i64::from(warn_days) && o.days_left >= i64::from(warn_days) {
        out.push(at(Change::new(
            ChangeId::CertificateExpiring,
            Direction::Worse,
            format!(
                "{host} [{ip}]: the certificate expires in {} days ({}) and was not renewed since the last run: renew it now",
                n.days_left, n.not_after
            ),
        )
        .values(Some(o.days_left.to_string()), Some(n.days_left.to_string()))));
    }
    if o.chain_valid && !n.chain_valid {
        out.push(at(Change::new(
            ChangeId::ChainNewlyFailing,
            Direction::Worse,
            format!("{host} [{ip}]: the certificate chain no longer validates"),
        )));
    } else if !o.chain_valid && n.chain_valid {
        out.push(at(Change::new(
            ChangeId::ChainFixed,
            Direction::Better,
            format!("{host} [{ip}]: the certificate chain validates now"),
        )));
    }
    if o.hostname_match && !n.hostname_match {
        out.push(at(Change::new(
            ChangeId::NameNewlyFailing,
            Direction::Worse,
            format!("{host} [{ip}]: the certificate no longer matches the MX name"),
        )));
    } else if !o.hostname_match && n.hostname_match {
        out.push(at(Change::new(
            ChangeId::NameFixed,
            Direction::Better,
            format!("{host} [{ip}]: the certificate matches the MX name now"),
        )));
    }
}

/// The first 16 hex digits of a fingerprint, enough to tell them apart.
fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(16).collect()
}

/// Does a DANE-EE record (`3 0 1`, `3 1 1`) match a certificate? `None`
/// when the report does not carry what the record pins (other usages,
/// selectors or matching types).
fn ee_matches(record: &str, cert: &CertificateView) -> Option<bool> {
    let mut parts = record.split_whitespace();
    let (usage, selector, matching, data) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if usage != "3" || matching != "1" {
        return None;
    }
    let data = data.to_ascii_lowercase();
    match selector {
        "0" => Some(data == cert.sha256),
        "1" => Some(data == cert.spki_sha256),
        _ => None,
    }
}

/// The certificate or key of an address changed while its host's TLSA
/// records stayed the same: did the rollover break DANE, or does DANE now
/// rest on other records while the old certificate's stay published?
#[allow(clippy::too_many_arguments)]
fn rollover(
    host: &str,
    ip: IpAddr,
    o: &AddressView,
    n: &AddressView,
    oc: &CertificateView,
    nc: &CertificateView,
    tlsa: &TlsaView,
    out: &mut Vec<Change>,
) {
    if oc.sha256 == nc.sha256 || tlsa.records.is_empty() {
        return;
    }
    let what = if oc.spki_sha256 == nc.spki_sha256 {
        "certificate"
    } else {
        "certificate and key"
    };
    if o.dane == DaneResult::Valid && n.dane == DaneResult::Mismatch {
        out.push(
            Change::new(
                ChangeId::DaneRolloverBroke,
                Direction::Worse,
                format!(
                    "{host} [{ip}]: the {what} changed but the TLSA records at _25._tcp.{host} did not, and none matches now: DANE senders defer; publish a record for the new key (3 1 1 {}) and keep the old one until it is gone everywhere",
                    nc.spki_sha256
                ),
            )
            .at(host, ip),
        );
        return;
    }
    if n.dane != DaneResult::Valid {
        return;
    }
    // Records that pinned the old certificate and no longer match the new
    // one: DANE now passes through another record only.
    let stale: Vec<&String> = tlsa
        .records
        .iter()
        .filter(|r| ee_matches(r, oc) == Some(true) && ee_matches(r, nc) == Some(false))
        .collect();
    let any_for_new = tlsa.records.iter().any(|r| ee_matches(r, nc) == Some(true));
    if !stale.is_empty() && !any_for_new {
        out.push(
            Change::new(
                ChangeId::TlsaStale,
                Direction::Worse,
                format!(
                    "{host} [{ip}]: the {what} changed but the TLSA records did not: DANE still passes through other records, while {} pinned only the old {what}; publish 3 1 1 {} and retire the stale record",
                    join(&stale),
                    nc.spki_sha256
                ),
            )
            .at(host, ip),
        );
    }
}

fn mta_sts(old: Option<&MtaStsView>, new: Option<&MtaStsView>, out: &mut Vec<Change>) {
    let (Some(o), Some(n)) = (old, new) else {
        return;
    };
    if o.record != n.record {
        let direction = match (o.record, n.record) {
            (_, RecordState::Valid) => Direction::Better,
            (RecordState::Valid, _) => Direction::Worse,
            _ => Direction::Neutral,
        };
        out.push(
            Change::new(
                ChangeId::MtaStsRecordChanged,
                direction,
                format!(
                    "_mta-sts record: {} → {}",
                    o.record.as_str(),
                    n.record.as_str()
                ),
            )
            .values(
                Some(o.record.as_str().to_string()),
                Some(n.record.as_str().to_string()),
            ),
        );
    }
    if o.id != n.id && o.id.is_some() && n.id.is_some() {
        out.push(
            Change::new(
                ChangeId::MtaStsIdChanged,
                Direction::Neutral,
                format!(
                    "MTA-STS id {} → {}",
                    o.id.as_deref().unwrap_or_default(),
                    n.id.as_deref().unwrap_or_default()
                ),
            )
            .values(o.id.clone(), n.id.clone()),
        );
    }
    let (Some(op), Some(np)) = (&o.policy, &n.policy) else {
        return;
    };
    if op.mode != np.mode {
        let rank = |m: Mode| match m {
            Mode::Enforce => 0,
            Mode::Testing => 1,
            Mode::None => 2,
        };
        let direction = if rank(np.mode) > rank(op.mode) {
            Direction::Worse
        } else {
            Direction::Better
        };
        out.push(
            Change::new(
                ChangeId::MtaStsModeChanged,
                direction,
                format!("MTA-STS mode {} → {}", name(&op.mode), name(&np.mode)),
            )
            .values(Some(name(&op.mode)), Some(name(&np.mode))),
        );
    }
    if op.mx != np.mx {
        out.push(
            Change::new(
                ChangeId::MtaStsMxChanged,
                Direction::Neutral,
                format!(
                    "MTA-STS mx patterns {} → {}",
                    op.mx.join(" "),
                    np.mx.join(" ")
                ),
            )
            .values(Some(op.mx.join(" ")), Some(np.mx.join(" "))),
        );
    }
    if op.max_age != np.max_age {
        out.push(
            Change::new(
                ChangeId::MtaStsMaxAgeChanged,
                Direction::Neutral,
                format!("MTA-STS max_age {} → {}", op.max_age, np.max_age),
            )
            .values(Some(op.max_age.to_string()), Some(np.max_age.to_string())),
        );
    }
    if let (Some(oh), Some(nh)) = (&op.text_sha256, &np.text_sha256)
        && oh != nh
        && o.id.is_some()
        && o.id == n.id
    {
        out.push(
            Change::new(
                ChangeId::MtaStsPolicyChangedSameId,
                Direction::Worse,
                format!(
                    "the MTA-STS policy text changed but the _mta-sts record's id ({}) did not: senders that cached the old policy keep it for up to max_age ({} s); change the id in the record",
                    n.id.as_deref().unwrap_or_default(),
                    op.max_age
                ),
            )
            .values(Some(short(oh)), Some(short(nh))),
        );
    }
}

fn tls_rpt(old: &DomainView, new: &DomainView, out: &mut Vec<Change>) {
    let (Some(o), Some(n)) = (&old.tls_rpt, &new.tls_rpt) else {
        return;
    };
    if o == n {
        return;
    }
    let words = |t: &super::view::TlsRptView| {
        if t.rua.is_empty() {
            t.record.as_str().to_string()
        } else {
            format!("{} ({})", t.record.as_str(), t.rua.join(", "))
        }
    };
    let direction = match (o.record, n.record) {
        (a, b) if a == b => Direction::Neutral,
        (_, RecordState::Valid) => Direction::Better,
        (RecordState::Valid, _) => Direction::Worse,
        _ => Direction::Neutral,
    };
    out.push(
        Change::new(
            ChangeId::TlsRptChanged,
            direction,
            format!("TLS-RPT record {} → {}", words(o), words(n)),
        )
        .values(Some(words(o)), Some(words(n))),
    );
}

fn delivery(old: &DomainView, new: &DomainView, out: &mut Vec<Change>) {
    let (Some(o), Some(n)) = (old.delivery, new.delivery) else {
        return;
    };
    let rank = |r: DeliveryResult| match r {
        DeliveryResult::Secure => 0,
        DeliveryResult::NotApplicable => 1,
        DeliveryResult::Cleartext => 2,
        DeliveryResult::Deferred => 3,
    };
    for (i, sender) in SenderKind::ALL.into_iter().enumerate() {
        let (from, to) = (o[i], n[i]);
        if from == to {
            continue;
        }
        let id = match (sender, to) {
            (SenderKind::Dane, DeliveryResult::Deferred) => ChangeId::DaneBroken,
            (SenderKind::MtaSts, DeliveryResult::Deferred) => ChangeId::MtaStsBroken,
            _ => ChangeId::DeliveryChanged,
        };
        let direction = if rank(to) > rank(from) {
            Direction::Worse
        } else {
            Direction::Better
        };
        let mut change = Change::new(
            id,
            direction,
            format!("{}: {} → {}", sender.words(), name(&from), name(&to)),
        )
        .values(Some(name(&from)), Some(name(&to)));
        change.sender = Some(sender);
        out.push(change);
    }
}

fn fails(
    old: &Keyed<(String, String), String>,
    new: &Keyed<(String, String), String>,
    out: &mut Vec<Change>,
) {
    for ((scope, id), message) in new {
        if !old.contains_key(&(scope.clone(), id.clone())) {
            out.push(scoped(
                Change::new(
                    ChangeId::FailFindingNew,
                    Direction::Worse,
                    format!("new fail {id}: {message}"),
                )
                .values(None, Some(id.clone())),
                scope,
            ));
        }
    }
    for ((scope, id), message) in old {
        if !new.contains_key(&(scope.clone(), id.clone())) {
            out.push(scoped(
                Change::new(
                    ChangeId::FailFindingResolved,
                    Direction::Better,
                    format!("resolved fail {id}: {message}"),
                )
                .values(Some(id.clone()), None),
                scope,
            ));
        }
    }
}

/// Puts a finding's scope (`domain`, `HOST`, `HOST [ADDRESS]`) on its change.
fn scoped(mut change: Change, scope: &str) -> Change {
    if scope == "domain" {
        return change;
    }
    match scope.split_once(" [") {
        Some((host, rest)) => {
            change.mx = Some(host.to_string());
            change.address = rest.trim_end_matches(']').parse().ok();
        }
        None => change.mx = Some(scope.to_string()),
    }
    change
}
