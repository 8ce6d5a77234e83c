//! The facilitator HTTP API's bodies: `POST /verify`, `POST /settle`, `GET /supported`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{
    decode_header, encode_header, HeaderError, PaymentPayload, PaymentRequirements, Reason,
};

/// The body of `POST /verify` and `POST /settle`: the payment and the one requirement it was
/// matched to, with the payment's version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FacilitatorRequest {
    /// Copied from the payment.
    pub x402_version: u8,
    /// The payment as the client sent it.
    pub payment_payload: PaymentPayload,
    /// The server's requirement it was matched to.
    pub payment_requirements: PaymentRequirements,
}

/// The answer to `POST /verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// Whether the facilitator would settle this payment.
    pub is_valid: bool,
    /// Why not, as the facilitator spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<String>,
    /// The paying address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
}

/// The answer to `POST /settle`, also sent to the client in `PAYMENT-RESPONSE` /
/// `X-PAYMENT-RESPONSE`.
///
/// Reference SDKs send `transaction: ""` on failure; the v2 transport spec's own failure
/// example omits `transaction` and `payer`, so both are optional on input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettleResponse {
    /// Whether the transfer happened.
    pub success: bool,
    /// Why not, as the facilitator spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    /// The transaction hash (`""` when there is none).
    #[serde(default)]
    pub transaction: String,
    /// The network the transfer was made on.
    #[serde(default)]
    pub network: String,
    /// The paying address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// v2: the amount actually settled, in atomic units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// v2: extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

/// The answer to `GET /supported`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedResponse {
    /// The (version, scheme, network) combinations the facilitator settles.
    pub kinds: Vec<SupportedKind>,
    /// Extension ids it supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
    /// Its signer addresses, by network pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<Value>,
}

/// One entry of [`SupportedResponse::kinds`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedKind {
    /// The x402 version.
    pub x402_version: u8,
    /// The scheme.
    pub scheme: String,
    /// The network (a v1 name for version 1, CAIP-2 for version 2).
    pub network: String,
    /// Scheme-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
}

impl SettleResponse {
    /// Decodes a `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE` header.
    pub fn from_header(value: &str) -> Result<Self, HeaderError> {
        decode_header(value)
    }

    /// Encodes the settlement as a header value.
    pub fn to_header(&self) -> String {
        encode_header(self)
    }

    /// The facilitator's failure reason mapped to edge402's codes, when it is one of them.
    pub fn reason(&self) -> Option<Reason> {
        self.error_reason.as_deref().and_then(Reason::from_wire)
    }
}

impl VerifyResponse {
    /// The facilitator's reason mapped to edge402's codes, when it is one of them.
    pub fn reason(&self) -> Option<Reason> {
        self.invalid_reason.as_deref().and_then(Reason::from_wire)
    }
}

impl<'de> Deserialize<'de> for PaymentPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Value::deserialize(deserializer)?;
        Self::from_json(json).map_err(serde::de::Error::custom)
    }
}
