//! `--format prometheus`: the text exposition format, for node_exporter's
//! textfile collector (write to a temporary file, then rename it into the
//! collector's directory). Every metric is a gauge; all samples of a family
//! follow its `# HELP` and `# TYPE` lines; no sample carries a timestamp.
//! Families without samples are left out.
//!
//! Run: `smtptls_run_domains`, `smtptls_run_below_threshold`,
//! `smtptls_run_timestamp_seconds`, `smtptls_run_setup_errors` (domains
//! not audited because of the local set-up, `resolver-unusable`) and
//! `smtptls_run_setup_error` (1 when that was every domain: the run, not
//! the partners, failed; exit 2). An alert on partners should require
//! `smtptls_run_setup_error == 0`.
//!
//! Per domain (label `domain`): `smtptls_domain_verdict{verdict}` (one-hot:
//! 1 for the verdict, 0 for every other), `smtptls_domain_verdict_rank`
//! (6 protected … 0 error, none for no-mail, which is outside the order),
//! `smtptls_domain_below_threshold`, `smtptls_domain_mta_sts_mode{mode}`,
//! `smtptls_domain_tls_rpt`, `smtptls_domain_delivery{sender,result}`,
//! `smtptls_domain_configuration_level{level}` (one-hot, the configuration
//! axis).
//!
//! Per MX address (labels `domain`, `mx`, `address`): `smtptls_mx_starttls`,
//! `smtptls_mx_tls_version_info{version}`,
//! `smtptls_mx_certificate_expiry_timestamp_seconds`,
//! `smtptls_mx_certificate_valid`, `smtptls_mx_dane_valid`,
//! `smtptls_mx_dane_result{result}`, `smtptls_mx_error{phase,kind}`,
//! `smtptls_mx_post_quantum`, `smtptls_mx_legacy_protocol`,
//! `smtptls_mx_starttls_injectable`.

use std::collections::HashSet;
use std::fmt::{Display, Write as _};
use std::io::{self, Write};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Reporter, wire_name};
use crate::report::view::{Gate, MtaStsState, TlsRptState};
use crate::report::{AddressReport, DaneResult, DomainReport, MxReport, Report};
use crate::vocabulary::{NcscLevel, Service, Verdict};

/// Takes its samples from each domain as it finishes (the run keeps no
/// rows for it), but the exposition format groups every sample of a family
/// together, so the samples themselves are held until the end: a few
/// hundred bytes per domain instead of the whole row.
#[derive(Default)]
pub struct PrometheusReporter {
    metrics: Metrics,
    /// Each domain's name, service and verdict: `below_threshold` needs
    /// the run's threshold, which comes with the report at the end.
    verdicts: Vec<(String, Service, Verdict)>,
}

impl PrometheusReporter {
    fn add(&mut self, d: &DomainReport) {
        self.metrics.domain(d);
        self.verdicts.push((d.domain.clone(), d.service, d.verdict));
    }
}

/// The labels that name a row: `domain`, and `service` for a submission
/// row, so that the series of a submission run and of an MX run of the
/// same domain never collide (in one textfile directory, or in one
/// Prometheus). MX rows carry no `service` label, as before it existed.
fn service_label(service: Service) -> Option<(&'static str, &'static str)> {
    service
        .is_submission()
        .then(|| ("service", service.as_str()))
}

/// `base` followed by `more`.
fn with<'a>(base: &[(&'a str, &'a str)], more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    [base, more].concat()
}

impl Reporter for PrometheusReporter {
    fn domain_done(&mut self, domain: &DomainReport, _out: &mut dyn Write) -> io::Result<()> {
        self.add(domain);
        Ok(())
    }

    fn streams(&self) -> bool {
        true
    }

    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        for d in &report.domains {
            self.add(d);
        }
        // The gate's verdict rule: only the verdict is kept per domain.
        let threshold = Gate::of(&report.settings).verdict;
        let verdicts = std::mem::take(&mut self.verdicts);
        let m = &mut self.metrics;
        m.run_domains.add(&[], verdicts.len());
        m.run_below_threshold
            .add(&[], report.summary.below_threshold);
        if let Some(t) = unix_seconds(&report.generated_at) {
            m.run_timestamp.add(&[], t);
        }
        m.run_setup_errors.add(&[], report.summary.setup_errors);
        m.run_setup_error
            .add(&[], flag(report.summary.setup_failed()));
        for (domain, service, verdict) in &verdicts {
            let mut labels = vec![("domain", domain.as_str())];
            labels.extend(service_label(*service));
            m.below_threshold
                .add(&labels, flag(threshold.fails(*verdict)));
        }
        let mut text = String::new();
        for family in m.families() {
            family.render(&mut text);
        }
        out.write_all(text.as_bytes())
    }
}

