use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `x402Version` field of a type that exists in one version only: it always writes `N`
/// and refuses to read anything else, so a v1 value cannot hold a v2 version number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Version<const N: u8>;

impl<const N: u8> Serialize for Version<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(N)
    }
}

impl<'de, const N: u8> Deserialize<'de> for Version<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let found = u64::deserialize(deserializer)?;
        if found == u64::from(N) {
            Ok(Self)
        } else {
            Err(serde::de::Error::custom(format_args!(
                "x402Version {found}, expected {N}"
            )))
        }
    }
}
