//! The whole decision flow of the gateway against in-memory fakes of the facilitator, the
//! receipt store and the origin (natively).
#![cfg(not(target_arch = "wasm32"))]

use edge402::evm::signer::PaymentSigner;
use edge402::evm::{Bytes32, ExactEvmPayload, SignatureHex};
use edge402::gate::flow::{handle, FacilitatorError, LogRecord, Outcome, Services};
use edge402::gate::http::{self, Answer};
use edge402::gate::quote::{QuoteKey, QUOTE_FIELD};
use edge402::gate::{Decision, Gate, PaymentPlan, RequestFacts, Secrets};
use edge402::l402::{Identifier, Macaroon, RootKeySecret, WwwAuthenticate};
use edge402::networks::Networks;
use edge402::pay::{pay_v1, pay_v2, sign_exact_evm};
use edge402::protocol::facilitator::{SettleResponse, VerifyResponse};
use edge402::protocol::{decode_header, v1, v2, PaymentPayload, PaymentRequirements, Version};
use edge402::testing::{
    refused_settlement as failed, settled, FakeLightning, FakeOrigin, MemoryAllowances,
    MemoryCoordinator, ScriptedFacilitator, ScriptedPricing,
};
use futures_executor::block_on;
use futures_util::future::join_all;
use serde_json::{json, Value};

const NOW: u64 = 1_750_000_000;
const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
const SEPOLIA_USDC: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
/// How long the fixture's quotes hold.
const QUOTE_VALID_S: u64 = 20;

// ---------------------------------------------------------------------------------------
// Fixtures

fn gate() -> Gate {
    let config = json!({
        "facilitator": {"url": "http://127.0.0.1:9/facilitator"},
        "receipt_ttl_s": 120,
        "routes": [
            {"match": "/health", "free": true},
            {"match": "GET /api/*", "price": "$0.001", "description": "data",
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}, {"network": "eip155:8453", "pay_to": PAY_TO}]},
            {"match": "POST /submit", "price": "$0.01", "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]},
            {"match": "/reports/:id", "price": "1000", "settle": "parallel",
             "accepts": [{"network": "eip155:84532", "pay_to": PAY_TO}]},
            {"match": "GET /ln/*", "l402": {"price_sats": 10, "service": "weather", "valid_for_s": 600}},
            {"match": "GET /both/*", "price": "$0.001", "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}],
             "l402": {"price_sats": 5, "service": "both", "capabilities": ["read"]}},
            {"match": "GET /metered/*", "l402": {"price_sats": 1, "service": "metered", "max_requests": 2}},
            {"match": "/priced/*", "price": "dynamic",
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}, {"network": "eip155:8453", "pay_to": PAY_TO}]}
        ],
        "lightning": {"url": "http://127.0.0.1:9/lnd"},
        "pricing": {"quote_valid_s": QUOTE_VALID_S}
    });
    let secrets = Secrets {
        l402_root: Some(RootKeySecret::new(&[0x42; 32]).unwrap()),
        quote_key: Some(QuoteKey::new(&[0x51; 32]).unwrap()),
        offer_signer: None,
    };
    Gate::from_json(&config, secrets).unwrap()
}

fn signer() -> PaymentSigner {
    PaymentSigner::from_bytes(&[0x21; 32]).unwrap()
}

/// The offered v2 requirement of `GET /api/*` on Base Sepolia, as the 402 shows it.
fn offered(amount: u64) -> v2::PaymentRequirements {
    v2::PaymentRequirements {
        scheme: "exact".into(),
        network: "eip155:84532".into(),
        amount: amount.into(),
        asset: SEPOLIA_USDC.into(),
        pay_to: PAY_TO.into(),
        max_timeout_seconds: 60,
        extra: Some(json!({"name": "USDC", "version": "2"})),
    }
}

fn v2_header(requirement: &v2::PaymentRequirements, nonce: u8) -> String {
    pay_v2(
        &signer(),
        requirement,
        None,
        &Networks::builtin(),
        NOW,
        Bytes32([nonce; 32]),
    )
    .unwrap()
    .to_header()
}

/// A v2 payment of `GET /api/weather` whose `resource.url` is `url`.
fn v2_header_for(url: Option<&str>, nonce: u8) -> String {
    let resource = url.map(|url| v2::ResourceInfo {
        url: url.into(),
        ..v2::ResourceInfo::default()
    });
    let networks = Networks::builtin();
    pay_v2(
        &signer(),
        &offered(1_000),
        resource,
        &networks,
        NOW,
        Bytes32([nonce; 32]),
    )
    .unwrap()
    .to_header()
}

/// A v1 payment of `requirement` that names its network `network`.
fn v1_header_on(requirement: &v2::PaymentRequirements, network: &str, nonce: u8) -> String {
    let v1_req = requirement.to_v1(network, &v2::ResourceInfo::default());
    pay_v1(
        &signer(),
        &v1_req,
        &Networks::builtin(),
        NOW,
        Bytes32([nonce; 32]),
    )
    .unwrap()
    .to_header()
}