/// The exposition of a whole report, as `--format prometheus` writes it:
/// `smtptls serve` renders each probe's one-domain report with it, so a
/// scrape and a textfile cannot disagree.
pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = PrometheusReporter::default().finish(report, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// One metric family: its samples in the order added, each series once.
/// Public for `smtptls serve`, whose own families (`probe_success`, the
/// exporter's counters) are written by the same code, escapes included.
pub struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<String>,
    series: HashSet<String>,
}

/// The `# TYPE` of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        }
    }
}

impl Family {
    /// A gauge family (every family of `--format prometheus`).
    pub fn new(name: &'static str, help: &'static str) -> Self {
        Self::of(MetricType::Gauge, name, help)
    }

    /// A family of `kind`.
    pub fn of(kind: MetricType, name: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
            series: HashSet::new(),
        }
    }

    /// Adds `name{labels} value`; a series already present keeps its first
    /// value (a textfile with a duplicate series is rejected whole).
    pub fn add(&mut self, labels: &[(&str, &str)], value: impl Display) {
        let mut series = String::from(self.name);
        if !labels.is_empty() {
            series.push('{');
            for (i, (name, value)) in labels.iter().enumerate() {
                if i > 0 {
                    series.push(',');
                }
                let _ = write!(series, "{name}=\"{}\"", escape_label(value));
            }
            series.push('}');
        }
        if self.series.insert(series.clone()) {
            self.samples.push(format!("{series} {value}"));
        }
    }

    /// Appends the family (nothing when it has no sample).
    pub fn render(&self, text: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(text, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(text, "# TYPE {} {}", self.name, self.kind.as_str());
        for sample in &self.samples {
            text.push_str(sample);
            text.push('\n');
        }
    }
}

