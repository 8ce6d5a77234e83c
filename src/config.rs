//! The gateway's configuration: one JSON document (a `[vars.EDGE402_CONFIG]` table in
//! `wrangler.toml`, or a JSON string), parsed and validated once per isolate.
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

use core::fmt;

use serde_json::{json, Map, Value};

use crate::evm::Address;
use crate::networks::{Asset, Network, Networks};
use crate::pricing::{Price, PriceError};
use crate::protocol::facilitator::SupportedResponse;
use crate::protocol::v2;
use crate::routes::RouteMatcher;
use crate::terms::EXACT;

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
/// Invoices one client may create per minute, by default.
pub const DEFAULT_INVOICES_PER_MINUTE: u32 = 10;

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Where paid and free content comes from; `None` serves built-in demo responses.
    pub origin: Option<String>,
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
}

/// The Lightning node's REST API (LND's `POST /v1/invoices`). Its macaroon is the secret
/// `LND_MACAROON` (hex), never configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LightningConfig {
    /// Base URL of LND's REST API.
    pub url: String,
    /// Milliseconds to wait for an invoice.
    pub timeout_ms: u64,
    /// Invoices one client may have created per minute; making them costs the node work.
    pub invoices_per_minute: u32,
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

/// Where and how the facilitator is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacilitatorConfig {
    /// Base URL; `/verify`, `/settle` and `/supported` are appended.
    pub url: String,
    /// Milliseconds to wait for `/verify`.
    pub verify_timeout_ms: u64,
    /// Milliseconds to wait for `/settle`.
    pub settle_timeout_ms: u64,
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
    /// The offered requirements (v2 form, CAIP-2 networks), one per accepted network/asset.
    /// They are built once, so the 402 and the paid retry see exactly the same values.
    pub requirements: Vec<v2::PaymentRequirements>,
    /// The v1 network name of each requirement, where the network has one.
    pub v1_networks: Vec<Option<String>>,
    /// What is sold, for people.
    pub description: String,
    /// The media type of the content.
    pub mime_type: String,
    /// When settlement happens relative to the origin; `None` is the per-method default.
    pub settle: Option<SettleOrder>,
    /// The route's L402 price, when it also (or only) sells over Lightning.
    pub l402: Option<L402Route>,
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
    /// The default for a method: `after-origin` for GET/HEAD, `before-origin` otherwise.
    pub fn default_for(method: &str) -> Self {
        if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
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
        let root = Table::root(value)?;
        root.only(&[
            "origin",
            "facilitator",
            "receipt_ttl_s",
            "case_sensitive_paths",
            "networks",
            "routes",
            "lightning",
        ])?;
        let origin = root
            .opt_str("origin")?
            .map(|url| {
                check_url(&root.key("origin"), url).map(|u| u.trim_end_matches('/').to_owned())
            })
            .transpose()?;
        let facilitator = match root.opt_table("facilitator")? {
            None => FacilitatorConfig {
                url: DEFAULT_FACILITATOR_URL.into(),
                verify_timeout_ms: DEFAULT_VERIFY_TIMEOUT_MS,
                settle_timeout_ms: DEFAULT_SETTLE_TIMEOUT_MS,
            },
            Some(t) => {
                t.only(&["url", "verify_timeout_ms", "settle_timeout_ms"])?;
                let url = t.opt_str("url")?.unwrap_or(DEFAULT_FACILITATOR_URL);
                FacilitatorConfig {
                    url: check_url(&t.key("url"), url)?
                        .trim_end_matches('/')
                        .to_owned(),
                    verify_timeout_ms: t
                        .opt_u64("verify_timeout_ms", 1..=300_000)?
                        .unwrap_or(DEFAULT_VERIFY_TIMEOUT_MS),
                    settle_timeout_ms: t
                        .opt_u64("settle_timeout_ms", 1..=300_000)?
                        .unwrap_or(DEFAULT_SETTLE_TIMEOUT_MS),
                }
            }
        };
        let receipt_ttl_s = root
            .opt_u64("receipt_ttl_s", MIN_RECEIPT_TTL_S..=u64::from(u32::MAX))?
            .unwrap_or(DEFAULT_RECEIPT_TTL_S);
        let case_sensitive_paths = root.opt_bool("case_sensitive_paths")?.unwrap_or(false);
        let mut networks = Networks::builtin();
        for (index, table) in root.opt_list("networks")?.into_iter().flatten().enumerate() {
            let network = parse_network(&table)?;
            networks
                .add(network)
                .map_err(|e| root.error(&format!("networks[{index}]"), &e.to_string()))?;
        }
        let lightning = root
            .opt_table("lightning")?
            .map(|t| parse_lightning(&t))
            .transpose()?;
        let routes = root
            .list("routes")?
            .iter()
            .map(|table| parse_route(table, &networks, lightning.is_some()))
            .collect::<Result<Vec<_>, _>>()?;
        check_l402_services(&routes)?;
        Ok(Self {
            origin,
            facilitator,
            receipt_ttl_s,
            case_sensitive_paths,
            networks,
            routes,
            lightning,
        })
    }
}

