//! The gateway as a workers-rs middleware: [`Gateway::serve`] puts the configuration's prices
//! on the application's own handler, with the same decisions as the zero-code Worker (which
//! is this with a handler that proxies).

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::OnceLock;

use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;
use worker::worker_sys::web_sys;
use worker::{console_error, console_log, Context, Date, Env, Headers, Request, Response, Result};

use super::admin;
use super::budget;
use super::lightning::Lnd;
use super::objects::ObjectAllowances;
use super::origin::HandlerOrigin;
use super::outbound::FetchExchange;
use super::payments::ObjectCoordinator;
use super::pricing::Prices;
use super::spent::Spent;
use super::{CONFIG_VAR, FACILITATOR_AUTH_SECRET, RECEIPTS_KV};
use crate::config::{ConfigError, GatewayConfig};
use crate::gate::clients::{DirectoryCache, FetchedDirectories};
use crate::gate::extensions::{OfferSigner, OFFER_RECEIPT_KEY};
use crate::gate::flow::{
    answered_at_once, carry_out, Facilitator, FacilitatorError, LogRecord, Outcome, ReceiptStore,
    Services,
};
use crate::gate::http::{self as answers, Answer};
use crate::gate::quote::{QuoteKey, MIN_QUOTE_SECRET_LEN, QUOTE_SECRET};
use crate::gate::receipt::{revocation_key, verify_refusal_key, Receipt, VERIFY_REFUSAL_TTL_S};
use crate::gate::remote::{HttpFacilitator, RpcChains, REQUEST_RPC_TIMEOUT_MS};
use crate::gate::{
    Decision, DynamicPrice, Gate, PriceAsk, Refusal, Refused, RequestFacts, RequestHeaders,
    Secrets, L402_ROOT_SECRET,
};
use crate::l402::{RootKeySecret, TokenId};
use crate::networks::Networks;
use crate::protocol::facilitator::{FacilitatorRequest, SettleResponse, VerifyResponse};
use crate::routes::UrlParts;

/// A price function of the request, for routes whose `price` is `"dynamic"`: a price, or
/// [`DynamicPrice::Free`]; an error refuses the request (502 `pricing_unavailable`).
pub type PriceFunction =
    dyn Fn(&PriceAsk) -> std::result::Result<DynamicPrice, String> + Send + Sync;

/// edge402 over one configuration, for a Worker's own handlers: built once per isolate (a
/// [`LazyGateway`] in a `static` does that), then [`Gateway::serve`] for every request.
pub struct Gateway {
    gate: Gate,
    prices: Option<Box<PriceFunction>>,
}

impl Gateway {
    /// The gateway of `EDGE402_CONFIG` (a `[vars.EDGE402_CONFIG]` table or JSON text) and the
    /// secrets it needs, read from `env`.
    pub fn from_env(env: &Env) -> std::result::Result<Self, ConfigError> {
        Self::from_config(read_config(env)?, env)
    }

    /// The gateway of a configuration the application built (for example with
    /// [`GatewayConfig::from_json`]), with the secrets it needs from `env`.
    pub fn from_config(config: GatewayConfig, env: &Env) -> std::result::Result<Self, ConfigError> {
        let secrets = read_secrets(env, &config)?;
        let gate = Gate::new(config, secrets)?;
        // The first gateway's, for the payment coordinator objects of this isolate.
        let _ = ISOLATE_NETWORKS.set(gate.config().networks.clone());
        Ok(Self { gate, prices: None })
    }

