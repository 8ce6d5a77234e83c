//! What the proxy changes on the way to the origin and back: the client's headers it keeps
//! to itself, and `Location` headers that would send the client to the origin directly.

use super::l402::is_l402_credential;
use super::{METHOD_OVERRIDE_HEADERS, PATH_OVERRIDE_HEADERS};
use crate::protocol::{PAYMENT_SIGNATURE, X_PAYMENT};
use crate::routes::{host_and_port, split_authority};

/// Whether a client's request header is passed on to the origin. Kept back: the payment
/// headers and sign-ins (`SIGN-IN-WITH-X`), L402 credentials (bearer tokens, valid until they expire; any other
/// `Authorization` is the origin's own and passes), `Host`, method and path overrides (an
/// origin framework would run the request as another method, or serve another path, than
/// the one priced), and any copy of `secret_header`, which carries the gateway's secret (the
/// proxy sets that one itself).
pub fn forwards_header(name: &str, value: &str, secret_header: &str) -> bool {
    let is = |other: &str| same_header_name(name, other);
    !(is(PAYMENT_SIGNATURE)
        || is(X_PAYMENT)
        || is(crate::siwx::SIGN_IN_WITH_X_HEADER)
        || is("host")
        || is(secret_header)
        || METHOD_OVERRIDE_HEADERS.iter().any(|h| is(h))
        || PATH_OVERRIDE_HEADERS.iter().any(|h| is(h))
        || (is("authorization") && is_l402_credential(value)))
}

