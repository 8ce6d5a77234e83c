//! The gateway for JavaScript runtimes (feature `js`, wasm32): `new Gateway(config, secrets)`
//! once, then `gateway.handle(request, io)` per request. Every decision is the core's, made by
//! the same flow as the Worker's ([`crate::gate::flow::handle`]); the JavaScript side only
//! performs what it is asked through `io`: outbound HTTP (the facilitator, the chains'
//! JSON-RPC), the application's content, a key-value store for receipts, prices of routes
//! priced per request, and timers.
//!
//! Payments are coordinated in this instance's memory (one process: a Node server), or, when
//! `io.coordinator` is given, by one Durable Object per payment ([`super::coordinator`]).
//! L402 routes are not served here (the Worker serves them).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::coordinator::{JsCoordinator, ProcessCoordinator};
use super::{error, from_js};
use crate::config::GatewayConfig;
use crate::gate::clients::{BotManagement, DirectoryCache, FetchedDirectories};
use crate::gate::dynamic_price::Pricing;
use crate::gate::extensions::OfferSigner;
use crate::gate::flow::{
    handle, refused_with, ClientMessages, LogRecord, Origin, Outcome, ReceiptStore, Services,
};
use crate::gate::http::{self as answers, Answer};
use crate::gate::l402::{Invoice, InvoiceError, InvoiceSource};
use crate::gate::limits::ProcessAllowances;
use crate::gate::quote::QuoteKey;
use crate::gate::receipt::{verify_refusal_key, Receipt, VERIFY_REFUSAL_TTL_S};
use crate::gate::remote::{
    Exchange, ExchangeError, HttpFacilitator, Outbound, RpcChains, REQUEST_RPC_TIMEOUT_MS,
    RPC_TIMEOUT_MS,
};
use crate::gate::{
    DynamicPrice, Gate, PriceAsk, Refusal, Refused, RequestFacts, RequestHeaders, Secrets,
};
use crate::l402::TokenId;
use crate::protocol::Reason;
use crate::routes::UrlParts;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** The secrets of a gateway. */
export interface GatewaySecrets {
  /** Signs the quotes of routes priced per request (at least 32 bytes); required by them. */
  quoteSecret?: string;
  /** Signs offers and receipts (`offer_receipt`): a secp256k1 key, `0x` + 64 hex digits. */
  offerReceiptKey?: string;
  /** Sent as the facilitator's `Authorization` header. */
  facilitatorAuthorization?: string;
}
/** A request as the gateway reads it. `client` is the address the connection came from
 *  (the socket's, or Cloudflare's `CF-Connecting-IP` in Workers), for the per-client
 *  allowances; a header the client sets is never taken for it. */
export interface GatewayRequest { method: string; url: string; headers: [string, string][]; client?: string }
/** One outbound request the gateway asks `io.exchange` to send (no redirects followed). */
export interface OutboundRequest {
  method: 'GET' | 'POST'; url: string; headers: [string, string][]; body?: string;
  timeoutMs: number; maxBytes: number;
}
/** What the gateway asks its host to do. */
export interface GatewayIo {
  /** Sends `request`: resolves `{status, body}` (text), or rejects with `{kind, detail}`:
   *  `timeout`, `unsent` (never left), `connection` (may have arrived), `broken` (an answer
   *  that could not be read whole or was larger than `maxBytes`). */
  exchange(request: OutboundRequest): Promise<{ status: number; body: string }>;
  /** The application's content for `target` (canonical path and query): any value with a
   *  numeric `status` (a `Response`), handed back as `content.response`. Called at most once. */
  content(target: string): Promise<{ status: number }>;
  /** Receipts and remembered refusals: `put` keeps `value` for `ttlSeconds`. */
  store: { get(key: string): Promise<string | null>; put(key: string, value: string, ttlSeconds: number): Promise<void> };
  /** The price of a request on a route whose price is `"dynamic"`. */
  price?(ask: { route: string; method: string; path: string; query?: string }): Promise<{ price: string } | { free: true }>;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}
/** The gateway's answer: its own (a challenge, a refusal, a preflight), or the content with
 *  headers to set on it. `log` is the request's log line (`null` for a request the
 *  configuration's `log_requests` does not log). */
