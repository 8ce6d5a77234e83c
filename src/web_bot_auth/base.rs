//! Covered components and the signature base (RFC 9421 §2.1, §2.2, §2.5).
//!
//! A component is checked once ([`Component::from_item`]) and its value computed from the
//! request as RFC 9421 defines it. What this verifier does not compute (`;req`, `;sf`, `;bs`,
//! `;tr`, `;name`, `@query-param`, `@status`, unknown derived components) is refused, never
//! approximated: a base that differs from the signer's only fails later, as a bad signature,
//! and says less about why.

use super::sf::{self, Bare, Item};
use super::{RequestParts, Unsigned, SIGNATURE_AGENT};

/// Longest signature base built, in bytes. The gateway's header limit (16 KiB in all) keeps
/// real bases far below; this bounds what a request with a long URL and many covered fields
/// makes us allocate.
pub const MAX_BASE_LEN: usize = 32 * 1024;

/// A covered component, as understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Component {
    /// A derived component (RFC 9421 §2.2).
    Derived(Derived),
    /// A whole HTTP field: every instance, trimmed, joined by `", "` (§2.1).
    Field(String),
    /// One member of a Dictionary field, `;key="…"` (§2.1.2).
    Member {
        /// The field's (lowercase) name.
        name: String,
        /// The member's key.
        key: String,
    },
}

/// The derived components this verifier computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Derived {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
}

impl Component {
    /// Reads a component identifier from Signature-Input: an sf-string naming a derived
    /// component (with no parameters) or a lowercase field name (with at most `key`).
    pub(crate) fn from_item(item: &Item) -> Result<Self, Unsigned> {
        let Bare::String(name) = &item.bare else {
            return Err(malformed("a covered component is not a string"));
        };
        if let Some(derived) = name.strip_prefix('@') {
            if !item.params.is_empty() {
                return Err(unsupported(item));
            }
            let derived = match derived {
                "method" => Derived::Method,
                "target-uri" => Derived::TargetUri,
                "authority" => Derived::Authority,
                "scheme" => Derived::Scheme,
                "request-target" => Derived::RequestTarget,
                "path" => Derived::Path,
                "query" => Derived::Query,
                // `@query-param` (decoding rules this verifier does not carry), `@status`
                // (responses only), and anything unregistered.
                _ => return Err(unsupported(item)),
            };
            return Ok(Self::Derived(derived));
        }
        // §2.1: a field's component name is its lowercased name.
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| sf::is_tchar(b) && !b.is_ascii_uppercase())
        {
            return Err(malformed("a covered field name is not a lowercase token"));
        }
        match item.params.as_slice() {
            [] => Ok(Self::Field(name.clone())),
            [(param, Bare::String(key))] if param == "key" => Ok(Self::Member {
                name: name.clone(),
                key: key.clone(),
            }),
            // `req`, `sf`, `bs`, `tr`, a non-string `key`, or several parameters.
            _ => Err(unsupported(item)),
        }
    }
}

/// Builds the signature base (§2.5): one line per covered component, in order, then the
/// `@signature-params` line, lines joined by LF with none after the last.
///
/// `@signature-params` is the inner list re-serialised (RFC 8941 §4.1) from what was parsed,
/// in the order received: that is what §3.2 step 7 prescribes, and what a signer that
/// serialised canonically signed. For canonical input it is byte for byte the raw text after
/// `label=` (what Cloudflare's npm `http-message-sig` reuses); for input with optional
/// whitespace it is the canonical form, as in Cloudflare's Rust crate.
pub(crate) fn signature_base(
    parts: &RequestParts<'_>,
    items: &[Item],
    components: &[Component],
    params: &sf::Params,
) -> Result<String, Unsigned> {
    let mut base = String::new();
    for (item, component) in items.iter().zip(components) {
        let start = base.len();
        sf::write_item(&mut base, item);
        let identifier_end = base.len();
        base.push_str(": ");
        let value_start = base.len();
        write_value(&mut base, parts, component).map_err(|error| match error {
            ValueError::Missing => Unsigned::MissingField {
                component: base[start..identifier_end].to_owned(),
            },
            ValueError::Unsigned(unsigned) => unsigned,
        })?;
        // §2.1, §2.2: a value holds no line break; HTTP fields hold no other control
        // character but HTAB either. Checked here so that no component escapes its line.
        if base[value_start..]
            .bytes()
            .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(Unsigned::BadComponentValue {
                component: base[start..identifier_end].to_owned(),
            });
        }
        base.push('\n');
        if base.len() > MAX_BASE_LEN {
            return Err(too_long());
        }
    }
    base.push_str("\"@signature-params\": ");
    sf::write_inner_list(&mut base, items, params);
    if base.len() > MAX_BASE_LEN {
        return Err(too_long());
    }
    Ok(base)
}

