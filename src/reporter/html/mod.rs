//! `--format html`: one self-contained page for a fleet, written for a
//! mail admin with hundreds of partner domains who wants the worst first.
//!
//! What this file owns is the check page: the summary (counts, run
//! settings), the verdict chart, downgrade-protection adoption, the
//! certificate expiry timeline, the most common problems with their
//! advice, the domain table (worst verdict first) and a collapsed
//! drill-down per domain with every MX host, address and finding. The
//! page shell, the inline style and script and the small pieces (verdict
//! badge, finding list, escaping, bar chart) are [`page`]'s, shared with
//! any other HTML page: [`diff`] is the page of `smtptls diff`.
//!
//! Every fact and word comes from the one view of the run
//! ([`FleetView`], [`DomainView`]): the worst-first order, the counts,
//! the problems per (id, severity), the protection states
//! (`DnssecState`, `DaneState`, `MtaStsState`, `TlsRptState`, each
//! `as_str()`), what each kind of sender gets ([`view::delivery_word`])
//! and how a problem's subjects are named ([`view::Problem::about`]), so
//! the page says what the table, JUnit and the rest say.
//!
//! Everything from the network goes through [`page::esc`]
//! (`text::html`): banners, EHLO keywords, certificate fields, policy
//! text, TXT records, error messages, MX names and finding messages.
//! Words the tool itself chose (verdicts, ids, enum names) are static.
//! Element ids are built from the domain's position, never from its name.
//!
//! The format keeps every row until the end (like `json` and `table`):
//! the page is written by [`Reporter::finish`], in chunks, so the page
//! itself is never held whole in memory.

pub(crate) mod diff;
pub(crate) mod page;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{self, Write};

use super::{Reporter, wire_name};
use crate::report::view::{
    self, DaneState, DnssecState, DomainView, FleetView, MtaStsState, Naming, Protection,
    TlsRptState,
};
use crate::report::{
    AddressReport, CertificateReport, ChainError, DaneResult, DeliveryResult, Dnssec, DomainReport,
    MxReport, NcscLevel, Report, TlsaStatus,
};
use crate::vocabulary::{Failure, Finding, FindingId, Severity, Verdict};
use page::{Bar, esc};

/// Domains named per certificate in the expiry table before `+ N more`.
const NAMED_DOMAINS: usize = 8;
/// Certificates expiring within this many days are on the timeline.
const HORIZON_DAYS: i64 = 90;

pub struct HtmlReporter;

impl Reporter for HtmlReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        write_page(report, out)
    }
}

/// The whole page ([`page::write_page`]), rendered from the one view of
/// the run ([`FleetView`]): the same words, counts and order as every
/// other output.
pub fn write_page(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let fleet = FleetView::new(report);
    let order = fleet.worst_first();
    page::write_page(
        out,
        |buf| {
            top(buf, &fleet)?;
            domain_table(buf, &fleet, &order)
        },
        "Worst first. Each domain opens to its delivery per kind of sender, its protection \
         records, every MX host and address and every finding with its fix.",
        order.iter().copied(),
        |buf, i| drill_down(buf, &fleet.domains[i], i, report.settings.port),
        &report.tool,
        &report.generated_at,
    )
}

/// A verdict's position worst first (`Verdict::rank`, `no-mail` last):
/// the domain table's sort key, the order [`FleetView::worst_first`]
/// uses.
fn verdict_order(v: Verdict) -> u8 {
    v.rank().unwrap_or(u8::MAX)
}

fn addresses(d: &DomainReport) -> impl Iterator<Item = (&MxReport, &AddressReport)> {
    d.mx.iter()
        .flat_map(|m| m.addresses.iter().map(move |a| (m, a)))
}

/// The header, the table of contents and the fleet sections above the
/// domain table.
fn top(out: &mut String, fleet: &FleetView<'_>) -> fmt::Result {
    let report = fleet.report;
    let s = &report.summary;
    let title = format!(
        "smtptls check: {} domain{}",
        s.domains,
        if s.domains == 1 { "" } else { "s" }
    );
    let subtitle = format!(
        "Generated at {} by {} {}",
        report.generated_at, report.tool.name, report.tool.version
    );
    page::open(
        out,
        &page::Header {
            title: &title,
            subtitle: &subtitle,
        },
    )?;
    out.push_str(
        "<nav aria-label=\"Sections\"><p>\
         <a href=\"#summary\">Summary</a> · <a href=\"#verdicts\">Verdicts</a> · \
         <a href=\"#protection\">Downgrade protection</a> · \
         <a href=\"#expiry\">Certificate expiry</a> · \
         <a href=\"#problems\">Most common problems</a> · \
         <a href=\"#domains\">Domains</a> · <a href=\"#details\">Per domain</a></p></nav>\n",
    );
    summary(out, report)?;
    verdicts(out, fleet)?;
    protection(out, fleet)?;
    expiry(out, report)?;
    problems(out, fleet)
}

