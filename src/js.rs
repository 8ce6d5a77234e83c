//! The wasm-bindgen API for JavaScript (feature `js`): plain objects in and out, camelCase
//! names as on the wire, and thrown `Error`s that carry a machine-readable `reason`.
//!
//! Amounts and times are decimal strings, as in x402 itself; `now` arguments are unix
//! seconds as whole numbers.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::evm::signer::PaymentSigner;
use crate::evm::{recover_address_from_prehash, Bytes32, ExactEvmPayload, SignatureKind};
use crate::networks::Networks;
use crate::pay::{pay_v1, pay_v2, random_nonce};
use crate::pricing::Price;
use crate::protocol::facilitator::SettleResponse;
use crate::protocol::{
    decode_header, encode_header, v2, PaymentPayload, PaymentRequirements, Reason,
};
use crate::terms::{ExactEvmTerms, EXACT};
use crate::verify::{verify_payment, SignatureCheck};

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

/// The verdict `verifyPayment` returns.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Verdict {
    valid: bool,
    /// The wire reason of the first failing check.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    /// A sentence for people saying what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer: Option<String>,
    /// `true` for smart-wallet signatures, which only a facilitator can check.
    needs_facilitator: bool,
}

/// Verifies a payment header (`X-PAYMENT` or `PAYMENT-SIGNATURE` value) against offered
/// requirements (an array of v1 or v2 requirement objects) at unix time `now` (seconds).
///
/// Returns `{ valid, reason?, detail?, payer?, needsFacilitator }`. Throws an `Error` with a
/// `reason` only when the requirements themselves cannot be read or `now` is not a time.
#[wasm_bindgen(js_name = verifyPayment, unchecked_return_type = "Verdict")]
pub fn verify_payment_js(
    header: &str,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements[]")] requirements: JsValue,
    now: f64,
) -> Result<JsValue, JsValue> {
    let offered = offered_requirements(requirements)?;
    let now = unix_seconds(now)?;
    let verdict = match PaymentPayload::from_header(header) {
        Err(e) => Verdict::invalid(header_reason(&e), e.to_string()),
        Ok(payment) => match verify_payment(&payment, &offered, networks(), now) {
            Ok(verified) => Verdict {
                valid: true,
                reason: None,
                detail: None,
                payer: Some(verified.payer.to_string()),
                needs_facilitator: verified.signature == SignatureCheck::NeedsFacilitator,
            },
            Err(e) => Verdict::invalid(e.reason(), e.to_string()),
        },
    };
    to_js(&verdict)
}

/// Decodes a payment header (`X-PAYMENT` or `PAYMENT-SIGNATURE`) into its JSON object.
/// Throws with reason `invalid_payload` or `invalid_x402_version`.
#[wasm_bindgen(js_name = decodePaymentHeader, unchecked_return_type = "PaymentPayload")]
pub fn decode_payment_header(value: &str) -> Result<JsValue, JsValue> {
    let payment =
        PaymentPayload::from_header(value).map_err(|e| error(header_reason(&e), &e.to_string()))?;
    to_js(&payment)
}

/// Encodes a payment object (v1 or v2, by its `x402Version`) as a header value. Throws with
/// reason `invalid_payload` when the object is not a payment.
#[wasm_bindgen(js_name = encodePaymentHeader)]
pub fn encode_payment_header(
    #[wasm_bindgen(unchecked_param_type = "PaymentPayload")] payment: JsValue,
) -> Result<String, JsValue> {
    let json: serde_json::Value = from_js(payment, Reason::InvalidPayload)?;
    let payment =
        PaymentPayload::from_json(json).map_err(|e| error(header_reason(&e), &e.to_string()))?;
    Ok(payment.to_header())
}

/// Decodes a v2 `PAYMENT-REQUIRED` header. Throws with reason `invalid_payload`.
#[wasm_bindgen(js_name = decodePaymentRequired, unchecked_return_type = "PaymentRequired")]
pub fn decode_payment_required(value: &str) -> Result<JsValue, JsValue> {
    decode_typed::<v2::PaymentRequired>(value)
}

