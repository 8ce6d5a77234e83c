//! Prices by who is asking: a route's `clients` offers browsers, unsigned automated clients
//! ("bots") and verified agents each their own terms (free, refused, the route's price or
//! one of their own), with agents allowed or denied by their `Signature-Agent`.
//!
//! Who is asking is found out once per request, only on such routes
//! ([`Decision::IdentifyClient`], then [`identify`] in the flow):
//!
//! 1. a Web Bot Auth signature ([`crate::web_bot_auth`]) whose agent's key directory the
//!    shell fetches ([`KeyDirectories`], cached with its TTL) and which verifies makes a
//!    **verified agent**, unless the agent is denied (refused) or not in a non-empty
//!    `allow_agents` (then a bot, and its keys are not fetched). A signature that fails in
//!    any way (malformed, expired, too long-lived, wrong key, a component not covered, an
//!    unreachable directory) counts as none: never an error page, never trusted;
//! 2. otherwise, with `web_bot_auth.bot_management` (for a zone that has Cloudflare Bot
//!    Management), a score below `web_bot_auth.bot_score_below` (or a verified bot without
//!    a signature) makes a **bot**, any other score a **browser**;
//! 3. otherwise the request says: fetch metadata (`Sec-Fetch-Mode`, which browsers send and
//!    scripts in a page cannot set) with a browser's `User-Agent` makes a **browser**,
//!    anything else a **bot**. A program can claim as much, so without Bot Management
//!    "browser" is a claim: offer browsers nothing a bot should not have.
//!
//! Pay-per-crawl's headers ([`super::crawl`]) are spoken to bots and agents; an agent's
//! `crawler-exact-price` / `crawler-max-price` count only when its signature covers them.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::LocalKey;

use super::crawl::{CrawlerPrice, CRAWLER_EXACT_PRICE, CRAWLER_MAX_PRICE};
use super::expiring::Expiring;
use super::flow::ClientMessages;
use super::remote::{Exchange, Outbound};
use super::{ChallengeTemplate, Decision, Refusal, Refused, RequestFacts};
use crate::config::{Accept, ClientOffer, PaidRoute, RouteClients, WebBotAuthConfig};
use crate::routes::host_of;
use crate::web_bot_auth::{
    origin_of, AgentKind, KeyDirectory, RequestParts, SignatureAgent, SignedRequest, Unsigned,
    VerifiedAgent, DIRECTORY_MEDIA_TYPE, MAX_DIRECTORY_LEN,
};

/// Who is asking, as the gateway tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// A browser.
    Browser,
    /// An automated client without a verified Web Bot Auth signature (or of an agent not
    /// in `allow_agents`).
    Bot,
    /// An automated client whose Web Bot Auth signature verified.
    Agent,
}

impl ClientKind {
    /// Its name in the log and the configuration's wording.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Bot => "unsigned_bot",
            Self::Agent => "verified_agent",
        }
    }

    /// Whether pay-per-crawl's headers are spoken to it.
    pub fn crawls(self) -> bool {
        self != Self::Browser
    }
}

/// Cloudflare Bot Management's verdict (`request.cf.botManagement`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BotManagement {
    /// The bot score, 1 (automated) to 99 (human), when given.
    pub score: Option<u8>,
    /// Whether Cloudflare knows the client as a verified bot.
    pub verified_bot: bool,
}

/// What the flow found out about a request's client ([`identify`]).
#[derive(Clone, Debug, Default)]
pub struct ClientEvidence {
    /// The Web Bot Auth signature: `None` when the request has none (or its agent's keys
    /// were not looked for), else what verifying it came to.
    pub signature: Option<Result<VerifiedAgent, Unsigned>>,
    /// Cloudflare Bot Management's verdict, where the zone has it.
    pub bot_management: Option<BotManagement>,
    /// Whether the request carries fetch metadata and a browser's `User-Agent`.
    pub browser_headers: bool,
    /// `crawler-exact-price` and `crawler-max-price`, as sent.
    pub crawler_prices: CrawlerPriceHeaders,
}

