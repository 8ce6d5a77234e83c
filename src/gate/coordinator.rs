//! The payment coordinator as the flow sees it ([`Coordinator`]), and the one way its
//! implementations run the [`super::ledger`] state machine over a payment's entry
//! ([`EntrySlot`]): the Worker's Durable Object (one object per payment, which makes every
//! payment's state single-writer across isolates) and the in-memory coordinator of a single
//! process both call [`claim_on`], [`conclude_on`] and [`check_on`]. It also holds payers'
//! access after a payment ([`super::access`]), one entry per payer and scope.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::access::{GrantCall, SignInAnswer, SignInCall};
use super::ledger::{
    self, claim, conclude, expire_lease, find_evidence, forget_at, next_check, ChainReader, Claim,
    Conclusion, Entry, PaymentRecord, PaymentState,
};

/// How long a claim waits, at most, for another request's settlement before it answers that
/// the payment is still settling (the client may retry with the same payment).
pub const MAX_WAIT_S: u64 = 30;
/// How soon a retry may ask the chain again about an unknown payment.
pub const INLINE_RECHECK_S: u64 = 2;

/// The only writer of payments' states.
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait Coordinator {
    /// Claims a payment for one settlement attempt at `now`, for `lease_s` seconds (`None`:
    /// only looks, see [`ledger::claim`]); while another request holds the claim, waits (at
    /// most [`MAX_WAIT_S`]) for its outcome. An unknown payment is looked for on chain before
    /// the answer.
    async fn claim(
        &self,
        record: &PaymentRecord,
        lease_s: Option<u64>,
        now: u64,
    ) -> Result<Claim, CoordinatorError>;

    /// Records how the claimed attempt ended, and returns the payment's state afterwards
    /// (`None` once a claim is released). An unknown outcome is looked for on chain at once,
    /// so it may already be settled.
    async fn conclude(
        &self,
        record: &PaymentRecord,
        conclusion: Conclusion,
        now: u64,
    ) -> Result<Option<PaymentState>, CoordinatorError>;

    /// Records the settlement of the claimed attempt that the facilitator reported and the
    /// gateway believes (`conclusion` is [`Conclusion::Settled`]): the answer to the client
    /// does not depend on it, so a shell that can finish work after answering (a Worker's
    /// `waitUntil`) may do it then, saving the client a round trip. Should it never land,
    /// the claim's lease runs out and the chain proves the transfer. By default, as
    /// [`Coordinator::conclude`].
    async fn conclude_settled(
        &self,
        record: &PaymentRecord,
        conclusion: Conclusion,
        now: u64,
    ) -> Result<(), CoordinatorError> {
        self.conclude(record, conclusion, now).await.map(|_| ())
    }

    /// Records that a payment gives its payer access in a scope until `call.until` (see
    /// [`super::access::grant`]): one entry per payer and scope, named by `call.key`.
    async fn grant_access(&self, call: &GrantCall) -> Result<(), CoordinatorError>;

    /// Spends a checked sign-in's nonce in its payer's entry, and answers whether the payer
    /// has access (see [`super::access::sign_in`]).
    async fn sign_in(&self, call: &SignInCall) -> Result<SignInAnswer, CoordinatorError>;
}

/// The body of a coordinator object's `POST /claim` (a payment's Durable Object, in the
/// Worker and in the JavaScript gateway alike); it answers the [`Claim`] as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClaimCall {
    /// The payment.
    pub record: PaymentRecord,
    /// The claim's lease (`None`: only look).
    pub lease_s: Option<u64>,
    /// The caller's time.
    pub now: u64,
}

/// The body of a coordinator object's `POST /conclude`; it answers the payment's state
/// (`Option<PaymentState>`) as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConcludeCall {
    /// The payment.
    pub record: PaymentRecord,
    /// How the claimed attempt ended.
    pub conclusion: Conclusion,
    /// The caller's time.
    pub now: u64,
}

/// The coordinator could not be reached or answered something else than its API: nothing is
/// served (fail closed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorError {
    /// What happened, for the log.
    pub detail: String,
}

impl fmt::Display for CoordinatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payment coordinator unavailable: {}", self.detail)
    }
}

/// One payment's entry as a coordinator implementation holds it: the current value in memory
/// (read and replaced without awaiting, so one single-threaded holder is one writer), its
/// persistence, and a wait for the next change.
#[allow(async_fn_in_trait)]
pub trait EntrySlot {
    /// The entry now.
    fn current(&self) -> Option<Entry>;
    /// Replaces the entry (in memory) and wakes whoever waits for a change.
    fn replace(&self, entry: Option<Entry>);
    /// Writes the entry where it survives the holder (storage), and its side copies (the
    /// receipt in KV when settled, the operator's index).
    async fn persist(&self) -> Result<(), String>;
    /// Waits until the entry changes or unix time `until`, whichever comes first; returns the
    /// time then.
    async fn changed(&self, until: u64) -> u64;
}

