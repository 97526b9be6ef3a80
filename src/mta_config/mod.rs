//! Sender policies: configuration that makes *our* MTA insist on TLS to
//! partner domains, written from audit evidence.
//!
//! The rule is never to emit an enforcing level the audit shows would fail,
//! because that defers mail. [`choose`] picks, per domain, the strongest
//! level that every reachable MX address satisfied during the audit (for
//! the sending MTA, [`Sender`]: Sendmail and OpenSMTPD cannot do all
//! Postfix and Exim can); the writers turn the choices into a Postfix
//! `smtp_tls_policy_maps` table ([`postfix`]), Exim domain lists
//! ([`exim`]), Sendmail access map entries ([`sendmail`]), OpenSMTPD
//! rules ([`opensmtpd`]), a plain list per level ([`list`]), or, for a
//! domain the admin owns, an MTA-STS policy in testing mode ([`mta_sts`]).
//! With a [`FallbackRelay`] ([`write_routed`]), the domains that cannot
//! get enforced TLS are routed to it instead of being sent in clear text.
//!
//! Input is [`DomainFacts`]: the few facts a policy needs, taken from a
//! [`DomainReport`] ([`DomainFacts::from_report`]), of this run's audit or
//! read back from an earlier NDJSON report with [`crate::report::read`]
//! ([`AuditFacts`]). [`write()`] writes the chosen format ([`PolicyFormat`])
//! and returns the domains below the minimum level, for the exit code.
//!
//! Output is deterministic: the same audit gives the same text, byte for
//! byte (input order, no clock; the date in the header is the audit's).
//! Every name written into an active configuration line is checked to be a
//! plain DNS name, and every string written into a comment is made
//! printable, so a hostile MX name or banner cannot inject configuration.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use crate::report::read::ReadError;
use crate::report::{
    AddressReport, DaneResult, Dnssec, DomainReport, MxReport, RecordState, Report, TlsaStatus,
};
use crate::vocabulary::{NcscLevel, Verdict};

mod exim;
mod list;
mod mta_sts;
mod opensmtpd;
mod postfix;
mod relay;
mod sendmail;

pub use exim::{exim, exim_routed};
pub use list::list;
pub use mta_sts::{MtaSts, mta_sts};
pub use opensmtpd::opensmtpd;
pub use postfix::{postfix, postfix_routed};
pub use relay::{FallbackRelay, RelayError, RelayHost};
pub use sendmail::sendmail;

/// The facts a policy needs about one audited domain, from an in-process
/// report or from a line of an earlier NDJSON report (`--from`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainFacts {
    /// As audited (canonical A-labels for in-process reports).
    pub domain: String,
    /// The domain's verdict.
    pub verdict: Verdict,
    /// Sorted by preference, as in the report. MX hosts the audit's
    /// `--max-mx-hosts` cap left out come last, without addresses: a
    /// policy must still name them (a sender may use them), but nothing
    /// shows what they do.
    pub mx: Vec<MxFacts>,
    /// Addresses the audit's caps left out (of the hosts in `mx` and of
    /// the hosts left out whole, counted as hosts in `hosts_left_out`).
    pub addresses_left_out: usize,
    /// MX hosts beyond `--max-mx-hosts`.
    pub hosts_left_out: usize,
    /// Why the domain could not be audited at all (NXDOMAIN, DNS failure…).
    pub error: Option<String>,
    /// The MX RRset is DNSSEC-`secure` (report field `dnssec`). Required
    /// for `dane-only`: Exim uses DANE only with a signed MX RRset, and a
    /// mandatory-DANE level must not depend on resolver leniency.
    pub mx_dnssec_secure: bool,
    /// The `rua` destinations of a valid TLS-RPT record; empty when none
    /// is published (or it was not looked up).
    pub tls_rpt_rua: Vec<String>,
    /// The configuration axis (what its servers also accept), said in the
    /// policy's comments; it never changes the level.
    pub configuration: Option<NcscLevel>,
}

/// One MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxFacts {
    pub host: String,
    /// `tlsa.status == "found"`: DNSSEC-signed TLSA records exist.
    pub tlsa_found: bool,
    pub addresses: Vec<AddressFacts>,
}

/// One probed MX address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFacts {
    pub ip: String,
    /// It answered SMTP (a sender would hand it mail).
    pub reachable: bool,
    /// Mail to it is encrypted: the TLS session was established and stayed
    /// usable, or TLS works only with legacy versions or suites.
    pub tls: bool,
    /// TLS works only with versions or suites smtptls's own client does not
    /// use (`legacy_tls` in the report): `encrypt` at most, since whether a
    /// verifying sender gets a session depends on its TLS library.
    pub legacy_tls: bool,
    pub chain_valid: bool,
    pub hostname_match: bool,
    /// The address's DANE result.
    pub dane: DaneResult,
    /// The certificate's subject alternative names.
    pub cert_names: Vec<String>,
    /// The certificate's subject common name, when the subject has exactly
    /// one: Sendmail's `+CN` compares the MX name with it (never with the
    /// subject alternative names).
    pub subject_cn: Option<String>,
    /// The certificate's key is RSA or DSA below 2048 bits: OpenSSL's
    /// default security level (2) does not verify it.
    pub small_key: bool,
}

/// The one `CN=` value of a subject as the report writes it
/// (`CN=mx.example`, `C=NL, O=Example, CN=mx.example`). `None` when there
/// is none or more than one: a `CN=` inside another attribute's value
/// must not be taken for the name.
fn subject_cn(subject: &str) -> Option<String> {
    if subject.matches("CN=").count() != 1 {
        return None;
    }
    subject
        .split(", ")
        .find_map(|rdn| rdn.strip_prefix("CN="))
        .map(str::to_string)
}

impl AddressFacts {
    fn from_report(a: &AddressReport) -> Self {
        let cert = a.certificate.as_ref();
        AddressFacts {
            ip: a.ip.to_string(),
            reachable: a.reachable(),
            tls: a.encrypts(),
            legacy_tls: a.legacy_tls,
            chain_valid: cert.is_some_and(|c| c.chain_valid),
            hostname_match: cert.is_some_and(|c| c.hostname_match),
            dane: a.dane,
            cert_names: cert
                .map(|c| c.subject_alt_names.clone())
                .unwrap_or_default(),
            subject_cn: cert.and_then(|c| subject_cn(&c.subject)),
            small_key: cert
                .is_some_and(|c| matches!(c.key.kind.as_str(), "RSA" | "DSA") && c.key.bits < 2048),
        }
    }
}

