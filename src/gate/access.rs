//! Access after a payment, for signing in instead of paying again (x402's `sign-in-with-x`):
//! what a payer's entry in its scope holds ([`AccessEntry`]: until when its payments give it
//! access, and the nonces of its recent sign-ins), and the two things that happen to it, a
//! payment granting access ([`grant`]) and a sign-in spending a nonce ([`sign_in`]).
//!
//! One entry per payer and scope (a route, or a named group of routes), held by the payment
//! coordinator like a payment ([`super::coordinator::Coordinator::grant_access`], `sign_in`):
//! in the Worker, one Durable Object per entry, so a nonce is spent once whatever the
//! concurrency and location. Everything here is pure: the caller passes the time.

use serde::{Deserialize, Serialize};

use super::coordinator::CoordinatorError;
use crate::evm::Address;

/// The most nonces one entry remembers at once (its sign-ins of the last
/// [`crate::siwx::MAX_AGE_S`] seconds); a sign-in past that is refused until older ones
/// expire. It bounds the entry's size, which is written at every sign-in.
pub const MAX_LIVE_NONCES: usize = 512;

/// The name of a payer's entry in a scope (its coordinator object): `v1:access:<scope>:<payer>`,
/// the address in lower case.
pub fn access_key(scope: &str, payer: &Address) -> String {
    format!("v1:access:{scope}:{}", payer.to_hex())
}

/// A payer's access in one scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    /// Until when (unix seconds) its payments give it access.
    pub until: u64,
    /// The same, per chain its payments settled on: what a smart wallet's sign-in is held
    /// to, as a contract at one address is not the same wallet on another chain.
    #[serde(default)]
    pub chains: Vec<(u64, u64)>,
    /// The nonces of its sign-ins, each with the time after which it need not be remembered
    /// (the sign-in would be too old anyway).
    pub nonces: Vec<(String, u64)>,
}

/// The body of a coordinator object's `POST /grant`: a payment settled at some time gives its
/// payer access until `until`. It answers `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantCall {
    /// The entry ([`access_key`]).
    pub key: String,
    /// Until when.
    pub until: u64,
    /// The chain the payment settled on (0 from a caller that does not say: no smart
    /// wallet's sign-in counts then).
    #[serde(default)]
    pub chain_id: u64,
    /// The caller's time.
    pub now: u64,
}

/// The body of a coordinator object's `POST /sign-in`: a sign-in whose signature checked
/// spends its nonce. It answers the [`SignInAnswer`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInCall {
    /// The entry ([`access_key`]).
    pub key: String,
    /// The sign-in's nonce.
    pub nonce: String,
    /// Until when the nonce must be remembered.
    pub nonce_until: u64,
    /// A smart wallet's sign-in: the chain its contract accepted the signature on, where a
    /// payment must have settled (`None`: a key's signature, the same wallet on every
    /// chain).
    pub contract_chain: Option<u64>,
    /// The caller's time.
    pub now: u64,
}

/// What a sign-in comes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInAnswer {
    /// The payer has access until `until`; the nonce is spent.
    Granted {
        /// Until when.
        until: u64,
    },
    /// No payment gives the payer access now.
    NotEntitled,
    /// The nonce was spent before: a replay.
    NonceUsed,
    /// The entry remembers [`MAX_LIVE_NONCES`] nonces already.
    TooMany,
}

/// A payment gives access until `call.until`, on its chain and for the wallet's key (a later
/// payment may extend it, never shorten it).
pub fn grant(entry: &mut Option<AccessEntry>, call: &GrantCall) {
    let entry = entry.get_or_insert_with(AccessEntry::default);
    entry.until = entry.until.max(call.until);
    match entry
        .chains
        .iter_mut()
        .find(|(chain, _)| *chain == call.chain_id)
    {
        Some((_, until)) => *until = (*until).max(call.until),
        None => entry.chains.push((call.chain_id, call.until)),
    }
    forget_spent(entry, call.now);
}

