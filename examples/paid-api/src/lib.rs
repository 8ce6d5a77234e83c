//! An axum application in a workers-rs Worker, priced by edge402: `GET /weather` costs the
//! configuration's fixed price; `GET /reports/{id}` is priced per request by [`price`] (a
//! full report costs more than a summary); `/` is free. The app's handlers know nothing of
//! payments: [`edge402::worker::Gateway::serve`] calls them only once a request is paid for.

use axum::extract::{Path, Query};
use axum::routing::get;
use axum::{Json, Router};
use edge402::worker::{DynamicPrice, Gateway, LazyGateway, Price, PriceAsk};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_service::Service;
use worker::url::form_urlencoded;
use worker::{event, Context, Env, HttpRequest, Request, Response, Result};

/// The gateway of `EDGE402_CONFIG` (wrangler.toml), pricing its `"dynamic"` routes with
/// [`price`]; built on the isolate's first request.
static GATEWAY: LazyGateway =
    LazyGateway::new(|env| Ok(Gateway::from_env(env)?.with_prices(price)));

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response> {
    GATEWAY.serve(request, &env, &ctx, app).await
}

/// The price of a report: `?detail=full` costs $0.01, a summary $0.002. The query is read
/// as axum's `Query` reads it (percent-decoded), so that what is priced is what is served.
fn price(ask: &PriceAsk) -> std::result::Result<DynamicPrice, String> {
    let full = ask.query.as_deref().is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes())
            .any(|(key, value)| key == "detail" && value == "full")
    });
    let text = if full { "$0.01" } else { "$0.002" };
    Price::parse(text)
        .map(DynamicPrice::Charge)
        .map_err(|e| e.to_string())
}

/// The axum application, as the Worker's handler: edge402 hands it the request (at its
/// canonical path), and it answers as any axum app does.
async fn app(request: Request) -> Result<Response> {
    let request = HttpRequest::try_from(request)?;
    match router().call(request).await {
        Ok(response) => Response::try_from(response),
        Err(never) => match never {},
    }
}

fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "edge402 example: GET /weather, GET /reports/{id}" }),
        )
        .route("/weather", get(weather))
        .route("/reports/{id}", get(report))
}

async fn weather() -> Json<Value> {
    Json(json!({ "city": "Lisbon", "forecast": "sunny", "celsius": 21 }))
}

#[derive(Deserialize)]
struct ReportQuery {
    detail: Option<String>,
}

async fn report(Path(id): Path<String>, Query(query): Query<ReportQuery>) -> Json<Value> {
    let full = query.detail.as_deref() == Some("full");
    Json(json!({ "report": id, "detail": if full { "full" } else { "summary" } }))
}
