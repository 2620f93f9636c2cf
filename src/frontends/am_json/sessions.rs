//! `POST /json/sessions?_action=validate|logout`.

use serde_json::json;

use crate::http::Request;
use crate::secret::Secret;

use super::{JsonReply, body_json};
use crate::frontends::Context;
use crate::frontends::crest::{JsonFailure, action, store_failure};

pub(super) fn sessions(
    state: &Context,
    req: &Request,
    in_path: Option<&str>,
) -> Result<JsonReply, JsonFailure> {
    let body = body_json(req)?;
    let token = in_path
        .map(|t| Secret::new(t.to_owned()))
        .or_else(|| {
            body.get("tokenId")
                .and_then(serde_json::Value::as_str)
                .map(|t| Secret::new(t.to_owned()))
        })
        .or_else(|| state.session_token(&req.headers));
    match action(&req.query).as_deref() {
        Some("validate") => {
            let found = match &token {
                Some(t) => state
                    .engine
                    .session_principal(t.expose(), None)
                    .map_err(JsonFailure::Engine)?,
                None => None,
            };
            Ok(JsonReply::ok(match found {
                Some(s) => json!({
                    "valid": true,
                    "sessionUid": s.info().uid,
                    "uid": s.principal().name(),
                    "realm": s.principal().realm(),
                    "maxTime": s.info().max_until.timestamp(),
                }),
                None => json!({"valid": false}),
            }))
        }
        Some("logout") => {
            let token = token.ok_or(JsonFailure::Unauthorized("Access Denied"))?;
            // Whose session, for the audit trail (its uid and user, never its handle). A
            // session whose user is gone (deleted, disabled, no longer in the directory) is
            // still a live session: its logout is recorded too, under the name it was opened
            // for, and with `actor` unknown (no account stands behind its token any more).
            let whose = state
                .engine
                .session_principal(token.expose(), None)
                .map_err(JsonFailure::Engine)?;
            let event = |realm: &str, name: &str, uid: &str| {
                crate::audit::Event::new("session.logout")
                    .with("realm", realm)
                    .with("principal", name)
                    .with("session_uid", uid)
            };
            let event = match whose {
                Some(s) => Some(event(
                    s.principal().realm(),
                    s.principal().name(),
                    &s.info().uid,
                )),
                None => state
                    .engine
                    .sessions()
                    .validate(token.expose())
                    .map_err(store_failure)?
                    .map(|i| event(&i.realm, &i.username, &i.uid).with("actor", "unknown")),
            };
            let logout = || {
                state
                    .engine
                    .sessions()
                    .logout(token.expose())
                    .map_err(store_failure)
            };
            // A live session's logout is recorded before it is made.
            let done = match event {
                Some(e) => state.engine.audited(e, || match logout()? {
                    true => Ok(true),
                    false => Err(JsonFailure::Unauthorized("Access Denied")),
                })?,
                None => logout()?,
            };
            if done {
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
