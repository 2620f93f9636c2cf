//! Every route: a path prefix, the front end that answers it, and that front end's answer
//! to a refused request. warp dispatches on the prefix only; each front end routes its
//! tail itself, synchronously, so that it can be tested without warp.

use std::sync::Arc;

use warp::Filter;

use crate::frontends::{self, Context, adfs, am_json, crest, oauth2, rest_sts, soap_sts};
use crate::http::{HttpReply, endpoint};
use crate::metrics::Frontend;

use super::AppState;

const TEXT: &str = "text/plain; charset=utf-8";

/// All routes (the same for `sts serve`, the library and the tests).
pub fn routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone {
    let ctx = state.ctx.clone();
    // /health/live, /health/ready, and /metrics unless it has a listener of its own.
    let observe = super::observe::routes(state.clone(), state.metrics_on_main);
    let admission = state.admission.clone();
    let json_like = |prefix: &'static str, frontend, handler| {
        endpoint(
            warp::path(prefix),
            ctx.clone(),
            admission.clone(),
            frontend,
            crest::shed,
            handler,
        )
    };
    // Path before method, so that unknown paths are 404 rather than 405.
    let soap_post = endpoint(
        warp::path("sts").and(warp::post()),
        ctx.clone(),
        admission.clone(),
        Frontend::Soap,
        soap_sts::shed,
        soap_sts::handle,
    );
    let wsdl_get = warp::path("sts")
        .and(warp::get())
        .and(warp::path::tail())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(with(ctx.clone()))
        .map(|tail: warp::path::Tail, query: String, ctx: Arc<Context>| {
            let subpath = tail.as_str().trim_matches('/');
            match subpath.strip_suffix("/mex") {
                // WS-MetadataExchange, unless an instance has that very subpath.
                Some(inst) if ctx.soap_instance(subpath).is_none() => {
                    soap_sts::mex::get(&ctx, inst)
                }
                _ => soap_sts::wsdl::get(&ctx, subpath, &query),
            }
        });
    // AD FS's paths (`[adfs]`), GET and POST: each front end routes the method itself.
    let adfs_route = endpoint(
        warp::path("adfs"),
        ctx.clone(),
        admission.clone(),
        Frontend::Soap,
        soap_sts::shed,
        adfs::handle,
    );
    let federation_metadata = endpoint(
        warp::path("FederationMetadata"),
        ctx.clone(),
        admission.clone(),
        Frontend::Metadata,
        crest::shed,
        adfs::metadata::handle,
    );
    let xsd_get = warp::path("xsd")
        .and(warp::get())
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .map(|name: String| soap_sts::wsdl::get_xsd(&name));
    let json_route = json_like("json", Frontend::JsonAdmin, am_json::handle);
    let tokengen_route = json_like("sts-tokengen", Frontend::JsonAdmin, frontends::admin::tokengen::handle);
    let publish_route = json_like("sts-publish", Frontend::JsonAdmin, frontends::admin::publish::handle);
    let oauth2_route = json_like("oauth2", Frontend::OAuth2, oauth2::handle);
    let clients_route = json_like("sts-clients", Frontend::JsonAdmin, frontends::admin::clients::handle);
    let rest_route = json_like("rest-sts", Frontend::Rest, rest_sts::handle);
    // The admin console (issue 21): its page, script and `/console/api/`.
    let console_route = endpoint(
        warp::path("console"),
        state.console.clone(),
        admission.clone(),
        Frontend::JsonAdmin,
        crest::shed,
        frontends::console::handle,
    );
    let openapi = warp::path("openapi.json")
        .and(warp::get())
        .and(warp::path::end())
        .map(|| HttpReply::text(200, "application/json", frontends::OPENAPI.to_owned()));
    // RFC 8414: `/.well-known/oauth-authorization-server` + the issuer's path.
    let oauth_metadata = warp::path(".well-known")
        .and(warp::path("oauth-authorization-server"))
        .and(warp::get())
        .and(warp::path::tail())
        .and(with(ctx))
        .map(|tail: warp::path::Tail, ctx: Arc<Context>| {
            oauth2::metadata::well_known(&ctx, tail.as_str())
        });
    let health = warp::path("health")
        .and(warp::get())
        .and(warp::path::end())
        .map(|| HttpReply::text(200, "application/json", "{\"status\":\"ok\"}".into()));
    soap_post
        .or(observe)
        .unify()
        .or(wsdl_get)
        .unify()
        .or(adfs_route)
        .unify()
        .or(federation_metadata)
        .unify()
        .or(xsd_get)
        .unify()
        .or(json_route)
        .unify()
        .or(tokengen_route)
        .unify()
        .or(publish_route)
        .unify()
        .or(oauth2_route)
        .unify()
        .or(clients_route)
        .unify()
        .or(rest_route)
        .unify()
        .or(console_route)
        .unify()
        .or(oauth_metadata)
        .unify()
        .or(health)
        .unify()
        .or(openapi)
        .unify()
        .recover(|r: warp::Rejection| async move {
            let reply = if r.is_not_found() {
                HttpReply::text(404, TEXT, "not found\n".into())
            } else if r.find::<warp::reject::MethodNotAllowed>().is_some() {
                HttpReply::text(405, TEXT, "method not allowed\n".into())
            } else {
                HttpReply::text(400, TEXT, "bad request\n".into())
            };
            Ok::<_, std::convert::Infallible>(reply)
        })
}

fn with(
    ctx: Arc<Context>,
) -> impl Filter<Extract = (Arc<Context>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || ctx.clone())
}
