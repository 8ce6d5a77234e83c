//! Every decoder of untrusted input, fed the same bytes.
//!
//! The input is used three ways:
//! 1. as a header value (UTF-8, lossily when it is not), for every header decoder and every
//!    string parser (a sign-in among them);
//! 2. as the JSON *inside* a header: base64-encoded first, so the fuzzer reaches the JSON
//!    decoders without having to discover base64 itself;
//! 3. as raw bytes, for the APIs that take bytes (signatures, digests), and as the JSON the
//!    light verification path (`verify::light`) reads: a payment, and a requirements array;
//! 4. as a Web Bot Auth request's signature fields, a key directory and a crawler price.
//!
//! A decoded payment is verified against fixed requirements at a fixed time. Besides "never
//! panics", the target checks a few properties: re-encoded values decode again, parsed
//! scalars print back to what parses to them, and the one-pass signature recovery agrees with
//! k256's recover-then-verify on every input.

#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

use edge402::evm::signer::PaymentSigner;
use edge402::evm::{
    recover_address_from_prehash, recover_address_from_prehash_with_k256, Address, Bytes32,
    RecoverableSignature, SignatureKind,
};
use edge402::gate::crawl::CrawlerPrice;
use edge402::networks::{Asset, Networks};
use edge402::pricing::Price;
use edge402::protocol::facilitator::{
    FacilitatorRequest, SettleResponse, SupportedResponse, VerifyResponse,
};
use edge402::protocol::{decode_header, v1, v2, PaymentPayload, Reason, MAX_HEADER_LEN};
use edge402::siwx::{Audience, SignInProof};
use edge402::terms::Offer;
use edge402::verify::{light, verify_payment};
use edge402::web_bot_auth::{KeyDirectory, RequestParts, SignedRequest, MAX_KEYS, MAX_VALIDITY_S};
use edge402::Uint256;

/// The fixed clock payments are verified at (a date of the transport spec's examples).
const NOW: u64 = 1_740_672_100;

struct Fixed {
    networks: Networks,
    offered: Vec<v2::PaymentRequirements>,
    /// Base Sepolia USDC, and the same with 18 decimals and no USD peg, for prices.
    assets: [Asset; 2],
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let networks = Networks::builtin();
        let requirement = |network: &str, asset: &str, name: &str| v2::PaymentRequirements {
            scheme: "exact".into(),
            network: network.into(),
            amount: Uint256::from(10_000),
            asset: asset.into(),
            pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
            max_timeout_seconds: 60,
            extra: Some(json!({"name": name, "version": "2"})),
        };
        // One requirement by CAIP-2 id (v2 payments) and one by v1 name (v1 payments).
        let offered = vec![
            requirement(
                "eip155:84532",
                "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                "USDC",
            ),
            requirement(
                "base",
                "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
                "USD Coin",
            ),
        ];
        let usdc = networks.resolve("base-sepolia").expect("built in").assets[0].clone();
        let token = Asset {
            decimals: 18,
            usd_stable: false,
            ..usdc.clone()
        };
        Fixed {
            networks,
            offered,
            assets: [usdc, token],
        }
    })
}

/// Every header decoder on one header value.
fn decode_headers(header: &str) {
    let fixed = fixed();

    if let Ok(payment) = PaymentPayload::from_header(header) {
        let _ = (
            payment.version(),
            payment.header_name(),
            payment.response_header_name(),
        );
        // Re-encoding gives a header that decodes to the same kind of payment (unless the
        // compact form grew past the cap, e.g. `1e9` written back as `1000000000.0`).
        let again = payment.to_header();
        if again.len() <= MAX_HEADER_LEN {
            let decoded =
                PaymentPayload::from_header(&again).expect("a re-encoded payment decodes");
            assert_eq!(decoded.version(), payment.version());
            assert_eq!(decoded.scheme(), payment.scheme());
            assert_eq!(decoded.network(), payment.network());
        }
        match verify_payment(&payment, &fixed.offered, &fixed.networks, NOW) {
            Ok(verified) => {
                assert!(verified.requirement_index < fixed.offered.len());
                assert_eq!(verified.payer, verified.authorization.from);
                let _ = verified.signature;
            }
            Err(error) => {
                let _ = (error.reason().as_str(), error.to_string());
            }
        }
    }

    if let Ok(required) = decode_header::<v1::PaymentRequired>(header) {
        for requirement in &required.accepts {
            let _ = requirement.to_v2();
        }
    }
    if let Ok(required) = decode_header::<v2::PaymentRequired>(header) {
        for requirement in &required.accepts {
            let _ = requirement.to_v1("base-sepolia", &required.resource);
        }
    }
    if let Ok(settled) = SettleResponse::from_header(header) {
        let _ = settled.reason();
        let again = settled.to_header();
        if again.len() <= MAX_HEADER_LEN {
            assert!(
                SettleResponse::from_header(&again).is_ok(),
                "a re-encoded settlement decodes"
            );
        }
    }
    if let Ok(verified) = decode_header::<VerifyResponse>(header) {
        let _ = verified.reason();
    }
    let _ = decode_header::<SupportedResponse>(header);
    let _ = decode_header::<FacilitatorRequest>(header);

    // A sign-in (SIGN-IN-WITH-X), checked as a route paid on Base Sepolia would check it; one
    // that passes names the chain and the nonce it was checked with.
    if let Ok(proof) = SignInProof::from_header(header) {
        let networks = ["eip155:84532".to_owned()];
        for contracts in [false, true] {
            let audience = Audience {
                origin: "https://api.example.com",
                domain: "api.example.com",
                uri: "https://api.example.com/reports/7",
                networks: &networks,
                contracts,
            };
            match proof.check(&audience, NOW) {
                Ok(signed) => {
                    assert_eq!(signed.chain_id, 84532);
                    assert_eq!(signed.nonce, proof.nonce);
                }
                Err(error) => {
                    let _ = (error.reason().as_str(), error.to_string());
                }
            }
        }
        let _ = proof.message(84532);
    }
}

