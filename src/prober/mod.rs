//! Stage 2: one SMTP conversation with one MX address.
//!
//! The dialogue is fixed and polite: wait for the whole banner, `EHLO`
//! (`HELO` only if EHLO is rejected), `STARTTLS` if offered, the TLS
//! handshake with SNI = MX host name, `EHLO` again inside TLS, `QUIT`.
//! Never `MAIL`, `RCPT` or `DATA`. Every step runs under a timeout, every
//! read is bounded ([`smtp`]), and whatever the peer does, [`probe`]
//! returns a [`Probe`] that says how far it got and what stopped it.

pub mod dual;
pub mod injection;
pub mod retransmit;
pub mod scan;
pub mod smtp;
pub mod socket;
pub mod tls;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use serde::Serialize;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::domain::DomainName;
use crate::options::{EhloName, Timeouts};
use crate::vocabulary::{ErrorKind, ErrorPhase};
use retransmit::RttEstimate;
use smtp::{Reply, ReplyError, SmtpStream};
use socket::ProbeSocket;
pub use tls::{TlsFailure, TlsSession};

/// Where to probe: the MX host name (for SNI and name checks) and the
/// socket address actually connected to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeTarget {
    pub host: DomainName,
    pub addr: SocketAddr,
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub timeouts: Timeouts,
    pub ehlo_name: EhloName,
    /// The run's connect round trips, shared by every probe: when a
    /// connect is tried again ([`retransmit`]).
    pub connect_rtt: Arc<RttEstimate>,
    /// TLS from the first byte (`--service submissions`, RFC 8314): the
    /// handshake comes before the banner, and there is no STARTTLS.
    pub implicit_tls: bool,
}

/// The steps of the dialogue, for "what failed where".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Connect,
    Banner,
    Ehlo,
    Helo,
    Starttls,
    TlsHandshake,
    EhloAfterTls,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Banner => "banner",
            Phase::Ehlo => "EHLO",
            Phase::Helo => "HELO",
            Phase::Starttls => "STARTTLS",
            Phase::TlsHandshake => "TLS handshake",
            Phase::EhloAfterTls => "EHLO after TLS",
        })
    }
}

/// What stopped a probe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeErrorKind {
    #[error("connection refused")]
    ConnectionRefused,
    /// The connect failed at once with "network unreachable": this
    /// machine has no route towards the address (no default route, no
    /// IPv6 connectivity). The local set-up, not the partner, when every
    /// address fails so.
    #[error("no route from here to the address's network")]
    NoRoute,
    #[error("timed out after {}", secs(*.0))]
    Timeout(Duration),
    #[error("connection closed by the server")]
    Closed,
    #[error("connection reset by the server")]
    Reset,
    #[error("{0}")]
    Network(String),
    /// The server answered, but with a refusal (421/554 banner, EHLO 4xx, …).
    #[error("refused: {0}")]
    Rejected(Reply),
    #[error("reply line longer than {} bytes", smtp::MAX_LINE)]
    LineTooLong,
    #[error("reply with more than {} lines", smtp::MAX_LINES)]
    TooManyLines,
    #[error("unparseable reply {0}")]
    Unparseable(String),
    /// Bytes arrived after `220` to STARTTLS, before the handshake: either a
    /// man in the middle injecting responses or a broken server. They must
    /// never be read as part of the TLS session (RFC 3207 §4.2).
    #[error(
        "server sent {0} bytes of plaintext after its 220 to STARTTLS (possible response injection)"
    )]
    PlaintextAfterStarttls(usize),
    #[error("TLS handshake failed: {0}")]
    Tls(TlsFailure),
    /// Not contacted: the address timed out earlier in this run (see `--retries`).
    #[error("not contacted: the address timed out earlier in this run")]
    Skipped,
    /// Not contacted because of what the address is: never for
    /// unspecified, broadcast and multicast addresses, and for loopback
    /// and link-local ones only with `--allow-local-addresses`.
    #[error("not probed: {}, where no sender on the internet delivers", .0.describe())]
    NotProbed(crate::vocabulary::AddressClass),
}

/// `3 s`, `1.5 s`: a duration as people write it.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// A probe's failure: which step, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{phase}: {kind}")]
pub struct ProbeError {
    pub phase: Phase,
    pub kind: ProbeErrorKind,
}