/// A request's crawler price headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrawlerPriceHeaders {
    /// `crawler-exact-price`.
    pub exact: Option<String>,
    /// `crawler-max-price`.
    pub max: Option<String>,
    /// Whether either came more than once (its value is then not one price).
    pub repeated: bool,
}

/// What identifying a client needs besides the request: which agents' keys may be fetched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentifyAsk {
    /// The route's `allow_agents` (empty: every agent).
    pub allow_agents: Vec<String>,
}

/// The key directories of agents, fetched by the shell (which keeps them for their TTL).
#[allow(async_fn_in_trait)]
pub trait KeyDirectories {
    /// The directory at `url` (from [`crate::web_bot_auth::SignatureAgent::directory_url`]),
    /// or why it could not be had.
    async fn directory(&self, url: &str, now: u64) -> Result<Arc<KeyDirectory>, String>;
}

/// No directories: every signature counts as unverified.
impl KeyDirectories for () {
    async fn directory(&self, _: &str, _: u64) -> Result<Arc<KeyDirectory>, String> {
        Err("no key directories can be fetched here".into())
    }
}

/// How a route treats one kind of client, prepared when the gate is built.
#[derive(Clone, Debug)]
pub(super) enum KindTerms {
    Free,
    Refuse,
    /// The route's own offering.
    RoutePrice,
    /// A price of its own.
    Priced {
        accepts: Vec<Accept>,
        template: Arc<ChallengeTemplate>,
    },
}

/// A route's `clients`, prepared when the gate is built.
#[derive(Clone, Debug)]
pub(super) struct RouteClientTerms {
    browsers: KindTerms,
    bots: KindTerms,
    agents: KindTerms,
    allow_agents: Vec<String>,
    deny_agents: Vec<String>,
}

/// What a request on a route with `clients` is offered, once its client is known.
pub(super) struct ClientTerms<'a> {
    pub kind: ClientKind,
    /// The kind's own price, when it has one (else the route's).
    pub priced: Option<(&'a [Accept], &'a Arc<ChallengeTemplate>)>,
    /// The agent's price headers, when its signature covers them.
    pub price_headers: Result<(Option<&'a str>, Option<&'a str>), ()>,
}

impl RouteClientTerms {
    /// The terms of `paid`, whose `clients` is `clients`.
    pub(super) fn new(paid: &PaidRoute, clients: &RouteClients) -> Self {
        let terms = |offer: &ClientOffer| match offer {
            ClientOffer::Free => KindTerms::Free,
            ClientOffer::Refuse => KindTerms::Refuse,
            ClientOffer::RoutePrice => KindTerms::RoutePrice,
            ClientOffer::Price { accepts, .. } => KindTerms::Priced {
                template: Arc::new(ChallengeTemplate::with_offers(paid, accepts)),
                accepts: accepts.clone(),
            },
        };
        Self {
            browsers: terms(&clients.browsers),
            bots: terms(&clients.unsigned_bots),
            agents: terms(&clients.verified_agents),
            allow_agents: clients.allow_agents.clone(),
            deny_agents: clients.deny_agents.clone(),
        }
    }

