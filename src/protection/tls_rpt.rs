//! TLS-RPT (RFC 8460): where a domain asks senders to report TLS and
//! policy failures — the TXT record at `_smtp._tls.<domain>`.
//!
//! This module owns parsing that record (RFC 8460 §3), choosing it among
//! the TXT records at that name, and the record we suggest publishing. It
//! does no DNS: the audit looks the TXT RRset up and passes each record's
//! strings already concatenated (a TXT record split into several strings
//! is read as their concatenation, without separators).
//!
//! The grammar (RFC 8460 §3, ABNF; `%s` strings are case-sensitive):
//!
//! ```text
//! tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
//! field-delim      = *WSP ";" *WSP
//! tlsrpt-field     = tlsrpt-rua / tlsrpt-extension  ; exactly one rua
//! tlsrpt-version   = %s"v=TLSRPTv1"
//! tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//! tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value
//! tlsrpt-ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//! tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
//! ```
//!
//! Report URIs are `mailto:` or `https:` (RFC 8460 §3); commas and `!` in a
//! URI must be percent-encoded. Unknown extension fields are ignored.
//! One leniency: whitespace at the very end of the record is accepted.

use std::fmt;

/// A parsed `v=TLSRPTv1` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// Where reports go, in published order; never empty.
    pub rua: Vec<Rua>,
}

/// One report destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rua {
    /// `mailto:` — the address (without the scheme and any `?` header
    /// fields), as published, not percent-decoded.
    Mailto(String),
    /// `https:` — the whole URL, as published.
    Https(String),
}

impl fmt::Display for Rua {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rua::Mailto(address) => write!(f, "mailto:{address}"),
            Rua::Https(url) => f.write_str(url),
        }
    }
}

/// Why a TXT record is not a valid TLS-RPT record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsRptError {
    #[error("the record does not start with v=TLSRPTv1")]
    NotTlsRpt,
    #[error("the record has no rua= field saying where to send reports")]
    MissingRua,
    #[error("bad rua= destination: {0}")]
    BadRua(String),
    #[error("syntax error: {0}")]
    Syntax(String),
}

const VERSION: &str = "v=TLSRPTv1";

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn trim_wsp(s: &str) -> &str {
    s.trim_matches(is_wsp)
}

/// Does the record begin with the version field: `v=TLSRPTv1` followed by
/// the end, whitespace or `;` (so `v=TLSRPTv10` does not)?
fn has_version(txt: &str) -> bool {
    txt.strip_prefix(VERSION)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c| is_wsp(c) || c == ';'))
}

/// Parses one TXT record (its strings already concatenated).
pub fn parse(txt: &str) -> Result<TlsRptRecord, TlsRptError> {
    if !has_version(txt) {
        return Err(TlsRptError::NotTlsRpt);
    }
    let rest = txt[VERSION.len()..].trim_end_matches(is_wsp);
    let mut pieces = rest.split(';');
    // Between the version and the first ';' only whitespace may appear.
    let before_first = trim_wsp(pieces.next().unwrap_or_default());
    if !before_first.is_empty() {
        return Err(TlsRptError::Syntax(format!(
            "fields must be separated by ';' (found {before_first:?} after {VERSION})"
        )));
    }
    let pieces: Vec<&str> = pieces.map(trim_wsp).collect();
    let mut rua: Option<Vec<Rua>> = None;
    for (i, field) in pieces.iter().enumerate() {
        if field.is_empty() {
            // A single trailing ';' is allowed; an empty field is not.
            if i + 1 == pieces.len() {
                break;
            }
            return Err(TlsRptError::Syntax("empty field (\";;\")".into()));
        }
        let Some((name, value)) = field.split_once('=') else {
            return Err(TlsRptError::Syntax(format!(
                "field {field:?} is not name=value"
            )));
        };
        if name == "rua" {
            if rua.is_some() {
                return Err(TlsRptError::Syntax(
                    "more than one rua= field (exactly one is allowed)".into(),
                ));
            }
            rua = Some(parse_rua(value)?);
        } else if name.eq_ignore_ascii_case("rua") {
            return Err(TlsRptError::Syntax(format!(
                "field names are case-sensitive: write rua=, not {name}="
            )));
        } else {
            check_extension(name, value)?;
        }
    }
    match rua {
        Some(rua) => Ok(TlsRptRecord { rua }),
        None => Err(TlsRptError::MissingRua),
    }
}