/// Label values: backslash, double quote and line feed are escaped, as
/// the exposition format requires. The format has no other escapes, so
/// the other control characters (a CR, NUL or ESC from a hostile MX name)
/// and the bidirectional controls are replaced by U+FFFD: they would
/// reach whoever reads the textfile, the graph legends and the alerts.
/// Metric and label names are never peer text.
fn escape_label(value: &str) -> String {
    let value = super::text::replace_unsafe(value, |c| c == '\n');
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn unix_seconds(rfc3339: &str) -> Option<i64> {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

struct Metrics {
    run_domains: Family,
    run_below_threshold: Family,
    run_timestamp: Family,
    run_setup_errors: Family,
    run_setup_error: Family,
    verdict: Family,
    verdict_rank: Family,
    below_threshold: Family,
    mta_sts_mode: Family,
    tls_rpt: Family,
    delivery: Family,
    configuration: Family,
    starttls: Family,
    tls_version: Family,
    cert_expiry: Family,
    cert_valid: Family,
    dane_valid: Family,
    dane_result: Family,
    error: Family,
    post_quantum: Family,
    legacy_protocol: Family,
    injectable: Family,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            run_domains: Family::new("smtptls_run_domains", "Domains audited in the run."),
            run_below_threshold: Family::new(
                "smtptls_run_below_threshold",
                "Domains whose verdict is below the --fail-below threshold.",
            ),
            run_timestamp: Family::new(
                "smtptls_run_timestamp_seconds",
                "When the run started (the report's generated_at), in seconds since the Unix epoch.",
            ),
            run_setup_errors: Family::new(
                "smtptls_run_setup_errors",
                "Domains not audited because of the local set-up (resolver-unusable), not the domain.",
            ),
            run_setup_error: Family::new(
                "smtptls_run_setup_error",
                "1 when no domain could be audited because of the local set-up (exit code 2), else 0.",
            ),
            verdict: Family::new(
                "smtptls_domain_verdict",
                "The domain's verdict: 1 for the verdict label it has, 0 for every other.",
            ),
            verdict_rank: Family::new(
                "smtptls_domain_verdict_rank",
                "The verdict as a number, higher is better: 6 protected, 5 secure, 4 encrypted, 3 partial, 2 plaintext, 1 broken, 0 error; absent for no-mail (null MX).",
            ),
            below_threshold: Family::new(
                "smtptls_domain_below_threshold",
                "1 if the domain's verdict is below the --fail-below threshold.",
            ),
            mta_sts_mode: Family::new(
                "smtptls_domain_mta_sts_mode",
                "The MTA-STS policy mode (enforce, testing, none), absent (no record) or invalid (bad record, or the policy could not be fetched or parsed).",
            ),
            tls_rpt: Family::new(
                "smtptls_domain_tls_rpt",
                "1 if the domain publishes a valid TLS-RPT record.",
            ),
            delivery: Family::new(
                "smtptls_domain_delivery",
                "What each kind of sender (opportunistic, mta_sts, dane) would do: secure, cleartext, deferred or not-applicable.",
            ),
            configuration: Family::new(
                "smtptls_domain_configuration_level",
                "The configuration axis, the NCSC-NL level of what the domain's addresses accept (worst address): 1 for the level it has, 0 for every other; absent without TLS to grade. It never changes the verdict.",
            ),
            starttls: Family::new(
                "smtptls_mx_starttls",
                "1 if the MX address advertised STARTTLS.",
            ),
            tls_version: Family::new(
                "smtptls_mx_tls_version_info",
                "The TLS version negotiated with the MX address.",
            ),
            cert_expiry: Family::new(
                "smtptls_mx_certificate_expiry_timestamp_seconds",
                "The MX certificate's notAfter, in seconds since the Unix epoch.",
            ),
            cert_valid: Family::new(
                "smtptls_mx_certificate_valid",
                "1 if the MX certificate's chain validates and it matches the MX host name.",
            ),
            dane_valid: Family::new(
                "smtptls_mx_dane_valid",
                "1 if a usable TLSA record matches the MX certificate; only where TLSA records apply.",
            ),
            dane_result: Family::new(
                "smtptls_mx_dane_result",
                "The DANE result of the MX address: valid, mismatch, unusable, insecure, none or lookup-failed.",
            ),
            error: Family::new(
                "smtptls_mx_error",
                "The phase and kind of the error that ended the probe of the MX address (address empty: the host's addresses could not be found).",
            ),
            post_quantum: Family::new(
                "smtptls_mx_post_quantum",
                "1 when the main handshake with the MX address negotiated a hybrid post-quantum key exchange (X25519MLKEM768), 0 when it negotiated another; absent without TLS.",
            ),
            legacy_protocol: Family::new(
                "smtptls_mx_legacy_protocol",
                "1 when the scan saw the MX address accept SSLv3, TLS 1.0 or TLS 1.1 (insufficient), 0 when not; absent when not scanned.",
            ),
            injectable: Family::new(
                "smtptls_mx_starttls_injectable",
                "1 when the MX address answered a command pipelined behind STARTTLS inside TLS (CVE-2011-0411 class), 0 when not; absent when not tested.",
            ),
        }
    }
}

impl Metrics {
    /// Every family, in output order.
    fn families(&self) -> [&Family; 22] {
        [
            &self.run_domains,
            &self.run_below_threshold,
            &self.run_timestamp,
            &self.run_setup_errors,
            &self.run_setup_error,
            &self.verdict,
            &self.verdict_rank,
            &self.below_threshold,
            &self.mta_sts_mode,
            &self.tls_rpt,
            &self.delivery,
            &self.configuration,
            &self.starttls,
            &self.tls_version,
            &self.cert_expiry,
            &self.cert_valid,
            &self.dane_valid,
            &self.dane_result,
            &self.error,
            &self.post_quantum,
            &self.legacy_protocol,
            &self.injectable,
        ]
    }

