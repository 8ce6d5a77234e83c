//! The light verification path (`verify::light`) against the full one: every vector, and
//! signed payments under one mutation each, get the same verdict both ways (the same
//! `Verified`, or the same wire reason). Then what only the light path does: its nesting
//! limit, escaped strings, requirement shapes, and malformed or arbitrary input.
//!
//! The last section holds inputs on which the two paths once disagreed (found by review),
//! and the differences the light module documents.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::strategies::{address, bytes32, network_index, signer, uint256};

use common::{base_sepolia, change, json_value, requirement, vectors, Field, Vector, FIELDS};
use edge402::evm::signer::PaymentSigner;
use edge402::evm::{Address, Bytes32, ExactEvmPayload};
use edge402::networks::Networks;
use edge402::pay::{pay_v1, pay_v2, VALID_AFTER_BACKDATE_SECS};
use edge402::protocol::{decode_header_bytes, v2, HeaderError, PaymentPayload, Reason};
use edge402::terms::Offer;
use edge402::verify::light::{self, LightError, MAX_DEPTH};
use edge402::verify::{verify_payment, SignatureCheck, Verified, VALID_BEFORE_BUFFER_SECS};
use edge402::{Uint256, U256};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

/// What a caller learns from either path: the verified payment, or the wire reason.
type Verdict = Result<Verified, Reason>;

/// A time inside the window of every payment the fixtures below build.
const NOW: u64 = 1_750_000_000;

/// Hardhat's and Anvil's account #0: a fixed payer for the example-based tests.
const TEST_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

// ---------------------------------------------------------------------------------------
// 1. The vectors

/// Every vector, as a v2 and (where its network has a v1 name) a v1 payment, inside its
/// window, one second before it and in its last five seconds: the light path gives exactly
/// the full path's result, error variant included.
#[test]
fn every_vector_gets_the_same_result_both_ways() {
    let networks = Networks::builtin();
    let (mut accepted, mut refused) = (0, 0);
    for vector in vectors() {
        let offered = [vector.requirement()];
        let offers: Vec<Offer<'_>> = offered.iter().map(Offer::from).collect();
        for payment in [Some(vector.v2_payment()), vector.v1_payment()]
            .iter()
            .flatten()
        {
            // The bytes a client's header carries, decoded as the npm package decodes them.
            let json = decode_header_bytes(&payment.to_header()).unwrap();
            for now in times_around_the_window(&vector) {
                let decoded = PaymentPayload::from_json_slice(&json).unwrap();
                let full = verify_payment(&decoded, &offered, &networks, now);
                let light = light::verify_payment_json(&json, &offers, &networks, now);
                assert_eq!(
                    light,
                    full.clone().map_err(LightError::Verify),
                    "{} v{} at {now}",
                    vector.id,
                    payment.version()
                );
                match full {
                    Ok(_) => accepted += 1,
                    Err(_) => refused += 1,
                }
            }
        }
    }
    // 16 vectors, 15 with a v1 name; three times each, two where `validAfter` is 0. The 11
    // valid ones pass inside their window, as v2 and (all but one) as v1.
    assert_eq!(accepted + refused, 75);
    assert_eq!(accepted, 21);
}

/// Inside the window, the last second before `validAfter` (when there is one) and the
/// first second that leaves less than the 6 s buffer before `validBefore`.
fn times_around_the_window(vector: &Vector) -> Vec<u64> {
    let after: u64 = vector.message.valid_after.0.try_into().unwrap();
    let before: u64 = vector.message.valid_before.0.try_into().unwrap();
    let mut times = vec![vector.now_inside_window()];
    times.extend(after.checked_sub(1));
    times.push(before - VALID_BEFORE_BUFFER_SECS + 1);
    times
}

// ---------------------------------------------------------------------------------------
// 2. Signed payments under one mutation

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256, failure_persistence: None, ..ProptestConfig::default()
    })]

    /// A payment signed with a random key on a random built-in network, in v1 or v2, with one
    /// change from `mutation()`: both paths give the same verdict, and it is the one the
    /// change calls for (so every change is seen to take effect).
    #[test]
    fn a_mutated_payment_gets_the_same_verdict_both_ways(
        signer in signer(), index in network_index(), pay_to in address(), amount in uint256(),
        nonce in bytes32(), now in 1_600_000_000u64..4_000_000_000, timeout in 7u64..86_400,
        want_v1 in any::<bool>(), mutation in mutation(),
        decoy in prop::option::of((any::<Index>(), address(), uint256(), any::<bool>())),
    ) {
        let networks = Networks::builtin();
        let offer = requirement(index, pay_to, amount, timeout);
        let v1_name = networks.iter().nth(index).unwrap().v1_name.clone()
            .filter(|_| want_v1 && mutation.applies_to_v1());
        let payment = match &v1_name {
            Some(name) => {
                let v1_offer = offer.to_v1(name, &v2::ResourceInfo::default());
                pay_v1(&signer, &v1_offer, &networks, now, nonce)
            }
            None => pay_v2(&signer, &offer, None, &networks, now, nonce),
        }
        .unwrap();
        // Another network's requirement, before or after, moves the matched index.
        let mut offered = vec![offer];
        let mut offer_index = 0;
        if let Some((other, decoy_pay_to, decoy_amount, first)) = decoy {
            let decoy = requirement(other_network(index, other), decoy_pay_to, decoy_amount, 60);
            offer_index = usize::from(first);
            offered.insert(1 - offer_index, decoy);
        }

        let mut json = serde_json::to_value(&payment).unwrap();
        let now = mutation.apply(&mut json, &networks, index, now);
        let bytes = serde_json::to_vec(&json).unwrap();
        let full = full_verdict(&bytes, &offered, &networks, now);
        let light = light_verdict(&bytes, &offered, &networks, now);
        prop_assert_eq!(&light, &full, "{}", String::from_utf8_lossy(&bytes));
        match (mutation.expected(), &full) {
            (Expect::Paid(check), Ok(verified)) => {
                prop_assert_eq!(verified.payer, signer.address());
                prop_assert_eq!(verified.requirement_index, offer_index);
                prop_assert_eq!(verified.signature, check);
            }
            (Expect::Refused(reason), Err(got)) => prop_assert_eq!(*got, reason),
            (Expect::AnyRefusal, Err(_)) => {}
            (expected, got) => prop_assert!(false, "expected {:?}, got {:?}", expected, got),
        }
    }
}

