//! Payments coordinated for the JavaScript gateway, by the same functions as the Worker's
//! Durable Object ([`claim_on`], [`conclude_on`], [`check_on`]): in this instance's memory
//! ([`ProcessCoordinator`], one process), or in one Durable Object per payment that the
//! package's `PaymentCoordinator` class runs ([`JsPaymentObject`], across isolates), asked
//! through the host's `io.coordinator`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use futures_util::future::{select, Either};
use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::gateway::{set, unix_now, Io, JsExchange, JsStore};
use super::{error, from_js};
use crate::config::{GatewayConfig, MIN_RECEIPT_TTL_S};
use crate::gate::access::{
    self, change_on, check_access_on, AccessEntry, AccessStorage, GrantCall, SignInAnswer,
    SignInCall,
};
use crate::gate::coordinator::{
    check_on, claim_on, conclude_on, ClaimCall, ConcludeCall, Coordinator, CoordinatorError,
    EntrySlot,
};
use crate::gate::ledger::{
    forget_at, next_check, serves_until, Claim, Conclusion, Entry, PaymentRecord, PaymentState,
};
use crate::gate::remote::{RpcChains, RPC_TIMEOUT_MS};
use crate::networks::Networks;
use crate::protocol::Reason;

/// The most payments kept in memory: past it, those that may be forgotten go first (refused
/// ones may be sent again; settled ones past their receipt's time), and a new payment is
/// refused (fail closed) while none can.
const MAX_ENTRIES: usize = 100_000;
/// The storage key of a payment object's entry (as JSON text).
const ENTRY: &str = "entry";
/// The storage key of an access object's entry (as JSON text).
const ACCESS: &str = "access";

/// The payments of this instance, in memory.
#[derive(Default)]
pub(super) struct ProcessCoordinator {
    entries: RefCell<HashMap<String, Entry>>,
    waiters: RefCell<HashMap<String, Rc<Waiters>>>,
    /// Payers' access entries (sign-in-with-x), by name.
    access: RefCell<HashMap<String, AccessEntry>>,
}

/// The coordinator as one request of the gateway calls it.
pub(super) enum JsCoordinator<'a> {
    /// In this instance's memory.
    Process {
        process: &'a ProcessCoordinator,
        io: &'a Io,
        chain: RpcChains<'a, JsExchange<'a>>,
    },
    /// One Durable Object per payment, through `io.coordinator.call(key, path, body)`.
    Objects { io: &'a Io },
}

impl JsCoordinator<'_> {
    /// Calls the payment's object with `body` as JSON.
    async fn call<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        io: &Io,
        key: &str,
        path: &str,
        body: &B,
    ) -> Result<T, CoordinatorError> {
        let failed = |detail: String| CoordinatorError { detail };
        let body = serde_json::to_string(body).map_err(|e| failed(e.to_string()))?;
        let args = [key.into(), path.into(), body.into()];
        let answer = io
            .call(&["coordinator", "call"], &args)
            .await
            .map_err(|thrown| failed(format!("the payment's object: {thrown:?}")))?;
        let text = answer
            .as_string()
            .ok_or_else(|| failed("the payment's object answered no text".into()))?;
        serde_json::from_str(&text)
            .map_err(|e| failed(format!("the payment's object answered: {e}")))
    }
}

impl Coordinator for JsCoordinator<'_> {
    async fn claim(
        &self,
        record: &PaymentRecord,
        lease_s: Option<u64>,
        now: u64,
    ) -> Result<Claim, CoordinatorError> {
        match self {
            Self::Process { process, io, chain } => {
                process.make_room(&record.key, now)?;
                let slot = process.slot(&record.key, io);
                claim_on(&slot, chain, record, lease_s, now).await
            }
            Self::Objects { io } => {
                let call = ClaimCall {
                    record: record.clone(),
                    lease_s,
                    now,
                };
                Self::call(io, &record.key, "claim", &call).await
            }
        }
    }

    async fn conclude(
        &self,
        record: &PaymentRecord,
        conclusion: Conclusion,
        now: u64,
    ) -> Result<Option<PaymentState>, CoordinatorError> {
        match self {
            Self::Process { process, io, chain } => {
                let slot = process.slot(&record.key, io);
                conclude_on(&slot, chain, record, conclusion, now).await
            }
            Self::Objects { io } => {
                let call = ConcludeCall {
                    record: record.clone(),
                    conclusion,
                    now,
                };
                Self::call(io, &record.key, "conclude", &call).await
            }
        }
    }

    async fn grant_access(&self, call: &GrantCall) -> Result<(), CoordinatorError> {
        match self {
            Self::Process { process, .. } => {
                process.change_access(&call.key, call.now, |entry| access::grant(entry, call))
            }
            Self::Objects { io } => Self::call(io, &call.key, "grant", call).await,
        }
    }

    async fn sign_in(&self, call: &SignInCall) -> Result<SignInAnswer, CoordinatorError> {
        match self {
            Self::Process { process, .. } => {
                process.change_access(&call.key, call.now, |entry| access::sign_in(entry, call))
            }
            Self::Objects { io } => Self::call(io, &call.key, "sign-in", call).await,
        }
    }
}