/// A good payment's JSON with `from` in mixed case that is not its checksum.
fn with_bad_checksum_payer() -> Value {
    let header = v2_header(&offered(1_000), 45);
    let mut json = serde_json::to_value(PaymentPayload::from_header(&header).unwrap()).unwrap();
    let from = json["payload"]["authorization"]["from"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every letter's case flipped: the checksum's mixed case, inverted.
    let flip = |c: char| match c.is_ascii_uppercase() {
        true => c.to_ascii_lowercase(),
        false => c.to_ascii_uppercase(),
    };
    let flipped = format!("0x{}", from[2..].chars().map(flip).collect::<String>());
    json["payload"]["authorization"]["from"] = flipped.into();
    json
}

fn v1_header(requirement: &v2::PaymentRequirements, nonce: u8) -> String {
    v1_header_on(requirement, "base-sepolia", nonce)
}

/// A v2 header whose authorisation was edited by `edit` and re-signed (so only the edited
/// field is wrong), or not re-signed.
fn edited_header(edit: impl Fn(&mut ExactEvmPayload), resign: bool) -> String {
    let networks = Networks::builtin();
    let requirement = offered(1_000);
    let mut exact =
        sign_exact_evm(&signer(), &requirement, &networks, NOW, Bytes32([9; 32])).unwrap();
    edit(&mut exact);
    if resign {
        let terms = edge402::terms::ExactEvmTerms::resolve(&requirement, &networks).unwrap();
        let signature = signer().sign_authorization(&exact.authorization, &terms.domain);
        exact.signature = SignatureHex(signature.to_rsv().to_vec());
    }
    PaymentPayload::V2(v2::PaymentPayload {
        x402_version: Version,
        resource: None,
        accepted: requirement,
        payload: serde_json::to_value(&exact).unwrap(),
        extensions: None,
    })
    .to_header()
}

/// A good payment whose signature was replaced by its malleated twin (s -> n - s, v flipped):
/// it recovers to the payer, but EIP-2 and the token contract refuse it.
fn high_s_header() -> String {
    let PaymentPayload::V2(mut payment) =
        PaymentPayload::from_header(&edited_header(|_| {}, false)).unwrap()
    else {
        unreachable!("edited_header builds v2 payments")
    };
    let mut exact: ExactEvmPayload = serde_json::from_value(payment.payload.clone()).unwrap();
    let low = k256::ecdsa::Signature::from_slice(&exact.signature.0[..64]).unwrap();
    let (r, s) = low.split_scalars();
    let high = k256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    let mut bytes = high.to_bytes().to_vec();
    bytes.push(if exact.signature.0[64] == 27 { 28 } else { 27 });
    exact.signature = SignatureHex(bytes);
    payment.payload = serde_json::to_value(&exact).unwrap();
    PaymentPayload::V2(payment).to_header()
}

struct Run {
    outcome: Outcome<(u16, String)>,
    log: LogRecord,
    /// The HTTP answer of a refusal (or preflight), rendered as the Worker renders it.
    answer: Option<Answer>,
    /// The headers of the answer, or those added to the origin's content.
    headers: Vec<(&'static str, String)>,
}

impl Run {
    fn new(outcome: Outcome<(u16, String)>, log: LogRecord, gate: &Gate) -> Self {
        let answer = match &outcome {
            Outcome::Refused(refused) => Some(http::answer(refused, &gate.config().networks)),
            Outcome::Answered(answer) => Some(answer.clone()),
            Outcome::Origin { .. } => None,
        };
        let headers = match (&outcome, &answer) {
            (Outcome::Origin { release, .. }, _) => http::release_headers(release),
            (_, Some(answer)) => answer.headers.clone(),
            (_, None) => Vec::new(),
        };
        Self {
            outcome,
            log,
            answer,
            headers,
        }
    }
    fn answer(&self) -> &Answer {
        match &self.answer {
            Some(answer) => answer,
            None => panic!("expected an answer, got origin content ({:?})", self.log),
        }
    }
    fn served(&self) -> (&(u16, String), &[(&'static str, String)]) {
        match &self.outcome {
            Outcome::Origin { response, .. } => (response, &self.headers),
            _ => panic!(
                "expected content, got {} {:?}",
                self.log.status, self.log.reason
            ),
        }
    }
    fn status(&self) -> u16 {
        match &self.outcome {
            Outcome::Origin { response, .. } => response.0,
            _ => self.answer().status,
        }
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn reason(&self) -> Option<&str> {
        self.log.reason.as_deref()
    }
}

fn request<'a>(
    method: &'a str,
    path: &'a str,
    v2: Option<&'a str>,
    v1: Option<&'a str>,
) -> RequestFacts<'a> {
    RequestFacts {
        method,
        path,
        base_url: "https://edge.example",
        payment_signature: v2,
        x_payment: v1,
        ..RequestFacts::default()
    }
}

/// The gate with its services, all in memory.
struct World {
    gate: Gate,
    f: ScriptedFacilitator,
    /// The coordinator, with the receipt store it writes to (`c.store`) and its chain.
    c: MemoryCoordinator,
    o: FakeOrigin,
    ln: FakeLightning,
    al: MemoryAllowances,
    /// Prices of `/priced/*` (`$0.002` unless a test sets another).
    p: ScriptedPricing,
}

impl World {
    fn new(f: ScriptedFacilitator, o: FakeOrigin) -> Self {
        Self {
            gate: gate(),
            f,
            c: MemoryCoordinator::new(120),
            o,
            ln: FakeLightning::default(),
            al: MemoryAllowances::default(),
            p: ScriptedPricing::charging("$0.002"),
        }
    }

    /// Handles one request at `NOW`.
    fn send(&self, facts: &RequestFacts<'_>) -> Run {
        self.send_at(facts, NOW)
    }

    fn send_at(&self, facts: &RequestFacts<'_>, now: u64) -> Run {
        let (outcome, log) = block_on(self.handle(facts, now));
        Run::new(outcome, log, &self.gate)
    }

    /// `copies` copies of one request at once, on one executor.
    fn send_together(&self, facts: &RequestFacts<'_>, copies: usize) -> Vec<Run> {
        let all = join_all((0..copies).map(|_| self.handle(facts, NOW)));
        block_on(all)
            .into_iter()
            .map(|(outcome, log)| Run::new(outcome, log, &self.gate))
            .collect()
    }

    async fn handle(
        &self,
        facts: &RequestFacts<'_>,
        now: u64,
    ) -> (Outcome<(u16, String)>, LogRecord) {
        let services = Services {
            facilitator: &self.f,
            store: &self.c.store,
            origin: &self.o,
            invoices: &self.ln,
            coordinator: &self.c,
            allowances: &self.al,
            chain: &self.c.chain,
            pricing: &self.p,
            directories: &(),
        };
        handle(&self.gate, facts, now, services).await
    }

    /// The gate's payment plan for a `GET /api/weather` paid with `header`.
    fn decide_plan(&self, header: &str) -> Box<PaymentPlan> {
        match self
            .gate
            .decide(&request("GET", "/api/weather", Some(header), None), NOW)
        {
            Decision::Pay(plan) => plan,
            _ => panic!("not a payment"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn free_paths_pass_through_and_preflight_is_never_charged() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let r = w.send(&request("GET", "/health", None, None));
    assert_eq!(r.served().0 .1, "content of /health");
    let r = w.send(&request("GET", "/unpriced//x/../y", None, None));
    assert_eq!(
        r.served().0 .1,
        "content of /unpriced/y",
        "the origin receives the canonical path"
    );
    let preflight = RequestFacts {
        preflight: true,
        ..request("OPTIONS", "/api/x", None, None)
    };
    let r = w.send(&preflight);
    assert_eq!(r.status(), 204);
    assert!(r
        .header("Access-Control-Allow-Headers")
        .unwrap()
        .contains("PAYMENT-SIGNATURE"));
    assert_eq!((w.o.calls(), w.f.calls.borrow().len()), (2, 0));
    // A preflight on a free or unrouted path is the origin's to answer, with its own policy.
    for path in ["/health", "/unpriced/x"] {
        let free_preflight = RequestFacts {
            preflight: true,
            ..request("OPTIONS", path, None, None)
        };
        assert_eq!(
            w.send(&free_preflight).served().0 .1,
            format!("content of {path}")
        );
    }
    assert_eq!((w.o.calls(), w.f.calls.borrow().len()), (4, 0));
}

#[test]
fn a_paid_path_without_payment_gets_a_challenge_both_versions_read() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let r = w.send(&request("GET", "/api/weather", None, None));
    let answer = r.answer();
    assert_eq!(answer.status, 402);
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert!(r
        .header("Access-Control-Expose-Headers")
        .unwrap()
        .contains("PAYMENT-REQUIRED"));
    let v2: v2::PaymentRequired = decode_header(r.header("PAYMENT-REQUIRED").unwrap()).unwrap();
    assert_eq!(
        v2.accepts,
        vec![
            offered(1_000),
            v2::PaymentRequirements {
                network: "eip155:8453".into(),
                asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913".into(),
                extra: Some(json!({"name": "USD Coin", "version": "2"})),
                ..offered(1_000)
            }
        ]
    );
    assert_eq!(v2.resource.url, "https://edge.example/api/weather");
    assert_eq!(v2.error.as_deref(), Some("payment_required"));
    let v1: v1::PaymentRequired = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(v1.accepts.len(), 2);
    assert_eq!(v1.accepts[0].network, "base-sepolia");
    assert_eq!(v1.accepts[1].network, "base");
    assert_eq!(v1.accepts[0].max_amount_required, 1_000u64.into());
    assert_eq!(v1.accepts[0].resource, "https://edge.example/api/weather");
    assert_eq!(
        (
            w.o.calls(),
            w.f.calls.borrow().len(),
            r.log.outcome.as_str()
        ),
        (0, 0, "challenge")
    );
}

#[test]
fn a_good_v2_payment_is_served_after_settlement_and_receipted() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 1);
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    let (response, _) = r.served();
    assert_eq!(response, &(200, "content of /api/weather".to_owned()));
    let settlement = SettleResponse::from_header(r.header("PAYMENT-RESPONSE").unwrap()).unwrap();
    assert!(settlement.success);
    assert!(r.header("X-PAYMENT-RESPONSE").is_none());
    // The facilitator got the v2 requirement and the payment, once.
    let calls = w.f.calls.borrow();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1.x402_version, 2);
    assert_eq!(
        calls[0].1.payment_requirements,
        PaymentRequirements::V2(offered(1_000))
    );
    let receipts = w.c.store.receipts.borrow();
    let (receipt, ttl) = receipts.values().next().unwrap();
    assert_eq!((receipt.resource.as_str(), *ttl), ("GET /api/weather", 120));
    assert_eq!(receipt.payer, signer().address());
    let key = receipts.keys().next().unwrap();
    assert_eq!(
        key,
        &format!(
            "v1:receipt:eip155:84532:{}:0x{}:0x{}",
            SEPOLIA_USDC.to_lowercase(),
            hex::encode(signer().address().0),
            "01".repeat(32)
        )
    );
    assert_eq!(
        (r.log.outcome.as_str(), r.log.transaction.as_deref()),
        ("paid", Some(settlement.transaction.as_str()))
    );
}

#[test]
fn a_good_v1_payment_gets_the_v1_settlement_header() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let header = v1_header(&offered(1_000), 2);
    let r = w.send(&request("GET", "/api/weather", None, Some(&header)));
    assert!(
        SettleResponse::from_header(r.header("X-PAYMENT-RESPONSE").unwrap())
            .unwrap()
            .success
    );
    assert!(r.header("PAYMENT-RESPONSE").is_none());
    let PaymentRequirements::V1(sent) = &w.f.calls.borrow()[0].1.payment_requirements else {
        panic!("v1 payments are settled with v1 requirements")
    };
    assert_eq!(
        (sent.network.as_str(), sent.resource.as_str()),
        ("base-sepolia", "https://edge.example/api/weather")
    );
}

#[test]
fn a_retry_is_served_from_the_receipt_and_another_resource_is_refused() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 3);
    let first = w.send(&request("GET", "/api/weather", Some(&header), None));
    // HEAD is priced (and receipted) like GET; another spelling of the same canonical path is
    // the same resource.
    let again = w.send(&request("HEAD", "/x/..//api//weather", Some(&header), None));
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.header("PAYMENT-RESPONSE"),
        first.header("PAYMENT-RESPONSE")
    );
    assert_eq!(again.log.outcome.as_str(), "receipt");
    // Another path, or the same letters in another case (a case-sensitive origin may serve
    // something else there), is another resource.
    for path in ["/api/other", "/API/weather"] {
        let other = w.send(&request("GET", path, Some(&header), None));
        assert_eq!(
            (other.status(), other.reason()),
            (402, Some("payment_already_used")),
            "{path}"
        );
    }
    assert_eq!(w.f.calls("settle"), 1, "settled once");
    assert_eq!(
        w.o.calls(),
        2,
        "the refused request never reached the origin"
    );
}

