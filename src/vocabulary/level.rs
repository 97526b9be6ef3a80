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

impl std::str::FromStr for NcscLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        NcscLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!("unknown level {s:?} (one of: good, sufficient, phase-out, insufficient)")
            })
    }
}

/// `--fail-level LEVEL`: a domain whose configuration level is `LEVEL` or
/// worse fails the run. Off by default: the configuration axis is a CI
/// threshold of its own, never part of the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelThreshold(pub NcscLevel);

impl LevelThreshold {
    pub fn fails(self, level: NcscLevel) -> bool {
        level >= self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_threshold_fails_at_and_below_it() {
        let t = LevelThreshold(NcscLevel::PhaseOut);
        assert!(!t.fails(NcscLevel::Good));
        assert!(!t.fails(NcscLevel::Sufficient));
        assert!(t.fails(NcscLevel::PhaseOut));
        assert!(t.fails(NcscLevel::Insufficient));
        assert!(!LevelThreshold(NcscLevel::Insufficient).fails(NcscLevel::PhaseOut));
        for l in NcscLevel::ALL {
            assert_eq!(l.as_str().parse::<NcscLevel>(), Ok(l));
        }
        assert!("weak".parse::<NcscLevel>().is_err());
    }
}
