//! The L402 HTTP headers: the `Authorization` credential a client sends and the
//! `WWW-Authenticate` challenge a server sends.
//!
//! ```text
//! Authorization:    L402 <base64 macaroon>[,<base64 macaroon>…]:<64 hex preimage>
//! WWW-Authenticate: LSAT macaroon="<std base64>", invoice="<bolt11>"
//! WWW-Authenticate: L402 macaroon="<std base64>", invoice="<bolt11>"
//! ```
//! `LSAT` is the older name of the scheme; both are accepted in any letter case.

use core::fmt;

use super::macaroon::{Macaroon, MacaroonError};
use super::Preimage;

/// The longest header value parsed, in bytes (16 KiB, the budget of the x402 headers).
/// Longer values are refused before any decoding.
pub const MAX_L402_HEADER_LEN: usize = 16 * 1024;

/// The name of the authentication scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `L402`, the current name.
    L402,
    /// `LSAT`, the name older clients and aperture's first challenge use.
    Lsat,
}

/// An `Authorization: L402 …` credential, parsed but not verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The scheme of the (first) value.
    pub scheme: Scheme,
    /// The token: the first macaroon.
    pub macaroon: Macaroon,
    /// Further macaroons (discharges of third-party caveats). Verification refuses any.
    pub discharges: Vec<Macaroon>,
    /// The preimage of the token's payment hash.
    pub preimage: Preimage,
}

/// Why an `Authorization` value is not an L402 credential. The sender caused every variant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialError {
    /// Longer than [`MAX_L402_HEADER_LEN`].
    TooLong { len: usize },
    /// Empty, or a value without anything after the scheme.
    Empty,
    /// A scheme other than `L402` or `LSAT`.
    UnknownScheme,
    /// No `:` separating the macaroons from the preimage.
    MissingPreimage,
    /// The text after the last `:` is not 64 hex digits.
    InvalidPreimage,
    /// An empty item in the macaroon list (`L402 a,,b:…`, `L402 :…`).
    MissingMacaroon,
    /// The macaroon at `index` in the list does not decode.
    Macaroon { index: usize, error: MacaroonError },
    /// The header holds several values (an `LSAT` and an `L402` one, folded into one string)
    /// that carry different macaroons or preimages.
    FoldedMismatch,
}

/// A `WWW-Authenticate: L402 …` (or `LSAT …`) challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WwwAuthenticate {
    /// The challenge's scheme.
    pub scheme: Scheme,
    /// The `macaroon` parameter (or the newer spec's `token`).
    pub macaroon: Macaroon,
    /// The `invoice` parameter (a BOLT 11 payment request), if present.
    pub invoice: Option<String>,
}

/// Why a `WWW-Authenticate` value is not an L402 challenge. The server that sent it caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeError {
    /// Longer than [`MAX_L402_HEADER_LEN`].
    TooLong { len: usize },
    /// A scheme other than `L402` or `LSAT` (or none).
    UnknownScheme,
    /// Not a list of `name=value` parameters; `at` is the byte offset of the problem.
    Malformed { at: usize },
    /// A parameter given twice (`macaroon` and `token` count as one).
    DuplicateParameter { name: &'static str },
    /// No `macaroon` (or `token`) parameter.
    MissingMacaroon,
    /// The macaroon does not decode.
    Macaroon(MacaroonError),
}

impl Scheme {
    /// The scheme named `name`, in any letter case.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("L402") {
            Some(Self::L402)
        } else if name.eq_ignore_ascii_case("LSAT") {
            Some(Self::Lsat)
        } else {
            None
        }
    }

    /// The canonical spelling: `L402` or `LSAT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::L402 => "L402",
            Self::Lsat => "LSAT",
        }
    }
}