/// [`Coordinator::claim`] over a slot.
pub async fn claim_on<S: EntrySlot, C: ChainReader>(
    slot: &S,
    chain: &C,
    record: &PaymentRecord,
    lease_s: Option<u64>,
    mut now: u64,
) -> Result<Claim, CoordinatorError> {
    let give_up = now.saturating_add(MAX_WAIT_S);
    let mut waited = false;
    loop {
        recheck_unknown(slot, chain, now, INLINE_RECHECK_S).await;
        let before = slot.current();
        // A copy that waited for the holder's attempt shares its refusal too: one `/settle`
        // per payment, whatever the concurrency.
        if let (true, Some(PaymentState::Refused { reason, .. })) =
            (waited, before.as_ref().map(|e| &e.state))
        {
            return Ok(Claim::Refused {
                reason: reason.clone(),
            });
        }
        let mut entry = before.clone();
        let answer = claim(&mut entry, record, now, lease_s);
        if entry != before {
            slot.replace(entry);
            if let Err(error) = persist(slot).await {
                // Not written, so not granted: nobody may wait for a claim that is not there.
                slot.replace(before);
                return Err(error);
            }
        }
        match answer {
            Claim::Wait { until } if now < give_up => {
                waited = true;
                now = slot.changed(until.min(give_up)).await;
            }
            answer => return Ok(answer),
        }
    }
}

/// [`Coordinator::conclude`] over a slot.
pub async fn conclude_on<S: EntrySlot, C: ChainReader>(
    slot: &S,
    chain: &C,
    record: &PaymentRecord,
    conclusion: Conclusion,
    now: u64,
) -> Result<Option<PaymentState>, CoordinatorError> {
    let mut entry = slot.current().or_else(|| {
        // The holder lost its memory and storage had nothing (a new object for a concluded
        // claim): the conclusion still counts.
        Some(Entry {
            record: record.clone(),
            state: PaymentState::Settling {
                since: now,
                lease_until: now,
            },
        })
    });
    conclude(&mut entry, conclusion, now);
    slot.replace(entry);
    persist(slot).await?;
    recheck_unknown(slot, chain, now, 0).await;
    Ok(slot.current().map(|entry| entry.state))
}

/// What a coordinator does without a request (an alarm): a claim past its lease becomes
/// unknown, an unknown payment is looked for on chain, and a decided one past
/// [`forget_at`] is forgotten. Returns when to look again.
pub async fn check_on<S: EntrySlot, C: ChainReader>(slot: &S, chain: &C, now: u64) -> Option<u64> {
    if let Some(mut entry) = slot.current() {
        expire_lease(&mut entry, now);
        let forget = forget_at(&entry).is_some_and(|at| now >= at);
        let after = (!forget).then_some(entry);
        if after != slot.current() {
            slot.replace(after);
            // A failed write is retried by the next check.
            let _ = slot.persist().await;
        }
    }
    recheck_unknown(slot, chain, now, 0).await;
    slot.current().and_then(|entry| next_check(&entry, now))
}

/// Asks the chain about an unknown payment unless it was asked less than `min_age_s` ago
/// (or is being asked: the time is noted before asking), and applies the answer if the
/// payment is still unknown then. A chain that cannot be asked leaves it unknown, with why.
async fn recheck_unknown<S: EntrySlot, C: ChainReader>(
    slot: &S,
    chain: &C,
    now: u64,
    min_age_s: u64,
) {
    let Some(entry) = slot.current() else {
        return;
    };
    let PaymentState::Unknown {
        checked_at,
        transaction,
        ..
    } = &entry.state
    else {
        return;
    };
    if checked_at.is_some_and(|at| now < at.saturating_add(min_age_s.max(1))) {
        return;
    }
    let hint = transaction.clone();
    let mut asking = entry.clone();
    if let PaymentState::Unknown { checked_at, .. } = &mut asking.state {
        *checked_at = Some(now);
    }
    slot.replace(Some(asking));
    let found = find_evidence(chain, &entry.record, hint.as_deref()).await;
    // The chain was asked with the slot free: apply the answer only to what is there now.
    let Some(mut entry) = slot.current() else {
        return;
    };
    match found {
        Ok(evidence) => ledger::reconcile(&mut entry, evidence, now),
        Err(error) => {
            if let PaymentState::Unknown { chain_error, .. } = &mut entry.state {
                *chain_error = Some(error.to_string());
            }
        }
    }
    slot.replace(Some(entry));
    let _ = slot.persist().await;
}

async fn persist<S: EntrySlot>(slot: &S) -> Result<(), CoordinatorError> {
    slot.persist()
        .await
        .map_err(|detail| CoordinatorError { detail })
}
