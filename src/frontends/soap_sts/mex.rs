//! WS-MetadataExchange: the WSDL that AD FS clients read to find where to send a username and
//! password (MSAL's and ADAL's `mex.py`) or a certificate-signed request (WCF). Served by every
//! SOAP instance (`GET /sts/{instance}/mex`, or a SOAP `Get`/`GetMetadata` POSTed there) and
//! by the AD FS paths (`frontends::adfs`).
//!
//! The shape is AD FS's, because MSAL and ADAL match it by path, not by meaning: policies are
//! children of `wsdl:definitions` (a `GET` answers the bare WSDL, as WCF's and AD FS's mex do;
//! a SOAP request gets it inside `wsx:Metadata/wsx:MetadataSection`); a usernamemixed policy is
//! `wsp:Policy/wsp:ExactlyOne/wsp:All/sp:SignedEncryptedSupportingTokens/.../sp:WssUsernameToken10`
//! (WS-SecurityPolicy 1.2, with WS-Trust 1.3) or `sp2005:SignedSupportingTokens/...` (the 2005
//! draft, with WS-Trust 2005) beside an `sp:TransportBinding`; every binding is SOAP 1.2 (both
//! clients read `soap12:binding` and `soap12:operation` of every binding without checking that
//! they exist); each port names its address in `wsa10:EndpointReference/wsa10:Address`, which
//! the clients take only when it is `https://`.

use crate::http::{HttpReply, Outcome, Request};
use crate::instance::{ResolvedInstance, TokenType};
use crate::soap::{self, ReplyAddressing, read_headers};
use crate::wstrust::TrustVersion;
use crate::xml::write::Writer;
use crate::xml::ns::{
    MEX_GET_METADATA_REQUEST, MEX_GET_METADATA_RESPONSE, WST2005, MEX_WST2005_ISSUE_ACTION,
    SOAP_HTTP_TRANSPORT, SP_INCLUDE_ALWAYS_TO_RECIPIENT, SP12, SP2005,
    SP2005_INCLUDE_ALWAYS_TO_RECIPIENT, WSA, WSA_NSS, WSAW, WSDL, WSDL_SOAP12, WSP_NSS, WST, WSU,
    WSX, WXF_GET, WXF_GET_RESPONSE, XS,
};

use super::{Context, FaultTo, SoapFailure, SoapHttp, fault_reply};

const XML: &str = "text/xml; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const ISSUE_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue";

/// The input an AD FS "mixed" endpoint takes in its Security header (over TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `usernamemixed`: a UsernameToken with the password.
    Username,
    /// `certificatemixed`: an X.509 BinarySecurityToken whose key signed the message.
    Certificate,
}

/// The WS-Trust version an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    V13,
    V2005,
}

/// The WS-Trust versions of the mixed endpoints, 1.3 first (the one MSAL and ADAL prefer).
pub const TRUSTS: &[Trust] = &[Trust::V13, Trust::V2005];

impl Input {
    /// Whether the instance takes this input at all.
    pub fn accepted_by(self, instance: &ResolvedInstance) -> bool {
        match self {
            Input::Username => instance.accepts(TokenType::Username),
            Input::Certificate => instance.accepts(TokenType::X509),
        }
    }

    fn binding_prefix(self) -> &'static str {
        match self {
            Input::Username => "UserNameWSTrustBinding",
            Input::Certificate => "CertificateWSTrustBinding",
        }
    }

    /// The fault when a mixed endpoint's request lacks its input.
    pub(super) fn missing(self) -> SoapFailure {
        SoapFailure::Engine(crate::engine::EngineError::refused(match self {
            Input::Username => {
                "this usernamemixed endpoint takes a wsse:UsernameToken in the Security header"
            }
            Input::Certificate => {
                "this certificatemixed endpoint takes an X.509 BinarySecurityToken whose key signed the message"
            }
        }))
    }
}

/// What an AD FS mixed path requires: its input and its WS-Trust version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mixed {
    pub input: Input,
    pub trust: Trust,
}

impl Mixed {
    /// The request carries the input the path names (a UsernameToken, a verified signer).
    pub(super) fn check_input(self, username: bool, signed: bool) -> Result<(), SoapFailure> {
        match self.input {
            Input::Username if !username => Err(Input::Username.missing()),
            Input::Certificate if !signed => Err(Input::Certificate.missing()),
            _ => Ok(()),
        }
    }

