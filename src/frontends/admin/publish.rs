//! `/sts-publish/{rest|soap}`: create, read, list, update and delete STS instances at run
//! time, in the JSON of AM's publish service. An administrator of a realm lists, reads and
//! deletes the instances whose `deployment-realm` is that realm: a list shows them only, and
//! another realm's instance is "not found" to them (its name is not disclosed). Creating and
//! updating need the administrator of the top-level realm: every instance signs with this
//! node's keys and chooses its issuer names, audiences and trusted issuers, so an instance a
//! realm administrator could configure would mint tokens that relying parties of every realm
//! trust.

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

/// The id an instance state asks for (its realm-qualified url element), for the audit event
/// written before the instance is published; empty when the state names none.
fn requested_id(state_json: &Value) -> String {
    state_json
        .get("deployment-config")
        .and_then(|d| d.get("deployment-url-element"))
        .and_then(Value::as_str)
        .map(|u| crate::instance::subpath(&realm_of(state_json), u))
        .unwrap_or_default()
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
            // Before the state is read: an administrator of one realm learns nothing from
            // its problems.
            let admin = admin.of("/")?;
            let st = instance_state(req)?;
            let p = crate::frontends::audited::admin(
                state,
                &admin,
                "instance.published",
                &[("kind", kind.as_str()), ("instance", &requested_id(&st))],
                || publisher.create(kind, &st).map_err(JsonFailure::from),
            )?;
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance published");
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
            // Another realm's instance is "not found" (its name is not disclosed); their own
            // is theirs to read, not to reconfigure.
            visible(state, &admin, kind, id)?;
            let admin = admin.of("/")?;
            let st = instance_state(req)?;
            let expected = if_match(req)?;
            let p = crate::frontends::audited::admin(
                state,
                &admin,
                "instance.updated",
                &[("kind", kind.as_str()), ("instance", id)],
                || {
                    publisher
                        .update(kind, id, expected.as_deref(), &st)
                        .map_err(JsonFailure::from)
                },
            )?;
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance updated");
            Ok(reply(
                200,
                json!({"_id": p.id, "_rev": p.rev, "result": "success", "url_element": p.id}),
            ))
        }
        (m, Some(id)) if m == Method::DELETE => {
            visible(state, &admin, kind, id)?;
            let expected = if_match(req)?;
            let p = crate::frontends::audited::admin(
                state,
                &admin,
                "instance.deleted",
                &[("kind", kind.as_str()), ("instance", id)],
                || {
                    publisher
                        .delete(kind, id, expected.as_deref())
                        .map_err(JsonFailure::from)
                },
            )?;
            let realm = realm_of(&p.config);
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance removed");
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
