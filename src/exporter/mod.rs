//! `smtptls serve`: a Prometheus exporter in the multi-target style of
//! blackbox_exporter. Prometheus scrapes `/probe?target=DOMAIN`; the
//! answer is `--format prometheus` of that one domain (the same reporter
//! renders it from the same report) plus `probe_success` and its kin.
//!
//! Wiring over the same [`Auditor`] as `check`, long-lived
//! ([`Auditor::remembering`]): `--per-address`, one probe per MX address
//! and the 421 back-off hold across scrapes. Politeness first: a result
//! is reused for `--min-interval` ([`cache`]), concurrent scrapes of one
//! target share one audit, and an audit a scrape gave up on finishes
//! for the next one.
//!
//! - [`target`]: the query (`target`, `scan`), strictly.
//! - [`allow`]: the allow-list and the loopback rule.
//! - [`cache`]: results per (target, scan mode), single flight, LRU.
//! - [`metrics`]: `/metrics` and the probe families.
//! - [`http`]: the HTTP server (hyper, axum's router): limits, slowloris
//!   timeout, graceful shutdown.

pub mod allow;
pub mod cache;
pub mod http;
pub mod metrics;
pub mod target;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::audit::{Auditor, Job, Rows};
use crate::domain::DomainName;
use crate::report::Report;
use crate::vocabulary::{ErrorKind, ErrorPhase, ScanMode};
use allow::AllowList;
use cache::{Cache, Lookup, Waited};
use metrics::{Counters, ProbeFacts, ScrapeError};
use target::ProbeRequest;

/// The default `--listen` port: 9612, listed as free in Prometheus's
/// default port allocations (the wiki's list of exporter ports) when this
/// was written, so that smtptls does not collide with another exporter
/// on the same host.
pub const DEFAULT_PORT: u16 = 9612;

/// How the exporter serves (the flags of `serve` beyond the audit's).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--min-interval`: a result is answered from the cache this long.
    pub min_interval: Duration,
    /// `--max-targets`: results kept, least recently scraped out first.
    pub max_targets: usize,
    /// `--timeout-offset`: taken off `X-Prometheus-Scrape-Timeout-Seconds`.
    pub timeout_offset: Duration,
    pub allow: AllowList,
    /// `--concurrency`: audits at once, over all scrapes.
    pub concurrency: usize,
    /// Time a client has to send a request's head (slowloris).
    pub header_timeout: Duration,
    /// Connections served at once; more are closed at accept.
    pub max_connections: usize,
}

impl Settings {
    /// The defaults beside the flags (tests start from them).
    pub fn new(allow: AllowList) -> Self {
        Settings {
            min_interval: Duration::from_secs(3600),
            max_targets: 10_000,
            timeout_offset: Duration::from_millis(500),
            allow,
            concurrency: 256,
            header_timeout: http::HEADER_TIMEOUT,
            max_connections: http::MAX_CONNECTIONS,
        }
    }
}

/// One finished audit of one domain.
#[derive(Debug)]
pub struct Audited {
    /// The one-domain report, as `check` would have made it.
    pub report: Report,
    pub took: Duration,
}

type Key = (DomainName, ScanMode);

/// The exporter's state, shared by every connection.
pub struct Exporter {
    auditor: Auditor,
    settings: Settings,
    cache: Arc<Cache<Key, Audited>>,
    counters: Arc<Counters>,
    /// `--concurrency` audits at once, whatever the scrapes.
    audits: Arc<Semaphore>,
}

/// The answer to a probe request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAnswer {
    /// 200: the exposition.
    Metrics(String),
    /// 400: one line saying why.
    BadRequest(String),
    /// 403: one line saying why.
    Forbidden(String),
}

impl Exporter {
    /// An exporter auditing with `auditor` (its options are the flags'),
    /// which it keeps for as long as it serves.
    pub fn new(auditor: Auditor, settings: Settings) -> Arc<Self> {
        Arc::new(Exporter {
            auditor: auditor.remembering(settings.min_interval),
            cache: Cache::new(settings.min_interval, settings.max_targets),
            counters: Arc::default(),
            audits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
        })
    }

    /// `GET /metrics`.
    pub fn own_metrics(&self) -> String {
        self.counters.render(self.cache.len())
    }

