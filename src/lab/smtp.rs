//! An in-process SMTP server with knobs, listening on loopback only.
//!
//! It speaks just enough SMTP for a STARTTLS prober (greeting, EHLO/HELO,
//! STARTTLS, NOOP, RSET, QUIT) and refuses to take mail. Each knob in
//! [`Behaviour`] reproduces one thing real servers do, good or bad, so that
//! tests can check the prober's verdict and that it survives them.
//!
//! Everything a client sends is recorded in a shared transcript
//! ([`SmtpServer::commands`]) so a test can assert what the prober said, and
//! in particular what it never said (MAIL, RCPT, DATA).
//!
//! The server runs on the tokio runtime of the test that starts it. When the
//! binary under test is run as a child process, do not block that runtime
//! while waiting for it: use `#[tokio::test(flavor = "multi_thread")]` or
//! run the child with `tokio::task::spawn_blocking`.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::pki::ServerCert;
use super::server::{Log, accept_loop};

/// Longest command line we buffer. RFC 5321 allows 512 octets; a little
/// slack, but a client sending an endless line must not make us allocate
/// without bound.
const MAX_LINE: usize = 2048;

/// How much a client may send before the greeting that we keep (to answer
/// it afterwards); beyond that it is read and thrown away.
const MAX_EARLY_BYTES: usize = 2 * MAX_LINE;

/// A running lab SMTP server. Dropping it stops the listener and every
/// connection.
pub struct SmtpServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

/// How the server behaves, for every connection it accepts.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// Used in the banner, "220 <hostname> ESMTP lab", and EHLO reply.
    pub hostname: String,
    pub banner: Banner,
    pub ehlo: Ehlo,
    pub starttls: StartTls,
    /// Served after STARTTLS. With [`StartTls::Offered`] and no certificate,
    /// STARTTLS is answered with 454.
    pub cert: Option<ServerCert>,
    /// What happens to commands pipelined behind STARTTLS.
    pub pipelined: Pipelined,
    /// A fake legacy TLS stack beside rustls: ClientHellos without the
    /// `supported_versions` extension (the scan's hand-built TLS ≤ 1.2
    /// hellos) get canned answers from it; hellos with it (rustls's, the
    /// scan's TLS 1.3 one) still go to rustls.
    pub legacy: Option<Legacy>,
    /// AUTH in the EHLO reply, as a submission server advertises it.
    pub auth: Auth,
}

/// Where AUTH is advertised. The server never accepts a login: an AUTH
/// command is recorded and answered 535.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Auth {
    /// Not advertised (an MX host).
    #[default]
    None,
    /// `AUTH <mechanisms>` inside TLS only (Postfix smtpd_tls_auth_only).
    InsideTls(Vec<String>),
    /// `AUTH <mechanisms>` before STARTTLS and inside TLS.
    BeforeTls(Vec<String>),
}

/// Commands a client pipelines behind STARTTLS (`STARTTLS\r\nNOOP\r\n`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Pipelined {
    /// Thrown away with the plaintext buffer, as RFC 3207 §4.2 requires.
    #[default]
    Discarded,
    /// Kept and fed into the TLS session, where they are answered as if
    /// sent over TLS: the CVE-2011-0411 bug.
    AnsweredInTls,
    /// Answered in plain text in the same write as the 220 (then TLS).
    AnsweredInPlaintext,
}

/// What the fake legacy stack accepts. It answers with a ServerHello
/// (with renegotiation_info when asked), a ServerKeyExchange for DHE
/// (a `dhe_bits` prime) and ECDHE (secp256r1) suites, and a
/// ServerHelloDone, then closes: enough for the scan, never a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Legacy {
    /// Wire versions accepted (0x0300 SSLv3 … 0x0303 TLS 1.2).
    pub versions: Vec<u16>,
    /// Suites accepted, in the server's order of preference (it enforces
    /// it).
    pub suites: Vec<u16>,
    /// Size of the DHE prime.
    pub dhe_bits: usize,
    /// The legacy stack is the server's only one: a hello that offers TLS
    /// 1.3 (`supported_versions`, as rustls always sends) gets a
    /// protocol_version alert instead of a rustls session.
    pub only: bool,
}

