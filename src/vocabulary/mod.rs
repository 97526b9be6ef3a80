//! Layer 0, the shared vocabulary: the words every other layer uses and
//! none defines for itself — finding ids and severities, verdicts and the
//! threshold over them, NCSC-NL levels, the scan mode, the class of an
//! address. No I/O, no rules.
//! (`domain` and `options`, the domain name and the run's options, are the
//! rest of this layer.)

mod address_class;
mod explain;
mod failure;
mod finding;
mod level;
mod scan_mode;
mod service;
mod verdict;

pub use address_class::{AddressClass, ProbeRule};
pub use explain::{Advice, Explanation, explain};
pub use failure::{ErrorKind, ErrorPhase, Failure};
pub use finding::{Finding, FindingId, Fix, FixBy, Severity};
pub use level::{LevelThreshold, NcscLevel};
pub use scan_mode::ScanMode;
pub use service::Service;
pub use verdict::{Threshold, Verdict};

/// The JSON name of an enum value (`lookup-failed`, `tls-handshake`), so
/// every output and the diff use the same words as the json format.
pub fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
