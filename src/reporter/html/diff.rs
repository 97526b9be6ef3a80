//! `smtptls diff --format html`: what changed between two reports, as one
//! self-contained page made of [`super::page`]'s shell and pieces, worst
//! first as the [`DiffRun`] orders the domains.
//!
//! Contents: the two reports compared, the counts (regressions, problems,
//! changed, added, removed, unchanged), a chart of the domains by kind of
//! change, a chart of the most frequent change ids, the table of changed
//! domains (sortable, filterable by kind, searchable by change id) and a
//! drill-down per domain with every change, where it is and which way it
//! goes. Change messages quote MX names, certificate issuers, policy
//! patterns and verdict reasons from the reports, all through
//! [`page::esc`].

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use super::page::{self, Bar, Column, Sort, esc};
use crate::diff::{Change, ChangeId, DiffRun, Direction, DomainDiff, DomainStatus};

/// Change ids shown in the frequency chart.
const TOP_IDS: usize = 12;

/// What a changed domain amounts to, worst first: the table's filter
/// values, the words shown, the CSS class of the colour.
const KINDS: [(&str, &str, &str); 7] = [
    ("regression", "regression", "v-broken"),
    ("problem", "problem", "v-plaintext"),
    ("worse", "worse", "v-partial"),
    ("better", "better", "v-secure"),
    ("changed", "changed", "v-encrypted"),
    ("added", "added", "v-no-mail"),
    ("removed", "removed", "v-no-mail"),
];

/// The index in [`KINDS`] of a domain's kind.
fn kind(d: &DomainDiff) -> usize {
    let any = |f: fn(&Change) -> bool| d.changes.iter().any(f);
    if d.regression {
        0
    } else if any(|c| c.problem) {
        1
    } else if any(|c| c.direction == Direction::Worse) {
        2
    } else if d.status == DomainStatus::Added {
        5
    } else if d.status == DomainStatus::Removed {
        6
    } else if any(|c| c.direction == Direction::Better) {
        3
    } else {
        4
    }
}

/// The word before a change, as the table output says it.
fn mark(c: &Change) -> (&'static str, &'static str) {
    if c.regression {
        ("REGRESSION", "s-fail")
    } else if c.problem {
        ("PROBLEM", "s-fail")
    } else {
        match (c.id, c.direction) {
            (ChangeId::DomainAdded, _) => ("added", "s-info"),
            (ChangeId::DomainRemoved, _) => ("removed", "s-info"),
            (_, Direction::Worse) => ("worse", "s-warn"),
            (_, Direction::Better) => ("better", "s-ok"),
            (_, Direction::Neutral) => ("changed", "s-info"),
        }
    }
}

/// How many changed domains are of each of [`KINDS`].
fn kind_counts(run: &DiffRun) -> [usize; KINDS.len()] {
    let mut counts = [0usize; KINDS.len()];
    for d in &run.domains {
        counts[kind(d)] += 1;
    }
    counts
}

/// The whole page ([`page::write_page`]).
pub fn write_page(run: &DiffRun, out: &mut dyn Write) -> io::Result<()> {
    let counts = kind_counts(run);
    page::write_page(
        out,
        |buf| {
            top(buf, run, &counts)?;
            table(buf, run, &counts)
        },
        "Worst first. Each domain opens to every change, where it is and which way it goes.",
        run.domains.iter().enumerate(),
        |buf, (i, d)| drill_down(buf, d, i),
        &run.tool,
        &run.generated_at,
    )
}

fn side(info: &crate::diff::SideInfo) -> String {
    let mut s = format!(
        "{} ({}, {} domains",
        info.file,
        info.format.as_str(),
        info.domains
    );
    if let Some(at) = &info.generated_at {
        s.push_str(&format!(", generated {at}"));
    }
    s.push(')');
    s
}

