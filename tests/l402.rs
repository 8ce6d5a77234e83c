//! L402: the macaroon vectors of `../shared/vectors/l402_macaroons.json` with their expected
//! verdicts and pinned intermediate values, and one rejected input per error variant.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use edge402::l402::macaroon::{derive_key, MAX_MACAROON_BASE64_LEN};
use edge402::l402::{
    challenge_values, check_caveats, mint_token, verify_credential, Caveat, CaveatError,
    ChallengeError, Credential, CredentialError, FieldType, Identifier, IdentifierError, L402Error,
    Macaroon, MacaroonError, PaymentHash, Preimage, RootKey, RootKeySecret, Scheme, SecretTooShort,
    Service, SignatureError, TokenId, WwwAuthenticate, MAX_L402_HEADER_LEN, MAX_MACAROON_LEN,
};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `../shared/vectors/l402_macaroons.json`, copied into the crate so it builds anywhere.
const VECTORS: &str = include_str!("vectors/l402_macaroons.json");

#[derive(Deserialize)]
struct Vectors {
    aperture_shaped: ApertureShaped,
    non_l402_identifier: NonL402,
    libmacaroons_v2: Vec<Libmacaroons>,
    real_aperture_challenge_parse_only: RealChallenge,
}

#[derive(Deserialize)]
struct ApertureShaped {
    root_key_hex: String,
    preimage_hex: String,
    payment_hash_hex: String,
    token_id_hex: String,
    identifier_hex: String,
    identifier_sha256_hex: String,
    location: String,
    caveats: Vec<String>,
    derived_key_hex: String,
    sig0_hex: String,
    sig_hex: String,
    naive_sig_without_key_derivation_hex: String,
    binary_hex: String,
    base64_std: String,
    base64_url_nopad: String,
    authorization_header: String,
    attenuated_caveat_added: String,
    attenuated_sig_hex: String,
    attenuated_base64_std: String,
}

#[derive(Deserialize)]
struct NonL402 {
    root_key_ascii: String,
    id_ascii: String,
    location: String,
    caveats: Vec<String>,
    sig_hex: String,
    binary_hex: String,
    base64_std: String,
}

#[derive(Deserialize)]
struct Libmacaroons {
    root_key_ascii: String,
    location: String,
    identifier_ascii: String,
    caveats: Vec<String>,
    base64_url_nopad: String,
    sig_hex: String,
}

#[derive(Deserialize)]
struct RealChallenge {
    header: String,
    location: String,
    payment_hash: String,
    token_id: String,
    caveats: Vec<String>,
    sig_hex: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).unwrap()
}