impl GatewayConfig {
    /// Configuration that is valid but probably not what was meant, to log once: a free route
    /// listed before a paid route whose paths it shares (the first match wins), and
    /// case-sensitive paid patterns (other spellings pass free where the origin ignores case).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.case_sensitive_paths {
            warnings.push("case_sensitive_paths is on: if the origin ignores letter case, other spellings of paid paths reach it free".to_owned());
        }
        for (j, paid) in self
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.access, Access::Paid(_)))
        {
            for (i, free) in self.routes[..j]
                .iter()
                .enumerate()
                .filter(|(_, r)| r.access == Access::Free)
            {
                let methods_meet = free.matcher.methods.is_empty()
                    || paid.matcher.methods.is_empty()
                    || free
                        .matcher
                        .methods
                        .iter()
                        .any(|m| paid.matcher.methods.contains(m));
                if methods_meet && free.matcher.pattern.overlaps(&paid.matcher.pattern) {
                    warnings.push(format!("routes[{i}] (free) comes before routes[{j}] (paid) and shares some of its paths: there they are free"));
                }
            }
        }
        warnings
    }

    /// The configured offers (`v2 eip155:84532`, `v1 base-sepolia`) that a facilitator's
    /// `/supported` answer does not list for the `exact` scheme: a configuration error to log.
    pub fn unsupported_offers(&self, supported: &SupportedResponse) -> Vec<String> {
        let listed = |version: u8, network: &str| {
            supported
                .kinds
                .iter()
                .any(|k| k.x402_version == version && k.scheme == EXACT && k.network == network)
        };
        let mut missing = Vec::new();
        for route in &self.routes {
            let Access::Paid(paid) = &route.access else {
                continue;
            };
            for (requirement, v1_name) in paid.requirements.iter().zip(&paid.v1_networks) {
                let offers = [
                    Some((2, requirement.network.as_str())),
                    v1_name.as_deref().map(|name| (1, name)),
                ];
                for (version, network) in offers.into_iter().flatten() {
                    let offer = format!("v{version} {network}");
                    if !listed(version, network) && !missing.contains(&offer) {
                        missing.push(offer);
                    }
                }
            }
        }
        missing
    }
}

fn parse_network(t: &Table<'_>) -> Result<Network, ConfigError> {
    t.only(&["chain_id", "name", "assets"])?;
    let chain_id = t.u64("chain_id", 1..=u64::MAX)?;
    let v1_name = t.opt_str("name")?.map(str::to_owned);
    let assets = t
        .list("assets")?
        .iter()
        .map(|a| {
            a.only(&["address", "name", "version", "decimals", "usd_stable"])?;
            Ok(Asset {
                address: a.address("address")?,
                eip712_name: a.str("name")?.to_owned(),
                eip712_version: a.str("version")?.to_owned(),
                decimals: u8::try_from(a.u64("decimals", 0..=77)?)
                    .map_err(|_| a.error("decimals", "is too large"))?,
                usd_stable: a.opt_bool("usd_stable")?.unwrap_or(false),
            })
        })
        .collect::<Result<_, ConfigError>>()?;
    Ok(Network {
        chain_id,
        v1_name,
        assets,
    })
}

