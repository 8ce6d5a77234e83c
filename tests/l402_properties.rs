//! Property tests of L402: mint → serialise → parse → verify round trips, single bit flips,
//! attenuation only ever narrowing, and parsers against arbitrary input.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use edge402::l402::caveat::{capabilities_caveat, services_caveat, valid_until_caveat};
use edge402::l402::{
    check_caveats, mint_token, verify_credential, Caveat, CaveatError, Credential, Identifier,
    L402Error, Macaroon, Preimage, RootKeySecret, Scheme, Service, TokenId, VerifiedToken,
    WwwAuthenticate,
};
use proptest::prelude::*;

/// The time every token is verified at.
const NOW: u64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------
// Strategies

fn service_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.-]{0,11}"
}

fn capability() -> impl Strategy<Value = String> {
    "[a-z]{1,8}"
}

/// An L402 token's ingredients.
#[derive(Clone, Debug)]
struct TokenSpec {
    secret: [u8; 32],
    preimage: [u8; 32],
    token_id: [u8; 32],
    service: String,
    tier: u8,
    capabilities: Vec<String>,
    valid_until: Option<u64>,
}

fn token_spec() -> impl Strategy<Value = TokenSpec> {
    (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        service_name(),
        any::<u8>(),
        prop::collection::vec(capability(), 0..4),
        prop::option::of(NOW + 1..NOW + 100_000_000),
    )
        .prop_map(
            |(secret, preimage, token_id, service, tier, capabilities, valid_until)| TokenSpec {
                secret,
                preimage,
                token_id,
                service,
                tier,
                capabilities,
                valid_until,
            },
        )
}

impl TokenSpec {
    fn secret(&self) -> RootKeySecret {
        RootKeySecret::new(&self.secret).unwrap()
    }

    fn preimage(&self) -> Preimage {
        Preimage(self.preimage)
    }

    fn identifier(&self) -> Identifier {
        Identifier {
            payment_hash: self.preimage().payment_hash(),
            token_id: TokenId(self.token_id),
        }
    }

    fn mint(&self) -> Macaroon {
        let capabilities: Vec<&str> = self.capabilities.iter().map(String::as_str).collect();
        mint_token(
            &self.secret().root_key(&self.identifier()),
            &self.identifier(),
            &Service::new(self.service.clone(), self.tier).unwrap(),
            &capabilities,
            self.valid_until,
        )
    }

    /// The same token with another location (which no signature covers).
    fn mint_at(&self, location: Option<&str>) -> Macaroon {
        let mut macaroon = Macaroon::mint(
            &self.secret().root_key(&self.identifier()).0,
            self.identifier().to_bytes().to_vec(),
            location,
        );
        for caveat in self.mint().caveats() {
            macaroon.add_first_party_caveat(caveat.id().to_vec());
        }
        macaroon
    }

    fn credential(&self, macaroon: Macaroon) -> Credential {
        Credential {
            scheme: Scheme::L402,
            macaroon,
            discharges: vec![],
            preimage: self.preimage(),
        }
    }

    fn verify(&self, credential: &Credential) -> Result<VerifiedToken, L402Error> {
        let secret = self.secret();
        verify_credential(credential, |id| secret.root_key(id), &self.service, NOW)
    }
}

/// Text assembled from the pieces of L402 headers, to reach past the first checks.
fn header_like(pieces: Vec<&'static str>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(pieces), 0..24).prop_map(|parts| parts.concat())
}

const SAMPLE_MACAROON: &str = "AgEEbHNhdAJCAACuIWwu9SR6N4LBNe+ieaPkzcYQlCcPXSvljGIEt6YSyUBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAhdteXNlcnZpY2VfY2FwYWJpbGl0aWVzPQACIG15c2VydmljZV92YWxpZF91bnRpbD0xODkzNDU2MDAwAAAGIDekwbPny1CKjEZ7WTVimqc/gXoZbjTXYQSlAQ0G8q3o";
const SAMPLE_PREIMAGE: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

// ---------------------------------------------------------------------------------------
// Round trips