export type GatewayAnswer =
  | { kind: 'answer'; status: number; headers: [string, string][]; body: string; log: Record<string, unknown> }
  | { kind: 'content'; response: any; headers: [string, string][]; log: Record<string, unknown> };
"#;

/// The gateway over one configuration, for JavaScript hosts.
#[wasm_bindgen(js_name = Gateway)]
pub struct JsGateway {
    inner: Rc<Inner>,
}

struct Inner {
    gate: Gate,
    authorization: Option<String>,
    coordinator: ProcessCoordinator,
    allowances: ProcessAllowances,
}

/// The secrets as JavaScript passes them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsSecrets {
    quote_secret: Option<String>,
    offer_receipt_key: Option<String>,
    facilitator_authorization: Option<String>,
}

#[wasm_bindgen(js_class = Gateway)]
impl JsGateway {
    /// A gateway over `config` (the configuration document of the README, as an object) and
    /// `secrets`. Throws with reason `invalid_configuration`, naming the key at fault.
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: JsValue,
        #[wasm_bindgen(unchecked_param_type = "GatewaySecrets | undefined")] secrets: JsValue,
    ) -> Result<JsGateway, JsValue> {
        let invalid = |message: &str| error(Reason::InvalidConfiguration, message);
        let config: serde_json::Value = from_js(config, Reason::InvalidConfiguration)?;
        let secrets: JsSecrets = match secrets.is_undefined() || secrets.is_null() {
            true => JsSecrets::default(),
            false => from_js(secrets, Reason::InvalidConfiguration)?,
        };
        let quote_key = secrets
            .quote_secret
            .map(|secret| QuoteKey::new(secret.as_bytes()))
            .transpose()
            .map_err(|_| invalid("quoteSecret must be at least 32 bytes"))?;
        let offer_signer = secrets
            .offer_receipt_key
            .map(|key| OfferSigner::from_hex(&key))
            .transpose()
            .map_err(|e| invalid(&format!("offerReceiptKey: {e}")))?;
        let secrets_of_gate = Secrets {
            l402_root: None,
            quote_key,
            offer_signer,
        };
        let config = GatewayConfig::from_json(&config).map_err(|e| invalid(&e.to_string()))?;
        if config.sells_l402() {
            return Err(invalid(
                "routes with `l402` are served by the Worker, not by the JavaScript gateway",
            ));
        }
        if config.prices_mcp_tools() {
            return Err(invalid(MCP_NOT_SERVED));
        }
        let gate = Gate::new(config, secrets_of_gate).map_err(|e| invalid(&e.to_string()))?;
        Ok(Self {
            inner: Rc::new(Inner {
                gate,
                authorization: secrets.facilitator_authorization,
                coordinator: ProcessCoordinator::default(),
                allowances: ProcessAllowances::default(),
            }),
        })
    }

    /// Each route's `match` in its canonical spelling, in order: what `io.price` is asked
    /// with as `route`.
    #[wasm_bindgen(js_name = routeMatches)]
    pub fn route_matches(&self) -> Vec<String> {
        let routes = &self.inner.gate.config().routes;
        routes
            .iter()
            .map(|route| route.matcher.to_string())
            .collect()
    }

    /// Handles one request with `io`; resolves to a [`GatewayAnswer`]. Rejects only when
    /// `request` is not a request.
    #[wasm_bindgen(unchecked_return_type = "Promise<GatewayAnswer>")]
    pub fn handle(
        &self,
        #[wasm_bindgen(unchecked_param_type = "GatewayRequest")] request: JsValue,
        #[wasm_bindgen(unchecked_param_type = "GatewayIo")] io: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move { inner.handle(request, Io(io)).await })
    }
}

/// A request as JavaScript passes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    /// Where the connection came from, as the host knows it.
    client: Option<String>,
}

