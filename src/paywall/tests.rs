//! The paywall page, rendered through the gate as a browser gets it.

use serde_json::json;

use super::*;
use crate::gate::http::{answer, Answer};
use crate::gate::{Decision, Gate, RequestFacts, Secrets};

const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

fn gate(description: &str) -> Gate {
    let config = json!({
        "routes": [
            {"match": "/", "free": true},
            {"match": "GET /api/*", "price": "$0.001", "description": description,
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]},
            {"match": "POST /orders", "price": "$0.01",
             "accepts": [{"network": "base-sepolia", "pay_to": PAY_TO}]},
        ]
    });
    Gate::from_json(&config, Secrets::default()).expect("valid configuration")
}

fn facts<'a>(method: &'a str, path: &'a str, accept: Option<&'a str>) -> RequestFacts<'a> {
    RequestFacts {
        method,
        path,
        base_url: "https://edge.example",
        accept,
        ..RequestFacts::default()
    }
}

fn answer_of(gate: &Gate, request: &RequestFacts<'_>) -> Answer {
    match gate.decide(request, 0) {
        Decision::Refuse(refused) => answer(&refused, &gate.config().networks),
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

#[test]
fn browsers_get_the_page_and_api_clients_keep_the_json() {
    let gate = gate("Demo data");
    let page = answer_of(&gate, &facts("GET", "/api/x", Some(BROWSER)));
    assert_eq!(page.status, 402);
    assert_eq!(
        header(&page, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&page, "Cache-Control"), Some("no-store"));
    assert!(header(&page, "PAYMENT-REQUIRED").is_some());
    assert!(header(&page, "Content-Security-Policy")
        .unwrap()
        .contains("script-src 'self' 'wasm-unsafe-eval'"));
    let required: v2::PaymentRequired =
        crate::protocol::decode_header(header(&page, "PAYMENT-REQUIRED").unwrap()).unwrap();
    assert_eq!(required.error.as_deref(), Some("payment_required"));
    assert!(page.body.starts_with("<!doctype html>"));
    assert!(page.body.contains("<h1>Payment required</h1>"));
    assert!(page.body.contains("0.001 USDC"));
    assert!(page.body.contains("Base Sepolia"));
    assert!(page
        .body
        .contains("<button type=\"button\" id=\"edge402-pay\""));
    assert!(page.body.contains("aria-live=\"polite\""));
    for name in [
        "title", "style", "url", "format", "prices", "pay_to", "refused", "what",
    ] {
        assert!(
            !page.body.contains(&format!("{{{name}}}")),
            "{name} is filled"
        );
    }

    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("application/json, text/html;q=0.5"),
        Some("application/json, text/html"),
        Some("text/html;q=0"),
        Some("text/*"),
    ] {
        let json = answer_of(&gate, &facts("GET", "/api/x", accept));
        assert_eq!(json.status, 402, "{accept:?}");
        assert_eq!(
            header(&json, "Content-Type"),
            Some("application/json"),
            "{accept:?}"
        );
        assert!(json.body.starts_with('{'), "{accept:?}");
    }
}

#[test]
fn the_page_is_only_for_unpaid_gets_of_paid_routes() {
    let gate = gate("Demo data");
    // A payment header, even a broken one, is answered as the protocol says.
    let paying = RequestFacts {
        payment_signature: Some("not base64"),
        ..facts("GET", "/api/x", Some(BROWSER))
    };
    let refused = answer_of(&gate, &paying);
    assert_eq!(
        (refused.status, header(&refused, "Content-Type")),
        (400, Some("application/json"))
    );
    // The page retries with GET: a POST-only route keeps the JSON.
    let post = answer_of(&gate, &facts("POST", "/orders", Some(BROWSER)));
    assert_eq!(header(&post, "Content-Type"), Some("application/json"));
    let head = answer_of(&gate, &facts("HEAD", "/api/x", Some(BROWSER)));
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    // Free routes are free for browsers too.
    assert!(matches!(
        gate.decide(&facts("GET", "/", Some(BROWSER)), 0),
        Decision::Free { .. }
    ));
}

#[test]
fn every_interpolated_text_is_escaped() {
    let hostile = "</script><script>alert(1)</script>\"'&<b>{title}";
    let gate = gate(hostile);
    let path = "/api/%3Cimg%20src=x%3E";
    let page = answer_of(&gate, &facts("GET", path, Some(BROWSER))).body;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<b>"), "{page}");
    assert!(page.contains(
        "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;b&gt;{title}"
    ));
    // Only the page's own two script elements, each closed once.
    assert_eq!(page.matches("<script").count(), 2, "{page}");
    assert_eq!(page.matches("</script>").count(), 2, "{page}");
    // The embedded JSON reads back as the exact PaymentRequired of the header.
    let start = page
        .find("application/json\" id=\"edge402-payment-required\">")
        .unwrap();
    let json = &page[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
    let embedded: v2::PaymentRequired = serde_json::from_str(json).unwrap();
    assert_eq!(embedded.resource.description.as_deref(), Some(hostile));
    let answer = answer_of(&gate, &facts("GET", path, Some(BROWSER)));
    let header: v2::PaymentRequired =
        crate::protocol::decode_header(header(&answer, "PAYMENT-REQUIRED").unwrap()).unwrap();
    assert_eq!(embedded, header);
}

#[test]
fn escaping_helpers() {
    assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    assert_eq!(escape("plain ü"), "plain ü");
    let required = v2::PaymentRequired {
        x402_version: crate::protocol::Version,
        error: None,
        resource: v2::ResourceInfo {
            url: "https://x.example/a?b=<c>&d=\u{2028}".into(),
            description: Some("</SCRIPT><!--".into()),
            mime_type: None,
        },
        accepts: vec![],
        extensions: None,
    };
    let json = script_json(&required);
    assert!(!json.contains('<') && !json.contains('\u{2028}'), "{json}");
    assert!(json.contains("\\u003c/SCRIPT\\u003e\\u003c!--"));
    let back: v2::PaymentRequired = serde_json::from_str(&json).unwrap();
    assert_eq!(back, required);
}

#[test]
fn templates_fill_named_placeholders_once() {
    assert_eq!(
        fill("a {x} b {y}", &[("x", "1"), ("y", "{x}")]),
        "a 1 b {x}"
    );
    assert_eq!(fill("{unknown} {", &[]), "{unknown} {");
    assert_eq!(fill("{x}{x}", &[("x", "ü")]), "üü");
}
