//! The AM-style JSON endpoints under `/json`: authentication, sessions, and user administration.
//!
//! Paths may carry a realm the way AM writes it: `/json/authenticate` (top-level realm),
//! `/json/realms/root/authenticate`, `/json/realms/root/realms/a/realms/b/authenticate`.
//! Synchronous: runs on the blocking pool (password hashing).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use warp::http::HeaderMap;

use crate::engine::Credential;
use crate::identity::{User, hash_password, normalize_realm};
use crate::secret::Secret;

use super::reject::{JsonFailure, json_error};
use super::{AppState, HttpReply};

/// A request to `/json/...`.
pub struct JsonRequest {
    pub method: warp::http::Method,
    pub tail: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
    pub peer: super::Peer,
}

/// A reply with an optional `Set-Cookie`.
pub struct JsonReply {
    pub status: u16,
    pub body: Value,
    pub set_cookie: Option<String>,
}

impl JsonReply {
    fn ok(body: Value) -> Self {
        JsonReply {
            status: 200,
            body,
            set_cookie: None,
        }
    }
}

/// Splits `realms/root/realms/a/users/x` into (`/a`, [`users`, `x`]).
pub(super) fn realm_and_rest(tail: &str) -> Result<(String, Vec<String>), JsonFailure> {
    let segs: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    let mut i = 0;
    let mut realm = Vec::new();
    if segs.first() == Some(&"realms") {
        if segs.get(1) != Some(&"root") {
            return Err(JsonFailure::NotFound);
        }
        i = 2;
        while segs.get(i) == Some(&"realms") {
            let name = segs.get(i + 1).ok_or(JsonFailure::NotFound)?;
            realm.push(*name);
            i += 2;
        }
    }
    let rest = segs[i..].iter().map(|s| (*s).to_owned()).collect();
    Ok((normalize_realm(&realm.join("/")), rest))
}

/// The `_action` query parameter.
pub fn action(query: &str) -> Option<&str> {
    query.split('&').find_map(|p| p.strip_prefix("_action="))
}

/// Whether the request declares a JSON body (`application/json`, any parameters).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(warp::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The request's `Content-Encoding` when it is anything but identity. Bodies are read as
/// they arrive and never decompressed (no decompression bombs, no second size bound to keep),
/// so every route refuses such a request with 415 instead of parsing compressed bytes.
pub fn unsupported_content_encoding(headers: &HeaderMap) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(warp::http::header::CONTENT_ENCODING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let all = values.join(", ");
    let plain = all
        .split(',')
        .map(str::trim)
        .all(|c| c.is_empty() || c.eq_ignore_ascii_case("identity"));
    (!plain).then(|| all.trim().chars().take(64).collect())
}

/// The 415 reply of a JSON route to a request with an unsupported `Content-Encoding`, with
/// `Accept-Encoding: identity` (RFC 7694).
pub fn refuse_content_encoding(headers: &HeaderMap) -> Option<HttpReply> {
    let coding = unsupported_content_encoding(headers)?;
    let mut reply = super::reject::json_reply(&JsonFailure::ContentEncoding(coding));
    reply.headers.push(("accept-encoding", "identity".into()));
    Some(reply)
}

/// The session token of a request: the SSO header, else the cookie of the same name.
pub fn session_token(headers: &HeaderMap, name: &str) -> Option<Secret<String>> {
    if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() {
            return Some(Secret::new(v.to_owned()));
        }
    }
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

/// Handles one `/json` request.
pub fn handle(state: &AppState, req: &JsonRequest) -> HttpReply {
    if let Some(refused) = refuse_content_encoding(&req.headers) {
        return refused;
    }
    let reply = route(state, req).unwrap_or_else(|f| {
        let (status, body) = json_error(&f);
        if let JsonFailure::Internal(detail) = &f {
            tracing::error!(%detail, "json request failed");
        }
        JsonReply {
            status,
            body,
            set_cookie: None,
        }
    });
    HttpReply {
        status: reply.status,
        content_type: "application/json",
        body: reply.body.to_string(),
        set_cookie: reply.set_cookie,
        headers: Vec::new(),
    }
}