    /// Prices the routes whose `price` is `"dynamic"` with `prices` (instead of
    /// `pricing.url` / `pricing.service`).
    pub fn with_prices(
        self,
        prices: impl Fn(&PriceAsk) -> std::result::Result<DynamicPrice, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            prices: Some(Box::new(prices)),
            ..self
        }
    }

    /// The decisions it makes.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Answers `request`: free routes go to `handler` at once; priced ones only once paid
    /// (settled, or a valid receipt or L402 credential), with the settlement's headers added
    /// to `handler`'s response; everything else gets the gateway's answer (a 402 challenge,
    /// a refusal) without calling `handler`. `handler` runs at most once, and receives the
    /// request at its canonical path, without payment headers, L402 credentials or
    /// method and path overrides.
    pub async fn serve<H, F>(
        &'static self,
        request: Request,
        env: &Env,
        ctx: &Context,
        handler: H,
    ) -> Result<Response>
    where
        H: FnOnce(Request) -> F,
        F: Future<Output = Result<Response>>,
    {
        let request = Clone::clone(request.inner());
        match self.answer(request, env, ctx, handler).await? {
            Served::Gateway(answer) => respond(answer),
            Served::Origin(response) => Ok(response),
        }
    }

    /// [`Gateway::serve`] for the runtime's own request and response types, as a
    /// `#[event(fetch)]` function may take and return them (`web_sys::Request`,
    /// `web_sys::Response`): the gateway reads only the URL, the method and the headers, so
    /// a request it answers itself (a 402) costs no conversion of the whole request into a
    /// `worker::Request` (whose `cf` object the runtime parses on access), and its answer is
    /// made as the runtime's response at once.
    pub async fn serve_raw<H, F>(
        &'static self,
        request: web_sys::Request,
        env: &Env,
        ctx: &Context,
        handler: H,
    ) -> Result<web_sys::Response>
    where
        H: FnOnce(Request) -> F,
        F: Future<Output = Result<Response>>,
    {
        match self.answer(request, env, ctx, handler).await? {
            Served::Gateway(answer) => respond_raw(answer),
            Served::Origin(response) => Ok(response.into()),
        }
    }

    /// What [`Gateway::serve`] and [`Gateway::serve_raw`] answer, before it is made a
    /// response of either type.
    async fn answer<H, F>(
        &'static self,
        request: web_sys::Request,
        env: &Env,
        ctx: &Context,
        handler: H,
    ) -> Result<Served>
    where
        H: FnOnce(Request) -> F,
        F: Future<Output = Result<Response>>,
    {
        let arrived = Arrived::read(request);
        if arrived.parts().path == admin::SETTLEMENTS_PATH {
            if let Some(answer) = admin::settlements(&arrived.request, &arrived.parts(), env).await
            {
                return answer.map(Served::Origin);
            }
        }
        self.check_once(env, ctx);
        let decision = self.gate.decide(&arrived.facts(), arrived.now);
        match answered_at_once(decision) {
            Ok((outcome, record)) => Ok(self.finish(&arrived, outcome, record, &[])?),
            Err(decision) => self.carry_out(arrived, decision, (env, ctx), handler).await,
        }
    }

    /// Answers `request` in the runtime's own terms, at once when the gateway can: a 402, a
    /// refusal, a preflight is made synchronously (a `web_sys::Response`); anything that
    /// needs a remote service or `handler` continues as [`Gateway::serve_raw`] does, from the
    /// decision already made (a `Promise` of one). What the zero-code Worker's `fetch`
    /// export returns: the runtime takes either, and an answer made at once costs none of
    /// the machinery of a Rust future.
    pub fn fetch<H, F>(
        &'static self,
        request: web_sys::Request,
        env: Env,
        ctx: Context,
        handler: H,
    ) -> JsValue
    where
        H: FnOnce(Request) -> F + 'static,
        F: Future<Output = Result<Response>> + 'static,
    {
        let arrived = Arrived::read(request);
        if arrived.parts().path != admin::SETTLEMENTS_PATH {
            self.check_once(&env, &ctx);
            let decision = self.gate.decide(&arrived.facts(), arrived.now);
            match answered_at_once(decision) {
                Ok((outcome, record)) => {
                    let made = self
                        .finish(&arrived, outcome, record, &[])
                        .and_then(Served::into_raw);
                    return made.map_or_else(|e| error_response(&e), JsValue::from);
                }
                Err(decision) => {
                    let answered = async move {
                        let served = self
                            .carry_out(arrived, decision, (&env, &ctx), handler)
                            .await;
                        Ok(served
                            .and_then(Served::into_raw)
                            .map_or_else(|e| error_response(&e), JsValue::from))
                    };
                    return future_to_promise(answered).into();
                }
            }
        }
        let answered = async move {
            let served = self.answer(arrived.request, &env, &ctx, handler).await;
            Ok(served
                .and_then(Served::into_raw)
                .map_or_else(|e| error_response(&e), JsValue::from))
        };
        future_to_promise(answered).into()
    }

    /// Performs a decision that needs the remote services, the handler among them.
    async fn carry_out<H, F>(
        &'static self,
        arrived: Arrived,
        decision: Decision,
        (env, ctx): (&Env, &Context),
        handler: H,
    ) -> Result<Served>
    where
        H: FnOnce(Request) -> F,
        F: Future<Output = Result<Response>>,
    {
        let gate = &self.gate;
        let parts = arrived.parts();
        let origin = HandlerOrigin::new(
            Clone::clone(&arrived.request),
            parts.origin,
            gate.config(),
            handler,
        );
        // Bindings and secrets are looked up when a service is first used.
        let store = KvReceipts {
            env,
            spent: Spent::default(),
        };
        let coordinator = ObjectCoordinator::new(env, ctx);
        let facilitator = LazyFacilitator {
            gate,
            env,
            built: OnceCell::new(),
            spent: Spent::default(),
        };
        let invoices = gate.config().lightning.as_ref().map(|ln| Lnd::new(ln, env));
        let allowances = ObjectAllowances::new(env);
        let chain = RpcChains::new(
            FetchExchange,
            &gate.config().networks,
            REQUEST_RPC_TIMEOUT_MS,
        );
        let pricing = Prices {
            function: self.prices.as_deref(),
            config: &gate.config().pricing,
            env,
            now: arrived.now,
        };
        let directories = FetchedDirectories {
            exchange: FetchExchange,
            cache: &KEY_DIRECTORIES,
            timeout_ms: gate.config().web_bot_auth.directory_timeout_ms,
        };
        let services = Services {
            facilitator: &facilitator,
            store: &store,
            origin: &origin,
            invoices: &invoices,
            coordinator: &coordinator,
            allowances: &allowances,
            chain: &chain,
            pricing: &pricing,
            directories: &directories,
        };
        let facts = arrived.facts();
        let (outcome, record) = carry_out(gate, &facts, decision, arrived.now, services).await;
        let spent = [
            ("coordinator_ms", coordinator.spent.ms()),
            ("facilitator_ms", facilitator.spent.ms()),
            ("kv_ms", store.spent.ms()),
            ("origin_ms", origin.spent.ms()),
        ];
        self.finish(&arrived, outcome, record, &spent)
    }

    /// Logs a request's record (as `log_requests` says) with the time `spent` waiting for
    /// each remote service, and makes its outcome what is served.
    fn finish(
        &self,
        arrived: &Arrived,
        outcome: Outcome<Response>,
        record: LogRecord,
        spent: &[(&str, Option<u64>)],
    ) -> Result<Served> {
        let config = self.gate.config();
        if record.is_logged(config.log_requests) {
            log(&record, &arrived.method, arrived.parts().path, spent);
        }
        Ok(match outcome {
            Outcome::Answered(answer) => Served::Gateway(answer),
            Outcome::Refused(refused) => {
                Served::Gateway(answers::answer(&refused, &config.networks))
            }
            Outcome::Origin { response, release } => {
                Served::Origin(with_headers(response, &answers::release_headers(&release))?)
            }
        })
    }

    /// Once per isolate, after answering: logs the configuration's warnings, and asks the
    /// facilitator what it supports, logging any configured network it does not settle.
    /// Never delays a request.
    fn check_once(&'static self, env: &Env, ctx: &Context) {
        thread_local!(static CHECKED: Cell<bool> = const { Cell::new(false) });
        if CHECKED.with(|c| c.replace(true)) {
            return;
        }
        let config = self.gate.config();
        let mut warnings = config.warnings();
        let dynamic = config.has_dynamic_prices();
        if dynamic && self.prices.is_none() && config.pricing.endpoint.is_none() {
            warnings.push(
                "routes with price \"dynamic\" have no pricing (pricing.url, pricing.service or \
                 Gateway::with_prices): they answer 502 pricing_unavailable"
                    .into(),
            );
        }
        for warning in warnings {
            console_error!("{}", json!({"event": "config_warning", "detail": warning}));
        }
        let facilitator = http_facilitator(&self.gate, env);
        ctx.wait_until(async move {
            match facilitator.supported().await {
                Ok(supported) => {
                    let missing = config.unsupported_offers(&supported);
                    if !missing.is_empty() {
                        console_error!("{}", json!({"event": "config_error", "reason": "facilitator_unsupported", "offers": missing}));
                    }
                }
                Err(error) => console_error!("{}", json!({"event": "supported_check_failed", "detail": error.to_string()})),
            }
        });
    }
}

