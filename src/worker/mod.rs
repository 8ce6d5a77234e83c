//! The Cloudflare Worker shell (feature `worker`, wasm32 only): reads the request, the
//! bindings and the clock, performs what [`crate::gate`] decides with `Fetch`, KV and Durable
//! Objects, and writes one JSON log line per request. Everything it decides is decided by the
//! core.
//!
//! Two ways to use it:
//! - **the zero-code Worker** (feature `proxy`, on by default): `wrangler deploy` with a
//!   configuration, and it proxies paid requests to `origin`;
//! - **a middleware in your own workers-rs Worker** (feature `worker` without `proxy`):
//!   [`Gateway::serve`] puts the configuration's prices on your own handler. Its Durable
//!   Object classes (`PaymentCoordinator`, `AllowanceBook`, `TokenBudget`) come with it and
//!   are bound in your `wrangler.toml` as in this crate's.
//!
//! ```ignore
//! use edge402::worker::{Gateway, LazyGateway};
//! use worker::{event, Context, Env, Request, Response, Result};
//!
//! static GATEWAY: LazyGateway = LazyGateway::new(Gateway::from_env);
//!
//! #[event(fetch)]
//! async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response> {
//!     GATEWAY.serve(request, &env, &ctx, |request| async move {
//!         Response::ok(format!("paid for {}", request.path()))
//!     }).await
//! }
//! ```
//!
//! Bindings: `EDGE402_CONFIG` (a var: a table in `wrangler.toml`, or JSON text), `RECEIPTS`
//! (a KV namespace), `PAYMENTS` (the payment coordinator's Durable Objects), `ALLOWANCES`
//! (invoice and smart-wallet allowances), `TOKEN_BUDGET` (L402 request budgets), the optional
//! secrets `FACILITATOR_AUTHORIZATION` (sent as the facilitator's `Authorization` header),
//! `ORIGIN_AUTHORIZATION` (sent to the origin in `origin.secret_header`) and `ADMIN_TOKEN`
//! (opens the operator's listing, `/__edge402/settlements`), for L402 routes the secrets
//! `L402_ROOT_SECRET` (root keys are derived from it) and `LND_MACAROON` (hex, for invoices),
//! and for routes priced per request `QUOTE_SECRET` (signs their quotes).

mod admin;
mod budget;
mod gateway;
mod lightning;
mod objects;
mod origin;
mod outbound;
mod payments;
mod pricing;
#[cfg(feature = "proxy")]
mod proxy;
mod spent;

pub use crate::config::{ConfigError, GatewayConfig};
pub use crate::gate::{DynamicPrice, PriceAsk};
pub use crate::pricing::Price;
pub use gateway::{Gateway, LazyGateway, PriceFunction};

/// The configuration variable.
const CONFIG_VAR: &str = "EDGE402_CONFIG";
/// The KV namespace of receipts.
const RECEIPTS_KV: &str = "RECEIPTS";
/// The optional secret sent as the facilitator's `Authorization` header.
const FACILITATOR_AUTH_SECRET: &str = "FACILITATOR_AUTHORIZATION";
/// LND's invoice macaroon, hex.
const LND_MACAROON_SECRET: &str = "LND_MACAROON";
