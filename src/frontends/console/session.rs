//! The console's session and its request checks: the SSO token lives in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/console/`; every state-changing request carries a
//! per-session CSRF token (checked in constant time) and an `Origin` of this server.

use openssl::hash::{MessageDigest, hash};
use serde_json::{Value, json};
use warp::http::{HeaderMap, HeaderName, HeaderValue};

use crate::frontends::Context;
use crate::frontends::admin::guard::{AdminOf, admin};
use crate::frontends::crest::JsonFailure;
use crate::http::{HttpReply, Outcome, Request};
use crate::secret::Secret;

/// The console's cookie (distinct from the SSO cookie of the JSON APIs, and sent only to
/// `/console/`, so the APIs never see it).
pub const COOKIE: &str = "sts-console";
/// The header the console's script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session token of the console cookie, if any.
pub fn token(headers: &HeaderMap) -> Option<Secret<String>> {
    crate::frontends::context::cookie(headers, COOKIE)
}

/// The `Set-Cookie` that starts a console session.
pub fn set_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/console/; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` that ends it in the browser (the session itself is ended in the store).
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/console/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

/// The CSRF token of a session: a hash of its SSO token under a label. Only a holder of the
/// session token can compute it; it reveals nothing of that token, and every node of a
/// cluster derives the same one without shared state.
pub fn csrf_token(session: &Secret<String>) -> String {
    let mut input = b"sts-console-csrf\0".to_vec();
    input.extend_from_slice(session.expose().as_bytes());
    match hash(MessageDigest::sha256(), &input) {
        Ok(d) => d.iter().map(|b| format!("{b:02x}")).collect(),
        // No token can be made: nothing will match it.
        Err(_) => String::new(),
    }
}

/// Whether the request's CSRF header carries the session's token (constant time).
pub fn csrf_ok(headers: &HeaderMap, session: &Secret<String>) -> bool {
    let expected = csrf_token(session);
    let Some(given) = headers.get(CSRF_HEADER).map(|v| v.as_bytes()) else {
        return false;
    };
    !expected.is_empty()
        && given.len() == expected.len()
        && openssl::memcmp::eq(given, expected.as_bytes())
}

/// Whether `Origin` names this server: the origin of the public base URL, or the origin the
/// request was sent to (its `Host`, with the base URL's scheme). A request without `Origin`
/// is refused: browsers send it on every state-changing fetch.
pub fn origin_ok(headers: &HeaderMap, base_url: &str) -> bool {
    let Some(origin) = headers.get(warp::http::header::ORIGIN).and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("http", base_url));
    let base_origin = format!("{scheme}://{}", rest.split('/').next().unwrap_or_default());
    if origin.eq_ignore_ascii_case(&base_origin) {
        return true;
    }
    headers
        .get(warp::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")))
}


/// A console request's session: its SSO token, presented to the APIs as their SSO header.
pub struct Session<'a> {
    ctx: &'a Context,
    token: Secret<String>,
}

impl<'a> Session<'a> {
    pub fn new(ctx: &'a Context, token: Secret<String>) -> Session<'a> {
        Session { ctx, token }
    }

    /// The headers the APIs read the session from.
    fn sso_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(self.ctx.cookie_name.as_bytes()),
            HeaderValue::from_str(self.token.expose()),
        ) {
            h.insert(name, value);
        }
        h
    }

    /// The realm its user administers (401 without a live session, 403 for a non-administrator).
    pub fn admin(&self) -> Result<AdminOf, JsonFailure> {
        admin(self.ctx, &self.sso_headers())
    }

    /// `{"user", "realm", "csrf"}`: who is signed in, and the token the page sends back.
    pub fn describe(&self) -> Result<Value, JsonFailure> {
        self.admin()?;
        let s = self
            .ctx
            .engine
            .session_principal(self.token.expose(), None)
            .map_err(JsonFailure::Engine)?
            .ok_or(JsonFailure::Unauthorized("Access Denied"))?;
        Ok(json!({
            "user": s.principal().name(),
            "realm": s.principal().realm(),
            "csrf": csrf_token(&self.token),
        }))
    }

    /// Ends the session in the store.
    pub fn end(&self) {
        if let Err(e) = self.ctx.engine.sessions().logout(self.token.expose()) {
            tracing::warn!(error = %e, "ending a console session failed");
        }
    }

    /// Signs out: the session ends on the server, and the cookie in the browser.
    pub fn logout(&self) -> HttpReply {
        self.end();
        let mut r = HttpReply::json(200, &json!({"result": "Successfully logged out"}));
        r.set_cookie = Some(clear_cookie(self.ctx.secure_transport));
        r
    }

    /// Hands the request to an API's handler as `tail`, with only the session, its
    /// `Content-Type` and `If-Match`: no cookie of the browser reaches the API.
    pub fn forward(
        &self,
        req: &Request,
        handler: fn(&Context, &Request) -> Outcome,
        tail: &str,
    ) -> Outcome {
        let mut headers = self.sso_headers();
        for name in [
            warp::http::header::CONTENT_TYPE,
            warp::http::header::IF_MATCH,
        ] {
            if let Some(v) = req.headers.get(&name) {
                headers.insert(name, v.clone());
            }
        }
        let inner = Request {
            request_id: req.request_id.clone(),
            method: req.method.clone(),
            tail: tail.to_owned(),
            query: req.query.clone(),
            headers,
            body: req.body.clone(),
            peer: req.peer.clone(),
        };
        handler(self.ctx, &inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn csrf_token_is_per_session_and_checked_exactly() {
        let a = Secret::new("session-a".to_owned());
        let b = Secret::new("session-b".to_owned());
        let ta = csrf_token(&a);
        assert_eq!(ta.len(), 64);
        assert_ne!(ta, csrf_token(&b));
        assert!(!ta.contains("session-a"));
        assert!(csrf_ok(&headers(&[(CSRF_HEADER, &ta)]), &a));
        assert!(!csrf_ok(&headers(&[(CSRF_HEADER, &ta)]), &b));
        assert!(!csrf_ok(&headers(&[(CSRF_HEADER, &ta[..63])]), &a));
        assert!(!csrf_ok(&HeaderMap::new(), &a));
    }

    #[test]
    fn origin_must_be_this_server() {
        let base = "https://sts.example.com";
        assert!(origin_ok(
            &headers(&[("origin", "https://sts.example.com")]),
            base
        ));
        assert!(!origin_ok(&headers(&[("origin", "https://evil.example")]), base));
        assert!(!origin_ok(&headers(&[("origin", "http://sts.example.com")]), base));
        assert!(!origin_ok(&HeaderMap::new(), base));
        // Reached by its address rather than the public name: the Host it was sent to.
        let h = headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]);
        assert!(origin_ok(&h, "http://0.0.0.0:8080"));
        let h = headers(&[("origin", "http://127.0.0.1:9"), ("host", "127.0.0.1:8080")]);
        assert!(!origin_ok(&h, "http://0.0.0.0:8080"));
    }

    #[test]
    fn cookie_flags_and_reading() {
        let c = set_cookie("tok", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!set_cookie("tok", false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
        let h = headers(&[("cookie", "iPlanetDirectoryPro=x; sts-console=tok")]);
        assert_eq!(token(&h).unwrap().expose(), "tok");
        assert!(token(&headers(&[("cookie", "iPlanetDirectoryPro=x")])).is_none());
    }
}