    /// `GET /probe?QUERY`, with the scrape timeout header's value.
    pub async fn probe(&self, query: Option<&str>, scrape_timeout: Option<&str>) -> ProbeAnswer {
        let request = match ProbeRequest::from_query(query) {
            Ok(r) => r,
            Err(why) => {
                self.counters.error(ScrapeError::InvalidTarget);
                return ProbeAnswer::BadRequest(why.to_string());
            }
        };
        if !self.settings.allow.allows(&request.target) {
            self.counters.error(ScrapeError::ForbiddenTarget);
            return ProbeAnswer::Forbidden(
                "the target is not on this exporter's --allow-target list".to_string(),
            );
        }
        let limit = self.time_for(scrape_timeout);
        let scan = request.scan.unwrap_or(self.auditor.scan());
        let started = tokio::time::Instant::now();
        let lookup = self.cache.lookup(
            (request.target.clone(), scan),
            self.audit(request.target, scan),
        );
        let (audited, facts) = match lookup {
            Lookup::Fresh(done) => {
                self.counters.cache_hit();
                let facts = ProbeFacts {
                    success: false,
                    duration: done.value.took.as_secs_f64(),
                    cached: true,
                    age: done.finished.elapsed().as_secs_f64(),
                    error: None,
                };
                (Some(done), facts)
            }
            Lookup::Running { waiter, stale, .. } => match cache::wait(waiter, limit).await {
                Waited::Done(done) => {
                    let facts = ProbeFacts {
                        success: false,
                        duration: done.value.took.as_secs_f64(),
                        cached: false,
                        age: done.finished.elapsed().as_secs_f64(),
                        error: None,
                    };
                    (Some(done), facts)
                }
                // What was learnt before: the previous result, if any,
                // said to be old; the audit goes on for the next scrape.
                Waited::TimedOut => {
                    self.counters.error(ScrapeError::ScrapeTimeout);
                    let facts = ProbeFacts {
                        success: false,
                        duration: started.elapsed().as_secs_f64(),
                        cached: stale.is_some(),
                        age: stale
                            .as_ref()
                            .map_or(0.0, |s| s.finished.elapsed().as_secs_f64()),
                        error: Some((ErrorPhase::Run, ErrorKind::Deadline)),
                    };
                    (stale, facts)
                }
                Waited::Lost => {
                    self.counters.error(ScrapeError::AuditLost);
                    let facts = ProbeFacts {
                        success: false,
                        duration: started.elapsed().as_secs_f64(),
                        cached: false,
                        age: 0.0,
                        error: Some((ErrorPhase::Internal, ErrorKind::Internal)),
                    };
                    (None, facts)
                }
            },
        };
        let mut facts = facts;
        let mut text = String::new();
        if let Some(done) = &audited {
            text = crate::reporter::prometheus::render(&done.value.report);
            if facts.error.is_none() {
                // Completed: unless the row says the domain could not be
                // audited (resolver unusable, internal, no route).
                facts.error = audit_failure(&done.value.report);
                facts.success = facts.error.is_none();
                if !facts.success {
                    self.counters.error(ScrapeError::AuditFailed);
                }
            }
        }
        facts.render(&mut text);
        self.counters.probe(facts.success);
        ProbeAnswer::Metrics(text)
    }

    /// The time a fresh audit may take for this scrape: the scrape
    /// timeout Prometheus sends, less `--timeout-offset` (for the answer
    /// to travel back). Without the header, until the audit is done.
    fn time_for(&self, header: Option<&str>) -> Option<Duration> {
        let seconds = header?.trim().parse::<f64>().ok()?;
        if !seconds.is_finite() || seconds <= 0.0 {
            return None;
        }
        let limit = Duration::try_from_secs_f64(seconds)
            .ok()?
            .saturating_sub(self.settings.timeout_offset);
        // Never nothing: a scrape gets at least a glance at the cache.
        Some(limit.max(Duration::from_millis(100)))
    }

    /// The audit of one domain, for the cache to run on a task of its own.
    fn audit(
        &self,
        domain: DomainName,
        scan: ScanMode,
    ) -> impl Future<Output = Audited> + Send + 'static {
        let auditor = if scan == self.auditor.scan() {
            self.auditor.clone()
        } else {
            self.auditor.with_scan(scan)
        };
        let counters = self.counters.clone();
        let audits = self.audits.clone();
        let max_hosts = self.settings.max_targets;
        async move {
            // A closed semaphore never happens (it is never closed); the
            // audit then runs without a permit rather than not at all.
            let _permit = audits.acquire_owned().await.ok();
            let _in_flight = counters.audit_started();
            let started = tokio::time::Instant::now();
            let report = auditor
                .run_with(
                    vec![Job::Audit(domain)],
                    std::future::pending(),
                    Rows::Keep,
                    |_| {},
                )
                .await;
            // Each audit tidies the auditor's memory: what it holds then
            // follows the targets of the last --min-interval.
            auditor.forget_old(max_hosts);
            Audited {
                report,
                took: started.elapsed(),
            }
        }
    }
}

/// Why a finished audit did not audit its domain: the row's own error
/// (resolver unusable, internal), or a set-up failure (no route from this
/// machine to any address). A domain that was audited and found broken,
/// or that does not exist, is a completed probe.
fn audit_failure(report: &Report) -> Option<(ErrorPhase, ErrorKind)> {
    let Some(row) = report.domains.first() else {
        return Some((ErrorPhase::Internal, ErrorKind::Internal));
    };
    if let Some(e) = &row.error {
        return Some((e.phase, e.kind));
    }
    row.setup_failure().map(|kind| (ErrorPhase::Connect, kind))
}

/// Serves `exporter` on `listener` until `shutdown` resolves, then lets
/// the requests in flight finish. See [`http::serve`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    exporter: Arc<Exporter>,
    shutdown: impl Future<Output = ()>,
) {
    http::serve(listener, exporter, shutdown).await;
}
