//! What the front ends share: the engine, the stores and the deployment facts they answer
//! with. Built once by `app`; every handler gets it by reference.

use std::sync::Arc;

use warp::http::HeaderMap;

use crate::engine::Engine;
use crate::http::Peer;
use crate::instance::ResolvedInstance;
use crate::secret::Secret;
use crate::xml::Limits;

/// Shared state of the front ends.
pub struct Context {
    pub engine: Engine,
    /// The identity store, for the admin API.
    pub users: Arc<dyn super::am_json::UserAdmin>,
    /// SSO header and cookie name (`iPlanetDirectoryPro`).
    pub cookie_name: String,
    /// The published instances, by realm-qualified subpath (`soap-x`, `myRealm/soap-x`).
    pub publisher: crate::instance::registry::Publisher,
    /// Who may call the REST STS.
    pub rest_sts_caller: crate::config::RestCaller,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::net::TrustedProxies,
    pub base_url: String,
    pub limits: Limits,
    pub max_body_bytes: usize,
    /// Most RSTs in one `wst:RequestSecurityTokenCollection` (`max_batch_requests`).
    pub max_batch: usize,
    pub secure_transport: bool,
    /// OAuth clients (introspection).
    pub clients: crate::oauth::Clients,
    /// `[adfs]`: the instance behind the AD FS paths, if they are served.
    pub adfs: Option<crate::config::AdfsConfig>,
}

impl Context {
    /// The client's address, for lockout and throttling: the TCP peer, or the client a
    /// trusted proxy names (`trusted_proxies`).
    pub fn client_ip(&self, peer: &Peer, headers: &HeaderMap) -> Option<std::net::IpAddr> {
        peer.client_ip(&self.trusted_proxies, headers)
    }

    /// Whether `realm` exists: made with `sts realm add`, or given a directory in `sts.toml`.
    pub fn realm_exists(&self, realm: &str) -> bool {
        self.engine.has_directory(realm)
            || self
                .users
                .realms()
                .is_ok_and(|r| r.iter().any(|x| x == realm))
    }

    /// The SOAP instance at `subpath` (a REST instance there is not served over SOAP).
    pub fn soap_instance(&self, subpath: &str) -> Option<Arc<ResolvedInstance>> {
        self.publisher
            .instance(subpath)
            .filter(|i| i.config.kind() == crate::instance::Kind::Soap)
    }

    /// The REST instance at `subpath`.
    pub fn rest_instance(&self, subpath: &str) -> Option<Arc<ResolvedInstance>> {
        self.publisher
            .instance(subpath)
            .filter(|i| i.config.kind() == crate::instance::Kind::Rest)
    }

    /// The session token of a request: the SSO header, else the cookie of the same name.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<Secret<String>> {
        session_token(headers, &self.cookie_name)
    }
}

/// The session token of a request: the SSO header, else the cookie of the same name.
fn session_token(headers: &HeaderMap, name: &str) -> Option<Secret<String>> {
    if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() {
            return Some(Secret::new(v.to_owned()));
        }
    }
    cookie(headers, name)
}

/// The value of the cookie `name`, if the request carries it non-empty.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<Secret<String>> {
    headers
        .get_all(warp::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| Secret::new(v.to_owned()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_token_from_header_or_cookie() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=b; iPlanetDirectoryPro=tok1".parse().unwrap());
        assert_eq!(
            session_token(&h, "iPlanetDirectoryPro").unwrap().expose(),
            "tok1"
        );
        h.insert("iPlanetDirectoryPro", "tok2".parse().unwrap());
        assert_eq!(
            session_token(&h, "iPlanetDirectoryPro").unwrap().expose(),
            "tok2"
        );
        assert!(session_token(&HeaderMap::new(), "iPlanetDirectoryPro").is_none());
    }
}