#[test]
fn an_expired_payment_with_a_receipt_is_still_served() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 4);
    w.send(&request("GET", "/api/weather", Some(&header), None));
    let later = w.send_at(
        &request("GET", "/api/weather", Some(&header), None),
        NOW + 3_600,
    );
    assert_eq!(later.log.outcome.as_str(), "receipt");
    // Without a receipt the same expired payment is refused for its time window.
    let fresh = v2_header(&offered(1_000), 5);
    let r = w.send_at(
        &request("GET", "/api/weather", Some(&fresh), None),
        NOW + 3_600,
    );
    assert_eq!(
        (r.status(), r.reason()),
        (
            402,
            Some("invalid_exact_evm_payload_authorization_valid_before")
        )
    );
    assert_eq!(w.f.calls("settle"), 1);
}

#[test]
fn an_origin_error_after_origin_passes_through_uncharged() {
    let w = World::new(
        ScriptedFacilitator::default(),
        FakeOrigin {
            status: 503,
            ..FakeOrigin::ok()
        },
    );
    let header = v2_header(&offered(1_000), 6);
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    assert_eq!(r.served().0 .0, 503);
    assert!(r.header("PAYMENT-RESPONSE").is_none());
    assert_eq!(
        (
            w.f.calls("settle"),
            w.c.store.receipts.borrow().len(),
            r.log.outcome.as_str()
        ),
        (0, 0, "origin_error")
    );
}

#[test]
fn before_origin_settles_first_and_a_failed_settlement_never_reaches_the_origin() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    w.f.will_settle(Ok(failed("invalid_exact_evm_insufficient_balance")));
    let header = v2_header(&offered(10_000), 7);
    let r = w.send(&request("POST", "/submit", Some(&header), None));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("invalid_exact_evm_insufficient_balance"))
    );
    let settlement = SettleResponse::from_header(r.header("PAYMENT-RESPONSE").unwrap()).unwrap();
    assert!(!settlement.success);
    assert_eq!((w.o.calls(), w.c.store.receipts.borrow().len()), (0, 0));

    w.f.will_settle(Ok(settled()));
    let header = v2_header(&offered(10_000), 8);
    let r = w.send(&request("POST", "/submit", Some(&header), None));
    assert_eq!(r.served().0 .0, 200);
    assert_eq!(w.o.calls(), 1);
}

#[test]
fn parallel_runs_both_and_releases_only_when_settled() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    w.f.will_settle(Ok(failed("invalid_exact_evm_insufficient_balance")));
    let header = v2_header(&offered(1_000), 10);
    let r = w.send(&request("GET", "/reports/7", Some(&header), None));
    assert_eq!(
        r.status(),
        402,
        "the origin ran but its content is not released"
    );
    assert_eq!(w.o.calls(), 1);
    w.f.will_settle(Ok(settled()));
    let header = v2_header(&offered(1_000), 11);
    let r = w.send(&request("GET", "/reports/7", Some(&header), None));
    assert_eq!(r.served().0 .1, "content of /reports/7");
}

/// Mines the transfer `header`'s payment makes, as a facilitator that went quiet would have.
fn mine_payment(w: &World, header: &str) -> String {
    mine_payment_to(w, header, None)
}

/// Mines `header`'s authorisation paying `to` (its own recipient when `None`).
fn mine_payment_to(w: &World, header: &str, to: Option<edge402::evm::Address>) -> String {
    let r = w.decide_plan(header);
    let to = to.unwrap_or(r.pay_to);
    w.c.chain
        .mine_transfer(r.asset, (r.payer, to), r.amount, r.nonce, &r.signature)
}

#[test]
fn a_settlement_whose_outcome_is_unknown_is_served_once_the_chain_proves_it() {
    let open_errors = [
        (FacilitatorError::Timeout, 504, "facilitator_timeout"),
        (
            FacilitatorError::Unavailable {
                detail: "connection reset after the request was sent".into(),
            },
            502,
            "facilitator_unavailable",
        ),
        (
            FacilitatorError::Malformed {
                detail: "not JSON".into(),
            },
            502,
            "facilitator_unavailable",
        ),
    ];
    for (nonce, (error, status, reason)) in open_errors.into_iter().enumerate() {
        let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
        w.f.will_settle(Err(error));
        let header = v2_header(&offered(1_000), 20 + nonce as u8);
        let get = request("GET", "/api/weather", Some(&header), None);
        let r = w.send(&get);
        assert_eq!((r.status(), r.reason()), (status, Some(reason)));
        assert!(!r.answer().body.contains("content of"));
        assert!(
            r.answer().body.contains("may have settled"),
            "{}",
            r.answer().body
        );
        assert_eq!(r.header("Retry-After"), Some("5"));
        assert_eq!(w.c.store.receipts.borrow().len(), 0);
        assert_eq!(
            r.log.nonce.as_deref(),
            Some(format!("0x{}", hex::encode([20 + nonce as u8; 32])).as_str())
        );
        // Until the chain shows the transfer, a retry is answered as pending, and /settle is
        // never called again.
        let r = w.send(&get);
        assert_eq!((r.status(), r.reason()), (504, Some("settlement_pending")));
        let transaction = mine_payment(&w, &header);
        let r = w.send_at(&get, NOW + 5);
        assert_eq!(r.served().0 .1, "content of /api/weather");
        assert_eq!(r.log.transaction.as_deref(), Some(transaction.as_str()));
        assert_eq!(w.f.calls("settle"), 1);
        assert!(w
            .c
            .store
            .receipts
            .borrow()
            .values()
            .any(|(receipt, _)| receipt.transaction == transaction));
        let r = w.send(&get);
        assert_eq!((r.status(), r.log.outcome.as_str()), (200, "receipt"));
    }
}

#[test]
fn a_settle_request_that_was_never_sent_leaves_the_payment_free_to_settle() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    w.f.will_settle(Err(FacilitatorError::NotSent {
        detail: "connection refused".into(),
    }));
    let header = v2_header(&offered(1_000), 25);
    let get = request("GET", "/api/weather", Some(&header), None);
    let r = w.send(&get);
    assert_eq!(
        (r.status(), r.reason()),
        (502, Some("facilitator_unavailable"))
    );
    assert!(
        r.answer().body.contains("nothing was settled"),
        "{}",
        r.answer().body
    );
    w.f.will_settle(Ok(settled()));
    assert_eq!(w.send(&get).status(), 200);
    assert_eq!(w.f.calls("settle"), 2);
}

#[test]
fn a_response_already_fetched_is_the_one_served_when_the_chain_proves_the_payment() {
    // after-origin: the origin ran, /settle timed out but its transfer was mined.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 26);
    mine_payment(&w, &header);
    w.f.will_settle(Err(FacilitatorError::Timeout));
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    assert_eq!(r.served().0 .1, "content of /api/weather");
    assert_eq!(w.o.calls(), 1, "the origin is fetched once");
}

#[test]
fn nonce_already_used_is_not_proof_the_chain_decides() {
    // Spent by this payment's own transfer: served.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 30);
    mine_payment(&w, &header);
    w.f.will_settle(Ok(failed("invalid_exact_evm_nonce_already_used")));
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    assert_eq!(r.served().0 .1, "content of /api/weather");

    // Spent paying someone else: refused for good, and never settled again.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 31);
    let payer = w.decide_plan(&header).payer;
    mine_payment_to(&w, &header, Some(payer));
    w.f.will_settle(Ok(failed("invalid_exact_evm_nonce_already_used")));
    let get = request("GET", "/api/weather", Some(&header), None);
    let r = w.send(&get);
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("invalid_exact_evm_nonce_already_used"))
    );
    let r = w.send(&get);
    assert_eq!(r.status(), 402);
    assert_eq!(w.f.calls("settle"), 1);

    // Cancelled by the payer: refused.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 32);
    let plan = w.decide_plan(&header);
    w.f.will_settle(Ok(failed("settlement_pending")));
    let get = request("GET", "/api/weather", Some(&header), None);
    assert_eq!(w.send(&get).reason(), Some("settlement_pending"));
    w.c.chain.mine_cancel(plan.asset, plan.payer, plan.nonce);
    assert_eq!(w.send_at(&get, NOW + 3).status(), 402);

    // The same nonce signed again for another payment: the transfer the chain shows carries
    // the other signature, so it proves nothing about this one.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let first = v2_header(&offered(1_000), 41);
    mine_payment(&w, &first);
    let again = edited_header(
        |p| {
            p.authorization.nonce = Bytes32([41; 32]);
            p.authorization.valid_before = (NOW + 50).into();
        },
        true,
    );
    w.f.will_settle(Ok(failed("invalid_exact_evm_nonce_already_used")));
    let r = w.send(&request("GET", "/api/weather", Some(&again), None));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("invalid_exact_evm_nonce_already_used"))
    );
}