impl Behaviour {
    /// A well-configured server: normal greeting, STARTTLS offered, `cert`
    /// served.
    pub fn good(hostname: &str, cert: ServerCert) -> Self {
        Behaviour {
            hostname: hostname.to_owned(),
            banner: Banner::Normal,
            ehlo: Ehlo::Normal,
            starttls: StartTls::Offered,
            cert: Some(cert),
            pipelined: Pipelined::Discarded,
            legacy: None,
            auth: Auth::None,
        }
    }

    /// A plaintext-only server: STARTTLS is not offered.
    pub fn plain(hostname: &str) -> Self {
        Behaviour {
            hostname: hostname.to_owned(),
            banner: Banner::Normal,
            ehlo: Ehlo::Normal,
            starttls: StartTls::NotOffered,
            cert: None,
            pipelined: Pipelined::Discarded,
            legacy: None,
            auth: Auth::None,
        }
    }
}

/// The greeting. A client that sends anything before the greeting is
/// complete is recorded as an early talker, whatever the variant (so with
/// the variants that never complete it, anything the client sends counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Banner {
    /// `220 host ESMTP lab`
    Normal,
    /// `220-host ESMTP lab`, `220-second line`, `220 third`
    Multiline,
    /// Waits, then greets normally, like postscreen's greet delay. A client
    /// that talks during the wait gets `554 5.5.1` to every command but QUIT.
    Delayed(Duration),
    /// `421 4.7.0 host too many connections, try later`, then close.
    Reject421,
    /// `554 5.7.1 host no SMTP service here`, then close.
    Reject554,
    /// `220 ` followed by an endless stream of `a`, never a line end, as
    /// fast as the client reads.
    EndlessLine,
    /// `220 host ESMTP lab` one byte per second, then more bytes at that
    /// pace forever: the line never ends.
    Trickle,
    /// About 200 bytes of binary junk (with NUL, 0xff and a CRLF), then
    /// close.
    Garbage,
    /// Never says anything; holds the connection until the client closes.
    Silent,
    /// `220-line` 10 000 times and never a final line; then holds the
    /// connection until the client closes.
    TooManyLines,
}

/// How EHLO is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
// `RejectEhlo` says what happens to EHLO, which reads better than the lint.
#[allow(clippy::enum_variant_names)]
pub enum Ehlo {
    Normal,
    /// 502 to EHLO (an RFC 821-only server); HELO still gets 250.
    RejectEhlo,
    /// 502 to EHLO, and a (wrong) 220 to HELO: not a greeting.
    RejectEhloHelo220,
    /// The normal EHLO reply with these lines inserted after the greeting
    /// line, sent as given: peer text for the output-safety tests (escape
    /// sequences, NUL, quotes, markup; a bare CR, but no LF, which would
    /// end the line).
    ExtraLines(Vec<String>),
    /// The normal reply, plus REQUIRETLS (RFC 8689) in the reply inside
    /// TLS only, where RFC 8689 §2 has a server advertise it.
    RequireTls,
}

