//! The one table style of every subcommand (`check`, `diff`, `tlsrpt`):
//! comfy-table, borderless, laid out to the width the output is given, two
//! spaces between columns, and colour only when it was asked for (it only
//! repeats what a word already says, so `NO_COLOR` loses nothing).
//!
//! Columns that hold names (host names, addresses, finding ids, suites)
//! are marked [`Table::keep_whole`] so that comfy-table never wraps them;
//! the prose columns take what is left. Every cell's text must already be
//! inert ([`super::text::terminal`]); this module only lays it out.
//!
//! Hand-written layout remains only where comfy-table cannot do the job:
//! the hanging indent of a finding line (`FAIL  subject: message` with the
//! fix under it) is prose that wraps around a label, not a grid
//! (`table.rs`, `wrap_words`).

use comfy_table::{Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement};

/// How human output is laid out: the columns a line may take and whether
/// to colour. Shared by every subcommand's table output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub width: usize,
    pub color: bool,
}

/// What a coloured word means; the colour only repeats the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Info,
    Notice,
    Warn,
    Bad,
}

impl Tone {
    /// ANSI SGR colour code, for the hand-laid lines.
    pub fn sgr(self) -> &'static str {
        match self {
            Tone::Good => "32",
            Tone::Info => "36",
            Tone::Notice => "90",
            Tone::Warn => "33",
            Tone::Bad => "31",
        }
    }

    fn color(self) -> Color {
        match self {
            Tone::Good => Color::Green,
            Tone::Info => Color::Cyan,
            Tone::Notice => Color::DarkGrey,
            Tone::Warn => Color::Yellow,
            Tone::Bad => Color::Red,
        }
    }
}

/// A table in the house style, with its header.
pub struct Table {
    inner: comfy_table::Table,
    layout: Layout,
    indent: usize,
}

impl Table {
    /// A table whose lines start with `indent` spaces and, indent
    /// included, fit in `layout.width` columns (unless a column kept whole
    /// is wider than that).
    pub fn new(header: &[&str], layout: Layout, indent: usize) -> Table {
        let mut inner = comfy_table::Table::new();
        inner.load_style(comfy_table::presets::NOTHING);
        inner.set_content_arrangement(ContentArrangement::Dynamic);
        let room = layout.width.saturating_sub(indent).max(1);
        inner.set_width(u16::try_from(room).unwrap_or(u16::MAX));
        if layout.color {
            inner.enforce_styling();
            // Colour the words only, never the padding: without its
            // escapes, a coloured line is the plain line.
            inner.style_text_only();
        } else {
            inner.force_no_tty();
        }
        inner.set_header(header.iter().map(|h| Cell::new(*h)).collect::<Vec<_>>());
        let last = header.len().saturating_sub(1);
        for (i, column) in inner.column_iter_mut().enumerate() {
            // Two spaces between columns, none before the first or after
            // the last: the lines are indented and trimmed by `lines`.
            column.set_padding((0, if i == last { 0 } else { 2 }));
        }
        Table {
            inner,
            layout,
            indent,
        }
    }

    /// Never wrap these columns: they hold names.
    pub fn keep_whole(&mut self, columns: &[usize]) -> &mut Self {
        for &i in columns {
            if let Some(c) = self.inner.column_mut(i) {
                c.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        self
    }

    /// Align these columns to the right (numbers).
    pub fn align_right(&mut self, columns: &[usize]) -> &mut Self {
        for &i in columns {
            if let Some(c) = self.inner.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        self
    }

    /// Leave these columns out.
    pub fn hide(&mut self, columns: &[usize]) -> &mut Self {
        for &i in columns {
            if let Some(c) = self.inner.column_mut(i) {
                c.set_constraint(ColumnConstraint::Hidden);
            }
        }
        self
    }

    pub fn row(&mut self, cells: Vec<Cell>) -> &mut Self {
        self.inner.add_row(cells);
        self
    }

    /// A plain cell.
    pub fn cell(text: impl Into<String>) -> Cell {
        Cell::new(text.into())
    }

    /// A cell in a tone (bold and coloured when colour is on).
    pub fn paint(&self, text: impl Into<String>, tone: Tone) -> Cell {
        let cell = Cell::new(text.into());
        if self.layout.color {
            cell.fg(tone.color()).add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }

    /// A cell painted only when `tone` is given.
    pub fn maybe_paint(&self, text: impl Into<String>, tone: Option<Tone>) -> Cell {
        match tone {
            Some(t) => self.paint(text, t),
            None => Cell::new(text.into()),
        }
    }

    /// The width the table takes without wrapping any column: the widest
    /// line it would draw on an unlimited line, indent included.
    pub fn natural_width(&self) -> usize {
        let mut wide = self.inner.clone();
        wide.set_content_arrangement(ContentArrangement::Disabled);
        wide.lines()
            .map(|l| unicode_width::UnicodeWidthStr::width(without_sgr(&l).trim_end()))
            .max()
            .unwrap_or(0)
            + self.indent
    }

    /// The lines, indented, without trailing blanks.
    pub fn lines(&self) -> Vec<String> {
        let pad = " ".repeat(self.indent);
        self.inner
            .lines()
            .map(|l| format!("{pad}{}", l.trim_end()))
            .collect()
    }
}

/// `line` without the SGR escapes this module's colour adds (measured
/// text has none of its own: every cell is inert).
fn without_sgr(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match tail.find('m') {
            Some(end) => rest = &tail[end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(width: usize) -> Layout {
        Layout {
            width,
            color: false,
        }
    }

    #[test]
    fn borderless_two_space_gaps_indented_and_trimmed() {
        let mut t = Table::new(&["Host", "Note"], layout(80), 2);
        t.row(vec![Table::cell("mx.example"), Table::cell("ok")]);
        assert_eq!(
            t.lines(),
            vec!["  Host        Note", "  mx.example  ok"],
            "no border, no trailing blanks"
        );
    }

    #[test]
    fn names_kept_whole_while_prose_wraps_to_the_width() {
        let mut t = Table::new(&["Host", "Why"], layout(40), 2);
        t.keep_whole(&[0]);
        t.row(vec![
            Table::cell("a-rather-long-mx-host.example"),
            Table::cell("a sentence that must wrap onto a second line"),
        ]);
        let lines = t.lines();
        assert!(lines.len() > 2, "{lines:#?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
        assert!(
            lines[1].contains("a-rather-long-mx-host.example"),
            "{lines:#?}"
        );
        assert_eq!(t.natural_width(), 2 + 29 + 2 + 44);
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = Table::new(&["A"], layout(80), 0);
        let mut p = Table::new(&["A"], layout(80), 0);
        p.row(vec![plain.paint("FAIL", Tone::Bad)]);
        assert!(!p.lines().concat().contains('\x1b'));
        let mut c = Table::new(
            &["A"],
            Layout {
                width: 80,
                color: true,
            },
            0,
        );
        let cell = c.paint("FAIL", Tone::Bad);
        c.row(vec![cell]);
        assert!(c.lines().concat().contains("\x1b["), "{:?}", c.lines());
    }
}
