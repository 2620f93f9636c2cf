//! WS-Security message signatures with an X.509 BinarySecurityToken: the proof that the
//! requester holds the certificate's key.

use crate::engine::{EngineError, MessageTimestamp, ProvenChain};
use crate::instance::ResolvedInstance;
use crate::instance::TokenType;
use crate::soap::{self, RequestHeaders};

use super::{Context, SoapFailure};

/// The certificate of an X.509 BinarySecurityToken whose key signed this message: the
/// Security header's signature must verify with that key (never a key named elsewhere) and
/// cover exactly the SOAP Body and the Timestamp by their `wsu:Id`s; the Timestamp is then
/// checked for freshness, and the signature value is accepted once. This is the proof of
/// possession; whether the certificate is trusted is the engine's decision, as for TLS.
/// On an instance that takes no X509 input the token is not a credential: a signature that
/// does not verify is ignored, one that does may still prove a `wst:UseKey`.
pub(super) fn message_signer(
    state: &Context,
    instance: &ResolvedInstance,
    env: &soap::Envelope,
    headers: &RequestHeaders,
    input: &[u8],
) -> Result<Option<ProvenChain>, SoapFailure> {
    let Some(der) = &headers.x509_token else {
        return Ok(None);
    };
    let signed = verified_signer(state, instance, env, headers, input, der);
    if instance.accepts(TokenType::X509) {
        signed.map(Some)
    } else {
        Ok(signed.ok())
    }
}

fn verified_signer(
    state: &Context,
    instance: &ResolvedInstance,
    env: &soap::Envelope,
    headers: &RequestHeaders,
    input: &[u8],
    der: &[u8],
) -> Result<ProvenChain, SoapFailure> {
    let fail = |m: &str| SoapFailure::Engine(EngineError::refused(format!("X.509: {m}")));
    let (Some(ts), Some(ts_id), Some(body_id), Some(sig)) = (
        &headers.timestamp,
        &headers.timestamp_id,
        &env.body_id,
        &headers.signature_value,
    ) else {
        return Err(fail(
            "an X.509 BinarySecurityToken needs a ds:Signature in wsse:Security over the soap:Body and a wsu:Timestamp, each with a wsu:Id",
        ));
    };
    let cert = openssl::x509::X509::from_der(der)
        .and_then(|c| c.to_pem())
        .map_err(|_| fail("the BinarySecurityToken is not a DER X.509 certificate"))?;
    let covered = crate::xmldsig::verify_message(input, env.version.ns(), &cert).map_err(|e| {
        tracing::info!(instance = %instance.config.subpath(), error = %e, "message signature refused");
        fail(&format!("the message signature does not verify with the BinarySecurityToken's key: {e}"))
    })?;
    let covered = covered.get();
    if covered.len() != 2 || !covered.contains(body_id) || !covered.contains(ts_id) {
        return Err(fail(
            "the message signature must cover exactly the soap:Body and the wsu:Timestamp",
        ));
    }
    // Freshness: a signed message needs both ends of its Timestamp.
    let (Some(_), Some(expires)) = (ts.created, ts.expires) else {
        return Err(fail("the signed wsu:Timestamp needs Created and Expires"));
    };
    state.engine.check_timestamp(&MessageTimestamp {
        created: ts.created,
        expires: ts.expires,
    })?;
    state.engine.accept_once(b"wss-signature", sig, expires)?;
    Ok(ProvenChain::from_message_signature(der.to_vec()))
}