/// How the STARTTLS step went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartTls {
    /// The dialogue stopped before the server's extensions were known.
    #[default]
    NotReached,
    /// Not in the EHLO reply (or only HELO worked).
    NotOffered,
    /// Offered, but the STARTTLS command got this reply.
    Refused(Reply),
    /// Offered and answered `220`; see [`Probe::tls`] for the handshake.
    Accepted,
    /// Not used: TLS from the first byte (implicit TLS, RFC 8314, port
    /// 465); see [`Probe::tls`] for the handshake.
    Implicit,
}

/// The server's answer to EHLO (or HELO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// True when EHLO was rejected and HELO was used instead.
    pub helo_fallback: bool,
    /// Extension lines as sent, keyword upper-cased, e.g. `SIZE 10240000`.
    pub extensions: Vec<String>,
}

impl Greeting {
    pub fn offers(&self, keyword: &str) -> bool {
        self.extensions
            .iter()
            .any(|e| e.split_whitespace().next() == Some(keyword))
    }
}

/// Milliseconds each step took (absent: not reached).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Timings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ehlo: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starttls: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_handshake: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ehlo_after_tls: Option<u64>,
    pub total: u64,
}

/// Everything one conversation with one address showed.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// The 220 banner (also set when a 4xx/5xx banner refused us).
    pub banner: Option<Reply>,
    pub greeting: Option<Greeting>,
    pub starttls: StartTls,
    /// Set when the handshake completed.
    pub tls: Option<TlsSession>,
    /// Certificates seen even if the handshake then failed.
    pub presented_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// EHLO inside TLS (RFC 3207 requires it); extensions may differ.
    pub greeting_after_tls: Option<Greeting>,
    pub error: Option<ProbeError>,
    pub timings: Timings,
    /// The protocol scan (`--scan`), on further connections; `None` when
    /// off or when STARTTLS was not accepted.
    pub scan: Option<scan::TlsScan>,
    /// The STARTTLS injection test, on one more connection in every
    /// `--scan` mode; `None` when not run (STARTTLS not accepted, or the
    /// address may not be contacted again).
    pub injection: Option<Result<injection::Injection, injection::InjectionError>>,
    /// The fallback hello ([`scan::openssl_default_hello`]), on one more
    /// connection in every `--scan` mode, only when the main handshake
    /// failed: what an OpenSSL-default sender gets instead.
    pub fallback: Option<scan::Fallback>,
    /// The second hello ([`dual`]), on one more connection in every
    /// `--scan` mode, after a main handshake that showed an RSA or ECDSA
    /// certificate: the server's certificate of the other key type, if
    /// it has one. `None` when not run (or cut off by the address's
    /// manners or budget).
    pub other_certificate: Option<dual::OtherCertificate>,
}

/// Runs the whole dialogue against one address. Never panics on peer
/// input, never exceeds the configured timeouts per step.
pub async fn probe(target: &ProbeTarget, settings: &ProbeSettings) -> Probe {
    let started = Instant::now();
    let mut probe = Probe::default();
    if let Err(error) = converse(target, settings, &mut probe).await {
        probe.error = Some(error);
    }
    probe.timings.total = millis(started.elapsed());
    probe
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs `fut` under `limit`, recording how long it took in `slot`.
async fn timed<T>(
    phase: Phase,
    limit: Duration,
    slot: &mut Option<u64>,
    fut: impl Future<Output = Result<T, ProbeErrorKind>>,
) -> Result<T, ProbeError> {
    let started = Instant::now();
    let result = match timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(ProbeErrorKind::Timeout(limit)),
    };
    *slot = Some(millis(started.elapsed()));
    result.map_err(|kind| ProbeError { phase, kind })
}

fn reply_error(e: ReplyError) -> ProbeErrorKind {
    match e {
        ReplyError::LineTooLong => ProbeErrorKind::LineTooLong,
        ReplyError::TooManyLines => ProbeErrorKind::TooManyLines,
        ReplyError::Unparseable(s) => ProbeErrorKind::Unparseable(s),
        ReplyError::Closed => ProbeErrorKind::Closed,
        ReplyError::Io(e) => io_error(&e),
    }
}

fn io_error(e: &std::io::Error) -> ProbeErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => ProbeErrorKind::ConnectionRefused,
        K::NetworkUnreachable => ProbeErrorKind::NoRoute,
        K::ConnectionReset | K::ConnectionAborted => ProbeErrorKind::Reset,
        K::UnexpectedEof | K::BrokenPipe => ProbeErrorKind::Closed,
        _ => ProbeErrorKind::Network(e.to_string()),
    }
}

/// Sends `command` and reads its reply.
async fn command<S>(conn: &mut SmtpStream<S>, line: &str) -> Result<Reply, ProbeErrorKind>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    conn.send(line).await.map_err(|e| io_error(&e))?;
    conn.read_reply().await.map_err(reply_error)
}

