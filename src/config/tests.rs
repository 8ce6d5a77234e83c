//! The configuration reader's and lints' tests.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::protocol::facilitator::SupportedResponse;

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
    assert_eq!(config.facilitator.urls, [DEFAULT_FACILITATOR_URL]);
    assert_eq!(config.receipt_ttl_s, DEFAULT_RECEIPT_TTL_S);
    let Access::Paid(paid) = &config.routes[0].access else {
        panic!("a priced route")
    };
    let r = &paid.accepts[0].requirement;
    assert_eq!(
        (r.network.as_str(), r.amount, r.max_timeout_seconds),
        ("eip155:84532", 1_000u64.into(), 60)
    );
    assert_eq!(r.asset, "0x036CbD53842c5426634e7929541eC2318f3dCF7e");
    assert_eq!(r.extra, Some(json!({"name": "USDC", "version": "2"})));
    assert_eq!(paid.accepts[0].v1_network.as_deref(), Some("base-sepolia"));
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
    let origin = config.origin.as_ref().unwrap();
    assert_eq!(origin.url, "http://127.0.0.1:8080");
    assert_eq!(origin.secret_header, DEFAULT_ORIGIN_SECRET_HEADER);
    assert_eq!(origin.method_override, MethodOverride::Strip);
    let Access::Paid(paid) = &config.routes[0].access else {
        panic!("a priced route")
    };
    assert_eq!(
        paid.accepts[0].requirement.amount,
        crate::Uint256::from(500_000_000_000_000_000u64)
    );
    assert_eq!(paid.accepts[0].requirement.network, "eip155:31337");
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
    let error = GatewayConfig::from_json_text(&format!("{{\"origin\": \"{secret}")).unwrap_err();
    assert_eq!(error.key, "EDGE402_CONFIG");
    assert!(!error.to_string().contains(secret));
}

