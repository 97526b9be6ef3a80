//! An in-process HTTPS server for MTA-STS policy files, listening on
//! loopback only.
//!
//! It serves TLS with a lab certificate ([`ServerCert::server_config`]) and
//! speaks just enough HTTP/1.1 for a policy fetch: it reads one request
//! head (size-capped), answers from a table of canned per-path
//! [`Response`]s (404 for any other path), and closes the connection.
//! Responses can misbehave the ways a policy host can: redirects, wrong
//! content types, bodies that are too large or never end.
//!
//! ```ignore
//! let server = HttpsServer::start(
//!     pki.leaf(&LeafSpec::valid_for("mta-sts.x.test")),
//!     vec![(POLICY_PATH.into(), Response::policy("version: STSv1\n…"))],
//! )
//! .await;
//! // fetch https://mta-sts.x.test/.well-known/mta-sts.txt via server.addr
//! assert_eq!(server.requests(), ["mta-sts.x.test/.well-known/mta-sts.txt"]);
//! ```
//!
//! [`SilentServer`] accepts TCP connections and never says anything, for
//! timeouts.
//!
//! Both run on the tokio runtime of the test that starts them and stop when
//! dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::pki::ServerCert;
use super::server::{Log, accept_loop, bind_loopback};

/// Where MTA-STS policies live (RFC 8461 §3.2).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// Longest request head we read; a client sending more gets 431.
const MAX_HEAD: usize = 16 * 1024;

/// How long a client may take to finish the TLS handshake or send its
/// request head before the server gives up on it.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the body of a [`Response`] is and how its end is signalled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Sent with a `Content-Length`.
    Sized(Vec<u8>),
    /// Sent without `Content-Length`: closing the connection ends it.
    UntilClose(Vec<u8>),
    /// Policy-looking lines without `Content-Length`, as fast as the
    /// client reads, until it goes away.
    Endless,
}

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// More header fields, sent as given (after Content-Type).
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    /// `status`, no Content-Type, an empty body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Body::Sized(Vec::new()),
        }
    }

    /// 200, `text/plain`, `text` as the body: a policy as it should be served.
    pub fn policy(text: &str) -> Self {
        Response {
            content_type: Some("text/plain".into()),
            body: Body::Sized(text.as_bytes().to_vec()),
            ..Response::new(200)
        }
    }

    /// A redirect (`status` 3xx) to `location`, with a small HTML body as
    /// real servers send.
    pub fn redirect(status: u16, location: &str) -> Self {
        Response {
            content_type: Some("text/html".into()),
            headers: vec![("Location".into(), location.into())],
            body: Body::Sized(b"<html><body>Moved</body></html>".to_vec()),
            ..Response::new(status)
        }
    }

    /// 200 `text/plain` with a body that never ends.
    pub fn endless() -> Self {
        Response {
            body: Body::Endless,
            ..Response::policy("")
        }
    }

    /// The same response with another Content-Type (`None`: no header).
    pub fn content_type(mut self, content_type: Option<&str>) -> Self {
        self.content_type = content_type.map(str::to_owned);
        self
    }

    /// The same response with one more header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same response with another body.
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }
}

/// What all connections of one server share.
struct Shared {
    tls: TlsAcceptor,
    routes: Vec<(String, Response)>,
    requests: Log,
    connections: AtomicUsize,
}

/// A running lab HTTPS server. Dropping it stops the listener and every
/// connection.
pub struct HttpsServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl HttpsServer {
    /// Binds 127.0.0.1 on a free port and serves `routes` (exact paths, the
    /// first match wins) with `cert` until dropped.
    pub async fn start(cert: ServerCert, routes: Vec<(String, Response)>) -> Self {
        let (listener, addr) = bind_loopback("HTTPS server").await;
        Self::run(listener, addr, cert, routes)
    }

    /// Binds `addr` (on 127.0.0.0/8 or ::1) and serves as
    /// [`HttpsServer::start`].
    pub async fn start_on(
        addr: SocketAddr,
        cert: ServerCert,
        routes: Vec<(String, Response)>,
    ) -> io::Result<Self> {
        super::server::may_listen_on(addr.ip())?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(Self::run(listener, addr, cert, routes))
    }

