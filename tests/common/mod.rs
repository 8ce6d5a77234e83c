//! Helpers shared by the integration tests (natively and on wasm32).
#![allow(dead_code)]

use edge402::evm::{
    Address, Eip712Domain, ExactEvmPayload, SignatureHex, TransferWithAuthorization,
};
use edge402::protocol::{v1, v2, PaymentPayload, Version};
use edge402::{Uint256, U256};
use serde::Deserialize;
use serde_json::json;

/// `../shared/vectors/x402_exact_evm.json`, copied into the crate so it builds anywhere.
pub const X402_VECTORS: &str = include_str!("../vectors/x402_exact_evm.json");
/// The base64 header examples of the x402 transport specs (v1 and v2).
pub const TRANSPORT_EXAMPLES: &str = include_str!("../vectors/transport_examples.json");

#[derive(Deserialize)]
pub struct VectorFile {
    pub vectors: Vec<Vector>,
}

/// One signed EIP-3009 authorisation and what verifying its signature must give.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Vector {
    pub id: String,
    pub network: String,
    pub v1_network: Option<String>,
    pub domain: VectorDomain,
    pub message: TransferWithAuthorization,
    pub domain_separator: Option<String>,
    pub struct_hash: Option<String>,
    pub digest: Option<String>,
    pub signature: String,
    pub signer: Address,
    pub expect: String,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct VectorDomain {
    pub name: String,
    pub version: String,
    pub chain_id: u64,
    pub verifying_contract: Address,
}

pub fn vectors() -> Vec<Vector> {
    serde_json::from_str::<VectorFile>(X402_VECTORS)
        .expect("vector file parses")
        .vectors
}

impl Vector {
    pub fn domain(&self) -> Eip712Domain {
        Eip712Domain {
            name: self.domain.name.clone(),
            version: self.domain.version.clone(),
            chain_id: self.domain.chain_id,
            verifying_contract: self.domain.verifying_contract,
        }
    }

    pub fn signature_bytes(&self) -> Vec<u8> {
        hex::decode(self.signature.trim_start_matches("0x")).expect("vector signature is hex")
    }

    /// The v2 requirement this vector's message pays exactly.
    pub fn requirement(&self) -> v2::PaymentRequirements {
        v2::PaymentRequirements {
            scheme: "exact".into(),
            network: self.network.clone(),
            amount: self.message.value,
            asset: self.domain.verifying_contract.to_string(),
            pay_to: self.message.to.to_string(),
            max_timeout_seconds: 60,
            extra: Some(json!({"name": self.domain.name, "version": self.domain.version})),
        }
    }

    pub fn exact_payload(&self) -> serde_json::Value {
        serde_json::to_value(ExactEvmPayload {
            signature: SignatureHex(self.signature_bytes()),
            authorization: self.message.clone(),
        })
        .unwrap()
    }

    pub fn v2_payment(&self) -> PaymentPayload {
        PaymentPayload::V2(v2::PaymentPayload {
            x402_version: Version,
            resource: None,
            accepted: self.requirement(),
            payload: self.exact_payload(),
            extensions: None,
        })
    }

    pub fn v1_payment(&self) -> Option<PaymentPayload> {
        Some(PaymentPayload::V1(v1::PaymentPayload {
            x402_version: Version,
            scheme: "exact".into(),
            network: self.v1_network.clone()?,
            payload: self.exact_payload(),
        }))
    }

    /// A time inside the vector's window `[validAfter, validBefore - 6]`.
    pub fn now_inside_window(&self) -> u64 {
        let after: u64 = self
            .message
            .valid_after
            .0
            .try_into()
            .expect("validAfter fits u64");
        after + 1
    }
}

pub fn hex32(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim_start_matches("0x"), &mut out).expect("32 bytes of hex");
    out
}

pub fn uint(text: &str) -> Uint256 {
    Uint256::from_decimal(text).unwrap()
}

/// USDC on Base Sepolia, 0.01 USDC to a fixed recipient.
pub fn base_sepolia() -> v2::PaymentRequirements {
    v2::PaymentRequirements {
        scheme: "exact".into(),
        network: "eip155:84532".into(),
        amount: Uint256::from(10_000),
        asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e".into(),
        pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
        max_timeout_seconds: 60,
        extra: Some(json!({"name": "USDC", "version": "2"})),
    }
}

/// The offered requirement for the `index`-th built-in network and its default USDC.
pub fn requirement(
    index: usize,
    pay_to: Address,
    amount: Uint256,
    timeout: u64,
) -> v2::PaymentRequirements {
    let networks = edge402::networks::Networks::builtin();
    let network = networks.iter().nth(index).unwrap();
    let asset = network.default_asset().unwrap();
    v2::PaymentRequirements {
        scheme: "exact".into(),
        network: network.caip2(),
        amount,
        asset: asset.address.to_string(),
        pay_to: pay_to.to_string(),
        max_timeout_seconds: timeout,
        extra: Some(json!({"name": asset.eip712_name, "version": asset.eip712_version})),
    }
}

/// Any JSON value a few levels deep (well within the light path's nesting limit).
#[cfg(not(target_arch = "wasm32"))]
pub fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Proptest strategies for the wire types' parts (native only: proptest is a native
/// dev-dependency).
#[cfg(not(target_arch = "wasm32"))]
pub mod strategies {
    use edge402::evm::signer::PaymentSigner;
    use edge402::evm::{Address, Bytes32};
    use edge402::networks::Networks;
    use edge402::{Uint256, U256};
    use proptest::prelude::*;

    pub fn signer() -> impl Strategy<Value = PaymentSigner> {
        any::<[u8; 32]>().prop_filter_map("valid secp256k1 key", |k| {
            PaymentSigner::from_bytes(&k).ok()
        })
    }

    pub fn uint256() -> impl Strategy<Value = Uint256> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|b| Uint256(U256::from_be_bytes(b))),
            any::<u64>().prop_map(Uint256::from),
            Just(Uint256(U256::MAX)),
            Just(Uint256::ZERO),
        ]
    }

    pub fn address() -> impl Strategy<Value = Address> {
        any::<[u8; 20]>().prop_map(Address)
    }

    pub fn bytes32() -> impl Strategy<Value = Bytes32> {
        any::<[u8; 32]>().prop_map(Bytes32)
    }

    /// Index into the built-in network table.
    pub fn network_index() -> impl Strategy<Value = usize> {
        0..Networks::builtin().iter().count()
    }
}

/// The fields of an authorisation a test can change.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    From,
    To,
    Value,
    ValidAfter,
    ValidBefore,
    Nonce,
}

pub const FIELDS: [Field; 6] = [
    Field::From,
    Field::To,
    Field::Value,
    Field::ValidAfter,
    Field::ValidBefore,
    Field::Nonce,
];

/// Changes one field so that it no longer satisfies the requirement at `now` (the nonce,
/// which no local check constrains, just changes).
pub fn change(payload: &mut ExactEvmPayload, field: Field, now: u64) {
    let a = &mut payload.authorization;
    let flip = |x: &mut [u8]| x[0] ^= 0x01;
    match field {
        Field::From => flip(&mut a.from.0),
        Field::To => flip(&mut a.to.0),
        Field::Value => a.value = Uint256(a.value.0 ^ U256::from(1)),
        Field::ValidAfter => a.valid_after = Uint256::from(now + 1),
        Field::ValidBefore => a.valid_before = Uint256::from(now + 5),
        Field::Nonce => flip(&mut a.nonce.0),
    }
}
