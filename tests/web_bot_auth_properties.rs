//! Property tests of Web Bot Auth verification: changing any covered value, any signature
//! parameter or any signature bit makes verification fail, and no bytes in the three
//! signature fields make parsing or verification panic.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use edge402::web_bot_auth::{
    AgentKey, MessageSignature, RequestParts, SignedRequest, Unsigned, MAX_VALIDITY_S,
};
use proptest::prelude::*;
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/web_bot_auth.json");
/// Inside every fixture's window.
const NOW: u64 = 1_735_689_601;

/// A signed request, owned.
#[derive(Clone, Debug)]
struct Fixture {
    method: String,
    authority: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
}

/// What of a request a signature can cover, to be changed.
#[derive(Clone, Copy, Debug)]
enum Target {
    Method,
    Authority,
    Path,
    Query,
    /// The first instance of a header.
    Header(&'static str),
}

/// One change to a string.
#[derive(Clone, Debug)]
enum Edit {
    /// Replace the character at (index modulo length) by another.
    Replace(usize, char),
    /// Insert a character before (index modulo length + 1).
    Insert(usize, char),
    /// Remove the character at (index modulo length).
    Delete(usize),
}

impl Edit {
    /// Applies the edit; `None` when it would change nothing (a replacement by the same
    /// character, ignoring case where `fold` says case does not count).
    fn apply(&self, text: &str, fold: bool) -> Option<String> {
        let mut chars: Vec<char> = text.chars().collect();
        match *self {
            Edit::Replace(i, c) => {
                let i = i.checked_rem(chars.len())?;
                let same = if fold {
                    chars[i].eq_ignore_ascii_case(&c)
                } else {
                    chars[i] == c
                };
                if same {
                    return None;
                }
                chars[i] = c;
            }
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::Delete(i) => {
                let i = i.checked_rem(chars.len())?;
                chars.remove(i);
            }
        }
        Some(chars.into_iter().collect())
    }
}

impl Fixture {
    fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: &self.method,
            scheme: "https",
            authority: &self.authority,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
        }
    }

    fn header_mut(&mut self, name: &str) -> &mut String {
        let (_, value) = self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap();
        value
    }

    /// Parses and verifies at [`NOW`] with the B.1.4 key.
    fn verify(&self) -> Result<(), Unsigned> {
        SignedRequest::parse(&self.parts())?
            .verify(&b14(), NOW, MAX_VALIDITY_S)
            .map(|_| ())
    }

    /// Applies `edit` to `target`; `None` when that changes nothing.
    fn tampered(&self, target: Target, edit: &Edit) -> Option<Self> {
        let mut out = self.clone();
        match target {
            Target::Method => out.method = edit.apply(&self.method, false)?,
            // Host names are compared without case.
            Target::Authority => out.authority = edit.apply(&self.authority, true)?,
            Target::Path => out.path = edit.apply(&self.path, false)?,
            Target::Query => out.query = Some(edit.apply(self.query.as_deref()?, false)?),
            Target::Header(name) => {
                let value = out.header_mut(name);
                *value = edit.apply(value, false)?;
            }
        }
        Some(out)
    }
}

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn b14_signing_key() -> SigningKey {
    let keys = vectors()["keys"].clone();
    let seed = keys[0]["seed_hex"].as_str().unwrap();
    SigningKey::from_bytes(&hex::decode(seed).unwrap().try_into().unwrap())
}

fn b14() -> AgentKey {
    static KEY: OnceLock<AgentKey> = OnceLock::new();
    KEY.get_or_init(|| AgentKey::from_bytes(&b14_signing_key().verifying_key().to_bytes()).unwrap())
        .clone()
}

/// npm web-bot-auth 0.1.3's request (c): `@authority`, the legacy Signature-Agent and
/// `crawler-max-price` covered.
fn npm_c() -> (Fixture, Vec<Target>) {
    let requests = vectors()["requests"].clone();
    let vector = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "npm-0.1.3-c")
        .unwrap()
        .clone();
    let fixture = Fixture {
        method: vector["method"].as_str().unwrap().into(),
        authority: vector["authority"].as_str().unwrap().into(),
        path: vector["path"].as_str().unwrap().into(),
        query: None,
        headers: serde_json::from_value(vector["headers"].clone()).unwrap(),
    };
    let targets = vec![
        Target::Authority,
        Target::Header("signature-agent"),
        Target::Header("crawler-max-price"),
    ];
    (fixture, targets)
}