/// How STARTTLS is advertised and answered.
#[derive(Clone, Debug, PartialEq, Eq)]
// `CloseOnStartTls` reads better than the lint's preference.
#[allow(clippy::enum_variant_names)]
pub enum StartTls {
    /// Advertised; `220 2.0.0 Ready to start TLS`, TLS with the
    /// certificate, then SMTP inside TLS (where EHLO no longer advertises
    /// STARTTLS).
    Offered,
    /// Implicit TLS (RFC 8314, port 465): the TLS handshake with the
    /// certificate first, then the greeting and the dialogue inside TLS.
    Implicit,
    /// Not advertised; the command anyway gets `502 5.5.1 not implemented`.
    NotOffered,
    /// Advertised, but the command gets
    /// `454 4.7.0 TLS not available due to local problem`.
    Refused454,
    /// Advertised, but the server closes the connection on the command,
    /// without a reply.
    CloseOnStartTls,
    /// Advertised and answered with 220 followed, in the same write, by
    /// plaintext (`this is not TLS`) instead of a ServerHello; then closes.
    HandshakeGarbage,
    /// Answered with 220, then silence: the ClientHello is read and never
    /// answered (a stalled handshake), until the client goes away.
    StallHandshake,
    /// Advertised and answered with 220; the server reads the ClientHello
    /// and answers it with a plaintext SMTP reply, then closes.
    NotTlsAfterHello,
    /// Advertised and answered with 220; the server reads the ClientHello
    /// and answers with a fatal TLS alert of this description (70 =
    /// protocol_version, what a TLS 1.0-only server sends a TLS 1.2+
    /// client; 40 = handshake_failure), then closes.
    TlsAlert(u8),
    /// Advertised and answered with 220; the server reads the ClientHello
    /// and then resets the connection (TCP RST, not a FIN): a stack that
    /// crashed mid-handshake, or a middlebox killing the session.
    ResetMidHandshake,
}

/// What all connections of one server share.
struct Shared {
    behaviour: Behaviour,
    /// Built once from `behaviour.cert`.
    tls: Option<TlsAcceptor>,
    commands: Log,
    early_talker: AtomicBool,
    connections: AtomicUsize,
}

impl Shared {
    fn record(&self, line: &str) {
        self.commands.push(line.to_owned());
    }
}