fn bytes32(hex_text: &str) -> [u8; 32] {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

/// The vector's expiry; the token is valid strictly before it.
const VALID_UNTIL: u64 = 1_893_456_000;
/// The attenuated token's expiry.
const ATTENUATED_VALID_UNTIL: u64 = 1_800_000_000;
/// A time at which the vector token is valid.
const NOW: u64 = 1_700_000_000;

fn aperture() -> ApertureShaped {
    vectors().aperture_shaped
}

fn root_key(vector: &ApertureShaped) -> RootKey {
    RootKey(bytes32(&vector.root_key_hex))
}

fn credential(vector: &ApertureShaped) -> Credential {
    Credential::from_header(&vector.authorization_header).unwrap()
}

fn verify_at(credential: &Credential, service: &str, now: u64) -> Result<u64, L402Error> {
    let vector = aperture();
    let key = root_key(&vector);
    verify_credential(credential, |_| key, service, now)
        .map(|token| token.grant.valid_until.unwrap())
}

fn caveat_ids(macaroon: &Macaroon) -> Vec<String> {
    macaroon
        .caveats()
        .iter()
        .map(|caveat| String::from_utf8(caveat.id().to_vec()).unwrap())
        .collect()
}

fn first_party(id: &str) -> Caveat {
    Caveat::FirstParty {
        id: id.as_bytes().to_vec(),
    }
}

// ---------------------------------------------------------------------------------------
// The aperture-shaped token

#[test]
fn aperture_identifier_and_preimage() {
    let vector = aperture();
    let identifier = Identifier {
        payment_hash: PaymentHash(bytes32(&vector.payment_hash_hex)),
        token_id: TokenId(bytes32(&vector.token_id_hex)),
    };
    assert_eq!(hex::encode(identifier.to_bytes()), vector.identifier_hex);
    assert_eq!(
        Identifier::from_bytes(&hex::decode(&vector.identifier_hex).unwrap()),
        Ok(identifier)
    );
    assert_eq!(
        hex::encode(Sha256::digest(identifier.to_bytes())),
        vector.identifier_sha256_hex
    );
    let preimage = Preimage::from_hex(&vector.preimage_hex).unwrap();
    assert_eq!(preimage.payment_hash(), identifier.payment_hash);
    assert!(preimage.pays(&identifier.payment_hash));
}

#[test]
fn aperture_key_derivation_and_chain_are_pinned() {
    let vector = aperture();
    let root = hex::decode(&vector.root_key_hex).unwrap();
    assert_eq!(hex::encode(derive_key(&root)), vector.derived_key_hex);

    let identifier = hex::decode(&vector.identifier_hex).unwrap();
    let mut macaroon = Macaroon::mint(&root, identifier.clone(), Some(&vector.location));
    assert_eq!(hex::encode(macaroon.signature()), vector.sig0_hex);
    for caveat in &vector.caveats {
        macaroon.add_first_party_caveat(caveat.as_str());
    }
    assert_eq!(hex::encode(macaroon.signature()), vector.sig_hex);
    assert_eq!(hex::encode(macaroon.to_binary()), vector.binary_hex);
    assert_eq!(macaroon.to_base64(), vector.base64_std);
    assert_eq!(macaroon.to_base64_url(), vector.base64_url_nopad);
    assert_eq!(macaroon.verify_signature(&root), Ok(()));

    // `mint_token` writes the same token.
    let service = Service::new("myservice", 0).unwrap();
    let minted = mint_token(
        &root_key(&vector),
        &Identifier::from_bytes(&identifier).unwrap(),
        &service,
        &[],
        Some(VALID_UNTIL),
    );
    assert_eq!(minted, macaroon);
}

#[test]
fn aperture_binary_and_both_base64_forms_parse_to_the_same_macaroon() {
    let vector = aperture();
    let binary = hex::decode(&vector.binary_hex).unwrap();
    let parsed = Macaroon::from_binary(&binary).unwrap();
    assert_eq!(parsed.location(), Some(vector.location.as_str()));
    assert_eq!(hex::encode(parsed.identifier()), vector.identifier_hex);
    assert_eq!(caveat_ids(&parsed), vector.caveats);
    assert_eq!(hex::encode(parsed.signature()), vector.sig_hex);
    assert_eq!(parsed.to_binary(), binary);
    assert_eq!(
        Macaroon::from_base64(&vector.base64_std),
        Ok(parsed.clone())
    );
    assert_eq!(
        Macaroon::from_base64(&vector.base64_url_nopad),
        Ok(parsed.clone())
    );

    // The attenuated token's base64 is padded: the standard alphabet without padding and
    // the URL-safe one with padding are accepted too.
    let attenuated = Macaroon::from_base64(&vector.attenuated_base64_std).unwrap();
    assert!(vector.attenuated_base64_std.ends_with('='));
    let std_nopad = vector.attenuated_base64_std.trim_end_matches('=');
    assert_eq!(Macaroon::from_base64(std_nopad), Ok(attenuated.clone()));
    let url_padded = vector
        .attenuated_base64_std
        .replace('+', "-")
        .replace('/', "_");
    assert_ne!(url_padded, vector.attenuated_base64_std);
    assert_eq!(Macaroon::from_base64(&url_padded), Ok(attenuated.clone()));
    assert_eq!(
        Macaroon::from_base64(url_padded.trim_end_matches('=')),
        Ok(attenuated)
    );
}

#[test]
fn aperture_credential_verifies_for_myservice_before_expiry() {
    let vector = aperture();
    let credential = credential(&vector);
    assert_eq!(credential.scheme, Scheme::L402);
    assert!(credential.discharges.is_empty());
    assert_eq!(credential.to_header(), vector.authorization_header);

    let key = root_key(&vector);
    let token = verify_credential(&credential, |_| key, "myservice", NOW).unwrap();
    assert_eq!(
        hex::encode(token.identifier.token_id.0),
        vector.token_id_hex
    );
    assert_eq!(token.grant.service, Service::new("myservice", 0).unwrap());
    assert_eq!(token.grant.valid_until, Some(VALID_UNTIL));
    assert_eq!(token.grant.capabilities, Some(vec![]));
    assert_eq!(
        verify_at(&credential, "myservice", VALID_UNTIL - 1),
        Ok(VALID_UNTIL)
    );
    assert_eq!(
        verify_at(&credential, "myservice", VALID_UNTIL),
        Err(L402Error::Caveat(CaveatError::Expired {
            valid_until: VALID_UNTIL,
            now: VALID_UNTIL
        }))
    );
}

#[test]
fn aperture_credential_is_refused_for_another_service() {
    let credential = credential(&aperture());
    assert_eq!(
        verify_at(&credential, "other", NOW),
        Err(L402Error::Caveat(CaveatError::ServiceNotAllowed {
            service: "other".into()
        }))
    );
}

#[test]
fn aperture_credential_with_a_wrong_preimage_is_refused() {
    let mut credential = credential(&aperture());
    credential.preimage.0[31] ^= 1;
    assert_eq!(
        verify_at(&credential, "myservice", NOW),
        Err(L402Error::WrongPreimage)
    );
}

#[test]
fn attenuated_token_has_a_valid_signature_and_expires_earlier() {
    let vector = aperture();
    let mut macaroon = Macaroon::from_base64(&vector.base64_std).unwrap();
    macaroon.add_first_party_caveat(vector.attenuated_caveat_added.as_str());
    assert_eq!(hex::encode(macaroon.signature()), vector.attenuated_sig_hex);
    assert_eq!(macaroon.to_base64(), vector.attenuated_base64_std);

    let parsed = Macaroon::from_base64(&vector.attenuated_base64_std).unwrap();
    assert_eq!(parsed, macaroon);
    let root = hex::decode(&vector.root_key_hex).unwrap();
    assert_eq!(parsed.verify_signature(&root), Ok(()));

    let credential = Credential {
        macaroon: parsed,
        ..credential(&vector)
    };
    assert_eq!(
        verify_at(&credential, "myservice", ATTENUATED_VALID_UNTIL - 1),
        Ok(ATTENUATED_VALID_UNTIL)
    );
    assert_eq!(
        verify_at(&credential, "myservice", ATTENUATED_VALID_UNTIL),
        Err(L402Error::Caveat(CaveatError::Expired {
            valid_until: ATTENUATED_VALID_UNTIL,
            now: ATTENUATED_VALID_UNTIL
        }))
    );
}

#[test]
fn naive_signature_without_key_derivation_does_not_verify() {
    let vector = aperture();
    let root = hex::decode(&vector.root_key_hex).unwrap();
    // The vector's naive value really is the chain started from the root key itself.
    let hmac = |key: &[u8], message: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    };
    let mut naive = hmac(&root, &hex::decode(&vector.identifier_hex).unwrap());
    for caveat in &vector.caveats {
        naive = hmac(&naive, caveat.as_bytes());
    }
    assert_eq!(
        hex::encode(&naive),
        vector.naive_sig_without_key_derivation_hex
    );

    let mut binary = hex::decode(&vector.binary_hex).unwrap();
    let at = binary.len() - 32;
    binary[at..].copy_from_slice(&naive);
    let forged = Macaroon::from_binary(&binary).unwrap();
    assert_eq!(
        forged.verify_signature(&root),
        Err(SignatureError::Mismatch)
    );
    let credential = Credential {
        macaroon: forged,
        ..credential(&vector)
    };
    assert_eq!(
        verify_at(&credential, "myservice", NOW),
        Err(L402Error::Signature(SignatureError::Mismatch))
    );
}