impl MxFacts {
    fn from_report(m: &MxReport) -> Self {
        MxFacts {
            host: m.host.clone(),
            tlsa_found: m
                .tlsa
                .as_ref()
                .is_some_and(|t| t.status == TlsaStatus::Found),
            addresses: m.addresses.iter().map(AddressFacts::from_report).collect(),
        }
    }
}

impl DomainFacts {
    pub fn from_report(r: &DomainReport) -> Self {
        DomainFacts {
            domain: r.domain.clone(),
            verdict: r.verdict,
            mx: r
                .mx
                .iter()
                .map(MxFacts::from_report)
                .chain(r.mx_left_out.iter().map(|left| MxFacts {
                    host: left.host.clone(),
                    tlsa_found: false,
                    addresses: Vec::new(),
                }))
                .collect(),
            addresses_left_out: r.mx.iter().map(|m| m.addresses_left_out.len()).sum(),
            hosts_left_out: r.mx_left_out.len(),
            error: r.error.as_ref().map(|e| e.message.clone()),
            mx_dnssec_secure: r.dnssec == Dnssec::Secure,
            tls_rpt_rua: r
                .tls_rpt
                .as_ref()
                .filter(|t| t.record == RecordState::Valid)
                .map(|t| t.rua.clone())
                .unwrap_or_default(),
            configuration: r.configuration.as_ref().map(|c| c.level),
        }
    }
}

/// How strongly a sender can insist on TLS to a domain. Ordered by
/// strength: `May < Encrypt < Secure < DaneOnly`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum PolicyLevel {
    /// Opportunistic TLS: nothing enforced.
    May,
    /// TLS required, certificate not checked.
    Encrypt,
    /// TLS required with a certificate that validates and names the MX.
    Secure,
    /// DANE required: TLSA records must exist and match.
    DaneOnly,
}

impl PolicyLevel {
    pub const ALL: [PolicyLevel; 4] = [
        PolicyLevel::May,
        PolicyLevel::Encrypt,
        PolicyLevel::Secure,
        PolicyLevel::DaneOnly,
    ];

    /// The Postfix level name, also used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyLevel::May => "may",
            PolicyLevel::Encrypt => "encrypt",
            PolicyLevel::Secure => "secure",
            PolicyLevel::DaneOnly => "dane-only",
        }
    }
}

impl fmt::Display for PolicyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PolicyLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PolicyLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = PolicyLevel::ALL.iter().map(|l| l.as_str()).collect();
                format!("unknown level {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// The level chosen for a domain, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub level: PolicyLevel,
    /// One printable line (hostile names are escaped).
    pub reason: String,
    /// For `Secure`: the MX host names the certificate may match (sorted,
    /// deduplicated, lower case); empty otherwise.
    pub match_names: Vec<String>,
}

impl Choice {
    fn may(reason: impl Into<String>) -> Self {
        Choice {
            level: PolicyLevel::May,
            reason: reason.into(),
            match_names: Vec::new(),
        }
    }
}

/// Where a generated file came from; written as its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// smtptls's version (`CARGO_PKG_VERSION`).
    pub tool_version: String,
    /// When the audit ran: the report's `generated_at` (RFC 3339), never
    /// the clock, so the same audit gives the same file. May be empty when
    /// unknown (an NDJSON file carries no date).
    pub audit_time: String,
    /// What the facts came from, e.g. `an audit of 3 domains` or
    /// `report.ndjson`.
    pub source: String,
}

impl Provenance {
    /// With this build's version.
    pub fn new(audit_time: impl Into<String>, source: impl Into<String>) -> Self {
        Provenance {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            audit_time: audit_time.into(),
            source: source.into(),
        }
    }
}

/// What the policies of a run are written from: each domain's facts, in
/// input (or file) order, and where they came from, for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFacts {
    pub domains: Vec<DomainFacts>,
    pub provenance: Provenance,
}

/// Why `policy --from` has nothing to write from.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{0} holds no domain")]
    Empty(String),
    /// A row of `check --service submission|submissions`: a policy is
    /// for the MX hosts senders deliver to.
    #[error(
        "{0} was audited with --service {1}: policies are for MX hosts; give a report of check without --service"
    )]
    NotMx(String, crate::vocabulary::Service),
}

/// The facts of a row, or the row's service when it is not MX hosts.
fn mx_facts(row: &DomainReport) -> Result<DomainFacts, FactsError> {
    if row.service.is_submission() {
        return Err(FactsError::NotMx(row.domain.clone(), row.service));
    }
    Ok(DomainFacts::from_report(row))
}

impl AuditFacts {
    /// From this run's audit: dated by it.
    pub fn from_audit(report: &Report) -> Self {
        let domains: Vec<DomainFacts> = report
            .domains
            .iter()
            .map(DomainFacts::from_report)
            .collect();
        let source = format!("an audit of {} domain(s)", domains.len());
        AuditFacts {
            domains,
            provenance: Provenance::new(report.generated_at.clone(), source),
        }
    }

    /// `policy --from FILE…`: from earlier reports of `check` (NDJSON or
    /// JSON), merged as `smtptls report` merges them
    /// ([`crate::report::merge`]: the last row of a domain wins, an
    /// unfinished row never replaces a finished one), in the order the
    /// winning rows were read. Dated by the earliest JSON header (an
    /// NDJSON report carries no date).
    pub fn from_reports(inputs: &[crate::report::merge::Input]) -> Result<Self, FactsError> {
        use crate::report::merge;
        let merged = merge::merge(inputs, |_, row| mx_facts(&row))?;
        let source = merged
            .inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let generated_at = merged
            .inputs
            .iter()
            .filter_map(|i| i.header.generated_at.clone())
            .min()
            .unwrap_or_default();
        let mut winners: Vec<(merge::RowId, DomainFacts)> = merged
            .merger
            .into_kept()
            .map(|(_, id, facts)| facts.map(|f| (id, f)))
            .collect::<Result<_, _>>()?;
        winners.sort_by_key(|(id, _)| *id);
        let domains: Vec<DomainFacts> = winners.into_iter().map(|(_, f)| f).collect();
        if domains.is_empty() {
            return Err(FactsError::Empty(source));
        }
        Ok(AuditFacts {
            domains,
            provenance: Provenance::new(generated_at, source),
        })
    }

