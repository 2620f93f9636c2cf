//! `/sts-tokengen`: administrators query and cancel the tokens persisting instances issued.
//! Shapes follow the reference pages exactly.

use serde_json::{Value, json};

use crate::store::TokenInfo;

use super::guard::require_admin;
use crate::frontends::Context;
use crate::frontends::crest::{
    JsonFailure, json_reply, param, refuse_content_encoding, store_failure,
};
use crate::http::{HttpReply, Outcome, Request};

/// Default and largest page (the reference shape has no paging by default; an unbounded
/// answer over millions of tokens is not something to send, so pages are capped).
const DEFAULT_PAGE: usize = 1000;
const MAX_PAGE: usize = 10_000;

fn item(t: &TokenInfo) -> Value {
    json!({
        "_id": t.token_id,
        "_rev": "",
        "token_id": t.token_id,
        "sts_id": t.sts_id,
        "principal_name": t.principal,
        "token_type": t.token_type,
        "expiration_time": t.expires_ms / 1000,
    })
}

/// Handles one request under `/sts-tokengen/`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    crate::metrics::note_operation("tokengen");
    if let Some(refused) = refuse_content_encoding(&req.headers) {
        return refused.into();
    }
    match route(state, req) {
        Ok(v) => HttpReply::json(200, &v),
        Err(f) => json_reply(&f),
    }
    .into()
}

fn route(state: &Context, req: &Request) -> Result<Value, JsonFailure> {
    let admin = require_admin(state, &req.headers, "/")?;
    let id = req.tail.trim_matches('/');
    let store = state.engine.tokens();
    use warp::http::Method;
    match (&req.method, id) {
        (&Method::GET, "") => {
            let filter = param(&req.query, "_queryFilter")
                .ok_or_else(|| JsonFailure::BadRequest("_queryFilter is required".into()))?;
            let filter = crate::store::filter::parse(&filter)
                .map_err(|e| JsonFailure::BadRequest(e.to_string()))?;
            let size = match param(&req.query, "_pageSize") {
                None => DEFAULT_PAGE,
                Some(s) => match s.parse::<usize>() {
                    Ok(0) | Err(_) => DEFAULT_PAGE,
                    Ok(n) => n.min(MAX_PAGE),
                },
            };
            let cookie = param(&req.query, "_pagedResultsCookie").filter(|c| !c.is_empty());
            let page = store
                .query_tokens(&filter, size, cookie.as_deref())
                .map_err(store_failure)?;
            let result: Vec<Value> = page.items.iter().map(item).collect();
            Ok(json!({
                "result": result,
                "resultCount": result.len(),
                "pagedResultsCookie": page.next,
                "totalPagedResultsPolicy": "NONE",
                "totalPagedResults": -1,
                "remainingPagedResults": -1,
            }))
        }
        (&Method::GET, id) => {
            let t = store
                .get_token(id)
                .map_err(store_failure)?
                .ok_or(JsonFailure::NotFound)?;
            Ok(item(&t.info()))
        }
        (&Method::DELETE, id) if !id.is_empty() => {
            // Known before the event is written, so that a miss records nothing.
            if store.get_token(id).map_err(store_failure)?.is_none() {
                return Err(JsonFailure::NotFound);
            }
            crate::frontends::audited::cancelled(state, None, id, Some(admin.by()), || {
                match store.delete_token(id).map_err(store_failure)? {
                    true => Ok(()),
                    false => Err(JsonFailure::NotFound),
                }
            })?;
            tracing::info!(token = %id, "token cancelled through sts-tokengen");
            Ok(json!({
                "_id": id,
                "_rev": id,
                "result": format!("token with id {id} successfully removed."),
            }))
        }
        _ => Err(JsonFailure::MethodNotAllowed),
    }
}
