//! Advice: the usual fix for a finding, written for the side that can act
//! on it (usually the receiving domain's admin: the Postfix or Exim
//! setting, the TLSA record to publish, the MTA-STS line to change), set
//! as each finding's `fix`. It lives here, on the report row, rather than
//! in a reporter, so that the JSON `fix` field and the table's `fix:`
//! lines say the same thing, and so that a row read back from NDJSON can
//! be advised the same way. Each piece of advice and its source is listed
//! in `docs/grading.md` ("Advice").
//!
//! The text quotes only what the tool itself decided or the host and
//! domain names of the audit (validated names); peer text (banners,
//! replies, certificate fields) never goes into advice.

use super::{
    AddressReport, ChainError, DaneResult, DomainReport, InjectionResult, Mode, TlsaStatus,
};
use crate::vocabulary::{ErrorKind, Finding, FindingId, Fix, FixBy, Severity};

/// Sets `fix` on every finding of `d` that has a usual fix. `port` is
/// the SMTP port of the run (`--port`), for TLSA owner names.
pub fn annotate(d: &mut DomainReport, port: u16) {
    let domain = d.domain.clone();
    let ctx = DomainContext {
        domain: &domain,
        mode: d
            .mta_sts
            .as_ref()
            .and_then(|s| s.policy.as_ref())
            .map(|p| p.mode),
        port,
        service: d.service,
    };
    for f in &mut d.findings {
        f.fix = domain_fix(f, &ctx);
    }
    for mx in &mut d.mx {
        let host = mx.host.clone();
        let records = mx.tlsa.as_ref().map(|t| t.records.len()).unwrap_or(0);
        let tlsa = mx.tlsa.as_ref().map(|t| t.status);
        for f in &mut mx.findings {
            f.fix = mx_fix(f, &ctx, &host, tlsa);
        }
        for a in &mut mx.addresses {
            let fixes: Vec<Option<Fix>> = a
                .findings
                .iter()
                .map(|f| address_fix(f, &ctx, &host, records, a))
                .collect();
            for (f, fix) in a.findings.iter_mut().zip(fixes) {
                f.fix = fix;
            }
        }
    }
}

/// What advice about one domain needs to know.
struct DomainContext<'a> {
    domain: &'a str,
    /// The MTA-STS policy's mode, when one was fetched.
    mode: Option<Mode>,
    /// The service audited: a submission host's clients verify against
    /// their trust store and never use DANE.
    service: crate::vocabulary::Service,
    /// The SMTP port of the run, for TLSA owner names.
    port: u16,
}

fn receiver(text: impl Into<String>) -> Option<Fix> {
    Some(Fix {
        by: FixBy::Receiver,
        text: text.into(),
    })
}

fn sender(text: impl Into<String>) -> Option<Fix> {
    Some(Fix {
        by: FixBy::Sender,
        text: text.into(),
    })
}

/// Passing checks need no fix; neither do notes that only describe.
fn needs_fix(f: &Finding) -> bool {
    f.severity >= Severity::Warn
}

fn policy_url(domain: &str) -> String {
    format!("https://mta-sts.{domain}/.well-known/mta-sts.txt")
}

fn domain_fix(f: &Finding, ctx: &DomainContext<'_>) -> Option<Fix> {
    let domain = ctx.domain;
    match f.id {
        // Advice on an info finding: these say what is missing, and the
        // issue they describe is the usual next step of a domain admin.
        FindingId::TlsRptRecord if f.severity == Severity::Info => receiver(format!(
            "publish `_smtp._tls.{domain}. TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}\"` so that senders report TLS failures to you"
        )),
        FindingId::TlsRptRecord if needs_fix(f) => receiver(format!(
            "publish exactly one TXT record at _smtp._tls.{domain}: `\"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}\"`"
        )),
        FindingId::MtaStsRecord if f.severity == Severity::Info => receiver(format!(
            "publish an MTA-STS policy (mode testing first) so that senders require TLS: `smtptls policy --format mta-sts {domain}` writes it"
        )),
        FindingId::MtaStsRecord if needs_fix(f) => receiver(format!(
            "publish exactly one TXT record at _mta-sts.{domain}: `\"v=STSv1; id=…;\"` (id: 1 to 32 letters and digits, changed with every policy change)"
        )),
        FindingId::MtaStsPolicy if needs_fix(f) => receiver(format!(
            "serve the policy at {} over HTTPS with a valid certificate for mta-sts.{domain}: status 200, Content-Type text/plain, no redirect, lines version: STSv1, mode, mx, max_age",
            policy_url(domain)
        )),
        FindingId::MtaStsMode => match ctx.mode {
            Some(Mode::Testing) => receiver(format!(
                "once the TLS-RPT reports show no failures, change `mode: testing` to `mode: enforce` in {} and change the id= of _mta-sts.{domain}",
                policy_url(domain)
            )),
            Some(Mode::None) => receiver(format!(
                "mode none withdraws the policy: if that is not meant, publish `mode: testing` or `mode: enforce` in {} and change the id= of _mta-sts.{domain}",
                policy_url(domain)
            )),
            _ => None,
        },
        FindingId::DeliveryMtaSts if needs_fix(f) => receiver(format!(
            "fix the MX problems listed here, or switch {} to `mode: testing` (and change the id=) until they are fixed: enforcing senders defer mail now",
            policy_url(domain)
        )),
        FindingId::DeliveryDane if needs_fix(f) => receiver(
            "publish TLSA records that match the certificates in use, or remove the stale ones: DANE senders defer mail now (see the dane.* findings)",
        ),
        FindingId::DnssecBogus => receiver(format!(
            "fix {domain}'s DNSSEC: re-sign the zone (expired signatures) or correct the DS record at the parent; validating senders cannot resolve it"
        )),
        FindingId::MxNullMixed => receiver(format!(
            "remove the null MX (0 .) record of {domain}, or remove the other MX records if it accepts no mail"
        )),
        FindingId::MxImplicit => receiver(format!(
            "publish an MX record for {domain} naming its mail server"
        )),
        _ => None,
    }
    .filter(|_| f.severity != Severity::Ok)
}

