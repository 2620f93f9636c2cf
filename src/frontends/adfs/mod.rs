//! AD FS's fixed paths, which `[adfs]` in `sts.toml` maps onto one SOAP instance, so that
//! clients written for AD FS (MSAL, ADAL, WCF) find `sts` where they look:
//! `/adfs/services/trust/mex` (WS-MetadataExchange, GET and SOAP), the mixed endpoints
//! `/adfs/services/trust/{13,2005}/{usernamemixed,certificatemixed}` (the instance's SOAP
//! pipeline, requiring the input the path names), and the signed
//! `/FederationMetadata/2007-06/FederationMetadata.xml` ([`metadata`]).
//!
//! Without `[adfs]` every one of them is 404. A mapped instance that is not published (it
//! may be published later: instances come and go while the server runs) is 503 with a text
//! that names it.

pub mod metadata;

use std::sync::Arc;

use warp::http::Method;

use crate::http::{HttpReply, Outcome, Request};
use crate::instance::ResolvedInstance;

use super::Context;
use super::soap_sts::{
    self,
    mex::{self, Input, Port, TRUSTS, Trust},
};

const TEXT: &str = "text/plain; charset=utf-8";
const XML: &str = "text/xml; charset=utf-8";

/// What a path below `/adfs/` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdfsPath {
    Mex,
    Mixed(Input, Trust),
}

/// The path below `/adfs/` of a mixed endpoint.
fn mixed_path(input: Input, trust: Trust) -> String {
    let v = match trust {
        Trust::V13 => "13",
        Trust::V2005 => "2005",
    };
    let i = match input {
        Input::Username => "usernamemixed",
        Input::Certificate => "certificatemixed",
    };
    format!("services/trust/{v}/{i}")
}

fn parse_path(tail: &str) -> Option<AdfsPath> {
    let tail = tail.trim_matches('/');
    if tail == "services/trust/mex" {
        return Some(AdfsPath::Mex);
    }
    TRUSTS.iter().find_map(|t| {
        [Input::Username, Input::Certificate]
            .into_iter()
            .find(|i| mixed_path(*i, *t) == tail)
            .map(|i| AdfsPath::Mixed(i, *t))
    })
}

fn not_found() -> HttpReply {
    HttpReply::text(404, TEXT, "not found\n".into())
}

/// The mapped instance and its subpath, or the reply that says why there is none.
pub(super) fn mapped(state: &Context) -> Result<(String, Arc<ResolvedInstance>), HttpReply> {
    let Some(cfg) = &state.adfs else {
        return Err(not_found());
    };
    let subpath = cfg.subpath();
    match state.soap_instance(&subpath) {
        Some(i) => Ok((subpath, i)),
        None => Err(HttpReply::text(
            503,
            TEXT,
            format!(
                "[adfs] in sts.toml maps the AD FS paths to the SOAP instance `{}` of realm `{}`, which is not published\n",
                cfg.instance, cfg.realm
            ),
        )),
    }
}

/// The mixed endpoints of the mapped instance: one per input it accepts and WS-Trust version.
pub(super) fn ports(state: &Context, instance: &ResolvedInstance) -> Vec<Port> {
    let mut out = Vec::new();
    for input in [Input::Username, Input::Certificate] {
        if input.accepted_by(instance) {
            for trust in TRUSTS {
                out.push(Port {
                    address: format!("{}/adfs/{}", state.base_url, mixed_path(input, *trust)),
                    input,
                    trust: *trust,
                });
            }
        }
    }
    out
}

/// Every request to `/adfs/...`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    let Some(path) = parse_path(&req.tail) else {
        return not_found().into();
    };
    let (subpath, instance) = match mapped(state) {
        Ok(m) => m,
        Err(reply) => return reply.into(),
    };
    match (path, &req.method) {
        (AdfsPath::Mex, &Method::GET) => {
            let wsdl = mex::definitions(&ports(state, &instance), &state.base_url);
            HttpReply::text(200, XML, wsdl).into()
        }
        (AdfsPath::Mex, &Method::POST) => {
            let wsdl = mex::definitions(&ports(state, &instance), &state.base_url);
            mex::post(state, &subpath, req, &wsdl).into()
        }
        (AdfsPath::Mixed(input, trust), &Method::POST) => {
            if !input.accepted_by(&instance) {
                // Not published in the mex document either.
                return not_found().into();
            }
            soap_sts::handle_at(state, &subpath, Some(mex::Mixed { input, trust }), req)
        }
        (AdfsPath::Mixed(..), _) => {
            HttpReply::text(405, TEXT, "POST SOAP requests here\n".into()).into()
        }
        (AdfsPath::Mex, _) => HttpReply::text(
            405,
            TEXT,
            "GET the metadata, or POST a SOAP WS-Transfer Get\n".into(),
        )
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parse_path("services/trust/mex"), Some(AdfsPath::Mex));
        assert_eq!(
            parse_path("/services/trust/13/usernamemixed"),
            Some(AdfsPath::Mixed(Input::Username, Trust::V13))
        );
        assert_eq!(
            parse_path("services/trust/13/certificatemixed"),
            Some(AdfsPath::Mixed(Input::Certificate, Trust::V13))
        );
        assert_eq!(
            parse_path("services/trust/2005/usernamemixed"),
            Some(AdfsPath::Mixed(Input::Username, Trust::V2005))
        );
        assert_eq!(parse_path("services/trust/13/windowstransport"), None);
        assert_eq!(parse_path("ls"), None);
    }
}
