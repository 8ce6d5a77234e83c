//! Route patterns and matching on the canonical path.
//!
//! A paid path must not be reachable unpaid through another spelling of it (an advisory
//! against a reference middleware, GHSA-3j63-5h8p-gf7c, was exactly that), so matching runs on
//! a canonical form, and the origin receives that same form:
//! - percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded, other
//!   escapes are kept with upper-case hex;
//! - an encoded slash or backslash (`%2F`, `%5C`), a NUL or other control character, a
//!   literal backslash, a `;` (path parameters, which some origins strip), a segment ending in
//!   `.` or a space (which Windows servers and some frameworks strip) or an invalid escape is
//!   refused ([`PathError`], answered with 400);
//! - dot segments are resolved and repeated slashes collapsed;
//! - a trailing slash is kept for the origin but ignored by matching;
//! - literal pattern segments compare case-insensitively unless configured otherwise.

use core::fmt;

/// Why a request path is refused before any matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// `%2F` or `%5C`: an escaped separator that origins disagree about.
    EncodedSeparator,
    /// A literal backslash, which some servers treat as a separator.
    Backslash,
    /// A NUL byte, escaped or not.
    Nul,
    /// Another control character (`%01`-`%1F`, `%7F`), escaped or not: tabs and line breaks
    /// are trimmed or folded by some origins.
    ControlCharacter,
    /// A segment ending in `.` or a space (other than the dot segments `.` and `..`): IIS,
    /// Windows file systems and some frameworks strip these, so `/paid.` or `/paid%20` would
    /// be `/paid` there without matching it here.
    TrailingDotOrSpace,
    /// A segment ending in `::$DATA` (any case): NTFS's default data stream, so IIS serves
    /// `/paid::$DATA` as `/paid`.
    AlternateDataStream,
    /// `%` not followed by two hex digits.
    InvalidEscape,
    /// A `;`: some origins (Tomcat, Spring) strip `;parameters` from segments, so
    /// `/paid;x/y` could reach `/paid/y` there without matching it here.
    PathParameter,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "path does not start with /",
            Self::EncodedSeparator => "path contains an encoded slash or backslash",
            Self::Backslash => "path contains a backslash",
            Self::Nul => "path contains a NUL byte",
            Self::ControlCharacter => "path contains a control character",
            Self::TrailingDotOrSpace => "a path segment ends in '.' or a space",
            Self::AlternateDataStream => "a path segment ends in ::$DATA",
            Self::InvalidEscape => "path contains an invalid percent-escape",
            Self::PathParameter => "path contains ';' (path parameters are refused)",
        })
    }
}

impl std::error::Error for PathError {}

/// A request path in canonical form (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalPath {
    path: String,
}

impl CanonicalPath {
    /// Canonicalises the path part of a request URL (without the query).
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if !raw.starts_with('/') {
            return Err(PathError::NotAbsolute);
        }
        let decoded = decode_unreserved(raw)?;
        let mut segments: Vec<&str> = Vec::new();
        for segment in decoded.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s if s.ends_with(['.', ' ']) || s.ends_with("%20") => {
                    return Err(PathError::TrailingDotOrSpace)
                }
                s if ends_with_data_stream(s) => return Err(PathError::AlternateDataStream),
                s => segments.push(s),
            }
        }
        let trailing =
            decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
        let mut path = String::with_capacity(decoded.len());
        for segment in &segments {
            path.push('/');
            path.push_str(segment);
        }
        if path.is_empty() || trailing {
            path.push('/');
        }
        Ok(Self { path })
    }

    /// The canonical path, as the origin receives it.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The non-empty segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|s| !s.is_empty())
    }
}

impl fmt::Display for CanonicalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

/// Whether a segment ends in `::$DATA`, in any case, with `:` and `$` escaped or not (the
/// origin decodes them).
fn ends_with_data_stream(segment: &str) -> bool {
    if !segment.ends_with(['a', 'A']) {
        return false;
    }
    let folded = segment
        .to_ascii_lowercase()
        .replace("%3a", ":")
        .replace("%24", "$");
    folded.ends_with("::$data")
}