    /// What `request` is offered: its client identified first
    /// ([`Decision::IdentifyClient`]); `Err` with the decision when that is all (free,
    /// refused).
    pub(super) fn terms_for<'a>(
        &'a self,
        request: &'a RequestFacts<'a>,
        config: &WebBotAuthConfig,
        pattern: &str,
        target: &str,
    ) -> Result<ClientTerms<'a>, Decision> {
        let Some(evidence) = request.identified else {
            return Err(Decision::IdentifyClient(Box::new(IdentifyAsk {
                allow_agents: self.allow_agents.clone(),
            })));
        };
        let refused = |refusal| {
            Err(Decision::Refuse(Box::new(Refused::bare(
                refusal,
                Some(pattern.to_owned()),
            ))))
        };
        let verified = evidence.verified();
        let (kind, agent) = evidence.named(config);
        if agent.is_some_and(|agent| self.deny_agents.contains(&agent)) {
            return refused(Refusal::ClientRefused { kind });
        }
        let terms = match kind {
            ClientKind::Browser => &self.browsers,
            ClientKind::Bot => &self.bots,
            ClientKind::Agent => &self.agents,
        };
        let priced = match terms {
            KindTerms::Free => {
                return Err(Decision::Waived {
                    target: target.to_owned(),
                })
            }
            KindTerms::Refuse => return refused(Refusal::ClientRefused { kind }),
            KindTerms::RoutePrice => None,
            KindTerms::Priced { accepts, template } => Some((&accepts[..], template)),
        };
        // An agent's price headers count when its signature covers them.
        let covered = |name: &str| verified.is_some_and(|v| v.covers(name));
        let stated = &evidence.crawler_prices;
        let exact = stated
            .exact
            .as_deref()
            .filter(|_| covered(CRAWLER_EXACT_PRICE));
        let max = stated.max.as_deref().filter(|_| covered(CRAWLER_MAX_PRICE));
        let price_headers = match (kind, stated.repeated) {
            (ClientKind::Agent, true) if exact.is_some() || max.is_some() => Err(()),
            (ClientKind::Agent, _) => Ok((exact, max)),
            _ => Ok((None, None)),
        };
        Ok(ClientTerms {
            kind,
            priced,
            price_headers,
        })
    }
}

impl ClientTerms<'_> {
    /// The refusal, if any, of the agent's price headers against `price` (the price
    /// offered, in dollars).
    pub(super) fn price_refusal(&self, price: Option<CrawlerPrice>) -> Option<Refusal> {
        let (exact, max) = match self.price_headers {
            Ok(stated) => stated,
            Err(()) => {
                return Some(Refusal::CrawlerPrice(
                    super::crawl::CrawlerPriceError::InvalidValue,
                ))
            }
        };
        let price = price?;
        price.agreed(exact, max).err().map(Refusal::CrawlerPrice)
    }
}

impl ClientEvidence {
    /// The agent whose signature verified, if one did.
    fn verified(&self) -> Option<&VerifiedAgent> {
        self.signature.as_ref()?.as_ref().ok()
    }

    /// What the log line names this client: its kind as `config` reads the evidence, and a
    /// verified agent's origin.
    pub fn named(&self, config: &WebBotAuthConfig) -> (ClientKind, Option<String>) {
        let verified = self.verified();
        let agent = verified.and_then(|v| origin_of(v.agent()?.directory_url()));
        (classify(self, verified.is_some(), config), agent)
    }
}

/// The kind of a client whose signature verified (`verified`) or not, from `evidence`.
fn classify(evidence: &ClientEvidence, verified: bool, config: &WebBotAuthConfig) -> ClientKind {
    if verified {
        return ClientKind::Agent;
    }
    match evidence.bot_management {
        Some(BotManagement {
            score: Some(score),
            verified_bot,
        }) => match verified_bot || score < config.bot_score_below {
            true => ClientKind::Bot,
            false => ClientKind::Browser,
        },
        _ => match evidence.browser_headers {
            true => ClientKind::Browser,
            false => ClientKind::Bot,
        },
    }
}

/// Whether an agent's keys may be fetched: from its directory (a `jwks_uri` may name any
/// document, and is not followed), on a named host over https, or, with `local_agents`
/// (local tests), on a loopback host or an IP address.
fn fetchable(agent: &SignatureAgent, config: &WebBotAuthConfig) -> bool {
    let url = agent.directory_url();
    let host = url.split_once("://").map_or("", |(_, rest)| host_of(rest));
    let local = host.parse::<IpAddr>().is_ok()
        || host.eq_ignore_ascii_case("localhost")
        || !url.starts_with("https://");
    agent.kind() == AgentKind::Directory && (config.local_agents || !local)
}

