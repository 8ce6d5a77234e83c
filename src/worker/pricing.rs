//! Prices of routes priced per request: the application's own function when it gave one
//! ([`super::Gateway::with_prices`]), otherwise the configured pricing endpoint (a URL, or a
//! service binding), whose answers are kept for `pricing.cache_s` in this isolate.

use std::cell::RefCell;

use worker::{Env, Method};

use super::gateway::PriceFunction;
use super::outbound::exchange_through;
use crate::config::{PricingConfig, PricingEndpoint};
use crate::gate::dynamic_price::{PriceCache, Pricing};
use crate::gate::{DynamicPrice, PriceAsk};

/// The largest pricing answer read.
const MAX_PRICE_ANSWER_BYTES: usize = 4 * 1024;
/// The URL a pricing service binding is sent (the Worker behind it sees this URL).
const SERVICE_URL: &str = "https://pricing.internal/price";

thread_local! {
    /// The endpoint's answers, per isolate.
    static CACHE: RefCell<PriceCache> = RefCell::default();
}

/// Where one request's price comes from.
pub struct Prices<'a> {
    pub function: Option<&'a PriceFunction>,
    pub config: &'a PricingConfig,
    pub env: &'a Env,
    /// The request's time, for the cache.
    pub now: u64,
}

impl Pricing for Prices<'_> {
    async fn price(&self, ask: &PriceAsk) -> Result<DynamicPrice, String> {
        if let Some(function) = self.function {
            return function(ask);
        }
        let Some(endpoint) = &self.config.endpoint else {
            return ().price(ask).await;
        };
        if let Some(price) = CACHE.with(|cache| cache.borrow().get(ask, self.now)) {
            return Ok(price);
        }
        let service = match endpoint {
            PricingEndpoint::Url(_) => None,
            PricingEndpoint::Service(name) => Some(
                self.env
                    .service(name)
                    .map_err(|_| format!("no service binding named {name:?}"))?,
            ),
        };
        let url = match endpoint {
            PricingEndpoint::Url(url) => url.as_str(),
            PricingEndpoint::Service(_) => SERVICE_URL,
        };
        let body = Some(DynamicPrice::request_body(ask));
        let answered = exchange_through(
            service.as_ref(),
            Method::Post,
            url,
            &[("Accept", "application/json")],
            body,
            self.config.timeout_ms,
            MAX_PRICE_ANSWER_BYTES,
        )
        .await
        .map_err(|error| format!("the pricing endpoint: {}", error.detail()))?;
        if answered.status != 200 {
            return Err(format!("the pricing endpoint answered {}", answered.status));
        }
        let price = DynamicPrice::from_answer(&answered.body)?;
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            cache.put(ask, price.clone(), self.now, self.config.cache_s);
        });
        Ok(price)
    }
}