/// A [`Gateway`] built on first use in each isolate, for a `static`:
///
/// ```ignore
/// static GATEWAY: LazyGateway = LazyGateway::new(Gateway::from_env);
/// ```
pub struct LazyGateway {
    gateway: OnceLock<std::result::Result<Gateway, ConfigError>>,
    build: fn(&Env) -> std::result::Result<Gateway, ConfigError>,
}

impl LazyGateway {
    /// One that `build`s its gateway from the first request's `env`.
    pub const fn new(build: fn(&Env) -> std::result::Result<Gateway, ConfigError>) -> Self {
        Self {
            gateway: OnceLock::new(),
            build,
        }
    }

    /// The gateway, built now if it was not; a configuration error stays the answer for the
    /// isolate's life.
    pub fn get(
        &'static self,
        env: &Env,
    ) -> std::result::Result<&'static Gateway, &'static ConfigError> {
        self.gateway.get_or_init(|| (self.build)(env)).as_ref()
    }

    /// [`Gateway::serve`], or, when the configuration is broken, a 500
    /// `invalid_configuration` answer (logged with the key at fault) without calling `handler`.
    pub async fn serve<H, F>(
        &'static self,
        request: Request,
        env: &Env,
        ctx: &Context,
        handler: H,
    ) -> Result<Response>
    where
        H: FnOnce(Request) -> F,
        F: Future<Output = Result<Response>>,
    {
        match self.get(env) {
            Ok(gateway) => gateway.serve(request, env, ctx, handler).await,
            Err(error) => configuration_error(request.inner(), env, error).await,
        }
    }