/// Finds out who is asking: every header of the request (from `messages`), its Web Bot
/// Auth signature verified with its agent's keys (fetched through `directories`, unless
/// `ask` allows other agents only), Cloudflare's bot signals, and the crawler price
/// headers.
pub async fn identify<M: ClientMessages, D: KeyDirectories>(
    request: &RequestFacts<'_>,
    messages: &M,
    directories: &D,
    ask: &IdentifyAsk,
    config: &WebBotAuthConfig,
    now: u64,
) -> ClientEvidence {
    let headers = messages.request_headers();
    let (scheme, authority) = request
        .base_url
        .split_once("://")
        .unwrap_or(("https", request.base_url));
    let parts = RequestParts {
        method: request.method,
        scheme,
        authority,
        path: request.path,
        query: request.query,
        headers: &headers,
    };
    let signature = match SignedRequest::parse(&parts) {
        Err(Unsigned::NoSignature) => None,
        Err(unsigned) => Some(Err(unsigned)),
        Ok(signed) => verify(&signed, directories, ask, config, now).await,
    };
    // Every value of a header.
    let values = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (exact, max) = (values(CRAWLER_EXACT_PRICE), values(CRAWLER_MAX_PRICE));
    let browser_headers = !values("sec-fetch-mode").is_empty()
        && values("user-agent")
            .first()
            .is_some_and(|ua| ua.starts_with("Mozilla/"));
    ClientEvidence {
        signature,
        bot_management: config
            .bot_management
            .then(|| messages.bot_management())
            .flatten(),
        browser_headers,
        crawler_prices: CrawlerPriceHeaders {
            exact: exact.first().map(|v| (*v).to_owned()),
            max: max.first().map(|v| (*v).to_owned()),
            repeated: exact.len() > 1 || max.len() > 1,
        },
    }
}

/// Verifies a parsed signature with its agent's keys; `None` when the agent is not one
/// whose keys are looked for (it is then a bot like an unsigned one).
async fn verify<D: KeyDirectories>(
    signed: &SignedRequest,
    directories: &D,
    ask: &IdentifyAsk,
    config: &WebBotAuthConfig,
    now: u64,
) -> Option<Result<VerifiedAgent, Unsigned>> {
    // The time window first: a stale or made-up signature costs no fetch.
    if let Err(unsigned) = signed.check_window(now, config.max_validity_s) {
        return Some(Err(unsigned));
    }
    let Some(agent) = signed.agent() else {
        return Some(Err(Unsigned::BadAgent {
            detail: "no Signature-Agent names where the keys are",
        }));
    };
    let url = agent.directory_url();
    let allowed = ask.allow_agents.is_empty()
        || origin_of(url).is_some_and(|origin| ask.allow_agents.contains(&origin));
    if !allowed || !fetchable(agent, config) {
        return None;
    }
    Some(match directories.directory(url, now).await {
        Ok(directory) => signed.verify_with_directory(&directory, now, config.max_validity_s),
        Err(_) => Err(Unsigned::UnknownKey {
            keyid: signed.keyid().to_owned(),
        }),
    })
}

/// The most directories a [`DirectoryCache`] keeps, and the most failures; past either
/// bound, the expired ones are dropped, then all of that kind.
pub const MAX_CACHED_DIRECTORIES: usize = 256;
/// How long a directory is kept when its answer says nothing (`Cache-Control`), and the
/// most it is kept whatever it says, in seconds.
pub const DIRECTORY_TTL_S: (u64, u64) = (3_600, 86_400);
/// The least time a directory is kept, in seconds.
pub const MIN_DIRECTORY_TTL_S: u64 = 60;
/// How long a directory that could not be had is not asked again, in seconds (the drafts:
/// at most five minutes).
pub const DIRECTORY_RETRY_S: u64 = 300;