    /// Every per-domain sample but `below_threshold` (added at the end).
    fn domain(&mut self, d: &DomainReport) {
        let domain = d.domain.as_str();
        let mut row = vec![("domain", domain)];
        row.extend(service_label(d.service));
        let dl = row.as_slice();
        for v in Verdict::ALL {
            self.verdict
                .add(&with(dl, &[("verdict", v.as_str())]), flag(v == d.verdict));
        }
        if let Some(rank) = d.verdict.rank() {
            self.verdict_rank.add(dl, rank);
        }
        // The view's words: the label is the word every output shows;
        // a mechanism not looked up has no sample.
        let mta_sts = MtaStsState::of(d);
        if mta_sts != MtaStsState::Unknown {
            self.mta_sts_mode
                .add(&with(dl, &[("mode", mta_sts.as_str())]), 1);
        }
        let tls_rpt = TlsRptState::of(d);
        if tls_rpt != TlsRptState::Unknown {
            self.tls_rpt.add(dl, flag(tls_rpt == TlsRptState::Present));
        }
        if let Some(c) = &d.configuration {
            for level in NcscLevel::ALL {
                self.configuration.add(
                    &with(dl, &[("level", level.as_str())]),
                    flag(level == c.level),
                );
            }
        }
        if let Some(delivery) = &d.delivery {
            for (sender, outcome) in [
                ("opportunistic", &delivery.opportunistic),
                ("mta_sts", &delivery.mta_sts),
                ("dane", &delivery.dane),
            ] {
                let result = wire_name(&outcome.result);
                self.delivery
                    .add(&with(dl, &[("sender", sender), ("result", &result)]), 1);
            }
        }
        for mx in &d.mx {
            if let Some(e) = &mx.error {
                let phase = wire_name(&e.phase);
                self.error.add(
                    &with(
                        dl,
                        &[
                            ("mx", &mx.host),
                            ("address", ""),
                            ("phase", &phase),
                            ("kind", e.kind.as_str()),
                        ],
                    ),
                    1,
                );
            }
            for a in &mx.addresses {
                self.address(dl, mx, a);
            }
        }
    }