#[test]
fn an_unknown_payment_nobody_mined_is_refused_after_its_deadline() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 33);
    let plan = w.decide_plan(&header);
    w.f.will_settle(Err(FacilitatorError::Timeout));
    w.send(&request("GET", "/api/weather", Some(&header), None));
    let key = plan.receipt_key.clone();
    assert_eq!(w.c.state(&key).map(|s| s.name()), Some("unknown"));
    // The object's alarm asks the chain until validBefore and its margin have passed.
    let again = block_on(w.c.alarm(&key, NOW + 20)).expect("checked again later");
    assert!(again > NOW + 20);
    assert_eq!(w.c.state(&key).map(|s| s.name()), Some("unknown"));
    let late = plan.valid_before + edge402::gate::ledger::RECONCILE_MARGIN_S + 1;
    // A node whose latest block is older cannot refuse it yet.
    w.c.chain.time.set(NOW);
    assert!(block_on(w.c.alarm(&key, late)).is_some());
    assert_eq!(w.c.state(&key).map(|s| s.name()), Some("unknown"));
    w.c.chain.time.set(late);
    assert!(
        block_on(w.c.alarm(&key, late + 1)).is_some(),
        "looked at once more"
    );
    assert_eq!(w.c.state(&key).map(|s| s.name()), Some("refused"));
    // Decided and past its deadline: the next look forgets it.
    assert_eq!(block_on(w.c.alarm(&key, late + 2)), None);
    assert_eq!(w.c.state(&key), None);
    // Without a chain to ask, it stays unknown for the operator.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 34);
    w.f.will_settle(Err(FacilitatorError::Timeout));
    w.send(&request("GET", "/api/weather", Some(&header), None));
    w.c.chain.down.set(true);
    let key = w.decide_plan(&header).receipt_key;
    assert!(block_on(w.c.alarm(&key, late)).is_some());
    assert_eq!(w.c.state(&key).map(|s| s.name()), Some("unknown"));
}

#[test]
fn concurrent_copies_of_a_payment_make_one_settle_call() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    w.f.settle_yields.set(3);
    let header = v2_header(&offered(1_000), 35);
    let get = request("GET", "/api/weather", Some(&header), None);
    let runs = w.send_together(&get, 20);
    assert_eq!(w.f.calls("settle"), 1);
    assert!(
        runs.iter().all(|r| r.status() == 200),
        "{:?}",
        runs.iter().map(Run::status).collect::<Vec<_>>()
    );

    // A POST (settled before the origin, never replayed): one origin call, one 200.
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    w.f.settle_yields.set(3);
    let requirement = v2::PaymentRequirements {
        amount: 10_000u64.into(),
        ..offered(10_000)
    };
    let header = v2_header(&requirement, 36);
    let post = request("POST", "/submit", Some(&header), None);
    let runs = w.send_together(&post, 20);
    assert_eq!((w.f.calls("settle"), w.o.calls()), (1, 1));
    let served = runs.iter().filter(|r| r.status() == 200).count();
    assert_eq!(served, 1);
    assert!(runs
        .iter()
        .filter(|r| r.status() != 200)
        .all(|r| r.reason() == Some("payment_already_used")));

    // A refusal is shared too: the copies that waited do not settle again.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    w.f.will_settle(Ok(failed("invalid_exact_evm_insufficient_balance")));
    w.f.settle_yields.set(3);
    let header = v2_header(&offered(1_000), 42);
    let get = request("GET", "/api/weather", Some(&header), None);
    let runs = w.send_together(&get, 20);
    assert_eq!(w.f.calls("settle"), 1);
    assert!(runs
        .iter()
        .all(|r| r.reason() == Some("invalid_exact_evm_insufficient_balance")));
    // The same payment sent again later may be tried again (the buyer may have topped up).
    w.f.will_settle(Ok(settled()));
    assert_eq!(w.send(&get).status(), 200);
}

#[test]
fn a_claim_whose_holder_went_away_makes_the_payment_unknown() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 37);
    let plan = w.decide_plan(&header);
    let record = plan.record(w.gate.config().receipt_ttl_s);
    let lease = w.gate.config().facilitator.claim_lease_s();
    let claim = block_on(edge402::gate::coordinator::Coordinator::claim(
        &w.c,
        &record,
        Some(lease),
        NOW,
    ));
    assert!(matches!(
        claim,
        Ok(edge402::gate::ledger::Claim::Settle { .. })
    ));
    // Past its lease (and past the payment's validBefore): unknown, not refused as expired.
    let get = request("GET", "/api/weather", Some(&header), None);
    let r = w.send_at(&get, NOW + lease);
    assert_eq!((r.status(), r.reason()), (504, Some("settlement_pending")));
    assert_eq!(w.f.calls("settle"), 0);
    // Once the chain shows the transfer, the late retry is served.
    mine_payment(&w, &header);
    let r = w.send_at(&get, NOW + lease + 5);
    assert_eq!(r.status(), 200);
    // An expired payment nobody claimed is refused as expired, and leaves nothing behind.
    let late = v2_header(&offered(1_000), 39);
    let r = w.send_at(
        &request("GET", "/api/weather", Some(&late), None),
        NOW + lease,
    );
    assert_eq!(
        r.reason(),
        Some("invalid_exact_evm_payload_authorization_valid_before")
    );
    assert_eq!(w.c.entries().len(), 1);
}

#[test]
fn without_the_coordinator_nothing_is_settled_or_served() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    w.c.down.set(true);
    let header = v2_header(&offered(1_000), 38);
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    assert_eq!(
        (r.status(), r.reason()),
        (502, Some("coordinator_unavailable"))
    );
    assert_eq!((w.f.calls("settle"), w.o.calls()), (0, 0));
}

/// A smart-wallet payment of the test signer: `fill` makes its signature and nonce (so each
/// fill is another payment); `erc6492` wraps it as a counterfactual wallet's.
fn smart_header(fill: u8, erc6492: bool) -> String {
    edited_header(
        |p| {
            let mut signature = vec![fill; 200];
            if erc6492 {
                signature.extend([0x64, 0x92].repeat(16));
            }
            p.signature = SignatureHex(signature);
            p.authorization.nonce = Bytes32([fill; 32]);
        },
        false,
    )
}

fn verify_answer(valid: bool) -> VerifyResponse {
    VerifyResponse {
        is_valid: valid,
        invalid_reason: (!valid).then(|| "invalid_exact_evm_signature".into()),
        payer: None,
    }
}

#[test]
fn smart_wallet_payments_cost_a_verify_only_when_they_can_be_valid() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let get = |header: &str| w.send(&request("GET", "/api/weather", Some(header), None));
    // The payer has no code, and the signature is no ERC-6492 wrapper: no contract can
    // accept it, and the facilitator is not asked.
    let r = get(&smart_header(1, false));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("smart_wallet_refused"))
    );
    assert!(
        r.header("PAYMENT-REQUIRED").is_some(),
        "the client may pay otherwise"
    );
    assert_eq!(w.f.calls("verify"), 0);
    // A wrapper deploys the wallet as it is checked: the facilitator decides.
    w.f.will_verify(Ok(verify_answer(true)));
    w.f.will_settle(Ok(settled()));
    assert_eq!(get(&smart_header(2, true)).status(), 200);
    assert_eq!((w.f.calls("verify"), w.f.calls("settle")), (1, 1));

    // A deployed wallet: verified first; a refused payment sent again is answered from the
    // remembered refusal.
    let payer = signer().address().to_string().to_ascii_lowercase();
    w.c.chain.contracts.borrow_mut().push(payer);
    w.f.will_verify(Ok(verify_answer(false)));
    for _ in 0..3 {
        let r = get(&smart_header(3, false));
        assert_eq!(
            (r.status(), r.reason()),
            (402, Some("invalid_exact_evm_signature"))
        );
    }
    assert_eq!(w.f.calls("verify"), 2);
    // The chain cannot be asked: the facilitator still decides (the allowance bounds it).
    w.c.chain.down.set(true);
    w.f.will_verify(Ok(verify_answer(true)));
    w.f.will_settle(Ok(settled()));
    let r = get(&smart_header(4, false));
    assert_eq!(r.status(), 200);
    assert!(r
        .log
        .detail
        .unwrap_or_default()
        .contains("payer code not checked"));
    w.c.chain.down.set(false);

    // A client has its allowance of smart-wallet payments per minute (10 by default; four
    // used above, the one refused for having no contract among them: remembered refusals
    // cost none).
    for fill in 10..16 {
        w.f.will_verify(Ok(verify_answer(false)));
        assert_eq!(get(&smart_header(fill, false)).status(), 402);
    }
    assert_eq!(w.f.calls("verify"), 9);
    let r = get(&smart_header(20, false));
    assert_eq!(
        (r.status(), r.reason()),
        (429, Some("too_many_smart_wallet_payments"))
    );
    assert_eq!(r.header("Retry-After"), Some("60"));
    assert_eq!(w.f.calls("verify"), 9);
    // In the next minute (while the payment is still valid) it has a new allowance.
    let next_minute = NOW - NOW % 60 + 60;
    w.f.will_verify(Ok(verify_answer(false)));
    let later = w.send_at(
        &request("GET", "/api/weather", Some(&smart_header(21, false)), None),
        next_minute,
    );
    assert_eq!(later.reason(), Some("invalid_exact_evm_signature"));
    assert_eq!((w.f.calls("verify"), w.o.calls()), (10, 2));

    // Without the allowances' objects nothing reaches the chain or the facilitator.
    w.al.down.set(true);
    let calls = w.c.chain.calls.get();
    let r = get(&smart_header(22, false));
    assert_eq!(
        (r.status(), r.reason()),
        (502, Some("allowance_unavailable"))
    );
    assert_eq!((w.f.calls("verify"), w.c.chain.calls.get()), (10, calls));
}

