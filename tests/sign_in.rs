//! Signing in instead of paying again (x402's `sign-in-with-x`) through the whole decision
//! flow, against in-memory fakes: a route with `access_s` offers it in its 402, a payment
//! grants its payer access, a sign-in by that wallet is served without a payment, and every
//! hostile sign-in (another wallet, another site or resource, expired, replayed, forged, a
//! smart wallet that does not accept) is refused with its reason and changes nothing.
#![cfg(not(target_arch = "wasm32"))]

use edge402::evm::abi::{encode, Token};
use edge402::evm::signer::PaymentSigner;
use edge402::evm::{eip191_hash, Address, Bytes32};
use edge402::gate::access::{access_key, GrantCall};
use edge402::gate::coordinator::Coordinator;
use edge402::gate::flow::{handle, LogRecord, Outcome, Services};
use edge402::gate::http::{self, Answer};
use edge402::gate::{Gate, LogOutcome, RequestFacts, Secrets};
use edge402::networks::Networks;
use edge402::pay::pay_v2;
use edge402::protocol::{decode_header, encode_header, v2};
use edge402::siwx::{SignInProof, MAX_AGE_S, SIGN_IN_WITH_X};
use edge402::testing::{
    settled, FakeLightning, FakeOrigin, MemoryAllowances, MemoryCoordinator, ScriptedFacilitator,
};
use futures_executor::block_on;
use serde_json::{json, Value};

const NOW: u64 = 1_750_000_000;
const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
const ORIGIN: &str = "https://api.example.com";
/// How long a payment opens `/reports/*` and the `docs` group.
const ACCESS_S: u64 = 3_600;

/// A change made to a sign-in before it is signed.
type Change = fn(&mut SignInProof);

fn gate_with(config: Value) -> Gate {
    Gate::from_json(&config, Secrets::default()).unwrap()
}

fn gate() -> Gate {
    gate_with(json!({
        "facilitator": {"url": "http://127.0.0.1:9/facilitator"},
        "sign_in_with_x": {"origin": ORIGIN, "statement": "Sign in to use what you paid for"},
        "routes": [
            {"match": "GET /reports/*", "price": "$0.001", "access_s": ACCESS_S,
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}, {"network": "eip155:8453", "pay_to": PAY_TO}]},
            {"match": "GET /docs/a", "price": "$0.001", "access_s": ACCESS_S, "access_group": "docs",
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]},
            {"match": "GET /docs/b", "price": "$0.002", "access_s": 60, "access_group": "docs",
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]},
            {"match": "GET /plain/*", "price": "$0.001",
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]}
        ]
    }))
}

fn buyer() -> PaymentSigner {
    PaymentSigner::from_bytes(&[0x21; 32]).unwrap()
}

fn stranger() -> PaymentSigner {
    PaymentSigner::from_bytes(&[0x77; 32]).unwrap()
}

struct World {
    gate: Gate,
    f: ScriptedFacilitator,
    c: MemoryCoordinator,
    o: FakeOrigin,
    ln: FakeLightning,
    al: MemoryAllowances,
}

/// One request's answer.
struct Run {
    answer: Option<Answer>,
    log: LogRecord,
}

impl Run {
    fn status(&self) -> u16 {
        self.log.status
    }

    fn reason(&self) -> Option<&str> {
        self.log.reason.as_deref()
    }

    /// The `sign-in-with-x` extension of the answer's challenge.
    fn sign_in_offer(&self) -> Value {
        let answer = self.answer.as_ref().expect("a refusal");
        let (_, header) = answer
            .headers
            .iter()
            .find(|(name, _)| *name == "PAYMENT-REQUIRED")
            .expect("a challenge");
        let required: v2::PaymentRequired = decode_header(header).unwrap();
        required.extensions.unwrap()[SIGN_IN_WITH_X].clone()
    }

    fn offered(&self) -> v2::PaymentRequirements {
        let answer = self.answer.as_ref().unwrap();
        let (_, header) = answer
            .headers
            .iter()
            .find(|(name, _)| *name == "PAYMENT-REQUIRED")
            .unwrap();
        let required: v2::PaymentRequired = decode_header(header).unwrap();
        required.accepts[0].clone()
    }
}

