//! Stage 1: DNS. Finds a domain's mail hosts (MX, null MX, implicit MX) and
//! each host's addresses, and says precisely what went wrong when it cannot.
//!
//! Every query goes through one [`Resolver`] built from the run's
//! [`DnsServers`], with absolute names (no search list) and without the
//! hosts file, so answers come only from the servers the user named.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use crate::domain::DomainName;
use crate::options::{AddressFamilies, DnsServers};

/// Why a DNS question got no usable answer (other than "no such name" and
/// "no such record", which are answers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsFailure {
    #[error("timed out")]
    Timeout,
    #[error("SERVFAIL")]
    ServFail,
    #[error("REFUSED")]
    Refused,
    #[error("error response {0}")]
    ResponseCode(String),
    #[error("{0}")]
    Other(String),
}

impl From<&NetError> for DnsFailure {
    fn from(err: &NetError) -> Self {
        match err {
            NetError::Timeout => DnsFailure::Timeout,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => DnsFailure::ServFail,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => DnsFailure::Refused,
            NetError::Dns(DnsError::ResponseCode(code)) => {
                DnsFailure::ResponseCode(code.to_string())
            }
            other => DnsFailure::Other(other.to_string()),
        }
    }
}

/// The answer to one question, in the terms the report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Records(T),
    /// The name exists but has no record of this type (NOERROR, empty answer).
    NoData,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    Failed(DnsFailure),
}

/// What the MX lookup says about a domain's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxResolution {
    /// Mail hosts to probe, sorted by preference.
    Hosts {
        hosts: Vec<MxRecord>,
        /// No MX records: the domain itself is the mail host (RFC 5321 §5.1).
        implicit: bool,
        /// A null MX stood beside real MX records (RFC 7505 §3 forbids it);
        /// senders ignore the null MX, so the others are still audited.
        null_mx_mixed: bool,
    },
    /// A null MX (`0 .`, RFC 7505): the domain says it accepts no mail.
    NoMail,
    /// Neither MX nor address records: mail to this domain cannot be delivered.
    NoMailHost,
    /// NXDOMAIN.
    DomainNotFound,
    /// The MX (or, for an implicit MX, the address) lookup failed.
    Failed { query: String, failure: DnsFailure },
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxRecord {
    pub preference: u16,
    pub exchange: Exchange,
}

/// The target of an MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    Host(DomainName),
    /// The exchange is written as an IP address (`192.0.2.1.`): not a host
    /// name, so RFC-conforming senders will not use it as an address.
    IpLiteral(String),
    /// Not a usable host name at all.
    Invalid(String),
}

impl Exchange {
    /// The exchange as written, without trailing dot.
    pub fn name(&self) -> &str {
        match self {
            Exchange::Host(h) => h.as_str(),
            Exchange::IpLiteral(s) | Exchange::Invalid(s) => s,
        }
    }
}

/// The addresses of one mail host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddresses {
    /// `None` when `-6` skipped the question.
    pub v4: Option<Answer<Vec<Ipv4Addr>>>,
    /// `None` when `-4` skipped the question.
    pub v6: Option<Answer<Vec<Ipv6Addr>>>,
    /// Set when the host name is an alias (CNAME) for this name.
    pub cname: Option<String>,
}

impl HostAddresses {
    /// Every address found, IPv4 first, in answer order.
    pub fn all(&self) -> Vec<IpAddr> {
        let v4 = match &self.v4 {
            Some(Answer::Records(v)) => v.iter().map(|a| IpAddr::V4(*a)).collect(),
            _ => Vec::new(),
        };
        let v6 = match &self.v6 {
            Some(Answer::Records(v)) => v.iter().map(|a| IpAddr::V6(*a)).collect(),
            _ => Vec::new(),
        };
        [v4, v6].concat()
    }
}

/// A resolver could not be set up (e.g. unreadable `/etc/resolv.conf`).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up DNS resolution: {0}")]
pub struct ResolverSetupError(String);

/// The run's DNS client.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