#[test]
fn smart_wallet_payments_can_be_turned_off() {
    let config = json!({
        "smart_wallets": {"enabled": false},
        "routes": [{"match": "GET /api/*", "price": "$0.001", "description": "data",
                    "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]}]
    });
    let w = World {
        gate: Gate::from_json(&config, Secrets::default()).unwrap(),
        ..World::new(ScriptedFacilitator::default(), FakeOrigin::ok())
    };
    let r = w.send(&request(
        "GET",
        "/api/weather",
        Some(&smart_header(1, true)),
        None,
    ));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("smart_wallet_refused"))
    );
    assert!(r.log.detail.unwrap_or_default().contains("not accepted"));
    assert_eq!((w.f.calls("verify"), w.c.entries().len()), (0, 0));
    // ECDSA payments are unaffected.
    w.f.will_settle(Ok(settled()));
    let header = v2_header(&offered(1_000), 5);
    assert_eq!(
        w.send(&request("GET", "/api/weather", Some(&header), None))
            .status(),
        200
    );
}

#[test]
fn bad_payments_are_refused_without_any_call() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let b64 = |v: Value| edge402::protocol::encode_header(&v);
    let cases: Vec<(String, u16, &str)> = vec![
        ("%%%not base64".into(), 400, "invalid_payload"),
        (b64(json!({"hello": "world"})), 400, "invalid_payload"),
        (
            b64(json!({"x402Version": 2, "accepted": 1})),
            400,
            "invalid_payload",
        ),
        (b64(json!({"x402Version": 7})), 402, "invalid_x402_version"),
        (
            v2_header(
                &v2::PaymentRequirements {
                    network: "eip155:137".into(),
                    ..offered(1_000)
                },
                40,
            ),
            402,
            "invalid_exact_evm_network_mismatch",
        ),
        (
            v2_header(
                &v2::PaymentRequirements {
                    asset: PAY_TO.into(),
                    ..offered(1_000)
                },
                41,
            ),
            402,
            "invalid_payment_requirements",
        ),
        (
            edited_header(|p| p.authorization.to = signer().address(), true),
            402,
            "invalid_exact_evm_recipient_mismatch",
        ),
        (
            edited_header(|p| p.authorization.value = 999u64.into(), true),
            402,
            "invalid_exact_evm_authorization_value",
        ),
        (
            edited_header(|p| p.authorization.value = 1_001u64.into(), true),
            402,
            "invalid_exact_evm_authorization_value",
        ),
        (
            edited_header(|p| p.authorization.valid_before = (NOW + 3).into(), true),
            402,
            "invalid_exact_evm_payload_authorization_valid_before",
        ),
        (
            edited_header(|p| p.authorization.valid_after = (NOW + 60).into(), true),
            402,
            "invalid_exact_evm_payload_authorization_valid_after",
        ),
        (
            edited_header(|p| p.authorization.value = 2_000u64.into(), false),
            402,
            "invalid_exact_evm_signature",
        ),
        (high_s_header(), 402, "invalid_exact_evm_signature"),
        // Another name of the offered chain is not the offered network.
        (
            v2_header(
                &v2::PaymentRequirements {
                    network: "base-sepolia".into(),
                    ..offered(1_000)
                },
                42,
            ),
            402,
            "invalid_exact_evm_network_mismatch",
        ),
        (
            v1_header_on(&offered(1_000), "eip155:84532", 43),
            402,
            "invalid_exact_evm_network_mismatch",
        ),
        // Paid believing it bought another resource.
        (
            v2_header_for(Some("https://edge.example/api/other"), 44),
            402,
            "resource_mismatch",
        ),
        (
            v2_header_for(Some("https://edge.example/api/weather2"), 50),
            402,
            "resource_mismatch",
        ),
        (
            v2_header_for(Some("https://elsewhere.example/api/weather"), 51),
            402,
            "resource_mismatch",
        ),
        // A mixed-case payer that fails its EIP-55 checksum.
        (b64(with_bad_checksum_payer()), 402, "invalid_payload"),
    ];
    for (header, status, reason) in cases {
        let r = w.send(&request("GET", "/api/weather", Some(&header), None));
        assert_eq!((r.status(), r.reason()), (status, Some(reason)), "{header}");
        // A client can recover: the challenge comes with every refusal.
        assert!(r.header("PAYMENT-REQUIRED").is_some());
    }
    assert_eq!(
        (
            w.f.calls.borrow().len(),
            w.o.calls(),
            w.c.store.receipts.borrow().len()
        ),
        (0, 0, 0)
    );
}

#[test]
fn a_payment_for_the_resource_offered_is_served() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    w.f.will_settle(Ok(settled()));
    w.f.will_settle(Ok(settled()));
    let header = v2_header_for(Some("https://edge.example/api/weather"), 46);
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    assert_eq!(r.status(), 200);
    // With the query the client asked with, or with no resource named, it is the same.
    w.f.will_settle(Ok(settled()));
    w.f.will_settle(Ok(settled()));
    for (url, nonce) in [
        (Some("https://edge.example/api/weather?city=Oslo"), 48),
        (None, 49),
    ] {
        let header = v2_header_for(url, nonce);
        let r = w.send(&request("GET", "/api/weather", Some(&header), None));
        assert_eq!(r.status(), 200, "{url:?}");
    }
    // The facilitator gets the gateway's own requirement: for v2 the offer, for v1 its v1
    // form for the resource sold.
    let v1 = v1_header(&offered(1_000), 47);
    let r = w.send(&request("GET", "/api/weather", None, Some(&v1)));
    assert_eq!(r.status(), 200);
    let calls = w.f.calls.borrow();
    let sent: Vec<_> = calls.iter().map(|(_, r)| &r.payment_requirements).collect();
    let resource = v2::ResourceInfo {
        url: "https://edge.example/api/weather".into(),
        description: Some("data".into()),
        mime_type: Some("application/json".into()),
    };
    let v2_offer = PaymentRequirements::V2(offered(1_000));
    let v1_offer = PaymentRequirements::V1(offered(1_000).to_v1("base-sepolia", &resource));
    assert_eq!(sent, [&v2_offer, &v2_offer, &v2_offer, &v1_offer]);
}

#[test]
fn method_override_headers_are_refused_when_the_configuration_says_so() {
    let config = |policy: &str| {
        json!({
            "origin": {"url": "https://origin.example", "method_override": policy},
            "routes": [{"match": "/health", "free": true}]
        })
    };
    let overridden = RequestFacts {
        method_override: Some("X-HTTP-Method-Override"),
        ..request("POST", "/health", None, None)
    };
    let strict = World {
        gate: Gate::from_json(&config("refuse"), Secrets::default()).unwrap(),
        ..World::new(ScriptedFacilitator::default(), FakeOrigin::ok())
    };
    let r = strict.send(&overridden);
    assert_eq!(
        (r.status(), r.reason()),
        (400, Some("method_override_refused"))
    );
    assert_eq!(strict.o.calls(), 0);
    // Stripping (the default) forwards the request; the proxy drops the header.
    let lenient = World {
        gate: Gate::from_json(&config("strip"), Secrets::default()).unwrap(),
        ..World::new(ScriptedFacilitator::default(), FakeOrigin::ok())
    };
    assert_eq!(lenient.send(&overridden).status(), 200);
}

#[test]
fn no_spelling_of_a_paid_path_gets_content_unpaid() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    for path in [
        "/api/x",
        "/API/x",
        "/Api/X",
        "/%61pi/x",
        "/%41PI/x",
        "//api/x",
        "/api//x",
        "/z/../api/x",
        "/./api/x",
        "/api",
        "/api/",
        "/api/%2e%2e/api/x",
    ] {
        let r = w.send(&request("GET", path, None, None));
        assert_eq!(r.status(), 402, "{path}");
    }
    for path in [
        "/api%2Fx",
        "/api%2fx",
        "/api%5Cx",
        "/api%00",
        "/api/%zz",
        "/api\\x",
        "/api;x/y",
        "/api/y;s=1",
    ] {
        let r = w.send(&request("GET", path, None, None));
        assert_eq!(
            (r.status(), r.reason()),
            (400, Some("invalid_path")),
            "{path}"
        );
    }
    // The path is paid for GET; other methods on it are refused, never forwarded.
    let r = w.send(&request("DELETE", "/api/x", None, None));
    assert_eq!((r.status(), r.header("Allow")), (405, Some("GET")));
    assert_eq!(w.send(&request("HEAD", "/api/x", None, None)).status(), 402);
    assert_eq!(w.o.calls(), 0);
}

