//! MTA-STS (RFC 8461): the record that announces a policy, the policy file
//! and MX pattern matching. Pure rules, no I/O: the HTTPS fetch is
//! `crate::fetch`, whose [`PolicyBody`] [`Fetched::read`] turns into a
//! policy.
//!
//! This module owns:
//!
//! - [`parse_record`] / [`select_record`]: the `_mta-sts.<domain>` TXT
//!   record (§3.1), exactly to its ABNF, and the rule that exactly one
//!   `v=STSv1` record must exist;
//! - [`parse_policy`]: the policy file (§3.2), exactly to its ABNF, listing
//!   every problem at once so that a report can show them all;
//! - [`mx_matches`]: matching an MX host against a policy `mx` pattern
//!   (§4.1);
//! - [`Fetched::read`]: a fetched body read as a policy (UTF-8, then the
//!   ABNF).
//!
//! The fetch keeps the precise reason a policy is unusable (a redirect, a
//! wrong content type, a certificate problem: `crate::fetch::FetchProblem`)
//! to explain why a sender would fall back to opportunistic TLS (§5: "If a
//! valid TXT record is found but no policy can be fetched via HTTPS (for
//! any reason) […] senders MUST continue with delivery as though the domain
//! has not implemented MTA-STS").

use serde::Serialize;

pub use crate::fetch::{FetchProblem, MAX_POLICY_BYTES, PolicyBody, WELL_KNOWN_PATH};

/// The only record and policy version (§3.1, §3.2).
const VERSION: &str = "STSv1";
/// The TXT record's mandatory start (§3.1, `sts-version`; case-sensitive).
const RECORD_VERSION: &str = "v=STSv1";
/// Largest `max_age` (§3.2): one year, in seconds.
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

// ---------------------------------------------------------------------------
// The TXT record (§3.1)
// ---------------------------------------------------------------------------

/// The `_mta-sts.<domain>` TXT record (RFC 8461 §3.1):
/// `v=STSv1; id=<1-32 letters and digits>;` plus optional extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsRecord {
    /// The policy instance id: a sender refetches the policy when it changes.
    pub id: String,
}

/// Why a `v=STSv1` TXT record is not valid (RFC 8461 §3.1). A sender
/// treats an invalid record like no record: the domain has no policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsRecordError {
    #[error("the record does not begin with \"v=STSv1;\" (case-sensitive)")]
    NoVersion,
    #[error("the record has no id field (\"id=\" is required and case-sensitive)")]
    MissingId,
    #[error("the record has more than one id field")]
    DuplicateId,
    #[error("id {0:?} is not 1 to 32 letters and digits")]
    BadId(String),
    #[error("the record has an empty field (two \";\" in a row)")]
    EmptyField,
    #[error("field {0:?} is not of the form name=value")]
    BadField(String),
    #[error(
        "extension name {0:?} is not a letter or digit followed by at most 31 letters, digits, \"_\", \"-\" or \".\""
    )]
    BadExtensionName(String),
    #[error(
        "extension {name:?} has value {value:?}, which is empty or holds a space, \"=\", \";\" or a control character"
    )]
    BadExtensionValue { name: String, value: String },
}