    /// The RST speaks the path's WS-Trust version (`/13/`: 1.3 or 1.4, `/2005/`: 2005).
    pub(super) fn check_trust(self, v: TrustVersion) -> Result<(), SoapFailure> {
        let ok = match self.trust {
            Trust::V13 => v != TrustVersion::V2005,
            Trust::V2005 => v == TrustVersion::V2005,
        };
        if ok {
            return Ok(());
        }
        Err(SoapFailure::Dispatch(match self.trust {
            Trust::V13 => "this endpoint (/trust/13/) takes WS-Trust 1.3 requests; send WS-Trust 2005 to /trust/2005/".into(),
            Trust::V2005 => "this endpoint (/trust/2005/) takes WS-Trust 2005 requests; send WS-Trust 1.3 to /trust/13/".into(),
        }))
    }
}

impl Trust {
    fn contract(self) -> &'static str {
        match self {
            Trust::V13 => "IWSTrust13Async",
            Trust::V2005 => "IWSTrustFeb2005Async",
        }
    }

    fn issue_action(self) -> &'static str {
        match self {
            Trust::V13 => ISSUE_13,
            Trust::V2005 => MEX_WST2005_ISSUE_ACTION,
        }
    }
}

/// One endpoint in the WSDL: where, what input, which WS-Trust.
#[derive(Debug, Clone)]
pub struct Port {
    pub address: String,
    pub input: Input,
    pub trust: Trust,
}

impl Port {
    fn binding(&self) -> String {
        format!("{}_{}", self.input.binding_prefix(), self.trust.contract())
    }
}

/// The ports of a SOAP instance's own endpoint: one per input it accepts and WS-Trust
/// version served, all at `/sts/{subpath}`.
pub fn instance_ports(instance: &ResolvedInstance, address: &str) -> Vec<Port> {
    let mut ports = Vec::new();
    for input in [Input::Username, Input::Certificate] {
        if input.accepted_by(instance) {
            for trust in TRUSTS {
                ports.push(Port {
                    address: address.to_owned(),
                    input,
                    trust: *trust,
                });
            }
        }
    }
    ports
}

/// `GET /sts/{subpath}/mex`: the instance's WSDL with the policies of its mixed endpoints.
pub fn get(state: &Context, subpath: &str) -> HttpReply {
    let Some(instance) = state.soap_instance(subpath) else {
        return HttpReply::text(404, TEXT, format!("no STS instance at /sts/{subpath}\n"));
    };
    let ports = instance_ports(&instance, &format!("{}/sts/{subpath}", state.base_url));
    HttpReply::text(200, XML, definitions(&ports, &state.base_url))
}

/// A SOAP `Get` or `GetMetadata` POSTed to `/sts/{subpath}/mex`.
pub(super) fn post_instance(state: &Context, subpath: &str, req: &Request) -> Outcome {
    let Some(instance) = state.soap_instance(subpath) else {
        return HttpReply::text(404, TEXT, format!("no STS instance at /sts/{subpath}\n")).into();
    };
    let ports = instance_ports(&instance, &format!("{}/sts/{subpath}", state.base_url));
    post(state, subpath, req, &definitions(&ports, &state.base_url)).into()
}

/// Answers a SOAP WS-Transfer `Get` or WS-MetadataExchange `GetMetadata` with `wsdl` inside
/// `wsx:Metadata`, in the request's SOAP version; anything else is a fault.
pub fn post(state: &Context, subpath: &str, req: &Request, wsdl: &str) -> HttpReply {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let http = SoapHttp {
        content_type: header(warp::http::header::CONTENT_TYPE.as_str()),
        soap_action: header("soapaction"),
        session: None,
        headers: &req.headers,
        peer: &req.peer,
        signed_by: None,
        requires: None,
    };
    let announced = FaultTo {
        version: http
            .content_type
            .and_then(soap::version_from_content_type)
            .unwrap_or(soap::SoapVersion::V11),
        trust: TrustVersion::V13,
        addressing: None,
    };
    let answered = super::content_type(&http)
        .map_err(|f| announced.fault(f))
        .and_then(|ct| metadata_envelope(state, &ct, &req.body))
        .and_then(|(env, to)| {
            let reply = metadata_reply(&http, &env, wsdl).map_err(|f| to.fault(f))?;
            Ok((env.version, reply))
        });
    match answered {
        Ok((version, (wsa_ns, action, relates_to, body))) => HttpReply {
            status: 200,
            content_type: version.content_type(),
            body: soap::write_envelope(
                version,
                Some(&ReplyAddressing {
                    wsa_ns,
                    action,
                    relates_to: relates_to.as_deref(),
                }),
                &body,
            ),
            set_cookie: None,
            headers: Vec::new(),
        },
        Err(super::Fault { failure, to }) => {
            fault_reply(to.version, to.trust, subpath, &failure, to.addressing.as_ref())
        }
    }
}

