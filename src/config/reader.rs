//! The JSON reader of the configuration: every key is read by one accessor of [`Table`],
//! which knows the key's path for error messages and never echoes a value.

use crate::amount::Uint256;
use serde_json::{Map, Value};

use super::*;
use crate::evm::Address;
use crate::networks::{Asset, Network, Networks};
use crate::pricing::{Price, PriceError};
use crate::routes::RouteMatcher;

/// Reads and validates a configuration document.
pub(super) fn read(value: &Value) -> Result<GatewayConfig, ConfigError> {
    let root = Table::root(value)?;
    root.only(&[
        "origin",
        "facilitator",
        "receipt_ttl_s",
        "case_sensitive_paths",
        "networks",
        "routes",
        "lightning",
        "smart_wallets",
        "pricing",
        "discovery",
        "offer_receipt",
        "payment_identifier",
        "sign_in_with_x",
        "log_requests",
        "web_bot_auth",
    ])?;
    let origin = parse_origin(&root)?;
    let facilitator = match root.opt_table("facilitator")? {
        None => FacilitatorConfig::default(),
        Some(t) => {
            t.only(&["url", "verify_timeout_ms", "settle_timeout_ms"])?;
            FacilitatorConfig {
                urls: t
                    .opt_urls("url")?
                    .unwrap_or_else(|| vec![DEFAULT_FACILITATOR_URL.to_owned()]),
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
    let smart_wallets = match root.opt_table("smart_wallets")? {
        None => SmartWalletConfig::default(),
        Some(t) => {
            t.only(&["enabled", "per_client_per_minute"])?;
            SmartWalletConfig {
                enabled: t.opt_bool("enabled")?.unwrap_or(true),
                per_client_per_minute: t
                    .opt_u64("per_client_per_minute", 1..=10_000)?
                    .map_or(DEFAULT_SMART_WALLET_PER_MINUTE, |n| n as u32),
            }
        }
    };
    let pricing = root
        .opt_table("pricing")?
        .map(|t| parse_pricing(&t))
        .transpose()?
        .unwrap_or_default();
    let discovery = root
        .opt_table("discovery")?
        .map(|t| {
            t.only(&["title", "version", "description"])?;
            Ok::<_, ConfigError>(DiscoveryDocument {
                title: t.opt_str("title")?.unwrap_or("edge402 paid API").to_owned(),
                version: t.opt_str("version")?.unwrap_or("1").to_owned(),
                description: t.opt_str("description")?.map(str::to_owned),
            })
        })
        .transpose()?;
    let offer_receipt = root
        .opt_table("offer_receipt")?
        .map(|t| {
            t.only(&["offer_valid_s"])?;
            Ok::<_, ConfigError>(OfferReceiptConfig {
                offer_valid_s: t.opt_u64("offer_valid_s", 1..=86_400)?,
            })
        })
        .transpose()?;
    let payment_identifier = root
        .opt_table("payment_identifier")?
        .map(|t| {
            t.only(&["required"])?;
            Ok::<_, ConfigError>(PaymentIdentifierConfig {
                required: t.opt_bool("required")?.unwrap_or(false),
            })
        })
        .transpose()?;
    let sign_in_with_x = root
        .opt_table("sign_in_with_x")?
        .map(|t| parse_sign_in(&t))
        .transpose()?;
    if sign_in_with_x.is_none() {
        if let Some(index) = routes.iter().position(|route| {
            matches!(
                &route.access,
                Access::Paid(PaidRoute {
                    access: Some(_),
                    ..
                })
            )
        }) {
            return Err(root.error(
                &format!("routes[{index}].access_s"),
                "needs `sign_in_with_x.origin`: the gateway's public origin that sign-ins name",
            ));
        }
    }
    let log_requests = match root.opt_str("log_requests")? {
        None | Some("payments") => LogRequests::Payments,
        Some("all") => LogRequests::All,
        Some(_) => return Err(root.error("log_requests", "must be \"payments\" or \"all\"")),
    };
    let web_bot_auth = match root.opt_table("web_bot_auth")? {
        None => WebBotAuthConfig::default(),
        Some(t) => {
            t.only(&[
                "max_validity_s",
                "directory_timeout_ms",
                "bot_management",
                "bot_score_below",
                "local_agents",
            ])?;
            let default = WebBotAuthConfig::default();
            WebBotAuthConfig {
                max_validity_s: t
                    .opt_u64("max_validity_s", 1..=crate::web_bot_auth::MAX_VALIDITY_S)?
                    .unwrap_or(default.max_validity_s),
                directory_timeout_ms: t
                    .opt_u64("directory_timeout_ms", 1..=30_000)?
                    .unwrap_or(default.directory_timeout_ms),
                bot_management: t
                    .opt_bool("bot_management")?
                    .unwrap_or(default.bot_management),
                bot_score_below: t
                    .opt_u64("bot_score_below", 1..=100)?
                    .map_or(default.bot_score_below, |n| n as u8),
                local_agents: t.opt_bool("local_agents")?.unwrap_or(default.local_agents),
            }
        }
    };
    Ok(GatewayConfig {
        web_bot_auth,
        log_requests,
        sign_in_with_x,
        payment_identifier,
        discovery,
        offer_receipt,
        pricing,
        smart_wallets,
        origin,
        facilitator,
        receipt_ttl_s,
        case_sensitive_paths,
        networks,
        routes,
        lightning,
    })
}

/// `origin`: a URL, or a table with `url`, `secret_header` and `method_override`.
fn parse_origin(root: &Table<'_>) -> Result<Option<OriginConfig>, ConfigError> {
    let key = root.key("origin");
    if let Ok(Some(url)) = root.opt_str("origin") {
        return Ok(Some(OriginConfig {
            url: check_url(&key, url)?,
            secret_header: DEFAULT_ORIGIN_SECRET_HEADER.into(),
            method_override: MethodOverride::default(),
        }));
    }
    let Some(t) = root.opt_table("origin").map_err(|_| ConfigError {
        key: key.clone(),
        problem: "must be a URL or a table with `url`".into(),
    })?
    else {
        return Ok(None);
    };
    t.only(&["url", "secret_header", "method_override"])?;
    let secret_header = t
        .opt_str("secret_header")?
        .unwrap_or(DEFAULT_ORIGIN_SECRET_HEADER);
    if !is_settable_header(secret_header) {
        return Err(t.error(
            "secret_header",
            "must be a header name (letters, digits, '-') without another meaning: not Host, \
             Authorization, Cookie, a Content- or hop-by-hop header, a cf- header, a payment \
             header or a method or path override",
        ));
    }
    let method_override = match t.opt_str("method_override")? {
        None | Some("strip") => MethodOverride::Strip,
        Some("refuse") => MethodOverride::Refuse,
        Some(_) => return Err(t.error("method_override", "must be strip or refuse")),
    };
    Ok(Some(OriginConfig {
        url: check_url(&t.key("url"), t.str("url")?)?,
        secret_header: secret_header.to_owned(),
        method_override,
    }))
}

/// Whether a configured header name is a plain token the proxy may set without taking over
/// a header with another meaning (hop-by-hop, content, cookies, Cloudflare's own, the
/// gateway's, or an override the proxy strips).
fn is_settable_header(name: &str) -> bool {
    let reserved = [
        "host",
        "authorization",
        "proxy-authorization",
        "cookie",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        crate::protocol::PAYMENT_SIGNATURE,
        crate::protocol::X_PAYMENT,
    ];
    let same = |other: &&str| crate::gate::forward::same_header_name(name, other);
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("cf-"))
        && !reserved.iter().any(same)
        && !crate::gate::METHOD_OVERRIDE_HEADERS
            .iter()
            .chain(&crate::gate::PATH_OVERRIDE_HEADERS)
            .any(same)
}

fn parse_network(t: &Table<'_>) -> Result<Network, ConfigError> {
    t.only(&["chain_id", "name", "assets", "rpc_url"])?;
    let chain_id = t.u64("chain_id", 1..=u64::MAX)?;
    let v1_name = t.opt_str("name")?.map(str::to_owned);
    let rpc_url = t
        .opt_str("rpc_url")?
        .map(|url| check_url(&t.key("rpc_url"), url))
        .transpose()?;
    let assets = t
        .opt_list("assets")?
        .unwrap_or_default()
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
        display_name: None,
        rpc_url,
        assets,
    })
}

