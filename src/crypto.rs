//! The one crypto provider (aws-lc-rs) of every TLS connection, signature
//! check and digest in the tool: the prober's handshakes, the MTA-STS
//! fetch, the PKIX and DANE checks of the inspector. One place, so a build
//! can never end up with two providers (which makes
//! `ClientConfig::builder()` panic). Network-observation layer; the layers
//! above use it too.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The provider, fresh for each configuration that takes one.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// SHA-256 of `bytes`, lower-case hex: certificate and SPKI fingerprints
/// (what TLSA `3 0 1` and `3 1 1` pin) and the MTA-STS policy text's hash.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