    /// [`Gateway::serve_raw`], or the configuration's error as [`LazyGateway::serve`] gives it.
    pub async fn serve_raw<H, F>(
        &'static self,
        request: web_sys::Request,
        env: &Env,
        ctx: &Context,
        handler: H,
    ) -> Result<web_sys::Response>
    where
        H: FnOnce(Request) -> F,
        F: Future<Output = Result<Response>>,
    {
        match self.get(env) {
            Ok(gateway) => gateway.serve_raw(request, env, ctx, handler).await,
            Err(error) => configuration_error(&request, env, error)
                .await
                .map(Into::into),
        }
    }
}

/// The answer of a gateway whose configuration is broken; the operator's listing still
/// answers (it needs only KV and its secret).
pub(super) async fn configuration_error(
    request: &web_sys::Request,
    env: &Env,
    error: &ConfigError,
) -> Result<Response> {
    let url = request.url();
    let parts = UrlParts::split(&url);
    if let Some(answer) = admin::settlements(request, &parts, env).await {
        return answer;
    }
    let refused = Refused::bare(Refusal::Configuration(error.clone()), None);
    let disposition = refused.refusal.disposition();
    let record = LogRecord {
        outcome: disposition.outcome,
        status: disposition.status,
        reason: Some(disposition.reason),
        detail: Some(error.to_string()),
        ..LogRecord::default()
    };
    log(&record, &request.method(), parts.path, &[]);
    respond(answers::answer(
        &refused,
        &crate::networks::Networks::builtin(),
    ))
}

/// The networks of the gateway built in this isolate.
static ISOLATE_NETWORKS: OnceLock<Networks> = OnceLock::new();

