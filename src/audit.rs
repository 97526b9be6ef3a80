//! The pipeline: domains in, one [`DomainReport`] per domain out, in input
//! order. Resolver → prober → inspector, with bounded concurrency and a
//! per-address connection cap so big providers are not hammered.
//!
//! A domain's failure never costs another domain its row: every stage
//! returns data, not errors, and even a task that died is reported.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::domain::DomainName;
use crate::inspector::{self, AddressEvidence, InspectSettings, MxEvidence, Verdict};
use crate::options::{AuditOptions, DnsServers, Route};
use crate::prober::{self, ProbeSettings, ProbeTarget};
use crate::report::{
    DomainReport, ErrorPhase, ErrorReport, MxSource, Report, RunSettings, Summary, ToolInfo,
};
use crate::resolver::{Exchange, MxResolution, Resolver, ResolverSettings, ResolverSetupError};

/// Connections to one IP address at the same time, at most. Large
/// providers rate-limit; two is what a polite MTA uses.
const PER_ADDRESS_CONNECTIONS: usize = 2;

/// Runs audits with one configuration.
#[derive(Clone)]
pub struct Auditor {
    resolver: Resolver,
    options: Arc<AuditOptions>,
    probe_settings: Arc<ProbeSettings>,
    per_address: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
}

impl Auditor {
    pub fn new(options: AuditOptions) -> Result<Self, ResolverSetupError> {
        let resolver = Resolver::new(&ResolverSettings {
            servers: options.dns.clone(),
            timeout: options.timeouts.dns,
            dnssec: options.dnssec,
            trust_anchors: options.trust_anchors.clone(),
        })?;
        let probe_settings = ProbeSettings {
            timeouts: options.timeouts,
            ehlo_name: options.ehlo_name.clone(),
        };
        Ok(Auditor {
            resolver,
            options: Arc::new(options),
            probe_settings: Arc::new(probe_settings),
            per_address: Arc::default(),
        })
    }

