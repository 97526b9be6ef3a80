//! The pipeline: domains in, one [`DomainReport`] per domain out, in input
//! order. Resolver → prober → inspector, with bounded concurrency and a
//! per-address connection cap so big providers are not hammered.
//!
//! A domain's failure never costs another domain its row: every stage
//! returns data, not errors, and even a task that died is reported.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::domain::DomainName;
use crate::fetch::Fetcher;
use crate::inspector::submission::ServiceEvidence;
use crate::inspector::{self, AddressEvidence, InspectSettings, MxEvidence};
use crate::inspector::{DomainEvidence, MtaStsEvidence, TlsaEvidence};
use crate::options::{AuditOptions, DnsServers, Route};
use crate::prober::dual;
use crate::prober::injection::{self, InjectionError};
use crate::prober::retransmit::RttEstimate;
use crate::prober::scan::{self, ScanMode};
use crate::prober::{
    self, Phase, Probe, ProbeError, ProbeErrorKind, ProbeSettings, ProbeTarget, StartTls,
};
use crate::protection::mta_sts::{self, Fetched, StsTxtLookup};
pub use crate::report::StopReason;
use crate::report::view::Gate;
use crate::report::{DomainReport, Report, RunSettings, Summary, Tally, ToolInfo};
use crate::resolver::{
    Answer, Dnssec, Exchange, MxResolution, Resolver, ResolverHealth, ResolverSettings,
    ResolverSetupError,
};
use crate::vocabulary::AddressClass;
use crate::vocabulary::{ErrorKind, ErrorPhase, Failure};

/// The run could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Resolver(#[from] ResolverSetupError),
    #[error("cannot set up the HTTPS client for MTA-STS: {0}")]
    Https(String),
}

/// What one MX host showed, shared by every domain that uses it.
#[derive(Debug, Clone)]
struct HostObservation {
    addresses: AddressEvidence,
    tlsa: Option<TlsaEvidence>,
    probes: Vec<(SocketAddr, Probe)>,
    /// Addresses beyond `--max-addresses-per-host`.
    left_out: Vec<IpAddr>,
}

/// What an address did earlier in the run.
#[derive(Debug)]
struct AddressState {
    timed_out: bool,
    busy_count: u32,
    backoff_until: Option<tokio::time::Instant>,
    /// When the address last timed out or answered 421: with a memory
    /// ([`Auditor::remembering`]) the state is forgotten that long after.
    since: tokio::time::Instant,
}

impl AddressState {
    fn new() -> Self {
        AddressState {
            timed_out: false,
            busy_count: 0,
            backoff_until: None,
            since: tokio::time::Instant::now(),
        }
    }

    /// Whether what the address did is still remembered: always within
    /// a run, for `memory` after its last trouble in a long-lived auditor.
    /// A pending 421 back-off is kept in any case: the server asked for it.
    fn remembered(&self, memory: Option<Duration>) -> bool {
        let now = tokio::time::Instant::now();
        memory.is_none_or(|m| self.since + m > now)
            || self.backoff_until.is_some_and(|until| until > now)
    }
}

/// One MX host's observation, made once and awaited by every domain.
type HostCell = Arc<tokio::sync::OnceCell<Result<HostObservation, String>>>;

/// A host's observation with when it was asked for: a long-lived auditor
/// ([`Auditor::remembering`]) makes a new one once it is older than its
/// memory. Keyed by the port (an SRV record may name another than the
/// service's) and the scan mode too: an observation made with `--scan
/// off` has no scan to lend to a `deep` audit.
type HostKey = (DomainName, u16, ScanMode);

/// State shared by every domain of a run.
#[derive(Default)]
struct Shared {
    hosts: Mutex<HashMap<HostKey, (tokio::time::Instant, HostCell)>>,
    addresses: Mutex<HashMap<SocketAddr, AddressState>>,
    /// Probes made (connections attempted).
    probes: AtomicUsize,
    /// MX host observations reused by another domain.
    reused: AtomicUsize,
}

/// A poisoned lock only means another task panicked; the map is fine.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs audits with one configuration.
#[derive(Clone)]
pub struct Auditor {
    resolver: Resolver,
    /// Fetches MTA-STS policies; one HTTP client for the run.
    sts: Arc<Fetcher>,
    options: Arc<AuditOptions>,
    probe_settings: Arc<ProbeSettings>,
    per_address: Arc<Mutex<HashMap<SocketAddr, Arc<Semaphore>>>>,
    shared: Arc<Shared>,
    /// The start-of-run check of the resolver ([`Auditor::connect`]):
    /// its prediction, held against each domain's MX lookup.
    health: ResolverHealth,
    /// How long MX host observations and address manners (timed out,
    /// 421) are kept: `None` for a run (all of it), a duration for an
    /// auditor that serves many runs ([`Auditor::remembering`]).
    memory: Option<Duration>,
}

impl Auditor {
    /// An auditor for `options`; DS trust anchors are resolved to their
    /// keys first (which takes DNS, hence async).
    ///
    /// The resolver is checked once here ([`Resolver::check`]), and
    /// [`Auditor::resolver_notice`] says what it found, once. The check
    /// decides no domain: each is audited, and one whose MX lookup fails
    /// the way the check predicted is reported `resolver-unusable`
    /// ([`ResolverHealth::predicts`]).
    pub async fn connect(options: AuditOptions) -> Result<Self, SetupError> {
        let resolver = Resolver::build(&resolver_settings(&options)).await?;
        let health = resolver.check().await;
        let mut auditor = Self::with_resolver(options, resolver)?;
        auditor.health = health;
        Ok(auditor)
    }

    /// The line for stderr about the resolver, if the check found one.
    pub fn resolver_notice(&self) -> Option<String> {
        self.health.notice()
    }

