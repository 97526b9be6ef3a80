//! The registry of finding ids: what each one means, why it matters and
//! its usual fix in general words (or why there is none), in one place.
//! `smtptls explain ID` prints it, the table's fleet summary names
//! problems by [`Explanation::meaning`], and `docs/grading.md` carries a
//! table generated from it (a test keeps them equal). The fix written for
//! one row, with its host names and settings, is `report::advice`'s; this
//! is the id's general case, and a test there checks that every id with a
//! [`Advice::Fix`] gets advice on a representative row and every id
//! without says why.
//!
//! The match in [`explain`] names every [`FindingId`]: a new id does not
//! compile until it is explained.

use super::FindingId;

/// What a finding id is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    pub id: FindingId,
    /// One short line: the problem the id reports (for a check that can
    /// only pass or describe, what it describes).
    pub meaning: &'static str,
    /// Why it matters, in one to three sentences.
    pub why: &'static str,
    pub advice: Advice,
}

/// The usual fix of a finding id, in general words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Fix(&'static str),
    /// No usual fix, and why not.
    None {
        because: &'static str,
    },
}

/// The registry entry of `id`.
pub fn explain(id: FindingId) -> &'static Explanation {
    match id {
        FindingId::DnsNxdomain => &Explanation {
            id: FindingId::DnsNxdomain,
            meaning: "the domain does not exist (NXDOMAIN)",
            why: "Mail to a domain that does not exist cannot be delivered, so the verdict is error.",
            advice: Advice::None {
                because: "there is nothing to configure: the name in the list is misspelt, or the domain is gone",
            },
        },
        FindingId::DnsError => &Explanation {
            id: FindingId::DnsError,
            meaning: "a DNS lookup failed (timeout, SERVFAIL, REFUSED)",
            why: "An unanswered question is not an answer: at the domain level nothing can be audited, and an MX host whose addresses cannot be found is not probed. Senders meet the same failure and defer or skip the host.",
            advice: Advice::None {
                because: "the cause may be the domain's name servers or the resolver smtptls used; the message names the query and the answer, and only a run from another network tells the two apart",
            },
        },
        FindingId::DnssecBogus => &Explanation {
            id: FindingId::DnssecBogus,
            meaning: "a DNSSEC-signed answer fails validation",
            why: "A validating sender gets SERVFAIL for a bogus answer and defers the mail. Bogus is never treated as merely unsigned.",
            advice: Advice::Fix(
                "re-sign the zone (expired signatures) or correct the DS record at the parent",
            ),
        },
        FindingId::MxNull => &Explanation {
            id: FindingId::MxNull,
            meaning: "the domain publishes a null MX: it accepts no mail (RFC 7505)",
            why: "Senders bounce mail to it at once; there is nothing to protect, so the verdict is no-mail.",
            advice: Advice::None {
                because: "it is what the domain's owner says, not a fault",
            },
        },
        FindingId::MxNullMixed => &Explanation {
            id: FindingId::MxNullMixed,
            meaning: "a null MX is published beside other MX records",
            why: "RFC 7505 forbids the mix. Senders ignore the null MX and use the other hosts, so whether the domain wants mail is unclear.",
            advice: Advice::Fix(
                "remove the null MX, or the other MX records if the domain accepts no mail",
            ),
        },
        FindingId::MxImplicit => &Explanation {
            id: FindingId::MxImplicit,
            meaning: "no MX records: the domain's own address is the mail host",
            why: "RFC 5321 §5.1 makes this work, but it is fragile and often unintended: whatever answers on the domain's address gets the mail.",
            advice: Advice::Fix("publish an MX record naming the mail server"),
        },
        FindingId::MxNone => &Explanation {
            id: FindingId::MxNone,
            meaning: "neither MX nor address records: mail cannot be delivered",
            why: "Senders find no host to deliver to and bounce the mail, so the verdict is error.",
            advice: Advice::None {
                because: "whether the domain should take mail is its owner's call: an MX record if it should, a null MX (RFC 7505) if it should not",
            },
        },
        FindingId::MxCname => &Explanation {
            id: FindingId::MxCname,
            meaning: "the MX target is an alias (CNAME)",
            why: "RFC 2181 §10.3 says an MX names the host itself. Most senders cope, some do not, and the certificate must then name the alias.",
            advice: Advice::Fix("point the MX record at the canonical host name"),
        },
        FindingId::MxIpLiteral => &Explanation {
            id: FindingId::MxIpLiteral,
            meaning: "the MX target is written as an IP address",
            why: "An MX names a host: senders look the address up as a name and fail, so the host is never used.",
            advice: Advice::Fix("point the MX record at a host name"),
        },
        FindingId::MxInvalidName => &Explanation {
            id: FindingId::MxInvalidName,
            meaning: "the MX target is not a valid host name",
            why: "Senders cannot look it up, so the host is never used.",
            advice: Advice::Fix("point the MX record at a valid host name"),
        },
        FindingId::MxNoAddress => &Explanation {
            id: FindingId::MxNoAddress,
            meaning: "the MX host has no address records",
            why: "There is nothing to connect to: senders skip the host, and with no other host they defer.",
            advice: Advice::Fix(
                "publish A (and AAAA) records for the host, or point the MX at a host that has them",
            ),
        },
        FindingId::MxLocalhost => &Explanation {
            id: FindingId::MxLocalhost,
            meaning: "the MX names localhost",
            why: "Resolvers answer localhost with a loopback address (RFC 6761), so a sender connects to itself.",
            advice: Advice::Fix("point the MX record at the real mail server"),
        },
        FindingId::MxHostsLeftOut => &Explanation {
            id: FindingId::MxHostsLeftOut,
            meaning: "more MX hosts than --max-mx-hosts: the rest are listed, not probed",
            why: "Senders reach those hosts only when every host before them fails. The audit sampled the domain; the domain is not at fault.",
            advice: Advice::None {
                because: "it is the audit's own cap, not the domain's problem: raise --max-mx-hosts to probe them",
            },
        },
        FindingId::MxAddressesLeftOut => &Explanation {
            id: FindingId::MxAddressesLeftOut,
            meaning: "more addresses than --max-addresses-per-host: the rest are listed, not probed",
            why: "Senders try a few addresses per delivery. The audit sampled the host; the domain is not at fault.",
            advice: Advice::None {
                because: "it is the audit's own cap, not the domain's problem: raise --max-addresses-per-host to probe them",
            },
        },
        FindingId::AddressUnusable => &Explanation {
            id: FindingId::AddressUnusable,
            meaning: "an MX address no sender can use (unspecified, broadcast or multicast)",
            why: "A sender connects to nothing, or to itself. The address is never probed and counts as unreachable.",
            advice: Advice::None {
                because: "no setting makes such an address usable: it is a mistake in the zone, whose intended address the audit cannot know",
            },
        },
        FindingId::AddressLocal => &Explanation {
            id: FindingId::AddressLocal,
            meaning: "a loopback or link-local MX address",
            why: "No sender on the internet reaches it: it connects to itself or to its own link. It is probed only with --allow-local-addresses.",
            advice: Advice::None {
                because: "in public DNS it is a mistake in the zone whose intended address the audit cannot know; in a test lab (--allow-local-addresses) it is meant",
            },
        },
        FindingId::AddressPrivate => &Explanation {
            id: FindingId::AddressPrivate,
            meaning: "a private MX address (RFC 1918, CGNAT, ULA)",
            why: "Senders on the internet cannot reach it; it works only inside that network.",
            advice: Advice::Fix("publish only public addresses for the MX host"),
        },
        FindingId::SmtpConnect => &Explanation {
            id: FindingId::SmtpConnect,
            meaning: "no TCP connection to the MX address",
            why: "Refused, timed out or unreachable: the address is not graded, and a sender moves on to the next one.",
            advice: Advice::Fix(
                "when every MX of every domain times out, outgoing port 25 is blocked where smtptls runs: run it where the mail server runs",
            ),
        },
        FindingId::SmtpBanner => &Explanation {
            id: FindingId::SmtpBanner,
            meaning: "no usable 220 greeting (timeout, refusal, garbage)",
            why: "Without a greeting there is no SMTP session. A 421 often means the server limits connections from the auditor.",
            advice: Advice::Fix(
                "after a 4xx or 5xx greeting, audit again later or with --per-address 1; after timeouts everywhere, run from a network that allows port 25",
            ),
        },
        FindingId::SmtpEhlo => &Explanation {
            id: FindingId::SmtpEhlo,
            meaning: "EHLO fails, or only HELO works",
            why: "Without ESMTP there is no STARTTLS, so mail travels in clear text.",
            advice: Advice::Fix("accept EHLO (ESMTP) and turn on STARTTLS"),
        },
        FindingId::StarttlsOffered => &Explanation {
            id: FindingId::StarttlsOffered,
            meaning: "STARTTLS is not offered",
            why: "Mail to this address travels in clear text, readable and changeable by anyone on the path.",
            advice: Advice::Fix("turn on STARTTLS with a certificate for the MX host"),
        },
        FindingId::StarttlsCommand => &Explanation {
            id: FindingId::StarttlsCommand,
            meaning: "the STARTTLS command is refused or answered wrongly",
            why: "STARTTLS is advertised but cannot be used, so senders fall back to clear text. Bytes after the 220 may be an attacker's.",
            advice: Advice::Fix(
                "read the MTA's TLS log; check that the certificate and key files are readable and that TLS 1.2 is enabled",
            ),
        },
        FindingId::TlsHandshake => &Explanation {
            id: FindingId::TlsHandshake,
            meaning: "the TLS handshake fails",
            why: "A sender whose handshake fails gets no encryption, and many then retry in clear text.",
            advice: Advice::Fix(
                "read the MTA's TLS log; check that the certificate and key files are readable and that TLS 1.2 is enabled",
            ),
        },
        FindingId::TlsVersion => &Explanation {
            id: FindingId::TlsVersion,
            meaning: "neither TLS 1.3 nor TLS 1.2 is accepted",
            why: "TLS 1.0 and 1.1 are deprecated (RFC 8996): senders with a modern TLS library cannot negotiate with this server at all.",
            advice: Advice::Fix("enable TLS 1.2 and 1.3 with ECDHE and AES-GCM suites"),
        },
        FindingId::SmtpEhloAfterTls => &Explanation {
            id: FindingId::SmtpEhloAfterTls,
            meaning: "EHLO inside TLS fails",
            why: "RFC 3207 §4.2 requires a new EHLO after the handshake; a session that is unusable after TLS cannot take mail over TLS.",
            advice: Advice::None {
                because: "the cause is in the MTA or a proxy in front of it and shows only in its log; no one setting fixes it",
            },
        },
        FindingId::CertChainValid => &Explanation {
            id: FindingId::CertChainValid,
            meaning: "the certificate chain does not lead to a trusted root",
            why: "Verifying senders (MTA-STS, mandatory TLS) refuse the server; opportunistic ones encrypt without knowing who they talk to.",
            advice: Advice::Fix(
                "send the full chain (leaf first, then the intermediates); or use a certificate from a public CA, or publish a DANE-EE TLSA record for it under DNSSEC",
            ),
        },
        FindingId::CertOtherCertificate => &Explanation {
            id: FindingId::CertOtherCertificate,
            meaning: "the certificate of the other key type (RSA or ECDSA) fails chain, name, expiry or key",
            why: "A dual-certificate server shows its RSA or its ECDSA chain, whichever the sender's hello asks for. Mainstream senders offer both and get the main one, so the verdict follows that; a verifying or MTA-STS sender that negotiates the other key type refuses a certificate that does not validate.",
            advice: Advice::Fix(
                "renew or replace the other certificate so that both validate and name the MX host (Postfix `smtpd_tls_chain_files` lists both key and chain files), or serve one key type only",
            ),
        },
        FindingId::CertHostname => &Explanation {
            id: FindingId::CertHostname,
            meaning: "the certificate does not name the MX host",
            why: "Verifying senders check the name (RFC 6125) and refuse a certificate made out to another host.",
            advice: Advice::Fix("use a certificate whose subjectAltName lists the MX host name"),
        },
        FindingId::CertExpiry => &Explanation {
            id: FindingId::CertExpiry,
            meaning: "the certificate has expired, is not yet valid, or expires soon",
            why: "An expired or not yet valid certificate fails at every verifying sender; one about to expire soon will.",
            advice: Advice::Fix(
                "renew the certificate, install it and reload the MTA; find out why automated renewal did not run",
            ),
        },
        FindingId::CertKey => &Explanation {
            id: FindingId::CertKey,
            meaning: "the certificate's key is weak (NCSC-NL phase-out or insufficient)",
            why: "A small RSA key or curve can be broken, now or soon. It sets the configuration axis, not the verdict.",
            advice: Advice::Fix("get a new certificate with an ECDSA P-256 or an RSA 3072-bit key"),
        },
        FindingId::CertSignature => &Explanation {
            id: FindingId::CertSignature,
            meaning: "the certificate is signed with a weak hash",
            why: "SHA-1 and MD5 signatures can be forged, and verifying senders reject them.",
            advice: Advice::Fix("get a new certificate signed with SHA-256 or better"),
        },
        FindingId::DaneTlsa => &Explanation {
            id: FindingId::DaneTlsa,
            meaning: "the TLSA records cannot be used: unsigned, or the lookup failed",
            why: "Unsigned TLSA records are ignored. A failed or bogus TLSA lookup makes DANE senders defer mail to the host (RFC 7672 §2.2).",
            advice: Advice::Fix(
                "sign the zone with DNSSEC (or remove unsigned TLSA records) and make the TLSA query answer under valid DNSSEC",
            ),
        },
        FindingId::DaneValid => &Explanation {
            id: FindingId::DaneValid,
            meaning: "no usable TLSA record matches the certificate",
            why: "DANE senders do not deliver to an address whose certificate matches none of the usable records. With only unusable records they encrypt without authenticating.",
            advice: Advice::Fix(
                "publish a 3 1 1 TLSA record for the key in use (keep the old one until its TTL has passed), or put back the certificate the records name",
            ),
        },
        FindingId::DaneOtherCertificate => &Explanation {
            id: FindingId::DaneOtherCertificate,
            meaning: "the certificate of the other key type (RSA or ECDSA) matches no TLSA record",
            why: "A dual-certificate server shows its RSA or its ECDSA chain, whichever the sender's hello asks for; RFC 7671 requires the TLSA records to match every chain it may present. Mainstream senders (Postfix, Exim) offer both and get the main one, so the verdict follows that; a DANE sender that negotiates the other key type defers.",
            advice: Advice::Fix(
                "publish a 3 1 1 TLSA record for the other key as well (or a 2 1 1 record for a CA that issued both), or stop serving the certificate the records do not name",
            ),
        },
        FindingId::DaneRollover => &Explanation {
            id: FindingId::DaneRollover,
            meaning: "a single TLSA record leaves no room for a key change",
            why: "Changing the key or certificate before the next record is published breaks delivery from DANE senders until DNS catches up.",
            advice: Advice::Fix(
                "publish the next key's record, or a 2 1 1 record for the issuing CA, beside the current one before any change (RFC 7671 §8.1)",
            ),
        },
        FindingId::MtaStsRecord => &Explanation {
            id: FindingId::MtaStsRecord,
            meaning: "the _mta-sts TXT record is missing, invalid or repeated",
            why: "Without exactly one valid record, senders cannot learn that the domain requires TLS (RFC 8461 §3.1).",
            advice: Advice::Fix(
                "publish exactly one record `v=STSv1; id=…;` with a policy, mode testing first",
            ),
        },
        FindingId::MtaStsPolicy => &Explanation {
            id: FindingId::MtaStsPolicy,
            meaning: "the MTA-STS policy cannot be fetched or is malformed",
            why: "Senders without a cached policy treat the domain as having none; senders holding a cached enforce policy may defer.",
            advice: Advice::Fix(
                "serve the policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt with a valid certificate: status 200, text/plain, no redirect",
            ),
        },
        FindingId::MtaStsMode => &Explanation {
            id: FindingId::MtaStsMode,
            meaning: "the MTA-STS policy is in mode testing or none",
            why: "In testing, failures are only reported; none withdraws the policy. Only enforce makes senders require authenticated TLS.",
            advice: Advice::Fix(
                "switch to mode enforce once the TLS-RPT reports show no failures, and change the record's id",
            ),
        },
        FindingId::MtaStsMx => &Explanation {
            id: FindingId::MtaStsMx,
            meaning: "an MX host is not listed in the MTA-STS policy",
            why: "Under enforce, MTA-STS senders do not deliver to a host the policy does not list (RFC 8461 §4.1).",
            advice: Advice::Fix(
                "add an `mx:` line for the host to the policy (or fix the MX record), then change the record's id",
            ),
        },
        FindingId::MtaStsCertificate => &Explanation {
            id: FindingId::MtaStsCertificate,
            meaning: "an MX certificate fails under the MTA-STS policy",
            why: "MTA-STS senders require a publicly trusted certificate that names the host; under enforce they skip this address.",
            advice: Advice::Fix(
                "use a certificate from a public CA that names the MX host, sent with its intermediates",
            ),
        },
        FindingId::TlsRptRecord => &Explanation {
            id: FindingId::TlsRptRecord,
            meaning: "no valid TLS-RPT record",
            why: "Without exactly one, senders cannot tell the domain when TLS to its servers fails (RFC 8460).",
            advice: Advice::Fix("publish one `_smtp._tls` TXT record `v=TLSRPTv1; rua=mailto:…`"),
        },
        FindingId::DeliveryMtaSts => &Explanation {
            id: FindingId::DeliveryMtaSts,
            meaning: "MTA-STS-enforcing senders defer mail",
            why: "The domain's own policy stops enforcing senders from delivering: mail is being lost now, and the verdict is broken.",
            advice: Advice::Fix(
                "fix the MX problems listed, or switch the policy to mode testing until they are fixed",
            ),
        },
        FindingId::DeliveryDane => &Explanation {
            id: FindingId::DeliveryDane,
            meaning: "DANE-enforcing senders defer mail",
            why: "The TLSA records or their lookups stop DANE senders from delivering: mail is being lost now, and the verdict is broken.",
            advice: Advice::Fix(
                "publish TLSA records that match the certificates in use, or remove the stale ones",
            ),
        },
        FindingId::TlsProtocols => &Explanation {
            id: FindingId::TlsProtocols,
            meaning: "SSLv3, TLS 1.0 or TLS 1.1 is accepted",
            why: "Deprecated versions (RFC 8996) are open to downgrades and known attacks. A correctly configured sender never picks them, so they set the configuration axis, not the verdict.",
            advice: Advice::Fix("accept only TLS 1.2 and 1.3"),
        },
        FindingId::TlsCipherSuites => &Explanation {
            id: FindingId::TlsCipherSuites,
            meaning: "weak cipher suites are accepted",
            why: "Anonymous, NULL, export, RC4, DES and 3DES suites give little or no protection to a sender that picks them. They set the configuration axis, not the verdict.",
            advice: Advice::Fix("exclude the weak suite categories the scan saw"),
        },
        FindingId::TlsCipherOrder => &Explanation {
            id: FindingId::TlsCipherOrder,
            meaning: "the server does not enforce its own cipher order",
            why: "A server that follows the client's order lets a client pick the weakest suite both accept (NCSC-NL B2-5).",
            advice: Advice::Fix("let the server choose the suite"),
        },
        FindingId::TlsKeyExchange => &Explanation {
            id: FindingId::TlsKeyExchange,
            meaning: "a weak key-exchange group or DHE prime is accepted",
            why: "Small DHE primes (Logjam) and weak curves can be broken. They set the configuration axis, not the verdict.",
            advice: Advice::Fix(
                "use a DHE group of 3072 bits or more (RFC 7919 ffdhe3072), or no DHE suites",
            ),
        },
        FindingId::TlsCompression => &Explanation {
            id: FindingId::TlsCompression,
            meaning: "TLS compression is accepted",
            why: "Compression leaks secrets through the length of what is encrypted (CRIME).",
            advice: Advice::Fix("turn TLS compression off"),
        },
        FindingId::TlsRenegotiation => &Explanation {
            id: FindingId::TlsRenegotiation,
            meaning: "no secure renegotiation (RFC 5746)",
            why: "Without the renegotiation_info extension, a server that renegotiates is open to prefix injection.",
            advice: Advice::Fix("upgrade the TLS library"),
        },
        FindingId::TlsPostQuantum => &Explanation {
            id: FindingId::TlsPostQuantum,
            meaning: "the main handshake used no hybrid post-quantum key exchange",
            why: "Sessions recorded now could be decrypted by a future quantum computer. The NCSC-NL guidelines do not ask for it yet.",
            advice: Advice::None {
                because: "it is informational: no guideline asks for it yet, and a current TLS library brings it without configuration",
            },
        },
        FindingId::TlsScan => &Explanation {
            id: FindingId::TlsScan,
            meaning: "the protocol scan was cut short",
            why: "The address stopped answering (timeout, 421), so what else it accepts is partly unknown and its configuration level is a lower bound.",
            advice: Advice::None {
                because: "it describes the audit, not the server: run again later, or with --per-address 1",
            },
        },
        FindingId::TlsLegacySession => &Explanation {
            id: FindingId::TlsLegacySession,
            meaning: "only an OpenSSL-default sender gets TLS, with legacy versions or suites",
            why: "Senders with a modern TLS library get no encryption at all, and nobody is authenticated: the domain is at best encrypted.",
            advice: Advice::Fix(
                "enable TLS 1.2 and 1.3 with ECDHE and AES-GCM suites (upgrade the TLS library if it has none)",
            ),
        },
        FindingId::StarttlsInjection => &Explanation {
            id: FindingId::StarttlsInjection,
            meaning: "commands sent before STARTTLS run inside TLS (CVE-2011-0411 class)",
            why: "An attacker can inject commands into the encrypted session, so the address is Weak.",
            advice: Advice::Fix(
                "upgrade the MTA, or the proxy in front of it: it must discard its input after STARTTLS (RFC 3207 §4.2)",
            ),
        },
        FindingId::SmtpRequiretls => &Explanation {
            id: FindingId::SmtpRequiretls,
            meaning: "whether the EHLO reply inside TLS advertises REQUIRETLS (RFC 8689)",
            why: "REQUIRETLS is a flag a sender sets on one message, asking every hop to use verified TLS. The receiver advertising it says nothing about what other senders' mail gets, so it never changes the verdict.",
            advice: Advice::None {
                because: "it is a fact, not a fault: advertise REQUIRETLS only with an MTA that implements RFC 8689",
            },
        },
        FindingId::TlsOcspStapling => &Explanation {
            id: FindingId::TlsOcspStapling,
            meaning: "the OCSP response stapled in the handshake: status and freshness",
            why: "A stapled, current OCSP response lets a client check revocation without asking the CA; the NCSC-NL guidelines rate stapling good and its absence sufficient. Postfix and Exim neither ask for nor check a staple, so it never changes the verdict.",
            advice: Advice::Fix(
                "staple a current response from the issuing CA (Exim: tls_ocsp_file refreshed before nextUpdate); a revoked certificate must be replaced",
            ),
        },
        FindingId::CertMustStaple => &Explanation {
            id: FindingId::CertMustStaple,
            meaning: "a must-staple certificate (RFC 7633) without a good, current staple",
            why: "A sender that enforces must-staple refuses such a certificate. Postfix and Exim do not enforce it, so the verdict follows them; the warning names the senders that would defer.",
            advice: Advice::Fix(
                "staple a current OCSP response for the certificate, or issue one without the TLS feature extension",
            ),
        },
        FindingId::SubmissionSrv => &Explanation {
            id: FindingId::SubmissionSrv,
            meaning: "where a submission service's hosts came from (SRV records, RFC 6186, or the name given)",
            why: "Mail clients that configure themselves read `_submission._tcp` and `_submissions._tcp` SRV records; a target of `.` says the service is not offered. Without SRV records the name given is the host.",
            advice: Advice::None {
                because: "it describes the set-up: publishing SRV records is a choice, and clients configured by hand do not read them",
            },
        },
        FindingId::SubmissionNoTls => &Explanation {
            id: FindingId::SubmissionNoTls,
            meaning: "a submission host where a mail client gets no TLS session",
            why: "A mail client sends its password and its mail here: without TLS both cross the network in clear text, and any client that insists on TLS cannot submit at all.",
            advice: Advice::Fix(
                "offer STARTTLS on 587 (or implicit TLS on 465) with TLS 1.2 or later and a certificate for the host name clients use",
            ),
        },
        FindingId::SubmissionAuthBeforeTls => &Explanation {
            id: FindingId::SubmissionAuthBeforeTls,
            meaning: "AUTH is advertised before STARTTLS",
            why: "A client that sees AUTH may log in before TLS, and an attacker who strips STARTTLS gets the credentials. RFC 8314 §3.3 and RFC 3207 §4.2 have servers offer authentication only inside TLS.",
            advice: Advice::Fix(
                "advertise AUTH only after STARTTLS (Postfix smtpd_tls_auth_only = yes; Exim auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}; Sendmail AUTH_OPTIONS p)",
            ),
        },
        FindingId::SubmissionCleartextPassword => &Explanation {
            id: FindingId::SubmissionCleartextPassword,
            meaning: "PLAIN or LOGIN is offered before TLS",
            why: "PLAIN and LOGIN send the password itself, only base64-encoded: before TLS anyone on the path reads it.",
            advice: Advice::Fix(
                "offer authentication only inside TLS (Postfix smtpd_tls_auth_only = yes), or stop offering PLAIN and LOGIN before STARTTLS",
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_its_own_entry() {
        for &id in FindingId::ALL {
            assert_eq!(explain(id).id, id, "the entry of {id} names another id");
        }
    }

    /// The words fit where they are shown: `meaning` on one table line
    /// (no full stop, no line break), `why` as one to three sentences, and
    /// nothing empty.
    #[test]
    fn entries_are_short_and_complete() {
        for &id in FindingId::ALL {
            let e = explain(id);
            let m = e.meaning;
            assert!(
                !m.is_empty() && !m.contains('\n') && !m.ends_with('.') && m.len() <= 90,
                "{id}: meaning {m:?}"
            );
            assert!(e.why.ends_with('.'), "{id}: why {:?}", e.why);
            let sentences = e.why.matches(". ").count() + 1;
            assert!((1..=3).contains(&sentences), "{id}: {sentences} sentences");
            let text = match e.advice {
                Advice::Fix(text) => text,
                Advice::None { because } => because,
            };
            assert!(
                !text.trim().is_empty() && !text.ends_with('.'),
                "{id}: {text:?}"
            );
            // The docs table is Markdown: a pipe would split a cell.
            for part in [m, e.why, text] {
                assert!(!part.contains('|'), "{id}: {part:?}");
            }
        }
    }
}
