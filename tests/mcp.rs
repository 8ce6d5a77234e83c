//! Paid MCP tools (x402's MCP transport) through the whole decision flow, against in-memory
//! fakes: an MCP route prices `tools/call` by tool, answers an unpaid call with the
//! payment-required tool result (JSON-RPC id kept, HTTP 200), lets everything else through,
//! settles a paid call once and only when the tool succeeded, writes the settlement into
//! the result (JSON and SSE alike), annotates `tools/list`, and refuses every hostile
//! request with a JSON-RPC or x402 error that charges nothing.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::Cell;

use edge402::config::GatewayConfig;
use edge402::evm::signer::PaymentSigner;
use edge402::evm::Bytes32;
use edge402::gate::flow::FacilitatorError;
use edge402::gate::flow::{handle, LogRecord, Outcome, Services};
use edge402::gate::http::{self, Release};
use edge402::gate::quote::QuoteKey;
use edge402::gate::{Decision, Gate, PaymentPlan, RequestFacts, Secrets};
use edge402::networks::Networks;
use edge402::pay::pay_v2;
use edge402::protocol::{v2, PaymentPayload};
use edge402::testing::{
    refused_settlement, settled, FakeLightning, FakeMcpServer, FakeResponse, MemoryAllowances,
    MemoryCoordinator, ScriptedFacilitator, ScriptedPricing,
};
use futures_executor::block_on;
use serde_json::{json, Value};

const NOW: u64 = 1_750_000_000;
const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

fn config() -> Value {
    json!({
        "facilitator": {"url": "http://127.0.0.1:9/facilitator"},
        "routes": [
            {"match": "/mcp", "description": "weather tools",
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}],
             "mcp": {"tools": {"forecast": "$0.01", "fail": "$0.001", "echo_paid": "dynamic"}}}
        ]
    })
}

fn buyer() -> PaymentSigner {
    PaymentSigner::from_bytes(&[0x21; 32]).unwrap()
}

/// A tool that answers its arguments back; `fail` fails.
fn tools(name: &str, arguments: &Value) -> Value {
    match name {
        "fail" => {
            json!({"isError": true, "content": [{"type": "text", "text": "the tool failed"}]})
        }
        _ => json!({
            "content": [{"type": "text", "text": format!("{name} of {arguments}")}],
            "structuredContent": {"t": 21},
            "_meta": {"server/own": 1},
        }),
    }
}

struct World {
    gate: Gate,
    f: ScriptedFacilitator,
    c: MemoryCoordinator,
    server: FakeMcpServer,
    /// The price of `echo_paid` (`$0.02` unless a test sets another).
    p: ScriptedPricing,
    /// The time requests are sent at.
    now: Cell<u64>,
}

/// One request's answer: the JSON-RPC message, or the server's response as released.
struct Run {
    log: LogRecord,
    status: u16,
    body: String,
    content_type: Option<String>,
    release: Option<Release>,
}

impl Run {
    /// The JSON-RPC message answered (the last one of a stream).
    fn message(&self) -> Value {
        let text = match self.content_type.as_deref() {
            Some("text/event-stream") => self
                .body
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .next_back()
                .unwrap_or_default()
                .to_owned(),
            _ => self.body.clone(),
        };
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The payment-required object of a tool result asking for payment, checked to be the
    /// same in all three places clients look.
    fn required(&self) -> v2::PaymentRequired {
        let message = self.message();
        let result = &message["result"];
        assert_eq!(result["isError"], true, "{message}");
        let structured = &result["structuredContent"];
        let text: Value =
            serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(&text, structured);
        assert_eq!(&result["_meta"]["x402/error"], structured);
        serde_json::from_value(structured.clone()).unwrap()
    }

    fn reason(&self) -> Option<&str> {
        self.log.reason.as_deref()
    }
}

impl World {
    fn new() -> Self {
        Self::with(config())
    }

