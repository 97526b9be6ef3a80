//! Stage 4: output. Each format is one file implementing [`Reporter`]; a
//! new format is a new file plus a [`Format`] variant, nothing else.
//!
//! Reporters write only the report to the writer they are given (stdout in
//! the CLI); progress and diagnostics go to stderr elsewhere, so piped
//! output stays machine-clean.
//!
//! Text from the network is made inert for each format by the neutralisers
//! of [`text`], shared by every reporter.

mod csv;
pub mod diff;
pub mod explain;
pub(crate) mod html;
mod json;
mod junit;
mod ndjson;
pub mod prometheus;
pub mod style;
mod table;
pub mod text;
pub mod tlsrpt;

use std::io::{self, Write};

pub use csv::CsvReporter;
pub use html::HtmlReporter;
pub use json::JsonReporter;
pub use junit::JunitReporter;
pub use ndjson::NdjsonReporter;
pub use prometheus::PrometheusReporter;
pub use table::{TableReporter, table_width};

use crate::report::{DomainReport, Report};
use crate::vocabulary::wire_name;

/// Writes a report in one format.
pub trait Reporter {
    /// Called as each domain finishes, in completion order. Streaming
    /// formats write here; the others wait for [`Reporter::finish`].
    fn domain_done(&mut self, _domain: &DomainReport, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    /// Called once at the end with the whole report, domains in input
    /// order, or with no domains at all when [`Reporter::streams`]: then
    /// every domain came through [`Reporter::domain_done`] and the report
    /// brings the run's settings and summary only.
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()>;

    /// True for a format that takes what it needs from each domain as it
    /// finishes, so the run need not keep the rows (`--format ndjson`,
    /// `prometheus`): memory bounded by `--concurrency`, not by the list.
    fn streams(&self) -> bool {
        false
    }
}

/// What every subcommand's document (`check`'s [`Report`], `diff`'s run,
/// `tlsrpt`'s run) renders as: one interface, so that the table, JSON and
/// NDJSON of each are chosen and written the same way ([`render`]).
pub trait Document: serde::Serialize {
    /// The table for people, laid out to `layout`.
    fn table(&self, layout: TableLayout, out: &mut dyn Write) -> io::Result<()>;
    /// The NDJSON lines, each through [`json::line`].
    fn ndjson(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// The formats every [`Document`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    Table,
    Json,
    Ndjson,
}

/// Writes `doc` in `format`: the table, or JSON through the one writer.
pub fn render<D: Document + ?Sized>(
    doc: &D,
    format: TextFormat,
    layout: TableLayout,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        TextFormat::Table => doc.table(layout, out),
        TextFormat::Json => json::document(doc, out),
        TextFormat::Ndjson => doc.ndjson(out),
    }
}

/// `check`'s report: its rows are the NDJSON lines (the streaming
/// reporters write the same lines as each domain finishes).
impl Document for Report {
    fn table(&self, layout: TableLayout, out: &mut dyn Write) -> io::Result<()> {
        TableReporter {
            color: layout.color,
            width: layout.width,
            verbose: layout.verbose,
        }
        .finish(self, out)
    }

    fn ndjson(&self, out: &mut dyn Write) -> io::Result<()> {
        self.domains.iter().try_for_each(|d| json::line(d, out))
    }
}

/// Output formats of `smtptls check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables (the default).
    Table,
    /// One JSON document (schema/report.schema.json).
    Json,
    /// One JSON object per line, per domain, as each domain finishes
    /// (the `domain` objects of the json format).
    Ndjson,
    /// JUnit XML: a test case per domain, failing below --fail-below.
    Junit,
    /// Prometheus text exposition format (node_exporter textfile collector).
    Prometheus,
    /// CSV (RFC 4180): a row per MX address, with a header row.
    Csv,
    /// One self-contained HTML page for a fleet: verdict chart, expiry
    /// timeline, protection adoption, common problems, every domain.
    Html,
}

/// Whether to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// How the table is laid out; the other formats ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLayout {
    pub color: bool,
    /// Columns per line ([`table_width`]).
    pub width: usize,
    /// `-v`: every finding, not only the problems.
    pub verbose: bool,
}