    /// An auditor for `options` without DS trust anchors.
    pub fn new(options: AuditOptions) -> Result<Self, SetupError> {
        let resolver = Resolver::new(&resolver_settings(&options))?;
        Self::with_resolver(options, resolver)
    }

    fn with_resolver(options: AuditOptions, resolver: Resolver) -> Result<Self, SetupError> {
        let probe_settings = ProbeSettings {
            timeouts: options.timeouts,
            ehlo_name: options.ehlo_name.clone(),
            connect_rtt: Arc::new(RttEstimate::new()),
            implicit_tls: options.service.implicit_tls(),
        };
        let sts = Fetcher::new(
            resolver.clone(),
            options.connect_to.clone(),
            options.trust.clone(),
            options.timeouts.command,
            options.families,
        )
        .map_err(SetupError::Https)?;
        Ok(Auditor {
            resolver,
            sts: Arc::new(sts),
            options: Arc::new(options),
            probe_settings: Arc::new(probe_settings),
            per_address: Arc::default(),
            shared: Arc::default(),
            // `Auditor::new` does not check: it is for callers that
            // already trust their resolver (tests, benchmarks).
            health: ResolverHealth::Usable,
            memory: None,
        })
    }

    /// This auditor for many runs (`smtptls serve`: one run per scrape),
    /// keeping the run-wide manners across them: the `--per-address`
    /// gates, one probe per MX address and host (an observation is reused
    /// for `memory`, then made again) and what an address did (timed out,
    /// 421: remembered for `memory` after the last time, a pending
    /// back-off always). Without it an auditor remembers forever, which is
    /// right for one run and wrong for a server that runs for months.
    pub fn remembering(mut self, memory: Duration) -> Self {
        self.memory = Some(memory);
        self
    }

    /// This auditor with another `--scan` mode, sharing everything else:
    /// the resolver, the gates, the observations and the address manners
    /// (observations are kept per scan mode).
    pub fn with_scan(&self, mode: ScanMode) -> Self {
        let mut options = (*self.options).clone();
        options.scan = mode;
        Auditor {
            options: Arc::new(options),
            ..self.clone()
        }
    }

    /// The `--scan` mode of this auditor.
    pub fn scan(&self) -> ScanMode {
        self.options.scan
    }

    /// Drops what a long-lived auditor no longer remembers: observations
    /// older than its memory, address states it has forgotten, and the
    /// gates of addresses no connection holds, then the oldest
    /// observations beyond `max_hosts`. Memory then follows the hosts seen
    /// within the memory, not every host ever seen. A no-op for an auditor
    /// without a memory (one run).
    pub fn forget_old(&self, max_hosts: usize) {
        let Some(memory) = self.memory else { return };
        let now = tokio::time::Instant::now();
        {
            let mut hosts = lock(&self.shared.hosts);
            // An observation still being made is kept: dropping it would
            // let the next domain probe the same addresses again.
            hosts.retain(|_, (made, cell)| *made + memory > now || !cell.initialized());
            if hosts.len() > max_hosts {
                let mut ages: Vec<(tokio::time::Instant, HostKey)> = hosts
                    .iter()
                    .map(|(k, (made, _))| (*made, k.clone()))
                    .collect();
                ages.sort_by_key(|(made, _)| *made);
                let excess = hosts.len() - max_hosts;
                for (_, key) in ages.into_iter().take(excess) {
                    hosts.remove(&key);
                }
            }
        }
        lock(&self.shared.addresses).retain(|_, state| state.remembered(Some(memory)));
        // Only this map holds an idle gate: nobody waits on it or holds
        // one of its permits, so a fresh one later is the same gate.
        lock(&self.per_address).retain(|_, gate| Arc::strong_count(gate) > 1);
    }

    /// How many MX host observations and address gates are kept (for the
    /// exporter's own metrics and the tests of [`Auditor::forget_old`]).
    pub fn remembered(&self) -> (usize, usize) {
        (
            lock(&self.shared.hosts).len(),
            lock(&self.per_address).len(),
        )
    }

    /// Audits every job; `on_done` sees each domain's report as it
    /// completes (for progress and streaming), the returned report keeps
    /// input order. When `stop` resolves (deadline, Ctrl-C) no new work
    /// starts, work in flight is abandoned, and every unfinished domain is
    /// still reported, as an error saying why.
    pub async fn run(
        &self,
        jobs: Vec<Job>,
        stop: impl Future<Output = StopReason>,
        on_done: impl FnMut(&DomainReport),
    ) -> Report {
        self.run_with(jobs, stop, Rows::Keep, on_done).await
    }

