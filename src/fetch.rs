//! The HTTPS fetch of an MTA-STS policy (RFC 8461 §3.3), the network half
//! of MTA-STS: `https://mta-sts.<domain>/.well-known/mta-sts.txt` fetched
//! the way a sender must — HTTPS with full certificate validation, no
//! redirects, status 200 only, `text/plain`, at most 64 KiB, under one
//! overall timeout. Name resolution goes through the run's [`Resolver`]
//! and `--connect-to` rules, like every other connection of the tool.
//!
//! It returns the body as bytes ([`PolicyBody`]) or the precise reason a
//! sender gets no policy ([`FetchProblem`]); reading the body as a policy
//! is a pure rule (`protection::mta_sts`). Network-observation layer.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, redirect};

use crate::domain::DomainName;
use crate::options::{AddressFamilies, ConnectRules, Route, TrustStore};
use crate::resolver::{Answer, HostAddresses, Resolver};

/// Largest policy body accepted (§3.3: "a maximum size of 64 KB").
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// Where the policy lives on the policy host (§3.2).
pub const WELL_KNOWN_PATH: &str = "/.well-known/mta-sts.txt";
/// The policy host's port: the URL never names one (§3.3: HTTPS, port 443).
const HTTPS_PORT: u16 = 443;

/// A policy body as received: status 200, `text/plain`, within the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBody {
    /// `https://mta-sts.<domain>/.well-known/mta-sts.txt`
    pub url: String,
    pub body: Vec<u8>,
}

/// Why no policy could be fetched. Each variant is a reason a sender gets
/// no policy and so (§5) delivers as if the domain had no MTA-STS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchProblem {
    /// The policy host has no address (or the lookup failed).
    #[error("DNS: {0}")]
    Dns(String),
    /// No TCP connection to any address of the policy host.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The TLS handshake failed, including a certificate that is not valid
    /// (trusted, current) for `mta-sts.<domain>`.
    #[error("TLS: {0}")]
    Tls(String),
    /// An HTTP status other than 200 (and not a redirect).
    #[error("HTTP status {0} (only 200 is accepted)")]
    Status(u16),
    /// A 3xx answer: §3.3 forbids following redirects.
    #[error("HTTP {0} redirect{loc} (senders must not follow redirects)", loc = location_text(.1))]
    Redirect(u16, Option<String>),
    /// The Content-Type is missing or not `text/plain` (§3.2).
    #[error("Content-Type {} is not text/plain", .0.as_deref().map_or("(missing)".to_string(), |c| format!("{c:?}")))]
    ContentType(Option<String>),
    /// The body exceeds [`MAX_POLICY_BYTES`].
    #[error("the policy is larger than 64 KiB")]
    TooLarge,
    /// The whole fetch did not finish within the timeout.
    #[error("timed out")]
    Timeout,
    /// The HTTP exchange broke after connecting (no or malformed response,
    /// connection closed mid-body, …).
    #[error("HTTP: {0}")]
    Body(String),
}

fn location_text(location: &Option<String>) -> String {
    location
        .as_deref()
        .map(|l| format!(" to {l:?}"))
        .unwrap_or_default()
}

