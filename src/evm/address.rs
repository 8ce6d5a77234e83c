use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::keccak256;
use super::kept::Kept;

/// How many addresses' checksums [`Address::checksum_digits`] keeps (the oldest goes first):
/// a token and a `payTo` or a few, and the latest payers.
const KEPT_CHECKSUMS: usize = 8;

/// A 20-byte EVM account or contract address.
///
/// Input is accepted all lower case, all upper case, or in its EIP-55 checksum form; mixed
/// case that is not the checksum is refused (it is most often a mistyped address). Compare
/// addresses as values, never as strings; output is always the EIP-55 form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

/// A 32-byte value written as `0x` + 64 hex digits (an EIP-3009 nonce, a hash).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes32(pub [u8; 32]);

/// Why a string is not an address or a 32-byte value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// It does not start with `0x`.
    MissingPrefix,
    /// It is not hexadecimal, or not of the expected length in bytes.
    BadHex { expected_bytes: usize },
    /// Mixed letter case that is not the EIP-55 checksum.
    BadChecksum,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingPrefix => f.write_str("missing 0x prefix"),
            Self::BadHex { expected_bytes } => {
                write!(f, "expected 0x and {} hex digits", expected_bytes * 2)
            }
            Self::BadChecksum => f.write_str("mixed-case address that fails its EIP-55 checksum"),
        }
    }
}

impl std::error::Error for AddressError {}

/// Decodes `0x` + exactly `2 * N` hex digits, either case.
fn parse_prefixed_hex<const N: usize>(text: &str) -> Result<[u8; N], AddressError> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or(AddressError::MissingPrefix)?;
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|_| AddressError::BadHex { expected_bytes: N })?;
    Ok(out)
}

impl Address {
    /// The address of a secp256k1 public key: the last 20 bytes of keccak256 of its
    /// uncompressed `x || y` coordinates.
    pub fn from_uncompressed_point(x_and_y: &[u8; 64]) -> Self {
        let hash = keccak256(&[x_and_y]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Self(out)
    }

    /// The EIP-55 checksummed form: a hex letter is upper case when the matching nibble of
    /// keccak256(lower-case hex) is 8 or more.
    pub fn to_checksum(&self) -> String {
        let digits = self.checksum_digits();
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        out.push_str(core::str::from_utf8(&digits).expect("hex digits are ASCII"));
        out
    }

    /// The 40 hex digits of [`Address::to_checksum`], without the `0x`.
    ///
    /// The checksums of the last [`KEPT_CHECKSUMS`] addresses are kept: one payment names
    /// the same addresses more than once (`payTo` in the offer and in the authorisation,
    /// the payer read and then written back), and the asset and `payTo` come back payment
    /// after payment.
    fn checksum_digits(&self) -> [u8; 40] {
        thread_local! {
            static KEPT: Kept<Address, [u8; 40], KEPT_CHECKSUMS> = const { Kept::new() };
        }
        KEPT.with(|kept| kept.get_or_compute(self, Self::hash_checksum_digits))
    }

    /// [`Address::checksum_digits`], computed.
    fn hash_checksum_digits(&self) -> [u8; 40] {
        let mut digits = [0u8; 40];
        hex::encode_to_slice(self.0, &mut digits).expect("20 bytes take 40 hex digits");
        let hash = keccak256(&[&digits]);
        for (i, digit) in digits.iter_mut().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            if nibble >= 8 {
                digit.make_ascii_uppercase();
            }
        }
        digits
    }

    /// The value ABI-encoded as a 32-byte word (left-padded with zeros).
    pub fn to_word(&self) -> [u8; 32] {
        let mut word = [0u8; 32];
        word[12..].copy_from_slice(&self.0);
        word
    }
}

impl Address {
    /// Reads an address in any letter case, without the EIP-55 check [`FromStr`] makes: for
    /// answers of services the gateway already trusts (a facilitator, a chain node), where
    /// a careless letter case must not stop a settled payment from being recognised.
    pub fn parse_any_case(text: &str) -> Result<Self, AddressError> {
        parse_prefixed_hex(text).map(Self)
    }