    /// [`Auditor::run`], choosing whether the report keeps the rows. With
    /// [`Rows::Stream`] every row goes to `on_done` only and the returned
    /// report has no `domains` (its summary is complete): memory then holds
    /// the list's names and the work in flight, not one row per domain.
    pub async fn run_with(
        &self,
        jobs: Vec<Job>,
        stop: impl Future<Output = StopReason>,
        rows: Rows,
        mut on_done: impl FnMut(&DomainReport),
    ) -> Report {
        let now = OffsetDateTime::now_utc();
        let inspect = Arc::new(InspectSettings {
            trust: self.options.trust.clone(),
            expiry_warn_days: self.options.expiry_warn_days,
            now,
        });
        let keep = rows == Rows::Keep;
        let mut tally = Tally::new(Gate::of_options(&self.options));
        let mut results: Vec<Option<DomainReport>> = if keep {
            vec![None; jobs.len()]
        } else {
            Vec::new()
        };
        let mut emit = |index: usize, report: DomainReport, tally: &mut Tally| {
            on_done(&report);
            tally.add(&report);
            if keep {
                results[index] = Some(report);
            }
        };
        // Rows an earlier report already has come first, as before; what
        // is left to audit is only names.
        let mut to_audit: Vec<(usize, DomainName)> = Vec::new();
        for (index, job) in jobs.into_iter().enumerate() {
            match job {
                Job::Done(report) => emit(index, *report, &mut tally),
                Job::Audit(domain) => to_audit.push((index, domain)),
            }
        }
        // A window of `--concurrency` domains in flight: a domain's task
        // is spawned when a slot frees up, not before. Spawning all of
        // them up front (each waiting for a permit) cost a task, with its
        // whole future, per domain of the list: memory that grew with the
        // list, not with the concurrency (issue 15). Domains start in
        // input order, as they did under the permits.
        let window = self.options.concurrency.max(1);
        let mut waiting = to_audit.into_iter();
        let mut tasks = JoinSet::new();
        let mut task_index = HashMap::new();
        tokio::pin!(stop);
        let mut stopped = None;
        loop {
            while stopped.is_none() && tasks.len() < window {
                let Some((index, domain)) = waiting.next() else {
                    break;
                };
                let this = self.clone();
                let inspect = inspect.clone();
                let audited = domain.clone();
                let handle = tasks
                    .spawn(async move { (index, this.audit_domain(&audited, &inspect).await) });
                task_index.insert(handle.id(), (index, domain));
            }
            let joined = tokio::select! {
                joined = tasks.join_next_with_id() => joined,
                reason = &mut stop, if stopped.is_none() => {
                    stopped = Some(reason);
                    tasks.abort_all();
                    continue;
                }
            };
            let Some(joined) = joined else { break };
            match joined {
                Ok((id, (index, report))) => {
                    task_index.remove(&id);
                    emit(index, report, &mut tally);
                }
                // Aborted by the stop: reported below as unfinished.
                Err(err) if err.is_cancelled() => {}
                Err(err) => {
                    // A bug, not the peer's doing; still, keep the row.
                    if let Some((index, domain)) = task_index.remove(&err.id()) {
                        emit(index, internal_error(&domain, &err.to_string()), &mut tally);
                    }
                }
            }
        }
        // Unfinished domains (their tasks aborted by the stop, or never
        // started), in input order.
        let why = stopped.unwrap_or(StopReason::Interrupted);
        let mut abandoned: Vec<(usize, DomainName)> = task_index.into_values().collect();
        abandoned.extend(waiting);
        abandoned.sort_by_key(|(index, _)| *index);
        for (index, domain) in abandoned {
            emit(index, unfinished(&domain, why), &mut tally);
        }
        let domains_out: Vec<DomainReport> = results.into_iter().flatten().collect();
        let mut report = self.report(domains_out, tally, now);
        report.summary.stopped = stopped;
        report
    }

    fn report(&self, domains: Vec<DomainReport>, tally: Tally, now: OffsetDateTime) -> Report {
        let threshold = self.options.threshold;
        let summary = Summary {
            probes: self.shared.probes.load(Ordering::Relaxed),
            mx_reused: self.shared.reused.load(Ordering::Relaxed),
            dns_retries: self.resolver.retries(),
            ..tally.summary()
        };
        Report {
            schema_version: crate::report::SCHEMA_VERSION,
            tool: ToolInfo::default(),
            generated_at: now.format(&Rfc3339).unwrap_or_default(),
            settings: RunSettings {
                service: self.options.service,
                port: self.options.port,
                fail_below: threshold.0,
                fail_level: self.options.fail_level.map(|t| t.0),
                expiry_warn_days: self.options.expiry_warn_days,
                extra_trust_anchors: self.options.trust.extra_anchors(),
                dnssec: self.options.dnssec,
                scan: self.options.scan,
                resolvers: match &self.options.dns {
                    DnsServers::System => vec!["system".to_string()],
                    DnsServers::Explicit(addrs) => addrs.iter().map(ToString::to_string).collect(),
                },
                allow_local_addresses: self.options.allow_local,
                max_mx_hosts: self.options.max_mx_hosts,
                max_addresses_per_host: self.options.max_addresses,
                address_budget_secs: self.options.address_budget.as_secs_f64(),
                merged_from: Vec::new(),
                input_differences: Vec::new(),
            },
            domains,
            summary,
        }
    }

    /// Resolver → prober → inspector for one domain.
    pub async fn audit_domain(
        &self,
        domain: &DomainName,
        inspect: &InspectSettings,
    ) -> DomainReport {
        if self.options.service.is_submission() {
            return self.audit_service(domain, inspect).await;
        }
        let families = self.options.families;
        let resolution = self.resolver.mail_hosts(domain, families).await;
        if let Some(message) = self.health.domain_message(&resolution) {
            // The resolver's fault, as the start-of-run check foresaw:
            // not a DNS error of this partner.
            return DomainReport::failed(
                domain.as_str(),
                Failure::new(ErrorPhase::Dns, ErrorKind::ResolverUnusable, message),
            );
        }
        let MxResolution::Hosts { hosts, .. } = &resolution else {
            let evidence = DomainEvidence {
                resolution,
                mx: Vec::new(),
                mx_left_out: Vec::new(),
                mta_sts: None,
                tls_rpt: None,
            };
            return self.row(domain, &evidence, inspect);
        };
        // Hosts come sorted by preference (then name): the cap keeps the
        // ones senders try first and lists the rest.
        let kept = hosts.len().min(self.options.max_mx_hosts.max(1));
        let (hosts, left_out) = hosts.split_at(kept);
        let mx_left_out = left_out.to_vec();
        let mut lookups = JoinSet::new();
        for (i, record) in hosts.iter().enumerate() {
            let this = self.clone();
            let record = record.clone();
            let port = self.options.port;
            lookups.spawn(async move { (i, this.observe_mx(record, port).await) });
        }
        // Policies are looked up while the MX hosts are probed.
        let tls_rpt_name = format!("_smtp._tls.{}", domain.to_fqdn());
        let (observed, mta_sts, tls_rpt) = tokio::join!(
            join_in_order(lookups, hosts.len()),
            self.observe_mta_sts(domain),
            self.resolver.txt(&tls_rpt_name),
        );
        // A lost MX or address would silently improve the verdict:
        // report the whole domain as an internal error instead.
        let mx = match observed.and_then(|all| all.into_iter().collect::<Result<Vec<_>, _>>()) {
            Ok(all) => all,
            Err(why) => return internal_error(domain, &why),
        };
        let evidence = DomainEvidence {
            resolution,
            mx,
            mx_left_out,
            mta_sts: Some(mta_sts),
            tls_rpt: Some(tls_rpt.0),
        };
        self.row(domain, &evidence, inspect)
    }

