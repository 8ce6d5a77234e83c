//! The payment coordinator as a Durable Object (binding `PAYMENTS`, class
//! `PaymentCoordinator`): one object per payment, named by its receipt key, so that one
//! payment's state has one writer across all isolates and locations; and one per payer's
//! access in a scope ([`crate::gate::access`], named by its access key), so that a sign-in's
//! nonce is spent once. The object runs the
//! ledger's state machine through [`crate::gate::coordinator`]; this file only keeps its
//! entry (in memory, and in the object's storage so it survives eviction), wakes the copies
//! waiting for a settlement, writes the receipt into KV once settled, keeps the operator's
//! index, and sets the alarm that reconciles an unknown payment from the chain.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::select;
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{
    console_error, durable_object, Context, Date, DurableObject, Env, Request, Response, Result,
    State,
};

use super::objects::{call_object, read_json};
use super::outbound::FetchExchange;
use super::spent::Spent;
use super::RECEIPTS_KV;
use crate::config::MIN_RECEIPT_TTL_S;
use crate::gate::access::{
    self, change_on, check_access_on, AccessStorage, GrantCall, SignInAnswer, SignInCall,
};
use crate::gate::coordinator::{
    check_on, claim_on, conclude_on, ClaimCall, ConcludeCall, Coordinator, CoordinatorError,
    EntrySlot,
};
use crate::gate::ledger::{
    next_check, serves_until, Claim, Conclusion, Entry, PaymentRecord, PaymentState,
};
use crate::gate::receipt::payment_index_key;
use crate::gate::remote::{RpcChains, RPC_TIMEOUT_MS};
use crate::networks::Networks;

/// The Durable Object binding (`wrangler.toml`, class `PaymentCoordinator`).
pub const PAYMENTS_BINDING: &str = "PAYMENTS";
/// The storage key of the entry (as JSON text).
const ENTRY: &str = "entry";
/// The storage key of a payer's access entry (as JSON text), in an access object.
const ACCESS: &str = "access";
/// How long the operator's index keeps a payment the chain refused (an unknown one is kept
/// until it is decided).
const REFUSED_INDEX_TTL_S: u64 = 30 * 24 * 3600;

/// One payment.
#[durable_object]
pub struct PaymentCoordinator {
    state: State,
    env: Env,
    /// The entry; `None` until read from storage.
    entry: RefCell<Option<Option<Entry>>>,
    /// Copies of the payment waiting for the entry to change.
    waiters: RefCell<Vec<oneshot::Sender<()>>>,
    /// Whether the operator's index holds this payment.
    indexed: Cell<bool>,
}

impl DurableObject for PaymentCoordinator {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            entry: RefCell::new(None),
            waiters: RefCell::default(),
            indexed: Cell::new(false),
        }
    }

    async fn fetch(&self, mut request: Request) -> Result<Response> {
        self.load().await?;
        let networks = self.networks();
        let chain = RpcChains::new(FetchExchange, networks, RPC_TIMEOUT_MS);
        let path = request.path();
        let answer = match path.as_str() {
            "/claim" => {
                let call: ClaimCall = read_json(&mut request).await?;
                let claimed = claim_on(self, &chain, &call.record, call.lease_s, call.now).await;
                claimed.map(|claim| Response::from_json(&claim))
            }
            "/conclude" => {
                let call: ConcludeCall = read_json(&mut request).await?;
                let concluded =
                    conclude_on(self, &chain, &call.record, call.conclusion, call.now).await;
                concluded.map(|state| Response::from_json(&state))
            }
            "/grant" => {
                let call: GrantCall = read_json(&mut request).await?;
                let storage = ObjectAccess(&self.state);
                let granted = change_on(&storage, |entry| access::grant(entry, &call)).await;
                granted.map(|()| Response::from_json(&()))
            }
            "/sign-in" => {
                let call: SignInCall = read_json(&mut request).await?;
                let storage = ObjectAccess(&self.state);
                let answered = change_on(&storage, |entry| access::sign_in(entry, &call)).await;
                answered.map(|answer| Response::from_json(&answer))
            }
            _ => return Response::error("no such call", 404),
        };
        self.schedule().await;
        answer.unwrap_or_else(|error| Response::error(error.detail, 503))
    }

    async fn alarm(&self) -> Result<Response> {
        self.load().await?;
        let networks = self.networks();
        let chain = RpcChains::new(FetchExchange, networks, RPC_TIMEOUT_MS);
        check_on(self, &chain, unix_now()).await;
        self.schedule().await;
        Response::ok("checked")
    }
}

impl PaymentCoordinator {
    /// Reads the entry from storage once per object lifetime. A request that arrived while
    /// another was reading keeps what that one read (and possibly changed).
    async fn load(&self) -> Result<()> {
        if self.entry.borrow().is_some() {
            return Ok(());
        }
        let stored: Option<String> = self.state.storage().get(ENTRY).await?;
        let stored: Option<Entry> = stored.map(|text| serde_json::from_str(&text)).transpose()?;
        if self.entry.borrow().is_none() {
            self.indexed
                .set(stored.as_ref().is_some_and(|e| index_holds(&e.state)));
            *self.entry.borrow_mut() = Some(stored);
        }
        Ok(())
    }

