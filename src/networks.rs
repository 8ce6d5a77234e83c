//! EVM networks and their payment assets: v1 names ↔ CAIP-2 ids ↔ chain ids.
//!
//! The built-in table holds Circle's USDC on the networks x402 names. Only the Base and Base
//! Sepolia EIP-712 names are confirmed by the reference SDKs and on chain; for any other token,
//! read `name()` and `version()` from the contract and configure them here, because a wrong
//! name gives signatures that verify locally and fail on chain.

use core::fmt;

use crate::evm::Address;

/// The CAIP-2 namespace of EVM chains.
const EIP155_PREFIX: &str = "eip155:";

/// A token that can be paid with the `exact` scheme (EIP-3009).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    /// The token contract.
    pub address: Address,
    /// The EIP-712 domain name (`name()` of the contract).
    pub eip712_name: String,
    /// The EIP-712 domain version (`version()` of the contract).
    pub eip712_version: String,
    /// Decimal places of one whole token (6 for USDC).
    pub decimals: u8,
    /// Whether one whole token is one US dollar, which is what lets a `"$0.01"` price use it.
    /// edge402 knows no exchange rates.
    pub usd_stable: bool,
}

/// An EVM network (EIP-155 chain) and the assets accepted on it; the first is the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// The x402 v1 name (`base-sepolia`), where one exists.
    pub v1_name: Option<String>,
    /// What people call it (`Base Sepolia`), for pages; built-in networks have one.
    pub display_name: Option<String>,
    /// A JSON-RPC endpoint of the chain, where settlements whose outcome is unknown are
    /// looked for (the chain's own public endpoint for built-in networks that have one).
    pub rpc_url: Option<String>,
    /// Accepted assets, default first.
    pub assets: Vec<Asset>,
}

/// A registry of networks, starting from the built-in table and extended by configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Networks {
    networks: Vec<Network>,
}

/// Why a network or asset cannot be registered, or a network id is not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkError {
    /// Neither a known v1 name nor `eip155:<chain id>`.
    Unknown { id: String },
    /// The v1 name is already used by another chain.
    NameTaken { name: String, chain_id: u64 },
    /// Chain id 0 is not a chain.
    ZeroChainId,
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown { id } => write!(f, "unknown network {id:?}"),
            Self::NameTaken { name, chain_id } => {
                write!(
                    f,
                    "network name {name:?} already belongs to chain {chain_id}"
                )
            }
            Self::ZeroChainId => f.write_str("chain id 0 is not a network"),
        }
    }
}

impl std::error::Error for NetworkError {}

/// One built-in network: every one's asset is USDC version `2`, 6 decimals.
struct Builtin {
    v1_name: Option<&'static str>,
    chain_id: u64,
    usdc: &'static str,
    /// The EIP-712 domain name of its USDC.
    eip712_name: &'static str,
    display_name: &'static str,
    /// The JSON-RPC endpoint the chain's maintainers publish (rate-limited; configure your
    /// own `rpc_url` for production volumes).
    rpc_url: Option<&'static str>,
}

const BUILTIN: [Builtin; 9] = [
    Builtin {
        v1_name: Some("base"),
        chain_id: 8453,
        usdc: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        eip712_name: "USD Coin",
        display_name: "Base",
        rpc_url: Some("https://mainnet.base.org"),
    },
    Builtin {
        v1_name: Some("base-sepolia"),
        chain_id: 84532,
        usdc: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        eip712_name: "USDC",
        display_name: "Base Sepolia",
        rpc_url: Some("https://sepolia.base.org"),
    },
    Builtin {
        v1_name: Some("polygon"),
        chain_id: 137,
        usdc: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
        eip712_name: "USD Coin",
        display_name: "Polygon",
        rpc_url: Some("https://polygon-rpc.com"),
    },
    Builtin {
        v1_name: Some("polygon-amoy"),
        chain_id: 80002,
        usdc: "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582",
        eip712_name: "USDC",
        display_name: "Polygon Amoy",
        rpc_url: Some("https://rpc-amoy.polygon.technology"),
    },
    Builtin {
        v1_name: Some("avalanche"),
        chain_id: 43114,
        usdc: "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E",
        eip712_name: "USD Coin",
        display_name: "Avalanche",
        rpc_url: Some("https://api.avax.network/ext/bc/C/rpc"),
    },
    Builtin {
        v1_name: Some("avalanche-fuji"),
        chain_id: 43113,
        usdc: "0x5425890298aed601595a70AB815c96711a31Bc65",
        eip712_name: "USD Coin",
        display_name: "Avalanche Fuji",
        rpc_url: Some("https://api.avax-test.network/ext/bc/C/rpc"),
    },
    Builtin {
        v1_name: None,
        chain_id: 42161,
        usdc: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
        eip712_name: "USD Coin",
        display_name: "Arbitrum One",
        rpc_url: Some("https://arb1.arbitrum.io/rpc"),
    },
    Builtin {
        v1_name: None,
        chain_id: 421614,
        usdc: "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d",
        eip712_name: "USD Coin",
        display_name: "Arbitrum Sepolia",
        rpc_url: Some("https://sepolia-rollup.arbitrum.io/rpc"),
    },
    Builtin {
        v1_name: Some("ethereum"),
        chain_id: 1,
        usdc: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        eip712_name: "USD Coin",
        display_name: "Ethereum",
        rpc_url: None,
    },
];

