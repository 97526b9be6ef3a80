//! What the lab's servers (SMTP, HTTPS, silent) have in common, written
//! once: the loopback port, the accept loop, the log of what they heard.
//! What differs between them is only what a connection gets.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A listener on 127.0.0.1 at a free port, and its address. `server`
/// names the server in the panic if there is none.
pub async fn bind_loopback(server: &str) -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap_or_else(|e| panic!("bind a loopback port for the lab {server}: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local address of the lab {server}: {e}"));
    (listener, addr)
}

/// Whether the lab may listen on `ip`: on 127.0.0.0/8 and ::1 always; on
/// any other address only inside a network namespace of the process's
/// own (the WAN benchmark's, behind a veth pair), where nothing outside
/// can reach it. The lab stands for the Internet: it must never answer
/// anyone else's network.
pub fn may_listen_on(ip: IpAddr) -> io::Result<()> {
    if ip.is_loopback() || in_own_network_namespace() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("the lab listens on loopback only, not {ip}"),
    ))
}

/// True when this process's network namespace is not the one of PID 1
/// (the host's). Where either cannot be read, it is taken as the host's.
fn in_own_network_namespace() -> bool {
    match (
        std::fs::read_link("/proc/self/ns/net"),
        std::fs::read_link("/proc/1/ns/net"),
    ) {
        (Ok(own), Ok(host)) => own != host,
        _ => false,
    }
}

/// A loopback port that was free a moment ago and has no listener now:
/// connecting to it is refused.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind a throw-away loopback port")
        .port()
}

/// Accepts connections on `listener` until the task running it is
/// aborted, and runs what `connection` makes of each on a task of its
/// own. Those tasks live in a JoinSet owned here, so aborting this task
/// (the servers do on drop) ends every connection too.
pub async fn accept_loop<F, Fut>(listener: TcpListener, mut connection: F)
where
    F: FnMut(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream));
                }
                // Accept errors (e.g. out of file descriptors) are
                // transient; back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// What a server heard (command lines, requests), appended to by its
/// connection tasks and read by the test.
#[derive(Debug, Default)]
pub struct Log(Mutex<Vec<String>>);

impl Log {
    pub fn push(&self, line: String) {
        // A poisoned lock only means another connection task panicked;
        // the log itself is still fine to append to.
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    /// Everything so far, in arrival order.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets everything so far. A long-running user of the lab (the
    /// soak) calls this between rounds, so the lab's own memory stays flat
    /// and does not hide or fake a leak in the code under test.
    pub fn clear(&self) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.clear();
        lines.shrink_to_fit();
    }
}