#[test]
fn verification_recomputes_the_chain_over_an_appended_preimage_caveat() {
    let vector = aperture();
    let mut credential = credential(&vector);
    credential
        .macaroon
        .add_first_party_caveat(format!("preimage={}", vector.preimage_hex));
    assert_eq!(verify_at(&credential, "myservice", NOW), Ok(VALID_UNTIL));
}

#[test]
fn verification_uses_the_root_key_of_the_identifier() {
    let vector = aperture();
    let credential = credential(&vector);
    let mut seen = None;
    let result = verify_credential(
        &credential,
        |identifier| {
            seen = Some(*identifier);
            RootKey([7; 32])
        },
        "myservice",
        NOW,
    );
    assert_eq!(result, Err(L402Error::Signature(SignatureError::Mismatch)));
    assert_eq!(
        seen.map(|identifier| hex::encode(identifier.to_bytes())),
        Some(vector.identifier_hex)
    );
}

// ---------------------------------------------------------------------------------------
// Other macaroons

#[test]
fn non_l402_identifier_vector_round_trips_and_verifies() {
    let vector = vectors().non_l402_identifier;
    let binary = hex::decode(&vector.binary_hex).unwrap();
    let parsed = Macaroon::from_base64(&vector.base64_std).unwrap();
    assert_eq!(parsed.to_binary(), binary);
    assert_eq!(parsed.to_base64(), vector.base64_std);
    assert_eq!(parsed.location(), Some(vector.location.as_str()));
    assert_eq!(parsed.identifier(), vector.id_ascii.as_bytes());
    assert_eq!(caveat_ids(&parsed), vector.caveats);
    assert_eq!(hex::encode(parsed.signature()), vector.sig_hex);
    assert_eq!(
        parsed.verify_signature(vector.root_key_ascii.as_bytes()),
        Ok(())
    );

    let mut minted = Macaroon::mint(
        vector.root_key_ascii.as_bytes(),
        vector.id_ascii.as_bytes(),
        Some(&vector.location),
    );
    for caveat in &vector.caveats {
        minted.add_first_party_caveat(caveat.as_str());
    }
    assert_eq!(minted, parsed);

    // As a credential it fails at the first check: the identifier is not an L402 one.
    let preimage = Preimage([0; 32]);
    let credential = Credential {
        scheme: Scheme::L402,
        macaroon: parsed,
        discharges: vec![],
        preimage,
    };
    assert_eq!(
        verify_credential(&credential, |_| RootKey([0; 32]), "myservice", NOW),
        Err(L402Error::Identifier(IdentifierError::Length { len: 4 }))
    );
}

#[test]
fn libmacaroons_vectors_round_trip_and_verify() {
    let all = vectors().libmacaroons_v2;
    assert_eq!(all.len(), 2);
    for vector in all {
        let parsed = Macaroon::from_base64(&vector.base64_url_nopad).unwrap();
        assert_eq!(parsed.to_base64_url(), vector.base64_url_nopad);
        assert_eq!(parsed.location(), Some(vector.location.as_str()));
        assert_eq!(parsed.identifier(), vector.identifier_ascii.as_bytes());
        assert_eq!(caveat_ids(&parsed), vector.caveats);
        assert_eq!(hex::encode(parsed.signature()), vector.sig_hex);
        let key = vector.root_key_ascii.as_bytes();
        assert_eq!(parsed.verify_signature(key), Ok(()));
        assert_eq!(
            parsed.verify_signature(b"this is not the key"),
            Err(SignatureError::Mismatch)
        );

        let mut minted = Macaroon::mint(
            key,
            vector.identifier_ascii.as_bytes(),
            Some(&vector.location),
        );
        for caveat in &vector.caveats {
            minted.add_first_party_caveat(caveat.as_str());
        }
        assert_eq!(minted, parsed);
    }
}