impl Credential {
    /// Parses an `Authorization` header value.
    ///
    /// Several values folded into one string (`"LSAT <mac>:<pre>, L402 <mac>:<pre>"`, as a
    /// runtime joins repeated headers) must carry the same macaroons and preimage; a new value
    /// starts at a comma whose next item holds white space (base64 and hex never do). Around
    /// the scheme, the commas and the colon, white space is ignored. Macaroons are base64 in
    /// either alphabet, padded or not; the preimage is 64 hex digits in either case.
    pub fn from_header(value: &str) -> Result<Self, CredentialError> {
        if value.len() > MAX_L402_HEADER_LEN {
            return Err(CredentialError::TooLong { len: value.len() });
        }
        let mut values = folded_values(value).map(parse_credential_value);
        let first = values.next().ok_or(CredentialError::Empty)??;
        for other in values {
            let other = other?;
            if (&other.macaroon, &other.discharges, &other.preimage)
                != (&first.macaroon, &first.discharges, &first.preimage)
            {
                return Err(CredentialError::FoldedMismatch);
            }
        }
        Ok(first)
    }

    /// The header value: `<scheme> <std base64>[,…]:<hex preimage>`.
    pub fn to_header(&self) -> String {
        let macaroons: Vec<String> = core::iter::once(&self.macaroon)
            .chain(&self.discharges)
            .map(Macaroon::to_base64)
            .collect();
        format!(
            "{} {}:{}",
            self.scheme.as_str(),
            macaroons.join(","),
            self.preimage.to_hex()
        )
    }
}

impl WwwAuthenticate {
    /// Parses a `WWW-Authenticate` value: a scheme, then comma-separated parameters
    /// `name=value` or `name="quoted value"` (names in any case; unknown ones, such as the
    /// newer spec's `version`, ignored). A second challenge folded into the same string ends
    /// the first; only the first is read.
    pub fn from_header(value: &str) -> Result<Self, ChallengeError> {
        if value.len() > MAX_L402_HEADER_LEN {
            return Err(ChallengeError::TooLong { len: value.len() });
        }
        let mut cursor = Cursor { text: value, at: 0 };
        cursor.skip_white_space();
        let scheme = Scheme::from_name(cursor.token()).ok_or(ChallengeError::UnknownScheme)?;
        let mut macaroon = None;
        let mut invoice = None;
        while let Some((name, text)) = cursor.parameter()? {
            let (slot, name) =
                if name.eq_ignore_ascii_case("macaroon") || name.eq_ignore_ascii_case("token") {
                    (&mut macaroon, "macaroon")
                } else if name.eq_ignore_ascii_case("invoice") {
                    (&mut invoice, "invoice")
                } else {
                    continue;
                };
            if slot.replace(text).is_some() {
                return Err(ChallengeError::DuplicateParameter { name });
            }
        }
        let macaroon = macaroon.ok_or(ChallengeError::MissingMacaroon)?;
        Ok(Self {
            scheme,
            macaroon: Macaroon::from_base64(&macaroon).map_err(ChallengeError::Macaroon)?,
            invoice,
        })
    }
}

/// The two `WWW-Authenticate` values aperture sends, in its order: the `LSAT` one first (the
/// one clients read), then the `L402` one, both with `macaroon=` and standard base64:
/// `LSAT macaroon="<std b64>", invoice="<bolt11>"`. `"` and `\` in the invoice (never in a
/// real BOLT 11 string) are escaped as a quoted string requires.
pub fn challenge_values(macaroon: &Macaroon, invoice: &str) -> [String; 2] {
    let macaroon = macaroon.to_base64();
    let invoice = invoice.replace('\\', "\\\\").replace('"', "\\\"");
    [Scheme::Lsat, Scheme::L402]
        .map(|scheme| format!("{scheme} macaroon=\"{macaroon}\", invoice=\"{invoice}\""))
}

/// The values folded into one header string.
fn folded_values(header: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(header);
    core::iter::from_fn(move || {
        let text = rest?;
        let mut searched = 0;
        while let Some(comma) = text[searched..].find(',').map(|at| searched + at) {
            let next = &text[comma + 1..];
            let next_item = next.split(',').next().unwrap_or_default().trim();
            if next_item.contains(|c: char| c.is_ascii_whitespace()) {
                rest = Some(next);
                return Some(&text[..comma]);
            }
            searched = comma + 1;
        }
        rest = None;
        Some(text)
    })
    .filter(|value| !value.trim().is_empty())
}

