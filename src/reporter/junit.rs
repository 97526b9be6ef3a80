//! `--format junit`: JUnit XML for CI dashboards. One `<testsuite
//! name="smtptls">`, one `<testcase classname="smtptls" name="DOMAIN">` per
//! domain in input order. A domain whose verdict is below `--fail-below`
//! (or, with `--fail-level`, whose configuration level is at or below it)
//! fails, with the verdict and every warn/fail finding as the failure
//! text, after the verdict and the configuration level (the NCSC-NL axis);
//! a passing domain carries the same lines in `<system-out>`. A domain
//! not audited because of the local set-up (`resolver-unusable`,
//! `ErrorKind::is_setup`) is an `<error>`, counted in the suite's
//! `errors`, not a `<failure>`: the CI job is broken, not the partner,
//! and a dashboard must not show every partner failing.
//!
//! Both come from the one view ([`crate::report::view`]): the fail rule
//! is its `Gate` (as for the exit code and the summary), and the finding
//! lines are the domain's `problems`, failures first, each said once
//! with every subject that has it (`HOST [ADDRESS, ADDRESS]: ID:
//! MESSAGE`, or the domain's name for a finding about the domain).
//!
//! Escaping is quick-xml's; characters XML 1.0 does not allow at all
//! (control characters from a hostile banner, U+FFFE, U+FFFF) are replaced
//! by U+FFFD first, since no escape can represent them, and so are the
//! characters XML allows but a reader's screen would obey (C1 controls,
//! DEL, bidirectional controls, U+2028/U+2029).

use std::borrow::Cow;
use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::Reporter;
use crate::report::Report;
use crate::report::view::{DomainView, FleetView, Naming};
use crate::vocabulary::{ErrorKind, Severity};

pub struct JunitReporter;