    fn address(&mut self, dl: &[(&str, &str)], mx: &MxReport, a: &AddressReport) {
        let ip = a.ip.to_string();
        let at = with(dl, &[("mx", mx.host.as_str()), ("address", &ip)]);
        self.starttls.add(&at, flag(a.starttls));
        if let Some(tls) = &a.tls {
            self.tls_version
                .add(&[&at[..], &[("version", tls.version.as_str())]].concat(), 1);
        }
        if let Some(cert) = &a.certificate {
            if let Some(t) = unix_seconds(&cert.not_after) {
                self.cert_expiry.add(&at, t);
            }
            self.cert_valid
                .add(&at, flag(cert.chain_valid && cert.hostname_match));
        }
        if !matches!(a.dane, DaneResult::Insecure | DaneResult::None) {
            self.dane_valid.add(&at, flag(a.dane == DaneResult::Valid));
        }
        let dane = wire_name(&a.dane);
        self.dane_result
            .add(&[&at[..], &[("result", &dane)]].concat(), 1);
        if let Some(pq) = a.post_quantum {
            self.post_quantum.add(&at, flag(pq));
        }
        if let Some(scan) = &a.scan {
            let legacy = scan
                .accepted_versions
                .iter()
                .any(|v| *v < crate::report::TlsVersion::Tls12);
            self.legacy_protocol.add(&at, flag(legacy));
        }
        if let Some(i) = &a.starttls_injection
            && i.result != crate::report::InjectionResult::Error
        {
            self.injectable.add(
                &at,
                flag(i.result == crate::report::InjectionResult::Vulnerable),
            );
        }
        if let Some(e) = &a.error {
            let phase = wire_name(&e.phase);
            self.error.add(
                &[&at[..], &[("phase", &phase), ("kind", e.kind.as_str())]].concat(),
                1,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixture;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        PrometheusReporter::default()
            .finish(report, &mut out)
            .expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    /// Every domain `resolver-unusable`: the run says it failed for its
    /// set-up, so that an alert can tell it from failing partners; one
    /// audited domain among them makes it 0 again.
    #[test]
    fn a_run_that_audited_nothing_for_its_set_up_says_so() {
        let mut report = fixture::report();
        report.summary.domains = 4;
        report.summary.setup_errors = 4;
        let text = render(&report);
        assert!(text.contains("\nsmtptls_run_setup_error 1\n"), "{text}");
        assert!(text.contains("\nsmtptls_run_setup_errors 4\n"), "{text}");
        report.summary.setup_errors = 3;
        let text = render(&report);
        assert!(text.contains("\nsmtptls_run_setup_error 0\n"), "{text}");
    }

    #[test]
    fn exact_output() {
        let mut report = fixture::report();
        // good.example and null.example
        report.domains.drain(1..3);
        report.summary.below_threshold = 0;
        let expected = r#"# HELP smtptls_run_domains Domains audited in the run.
# TYPE smtptls_run_domains gauge
smtptls_run_domains 2
# HELP smtptls_run_below_threshold Domains whose verdict is below the --fail-below threshold.
# TYPE smtptls_run_below_threshold gauge
smtptls_run_below_threshold 0
# HELP smtptls_run_timestamp_seconds When the run started (the report's generated_at), in seconds since the Unix epoch.
# TYPE smtptls_run_timestamp_seconds gauge
smtptls_run_timestamp_seconds 1748779200
# HELP smtptls_run_setup_errors Domains not audited because of the local set-up (resolver-unusable), not the domain.
# TYPE smtptls_run_setup_errors gauge
smtptls_run_setup_errors 0
# HELP smtptls_run_setup_error 1 when no domain could be audited because of the local set-up (exit code 2), else 0.
# TYPE smtptls_run_setup_error gauge
smtptls_run_setup_error 0
# HELP smtptls_domain_verdict The domain's verdict: 1 for the verdict label it has, 0 for every other.
# TYPE smtptls_domain_verdict gauge
smtptls_domain_verdict{domain="good.example",verdict="protected"} 0
smtptls_domain_verdict{domain="good.example",verdict="secure"} 1
smtptls_domain_verdict{domain="good.example",verdict="encrypted"} 0
smtptls_domain_verdict{domain="good.example",verdict="partial"} 0
smtptls_domain_verdict{domain="good.example",verdict="plaintext"} 0
smtptls_domain_verdict{domain="good.example",verdict="broken"} 0
smtptls_domain_verdict{domain="good.example",verdict="error"} 0
smtptls_domain_verdict{domain="good.example",verdict="no-mail"} 0
smtptls_domain_verdict{domain="null.example",verdict="protected"} 0
smtptls_domain_verdict{domain="null.example",verdict="secure"} 0
smtptls_domain_verdict{domain="null.example",verdict="encrypted"} 0
smtptls_domain_verdict{domain="null.example",verdict="partial"} 0
smtptls_domain_verdict{domain="null.example",verdict="plaintext"} 0
smtptls_domain_verdict{domain="null.example",verdict="broken"} 0
smtptls_domain_verdict{domain="null.example",verdict="error"} 0
smtptls_domain_verdict{domain="null.example",verdict="no-mail"} 1
# HELP smtptls_domain_verdict_rank The verdict as a number, higher is better: 6 protected, 5 secure, 4 encrypted, 3 partial, 2 plaintext, 1 broken, 0 error; absent for no-mail (null MX).
# TYPE smtptls_domain_verdict_rank gauge
smtptls_domain_verdict_rank{domain="good.example"} 5
# HELP smtptls_domain_below_threshold 1 if the domain's verdict is below the --fail-below threshold.
# TYPE smtptls_domain_below_threshold gauge
smtptls_domain_below_threshold{domain="good.example"} 0
smtptls_domain_below_threshold{domain="null.example"} 0
# HELP smtptls_domain_mta_sts_mode The MTA-STS policy mode (enforce, testing, none), absent (no record) or invalid (bad record, or the policy could not be fetched or parsed).
# TYPE smtptls_domain_mta_sts_mode gauge
smtptls_domain_mta_sts_mode{domain="good.example",mode="testing"} 1
# HELP smtptls_domain_tls_rpt 1 if the domain publishes a valid TLS-RPT record.
# TYPE smtptls_domain_tls_rpt gauge
smtptls_domain_tls_rpt{domain="good.example"} 1
# HELP smtptls_domain_delivery What each kind of sender (opportunistic, mta_sts, dane) would do: secure, cleartext, deferred or not-applicable.
# TYPE smtptls_domain_delivery gauge
smtptls_domain_delivery{domain="good.example",sender="opportunistic",result="secure"} 1
smtptls_domain_delivery{domain="good.example",sender="mta_sts",result="not-applicable"} 1
smtptls_domain_delivery{domain="good.example",sender="dane",result="not-applicable"} 1
# HELP smtptls_domain_configuration_level The configuration axis, the NCSC-NL level of what the domain's addresses accept (worst address): 1 for the level it has, 0 for every other; absent without TLS to grade. It never changes the verdict.
# TYPE smtptls_domain_configuration_level gauge
smtptls_domain_configuration_level{domain="good.example",level="good"} 0
smtptls_domain_configuration_level{domain="good.example",level="sufficient"} 1
smtptls_domain_configuration_level{domain="good.example",level="phase-out"} 0
smtptls_domain_configuration_level{domain="good.example",level="insufficient"} 0
# HELP smtptls_mx_starttls 1 if the MX address advertised STARTTLS.
# TYPE smtptls_mx_starttls gauge
smtptls_mx_starttls{domain="good.example",mx="mx1.good.example",address="192.0.2.1"} 1
# HELP smtptls_mx_tls_version_info The TLS version negotiated with the MX address.
# TYPE smtptls_mx_tls_version_info gauge
smtptls_mx_tls_version_info{domain="good.example",mx="mx1.good.example",address="192.0.2.1",version="TLSv1.3"} 1
# HELP smtptls_mx_certificate_expiry_timestamp_seconds The MX certificate's notAfter, in seconds since the Unix epoch.
# TYPE smtptls_mx_certificate_expiry_timestamp_seconds gauge
smtptls_mx_certificate_expiry_timestamp_seconds{domain="good.example",mx="mx1.good.example",address="192.0.2.1"} 1893456000
# HELP smtptls_mx_certificate_valid 1 if the MX certificate's chain validates and it matches the MX host name.
# TYPE smtptls_mx_certificate_valid gauge
smtptls_mx_certificate_valid{domain="good.example",mx="mx1.good.example",address="192.0.2.1"} 1
# HELP smtptls_mx_dane_result The DANE result of the MX address: valid, mismatch, unusable, insecure, none or lookup-failed.
# TYPE smtptls_mx_dane_result gauge
smtptls_mx_dane_result{domain="good.example",mx="mx1.good.example",address="192.0.2.1",result="insecure"} 1
"#;
        assert_eq!(render(&report), expected);
    }

    #[test]
    fn dane_valid_only_where_tlsa_records_apply() {
        let mut report = fixture::report();
        report.domains.truncate(1);
        let sample = r#"smtptls_mx_dane_valid{domain="good.example",mx="mx1.good.example",address="192.0.2.1"}"#;
        for (dane, expected) in [
            (DaneResult::Valid, Some("1")),
            (DaneResult::Mismatch, Some("0")),
            (DaneResult::LookupFailed, Some("0")),
            (DaneResult::Unusable, Some("0")),
            (DaneResult::None, None),
            (DaneResult::Insecure, None),
        ] {
            report.domains[0].mx[0].addresses[0].dane = dane;
            let text = render(&report);
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix(sample))
                .map(str::trim);
            assert_eq!(value, expected, "{dane:?}");
        }
    }

    #[test]
    fn post_quantum_and_injection_samples() {
        use crate::report::{InjectionReport, InjectionResult};
        let mut report = fixture::report();
        report.domains.truncate(1);
        let at = r#"{domain="good.example",mx="mx1.good.example",address="192.0.2.1"}"#;
        let value = |text: &str, family: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{family}{at}")))
                .map(|v| v.trim().to_string())
        };
        let a = &mut report.domains[0].mx[0].addresses[0];
        a.post_quantum = Some(true);
        a.starttls_injection = Some(InjectionReport {
            result: InjectionResult::Vulnerable,
            reply: Some("250 ok".into()),
            error: None,
        });
        let text = render(&report);
        assert_eq!(
            value(&text, "smtptls_mx_post_quantum").as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, "smtptls_mx_starttls_injectable").as_deref(),
            Some("1")
        );
        // Unknown is no sample, not a 0.
        let a = &mut report.domains[0].mx[0].addresses[0];
        a.post_quantum = Some(false);
        a.starttls_injection = Some(InjectionReport {
            result: InjectionResult::Error,
            reply: None,
            error: Some("timed out".into()),
        });
        let text = render(&report);
        assert_eq!(
            value(&text, "smtptls_mx_post_quantum").as_deref(),
            Some("0")
        );
        assert_eq!(value(&text, "smtptls_mx_starttls_injectable"), None);
    }