/// `tlsa` is the host's TLSA status (`None`: DANE does not apply).
fn mx_fix(
    f: &Finding,
    ctx: &DomainContext<'_>,
    host: &str,
    tlsa: Option<TlsaStatus>,
) -> Option<Fix> {
    if !needs_fix(f) && f.id != FindingId::DaneRollover {
        return None;
    }
    let port = ctx.port;
    match f.id {
        FindingId::MxCname => receiver(format!(
            "point the MX record at the canonical host name instead of the alias {host}"
        )),
        FindingId::MxNoAddress => receiver(format!(
            "publish A (and AAAA) records for {host}, or point the MX at a host that has them"
        )),
        FindingId::MxLocalhost => receiver("point the MX record at the real mail server"),
        FindingId::MxInvalidName | FindingId::MxIpLiteral => {
            receiver("point the MX record at a host name (RFC 5321 §5.1), not an address")
        }
        FindingId::MtaStsMx => receiver(format!(
            "add the line `mx: {host}` to {} (or fix the MX record if the host is not meant), then change the id= of _mta-sts.{}",
            policy_url(ctx.domain),
            ctx.domain
        )),
        // Records that are there but unsigned want signing; anything else
        // at warn or fail is a lookup DANE senders cannot complete.
        FindingId::DaneTlsa if tlsa == Some(TlsaStatus::Insecure) => receiver(format!(
            "sign the zone of _{port}._tcp.{host} with DNSSEC, or remove the TLSA records: unsigned, they are ignored"
        )),
        FindingId::DaneTlsa => receiver(format!(
            "make the TLSA query for _{port}._tcp.{host} answer under valid DNSSEC (records, or an authenticated denial): DANE senders defer until it does"
        )),
        FindingId::DnssecBogus => receiver(format!(
            "fix the DNSSEC signatures of {host}'s zone (re-sign it, or correct the DS at the parent)"
        )),
        _ => None,
    }
}

