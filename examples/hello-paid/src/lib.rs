use edge402::worker::{DynamicPrice, Gateway, LazyGateway, Price, PriceAsk};
use worker::url::form_urlencoded;
use worker::{event, Context, Env, Request, Response, Result};

// Built on the isolate's first request; a broken configuration answers 500 invalid_configuration.
static GATEWAY: LazyGateway =
    LazyGateway::new(|env| Ok(Gateway::from_env(env)?.with_prices(price)));

/// Routes with `price = "dynamic"`: a bulk export costs more.
fn price(ask: &PriceAsk) -> std::result::Result<DynamicPrice, String> {
    // The query as sent: decode it, as the handler would, before reading a value.
    let bulk = ask.query.as_deref().is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes()).any(|(key, value)| key == "bulk" && value == "1")
    });
    let text = if bulk { "$0.05" } else { "$0.001" };
    Price::parse(text)
        .map(DynamicPrice::Charge)
        .map_err(|e| e.to_string())
}

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response> {
    GATEWAY
        .serve(request, &env, &ctx, |request| async move {
            Response::ok(format!("your data for {}", request.path()))
        })
        .await
}