    fn with(config: Value) -> Self {
        let secrets = Secrets {
            quote_key: Some(QuoteKey::new(&[0x51; 32]).unwrap()),
            ..Secrets::default()
        };
        Self {
            gate: Gate::from_json(&config, secrets).unwrap(),
            f: ScriptedFacilitator::default(),
            c: MemoryCoordinator::new(120),
            server: FakeMcpServer::new(tools),
            p: ScriptedPricing::charging("$0.02"),
            now: Cell::new(NOW),
        }
    }

    /// `POST /mcp` with `body`.
    fn post(&self, body: &Value) -> Run {
        self.server.client_sends(body);
        self.send("POST", None)
    }

    fn send(&self, method: &str, payment_header: Option<&str>) -> Run {
        self.send_with(method, payment_header, Some("application/json"), None)
    }

    /// The gate's payment plan for `body`.
    fn plan(&self, body: &Value) -> Box<PaymentPlan> {
        let body = body.to_string();
        let facts = RequestFacts {
            method: "POST",
            path: "/mcp",
            base_url: "https://edge.example",
            body: Some(body.as_bytes()),
            ..RequestFacts::default()
        };
        match self.gate.decide(&facts, NOW) {
            Decision::Pay(plan) => plan,
            other => panic!("not a payment: {other:?}"),
        }
    }

    fn send_with(
        &self,
        method: &str,
        payment_header: Option<&str>,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
    ) -> Run {
        let facts = RequestFacts {
            method,
            path: "/mcp",
            base_url: "https://edge.example",
            payment_signature: payment_header,
            content_type,
            content_encoding,
            ..RequestFacts::default()
        };
        let services = Services {
            facilitator: &self.f,
            store: &self.c.store,
            origin: &self.server,
            invoices: &FakeLightning::default(),
            coordinator: &self.c,
            allowances: &MemoryAllowances::default(),
            chain: &self.c.chain,
            pricing: &self.p,
            directories: &(),
        };
        let (outcome, log) = block_on(handle(&self.gate, &facts, self.now.get(), services));
        match outcome {
            Outcome::Refused(refused) => {
                let answer = http::answer(&refused, &self.gate.config().networks);
                let content_type = answer
                    .headers
                    .iter()
                    .find(|(name, _)| *name == "Content-Type")
                    .map(|(_, v)| v.clone());
                Run {
                    log,
                    status: answer.status,
                    body: answer.body,
                    content_type,
                    release: None,
                }
            }
            Outcome::Origin { response, release } => {
                let FakeResponse {
                    status,
                    content_type,
                    ..
                } = response.clone();
                Run {
                    log,
                    status,
                    body: response.text(),
                    content_type,
                    release: Some(release),
                }
            }
            Outcome::Answered(answer) => panic!("unexpected answer {answer:?}"),
        }
    }

    /// The payment-required object of an unpaid call of `tool`.
    fn offer(&self, tool: &str) -> v2::PaymentRequired {
        self.post(&call(1, tool, json!({"city": "Lisbon"}), None))
            .required()
    }

    /// A payment for `tool` as the official client makes it from its payment-required result.
    fn payment(&self, tool: &str, nonce: u8) -> PaymentPayload {
        paying(self.offer(tool), nonce)
    }
}

/// The buyer's payment of `required`'s first way to pay, as the official v2 client makes it.
fn paying(required: v2::PaymentRequired, nonce: u8) -> PaymentPayload {
    let networks = Networks::builtin();
    let (accepted, resource) = (&required.accepts[0], Some(required.resource.clone()));
    pay_v2(
        &buyer(),
        accepted,
        resource,
        &networks,
        NOW,
        Bytes32([nonce; 32]),
    )
    .unwrap()
}

/// A `tools/call` of `tool` with `arguments`, paid with `payment` (an object or base64 text).
fn call(id: impl Into<Value>, tool: &str, arguments: Value, payment: Option<Value>) -> Value {
    let mut request = json!({
        "jsonrpc": "2.0", "id": id.into(), "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": {"progressToken": 7}},
    });
    if let Some(payment) = payment {
        request["params"]["_meta"]["x402/payment"] = payment;
    }
    request
}