/// A request signed here covering most derived components, a header and a dictionary-form
/// Signature-Agent member.
fn rich() -> (Fixture, Vec<Target>) {
    let input = concat!(
        r#"sig1=("@method" "@authority" "@path" "@query" "crawler-exact-price" "#,
        r#""signature-agent";key="me");created=1735689600;expires=1735693200;"#,
        r#"keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";nonce="bm9uY2U";tag="web-bot-auth""#
    );
    let mut fixture = Fixture {
        method: "POST".into(),
        authority: "shop.example:8443".into(),
        path: "/a/b".into(),
        query: Some("q=1&r=2".into()),
        headers: vec![
            ("crawler-exact-price".into(), "USD 0.01".into()),
            (
                "signature-agent".into(),
                r#"me="https://agent.example""#.into(),
            ),
            ("signature-input".into(), input.into()),
            (
                "signature".into(),
                format!("sig1=:{}:", STANDARD.encode([0; 64])),
            ),
        ],
    };
    let base = MessageSignature::parse(&fixture.parts(), "sig1")
        .unwrap()
        .base()
        .to_owned();
    let signature = b14_signing_key().sign(base.as_bytes()).to_bytes();
    *fixture.header_mut("signature") = format!("sig1=:{}:", STANDARD.encode(signature));
    let targets = vec![
        Target::Method,
        Target::Authority,
        Target::Path,
        Target::Query,
        Target::Header("crawler-exact-price"),
        Target::Header("signature-agent"),
    ];
    (fixture, targets)
}

/// Both fixtures, built and checked once (signing and verifying are slow in debug builds).
fn fixtures() -> Vec<(Fixture, Vec<Target>)> {
    static FIXTURES: OnceLock<Vec<(Fixture, Vec<Target>)>> = OnceLock::new();
    FIXTURES
        .get_or_init(|| {
            let fixtures = vec![npm_c(), rich()];
            for (fixture, _) in &fixtures {
                assert_eq!(fixture.verify(), Ok(()), "{fixture:?}");
            }
            fixtures
        })
        .clone()
}

fn edit() -> impl Strategy<Value = Edit> {
    // Letters and digits only: whitespace could be trimmed away, which changes nothing.
    let c = prop::char::ranges(vec!['a'..='z', '0'..='9'].into());
    prop_oneof![
        (any::<usize>(), c.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), c).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

/// Fragments of signature fields, for inputs that get past the first characters.
fn field_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("sig1=".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("\"@authority\"".to_owned()),
        Just("\"@target-uri\"".to_owned()),
        Just("\"signature-agent\"".to_owned()),
        Just(";key=\"sig1\"".to_owned()),
        Just(";created=1735689600".to_owned()),
        Just(";expires=1735693200".to_owned()),
        Just(";keyid=\"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U\"".to_owned()),
        Just(";tag=\"web-bot-auth\"".to_owned()),
        Just(";type=jwks_uri".to_owned()),
        Just("\"https://a.test\"".to_owned()),
        Just(":AAAA:".to_owned()),
        Just(" ".to_owned()),
        Just(", ".to_owned()),
        Just("\\".to_owned()),
        Just("\"".to_owned()),
        "[ -~]{0,6}",
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

/// Any text: printable ASCII, any Unicode, or bytes read as UTF-8 lossily.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        field_text(),
        "[ -~]{0,200}",
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]
}