fn top(out: &mut String, run: &DiffRun, counts: &[usize; KINDS.len()]) -> fmt::Result {
    let s = &run.summary;
    let title = format!(
        "smtptls diff: {} regression{}, {} changed",
        s.regressions,
        if s.regressions == 1 { "" } else { "s" },
        s.changed + s.added + s.removed
    );
    let subtitle = format!("{} → {}", side(&run.old), side(&run.new));
    page::open(
        out,
        &page::Header {
            title: &title,
            subtitle: &subtitle,
        },
    )?;
    out.push_str(
        "<nav aria-label=\"Sections\"><p><a href=\"#summary\">Summary</a> · \
         <a href=\"#kinds\">By kind</a> · <a href=\"#domains\">Domains</a> · \
         <a href=\"#details\">Per domain</a></p></nav>\n\
         <section id=\"summary\" aria-labelledby=\"summary-h\">\n\
         <h2 id=\"summary-h\">Summary</h2>\n<div class=\"cards\">",
    );
    for (n, label) in [
        (s.regressions, "regressions (--fail-on)"),
        (s.problems, "problems only time reveals"),
        (s.changed, "domains changed"),
        (s.added, "added"),
        (s.removed, "removed"),
        (s.unchanged, "unchanged"),
        (s.worse, "changes for the worse"),
        (s.better, "changes for the better"),
    ] {
        write!(
            out,
            "<p class=\"card\"><span class=\"n\">{n}</span>{}</p>",
            esc(label)
        )?;
    }
    out.push_str("</div>\n<dl class=\"facts\">");
    let rule: Vec<&str> = run.fail_on.iter().map(|id| id.as_str()).collect();
    for (term, value) in [
        ("Old report", side(&run.old)),
        ("New report", side(&run.new)),
        ("Regressions by --fail-on", rule.join(", ")),
        (
            "Certificate expiry warning",
            format!("{} days", run.expiry_warn_days),
        ),
        ("Compared at", run.generated_at.clone()),
    ] {
        write!(out, "<dt>{}</dt><dd>{}</dd>", esc(term), esc(&value))?;
    }
    out.push_str("</dl>\n</section>\n");

    out.push_str(
        "<section id=\"kinds\" aria-labelledby=\"kinds-h\">\n\
         <h2 id=\"kinds-h\">By kind</h2>\n",
    );
    let bars: Vec<Bar<'_>> = KINDS
        .iter()
        .zip(counts.iter().copied())
        .map(|(&(_, label, class), count)| Bar {
            label,
            class,
            count,
        })
        .collect();
    page::bar_chart(out, "kinds-chart", "Changed domains by kind", &bars)?;
    let mut ids: Vec<(&ChangeId, &usize)> = s.by_id.iter().collect();
    ids.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    ids.truncate(TOP_IDS);
    if !ids.is_empty() {
        out.push_str("<h3>Most frequent changes</h3>\n");
        let bars: Vec<Bar<'_>> = ids
            .iter()
            .map(|(id, n)| Bar {
                label: id.as_str(),
                class: "v-encrypted",
                count: **n,
            })
            .collect();
        page::bar_chart(out, "ids-chart", "Changes by id", &bars)?;
    }
    out.push_str("</section>\n");
    Ok(())
}