impl World {
    fn new() -> Self {
        let f = ScriptedFacilitator::default();
        for _ in 0..4 {
            f.will_settle(Ok(settled()));
        }
        Self {
            gate: gate(),
            f,
            c: MemoryCoordinator::new(120),
            o: FakeOrigin::ok(),
            ln: FakeLightning::default(),
            al: MemoryAllowances::default(),
        }
    }

    fn send(&self, path: &str, headers: Headers<'_>, now: u64) -> Run {
        let facts = RequestFacts {
            method: "GET",
            path,
            base_url: "https://edge.example",
            payment_signature: headers.payment,
            sign_in: headers.sign_in,
            ..RequestFacts::default()
        };
        let services = Services {
            facilitator: &self.f,
            store: &self.c.store,
            origin: &self.o,
            invoices: &self.ln,
            coordinator: &self.c,
            allowances: &self.al,
            chain: &self.c.chain,
            pricing: &(),
            directories: &(),
        };
        let (outcome, log) = block_on(handle(&self.gate, &facts, now, services));
        let answer = match outcome {
            Outcome::Refused(refused) => Some(http::answer(&refused, &self.gate.config().networks)),
            _ => None,
        };
        Run { answer, log }
    }

    /// The payment the official v2 client makes for `path` from its 402 at `now`.
    fn payment(&self, path: &str, signer: &PaymentSigner, nonce: u8, now: u64) -> String {
        let offered = self.send(path, Headers::default(), now).offered();
        let networks = Networks::builtin();
        let payment = pay_v2(signer, &offered, None, &networks, now, Bytes32([nonce; 32]));
        payment.unwrap().to_header()
    }

    /// Pays `path` as the official v2 client would (from its 402), at `now`.
    fn pay(&self, path: &str, signer: &PaymentSigner, nonce: u8, now: u64) -> Run {
        let header = self.payment(path, signer, nonce, now);
        let run = self.send(path, Headers::paying(&header), now);
        assert_eq!(run.log.outcome.as_str(), "paid", "{:?}", run.log);
        run
    }

    /// The sign-in `signer` makes from a fresh 402 of `path` at `now`, after `change` (the
    /// official client's fields, signed over EIP-4361's text).
    fn sign_in(
        &self,
        path: &str,
        signer: &PaymentSigner,
        now: u64,
        change: impl FnOnce(&mut SignInProof),
    ) -> String {
        let offer = self.send(path, Headers::default(), now).sign_in_offer();
        encode_header(&signed_proof(&offer, signer, signer.address(), change))
    }
}

#[derive(Default, Clone, Copy)]
struct Headers<'a> {
    payment: Option<&'a str>,
    sign_in: Option<&'a str>,
}

impl<'a> Headers<'a> {
    fn paying(header: &'a str) -> Self {
        Self {
            payment: Some(header),
            sign_in: None,
        }
    }

    fn signing_in(header: &'a str) -> Self {
        Self {
            payment: None,
            sign_in: Some(header),
        }
    }
}

/// The proof a wallet makes of an offer (its first chain), as JSON, signed by `signer` for
/// `address` after `change`.
fn signed_proof(
    offer: &Value,
    signer: &PaymentSigner,
    address: Address,
    change: impl FnOnce(&mut SignInProof),
) -> Value {
    let info = &offer["info"];
    let chain = &offer["supportedChains"][0];
    let mut proof: SignInProof = serde_json::from_value(json!({
        "domain": info["domain"], "address": address.to_string(), "statement": info["statement"],
        "uri": info["uri"], "version": info["version"], "chainId": chain["chainId"],
        "type": chain["type"], "nonce": info["nonce"], "issuedAt": info["issuedAt"],
        "expirationTime": info["expirationTime"], "resources": info["resources"],
        "signature": "0x",
    }))
    .unwrap();
    change(&mut proof);
    let chain_id = proof.chain_id[7..].parse().unwrap();
    let hash = eip191_hash(proof.message(chain_id).as_bytes());
    let signature = format!("0x{}", hex::encode(signer.sign_prehash(&hash).to_rsv()));
    let mut json = serde_json::to_value(ProofJson(&proof)).unwrap();
    json["signature"] = signature.into();
    json
}