/// What fetching a directory came to, and its `Cache-Control: max-age` when it gave one.
pub type DirectoryFetched = (Result<Arc<KeyDirectory>, String>, Option<u64>);

/// Agents' key directories by URL, each kept for its TTL, and failures for
/// [`DIRECTORY_RETRY_S`], so that one agent's requests cost one fetch (a shell keeps one per
/// isolate). Failures are kept apart: a flood of agents whose keys cannot be had does not
/// push out the directories that were found.
///
/// Requests that need a directory at once each fetch it until one answer is kept: a request
/// waiting for another's fetch would be woken in that request's context, where workerd
/// refuses its I/O, and would hang if that request were cancelled.
#[derive(Debug)]
pub struct DirectoryCache {
    found: Expiring<String, Arc<KeyDirectory>>,
    failed: Expiring<String, String>,
}

impl Default for DirectoryCache {
    fn default() -> Self {
        Self {
            found: Expiring::new(MAX_CACHED_DIRECTORIES),
            failed: Expiring::new(MAX_CACHED_DIRECTORIES),
        }
    }
}

impl DirectoryCache {
    /// The directory at `url`, or its recent failure, if still fresh at `now`.
    pub fn get(&self, url: &str, now: u64) -> Option<Result<Arc<KeyDirectory>, String>> {
        match self.found.get(url, now) {
            Some(directory) => Some(Ok(directory)),
            None => self.failed.get(url, now).map(Err),
        }
    }

    /// Keeps what fetching `url` came to at `now`: a directory for `max_age_s` (its
    /// `Cache-Control: max-age`, when given; within [`MIN_DIRECTORY_TTL_S`] and
    /// [`DIRECTORY_TTL_S`]), a failure for [`DIRECTORY_RETRY_S`].
    pub fn put(&mut self, url: &str, (fetched, max_age_s): DirectoryFetched, now: u64) {
        let (default_s, most_s) = DIRECTORY_TTL_S;
        match fetched {
            // At least a minute, whatever the agent says: its requests cost a fetch each
            // otherwise.
            Ok(directory) => {
                let ttl_s = max_age_s
                    .unwrap_or(default_s)
                    .clamp(MIN_DIRECTORY_TTL_S, most_s);
                self.failed.forget(url);
                self.found.put(url.to_owned(), directory, ttl_s, now);
            }
            Err(error) => self
                .failed
                .put(url.to_owned(), error, DIRECTORY_RETRY_S, now),
        }
    }

    /// The directory at `url` at `now`: from the cache, or from `fetch`, whose outcome is
    /// kept.
    pub async fn directory<F>(
        cache: &RefCell<Self>,
        url: &str,
        now: u64,
        fetch: F,
    ) -> Result<Arc<KeyDirectory>, String>
    where
        F: AsyncFnOnce() -> DirectoryFetched,
    {
        if let Some(cached) = cache.borrow().get(url, now) {
            return cached;
        }
        let fetched = fetch().await;
        let outcome = fetched.0.clone();
        cache.borrow_mut().put(url, fetched, now);
        outcome
    }
}

/// `max-age` of a `Cache-Control` value, if it has one (`no-store` and `no-cache` count as
/// 0).
pub fn max_age(cache_control: &str) -> Option<u64> {
    let mut age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            age = seconds.trim_matches('"').parse().ok();
        }
    }
    age
}

/// Agents' key directories fetched with an [`Exchange`] (`GET`, no redirects, at most
/// [`MAX_DIRECTORY_LEN`] bytes, within `timeout_ms`; only a 200 counts), kept in a cache of
/// the isolate for their TTL.
pub struct FetchedDirectories<X> {
    /// What fetches.
    pub exchange: X,
    /// The isolate's cache.
    pub cache: &'static LocalKey<Rc<RefCell<DirectoryCache>>>,
    /// How long a fetch may take.
    pub timeout_ms: u64,
}

