//! Sign-In-With-X: the sign-ins the official client makes (`vectors/siwx.json`, written by
//! `tests/e2e/siwx-vectors.mjs` with `@x402/extensions`) verify here with the same EIP-4361
//! text and EIP-191 hash, and every way a sign-in can be wrong gets its own error.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::hex32;
use edge402::evm::signer::PaymentSigner;
use edge402::evm::{eip191_hash, Address};
use edge402::siwx::{Audience, SignInError, SignInProof, SignerProof, CLOCK_SKEW_S, MAX_AGE_S};
use serde::Deserialize;

const VECTORS: &str = include_str!("vectors/siwx.json");

/// A change made to a proof.
type Change = fn(&mut SignInProof);

#[derive(Deserialize)]
struct File {
    signer: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    id: String,
    proof: serde_json::Value,
    message: String,
    hash: String,
}

fn file() -> File {
    serde_json::from_str(VECTORS).unwrap()
}

/// The first vector's proof, with what it is for.
struct Case {
    proof: SignInProof,
    origin: String,
    networks: Vec<String>,
}

impl Case {
    fn of(vector: &Vector) -> Self {
        let proof: SignInProof = serde_json::from_value(vector.proof.clone()).unwrap();
        let origin =
            proof.uri[..proof.uri.find(&proof.domain).unwrap() + proof.domain.len()].to_owned();
        let networks = vec![proof.chain_id.clone()];
        Self {
            proof,
            origin,
            networks,
        }
    }

    fn first() -> Self {
        Self::of(&file().vectors[0])
    }

    fn audience(&self) -> Audience<'_> {
        Audience {
            origin: &self.origin,
            domain: &self.proof.domain,
            uri: &self.proof.uri,
            networks: &self.networks,
            contracts: false,
        }
    }

    /// Checks `proof` (this case's, changed) for this case's audience, one minute after issue.
    fn check(&self, proof: &SignInProof) -> Result<SignerProof, SignInError> {
        proof
            .check(&self.audience(), issued(&self.proof) + 60)
            .map(|s| s.proof)
    }

    /// The proof signed again by `signer` after `change`: a wallet's own signature over the
    /// changed text.
    fn resigned(
        &self,
        signer: &PaymentSigner,
        change: impl FnOnce(&mut SignInProof),
    ) -> SignInProof {
        let mut proof = self.proof.clone();
        change(&mut proof);
        let chain_id = proof
            .chain_id
            .trim_start_matches("eip155:")
            .parse()
            .unwrap();
        let hash = eip191_hash(proof.message(chain_id).as_bytes());
        proof.signature = format!("0x{}", hex::encode(signer.sign_prehash(&hash).to_rsv()));
        proof
    }
}

fn issued(proof: &SignInProof) -> u64 {
    chrono::DateTime::parse_from_rfc3339(&proof.issued_at)
        .unwrap()
        .timestamp() as u64
}