/// A proof back as the JSON a client sends (the type reads it, a client writes it).
struct ProofJson<'a>(&'a SignInProof);

impl serde::Serialize for ProofJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        json!({
            "domain": p.domain, "address": p.address, "statement": p.statement, "uri": p.uri,
            "version": p.version, "chainId": p.chain_id, "type": p.kind, "nonce": p.nonce,
            "issuedAt": p.issued_at, "expirationTime": p.expiration_time, "notBefore": p.not_before,
            "requestId": p.request_id, "resources": p.resources, "signature": p.signature,
        })
        .serialize(serializer)
    }
}

#[test]
fn a_route_with_access_offers_sign_in_in_its_402_with_a_fresh_nonce_each_time() {
    let w = World::new();
    let first = w
        .send("/reports/7", Headers::default(), NOW)
        .sign_in_offer();
    let info = &first["info"];
    assert_eq!(info["domain"], "api.example.com");
    assert_eq!(
        info["uri"], "https://api.example.com/reports/7",
        "at the configured origin"
    );
    assert_eq!(info["version"], "1");
    assert_eq!(info["statement"], "Sign in to use what you paid for");
    assert_eq!(info["issuedAt"], "2025-06-15T15:06:40.000Z");
    assert_eq!(info["expirationTime"], "2025-06-15T15:11:40.000Z");
    assert_eq!(
        info["resources"],
        json!(["https://api.example.com/reports/7"])
    );
    let nonce = info["nonce"].as_str().unwrap();
    assert!(nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        first["supportedChains"],
        json!([{"chainId": "eip155:84532", "type": "eip191"}, {"chainId": "eip155:8453", "type": "eip191"}])
    );
    assert_eq!(first["schema"]["required"][0], "domain");
    let second = w
        .send("/reports/7", Headers::default(), NOW)
        .sign_in_offer();
    assert_ne!(second["info"]["nonce"], first["info"]["nonce"]);
    // A route without access offers none.
    let plain = w.send("/plain/x", Headers::default(), NOW);
    let answer = plain.answer.unwrap();
    let (_, header) = answer
        .headers
        .iter()
        .find(|(n, _)| *n == "PAYMENT-REQUIRED")
        .unwrap();
    let required: v2::PaymentRequired = decode_header(header).unwrap();
    assert!(required.extensions.is_none());
}

#[test]
fn a_payer_signs_in_within_its_access_and_is_served_without_paying() {
    let w = World::new();
    let paid = NOW - 100;
    w.pay("/reports/7", &buyer(), 1, paid);
    assert_eq!(w.f.calls("settle"), 1);
    let key = access_key("route:GET /reports/*", &buyer().address());
    assert_eq!(w.c.access(&key).unwrap().until, paid + ACCESS_S);

    // Another resource of the same route: a sign-in, no payment.
    let header = w.sign_in("/reports/8", &buyer(), NOW, |_| {});
    let run = w.send("/reports/8", Headers::signing_in(&header), NOW);
    assert_eq!((run.status(), run.log.outcome.as_str()), (200, "signed_in"));
    assert_eq!(
        run.log.payer.as_deref(),
        Some(buyer().address().to_string().as_str())
    );
    assert_eq!(w.f.calls("settle"), 1, "no second charge");
    assert_eq!(w.o.targets.borrow().last().unwrap(), "/reports/8");

    // The same sign-in again is a replay.
    let again = w.send("/reports/8", Headers::signing_in(&header), NOW + 1);
    assert_eq!(
        (again.status(), again.reason()),
        (402, Some("invalid_siwx_nonce"))
    );
    assert!(
        again.sign_in_offer()["info"]["nonce"].is_string(),
        "a fresh challenge comes with it"
    );

    // Up to the end of the access window, and not after.
    let last = paid + ACCESS_S - 1;
    let header = w.sign_in("/reports/9", &buyer(), last, |_| {});
    assert_eq!(
        w.send("/reports/9", Headers::signing_in(&header), last)
            .status(),
        200
    );
    let late = paid + ACCESS_S;
    let header = w.sign_in("/reports/9", &buyer(), late, |_| {});
    let run = w.send("/reports/9", Headers::signing_in(&header), late);
    assert_eq!(
        (run.status(), run.reason()),
        (402, Some("siwx_not_entitled"))
    );
    assert_eq!(w.f.calls("settle"), 1);
}