#[test]
fn real_aperture_challenge_parses() {
    let vector = vectors().real_aperture_challenge_parse_only;
    let challenge = WwwAuthenticate::from_header(&vector.header).unwrap();
    assert_eq!(challenge.scheme, Scheme::Lsat);
    assert_eq!(challenge.invoice, None);
    let macaroon = &challenge.macaroon;
    assert_eq!(macaroon.location(), Some(vector.location.as_str()));
    let identifier = Identifier::from_bytes(macaroon.identifier()).unwrap();
    assert_eq!(hex::encode(identifier.payment_hash.0), vector.payment_hash);
    assert_eq!(hex::encode(identifier.token_id.0), vector.token_id);
    assert_eq!(caveat_ids(macaroon), vector.caveats);
    assert_eq!(hex::encode(macaroon.signature()), vector.sig_hex);
    // The challenge carries the macaroon byte for byte.
    let quoted = vector.header.split('"').nth(1).unwrap();
    assert_eq!(macaroon.to_base64(), quoted);
}

// ---------------------------------------------------------------------------------------
// Challenges

#[test]
fn challenge_values_are_aperture_s_two_values() {
    let vector = aperture();
    let macaroon = Macaroon::from_base64(&vector.base64_std).unwrap();
    let [lsat, l402] = challenge_values(&macaroon, "lnbcrt1u1pexample");
    assert_eq!(
        lsat,
        format!(
            "LSAT macaroon=\"{}\", invoice=\"lnbcrt1u1pexample\"",
            vector.base64_std
        )
    );
    assert_eq!(
        l402,
        format!(
            "L402 macaroon=\"{}\", invoice=\"lnbcrt1u1pexample\"",
            vector.base64_std
        )
    );
    for (value, scheme) in [(lsat, Scheme::Lsat), (l402, Scheme::L402)] {
        let parsed = WwwAuthenticate::from_header(&value).unwrap();
        assert_eq!(parsed.scheme, scheme);
        assert_eq!(parsed.macaroon, macaroon);
        assert_eq!(parsed.invoice.as_deref(), Some("lnbcrt1u1pexample"));
    }
}

#[test]
fn challenge_parser_reads_variants_of_the_syntax() {
    let vector = aperture();
    let b64 = &vector.base64_std;
    let parse = |value: String| WwwAuthenticate::from_header(&value);
    // The newer spec form, `token=` with other parameters; names in any case.
    let parsed = parse(format!(
        "l402 version=\"0\", TOKEN=\"{b64}\", Invoice=lnbc1"
    ))
    .unwrap();
    assert_eq!(parsed.scheme, Scheme::L402);
    assert_eq!(parsed.invoice.as_deref(), Some("lnbc1"));
    // White space around `=` and `,`; escapes in quoted strings.
    let parsed = parse(format!("LSAT  macaroon = \"{b64}\" ,invoice=\"ln\\\"bc\"")).unwrap();
    assert_eq!(parsed.invoice.as_deref(), Some("ln\"bc"));
    // Two folded challenges: the first is read.
    let [lsat, l402] = challenge_values(&parsed.macaroon, "lnbc2");
    let parsed = parse(format!("{lsat}, {l402}")).unwrap();
    assert_eq!(parsed.scheme, Scheme::Lsat);
    assert_eq!(parsed.invoice.as_deref(), Some("lnbc2"));
    // An invoice with quote characters is escaped and reads back.
    let [value, _] = challenge_values(&parsed.macaroon, "a\"b\\c");
    assert_eq!(parse(value).unwrap().invoice.as_deref(), Some("a\"b\\c"));
}

#[test]
fn challenge_errors() {
    let vector = aperture();
    let b64 = &vector.base64_std;
    let parse = |value: &str| WwwAuthenticate::from_header(value);
    assert_eq!(
        parse(&" ".repeat(MAX_L402_HEADER_LEN + 1)),
        Err(ChallengeError::TooLong {
            len: MAX_L402_HEADER_LEN + 1
        })
    );
    assert_eq!(
        parse(&format!("Bearer macaroon=\"{b64}\"")),
        Err(ChallengeError::UnknownScheme)
    );
    assert_eq!(parse(""), Err(ChallengeError::UnknownScheme));
    assert_eq!(
        parse("LSAT invoice=\"lnbc1\""),
        Err(ChallengeError::MissingMacaroon)
    );
    assert_eq!(parse("LSAT"), Err(ChallengeError::MissingMacaroon));
    assert_eq!(
        parse(&format!("LSAT macaroon=\"{b64}\", token=\"{b64}\"")),
        Err(ChallengeError::DuplicateParameter { name: "macaroon" })
    );
    assert_eq!(
        parse(&format!("LSAT macaroon=\"{b64}\", invoice=a, invoice=b")),
        Err(ChallengeError::DuplicateParameter { name: "invoice" })
    );
    assert_eq!(
        parse("LSAT macaroon=\"AgE"),
        Err(ChallengeError::Malformed { at: 18 })
    );
    assert_eq!(
        parse("LSAT macaroon"),
        Err(ChallengeError::Malformed { at: 13 })
    );
    assert_eq!(
        parse("LSAT macaroon=\"x\" invoice=\"y\""),
        Err(ChallengeError::Malformed { at: 18 })
    );
    assert_eq!(
        parse("LSAT macaroon=\"!!\""),
        Err(ChallengeError::Macaroon(MacaroonError::Base64))
    );
}