impl Network {
    /// The CAIP-2 id, `eip155:<chain id>`.
    pub fn caip2(&self) -> String {
        format!("{EIP155_PREFIX}{}", self.chain_id)
    }

    /// The default asset (the first configured).
    pub fn default_asset(&self) -> Option<&Asset> {
        self.assets.first()
    }

    /// The accepted asset at `address`.
    pub fn asset(&self, address: &Address) -> Option<&Asset> {
        self.assets.iter().find(|asset| asset.address == *address)
    }
}

impl Default for Networks {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Networks {
    /// The built-in table (USDC on the networks x402 names).
    pub fn builtin() -> Self {
        let networks = BUILTIN
            .iter()
            .map(
                |&Builtin {
                     v1_name,
                     chain_id,
                     usdc: address,
                     eip712_name: name,
                     display_name,
                     rpc_url,
                 }| Network {
                    chain_id,
                    v1_name: v1_name.map(str::to_owned),
                    display_name: Some(display_name.to_owned()),
                    rpc_url: rpc_url.map(str::to_owned),
                    assets: vec![Asset {
                        // The table's literals are valid addresses (checked by a unit test).
                        address: address.parse().expect("built-in address"),
                        eip712_name: name.to_owned(),
                        eip712_version: "2".to_owned(),
                        decimals: 6,
                        usd_stable: true,
                    }],
                },
            )
            .collect();
        Self { networks }
    }

    /// An empty registry, for configurations that name every network themselves.
    pub fn empty() -> Self {
        Self {
            networks: Vec::new(),
        }
    }

    /// All registered networks.
    pub fn iter(&self) -> impl Iterator<Item = &Network> {
        self.networks.iter()
    }

    /// Finds a network by v1 name (`base-sepolia`) or CAIP-2 id (`eip155:84532`).
    pub fn resolve(&self, id: &str) -> Result<&Network, NetworkError> {
        let found = match parse_caip2(id) {
            Some(chain_id) => self.by_chain_id(chain_id),
            None => self
                .networks
                .iter()
                .find(|n| n.v1_name.as_deref() == Some(id)),
        };
        found.ok_or_else(|| NetworkError::Unknown { id: id.to_owned() })
    }

    /// The chain a network id names (a v1 name or a CAIP-2 id), when it is registered.
    pub fn chain_id(&self, id: &str) -> Option<u64> {
        self.resolve(id).ok().map(|n| n.chain_id)
    }

    /// Finds a network by EIP-155 chain id.
    pub fn by_chain_id(&self, chain_id: u64) -> Option<&Network> {
        self.networks.iter().find(|n| n.chain_id == chain_id)
    }