/// Extension fields are ignored, but must be well-formed.
fn check_extension(name: &str, value: &str) -> Result<(), TlsRptError> {
    let mut chars = name.chars();
    let name_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_ok {
        return Err(TlsRptError::Syntax(format!("bad field name {name:?}")));
    }
    let value_ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e));
    if !value_ok {
        return Err(TlsRptError::Syntax(format!(
            "bad value {value:?} for field {name}"
        )));
    }
    Ok(())
}

/// `tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)`.
fn parse_rua(value: &str) -> Result<Vec<Rua>, TlsRptError> {
    value.split(',').map(|u| parse_uri(trim_wsp(u))).collect()
}

fn parse_uri(uri: &str) -> Result<Rua, TlsRptError> {
    if uri.is_empty() {
        return Err(TlsRptError::BadRua("empty URI in the rua= list".into()));
    }
    if let Some(bad) = uri.chars().find(|&c| !uri_char(c)) {
        let why = if bad == '!' {
            "'!' must be percent-encoded (%21)".to_string()
        } else {
            format!("{bad:?} is not allowed in a URI")
        };
        return Err(TlsRptError::BadRua(format!("{uri:?}: {why}")));
    }
    let (scheme, rest) = uri
        .split_once(':')
        .ok_or_else(|| TlsRptError::BadRua(format!("{uri:?} is not a URI (no scheme)")))?;
    if scheme.eq_ignore_ascii_case("mailto") {
        // RFC 6068: the address list, then optional "?" header fields.
        let address = rest.split('?').next().unwrap_or_default();
        match address.rsplit_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Rua::Mailto(address.to_string()))
            }
            _ => Err(TlsRptError::BadRua(format!(
                "{uri:?}: a mailto: URI needs an address like tlsrpt@example.com"
            ))),
        }
    } else if scheme.eq_ignore_ascii_case("https") {
        let host = rest
            .strip_prefix("//")
            .map(|r| r.split(['/', '?', '#']).next().unwrap_or_default())
            .unwrap_or_default();
        if host.is_empty() {
            Err(TlsRptError::BadRua(format!(
                "{uri:?}: an https: URI needs a host (https://host/path)"
            )))
        } else {
            Ok(Rua::Https(uri.to_string()))
        }
    } else {
        Err(TlsRptError::BadRua(format!(
            "{uri:?}: only mailto: and https: destinations are allowed (RFC 8460 §3)"
        )))
    }
}

/// Characters RFC 3986 allows in a URI (unreserved, reserved and `%`),
/// minus `,` `;` (already split on) and `!` (RFC 8460 §3: must be encoded).
fn uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | '%'
                | ':'
                | '/'
                | '?'
                | '#'
                | '['
                | ']'
                | '@'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | '='
        )
}

/// The TLS-RPT situation of a domain, from all TXT records at
/// `_smtp._tls.<domain>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsRptLookup {
    /// No record starts with `v=TLSRPTv1`.
    Absent,
    Valid(TlsRptRecord),
    /// The one TLS-RPT record does not parse; senders ignore it.
    Invalid(TlsRptError),
    /// More than one record starts with `v=TLSRPTv1`: RFC 8460 §3 says
    /// senders then assume the domain does not implement TLS-RPT.
    Multiple(usize),
}

