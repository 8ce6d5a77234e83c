//! Receipts: what the gateway remembers about a settled payment, kept in a TTL-bounded,
//! eventually consistent store (Workers KV). A receipt lets a retry of the same payment for
//! the same resource be served again without settling twice; it is a cache, never the reason
//! a payment is accepted.

use serde::{Deserialize, Serialize};

use crate::amount::Uint256;
use crate::evm::{Address, Bytes32};
use crate::protocol::facilitator::SettleResponse;

/// The format version written into every key and value.
pub(crate) const RECEIPT_FORMAT: u8 = 1;

/// A settled payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Format version (1).
    pub format: u8,
    /// The resource it paid for: price class of the method, canonical path and query, e.g.
    /// `GET /api/weather/paris?units=metric`.
    pub resource: String,
    /// sha256 of the exact payment it settled (see `PaymentPlan::payment_digest`).
    pub payment_digest: String,
    /// The route pattern that priced it.
    pub route: String,
    /// The transaction hash.
    pub transaction: String,
    /// CAIP-2 network.
    pub network: String,
    /// Token contract.
    #[serde(with = "crate::evm::address::lower_hex")]
    pub asset: Address,
    /// Payer.
    #[serde(with = "crate::evm::address::lower_hex")]
    pub payer: Address,
    /// EIP-3009 nonce.
    pub nonce: Bytes32,
    /// Atomic units paid.
    pub amount: Uint256,
    /// Unix seconds of settlement.
    pub settled_at: u64,
    /// The facilitator's answer, replayed to the client on a retry.
    pub settlement: SettleResponse,
    /// Whether the request that settled the payment had its answer to give (settled as
    /// the facilitator reported it): a paid call that must not run twice (an MCP tool's) is
    /// served again only from a receipt without it, one the chain proved after the request
    /// that paid was answered without the content.
    #[serde(default)]
    pub answered: bool,
}

/// The one place receipt keys are built:
/// `v1:receipt:{network}:{asset}:{payer}:{nonce}`, addresses and nonce in lower-case hex.
pub fn receipt_key(network: &str, asset: &Address, payer: &Address, nonce: &Bytes32) -> String {
    payment_key("receipt", network, asset, payer, nonce)
}

/// Where the payments under one `payment-identifier` are coordinated, and the receipt of
/// the one that settled is kept: `v1:payment-id:{id}` (ids are letters, digits, `-`, `_`).
pub fn payment_id_key(id: &str) -> String {
    format!("v1:payment-id:{id}")
}

/// Where the operator's index of payments the coordinator could not settle or prove lives.
pub const PAYMENT_INDEX_PREFIX: &str = "v1:payment:";

/// A payment's entry in that index: `v1:payment:{network}:{asset}:{payer}:{nonce}`.
pub fn payment_index_key(
    network: &str,
    asset: &Address,
    payer: &Address,
    nonce: &Bytes32,
) -> String {
    payment_key("payment", network, asset, payer, nonce)
}

fn payment_key(
    kind: &str,
    network: &str,
    asset: &Address,
    payer: &Address,
    nonce: &Bytes32,
) -> String {
    format!(
        "v{RECEIPT_FORMAT}:{kind}:{network}:0x{}:0x{}:0x{}",
        hex::encode(asset.0),
        hex::encode(payer.0),
        hex::encode(nonce.0)
    )
}

/// The one place keys of remembered `/verify` refusals are built:
/// `v1:verify-refused:{payment digest}:{network}:{token}` (from
/// [`super::PaymentPlan::verify_key`]).
pub fn verify_refusal_key(verify_key: &str) -> String {
    format!("v{RECEIPT_FORMAT}:verify-refused:{verify_key}")
}

/// Seconds a `/verify` refusal is remembered: long enough to answer a client that sends the
/// same payment in a loop, short enough that a wallet funded or deployed meanwhile is asked
/// about again.
pub const VERIFY_REFUSAL_TTL_S: u64 = 300;

/// The one place revocation keys are built: `v1:l402-revoked:{token id hex}`. Revoke a
/// token with `wrangler kv key put --binding RECEIPTS v1:l402-revoked:<id> 1`.
pub fn revocation_key(token_id: &crate::l402::TokenId) -> String {
    format!("v{RECEIPT_FORMAT}:l402-revoked:{}", hex::encode(token_id.0))
}
