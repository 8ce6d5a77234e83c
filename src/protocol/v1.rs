//! x402 v1: the 402 JSON body, `X-PAYMENT` and `X-PAYMENT-RESPONSE`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{v2, Version};
use crate::amount::Uint256;

/// One way to pay for a resource, as a v1 server offers it in `accepts[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// The payment scheme (`exact`).
    pub scheme: String,
    /// The v1 network name (`base-sepolia`).
    pub network: String,
    /// The price in atomic token units (a `uint256`).
    pub max_amount_required: Uint256,
    /// The token contract.
    pub asset: String,
    /// The recipient.
    pub pay_to: String,
    /// The URL of the resource being paid for.
    pub resource: String,
    /// What is sold, for people.
    #[serde(default)]
    pub description: String,
    /// The resource's media type.
    #[serde(default)]
    pub mime_type: String,
    /// A JSON schema of the resource's response, if the server publishes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// How long the server waits for payment to settle, in seconds.
    pub max_timeout_seconds: u64,
    /// Scheme-specific data; for exact-EVM the token's EIP-712 `{name, version}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
}

/// The JSON body of a v1 402 answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// Always 1.
    pub x402_version: Version<1>,
    /// What was wrong with the payment, or why one is needed.
    #[serde(default)]
    pub error: String,
    /// The accepted ways to pay.
    pub accepts: Vec<PaymentRequirements>,
}

/// A v1 payment (`X-PAYMENT`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// Always 1.
    pub x402_version: Version<1>,
    /// The payment scheme (`exact`).
    pub scheme: String,
    /// The v1 network name.
    pub network: String,
    /// The scheme-specific payload (for exact-EVM, [`crate::evm::ExactEvmPayload`]).
    pub payload: Value,
}

impl PaymentRequirements {
    /// The version-neutral part: what a v2 requirement holds (the network name is kept as
    /// written).
    pub fn to_v2(&self) -> v2::PaymentRequirements {
        v2::PaymentRequirements {
            scheme: self.scheme.clone(),
            network: self.network.clone(),
            amount: self.max_amount_required,
            asset: self.asset.clone(),
            pay_to: self.pay_to.clone(),
            max_timeout_seconds: self.max_timeout_seconds,
            extra: self.extra.clone(),
        }
    }
}