/// A payment as the x402 MCP spec sends it: the object itself.
fn object(payment: &PaymentPayload) -> Value {
    serde_json::to_value(payment).unwrap()
}

/// A payment as Cloudflare's `agents` client sends it: base64 of its JSON.
fn base64(payment: &PaymentPayload) -> Value {
    Value::String(payment.to_header())
}

#[test]
fn an_unpaid_priced_call_gets_the_payment_required_result_with_its_id() {
    let w = World::new();
    for id in [json!(7), json!("call-α")] {
        let run = w.post(&call(
            id.clone(),
            "forecast",
            json!({"city": "Lisbon"}),
            None,
        ));
        assert_eq!(run.status, 200, "MCP clients take no other status");
        assert_eq!(run.log.status, 200, "the log says what was answered");
        assert_eq!(run.message()["id"], id);
        assert_eq!(run.message()["jsonrpc"], "2.0");
        let required = run.required();
        assert_eq!(required.resource.url, "mcp://tool/forecast");
        assert_eq!(
            required.resource.description.as_deref(),
            Some("weather tools")
        );
        // $0.01 of six-decimal USDC.
        assert_eq!(required.accepts[0].amount.to_string(), "10000");
        assert_eq!(run.reason(), Some("payment_required"));
    }
    let fail = w.offer("fail");
    assert_eq!(fail.accepts[0].amount.to_string(), "1000");
    assert_eq!(fail.resource.url, "mcp://tool/fail");
    assert_eq!(w.server.calls(), 0, "the server is not asked");
    assert_eq!(w.f.calls("verify") + w.f.calls("settle"), 0);
}

#[test]
fn everything_but_a_priced_call_passes_through_as_sent() {
    let w = World::new();
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let run = w.post(&initialize);
    assert_eq!(run.message()["result"]["serverInfo"]["name"], "fake");
    assert_eq!(w.server.last_received(), initialize);
    let free = call(2, "echo", json!({"n": 1}), None);
    let run = w.post(&free);
    assert_eq!(
        run.message()["result"]["content"][0]["text"],
        "echo of {\"n\":1}"
    );
    assert_eq!(w.server.last_received(), free);
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(w.post(&notification).status, 202);
    // A batch without a priced call is the server's to answer.
    let batch = json!([{"jsonrpc": "2.0", "id": 3, "method": "ping"}]);
    w.post(&batch);
    assert_eq!(w.server.last_received(), batch);
    // The server's stream of notifications (GET) and the end of a session (DELETE).
    for method in ["GET", "DELETE"] {
        w.server.client_sends(&json!({}));
        w.send(method, None);
    }
    assert_eq!(w.server.calls(), 6);
    assert_eq!(w.f.calls("verify") + w.f.calls("settle"), 0);
}

#[test]
fn tools_list_is_annotated_with_the_prices() {
    let w = World::new();
    for stream in [false, true] {
        w.server.stream.set(stream);
        let run = w.post(&json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}));
        let tools = run.message()["result"]["tools"].clone();
        let tool = |name: &str| {
            tools
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == name)
                .unwrap()
                .clone()
        };
        let forecast = tool("forecast");
        assert_eq!(forecast["_meta"]["agents-x402/paymentRequired"], true);
        assert_eq!(forecast["_meta"]["agents-x402/priceUSD"], 0.01);
        assert_eq!(forecast["_meta"]["x402/accepts"][0]["amount"], "10000");
        assert_eq!(forecast["_meta"]["x402/accepts"][0]["payTo"], PAY_TO);
        // Its result schema also admits the payment-required result.
        let any_of = forecast["outputSchema"]["anyOf"].as_array().unwrap();
        assert_eq!(any_of[0]["properties"]["t"]["type"], "number");
        assert_eq!(any_of[1]["required"], json!(["x402Version", "accepts"]));
        assert_eq!(tool("fail")["_meta"]["agents-x402/priceUSD"], 0.001);
        assert_eq!(
            tool("echo").get("_meta"),
            None,
            "a free tool is left as it is"
        );
        assert!(matches!(run.release, Some(Release::Free)));
    }
}

