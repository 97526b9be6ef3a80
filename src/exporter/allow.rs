//! Who may make the exporter probe what: `--allow-target PATTERN`
//! (repeatable, or `@FILE`), `--allow-any-target`, and the rule that
//! without either only a loopback listener probes any domain.
//!
//! A pattern is a domain name (`example.com`: that domain only) or
//! `*.` and a domain (`*.example.com`: every name below it, not
//! `example.com` itself; list both to have both).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::domain::DomainName;

/// One `--allow-target` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowPattern {
    /// `example.com`
    Exact(DomainName),
    /// `*.example.com`: names strictly below `example.com`.
    Below(DomainName),
}

impl AllowPattern {
    pub fn matches(&self, domain: &DomainName) -> bool {
        match self {
            AllowPattern::Exact(name) => name == domain,
            AllowPattern::Below(parent) => domain
                .as_str()
                .strip_suffix(parent.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }
}

/// A pattern that is not one.
#[derive(Debug, thiserror::Error)]
pub enum AllowListError {
    #[error("--allow-target {pattern:?}: not a domain name or *.DOMAIN")]
    Pattern { pattern: String },
    #[error("--allow-target @{}: line {line}: not a domain name or *.DOMAIN", path.display())]
    FileLine { path: PathBuf, line: usize },
    #[error("--allow-target @{}: cannot read it: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "smtptls serve listens on {listen}, which is not loopback: give --allow-target PATTERN (the domains it may probe) or --allow-any-target"
    )]
    OpenListener { listen: SocketAddr },
}

impl FromStr for AllowPattern {
    type Err = AllowListError;

    fn from_str(text: &str) -> Result<Self, AllowListError> {
        let invalid = || AllowListError::Pattern {
            pattern: text.to_string(),
        };
        // Wildcards only as a whole first label: `*.example.com`.
        let (below, name) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if name.contains('*') {
            return Err(invalid());
        }
        let name = name.parse::<DomainName>().map_err(|_| invalid())?;
        Ok(if below {
            AllowPattern::Below(name)
        } else {
            AllowPattern::Exact(name)
        })
    }
}

/// Which targets a scrape may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowList {
    /// Any mail domain (`--allow-any-target`, or a loopback listener
    /// without `--allow-target`).
    Any,
    /// Only domains one of these patterns matches; the rest get 403.
    Only(Vec<AllowPattern>),
}

impl AllowList {
    /// The list of the flags: `patterns` (each a pattern or `@FILE`) and
    /// `--allow-any-target`, for a server on `listen`. Without either,
    /// any domain only on loopback: anyone who can reach another address
    /// could otherwise make this machine probe what they like.
    pub fn from_flags(
        patterns: &[String],
        any: bool,
        listen: SocketAddr,
    ) -> Result<Self, AllowListError> {
        if any {
            return Ok(AllowList::Any);
        }
        if patterns.is_empty() {
            return if listen.ip().is_loopback() {
                Ok(AllowList::Any)
            } else {
                Err(AllowListError::OpenListener { listen })
            };
        }
        let mut list = Vec::new();
        for pattern in patterns {
            match pattern.strip_prefix('@') {
                Some(path) => list.extend(read_file(Path::new(path))?),
                None => list.push(pattern.parse()?),
            }
        }
        Ok(AllowList::Only(list))
    }

    pub fn allows(&self, domain: &DomainName) -> bool {
        match self {
            AllowList::Any => true,
            AllowList::Only(patterns) => patterns.iter().any(|p| p.matches(domain)),
        }
    }
}

/// One pattern per line; blank lines and `#` comments skipped.
fn read_file(path: &Path) -> Result<Vec<AllowPattern>, AllowListError> {
    let text = std::fs::read_to_string(path).map_err(|source| AllowListError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut patterns = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        patterns.push(line.parse().map_err(|_| AllowListError::FileLine {
            path: path.to_path_buf(),
            line: i + 1,
        })?);
    }
    Ok(patterns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DomainName {
        s.parse().expect("name")
    }

    fn loopback() -> SocketAddr {
        "127.0.0.1:9612".parse().expect("addr")
    }

    #[test]
    fn exact_and_below_patterns_match_what_they_say() {
        let list = AllowList::from_flags(
            &["Example.com".into(), "*.partner.example".into()],
            false,
            loopback(),
        )
        .expect("list");
        assert!(list.allows(&name("example.com")));
        assert!(!list.allows(&name("mail.example.com")));
        assert!(list.allows(&name("a.partner.example")));
        assert!(list.allows(&name("a.b.partner.example")));
        assert!(!list.allows(&name("partner.example")), "not the parent");
        assert!(!list.allows(&name("evilpartner.example")), "label boundary");
        assert!(!list.allows(&name("other.example")));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "*",
            "*.",
            "a.*.example",
            "ex*ample.com",
            "192.0.2.1",
            "a b",
            "*example.com",
        ] {
            assert!(
                AllowList::from_flags(&[bad.into()], false, loopback()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn without_a_list_only_loopback_probes_any_domain() {
        assert_eq!(
            AllowList::from_flags(&[], false, loopback()).expect("ok"),
            AllowList::Any
        );
        let v6: SocketAddr = "[::1]:9612".parse().expect("addr");
        assert_eq!(
            AllowList::from_flags(&[], false, v6).expect("ok"),
            AllowList::Any
        );
        let open: SocketAddr = "0.0.0.0:9612".parse().expect("addr");
        let err = AllowList::from_flags(&[], false, open).expect_err("refused");
        assert!(matches!(err, AllowListError::OpenListener { .. }));
        assert!(!err.to_string().contains('\n'));
        assert_eq!(
            AllowList::from_flags(&[], true, open).expect("ok"),
            AllowList::Any
        );
        let list = AllowList::from_flags(&["a.example".into()], false, open).expect("ok");
        assert!(list.allows(&name("a.example")) && !list.allows(&name("b.example")));
    }

    #[test]
    fn a_file_of_patterns_with_comments() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("allow.txt");
        std::fs::write(&path, "# partners\na.example\n\n*.b.example  # all of b\n").expect("write");
        let flag = format!("@{}", path.display());
        let list = AllowList::from_flags(&[flag], false, loopback()).expect("list");
        assert!(list.allows(&name("a.example")));
        assert!(list.allows(&name("mx.b.example")));
        assert!(!list.allows(&name("c.example")));
        std::fs::write(&path, "a.example\nnot a domain\n").expect("write");
        let flag = format!("@{}", path.display());
        let err = AllowList::from_flags(&[flag], false, loopback()).expect_err("bad line");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
