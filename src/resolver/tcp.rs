//! One DNS question over TCP (RFC 1035 §4.2.2, RFC 7766), for an answer
//! that came truncated over UDP in `--dnssec trust-resolver` mode.
//!
//! A fresh connection per question, written by hand rather than through
//! hickory's multiplexed TCP client: it is used rarely (only after a TC
//! bit), and one connection with one deadline is easy to bound. The
//! message is at most 65,535 bytes by construction (a two-byte length), so
//! a server cannot make us read more; one `timeout` covers connect, write
//! and read, so a server that trickles its answer a byte at a time fails
//! like one that is silent.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::proto::op::{DnsRequest, DnsResponse, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Asks `request` of `server` over TCP; the error says what went wrong,
/// for [`super::DnsFailure::Truncated`].
pub(super) async fn exchange(
    server: SocketAddr,
    request: &DnsRequest,
    timeout: Duration,
) -> Result<DnsResponse, String> {
    match tokio::time::timeout(timeout, exchange_unbounded(server, request)).await {
        Ok(result) => result,
        Err(_) => Err(format!("TCP to {server} timed out after {timeout:?}")),
    }
}

async fn exchange_unbounded(
    server: SocketAddr,
    request: &DnsRequest,
) -> Result<DnsResponse, String> {
    let mut message: Message = (**request).clone();
    message.metadata.id = random_id();
    let id = message.metadata.id;
    let bytes = message
        .to_vec()
        .map_err(|e| format!("cannot encode the question: {e}"))?;
    let len = u16::try_from(bytes.len()).map_err(|_| "question too long".to_string())?;

    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| format!("TCP connect to {server}: {e}"))?;
    // Nagle would hold the message back waiting for an ACK of the length.
    let _ = stream.set_nodelay(true);
    let mut frame = Vec::with_capacity(bytes.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&bytes);
    stream
        .write_all(&frame)
        .await
        .map_err(|e| format!("TCP write to {server}: {e}"))?;

    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| format!("TCP read from {server}: {e}"))?;
    let len = usize::from(u16::from_be_bytes(len));
    let mut buffer = vec![0u8; len];
    stream
        .read_exact(&mut buffer)
        .await
        .map_err(|e| format!("TCP read from {server}: {e}"))?;
    let response = DnsResponse::from_buffer(buffer)
        .map_err(|e| format!("TCP answer from {server} is not DNS: {e}"))?;
    if response.metadata.id != id {
        return Err(format!("TCP answer from {server} is for another question"));
    }
    if response.queries != message.queries {
        return Err(format!("TCP answer from {server} is for another name"));
    }
    if response.metadata.truncation {
        return Err(format!("{server} truncated its TCP answer too"));
    }
    Ok(response)
}

/// A query id nobody on the path can guess (RFC 5452 §4.3).
fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    // The system RNG does not fail on Linux; a fixed id would only make
    // a spoofed answer easier, never a wrong one accepted unseen (the
    // question is checked too).
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    u16::from_be_bytes(bytes)
}