fn route(state: &AppState, req: &JsonRequest) -> Result<JsonReply, JsonFailure> {
    let (realm, rest) = realm_and_rest(&req.tail)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let post = req.method == warp::http::Method::POST;
    match rest.as_slice() {
        ["authenticate"] if post => authenticate(state, &realm, req),
        ["sessions"] if post => sessions(state, req, None),
        ["sessions", token] if post => sessions(state, req, Some(token)),
        ["users"] => users(state, &realm, None, req),
        ["users", id] => users(state, &realm, Some(id), req),
        ["authenticate" | "sessions", ..] => Err(JsonFailure::MethodNotAllowed),
        _ => Err(JsonFailure::NotFound),
    }
}

fn body_json(req: &JsonRequest) -> Result<Value, JsonFailure> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| JsonFailure::BadRequest(format!("invalid JSON: {e}")))
}

/// Username and password from the AM headers, a `{"username","password"}` body, or an AM
/// callback body (NameCallback / PasswordCallback).
fn credentials(req: &JsonRequest) -> Result<Option<(String, Secret<String>)>, JsonFailure> {
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
    if let (Some(u), Some(p)) = (body["username"].as_str(), body["password"].as_str()) {
        return Ok(Some((u.to_owned(), Secret::new(p.to_owned()))));
    }
    if let Some(callbacks) = body["callbacks"].as_array() {
        let value = |t: &str| {
            callbacks
                .iter()
                .find(|c| c["type"] == t)
                .and_then(|c| c["input"][0]["value"].as_str())
                .map(str::to_owned)
        };
        if let (Some(u), Some(p)) = (value("NameCallback"), value("PasswordCallback")) {
            return Ok(Some((u, Secret::new(p))));
        }
        return Err(JsonFailure::Unauthorized("Authentication Failed"));
    }
    Ok(None)
}

fn authenticate(
    state: &AppState,
    realm: &str,
    req: &JsonRequest,
) -> Result<JsonReply, JsonFailure> {
    if !state
        .users
        .realms()
        .map_err(internal)?
        .iter()
        .any(|r| r == realm)
    {
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
    let principal = state
        .engine
        .authenticate(realm, &cred)
        .map_err(|e| match e {
            crate::engine::EngineError::FailedAuthentication(_) => {
                JsonFailure::Unauthorized("Authentication Failed")
            }
            other => internal(other),
        })?;
    let (token, _) = state
        .engine
        .sessions()
        .create(&principal.realm, &principal.name, false)
        .map_err(internal)?;
    tracing::info!(realm = %principal.realm, user = %principal.name, "session started");
    let secure = if state.secure_transport {
        "; Secure"
    } else {
        ""
    };
    Ok(JsonReply {
        status: 200,
        body: json!({"tokenId": token.expose(), "successUrl": "/", "realm": principal.realm}),
        set_cookie: Some(format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            state.cookie_name,
            token.expose()
        )),
    })
}

fn sessions(
    state: &AppState,
    req: &JsonRequest,
    in_path: Option<&str>,
) -> Result<JsonReply, JsonFailure> {
    let body = body_json(req)?;
    let token = in_path
        .map(|t| Secret::new(t.to_owned()))
        .or_else(|| body["tokenId"].as_str().map(|t| Secret::new(t.to_owned())))
        .or_else(|| session_token(&req.headers, &state.cookie_name));
    match action(&req.query) {
        Some("validate") => {
            let found = match &token {
                Some(t) => state
                    .engine
                    .session_principal(t.expose(), None)
                    .map_err(internal)?,
                None => None,
            };
            Ok(JsonReply::ok(match found {
                Some((p, info, _)) => json!({
                    "valid": true,
                    "sessionUid": info.uid,
                    "uid": p.name,
                    "realm": p.realm,
                    "maxTime": info.max_until.timestamp(),
                }),
                None => json!({"valid": false}),
            }))
        }
        Some("logout") => {
            let token = token.ok_or(JsonFailure::Unauthorized("Access Denied"))?;
            if state
                .engine
                .sessions()
                .logout(token.expose())
                .map_err(internal)?
            {
                Ok(JsonReply::ok(json!({"result": "Successfully logged out"})))
            } else {
                Err(JsonFailure::Unauthorized("Access Denied"))
            }
        }
        _ => Err(JsonFailure::BadRequest(
            "use _action=validate or _action=logout".into(),
        )),
    }
}