impl Inner {
    async fn handle(&self, request: JsValue, io: Io) -> Result<JsValue, JsValue> {
        let request: JsRequest = from_js(request, Reason::InvalidPayload)?;
        let now = unix_now();
        let gate = &self.gate;
        let parts = UrlParts::split(&request.url);
        // `CF-Connecting-IP` is Cloudflare's to set; elsewhere any client can send it.
        let sent = request
            .headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("cf-connecting-ip"));
        let headers = RequestHeaders::read(sent.map(|(n, v)| (n, v)));
        let facts = RequestFacts {
            client: request.client.as_deref(),
            ..headers.facts(&request.method, &parts)
        };
        let exchange = JsExchange(&io);
        let facilitator = HttpFacilitator::new(
            JsExchange(&io),
            &gate.config().facilitator,
            self.authorization.clone(),
        );
        let networks = &gate.config().networks;
        let coordinator = match io.has_member("coordinator") {
            true => JsCoordinator::Objects { io: &io },
            false => JsCoordinator::Process {
                process: &self.coordinator,
                io: &io,
                chain: RpcChains::new(JsExchange(&io), networks, RPC_TIMEOUT_MS),
            },
        };
        let services = Services {
            facilitator: &facilitator,
            store: &JsStore(&io),
            origin: &JsContent {
                io: &io,
                headers: &request.headers,
            },
            invoices: &None::<NoLightning>,
            coordinator: &coordinator,
            allowances: &self.allowances,
            chain: &RpcChains::new(exchange, networks, REQUEST_RPC_TIMEOUT_MS),
            pricing: &JsPricing(&io),
            directories: &FetchedDirectories {
                exchange: JsExchange(&io),
                cache: &KEY_DIRECTORIES,
                timeout_ms: gate.config().web_bot_auth.directory_timeout_ms,
            },
        };
        // The application sees the request as sent, so a method-override header would let
        // its framework run another method than the one priced: refused on every path, as
        // the Worker does with `origin.method_override = "refuse"`.
        let (outcome, log) = match facts.method_override {
            Some(header) => {
                let refused = Refused::bare(Refusal::MethodOverride { header }, None);
                refused_with(refused, LogRecord::default())
            }
            None => handle(gate, &facts, now, services).await,
        };
        let log = match log.is_logged(gate.config().log_requests) {
            true => log_line(&log, &request.method, parts.path),
            false => JsValue::NULL,
        };
        let answer = match outcome {
            Outcome::Answered(answer) => own_answer(answer, log),
            Outcome::Refused(refused) => own_answer(answers::answer(&refused, networks), log),
            Outcome::Origin { response, release } => {
                let answer = Object::new();
                set(&answer, "kind", &"content".into());
                set(&answer, "response", &response);
                set(
                    &answer,
                    "headers",
                    &header_pairs(&answers::release_headers(&release)),
                );
                set(&answer, "log", &log);
                answer.into()
            }
        };
        Ok(answer)
    }
}

/// The host's `io` object.
pub(super) struct Io(pub(super) JsValue);

impl Io {
    /// Calls `io.<path>(args…)` and awaits the promise it returns.
    pub(super) async fn call(&self, path: &[&str], args: &[JsValue]) -> Result<JsValue, JsValue> {
        let mut this = self.0.clone();
        for name in &path[..path.len() - 1] {
            this = Reflect::get(&this, &(*name).into())?;
        }
        let function: Function = Reflect::get(&this, &path[path.len() - 1].into())?
            .dyn_into()
            .map_err(|_| JsValue::from_str(&format!("io.{} is not a function", path.join("."))))?;
        let list = Array::new();
        for arg in args {
            list.push(arg);
        }
        let returned = function.apply(&this, &list)?;
        JsFuture::from(Promise::resolve(&returned)).await
    }

    /// Whether `io.<name>` is a function.
    fn has(&self, name: &str) -> bool {
        Reflect::get(&self.0, &name.into()).is_ok_and(|f| f.is_function())
    }

    /// Whether `io.<name>` is given at all.
    fn has_member(&self, name: &str) -> bool {
        Reflect::get(&self.0, &name.into()).is_ok_and(|v| !v.is_undefined() && !v.is_null())
    }
}

/// Outbound HTTP through `io.exchange`.
pub(super) struct JsExchange<'a>(pub(super) &'a Io);

