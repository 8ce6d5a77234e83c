//! The gateway's configuration: one JSON document (a `[vars.EDGE402_CONFIG]` table in
//! `wrangler.toml`, or a JSON string), read and validated once per isolate into types that
//! cannot hold a bad value: addresses, networks, amounts and settle orders are parsed here, so
//! nothing in the request path parses a configuration string.
//!
//! Every error names the key (`routes[1].accepts[0].pay_to`) and what is wrong with it, never
//! the value, which may be a secret pasted in the wrong place.
//!
//! ```json
//! {
//!   "origin": "https://api.example.com",
//!   "facilitator": { "url": "https://x402.org/facilitator", "settle_timeout_ms": 30000 },
//!   "receipt_ttl_s": 3600,
//!   "routes": [
//!     { "match": "GET /api/weather/*", "price": "$0.001",
//!       "accepts": [{ "network": "base-sepolia", "pay_to": "0x…" }],
//!       "description": "Weather", "mime_type": "application/json", "max_timeout_s": 60 },
//!     { "match": "/health", "free": true }
//!   ]
//! }
//! ```
//!
//! Parts: this file holds the types and defaults, [`reader`] the JSON reader, [`lints`] the
//! checks of a valid configuration that is probably not what was meant.

mod lints;
mod reader;
#[cfg(test)]
mod tests;

use core::fmt;

use serde_json::{json, Value};

use crate::evm::Address;
use crate::networks::{Asset, Network, Networks};
use crate::pricing::{Price, PriceError};
use crate::protocol::v2;
use crate::routes::RouteMatcher;
use crate::terms::{ExactEvmTerms, ResolvedOffer, EXACT};

/// The public x402.org testnet facilitator, used when none is configured.
pub const DEFAULT_FACILITATOR_URL: &str = "https://x402.org/facilitator";
/// How long to wait for `/verify`, by default.
pub const DEFAULT_VERIFY_TIMEOUT_MS: u64 = 10_000;
/// How long to wait for `/settle`, by default: settlement on Base has been seen to take up to
/// half a minute, and giving up early leaves a payment whose outcome is unknown.
pub const DEFAULT_SETTLE_TIMEOUT_MS: u64 = 30_000;
/// How long receipts are kept, by default.
pub const DEFAULT_RECEIPT_TTL_S: u64 = 3_600;
/// Workers KV refuses expirations shorter than a minute.
pub const MIN_RECEIPT_TTL_S: u64 = 60;
/// `maxTimeoutSeconds` of a route, by default.
pub const DEFAULT_MAX_TIMEOUT_S: u64 = 60;
/// How long an L402 token is valid, by default.
pub const DEFAULT_L402_VALID_FOR_S: u64 = 3_600;
/// How long to wait for a Lightning invoice, by default.
pub const DEFAULT_LIGHTNING_TIMEOUT_MS: u64 = 5_000;
/// Fresh invoices one client may cause per minute, by default.
pub const DEFAULT_INVOICES_PER_MINUTE: u32 = 10;
/// Invoices one route may create per minute in all, by default.
pub const DEFAULT_INVOICES_PER_ROUTE_PER_MINUTE: u32 = 120;
/// Smart-wallet payments one client may have verified per minute, by default.
pub const DEFAULT_SMART_WALLET_PER_MINUTE: u32 = 10;
/// The media type of paid content, by default.
pub const DEFAULT_MIME_TYPE: &str = "application/json";

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Where paid and free content comes from; `None` serves built-in demo responses.
    pub origin: Option<OriginConfig>,
    /// The facilitator that verifies and settles.
    pub facilitator: FacilitatorConfig,
    /// Seconds a receipt is kept (at least [`MIN_RECEIPT_TTL_S`]).
    pub receipt_ttl_s: u64,
    /// Whether paid patterns compare letter case (default: they do not).
    pub case_sensitive_paths: bool,
    /// Networks and assets: the built-in table plus the configured ones.
    pub networks: Networks,
    /// Routes, first match wins.
    pub routes: Vec<Route>,
    /// The Lightning node that issues L402 invoices; required when a route sells over L402.
    pub lightning: Option<LightningConfig>,
    /// How smart-wallet signatures are taken.
    pub smart_wallets: SmartWalletConfig,
    /// How routes with `"price": "dynamic"` are priced and quoted.
    pub pricing: PricingConfig,
    /// The discovery document of the priced routes (`discovery`); `None`: not served.
    pub discovery: Option<DiscoveryDocument>,
    /// Signed offers and receipts (`offer_receipt`, the x402 `offer-receipt` extension);
    /// `None`: not signed.
    pub offer_receipt: Option<OfferReceiptConfig>,
    /// Idempotent payments (`payment_identifier`, the x402 `payment-identifier` extension);
    /// `None`: not offered, and clients' ids are ignored.
    pub payment_identifier: Option<PaymentIdentifierConfig>,
    /// Signing in instead of paying again (`sign_in_with_x`, the x402 `sign-in-with-x`
    /// extension), for routes with `access_s`; required by them.
    pub sign_in_with_x: Option<SignInConfig>,
    /// How request signatures are checked (`web_bot_auth`), on routes with `clients`.
    pub web_bot_auth: WebBotAuthConfig,
    /// Which requests get a log line (`log_requests`).
    pub log_requests: LogRequests,
}