/// Parses one TXT record (its strings already concatenated) against the
/// ABNF of RFC 8461 §3.1:
///
/// ```text
/// sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
/// sts-field-delim = *WSP ";" *WSP
/// sts-version     = %s"v=STSv1"
/// sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
/// sts-extension   = sts-ext-name "=" sts-ext-value
/// sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
/// sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
/// ```
///
/// Strict as written: names are case-sensitive, and white space is allowed
/// only around a `;` (so `id=abc ` with a trailing space is invalid). The id
/// is required; a second id makes the record ambiguous, so it is rejected.
pub fn parse_record(txt: &str) -> Result<StsRecord, StsRecordError> {
    let rest = txt
        .strip_prefix(RECORD_VERSION)
        .ok_or(StsRecordError::NoVersion)?;
    let after_wsp = rest.trim_start_matches(is_wsp);
    if after_wsp.is_empty() {
        // "v=STSv1" alone: the version is there, the fields are not.
        return Err(StsRecordError::MissingId);
    }
    // "v=STSv10;…" or "v=STSv1 id=…": the version is not followed by a delimiter.
    let fields = after_wsp
        .strip_prefix(';')
        .ok_or(StsRecordError::NoVersion)?;

    let pieces: Vec<&str> = fields.split(';').collect();
    let last = pieces.len() - 1;
    let mut id = None;
    for (i, piece) in pieces.iter().enumerate() {
        // White space next to a ";" belongs to the delimiter; after the last
        // ";" there is no delimiter on the right, so none is trimmed there.
        let field = piece.trim_start_matches(is_wsp);
        let field = if i < last {
            field.trim_end_matches(is_wsp)
        } else {
            field
        };
        if field.is_empty() {
            if i == last {
                // The optional trailing delimiter.
                continue;
            }
            return Err(StsRecordError::EmptyField);
        }
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| StsRecordError::BadField(field.to_string()))?;
        if name == "id" {
            let ok =
                (1..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric());
            if !ok {
                return Err(StsRecordError::BadId(value.to_string()));
            }
            if id.is_some() {
                return Err(StsRecordError::DuplicateId);
            }
            id = Some(value.to_string());
        } else {
            if !is_extension_name(name) {
                return Err(StsRecordError::BadExtensionName(name.to_string()));
            }
            let ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e));
            if !ok {
                return Err(StsRecordError::BadExtensionValue {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
        }
    }
    id.map(|id| StsRecord { id })
        .ok_or(StsRecordError::MissingId)
}

/// What the `_mta-sts.<domain>` TXT lookup says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsTxtLookup {
    /// No `v=STSv1` record: the domain does not use MTA-STS.
    Absent,
    Valid(StsRecord),
    /// The one `v=STSv1` record is not valid: senders ignore MTA-STS.
    Invalid(StsRecordError),
    /// This many `v=STSv1` records: senders ignore MTA-STS (§3.1: "If the
    /// number of resulting records is not one […] senders MUST assume the
    /// recipient domain does not have an available MTA-STS Policy").
    Multiple(usize),
}

/// Picks the MTA-STS record among all TXT records of `_mta-sts.<domain>`
/// (§3.1): records that do not begin with the version are discarded, and
/// exactly one must remain.
///
/// §3.1 says records not beginning with `v=STSv1;` are discarded, while its
/// ABNF allows white space before that `;`. A record counts here when it
/// begins with `v=STSv1` followed by the end, or white space and `;`, so
/// that `v=STSv1 ; id=…` and a bare `v=STSv1` are judged by
/// [`parse_record`] rather than silently ignored; `v=STSv10` or `V=STSv1`
/// do not count.
pub fn select_record(txt_records: &[String]) -> StsTxtLookup {
    let candidates: Vec<&String> = txt_records
        .iter()
        .filter(|record| {
            record.strip_prefix(RECORD_VERSION).is_some_and(|rest| {
                let rest = rest.trim_start_matches(is_wsp);
                rest.is_empty() || rest.starts_with(';')
            })
        })
        .collect();
    match candidates.as_slice() {
        [] => StsTxtLookup::Absent,
        [one] => match parse_record(one) {
            Ok(record) => StsTxtLookup::Valid(record),
            Err(e) => StsTxtLookup::Invalid(e),
        },
        many => StsTxtLookup::Multiple(many.len()),
    }
}

// ---------------------------------------------------------------------------
// The policy file (§3.2)
// ---------------------------------------------------------------------------