impl Resolver {
    pub fn new(servers: &DnsServers, timeout: Duration) -> Result<Self, ResolverSetupError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match servers {
            DnsServers::System => TokioResolver::builder(provider)
                .map_err(|e| ResolverSetupError(format!("system configuration: {e}")))?,
            DnsServers::Explicit(addrs) => {
                let name_servers = addrs
                    .iter()
                    .map(|sa| {
                        let mut ns = NameServerConfig::udp_and_tcp(sa.ip());
                        for conn in &mut ns.connections {
                            conn.port = sa.port();
                        }
                        ns
                    })
                    .collect();
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(name_servers),
                    provider,
                )
            }
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        // One retry: hickory counts retries, not tries.
        opts.attempts = 1;
        opts.use_hosts_file = ResolveHosts::Never;
        // Every name we ask is absolute; never let a search list rewrite it.
        opts.ndots = 0;
        // Keep CNAME records in answers: an MX target that is an alias is a finding.
        opts.preserve_intermediates = true;
        let inner = builder
            .build()
            .map_err(|e| ResolverSetupError(e.to_string()))?;
        Ok(Resolver { inner })
    }

    /// MX records of `domain`, null MX and implicit MX included.
    pub async fn mail_hosts(&self, domain: &DomainName, families: AddressFamilies) -> MxResolution {
        let fqdn = domain.to_fqdn();
        match self.query(&fqdn, RecordType::MX).await {
            Answer::Records(records) => {
                let mut mx: Vec<(u16, Name)> = records
                    .into_iter()
                    .filter_map(|rdata| match rdata {
                        RData::MX(mx) => Some((mx.preference, mx.exchange)),
                        _ => None,
                    })
                    .collect();
                let had_null = mx.iter().any(|(_, exchange)| exchange.is_root());
                mx.retain(|(_, exchange)| !exchange.is_root());
                if mx.is_empty() {
                    return if had_null {
                        MxResolution::NoMail
                    } else {
                        // Answers that were only CNAMEs: treat as no MX.
                        self.implicit_mx(domain, families).await
                    };
                }
                // By preference, then by name, so the report does not depend
                // on the order the server happened to answer in.
                mx.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                mx.dedup();
                let hosts = mx
                    .into_iter()
                    .map(|(preference, name)| MxRecord {
                        preference,
                        exchange: classify_exchange(&name),
                    })
                    .collect();
                MxResolution::Hosts {
                    hosts,
                    implicit: false,
                    null_mx_mixed: had_null,
                }
            }
            Answer::NoData => self.implicit_mx(domain, families).await,
            Answer::NxDomain => MxResolution::DomainNotFound,
            Answer::Failed(failure) => MxResolution::Failed {
                query: format!("MX {fqdn}"),
                failure,
            },
        }
    }

    /// RFC 5321 §5.1: without MX records, the domain's own A/AAAA records
    /// make it its own mail host.
    async fn implicit_mx(&self, domain: &DomainName, families: AddressFamilies) -> MxResolution {
        let addrs = self.addresses(domain, families).await;
        for (answer_failed, rtype) in [
            (addrs.v4.as_ref().and_then(failed), "A"),
            (addrs.v6.as_ref().and_then(failed), "AAAA"),
        ] {
            if let Some(failure) = answer_failed
                && addrs.all().is_empty()
            {
                return MxResolution::Failed {
                    query: format!("{rtype} {} (implicit MX)", domain.to_fqdn()),
                    failure,
                };
            }
        }
        // With -4 or -6 the other family was not asked; ask it before
        // concluding there is no mail host at all.
        let exists = !addrs.all().is_empty()
            || (families != AddressFamilies::Both
                && !self
                    .addresses(domain, AddressFamilies::Both)
                    .await
                    .all()
                    .is_empty());
        if exists {
            MxResolution::Hosts {
                hosts: vec![MxRecord {
                    preference: 0,
                    exchange: Exchange::Host(domain.clone()),
                }],
                implicit: true,
                null_mx_mixed: false,
            }
        } else {
            MxResolution::NoMailHost
        }
    }

    /// A and AAAA records of a mail host (the families `families` allows).
    pub async fn addresses(&self, host: &DomainName, families: AddressFamilies) -> HostAddresses {
        let fqdn = host.to_fqdn();
        let want_v4 = families != AddressFamilies::V6Only;
        let want_v6 = families != AddressFamilies::V4Only;
        let (v4, v6) = tokio::join!(
            async {
                if want_v4 {
                    Some(self.query_with_cname(&fqdn, RecordType::A).await)
                } else {
                    None
                }
            },
            async {
                if want_v6 {
                    Some(self.query_with_cname(&fqdn, RecordType::AAAA).await)
                } else {
                    None
                }
            }
        );
        let mut cname = None;
        let v4 = v4.map(|(answer, alias)| {
            cname = cname.take().or(alias);
            map_answer(answer, |r| match r {
                RData::A(a) => Some(a.0),
                _ => None,
            })
        });
        let v6 = v6.map(|(answer, alias)| {
            cname = cname.take().or(alias);
            map_answer(answer, |r| match r {
                RData::AAAA(a) => Some(a.0),
                _ => None,
            })
        });
        HostAddresses { v4, v6, cname }
    }

    async fn query(&self, fqdn: &str, rtype: RecordType) -> Answer<Vec<RData>> {
        self.query_with_cname(fqdn, rtype).await.0
    }

    /// Returns the answer's records of `rtype` and, if the name was an
    /// alias, the CNAME target it pointed to.
    async fn query_with_cname(
        &self,
        fqdn: &str,
        rtype: RecordType,
    ) -> (Answer<Vec<RData>>, Option<String>) {
        let name = match Name::from_ascii(fqdn) {
            Ok(n) => n,
            Err(e) => {
                return (
                    Answer::Failed(DnsFailure::Other(format!("bad name: {e}"))),
                    None,
                );
            }
        };
        match self.inner.lookup(name.clone(), rtype).await {
            Ok(lookup) => {
                let cname = lookup.answers().iter().find_map(|r| match &r.data {
                    RData::CNAME(target) if r.name == name => {
                        Some(target.0.to_ascii().trim_end_matches('.').to_string())
                    }
                    _ => None,
                });
                let records: Vec<RData> = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == rtype)
                    .map(|r| r.data.clone())
                    .collect();
                if records.is_empty() {
                    (Answer::NoData, cname)
                } else {
                    (Answer::Records(records), cname)
                }
            }
            Err(e) if e.is_nx_domain() => (Answer::NxDomain, None),
            Err(e) if e.is_no_records_found() => (Answer::NoData, None),
            Err(e) => (Answer::Failed(DnsFailure::from(&e)), None),
        }
    }
}