/// Decodes the escapes of unreserved characters, normalises the others to upper-case hex, and
/// refuses the escapes and bytes listed on [`PathError`].
fn decode_unreserved(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(PathError::InvalidEscape)?;
                let text = core::str::from_utf8(hex).map_err(|_| PathError::InvalidEscape)?;
                let value = u8::from_str_radix(text, 16).map_err(|_| PathError::InvalidEscape)?;
                match value {
                    b'/' | b'\\' => return Err(PathError::EncodedSeparator),
                    0 => return Err(PathError::Nul),
                    v if v.is_ascii_control() => return Err(PathError::ControlCharacter),
                    v if v.is_ascii_alphanumeric() || b"-._~".contains(&v) => {
                        out.push(char::from(v))
                    }
                    v => {
                        out.push('%');
                        out.push_str(&format!("{v:02X}"));
                    }
                }
                i += 3;
            }
            b'\\' => return Err(PathError::Backslash),
            b';' => return Err(PathError::PathParameter),
            0 => return Err(PathError::Nul),
            b if b.is_ascii_control() => return Err(PathError::ControlCharacter),
            _ => {
                // Copy the run of ordinary characters up to the next special byte whole, so
                // multi-byte UTF-8 stays intact.
                let end = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b'%' | b'\\' | b';') || b.is_ascii_control())
                    .map_or(bytes.len(), |n| i + n);
                out.push_str(&raw[i..end]);
                i = end;
            }
        }
    }
    Ok(out)
}

/// A path pattern: literal segments, `:name` for exactly one segment, and a final `*` for any
/// number of segments (zero included, so `/api/*` also covers `/api`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    segments: Vec<PatternSegment>,
    tail: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternSegment {
    Literal(String),
    Param,
}

/// Why a pattern is not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// It does not start with `/`.
    NotAbsolute,
    /// `*` is not the last segment, or is part of a segment.
    MisplacedWildcard,
    /// A segment contains `%`, `\`, `?` or `#`, or is `.` / `..`, or a `:` parameter has no name.
    BadSegment,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "pattern must start with /",
            Self::MisplacedWildcard => "* may only be the whole last segment",
            Self::BadSegment => "pattern segments may not contain % \\ ? # or be . or ..",
        })
    }
}

impl std::error::Error for PatternError {}