/// One change to a signed payment's JSON, or none.
#[derive(Clone, Debug)]
enum Mutation {
    None,
    /// The scheme the payment claims (v1: its own, v2: `accepted.scheme`).
    Scheme(String),
    /// A network no registry knows.
    UnknownNetwork(&'static str),
    /// Another built-in network.
    OtherNetwork(Index),
    /// v2: one field of `accepted`.
    Accepted(AcceptedField),
    /// v2: `accepted.asset` in lower case, which is still the offered address.
    AssetInLowerCase,
    /// One authorisation field, without signing again.
    Authorization(Field),
    /// One bit of `r` or `s`.
    FlipSignatureBit {
        byte: usize,
        bit: u8,
    },
    /// The recovery byte set to 29.
    RecoveryByte29,
    /// Bytes appended to the signature: a smart-wallet signature (ERC-1271 / ERC-6492).
    SmartWallet(Vec<u8>),
    /// A required member removed, picked from the version's list.
    Remove(Index),
    /// `x402Version` set to this value.
    Version(Value),
    /// `x402Version` set to the other version (the shape stays).
    OtherVersion,
    /// `payload` replaced by this value.
    Payload(Value),
    /// Verified this many seconds (plus one) before `validAfter`.
    BeforeValidAfter(u64),
    /// Verified this many seconds into the last 6 s before `validBefore`, or later.
    AfterValidBefore(u64),
    /// A member the light path skips, added: `resource`, `extensions` or an unknown one.
    Skipped(&'static str, Value),
}

/// The fields of `accepted` a payment can disagree with its offer on.
#[derive(Clone, Debug)]
enum AcceptedField {
    Amount,
    Asset,
    PayTo,
    MaxTimeoutSeconds,
    ExtraName(String),
    ExtraVersion(String),
    NoExtra,
}

/// What a mutated payment must get.
#[derive(Clone, Copy, Debug)]
enum Expect {
    Paid(SignatureCheck),
    Refused(Reason),
    /// Refused for a reason that depends on the other offers (another network's payment).
    AnyRefusal,
}

/// Members whose absence makes a payment unreadable, as JSON pointers: those of both
/// versions, then each version's own.
const REQUIRED: [&str; 10] = [
    "/x402Version",
    "/payload",
    "/payload/signature",
    "/payload/authorization",
    "/payload/authorization/from",
    "/payload/authorization/to",
    "/payload/authorization/value",
    "/payload/authorization/validAfter",
    "/payload/authorization/validBefore",
    "/payload/authorization/nonce",
];
const REQUIRED_V1: [&str; 2] = ["/scheme", "/network"];
const REQUIRED_V2: [&str; 7] = [
    "/accepted",
    "/accepted/scheme",
    "/accepted/network",
    "/accepted/amount",
    "/accepted/asset",
    "/accepted/payTo",
    "/accepted/maxTimeoutSeconds",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let field = prop::sample::select(FIELDS.to_vec());
    let accepted = prop_oneof![
        Just(AcceptedField::Amount),
        Just(AcceptedField::Asset),
        Just(AcceptedField::PayTo),
        Just(AcceptedField::MaxTimeoutSeconds),
        "[ -~]{0,12}".prop_map(AcceptedField::ExtraName),
        "[0-9a-z.]{0,4}".prop_map(AcceptedField::ExtraVersion),
        Just(AcceptedField::NoExtra),
    ];
    let bad_version = prop::sample::select(vec![
        json!(3),
        json!(0),
        json!("2"),
        json!(1.5),
        json!(-1),
        json!(true),
        json!([2]),
        json!({"major": 2}),
        Value::Null,
    ]);
    let not_a_payload = prop::sample::select(vec![
        Value::Null,
        json!(0),
        json!("0x"),
        json!(false),
        json!([]),
        json!({}),
    ]);
    let skipped = prop_oneof![
        json_value().prop_map(|v| Mutation::Skipped("extensions", v)),
        json_value().prop_map(|v| Mutation::Skipped("memo", v)),
        (".{0,20}", prop::option::of(".{0,20}")).prop_map(|(url, description)| {
            Mutation::Skipped("resource", json!({"url": url, "description": description}))
        }),
    ];
    prop_oneof![
        Just(Mutation::None),
        ".{0,8}"
            .prop_filter("another scheme", |s| s != "exact")
            .prop_map(Mutation::Scheme),
        prop::sample::select(vec![
            "eip155:0",
            "eip155:999999",
            "solana:mainnet",
            "",
            "base-goerli"
        ])
        .prop_map(Mutation::UnknownNetwork),
        any::<Index>().prop_map(Mutation::OtherNetwork),
        accepted.prop_map(Mutation::Accepted),
        Just(Mutation::AssetInLowerCase),
        field.prop_map(Mutation::Authorization),
        (0usize..64, 0u8..8).prop_map(|(byte, bit)| Mutation::FlipSignatureBit { byte, bit }),
        Just(Mutation::RecoveryByte29),
        prop::collection::vec(any::<u8>(), 1..100).prop_map(Mutation::SmartWallet),
        any::<Index>().prop_map(Mutation::Remove),
        bad_version.prop_map(Mutation::Version),
        Just(Mutation::OtherVersion),
        not_a_payload.prop_map(Mutation::Payload),
        (0u64..1_000_000).prop_map(Mutation::BeforeValidAfter),
        (0u64..1_000_000).prop_map(Mutation::AfterValidBefore),
        skipped,
    ]
}

impl Mutation {
    /// Whether the change means anything for a v1 payment, which has no `accepted`.
    fn applies_to_v1(&self) -> bool {
        !matches!(self, Self::Accepted(_) | Self::AssetInLowerCase)
    }

    /// Changes `payment` (the JSON of a payment for the `index`-th built-in network, signed
    /// at `now`) and returns the time to verify it at.
    fn apply(&self, payment: &mut Value, networks: &Networks, index: usize, now: u64) -> u64 {
        let v1 = payment["x402Version"] == 1;
        let flip = |bytes: &mut [u8]| bytes[0] ^= 0x01;
        let authorization = exact_payload(payment).authorization;
        match self {
            Self::None => {}
            Self::Scheme(scheme) => claim(payment, v1)["scheme"] = json!(scheme),
            Self::UnknownNetwork(network) => claim(payment, v1)["network"] = json!(network),
            Self::OtherNetwork(other) => {
                let other = networks.iter().nth(other_network(index, *other)).unwrap();
                let name = match (&other.v1_name, v1) {
                    (Some(name), true) => name.clone(),
                    _ => other.caip2(),
                };
                claim(payment, v1)["network"] = json!(name);
            }
            Self::Accepted(field) => {
                let accepted = &mut payment["accepted"];
                match field {
                    AcceptedField::Amount => {
                        let amount: Uint256 =
                            serde_json::from_value(accepted["amount"].clone()).unwrap();
                        accepted["amount"] = json!(Uint256(amount.0 ^ U256::from(1)));
                    }
                    AcceptedField::Asset | AcceptedField::PayTo => {
                        let key = if matches!(field, AcceptedField::Asset) {
                            "asset"
                        } else {
                            "payTo"
                        };
                        let mut address: Address =
                            serde_json::from_value(accepted[key].clone()).unwrap();
                        flip(&mut address.0);
                        accepted[key] = json!(address);
                    }
                    AcceptedField::MaxTimeoutSeconds => {
                        accepted["maxTimeoutSeconds"] =
                            json!(accepted["maxTimeoutSeconds"].as_u64().unwrap() + 1);
                    }
                    AcceptedField::ExtraName(name) => {
                        accepted["extra"]["name"] = json!(format!("{name}!"))
                    }
                    AcceptedField::ExtraVersion(version) => {
                        accepted["extra"]["version"] = json!(format!("{version}?"))
                    }
                    AcceptedField::NoExtra => {
                        accepted.as_object_mut().unwrap().remove("extra");
                    }
                }
            }
            Self::AssetInLowerCase => {
                let asset = payment["accepted"]["asset"]
                    .as_str()
                    .unwrap()
                    .to_lowercase();
                payment["accepted"]["asset"] = json!(asset);
            }
            Self::Authorization(field) => {
                edit_exact_payload(payment, |exact| change(exact, *field, now))
            }
            Self::FlipSignatureBit { byte, bit } => {
                edit_exact_payload(payment, |exact| exact.signature.0[*byte] ^= 1 << bit)
            }
            Self::RecoveryByte29 => edit_exact_payload(payment, |exact| exact.signature.0[64] = 29),
            Self::SmartWallet(tail) => {
                edit_exact_payload(payment, |exact| exact.signature.0.extend_from_slice(tail))
            }
            Self::Remove(pick) => {
                let own: &[&str] = if v1 { &REQUIRED_V1 } else { &REQUIRED_V2 };
                let members: Vec<&str> = REQUIRED.iter().chain(own).copied().collect();
                let pointer = members[pick.index(members.len())];
                let (parent, member) = pointer.rsplit_once('/').unwrap();
                let removed = payment
                    .pointer_mut(parent)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove(member);
                assert!(removed.is_some(), "{pointer} is in the payment");
            }
            Self::Version(version) => payment["x402Version"] = version.clone(),
            Self::OtherVersion => payment["x402Version"] = json!(if v1 { 2 } else { 1 }),
            Self::Payload(value) => payment["payload"] = value.clone(),
            Self::BeforeValidAfter(seconds) => {
                let after: u64 = authorization.valid_after.0.try_into().unwrap();
                assert_eq!(after, now - VALID_AFTER_BACKDATE_SECS);
                return after - 1 - seconds;
            }
            Self::AfterValidBefore(seconds) => {
                let before: u64 = authorization.valid_before.0.try_into().unwrap();
                return before - VALID_BEFORE_BUFFER_SECS + 1 + seconds;
            }
            Self::Skipped(member, value) => payment[*member] = value.clone(),
        }
        now
    }

    fn expected(&self) -> Expect {
        match self {
            Self::None | Self::AssetInLowerCase | Self::Skipped(..) => {
                Expect::Paid(SignatureCheck::Recovered)
            }
            Self::SmartWallet(_) => Expect::Paid(SignatureCheck::NeedsFacilitator),
            Self::Scheme(_) => Expect::Refused(Reason::UnsupportedScheme),
            Self::UnknownNetwork(_) => Expect::Refused(Reason::InvalidExactEvmNetworkMismatch),
            Self::OtherNetwork(_) => Expect::AnyRefusal,
            Self::Accepted(_) => Expect::Refused(Reason::InvalidPaymentRequirements),
            Self::Authorization(_) | Self::FlipSignatureBit { .. } | Self::RecoveryByte29 => {
                Expect::Refused(Reason::InvalidExactEvmSignature)
            }
            Self::Version(Value::Null) => Expect::Refused(Reason::InvalidPayload),
            Self::Version(_) => Expect::Refused(Reason::InvalidX402Version),
            Self::Remove(_) | Self::OtherVersion | Self::Payload(_) => {
                Expect::Refused(Reason::InvalidPayload)
            }
            Self::BeforeValidAfter(_) => {
                Expect::Refused(Reason::InvalidExactEvmPayloadAuthorizationValidAfter)
            }
            Self::AfterValidBefore(_) => {
                Expect::Refused(Reason::InvalidExactEvmPayloadAuthorizationValidBefore)
            }
        }
    }
}

/// Where a payment names its scheme and network: v1 at the top, v2 in `accepted`.
fn claim(payment: &mut Value, v1: bool) -> &mut Value {
    if v1 {
        payment
    } else {
        &mut payment["accepted"]
    }
}

fn exact_payload(payment: &Value) -> ExactEvmPayload {
    serde_json::from_value(payment["payload"].clone()).unwrap()
}

/// Rewrites a payment's exact-EVM payload (without signing it again).
fn edit_exact_payload(payment: &mut Value, edit: impl FnOnce(&mut ExactEvmPayload)) {
    let mut exact = exact_payload(payment);
    edit(&mut exact);
    payment["payload"] = serde_json::to_value(&exact).unwrap();
}

// ---------------------------------------------------------------------------------------
// 3. What only the light path does

/// Deeper nesting than `MAX_DEPTH` is refused before decoding, wherever it is and however
/// deep, so the recursive decoder never runs out of stack.
#[test]
fn nesting_deeper_than_the_limit_is_refused_before_decoding() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    let offers: Vec<Offer<'_>> = offered.iter().map(Offer::from).collect();
    let text = String::from_utf8(json).unwrap();
    let deep = [
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        "[".repeat(10_000),
        format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)),
        format!("{}{}", "[{\"a\":".repeat(5_000), "}]".repeat(5_000)),
    ];
    for value in &deep {
        // In an ignored member, in a read one, and in the payload.
        for member in ["resource", "extensions", "memo", "accepted", "payload"] {
            let json = with_member(&text, member, value);
            assert!(
                matches!(
                    light::verify_payment_json(json.as_bytes(), &offers, &networks, NOW),
                    Err(LightError::Header(HeaderError::Json { .. }))
                ),
                "{member}: {}",
                &value[..20]
            );
        }
        assert!(matches!(
            light::read_requirements(value.as_bytes()),
            Err(HeaderError::Json { .. })
        ));
    }
    assert!(matches!(
        light::verify_payment_json("[".repeat(100_000).as_bytes(), &offers, &networks, NOW),
        Err(LightError::Header(HeaderError::Json { .. }))
    ));
}

