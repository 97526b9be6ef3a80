//! The check page on the reporters' hand-built reports: valid HTML (no
//! parse error from html5ever), peer text as text and never markup, the
//! fleet sections and the worst-first order.

use scraper::{ElementRef, Html, Selector};

use super::super::fixture::{self, HOSTILE, PEER};
use super::super::text;
use super::*;

fn render(report: &Report) -> String {
    let mut out = Vec::new();
    write_page(report, &mut out).expect("write");
    String::from_utf8(out).expect("UTF-8")
}

/// html5ever's parse errors, with where they are: empty for a document
/// that parses as written (no unclosed or misnested element, no stray
/// character a browser has to repair).
pub(crate) fn parse_errors(html: &str) -> Vec<String> {
    Html::parse_document(html)
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn texts(doc: &Html, selector: &str) -> Vec<String> {
    doc.select(&sel(selector))
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// Each row's `cells`, their texts joined by `|`.
fn row_cells(doc: &Html, rows: &str, cells: &str) -> Vec<String> {
    doc.select(&sel(rows))
        .map(|r| {
            r.select(&sel(cells))
                .map(|c| c.text().collect::<String>())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn attrs(doc: &Html, selector: &str, name: &str) -> Vec<String> {
    doc.select(&sel(selector))
        .map(|e| e.value().attr(name).unwrap_or("").to_string())
        .collect()
}

/// Every element's name in the document, each once.
fn element_names(doc: &Html) -> std::collections::BTreeSet<String> {
    doc.root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .map(|e| e.value().name().to_string())
        .collect()
}

/// The elements this page is made of; markup from a peer would add one.
const OUR_ELEMENTS: &[&str] = &[
    "a", "body", "br", "button", "caption", "code", "dd", "details", "div", "dl", "dt", "footer",
    "form", "g", "h1", "h2", "h3", "h4", "h5", "head", "header", "html", "input", "label", "li",
    "main", "meta", "nav", "option", "p", "rect", "script", "section", "select", "span", "strong",
    "style", "summary", "svg", "table", "tbody", "td", "text", "th", "thead", "time", "title",
    "tr", "ul",
];

#[test]
fn fleet_page_parses_without_an_error() {
    let html = render(&fixture::report());
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn an_empty_report_is_a_valid_page() {
    let mut report = fixture::report();
    report.domains.clear();
    report.summary = crate::report::Summary::default();
    let html = render(&report);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("#rows tbody tr")).count(), 0);
    assert_eq!(texts(&doc, "#problems p"), ["No finding above ok."]);
}

#[test]
fn the_validity_check_can_fail() {
    // An unclosed element and a stray end tag: the check above would
    // report these.
    let broken = "<!DOCTYPE html><html lang=\"en\"><head><title>x</title></head>\
                  <body><div><p>a</span></div><table><td>b</table></body></html>";
    let errors = parse_errors(broken);
    assert!(errors.len() >= 2, "{errors:?}");
    // And a raw NUL, which the escaping never lets through.
    assert!(!parse_errors("<!DOCTYPE html><title>x</title><p>a\0b").is_empty());
}

#[test]
fn the_page_loads_nothing_from_elsewhere() {
    let html = render(&fixture::report());
    let doc = Html::parse_document(&html);
    for (selector, attr) in [
        ("[src]", "src"),
        ("link", "href"),
        ("img", "src"),
        ("iframe", "src"),
    ] {
        assert_eq!(
            attrs(&doc, selector, attr),
            Vec::<String>::new(),
            "{selector}"
        );
    }
    // Every link is to a place in the page.
    for href in attrs(&doc, "a", "href") {
        assert!(href.starts_with('#'), "{href}");
    }
    // The SVG namespace is a name, not something fetched; nothing else
    // looks like a URL outside the MTA-STS policy URL of a domain.
    let outside: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 40).min(html.len())])
        .filter(|s| {
            !s.starts_with("http://www.w3.org/2000/svg")
                && !s.starts_with("https://mta-sts.good.example")
        })
        .collect();
    assert_eq!(outside, Vec::<&str>::new());
    assert_eq!(texts(&doc, "style").len(), 1);
    assert_eq!(texts(&doc, "script"), vec![format!("\n{}", page::SCRIPT)]);
}

#[test]
fn peer_text_is_text_never_markup() {
    for report in [fixture::report(), fixture::peer_report()] {
        let html = render(&report);
        assert_eq!(parse_errors(&html), Vec::<String>::new());
        // No control or bidi character reaches the page as such.
        let raw: Vec<char> = html
            .chars()
            .filter(|&c| text::is_unsafe(c) && c != '\n')
            .collect();
        assert_eq!(raw, Vec::<char>::new());
        let doc = Html::parse_document(&html);
        // Exactly the one script element written by the page, and no
        // element a peer could have added.
        assert_eq!(doc.select(&sel("script")).count(), 1);
        let names = element_names(&doc);
        let extra: Vec<&String> = names
            .iter()
            .filter(|n| !OUR_ELEMENTS.contains(&n.as_str()))
            .collect();
        assert_eq!(extra, Vec::<&String>::new());
        // No event-handler attribute anywhere.
        for e in doc
            .root_element()
            .descendants()
            .filter_map(ElementRef::wrap)
        {
            for (name, _) in e.value().attrs() {
                assert!(!name.starts_with("on"), "{name} on {}", e.value().name());
            }
        }
    }
}

#[test]
fn hostile_peer_text_appears_as_text() {
    let html = render(&fixture::peer_report());
    let doc = Html::parse_document(&html);
    // What a reader sees: the terminal's escapes of the control
    // characters, the markup and quotes as characters.
    let shown = text::terminal(PEER).into_owned();
    assert!(
        shown.contains("</script>") && shown.contains("\\x1b[2J"),
        "{shown}"
    );
    let banner = format!("220 {shown}");
    let codes = texts(&doc, "details code");
    assert!(codes.contains(&banner), "{codes:?}");
    assert!(
        codes.contains(&shown),
        "EHLO keyword, MX pattern, id: {codes:?}"
    );
    assert!(
        codes.contains(&format!("CN={shown}, O={shown}")),
        "subject, issuer"
    );
    assert!(codes.contains(&format!("mailto:{shown}")), "TLS-RPT rua");
    assert!(codes.contains(&format!("250 {shown}")), "injection reply");
    assert_eq!(
        texts(&doc, "details h4"),
        vec!["Domain findings".to_string(), format!("MX 10 {shown}"),]
    );
    assert_eq!(
        texts(&doc, "#rows tbody td.reason"),
        vec![format!("because {shown}")]
    );
    let findings = texts(&doc, "details ul.findings li");
    assert!(
        findings.contains(&format!(
            "FAIL cert.chain.valid self-signed certificate (CN={shown})"
        )),
        "{findings:?}"
    );
    assert!(
        findings.contains(&format!("FAIL mta-sts.policy policy: {shown}")),
        "{findings:?}"
    );
    // As written in the file: escaped markup, never a raw `</script>`
    // other than the page's own closing tag.
    assert_eq!(html.matches("</script>").count(), 1);
    assert!(html.contains("&lt;/script&gt;"));
    assert!(html.contains("=cmd|&#39; /C calc&#39;!A0"));
    // The certificate is on the expiry timeline (30 days) with its
    // hostile MX name as text.
    assert_eq!(
        texts(&doc, "#expiry tbody tr td:nth-child(4)"),
        vec![shown.clone()]
    );
    // The hand-built report's other hostile text, the MX name HOSTILE.
    let other = Html::parse_document(&render(&fixture::report()));
    let hostile = text::terminal(HOSTILE).into_owned();
    assert!(texts(&other, "details h4").contains(&format!("MX 5 {hostile}")));
}

#[test]
fn domains_are_listed_worst_first() {
    let html = render(&fixture::report());
    let doc = Html::parse_document(&html);
    assert_eq!(
        attrs(&doc, "#rows tbody tr", "data-verdict"),
        ["error", "plaintext", "secure", "no-mail"]
    );
    assert_eq!(
        texts(&doc, "#rows tbody tr td:first-child a"),
        [
            "nx.example",
            "plain.example",
            "good.example",
            "null.example"
        ]
    );
    // The drill-downs in the same order, collapsed, each named by its
    // position in the report (never by its name).
    assert_eq!(
        attrs(&doc, "details.domain", "id"),
        ["d-2", "d-1", "d-0", "d-3"]
    );
    assert_eq!(doc.select(&sel("details[open]")).count(), 0);
    assert_eq!(
        attrs(&doc, "#rows tbody tr", "data-details"),
        ["d-2", "d-1", "d-0", "d-3"]
    );
    // Without the script everything is shown.
    assert_eq!(doc.select(&sel("[hidden]")).count(), 1, "only the controls");
    // The controls wait for the script.
    assert_eq!(attrs(&doc, "#controls", "hidden"), [""]);
    assert_eq!(
        attrs(&doc, "#f-verdict option", "value"),
        ["", "secure", "plaintext", "error", "no-mail", "*"]
    );
}

#[test]
fn fleet_sections_say_the_counts() {
    let html = render(&fixture::report());
    let doc = Html::parse_document(&html);
    assert_eq!(
        texts(&doc, "h2"),
        [
            "Summary",
            "Verdicts",
            "Downgrade protection",
            "Certificate expiry",
            "Most common problems",
            "Domains",
            "Per domain"
        ]
    );
    // The chart: every verdict with its count and share, as text.
    assert_eq!(
        texts(&doc, "#verdict-chart g text"),
        [
            "protected",
            "0 (0%)",
            "secure",
            "1 (25%)",
            "encrypted",
            "0 (0%)",
            "partial",
            "0 (0%)",
            "plaintext",
            "1 (25%)",
            "broken",
            "0 (0%)",
            "error",
            "1 (25%)",
            "no-mail",
            "1 (25%)"
        ]
    );
    // Adoption over the two domains with a mail host: every state of
    // each mechanism, in the view's words and order.
    let rows = row_cells(&doc, "table.adoption tbody tr", "th, td");
    assert_eq!(
        rows,
        [
            "DNSSEC|signed|0|0%",
            "unsigned|2|100%",
            "bogus|0|0%",
            "unknown|0|0%",
            "DANE|valid|0|0%",
            "mismatch|0|0%",
            "unusable|0|0%",
            "none|2|100%",
            "MTA-STS|enforce|0|0%",
            "testing|1|50%",
            "none|0|0%",
            "absent|1|50%",
            "invalid|0|0%",
            "-|0|0%",
            "TLS-RPT|present|1|50%",
            "absent|1|50%",
            "invalid|0|0%",
            "-|0|0%",
        ]
    );
    // Passing checks are folded away, problems shown.
    assert_eq!(texts(&doc, "details.passed > summary"), ["1 passed"]);
    assert_eq!(
        texts(&doc, "details.passed li"),
        ["ok starttls.offered STARTTLS offered"]
    );
    // No certificate within 90 days (good.example's has 1675 days).
    assert_eq!(
        texts(&doc, "#expiry p"),
        ["No MX certificate is expired or expires within 90 days."]
    );
    // The problems: failures first, then warnings, then notes.
    assert_eq!(
        texts(&doc, "table.problems tbody th code.id"),
        [
            "dns.nxdomain",
            "smtp.connect",
            "starttls.offered",
            "mta-sts.mode",
            "mx.invalid-name",
            "mta-sts.record",
            "mx.null"
        ]
    );
    assert_eq!(
        attrs(&doc, "table.problems tbody td.num a", "href")[..3],
        [
            "#q=fail:dns.nxdomain",
            "#q=fail:smtp.connect",
            "#q=fail:starttls.offered"
        ]
    );
    // The summary's cards and settings.
    assert_eq!(
        texts(&doc, "#summary .card"),
        [
            "4domains",
            "2below the threshold (encrypted)",
            "0SMTP connections",
            "0shared MX observations reused"
        ]
    );
    let footer = texts(&doc, "footer").join("");
    assert!(
        footer.contains(&format!("smtptls {}", env!("CARGO_PKG_VERSION"))),
        "{footer}"
    );
    assert!(footer.contains("2025-06-01T12:00:00Z"), "{footer}");
}

#[test]
fn expiry_timeline_buckets_and_shares_hosts() {
    let mut report = fixture::report();
    let good = report.domains[0].clone();
    report.domains.clear();
    for (name, days) in [
        ("a.example", -3),
        ("b.example", 5),
        ("c.example", 20),
        ("d.example", 60),
        ("e.example", 400),
    ] {
        let mut d = good.clone();
        d.domain = name.into();
        let a = &mut d.mx[0].addresses[0];
        let c = a.certificate.as_mut().expect("certificate");
        c.days_left = days;
        c.sha256 = format!("sha-{days}");
        report.domains.push(d);
    }
    // A second domain on b.example's host and certificate: one row.
    let mut shared = report.domains[1].clone();
    shared.domain = "b2.example".into();
    report.domains.push(shared);
    let doc = Html::parse_document(&render(&report));
    assert_eq!(
        texts(&doc, "#expiry-chart g text"),
        [
            "expired",
            "1 (25%)",
            "within 7 days",
            "1 (25%)",
            "within 30 days",
            "1 (25%)",
            "within 90 days",
            "1 (25%)"
        ]
    );
    let rows = row_cells(&doc, "#expiry tbody tr", "td");
    assert_eq!(
        rows,
        [
            "expired|-3|2030-01-01T00:00:00Z|mx1.good.example|192.0.2.1|a.example",
            "within 7 days|5|2030-01-01T00:00:00Z|mx1.good.example|192.0.2.1|b.example, b2.example",
            "within 30 days|20|2030-01-01T00:00:00Z|mx1.good.example|192.0.2.1|c.example",
            "within 90 days|60|2030-01-01T00:00:00Z|mx1.good.example|192.0.2.1|d.example",
        ]
    );
}

#[test]
fn the_shell_alone_is_a_valid_page_for_another_report() {
    // What a second page (the diff's) gets from `page`: header, footer,
    // the style and script, and the pieces.
    let mut out = String::new();
    page::open(
        &mut out,
        &page::Header {
            title: "smtptls diff <old> <new>",
            subtitle: "what changed",
        },
    )
    .expect("fmt");
    out.push_str("<section><h2>Changes</h2>");
    page::filter_controls(
        &mut out,
        "Change",
        &[("down", "verdict down (1)".to_string())],
        1,
        "domain",
    )
    .expect("fmt");
    page::rows_table_open(
        &mut out,
        "worst first",
        &[
            page::Column {
                label: "Domain",
                sort: page::Sort::Text,
                numeric: false,
            },
            page::Column {
                label: "Change",
                sort: page::Sort::No,
                numeric: false,
            },
        ],
        Some(0),
    )
    .expect("fmt");
    out.push_str("<tr data-verdict=\"down\" data-details=\"c-0\"><td>a.example</td><td>");
    page::verdict_badge(&mut out, Verdict::Broken).expect("fmt");
    out.push_str("</td></tr></tbody></table>\n");
    page::findings(
        &mut out,
        [(Some("mx1"), &Finding::warn(FindingId::CertExpiry, "soon"))],
    )
    .expect("fmt");
    out.push_str("</section>\n");
    page::close(
        &mut out,
        &crate::report::ToolInfo::default(),
        "2025-06-01T12:00:00Z",
    )
    .expect("fmt");
    assert_eq!(parse_errors(&out), Vec::<String>::new());
    let doc = Html::parse_document(&out);
    assert_eq!(texts(&doc, "title"), ["smtptls diff <old> <new>"]);
    assert_eq!(texts(&doc, "span.badge.v-broken"), ["broken"]);
    assert_eq!(attrs(&doc, "#rows th", "aria-sort"), ["ascending", ""]);
    assert_eq!(attrs(&doc, "#f-verdict option", "value"), ["", "down", "*"]);
    assert_eq!(
        texts(&doc, "ul.findings li"),
        ["warn cert.expiry mx1: soon"]
    );
}

/// `good.example` of the hand-built report under another name, with its
/// one address and no findings: the base of the hand-built fleets below.
fn plain_domain(name: &str) -> DomainReport {
    let mut d = fixture::report().domains[0].clone();
    d.domain = name.to_string();
    d.findings.clear();
    for a in d.mx.iter_mut().flat_map(|m| m.addresses.iter_mut()) {
        a.findings.clear();
    }
    d
}

fn fleet_of(domains: Vec<DomainReport>) -> Report {
    let mut report = fixture::report();
    report.summary.domains = domains.len();
    report.domains = domains;
    report
}

#[test]
fn most_common_problems_count_each_severity_apart() {
    // One domain fails delivery.dane, three have it only as a note: the
    // FAIL row counts one domain and its link selects that one; the note
    // has its own row counting three.
    let mut failing = plain_domain("fails.example");
    failing.findings = vec![Finding::fail(
        FindingId::DeliveryDane,
        "a DANE sender defers",
    )];
    let mut domains = vec![failing];
    for name in ["a.example", "b.example", "c.example"] {
        let mut d = plain_domain(name);
        d.findings = vec![Finding::info(
            FindingId::DeliveryDane,
            "no DANE: not applicable",
        )];
        domains.push(d);
    }
    let doc = Html::parse_document(&render(&fleet_of(domains)));
    assert_eq!(
        row_cells(
            &doc,
            "table.problems tbody tr",
            "td:nth-child(1), th, td.num"
        ),
        ["FAIL|delivery.dane|1", "info|delivery.dane|3"]
    );
    assert_eq!(
        attrs(&doc, "table.problems tbody td.num a", "href"),
        ["#q=fail:delivery.dane", "#q=info:delivery.dane"]
    );
    // The example of the FAIL row is the failing domain's finding.
    assert_eq!(
        texts(&doc, "table.problems tbody tr:first-child td.prose")[0],
        "fails.example: a DANE sender defers"
    );
    // What the script matches the link's token against: exactly the
    // failing domain carries fail:delivery.dane.
    let rows: Vec<(String, String)> = doc
        .select(&sel("#rows tbody tr"))
        .map(|r| {
            let name = r
                .select(&sel("td.name a"))
                .map(|a| a.text().collect::<String>())
                .collect();
            (
                name,
                r.value().attr("data-problems").unwrap_or("").to_string(),
            )
        })
        .filter(|(_, tokens)| tokens.split(' ').any(|t| t == "fail:delivery.dane"))
        .collect();
    assert_eq!(
        rows,
        [(
            "fails.example".to_string(),
            "fail:delivery.dane".to_string()
        )]
    );
}

#[test]
fn the_table_and_the_page_say_every_protection_state_in_the_views_word() {
    use crate::report::view::{DaneState, DnssecState, MtaStsState, TlsRptState};
    use crate::report::{Mode, MtaStsReport, RecordState, StsPolicyReport, TlsRptReport};
    // Six domains: domain i has MTA-STS state i and the i-th (mod 4)
    // state of DNSSEC, DANE, TLS-RPT and of what an opportunistic sender
    // gets, so every state of each is on the page once at least.
    let dnssec = [
        Dnssec::Secure,
        Dnssec::Insecure,
        Dnssec::Bogus,
        Dnssec::Indeterminate,
    ];
    let dane = [
        DaneResult::Valid,
        DaneResult::Mismatch,
        DaneResult::Unusable,
        DaneResult::Insecure,
    ];
    let sent = [
        DeliveryResult::Secure,
        DeliveryResult::Cleartext,
        DeliveryResult::Deferred,
        DeliveryResult::NotApplicable,
    ];
    let policy = |mode| StsPolicyReport {
        url: "https://mta-sts.s.example/.well-known/mta-sts.txt".into(),
        mode,
        mx: vec!["mx1.good.example".into()],
        max_age: 86400,
        text_sha256: None,
    };
    let sts = |record, mode: Option<Mode>| {
        Some(MtaStsReport {
            record,
            id: None,
            policy: mode.map(policy),
            fetch_error: None,
        })
    };
    let mta_sts = [
        sts(RecordState::Valid, Some(Mode::Enforce)),
        sts(RecordState::Valid, Some(Mode::Testing)),
        sts(RecordState::Valid, Some(Mode::None)),
        sts(RecordState::Absent, None),
        sts(RecordState::Invalid, None),
        None,
    ];
    let rpt = |record| {
        Some(TlsRptReport {
            record,
            rua: vec![],
        })
    };
    let tls_rpt = [
        rpt(RecordState::Valid),
        rpt(RecordState::Absent),
        rpt(RecordState::Invalid),
        None,
    ];
    let domains: Vec<DomainReport> = mta_sts
        .into_iter()
        .enumerate()
        .map(|(i, sts)| {
            let mut d = plain_domain(&format!("s{i}.example"));
            d.dnssec = dnssec[i % 4];
            d.mx[0].addresses[0].dane = dane[i % 4];
            d.mta_sts = sts;
            d.tls_rpt = tls_rpt[i % 4].clone();
            if let Some(delivery) = d.delivery.as_mut() {
                delivery.opportunistic.result = sent[i % 4];
            }
            d
        })
        .collect();
    let fleet = fleet_of(domains);
    let html = render(&fleet);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    // The table says the same words: each domain's protection line and
    // senders line, at a width where nothing wraps.
    let mut table = Vec::new();
    crate::reporter::Document::table(
        &fleet,
        crate::reporter::TableLayout {
            color: false,
            width: 200,
            verbose: false,
        },
        &mut table,
    )
    .expect("table");
    let table = String::from_utf8(table).expect("UTF-8");
    for i in 0..6 {
        let block = table
            .split("\n\n")
            .find(|b| b.starts_with(&format!("s{i}.example ")))
            .unwrap_or_else(|| panic!("s{i}.example in:\n{table}"));
        for said in [
            format!("DNSSEC {} |", DnssecState::ALL[i % 4].as_str()),
            format!("| DANE {}", DaneState::ALL[i % 4].as_str()),
            format!("| MTA-STS {} |", MtaStsState::ALL[i].as_str()),
            format!("| TLS-RPT {}\n", TlsRptState::ALL[i % 4].as_str()),
            format!(
                "senders: opportunistic {} |",
                view::delivery_word(sent[i % 4])
            ),
        ] {
            assert!(block.contains(&said), "table: no {said:?} in:\n{block}");
        }
    }
    for i in 0..6 {
        let words = [
            DnssecState::ALL[i % 4].as_str(),
            DaneState::ALL[i % 4].as_str(),
            MtaStsState::ALL[i].as_str(),
            TlsRptState::ALL[i % 4].as_str(),
        ];
        // The drill-down's own facts (not its addresses').
        let facts: Vec<String> = ["dnssec", "dane", "mta-sts", "tls-rpt"]
            .iter()
            .flat_map(|of| texts(&doc, &format!("#d-{i} > dl.facts .state[data-of=\"{of}\"]")))
            .collect();
        assert_eq!(facts, words, "s{i}.example");
        // The domain table's DANE, MTA-STS and TLS-RPT columns.
        assert_eq!(
            texts(&doc, &format!("#rows tr[data-details=\"d-{i}\"] td.state")),
            words[1..],
            "s{i}.example"
        );
        // What an opportunistic sender gets.
        assert_eq!(
            texts(
                &doc,
                &format!("#d-{i} table.delivery tbody tr:first-child .sev")
            ),
            [view::delivery_word(sent[i % 4])],
            "s{i}.example"
        );
    }
    // And the adoption table counts each state under the same word.
    let adoption = row_cells(&doc, "table.adoption tbody tr", "td.state, td.num");
    for word in MtaStsState::ALL.iter().map(|s| s.as_str()) {
        assert!(
            adoption.contains(&format!("{word}|1")),
            "{word}: {adoption:?}"
        );
    }
}

/// The drill-down says REQUIRETLS and the staple in the JSON's words, a
/// bad staple marked as an error; no staple is said as `none`.
#[test]
fn the_drill_down_shows_requiretls_and_the_staple() {
    use crate::report::{OcspFreshness, OcspReport, OcspSignature, OcspStatus};
    let fact = |doc: &Html, name: &str| -> Vec<String> {
        let dt = sel("dt");
        doc.select(&dt)
            .filter(|e| e.text().collect::<String>() == name)
            .filter_map(|e| e.next_siblings().find_map(ElementRef::wrap))
            .map(|dd| dd.inner_html())
            .collect()
    };
    let mut report = fixture::report();
    let doc = Html::parse_document(&render(&report));
    assert_eq!(fact(&doc, "REQUIRETLS"), ["not advertised"]);
    assert_eq!(fact(&doc, "OCSP staple"), ["none"]);

    let tls = report.domains[0].mx[0].addresses[0]
        .tls
        .as_mut()
        .expect("the fixture's first address has TLS");
    tls.requiretls = true;
    tls.ocsp = Some(OcspReport {
        status: OcspStatus::Revoked,
        freshness: Some(OcspFreshness::Fresh),
        signature: OcspSignature::Valid,
        this_update: None,
        next_update: Some("2030-01-08T00:00:00Z".into()),
        revoked_at: None,
        problem: None,
    });
    let html = render(&report);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    assert_eq!(fact(&doc, "REQUIRETLS"), ["advertised inside TLS"]);
    assert_eq!(
        fact(&doc, "OCSP staple"),
        [
            "<span class=\"error\">revoked, fresh, signature valid, next update 2030-01-08T00:00:00Z</span>"
        ]
    );
}

/// A dual-certificate address shows its other certificate beside the
/// main one, with its DANE result; a submission row names its service and
/// where its hosts came from, and shows no sender protections.
#[test]
fn the_drill_down_shows_the_other_certificate_and_the_service() {
    use crate::report::{KeyType, MxSource, OtherCertificateReport};
    let dd = |doc: &Html, name: &str| -> Vec<String> {
        doc.select(&sel("dt"))
            .filter(|e| e.text().collect::<String>() == name)
            .filter_map(|e| e.next_siblings().find_map(ElementRef::wrap))
            .map(|dd| dd.text().collect::<String>())
            .collect()
    };
    let mut report = fixture::report();
    let a = &mut report.domains[0].mx[0].addresses[0];
    let cert = a
        .certificate
        .clone()
        .expect("the fixture's first address has a certificate");
    a.other_certificates = vec![OtherCertificateReport {
        key_type: KeyType::Rsa,
        certificate: cert,
        dane: DaneResult::Mismatch,
    }];
    let html = render(&report);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    let other = dd(&doc, "Other certificate (RSA)");
    assert_eq!(other.len(), 1, "{html}");
    assert!(other[0].ends_with("DANE mismatch"), "{}", other[0]);
    assert!(html.contains("DANE <span class=\"error\">mismatch</span>"));
    assert!(dd(&doc, "Service").is_empty());

    let d = &mut report.domains[0];
    d.service = crate::vocabulary::Service::Submission;
    d.mx_source = MxSource::Srv;
    let html = render(&report);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    assert_eq!(dd(&doc, "Service"), ["submission (STARTTLS, port 587)"]);
    assert_eq!(dd(&doc, "Host"), ["SRV records (RFC 6186)"]);
    let first = doc
        .select(&sel("details.domain"))
        .find(|e| e.inner_html().contains("Service"))
        .expect("the submission row");
    let facts: Vec<String> = first
        .select(&sel("dl.facts > dt"))
        .map(|e| e.text().collect())
        .collect();
    assert!(
        !facts
            .iter()
            .any(|f| ["MTA-STS", "DANE", "TLS-RPT", "TLSA"].contains(&f.as_str())),
        "{facts:?}"
    );
    // Its hosts are headed as hosts, not MX.
    assert!(html.contains("<h4>Host 10 "), "{html}");
}