/// Routes selling the same L402 service must sell it on the same terms: a token is minted
/// for a service, so any route of that service accepts it.
fn check_l402_services(routes: &[Route]) -> Result<(), ConfigError> {
    let offers: Vec<(usize, &L402Route)> = routes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.access {
            Access::Paid(PaidRoute {
                l402: Some(l402), ..
            }) => Some((i, l402)),
            _ => None,
        })
        .collect();
    for (index, offer) in &offers {
        let differs = offers.iter().any(|(_, other)| {
            other.service.name() == offer.service.name()
                && (other.service != offer.service
                    || other.capabilities != offer.capabilities
                    || other.price_sats != offer.price_sats)
        });
        if differs {
            return Err(ConfigError {
                key: format!("routes[{index}].l402.service"),
                problem: "is sold by another route on other terms (price, tier or capabilities)"
                    .into(),
            });
        }
    }
    Ok(())
}

fn parse_lightning(t: &Table<'_>) -> Result<LightningConfig, ConfigError> {
    t.only(&["url", "timeout_ms", "invoices_per_minute"])?;
    Ok(LightningConfig {
        url: check_url(&t.key("url"), t.str("url")?)?
            .trim_end_matches('/')
            .to_owned(),
        timeout_ms: t
            .opt_u64("timeout_ms", 1..=60_000)?
            .unwrap_or(DEFAULT_LIGHTNING_TIMEOUT_MS),
        invoices_per_minute: t
            .opt_u64("invoices_per_minute", 1..=10_000)?
            .map_or(DEFAULT_INVOICES_PER_MINUTE, |n| n as u32),
    })
}