    /// Resolver → prober → inspector for one name of a submission service
    /// (`--service submission|submissions`): its SRV targets or the name
    /// itself, each probed on its port like an MX host (one observation
    /// per host and port, shared across names), graded by the client
    /// rubric. No MTA-STS, TLS-RPT or delivery: those are about senders.
    async fn audit_service(&self, domain: &DomainName, inspect: &InspectSettings) -> DomainReport {
        let service = self.options.service;
        let label = service.srv_label().unwrap_or_default();
        let found = self
            .resolver
            .service_hosts(domain, label, self.options.families)
            .await;
        if let Some(message) = self.health.domain_message(&found.resolution) {
            return DomainReport::failed(
                domain.as_str(),
                Failure::new(ErrorPhase::Dns, ErrorKind::ResolverUnusable, message),
            );
        }
        let (hosts, left_out) = match &found.resolution {
            MxResolution::Hosts { hosts, .. } => {
                let kept = hosts.len().min(self.options.max_mx_hosts.max(1));
                (hosts[..kept].to_vec(), hosts[kept..].to_vec())
            }
            _ => (Vec::new(), Vec::new()),
        };
        let mut lookups = JoinSet::new();
        for (i, record) in hosts.iter().enumerate() {
            let this = self.clone();
            let record = record.clone();
            // An SRV record's port is the service's address; --port stands
            // in for the service's own port when the name is the host.
            let port = found
                .ports
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(self.options.port);
            lookups.spawn(async move { (i, this.observe_mx(record, port).await) });
        }
        let observed = join_in_order(lookups, hosts.len()).await;
        let probed = match observed.and_then(|all| all.into_iter().collect::<Result<Vec<_>, _>>()) {
            Ok(all) => all,
            Err(why) => return internal_error(domain, &why),
        };
        let evidence = ServiceEvidence {
            service,
            from_srv: found.from_srv,
            resolution: found.resolution,
            hosts: probed,
            hosts_left_out: left_out,
        };
        let mut row = DomainReport::from(&inspector::submission::inspect_service(
            domain, &evidence, inspect,
        ));
        crate::report::advice::annotate(&mut row, self.options.port);
        row
    }

    /// The report row of a domain's evidence, with the advice for its
    /// findings (`report::advice`), so that every output shows the same.
    fn row(
        &self,
        domain: &DomainName,
        evidence: &DomainEvidence,
        inspect: &InspectSettings,
    ) -> DomainReport {
        let mut row = DomainReport::from(&inspector::inspect_domain(domain, evidence, inspect));
        crate::report::advice::annotate(&mut row, self.options.port);
        row
    }

    /// The `_mta-sts` record, and the policy when the record is valid.
    async fn observe_mta_sts(&self, domain: &DomainName) -> MtaStsEvidence {
        let (txt, _) = self
            .resolver
            .txt(&format!("_mta-sts.{}", domain.to_fqdn()))
            .await;
        let fetch = match &txt {
            Answer::Records(records) => match mta_sts::select_record(records) {
                StsTxtLookup::Valid(_) => Some(self.sts.fetch(domain).await.map(Fetched::read)),
                _ => None,
            },
            _ => None,
        };
        MtaStsEvidence { txt, fetch }
    }

