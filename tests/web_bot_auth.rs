//! Web Bot Auth: the RFC 9421 Ed25519 vector, the drafts' and Cloudflare's npm package's
//! signed requests (`vectors/web_bot_auth.json`) verify here over the same signature bases,
//! RFC 7638 thumbprints match RFC 8037's, and every way a request can be wrong gets its own
//! reason.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use edge402::web_bot_auth::{
    jwk_thumbprint, AgentKey, AgentKind, DirectoryError, KeyDirectory, MessageSignature,
    RequestParts, SignedRequest, Unsigned, CLOCK_SKEW_S, MAX_DIRECTORY_LEN, MAX_KEYS,
    MAX_VALIDITY_S,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const VECTORS: &str = include_str!("vectors/web_bot_auth.json");

#[derive(Deserialize)]
struct File {
    keys: Vec<Key>,
    directory: Directory,
    requests: Vec<Request>,
}

#[derive(Deserialize)]
struct Key {
    id: String,
    x: String,
    x_hex: Option<String>,
    seed_hex: Option<String>,
    thumbprint_input: Option<String>,
    thumbprint_sha256_hex: Option<String>,
    thumbprint: String,
}

#[derive(Deserialize)]
struct Directory {
    body: String,
}

#[derive(Deserialize, Clone)]
struct Request {
    id: String,
    web_bot_auth: bool,
    method: String,
    scheme: String,
    authority: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    label: String,
    base: String,
    base_sha256_hex: Option<String>,
    signature_hex: Option<String>,
    keyid: Option<String>,
    created: Option<u64>,
    expires: Option<u64>,
    nonce: Option<String>,
    agent_url: Option<String>,
    directory_url: Option<String>,
    #[serde(default)]
    covers: Vec<String>,
}

impl Request {
    fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: &self.method,
            scheme: &self.scheme,
            authority: &self.authority,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
        }
    }

    fn parse(&self) -> Result<SignedRequest, Unsigned> {
        SignedRequest::parse(&self.parts())
    }

    /// The value of the first header named `name`.
    fn header(&self, name: &str) -> &str {
        let (_, value) = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap();
        value
    }

    /// Replaces every instance of `name` with one holding `value`.
    fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Rewrites `Signature-Input` (with `from` replaced by `to`).
    fn edit_input(&mut self, from: &str, to: &str) {
        let input = self.header("signature-input");
        assert!(input.contains(from), "{input} has no {from}");
        let input = input.replace(from, to);
        self.set("Signature-Input", &input);
    }

    /// Signs the request's base anew with the B.1.4 key, for requests changed on purpose.
    fn resign(&mut self) {
        let base = MessageSignature::parse(&self.parts(), &self.label)
            .unwrap()
            .base()
            .to_owned();
        let signature = STANDARD.encode(b14_signing_key().sign(base.as_bytes()).to_bytes());
        let label = self.label.clone();
        self.set("Signature", &format!("{label}=:{signature}:"));
    }
}

fn file() -> File {
    serde_json::from_str(VECTORS).unwrap()
}

fn vector(id: &str) -> Request {
    file().requests.into_iter().find(|r| r.id == id).unwrap()
}

fn key(id: &str) -> Key {
    file().keys.into_iter().find(|k| k.id == id).unwrap()
}

fn agent_key(id: &str) -> AgentKey {
    let x: [u8; 32] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key(id).x)
        .unwrap()
        .try_into()
        .unwrap();
    AgentKey::from_bytes(&x).unwrap()
}

fn b14() -> AgentKey {
    agent_key("rfc9421-b14")
}

