//! Local verification: each failing check gives its own error variant and wire reason
//! (natively and on wasm32).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use edge402::evm::signer::PaymentSigner;
use edge402::evm::{Bytes32, ExactEvmPayload, SignatureError, SignatureHex};
use edge402::networks::Networks;
use edge402::pay::{pay_v1, pay_v2, sign_exact_evm};
use edge402::protocol::{v1, v2, PaymentPayload, Version};
use edge402::terms::RequirementError;
use edge402::verify::{verify_payment, SignatureCheck, VerifyError};
use edge402::Uint256;
use serde_json::json;

const NOW: u64 = 1_750_000_000;
const NONCE: Bytes32 = Bytes32([0x42; 32]);

fn signer() -> PaymentSigner {
    PaymentSigner::from_bytes(&[0x11; 32]).unwrap()
}

fn sepolia() -> v2::PaymentRequirements {
    v2::PaymentRequirements {
        scheme: "exact".into(),
        network: "eip155:84532".into(),
        amount: Uint256::from(1_000),
        asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e".into(),
        pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
        max_timeout_seconds: 60,
        extra: Some(json!({"name": "USDC", "version": "2"})),
    }
}

fn base() -> v2::PaymentRequirements {
    v2::PaymentRequirements {
        network: "eip155:8453".into(),
        asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913".into(),
        extra: Some(json!({"name": "USD Coin", "version": "2"})),
        ..sepolia()
    }
}

fn verify(
    payment: &PaymentPayload,
    offered: &[v2::PaymentRequirements],
) -> Result<edge402::verify::Verified, VerifyError> {
    verify_payment(payment, offered, &Networks::builtin(), NOW)
}

fn v2_payment(r: &v2::PaymentRequirements) -> PaymentPayload {
    pay_v2(&signer(), r, None, &Networks::builtin(), NOW, NONCE).unwrap()
}

fn with_payload(r: &v2::PaymentRequirements, payload: serde_json::Value) -> PaymentPayload {
    PaymentPayload::V2(v2::PaymentPayload {
        x402_version: Version,
        resource: None,
        accepted: r.clone(),
        payload,
        extensions: None,
    })
}

#[test]
fn picks_the_offered_requirement_the_payment_is_for() {
    let offered = [base(), sepolia()];
    let verified = verify(&v2_payment(&sepolia()), &offered).unwrap();
    assert_eq!(verified.requirement_index, 1);
    let v1_req = sepolia().to_v1("base-sepolia", &v2::ResourceInfo::default());
    let v1 = pay_v1(&signer(), &v1_req, &Networks::builtin(), NOW, NONCE).unwrap();
    assert_eq!(verify(&v1, &offered).unwrap().requirement_index, 1);
}

#[test]
fn accepted_matches_addresses_in_any_case() {
    let mut lower = sepolia();
    lower.asset = lower.asset.to_lowercase();
    lower.pay_to = lower.pay_to.to_lowercase();
    assert!(verify(&v2_payment(&lower), &[sepolia()]).is_ok());
}

#[test]
fn each_failing_check_has_its_reason() {
    let scheme = PaymentPayload::V1(v1::PaymentPayload {
        x402_version: Version,
        scheme: "upto".into(),
        network: "base-sepolia".into(),
        payload: json!({}),
    });
    let cases: Vec<(
        PaymentPayload,
        Vec<v2::PaymentRequirements>,
        VerifyError,
        &str,
    )> = vec![
        (
            scheme,
            vec![sepolia()],
            VerifyError::UnsupportedScheme {
                scheme: "upto".into(),
            },
            "unsupported_scheme",
        ),
        (
            v2_payment(&base()),
            vec![sepolia()],
            VerifyError::NetworkMismatch {
                network: "eip155:8453".into(),
            },
            "invalid_exact_evm_network_mismatch",
        ),
        (
            v2_payment(&v2::PaymentRequirements {
                asset: "0x0000000000000000000000000000000000000001".into(),
                ..sepolia()
            }),
            vec![sepolia()],
            VerifyError::RequirementsMismatch,
            "invalid_payment_requirements",
        ),
        (
            with_payload(&sepolia(), json!({"signature": "0x00"})),
            vec![sepolia()],
            VerifyError::InvalidPayload {
                message: "missing field `authorization`".into(),
            },
            "invalid_payload",
        ),
    ];
    for (payment, offered, expected, reason) in cases {
        let error = verify(&payment, &offered).unwrap_err();
        assert_eq!(error, expected);
        assert_eq!(error.reason().as_str(), reason);
    }
}