#[test]
fn long_facilitator_reasons_are_logged_not_passed_on() {
    // A reason that is not a known pre-broadcast code may follow a transaction: the payment's
    // outcome is left to the chain, and the text goes to the log only.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let long = format!(
        "ContractFunctionExecutionError: The contract function reverted.\nDetails: transfer amount exceeds balance{}",
        " padding".repeat(100)
    );
    w.f.will_settle(Ok(failed(&long)));
    let header = v2_header(&offered(1_000), 50);
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    assert_eq!((r.status(), r.reason()), (504, Some("settlement_pending")));
    assert!(!r.answer().body.contains("exceeds balance"));
    let detail = r.log.detail.as_deref().unwrap();
    assert!(
        detail.contains("exceeds balance") && detail.len() < 600,
        "{detail}"
    );
    assert_eq!(r.header("PAYMENT-RESPONSE"), None);
    // A short code unknown here is treated alike; a known pre-broadcast one is a 402.
    w.f.will_settle(Ok(failed("some_future_code")));
    let other = v2_header(&offered(1_000), 51);
    let r = w.send(&request("GET", "/api/weather", Some(&other), None));
    assert_eq!(r.reason(), Some("settlement_pending"));
}

#[test]
fn an_unreachable_origin_is_a_502() {
    let w = World::new(
        ScriptedFacilitator::default(),
        FakeOrigin {
            reachable: false,
            ..FakeOrigin::ok()
        },
    );
    let header = v2_header(&offered(1_000), 60);
    let r = w.send(&request("GET", "/api/weather", Some(&header), None));
    assert_eq!((r.status(), r.reason()), (502, Some("origin_unavailable")));
    assert_eq!(w.f.calls("settle"), 0);
}

// ---------------------------------------------------------------------------------------
// L402

/// The macaroon of the first `WWW-Authenticate` value, after checking both values' order.
fn l402_challenge(r: &Run) -> Macaroon {
    let values: Vec<&str> = match &r.outcome {
        Outcome::Refused(_) => r
            .headers
            .iter()
            .filter(|(n, _)| *n == "WWW-Authenticate")
            .map(|(_, v)| v.as_str())
            .collect(),
        _ => panic!("expected a challenge"),
    };
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(
        values[0].starts_with("LSAT macaroon=\"") && values[1].starts_with("L402 macaroon=\""),
        "{values:?}"
    );
    assert!(values[0].contains("invoice=\"lnbcrt"));
    WwwAuthenticate::from_header(values[1]).unwrap().macaroon
}

/// `Authorization` for a challenge's macaroon, paid with the stand-in's preimage.
fn l402_credential(w: &World, macaroon: &Macaroon) -> String {
    let id = Identifier::from_bytes(macaroon.identifier()).unwrap();
    let preimage =
        w.ln.preimages
            .borrow()
            .iter()
            .copied()
            .find(|p| p.payment_hash() == id.payment_hash)
            .unwrap();
    format!("L402 {}:{}", macaroon.to_base64(), preimage.to_hex())
}

fn with_authorization<'a>(path: &'a str, authorization: &'a str) -> RequestFacts<'a> {
    RequestFacts {
        authorization: Some(authorization),
        ..request("GET", path, None, None)
    }
}

#[test]
fn an_l402_route_challenges_with_an_invoice_and_serves_the_paid_credential() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let r = w.send(&request("GET", "/ln/forecast", None, None));
    assert_eq!((r.status(), r.reason()), (402, Some("payment_required")));
    assert!(
        r.header("PAYMENT-REQUIRED").is_none(),
        "an L402-only route offers no x402"
    );
    assert!(r
        .header("Access-Control-Expose-Headers")
        .unwrap()
        .contains("WWW-Authenticate"));
    let macaroon = l402_challenge(&r);
    let credential = l402_credential(&w, &macaroon);
    let served = w.send(&with_authorization("/ln/forecast", &credential));
    assert_eq!(
        (served.served().0 .1.as_str(), served.log.outcome.as_str()),
        ("content of /ln/forecast", "l402")
    );
    // Reusable until it expires (the protocol's design), for any path of the same service.
    assert_eq!(
        w.send(&with_authorization("/ln/other", &credential))
            .status(),
        200
    );
    assert_eq!(
        w.send(&with_authorization(
            "/LN/other",
            &credential.replacen("L402", "LSAT", 1)
        ))
        .status(),
        200
    );
    assert_eq!(
        w.send_at(&with_authorization("/ln/forecast", &credential), NOW + 600)
            .reason(),
        Some("invalid_l402_credential")
    );
    assert_eq!(w.f.calls.borrow().len(), 0, "no facilitator in L402");
}

#[test]
fn bad_l402_credentials_get_a_fresh_challenge() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let macaroon = l402_challenge(&w.send(&request("GET", "/ln/x", None, None)));
    let good = l402_credential(&w, &macaroon);
    let (token, preimage) = good.rsplit_once(':').unwrap();
    let wrong_preimage = format!("{token}:{}", "00".repeat(32));
    let mut tampered = macaroon.clone();
    tampered.add_first_party_caveat("weather_valid_until=99999999999".to_owned());
    let widened = format!("L402 {}:{preimage}", tampered.to_base64());
    let other_service = {
        let both = l402_challenge(&w.send(&request("GET", "/both/x", None, None)));
        l402_credential(&w, &both)
    };
    for credential in [
        wrong_preimage,
        widened,
        other_service,
        "L402 garbage".to_owned(),
        format!("{good}, L402 {}:{preimage}", "AgE"),
    ] {
        let r = w.send(&with_authorization("/ln/x", &credential));
        assert_eq!(
            (r.status(), r.reason()),
            (402, Some("invalid_l402_credential")),
            "{credential}"
        );
        l402_challenge(&r);
        assert!(r.log.detail.is_some());
    }
    // A revoked token is refused too.
    let id = Identifier::from_bytes(macaroon.identifier()).unwrap();
    w.c.store.revoked.borrow_mut().push(id.token_id);
    assert_eq!(
        w.send(&with_authorization("/ln/x", &good)).reason(),
        Some("invalid_l402_credential")
    );
    assert_eq!(w.o.calls(), 0);
}

#[test]
fn a_route_selling_both_serves_a_client_of_each_and_survives_lightning_going_down() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let r = w.send(&request("GET", "/both/x", None, None));
    assert!(r.header("PAYMENT-REQUIRED").is_some());
    let credential = l402_credential(&w, &l402_challenge(&r));
    assert_eq!(
        w.send(&with_authorization("/both/x", &credential)).status(),
        200
    );
    let header = v2_header(&offered(1_000), 70);
    let paid = w.send(&request("GET", "/both/x", Some(&header), None));
    assert_eq!((paid.status(), paid.log.outcome.as_str()), (200, "paid"));

    w.ln.down.set(true);
    // The client that asked before is sent the same invoice again; another gets none.
    let again = w.send(&request("GET", "/both/x", None, None));
    assert_eq!(
        l402_challenge(&again).identifier(),
        l402_challenge(&r).identifier()
    );
    let r = w.send(&RequestFacts {
        client: Some("198.51.100.7"),
        ..request("GET", "/both/x", None, None)
    });
    assert_eq!(
        (r.status(), r.log.outcome.as_str()),
        (402, "challenge_x402_only")
    );
    assert!(r.header("PAYMENT-REQUIRED").is_some() && r.header("WWW-Authenticate").is_none());
    let r = w.send(&request("GET", "/ln/x", None, None));
    assert_eq!(
        (r.status(), r.reason()),
        (502, Some("lightning_unavailable"))
    );

    // Without the allowances no invoice is made: the x402 challenge alone where it is sold.
    w.ln.down.set(false);
    w.al.down.set(true);
    let issued = w.ln.preimages.borrow().len();
    let fresh = |path| RequestFacts {
        client: Some("198.51.100.8"),
        ..request("GET", path, None, None)
    };
    let r = w.send(&fresh("/ln/x"));
    assert_eq!(
        (r.status(), r.reason()),
        (502, Some("allowance_unavailable"))
    );
    let r = w.send(&fresh("/both/x"));
    assert_eq!(
        (r.status(), r.log.outcome.as_str()),
        (402, "challenge_x402_only")
    );
    assert_eq!(
        w.ln.preimages.borrow().len(),
        issued,
        "no invoice without the allowances"
    );
}

#[test]
fn a_token_budget_allows_its_requests_and_then_challenges_again() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let credential = l402_credential(
        &w,
        &l402_challenge(&w.send(&request("GET", "/metered/a", None, None))),
    );
    for _ in 0..2 {
        assert_eq!(
            w.send(&with_authorization("/metered/a", &credential))
                .status(),
            200
        );
    }
    let r = w.send(&with_authorization("/metered/a", &credential));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("l402_budget_exhausted"))
    );
    l402_challenge(&r);
    assert_eq!(w.o.calls(), 2);
}