impl Exchange for JsExchange<'_> {
    async fn exchange(&self, request: Outbound<'_>) -> Result<(u16, Vec<u8>), ExchangeError> {
        let object = Object::new();
        set(&object, "method", &request.method.into());
        set(&object, "url", &request.url.into());
        let pairs: Array = request
            .headers
            .iter()
            .map(|(name, value)| Array::of2(&(*name).into(), &(*value).into()))
            .collect();
        set(&object, "headers", &pairs);
        if let Some(body) = &request.body {
            set(&object, "body", &body.as_str().into());
        }
        set(&object, "timeoutMs", &(request.timeout_ms as f64).into());
        set(&object, "maxBytes", &(request.max_bytes as f64).into());
        match self.0.call(&["exchange"], &[object.into()]).await {
            Ok(answer) => {
                let status = status_of(&answer).ok_or_else(|| {
                    ExchangeError::Broken("io.exchange answered no status".into())
                })?;
                let body = Reflect::get(&answer, &"body".into())
                    .ok()
                    .and_then(|b| b.as_string())
                    .ok_or_else(|| {
                        ExchangeError::Broken("io.exchange answered no text body".into())
                    })?;
                if body.len() > request.max_bytes {
                    return Err(ExchangeError::Broken(format!(
                        "answer larger than {} bytes",
                        request.max_bytes
                    )));
                }
                Ok((status, body.into_bytes()))
            }
            Err(thrown) => {
                let text = |key: &str| {
                    Reflect::get(&thrown, &key.into())
                        .ok()
                        .and_then(|v| v.as_string())
                };
                let detail = text("detail").unwrap_or_else(|| format!("{thrown:?}"));
                Err(match text("kind").as_deref() {
                    Some("timeout") => ExchangeError::Timeout,
                    Some("unsent") => ExchangeError::Unsent(detail),
                    Some("broken") => ExchangeError::Broken(detail),
                    // Anything else may have reached the other side.
                    _ => ExchangeError::Connection(detail),
                })
            }
        }
    }

    /// A failed connection is taken as one that may have arrived: the payment becomes
    /// unknown, and the chain decides (safe; only the failover to another URL is lost).
    async fn reachable(&self, _url: &str) -> bool {
        true
    }
}

/// The application's content through `io.content`.
struct JsContent<'a> {
    io: &'a Io,
    /// The request's headers, as the host handed them over.
    headers: &'a [(String, String)],
}

impl Origin for JsContent<'_> {
    type Response = JsValue;

    async fn fetch(&self, target: &str, _body: Option<&[u8]>) -> Result<JsValue, String> {
        let content = self
            .io
            .call(&["content"], &[target.into()])
            .await
            .map_err(|thrown| format!("the application failed: {thrown:?}"))?;
        // Not an answer: nothing to serve, nothing to charge for.
        match status_of(&content) {
            Some(_) => Ok(content),
            None => Err("the application answered something without a numeric status".into()),
        }
    }

    fn status(response: &JsValue) -> u16 {
        // `fetch` passes only values with a status.
        status_of(response).unwrap_or(500)
    }
}

/// The application's content is never read or changed here: bodies are read only on `mcp`
/// routes, which this gateway refuses when it is made. The request's headers are the
/// host's; no host here has Cloudflare's bot signals.
impl ClientMessages for JsContent<'_> {
    async fn request_body(&self, _limit: usize) -> Result<Option<Vec<u8>>, String> {
        Err(MCP_NOT_SERVED.into())
    }

    fn request_headers(&self) -> Vec<(String, String)> {
        self.headers.to_vec()
    }

    fn bot_management(&self) -> Option<BotManagement> {
        None
    }

    fn content_type(_: &JsValue) -> Option<String> {
        None
    }

    async fn read_body(
        &self,
        _: &mut JsValue,
        _: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        Err(MCP_NOT_SERVED.into())
    }

    fn with_body(&self, _: JsValue, _: Vec<u8>) -> Result<JsValue, String> {
        Err(MCP_NOT_SERVED.into())
    }
}

thread_local! {
    /// Web Bot Auth agents' key directories, per isolate.
    static KEY_DIRECTORIES: Rc<RefCell<DirectoryCache>> = Rc::default();
}

/// Why [`JsContent`] reads no bodies.
const MCP_NOT_SERVED: &str =
    "routes with `mcp` are served by the Worker, not by the JavaScript gateway";

/// Receipts and remembered refusals in `io.store`.
pub(super) struct JsStore<'a>(pub(super) &'a Io);