/// Spends a sign-in's nonce at `now`. A payer who never paid in the scope has no entry and
/// gets [`SignInAnswer::NotEntitled`] without one being made (a wallet that has not paid
/// costs no storage); a payer who has paid spends the nonce even after access ended, so a
/// sign-in is never answered twice.
pub fn sign_in(entry: &mut Option<AccessEntry>, call: &SignInCall) -> SignInAnswer {
    let Some(held) = entry.as_mut() else {
        return SignInAnswer::NotEntitled;
    };
    forget_spent(held, call.now);
    if held.nonces.iter().any(|(nonce, _)| *nonce == call.nonce) {
        return SignInAnswer::NonceUsed;
    }
    if held.nonces.len() >= MAX_LIVE_NONCES {
        return SignInAnswer::TooMany;
    }
    held.nonces.push((call.nonce.clone(), call.nonce_until));
    let until = match call.contract_chain {
        None => held.until,
        Some(chain) => held
            .chains
            .iter()
            .find(|(paid_on, _)| *paid_on == chain)
            .map_or(0, |(_, until)| *until),
    };
    if until > call.now {
        SignInAnswer::Granted { until }
    } else {
        SignInAnswer::NotEntitled
    }
}

/// When the entry holds nothing any more (access over, every nonce past its time): it may be
/// deleted then.
pub fn forget_at(entry: &AccessEntry) -> u64 {
    entry
        .nonces
        .iter()
        .map(|(_, until)| *until)
        .fold(entry.until, u64::max)
}

/// Where one access entry is kept, as JSON text: a Durable Object's storage (the Worker's,
/// the npm package's). Its holder runs one call at a time, so [`change_on`]'s
/// read-change-write is atomic.
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait AccessStorage {
    /// The stored text, if any.
    async fn read(&self) -> Result<Option<String>, String>;
    /// Stores `text`, or deletes the entry (`None`).
    async fn write(&self, text: Option<&str>) -> Result<(), String>;
}

/// Applies `change` ([`grant`], [`sign_in`]) to the stored entry and stores it again when it
/// changed.
pub async fn change_on<S: AccessStorage, T>(
    storage: &S,
    change: impl FnOnce(&mut Option<AccessEntry>) -> T,
) -> Result<T, CoordinatorError> {
    let mut entry = read_entry(storage).await?;
    let before = entry.clone();
    let answer = change(&mut entry);
    if entry != before {
        let text = entry.as_ref().map(serde_json::to_string).transpose();
        let text = text.map_err(|e| failed(e.to_string()))?;
        storage.write(text.as_deref()).await.map_err(failed)?;
    }
    Ok(answer)
}

/// What an access object's alarm does at `now`: deletes an entry that holds nothing any
/// more; returns when to look again (`None`: no entry left).
pub async fn check_access_on<S: AccessStorage>(
    storage: &S,
    now: u64,
) -> Result<Option<u64>, CoordinatorError> {
    let Some(entry) = read_entry(storage).await? else {
        return Ok(None);
    };
    let at = forget_at(&entry);
    if at > now {
        return Ok(Some(at));
    }
    storage.write(None).await.map_err(failed)?;
    Ok(None)
}

async fn read_entry<S: AccessStorage>(
    storage: &S,
) -> Result<Option<AccessEntry>, CoordinatorError> {
    let text = storage.read().await.map_err(failed)?;
    text.map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| failed(e.to_string()))
}

fn failed(detail: String) -> CoordinatorError {
    CoordinatorError { detail }
}

