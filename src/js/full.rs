//! The rest of the JavaScript API (feature `js`): header codecs, requirements, settlement
//! checks, signer recovery and payment creation. [`super`] holds `verifyPayment`, which the
//! verify-only build (feature `js-verify`) exports alone.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use serde::de::DeserializeOwned;

use super::{error, from_js, networks, to_js, unix_seconds};
use crate::config::{accepted_asset, offer_requirement};
use crate::evm::signer::PaymentSigner;
use crate::evm::Bytes32;
use crate::gate::settlement::{self, Expected};
use crate::pay::{pay_v1, pay_v2, random_nonce};
use crate::pricing::Price;
use crate::protocol::facilitator::SettleResponse;
use crate::protocol::{
    decode_header, encode_header, v2, PaymentPayload, PaymentRequirements, Reason,
};
use crate::verify::{self, VerifyError};

/// Decodes a payment header (`X-PAYMENT` or `PAYMENT-SIGNATURE`) into its JSON object.
/// Throws with reason `invalid_payload` or `invalid_x402_version`.
#[wasm_bindgen(js_name = decodePaymentHeader, unchecked_return_type = "PaymentPayload")]
pub fn decode_payment_header(value: &str) -> Result<JsValue, JsValue> {
    let payment =
        PaymentPayload::from_header(value).map_err(|e| error(e.reason(), &e.to_string()))?;
    to_js(&payment)
}

/// Encodes a payment object (v1 or v2, by its `x402Version`) as a header value. Throws with
/// reason `invalid_payload` when the object is not a payment.
#[wasm_bindgen(js_name = encodePaymentHeader)]
pub fn encode_payment_header(
    #[wasm_bindgen(unchecked_param_type = "PaymentPayload")] payment: JsValue,
) -> Result<String, JsValue> {
    let json: serde_json::Value = from_js(payment, Reason::InvalidPayload)?;
    let payment = PaymentPayload::from_json(json).map_err(|e| error(e.reason(), &e.to_string()))?;
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
    let bad = |message: String| error(Reason::InvalidPayload, &message);
    let expected = Expected {
        chain_id: expected
            .network
            .as_deref()
            .map(|network| {
                networks().chain_id(network).ok_or_else(|| {
                    error(
                        Reason::InvalidNetwork,
                        "expected.network is not a known network",
                    )
                })
            })
            .transpose()?,
        payer: expected
            .payer
            .as_deref()
            .map(|payer| {
                payer
                    .parse()
                    .map_err(|_| bad("expected.payer is not an EVM address".into()))
            })
            .transpose()?,
    };
    let reason = if !settlement.success {
        Some(
            settlement
                .error_reason
                .clone()
                .unwrap_or_else(|| Reason::UnexpectedSettleError.as_str().into()),
        )
    } else {
        settlement::check_settlement(&settlement, &expected, networks())
            .err()
            .map(|_| Reason::UnexpectedSettleError.as_str().to_owned())
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
    let named = options
        .asset
        .as_deref()
        .map(|text| {
            text.parse()
                .map_err(|_| bad("asset is not an EVM address".into()))
        })
        .transpose()?;
    let asset = accepted_asset(network, named.as_ref()).map_err(|e| bad(format!("asset {e}")))?;
    let pay_to: crate::evm::Address = options
        .pay_to
        .parse()
        .map_err(|_| bad("payTo is not an EVM address".into()))?;
    let price = Price::parse(&options.price).map_err(|e| bad(e.to_string()))?;
    let max_timeout_seconds = options
        .max_timeout_seconds
        .unwrap_or(crate::config::DEFAULT_MAX_TIMEOUT_S);
    let requirement = offer_requirement(&price, network, asset, pay_to, max_timeout_seconds)
        .map_err(|e| bad(e.to_string()))?
        .requirement;
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
    let payment =
        PaymentPayload::from_header(header).map_err(|e| error(e.reason(), &e.to_string()))?;
    let requirement = match requirement.is_undefined() || requirement.is_null() {
        true => None,
        false => Some(
            match from_js::<PaymentRequirements>(requirement, Reason::InvalidPaymentRequirements)? {
                PaymentRequirements::V1(r) => r.to_v2(),
                PaymentRequirements::V2(r) => r,
            },
        ),
    };
    let signer = verify::recover_payment_signer(&payment, requirement.as_ref(), networks())
        .map_err(|e| match e {
            VerifyError::RequirementsMismatch => error(
                Reason::InvalidPaymentRequirements,
                "a v1 payment needs its requirement",
            ),
            other => error(other.reason(), &other.to_string()),
        })?;
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

fn decode_typed<T: DeserializeOwned + Serialize>(value: &str) -> Result<JsValue, JsValue> {
    let decoded: T =
        decode_header(value).map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?;
    to_js(&decoded)
}

fn encode_typed<T: DeserializeOwned + Serialize>(value: JsValue) -> Result<String, JsValue> {
    let typed: T = from_js(value, Reason::InvalidPayload)?;
    Ok(encode_header(&typed))
}