/// Whether two header names are the same to an origin: in any letter case, and with `_`
/// for `-` (CGI, WSGI and PHP read `X_HTTP_Method_Override` as `X-HTTP-Method-Override`).
pub fn same_header_name(a: &str, b: &str) -> bool {
    let fold = |c: u8| match c {
        b'_' => b'-',
        c => c.to_ascii_lowercase(),
    };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

/// The `Location` a client should see for the origin's `location`: one that points into the
/// origin (its host, in either scheme, on its port or with no port where the origin URL has
/// none; or an absolute path under the origin URL's own path) is moved to the gateway's
/// `gateway_base` (`scheme://host[:port]`); `None` leaves it as it is (elsewhere, or relative
/// to the request).
pub fn rewrite_location(location: &str, origin_url: &str, gateway_base: &str) -> Option<String> {
    // Browsers read `\` as `/` in http(s) URLs: `/\api.example/x` is `//api.example/x`.
    let location = location.replace('\\', "/");
    let location = location.as_str();
    let (origin_scheme, origin_rest) = origin_url.split_once("://")?;
    let (origin_authority, origin_path) = split_authority(origin_rest);
    let origin = (origin_scheme, origin_authority);
    let path = if let Some((scheme, rest)) = location.split_once("://").filter(|(scheme, _)| {
        scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
    }) {
        let (authority, path) = split_authority(rest);
        same_host((scheme, authority), origin).then_some(path)?
    } else if let Some(rest) = location.strip_prefix("//") {
        let (authority, path) = split_authority(rest);
        same_host((origin_scheme, authority), origin).then_some(path)?
    } else if location.starts_with('/') {
        // An absolute path is the gateway's already, unless the origin URL has a path of its
        // own that it starts with.
        if origin_path.is_empty() {
            return None;
        }
        location
    } else {
        return None;
    };
    let rest = path.strip_prefix(origin_path)?;
    match rest.chars().next() {
        None => Some(format!("{gateway_base}/")),
        Some('/') => Some(format!("{gateway_base}{rest}")),
        Some('?' | '#') => Some(format!("{gateway_base}/{rest}")),
        Some(_) => None,
    }
}

/// Whether a `(scheme, authority)` is the origin's: the same host, and the same port,
/// counting a missing port as the scheme's default, or no port on either side (an origin
/// behind a TLS-terminating proxy may name itself `http://` without a port).
fn same_host((scheme, authority): (&str, &str), (origin_scheme, origin): (&str, &str)) -> bool {
    // An empty port (`host:`) is the scheme's default, as no port is.
    let written = |authority| {
        host_and_port(authority).map(|(host, port)| (host, port.filter(|p| !p.is_empty())))
    };
    let (Some((host, port)), Some((origin_host, origin_port))) =
        (written(authority), written(origin))
    else {
        return false;
    };
    let effective = |port: Option<&str>, scheme: &str| match port {
        Some(port) => port.to_owned(),
        None if scheme.eq_ignore_ascii_case("http") => "80".to_owned(),
        None => "443".to_owned(),
    };
    host.eq_ignore_ascii_case(origin_host)
        && ((port.is_none() && origin_port.is_none())
            || effective(port, scheme) == effective(origin_port, origin_scheme))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::config::{MethodOverride, OriginConfig};

    fn origin() -> OriginConfig {
        OriginConfig {
            url: "https://api.example".into(),
            secret_header: "X-Gateway-Key".into(),
            method_override: MethodOverride::Strip,
        }
    }

    #[test]
    fn the_gateways_own_headers_stay_here() {
        let origin = origin();
        for (name, value) in [
            ("PAYMENT-SIGNATURE", "e30="),
            ("x-payment", "e30="),
            ("Host", "gateway.example"),
            ("x-gateway-key", "forged"),
            ("X-HTTP-Method-Override", "DELETE"),
            ("x-http-method", "DELETE"),
            ("X-Method-Override", "PUT"),
            ("X-Original-URL", "/paid"),
            ("x-rewrite-url", "/paid"),
            ("X_HTTP_Method_Override", "DELETE"),
            ("x_original_url", "/paid"),
            ("X_Gateway_Key", "forged"),
            ("Authorization", "L402 AgEEbHNhdA:00"),
            ("authorization", "LSAT AgEEbHNhdA:00"),
        ] {
            assert!(
                !forwards_header(name, value, &origin.secret_header),
                "{name}: {value}"
            );
        }
        for (name, value) in [
            ("Authorization", "Bearer origin-token"),
            ("Accept", "application/json"),
            ("X-Request-Id", "1"),
        ] {
            assert!(
                forwards_header(name, value, &origin.secret_header),
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn locations_into_the_origin_point_at_the_gateway() {
        let gateway = "https://pay.example";
        let cases = [
            (
                "https://api.example",
                "https://api.example/next?a=1",
                Some("/next?a=1"),
            ),
            ("https://api.example", "HTTPS://API.EXAMPLE", Some("/")),
            ("https://api.example", "//api.example/x", Some("/x")),
            ("https://api.example", "/\\api.example/x", Some("/x")),
            (
                "https://api.example",
                "https:\\\\api.example\\x",
                Some("/x"),
            ),
            ("https://api.example", "/x", None),
            ("https://api.example", "next", None),
            ("https://api.example", "https://elsewhere.example/x", None),
            ("https://api.example", "https://api.example.evil/x", None),
            ("https://api.example:8443", "https://api.example/x", None),
            (
                "https://api.example:8443",
                "https://api.example:8443/x",
                Some("/x"),
            ),
            // The origin behind a TLS-terminating proxy names itself over http.
            ("https://api.example", "http://api.example/x", Some("/x")),
            (
                "https://api.example",
                "https://api.example:443/x",
                Some("/x"),
            ),
            ("https://api.example", "https://api.example:8443/x", None),
            ("https://api.example", "ftp://api.example/x", None),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/moved",
                Some("/moved"),
            ),
            ("http://[::1]:9000", "http://[::1]:9000/x", Some("/x")),
            (
                "https://api.example/v1",
                "https://api.example/v1/x",
                Some("/x"),
            ),
            (
                "https://api.example/v1",
                "https://api.example/v1?p=2",
                Some("/?p=2"),
            ),
            ("https://api.example/v1", "https://api.example/v10/x", None),
            ("https://api.example/v1", "https://api.example/other", None),
            ("https://api.example/v1", "/v1/x", Some("/x")),
            ("https://api.example/v1", "/other", None),
        ];
        for (origin, location, expected) in cases {
            let expected = expected.map(|path| format!("{gateway}{path}"));
            assert_eq!(
                rewrite_location(location, origin, gateway),
                expected,
                "{origin} {location}"
            );
        }
    }
}