/// One value: `<scheme> <macaroon>[,<macaroon>…]:<preimage>`.
fn parse_credential_value(value: &str) -> Result<Credential, CredentialError> {
    let value = value.trim();
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .ok_or(CredentialError::Empty)?;
    let scheme = Scheme::from_name(scheme).ok_or(CredentialError::UnknownScheme)?;
    let (macaroons, preimage) = rest
        .rsplit_once(':')
        .ok_or(CredentialError::MissingPreimage)?;
    let preimage = Preimage::from_hex(preimage.trim()).ok_or(CredentialError::InvalidPreimage)?;
    let mut macaroons = macaroons
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(index, text)| match text {
            "" => Err(CredentialError::MissingMacaroon),
            text => Macaroon::from_base64(text)
                .map_err(|error| CredentialError::Macaroon { index, error }),
        });
    // `split` yields at least one item, so the first `?` only propagates an error.
    let macaroon = macaroons.next().ok_or(CredentialError::MissingMacaroon)??;
    Ok(Credential {
        scheme,
        macaroon,
        discharges: macaroons.collect::<Result<_, _>>()?,
        preimage,
    })
}

/// A position in a `WWW-Authenticate` value.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_white_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// An RFC 9110 token (possibly empty).
    fn token(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    fn malformed(&self) -> ChallengeError {
        ChallengeError::Malformed { at: self.at }
    }

    /// The next `name=value` parameter, or `None` at the end of the value or where a second
    /// challenge starts. Consumes the comma after it.
    fn parameter(&mut self) -> Result<Option<(&'a str, String)>, ChallengeError> {
        loop {
            self.skip_white_space();
            match self.rest().strip_prefix(',') {
                Some(_) => self.at += 1,
                None => break,
            }
        }
        if self.rest().is_empty() {
            return Ok(None);
        }
        let start = self.at;
        let name = self.token();
        if name.is_empty() {
            return Err(self.malformed());
        }
        self.skip_white_space();
        if !self.rest().starts_with('=') {
            // `<scheme> <param>=…`: a second challenge begins (only after a comma).
            let after_comma = self.text[..start]
                .trim_end_matches([' ', '\t'])
                .ends_with(',');
            return match after_comma {
                true => Ok(None),
                false => Err(self.malformed()),
            };
        }
        self.at += 1;
        self.skip_white_space();
        let value = match self.rest().strip_prefix('"') {
            Some(_) => {
                self.at += 1;
                self.quoted_string()?
            }
            None => self.token().to_owned(),
        };
        self.skip_white_space();
        if !self.rest().is_empty() && !self.rest().starts_with(',') {
            return Err(self.malformed());
        }
        Ok(Some((name, value)))
    }

    /// The rest of a quoted string after its opening `"`, with `\` escapes resolved.
    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += offset + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                c => value.push(c),
            }
        }
        self.at = self.text.len();
        Err(self.malformed())
    }
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(
                f,
                "credential is {len} bytes, more than the {MAX_L402_HEADER_LEN} accepted"
            ),
            Self::Empty => f.write_str("credential is empty"),
            Self::UnknownScheme => f.write_str("credential scheme is not L402 or LSAT"),
            Self::MissingPreimage => f.write_str("credential has no ':<preimage>'"),
            Self::InvalidPreimage => f.write_str("credential preimage is not 64 hex digits"),
            Self::MissingMacaroon => f.write_str("credential has an empty macaroon"),
            Self::Macaroon { index, error } => write!(f, "credential macaroon {index}: {error}"),
            Self::FoldedMismatch => {
                f.write_str("credential holds several values that do not agree")
            }
        }
    }
}

impl std::error::Error for CredentialError {}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(
                f,
                "challenge is {len} bytes, more than the {MAX_L402_HEADER_LEN} accepted"
            ),
            Self::UnknownScheme => f.write_str("challenge scheme is not L402 or LSAT"),
            Self::Malformed { at } => write!(f, "challenge is malformed at byte {at}"),
            Self::DuplicateParameter { name } => {
                write!(f, "challenge has two {name} parameters")
            }
            Self::MissingMacaroon => f.write_str("challenge has no macaroon parameter"),
            Self::Macaroon(error) => write!(f, "challenge macaroon: {error}"),
        }
    }
}

impl std::error::Error for ChallengeError {}