/// A skipped member may nest down to `MAX_DEPTH` levels, counting the payment's own object;
/// one level more is refused (where the gateway, which allows 128, still accepts it).
#[test]
fn the_depth_limit_counts_every_level() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    let text = String::from_utf8(json).unwrap();
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let at_limit = with_member(&text, "extensions", &nested(MAX_DEPTH - 1));
    let verdict = light_verdict(at_limit.as_bytes(), &offered, &networks, NOW);
    assert!(verdict.is_ok(), "{verdict:?}");
    assert_eq!(
        verdict,
        full_verdict(at_limit.as_bytes(), &offered, &networks, NOW)
    );

    let over = with_member(&text, "extensions", &nested(MAX_DEPTH));
    let offers: Vec<Offer<'_>> = offered.iter().map(Offer::from).collect();
    match light::verify_payment_json(over.as_bytes(), &offers, &networks, NOW) {
        Err(LightError::Header(HeaderError::Json { message })) => {
            assert!(message.contains("nest too deeply"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(full_verdict(over.as_bytes(), &offered, &networks, NOW).is_ok());

    // A requirements array is one level itself.
    let requirement = serde_json::to_string(&offered[0]).unwrap();
    let shallow = format!(
        "{}{requirement}{}",
        "[".repeat(MAX_DEPTH - 2),
        "]".repeat(MAX_DEPTH - 2)
    );
    let deep = format!(
        "{}{requirement}{}",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    // Both are the wrong shape; only the deeper one is refused for its depth.
    let refusal = |text: &str| match light::read_requirements(text.as_bytes()) {
        Err(HeaderError::Json { message }) => message,
        other => panic!("{other:?}"),
    };
    assert!(!refusal(&shallow).contains("nest too deeply"));
    assert!(refusal(&deep).contains("nest too deeply"));
}

/// Brackets inside strings are text, escaped quotes do not end a string, and an escaped
/// backslash does not escape the quote after it.
#[test]
fn brackets_inside_strings_do_not_count() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    let text = String::from_utf8(json).unwrap();

    let brackets = "[{".repeat(5_000);
    for description in [
        brackets.clone(),
        format!("\\\"{brackets}"),
        format!("{brackets}\\\\\\\""),
    ] {
        let json = with_member(
            &text,
            "resource",
            &format!(r#"{{"url":"https://example.com/","description":"{description}"}}"#),
        );
        let verdict = light_verdict(json.as_bytes(), &offered, &networks, NOW);
        assert!(verdict.is_ok(), "{verdict:?}");
        assert_eq!(
            verdict,
            full_verdict(json.as_bytes(), &offered, &networks, NOW)
        );
    }

    // `"\\"` is a whole string: the nesting after it counts.
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    let json = with_member(&text, "memo", &format!(r#""\\","more":{deep}"#));
    let offers: Vec<Offer<'_>> = offered.iter().map(Offer::from).collect();
    assert!(matches!(
        light::verify_payment_json(json.as_bytes(), &offers, &networks, NOW),
        Err(LightError::Header(HeaderError::Json { .. }))
    ));
}

/// Escapes are read as the characters they stand for: in addresses, hex strings, member
/// names, and EIP-712 names compared with the offer and signed over.
#[test]
fn escaped_strings_are_read_as_their_values() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    let text = String::from_utf8(json).unwrap();
    let plain = full_verdict(text.as_bytes(), &offered, &networks, NOW);
    assert!(plain.is_ok(), "{plain:?}");

    // `0` as `\u0030` in every address, the nonce and the signature, on both sides.
    let escape_hex = |text: &str| text.replace("\"0x", "\"\\u0030x");
    let escaped = escape_hex(&text);
    let requirements = escape_hex(&serde_json::to_string(&offered).unwrap());
    assert_eq!(escaped.matches("\\u0030x").count(), 6);
    assert_eq!(
        light_verdict_with(escaped.as_bytes(), requirements.as_bytes(), &networks, NOW),
        plain
    );
    assert_eq!(
        full_verdict(escaped.as_bytes(), &offered, &networks, NOW),
        plain
    );

    // Escaped member names.
    let renamed = text
        .replace("\"x402Version\"", "\"x402\\u0056ersion\"")
        .replace("\"payload\"", "\"p\\u0061yload\"");
    assert_eq!(
        light_verdict(renamed.as_bytes(), &offered, &networks, NOW),
        plain
    );

    // EIP-712 names with a quote, a slash and an accent, written escaped by the client.
    for (name, written) in [
        ("Say \"hi\"", "Say \\\"hi\\\""),
        ("Café/USDC", "Caf\\u00e9\\/USDC"),
    ] {
        let mut offer = base_sepolia();
        offer.extra = Some(json!({"name": name, "version": "2"}));
        let payment = pay_v2(&key0(), &offer, None, &networks, NOW, Bytes32([9; 32])).unwrap();
        let raw = serde_json::to_string(&name).unwrap();
        let raw = &raw[1..raw.len() - 1];
        let json = serde_json::to_string(&payment)
            .unwrap()
            .replace(raw, written);
        let requirements = serde_json::to_string(&[&offer])
            .unwrap()
            .replace(raw, written);
        assert!(json.contains(written) && requirements.contains(written));

        let fields = light::read_requirements(requirements.as_bytes()).unwrap();
        assert_eq!(fields[0].offer().unwrap().eip712, Some((name, "2")));
        let offered = [offer];
        let verdict = light_verdict_with(json.as_bytes(), requirements.as_bytes(), &networks, NOW);
        assert!(verdict.is_ok(), "{name}: {verdict:?}");
        assert_eq!(
            verdict,
            full_verdict(json.as_bytes(), &offered, &networks, NOW)
        );
    }
}

/// A requirements array may mix v1 (`maxAmountRequired`) and v2 (`amount`) shapes; each
/// reads as the offer the wire model gives. One with neither price or both is refused.
#[test]
fn requirements_of_either_version_read_as_offers() {
    let networks = Networks::builtin();
    let v2_offer = base_sepolia();
    let resource = v2::ResourceInfo {
        url: "https://example.com/report".into(),
        description: Some("A report".into()),
        mime_type: Some("application/json".into()),
    };
    let mut v1_offer = v2_offer.to_v1("base-sepolia", &resource);
    v1_offer.max_amount_required = Uint256::from(20_000);
    v1_offer.output_schema = Some(json!({"type": "object", "properties": {"a": [1, 2]}}));
    let text = serde_json::to_vec(&json!([v1_offer, v2_offer])).unwrap();
    let fields = light::read_requirements(&text).unwrap();
    let offers: Vec<Offer<'_>> = fields.iter().map(|f| f.offer().unwrap()).collect();
    let v1_as_v2 = v1_offer.to_v2();
    assert_eq!(offers, [Offer::from(&v1_as_v2), Offer::from(&v2_offer)]);
    assert_eq!(offers[0].amount, Uint256::from(20_000));
    assert_eq!(offers[0].network, "base-sepolia");

    // A v1 payment verifies against the v1-shaped offer it was made for.
    let payment = pay_v1(&key0(), &v1_offer, &networks, NOW, Bytes32([3; 32])).unwrap();
    let json = serde_json::to_vec(&payment).unwrap();
    let v1_only = serde_json::to_vec(&[&v1_offer]).unwrap();
    let verdict = light_verdict_with(&json, &v1_only, &networks, NOW);
    assert_eq!(
        verdict.as_ref().map(|v| v.authorization.value),
        Ok(Uint256::from(20_000))
    );
    assert_eq!(verdict, full_verdict(&json, &[v1_as_v2], &networks, NOW));

    let priced = |members: Value| {
        let mut value = serde_json::to_value(&v2_offer).unwrap();
        let object = value.as_object_mut().unwrap();
        object.remove("amount");
        object.extend(members.as_object().unwrap().clone());
        serde_json::to_vec(&[value]).unwrap()
    };
    for (text, word) in [
        (priced(json!({})), "neither"),
        (
            priced(json!({"amount": "1", "maxAmountRequired": "1"})),
            "both",
        ),
    ] {
        let fields = light::read_requirements(&text).unwrap();
        match fields[0].offer() {
            Err(HeaderError::Json { message }) => assert!(message.contains(word), "{message}"),
            other => panic!("{word}: {other:?}"),
        }
    }

    // Other shape errors are refused when reading.
    let mut no_pay_to = serde_json::to_value(&v2_offer).unwrap();
    no_pay_to.as_object_mut().unwrap().remove("payTo");
    for text in [
        serde_json::to_vec(&[no_pay_to]).unwrap(),
        serde_json::to_vec(&v2_offer).unwrap(),
        priced(json!({"amount": 1})),
        b"[".to_vec(),
    ] {
        assert!(
            matches!(
                light::read_requirements(&text),
                Err(HeaderError::Json { .. })
            ),
            "{}",
            String::from_utf8_lossy(&text)
        );
    }
}

/// Anything after the payment's object but white space, and a comma before a closing
/// bracket anywhere, is refused, by both paths.
#[test]
fn trailing_garbage_and_trailing_commas_are_refused() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    let text = String::from_utf8(json).unwrap();
    let with_space = format!(" {text} \n\t\r");
    assert!(light_verdict(with_space.as_bytes(), &offered, &networks, NOW).is_ok());

    let before_last_brace = |insert: &str| {
        let end = text.rfind('}').unwrap();
        format!("{}{insert}{}", &text[..end], &text[end..])
    };
    let malformed = [
        format!("{text}x"),
        format!("{text},"),
        format!("{text} {{}}"),
        format!("{text}{text}"),
        format!("{text} 1"),
        before_last_brace(","),
        // After `accepted.extra.version`, in a member that is read.
        replace_once(&text, "\"2\"}", "\"2\",}"),
        // After the authorisation's last member, inside the payload.
        replace_once(&text, "\"value\":\"10000\"}", "\"value\":\"10000\",}"),
        // In members that are skipped.
        with_member(&text, "extensions", "[1,2,]"),
        with_member(&text, "memo", "{\"a\":[],}"),
    ];
    for json in &malformed {
        assert!(
            matches!(
                light::verify_payment_json(
                    json.as_bytes(),
                    &offered.iter().map(Offer::from).collect::<Vec<_>>(),
                    &networks,
                    NOW
                ),
                Err(LightError::Header(HeaderError::Json { .. }))
            ),
            "{json}"
        );
        assert_eq!(
            full_verdict(json.as_bytes(), &offered, &networks, NOW),
            Err(Reason::InvalidPayload),
            "{json}"
        );
    }

    let requirements = serde_json::to_string(&offered).unwrap();
    assert!(light::read_requirements(requirements.as_bytes()).is_ok());
    let inner = &requirements[..requirements.len() - 1];
    for bad in [
        format!("{inner},]"),
        format!("{requirements}]"),
        format!("{requirements}x"),
    ] {
        assert!(
            matches!(
                light::read_requirements(bad.as_bytes()),
                Err(HeaderError::Json { .. })
            ),
            "{bad}"
        );
    }
}

/// An address in mixed case that is not its EIP-55 checksum (a typo, most often) is refused
/// by both paths; all lower or all upper case passes.
#[test]
fn mixed_case_addresses_must_be_their_checksum_on_both_paths() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    let value: Value = serde_json::from_slice(&json).unwrap();
    for pointer in [
        "/payload/authorization/from",
        "/payload/authorization/to",
        "/accepted/payTo",
    ] {
        let address = value.pointer(pointer).unwrap().as_str().unwrap().to_owned();
        let at = address[2..]
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap()
            + 2;
        let mut typo = address.clone();
        typo.replace_range(
            at..=at,
            &flip_case(address.as_bytes()[at].into()).to_string(),
        );
        for (spelling, passes) in [
            (typo, false),
            (address.to_ascii_lowercase(), true),
            (format!("0x{}", address[2..].to_ascii_uppercase()), true),
        ] {
            let mut edited = value.clone();
            *edited.pointer_mut(pointer).unwrap() = spelling.clone().into();
            let text = serde_json::to_vec(&edited).unwrap();
            let full = full_verdict(&text, &offered, &networks, NOW);
            assert_eq!(full.is_ok(), passes, "{pointer} {spelling}: {full:?}");
            assert_eq!(
                light_verdict(&text, &offered, &networks, NOW),
                full,
                "{pointer}"
            );
        }
    }
}

/// Every proper prefix of a payment is malformed JSON: both paths refuse it alike.
#[test]
fn every_truncation_is_refused_alike() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    for end in 0..json.len() {
        let cut = &json[..end];
        assert_eq!(
            light_verdict(cut, &offered, &networks, NOW),
            Err(Reason::InvalidPayload),
            "{}",
            String::from_utf8_lossy(cut)
        );
        assert_eq!(
            full_verdict(cut, &offered, &networks, NOW),
            Err(Reason::InvalidPayload)
        );
    }
}

/// JSON that is not an object with a version is not a payment, on either path.
#[test]
fn documents_that_are_not_payments_are_refused_alike() {
    let networks = Networks::builtin();
    let offered = [base_sepolia()];
    for text in [
        "",
        " ",
        "5",
        "\"x\"",
        "null",
        "true",
        "[]",
        "[2]",
        "{}",
        "{\"x402Version\":null}",
    ] {
        let light = light_verdict(text.as_bytes(), &offered, &networks, NOW);
        assert_eq!(light, Err(Reason::InvalidPayload), "{text:?}");
        assert_eq!(
            light,
            full_verdict(text.as_bytes(), &offered, &networks, NOW)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512, failure_persistence: None, ..ProptestConfig::default()
    })]

    /// The same payment spelled otherwise (white space between any tokens, characters as
    /// `\u` escapes, members in another order, hex digits in either case) passes both ways
    /// alike.
    #[test]
    fn any_spelling_of_a_payment_passes_alike(
        choices in prop::collection::vec(any::<u8>(), 1..64), v1 in any::<bool>(),
    ) {
        let networks = Networks::builtin();
        let (json, offered) = if v1 { example_v1_payment() } else { example_payment() };
        let value: Value = serde_json::from_slice(&json).unwrap();
        let mut spelled = String::new();
        Speller(choices.iter().copied().cycle()).value(&value, &mut spelled);
        let full = full_verdict(spelled.as_bytes(), &offered, &networks, NOW);
        prop_assert!(full.is_ok(), "{:?}: {}", full, spelled);
        prop_assert_eq!(light_verdict(spelled.as_bytes(), &offered, &networks, NOW), full);
    }

    /// Arbitrary bytes, strings and soups of JSON tokens never make the light path panic.
    #[test]
    fn arbitrary_input_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        text in ".{0,200}",
        soup in token_soup(),
    ) {
        for input in [bytes.as_slice(), text.as_bytes(), soup.as_bytes()] {
            feed_the_light_path(input);
        }
    }

    /// A payment with a few bytes changed: never a panic, and whenever the gateway still
    /// accepts it, the light path accepts it alike.
    #[test]
    fn edited_payments_that_the_gateway_accepts_pass_alike(
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let networks = Networks::builtin();
        let (mut json, offered) = example_payment();
        for (at, byte, kind) in edits {
            let at = at.index(json.len() + 1);
            match kind {
                0 if at < json.len() => json[at] = byte,
                1 if at < json.len() => {
                    json.remove(at);
                }
                _ => json.insert(at, byte),
            }
        }
        feed_the_light_path(&json);
        let full = full_verdict(&json, &offered, &networks, NOW);
        if full.is_ok() {
            let light = light_verdict(&json, &offered, &networks, NOW);
            prop_assert_eq!(light, full, "{}", String::from_utf8_lossy(&json));
        }
    }
}

