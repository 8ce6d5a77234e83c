//! The macaroon V2 binary format (go-macaroon `MarshalBinary`, libmacaroons `MACAROON_V2`).
//!
//! ```text
//! macaroon = 0x02 [field(1, location)] field(2, identifier) 0x00
//!            { caveat } 0x00
//!            field(6, signature[32])
//! caveat   = [field(1, location)] field(2, id) [field(4, verification id)] 0x00
//! field    = type-byte varint(len) bytes[len]
//! ```
//! Lengths are unsigned LEB128 varints. This reader is strict, so that every input it accepts
//! is the one serialisation of its value:
//! - at most [`MAX_MACAROON_LEN`] bytes in all;
//! - varints minimal (no trailing `0x80 … 0x00` padding), at most 10 bytes, within `u64`,
//!   and no longer than the input left after them;
//! - fields exactly in the order above, each at most once;
//! - a location only on a third-party caveat (one with a verification id), as go-macaroon
//!   requires; locations UTF-8;
//! - a 32-byte signature and nothing after it.

use super::macaroon::{Caveat, FieldType, Macaroon, MacaroonError, MAX_MACAROON_LEN};

/// The version byte that starts every V2 macaroon.
pub const VERSION: u8 = 2;

/// A LEB128 varint holds at most this many bytes (`ceil(64 / 7)`).
const MAX_VARINT_LEN: usize = 10;

/// Reads a macaroon from its V2 binary form.
pub(super) fn decode(bytes: &[u8]) -> Result<Macaroon, MacaroonError> {
    if bytes.len() > MAX_MACAROON_LEN {
        return Err(MacaroonError::TooLarge { len: bytes.len() });
    }
    let mut reader = Reader { rest: bytes };
    let version = reader.byte()?;
    if version != VERSION {
        return Err(MacaroonError::UnsupportedVersion { version });
    }

    let location = reader
        .optional(FieldType::Location)?
        .map(utf8)
        .transpose()?;
    let identifier = reader.required(FieldType::Identifier)?.to_vec();
    reader.end_of_section()?;

    let mut caveats = Vec::new();
    while reader.optional(FieldType::EndOfSection)?.is_none() {
        caveats.push(reader.caveat()?);
    }

    let signature = reader.required(FieldType::Signature)?;
    let signature = signature
        .try_into()
        .map_err(|_| MacaroonError::SignatureLength {
            len: signature.len(),
        })?;
    if !reader.rest.is_empty() {
        return Err(MacaroonError::TrailingBytes {
            count: reader.rest.len(),
        });
    }
    Ok(Macaroon {
        location,
        identifier,
        caveats,
        signature,
    })
}

/// Writes a macaroon in its V2 binary form.
pub(super) fn encode(macaroon: &Macaroon) -> Vec<u8> {
    let mut out = vec![VERSION];
    if let Some(location) = &macaroon.location {
        write_field(&mut out, FieldType::Location, location.as_bytes());
    }
    write_field(&mut out, FieldType::Identifier, &macaroon.identifier);
    out.push(FieldType::EndOfSection.byte());
    for caveat in &macaroon.caveats {
        match caveat {
            Caveat::FirstParty { id } => write_field(&mut out, FieldType::Identifier, id),
            Caveat::ThirdParty {
                location,
                id,
                verification_id,
            } => {
                if let Some(location) = location {
                    write_field(&mut out, FieldType::Location, location.as_bytes());
                }
                write_field(&mut out, FieldType::Identifier, id);
                write_field(&mut out, FieldType::VerificationId, verification_id);
            }
        }
        out.push(FieldType::EndOfSection.byte());
    }
    out.push(FieldType::EndOfSection.byte());
    write_field(&mut out, FieldType::Signature, &macaroon.signature);
    out
}

/// The unread part of the input.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, MacaroonError> {
        let (&first, rest) = self
            .rest
            .split_first()
            .ok_or(MacaroonError::UnexpectedEnd)?;
        self.rest = rest;
        Ok(first)
    }

    /// The type of the next field, without consuming it.
    fn peek_type(&self) -> Result<FieldType, MacaroonError> {
        let &byte = self.rest.first().ok_or(MacaroonError::UnexpectedEnd)?;
        FieldType::from_byte(byte).ok_or(MacaroonError::UnknownFieldType { found: byte })
    }

    /// The next field's data if it has type `wanted` (an end of section has none), else
    /// `None` with nothing consumed.
    fn optional(&mut self, wanted: FieldType) -> Result<Option<&'a [u8]>, MacaroonError> {
        if self.peek_type()? != wanted {
            return Ok(None);
        }
        self.byte()?;
        if wanted == FieldType::EndOfSection {
            return Ok(Some(&[]));
        }
        let len = self.varint()?;
        let remaining = self.rest.len();
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= remaining)
            .ok_or(MacaroonError::LengthExceedsInput { len, remaining })?;
        let (data, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(Some(data))
    }

    /// The next field's data, which must have type `wanted`.
    fn required(&mut self, wanted: FieldType) -> Result<&'a [u8], MacaroonError> {
        match self.optional(wanted)? {
            Some(data) => Ok(data),
            None => Err(MacaroonError::UnexpectedField {
                expected: wanted,
                found: self.peek_type()?,
            }),
        }
    }

    fn end_of_section(&mut self) -> Result<(), MacaroonError> {
        self.required(FieldType::EndOfSection).map(|_| ())
    }

    /// One caveat section, after its first byte was seen not to end the caveat list.
    fn caveat(&mut self) -> Result<Caveat, MacaroonError> {
        let location = self.optional(FieldType::Location)?.map(utf8).transpose()?;
        let id = self.required(FieldType::Identifier)?.to_vec();
        let verification_id = self
            .optional(FieldType::VerificationId)?
            .map(<[u8]>::to_vec);
        self.end_of_section()?;
        match (location, verification_id) {
            (None, None) => Ok(Caveat::FirstParty { id }),
            (Some(_), None) => Err(MacaroonError::FirstPartyCaveatLocation),
            (location, Some(verification_id)) => Ok(Caveat::ThirdParty {
                location,
                id,
                verification_id,
            }),
        }
    }

    /// An unsigned LEB128 varint in its minimal encoding.
    fn varint(&mut self) -> Result<u64, MacaroonError> {
        let mut value: u64 = 0;
        for index in 0..MAX_VARINT_LEN {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte carries bit 63 only.
            if index == MAX_VARINT_LEN - 1 && byte > 1 {
                return Err(MacaroonError::VarintTooLong);
            }
            value |= bits << (7 * index);
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    return Err(MacaroonError::VarintOverlong);
                }
                return Ok(value);
            }
        }
        Err(MacaroonError::VarintTooLong)
    }
}

fn utf8(bytes: &[u8]) -> Result<String, MacaroonError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| MacaroonError::LocationNotUtf8)
}

fn write_field(out: &mut Vec<u8>, field: FieldType, data: &[u8]) {
    out.push(field.byte());
    write_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