#[test]
fn a_paid_call_is_forwarded_without_its_payment_settled_once_and_answered_with_the_settlement() {
    for (stream, encode) in [
        (false, object as fn(&PaymentPayload) -> Value),
        (true, base64),
    ] {
        let w = World::new();
        w.f.will_settle(Ok(settled()));
        let payment = w.payment("forecast", 1);
        w.server.stream.set(stream);
        let run = w.post(&call(
            9,
            "forecast",
            json!({"city": "Lisbon"}),
            Some(encode(&payment)),
        ));
        assert_eq!(run.log.outcome.as_str(), "paid", "{:?}", run.log);
        assert_eq!(w.f.calls("settle"), 1);
        assert_eq!(w.f.calls("verify"), 0, "an EOA payment is verified locally");
        // The server got the call without the payment, and the rest of `_meta`.
        let received = w.server.last_received();
        assert_eq!(received["params"]["_meta"], json!({"progressToken": 7}));
        assert_eq!(received["params"]["arguments"], json!({"city": "Lisbon"}));
        let message = run.message();
        assert_eq!(message["id"], 9);
        let result = &message["result"];
        assert_eq!(
            result["content"][0]["text"],
            "forecast of {\"city\":\"Lisbon\"}"
        );
        assert_eq!(
            result["_meta"]["server/own"], 1,
            "the server's own _meta is kept"
        );
        let settlement = &result["_meta"]["x402/payment-response"];
        assert_eq!(settlement["success"], true);
        assert_eq!(settlement["transaction"], settled().transaction);
        if stream {
            assert_eq!(run.content_type.as_deref(), Some("text/event-stream"));
            assert!(run.body.contains("notifications/progress"), "{}", run.body);
        }
        assert!(matches!(run.release, Some(Release::Paid(Some(_)))));
    }
}

#[test]
fn arguments_and_results_reach_the_other_side_to_the_letter() {
    let w = World::new();
    w.f.will_settle(Ok(settled()));
    let payment = serde_json::to_string(&object(&w.payment("forecast", 1))).unwrap();
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"forecast","arguments":{{"n":123456789012345678901234567890,"x":1.50}},"_meta":{{"x402/payment":{payment}}}}}}}"#
    );
    *w.server.request.borrow_mut() = body.into_bytes();
    let run = w.send("POST", None);
    assert_eq!(run.log.outcome.as_str(), "paid", "{:?}", run.log);
    let received = String::from_utf8(w.server.received.borrow().last().unwrap().clone()).unwrap();
    assert!(
        received.contains(r#""arguments":{"n":123456789012345678901234567890,"x":1.50}"#),
        "{received}"
    );
    assert!(
        !received.contains("x402/payment") && !received.contains("_meta"),
        "{received}"
    );
}

#[test]
fn a_failed_tool_is_not_charged_and_its_payment_stays_good() {
    let w = World::new();
    let payment = paying(w.offer("fail"), 3);
    let run = w.post(&call(5, "fail", json!({}), Some(object(&payment))));
    assert_eq!(
        run.message()["result"]["content"][0]["text"],
        "the tool failed"
    );
    assert_eq!(
        run.message()["result"]["_meta"],
        Value::Null,
        "no settlement"
    );
    assert_eq!(run.log.outcome.as_str(), "origin_error");
    assert!(matches!(run.release, Some(Release::Uncharged)));
    assert_eq!(w.f.calls("settle"), 0);
}