fn table(out: &mut String, run: &DiffRun, counts: &[usize; KINDS.len()]) -> fmt::Result {
    out.push_str(
        "<section id=\"domains\" aria-labelledby=\"domains-h\">\n\
         <h2 id=\"domains-h\">Domains</h2>\n",
    );
    if run.domains.is_empty() {
        writeln!(
            out,
            "<p>No changes: {} domains compared.</p>\n</section>",
            run.summary.compared
        )?;
        return Ok(());
    }
    let choices: Vec<(&str, String)> = KINDS
        .iter()
        .zip(counts.iter().copied())
        .filter(|(_, n)| *n > 0)
        .map(|(&(value, label, _), n)| (value, format!("{label} ({n})")))
        .collect();
    page::filter_controls(
        out,
        "Kind",
        &choices,
        run.domains.len(),
        "domain, MX or change id",
    )?;
    page::rows_table_open(
        out,
        "Changed domains, worst first",
        &[
            Column {
                label: "Domain",
                sort: Sort::Text,
                numeric: false,
            },
            Column {
                label: "Kind",
                sort: Sort::Number,
                numeric: false,
            },
            Column {
                label: "Verdict",
                sort: Sort::Text,
                numeric: false,
            },
            Column {
                label: "Changes",
                sort: Sort::Number,
                numeric: true,
            },
            Column {
                label: "What",
                sort: Sort::No,
                numeric: false,
            },
        ],
        // In the run's order (regressions, problems, worse, then by
        // verdict), which no single column sorts by.
        None,
    )?;
    for (i, d) in run.domains.iter().enumerate() {
        let k = kind(d);
        let (value, label, class) = KINDS[k];
        let mut ids: Vec<&str> = d.changes.iter().map(|c| c.id.as_str()).collect();
        ids.dedup();
        write!(
            out,
            "<tr data-verdict=\"{value}\" data-details=\"c-{i}\" data-search=\"{}\">\
             <td><a href=\"#c-{i}\">{}</a></td>\
             <td data-sort=\"{k}\"><span class=\"badge {class}\">{}</span></td><td>",
            esc(&ids.join(" ")),
            esc(&d.domain),
            esc(label)
        )?;
        verdicts(out, d)?;
        writeln!(
            out,
            "</td><td class=\"num\">{}</td><td>{}</td></tr>",
            d.changes.len(),
            esc(&ids.join(", "))
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// `secure → plaintext`, as badges; one badge for an unchanged verdict.
fn verdicts(out: &mut String, d: &DomainDiff) -> fmt::Result {
    match (d.old_verdict, d.new_verdict) {
        (Some(o), Some(n)) if o != n => {
            page::verdict_badge(out, o)?;
            out.push_str(" → ");
            page::verdict_badge(out, n)
        }
        (Some(v), _) | (_, Some(v)) => page::verdict_badge(out, v),
        (None, None) => Ok(()),
    }
}

fn drill_down(out: &mut String, d: &DomainDiff, i: usize) -> fmt::Result {
    let (value, label, class) = KINDS[kind(d)];
    write!(
        out,
        "<details class=\"domain\" id=\"c-{i}\" data-verdict=\"{value}\"><summary>\
         <span class=\"badge {class}\">{}</span><h3>{}</h3>",
        esc(label),
        esc(&d.domain)
    )?;
    verdicts(out, d)?;
    out.push_str("</summary>\n<ul class=\"findings\">");
    for c in &d.changes {
        let (word, sev) = mark(c);
        write!(
            out,
            "<li class=\"{sev}\"><span class=\"sev {sev}\">{word}</span> <code class=\"id\">{}</code> ",
            c.id.as_str()
        )?;
        match (&c.mx, c.address) {
            (Some(mx), Some(ip)) => {
                write!(out, "<span class=\"about\">{} [{ip}]:</span> ", esc(mx))?
            }
            (Some(mx), None) => write!(out, "<span class=\"about\">{}:</span> ", esc(mx))?,
            _ => {}
        }
        out.push_str(&esc(&c.message));
        out.push_str("</li>");
    }
    out.push_str("</ul>\n</details>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::fixture::hostile_run as run;

    fn render(run: &DiffRun) -> String {
        let mut out = Vec::new();
        write_page(run, &mut out).expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn the_page_is_valid_and_hostile_text_stays_text() {
        let html = render(&run());
        let doc = scraper::Html::parse_document(&html);
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        let scripts = scraper::Selector::parse("script").expect("selector");
        assert_eq!(
            doc.select(&scripts).count(),
            1,
            "only the page's own script"
        );
        let script = doc.select(&scripts).next().expect("script");
        assert_eq!(
            script.text().collect::<String>().trim(),
            page::SCRIPT.trim()
        );
        // The hostile domain is the first row and its drill-down heading,
        // as text (control characters shown, not obeyed).
        let cell = scraper::Selector::parse("#rows tbody tr td a").expect("selector");
        let first: String = doc.select(&cell).next().expect("row").text().collect();
        assert_eq!(
            first,
            "<script>alert(1)</script>\"'&\\x1b[2J\\x00=cmd|.example"
        );
        let title = scraper::Selector::parse("title").expect("selector");
        let title: String = doc.select(&title).next().expect("title").text().collect();
        assert_eq!(title, "smtptls diff: 1 regression, 2 changed");
        let about = scraper::Selector::parse("#c-0 .about").expect("selector");
        let about: String = doc.select(&about).next().expect("about").text().collect();
        assert_eq!(
            about,
            "mx.<script>alert(1)</script>\"'&\\x1b[2J\\x00=cmd| [192.0.2.1]:"
        );
        assert!(!html.contains('\u{1b}') && !html.contains('\u{0}'));
    }

    #[test]
    fn rows_carry_their_kind_for_the_filter_worst_first() {
        let html = render(&run());
        let doc = scraper::Html::parse_document(&html);
        let rows = scraper::Selector::parse("#rows tbody tr").expect("selector");
        let kinds: Vec<&str> = doc
            .select(&rows)
            .map(|r| r.value().attr("data-verdict").expect("kind"))
            .collect();
        assert_eq!(kinds, ["regression", "better"]);
        let options = scraper::Selector::parse("#f-verdict option").expect("selector");
        let options: Vec<String> = doc
            .select(&options)
            .map(|o| o.text().collect::<String>())
            .collect();
        assert_eq!(
            options,
            [
                "all (2)",
                "regression (1)",
                "better (1)",
                "several (from the link)"
            ]
        );
    }

    #[test]
    fn no_changes_is_a_page_that_says_so() {
        let mut empty = run();
        empty.domains.clear();
        let html = render(&empty);
        let doc = scraper::Html::parse_document(&html);
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        assert!(html.contains("<p>No changes: 2 domains compared.</p>"));
    }
}
