//! The page shell and the small pieces every HTML page of smtptls is made
//! of: `check --format html` (the parent module) and, later, the diff
//! page. Kept apart from the check page so a second page gets the same
//! look, the same script and the same escaping by calling these, without
//! knowing anything about a check report.
//!
//! What it owns:
//! - [`open`] and [`close`]: the document from `<!DOCTYPE html>` to the
//!   end of the header, and from the footer to `</html>`, with the inline
//!   style sheet (`style.css`) and script (`script.js`). Nothing is ever
//!   loaded from elsewhere: the file works opened from disk, offline.
//! - [`esc`]: the one way peer text gets into a page (`text::html`).
//! - [`verdict_badge`], [`severity_badge`], [`findings`],
//!   [`findings_folded`], [`fix`], [`bar_chart`]: pieces that say a
//!   verdict, a finding and a count the same way on every page (a word
//!   beside every colour, so colour is never the only signal).
//! - [`filter_controls`] and [`rows_table_open`]: the filter form and the
//!   head of the one table (`#rows`) the script sorts and filters.
//! - [`write_page`]: a whole page in chunks: the part above the
//!   drill-downs, the "Per domain" section, the footer.
//!
//! The script is generic: it sorts the table `#rows` by the column whose
//! header button is pressed, and filters its body rows by `data-verdict`
//! (the `<select id="f-verdict">`) and by the text of the row and its
//! `data-search` (the `<input id="f-q">`), setting `hidden` on the rows
//! and on the element each row names in `data-details`. The same state
//! can be given in the URL fragment, `#verdict=broken,plaintext&q=text`,
//! read by the same function the controls call. A page that has no such
//! table simply gets no controls.
//!
//! Every function writes into a `String` (`fmt::Write` to a `String`
//! cannot fail); [`write_page`] writes it out in chunks.

use std::fmt::{self, Write};
use std::io;

use super::super::text;
use crate::report::ToolInfo;
use crate::vocabulary::{Finding, Fix, FixBy, Severity, Verdict};

/// The inline style sheet: screen, dark scheme and print.
const STYLE: &str = include_str!("style.css");
/// The inline script: sorting, filtering, the fragment state.
pub(crate) const SCRIPT: &str = include_str!("script.js");

/// Written to the output whenever this much is buffered.
const CHUNK: usize = 256 * 1024;

/// `fmt::Write` into a `String` cannot fail; should it ever, the page is
/// not written rather than written half.
fn fmt_error(_: fmt::Error) -> io::Error {
    io::Error::other("could not format the HTML page")
}

/// A whole page, written in chunks of about [`CHUNK`] so that it is never
/// held whole: `top` (from [`open`] to the end of the table `#rows`), then
/// the "Per domain" section with `intro` and one `drill_down` per item, in
/// the order given, then [`close`].
pub(crate) fn write_page<T>(
    out: &mut dyn io::Write,
    top: impl FnOnce(&mut String) -> fmt::Result,
    intro: &str,
    items: impl IntoIterator<Item = T>,
    mut drill_down: impl FnMut(&mut String, T) -> fmt::Result,
    tool: &ToolInfo,
    generated_at: &str,
) -> io::Result<()> {
    let mut buf = String::with_capacity(CHUNK + CHUNK / 4);
    top(&mut buf).map_err(fmt_error)?;
    out.write_all(buf.as_bytes())?;
    buf.clear();
    write!(
        buf,
        "<section id=\"details\" aria-labelledby=\"details-h\">\n\
         <h2 id=\"details-h\">Per domain</h2>\n<p class=\"muted\">{}</p>\n",
        esc(intro)
    )
    .map_err(fmt_error)?;
    for item in items {
        drill_down(&mut buf, item).map_err(fmt_error)?;
        if buf.len() >= CHUNK {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    buf.push_str("</section>\n");
    close(&mut buf, tool, generated_at).map_err(fmt_error)?;
    out.write_all(buf.as_bytes())
}

/// Peer text (or any text) for element content or a quoted attribute:
/// markup escaped and control characters shown, never obeyed.
pub(crate) fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    text::html(s)
}

/// What the header says.
pub(crate) struct Header<'a> {
    /// The `<title>` and the `<h1>`.
    pub title: &'a str,
    /// A line under the heading (the run's date, what the page compares).
    pub subtitle: &'a str,
}

