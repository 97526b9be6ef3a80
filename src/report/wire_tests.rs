//! The report owns its JSON: a complete row reads back as it was written,
//! matches the schema and its reviewed snapshot, and no file of `report/`
//! re-exports a lower layer's type as a report type.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::read::{self, ReadError, fixture};
use super::*;

/// A row with every section filled: certificate, TLSA, MTA-STS with its
/// policy, TLS-RPT, delivery, the deep scan and the injection test, the
/// legacy session, configuration (domain and address), findings, an
/// address error, timings, and what the caps left out.
fn complete_row() -> DomainReport {
    let mut d = fixture::report();
    let mut a = fixture::deep_scanned("192.0.2.1");
    // Every field of the scan, not every suite: a snapshot one can review.
    if let Some(scan) = &mut a.scan {
        for v in &mut scan.versions {
            v.suites.truncate(1);
        }
        scan.versions[0].accepted = None;
        scan.versions[0].error = Some("timed out".into());
        scan.groups.truncate(1);
    }
    // A dual-certificate server: its RSA certificate beside the main one.
    let mut rsa = fixture::certificate("mx1.r.example", 200);
    rsa.key = crate::report::KeyInfo {
        kind: "RSA".into(),
        bits: 3072,
        curve: None,
    };
    a.other_certificates = vec![crate::report::OtherCertificateReport {
        key_type: crate::report::KeyType::Rsa,
        certificate: rsa,
        dane: DaneResult::Mismatch,
    }];
    a.legacy_tls = true;
    if let Some(t) = &mut a.tls {
        t.ocsp_stapled = true;
        t.requiretls = true;
        t.ocsp = Some(OcspReport {
            status: OcspStatus::Revoked,
            freshness: Some(OcspFreshness::Fresh),
            signature: OcspSignature::NotChecked,
            this_update: Some("2026-01-01T00:00:00Z".into()),
            next_update: Some("2026-01-08T00:00:00Z".into()),
            revoked_at: Some("2025-12-31T00:00:00Z".into()),
            problem: Some("signature not checked: the issuer's certificate was not served".into()),
        });
    }
    if let Some(c) = &mut a.certificate {
        c.must_staple = true;
    }
    a.legacy_session = Some(LegacySessionReport {
        version: TlsVersion::Tls10,
        cipher: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA".into(),
        dhe_bits: Some(1024),
        group: None,
        level: NcscLevel::Insufficient,
    });
    a.configuration = Some(Configuration {
        level: NcscLevel::PhaseOut,
        items: vec!["tls.protocols: accepted: TLSv1.0".into()],
        lower_bound: false,
    });
    a.findings = vec![Finding::warn(
        crate::vocabulary::FindingId::TlsVersion,
        "TLSv1.0 accepted",
    )];
    a.timings_ms = Timings {
        connect: Some(1),
        banner: Some(2),
        ehlo: Some(3),
        helo: None,
        starttls: Some(4),
        tls_handshake: Some(5),
        ehlo_after_tls: Some(6),
        total: 21,
    };
    if let Some(c) = &mut a.certificate {
        c.chain_valid = false;
        c.chain_error = Some(ChainError::IncompleteChain);
    }
    d.mx[0].addresses[0] = a;
    d.mx[0].addresses_left_out = vec!["192.0.2.99".parse().expect("IP")];
    d.mx[0].mta_sts_match = Some(true);
    d.mx[0].post_quantum = Some(false);
    d.mx[0].cname = Some("real.r.example".into());
    d.mx_left_out = vec![LeftOutMx {
        host: "mx9.r.example".into(),
        preference: 90,
    }];
    d.mta_sts = Some(MtaStsReport {
        record: RecordState::Valid,
        id: Some("20250101".into()),
        policy: Some(StsPolicyReport {
            url: "https://mta-sts.r.example/.well-known/mta-sts.txt".into(),
            mode: Mode::Enforce,
            mx: vec!["*.r.example".into()],
            max_age: 604800,
            text_sha256: Some("ab".repeat(32)),
        }),
        fetch_error: None,
    });
    let outcome = |result, reason: &str| Outcome {
        result,
        reason: reason.into(),
    };
    d.delivery = Some(Delivery {
        opportunistic: outcome(DeliveryResult::Secure, "TLS"),
        mta_sts: outcome(DeliveryResult::Deferred, "chain"),
        dane: outcome(DeliveryResult::Secure, "TLSA matches"),
    });
    d.configuration = Some(Configuration {
        level: NcscLevel::PhaseOut,
        items: vec!["mx1.r.example [192.0.2.1]: tls.protocols: accepted: TLSv1.0".into()],
        lower_bound: false,
    });
    d.findings = vec![Finding::ok(
        crate::vocabulary::FindingId::MtaStsRecord,
        "one valid record",
    )];
    d
}