/// Which requests the shell logs (`log_requests`). A log line costs the Worker more than
/// the rest of a 402 does (the runtime serialises and ships every `console.log`), so the
/// requests that are most of the traffic and tell nothing about payments are not logged
/// unless asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogRequests {
    /// `"payments"`: every request that presents a payment, a sign-in or a credential, or
    /// is refused for another reason than carrying none; not free pass-throughs, plain
    /// challenges (no payment), CORS preflights or the discovery document.
    #[default]
    Payments,
    /// `"all"`: every request.
    All,
}

/// `sign_in_with_x`: how routes with `access_s` offer signing in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInConfig {
    /// The gateway's public origin, `https://host[:port]` (the URL browsers and agents
    /// reach it at): sign-in messages must name it, whatever `Host` a request carries.
    pub origin: String,
    /// Its host and port, as the messages' `domain`.
    pub domain: String,
    /// The statement a wallet shows when signing.
    pub statement: Option<String>,
}

/// How long, and where, a payment gives its payer access (`access_s`, `access_group`): the
/// payer may then sign in (x402's `sign-in-with-x`) instead of paying again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteAccess {
    /// Seconds after the payment settled.
    pub seconds: u64,
    /// What a payment opens: the routes of its `access_group`, or the route alone (its
    /// `match`).
    pub scope: String,
}

/// The longest access a payment may give (a year).
pub const MAX_ACCESS_S: u64 = 366 * 24 * 3600;

/// `payment_identifier`: a v2 payment naming an id gets, for every later payment by the same
/// payer for the same resource under that id, the first one's settlement instead of a
/// second charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentIdentifierConfig {
    /// Whether every v2 payment must carry an id.
    pub required: bool,
}

/// `discovery`: the OpenAPI 3.1 document of every priced route, with its payment terms,
/// served at [`crate::gate::extensions::DISCOVERY_PATH`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryDocument {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `info.description`.
    pub description: Option<String>,
}

/// `offer_receipt`: every 402 carries the gateway's EIP-712 signature over each way to pay,
/// and every paid answer a signed receipt, under the secret `OFFER_RECEIPT_KEY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferReceiptConfig {
    /// Seconds a signed offer holds (`validUntil`); `None`: the way to pay's
    /// `maxTimeoutSeconds`, as the extension's reference server does.
    pub offer_valid_s: Option<u64>,
}

/// What a priced route tells discovery services about itself (`discovery`), published as the
/// x402 `bazaar` extension of its 402 and in the discovery document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteDiscovery {
    /// How the input is sent: in the query (`None`), or as a body of this type.
    pub body_type: Option<BodyType>,
    /// An example input: query parameters, or the body.
    pub input: serde_json::Map<String, Value>,
    /// JSON Schema of the input (`properties`, `required`, …).
    pub input_schema: serde_json::Map<String, Value>,
    /// An example output.
    pub output_example: Option<Value>,
    /// JSON Schema of the output.
    pub output_schema: Option<serde_json::Map<String, Value>>,
}

/// How a route's input body is encoded, as the `bazaar` extension names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    /// `json`.
    Json,
    /// `form-data`.
    FormData,
    /// `text`.
    Text,
}

impl BodyType {
    /// Its name on the wire and in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::FormData => "form-data",
            Self::Text => "text",
        }
    }

    /// The media type of such a body.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::FormData => "multipart/form-data",
            Self::Text => "text/plain",
        }
    }
}

/// The methods whose input is the query, and those whose input is a body, as the `bazaar`
/// extension divides them.
pub const QUERY_METHODS: [&str; 3] = ["GET", "HEAD", "DELETE"];
/// See [`QUERY_METHODS`].
pub const BODY_METHODS: [&str; 3] = ["POST", "PUT", "PATCH"];