/// From the doctype to the end of the page header, and `<main>` opened.
pub(crate) fn open(out: &mut String, header: &Header<'_>) -> fmt::Result {
    let title = esc(header.title);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header class=\"page\">\n<h1>{title}</h1>\n<p class=\"sub\">{}</p>\n</header>\n<main>\n",
        esc(header.subtitle)
    )
}

/// The footer naming the tool and when the data was gathered, the script
/// (last, so the table it works on is parsed), and the end of the page.
pub(crate) fn close(out: &mut String, tool: &ToolInfo, generated_at: &str) -> fmt::Result {
    write!(
        out,
        "</main>\n<footer class=\"page\">\n<p>Written by {} {} from data gathered at \
         <time datetime=\"{at}\">{at}</time>. A self-contained file that loads nothing; \
         readable without JavaScript, which adds sorting, filtering and search.</p>\n</footer>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        esc(&tool.name),
        esc(&tool.version),
        at = esc(generated_at),
    )
}

/// The CSS class of a verdict's colour. The colour only repeats the word.
pub(crate) fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Protected => "v-protected",
        Verdict::Secure => "v-secure",
        Verdict::Encrypted => "v-encrypted",
        Verdict::Partial => "v-partial",
        Verdict::Plaintext => "v-plaintext",
        Verdict::Broken => "v-broken",
        Verdict::Error => "v-error",
        Verdict::NoMail => "v-no-mail",
    }
}

/// `<span class="badge v-broken">broken</span>`: the verdict's own word.
pub(crate) fn verdict_badge(out: &mut String, v: Verdict) -> fmt::Result {
    write!(
        out,
        "<span class=\"badge {}\">{}</span>",
        verdict_class(v),
        v.as_str()
    )
}

/// The severity as the table says it: `ok`, `info`, `warn`, `FAIL` (upper
/// case, so a failure stands out without colour too).
pub(crate) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Info => "info",
        Severity::Warn => "warn",
        Severity::Fail => "FAIL",
    }
}

pub(crate) fn severity_badge(out: &mut String, s: Severity) -> fmt::Result {
    write!(out, "<span class=\"sev s-{s}\">{}</span>", severity_word(s))
}

/// The fix line under a finding: `fix:` (the receiving domain's admin)
/// or `fix (your side):` (the sender), as the table labels them.
pub(crate) fn fix(out: &mut String, fix: &Fix) -> fmt::Result {
    let label = match fix.by {
        FixBy::Receiver => "fix:",
        FixBy::Sender => "fix (your side):",
    };
    write!(
        out,
        "<p class=\"fix\"><span class=\"label\">{label}</span> {}</p>",
        esc(&fix.text)
    )
}

/// A list of findings, each with its severity word, id, what it is about
/// (`subject`, already plain text, escaped here), message and fix.
/// Nothing at all for an empty list.
pub(crate) fn findings<'a>(
    out: &mut String,
    items: impl IntoIterator<Item = (Option<&'a str>, &'a Finding)>,
) -> fmt::Result {
    let mut open = false;
    for (subject, f) in items {
        if !open {
            out.push_str("<ul class=\"findings\">");
            open = true;
        }
        write!(out, "<li class=\"s-{}\">", f.severity)?;
        severity_badge(out, f.severity)?;
        write!(out, " <code class=\"id\">{}</code> ", f.id.as_str())?;
        if let Some(s) = subject {
            write!(out, "<span class=\"about\">{}:</span> ", esc(s))?;
        }
        out.push_str(&esc(&f.message));
        if let Some(level) = f.level {
            write!(out, " <span class=\"level\">[{}]</span>", level.as_str())?;
        }
        if let Some(x) = &f.fix {
            fix(out, x)?;
        }
        out.push_str("</li>");
    }
    if open {
        out.push_str("</ul>\n");
    }
    Ok(())
}