    /// Adds a network, or merges into the one with the same chain id: a given v1 name replaces
    /// the old one, and each asset replaces any asset at the same address (so a configuration
    /// can correct a built-in EIP-712 name) or is appended after the existing ones.
    pub fn add(&mut self, network: Network) -> Result<(), NetworkError> {
        if network.chain_id == 0 {
            return Err(NetworkError::ZeroChainId);
        }
        if let Some(name) = &network.v1_name {
            if let Some(other) = self
                .networks
                .iter()
                .find(|n| n.v1_name.as_ref() == Some(name) && n.chain_id != network.chain_id)
            {
                return Err(NetworkError::NameTaken {
                    name: name.clone(),
                    chain_id: other.chain_id,
                });
            }
        }
        let Some(existing) = self
            .networks
            .iter_mut()
            .find(|n| n.chain_id == network.chain_id)
        else {
            self.networks.push(network);
            return Ok(());
        };
        if network.v1_name.is_some() {
            existing.v1_name = network.v1_name;
        }
        if network.display_name.is_some() {
            existing.display_name = network.display_name;
        }
        if network.rpc_url.is_some() {
            existing.rpc_url = network.rpc_url;
        }
        for asset in network.assets {
            match existing
                .assets
                .iter_mut()
                .find(|a| a.address == asset.address)
            {
                Some(slot) => *slot = asset,
                None => existing.assets.push(asset),
            }
        }
        Ok(())
    }
}

/// Reads `eip155:<chain id>` (decimal, no sign, no leading zeros).
fn parse_caip2(id: &str) -> Option<u64> {
    let digits = id.strip_prefix(EIP155_PREFIX)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn builtin_table_resolves_both_spellings() {
        let networks = Networks::builtin();
        for network in networks.iter() {
            let by_caip = networks.resolve(&network.caip2()).unwrap();
            assert_eq!(by_caip.chain_id, network.chain_id);
            if let Some(name) = &network.v1_name {
                assert_eq!(networks.resolve(name).unwrap().chain_id, network.chain_id);
            }
        }
        let sepolia = networks.resolve("base-sepolia").unwrap();
        assert_eq!(sepolia.caip2(), "eip155:84532");
        let usdc = sepolia.default_asset().unwrap();
        assert_eq!(
            usdc.address.to_string(),
            "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
        );
        assert_eq!((usdc.eip712_name.as_str(), usdc.decimals), ("USDC", 6));
        assert_eq!(
            networks
                .resolve("base")
                .unwrap()
                .default_asset()
                .unwrap()
                .eip712_name,
            "USD Coin"
        );
        assert!(networks.resolve("eip155:42161").unwrap().v1_name.is_none());
    }

    #[test]
    fn unknown_and_non_canonical_ids_are_refused() {
        let networks = Networks::builtin();
        for id in [
            "",
            "Base",
            "eip155:",
            "eip155:084532",
            "eip155:+84532",
            "eip155:99999999",
            "solana:5eykt4",
            "eip155:84532 ",
        ] {
            assert_eq!(
                networks.resolve(id),
                Err(NetworkError::Unknown { id: id.to_owned() }),
                "{id}"
            );
        }
    }

    #[test]
    fn configuration_adds_networks_and_corrects_assets() {
        let mut networks = Networks::builtin();
        let token: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
            .parse()
            .unwrap();
        let custom = Asset {
            address: token,
            eip712_name: "Test".into(),
            eip712_version: "1".into(),
            decimals: 18,
            usd_stable: false,
        };
        networks
            .add(Network {
                chain_id: 31337,
                v1_name: Some("local".into()),
                display_name: None,
                rpc_url: None,
                assets: vec![custom.clone()],
            })
            .unwrap();
        assert_eq!(
            networks.resolve("local").unwrap().asset(&token),
            Some(&custom)
        );
        assert_eq!(networks.resolve("eip155:31337").unwrap().chain_id, 31337);

        let usdc = networks.resolve("polygon").unwrap().assets[0].clone();
        let corrected = Asset {
            eip712_name: "USDC".into(),
            ..usdc.clone()
        };
        networks
            .add(Network {
                chain_id: 137,
                v1_name: None,
                display_name: None,
                rpc_url: None,
                assets: vec![corrected.clone(), custom.clone()],
            })
            .unwrap();
        let polygon = networks.resolve("polygon").unwrap();
        assert_eq!(polygon.assets, vec![corrected, custom]);

        assert_eq!(
            networks.add(Network {
                chain_id: 5,
                v1_name: Some("base".into()),
                display_name: None,
                rpc_url: None,
                assets: vec![]
            }),
            Err(NetworkError::NameTaken {
                name: "base".into(),
                chain_id: 8453
            })
        );
        assert_eq!(
            networks.add(Network {
                chain_id: 0,
                v1_name: None,
                display_name: None,
                rpc_url: None,
                assets: vec![]
            }),
            Err(NetworkError::ZeroChainId)
        );
    }
}