proptest! {
    #[test]
    fn mint_serialise_parse_verify_round_trip(
        root_key in prop::collection::vec(any::<u8>(), 0..64),
        identifier in prop::collection::vec(any::<u8>(), 0..100),
        location in prop::option::of(".{0,12}"),
        caveats in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 0..8),
    ) {
        let mut macaroon = Macaroon::mint(&root_key, identifier, location.as_deref());
        for caveat in &caveats {
            macaroon.add_first_party_caveat(caveat.clone());
        }
        let binary = macaroon.to_binary();
        let parsed = Macaroon::from_binary(&binary).unwrap();
        prop_assert_eq!(&parsed, &macaroon);
        prop_assert_eq!(parsed.to_binary(), binary);
        prop_assert_eq!(Macaroon::from_base64(&macaroon.to_base64()).unwrap(), macaroon.clone());
        prop_assert_eq!(Macaroon::from_base64(&macaroon.to_base64_url()).unwrap(), macaroon.clone());
        prop_assert_eq!(parsed.verify_signature(&root_key), Ok(()));
        let mut other_key = root_key.clone();
        other_key.push(0);
        prop_assert!(parsed.verify_signature(&other_key).is_err());
    }

    #[test]
    fn l402_token_round_trips_through_the_header(spec in token_spec(), lsat in any::<bool>()) {
        let mut credential = spec.credential(spec.mint());
        if lsat {
            credential.scheme = Scheme::Lsat;
        }
        let parsed = Credential::from_header(&credential.to_header()).unwrap();
        prop_assert_eq!(&parsed, &credential);
        let token = spec.verify(&parsed).unwrap();
        prop_assert_eq!(token.identifier, spec.identifier());
        prop_assert_eq!(token.grant.service, Service::new(spec.service.clone(), spec.tier).unwrap());
        prop_assert_eq!(token.grant.valid_until, spec.valid_until);
        prop_assert_eq!(token.grant.capabilities, Some(spec.capabilities.clone()));
    }
}

