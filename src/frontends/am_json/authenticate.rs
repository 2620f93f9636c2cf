//! `POST /json/authenticate`: a username and password for an SSO session.

use serde_json::json;

use crate::engine::Credential;
use crate::http::Request;
use crate::secret::Secret;

use super::{JsonReply, body_json};
use crate::frontends::Context;
use crate::frontends::crest::{JsonFailure, store_failure};

/// Username and password from the AM headers, a `{"username","password"}` body, or an AM
/// callback body (NameCallback / PasswordCallback).
fn credentials(req: &Request) -> Result<Option<(String, Secret<String>)>, JsonFailure> {
    let h = |n: &str| {
        req.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let (Some(u), Some(p)) = (h("X-OpenAM-Username"), h("X-OpenAM-Password")) {
        return Ok(Some((u, Secret::new(p))));
    }
    let body = body_json(req)?;
    let field = |k: &str| body.get(k).and_then(serde_json::Value::as_str);
    if let (Some(u), Some(p)) = (field("username"), field("password")) {
        return Ok(Some((u.to_owned(), Secret::new(p.to_owned()))));
    }
    if let Some(callbacks) = body.get("callbacks").and_then(serde_json::Value::as_array) {
        let value = |t: &str| {
            callbacks
                .iter()
                .find(|c| c.get("type").and_then(serde_json::Value::as_str) == Some(t))
                .and_then(|c| c.get("input")?.get(0)?.get("value")?.as_str())
                .map(str::to_owned)
        };
        if let (Some(u), Some(p)) = (value("NameCallback"), value("PasswordCallback")) {
            return Ok(Some((u, Secret::new(p))));
        }
        return Err(JsonFailure::Unauthorized("Authentication Failed"));
    }
    Ok(None)
}

pub(super) fn authenticate(
    state: &Context,
    realm: &str,
    req: &Request,
) -> Result<JsonReply, JsonFailure> {
    if !state.realm_exists(realm) {
        return Err(JsonFailure::NotFound);
    }
    let Some((username, password)) = credentials(req)? else {
        // No credentials: describe what to send, as AM's username/password chain does.
        return Ok(JsonReply::ok(json!({
            "authId": "",
            "template": "",
            "stage": "DataStore1",
            "header": "Sign in",
            "callbacks": [
                {"type": "NameCallback", "output": [{"name": "prompt", "value": "User Name:"}],
                 "input": [{"name": "IDToken1", "value": ""}]},
                {"type": "PasswordCallback", "output": [{"name": "prompt", "value": "Password:"}],
                 "input": [{"name": "IDToken2", "value": ""}]}
            ]
        })));
    };
    let cred = Credential::PasswordText {
        username,
        password,
        nonce: None,
        created: None,
        source: state.client_ip(&req.peer, &req.headers),
    };
    let principal = state.engine.authenticate(realm, &cred).map_err(|e| {
        if e.is_auth_failure() {
            JsonFailure::Unauthorized("Authentication Failed")
        } else {
            JsonFailure::Engine(e)
        }
    })?;
    let (token, _) = state
        .engine
        .sessions()
        .create(principal.realm(), principal.name(), false)
        .map_err(store_failure)?;
    tracing::info!(realm = %principal.realm(), user = %principal.name(), "session started");
    let secure = if state.secure_transport {
        "; Secure"
    } else {
        ""
    };
    Ok(JsonReply {
        status: 200,
        body: json!({"tokenId": token.expose(), "successUrl": "/", "realm": principal.realm()}),
        set_cookie: Some(format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            state.cookie_name,
            token.expose()
        )),
    })
}