/// The policy's `mode` (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Senders MUST NOT deliver to an MX that fails the policy.
    Enforce,
    /// Senders deliver anyway, and report failures (TLS-RPT).
    Testing,
    /// The domain withdraws its policy.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A valid policy file (RFC 8461 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsPolicy {
    pub mode: Mode,
    /// The `mx` patterns, in file order, as written (see [`mx_matches`]).
    /// May be empty only with [`Mode::None`].
    pub mx: Vec<String>,
    /// Seconds a sender may cache the policy, `0..=`[`MAX_AGE_LIMIT`].
    pub max_age: u64,
}

/// Parses a policy file against RFC 8461 §3.2 and returns every problem
/// found, each naming its line, so that a report can list them all.
///
/// ```text
/// sts-policy-record        = sts-policy-field *WSP
///                            *(sts-policy-term sts-policy-field *WSP)
///                            [sts-policy-term]
/// sts-policy-field         = sts-policy-version / sts-policy-mode / sts-policy-max-age   ; each required once
///                            / sts-policy-mx            ; once or more unless mode is "none"
///                            / sts-policy-extension
/// sts-policy-field-delim   = ":" *WSP
/// sts-policy-version-value = %s"STSv1"
/// sts-policy-mode-value    = %s"testing" / %s"enforce" / %s"none"
/// sts-policy-mx-value      = ["*."] Domain                  ; RFC 5321 Domain
/// sts-policy-max-age-value = 1*10(DIGIT)                    ; at most 31557600
/// sts-policy-ext-name      = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
/// sts-policy-ext-value     = sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]
/// sts-policy-term          = LF / CRLF
/// ```
///
/// So, exactly as written: field names are case-sensitive (`Mode:` is an
/// unknown extension, hence ignored, and the policy then lacks `mode`);
/// lines are separated by LF or CRLF, with at most one terminator at the
/// end and no blank lines; no white space before the `:` or at the start
/// of a line; unknown fields are ignored (but must still be well-formed);
/// `version`, `mode` and `max_age` must each appear exactly once.
pub fn parse_policy(text: &str) -> Result<StsPolicy, Vec<String>> {
    let mut problems = Vec::new();
    // Each known field, with the line numbers it appears on.
    let mut version: Vec<(usize, &str)> = Vec::new();
    let mut mode: Vec<(usize, &str)> = Vec::new();
    let mut max_age: Vec<(usize, &str)> = Vec::new();
    let mut mx: Vec<String> = Vec::new();
    let mut bad_mx = false;
    // Unknown field names (for the case-sensitivity hint).
    let mut others: Vec<(usize, &str)> = Vec::new();

    // One optional terminator after the last field.
    let body = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if body.is_empty() {
        problems.push("the policy is empty".to_string());
    } else {
        for (index, line) in body.split('\n').enumerate() {
            let n = index + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                problems.push(format!("line {n} is empty (blank lines are not allowed)"));
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                problems.push(format!("line {n}: {line:?} is not a \"name: value\" field"));
                continue;
            };
            if !is_extension_name(name) {
                problems.push(format!(
                    "line {n}: {name:?} is not a valid field name (a letter or digit, then at most 31 letters, digits, \"_\", \"-\" or \".\"; no white space)"
                ));
                continue;
            }
            let value = value.trim_matches(is_wsp);
            match name {
                "version" => version.push((n, value)),
                "mode" => mode.push((n, value)),
                "max_age" => max_age.push((n, value)),
                "mx" => {
                    if is_mx_pattern(value) {
                        mx.push(value.to_string());
                    } else {
                        bad_mx = true;
                        problems.push(format!(
                            "line {n}: mx {value:?} is not a host name or a \"*.\" wildcard pattern"
                        ));
                    }
                }
                _ => {
                    others.push((n, name));
                    if !is_policy_ext_value(value) {
                        problems.push(format!(
                            "line {n}: the value of {name:?} is empty or holds control characters"
                        ));
                    }
                }
            }
        }
    }

    let version = once("version", &version, &others, &mut problems);
    if let Some((n, v)) = version
        && v != VERSION
    {
        problems.push(format!("line {n}: version {v:?} is not \"{VERSION}\""));
    }

    let mode = once("mode", &mode, &others, &mut problems).and_then(|(n, v)| match v {
        "enforce" => Some(Mode::Enforce),
        "testing" => Some(Mode::Testing),
        "none" => Some(Mode::None),
        _ => {
            problems.push(format!(
                "line {n}: mode {v:?} is not \"enforce\", \"testing\" or \"none\""
            ));
            None
        }
    });

    let max_age = once("max_age", &max_age, &others, &mut problems).and_then(|(n, v)| {
        let digits = (1..=10).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
        match v.parse::<u64>() {
            Ok(secs) if digits && secs <= MAX_AGE_LIMIT => Some(secs),
            Ok(_) if digits => {
                problems.push(format!(
                    "line {n}: max_age {v} is larger than {MAX_AGE_LIMIT} (one year)"
                ));
                None
            }
            _ => {
                problems.push(format!(
                    "line {n}: max_age {v:?} is not a number of seconds (1 to 10 digits)"
                ));
                None
            }
        }
    });

    if let Some(m @ (Mode::Enforce | Mode::Testing)) = mode
        && mx.is_empty()
        && !bad_mx
    {
        problems.push(format!(
            "no mx field: mode {} requires at least one{}",
            m.as_str(),
            case_hint("mx", &others)
        ));
    }

    match (mode, max_age) {
        (Some(mode), Some(max_age)) if problems.is_empty() => Ok(StsPolicy { mode, mx, max_age }),
        _ => Err(problems),
    }
}

