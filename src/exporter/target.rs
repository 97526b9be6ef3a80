//! What a scrape asks for: `/probe?target=DOMAIN[&scan=off|light|deep]`,
//! read strictly. The target must be a mail domain and nothing else: an
//! IP address, a port or a URL would turn the exporter into a port
//! scanner for whoever can reach it, so each is refused with its reason.

use std::net::IpAddr;

use crate::domain::{DomainError, DomainName};
use crate::vocabulary::ScanMode;

/// A valid probe request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub target: DomainName,
    /// `scan=`; `None`: the `--scan` of the command line.
    pub scan: Option<ScanMode>,
}

/// Why a probe request is refused (HTTP 400). The reasons never quote
/// the request: it is whatever anyone sent, and it would reach logs and
/// terminals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("missing target: use /probe?target=DOMAIN")]
    MissingTarget,
    #[error("the query names a parameter twice")]
    Repeated,
    #[error("unknown query parameter: only target and scan are accepted")]
    UnknownParameter,
    #[error("scan must be off, light or deep")]
    BadScan,
    #[error("the target is empty")]
    Empty,
    #[error("the target contains a control character or white space")]
    ControlCharacter,
    #[error("the target is longer than 253 octets")]
    TooLong,
    #[error("the target is a URL, not a domain name")]
    Url,
    #[error("the target is an IP address, not a domain name")]
    IpAddress,
    #[error("the target has a port: give the mail domain only")]
    Port,
    #[error("the target is not a valid domain name")]
    NotDomain,
}

/// Longest name in presentation form (RFC 1035), a trailing dot allowed.
const MAX_TARGET: usize = 253;

impl ProbeRequest {
    /// Reads the query string (without `?`; `None` when there is none).
    pub fn from_query(query: Option<&str>) -> Result<Self, BadRequest> {
        let mut target = None;
        let mut scan = None;
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match name.as_ref() {
                "target" if target.is_some() => return Err(BadRequest::Repeated),
                "target" => target = Some(value.into_owned()),
                "scan" if scan.is_some() => return Err(BadRequest::Repeated),
                "scan" => scan = Some(value.parse::<ScanMode>().map_err(|_| BadRequest::BadScan)?),
                _ => return Err(BadRequest::UnknownParameter),
            }
        }
        let target = target.ok_or(BadRequest::MissingTarget)?;
        Ok(ProbeRequest {
            target: parse_target(&target)?,
            scan,
        })
    }
}

/// A mail domain, or why the text is not one.
pub fn parse_target(text: &str) -> Result<DomainName, BadRequest> {
    if text.is_empty() {
        return Err(BadRequest::Empty);
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(BadRequest::ControlCharacter);
    }
    if text.len() > MAX_TARGET + usize::from(text.ends_with('.')) {
        return Err(BadRequest::TooLong);
    }
    if text.contains('/') || text.contains('@') || text.contains('?') || text.contains('#') {
        return Err(BadRequest::Url);
    }
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if unbracketed.parse::<IpAddr>().is_ok() {
        return Err(BadRequest::IpAddress);
    }
    if let Some((host, _port)) = text.rsplit_once(':') {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        return Err(if host.parse::<IpAddr>().is_ok() {
            BadRequest::IpAddress
        } else {
            BadRequest::Port
        });
    }
    text.parse::<DomainName>().map_err(|e| match e {
        DomainError::IpAddress(_) => BadRequest::IpAddress,
        DomainError::Empty => BadRequest::Empty,
        DomainError::Invalid { .. } => BadRequest::NotDomain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(query: &str) -> Result<String, BadRequest> {
        ProbeRequest::from_query(Some(query)).map(|r| r.target.as_str().to_string())
    }

    #[test]
    fn a_domain_is_a_target_in_its_canonical_form() {
        assert_eq!(target("target=Example.COM").as_deref(), Ok("example.com"));
        assert_eq!(target("target=example.com.").as_deref(), Ok("example.com"));
        // IDN, percent-encoded as a browser sends it.
        assert_eq!(
            target("target=b%C3%BCcher.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        let request = ProbeRequest::from_query(Some("scan=deep&target=a.example")).expect("ok");
        assert_eq!(request.scan, Some(ScanMode::Deep));
        let request = ProbeRequest::from_query(Some("target=a.example")).expect("ok");
        assert_eq!(request.scan, None);
    }

    #[test]
    fn what_is_not_a_mail_domain_is_refused_with_its_reason() {
        let long = format!("{}.example", ["a"; 130].join("."));
        let cases: &[(&str, BadRequest)] = &[
            ("", BadRequest::MissingTarget),
            ("scan=deep", BadRequest::MissingTarget),
            ("target=", BadRequest::Empty),
            ("target=192.0.2.1", BadRequest::IpAddress),
            ("target=2001:db8::1", BadRequest::IpAddress),
            ("target=%5B2001:db8::1%5D", BadRequest::IpAddress),
            ("target=192.0.2.1:25", BadRequest::IpAddress),
            ("target=mx.example:25", BadRequest::Port),
            ("target=http://example.com/", BadRequest::Url),
            ("target=user@example.com", BadRequest::Url),
            ("target=exa%0Ample.com", BadRequest::ControlCharacter),
            ("target=exa%00mple.com", BadRequest::ControlCharacter),
            ("target=exa+mple.com", BadRequest::ControlCharacter),
            ("target=exa_mple.com", BadRequest::NotDomain),
            ("target=-bad-.example", BadRequest::NotDomain),
            (&format!("target={long}"), BadRequest::TooLong),
            ("target=a.example&target=b.example", BadRequest::Repeated),
            ("target=a.example&scan=deep&scan=off", BadRequest::Repeated),
            ("target=a.example&module=smtp", BadRequest::UnknownParameter),
            ("target=a.example&scan=full", BadRequest::BadScan),
        ];
        for (query, want) in cases {
            assert_eq!(target(query), Err(*want), "{query}");
        }
        assert_eq!(
            ProbeRequest::from_query(None),
            Err(BadRequest::MissingTarget)
        );
    }

    #[test]
    fn a_reason_is_one_line_that_does_not_quote_the_request() {
        let reason = target("target=%1B%5B31mevil%0A").expect_err("refused");
        let text = reason.to_string();
        assert!(!text.contains('\n') && !text.contains('\u{1b}') && !text.contains("evil"));
    }
}