    /// From report rows read elsewhere; `source` names them in the header
    /// and in the error when there is none.
    pub fn from_rows(
        rows: impl IntoIterator<Item = Result<DomainReport, ReadError>>,
        source: String,
    ) -> Result<Self, FactsError> {
        let mut domains = Vec::new();
        for row in rows {
            domains.push(mx_facts(&row?)?);
        }
        if domains.is_empty() {
            return Err(FactsError::Empty(source));
        }
        Ok(AuditFacts {
            domains,
            provenance: Provenance::new("", source),
        })
    }
}

/// Sender policy formats of `smtptls policy --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyFormat {
    /// A Postfix `smtp_tls_policy_maps` table.
    Postfix,
    /// Exim domain lists and a transport snippet (Exim 4.91 or later).
    Exim,
    /// For a domain you own: MTA-STS policy (testing mode), TXT record,
    /// TLS-RPT record, and what would fail under enforce.
    MtaSts,
    /// Sendmail access map entries (TLS_Rcpt) and the .mc lines they need.
    Sendmail,
    /// OpenSMTPD smtpd.conf tables, actions and match rules (6.4 or later).
    Opensmtpd,
    /// The domains per level, one per line under `# level` headings, for
    /// MTAs configured through a UI or a script.
    List,
}

impl PolicyFormat {
    /// Whether the format configures an MTA's routing, and so takes
    /// `--fallback-relay` (`list` names the routed domains too).
    pub fn routes(self) -> bool {
        !matches!(self, PolicyFormat::MtaSts)
    }
}

/// Writes the policies of `facts` in `format` to `out`, and returns the
/// domains below `min`, in input order. `mta-sts` writes one block per
/// domain (a blank line between them) and has no minimum: it is for
/// domains the reader owns, and says itself what would fail.
pub fn write(
    format: PolicyFormat,
    facts: &AuditFacts,
    min: Option<PolicyLevel>,
    out: &mut dyn Write,
) -> io::Result<Vec<(String, Choice)>> {
    write_routed(format, facts, min, None, out)
}

/// [`write()`] with `--fallback-relay`: the domains below `min`, or with
/// a reachable MX without working STARTTLS, are routed to `fallback`
/// (by every format but `mta-sts`, which has no routing). Without it, the
/// same bytes as [`write()`].
pub fn write_routed(
    format: PolicyFormat,
    facts: &AuditFacts,
    min: Option<PolicyLevel>,
    fallback: Option<&FallbackRelay>,
    out: &mut dyn Write,
) -> io::Result<Vec<(String, Choice)>> {
    let (domains, p) = (&facts.domains, &facts.provenance);
    let generated = match format {
        PolicyFormat::Postfix => postfix_routed(domains, min, fallback, p),
        PolicyFormat::Exim => exim_routed(domains, min, fallback, p),
        PolicyFormat::Sendmail => sendmail(domains, min, fallback, p),
        PolicyFormat::Opensmtpd => opensmtpd(domains, min, fallback, p),
        PolicyFormat::List => list(domains, min, fallback, p),
        PolicyFormat::MtaSts => {
            for (i, domain) in domains.iter().enumerate() {
                if i > 0 {
                    out.write_all(b"\n")?;
                }
                out.write_all(mta_sts(domain, p).text.as_bytes())?;
            }
            return Ok(Vec::new());
        }
    };
    out.write_all(generated.text.as_bytes())?;
    Ok(generated.below_min)
}

/// A generated policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub text: String,
    /// With a minimum level: the domains below it, not enforced by the
    /// file, in input order.
    pub below_min: Vec<(String, Choice)>,
}

/// The strongest level every reachable MX address satisfied in the audit.
///
/// Conservative: unreachable addresses are not judged (a sender moves on
/// to the next), but a domain with nothing reachable, an audit error or no
/// MX gets `May`; `DaneOnly` needs a DNSSEC-signed MX RRset, TLSA records
/// on every MX host and a DANE match with TLS on every reachable address;
/// `Secure` a valid chain and name on every reachable address; `Encrypt`
/// TLS on every reachable address.
pub fn choose(d: &DomainFacts) -> Choice {
    choose_with(d, Sender::DaneCapable)
}

/// The sending MTA a file is written for, by what it can do (each
/// difference seen in the interop suite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// Postfix, Exim: `dane-only` is a level, and their TLS settings reach
    /// what the audit's legacy-TLS fallback reaches.
    DaneCapable,
    /// Sendmail as Debian builds it: no DANE (a domain where DANE works
    /// gets what its certificates show without it), OpenSSL's default
    /// security level (2): no session with a server that has only legacy
    /// TLS (TLS 1.0/1.1, or suites that level refuses), and a certificate
    /// with an RSA or DSA key below 2048 bits does not verify.
    Sendmail,
    /// OpenSMTPD: no DANE, no MTA-STS, and no session with a server that
    /// has only legacy TLS (its 1024-bit RSA certificates do verify).
    Opensmtpd,
}

impl Sender {
    fn dane(self) -> bool {
        self == Sender::DaneCapable
    }
}

