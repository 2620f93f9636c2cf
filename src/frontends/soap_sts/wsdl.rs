//! WSDL per instance and the schemas it imports.

use crate::http::HttpReply;
use crate::instance::ResolvedInstance;
use crate::instance::TokenType;
use crate::xml::ns::{
    OPENAM_POLICY, SP_INCLUDE_ALWAYS_TO_RECIPIENT as INCLUDE_ALWAYS, TOKEN_TYPE_JWT,
};

use super::Context;

const XML: &str = "text/xml; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// `GET /sts/{subpath}?wsdl`.
pub fn get(state: &Context, subpath: &str, query: &str) -> HttpReply {
    let Some(instance) = state.soap_instance(subpath) else {
        return HttpReply::text(404, TEXT, format!("no STS instance at /sts/{subpath}\n"));
    };
    if !query.split('&').any(|p| p.eq_ignore_ascii_case("wsdl")) {
        return HttpReply::text(
            405,
            TEXT,
            "POST SOAP requests here; GET ?wsdl for the WSDL\n".into(),
        );
    }
    let endpoint = format!("{}/sts/{subpath}", state.base_url);
    HttpReply::text(200, XML, wsdl(&instance, &endpoint, &state.base_url))
}

/// `GET /xsd/{name}`.
pub fn get_xsd(name: &str) -> HttpReply {
    match xsd(name) {
        Some(x) => HttpReply::text(200, XML, x.to_owned()),
        None => HttpReply::text(404, TEXT, format!("no schema named {name}\n")),
    }
}

const WSDL_TEMPLATE: &str = include_str!("../../../wsdl/sts.wsdl");

/// Schemas served at `/xsd/<name>`, from the `xsd/` folder (a test checks that every file of
/// the folder is listed).
pub const XSD_FILES: &[(&str, &str)] = &[
    (
        "ws-trust-1.3.xsd",
        include_str!("../../../xsd/ws-trust-1.3.xsd"),
    ),
    (
        "ws-trust-1.4.xsd",
        include_str!("../../../xsd/ws-trust-1.4.xsd"),
    ),
    ("ws-policy.xsd", include_str!("../../../xsd/ws-policy.xsd")),
    ("ws-addr.xsd", include_str!("../../../xsd/ws-addr.xsd")),
    (
        "oasis-wss-wssecurity-secext-1.0.xsd",
        include_str!("../../../xsd/oasis-wss-wssecurity-secext-1.0.xsd"),
    ),
    (
        "oasis-wss-wssecurity-utility-1.0.xsd",
        include_str!("../../../xsd/oasis-wss-wssecurity-utility-1.0.xsd"),
    ),
];

pub fn xsd(name: &str) -> Option<&'static str> {
    XSD_FILES.iter().find(|(n, _)| *n == name).map(|(_, x)| *x)
}

/// WS-SecurityPolicy for what the instance accepts: one alternative per input token of its
/// `security-policy-validated-token-config`, each with a timestamp, WS-Trust 1.3, and, when the
/// public URL is https, a transport binding. A UsernameToken, an OpenAM session token (in
/// ForgeRock's policy namespace) and a SAML 2.0 assertion are supporting tokens; an id_token is
/// an `sp:IssuedToken` of the JWT token type (WS-SecurityPolicy has no JWT assertion); X.509 is
/// an endorsing supporting token (the certificate whose key signs the message) and, over https,
/// also a transport binding that requires a client certificate. Every token assertion carries
/// the nested `wsp:Policy` that WS-SecurityPolicy 1.2 requires (empty when it has no
/// properties); supporting tokens also say `sp:IncludeToken`.
pub fn security_policy(instance: &ResolvedInstance, https: bool) -> String {
    let binding = |client_cert: bool| {
        format!(
            concat!(
                "<sp:TransportBinding><wsp:Policy><sp:TransportToken><wsp:Policy><sp:HttpsToken><wsp:Policy>{}",
                "</wsp:Policy></sp:HttpsToken></wsp:Policy></sp:TransportToken><sp:AlgorithmSuite><wsp:Policy><sp:Basic256Sha256/>",
                "</wsp:Policy></sp:AlgorithmSuite><sp:Layout><wsp:Policy><sp:Lax/></wsp:Policy>",
                "</sp:Layout><sp:IncludeTimestamp/></wsp:Policy></sp:TransportBinding>"
            ),
            if client_cert {
                "<sp:RequireClientCertificate/>"
            } else {
                ""
            }
        )
    };
    let transport = if https { binding(false) } else { String::new() };
    let common = concat!(
        "<sp:Wss11><wsp:Policy/></sp:Wss11>",
        "<sp:Trust13><wsp:Policy><sp:MustSupportIssuedTokens/></wsp:Policy></sp:Trust13>",
        "<wsam:Addressing wsp:Optional=\"true\"><wsp:Policy/></wsam:Addressing>"
    );
    let mut tokens = Vec::new();
    if instance.accepts(TokenType::Username) {
        tokens.push(format!(
            "<sp:UsernameToken sp:IncludeToken=\"{INCLUDE_ALWAYS}\"><wsp:Policy><sp:WssUsernameToken10/></wsp:Policy></sp:UsernameToken>"
        ));
    }
    if instance.accepts(TokenType::OpenAm) {
        tokens.push(format!(
            "<openam:OpenAMSessionToken xmlns:openam=\"{OPENAM_POLICY}\" sp:IncludeToken=\"{INCLUDE_ALWAYS}\"><wsp:Policy/></openam:OpenAMSessionToken>"
        ));
    }
    if instance.accepts(TokenType::Saml2) {
        tokens.push(format!(
            "<sp:SamlToken sp:IncludeToken=\"{INCLUDE_ALWAYS}\"><wsp:Policy><sp:WssSamlV20Token11/></wsp:Policy></sp:SamlToken>"
        ));
    }
    if instance.accepts(TokenType::OpenIdConnect) {
        tokens.push(format!(
            "<sp:IssuedToken sp:IncludeToken=\"{INCLUDE_ALWAYS}\"><sp:RequestSecurityTokenTemplate><wst:TokenType>{TOKEN_TYPE_JWT}</wst:TokenType></sp:RequestSecurityTokenTemplate><wsp:Policy/></sp:IssuedToken>"
        ));
    }
    let mut p = String::from("<wsp:Policy wsu:Id=\"STS_Security_Policy\"><wsp:ExactlyOne>");
    for t in &tokens {
        p.push_str(&format!(
            "<wsp:All>{transport}<sp:SupportingTokens><wsp:Policy>{t}</wsp:Policy></sp:SupportingTokens>{common}</wsp:All>"
        ));
    }
    let x509 = instance.accepts(TokenType::X509);
    if x509 {
        p.push_str(&format!(
            "<wsp:All>{transport}<sp:EndorsingSupportingTokens><wsp:Policy><sp:X509Token sp:IncludeToken=\"{INCLUDE_ALWAYS}\"><wsp:Policy><sp:WssX509V3Token10/></wsp:Policy></sp:X509Token></wsp:Policy></sp:EndorsingSupportingTokens>{common}</wsp:All>"
        ));
        if https {
            p.push_str(&format!("<wsp:All>{}{common}</wsp:All>", binding(true)));
        }
    }
    if tokens.is_empty() && !x509 {
        p.push_str(&format!("<wsp:All>{transport}{common}</wsp:All>"));
    }
    p.push_str("</wsp:ExactlyOne></wsp:Policy>");
    p
}