/// Writes a JSON value in one of its equivalent spellings, as the choices it draws decide.
struct Speller<I>(I);

impl<I: Iterator<Item = u8>> Speller<I> {
    /// A choice among `n`.
    fn pick(&mut self, n: u8) -> u8 {
        self.0.next().expect("the choices cycle") % n
    }

    fn value(&mut self, value: &Value, out: &mut String) {
        self.space(out);
        match value {
            Value::Object(members) => {
                let mut members: Vec<_> = members.iter().collect();
                let turn = usize::from(self.pick(8)) % members.len().max(1);
                members.rotate_left(turn);
                out.push('{');
                for (i, (name, member)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.space(out);
                    self.string(name, out);
                    self.space(out);
                    out.push(':');
                    self.value(member, out);
                }
                self.space(out);
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.value(item, out);
                }
                self.space(out);
                out.push(']');
            }
            Value::String(text) => self.string(text, out),
            other => out.push_str(&other.to_string()),
        }
        self.space(out);
    }

    /// JSON's four white-space characters, or none (half the time).
    fn space(&mut self, out: &mut String) {
        const SPACES: [&str; 8] = ["", "", "", "", " ", "\n", "\t", "\r\n  "];
        out.push_str(SPACES[usize::from(self.pick(8))]);
    }

    /// A string with some characters escaped (`\u` escapes of characters outside the Basic
    /// Multilingual Plane are left out: see `escaped_surrogate_pairs_are_read`), and the hex
    /// digits of `0x` strings in either case: each digit for hashes and signatures, the
    /// whole string for addresses (whose mixed case must be their EIP-55 checksum).
    fn string(&mut self, text: &str, out: &mut String) {
        let hex = text.starts_with("0x");
        let address_case = match (hex && text.len() == 42, self.pick(3)) {
            (false, _) | (true, 0) => None,
            (true, 1) => Some(false),
            (true, _) => Some(true),
        };
        out.push('"');
        for c in text.chars() {
            let c = match (address_case, self.pick(2)) {
                (Some(upper), _) if c.is_ascii_hexdigit() && c.is_ascii_alphabetic() => {
                    if upper {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                }
                (None, 0) if hex && text.len() != 42 && c.is_ascii_hexdigit() => flip_case(c),
                _ => c,
            };
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if c < ' ' || (c <= '\u{ffff}' && self.pick(6) == 0) => {
                    out.push_str(&format!("\\u{:04x}", u32::from(c)));
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

fn flip_case(c: char) -> char {
    if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c.to_ascii_uppercase()
    }
}

/// Runs the light path's entry points on one input; only that they return matters.
fn feed_the_light_path(input: &[u8]) {
    let networks = Networks::builtin();
    let offered = [base_sepolia()];
    let offers: Vec<Offer<'_>> = offered.iter().map(Offer::from).collect();
    let _ = light::verify_payment_json(input, &offers, &networks, NOW);
    if let Ok(fields) = light::read_requirements(input) {
        for field in &fields {
            let _ = field.offer();
        }
    }
}

/// Text made of JSON's tokens and the payment's member names, in any order.
fn token_soup() -> impl Strategy<Value = String> {
    const TOKENS: [&str; 34] = [
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        " ",
        "\"",
        "\\",
        "\"x402Version\"",
        "\"payload\"",
        "\"accepted\"",
        "\"scheme\"",
        "\"network\"",
        "\"extra\"",
        "\"name\"",
        "\"amount\"",
        "\"maxAmountRequired\"",
        "\"signature\"",
        "\"authorization\"",
        "\"exact\"",
        "\"eip155:84532\"",
        "\"0x\"",
        "\"\\u00",
        "\"\\ud83d\"",
        "1",
        "2",
        "-",
        "0",
        "1.5",
        "e9",
        "null",
        "true",
        "a",
    ];
    prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..80).prop_map(|t| t.concat())
}

// ---------------------------------------------------------------------------------------
// 4. Inputs the paths once disagreed on, and the documented differences

/// A stray `"` in a malformed scalar cannot hide the nesting after it: the syntax check
/// refuses the document before any depth is trusted.
#[test]
fn a_stray_quote_does_not_hide_nesting_from_the_depth_check() {
    let networks = Networks::builtin();
    let (json, offered) = example_payment();
    let offers: Vec<Offer<'_>> = offered.iter().map(Offer::from).collect();
    let text = String::from_utf8(json).unwrap();
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 8), "]".repeat(MAX_DEPTH + 8));
    let json = with_member(&text, "memo", &format!("a\"b,\"more\":{deep}"));
    let light = light::verify_payment_json(json.as_bytes(), &offers, &networks, NOW);
    assert!(
        matches!(light, Err(LightError::Header(HeaderError::Json { .. }))),
        "{light:?}"
    );
}