impl SmtpServer {
    /// Binds 127.0.0.1 on a free port and serves every connection with
    /// `behaviour` until dropped.
    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), behaviour)
            .await
            .expect("bind a loopback port for the lab SMTP server")
    }

    /// Binds `addr` (e.g. `[::1]:PORT` to serve the port of another server
    /// on IPv6 too) and serves every connection with `behaviour` until
    /// dropped.
    pub async fn start_on(addr: SocketAddr, behaviour: Behaviour) -> io::Result<Self> {
        super::server::may_listen_on(addr.ip())?;
        Self::serve_on(addr, behaviour).await
    }

    /// Binds `addr`, an address of a network namespace the caller made
    /// for itself (the WAN benchmark's, behind a veth pair with netem), and
    /// serves as [`SmtpServer::start_on`], which it is: outside such a
    /// namespace only loopback is accepted.
    pub async fn start_in_netns(addr: SocketAddr, behaviour: Behaviour) -> io::Result<Self> {
        Self::start_on(addr, behaviour).await
    }

    async fn serve_on(addr: SocketAddr, behaviour: Behaviour) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let tls = behaviour
            .cert
            .as_ref()
            .map(|cert| TlsAcceptor::from(cert.server_config()));
        let shared = Arc::new(Shared {
            behaviour,
            tls,
            commands: Log::default(),
            early_talker: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(listener, {
            let shared = shared.clone();
            move |stream| {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                async move {
                    // An error is the client hanging up or misbehaving,
                    // which is what the lab is for: just end the
                    // connection.
                    let _ = serve(stream, &shared).await;
                }
            }
        }));
        Ok(SmtpServer {
            addr,
            shared,
            accept_task,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every command line received (line end stripped), over all
    /// connections, in arrival order, including those sent inside TLS and
    /// those answered with an error. Lines over the length cap are not
    /// recorded.
    pub fn commands(&self) -> Vec<String> {
        self.shared.commands.lines()
    }

    /// Whether any client sent bytes before the greeting was complete.
    pub fn saw_early_talker(&self) -> bool {
        self.shared.early_talker.load(Ordering::SeqCst)
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Forgets the transcript so far (see [`Log::clear`]).
    pub fn forget_commands(&self) {
        self.shared.commands.clear();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // The connection tasks live in the accept task's JoinSet: dropping
        // the set when this task is cancelled aborts all of them.
        self.accept_task.abort();
    }
}

/// How the plaintext or TLS dialogue ended.
enum Next {
    /// The connection is over (QUIT, client hung up, or we closed it).
    Done,
    /// The client asked for STARTTLS and we said 220: hand over to TLS.
    StartTls,
}

async fn serve(mut tcp: TcpStream, shared: &Shared) -> io::Result<()> {
    if shared.behaviour.starttls == StartTls::Implicit {
        let Some(acceptor) = &shared.tls else {
            // Like a server without its certificate: nothing to say.
            return Ok(());
        };
        let mut tls = acceptor.accept(tcp).await?;
        if !write_greeting(&mut tls, &shared.behaviour).await? {
            return Ok(());
        }
        let mut secure = LineConn::new(tls, Vec::new());
        dialogue(&mut secure, shared, true, false).await?;
        return Ok(());
    }
    let Some(early) = greet(&mut tcp, shared).await? else {
        return Ok(());
    };
    let is_early_talker = !early.is_empty();

    let mut plain = LineConn::new(tcp, early);
    if let Next::Done = dialogue(&mut plain, shared, false, is_early_talker).await? {
        return Ok(());
    }

    let (mut tcp, leftover) = plain.into_parts();
    if shared.behaviour.starttls == StartTls::ResetMidHandshake {
        let mut hello = [0u8; 512];
        let _ = tcp.read(&mut hello).await;
        // SO_LINGER 0: closing sends RST instead of FIN. Harmless here: a
        // zero linger never blocks on close.
        tcp.set_zero_linger()?;
        drop(tcp);
        return Ok(());
    }
    let Some(acceptor) = &shared.tls else {
        unreachable!("dialogue() only hands over to TLS when a certificate is configured")
    };
    if let Some(legacy) = &shared.behaviour.legacy
        && let Some(hello) = peek_client_hello(&mut tcp).await
    {
        if !hello.supported_versions {
            return answer_legacy(tcp, legacy, &hello).await;
        }
        if legacy.only {
            let mut sink = vec![0u8; 16 * 1024 + 5];
            let _ = tcp.read(&mut sink).await?;
            // protocol_version: nothing at TLS 1.2 or above is spoken here.
            tcp.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70])
                .await?;
            let _ = tcp.shutdown().await;
            return Ok(());
        }
    }
    // Anything the client pipelined after STARTTLS is dropped with the
    // plaintext buffer, as RFC 3207 requires; unless this server has the
    // bug, and keeps it for the TLS session.
    let carried = match shared.behaviour.pipelined {
        Pipelined::AnsweredInTls => leftover,
        _ => Vec::new(),
    };
    let tls = acceptor.accept(tcp).await?;
    let mut secure = LineConn::new(tls, carried);
    dialogue(&mut secure, shared, true, false).await?;
    Ok(())
}

/// What the fake legacy stack needs from a ClientHello.
struct Hello {
    version: u16,
    suites: Vec<u16>,
    supported_versions: bool,
    renegotiation: bool,
}

/// Waits (up to 5 s) until the whole first record is in the socket
/// buffer, and parses it without consuming it, so rustls can still read it.
async fn peek_client_hello(tcp: &mut TcpStream) -> Option<Hello> {
    use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};
    let mut buf = vec![0u8; 16 * 1024 + 5];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let n = loop {
        let n = tcp.peek(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        if n >= 5 && n >= 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]])) {
            break n;
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let (_, record) = tls_parser::parse_tls_plaintext(&buf[..n]).ok()?;
    let Some(TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch))) = record.msg.first()
    else {
        return None;
    };
    let extensions = ch
        .ext
        .and_then(|e| tls_parser::parse_tls_client_hello_extensions(e).ok())
        .map(|(_, e)| e)
        .unwrap_or_default();
    let suites: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
    Some(Hello {
        version: ch.version.0,
        supported_versions: extensions
            .iter()
            .any(|e| matches!(e, TlsExtension::SupportedVersions(_))),
        renegotiation: suites.contains(&0x00ff)
            || extensions
                .iter()
                .any(|e| matches!(e, TlsExtension::RenegotiationInfo(_))),
        suites,
    })
}

