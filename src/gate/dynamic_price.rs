//! Prices decided per request: what a `"price": "dynamic"` route asks ([`PriceAsk`]), what
//! it is told ([`DynamicPrice`]), the service that answers ([`Pricing`]: a pricing endpoint
//! in the zero-code Worker, the app's own function in a middleware), and the cache of an
//! endpoint's answers ([`PriceCache`]). The price is quoted in the 402
//! ([`super::quote`]), so a payment is held to the price it was offered.

use serde::{Deserialize, Serialize};

use super::expiring::Expiring;
use crate::pricing::{Price, PriceError};

/// What a route priced per request asks its pricing service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriceAsk {
    /// The route's `match`, in its canonical spelling (`GET /api/*`, `GET,POST /x`, or the
    /// pattern alone when it has no methods).
    pub route: String,
    /// The request's method, upper case.
    pub method: String,
    /// The canonical path.
    pub path: String,
    /// The query, without `?`, as sent (not percent-decoded: decode it before reading
    /// values, as the application does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The MCP tool called, on an MCP route (`mcp.tools`, price `"dynamic"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

/// The price of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DynamicPrice {
    /// Served without payment.
    Free,
    /// Charged this price (in each accepted token, as `price` in the configuration).
    Charge(Price),
}

/// A service that prices requests.
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait Pricing {
    /// The price of the request `ask` describes; an error is a price that could not be had,
    /// and the request is refused (never served free).
    async fn price(&self, ask: &PriceAsk) -> Result<DynamicPrice, String>;
}

/// No pricing service: a `"price": "dynamic"` route is refused (502 `pricing_unavailable`).
impl Pricing for () {
    async fn price(&self, _: &PriceAsk) -> Result<DynamicPrice, String> {
        Err("no pricing service is configured (pricing.url or pricing.service)".into())
    }
}

/// A pricing endpoint's answer: `{"price": "$0.002"}`, or `{"free": true}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointAnswer {
    price: Option<String>,
    free: Option<bool>,
}

impl DynamicPrice {
    /// Reads a pricing endpoint's JSON answer. `price` is written as in the configuration
    /// (`"$0.002"`, `"0.002"`, `"2000"`); exactly one of `price` and `"free": true`.
    pub fn from_answer(body: &[u8]) -> Result<Self, String> {
        let answer: EndpointAnswer = serde_json::from_slice(body).map_err(|e| {
            format!("the pricing answer is not {{\"price\": …}} or {{\"free\": true}}: {e}")
        })?;
        match (answer.price, answer.free) {
            (None, Some(true)) => Ok(Self::Free),
            (Some(price), None | Some(false)) => Price::parse(&price)
                .map(Self::Charge)
                .map_err(|e: PriceError| format!("the pricing answer's {e}")),
            _ => Err("the pricing answer must have one of `price` and `\"free\": true`".into()),
        }
    }

    /// The endpoint's request body for `ask`.
    pub fn request_body(ask: &PriceAsk) -> String {
        // Strings only: serialising cannot fail.
        serde_json::to_string(ask).unwrap_or_default()
    }
}

/// The most answers a cache keeps; past it, expired ones are dropped, then all.
pub const MAX_CACHED_PRICES: usize = 4096;

/// A pricing endpoint's answers by method, path, query and tool, each reused until its time
/// is up.
#[derive(Debug)]
pub struct PriceCache(Expiring<PriceKey, DynamicPrice>);

/// What one cached answer is for: method, path, query, tool.
type PriceKey = (String, String, Option<String>, Option<String>);

impl PriceAsk {
    fn key(&self) -> PriceKey {
        (
            self.method.clone(),
            self.path.clone(),
            self.query.clone(),
            self.tool.clone(),
        )
    }
}

impl Default for PriceCache {
    fn default() -> Self {
        Self(Expiring::new(MAX_CACHED_PRICES))
    }
}

impl PriceCache {
    /// The answer for `ask` if one is still fresh at `now`.
    pub fn get(&self, ask: &PriceAsk, now: u64) -> Option<DynamicPrice> {
        self.0.get(&ask.key(), now)
    }

    /// Keeps `price` for `ask` for `cache_s` seconds from `now` (nothing when `cache_s` is 0).
    pub fn put(&mut self, ask: &PriceAsk, price: DynamicPrice, now: u64, cache_s: u64) {
        self.0.put(ask.key(), price, cache_s, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(path: &str) -> PriceAsk {
        PriceAsk {
            route: "GET /api/*".into(),
            method: "GET".into(),
            path: path.into(),
            query: None,
            tool: None,
        }
    }

    #[test]
    fn answers_are_a_price_or_free_and_nothing_else() {
        let price = |text: &str| DynamicPrice::Charge(Price::parse(text).unwrap());
        assert_eq!(
            DynamicPrice::from_answer(br#"{"price":"$0.002"}"#),
            Ok(price("$0.002"))
        );
        assert_eq!(
            DynamicPrice::from_answer(br#"{"free":true}"#),
            Ok(DynamicPrice::Free)
        );
        for bad in [
            &br#"{}"#[..],
            br#"{"free":false}"#,
            br#"{"price":"$1","free":true}"#,
            br#"{"price":"-1"}"#,
            br#"{"price":1}"#,
            br#"{"price":"$1","discount":"x"}"#,
            b"not json",
        ] {
            assert!(
                DynamicPrice::from_answer(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_body_names_route_method_path_and_query() {
        let mut asked = ask("/api/x");
        asked.query = Some("q=1".into());
        assert_eq!(
            DynamicPrice::request_body(&asked),
            r#"{"route":"GET /api/*","method":"GET","path":"/api/x","query":"q=1"}"#
        );
    }

    #[test]
    fn cached_answers_last_their_time_per_path() {
        let mut cache = PriceCache::default();
        cache.put(&ask("/api/a"), DynamicPrice::Free, 100, 30);
        assert_eq!(cache.get(&ask("/api/a"), 129), Some(DynamicPrice::Free));
        assert_eq!(cache.get(&ask("/api/a"), 130), None);
        assert_eq!(cache.get(&ask("/api/b"), 100), None);
        cache.put(&ask("/api/c"), DynamicPrice::Free, 100, 0);
        assert_eq!(cache.get(&ask("/api/c"), 100), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let mut cache = PriceCache::default();
        for i in 0..MAX_CACHED_PRICES + 10 {
            cache.put(&ask(&format!("/api/{i}")), DynamicPrice::Free, 0, 60);
        }
        assert!(cache.0.len() <= MAX_CACHED_PRICES);
        let last = format!("/api/{}", MAX_CACHED_PRICES + 9);
        assert_eq!(cache.get(&ask(&last), 1), Some(DynamicPrice::Free));
    }
}