/// The same input, deep enough to exhaust a test thread's stack if the decoder ever saw it.
/// Run in a child process, so that an overflow fails this test instead of aborting the run.
#[test]
fn a_stray_quote_then_deep_nesting_does_not_overflow_the_stack() {
    const IN_CHILD: &str = "EDGE402_LIGHT_TEST_CHILD";
    if std::env::var_os(IN_CHILD).is_some() {
        // A million levels: the light API itself bounds no input size (a header's 16 KiB
        // allow about 12,000, which is already enough for a debug build).
        let json = format!(
            "{{\"x402Version\":2,\"memo\":a\"b,\"more\":{}",
            "[".repeat(1_000_000)
        );
        let verdict = light::verify_payment_json(json.as_bytes(), &[], &Networks::builtin(), NOW);
        assert!(matches!(
            verdict,
            Err(LightError::Header(HeaderError::Json { .. }))
        ));
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_stray_quote_then_deep_nesting_does_not_overflow_the_stack",
        ])
        .env(IN_CHILD, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the child ended with {status}");
}

/// `\ud83d\ude00` (😀 as an escaped UTF-16 surrogate pair, as Python's `json.dumps` writes
/// it) is valid JSON, which the decoder alone could not read; the syntax check rewrites it.
#[test]
fn escaped_surrogate_pairs_are_read() {
    let json = example_with_member(
        "resource",
        r#"{"url":"https://example.com/","description":"\ud83d\ude00"}"#,
    );
    assert_same_verdict(&json, Ok(()));
}