/// The value of a whole field (§2.1): every instance, stripped of leading and trailing
/// whitespace, joined by `", "`; `None` when the request has none.
pub(crate) fn field_value(parts: &RequestParts<'_>, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for instance in parts.field_instances(name) {
        let out = match &mut value {
            Some(out) => {
                out.push_str(", ");
                out
            }
            None => value.insert(String::new()),
        };
        out.push_str(instance.trim_matches([' ', '\t']));
    }
    value
}

/// A field's instances combined for RFC 8941 parsing (§4.2: lines joined by commas; empty
/// lines add no member), refused when longer than [`super::MAX_FIELD_LEN`].
pub(crate) fn structured_value(
    parts: &RequestParts<'_>,
    name: &str,
    field: &'static str,
) -> Result<Option<String>, Unsigned> {
    let mut value: Option<String> = None;
    for instance in parts.field_instances(name) {
        let instance = instance.trim_matches([' ', '\t']);
        let out = value.get_or_insert_with(String::new);
        if instance.is_empty() {
            continue;
        }
        if out.len() + instance.len() + 2 > super::MAX_FIELD_LEN {
            return Err(Unsigned::Malformed {
                field,
                detail: "the field is longer than 8 KiB",
            });
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(instance);
    }
    Ok(value)
}

/// Why a value could not be written.
enum ValueError {
    /// The field, or its dictionary member, is absent.
    Missing,
    /// Anything else.
    Unsigned(Unsigned),
}

impl From<Unsigned> for ValueError {
    fn from(unsigned: Unsigned) -> Self {
        Self::Unsigned(unsigned)
    }
}

/// Appends a component's value (§2.1, §2.2).
fn write_value(
    out: &mut String,
    parts: &RequestParts<'_>,
    component: &Component,
) -> Result<(), ValueError> {
    match component {
        Component::Derived(derived) => write_derived(out, parts, *derived)?,
        Component::Field(name) => {
            out.push_str(&field_value(parts, name).ok_or(ValueError::Missing)?)
        }
        Component::Member { name, key } => {
            let field = if name == SIGNATURE_AGENT {
                "Signature-Agent"
            } else {
                "a covered dictionary field"
            };
            let value = structured_value(parts, name, field)?.ok_or(ValueError::Missing)?;
            let dictionary = sf::parse_dictionary(&value)
                .map_err(|detail| Unsigned::Malformed { field, detail })?;
            let (_, member) = dictionary
                .iter()
                .find(|(k, _)| k == key)
                .ok_or(ValueError::Missing)?;
            sf::write_member(out, member);
        }
    }
    Ok(())
}

/// Appends a derived component's value (§2.2).
fn write_derived(
    out: &mut String,
    parts: &RequestParts<'_>,
    derived: Derived,
) -> Result<(), Unsigned> {
    let bad = |name: &str| Unsigned::BadComponentValue {
        component: format!("\"{name}\""),
    };
    match derived {
        // §2.2.1: as sent, case-sensitive.
        Derived::Method => {
            if parts.method.is_empty() {
                return Err(bad("@method"));
            }
            out.push_str(parts.method);
        }
        // §2.2.2: the absolute URI, here rebuilt from its parts (RFC 9110 §7.1) with the
        // authority normalised as for `@authority`, as a URL parser gives it.
        Derived::TargetUri => {
            write_scheme(out, parts.scheme);
            out.push_str("://");
            write_authority(out, parts).map_err(|()| bad("@target-uri"))?;
            write_path(out, parts.path);
            if let Some(query) = parts.query {
                out.push('?');
                out.push_str(query);
            }
        }
        // §2.2.3: host lowercased, the scheme's default port dropped (RFC 9110 §4.2.3).
        Derived::Authority => write_authority(out, parts).map_err(|()| bad("@authority"))?,
        // §2.2.4: lowercased.
        Derived::Scheme => write_scheme(out, parts.scheme),
        // §2.2.5: origin-form, the path and query as received.
        Derived::RequestTarget => {
            write_path(out, parts.path);
            if let Some(query) = parts.query {
                out.push('?');
                out.push_str(query);
            }
        }
        // §2.2.6: an empty path is `/`; no decoding.
        Derived::Path => write_path(out, parts.path),
        // §2.2.7: with its `?`; no query is `?` alone.
        Derived::Query => {
            out.push('?');
            out.push_str(parts.query.unwrap_or(""));
        }
    }
    Ok(())
}

fn write_scheme(out: &mut String, scheme: &str) {
    push_lowercase(out, scheme);
}

/// Appends `text` with ASCII letters lowercased.
pub(crate) fn push_lowercase(out: &mut String, text: &str) {
    let start = out.len();
    out.push_str(text);
    out[start..].make_ascii_lowercase();
}

fn write_path(out: &mut String, path: &str) {
    out.push_str(if path.is_empty() { "/" } else { path });
}

/// Appends the normalised authority: lowercase host, and the port unless it is the scheme's
/// default (or empty). Fails on an empty host.
fn write_authority(out: &mut String, parts: &RequestParts<'_>) -> Result<(), ()> {
    let (host, port) = split_port(parts.authority);
    if host.is_empty() {
        return Err(());
    }
    push_lowercase(out, host);
    if let Some(port) = port {
        let default = match parts.scheme.to_ascii_lowercase().as_str() {
            "https" => "443",
            "http" => "80",
            _ => "",
        };
        if !port.is_empty() && port != default {
            out.push(':');
            out.push_str(port);
        }
    }
    Ok(())
}

/// Splits `host[:port]` (an IPv6 host in brackets) at its port, if it has one.
pub(crate) fn split_port(authority: &str) -> (&str, Option<&str>) {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.rfind(':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    match rest.strip_prefix(':') {
        Some(port) if port.bytes().all(|b| b.is_ascii_digit()) => (host, Some(port)),
        None if rest.is_empty() => (host, None),
        // Not a port: keep it all as the host, and let the signature decide.
        _ => (authority, None),
    }
}

fn unsupported(item: &Item) -> Unsigned {
    let mut component = String::new();
    sf::write_item(&mut component, item);
    Unsigned::UnsupportedComponent { component }
}

fn malformed(detail: &'static str) -> Unsigned {
    Unsigned::Malformed {
        field: "Signature-Input",
        detail,
    }
}

fn too_long() -> Unsigned {
    Unsigned::Malformed {
        field: "request",
        detail: "the signature base would be longer than 32 KiB",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(parts: &RequestParts<'_>, derived: Derived) -> String {
        let mut out = String::new();
        write_derived(&mut out, parts, derived).unwrap();
        out
    }

    fn parts<'a>(
        scheme: &'a str,
        authority: &'a str,
        path: &'a str,
        query: Option<&'a str>,
    ) -> RequestParts<'a> {
        RequestParts {
            method: "POST",
            scheme,
            authority,
            path,
            query,
            headers: &[],
        }
    }

    #[test]
    fn derived_components_have_the_values_of_rfc_9421_section_2_2() {
        // §2.2's running example: POST https://www.example.com/path?param=value
        let p = parts("https", "www.example.com", "/path", Some("param=value"));
        assert_eq!(value(&p, Derived::Method), "POST");
        assert_eq!(
            value(&p, Derived::TargetUri),
            "https://www.example.com/path?param=value"
        );
        assert_eq!(value(&p, Derived::Authority), "www.example.com");
        assert_eq!(value(&p, Derived::Scheme), "https");
        assert_eq!(value(&p, Derived::RequestTarget), "/path?param=value");
        assert_eq!(value(&p, Derived::Path), "/path");
        assert_eq!(value(&p, Derived::Query), "?param=value");
    }

    #[test]
    fn an_absent_query_is_a_lone_question_mark_and_an_empty_path_a_slash() {
        // §2.2.7 and §2.2.6.
        let p = parts("HTTPS", "Example.COM:443", "", None);
        assert_eq!(value(&p, Derived::Query), "?");
        assert_eq!(value(&p, Derived::Path), "/");
        assert_eq!(value(&p, Derived::Scheme), "https");
        assert_eq!(value(&p, Derived::TargetUri), "https://example.com/");
    }

    #[test]
    fn the_authority_keeps_a_port_other_than_the_schemes_default() {
        for (scheme, authority, expected) in [
            ("https", "example.com:8443", "example.com:8443"),
            ("https", "example.com:443", "example.com"),
            ("https", "example.com:80", "example.com:80"),
            ("http", "example.com:80", "example.com"),
            ("https", "example.com:", "example.com"),
            ("https", "[::1]:443", "[::1]"),
            ("https", "[::1]:8443", "[::1]:8443"),
        ] {
            let p = parts(scheme, authority, "/", None);
            assert_eq!(value(&p, Derived::Authority), expected, "{authority}");
        }
        let mut out = String::new();
        assert_eq!(
            write_authority(&mut out, &parts("https", ":443", "/", None)),
            Err(())
        );
    }

    #[test]
    fn field_instances_are_trimmed_and_joined_with_a_comma_and_space() {
        // §2.1: "example-dict": a=1,    b=2 keeps inner whitespace; instances are joined.
        let headers = [
            ("Example-Dict".to_owned(), "  a=1,    b=2 ".to_owned()),
            ("x-empty".to_owned(), String::new()),
            ("example-dict".to_owned(), "c=3".to_owned()),
        ];
        let p = RequestParts {
            headers: &headers,
            ..parts("https", "a", "/", None)
        };
        assert_eq!(
            field_value(&p, "example-dict").as_deref(),
            Some("a=1,    b=2, c=3")
        );
        assert_eq!(field_value(&p, "x-empty").as_deref(), Some(""));
        assert_eq!(field_value(&p, "absent"), None);
    }
}
