//! In-memory stand-ins for the remote services of [`crate::gate::flow`] (feature `testing`):
//! a facilitator that answers from a script, a receipt store, an origin and a Lightning node.
//! They record what they were asked, so tests (and the crate's doctest) can drive a
//! [`crate::gate::Gate`] without a runtime and count the calls it made.
//!
//! None of them is a real service: use them to test, never to serve.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use crate::gate::flow::{Facilitator, FacilitatorError, Origin, ReceiptStore};
use crate::gate::l402::{Invoice, InvoiceError, InvoiceSource};
use crate::gate::receipt::Receipt;
use crate::l402::{Preimage, TokenId};
use crate::protocol::facilitator::{FacilitatorRequest, SettleResponse, VerifyResponse};

/// A facilitator that answers from a script (one answer per call, in order) and records every
/// request. A call with no scripted answer panics: the test did not expect it.
#[derive(Default)]
pub struct ScriptedFacilitator {
    settle_answers: RefCell<VecDeque<Result<SettleResponse, FacilitatorError>>>,
    verify_answers: RefCell<VecDeque<Result<VerifyResponse, FacilitatorError>>>,
    /// Every call: `("verify" | "settle", request)`, oldest first.
    pub calls: RefCell<Vec<(&'static str, FacilitatorRequest)>>,
}

impl ScriptedFacilitator {
    /// One that settles the first payment it is asked to.
    pub fn settling() -> Self {
        let facilitator = Self::default();
        facilitator.will_settle(Ok(settled()));
        facilitator
    }

    /// Scripts the next `/settle` answer.
    pub fn will_settle(&self, answer: Result<SettleResponse, FacilitatorError>) {
        self.settle_answers.borrow_mut().push_back(answer);
    }

    /// Scripts the next `/verify` answer.
    pub fn will_verify(&self, answer: Result<VerifyResponse, FacilitatorError>) {
        self.verify_answers.borrow_mut().push_back(answer);
    }

    /// How many calls of `kind` (`"verify"` or `"settle"`) were made.
    pub fn calls(&self, kind: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|(k, _)| *k == kind)
            .count()
    }
}

impl Facilitator for ScriptedFacilitator {
    async fn verify(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<VerifyResponse, FacilitatorError> {
        self.calls.borrow_mut().push(("verify", request.clone()));
        self.verify_answers
            .borrow_mut()
            .pop_front()
            .expect("an unexpected /verify call")
    }

    async fn settle(
        &self,
        request: &FacilitatorRequest,
    ) -> Result<SettleResponse, FacilitatorError> {
        self.calls.borrow_mut().push(("settle", request.clone()));
        self.settle_answers
            .borrow_mut()
            .pop_front()
            .expect("an unexpected /settle call")
    }
}

/// A successful settlement on Base Sepolia with a fixed transaction hash.
pub fn settled() -> SettleResponse {
    SettleResponse {
        success: true,
        error_reason: None,
        transaction: format!("0x{}", "ab".repeat(32)),
        network: "eip155:84532".into(),
        payer: None,
        amount: None,
        extensions: None,
    }
}

/// A refused settlement with `reason`.
pub fn refused_settlement(reason: &str) -> SettleResponse {
    SettleResponse {
        success: false,
        error_reason: Some(reason.into()),
        transaction: String::new(),
        ..settled()
    }
}

/// Receipts, revocations and L402 budgets in memory.
#[derive(Default)]
pub struct MemoryStore {
    /// Receipts by key, with the TTL they were stored with.
    pub receipts: RefCell<HashMap<String, (Receipt, u64)>>,
    /// A receipt that appears after the first lookup that misses (another request settling
    /// meanwhile).
    pub appears_later: RefCell<Option<(String, Receipt)>>,
    /// Revoked token ids.
    pub revoked: RefCell<Vec<TokenId>>,
    budgets: RefCell<HashMap<[u8; 32], u32>>,
}

impl ReceiptStore for MemoryStore {
    async fn get(&self, key: &str) -> Option<Receipt> {
        let found = self.receipts.borrow().get(key).map(|(r, _)| r.clone());
        if found.is_none() {
            if let Some((k, r)) = self.appears_later.borrow_mut().take() {
                self.receipts.borrow_mut().insert(k, (r, 60));
            }
        }
        found
    }

    fn put(&self, key: &str, receipt: &Receipt, ttl_s: u64) {
        self.receipts
            .borrow_mut()
            .insert(key.to_owned(), (receipt.clone(), ttl_s));
    }

    async fn is_revoked(&self, token_id: &TokenId) -> Result<bool, String> {
        Ok(self.revoked.borrow().contains(token_id))
    }

    async fn consume_token_request(&self, token_id: &TokenId, limit: u32) -> Result<bool, String> {
        let mut used = self.budgets.borrow_mut();
        let count = used.entry(token_id.0).or_insert(0);
        if *count >= limit {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }
}

/// An origin that answers every target with a fixed status and a body naming the target,
/// and records the calls. Its responses are `(status, body)`.
pub struct FakeOrigin {
    /// The status every answer has.
    pub status: u16,
    /// `false`: every fetch fails as a refused connection.
    pub reachable: bool,
    /// The targets fetched, oldest first.
    pub targets: RefCell<Vec<String>>,
}

impl FakeOrigin {
    /// One that answers 200.
    pub fn ok() -> Self {
        Self::with_status(200)
    }

    /// One that answers `status`.
    pub fn with_status(status: u16) -> Self {
        Self {
            status,
            reachable: true,
            targets: RefCell::default(),
        }
    }

    /// How many times it was fetched.
    pub fn calls(&self) -> usize {
        self.targets.borrow().len()
    }
}

impl Origin for FakeOrigin {
    type Response = (u16, String);

    async fn fetch(&self, target: &str) -> Result<Self::Response, String> {
        self.targets.borrow_mut().push(target.to_owned());
        if self.reachable {
            Ok((self.status, format!("content of {target}")))
        } else {
            Err("connection refused".into())
        }
    }

    fn status(response: &Self::Response) -> u16 {
        response.0
    }
}

/// A Lightning node stand-in: issues invoices for preimages it keeps, so a test can "pay"
/// one by reading its preimage. `down` makes it fail as an unreachable node.
#[derive(Default)]
pub struct FakeLightning {
    /// The preimage of each invoice issued, oldest first.
    pub preimages: RefCell<Vec<Preimage>>,
    /// Whether the node is down.
    pub down: Cell<bool>,
}

impl InvoiceSource for FakeLightning {
    async fn create_invoice(
        &self,
        _client: Option<&str>,
        sats: u64,
        _memo: &str,
    ) -> Result<Invoice, InvoiceError> {
        if self.down.get() {
            return Err(InvoiceError::Unavailable {
                detail: "connection refused".into(),
            });
        }
        let issued = self.preimages.borrow().len();
        let preimage = Preimage([u8::try_from(issued + 1).unwrap_or(u8::MAX); 32]);
        self.preimages.borrow_mut().push(preimage);
        Ok(Invoice {
            payment_hash: preimage.payment_hash(),
            payment_request: format!("lnbcrt{sats}n1fake"),
        })
    }
}