fn parse_l402(t: &Table<'_>) -> Result<L402Route, ConfigError> {
    t.only(&[
        "price_sats",
        "service",
        "tier",
        "valid_for_s",
        "capabilities",
        "max_requests",
    ])?;
    let tier = t.opt_u64("tier", 0..=255)?.unwrap_or(0) as u8;
    let service = crate::l402::Service::new(t.str("service")?, tier)
        .map_err(|_| t.error("service", "must be letters, digits, '-' or '_'"))?;
    let capabilities = match t.opt("capabilities") {
        None => Vec::new(),
        Some(value) => value
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .map(|c| c.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .filter(|caps| {
                caps.iter()
                    .all(|c| !c.is_empty() && !c.contains([',', ' ']))
            })
            .ok_or_else(|| {
                t.error(
                    "capabilities",
                    "must be a list of names without commas or spaces",
                )
            })?,
    };
    Ok(L402Route {
        price_sats: t.u64("price_sats", 1..=21_000_000 * 100_000_000)?,
        service,
        valid_for_s: t
            .opt_u64("valid_for_s", 1..=u64::from(u32::MAX))?
            .unwrap_or(DEFAULT_L402_VALID_FOR_S),
        capabilities,
        max_requests: t
            .opt_u64("max_requests", 1..=u64::from(u32::MAX))?
            .map(|n| n as u32),
    })
}

fn parse_route(t: &Table<'_>, networks: &Networks, lightning: bool) -> Result<Route, ConfigError> {
    let matcher =
        RouteMatcher::parse(t.str("match")?).map_err(|e| t.error("match", &e.to_string()))?;
    if t.opt_bool("free")? == Some(true) {
        t.only(&["match", "free"])?;
        return Ok(Route {
            matcher,
            access: Access::Free,
        });
    }
    t.only(&[
        "match",
        "free",
        "price",
        "accepts",
        "description",
        "mime_type",
        "max_timeout_s",
        "settle",
        "l402",
    ])?;
    let l402 = t.opt_table("l402")?.map(|l| parse_l402(&l)).transpose()?;
    if l402.is_some() && !lightning {
        return Err(t.error("l402", "needs a `lightning` node configured"));
    }
    let max_timeout_seconds = t
        .opt_u64("max_timeout_s", 1..=86_400)?
        .unwrap_or(DEFAULT_MAX_TIMEOUT_S);
    let settle = t
        .opt_str("settle")?
        .map(|s| match s {
            "after-origin" => Ok(SettleOrder::AfterOrigin),
            "before-origin" => Ok(SettleOrder::BeforeOrigin),
            "parallel" => Ok(SettleOrder::Parallel),
            _ => Err(t.error("settle", "must be after-origin, before-origin or parallel")),
        })
        .transpose()?;
    // x402 is offered when `accepts` is; a route sells over x402, L402 or both.
    let accepts = match (t.opt_list("accepts")?, &l402) {
        (Some(accepts), _) if !accepts.is_empty() => accepts,
        (None, Some(_)) => Vec::new(),
        _ => return Err(t.error("accepts", "must name at least one network (or add `l402`)")),
    };
    if accepts.is_empty() && t.opt("price").is_some() {
        return Err(t.error(
            "price",
            "prices x402 `accepts`; an L402-only route takes `l402.price_sats`",
        ));
    }
    let price = match accepts.is_empty() {
        true => None,
        false => {
            Some(Price::parse(t.str("price")?).map_err(|e| t.error("price", price_problem(&e)))?)
        }
    };
    let mut requirements = Vec::with_capacity(accepts.len());
    let mut v1_networks = Vec::with_capacity(accepts.len());
    // `price` is read exactly when `accepts` is not empty, so every accept has it.
    for (a, price) in accepts.iter().zip(price.iter().cycle()) {
        a.only(&["network", "pay_to", "asset"])?;
        let network = networks
            .resolve(a.str("network")?)
            .map_err(|_| a.error("network", "is not a known network"))?;
        let pay_to = a.address("pay_to")?;
        let asset = match a.opt_address("asset")? {
            Some(address) => network
                .asset(&address)
                .ok_or_else(|| a.error("asset", "is not configured for this network"))?,
            None => network
                .default_asset()
                .ok_or_else(|| a.error("network", "has no default asset; name one"))?,
        };
        let amount = price
            .to_atomic(asset)
            .map_err(|e| t.error("price", price_problem(&e)))?;
        requirements.push(v2::PaymentRequirements {
            scheme: EXACT.into(),
            network: network.caip2(),
            amount,
            asset: asset.address.to_string(),
            pay_to: pay_to.to_string(),
            max_timeout_seconds,
            extra: Some(json!({"name": asset.eip712_name, "version": asset.eip712_version})),
        });
        v1_networks.push(network.v1_name.clone());
    }
    Ok(Route {
        matcher,
        access: Access::Paid(PaidRoute {
            requirements,
            v1_networks,
            description: t.opt_str("description")?.unwrap_or("").to_owned(),
            mime_type: t
                .opt_str("mime_type")?
                .unwrap_or("application/json")
                .to_owned(),
            settle,
            l402,
        }),
    })
}

/// A price error without the value (which the key already locates).
fn price_problem(error: &PriceError) -> &'static str {
    match error {
        PriceError::Empty { .. } => "is empty",
        PriceError::Negative { .. } => "is negative",
        PriceError::Invalid { .. } => "must look like \"$0.01\", \"0.01\" or \"10000\"",
        PriceError::TooManyDecimals { .. } => "has more decimal places than the asset",
        PriceError::Overflow { .. } => "does not fit in 256 bits",
        PriceError::NotUsdAsset { .. } => "is in dollars but an accepted asset is not USD-stable",
    }
}

fn check_url<'a>(key: &str, url: &'a str) -> Result<&'a str, ConfigError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty() && !rest.starts_with('/') && !url.contains(['?', '#', ' ']) =>
        {
            Ok(url)
        }
        _ => Err(ConfigError {
            key: key.into(),
            problem: "must be an http(s) URL without query or fragment".into(),
        }),
    }
}