/// The fake legacy stack's answer, in one write, then close.
async fn answer_legacy(mut tcp: TcpStream, legacy: &Legacy, hello: &Hello) -> io::Result<()> {
    // Consume the hello the peek left in the socket.
    let mut sink = vec![0u8; 16 * 1024 + 5];
    let _ = tcp.read(&mut sink).await?;
    let alert = |description: u8| vec![0x15, 0x03, 0x01, 0x00, 0x02, 0x02, description];
    let version = legacy
        .versions
        .iter()
        .copied()
        .filter(|&v| v <= hello.version)
        .max();
    let suite = legacy
        .suites
        .iter()
        .copied()
        .find(|s| hello.suites.contains(s));
    let reply = match (version, suite) {
        (None, _) => alert(70), // protocol_version
        (_, None) => alert(40), // handshake_failure
        (Some(version), Some(suite)) => legacy_flight(legacy, version, suite, hello.renegotiation),
    };
    tcp.write_all(&reply).await?;
    let _ = tcp.shutdown().await;
    Ok(())
}

fn legacy_flight(legacy: &Legacy, version: u16, suite: u16, renegotiation: bool) -> Vec<u8> {
    fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }
    fn with_len16(data: &[u8]) -> Vec<u8> {
        let mut v = u16::try_from(data.len())
            .expect("small")
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(data);
        v
    }
    let mut sh = version.to_be_bytes().to_vec();
    sh.extend_from_slice(&[0x5a; 32]);
    sh.push(0);
    sh.extend_from_slice(&suite.to_be_bytes());
    sh.push(0);
    if version > 0x0300 && renegotiation {
        sh.extend_from_slice(&with_len16(&[0xff, 0x01, 0x00, 0x01, 0x00]));
    }
    let mut flight = handshake(2, &sh);
    let info = tls_parser::TlsCipherSuite::from_id(suite);
    let kx = info.map(|s| s.kx);
    let ske = match kx {
        Some(tls_parser::TlsCipherKx::Dhe) => {
            let mut p = vec![0xffu8; legacy.dhe_bits / 8];
            if let Some(last) = p.last_mut() {
                *last = 0xfd;
            }
            let mut params = with_len16(&p);
            params.extend(with_len16(&[2]));
            params.extend(with_len16(&vec![0x33; legacy.dhe_bits / 8]));
            Some(params)
        }
        Some(tls_parser::TlsCipherKx::Ecdhe) => {
            let mut params = vec![3, 0x00, 0x17, 65, 4];
            params.extend_from_slice(&[0x44; 64]);
            Some(params)
        }
        _ => None,
    };
    if let Some(mut params) = ske {
        // A signature the scan never checks.
        if version >= 0x0303 {
            params.extend_from_slice(&[0x04, 0x01]);
        }
        params.extend(with_len16(&[0x55; 64]));
        flight.extend(handshake(12, &params));
    }
    flight.extend(handshake(14, &[]));
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(with_len16(&flight));
    record
}

/// Sends the greeting while listening to the client, to catch early
/// talkers. Returns what the client sent before the greeting was complete
/// (empty for a well-behaved client), or `None` when the connection is over.
async fn greet(tcp: &mut TcpStream, shared: &Shared) -> io::Result<Option<Vec<u8>>> {
    let mut early = Vec::new();
    let (mut reader, mut writer) = tcp.split();
    let proceed = tokio::select! {
        proceed = write_greeting(&mut writer, &shared.behaviour) => proceed?,
        () = listen_early(&mut reader, &mut early, shared) => false,
    };
    Ok(proceed.then_some(early))
}