/// [`choose`] for what the sending MTA can do.
pub fn choose_with(d: &DomainFacts, sender: Sender) -> Choice {
    let domain = normalize(&d.domain);
    if !safe_name(&domain) {
        return Choice::may(format!(
            "the domain name {} cannot be written into a policy file",
            printable(&d.domain)
        ));
    }
    if let Some(e) = &d.error {
        return Choice::may(format!("the audit failed: {}", printable(e)));
    }
    if d.verdict == Verdict::NoMail {
        return Choice::may("null MX: the domain accepts no mail");
    }
    if d.mx.is_empty() {
        return Choice::may("no MX host was found");
    }
    let reachable: Vec<(&MxFacts, &AddressFacts)> =
        d.mx.iter()
            .flat_map(|m| m.addresses.iter().map(move |a| (m, a)))
            .filter(|(_, a)| a.reachable)
            .collect();
    if reachable.is_empty() {
        return Choice::may(
            "no MX address answered during the audit: nothing shows what would work",
        );
    }
    let unreachable = d.mx.iter().map(|m| m.addresses.len()).sum::<usize>() - reachable.len();
    let mut unjudged = match unreachable {
        0 => String::new(),
        1 => "; 1 unreachable address not judged".to_string(),
        n => format!("; {n} unreachable addresses not judged"),
    };
    // What the audit's caps left out was not seen at all; the names of
    // left-out hosts are still in the policy (in `d.mx`), and without
    // their TLSA records `dane-only` is out of reach.
    if d.hosts_left_out + d.addresses_left_out > 0 {
        unjudged.push_str(&format!(
            "; {} MX host(s) and {} address(es) left out by the audit's caps not judged",
            d.hosts_left_out, d.addresses_left_out
        ));
    }
    let n = reachable.len();
    let at =
        |m: &MxFacts, a: &AddressFacts| format!("{} [{}]", printable(&m.host), printable(&a.ip));

    // Every enforcing level needs TLS.
    if let Some((m, a)) = reachable.iter().find(|(_, a)| !a.tls) {
        return Choice::may(format!(
            "{} has no working STARTTLS: enforcing TLS would defer mail",
            at(m, a)
        ));
    }

    if !sender.dane()
        && let Some((m, a)) = reachable.iter().find(|(_, a)| a.legacy_tls)
    {
        return Choice::may(format!(
            "{}: only with TLS versions or suites that OpenSSL refuses at its default security level; this MTA gets no TLS session there, so enforcing TLS would defer mail",
            at(m, a)
        ));
    }
    let encrypt = |why: String| Choice {
        level: PolicyLevel::Encrypt,
        reason: format!("TLS on every reachable MX address, but {why}{unjudged}"),
        match_names: Vec::new(),
    };
    if let Some((m, a)) = reachable.iter().find(|(_, a)| a.legacy_tls) {
        return encrypt(format!(
            "{}: only with TLS versions or suites that smtptls's own client does not use (legacy TLS); whether a verifying sender gets a session there depends on its TLS library",
            at(m, a)
        ));
    }

    let dane = sender.dane()
        && d.mx_dnssec_secure
        && d.mx.iter().all(|m| m.tlsa_found)
        && reachable.iter().all(|(_, a)| a.dane == DaneResult::Valid);
    if dane {
        return Choice {
            level: PolicyLevel::DaneOnly,
            reason: format!(
                "DANE: signed TLSA records on every MX host match on every reachable address ({n}){unjudged}"
            ),
            match_names: Vec::new(),
        };
    }

    if let Some((m, a)) = reachable
        .iter()
        .find(|(_, a)| !(a.chain_valid && a.hostname_match))
    {
        let why = match (a.chain_valid, a.hostname_match) {
            (false, false) => "certificate chain not valid and not naming the host",
            (false, true) => "certificate chain not valid",
            _ => "certificate does not name the host",
        };
        return encrypt(format!("{}: {why}", at(m, a)));
    }
    if sender == Sender::Sendmail
        && let Some((m, a)) = reachable.iter().find(|(_, a)| a.small_key)
    {
        return encrypt(format!(
            "{}: an RSA or DSA key below 2048 bits, which OpenSSL does not verify at its default security level",
            at(m, a)
        ));
    }
    // The names go into an active line: each must be a plain DNS name.
    if let Some((m, _)) = reachable
        .iter()
        .find(|(m, _)| !safe_name(&normalize(&m.host)))
    {
        return encrypt(format!(
            "the MX name {} cannot be written into a policy file",
            printable(&m.host)
        ));
    }
    let mut names: Vec<String> =
        d.mx.iter()
            .map(|m| normalize(&m.host))
            .filter(|h| safe_name(h))
            .collect();
    names.sort();
    names.dedup();
    Choice {
        level: PolicyLevel::Secure,
        reason: format!(
            "valid certificate chain and name on every reachable MX address ({n}){unjudged}"
        ),
        match_names: names,
    }
}

/// Lower case, without a trailing dot.
fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A plain (A-label) DNS name, safe to write into an active configuration
/// line of any of the formats: letters, digits, `-`, `_`, dots between
/// non-empty labels.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// One line of printable text: control characters, noncharacters and the
/// bidirectional controls are escaped (`\u{a}`, `\u{202e}`), so nothing
/// read from the network can end a comment line, hide text or show it to
/// the admin in another order than the MTA reads it. Idempotent.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let nonchar = matches!(c as u32, 0xfdd0..=0xfdef) || (c as u32) & 0xfffe == 0xfffe;
        if crate::reporter::text::is_unsafe(c) || nonchar {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`header`] titled `WHAT N domain(s).`, as every MTA file is.
fn titled(out: &mut String, what: &str, n: usize, p: &Provenance) {
    let s = if n == 1 { "" } else { "s" };
    header(out, &format!("{what} {n} domain{s}."), p);
}

/// How the levels of an MTA file were chosen, said under its header.
const LEVEL_RULE: &str = "# Each domain gets the strongest level that every reachable MX address\n\
     # passed in the audit; a stronger one would defer mail. Re-audit before\n\
     # raising a level, and when a partner changes its mail servers.\n";

/// The header every generated file starts with, as `#` comments.
fn header(out: &mut String, title: &str, p: &Provenance) {
    let time = if p.audit_time.trim().is_empty() {
        "unknown".to_string()
    } else {
        printable(&p.audit_time)
    };
    out.push_str(&format!("# {title}\n"));
    out.push_str(&format!(
        "# Generated by smtptls {} from {} (audit time: {time}).\n",
        printable(&p.tool_version),
        printable(&p.source),
    ));
}

/// One domain of a policy file.
struct Entry {
    domain: String,
    choice: Choice,
    /// The worst configuration level of the domain's audits.
    configuration: Option<NcscLevel>,
    /// Below the minimum level: listed at the end, not enforced.
    below_min: bool,
    /// The audit that gave `choice` reached one of the domain's MX
    /// addresses: its level says what the servers do (and `may` means one
    /// had no working STARTTLS), not that nothing was seen.
    answered: bool,
    /// Sent to `--fallback-relay` instead of its MX hosts: below the
    /// minimum level, or `may` although its servers answered.
    routed: bool,
    /// DANE works there (`dane-only` where the MTA can require it), but
    /// the file is for an MTA that cannot: said in its comment.
    dane_unused: bool,
}

/// The audit reached an MX address of the domain, whose name can be
/// written into a file: what `choose` says is about its servers.
fn answered(d: &DomainFacts) -> bool {
    d.error.is_none()
        && d.verdict != Verdict::NoMail
        && safe_name(&normalize(&d.domain))
        && d.mx.iter().flat_map(|m| &m.addresses).any(|a| a.reachable)
}