    /// The networks of the gateway's configuration (for their `rpc_url`s).
    fn networks(&self) -> &'static Networks {
        super::gateway::configured_networks(&self.env)
    }

    /// Sets the alarm for the entry's next check, if it needs one, or for when an access
    /// entry may be forgotten.
    async fn schedule(&self) {
        let now = unix_now();
        // An object holds a payment or a payer's access, never both.
        let at = match self.current() {
            Some(entry) => next_check(&entry, now),
            None => check_access_on(&ObjectAccess(&self.state), now)
                .await
                .ok()
                .flatten(),
        };
        let Some(at) = at else {
            return;
        };
        let offset_ms =
            i64::try_from(at.saturating_sub(now).saturating_mul(1000)).unwrap_or(i64::MAX);
        if let Err(error) = self.state.storage().set_alarm(offset_ms).await {
            console_error!(
                "{}",
                json!({"event": "alarm_not_set", "detail": error.to_string()})
            );
        }
    }

    /// Writes the receipt of a settled payment into KV (the flow's fast path for retries).
    async fn write_receipt(&self, entry: &Entry) -> std::result::Result<(), String> {
        let PaymentState::Settled { receipt } = &entry.state else {
            return Ok(());
        };
        // The receipt expires when the payment stops serving retries, however late the
        // settlement was learnt (KV's shortest expiry is `MIN_RECEIPT_TTL_S`).
        let remaining = serves_until(&entry.record, receipt).saturating_sub(unix_now());
        if remaining == 0 {
            return Ok(());
        }
        let ttl_s = remaining.max(MIN_RECEIPT_TTL_S);
        let kv = self.env.kv(RECEIPTS_KV).map_err(|e| e.to_string())?;
        let value = serde_json::to_string(receipt).map_err(|e| e.to_string())?;
        kv.put(&entry.record.key, value)
            .map_err(|e| e.to_string())?
            .expiration_ttl(ttl_s)
            .execute()
            .await
            .map_err(|e| e.to_string())
    }

    /// Keeps the operator's index: a payment is listed while it is unknown or after the chain
    /// refused it, and removed once settled.
    async fn write_index(&self, entry: &Entry) -> std::result::Result<(), String> {
        let listed = index_holds(&entry.state);
        if !listed && !self.indexed.get() {
            return Ok(());
        }
        let kv = self.env.kv(RECEIPTS_KV).map_err(|e| e.to_string())?;
        let record = &entry.record;
        let key = payment_index_key(&record.network, &record.token, &record.payer, &record.nonce);
        if !listed {
            kv.delete(&key).await.map_err(|e| e.to_string())?;
            self.indexed.set(false);
            return Ok(());
        }
        let metadata = json!({
            "state": entry.state.name(),
            "payer": record.payer.to_hex(),
            "nonce": record.nonce.to_hex(),
        });
        // The state's name beside the record and what is known, for whoever reads the listing.
        let listing = json!({"state": entry.state.name(), "record": record, "known": entry.state});
        let value = listing.to_string();
        let mut put = kv
            .put(&key, value)
            .map_err(|e| e.to_string())?
            .metadata(metadata)
            .map_err(|e| e.to_string())?;
        if matches!(entry.state, PaymentState::Refused { .. }) {
            put = put.expiration_ttl(REFUSED_INDEX_TTL_S);
        }
        put.execute().await.map_err(|e| e.to_string())?;
        self.indexed.set(true);
        Ok(())
    }
}

/// Whether the operator's index lists a payment in `state`: unknown, or refused by the
/// chain's evidence (a facilitator's own refusal is an ordinary answer).
fn index_holds(state: &PaymentState) -> bool {
    matches!(
        state,
        PaymentState::Unknown { .. }
            | PaymentState::Refused {
                retryable: false,
                ..
            }
    )
}

impl EntrySlot for PaymentCoordinator {
    fn current(&self) -> Option<Entry> {
        self.entry.borrow().clone().flatten()
    }

    fn replace(&self, entry: Option<Entry>) {
        if entry == self.current() {
            return;
        }
        *self.entry.borrow_mut() = Some(entry);
        for waiter in self.waiters.borrow_mut().drain(..) {
            let _ = waiter.send(());
        }
    }

    async fn persist(&self) -> std::result::Result<(), String> {
        let storage = self.state.storage();
        let Some(entry) = self.current() else {
            return storage
                .delete(ENTRY)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
        };
        let text = serde_json::to_string(&entry).map_err(|e| e.to_string())?;
        storage.put(ENTRY, text).await.map_err(|e| e.to_string())?;
        // Side copies: a failure is logged and written again on the next change; meanwhile the
        // object itself answers retries from its entry.
        for written in [
            self.write_receipt(&entry).await,
            self.write_index(&entry).await,
        ] {
            if let Err(detail) = written {
                console_error!(
                    "{}",
                    json!({"event": "payment_copy_not_written", "key": entry.record.key, "detail": detail})
                );
            }
        }
        Ok(())
    }

