//! Prices by who is asking (a route's `clients`) and pay-per-crawl's headers, through the
//! whole decision flow against in-memory fakes: browsers, unsigned bots and Web Bot Auth
//! agents (signed here with Ed25519 as a crawler signs, their keys in a directory the fake
//! serves) each get their terms; price headers count only when covered; every bad signature
//! is "unsigned", never an error page, never trusted.
#![cfg(not(target_arch = "wasm32"))]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use edge402::config::GatewayConfig;
use edge402::evm::signer::PaymentSigner;
use edge402::evm::Bytes32;
use edge402::gate::clients::BotManagement;
use edge402::gate::flow::{handle, LogRecord, Outcome, Services};
use edge402::gate::http::{self, Answer};
use edge402::gate::quote::QuoteKey;
use edge402::gate::{Gate, RequestFacts, Secrets};
use edge402::networks::Networks;
use edge402::pay::pay_v2;
use edge402::protocol::{decode_header, v2};
use edge402::testing::{
    settled, FakeDirectories, FakeLightning, FakeOrigin, MemoryAllowances, MemoryCoordinator,
    ScriptedFacilitator,
};
use edge402::web_bot_auth::{jwk_thumbprint, MessageSignature, RequestParts, DIRECTORY_PATH};
use futures_executor::block_on;
use serde_json::{json, Value};

const NOW: u64 = 1_750_000_000;
const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
const AUTHORITY: &str = "edge.example";
const CRAWLER: &str = "https://crawler.example";
const DENIED: &str = "https://denied.example";
const BROWSER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0";

fn config() -> Value {
    let accepts = json!([{"network": "base-sepolia", "pay_to": PAY_TO}]);
    json!({
        "facilitator": {"url": "http://127.0.0.1:9/facilitator"},
        "web_bot_auth": {"max_validity_s": 300, "bot_management": true},
        "routes": [
            {"match": "GET /articles/*", "price": "$0.01", "accepts": accepts,
             "clients": {"browsers": "free", "unsigned_bots": "$0.05", "deny_agents": [DENIED]}},
            {"match": "GET /members/*", "price": "$0.01", "accepts": accepts,
             "clients": {"unsigned_bots": "refuse", "verified_agents": "$0.002", "allow_agents": [CRAWLER]}},
            {"match": "GET /plain/*", "price": "$0.01", "accepts": accepts}
        ]
    })
}

/// A crawler's Ed25519 key, published in the directory of `agent`.
struct Crawler {
    key: SigningKey,
    agent: &'static str,
    /// Its `Signature-Agent` and how the signature covers it: the legacy String form, as
    /// npm `web-bot-auth` 0.1.3 sends it, unless a test sets another.
    agent_field: (String, String),
}

impl Crawler {
    fn new(seed: u8, agent: &'static str) -> Self {
        Self {
            key: SigningKey::from_bytes(&[seed; 32]),
            agent,
            agent_field: (format!("\"{agent}\""), "\"signature-agent\"".into()),
        }
    }

    fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().to_bytes())
    }

    /// Its directory, as it serves it.
    fn directory(&self) -> String {
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": self.x(), "use": "sig"}]}).to_string()
    }

    /// `headers` signed as a crawler signs `GET path`: `@authority`, `Signature-Agent`, and
    /// the fields `covered`.
    fn sign(
        &self,
        path: &str,
        mut headers: Vec<(String, String)>,
        covered: &[&str],
        created: u64,
        expires: u64,
    ) -> Vec<(String, String)> {
        let (agent_value, agent_component) = &self.agent_field;
        let mut components = vec!["\"@authority\"".to_owned(), agent_component.clone()];
        components.extend(covered.iter().map(|name| format!("\"{name}\"")));
        headers.push(("Signature-Agent".into(), agent_value.clone()));
        headers.push((
            "Signature-Input".into(),
            format!(
                "sig1=({});created={created};keyid=\"{}\";alg=\"ed25519\";expires={expires};tag=\"web-bot-auth\"",
                components.join(" "),
                jwk_thumbprint(&self.x())
            ),
        ));
        headers.push((
            "Signature".into(),
            format!("sig1=:{}:", STANDARD.encode([0u8; 64])),
        ));
        let parts = RequestParts {
            method: "GET",
            scheme: "https",
            authority: AUTHORITY,
            path,
            query: None,
            headers: &headers,
        };
        let base = MessageSignature::parse(&parts, "sig1")
            .unwrap()
            .base()
            .to_owned();
        let signature = STANDARD.encode(self.key.sign(base.as_bytes()).to_bytes());
        headers.retain(|(name, _)| name != "Signature");
        headers.push(("Signature".into(), format!("sig1=:{signature}:")));
        headers
    }
}