    /// `0x` + 40 lower-case hex digits (no checksum: see [`Address::to_checksum`]).
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl Bytes32 {
    /// `0x` + 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let address = Self::parse_any_case(text)?;
        let digits = &text[2..];
        let mixed = digits.bytes().any(|b| b.is_ascii_lowercase())
            && digits.bytes().any(|b| b.is_ascii_uppercase());
        if mixed && address.checksum_digits() != digits.as_bytes() {
            return Err(AddressError::BadChecksum);
        }
        Ok(address)
    }
}

impl FromStr for Bytes32 {
    type Err = AddressError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_prefixed_hex(text).map(Self)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Display for Bytes32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Bytes32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

macro_rules! serde_via_str {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_via_str!(Address);
serde_via_str!(Bytes32);

/// `#[serde(with = "lower_hex")]` for an [`Address`] the gateway stores or sends between its
/// own parts (receipts, the payment coordinator's records): `0x` and lower-case hex, since
/// an EIP-55 checksum costs a Keccak hash at every write and tells nobody anything there.
/// It reads either spelling. Protocol messages keep the checksum (`Address`'s own serde).
pub mod lower_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Address;

    /// Writes `0x` and lower-case hex.
    pub fn serialize<S: Serializer>(address: &Address, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&address.to_hex())
    }

    /// Reads an address as `Address` does.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Address, D::Error> {
        Address::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    // EIP-55's own examples (https://eips.ethereum.org/EIPS/eip-55#test-cases).
    const EIP55: [&str; 4] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn eip55_examples_round_trip_from_any_case() {
        for expected in EIP55 {
            let lower: Address = expected.to_lowercase().parse().unwrap();
            let upper: Address = format!("0x{}", expected[2..].to_uppercase())
                .parse()
                .unwrap();
            assert_eq!(lower, upper);
            assert_eq!(lower.to_checksum(), expected);
            assert_eq!(expected.parse::<Address>(), Ok(lower));
        }
    }

    #[test]
    fn kept_checksums_are_the_computed_ones() {
        let addresses: Vec<Address> = (0..KEPT_CHECKSUMS as u8 + 3)
            .map(|i| Address([i.wrapping_mul(37) ^ 0x5a; 20]))
            .chain(
                EIP55
                    .iter()
                    .map(|text| Address::parse_any_case(text).unwrap()),
            )
            .collect();
        // Each after every other and after itself, with more addresses than are kept, so
        // each is asked for while kept and after it went.
        for _ in 0..2 {
            for first in &addresses {
                for second in &addresses {
                    first.checksum_digits();
                    assert_eq!(second.checksum_digits(), second.hash_checksum_digits());
                    assert_eq!(second.checksum_digits(), second.hash_checksum_digits());
                }
            }
        }
        for expected in EIP55 {
            assert_eq!(
                Address::parse_any_case(expected).unwrap().to_checksum(),
                expected
            );
        }
    }

    #[test]
    fn mixed_case_must_be_the_checksum() {
        for expected in EIP55 {
            // One letter's case flipped: mixed case, but not the checksum.
            let at = expected[2..]
                .find(|c: char| c.is_ascii_alphabetic())
                .unwrap()
                + 2;
            let mut flipped = expected.to_owned();
            let letter = flipped.remove(at);
            let swapped = if letter.is_ascii_uppercase() {
                letter.to_ascii_lowercase()
            } else {
                letter.to_ascii_uppercase()
            };
            flipped.insert(at, swapped);
            assert_eq!(
                flipped.parse::<Address>(),
                Err(AddressError::BadChecksum),
                "{flipped}"
            );
            // Upstream answers are read in any case.
            assert_eq!(
                Address::parse_any_case(&flipped),
                expected.parse::<Address>()
            );
        }
    }

    #[test]
    fn refuses_wrong_lengths_and_prefixes() {
        assert_eq!(
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".parse::<Address>(),
            Err(AddressError::MissingPrefix)
        );
        for bad in [
            "0x",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",
            "0xzz",
        ] {
            assert_eq!(
                bad.parse::<Address>(),
                Err(AddressError::BadHex { expected_bytes: 20 })
            );
        }
        assert!("0x01".parse::<Bytes32>().is_err());
    }
}
