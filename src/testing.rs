//! In-memory stand-ins for the remote services of [`crate::gate::flow`] (feature `testing`):
//! a facilitator that answers from a script, a receipt store, an origin, a Lightning node, a
//! chain's JSON-RPC API, and the payment coordinator of one process.
//! They record what they were asked, so tests (and the crate's doctest) can drive a
//! [`crate::gate::Gate`] without a runtime and count the calls it made.
//!
//! None of them is a real service: use them to test, never to serve.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use serde_json::{json, Value};

use crate::amount::Uint256;
use crate::evm::proof::{authorization_canceled_topic, authorization_used_topic, transfer_topic};
use crate::evm::{Address, Bytes32};
use crate::gate::access::{self, AccessEntry, GrantCall, SignInAnswer, SignInCall};
use crate::gate::clients::{BotManagement, DirectoryCache, KeyDirectories};
use crate::gate::coordinator::{
    check_on, claim_on, conclude_on, Coordinator, CoordinatorError, EntrySlot,
};
use crate::gate::dynamic_price::{DynamicPrice, PriceAsk, Pricing};
use crate::gate::flow::{ClientMessages, Facilitator, FacilitatorError, Origin, ReceiptStore};
use crate::gate::l402::{Invoice, InvoiceError, InvoiceSource};
use crate::gate::ledger::{
    ChainError, ChainReader, Claim, Conclusion, Entry, PaymentRecord, PaymentState,
};
use crate::gate::limits::{Allowance, Allowances, Ask, ProcessAllowances};
use crate::gate::receipt::Receipt;
use crate::l402::{Preimage, TokenId};
use crate::pricing::Price;
use crate::protocol::facilitator::{FacilitatorRequest, SettleResponse, VerifyResponse};
use crate::web_bot_auth::KeyDirectory;

/// A facilitator that answers from a script (one answer per call, in order) and records every
/// request. A call with no scripted answer panics: the test did not expect it.
#[derive(Default)]
pub struct ScriptedFacilitator {
    settle_answers: RefCell<VecDeque<Result<SettleResponse, FacilitatorError>>>,
    verify_answers: RefCell<VecDeque<Result<VerifyResponse, FacilitatorError>>>,
    /// Every call: `("verify" | "settle", request)`, oldest first.
    pub calls: RefCell<Vec<(&'static str, FacilitatorRequest)>>,
    /// How many times each `/settle` call lets other tasks run before it answers (a slow
    /// facilitator, for tests of concurrent requests).
    pub settle_yields: Cell<u32>,
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
        for _ in 0..self.settle_yields.get() {
            YieldNow(false).await;
        }
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
    /// `/verify` refusals remembered, by payment digest.
    pub verify_refusals: RefCell<HashMap<String, String>>,
}

impl MemoryStore {
    /// Stores a receipt for `ttl_s` seconds (what the coordinator does once it is settled).
    pub fn insert(&self, key: &str, receipt: &Receipt, ttl_s: u64) {
        self.receipts
            .borrow_mut()
            .insert(key.to_owned(), (receipt.clone(), ttl_s));
    }
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

    async fn is_revoked(&self, token_id: &TokenId) -> Result<bool, String> {
        Ok(self.revoked.borrow().contains(token_id))
    }

    async fn verify_refused(&self, verify_key: &str) -> Option<String> {
        self.verify_refusals.borrow().get(verify_key).cloned()
    }