/// An unsupported `x402Version` is reported as such whatever else is wrong.
#[test]
fn an_unsupported_version_is_reported_whatever_the_shape() {
    let (json, _) = example_payment();
    let mut payment: Value = serde_json::from_slice(&json).unwrap();
    payment["x402Version"] = json!(3);
    payment["accepted"].as_object_mut().unwrap().remove("payTo");
    assert_same_verdict(
        &serde_json::to_string(&payment).unwrap(),
        Err(Reason::InvalidX402Version),
    );
}

/// Members that only the other version defines are unknown members, skipped by both paths
/// whatever they hold.
#[test]
fn members_of_the_other_version_are_skipped() {
    // v2 with a top-level `scheme` / `network`, v2 `accepted` with `maxAmountRequired`.
    assert_same_verdict(&example_with_member("scheme", "5"), Ok(()));
    assert_same_verdict(&example_with_member("network", "{}"), Ok(()));
    let (json, _) = example_payment();
    let mut payment: Value = serde_json::from_slice(&json).unwrap();
    payment["accepted"]["maxAmountRequired"] = json!("not a number");
    assert_same_verdict(&serde_json::to_string(&payment).unwrap(), Ok(()));
    // v1 with an `accepted`.
    let payment = pay_v1(
        &key0(),
        &base_sepolia().to_v1("base-sepolia", &v2::ResourceInfo::default()),
        &Networks::builtin(),
        NOW,
        Bytes32([5; 32]),
    )
    .unwrap();
    let text = serde_json::to_string(&payment).unwrap();
    assert_same_verdict(&with_member(&text, "accepted", "\"x\""), Ok(()));
}