// ---------------------------------------------------------------------------------------
// Credentials

#[test]
fn credential_parser_accepts_the_forms_clients_send() {
    let vector = aperture();
    let expected = credential(&vector);
    let (b64, url, pre) = (
        &vector.base64_std,
        &vector.base64_url_nopad,
        &vector.preimage_hex,
    );
    let upper = pre.to_uppercase();
    for value in [
        format!("LSAT {b64}:{pre}"),
        format!("lsat {url}:{pre}"),
        format!("l402 {b64}:{upper}"),
        format!("  L402\t {url} : {pre}  "),
        // aperture's client: an LSAT and an L402 value, folded by the runtime.
        format!("LSAT {b64}:{pre}, L402 {b64}:{pre}"),
        format!("L402 {b64}:{pre},L402 {url}:{pre}"),
    ] {
        let parsed = Credential::from_header(&value).unwrap();
        assert_eq!(parsed.macaroon, expected.macaroon, "{value}");
        assert_eq!(parsed.preimage, expected.preimage, "{value}");
        assert!(parsed.discharges.is_empty());
    }

    // Several macaroons: the first is the token, the rest discharges (refused later).
    for value in [
        format!("L402 {b64},{url}:{pre}"),
        format!("L402 {b64}, {url}:{pre}, LSAT {url},{b64}:{pre}"),
    ] {
        let parsed = Credential::from_header(&value).unwrap();
        assert_eq!(parsed.discharges, vec![expected.macaroon.clone()]);
        assert_eq!(
            verify_at(&parsed, "myservice", NOW),
            Err(L402Error::UnusedDischarges { count: 1 })
        );
    }
}

#[test]
fn credential_errors() {
    let vector = aperture();
    let (b64, pre) = (&vector.base64_std, &vector.preimage_hex);
    let parse = |value: &str| Credential::from_header(value);
    assert_eq!(
        parse(&format!("L402 {}", "A".repeat(MAX_L402_HEADER_LEN))),
        Err(CredentialError::TooLong {
            len: MAX_L402_HEADER_LEN + 5
        })
    );
    assert_eq!(parse(""), Err(CredentialError::Empty));
    assert_eq!(parse(" L402 "), Err(CredentialError::Empty));
    assert_eq!(
        parse(&format!("Bearer {b64}:{pre}")),
        Err(CredentialError::UnknownScheme)
    );
    assert_eq!(
        parse(&format!("L402 {b64}")),
        Err(CredentialError::MissingPreimage)
    );
    assert_eq!(
        parse(&format!("L402 {b64}:{}", &pre[..62])),
        Err(CredentialError::InvalidPreimage)
    );
    assert_eq!(
        parse(&format!("L402 {b64}:{}zz", &pre[..62])),
        Err(CredentialError::InvalidPreimage)
    );
    assert_eq!(
        parse(&format!("L402 :{pre}")),
        Err(CredentialError::MissingMacaroon)
    );
    assert_eq!(
        parse(&format!("L402 {b64},,{b64}:{pre}")),
        Err(CredentialError::MissingMacaroon)
    );
    assert_eq!(
        parse(&format!("L402 {b64},%%%%:{pre}")),
        Err(CredentialError::Macaroon {
            index: 1,
            error: MacaroonError::Base64
        })
    );
    // Mixed alphabets within one macaroon are not base64 in either.
    let mixed = vector.base64_url_nopad.replacen('-', "+", 1);
    assert_eq!(
        parse(&format!("L402 {mixed}:{pre}")),
        Err(CredentialError::Macaroon {
            index: 0,
            error: MacaroonError::Base64
        })
    );

    // Folded values must agree on the macaroons and the preimage.
    let other_pre = "11".repeat(32);
    assert_eq!(
        parse(&format!("LSAT {b64}:{pre}, L402 {b64}:{other_pre}")),
        Err(CredentialError::FoldedMismatch)
    );
    let attenuated = &vector.attenuated_base64_std;
    assert_eq!(
        parse(&format!("LSAT {b64}:{pre}, L402 {attenuated}:{pre}")),
        Err(CredentialError::FoldedMismatch)
    );
    assert_eq!(
        parse(&format!("LSAT {b64}:{pre}, L402 {b64},{b64}:{pre}")),
        Err(CredentialError::FoldedMismatch)
    );
    assert_eq!(
        parse(&format!("LSAT {b64}:{pre}, Basic dXNlcjpwYXNz")),
        Err(CredentialError::UnknownScheme)
    );
}

// ---------------------------------------------------------------------------------------
// The binary format: one input per error

/// The aperture vector's binary form.
fn binary() -> Vec<u8> {
    hex::decode(aperture().binary_hex).unwrap()
}