proptest! {
    #[test]
    fn changing_any_covered_value_fails_verification(
        (which, target, edit) in (0..2usize, any::<prop::sample::Index>(), edit())
    ) {
        let (fixture, targets) = fixtures().swap_remove(which);
        let target = targets[target.index(targets.len())];
        if let Some(tampered) = fixture.tampered(target, &edit) {
            prop_assert!(tampered.verify().is_err(), "{target:?} {edit:?} verified");
        }
    }

    #[test]
    fn changing_signature_input_fails_verification_unless_every_signed_byte_is_the_same(
        (which, edit) in (0..2usize, edit())
    ) {
        let (fixture, _) = fixtures().swap_remove(which);
        let original = SignedRequest::parse(&fixture.parts()).unwrap();
        let mut tampered = fixture.clone();
        let input = tampered.header_mut("signature-input");
        let Some(changed) = edit.apply(input, false) else { return Ok(()) };
        *input = changed;
        // RFC 8941 reads some spellings alike (a leading zero on an integer); the base is
        // re-serialised, so such a change is no change to what was signed.
        if tampered.verify().is_ok() {
            let again = SignedRequest::parse(&tampered.parts()).unwrap();
            prop_assert_eq!(again.base(), original.base());
        }
    }

    #[test]
    fn reordering_dropping_or_changing_a_parameter_fails_verification(
        (which, i, j, value) in (0..2usize, any::<prop::sample::Index>(),
                                 any::<prop::sample::Index>(), "[a-z0-9]{1,8}")
    ) {
        let (fixture, _) = fixtures().swap_remove(which);
        let input = fixture.clone().header_mut("signature-input").clone();
        let close = input.rfind(')').unwrap() + 1;
        let (list, params) = input.split_at(close);
        let params: Vec<&str> = params.split(';').skip(1).collect();
        let (i, j) = (i.index(params.len()), j.index(params.len()));
        let mut variants: Vec<Vec<String>> = Vec::new();
        let owned: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
        if i != j {
            let mut swapped = owned.clone();
            swapped.swap(i, j);
            variants.push(swapped);
        }
        let mut dropped = owned.clone();
        dropped.remove(i);
        variants.push(dropped);
        let mut changed = owned.clone();
        let name = changed[i].split('=').next().unwrap().to_owned();
        changed[i] = format!("{name}={value}");
        if changed[i] != owned[i] {
            variants.push(changed);
        }
        for params in variants {
            let mut tampered = fixture.clone();
            *tampered.header_mut("signature-input") = format!("{list};{}", params.join(";"));
            prop_assert!(tampered.verify().is_err(), "{:?}", params);
        }
    }

    #[test]
    fn flipping_any_signature_bit_gives_a_bad_signature(
        (which, bit) in (0..2usize, 0..512usize)
    ) {
        let (mut fixture, _) = fixtures().swap_remove(which);
        let header = fixture.header_mut("signature");
        let mut bytes = STANDARD.decode(&header["sig1=:".len()..header.len() - 1]).unwrap();
        bytes[bit / 8] ^= 1 << (bit % 8);
        *header = format!("sig1=:{}:", STANDARD.encode(bytes));
        prop_assert_eq!(fixture.verify(), Err(Unsigned::BadSignature));
    }

    #[test]
    fn arbitrary_signature_fields_never_panic(
        (which, input, signature, agent) in
            (0..2usize, prop::option::of(any_text()), prop::option::of(any_text()),
             prop::option::of(any_text()))
    ) {
        let (mut fixture, _) = fixtures().swap_remove(which);
        for (name, value) in [
            ("signature-input", input),
            ("signature", signature),
            ("signature-agent", agent),
        ] {
            if let Some(value) = value {
                fixture.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                fixture.headers.push((name.to_owned(), value));
            }
        }
        if let Ok(signed) = SignedRequest::parse(&fixture.parts()) {
            let _ = signed.verify(&b14(), NOW, MAX_VALIDITY_S);
            let _ = signed.agent().map(|a| a.directory_url().len());
        }
        let _ = MessageSignature::parse(&fixture.parts(), "sig1");
    }

    #[test]
    fn arbitrary_request_parts_never_panic(
        method in any_text(), authority in any_text(), path in any_text(),
        query in prop::option::of(any_text()),
    ) {
        let (fixture, _) = fixtures().swap_remove(1);
        let parts = RequestParts {
            method: &method,
            scheme: "https",
            authority: &authority,
            path: &path,
            query: query.as_deref(),
            headers: &fixture.headers,
        };
        if let Ok(signed) = SignedRequest::parse(&parts) {
            let _ = signed.verify(&b14(), NOW, MAX_VALIDITY_S);
        }
    }
}