/// An `accepted.extra` that is not an object, or whose `name` is not a string, does not
/// match the offer (`invalid_payment_requirements`). A repeated `name` counts as its last
/// value.
#[test]
fn an_odd_extra_is_a_mismatch_not_a_malformed_payment() {
    let (json, _) = example_payment();
    let payment: Value = serde_json::from_slice(&json).unwrap();
    for extra in [json!("USDC"), json!([]), json!({"name": 5, "version": "2"})] {
        let mut odd = payment.clone();
        odd["accepted"]["extra"] = extra;
        assert_same_verdict(
            &serde_json::to_string(&odd).unwrap(),
            Err(Reason::InvalidPaymentRequirements),
        );
    }
    let text = String::from_utf8(json).unwrap();
    let repeated = replace_once(
        &text,
        "\"name\":\"USDC\"",
        "\"name\":\"USD\",\"name\":\"USDC\"",
    );
    assert_same_verdict(&repeated, Ok(()));
}

/// A `null` payload is only looked at once a requirement matches, so a wrong scheme is
/// reported first.
#[test]
fn a_null_payload_is_checked_after_the_offer() {
    let (json, _) = example_payment();
    let mut payment: Value = serde_json::from_slice(&json).unwrap();
    payment["accepted"]["scheme"] = json!("upto");
    payment["payload"] = Value::Null;
    assert_same_verdict(
        &serde_json::to_string(&payment).unwrap(),
        Err(Reason::UnsupportedScheme),
    );
}

/// A raw control character in a string is malformed JSON, in skipped members and read ones.
#[test]
fn raw_control_characters_in_strings_are_malformed() {
    let resource = "{\"url\":\"https://example.com/\",\"description\":\"a\nb\"}";
    assert_same_verdict(
        &example_with_member("resource", resource),
        Err(Reason::InvalidPayload),
    );
    let (json, _) = example_payment();
    let text = replace_once(
        &String::from_utf8(json).unwrap(),
        "\"exact\"",
        "\"exa\tct\"",
    );
    assert_same_verdict(&text, Err(Reason::InvalidPayload));
}

/// A version that is not a JSON number at all (`02`, `2x`, `2 2`) is malformed JSON on both
/// paths. `1e400` is JSON, but beyond what the gateway's parser reads as a number: the light
/// path calls it an unsupported version (a documented difference).
#[test]
fn a_malformed_version_number_is_malformed_json() {
    let (json, _) = example_payment();
    let text = String::from_utf8(json).unwrap();
    let with_version = |version: &str| {
        replace_once(
            &text,
            "\"x402Version\":2",
            &format!("\"x402Version\":{version}"),
        )
    };
    for version in ["02", "2x", "2 2"] {
        assert_same_verdict(&with_version(version), Err(Reason::InvalidPayload));
    }
    let huge = with_version("1e400");
    let (networks, offered) = (Networks::builtin(), [base_sepolia()]);
    assert_eq!(
        full_verdict(huge.as_bytes(), &offered, &networks, NOW).map(|_| ()),
        Err(Reason::InvalidPayload)
    );
    assert_eq!(
        light_verdict(huge.as_bytes(), &offered, &networks, NOW).map(|_| ()),
        Err(Reason::InvalidX402Version)
    );
}

/// A payload written as `[signature, [from, to, value, validAfter, validBefore, nonce]]`
/// (which serde would read as the struct) is refused by both paths.
#[test]
fn a_payload_written_as_an_array_gets_one_verdict() {
    let (json, _) = example_payment();
    let mut payment: Value = serde_json::from_slice(&json).unwrap();
    let exact = exact_payload(&payment);
    let a = &exact.authorization;
    payment["payload"] = json!([
        exact.signature,
        [
            a.from,
            a.to,
            a.value,
            a.valid_after,
            a.valid_before,
            a.nonce
        ]
    ]);
    let text = serde_json::to_string(&payment).unwrap();
    let networks = Networks::builtin();
    let offered = [base_sepolia()];
    let light = light_verdict(text.as_bytes(), &offered, &networks, NOW);
    assert_eq!(light.as_ref().map(|_| ()), Err(&Reason::InvalidPayload));
    assert_eq!(
        light,
        full_verdict(text.as_bytes(), &offered, &networks, NOW)
    );
}

/// A leading comma in the requirements array (`[,{…}]`) is malformed JSON.
#[test]
fn a_leading_comma_in_requirements_is_refused() {
    let requirements = serde_json::to_string(&[base_sepolia()]).unwrap();
    let leading = format!("[,{}", &requirements[1..]);
    assert!(matches!(
        light::read_requirements(leading.as_bytes()),
        Err(HeaderError::Json { .. })
    ));
}