/// The smallest macaroon: version, identifier "i", no caveats, a zero signature.
fn minimal(caveats: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x02, 0x02, 0x01, b'i', 0x00];
    bytes.extend_from_slice(caveats);
    bytes.extend_from_slice(&[0x00, 0x06, 0x20]);
    bytes.extend_from_slice(&[0; 32]);
    bytes
}

#[test]
fn minimal_macaroons_parse_and_round_trip() {
    for caveats in [
        &[][..],
        // A first-party caveat with an empty id.
        &[0x02, 0x00, 0x00],
        // A third-party caveat with a location and an empty verification id.
        &[0x01, 0x01, b'l', 0x02, 0x01, b'c', 0x04, 0x00, 0x00],
        // An empty location is kept as such.
        &[0x01, 0x00, 0x02, 0x01, b'c', 0x04, 0x01, b'v', 0x00],
    ] {
        let bytes = minimal(caveats);
        let parsed = Macaroon::from_binary(&bytes).unwrap();
        assert_eq!(parsed.to_binary(), bytes);
    }
    let third_party = Macaroon::from_binary(&minimal(&[
        0x01, 0x01, b'l', 0x02, 0x01, b'c', 0x04, 0x01, b'v', 0x00,
    ]))
    .unwrap();
    assert_eq!(
        third_party.caveats(),
        &[Caveat::ThirdParty {
            location: Some("l".into()),
            id: b"c".to_vec(),
            verification_id: b"v".to_vec()
        }]
    );
    assert_eq!(
        third_party.verify_signature(b"key"),
        Err(SignatureError::ThirdPartyCaveat { index: 0 })
    );
}

#[test]
fn binary_format_errors() {
    let parse = |bytes: &[u8]| Macaroon::from_binary(bytes);
    let unexpected = |expected, found| Err(MacaroonError::UnexpectedField { expected, found });
    use FieldType::*;

    assert_eq!(parse(&[]), Err(MacaroonError::UnexpectedEnd));
    assert_eq!(
        parse(&[0x01, 0x02]),
        Err(MacaroonError::UnsupportedVersion { version: 1 })
    );
    // A V1 (hex text) macaroon.
    assert_eq!(
        parse(b"0026"),
        Err(MacaroonError::UnsupportedVersion { version: b'0' })
    );
    assert_eq!(
        parse(&[0u8; MAX_MACAROON_LEN + 1]),
        Err(MacaroonError::TooLarge {
            len: MAX_MACAROON_LEN + 1
        })
    );

    // Truncated anywhere: an unexpected end.
    let full = binary();
    for len in 1..full.len() {
        let result = parse(&full[..len]);
        assert!(
            matches!(
                result,
                Err(MacaroonError::UnexpectedEnd | MacaroonError::LengthExceedsInput { .. })
            ),
            "{len}: {result:?}"
        );
    }
    assert_eq!(parse(&full[..1]), Err(MacaroonError::UnexpectedEnd));
    assert_eq!(
        parse(&full[..10]),
        Err(MacaroonError::LengthExceedsInput {
            len: 66,
            remaining: 1
        })
    );

    let mut trailing = full.clone();
    trailing.push(0);
    assert_eq!(
        parse(&trailing),
        Err(MacaroonError::TrailingBytes { count: 1 })
    );

    // Varints: overlong, longer than ten bytes, above u64.
    assert_eq!(
        parse(&[0x02, 0x02, 0x81, 0x00, b'i']),
        Err(MacaroonError::VarintOverlong)
    );
    assert_eq!(
        parse(&[0x02, 0x02, 0x80, 0x80, 0x00]),
        Err(MacaroonError::VarintOverlong)
    );
    let mut eleven = vec![0x02, 0x02];
    eleven.extend_from_slice(&[0x80; 10]);
    eleven.push(0x01);
    assert_eq!(parse(&eleven), Err(MacaroonError::VarintTooLong));
    let mut above_u64 = vec![0x02, 0x02];
    above_u64.extend_from_slice(&[0xff; 9]);
    above_u64.push(0x02);
    assert_eq!(parse(&above_u64), Err(MacaroonError::VarintTooLong));
    let mut u64_max = vec![0x02, 0x02];
    u64_max.extend_from_slice(&[0xff; 9]);
    u64_max.push(0x01);
    assert_eq!(
        parse(&u64_max),
        Err(MacaroonError::LengthExceedsInput {
            len: u64::MAX,
            remaining: 0
        })
    );

    // Field types and order.
    assert_eq!(
        parse(&[0x02, 0x03]),
        Err(MacaroonError::UnknownFieldType { found: 3 })
    );
    assert_eq!(parse(&[0x02, 0x00]), unexpected(Identifier, EndOfSection));
    assert_eq!(
        parse(&[0x02, 0x01, 0x00, 0x01, 0x00]),
        unexpected(Identifier, Location)
    );
    assert_eq!(
        parse(&[0x02, 0x02, 0x01, b'i', 0x01, 0x00]),
        unexpected(EndOfSection, Location)
    );
    assert_eq!(
        parse(&[0x02, 0x02, 0x01, b'i', 0x02, 0x00]),
        unexpected(EndOfSection, Identifier)
    );
    assert_eq!(
        parse(&minimal(&[0x04, 0x00, 0x00])),
        unexpected(Identifier, VerificationId)
    );
    assert_eq!(
        parse(&minimal(&[0x02, 0x01, b'c', 0x02, 0x00, 0x00])),
        unexpected(EndOfSection, Identifier)
    );
    assert_eq!(
        parse(&minimal(&[0x02, 0x01, b'c', 0x04, 0x00, 0x04, 0x00, 0x00])),
        unexpected(EndOfSection, VerificationId)
    );
    assert_eq!(
        parse(&minimal(&[0x02, 0x01, b'c', 0x06, 0x00, 0x00])),
        unexpected(EndOfSection, Signature)
    );
    // The signature where a caveat's end belongs, and a caveat where the signature belongs.
    let mut no_caveat_end = vec![0x02, 0x02, 0x01, b'i', 0x00, 0x06, 0x20];
    no_caveat_end.extend_from_slice(&[0; 32]);
    assert_eq!(parse(&no_caveat_end), unexpected(Identifier, Signature));
    let mut two_ends = minimal(&[]);
    two_ends.insert(5, 0x00);
    assert_eq!(parse(&two_ends), unexpected(Signature, EndOfSection));

    assert_eq!(
        parse(&minimal(&[0x01, 0x01, b'l', 0x02, 0x01, b'c', 0x00])),
        Err(MacaroonError::FirstPartyCaveatLocation)
    );
    assert_eq!(
        parse(&[0x02, 0x01, 0x01, 0xff, 0x02, 0x00, 0x00]),
        Err(MacaroonError::LocationNotUtf8)
    );

    let mut short_signature = vec![0x02, 0x02, 0x01, b'i', 0x00, 0x00, 0x06, 0x1f];
    short_signature.extend_from_slice(&[0; 31]);
    assert_eq!(
        parse(&short_signature),
        Err(MacaroonError::SignatureLength { len: 31 })
    );
}

