//! The L402 decoders of untrusted input: `Authorization` credentials, `WWW-Authenticate`
//! challenges, macaroons in base64 and binary form, token identifiers, and credential
//! verification under a fixed root secret.
//!
//! Besides "never panics": a macaroon that decodes serialises back to one that decodes to
//! the same identifier and caveats (its binary form byte for byte), an identifier prints
//! back to itself, and a credential verifies only if its preimage pays its hash.

#![no_main]

use libfuzzer_sys::fuzz_target;

use edge402::l402::{
    check_caveats, verify_credential, Credential, Identifier, Macaroon, RootKeySecret,
    WwwAuthenticate,
};

/// The fixed clock tokens are checked at.
const NOW: u64 = 1_750_000_000;

fn root() -> RootKeySecret {
    RootKeySecret::new(&[0x42; 32]).expect("32 bytes")
}

fn macaroon_round_trip(macaroon: &Macaroon) {
    let again =
        Macaroon::from_base64(&macaroon.to_base64()).expect("a re-encoded macaroon decodes");
    assert_eq!(again.identifier(), macaroon.identifier());
    assert_eq!(again.caveats(), macaroon.caveats());
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(credential) = Credential::from_header(&text) {
        macaroon_round_trip(&credential.macaroon);
        let root = root();
        let verdict = verify_credential(&credential, |id| root.root_key(id), "weather", NOW);
        if verdict.is_ok() {
            let identifier = Identifier::from_bytes(credential.macaroon.identifier())
                .expect("a verified token has an identifier");
            assert!(credential.preimage.pays(&identifier.payment_hash));
        }
    }
    let _ = WwwAuthenticate::from_header(&text);
    if let Ok(macaroon) = Macaroon::from_base64(&text) {
        macaroon_round_trip(&macaroon);
        let _ = check_caveats(macaroon.caveats(), "weather", NOW);
    }
    if let Ok(macaroon) = Macaroon::from_binary(data) {
        // The binary form is written back byte for byte.
        assert_eq!(macaroon.to_binary(), data);
        macaroon_round_trip(&macaroon);
    }
    if let Ok(identifier) = Identifier::from_bytes(data) {
        assert_eq!(
            Identifier::from_bytes(&identifier.to_bytes()),
            Ok(identifier)
        );
    }
});