/// Routes selling the same L402 service must sell it on the same terms (price, tier,
/// capabilities, lifetime and request budget): a token is minted for a service, so any route
/// of that service accepts it, and a budget on one route would not hold on another.
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
        let differs = offers
            .iter()
            .any(|(_, other)| other.service.name() == offer.service.name() && other != offer);
        if differs {
            return Err(ConfigError {
                key: format!("routes[{index}].l402.service"),
                problem: "is sold by another route on other terms (price, tier, capabilities, valid_for_s or \
                          max_requests)"
                    .into(),
            });
        }
    }
    Ok(())
}

fn parse_lightning(t: &Table<'_>) -> Result<LightningConfig, ConfigError> {
    t.only(&[
        "url",
        "timeout_ms",
        "invoices_per_minute",
        "invoices_per_route_per_minute",
    ])?;
    Ok(LightningConfig {
        url: check_url(&t.key("url"), t.str("url")?)?,
        timeout_ms: t
            .opt_u64("timeout_ms", 1..=60_000)?
            .unwrap_or(DEFAULT_LIGHTNING_TIMEOUT_MS),
        invoices_per_minute: t
            .opt_u64("invoices_per_minute", 1..=10_000)?
            .map_or(DEFAULT_INVOICES_PER_MINUTE, |n| n as u32),
        invoices_per_route_per_minute: t
            .opt_u64("invoices_per_route_per_minute", 1..=100_000)?
            .map_or(DEFAULT_INVOICES_PER_ROUTE_PER_MINUTE, |n| n as u32),
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
        "discovery",
        "access_s",
        "access_group",
        "mcp",
        "clients",
    ])?;
    let discovery = t
        .opt_table("discovery")?
        .map(|d| parse_discovery(&d, &matcher).map(Box::new))
        .transpose()?;
    let l402 = t.opt_table("l402")?.map(|l| parse_l402(&l)).transpose()?;
    if l402.is_some() && !lightning {
        return Err(t.error("l402", "needs a `lightning` node configured"));
    }
    let max_timeout_seconds = t
        .opt_u64("max_timeout_s", 1..=86_400)?
        .unwrap_or(DEFAULT_MAX_TIMEOUT_S);
    let settle = t
        .opt_str("settle")?
        .map(|s| {
            SettleOrder::from_name(s)
                .ok_or_else(|| t.error("settle", "must be after-origin, before-origin or parallel"))
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
    if l402.is_some() && t.opt_str("price")? == Some(DYNAMIC_PRICE) {
        // A token bought at `price_sats` would open every request of the route, whatever
        // its price per request.
        return Err(t.error("l402", "cannot be sold beside price \"dynamic\" (a token would open every request at one price)"));
    }
    let (price, route_price) = match accepts.is_empty() {
        true => (None, RoutePrice::Fixed),
        // An MCP route's tools carry their prices; its own is never offered.
        false if t.opt("mcp").is_some() => {
            if t.opt("price").is_some() {
                return Err(t.error("price", "is per tool on an MCP route (`mcp.tools`)"));
            }
            (Some(Price::zero()), RoutePrice::Fixed)
        }
        // Zero stands in for the amount of each request, which is never the configured one.
        false if t.str("price")? == DYNAMIC_PRICE => (Some(Price::zero()), RoutePrice::Dynamic),
        false => (
            Some(Price::parse(t.str("price")?).map_err(|e| t.error("price", price_problem(&e)))?),
            RoutePrice::Fixed,
        ),
    };
    // `price` is read exactly when `accepts` is not empty, so every accept has it.
    let accepts = accepts
        .iter()
        .zip(price.iter().cycle())
        .map(|(a, price)| {
            a.only(&["network", "pay_to", "asset"])?;
            let network = networks
                .resolve(a.str("network")?)
                .map_err(|_| a.error("network", "is not a known network"))?;
            let pay_to = a.address("pay_to")?;
            let named = a.opt_address("asset")?;
            let asset = accepted_asset(network, named.as_ref()).map_err(|e| {
                let key = if named.is_some() { "asset" } else { "network" };
                a.error(key, &e.to_string())
            })?;
            offer_requirement(price, network, asset, pay_to, max_timeout_seconds)
                .map_err(|e| t.error("price", price_problem(&e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let access = parse_access(t, &matcher, accepts.is_empty())?;
    let mcp = t
        .opt_table("mcp")?
        .map(|m| parse_mcp(t, &m, &matcher, &accepts, networks))
        .transpose()?
        .map(Box::new);
    let clients = t
        .opt_table("clients")?
        .map(|c| parse_clients(t, &c, &accepts, route_price, networks))
        .transpose()?
        .map(Box::new);
    Ok(Route {
        matcher,
        access: Access::Paid(PaidRoute {
            clients,
            mcp,
            access,
            accepts,
            price: route_price,
            description: t.opt_str("description")?.unwrap_or("").to_owned(),
            mime_type: t
                .opt_str("mime_type")?
                .unwrap_or(DEFAULT_MIME_TYPE)
                .to_owned(),
            settle,
            l402,
            discovery,
        }),
    })
}

/// A route's `mcp`: `{tools = {name = price, …}}`, each tool offered on the route's `accepts`
/// at its own price. Paid tool calls are settled after the tool answers (only if it did not
/// fail), so the route takes no `settle`, nor `l402`, `access_s` or `discovery`, and its
/// `match` must cover `POST`.
fn parse_mcp(
    route: &Table<'_>,
    t: &Table<'_>,
    matcher: &RouteMatcher,
    accepts: &[Accept],
    networks: &Networks,
) -> Result<McpRoute, ConfigError> {
    t.only(&["tools"])?;
    for key in ["settle", "l402", "access_s", "access_group", "discovery"] {
        if route.opt(key).is_some() {
            return Err(route.error(key, "is not taken by an MCP route (`mcp`)"));
        }
    }
    if !matcher.covers_method("POST") {
        return Err(route.error(
            "match",
            "must cover POST on an MCP route (JSON-RPC is sent with POST)",
        ));
    }
    let tools = t
        .opt_table("tools")?
        .ok_or_else(|| t.error("tools", "is required: the priced tools and their prices"))?;
    if tools.map.is_empty() {
        return Err(t.error("tools", "must price at least one tool"));
    }
    tools
        .map
        .iter()
        .map(|(name, price)| {
            let problem = |problem: &str| tools.error(name, problem);
            let text = price
                .as_str()
                .ok_or_else(|| problem("must be a price (\"$0.01\") or \"dynamic\""))?;
            if text == DYNAMIC_PRICE {
                // Offered at each call's price; the route's own ways to pay stand at zero.
                return Ok(McpTool {
                    name: name.clone(),
                    price: None,
                    accepts: accepts.to_vec(),
                });
            }
            let price = Price::parse(text).map_err(|e| problem(price_problem(&e)))?;
            let accepts = accepts
                .iter()
                .map(|accept| match accept.amount_of(&price, networks) {
                    Ok(amount) if amount == Uint256::ZERO => Err(problem(
                        "must be more than zero (a free tool is one left out of `tools`)",
                    )),
                    Ok(amount) => Ok(accept.at_amount(amount)),
                    Err(e) => Err(problem(price_problem(&e))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(McpTool {
                name: name.clone(),
                price: Some(price),
                accepts,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|tools| McpRoute { tools })
}

/// A route's `clients`: for `browsers`, `unsigned_bots` and `verified_agents`, `"free"`,
/// `"refuse"`, `"price"` (the route's own, the default) or a price of its own (on a route
/// with a fixed `price`); `allow_agents` and `deny_agents`, lists of agent origins.
fn parse_clients(
    route: &Table<'_>,
    t: &Table<'_>,
    accepts: &[Accept],
    route_price: RoutePrice,
    networks: &Networks,
) -> Result<RouteClients, ConfigError> {
    t.only(&[
        "browsers",
        "unsigned_bots",
        "verified_agents",
        "allow_agents",
        "deny_agents",
    ])?;
    if route.opt("mcp").is_some() {
        return Err(route.error("clients", "is not taken by an MCP route (`mcp`)"));
    }
    let offer = |name: &str| -> Result<ClientOffer, ConfigError> {
        let text = match t.opt_str(name)? {
            None | Some("price") => return Ok(ClientOffer::RoutePrice),
            Some("free") => return Ok(ClientOffer::Free),
            Some("refuse") => return Ok(ClientOffer::Refuse),
            Some(text) => text,
        };
        if accepts.is_empty() || route_price == RoutePrice::Dynamic {
            return Err(t.error(
                name,
                "a price of its own needs the route's x402 `accepts` and a fixed `price`",
            ));
        }
        let price = Price::parse(text).map_err(|e| {
            t.error(
                name,
                &format!(
                    "must be \"free\", \"refuse\", \"price\" or a price that {}",
                    price_problem(&e)
                ),
            )
        })?;
        let accepts = accepts
            .iter()
            .map(|accept| match accept.amount_of(&price, networks) {
                Ok(amount) if amount == Uint256::ZERO => {
                    Err(t.error(name, "must be more than zero (write \"free\")"))
                }
                Ok(amount) => Ok(accept.at_amount(amount)),
                Err(e) => Err(t.error(name, price_problem(&e))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClientOffer::Price { price, accepts })
    };
    let agents = |name: &str| -> Result<Vec<String>, ConfigError> {
        let urls = t.opt_urls(name)?.unwrap_or_default();
        urls.into_iter()
            .map(|url| match url.split_once("://") {
                Some((_, rest)) if !rest.contains('/') => crate::web_bot_auth::origin_of(&url)
                    .ok_or_else(|| t.error(name, "must list agent origins")),
                _ => Err(t.error(
                    name,
                    "must list agent origins (scheme://host[:port]), without paths",
                )),
            })
            .collect()
    };
    Ok(RouteClients {
        browsers: offer("browsers")?,
        unsigned_bots: offer("unsigned_bots")?,
        verified_agents: offer("verified_agents")?,
        allow_agents: agents("allow_agents")?,
        deny_agents: agents("deny_agents")?,
    })
}

/// `sign_in_with_x`: the public origin sign-ins name, and the statement wallets show.
fn parse_sign_in(t: &Table<'_>) -> Result<SignInConfig, ConfigError> {
    t.only(&["origin", "statement"])?;
    let origin = check_url(&t.key("origin"), t.str("origin")?)?;
    // `check_url` leaves `scheme://authority`, with any path refused below.
    let domain = origin.split_once("://").map_or("", |(_, rest)| rest);
    if domain.contains('/') {
        return Err(t.error(
            "origin",
            "must be an origin (scheme://host[:port]) without a path",
        ));
    }
    let statement = t.opt_str("statement")?;
    if statement.is_some_and(|s| s.chars().any(char::is_control)) {
        return Err(t.error("statement", "must be one line"));
    }
    Ok(SignInConfig {
        domain: domain.to_owned(),
        origin,
        statement: statement.map(str::to_owned),
    })
}

/// A route's `access_s` and `access_group`: how long a payment opens the route (or its
/// group) to its payer. Only x402 payments have a payer to sign in.
fn parse_access(
    t: &Table<'_>,
    matcher: &RouteMatcher,
    l402_only: bool,
) -> Result<Option<Box<RouteAccess>>, ConfigError> {
    let group = t.opt_str("access_group")?;
    let Some(seconds) = t.opt_u64("access_s", 1..=MAX_ACCESS_S)? else {
        return match group {
            Some(_) => Err(t.error("access_group", "needs `access_s`")),
            None => Ok(None),
        };
    };
    if l402_only {
        return Err(t.error(
            "access_s",
            "needs x402 `accepts`: an L402 token is already reusable until it expires",
        ));
    }
    let scope = match group {
        Some(group) => {
            let valid = (1..=64).contains(&group.len())
                && group
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(t.error("access_group", "must be 1 to 64 letters, digits, - and _"));
            }
            format!("group:{group}")
        }
        None => format!("route:{matcher}"),
    };
    Ok(Some(Box::new(RouteAccess { seconds, scope })))
}

/// A route's `discovery`: its input (query parameters, or a body of `body_type`) and output,
/// by example and JSON Schema. The route's `match` must name its methods, all of one kind
/// (the query's, or the body's), since that is what the description says.
fn parse_discovery(t: &Table<'_>, matcher: &RouteMatcher) -> Result<RouteDiscovery, ConfigError> {
    t.only(&["body_type", "input", "input_schema", "output"])?;
    let body_type = t
        .opt_str("body_type")?
        .map(|name| match name {
            "json" => Ok(BodyType::Json),
            "form-data" => Ok(BodyType::FormData),
            "text" => Ok(BodyType::Text),
            _ => Err(t.error("body_type", "must be json, form-data or text")),
        })
        .transpose()?;
    let kind: &[&str] = match body_type {
        None => &QUERY_METHODS,
        Some(_) => &BODY_METHODS,
    };
    if matcher.methods.is_empty() || matcher.methods.iter().any(|m| !kind.contains(&m.as_str())) {
        let problem = match body_type {
            None => "describes query input: the route's `match` must name its methods, among GET, HEAD and DELETE (or set `body_type`)",
            Some(_) => "describes a body: the route's `match` must name its methods, among POST, PUT and PATCH",
        };
        return Err(t.error("body_type", problem));
    }
    let object = |table: &Table<'_>,
                  name: &str|
     -> Result<Option<serde_json::Map<String, Value>>, ConfigError> {
        match table.opt(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map.clone())),
            Some(_) => Err(table.error(name, "must be a table")),
        }
    };
    let (output_example, output_schema) = match t.opt_table("output")? {
        None => (None, None),
        Some(output) => {
            output.only(&["example", "schema"])?;
            (output.opt("example").cloned(), object(&output, "schema")?)
        }
    };
    Ok(RouteDiscovery {
        body_type,
        input: object(t, "input")?.unwrap_or_default(),
        input_schema: object(t, "input_schema")?.unwrap_or_default(),
        output_example,
        output_schema,
    })
}

/// `price` of a route whose price is decided per request.
pub const DYNAMIC_PRICE: &str = "dynamic";

/// `pricing`: where dynamic prices come from (`url` or `service`, not both), how long an
/// answer is reused and how long a quote holds.
fn parse_pricing(t: &Table<'_>) -> Result<PricingConfig, ConfigError> {
    t.only(&["url", "service", "cache_s", "timeout_ms", "quote_valid_s"])?;
    let endpoint = match (t.opt_str("url")?, t.opt_str("service")?) {
        (Some(_), Some(_)) => return Err(t.error("service", "is set beside `url`; name one")),
        (Some(url), None) => Some(PricingEndpoint::Url(check_url(&t.key("url"), url)?)),
        (None, Some(name)) if !name.is_empty() => Some(PricingEndpoint::Service(name.to_owned())),
        (None, Some(_)) => return Err(t.error("service", "must name a service binding")),
        (None, None) => None,
    };
    Ok(PricingConfig {
        endpoint,
        cache_s: t
            .opt_u64("cache_s", 0..=86_400)?
            .unwrap_or(DEFAULT_PRICE_CACHE_S),
        timeout_ms: t
            .opt_u64("timeout_ms", 1..=60_000)?
            .unwrap_or(DEFAULT_PRICING_TIMEOUT_MS),
        quote_valid_s: t
            .opt_u64("quote_valid_s", 10..=86_400)?
            .unwrap_or(DEFAULT_QUOTE_VALID_S),
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

/// A base URL the gateway sends requests (and secrets) to: `https://`, or `http://` to a
/// loopback host only (a local stack), without query or fragment; the trailing `/` dropped.
fn check_url(key: &str, url: &str) -> Result<String, ConfigError> {
    let problem = |problem: &str| ConfigError {
        key: key.into(),
        problem: problem.into(),
    };
    let (secure, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(problem("must be an https:// URL")),
    };
    if rest.is_empty() || rest.starts_with('/') || url.contains(['?', '#', ' ', '@']) {
        return Err(problem(
            "must be an https:// URL without credentials, query or fragment",
        ));
    }
    if !secure && !is_loopback(rest) {
        return Err(problem(
            "must use https:// (http:// is accepted for loopback hosts only)",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Whether the authority at the start of `rest` (`host[:port]/…`) is a loopback host.
fn is_loopback(rest: &str) -> bool {
    let host = crate::routes::host_of(rest);
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|tail| {
            tail.split('.').count() == 3 && tail.split('.').all(|o| o.parse::<u8>().is_ok())
        })
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

    /// A URL or a non-empty list of URLs (tried in order).
    fn opt_urls(&self, name: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(value) = self.opt(name) else {
            return Ok(None);
        };
        let key = self.key(name);
        let urls = match value {
            Value::String(url) => vec![check_url(&key, url)?],
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item.as_str() {
                    Some(url) => check_url(&format!("{key}[{i}]"), url),
                    None => Err(self.error(name, "must be a URL or a list of URLs")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(self.error(name, "must be a URL or a non-empty list of URLs")),
        };
        Ok(Some(urls))
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
