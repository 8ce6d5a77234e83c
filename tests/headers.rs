//! The base64 header examples of the x402 transport specs decode to their JSON and to the
//! typed wire model, and the typed model writes the same JSON back.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use edge402::networks::Networks;
use edge402::protocol::facilitator::SettleResponse;
use edge402::protocol::{
    decode_header, encode_header, v2, HeaderError, PaymentPayload, Reason, MAX_HEADER_LEN,
};
use edge402::verify::verify_payment;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Examples {
    examples: Vec<Example>,
}

#[derive(Deserialize)]
struct Example {
    id: String,
    header: String,
    base64: String,
    json: Value,
}

fn examples() -> Vec<Example> {
    serde_json::from_str::<Examples>(common::TRANSPORT_EXAMPLES)
        .unwrap()
        .examples
}

/// Decodes an example into the type its header carries and writes it back as JSON.
fn typed_round_trip(example: &Example) -> Value {
    match example.header.as_str() {
        "X-PAYMENT" | "PAYMENT-SIGNATURE" => {
            let payment = PaymentPayload::from_header(&example.base64).unwrap();
            let expected_version = if example.header == "X-PAYMENT" { 1 } else { 2 };
            assert_eq!(payment.version(), expected_version, "{}", example.id);
            serde_json::to_value(&payment).unwrap()
        }
        "PAYMENT-REQUIRED" => {
            serde_json::to_value(decode_header::<v2::PaymentRequired>(&example.base64).unwrap())
                .unwrap()
        }
        "X-PAYMENT-RESPONSE" | "PAYMENT-RESPONSE" => {
            serde_json::to_value(SettleResponse::from_header(&example.base64).unwrap()).unwrap()
        }
        other => panic!("unknown header {other}"),
    }
}

#[test]
fn spec_examples_decode_to_their_json_and_back() {
    let all = examples();
    assert_eq!(all.len(), 7);
    for example in &all {
        let raw: Value = decode_header(&example.base64).unwrap();
        assert_eq!(raw, example.json, "{}", example.id);
        assert_eq!(typed_round_trip(example), example.json, "{}", example.id);
    }
}

#[test]
fn spec_examples_encode_to_the_same_base64() {
    // The specs' JSON is compact with fields in declaration order, as serde writes typed
    // structs. (A payment's scheme-specific `payload` is a JSON map and is written with sorted
    // keys, so payments re-encode to equal JSON but not to the same bytes.)
    let responses: Vec<_> = examples()
        .into_iter()
        .filter(|e| e.header.contains("RESPONSE"))
        .collect();
    assert_eq!(responses.len(), 4);
    for example in responses {
        let reencoded = SettleResponse::from_header(&example.base64)
            .unwrap()
            .to_header();
        assert_eq!(reencoded, example.base64, "{}", example.id);
    }
}

#[test]
fn spec_failure_reason_maps_to_the_current_code() {
    let failure = examples()
        .into_iter()
        .find(|e| e.id == "v1-x-payment-response-failure")
        .unwrap();
    let settle = SettleResponse::from_header(&failure.base64).unwrap();
    assert!(!settle.success);
    assert_eq!(settle.transaction, "");
    assert_eq!(
        settle.reason(),
        Some(Reason::InvalidExactEvmInsufficientBalance)
    );
}

#[test]
fn spec_v1_payment_verifies_against_its_requirement() {
    let example = examples()
        .into_iter()
        .find(|e| e.id == "v1-x-payment")
        .unwrap();
    let payment = PaymentPayload::from_header(&example.base64).unwrap();
    let requirement = v2::PaymentRequirements {
        scheme: "exact".into(),
        network: "base-sepolia".into(),
        amount: common::uint("10000"),
        asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e".into(),
        pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
        max_timeout_seconds: 60,
        extra: Some(json!({"name": "USDC", "version": "2"})),
    };
    let verified = verify_payment(
        &payment,
        &[requirement],
        &Networks::builtin(),
        1_740_672_100,
    )
    .unwrap();
    assert_eq!(
        verified.payer.to_string(),
        "0x857b06519E91e3A54538791bDbb0E22373e36b66"
    );
}

#[test]
fn hostile_headers_get_typed_errors() {
    let too_long = "A".repeat(MAX_HEADER_LEN + 1);
    assert_eq!(
        PaymentPayload::from_header(&too_long),
        Err(HeaderError::TooLong {
            len: MAX_HEADER_LEN + 1
        })
    );
    assert_eq!(
        PaymentPayload::from_header("not base64!"),
        Err(HeaderError::Base64)
    );
    assert_eq!(
        PaymentPayload::from_header("eyJ4N"),
        Err(HeaderError::Base64)
    );
    assert_eq!(
        PaymentPayload::from_header("eyJ4NDAyVmVyc2lvbiI6MX0"),
        Err(HeaderError::Base64),
        "padding is required"
    );
    let encode = |v: &Value| encode_header(v);
    assert!(matches!(
        PaymentPayload::from_header(&encode(&json!([1]))),
        Err(HeaderError::Json { .. })
    ));
    assert_eq!(
        PaymentPayload::from_header(&encode(&json!({"scheme": "exact"}))),
        Err(HeaderError::MissingVersion)
    );
    assert_eq!(
        PaymentPayload::from_header(&encode(&json!({"x402Version": 3}))),
        Err(HeaderError::UnsupportedVersion { found: "3".into() })
    );
    assert_eq!(
        PaymentPayload::from_header(&encode(&json!({"x402Version": "1"}))),
        Err(HeaderError::UnsupportedVersion {
            found: "\"1\"".into()
        })
    );
    assert!(matches!(
        PaymentPayload::from_header(&encode(&json!({"x402Version": 1, "scheme": "exact"}))),
        Err(HeaderError::Json { .. })
    ));
    // Invalid UTF-8 inside valid base64.
    assert!(matches!(
        PaymentPayload::from_header("/w=="),
        Err(HeaderError::Json { .. })
    ));
    // Deeply nested JSON is refused: past the size cap by the cap, below it by serde_json's
    // recursion limit, never by a stack overflow.
    let deep = base64_of(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).as_bytes());
    assert!(matches!(
        PaymentPayload::from_header(&deep),
        Err(HeaderError::TooLong { .. })
    ));
    let nested = base64_of(format!("{}{}", "[".repeat(1000), "]".repeat(1000)).as_bytes());
    assert!(matches!(
        decode_header::<Value>(&nested),
        Err(HeaderError::Json { .. })
    ));
}

#[test]
fn unknown_fields_are_tolerated() {
    let settle: SettleResponse = decode_header(&encode_header(&json!({
        "success": true, "transaction": "0xab", "network": "base", "payer": "0x01",
        "errorMessage": "", "somethingNew": {"a": 1}
    })))
    .unwrap();
    assert!(settle.success);
    // The v2 transport spec's failure example omits transaction and payer.
    let failure: SettleResponse = decode_header(&encode_header(&json!({
        "success": false, "errorReason": "insufficient_funds", "network": "eip155:84532"
    })))
    .unwrap();
    assert_eq!((failure.transaction.as_str(), failure.payer), ("", None));
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
