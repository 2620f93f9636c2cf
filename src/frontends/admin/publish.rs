//! `/sts-publish/{rest|soap}`: create, read, list, update and delete STS instances at run
//! time, in the JSON of AM's publish service. As in AM's console (Realms > realm > STS), an
//! administrator of a realm administers the instances whose `deployment-realm` is that realm:
//! a list shows them only, and another realm's instance is "not found" to them (its name is
//! not disclosed) and cannot be created there. The administrator of the top-level realm
//! administers every realm's instances.
//!
//! Instances of every realm sign with this node's keys, so a relying party tells them apart by
//! issuer: a realm administrator may not give an instance an issuer name (SAML `issuer-name`,
//! OIDC `oidc-issuer`) that an instance of another realm uses.

use serde_json::{Value, json};

use crate::instance::Kind;
use crate::instance::registry::{PublishError, Published};

use super::guard::{AdminOf, admin};
use crate::frontends::Context;
use crate::frontends::crest::{JsonFailure, action, is_json, json_reply, refuse_content_encoding};
use crate::http::{HttpReply, Outcome, Request};

fn reply(status: u16, body: Value) -> HttpReply {
    HttpReply::json(status, &body)
}

/// Handles one request under `/sts-publish/`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    crate::metrics::note_operation("publish");
    if let Some(refused) = refuse_content_encoding(&req.headers) {
        return refused.into();
    }
    route(state, req).unwrap_or_else(|f| json_reply(&f)).into()
}

fn bad(m: impl Into<String>) -> JsonFailure {
    JsonFailure::BadRequest(m.into())
}

/// `{"_id", "_rev", "<id>": {config}}`, as AM answers a read.
fn read_body(p: &Published) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("_id".into(), json!(p.id));
    m.insert("_rev".into(), json!(p.rev));
    m.insert(p.id.clone(), p.config.clone());
    Value::Object(m)
}

/// The `instance_state` of a create or update body.
fn instance_state(req: &Request) -> Result<Value, JsonFailure> {
    if !is_json(&req.headers) {
        return Err(JsonFailure::UnsupportedMediaType);
    }
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut body) = body else {
        return Err(bad("the body must be a JSON object"));
    };
    match body.get("invocation_context") {
        None | Some(Value::String(_)) => {}
        Some(_) => return Err(bad("invocation_context must be a string")),
    }
    match body.remove("instance_state") {
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(bad("instance_state must be a JSON object")),
        None => Err(bad("instance_state is required")),
    }
}

/// The revision of `If-Match` (a strong or weak tag, quoted or not, or `*`).
fn if_match(req: &Request) -> Result<Option<String>, JsonFailure> {
    match req.headers.get(warp::http::header::IF_MATCH) {
        None => Ok(None),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| bad("If-Match is not a revision"))?
                .trim();
            if s.contains(',') {
                return Err(bad("If-Match must name one revision"));
            }
            let s = s.strip_prefix("W/").unwrap_or(s);
            Ok(Some(s.trim_matches('"').to_owned()))
        }
    }
}

fn realm_of(state_json: &Value) -> String {
    let realm = state_json
        .get("deployment-config")
        .and_then(|d| d.get("deployment-realm"))
        .and_then(Value::as_str)
        .unwrap_or("/");
    crate::identity::normalize_realm(realm)
}

/// Instance `id` of `kind` if `admin` administers its realm; "not found" otherwise, as if it
/// did not exist.
fn visible(
    state: &Context,
    admin: &AdminOf,
    kind: Kind,
    id: &str,
) -> Result<Published, JsonFailure> {
    let p = state.publisher.read(kind, id)?;
    if admin.administers(&realm_of(&p.config)) {
        return Ok(p);
    }
    Err(JsonFailure::Publish(PublishError::NotFound {
        kind: kind.as_str(),
        id: id.to_owned(),
    }))
}

/// The issuer names an instance's configuration declares (`issuer-name`, `oidc-issuer`, in
/// any of its token configurations), each with its JSON path.
fn issuers(config: &Value) -> Vec<(String, &str)> {
    let Some(obj) = config.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (section, c) in obj {
        for key in ["issuer-name", "oidc-issuer"] {
            if let Some(v) = c.get(key).and_then(Value::as_str) {
                out.push((format!("{section}.{key}"), v));
            }
        }
    }
    out
}

