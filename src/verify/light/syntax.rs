//! A strict check of JSON syntax (RFC 8259), run once before the decoder reads anything.
//!
//! `serde-json-core` is lenient where it skips (it passes over a scalar it does not read up
//! to the next delimiter), recurses once per nesting level, and cannot read an escaped
//! surrogate pair. This check makes its input well-formed, shallow and free of such pairs:
//! it refuses malformed JSON anywhere, raw control characters in strings, lone surrogates
//! and nesting deeper than the limit, and rewrites each escaped surrogate pair (`\ud83d\ude00`)
//! as the UTF-8 bytes of its character, which is the same JSON text. It keeps an explicit
//! stack, so deep input cannot exhaust the call stack here either.

use std::borrow::Cow;

/// Checks `json` and returns it, rewritten where it holds escaped surrogate pairs. The error
/// says what is wrong, for people.
pub(super) fn check(json: &[u8], max_depth: usize) -> Result<Cow<'_, [u8]>, &'static str> {
    std::str::from_utf8(json).map_err(|_| "not UTF-8")?;
    let mut scan = Scan {
        bytes: json,
        at: 0,
        pairs: Vec::new(),
    };
    scan.document(max_depth)?;
    Ok(scan.rewritten())
}

struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where each escaped surrogate pair starts (its 12 bytes), and its character.
    pairs: Vec<(usize, char)>,
}

impl<'a> Scan<'a> {
    fn document(&mut self, max_depth: usize) -> Result<(), &'static str> {
        // The containers open around the current position: `{` or `[`.
        let mut open: Vec<u8> = Vec::new();
        'value: loop {
            self.skip_space();
            match self
                .peek()
                .ok_or("the document ends where a value should be")?
            {
                bracket @ (b'{' | b'[') => {
                    if open.len() == max_depth {
                        return Err("arrays and objects nest too deeply");
                    }
                    self.at += 1;
                    self.skip_space();
                    if self.peek() != Some(closing(bracket)) {
                        open.push(bracket);
                        if bracket == b'{' {
                            self.member_name()?;
                        }
                        continue 'value;
                    }
                    self.at += 1;
                }
                b'"' => self.string()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.number()?,
            }
            // A value ended: close containers until one goes on with another element.
            loop {
                self.skip_space();
                let Some(&bracket) = open.last() else {
                    return match self.peek() {
                        None => Ok(()),
                        Some(_) => Err("characters follow the document"),
                    };
                };
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        if bracket == b'{' {
                            self.member_name()?;
                        }
                        continue 'value;
                    }
                    Some(byte) if byte == closing(bracket) => {
                        self.at += 1;
                        open.pop();
                    }
                    _ => return Err("expected a comma or a closing bracket"),
                }
            }
        }
    }

    /// A member's name and the colon after it.
    fn member_name(&mut self) -> Result<(), &'static str> {
        self.skip_space();
        if self.peek() != Some(b'"') {
            return Err("expected a member name");
        }
        self.string()?;
        self.skip_space();
        if self.peek() != Some(b':') {
            return Err("expected a colon after a member name");
        }
        self.at += 1;
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), &'static str> {
        if !self.bytes[self.at..].starts_with(word) {
            return Err("not a JSON value");
        }
        self.at += word.len();
        Ok(())
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), &'static str> {
        const MALFORMED: &str = "not a JSON value or a malformed number";
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(MALFORMED),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(MALFORMED);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(MALFORMED);
            }
        }
        Ok(())
    }

    /// Skips decimal digits; says how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// At an opening quote: the string up to its closing quote.
    fn string(&mut self) -> Result<(), &'static str> {
        self.at += 1;
        loop {
            // Up to the next byte that is not plain content, in one pass over the slice.
            let plain = self.bytes[self.at..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or("a string is not closed")?;
            self.at += plain;
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(());
                }
                b'\\' => self.escape()?,
                _ => return Err("a raw control character in a string"),
            }
        }
    }

    /// At a backslash: one escape, or an escaped surrogate pair (recorded for rewriting).
    fn escape(&mut self) -> Result<(), &'static str> {
        const LONE: &str = "a lone surrogate in a \\u escape";
        let start = self.at;
        self.at += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.at += 1;
                Ok(())
            }
            Some(b'u') => match self.hex_after_u()? {
                high @ 0xD800..=0xDBFF => {
                    if self.peek() != Some(b'\\') {
                        return Err(LONE);
                    }
                    self.at += 1;
                    if self.peek() != Some(b'u') {
                        return Err(LONE);
                    }
                    let low = self.hex_after_u()?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return Err(LONE);
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    self.pairs.push((start, char::from_u32(code).ok_or(LONE)?));
                    Ok(())
                }
                0xDC00..=0xDFFF => Err(LONE),
                _ => Ok(()),
            },
            _ => Err("an unknown escape in a string"),
        }
    }

    /// At the `u` of `\u`: the four hexadecimal digits after it.
    fn hex_after_u(&mut self) -> Result<u32, &'static str> {
        let digits = self
            .bytes
            .get(self.at + 1..self.at + 5)
            .filter(|digits| digits.iter().all(u8::is_ascii_hexdigit))
            .ok_or("a \\u escape without four hexadecimal digits")?;
        self.at += 5;
        Ok(digits.iter().fold(0, |code, &digit| {
            // Checked just above: every digit is 0-9, a-f or A-F.
            code * 16 + char::from(digit).to_digit(16).unwrap_or(0)
        }))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// The checked bytes, with each escaped surrogate pair written as its UTF-8 bytes.
    fn rewritten(self) -> Cow<'a, [u8]> {
        if self.pairs.is_empty() {
            return Cow::Borrowed(self.bytes);
        }
        let mut out = Vec::with_capacity(self.bytes.len());
        let mut copied = 0;
        for (start, character) in self.pairs {
            out.extend_from_slice(&self.bytes[copied..start]);
            out.extend_from_slice(character.encode_utf8(&mut [0; 4]).as_bytes());
            // `\uXXXX\uXXXX` is twelve bytes.
            copied = start + 12;
        }
        out.extend_from_slice(&self.bytes[copied..]);
        Cow::Owned(out)
    }
}

