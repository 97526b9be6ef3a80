//! `--format csv`: one row per MX address, for spreadsheets. An MX host
//! without addresses gets one row (address fields empty, its error in the
//! error columns), and so does a domain without MX hosts (NXDOMAIN, null
//! MX, DNS failure), so no domain disappears. MX hosts and addresses that
//! `--max-mx-hosts` / `--max-addresses-per-host` left out get a row each,
//! with only their names and `not probed: …` in `error`. Header row first, domains in
//! input order, RFC 4180 (quoted where needed, CRLF line ends).
//!
//! The protocol-scan columns: `accepted_versions` (space-separated, as in
//! the JSON), `weakest_level` (the lowest NCSC-NL level among the row's
//! findings: for an address row, its configuration axis,
//! `configuration.level` in the JSON), `post_quantum`, `legacy_tls`, `starttls_injection` (its
//! result); empty where not scanned or not applicable.
//!
//! Enumerated values (verdict, dane, error_phase) are the JSON names;
//! booleans are `true`/`false`, empty when there is nothing to judge (no
//! certificate). `worst_finding` is `ID: MESSAGE` of the row's most severe
//! finding above `ok` (so `info` for a null MX). Control characters other
//! than tab and line ends, which many CSV readers choke on, and the
//! bidirectional controls are replaced by U+FFFD, and a text cell that a spreadsheet would take for a formula
//! (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`.

use std::borrow::Cow;
use std::io::{self, Write};

use super::{Reporter, wire_name};
use crate::report::{AddressReport, DomainReport, Failure, MxReport, Report, worst};
use crate::vocabulary::Finding;

pub struct CsvReporter;

const COLUMNS: usize = 26;

const HEADER: [&str; COLUMNS] = [
    "domain",
    "verdict",
    "mx",
    "preference",
    "address",
    "port",
    "starttls",
    "tls_version",
    "cipher",
    "chain_valid",
    "hostname_match",
    "days_left",
    "not_after",
    "dane",
    "accepted_versions",
    "weakest_level",
    "post_quantum",
    "legacy_tls",
    "starttls_injection",
    "error_phase",
    "error",
    "worst_finding",
    // Appended, so that the earlier columns keep their places.
    "requiretls",
    "ocsp",
    "ocsp_freshness",
    "must_staple",
];

impl Reporter for CsvReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut w = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(&mut *out);
        w.write_record(HEADER)?;
        for d in &report.domains {
            for row in rows(d) {
                w.write_record(row.iter().enumerate().map(|(i, f)| {
                    let f = printable(f);
                    if TEXT_COLUMNS.contains(&i) {
                        formula_safe(&f).into_owned()
                    } else {
                        f.into_owned()
                    }
                }))?;
            }
        }
        w.flush()
    }
}

fn rows(d: &DomainReport) -> Vec<[String; COLUMNS]> {
    let mut rows = Vec::new();
    for mx in &d.mx {
        if mx.addresses.is_empty() {
            rows.push(row(d, Some(mx), None, mx.error.as_ref(), &mx.findings));
        }
        for a in &mx.addresses {
            rows.push(row(d, Some(mx), Some(a), a.error.as_ref(), &a.findings));
        }
        // What the caps left out gets a row too: a spreadsheet user filters
        // rows, and an address that silently vanished would look probed.
        for ip in &mx.addresses_left_out {
            rows.push(left_out(
                d,
                &mx.host,
                mx.preference,
                &ip.to_string(),
                "not probed: beyond --max-addresses-per-host",
            ));
        }
    }
    for host in &d.mx_left_out {
        rows.push(left_out(
            d,
            &host.host,
            host.preference,
            "",
            "not probed: beyond --max-mx-hosts",
        ));
    }
    if d.mx.is_empty() && d.mx_left_out.is_empty() {
        rows.push(row(d, None, None, d.error.as_ref(), &d.findings));
    }
    rows
}