/// The networks of the gateway's configuration (for their `rpc_url`s), for a Durable Object:
/// those of a gateway built in this isolate, or else of `EDGE402_CONFIG` (read once), or the
/// built-in ones. (An application that builds its configuration in code and adds a network's
/// `rpc_url` there should also put its `networks` in `EDGE402_CONFIG`: an object may live in
/// an isolate where no request built the gateway.)
pub(super) fn configured_networks(env: &Env) -> &'static Networks {
    if let Some(networks) = ISOLATE_NETWORKS.get() {
        return networks;
    }
    static FROM_CONFIG: OnceLock<Networks> = OnceLock::new();
    FROM_CONFIG
        .get_or_init(|| read_config(env).map_or_else(|_| Networks::builtin(), |c| c.networks))
}

/// The secrets the configuration uses, as `wrangler secret` bindings: one that is needed and
/// set must be usable; whether a missing one is needed is the gate's to say.
fn read_secrets(env: &Env, config: &GatewayConfig) -> std::result::Result<Secrets, ConfigError> {
    let too_short = |key: &str, len: usize| ConfigError {
        key: key.into(),
        problem: format!("must be at least {len} bytes"),
    };
    let l402_root = match env.secret(L402_ROOT_SECRET) {
        Err(_) => None,
        Ok(_) if !config.sells_l402() => None,
        Ok(secret) => Some(
            RootKeySecret::new(secret.to_string().as_bytes())
                .map_err(|_| too_short(L402_ROOT_SECRET, 32))?,
        ),
    };
    let dynamic = config.has_dynamic_prices();
    let quote_key = match env.secret(QUOTE_SECRET) {
        Err(_) => None,
        Ok(_) if !dynamic => None,
        Ok(secret) => Some(
            QuoteKey::new(secret.to_string().as_bytes())
                .map_err(|_| too_short(QUOTE_SECRET, MIN_QUOTE_SECRET_LEN))?,
        ),
    };
    let offer_signer = match env.secret(OFFER_RECEIPT_KEY) {
        Err(_) => None,
        Ok(_) if config.offer_receipt.is_none() => None,
        Ok(secret) => {
            Some(
                OfferSigner::from_hex(&secret.to_string()).map_err(|e| ConfigError {
                    key: OFFER_RECEIPT_KEY.into(),
                    problem: e.to_string(),
                })?,
            )
        }
    };
    Ok(Secrets {
        l402_root,
        quote_key,
        offer_signer,
    })
}

/// `EDGE402_CONFIG` as a table (a `[vars.EDGE402_CONFIG]` section) or as JSON text.
fn read_config(env: &Env) -> std::result::Result<GatewayConfig, ConfigError> {
    let missing = || ConfigError {
        key: CONFIG_VAR.into(),
        problem: "is not set (see README.md, Configuration)".into(),
    };
    // JSON text first: `object_var` accepts only a binding whose constructor is `Object`, so a
    // string var (`--var`, `[vars]` as text, a secret) would otherwise read as missing.
    if let Ok(text) = env.var(CONFIG_VAR) {
        return GatewayConfig::from_json_text(&text.to_string());
    }
    match env.object_var::<serde_json::Value>(CONFIG_VAR) {
        Ok(serde_json::Value::Null) | Err(_) => Err(missing()),
        Ok(value) => GatewayConfig::from_json(&value),
    }
}

/// The facilitator client of the configuration, with its optional credential secret.
fn http_facilitator(gate: &Gate, env: &Env) -> HttpFacilitator<FetchExchange> {
    let authorization = env
        .secret(FACILITATOR_AUTH_SECRET)
        .ok()
        .map(|s| s.to_string());
    HttpFacilitator::new(FetchExchange, &gate.config().facilitator, authorization)
}

/// The facilitator of a request, made (with its credential secret) when first called: most
/// requests call none.
struct LazyFacilitator<'a> {
    gate: &'a Gate,
    env: &'a Env,
    built: OnceCell<HttpFacilitator<FetchExchange>>,
    /// Time spent waiting for the facilitator, for the log line.
    spent: Spent,
}