fn summary(out: &mut String, report: &Report) -> fmt::Result {
    let s = &report.summary;
    let set = &report.settings;
    out.push_str(
        "<section id=\"summary\" aria-labelledby=\"summary-h\">\n\
         <h2 id=\"summary-h\">Summary</h2>\n<div class=\"cards\">",
    );
    let card = |out: &mut String, n: &str, label: &str| {
        write!(
            out,
            "<p class=\"card\"><span class=\"n\">{}</span>{}</p>",
            esc(n),
            esc(label)
        )
    };
    card(out, &s.domains.to_string(), "domains")?;
    card(
        out,
        &s.below_threshold.to_string(),
        &format!("below the threshold ({})", set.fail_below),
    )?;
    if let Some(level) = set.fail_level {
        card(
            out,
            &s.below_level.to_string(),
            &format!("at or below the level ({level})"),
        )?;
    }
    card(out, &s.probes.to_string(), "SMTP connections")?;
    card(
        out,
        &s.mx_reused.to_string(),
        "shared MX observations reused",
    )?;
    out.push_str("</div>\n");
    if let Some(stopped) = s.stopped {
        writeln!(
            out,
            "<p class=\"error\"><strong>The run stopped early ({}):</strong> unfinished \
             domains are listed with verdict error.</p>",
            wire_name(&stopped)
        )?;
    }
    let fail_level = set.fail_level.map(|l| l.as_str()).unwrap_or("not set");
    let resolvers = set.resolvers.join(", ");
    let facts: [(&str, String); 11] = [
        ("Generated at", report.generated_at.clone()),
        (
            "Tool",
            format!("{} {}", report.tool.name, report.tool.version),
        ),
        ("SMTP port", set.port.to_string()),
        ("--fail-below", set.fail_below.to_string()),
        ("--fail-level", fail_level.to_string()),
        (
            "Certificate expiry warning",
            format!("{} days", set.expiry_warn_days),
        ),
        ("Resolvers", resolvers),
        ("DNSSEC", wire_name(&set.dnssec)),
        ("Protocol scan", set.scan.as_str().to_string()),
        (
            "Caps",
            format!(
                "{} MX hosts per domain, {} addresses per host, {} s per address",
                set.max_mx_hosts, set.max_addresses_per_host, set.address_budget_secs
            ),
        ),
        (
            "Local addresses",
            if set.allow_local_addresses {
                "probed (--allow-local-addresses)".to_string()
            } else {
                "not probed".to_string()
            },
        ),
    ];
    out.push_str("<h3>Run settings</h3>\n<dl class=\"facts\">");
    for (k, v) in facts {
        write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v))?;
    }
    // A page of `smtptls report`: the shards it was made from, and what
    // they disagree on.
    if !set.merged_from.is_empty() {
        write!(
            out,
            "<dt>Merged from</dt><dd>{} file{}: {}</dd>",
            set.merged_from.len(),
            if set.merged_from.len() == 1 { "" } else { "s" },
            esc(&set.merged_from.join(", "))
        )?;
    }
    for difference in &set.input_differences {
        write!(out, "<dt>Inputs differ</dt><dd>{}</dd>", esc(difference))?;
    }
    if set.extra_trust_anchors > 0 {
        write!(
            out,
            "<dt>Extra trust anchors</dt><dd>{}</dd>",
            set.extra_trust_anchors
        )?;
    }
    out.push_str("</dl>\n</section>\n");
    Ok(())
}

/// The verdict chart: every verdict, best first, as the rubric orders
/// them, with its count and share.
fn verdicts(out: &mut String, fleet: &FleetView<'_>) -> fmt::Result {
    out.push_str(
        "<section id=\"verdicts\" aria-labelledby=\"verdicts-h\">\n\
         <h2 id=\"verdicts-h\">Verdicts</h2>\n",
    );
    let counts = fleet.verdicts();
    let bars: Vec<Bar<'_>> = Verdict::ALL
        .iter()
        .map(|&v| Bar {
            label: v.as_str(),
            class: page::verdict_class(v),
            count: counts.get(&v).copied().unwrap_or(0),
        })
        .collect();
    page::bar_chart(
        out,
        "verdict-chart",
        &format!("Verdicts of {} domains", fleet.domains.len()),
        &bars,
    )?;
    out.push_str(
        "<p class=\"muted\">protected: secure and downgrade-protected (DANE or MTA-STS \
         enforce) · secure: STARTTLS with valid, matching certificates · encrypted: \
         STARTTLS, some certificate not authenticated · partial: some MX addresses without \
         STARTTLS · plaintext: none has STARTTLS · broken: a published policy makes \
         enforcing senders defer · error: DNS failed or no MX address answered · \
         no-mail: null MX.</p>\n</section>\n",
    );
    Ok(())
}