fn internal(e: impl std::fmt::Display) -> JsonFailure {
    JsonFailure::Internal(e.to_string())
}

/// The realm the caller administers: 401 without a live session, 403 unless its user is an
/// administrator.
pub fn admin_realm(state: &AppState, headers: &HeaderMap) -> Result<String, JsonFailure> {
    let token = session_token(headers, &state.cookie_name)
        .ok_or(JsonFailure::Unauthorized("Access Denied"))?;
    match state
        .engine
        .session_principal(token.expose(), None)
        .map_err(internal)?
    {
        None => Err(JsonFailure::Unauthorized("Access Denied")),
        Some((principal, _, true)) => Ok(principal.realm),
        Some(_) => Err(JsonFailure::Forbidden),
    }
}

/// Whether an administrator of `admin_realm` administers `realm`: an administrator of the
/// top-level realm administers every realm.
pub fn administers(admin_realm: &str, realm: &str) -> bool {
    admin_realm == "/" || admin_realm == realm
}

/// The admin guard: 401 without a live session, 403 unless its user is an administrator of
/// `realm`.
pub fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
    realm: &str,
) -> Result<(), JsonFailure> {
    if administers(&admin_realm(state, headers)?, realm) {
        Ok(())
    } else {
        Err(JsonFailure::Forbidden)
    }
}

const RESERVED: [&str; 8] = [
    "_id",
    "_rev",
    "username",
    "userpassword",
    "realm",
    "inetUserStatus",
    "admin",
    "digest",
];

fn user_json(u: &User) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("_id".into(), json!(u.username));
    m.insert("_rev".into(), json!(""));
    m.insert("username".into(), json!(u.username));
    m.insert("realm".into(), json!(normalize_realm(&u.realm)));
    for (k, v) in &u.attributes {
        m.insert(k.clone(), json!(v));
    }
    m.insert(
        "inetUserStatus".into(),
        json!(if u.disabled { "Inactive" } else { "Active" }),
    );
    m.insert("admin".into(), json!(u.admin));
    m.insert("digest".into(), json!(u.digest_secret.is_some()));
    Value::Object(m)
}

/// Attributes from a user body: every non-reserved key, a string or an array of strings.
fn attributes(body: &Value) -> Result<Option<BTreeMap<String, Vec<String>>>, JsonFailure> {
    let Some(obj) = body.as_object() else {
        return Err(JsonFailure::BadRequest(
            "the body must be a JSON object".into(),
        ));
    };
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        if RESERVED.contains(&k.as_str()) {
            continue;
        }
        let values = match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    JsonFailure::BadRequest(format!("attribute `{k}` must hold strings"))
                })?,
            _ => {
                return Err(JsonFailure::BadRequest(format!(
                    "attribute `{k}` must be a string or an array of strings"
                )));
            }
        };
        out.insert(k.clone(), values);
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

fn status_disabled(body: &Value) -> Result<Option<bool>, JsonFailure> {
    match body.get("inetUserStatus").and_then(Value::as_str) {
        None => Ok(None),
        Some("Active") => Ok(Some(false)),
        Some("Inactive") => Ok(Some(true)),
        Some(other) => Err(JsonFailure::BadRequest(format!(
            "inetUserStatus `{other}` is not Active or Inactive"
        ))),
    }
}

fn identity_failure(e: crate::identity::IdentityError) -> JsonFailure {
    use crate::identity::IdentityError as E;
    match e {
        E::NoSuchUser(..) | E::NoSuchRealm(_) => JsonFailure::NotFound,
        E::Exists(..) | E::RealmExists(_) => JsonFailure::Conflict(e.to_string()),
        E::InvalidName(_) => JsonFailure::BadRequest(e.to_string()),
        other => internal(other),
    }
}

