//! x402 v2: `PAYMENT-REQUIRED`, `PAYMENT-SIGNATURE` and `PAYMENT-RESPONSE`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{v1, Version};
use crate::amount::Uint256;

/// One way to pay, as a v2 server offers it. A v2 client echoes the one it chose as its
/// payment's `accepted`, and the server matches it by equality, so a route must produce the
/// same requirements for the 402 and for the paid retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// The payment scheme (`exact`).
    pub scheme: String,
    /// The CAIP-2 network id (`eip155:84532`).
    pub network: String,
    /// The price in atomic token units (a `uint256`).
    pub amount: Uint256,
    /// The token contract.
    pub asset: String,
    /// The recipient.
    pub pay_to: String,
    /// How long the server waits for payment to settle, in seconds.
    pub max_timeout_seconds: u64,
    /// Scheme-specific data; for exact-EVM the token's EIP-712 `{name, version}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
}

/// The resource a v2 challenge is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// Its URL.
    pub url: String,
    /// What is sold, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// The v2 challenge (`PAYMENT-REQUIRED`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// Always 2.
    pub x402_version: Version<2>,
    /// What was wrong with the payment, or why one is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The resource.
    pub resource: ResourceInfo,
    /// The accepted ways to pay.
    pub accepts: Vec<PaymentRequirements>,
    /// Protocol extensions, by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

/// A v2 payment (`PAYMENT-SIGNATURE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// Always 2.
    pub x402_version: Version<2>,
    /// The resource, as the client saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// The requirement the client chose, echoed.
    pub accepted: PaymentRequirements,
    /// The scheme-specific payload (for exact-EVM, [`crate::evm::ExactEvmPayload`]).
    pub payload: Value,
    /// Extensions, echoed from the challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

impl PaymentRequirements {
    /// The v1 form, for a network's v1 name and the resource being sold.
    pub fn to_v1(&self, v1_network: &str, resource: &ResourceInfo) -> v1::PaymentRequirements {
        v1::PaymentRequirements {
            scheme: self.scheme.clone(),
            network: v1_network.to_owned(),
            max_amount_required: self.amount,
            asset: self.asset.clone(),
            pay_to: self.pay_to.clone(),
            resource: resource.url.clone(),
            description: resource.description.clone().unwrap_or_default(),
            mime_type: resource.mime_type.clone().unwrap_or_default(),
            output_schema: None,
            max_timeout_seconds: self.max_timeout_seconds,
            extra: self.extra.clone(),
        }
    }
}
