//! The HTTP side of `smtptls serve`: hyper's HTTP/1 server with axum's
//! router on it. A well-kept server rather than hand-written HTTP:
//! request smuggling, limits and keep-alive are hyper's to get right.
//!
//! - `GET /probe?target=DOMAIN[&scan=MODE]`, `GET /metrics`, `GET /` (a
//!   short help page); HEAD as GET; 405 for other methods, 404 elsewhere.
//! - The request head (request line and headers) is read into at most
//!   [`MAX_HEAD`] bytes and [`MAX_HEADERS`] headers, within
//!   [`HEADER_TIMEOUT`]: a client that trickles its headers (slowloris)
//!   is cut off. Bodies are never read.
//! - At most [`MAX_CONNECTIONS`] connections at once; more are closed.
//! - On shutdown the listener closes, requests in flight are answered,
//!   idle keep-alive connections are closed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

use super::{Exporter, ProbeAnswer};

/// Time for a request's head. Prometheus sends it at once; a client
/// that takes longer holds a connection for nothing.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a request's head (hyper's smallest buffer): a scrape's is a
/// few hundred; a domain name is at most 253 octets.
pub const MAX_HEAD: usize = 8192;
/// Headers of a request: Prometheus sends about six.
pub const MAX_HEADERS: usize = 32;
/// Connections at once: room for many Prometheus servers' concurrent
/// scrapes, well under the open-files limit `main` raises.
pub const MAX_CONNECTIONS: usize = 1024;

/// The exposition format's content type (version 0.0.4, what Prometheus
/// and node_exporter's textfiles speak).
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

const HELP: &str =
    "smtptls serve: a Prometheus exporter for mail domains' STARTTLS, DANE and MTA-STS.

GET /probe?target=DOMAIN[&scan=off|light|deep]
    The metrics of `smtptls check --format prometheus DOMAIN`, plus
    probe_success, probe_duration_seconds, smtptls_probe_cached and
    smtptls_probe_age_seconds. A result is reused for --min-interval;
    X-Prometheus-Scrape-Timeout-Seconds (less --timeout-offset) bounds a
    fresh audit, which then finishes for the next scrape.
GET /metrics
    The exporter's own metrics.

Scrape it like blackbox_exporter: relabel __address__ to
__param_target, __param_target to instance, and __address__ to this
exporter. See `smtptls serve --help` and deploy/prometheus/.
";

/// The router: the three paths, their methods, 404 elsewhere.
pub fn router(exporter: Arc<Exporter>) -> Router {
    Router::new()
        .route("/probe", get(probe))
        .route("/metrics", get(own_metrics))
        .route("/", get(index))
        .fallback(not_found)
        .with_state(exporter)
}

async fn probe(State(exporter): State<Arc<Exporter>>, uri: Uri, headers: HeaderMap) -> Response {
    let timeout = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok());
    match exporter.probe(uri.query(), timeout).await {
        ProbeAnswer::Metrics(text) => (StatusCode::OK, [(header::CONTENT_TYPE, EXPOSITION)], text),
        ProbeAnswer::BadRequest(why) => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, TEXT)],
            format!("{why}\n"),
        ),
        ProbeAnswer::Forbidden(why) => (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, TEXT)],
            format!("{why}\n"),
        ),
    }
    .into_response()
}

async fn own_metrics(State(exporter): State<Arc<Exporter>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, EXPOSITION)],
        exporter.own_metrics(),
    )
        .into_response()
}

async fn index() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, TEXT)], HELP).into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, TEXT)],
        "not found: see / for the endpoints\n",
    )
        .into_response()
}