impl Reporter for JunitReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let fleet = FleetView::new(report);
        let errors = fleet.domains.iter().filter(|v| is_setup_error(v)).count();
        let failures = fleet
            .domains
            .iter()
            .filter(|v| v.gate.is_some() && !is_setup_error(v))
            .count();
        let mut w = Writer::new_with_indent(&mut *out, b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;

        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", "smtptls"));
        suite.push_attribute(("tests", report.domains.len().to_string().as_str()));
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", errors.to_string().as_str()));
        suite.push_attribute(("skipped", "0"));
        suite.push_attribute(("timestamp", xml_chars(&report.generated_at).as_ref()));
        w.write_event(Event::Start(suite))?;

        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for (name, value) in [
            ("fail_below", report.settings.fail_below.as_str()),
            ("smtptls_version", &report.tool.version),
        ] {
            let mut property = BytesStart::new("property");
            property.push_attribute(("name", name));
            property.push_attribute(("value", xml_chars(value).as_ref()));
            w.write_event(Event::Empty(property))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;

        for domain in &fleet.domains {
            testcase(&mut w, domain, report.settings.port)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
        w.get_mut().write_all(b"\n")
    }
}

fn testcase<W: Write>(w: &mut Writer<W>, v: &DomainView<'_>, port: u16) -> io::Result<()> {
    let d = v.report;
    let mut case = BytesStart::new("testcase");
    case.push_attribute(("classname", "smtptls"));
    case.push_attribute(("name", xml_chars(&d.domain).as_ref()));
    w.write_event(Event::Start(case))?;

    let mut text = format!("verdict {}: {}", d.verdict, d.verdict_reason);
    if let Some(c) = &d.configuration {
        // The second axis, on its own line: never part of the verdict.
        let bound = if c.lower_bound { " (lower bound)" } else { "" };
        text.push_str(&format!("\nconfiguration {}{bound}", c.level));
    }
    for line in problems(v, port) {
        text.push('\n');
        text.push_str(&line);
    }
    let text = xml_chars(&text);
    let element = if let Some(kind) = d.setup_failure() {
        let mut element = BytesStart::new("error");
        let message = match kind {
            ErrorKind::NoRoute => "not audited: no route from this machine to any MX address",
            _ => "not audited: the local set-up (resolver) failed",
        };
        element.push_attribute(("message", message));
        element.push_attribute(("type", kind.as_str()));
        w.write_event(Event::Start(element))?;
        "error"
    } else if let Some(gate) = &v.gate {
        let mut failure = BytesStart::new("failure");
        failure.push_attribute(("message", gate.message().as_str()));
        failure.push_attribute(("type", gate.kind()));
        w.write_event(Event::Start(failure))?;
        "failure"
    } else {
        w.write_event(Event::Start(BytesStart::new("system-out")))?;
        "system-out"
    };
    w.write_event(Event::Text(BytesText::new(&text)))?;
    w.write_event(Event::End(BytesEnd::new(element)))?;
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

/// Not audited because of the run's set-up: an `<error>`, not a failure.
fn is_setup_error(v: &DomainView<'_>) -> bool {
    v.report.setup_failure().is_some()
}

/// Warn and fail findings, `WHERE: ID: MESSAGE`, failures first, each
/// said once: WHERE is the domain, or the MX hosts and addresses that
/// have it ([`crate::report::view::Problem::about`]).
fn problems(v: &DomainView<'_>, port: u16) -> Vec<String> {
    v.problems
        .iter()
        .filter(|p| p.finding.severity >= Severity::Warn)
        .map(|p| {
            let place = p
                .about(v.report, port, Naming::Addresses)
                .unwrap_or_else(|| v.report.domain.clone());
            format!("{place}: {}: {}", p.finding.id, p.finding.message)
        })
        .collect()
}

/// `s` with every character XML 1.0 does not allow, and every unsafe one
/// ([`super::text::is_unsafe`]) but tab and line ends, replaced by U+FFFD.
fn xml_chars(s: &str) -> Cow<'_, str> {
    fn allowed(c: char) -> bool {
        let xml = matches!(c,
            '\t' | '\n' | '\r'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'..);
        xml && (matches!(c, '\t' | '\n' | '\r') || !super::text::is_unsafe(c))
    }
    if s.chars().all(allowed) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixture;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        JunitReporter.finish(report, &mut out).expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn exact_output() {
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="smtptls" tests="4" failures="2" errors="0" skipped="0" timestamp="2025-06-01T12:00:00Z">
  <properties>
    <property name="fail_below" value="encrypted"/>
    <property name="smtptls_version" value="VERSION"/>
  </properties>
  <testcase classname="smtptls" name="good.example">
    <system-out>verdict secure: STARTTLS with a valid, matching certificate on every reachable MX address
configuration sufficient (lower bound)
good.example: mta-sts.mode: MTA-STS policy in testing mode: failures are reported, mail is still delivered</system-out>
  </testcase>
  <testcase classname="smtptls" name="plain.example">
    <failure message="verdict plaintext below encrypted" type="plaintext">verdict plaintext: no reachable MX address has working STARTTLS
{HOSTILE} [2001:db8::25]: starttls.offered: STARTTLS not offered: 220 {HOSTILE}
{HOSTILE} [192.0.2.2]: smtp.connect: connection refused
{HOSTILE}: mx.invalid-name: the MX target is not a valid host name</failure>
  </testcase>
  <testcase classname="smtptls" name="nx.example">
    <failure message="verdict error below encrypted" type="error">verdict error: nx.example does not exist (NXDOMAIN)
nx.example: dns.nxdomain: the domain does not exist</failure>
  </testcase>
  <testcase classname="smtptls" name="null.example">
    <system-out>verdict no-mail: null MX: the domain accepts no mail</system-out>
  </testcase>
</testsuite>
"#
        .replace("VERSION", env!("CARGO_PKG_VERSION"))
        // Quote, markup and CR escaped; LF and tab kept; NUL, ESC and
        // U+FFFE replaced.
        .replace(
            "{HOSTILE}",
            "mx&quot;&lt;&amp;&gt;&apos;\\\n&#13;\t\u{FFFD}\u{FFFD}\u{FFFD}.evil.example",
        );
        assert_eq!(render(&fixture::report()), expected);
    }

    #[test]
    fn hostile_text_stays_well_formed_and_round_trips() {
        let text = render(&fixture::report());
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("plain.example"))
            .and_then(|c| c.children().find(|n| n.has_tag_name("failure")))
            .expect("plain.example fails");
        // Everything but the characters XML cannot carry comes back as sent.
        let hostile = xml_chars(fixture::HOSTILE);
        assert!(hostile.contains('\u{FFFD}') && hostile.contains("\"<&>'\\\n\r\t"));
        let body = failure.text().expect("failure text");
        assert!(
            body.contains(&format!("{hostile} [192.0.2.2]: smtp.connect")),
            "{body:?}"
        );
    }

    #[test]
    fn peer_text_is_escaped_and_unsafe_characters_replaced() {
        // fixture::PEER as the failure text carries it.
        const X: &str = "=cmd|&apos; /C calc&apos;!A0\u{FFFD}[2J\u{FFFD}]0;T\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}31m\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}&quot;q&quot;&lt;/script&gt;&#13;\nX";
        let text = render(&fixture::peer_report());
        let expected = format!(
            "  <testcase classname=\"smtptls\" name=\"peer.example\">\n    \
             <failure message=\"verdict broken below encrypted\" type=\"broken\">\
             verdict broken: because {X}\n\
             peer.example: mta-sts.policy: policy: {X}\n\
             {X} [192.0.2.7]: cert.chain.valid: self-signed certificate (CN={X})\n\
             {X}: mx.invalid-name: MX {X}</failure>\n  \
             </testcase>\n"
        );
        assert!(text.contains(&expected), "{text}");
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::reporter::text::is_unsafe(c))
        );
        roxmltree::Document::parse(&text).expect("well-formed XML");
    }

    #[test]
    fn attributes_with_hostile_domain_names_are_escaped() {
        let mut report = fixture::report();
        report.domains[0].domain = fixture::HOSTILE.to_string();
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let name = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .find_map(|n| n.attribute("name"))
            .expect("a testcase");
        assert_eq!(name, xml_chars(fixture::HOSTILE));
    }

    #[test]
    fn fail_level_fails_a_domain_on_the_configuration_axis() {
        let mut report = fixture::report();
        report.settings.fail_below = crate::vocabulary::Verdict::Error;
        report.settings.fail_level = Some(crate::vocabulary::NcscLevel::Sufficient);
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("good.example"))
            .and_then(|n| n.children().find(|c| c.has_tag_name("failure")))
            .expect("good.example fails on its configuration level");
        assert_eq!(failure.attribute("type"), Some("configuration"));
        assert_eq!(
            failure.attribute("message"),
            Some("configuration sufficient at or below --fail-level sufficient")
        );
        report.settings.fail_level = Some(crate::vocabulary::NcscLevel::PhaseOut);
        assert!(!render(&report).contains("<failure"));
    }

    /// A `resolver-unusable` row is the set-up's error, not the
    /// partner's failure: `<error>`, counted in `errors`, and the other
    /// rows keep their failures.
    #[test]
    fn a_setup_error_is_an_error_not_a_failure() {
        use crate::vocabulary::{ErrorKind, ErrorPhase, Failure};
        let mut report = fixture::report();
        let before = render(&report);
        let doc = roxmltree::Document::parse(&before).expect("well-formed XML");
        let failures_before: usize = doc
            .root_element()
            .attribute("failures")
            .and_then(|n| n.parse().ok())
            .expect("failures");
        report.domains.push(crate::report::DomainReport::failed(
            "unresolved.example",
            Failure::new(
                ErrorPhase::Dns,
                ErrorKind::ResolverUnusable,
                "not audited: the resolver failed".to_string(),
            ),
        ));
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let suite = doc.root_element();
        assert_eq!(suite.attribute("errors"), Some("1"));
        assert_eq!(
            suite.attribute("failures"),
            Some(failures_before.to_string().as_str())
        );
        let case = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("unresolved.example"))
            .expect("testcase");
        let error = case
            .children()
            .find(|n| n.has_tag_name("error"))
            .expect("an <error>");
        assert_eq!(error.attribute("type"), Some("resolver-unusable"));
        assert!(!case.children().any(|n| n.has_tag_name("failure")));
    }

    /// A domain none of whose MX addresses had a route from here is an
    /// `<error type="no-route">` too: the machine's fault, not a failing
    /// partner.
    #[test]
    fn a_domain_unreachable_from_here_is_an_error_not_a_failure() {
        use crate::vocabulary::{ErrorKind, ErrorPhase, Failure};
        let mut report = fixture::report();
        let mut d = report.domains[1].clone();
        d.domain = "noroute.example".into();
        for a in d.mx.iter_mut().flat_map(|m| m.addresses.iter_mut()) {
            a.error = Some(Failure::new(
                ErrorPhase::Connect,
                ErrorKind::NoRoute,
                "no route from here to the address's network".to_string(),
            ));
        }
        report.domains.push(d);
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        assert_eq!(doc.root_element().attribute("errors"), Some("1"));
        let case = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("noroute.example"))
            .expect("testcase");
        let error = case
            .children()
            .find(|n| n.has_tag_name("error"))
            .expect("an <error>");
        assert_eq!(error.attribute("type"), Some("no-route"));
        assert!(!case.children().any(|n| n.has_tag_name("failure")));
    }

    #[test]
    fn counts_follow_the_threshold() {
        let mut report = fixture::report();
        report.settings.fail_below = crate::vocabulary::Verdict::Error;
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let suite = doc.root_element();
        assert_eq!(suite.attribute("tests"), Some("4"));
        assert_eq!(suite.attribute("failures"), Some("0"));
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("failure"))
                .count(),
            0
        );
    }

    #[test]
    fn a_finding_on_several_addresses_is_one_line_naming_them() {
        // The view's problems: the same finding on both addresses of a
        // host is said once, failures before warnings, and an address on
        // another port than the run's shows it.
        let mut report = fixture::report();
        report.domains.truncate(2);
        let plain = &mut report.domains[1];
        plain.mx[0].host = "mx.plain.example".into();
        let f = crate::vocabulary::Finding::fail(
            crate::vocabulary::FindingId::SmtpConnect,
            "connection refused",
        );
        for a in &mut plain.mx[0].addresses {
            a.findings = vec![f.clone()];
        }
        plain.mx[0].addresses[0].port = 2525;
        let text = render(&report);
        assert!(
            text.contains(
                "verdict plaintext: no reachable MX address has working STARTTLS\n\
                 mx.plain.example [[2001:db8::25]:2525, 192.0.2.2]: smtp.connect: connection refused\n\
                 mx.plain.example: mx.invalid-name: the MX target is not a valid host name</failure>"
            ),
            "{text}"
        );
    }

    #[test]
    fn empty_run_is_a_valid_empty_suite() {
        let mut report = fixture::report();
        report.domains.clear();
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        assert_eq!(doc.root_element().attribute("tests"), Some("0"));
    }
}
