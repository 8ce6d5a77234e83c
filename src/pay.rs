//! Building payments as the official x402 clients do: for agents, tests, benchmarks and the
//! examples. `validAfter = now - 600`, `validBefore = now + maxTimeoutSeconds`, a random nonce.

use crate::amount::Uint256;
use crate::evm::signer::PaymentSigner;
use crate::evm::{Bytes32, ExactEvmPayload, SignatureHex, TransferWithAuthorization};
use crate::networks::Networks;
use crate::protocol::{v1, v2, PaymentPayload, Version};
use crate::terms::{ExactEvmTerms, RequirementError};

/// How far back the official clients date `validAfter`, in seconds, to absorb clock skew
/// between the payer and the chain.
pub const VALID_AFTER_BACKDATE_SECS: u64 = 600;

/// A fresh random EIP-3009 nonce (32 bytes from the platform's secure generator).
pub fn random_nonce() -> Result<Bytes32, getrandom::Error> {
    let mut nonce = [0u8; 32];
    getrandom::getrandom(&mut nonce)?;
    Ok(Bytes32(nonce))
}

/// Signs an exact-EVM payload for a requirement at unix time `now` with the given nonce.
pub fn sign_exact_evm(
    signer: &PaymentSigner,
    requirement: &v2::PaymentRequirements,
    networks: &Networks,
    now: u64,
    nonce: Bytes32,
) -> Result<ExactEvmPayload, RequirementError> {
    let terms = ExactEvmTerms::resolve(requirement, networks)?;
    let authorization = TransferWithAuthorization {
        from: signer.address(),
        to: terms.pay_to,
        value: terms.amount,
        valid_after: Uint256::from(now.saturating_sub(VALID_AFTER_BACKDATE_SECS)),
        valid_before: Uint256::from(now.saturating_add(terms.max_timeout_seconds)),
        nonce,
    };
    let signature = signer.sign_authorization(&authorization, &terms.domain);
    Ok(ExactEvmPayload {
        signature: SignatureHex(signature.to_rsv().to_vec()),
        authorization,
    })
}

/// A complete v1 payment (`X-PAYMENT`) for a v1 requirement.
pub fn pay_v1(
    signer: &PaymentSigner,
    requirement: &v1::PaymentRequirements,
    networks: &Networks,
    now: u64,
    nonce: Bytes32,
) -> Result<PaymentPayload, RequirementError> {
    let exact = sign_exact_evm(signer, &requirement.to_v2(), networks, now, nonce)?;
    Ok(PaymentPayload::V1(v1::PaymentPayload {
        x402_version: Version,
        scheme: requirement.scheme.clone(),
        network: requirement.network.clone(),
        payload: to_json(&exact),
    }))
}

/// A complete v2 payment (`PAYMENT-SIGNATURE`) for a v2 requirement, echoing it as
/// `accepted` with the challenge's resource.
pub fn pay_v2(
    signer: &PaymentSigner,
    requirement: &v2::PaymentRequirements,
    resource: Option<v2::ResourceInfo>,
    networks: &Networks,
    now: u64,
    nonce: Bytes32,
) -> Result<PaymentPayload, RequirementError> {
    let exact = sign_exact_evm(signer, requirement, networks, now, nonce)?;
    Ok(PaymentPayload::V2(v2::PaymentPayload {
        x402_version: Version,
        resource,
        accepted: requirement.clone(),
        payload: to_json(&exact),
        extensions: None,
    }))
}

fn to_json(payload: &ExactEvmPayload) -> serde_json::Value {
    // An exact-EVM payload holds only strings; it always converts to a JSON value.
    serde_json::to_value(payload).expect("exact-EVM payload is JSON")
}
