//! The `delivery` section of a row: what each kind of sender would do,
//! built from the inspector's [`assess::Delivery`].

use serde::{Deserialize, Serialize};

use super::mirror::mirror;
use crate::inspector::assessment as assess;

/// The outcome for the three kinds of sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Uses STARTTLS when offered, accepts any certificate, else sends in
    /// clear text (most MTAs by default).
    pub opportunistic: Outcome,
    /// Enforces the domain's MTA-STS policy (RFC 8461).
    pub mta_sts: Outcome,
    /// Enforces DANE TLSA records (RFC 7672).
    pub dane: Outcome,
}

/// What one kind of sender would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub result: DeliveryResult,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryResult {
    /// Delivered over TLS. Authenticated for MTA-STS senders and for DANE
    /// senders on hosts with usable TLSA records; otherwise encrypted only
    /// — the reason says which.
    Secure,
    /// Delivered without encryption.
    Cleartext,
    /// Not delivered now; retried, then bounced if it persists.
    Deferred,
    /// This kind of sender has no policy to enforce for the domain and
    /// behaves opportunistically.
    NotApplicable,
}

mirror!(assess::DeliveryResult => DeliveryResult {
    Secure,
    Cleartext,
    Deferred,
    NotApplicable,
});

impl From<&assess::Outcome> for Outcome {
    fn from(o: &assess::Outcome) -> Self {
        Outcome {
            result: o.result.into(),
            reason: o.reason.clone(),
        }
    }
}

impl From<&assess::Delivery> for Delivery {
    fn from(d: &assess::Delivery) -> Self {
        Delivery {
            opportunistic: Outcome::from(&d.opportunistic),
            mta_sts: Outcome::from(&d.mta_sts),
            dane: Outcome::from(&d.dane),
        }
    }
}