    async fn remember_verify_refusal(&self, verify_key: &str, reason: &str) {
        self.verify_refusals
            .borrow_mut()
            .insert(verify_key.to_owned(), reason.to_owned());
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

/// A pricing service answering what the test sets (a price, free, or a failure), recording
/// what it was asked.
pub struct ScriptedPricing {
    /// The next answers' value.
    pub answer: RefCell<Result<DynamicPrice, String>>,
    /// What it was asked, oldest first.
    pub asked: RefCell<Vec<PriceAsk>>,
}

impl ScriptedPricing {
    /// One that charges `price` (written as in the configuration).
    pub fn charging(price: &str) -> Self {
        Self {
            answer: RefCell::new(Ok(DynamicPrice::Charge(
                Price::parse(price).unwrap_or_else(|e| panic!("{e}")),
            ))),
            asked: RefCell::default(),
        }
    }

    /// Charges `price` from now on.
    pub fn set(&self, price: &str) {
        *self.answer.borrow_mut() = Ok(DynamicPrice::Charge(
            Price::parse(price).unwrap_or_else(|e| panic!("{e}")),
        ));
    }

    /// How many times it was asked.
    pub fn calls(&self) -> usize {
        self.asked.borrow().len()
    }
}

impl Pricing for ScriptedPricing {
    async fn price(&self, ask: &PriceAsk) -> Result<DynamicPrice, String> {
        self.asked.borrow_mut().push(ask.clone());
        self.answer.borrow().clone()
    }
}

/// An origin that answers every target with a fixed status and a body naming the target,
/// and records the calls. Its responses are `(status, body)`. The client's request has
/// `headers` (all of them) and Cloudflare's `bot_management`, as a test sets them.
pub struct FakeOrigin {
    /// The status every answer has.
    pub status: u16,
    /// `false`: every fetch fails as a refused connection.
    pub reachable: bool,
    /// The targets fetched, oldest first.
    pub targets: RefCell<Vec<String>>,
    /// Every header of the client's request.
    pub headers: RefCell<Vec<(String, String)>>,
    /// Cloudflare Bot Management's verdict on the request.
    pub bot_management: Cell<Option<BotManagement>>,
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
            headers: RefCell::default(),
            bot_management: Cell::new(None),
        }
    }

    /// How many times it was fetched.
    pub fn calls(&self) -> usize {
        self.targets.borrow().len()
    }
}

impl Origin for FakeOrigin {
    type Response = (u16, String);

    async fn fetch(&self, target: &str, _body: Option<&[u8]>) -> Result<Self::Response, String> {
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

/// Its requests have no body; its answers are text.
impl ClientMessages for FakeOrigin {
    async fn request_body(&self, _limit: usize) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(Vec::new()))
    }

    fn request_headers(&self) -> Vec<(String, String)> {
        self.headers.borrow().clone()
    }

    fn bot_management(&self) -> Option<BotManagement> {
        self.bot_management.get()
    }

    fn content_type(_: &Self::Response) -> Option<String> {
        Some("text/plain".into())
    }

    async fn read_body(
        &self,
        response: &mut Self::Response,
        take: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        take(std::mem::take(&mut response.1).as_bytes());
        Ok(())
    }

    fn with_body(&self, response: Self::Response, body: Vec<u8>) -> Result<Self::Response, String> {
        let body = String::from_utf8(body).map_err(|e| e.to_string())?;
        Ok((response.0, body))
    }
}

/// An MCP server stand-in (the Streamable HTTP transport, stateless): answers each JSON-RPC
/// request the gateway forwards, as JSON or as an SSE stream, and records what it was sent.
/// `tools/call` runs `tool(name, arguments)`, whose value is the tool's result (or, as
/// `{"error": …}`, the server's JSON-RPC error); `tools/list`
/// lists [`FakeMcpServer::TOOLS`]; a notification gets 202 with no body. The client's body
/// is set per request ([`FakeMcpServer::client_sends`]).
pub struct FakeMcpServer {
    /// The client's request body, which the gateway reads.
    pub request: RefCell<Vec<u8>>,
    /// The bodies the server was sent, oldest first.
    pub received: RefCell<Vec<Vec<u8>>>,
    /// Whether answers are SSE streams (as the SDK's server answers by default).
    pub stream: Cell<bool>,
    /// When set, a stream breaks off after this many bytes.
    pub cut_at: Cell<Option<usize>>,
    /// What a stream goes on with after the response (a server that keeps it open).
    pub trailer: RefCell<String>,
    /// The status of every answer.
    pub status: Cell<u16>,
    /// How many bytes of answers the gateway read.
    pub read: Cell<usize>,
    tool: Box<ToolFn>,
}

/// What a [`FakeMcpServer`]'s tools answer: a result for a name and its arguments.
type ToolFn = dyn Fn(&str, &Value) -> Value;

/// An answer of [`FakeMcpServer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeResponse {
    /// The status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The body (what is left of it once read).
    pub body: Vec<u8>,
}