/// A JSON object being read, with the key path that leads to it.
struct Table<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Table<'a> {
    fn root(value: &'a Value) -> Result<Self, ConfigError> {
        match value {
            Value::Object(map) => Ok(Self {
                path: String::new(),
                map,
            }),
            _ => Err(ConfigError {
                key: "EDGE402_CONFIG".into(),
                problem: "must be an object".into(),
            }),
        }
    }

    fn key(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn error(&self, name: &str, problem: &str) -> ConfigError {
        ConfigError {
            key: self.key(name),
            problem: problem.to_owned(),
        }
    }

    /// Refuses keys outside `allowed`, which are most often typos.
    fn only(&self, allowed: &[&str]) -> Result<(), ConfigError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(self.error(unknown, "is not a known key")),
            None => Ok(()),
        }
    }

    fn opt(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ConfigError> {
        self.opt(name)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| self.error(name, "must be a string"))
            })
            .transpose()
    }

    fn str(&self, name: &str) -> Result<&'a str, ConfigError> {
        self.opt_str(name)?
            .ok_or_else(|| self.error(name, "is required"))
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ConfigError> {
        self.opt(name)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| self.error(name, "must be true or false"))
            })
            .transpose()
    }

    fn opt_u64(
        &self,
        name: &str,
        range: core::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, ConfigError> {
        let Some(value) = self.opt(name) else {
            return Ok(None);
        };
        let problem = format!(
            "must be a whole number from {} to {}",
            range.start(),
            range.end()
        );
        match value.as_u64() {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(self.error(name, &problem)),
        }
    }

    fn u64(&self, name: &str, range: core::ops::RangeInclusive<u64>) -> Result<u64, ConfigError> {
        self.opt_u64(name, range)?
            .ok_or_else(|| self.error(name, "is required"))
    }

    fn opt_address(&self, name: &str) -> Result<Option<Address>, ConfigError> {
        self.opt_str(name)?
            .map(|s| {
                s.parse()
                    .map_err(|_| self.error(name, "must be an EVM address (0x and 40 hex digits)"))
            })
            .transpose()
    }

    fn address(&self, name: &str) -> Result<Address, ConfigError> {
        self.opt_address(name)?
            .ok_or_else(|| self.error(name, "is required"))
    }

    fn opt_table(&self, name: &str) -> Result<Option<Table<'a>>, ConfigError> {
        self.opt(name)
            .map(|v| match v {
                Value::Object(map) => Ok(Table {
                    path: self.key(name),
                    map,
                }),
                _ => Err(self.error(name, "must be a table")),
            })
            .transpose()
    }

    fn opt_list(&self, name: &str) -> Result<Option<Vec<Table<'a>>>, ConfigError> {
        let Some(value) = self.opt(name) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| self.error(name, "must be a list of tables"))?;
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("{}[{index}]", self.key(name));
                match item {
                    Value::Object(map) => Ok(Table { path, map }),
                    _ => Err(ConfigError {
                        key: path,
                        problem: "must be a table".into(),
                    }),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn list(&self, name: &str) -> Result<Vec<Table<'a>>, ConfigError> {
        self.opt_list(name)?
            .ok_or_else(|| self.error(name, "is required"))
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

    fn route(extra: Value) -> Value {
        let mut route = json!({"match": "GET /api/*", "price": "$0.001",
                               "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]});
        route
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        route
    }

    fn error_of(config: Value) -> ConfigError {
        GatewayConfig::from_json(&config).unwrap_err()
    }

    #[test]
    fn defaults_and_requirements() {
        let config = GatewayConfig::from_json(&json!({"routes": [route(json!({}))]})).unwrap();
        assert_eq!(config.origin, None);
        assert_eq!(config.facilitator.url, DEFAULT_FACILITATOR_URL);
        assert_eq!(config.receipt_ttl_s, DEFAULT_RECEIPT_TTL_S);
        let Access::Paid(paid) = &config.routes[0].access else {
            panic!("a priced route")
        };
        let r = &paid.requirements[0];
        assert_eq!(
            (r.network.as_str(), r.amount, r.max_timeout_seconds),
            ("eip155:84532", 1_000u64.into(), 60)
        );
        assert_eq!(r.asset, "0x036CbD53842c5426634e7929541eC2318f3dCF7e");
        assert_eq!(r.extra, Some(json!({"name": "USDC", "version": "2"})));
        assert_eq!(paid.v1_networks, [Some("base-sepolia".to_owned())]);
        assert_eq!(paid.settle, None);
    }

    #[test]
    fn custom_networks_and_assets() {
        let token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let config = GatewayConfig::from_json(&json!({
            "origin": "http://127.0.0.1:8080/",
            "networks": [{"chain_id": 31337, "name": "localhost",
                          "assets": [{"address": token, "name": "Test", "version": "1", "decimals": 18}]}],
            "routes": [{"match": "/x", "price": "0.5", "accepts": [{"network": "localhost", "pay_to": PAY_TO, "asset": token}]}]
        }))
        .unwrap();
        assert_eq!(config.origin.as_deref(), Some("http://127.0.0.1:8080"));
        let Access::Paid(paid) = &config.routes[0].access else {
            panic!("a priced route")
        };
        assert_eq!(
            paid.requirements[0].amount,
            crate::Uint256::from(500_000_000_000_000_000u64)
        );
        assert_eq!(paid.requirements[0].network, "eip155:31337");
    }

    #[test]
    fn errors_name_the_key_and_never_the_value() {
        let secret = "sk_live_do_not_print_me";
        let cases = [
            (
                json!({"routes": [route(json!({"price": secret}))]}),
                "routes[0].price",
            ),
            (
                json!({"routes": [route(json!({"pricee": "1"}))]}),
                "routes[0].pricee",
            ),
            (json!({"origin": secret, "routes": []}), "origin"),
            (
                json!({"facilitator": {"url": secret}, "routes": []}),
                "facilitator.url",
            ),
            (
                json!({"facilitator": {"token": secret}, "routes": []}),
                "facilitator.token",
            ),
            (json!({"receipt_ttl_s": 30, "routes": []}), "receipt_ttl_s"),
            (
                json!({"routes": [route(json!({"settle": secret}))]}),
                "routes[0].settle",
            ),
            (
                json!({"routes": [route(json!({"match": secret}))]}),
                "routes[0].match",
            ),
            (
                json!({"routes": [route(json!({"accepts": [{"network": secret, "pay_to": PAY_TO}]}))]}),
                "routes[0].accepts[0].network",
            ),
            (
                json!({"routes": [route(json!({"accepts": [{"network": "base", "pay_to": secret}]}))]}),
                "routes[0].accepts[0].pay_to",
            ),
            (
                json!({"routes": [route(json!({"accepts": []}))]}),
                "routes[0].accepts",
            ),
            (
                json!({"routes": [route(json!({"price": "$0.0000001"}))]}),
                "routes[0].price",
            ),
            (
                json!({"routes": [route(json!({"max_timeout_s": -1}))]}),
                "routes[0].max_timeout_s",
            ),
            (json!({}), "routes"),
            (json!({"routes": [secret]}), "routes[0]"),
            (json!(secret), "EDGE402_CONFIG"),
        ];
        for (config, key) in cases {
            let error = error_of(config);
            assert_eq!(error.key, key);
            assert!(!error.to_string().contains(secret), "{error}");
        }
        let error =
            GatewayConfig::from_json_text(&format!("{{\"origin\": \"{secret}")).unwrap_err();
        assert_eq!(error.key, "EDGE402_CONFIG");
        assert!(!error.to_string().contains(secret));
    }

    #[test]
    fn offers_missing_from_supported_are_listed() {
        let config = GatewayConfig::from_json(&json!({"routes": [route(json!({}))]})).unwrap();
        let kinds = |list: Value| {
            serde_json::from_value::<SupportedResponse>(json!({"kinds": list})).unwrap()
        };
        let both = kinds(json!([
            {"x402Version": 2, "scheme": "exact", "network": "eip155:84532"},
            {"x402Version": 1, "scheme": "exact", "network": "base-sepolia"}
        ]));
        assert!(config.unsupported_offers(&both).is_empty());
        let v2_only =
            kinds(json!([{"x402Version": 2, "scheme": "exact", "network": "eip155:84532"}]));
        assert_eq!(config.unsupported_offers(&v2_only), ["v1 base-sepolia"]);
        assert_eq!(
            config.unsupported_offers(&kinds(json!([]))),
            ["v2 eip155:84532", "v1 base-sepolia"]
        );
    }

    #[test]
    fn l402_routes_need_a_lightning_node_and_may_skip_x402() {
        let ln = json!({"url": "http://127.0.0.1:10009"});
        let l402_only = json!({"match": "/ln/*", "l402": {"price_sats": 21, "service": "weather"}});
        let config =
            GatewayConfig::from_json(&json!({"lightning": ln, "routes": [l402_only]})).unwrap();
        let Access::Paid(paid) = &config.routes[0].access else {
            panic!("a priced route")
        };
        assert!(paid.requirements.is_empty());
        let l402 = paid.l402.as_ref().unwrap();
        assert_eq!(
            (l402.price_sats, l402.service.name(), l402.valid_for_s),
            (21, "weather", DEFAULT_L402_VALID_FOR_S)
        );
        assert_eq!(
            config.lightning.as_ref().unwrap().invoices_per_minute,
            DEFAULT_INVOICES_PER_MINUTE
        );
        assert_eq!(
            error_of(json!({"routes": [l402_only]})).key,
            "routes[0].l402"
        );
        let priced =
            json!({"match": "/ln/*", "price": "1", "l402": {"price_sats": 21, "service": "w"}});
        assert_eq!(
            error_of(json!({"lightning": ln, "routes": [priced]})).key,
            "routes[0].price"
        );
        let bad_service = json!({"match": "/x", "l402": {"price_sats": 1, "service": "a:b"}});
        assert_eq!(
            error_of(json!({"lightning": ln, "routes": [bad_service]})).key,
            "routes[0].l402.service"
        );
        let caps = json!({"match": "/x", "l402": {"price_sats": 1, "service": "w", "capabilities": ["a,b"]}});
        assert_eq!(
            error_of(json!({"lightning": ln, "routes": [caps]})).key,
            "routes[0].l402.capabilities"
        );
        assert_eq!(
            error_of(json!({"lightning": {"url": "ftp://x"}, "routes": []})).key,
            "lightning.url"
        );
    }

    #[test]
    fn one_l402_service_is_sold_on_one_set_of_terms() {
        let ln = json!({"url": "http://127.0.0.1:10009"});
        let route = |path: &str, sats: u64| json!({"match": path, "l402": {"price_sats": sats, "service": "api"}});
        assert!(GatewayConfig::from_json(
            &json!({"lightning": ln, "routes": [route("/a", 1), route("/b", 1)]})
        )
        .is_ok());
        let error =
            error_of(json!({"lightning": ln, "routes": [route("/a", 1), route("/b", 100)]}));
        assert_eq!(error.key, "routes[0].l402.service");
    }

    #[test]
    fn shadowing_free_routes_and_case_sensitivity_are_warned_about() {
        let free = |m: &str| json!({"match": m, "free": true});
        let config = |routes: Value, extra: Value| {
            let mut doc = json!({"routes": routes});
            doc.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            GatewayConfig::from_json(&doc).unwrap()
        };
        let shadowed = config(json!([free("/API/*"), route(json!({}))]), json!({}));
        assert_eq!(shadowed.warnings().len(), 1, "{:?}", shadowed.warnings());
        assert!(
            shadowed.warnings()[0].starts_with("routes[0] (free) comes before routes[1] (paid)")
        );
        assert!(
            config(json!([free("/health"), route(json!({}))]), json!({}))
                .warnings()
                .is_empty()
        );
        assert!(
            config(json!([route(json!({})), free("/api/*")]), json!({}))
                .warnings()
                .is_empty(),
            "after the paid route"
        );
        assert!(
            config(json!([free("POST /api/*"), route(json!({}))]), json!({}))
                .warnings()
                .is_empty(),
            "other methods"
        );
        let sensitive = config(
            json!([route(json!({}))]),
            json!({"case_sensitive_paths": true}),
        );
        assert_eq!(sensitive.warnings().len(), 1);
    }

    #[test]
    fn settle_orders_and_free_routes() {
        let config = GatewayConfig::from_json(&json!({"routes": [
            {"match": "/health", "free": true},
            route(json!({"settle": "parallel"}))
        ]}))
        .unwrap();
        assert_eq!(config.routes[0].access, Access::Free);
        let Access::Paid(paid) = &config.routes[1].access else {
            panic!("a priced route")
        };
        assert_eq!(paid.settle, Some(SettleOrder::Parallel));
        assert_eq!(SettleOrder::default_for("HEAD"), SettleOrder::AfterOrigin);
        assert_eq!(SettleOrder::default_for("POST"), SettleOrder::BeforeOrigin);
        // A free route takes no price.
        assert_eq!(
            error_of(json!({"routes": [{"match": "/x", "free": true, "price": "1"}]})).key,
            "routes[0].price"
        );
    }
}
