//! Captures a server's answer to one of the scan's hand-built ClientHellos,
//! for the fixtures under `fixtures/tls/` (see `scripts/capture-tls-fixtures`).
//!
//! `cargo run --example capture_hello -- ADDR:PORT VERSION SUITES OUT`
//! connects over plain TLS (no STARTTLS: the fixture is the TLS flight),
//! sends the hello and writes the bytes received until the parser has its
//! answer. VERSION is `ssl3`, `tls1.0` … `tls1.3`; SUITES is `all`, `dhe`,
//! `weak` or a comma-separated list of hex ids.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use smtptls::prober::scan::client_hello::{self, HelloSpec};
use smtptls::prober::scan::server_hello::{Progress, parse_flight};
use smtptls::prober::scan::suites::{self, Version};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, version, which, out] = args.as_slice() else {
        return Err("usage: capture_hello ADDR:PORT VERSION SUITES OUT".into());
    };
    let version = match version.as_str() {
        "ssl3" => Version::Ssl3,
        "tls1.0" => Version::Tls10,
        "tls1.1" => Version::Tls11,
        "tls1.2" => Version::Tls12,
        "tls1.3" => Version::Tls13,
        other => return Err(format!("unknown version {other}").into()),
    };
    let all = suites::for_version(version);
    let offered: Vec<u16> = match which.as_str() {
        "all" => all,
        "dhe" => all.into_iter().filter(|&s| suites::is_dhe(s)).collect(),
        "weak" => all
            .into_iter()
            .filter(|&s| !suites::weaknesses(s).is_empty())
            .collect(),
        list => list
            .split(',')
            .map(|h| u16::from_str_radix(h.trim_start_matches("0x"), 16))
            .collect::<Result<_, _>>()?,
    };
    let spec = HelloSpec {
        version,
        suites: offered,
        groups: suites::GROUPS.to_vec(),
        x25519_share: true,
        offer_compression: true,
    };
    let hello = client_hello::build(&spec, Some("localhost"), &[0x42; 32]);
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    tcp.write_all(&hello)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_flight(&buf) {
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Done(reply)) => {
                eprintln!("{reply:?}");
                break;
            }
            Err(e) => {
                eprintln!("{e}");
                break;
            }
        }
    }
    std::fs::write(out, &buf)?;
    Ok(())
}