    async fn changed(&self, until: u64) -> u64 {
        let (sender, receiver) = oneshot::channel();
        self.waiters.borrow_mut().push(sender);
        let wait_ms = until.saturating_sub(unix_now()).saturating_mul(1000);
        let timer = worker::Delay::from(Duration::from_millis(wait_ms));
        let _ = select(receiver, timer).await;
        unix_now()
    }
}

/// An access object's storage: its entry under [`ACCESS`].
struct ObjectAccess<'a>(&'a State);

impl AccessStorage for ObjectAccess<'_> {
    async fn read(&self) -> std::result::Result<Option<String>, String> {
        self.0
            .storage()
            .get(ACCESS)
            .await
            .map_err(|e| e.to_string())
    }

    async fn write(&self, text: Option<&str>) -> std::result::Result<(), String> {
        let storage = self.0.storage();
        match text {
            Some(text) => storage.put(ACCESS, text).await,
            None => storage.delete(ACCESS).await.map(|_| ()),
        }
        .map_err(|e| e.to_string())
    }
}

fn unix_now() -> u64 {
    Date::now().as_millis() / 1000
}

/// The coordinator as the flow calls it: the payment's object, over its stub.
pub struct ObjectCoordinator<'e> {
    /// The binding is looked up when the coordinator is first called: most requests never
    /// call it.
    env: &'e Env,
    /// Where calls whose answer the request does not wait for are finished (`waitUntil`).
    ctx: &'e Context,
    /// Time spent in calls to the object, for the request's log line.
    pub spent: Spent,
}

impl<'e> ObjectCoordinator<'e> {
    pub fn new(env: &'e Env, ctx: &'e Context) -> Self {
        Self {
            env,
            ctx,
            spent: Spent::default(),
        }
    }

    /// One call to the payment's object, timed.
    async fn call<B: Serialize, T: for<'de> Deserialize<'de>>(
        &self,
        key: &str,
        path: &str,
        body: &B,
    ) -> std::result::Result<T, CoordinatorError> {
        let called = self.spent.time(async {
            match self.env.durable_object(PAYMENTS_BINDING) {
                Ok(namespace) => call_object(&namespace, key, path, body).await,
                Err(_) => Err(format!("no {PAYMENTS_BINDING} Durable Object binding")),
            }
        });
        called.await.map_err(|detail| CoordinatorError { detail })
    }
}

impl ObjectCoordinator<'_> {
    /// Sends `body` to `path` of the object `key` after the answer (`waitUntil`): the runtime
    /// keeps the isolate until it is done. A failure is logged.
    fn call_later<B: Serialize>(&self, key: &str, path: &'static str, body: &B) {
        let (namespace, key) = (self.env.durable_object(PAYMENTS_BINDING), key.to_owned());
        let body = serde_json::to_value(body);
        self.ctx.wait_until(async move {
            let called = match (namespace, body) {
                (Ok(namespace), Ok(body)) => {
                    call_object::<_, serde_json::Value>(&namespace, &key, path, &body)
                        .await
                        .map(|_| ())
                }
                (Err(_), _) => Err(format!("no {PAYMENTS_BINDING} Durable Object binding")),
                (_, Err(error)) => Err(error.to_string()),
            };
            if let Err(detail) = called {
                console_error!(
                    "{}",
                    json!({"event": "coordinator_call_failed", "call": path, "key": key, "detail": detail})
                );
            }
        });
    }
}

impl Coordinator for ObjectCoordinator<'_> {
    async fn claim(
        &self,
        record: &PaymentRecord,
        lease_s: Option<u64>,
        now: u64,
    ) -> std::result::Result<Claim, CoordinatorError> {
        let call = ClaimCall {
            record: record.clone(),
            lease_s,
            now,
        };
        self.call(&record.key, "/claim", &call).await
    }

    async fn conclude(
        &self,
        record: &PaymentRecord,
        conclusion: Conclusion,
        now: u64,
    ) -> std::result::Result<Option<PaymentState>, CoordinatorError> {
        let call = ConcludeCall {
            record: record.clone(),
            conclusion,
            now,
        };
        self.call(&record.key, "/conclude", &call).await
    }

    /// Finished after the answer: the client's request does not depend on it (its lease
    /// makes the payment unknown, and the chain proves it, should the call never land).
    async fn conclude_settled(
        &self,
        record: &PaymentRecord,
        conclusion: Conclusion,
        now: u64,
    ) -> std::result::Result<(), CoordinatorError> {
        let call = ConcludeCall {
            record: record.clone(),
            conclusion,
            now,
        };
        self.call_later(&record.key, "/conclude", &call);
        Ok(())
    }

    /// Finished after the answer: access is for the payer's later requests.
    async fn grant_access(&self, call: &GrantCall) -> std::result::Result<(), CoordinatorError> {
        self.call_later(&call.key, "/grant", call);
        Ok(())
    }

    async fn sign_in(
        &self,
        call: &SignInCall,
    ) -> std::result::Result<SignInAnswer, CoordinatorError> {
        self.call(&call.key, "/sign-in", call).await
    }
}