    /// Addresses, then one probe per address (at most
    /// [`PER_ADDRESS_CONNECTIONS`] at once to any IP).
    async fn observe_mx(
        &self,
        record: crate::resolver::MxRecord,
        port: u16,
    ) -> Result<MxEvidence, String> {
        let host = match &record.exchange {
            // RFC 6761: localhost names are the loopback address, whatever
            // DNS says; a sender given one connects to itself. Not looked
            // up, not probed, even with --allow-local-addresses.
            Exchange::Host(host) if !host.is_localhost() => host,
            _ => {
                return Ok(MxEvidence {
                    record,
                    addresses: AddressEvidence::NotLookedUp,
                    tlsa: None,
                    port,
                    probes: Vec::new(),
                    addresses_left_out: Vec::new(),
                });
            }
        };
        // Domains that share an MX host (a provider's fleet) share its
        // lookups and probes: the first domain to need it does the work,
        // the others wait for and reuse the result.
        let cell = {
            let mut hosts = lock(&self.shared.hosts);
            let key = (host.clone(), port, self.options.scan);
            let now = tokio::time::Instant::now();
            // A long-lived auditor observes a host again once its
            // observation is older than the memory (one still being made
            // is awaited, never made twice).
            let fresh = |(made, cell): &(tokio::time::Instant, HostCell)| {
                self.memory
                    .is_none_or(|m| *made + m > now || !cell.initialized())
            };
            match hosts.get(&key).filter(|entry| fresh(entry)) {
                Some((_, cell)) => {
                    self.shared.reused.fetch_add(1, Ordering::Relaxed);
                    cell.clone()
                }
                None => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    hosts.insert(key, (now, cell.clone()));
                    cell
                }
            }
        };
        let observed = cell
            .get_or_init(|| async { self.observe_host(host, port).await })
            .await
            .clone()?;
        Ok(MxEvidence {
            record,
            addresses: observed.addresses,
            tlsa: observed.tlsa,
            port,
            probes: observed.probes,
            addresses_left_out: observed.left_out,
        })
    }

    /// Addresses, TLSA records and one probe per address of one MX host:
    /// at most `--max-addresses-per-host` of them, and only those a sender
    /// could use (see [`AddressClass`]); the others get a row saying why.
    async fn observe_host(&self, host: &DomainName, port: u16) -> Result<HostObservation, String> {
        let (addresses, targets, left_out) =
            match self.options.connect_to.route(host.as_str(), port) {
                // The auditor chose this socket: nothing to judge about senders.
                Route::Fixed(sa) => (AddressEvidence::ConnectTo(sa), vec![(sa, true)], Vec::new()),
                Route::Resolved { port } => {
                    let found = self.resolver.addresses(host, self.options.families).await;
                    let (kept, left_out) = found.split(self.options.max_addresses.max(1));
                    // The class of the address a sender would use: the resolved
                    // one (a --connect-to rule here changes only the port).
                    let targets = kept
                        .into_iter()
                        .map(|ip| {
                            let allowed = AddressClass::of(ip).probed(self.options.allow_local);
                            (SocketAddr::new(ip, port), allowed)
                        })
                        .collect();
                    (AddressEvidence::Resolved(found), targets, left_out)
                }
            };
        let mut probes = JoinSet::new();
        for (i, &(addr, allowed)) in targets.iter().enumerate() {
            let target = ProbeTarget {
                host: host.clone(),
                addr,
            };
            let this = self.clone();
            probes.spawn(async move {
                if !allowed {
                    return (i, not_probed(addr));
                }
                // Every connection to this address for this host draws on
                // one budget, the main probe's time first.
                let budget = Budget::new(this.options.address_budget);
                let mut probe = this.polite_probe(&target).await;
                budget.spend(Duration::from_millis(probe.timings.total));
                this.scan_address(&target, &mut probe, &budget).await;
                (i, probe)
            });
        }
        // RFC 7672 §2.2: TLSA only for hosts whose addresses are secure.
        let secure =
            matches!(&addresses, AddressEvidence::Resolved(a) if a.dnssec == Dnssec::Secure);
        let alias = match &addresses {
            AddressEvidence::Resolved(a) => a
                .cname
                .as_deref()
                .and_then(|c| DomainName::from_dns(c).ok()),
            _ => None,
        };
        let tlsa_lookup = async {
            // Mail clients do not use DANE: no TLSA for submission.
            if !secure || self.options.service.is_submission() {
                return None;
            }
            // RFC 7672 §2.2.2: for a (secure) CNAME alias, TLSA records at
            // the target name come first; the original name is the fallback.
            if let Some(target) = &alias {
                let (answer, dnssec) = self.resolver.tlsa(target, port).await;
                if !matches!(answer, Answer::NoData | Answer::NxDomain) {
                    return Some(TlsaEvidence { answer, dnssec });
                }
            }
            let (answer, dnssec) = self.resolver.tlsa(host, port).await;
            Some(TlsaEvidence { answer, dnssec })
        };
        let (results, tlsa) = tokio::join!(join_in_order(probes, targets.len()), tlsa_lookup);
        Ok(HostObservation {
            addresses,
            tlsa,
            probes: targets
                .into_iter()
                .map(|(addr, _)| addr)
                .zip(results?)
                .collect(),
            left_out,
        })
    }

    /// One probe, minding the address's manners: at most `--per-address`
    /// connections at once, no new connection while a 421 back-off runs,
    /// and no second try at an address that timed out (unless
    /// `--retries`).
    async fn polite_probe(&self, target: &ProbeTarget) -> Probe {
        // Keyed by address and port: in production the port is always the
        // same, in the lab many servers share 127.0.0.1.
        let ip = target.addr;
        let gate = self.gate(ip);
        let mut attempt = 0;
        loop {
            // Hold the address's permit while deciding: a probe queued
            // behind one that is timing out must see that it did.
            let _permit = gate.acquire().await;
            let (timed_out, backoff) = {
                let states = lock(&self.shared.addresses);
                states
                    .get(&ip)
                    .filter(|s| s.remembered(self.memory))
                    .map_or((false, None), |s| (s.timed_out, s.backoff_until))
            };
            if timed_out && attempt == 0 && self.options.retries == 0 {
                return Probe {
                    error: Some(ProbeError {
                        phase: Phase::Connect,
                        kind: ProbeErrorKind::Skipped,
                    }),
                    ..Probe::default()
                };
            }
            if let Some(until) = backoff {
                tokio::time::sleep_until(until).await;
            }
            let probe = prober::probe(target, &self.probe_settings).await;
            self.shared.probes.fetch_add(1, Ordering::Relaxed);
            let (timeout, busy) = self.note_outcome(ip, probe.error.as_ref());
            if (timeout || busy) && attempt < self.options.retries {
                attempt += 1;
                continue;
            }
            return probe;
        }
    }

    /// Records what a connection's failure says about the address: a
    /// timeout in any phase (not contacted again unless `--retries`),
    /// or a 421 (a growing back-off before the next connection). Returns
    /// `(timed_out, busy)`.
    fn note_outcome(&self, ip: SocketAddr, error: Option<&ProbeError>) -> (bool, bool) {
        let (timeout, busy) = match error {
            // A timeout in any phase (a stalled handshake too): waiting it
            // out again on a scan or injection connection would cost a
            // whole --timeout each.
            Some(ProbeError {
                kind: ProbeErrorKind::Timeout(_),
                ..
            }) => (true, false),
            Some(ProbeError {
                phase: Phase::Banner,
                kind: ProbeErrorKind::Rejected(reply),
            }) => (false, reply.code == 421),
            _ => (false, false),
        };
        if timeout || busy {
            let mut states = lock(&self.shared.addresses);
            let state = states.entry(ip).or_insert_with(AddressState::new);
            if !state.remembered(self.memory) {
                // Forgotten: this is a first time again.
                *state = AddressState::new();
            }
            state.since = tokio::time::Instant::now();
            state.timed_out |= timeout;
            if busy {
                // 421 means "too busy, come back later": wait longer
                // each time before the next connection to this address.
                state.busy_count += 1;
                let wait = Duration::from_secs(2u64.saturating_pow(state.busy_count.min(6)));
                state.backoff_until = Some(tokio::time::Instant::now() + wait);
            }
        }
        (timeout, busy)
    }

    /// The further connections of one address, after its main probe and
    /// only when that got STARTTLS accepted. In every `--scan` mode: the
    /// fallback hello when the main handshake failed (what an OpenSSL
    /// sender gets instead) and the injection test, because both decide
    /// what senders get, so the verdict must not depend on the mode. Then,
    /// unless `--scan off`, the protocol scan (the configuration axis).
    /// Last, in every mode, the second hello for the certificate of the
    /// other key type ([`dual`]) after a main handshake that showed an RSA
    /// or ECDSA one.
    /// The two that decide the verdict come first, so that a budget spent
    /// by a slow scan never changes it. None starts once `budget`
    /// (`--address-budget`) is spent, and one running then is abandoned.
    async fn scan_address(&self, target: &ProbeTarget, probe: &mut Probe, budget: &Budget) {
        let mode = self.options.scan;
        // A server that sent plaintext after its 220 is already failing
        // STARTTLS; more connections would show the same.
        let plaintext_after = matches!(
            &probe.error,
            Some(ProbeError {
                kind: ProbeErrorKind::PlaintextAfterStarttls(_),
                ..
            })
        );
        if !matches!(probe.starttls, StartTls::Accepted | StartTls::Implicit) || plaintext_after {
            return;
        }
        let connector = GatedConnector {
            auditor: self,
            target,
            budget,
        };
        let handshake_failed = probe
            .error
            .as_ref()
            .is_some_and(|e| e.phase == Phase::TlsHandshake);
        if handshake_failed {
            use scan::Connector as _;
            probe.fallback = connector
                .hello(&scan::openssl_default_hello())
                .await
                .map(scan::Fallback::from);
        }
        // The injection test and the scan do not depend on each other: they
        // run side by side, each connection under the address's gate (at
        // most `--per-address` at once), instead of the scan waiting for
        // the test's whole dialogue.
        // Implicit TLS has no STARTTLS to inject behind.
        let implicit = probe.starttls == StartTls::Implicit;
        let injection = async {
            if implicit {
                return None;
            }
            let check = injection::check(target, &self.probe_settings);
            self.gated(target.addr, budget, check, |r| match r {
                Err(InjectionError::Smtp(e)) => Some(e),
                _ => None,
            })
            .await
        };
        let tls = probe.tls.as_ref();
        let scanned = async {
            if mode == ScanMode::Off {
                None
            } else {
                Some(scan::run(mode, tls, &connector).await)
            }
        };
        let (injection, scanned) = tokio::join!(injection, scanned);
        probe.injection = injection;
        probe.scan = scanned;
        // The second hello of a dual-certificate server, in every mode
        // because its findings do not depend on the mode; last, because
        // it decides no verdict (the main certificate does), so a budget
        // spent before it changes only what is known about the other
        // certificate.
        let Some(leaf) = probe.tls.as_ref().and_then(|t| t.chain.first()) else {
            return;
        };
        let Some(family) = dual::family_to_ask(leaf) else {
            return;
        };
        let ask = dual::ask(target, &self.probe_settings, family, leaf);
        probe.other_certificate = self
            .gated(target.addr, budget, ask, |r| r.as_ref().err())
            .await
            .and_then(Result::ok);
    }

    /// One extra connection (scan or injection test) under the address's
    /// manners: the `--per-address` cap, none at all once the address
    /// timed out or answered 421 in this run (`None`): a busy server is
    /// not scanned harder; and none once `budget` (the address's
    /// `--address-budget`) is spent, each cut off (`None`) when it would
    /// overspend it.
    async fn gated<T>(
        &self,
        addr: SocketAddr,
        budget: &Budget,
        connection: impl Future<Output = T>,
        failure: impl Fn(&T) -> Option<&ProbeError>,
    ) -> Option<T> {
        let gate = self.gate(addr);
        let _permit = gate.acquire().await;
        let unwelcome = {
            let states = lock(&self.shared.addresses);
            states.get(&addr).is_some_and(|s| {
                s.remembered(self.memory) && (s.timed_out || s.backoff_until.is_some())
            })
        };
        // Read after the permit: the wait for it is not the server's time.
        let left = budget.remaining();
        if unwelcome || left.is_zero() {
            return None;
        }
        // Counted before it runs: a connection the budget cuts off was
        // still made.
        self.shared.probes.fetch_add(1, Ordering::Relaxed);
        let started = tokio::time::Instant::now();
        let out = tokio::time::timeout(left, connection).await;
        budget.spend(started.elapsed());
        let out = out.ok()?;
        self.note_outcome(addr, failure(&out));
        Some(out)
    }

    fn gate(&self, ip: SocketAddr) -> Arc<Semaphore> {
        let mut map = lock(&self.per_address);
        map.entry(ip)
            .or_insert_with(|| Arc::new(Semaphore::new(self.options.per_address.max(1))))
            .clone()
    }
}