impl Default for TableLayout {
    fn default() -> Self {
        TableLayout {
            color: false,
            width: table::DEFAULT_WIDTH,
            verbose: false,
        }
    }
}

/// The reporter for a format.
pub fn reporter(format: Format, table: TableLayout) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(TableReporter {
            color: table.color,
            width: table.width,
            verbose: table.verbose,
        }),
        Format::Json => Box::new(JsonReporter),
        Format::Ndjson => Box::new(NdjsonReporter),
        Format::Junit => Box::new(JunitReporter),
        Format::Prometheus => Box::new(PrometheusReporter::default()),
        Format::Csv => Box::new(CsvReporter),
        Format::Html => Box::new(HtmlReporter),
    }
}

/// A hand-built report for the reporters' unit tests: a secure domain, a
/// plaintext one whose MX name, banner and messages are hostile, an
/// NXDOMAIN one and a null-MX one; `--fail-below encrypted`.
#[cfg(test)]
mod fixture {
    use std::collections::BTreeMap;

    use crate::report::*;
    use crate::vocabulary::{Finding, FindingId, Threshold, Verdict};

    /// Quote, markup, backslash, line ends, NUL, ESC and a noncharacter.
    pub const HOSTILE: &str = "mx\"<&>'\\\n\r\t\u{0}\u{1b}\u{fffe}.evil.example";

    fn address(ip: &str) -> AddressReport {
        AddressReport::unprobed(ip.parse().expect("IP"), 25)
    }

    fn mx(host: &str, preference: u16, addresses: Vec<AddressReport>) -> MxReport {
        MxReport {
            host: host.to_string(),
            preference,
            cname: None,
            dnssec: Dnssec::Insecure,
            tlsa: None,
            mta_sts_match: None,
            post_quantum: None,
            addresses,
            addresses_left_out: Vec::new(),
            findings: Vec::new(),
            error: None,
        }
    }

    fn outcome(result: DeliveryResult, reason: &str) -> Outcome {
        Outcome {
            result,
            reason: reason.to_string(),
        }
    }

    fn good() -> DomainReport {
        let mut a = address("192.0.2.1");
        a.starttls = true;
        a.banner = Some("220 mx1.good.example ESMTP".into());
        a.extensions = vec!["PIPELINING".into(), "STARTTLS".into()];
        a.extensions_after_tls = Some(vec!["PIPELINING".into()]);
        a.tls = Some(TlsReport {
            version: TlsVersion::Tls13,
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            key_exchange_group: Some("X25519".into()),
            ocsp_stapled: false,
            requiretls: false,
            ocsp: None,
            signature_verified: true,
        });
        a.certificate = Some(crate::report::read::fixture::certificate(
            "mx1.good.example",
            1675,
        ));
        a.findings = vec![Finding::ok(FindingId::StarttlsOffered, "STARTTLS offered")];
        let mut host = mx("mx1.good.example", 10, vec![a]);
        host.mta_sts_match = Some(true);
        DomainReport {
            verdict: Verdict::Secure,
            verdict_reason:
                "STARTTLS with a valid, matching certificate on every reachable MX address".into(),
            mx_source: MxSource::Mx,
            mx: vec![host],
            dnssec: Dnssec::Insecure,
            mta_sts: Some(MtaStsReport {
                record: RecordState::Valid,
                id: Some("20250101".into()),
                policy: Some(StsPolicyReport {
                    url: "https://mta-sts.good.example/.well-known/mta-sts.txt".into(),
                    mode: Mode::Testing,
                    mx: vec!["mx1.good.example".into()],
                    max_age: 86400,
                    text_sha256: None,
                }),
                fetch_error: None,
            }),
            tls_rpt: Some(TlsRptReport {
                record: RecordState::Valid,
                rua: vec!["mailto:tls@good.example".into()],
            }),
            delivery: Some(Delivery {
                opportunistic: outcome(DeliveryResult::Secure, "TLS to mx1.good.example"),
                mta_sts: outcome(DeliveryResult::NotApplicable, "policy in testing mode"),
                dane: outcome(DeliveryResult::NotApplicable, "MX hosts not DNSSEC-signed"),
            }),
            findings: vec![Finding::warn(
                FindingId::MtaStsMode,
                "MTA-STS policy in testing mode: failures are reported, mail is still delivered",
            )],
            configuration: Some(crate::report::Configuration {
                level: crate::vocabulary::NcscLevel::Sufficient,
                items: Vec::new(),
                lower_bound: true,
            }),
            ..DomainReport::empty("good.example")
        }
    }

