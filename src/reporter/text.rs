//! Peer text made inert for the format it goes into. Anything that came
//! from the network (a banner, an EHLO reply, a certificate's subject,
//! issuer or names, a policy or TXT record, an error message quoting one)
//! may carry bytes meant for the reader's software rather than the reader:
//! terminal escape sequences (ESC, and the C1 controls such as U+009B CSI,
//! which UTF-8 terminals like xterm obey too), line ends that forge rows,
//! bidirectional overrides that show text in another order than it is
//! (the "Trojan Source" trick), spreadsheet formulas, markup.
//!
//! One neutraliser per kind of reader, each written once here and used by
//! every reporter (and by the binary for its stderr lines):
//!
//! - [`terminal`]: a person reading a terminal (table output, stderr):
//!   every unsafe character shown as a visible escape (`\x1b`, `\u{202e}`).
//! - [`json`]: serialized JSON: the unsafe characters serde_json writes
//!   raw (DEL, C1, bidi controls, U+2028/U+2029) become `\uXXXX` escapes,
//!   so `cat report.json` is harmless and the parsed value is unchanged.
//! - [`replace_unsafe`]: formats with no way to escape them (CSV, the
//!   Prometheus label values, JUnit XML): replaced by U+FFFD, keeping the
//!   characters the caller's format handles itself.
//! - [`html`]: markup escaped, unsafe characters shown as escapes, for the
//!   HTML output.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The bidirectional formatting characters: the Arabic letter mark, the
/// left-to-right and right-to-left marks, embeddings, overrides, their
/// terminator (U+202A–U+202E) and the isolates (U+2066–U+2069). None
/// belongs in a host name, a reply code or a certificate field, and each
/// can make text read differently from what it is.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// A character software may act on instead of showing it: C0 and C1
/// controls and DEL (`char::is_control`: tab and line ends included), the
/// bidirectional controls, and the Unicode line and paragraph separators
/// (U+2028, U+2029), which some viewers and JavaScript treat as line ends.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Text for a terminal: every [`is_unsafe`] character shown as an escape,
/// `\n`, `\r`, `\t`, `\x1b` (below U+0080) or `\u{202e}`, so it can move
/// no cursor, set no title, clear no screen, recolour or reorder nothing,
/// and cannot break a table row or a line of stderr. Borrowed when there
/// is nothing to escape.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && is_unsafe(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` with every [`is_unsafe`] character for which `keep` says no
/// replaced by U+FFFD: for formats that cannot escape such characters, or
/// whose readers choke on them. `keep` names what the format itself
/// quotes or escapes (CSV quotes tab and line ends; Prometheus escapes a
/// line feed).
pub fn replace_unsafe(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let bad = |c: char| is_unsafe(c) && !keep(c);
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if bad(c) { '\u{FFFD}' } else { c })
            .collect(),
    )
}

