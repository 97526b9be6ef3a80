//! The probe's TCP socket: a `TcpStream` that acknowledges what it reads
//! at once.
//!
//! Why: after the TLS 1.3 handshake a server sends its session tickets,
//! and right behind them the reply to our `EHLO`. Postfix (OpenSSL) writes
//! the two separately, so Nagle's algorithm on the server holds the reply
//! until the tickets are acknowledged, and Linux delays that ACK by its
//! delayed-ACK timer (40 ms or more), because a client that has just sent
//! data is in "interactive" mode and hopes to piggyback the ACK. About half
//! the probes against Postfix waited that long in `ehlo_after_tls` (issue
//! 15). A probe never has anything to piggyback on: it sends a command and
//! waits for the reply. So after every read that returned data the socket
//! asks for `TCP_QUICKACK`, which sends a pending ACK now and leaves the
//! interactive mode until the kernel re-enters it (it does so after our
//! next write, hence after every read, not once). It costs one
//! `setsockopt` per read.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::retransmit::{self, RttEstimate};

/// A connected probe socket (`TCP_NODELAY` on, `TCP_QUICKACK` after reads).
#[derive(Debug)]
pub struct ProbeSocket {
    tcp: TcpStream,
}

impl ProbeSocket {
    /// Connects to `addr`, with Nagle's algorithm off: every command is
    /// one small write that should leave at once. A connect not done
    /// within the RTO of `rtt` is tried again on a new socket beside the
    /// first (`super::retransmit`: a lost SYN costs a few round trips, not
    /// the kernel's 1 s); `timeout` is the connect step's, which bounds
    /// the RTO. The caller bounds the whole connect.
    pub async fn connect(
        addr: SocketAddr,
        rtt: &RttEstimate,
        timeout: Duration,
    ) -> io::Result<Self> {
        let tcp = retransmit::first_of_copies(rtt, timeout, || TcpStream::connect(addr)).await?;
        // Best effort: a socket without it still works, only slower.
        let _ = tcp.set_nodelay(true);
        Ok(ProbeSocket { tcp })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn ack_now(&self) {
        // Best effort, as above: failure only means the ACK may wait.
        let _ = self.tcp.set_quickack(true);
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn ack_now(&self) {}
}

impl AsyncRead for ProbeSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.ack_now();
        }
        polled
    }
}

impl AsyncWrite for ProbeSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_and_writes_like_the_tcp_stream() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.expect("read");
            s.write_all(b"220 ok\r\n").await.expect("write");
            buf
        });
        let rtt = RttEstimate::new();
        let mut socket = ProbeSocket::connect(addr, &rtt, Duration::from_secs(5))
            .await
            .expect("connect");
        assert!(socket.local_addr().expect("local").ip().is_loopback());
        socket.write_all(b"EHLO\n").await.expect("write");
        let mut reply = Vec::new();
        socket.read_to_end(&mut reply).await.expect("read");
        assert_eq!(reply, b"220 ok\r\n");
        assert_eq!(&server.await.expect("server"), b"EHLO\n");
    }

    /// One listener, a prompt connect: one connection, no copy, and the
    /// connect's round trip is now the estimate (no longer the initial
    /// 1 s).
    #[tokio::test]
    async fn a_prompt_connect_makes_one_connection_and_is_timed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let rtt = RttEstimate::new();
        let timeout = Duration::from_secs(5);
        assert_eq!(rtt.rto(timeout), retransmit::INITIAL_RTO);
        let socket = ProbeSocket::connect(addr, &rtt, timeout)
            .await
            .expect("connect");
        let (_accepted, peer) = listener.accept().await.expect("accept");
        assert_eq!(peer, socket.local_addr().expect("local"));
        assert_eq!(rtt.rto(timeout), retransmit::MIN_RTO, "loopback: the floor");
        // No second connection is waiting.
        let second = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(second.is_err(), "a copy connected: {second:?}");
    }

    /// A closed port answers at once: that is the answer, no copy follows.
    #[tokio::test]
    async fn a_refused_connect_fails_at_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let rtt = RttEstimate::new();
        let err = ProbeSocket::connect(addr, &rtt, Duration::from_secs(5))
            .await
            .expect_err("nobody listens");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}