#[test]
fn a_wallet_that_did_not_pay_is_refused_and_leaves_nothing_behind() {
    let w = World::new();
    w.pay("/reports/7", &buyer(), 1, NOW);
    let origin_calls = w.o.calls();
    let header = w.sign_in("/reports/7", &stranger(), NOW, |_| {});
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(
        (run.status(), run.reason()),
        (402, Some("siwx_not_entitled"))
    );
    assert!(w
        .c
        .access(&access_key("route:GET /reports/*", &stranger().address()))
        .is_none());
    assert_eq!(w.o.calls(), origin_calls);
}

#[test]
fn a_sign_in_naming_the_payer_but_signed_by_another_wallet_is_forged() {
    let w = World::new();
    w.pay("/reports/7", &buyer(), 1, NOW);
    let offer = w
        .send("/reports/7", Headers::default(), NOW)
        .sign_in_offer();
    let forged = signed_proof(&offer, &stranger(), buyer().address(), |_| {});
    let header = encode_header(&forged);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(
        (run.status(), run.reason()),
        (402, Some("invalid_siwx_signature"))
    );
    // The payer's entry spent no nonce for it.
    let key = access_key("route:GET /reports/*", &buyer().address());
    assert!(w.c.access(&key).unwrap().nonces.is_empty());
}

#[test]
fn sign_ins_for_another_site_resource_or_time_are_refused_with_their_reasons() {
    let w = World::new();
    w.pay("/reports/7", &buyer(), 1, NOW);
    let cases: [(&str, Change, &str); 5] = [
        (
            "another site",
            |p| p.domain = "evil.example".into(),
            "invalid_siwx_domain_mismatch",
        ),
        (
            "the gateway's request host",
            |p| {
                p.uri = "https://edge.example/reports/7".into();
            },
            "invalid_siwx_uri_mismatch",
        ),
        (
            "another resource",
            |p| p.uri = "https://api.example.com/reports/1".into(),
            "invalid_siwx_uri_mismatch",
        ),
        (
            "expired",
            |p| p.expiration_time = Some("2025-06-15T15:06:00Z".into()),
            "invalid_siwx_expired",
        ),
        (
            "another chain",
            |p| p.chain_id = "eip155:137".into(),
            "invalid_siwx_unsupported_chain",
        ),
    ];
    for (what, change, reason) in cases {
        let header = w.sign_in("/reports/7", &buyer(), NOW, change);
        let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
        assert_eq!((run.status(), run.reason()), (402, Some(reason)), "{what}");
    }
    // Signed for a challenge too old to answer.
    let header = w.sign_in("/reports/7", &buyer(), NOW, |_| {});
    let run = w.send(
        "/reports/7",
        Headers::signing_in(&header),
        NOW + MAX_AGE_S + 1,
    );
    assert_eq!(run.reason(), Some("invalid_siwx_issued_at_too_old"));
    // Not a sign-in at all.
    let run = w.send(
        "/reports/7",
        Headers::signing_in("bm90IGEgc2lnbi1pbg=="),
        NOW,
    );
    assert_eq!(
        (run.status(), run.reason()),
        (402, Some("invalid_siwx_payload"))
    );
    assert_eq!((w.o.calls(), w.f.calls("settle")), (1, 1));
}