/// The one occurrence of a field that must appear exactly once, or a
/// problem recorded.
fn once<'a>(
    field: &str,
    seen: &[(usize, &'a str)],
    others: &[(usize, &str)],
    problems: &mut Vec<String>,
) -> Option<(usize, &'a str)> {
    match seen {
        [] => {
            problems.push(format!(
                "no {field} field (it is required){}",
                case_hint(field, others)
            ));
            None
        }
        [one] => Some(*one),
        many => {
            let lines: Vec<String> = many.iter().map(|(n, _)| n.to_string()).collect();
            problems.push(format!(
                "{field} appears {} times (lines {}); it must appear exactly once",
                many.len(),
                lines.join(", ")
            ));
            None
        }
    }
}

/// " (line 3 has \"Mode\": field names are case-sensitive)" when an unknown
/// field is the wanted one in another case.
fn case_hint(field: &str, others: &[(usize, &str)]) -> String {
    others
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(field))
        .map(|(n, name)| format!(" (line {n} has {name:?}: field names are case-sensitive)"))
        .unwrap_or_default()
}

/// `["*."] Domain`, Domain as in RFC 5321 §4.1.2: dot-separated labels of
/// letters, digits and inner hyphens, no trailing dot.
fn is_mx_pattern(value: &str) -> bool {
    let domain = value.strip_prefix("*.").unwrap_or(value);
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// `sts-policy-ext-value`: visible characters (UTF-8 included) and inner
/// spaces; white space at the ends was already trimmed as `*WSP`.
fn is_policy_ext_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c == ' ' || (c > ' ' && c != '\u{7f}'))
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`, shared by the
/// record's extension names and the policy's field names.
fn is_extension_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// ABNF `WSP`: space or horizontal tab.
fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

// ---------------------------------------------------------------------------
// MX matching (§4.1)
// ---------------------------------------------------------------------------

/// Whether MX host `host` matches policy pattern `pattern` (RFC 8461 §4.1):
/// `*.example.com` matches a host with exactly one more label on the left
/// (`mx.example.com`, not `example.com` nor `a.b.example.com`); any other
/// pattern matches only the same name. Case-insensitive; a trailing dot on
/// either side is ignored.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern
        .strip_suffix('.')
        .unwrap_or(pattern)
        .to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() || host.contains('*') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && !suffix.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// The fetched policy: the body read as text and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// `https://mta-sts.<domain>/.well-known/mta-sts.txt`
    pub url: String,
    /// The parsed policy, or every problem that makes it invalid.
    pub policy: Result<StsPolicy, Vec<String>>,
    /// The body as text (invalid UTF-8 replaced).
    pub raw: String,
}