fn resolver_settings(options: &AuditOptions) -> ResolverSettings {
    ResolverSettings {
        servers: options.dns.clone(),
        timeout: options.timeouts.dns,
        dnssec: options.dnssec,
        trust_anchors: options.trust_anchors.clone(),
    }
}

/// Scan connections through the auditor's per-address gate.
struct GatedConnector<'a> {
    auditor: &'a Auditor,
    target: &'a ProbeTarget,
    /// The address's `--address-budget`.
    budget: &'a Budget,
}

/// The `--address-budget` of one address of one MX host: how long its
/// connections may take, added up (also those that run side by side,
/// under `--per-address`: the budget is of the server's time). The wait
/// for a `--per-address` permit does not count: behind other domains'
/// connections to a shared address, that is the run's doing, not the
/// server's.
struct Budget {
    limit: Duration,
    spent: Mutex<Duration>,
}

impl Budget {
    fn new(limit: Duration) -> Self {
        Budget {
            limit,
            spent: Mutex::new(Duration::ZERO),
        }
    }

    fn remaining(&self) -> Duration {
        self.limit.saturating_sub(*lock(&self.spent))
    }

    fn spend(&self, time: Duration) {
        *lock(&self.spent) += time;
    }
}

impl scan::Connector for GatedConnector<'_> {
    fn hello<'b>(
        &'b self,
        spec: &'b scan::HelloSpec,
    ) -> Pin<Box<dyn Future<Output = Option<scan::HelloResult>> + Send + 'b>> {
        let attempt = scan::attempt(self.target, &self.auditor.probe_settings, spec);
        Box::pin(
            self.auditor
                .gated(self.target.addr, self.budget, attempt, |r| match r {
                    Err(scan::AttemptError::Smtp(e)) => Some(e),
                    _ => None,
                }),
        )
    }
}