/// One entry per distinct domain, in input order. A domain given twice
/// gets the weaker of its choices (for two `Secure` ones, the union of
/// their names): the file must hold for every audit it came from.
#[cfg(test)]
fn plan(domains: &[DomainFacts], min: Option<PolicyLevel>) -> Vec<Entry> {
    plan_with(domains, min, Sender::DaneCapable, false)
}

/// [`plan`] for an MTA with or without DANE; with `fallback`, the
/// entries that go to the fallback relay are marked `routed`.
fn plan_with(
    domains: &[DomainFacts],
    min: Option<PolicyLevel>,
    sender: Sender,
    fallback: bool,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for d in domains {
        let choice = choose_with(d, sender);
        let dane_unused = !sender.dane()
            && choice.level < PolicyLevel::DaneOnly
            && choose(d).level == PolicyLevel::DaneOnly;
        let domain = normalize(&d.domain);
        if let Some(e) = entries.iter_mut().find(|e| e.domain == domain) {
            e.configuration = e.configuration.max(d.configuration);
            e.dane_unused &= dane_unused;
            if choice.level < e.choice.level {
                e.choice = choice;
                e.answered = answered(d);
            } else if choice.level == e.choice.level {
                e.choice.match_names.extend(choice.match_names);
                e.choice.match_names.sort();
                e.choice.match_names.dedup();
                e.answered &= answered(d);
            }
            continue;
        }
        entries.push(Entry {
            domain,
            choice,
            configuration: d.configuration,
            below_min: false,
            answered: answered(d),
            routed: false,
            dane_unused,
        });
    }
    for e in &mut entries {
        e.below_min = min.is_some_and(|min| e.choice.level < min);
        e.routed = fallback && e.answered && (e.below_min || e.choice.level == PolicyLevel::May);
        if !safe_name(&e.domain) {
            e.domain = printable(&e.domain);
        }
    }
    entries
}

/// Why a routed entry goes to the fallback relay, one printable line.
fn route_reason(e: &Entry, min: Option<PolicyLevel>) -> String {
    let reason = printable(&e.choice.reason);
    match min {
        Some(min) if e.below_min && e.choice.level > PolicyLevel::May => {
            format!(
                "below the minimum level {min}: {} ({reason})",
                e.choice.level
            )
        }
        _ => format!("no TLS to rely on: {reason}"),
    }
}

/// A comment line on the domain's configuration axis, when it is phase-out
/// or insufficient: what its servers also accept, which does not change
/// the level (that is what senders get).
fn configuration_note(e: &Entry) -> String {
    match e.configuration {
        Some(level) if level >= NcscLevel::PhaseOut => format!(
            "#   configuration {level}: its servers also accept weaker TLS settings (see the audit); the level is what senders get\n"
        ),
        _ => String::new(),
    }
}

/// The commented-out line of a domain left at `may` (or below the
/// minimum): `# example.com may  (reason)`.
fn commented(e: &Entry) -> String {
    format!(
        "# {} {}  ({})\n",
        e.domain,
        e.choice.level,
        printable(&e.choice.reason)
    )
}

/// The closing block listing the domains below `min`.
fn below_min_block(out: &mut String, entries: &[Entry], min: Option<PolicyLevel>, default: &str) {
    let Some(min) = min else { return };
    // Routed entries are said in the fallback relay's block instead.
    let below: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.below_min && !e.routed)
        .collect();
    if below.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n# Below the minimum level {min}: not enforced by this file ({default}).\n"
    ));
    for e in below {
        out.push_str(&commented(e));
    }
}