impl ProcessCoordinator {
    /// Applies `change` to the access entry `key`, keeping at most [`MAX_ENTRIES`] (those
    /// that hold nothing any more go first; fail closed when none can).
    fn change_access<T>(
        &self,
        key: &str,
        now: u64,
        change: impl FnOnce(&mut Option<AccessEntry>) -> T,
    ) -> Result<T, CoordinatorError> {
        let mut held = self.access.borrow_mut();
        if held.len() >= MAX_ENTRIES && !held.contains_key(key) {
            held.retain(|_, entry| access::forget_at(entry) > now);
            if held.len() >= MAX_ENTRIES {
                return Err(CoordinatorError {
                    detail: format!("{MAX_ENTRIES} access entries in this process"),
                });
            }
        }
        let mut entry = held.remove(key);
        let answer = change(&mut entry);
        held.extend(entry.map(|entry| (key.to_owned(), entry)));
        Ok(answer)
    }

    fn slot<'a>(&'a self, key: &str, io: &'a Io) -> ProcessSlot<'a> {
        let waiters = Rc::clone(self.waiters.borrow_mut().entry(key.to_owned()).or_default());
        ProcessSlot {
            process: self,
            io,
            key: key.to_owned(),
            waiters,
        }
    }

    /// Keeps memory bounded ([`MAX_ENTRIES`]) before a payment not yet kept is claimed.
    fn make_room(&self, key: &str, now: u64) -> Result<(), CoordinatorError> {
        let mut entries = self.entries.borrow_mut();
        if entries.len() < MAX_ENTRIES || entries.contains_key(key) {
            return Ok(());
        }
        entries.retain(|_, entry| {
            let forgettable = matches!(entry.state, PaymentState::Refused { .. })
                || forget_at(entry).is_some_and(|forget| now >= forget);
            !forgettable
        });
        self.waiters
            .borrow_mut()
            .retain(|key, _| entries.contains_key(key));
        match entries.len() < MAX_ENTRIES {
            true => Ok(()),
            false => Err(CoordinatorError {
                detail: format!("{MAX_ENTRIES} payments in settlement in this process"),
            }),
        }
    }
}

struct ProcessSlot<'a> {
    process: &'a ProcessCoordinator,
    io: &'a Io,
    key: String,
    waiters: Rc<Waiters>,
}

impl EntrySlot for ProcessSlot<'_> {
    fn current(&self) -> Option<Entry> {
        self.process.entries.borrow().get(&self.key).cloned()
    }

    fn replace(&self, entry: Option<Entry>) {
        {
            let mut entries = self.process.entries.borrow_mut();
            match entry {
                Some(entry) => entries.insert(self.key.clone(), entry),
                None => entries.remove(&self.key),
            };
        }
        self.waiters.wake();
    }

    async fn persist(&self) -> Result<(), String> {
        write_receipt(self.io, &self.key, self.current()).await
    }

    async fn changed(&self, until: u64) -> u64 {
        self.waiters.wait(self.io, until).await
    }
}

/// One payment's Durable Object, for the package's `PaymentCoordinator` class: its entry in
/// memory and in the object's storage, its waiting copies, its alarm's checks.
#[wasm_bindgen(js_name = PaymentObject)]
pub struct JsPaymentObject {
    inner: Rc<ObjectInner>,
}

struct ObjectInner {
    networks: Networks,
    /// The entry; `None` until read from storage.
    entry: RefCell<Option<Option<Entry>>>,
    waiters: Waiters,
}