#[test]
fn a_json_rpc_error_a_result_that_is_not_one_and_an_http_error_are_not_charged() {
    let mut w = World::new();
    let payment = w.payment("forecast", 4);
    let paid = call(6, "forecast", json!({}), Some(object(&payment)));
    let answers = [
        json!({"error": {"code": -32603, "message": "boom"}}),
        json!(null),
        json!("text"),
    ];
    for answer in answers {
        w.server = FakeMcpServer::new(move |_, _| answer.clone());
        let run = w.post(&paid);
        assert_eq!(run.log.outcome.as_str(), "origin_error", "{:?}", run.log);
        assert!(matches!(run.release, Some(Release::Uncharged)));
    }
    w.server = FakeMcpServer::new(tools);
    w.server.status.set(500);
    let run = w.post(&paid);
    assert_eq!(run.status, 500);
    assert!(matches!(run.release, Some(Release::Uncharged)));
    assert_eq!(w.f.calls("settle"), 0);
    // The same payment still pays once the server works.
    w.server.status.set(200);
    w.f.will_settle(Ok(settled()));
    let run = w.post(&paid);
    assert_eq!(run.log.outcome.as_str(), "paid", "{:?}", run.log);
    assert_eq!(w.f.calls("settle"), 1);
}

#[test]
fn a_payment_runs_its_call_once_unless_its_answer_was_withheld() {
    let w = World::new();
    w.f.will_settle(Ok(settled()));
    let payment = object(&w.payment("forecast", 1));
    let lisbon = |id: u32| {
        call(
            id,
            "forecast",
            json!({"city": "Lisbon"}),
            Some(payment.clone()),
        )
    };
    assert_eq!(w.post(&lisbon(1)).log.outcome.as_str(), "paid");
    // The same call with the same payment, after its answer went out: not run again (a tool
    // may act), not charged again.
    let calls = w.server.calls();
    let again = w.post(&lisbon(2));
    assert_eq!(
        again.reason(),
        Some("payment_already_used"),
        "{:?}",
        again.log
    );
    assert_eq!(again.message()["id"], 2);
    // Another call (other arguments) with that payment: refused too.
    let other = w.post(&call(
        3,
        "forecast",
        json!({"city": "Porto"}),
        Some(payment.clone()),
    ));
    assert_eq!(
        other.required().error.as_deref(),
        Some("payment_already_used")
    );
    assert_eq!(w.server.calls(), calls, "the server was not asked");
    assert_eq!(w.f.calls("settle"), 1);
}

#[test]
fn a_call_whose_settlement_the_chain_proved_later_is_answered_when_sent_again() {
    let w = World::new();
    let payment = object(&w.payment("forecast", 6));
    let paid = call(1, "forecast", json!({"city": "Lisbon"}), Some(payment));
    // /settle times out: the tool ran, its answer is withheld, nothing is known yet.
    w.f.will_settle(Err(FacilitatorError::Timeout));
    let first = w.post(&paid);
    assert_eq!(
        first.message()["error"]["data"]["error"],
        "facilitator_timeout",
        "{}",
        first.body
    );
    assert_eq!(first.message()["error"]["data"]["retryAfter"], 5);
    // The transfer was mined: the same call with the same payment gets its answer, from
    // the receipt the chain's proof wrote, without a second /settle.
    let plan = w.plan(&paid);
    w.c.chain.mine_transfer(
        plan.asset,
        (plan.payer, plan.pay_to),
        plan.amount,
        plan.nonce,
        &plan.signature,
    );
    w.now.set(NOW + 5);
    let again = w.post(&paid);
    assert_eq!(
        again.message()["result"]["structuredContent"]["t"],
        21,
        "{}",
        again.body
    );
    assert_eq!(
        again.message()["result"]["_meta"]["x402/payment-response"]["success"],
        true
    );
    assert_eq!(w.f.calls("settle"), 1);
}