#[test]
fn a_receipt_serves_only_the_same_payment_query_and_a_safe_method() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 80);
    assert_eq!(
        w.send(&RequestFacts {
            query: Some("q=a"),
            ..request("GET", "/api/search", Some(&header), None)
        })
        .status(),
        200
    );
    let again = w.send(&RequestFacts {
        query: Some("q=a"),
        ..request("GET", "/api/search", Some(&header), None)
    });
    assert_eq!(
        (again.status(), again.log.outcome.as_str()),
        (200, "receipt")
    );
    let other_query = w.send(&RequestFacts {
        query: Some("q=b"),
        ..request("GET", "/api/search", Some(&header), None)
    });
    assert_eq!(other_query.reason(), Some("payment_already_used"));

    // The same payer and nonce with another (smart-wallet-sized, unverifiable here) signature
    // is not the payment the receipt was written for.
    let payment = PaymentPayload::from_header(&header).unwrap();
    let mut exact: ExactEvmPayload = serde_json::from_value(payment.payload().clone()).unwrap();
    exact.signature = SignatureHex(vec![0; 66]);
    let PaymentPayload::V2(mut forged) = payment else {
        unreachable!("a v2 payment")
    };
    forged.payload = serde_json::to_value(&exact).unwrap();
    let forged = PaymentPayload::V2(forged).to_header();
    let r = w.send(&RequestFacts {
        query: Some("q=a"),
        ..request("GET", "/api/search", Some(&forged), None)
    });
    assert_eq!(r.reason(), Some("payment_already_used"));

    // A paid POST is not served again from its receipt: the next body may differ.
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let post = v2_header(&offered(10_000), 81);
    assert_eq!(
        w.send(&request("POST", "/submit", Some(&post), None))
            .status(),
        200
    );
    let retry = w.send(&request("POST", "/submit", Some(&post), None));
    assert_eq!(retry.reason(), Some("payment_already_used"));
    assert_eq!((w.f.calls("settle"), w.o.calls()), (1, 1));
}

#[test]
fn a_success_about_another_payment_is_not_believed() {
    let answers = [
        SettleResponse {
            payer: Some(PAY_TO.into()),
            ..settled()
        },
        SettleResponse {
            network: "eip155:8453".into(),
            ..settled()
        },
        SettleResponse {
            transaction: String::new(),
            ..settled()
        },
    ];
    for (nonce, answer) in answers.into_iter().enumerate() {
        let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
        w.f.will_settle(Ok(answer));
        let header = v2_header(&offered(1_000), 90 + nonce as u8);
        let r = w.send(&request("GET", "/api/weather", Some(&header), None));
        assert_eq!(
            (r.status(), r.reason()),
            (502, Some("facilitator_unavailable"))
        );
        assert_eq!(w.c.store.receipts.borrow().len(), 0);
    }
    // The payer in any letter case, and the network in either spelling, are the same.
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let payer = signer().address().to_string().to_lowercase();
    w.f.will_settle(Ok(SettleResponse {
        payer: Some(payer),
        network: "base-sepolia".into(),
        ..settled()
    }));
    let header = v2_header(&offered(1_000), 95);
    assert_eq!(
        w.send(&request("GET", "/api/weather", Some(&header), None))
            .status(),
        200
    );
}

#[test]
fn a_settled_payment_serves_retries_for_its_receipt_ttl_only_then_is_forgotten() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let header = v2_header(&offered(1_000), 40);
    let get = request("GET", "/api/weather", Some(&header), None);
    assert_eq!(w.send(&get).status(), 200);
    // KV forgets the receipt (its TTL); the coordinator still serves the retry, once expired
    // too.
    w.c.store.receipts.borrow_mut().clear();
    let r = w.send_at(&get, NOW + 100);
    assert_eq!((r.status(), r.log.outcome.as_str()), (200, "receipt"));
    let ttl = w.gate.config().receipt_ttl_s;
    let r = w.send_at(&get, NOW + ttl);
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("payment_already_used")),
        "{:?}",
        r.log
    );
    assert_eq!(w.f.calls("settle"), 1);
    // The alarm forgets it once it can neither be settled nor served; a request with it is
    // then refused as expired.
    let key = w.decide_plan(&header).receipt_key;
    let forget = block_on(w.c.alarm(&key, NOW + ttl)).expect("a time to forget it");
    assert_eq!(block_on(w.c.alarm(&key, forget)), None);
    assert!(w.c.entries().is_empty());
    let r = w.send_at(&get, forget);
    assert_eq!(
        r.reason(),
        Some("invalid_exact_evm_payload_authorization_valid_before")
    );
}

// ---------------------------------------------------------------------------------------
// Prices decided per request, and their quotes

/// The v2 challenge of an answer.
fn challenge_of(r: &Run) -> v2::PaymentRequired {
    decode_header(r.header("PAYMENT-REQUIRED").expect("a challenge")).unwrap()
}

/// A v2 payment of the first way a challenge offers, as the official client makes it (it
/// echoes the requirement, `extra` and its quote included).
fn pay_first(challenge: &v2::PaymentRequired, nonce: u8) -> String {
    let resource = Some(challenge.resource.clone());
    let networks = Networks::builtin();
    let payment = pay_v2(
        &signer(),
        &challenge.accepts[0],
        resource,
        &networks,
        NOW,
        Bytes32([nonce; 32]),
    );
    payment.unwrap().to_header()
}

#[test]
fn a_dynamic_route_asks_its_price_and_quotes_it_in_every_way_to_pay() {
    let w = World::new(ScriptedFacilitator::default(), FakeOrigin::ok());
    let r = w.send(&RequestFacts {
        query: Some("size=big"),
        ..request("GET", "/priced//report", None, None)
    });
    assert_eq!((r.status(), r.reason()), (402, Some("payment_required")));
    let asked = w.p.asked.borrow().clone();
    assert_eq!(asked.len(), 1);
    let ask = &asked[0];
    assert_eq!(
        (
            ask.route.as_str(),
            ask.method.as_str(),
            ask.path.as_str(),
            ask.query.as_deref()
        ),
        ("/priced/*", "GET", "/priced/report", Some("size=big"))
    );
    let offered = challenge_of(&r);
    assert_eq!(offered.accepts.len(), 2);
    for way in &offered.accepts {
        assert_eq!(way.amount, 2_000u64.into(), "$0.002 in 6-decimal USDC");
        let quote = way.extra.as_ref().unwrap()[QUOTE_FIELD].as_str().unwrap();
        assert!(
            quote.starts_with(&format!("v1.{}.", NOW + QUOTE_VALID_S)),
            "{quote}"
        );
    }
    let v1: v1::PaymentRequired = serde_json::from_str(&r.answer().body).unwrap();
    assert_eq!(v1.accepts[0].max_amount_required, 2_000u64.into());
    assert_eq!((w.o.calls(), w.f.calls.borrow().len()), (0, 0));
}

#[test]
fn a_quoted_payment_is_held_to_its_quote_when_the_price_changes() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let first = w.send(&request("GET", "/priced/a", None, None));
    let header = pay_first(&challenge_of(&first), 60);
    w.p.set("$0.5");
    let r = w.send(&request("GET", "/priced/a", Some(&header), None));
    assert_eq!(
        (r.status(), r.log.outcome.as_str()),
        (200, "paid"),
        "{:?}",
        r.log
    );
    let settled = &w.f.calls.borrow()[0].1;
    let PaymentRequirements::V2(settled) = &settled.payment_requirements else {
        panic!("a v2 payment is settled with v2 requirements")
    };
    assert_eq!(settled.amount, 2_000u64.into(), "settled at the quote");
    assert_eq!(w.p.calls(), 1, "a quoted payment is not priced again");
    // Its retry is served from the receipt, still without a price.
    let r = w.send(&request("GET", "/priced/a", Some(&header), None));
    assert_eq!(r.log.outcome.as_str(), "receipt");
    assert_eq!((w.p.calls(), w.f.calls("settle")), (1, 1));
}

