//! `GET /FederationMetadata/2007-06/FederationMetadata.xml`: what AD FS publishes for relying
//! parties and federation partners, for the mapped instance: a SAML 2.0 metadata
//! `md:EntityDescriptor` (entityID = the instance's `issuer-name`, the Issuer of its
//! assertions) with one `fed:SecurityTokenServiceType` role: the token-signing certificate
//! (and, during a rotation, the previous one, which tokens still in use were signed with), the
//! token types the instance issues, and a `fed:SecurityTokenServiceEndpoint` per mixed
//! endpoint served, each pointing at the mex document. No `fed:PassiveRequestorEndpoint`:
//! `sts` serves no passive (browser) WS-Federation endpoint, and only endpoints that exist are
//! published. Signed enveloped over its `ID` with the instance's signing key and algorithms.

use warp::http::Method;

use crate::http::{HttpReply, Outcome, Request};
use crate::instance::{ResolvedInstance, TokenType};
use crate::xml::write::Writer;
use crate::xml::ns::{
    DS, FED, MD, SAML1, SAML2, TOKEN_TYPE_SAML11, TOKEN_TYPE_SAML20, WSA, WSX, XSI,
};

use super::{Context, mapped, ports};

const TEXT: &str = "text/plain; charset=utf-8";
/// `protocolSupportEnumeration` of the role: WS-Trust 1.3, WS-Trust 2005 and WS-Federation 1.2.
const PROTOCOLS: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512 http://schemas.xmlsoap.org/ws/2005/02/trust http://docs.oasis-open.org/wsfed/federation/200706";

/// Every request to `/FederationMetadata/...`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    crate::metrics::note_operation("federation_metadata");
    if req.tail.trim_matches('/') != "2007-06/FederationMetadata.xml" {
        return HttpReply::text(404, TEXT, "not found\n".into()).into();
    }
    let (_, instance) = match mapped(state) {
        Ok(m) => m,
        Err(reply) => return reply.into(),
    };
    if req.method != Method::GET {
        return HttpReply::text(405, TEXT, "GET the metadata\n".into()).into();
    }
    match document(state, &instance) {
        Ok(doc) => HttpReply::text(200, "application/samlmetadata+xml", doc).into(),
        Err(why) => HttpReply::text(503, TEXT, format!("{why}\n")).into(),
    }
}

/// The base64 body of the first certificate in a PEM text.
fn pem_body(pem: &[u8]) -> String {
    String::from_utf8_lossy(pem)
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::trim)
        .collect()
}

/// The signed document, or why there is none.
fn document(state: &Context, instance: &ResolvedInstance) -> Result<String, String> {
    let (Some(saml), Some(signing)) = (instance.config.saml2(), instance.saml_signing()) else {
        return Err(format!(
            "the instance `{}` does not sign SAML assertions, so it has no token-signing certificate to publish",
            instance.config.subpath()
        ));
    };
    let id = crate::tokens::saml2::new_assertion_id();
    // Canonical as written, so that it is signed over its bytes (`xmldsig::sign_canonical`).
    let mut w = Writer::canonical(8192);
    w.start("md:EntityDescriptor")
        .ns("md", MD)
        .id("ID", &id)
        .attr("entityID", &saml.issuer_name);
    // The signature goes first, where the metadata schema puts it.
    let signature_at = w.position();
    // `fed` is named in `xsi:type`'s value: an inclusive prefix.
    w.start("md:RoleDescriptor")
        .ns("xsi", XSI)
        .ns_inclusive("fed", FED)
        .attr("xsi:type", "fed:SecurityTokenServiceType")
        .attr("protocolSupportEnumeration", PROTOCOLS);
    let mut certs = vec![pem_body(signing.key.cert_pem())];
    if let Some(prev) = signing.key.previous() {
        certs.push(pem_body(prev.pem()));
    }
    for c in certs.iter().filter(|c| !c.is_empty()) {
        w.start("md:KeyDescriptor").attr("use", "signing");
        w.start("ds:KeyInfo").ns("ds", DS);
        w.start("ds:X509Data");
        w.element("ds:X509Certificate", c);
        w.end().end().end();
    }
    w.start("fed:TokenTypesOffered");
    if instance.config.issues(TokenType::Saml2) {
        for uri in [SAML2, TOKEN_TYPE_SAML20] {
            w.start("fed:TokenType").attr("Uri", uri).end();
        }
    }
    if instance.config.issues(TokenType::Saml1) {
        for uri in [SAML1, TOKEN_TYPE_SAML11] {
            w.start("fed:TokenType").attr("Uri", uri).end();
        }
    }
    w.end();
    let mex = format!("{}/adfs/services/trust/mex", state.base_url);
    for p in ports(state, instance) {
        w.start("fed:SecurityTokenServiceEndpoint");
        w.start("wsa:EndpointReference").ns("wsa", WSA);
        w.element("wsa:Address", &p.address);
        w.start("wsa:Metadata");
        w.start("wsx:Metadata").ns("wsx", WSX);
        w.start("wsx:MetadataSection")
            .attr("Dialect", "http://schemas.xmlsoap.org/ws/2004/09/mex");
        w.start("wsx:MetadataReference");
        w.element("wsa:Address", &mex);
        w.end().end().end().end().end().end();
    }
    let unsigned = w.finish_canonical();
    let signed = crate::xmldsig::sign_canonical(
        unsigned,
        &crate::xmldsig::Enveloped {
            at: signature_at,
            signature: signing.signature,
            digest: signing.digest,
            key: &signing.key,
        },
    )
    .map_err(|e| {
        tracing::error!(error = %e, "signing FederationMetadata.xml failed");
        "signing the metadata failed".to_owned()
    })?;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push_str(&signed.into_string());
    Ok(out)
}