fn the_buyer() -> PaymentSigner {
    PaymentSigner::from_hex("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
        .unwrap()
}

#[test]
fn the_official_clients_sign_ins_give_the_same_text_and_hash_and_verify() {
    let file = file();
    let signer: Address = file.signer.parse().unwrap();
    assert_eq!(signer, the_buyer().address());
    assert!(file.vectors.len() >= 4);
    for vector in &file.vectors {
        let case = Case::of(vector);
        let chain_id = case.proof.chain_id[7..].parse().unwrap();
        let text = case.proof.message(chain_id);
        assert_eq!(text, vector.message, "EIP-4361 text of {}", vector.id);
        assert_eq!(
            eip191_hash(text.as_bytes()),
            hex32(&vector.hash),
            "{}",
            vector.id
        );
        let checked = case
            .proof
            .check(&case.audience(), issued(&case.proof) + 1)
            .unwrap_or_else(|e| panic!("{}: {e}", vector.id));
        assert_eq!(checked.address, signer);
        assert_eq!(checked.proof, SignerProof::Recovered);
        assert_eq!(checked.chain_id, chain_id);
        assert_eq!(checked.nonce, case.proof.nonce);
        assert_eq!(
            checked.nonce_until,
            issued(&case.proof) + MAX_AGE_S + 2 * CLOCK_SKEW_S + 1
        );
    }
}

#[test]
fn a_sign_in_header_is_read_from_base64_json() {
    use base64::Engine;
    let case = Case::first();
    let json = serde_json::to_vec(&file().vectors[0].proof).unwrap();
    let header = base64::engine::general_purpose::STANDARD.encode(json);
    assert_eq!(SignInProof::from_header(&header).unwrap(), case.proof);
    for hostile in ["", "!!!", "bm90IGpzb24=", "e30=", &"A".repeat(20_000)] {
        assert!(
            matches!(
                SignInProof::from_header(hostile),
                Err(SignInError::Malformed { .. })
            ),
            "{hostile:.20}"
        );
    }
}

#[test]
fn a_changed_field_breaks_the_signature() {
    let case = Case::first();
    let changes: [(&str, Change); 7] = [
        ("statement", |p| {
            p.statement = Some("Sign in to pay nothing".into())
        }),
        ("no statement", |p| p.statement = None),
        ("nonce", |p| {
            p.nonce = "b1b2c3d4e5f67890a1b2c3d4e5f67890".into()
        }),
        ("resources", |p| p.resources = None),
        ("address case", |p| {
            p.address = p.address.to_ascii_lowercase()
        }),
        ("request id", |p| p.request_id = Some("x".into())),
        ("issuedAt spelling", |p| {
            p.issued_at = p.issued_at.replace(".000Z", "Z");
        }),
    ];
    for (what, change) in changes {
        let mut proof = case.proof.clone();
        change(&mut proof);
        assert_eq!(case.check(&proof), Err(SignInError::Signature), "{what}");
    }
}

#[test]
fn another_wallets_signature_is_refused() {
    let case = Case::first();
    let other = PaymentSigner::from_bytes(&[0x42; 32]).unwrap();
    let proof = case.resigned(&other, |_| {});
    assert_eq!(case.check(&proof), Err(SignInError::Signature));
    // The same wallet signing again is fine: the text is the proof's own.
    let proof = case.resigned(&the_buyer(), |p| p.nonce = "freshfreshfresh1".into());
    assert_eq!(case.check(&proof), Ok(SignerProof::Recovered));
}

#[test]
fn a_sign_in_for_another_domain_or_uri_is_refused_even_when_genuinely_signed() {
    let case = Case::first();
    let buyer = the_buyer();
    let proof = case.resigned(&buyer, |p| p.domain = "evil.example".into());
    assert!(matches!(
        case.check(&proof),
        Err(SignInError::DomainMismatch { .. })
    ));
    let proof = case.resigned(&buyer, |p| {
        p.uri = "https://api.example.com/reports/8".into()
    });
    assert!(matches!(
        case.check(&proof),
        Err(SignInError::UriMismatch { .. })
    ));
    let proof = case.resigned(&buyer, |p| {
        p.uri = "https://api.example.com.evil/reports/7".into()
    });
    assert!(matches!(
        case.check(&proof),
        Err(SignInError::UriMismatch { .. })
    ));
}

#[test]
fn times_outside_the_window_are_refused_each_with_its_reason() {
    let case = Case::first();
    let issued = issued(&case.proof);
    let audience = case.audience();
    let at = |now| case.proof.check(&audience, now).map(|s| s.proof);
    assert_eq!(at(issued), Ok(SignerProof::Recovered));
    assert_eq!(at(issued + MAX_AGE_S), Ok(SignerProof::Recovered));
    assert_eq!(
        at(issued + MAX_AGE_S + 1),
        Err(SignInError::IssuedAtTooOld {
            age_s: MAX_AGE_S + 1
        })
    );
    assert_eq!(at(issued - 5), Ok(SignerProof::Recovered), "clock skew");
    assert_eq!(at(issued - 6), Err(SignInError::IssuedAtInFuture));

    let buyer = the_buyer();
    let expired = case.resigned(&buyer, |p| {
        p.expiration_time = Some("2026-12-06T10:30:30Z".into())
    });
    assert_eq!(
        expired.check(&audience, issued + 31).map(|s| s.proof),
        Err(SignInError::Expired)
    );
    let later = case.resigned(&buyer, |p| {
        p.not_before = Some("2026-12-06T10:31:00Z".into())
    });
    assert_eq!(
        later.check(&audience, issued + 59).map(|s| s.proof),
        Err(SignInError::NotYetValid)
    );
    assert_eq!(
        later.check(&audience, issued + 60).map(|s| s.proof),
        Ok(SignerProof::Recovered)
    );
    let cases: [(Change, SignInError); 3] = [
        (|p| p.issued_at = "today".into(), SignInError::IssuedAt),
        (
            |p| p.expiration_time = Some("soon".into()),
            SignInError::ExpirationTime,
        ),
        (
            |p| p.not_before = Some("2026-12-06".into()),
            SignInError::NotBefore,
        ),
    ];
    for (change, error) in cases {
        let mut proof = case.proof.clone();
        change(&mut proof);
        assert_eq!(case.check(&proof), Err(error));
    }
}

#[test]
fn chains_the_route_is_not_paid_on_and_other_namespaces_are_refused() {
    let case = Case::first();
    let buyer = the_buyer();
    let proof = case.resigned(&buyer, |p| p.chain_id = "eip155:8453".into());
    assert!(matches!(
        case.check(&proof),
        Err(SignInError::UnsupportedChain { .. })
    ));
    let mut solana = case.proof.clone();
    solana.chain_id = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp".into();
    solana.kind = "ed25519".into();
    assert!(matches!(
        case.check(&solana),
        Err(SignInError::UnsupportedChain { .. })
    ));
    // A malformed id offered by a (misconfigured) route is still not a chain.
    let mut odd = Case::first();
    odd.networks = vec!["eip155:084532".into()];
    odd.proof.chain_id = "eip155:084532".into();
    assert_eq!(odd.check(&odd.proof.clone()), Err(SignInError::ChainId));
}

#[test]
fn malformed_fields_and_signatures_are_refused_before_any_recovery() {
    let case = Case::first();
    let malformed: [Change; 6] = [
        |p| p.statement = Some("line one\nURI: https://evil.example/".into()),
        |p| p.domain.push('\r'),
        |p| p.version = "2".into(),
        |p| p.nonce = "short".into(),
        |p| p.nonce = "not-alpha-numeric!".into(),
        |p| p.address = "0x70997970c51812dc3A010C7d01b50e0d17dc79C8".into(),
    ];
    for change in malformed {
        let mut proof = case.proof.clone();
        change(&mut proof);
        assert!(
            matches!(case.check(&proof), Err(SignInError::Malformed { .. })),
            "{proof:?}"
        );
    }
    for signature in [
        "",
        "0x",
        "abcd",
        "0xzz",
        "0x1234",
        &format!("0x{}", "00".repeat(65)),
    ] {
        let mut proof = case.proof.clone();
        proof.signature = signature.into();
        assert!(
            matches!(
                case.check(&proof),
                Err(SignInError::MalformedSignature { .. })
            ),
            "{signature:.12}"
        );
    }
    // The same signature with s in the upper half (what viem would also accept) is refused.
    let mut bytes = hex::decode(&case.proof.signature[2..]).unwrap();
    let high_s = high_s_of(&bytes[32..64]);
    bytes[32..64].copy_from_slice(&high_s);
    bytes[64] = 55 - bytes[64]; // 27 <-> 28: the same point's other half
    let mut proof = case.proof.clone();
    proof.signature = format!("0x{}", hex::encode(bytes));
    assert!(
        matches!(case.check(&proof), Err(SignInError::MalformedSignature { detail }) if detail.contains("upper half"))
    );
}

#[test]
fn with_smart_wallets_a_signature_the_address_did_not_make_is_left_to_its_contract() {
    use edge402::evm::abi::{encode, Token};
    let case = Case::first();
    let audience = Audience {
        contracts: true,
        ..case.audience()
    };
    let now = issued(&case.proof) + 1;
    let check = |proof: &SignInProof| proof.check(&audience, now).map(|s| s.proof);
    let mut wrapped = encode(&[
        Token::Word(edge402::evm::Address([0x11; 20]).to_word()),
        Token::Bytes(&[0xab; 40]),
        Token::Bytes(&[0xcd; 65]),
    ]);
    wrapped.extend_from_slice(&[0x64, 0x92].repeat(16));
    let hash = eip191_hash(case.proof.message(84532).as_bytes());
    for signature in [wrapped, vec![0xee; 200]] {
        let mut proof = case.proof.clone();
        proof.signature = format!("0x{}", hex::encode(&signature));
        assert_eq!(check(&proof), Ok(SignerProof::Contract { hash, signature }));
        // Without smart wallets, the same is refused here.
        assert!(matches!(
            case.check(&proof),
            Err(SignInError::MalformedSignature { .. })
        ));
    }
    // An owner's ECDSA signature for a wallet's address: the wallet's contract decides.
    let owner = PaymentSigner::from_bytes(&[0x42; 32]).unwrap();
    let proof = case.resigned(&owner, |_| {});
    let signature = hex::decode(&proof.signature[2..]).unwrap();
    assert_eq!(check(&proof), Ok(SignerProof::Contract { hash, signature }));
    // The address's own signature needs no contract.
    assert_eq!(check(&case.proof), Ok(SignerProof::Recovered));
    // A wrapper that is not abi.encode(address, bytes, bytes) is malformed.
    let mut proof = case.proof.clone();
    proof.signature = format!("0x{}{}", "ab".repeat(100), "6492".repeat(16));
    assert!(matches!(
        check(&proof),
        Err(SignInError::MalformedSignature { .. })
    ));
}

/// `n - s` for a big-endian 32-byte `s` (secp256k1's order `n`).
fn high_s_of(s: &[u8]) -> [u8; 32] {
    let n = hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}