#[test]
fn a_v1_payment_signed_for_another_token_fails_on_its_signature() {
    // v1 payments do not name the asset: signed under one token's domain and checked under
    // another's, the signature recovers to a stranger.
    let other_token = v2::PaymentRequirements {
        extra: Some(json!({"name": "USD Coin", "version": "2"})),
        ..sepolia()
    };
    let v1_req = other_token.to_v1("base-sepolia", &v2::ResourceInfo::default());
    let payment = pay_v1(&signer(), &v1_req, &Networks::builtin(), NOW, NONCE).unwrap();
    assert!(matches!(
        verify(&payment, &[sepolia()]),
        Err(VerifyError::SignerMismatch { .. })
    ));
}

#[test]
fn an_offer_without_eip712_domain_is_a_requirement_error() {
    let offered = v2::PaymentRequirements {
        extra: None,
        ..sepolia()
    };
    let payment = with_payload(&offered, v2_payment_payload());
    let error = verify(&payment, &[offered]).unwrap_err();
    assert_eq!(
        error,
        VerifyError::Requirement(RequirementError::MissingEip712Domain)
    );
    assert_eq!(
        error.reason().as_str(),
        "invalid_exact_evm_missing_eip712_domain"
    );
}

fn v2_payment_payload() -> serde_json::Value {
    serde_json::to_value(
        sign_exact_evm(&signer(), &sepolia(), &Networks::builtin(), NOW, NONCE).unwrap(),
    )
    .unwrap()
}

#[test]
fn smart_wallet_signatures_are_left_to_the_facilitator_but_still_checked_locally() {
    let mut exact: ExactEvmPayload = serde_json::from_value(v2_payment_payload()).unwrap();
    let mut erc6492 = vec![0xab; 200];
    erc6492.extend_from_slice(&[0x64, 0x92].repeat(16));
    exact.signature = SignatureHex(erc6492);
    let verified = verify(
        &with_payload(&sepolia(), serde_json::to_value(&exact).unwrap()),
        &[sepolia()],
    )
    .unwrap();
    assert_eq!(verified.signature, SignatureCheck::NeedsFacilitator);
    // The rest of the checks still apply to smart-wallet payments.
    exact.authorization.value = Uint256::from(999);
    assert_eq!(
        verify(
            &with_payload(&sepolia(), serde_json::to_value(&exact).unwrap()),
            &[sepolia()]
        )
        .unwrap_err(),
        VerifyError::ValueMismatch {
            expected: Uint256::from(1_000),
            got: Uint256::from(999)
        }
    );
}

#[test]
fn malformed_signatures_are_refused() {
    let mut exact: ExactEvmPayload = serde_json::from_value(v2_payment_payload()).unwrap();
    exact.signature.0.truncate(64);
    let error = verify(
        &with_payload(&sepolia(), serde_json::to_value(&exact).unwrap()),
        &[sepolia()],
    )
    .unwrap_err();
    assert_eq!(
        error,
        VerifyError::Signature(SignatureError::Length { len: 64 })
    );
    assert_eq!(error.reason().as_str(), "invalid_exact_evm_signature");
    let not_hex = with_payload(
        &sepolia(),
        json!({"signature": "0xzz", "authorization": exact.authorization}),
    );
    assert!(matches!(
        verify(&not_hex, &[sepolia()]),
        Err(VerifyError::InvalidPayload { .. })
    ));
}