/// A request header.
type Header = (String, String);
/// Headers as a test writes them.
type Headers = &'static [(&'static str, &'static str)];

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn browser() -> Vec<(String, String)> {
    vec![
        header("User-Agent", BROWSER_UA),
        header("Sec-Fetch-Mode", "navigate"),
        header("Accept", "text/html"),
    ]
}

fn bot() -> Vec<(String, String)> {
    vec![header("User-Agent", "curl/8.5.0"), header("Accept", "*/*")]
}

struct World {
    gate: Gate,
    f: ScriptedFacilitator,
    c: MemoryCoordinator,
    o: FakeOrigin,
    d: FakeDirectories,
}

/// One request's answer.
struct Run {
    log: LogRecord,
    answer: Option<Answer>,
    headers: Vec<(&'static str, String)>,
}

impl Run {
    fn status(&self) -> u16 {
        self.answer.as_ref().map_or(self.log.status, |a| a.status)
    }

    fn outcome(&self) -> &str {
        self.log.outcome.as_str()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The x402 v2 requirement offered.
    fn offered(&self) -> v2::PaymentRequired {
        decode_header(self.header("PAYMENT-REQUIRED").expect("a challenge")).unwrap()
    }
}

impl World {
    fn new() -> Self {
        Self::with(config())
    }

    fn with(config: Value) -> Self {
        // The quote secret, for routes priced per request.
        let secrets = Secrets {
            quote_key: Some(QuoteKey::new(&[0x51; 32]).unwrap()),
            ..Secrets::default()
        };
        let d = FakeDirectories::default();
        for crawler in [Crawler::new(1, CRAWLER), Crawler::new(2, DENIED)] {
            d.publish(
                &format!("{}{DIRECTORY_PATH}", crawler.agent),
                &crawler.directory(),
            );
        }
        Self {
            gate: Gate::from_json(&config, secrets).unwrap(),
            f: ScriptedFacilitator::default(),
            c: MemoryCoordinator::new(120),
            o: FakeOrigin::ok(),
            d,
        }
    }

    /// `GET path` with `headers` (every header of the request), paid with `payment`.
    fn get(&self, path: &str, headers: Vec<(String, String)>, payment: Option<&str>) -> Run {
        *self.o.headers.borrow_mut() = headers;
        let facts = RequestFacts {
            method: "GET",
            path,
            base_url: "https://edge.example",
            payment_signature: payment,
            ..RequestFacts::default()
        };
        let services = Services {
            facilitator: &self.f,
            store: &self.c.store,
            origin: &self.o,
            invoices: &FakeLightning::default(),
            coordinator: &self.c,
            allowances: &MemoryAllowances::default(),
            chain: &self.c.chain,
            pricing: &(),
            directories: &self.d,
        };
        let (outcome, log) = block_on(handle(&self.gate, &facts, NOW, services));
        let networks = &self.gate.config().networks;
        let (answer, headers) = match &outcome {
            Outcome::Refused(refused) => {
                let answer = http::answer(refused, networks);
                (Some(answer.clone()), answer.headers)
            }
            Outcome::Origin { release, .. } => (None, http::release_headers(release)),
            Outcome::Answered(answer) => (Some(answer.clone()), answer.headers.clone()),
        };
        Run {
            log,
            answer,
            headers,
        }
    }

    /// `GET path` by `crawler`, signed now for a minute with `headers` and the fields
    /// `covered`, paid with `payment`.
    fn crawl(
        &self,
        crawler: &Crawler,
        path: &str,
        headers: Vec<Header>,
        covered: &[&str],
        payment: Option<&str>,
    ) -> Run {
        self.get(
            path,
            crawler.sign(path, headers, covered, NOW, NOW + 60),
            payment,
        )
    }