impl<X: Exchange> KeyDirectories for FetchedDirectories<X> {
    async fn directory(&self, url: &str, now: u64) -> Result<Arc<KeyDirectory>, String> {
        let cache = self.cache.with(Rc::clone);
        DirectoryCache::directory(&cache, url, now, async || self.fetch(url).await).await
    }
}

impl<X: Exchange> FetchedDirectories<X> {
    async fn fetch(&self, url: &str) -> DirectoryFetched {
        let accept = format!("{DIRECTORY_MEDIA_TYPE}, application/json");
        let request = Outbound {
            method: "GET",
            url,
            headers: &[("Accept", &accept)],
            body: None,
            timeout_ms: self.timeout_ms,
            max_bytes: MAX_DIRECTORY_LEN,
        };
        match self.exchange.exchange_cacheable(request).await {
            Ok((200, body, cache_control)) => (
                KeyDirectory::from_json(&body)
                    .map(Arc::new)
                    .map_err(|e| format!("the key directory {url}: {e}")),
                cache_control.as_deref().and_then(max_age),
            ),
            Ok((status, _, _)) => (
                Err(format!("the key directory {url} answered {status}")),
                None,
            ),
            Err(error) => (
                Err(format!("the key directory {url}: {}", error.detail())),
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const URL: &str = "https://agent.example/.well-known/http-message-signatures-directory";
    const BODY: &[u8] = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}]}"#;

    /// Runs `future`, which must not wait on anything.
    fn now_or_never<F: Future>(future: F) -> F::Output {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn a_directory_fetched_is_kept_for_its_time_and_a_failure_for_the_retry_time() {
        let (cache, fetches) = (RefCell::default(), Cell::new(0));
        let directory = |url, now, body: &'static [u8]| {
            now_or_never(DirectoryCache::directory(&cache, url, now, async || {
                fetches.set(fetches.get() + 1);
                let found = KeyDirectory::from_json(body).map(Arc::new);
                (found.map_err(|e| e.to_string()), Some(600))
            }))
        };
        assert!(directory(URL, 100, BODY).is_ok());
        assert!(directory(URL, 699, b"{}").is_ok());
        assert_eq!(fetches.get(), 1);
        assert!(directory(URL, 700, b"{}").is_err());
        assert!(directory(URL, 700 + DIRECTORY_RETRY_S - 1, BODY).is_err());
        assert_eq!(fetches.get(), 2);
        assert!(directory(URL, 700 + DIRECTORY_RETRY_S, BODY).is_ok());
        assert_eq!(fetches.get(), 3);
    }

    #[test]
    fn failures_do_not_push_out_directories_found() {
        let mut cache = DirectoryCache::default();
        let directory = KeyDirectory::from_json(BODY).map(Arc::new);
        cache.put(URL, (directory.map_err(|e| e.to_string()), None), 100);
        for host in 0..=MAX_CACHED_DIRECTORIES {
            let url =
                format!("https://{host}.example/.well-known/http-message-signatures-directory");
            cache.put(&url, (Err("404".into()), None), 100);
        }
        assert!(matches!(cache.get(URL, 101), Some(Ok(_))));
        // A failure is kept for its retry time, a directory for its TTL.
        let failed = "https://down.example/.well-known/http-message-signatures-directory";
        cache.put(failed, (Err("timeout".into()), None), 200);
        assert!(matches!(
            cache.get(failed, 200 + DIRECTORY_RETRY_S - 1),
            Some(Err(_))
        ));
        assert!(cache.get(failed, 200 + DIRECTORY_RETRY_S).is_none());
        assert!(matches!(
            cache.get(URL, 100 + DIRECTORY_TTL_S.0 - 1),
            Some(Ok(_))
        ));
        assert!(cache.get(URL, 100 + DIRECTORY_TTL_S.0).is_none());
    }
}
