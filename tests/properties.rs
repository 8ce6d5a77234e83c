//! Property tests of the core: sign → verify round trips, single-field changes, decoder
//! robustness against arbitrary input, and encode ∘ decode identity of the wire model.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{change, Field, FIELDS};

use common::strategies::{address, bytes32, network_index, signer, uint256};

use common::{json_value, requirement};

use edge402::evm::{
    recover_address_from_prehash, recover_address_from_prehash_with_k256, Address, Bytes32,
    ExactEvmPayload, RecoverableSignature, SignatureHex, SignatureKind,
};
use edge402::networks::Networks;
use edge402::pay::{pay_v1, pay_v2, sign_exact_evm};
use edge402::pricing::Price;
use edge402::protocol::facilitator::{
    FacilitatorRequest, SettleResponse, SupportedKind, SupportedResponse, VerifyResponse,
};
use edge402::protocol::{
    decode_header, encode_header, v1, v2, PaymentPayload, PaymentRequirements, Version,
};
use edge402::terms::ExactEvmTerms;
use edge402::verify::{verify_payment, SignatureCheck, VerifyError};
use edge402::{Uint256, U256};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Strategies

/// Unix times the next decades cover; the window arithmetic is exercised elsewhere.
fn now() -> impl Strategy<Value = u64> {
    1_600_000_000u64..4_000_000_000
}

