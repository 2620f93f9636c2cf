//! Where an `X509` input token comes from: this server's TLS handshake, or the header a TLS
//! offload engine sets (`deployment-offloaded-two-way-tls-header-key`), believed only when
//! the connection comes from one of `deployment-tls-offload-engine-hosts`.

use base64::Engine as _;

use crate::engine::{EngineError, MAX_CERT_BYTES, ProvenChain};
use crate::instance::ResolvedInstance;
use crate::instance::resolve::x509::MAX_CHAIN;

fn refused(m: &str) -> EngineError {
    EngineError::refused(format!("X.509: {m}"))
}

/// The client's certificate chain, with who proved possession of its key.
pub fn chain(
    instance: &ResolvedInstance,
    headers: &warp::http::HeaderMap,
    peer: &super::Peer,
) -> Result<ProvenChain, EngineError> {
    let (header, hosts) = instance.config.tls_offload();
    if let Some(value) = header.and_then(|h| headers.get(h)) {
        // A header anyone can set is only believed from the offload engine itself.
        let from = peer.addr.map(|a| a.ip().to_canonical());
        let trusted = from.filter(|ip| {
            hosts
                .iter()
                .filter_map(|h| h.parse::<std::net::IpAddr>().ok())
                .any(|h| h.to_canonical() == *ip)
        });
        let Some(host) = trusted else {
            tracing::warn!(instance = %instance.config.subpath(), peer = ?from, "client certificate header from a host that is not a TLS offload engine of the instance");
            return Err(refused(
                "the client certificate header is accepted only from the hosts in deployment-tls-offload-engine-hosts",
            ));
        };
        let text = value
            .to_str()
            .map_err(|_| refused("the client certificate header is not ASCII"))?;
        let chain = from_header(text).map_err(|m| refused(&m))?;
        return Ok(ProvenChain::from_offload_engine(chain, host));
    }
    match &peer.tls_chain {
        Some(chain) => Ok(ProvenChain::from_tls_handshake(chain.to_vec())),
        None => Err(refused(
            "no client certificate: present one in the TLS handshake with this server, or through the instance's TLS offload engine",
        )),
    }
}

/// Reads a certificate header: PEM (one or more certificates, the leaf first; newlines may
/// be spaces, as some proxies send them) or base64 DER, either possibly percent-encoded (as
/// nginx's `$ssl_client_escaped_cert`).
pub fn from_header(value: &str) -> Result<Vec<Vec<u8>>, String> {
    if value.len() > MAX_CHAIN * MAX_CERT_BYTES * 2 {
        return Err("the client certificate header is too long".into());
    }
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| "the client certificate header is not valid percent-encoding")?;
    let b64 = base64::engine::general_purpose::STANDARD;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    if decoded.contains(BEGIN) {
        let mut rest = &*decoded;
        while let Some(start) = rest.find(BEGIN) {
            let body = &rest[start + BEGIN.len()..];
            let end = body.find(END).ok_or("a PEM certificate has no END line")?;
            let clean: String = body[..end].split_whitespace().collect();
            out.push(
                b64.decode(clean)
                    .map_err(|_| "a PEM certificate is not base64")?,
            );
            rest = &body[end + END.len()..];
        }
    } else {
        let clean: String = decoded.split_whitespace().collect();
        out.push(
            b64.decode(clean)
                .map_err(|_| "the client certificate header is neither PEM nor base64 DER")?,
        );
    }
    if out.is_empty() || out.len() > MAX_CHAIN {
        return Err(format!(
            "the client certificate header must hold 1 to {MAX_CHAIN} certificates"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pem_spaced_pem_escaped_pem_and_base64_der() {
        let der = b"\x30\x03\x02\x01\x01".to_vec();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
        assert_eq!(from_header(&pem).unwrap(), vec![der.clone()]);
        assert_eq!(
            from_header(&pem.replace('\n', " ")).unwrap(),
            vec![der.clone()]
        );
        let escaped = pem
            .replace('\n', "%0A")
            .replace(' ', "%20")
            .replace('+', "%2B")
            .replace('=', "%3D")
            .replace('/', "%2F");
        assert_eq!(from_header(&escaped).unwrap(), vec![der.clone()]);
        assert_eq!(from_header(&b64).unwrap(), vec![der.clone()]);
        assert_eq!(from_header(&format!("{pem}{pem}")).unwrap().len(), 2);
        assert!(from_header("%zz").is_err());
        assert!(from_header("-----BEGIN CERTIFICATE-----\nAAAA").is_err());
        assert!(from_header("not base64!").is_err());
    }
}
