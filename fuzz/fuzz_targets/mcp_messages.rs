//! The MCP transport's readers of untrusted input: a request body on an MCP route, decided
//! by a gate (the JSON-RPC reading, the payment in `_meta` in both of its forms, its removal
//! from what the server gets), and a server's answer read as it arrives (JSON or an SSE
//! stream, in pieces of every size the input picks) then edited (the settlement, the prices).
//!
//! Besides "never panics": a paid call's forwarded body is JSON without the payment; an
//! answer's bytes read back to the same answer; edits keep it readable, and a settlement
//! written into a call's result is found there.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

use edge402::gate::mcp::wire::{AnswerReader, McpAnswer, McpPrices, PAYMENT_META};
use edge402::gate::{Decision, Gate, RequestFacts, Secrets};

/// The fixed clock payments are verified at.
const NOW: u64 = 1_740_672_100;

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| {
        let config = json!({
            "routes": [{
                "match": "/mcp",
                "accepts": [{"network": "base-sepolia", "pay_to": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"}],
                "mcp": {"tools": {"forecast": "$0.01", "t": "1000"}},
            }]
        });
        Gate::from_json(&config, Secrets::default()).expect("the fuzz gate's configuration")
    })
}

fn prices() -> &'static McpPrices {
    static PRICES: OnceLock<std::sync::Arc<McpPrices>> = OnceLock::new();
    PRICES.get_or_init(|| {
        let edge402::config::Access::Paid(paid) = &gate().config().routes[0].access else {
            unreachable!("the route is priced")
        };
        McpPrices::of_route(paid.mcp.as_deref().expect("an MCP route"))
    })
}

fn decide(body: &[u8]) {
    let facts = RequestFacts {
        method: "POST",
        path: "/mcp",
        base_url: "https://edge.example",
        body: Some(body),
        ..RequestFacts::default()
    };
    if let Decision::Pay(plan) = gate().decide(&facts, NOW) {
        let call = plan.mcp.expect("a paid call on an MCP route");
        let forwarded: Value =
            serde_json::from_slice(&call.forward).expect("the forwarded call is JSON");
        assert!(forwarded["params"]["_meta"].get(PAYMENT_META).is_none());
    }
}

fn read_answer(data: &[u8]) {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let stream = split & 1 == 1;
    let piece = usize::from(split >> 1).max(1);
    let content_type = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    let id = json!(1);
    let mut reader = AnswerReader::new(Some(content_type.into()), id.clone());
    for chunk in body.chunks(piece) {
        if !reader.take(chunk) {
            break;
        }
    }
    let Ok(answer) = reader.finish() else {
        return;
    };
    let again = McpAnswer::read(Some(content_type), &answer.to_bytes());
    assert_eq!(
        again.as_ref(),
        Some(&answer),
        "an answer writes back to itself"
    );
    let outcome = answer.outcome(&id);
    let settlement = json!({"success": true, "transaction": "0x01"});
    let settled = answer.clone().with_settlement(&id, &settlement);
    assert!(McpAnswer::read(Some(content_type), &settled.to_bytes()).is_some());
    assert_eq!(
        settled.outcome(&id),
        outcome,
        "a settlement changes no outcome"
    );
    if outcome == edge402::gate::mcp::wire::CallOutcome::Succeeded {
        let response = settled.response_to(&id).expect("a response");
        assert_eq!(
            response["result"]["_meta"]["x402/payment-response"],
            settlement
        );
    }
    let listed = answer.with_prices(&id, prices());
    assert!(McpAnswer::read(Some(content_type), &listed.to_bytes()).is_some());
}

fuzz_target!(|data: &[u8]| {
    decide(data);
    read_answer(data);
});