    fn run(
        listener: tokio::net::TcpListener,
        addr: SocketAddr,
        cert: ServerCert,
        routes: Vec<(String, Response)>,
    ) -> Self {
        let shared = Arc::new(Shared {
            tls: TlsAcceptor::from(cert.server_config()),
            routes,
            requests: Log::default(),
            connections: AtomicUsize::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(listener, {
            let shared = shared.clone();
            move |stream| {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                async move {
                    // Errors are clients hanging up or failing the
                    // handshake: just end the connection.
                    let _ = serve(stream, &shared).await;
                }
            }
        }));
        HttpsServer {
            addr,
            shared,
            accept_task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received, in arrival order, as `HOST PATH` joined
    /// without a space (`mta-sts.x.test/.well-known/mta-sts.txt`); the host
    /// is the Host header as sent, `<no host>` if there was none.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lines()
    }

    /// Forgets the requests so far (see [`Log::clear`]).
    pub fn forget_requests(&self) {
        self.shared.requests.clear();
    }

    /// How many TCP connections were accepted so far (including those whose
    /// TLS handshake failed).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        // The connection tasks live in the accept task's JoinSet: dropping
        // the set when this task is cancelled aborts all of them.
        self.accept_task.abort();
    }
}

async fn serve(tcp: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut tls = tokio::time::timeout(CLIENT_TIMEOUT, shared.tls.accept(tcp))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake"))??;
    let head = tokio::time::timeout(CLIENT_TIMEOUT, read_head(&mut tls))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request head"))??;
    let response = match head {
        Head::TooLarge => Response::new(431),
        Head::Malformed => Response::new(400),
        Head::Request { path, host } => {
            let host = host.unwrap_or_else(|| "<no host>".into());
            shared.requests.push(format!("{host}{path}"));
            shared
                .routes
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| {
                    Response::new(404)
                        .content_type(Some("text/plain"))
                        .body(Body::Sized(b"not found\n".to_vec()))
                })
        }
    };
    respond(&mut tls, &response).await?;
    tls.shutdown().await
}

/// A request head, as far as the lab cares.
enum Head {
    Request { path: String, host: Option<String> },
    Malformed,
    TooLarge,
}

/// Reads up to the blank line ending the head (at most [`MAX_HEAD`] bytes).
async fn read_head(conn: &mut (impl AsyncRead + Unpin)) -> io::Result<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Ok(Head::TooLarge);
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let Ok(head) = std::str::from_utf8(&buf[..end]) else {
        return Ok(Head::Malformed);
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(_method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Head::Malformed);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Ok(Head::Malformed);
    }
    let host = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("host")
            .then(|| value.trim().to_owned())
    });
    Ok(Head::Request {
        path: target.to_owned(),
        host,
    })
}

async fn respond(conn: &mut (impl AsyncWrite + Unpin), response: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    if let Some(ct) = &response.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Body::Sized(body) = &response.body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    conn.write_all(head.as_bytes()).await?;
    match &response.body {
        Body::Sized(body) | Body::UntilClose(body) => conn.write_all(body).await?,
        Body::Endless => {
            let line = b"x-filler: the policy host never stops talking\r\n";
            let chunk: Vec<u8> = line
                .iter()
                .copied()
                .cycle()
                .take(16 * line.len() * 20)
                .collect();
            // Ends when the client goes away (write error) or the server is
            // dropped (task aborted).
            loop {
                conn.write_all(&chunk).await?;
            }
        }
    }
    conn.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Lab Status",
    }
}

/// Accepts TCP connections and never sends a byte (not even a TLS
/// ServerHello); holds each connection until the client closes it or the
/// server is dropped.
pub struct SilentServer {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    accept_task: JoinHandle<()>,
}

impl SilentServer {
    pub async fn start() -> Self {
        let (listener, addr) = bind_loopback("silent server").await;
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let accept_task = tokio::spawn(accept_loop(listener, move |mut stream| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                // Read and drop whatever comes, until EOF.
                let mut sink = [0u8; 1024];
                while let Ok(n) = stream.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            }
        }));
        SilentServer {
            addr,
            connections,
            accept_task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}