/// Drops the nonces that need not be remembered at `now`.
fn forget_spent(entry: &mut AccessEntry, now: u64) {
    entry.nonces.retain(|(_, until)| *until > now);
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn call(nonce: &str, now: u64) -> SignInCall {
        SignInCall {
            key: "v1:access:route:GET /a:0xab".into(),
            nonce: nonce.into(),
            nonce_until: now + 301,
            contract_chain: None,
            now,
        }
    }

    /// A payment on chain 8453 giving access until `until`, at `now`.
    fn paid(entry: &mut Option<AccessEntry>, until: u64, now: u64) {
        let call = GrantCall {
            key: "v1:access:route:GET /a:0xab".into(),
            until,
            chain_id: 8453,
            now,
        };
        grant(entry, &call);
    }

    #[test]
    fn a_wallet_that_never_paid_is_not_entitled_and_leaves_nothing() {
        let mut entry = None;
        assert_eq!(
            sign_in(&mut entry, &call("n0nce000", 10)),
            SignInAnswer::NotEntitled
        );
        assert_eq!(entry, None);
    }

    #[test]
    fn a_payment_grants_until_its_time_and_each_nonce_serves_once() {
        let mut entry = None;
        paid(&mut entry, 1_000, 10);
        assert_eq!(
            sign_in(&mut entry, &call("n0nce001", 20)),
            SignInAnswer::Granted { until: 1_000 }
        );
        assert_eq!(
            sign_in(&mut entry, &call("n0nce001", 21)),
            SignInAnswer::NonceUsed
        );
        assert_eq!(
            sign_in(&mut entry, &call("n0nce002", 999)),
            SignInAnswer::Granted { until: 1_000 }
        );
        // Access over: the nonce is still spent, and still remembered.
        assert_eq!(
            sign_in(&mut entry, &call("n0nce003", 1_000)),
            SignInAnswer::NotEntitled
        );
        assert_eq!(
            sign_in(&mut entry, &call("n0nce003", 1_001)),
            SignInAnswer::NonceUsed
        );
    }

    #[test]
    fn a_later_payment_extends_access_and_an_earlier_one_does_not_shorten_it() {
        let mut entry = None;
        paid(&mut entry, 1_000, 10);
        paid(&mut entry, 5_000, 20);
        paid(&mut entry, 2_000, 30);
        assert_eq!(entry.as_ref().map(|e| e.until), Some(5_000));
        assert_eq!(entry.map(|e| e.chains), Some(vec![(8453, 5_000)]));
    }

    #[test]
    fn a_smart_wallet_signs_in_only_on_a_chain_it_paid_on() {
        let mut entry = None;
        paid(&mut entry, 1_000, 10);
        let on = |chain, nonce: &str| SignInCall {
            contract_chain: Some(chain),
            ..call(nonce, 20)
        };
        assert_eq!(
            sign_in(&mut entry, &on(8453, "n0nce001")),
            SignInAnswer::Granted { until: 1_000 }
        );
        // The same address on another chain may be another wallet.
        assert_eq!(
            sign_in(&mut entry, &on(84532, "n0nce002")),
            SignInAnswer::NotEntitled
        );
        // A key's signature is the same wallet everywhere.
        assert_eq!(
            sign_in(&mut entry, &call("n0nce003", 20)),
            SignInAnswer::Granted { until: 1_000 }
        );
        let mut entry = Some(AccessEntry {
            until: 1_000,
            ..AccessEntry::default()
        });
        assert_eq!(
            sign_in(&mut entry, &on(8453, "n0nce004")),
            SignInAnswer::NotEntitled
        );
    }

    #[test]
    fn nonces_are_forgotten_after_their_time_and_bounded_until_then() {
        let mut entry = None;
        paid(&mut entry, 100_000, 0);
        for i in 0..MAX_LIVE_NONCES {
            let answer = sign_in(&mut entry, &call(&format!("nonce{i:05}"), 10));
            assert_eq!(answer, SignInAnswer::Granted { until: 100_000 });
        }
        assert_eq!(
            sign_in(&mut entry, &call("onetoomany", 10)),
            SignInAnswer::TooMany
        );
        // Once the first ones are past their time (10 + 301), room is made again.
        assert_eq!(
            sign_in(&mut entry, &call("onetoomany", 311)),
            SignInAnswer::Granted { until: 100_000 }
        );
        let held = entry.unwrap();
        assert_eq!(held.nonces.len(), 1);
        assert_eq!(forget_at(&held), 100_000);
    }
}