/// Refuses (400, naming the field) an issuer name of `st` that an instance of a realm other
/// than `st`'s uses, when `admin` administers one realm only.
fn own_issuers(state: &Context, admin: &AdminOf, st: &Value) -> Result<(), JsonFailure> {
    if admin.administers("/") {
        return Ok(());
    }
    let realm = realm_of(st);
    let wanted = issuers(st);
    if wanted.is_empty() {
        return Ok(());
    }
    for kind in [Kind::Rest, Kind::Soap] {
        for p in state.publisher.list(kind)? {
            if realm_of(&p.config) == realm {
                continue;
            }
            let theirs = issuers(&p.config);
            if let Some((path, taken)) = wanted
                .iter()
                .find(|(_, w)| theirs.iter().any(|(_, t)| t == w))
            {
                return Err(JsonFailure::Publish(PublishError::Invalid(vec![format!(
                    "{path}: the issuer `{taken}` is used by an instance of another realm (a \
                     realm administrator's instances need issuer names of their own)"
                )])));
            }
        }
    }
    Ok(())
}

fn route(state: &Context, req: &Request) -> Result<HttpReply, JsonFailure> {
    // Anonymous callers and non-administrators learn nothing, not even which paths exist.
    let admin = admin(state, &req.headers)?;
    let tail = req.tail.trim_matches('/');
    let (kind, id) = match tail.split_once('/') {
        Some((k, id)) => (k, Some(id.trim_matches('/'))),
        None => (tail, None),
    };
    let kind = Kind::parse(kind).ok_or(JsonFailure::NotFound)?;
    let publisher = &state.publisher;
    use warp::http::Method;
    match (&req.method, id) {
        (m, None) if m == Method::POST => {
            let action = action(&req.query);
            if action.as_deref() != Some("create") {
                return Err(bad(format!(
                    "action `{}` is not supported: use _action=create",
                    action.unwrap_or_default()
                )));
            }
            let st = instance_state(req)?;
            // Before the state is validated: an administrator of another realm learns nothing
            // from its problems.
            admin.of(&realm_of(&st))?;
            own_issuers(state, &admin, &st)?;
            let p = publisher.create(kind, &st)?;
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance published");
            crate::frontends::audited::admin(
                state,
                &admin,
                "instance.published",
                &[("kind", kind.as_str()), ("instance", &p.id)],
            )
            .map_err(JsonFailure::Engine)?;
            Ok(reply(
                201,
                json!({"_id": p.id, "_rev": p.rev, "result": "success", "url_element": p.id}),
            ))
        }
        (m, None) if m == Method::GET => {
            let mut list = publisher.list(kind)?;
            list.retain(|p| admin.administers(&realm_of(&p.config)));
            Ok(reply(
                200,
                json!({
                    "result": list.iter().map(read_body).collect::<Vec<_>>(),
                    "resultCount": list.len(),
                    "pagedResultsCookie": null,
                    "totalPagedResultsPolicy": "NONE",
                    "totalPagedResults": -1,
                    "remainingPagedResults": -1,
                }),
            ))
        }
        (m, Some(id)) if m == Method::GET => Ok(reply(200, read_body(&visible(state, &admin, kind, id)?))),
        (m, Some(id)) if m == Method::PUT => {
            visible(state, &admin, kind, id)?;
            let st = instance_state(req)?;
            // An update cannot move an instance (the registry keeps its realm and url
            // element); checked here too so that no other realm is ever written by this admin.
            admin.of(&realm_of(&st))?;
            own_issuers(state, &admin, &st)?;
            let p = publisher.update(kind, id, if_match(req)?.as_deref(), &st)?;
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance updated");
            crate::frontends::audited::admin(
                state,
                &admin,
                "instance.updated",
                &[("kind", kind.as_str()), ("instance", &p.id)],
            )
            .map_err(JsonFailure::Engine)?;
            Ok(reply(
                200,
                json!({"_id": p.id, "_rev": p.rev, "result": "success", "url_element": p.id}),
            ))
        }
        (m, Some(id)) if m == Method::DELETE => {
            visible(state, &admin, kind, id)?;
            let p = publisher.delete(kind, id, if_match(req)?.as_deref())?;
            let realm = realm_of(&p.config);
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance removed");
            crate::frontends::audited::admin(
                state,
                &admin,
                "instance.deleted",
                &[("kind", kind.as_str()), ("instance", &p.id)],
            )
            .map_err(JsonFailure::Engine)?;
            Ok(reply(
                200,
                json!({
                    "_id": p.id,
                    "_rev": p.rev,
                    "result": format!(
                        "{} sts instance {} successfully removed from realm {}",
                        kind.as_str(),
                        p.id,
                        realm
                    ),
                }),
            ))
        }
        _ => Err(JsonFailure::MethodNotAllowed),
    }
}