#[test]
fn a_group_shares_access_and_other_scopes_do_not() {
    let w = World::new();
    w.pay("/docs/b", &buyer(), 1, NOW);
    // `/docs/b` grants 60 s, to the whole `docs` group.
    let header = w.sign_in("/docs/a", &buyer(), NOW + 10, |_| {});
    assert_eq!(
        w.send("/docs/a", Headers::signing_in(&header), NOW + 10)
            .status(),
        200
    );
    let header = w.sign_in("/reports/1", &buyer(), NOW + 10, |_| {});
    let run = w.send("/reports/1", Headers::signing_in(&header), NOW + 10);
    assert_eq!(run.reason(), Some("siwx_not_entitled"));
    let header = w.sign_in("/docs/a", &buyer(), NOW + 60, |_| {});
    assert_eq!(
        w.send("/docs/a", Headers::signing_in(&header), NOW + 60)
            .reason(),
        Some("siwx_not_entitled")
    );
}

#[test]
fn a_retry_served_from_its_receipt_keeps_the_access_of_the_first_settlement() {
    let w = World::new();
    let header = w.payment("/reports/7", &buyer(), 3, NOW);
    assert_eq!(
        w.send("/reports/7", Headers::paying(&header), NOW)
            .log
            .outcome
            .as_str(),
        "paid"
    );
    let retry = w.send("/reports/7", Headers::paying(&header), NOW + 50);
    assert_eq!(retry.log.outcome.as_str(), "receipt");
    let key = access_key("route:GET /reports/*", &buyer().address());
    assert_eq!(
        w.c.access(&key).unwrap().until,
        NOW + ACCESS_S,
        "from the settlement, not the retry"
    );
}

#[test]
fn a_payment_beside_a_sign_in_is_taken_as_the_payment() {
    let w = World::new();
    let payment = w.payment("/reports/7", &buyer(), 5, NOW);
    let run = w.send(
        "/reports/7",
        Headers {
            payment: Some(&payment),
            sign_in: Some("garbage"),
        },
        NOW,
    );
    assert_eq!(run.log.outcome.as_str(), "paid");
}

#[test]
fn an_unreachable_coordinator_serves_nothing() {
    let w = World::new();
    w.pay("/reports/7", &buyer(), 1, NOW);
    let header = w.sign_in("/reports/7", &buyer(), NOW, |_| {});
    let origin_calls = w.o.calls();
    w.c.down.set(true);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(
        (run.status(), run.reason()),
        (502, Some("coordinator_unavailable"))
    );
    assert_eq!(w.o.calls(), origin_calls);
}

/// A smart wallet's sign-in, signed by its owner: plain ERC-1271, or wrapped in ERC-6492.
fn smart_wallet_sign_in(w: &World, wallet: Address, owner: &PaymentSigner, wrap: bool) -> String {
    let offer = w
        .send("/reports/7", Headers::default(), NOW)
        .sign_in_offer();
    let mut proof = signed_proof(&offer, owner, wallet, |_| {});
    let inner = hex::decode(&proof["signature"].as_str().unwrap()[2..]).unwrap();
    let signature = match wrap {
        true => {
            let mut wrapped = encode(&[
                Token::Word(Address([0xfa; 20]).to_word()),
                Token::Bytes(&[0xde, 0xad]),
                Token::Bytes(&inner),
            ]);
            wrapped.extend_from_slice(&[0x64, 0x92].repeat(16));
            wrapped
        }
        // A deployed wallet takes its owner's signature as it is.
        false => inner,
    };
    proof["signature"] = format!("0x{}", hex::encode(signature)).into();
    encode_header(&proof)
}