impl FakeResponse {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl FakeMcpServer {
    /// The tools it lists: `(name, whether it declares an outputSchema)`.
    pub const TOOLS: [(&'static str, bool); 4] = [
        ("forecast", true),
        ("echo", false),
        ("fail", false),
        ("echo_paid", false),
    ];

    /// A server whose tools answer `tool(name, arguments)`.
    pub fn new(tool: impl Fn(&str, &Value) -> Value + 'static) -> Self {
        Self {
            request: RefCell::default(),
            received: RefCell::default(),
            stream: Cell::new(false),
            cut_at: Cell::new(None),
            trailer: RefCell::default(),
            status: Cell::new(200),
            read: Cell::new(0),
            tool: Box::new(tool),
        }
    }

    /// Sets the body of the client's next request.
    pub fn client_sends(&self, body: &Value) {
        *self.request.borrow_mut() = body.to_string().into_bytes();
    }

    /// How many requests reached the server.
    pub fn calls(&self) -> usize {
        self.received.borrow().len()
    }

    /// The last body the server was sent, as JSON.
    pub fn last_received(&self) -> Value {
        let received = self.received.borrow();
        received
            .last()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null)
    }

    fn answer_to(&self, request: &Value) -> Option<Value> {
        let id = request.get("id")?.clone();
        let result = match request["method"].as_str()? {
            "tools/call" => {
                let name = request["params"]["name"].as_str().unwrap_or_default();
                let result = (self.tool)(name, &request["params"]["arguments"]);
                // A tool "answering" `{"error": …}` is a JSON-RPC error of the server.
                if let Some(error) = result.get("error") {
                    return Some(json!({ "jsonrpc": "2.0", "id": id, "error": error }));
                }
                result
            }
            "tools/list" => json!({ "tools": Self::TOOLS.iter().map(|(name, typed)| {
                let mut tool = json!({ "name": name, "inputSchema": { "type": "object" } });
                if *typed {
                    tool["outputSchema"] = json!({ "type": "object", "properties": { "t": { "type": "number" } } });
                }
                tool
            }).collect::<Vec<_>>() }),
            "initialize" => {
                json!({ "protocolVersion": "2025-06-18", "capabilities": { "tools": {} }, "serverInfo": { "name": "fake", "version": "1" } })
            }
            _ => {
                return Some(
                    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32601, "message": "Method not found" } }),
                )
            }
        };
        Some(json!({ "jsonrpc": "2.0", "id": id, "result": result }))
    }
}

impl Origin for FakeMcpServer {
    type Response = FakeResponse;

    async fn fetch(&self, _target: &str, body: Option<&[u8]>) -> Result<FakeResponse, String> {
        let body = body.map_or_else(|| self.request.borrow().clone(), <[u8]>::to_vec);
        self.received.borrow_mut().push(body.clone());
        let request: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let Some(answer) = self.answer_to(&request) else {
            return Ok(FakeResponse {
                status: 202,
                content_type: None,
                body: Vec::new(),
            });
        };
        let (content_type, mut body) = match self.stream.get() {
            // A progress notification first, as long-running tools send.
            true => (
                "text/event-stream",
                format!(
                    ": keepalive\n\nevent: message\ndata: {}\n\nevent: message\ndata: {answer}\n\n{}",
                    json!({ "jsonrpc": "2.0", "method": "notifications/progress", "params": { "progressToken": 1, "progress": 1 } }),
                    self.trailer.borrow()
                )
                .into_bytes(),
            ),
            false => ("application/json", answer.to_string().into_bytes()),
        };
        if let Some(cut) = self.cut_at.get() {
            body.truncate(cut);
        }
        Ok(FakeResponse {
            status: self.status.get(),
            content_type: Some(content_type.into()),
            body,
        })
    }

    fn status(response: &FakeResponse) -> u16 {
        response.status
    }
}

/// Its clients send no other headers than the body's, and no zone has Bot Management.
impl ClientMessages for FakeMcpServer {
    async fn request_body(&self, limit: usize) -> Result<Option<Vec<u8>>, String> {
        let body = self.request.borrow().clone();
        Ok((body.len() <= limit).then_some(body))
    }