#[test]
fn offers_missing_from_supported_are_listed() {
    let config = GatewayConfig::from_json(&json!({"routes": [route(json!({}))]})).unwrap();
    let kinds =
        |list: Value| serde_json::from_value::<SupportedResponse>(json!({"kinds": list})).unwrap();
    let both = kinds(json!([
        {"x402Version": 2, "scheme": "exact", "network": "eip155:84532"},
        {"x402Version": 1, "scheme": "exact", "network": "base-sepolia"}
    ]));
    assert!(config.unsupported_offers(&both).is_empty());
    let v2_only = kinds(json!([{"x402Version": 2, "scheme": "exact", "network": "eip155:84532"}]));
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
    assert!(paid.accepts.is_empty());
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
    let caps =
        json!({"match": "/x", "l402": {"price_sats": 1, "service": "w", "capabilities": ["a,b"]}});
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
    let error = error_of(json!({"lightning": ln, "routes": [route("/a", 1), route("/b", 100)]}));
    assert_eq!(error.key, "routes[0].l402.service");
    // A budget or lifetime on one route would not hold on another that takes the same tokens.
    for (key, value) in [("max_requests", json!(10)), ("valid_for_s", json!(60))] {
        let mut limited = route("/b", 1);
        limited["l402"][key] = value;
        let error = error_of(json!({"lightning": ln, "routes": [route("/a", 1), limited]}));
        assert_eq!(error.key, "routes[0].l402.service", "{key}");
    }
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
    assert!(shadowed.warnings()[0].starts_with("routes[0] (free) comes before routes[1] (paid)"));
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

#[test]
fn facilitator_urls_are_tried_in_order_and_leases_cover_every_try() {
    let config = GatewayConfig::from_json(&json!({
        "facilitator": {"url": ["https://a.example/f/", "https://b.example"],
                        "verify_timeout_ms": 2000, "settle_timeout_ms": 10000},
        "routes": [route(json!({}))]
    }))
    .unwrap();
    assert_eq!(
        config.facilitator.urls,
        ["https://a.example/f", "https://b.example"]
    );
    // /verify once, /settle at most once per URL, and the origin's allowance.
    assert_eq!(
        config.facilitator.claim_lease_s(),
        2 + 2 * 10 + CLAIM_ORIGIN_ALLOWANCE_S
    );
    for bad in [json!([]), json!([1]), json!({"u": 1})] {
        let error = error_of(json!({"facilitator": {"url": bad}, "routes": [route(json!({}))]}));
        assert_eq!(error.key, "facilitator.url");
    }
}

#[test]
fn an_origin_table_names_its_secret_header_and_method_override_policy() {
    let with_origin = |origin: Value| json!({"origin": origin, "routes": [route(json!({}))]});
    let config = GatewayConfig::from_json(&with_origin(json!({
        "url": "https://api.example/v1/",
        "secret_header": "X-Gateway-Key",
        "method_override": "refuse"
    })))
    .unwrap();
    assert_eq!(
        config.origin,
        Some(OriginConfig {
            url: "https://api.example/v1".into(),
            secret_header: "X-Gateway-Key".into(),
            method_override: MethodOverride::Refuse,
        })
    );
    for (origin, key) in [
        (
            json!({"url": "https://a.example", "method_override": "allow"}),
            "origin.method_override",
        ),
        (
            json!({"url": "https://a.example", "secret_header": "Authorization"}),
            "origin.secret_header",
        ),
        (
            json!({"url": "https://a.example", "secret_header": "X-HTTP-Method"}),
            "origin.secret_header",
        ),
        (
            json!({"url": "https://a.example", "secret_header": "Bad Header"}),
            "origin.secret_header",
        ),
        (json!({"url": "http://a.example"}), "origin.url"),
        (json!({"secret_header": "X-Key"}), "origin.url"),
        (
            json!({"url": "https://a.example", "urls": []}),
            "origin.urls",
        ),
        (json!(7), "origin"),
    ] {
        assert_eq!(error_of(with_origin(origin.clone())).key, key, "{origin}");
    }
}

#[test]
fn urls_that_carry_secrets_must_be_https_unless_they_stay_on_this_machine() {
    let with_origin = |origin: &str| json!({"origin": origin, "routes": [route(json!({}))]});
    for good in [
        "https://origin.example",
        "http://127.0.0.1:8080",
        "http://localhost:3000/base",
        "http://[::1]:9000",
    ] {
        assert!(
            GatewayConfig::from_json(&with_origin(good)).is_ok(),
            "{good}"
        );
    }
    for bad in [
        "http://origin.example",
        "http://127.0.0.1.evil.example",
        "http://10.0.0.1",
        "https://user:pass@origin.example",
        "https://origin.example/?q=1",
        "ftp://origin.example",
    ] {
        assert_eq!(error_of(with_origin(bad)).key, "origin", "{bad}");
    }
    let error = error_of(
        json!({"facilitator": {"url": ["https://a.example", "http://b.example"]},
                                "routes": [route(json!({}))]}),
    );
    assert_eq!(error.key, "facilitator.url[1]");
}

#[test]
fn a_built_in_network_takes_an_rpc_url_and_keeps_its_assets() {
    let config = GatewayConfig::from_json(&json!({
        "networks": [{"chain_id": 84532, "rpc_url": "http://127.0.0.1:8545"}],
        "routes": [route(json!({}))]
    }))
    .unwrap();
    let sepolia = config.networks.by_chain_id(84532).unwrap();
    assert_eq!(sepolia.rpc_url.as_deref(), Some("http://127.0.0.1:8545"));
    assert_eq!(
        sepolia.default_asset().map(|a| a.address.to_string()),
        Some("0x036CbD53842c5426634e7929541eC2318f3dCF7e".to_owned())
    );
    // Without one, the chain's published endpoint; Ethereum has none built in.
    let builtin = GatewayConfig::from_json(&json!({"routes": [route(json!({}))]})).unwrap();
    let rpc = |id| builtin.networks.by_chain_id(id).unwrap().rpc_url.clone();
    assert_eq!(rpc(84532).as_deref(), Some("https://sepolia.base.org"));
    assert_eq!(rpc(1), None);
    let error = error_of(
        json!({"networks": [{"chain_id": 84532, "rpc_url": "http://rpc.example"}],
                                "routes": [route(json!({}))]}),
    );
    assert_eq!(error.key, "networks[0].rpc_url");
}

#[test]
fn a_priced_chain_without_an_rpc_url_is_warned_about() {
    let token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let config = GatewayConfig::from_json(&json!({
        "networks": [{"chain_id": 31337, "name": "localhost",
                      "assets": [{"address": token, "name": "Test", "version": "1", "decimals": 6}]}],
        "routes": [route(json!({})),
                   {"match": "/x", "price": "1", "accepts": [{"network": "localhost", "pay_to": PAY_TO, "asset": token}]}]
    }))
    .unwrap();
    let warnings = config.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("chain 31337 has no networks[].rpc_url")),
        "{warnings:?}"
    );
    // Base Sepolia has its published endpoint built in.
    assert!(
        !warnings.iter().any(|w| w.starts_with("chain 84532")),
        "{warnings:?}"
    );
}

