//! The SMTP wire: reading replies with hard bounds, writing commands.
//!
//! A peer can send anything: endless lines, thousands of continuation
//! lines, binary junk. [`SmtpStream::read_reply`] keeps at most
//! [`MAX_LINE`] bytes buffered and at most [`MAX_LINES`] lines per reply,
//! so memory stays bounded whatever arrives. Time is bounded by the caller,
//! which wraps every read in a timeout for the whole reply (a peer that
//! trickles one byte a second still hits it).

use std::fmt;
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest reply line we accept, CRLF included. RFC 5321 §4.5.3.1.5 allows
/// 512 octets; real servers exceed that a little, nothing legitimate
/// comes near 4 KiB.
pub const MAX_LINE: usize = 4096;
/// Most lines in one reply. EHLO replies have a few dozen at most.
pub const MAX_LINES: usize = 128;

/// One complete SMTP reply: a code and its text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Text after `NNN-` / `NNN ` of each line, in order.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// Transient failure (4xx): the server asks to try later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The reply as one line, e.g. `421 4.7.0 too many connections`, for reports.
    pub fn summary(&self) -> String {
        let text = self.lines.join(" / ");
        let text = text.trim();
        if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {}", self.code, truncate(text, 200))
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Why a reply could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("reply with more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("unparseable reply: {0}")]
    Unparseable(String),
    #[error("connection closed by the server")]
    Closed,
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A connection speaking SMTP: a transport plus a bounded read buffer.
pub struct SmtpStream<S> {
    io: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> SmtpStream<S> {
    pub fn new(io: S) -> Self {
        SmtpStream {
            io,
            buf: Vec::with_capacity(1024),
        }
    }

    /// Reads one complete (possibly multi-line) reply.
    pub async fn read_reply(&mut self) -> Result<Reply, ReplyError> {
        let mut code = None;
        let mut lines = Vec::new();
        loop {
            let raw = self.read_line().await?;
            let (line_code, last, text) = parse_line(&raw)?;
            match code {
                None => code = Some(line_code),
                Some(c) if c != line_code => {
                    return Err(ReplyError::Unparseable(format!(
                        "reply mixes codes {c} and {line_code}"
                    )));
                }
                Some(_) => {}
            }
            if lines.len() == MAX_LINES {
                return Err(ReplyError::TooManyLines);
            }
            lines.push(text);
            if last {
                return Ok(Reply {
                    code: line_code,
                    lines,
                });
            }
        }
    }

    /// Sends one command line; CRLF is added here.
    pub async fn send(&mut self, command: &str) -> io::Result<()> {
        let mut line = Vec::with_capacity(command.len() + 2);
        line.extend_from_slice(command.as_bytes());
        line.extend_from_slice(b"\r\n");
        self.io.write_all(&line).await?;
        self.io.flush().await
    }

    /// Bytes received but not yet consumed as a reply.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The transport, for the TLS handshake. Callers check [`Self::buffered`]
    /// first: anything still buffered would be lost.
    pub fn into_inner(self) -> S {
        self.io
    }

    /// One line without its line ending. Accepts bare LF, as lenient
    /// clients do; the reply parser then judges the content.
    async fn read_line(&mut self) -> Result<Vec<u8>, ReplyError> {
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop(); // '\n'
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            scanned = self.buf.len();
            if self.buf.len() >= MAX_LINE {
                return Err(ReplyError::LineTooLong);
            }
            // Never read past the line limit, so the buffer is bounded.
            let mut chunk = [0u8; 2048];
            let room = (MAX_LINE - self.buf.len()).min(chunk.len());
            let n = self.io.read(&mut chunk[..room]).await?;
            if n == 0 {
                return Err(ReplyError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Splits `NNN-text` / `NNN text` / `NNN` into (code, is_last, text).
fn parse_line(raw: &[u8]) -> Result<(u16, bool, String), ReplyError> {
    let digits = raw
        .get(..3)
        .filter(|d| d.iter().all(u8::is_ascii_digit) && (b'2'..=b'5').contains(&d[0]));
    let Some(digits) = digits else {
        return Err(ReplyError::Unparseable(excerpt(raw)));
    };
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    let (last, text) = match raw.get(3) {
        None => (true, &raw[3..3]),
        Some(b' ') => (true, &raw[4..]),
        Some(b'-') => (false, &raw[4..]),
        Some(_) => return Err(ReplyError::Unparseable(excerpt(raw))),
    };
    Ok((
        code,
        last,
        String::from_utf8_lossy(text).trim_end().to_string(),
    ))
}

/// A printable excerpt of bytes from the wire for an error message.
pub fn excerpt(raw: &[u8]) -> String {
    let shown: String = raw
        .iter()
        .take(40)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if raw.len() > 40 {
        format!("\"{shown}…\"")
    } else {
        format!("\"{shown}\"")
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn replies(input: &[u8]) -> Vec<Result<Reply, String>> {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let data = input.to_vec();
        let writer = tokio::spawn(async move {
            let _ = client.write_all(&data).await;
            drop(client);
        });
        let mut stream = SmtpStream::new(server);
        let mut out = Vec::new();
        loop {
            match stream.read_reply().await {
                Ok(r) => out.push(Ok(r)),
                Err(ReplyError::Closed) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        // The peer may still be writing (endless input): stop it.
        drop(stream);
        writer.abort();
        out
    }

    #[tokio::test]
    async fn single_and_multiline_replies() {
        let got = replies(
            b"220 mx.example ESMTP\r\n250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n221\r\n",
        )
        .await;
        assert_eq!(got.len(), 3);
        let ehlo = got[1].as_ref().expect("ehlo");
        assert_eq!(ehlo.code, 250);
        assert_eq!(ehlo.lines, vec!["mx.example", "PIPELINING", "STARTTLS"]);
        assert_eq!(got[2].as_ref().expect("221").lines, vec![""]);
    }

    #[tokio::test]
    async fn bare_lf_is_accepted() {
        let got = replies(b"220 hi\n").await;
        assert_eq!(got[0].as_ref().expect("reply").summary(), "220 hi");
    }

    #[tokio::test]
    async fn garbage_is_unparseable() {
        for junk in [
            &b"\x00\xff\xfeHELLO\r\n"[..],
            b"hello world\r\n",
            b"2x0 no\r\n",
            b"220x\r\n",
            b"999 no\r\n",
        ] {
            let got = replies(junk).await;
            assert!(
                matches!(&got[0], Err(e) if e.starts_with("unparseable")),
                "{junk:?}: {got:?}"
            );
        }
    }

    #[tokio::test]
    async fn mixed_codes_are_unparseable() {
        let got = replies(b"250-a\r\n220 b\r\n").await;
        assert!(matches!(&got[0], Err(e) if e.contains("mixes codes")));
    }

    #[tokio::test]
    async fn endless_line_is_bounded() {
        let mut data = b"220 ".to_vec();
        data.extend(std::iter::repeat_n(b'a', 100_000));
        let got = replies(&data).await;
        assert!(
            matches!(&got[0], Err(e) if e.contains("longer than")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn too_many_lines_is_bounded() {
        let data = b"220-x\r\n".repeat(MAX_LINES + 5);
        let got = replies(&data).await;
        assert!(
            matches!(&got[0], Err(e) if e.contains("more than")),
            "{got:?}"
        );
    }

    #[test]
    fn excerpts_are_printable() {
        assert_eq!(excerpt(b"\x00ab\xff"), "\"\\x00ab\\xff\"");
        assert!(excerpt(&[b'x'; 100]).ends_with("…\""));
    }
}
