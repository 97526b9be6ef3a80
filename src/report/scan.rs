//! The `scan` and `starttls_injection` sections of an address row, built
//! from what the prober saw (the findings about them are the inspector's).

use super::{
    DheReport, GroupReport, InjectionReport, InjectionResult, ScanReport, SuiteReport,
    VersionReport, WeakSuitesReport,
};
use crate::prober::injection::{Injection, InjectionError};
use crate::prober::scan::{TlsScan, Weakness, suites};

/// The report section of a scan.
pub(super) fn scan_report(scan: &TlsScan) -> ScanReport {
    let weak = |w: Weakness| {
        scan.weak
            .iter()
            .find(|(x, _)| *x == w)
            .and_then(|(_, v)| *v)
    };
    ScanReport {
        mode: scan.mode,
        connections: scan.connections,
        complete: scan.stopped.is_none(),
        stopped: scan.stopped.clone(),
        versions: scan
            .versions
            .iter()
            .map(|(v, s)| VersionReport {
                version: (*v).into(),
                accepted: s.accepted,
                preferred_suite: s.preferred.map(suites::name),
                suites: s.suites.iter().map(|&id| suite(id)).collect(),
                error: s.error.clone(),
            })
            .collect(),
        accepted_versions: scan
            .accepted_versions()
            .into_iter()
            .map(Into::into)
            .collect(),
        server_order: scan.server_order,
        weak_suites: WeakSuitesReport {
            null: weak(Weakness::Null),
            anonymous: weak(Weakness::Anonymous),
            export: weak(Weakness::Export),
            rc4: weak(Weakness::Rc4),
            des: weak(Weakness::Des),
            triple_des: weak(Weakness::TripleDes),
            static_rsa: weak(Weakness::StaticRsa),
            cbc: weak(Weakness::Cbc),
        },
        dhe: scan.dhe.map(|(bits, named)| DheReport {
            bits,
            group: named.map(|g| suites::group_name(g).to_ascii_lowercase()),
            level: suites::dhe_level(named),
        }),
        groups: scan
            .groups
            .iter()
            .map(|&g| GroupReport {
                name: suites::group_name(g),
                level: suites::group_level(g),
            })
            .collect(),
        post_quantum_accepted: scan.post_quantum_accepted,
        compression: scan.compression,
        secure_renegotiation: scan.secure_renegotiation,
    }
}

fn suite(id: u16) -> SuiteReport {
    SuiteReport {
        name: suites::name(id),
        level: suites::level(id),
    }
}

/// The report section of the injection test.
pub(super) fn injection_report(result: &Result<Injection, InjectionError>) -> InjectionReport {
    match result {
        Ok(Injection::Discarded) => InjectionReport {
            result: InjectionResult::Discarded,
            reply: None,
            error: None,
        },
        Ok(Injection::AnsweredInPlaintext(r)) => InjectionReport {
            result: InjectionResult::AnsweredInPlaintext,
            reply: Some(r.summary()),
            error: None,
        },
        Ok(Injection::Vulnerable(r)) => InjectionReport {
            result: InjectionResult::Vulnerable,
            reply: Some(r.summary()),
            error: None,
        },
        Err(e) => InjectionReport {
            result: InjectionResult::Error,
            reply: None,
            error: Some(e.to_string()),
        },
    }
}
