//! The known-good signatures of `../shared/vectors/x402_exact_evm.json`: every vector gives
//! exactly its `expect`, with the intermediate hashes pinned.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::{hex32, vectors, Vector};
use edge402::evm::eip712::signing_hash;
use edge402::evm::{
    recover_address_from_prehash, recover_address_from_prehash_with_k256, RecoverableSignature,
    SignatureError, SignatureKind,
};
use edge402::networks::Networks;
use edge402::verify::{verify_payment, SignatureCheck, VerifyError};

/// What verifying the signature alone gives, as a verdict class of the vector file.
fn signature_verdict(vector: &Vector) -> &'static str {
    let digest = vector.message.signing_hash(&vector.domain());
    match SignatureKind::from_bytes(&vector.signature_bytes()) {
        Ok(SignatureKind::Ecdsa(signature)) => {
            match recover_address_from_prehash(&digest, &signature) {
                Ok(address) if address == vector.message.from => "valid",
                _ => "invalid_signature",
            }
        }
        Ok(SignatureKind::SmartWallet { .. }) => "needs_facilitator",
        Err(SignatureError::HighS) => "invalid_signature_high_s",
        Err(SignatureError::Length { .. } | SignatureError::BadRecoveryByte { .. }) => {
            "malformed_signature"
        }
        Err(_) => "invalid_signature",
    }
}

#[test]
fn every_vector_gives_its_expected_verdict() {
    let all = vectors();
    assert!(all.len() >= 16, "the vector file has 16 vectors");
    for vector in &all {
        assert_eq!(
            signature_verdict(vector),
            vector.expect,
            "vector {}",
            vector.id
        );
    }
}

#[test]
fn intermediate_hashes_are_pinned() {
    let mut pinned = 0;
    for vector in vectors() {
        let domain = vector.domain();
        if let Some(expected) = &vector.domain_separator {
            assert_eq!(
                domain.separator(),
                hex32(expected),
                "domain separator of {}",
                vector.id
            );
            pinned += 1;
        }
        if let Some(expected) = &vector.struct_hash {
            assert_eq!(
                vector.message.hash_struct(),
                hex32(expected),
                "struct hash of {}",
                vector.id
            );
            pinned += 1;
        }
        if let Some(expected) = &vector.digest {
            let digest = signing_hash(&domain.separator(), &vector.message.hash_struct());
            assert_eq!(digest, hex32(expected), "digest of {}", vector.id);
            assert_eq!(vector.message.signing_hash(&domain), digest);
            pinned += 1;
        }
    }
    assert!(pinned >= 40, "most vectors pin their hashes ({pinned})");
}

#[test]
fn valid_vectors_recover_their_signer_both_ways() {
    for vector in vectors().iter().filter(|v| v.expect == "valid") {
        let digest = vector.message.signing_hash(&vector.domain());
        let signature = RecoverableSignature::from_rsv(&vector.signature_bytes()).unwrap();
        assert_eq!(
            recover_address_from_prehash(&digest, &signature),
            Ok(vector.signer),
            "{}",
            vector.id
        );
        assert_eq!(
            recover_address_from_prehash_with_k256(&digest, &signature),
            Ok(vector.signer)
        );
        assert_eq!(vector.signer, vector.message.from);
    }
}

#[test]
fn high_s_twin_recovers_the_signer_but_is_refused() {
    let vector = vectors().into_iter().find(|v| v.id == "high-s").unwrap();
    let bytes = vector.signature_bytes();
    assert_eq!(
        RecoverableSignature::from_rsv(&bytes),
        Err(SignatureError::HighS)
    );
    // Undo the malleation (s -> n - s, v flipped): the low twin verifies.
    let high = k256::ecdsa::Signature::from_slice(&bytes[..64]).unwrap();
    let low = high.normalize_s().expect("the vector is high-s");
    let mut twin = low.to_bytes().to_vec();
    twin.push(if bytes[64] == 27 { 28 } else { 27 });
    let digest = vector.message.signing_hash(&vector.domain());
    let signature = RecoverableSignature::from_rsv(&twin).unwrap();
    assert_eq!(
        recover_address_from_prehash(&digest, &signature),
        Ok(vector.signer)
    );
}