// ---------------------------------------------------------------------------------------
// Single bit flips

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every bit of the serialised token, flipped alone, makes it fail to parse or to verify.
    /// The one exception is the location text, which no signature covers (go-macaroon and
    /// libmacaroons treat it as a hint): a flip there may verify, and then changes nothing
    /// but the location.
    #[test]
    fn any_flipped_bit_in_the_macaroon_is_rejected(spec in token_spec(), location in prop::option::of("[a-z]{0,8}")) {
        let original = spec.mint_at(location.as_deref());
        prop_assert!(spec.verify(&spec.credential(original.clone())).is_ok());
        let binary = original.to_binary();
        // version, field type, one length byte, then the location's text.
        let location_text = 3..3 + original.location().map_or(0, str::len);
        for byte in 0..binary.len() {
            for bit in 0..8 {
                let mut flipped = binary.clone();
                flipped[byte] ^= 1 << bit;
                let Ok(macaroon) = Macaroon::from_binary(&flipped) else { continue };
                if spec.verify(&spec.credential(macaroon.clone())).is_err() {
                    continue;
                }
                prop_assert!(location_text.contains(&byte), "byte {} bit {} accepted", byte, bit);
                prop_assert_ne!(macaroon.location(), original.location());
                prop_assert_eq!(macaroon.identifier(), original.identifier());
                prop_assert_eq!(macaroon.caveats(), original.caveats());
                prop_assert_eq!(macaroon.signature(), original.signature());
            }
        }
    }

    #[test]
    fn any_flipped_bit_in_the_preimage_is_rejected(spec in token_spec()) {
        let credential = spec.credential(spec.mint());
        prop_assert!(spec.verify(&credential).is_ok());
        for bit in 0..256 {
            let mut flipped = credential.clone();
            flipped.preimage.0[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(spec.verify(&flipped), Err(L402Error::WrongPreimage));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Attenuation

/// A token for several services with expiry and capabilities, and narrower and wider values.
#[derive(Clone, Debug)]
struct Attenuation {
    spec: TokenSpec,
    services: Vec<String>,
    capabilities: BTreeSet<String>,
    valid_until: u64,
}

fn attenuation() -> impl Strategy<Value = Attenuation> {
    (
        token_spec(),
        prop::collection::btree_set(service_name(), 1..5),
        prop::collection::btree_set(capability(), 0..5),
        NOW + 1..NOW + 100_000_000,
    )
        .prop_flat_map(|(spec, services, capabilities, valid_until)| {
            let services: Vec<String> = services.into_iter().collect();
            (0..services.len()).prop_map(move |target| {
                let mut spec = spec.clone();
                spec.service = services[target].clone();
                spec.tier = 0;
                Attenuation {
                    spec,
                    services: services.clone(),
                    capabilities: capabilities.clone(),
                    valid_until,
                }
            })
        })
}

impl Attenuation {
    fn service(&self, name: &str) -> Service {
        Service::new(name, 0).unwrap()
    }

    fn target(&self) -> Service {
        self.service(&self.spec.service)
    }

    fn services_caveat(&self, names: &[String]) -> String {
        let services: Vec<Service> = names.iter().map(|name| self.service(name)).collect();
        services_caveat(&services)
    }

    fn capabilities_caveat(&self, capabilities: &BTreeSet<String>) -> String {
        let list: Vec<&str> = capabilities.iter().map(String::as_str).collect();
        capabilities_caveat(&self.target(), &list)
    }

    /// The token as issued: the services, capabilities and expiry caveats.
    fn issued(&self) -> Macaroon {
        let spec = &self.spec;
        let mut macaroon = Macaroon::mint(
            &spec.secret().root_key(&spec.identifier()).0,
            spec.identifier().to_bytes().to_vec(),
            Some("lsat"),
        );
        macaroon.add_first_party_caveat(self.services_caveat(&self.services));
        macaroon.add_first_party_caveat(self.capabilities_caveat(&self.capabilities));
        macaroon.add_first_party_caveat(valid_until_caveat(&self.target(), self.valid_until));
        macaroon
    }

    /// Verifies the issued token with `caveat` appended by its holder.
    fn verify_with(&self, caveat: String) -> Result<VerifiedToken, L402Error> {
        let mut macaroon = self.issued();
        macaroon.add_first_party_caveat(caveat);
        self.spec.verify(&self.spec.credential(macaroon))
    }
}

/// The index an appended caveat gets.
const APPENDED: usize = 3;

proptest! {
    #[test]
    fn appending_a_wider_caveat_fails(
        case in attenuation(),
        new_service in "[A-Z]{1,6}",
        new_capability in "[A-Z]{1,6}",
        later in 1..1_000_000u64,
    ) {
        prop_assert!(case.verify_with("unrelated=1".into()).is_ok());

        let mut services = case.services.clone();
        services.push(new_service);
        prop_assert_eq!(
            case.verify_with(case.services_caveat(&services)),
            Err(L402Error::Caveat(CaveatError::ServicesWidened { index: APPENDED }))
        );

        let mut capabilities = case.capabilities.clone();
        capabilities.insert(new_capability.clone());
        prop_assert_eq!(
            case.verify_with(case.capabilities_caveat(&capabilities)),
            Err(L402Error::Caveat(CaveatError::CapabilitiesWidened {
                index: APPENDED,
                capability: new_capability,
            }))
        );

        prop_assert_eq!(
            case.verify_with(valid_until_caveat(&case.target(), case.valid_until + later)),
            Err(L402Error::Caveat(CaveatError::ValidUntilWidened {
                index: APPENDED,
                previous: case.valid_until,
                current: case.valid_until + later,
            }))
        );
    }

    #[test]
    fn appending_a_narrower_caveat_keeps_the_token_valid_while_the_target_remains(
        case in attenuation(),
        keep in prop::collection::vec(any::<bool>(), 5),
        earlier_fraction in 0.0..1.0f64,
    ) {
        // Services: any subset, with or without the target.
        let subset: Vec<String> = case
            .services
            .iter()
            .zip(&keep)
            .filter(|(_, keep)| **keep)
            .map(|(name, _)| name.clone())
            .collect();
        if !subset.is_empty() {
            let result = case.verify_with(case.services_caveat(&subset));
            if subset.contains(&case.spec.service) {
                prop_assert_eq!(result.unwrap().grant.service, case.target());
            } else {
                prop_assert_eq!(
                    result,
                    Err(L402Error::Caveat(CaveatError::ServiceNotAllowed {
                        service: case.spec.service.clone(),
                    }))
                );
            }
        }

        // Capabilities: any subset.
        let capabilities: BTreeSet<String> = case
            .capabilities
            .iter()
            .zip(keep.iter().rev())
            .filter(|(_, keep)| **keep)
            .map(|(capability, _)| capability.clone())
            .collect();
        let token = case.verify_with(case.capabilities_caveat(&capabilities)).unwrap();
        let expected: Vec<String> = capabilities.into_iter().collect();
        prop_assert_eq!(token.grant.capabilities, Some(expected));

        // Expiry: any earlier time, valid only while still after now.
        let span = (case.valid_until - NOW + 10) as f64;
        let earlier = case.valid_until - (span * earlier_fraction) as u64;
        let result = case.verify_with(valid_until_caveat(&case.target(), earlier));
        if earlier > NOW {
            prop_assert_eq!(result.unwrap().grant.valid_until, Some(earlier));
        } else {
            prop_assert_eq!(
                result,
                Err(L402Error::Caveat(CaveatError::Expired { valid_until: earlier, now: NOW }))
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsers against arbitrary input

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn binary_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Macaroon::from_binary(&bytes);
        let _ = Identifier::from_bytes(&bytes);
    }

    /// Edits of a valid macaroon: whatever still parses is written back byte for byte (the
    /// parser accepts one encoding per value).
    #[test]
    fn edited_macaroons_parse_only_canonically(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
    ) {
        let mut bytes = Macaroon::from_base64(SAMPLE_MACAROON).unwrap().to_binary();
        for (index, byte, kind) in edits {
            let at = index.index(bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
        }
        if let Ok(macaroon) = Macaroon::from_binary(&bytes) {
            prop_assert_eq!(macaroon.to_binary(), bytes);
        }
    }

    #[test]
    fn text_parsers_never_panic(text in any::<String>()) {
        let _ = Macaroon::from_base64(&text);
        let _ = Preimage::from_hex(&text);
        let _ = WwwAuthenticate::from_header(&text);
        if let Ok(credential) = Credential::from_header(&text) {
            prop_assert_eq!(Credential::from_header(&credential.to_header()).unwrap(), credential);
        }
    }

    #[test]
    fn base64_parser_never_panics(text in "[A-Za-z0-9+/=_-]{0,400}") {
        let _ = Macaroon::from_base64(&text);
    }

    #[test]
    fn credential_parser_never_panics_on_header_like_text(text in header_like(vec![
        "L402", "LSAT", "l402 ", " ", "\t", ",", ", ", ":", "=", "AgE", SAMPLE_MACAROON,
        SAMPLE_PREIMAGE, "00", "é", "\u{0}",
    ])) {
        if let Ok(credential) = Credential::from_header(&text) {
            prop_assert_eq!(Credential::from_header(&credential.to_header()).unwrap(), credential);
        }
    }

    #[test]
    fn challenge_parser_never_panics_on_header_like_text(text in header_like(vec![
        "LSAT", "L402", " ", ",", ", ", "macaroon", "token", "invoice", "=", "\"", "\\",
        SAMPLE_MACAROON, "lnbc1", "é", "\u{0}",
    ])) {
        if let Ok(challenge) = WwwAuthenticate::from_header(&text) {
            let [value, _] = edge402::l402::challenge_values(
                &challenge.macaroon,
                challenge.invoice.as_deref().unwrap_or_default(),
            );
            prop_assert_eq!(WwwAuthenticate::from_header(&value).unwrap().macaroon, challenge.macaroon);
        }
    }

    #[test]
    fn caveat_checks_never_panic(
        ids in prop::collection::vec(header_like(vec![
            "services", "svc", "svc_valid_until", "svc_capabilities", "=", ":", ",", "0",
            "255", "256", "18446744073709551615", "-", "é",
        ]), 0..6),
        raw in prop::collection::vec(any::<u8>(), 0..20),
        now in any::<u64>(),
    ) {
        let mut caveats: Vec<Caveat> =
            ids.into_iter().map(|id| Caveat::FirstParty { id: id.into_bytes() }).collect();
        caveats.push(Caveat::FirstParty { id: raw });
        let _ = check_caveats(&caveats, "svc", now);
    }
}
