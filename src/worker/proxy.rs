//! The zero-code Worker (feature `proxy`): the gateway of `EDGE402_CONFIG` in front of
//! `origin` (or of built-in demo content when none is configured).

use serde_json::json;
use worker::{event, Context, Env, Fetch, Request, Response, Result};

use super::gateway::{configuration_error, with_headers, Gateway, LazyGateway};
use super::origin::forwarded;
use crate::config::OriginConfig;
use crate::gate::forward::rewrite_location;
use crate::routes::UrlParts;

/// The optional secret sent to the origin in `origin.secret_header`, so that it can refuse
/// traffic that did not come through the gateway.
const ORIGIN_AUTH_SECRET: &str = "ORIGIN_AUTHORIZATION";

static GATEWAY: LazyGateway = LazyGateway::new(Gateway::from_env);

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response> {
    let gateway = match GATEWAY.get(&env) {
        Ok(gateway) => gateway,
        Err(error) => return configuration_error(&request, &env, error).await,
    };
    let config = gateway.gate().config();
    let secret = env.secret(ORIGIN_AUTH_SECRET).ok().map(|s| s.to_string());
    gateway
        .serve(request, &env, &ctx, |forwarded| async move {
            match &config.origin {
                Some(origin) => proxy(origin, secret.as_deref(), forwarded).await,
                None => demo(&forwarded, config.routes.len()),
            }
        })
        .await
}

/// The zero-code Worker's content: `request` (as the gateway forwards it) sent on to the
/// origin at the same path and query, with the `ORIGIN_AUTHORIZATION` secret in
/// `origin.secret_header` when it is set, without following redirects; a `Location` into the
/// origin is rewritten to the gateway's URL.
async fn proxy(config: &OriginConfig, secret: Option<&str>, request: Request) -> Result<Response> {
    let url = request.inner().url();
    let parts = UrlParts::split(&url);
    let target = match parts.query {
        Some(query) => format!("{}{}?{query}", config.url, parts.path),
        None => format!("{}{}", config.url, parts.path),
    };
    let outbound = forwarded(&request, &target, &config.secret_header, secret)?;
    let response = Fetch::Request(outbound).send().await?;
    let location = response.headers().get("Location").ok().flatten();
    match location.and_then(|l| rewrite_location(&l, &config.url, parts.origin)) {
        Some(rewritten) => with_headers(response, &[("Location", rewritten)]),
        None => Ok(response),
    }
}

/// Built-in demo content, served when no `origin` is configured: a small JSON document that
/// says what was bought.
fn demo(request: &Request, routes: usize) -> Result<Response> {
    let url = request.inner().url();
    let parts = UrlParts::split(&url);
    let target = match parts.query {
        Some(query) => format!("{}?{query}", parts.path),
        None => parts.path.to_owned(),
    };
    Response::from_json(&json!({
        "demo": true,
        "method": request.method().to_string(),
        "resource": target,
        "message": "edge402 demo content: configure `origin` to proxy a real API",
        "routes": routes,
    }))
}
