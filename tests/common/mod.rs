//! Helpers shared by the integration tests (natively and on wasm32).
#![allow(dead_code)]

use edge402::evm::{
    Address, Eip712Domain, ExactEvmPayload, SignatureHex, TransferWithAuthorization,
};
use edge402::protocol::{v1, v2, PaymentPayload, Version};
use edge402::Uint256;
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