impl LazyFacilitator<'_> {
    fn get(&self) -> &HttpFacilitator<FetchExchange> {
        self.built
            .get_or_init(|| http_facilitator(self.gate, self.env))
    }
}

impl Facilitator for LazyFacilitator<'_> {
    async fn verify(
        &self,
        request: &FacilitatorRequest,
    ) -> std::result::Result<VerifyResponse, FacilitatorError> {
        self.spent.time(self.get().verify(request)).await
    }

    async fn settle(
        &self,
        request: &FacilitatorRequest,
    ) -> std::result::Result<SettleResponse, FacilitatorError> {
        self.spent.time(self.get().settle(request)).await
    }
}

/// The gateway's state as the flow reads it: receipts and revocations in Workers KV (a failed
/// read is a miss; the payment coordinator writes the receipts), L402 request budgets in
/// Durable Objects. The bindings are looked up when used.
struct KvReceipts<'e> {
    env: &'e Env,
    /// Time spent reading receipts, for the log line.
    spent: Spent,
}

impl KvReceipts<'_> {
    fn kv(&self) -> Option<worker::kv::KvStore> {
        self.env.kv(RECEIPTS_KV).ok()
    }
}

impl ReceiptStore for KvReceipts<'_> {
    async fn get(&self, key: &str) -> Option<Receipt> {
        let kv = self.kv()?;
        match self.spent.time(kv.get(key).json::<Receipt>()).await {
            Ok(found) => found,
            Err(error) => {
                console_error!(
                    "{}",
                    json!({"event": "receipt_read_failed", "detail": error.to_string()})
                );
                None
            }
        }
    }

    async fn consume_token_request(
        &self,
        token_id: &TokenId,
        limit: u32,
    ) -> std::result::Result<bool, String> {
        let namespace = self
            .env
            .durable_object(budget::BUDGET_BINDING)
            .map_err(|_| "no TOKEN_BUDGET Durable Object binding")?;
        budget::consume(&namespace, token_id, limit).await
    }

    async fn verify_refused(&self, verify_key: &str) -> Option<String> {
        let kv = self.kv()?;
        kv.get(&verify_refusal_key(verify_key))
            .text()
            .await
            .ok()
            .flatten()
    }

    async fn remember_verify_refusal(&self, verify_key: &str, reason: &str) {
        let Some(kv) = self.kv() else {
            return;
        };
        let put = kv
            .put(&verify_refusal_key(verify_key), reason)
            .map(|put| put.expiration_ttl(VERIFY_REFUSAL_TTL_S));
        let written = match put {
            Ok(put) => put.execute().await,
            Err(error) => Err(error),
        };
        if let Err(error) = written {
            console_error!(
                "{}",
                json!({"event": "verify_refusal_not_kept", "detail": error.to_string()})
            );
        }
    }

    async fn is_revoked(&self, token_id: &TokenId) -> std::result::Result<bool, String> {
        let kv = self.kv().ok_or("no RECEIPTS binding")?;
        let entry = kv
            .get(&revocation_key(token_id))
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Ok(entry.is_some())
    }
}

thread_local! {
    /// Web Bot Auth agents' key directories, per isolate.
    static KEY_DIRECTORIES: Rc<RefCell<DirectoryCache>> = Rc::default();
}

/// What a request comes to: the gateway's own answer, or the handler's response with the
/// gateway's headers added.
enum Served {
    Gateway(Answer),
    Origin(Response),
}

impl Served {
    /// As the runtime's response.
    fn into_raw(self) -> Result<web_sys::Response> {
        match self {
            Self::Gateway(answer) => respond_raw(answer),
            Self::Origin(response) => Ok(response.into()),
        }
    }
}

/// A request as it arrived: the parts of it the gateway reads, taken once, and the time.
struct Arrived {
    request: web_sys::Request,
    /// The runtime hands over a WHATWG-normalised absolute URL; it is split by hand
    /// ([`UrlParts`]), which keeps the `url` crate's parser and its Unicode tables (about
    /// 100 KB) out of the build.
    url: String,
    method: String,
    headers: RequestHeaders,
    now: u64,
}

