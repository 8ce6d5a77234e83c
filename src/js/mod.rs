//! The wasm-bindgen API for JavaScript (feature `js`): plain objects in and out, camelCase
//! names as on the wire, and thrown `Error`s that carry a machine-readable `reason`.
//!
//! Amounts and times are decimal strings, as in x402 itself; `now` arguments are unix
//! seconds as whole numbers.
//!
//! Feature `js-verify` builds `verifyPayment` alone (for size-sensitive pages); feature `js`
//! adds the rest of the API ([`full`]).

#[cfg(all(feature = "js", target_arch = "wasm32"))]
mod coordinator;
#[cfg(feature = "js")]
mod full;
#[cfg(all(feature = "js", target_arch = "wasm32"))]
mod gateway;

use wasm_bindgen::prelude::*;

use crate::networks::Networks;
use crate::protocol::{decode_header_bytes, HeaderError, Reason};
use crate::verify::{light, SignatureCheck};

/// The TypeScript shapes of the values this API takes and returns.
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A thrown edge402 error: `reason` is a wire reason code such as `invalid_payload`. */
export interface Edge402Error extends Error { reason: string }
/** The resource a challenge or payment is for. */
export interface ResourceInfo { url: string; description?: string; mimeType?: string }
/** The token's EIP-712 domain name and version, for exact-EVM requirements. */
export interface Eip712Extra { name: string; version: string; [key: string]: unknown }
/** x402 v2 payment requirements. Amounts are decimal strings of atomic units. */
export interface PaymentRequirementsV2 {
  scheme: string; network: string; amount: string; asset: string; payTo: string;
  maxTimeoutSeconds: number; extra?: Eip712Extra;
}
/** x402 v1 payment requirements (`accepts[]` of a v1 402 body). */
export interface PaymentRequirementsV1 {
  scheme: string; network: string; maxAmountRequired: string; asset: string; payTo: string;
  resource: string; description: string; mimeType: string; outputSchema?: unknown;
  maxTimeoutSeconds: number; extra?: Eip712Extra;
}
export type PaymentRequirements = PaymentRequirementsV1 | PaymentRequirementsV2;
/** The signed EIP-3009 authorisation; numbers are decimal strings. */
export interface ExactEvmAuthorization {
  from: string; to: string; value: string; validAfter: string; validBefore: string; nonce: string;
}
/** The `payload` of an exact-EVM payment. */
export interface ExactEvmPayload { signature: string; authorization: ExactEvmAuthorization }
/** An x402 v1 payment (`X-PAYMENT`). */
export interface PaymentPayloadV1 {
  x402Version: 1; scheme: string; network: string; payload: ExactEvmPayload | Record<string, unknown>;
}
/** An x402 v2 payment (`PAYMENT-SIGNATURE`). */
export interface PaymentPayloadV2 {
  x402Version: 2; resource?: ResourceInfo; accepted: PaymentRequirementsV2;
  payload: ExactEvmPayload | Record<string, unknown>; extensions?: Record<string, unknown>;
}
export type PaymentPayload = PaymentPayloadV1 | PaymentPayloadV2;
/** The v2 challenge carried by `PAYMENT-REQUIRED`. */
export interface PaymentRequired {
  x402Version: 2; error?: string; resource: ResourceInfo; accepts: PaymentRequirementsV2[];
  extensions?: Record<string, unknown>;
}
/** A facilitator's `/settle` answer, also the `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE` header. */
export interface SettleResponse {
  success: boolean; errorReason?: string; transaction: string; network: string; payer?: string;
  amount?: string; extensions?: Record<string, unknown>;
}
/** What `verifyPayment` says. */
export interface Verdict {
  valid: boolean; reason?: string; detail?: string; payer?: string;
  /** A smart-wallet signature: only a facilitator's `/verify` can accept it. */
  needsFacilitator: boolean;
}
/** What `checkSettlement` says. */
export interface SettlementCheck { ok: boolean; reason?: string; settlement: SettleResponse }
/** What `checkSettlement` compares, when given. */
export interface SettlementExpectation { network?: string; payer?: string }
/** The input of `buildRequirements`. */
export interface RequirementsOptions {
  price: string; network: string; payTo: string; asset?: string; maxTimeoutSeconds?: number;
  version?: 1 | 2; resource?: ResourceInfo;
}
/** The options of `createPayment`. */
export interface PaymentOptions { now?: number; nonce?: string; resource?: ResourceInfo }
"#;