fn b14_signing_key() -> SigningKey {
    let seed: [u8; 32] = hex::decode(key("rfc9421-b14").seed_hex.unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    SigningKey::from_bytes(&seed)
}

/// A time inside the npm vectors' hour, as the brief's captures were checked.
const NPM_NOW: u64 = 1_735_689_600 + 1;
/// A time inside the drafts' vectors' window (which ends in 2124).
const DRAFT_NOW: u64 = 1_800_000_000;

fn verify(request: &Request, now: u64) -> Result<(), Unsigned> {
    request.parse()?.verify(&b14(), now, u64::MAX).map(|_| ())
}

// ---------------------------------------------------------------------------------------
// RFC 9421 B.2.6

#[test]
fn rfc_9421_b26_gives_the_exact_base_and_its_signature_verifies_with_the_b14_key() {
    let request = vector("rfc9421-b26");
    let signature = MessageSignature::parse(&request.parts(), &request.label).unwrap();
    assert_eq!(signature.label(), "sig-b26");
    assert_eq!(signature.base(), request.base);
    assert_eq!(signature.base().len(), 284);
    assert_eq!(
        hex::encode(Sha256::digest(signature.base())),
        request.base_sha256_hex.unwrap()
    );
    assert_eq!(signature.verify_strict(&b14()), Ok(()));
    // The signature is deterministic: signing the base again gives the RFC's bytes.
    assert_eq!(
        hex::encode(b14_signing_key().sign(request.base.as_bytes()).to_bytes()),
        request.signature_hex.unwrap()
    );
}

#[test]
fn changing_one_byte_of_any_covered_b26_component_breaks_the_signature() {
    let original = vector("rfc9421-b26");
    let mut changes: Vec<(&str, Request)> = Vec::new();
    for header in ["date", "content-type", "content-length"] {
        let mut request = original.clone();
        let mut value = request.header(header).to_owned();
        // The last character, replaced by another.
        let last = value.pop().unwrap();
        value.push(if last == '0' { '1' } else { '0' });
        request.set(header, &value);
        changes.push((header, request));
    }
    let mut request = original.clone();
    request.method = "PUT".into();
    changes.push(("@method", request));
    let mut request = original.clone();
    request.path = "/fop".into();
    changes.push(("@path", request));
    let mut request = original.clone();
    request.authority = "example.org".into();
    changes.push(("@authority", request));

    for (component, request) in changes {
        let signature = MessageSignature::parse(&request.parts(), &request.label).unwrap();
        assert_ne!(signature.base(), original.base, "{component}");
        assert_eq!(
            signature.verify_strict(&b14()),
            Err(Unsigned::BadSignature),
            "{component}"
        );
    }
}

#[test]
fn what_b26_does_not_cover_can_change_and_it_still_verifies() {
    let mut request = vector("rfc9421-b26");
    request.query = Some("param=Other".into());
    request.set("Content-Digest", "sha-512=:AAAA:");
    // The port is the scheme's default, so `@authority` is unchanged.
    request.authority = "EXAMPLE.com:443".into();
    let signature = MessageSignature::parse(&request.parts(), &request.label).unwrap();
    assert_eq!(signature.verify_strict(&b14()), Ok(()));
}

#[test]
fn the_b26_signature_is_not_a_web_bot_auth_signature() {
    assert_eq!(
        vector("rfc9421-b26").parse(),
        Err(Unsigned::NoWebBotAuthTag)
    );
}

// ---------------------------------------------------------------------------------------
// The drafts' and npm web-bot-auth 0.1.3's requests

#[test]
fn every_web_bot_auth_vector_verifies_within_its_window_with_what_it_says() {
    let vectors: Vec<Request> = file()
        .requests
        .into_iter()
        .filter(|r| r.web_bot_auth)
        .collect();
    assert_eq!(vectors.len(), 6);
    for request in vectors {
        let id = &request.id;
        let signed = request.parse().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(signed.base(), request.base, "{id}");
        assert_eq!(signed.label(), request.label, "{id}");
        assert_eq!(Some(signed.keyid()), request.keyid.as_deref(), "{id}");
        assert_eq!(Some(signed.created()), request.created, "{id}");
        assert_eq!(Some(signed.expires()), request.expires, "{id}");
        assert_eq!(signed.nonce(), request.nonce.as_deref(), "{id}");
        assert_eq!(
            signed.agent().map(|a| a.url()),
            request.agent_url.as_deref(),
            "{id}"
        );
        assert_eq!(
            signed.agent().map(|a| a.directory_url()),
            request.directory_url.as_deref(),
            "{id}"
        );
        for field in [
            "signature-agent",
            "crawler-max-price",
            "crawler-exact-price",
        ] {
            assert_eq!(
                signed.covers(field),
                request.covers.iter().any(|c| c == field),
                "{id} {field}"
            );
        }
        // Within the window: one second after `created`.
        let now = signed.created() + 1;
        let verified = signed
            .verify(&b14(), now, u64::MAX)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(verified.keyid(), signed.keyid(), "{id}");
        assert_eq!(verified.request(), &signed, "{id}");
    }
}

#[test]
fn the_drafts_vectors_verify_until_2124_but_not_before_created_nor_after_expires() {
    for id in ["draft-dictionary-agent", "draft-no-agent"] {
        let signed = vector(id).parse().unwrap();
        let (created, expires) = (signed.created(), signed.expires());
        assert_eq!(expires, 4_889_289_600, "{id}");
        assert!(signed.verify(&b14(), DRAFT_NOW, u64::MAX).is_ok(), "{id}");
        assert!(signed.verify(&b14(), expires, u64::MAX).is_ok(), "{id}");
        assert_eq!(
            signed.verify(&b14(), expires + 1, u64::MAX),
            Err(Unsigned::Expired {
                expires,
                now: expires + 1
            }),
            "{id}"
        );
        let early = created - CLOCK_SKEW_S - 1;
        assert_eq!(
            signed.verify(&b14(), early, u64::MAX),
            Err(Unsigned::NotYetValid {
                created,
                now: early
            }),
            "{id}"
        );
        // Within the clock skew, `created` may be a little ahead.
        assert!(signed
            .verify(&b14(), created - CLOCK_SKEW_S, u64::MAX)
            .is_ok());
    }
}

#[test]
fn the_drafts_century_long_signatures_are_longer_than_the_recommended_day() {
    let signed = vector("draft-dictionary-agent").parse().unwrap();
    assert_eq!(
        signed.verify(&b14(), DRAFT_NOW, MAX_VALIDITY_S),
        Err(Unsigned::ValidityTooLong {
            validity_s: 4_889_289_600 - 1_735_689_600,
            max_s: MAX_VALIDITY_S
        })
    );
}

#[test]
fn the_dictionary_agent_is_the_member_the_key_parameter_names() {
    let signed = vector("draft-dictionary-agent").parse().unwrap();
    let agent = signed.agent().unwrap();
    assert_eq!(agent.url(), "https://signature-agent.test");
    assert_eq!(agent.kind(), AgentKind::Directory);
    assert_eq!(
        agent.directory_url(),
        "https://signature-agent.test/.well-known/http-message-signatures-directory"
    );
    // A member alone is not the whole field.
    assert!(!signed.covers("signature-agent"));
}

#[test]
fn npm_request_c_covers_its_price_and_request_a_does_not() {
    let a = vector("npm-0.1.3-a").parse().unwrap();
    let c = vector("npm-0.1.3-c").parse().unwrap();
    assert!(c.covers("crawler-max-price"));
    assert!(c.covers("Crawler-Max-Price"));
    assert!(!c.covers("crawler-exact-price"));
    assert!(!a.covers("crawler-max-price"));
    let verified = c.verify(&b14(), NPM_NOW, MAX_VALIDITY_S).unwrap();
    assert!(verified.covers("crawler-max-price"));
    assert_eq!(verified.agent().unwrap().url(), "https://a.test");
    assert!(a.verify(&b14(), NPM_NOW, MAX_VALIDITY_S).is_ok());
}

#[test]
fn the_legacy_vector_expired_in_2025() {
    let request = vector("draft-legacy-agent");
    assert_eq!(verify(&request, NPM_NOW), Ok(()));
    assert_eq!(
        verify(&request, 1_800_000_000),
        Err(Unsigned::Expired {
            expires: 1_735_693_200,
            now: 1_800_000_000
        })
    );
}

#[test]
fn a_request_at_another_authority_does_not_verify() {
    // npm 0.1.3's own verify refuses (a) on another authority ("invalid signature").
    let mut request = vector("npm-0.1.3-a");
    request.authority = "example.org".into();
    assert_eq!(verify(&request, NPM_NOW), Err(Unsigned::BadSignature));
    // …while the same authority written differently is the same `@authority`.
    request.authority = "Example.COM:443".into();
    assert_eq!(verify(&request, NPM_NOW), Ok(()));
}

// ---------------------------------------------------------------------------------------
// Thumbprints and directories

#[test]
fn thumbprints_are_those_of_rfc_8037_and_of_the_b14_key() {
    for key in file().keys {
        assert_eq!(jwk_thumbprint(&key.x), key.thumbprint, "{}", key.id);
        assert_eq!(
            agent_key(&key.id).thumbprint(),
            key.thumbprint,
            "{}",
            key.id
        );
        if let (Some(input), Some(hash)) = (&key.thumbprint_input, &key.thumbprint_sha256_hex) {
            assert_eq!(&hex::encode(Sha256::digest(input)), hash);
        }
        if let Some(x_hex) = &key.x_hex {
            assert_eq!(&hex::encode(agent_key(&key.id).to_bytes()), x_hex);
        }
    }
    assert_eq!(
        jwk_thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    assert_eq!(
        b14().thumbprint(),
        "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"
    );
}

#[test]
fn both_rfc_test_keys_are_known_as_published() {
    assert!(b14().is_published_test_key());
    assert!(agent_key("rfc8037-a").is_published_test_key());
    let other = SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
    assert!(!AgentKey::from_bytes(&other)
        .unwrap()
        .is_published_test_key());
}

#[test]
fn the_drafts_directory_holds_the_key_its_vectors_are_verified_with() {
    let directory = KeyDirectory::from_json(file().directory.body.as_bytes()).unwrap();
    assert_eq!(directory.keys(), [b14()]);
    let signed = vector("draft-dictionary-agent").parse().unwrap();
    assert!(signed
        .verify_with_directory(&directory, DRAFT_NOW, u64::MAX)
        .is_ok());
}

#[test]
fn a_key_whose_kid_is_not_its_thumbprint_is_skipped() {
    let b14_x = key("rfc9421-b14").x;
    let a_x = key("rfc8037-a").x;
    // The draft's own example kid, which is not the thumbprint of its x.
    let body = format!(
        r#"{{"keys":[
            {{"kty":"OKP","crv":"Ed25519","kid":"NFcWBst6DXG-N35nHdzMrioWntdzNZghQSkjHNMMSjw","x":"{b14_x}"}},
            {{"kty":"OKP","crv":"Ed25519","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k","x":"{a_x}"}}
        ]}}"#
    );
    let directory = KeyDirectory::from_json(body.as_bytes()).unwrap();
    assert_eq!(directory.keys(), [agent_key("rfc8037-a")]);
    let signed = vector("draft-no-agent").parse().unwrap();
    assert_eq!(
        signed.verify_with_directory(&directory, DRAFT_NOW, u64::MAX),
        Err(Unsigned::UnknownKey {
            keyid: "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U".into()
        })
    );
}