#[wasm_bindgen(js_class = PaymentObject)]
impl JsPaymentObject {
    /// The object of one payment; `networks` as the configuration's (for their `rpc_url`s,
    /// where unknown outcomes are looked for).
    #[wasm_bindgen(constructor)]
    pub fn new(networks: JsValue) -> Result<JsPaymentObject, JsValue> {
        let networks: serde_json::Value = match networks.is_undefined() || networks.is_null() {
            true => serde_json::Value::Array(Vec::new()),
            false => from_js(networks, Reason::InvalidConfiguration)?,
        };
        let config = serde_json::json!({"routes": [], "networks": networks});
        let config = GatewayConfig::from_json(&config)
            .map_err(|e| error(Reason::InvalidConfiguration, &e.to_string()))?;
        Ok(Self {
            inner: Rc::new(ObjectInner {
                networks: config.networks,
                entry: RefCell::new(None),
                waiters: Waiters::default(),
            }),
        })
    }

    /// Answers `POST /<path>` (`claim` or `conclude`) with `body`, using `io` (`storage`,
    /// `store`, `exchange`, `sleep`); resolves to `{ answer, nextCheck }`: the JSON answer,
    /// and the unix time the alarm should look again (or `null`).
    #[wasm_bindgen(unchecked_return_type = "Promise<{ answer: string; nextCheck: number | null }>")]
    pub fn call(&self, path: String, body: String, io: JsValue) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let io = Io(io);
            inner.load(&io).await?;
            let slot = ObjectSlot {
                inner: &inner,
                io: &io,
            };
            let chain = RpcChains::new(JsExchange(&io), &inner.networks, RPC_TIMEOUT_MS);
            let invalid =
                |e: serde_json::Error| JsValue::from_str(&format!("not a {path} call: {e}"));
            let access = ObjectAccess(&io);
            let answer = match path.as_str() {
                "grant" => {
                    let call: GrantCall = serde_json::from_str(&body).map_err(invalid)?;
                    let changed = change_on(&access, |entry| access::grant(entry, &call));
                    changed.await.map(|()| serde_json::to_string(&()))
                }
                "sign-in" => {
                    let call: SignInCall = serde_json::from_str(&body).map_err(invalid)?;
                    let changed = change_on(&access, |entry| access::sign_in(entry, &call));
                    changed.await.map(|answer| serde_json::to_string(&answer))
                }
                "claim" => {
                    let call: ClaimCall = serde_json::from_str(&body).map_err(invalid)?;
                    let claimed =
                        claim_on(&slot, &chain, &call.record, call.lease_s, call.now).await;
                    claimed.map(|claim| serde_json::to_string(&claim))
                }
                "conclude" => {
                    let call: ConcludeCall = serde_json::from_str(&body).map_err(invalid)?;
                    let concluded =
                        conclude_on(&slot, &chain, &call.record, call.conclusion, call.now).await;
                    concluded.map(|state| serde_json::to_string(&state))
                }
                other => return Err(JsValue::from_str(&format!("no such call: {other}"))),
            };
            let answer = answer
                .map_err(|e| JsValue::from_str(&e.detail))?
                .map_err(|e| JsValue::from_str(&e.to_string()))?;
            let out = Object::new();
            set(&out, "answer", &answer.into());
            set(&out, "nextCheck", &inner.next_check(&io).await);
            Ok(out.into())
        })
    }

    /// The alarm: a claim past its lease becomes unknown, an unknown payment is looked for
    /// on chain, a decided one past its time is forgotten. Resolves to the next check's unix
    /// time, or `null`.
    #[wasm_bindgen(unchecked_return_type = "Promise<number | null>")]
    pub fn alarm(&self, io: JsValue) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let io = Io(io);
            inner.load(&io).await?;
            let slot = ObjectSlot {
                inner: &inner,
                io: &io,
            };
            let chain = RpcChains::new(JsExchange(&io), &inner.networks, RPC_TIMEOUT_MS);
            check_on(&slot, &chain, unix_now()).await;
            Ok(inner.next_check(&io).await)
        })
    }
}

impl ObjectInner {
    /// Reads the entry from storage once per object lifetime.
    async fn load(&self, io: &Io) -> Result<(), JsValue> {
        if self.entry.borrow().is_some() {
            return Ok(());
        }
        let stored = io.call(&["storage", "get"], &[ENTRY.into()]).await?;
        let stored: Option<Entry> = match stored.as_string() {
            Some(text) => {
                Some(serde_json::from_str(&text).map_err(|e| JsValue::from_str(&e.to_string()))?)
            }
            None => None,
        };
        // A call that arrived while this one read keeps what that one read.
        if self.entry.borrow().is_none() {
            *self.entry.borrow_mut() = Some(stored);
        }
        Ok(())
    }