fn row(
    d: &DomainReport,
    mx: Option<&MxReport>,
    a: Option<&AddressReport>,
    error: Option<&Failure>,
    findings: &[Finding],
) -> [String; COLUMNS] {
    let tls = a.and_then(|a| a.tls.as_ref());
    let scan = a.and_then(|a| a.scan.as_ref());
    let cert = a.and_then(|a| a.certificate.as_ref());
    let text = |v: Option<&str>| v.unwrap_or_default().to_string();
    let num = |v: Option<String>| v.unwrap_or_default();
    [
        d.domain.clone(),
        d.verdict.as_str().to_string(),
        text(mx.map(|m| m.host.as_str())),
        num(mx.map(|m| m.preference.to_string())),
        num(a.map(|a| a.ip.to_string())),
        num(a.map(|a| a.port.to_string())),
        num(a.map(|a| a.starttls.to_string())),
        text(tls.map(|t| t.version.as_str())),
        text(tls.map(|t| t.cipher.as_str())),
        num(cert.map(|c| c.chain_valid.to_string())),
        num(cert.map(|c| c.hostname_match.to_string())),
        num(cert.map(|c| c.days_left.to_string())),
        text(cert.map(|c| c.not_after.as_str())),
        num(a.map(|a| wire_name(&a.dane))),
        num(scan.map(|s| {
            s.accepted_versions
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })),
        num(findings
            .iter()
            .filter_map(|f| f.level)
            .max()
            .map(|l| l.as_str().to_string())),
        num(a.and_then(|a| a.post_quantum).map(|b| b.to_string())),
        num(a.map(|a| a.legacy_tls.to_string())),
        num(a
            .and_then(|a| a.starttls_injection.as_ref())
            .map(|i| wire_name(&i.result))),
        num(error.map(|e| wire_name(&e.phase))),
        text(error.map(|e| e.message.as_str())),
        num(worst(findings).map(|f| format!("{}: {}", f.id, f.message))),
        num(tls.map(|t| t.requiretls.to_string())),
        // `none`: a session, and nothing stapled.
        num(tls.map(|t| {
            t.ocsp
                .as_ref()
                .map_or("none".into(), |o| wire_name(&o.status))
        })),
        num(tls
            .and_then(|t| t.ocsp.as_ref())
            .and_then(|o| o.freshness)
            .map(|f| wire_name(&f))),
        num(cert.map(|c| c.must_staple.to_string())),
    ]
}

/// A row for an MX host or address the caps left out: its names, the
/// domain's verdict, and why it has no results.
fn left_out(
    d: &DomainReport,
    host: &str,
    preference: u16,
    address: &str,
    why: &str,
) -> [String; COLUMNS] {
    let mut row: [String; COLUMNS] = Default::default();
    row[0] = d.domain.clone();
    row[1] = d.verdict.as_str().to_string();
    row[2] = host.to_string();
    row[3] = preference.to_string();
    row[4] = address.to_string();
    row[20] = why.to_string();
    row
}

/// The columns that carry free text, some of it from the network (host
/// names, replies, messages): `domain`, `mx`, `tls_version`, `cipher`,
/// `error`, `worst_finding`. The others are numbers, booleans and ids.
const TEXT_COLUMNS: [usize; 6] = [0, 2, 7, 8, 20, 21];