/// Whether the instance serves Renew without a fault: it issues signed assertions (what
/// Renew re-issues; an unsigned one cannot be shown to be its own).
pub fn serves_renew(instance: &ResolvedInstance) -> bool {
    instance.config().saml2().is_some() && instance.saml_signing().is_some()
}

const RENEW_ACTION: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Renew";

/// The Renew operation of the portType and of each binding, or nothing.
fn renew_parts(instance: &ResolvedInstance) -> [String; 3] {
    if !serves_renew(instance) {
        return Default::default();
    }
    let binding = |soap: &str| {
        format!(
            "<wsdl:operation name=\"Renew\"><{soap}:operation soapAction=\"{RENEW_ACTION}\" style=\"document\"/><wsdl:input><{soap}:body use=\"literal\"/></wsdl:input><wsdl:output><{soap}:body use=\"literal\"/></wsdl:output></wsdl:operation>"
        )
    };
    [
        format!(
            "<wsdl:operation name=\"Renew\"><wsdl:input message=\"tns:RequestSecurityTokenMsg\" wsam:Action=\"{RENEW_ACTION}\"/><wsdl:output message=\"tns:RequestSecurityTokenResponseMsg\" wsam:Action=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/RenewFinal\"/></wsdl:operation>"
        ),
        binding("soap"),
        binding("soap12"),
    ]
}

/// The WSDL of one instance.
pub fn wsdl(instance: &ResolvedInstance, endpoint_url: &str, base_url: &str) -> String {
    let esc = |s: &str| crate::xml::escape_attr(s).into_owned();
    let [renew_op, renew_11, renew_12] = renew_parts(instance);
    WSDL_TEMPLATE
        .replace("{{RENEW_OPERATION}}", &renew_op)
        .replace("{{RENEW_SOAP}}", &renew_11)
        .replace("{{RENEW_SOAP12}}", &renew_12)
        .replace("{{ENDPOINT_URL}}", &esc(endpoint_url))
        .replace("{{XSD_BASE}}", &esc(&format!("{base_url}/xsd/")))
        .replace(
            "{{SECURITY_POLICY}}",
            &security_policy(instance, base_url.starts_with("https://")),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("xsd");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".xsd") {
                assert!(xsd(&name).is_some(), "{name} is not listed in XSD_FILES");
            }
        }
    }

    #[test]
    fn template_placeholders_are_all_known() {
        let rest = WSDL_TEMPLATE
            .replace("{{ENDPOINT_URL}}", "")
            .replace("{{XSD_BASE}}", "")
            .replace("{{SECURITY_POLICY}}", "")
            .replace("{{RENEW_OPERATION}}", "")
            .replace("{{RENEW_SOAP}}", "")
            .replace("{{RENEW_SOAP12}}", "");
        assert!(!rest.contains("{{"), "unknown placeholder in wsdl/sts.wsdl");
    }
}
