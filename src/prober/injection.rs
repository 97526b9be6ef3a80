//! The STARTTLS command-injection test (CVE-2011-0411 and its kin).
//!
//! On its own connection, `STARTTLS\r\nNOOP\r\n` goes out in one write. A
//! correct server answers STARTTLS with 220 and throws away whatever was
//! pipelined behind it (RFC 3207 §4.2). A vulnerable one keeps the NOOP in
//! its input buffer and answers it *inside* the TLS session, where an
//! attacker who injected plaintext commands would have them run as if the
//! client had sent them over TLS.
//!
//! Inside TLS the client says EHLO (as it must) and reads the first reply:
//! a multi-line 250 is the EHLO answer, so the NOOP was discarded. A
//! single-line reply may be the NOOP's: if a second reply follows without
//! anything more being sent, it was.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::smtp::{Reply, SmtpStream};
use super::{ProbeError, ProbeSettings, ProbeTarget, tls};

/// How long to wait for a second reply after a single-line one. The
/// injected reply, if any, was sent before the EHLO answer, so this only
/// has to cover the EHLO reply's round trip.
const SECOND_REPLY_WAIT: Duration = Duration::from_secs(2);

/// What the server did with the pipelined NOOP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injection {
    /// Thrown away, as RFC 3207 requires: not vulnerable.
    Discarded,
    /// Answered in plain text right after the 220, before any TLS: not the
    /// vulnerability (the command never reaches the TLS session), but the
    /// server does not follow RFC 3207 §4.2 either. The test stops there.
    AnsweredInPlaintext(Reply),
    /// Answered inside the TLS session: vulnerable.
    Vulnerable(Reply),
}

/// Why the test could not tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectionError {
    #[error("{0}")]
    Smtp(ProbeError),
    #[error("TLS handshake failed: {0}")]
    Handshake(tls::TlsFailure),
    #[error("{0}")]
    Reply(String),
    #[error("timed out after {}", super::secs(*.0))]
    Timeout(Duration),
}

/// Runs the test on a fresh connection.
pub async fn check(
    target: &ProbeTarget,
    settings: &ProbeSettings,
) -> Result<Injection, InjectionError> {
    let t = settings.timeouts;
    // `send` adds the final CRLF: both commands leave in one write.
    let mut conn = super::open_starttls(target, settings, "STARTTLS\r\nNOOP")
        .await
        .map_err(InjectionError::Smtp)?;
    if conn.buffered() > 0 {
        // Whatever followed the 220 in plain text is the NOOP's answer.
        let reply = timeout(t.command, conn.read_reply())
            .await
            .map_err(|_| InjectionError::Timeout(t.command))?
            .map_err(|e| InjectionError::Reply(e.to_string()))?;
        super::quit(&mut conn, t.command).await;
        return Ok(Injection::AnsweredInPlaintext(reply));
    }
    let verifier = tls::RecordingVerifier::new(tls::provider());
    let config = tls::client_config(verifier)
        .map_err(|e| InjectionError::Handshake(tls::TlsFailure::Other(e.to_string())))?;
    let server_name = ServerName::try_from(target.host.as_str().to_string()).map_err(|_| {
        InjectionError::Handshake(tls::TlsFailure::InvalidServerName(target.host.to_string()))
    })?;
    let tcp = conn.into_inner();
    let stream = timeout(
        t.handshake,
        TlsConnector::from(Arc::new(config)).connect(server_name, tcp),
    )
    .await
    .map_err(|_| InjectionError::Timeout(t.handshake))?
    .map_err(|e| InjectionError::Handshake(tls::TlsFailure::from_io(&e)))?;
    let mut conn = SmtpStream::new(stream);
    let ehlo_name = settings.ehlo_name.for_local_addr(
        conn.get_ref()
            .get_ref()
            .0
            .local_addr()
            .map(|a| a.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
    );
    timeout(t.command, conn.send(&format!("EHLO {ehlo_name}")))
        .await
        .map_err(|_| InjectionError::Timeout(t.command))?
        .map_err(|e| InjectionError::Reply(e.to_string()))?;
    let first = read_within(&mut conn, t.command).await?;
    let outcome = if first.lines.len() > 1 {
        Injection::Discarded
    } else {
        // A single-line reply: the NOOP's, if the EHLO answer follows.
        let wait = SECOND_REPLY_WAIT.min(t.command);
        match read_within(&mut conn, wait).await {
            Ok(_) => Injection::Vulnerable(first),
            Err(InjectionError::Timeout(_)) => Injection::Discarded,
            Err(e) => return Err(e),
        }
    };
    super::quit(&mut conn, t.command).await;
    let mut stream = conn.into_inner();
    let _ = timeout(t.command, tokio::io::AsyncWriteExt::shutdown(&mut stream)).await;
    Ok(outcome)
}

/// One reply within `limit`.
async fn read_within<S>(conn: &mut SmtpStream<S>, limit: Duration) -> Result<Reply, InjectionError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    timeout(limit, conn.read_reply())
        .await
        .map_err(|_| InjectionError::Timeout(limit))?
        .map_err(|e| InjectionError::Reply(e.to_string()))
}
