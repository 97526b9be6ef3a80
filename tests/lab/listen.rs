//! The accept loop of the lab's servers (SMTP, HTTPS, silent), written
//! once: what differs between them is only what a connection gets.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

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
