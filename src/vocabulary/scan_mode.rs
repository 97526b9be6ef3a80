//! `--scan`: how much of what a server also accepts is looked at.

use std::fmt;
use std::str::FromStr;

/// How much scanning `--scan` asks for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ScanMode {
    /// No scan and no injection test: one connection per address.
    Off,
    /// A fixed handful of probes per address (the default).
    #[default]
    Light,
    /// Every suite of every accepted version, every group.
    Deep,
}

impl ScanMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanMode::Off => "off",
            ScanMode::Light => "light",
            ScanMode::Deep => "deep",
        }
    }
}

impl fmt::Display for ScanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScanMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(ScanMode::Off),
            "light" => Ok(ScanMode::Light),
            "deep" => Ok(ScanMode::Deep),
            _ => Err(format!("unknown scan mode {s:?} (light, deep or off)")),
        }
    }
}
