//! The zero-code Worker (feature `proxy`): the gateway of `EDGE402_CONFIG` in front of
//! `origin` (or of built-in demo content when none is configured).

use serde_json::json;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;
use worker::worker_sys::{self, web_sys};
use worker::{Context, Env, Fetch, Request, Response, Result};

use super::gateway::{configuration_error, with_headers, Gateway, LazyGateway};
use super::origin::forwarded;
use crate::config::OriginConfig;
use crate::gate::forward::rewrite_location;
use crate::routes::UrlParts;

/// The optional secret sent to the origin in `origin.secret_header`, so that it can refuse
/// traffic that did not come through the gateway.
const ORIGIN_AUTH_SECRET: &str = "ORIGIN_AUTHORIZATION";

static GATEWAY: LazyGateway = LazyGateway::new(Gateway::from_env);

/// The Worker's `fetch` export, in the runtime's own terms: the gateway answers what it can
/// at once (a 402 is a `Response`, made synchronously) and the rest as a `Promise`, and a
/// `worker::Request` is made only of what goes on to the origin.
#[wasm_bindgen]
pub fn fetch(request: web_sys::Request, env: Env, ctx: worker_sys::Context) -> JsValue {
    let ctx = Context::new(ctx);
    let gateway = match GATEWAY.get(&env) {
        Ok(gateway) => gateway,
        Err(error) => {
            let answered = async move {
                let response = configuration_error(&request, &env, error).await?;
                Ok(JsValue::from(web_sys::Response::from(response)))
            };
            return future_to_promise(answered).into();
        }
    };
    let config = gateway.gate().config();
    let secrets = env.clone();
    gateway.fetch(request, env, ctx, move |forwarded| async move {
        match &config.origin {
            Some(origin) => {
                let secret = secrets.secret(ORIGIN_AUTH_SECRET).ok();
                let secret = secret.map(|s| s.to_string());
                proxy(origin, secret.as_deref(), forwarded).await
            }
            None => demo(&forwarded, config.routes.len()),
        }
    })
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
    let outbound = forwarded(
        request.inner(),
        &target,
        &config.secret_header,
        secret,
        None,
    )?;
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
