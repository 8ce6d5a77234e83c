//! The part of RFC 8941 (Structured Field Values) that message signatures use, parsed
//! strictly and serialised canonically.
//!
//! Written here rather than taken from the `sfv` crate, which costs about 58 KB of WASM
//! (it pulls `indexmap` and `hashbrown`; measured in the research notes), a large part of the
//! Worker's size budget. What is covered:
//! - Dictionaries (§3.2) whose members are Items or Inner Lists, each with Parameters;
//! - Items whose bare values are Integers, Strings (with `\"` and `\\` escapes), Tokens,
//!   Byte Sequences and Booleans.
//!
//! What is refused rather than half-handled: Decimals (no signature field uses them), and
//! RFC 9651's Dates and Display Strings. Stricter than RFC 8941 in one respect: a repeated
//! dictionary key or parameter, which RFC 8941 resolves by keeping the last one, fails here,
//! since two readers of the same signature could otherwise disagree about what it says.
//! Every collection is capped ([`MAX_MEMBERS`], [`MAX_PARAMS`]), and the input's length is
//! the caller's to bound.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Most members a dictionary, or items an inner list, may have.
pub(crate) const MAX_MEMBERS: usize = 64;
/// Most parameters one item or inner list may have.
pub(crate) const MAX_PARAMS: usize = 32;
/// RFC 8941 §3.3.1: at most 15 digits.
const MAX_INTEGER_DIGITS: usize = 15;

/// A bare item (RFC 8941 §3.3), without its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Bare {
    /// An Integer: at most 15 digits, so it fits an `i64`.
    Integer(i64),
    /// A String: printable ASCII, stored unescaped.
    String(String),
    /// A Token.
    Token(String),
    /// A Byte Sequence, decoded.
    Bytes(Vec<u8>),
    /// A Boolean.
    Boolean(bool),
}

/// Parameters in the order received: order is part of what a signature covers.
pub(crate) type Params = Vec<(String, Bare)>;

/// An Item: a bare item and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) bare: Bare,
    pub(crate) params: Params,
}

/// A dictionary member's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Member {
    /// A single Item.
    Item(Item),
    /// An Inner List of Items, with the list's own parameters.
    List(Vec<Item>, Params),
}

/// A Dictionary, in the order received.
pub(crate) type Dictionary = Vec<(String, Member)>;

/// Why a field is not a structured field of the expected kind.
pub(crate) type Error = &'static str;

/// Parses a Dictionary (RFC 8941 §4.2.2). An empty input is an empty dictionary.
pub(crate) fn parse_dictionary(input: &str) -> Result<Dictionary, Error> {
    let mut parser = Parser::new(input)?;
    let mut members: Dictionary = Vec::new();
    while !parser.at_end() {
        if members.len() == MAX_MEMBERS {
            return Err("too many dictionary members");
        }
        let key = parser.key()?;
        let member = if parser.eat(b'=') {
            parser.member()?
        } else {
            // A key alone is the Boolean true, with any parameters.
            let params = parser.params()?;
            Member::Item(Item {
                bare: Bare::Boolean(true),
                params,
            })
        };
        if members.iter().any(|(k, _)| *k == key) {
            return Err("a dictionary key is repeated");
        }
        members.push((key, member));
        parser.skip_ows();
        if parser.at_end() {
            break;
        }
        if !parser.eat(b',') {
            return Err("dictionary members must be separated by commas");
        }
        parser.skip_ows();
        if parser.at_end() {
            return Err("a dictionary ends with a comma");
        }
    }
    Ok(members)
}

/// Parses an Item (RFC 8941 §4.2.3) that makes up the whole input.
pub(crate) fn parse_item(input: &str) -> Result<Item, Error> {
    let mut parser = Parser::new(input)?;
    let item = parser.item()?;
    if !parser.at_end() {
        return Err("text follows the item");
    }
    Ok(item)
}

/// Appends a member's canonical serialisation (RFC 8941 §4.1.2 and §4.1.3).
pub(crate) fn write_member(out: &mut String, member: &Member) {
    match member {
        Member::Item(item) => write_item(out, item),
        Member::List(items, params) => write_inner_list(out, items, params),
    }
}

/// Appends an inner list's canonical serialisation (RFC 8941 §4.1.1.1).
pub(crate) fn write_inner_list(out: &mut String, items: &[Item], params: &[(String, Bare)]) {
    out.push('(');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_item(out, item);
    }
    out.push(')');
    write_params(out, params);
}

/// Appends an item's canonical serialisation (RFC 8941 §4.1.3).
pub(crate) fn write_item(out: &mut String, item: &Item) {
    write_bare(out, &item.bare);
    write_params(out, &item.params);
}

/// Appends parameters (RFC 8941 §4.1.1.2): a true Boolean is the key alone.
pub(crate) fn write_params(out: &mut String, params: &[(String, Bare)]) {
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        if *value != Bare::Boolean(true) {
            out.push('=');
            write_bare(out, value);
        }
    }
}