impl PathPattern {
    /// Parses `/api/*`, `/reports/:id`, `/`.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if !text.starts_with('/') {
            return Err(PatternError::NotAbsolute);
        }
        let parts: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
        let mut segments = Vec::with_capacity(parts.len());
        let mut tail = false;
        for (index, part) in parts.iter().enumerate() {
            if *part == "*" {
                if index + 1 != parts.len() {
                    return Err(PatternError::MisplacedWildcard);
                }
                tail = true;
            } else if part.contains('*') {
                return Err(PatternError::MisplacedWildcard);
            } else if part.contains(['%', '\\', '?', '#'])
                || *part == "."
                || *part == ".."
                || *part == ":"
            {
                return Err(PatternError::BadSegment);
            } else if part.starts_with(':') {
                segments.push(PatternSegment::Param);
            } else {
                segments.push(PatternSegment::Literal((*part).to_owned()));
            }
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
            tail,
        })
    }

    /// Whether the canonical path matches; literals compare ASCII case-insensitively unless
    /// `case_sensitive`.
    pub fn matches(&self, path: &CanonicalPath, case_sensitive: bool) -> bool {
        let mut segments = path.segments();
        for expected in &self.segments {
            let Some(actual) = segments.next() else {
                return false;
            };
            if let PatternSegment::Literal(literal) = expected {
                let same = if case_sensitive {
                    literal == actual
                } else {
                    literal.eq_ignore_ascii_case(actual)
                };
                if !same {
                    return false;
                }
            }
        }
        self.tail || segments.next().is_none()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether some path matched by `other` is also matched by this pattern (a conservative
    /// check, for configuration warnings: literals compare without case, `:param` matches any
    /// segment).
    pub fn overlaps(&self, other: &PathPattern) -> bool {
        let compatible = |a: &PatternSegment, b: &PatternSegment| match (a, b) {
            (PatternSegment::Literal(x), PatternSegment::Literal(y)) => x.eq_ignore_ascii_case(y),
            _ => true,
        };
        let prefix_agrees = self
            .segments
            .iter()
            .zip(&other.segments)
            .all(|(a, b)| compatible(a, b));
        let lengths_fit = match (self.tail, other.tail) {
            (true, true) => true,
            (true, false) => other.segments.len() >= self.segments.len(),
            (false, true) => self.segments.len() >= other.segments.len(),
            (false, false) => self.segments.len() == other.segments.len(),
        };
        prefix_agrees && lengths_fit
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `METHOD[,METHOD…] /pattern` or just `/pattern` (every method).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatcher {
    /// Upper-case methods; empty means every method.
    pub methods: Vec<String>,
    /// The path pattern.
    pub pattern: PathPattern,
}

/// Why a route's `match` text is not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatcherError {
    /// A method is not an HTTP token.
    BadMethod,
    /// The pattern is not usable.
    Pattern(PatternError),
}

impl fmt::Display for MatcherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMethod => f.write_str("methods must be letters, like GET or GET,POST"),
            Self::Pattern(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for MatcherError {}

/// The canonical spelling of a `match`: `GET,POST /x`, or the pattern alone.
impl fmt::Display for RouteMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.methods.is_empty() {
            write!(f, "{} ", self.methods.join(","))?;
        }
        self.pattern.fmt(f)
    }
}

impl RouteMatcher {
    /// Parses `GET /api/*`, `GET,POST /x`, `/reports/:id`.
    pub fn parse(text: &str) -> Result<Self, MatcherError> {
        let text = text.trim();
        let (methods, pattern) = match text.split_once(char::is_whitespace) {
            Some((methods, pattern)) if !methods.starts_with('/') => (methods, pattern.trim()),
            _ => ("", text),
        };
        let methods: Vec<String> = methods
            .split(',')
            .filter(|m| !m.is_empty())
            .map(|m| {
                if m.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(m.to_ascii_uppercase())
                } else {
                    Err(MatcherError::BadMethod)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            methods,
            pattern: PathPattern::parse(pattern).map_err(MatcherError::Pattern)?,
        })
    }

    /// Whether the route covers the method (`HEAD` counts as `GET`).
    /// A listed `GET` also covers `HEAD`, never the other way round: a free `HEAD` route must
    /// not open the `GET` of the same path.
    pub fn covers_method(&self, method: &str) -> bool {
        let head_as_get = method.eq_ignore_ascii_case("HEAD");
        self.methods.is_empty()
            || self
                .methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method) || (head_as_get && m == "GET"))
    }
}

/// Whether a method is safe in RFC 9110's sense and is treated so here: `GET` and `HEAD`
/// (any letter case). Their defaults settle after the origin, their receipts serve again,
/// and a browser may be shown the paywall page for them. The one place this rule is written.
pub fn is_safe_method(method: &str) -> bool {
    method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
}

/// The method a request is priced and receipted as: `HEAD` is `GET`.
pub fn price_class(method: &str) -> &str {
    if method.eq_ignore_ascii_case("HEAD") {
        "GET"
    } else {
        method
    }
}

/// A URL's authority (`host[:port]`, after `scheme://`) and what follows it (path, query,
/// fragment).
pub fn split_authority(after_scheme: &str) -> (&str, &str) {
    let end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    after_scheme.split_at(end)
}

/// The host of an authority and its port as written, if any (`[v6]:port` too, the host
/// without its brackets); `None` for a `[` that is never closed.
pub fn host_and_port(authority: &str) -> Option<(&str, Option<&str>)> {
    match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            Some((host, after.strip_prefix(':')))
        }
        None => Some(match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }),
    }
}

/// The host of the authority at the start of `after_scheme` (`host[:port]/…`), without a
/// v6 address's brackets; empty when there is none.
pub fn host_of(after_scheme: &str) -> &str {
    let (authority, _) = split_authority(after_scheme);
    host_and_port(authority).map_or("", |(host, _)| host)
}

