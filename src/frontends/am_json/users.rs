//! `/json/users`: user administration by realm administrators.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::http::Request;
use crate::identity::{IdentityError, User, UserStore as _, Users, hash_password, normalize_realm};
use crate::secret::Secret;

use super::{JsonReply, body_json};
use crate::frontends::Context;
use crate::frontends::admin::guard::{AdminOf, require_admin};
use crate::frontends::crest::{JsonFailure, action, internal, param};

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
        E::Exists(..) | E::RealmExists(_) | E::DigestSecretLocked(_) => {
            JsonFailure::Conflict(e.to_string())
        }
        E::InvalidName(_) => JsonFailure::BadRequest(e.to_string()),
        E::Store(s) => JsonFailure::Engine(crate::engine::EngineError::store(s)),
        other => internal(other),
    }
}

/// User administration as `/json/users` needs it, scoped by the guard's proof: the node's
/// users (file or store) implement it; a directory backend would implement it too.
pub trait UserAdmin: Send + Sync {
    /// Realms, the top-level realm first.
    fn realms(&self) -> Result<Vec<String>, IdentityError>;
    /// The users of the administered realm.
    fn users(&self, of: &AdminOf) -> Result<Vec<User>, IdentityError>;
    fn user(&self, of: &AdminOf, username: &str) -> Result<Option<User>, IdentityError>;
    /// Adds `user` to the administered realm.
    fn add(&self, of: &AdminOf, user: User) -> Result<User, IdentityError>;
    fn update(
        &self,
        of: &AdminOf,
        username: &str,
        change: Box<dyn Fn(&mut User) + '_>,
    ) -> Result<User, IdentityError>;
    fn delete(&self, of: &AdminOf, username: &str) -> Result<(), IdentityError>;
}

impl UserAdmin for Users {
    fn realms(&self) -> Result<Vec<String>, IdentityError> {
        Users::realms(self)
    }

    fn users(&self, of: &AdminOf) -> Result<Vec<User>, IdentityError> {
        let mut all = self.list()?;
        all.retain(|u| normalize_realm(&u.realm) == of.realm());
        Ok(all)
    }

    fn user(&self, of: &AdminOf, username: &str) -> Result<Option<User>, IdentityError> {
        self.find(of.realm(), username)
    }

    fn add(&self, of: &AdminOf, mut user: User) -> Result<User, IdentityError> {
        user.realm = of.realm().to_owned();
        Users::add(self, user.clone())?;
        Ok(user)
    }

    fn update(
        &self,
        of: &AdminOf,
        username: &str,
        change: Box<dyn Fn(&mut User) + '_>,
    ) -> Result<User, IdentityError> {
        Users::update(self, of.realm(), username, change)
    }

    fn delete(&self, of: &AdminOf, username: &str) -> Result<(), IdentityError> {
        Users::delete(self, of.realm(), username)
    }
}

pub(super) fn users(
    state: &Context,
    realm: &str,
    id: Option<&str>,
    req: &Request,
) -> Result<JsonReply, JsonFailure> {
    let of = require_admin(state, &req.headers, realm)?;
    use warp::http::Method;
    let store = &state.users;
    match (&req.method, id) {
        (&Method::GET, None) => {
            if param(&req.query, "_queryFilter").as_deref() != Some("true") {
                return Err(JsonFailure::BadRequest(
                    "only _queryFilter=true is supported".into(),
                ));
            }
            let list: Vec<Value> = store
                .users(&of)
                .map_err(internal)?
                .iter()
                .map(user_json)
                .collect();
            Ok(JsonReply::ok(json!({
                "result": list, "resultCount": list.len(), "pagedResultsCookie": null,
                "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1, "remainingPagedResults": -1
            })))
        }
        (&Method::GET, Some(id)) => {
            let u = store
                .user(&of, id)
                .map_err(internal)?
                .ok_or(JsonFailure::NotFound)?;
            Ok(JsonReply::ok(user_json(&u)))
        }
        (&Method::POST, None) if action(&req.query).as_deref() == Some("create") => {
            let body = body_json(req)?;
            let username = body
                .get("username")
                .and_then(Value::as_str)
                .ok_or_else(|| JsonFailure::BadRequest("username is required".into()))?;
            let password = body
                .get("userpassword")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| JsonFailure::BadRequest("userpassword is required".into()))?;
            let user = User {
                username: username.to_owned(),
                realm: realm.to_owned(),
                password_hash: hash_password(password).map_err(internal)?,
                digest_secret: (body.get("digest") == Some(&Value::Bool(true)))
                    .then(|| Secret::new(password.to_owned())),
                attributes: attributes(&body)?.unwrap_or_default(),
                disabled: status_disabled(&body)?.unwrap_or(false),
                admin: body.get("admin") == Some(&Value::Bool(true)),
            };
            let is_admin = if user.admin { "true" } else { "false" };
            let user = crate::frontends::audited::admin(
                state,
                &of,
                "user.created",
                &[("realm", realm), ("user", username), ("admin", is_admin)],
                || store.add(&of, user).map_err(identity_failure),
            )?;
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
            let password = match body.get("userpassword").and_then(Value::as_str) {
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
            let admin = body.get("admin").and_then(Value::as_bool);
            let changed: Vec<&str> = [
                (attrs.is_some(), "attributes"),
                (disabled.is_some(), "status"),
                (admin.is_some(), "admin"),
                (password.is_some(), "password"),
            ]
            .iter()
            .filter_map(|(c, name)| c.then_some(*name))
            .collect();
            let action = if disabled == Some(true) {
                "user.disabled"
            } else {
                "user.changed"
            };
            let fields = [("realm", realm), ("user", id), ("changed", &changed.join(","))];
            let change = || {
                store
                    .update(
                    &of,
                    id,
                    Box::new(|u| {
                        if let Some(a) = &attrs {
                            u.attributes = a.clone();
                        }
                        if let Some(d) = disabled {
                            u.disabled = d;
                        }
                        if let Some(a) = admin {
                            u.admin = a;
                        }
                        if let Some((plain, hash)) = &password {
                            u.password_hash = hash.clone();
                            if u.digest_secret.is_some() {
                                u.digest_secret = Some(Secret::new(plain.clone()));
                            }
                        }
                    }),
                )
                .map_err(identity_failure)
            };
            let u = crate::frontends::audited::admin(state, &of, action, &fields, change)?;
            Ok(JsonReply::ok(user_json(&u)))
        }
        (&Method::DELETE, Some(id)) => {
            crate::frontends::audited::admin(
                state,
                &of,
                "user.deleted",
                &[("realm", realm), ("user", id)],
                || store.delete(&of, id).map_err(identity_failure),
            )?;
            Ok(JsonReply::ok(
                json!({"_id": id, "result": format!("user {id} removed from realm {realm}")}),
            ))
        }
        _ => Err(JsonFailure::MethodNotAllowed),
    }
}