#[test]
fn dynamic_prices_and_their_pricing_table() {
    let dynamic = route(json!({"price": "dynamic"}));
    let config = GatewayConfig::from_json(&json!({"routes": [dynamic.clone()]})).unwrap();
    assert!(config.has_dynamic_prices());
    assert_eq!(config.pricing, PricingConfig::default());
    let with_url = json!({"pricing": {"url": "https://prices.example/p", "cache_s": 0, "quote_valid_s": 60},
                          "routes": [dynamic.clone()]});
    let config = GatewayConfig::from_json(&with_url).unwrap();
    assert_eq!(
        config.pricing.endpoint,
        Some(PricingEndpoint::Url("https://prices.example/p".into()))
    );
    assert_eq!(
        (config.pricing.cache_s, config.pricing.quote_valid_s),
        (0, 60)
    );
    for (pricing, key) in [
        (json!({"url": "http://prices.example"}), "pricing.url"),
        (
            json!({"url": "https://a.example", "service": "P"}),
            "pricing.service",
        ),
        (json!({"service": ""}), "pricing.service"),
        (json!({"quote_valid_s": 1}), "pricing.quote_valid_s"),
        (json!({"cost": 1}), "pricing.cost"),
    ] {
        let error = error_of(json!({"pricing": pricing, "routes": [dynamic.clone()]}));
        assert_eq!(error.key, key, "{pricing}");
    }
    // A token bought at one price would open every request of a dynamic route.
    let ln = json!({"url": "https://lnd.example"});
    let both = route(json!({"price": "dynamic", "l402": {"price_sats": 10, "service": "s"}}));
    let error = error_of(json!({"lightning": ln, "routes": [both]}));
    assert_eq!(error.key, "routes[0].l402");
}

#[test]
fn extensions_are_off_unless_configured_and_discovery_fits_the_route() {
    let plain = GatewayConfig::from_json(&json!({"routes": [route(json!({}))]})).unwrap();
    assert_eq!(
        (
            plain.discovery,
            plain.offer_receipt,
            plain.payment_identifier
        ),
        (None, None, None)
    );
    let described = json!({"input": {"city": "Lisbon"}, "output": {"example": {"celsius": 21}}});
    let config = GatewayConfig::from_json(&json!({
        "discovery": {"title": "API"},
        "offer_receipt": {},
        "payment_identifier": {"required": true},
        "routes": [route(json!({"discovery": described}))],
    }))
    .unwrap();
    assert_eq!(config.discovery.unwrap().title, "API");
    assert_eq!(
        config.offer_receipt,
        Some(OfferReceiptConfig {
            offer_valid_s: None
        })
    );
    assert_eq!(
        config.payment_identifier,
        Some(PaymentIdentifierConfig { required: true })
    );
    let Access::Paid(paid) = &config.routes[0].access else {
        panic!("a priced route")
    };
    let discovery = paid.discovery.as_ref().unwrap();
    assert_eq!(
        (discovery.body_type, discovery.input["city"].as_str()),
        (None, Some("Lisbon"))
    );

    // A description must say what the route's methods take.
    let on = |matcher: &str, discovery: Value| {
        error_of(json!({"routes": [route(json!({"match": matcher, "discovery": discovery}))]}))
    };
    for (matcher, discovery) in [
        ("/api/*", json!({})),
        ("POST /api/*", json!({})),
        ("GET /api/*", json!({"body_type": "json"})),
        ("GET,POST /api/*", json!({"body_type": "json"})),
    ] {
        assert_eq!(
            on(matcher, discovery).key,
            "routes[0].discovery.body_type",
            "{matcher}"
        );
    }
    assert_eq!(
        on("POST /api/*", json!({"body_type": "xml"})).key,
        "routes[0].discovery.body_type"
    );
    assert_eq!(
        on("GET /api/*", json!({"input": [1]})).key,
        "routes[0].discovery.input"
    );
    assert_eq!(
        on("GET /api/*", json!({"extra": 1})).key,
        "routes[0].discovery.extra"
    );
    let top = |extra: Value| {
        let mut config = json!({"routes": [route(json!({}))]});
        config
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        error_of(config).key
    };
    assert_eq!(
        top(json!({"offer_receipt": {"offer_valid_s": 0}})),
        "offer_receipt.offer_valid_s"
    );
    assert_eq!(
        top(json!({"payment_identifier": {"required": "yes"}})),
        "payment_identifier.required"
    );
    assert_eq!(top(json!({"discovery": {"path": "/x"}})), "discovery.path");
}
