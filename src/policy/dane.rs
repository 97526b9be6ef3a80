//! (in progress) DANE for SMTP.

/// One TLSA record's fields (as published; no validation yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}
