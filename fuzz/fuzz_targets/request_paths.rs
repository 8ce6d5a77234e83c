//! What the gateway reads from a request's URL and addresses before any payment: the path
//! canonicaliser that every route match runs on, the URL splitter, pattern matching, the
//! client bucket of the allowances, and the `Location` rewrite of proxied redirects.
//!
//! Properties besides "never panics": a canonical path is a fixed point (parsing it again
//! gives itself), holds none of the spellings that are refused (so no origin can fold it into
//! another path), and matches a pattern exactly when its re-parse does; a rewritten
//! `Location` always points at the gateway.

#![no_main]

use libfuzzer_sys::fuzz_target;

use edge402::gate::forward::rewrite_location;
use edge402::gate::limits::client_bucket;
use edge402::routes::{CanonicalPath, PathPattern, UrlParts};

const GATEWAY: &str = "https://pay.example";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(path) = CanonicalPath::parse(&text) {
        let canonical = path.as_str();
        let again = CanonicalPath::parse(canonical).expect("a canonical path parses again");
        assert_eq!(again.as_str(), canonical, "canonicalisation is idempotent");
        assert!(!canonical.contains(['\\', ';', '\0']));
        assert!(!canonical.bytes().any(|b| b.is_ascii_control()));
        for segment in path.segments() {
            assert!(
                !segment.ends_with(['.', ' ']) && !segment.ends_with("%20"),
                "{segment:?}"
            );
            assert!(segment != "." && segment != "..");
        }
        for pattern in ["/api/*", "/reports/:id", "/", "/API/x"] {
            let pattern = PathPattern::parse(pattern).expect("a valid pattern");
            for case_sensitive in [false, true] {
                assert_eq!(
                    pattern.matches(&path, case_sensitive),
                    pattern.matches(&again, case_sensitive)
                );
            }
        }
    }
    let url = format!("https://gateway.example{text}");
    let parts = UrlParts::split(&url);
    assert!(parts.path.starts_with('/'));
    let _ = CanonicalPath::parse(parts.path);
    let _ = client_bucket(Some(&text));
    for origin in ["https://api.example", "https://api.example/v1"] {
        if let Some(location) = rewrite_location(&text, origin, GATEWAY) {
            assert!(location.starts_with(GATEWAY), "{location}");
            assert_eq!(location.as_bytes().get(GATEWAY.len()), Some(&b'/'));
        }
    }
});