/// [`findings`], the passing ones (`ok`) folded away under "N passed"
/// (still in the page, for print and search, but out of the way of the
/// problems, which are most of what a reader opens a domain for).
pub(crate) fn findings_folded<'a>(
    out: &mut String,
    items: impl IntoIterator<Item = (Option<&'a str>, &'a Finding)>,
) -> fmt::Result {
    let (passed, problems): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|(_, f)| f.severity == Severity::Ok);
    findings(out, problems)?;
    if !passed.is_empty() {
        write!(
            out,
            "<details class=\"passed\"><summary>{} passed</summary>",
            passed.len()
        )?;
        findings(out, passed)?;
        out.push_str("</details>\n");
    }
    Ok(())
}

/// How a column of the table `#rows` sorts when its header is pressed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    /// Not sortable: a plain header.
    No,
    /// By the cells' text (or `data-sort`), case-insensitive.
    Text,
    /// By the cells' `data-sort` (or text) as numbers; empty ones last.
    Number,
}

/// One column of the table `#rows`.
pub(crate) struct Column<'a> {
    pub label: &'a str,
    pub sort: Sort,
    /// Right-aligned figures.
    pub numeric: bool,
}

/// The filter form the script shows (hidden without it): a `<select
/// id="f-verdict">` of `choices` (value, text) after "all (`total`)", a
/// search box, and the status line. The rows it filters carry
/// `data-verdict` (one of the values); a fragment may name several,
/// comma-separated.
pub(crate) fn filter_controls(
    out: &mut String,
    label: &str,
    choices: &[(&str, String)],
    total: usize,
    placeholder: &str,
) -> fmt::Result {
    write!(
        out,
        "<form id=\"controls\" hidden role=\"search\"><label>{} <select id=\"f-verdict\">\
         <option value=\"\">all ({total})</option>",
        esc(label)
    )?;
    for (value, text) in choices {
        write!(
            out,
            "<option value=\"{}\">{}</option>",
            esc(value),
            esc(text)
        )?;
    }
    writeln!(
        out,
        "<option value=\"*\" disabled>several (from the link)</option></select></label>\
         <label>Search <input id=\"f-q\" type=\"search\" placeholder=\"{}\"></label>\
         <p id=\"status\" aria-live=\"polite\"></p></form>",
        esc(placeholder)
    )
}

/// The opening of the table `#rows` the script sorts and filters, up to
/// its `<tbody>`: `sorted` is the column the rows come sorted by
/// (ascending), marked so. Each row the caller writes is a `<tr
/// data-verdict="…">`, with `data-details="ID"` naming an element to hide
/// along with it and `data-search="…"` for words searched beside its text.
pub(crate) fn rows_table_open(
    out: &mut String,
    caption: &str,
    columns: &[Column<'_>],
    sorted: Option<usize>,
) -> fmt::Result {
    write!(
        out,
        "<table id=\"rows\"><caption>{}</caption><thead><tr>",
        esc(caption)
    )?;
    for (i, c) in columns.iter().enumerate() {
        let class = if c.numeric { " class=\"num\"" } else { "" };
        let label = esc(c.label);
        match c.sort {
            Sort::No => write!(out, "<th scope=\"col\"{class}>{label}</th>")?,
            sort => write!(
                out,
                "<th scope=\"col\"{class} aria-sort=\"{}\"{}><button type=\"button\">{label}</button></th>",
                if sorted == Some(i) {
                    "ascending"
                } else {
                    "none"
                },
                if sort == Sort::Number {
                    " data-type=\"num\""
                } else {
                    ""
                },
            )?,
        }
    }
    out.push_str("</tr></thead><tbody>\n");
    Ok(())
}

/// One bar of [`bar_chart`].
pub(crate) struct Bar<'a> {
    /// The word under which the count is shown (a verdict's name).
    pub label: &'a str,
    /// The CSS class giving the bar its colour (`v-broken`).
    pub class: &'a str,
    pub count: usize,
}

