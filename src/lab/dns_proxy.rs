//! A DNS server that misbehaves on purpose, in front of the lab's
//! [`super::dns`] server: what a resolver on the path can do to the
//! answers smtptls gets.
//!
//! ```ignore
//! let proxy = DnsProxy::start(dns.addr(), Behaviour {
//!     udp: Udp::Truncate,
//!     tcp: Tcp::Close,
//!     ..Behaviour::default()
//! }).await;
//! // smtptls --resolver <proxy.resolver_arg()> …
//! ```
//!
//! It listens on UDP and TCP on one loopback port, like a resolver, and
//! runs on its own thread with its own runtime for the reason given in
//! [`super::dns`].

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_server::proto::op::{Message, MessageType, ResponseCode};
use hickory_server::proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;

/// What the proxy does with a question over UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Udp {
    /// Ask the lab server and pass its answer on (after [`Tamper`]).
    #[default]
    Forward,
    /// Answer every question with the TC bit and nothing else, as a server
    /// whose every answer is too large for UDP.
    Truncate,
    /// Leave every `n`-th question unanswered (a lossy path).
    DropEvery(usize),
}

/// What the proxy does with a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tcp {
    /// Ask the lab server over TCP and pass its answer on.
    #[default]
    Forward,
    /// Close the connection once the question is read.
    Close,
    /// Announce a 65,535-byte answer and send it one byte every 200 ms.
    Trickle,
    /// Read the question and never answer.
    Silent,
}

/// What the proxy changes in every answer it passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tamper {
    #[default]
    None,
    /// Remove every RRSIG record: a middlebox that strips DNSSEC.
    StripRrsigs,
    /// Answer NXDOMAIN to everything, the root included: a resolver on a
    /// machine without internet.
    NxdomainEverything,
    /// Answer every question about the root (`.`) with this response code
    /// and pass the rest on: a resolver that serves only private zones
    /// (unbound's `local-zone: "." static` gives NXDOMAIN; one without the
    /// root's servers REFUSED or SERVFAIL).
    Root(ResponseCode),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Behaviour {
    pub udp: Udp,
    pub tcp: Tcp,
    pub tamper: Tamper,
}

/// The running proxy; dropping it stops it.
pub struct DnsProxy {
    addr: SocketAddr,
    udp_queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DnsProxy {
    /// A proxy on 127.0.0.1 in front of `upstream` (the lab server).
    pub async fn start(upstream: SocketAddr, behaviour: Behaviour) -> DnsProxy {
        let udp_queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        let counters = (Arc::clone(&udp_queries), Arc::clone(&tcp_queries));
        let (addr_tx, addr_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lab-dns-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("dns proxy: runtime");
                runtime.block_on(async move {
                    let (udp, tcp) = bind().await;
                    let _ = addr_tx.send(udp.local_addr().expect("dns proxy: local_addr"));
                    let udp = Arc::new(udp);
                    tokio::select! {
                        _ = serve_udp(udp, upstream, behaviour, counters.0) => {}
                        _ = serve_tcp(tcp, upstream, behaviour, counters.1) => {}
                        _ = stop_rx => {}
                    }
                });
            })
            .expect("dns proxy: thread");
        let addr = addr_rx.await.expect("dns proxy: died while starting");
        DnsProxy {
            addr,
            udp_queries,
            tcp_queries,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `--resolver` value.
    pub fn resolver_arg(&self) -> String {
        self.addr.to_string()
    }

    /// Questions that came over UDP.
    pub fn udp_queries(&self) -> usize {
        self.udp_queries.load(Ordering::SeqCst)
    }

    /// TCP connections that sent a question.
    pub fn tcp_queries(&self) -> usize {
        self.tcp_queries.load(Ordering::SeqCst)
    }
}

impl Drop for DnsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn bind() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("dns proxy: bind UDP");
        let addr = udp.local_addr().expect("dns proxy: local_addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("dns proxy: no port free for both UDP and TCP");
}

async fn serve_udp(
    socket: Arc<UdpSocket>,
    upstream: SocketAddr,
    behaviour: Behaviour,
    count: Arc<AtomicUsize>,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((len, client)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        let query = buf[..len].to_vec();
        let socket = Arc::clone(&socket);
        tokio::spawn(async move {
            let answer = match behaviour.udp {
                Udp::DropEvery(every) if every > 0 && n.is_multiple_of(every) => return,
                Udp::Truncate => {
                    let Some(mut reply) = reply_to(&query) else {
                        return;
                    };
                    reply.metadata.truncation = true;
                    reply.to_vec().ok()
                }
                _ => match own_answer(&query, behaviour.tamper) {
                    Some(answer) => Some(answer),
                    None => udp_upstream(upstream, &query)
                        .await
                        .map(|a| tamper(&a, behaviour.tamper))
                        .map(|a| fit_udp(&query, a)),
                },
            };
            if let Some(answer) = answer {
                let _ = socket.send_to(&answer, client).await;
            }
        });
    }
}

async fn serve_tcp(
    listener: TcpListener,
    upstream: SocketAddr,
    behaviour: Behaviour,
    count: Arc<AtomicUsize>,
) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let count = Arc::clone(&count);
        tokio::spawn(async move {
            let Some(query) = read_frame(&mut conn).await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            match behaviour.tcp {
                Tcp::Close => drop(conn),
                Tcp::Silent => {
                    // Hold the connection open until the client gives up.
                    let mut sink = [0u8; 64];
                    while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
                }
                Tcp::Trickle => {
                    if conn.write_all(&[0xff, 0xff]).await.is_err() {
                        return;
                    }
                    loop {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        if conn.write_all(&[0]).await.is_err() {
                            return;
                        }
                    }
                }
                Tcp::Forward => {
                    let answer = match own_answer(&query, behaviour.tamper) {
                        Some(answer) => answer,
                        None => match tcp_upstream(upstream, &query).await {
                            Some(answer) => tamper(&answer, behaviour.tamper),
                            None => return,
                        },
                    };
                    let Ok(len) = u16::try_from(answer.len()) else {
                        return;
                    };
                    let _ = conn.write_all(&len.to_be_bytes()).await;
                    let _ = conn.write_all(&answer).await;
                }
            }
        });
    }
}