/// The envelope of a metadata request, whose Body is empty for WS-Transfer `Get` (which the
/// WS-Trust pipeline's envelope reader refuses: an RST is exactly one element). `body` is
/// the `soap:Body` itself here. Faults from here on carry the request's addressing.
fn metadata_envelope(
    state: &Context,
    ct: &super::ContentType,
    bytes: &[u8],
) -> Result<(soap::Envelope, FaultTo), super::Fault> {
    let announced = FaultTo {
        version: ct.version,
        trust: TrustVersion::V13,
        addressing: None,
    };
    let xml = crate::xml::to_utf8(bytes, ct.charset.as_deref(), state.max_body_bytes)
        .map_err(|e| announced.fault(soap::SoapError::from(e)))?;
    let root = crate::xml::parse(&xml, state.limits)
        .map_err(|e| announced.fault(soap::SoapError::from(e)))?;
    let version = match (root.ns.as_deref(), root.local.as_str()) {
        (Some(n), "Envelope") if n == ct.version.ns() => ct.version,
        (_, "Envelope") => return Err(announced.fault(soap::SoapError::VersionMismatch)),
        _ => return Err(announced.fault(soap::SoapError::NotEnvelope)),
    };
    let mut headers = Vec::new();
    let mut body = None;
    for e in root.elements() {
        match (e.ns.as_deref() == Some(version.ns()), e.local.as_str()) {
            (true, "Header") if headers.is_empty() && body.is_none() => {
                headers = e.elements().cloned().collect();
            }
            (true, "Body") if body.is_none() => body = Some(e.clone()),
            _ => return Err(announced.fault(soap::SoapError::Structure)),
        }
    }
    let body = body.ok_or_else(|| announced.fault(soap::SoapError::NoBody))?;
    let env = soap::Envelope {
        version,
        headers,
        body,
        body_id: None,
    };
    let to = FaultTo {
        version,
        trust: TrustVersion::V13,
        addressing: Some(soap::reply_addressing_of(&env)),
    };
    Ok((env, to))
}

type Reply = (&'static str, &'static str, Option<String>, String);