fn address_fix(
    f: &Finding,
    ctx: &DomainContext<'_>,
    host: &str,
    tlsa_records: usize,
    a: &AddressReport,
) -> Option<Fix> {
    if !needs_fix(f) && f.id != FindingId::DaneRollover {
        return None;
    }
    let port = ctx.port;
    let cert = a.certificate.as_ref();
    match f.id {
        // EHLO rejected, HELO accepted: the same fix, ESMTP comes with it.
        // (A failed EHLO dialogue is a fail of its own, with no usual fix.)
        FindingId::SmtpEhlo if f.severity == Severity::Warn => receiver(format!(
            "accept EHLO (ESMTP) on {host}, which STARTTLS needs; then turn on STARTTLS: Postfix `smtpd_tls_security_level = may`, Exim `tls_advertise_hosts = *`"
        )),
        FindingId::StarttlsOffered if !a.starttls => receiver(format!(
            "turn on STARTTLS with a certificate for {host}: Postfix `smtpd_tls_security_level = may` and `smtpd_tls_chain_files = key.pem, fullchain.pem`; Exim `tls_advertise_hosts = *`, `tls_certificate` and `tls_privatekey`"
        )),
        // A handshake that worked but whose signature could not be
        // checked (a warn) is the tool's limit, not the server's fault.
        FindingId::StarttlsCommand | FindingId::TlsHandshake if f.severity == Severity::Fail => {
            receiver(format!(
                "STARTTLS is offered but fails: check the MTA's log for the TLS error, that the certificate and key files of {host} are readable by it (Postfix `smtpd_tls_chain_files`, Exim `tls_certificate`/`tls_privatekey`), and that TLS 1.2 is enabled"
            ))
        }
        FindingId::TlsVersion | FindingId::TlsLegacySession => receiver(
            "enable TLS 1.2 and 1.3 with ECDHE and AES-GCM suites (upgrade the TLS library if it has none): Postfix `smtpd_tls_protocols = >=TLSv1.2`; Exim with OpenSSL `openssl_options = +no_sslv3 +no_tlsv1 +no_tlsv1_1`",
        ),
        FindingId::CertExpiry => match cert {
            Some(c) if c.days_left < 0 => receiver(format!(
                "renew the certificate of {host} (it expired on {}), install it and reload the MTA; if renewal is automated (ACME), find out why it did not run",
                c.not_after
            )),
            Some(c) if c.not_yet_valid => receiver(format!(
                "install a certificate for {host} that is valid now (this one starts on {}), or check the server's clock",
                c.not_before
            )),
            Some(c) => receiver(format!(
                "renew the certificate of {host}: it expires in {} day{} ({}); install the new one and reload the MTA",
                c.days_left,
                if c.days_left == 1 { "" } else { "s" },
                c.not_after
            )),
            None => None,
        },
        FindingId::CertHostname if ctx.service.is_submission() => receiver(format!(
            "use a certificate that names {host} (a subjectAltName DNS:{host}), or point the SRV record and the clients' settings at a name the certificate has"
        )),
        FindingId::CertHostname => receiver(format!(
            "use a certificate that names {host} (a subjectAltName DNS:{host}), or point the MX record at a name the certificate has"
        )),
        FindingId::CertChainValid
            if ctx.service.is_submission()
                && matches!(
                    cert.and_then(|c| c.chain_error),
                    Some(ChainError::SelfSigned | ChainError::UnknownIssuer)
                ) =>
        {
            receiver(format!(
                "use a certificate for {host} from a public CA (e.g. ACME/Let's Encrypt): mail clients verify against their trust store and do not use DANE"
            ))
        }
        FindingId::SubmissionNoTls => receiver(format!(
            "offer TLS 1.2 or 1.3 with a certificate for {host}: STARTTLS on 587 (Postfix master.cf `submission` with `-o smtpd_tls_security_level=encrypt`) or implicit TLS on 465 (`submissions` with `-o smtpd_tls_wrappermode=yes`)"
        )),
        FindingId::SubmissionAuthBeforeTls | FindingId::SubmissionCleartextPassword => receiver(
            "advertise AUTH only inside TLS: Postfix `smtpd_tls_auth_only = yes` (and `smtpd_tls_security_level = encrypt` on 587); Exim `auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}`; Sendmail `confAUTH_OPTIONS` with `p`",
        ),
        FindingId::CertChainValid => match cert.and_then(|c| c.chain_error) {
            Some(ChainError::IncompleteChain) => receiver(
                "send the intermediate certificates with the server's own: Postfix `smtpd_tls_chain_files` (or `smtpd_tls_cert_file`) and Exim `tls_certificate` pointing at fullchain.pem (leaf first, then its issuers)",
            ),
            Some(ChainError::SelfSigned | ChainError::UnknownIssuer) => {
                let spki = cert.map(|c| c.spki_sha256.as_str()).unwrap_or_default();
                receiver(format!(
                    "use a certificate for {host} from a public CA (e.g. ACME/Let's Encrypt), or publish under DNSSEC the TLSA record `_{port}._tcp.{host}. IN TLSA 3 1 1 {spki}` so that DANE senders authenticate this one"
                ))
            }
            Some(ChainError::Expired) => receiver(format!(
                "renew the expired certificate in the chain of {host} (the server's own or an intermediate) and reload the MTA"
            )),
            Some(_) | None => receiver(format!(
                "install a certificate for {host} from a public CA, with its intermediate certificates (fullchain.pem)"
            )),
        },
        FindingId::CertKey => receiver(format!(
            "get a new certificate for {host} with an ECDSA P-256 or RSA 3072-bit key"
        )),
        FindingId::CertSignature => receiver(format!(
            "get a new certificate for {host} signed with SHA-256 or better"
        )),
        FindingId::TlsProtocols => receiver(
            "stop accepting SSLv3, TLS 1.0 and 1.1: Postfix `smtpd_tls_protocols = >=TLSv1.2` (older Postfix: `!SSLv2, !SSLv3, !TLSv1, !TLSv1.1`); Exim with OpenSSL `openssl_options = +no_sslv3 +no_tlsv1 +no_tlsv1_1`",
        ),
        FindingId::TlsCipherSuites => {
            let (postfix, openssl) = excluded_suites(a);
            let anonymous = a
                .scan
                .as_ref()
                .and_then(|s| s.weak_suites.anonymous)
                .unwrap_or(false);
            // Postfix keeps anonymous suites on port 25 on purpose
            // (TLS_README): say why dropping them changes no delivery.
            let why = if anonymous {
                " (a verifying sender never offers anonymous suites and Postfix keeps them on port 25 by default, so this changes the configuration level, not what senders get; Exim with GnuTLS: add `:-ANON-DH:-ANON-ECDH` to `tls_require_ciphers`)"
            } else {
                ""
            };
            receiver(format!(
                "stop accepting these suites: Postfix `smtpd_tls_exclude_ciphers = {postfix}`; Exim with OpenSSL `tls_require_ciphers = DEFAULT:{openssl}`{why}"
            ))
        }
        FindingId::TlsKeyExchange => receiver(
            "use a DHE group of 3072 bits or more (or no DHE suites): Postfix `smtpd_tls_dh1024_param_file` pointing at the RFC 7919 ffdhe3072 group; Exim `tls_dhparam = ffdhe3072`",
        ),
        FindingId::TlsCipherOrder => receiver(
            "let the server choose the suite: Postfix `tls_preempt_cipherlist = yes`; Exim with OpenSSL `openssl_options = +cipher_server_preference`",
        ),
        FindingId::TlsCompression => receiver(
            "turn TLS compression off: Postfix `tls_ssl_options = NO_COMPRESSION`; Exim with OpenSSL `openssl_options = +no_compression`",
        ),
        FindingId::TlsRenegotiation => receiver(
            "upgrade the TLS library: every maintained OpenSSL and GnuTLS supports secure renegotiation (RFC 5746)",
        ),
        // Chosen by the typed staple of the row: a revoked certificate
        // wants replacing, anything else a current staple.
        FindingId::TlsOcspStapling | FindingId::CertMustStaple
            if a.tls
                .as_ref()
                .and_then(|t| t.ocsp.as_ref())
                .map(|o| o.status)
                == Some(crate::report::OcspStatus::Revoked) =>
        {
            receiver(format!(
                "the CA has revoked the certificate of {host}: install a new one and staple its current OCSP response"
            ))
        }
        FindingId::TlsOcspStapling | FindingId::CertMustStaple => receiver(format!(
            "staple a current OCSP response from the issuing CA for {host} (Exim: `tls_ocsp_file`, refreshed before nextUpdate; Postfix cannot staple), or use a certificate without must-staple"
        )),
        FindingId::StarttlsInjection
            if a.starttls_injection.as_ref().map(|i| i.result)
                == Some(InjectionResult::Vulnerable) =>
        {
            receiver(
                "upgrade the MTA (or the proxy in front of it): it runs commands sent before the TLS handshake inside TLS (CVE-2011-0411 class); the server must discard its input buffer after 220 to STARTTLS (RFC 3207 §4.2)",
            )
        }
        FindingId::DaneValid => {
            let spki = cert.map(|c| c.spki_sha256.as_str()).unwrap_or_default();
            if a.dane == DaneResult::Unusable {
                receiver(format!(
                    "publish a DANE-EE record for the key in use: `_{port}._tcp.{host}. IN TLSA 3 1 1 {spki}` (only usages 2 and 3 count for SMTP)"
                ))
            } else {
                receiver(format!(
                    "publish `_{port}._tcp.{host}. IN TLSA 3 1 1 {spki}` for the key in use (keep the old record until its TTL has passed), or put back the certificate the {tlsa_records} record{} name{}",
                    if tlsa_records == 1 { "" } else { "s" },
                    if tlsa_records == 1 { "s" } else { "" }
                ))
            }
        }
        FindingId::DaneOtherCertificate => {
            let other = a
                .other_certificates
                .iter()
                .find(|o| o.dane == DaneResult::Mismatch)?;
            let name = other.key_type.as_str();
            receiver(format!(
                "publish `_{port}._tcp.{host}. IN TLSA 3 1 1 {}` for the {name} key beside the record{} of the other key (RFC 7671 §5: every chain the server may present must match), or stop serving the {name} certificate",
                other.certificate.spki_sha256,
                if tlsa_records == 1 { "" } else { "s" }
            ))
        }
        FindingId::CertOtherCertificate => {
            let other = a.other_certificates.first()?;
            let name = other.key_type.as_str();
            receiver(format!(
                "renew or replace the {name} certificate of {host} with one from a public CA that names {host}, sent with its intermediates (Postfix `smtpd_tls_chain_files` lists each key with its chain), or serve one key type only"
            ))
        }
        FindingId::DaneRollover => {
            let spki = cert.map(|c| c.spki_sha256.as_str()).unwrap_or_default();
            receiver(format!(
                "before changing the key or certificate, publish the next one's record beside `_{port}._tcp.{host}. IN TLSA 3 1 1 {spki}`, wait for the TTL, then switch (RFC 7671 §8.1); or add a 2 1 1 record for the issuing CA"
            ))
        }
        FindingId::MtaStsCertificate => receiver(format!(
            "MTA-STS senders need a certificate from a public CA that names {host}, with its intermediates: see the cert.* findings"
        )),
        FindingId::AddressPrivate => receiver(format!(
            "publish only public addresses for {host}: senders on the internet cannot reach {}",
            a.ip
        )),
        FindingId::SmtpBanner if a.error.as_ref().map(|e| e.kind) == Some(ErrorKind::Rejected) => {
            sender(
                "the server turned the connection away (4xx/5xx banner): if it says too many connections, audit it again later or with `--per-address 1`",
            )
        }
        FindingId::SmtpConnect | FindingId::SmtpBanner
            if a.error.as_ref().map(|e| e.kind) == Some(ErrorKind::Timeout) =>
        {
            sender(
                "if every MX of every domain times out, this network probably blocks outgoing port 25: run smtptls where your mail server runs",
            )
        }
        _ => None,
    }
}