impl JsStore<'_> {
    async fn get(&self, key: &str) -> Option<String> {
        self.0
            .call(&["store", "get"], &[key.into()])
            .await
            .ok()?
            .as_string()
    }

    pub(super) async fn put(&self, key: &str, value: &str, ttl_s: u64) -> Result<(), String> {
        let args = [key.into(), value.into(), (ttl_s as f64).into()];
        self.0
            .call(&["store", "put"], &args)
            .await
            .map(drop)
            .map_err(|thrown| format!("io.store.put failed: {thrown:?}"))
    }
}

impl ReceiptStore for JsStore<'_> {
    async fn get(&self, key: &str) -> Option<Receipt> {
        serde_json::from_str(&JsStore::get(self, key).await?).ok()
    }

    async fn is_revoked(&self, _: &TokenId) -> Result<bool, String> {
        Err("L402 is not served by the JavaScript gateway".into())
    }

    async fn verify_refused(&self, verify_key: &str) -> Option<String> {
        JsStore::get(self, &verify_refusal_key(verify_key)).await
    }

    async fn remember_verify_refusal(&self, verify_key: &str, reason: &str) {
        let key = verify_refusal_key(verify_key);
        // Best effort: a lost write costs a `/verify` next time.
        let _ = self.put(&key, reason, VERIFY_REFUSAL_TTL_S).await;
    }

    async fn consume_token_request(&self, _: &TokenId, _: u32) -> Result<bool, String> {
        Err("L402 is not served by the JavaScript gateway".into())
    }
}

/// Prices through `io.price`.
struct JsPricing<'a>(&'a Io);

impl Pricing for JsPricing<'_> {
    async fn price(&self, ask: &PriceAsk) -> Result<DynamicPrice, String> {
        if !self.0.has("price") {
            return ().price(ask).await;
        }
        let ask_js = Object::new();
        set(&ask_js, "route", &ask.route.as_str().into());
        set(&ask_js, "method", &ask.method.as_str().into());
        set(&ask_js, "path", &ask.path.as_str().into());
        if let Some(query) = &ask.query {
            set(&ask_js, "query", &query.as_str().into());
        }
        let answer = self
            .0
            .call(&["price"], &[ask_js.into()])
            .await
            .map_err(|thrown| format!("the price function failed: {thrown:?}"))?;
        let text = js_sys::JSON::stringify(&answer)
            .ok()
            .and_then(|t| t.as_string())
            .ok_or("the price function answered something that is not JSON")?;
        DynamicPrice::from_answer(text.as_bytes())
    }
}

/// No Lightning node: L402 routes are refused when the gateway is made.
enum NoLightning {}

impl InvoiceSource for NoLightning {
    async fn create_invoice(&self, _: u64, _: &str) -> Result<Invoice, InvoiceError> {
        match *self {}
    }
}

/// A value's `status`, when it is a whole number from 100 to 599.
fn status_of(value: &JsValue) -> Option<u16> {
    let status = Reflect::get(value, &"status".into()).ok()?.as_f64()?;
    let whole = status.fract() == 0.0 && (100.0..600.0).contains(&status);
    whole.then_some(status as u16)
}

pub(super) fn unix_now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

pub(super) fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property of a plain object cannot fail.
    let _ = Reflect::set(object, &key.into(), value);
}

/// Headers as `[name, value]` pairs.
fn header_pairs(headers: &[(&'static str, String)]) -> Array {
    headers
        .iter()
        .map(|(name, value)| Array::of2(&(*name).into(), &value.as_str().into()))
        .collect()
}

/// The gateway's own answer.
fn own_answer(answer: Answer, log: JsValue) -> JsValue {
    let object = Object::new();
    set(&object, "kind", &"answer".into());
    set(&object, "status", &answer.status.into());
    set(&object, "headers", &header_pairs(&answer.headers));
    set(&object, "body", &answer.body.as_str().into());
    set(&object, "log", &log);
    object.into()
}

/// The request's log line, as the Worker writes it (without the `*_ms` times it waited).
fn log_line(record: &LogRecord, method: &str, path: &str) -> JsValue {
    js_sys::JSON::parse(&record.line(method, path).to_string()).unwrap_or(JsValue::NULL)
}