impl Fetched {
    /// Reads a fetched body as a policy: UTF-8 text (§3.2), then the ABNF.
    pub fn read(fetched: PolicyBody) -> Fetched {
        let (policy, raw) = match String::from_utf8(fetched.body) {
            Ok(text) => (parse_policy(&text), text),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let raw = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let mut problems = vec![format!("the policy is not UTF-8 text (byte {at})")];
                if let Err(more) = parse_policy(&raw) {
                    problems.extend(more);
                }
                (Err(problems), raw)
            }
        };
        Fetched {
            url: fetched.url,
            policy,
            raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(txt: &str) -> Result<StsRecord, StsRecordError> {
        parse_record(txt)
    }

    #[test]
    fn valid_records() {
        for (txt, id) in [
            ("v=STSv1; id=20160831085700Z;", "20160831085700Z"),
            ("v=STSv1;id=abc", "abc"),
            ("v=STSv1 ;\tid=abc ; ", "abc"),
            ("v=STSv1; id=abc; ext.name_1-x=va:lue<>", "abc"),
            ("v=STSv1; foo=bar; id=ABC123", "ABC123"),
            (
                "v=STSv1; id=12345678901234567890123456789012",
                "12345678901234567890123456789012",
            ),
        ] {
            assert_eq!(record(txt), Ok(StsRecord { id: id.into() }), "{txt}");
        }
    }

    #[test]
    fn invalid_records() {
        use StsRecordError::*;
        for (txt, err) in [
            ("v=STSv1", MissingId),
            ("v=STSv1;", MissingId),
            ("v=STSv1; foo=bar", MissingId),
            ("v=STSv1; ID=abc", MissingId),
            ("V=STSv1; id=abc", NoVersion),
            ("v=STSv10; id=abc", NoVersion),
            ("v=STSv1 id=abc", NoVersion),
            (" v=STSv1; id=abc", NoVersion),
            ("id=abc; v=STSv1", NoVersion),
            ("v=STSv1; id=", BadId(String::new())),
            (
                "v=STSv1; id=123456789012345678901234567890123",
                BadId("123456789012345678901234567890123".into()),
            ),
            ("v=STSv1; id=abc-def", BadId("abc-def".into())),
            ("v=STSv1; id=abc ", BadId("abc ".into())),
            ("v=STSv1; id=abc; id=def", DuplicateId),
            ("v=STSv1;; id=abc", EmptyField),
            ("v=STSv1; id=abc; ;", EmptyField),
            ("v=STSv1; id=abc; foo", BadField("foo".into())),
            ("v=STSv1; id=abc; _x=1", BadExtensionName("_x".into())),
            ("v=STSv1; id=abc; =1", BadExtensionName(String::new())),
            (
                "v=STSv1; id=abc; x=a b",
                BadExtensionValue {
                    name: "x".into(),
                    value: "a b".into(),
                },
            ),
            (
                "v=STSv1; id=abc; x=a=b",
                BadExtensionValue {
                    name: "x".into(),
                    value: "a=b".into(),
                },
            ),
            (
                "v=STSv1; id=abc; x=",
                BadExtensionValue {
                    name: "x".into(),
                    value: String::new(),
                },
            ),
        ] {
            assert_eq!(record(txt), Err(err), "{txt}");
        }
        assert!(
            record("v=STSv1; id=abc-def")
                .unwrap_err()
                .to_string()
                .contains("1 to 32 letters and digits")
        );
    }

    #[test]
    fn selecting_the_record() {
        let txt =
            |records: &[&str]| -> Vec<String> { records.iter().map(|s| s.to_string()).collect() };
        assert_eq!(select_record(&[]), StsTxtLookup::Absent);
        assert_eq!(
            select_record(&txt(&["v=spf1 -all", "hello", "v=STSv10; id=1"])),
            StsTxtLookup::Absent
        );
        assert_eq!(
            select_record(&txt(&["v=spf1 -all", "v=STSv1; id=abc;", "other"])),
            StsTxtLookup::Valid(StsRecord { id: "abc".into() })
        );
        assert_eq!(
            select_record(&txt(&["v=STSv1; id=1", "x", "v=STSv1; id=2"])),
            StsTxtLookup::Multiple(2)
        );
        // Two records count even if one of them is invalid.
        assert_eq!(
            select_record(&txt(&["v=STSv1; id=1", "v=STSv1"])),
            StsTxtLookup::Multiple(2)
        );
        assert_eq!(
            select_record(&txt(&["v=STSv1; id=not-alnum", "v=spf1"])),
            StsTxtLookup::Invalid(StsRecordError::BadId("not-alnum".into()))
        );
        assert_eq!(
            select_record(&txt(&["v=STSv1 ; id=abc"])),
            StsTxtLookup::Valid(StsRecord { id: "abc".into() })
        );
    }

    const ENFORCE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    #[test]
    fn policies_with_crlf_and_lf() {
        let expected = StsPolicy {
            mode: Mode::Enforce,
            mx: vec![
                "mail.example.com".into(),
                "*.example.net".into(),
                "backupmx.example.com".into(),
            ],
            max_age: 604800,
        };
        assert_eq!(parse_policy(ENFORCE), Ok(expected.clone()));
        assert_eq!(
            parse_policy(&ENFORCE.replace("\r\n", "\n")),
            Ok(expected.clone())
        );
        // No final terminator, mixed terminators, white space after values.
        let mixed = "version: STSv1\nmode:enforce \r\nmx:\tmail.example.com\nmx: *.example.net\r\nmx: backupmx.example.com\nmax_age: 604800";
        assert_eq!(parse_policy(mixed), Ok(expected));
    }

    #[test]
    fn policy_modes_and_limits() {
        let p = parse_policy("version: STSv1\nmode: none\nmax_age: 0\n").expect("mode none");
        assert_eq!((p.mode, p.mx.len(), p.max_age), (Mode::None, 0, 0));
        let p = parse_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 31557600\n")
            .expect("testing");
        assert_eq!((p.mode, p.max_age), (Mode::Testing, MAX_AGE_LIMIT));
        let p = parse_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 0000086400\n")
            .expect("leading zeros");
        assert_eq!(p.max_age, 86400);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let text = "version: STSv1\nfoo: bar baz\nmode: enforce\nx.y-z_1: ünïcode = ok;\nmx: mx.example.com\nmax_age: 86400\n";
        let p = parse_policy(text).expect("extensions ignored");
        assert_eq!(p.mx, vec!["mx.example.com".to_string()]);
    }

    fn problems(text: &str) -> Vec<String> {
        match parse_policy(text) {
            Ok(p) => panic!("accepted: {p:?}"),
            Err(problems) => problems,
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let found = problems("mode: sometimes\nmx: mx.example.com\nmax_age: 31557601\n");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("no version field"), "{found:?}");
        assert!(found[1].contains("mode \"sometimes\""), "{found:?}");
        assert!(found[2].contains("max_age 31557601 is larger"), "{found:?}");

        let found = problems("version: STSv2\nmode: enforce\nmx: mx.example.com\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("version \"STSv2\""), "{found:?}");
        assert!(found[1].starts_with("no max_age field"), "{found:?}");

        let found = problems("version: STSv1\nmode: enforce\nmax_age: 1d\n");
        assert!(
            found.iter().any(|p| p.contains("\"1d\" is not a number")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with("no mx field")),
            "{found:?}"
        );

        let found =
            problems("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 12345678901\n");
        assert!(found[0].contains("is not a number"), "{found:?}");

        assert_eq!(
            problems(""),
            vec![
                "the policy is empty",
                "no version field (it is required)",
                "no mode field (it is required)",
                "no max_age field (it is required)"
            ]
        );
    }