    /// The payment the official v2 client makes from `run`'s 402.
    fn payment(&self, run: &Run, nonce: u8) -> String {
        let required = run.offered();
        let networks = Networks::builtin();
        let signer = PaymentSigner::from_bytes(&[0x21; 32]).unwrap();
        let payment = pay_v2(
            &signer,
            &required.accepts[0],
            Some(required.resource),
            &networks,
            NOW,
            Bytes32([nonce; 32]),
        );
        payment.unwrap().to_header()
    }
}

#[test]
fn a_browser_is_served_free_where_browsers_are() {
    let w = World::new();
    let run = w.get("/articles/1", browser(), None);
    assert_eq!(run.outcome(), "free", "{:?}", run.log);
    assert_eq!(run.log.client.as_deref(), Some("browser"));
    assert_eq!(w.o.calls(), 1);
    // Bots pay for it: a shared cache must not keep the browser's copy.
    assert_eq!(run.header("Cache-Control"), Some("private, no-store"));
    // The same browser pays where the route does not tell clients apart.
    let run = w.get("/plain/1", browser(), None);
    assert_eq!(run.status(), 402);
    assert_eq!(run.header("crawler-price"), None);
    assert_eq!(run.log.client, None, "no clients, no identification");
    // A free route's answer is the origin's own.
    let run = w.get("/free/1", bot(), None);
    assert_eq!((run.outcome(), run.header("Cache-Control")), ("free", None));
}

#[test]
fn an_unsigned_bot_pays_its_own_price_and_is_told_it_in_pay_per_crawl_terms() {
    let w = World::new();
    let run = w.get("/articles/1", bot(), None);
    assert_eq!(run.status(), 402);
    assert_eq!(run.header("crawler-price"), Some("USD 0.05"));
    assert_eq!(run.offered().accepts[0].amount.to_string(), "50000");
    w.f.will_settle(Ok(settled()));
    let payment = w.payment(&run, 1);
    let paid = w.get("/articles/1", bot(), Some(&payment));
    assert_eq!(paid.outcome(), "paid", "{:?}", paid.log);
    assert_eq!(paid.header("crawler-charged"), Some("USD 0.05"));
    // The log line says who paid.
    let line = paid.log.line("GET", "/articles/1");
    assert_eq!(
        (line["client"].as_str(), line.get("agent")),
        (Some("unsigned_bot"), None)
    );
    // Its retry is served from the receipt: nothing charged now, so no crawler-charged.
    let again = w.get("/articles/1", bot(), Some(&payment));
    assert_eq!(again.outcome(), "receipt");
    assert_eq!(again.header("crawler-charged"), None);
    assert!(
        w.d.fetched.borrow().is_empty(),
        "no signature, no directory"
    );
}

#[test]
fn a_verified_agent_pays_the_route_price_and_its_directory_is_fetched_once() {
    let w = World::new();
    let crawler = Crawler::new(1, CRAWLER);
    let signed = || crawler.sign("/articles/1", bot(), &[], NOW - 10, NOW + 60);
    let run = w.get("/articles/1", signed(), None);
    assert_eq!(run.status(), 402);
    assert_eq!(run.header("crawler-price"), Some("USD 0.01"));
    assert_eq!(run.offered().accepts[0].amount.to_string(), "10000");
    let named = (run.log.client.as_deref(), run.log.agent.as_deref());
    assert_eq!(named, (Some("verified_agent"), Some(CRAWLER)));
    w.get("/articles/1", signed(), None);
    assert_eq!(w.d.fetched.borrow().len(), 1, "cached");
    // An agent that looks like a browser is still an agent.
    let mut dressed = browser();
    dressed.extend(bot().into_iter().skip(2));
    let run = w.get(
        "/articles/1",
        crawler.sign("/articles/1", dressed, &[], NOW - 10, NOW + 60),
        None,
    );
    assert_eq!(run.header("crawler-price"), Some("USD 0.01"));
}

#[test]
fn an_agent_stating_an_acceptable_price_with_a_payment_is_served_in_one_round_trip() {
    let w = World::new();
    let crawler = Crawler::new(1, CRAWLER);
    let offer = w.crawl(&crawler, "/articles/1", bot(), &[], None);
    let stated = [
        ("crawler-max-price", "USD 0.02"),
        ("crawler-exact-price", "USD 0.01"),
        ("crawler-max-price", "USD 0.01"),
    ];
    for (nonce, (name, value)) in (1..).zip(stated) {
        w.f.will_settle(Ok(settled()));
        let payment = w.payment(&offer, nonce);
        let mut headers = bot();
        headers.push(header(name, value));
        let run = w.crawl(&crawler, "/articles/1", headers, &[name], Some(&payment));
        assert_eq!(run.outcome(), "paid", "{name}: {value}: {:?}", run.log);
        assert_eq!(run.header("crawler-charged"), Some("USD 0.01"));
    }
}

#[test]
fn price_headers_that_do_not_accept_the_price_are_refused_before_any_charge() {
    let w = World::new();
    let crawler = Crawler::new(1, CRAWLER);
    let offer = w.crawl(&crawler, "/articles/1", bot(), &[], None);
    let payment = w.payment(&offer, 9);
    let cases: [(Headers, u16, &str); 5] = [
        (
            &[("crawler-max-price", "USD 0.009")],
            402,
            "InvalidCrawlerMaxPrice",
        ),
        (
            &[("crawler-exact-price", "USD 0.02")],
            402,
            "InvalidCrawlerExactPrice",
        ),
        (
            &[
                ("crawler-exact-price", "USD 0.01"),
                ("crawler-max-price", "USD 1"),
            ],
            400,
            "ConflictingPriceHeaders",
        ),
        (
            &[("crawler-max-price", "0.01")],
            400,
            "InvalidCrawlerPriceValue",
        ),
        (
            &[
                ("crawler-max-price", "USD 1"),
                ("crawler-max-price", "USD 2"),
            ],
            400,
            "InvalidCrawlerPriceValue",
        ),
    ];
    for (stated, status, error) in cases {
        let mut headers = bot();
        headers.extend(stated.iter().map(|(n, v)| header(n, v)));
        let covered: Vec<&str> = stated.iter().map(|(n, _)| *n).collect();
        let mut covered = covered;
        covered.dedup();
        let run = w.crawl(&crawler, "/articles/1", headers, &covered, Some(&payment));
        assert_eq!(
            (run.status(), run.header("crawler-error")),
            (status, Some(error)),
            "{stated:?}"
        );
        if status == 402 {
            assert_eq!(run.header("crawler-price"), Some("USD 0.01"));
        }
    }
    assert_eq!(w.f.calls("settle") + w.f.calls("verify"), 0);
    assert_eq!(w.o.calls(), 0);
}

#[test]
fn price_headers_the_signature_does_not_cover_are_not_read() {
    let w = World::new();
    let crawler = Crawler::new(1, CRAWLER);
    let offer = w.crawl(&crawler, "/articles/1", bot(), &[], None);
    let payment = w.payment(&offer, 3);
    w.f.will_settle(Ok(settled()));
    let mut headers = bot();
    headers.push(header("crawler-max-price", "USD 0.001"));
    let run = w.crawl(&crawler, "/articles/1", headers, &[], Some(&payment));
    assert_eq!(run.outcome(), "paid", "{:?}", run.log);
    // Nor are an unsigned bot's.
    let mut headers = bot();
    headers.push(header("crawler-max-price", "USD 0.001"));
    let run = w.get("/articles/1", headers, None);
    assert_eq!((run.status(), run.header("crawler-error")), (402, None));
}

#[test]
fn every_bad_signature_counts_as_none_and_gets_the_unsigned_bots_terms() {
    let w = World::new();
    let crawler = Crawler::new(1, CRAWLER);
    let good = || crawler.sign("/articles/1", bot(), &[], NOW - 10, NOW + 60);
    let tampered = {
        let mut headers = crawler.sign("/articles/1", bot(), &["accept"], NOW - 10, NOW + 60);
        headers.retain(|(n, _)| n != "Accept");
        headers.push(header("Accept", "text/plain"));
        headers
    };
    let wrong_path_authority = crawler.sign("/articles/1", bot(), &[], NOW - 10, NOW + 60);
    let bad: Vec<(&str, Vec<Header>, &str)> = vec![
        (
            "expired",
            crawler.sign("/articles/1", bot(), &[], NOW - 120, NOW - 1),
            "/articles/1",
        ),
        (
            "not yet valid",
            crawler.sign("/articles/1", bot(), &[], NOW + 60, NOW + 120),
            "/articles/1",
        ),
        (
            "too long-lived",
            crawler.sign("/articles/1", bot(), &[], NOW - 10, NOW + 3_600),
            "/articles/1",
        ),
        ("a covered header changed", tampered, "/articles/1"),
        (
            "another key",
            Crawler::new(9, CRAWLER).sign("/articles/1", bot(), &[], NOW, NOW + 60),
            "/articles/1",
        ),
        (
            "an agent without a directory",
            Crawler::new(1, "https://nowhere.example").sign(
                "/articles/1",
                bot(),
                &[],
                NOW,
                NOW + 60,
            ),
            "/articles/1",
        ),
        (
            "garbage",
            vec![
                header(
                    "Signature-Input",
                    "sig1=(\"@authority\";tag=\"web-bot-auth\"",
                ),
                header("Signature", "sig1=:AA==:"),
            ],
            "/articles/1",
        ),
        // Signed for one path, sent to another: the authority is covered, the path is not,
        // so this one verifies (the signature is not bound to the path): the agent's terms.
        ("another path", wrong_path_authority, "/articles/2"),
    ];
    for (what, headers, path) in bad {
        if what == "a covered header changed" {
            assert!(
                w.d.fetched.borrow().is_empty(),
                "a signature out of its time costs no fetch"
            );
        }
        let run = w.get(path, headers, None);
        let expected = if what == "another path" {
            "USD 0.01"
        } else {
            "USD 0.05"
        };
        assert_eq!(
            (run.status(), run.header("crawler-price")),
            (402, Some(expected)),
            "{what}: {:?}",
            run.log
        );
    }
    assert_eq!(
        w.get("/articles/1", good(), None).header("crawler-price"),
        Some("USD 0.01")
    );
}

#[test]
fn agents_are_denied_or_allowed_by_their_signature_agent() {
    let w = World::new();
    let denied = Crawler::new(2, DENIED);
    let run = w.get(
        "/articles/1",
        denied.sign("/articles/1", bot(), &[], NOW, NOW + 60),
        None,
    );
    assert_eq!(
        (run.status(), run.header("crawler-error")),
        (403, Some("CrawlerForbidden"))
    );
    assert_eq!(run.log.reason.as_deref(), Some("agent_forbidden"));
    let named = (run.log.client.as_deref(), run.log.agent.as_deref());
    assert_eq!(named, (Some("verified_agent"), Some(DENIED)));
    // Someone claiming to be the denied agent without its key is just a bot.
    let claim = Crawler::new(8, DENIED);
    let run = w.get(
        "/articles/1",
        claim.sign("/articles/1", bot(), &[], NOW, NOW + 60),
        None,
    );
    assert_eq!(run.header("crawler-price"), Some("USD 0.05"));
    let named = (run.log.client.as_deref(), run.log.agent.as_deref());
    assert_eq!(named, (Some("unsigned_bot"), None));
    // /members/* allows CRAWLER only: the allowed agent pays its price; another agent is a
    // bot there (refused), and its keys are not even fetched.
    let fetched = w.d.fetched.borrow().len();
    let run = w.get(
        "/members/1",
        denied.sign("/members/1", bot(), &[], NOW, NOW + 60),
        None,
    );
    assert_eq!(
        (run.status(), run.header("crawler-error")),
        (403, Some("StrongAuthRequired"))
    );
    assert_eq!(w.d.fetched.borrow().len(), fetched);
    let allowed = Crawler::new(1, CRAWLER);
    let run = w.get(
        "/members/1",
        allowed.sign("/members/1", bot(), &[], NOW, NOW + 60),
        None,
    );
    assert_eq!(run.header("crawler-price"), Some("USD 0.002"));
    // Browsers pay the route's price there.
    let run = w.get("/members/1", browser(), None);
    assert_eq!((run.status(), run.header("crawler-price")), (402, None));
    assert_eq!(run.offered().accepts[0].amount.to_string(), "10000");
}

#[test]
fn bot_management_tells_bots_from_browsers_where_the_zone_has_it() {
    let w = World::new();
    w.o.bot_management.set(Some(BotManagement {
        score: Some(5),
        verified_bot: false,
    }));
    assert_eq!(
        w.get("/articles/1", browser(), None)
            .header("crawler-price"),
        Some("USD 0.05")
    );
    w.o.bot_management.set(Some(BotManagement {
        score: Some(90),
        verified_bot: false,
    }));
    assert_eq!(w.get("/articles/1", bot(), None).outcome(), "free");
    w.o.bot_management.set(Some(BotManagement {
        score: Some(90),
        verified_bot: true,
    }));
    assert_eq!(w.get("/articles/1", browser(), None).status(), 402);
    // A zone's verdict without a score: the request's own headers decide.
    w.o.bot_management.set(Some(BotManagement {
        score: None,
        verified_bot: false,
    }));
    assert_eq!(w.get("/articles/1", browser(), None).outcome(), "free");
}

#[test]
fn telling_browsers_by_their_headers_alone_is_warned_of() {
    let warned = |bot_management: bool| {
        let mut config = config();
        config["web_bot_auth"]["bot_management"] = bot_management.into();
        GatewayConfig::from_json(&config).unwrap().warnings()
    };
    let warnings = warned(false);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings
        .iter()
        .all(|w| w.contains("any program can send those headers")));
    assert!(warned(true).is_empty());
}

#[test]
fn the_log_names_the_client_whatever_stops_the_request() {
    // A route priced per request whose pricing service fails: the bot is identified first,
    // then refused for the price; the log line still says who asked.
    let mut config = config();
    let accepts = json!([{"network": "base-sepolia", "pay_to": PAY_TO}]);
    config["routes"].as_array_mut().unwrap().push(json!({
        "match": "GET /priced/*", "price": "dynamic", "accepts": accepts,
        "clients": {"browsers": "free"}
    }));
    let w = World::with(config);
    let run = w.get("/priced/1", bot(), None);
    assert_eq!(
        (run.status(), run.log.reason.as_deref()),
        (502, Some("pricing_unavailable"))
    );
    assert_eq!(run.log.client.as_deref(), Some("unsigned_bot"));
    let run = w.get("/priced/1", browser(), None);
    assert_eq!(
        (run.outcome(), run.log.client.as_deref()),
        ("free", Some("browser"))
    );
}

#[test]
fn clients_are_checked_when_configured() {
    let route = |clients: Value, price: &str| {
        GatewayConfig::from_json(&json!({
            "routes": [{"match": "GET /a", "price": price,
                        "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}], "clients": clients}]
        }))
    };
    assert!(route(
        json!({"browsers": "free", "unsigned_bots": "refuse", "verified_agents": "$0.5"}),
        "$0.01"
    )
    .is_ok());
    for (clients, price, key) in [
        (json!({"bots": "free"}), "$0.01", "bots"),
        (json!({"browsers": "gratis"}), "$0.01", "browsers"),
        (json!({"browsers": "$0"}), "$0.01", "browsers"),
        (
            json!({"verified_agents": "$0.5"}),
            "dynamic",
            "verified_agents",
        ),
        (
            json!({"allow_agents": ["https://a.example/path"]}),
            "$0.01",
            "allow_agents",
        ),
        (
            json!({"deny_agents": ["ftp://a.example"]}),
            "$0.01",
            "deny_agents",
        ),
    ] {
        let error = route(clients.clone(), price).unwrap_err();
        assert!(error.key.contains(key), "{clients}: {error}");
    }
}

#[test]
fn keys_are_fetched_only_from_a_named_hosts_directory_and_agents_are_named_by_origin() {
    let w = World::new();
    // A denied agent writing its origin with the default port is still that agent.
    let mut denied = Crawler::new(2, DENIED);
    denied.agent_field.0 = format!("\"{DENIED}:443\"");
    let run = w.crawl(&denied, "/articles/1", bot(), &[], None);
    assert_eq!(run.header("crawler-error"), Some("CrawlerForbidden"));
    // A `jwks_uri` may name any document: not followed (the agent counts as a bot).
    let mut jwks = Crawler::new(1, CRAWLER);
    jwks.agent_field = (
        format!("sig1=\"{CRAWLER}/keys.json\";type=jwks_uri"),
        "\"signature-agent\";key=\"sig1\"".into(),
    );
    let fetched = w.d.fetched.borrow().len();
    let run = w.crawl(&jwks, "/articles/1", bot(), &[], None);
    assert_eq!(run.header("crawler-price"), Some("USD 0.05"));
    // Nor are IP addresses or loopback hosts, unless `local_agents`.
    for agent in [
        "https://203.0.113.5",
        "https://[2001:db8::1]",
        "http://127.0.0.1:8787",
        "https://localhost",
    ] {
        let run = w.crawl(&Crawler::new(3, agent), "/articles/1", bot(), &[], None);
        assert_eq!(run.header("crawler-price"), Some("USD 0.05"), "{agent}");
    }
    assert_eq!(w.d.fetched.borrow().len(), fetched, "nothing fetched");
    let mut local = config();
    local["web_bot_auth"]["local_agents"] = true.into();
    let w = World::with(local);
    let agent = Crawler::new(4, "http://127.0.0.1:8787");
    w.d.publish(
        &format!("http://127.0.0.1:8787{DIRECTORY_PATH}"),
        &agent.directory(),
    );
    let run = w.crawl(&agent, "/articles/1", bot(), &[], None);
    assert_eq!(run.header("crawler-price"), Some("USD 0.01"));
}
