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

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connected probe socket (`TCP_NODELAY` on, `TCP_QUICKACK` after reads).
#[derive(Debug)]
pub struct ProbeSocket {
    tcp: TcpStream,
}

impl ProbeSocket {
    /// Connects to `addr`, with Nagle's algorithm off: every command is
    /// one small write that should leave at once.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
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
        let mut socket = ProbeSocket::connect(addr).await.expect("connect");
        assert!(socket.local_addr().expect("local").ip().is_loopback());
        socket.write_all(b"EHLO\n").await.expect("write");
        let mut reply = Vec::new();
        socket.read_to_end(&mut reply).await.expect("read");
        assert_eq!(reply, b"220 ok\r\n");
        assert_eq!(&server.await.expect("server"), b"EHLO\n");
    }
}