/// Prices decided per request (`"price": "dynamic"` routes): where the zero-code Worker asks
/// for them, how long an answer is reused, and how long a quoted price holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricingConfig {
    /// The pricing endpoint the zero-code Worker asks (a middleware may price with its own
    /// function instead).
    pub endpoint: Option<PricingEndpoint>,
    /// Seconds an endpoint's answer for one method, path and query is reused.
    pub cache_s: u64,
    /// Milliseconds to wait for the endpoint.
    pub timeout_ms: u64,
    /// Seconds a price quoted in a 402 is honoured for a payment that echoes the quote.
    pub quote_valid_s: u64,
}

/// Where a pricing endpoint is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PricingEndpoint {
    /// `pricing.url`: an https URL (or http to a loopback host), asked with `POST`.
    Url(String),
    /// `pricing.service`: the name of a service binding (another Worker), asked with `POST`.
    Service(String),
}

/// Seconds a pricing endpoint's answer is reused, by default.
pub const DEFAULT_PRICE_CACHE_S: u64 = 30;
/// Milliseconds to wait for a pricing endpoint, by default.
pub const DEFAULT_PRICING_TIMEOUT_MS: u64 = 2_000;
/// Seconds a quoted price holds, by default: long enough for a client to sign and send its
/// payment, short enough that a price change reaches everyone soon.
pub const DEFAULT_QUOTE_VALID_S: u64 = 300;

impl Default for PricingConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            cache_s: DEFAULT_PRICE_CACHE_S,
            timeout_ms: DEFAULT_PRICING_TIMEOUT_MS,
            quote_valid_s: DEFAULT_QUOTE_VALID_S,
        }
    }
}

/// The Lightning node's REST API (LND's `POST /v1/invoices`). Its macaroon is the secret
/// `LND_MACAROON` (hex), never configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LightningConfig {
    /// Base URL of LND's REST API.
    pub url: String,
    /// Milliseconds to wait for an invoice.
    pub timeout_ms: u64,
    /// Fresh invoices one client (an IPv4 address, an IPv6 /64) may have created per
    /// minute; making them costs the node work.
    pub invoices_per_minute: u32,
    /// Invoices one route may have created per minute from all clients together.
    pub invoices_per_route_per_minute: u32,
}

/// How smart-wallet (ERC-1271 / ERC-6492) signatures are taken. They cannot be checked here,
/// so each costs a facilitator `/verify`; these settings bound that cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmartWalletConfig {
    /// Whether they are accepted at all (`false`: ECDSA signatures only).
    pub enabled: bool,
    /// Smart-wallet payments one client may have verified per minute.
    pub per_client_per_minute: u32,
}

impl Default for SmartWalletConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            per_client_per_minute: DEFAULT_SMART_WALLET_PER_MINUTE,
        }
    }
}

/// A route's price in Lightning (`"l402": {...}`): satoshis, no exchange rates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L402Route {
    /// The invoice amount.
    pub price_sats: u64,
    /// The service (and tier) tokens are minted for: `services=<name>:<tier>`.
    pub service: crate::l402::Service,
    /// Seconds a token stays valid (`<service>_valid_until`).
    pub valid_for_s: u64,
    /// `<service>_capabilities` written into the token.
    pub capabilities: Vec<String>,
    /// Requests one token may make in all (counted atomically in a Durable Object); `None`:
    /// reusable until it expires.
    pub max_requests: Option<u32>,
}

/// The origin behind the gateway (`"origin": "https://…"`, or a table with `url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginConfig {
    /// Its base URL; the canonical path and query are appended.
    pub url: String,
    /// The header that carries the `ORIGIN_AUTHORIZATION` secret on every proxied request
    /// (any copy a client sent is removed first, whether or not the secret is set).
    pub secret_header: String,
    /// What happens to requests with a method-override header.
    pub method_override: MethodOverride,
}

/// The header that carries `ORIGIN_AUTHORIZATION` to the origin, by default.
pub const DEFAULT_ORIGIN_SECRET_HEADER: &str = "Edge402-Origin-Authorization";

/// How requests carrying a method-override header (`X-HTTP-Method-Override`, …) are treated.
/// Either way the header never reaches the origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MethodOverride {
    /// Forward the request without the header (the default).
    #[default]
    Strip,
    /// Refuse the request with 400 `method_override_refused`.
    Refuse,
}