fn metadata_reply(http: &SoapHttp, env: &soap::Envelope, wsdl: &str) -> Result<Reply, SoapFailure> {
    let headers = read_headers(env)?;
    let action = [
        headers.addressing.action.clone(),
        http.soap_action
            .map(|a| a.trim().trim_matches('"').to_owned())
            .filter(|a| !a.is_empty()),
        http.content_type.and_then(soap::content_type_action),
    ]
    .into_iter()
    .flatten()
    .next()
    .ok_or_else(|| SoapFailure::Dispatch(format!("a mex request names its action: {WXF_GET}")))?;
    let response = match action.as_str() {
        WXF_GET => WXF_GET_RESPONSE,
        MEX_GET_METADATA_REQUEST => MEX_GET_METADATA_RESPONSE,
        other => {
            return Err(SoapFailure::Dispatch(format!(
                "action `{other}` is not a metadata request ({WXF_GET} or {MEX_GET_METADATA_REQUEST})"
            )));
        }
    };
    // GetMetadata may ask for one dialect: only the WSDL is served, so another gets no section.
    let dialect = env
        .body
        .child(&[WSX], "GetMetadata")
        .and_then(|g| g.child(&[WSX], "Dialect"))
        .map(|d| d.text());
    let mut w = Writer::with_capacity(wsdl.len() + 256);
    w.start("wsx:Metadata").ns("wsx", WSX);
    if dialect.as_deref().is_none_or(|d| d.trim() == WSDL) {
        w.start("wsx:MetadataSection")
            .attr("Dialect", WSDL)
            .attr("Identifier", TARGET_NS)
            .raw(wsdl.trim_start_matches(XML_DECL))
            .end();
    }
    let body = w.finish();
    let wsa_ns = headers.addressing.ns.unwrap_or(WSA_NSS[0]);
    Ok((wsa_ns, response, headers.addressing.message_id, body))
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
const TARGET_NS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice";

/// The WSDL for `ports`: a policy per (input, WS-Trust version), a SOAP 1.2 binding per
/// policy, a port per endpoint. The transport binding (HTTPS) is stated only for `https://`
/// addresses: a plain HTTP endpoint is not one a client should send a password to, and the
/// clients skip it.
pub fn definitions(ports: &[Port], base_url: &str) -> String {
    let wsp = WSP_NSS[0];
    let mut kinds: Vec<(Input, Trust)> = Vec::new();
    for p in ports {
        if !kinds.contains(&(p.input, p.trust)) {
            kinds.push((p.input, p.trust));
        }
    }
    let mut w = Writer::with_capacity(8192);
    w.raw(XML_DECL);
    w.start("wsdl:definitions")
        .ns("wsdl", WSDL)
        .ns("soap12", WSDL_SOAP12)
        .ns("wsp", wsp)
        .ns("wsu", WSU)
        .ns("wsa10", WSA)
        .ns("wsaw", WSAW)
        .ns("xsd", XS)
        .ns("wst", WST)
        .ns("t", WST2005)
        .ns("tns", TARGET_NS)
        .attr("name", "SecurityTokenService")
        .attr("targetNamespace", TARGET_NS);
    for (input, trust) in &kinds {
        let https = ports
            .iter()
            .any(|p| p.input == *input && p.trust == *trust && p.address.starts_with("https://"));
        policy(&mut w, *input, *trust, https);
    }
    w.start("wsdl:types");
    w.start("xsd:schema").attr("targetNamespace", &format!("{TARGET_NS}/Imports"));
    w.start("xsd:import")
        .attr("namespace", WST)
        .attr("schemaLocation", &format!("{base_url}/xsd/ws-trust-1.3.xsd"))
        .end();
    if kinds.iter().any(|(_, t)| *t == Trust::V2005) {
        w.start("xsd:import").attr("namespace", WST2005).end();
    }
    w.end().end();
    let trusts: Vec<Trust> = [Trust::V13, Trust::V2005]
        .into_iter()
        .filter(|t| kinds.iter().any(|(_, k)| k == t))
        .collect();
    for t in &trusts {
        let (req, resp) = match t {
            Trust::V13 => ("wst:RequestSecurityToken", "wst:RequestSecurityTokenResponseCollection"),
            Trust::V2005 => ("t:RequestSecurityToken", "t:RequestSecurityTokenResponse"),
        };
        for (suffix, element) in [("_Request", req), ("_Response", resp)] {
            w.start("wsdl:message")
                .attr("name", &format!("{}{suffix}", t.contract()));
            w.start("wsdl:part")
                .attr("name", "request")
                .attr("element", element)
                .end();
            w.end();
        }
    }
    for t in &trusts {
        let c = t.contract();
        w.start("wsdl:portType").attr("name", c);
        w.start("wsdl:operation").attr("name", &operation(*t));
        w.start("wsdl:input")
            .attr("wsaw:Action", t.issue_action())
            .attr("message", &format!("tns:{c}_Request"))
            .end();
        w.start("wsdl:output")
            .attr("message", &format!("tns:{c}_Response"))
            .end();
        w.end().end();
    }
    for (input, trust) in &kinds {
        let name = format!("{}_{}", input.binding_prefix(), trust.contract());
        w.start("wsdl:binding")
            .attr("name", &name)
            .attr("type", &format!("tns:{}", trust.contract()));
        w.start("wsp:PolicyReference")
            .attr("URI", &format!("#{name}_policy"))
            .end();
        w.start("soap12:binding")
            .attr("transport", SOAP_HTTP_TRANSPORT)
            .end();
        w.start("wsdl:operation").attr("name", &operation(*trust));
        w.start("soap12:operation")
            .attr("soapAction", trust.issue_action())
            .attr("style", "document")
            .end();
        for io in ["wsdl:input", "wsdl:output"] {
            w.start(io);
            w.start("soap12:body").attr("use", "literal").end();
            w.end();
        }
        w.end().end();
    }
    w.start("wsdl:service").attr("name", "SecurityTokenService");
    for p in ports {
        let b = p.binding();
        w.start("wsdl:port")
            .attr("name", &b)
            .attr("binding", &format!("tns:{b}"));
        w.start("soap12:address")
            .attr("location", &p.address)
            .end();
        w.start("wsa10:EndpointReference");
        w.element("wsa10:Address", &p.address);
        w.end().end();
    }
    w.finish()
}

fn operation(t: Trust) -> String {
    match t {
        Trust::V13 => "Trust13IssueAsync".into(),
        Trust::V2005 => "TrustFeb2005IssueAsync".into(),
    }
}

/// One `wsp:Policy` in AD FS's shape for an input and a WS-Trust version.
fn policy(w: &mut Writer, input: Input, trust: Trust, https: bool) {
    let (sp, include) = match trust {
        Trust::V13 => (SP12, SP_INCLUDE_ALWAYS_TO_RECIPIENT),
        Trust::V2005 => (SP2005, SP2005_INCLUDE_ALWAYS_TO_RECIPIENT),
    };
    let name = format!("{}_{}_policy", input.binding_prefix(), trust.contract());
    w.start("wsp:Policy").attr("wsu:Id", &name);
    w.start("wsp:ExactlyOne");
    w.start("wsp:All");
    if https {
        w.start("sp:TransportBinding").ns("sp", sp);
        w.start("wsp:Policy");
        w.start("sp:TransportToken");
        w.start("wsp:Policy");
        match trust {
            // The 2005 draft's HttpsToken has an attribute, 1.2's a nested policy.
            Trust::V13 => w.start("sp:HttpsToken").raw("<wsp:Policy/>").end(),
            Trust::V2005 => w
                .start("sp:HttpsToken")
                .attr("RequireClientCertificate", "false")
                .end(),
        };
        w.end().end();
        w.start("sp:AlgorithmSuite")
            .raw("<wsp:Policy><sp:Basic256/></wsp:Policy>")
            .end();
        w.start("sp:Layout")
            .raw("<wsp:Policy><sp:Strict/></wsp:Policy>")
            .end();
        w.start("sp:IncludeTimestamp").end();
        w.end().end();
    }
    let tokens = match (input, trust) {
        (Input::Username, Trust::V13) => "sp:SignedEncryptedSupportingTokens",
        (Input::Username, Trust::V2005) => "sp:SignedSupportingTokens",
        (Input::Certificate, _) => "sp:EndorsingSupportingTokens",
    };
    w.start(tokens).ns("sp", sp);
    w.start("wsp:Policy");
    match input {
        Input::Username => {
            w.start("sp:UsernameToken").attr("sp:IncludeToken", include);
            w.start("wsp:Policy")
                .raw("<sp:WssUsernameToken10/>")
                .end();
            w.end();
        }
        Input::Certificate => {
            w.start("sp:X509Token").attr("sp:IncludeToken", include);
            w.start("wsp:Policy")
                .raw("<sp:WssX509V3Token10/>")
                .end();
            w.end();
            // The signature must cover the Body (and the Timestamp, which the transport
            // binding's IncludeTimestamp puts in the header).
            w.start("sp:SignedParts").raw("<sp:Body/>").end();
        }
    }
    w.end().end();
    w.start("sp:Wss11")
        .ns("sp", sp)
        .raw("<wsp:Policy/>")
        .end();
    match trust {
        Trust::V13 => w
            .start("sp:Trust13")
            .ns("sp", sp)
            .raw("<wsp:Policy><sp:MustSupportIssuedTokens/></wsp:Policy>")
            .end(),
        Trust::V2005 => w
            .start("sp:Trust10")
            .ns("sp", sp)
            .raw("<wsp:Policy><sp:MustSupportIssuedTokens/></wsp:Policy>")
            .end(),
    };
    w.start("wsaw:UsingAddressing").end();
    w.end().end().end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_bindings_and_policies_line_up() {
        let ports = [
            Port {
                address: "https://sts.example/adfs/services/trust/13/usernamemixed".into(),
                input: Input::Username,
                trust: Trust::V13,
            },
            Port {
                address: "https://sts.example/adfs/services/trust/13/certificatemixed".into(),
                input: Input::Certificate,
                trust: Trust::V13,
            },
        ];
        let d = definitions(&ports, "https://sts.example");
        let doc = crate::xml::parse(d.as_bytes(), crate::xml::Limits::default()).unwrap();
        let policies: Vec<_> = doc
            .elements()
            .filter(|e| e.local == "Policy")
            .filter_map(|e| e.attr(Some(WSU), "Id"))
            .collect();
        assert_eq!(
            policies,
            [
                "UserNameWSTrustBinding_IWSTrust13Async_policy",
                "CertificateWSTrustBinding_IWSTrust13Async_policy"
            ]
        );
        // Every binding is SOAP 1.2 with an operation whose soapAction is WS-Trust's Issue.
        for b in doc.elements().filter(|e| e.local == "binding") {
            assert!(b.child(&[WSDL_SOAP12], "binding").is_some());
            let op = b.child(&[WSDL], "operation").unwrap();
            assert_eq!(
                op.child(&[WSDL_SOAP12], "operation")
                    .unwrap()
                    .attr(None, "soapAction"),
                Some(ISSUE_13)
            );
        }
        assert!(d.contains("<sp:UsernameToken sp:IncludeToken="));
        assert!(d.contains("<wsa10:Address>https://sts.example/adfs/services/trust/13/usernamemixed</wsa10:Address>"));
        // Plain HTTP: no transport binding is claimed.
        let plain = [Port {
            address: "http://sts.example/sts/x".into(),
            input: Input::Username,
            trust: Trust::V13,
        }];
        assert!(!definitions(&plain, "http://sts.example").contains("TransportBinding"));
    }
}