fn closing(bracket: u8) -> u8 {
    if bracket == b'{' {
        b'}'
    } else {
        b']'
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn accepts_json_and_refuses_the_rest() {
        let good = [
            "0",
            "-0.5e+10",
            "\"a\\\"b\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"",
            " { \"a\" : [ 1 , true , false , null , { } , [ ] ] } ",
            "[[[]]]",
            "{\"\":{\"\":\"\"}}",
        ];
        for text in good {
            assert!(check(text.as_bytes(), 3).is_ok(), "{text}");
        }
        let bad = [
            "",
            " ",
            "01",
            "1.",
            ".1",
            "1e",
            "+1",
            "-",
            "tru",
            "nul",
            "[1,]",
            "[,1]",
            "{,}",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{a:1}",
            "[1 2]",
            "[1",
            "{",
            "\"abc",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u+123\"",
            "1 2",
            "[]]",
            "{}x",
            "'a'",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "[[[[]]]]",
        ];
        for text in bad {
            assert!(check(text.as_bytes(), 3).is_err(), "{text:?}");
        }
        assert!(check(&[b'"', 0xff, b'"'], 3).is_err());
    }

    #[test]
    fn depth_is_counted_outside_strings_only() {
        assert!(check(b"[[[]]]", 3).is_ok());
        assert!(check(b"[[[[]]]]", 3).is_err());
        assert!(check(b"[\"[[[[\",{\"}}}}\":[]}]", 3).is_ok());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            check(deep.as_bytes(), 32),
            Err("arrays and objects nest too deeply")
        );
    }

    #[test]
    fn rewrites_escaped_surrogate_pairs_as_utf8() {
        let checked = check(br#"{"a":"x\ud83d\ude00y","b":"\u00e9"}"#, 3).unwrap();
        assert_eq!(&*checked, "{\"a\":\"x😀y\",\"b\":\"\\u00e9\"}".as_bytes());
        let plain = br#"{"a":"\u00e9"}"#;
        assert!(matches!(check(plain, 3), Ok(Cow::Borrowed(_))));
    }
}
