//! The payment signer builds payments as the official clients do (natively and on wasm32).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::{base_sepolia as requirement, vectors};
use edge402::evm::signer::{PaymentSigner, SignerError};
use edge402::evm::{ExactEvmPayload, SignatureKind};
use edge402::networks::Networks;
use edge402::pay::{pay_v1, pay_v2, random_nonce, sign_exact_evm, VALID_AFTER_BACKDATE_SECS};
use edge402::protocol::{v2, PaymentPayload};
use edge402::terms::RequirementError;
use edge402::verify::verify_payment;
use edge402::Uint256;
use serde_json::json;

/// The first account of the public test mnemonic (Hardhat's and Anvil's account #0).
const TEST_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[test]
fn reproduces_viems_signatures_byte_for_byte() {
    // RFC 6979 makes ECDSA deterministic, so the same key and message give viem's signature.
    let signer = PaymentSigner::from_hex(TEST_KEY_0).unwrap();
    let mut checked = 0;
    for vector in vectors().iter().filter(|v| {
        v.signer == signer.address() && v.expect == "valid" && v.id.starts_with("anvil0")
    }) {
        let signature = signer.sign_authorization(&vector.message, &vector.domain());
        assert_eq!(
            signature.to_rsv().to_vec(),
            vector.signature_bytes(),
            "{}",
            vector.id
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn builds_payments_like_the_official_clients() {
    let signer = PaymentSigner::from_hex(TEST_KEY_0).unwrap();
    let networks = Networks::builtin();
    let offered = requirement();
    let now = 1_750_000_000;
    let nonce = random_nonce().unwrap();
    let PaymentPayload::V2(payment) =
        pay_v2(&signer, &offered, None, &networks, now, nonce).unwrap()
    else {
        panic!("pay_v2 builds a v2 payment");
    };
    assert_eq!(payment.accepted, offered);
    let exact: ExactEvmPayload = serde_json::from_value(payment.payload.clone()).unwrap();
    let a = &exact.authorization;
    assert_eq!(a.from, signer.address());
    assert_eq!(a.to.to_string(), offered.pay_to);
    assert_eq!(a.value, offered.amount);
    assert_eq!(
        a.valid_after,
        Uint256::from(now - VALID_AFTER_BACKDATE_SECS)
    );
    assert_eq!(a.valid_before, Uint256::from(now + 60));
    assert_eq!(a.nonce, nonce);
    assert!(matches!(
        SignatureKind::from_bytes(&exact.signature.0),
        Ok(SignatureKind::Ecdsa(_))
    ));
    let header = PaymentPayload::V2(payment).to_header();
    let decoded = PaymentPayload::from_header(&header).unwrap();
    assert_eq!(
        verify_payment(&decoded, std::slice::from_ref(&offered), &networks, now)
            .unwrap()
            .payer,
        signer.address()
    );

    let v1_requirement = offered.to_v1("base-sepolia", &v2::ResourceInfo::default());
    let v1 = pay_v1(&signer, &v1_requirement, &networks, now, nonce).unwrap();
    assert_eq!(v1.network(), "base-sepolia");
    assert_eq!(
        verify_payment(&v1, &[offered], &networks, now)
            .unwrap()
            .payer,
        signer.address()
    );
}

#[test]
fn nonces_are_random() {
    let (a, b) = (random_nonce().unwrap(), random_nonce().unwrap());
    assert_ne!(a, b);
    assert_ne!(a.0, [0u8; 32]);
}

#[test]
fn refuses_bad_keys_and_unusable_requirements() {
    assert_eq!(
        PaymentSigner::from_hex("0x1234").unwrap_err(),
        SignerError::NotHex
    );
    assert_eq!(
        PaymentSigner::from_bytes(&[0u8; 32]).unwrap_err(),
        SignerError::OutOfRange
    );
    assert_eq!(
        PaymentSigner::from_bytes(&[0xff; 32]).unwrap_err(),
        SignerError::OutOfRange
    );
    let signer = PaymentSigner::from_hex(TEST_KEY_0).unwrap();
    assert!(
        !format!("{signer:?}").contains("ac0974"),
        "Debug never prints the key"
    );

    let networks = Networks::builtin();
    let nonce = random_nonce().unwrap();
    let sign = |r: v2::PaymentRequirements| {
        sign_exact_evm(&signer, &r, &networks, 1_750_000_000, nonce).unwrap_err()
    };
    assert_eq!(
        sign(v2::PaymentRequirements {
            extra: None,
            ..requirement()
        }),
        RequirementError::MissingEip712Domain
    );
    assert_eq!(
        sign(v2::PaymentRequirements {
            extra: Some(json!({"name": "USDC"})),
            ..requirement()
        }),
        RequirementError::MissingEip712Domain
    );
    assert_eq!(
        sign(v2::PaymentRequirements {
            network: "eip155:1234567".into(),
            ..requirement()
        }),
        RequirementError::UnknownNetwork {
            network: "eip155:1234567".into()
        }
    );
    assert_eq!(
        sign(v2::PaymentRequirements {
            pay_to: "merchant".into(),
            ..requirement()
        }),
        RequirementError::BadAddress { field: "payTo" }
    );
    assert_eq!(
        sign(v2::PaymentRequirements {
            scheme: "upto".into(),
            ..requirement()
        }),
        RequirementError::Scheme {
            scheme: "upto".into()
        }
    );
}