    #[test]
    fn label_values_are_escaped() {
        // The three escapes of the format; every other control character
        // (CR, NUL, ESC, a C1 CSI) and the bidi controls have no escape
        // and become U+FFFD.
        assert_eq!(
            escape_label("a\\b\"c\nd\re\u{0}f\u{1b}\u{9b}\u{202e}\t"),
            "a\\\\b\\\"c\\nd\u{fffd}e\u{fffd}f\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
        );
        let text = render(&fixture::report());
        assert!(text.contains(
            "smtptls_mx_starttls{domain=\"plain.example\",mx=\"mx\\\"<&>'\\\\\\n\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffe}.evil.example\",address=\"2001:db8::25\"} 0\n"
        ));
    }

    #[test]
    fn peer_text_only_in_label_values_and_escaped() {
        // fixture::PEER as a label value.
        const L: &str = "=cmd|' /C calc'!A0\u{fffd}[2J\u{fffd}]0;T\u{fffd}\u{fffd}\u{fffd}\u{fffd}31m\u{fffd}\u{fffd}\u{fffd}\u{fffd}\\\"q\\\"</script>\u{fffd}\\nX";
        let text = render(&fixture::peer_report());
        for line in [
            format!(
                r#"smtptls_mx_starttls{{domain="peer.example",mx="{L}",address="192.0.2.7"}} 1"#
            ),
            format!(
                r#"smtptls_mx_error{{domain="peer.example",mx="{L}",address="192.0.2.7",phase="starttls",kind="rejected"}} 1"#
            ),
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line}\n{text}");
        }
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::reporter::text::is_unsafe(c))
        );
        // Metric names are ours: every sample's name is a family's.
        let names: Vec<&str> = Metrics::default().families().map(|f| f.name).to_vec();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            assert!(names.contains(&name), "{line}");
        }
        // No label value broke a line: each ends in a number.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn families_are_grouped_and_lines_well_formed() {
        let text = render(&fixture::report());
        let mut seen = Vec::<String>::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().expect("name").to_string();
                assert!(!seen.contains(&name), "{name} appears twice");
                seen.push(name.clone());
                current = name;
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                assert_eq!(rest, format!("{current} gauge"));
            } else {
                let name = line.split(['{', ' ']).next().expect("sample name");
                assert_eq!(name, current, "{line}");
                let value = line.rsplit(' ').next().expect("value");
                value.parse::<f64>().expect("numeric value");
            }
        }
    }

    #[test]
    fn duplicate_series_are_written_once() {
        let mut report = fixture::report();
        let again = report.domains[0].clone();
        report.domains.push(again);
        let text = render(&report);
        assert_eq!(
            text.matches("smtptls_domain_below_threshold{domain=\"good.example\"}")
                .count(),
            1
        );
    }

    /// A submission row's every series carries `service`, so that it
    /// never collides with the MX row of the same domain; MX rows carry
    /// none, as before.
    #[test]
    fn submission_rows_carry_a_service_label() {
        let mut report = fixture::report();
        let mut submission = report.domains[0].clone();
        submission.service = Service::Submissions;
        report.domains.push(submission);
        let text = render(&report);
        for family in [
            "smtptls_domain_verdict{",
            "smtptls_domain_below_threshold{",
            "smtptls_mx_starttls{",
        ] {
            let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(family)).collect();
            let plain = lines
                .iter()
                .filter(|l| l.contains("domain=\"good.example\"") && !l.contains("service="))
                .count();
            let tagged = lines
                .iter()
                .filter(|l| l.contains("domain=\"good.example\",service=\"submissions\""))
                .count();
            assert!(
                plain > 0 && plain == tagged,
                "{family}: {plain} vs {tagged}\n{text}"
            );
        }
    }
}