/// Encodes a v2 `PaymentRequired` object as a `PAYMENT-REQUIRED` header value.
#[wasm_bindgen(js_name = encodePaymentRequired)]
pub fn encode_payment_required(
    #[wasm_bindgen(unchecked_param_type = "PaymentRequired")] required: JsValue,
) -> Result<String, JsValue> {
    encode_typed::<v2::PaymentRequired>(required)
}

/// Decodes a settlement header (`PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE`) or a facilitator's
/// `/settle` answer. Throws with reason `invalid_payload`.
#[wasm_bindgen(js_name = decodeSettlement, unchecked_return_type = "SettleResponse")]
pub fn decode_settlement(value: &str) -> Result<JsValue, JsValue> {
    decode_typed::<SettleResponse>(value)
}

/// Encodes a settlement object as a header value.
#[wasm_bindgen(js_name = encodeSettlement)]
pub fn encode_settlement(
    #[wasm_bindgen(unchecked_param_type = "SettleResponse")] settlement: JsValue,
) -> Result<String, JsValue> {
    encode_typed::<SettleResponse>(settlement)
}

/// What `checkSettlement` expects of a settlement.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SettlementExpectation {
    network: Option<String>,
    payer: Option<String>,
}

/// The answer of `checkSettlement`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SettlementCheck {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    settlement: SettleResponse,
}

/// Decodes a settlement header and checks it: `success`, a transaction hash, and (when given
/// in `expected`) the network (either spelling) and payer (any letter case).
///
/// Returns `{ ok, reason?, settlement }`; `reason` is the facilitator's own on failure, or
/// `unexpected_settle_error` when the answer does not match what was expected.
#[wasm_bindgen(js_name = checkSettlement, unchecked_return_type = "SettlementCheck")]
pub fn check_settlement(
    value: &str,
    #[wasm_bindgen(unchecked_param_type = "SettlementExpectation | undefined")] expected: JsValue,
) -> Result<JsValue, JsValue> {
    let settlement: SettleResponse =
        decode_header(value).map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?;
    let expected: SettlementExpectation = match expected.is_undefined() || expected.is_null() {
        true => SettlementExpectation::default(),
        false => from_js(expected, Reason::InvalidPayload)?,
    };
    let same_network = |want: &str| match (
        networks().resolve(want),
        networks().resolve(&settlement.network),
    ) {
        (Ok(a), Ok(b)) => a.chain_id == b.chain_id,
        _ => want == settlement.network,
    };
    let same_payer = |want: &str| {
        settlement
            .payer
            .as_deref()
            .is_some_and(|got| got.eq_ignore_ascii_case(want))
    };
    let reason = if !settlement.success {
        Some(
            settlement
                .error_reason
                .clone()
                .unwrap_or_else(|| Reason::UnexpectedSettleError.as_str().into()),
        )
    } else if settlement.transaction.is_empty()
        || !expected.network.as_deref().is_none_or(same_network)
        || !expected.payer.as_deref().is_none_or(same_payer)
    {
        Some(Reason::UnexpectedSettleError.as_str().into())
    } else {
        None
    };
    to_js(&SettlementCheck {
        ok: reason.is_none(),
        reason,
        settlement,
    })
}

/// The options of `buildRequirements`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequirementsOptions {
    /// `"$0.001"`, `"0.001"` or `"1000"`.
    price: String,
    /// `base-sepolia` or `eip155:84532`.
    network: String,
    pay_to: String,
    /// The token; the network's USDC when absent.
    asset: Option<String>,
    max_timeout_seconds: Option<u64>,
    /// 1 for the v1 shape (needs `resource`), 2 (default) for v2.
    version: Option<u8>,
    resource: Option<v2::ResourceInfo>,
}