/// Appends a bare item (RFC 8941 §4.1.3.1).
pub(crate) fn write_bare(out: &mut String, bare: &Bare) {
    match bare {
        Bare::Integer(n) => {
            use core::fmt::Write;
            // Writing to a String cannot fail.
            let _ = write!(out, "{n}");
        }
        Bare::String(s) => write_string(out, s),
        Bare::Token(t) => out.push_str(t),
        Bare::Bytes(bytes) => {
            out.push(':');
            STANDARD.encode_string(bytes, out);
            out.push(':');
        }
        Bare::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
    }
}

/// Appends a String (RFC 8941 §4.1.6): quoted, with `"` and `\` escaped.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// RFC 8941 §3.1.2: after its first character, a key is `lcalpha / DIGIT / "_" / "-" / "." / "*"`.
fn is_key_char(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A cursor over ASCII input.
struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// RFC 8941 §4.2 steps 1–2: the input must be ASCII; leading spaces are dropped (and
    /// trailing ones, which §4.2 step 6 would skip at the end).
    fn new(input: &'a str) -> Result<Self, Error> {
        if !input.is_ascii() {
            return Err("a structured field is ASCII");
        }
        Ok(Self {
            input: input.trim_matches(' ').as_bytes(),
            pos: 0,
        })
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// The input from `start` to the cursor; the input is ASCII, so any range is a str.
    fn text_since(&self, start: usize) -> String {
        self.input[start..self.pos]
            .iter()
            .map(|&b| char::from(b))
            .collect()
    }

    /// A key (RFC 8941 §4.2.3.3).
    fn key(&mut self) -> Result<String, Error> {
        let start = self.pos;
        if !matches!(self.peek(), Some(b'a'..=b'z' | b'*')) {
            return Err("a key starts with a lowercase letter or *");
        }
        while self.peek().is_some_and(is_key_char) {
            self.pos += 1;
        }
        Ok(self.text_since(start))
    }

    /// An Item or Inner List (RFC 8941 §4.2.1.1).
    fn member(&mut self) -> Result<Member, Error> {
        if self.peek() == Some(b'(') {
            self.inner_list()
        } else {
            Ok(Member::Item(self.item()?))
        }
    }

    /// An Inner List (RFC 8941 §4.2.1.2).
    fn inner_list(&mut self) -> Result<Member, Error> {
        self.pos += 1; // the "(" that `member` saw
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(Member::List(items, params));
            }
            if self.at_end() {
                return Err("an inner list is not closed");
            }
            if items.len() == MAX_MEMBERS {
                return Err("too many items in an inner list");
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err("inner list items must be separated by spaces");
            }
        }
    }

    /// An Item (RFC 8941 §4.2.3).
    fn item(&mut self) -> Result<Item, Error> {
        let bare = self.bare()?;
        let params = self.params()?;
        Ok(Item { bare, params })
    }

    /// Parameters (RFC 8941 §4.2.3.2).
    fn params(&mut self) -> Result<Params, Error> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            if params.iter().any(|(k, _)| *k == key) {
                return Err("a parameter is repeated");
            }
            if params.len() == MAX_PARAMS {
                return Err("too many parameters");
            }
            params.push((key, value));
        }
        Ok(params)
    }

    /// A bare item (RFC 8941 §4.2.3.1).
    fn bare(&mut self) -> Result<Bare, Error> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'"') => self.string(),
            Some(b'*' | b'a'..=b'z' | b'A'..=b'Z') => Ok(self.token()),
            Some(b':') => self.bytes(),
            Some(b'?') => self.boolean(),
            Some(b'@' | b'%') => Err("dates and display strings are not supported"),
            Some(_) => Err("not a bare item"),
            None => Err("a value is missing"),
        }
    }

    /// An Integer (RFC 8941 §4.2.4); a Decimal is refused.
    fn integer(&mut self) -> Result<Bare, Error> {
        let negative = self.eat(b'-');
        let mut value: i64 = 0;
        let mut digits = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if digits == MAX_INTEGER_DIGITS {
                return Err("an integer has more than 15 digits");
            }
            // At most 15 digits: no overflow.
            value = value * 10 + i64::from(b - b'0');
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 {
            return Err("a number has no digits");
        }
        if self.peek() == Some(b'.') {
            return Err("decimals are not supported");
        }
        Ok(Bare::Integer(if negative { -value } else { value }))
    }

    /// A String (RFC 8941 §4.2.5).
    fn string(&mut self) -> Result<Bare, Error> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("a string is not terminated"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Bare::String(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(char::from(c)),
                        _ => return Err("a string escapes something other than \" or \\"),
                    }
                }
                Some(c @ 0x20..=0x7e) => out.push(char::from(c)),
                Some(_) => return Err("a string holds a control character"),
            }
            self.pos += 1;
        }
    }

    /// A Token (RFC 8941 §4.2.6): the caller saw its first character.
    fn token(&mut self) -> Bare {
        let start = self.pos;
        self.pos += 1;
        while self
            .peek()
            .is_some_and(|b| is_tchar(b) || b == b':' || b == b'/')
        {
            self.pos += 1;
        }
        Bare::Token(self.text_since(start))
    }

    /// A Byte Sequence (RFC 8941 §4.2.7): standard base64 between colons, padded, with
    /// zero trailing bits (the `base64` crate's strict decoding).
    fn bytes(&mut self) -> Result<Bare, Error> {
        self.pos += 1; // the opening colon
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b':' {
                let bytes = STANDARD
                    .decode(&self.input[start..self.pos])
                    .map_err(|_| "a byte sequence is not padded base64")?;
                self.pos += 1;
                return Ok(Bare::Bytes(bytes));
            }
            if !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
                return Err("a byte sequence holds a character outside base64");
            }
            self.pos += 1;
        }
        Err("a byte sequence is not terminated")
    }

    /// A Boolean (RFC 8941 §4.2.8).
    fn boolean(&mut self) -> Result<Bare, Error> {
        self.pos += 1; // the "?"
        let value = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return Err("a boolean is ?0 or ?1"),
        };
        self.pos += 1;
        Ok(Bare::Boolean(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &str) -> String {
        let dictionary = parse_dictionary(input).unwrap();
        let mut out = String::new();
        for (i, (key, member)) in dictionary.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(key);
            // §4.1.2: a true Boolean member is its key and parameters alone.
            match member {
                Member::Item(Item {
                    bare: Bare::Boolean(true),
                    params,
                }) => write_params(&mut out, params),
                _ => {
                    out.push('=');
                    write_member(&mut out, member);
                }
            }
        }
        out
    }

    #[test]
    fn a_canonical_signature_input_serialises_to_the_same_text() {
        // RFC 9421 B.2.6 and the draft's dictionary-form vector.
        for input in [
            r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
            r#"sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="poqk";alg="ed25519";expires=4889289600;nonce="n9p4+/A==";tag="web-bot-auth""#,
            r#"a=?0, b, c;x=-12;y=tok/en:1;z=:AQID:, d=()"#,
        ] {
            assert_eq!(round_trip(input), input);
        }
    }

    #[test]
    fn whitespace_the_rfc_allows_is_accepted_and_dropped_when_serialising() {
        assert_eq!(
            round_trip(r#"  a=( "x"   "y" );p=1 ,	b=2  "#),
            r#"a=("x" "y");p=1, b=2"#
        );
    }

    #[test]
    fn strings_keep_their_escapes_when_serialised() {
        let item = parse_item(r#""a\"b\\c""#).unwrap();
        assert_eq!(item.bare, Bare::String(r#"a"b\c"#.into()));
        let mut out = String::new();
        write_item(&mut out, &item);
        assert_eq!(out, r#""a\"b\\c""#);
    }

    #[test]
    fn malformed_fields_are_refused_with_a_reason() {
        for (input, reason) in [
            (r#"a="open"#, "a string is not terminated"),
            (
                r#"a="\n""#,
                "a string escapes something other than \" or \\",
            ),
            (
                "a=:AQI*:",
                "a byte sequence holds a character outside base64",
            ),
            ("a=:AQI:", "a byte sequence is not padded base64"),
            ("a=1, a=2", "a dictionary key is repeated"),
            ("a=1;p;p", "a parameter is repeated"),
            ("a=1.5", "decimals are not supported"),
            ("a=1234567890123456", "an integer has more than 15 digits"),
            ("a=1,", "a dictionary ends with a comma"),
            ("a=1 b=2", "dictionary members must be separated by commas"),
            ("A=1", "a key starts with a lowercase letter or *"),
            ("a=(", "an inner list is not closed"),
            ("a=(1 2", "inner list items must be separated by spaces"),
            ("a=(1,2)", "inner list items must be separated by spaces"),
            ("a=?2", "a boolean is ?0 or ?1"),
            ("a=@1", "dates and display strings are not supported"),
            ("a=\"é\"", "a structured field is ASCII"),
            ("a=", "a value is missing"),
        ] {
            assert_eq!(parse_dictionary(input), Err(reason), "{input}");
        }
    }

    #[test]
    fn collections_are_capped() {
        let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("k{i}=1")).collect();
        assert_eq!(
            parse_dictionary(&many.join(", ")),
            Err("too many dictionary members")
        );
        let params: String = (0..=MAX_PARAMS).map(|i| format!(";p{i}")).collect();
        assert_eq!(
            parse_dictionary(&format!("a=1{params}")),
            Err("too many parameters")
        );
    }

    #[test]
    fn an_item_must_be_the_whole_input() {
        assert_eq!(
            parse_item(r#""https://a.test""#).unwrap().bare,
            Bare::String("https://a.test".into())
        );
        assert_eq!(parse_item(r#""a" "b""#), Err("text follows the item"));
    }
}