/// The row of an address the audit may not connect to: its class says why.
fn not_probed(addr: SocketAddr) -> Probe {
    Probe {
        error: Some(ProbeError {
            phase: Phase::Connect,
            kind: ProbeErrorKind::NotProbed(AddressClass::of(addr.ip())),
        }),
        ..Probe::default()
    }
}

/// Waits for tasks that return `(index, value)` and puts the values in
/// index order. A task that panicked is an error naming the panic.
async fn join_in_order<T: 'static>(
    mut set: JoinSet<(usize, T)>,
    len: usize,
) -> Result<Vec<T>, String> {
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(len).collect();
    while let Some(joined) = set.join_next().await {
        let (i, value) = joined.map_err(|e| format!("task failed: {e}"))?;
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(value);
        }
    }
    slots
        .into_iter()
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| "a task returned no result".to_string())
}

/// One unit of work for [`Auditor::run`].
#[derive(Debug, Clone)]
pub enum Job {
    /// Audit this domain.
    Audit(DomainName),
    /// A row that is already known (e.g. an invalid input line); it is
    /// reported in its place without any network work.
    Done(Box<DomainReport>),
}

/// Whether [`Auditor::run_with`] keeps every row for the returned report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// For formats written at the end (json, table, junit) and for callers
    /// that read the rows (policy, tlsrpt --audit): memory per domain.
    Keep,
    /// For formats written row by row as domains finish: only counters.
    Stream,
}

/// The report row of a domain the run did not finish.
fn unfinished(domain: &DomainName, why: StopReason) -> DomainReport {
    let message = match why {
        StopReason::Deadline => "not finished: the run's --deadline passed".to_string(),
        StopReason::Interrupted => "not finished: the run was interrupted".to_string(),
    };
    DomainReport::failed(
        domain.as_str(),
        Failure {
            phase: ErrorPhase::Run,
            kind: match why {
                StopReason::Deadline => ErrorKind::Deadline,
                StopReason::Interrupted => ErrorKind::Interrupted,
            },
            message,
        },
    )
}