/// Fetches MTA-STS policies; one per run, shared by all domains.
///
/// How the HTTP client is wired:
///
/// - TLS: a rustls [`rustls::ClientConfig`] built on
///   [`crate::crypto::provider`] (the tool's only crypto provider) with
///   the run's trust anchors (webpki roots plus `--ca-file`), handed to
///   reqwest as a preconfigured backend. rustls checks the chain and that
///   the certificate names `mta-sts.<domain>` (the URL host, also the SNI),
///   by subjectAltName only, as RFC 6125 and §3.3 want.
/// - Names: a reqwest [`Resolve`] over the run's [`Resolver`], honouring
///   `-4`/`-6`, so no system resolver or hosts file is involved. It applies
///   `--connect-to` for (`mta-sts.<domain>`, 443): `Route::Fixed` returns
///   that socket address without any lookup; `Route::Resolved { port }`
///   returns the resolved addresses with that port.
/// - Ports: hyper-util's connector replaces the port of resolved addresses
///   only when the URL names a port explicitly or the address has port 0
///   (`set_port` in `hyper_util::client::legacy::connect::http`). The URL
///   never names one, so the port the resolver returns is the one
///   connected to. The URL, Host header and SNI stay `mta-sts.<domain>`.
/// - No redirects, no proxy (environment proxies are ignored), HTTP/1.1
///   only, no idle connection kept, and one overall timeout: reqwest's
///   total timeout plus a `tokio::time::timeout` around the whole fetch,
///   body included.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Builds the run's HTTPS client. Fails only if TLS cannot be set up.
    pub fn new(
        resolver: Resolver,
        connect_to: ConnectRules,
        trust: TrustStore,
        timeout: Duration,
        families: AddressFamilies,
    ) -> Result<Self, String> {
        let mut tls = rustls::ClientConfig::builder_with_provider(crate::crypto::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("MTA-STS HTTPS client: {e}"))?
            .with_root_certificates(trust.roots().clone())
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        let resolve = PolicyHostResolver {
            resolver,
            connect_to,
            families,
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(resolve))
            .redirect(redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy()
            .https_only(true)
            .http1_only()
            .pool_max_idle_per_host(0)
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("smtptls/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("MTA-STS HTTPS client: {}", error_text(&e)))?;
        Ok(Fetcher { client, timeout })
    }

    /// Fetches `https://mta-sts.<domain>/.well-known/mta-sts.txt` as a
    /// sender would (§3.3). `Ok` means the body was received; whether it is
    /// a valid policy is `protection::mta_sts::Fetched::read`'s business.
    pub async fn fetch(&self, domain: &DomainName) -> Result<PolicyBody, FetchProblem> {
        let host = format!("mta-sts.{}", domain.as_str());
        let url = format!("https://{host}{WELL_KNOWN_PATH}");
        match tokio::time::timeout(self.timeout, self.fetch_url(&host, &url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchProblem::Timeout),
        }
    }

    async fn fetch_url(&self, host: &str, url: &str) -> Result<PolicyBody, FetchProblem> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| classify(&e, host))?;

        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Err(FetchProblem::Redirect(status.as_u16(), location));
        }
        if status != StatusCode::OK {
            return Err(FetchProblem::Status(status.as_u16()));
        }

        // §3.2: the media type MUST be text/plain; parameters are ignored.
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let plain = content_type.as_deref().is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/plain"))
        });
        if !plain {
            return Err(FetchProblem::ContentType(content_type));
        }

        if response
            .content_length()
            .is_some_and(|len| len > MAX_POLICY_BYTES as u64)
        {
            return Err(FetchProblem::TooLarge);
        }
        // Chunk by chunk, so an endless body costs at most the cap.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, host))? {
            if body.len() + chunk.len() > MAX_POLICY_BYTES {
                return Err(FetchProblem::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }

        Ok(PolicyBody {
            url: url.to_string(),
            body,
        })
    }
}

/// The policy host's name resolution: the run's DNS client and
/// `--connect-to` rules, never the system resolver.
struct PolicyHostResolver {
    resolver: Resolver,
    connect_to: ConnectRules,
    families: AddressFamilies,
}

/// The policy host has no usable address; found again in the error chain
/// to tell DNS problems from connection problems.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct LookupError(String);

impl Resolve for PolicyHostResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let route = self.connect_to.route(&host, HTTPS_PORT);
        let resolver = self.resolver.clone();
        let families = self.families;
        Box::pin(async move {
            let port = match route {
                Route::Fixed(addr) => return Ok(Box::new(std::iter::once(addr)) as Addrs),
                Route::Resolved { port } => port,
            };
            let domain = DomainName::from_dns(&host).map_err(|e| LookupError(e.to_string()))?;
            let found = resolver.addresses(&domain, families).await;
            let ips = found.all();
            if ips.is_empty() {
                return Err(LookupError(no_address(&host, &found)).into());
            }
            let addrs = ips.into_iter().map(move |ip| SocketAddr::new(ip, port));
            Ok(Box::new(addrs) as Addrs)
        })
    }
}