/// EHLO, falling back to HELO only when EHLO is rejected as unknown
/// (5xx): a 4xx is the server asking us to go away, not a dialect problem.
async fn greet<S>(
    conn: &mut SmtpStream<S>,
    name: &str,
    settings: &ProbeSettings,
    timings: &mut Timings,
    phase: Phase,
) -> Result<Greeting, ProbeError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let limit = settings.timeouts.command;
    let slot = match phase {
        Phase::EhloAfterTls => &mut timings.ehlo_after_tls,
        _ => &mut timings.ehlo,
    };
    let reply = timed(phase, limit, slot, command(conn, &format!("EHLO {name}"))).await?;
    // RFC 5321 §4.3.2: the only success for EHLO and HELO is 250.
    if reply.code == 250 {
        let extensions = reply
            .lines
            .iter()
            .skip(1)
            .map(|l| {
                let mut parts = l.trim().splitn(2, ' ');
                let keyword = parts.next().unwrap_or_default().to_ascii_uppercase();
                match parts.next() {
                    Some(params) => format!("{keyword} {}", params.trim()),
                    None => keyword,
                }
            })
            .filter(|l| !l.is_empty())
            .collect();
        return Ok(Greeting {
            helo_fallback: false,
            extensions,
        });
    }
    if reply.is_transient() || phase == Phase::EhloAfterTls {
        return Err(ProbeError {
            phase,
            kind: ProbeErrorKind::Rejected(reply),
        });
    }
    let reply = timed(
        Phase::Helo,
        limit,
        &mut timings.helo,
        command(conn, &format!("HELO {name}")),
    )
    .await?;
    if reply.code == 250 {
        Ok(Greeting {
            helo_fallback: true,
            extensions: Vec::new(),
        })
    } else {
        Err(ProbeError {
            phase: Phase::Helo,
            kind: ProbeErrorKind::Rejected(reply),
        })
    }
}

/// Best-effort QUIT: politeness, never a reason to fail a probe.
async fn quit<S>(conn: &mut SmtpStream<S>, limit: Duration)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let _ = timeout(limit, command(conn, "QUIT")).await;
}

/// Connect, banner, EHLO and STARTTLS on a fresh connection, for the
/// scan and the injection test: the same steps and timeouts as the main
/// dialogue, without its bookkeeping. `starttls` is the line sent for the
/// STARTTLS step (the injection test pipelines a second command behind
/// it). Returns the stream after the 220; bytes still buffered are the
/// caller's to judge. With implicit TLS the stream is returned as soon as
/// it is connected: the next bytes are the ClientHello.
pub(crate) async fn open_starttls(
    target: &ProbeTarget,
    settings: &ProbeSettings,
    starttls: &str,
) -> Result<SmtpStream<ProbeSocket>, ProbeError> {
    let t = settings.timeouts;
    let mut timings = Timings::default();
    let (mut conn, ehlo_name) = connect(target, settings, &mut timings.connect).await?;
    if settings.implicit_tls {
        return Ok(conn);
    }
    await_banner(&mut conn, t, &mut timings.banner, &mut None).await?;
    let greeting = greet(&mut conn, &ehlo_name, settings, &mut timings, Phase::Ehlo).await?;
    if !greeting.offers("STARTTLS") {
        quit(&mut conn, t.command).await;
        return Err(ProbeError {
            phase: Phase::Starttls,
            kind: ProbeErrorKind::Unparseable("STARTTLS is no longer offered".into()),
        });
    }
    let reply = timed(
        Phase::Starttls,
        t.command,
        &mut timings.starttls,
        command(&mut conn, starttls),
    )
    .await?;
    if reply.code != 220 {
        quit(&mut conn, t.command).await;
        return Err(ProbeError {
            phase: Phase::Starttls,
            kind: ProbeErrorKind::Rejected(reply),
        });
    }
    Ok(conn)
}

/// The TCP connection to the target (timed into `elapsed`, phase
/// `connect`) and the EHLO name for its local address.
async fn connect(
    target: &ProbeTarget,
    settings: &ProbeSettings,
    elapsed: &mut Option<u64>,
) -> Result<(SmtpStream<ProbeSocket>, String), ProbeError> {
    let tcp = timed(Phase::Connect, settings.timeouts.connect, elapsed, async {
        ProbeSocket::connect(
            target.addr,
            &settings.connect_rtt,
            settings.timeouts.connect,
        )
        .await
        .map_err(|e| io_error(&e))
    })
    .await?;
    let local_ip = tcp
        .local_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let ehlo_name = settings.ehlo_name.for_local_addr(local_ip);
    Ok((SmtpStream::new(tcp), ehlo_name))
}