/// Where and how the facilitator is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacilitatorConfig {
    /// Base URLs, tried in order; `/verify`, `/settle` and `/supported` are appended. The
    /// next is tried only when a request could not be sent to the one before (a request that
    /// may have arrived is never sent elsewhere).
    pub urls: Vec<String>,
    /// Milliseconds to wait for `/verify`.
    pub verify_timeout_ms: u64,
    /// Milliseconds to wait for `/settle`.
    pub settle_timeout_ms: u64,
}

/// Seconds a claimed payment allows for its origin fetch (under `after-origin`) besides the
/// facilitator calls, before the coordinator takes the claim's holder for gone.
pub const CLAIM_ORIGIN_ALLOWANCE_S: u64 = 60;

impl FacilitatorConfig {
    /// How long one request may hold a payment's claim: its `/verify` and `/settle` timeouts
    /// (`/settle` tried at most once per URL, when the earlier ones could not be reached) and
    /// the origin's allowance. A claim not concluded by then makes the payment unknown.
    pub fn claim_lease_s(&self) -> u64 {
        let urls = u64::try_from(self.urls.len()).unwrap_or(u64::MAX);
        let calls_ms = self
            .verify_timeout_ms
            .saturating_add(self.settle_timeout_ms.saturating_mul(urls));
        calls_ms
            .div_ceil(1000)
            .saturating_add(CLAIM_ORIGIN_ALLOWANCE_S)
    }
}

impl Default for FacilitatorConfig {
    fn default() -> Self {
        Self {
            urls: vec![DEFAULT_FACILITATOR_URL.into()],
            verify_timeout_ms: DEFAULT_VERIFY_TIMEOUT_MS,
            settle_timeout_ms: DEFAULT_SETTLE_TIMEOUT_MS,
        }
    }
}

/// One entry of the route table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Methods and path pattern.
    pub matcher: RouteMatcher,
    /// Paid, or explicitly free.
    pub access: Access,
}

/// What a route costs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Passes through without payment (`"free": true`).
    Free,
    /// Needs a payment.
    Paid(PaidRoute),
}

/// A priced route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidRoute {
    /// The ways to pay over x402, one per accepted network/asset; empty when the route sells
    /// over L402 only. They are built once, so the 402 and the paid retry see exactly the
    /// same values. Under [`RoutePrice::Dynamic`] their amounts are zero and never
    /// offered: each request's are made from its price ([`Accept::at_amount`]).
    pub accepts: Vec<Accept>,
    /// Whether the price is the configuration's or decided per request.
    pub price: RoutePrice,
    /// What is sold, for people.
    pub description: String,
    /// The media type of the content.
    pub mime_type: String,
    /// When settlement happens relative to the origin; `None` is the per-method default.
    pub settle: Option<SettleOrder>,
    /// The route's L402 price, when it also (or only) sells over Lightning.
    pub l402: Option<L402Route>,
    /// Its description for discovery services (the `bazaar` extension).
    pub discovery: Option<Box<RouteDiscovery>>,
    /// The access a payment gives its payer, who may then sign in instead of paying again.
    pub access: Option<Box<RouteAccess>>,
    /// An MCP endpoint whose `tools/call`s are priced by tool (`mcp`); `None` for an HTTP
    /// route.
    pub mcp: Option<Box<McpRoute>>,
    /// What each kind of client is offered (`clients`); `None`: every client alike.
    pub clients: Option<Box<RouteClients>>,
}

/// `clients`: what a route offers each kind of client. Who is asking is told by a Web Bot
/// Auth signature (a verified agent), else by Cloudflare Bot Management where the zone has
/// it, else by the request's fetch metadata (see [`crate::gate::clients`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteClients {
    /// Browsers.
    pub browsers: ClientOffer,
    /// Automated clients without a valid Web Bot Auth signature (or whose agent is not in
    /// `allow_agents`).
    pub unsigned_bots: ClientOffer,
    /// Automated clients whose Web Bot Auth signature verified.
    pub verified_agents: ClientOffer,
    /// The agents (their `Signature-Agent` origins, lowercase) that count as verified;
    /// empty: every agent whose signature verifies. Other agents' keys are not fetched.
    pub allow_agents: Vec<String>,
    /// The agents refused, whatever is offered to others.
    pub deny_agents: Vec<String>,
}