/// Builds payment requirements from a price and a network, as edge402 offers them:
/// `{ price, network, payTo, asset?, maxTimeoutSeconds? = 60, version? = 2, resource? }`.
/// Throws with reason `invalid_payment_requirements` (or `invalid_network`), naming the
/// field.
#[wasm_bindgen(js_name = buildRequirements, unchecked_return_type = "PaymentRequirements")]
pub fn build_requirements(
    #[wasm_bindgen(unchecked_param_type = "RequirementsOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: RequirementsOptions = from_js(options, Reason::InvalidPaymentRequirements)?;
    let bad = |message: String| error(Reason::InvalidPaymentRequirements, &message);
    let network = networks()
        .resolve(&options.network)
        .map_err(|e| error(Reason::InvalidNetwork, &e.to_string()))?;
    let asset = match &options.asset {
        None => network
            .default_asset()
            .ok_or_else(|| bad(format!("network {} has no default asset", options.network)))?,
        Some(text) => {
            let address = text
                .parse()
                .map_err(|_| bad("asset is not an EVM address".into()))?;
            network
                .asset(&address)
                .ok_or_else(|| bad("asset is not known on this network".into()))?
        }
    };
    let pay_to: crate::evm::Address = options
        .pay_to
        .parse()
        .map_err(|_| bad("payTo is not an EVM address".into()))?;
    let price = Price::parse(&options.price).map_err(|e| bad(e.to_string()))?;
    let requirement = v2::PaymentRequirements {
        scheme: EXACT.into(),
        network: network.caip2(),
        amount: price.to_atomic(asset).map_err(|e| bad(e.to_string()))?,
        asset: asset.address.to_string(),
        pay_to: pay_to.to_string(),
        max_timeout_seconds: options
            .max_timeout_seconds
            .unwrap_or(crate::config::DEFAULT_MAX_TIMEOUT_S),
        extra: Some(
            serde_json::json!({"name": asset.eip712_name, "version": asset.eip712_version}),
        ),
    };
    match options.version.unwrap_or(2) {
        2 => to_js(&requirement),
        1 => {
            let name = network
                .v1_name
                .as_deref()
                .ok_or_else(|| bad("this network has no v1 name".into()))?;
            let resource = options
                .resource
                .ok_or_else(|| bad("v1 requirements need a resource".into()))?;
            to_js(&requirement.to_v1(name, &resource))
        }
        other => Err(error(
            Reason::InvalidX402Version,
            &format!("x402Version {other} is not supported"),
        )),
    }
}

/// Recovers the address that signed an exact-EVM payment header. A v2 payment carries its
/// own requirements; a v1 payment needs the requirement it answers (`requirement`).
/// Throws with reason `invalid_payload` or `invalid_exact_evm_signature` (malformed, high-s,
/// smart-wallet or unrecoverable signatures).
#[wasm_bindgen(js_name = recoverPaymentSigner)]
pub fn recover_payment_signer(
    header: &str,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements | undefined")] requirement: JsValue,
) -> Result<String, JsValue> {
    let payment = PaymentPayload::from_header(header)
        .map_err(|e| error(header_reason(&e), &e.to_string()))?;
    let requirement = match (
        &payment,
        requirement.is_undefined() || requirement.is_null(),
    ) {
        (PaymentPayload::V2(p), true) => p.accepted.clone(),
        (PaymentPayload::V1(_), true) => {
            return Err(error(
                Reason::InvalidPaymentRequirements,
                "a v1 payment needs its requirement",
            ))
        }
        (_, false) => {
            match from_js::<PaymentRequirements>(requirement, Reason::InvalidPaymentRequirements)? {
                PaymentRequirements::V1(r) => r.to_v2(),
                PaymentRequirements::V2(r) => r,
            }
        }
    };
    let terms = ExactEvmTerms::resolve(&requirement, networks())
        .map_err(|e| error(e.reason(), &e.to_string()))?;
    let exact = ExactEvmPayload::deserialize(payment.payload())
        .map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?;
    let signature_error = |message: String| error(Reason::InvalidExactEvmSignature, &message);
    let signature = match SignatureKind::from_bytes(&exact.signature.0)
        .map_err(|e| signature_error(e.to_string()))?
    {
        SignatureKind::Ecdsa(signature) => signature,
        SignatureKind::SmartWallet { .. } => {
            return Err(signature_error(
                "a smart-wallet signature has no recoverable signer".into(),
            ))
        }
    };
    let digest = exact.authorization.signing_hash(&terms.domain);
    let signer = recover_address_from_prehash(&digest, &signature)
        .map_err(|e| signature_error(e.to_string()))?;
    Ok(signer.to_string())
}