#[test]
fn malformed_vectors_name_their_defect() {
    for vector in vectors()
        .iter()
        .filter(|v| v.expect == "malformed_signature")
    {
        let error = SignatureKind::from_bytes(&vector.signature_bytes()).unwrap_err();
        match vector.id.as_str() {
            "short-signature" => assert_eq!(error, SignatureError::Length { len: 64 }),
            "bad-v" => assert_eq!(error, SignatureError::BadRecoveryByte { v: 29 }),
            other => panic!("unexpected malformed vector {other}"),
        }
    }
}

/// The full payment check (v2 and, where the network has a v1 name, v1) inside each vector's
/// time window gives the vector's verdict as the exact error variant.
#[test]
fn full_verification_inside_the_window_matches_each_vector() {
    let networks = Networks::builtin();
    for vector in vectors() {
        let offered = [vector.requirement()];
        let now = vector.now_inside_window();
        let payments = [Some(vector.v2_payment()), vector.v1_payment()];
        for payment in payments.iter().flatten() {
            let result = verify_payment(payment, &offered, &networks, now);
            let id = &vector.id;
            if let Err(error) = &result {
                assert_eq!(
                    error.reason().as_str(),
                    "invalid_exact_evm_signature",
                    "{id}"
                );
            }
            match vector.expect.as_str() {
                "valid" => {
                    let verified = result.unwrap_or_else(|e| panic!("{id}: {e}"));
                    assert_eq!(verified.payer, vector.signer);
                    assert_eq!(verified.signature, SignatureCheck::Recovered);
                }
                "invalid_signature" => match result {
                    Err(VerifyError::SignerMismatch { from, recovered }) => {
                        assert_eq!(from, vector.message.from);
                        assert_ne!(recovered, from);
                    }
                    other => panic!("{id}: {other:?}"),
                },
                "invalid_signature_high_s" => {
                    assert_eq!(
                        result,
                        Err(VerifyError::Signature(SignatureError::HighS)),
                        "{id}"
                    )
                }
                "malformed_signature" => assert!(
                    matches!(
                        result,
                        Err(VerifyError::Signature(
                            SignatureError::Length { .. } | SignatureError::BadRecoveryByte { .. }
                        ))
                    ),
                    "{id}: {result:?}"
                ),
                other => panic!("unknown expectation {other}"),
            }
        }
    }
}

#[test]
fn expired_and_future_vectors_fail_on_time_not_signature() {
    let networks = Networks::builtin();
    let vector = vectors()
        .into_iter()
        .find(|v| v.id == "spec-example")
        .unwrap();
    let offered = [vector.requirement()];
    let payment = vector.v2_payment();
    let before: u64 = vector.message.valid_before.0.try_into().unwrap();
    let after: u64 = vector.message.valid_after.0.try_into().unwrap();
    // The last second that still leaves the 6 s buffer is accepted; one more is not.
    assert!(verify_payment(&payment, &offered, &networks, before - 6).is_ok());
    assert_eq!(
        verify_payment(&payment, &offered, &networks, before - 5),
        Err(VerifyError::Expired {
            valid_before: vector.message.valid_before,
            now: before - 5
        })
    );
    assert!(verify_payment(&payment, &offered, &networks, after).is_ok());
    assert_eq!(
        verify_payment(&payment, &offered, &networks, after - 1),
        Err(VerifyError::NotYetValid {
            valid_after: vector.message.valid_after,
            now: after - 1
        })
    );
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn vectors_are_the_shared_ones() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    if !shared.exists() {
        return; // outside the team's checkout layout there is nothing to compare with
    }
    for name in ["x402_exact_evm.json", "l402_macaroons.json"] {
        let ours = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/vectors")
                .join(name),
        )
        .unwrap();
        assert_eq!(
            ours,
            std::fs::read(shared.join(name)).unwrap(),
            "{name} differs from shared/"
        );
    }
}
