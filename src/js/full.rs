//! The rest of the JavaScript API (feature `js`): header codecs, requirements, settlement
//! checks, signer recovery and payment creation. [`super`] holds `verifyPayment`, which the
//! verify-only build (feature `js-verify`) exports alone.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use serde::de::DeserializeOwned;

use super::{error, from_js, header_reason, networks, to_js, unix_seconds};
use crate::evm::signer::PaymentSigner;
use crate::evm::{recover_address_from_prehash, Bytes32, ExactEvmPayload, SignatureKind};
use crate::pay::{pay_v1, pay_v2, random_nonce};
use crate::pricing::Price;
use crate::protocol::facilitator::SettleResponse;
use crate::protocol::{
    decode_header, encode_header, v2, PaymentPayload, PaymentRequirements, Reason,
};
use crate::terms::{ExactEvmTerms, EXACT};

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

fn decode_typed<T: DeserializeOwned + Serialize>(value: &str) -> Result<JsValue, JsValue> {
    let decoded: T =
        decode_header(value).map_err(|e| error(Reason::InvalidPayload, &e.to_string()))?;
    to_js(&decoded)
}

fn encode_typed<T: DeserializeOwned + Serialize>(value: JsValue) -> Result<String, JsValue> {
    let typed: T = from_js(value, Reason::InvalidPayload)?;
    Ok(encode_header(&typed))
}