#[test]
fn ids_a_server_could_echo_otherwise_are_refused_before_the_call() {
    let w = World::new();
    let payment = object(&w.payment("forecast", 7));
    for id in [
        json!(1.0),
        json!(9_007_199_254_740_993u64),
        json!({"a": 1}),
        json!([1]),
        json!(true),
    ] {
        let run = w.post(&call(
            id.clone(),
            "forecast",
            json!({}),
            Some(payment.clone()),
        ));
        assert_eq!(run.message()["error"]["code"], -32600, "{id}");
        assert_eq!(
            run.message()["error"]["data"]["error"],
            "invalid_mcp_request"
        );
    }
    assert_eq!(w.server.calls(), 0);
    for id in [json!(9_007_199_254_740_991u64), json!(-3), json!("x")] {
        let run = w.post(&call(id.clone(), "forecast", json!({}), None));
        assert_eq!(run.message()["id"], id);
        run.required();
    }
}

#[test]
fn a_body_the_server_would_decode_otherwise_is_refused() {
    let w = World::new();
    let body = call(1, "forecast", json!({}), None);
    for (content_type, encoding) in [
        (Some("application/json; charset=utf-7"), None),
        (Some("application/json;charset=\"UTF-16\""), None),
        (Some("application/json"), Some("gzip")),
    ] {
        w.server.client_sends(&body);
        let run = w.send_with("POST", None, content_type, encoding);
        assert_eq!(
            run.message()["error"]["code"],
            -32700,
            "{content_type:?} {encoding:?}"
        );
    }
    for content_type in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF8",
    ] {
        w.server.client_sends(&body);
        let run = w.send_with("POST", None, Some(content_type), Some("identity"));
        run.required();
    }
    // A body sent with another method than POST is read as a POST's.
    w.server.client_sends(&body);
    w.send("PUT", None).required();
    assert_eq!(w.server.calls(), 0);
}

#[test]
fn a_payment_for_one_tool_is_refused_on_another() {
    let w = World::new();
    // Both tools cost the same here, so only the resource tells them apart.
    let same_price = json!({
        "facilitator": {"url": "http://127.0.0.1:9/facilitator"},
        "routes": [{"match": "/mcp", "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}],
                    "mcp": {"tools": {"forecast": "$0.01", "fail": "$0.01"}}}]
    });
    for w in [w, World::with(same_price)] {
        let payment = object(&w.payment("forecast", 1));
        let run = w.post(&call(8, "fail", json!({}), Some(payment)));
        let required = run.required();
        assert!(
            matches!(
                run.reason(),
                Some("resource_mismatch") | Some("invalid_exact_evm_authorization_value")
            ),
            "{:?}",
            run.log
        );
        assert_eq!(required.resource.url, "mcp://tool/fail");
        assert_eq!(w.server.calls(), 0);
        assert_eq!(w.f.calls("verify") + w.f.calls("settle"), 0);
    }
}

#[test]
fn a_bad_payment_costs_no_facilitator_call_and_never_reaches_the_server() {
    let w = World::new();
    let good = w.payment("forecast", 1);
    let mut forged = object(&good);
    forged["payload"]["authorization"]["value"] = json!("1");
    let malformed = [
        (json!(5), "invalid_payload"),
        (json!("not base64 !"), "invalid_payload"),
        (json!({"x402Version": 2}), "invalid_payload"),
        (
            json!({"x402Version": 9, "payload": {}}),
            "invalid_x402_version",
        ),
        (forged, "invalid_exact_evm_signature"),
    ];
    for (payment, reason) in malformed {
        let run = w.post(&call(1, "forecast", json!({}), Some(payment.clone())));
        assert_eq!(run.status, 200);
        assert_eq!(run.reason(), Some(reason), "{payment}");
        assert_eq!(run.required().error.as_deref(), Some(reason));
    }
    // A `_meta` that is not an object holds no payment: the call is asked to pay.
    let mut odd = call(1, "forecast", json!({}), None);
    odd["params"]["_meta"] = json!("x402/payment");
    assert_eq!(w.post(&odd).reason(), Some("payment_required"));
    assert_eq!(w.server.calls(), 0);
    assert_eq!(w.f.calls("verify") + w.f.calls("settle"), 0);
}