    #[test]
    fn duplicate_fields() {
        let found = problems(
            "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\nmax_age: 1\n",
        );
        assert_eq!(
            found,
            vec![
                "mode appears 2 times (lines 2, 3); it must appear exactly once",
                "max_age appears 2 times (lines 5, 6); it must appear exactly once",
            ]
        );
        // mx repeats by design, and unknown fields may repeat.
        assert!(parse_policy("version: STSv1\nmode: none\nx: 1\nx: 2\nmax_age: 1\n").is_ok());
    }

    #[test]
    fn syntax_is_exact() {
        let base = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n";
        assert!(parse_policy(base).is_ok());
        // Field names are case-sensitive.
        let found = problems(&base.replace("mode:", "Mode:"));
        assert_eq!(
            found,
            vec![
                "no mode field (it is required) (line 2 has \"Mode\": field names are case-sensitive)"
            ]
        );
        let found = problems(&base.replace("enforce", "Enforce"));
        assert!(found[0].contains("mode \"Enforce\""), "{found:?}");
        // Blank lines, white space before ":" or at the line start, no colon.
        let found = problems(&format!("{base}\n"));
        assert_eq!(found, vec!["line 5 is empty (blank lines are not allowed)"]);
        let found = problems(&base.replace("mode:", "mode :"));
        assert!(
            found[0].contains("\"mode \" is not a valid field name"),
            "{found:?}"
        );
        let found = problems(&base.replace("mx:", " mx:"));
        assert!(
            found[0].contains("\" mx\" is not a valid field name"),
            "{found:?}"
        );
        let found = problems(&format!("{base}garbage\n"));
        assert!(
            found[0].contains("\"garbage\" is not a \"name: value\""),
            "{found:?}"
        );
        // mx values.
        for bad in [
            "mx.example.com.",
            "*.",
            "a.*.example",
            "mx_1.example",
            "-a.example",
            "",
            "mx example",
        ] {
            let found = problems(&base.replace("mx.example.com", bad));
            assert!(found[0].contains("is not a host name"), "{bad}: {found:?}");
        }
        // A control character in an ignored field's value.
        let found = problems(&format!("{base}x: a\u{7}b\n"));
        assert!(found[0].contains("control characters"), "{found:?}");
        // A bare CR inside a line is not a terminator.
        let found = problems(&base.replace("mode: enforce\n", "mode: enforce\rmx: a.example\n"));
        assert!(
            found.iter().any(|p| p.contains("mode \"enforce\\rmx")),
            "{found:?}"
        );
    }

    #[test]
    fn matching_mx_patterns() {
        assert!(mx_matches("*.example.com", "mx.example.com"));
        assert!(mx_matches("*.Example.COM", "MX.example.com."));
        assert!(mx_matches("*.example.com.", "mx.example.com"));
        assert!(!mx_matches("*.example.com", "a.b.example.com"));
        assert!(!mx_matches("*.example.com", "example.com"));
        assert!(!mx_matches("*.example.com", ".example.com"));
        assert!(!mx_matches("*.example.com", "mx.example.net"));
        assert!(!mx_matches("*.example.com", "mxexample.com"));
        assert!(mx_matches("mx.example.com", "MX.Example.Com."));
        assert!(mx_matches("mx.example.com.", "mx.example.com"));
        assert!(!mx_matches("mx.example.com", "a.mx.example.com"));
        assert!(!mx_matches("example.com", "mx.example.com"));
        assert!(!mx_matches("*.example.com", "*.example.com"));
        assert!(!mx_matches("", ""));
    }
}