    fn request_headers(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn bot_management(&self) -> Option<BotManagement> {
        None
    }

    fn content_type(response: &FakeResponse) -> Option<String> {
        response.content_type.clone()
    }

    /// Hands the body over 7 bytes at a time, as a network would in pieces.
    async fn read_body(
        &self,
        response: &mut FakeResponse,
        take: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        let body = std::mem::take(&mut response.body);
        for chunk in body.chunks(7) {
            self.read.set(self.read.get() + chunk.len());
            if !take(chunk) {
                break;
            }
        }
        Ok(())
    }

    fn with_body(&self, response: FakeResponse, body: Vec<u8>) -> Result<FakeResponse, String> {
        Ok(FakeResponse { body, ..response })
    }
}

/// Web Bot Auth agents' key directories as a test publishes them (`publish`), fetched
/// through the shells' cache ([`DirectoryCache`]); every fetch is recorded.
#[derive(Default)]
pub struct FakeDirectories {
    bodies: RefCell<HashMap<String, Vec<u8>>>,
    cache: RefCell<DirectoryCache>,
    /// The URLs fetched (not answered from the cache), oldest first.
    pub fetched: RefCell<Vec<String>>,
}

impl FakeDirectories {
    /// Serves `body` at `url`.
    pub fn publish(&self, url: &str, body: &str) {
        self.bodies
            .borrow_mut()
            .insert(url.to_owned(), body.as_bytes().to_vec());
    }
}

impl KeyDirectories for FakeDirectories {
    async fn directory(&self, url: &str, now: u64) -> Result<Arc<KeyDirectory>, String> {
        DirectoryCache::directory(&self.cache, url, now, async || {
            self.fetched.borrow_mut().push(url.to_owned());
            let fetched = match self.bodies.borrow().get(url) {
                Some(body) => KeyDirectory::from_json(body)
                    .map(Arc::new)
                    .map_err(|e| e.to_string()),
                None => Err(format!("{url} answered 404")),
            };
            (fetched, None)
        })
        .await
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
    async fn create_invoice(&self, sats: u64, _memo: &str) -> Result<Invoice, InvoiceError> {
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

/// Allowances in memory ([`ProcessAllowances`]); `down` makes every call fail as an
/// unreachable object.
#[derive(Default)]
pub struct MemoryAllowances {
    books: ProcessAllowances,
    /// Whether the books are unreachable.
    pub down: Cell<bool>,
}

impl MemoryAllowances {
    fn reachable(&self) -> Result<(), String> {
        match self.down.get() {
            true => Err("allowances unreachable".into()),
            false => Ok(()),
        }
    }
}

impl Allowances for MemoryAllowances {
    async fn ask(&self, ask: &Ask, now: u64) -> Result<Allowance, String> {
        self.reachable()?;
        self.books.ask(ask, now).await
    }

    async fn keep(
        &self,
        scope: &str,
        key: &str,
        answer: String,
        until: u64,
        now: u64,
    ) -> Result<(), String> {
        self.reachable()?;
        self.books.keep(scope, key, answer, until, now).await
    }
}

/// A chain's JSON-RPC API in memory: `eth_getBlockByNumber("latest")`, `eth_getLogs`,
/// `eth_getTransactionReceipt` and `eth_getTransactionByHash` over the transactions a test
/// "mines" with [`FakeChain::mine_transfer`] (a `transferWithAuthorization`: its two logs,
/// and its signature in the input) or [`FakeChain::mine_cancel`], and `eth_getCode` (code
/// for the accounts in `contracts`, none for others). `time` is the latest block's
/// timestamp. `down` makes every call fail as an unreachable node; `unconfigured` as a
/// chain without an `rpc_url` (the shells' [`ChainError::NoEndpoint`]).
#[derive(Default)]
pub struct FakeChain {
    /// Transactions mined: hash, input and logs (as JSON-RPC writes them).
    transactions: RefCell<Vec<(String, String, Vec<Value>)>>,
    /// The latest block's timestamp.
    pub time: Cell<u64>,
    /// Whether the node is down.
    pub down: Cell<bool>,
    /// Whether no `rpc_url` is configured (no call is made then).
    pub unconfigured: Cell<bool>,
    /// How many calls were made.
    pub calls: Cell<usize>,
    /// Accounts with contract code (lower-case hex).
    pub contracts: RefCell<Vec<String>>,
    /// Smart wallets (ERC-1271) and their owners: a wallet accepts its owner's ECDSA
    /// signature over a hash, as `stack/contracts/TestWallet.sol` does. A wallet listed here
    /// without being in `contracts` is counterfactual: it accepts only through the factory
    /// call of an ERC-6492 wrapper.
    pub wallets: RefCell<Vec<(Address, Address)>>,
}

impl FakeChain {
    /// Mines a `transferWithAuthorization` of `amount` of `token` from `from` to `to` with
    /// `nonce`, signed with `signature`; returns its transaction hash.
    pub fn mine_transfer(
        &self,
        token: Address,
        (from, to): (Address, Address),
        amount: Uint256,
        nonce: Bytes32,
        signature: &[u8],
    ) -> String {
        let used = log(
            token,
            [authorization_used_topic(), from.to_word(), nonce.0],
            &[],
        );
        let transfer = log(
            token,
            [transfer_topic(), from.to_word(), to.to_word()],
            &amount.to_be_bytes(),
        );
        // The selector of transferWithAuthorization(…, bytes signature), then the signature.
        let input = format!("0xcf092995{}", hex::encode(signature));
        self.mine(input, vec![used, transfer])
    }

    /// Mines a `cancelAuthorization` of `(from, nonce)`.
    pub fn mine_cancel(&self, token: Address, from: Address, nonce: Bytes32) -> String {
        let canceled = log(
            token,
            [authorization_canceled_topic(), from.to_word(), nonce.0],
            &[],
        );
        self.mine("0x".into(), vec![canceled])
    }

    fn mine(&self, input: String, logs: Vec<Value>) -> String {
        let mut transactions = self.transactions.borrow_mut();
        let hash = format!("0x{:064x}", transactions.len() + 1);
        let logs = logs
            .into_iter()
            .map(|mut log| {
                log["transactionHash"] = hash.clone().into();
                log
            })
            .collect();
        transactions.push((hash.clone(), input, logs));
        hash
    }
}

impl FakeChain {
    /// What the gateway's `SignInCheck` creation code answers when run by `eth_call` with
    /// `data` (its code, then `(wallet, hash, factory, factoryCall, signature)`): `0x01` when
    /// the wallet (deployed, or deployed by a factory call) accepts the signature. Other
    /// code reverts, as a node answers a call it cannot run.
    fn sign_in_check(&self, data: &str) -> Result<Value, ChainError> {
        let reverted = || ChainError::Failed {
            detail: "execution reverted".into(),
        };
        let code = crate::gate::sign_in::SIGN_IN_CHECK.trim();
        let args = data
            .strip_prefix("0x")
            .and_then(|d| d.strip_prefix(code))
            .and_then(|args| hex::decode(args).ok())
            .ok_or_else(reverted)?;
        let word = |i: usize| args.get(32 * i..32 * (i + 1));
        let wallet = word(0).map(|w| Address(w[12..].try_into().unwrap_or_default()));
        let hash: Option<[u8; 32]> = word(1).and_then(|w| w.try_into().ok());
        let factory = word(2).is_some_and(|w| w.iter().any(|b| *b != 0));
        let bytes_at = |i: usize| {
            let offset = crate::evm::abi::usize_of(word(i)?)?;
            let len = crate::evm::abi::usize_of(args.get(offset..offset.checked_add(32)?)?)?;
            args.get(offset + 32..(offset + 32).checked_add(len)?)
        };
        let (Some(wallet), Some(hash), Some(signature)) = (wallet, hash, bytes_at(4)) else {
            return Err(reverted());
        };
        let deployed = self.contracts.borrow().contains(&wallet.to_hex());
        let owner = self
            .wallets
            .borrow()
            .iter()
            .find(|(known, _)| *known == wallet)
            .map(|(_, owner)| *owner);
        let signed_by_owner = crate::evm::RecoverableSignature::from_rsv(signature)
            .ok()
            .and_then(|s| crate::evm::recover_address_from_prehash(&hash, &s).ok())
            .is_some_and(|signer| Some(signer) == owner);
        let accepted = owner.is_some() && (deployed || factory) && signed_by_owner;
        Ok(json!(if accepted { "0x01" } else { "0x00" }))
    }
}

fn log(token: Address, topics: [[u8; 32]; 3], data: &[u8]) -> Value {
    json!({
        "address": token.to_string(),
        "topics": topics.iter().map(|t| format!("0x{}", hex::encode(t))).collect::<Vec<_>>(),
        "data": format!("0x{}", hex::encode(data)),
        "removed": false,
    })
}

impl ChainReader for FakeChain {
    async fn call(&self, chain_id: u64, method: &str, params: Value) -> Result<Value, ChainError> {
        if self.unconfigured.get() {
            return Err(ChainError::NoEndpoint { chain_id });
        }
        self.calls.set(self.calls.get() + 1);
        if self.down.get() {
            return Err(ChainError::Failed {
                detail: "connection refused".into(),
            });
        }
        let transactions = self.transactions.borrow();
        let wanted = params[0].as_str().unwrap_or_default().to_ascii_lowercase();
        let mined = transactions.iter().find(|(hash, ..)| *hash == wanted);
        match method {
            "eth_getCode" => Ok(json!(match self.contracts.borrow().contains(&wanted) {
                true => "0x6080604052",
                false => "0x",
            })),
            "eth_getBlockByNumber" => Ok(json!({
                "number": format!("0x{:x}", transactions.len() + 1),
                "timestamp": format!("0x{:x}", self.time.get()),
            })),
            // Every log of the token: the reader keeps only the ones it asked for.
            "eth_getLogs" => {
                let token = params[0]["address"].as_str().unwrap_or_default().to_owned();
                let logs = transactions.iter().flat_map(|(.., logs)| logs.iter());
                let ours = logs.filter(|log| log["address"].as_str() == Some(token.as_str()));
                Ok(Value::Array(ours.cloned().collect()))
            }
            "eth_getTransactionReceipt" => Ok(mined.map_or(
                Value::Null,
                |(.., logs)| json!({"status": "0x1", "logs": logs}),
            )),
            "eth_getTransactionByHash" => Ok(mined.map_or(
                Value::Null,
                |(hash, input, _)| json!({"hash": hash, "input": input}),
            )),
            "eth_call" => self.sign_in_check(params[0]["data"].as_str().unwrap_or_default()),
            other => Err(ChainError::Failed {
                detail: format!("{other} is not served by the fake chain"),
            }),
        }
    }
}

/// The payment coordinator of one process: the ledger's state machine over entries in
/// memory, run by the same functions as the Worker's Durable Object, writing receipts into
/// its [`MemoryStore`] as the object writes them into KV, and reconciling from its
/// [`FakeChain`]. Waiting copies of a payment wake when its entry changes (it has no clock of
/// its own: time is what the calls pass). `down` makes it unreachable.
pub struct MemoryCoordinator {
    /// The receipt store it writes to (the flow's [`ReceiptStore`]).
    pub store: MemoryStore,
    /// The chain it asks about unknown payments.
    pub chain: FakeChain,
    receipt_ttl_s: u64,
    entries: RefCell<HashMap<String, Entry>>,
    /// Payers' access entries, by name.
    access: RefCell<HashMap<String, AccessEntry>>,
    /// Bumped on every change; wakes the waiters.
    version: Cell<u64>,
    waiters: RefCell<Vec<Waker>>,
    now: Cell<u64>,
    /// Whether it is unreachable.
    pub down: Cell<bool>,
    /// Every call made: `("claim" | "conclude" | "grant" | "sign-in", key)`, oldest first.
    pub calls: RefCell<Vec<(&'static str, String)>>,
}

impl MemoryCoordinator {
    /// One that keeps receipts for `receipt_ttl_s`, with an empty store and chain.
    pub fn new(receipt_ttl_s: u64) -> Self {
        Self {
            store: MemoryStore::default(),
            chain: FakeChain::default(),
            receipt_ttl_s,
            entries: RefCell::default(),
            access: RefCell::default(),
            version: Cell::new(0),
            waiters: RefCell::default(),
            now: Cell::new(0),
            down: Cell::new(false),
            calls: RefCell::default(),
        }
    }

    /// The state of the payment with receipt key `key`.
    pub fn state(&self, key: &str) -> Option<PaymentState> {
        self.entries.borrow().get(key).map(|e| e.state.clone())
    }

    /// Every entry, as the operator's listing would show them.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.borrow().values().cloned().collect()
    }

    /// What the object's alarm does at `now` for the payment `key`: returns when to look
    /// again.
    pub async fn alarm(&self, key: &str, now: u64) -> Option<u64> {
        self.now.set(now);
        check_on(&self.slot(key), &self.chain, now).await
    }

    fn slot(&self, key: &str) -> MemorySlot<'_> {
        MemorySlot {
            coordinator: self,
            key: key.to_owned(),
        }
    }

    /// The access entry named `key` (a payer's in a scope).
    pub fn access(&self, key: &str) -> Option<AccessEntry> {
        self.access.borrow().get(key).cloned()
    }

    fn call(&self, what: &'static str, key: &str, now: u64) -> Result<(), CoordinatorError> {
        self.calls.borrow_mut().push((what, key.to_owned()));
        self.now.set(self.now.get().max(now));
        match self.down.get() {
            true => Err(CoordinatorError {
                detail: "connection refused".into(),
            }),
            false => Ok(()),
        }
    }
}

impl Coordinator for MemoryCoordinator {
    async fn claim(
        &self,
        record: &PaymentRecord,
        lease_s: Option<u64>,
        now: u64,
    ) -> Result<Claim, CoordinatorError> {
        self.call("claim", &record.key, now)?;
        claim_on(&self.slot(&record.key), &self.chain, record, lease_s, now).await
    }

    async fn conclude(
        &self,
        record: &PaymentRecord,
        conclusion: Conclusion,
        now: u64,
    ) -> Result<Option<PaymentState>, CoordinatorError> {
        self.call("conclude", &record.key, now)?;
        conclude_on(
            &self.slot(&record.key),
            &self.chain,
            record,
            conclusion,
            now,
        )
        .await
    }

    async fn grant_access(&self, call: &GrantCall) -> Result<(), CoordinatorError> {
        self.call("grant", &call.key, call.now)?;
        let mut entries = self.access.borrow_mut();
        let mut entry = entries.remove(&call.key);
        access::grant(&mut entry, call);
        entries.extend(entry.map(|entry| (call.key.clone(), entry)));
        Ok(())
    }

    async fn sign_in(&self, call: &SignInCall) -> Result<SignInAnswer, CoordinatorError> {
        self.call("sign-in", &call.key, call.now)?;
        let mut entries = self.access.borrow_mut();
        let mut entry = entries.remove(&call.key);
        let answer = access::sign_in(&mut entry, call);
        entries.extend(entry.map(|entry| (call.key.clone(), entry)));
        Ok(answer)
    }
}

struct MemorySlot<'c> {
    coordinator: &'c MemoryCoordinator,
    key: String,
}

impl EntrySlot for MemorySlot<'_> {
    fn current(&self) -> Option<Entry> {
        self.coordinator.entries.borrow().get(&self.key).cloned()
    }

