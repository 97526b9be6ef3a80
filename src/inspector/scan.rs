//! Grading the protocol scan and the STARTTLS injection test of one
//! address: the findings with their NCSC-NL levels (`tls.protocols`,
//! `tls.cipher-suites`, `tls.cipher-order`, `tls.key-exchange`,
//! `tls.compression`, `tls.renegotiation`, `tls.post-quantum`, `tls.scan`,
//! `starttls.injection`). The levels themselves are defined next to the
//! suites, in `prober::scan::suites`; `docs/grading.md` gives the sources.

use crate::prober::Probe;
use crate::prober::injection::Injection;
use crate::prober::scan::{NcscLevel, ServerHello, TlsScan, suites};

use crate::vocabulary::{Finding, FindingId, Severity};

/// `X (level), Y (level)` for a finding message.
fn listing<T>(items: &[T], name: impl Fn(&T) -> String, level: impl Fn(&T) -> NcscLevel) -> String {
    items
        .iter()
        .map(|i| format!("{} ({})", name(i), level(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Findings from the main handshake's group, the scan and the injection test.
pub fn findings(probe: &Probe, post_quantum: Option<bool>, findings: &mut Vec<Finding>) {
    if let Some(tls) = &probe.tls {
        let group = tls.key_exchange_group.as_deref().unwrap_or("none");
        findings.push(if post_quantum == Some(true) {
            Finding::ok(
                FindingId::TlsPostQuantum,
                format!("hybrid post-quantum key exchange {group} negotiated"),
            )
        } else {
            Finding::info(
                FindingId::TlsPostQuantum,
                format!("no post-quantum key exchange (X25519MLKEM768 offered, {group} chosen)"),
            )
        });
    }
    if let Some(scan) = &probe.scan {
        scan_findings(scan, probe, findings);
    }
    if let Some(result) = &probe.injection {
        findings.push(match result {
            Ok(Injection::Vulnerable(reply)) => Finding::fail(
                FindingId::StarttlsInjection,
                format!(
                    "a command pipelined behind STARTTLS was answered inside TLS ({}): an attacker can inject commands into the encrypted session (CVE-2011-0411 class)",
                    reply.summary()
                ),
            ),
            Ok(Injection::Discarded) => Finding::ok(
                FindingId::StarttlsInjection,
                "commands pipelined behind STARTTLS are discarded",
            ),
            Ok(Injection::AnsweredInPlaintext(reply)) => Finding::info(
                FindingId::StarttlsInjection,
                format!(
                    "a command pipelined behind STARTTLS was answered in plain text before TLS ({}): not injectable, but RFC 3207 §4.2 says to discard it",
                    reply.summary()
                ),
            ),
            Err(e) => Finding::info(
                FindingId::StarttlsInjection,
                format!("the injection test could not tell: {e}"),
            ),
        });
    }
}

fn scan_findings(scan: &TlsScan, probe: &Probe, findings: &mut Vec<Finding>) {
    if let Some(why) = &scan.stopped {
        findings.push(Finding::warn(
            FindingId::TlsScan,
            format!("scan incomplete: {why}"),
        ));
    }

    let accepted = scan.accepted_versions();
    if let Some(worst) = accepted.iter().map(|v| v.level()).max() {
        let list = listing(&accepted, |v| v.as_str().to_string(), |v| v.level());
        findings.push(Finding::leveled(
            FindingId::TlsProtocols,
            worst,
            format!("accepted: {list}"),
        ));
    }

    // Suites: every one the scan saw, and the main handshake's.
    let mut seen: Vec<u16> = scan.all_suites().into_iter().collect();
    if let Some(id) = probe
        .tls
        .as_ref()
        .and_then(|t| tls_parser::TlsCipherSuite::from_name(&t.cipher))
        .map(|s| s.id.0)
        && !seen.contains(&id)
    {
        seen.push(id);
    }
    suites::sort_strong_first(&mut seen);
    if let Some(worst) = seen.iter().map(|&s| suites::level(s)).max() {
        let below: Vec<u16> = seen
            .iter()
            .copied()
            .filter(|&s| suites::level(s) >= NcscLevel::PhaseOut)
            .collect();
        // What a light scan leaves out is said once, by the configuration's
        // lower bound (the table's `?`), not in every address's message;
        // what to do about anonymous suites is the finding's advice
        // (`report::advice`).
        let message = if below.is_empty() {
            format!("{} suites seen, all good or sufficient", seen.len())
        } else {
            format!(
                "accepted: {}",
                listing(&below, |&s| suites::name(s), |&s| suites::level(s))
            )
        };
        findings.push(Finding::leveled(FindingId::TlsCipherSuites, worst, message));
    }

    match scan.server_order {
        Some(true) => findings.push(Finding::ok(
            FindingId::TlsCipherOrder,
            "the server enforces its own suite order",
        )),
        Some(false) => {
            let weak_known = seen
                .iter()
                .any(|&s| suites::level(s) >= NcscLevel::PhaseOut);
            findings.push(if weak_known {
                Finding::warn(
                    FindingId::TlsCipherOrder,
                    "the server follows the client's suite order although it accepts phase-out or insufficient suites (NCSC-NL B2-5: prefer the strongest)",
                )
            } else {
                Finding::ok(
                    FindingId::TlsCipherOrder,
                    "the server follows the client's suite order (fine while every accepted suite is good or sufficient)",
                )
            });
        }
        None => {}
    }

    // Key exchange: every group seen (main handshake included) and the DHE prime.
    let mut groups: Vec<(String, NcscLevel)> = scan
        .groups
        .iter()
        .map(|&g| (suites::group_name(g), suites::group_level(g)))
        .collect();
    if let Some(main) = probe
        .tls
        .as_ref()
        .and_then(|t| t.key_exchange_group.clone())
        && !groups.iter().any(|(n, _)| *n == main)
    {
        let level = (0u16..=0x11ff)
            .find(|&g| suites::group_name(g) == main)
            .map_or(NcscLevel::Insufficient, suites::group_level);
        groups.push((main, level));
    }
    let mut parts: Vec<(String, NcscLevel)> = groups;
    if let Some((bits, named)) = scan.dhe {
        let name = match named {
            Some(g) => format!(
                "DHE {} ({bits} bits)",
                suites::group_name(g).to_ascii_lowercase()
            ),
            None => format!("DHE with a {bits}-bit custom group"),
        };
        parts.push((name, suites::dhe_level(named)));
    }
    if let Some(worst) = parts.iter().map(|(_, l)| *l).max() {
        findings.push(Finding::leveled(
            FindingId::TlsKeyExchange,
            worst,
            format!(
                "key exchange: {}",
                listing(&parts, |(n, _)| n.clone(), |(_, l)| *l)
            ),
        ));
    }

    match scan.compression {
        Some(true) => findings.push(Finding::leveled(
            FindingId::TlsCompression,
            NcscLevel::Insufficient,
            "the server compresses TLS records (DEFLATE) when offered: CRIME",
        )),
        Some(false) => findings.push(Finding::leveled(
            FindingId::TlsCompression,
            NcscLevel::Good,
            "no TLS compression",
        )),
        None => {}
    }
    match scan.secure_renegotiation {
        Some(true) => findings.push(Finding::ok(
            FindingId::TlsRenegotiation,
            "secure renegotiation (RFC 5746) supported",
        )),
        Some(false) => findings.push(Finding::new(
            FindingId::TlsRenegotiation,
            Severity::Warn,
            "no renegotiation_info in the TLS ≤ 1.2 ServerHello (RFC 5746): the server either refuses renegotiation or allows the insecure kind; smtptls does not renegotiate to tell which",
        )),
        None => {}
    }
}

/// Commands pipelined behind STARTTLS are run inside TLS: an attacker can
/// inject into the session of a correctly configured sender, so the address
/// cannot be called secure (see `verdict.rs`).
pub fn injectable(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|f| f.id == FindingId::StarttlsInjection && f.severity == Severity::Fail)
}

/// The main handshake failed, yet the fallback hello (what a sender on
/// OpenSSL with its defaults offers) got a ServerHello, with a version or
/// suite that smtptls's own client does not offer (TLS ≤ 1.1, DHE, static
/// RSA, CBC…): such senders encrypt (Postfix does, in the interop suite),
/// stricter ones do not. A server whose choice our client offers too
/// failed for another reason (a bad signature, say), which an OpenSSL
/// sender meets as well, and is not counted. Made in every `--scan` mode,
/// so the verdict does not depend on it.
pub fn legacy_session(probe: &Probe) -> Option<&ServerHello> {
    use crate::prober::Phase;
    use crate::prober::scan::Version;
    use crate::prober::tls::client_offers;
    let failed_handshake = probe
        .error
        .as_ref()
        .is_some_and(|e| e.phase == Phase::TlsHandshake);
    if !failed_handshake {
        return None;
    }
    let hello = probe.fallback.as_ref()?.hello()?;
    (hello.version < Version::Tls12 || !client_offers(hello.suite)).then_some(hello)
}

/// The session an OpenSSL-default sender gets where smtptls's own client got
/// none: what the server chose from the fallback hello, with the NCSC-NL
/// level of the worst of version, suite and DHE group. `warn` whatever the
/// level: the address is `LegacyTls` (at most `encrypted`) already.
pub fn legacy_session_finding(hello: &ServerHello) -> Finding {
    use crate::prober::scan::KeyExchange;
    let level = legacy_session_level(hello);
    let mut what = format!(
        "{} with {}",
        hello.version.as_str(),
        suites::name(hello.suite)
    );
    match &hello.key_exchange {
        Some(KeyExchange::Dhe { bits, .. }) => what.push_str(&format!(", a {bits}-bit DHE group")),
        Some(KeyExchange::Ecdhe { group }) => {
            what.push_str(&format!(", {}", suites::group_name(*group)))
        }
        Some(KeyExchange::EcdheExplicit) => what.push_str(", explicit curve parameters"),
        None => {}
    }
    let mut finding = Finding::leveled(
        FindingId::TlsLegacySession,
        level,
        format!(
            "smtptls's TLS 1.2/1.3 client got no session; the hello of an OpenSSL sender with its defaults gets {what} ({level}): such senders encrypt, stricter ones do not"
        ),
    );
    finding.severity = Severity::Warn;
    finding
}

/// The NCSC-NL level of a legacy session: the worst of its version, suite
/// and key-exchange group.
pub fn legacy_session_level(hello: &ServerHello) -> NcscLevel {
    use crate::prober::scan::KeyExchange;
    let exchange = match &hello.key_exchange {
        Some(KeyExchange::Dhe { named, .. }) => suites::dhe_level(*named),
        Some(KeyExchange::Ecdhe { group }) => suites::group_level(*group),
        Some(KeyExchange::EcdheExplicit) => NcscLevel::Insufficient,
        None => NcscLevel::Good,
    };
    hello
        .version
        .level()
        .max(suites::level(hello.suite))
        .max(exchange)
}

#[cfg(test)]
mod tests {
    //! The scan's findings (`docs/grading.md`, "Findings of the scan") with
    //! their severities, and the two scan facts that do move a grade:
    //! injection (`Weak`) and a legacy-only server (`LegacyTls`).

    use super::*;
    use crate::inspector::testkit::*;
    use crate::prober::injection::InjectionError;
    use crate::prober::scan::Version;
    use crate::prober::smtp::Reply;
    use crate::prober::{Probe, TlsFailure};

    /// `TLS_RSA_WITH_AES_128_GCM_SHA256`: TLS 1.2, static RSA, which
    /// rustls does not offer.
    const RSA_AES128_GCM: u16 = 0x009c;
    const X25519: u16 = 0x001d;
    const SECP224R1: u16 = 0x0015;
    const FFDHE2048: u16 = 0x0100;
    const FFDHE3072: u16 = 0x0101;

    /// A working TLS 1.3 session and a light scan that saw TLS 1.2 with
    /// one good suite, changed by `edit`.
    fn scanned(edit: impl FnOnce(&mut TlsScan)) -> Probe {
        let mut s = scan(&[(Version::Tls12, &[ECDHE_ECDSA_AES128_GCM])], Vec::new());
        edit(&mut s);
        Probe {
            scan: Some(s),
            ..tls(valid(MX1))
        }
    }

    fn injection(result: Result<Injection, InjectionError>) -> Probe {
        Probe {
            injection: Some(result),
            ..tls(valid(MX1))
        }
    }

    fn answered() -> Reply {
        reply(250, "2.0.0 OK")
    }

    #[test]
    fn scan_findings_and_their_severities() {
        let cases: Vec<(&str, Probe, Option<bool>, &[&str])> = vec![
            (
                "TLS 1.2 and 1.3 only, good suites, no post-quantum",
                scanned(|_| {}),
                Some(false),
                &[
                    "tls.protocols=ok",
                    "tls.cipher-suites=ok",
                    "tls.key-exchange=ok",
                    "tls.post-quantum=info",
                    "!tls.scan",
                    "!tls.cipher-order",
                ],
            ),
            (
                "post-quantum key exchange",
                scanned(|_| {}),
                Some(true),
                &["tls.post-quantum=ok"],
            ),
            (
                "TLS 1.0 accepted",
                scanned(|s| {
                    let legacy = scan(&[(Version::Tls10, &[RSA_AES128_CBC_SHA])], Vec::new());
                    s.versions.extend(legacy.versions);
                }),
                Some(false),
                &["tls.protocols=warn", "tls.cipher-suites=warn"],
            ),
            (
                "the client's order with a weak suite accepted",
                scanned(|s| {
                    s.versions[0].1.suites.push(RSA_AES128_GCM);
                    s.server_order = Some(false);
                }),
                Some(false),
                &["tls.cipher-suites=warn", "tls.cipher-order=warn"],
            ),
            (
                "the client's order, every suite good",
                scanned(|s| s.server_order = Some(false)),
                Some(false),
                &["tls.cipher-order=ok"],
            ),
            (
                "the server's order",
                scanned(|s| s.server_order = Some(true)),
                Some(false),
                &["tls.cipher-order=ok"],
            ),
            (
                "X25519 seen",
                scanned(|s| {
                    s.groups.insert(X25519);
                }),
                Some(false),
                &["tls.key-exchange=ok"],
            ),
            (
                "secp224r1 accepted",
                scanned(|s| {
                    s.groups.insert(SECP224R1);
                }),
                Some(false),
                &["tls.key-exchange=warn"],
            ),
            (
                "DHE with ffdhe2048",
                scanned(|s| s.dhe = Some((2048, Some(FFDHE2048)))),
                Some(false),
                &["tls.key-exchange=warn"],
            ),
            (
                "DHE with ffdhe3072 (phase-out)",
                scanned(|s| s.dhe = Some((3072, Some(FFDHE3072)))),
                Some(false),
                &["tls.key-exchange=warn"],
            ),
            (
                "no compression, secure renegotiation",
                scanned(|s| {
                    s.compression = Some(false);
                    s.secure_renegotiation = Some(true);
                }),
                Some(false),
                &["tls.compression=ok", "tls.renegotiation=ok"],
            ),
            (
                "DEFLATE, no renegotiation_info",
                scanned(|s| {
                    s.compression = Some(true);
                    s.secure_renegotiation = Some(false);
                }),
                Some(false),
                &["tls.compression=warn", "tls.renegotiation=warn"],
            ),
            (
                "scan cut short",
                scanned(|s| s.stopped = Some("421 from the server".into())),
                Some(false),
                &["tls.scan=warn"],
            ),
            (
                "injection: answered inside TLS",
                injection(Ok(Injection::Vulnerable(answered()))),
                Some(false),
                &["starttls.injection=fail"],
            ),
            (
                "injection: discarded",
                injection(Ok(Injection::Discarded)),
                Some(false),
                &["starttls.injection=ok"],
            ),
            (
                "injection: answered in plain text",
                injection(Ok(Injection::AnsweredInPlaintext(answered()))),
                Some(false),
                &["starttls.injection=info"],
            ),
            (
                "injection: could not tell",
                injection(Err(InjectionError::Reply("closed".into()))),
                Some(false),
                &["starttls.injection=info"],
            ),
            (
                "scan off, no injection test",
                tls(valid(MX1)),
                Some(false),
                &[
                    "!tls.protocols",
                    "!starttls.injection",
                    "tls.post-quantum=info",
                ],
            ),
        ];
        let mut failures = Vec::new();
        for (name, probe, pq, expected) in &cases {
            let mut out = Vec::new();
            findings(probe, *pq, &mut out);
            if let Err(e) = check_findings(&out, expected) {
                failures.push(format!("{name}: {e}"));
            }
            let is_injectable = name.ends_with("answered inside TLS");
            if super::injectable(&out) != is_injectable {
                failures.push(format!("{name}: injectable is not {is_injectable}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn legacy_tls_when_the_handshake_failed_and_the_fallback_got_only_legacy() {
        let failed = |fallback: Option<crate::prober::scan::Fallback>| Probe {
            fallback,
            ..handshake_failed(TlsFailure::Alert("protocol_version".into()), Vec::new())
        };
        let cases: Vec<(&str, Probe, bool)> = vec![
            ("TLS 1.0 with static RSA", legacy_only(Vec::new()), true),
            (
                "TLS 1.2 with a suite our client does not offer",
                failed(Some(fallback(Version::Tls12, RSA_AES128_GCM, Vec::new()))),
                true,
            ),
            (
                "TLS 1.2 with a suite our client offers",
                failed(Some(fallback(
                    Version::Tls12,
                    ECDHE_ECDSA_AES128_GCM,
                    Vec::new(),
                ))),
                false,
            ),
            ("no fallback answer", failed(None), false),
            (
                "the main handshake worked",
                Probe {
                    fallback: Some(fallback(Version::Tls10, RSA_AES128_CBC_SHA, Vec::new())),
                    ..tls(valid(MX1))
                },
                false,
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(_, p, want)| legacy_session(p).is_some() != *want)
            .map(|(name, _, want)| format!("{name}: expected {want}"))
            .collect();
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }
}