#[test]
fn keys_that_are_not_ed25519_are_ignored() {
    let b14_x = key("rfc9421-b14").x;
    let body = format!(
        r#"{{"keys":[
            {{"kty":"RSA","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl","e":"AQAB"}},
            {{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}},
            {{"kty":"OKP","crv":"X25519","x":"{b14_x}"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{b14_x}","use":"sig"}},
            "not a key"
        ]}}"#
    );
    let directory = KeyDirectory::from_json(body.as_bytes()).unwrap();
    assert_eq!(directory.keys(), [b14()]);
}

#[test]
fn a_keys_nbf_and_exp_bound_when_it_verifies() {
    let x = key("rfc9421-b14").x;
    let signed = vector("npm-0.1.3-a").parse().unwrap();
    for (members, expected) in [
        (
            format!(r#""nbf":{}"#, NPM_NOW + 1),
            Err(Unsigned::KeyNotYetValid),
        ),
        (format!(r#""exp":{NPM_NOW}"#), Err(Unsigned::KeyExpired)),
        (format!(r#""nbf":{NPM_NOW},"exp":{}"#, NPM_NOW + 1), Ok(())),
    ] {
        let body = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}",{members}}}]}}"#);
        let directory = KeyDirectory::from_json(body.as_bytes()).unwrap();
        assert_eq!(
            signed
                .verify_with_directory(&directory, NPM_NOW, MAX_VALIDITY_S)
                .map(|_| ()),
            expected,
            "{members}"
        );
    }
}

#[test]
fn directories_that_are_too_large_too_long_or_not_a_jwks_are_refused() {
    let large = vec![b' '; MAX_DIRECTORY_LEN + 1];
    assert_eq!(
        KeyDirectory::from_json(&large),
        Err(DirectoryError::TooLarge {
            len: MAX_DIRECTORY_LEN + 1
        })
    );
    let many = format!(r#"{{"keys":[{}]}}"#, vec!["{}"; MAX_KEYS + 1].join(","));
    assert_eq!(
        KeyDirectory::from_json(many.as_bytes()),
        Err(DirectoryError::TooManyKeys {
            count: MAX_KEYS + 1
        })
    );
    assert_eq!(
        KeyDirectory::from_json(br#"{"keys":{}}"#),
        Err(DirectoryError::NotJwks)
    );
    assert_eq!(
        KeyDirectory::from_json(br#"{"keys":[]}"#),
        Err(DirectoryError::NoUsableKey)
    );
    assert!(matches!(
        KeyDirectory::from_json(b"{\"keys\":["),
        Err(DirectoryError::Json { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Hostile requests: each refused for its own reason

#[test]
fn a_request_without_signature_fields_is_unsigned() {
    let mut request = vector("npm-0.1.3-a");
    request.remove("signature-input");
    assert_eq!(request.parse(), Err(Unsigned::NoSignature));
    request.set("Signature-Input", "");
    assert_eq!(request.parse(), Err(Unsigned::NoSignature));
}

#[test]
fn a_signature_tagged_otherwise_is_not_web_bot_auth() {
    let mut request = vector("npm-0.1.3-a");
    request.edit_input(r#"tag="web-bot-auth""#, r#"tag="other""#);
    assert_eq!(request.parse(), Err(Unsigned::NoWebBotAuthTag));
    // A token is not the string the draft asks for.
    request.edit_input(r#"tag="other""#, "tag=web-bot-auth");
    assert_eq!(request.parse(), Err(Unsigned::NoWebBotAuthTag));
}

#[test]
fn the_first_web_bot_auth_label_is_the_one_verified() {
    let mut request = vector("npm-0.1.3-a");
    let input = request.header("signature-input").to_owned();
    let signature = request.header("signature").to_owned();
    let other = input
        .replacen("sig1=", "sig0=", 1)
        .replace(r#"tag="web-bot-auth""#, r#"tag="something-else""#);
    // Another tag first, then the Web Bot Auth signature, then a second one (not read).
    request.set("Signature-Input", &format!("{other}, {input}"));
    request.headers.push((
        "Signature-Input".into(),
        input.replacen("sig1=", "sig2=", 1),
    ));
    request.set("Signature", &signature);
    let signed = request.parse().unwrap();
    assert_eq!(signed.label(), "sig1");
    assert!(signed.verify(&b14(), NPM_NOW, MAX_VALIDITY_S).is_ok());
}

#[test]
fn an_expired_signature_is_refused() {
    let signed = vector("npm-0.1.3-a").parse().unwrap();
    let now = 1_735_693_200 + 1;
    assert_eq!(
        signed.verify(&b14(), now, MAX_VALIDITY_S),
        Err(Unsigned::Expired {
            expires: 1_735_693_200,
            now
        })
    );
}

#[test]
fn a_signature_created_in_the_future_is_refused() {
    let signed = vector("npm-0.1.3-a").parse().unwrap();
    let now = 1_735_689_600 - CLOCK_SKEW_S - 1;
    assert_eq!(
        signed.verify(&b14(), now, MAX_VALIDITY_S),
        Err(Unsigned::NotYetValid {
            created: 1_735_689_600,
            now
        })
    );
}

#[test]
fn a_signature_valid_longer_than_allowed_is_refused() {
    let signed = vector("npm-0.1.3-a").parse().unwrap();
    assert_eq!(
        signed.verify(&b14(), NPM_NOW, 60),
        Err(Unsigned::ValidityTooLong {
            validity_s: 3600,
            max_s: 60
        })
    );
}

#[test]
fn another_key_than_the_keyid_names_is_refused() {
    let signed = vector("npm-0.1.3-a").parse().unwrap();
    assert_eq!(
        signed.verify(&agent_key("rfc8037-a"), NPM_NOW, MAX_VALIDITY_S),
        Err(Unsigned::KeyMismatch {
            keyid: "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U".into()
        })
    );
}

#[test]
fn a_signature_by_another_key_under_the_right_keyid_is_refused() {
    let mut request = vector("npm-0.1.3-a");
    let base = request.base.clone();
    let forged = SigningKey::from_bytes(&[9; 32]).sign(base.as_bytes());
    request.set(
        "Signature",
        &format!("sig1=:{}:", STANDARD.encode(forged.to_bytes())),
    );
    assert_eq!(verify(&request, NPM_NOW), Err(Unsigned::BadSignature));
}

#[test]
fn a_signature_agent_the_signature_does_not_cover_is_refused() {
    let mut request = vector("npm-0.1.3-a");
    request.set("Signature-Agent", r#""https://signature-agent.test""#);
    assert_eq!(request.parse(), Err(Unsigned::AgentNotCovered));
}

#[test]
fn a_signature_not_bound_to_the_authority_is_refused() {
    let mut request = vector("npm-0.1.3-a");
    request.edit_input(r#"("@authority")"#, r#"("@method" "@path")"#);
    assert_eq!(request.parse(), Err(Unsigned::AuthorityNotCovered));
    // `@target-uri` binds it too.
    request.edit_input(r#"("@method" "@path")"#, r#"("@target-uri")"#);
    request.resign();
    assert_eq!(verify(&request, NPM_NOW), Ok(()));
}

#[test]
fn malformed_structured_fields_are_refused_with_what_is_wrong() {
    let request = vector("npm-0.1.3-a");
    let signature = request.header("signature").to_owned();
    let signature_b64 = &signature["sig1=:".len()..signature.len() - 1];
    let cases = [
        (
            "Signature-Input",
            r#"sig1=("@authority");created=1735689600;keyid="poqk"#.to_owned(),
            "a string is not terminated",
        ),
        (
            "Signature-Input",
            r#"sig1=("@authority";created=1735689600"#.to_owned(),
            "inner list items must be separated by spaces",
        ),
        (
            "Signature",
            "sig1=:AAA*:".to_owned(),
            "a byte sequence holds a character outside base64",
        ),
        (
            "Signature",
            "sig1=:AAA:".to_owned(),
            "a byte sequence is not padded base64",
        ),
        (
            "Signature",
            format!("sig1=:{signature_b64}"),
            "a byte sequence is not terminated",
        ),
        (
            "Signature",
            format!("{signature}, sig1=:{signature_b64}:"),
            "a dictionary key is repeated",
        ),
        (
            "Signature",
            "sig1=?1".to_owned(),
            "a signature is not a byte sequence",
        ),
    ];
    for (field, value, detail) in cases {
        let mut request = request.clone();
        request.set(field, &value);
        assert_eq!(
            request.parse(),
            Err(Unsigned::Malformed { field, detail }),
            "{value}"
        );
    }
}

#[test]
fn a_label_given_twice_is_refused_even_across_field_lines() {
    let mut request = vector("npm-0.1.3-a");
    let input = request.header("signature-input").to_owned();
    request.headers.push(("signature-input".into(), input));
    assert_eq!(
        request.parse(),
        Err(Unsigned::Malformed {
            field: "Signature-Input",
            detail: "a dictionary key is repeated"
        })
    );
}

#[test]
fn a_label_without_a_signature_is_refused() {
    let mut request = vector("npm-0.1.3-a");
    let signature = request.header("signature").replacen("sig1=", "sig9=", 1);
    request.set("Signature", &signature);
    let missing = Err(Unsigned::MissingSignature {
        label: "sig1".into(),
    });
    assert_eq!(request.parse(), missing);
    request.remove("signature");
    assert_eq!(request.parse(), missing);
}

#[test]
fn a_signature_of_another_length_than_ed25519s_is_refused() {
    let mut request = vector("npm-0.1.3-a");
    request.set(
        "Signature",
        &format!("sig1=:{}:", STANDARD.encode([1; 256])),
    );
    assert_eq!(
        request.parse(),
        Err(Unsigned::Malformed {
            field: "Signature",
            detail: "an Ed25519 signature is 64 bytes"
        })
    );
}

#[test]
fn each_required_parameter_is_required() {
    for (param, text) in [
        ("created", ";created=1735689600"),
        ("expires", ";expires=1735693200"),
        (
            "keyid",
            r#";keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U""#,
        ),
    ] {
        let mut request = vector("npm-0.1.3-a");
        request.edit_input(text, "");
        assert_eq!(
            request.parse(),
            Err(Unsigned::MissingParam { param }),
            "{param}"
        );
    }
}

#[test]
fn parameters_of_the_wrong_type_or_order_are_malformed() {
    for (from, to, detail) in [
        (
            "created=1735689600",
            "created=\"1735689600\"",
            "created or expires is not an integer",
        ),
        ("created=1735689600", "created=-1", "a time is negative"),
        (
            "expires=1735693200",
            "expires=1735689599",
            "expires is before created",
        ),
        (
            r#"keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U""#,
            "keyid=poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",
            "keyid, nonce or alg is not a string",
        ),
        (
            r#"("@authority")"#,
            r#"("@authority" "@authority")"#,
            "a component is covered twice",
        ),
        (
            r#"("@authority")"#,
            r#"("@authority" method)"#,
            "a covered component is not a string",
        ),
        (
            r#"("@authority")"#,
            r#"("@authority" "Date")"#,
            "a covered field name is not a lowercase token",
        ),
        ("sig1=(", "x=1, sig1=(", "a member is not an inner list"),
    ] {
        let mut request = vector("npm-0.1.3-a");
        request.edit_input(from, to);
        assert_eq!(
            request.parse(),
            Err(Unsigned::Malformed {
                field: "Signature-Input",
                detail
            }),
            "{to}"
        );
    }
}

#[test]
fn an_algorithm_other_than_ed25519_is_refused() {
    let mut request = vector("npm-0.1.3-a");
    request.edit_input(r#"alg="ed25519""#, r#"alg="rsa-pss-sha512""#);
    assert_eq!(
        request.parse(),
        Err(Unsigned::UnsupportedAlgorithm {
            alg: "rsa-pss-sha512".into()
        })
    );
}

#[test]
fn components_this_verifier_does_not_compute_are_refused_by_name() {
    for component in [
        r#""@authority";req"#,
        r#""date";sf"#,
        r#""date";bs"#,
        r#""date";tr"#,
        r#""date";key=x"#,
        r#""date";key="a";sf"#,
        r#""@query-param";name="x""#,
        r#""@status""#,
        r#""@signature-params""#,
        r#""@unknown""#,
    ] {
        let mut request = vector("npm-0.1.3-a");
        request.set("date", "Tue, 20 Apr 2021 02:07:55 GMT");
        request.edit_input(
            r#"("@authority")"#,
            &format!(r#"("@authority" {component})"#),
        );
        assert_eq!(
            request.parse(),
            Err(Unsigned::UnsupportedComponent {
                component: component.into()
            }),
            "{component}"
        );
    }
}

#[test]
fn a_covered_field_the_request_lacks_is_refused() {
    let mut request = vector("npm-0.1.3-c");
    request.remove("crawler-max-price");
    assert_eq!(
        request.parse(),
        Err(Unsigned::MissingField {
            component: r#""crawler-max-price""#.into()
        })
    );
    let mut request = vector("draft-dictionary-agent");
    request.set(
        "Signature-Agent",
        r#"agent1="https://signature-agent.test""#,
    );
    assert_eq!(
        request.parse(),
        Err(Unsigned::MissingField {
            component: r#""signature-agent";key="agent2""#.into()
        })
    );
}

#[test]
fn a_covered_value_with_a_line_break_is_refused() {
    let mut request = vector("npm-0.1.3-c");
    request.set("crawler-max-price", "USD 0.05\n\"@authority\": evil.test");
    assert_eq!(
        request.parse(),
        Err(Unsigned::BadComponentValue {
            component: r#""crawler-max-price""#.into()
        })
    );
}

#[test]
fn agents_that_are_not_https_urls_are_refused() {
    for url in [
        "http://a.test",
        "ftp://a.test",
        "a.test",
        "https://user@a.test",
        "https://",
        "https://a.test/x y",
    ] {
        let mut request = vector("npm-0.1.3-b");
        request.set("Signature-Agent", &format!("\"{url}\""));
        assert!(
            matches!(request.parse(), Err(Unsigned::BadAgent { .. })),
            "{url}"
        );
    }
    let mut request = vector("draft-dictionary-agent");
    request.set("Signature-Agent", r#"agent2="https://a.test";type=cimd"#);
    assert_eq!(
        request.parse(),
        Err(Unsigned::BadAgent {
            detail: "type is not directory or jwks_uri"
        })
    );
    let mut request = vector("npm-0.1.3-b");
    request.set(
        "Signature-Agent",
        r#"a1="https://a.test", a2="https://b.test""#,
    );
    assert_eq!(
        request.parse(),
        Err(Unsigned::BadAgent {
            detail: "several agents, and no ;key says which is covered"
        })
    );
    request.set("Signature-Agent", "\"https://a.test");
    assert_eq!(
        request.parse(),
        Err(Unsigned::Malformed {
            field: "Signature-Agent",
            detail: "a string is not terminated"
        })
    );
}

#[test]
fn a_loopback_agent_over_http_is_accepted_for_local_tests() {
    let mut request = vector("npm-0.1.3-b");
    request.set("Signature-Agent", r#""http://localhost:8787""#);
    request.resign();
    let signed = request.parse().unwrap();
    assert_eq!(
        signed.agent().unwrap().directory_url(),
        "http://localhost:8787/.well-known/http-message-signatures-directory"
    );
    assert!(signed.verify(&b14(), NPM_NOW, MAX_VALIDITY_S).is_ok());
}

#[test]
fn a_jwks_uri_agent_is_its_own_key_url_and_a_directory_agent_is_cut_to_its_origin() {
    let mut request = vector("draft-dictionary-agent");
    request.set(
        "Signature-Agent",
        r#"agent2="https://Agent.test/keys.json";type=jwks_uri"#,
    );
    let agent = request.parse().unwrap().agent().unwrap().clone();
    assert_eq!(agent.kind(), AgentKind::JwksUri);
    assert_eq!(agent.directory_url(), "https://Agent.test/keys.json");
    request.set(
        "Signature-Agent",
        r#"agent2="https://Agent.test/.well-known/http-message-signatures-directory""#,
    );
    let agent = request.parse().unwrap().agent().unwrap().clone();
    assert_eq!(
        agent.directory_url(),
        "https://agent.test/.well-known/http-message-signatures-directory"
    );
}

#[test]
fn every_derived_component_has_the_value_rfc_9421_gives_it() {
    // An independent base, written out by hand from RFC 9421 §2.2, signed, then verified
    // over the base the verifier builds.
    let input = concat!(
        r#"sig1=("@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" "@query" "#,
        r#""crawler-exact-price" "signature-agent";key="me");created=1735689600;expires=1735689660;"#,
        r#"keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";tag="web-bot-auth""#
    );
    let base = [
        r#""@method": POST"#,
        r#""@target-uri": https://shop.example:8443/a%20b/c?q=%2F&x"#,
        r#""@authority": shop.example:8443"#,
        r#""@scheme": https"#,
        r#""@request-target": /a%20b/c?q=%2F&x"#,
        r#""@path": /a%20b/c"#,
        r#""@query": ?q=%2F&x"#,
        r#""crawler-exact-price": USD 0.01, USD 0.02"#,
        r#""signature-agent";key="me": "https://agent.example";type=directory"#,
        &format!(r#""@signature-params": {}"#, &input["sig1=".len()..]),
    ]
    .join("\n");
    let signature = STANDARD.encode(b14_signing_key().sign(base.as_bytes()).to_bytes());
    let headers = vec![
        ("Crawler-Exact-Price".to_owned(), " USD 0.01 ".to_owned()),
        (
            "signature-agent".to_owned(),
            r#"other="https://x.test",  me="https://agent.example";type=directory"#.to_owned(),
        ),
        ("crawler-exact-price".to_owned(), "USD 0.02".to_owned()),
        ("Signature-Input".to_owned(), input.to_owned()),
        ("Signature".to_owned(), format!("sig1=:{signature}:")),
    ];
    let parts = RequestParts {
        method: "POST",
        scheme: "HTTPS",
        authority: "Shop.Example:8443",
        path: "/a%20b/c",
        query: Some("q=%2F&x"),
        headers: &headers,
    };
    let signed = SignedRequest::parse(&parts).unwrap();
    assert_eq!(signed.base(), base);
    assert!(signed.covers("crawler-exact-price"));
    assert_eq!(signed.agent().unwrap().url(), "https://agent.example");
    assert!(signed.verify(&b14(), 1_735_689_600, 60).is_ok());
}

#[test]
fn every_reason_reads_as_a_log_line() {
    let reasons = [
        Unsigned::NoSignature,
        Unsigned::NoWebBotAuthTag,
        Unsigned::AgentNotCovered,
        Unsigned::BadSignature,
        Unsigned::MissingParam { param: "keyid" },
    ];
    for reason in reasons {
        let line = reason.to_string();
        assert!(!line.is_empty() && !line.contains('\n'), "{line}");
    }
    assert_eq!(
        Unsigned::MissingSignature {
            label: "sig1".into()
        }
        .to_string(),
        "Signature has no \"sig1\""
    );
}