/// Serialized JSON with the [`is_unsafe`] characters serde_json writes as
/// they are (it escapes only U+0000–U+001F) turned into `\uXXXX` escapes.
/// Lossless: a JSON parser reads the same strings back. Sound on any
/// serde_json output: outside strings JSON is ASCII, and inside one a raw
/// non-ASCII character never follows an escaping backslash.
pub fn json(serialized: &str) -> Cow<'_, str> {
    if !serialized.chars().any(is_unsafe_raw_in_json) {
        return Cow::Borrowed(serialized);
    }
    let mut out = String::with_capacity(serialized.len() + 16);
    for c in serialized.chars() {
        if is_unsafe_raw_in_json(c) {
            // Every such character is in the Basic Multilingual Plane:
            // one escape, no surrogate pair.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// What serde_json leaves raw that [`is_unsafe`] forbids: not the ASCII
/// whitespace of pretty-printing (line feed, space), which is structure.
fn is_unsafe_raw_in_json(c: char) -> bool {
    (c as u32) >= 0x7f && is_unsafe(c)
}

/// Text for HTML (element content or a quoted attribute value): `&`, `<`,
/// `>`, `"` and `'` as character references, so peer text such as
/// `</script>` stays text; unsafe characters shown as in [`terminal`],
/// since HTML cannot carry most C0 controls at all.
pub fn html(s: &str) -> Cow<'_, str> {
    let shown = terminal(s);
    if !shown.contains(['&', '<', '>', '"', '\'']) {
        return shown;
    }
    let mut out = String::with_capacity(shown.len() + 16);
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ESC sequences (clear screen, OSC title and hyperlink), NUL, DEL, a
    /// C1 CSI, NEL, bidi override and isolate, line ends, a formula,
    /// quotes and markup.
    const PEER: &str = "220 \u{1b}[2J\u{1b}]0;T\u{7}\0\u{7f}\u{9b}31m\u{85}\u{202e}\u{2067}\u{2028}\r\n=cmd|' /C calc'!A0 \"q\" </script>";

    #[test]
    fn terminal_shows_every_unsafe_character_escaped() {
        assert_eq!(terminal("mx.example.test"), "mx.example.test");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(
            terminal(PEER),
            "220 \\x1b[2J\\x1b]0;T\\x07\\x00\\x7f\\u{9b}31m\\u{85}\\u{202e}\\u{2067}\\u{2028}\\r\\n=cmd|' /C calc'!A0 \"q\" </script>"
        );
        assert_eq!(terminal("two\r\nlines\t"), "two\\r\\nlines\\t");
        assert_eq!(
            terminal("\u{61c}\u{200e}\u{200f}\u{202a}\u{2069}"),
            "\\u{61c}\\u{200e}\\u{200f}\\u{202a}\\u{2069}"
        );
        // Letters of every script stay as they are.
        assert_eq!(terminal("ünïcødé مرحبا"), "ünïcødé مرحبا");
    }

    #[test]
    fn replace_unsafe_keeps_only_what_the_format_handles() {
        assert_eq!(
            replace_unsafe(PEER, |c| matches!(c, '\t' | '\r' | '\n')),
            "220 \u{fffd}[2J\u{fffd}]0;T\u{fffd}\u{fffd}\u{fffd}\u{fffd}31m\u{fffd}\u{fffd}\u{fffd}\u{fffd}\r\n=cmd|' /C calc'!A0 \"q\" </script>"
        );
        assert_eq!(replace_unsafe("a\nb", |_| false), "a\u{fffd}b");
        assert!(matches!(replace_unsafe("ok", |_| false), Cow::Borrowed(_)));
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_reads_back_the_same() {
        let value = serde_json::json!({ "banner": PEER });
        for serialized in [
            serde_json::to_string(&value).expect("serialize"),
            serde_json::to_string_pretty(&value).expect("serialize"),
        ] {
            let safe = json(&serialized);
            assert!(!safe.chars().any(is_unsafe_raw_in_json), "{safe}");
            assert!(!safe.contains('\u{1b}') && !safe.contains('\0'));
            let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
            assert_eq!(back, value);
        }
        assert_eq!(
            json(&serde_json::to_string(PEER).expect("serialize")),
            r#""220 \u001b[2J\u001b]0;T\u0007\u0000\u007f\u009b31m\u0085\u202e\u2067\u2028\r\n=cmd|' /C calc'!A0 \"q\" </script>""#
        );
        // A backslash right before an unsafe character stays a backslash.
        assert_eq!(
            json(&serde_json::to_string("\\\u{85}").expect("serialize")),
            r#""\\\u0085""#
        );
    }

    #[test]
    fn html_escapes_markup_and_shows_controls() {
        assert_eq!(
            html(PEER),
            "220 \\x1b[2J\\x1b]0;T\\x07\\x00\\x7f\\u{9b}31m\\u{85}\\u{202e}\\u{2067}\\u{2028}\\r\\n=cmd|&#39; /C calc&#39;!A0 &quot;q&quot; &lt;/script&gt;"
        );
        assert_eq!(html("a & b"), "a &amp; b");
        assert!(matches!(html("mx.example"), Cow::Borrowed(_)));
    }
}