fn users(
    state: &AppState,
    realm: &str,
    id: Option<&str>,
    req: &JsonRequest,
) -> Result<JsonReply, JsonFailure> {
    require_admin(state, &req.headers, realm)?;
    use warp::http::Method;
    let store = &state.users;
    match (&req.method, id) {
        (&Method::GET, None) => {
            if !req.query.split('&').any(|p| p == "_queryFilter=true") {
                return Err(JsonFailure::BadRequest(
                    "only _queryFilter=true is supported".into(),
                ));
            }
            let list: Vec<Value> = store
                .list()
                .map_err(internal)?
                .iter()
                .filter(|u| normalize_realm(&u.realm) == realm)
                .map(user_json)
                .collect();
            Ok(JsonReply::ok(json!({
                "result": list, "resultCount": list.len(), "pagedResultsCookie": null,
                "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1, "remainingPagedResults": -1
            })))
        }
        (&Method::GET, Some(id)) => {
            use crate::identity::UserStore as _;
            let u = store
                .find(realm, id)
                .map_err(internal)?
                .ok_or(JsonFailure::NotFound)?;
            Ok(JsonReply::ok(user_json(&u)))
        }
        (&Method::POST, None) if action(&req.query) == Some("create") => {
            let body = body_json(req)?;
            let username = body["username"]
                .as_str()
                .ok_or_else(|| JsonFailure::BadRequest("username is required".into()))?;
            let password = body["userpassword"]
                .as_str()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| JsonFailure::BadRequest("userpassword is required".into()))?;
            let user = User {
                username: username.to_owned(),
                realm: realm.to_owned(),
                password_hash: hash_password(password).map_err(internal)?,
                digest_secret: (body["digest"] == true).then(|| Secret::new(password.to_owned())),
                attributes: attributes(&body)?.unwrap_or_default(),
                disabled: status_disabled(&body)?.unwrap_or(false),
                admin: body["admin"] == true,
            };
            store.add(user.clone()).map_err(identity_failure)?;
            Ok(JsonReply {
                status: 201,
                body: user_json(&user),
                set_cookie: None,
            })
        }
        (&Method::PUT, Some(id)) => {
            let body = body_json(req)?;
            let attrs = attributes(&body)?;
            let disabled = status_disabled(&body)?;
            let password = match body["userpassword"].as_str() {
                Some(p) if !p.is_empty() => {
                    Some((p.to_owned(), hash_password(p).map_err(internal)?))
                }
                Some(_) => {
                    return Err(JsonFailure::BadRequest(
                        "userpassword must not be empty".into(),
                    ));
                }
                None => None,
            };
            let admin = body["admin"].as_bool();
            let u = store
                .update(realm, id, |u| {
                    if let Some(a) = attrs {
                        u.attributes = a;
                    }
                    if let Some(d) = disabled {
                        u.disabled = d;
                    }
                    if let Some(a) = admin {
                        u.admin = a;
                    }
                    if let Some((plain, hash)) = password {
                        u.password_hash = hash;
                        if u.digest_secret.is_some() {
                            u.digest_secret = Some(Secret::new(plain));
                        }
                    }
                })
                .map_err(identity_failure)?;
            Ok(JsonReply::ok(user_json(&u)))
        }
        (&Method::DELETE, Some(id)) => {
            store.delete(realm, id).map_err(identity_failure)?;
            Ok(JsonReply::ok(
                json!({"_id": id, "result": format!("user {id} removed from realm {realm}")}),
            ))
        }
        _ => Err(JsonFailure::MethodNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_paths_follow_am() {
        assert_eq!(
            realm_and_rest("authenticate").unwrap(),
            ("/".into(), vec!["authenticate".into()])
        );
        assert_eq!(realm_and_rest("realms/root/authenticate").unwrap().0, "/");
        assert_eq!(
            realm_and_rest("realms/root/realms/a/realms/b/users/x").unwrap(),
            ("/a/b".into(), vec!["users".into(), "x".into()])
        );
        assert!(realm_and_rest("realms/other/authenticate").is_err());
    }

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