/// What one kind of client is offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOffer {
    /// Served without payment.
    Free,
    /// Refused.
    Refuse,
    /// The route's own price (and L402 offer).
    RoutePrice,
    /// A price of its own on the route's `accepts`.
    Price {
        /// As written.
        price: Price,
        /// The route's `accepts` at this price.
        accepts: Vec<Accept>,
    },
}

/// `web_bot_auth`: how request signatures are checked on routes with `clients`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebBotAuthConfig {
    /// The longest validity (`expires - created`) a signature may have, in seconds.
    pub max_validity_s: u64,
    /// How long the shell waits for an agent's key directory.
    pub directory_timeout_ms: u64,
    /// Whether Cloudflare Bot Management's verdict (`request.cf.botManagement`) tells bots
    /// from browsers: only a zone with Bot Management has a real one (`wrangler dev` makes
    /// up a score of 99 for every request).
    pub bot_management: bool,
    /// Bot Management scores below this count as automated.
    pub bot_score_below: u8,
    /// Whether agents' keys may be fetched from loopback hosts and IP addresses (local
    /// tests); otherwise only from named hosts over https.
    pub local_agents: bool,
}

impl Default for WebBotAuthConfig {
    fn default() -> Self {
        Self {
            max_validity_s: crate::web_bot_auth::MAX_VALIDITY_S,
            directory_timeout_ms: 2_000,
            bot_management: false,
            bot_score_below: 30,
            local_agents: false,
        }
    }
}

/// `mcp`: an MCP server (Streamable HTTP transport) behind the route, whose `tools/call`
/// requests are priced by tool name; every other request passes through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpRoute {
    /// The priced tools, in the configuration's order.
    pub tools: Vec<McpTool>,
}

/// One priced MCP tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpTool {
    /// The tool's name, as `tools/call` names it.
    pub name: String,
    /// Its price, as written (`"$0.01"`); `None` when it is decided per call (`"dynamic"`).
    pub price: Option<Price>,
    /// The ways to pay it: the route's `accepts` at its price (at zero, never offered, for
    /// a price decided per call).
    pub accepts: Vec<Accept>,
}

/// One way to pay a route over x402, resolved once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accept {
    /// The requirement as offered (v2 shape, CAIP-2 network): what v2 clients echo back.
    pub requirement: v2::PaymentRequirements,
    /// What a payment under it is checked against: the token's EIP-712 domain, the
    /// recipient, the amount.
    pub terms: ExactEvmTerms,
    /// The network's x402 v1 name, where it has one (then v1 clients are offered it too).
    pub v1_network: Option<String>,
}

/// Where a priced route's x402 price comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutePrice {
    /// `"price": "$0.001"`: the configuration's, in `accepts`.
    Fixed,
    /// `"price": "dynamic"`: asked per request (a pricing endpoint, or a middleware's
    /// function), and quoted in the 402 so that a payment is held to the price it was offered.
    Dynamic,
}

impl Accept {
    /// This way to pay at another amount (a price decided per request).
    pub fn at_amount(&self, amount: crate::amount::Uint256) -> Self {
        let mut accept = self.clone();
        accept.requirement.amount = amount;
        accept.terms.amount = amount;
        accept
    }

    /// `price` in this way's token.
    pub fn amount_of(
        &self,
        price: &Price,
        networks: &Networks,
    ) -> Result<crate::amount::Uint256, PriceError> {
        let asset = networks
            .by_chain_id(self.terms.domain.chain_id)
            .and_then(|network| network.asset(&self.terms.domain.verifying_contract));
        match asset {
            Some(asset) => price.to_atomic(asset),
            // Accepts are built from the same table, so their token is always in it.
            None => Err(PriceError::Invalid {
                value: price.to_string(),
            }),
        }
    }
}

impl ResolvedOffer for Accept {
    fn requirement(&self) -> &v2::PaymentRequirements {
        &self.requirement
    }

    fn terms(&self) -> &ExactEvmTerms {
        &self.terms
    }
}

impl PaidRoute {
    /// Whether the route sells over x402 (it may sell over L402 only).
    pub fn sells_x402(&self) -> bool {
        !self.accepts.is_empty()
    }
}

/// When a route settles, relative to calling the origin. Nothing is released to the client
/// before a successful settlement in any order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettleOrder {
    /// Verify, call the origin, settle only if it answered below 400, release. The buyer does
    /// not pay for origin errors. Default for GET and HEAD.
    AfterOrigin,
    /// Verify, settle, call the origin, release. The origin never runs for a payment that
    /// fails. Default for methods with side effects.
    BeforeOrigin,
    /// Verify, settle and call the origin at once, release when settled.
    Parallel,
}