/// The options of `createPayment`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PaymentOptions {
    /// Unix seconds; the caller's clock (`Date.now()`) when absent.
    now: Option<u64>,
    /// `0x` + 64 hex digits; random when absent.
    nonce: Option<Bytes32>,
    /// v2: the resource echoed in the payment.
    resource: Option<v2::ResourceInfo>,
}

/// Creates a signed payment header for a requirement (v1 or v2 shape, which decides the
/// payment's version) with a local private key, as the official clients do:
/// `validAfter = now - 600`, `validBefore = now + maxTimeoutSeconds`, a random nonce.
/// `options`: `{ now?, nonce?, resource? }`. For agents and tests: never handle a user's key
/// in a page.
#[wasm_bindgen(js_name = createPayment)]
pub fn create_payment(
    #[wasm_bindgen(js_name = privateKey)] private_key: &str,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements")] requirement: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PaymentOptions | undefined")] options: JsValue,
) -> Result<String, JsValue> {
    let signer = PaymentSigner::from_hex(private_key)
        .map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?;
    let requirement: PaymentRequirements =
        from_js(requirement, Reason::InvalidPaymentRequirements)?;
    let options: PaymentOptions = match options.is_undefined() || options.is_null() {
        true => PaymentOptions::default(),
        false => from_js(options, Reason::InvalidPayload)?,
    };
    let now = match options.now {
        Some(now) => now,
        None => unix_seconds((js_sys::Date::now() / 1000.0).floor())?,
    };
    let nonce = match options.nonce {
        Some(nonce) => nonce,
        None => random_nonce().map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?,
    };
    let payment = match &requirement {
        PaymentRequirements::V1(r) => pay_v1(&signer, r, networks(), now, nonce),
        PaymentRequirements::V2(r) => pay_v2(&signer, r, options.resource, networks(), now, nonce),
    }
    .map_err(|e| error(e.reason(), &e.to_string()))?;
    Ok(payment.to_header())
}

impl Verdict {
    fn invalid(reason: Reason, detail: String) -> Self {
        Self {
            valid: false,
            reason: Some(reason),
            detail: Some(detail),
            payer: None,
            needs_facilitator: false,
        }
    }
}

/// The built-in network table, built once per instance.
fn networks() -> &'static Networks {
    static NETWORKS: std::sync::OnceLock<Networks> = std::sync::OnceLock::new();
    NETWORKS.get_or_init(Networks::builtin)
}

/// Requirements offered to `verifyPayment`, in either version's shape.
fn offered_requirements(requirements: JsValue) -> Result<Vec<v2::PaymentRequirements>, JsValue> {
    let offered: Vec<PaymentRequirements> =
        from_js(requirements, Reason::InvalidPaymentRequirements)?;
    Ok(offered
        .into_iter()
        .map(|r| match r {
            PaymentRequirements::V1(r) => r.to_v2(),
            PaymentRequirements::V2(r) => r,
        })
        .collect())
}

fn header_reason(error: &crate::protocol::HeaderError) -> Reason {
    match error {
        crate::protocol::HeaderError::UnsupportedVersion { .. } => Reason::InvalidX402Version,
        _ => Reason::InvalidPayload,
    }
}

fn decode_typed<T: DeserializeOwned + Serialize>(value: &str) -> Result<JsValue, JsValue> {
    let decoded: T =
        decode_header(value).map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?;
    to_js(&decoded)
}

fn encode_typed<T: DeserializeOwned + Serialize>(value: JsValue) -> Result<String, JsValue> {
    let typed: T = from_js(value, Reason::InvalidPayload)?;
    Ok(encode_header(&typed))
}

/// Reads a JavaScript value into a type; a mismatch throws with `reason`. The value goes
/// through JSON's data model first, so that unknown fields are seen (and refused where a type
/// says so) and each type has one deserialiser.
fn from_js<T: DeserializeOwned>(value: JsValue, reason: Reason) -> Result<T, JsValue> {
    let json: serde_json::Value =
        serde_wasm_bindgen::from_value(value).map_err(|e| error(reason, &e.to_string()))?;
    serde_json::from_value(json).map_err(|e| error(reason, &e.to_string()))
}

/// Writes a value as plain JavaScript objects (maps as objects, not `Map`s).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error(Reason::InvalidPayload, &e.to_string()))
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