async fn converse(
    target: &ProbeTarget,
    settings: &ProbeSettings,
    probe: &mut Probe,
) -> Result<(), ProbeError> {
    let t = settings.timeouts;
    let (mut conn, ehlo_name) = connect(target, settings, &mut probe.timings.connect).await?;
    if settings.implicit_tls {
        return converse_in_tls(target, settings, probe, conn, &ehlo_name).await;
    }

    // Never speak before the complete banner: postscreen and friends drop
    // clients that talk early ("554 SMTP synchronization error").
    await_banner(&mut conn, t, &mut probe.timings.banner, &mut probe.banner).await?;

    let greeting = greet(
        &mut conn,
        &ehlo_name,
        settings,
        &mut probe.timings,
        Phase::Ehlo,
    )
    .await?;
    let offered = greeting.offers("STARTTLS");
    probe.greeting = Some(greeting);
    if !offered {
        probe.starttls = StartTls::NotOffered;
        quit(&mut conn, t.command).await;
        return Ok(());
    }

    let reply = timed(
        Phase::Starttls,
        t.command,
        &mut probe.timings.starttls,
        command(&mut conn, "STARTTLS"),
    )
    .await?;
    if reply.code != 220 {
        probe.starttls = StartTls::Refused(reply);
        quit(&mut conn, t.command).await;
        return Ok(());
    }
    probe.starttls = StartTls::Accepted;
    if conn.buffered() > 0 {
        return Err(ProbeError {
            phase: Phase::Starttls,
            kind: ProbeErrorKind::PlaintextAfterStarttls(conn.buffered()),
        });
    }

    let tls_stream = handshake(target, settings, probe, conn.into_inner()).await?;

    // RFC 3207 §4.2: forget everything learnt before TLS and greet again.
    greet_in_tls(SmtpStream::new(tls_stream), &ehlo_name, settings, probe).await
}

/// The main TLS handshake on `tcp` (after STARTTLS, or at once for
/// implicit TLS), SNI = the target host; the session, or the chain seen
/// before it failed, goes into `probe`.
async fn handshake(
    target: &ProbeTarget,
    settings: &ProbeSettings,
    probe: &mut Probe,
    tcp: ProbeSocket,
) -> Result<tokio_rustls::client::TlsStream<ProbeSocket>, ProbeError> {
    let verifier = tls::RecordingVerifier::new(tls::provider());
    let handshake_error = |kind| ProbeError {
        phase: Phase::TlsHandshake,
        kind,
    };
    let config = tls::client_config(verifier.clone())
        .map_err(|e| handshake_error(ProbeErrorKind::Tls(TlsFailure::Other(e.to_string()))))?;
    let server_name = ServerName::try_from(target.host.as_str().to_string()).map_err(|_| {
        handshake_error(ProbeErrorKind::Tls(TlsFailure::InvalidServerName(
            target.host.to_string(),
        )))
    })?;
    let connector = TlsConnector::from(Arc::new(config));
    let handshake = timed(
        Phase::TlsHandshake,
        settings.timeouts.handshake,
        &mut probe.timings.tls_handshake,
        async {
            connector
                .connect(server_name, tcp)
                .await
                .map_err(|e| ProbeErrorKind::Tls(TlsFailure::from_io(&e)))
        },
    )
    .await;
    let tls_stream = match handshake {
        Ok(s) => s,
        Err(e) => {
            probe.presented_chain = verifier.presented().map(|p| p.chain).unwrap_or_default();
            return Err(e);
        }
    };
    probe.tls = Some(
        TlsSession::from_connection(tls_stream.get_ref().1, verifier.presented())
            .map_err(|e| handshake_error(ProbeErrorKind::Tls(e)))?,
    );
    Ok(tls_stream)
}

/// Implicit TLS (RFC 8314 §3.3): the handshake first, then the banner and
/// EHLO inside TLS, which is the only greeting (there is no STARTTLS, and
/// no HELO fallback: a server on 465 speaks ESMTP).
async fn converse_in_tls(
    target: &ProbeTarget,
    settings: &ProbeSettings,
    probe: &mut Probe,
    conn: SmtpStream<ProbeSocket>,
    ehlo_name: &str,
) -> Result<(), ProbeError> {
    let t = settings.timeouts;
    probe.starttls = StartTls::Implicit;
    let tls_stream = handshake(target, settings, probe, conn.into_inner()).await?;
    let mut conn = SmtpStream::new(tls_stream);
    await_banner(&mut conn, t, &mut probe.timings.banner, &mut probe.banner).await?;
    greet_in_tls(conn, ehlo_name, settings, probe).await
}