#[test]
fn base64_errors() {
    assert_eq!(Macaroon::from_base64("%%"), Err(MacaroonError::Base64));
    assert_eq!(Macaroon::from_base64(" AgE"), Err(MacaroonError::Base64));
    let long = "A".repeat(MAX_MACAROON_BASE64_LEN + 1);
    assert_eq!(
        Macaroon::from_base64(&long),
        Err(MacaroonError::TooLarge {
            len: MAX_MACAROON_BASE64_LEN + 1
        })
    );
    // Within the text limit but over the binary one.
    let long = "A".repeat(MAX_MACAROON_BASE64_LEN);
    assert_eq!(
        Macaroon::from_base64(&long),
        Err(MacaroonError::TooLarge {
            len: MAX_MACAROON_BASE64_LEN / 4 * 3
        })
    );
}

// ---------------------------------------------------------------------------------------
// Identifiers, secrets, caveats

#[test]
fn identifier_errors() {
    assert_eq!(
        Identifier::from_bytes(&[0; 65]),
        Err(IdentifierError::Length { len: 65 })
    );
    assert_eq!(
        Identifier::from_bytes(&[0; 67]),
        Err(IdentifierError::Length { len: 67 })
    );
    let mut version_1 = [0; 66];
    version_1[1] = 1;
    assert_eq!(
        Identifier::from_bytes(&version_1),
        Err(IdentifierError::UnsupportedVersion { version: 1 })
    );
}

#[test]
fn root_keys_are_derived_from_the_secret_and_the_identifier() {
    assert_eq!(
        RootKeySecret::new(&[1; 31]).unwrap_err(),
        SecretTooShort { len: 31 }
    );
    let secret = RootKeySecret::new(&[1; 32]).unwrap();
    let vector = aperture();
    let identifier = Identifier::from_bytes(&hex::decode(&vector.identifier_hex).unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&[1; 32]).unwrap();
    mac.update(&identifier.to_bytes());
    let expected: [u8; 32] = mac.finalize().into_bytes().into();
    assert_eq!(secret.root_key(&identifier), RootKey(expected));
    let other = Identifier {
        token_id: TokenId([0; 32]),
        ..identifier
    };
    assert_ne!(secret.root_key(&other), secret.root_key(&identifier));
    assert_eq!(format!("{secret:?}"), "RootKeySecret(..)");
    assert_eq!(format!("{:?}", secret.root_key(&other)), "RootKey(..)");

    // A token minted under the secret verifies under it.
    let preimage = Preimage([9; 32]);
    let identifier = Identifier {
        payment_hash: preimage.payment_hash(),
        token_id: TokenId([3; 32]),
    };
    let service = Service::new("weather", 2).unwrap();
    let macaroon = mint_token(
        &secret.root_key(&identifier),
        &identifier,
        &service,
        &["read", "write"],
        None,
    );
    let credential = Credential {
        scheme: Scheme::Lsat,
        macaroon,
        discharges: vec![],
        preimage,
    };
    let header = credential.to_header();
    assert!(header.starts_with("LSAT "));
    let parsed = Credential::from_header(&header).unwrap();
    let token = verify_credential(&parsed, |id| secret.root_key(id), "weather", NOW).unwrap();
    assert_eq!(token.grant.service, service);
    assert_eq!(token.grant.valid_until, None);
    assert_eq!(
        token.grant.capabilities,
        Some(vec!["read".to_owned(), "write".to_owned()])
    );
    let other_secret = RootKeySecret::new(&[2; 32]).unwrap();
    assert_eq!(
        verify_credential(&parsed, |id| other_secret.root_key(id), "weather", NOW),
        Err(L402Error::Signature(SignatureError::Mismatch))
    );
}