fn internal_error(domain: &DomainName, why: &str) -> DomainReport {
    DomainReport::failed(
        domain.as_str(),
        Failure {
            phase: ErrorPhase::Internal,
            kind: ErrorKind::Internal,
            message: format!("internal error: {why}"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::Verdict;

    /// A row known before the run (no network work), with `verdict`.
    fn known(name: &str, verdict: Verdict) -> Job {
        let mut row = DomainReport::failed(
            name,
            Failure::new(ErrorPhase::Input, ErrorKind::InvalidDomain, "test row"),
        );
        row.verdict = verdict;
        Job::Done(Box::new(row))
    }

    /// An auditor whose MX `mx.a.test` is the lab server behind `port`
    /// (a fixed route: no DNS), loopback allowed, short timeouts.
    #[cfg(feature = "lab")]
    fn lab_auditor(port: u16) -> Auditor {
        let mut options = AuditOptions {
            allow_local: true,
            scan: ScanMode::Off,
            timeouts: crate::options::Timeouts::new(Duration::from_secs(3), Duration::from_secs(3)),
            ..AuditOptions::default()
        };
        let rule: crate::options::ConnectTo = format!("mx.a.test:25:127.0.0.1:{port}")
            .parse()
            .expect("rule");
        options.connect_to = crate::options::ConnectRules(vec![rule]);
        Auditor::new(options).expect("auditor")
    }

    #[cfg(feature = "lab")]
    fn mx_record() -> crate::resolver::MxRecord {
        crate::resolver::MxRecord {
            preference: 10,
            exchange: Exchange::Host("mx.a.test".parse().expect("name")),
        }
    }

    /// Within a run (no memory) a host is observed once, however many
    /// domains ask; a long-lived auditor reuses the observation for its
    /// memory, then observes again; another scan mode does not borrow an
    /// observation that has no scan. `forget_old` then drops what is past
    /// the memory and the idle gates.
    #[cfg(feature = "lab")]
    #[tokio::test(flavor = "multi_thread")]
    async fn a_long_lived_auditor_observes_a_host_again_after_its_memory() {
        use crate::lab::smtp::{Behaviour, SmtpServer};
        let server = SmtpServer::start(Behaviour::plain("mx.a.test")).await;
        let run = lab_auditor(server.port());
        run.observe_mx(mx_record(), 25).await.expect("observed");
        run.observe_mx(mx_record(), 25).await.expect("observed");
        assert_eq!(server.connections(), 1, "one probe per address in a run");

        let memory = Duration::from_millis(300);
        let served = lab_auditor(server.port()).remembering(memory);
        served.observe_mx(mx_record(), 25).await.expect("observed");
        served.observe_mx(mx_record(), 25).await.expect("observed");
        assert_eq!(server.connections(), 2, "reused within the memory");
        served
            .with_scan(ScanMode::Light)
            .observe_mx(mx_record(), 25)
            .await
            .expect("observed");
        // A plain server: one connection, no STARTTLS, nothing to scan.
        assert_eq!(server.connections(), 3, "a scan mode of its own");
        assert_eq!(served.remembered().0, 2);
        tokio::time::sleep(memory + Duration::from_millis(50)).await;
        served.observe_mx(mx_record(), 25).await.expect("observed");
        assert_eq!(server.connections(), 4, "observed again after the memory");
        // The light observation is past the memory, the fresh off one is not.
        served.forget_old(100);
        assert_eq!(served.remembered(), (1, 0));
        // Beyond the cap, the oldest go.
        served.forget_old(0);
        assert_eq!(served.remembered().0, 0);
    }

    /// What an address did is remembered for a run, and for the memory
    /// of a long-lived auditor after its last trouble; a pending 421
    /// back-off outlives the memory.
    #[tokio::test(start_paused = true)]
    async fn address_manners_are_forgotten_after_the_memory_not_before() {
        let memory = Some(Duration::from_secs(60));
        let mut state = AddressState::new();
        state.timed_out = true;
        assert!(state.remembered(None));
        assert!(state.remembered(memory));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(state.remembered(None), "a run never forgets");
        assert!(!state.remembered(memory));
        state.backoff_until = Some(tokio::time::Instant::now() + Duration::from_secs(5));
        assert!(state.remembered(memory), "the server asked to wait");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(!state.remembered(memory));
    }

    /// A 421 seen by one scrape's audit holds the next one's connection
    /// back: the back-off lives in the long-lived auditor, not in a run.
    #[cfg(feature = "lab")]
    #[tokio::test(flavor = "multi_thread")]
    async fn a_421_back_off_holds_across_runs_of_a_long_lived_auditor() {
        use crate::lab::smtp::{Banner, Behaviour, SmtpServer};
        let server = SmtpServer::start(Behaviour {
            banner: Banner::Reject421,
            ..Behaviour::plain("mx.a.test")
        })
        .await;
        let served = lab_auditor(server.port()).remembering(Duration::from_secs(60));
        let target = ProbeTarget {
            host: "mx.a.test".parse().expect("name"),
            addr: SocketAddr::from(([127, 0, 0, 1], server.port())),
        };
        let first = served.polite_probe(&target).await;
        assert!(first.error.is_some());
        // The next scrape's auditor (same state): waits out the back-off
        // (2 s after one 421) before its connection.
        let started = tokio::time::Instant::now();
        served.polite_probe(&target).await;
        assert!(
            started.elapsed() >= Duration::from_millis(1900),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.connections(), 2);
    }

    #[tokio::test]
    async fn a_streamed_run_keeps_counters_not_rows() {
        let auditor = Auditor::new(AuditOptions::default()).expect("auditor");
        let jobs = || {
            vec![
                known("a.test", Verdict::Secure),
                known("b.test", Verdict::Plaintext),
                known("c.test", Verdict::Error),
            ]
        };
        let mut streamed_rows = Vec::new();
        let streamed = auditor
            .run_with(jobs(), std::future::pending(), Rows::Stream, |d| {
                streamed_rows.push(d.domain.clone())
            })
            .await;
        let kept = auditor
            .run_with(jobs(), std::future::pending(), Rows::Keep, |_| {})
            .await;
        assert!(streamed.domains.is_empty());
        assert_eq!(streamed_rows, ["a.test", "b.test", "c.test"]);
        let names: Vec<&str> = kept.domains.iter().map(|d| d.domain.as_str()).collect();
        assert_eq!(names, ["a.test", "b.test", "c.test"]);
        // The summary (and so the exit code) is the same either way.
        for summary in [&streamed.summary, &kept.summary] {
            assert_eq!(summary.domains, 3);
            assert_eq!(summary.verdicts[&Verdict::Secure], 1);
            assert_eq!(summary.verdicts[&Verdict::Plaintext], 1);
            assert_eq!(summary.verdicts[&Verdict::Error], 1);
            assert_eq!(summary.verdicts.len(), Verdict::ALL.len());
        }
        assert_eq!(
            streamed.summary.below_threshold,
            kept.summary.below_threshold
        );
        assert_eq!(kept.summary.below_threshold, 2);
    }
}