/// Why `found` holds no address, in a sentence.
fn no_address(host: &str, found: &HostAddresses) -> String {
    fn outcome<T>(answer: &Answer<T>) -> (Option<String>, bool) {
        match answer {
            Answer::Failed(f) => (Some(f.to_string()), false),
            Answer::NxDomain => (None, true),
            Answer::Records(_) | Answer::NoData => (None, false),
        }
    }
    let answers = [
        ("A", found.v4.as_ref().map(outcome)),
        ("AAAA", found.v6.as_ref().map(outcome)),
    ];
    for (rtype, answer) in &answers {
        if let Some((Some(failure), _)) = answer {
            return format!("{rtype} {host}: {failure}");
        }
    }
    if answers.iter().any(|(_, a)| matches!(a, Some((_, true)))) {
        return format!("{host} does not exist (NXDOMAIN)");
    }
    let asked: Vec<&str> = answers
        .iter()
        .filter(|(_, a)| a.is_some())
        .map(|(rtype, _)| *rtype)
        .collect();
    format!("{host} has no {} record", asked.join(" or "))
}

/// Sorts a reqwest error into a [`FetchProblem`] by what its cause chain
/// holds: our lookup error, a rustls error, a timeout, an I/O error.
fn classify(err: &reqwest::Error, host: &str) -> FetchProblem {
    for cause in causes(err) {
        if let Some(lookup) = cause.downcast_ref::<LookupError>() {
            return FetchProblem::Dns(lookup.0.clone());
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return FetchProblem::Tls(match tls {
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                    format!(
                        "the certificate of {host} is not valid: its issuer is not a trusted CA (UnknownIssuer)"
                    )
                }
                rustls::Error::InvalidCertificate(why) => {
                    format!("the certificate of {host} is not valid: {why}")
                }
                other => other.to_string(),
            });
        }
    }
    if err.is_timeout() {
        return FetchProblem::Timeout;
    }
    if err.is_connect() {
        let io: Vec<&std::io::Error> = causes(err)
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .collect();
        // TCP was up: the peer hung up in the middle of the TLS handshake
        // (connector errors cover TCP and TLS alike).
        if io
            .iter()
            .any(|e| e.kind() == std::io::ErrorKind::UnexpectedEof)
        {
            return FetchProblem::Tls(
                "the server closed the connection during the TLS handshake".to_string(),
            );
        }
        return FetchProblem::Connect(match io.last() {
            Some(innermost) => innermost.to_string(),
            None => error_text(err),
        });
    }
    FetchProblem::Body(error_text(err))
}

/// An error and its causes, looking inside `io::Error`s (whose `source()`
/// skips the error they wrap).
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            return Some(inner as &(dyn StdError + 'static));
        }
        e.source()
    })
}

/// "a: b: c" from an error chain, without messages that repeat their cause.
fn error_text(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in causes(err) {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_problems_read_well() {
        assert_eq!(
            FetchProblem::Redirect(301, Some("https://elsewhere.test/".into())).to_string(),
            "HTTP 301 redirect to \"https://elsewhere.test/\" (senders must not follow redirects)"
        );
        assert_eq!(
            FetchProblem::Redirect(302, None).to_string(),
            "HTTP 302 redirect (senders must not follow redirects)"
        );
        assert_eq!(
            FetchProblem::ContentType(None).to_string(),
            "Content-Type (missing) is not text/plain"
        );
        assert_eq!(
            FetchProblem::ContentType(Some("text/html".into())).to_string(),
            "Content-Type \"text/html\" is not text/plain"
        );
    }
}