#[test]
fn requests_that_cannot_be_priced_are_refused_whole() {
    let w = World::new();
    let paid_in_batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        call(2, "forecast", json!({}), None)
    ]);
    let mut notification = call(1, "forecast", json!({}), None);
    notification.as_object_mut().unwrap().remove("id");
    for (body, code) in [(paid_in_batch, -32600), (notification, -32600)] {
        let run = w.post(&body);
        assert_eq!(run.status, 200);
        let message = run.message();
        assert_eq!(message["id"], Value::Null);
        assert_eq!(message["error"]["code"], code);
        assert_eq!(message["error"]["data"]["error"], "invalid_mcp_request");
    }
    // Not JSON (a lenient server might read it as a call).
    *w.server.request.borrow_mut() = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"forecast","arguments":{"x":NaN}}}"#.to_vec();
    let run = w.send("POST", None);
    assert_eq!(run.message()["error"]["code"], -32700);
    // Over the limit.
    *w.server.request.borrow_mut() = vec![b' '; edge402::gate::mcp::MAX_REQUEST_BYTES + 1];
    let run = w.send("POST", None);
    assert_eq!((run.status, run.reason()), (413, Some("request_too_large")));
    assert_eq!(w.server.calls(), 0);
}

#[test]
fn a_stream_that_breaks_before_the_response_charges_nothing_and_serves_nothing() {
    let w = World::new();
    let payment = object(&w.payment("forecast", 1));
    let paid = call(1, "forecast", json!({}), Some(payment));
    w.server.stream.set(true);
    // Cut inside the response's event, after the progress notification.
    w.server.cut_at.set(Some(200));
    let run = w.post(&paid);
    let message = run.message();
    assert_eq!(message["id"], 1);
    assert_eq!(message["error"]["data"]["error"], "origin_unavailable");
    assert_eq!(message["error"]["data"]["retryAfter"], 2);
    assert_eq!(w.f.calls("settle"), 0);
    // The same payment pays when the stream comes whole.
    w.server.cut_at.set(None);
    w.f.will_settle(Ok(settled()));
    assert_eq!(w.post(&paid).log.outcome.as_str(), "paid");
}

#[test]
fn a_stream_left_open_after_the_response_is_read_up_to_it() {
    let w = World::new();
    w.f.will_settle(Ok(settled()));
    let payment = object(&w.payment("forecast", 1));
    w.server.stream.set(true);
    *w.server.trailer.borrow_mut() = ": keepalive

"
    .repeat(1000);
    let before = w.server.read.get();
    let run = w.post(&call(1, "forecast", json!({}), Some(payment)));
    assert_eq!(run.log.outcome.as_str(), "paid");
    assert!(
        w.server.read.get() - before < 1000,
        "read {}",
        w.server.read.get() - before
    );
    assert!(!run.body.contains("keepalive"));
    assert_eq!(
        run.message()["result"]["_meta"]["x402/payment-response"]["success"],
        true
    );
}

#[test]
fn a_failed_settlement_never_releases_the_result() {
    let w = World::new();
    w.f.will_settle(Ok(refused_settlement("insufficient_funds")));
    let payment = object(&w.payment("forecast", 1));
    let run = w.post(&call(
        1,
        "forecast",
        json!({"city": "Lisbon"}),
        Some(payment),
    ));
    assert_eq!(run.reason(), Some("insufficient_funds"));
    let required = run.required();
    assert_eq!(required.error.as_deref(), Some("insufficient_funds"));
    let message = run.message();
    assert_eq!(
        message["result"]["_meta"]["x402/payment-response"]["success"],
        false
    );
    assert!(!run.body.contains("forecast of"), "{}", run.body);
    assert_eq!(
        w.server.calls(),
        1,
        "the tool ran (it runs before settlement)"
    );
}