/// An answer the proxy makes itself instead of asking upstream.
fn own_answer(query: &[u8], tamper: Tamper) -> Option<Vec<u8>> {
    let code = match tamper {
        Tamper::NxdomainEverything => ResponseCode::NXDomain,
        Tamper::Root(code) => code,
        Tamper::None | Tamper::StripRrsigs => return None,
    };
    let mut reply = reply_to(query)?;
    if matches!(tamper, Tamper::Root(_))
        && !reply.queries.first().is_some_and(|q| q.name().is_root())
    {
        return None;
    }
    reply.metadata.response_code = code;
    reply.to_vec().ok()
}

/// An empty response to `query`: same id and question, recursion
/// available, EDNS echoed.
fn reply_to(query: &[u8]) -> Option<Message> {
    let query = Message::from_vec(query).ok()?;
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.queries = query.queries.clone();
    reply.edns = query.edns.clone();
    Some(reply)
}

/// What a real server sends when the answer is larger than the client's
/// UDP size (its EDNS payload, else 512 bytes, RFC 6891 §6.2.5): the
/// question with the TC bit and no records. The lab's server itself sends
/// any size over loopback, so without this nothing would ever truncate.
fn fit_udp(query: &[u8], answer: Vec<u8>) -> Vec<u8> {
    let limit = Message::from_vec(query)
        .ok()
        .and_then(|q| q.edns.as_ref().map(|e| usize::from(e.max_payload())))
        .unwrap_or(512)
        .max(512);
    // hickory-server drops records until the answer fits, and sets TC: a
    // client that ignored TC would still see some records. Real servers
    // send none; so does the proxy, so that ignoring TC shows.
    let truncated = Message::from_vec(&answer).is_ok_and(|m| m.metadata.truncation);
    if answer.len() <= limit && !truncated {
        return answer;
    }
    match reply_to(query) {
        Some(mut reply) => {
            reply.metadata.truncation = true;
            reply.to_vec().unwrap_or(answer)
        }
        None => answer,
    }
}

fn tamper(answer: &[u8], how: Tamper) -> Vec<u8> {
    if how != Tamper::StripRrsigs {
        return answer.to_vec();
    }
    let Ok(mut message) = Message::from_vec(answer) else {
        return answer.to_vec();
    };
    let keep = |r: &hickory_server::proto::rr::Record| r.record_type() != RecordType::RRSIG;
    message.answers.retain(keep);
    message.authorities.retain(keep);
    message.additionals.retain(keep);
    message.to_vec().unwrap_or_else(|_| answer.to_vec())
}

async fn udp_upstream(upstream: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.ok()?;
    socket.send_to(query, upstream).await.ok()?;
    let mut buf = vec![0u8; 65_535];
    let (len, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    buf.truncate(len);
    Some(buf)
}

async fn tcp_upstream(upstream: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let mut conn = TcpStream::connect(upstream).await.ok()?;
    let len = u16::try_from(query.len()).ok()?;
    conn.write_all(&len.to_be_bytes()).await.ok()?;
    conn.write_all(query).await.ok()?;
    tokio::time::timeout(Duration::from_secs(5), read_frame(&mut conn))
        .await
        .ok()?
}

async fn read_frame(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    conn.read_exact(&mut len).await.ok()?;
    let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
    conn.read_exact(&mut frame).await.ok()?;
    Some(frame)
}
