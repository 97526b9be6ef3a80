//! The NCSC-NL TLS guideline levels, the scale of the configuration axis.

use serde::{Deserialize, Serialize};

/// The four security levels of the NCSC-NL TLS guidelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NcscLevel {
    Good,
    Sufficient,
    PhaseOut,
    Insufficient,
}

impl NcscLevel {
    /// Best first.
    pub const ALL: [NcscLevel; 4] = [
        NcscLevel::Good,
        NcscLevel::Sufficient,
        NcscLevel::PhaseOut,
        NcscLevel::Insufficient,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NcscLevel::Good => "good",
            NcscLevel::Sufficient => "sufficient",
            NcscLevel::PhaseOut => "phase-out",
            NcscLevel::Insufficient => "insufficient",
        }
    }
}

impl std::fmt::Display for NcscLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