/// Serves until `shutdown` resolves, then answers what is in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    exporter: Arc<Exporter>,
    shutdown: impl Future<Output = ()>,
) {
    let settings = exporter.settings.clone();
    let app = router(exporter);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: pass, and do not spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over the cap the connection is closed unanswered: the client
        // retries, nothing here grows.
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that went away is no error of the server's.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Auditor;
    use crate::exporter::Settings;
    use crate::exporter::allow::AllowList;
    use crate::options::AuditOptions;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A server on 127.0.0.1:0 with `settings`; no test here audits
    /// (the allow-list refuses every target that would).
    async fn start(
        settings: Settings,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let auditor = Auditor::new(AuditOptions::default()).expect("auditor");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let exporter = Exporter::new(auditor, settings);
        let server = tokio::spawn(serve(listener, exporter, async {
            let _ = stopped.await;
        }));
        (addr, stop, server)
    }

    fn nothing_allowed() -> Settings {
        Settings::new(AllowList::Only(Vec::new()))
    }

    /// One request on a fresh connection: the status line and the rest.
    async fn request(addr: SocketAddr, raw: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(raw.as_bytes()).await.expect("send");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    fn get(path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    }

    #[tokio::test]
    async fn paths_methods_and_refusals() {
        let (addr, _stop, _server) = start(nothing_allowed()).await;
        let answer = request(addr, &get("/")).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("/probe?target=DOMAIN"));
        let answer = request(addr, &get("/metrics")).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("text/plain; version=0.0.4"));
        assert!(answer.contains("smtptls_build_info{version="));
        let answer = request(addr, &get("/nothing")).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        let answer = request(
            addr,
            "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            !answer.contains("/probe?target=DOMAIN"),
            "HEAD has no body: {answer}"
        );
        let answer = request(
            addr,
            "POST /probe?target=a.example HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        let answer = request(addr, &get("/probe?target=192.0.2.1")).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.ends_with("the target is an IP address, not a domain name\n"),
            "{answer}"
        );
        let answer = request(addr, &get("/probe?target=a.example")).await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        let answer = request(addr, &get("/metrics")).await;
        assert!(
            answer.contains("smtptls_exporter_errors_total{kind=\"invalid-target\"} 1\n"),
            "{answer}"
        );
        assert!(answer.contains("smtptls_exporter_errors_total{kind=\"forbidden-target\"} 1\n"));
    }

    /// A client that sends its headers a byte at a time (slowloris) is cut
    /// off at the header timeout, though it never stops sending.
    #[tokio::test]
    async fn a_client_that_trickles_its_headers_is_cut_off() {
        let mut settings = nothing_allowed();
        settings.header_timeout = Duration::from_secs(1);
        let (addr, _stop, _server) = start(settings).await;
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("send");
        let started = tokio::time::Instant::now();
        let mut cut_off = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(b"X").await.is_err() {
                cut_off = true;
                break;
            }
            let mut buf = [0u8; 256];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
            {
                // A 408 or the close (0 bytes): either way the end.
                let _ = n;
                cut_off = true;
                break;
            }
        }
        let took = started.elapsed();
        assert!(cut_off, "still connected after 5 s");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn a_request_head_over_the_limit_is_refused() {
        let (addr, _stop, _server) = start(nothing_allowed()).await;
        let big = "a".repeat(MAX_HEAD);
        let answer = request(addr, &get(&format!("/probe?target={big}"))).await;
        assert!(
            answer.starts_with("HTTP/1.1 431") || answer.is_empty(),
            "{answer}"
        );
        let headers: String = (0..MAX_HEADERS + 1)
            .map(|i| format!("X-{i}: y\r\n"))
            .collect();
        let answer = request(addr, &format!("GET / HTTP/1.1\r\nHost: x\r\n{headers}\r\n")).await;
        assert!(
            answer.starts_with("HTTP/1.1 431") || answer.is_empty(),
            "{answer}"
        );
        assert!(!answer.starts_with("HTTP/1.1 200"));
        // Within the limits it answers.
        assert!(request(addr, &get("/")).await.starts_with("HTTP/1.1 200"));
    }

    /// On shutdown the listener closes, and a request already being
    /// served is still answered.
    #[tokio::test]
    async fn shutdown_answers_what_is_in_flight_then_stops_listening() {
        let (addr, stop, server) = start(nothing_allowed()).await;
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // Half a request: in flight when the stop comes.
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("send");
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).expect("stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream
            .write_all(b"Connection: close\r\n\r\n")
            .await
            .expect("send the rest");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server ended")
            .expect("no panic");
        assert!(TcpStream::connect(addr).await.is_err(), "still listening");
    }
}