/// How many of the domains with a mail host have each state of DNSSEC,
/// DANE, MTA-STS and TLS-RPT: every state of each, in the view's words
/// and order ([`Protection`]), so a reader sees the same word here as in
/// the domain table, the drill-downs and the terminal's table.
fn protection(out: &mut String, fleet: &FleetView<'_>) -> fmt::Result {
    let with_mail: Vec<&Protection> = fleet
        .domains
        .iter()
        .filter(|v| v.report.delivery.is_some())
        .map(|v| &v.protection)
        .collect();
    let n = with_mail.len();
    write!(
        out,
        "<section id=\"protection\" aria-labelledby=\"protection-h\">\n\
         <h2 id=\"protection-h\">Downgrade protection</h2>\n\
         <p>Of the {n} domain{} with a mail host to deliver to. DNSSEC: the MX records' \
         signature (bogus: validating senders defer); DANE: TLSA records a DANE sender \
         checks (mismatch: it defers); MTA-STS: the policy's mode (enforce protects, \
         testing only reports); TLS-RPT: where senders report failures; \
         <code>-</code>: not looked up.</p>\n\
         <table class=\"adoption\"><thead><tr><th scope=\"col\">Mechanism</th>\
         <th scope=\"col\">State</th><th scope=\"col\" class=\"num\">Domains</th>\
         <th scope=\"col\">Share</th></tr></thead><tbody>\n",
        if n == 1 { "" } else { "s" }
    )?;
    adoption(
        out,
        "DNSSEC",
        DnssecState::ALL,
        DnssecState::as_str,
        &with_mail,
        |p| p.dnssec,
    )?;
    adoption(
        out,
        "DANE",
        DaneState::ALL,
        DaneState::as_str,
        &with_mail,
        |p| p.dane,
    )?;
    adoption(
        out,
        "MTA-STS",
        MtaStsState::ALL,
        MtaStsState::as_str,
        &with_mail,
        |p| p.mta_sts,
    )?;
    adoption(
        out,
        "TLS-RPT",
        TlsRptState::ALL,
        TlsRptState::as_str,
        &with_mail,
        |p| p.tls_rpt,
    )?;
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// The rows of one mechanism in the adoption table: every state in
/// `all`, its count among `with_mail` and its share.
fn adoption<S: Copy + PartialEq>(
    out: &mut String,
    name: &str,
    all: &[S],
    word: fn(S) -> &'static str,
    with_mail: &[&Protection],
    state: fn(&Protection) -> S,
) -> fmt::Result {
    let n = with_mail.len();
    for (row, &st) in all.iter().enumerate() {
        let count = with_mail.iter().filter(|p| state(p) == st).count();
        let share = if n == 0 {
            0.0
        } else {
            count as f64 * 100.0 / n as f64
        };
        // The mechanism heads all of its rows.
        let head = if row == 0 {
            format!(
                "<th scope=\"rowgroup\" rowspan=\"{}\">{name}</th>",
                all.len()
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "<tr>{head}<td class=\"state\">{}</td><td class=\"num\">{count}</td>\
             <td class=\"share\"><span class=\"share\" style=\"width:{w:.2}rem\"></span>\
             {share:.0}%</td></tr>",
            word(st),
            // At most 6rem, whatever the cell's width, so the figure
            // beside it always fits on the same line.
            w = share * 0.06,
        )?;
    }
    Ok(())
}

/// One certificate on the timeline: an MX address's leaf, with every
/// domain of the run that uses it.
struct Expiring<'a> {
    host: &'a str,
    address: String,
    cert: &'a CertificateReport,
    domains: Vec<&'a str>,
}

/// The bucket of a certificate's days left.
fn bucket(days_left: i64) -> (&'static str, &'static str) {
    match days_left {
        d if d < 0 => ("expired", "v-broken"),
        0..=7 => ("within 7 days", "v-plaintext"),
        8..=30 => ("within 30 days", "v-partial"),
        _ => ("within 90 days", "v-encrypted"),
    }
}

/// The MX certificates expired or expiring within [`HORIZON_DAYS`],
/// soonest first: a chart of the four buckets and a table. A host shared
/// by many domains is one row naming them.
fn expiry(out: &mut String, report: &Report) -> fmt::Result {
    let mut found: Vec<Expiring<'_>> = Vec::new();
    let mut at: BTreeMap<(&str, String, &str), usize> = BTreeMap::new();
    for d in &report.domains {
        for (mx, a) in addresses(d) {
            let Some(c) = &a.certificate else { continue };
            if c.days_left > HORIZON_DAYS {
                continue;
            }
            let address = view::address(a, report.settings.port);
            let key = (mx.host.as_str(), address.clone(), c.sha256.as_str());
            match at.get(&key) {
                Some(&i) => {
                    if found[i].domains.last() != Some(&d.domain.as_str()) {
                        found[i].domains.push(&d.domain);
                    }
                }
                None => {
                    at.insert(key, found.len());
                    found.push(Expiring {
                        host: &mx.host,
                        address,
                        cert: c,
                        domains: vec![&d.domain],
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| {
        a.cert
            .days_left
            .cmp(&b.cert.days_left)
            .then(a.host.cmp(b.host))
            .then(a.address.cmp(&b.address))
    });
    out.push_str(
        "<section id=\"expiry\" aria-labelledby=\"expiry-h\">\n\
         <h2 id=\"expiry-h\">Certificate expiry</h2>\n",
    );
    let buckets = [
        "expired",
        "within 7 days",
        "within 30 days",
        "within 90 days",
    ];
    let count = |name: &str| {
        found
            .iter()
            .filter(|e| bucket(e.cert.days_left).0 == name)
            .count()
    };
    let bars: Vec<Bar<'_>> = buckets
        .iter()
        .map(|&name| Bar {
            label: name,
            class: match name {
                "expired" => "v-broken",
                "within 7 days" => "v-plaintext",
                "within 30 days" => "v-partial",
                _ => "v-encrypted",
            },
            count: count(name),
        })
        .collect();
    page::bar_chart(
        out,
        "expiry-chart",
        "MX certificates expired or expiring within 90 days",
        &bars,
    )?;
    if found.is_empty() {
        out.push_str(
            "<p>No MX certificate is expired or expires within 90 days.</p>\n</section>\n",
        );
        return Ok(());
    }
    out.push_str(
        "<table class=\"expiry\"><caption>Soonest first; each MX address once, with the \
         domains that use it.</caption><thead><tr><th scope=\"col\">When</th>\
         <th scope=\"col\" class=\"num\">Days left</th><th scope=\"col\">Not after</th>\
         <th scope=\"col\">MX host</th><th scope=\"col\">Address</th>\
         <th scope=\"col\">Domains</th></tr></thead><tbody>\n",
    );
    for e in &found {
        let (when, class) = bucket(e.cert.days_left);
        write!(
            out,
            "<tr><td><span class=\"badge {class}\">{when}</span></td><td class=\"num\">{}</td>\
             <td>{}</td><td class=\"hosts\">{}</td><td class=\"addr\">{}</td>\
             <td class=\"prose\">",
            e.cert.days_left,
            esc(&e.cert.not_after),
            esc(e.host),
            esc(&e.address)
        )?;
        let named: Vec<String> = e
            .domains
            .iter()
            .take(NAMED_DOMAINS)
            .map(|d| esc(d).into_owned())
            .collect();
        out.push_str(&named.join(", "));
        if e.domains.len() > NAMED_DOMAINS {
            write!(out, " and {} more", e.domains.len() - NAMED_DOMAINS)?;
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// The fragment that filters the domain table to the domains with `id`
/// at `severity` (`#q=fail:delivery.dane`): the script matches such a
/// token exactly against each row's `data-problems`, so a FAIL row's link
/// lists only the domains that fail it, as its count says.
fn problem_token(severity: Severity, id: FindingId) -> String {
    format!("{severity}:{}", id.as_str())
}

/// The fleet's problems, one row per (id, severity) of
/// [`FleetView::shared`]: failures first, then warnings, then notes; the
/// most domains first. A FAIL row counts only the domains that fail it.
fn problems(out: &mut String, fleet: &FleetView<'_>) -> fmt::Result {
    out.push_str(
        "<section id=\"problems\" aria-labelledby=\"problems-h\">\n\
         <h2 id=\"problems-h\">Most common problems</h2>\n",
    );
    if fleet.shared.is_empty() {
        out.push_str("<p>No finding above ok.</p>\n</section>\n");
        return Ok(());
    }
    out.push_str(
        "<table class=\"problems\"><caption>Each finding id once per severity: failures, \
         then warnings, then notes; the most domains first. Select a count to list those \
         domains.</caption><thead><tr><th scope=\"col\">Severity</th>\
         <th scope=\"col\">Finding</th><th scope=\"col\" class=\"num\">Domains</th>\
         <th scope=\"col\">Example</th><th scope=\"col\">Usual fix</th></tr></thead>\
         <tbody>\n",
    );
    let port = fleet.report.settings.port;
    for p in &fleet.shared {
        out.push_str("<tr><td>");
        page::severity_badge(out, p.severity)?;
        let (domain, problem) = &p.example;
        let about = match problem.about(domain, port, Naming::Addresses) {
            Some(s) => format!(", {}", esc(&s)),
            None => String::new(),
        };
        write!(
            out,
            "</td><th scope=\"row\"><code class=\"id\">{id}</code></th><td class=\"num\">\
             <a href=\"#q={token}\" title=\"show the domains with {word} {id}\">{n}</a></td>\
             <td class=\"prose\"><span class=\"about\">{}{about}:</span> {}</td>\
             <td class=\"prose\">",
            esc(&domain.domain),
            esc(&problem.finding.message),
            id = p.id.as_str(),
            token = problem_token(p.severity, p.id),
            word = page::severity_word(p.severity),
            n = p.domains,
        )?;
        match p.fix {
            Some(x) => page::fix(out, x)?,
            None => out.push_str("<span class=\"muted\">-</span>"),
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// A configuration level's position, worst first, for sorting.
fn level_order(l: NcscLevel) -> u8 {
    match l {
        NcscLevel::Insufficient => 0,
        NcscLevel::PhaseOut => 1,
        NcscLevel::Sufficient => 2,
        NcscLevel::Good => 3,
    }
}

/// The sortable, filterable table of every domain, worst first; the
/// controls are hidden until the script shows them.
fn domain_table(out: &mut String, fleet: &FleetView<'_>, order: &[usize]) -> fmt::Result {
    let counts = fleet.verdicts();
    out.push_str(
        "<section id=\"domains\" aria-labelledby=\"domains-h\">\n\
         <h2 id=\"domains-h\">Domains</h2>\n",
    );
    let choices: Vec<(&str, String)> = Verdict::ALL
        .iter()
        .filter_map(|&v| {
            let n = counts.get(&v).copied().unwrap_or(0);
            (n > 0).then(|| (v.as_str(), format!("{v} ({n})")))
        })
        .collect();
    page::filter_controls(
        out,
        "Verdict",
        &choices,
        fleet.domains.len(),
        "domain, MX, finding id…",
    )?;
    let column = |label, sort, numeric| page::Column {
        label,
        sort,
        numeric,
    };
    use page::Sort::{No, Number, Text};
    page::rows_table_open(
        out,
        "Worst verdict first. Select a domain for its details.",
        &[
            column("Domain", Text, false),
            column("Verdict", Number, false),
            column("Why", No, false),
            column("MX hosts", Text, false),
            column("Config", Number, false),
            column("DANE", Text, false),
            column("MTA-STS", Text, false),
            column("TLS-RPT", Text, false),
            column("Cert days", Number, true),
            column("Problems", Number, true),
        ],
        Some(1),
    )?;
    for (position, &i) in order.iter().enumerate() {
        let v = &fleet.domains[i];
        let d = v.report;
        // Free-text search finds a domain by any id it has; the problem
        // table's links select one id at one severity, exactly.
        let mut ids: Vec<&str> = v.problems.iter().map(|p| p.finding.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut tokens: Vec<String> = v
            .problems
            .iter()
            .map(|p| problem_token(p.finding.severity, p.finding.id))
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        write!(
            out,
            "<tr data-verdict=\"{verdict}\" data-details=\"d-{i}\" data-search=\"{ids}\" \
             data-problems=\"{tokens}\">\
             <td class=\"name\"><a href=\"#d-{i}\">{name}</a></td>\
             <td data-sort=\"{vs}\">",
            verdict = d.verdict,
            ids = ids.join(" "),
            tokens = tokens.join(" "),
            name = esc(&d.domain),
            // The server-side order is the default sort: its position
            // keeps ties (same verdict) in the worst-first order.
            vs = usize::from(verdict_order(d.verdict)) * 1_000_000 + position,
        )?;
        page::verdict_badge(out, d.verdict)?;
        let hosts: Vec<String> = d.mx.iter().map(|m| esc(&m.host).into_owned()).collect();
        write!(
            out,
            "</td><td class=\"reason\">{}</td><td class=\"hosts\">{}</td>",
            esc(&d.verdict_reason),
            hosts.join(", ")
        )?;
        match &d.configuration {
            Some(c) => write!(
                out,
                "<td data-sort=\"{}\">{}{}</td>",
                level_order(c.level),
                c.level.as_str(),
                if c.lower_bound { "?" } else { "" }
            )?,
            None => out.push_str("<td data-sort=\"\">-</td>"),
        }
        let min_days = addresses(d)
            .filter_map(|(_, a)| a.certificate.as_ref().map(|c| c.days_left))
            .min();
        write!(
            out,
            "<td class=\"state\">{}</td><td class=\"state\">{}</td><td class=\"state\">{}</td>",
            v.protection.dane.as_str(),
            v.protection.mta_sts.as_str(),
            v.protection.tls_rpt.as_str()
        )?;
        match min_days {
            Some(n) => write!(out, "<td class=\"num\" data-sort=\"{n}\">{n}</td>")?,
            None => out.push_str("<td class=\"num\" data-sort=\"\">-</td>"),
        }
        let (fails, warns) = (v.counts.fail, v.counts.warn);
        let problems = match (fails, warns) {
            (0, 0) => "-".to_string(),
            (f, 0) => format!("{f} FAIL"),
            (0, w) => format!("{w} warn"),
            (f, w) => format!("{f} FAIL, {w} warn"),
        };
        writeln!(
            out,
            "<td class=\"num\" data-sort=\"{}\">{problems}</td></tr>",
            fails * 10_000 + warns
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// The stapled OCSP response in words: status, freshness, signature,
/// nextUpdate; the words are the JSON's, escaped.
fn ocsp_fact(o: Option<&crate::report::OcspReport>) -> String {
    use crate::report::{OcspFreshness, OcspSignature, OcspStatus};
    let Some(o) = o else {
        return "none".into();
    };
    let bad = o.status != OcspStatus::Good
        || o.freshness != Some(OcspFreshness::Fresh)
        || o.signature == OcspSignature::Invalid;
    let mut words = vec![wire_name(&o.status)];
    words.extend(o.freshness.map(|f| wire_name(&f)));
    words.push(format!("signature {}", wire_name(&o.signature)));
    if let Some(next) = &o.next_update {
        words.push(format!("next update {next}"));
    }
    let text = esc(&words.join(", ")).into_owned();
    if bad {
        format!("<span class=\"error\">{text}</span>")
    } else {
        text
    }
}

/// A `<dt>`/`<dd>` pair whose value is already HTML.
fn fact(out: &mut String, name: &str, html: &str) -> fmt::Result {
    write!(out, "<dt>{name}</dt><dd>{html}</dd>")
}

/// Peer text as code, or `-` when there is none.
fn code(text: &str) -> String {
    format!("<code>{}</code>", esc(text))
}

/// Several peer strings as code, comma-separated.
fn codes(items: &[String]) -> String {
    if items.is_empty() {
        return "-".to_string();
    }
    items.iter().map(|s| code(s)).collect::<Vec<_>>().join(", ")
}

fn failure(f: &Failure) -> String {
    format!(
        "<span class=\"error\">{} / {}:</span> {}",
        wire_name(&f.phase),
        f.kind.as_str(),
        esc(&f.message)
    )
}

/// A DNSSEC status in the view's word, `bogus` marked as the error it is
/// (validating senders defer).
fn dnssec_html(d: Dnssec) -> String {
    state_html("dnssec", DnssecState::of(d).as_str(), d == Dnssec::Bogus)
}

/// A protection state's word as the page shows it: `of` names the
/// mechanism (for the reader's stylesheet and the tests), `bad` marks a
/// state that makes enforcing senders defer.
fn state_html(of: &str, word: &str, bad: bool) -> String {
    format!(
        "<strong class=\"state{}\" data-of=\"{of}\">{word}</strong>",
        if bad { " error" } else { "" }
    )
}

/// The colour class of what a kind of sender gets; the word is
/// [`view::delivery_word`]'s.
fn delivery_class(r: DeliveryResult) -> &'static str {
    match r {
        DeliveryResult::Secure => "s-ok",
        DeliveryResult::Cleartext => "s-warn",
        DeliveryResult::Deferred => "s-fail",
        DeliveryResult::NotApplicable => "s-info",
    }
}

fn chain_word(e: ChainError) -> &'static str {
    super::table::chain_word(e)
}

/// Findings worst first, in the order the checks ran within a severity.
fn sorted(findings: &[Finding]) -> Vec<&Finding> {
    let mut list: Vec<&Finding> = findings.iter().collect();
    list.sort_by_key(|f| std::cmp::Reverse(f.severity));
    list
}

/// One domain's `<details>`: collapsed, so a page of thousands of
/// domains opens quickly and reads as a list.
fn drill_down(out: &mut String, v: &DomainView<'_>, i: usize, port: u16) -> fmt::Result {
    let d = v.report;
    let p = &v.protection;
    write!(
        out,
        "<details class=\"domain\" id=\"d-{i}\" data-verdict=\"{}\"><summary>",
        d.verdict
    )?;
    page::verdict_badge(out, d.verdict)?;
    write!(
        out,
        "<h3>{}</h3> <span class=\"reason\">{}</span></summary>\n<dl class=\"facts\">",
        esc(&d.domain),
        esc(&d.verdict_reason)
    )?;
    if let Some(service) = crate::report::view::service_words(d.service) {
        fact(out, "Service", service)?;
    }
    fact(
        out,
        crate::report::view::hosts_word(d.service),
        crate::report::view::mx_source_words(d.mx_source),
    )?;
    fact(out, "DNSSEC", &dnssec_html(d.dnssec))?;
    let dane = if p.addresses == 0 {
        String::new()
    } else {
        format!(
            " ({} of {} address{} DANE-valid)",
            p.dane_valid,
            p.addresses,
            if p.addresses == 1 { "" } else { "es" }
        )
    };
    // A mail client uses none of the downgrade protections of MX hosts.
    let senders = !d.service.is_submission();
    if senders {
        fact(
            out,
            "DANE",
            &format!(
                "{}{dane}",
                state_html("dane", p.dane.as_str(), p.dane == DaneState::Mismatch)
            ),
        )?;
    }
    if let Some(c) = &d.configuration {
        let mut html = format!(
            "{}{}",
            c.level.as_str(),
            if c.lower_bound {
                " (lower bound: not everything was tried, it may be worse)"
            } else {
                ""
            }
        );
        for item in &c.items {
            write!(html, "<br>{}", esc(item))?;
        }
        fact(out, "Configuration", &html)?;
    }
    if senders {
        let mut html = state_html("mta-sts", p.mta_sts.as_str(), false);
        if let Some(s) = &d.mta_sts {
            write!(html, ": record {}", s.record.as_str())?;
            if let Some(id) = &s.id {
                write!(html, ", id {}", code(id))?;
            }
            if let Some(p) = &s.policy {
                write!(
                    html,
                    "; policy max_age {}, mx {} ({})",
                    p.max_age,
                    codes(&p.mx),
                    esc(&p.url)
                )?;
            }
            if let Some(e) = &s.fetch_error {
                write!(html, "; <span class=\"error\">fetch:</span> {}", esc(e))?;
            }
        }
        fact(out, "MTA-STS", &html)?;
        let mut html = state_html("tls-rpt", p.tls_rpt.as_str(), false);
        if let Some(r) = &d.tls_rpt {
            write!(html, ": record {}", r.record.as_str())?;
            if !r.rua.is_empty() {
                write!(html, ", rua {}", codes(&r.rua))?;
            }
        }
        fact(out, "TLS-RPT", &html)?;
    }
    if !d.mx_left_out.is_empty() {
        let left: Vec<String> = d
            .mx_left_out
            .iter()
            .map(|m| format!("{} {}", m.preference, esc(&m.host)))
            .collect();
        fact(out, "Not probed (--max-mx-hosts)", &left.join(", "))?;
    }
    if let Some(e) = &d.error {
        fact(out, "Error", &failure(e))?;
    }
    out.push_str("</dl>\n");
    if let Some(delivery) = &d.delivery {
        out.push_str(
            "<table class=\"delivery\"><caption>What each kind of sender does</caption>\
             <thead><tr><th scope=\"col\">Sender</th><th scope=\"col\">Result</th>\
             <th scope=\"col\">Why</th></tr></thead><tbody>",
        );
        let outcomes = [&delivery.opportunistic, &delivery.mta_sts, &delivery.dane];
        for (who, o) in view::SENDERS.iter().zip(outcomes) {
            write!(
                out,
                "<tr><th scope=\"row\">{who}</th><td><span class=\"sev {}\">{}</span>\
                 </td><td class=\"prose\">{}</td></tr>",
                delivery_class(o.result),
                view::delivery_word(o.result),
                esc(&o.reason)
            )?;
        }
        out.push_str("</tbody></table>\n");
    }
    if !d.findings.is_empty() {
        out.push_str("<h4>Domain findings</h4>\n");
        page::findings_folded(out, sorted(&d.findings).into_iter().map(|f| (None, f)))?;
    }
    for mx in &d.mx {
        mx_section(out, mx, port, d.service)?;
    }
    out.push_str("</details>\n");
    Ok(())
}

/// A host's section; a submission host (`service`) shows nothing of the
/// sender protections (TLSA, MTA-STS, DANE), which mail clients do not use.
fn mx_section(
    out: &mut String,
    mx: &MxReport,
    port: u16,
    service: crate::vocabulary::Service,
) -> fmt::Result {
    let senders = !service.is_submission();
    write!(
        out,
        "<section class=\"mx\"><h4>{} {} {}</h4><dl class=\"facts\">",
        crate::report::view::hosts_word(service),
        mx.preference,
        esc(&mx.host)
    )?;
    if let Some(c) = &mx.cname {
        fact(out, "CNAME", &esc(c))?;
    }
    fact(out, "DNSSEC", &dnssec_html(mx.dnssec))?;
    if let Some(m) = mx.mta_sts_match {
        fact(
            out,
            "MTA-STS mx",
            if m {
                "matches the policy"
            } else {
                "<span class=\"error\">not in the policy</span>"
            },
        )?;
    }
    match &mx.tlsa {
        _ if !senders => {}
        Some(t) => {
            let status = match t.status {
                TlsaStatus::Found => "found",
                TlsaStatus::None => "none (securely denied)",
                TlsaStatus::Insecure => "insecure (not signed: ignored)",
                TlsaStatus::LookupFailed => "lookup failed (a DANE sender defers)",
            };
            let mut html = status.to_string();
            for r in &t.records {
                write!(html, "<br>{}", code(r))?;
            }
            fact(out, "TLSA", &html)?;
        }
        None => fact(out, "TLSA", "not looked up (addresses not DNSSEC-signed)")?,
    }
    if !mx.addresses_left_out.is_empty() {
        let left: Vec<String> = mx
            .addresses_left_out
            .iter()
            .map(|a| a.to_string())
            .collect();
        fact(
            out,
            "Not probed (--max-addresses-per-host)",
            &left.join(", "),
        )?;
    }
    if let Some(e) = &mx.error {
        fact(out, "Error", &failure(e))?;
    }
    out.push_str("</dl>\n");
    page::findings_folded(out, sorted(&mx.findings).into_iter().map(|f| (None, f)))?;
    if mx.addresses.is_empty() && mx.error.is_none() {
        out.push_str("<p class=\"muted\">No address.</p>\n");
    }
    for a in &mx.addresses {
        address_section(out, a, port, senders)?;
    }
    out.push_str("</section>\n");
    Ok(())
}

fn address_section(out: &mut String, a: &AddressReport, port: u16, senders: bool) -> fmt::Result {
    write!(
        out,
        "<section class=\"address\"><h5>{}</h5><dl class=\"facts\">",
        esc(&view::address(a, port))
    )?;
    if let Some(b) = &a.banner {
        fact(out, "Banner", &code(b))?;
    }
    if !a.extensions.is_empty() {
        fact(out, "EHLO", &codes(&a.extensions))?;
    }
    fact(
        out,
        "STARTTLS",
        if a.starttls {
            "offered"
        } else {
            "<span class=\"error\">not offered</span>"
        },
    )?;
    if let Some(t) = &a.tls {
        let mut html = format!("{} {}", esc(t.version.as_str()), code(&t.cipher));
        if let Some(g) = &t.key_exchange_group {
            write!(html, ", group {}", esc(g))?;
        }
        if a.post_quantum == Some(true) {
            html.push_str(", post-quantum");
        }
        if t.ocsp_stapled {
            html.push_str(", OCSP stapled");
        }
        if !t.signature_verified {
            html.push_str(", <span class=\"error\">handshake signature not verified</span>");
        }
        fact(out, "TLS", &html)?;
        fact(
            out,
            "REQUIRETLS",
            if t.requiretls {
                "advertised inside TLS"
            } else {
                "not advertised"
            },
        )?;
        fact(out, "OCSP staple", &ocsp_fact(t.ocsp.as_ref()))?;
    }
    if let Some(l) = &a.legacy_session {
        fact(
            out,
            "Legacy session",
            &format!(
                "{} {} ({}); only senders on older TLS libraries encrypt",
                l.version.as_str(),
                code(&l.cipher),
                l.level.as_str()
            ),
        )?;
    }
    if let Some(c) = &a.certificate {
        fact(out, "Certificate", &certificate(c)?)?;
    }
    // A dual-certificate server's other chain, graded like the main one;
    // DANE against the same records.
    for other in &a.other_certificates {
        let mut html = certificate(&other.certificate)?;
        let dane = wire_name(&other.dane);
        if other.dane == DaneResult::Mismatch {
            write!(html, "<br>DANE <span class=\"error\">{dane}</span>")?;
        } else {
            write!(html, "<br>DANE {dane}")?;
        }
        fact(
            out,
            &format!("Other certificate ({})", other.key_type.as_str()),
            &html,
        )?;
    }
    // The address's result in the domain's word (a failed lookup makes a
    // DANE sender defer, as a mismatch does), with what it was.
    let state = DaneState::of(&[a.dane]);
    let why = match a.dane {
        DaneResult::Valid | DaneResult::Mismatch => "",
        DaneResult::Unusable => " (only unusable records)",
        DaneResult::Insecure => " (not DNSSEC-signed: does not apply)",
        DaneResult::None => " (no TLSA records)",
        DaneResult::LookupFailed => " (TLSA lookup failed)",
    };
    if senders {
        fact(
            out,
            "DANE",
            &format!(
                "{}{why}",
                state_html("dane", state.as_str(), state == DaneState::Mismatch)
            ),
        )?;
    }
    if let Some(c) = &a.configuration {
        fact(
            out,
            "Configuration",
            &format!(
                "{}{}",
                c.level.as_str(),
                if c.lower_bound { " (lower bound)" } else { "" }
            ),
        )?;
    }
    if let Some(scan) = &a.scan {
        let versions: Vec<&str> = scan.accepted_versions.iter().map(|v| v.as_str()).collect();
        fact(
            out,
            "Accepts",
            &format!(
                "{} ({} scan{})",
                if versions.is_empty() {
                    "-".to_string()
                } else {
                    versions.join(", ")
                },
                scan.mode.as_str(),
                if scan.complete { "" } else { ", cut short" }
            ),
        )?;
    }
    if let Some(inj) = &a.starttls_injection {
        let mut html = wire_name(&inj.result);
        if let Some(r) = &inj.reply {
            write!(html, ": {}", code(r))?;
        }
        if let Some(e) = &inj.error {
            write!(html, ": {}", esc(e))?;
        }
        fact(out, "STARTTLS injection", &html)?;
    }
    if let Some(e) = &a.error {
        fact(out, "Error", &failure(e))?;
    }
    out.push_str("</dl>\n");
    page::findings_folded(out, sorted(&a.findings).into_iter().map(|f| (None, f)))?;
    out.push_str("</section>\n");
    Ok(())
}

/// A certificate's facts, as the drill-down shows them.
fn certificate(c: &CertificateReport) -> Result<String, fmt::Error> {
    let chain = match c.chain_error {
        None => "valid".to_string(),
        Some(e) => format!("<span class=\"error\">{}</span>", chain_word(e)),
    };
    let name = if c.hostname_match {
        "matches the host name"
    } else {
        "<span class=\"error\">does not match the host name</span>"
    };
    let days = if c.days_left < 0 {
        format!(
            "<span class=\"error\">expired {} days ago</span>",
            -c.days_left
        )
    } else {
        format!("{} days left", c.days_left)
    };
    let mut html = format!(
        "subject {}<br>issuer {}<br>names {}<br>not after {} ({days})<br>chain {chain}, \
         name {name}<br>key {} {}",
        code(&c.subject),
        code(&c.issuer),
        codes(&c.subject_alt_names),
        esc(&c.not_after),
        esc(&c.key.kind),
        c.key.bits,
    );
    if let Some(curve) = &c.key.curve {
        write!(html, " {}", esc(curve))?;
    }
    write!(html, "<br>SPKI SHA-256 {}", code(&c.spki_sha256))?;
    Ok(html)
}

#[cfg(test)]
mod tests;