/// Picks the TLS-RPT record among the TXT records at `_smtp._tls.<domain>`
/// (each one's strings already concatenated). RFC 8460 §3: records that do
/// not begin with the version are discarded; exactly one must remain.
pub fn select(txt_records: &[String]) -> TlsRptLookup {
    let candidates: Vec<&String> = txt_records.iter().filter(|t| has_version(t)).collect();
    match candidates.as_slice() {
        [] => TlsRptLookup::Absent,
        [one] => match parse(one) {
            Ok(record) => TlsRptLookup::Valid(record),
            Err(e) => TlsRptLookup::Invalid(e),
        },
        many => TlsRptLookup::Multiple(many.len()),
    }
}

/// The record to publish as advice when absent, e.g.
/// `_smtp._tls.example.com. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"`.
pub fn suggested_record(domain: &str) -> String {
    let domain = domain.trim_end_matches('.');
    format!("_smtp._tls.{domain}. TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailto(a: &str) -> Rua {
        Rua::Mailto(a.to_string())
    }

    fn https(u: &str) -> Rua {
        Rua::Https(u.to_string())
    }

    fn rua(txt: &str) -> Vec<Rua> {
        parse(txt).unwrap_or_else(|e| panic!("{txt:?}: {e}")).rua
    }

    #[test]
    fn valid_records() {
        assert_eq!(
            rua("v=TLSRPTv1; rua=mailto:tlsrpt@example.com"),
            [mailto("tlsrpt@example.com")]
        );
        assert_eq!(
            rua("v=TLSRPTv1;rua=https://reports.example.com/v1/tlsrpt"),
            [https("https://reports.example.com/v1/tlsrpt")]
        );
        assert_eq!(
            rua("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.net/x"),
            [mailto("a@example.com"), https("https://r.example.net/x")]
        );
        // Extension fields are ignored, before or after rua.
        assert_eq!(
            rua("v=TLSRPTv1; ext.1=yes; rua=mailto:a@example.com; x-foo=bar"),
            [mailto("a@example.com")]
        );
        // mailto: header fields are not part of the address.
        assert_eq!(
            rua("v=TLSRPTv1; rua=mailto:a@example.com?subject=tlsrpt"),
            [mailto("a@example.com")]
        );
        assert_eq!(
            rua("v=TLSRPTv1; rua=MAILTO:a@example.com"),
            [mailto("a@example.com")]
        );
    }

    #[test]
    fn whitespace_and_trailing_semicolon() {
        let want = [mailto("a@example.com"), mailto("b@example.com")];
        for txt in [
            "v=TLSRPTv1;rua=mailto:a@example.com,mailto:b@example.com",
            "v=TLSRPTv1 ; rua=mailto:a@example.com , mailto:b@example.com",
            "v=TLSRPTv1;\trua=mailto:a@example.com,\tmailto:b@example.com;",
            "v=TLSRPTv1; rua=mailto:a@example.com, mailto:b@example.com ; ",
            "v=TLSRPTv1; rua=mailto:a@example.com,mailto:b@example.com ",
        ] {
            assert_eq!(rua(txt), want, "{txt:?}");
        }
    }

    #[test]
    fn not_tls_rpt() {
        for txt in [
            "",
            "v=TLSRPTv2; rua=mailto:a@example.com",
            "v=TLSRPTv10; rua=mailto:a@example.com",
            "V=TLSRPTv1; rua=mailto:a@example.com",
            " v=TLSRPTv1; rua=mailto:a@example.com",
            "rua=mailto:a@example.com; v=TLSRPTv1",
            "v=spf1 -all",
        ] {
            assert_eq!(parse(txt), Err(TlsRptError::NotTlsRpt), "{txt:?}");
        }
    }

    #[test]
    fn missing_rua() {
        for txt in [
            "v=TLSRPTv1",
            "v=TLSRPTv1;",
            "v=TLSRPTv1; ",
            "v=TLSRPTv1; foo=bar",
        ] {
            assert_eq!(parse(txt), Err(TlsRptError::MissingRua), "{txt:?}");
        }
    }

    #[test]
    fn bad_rua() {
        for txt in [
            "v=TLSRPTv1; rua=http://reports.example.com/",
            "v=TLSRPTv1; rua=ftp://reports.example.com/",
            "v=TLSRPTv1; rua=tlsrpt@example.com",
            "v=TLSRPTv1; rua=mailto:tlsrpt",
            "v=TLSRPTv1; rua=mailto:@example.com",
            "v=TLSRPTv1; rua=https:",
            "v=TLSRPTv1; rua=https:///path",
            "v=TLSRPTv1; rua=",
            "v=TLSRPTv1; rua=mailto:a@example.com,",
            "v=TLSRPTv1; rua=mailto:a@example.com!10m",
            "v=TLSRPTv1; rua=mailto:a@example.com mailto:b@example.com",
        ] {
            assert!(
                matches!(parse(txt), Err(TlsRptError::BadRua(_))),
                "{txt:?}: {:?}",
                parse(txt)
            );
        }
        let Err(TlsRptError::BadRua(msg)) = parse("v=TLSRPTv1; rua=http://r.example.com/") else {
            panic!("expected BadRua");
        };
        assert!(msg.contains("http://r.example.com/"), "{msg}");
    }

    #[test]
    fn syntax_errors() {
        for txt in [
            "v=TLSRPTv1 rua=mailto:a@example.com",
            "v=TLSRPTv1;; rua=mailto:a@example.com",
            "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
            "v=TLSRPTv1; RUA=mailto:a@example.com",
            "v=TLSRPTv1; rua=mailto:a@example.com; junk",
            "v=TLSRPTv1; rua=mailto:a@example.com; _x=1",
            "v=TLSRPTv1; rua=mailto:a@example.com; x=",
            "v=TLSRPTv1; rua=mailto:a@example.com; x=a b",
        ] {
            assert!(
                matches!(parse(txt), Err(TlsRptError::Syntax(_))),
                "{txt:?}: {:?}",
                parse(txt)
            );
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn select_among_txt_records() {
        let spf = "v=spf1 -all";
        let good = "v=TLSRPTv1; rua=mailto:tlsrpt@example.com";
        assert_eq!(select(&[]), TlsRptLookup::Absent);
        assert_eq!(
            select(&strings(&[spf, "v=TLSRPTv2; rua=mailto:a@b.c"])),
            TlsRptLookup::Absent
        );
        assert_eq!(
            select(&strings(&[spf, good])),
            TlsRptLookup::Valid(TlsRptRecord {
                rua: vec![mailto("tlsrpt@example.com")]
            })
        );
        assert_eq!(
            select(&strings(&["v=TLSRPTv1; rua=http://x.example/", spf])),
            TlsRptLookup::Invalid(TlsRptError::BadRua(
                "\"http://x.example/\": only mailto: and https: destinations are allowed (RFC 8460 §3)"
                    .into()
            ))
        );
        assert_eq!(
            select(&strings(&[good, spf, "v=TLSRPTv1; rua=https://r.example/"])),
            TlsRptLookup::Multiple(2)
        );
        // A broken second record still counts: senders see two.
        assert_eq!(
            select(&strings(&[good, "v=TLSRPTv1"])),
            TlsRptLookup::Multiple(2)
        );
    }

    #[test]
    fn suggestion_parses_and_names_the_domain() {
        let s = suggested_record("example.com.");
        assert_eq!(
            s,
            "_smtp._tls.example.com. TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.com\""
        );
        let txt = s.split('"').nth(1).expect("quoted record");
        assert_eq!(rua(txt), [mailto("tlsrpt@example.com")]);
    }

    #[test]
    fn rua_display() {
        assert_eq!(mailto("a@example.com").to_string(), "mailto:a@example.com");
        assert_eq!(
            https("https://r.example/").to_string(),
            "https://r.example/"
        );
    }
}