/// `resource` and `extensions` are read for their shape, as the gateway's wire model reads
/// them: a `resource` without a string `url`, or a repeated member, is malformed both ways.
#[test]
fn a_malformed_resource_is_refused_alike() {
    for resource in [
        "5",
        "{}",
        "{\"url\":1}",
        "{\"url\":\"u\",\"description\":2}",
    ] {
        assert_same_verdict(
            &example_with_member("resource", resource),
            Err(Reason::InvalidPayload),
        );
    }
    assert_same_verdict(&example_with_member("resource", "null"), Ok(()));
    let twice = example_with_member("extensions", "{}");
    assert_same_verdict(
        &with_member(&twice, "extensions", "{}"),
        Err(Reason::InvalidPayload),
    );
}

/// A repeated `x402Version` is malformed JSON for the wire model, not an odd version.
#[test]
fn a_repeated_version_is_malformed() {
    assert_same_verdict(
        &example_with_member("x402Version", "2"),
        Err(Reason::InvalidPayload),
    );
}

/// The documented differences: the light path is stricter than `serde_json` on a lone
/// surrogate escape in a skipped member, a member repeated inside `payload`, and an
/// `accepted` written as an array; it compares only the EIP-712 part of `extra`.
#[test]
fn the_documented_differences_hold() {
    let (networks, offered) = (Networks::builtin(), [base_sepolia()]);
    let (json, _) = example_payment();
    let text = String::from_utf8(json).unwrap();
    let both = |json: &str| {
        (
            full_verdict(json.as_bytes(), &offered, &networks, NOW).map(|v| v.payer),
            light_verdict(json.as_bytes(), &offered, &networks, NOW).map(|v| v.payer),
        )
    };
    let stricter = (Ok(key0().address()), Err(Reason::InvalidPayload));

    assert_eq!(both(&with_member(&text, "memo", "\"\\ud800\"")), stricter);

    let payment: Value = serde_json::from_str(&text).unwrap();
    let signature = payment["payload"]["signature"].as_str().unwrap();
    let repeated = replace_once(
        &text,
        "\"signature\":",
        &format!("\"signature\":\"{signature}\",\"signature\":"),
    );
    assert_eq!(both(&repeated), stricter);

    let mut as_array = payment.clone();
    let accepted = &payment["accepted"];
    as_array["accepted"] = json!([
        accepted["scheme"],
        accepted["network"],
        accepted["amount"],
        accepted["asset"],
        accepted["payTo"],
        accepted["maxTimeoutSeconds"],
        accepted["extra"]
    ]);
    assert_eq!(both(&as_array.to_string()), stricter);

    // Another `extra` member in `accepted` only: the gateway compares the whole value.
    let mut more_extra = payment;
    more_extra["accepted"]["extra"]["note"] = json!("x");
    assert_eq!(
        both(&more_extra.to_string()),
        (
            Err(Reason::InvalidPaymentRequirements),
            Ok(key0().address())
        )
    );
}

/// Asserts both paths' verdict on the example payment's offer: paid by key #0 (`Ok(())`),
/// or refused for `expected`.
fn assert_same_verdict(json: &str, expected: Result<(), Reason>) {
    let networks = Networks::builtin();
    let offered = [base_sepolia()];
    let full = full_verdict(json.as_bytes(), &offered, &networks, NOW);
    let light = light_verdict(json.as_bytes(), &offered, &networks, NOW);
    assert_eq!(
        full.as_ref().map(|v| v.payer).map_err(|r| *r),
        expected.map(|()| key0().address()),
        "full path: {json}"
    );
    assert_eq!(light, full, "{json}");
}

// ---------------------------------------------------------------------------------------
// Helpers

/// The gateway's verdict: the payment decoded with `serde_json` into the wire model, then
/// verified.
fn full_verdict(
    json: &[u8],
    offered: &[v2::PaymentRequirements],
    networks: &Networks,
    now: u64,
) -> Verdict {
    let payment = PaymentPayload::from_json_slice(json).map_err(|e| header_reason(&e))?;
    verify_payment(&payment, offered, networks, now).map_err(|e| e.reason())
}

/// The light path's verdict, with the requirements read from their JSON as the npm
/// package reads them.
fn light_verdict(
    json: &[u8],
    offered: &[v2::PaymentRequirements],
    networks: &Networks,
    now: u64,
) -> Verdict {
    light_verdict_with(json, &serde_json::to_vec(offered).unwrap(), networks, now)
}

fn light_verdict_with(json: &[u8], requirements: &[u8], networks: &Networks, now: u64) -> Verdict {
    let fields = light::read_requirements(requirements).expect("the requirements read");
    let offers = fields
        .iter()
        .map(light::OfferFields::offer)
        .collect::<Result<Vec<_>, _>>()
        .expect("every requirement is priced");
    light::verify_payment_json(json, &offers, networks, now).map_err(|e| match e {
        LightError::Header(e) => header_reason(&e),
        LightError::Verify(e) => e.reason(),
    })
}

/// How `src/js/mod.rs` answers a payment that cannot be read.
fn header_reason(error: &HeaderError) -> Reason {
    match error {
        HeaderError::UnsupportedVersion { .. } => Reason::InvalidX402Version,
        _ => Reason::InvalidPayload,
    }
}

fn key0() -> PaymentSigner {
    PaymentSigner::from_hex(TEST_KEY_0).unwrap()
}

/// A v2 payment by key #0 for [`base_sepolia`], valid at [`NOW`], as JSON bytes, with the
/// offer it pays.
fn example_payment() -> (Vec<u8>, [v2::PaymentRequirements; 1]) {
    let offer = base_sepolia();
    let payment = pay_v2(
        &key0(),
        &offer,
        None,
        &Networks::builtin(),
        NOW,
        Bytes32([1; 32]),
    )
    .unwrap();
    (serde_json::to_vec(&payment).unwrap(), [offer])
}

/// The v1 twin of [`example_payment`]: the same offer, named `base-sepolia`.
fn example_v1_payment() -> (Vec<u8>, [v2::PaymentRequirements; 1]) {
    let offer = base_sepolia();
    let v1_offer = offer.to_v1("base-sepolia", &v2::ResourceInfo::default());
    let payment = pay_v1(
        &key0(),
        &v1_offer,
        &Networks::builtin(),
        NOW,
        Bytes32([2; 32]),
    )
    .unwrap();
    (serde_json::to_vec(&payment).unwrap(), [offer])
}

fn example_with_member(member: &str, raw_value: &str) -> String {
    let (json, _) = example_payment();
    with_member(&String::from_utf8(json).unwrap(), member, raw_value)
}

/// `text` with the first `from` replaced by `to`; `from` must occur.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} is not in {text}");
    text.replacen(from, to, 1)
}

/// A payment's JSON text with `"member": raw_value` as its first member.
fn with_member(payment: &str, member: &str, raw_value: &str) -> String {
    let rest = payment.strip_prefix('{').expect("a JSON object");
    format!("{{\"{member}\":{raw_value},{rest}")
}

/// Another built-in network than the `index`-th, picked by `pick`.
fn other_network(index: usize, pick: Index) -> usize {
    let count = Networks::builtin().iter().count();
    (index + 1 + pick.index(count - 1)) % count
}