fn failed<T>(answer: &Answer<T>) -> Option<DnsFailure> {
    match answer {
        Answer::Failed(f) => Some(f.clone()),
        _ => None,
    }
}

fn map_answer<T>(answer: Answer<Vec<RData>>, f: impl Fn(RData) -> Option<T>) -> Answer<Vec<T>> {
    match answer {
        Answer::Records(records) => {
            let items: Vec<T> = records.into_iter().filter_map(f).collect();
            if items.is_empty() {
                Answer::NoData
            } else {
                Answer::Records(items)
            }
        }
        Answer::NoData => Answer::NoData,
        Answer::NxDomain => Answer::NxDomain,
        Answer::Failed(e) => Answer::Failed(e),
    }
}

fn classify_exchange(name: &Name) -> Exchange {
    let text = name.to_ascii();
    let bare = text.trim_end_matches('.');
    if bare.parse::<IpAddr>().is_ok() {
        return Exchange::IpLiteral(bare.to_string());
    }
    match DomainName::from_dns(bare) {
        Ok(host) => Exchange::Host(host),
        Err(_) => Exchange::Invalid(bare.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_are_classified() {
        let name = |s: &str| Name::from_ascii(s).expect("name");
        assert_eq!(
            classify_exchange(&name("192.0.2.1.")),
            Exchange::IpLiteral("192.0.2.1".into())
        );
        assert!(
            matches!(classify_exchange(&name("MX1.Example.COM.")), Exchange::Host(h) if h.as_str() == "mx1.example.com")
        );
    }
}