    fn plain() -> DomainReport {
        let mut open = address("2001:db8::25");
        open.banner = Some(format!("220 {HOSTILE}"));
        open.extensions = vec!["PIPELINING".into()];
        open.findings = vec![Finding::fail(
            FindingId::StarttlsOffered,
            format!("STARTTLS not offered: 220 {HOSTILE}"),
        )];
        let mut refused = address("192.0.2.2");
        refused.error = Some(Failure {
            phase: ErrorPhase::Connect,
            kind: ErrorKind::ConnectionRefused,
            message: "connection refused".into(),
        });
        refused.findings = vec![Finding::fail(FindingId::SmtpConnect, "connection refused")];
        let mut host = mx(HOSTILE, 5, vec![open, refused]);
        host.findings = vec![Finding::warn(
            FindingId::MxInvalidName,
            "the MX target is not a valid host name",
        )];
        DomainReport {
            verdict: Verdict::Plaintext,
            verdict_reason: "no reachable MX address has working STARTTLS".into(),
            mx_source: MxSource::Mx,
            mx: vec![host],
            dnssec: Dnssec::Insecure,
            mta_sts: Some(MtaStsReport {
                record: RecordState::Absent,
                id: None,
                policy: None,
                fetch_error: None,
            }),
            tls_rpt: Some(TlsRptReport {
                record: RecordState::Absent,
                rua: Vec::new(),
            }),
            delivery: Some(Delivery {
                opportunistic: outcome(DeliveryResult::Cleartext, "STARTTLS not offered"),
                mta_sts: outcome(DeliveryResult::NotApplicable, "no MTA-STS record"),
                dane: outcome(DeliveryResult::NotApplicable, "MX hosts not DNSSEC-signed"),
            }),
            findings: vec![Finding::info(FindingId::MtaStsRecord, "no MTA-STS record")],
            ..DomainReport::empty("plain.example")
        }
    }

    fn nxdomain() -> DomainReport {
        let mut d = DomainReport::failed(
            "nx.example",
            Failure {
                phase: ErrorPhase::Dns,
                kind: ErrorKind::Nxdomain,
                message: "nx.example does not exist (NXDOMAIN)".into(),
            },
        );
        d.findings = vec![Finding::fail(
            FindingId::DnsNxdomain,
            "the domain does not exist",
        )];
        d
    }

    fn null_mx() -> DomainReport {
        DomainReport {
            verdict: Verdict::NoMail,
            verdict_reason: "null MX: the domain accepts no mail".into(),
            mx_source: MxSource::Null,
            findings: vec![Finding::info(
                FindingId::MxNull,
                "null MX (RFC 7505): the domain accepts no mail",
            )],
            ..DomainReport::empty("null.example")
        }
    }

    /// Peer text as hostile as a server can make it: terminal escapes
    /// (clear screen, OSC title, a C1 CSI, NEL), NUL, DEL, bidi override
    /// and isolate, a line separator, a spreadsheet formula, quotes,
    /// markup and a line end.
    pub const PEER: &str = "=cmd|' /C calc'!A0\u{1b}[2J\u{1b}]0;T\u{7}\u{0}\u{7f}\u{9b}31m\u{85}\u{202e}\u{2066}\u{2028}\"q\"</script>\r\nX";