    /// Audits every domain; `on_done` sees each report as it completes
    /// (for progress and streaming), the returned report keeps input order.
    pub async fn run(
        &self,
        domains: Vec<DomainName>,
        mut on_done: impl FnMut(&DomainReport),
    ) -> Report {
        let now = OffsetDateTime::now_utc();
        let inspect = Arc::new(InspectSettings {
            trust: self.options.trust.clone(),
            expiry_warn_days: self.options.expiry_warn_days,
            now,
        });
        let limit = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let mut task_index = HashMap::new();
        for (index, domain) in domains.iter().enumerate() {
            let this = self.clone();
            let inspect = inspect.clone();
            let limit = limit.clone();
            let domain = domain.clone();
            let handle = tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (index, this.audit_domain(&domain, &inspect).await)
            });
            task_index.insert(handle.id(), index);
        }
        let mut results: Vec<Option<DomainReport>> = vec![None; domains.len()];
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, (index, report))) => {
                    on_done(&report);
                    results[index] = Some(report);
                }
                Err(err) => {
                    // A bug, not the peer's doing; still, keep the row.
                    if let Some(&index) = task_index.get(&err.id()) {
                        let report = internal_error(&domains[index], &err.to_string());
                        on_done(&report);
                        results[index] = Some(report);
                    }
                }
            }
        }
        let domains_out: Vec<DomainReport> = results
            .into_iter()
            .zip(&domains)
            .map(|(r, d)| r.unwrap_or_else(|| internal_error(d, "not audited")))
            .collect();
        self.report(domains_out, now)
    }

    fn report(&self, domains: Vec<DomainReport>, now: OffsetDateTime) -> Report {
        let threshold = self.options.threshold;
        let mut summary = Summary {
            domains: domains.len(),
            // Every verdict, zeros included: monitoring wants stable keys.
            verdicts: Verdict::ALL.iter().map(|v| (*v, 0)).collect(),
            below_threshold: 0,
        };
        for d in &domains {
            *summary.verdicts.entry(d.verdict).or_default() += 1;
            if threshold.fails(d.verdict) {
                summary.below_threshold += 1;
            }
        }
        Report {
            schema_version: crate::report::SCHEMA_VERSION,
            tool: ToolInfo::default(),
            generated_at: now.format(&Rfc3339).unwrap_or_default(),
            settings: RunSettings {
                port: self.options.port,
                fail_below: threshold.0,
                expiry_warn_days: self.options.expiry_warn_days,
                extra_trust_anchors: self.options.trust.extra_anchors(),
                resolvers: match &self.options.dns {
                    DnsServers::System => vec!["system".to_string()],
                    DnsServers::Explicit(addrs) => addrs.iter().map(ToString::to_string).collect(),
                },
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
        let families = self.options.families;
        let resolution = self.resolver.mail_hosts(domain, families).await;
        let mut evidence = Vec::new();
        if let MxResolution::Hosts { hosts, .. } = &resolution {
            let mut lookups = JoinSet::new();
            for (i, record) in hosts.iter().enumerate() {
                let this = self.clone();
                let record = record.clone();
                lookups.spawn(async move { (i, this.observe_mx(record).await) });
            }
            // A lost MX or address would silently improve the verdict:
            // report the whole domain as an internal error instead.
            let observed = join_in_order(lookups, hosts.len())
                .await
                .and_then(|all| all.into_iter().collect::<Result<Vec<_>, _>>());
            match observed {
                Ok(all) => evidence = all,
                Err(why) => return internal_error(domain, &why),
            }
        }
        inspector::inspect_domain(domain, &resolution, &evidence, inspect)
    }

    /// Addresses, then one probe per address (at most
    /// [`PER_ADDRESS_CONNECTIONS`] at once to any IP).
    async fn observe_mx(&self, record: crate::resolver::MxRecord) -> Result<MxEvidence, String> {
        let Exchange::Host(host) = &record.exchange else {
            return Ok(MxEvidence {
                record,
                addresses: AddressEvidence::NotLookedUp,
                probes: Vec::new(),
            });
        };
        let (addresses, targets) = match self
            .options
            .connect_to
            .route(host.as_str(), self.options.port)
        {
            Route::Fixed(sa) => (AddressEvidence::ConnectTo(sa), vec![sa]),
            Route::Resolved { port } => {
                let found = self.resolver.addresses(host, self.options.families).await;
                let targets = found
                    .all()
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect();
                (AddressEvidence::Resolved(found), targets)
            }
        };
        let mut probes = JoinSet::new();
        for (i, addr) in targets.iter().enumerate() {
            let target = ProbeTarget {
                host: host.clone(),
                addr: *addr,
            };
            let settings = self.probe_settings.clone();
            let gate = self.gate(addr.ip());
            probes.spawn(async move {
                let _permit = gate.acquire_owned().await;
                (i, prober::probe(&target, &settings).await)
            });
        }
        let results = join_in_order(probes, targets.len()).await?;
        Ok(MxEvidence {
            record,
            addresses,
            probes: targets.into_iter().zip(results).collect(),
        })
    }

    fn gate(&self, ip: IpAddr) -> Arc<Semaphore> {
        let mut map = match self.per_address.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(ip)
            .or_insert_with(|| Arc::new(Semaphore::new(PER_ADDRESS_CONNECTIONS)))
            .clone()
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

fn internal_error(domain: &DomainName, why: &str) -> DomainReport {
    DomainReport {
        domain: domain.to_string(),
        verdict: Verdict::Error,
        verdict_reason: format!("internal error: {why}"),
        mx_source: MxSource::None,
        mx: Vec::new(),
        findings: Vec::new(),
        error: Some(ErrorReport {
            phase: ErrorPhase::Internal,
            kind: "internal",
            message: format!("internal error: {why}"),
        }),
    }
}