/// An optional JSON member. `null` and absent read the same (both `None`), so a present
/// value is never `null`.
fn opt_json() -> impl Strategy<Value = Option<Value>> {
    opt(json_value().prop_filter("null reads as absent", |v| !v.is_null()))
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn v2_requirements() -> impl Strategy<Value = v2::PaymentRequirements> {
    (
        ".{0,10}",
        ".{0,16}",
        uint256(),
        ".{0,42}",
        ".{0,42}",
        any::<u64>(),
        opt_json(),
    )
        .prop_map(
            |(scheme, network, amount, asset, pay_to, max_timeout_seconds, extra)| {
                v2::PaymentRequirements {
                    scheme,
                    network,
                    amount,
                    asset,
                    pay_to,
                    max_timeout_seconds,
                    extra,
                }
            },
        )
}

fn v1_requirements() -> impl Strategy<Value = v1::PaymentRequirements> {
    (
        v2_requirements(),
        ".{0,30}",
        ".{0,30}",
        ".{0,20}",
        opt_json(),
    )
        .prop_map(|(r, resource, description, mime_type, output_schema)| {
            v1::PaymentRequirements {
                output_schema,
                ..r.to_v1(
                    &r.network,
                    &v2::ResourceInfo {
                        url: resource,
                        description: Some(description),
                        mime_type: Some(mime_type),
                    },
                )
            }
        })
}

fn resource() -> impl Strategy<Value = v2::ResourceInfo> {
    (".{0,30}", opt(".{0,30}"), opt(".{0,20}")).prop_map(|(url, description, mime_type)| {
        v2::ResourceInfo {
            url,
            description,
            mime_type,
        }
    })
}

fn payment() -> impl Strategy<Value = PaymentPayload> {
    prop_oneof![
        (".{0,10}", ".{0,16}", json_value()).prop_map(|(scheme, network, payload)| {
            PaymentPayload::V1(v1::PaymentPayload {
                x402_version: Version,
                scheme,
                network,
                payload,
            })
        }),
        (opt(resource()), v2_requirements(), json_value(), opt_json()).prop_map(
            |(resource, accepted, payload, extensions)| {
                PaymentPayload::V2(v2::PaymentPayload {
                    x402_version: Version,
                    resource,
                    accepted,
                    payload,
                    extensions,
                })
            }
        ),
    ]
}

fn settle_response() -> impl Strategy<Value = SettleResponse> {
    (
        any::<bool>(),
        opt(".{0,20}"),
        ".{0,66}",
        ".{0,16}",
        opt(".{0,42}"),
        opt("[0-9]{1,20}"),
        opt_json(),
    )
        .prop_map(
            |(success, error_reason, transaction, network, payer, amount, extensions)| {
                SettleResponse {
                    success,
                    error_reason,
                    transaction,
                    network,
                    payer,
                    amount,
                    extensions,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------
// Properties

/// Asserts decode(encode(x)) == x through a header value.
fn assert_header_identity<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
) {
    let decoded: T = decode_header(&encode_header(value)).expect("own encoding decodes");
    assert_eq!(&decoded, value);
}

/// An exact-EVM payment built from a payload the test controls.
fn v2_with_payload(
    requirement: &v2::PaymentRequirements,
    payload: &ExactEvmPayload,
) -> PaymentPayload {
    PaymentPayload::V2(v2::PaymentPayload {
        x402_version: Version,
        resource: None,
        accepted: requirement.clone(),
        payload: serde_json::to_value(payload).unwrap(),
        extensions: None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips_on_every_network_and_version(
        signer in signer(), index in network_index(), pay_to in address(), amount in uint256(),
        nonce in bytes32(), now in now(), timeout in 7u64..86_400,
    ) {
        let networks = Networks::builtin();
        let offered = requirement(index, pay_to, amount, timeout);
        let payment = pay_v2(&signer, &offered, None, &networks, now, nonce).unwrap();
        let decoded = PaymentPayload::from_header(&payment.to_header()).unwrap();
        let verified = verify_payment(&decoded, std::slice::from_ref(&offered), &networks, now).unwrap();
        prop_assert_eq!(verified.payer, signer.address());
        prop_assert_eq!(verified.signature, SignatureCheck::Recovered);
        prop_assert_eq!(verified.authorization.value, amount);

        if let Some(name) = networks.resolve(&offered.network).unwrap().v1_name.clone() {
            let v1_req = offered.to_v1(&name, &v2::ResourceInfo::default());
            let payment = pay_v1(&signer, &v1_req, &networks, now, nonce).unwrap();
            let decoded = PaymentPayload::from_header(&payment.to_header()).unwrap();
            let verified = verify_payment(&decoded, &[offered], &networks, now).unwrap();
            prop_assert_eq!(verified.payer, signer.address());
        }
    }

    #[test]
    fn a_changed_and_resigned_field_fails_its_own_check(
        signer in signer(), index in network_index(), pay_to in address(), amount in uint256(),
        nonce in bytes32(), now in now(),
    ) {
        let networks = Networks::builtin();
        let offered = requirement(index, pay_to, amount, 60);
        let terms = ExactEvmTerms::resolve(&offered, &networks).unwrap();
        let original = sign_exact_evm(&signer, &offered, &networks, now, nonce).unwrap();
        for field in FIELDS {
            let mut payload = original.clone();
            change(&mut payload, field, now);
            let signature = signer.sign_authorization(&payload.authorization, &terms.domain);
            payload.signature = SignatureHex(signature.to_rsv().to_vec());
            let result = verify_payment(&v2_with_payload(&offered, &payload), std::slice::from_ref(&offered), &networks, now);
            let a = &payload.authorization;
            match field {
                // `from` is the signature's own field: the key signs for another address.
                Field::From => prop_assert!(matches!(result, Err(VerifyError::SignerMismatch { .. })), "{:?}", result),
                Field::To => prop_assert_eq!(result, Err(VerifyError::RecipientMismatch { expected: pay_to, got: a.to })),
                Field::Value => prop_assert_eq!(result, Err(VerifyError::ValueMismatch { expected: amount, got: a.value })),
                Field::ValidAfter => prop_assert_eq!(result, Err(VerifyError::NotYetValid { valid_after: a.valid_after, now })),
                Field::ValidBefore => prop_assert_eq!(result, Err(VerifyError::Expired { valid_before: a.valid_before, now })),
                // No local check constrains the nonce: a fresh one is a fresh, valid payment.
                Field::Nonce => prop_assert!(result.is_ok()),
            }
        }
    }

    #[test]
    fn a_changed_field_without_resigning_is_a_bad_signature(
        signer in signer(), index in network_index(), pay_to in address(), amount in uint256(),
        nonce in bytes32(), now in now(),
    ) {
        let networks = Networks::builtin();
        let offered = requirement(index, pay_to, amount, 60);
        let original = sign_exact_evm(&signer, &offered, &networks, now, nonce).unwrap();
        for field in FIELDS {
            let mut payload = original.clone();
            change(&mut payload, field, now);
            let result = verify_payment(&v2_with_payload(&offered, &payload), std::slice::from_ref(&offered), &networks, now);
            prop_assert!(matches!(result, Err(VerifyError::SignerMismatch { .. })), "{:?}: {:?}", field, result);
        }
    }

    #[test]
    fn a_payment_for_other_requirements_is_refused(
        signer in signer(), index in network_index(), other in network_index(), pay_to in address(),
        amount in uint256(), nonce in bytes32(), now in now(),
    ) {
        let networks = Networks::builtin();
        let offered = requirement(index, pay_to, amount, 60);
        let elsewhere = requirement(other, pay_to, amount, 60);
        let payment = pay_v2(&signer, &elsewhere, None, &networks, now, nonce).unwrap();
        let result = verify_payment(&payment, std::slice::from_ref(&offered), &networks, now);
        if index == other {
            prop_assert!(result.is_ok());
        } else {
            prop_assert_eq!(result, Err(VerifyError::NetworkMismatch { network: elsewhere.network.clone() }));
        }
        // Same network, another amount in `accepted`: not what was offered.
        let cheaper = v2::PaymentRequirements { amount: Uint256(amount.0 ^ U256::from(1)), ..offered.clone() };
        let payment = pay_v2(&signer, &cheaper, None, &networks, now, nonce).unwrap();
        prop_assert_eq!(verify_payment(&payment, &[offered], &networks, now), Err(VerifyError::RequirementsMismatch));
    }

    #[test]
    fn one_pass_recovery_agrees_with_k256(signer in signer(), digest in any::<[u8; 32]>(), other in any::<[u8; 32]>()) {
        let signature = signer.sign_prehash(&digest);
        prop_assert_eq!(recover_address_from_prehash(&digest, &signature), Ok(signer.address()));
        prop_assert_eq!(recover_address_from_prehash_with_k256(&digest, &signature), Ok(signer.address()));
        // Under another digest both give the same (wrong) address.
        prop_assert_eq!(
            recover_address_from_prehash(&other, &signature),
            recover_address_from_prehash_with_k256(&other, &signature)
        );
        // Signatures from the signer are always low-s.
        prop_assert!(RecoverableSignature::from_rsv(&signature.to_rsv()).is_ok());
    }

    #[test]
    fn one_pass_recovery_agrees_with_k256_on_arbitrary_signatures(rsv in prop::collection::vec(any::<u8>(), 65), digest in any::<[u8; 32]>()) {
        if let Ok(signature) = RecoverableSignature::from_rsv(&rsv) {
            let ours = recover_address_from_prehash(&digest, &signature).ok();
            let theirs = recover_address_from_prehash_with_k256(&digest, &signature).ok();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn wire_types_survive_encode_then_decode(
        v1r in v1_requirements(), v2r in v2_requirements(), p in payment(), s in settle_response(),
        res in resource(), error in opt(".{0,20}"), ext in opt_json(),
        valid in any::<bool>(), reason in opt(".{0,20}"), payer in opt(".{0,42}"),
    ) {
        assert_header_identity(&v1r);
        assert_header_identity(&v2r);
        assert_header_identity(&s);
        prop_assert_eq!(PaymentPayload::from_header(&p.to_header()).unwrap(), p.clone());
        assert_header_identity(&v1::PaymentRequired { x402_version: Version, error: error.clone().unwrap_or_default(), accepts: vec![v1r.clone()] });
        assert_header_identity(&v2::PaymentRequired { x402_version: Version, error, resource: res, accepts: vec![v2r.clone()], extensions: ext.clone() });
        assert_header_identity(&VerifyResponse { is_valid: valid, invalid_reason: reason, payer });
        assert_header_identity(&SupportedResponse {
            kinds: vec![SupportedKind { x402_version: 2, scheme: v2r.scheme.clone(), network: v2r.network.clone(), extra: ext.clone() }],
            extensions: ext.clone(),
            signers: ext,
        });
        assert_header_identity(&FacilitatorRequest { x402_version: p.version(), payment_payload: p.clone(), payment_requirements: PaymentRequirements::V1(v1r) });
        assert_header_identity(&FacilitatorRequest { x402_version: p.version(), payment_payload: p, payment_requirements: PaymentRequirements::V2(v2r) });
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_text(text in ".{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        for input in [text.as_str(), lossy.as_str()] {
            feed_every_decoder(input);
        }
        let _ = SignatureKind::from_bytes(&bytes);
        let _ = RecoverableSignature::from_rsv(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_json(value in json_value(), header_value in payment()) {
        feed_every_decoder(&encode_header(&value));
        // Well-formed payments with arbitrary contents go all the way through verification.
        feed_every_decoder(&header_value.to_header());
    }
}

/// Runs every decoder on one input; their results are irrelevant, only that they return.
fn feed_every_decoder(input: &str) {
    let networks = Networks::builtin();
    let _ = decode_header::<v1::PaymentRequired>(input);
    let _ = decode_header::<v2::PaymentRequired>(input);
    let _ = decode_header::<VerifyResponse>(input);
    let _ = decode_header::<SupportedResponse>(input);
    let _ = decode_header::<FacilitatorRequest>(input);
    let _ = SettleResponse::from_header(input);
    let _ = Price::parse(input);
    let _ = input.parse::<Address>();
    let _ = input.parse::<Bytes32>();
    let _ = Uint256::from_decimal(input);
    if let Ok(payment) = PaymentPayload::from_header(input) {
        let offered = requirement(1, Address([7; 20]), Uint256::from(10_000), 60);
        let _ = verify_payment(&payment, &[offered], &networks, 1_750_000_000);
    }
}
