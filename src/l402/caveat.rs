//! The first-party caveats of L402 tokens and what they grant, with aperture's semantics.
//!
//! Each caveat is `condition=value` (split at the first `=`):
//! ```text
//! services=<name>:<tier>[,<name>:<tier>…]     tier: decimal 0..=255
//! <service>_valid_until=<unix seconds>
//! <service>_capabilities=<capability>[,<capability>…]   (may be empty)
//! ```
//! A condition may repeat: a holder attenuates a token by appending a caveat, so each later
//! caveat of a condition may only narrow the one before it, and the last one decides:
//! - `services`: every `name:tier` a subset of the previous list; the last list must name the
//!   target service. A token without any `services` caveat grants nothing.
//! - `<target>_valid_until`: values non-increasing; the last must be after `now`.
//! - `<target>_capabilities`: every capability a subset of the previous list; the last list is
//!   the grant (no caveat: no restriction).
//!
//! Any other caveat, including those of other services, a `preimage=<hex>` some clients
//! append, and text without `=`, is skipped, as aperture does.

use core::fmt;

use super::macaroon::Caveat;

/// The `services` condition.
pub const SERVICES: &str = "services";
/// The suffix of a service's expiry condition (`<service>_valid_until`).
pub const VALID_UNTIL_SUFFIX: &str = "_valid_until";
/// The suffix of a service's capabilities condition (`<service>_capabilities`).
pub const CAPABILITIES_SUFFIX: &str = "_capabilities";

/// A service and tier a token grants.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Service {
    name: String,
    tier: u8,
}

/// What a token's caveats grant for the target service at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The target service's entry in the last `services` caveat.
    pub service: Service,
    /// The last `<service>_valid_until`, if any (already checked to be after `now`).
    pub valid_until: Option<u64>,
    /// The last `<service>_capabilities` list, if any; `None` means unrestricted.
    pub capabilities: Option<Vec<String>>,
}

/// Why a token's caveats do not grant the target service at `now`. The sender caused every
/// variant except [`Self::InvalidServiceName`], which is a configuration error. `index` is
/// the caveat's position in the macaroon.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaveatError {
    /// The token has no `services` caveat.
    NoServices,
    /// A `services` value that is not `<name>:<tier>[,…]` (empty name, tier not 0..=255).
    InvalidServices { index: usize },
    /// A `services` caveat names a service or tier the previous one did not.
    ServicesWidened { index: usize },
    /// The last `services` caveat does not name the target service.
    ServiceNotAllowed { service: String },
    /// A `<service>_valid_until` value that is not decimal unix seconds.
    InvalidValidUntil { index: usize },
    /// A `<service>_valid_until` later than the previous one.
    ValidUntilWidened {
        index: usize,
        previous: u64,
        current: u64,
    },
    /// The last `<service>_valid_until` is not after `now`.
    Expired { valid_until: u64, now: u64 },
    /// A `<service>_capabilities` value that is not UTF-8.
    InvalidCapabilities { index: usize },
    /// A `<service>_capabilities` caveat names a capability the previous one did not.
    CapabilitiesWidened { index: usize, capability: String },
    /// Building a caveat: a service name that is empty or holds `,`, `:` or `=`.
    InvalidServiceName,
}

impl Service {
    /// A service; its name must be non-empty and free of `,`, `:` and `=` (the separators of
    /// the caveats it appears in).
    pub fn new(name: impl Into<String>, tier: u8) -> Result<Self, CaveatError> {
        let name = name.into();
        if name.is_empty() || name.contains([',', ':', '=']) {
            return Err(CaveatError::InvalidServiceName);
        }
        Ok(Self { name, tier })
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service's tier (aperture's base tier is 0).
    pub fn tier(&self) -> u8 {
        self.tier
    }
}

/// `services=<name>:<tier>,…`.
pub fn services_caveat(services: &[Service]) -> String {
    let list: Vec<String> = services
        .iter()
        .map(|service| format!("{}:{}", service.name, service.tier))
        .collect();
    format!("{SERVICES}={}", list.join(","))
}

/// `<service>_valid_until=<unix seconds>`.
pub fn valid_until_caveat(service: &Service, valid_until: u64) -> String {
    format!("{}{VALID_UNTIL_SUFFIX}={valid_until}", service.name)
}

/// `<service>_capabilities=<csv>`; an empty list grants no capability.
pub fn capabilities_caveat(service: &Service, capabilities: &[&str]) -> String {
    format!(
        "{}{CAPABILITIES_SUFFIX}={}",
        service.name,
        capabilities.join(",")
    )
}