/// The complete banner, under `--banner-timeout` (timed into `slot`,
/// kept in `seen`); anything but 220 is a refusal, answered with QUIT.
async fn await_banner<S>(
    conn: &mut SmtpStream<S>,
    t: Timeouts,
    slot: &mut Option<u64>,
    seen: &mut Option<Reply>,
) -> Result<(), ProbeError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let banner = timed(Phase::Banner, t.banner, slot, async {
        conn.read_reply().await.map_err(reply_error)
    })
    .await?;
    *seen = Some(banner.clone());
    if banner.code != 220 {
        quit(conn, t.command).await;
        return Err(ProbeError {
            phase: Phase::Banner,
            kind: ProbeErrorKind::Rejected(banner),
        });
    }
    Ok(())
}

/// EHLO inside TLS (after STARTTLS, or the only one with implicit TLS),
/// QUIT, and the TLS close, each bounded by `--timeout`.
async fn greet_in_tls(
    mut conn: SmtpStream<tokio_rustls::client::TlsStream<ProbeSocket>>,
    ehlo_name: &str,
    settings: &ProbeSettings,
    probe: &mut Probe,
) -> Result<(), ProbeError> {
    let t = settings.timeouts;
    let greeting = greet(
        &mut conn,
        ehlo_name,
        settings,
        &mut probe.timings,
        Phase::EhloAfterTls,
    )
    .await?;
    probe.greeting_after_tls = Some(greeting);
    quit(&mut conn, t.command).await;
    let mut tls_stream = conn.into_inner();
    let _ = timeout(
        t.command,
        tokio::io::AsyncWriteExt::shutdown(&mut tls_stream),
    )
    .await;
    Ok(())
}

impl From<Phase> for ErrorPhase {
    fn from(p: Phase) -> Self {
        match p {
            Phase::Connect => ErrorPhase::Connect,
            Phase::Banner => ErrorPhase::Banner,
            Phase::Ehlo => ErrorPhase::Ehlo,
            Phase::Helo => ErrorPhase::Helo,
            Phase::Starttls => ErrorPhase::Starttls,
            Phase::TlsHandshake => ErrorPhase::TlsHandshake,
            Phase::EhloAfterTls => ErrorPhase::EhloAfterTls,
        }
    }
}

impl ProbeErrorKind {
    /// The stable kind id, for the JSON `error.kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProbeErrorKind::ConnectionRefused => ErrorKind::ConnectionRefused,
            ProbeErrorKind::NoRoute => ErrorKind::NoRoute,
            ProbeErrorKind::Timeout(_) => ErrorKind::Timeout,
            ProbeErrorKind::Closed => ErrorKind::Closed,
            ProbeErrorKind::Reset => ErrorKind::Reset,
            ProbeErrorKind::Network(_) => ErrorKind::Network,
            ProbeErrorKind::Rejected(_) => ErrorKind::Rejected,
            ProbeErrorKind::LineTooLong => ErrorKind::LineTooLong,
            ProbeErrorKind::TooManyLines => ErrorKind::TooManyLines,
            ProbeErrorKind::Unparseable(_) => ErrorKind::Unparseable,
            ProbeErrorKind::PlaintextAfterStarttls(_) => ErrorKind::PlaintextAfterStarttls,
            ProbeErrorKind::Tls(_) => ErrorKind::Tls,
            ProbeErrorKind::Skipped => ErrorKind::Skipped,
            ProbeErrorKind::NotProbed(_) => ErrorKind::NotProbed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Network unreachable" at connect is this machine's missing route,
    /// a set-up error; the other connect failures stay the partner's.
    #[test]
    fn network_unreachable_is_no_route_and_a_set_up_error() {
        use std::io::{Error, ErrorKind as K};
        let kind = io_error(&Error::from(K::NetworkUnreachable));
        assert_eq!(kind, ProbeErrorKind::NoRoute);
        assert_eq!(kind.kind(), ErrorKind::NoRoute);
        assert!(kind.kind().is_setup() && kind.kind().is_transient());
        let refused = io_error(&Error::from(K::ConnectionRefused));
        assert!(!refused.kind().is_setup());
        assert!(!io_error(&Error::from(K::HostUnreachable)).kind().is_setup());
    }
}