    fn replace(&self, entry: Option<Entry>) {
        if entry == self.current() {
            return;
        }
        let mut entries = self.coordinator.entries.borrow_mut();
        match entry {
            Some(entry) => entries.insert(self.key.clone(), entry),
            None => entries.remove(&self.key),
        };
        let version = &self.coordinator.version;
        version.set(version.get() + 1);
        for waker in self.coordinator.waiters.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    async fn persist(&self) -> Result<(), String> {
        if let Some(Entry {
            state: PaymentState::Settled { receipt },
            ..
        }) = self.current()
        {
            let store = &self.coordinator.store;
            store.insert(&self.key, &receipt, self.coordinator.receipt_ttl_s);
        }
        Ok(())
    }

    async fn changed(&self, _until: u64) -> u64 {
        Changed {
            coordinator: self.coordinator,
            seen: self.coordinator.version.get(),
        }
        .await;
        self.coordinator.now.get()
    }
}

/// Ready once the coordinator's version moved past `seen`.
struct Changed<'c> {
    coordinator: &'c MemoryCoordinator,
    seen: u64,
}

impl Future for Changed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.coordinator.version.get() != self.seen {
            return Poll::Ready(());
        }
        self.coordinator
            .waiters
            .borrow_mut()
            .push(cx.waker().clone());
        Poll::Pending
    }
}

/// Pending once (waking itself at once), so that other tasks of the same executor run.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