/// A horizontal bar chart drawn here, as inline SVG, so it shows without
/// JavaScript and prints: one row per bar with its label, the bar, and
/// the count with its share of `total` as text, so neither colour nor
/// length is the only way to read it. `title` names it for screen
/// readers (`role="img"`); the numbers are in the text as well.
pub(crate) fn bar_chart(out: &mut String, id: &str, title: &str, bars: &[Bar<'_>]) -> fmt::Result {
    const ROW: usize = 26;
    const BAR: usize = 360;
    // Room for the longest label at about 7.5 px a character (13 px
    // system font), at least the 110 px the verdicts' names need.
    let longest = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0);
    let label_width = (longest * 15 / 2 + 16).max(110);
    let total: usize = bars.iter().map(|b| b.count).sum();
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let height = ROW * bars.len() + 4;
    let width = label_width + BAR + 130;
    write!(
        out,
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-t\" \
         viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-t\">{}</title>",
        esc(title)
    )?;
    for (i, b) in bars.iter().enumerate() {
        let y = i * ROW + 2;
        // A bar of at least 2 px for a count above zero, so it is seen.
        let len = if b.count == 0 {
            0
        } else {
            (b.count * BAR / max).max(2)
        };
        let share = if total == 0 {
            0.0
        } else {
            b.count as f64 * 100.0 / total as f64
        };
        write!(
            out,
            "<g class=\"{class}\"><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{len}\" height=\"{bh}\" rx=\"2\"/>\
             <text x=\"{cx}\" y=\"{ty}\" class=\"count\">{count} ({share:.0}%)</text></g>",
            class = esc(b.class),
            lx = label_width - 8,
            ty = y + 16,
            label = esc(b.label),
            bh = ROW - 6,
            cx = label_width + len + 6,
            count = b.count,
        )?;
    }
    out.push_str("</svg>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::FindingId;

    #[test]
    fn findings_escape_message_subject_and_fix() {
        let mut f = Finding::fail(FindingId::SmtpBanner, "<b>&\"'\u{1b}[2J");
        f.fix = Some(Fix {
            by: FixBy::Sender,
            text: "</p><script>".into(),
        });
        let mut out = String::new();
        findings(&mut out, [(Some("mx<1>"), &f)]).expect("fmt");
        assert_eq!(
            out,
            "<ul class=\"findings\"><li class=\"s-fail\"><span class=\"sev s-fail\">FAIL</span> \
             <code class=\"id\">smtp.banner</code> <span class=\"about\">mx&lt;1&gt;:</span> \
             &lt;b&gt;&amp;&quot;&#39;\\x1b[2J<p class=\"fix\"><span class=\"label\">fix (your side):</span> \
             &lt;/p&gt;&lt;script&gt;</p></li></ul>\n"
        );
        let mut none = String::new();
        findings(&mut none, []).expect("fmt");
        assert_eq!(none, "");
    }

    #[test]
    fn bar_chart_writes_each_count_as_text() {
        let mut out = String::new();
        bar_chart(
            &mut out,
            "c",
            "Verdicts <x>",
            &[
                Bar {
                    label: "secure",
                    class: "v-secure",
                    count: 3,
                },
                Bar {
                    label: "broken",
                    class: "v-broken",
                    count: 1,
                },
                Bar {
                    label: "error",
                    class: "v-error",
                    count: 0,
                },
            ],
        )
        .expect("fmt");
        assert!(
            out.contains("<title id=\"c-t\">Verdicts &lt;x&gt;</title>"),
            "{out}"
        );
        assert!(out.contains(">3 (75%)</text>"), "{out}");
        assert!(out.contains(">1 (25%)</text>"), "{out}");
        assert!(
            out.contains("width=\"360\""),
            "the largest bar is full: {out}"
        );
        assert!(out.contains("width=\"120\""), "a third of it: {out}");
        assert!(out.contains("width=\"0\""), "nothing for zero: {out}");
    }
}