fn below_min_list(entries: &[Entry]) -> Vec<(String, Choice)> {
    entries
        .iter()
        .filter(|e| e.below_min)
        .map(|e| (e.domain.clone(), e.choice.clone()))
        .collect()
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Hand-built facts for the writers' tests.
    use super::*;

    pub fn addr(ip: &str) -> AddressFacts {
        AddressFacts {
            ip: ip.to_string(),
            reachable: true,
            tls: true,
            legacy_tls: false,
            chain_valid: true,
            hostname_match: true,
            dane: DaneResult::None,
            cert_names: Vec::new(),
            subject_cn: None,
            small_key: false,
        }
    }

    pub fn mx(host: &str, addresses: Vec<AddressFacts>) -> MxFacts {
        MxFacts {
            host: host.to_string(),
            tlsa_found: false,
            addresses,
        }
    }

    pub fn domain(name: &str, verdict: Verdict, mx: Vec<MxFacts>) -> DomainFacts {
        DomainFacts {
            domain: name.to_string(),
            verdict,
            mx,
            addresses_left_out: 0,
            hosts_left_out: 0,
            error: None,
            mx_dnssec_secure: false,
            tls_rpt_rua: Vec::new(),
            configuration: None,
        }
    }

    /// DANE-valid everywhere, signed MX.
    pub fn dane() -> DomainFacts {
        let mut a = addr("192.0.2.1");
        a.dane = DaneResult::Valid;
        let mut m = mx("mx.dane.example", vec![a]);
        m.tlsa_found = true;
        let mut d = domain("dane.example", Verdict::Protected, vec![m]);
        d.mx_dnssec_secure = true;
        d
    }

    /// Valid certificates on two MX hosts (given upper case, with dots).
    pub fn pkix() -> DomainFacts {
        domain(
            "pkix.example",
            Verdict::Secure,
            vec![
                mx("MX2.pkix.example.", vec![addr("192.0.2.2")]),
                mx("mx1.pkix.example", vec![addr("2001:db8::1")]),
            ],
        )
    }

    /// A self-signed certificate.
    pub fn selfsigned() -> DomainFacts {
        let mut a = addr("192.0.2.3");
        a.chain_valid = false;
        domain(
            "self.example",
            Verdict::Encrypted,
            vec![mx("mx.self.example", vec![a])],
        )
    }

    /// One MX without STARTTLS beside a good one.
    pub fn plain() -> DomainFacts {
        let mut a = addr("192.0.2.4");
        a.tls = false;
        a.chain_valid = false;
        a.hostname_match = false;
        domain(
            "plain.example",
            Verdict::Partial,
            vec![
                mx("mx1.plain.example", vec![addr("192.0.2.5")]),
                mx("mx2.plain.example", vec![a]),
            ],
        )
    }

    pub fn provenance() -> Provenance {
        Provenance {
            tool_version: "0.1.0".into(),
            audit_time: "2025-06-01T12:00:00Z".into(),
            source: "an audit of 4 domains".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn levels_parse_display_and_order() {
        for l in PolicyLevel::ALL {
            assert_eq!(l.to_string().parse::<PolicyLevel>(), Ok(l));
        }
        assert_eq!(
            "dane-only".parse::<PolicyLevel>(),
            Ok(PolicyLevel::DaneOnly)
        );
        assert!(
            "verify"
                .parse::<PolicyLevel>()
                .unwrap_err()
                .contains("dane-only")
        );
        assert!(PolicyLevel::May < PolicyLevel::Encrypt);
        assert!(PolicyLevel::Encrypt < PolicyLevel::Secure);
        assert!(PolicyLevel::Secure < PolicyLevel::DaneOnly);
    }

    #[test]
    fn dane_valid_everywhere_is_dane_only() {
        let c = choose(&dane());
        assert_eq!(c.level, PolicyLevel::DaneOnly, "{c:?}");
        assert!(c.reason.contains("TLSA"), "{}", c.reason);
    }

    #[test]
    fn dane_needs_signed_mx_tlsa_everywhere_and_matches() {
        // Unsigned MX RRset: PKIX is valid, so secure.
        let mut d = dane();
        d.mx_dnssec_secure = false;
        assert_eq!(choose(&d).level, PolicyLevel::Secure);
        // A second host without TLSA records.
        let mut d = dane();
        let mut a = addr("192.0.2.9");
        a.dane = DaneResult::Valid;
        d.mx.push(mx("mx2.dane.example", vec![a]));
        assert_eq!(choose(&d).level, PolicyLevel::Secure);
        // A mismatch on one address.
        let mut d = dane();
        d.mx[0].addresses[0].dane = DaneResult::Mismatch;
        assert_eq!(choose(&d).level, PolicyLevel::Secure);
        // DANE-EE on a self-signed certificate: DANE only.
        let mut d = dane();
        d.mx[0].addresses[0].chain_valid = false;
        assert_eq!(choose(&d).level, PolicyLevel::DaneOnly);
        // Without TLS, nothing is enforced.
        d.mx[0].addresses[0].tls = false;
        assert_eq!(choose(&d).level, PolicyLevel::May);
    }

    #[test]
    fn valid_certificates_are_secure_with_the_mx_names() {
        let c = choose(&pkix());
        assert_eq!(c.level, PolicyLevel::Secure, "{c:?}");
        assert_eq!(c.match_names, ["mx1.pkix.example", "mx2.pkix.example"]);
        assert_eq!(
            c.reason,
            "valid certificate chain and name on every reachable MX address (2)"
        );
    }

    #[test]
    fn legacy_tls_is_encrypt_even_with_a_valid_chain() {
        // TLS 1.0 only: OpenSSL senders encrypt, but whether a verifying
        // one gets a session depends on its library (Postfix at `secure`
        // does not, in the interop suite).
        let mut d = selfsigned();
        let a = &mut d.mx[0].addresses[0];
        a.chain_valid = true;
        a.hostname_match = true;
        a.legacy_tls = true;
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::Encrypt);
        assert!(c.reason.contains("legacy TLS"), "{}", c.reason);
    }

    #[test]
    fn self_signed_is_encrypt() {
        let c = choose(&selfsigned());
        assert_eq!(c.level, PolicyLevel::Encrypt);
        assert!(c.match_names.is_empty());
        assert_eq!(
            c.reason,
            "TLS on every reachable MX address, but mx.self.example [192.0.2.3]: certificate chain not valid"
        );
        let mut d = selfsigned();
        d.mx[0].addresses[0].chain_valid = true;
        d.mx[0].addresses[0].hostname_match = false;
        assert!(
            choose(&d)
                .reason
                .ends_with("certificate does not name the host")
        );
    }

    #[test]
    fn one_mx_without_starttls_is_may() {
        let c = choose(&plain());
        assert_eq!(c.level, PolicyLevel::May);
        assert_eq!(
            c.reason,
            "mx2.plain.example [192.0.2.4] has no working STARTTLS: enforcing TLS would defer mail"
        );
    }

    #[test]
    fn unreachable_addresses_are_not_judged() {
        let mut d = pkix();
        let mut dead = addr("192.0.2.99");
        dead.reachable = false;
        dead.tls = false;
        d.mx[0].addresses.push(dead);
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::Secure);
        assert!(
            c.reason.ends_with("; 1 unreachable address not judged"),
            "{}",
            c.reason
        );
    }

    /// Hosts the audit's --max-mx-hosts cap left out are still named in a
    /// `secure` policy (a sender may use them), keep `dane-only` out of
    /// reach (their TLSA records were not seen), and are said in the reason.
    #[test]
    fn hosts_left_out_by_the_caps_are_named_not_judged() {
        let mut report = crate::report::DomainReport::empty("dane.example");
        report.mx_left_out = vec![crate::report::LeftOutMx {
            host: "mx9.dane.example".into(),
            preference: 90,
        }];
        let facts = DomainFacts::from_report(&report);
        assert_eq!(facts.hosts_left_out, 1);
        assert_eq!(facts.mx.len(), 1);
        assert!(facts.mx[0].addresses.is_empty() && !facts.mx[0].tlsa_found);

        let mut d = dane();
        d.mx.push(facts.mx[0].clone());
        d.hosts_left_out = 1;
        d.addresses_left_out = 3;
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::Secure, "{}", c.reason);
        assert!(c.match_names.contains(&"mx9.dane.example".to_string()));
        assert!(
            c.reason.ends_with(
                "; 1 MX host(s) and 3 address(es) left out by the audit's caps not judged"
            ),
            "{}",
            c.reason
        );
    }

    #[test]
    fn nothing_reachable_error_or_no_mx_is_may() {
        let mut d = pkix();
        for m in &mut d.mx {
            for a in &mut m.addresses {
                a.reachable = false;
            }
        }
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::May);
        assert!(c.reason.contains("no MX address answered"));

        let mut nx = domain("nx.example", Verdict::Error, Vec::new());
        nx.error = Some("nx.example does not exist (NXDOMAIN)".into());
        let c = choose(&nx);
        assert_eq!(c.level, PolicyLevel::May);
        assert_eq!(
            c.reason,
            "the audit failed: nx.example does not exist (NXDOMAIN)"
        );

        let null = domain("null.example", Verdict::NoMail, Vec::new());
        assert_eq!(choose(&null).level, PolicyLevel::May);
        assert!(choose(&null).reason.contains("null MX"));

        let none = domain(
            "none.example",
            Verdict::Error,
            vec![mx("mx.none.example", vec![])],
        );
        assert_eq!(choose(&none).level, PolicyLevel::May);
    }

    #[test]
    fn hostile_names_never_reach_an_active_line() {
        let hostile = "mx\n/etc/passwd\r\u{1b}.evil.example";
        let mut d = pkix();
        d.mx[0].host = hostile.into();
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::Encrypt, "{c:?}");
        assert!(!c.reason.contains('\n') && !c.reason.contains('\u{1b}'));

        let mut d = pkix();
        d.domain = "evil.example\nexample.com may".into();
        let c = choose(&d);
        assert_eq!(c.level, PolicyLevel::May);
        assert!(!c.reason.contains('\n'));
        assert_eq!(printable(&c.reason), c.reason, "idempotent");
    }

    #[test]
    fn printable_escapes_bidi_controls_too() {
        assert_eq!(
            printable("mx\u{202e}gpj.exe\u{2066}\u{200f}\u{85}ok"),
            "mx\\u{202e}gpj.exe\\u{2066}\\u{200f}\\u{85}ok"
        );
        assert_eq!(printable("ünïcødé"), "ünïcødé");
    }

    #[test]
    fn safe_names() {
        assert!(safe_name("mx1.example.com"));
        assert!(safe_name("xn--bcher-kva.example"));
        assert!(!safe_name(""));
        assert!(!safe_name("a..b"));
        assert!(!safe_name("-a.b"));
        assert!(!safe_name("a b"));
        assert!(!safe_name("a:b"));
        assert!(!safe_name("*.example"));
    }

    #[test]
    fn a_repeated_domain_gets_its_weakest_choice() {
        let mut again = selfsigned();
        again.domain = "PKIX.example.".into();
        let entries = plan(&[pkix(), again], None);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].domain, "pkix.example");
        assert_eq!(entries[0].choice.level, PolicyLevel::Encrypt);
    }

    /// Rows as NDJSON (with a blank line), read back into facts.
    fn read_back(rows: &[serde_json::Value]) -> Result<AuditFacts, FactsError> {
        let mut text = Vec::new();
        for r in rows {
            serde_json::to_writer(&mut text, r).expect("serialize");
            text.extend_from_slice(b"\n\n");
        }
        let rows = crate::report::read::rows(std::io::Cursor::new(text), "r.ndjson");
        AuditFacts::from_rows(rows, "r.ndjson".into())
    }

    fn json(r: &DomainReport) -> serde_json::Value {
        serde_json::to_value(r).expect("serialize")
    }

    #[test]
    fn from_report_and_read_back_agree() {
        use crate::report::read::fixture::report;
        let r = report();
        let facts = DomainFacts::from_report(&r);
        assert_eq!(facts.domain, "r.example");
        assert_eq!(facts.verdict, Verdict::Protected);
        assert!(facts.mx_dnssec_secure);
        assert_eq!(facts.tls_rpt_rua, ["mailto:tls@r.example"]);
        assert!(facts.mx.iter().all(|m| m.tlsa_found));
        let a = &facts.mx[0].addresses;
        assert!(a[0].reachable && a[0].tls && a[0].chain_valid && a[0].hostname_match);
        assert_eq!(a[0].dane, DaneResult::Valid);
        assert_eq!(a[0].cert_names, ["mx1.r.example"]);
        assert!(!a[1].reachable && !a[1].tls);
        assert_eq!(a[1].dane, DaneResult::Mismatch);
        assert_eq!(facts.mx[1].addresses[0].ip, "2001:db8::2");
        assert_eq!(choose(&facts).level, PolicyLevel::DaneOnly);

        let back = read_back(&[json(&r)]).expect("read back");
        assert_eq!(back.domains, [facts]);
        assert_eq!(back.provenance, Provenance::new("", "r.ndjson"));
    }

    #[test]
    fn a_failed_handshake_is_reachable_without_tls() {
        use crate::report::read::fixture::report;
        use crate::report::{ErrorPhase, Failure};
        let mut r = report();
        r.mx[1].addresses[0].error = Some(Failure {
            phase: ErrorPhase::TlsHandshake,
            kind: crate::vocabulary::ErrorKind::Tls,
            message: "handshake failure".into(),
        });
        let facts = DomainFacts::from_report(&r);
        let a = &facts.mx[1].addresses[0];
        assert!(a.reachable && !a.tls);
        assert_eq!(choose(&facts).level, PolicyLevel::May);
        assert_eq!(read_back(&[json(&r)]).expect("read back").domains, [facts]);
    }

    #[test]
    fn failed_and_null_mx_domains() {
        use crate::report::{ErrorKind, ErrorPhase, Failure, MxSource};
        let nx = DomainReport::failed(
            "nx.example",
            Failure {
                phase: ErrorPhase::Dns,
                kind: ErrorKind::Nxdomain,
                message: "nx.example does not exist (NXDOMAIN)".into(),
            },
        );
        let facts = DomainFacts::from_report(&nx);
        assert_eq!(
            facts.error.as_deref(),
            Some("nx.example does not exist (NXDOMAIN)")
        );
        assert!(facts.tls_rpt_rua.is_empty());
        assert_eq!(choose(&facts).level, PolicyLevel::May);
        let null = DomainReport {
            verdict: crate::vocabulary::Verdict::NoMail,
            mx_source: MxSource::Null,
            ..DomainReport::empty("null.example")
        };
        assert_eq!(
            choose(&DomainFacts::from_report(&null)).level,
            PolicyLevel::May
        );
        let back = read_back(&[json(&nx), json(&null)]).expect("read back");
        assert_eq!(
            back.domains,
            [facts, DomainFacts::from_report(&null)],
            "in file order"
        );
    }

    #[test]
    fn malformed_rows_are_named_with_line_and_field() {
        use crate::report::read::fixture::report;
        let good = json(&report());
        let message = |rows: &[serde_json::Value]| match read_back(rows) {
            Err(e) => e.to_string(),
            Ok(f) => panic!("read {f:?}"),
        };
        // Each row is followed by a blank line: the second row is line 3.
        let bad = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            edit(&mut v);
            let text = message(&[good.clone(), v]);
            // Without the position: " at column N".
            match text.rsplit_once(" at column ") {
                Some((head, n)) if n.parse::<usize>().is_ok() => head.to_string(),
                _ => text,
            }
        };
        assert_eq!(
            bad(&|v| {
                v["mx"][0]["addresses"][1]
                    .as_object_mut()
                    .expect("object")
                    .remove("dane");
            }),
            "r.ndjson:3: not a line of an NDJSON report: not a report row: \
             mx[0].addresses[1]: missing field `dane`"
        );
        assert_eq!(
            bad(&|v| {
                v.as_object_mut().expect("object").remove("mx");
            }),
            "r.ndjson:3: not a line of an NDJSON report: not a report row: missing field `mx`"
        );
        assert_eq!(
            bad(&|v| {
                v.as_object_mut().expect("object").remove("domain");
            }),
            "r.ndjson:3: not a line of an NDJSON report: not a report row: missing field `domain`"
        );
        let text = bad(&|v| {
            v["mx"][1]["addresses"][0]["certificate"]["chain_valid"] = "yes".into();
        });
        assert!(
            text.starts_with(
                "r.ndjson:3: not a line of an NDJSON report: not a report row: \
                 mx[1].addresses[0].certificate.chain_valid: invalid type: string \"yes\", expected a boolean"
            ),
            "{text}"
        );
        let text = message(&[serde_json::json!([1])]);
        assert!(
            text.starts_with("r.ndjson:1: not a line of an NDJSON report: not a report row: "),
            "{text}"
        );
        assert_eq!(message(&[]), "r.ndjson holds no domain");
    }

    /// A row of a report written before these fields existed, read back:
    /// `policy --from` read such rows when it parsed JSON by hand.
    fn earlier_row(remove: &[&str]) -> Result<AuditFacts, FactsError> {
        use crate::report::read::fixture::report;
        let mut v = json(&report());
        for mx in v["mx"].as_array_mut().into_iter().flatten() {
            for a in mx["addresses"].as_array_mut().into_iter().flatten() {
                for path in remove {
                    let (object, field) = match path.split_once('.') {
                        Some((o, f)) => (&mut a[o], f),
                        None => (&mut *a, *path),
                    };
                    if let Some(o) = object.as_object_mut() {
                        o.remove(field);
                    }
                }
            }
        }
        read_back(&[v])
    }

    /// Reports written before the protocol scan (5b5853d) have no
    /// `legacy_tls`: it meant false.
    #[test]
    fn rows_from_before_legacy_tls_read_back() {
        use crate::report::read::fixture::report;
        let facts = earlier_row(&["legacy_tls"]).expect("read back");
        assert_eq!(facts.domains, [DomainFacts::from_report(&report())]);
    }

    /// Reports written before RSA keys below 2048 bits got a session
    /// (12638ec) have no `tls.signature_verified`: every session then had
    /// a verified signature (the handshake failed otherwise).
    #[test]
    fn rows_from_before_signature_verified_read_back() {
        use crate::report::read::fixture::report;
        let facts = earlier_row(&["tls.signature_verified"]).expect("read back");
        assert_eq!(facts.domains, [DomainFacts::from_report(&report())]);
    }

    #[test]
    fn the_configuration_axis_is_said_but_never_changes_the_level() {
        let mut weak = pkix();
        weak.configuration = Some(NcscLevel::Insufficient);
        let plain_text = postfix(&[pkix()], None, &provenance()).text;
        let weak_text = postfix(&[weak.clone()], None, &provenance()).text;
        assert!(weak_text.contains("#   configuration insufficient: its servers also accept"));
        assert!(!plain_text.contains("configuration insufficient"));
        let active = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .map(String::from)
                .collect()
        };
        assert_eq!(active(&weak_text), active(&plain_text));
        assert!(
            exim(&[weak], None, &provenance())
                .text
                .contains("#   configuration insufficient")
        );
    }

    #[test]
    fn write_renders_each_format() {
        let facts = AuditFacts {
            domains: vec![pkix(), selfsigned(), plain()],
            provenance: provenance(),
        };
        let render = |format, min| {
            let mut out = Vec::new();
            let below = write(format, &facts, min, &mut out).expect("write");
            (String::from_utf8(out).expect("UTF-8"), below)
        };
        let (text, below) = render(PolicyFormat::Postfix, Some(PolicyLevel::Secure));
        let want = postfix(&facts.domains, Some(PolicyLevel::Secure), &facts.provenance);
        assert_eq!(text, want.text);
        assert_eq!(below, want.below_min);
        let names: Vec<&str> = below.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(names, ["self.example", "plain.example"]);

        let (text, below) = render(PolicyFormat::Exim, None);
        assert_eq!(text, exim(&facts.domains, None, &facts.provenance).text);
        assert!(below.is_empty());

        let (text, below) = render(PolicyFormat::MtaSts, Some(PolicyLevel::DaneOnly));
        let blocks: Vec<String> = facts
            .domains
            .iter()
            .map(|d| mta_sts(d, &facts.provenance).text)
            .collect();
        assert_eq!(text, blocks.join("\n"));
        assert!(below.is_empty(), "mta-sts has no minimum");
    }

    #[test]
    fn audit_facts_of_an_audit_are_dated_by_it() {
        let report: Report = serde_json::from_value(serde_json::json!({
            "schema_version": 1,
            "tool": {"name": "smtptls", "version": "0.1.0"},
            "generated_at": "2025-06-01T12:00:00Z",
            "settings": {"port": 25, "fail_below": "encrypted", "expiry_warn_days": 30,
                "extra_trust_anchors": 0, "resolvers": ["system"], "dnssec": "validate",
                "scan": "light"},
            "domains": [json(&DomainReport::empty("a.example")), json(&DomainReport::empty("b.example"))],
            "summary": {"domains": 2, "verdicts": {}, "below_threshold": 0, "stopped": null,
                "probes": 0, "mx_reused": 0}
        }))
        .expect("report");
        let facts = AuditFacts::from_audit(&report);
        assert_eq!(facts.domains.len(), 2);
        assert_eq!(
            facts.provenance,
            Provenance::new("2025-06-01T12:00:00Z", "an audit of 2 domain(s)")
        );
    }
}