/// The JSON of `complete_row`, as the report writes it.
fn complete_json() -> String {
    serde_json::to_string_pretty(&complete_row()).expect("json")
}

#[test]
fn a_complete_row_reads_back_to_the_same_json() {
    let written = complete_json();
    // Every optional section is there, so none is skipped by the round trip.
    let value: Value = serde_json::from_str(&written).expect("value");
    let address = &value["mx"][0]["addresses"][0];
    for (what, v) in [
        ("mta_sts.policy", &value["mta_sts"]["policy"]),
        ("tls_rpt", &value["tls_rpt"]),
        ("delivery", &value["delivery"]),
        ("configuration", &value["configuration"]),
        ("mx_left_out", &value["mx_left_out"][0]),
        ("tlsa", &value["mx"][0]["tlsa"]),
        ("tls", &address["tls"]),
        ("tls.ocsp.revoked_at", &address["tls"]["ocsp"]["revoked_at"]),
        (
            "certificate.chain_error",
            &address["certificate"]["chain_error"],
        ),
        ("scan.dhe", &address["scan"]["dhe"]),
        ("starttls_injection", &address["starttls_injection"]),
        ("legacy_session", &address["legacy_session"]),
        ("address configuration", &address["configuration"]),
        (
            "timings_ms.tls_handshake",
            &address["timings_ms"]["tls_handshake"],
        ),
        ("error", &value["mx"][0]["addresses"][1]["error"]),
    ] {
        assert!(!v.is_null(), "{what} is missing from the complete row");
    }
    let read: DomainReport = serde_json::from_str(&written).expect("read back");
    let again = serde_json::to_string_pretty(&read).expect("json");
    assert_eq!(again, written);
}

/// The complete row against `schema/report.schema.json`'s `domain`.
#[test]
fn a_complete_row_matches_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let text = std::fs::read_to_string(&path).expect("the schema");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    let domain = serde_json::json!({
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/domain",
    });
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&domain)
        .expect("the schema compiles");
    let row: Value = serde_json::from_str(&complete_json()).expect("value");
    let errors: Vec<String> = validator
        .iter_errors(&row)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The wire shape itself, reviewed: a field renamed, moved or retyped in
/// a report type shows here as a snapshot change.
#[test]
fn a_complete_row_snapshot() {
    insta::assert_snapshot!(complete_json());
}

#[test]
fn tls_versions_are_spelt_and_ordered_as_on_the_wire() {
    for v in TlsVersion::ALL {
        assert_eq!(
            serde_json::to_value(v).expect("json"),
            Value::from(v.as_str())
        );
        let back: TlsVersion = serde_json::from_value(Value::from(v.as_str())).expect("reads back");
        assert_eq!(back, v);
        // The prober's version and the report's are the same version.
        let prober = crate::prober::scan::Version::from(v);
        assert_eq!(TlsVersion::from(prober), v);
        assert_eq!(prober.as_str(), v.as_str());
    }
    // Oldest first: the order `diff` judges by is the wire numbers'.
    let wire = |v: TlsVersion| crate::prober::scan::Version::from(v).wire();
    assert!(TlsVersion::ALL.windows(2).all(|w| w[0] < w[1]));
    assert!(TlsVersion::ALL.windows(2).all(|w| wire(w[0]) < wire(w[1])));
}