impl SettleOrder {
    /// The default for a method: `after-origin` for the safe methods (GET, HEAD),
    /// `before-origin` otherwise.
    pub fn default_for(method: &str) -> Self {
        if crate::routes::is_safe_method(method) {
            Self::AfterOrigin
        } else {
            Self::BeforeOrigin
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AfterOrigin => "after-origin",
            Self::BeforeOrigin => "before-origin",
            Self::Parallel => "parallel",
        }
    }

    /// Reads the configuration spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::AfterOrigin, Self::BeforeOrigin, Self::Parallel]
            .into_iter()
            .find(|order| order.as_str() == name)
    }
}

/// A configuration problem: the key and what is wrong with it (never the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The path of the offending key, like `routes[0].price`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration key `{}`: {}", self.key, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl GatewayConfig {
    /// Parses a configuration given as JSON text.
    pub fn from_json_text(text: &str) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError {
            key: "EDGE402_CONFIG".into(),
            // serde_json's messages name a line and column, not the text there.
            problem: format!(
                "is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
        Self::from_json(&value)
    }

    /// Parses and validates a configuration document.
    pub fn from_json(value: &Value) -> Result<Self, ConfigError> {
        reader::read(value)
    }

    /// Whether some route sells over L402 (and so needs the root secret and a Lightning node).
    pub fn sells_l402(&self) -> bool {
        self.paid_routes().any(|paid| paid.l402.is_some())
    }

    /// Whether some route prices an MCP server's tools (`mcp`).
    pub fn prices_mcp_tools(&self) -> bool {
        self.paid_routes().any(|paid| paid.mcp.is_some())
    }

    /// Whether some route's (or MCP tool's) price is `"dynamic"` (and so needs
    /// `QUOTE_SECRET` and a source of prices).
    pub fn has_dynamic_prices(&self) -> bool {
        self.paid_routes().any(|paid| {
            paid.price == RoutePrice::Dynamic
                || paid
                    .mcp
                    .as_ref()
                    .is_some_and(|mcp| mcp.tools.iter().any(|tool| tool.price.is_none()))
        })
    }

    /// The priced routes, in order.
    pub fn paid_routes(&self) -> impl Iterator<Item = &PaidRoute> {
        self.routes.iter().filter_map(|route| match &route.access {
            Access::Paid(paid) => Some(paid),
            Access::Free => None,
        })
    }
}

/// The token a configuration entry names on a network: the one at `address`, or the
/// network's default (its first) when none is named.
pub fn accepted_asset<'a>(
    network: &'a Network,
    address: Option<&Address>,
) -> Result<&'a Asset, AssetChoiceError> {
    match address {
        Some(address) => network
            .asset(address)
            .ok_or(AssetChoiceError::NotConfigured),
        None => network.default_asset().ok_or(AssetChoiceError::NoDefault),
    }
}

/// Why no token could be chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssetChoiceError {
    /// The named token is not configured for the network.
    NotConfigured,
    /// The network has no assets, so one must be named (and configured).
    NoDefault,
}

impl fmt::Display for AssetChoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotConfigured => "is not configured for this network",
            Self::NoDefault => "has no default asset; name one",
        })
    }
}

/// One way to pay `price` in `asset` on `network` to `pay_to`, as edge402 offers it: the
/// exact-EVM requirement (v2 shape) and its resolved terms. The gateway's routes and the
/// JavaScript `buildRequirements` are both made by this function.
pub fn offer_requirement(
    price: &Price,
    network: &Network,
    asset: &Asset,
    pay_to: Address,
    max_timeout_seconds: u64,
) -> Result<Accept, PriceError> {
    let amount = price.to_atomic(asset)?;
    let requirement = v2::PaymentRequirements {
        scheme: EXACT.into(),
        network: network.caip2(),
        amount,
        asset: asset.address.to_string(),
        pay_to: pay_to.to_string(),
        max_timeout_seconds,
        extra: Some(json!({"name": asset.eip712_name, "version": asset.eip712_version})),
    };
    let terms = ExactEvmTerms {
        domain: crate::evm::Eip712Domain {
            name: asset.eip712_name.clone(),
            version: asset.eip712_version.clone(),
            chain_id: network.chain_id,
            verifying_contract: asset.address,
        },
        pay_to,
        amount,
        max_timeout_seconds,
    };
    Ok(Accept {
        requirement,
        terms,
        v1_network: network.v1_name.clone(),
    })
}