/// Reads until the client hangs up, keeping (a bounded amount of) what it
/// sends. Only ever runs while the greeting is incomplete, so any byte
/// makes the client an early talker.
async fn listen_early(reader: &mut (impl AsyncRead + Unpin), early: &mut Vec<u8>, shared: &Shared) {
    let mut chunk = [0u8; 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                shared.early_talker.store(true, Ordering::SeqCst);
                let room = MAX_EARLY_BYTES.saturating_sub(early.len());
                early.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

/// Writes the greeting for `behaviour.banner`. Returns whether the SMTP
/// dialogue should follow; the variants that never finish do not return
/// until the client goes away (then the write fails, or `listen_early`
/// sees the hang-up and this future is dropped).
async fn write_greeting(
    writer: &mut (impl AsyncWrite + Unpin),
    behaviour: &Behaviour,
) -> io::Result<bool> {
    let host = &behaviour.hostname;
    match &behaviour.banner {
        Banner::Normal => normal_greeting(writer, host).await,
        Banner::Multiline => {
            let banner = format!("220-{host} ESMTP lab\r\n220-second line\r\n220 third\r\n");
            writer.write_all(banner.as_bytes()).await?;
            Ok(true)
        }
        Banner::Delayed(delay) => {
            tokio::time::sleep(*delay).await;
            normal_greeting(writer, host).await
        }
        Banner::Reject421 => {
            let reply = format!("421 4.7.0 {host} too many connections, try later\r\n");
            refuse(writer, reply.as_bytes()).await
        }
        Banner::Reject554 => {
            let reply = format!("554 5.7.1 {host} no SMTP service here\r\n");
            refuse(writer, reply.as_bytes()).await
        }
        Banner::EndlessLine => {
            writer.write_all(b"220 ").await?;
            let block = [b'a'; 16 * 1024];
            loop {
                writer.write_all(&block).await?;
            }
        }
        Banner::Trickle => {
            for byte in format!("220 {host} ESMTP lab").bytes() {
                writer.write_all(&[byte]).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            loop {
                writer.write_all(b".").await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Banner::Garbage => refuse(writer, &garbage()).await,
        Banner::Silent => std::future::pending().await,
        Banner::TooManyLines => {
            let lines = b"220-line\r\n".repeat(10_000);
            writer.write_all(&lines).await?;
            std::future::pending().await
        }
    }
}

/// The normal greeting, `220 HOST ESMTP lab`: the session goes on.
async fn normal_greeting(writer: &mut (impl AsyncWrite + Unpin), host: &str) -> io::Result<bool> {
    writer
        .write_all(format!("220 {host} ESMTP lab\r\n").as_bytes())
        .await?;
    Ok(true)
}

/// `reply` instead of a greeting, then the connection is closed: the
/// session is over.
async fn refuse(writer: &mut (impl AsyncWrite + Unpin), reply: &[u8]) -> io::Result<bool> {
    writer.write_all(reply).await?;
    writer.shutdown().await?;
    Ok(false)
}

/// ~200 bytes that are not SMTP: binary junk including NUL, 0xff and a CRLF
/// in the middle (so a line reader gets a "line" of junk, then more junk).
fn garbage() -> Vec<u8> {
    let mut junk: Vec<u8> = (0u8..=255).rev().step_by(3).collect(); // starts with 0xff
    junk.extend_from_slice(b"\0\0\x01\x02\r\n\x7f\x80\xfe\xff");
    junk.extend((0u8..120).map(|i| i.wrapping_mul(37)));
    junk.truncate(200);
    junk
}

/// Runs the command loop on `conn` (plaintext or inside TLS) until the
/// connection ends or the client starts TLS.
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut LineConn<S>,
    shared: &Shared,
    in_tls: bool,
    early_talker: bool,
) -> io::Result<Next> {
    let behaviour = &shared.behaviour;
    let host = &behaviour.hostname;
    loop {
        let line = match conn.next_line().await? {
            None => return Ok(Next::Done),
            Some(Line::TooLong) => {
                conn.reply("500 5.5.2 line too long").await?;
                continue;
            }
            Some(Line::Text(line)) => line,
        };
        shared.record(&line);

        let trimmed = line.trim();
        let (verb, argument) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        let verb = verb.to_ascii_uppercase();
        let argument = argument.trim();

        if verb == "QUIT" {
            conn.reply("221 2.0.0 Bye").await?;
            conn.shutdown().await;
            return Ok(Next::Done);
        }
        if early_talker {
            // Like postscreen after a pregreet violation: no real dialogue.
            conn.reply("554 5.5.1 SMTP synchronization error").await?;
            continue;
        }

        match verb.as_str() {
            "EHLO" if matches!(behaviour.ehlo, Ehlo::RejectEhlo | Ehlo::RejectEhloHelo220) => {
                conn.reply("502 5.5.2 EHLO not supported").await?;
            }
            "EHLO" => {
                let mut lines = vec![format!("{host} greets {argument}")];
                if let Ehlo::ExtraLines(extra) = &behaviour.ehlo {
                    lines.extend(extra.iter().cloned());
                }
                lines.push("PIPELINING".to_owned());
                lines.push("SIZE 10240000".to_owned());
                if !in_tls
                    && !matches!(
                        behaviour.starttls,
                        StartTls::NotOffered | StartTls::Implicit
                    )
                {
                    lines.push("STARTTLS".to_owned());
                }
                match &behaviour.auth {
                    Auth::BeforeTls(mechs) => lines.push(format!("AUTH {}", mechs.join(" "))),
                    Auth::InsideTls(mechs) if in_tls => {
                        lines.push(format!("AUTH {}", mechs.join(" ")));
                    }
                    _ => {}
                }
                lines.push("ENHANCEDSTATUSCODES".to_owned());
                lines.push("8BITMIME".to_owned());
                if in_tls && behaviour.ehlo == Ehlo::RequireTls {
                    lines.push("REQUIRETLS".to_owned());
                }
                conn.reply(&multiline("250", &lines)).await?;
            }
            "HELO" if behaviour.ehlo == Ehlo::RejectEhloHelo220 => {
                conn.reply(&format!("220 {host}")).await?
            }
            "HELO" => conn.reply(&format!("250 {host}")).await?,
            "STARTTLS" if in_tls => conn.reply("503 5.5.1 TLS already active").await?,
            "STARTTLS" => match behaviour.starttls {
                StartTls::Offered if shared.tls.is_some() => {
                    if behaviour.pipelined == Pipelined::AnsweredInPlaintext && conn.has_line() {
                        // One write, so the plaintext answer always
                        // arrives with the 220.
                        conn.reply("220 2.0.0 Ready to start TLS\r\n250 2.0.0 OK")
                            .await?;
                        if let Some(Line::Text(line)) = conn.next_line().await? {
                            shared.record(&line);
                        }
                    } else {
                        conn.reply("220 2.0.0 Ready to start TLS").await?;
                    }
                    return Ok(Next::StartTls);
                }
                // A lab set-up mistake rather than a scenario, but answer
                // like a real server with no certificate would.
                StartTls::Offered => {
                    conn.reply("454 4.7.0 TLS not available: no certificate configured")
                        .await?;
                }
                // Only reached outside TLS, which an implicit-TLS server
                // never is.
                StartTls::NotOffered | StartTls::Implicit => {
                    conn.reply("502 5.5.1 not implemented").await?;
                }
                StartTls::Refused454 => {
                    conn.reply("454 4.7.0 TLS not available due to local problem")
                        .await?;
                }
                // Returning drops the stream, which closes the connection.
                StartTls::CloseOnStartTls => return Ok(Next::Done),
                StartTls::HandshakeGarbage => {
                    // One write, so the junk always arrives with the 220,
                    // before the client could have sent its ClientHello.
                    conn.reply("220 2.0.0 Ready to start TLS\r\nthis is not TLS")
                        .await?;
                    conn.shutdown().await;
                    return Ok(Next::Done);
                }
                StartTls::StallHandshake => {
                    conn.reply("220 2.0.0 Ready to start TLS").await?;
                    // Read and drop whatever comes until the client hangs
                    // up; answer nothing.
                    let mut sink = [0u8; 4096];
                    while matches!(conn.stream.read(&mut sink).await, Ok(n) if n > 0) {}
                    return Ok(Next::Done);
                }
                StartTls::NotTlsAfterHello => {
                    conn.reply("220 2.0.0 Ready to start TLS").await?;
                    // Wait for the ClientHello, then answer in plain text.
                    let mut hello = [0u8; 512];
                    let _ = conn.stream.read(&mut hello).await;
                    let _ = conn.stream.write_all(b"500 what is this?\r\n").await;
                    conn.shutdown().await;
                    return Ok(Next::Done);
                }
                StartTls::ResetMidHandshake => {
                    conn.reply("220 2.0.0 Ready to start TLS").await?;
                    // `serve` reads the hello and resets: only it has the
                    // TCP socket (this loop may be generic over TLS).
                    return Ok(Next::StartTls);
                }
                StartTls::TlsAlert(description) => {
                    conn.reply("220 2.0.0 Ready to start TLS").await?;
                    // Wait for the ClientHello, as a real server would.
                    let mut hello = [0u8; 512];
                    let _ = conn.stream.read(&mut hello).await;
                    // Alert record: type 21, version TLS 1.0, length 2,
                    // level fatal (2), the description.
                    let alert = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, description];
                    let _ = conn.stream.write_all(&alert).await;
                    conn.shutdown().await;
                    return Ok(Next::Done);
                }
            },
            "NOOP" | "RSET" => conn.reply("250 2.0.0 OK").await?,
            // Recorded above so that tests can assert the prober never
            // tries to send mail; refused so no mail could ever be accepted.
            // Recorded like every command (the tests look for it); never
            // accepted: there are no accounts here.
            "AUTH" => conn.reply("535 5.7.8 authentication failed").await?,
            "MAIL" | "RCPT" | "DATA" => {
                conn.reply("503 5.5.1 this lab server accepts no mail")
                    .await?;
            }
            _ => conn.reply("500 5.5.2 command not recognized").await?,
        }
    }
}

/// Formats a (possibly) multiline reply: `250-a`, `250-b`, `250 c`.
fn multiline(code: &str, lines: &[String]) -> String {
    let last = lines.len().saturating_sub(1);
    lines
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let separator = if i == last { ' ' } else { '-' };
            format!("{code}{separator}{text}")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// One received line.
enum Line {
    /// Line end (LF or CRLF) stripped; invalid UTF-8 replaced.
    Text(String),
    /// Longer than [`MAX_LINE`]; its content was discarded.
    TooLong,
}

/// A stream read line by line with a bounded buffer, and written a reply
/// at a time.
struct LineConn<S> {
    stream: S,
    buf: Vec<u8>,
    /// Set while discarding the rest of an over-long line.
    overflowed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineConn<S> {
    /// `buffered` is what was already received (sent before the greeting).
    fn new(stream: S, buffered: Vec<u8>) -> Self {
        LineConn {
            stream,
            buf: buffered,
            overflowed: false,
        }
    }

    /// The stream and whatever was received but not yet read as a line.
    fn into_parts(self) -> (S, Vec<u8>) {
        (self.stream, self.buf)
    }

    /// A complete line is already buffered (pipelined by the client).
    fn has_line(&self) -> bool {
        self.buf.contains(&b'\n')
    }

    /// The next line, or `None` once the client has closed its side.
    async fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=end).collect();
                if std::mem::take(&mut self.overflowed) {
                    return Ok(Some(Line::TooLong));
                }
                let text = raw.strip_suffix(b"\n").unwrap_or(&raw);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                return Ok(Some(Line::Text(String::from_utf8_lossy(text).into_owned())));
            }
            if self.buf.len() > MAX_LINE {
                // Keep reading until the line ends, but without keeping it.
                self.buf.clear();
                self.overflowed = true;
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Writes `reply` (one or more lines, without the final line end) and
    /// flushes it, which matters inside TLS.
    async fn reply(&mut self, reply: &str) -> io::Result<()> {
        // One write per reply: two small writes would meet Nagle's
        // algorithm and delayed ACKs, adding ~40 ms to every timing.
        let mut bytes = Vec::with_capacity(reply.len() + 2);
        bytes.extend_from_slice(reply.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.stream.write_all(&bytes).await?;
        self.stream.flush().await
    }

    /// Closes our side cleanly (TLS close_notify, then FIN). The client may
    /// already be gone, which is fine.
    async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}
