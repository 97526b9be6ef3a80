//! MTA-STS (RFC 8461) for a domain the admin owns: the policy file in
//! mode `testing`, the `_mta-sts` TXT record, the TLS-RPT record (RFC 8460)
//! to receive failure reports, and a warning for every MX address that
//! would fail under mode `enforce` today.

use super::{DomainFacts, MxFacts, Provenance, header, normalize, printable, safe_name};
use crate::protection::tls_rpt;
use crate::vocabulary::Verdict;

/// One week: long enough to protect, short enough to correct a mistake.
const MAX_AGE: u64 = 604_800;

/// What [`mta_sts`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtaSts {
    /// Instructions with the policy, the DNS records and the warnings.
    pub text: String,
    /// The policy file itself (`mta-sts.txt`); `None` when no policy can
    /// be written (audit error, null MX, no usable MX name).
    pub policy: Option<String>,
    /// One line per problem; each also appears in `text` as `# WARNING:`.
    pub warnings: Vec<String>,
}

/// The record's `id` (RFC 8461 §3.1: 1 to 32 letters and digits), from
/// the audit time, e.g. `2025-06-01T12:00:00Z` → `20250601120000`: the
/// same audit gives the same id, a later one a greater id. Without a
/// usable time, a hash of the policy (FNV-1a, hex).
fn record_id(audit_time: &str, policy: &str) -> String {
    let digits: String = audit_time
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    if digits.len() >= 8 {
        return digits;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in policy.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Why an address would fail an MTA-STS-enforcing sender, if it would.
fn enforce_problem(a: &super::AddressFacts) -> Option<String> {
    if !a.tls {
        return Some("no working STARTTLS".into());
    }
    let names = || {
        let mut shown: Vec<String> = a.cert_names.iter().take(5).map(|n| printable(n)).collect();
        if a.cert_names.len() > 5 {
            shown.push("…".into());
        }
        if shown.is_empty() {
            "no DNS names".to_string()
        } else {
            shown.join(", ")
        }
    };
    match (a.chain_valid, a.hostname_match) {
        (true, true) => None,
        (false, true) => Some("certificate chain not valid".into()),
        (true, false) => Some(format!(
            "certificate does not name the host (it names: {})",
            names()
        )),
        (false, false) => Some(format!(
            "certificate chain not valid, and it does not name the host (it names: {})",
            names()
        )),
    }
}

/// The MX names for the policy's `mx:` lines, in preference order,
/// deduplicated; and a warning for each name that cannot be written.
fn mx_names(mx: &[MxFacts], warnings: &mut Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for m in mx {
        let name = normalize(&m.host);
        if !safe_name(&name) {
            warnings.push(format!(
                "the MX name {} cannot be written into the policy: senders enforcing it would not use this host",
                printable(&m.host)
            ));
        } else if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// MTA-STS in testing mode for `d`, a domain the admin owns.
pub fn mta_sts(d: &DomainFacts, p: &Provenance) -> MtaSts {
    let domain = normalize(&d.domain);
    let mut out = String::new();
    let title_domain = if safe_name(&domain) {
        domain.clone()
    } else {
        printable(&d.domain)
    };
    header(
        &mut out,
        &format!("MTA-STS (RFC 8461) for {title_domain}, mode testing."),
        p,
    );
    let mut warnings = Vec::new();

    let impossible = if !safe_name(&domain) {
        Some("the domain name cannot be written into DNS records".to_string())
    } else if let Some(e) = &d.error {
        Some(format!("the audit failed: {}", printable(e)))
    } else if d.verdict == Verdict::NoMail {
        Some("null MX: the domain accepts no mail".to_string())
    } else if d.mx.is_empty() {
        Some("no MX host was found".to_string())
    } else {
        None
    };
    let names = if impossible.is_none() {
        mx_names(&d.mx, &mut warnings)
    } else {
        Vec::new()
    };
    if let Some(why) = impossible.or_else(|| {
        names
            .is_empty()
            .then(|| "no MX name can be written into a policy".to_string())
    }) {
        warnings.push(format!("no MTA-STS policy can be written: {why}"));
        out.push('\n');
        for w in &warnings {
            out.push_str(&format!("# WARNING: {w}\n"));
        }
        return MtaSts {
            text: out,
            policy: None,
            warnings,
        };
    }

    let mut policy = String::from("version: STSv1\nmode: testing\n");
    for n in &names {
        policy.push_str(&format!("mx: {n}\n"));
    }
    policy.push_str(&format!("max_age: {MAX_AGE}\n"));
    // RFC 8461 §3.2: lines end in CRLF or LF; LF is what servers serve.
    let id = record_id(&p.audit_time, &policy);

    let mut notes = Vec::new();
    for m in &d.mx {
        for a in &m.addresses {
            let at = format!("{} [{}]", printable(&m.host), printable(&a.ip));
            if !a.reachable {
                notes.push(format!(
                    "{at} did not answer during the audit: check it before enforcing"
                ));
            } else if let Some(problem) = enforce_problem(a) {
                warnings.push(format!("{at} would fail under mode enforce: {problem}"));
            }
        }
    }

    out.push_str(&format!(
        "\n# 1. Serve this policy file at\n\
         #    https://mta-sts.{domain}/.well-known/mta-sts.txt\n\
         #    (HTTPS, a valid certificate for mta-sts.{domain}, Content-Type: text/plain):\n\n"
    ));
    out.push_str(&policy);
    out.push_str(
        "\n# 2. Publish this DNS record (and change the id whenever the policy changes):\n\n",
    );
    out.push_str(&format!("_mta-sts.{domain}. TXT \"v=STSv1; id={id}\"\n"));
    if d.tls_rpt_rua.is_empty() {
        out.push_str(
            "\n# 3. Publish this DNS record, so that senders report TLS failures (TLS-RPT, RFC 8460):\n\n",
        );
        out.push_str(&tls_rpt::suggested_record(&domain));
        out.push('\n');
    } else {
        let rua: Vec<String> = d.tls_rpt_rua.iter().map(|r| printable(r)).collect();
        out.push_str(&format!(
            "\n# 3. TLS-RPT is published already: senders report TLS failures to {}.\n",
            rua.join(", ")
        ));
    }
    if !warnings.is_empty() || !notes.is_empty() {
        out.push('\n');
    }
    for w in &warnings {
        out.push_str(&format!("# WARNING: {w}\n"));
    }
    for n in &notes {
        out.push_str(&format!("# NOTE: {n}\n"));
    }
    out.push_str(
        "\n# 4. Switch to \"mode: enforce\" (and change the id) only once no WARNING is\n\
         #    left and the TLS-RPT reports have shown no failures for a few weeks.\n",
    );
    MtaSts {
        text: out,
        policy: Some(policy),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mta_config::testutil::*;

    fn owned() -> DomainFacts {
        // mx1 good; mx2 self-signed; mx3 unreachable.
        let mut bad = addr("192.0.2.7");
        bad.chain_valid = false;
        let mut dead = addr("192.0.2.8");
        dead.reachable = false;
        dead.tls = false;
        domain(
            "Example.COM.",
            Verdict::Encrypted,
            vec![
                mx("mx1.example.com", vec![addr("192.0.2.6")]),
                mx("mx2.example.com", vec![bad]),
                mx("mx3.example.com", vec![dead]),
                mx("MX1.example.com.", vec![]),
            ],
        )
    }

    #[test]
    fn exact_output() {
        let s = mta_sts(&owned(), &provenance());
        let expected = "\
# MTA-STS (RFC 8461) for example.com, mode testing.
# Generated by smtptls 0.1.0 from an audit of 4 domains (audit time: 2025-06-01T12:00:00Z).

# 1. Serve this policy file at
#    https://mta-sts.example.com/.well-known/mta-sts.txt
#    (HTTPS, a valid certificate for mta-sts.example.com, Content-Type: text/plain):

version: STSv1
mode: testing
mx: mx1.example.com
mx: mx2.example.com
mx: mx3.example.com
max_age: 604800

# 2. Publish this DNS record (and change the id whenever the policy changes):

_mta-sts.example.com. TXT \"v=STSv1; id=20250601120000\"

# 3. Publish this DNS record, so that senders report TLS failures (TLS-RPT, RFC 8460):

_smtp._tls.example.com. TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.com\"

# WARNING: mx2.example.com [192.0.2.7] would fail under mode enforce: certificate chain not valid
# NOTE: mx3.example.com [192.0.2.8] did not answer during the audit: check it before enforcing

# 4. Switch to \"mode: enforce\" (and change the id) only once no WARNING is
#    left and the TLS-RPT reports have shown no failures for a few weeks.
";
        assert_eq!(s.text, expected);
        assert_eq!(
            s.policy.as_deref(),
            Some(
                "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: mx2.example.com\nmx: mx3.example.com\nmax_age: 604800\n"
            )
        );
        assert_eq!(s.warnings.len(), 1);
        assert_eq!(s, mta_sts(&owned(), &provenance()), "deterministic");
    }

    #[test]
    fn the_policy_parses_and_the_id_is_valid() {
        let s = mta_sts(&owned(), &provenance());
        let policy = crate::protection::mta_sts::parse_policy(s.policy.as_deref().expect("policy"));
        assert!(policy.is_ok(), "{policy:?}");
        let record = s
            .text
            .lines()
            .find(|l| l.starts_with("_mta-sts."))
            .and_then(|l| l.split('"').nth(1))
            .expect("TXT record");
        let parsed = crate::protection::mta_sts::parse_record(record);
        assert!(parsed.is_ok(), "{record}: {parsed:?}");
        let id = record_id("", "x");
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(id, record_id("unknown", "x"));
        assert_ne!(id, record_id("", "y"));
        assert_eq!(record_id("2025-06-01T12:00:00.123Z", "x"), "20250601120000");
    }

    #[test]
    fn existing_tls_rpt_and_name_mismatch() {
        let mut d = owned();
        d.tls_rpt_rua = vec!["mailto:tls@example.com".into()];
        d.mx[0].addresses[0].hostname_match = false;
        d.mx[0].addresses[0].cert_names = vec!["other.example".into()];
        let s = mta_sts(&d, &provenance());
        assert!(s.text.contains(
            "# 3. TLS-RPT is published already: senders report TLS failures to mailto:tls@example.com.\n"
        ));
        assert!(!s.text.contains("_smtp._tls"));
        assert!(s.text.contains(
            "# WARNING: mx1.example.com [192.0.2.6] would fail under mode enforce: certificate does not name the host (it names: other.example)\n"
        ));
        assert_eq!(s.warnings.len(), 2);
    }

    #[test]
    fn no_policy_without_mx() {
        let mut nx = domain("nx.example", Verdict::Error, vec![]);
        nx.error = Some("nx.example does not exist (NXDOMAIN)".into());
        let s = mta_sts(&nx, &provenance());
        assert_eq!(s.policy, None);
        assert!(s.text.ends_with(
            "\n# WARNING: no MTA-STS policy can be written: the audit failed: nx.example does not exist (NXDOMAIN)\n"
        ));
        let null = domain("null.example", Verdict::NoMail, vec![]);
        assert_eq!(mta_sts(&null, &provenance()).policy, None);
    }
}