/// The string parsers, with print-and-parse-back checks.
fn parse_strings(text: &str) {
    let fixed = fixed();

    if let Ok(address) = text.parse::<Address>() {
        let checksummed = address.to_checksum();
        assert_eq!(checksummed.parse::<Address>(), Ok(address));
        assert_eq!(checksummed.to_lowercase().parse::<Address>(), Ok(address));
    }
    if let Ok(bytes) = text.parse::<Bytes32>() {
        assert_eq!(bytes.to_hex().parse::<Bytes32>(), Ok(bytes));
    }
    if let Ok(value) = Uint256::from_decimal(text) {
        assert_eq!(Uint256::from_decimal(&value.to_string()), Ok(value));
        // The serde form is the same decimal string.
        let json = serde_json::to_string(&value).expect("serialises");
        assert_eq!(serde_json::from_str::<Uint256>(&json).ok(), Some(value));
    }
    if let Ok(price) = Price::parse(text) {
        assert_eq!(price.to_string(), text);
        let _ = price.amount();
        for asset in &fixed.assets {
            let _ = price.to_atomic(asset);
        }
    }
    if let Some(reason) = Reason::from_wire(text) {
        let _ = reason.as_str();
    }
    let _ = fixed.networks.resolve(text);
    let _ = PaymentSigner::from_hex(text);
}

/// The byte APIs, and the two signature recoveries compared.
fn parse_bytes(data: &[u8]) {
    // An ERC-6492 wrapper's parts lie inside it.
    if let Some(wrapped) = edge402::evm::abi::erc6492(data) {
        assert!(wrapped.factory_call.len() + wrapped.signature.len() < data.len());
    }
    if let Ok(SignatureKind::Ecdsa(signature)) = SignatureKind::from_bytes(data) {
        assert_eq!(
            RecoverableSignature::from_rsv(&signature.to_rsv()),
            Ok(signature)
        );
    }
    // A 32-byte digest followed by a 65-byte signature.
    if let Some((digest, rest)) = data.split_first_chunk::<32>() {
        if let Ok(signature) = RecoverableSignature::from_rsv(&rest[..rest.len().min(65)]) {
            let one_pass = recover_address_from_prehash(digest, &signature);
            let k256 = recover_address_from_prehash_with_k256(digest, &signature);
            assert_eq!(one_pass, k256, "one-pass recovery disagrees with k256");
        }
    }
}

/// The light path on the bytes as a payment's JSON and as a requirements array. Where both
/// paths verify the same payment, they name the same payer.
fn light_path(data: &[u8]) {
    let fixed = fixed();
    let offers: Vec<Offer<'_>> = fixed.offered.iter().map(Offer::from).collect();
    let light = light::verify_payment_json(data, &offers, &fixed.networks, NOW);
    if let (Ok(light), Ok(payment)) = (&light, PaymentPayload::from_json_slice(data)) {
        if let Ok(full) = verify_payment(&payment, &fixed.offered, &fixed.networks, NOW) {
            assert_eq!(
                light.payer, full.payer,
                "the two paths name different payers"
            );
        }
    }
    if let Ok(fields) = light::read_requirements(data) {
        for field in &fields {
            let _ = field.offer();
        }
    }
}

/// Web Bot Auth's readers: the text split at its first two line breaks into
/// `Signature-Input`, `Signature` and `Signature-Agent` of a request (parsed as the gateway
/// parses one, never verifying), and the bytes as a key directory and a crawler price.
fn web_bot_auth(text: &str, data: &[u8]) {
    let mut fields = text.splitn(3, '\n');
    let headers: Vec<(String, String)> = ["Signature-Input", "Signature", "Signature-Agent"]
        .into_iter()
        .zip(fields.by_ref())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let parts = RequestParts {
        method: "GET",
        scheme: "https",
        authority: "edge.example",
        path: "/a",
        query: Some("b=1"),
        headers: &headers,
    };
    if let Ok(signed) = SignedRequest::parse(&parts) {
        // A parsed signature's window is typed: checking it never panics, and an agent
        // names an https (or loopback) place for its keys.
        let _ = signed.check_window(NOW, MAX_VALIDITY_S);
        if let Some(agent) = signed.agent() {
            let url = agent.directory_url();
            assert!(
                url.starts_with("https://") || url.starts_with("http://"),
                "{url}"
            );
        }
    }
    if let Ok(directory) = KeyDirectory::from_json(data) {
        assert!(!directory.keys().is_empty() && directory.keys().len() <= MAX_KEYS);
    }
    if let Some(price) = CrawlerPrice::parse(text) {
        assert_eq!(CrawlerPrice::parse(&price.to_string()), Some(price));
    }
}

fuzz_target!(|data: &[u8]| {
    // Borrowed when the input is UTF-8, replacement characters otherwise.
    let text = String::from_utf8_lossy(data);
    decode_headers(&text);
    parse_strings(&text);
    web_bot_auth(&text, data);
    // The input as the JSON inside a header.
    decode_headers(&STANDARD.encode(data));
    parse_bytes(data);
    light_path(data);
});