    /// When the alarm should look again: a payment's next check, or when an access entry
    /// may be forgotten (one that may be is deleted now).
    async fn next_check(&self, io: &Io) -> JsValue {
        let now = unix_now();
        // An object holds a payment or a payer's access, never both.
        let entry = self.entry.borrow().clone().flatten();
        let at = match entry {
            Some(entry) => next_check(&entry, now),
            None => check_access_on(&ObjectAccess(io), now).await.ok().flatten(),
        };
        match at {
            Some(at) => JsValue::from(at as f64),
            None => JsValue::NULL,
        }
    }
}

struct ObjectSlot<'a> {
    inner: &'a ObjectInner,
    io: &'a Io,
}

impl EntrySlot for ObjectSlot<'_> {
    fn current(&self) -> Option<Entry> {
        self.inner.entry.borrow().clone().flatten()
    }

    fn replace(&self, entry: Option<Entry>) {
        *self.inner.entry.borrow_mut() = Some(entry);
        self.inner.waiters.wake();
    }

    async fn persist(&self) -> Result<(), String> {
        let entry = self.current();
        let text = match &entry {
            Some(entry) => serde_json::to_string(entry).map_err(|e| e.to_string())?,
            None => String::new(),
        };
        let method = if entry.is_some() { "put" } else { "delete" };
        let args = [ENTRY.into(), text.into()];
        self.io
            .call(&["storage", method], &args)
            .await
            .map_err(|thrown| format!("storage: {thrown:?}"))?;
        let key = entry
            .as_ref()
            .map(|e| e.record.key.clone())
            .unwrap_or_default();
        write_receipt(self.io, &key, entry).await
    }

    async fn changed(&self, until: u64) -> u64 {
        self.inner.waiters.wait(self.io, until).await
    }
}

/// An access object's storage (`io.storage`): its entry under [`ACCESS`].
struct ObjectAccess<'a>(&'a Io);

impl AccessStorage for ObjectAccess<'_> {
    async fn read(&self) -> Result<Option<String>, String> {
        let stored = self.0.call(&["storage", "get"], &[ACCESS.into()]).await;
        stored
            .map(|value| value.as_string())
            .map_err(|thrown| format!("storage: {thrown:?}"))
    }

    async fn write(&self, text: Option<&str>) -> Result<(), String> {
        let (method, args) = match text {
            Some(text) => ("put", [ACCESS.into(), text.into()]),
            None => ("delete", [ACCESS.into(), JsValue::UNDEFINED]),
        };
        self.0
            .call(&["storage", method], &args)
            .await
            .map(|_| ())
            .map_err(|thrown| format!("storage: {thrown:?}"))
    }
}

/// The receipt of a settled payment goes to the store, for as long as it serves retries.
async fn write_receipt(io: &Io, key: &str, entry: Option<Entry>) -> Result<(), String> {
    let Some(Entry {
        record,
        state: PaymentState::Settled { receipt },
    }) = entry
    else {
        return Ok(());
    };
    let remaining = serves_until(&record, &receipt).saturating_sub(unix_now());
    if remaining == 0 {
        return Ok(());
    }
    let text = serde_json::to_string(&receipt).map_err(|e| e.to_string())?;
    JsStore(io)
        .put(key, &text, remaining.max(MIN_RECEIPT_TTL_S))
        .await
}

/// Copies of a payment waiting for its entry to change.
#[derive(Default)]
struct Waiters(RefCell<Vec<oneshot::Sender<()>>>);

impl Waiters {
    fn wake(&self) {
        for waiter in self.0.borrow_mut().drain(..) {
            let _ = waiter.send(());
        }
    }

    /// Until the next change or unix time `until`, with `io.sleep` as the timer; the time
    /// then.
    async fn wait(&self, io: &Io, until: u64) -> u64 {
        let (sender, receiver) = oneshot::channel();
        {
            let mut waiting = self.0.borrow_mut();
            // Waits that ended by their timer left their senders behind.
            waiting.retain(|sender| !sender.is_canceled());
            waiting.push(sender);
        }
        let wait_ms = until.saturating_sub(unix_now()).saturating_mul(1000) as f64;
        let args = [JsValue::from(wait_ms)];
        let sleep = io.call(&["sleep"], &args);
        futures_util::pin_mut!(sleep);
        if let Either::Right((Err(_), _)) = select(receiver, sleep).await {
            // No timer: waiting ends now rather than never.
        }
        unix_now()
    }
}
