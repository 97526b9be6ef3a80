//! The exporter's own metrics (`GET /metrics`) and the probe families
//! every `/probe` answer ends with (`probe_success` and its kin).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::reporter::prometheus::{Family, MetricType};
use crate::vocabulary::{ErrorKind, ErrorPhase};

/// Why a scrape did not get a completed audit, for
/// `smtptls_exporter_errors_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeError {
    /// 400: not a mail domain, or a bad query.
    InvalidTarget,
    /// 403: not on the allow-list.
    ForbiddenTarget,
    /// The scrape's time ran out before the audit finished.
    ScrapeTimeout,
    /// The audit finished without auditing the domain (its row has an
    /// error: resolver unusable, internal).
    AuditFailed,
    /// The audit's task died (a bug).
    AuditLost,
}

impl ScrapeError {
    pub const ALL: [ScrapeError; 5] = [
        ScrapeError::InvalidTarget,
        ScrapeError::ForbiddenTarget,
        ScrapeError::ScrapeTimeout,
        ScrapeError::AuditFailed,
        ScrapeError::AuditLost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScrapeError::InvalidTarget => "invalid-target",
            ScrapeError::ForbiddenTarget => "forbidden-target",
            ScrapeError::ScrapeTimeout => "scrape-timeout",
            ScrapeError::AuditFailed => "audit-failed",
            ScrapeError::AuditLost => "audit-lost",
        }
    }
}

/// Counters kept while the server runs.
#[derive(Default)]
pub struct Counters {
    probes_success: AtomicU64,
    probes_failure: AtomicU64,
    cache_hits: AtomicU64,
    audits: AtomicU64,
    in_flight: AtomicU64,
    errors: [AtomicU64; ScrapeError::ALL.len()],
}

