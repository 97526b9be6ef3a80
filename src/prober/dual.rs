//! The second hello of a dual-certificate server: one more connection,
//! STARTTLS again, and a TLS hello that offers only the signature schemes
//! of the key type the main handshake did not get (ECDSA after an RSA
//! certificate, RSA after an ECDSA one). A server with an RSA and an
//! ECDSA chain (Postfix's `smtpd_tls_chain_files`) must then show its
//! other chain; a server with one key type fails that handshake, which is
//! normal and no error of the address.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::smtp::SmtpStream;
use super::tls::{self, KeyFamily, RecordingVerifier, TlsFailure};
use super::{Phase, ProbeError, ProbeErrorKind, ProbeSettings, ProbeTarget};

/// What the second hello found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherCertificate {
    /// The key type the hello asked for.
    pub family: KeyFamily,
    pub outcome: OtherOutcome,
}

/// The server's answer to a hello offering only [`OtherCertificate::family`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherOutcome {
    /// Another certificate than the main handshake's, leaf first, as
    /// sent; `handshake` says whether the handshake then completed (it
    /// may not, e.g. when the server signs with a scheme not offered).
    Served {
        chain: Vec<CertificateDer<'static>>,
        handshake: Result<(), TlsFailure>,
    },
    /// The same certificate again: the server has one, and ignored what
    /// the hello offered.
    Same,
    /// No certificate: the handshake failed before one arrived, as with
    /// a server that has no key of that type.
    NoneServed(TlsFailure),
}

impl OtherCertificate {
    /// The other chain, when the server has one.
    pub fn chain(&self) -> Option<&[CertificateDer<'static>]> {
        match &self.outcome {
            OtherOutcome::Served { chain, .. } => Some(chain),
            _ => None,
        }
    }
}

/// The key type a second hello asks for after the main handshake showed
/// `main_leaf`: `None` when that is neither RSA nor ECDSA (see
/// [`KeyFamily`]), and then no second hello is made.
pub fn family_to_ask(main_leaf: &CertificateDer<'_>) -> Option<KeyFamily> {
    KeyFamily::of(main_leaf).map(KeyFamily::other)
}

/// The second hello, offering only `family`'s signature schemes; the
/// chain is kept when its leaf differs from `main_leaf`. An `Err` is a
/// failure before the hello (the address's manners: a timeout, a 421)
/// or a handshake that timed out, never a handshake the server refused.
pub async fn ask(
    target: &ProbeTarget,
    settings: &ProbeSettings,
    family: KeyFamily,
    main_leaf: &CertificateDer<'_>,
) -> Result<OtherCertificate, ProbeError> {
    let conn = super::open_starttls(target, settings, "STARTTLS").await?;
    if conn.buffered() > 0 {
        return Err(ProbeError {
            phase: Phase::Starttls,
            kind: ProbeErrorKind::PlaintextAfterStarttls(conn.buffered()),
        });
    }
    let handshake_error = |kind| ProbeError {
        phase: Phase::TlsHandshake,
        kind,
    };
    let verifier = RecordingVerifier::offering(tls::provider(), family);
    let config = tls::client_config(verifier.clone())
        .map_err(|e| handshake_error(ProbeErrorKind::Tls(TlsFailure::Other(e.to_string()))))?;
    let server_name = ServerName::try_from(target.host.as_str().to_string()).map_err(|_| {
        handshake_error(ProbeErrorKind::Tls(TlsFailure::InvalidServerName(
            target.host.to_string(),
        )))
    })?;
    let connector = TlsConnector::from(Arc::new(config));
    let limit = settings.timeouts.handshake;
    let handshake = match timeout(limit, connector.connect(server_name, conn.into_inner())).await {
        Ok(Ok(stream)) => {
            // Polite: QUIT inside the session, then close it.
            let mut conn = SmtpStream::new(stream);
            super::quit(&mut conn, settings.timeouts.command).await;
            let mut stream = conn.into_inner();
            let _ = timeout(
                settings.timeouts.command,
                tokio::io::AsyncWriteExt::shutdown(&mut stream),
            )
            .await;
            Ok(())
        }
        Ok(Err(e)) => Err(TlsFailure::from_io(&e)),
        // A stalled handshake is the address's timeout like any other.
        Err(_) => return Err(handshake_error(ProbeErrorKind::Timeout(limit))),
    };
    let chain = verifier.presented().map(|p| p.chain).unwrap_or_default();
    let outcome = match chain.first() {
        Some(leaf) if leaf.as_ref() != main_leaf.as_ref() => {
            OtherOutcome::Served { chain, handshake }
        }
        Some(_) => OtherOutcome::Same,
        None => OtherOutcome::NoneServed(handshake.err().unwrap_or(TlsFailure::Closed)),
    };
    Ok(OtherCertificate { family, outcome })
}