impl Arrived {
    fn read(request: web_sys::Request) -> Self {
        let headers = RequestHeaders::read(Headers(request.headers()).entries());
        Self {
            url: request.url(),
            method: request.method(),
            headers,
            now: Date::now().as_millis() / 1000,
            request,
        }
    }

    fn parts(&self) -> UrlParts<'_> {
        UrlParts::split(&self.url)
    }

    fn facts(&self) -> RequestFacts<'_> {
        self.headers
            .facts(&self.method, &UrlParts::split(&self.url))
    }
}

/// The answer when making one failed (the runtime refused a header or a body): 500, as
/// workers-rs answers an error of a handler.
fn error_response(error: &worker::Error) -> JsValue {
    console_error!(
        "{}",
        json!({"event": "response_failed", "detail": error.to_string()})
    );
    web_sys::Response::new_with_opt_str_and_init(Some("internal error"), &{
        let init = web_sys::ResponseInit::new();
        init.set_status(500);
        init
    })
    .map_or(JsValue::UNDEFINED, JsValue::from)
}

/// The gateway's answer as the runtime's response, made at once. The headers every answer
/// starts with ([`answers::common_headers`]) are copied from one `Headers` object made once
/// per isolate, which costs the runtime one call instead of one per header.
fn respond_raw(answer: Answer) -> Result<web_sys::Response> {
    thread_local!(static COMMON: (Vec<(&'static str, String)>, Option<web_sys::Headers>) = {
        let common = answers::common_headers();
        let headers = web_sys::Headers::new().ok().filter(|headers| {
            common.iter().all(|(name, value)| headers.append(name, value).is_ok())
        });
        (common, headers)
    });
    let headers = COMMON.with(|(common, base)| match base {
        Some(base) if answer.headers.starts_with(common) => {
            web_sys::Headers::new_with_headers(base).map(|headers| (headers, common.len()))
        }
        _ => web_sys::Headers::new().map(|headers| (headers, 0)),
    });
    let (headers, skip) = headers.map_err(worker::Error::from)?;
    for (name, value) in &answer.headers[skip..] {
        // `append`: an L402 challenge has two `WWW-Authenticate` values (LSAT, L402).
        headers.append(name, value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(answer.status);
    init.set_headers(&headers);
    let body = Some(answer.body.as_str()).filter(|body| !body.is_empty());
    Ok(web_sys::Response::new_with_opt_str_and_init(body, &init)?)
}

fn respond(answer: Answer) -> Result<Response> {
    let headers = Headers::new();
    // `append`, not `set`: an L402 challenge has two `WWW-Authenticate` values (LSAT, L402).
    for (name, value) in &answer.headers {
        headers.append(name, value)?;
    }
    let response = match answer.body.is_empty() {
        true => Response::empty()?,
        false => Response::ok(answer.body)?,
    };
    Ok(response.with_status(answer.status).with_headers(headers))
}

/// `response` with `extra` headers set (fetched headers are immutable, so they are copied
/// into a fresh set).
pub(super) fn with_headers(
    response: Response,
    extra: &[(&'static str, String)],
) -> Result<Response> {
    if response.status_code() == 101 || extra.is_empty() {
        // A WebSocket upgrade: a rebuilt response would lose its socket (and the runtime
        // refuses a 101 without one), so it passes as the origin sent it.
        return Ok(response);
    }
    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        headers.append(&name, &value)?;
    }
    for (name, value) in extra {
        headers.set(name, value)?;
    }
    let status = response.status_code();
    let (_, body) = response.into_parts();
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(body))
}

/// The request's log line: the flow's record, with the method, the path and the
/// milliseconds spent waiting for each remote service that was asked.
fn log(record: &LogRecord, method: &str, path: &str, spent: &[(&str, Option<u64>)]) {
    let mut line = record.line(method, path);
    if let Some(fields) = line.as_object_mut() {
        for (name, ms) in spent {
            if let Some(ms) = ms {
                fields.insert((*name).into(), (*ms).into());
            }
        }
    }
    console_log!("{line}");
}