#[test]
fn mcp_routes_are_checked_when_configured() {
    let route = |extra: Value| {
        let mut route = json!({"match": "/mcp", "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}],
                               "mcp": {"tools": {"forecast": "$0.01"}}});
        for (key, value) in extra.as_object().unwrap() {
            route[key] = value.clone();
        }
        GatewayConfig::from_json(&json!({
            "facilitator": {"url": "http://127.0.0.1:9/facilitator"},
            "routes": [route]
        }))
    };
    assert!(route(json!({})).is_ok());
    let refused = [
        (json!({"price": "$0.01"}), "price"),
        (json!({"settle": "before-origin"}), "settle"),
        (json!({"access_s": 60}), "access_s"),
        (json!({"match": "GET /mcp"}), "match"),
        (json!({"mcp": {}}), "tools"),
        (json!({"mcp": {"tools": {}}}), "tools"),
        (json!({"mcp": {"tools": {"forecast": 5}}}), "forecast"),
        (json!({"mcp": {"tools": {"forecast": "free"}}}), "forecast"),
        (
            json!({"mcp": {"tools": {"a": "$0.01"}, "other": 1}}),
            "other",
        ),
        (json!({"mcp": {"tools": {"forecast": "$0"}}}), "forecast"),
    ];
    for (extra, key) in refused {
        let error = route(extra.clone()).unwrap_err();
        assert!(error.key.ends_with(key), "{extra}: {error}");
    }
    // A tool priced per call signs its quotes with QUOTE_SECRET.
    let error = Gate::from_json(&config(), Secrets::default()).unwrap_err();
    assert_eq!(error.key, "QUOTE_SECRET");
}

#[test]
fn a_tool_priced_per_call_is_quoted_and_held_to_its_quote() {
    let w = World::new();
    let required = w.offer("echo_paid");
    assert_eq!(required.accepts[0].amount.to_string(), "20000");
    assert!(required.accepts[0].extra.as_ref().unwrap()["edge402Quote"].is_string());
    let ask = w.p.asked.borrow()[0].clone();
    assert_eq!(ask.tool.as_deref(), Some("echo_paid"));
    assert_eq!((ask.method.as_str(), ask.path.as_str()), ("POST", "/mcp"));
    // The price changes; the quoted payment still settles at its quote, without asking again.
    w.p.set("$0.05");
    let payment = paying(required.clone(), 9);
    w.f.will_settle(Ok(settled()));
    let asked = w.p.calls();
    let run = w.post(&call(
        1,
        "echo_paid",
        json!({"a": 1}),
        Some(object(&payment)),
    ));
    assert_eq!(run.log.outcome.as_str(), "paid", "{:?}", run.log);
    assert_eq!(w.p.calls(), asked);
    // A quote for another tool is not this one's.
    let forecast = w.payment("forecast", 2);
    let mut lifted = object(&forecast);
    lifted["accepted"]["extra"] = required.accepts[0].extra.clone().unwrap();
    let run = w.post(&call(2, "echo_paid", json!({}), Some(lifted)));
    assert!(run.required().error.is_some(), "{:?}", run.log);
    assert_eq!(w.f.calls("settle"), 1);
    // The tools/list annotation says it is paid, at a price only a call can tell.
    let listed = w.post(&json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}));
    let tools = listed.message()["result"]["tools"].clone();
    let listed = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo_paid")
        .unwrap_or_else(|| panic!("{tools}"));
    assert_eq!(listed["_meta"]["agents-x402/paymentRequired"], true);
    assert_eq!(listed["_meta"].get("agents-x402/priceUSD"), None);
    assert_eq!(listed["_meta"].get("x402/accepts"), None);
}