/// Evaluates a token's caveats, in order, for `service` at unix time `now`; see the module
/// documentation for the rules. Third-party caveats are skipped here: signature verification
/// already refuses them.
pub fn check_caveats(caveats: &[Caveat], service: &str, now: u64) -> Result<Grant, CaveatError> {
    let valid_until_condition = format!("{service}{VALID_UNTIL_SUFFIX}");
    let capabilities_condition = format!("{service}{CAPABILITIES_SUFFIX}");
    let mut services: Option<Vec<Service>> = None;
    let mut valid_until: Option<u64> = None;
    let mut capabilities: Option<Vec<String>> = None;

    for (index, caveat) in caveats.iter().enumerate() {
        let Caveat::FirstParty { id } = caveat else {
            continue;
        };
        let Some((condition, value)) = split_condition(id) else {
            continue;
        };
        if condition == SERVICES.as_bytes() {
            let current = parse_services(value).ok_or(CaveatError::InvalidServices { index })?;
            narrow(&mut services, current, |_| CaveatError::ServicesWidened {
                index,
            })?;
        } else if condition == valid_until_condition.as_bytes() {
            let current = parse_unix(value).ok_or(CaveatError::InvalidValidUntil { index })?;
            match valid_until {
                Some(previous) if current > previous => {
                    return Err(CaveatError::ValidUntilWidened {
                        index,
                        previous,
                        current,
                    })
                }
                _ => valid_until = Some(current),
            }
        } else if condition == capabilities_condition.as_bytes() {
            let current =
                parse_capabilities(value).ok_or(CaveatError::InvalidCapabilities { index })?;
            narrow(&mut capabilities, current, |capability| {
                CaveatError::CapabilitiesWidened {
                    index,
                    capability: capability.clone(),
                }
            })?;
        }
    }

    let granted = services
        .ok_or(CaveatError::NoServices)?
        .into_iter()
        .find(|granted| granted.name == service)
        .ok_or_else(|| CaveatError::ServiceNotAllowed {
            service: service.to_owned(),
        })?;
    if let Some(valid_until) = valid_until {
        if now >= valid_until {
            return Err(CaveatError::Expired { valid_until, now });
        }
    }
    Ok(Grant {
        service: granted,
        valid_until,
        capabilities,
    })
}

/// Replaces `previous` by `current` if every item of `current` was in `previous` (or there was
/// no previous list); else the error made from the first new item.
fn narrow<T: PartialEq>(
    previous: &mut Option<Vec<T>>,
    current: Vec<T>,
    widened: impl FnOnce(&T) -> CaveatError,
) -> Result<(), CaveatError> {
    if let Some(previous) = previous.as_ref() {
        if let Some(new) = current.iter().find(|item| !previous.contains(item)) {
            return Err(widened(new));
        }
    }
    *previous = Some(current);
    Ok(())
}

/// `condition=value`, split at the first `=`.
fn split_condition(caveat: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = caveat.iter().position(|&byte| byte == b'=')?;
    Some((&caveat[..at], &caveat[at + 1..]))
}

/// `<name>:<tier>[,<name>:<tier>…]`, at least one entry.
fn parse_services(value: &[u8]) -> Option<Vec<Service>> {
    let value = core::str::from_utf8(value).ok()?;
    value
        .split(',')
        .map(|entry| {
            let (name, tier) = entry.split_once(':')?;
            Service::new(name, parse_decimal(tier)?).ok()
        })
        .collect()
}

/// Decimal unix seconds.
fn parse_unix(value: &[u8]) -> Option<u64> {
    parse_decimal(core::str::from_utf8(value).ok()?)
}

/// ASCII digits only (no sign, no white space), within the target type.
fn parse_decimal<T: core::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A comma-separated list; empty items (an empty value) name no capability.
fn parse_capabilities(value: &[u8]) -> Option<Vec<String>> {
    let value = core::str::from_utf8(value).ok()?;
    Some(
        value
            .split(',')
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tier)
    }
}

impl fmt::Display for CaveatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoServices => f.write_str("token has no services caveat"),
            Self::InvalidServices { index } => {
                write!(f, "caveat {index}: services value is not name:tier,…")
            }
            Self::ServicesWidened { index } => {
                write!(f, "caveat {index}: services caveat widens the previous one")
            }
            Self::ServiceNotAllowed { service } => {
                write!(f, "token does not grant service {service:?}")
            }
            Self::InvalidValidUntil { index } => {
                write!(f, "caveat {index}: valid_until is not unix seconds")
            }
            Self::ValidUntilWidened {
                index,
                previous,
                current,
            } => write!(
                f,
                "caveat {index}: valid_until {current} is later than the previous {previous}"
            ),
            Self::Expired { valid_until, now } => {
                write!(f, "token expired at {valid_until} (now {now})")
            }
            Self::InvalidCapabilities { index } => {
                write!(f, "caveat {index}: capabilities value is not UTF-8")
            }
            Self::CapabilitiesWidened { index, capability } => write!(
                f,
                "caveat {index}: capability {capability:?} was not granted before"
            ),
            Self::InvalidServiceName => {
                f.write_str("service name is empty or contains ',', ':' or '='")
            }
        }
    }
}

impl std::error::Error for CaveatError {}