/// A text cell a spreadsheet would read as a formula (it starts with `=`,
/// `+`, `-`, `@`, tab or CR) gets a leading `'`, as OWASP's CSV-injection
/// advice and the spreadsheets themselves do, so a hostile banner such as
/// `=cmd|' /C calc'!A0` stays text.
fn formula_safe(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` with control characters other than tab, CR and LF (which the
/// CSV quoting carries), bidirectional controls and U+2028/U+2029
/// replaced by U+FFFD: CSV has no escape for them, many readers choke on
/// them, and a `cat` of the file would hand them to the terminal.
fn printable(s: &str) -> Cow<'_, str> {
    super::text::replace_unsafe(s, |c| matches!(c, '\t' | '\r' | '\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixture;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        CsvReporter.finish(report, &mut out).expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn exact_output() {
        let expected = concat!(
            "domain,verdict,mx,preference,address,port,starttls,tls_version,cipher,",
            "chain_valid,hostname_match,days_left,not_after,dane,accepted_versions,weakest_level,",
            "post_quantum,legacy_tls,starttls_injection,error_phase,error,worst_finding,",
            "requiretls,ocsp,ocsp_freshness,must_staple\r\n",
            "good.example,secure,mx1.good.example,10,192.0.2.1,25,true,TLSv1.3,",
            "TLS13_AES_256_GCM_SHA384,true,true,1675,2030-01-01T00:00:00Z,insecure,,,,false,,,,,",
            "false,none,,false\r\n",
            "plain.example,plaintext,\"mx\"\"<&>'\\\n\r\t\u{fffd}\u{fffd}\u{fffe}.evil.example\",5,",
            "2001:db8::25,25,false,,,,,,,insecure,,,,false,,,,\"starttls.offered: STARTTLS not offered: ",
            "220 mx\"\"<&>'\\\n\r\t\u{fffd}\u{fffd}\u{fffe}.evil.example\",,,,\r\n",
            "plain.example,plaintext,\"mx\"\"<&>'\\\n\r\t\u{fffd}\u{fffd}\u{fffe}.evil.example\",5,",
            "192.0.2.2,25,false,,,,,,,insecure,,,,false,,connect,connection refused,",
            "smtp.connect: connection refused,,,,\r\n",
            "nx.example,error,,,,,,,,,,,,,,,,,,dns,nx.example does not exist (NXDOMAIN),",
            "dns.nxdomain: the domain does not exist,,,,\r\n",
            "null.example,no-mail,,,,,,,,,,,,,,,,,,,,",
            "mx.null: null MX (RFC 7505): the domain accepts no mail,,,,\r\n",
        );
        assert_eq!(render(&fixture::report()), expected);
    }

    #[test]
    fn what_the_caps_left_out_has_rows() {
        let mut report = fixture::report();
        report.domains.truncate(1);
        let good = &mut report.domains[0];
        good.mx[0].addresses_left_out = vec!["192.0.2.9".parse().expect("ip")];
        good.mx_left_out = vec![crate::report::LeftOutMx {
            host: "mx9.good.example".into(),
            preference: 90,
        }];
        let out = render(&report);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(
            lines[2],
            "good.example,secure,mx1.good.example,10,192.0.2.9,,,,,,,,,,,,,,,,\
             not probed: beyond --max-addresses-per-host,,,,,"
        );
        assert_eq!(
            lines[3],
            "good.example,secure,mx9.good.example,90,,,,,,,,,,,,,,,,,\
             not probed: beyond --max-mx-hosts,,,,,"
        );
        assert_eq!(lines.len(), 5, "{out}");
    }

    #[test]
    fn formula_cells_stay_text() {
        let mut report = fixture::report();
        report.domains[1].mx[0].host = "=cmd|' /C calc'!A0".into();
        report.domains[1].mx[0].addresses[1].error = Some(Failure {
            phase: crate::report::ErrorPhase::Connect,
            kind: crate::report::ErrorKind::Rejected,
            message: "@SUM(1+1)".into(),
        });
        let text = render(&report);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
        assert_eq!(&rows[1][2], "'=cmd|' /C calc'!A0");
        assert_eq!(&rows[2][20], "'@SUM(1+1)");
        // Numbers are not touched: a negative days_left stays a number.
        assert_eq!(formula_safe("-3"), "'-3");
        assert!(
            !TEXT_COLUMNS.contains(&11),
            "days_left is not a text column"
        );
    }

    #[test]
    fn peer_text_is_replaced_and_formula_guarded_in_every_cell() {
        // fixture::PEER with its controls replaced, quoted for CSV.
        const R: &str = "=cmd|' /C calc'!A0\u{fffd}[2J\u{fffd}]0;T\u{fffd}\u{fffd}\u{fffd}\u{fffd}31m\u{fffd}\u{fffd}\u{fffd}\u{fffd}\"\"q\"\"</script>\r\nX";
        let text = render(&fixture::peer_report());
        let row = text.split_once("\r\n").expect("header").1;
        assert_eq!(
            row,
            format!(
                "peer.example,broken,\"'{R}\",10,192.0.2.7,25,true,TLSv1.3,TLS13_AES_128_GCM_SHA256,\
                 false,false,30,2030-01-01T00:00:00Z,insecure,,,,false,vulnerable,starttls,\
                 \"454 {R}\",\"cert.chain.valid: self-signed certificate (CN={R})\",false,none,,false\r\n"
            )
        );
        assert!(
            !text
                .chars()
                .any(|c| !matches!(c, '\r' | '\n') && crate::reporter::text::is_unsafe(c))
        );
    }

    #[test]
    fn the_readme_lists_the_columns_as_written() {
        let readme = include_str!("../../README.md");
        let listed = format!("columns `{}`", HEADER.join(", "));
        assert!(
            readme.contains(&listed),
            "README.md's csv row must say: {listed}"
        );
        assert_eq!(readme.matches("columns `domain, verdict").count(), 1);
    }

    #[test]
    fn hostile_fields_round_trip_through_a_csv_reader() {
        let text = render(&fixture::report());
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect();
        assert_eq!(header, HEADER);
        let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
        // good: 1 address; plain: 2 addresses; nx and null: 1 row each.
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.len() == HEADER.len()));
        let hostile = &rows[1];
        assert_eq!(&hostile[2], printable(fixture::HOSTILE));
        assert!(hostile[2].contains("\"<&>'\\\n\r\t"));
        let domains: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(
            domains,
            [
                "good.example",
                "plain.example",
                "plain.example",
                "nx.example",
                "null.example"
            ]
        );
    }

    #[test]
    fn an_mx_host_without_addresses_keeps_its_row() {
        let mut report = fixture::report();
        report.domains[0].mx[0].addresses.clear();
        report.domains[0].mx[0].error = Some(Failure {
            phase: crate::report::ErrorPhase::Dns,
            kind: crate::report::ErrorKind::Nxdomain,
            message: "mx1.good.example does not exist".into(),
        });
        let text = render(&report);
        let second = text.split("\r\n").nth(1).expect("first data row");
        assert_eq!(
            second,
            "good.example,secure,mx1.good.example,10,,,,,,,,,,,,,,,,dns,mx1.good.example does not exist,,,,,"
        );
    }
}
