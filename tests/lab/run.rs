//! Running the real `smtptls` binary against the lab, and reading its JSON.
//!
//! [`Lab`] ties one DNS zone, one PKI and any number of SMTP servers
//! together: `lab.check(&["good.test"])` runs `smtptls check` with
//! `--resolver`, `--ca-file` and a `--connect-to` rule per server, so the
//! tool resolves real DNS answers and reaches each server on its port.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::dns::TestDns;
use super::pki::TestPki;
use super::smtp::SmtpServer;

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON (panics with the output if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `smtptls ARGS…` and waits for it, without blocking the runtime
/// the lab servers run on. Panics if it takes longer than two minutes.
pub async fn smtptls<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let child = spawn_smtptls(args, Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("smtptls did not finish within 120 s")
        .expect("wait for smtptls");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    dump(&run);
    run
}

/// Starts `smtptls ARGS…` with `stdin` and its output piped, for tests
/// that act on it while it runs (signal it, feed its stdin); [`smtptls`]
/// runs it to the end.
pub fn spawn_smtptls<I, S>(args: I, stdin: Stdio) -> tokio::process::Child
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    tokio::process::Command::new(env!("CARGO_BIN_EXE_smtptls"))
        .args(args)
        .env("NO_COLOR", "1")
        // The table's width comes from COLUMNS when stdout is not a
        // terminal: fixed, so that no test depends on the shell it runs in.
        .env("COLUMNS", "100")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn smtptls")
}

/// `SMTPTLS_TEST_DUMP=DIR`: every run's stdout is written to
/// `DIR/<test crate>.<test name>.<n>`, so the output of every lab case can be compared
/// before and after a change that must not alter it (see
/// `scripts/compare-dumps`).
fn dump(run: &Run) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static COUNTS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);
    let Some(dir) = std::env::var_os("SMTPTLS_TEST_DUMP") else {
        return;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .replace("::", ".");
    let n = {
        let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts
            .get_or_insert_with(HashMap::new)
            .entry(test.clone())
            .or_insert(0);
        *n += 1;
        *n
    };
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::create_dir_all(&dir);
    let crate_name = env!("CARGO_CRATE_NAME");
    let _ = std::fs::write(dir.join(format!("{crate_name}.{test}.{n}")), &run.stdout);
}

/// A DNS zone, a PKI and the SMTP servers of one test.
pub struct Lab {
    pub dns: TestDns,
    pub pki: TestPki,
    /// `(MX host name, server)`: the host's resolved addresses are kept,
    /// only the port is redirected to the server's.
    pub servers: Vec<(String, SmtpServer)>,
    /// Short timeouts so failure cases finish quickly.
    pub timeout: &'static str,
    pub banner_timeout: &'static str,
    /// Pass `--allow-local-addresses` (the default): the lab's DNS answers
    /// loopback addresses, which smtptls probes only on request.
    pub allow_local: bool,
}

impl Lab {
    pub fn new(dns: TestDns, pki: TestPki) -> Self {
        Lab {
            dns,
            pki,
            servers: Vec::new(),
            timeout: "3",
            banner_timeout: "3",
            allow_local: true,
        }
    }

    pub fn serve(&mut self, host: &str, server: SmtpServer) -> &mut Self {
        self.servers.push((host.to_string(), server));
        self
    }

    /// The common arguments: resolver, CA, routes, timeouts.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--resolver".to_string(),
            self.dns.resolver_arg(),
            "--ca-file".to_string(),
            self.pki.ca_file().display().to_string(),
            "--timeout".to_string(),
            self.timeout.to_string(),
            "--banner-timeout".to_string(),
            self.banner_timeout.to_string(),
            "--ehlo-name".to_string(),
            "client.smtptls.test".to_string(),
        ];
        if self.allow_local {
            args.push("--allow-local-addresses".to_string());
        }
        // The lab zone has no chain of trust from the root: with its key
        // as trust anchor it validates; unsigned, the lab server (which
        // never sets AD) makes every answer insecure.
        match self.dns.trust_anchor() {
            Some(anchor) => {
                let path = self.pki.dir().join("lab-zone.anchor");
                std::fs::write(&path, anchor).expect("write trust anchor");
                args.push("--trust-anchor".to_string());
                args.push(path.display().to_string());
            }
            None => {
                args.push("--dnssec".to_string());
                args.push("trust-resolver".to_string());
            }
        }
        for (host, server) in &self.servers {
            args.push("--connect-to".to_string());
            args.push(format!("{host}:25::{}", server.port()));
        }
        args
    }

    /// `HEAD… DOMAINS… <lab args> EXTRA…`: the arguments of a run against
    /// the lab, HEAD being the subcommand and its options (`check
    /// --format ndjson`, `policy --format postfix`).
    pub fn command_line(&self, head: &[&str], domains: &[&str], extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = head.iter().map(|s| s.to_string()).collect();
        args.extend(domains.iter().map(|d| d.to_string()));
        args.extend(self.args());
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// `smtptls HEAD… DOMAINS… <lab args> EXTRA…` (see [`Lab::command_line`])
    pub async fn smtptls(&self, head: &[&str], domains: &[&str], extra: &[&str]) -> Run {
        smtptls(self.command_line(head, domains, extra)).await
    }

    /// `smtptls check --format json DOMAINS… <lab args> EXTRA…`
    pub async fn check_json(&self, domains: &[&str], extra: &[&str]) -> Run {
        self.smtptls(&["check", "--format", "json"], domains, extra)
            .await
    }

    /// `smtptls check DOMAINS… <lab args> EXTRA…` (table output)
    pub async fn check_table(&self, domains: &[&str], extra: &[&str]) -> Run {
        self.smtptls(&["check"], domains, extra).await
    }
}