    /// One domain whose every peer-text field carries [`PEER`]: the
    /// banner, the EHLO keywords, the certificate's subject, issuer and
    /// names, the MX name, the MTA-STS policy and fetch error, the
    /// TLS-RPT destinations, the injection reply, the error and the
    /// findings quoting them at every level.
    pub fn peer_report() -> Report {
        let mut a = address("192.0.2.7");
        a.starttls = true;
        a.banner = Some(format!("220 {PEER}"));
        a.extensions = vec![PEER.into(), "STARTTLS".into()];
        a.extensions_after_tls = Some(vec![PEER.into()]);
        a.tls = Some(TlsReport {
            version: TlsVersion::Tls13,
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
            key_exchange_group: Some("X25519".into()),
            ocsp_stapled: false,
            requiretls: false,
            ocsp: None,
            signature_verified: true,
        });
        let mut cert = crate::report::read::fixture::certificate(PEER, 30);
        cert.subject = format!("CN={PEER}, O={PEER}");
        cert.issuer = cert.subject.clone();
        cert.chain_valid = false;
        cert.chain_error = Some(ChainError::SelfSigned);
        cert.hostname_match = false;
        a.certificate = Some(cert);
        a.starttls_injection = Some(InjectionReport {
            result: InjectionResult::Vulnerable,
            reply: Some(format!("250 {PEER}")),
            error: None,
        });
        a.error = Some(Failure {
            phase: ErrorPhase::Starttls,
            kind: ErrorKind::Rejected,
            message: format!("454 {PEER}"),
        });
        a.findings = vec![Finding::fail(
            FindingId::CertChainValid,
            format!("self-signed certificate (CN={PEER})"),
        )];
        let mut host = mx(PEER, 10, vec![a]);
        host.findings = vec![Finding::warn(
            FindingId::MxInvalidName,
            format!("MX {PEER}"),
        )];
        let domain = DomainReport {
            verdict: Verdict::Broken,
            verdict_reason: format!("because {PEER}"),
            mx_source: MxSource::Mx,
            mx: vec![host],
            dnssec: Dnssec::Insecure,
            mta_sts: Some(MtaStsReport {
                record: RecordState::Valid,
                id: Some(PEER.into()),
                policy: Some(StsPolicyReport {
                    url: "https://mta-sts.peer.example/.well-known/mta-sts.txt".into(),
                    mode: Mode::Enforce,
                    mx: vec![PEER.into()],
                    max_age: 86400,
                    text_sha256: None,
                }),
                fetch_error: Some(PEER.into()),
            }),
            tls_rpt: Some(TlsRptReport {
                record: RecordState::Valid,
                rua: vec![format!("mailto:{PEER}")],
            }),
            delivery: Some(Delivery {
                opportunistic: outcome(DeliveryResult::Secure, PEER),
                mta_sts: outcome(DeliveryResult::Deferred, PEER),
                dane: outcome(DeliveryResult::NotApplicable, PEER),
            }),
            findings: vec![Finding::fail(
                FindingId::MtaStsPolicy,
                format!("policy: {PEER}"),
            )],
            ..DomainReport::empty("peer.example")
        };
        let mut report = report();
        report.domains = vec![domain];
        report.summary.domains = 1;
        report.summary.verdicts = Verdict::ALL
            .into_iter()
            .map(|v| (v, usize::from(v == Verdict::Broken)))
            .collect();
        report.summary.below_threshold = 1;
        report
    }

    pub fn report() -> Report {
        let domains = vec![good(), plain(), nxdomain(), null_mx()];
        let threshold = Threshold(Verdict::Encrypted);
        let mut verdicts: BTreeMap<Verdict, usize> =
            Verdict::ALL.into_iter().map(|v| (v, 0)).collect();
        for d in &domains {
            *verdicts.entry(d.verdict).or_default() += 1;
        }
        Report {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo::default(),
            generated_at: "2025-06-01T12:00:00Z".into(),
            settings: RunSettings {
                service: crate::vocabulary::Service::Smtp,
                port: 25,
                fail_below: threshold.0,
                fail_level: None,
                expiry_warn_days: 14,
                extra_trust_anchors: 0,
                resolvers: vec!["system".into()],
                dnssec: crate::options::DnssecMode::Validate,
                scan: crate::vocabulary::ScanMode::Light,
                allow_local_addresses: false,
                max_mx_hosts: 10,
                max_addresses_per_host: 5,
                address_budget_secs: 90.0,
                merged_from: Vec::new(),
                input_differences: Vec::new(),
            },
            summary: Summary {
                domains: domains.len(),
                verdicts,
                below_threshold: domains
                    .iter()
                    .filter(|d| threshold.fails(d.verdict))
                    .count(),
                ..Summary::default()
            },
            domains,
        }
    }
}