/// The suite exclusions for what the scan saw accepted, as Postfix's
/// `smtpd_tls_exclude_ciphers` list and an OpenSSL cipher-string tail.
fn excluded_suites(a: &AddressReport) -> (String, String) {
    let w = a.scan.as_ref().map(|s| &s.weak_suites);
    let seen =
        |pick: fn(&super::WeakSuitesReport) -> Option<bool>| w.and_then(pick).unwrap_or(false);
    let mut names: Vec<&str> = Vec::new();
    if seen(|w| w.anonymous) {
        names.push("aNULL");
    }
    if seen(|w| w.null) {
        names.push("eNULL");
    }
    if seen(|w| w.export) {
        names.push("EXPORT");
    }
    if seen(|w| w.des) {
        names.push("DES");
    }
    if seen(|w| w.rc4) {
        names.push("RC4");
    }
    if seen(|w| w.triple_des) {
        names.push("3DES");
    }
    if names.is_empty() {
        // The finding came from suites outside the named categories
        // (e.g. static RSA, CBC): the usual exclusion list still applies.
        names = vec!["aNULL", "eNULL", "EXPORT", "DES", "RC4", "3DES"];
    }
    let postfix = names.join(", ");
    let openssl = names
        .iter()
        .map(|n| format!("!{n}"))
        .collect::<Vec<_>>()
        .join(":");
    (postfix, openssl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::MxReport;
    use crate::report::NcscLevel;
    use crate::report::RecordState;
    use crate::report::read::fixture::certificate;

    pub(super) fn row() -> DomainReport {
        let mut d = DomainReport::empty("example.test");
        d.mx = vec![MxReport {
            host: "mx.example.test".into(),
            preference: 10,
            cname: None,
            dnssec: crate::report::Dnssec::Insecure,
            tlsa: None,
            mta_sts_match: None,
            post_quantum: None,
            addresses: vec![address()],
            addresses_left_out: Vec::new(),
            findings: Vec::new(),
            error: None,
        }];
        d
    }

    fn address() -> AddressReport {
        serde_json::from_value(serde_json::json!({
            "ip": "192.0.2.1", "port": 25, "starttls": true, "banner": null,
            "extensions": [], "extensions_after_tls": null, "tls": null,
            "certificate": null, "dane": "none", "post_quantum": null, "scan": null,
            "starttls_injection": null, "legacy_tls": false, "legacy_session": null,
            "configuration": null, "error": null, "findings": [], "timings_ms": { "total": 1 }
        }))
        .expect("address row")
    }

    fn fix_of(d: &DomainReport) -> Option<Fix> {
        d.mx[0].addresses[0].findings[0].fix.clone()
    }

    #[test]
    fn expiring_certificate_names_the_host_and_the_days() {
        let mut d = row();
        let a = &mut d.mx[0].addresses[0];
        a.certificate = Some(certificate("mx.example.test", 9));
        a.findings = vec![Finding::warn(FindingId::CertExpiry, "expires in 9 days")];
        annotate(&mut d, 25);
        let fix = fix_of(&d).expect("fix");
        assert_eq!(fix.by, FixBy::Receiver);
        assert!(
            fix.text
                .starts_with("renew the certificate of mx.example.test: it expires in 9 days"),
            "{}",
            fix.text
        );
    }

    #[test]
    fn self_signed_offers_the_tlsa_record_for_the_key_in_use() {
        let mut d = row();
        let a = &mut d.mx[0].addresses[0];
        let mut c = certificate("mx.example.test", 300);
        c.chain_valid = false;
        c.chain_error = Some(ChainError::SelfSigned);
        let spki = c.spki_sha256.clone();
        a.certificate = Some(c);
        a.findings = vec![Finding::fail(FindingId::CertChainValid, "self-signed")];
        annotate(&mut d, 2525);
        let text = fix_of(&d).expect("fix").text;
        assert!(
            text.contains(&format!("_2525._tcp.mx.example.test. IN TLSA 3 1 1 {spki}")),
            "{text}"
        );
    }

    /// Findings whose cause is not the server's configuration get none:
    /// a handshake whose signature the tool could not check, a failed
    /// EHLO dialogue.
    #[test]
    fn no_advice_where_there_is_no_usual_fix() {
        for f in [
            Finding::warn(FindingId::TlsHandshake, "TLSv1.2; signature not checked"),
            Finding::fail(FindingId::SmtpEhlo, "ehlo: timeout"),
        ] {
            let mut d = row();
            // As after a failed dialogue: STARTTLS never seen.
            d.mx[0].addresses[0].starttls = false;
            d.mx[0].addresses[0].findings = vec![f];
            annotate(&mut d, 25);
            assert_eq!(fix_of(&d), None);
        }
    }

    /// The advice is chosen by finding id and the row's typed facts: the
    /// source outside the tests never reads a message (rewording one in
    /// the inspector must not change or drop a fix).
    #[test]
    fn advice_never_reads_message_text() {
        let source = include_str!("advice.rs");
        let code = source.split("#[cfg(test)]").next().unwrap_or(source);
        let uses: Vec<&str> = code
            .lines()
            .filter(|l| l.contains(".message"))
            .map(str::trim)
            .collect();
        assert!(uses.is_empty(), "advice reads message text: {uses:?}");
    }

    /// The three choices that once matched message substrings, each with
    /// a message that says the opposite of the facts: the facts win.
    #[test]
    fn advice_follows_the_facts_not_the_words() {
        let tlsa = |status: TlsaStatus| super::super::TlsaReport {
            status,
            dnssec: crate::report::Dnssec::Secure,
            records: vec!["3 1 1 00".into()],
        };
        // dane.tlsa: unsigned records vs a failed lookup.
        for (status, message, says) in [
            (
                TlsaStatus::Insecure,
                "TLSA lookup failed",
                "sign the zone of _25._tcp.mx.example.test",
            ),
            (
                TlsaStatus::LookupFailed,
                "records are not DNSSEC-signed",
                "make the TLSA query",
            ),
        ] {
            let mut d = row();
            d.mx[0].tlsa = Some(tlsa(status));
            let severity = if status == TlsaStatus::Insecure {
                Severity::Warn
            } else {
                Severity::Fail
            };
            d.mx[0].findings = vec![Finding::new(FindingId::DaneTlsa, severity, message)];
            annotate(&mut d, 25);
            let text = d.mx[0].findings[0].fix.clone().expect("fix").text;
            assert!(text.starts_with(says), "{status:?}: {text}");
        }
        // cert.expiry: not yet valid vs expired.
        for (not_yet_valid, days, message, says) in [
            (
                true,
                400,
                "certificate expired",
                "install a certificate for mx.example.test that is valid now",
            ),
            (
                false,
                -2,
                "certificate is not valid before 2031",
                "renew the certificate of mx.example.test (it expired",
            ),
        ] {
            let mut d = row();
            let a = &mut d.mx[0].addresses[0];
            let mut c = certificate("mx.example.test", days);
            c.not_yet_valid = not_yet_valid;
            a.certificate = Some(c);
            a.findings = vec![Finding::fail(FindingId::CertExpiry, message)];
            annotate(&mut d, 25);
            let text = fix_of(&d).expect("fix").text;
            assert!(text.starts_with(says), "{text}");
        }
        // dane.valid: no usable record vs a mismatch.
        for (dane, message, says) in [
            (
                DaneResult::Unusable,
                "no TLSA record matches",
                "publish a DANE-EE record",
            ),
            (
                DaneResult::Mismatch,
                "none is usable",
                "publish `_25._tcp.mx.example.test. IN TLSA 3 1 1",
            ),
        ] {
            let mut d = row();
            let a = &mut d.mx[0].addresses[0];
            a.certificate = Some(certificate("mx.example.test", 300));
            a.dane = dane;
            a.findings = vec![Finding::warn(FindingId::DaneValid, message)];
            annotate(&mut d, 25);
            let text = fix_of(&d).expect("fix").text;
            assert!(text.starts_with(says), "{dane:?}: {text}");
        }
    }

    #[test]
    fn passing_findings_get_no_fix_and_old_fixes_are_replaced() {
        let mut d = row();
        let a = &mut d.mx[0].addresses[0];
        let mut ok = Finding::ok(FindingId::StarttlsOffered, "STARTTLS is offered");
        ok.fix = Some(Fix {
            by: FixBy::Sender,
            text: "stale".into(),
        });
        a.findings = vec![ok];
        annotate(&mut d, 25);
        assert_eq!(fix_of(&d), None);
    }

    #[test]
    fn missing_tls_rpt_and_testing_mode_are_advised_to_the_receiver() {
        let mut d = row();
        d.findings = vec![
            Finding::info(FindingId::TlsRptRecord, "no TLS-RPT record"),
            Finding::info(FindingId::MtaStsMode, "mode testing"),
        ];
        d.mta_sts = Some(crate::report::MtaStsReport {
            record: RecordState::Valid,
            id: Some("1".into()),
            policy: Some(crate::report::StsPolicyReport {
                url: policy_url("example.test"),
                mode: Mode::Testing,
                mx: vec!["mx.example.test".into()],
                max_age: 86400,
                text_sha256: None,
            }),
            fetch_error: None,
        });
        d.tls_rpt = Some(crate::report::TlsRptReport {
            record: RecordState::Absent,
            rua: Vec::new(),
        });
        annotate(&mut d, 25);
        let rpt = d.findings[0].fix.clone().expect("TLS-RPT fix");
        assert!(
            rpt.text.contains("_smtp._tls.example.test."),
            "{}",
            rpt.text
        );
        let mode = d.findings[1].fix.clone().expect("mode fix");
        assert!(mode.text.contains("`mode: enforce`"), "{}", mode.text);
    }

    #[test]
    fn anonymous_suites_exclusion_lists_only_what_was_seen() {
        let mut d = row();
        let a = &mut d.mx[0].addresses[0];
        a.scan = Some(
            serde_json::from_value(serde_json::json!({
                "mode": "light", "connections": 3, "complete": true, "stopped": null,
                "versions": [], "accepted_versions": [], "server_order": null,
                "weak_suites": { "null": false, "anonymous": true, "export": false, "rc4": false,
                                 "des": false, "triple_des": false, "static_rsa": null, "cbc": null },
                "dhe": null, "groups": [], "post_quantum_accepted": null,
                "compression": null, "secure_renegotiation": null
            }))
            .expect("scan"),
        );
        a.findings = vec![Finding::warn(FindingId::TlsCipherSuites, "anonymous")];
        annotate(&mut d, 25);
        let text = fix_of(&d).expect("fix").text;
        assert!(
            text.contains("`smtpd_tls_exclude_ciphers = aNULL`"),
            "{text}"
        );
        assert!(text.contains("DEFAULT:!aNULL`"), "{text}");
    }

    /// Every case the advice must cover (issue 14): the finding as the
    /// inspector writes it, on a row with the facts it is about, and a
    /// phrase the advice must contain.
    #[test]
    fn every_usual_problem_has_advice_for_the_side_that_can_act() {
        struct Case {
            what: &'static str,
            finding: Finding,
            setup: fn(&mut AddressReport),
            by: FixBy,
            says: &'static str,
        }
        fn none(_: &mut AddressReport) {}
        fn expired(a: &mut AddressReport) {
            let mut c = certificate("mx.example.test", -3);
            c.chain_valid = false;
            c.chain_error = Some(ChainError::Expired);
            a.certificate = Some(c);
        }
        fn soon(a: &mut AddressReport) {
            a.certificate = Some(certificate("mx.example.test", 5));
        }
        fn wrong_name(a: &mut AddressReport) {
            let mut c = certificate("other.example.test", 300);
            c.hostname_match = false;
            a.certificate = Some(c);
        }
        fn incomplete(a: &mut AddressReport) {
            let mut c = certificate("mx.example.test", 300);
            c.chain_valid = false;
            c.chain_error = Some(ChainError::IncompleteChain);
            a.certificate = Some(c);
        }
        fn self_signed(a: &mut AddressReport) {
            let mut c = certificate("mx.example.test", 300);
            c.chain_valid = false;
            c.chain_error = Some(ChainError::SelfSigned);
            a.certificate = Some(c);
        }
        fn plain(a: &mut AddressReport) {
            a.starttls = false;
        }
        fn injectable(a: &mut AddressReport) {
            a.starttls_injection = Some(crate::report::InjectionReport {
                result: InjectionResult::Vulnerable,
                reply: Some("250 ok".into()),
                error: None,
            });
        }
        fn with_cert(a: &mut AddressReport) {
            a.certificate = Some(certificate("mx.example.test", 300));
        }
        let cases = [
            Case {
                what: "no STARTTLS",
                finding: Finding::fail(FindingId::StarttlsOffered, "STARTTLS is not offered"),
                setup: plain,
                by: FixBy::Receiver,
                says: "`smtpd_tls_security_level = may`",
            },
            Case {
                what: "expired",
                finding: Finding::fail(FindingId::CertExpiry, "certificate expired"),
                setup: expired,
                by: FixBy::Receiver,
                says: "renew the certificate of mx.example.test (it expired on",
            },
            Case {
                what: "expires soon",
                finding: Finding::warn(FindingId::CertExpiry, "certificate expires in 5 days"),
                setup: soon,
                by: FixBy::Receiver,
                says: "it expires in 5 days",
            },
            Case {
                what: "wrong name",
                finding: Finding::fail(FindingId::CertHostname, "not valid for the host"),
                setup: wrong_name,
                by: FixBy::Receiver,
                says: "subjectAltName DNS:mx.example.test",
            },
            Case {
                what: "incomplete chain",
                finding: Finding::fail(FindingId::CertChainValid, "incomplete chain"),
                setup: incomplete,
                by: FixBy::Receiver,
                says: "send the intermediate certificates",
            },
            Case {
                what: "self-signed",
                finding: Finding::fail(FindingId::CertChainValid, "self-signed"),
                setup: self_signed,
                by: FixBy::Receiver,
                says: "IN TLSA 3 1 1 1111",
            },
            Case {
                what: "TLS 1.0/1.1 accepted",
                finding: Finding::leveled(
                    FindingId::TlsProtocols,
                    NcscLevel::Insufficient,
                    "TLSv1.0",
                ),
                setup: none,
                by: FixBy::Receiver,
                says: "`smtpd_tls_protocols = >=TLSv1.2`",
            },
            Case {
                what: "small DHE",
                finding: Finding::leveled(
                    FindingId::TlsKeyExchange,
                    NcscLevel::Insufficient,
                    "DHE 1024",
                ),
                setup: none,
                by: FixBy::Receiver,
                says: "`tls_dhparam = ffdhe3072`",
            },
            Case {
                what: "DANE mismatch",
                finding: Finding::fail(
                    FindingId::DaneValid,
                    "no TLSA record matches the certificate",
                ),
                setup: with_cert,
                by: FixBy::Receiver,
                says: "`_25._tcp.mx.example.test. IN TLSA 3 1 1 1111",
            },
            Case {
                what: "DANE rollover",
                finding: Finding::info(FindingId::DaneRollover, "only one usable TLSA record"),
                setup: with_cert,
                by: FixBy::Receiver,
                says: "publish the next one's record",
            },
            Case {
                what: "STARTTLS injection",
                finding: Finding::fail(FindingId::StarttlsInjection, "answered inside TLS"),
                setup: injectable,
                by: FixBy::Receiver,
                says: "CVE-2011-0411",
            },
            Case {
                what: "a 421 banner",
                finding: Finding::fail(FindingId::SmtpBanner, "421 too many connections"),
                setup: |a| {
                    a.error = Some(crate::report::Failure {
                        phase: crate::report::ErrorPhase::Banner,
                        kind: ErrorKind::Rejected,
                        message: "421".into(),
                    })
                },
                by: FixBy::Sender,
                says: "`--per-address 1`",
            },
        ];
        let cases = cases.into_iter().chain([Case {
            what: "HELO only",
            finding: Finding::warn(FindingId::SmtpEhlo, "EHLO rejected, HELO accepted"),
            setup: plain,
            by: FixBy::Receiver,
            says: "accept EHLO (ESMTP) on mx.example.test",
        }]);
        for case in cases {
            let mut d = row();
            let a = &mut d.mx[0].addresses[0];
            (case.setup)(a);
            a.findings = vec![case.finding];
            annotate(&mut d, 25);
            let fix = fix_of(&d).unwrap_or_else(|| panic!("{}: no fix", case.what));
            assert_eq!(fix.by, case.by, "{}", case.what);
            assert!(fix.text.contains(case.says), "{}: {}", case.what, fix.text);
        }
    }

    #[test]
    fn mta_sts_problems_and_missing_tls_rpt_have_advice() {
        let policy = |mode: Mode| {
            Some(crate::report::MtaStsReport {
                record: RecordState::Valid,
                id: Some("1".into()),
                policy: Some(crate::report::StsPolicyReport {
                    url: policy_url("example.test"),
                    mode,
                    mx: vec!["other.example.test".into()],
                    max_age: 86400,
                    text_sha256: None,
                }),
                fetch_error: None,
            })
        };
        let cases: [(Option<crate::report::MtaStsReport>, Finding, &str); 6] = [
            (
                policy(Mode::Testing),
                Finding::info(FindingId::MtaStsMode, "testing"),
                "`mode: enforce`",
            ),
            (
                policy(Mode::None),
                Finding::info(FindingId::MtaStsMode, "none"),
                "withdraws the policy",
            ),
            (
                None,
                Finding::fail(FindingId::MtaStsPolicy, "fetch failed"),
                "Content-Type text/plain, no redirect",
            ),
            (
                None,
                Finding::fail(FindingId::MtaStsRecord, "2 records"),
                "exactly one TXT record at _mta-sts.example.test",
            ),
            (
                None,
                Finding::info(FindingId::TlsRptRecord, "no TLS-RPT record"),
                "rua=mailto:tlsrpt@example.test",
            ),
            (
                policy(Mode::Enforce),
                Finding::fail(FindingId::DeliveryMtaSts, "deferred"),
                "`mode: testing`",
            ),
        ];
        for (sts, finding, says) in cases {
            let mut d = row();
            d.mta_sts = sts;
            d.findings = vec![finding];
            annotate(&mut d, 25);
            let fix = d.findings[0].fix.clone().expect("fix");
            assert_eq!(fix.by, FixBy::Receiver);
            assert!(fix.text.contains(says), "{}", fix.text);
        }
        // The MX the policy does not list: named in the line to add.
        let mut d = row();
        d.mta_sts = policy(Mode::Enforce);
        d.mx[0].findings = vec![Finding::fail(FindingId::MtaStsMx, "not listed")];
        annotate(&mut d, 25);
        let fix = d.mx[0].findings[0].fix.clone().expect("fix");
        assert!(fix.text.contains("`mx: mx.example.test`"), "{}", fix.text);
    }
}

/// Every finding id against the registry (`vocabulary::explain`): an id
/// whose registry entry has a usual fix gets advice from [`annotate`] on
/// a representative row, one that has none says why and gets none. The
/// match below names every id, so a new one does not compile until its
/// representative rows are written: one per way it is emitted at warn or
/// fail (and the info findings that are advised).
#[cfg(test)]
mod registry_tests {
    use super::tests::row;
    use super::*;
    use crate::report::read::fixture::certificate;
    use crate::vocabulary::{Advice, explain};

    #[derive(Clone, Copy, Debug)]
    enum Place {
        Domain,
        Mx,
        Address,
    }
    use Place::*;

    /// A row with one finding of `id` at `severity`, placed where the
    /// inspector emits it, on the facts `setup` gives.
    struct Rep {
        severity: Severity,
        place: Place,
        setup: fn(&mut DomainReport),
    }

    fn rep(severity: Severity, place: Place) -> Rep {
        Rep {
            severity,
            place,
            setup: |_| {},
        }
    }

    fn with(severity: Severity, place: Place, setup: fn(&mut DomainReport)) -> Rep {
        Rep {
            severity,
            place,
            setup,
        }
    }

    fn addr(d: &mut DomainReport) -> &mut AddressReport {
        &mut d.mx[0].addresses[0]
    }

    fn failure(d: &mut DomainReport, phase: crate::report::ErrorPhase, kind: ErrorKind) {
        addr(d).error = Some(crate::report::Failure {
            phase,
            kind,
            message: String::new(),
        });
    }

    fn cert(d: &mut DomainReport) {
        addr(d).certificate = Some(certificate("mx.example.test", 300));
    }

    /// An RSA certificate beside the main one, with `dane`.
    fn other(dane: DaneResult) -> crate::report::OtherCertificateReport {
        crate::report::OtherCertificateReport {
            key_type: crate::report::KeyType::Rsa,
            certificate: certificate("mx.example.test", 300),
            dane,
        }
    }

    fn tlsa(d: &mut DomainReport, status: TlsaStatus) {
        d.mx[0].tlsa = Some(crate::report::TlsaReport {
            status,
            dnssec: crate::report::Dnssec::Secure,
            records: vec!["3 1 1 00".into()],
        });
    }

    fn mode(d: &mut DomainReport, mode: Mode) {
        d.mta_sts = Some(crate::report::MtaStsReport {
            record: crate::report::RecordState::Valid,
            id: Some("1".into()),
            policy: Some(crate::report::StsPolicyReport {
                url: policy_url("example.test"),
                mode,
                mx: vec!["mx.example.test".into()],
                max_age: 86400,
                text_sha256: None,
            }),
            fetch_error: None,
        });
    }

    fn representatives(id: FindingId) -> Vec<Rep> {
        use crate::report::ErrorPhase;
        use Severity::{Fail, Info, Warn};
        match id {
            FindingId::DnsNxdomain | FindingId::MxNone => vec![rep(Fail, Domain)],
            FindingId::DnsError => vec![rep(Fail, Domain), rep(Fail, Mx), rep(Warn, Mx)],
            FindingId::DnssecBogus => vec![rep(Fail, Domain), rep(Fail, Mx), rep(Warn, Mx)],
            FindingId::MxNullMixed | FindingId::MxImplicit => vec![rep(Warn, Domain)],
            FindingId::MxCname => vec![rep(Warn, Mx)],
            FindingId::MxIpLiteral
            | FindingId::MxInvalidName
            | FindingId::MxNoAddress
            | FindingId::MxLocalhost => vec![rep(Fail, Mx)],
            // Info only: what the domain says, or the audit's own caps.
            FindingId::MxNull | FindingId::MxHostsLeftOut | FindingId::MxAddressesLeftOut => {
                vec![]
            }
            FindingId::AddressUnusable | FindingId::AddressLocal => {
                vec![with(Fail, Address, |d| {
                    failure(d, ErrorPhase::Connect, ErrorKind::NotProbed)
                })]
            }
            FindingId::AddressPrivate => vec![rep(Warn, Address)],
            FindingId::SmtpConnect => vec![with(Fail, Address, |d| {
                failure(d, ErrorPhase::Connect, ErrorKind::Timeout)
            })],
            FindingId::SmtpBanner => vec![
                with(Fail, Address, |d| {
                    failure(d, ErrorPhase::Banner, ErrorKind::Rejected)
                }),
                with(Fail, Address, |d| {
                    failure(d, ErrorPhase::Banner, ErrorKind::Timeout)
                }),
            ],
            FindingId::SmtpEhlo => vec![with(Warn, Address, |d| addr(d).starttls = false)],
            FindingId::StarttlsOffered => {
                vec![with(Fail, Address, |d| addr(d).starttls = false)]
            }
            FindingId::StarttlsCommand | FindingId::TlsHandshake | FindingId::TlsVersion => {
                vec![rep(Fail, Address)]
            }
            FindingId::SmtpEhloAfterTls => vec![rep(Fail, Address)],
            FindingId::CertChainValid => vec![
                with(Fail, Address, |d| {
                    let mut c = certificate("mx.example.test", 300);
                    c.chain_error = Some(ChainError::IncompleteChain);
                    addr(d).certificate = Some(c);
                }),
                with(Fail, Address, |d| {
                    let mut c = certificate("mx.example.test", 300);
                    c.chain_error = Some(ChainError::SelfSigned);
                    addr(d).certificate = Some(c);
                }),
            ],
            FindingId::CertExpiry => vec![
                with(Fail, Address, |d| {
                    addr(d).certificate = Some(certificate("mx.example.test", -1))
                }),
                with(Fail, Address, |d| {
                    let mut c = certificate("mx.example.test", 400);
                    c.not_yet_valid = true;
                    addr(d).certificate = Some(c);
                }),
                with(Warn, Address, |d| {
                    addr(d).certificate = Some(certificate("mx.example.test", 3))
                }),
            ],
            FindingId::CertHostname | FindingId::CertKey | FindingId::CertSignature => {
                vec![with(Fail, Address, cert), with(Warn, Address, cert)]
            }
            FindingId::DaneTlsa => vec![
                with(Warn, Mx, |d| tlsa(d, TlsaStatus::Insecure)),
                with(Fail, Mx, |d| tlsa(d, TlsaStatus::LookupFailed)),
            ],
            FindingId::DaneValid => vec![
                with(Fail, Address, |d| {
                    cert(d);
                    addr(d).dane = DaneResult::Mismatch;
                }),
                with(Warn, Address, |d| {
                    cert(d);
                    addr(d).dane = DaneResult::Unusable;
                }),
            ],
            FindingId::DaneRollover => vec![with(Info, Address, cert)],
            FindingId::DaneOtherCertificate => vec![with(Warn, Address, |d| {
                cert(d);
                addr(d).dane = DaneResult::Valid;
                addr(d).other_certificates = vec![other(DaneResult::Mismatch)];
            })],
            FindingId::CertOtherCertificate => vec![with(Warn, Address, |d| {
                cert(d);
                let mut o = other(DaneResult::Insecure);
                o.certificate.hostname_match = false;
                addr(d).other_certificates = vec![o];
            })],
            FindingId::MtaStsRecord | FindingId::TlsRptRecord => {
                vec![rep(Fail, Domain), rep(Warn, Domain), rep(Info, Domain)]
            }
            FindingId::MtaStsPolicy => vec![rep(Fail, Domain)],
            FindingId::MtaStsMode => vec![
                with(Info, Domain, |d| mode(d, Mode::Testing)),
                with(Info, Domain, |d| mode(d, Mode::None)),
            ],
            FindingId::MtaStsMx => vec![
                with(Warn, Mx, |d| mode(d, Mode::Testing)),
                with(Fail, Mx, |d| mode(d, Mode::Enforce)),
            ],
            FindingId::MtaStsCertificate => vec![
                with(Warn, Address, |d| mode(d, Mode::Testing)),
                with(Fail, Address, |d| mode(d, Mode::Enforce)),
            ],
            FindingId::DeliveryMtaSts => vec![with(Fail, Domain, |d| mode(d, Mode::Enforce))],
            FindingId::DeliveryDane => vec![rep(Fail, Domain)],
            FindingId::TlsProtocols
            | FindingId::TlsCipherSuites
            | FindingId::TlsCipherOrder
            | FindingId::TlsKeyExchange
            | FindingId::TlsCompression
            | FindingId::TlsRenegotiation
            | FindingId::TlsLegacySession
            | FindingId::TlsScan => vec![rep(Warn, Address)],
            // ok or info only: not in the guidelines yet.
            FindingId::TlsPostQuantum => vec![],
            // ok either way: a fact.
            FindingId::SmtpRequiretls => vec![],
            // ok or info: where the hosts came from.
            FindingId::SubmissionSrv => vec![],
            FindingId::SubmissionNoTls
            | FindingId::SubmissionAuthBeforeTls
            | FindingId::SubmissionCleartextPassword => vec![rep(Fail, Address)],
            FindingId::TlsOcspStapling | FindingId::CertMustStaple => {
                vec![rep(Warn, Address), with(Warn, Address, revoked_staple)]
            }
            FindingId::StarttlsInjection => vec![with(Fail, Address, |d| {
                addr(d).starttls_injection = Some(crate::report::InjectionReport {
                    result: InjectionResult::Vulnerable,
                    reply: None,
                    error: None,
                })
            })],
        }
    }

    fn revoked_staple(d: &mut DomainReport) {
        let a = addr(d);
        a.tls = Some(crate::report::TlsReport {
            version: crate::report::TlsVersion::Tls13,
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            key_exchange_group: None,
            ocsp_stapled: true,
            requiretls: false,
            ocsp: Some(crate::report::OcspReport {
                status: crate::report::OcspStatus::Revoked,
                freshness: Some(crate::report::OcspFreshness::Fresh),
                signature: crate::report::OcspSignature::Valid,
                this_update: None,
                next_update: None,
                revoked_at: None,
                problem: None,
            }),
            signature_verified: true,
        });
    }

    /// The fix `annotate` gives the one finding of `r`.
    fn advised(id: FindingId, r: &Rep) -> Option<Fix> {
        let mut d = row();
        (r.setup)(&mut d);
        let f = Finding::new(id, r.severity, "whatever the inspector says");
        match r.place {
            Domain => d.findings = vec![f],
            Mx => d.mx[0].findings = vec![f],
            Address => d.mx[0].addresses[0].findings = vec![f],
        }
        annotate(&mut d, 25);
        match r.place {
            Domain => d.findings[0].fix.clone(),
            Mx => d.mx[0].findings[0].fix.clone(),
            Address => d.mx[0].addresses[0].findings[0].fix.clone(),
        }
    }

    #[test]
    fn every_id_is_advised_or_says_why_not() {
        let mut wrong = Vec::new();
        for &id in FindingId::ALL {
            let reps = representatives(id);
            match explain(id).advice {
                Advice::Fix(_) => {
                    if reps.is_empty() {
                        wrong.push(format!("{id}: the registry has a fix, but no row shows it"));
                    }
                    for r in &reps {
                        if advised(id, r).is_none() {
                            wrong.push(format!(
                                "{id} at {} ({:?}): no advice from annotate, and the registry has no Advice::None",
                                r.severity, r.place
                            ));
                        }
                    }
                }
                Advice::None { .. } => {
                    for r in &reps {
                        if let Some(fix) = advised(id, r) {
                            wrong.push(format!(
                                "{id} at {}: the registry says no advice, annotate says {:?}",
                                r.severity, fix.text
                            ));
                        }
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }
}