/// Verifies a payment header (`X-PAYMENT` or `PAYMENT-SIGNATURE` value) against offered
/// requirements (an array of v1 or v2 requirement objects) at unix time `now` (seconds).
///
/// Returns `{ valid, reason?, detail?, payer?, needsFacilitator }`. Throws an `Error` with a
/// `reason` only when the requirements themselves cannot be read or `now` is not a time.
///
/// The checks and reason codes are the gateway's. On malformed JSON this is a little
/// stricter than the gateway (nesting deeper than 32 levels, a lone `\ud800` escape, a
/// repeated member in `payload`), and of a v2 `accepted.extra` it compares `name` and
/// `version` only. (Rust: it reads payments with `verify::light`, without `serde_json`.)
#[wasm_bindgen(js_name = verifyPayment, unchecked_return_type = "Verdict")]
pub fn verify_payment_js(
    header: &str,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements[]")] requirements: JsValue,
    now: f64,
) -> Result<JsValue, JsValue> {
    let requirements = json_text(&requirements, Reason::InvalidPaymentRequirements)?;
    let refuse = |e: HeaderError| match e {
        HeaderError::Json { message } => error(Reason::InvalidPaymentRequirements, &message),
        other => error(Reason::InvalidPaymentRequirements, &other.to_string()),
    };
    let fields = light::read_requirements(requirements.as_bytes()).map_err(refuse)?;
    let offers = fields
        .iter()
        .map(light::OfferFields::offer)
        .collect::<Result<Vec<_>, _>>()
        .map_err(refuse)?;
    let now = unix_seconds(now)?;
    let outcome = decode_header_bytes(header)
        .map_err(light::LightError::Header)
        .and_then(|json| light::verify_payment_json(&json, &offers, networks(), now));
    let mut verdict = String::with_capacity(128);
    match outcome {
        Ok(verified) => {
            let smart_wallet = verified.signature == SignatureCheck::NeedsFacilitator;
            verdict.push_str(r#"{"valid":true,"payer":""#);
            verdict.push_str(&verified.payer.to_checksum());
            verdict.push_str(r#"","needsFacilitator":"#);
            verdict.push_str(if smart_wallet { "true}" } else { "false}" });
        }
        Err(refused) => {
            let (reason, detail) = match refused {
                light::LightError::Header(e) => (e.reason(), e.to_string()),
                light::LightError::Verify(e) => (e.reason(), e.to_string()),
            };
            verdict.push_str(r#"{"valid":false,"reason":""#);
            verdict.push_str(reason.as_str());
            verdict.push_str(r#"","detail":"#);
            light::push_json_string(&mut verdict, &detail);
            verdict.push_str(r#","needsFacilitator":false}"#);
        }
    }
    // One `JSON.parse` rather than a `Reflect.set` per property, each of whose keys and
    // values would cross into JavaScript on its own: about 2 % of a verification.
    js_sys::JSON::parse(&verdict)
}

/// The built-in network table, built once per instance.
fn networks() -> &'static Networks {
    static NETWORKS: std::sync::OnceLock<Networks> = std::sync::OnceLock::new();
    NETWORKS.get_or_init(Networks::builtin)
}

/// Reads a JavaScript value into a type; a mismatch throws with `reason`. The value crosses
/// as JSON text (`JSON.stringify`), so every type has one deserialiser, the one header
/// decoding uses too, and unknown fields are seen (and refused where a type says so).
#[cfg(feature = "js")]
fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, reason: Reason) -> Result<T, JsValue> {
    let text = json_text(&value, reason)?;
    serde_json::from_str(&text).map_err(|e| error(reason, &e.to_string()))
}

/// A JavaScript value as JSON text (`JSON.stringify`); a value JSON cannot hold throws.
fn json_text(value: &JsValue, reason: Reason) -> Result<String, JsValue> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| error(reason, "the value cannot be written as JSON"))
}

/// Writes a value as plain JavaScript objects, through JSON text (`JSON.parse`).
#[cfg(feature = "js")]
fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text =
        serde_json::to_string(value).map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// A JavaScript number of seconds as `u64`, refusing NaN, negatives and fractions.
fn unix_seconds(now: f64) -> Result<u64, JsValue> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if now.is_finite() && now >= 0.0 && now.fract() == 0.0 && now <= MAX_SAFE_INTEGER {
        // Checked just above: a whole number in 0..=2^53-1 converts exactly.
        Ok(now as u64)
    } else {
        Err(error(
            Reason::InvalidPayload,
            "now must be whole unix seconds",
        ))
    }
}

/// A JavaScript `Error` with a `reason` property.
fn error(reason: Reason, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    // Defining a property on a fresh, extensible Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"reason".into(), &reason.as_str().into());
    error.into()
}