#[test]
fn service_names_are_checked() {
    for name in ["", "a,b", "a:b", "a=b"] {
        assert_eq!(
            Service::new(name, 0),
            Err(CaveatError::InvalidServiceName),
            "{name:?}"
        );
    }
    assert_eq!(Service::new("a_b-c.d", 7).unwrap().to_string(), "a_b-c.d:7");
}

/// Checks a list of caveats for `svc` at time 100.
fn check(caveats: &[&str]) -> Result<edge402::l402::Grant, CaveatError> {
    let caveats: Vec<Caveat> = caveats.iter().map(|id| first_party(id)).collect();
    check_caveats(&caveats, "svc", 100)
}

#[test]
fn caveat_rules() {
    let svc = |tier| Service::new("svc", tier).unwrap();
    let grant = check(&[
        "services=other:0,svc:1",
        "svc_capabilities=a,b,c",
        "svc_valid_until=300",
        "unknown=1",
        "no equals sign",
        "other_valid_until=1",
        "other_capabilities=z",
        "preimage=00",
        "services=svc:1",
        "svc_capabilities=c,a",
        "svc_valid_until=200",
        "svc_valid_until=200",
    ])
    .unwrap();
    assert_eq!(grant.service, svc(1));
    assert_eq!(grant.valid_until, Some(200));
    assert_eq!(grant.capabilities, Some(vec!["c".into(), "a".into()]));

    // Without restrictions besides the service.
    let grant = check(&["services=svc:0"]).unwrap();
    assert_eq!((grant.valid_until, grant.capabilities), (None, None));
    // An empty capabilities value grants none, and narrowing to none is allowed.
    let grant = check(&["services=svc:0", "svc_capabilities=a", "svc_capabilities="]).unwrap();
    assert_eq!(grant.capabilities, Some(vec![]));
    // A third-party caveat is not read here.
    let caveats = [
        first_party("services=svc:0"),
        Caveat::ThirdParty {
            location: None,
            id: b"services=evil:0".to_vec(),
            verification_id: vec![1],
        },
    ];
    assert!(check_caveats(&caveats, "svc", 100).is_ok());
}

#[test]
fn caveat_errors() {
    assert_eq!(check(&[]), Err(CaveatError::NoServices));
    assert_eq!(
        check(&["svc_valid_until=200"]),
        Err(CaveatError::NoServices)
    );
    for bad in [
        "services=",
        "services=svc",
        "services=svc:",
        "services=:0",
        "services=svc:256",
        "services=svc:-1",
        "services=svc:+1",
        "services=svc:0,",
        "services=svc:0:0",
        "services=svc: 0",
    ] {
        assert_eq!(
            check(&["services=svc:0", bad]),
            Err(CaveatError::InvalidServices { index: 1 }),
            "{bad}"
        );
    }
    assert_eq!(
        check(&["services=svc:0", "services=svc:0,other:0"]),
        Err(CaveatError::ServicesWidened { index: 1 })
    );
    assert_eq!(
        check(&["services=svc:0", "services=svc:1"]),
        Err(CaveatError::ServicesWidened { index: 1 })
    );
    assert_eq!(
        check(&["services=svc:0,other:0", "services=other:0"]),
        Err(CaveatError::ServiceNotAllowed {
            service: "svc".into()
        })
    );
    assert_eq!(
        check(&["services=svcx:0"]),
        Err(CaveatError::ServiceNotAllowed {
            service: "svc".into()
        })
    );
    for bad in ["", "1e3", "-5", "+5", " 5", "18446744073709551616"] {
        assert_eq!(
            check(&["services=svc:0", &format!("svc_valid_until={bad}")]),
            Err(CaveatError::InvalidValidUntil { index: 1 }),
            "{bad}"
        );
    }
    assert_eq!(
        check(&[
            "services=svc:0",
            "svc_valid_until=200",
            "svc_valid_until=201"
        ]),
        Err(CaveatError::ValidUntilWidened {
            index: 2,
            previous: 200,
            current: 201
        })
    );
    assert_eq!(
        check(&["services=svc:0", "svc_valid_until=100"]),
        Err(CaveatError::Expired {
            valid_until: 100,
            now: 100
        })
    );
    assert_eq!(
        check(&[
            "services=svc:0",
            "svc_capabilities=a",
            "svc_capabilities=a,b"
        ]),
        Err(CaveatError::CapabilitiesWidened {
            index: 2,
            capability: "b".into()
        })
    );
    let caveats = [
        first_party("services=svc:0"),
        Caveat::FirstParty {
            id: b"svc_capabilities=\xff".to_vec(),
        },
    ];
    assert_eq!(
        check_caveats(&caveats, "svc", 100),
        Err(CaveatError::InvalidCapabilities { index: 1 })
    );
}

#[test]
fn secrets_are_not_printed() {
    assert_eq!(format!("{:?}", Preimage([1; 32])), "Preimage(..)");
    let credential = credential(&aperture());
    assert!(!format!("{credential:?}").contains(&aperture().preimage_hex));
}