impl Counters {
    pub fn probe(&self, success: bool) {
        let counter = if success {
            &self.probes_success
        } else {
            &self.probes_failure
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self, kind: ScrapeError) {
        if let Some(i) = ScrapeError::ALL.iter().position(|k| *k == kind) {
            self.errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An audit starts; the guard counts it out when it ends, however.
    pub fn audit_started(&self) -> InFlight<'_> {
        self.audits.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// The text of `GET /metrics`. `cached`: entries in the cache.
    pub fn render(&self, cached: usize) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut probes = Family::of(
            MetricType::Counter,
            "smtptls_exporter_probes_total",
            "Probe requests answered (HTTP 200), by probe_success: success or failure.",
        );
        probes.add(&[("result", "success")], load(&self.probes_success));
        probes.add(&[("result", "failure")], load(&self.probes_failure));
        let mut hits = Family::of(
            MetricType::Counter,
            "smtptls_exporter_cache_hits_total",
            "Probe requests answered from the cache, without an audit (--min-interval).",
        );
        hits.add(&[], load(&self.cache_hits));
        let mut audits = Family::of(
            MetricType::Counter,
            "smtptls_exporter_audits_total",
            "Audits started (one per target and scan mode per --min-interval at most).",
        );
        audits.add(&[], load(&self.audits));
        let mut in_flight = Family::new("smtptls_exporter_audits_in_flight", "Audits running now.");
        in_flight.add(&[], load(&self.in_flight));
        let mut targets = Family::new(
            "smtptls_exporter_cached_targets",
            "Targets (per scan mode) in the cache, at most --max-targets.",
        );
        targets.add(&[], cached);
        let mut errors = Family::of(
            MetricType::Counter,
            "smtptls_exporter_errors_total",
            "Probe requests without a completed audit, by kind: invalid-target (400), forbidden-target (403), scrape-timeout, audit-failed, audit-lost.",
        );
        for (kind, count) in ScrapeError::ALL.iter().zip(&self.errors) {
            errors.add(&[("kind", kind.as_str())], load(count));
        }
        let mut build = Family::new(
            "smtptls_build_info",
            "The smtptls version serving these metrics (always 1).",
        );
        build.add(&[("version", env!("CARGO_PKG_VERSION"))], 1);
        let mut text = String::new();
        for family in [
            &probes, &hits, &audits, &in_flight, &targets, &errors, &build,
        ] {
            family.render(&mut text);
        }
        text
    }
}

/// An audit in flight (see [`Counters::audit_started`]).
pub struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a `/probe` answer says about the probe itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFacts {
    /// The audit completed (whatever the verdict).
    pub success: bool,
    /// Seconds the audit behind the answer took (for a scrape that gave
    /// up: how long it waited).
    pub duration: f64,
    /// The samples come from an audit finished before this scrape.
    pub cached: bool,
    /// Seconds since that audit finished (0 for a fresh one).
    pub age: f64,
    /// Why the probe failed.
    pub error: Option<(ErrorPhase, ErrorKind)>,
}

impl ProbeFacts {
    /// The probe families, appended to `text`.
    pub fn render(&self, text: &mut String) {
        let mut success = Family::new(
            "probe_success",
            "1 when the audit completed (whatever the verdict), 0 when it did not (see smtptls_probe_error).",
        );
        success.add(&[], u8::from(self.success));
        let mut duration = Family::new(
            "probe_duration_seconds",
            "How long the audit behind these samples took, in seconds (a scrape that gave up: how long it waited).",
        );
        duration.add(&[], format!("{:.3}", self.duration));
        let mut cached = Family::new(
            "smtptls_probe_cached",
            "1 when the samples come from an audit finished before this scrape (--min-interval), else 0.",
        );
        cached.add(&[], u8::from(self.cached));
        let mut age = Family::new(
            "smtptls_probe_age_seconds",
            "Seconds since the audit behind these samples finished.",
        );
        age.add(&[], format!("{:.3}", self.age));
        let mut error = Family::new(
            "smtptls_probe_error",
            "Why the probe did not complete: the phase and kind of its error (run/deadline: the scrape timeout ran out first).",
        );
        if let Some((phase, kind)) = self.error {
            let phase = crate::vocabulary::wire_name(&phase);
            error.add(&[("phase", &phase), ("kind", kind.as_str())], 1);
        }
        for family in [&success, &duration, &cached, &age, &error] {
            family.render(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_metrics_count_what_happened() {
        let counters = Counters::default();
        counters.probe(true);
        counters.probe(true);
        counters.probe(false);
        counters.cache_hit();
        counters.error(ScrapeError::ForbiddenTarget);
        let guard = counters.audit_started();
        let text = counters.render(7);
        assert!(
            text.contains("\nsmtptls_exporter_probes_total{result=\"success\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("\nsmtptls_exporter_probes_total{result=\"failure\"} 1\n"));
        assert!(text.contains("\nsmtptls_exporter_cache_hits_total 1\n"));
        assert!(text.contains("\nsmtptls_exporter_audits_in_flight 1\n"));
        assert!(text.contains("\nsmtptls_exporter_cached_targets 7\n"));
        assert!(text.contains("\nsmtptls_exporter_errors_total{kind=\"forbidden-target\"} 1\n"));
        assert!(text.contains("\nsmtptls_exporter_errors_total{kind=\"scrape-timeout\"} 0\n"));
        assert!(text.contains("# TYPE smtptls_exporter_probes_total counter\n"));
        assert!(text.contains(&format!(
            "\nsmtptls_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )));
        drop(guard);
        assert!(
            counters
                .render(0)
                .contains("\nsmtptls_exporter_audits_in_flight 0\n")
        );
    }

    #[test]
    fn probe_families_say_success_cache_age_and_error() {
        let mut text = String::new();
        ProbeFacts {
            success: false,
            duration: 9.5,
            cached: true,
            age: 61.0,
            error: Some((ErrorPhase::Run, ErrorKind::Deadline)),
        }
        .render(&mut text);
        assert!(text.contains("\nprobe_success 0\n"), "{text}");
        assert!(text.contains("\nprobe_duration_seconds 9.500\n"));
        assert!(text.contains("\nsmtptls_probe_cached 1\n"));
        assert!(text.contains("\nsmtptls_probe_age_seconds 61.000\n"));
        assert!(text.contains("\nsmtptls_probe_error{phase=\"run\",kind=\"deadline\"} 1\n"));
    }
}