/// The pieces of an absolute URL the gateway needs.
pub struct UrlParts<'a> {
    /// `scheme://authority`.
    pub origin: &'a str,
    /// From the first `/` after the authority, without query or fragment (`/` if empty).
    pub path: &'a str,
    /// After `?`, without the fragment.
    pub query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// Splits an absolute URL as a runtime hands it over (already WHATWG-normalised).
    pub fn split(url: &'a str) -> Self {
        let url = url.split('#').next().unwrap_or(url);
        let authority_start = url.find("://").map_or(0, |i| i + 3);
        let path_start = url[authority_start..]
            .find(['/', '?'])
            .map_or(url.len(), |i| authority_start + i);
        let (before_query, query) = match url.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (url, None),
        };
        let path = before_query
            .get(path_start..)
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        Self {
            origin: &url[..path_start],
            path,
            query,
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn canonical(raw: &str) -> Result<String, PathError> {
        CanonicalPath::parse(raw).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("/", "/"),
            ("/api/data", "/api/data"),
            ("//api///data", "/api/data"),
            ("/api/./data", "/api/data"),
            ("/x/../api/data", "/api/data"),
            ("/../../api/data", "/api/data"),
            ("/api/data/", "/api/data/"),
            ("/api/data/.", "/api/data/"),
            ("/%61pi/%64ata", "/api/data"),
            ("/api/%2e%2e/api/data", "/api/data"),
            ("/api/%2E/data", "/api/data"),
            ("/api/a%20b", "/api/a%20b"),
            ("/api/a%3bb", "/api/a%3Bb"),
            ("/api/%252F", "/api/%252F"),
            ("/api/caf\u{e9}", "/api/caf\u{e9}"),
        ];
        for (raw, expected) in cases {
            assert_eq!(canonical(raw).as_deref(), Ok(expected), "{raw}");
        }
    }

    #[test]
    fn refused_spellings() {
        assert_eq!(canonical("/api%2Fdata"), Err(PathError::EncodedSeparator));
        assert_eq!(canonical("/api%2fdata"), Err(PathError::EncodedSeparator));
        assert_eq!(canonical("/api%5Cdata"), Err(PathError::EncodedSeparator));
        assert_eq!(canonical("/api\\data"), Err(PathError::Backslash));
        assert_eq!(canonical("/api%00"), Err(PathError::Nul));
        assert_eq!(canonical("/api\0"), Err(PathError::Nul));
        assert_eq!(canonical("/api%zz"), Err(PathError::InvalidEscape));
        assert_eq!(canonical("/api%4"), Err(PathError::InvalidEscape));
        assert_eq!(canonical("/api%"), Err(PathError::InvalidEscape));
        assert_eq!(canonical("api"), Err(PathError::NotAbsolute));
        assert_eq!(canonical("/api;x/data"), Err(PathError::PathParameter));
        for control in [
            "/api%09",
            "/api%0A/x",
            "/a%0db",
            "/api%7F",
            "/api\t",
            "/a\u{7f}",
        ] {
            assert_eq!(
                canonical(control),
                Err(PathError::ControlCharacter),
                "{control}"
            );
        }
        for folded in [
            "/paid.",
            "/paid..",
            "/paid...",
            "/paid%2E",
            "/paid%20",
            "/paid ",
            "/paid%20/x",
            "/paid./x",
            "/x/paid%2e%2e%2E",
            "/paid.%20",
        ] {
            assert_eq!(
                canonical(folded),
                Err(PathError::TrailingDotOrSpace),
                "{folded}"
            );
        }
        assert_eq!(
            canonical("/api/data;jsessionid=1"),
            Err(PathError::PathParameter)
        );
    }

    #[test]
    fn patterns_match_canonical_paths() {
        let wild = PathPattern::parse("/api/*").unwrap();
        let param = PathPattern::parse("/reports/:id").unwrap();
        let path = |raw: &str| CanonicalPath::parse(raw).unwrap();
        for raw in [
            "/api",
            "/api/",
            "/api/x",
            "/API/x/y",
            "/%41pi/x",
            "//api//x",
            "/z/../api/x",
        ] {
            assert!(wild.matches(&path(raw), false), "{raw}");
        }
        assert!(!wild.matches(&path("/API/x"), true));
        assert!(!wild.matches(&path("/apix"), false));
        assert!(!wild.matches(&path("/"), false));
        for raw in ["/reports/7", "/reports/7/", "/Reports/abc"] {
            assert!(param.matches(&path(raw), false), "{raw}");
        }
        for raw in ["/reports", "/reports/", "/reports/7/8"] {
            assert!(!param.matches(&path(raw), false), "{raw}");
        }
        assert!(PathPattern::parse("/").unwrap().matches(&path("/"), false));
        assert!(PathPattern::parse("/*")
            .unwrap()
            .matches(&path("/anything/at/all"), false));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(PathPattern::parse("api/*"), Err(PatternError::NotAbsolute));
        assert_eq!(
            PathPattern::parse("/api/*/x"),
            Err(PatternError::MisplacedWildcard)
        );
        assert_eq!(
            PathPattern::parse("/api*"),
            Err(PatternError::MisplacedWildcard)
        );
        assert_eq!(PathPattern::parse("/a%2Fb"), Err(PatternError::BadSegment));
        assert_eq!(PathPattern::parse("/a/../b"), Err(PatternError::BadSegment));
        assert_eq!(PathPattern::parse("/a/:"), Err(PatternError::BadSegment));
    }

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(
            split_authority("a.example:8443/x?y"),
            ("a.example:8443", "/x?y")
        );
        assert_eq!(split_authority("a.example#f"), ("a.example", "#f"));
        for (authority, expected) in [
            ("a.example", Some(("a.example", None))),
            ("a.example:8443", Some(("a.example", Some("8443")))),
            ("a.example:", Some(("a.example", Some("")))),
            ("[::1]:9000", Some(("::1", Some("9000")))),
            ("[::1]", Some(("::1", None))),
            ("[::1", None),
        ] {
            assert_eq!(host_and_port(authority), expected, "{authority}");
        }
    }

    #[test]
    fn urls_split_into_origin_path_and_query() {
        let parts = |url| {
            let p = UrlParts::split(url);
            (p.origin, p.path, p.query)
        };
        assert_eq!(
            parts("https://a.example/x/y?q=1#f"),
            ("https://a.example", "/x/y", Some("q=1"))
        );
        assert_eq!(
            parts("http://127.0.0.1:8787/"),
            ("http://127.0.0.1:8787", "/", None)
        );
        assert_eq!(
            parts("http://127.0.0.1:8787"),
            ("http://127.0.0.1:8787", "/", None)
        );
        assert_eq!(parts("http://h?x=/y"), ("http://h", "/", Some("x=/y")));
        assert_eq!(parts("http://h/a%2Fb?"), ("http://h", "/a%2Fb", Some("")));
    }

    #[test]
    fn matchers_read_methods() {
        let m = RouteMatcher::parse("GET /api/*").unwrap();
        assert_eq!(m.methods, ["GET"]);
        assert!(m.covers_method("GET") && m.covers_method("HEAD") && !m.covers_method("POST"));
        let pattern = |p: &str| PathPattern::parse(p).unwrap();
        assert!(
            pattern("/api/*").overlaps(&pattern("/API/x/:id"))
                && pattern("/a/:id").overlaps(&pattern("/a/*"))
        );
        assert!(
            !pattern("/a/:id").overlaps(&pattern("/a/b/c"))
                && !pattern("/health").overlaps(&pattern("/api/*"))
        );
        let head = RouteMatcher::parse("HEAD /x").unwrap();
        assert!(
            head.covers_method("HEAD") && !head.covers_method("GET"),
            "HEAD never covers GET"
        );
        let any = RouteMatcher::parse("/reports/:id").unwrap();
        assert!(any.methods.is_empty() && any.covers_method("DELETE"));
        let two = RouteMatcher::parse("get,post  /x").unwrap();
        assert_eq!(two.methods, ["GET", "POST"]);
        assert_eq!(RouteMatcher::parse("G-T /x"), Err(MatcherError::BadMethod));
        assert_eq!(
            RouteMatcher::parse("GET api"),
            Err(MatcherError::Pattern(PatternError::NotAbsolute))
        );
    }
}