#[test]
fn an_expired_forged_or_moved_quote_is_refused_with_the_price_of_now() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let first = w.send(&request("GET", "/priced/a", None, None));
    let offered = challenge_of(&first);
    w.p.set("$0.003");
    let quote_of =
        |c: &v2::PaymentRequired| c.accepts[0].extra.as_ref().unwrap()[QUOTE_FIELD].clone();

    // Past its time (the payment itself is still valid).
    let late = pay_first(&offered, 61);
    let r = w.send_at(
        &request("GET", "/priced/a", Some(&late), None),
        NOW + QUOTE_VALID_S + 1,
    );
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("quote_expired")),
        "{:?}",
        r.log
    );
    let fresh = challenge_of(&r);
    assert_eq!(fresh.accepts[0].amount, 3_000u64.into());
    assert_ne!(quote_of(&fresh), quote_of(&offered));

    // A lower amount under the quote of the higher one, signed by the buyer.
    let mut cheaper = offered.clone();
    cheaper.accepts[0].amount = 1u64.into();
    let r = w.send(&request(
        "GET",
        "/priced/a",
        Some(&pay_first(&cheaper, 62)),
        None,
    ));
    assert_eq!((r.status(), r.reason()), (402, Some("invalid_quote")));

    // A quote made up by the client.
    let mut made_up = offered.clone();
    made_up.accepts[0].extra.as_mut().unwrap()[QUOTE_FIELD] = "v1.9999999999.AAAA".into();
    let r = w.send(&request(
        "GET",
        "/priced/a",
        Some(&pay_first(&made_up, 63)),
        None,
    ));
    assert_eq!(r.reason(), Some("invalid_quote"));

    // The quote of /priced/a presented on /priced/b (its resource URL edited to match).
    let mut moved = offered.clone();
    moved.resource.url = "https://edge.example/priced/b".into();
    let r = w.send(&request(
        "GET",
        "/priced/b",
        Some(&pay_first(&moved, 64)),
        None,
    ));
    assert_eq!(r.reason(), Some("invalid_quote"));

    // Another method on the same path.
    let r = w.send(&request(
        "POST",
        "/priced/a",
        Some(&pay_first(&offered, 65)),
        None,
    ));
    assert_eq!(r.reason(), Some("invalid_quote"));

    // A quoted requirement whose other fields were changed is not an offer of ours.
    let mut renamed = offered.clone();
    renamed.accepts[0].extra.as_mut().unwrap()["name"] = "Other".into();
    let r = w.send(&request(
        "GET",
        "/priced/a",
        Some(&pay_first(&renamed, 66)),
        None,
    ));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("invalid_payment_requirements"))
    );

    // The quote of one query presented with another.
    let first = w.send(&RequestFacts {
        query: Some("x=1"),
        ..request("GET", "/priced/q", None, None)
    });
    let other_query = pay_first(&challenge_of(&first), 67);
    let r = w.send(&RequestFacts {
        query: Some("x=2"),
        ..request("GET", "/priced/q", Some(&other_query), None)
    });
    assert_eq!(r.reason(), Some("invalid_quote"));

    assert_eq!(
        (w.o.calls(), w.f.calls.borrow().len()),
        (0, 0),
        "no call for any of them"
    );
}

#[test]
fn a_v1_payment_on_a_dynamic_route_pays_the_price_of_now() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let at = |amount: u64| v2::PaymentRequirements {
        amount: amount.into(),
        ..offered(0)
    };
    let r = w.send(&request(
        "GET",
        "/priced/a",
        None,
        Some(&v1_header(&at(2_000), 67)),
    ));
    assert_eq!(
        (r.status(), r.log.outcome.as_str()),
        (200, "paid"),
        "{:?}",
        r.log
    );
    // The price went up between its 402 and its payment: refused, with the new price.
    w.p.set("$0.004");
    let r = w.send(&request(
        "GET",
        "/priced/a",
        None,
        Some(&v1_header(&at(2_000), 68)),
    ));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("invalid_exact_evm_authorization_value"))
    );
    let v1: v1::PaymentRequired = serde_json::from_str(&r.answer().body).unwrap();
    assert_eq!(v1.accepts[0].max_amount_required, 4_000u64.into());
    assert_eq!((w.p.calls(), w.f.calls("settle")), (2, 1));
}

#[test]
fn a_failed_or_unusable_price_serves_nothing_and_a_free_one_serves() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    *w.p.answer.borrow_mut() = Err("pricing endpoint timed out".into());
    let r = w.send(&request("GET", "/priced/a", None, None));
    assert_eq!((r.status(), r.reason()), (502, Some("pricing_unavailable")));
    assert_eq!(r.header("Retry-After"), Some("2"));
    assert_eq!(r.log.detail.as_deref(), Some("pricing endpoint timed out"));
    // More decimals than USDC has: the price cannot be offered.
    w.p.set("0.0000001");
    let r = w.send(&request("GET", "/priced/a", None, None));
    assert_eq!(r.reason(), Some("pricing_unavailable"));
    assert_eq!(w.o.calls(), 0);
    *w.p.answer.borrow_mut() = Ok(edge402::gate::DynamicPrice::Free);
    let r = w.send(&request("GET", "/priced/a", None, None));
    assert_eq!(r.served().0 .1, "content of /priced/a");
    // Free for this request only: kept from shared caches.
    assert_eq!(r.header("Cache-Control"), Some("private, no-store"));
}

#[test]
fn a_dynamic_route_needs_the_quote_secret() {
    let config = json!({"routes": [{"match": "/priced/*", "price": "dynamic",
        "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]}]});
    let error = Gate::from_json(&config, Secrets::default()).unwrap_err();
    assert_eq!(error.key, "QUOTE_SECRET");
}

#[test]
fn a_paid_retry_is_served_from_its_receipt_after_its_quote_expired_or_the_price_changed() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let first = w.send(&request("GET", "/priced/r", None, None));
    let v2 = pay_first(&challenge_of(&first), 70);
    assert_eq!(
        w.send(&request("GET", "/priced/r", Some(&v2), None))
            .status(),
        200
    );
    let at = |amount: u64| v2::PaymentRequirements {
        amount: amount.into(),
        ..offered(0)
    };
    let v1 = v1_header(&at(2_000), 71);
    w.f.will_settle(Ok(edge402::testing::settled()));
    assert_eq!(
        w.send(&request("GET", "/priced/r", None, Some(&v1)))
            .status(),
        200
    );
    w.p.set("$0.009");
    // Past the quote's time (the payments themselves are still valid), and at another price.
    let later = NOW + QUOTE_VALID_S + 1;
    for (v2_header, v1_header) in [(Some(v2.as_str()), None), (None, Some(v1.as_str()))] {
        let r = w.send_at(&request("GET", "/priced/r", v2_header, v1_header), later);
        assert_eq!(
            (r.status(), r.log.outcome.as_str()),
            (200, "receipt"),
            "{:?}",
            r.log
        );
    }
    assert_eq!(w.f.calls("settle"), 2);
    // Never settled: the same late payments of another resource are refused, with the price
    // of now, and nothing is settled.
    let late = pay_first(
        &challenge_of(&w.send(&request("GET", "/priced/s", None, None))),
        72,
    );
    let r = w.send_at(&request("GET", "/priced/s", Some(&late), None), later);
    assert_eq!((r.status(), r.reason()), (402, Some("quote_expired")));
    assert_eq!(challenge_of(&r).accepts[0].amount, 9_000u64.into());
    let r = w.send(&request(
        "GET",
        "/priced/s",
        None,
        Some(&v1_header(&at(2_000), 73)),
    ));
    assert_eq!(
        (r.status(), r.reason()),
        (402, Some("invalid_exact_evm_authorization_value"))
    );
    assert_eq!(w.f.calls("settle"), 2);
}

#[test]
fn head_is_priced_and_quoted_as_get() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    let r = w.send(&request("HEAD", "/priced/h", None, None));
    assert_eq!(r.status(), 402);
    assert_eq!(w.p.asked.borrow()[0].method, "GET");
    let header = pay_first(&challenge_of(&r), 74);
    let r = w.send(&request("GET", "/priced/h", Some(&header), None));
    assert_eq!(r.status(), 200, "{:?}", r.log);
}

#[test]
fn a_zero_price_is_not_offered() {
    let w = World::new(ScriptedFacilitator::settling(), FakeOrigin::ok());
    w.p.set("0");
    let r = w.send(&request("GET", "/priced/z", None, None));
    assert_eq!((r.status(), r.reason()), (502, Some("pricing_unavailable")));
    assert_eq!(w.o.calls(), 0);
}

#[test]
fn signed_offers_need_their_key_and_are_signed_only_in_a_rendered_402() {
    let config = json!({
        "offer_receipt": {},
        "routes": [{"match": "GET /api/*", "price": "$0.001", "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]}],
    });
    let error = Gate::from_json(&config, Secrets::default()).unwrap_err();
    assert_eq!(error.key, "OFFER_RECEIPT_KEY");
    let signer = edge402::gate::extensions::OfferSigner::from_hex(&"42".repeat(32)).unwrap();
    let secrets = Secrets {
        offer_signer: Some(signer),
        ..Secrets::default()
    };
    let gate = Gate::from_json(&config, secrets).unwrap();
    let Decision::Refuse(refused) = gate.decide(&request("GET", "/api/x", None, None), 1_000)
    else {
        panic!("a challenge")
    };
    let required = refused.challenge.unwrap().v2_required("payment_required");
    let offers = &required.extensions.unwrap()["offer-receipt"]["info"]["offers"];
    assert_eq!(offers.as_array().map(Vec::len), Some(1));
    assert_eq!(offers[0]["payload"]["validUntil"], json!(1_000 + 60));
    assert_eq!(
        offers[0]["payload"]["resourceUrl"],
        json!(required.resource.url)
    );
}
