//! The rows of the report, built from the inspector's assessment and the
//! evidence it borrows (trippy's `From<&Hop>` pattern): the assessment
//! says what was judged, these say how the JSON shows it.

use super::scan::{injection_report, scan_report};
use super::{AddressReport, DomainReport, MxReport, OtherCertificateReport, TlsReport, TlsaReport};
use super::{
    CertificateReport, Configuration, Delivery, LeftOutMx, LegacySessionReport, MtaStsReport,
    OcspReport, TlsRptReport,
};
use crate::inspector::{AddressAssessment, DomainAssessment, MxAssessment, TlsaAssessment};
use crate::prober::scan::{KeyExchange, ServerHello, suites};

impl From<&DomainAssessment<'_>> for DomainReport {
    fn from(a: &DomainAssessment<'_>) -> Self {
        DomainReport {
            domain: a.domain.as_str().to_string(),
            service: a.service,
            verdict: a.verdict,
            verdict_reason: a.verdict_reason.clone(),
            mx_source: a.mx_source.into(),
            mx: a.mx.iter().map(MxReport::from).collect(),
            mx_left_out: a
                .mx_left_out
                .iter()
                .map(|r| LeftOutMx {
                    host: r.exchange.name().to_string(),
                    preference: r.preference,
                })
                .collect(),
            dnssec: a.dnssec.into(),
            mta_sts: a.mta_sts.as_ref().map(MtaStsReport::from),
            tls_rpt: a.tls_rpt.as_ref().map(TlsRptReport::from),
            delivery: a.delivery.as_ref().map(Delivery::from),
            configuration: a.configuration.as_ref().map(Configuration::from),
            findings: a.findings.clone(),
            error: a.error.clone(),
        }
    }
}

impl From<&MxAssessment<'_>> for MxReport {
    fn from(m: &MxAssessment<'_>) -> Self {
        MxReport {
            host: m.host.clone(),
            preference: m.preference,
            cname: m.cname.clone(),
            dnssec: m.dnssec.into(),
            tlsa: m.tlsa.as_ref().map(TlsaReport::from),
            mta_sts_match: m.mta_sts_match,
            post_quantum: m.post_quantum(),
            addresses: m.addresses.iter().map(AddressReport::from).collect(),
            addresses_left_out: m.addresses_left_out.clone(),
            findings: m.findings.clone(),
            error: m.error.clone(),
        }
    }
}

impl From<&TlsaAssessment> for TlsaReport {
    fn from(t: &TlsaAssessment) -> Self {
        TlsaReport {
            status: t.status.into(),
            dnssec: t.dnssec.into(),
            records: t.records.iter().map(ToString::to_string).collect(),
        }
    }
}

impl From<&AddressAssessment<'_>> for AddressReport {
    fn from(a: &AddressAssessment<'_>) -> Self {
        let probe = a.probe;
        AddressReport {
            ip: a.addr.ip(),
            port: a.addr.port(),
            starttls: a.starttls(),
            banner: probe.banner.as_ref().map(|b| b.summary()),
            extensions: probe
                .greeting
                .as_ref()
                .map(|g| g.extensions.clone())
                .unwrap_or_default(),
            extensions_after_tls: probe
                .greeting_after_tls
                .as_ref()
                .map(|g| g.extensions.clone()),
            tls: probe.tls.as_ref().map(|t| TlsReport {
                version: t.version.into(),
                cipher: t.cipher.clone(),
                key_exchange_group: t.key_exchange_group.clone(),
                ocsp_stapled: t.ocsp_stapled,
                requiretls: probe.greeting_after_tls.as_ref().is_some_and(|g| {
                    crate::inspector::address::advertises_requiretls(&g.extensions)
                }),
                ocsp: a.ocsp.as_ref().map(OcspReport::from),
                signature_verified: t.signature_unverified.is_none(),
            }),
            certificate: a.certificate.as_ref().map(CertificateReport::from),
            other_certificates: a
                .other_certificates
                .iter()
                .map(OtherCertificateReport::from)
                .collect(),
            dane: a.dane.into(),
            post_quantum: a.post_quantum(),
            scan: probe.scan.as_ref().map(scan_report),
            starttls_injection: probe.injection.as_ref().map(injection_report),
            legacy_tls: a.legacy_tls(),
            legacy_session: a.legacy_session.map(legacy_session),
            configuration: a.configuration.as_ref().map(Configuration::from),
            error: a.error.clone(),
            findings: a.findings.clone(),
            timings_ms: probe.timings.into(),
        }
    }
}

/// The session the fallback hello got, as the report shows it.
fn legacy_session(h: &ServerHello) -> LegacySessionReport {
    let (dhe_bits, group) = match &h.key_exchange {
        Some(KeyExchange::Dhe { bits, .. }) => (Some(*bits), None),
        Some(KeyExchange::Ecdhe { group }) => (None, Some(suites::group_name(*group))),
        _ => (None, None),
    };
    LegacySessionReport {
        version: h.version.into(),
        cipher: suites::name(h.suite),
        dhe_bits,
        group,
        level: crate::inspector::scan::legacy_session_level(h),
    }
}