/// A version no smtptls report ever held (rustls negotiates 1.2 and 1.3;
/// `unknown` was the prober's placeholder for a version it could not
/// name, never written) is an error that names the field, not a guess.
#[test]
fn an_unknown_tls_version_is_an_error_naming_the_field() {
    for bad in ["unknown", "TLSv1.4", "tlsv1.3"] {
        let row = serde_json::to_string(&fixture::report())
            .expect("json")
            .replacen(
                "\"version\":\"TLSv1.3\"",
                &format!("\"version\":\"{bad}\""),
                1,
            );
        assert!(row.contains(bad));
        let mut rows = read::rows::<_, DomainReport>(std::io::Cursor::new(row), "old.ndjson");
        let err = rows.next().expect("a row").expect_err("unknown version");
        assert!(matches!(err, ReadError::BadLine { line: 1, .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&format!(
                "mx[0].addresses[0].tls.version: unknown variant `{bad}`"
            )),
            "{message}"
        );
    }
}

#[test]
fn an_unprobed_address_has_nothing_but_its_socket() {
    let a = AddressReport::unprobed("2001:db8::1".parse().expect("IP"), 2525);
    assert_eq!(
        serde_json::to_value(&a).expect("json"),
        serde_json::json!({
            "ip": "2001:db8::1", "port": 2525, "starttls": false, "banner": null,
            "extensions": [], "extensions_after_tls": null, "tls": null,
            "other_certificates": [],
            "certificate": null, "dane": "insecure", "post_quantum": null, "scan": null,
            "starttls_injection": null, "legacy_tls": false, "legacy_session": null,
            "configuration": null, "error": null, "findings": [], "timings_ms": { "total": 0 }
        })
    );
    assert!(a.reachable() && !a.tls_works() && !a.encrypts() && !a.pkix_valid());
}

// ---------------------------------------------------------------------------
// No lower-layer type is re-exported as a report type.

/// The layers whose types the report must not pass off as its own.
const BELOW: [&str; 4] = ["inspector", "prober", "resolver", "protection"];

/// Re-exports still allowed, each with the reason: `(file, module)`.
/// `report/tlsrpt.rs` is the contract of `smtptls tlsrpt` (its own
/// schema), which re-exports the aggregate-report model of
/// `protection::tls_rpt_report` while that command is being rewritten;
/// its types move here with that rewrite.
const ALLOWED: [(&str, &str); 1] = [("tlsrpt.rs", "protection")];

/// Each `pub use` or `pub type` of `source` that names `crate::<module>`
/// of a layer below, as `(line, module)`. Statements are read whole (a
/// `use` may span lines); comments are skipped.
fn lower_reexports(source: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    let mut statement = String::new();
    let mut first_line = 0;
    for (i, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("").trim();
        if statement.is_empty() {
            let public = code.starts_with("pub ") || code.starts_with("pub(");
            let rest = code.split_once(')').map_or(code, |(_, r)| r);
            let words: Vec<&str> = code
                .strip_prefix("pub ")
                .unwrap_or(rest)
                .split_whitespace()
                .collect();
            if !(public && matches!(words.first(), Some(&"use") | Some(&"type"))) {
                continue;
            }
            first_line = i + 1;
        }
        statement.push_str(code);
        statement.push(' ');
        if code.ends_with(';') {
            let compact: String = statement.split_whitespace().collect();
            for module in BELOW {
                if compact.contains(&format!("crate::{module}")) {
                    found.push((first_line, module));
                }
            }
            statement.clear();
        }
    }
    found
}

fn report_sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("src/report");
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report"),
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn report_sources_reexport_no_lower_layer_type() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let mut offences = Vec::new();
    let mut allowed_seen = Vec::new();
    let sources = report_sources();
    assert!(sources.len() >= 10, "found {sources:?}");
    for path in sources {
        let text = std::fs::read_to_string(&path).expect("source");
        let name = path.strip_prefix(&root).expect("under src/report");
        let name = name.to_string_lossy().replace('\\', "/");
        for (line, module) in lower_reexports(&text) {
            if ALLOWED.contains(&(name.as_str(), module)) {
                allowed_seen.push((name.clone(), module));
            } else {
                offences.push(format!(
                    "src/report/{name}:{line}: re-exports crate::{module}: define the report's own \
                     type in src/report/ and build it From the {module} type"
                ));
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
    for (file, module) in ALLOWED {
        assert!(
            allowed_seen.iter().any(|(f, m)| f == file && *m == module),
            "src/report/{file} no longer re-exports crate::{module}: remove it from ALLOWED"
        );
    }
}

/// The detector itself finds what the guard is for.
#[test]
fn the_reexport_detector_finds_every_spelling() {
    let caught = [
        "pub use crate::inspector::certificate::Certificate as CertificateReport;",
        "pub(crate) use crate::prober::Timings;",
        "pub use crate::protection::{\n    RecordState,\n    TlsaStatus,\n};",
        "pub use crate::resolver :: Dnssec;",
        "pub type Timings = crate::prober::Timings;",
        "  pub use crate::inspector::assessment::{DaneResult, // the result\n  Delivery};",
    ];
    for source in caught {
        assert_eq!(lower_reexports(source).len(), 1, "missed: {source}");
    }
    let clean = [
        "use crate::inspector::assessment as assess;",
        "pub use crate::vocabulary::{Finding, Verdict};",
        "// pub use crate::prober::Timings;",
        "pub use certificate::{CertificateReport, ChainError};",
        "pub fn from(x: crate::prober::Timings) -> Self { todo!() }",
    ];
    for source in clean {
        assert_eq!(lower_reexports(source), Vec::new(), "flagged: {source}");
    }
    // The line of a statement is its first.
    assert_eq!(
        lower_reexports("//! doc\n\npub use crate::protection::{\n    Mode,\n};\n"),
        vec![(3, "protection")]
    );
}

/// A row is a set-up error when its own error is one, or when every
/// probed address failed with `no-route`; one address the machine could
/// reach, or a partner's own failure, makes it the partner's row again.
#[test]
fn a_row_is_a_set_up_error_only_when_nothing_was_reachable_from_here() {
    let failed = |kind| {
        Some(Failure::new(
            ErrorPhase::Connect,
            kind,
            "network unreachable".to_string(),
        ))
    };
    let row = |kinds: &[Option<ErrorKind>]| {
        let mut d = fixture::report();
        d.mx.truncate(1);
        let template = d.mx[0].addresses[0].clone();
        d.mx[0].addresses = kinds
            .iter()
            .map(|k| AddressReport {
                error: k.and_then(failed),
                ..template.clone()
            })
            .collect();
        d
    };
    let no_route = Some(ErrorKind::NoRoute);
    assert_eq!(
        row(&[no_route, no_route]).setup_failure(),
        Some(ErrorKind::NoRoute)
    );
    assert_eq!(row(&[no_route, None]).setup_failure(), None);
    assert_eq!(
        row(&[no_route, Some(ErrorKind::ConnectionRefused)]).setup_failure(),
        None
    );
    assert_eq!(row(&[]).setup_failure(), None, "no address, no claim");
    let unusable = DomainReport::failed(
        "d.example",
        Failure::new(
            ErrorPhase::Dns,
            ErrorKind::ResolverUnusable,
            "not audited".to_string(),
        ),
    );
    assert_eq!(unusable.setup_failure(), Some(ErrorKind::ResolverUnusable));
    let nxdomain = DomainReport::failed(
        "d.example",
        Failure::new(ErrorPhase::Dns, ErrorKind::Nxdomain, "gone".to_string()),
    );
    assert_eq!(nxdomain.setup_failure(), None);
}