#[test]
fn a_smart_wallets_sign_in_is_accepted_only_when_its_contract_accepts_on_chain() {
    let w = World::new();
    let wallet = Address([0x5a; 20]);
    let owner = buyer();
    let paid_on = |chain_id| {
        block_on(w.c.grant_access(&GrantCall {
            key: access_key("route:GET /reports/*", &wallet),
            until: NOW + ACCESS_S,
            chain_id,
            now: NOW,
        }))
        .unwrap()
    };
    w.c.chain
        .wallets
        .borrow_mut()
        .push((wallet, owner.address()));

    // Paid on Base: the contract at the address on Base Sepolia, where it signs in, may be
    // someone else's wallet.
    paid_on(8453);
    let header = smart_wallet_sign_in(&w, wallet, &owner, true);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(run.reason(), Some("siwx_not_entitled"), "{:?}", run.log);
    // Counterfactual (not deployed): accepted through the wrapper's factory call only.
    paid_on(84532);
    let header = smart_wallet_sign_in(&w, wallet, &owner, true);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(run.status(), 200, "{:?}", run.log);
    w.c.chain
        .contracts
        .borrow_mut()
        .push(wallet.to_string().to_ascii_lowercase());
    let header = smart_wallet_sign_in(&w, wallet, &owner, false);
    assert_eq!(
        w.send("/reports/7", Headers::signing_in(&header), NOW)
            .status(),
        200
    );

    // Signed by someone else: the contract refuses.
    let header = smart_wallet_sign_in(&w, wallet, &stranger(), false);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(run.reason(), Some("invalid_siwx_signature"));
    // The chain cannot be asked: nothing is served, and the gateway's failure is no 402 (the
    // client would pay for access it has) but a retry; the nonce is not spent by it.
    w.c.chain.down.set(true);
    let header = smart_wallet_sign_in(&w, wallet, &owner, false);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(
        (run.status(), run.reason()),
        (502, Some("invalid_siwx_verifier_error"))
    );
    let answer = run.answer.as_ref().unwrap();
    let named = |name: &str| {
        answer
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    assert!(!named("PAYMENT-REQUIRED"), "{:?}", answer.headers);
    assert!(named("Retry-After"), "{:?}", answer.headers);
    assert_eq!(run.log.outcome, LogOutcome::ChainError);
    assert_eq!(w.o.calls(), 2);
    // No rpc_url for the chain: such sign-ins can never be checked here, so the answer is
    // the refusal with a fresh challenge (pay instead), not a retry.
    w.c.chain.down.set(false);
    w.c.chain.unconfigured.set(true);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(
        (run.status(), run.reason()),
        (402, Some("invalid_siwx_verifier_error"))
    );
    assert!(run.sign_in_offer().is_object());
    w.c.chain.unconfigured.set(false);
    let run = w.send("/reports/7", Headers::signing_in(&header), NOW);
    assert_eq!(run.status(), 200, "{:?}", run.log);
    assert_eq!(w.o.calls(), 3);
}

#[test]
fn a_configuration_names_what_sign_in_needs() {
    let route = json!({"match": "GET /x", "price": "$0.001", "access_s": 60,
                       "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]});
    let error = Gate::from_json(&json!({"routes": [route]}), Secrets::default()).unwrap_err();
    assert_eq!(error.key, "routes[0].access_s");
    let with = |extra: Value, route: Value| {
        let mut config = json!({"sign_in_with_x": {"origin": ORIGIN}, "routes": [route]});
        config
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Gate::from_json(&config, Secrets::default())
            .map(|_| ())
            .map_err(|e| e.key)
    };
    assert_eq!(with(json!({}), route.clone()), Ok(()));
    let mut grouped = route.clone();
    grouped["access_group"] = "no spaces allowed".into();
    assert_eq!(
        with(json!({}), grouped),
        Err("routes[0].access_group".into())
    );
    let mut no_seconds = route.clone();
    no_seconds.as_object_mut().unwrap().remove("access_s");
    no_seconds["access_group"] = "docs".into();
    assert_eq!(
        with(json!({}), no_seconds),
        Err("routes[0].access_group".into())
    );
    for origin in [
        "http://api.example.com",
        "https://api.example.com/path",
        "ftp://x",
    ] {
        let extra = json!({"sign_in_with_x": {"origin": origin}});
        assert_eq!(
            with(extra, route.clone()),
            Err("sign_in_with_x.origin".into()),
            "{origin}"
        );
    }
}
