//! Web Bot Auth: verifying the HTTP Message Signatures (RFC 9421) with which automated
//! clients sign their requests (draft-ietf-webbotauth-httpsig-protocol, formerly
//! draft-meunier-web-bot-auth-architecture), Ed25519 only.
//!
//! A signed request carries three fields:
//! - `Signature-Input`: per label, the covered components and the parameters
//!   (`created`, `expires`, `keyid`, `tag="web-bot-auth"`, optional `nonce` and `alg`);
//! - `Signature`: per label, the signature bytes;
//! - `Signature-Agent`: where the agent's keys are. Current drafts send a Dictionary,
//!   `sig1="https://agent.example"`, covered as `"signature-agent";key="sig1"`; earlier
//!   drafts (and Cloudflare's npm `web-bot-auth` 0.1.3) a bare String covered as a whole.
//!   Both are read. The drafts now require the field; it is optional here, since 0.1.3
//!   omits it unless told, and a caller may know an agent's keys by `keyid` alone.
//!
//! Verification is sans-IO and comes in two steps, so that the shell can fetch keys in
//! between:
//!
//! ```text
//!  RequestParts ──SignedRequest::parse──► SignedRequest ── agent().directory_url()
//!                  (signature chosen by tag,       │          │ the shell fetches it
//!                   base built, policy checked)    │          ▼
//!                                                  │   KeyDirectory::from_json
//!                                                  ▼          │ key(keyid)
//!                    SignedRequest::verify(&AgentKey, now, max_validity_s)
//!                                                  │ time window, keyid, Ed25519
//!                                                  ▼
//!                                            VerifiedAgent
//! ```
//!
//! Every failure is an [`Unsigned`]: the gateway treats such a request as unsigned (no
//! error page), and logs the reason.
//!
//! Security notes:
//! - **Replay**: a signature is valid until its `expires`; nothing here remembers nonces
//!   (the drafts define no nonce rules, and Cloudflare checks none). Keep `max_validity_s`
//!   short where a replay matters.
//! - **Clock skew**: `created` may lie [`CLOCK_SKEW_S`] in the future; `expires` gets no grace.
//! - **Untrusted input**: every field is bounded ([`MAX_FIELD_LEN`], [`MAX_BASE_LEN`],
//!   the structured-field caps) and parsed strictly; no input panics.
//! - **Fetching keys**: [`SignatureAgent::directory_url`] is chosen by the client. It is
//!   `https` (or `http` on a loopback host, for local tests); refusing private addresses,
//!   redirects and large bodies when fetching it is the shell's job.
//! - **Test keys**: the drafts' examples use RFC 9421's published key; see
//!   [`AgentKey::is_published_test_key`].

mod base;
mod directory;
mod sf;

pub use base::MAX_BASE_LEN;
pub use directory::{
    jwk_thumbprint, AgentKey, DirectoryError, KeyDirectory, MAX_DIRECTORY_LEN, MAX_KEYS,
    PUBLISHED_TEST_KEYS,
};

use base::{Component, Derived};
use sf::{Bare, Item, Member};

/// The request field naming the covered components and parameters of each signature.
pub const SIGNATURE_INPUT: &str = "signature-input";
/// The request field holding each signature's bytes.
pub const SIGNATURE: &str = "signature";
/// The request field saying where the signing agent's keys are.
pub const SIGNATURE_AGENT: &str = "signature-agent";
/// The `tag` of a Web Bot Auth request signature.
pub const TAG: &str = "web-bot-auth";
/// Where a directory lives at an agent's origin (directory draft, "well-known" section).
pub const DIRECTORY_PATH: &str = "/.well-known/http-message-signatures-directory";
/// The media type a directory is served with.
pub const DIRECTORY_MEDIA_TYPE: &str = "application/http-message-signatures-directory+json";
/// How far in the future `created` may be: signers' clocks and ours differ by a little.
pub const CLOCK_SKEW_S: u64 = 5;
/// The longest validity (`expires - created`) the protocol draft recommends: "no more than
/// 24 hours". Cloudflare suggests far less ("a minute is often sufficient").
pub const MAX_VALIDITY_S: u64 = 86_400;
/// Longest `Signature-Input`, `Signature` or `Signature-Agent` read (all instances
/// together), in bytes.
pub const MAX_FIELD_LEN: usize = 8 * 1024;
/// Longest Signature-Agent URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// The only signature algorithm verified, as `alg` names it (RFC 9421 §3.3.6).
const ALG_ED25519: &str = "ed25519";

/// What verification needs of a request, as plain values.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    /// The method, as sent (`GET`).
    pub method: &'a str,
    /// The URL's scheme (`https`).
    pub scheme: &'a str,
    /// `host[:port]` as received; `@authority` normalises it.
    pub authority: &'a str,
    /// The URL's path as received, not decoded.
    pub path: &'a str,
    /// The URL's query, without `?`, not decoded.
    pub query: Option<&'a str>,
    /// Every header field as a `(name, value)` pair, names in any case, repeated names
    /// once per instance, in the order received. A value's bytes are its UTF-8: a value
    /// with bytes above 0x7F that reached the shell as Latin-1 text will not match what
    /// the signer signed (no signature field, and no covered field in practice, has any).
    pub headers: &'a [(String, String)],
}

impl<'a> RequestParts<'a> {
    /// The values of every instance of a field, in order (`name` lowercase).
    fn field_instances(&self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let headers = self.headers;
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One RFC 9421 signature of a request, read by its label: the signature base built from
/// the request and the signature's bytes. No Web Bot Auth policy is applied (tag, required
/// parameters, coverage, time); [`SignedRequest`] adds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageSignature {
    label: String,
    base: String,
    signature: [u8; 64],
}

/// A request whose Web Bot Auth signature was read and whose signature base was built, not
/// yet verified. Its `created`, `expires` and `keyid` are present and typed, it covers
/// `@authority` or `@target-uri`, and `Signature-Agent` if the request has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    message: MessageSignature,
    keyid: String,
    created: u64,
    expires: u64,
    nonce: Option<String>,
    agent: Option<SignatureAgent>,
    /// The fields covered whole, lowercase.
    fields: Vec<String>,
}

/// A request whose Web Bot Auth signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAgent {
    request: SignedRequest,
}

/// The agent a signature names in `Signature-Agent`, and where its keys are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureAgent {
    url: String,
    kind: AgentKind,
    directory_url: String,
}

/// What a Signature-Agent URL points at (its `type` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentKind {
    /// `type=directory`, or no `type` (the legacy String form too): the URL is the agent's
    /// origin, which serves its directory at [`DIRECTORY_PATH`].
    Directory,
    /// `type=jwks_uri`: the URL is a JWKS itself.
    JwksUri,
}

/// Why a request does not count as signed by an agent. The client's doing in every case;
/// the gateway serves such a request as unsigned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsigned {
    /// The request has no `Signature-Input` field (or an empty one).
    NoSignature,
    /// A field is not what RFC 8941 / RFC 9421 say it is: not a structured field, too long,
    /// a member of the wrong type, a component covered twice, `expires` before `created`.
    Malformed {
        /// Which field (`Signature-Input`, `Signature`, `Signature-Agent`, a covered
        /// dictionary field), or `request` when the signature base would be too long.
        field: &'static str,
        /// What is wrong with it.
        detail: &'static str,
    },
    /// No signature in `Signature-Input` has `tag="web-bot-auth"`.
    NoWebBotAuthTag,
    /// The signature's label is in `Signature-Input` but not in `Signature`.
    MissingSignature {
        /// The label.
        label: String,
    },
    /// A parameter Web Bot Auth requires (`created`, `expires`, `keyid`) is absent.
    MissingParam {
        /// Its name.
        param: &'static str,
    },
    /// `alg` names an algorithm other than `ed25519`.
    UnsupportedAlgorithm {
        /// The algorithm named.
        alg: String,
    },
    /// The signature covers neither `@authority` nor `@target-uri`, so it is not bound to
    /// this site.
    AuthorityNotCovered,
    /// The request has a `Signature-Agent` field that the signature does not cover.
    AgentNotCovered,
    /// The covered `Signature-Agent` does not name a usable place for keys.
    BadAgent {
        /// What is wrong.
        detail: &'static str,
    },
    /// A covered component this verifier does not compute: `;req`, `;sf`, `;bs`, `;tr`,
    /// `@query-param`, `@status`, or an unknown one. Refused rather than guessed.
    UnsupportedComponent {
        /// The component identifier, serialised.
        component: String,
    },
    /// A covered field, or dictionary member, is absent from the request.
    MissingField {
        /// The component identifier, serialised.
        component: String,
    },
    /// A covered value cannot be put in a signature base: it holds a line break or another
    /// control character, or (`@authority`) it is empty.
    BadComponentValue {
        /// The component identifier, serialised.
        component: String,
    },
    /// `created` is later than now (beyond [`CLOCK_SKEW_S`]).
    NotYetValid {
        /// `created`.
        created: u64,
        /// The time of verification.
        now: u64,
    },
    /// `expires` has passed.
    Expired {
        /// `expires`.
        expires: u64,
        /// The time of verification.
        now: u64,
    },
    /// `expires - created` is longer than the verifier allows.
    ValidityTooLong {
        /// `expires - created`, in seconds.
        validity_s: u64,
        /// The most allowed.
        max_s: u64,
    },
    /// The agent's directory has no key with this `keyid`.
    UnknownKey {
        /// The `keyid`.
        keyid: String,
    },
    /// The key given to verify with is not the one `keyid` names.
    KeyMismatch {
        /// The `keyid`.
        keyid: String,
    },
    /// The key's `nbf` (from its directory) is later than now.
    KeyNotYetValid,
    /// The key's `exp` (from its directory) has passed.
    KeyExpired,
    /// The signature does not verify over the signature base with the key.
    BadSignature,
}

impl core::fmt::Display for Unsigned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoSignature => f.write_str("no Signature-Input"),
            Self::Malformed { field, detail } => write!(f, "{field} is malformed: {detail}"),
            Self::NoWebBotAuthTag => f.write_str("no signature has tag=\"web-bot-auth\""),
            Self::MissingSignature { label } => write!(f, "Signature has no {label:?}"),
            Self::MissingParam { param } => write!(f, "the signature has no {param}"),
            Self::UnsupportedAlgorithm { alg } => write!(f, "alg {alg:?} is not ed25519"),
            Self::AuthorityNotCovered => {
                f.write_str("the signature covers neither @authority nor @target-uri")
            }
            Self::AgentNotCovered => f.write_str("Signature-Agent is not covered"),
            Self::BadAgent { detail } => write!(f, "Signature-Agent is not usable: {detail}"),
            Self::UnsupportedComponent { component } => {
                write!(f, "covered component {component} is not supported")
            }
            Self::MissingField { component } => {
                write!(f, "covered component {component} is absent")
            }
            Self::BadComponentValue { component } => {
                write!(f, "covered component {component} has an unusable value")
            }
            Self::NotYetValid { created, now } => {
                write!(f, "signature created at {created}, after now ({now})")
            }
            Self::Expired { expires, now } => {
                write!(f, "signature expired at {expires} (now {now})")
            }
            Self::ValidityTooLong { validity_s, max_s } => {
                write!(f, "signature valid for {validity_s} s, more than {max_s} s")
            }
            Self::UnknownKey { keyid } => write!(f, "no key {keyid} in the agent's directory"),
            Self::KeyMismatch { keyid } => write!(f, "the key given is not {keyid}"),
            Self::KeyNotYetValid => f.write_str("the key is not valid yet (nbf)"),
            Self::KeyExpired => f.write_str("the key has expired (exp)"),
            Self::BadSignature => f.write_str("the signature does not verify"),
        }
    }
}

impl std::error::Error for Unsigned {}

impl MessageSignature {
    /// Reads the signature labelled `label` and builds its signature base (RFC 9421 §3.2
    /// steps 1–7, without the application's checks). [`Unsigned::NoSignature`] when
    /// `Signature-Input` has no such label.
    pub fn parse(parts: &RequestParts<'_>, label: &str) -> Result<Self, Unsigned> {
        let inputs = read_dictionary(parts, SIGNATURE_INPUT, "Signature-Input")?;
        let (items, params) = match inputs.iter().find(|(l, _)| l == label) {
            None => return Err(Unsigned::NoSignature),
            Some((_, member)) => inner_list(member)?,
        };
        let signature = signature_bytes(parts, label)?;
        let components = covered(items)?;
        let base = base::signature_base(parts, items, &components, params)?;
        Ok(Self {
            label: label.to_owned(),
            base,
            signature,
        })
    }

    /// The signature's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The signature base (RFC 9421 §2.5): the bytes that were signed.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Checks the Ed25519 signature over the base with `key` (RFC 9421 §3.3.6), with
    /// `verify_strict`'s checks. Nothing else: no time, no `keyid`.
    pub fn verify_strict(&self, key: &AgentKey) -> Result<(), Unsigned> {
        if key.verify_strict(self.base.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(Unsigned::BadSignature)
        }
    }
}

impl SignedRequest {
    /// Reads a request's Web Bot Auth signature: the first label in `Signature-Input`
    /// whose `tag` is `"web-bot-auth"`. Requires `created`, `expires` and `keyid`, an
    /// `alg` (if any) of `ed25519`, coverage of `@authority` or `@target-uri`, and
    /// coverage of `Signature-Agent` (whole, or its member by `;key`) when the request has
    /// one; builds the signature base; reads the agent's URL.
    pub fn parse(parts: &RequestParts<'_>) -> Result<Self, Unsigned> {
        let inputs = read_dictionary(parts, SIGNATURE_INPUT, "Signature-Input")?;
        let mut chosen = None;
        for (label, member) in &inputs {
            let (items, params) = inner_list(member)?;
            if chosen.is_none() && has_tag(params) {
                chosen = Some((label, items, params));
            }
        }
        let Some((label, items, params)) = chosen else {
            return Err(if inputs.is_empty() {
                Unsigned::NoSignature
            } else {
                Unsigned::NoWebBotAuthTag
            });
        };
        let signature = signature_bytes(parts, label)?;

        let created = integer_param(params, "created")?;
        let expires = integer_param(params, "expires")?;
        let keyid =
            string_param(params, "keyid")?.ok_or(Unsigned::MissingParam { param: "keyid" })?;
        let nonce = string_param(params, "nonce")?;
        if let Some(alg) = string_param(params, "alg")? {
            if alg != ALG_ED25519 {
                return Err(Unsigned::UnsupportedAlgorithm { alg });
            }
        }
        if expires < created {
            return Err(Unsigned::Malformed {
                field: "Signature-Input",
                detail: "expires is before created",
            });
        }

        let components = covered(items)?;
        if !components.iter().any(|c| {
            matches!(
                c,
                Component::Derived(Derived::Authority | Derived::TargetUri)
            )
        }) {
            return Err(Unsigned::AuthorityNotCovered);
        }
        let agent_key = components.iter().find_map(|c| match c {
            Component::Member { name, key } if name == SIGNATURE_AGENT => Some(key.as_str()),
            _ => None,
        });
        let agent_whole = components
            .iter()
            .any(|c| matches!(c, Component::Field(name) if name == SIGNATURE_AGENT));
        let has_agent = parts.field_instances(SIGNATURE_AGENT).next().is_some();
        if has_agent && agent_key.is_none() && !agent_whole {
            return Err(Unsigned::AgentNotCovered);
        }

        let base = base::signature_base(parts, items, &components, params)?;
        // Building the base proved a covered Signature-Agent present (and its member too).
        let agent = if agent_key.is_some() || agent_whole {
            Some(SignatureAgent::from_field(parts, agent_key)?)
        } else {
            None
        };
        let fields = components
            .into_iter()
            .filter_map(|c| match c {
                Component::Field(name) => Some(name),
                _ => None,
            })
            .collect();
        Ok(Self {
            message: MessageSignature {
                label: label.clone(),
                base,
                signature,
            },
            keyid,
            created,
            expires,
            nonce,
            agent,
            fields,
        })
    }

    /// Verifies the signature with `key` at `now` (Unix seconds): `created` no later than
    /// `now` + [`CLOCK_SKEW_S`], `now` no later than `expires`, `expires - created` at most
    /// `max_validity_s` (the draft recommends at most [`MAX_VALIDITY_S`]), `keyid` the
    /// key's thumbprint, the key within its directory's `nbf`/`exp`, then Ed25519
    /// `verify_strict` over the base. The cheap checks come first. Since `now <= expires`
    /// and `expires - created <= max_validity_s`, `created` is at most `max_validity_s`
    /// old, whatever the signer wrote.
    pub fn verify(
        &self,
        key: &AgentKey,
        now: u64,
        max_validity_s: u64,
    ) -> Result<VerifiedAgent, Unsigned> {
        self.check_window(now, max_validity_s)?;
        if key.thumbprint() != self.keyid {
            return Err(Unsigned::KeyMismatch {
                keyid: self.keyid.clone(),
            });
        }
        if key.not_before().is_some_and(|nbf| nbf > now) {
            return Err(Unsigned::KeyNotYetValid);
        }
        if key.expires().is_some_and(|exp| exp <= now) {
            return Err(Unsigned::KeyExpired);
        }
        self.message.verify_strict(key)?;
        Ok(VerifiedAgent {
            request: self.clone(),
        })
    }

    /// The time checks of [`verify`](Self::verify) alone: `created` no later than `now` +
    /// [`CLOCK_SKEW_S`], `now` no later than `expires`, `expires - created` at most
    /// `max_validity_s`. Cheap: a caller runs them before fetching the agent's keys.
    pub fn check_window(&self, now: u64, max_validity_s: u64) -> Result<(), Unsigned> {
        if self.created > now.saturating_add(CLOCK_SKEW_S) {
            return Err(Unsigned::NotYetValid {
                created: self.created,
                now,
            });
        }
        if now > self.expires {
            return Err(Unsigned::Expired {
                expires: self.expires,
                now,
            });
        }
        // `parse` refused `expires < created`.
        let validity_s = self.expires - self.created;
        if validity_s > max_validity_s {
            return Err(Unsigned::ValidityTooLong {
                validity_s,
                max_s: max_validity_s,
            });
        }
        Ok(())
    }

    /// [`verify`](Self::verify) with the key `keyid` names in `directory`;
    /// [`Unsigned::UnknownKey`] when it has none.
    pub fn verify_with_directory(
        &self,
        directory: &KeyDirectory,
        now: u64,
        max_validity_s: u64,
    ) -> Result<VerifiedAgent, Unsigned> {
        let key = directory
            .key(&self.keyid)
            .ok_or_else(|| Unsigned::UnknownKey {
                keyid: self.keyid.clone(),
            })?;
        self.verify(key, now, max_validity_s)
    }

    /// Whether the signature covers the whole field `name` (any case), e.g.
    /// `crawler-max-price`, whose value then cannot be changed without breaking it. A
    /// dictionary member alone (`;key`) does not count. What is covered is every instance
    /// of the field joined by `", "`: a caller that reads one instance should refuse a
    /// field sent twice.
    pub fn covers(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.eq_ignore_ascii_case(name))
    }

    /// The signature's label.
    pub fn label(&self) -> &str {
        &self.message.label
    }

    /// `keyid`: the RFC 7638 thumbprint of the agent's key.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// `created` (Unix seconds).
    pub fn created(&self) -> u64 {
        self.created
    }

    /// `expires` (Unix seconds).
    pub fn expires(&self) -> u64 {
        self.expires
    }

    /// `nonce`, if the signature has one; its format is not checked (signers differ).
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The covered `Signature-Agent`, if the request has one.
    pub fn agent(&self) -> Option<&SignatureAgent> {
        self.agent.as_ref()
    }

    /// The signature base that was built.
    pub fn base(&self) -> &str {
        self.message.base()
    }
}

impl VerifiedAgent {
    /// The verified request's signature.
    pub fn request(&self) -> &SignedRequest {
        &self.request
    }

    /// The key that signed: its thumbprint.
    pub fn keyid(&self) -> &str {
        self.request.keyid()
    }

    /// The agent the signature names, if any.
    pub fn agent(&self) -> Option<&SignatureAgent> {
        self.request.agent()
    }

    /// Whether the signature covers the whole field `name`; see [`SignedRequest::covers`].
    pub fn covers(&self, name: &str) -> bool {
        self.request.covers(name)
    }
}

impl SignatureAgent {
    /// The agent's URL, as sent.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the URL points at.
    pub fn kind(&self) -> AgentKind {
        self.kind
    }

    /// Where the agent's JWKS is: for [`AgentKind::Directory`] the URL's origin (lowercase)
    /// followed by [`DIRECTORY_PATH`] (the draft requires an origin; a path sent anyway is
    /// dropped), for [`AgentKind::JwksUri`] the URL itself.
    pub fn directory_url(&self) -> &str {
        &self.directory_url
    }

    /// Reads the covered Signature-Agent: the member `key` of the Dictionary form, or
    /// (covered whole) the legacy String, or a Dictionary's only member.
    fn from_field(parts: &RequestParts<'_>, key: Option<&str>) -> Result<Self, Unsigned> {
        const FIELD: &str = "Signature-Agent";
        let malformed = |detail| Unsigned::Malformed {
            field: FIELD,
            detail,
        };
        let value = base::structured_value(parts, SIGNATURE_AGENT, FIELD)?.unwrap_or_default();
        // The draft: "a String Item begins with a double quote".
        let item = if key.is_none() && value.starts_with('"') {
            sf::parse_item(&value).map_err(malformed)?
        } else {
            let dictionary = sf::parse_dictionary(&value).map_err(malformed)?;
            let member = match (key, dictionary.as_slice()) {
                (Some(key), _) => dictionary.iter().find(|(k, _)| k == key).map(|(_, m)| m),
                (None, [(_, only)]) => Some(only),
                (None, _) => {
                    return Err(Unsigned::BadAgent {
                        detail: "several agents, and no ;key says which is covered",
                    })
                }
            };
            match member {
                Some(Member::Item(item)) => item.clone(),
                // Building the base found the member; only its type can be wrong.
                _ => return Err(malformed("an agent is not a string")),
            }
        };
        let Bare::String(url) = item.bare else {
            return Err(malformed("an agent is not a string"));
        };
        let kind = match item
            .params
            .iter()
            .find(|(k, _)| k == "type")
            .map(|(_, v)| v)
        {
            None => AgentKind::Directory,
            Some(Bare::Token(t)) if t == "directory" => AgentKind::Directory,
            Some(Bare::Token(t)) if t == "jwks_uri" => AgentKind::JwksUri,
            Some(_) => {
                return Err(Unsigned::BadAgent {
                    detail: "type is not directory or jwks_uri",
                })
            }
        };
        Self::new(url, kind)
    }

    /// Checks the URL: `https://` (or `http://` to a loopback host), a host of host-name
    /// characters (no user info), no spaces.
    fn new(url: String, kind: AgentKind) -> Result<Self, Unsigned> {
        let bad = |detail| Err(Unsigned::BadAgent { detail });
        if url.len() > MAX_URL_LEN {
            return bad("the URL is longer than 2 KiB");
        }
        if url.contains(' ') {
            return bad("the URL holds a space");
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return bad("not an absolute URL");
        };
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let (host, _) = base::split_port(authority);
        if host.is_empty()
            || !authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
        {
            return bad("the URL's host is empty or not a host name");
        }
        let loopback = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|h| host.eq_ignore_ascii_case(h));
        if !(scheme.eq_ignore_ascii_case("https")
            || (scheme.eq_ignore_ascii_case("http") && loopback))
        {
            return bad("the URL is not https");
        }
        let directory_url = match kind {
            AgentKind::Directory => match origin_of(&url) {
                Some(origin) => origin + DIRECTORY_PATH,
                None => return bad("the URL's host is empty or not a host name"),
            },
            AgentKind::JwksUri => url.clone(),
        };
        Ok(Self {
            url,
            kind,
            directory_url,
        })
    }
}

/// The origin of a URL, as agents are named (their directory's place, a gateway's
/// `allow_agents`): `scheme://host` and the port when it is not the scheme's default,
/// lowercase, without a trailing dot (`https://A.example.:443/x` is `https://a.example`).
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = crate::routes::split_authority(rest).0.to_ascii_lowercase();
    let (host, port) = crate::routes::host_and_port(&authority)?;
    let host = match authority.starts_with('[') {
        true => format!("[{host}]"),
        false => host.strip_suffix('.').unwrap_or(host).to_owned(),
    };
    let default = match scheme.as_str() {
        "https" => Some("443"),
        "http" => Some("80"),
        _ => None,
    };
    Some(
        match port.filter(|port| Some(*port) != default && !port.is_empty()) {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        },
    )
}

/// Reads a Dictionary field (all its instances); an absent field is an empty dictionary.
fn read_dictionary(
    parts: &RequestParts<'_>,
    name: &str,
    field: &'static str,
) -> Result<sf::Dictionary, Unsigned> {
    let value = base::structured_value(parts, name, field)?.unwrap_or_default();
    sf::parse_dictionary(&value).map_err(|detail| Unsigned::Malformed { field, detail })
}

/// A Signature-Input member: RFC 9421 §4.1 makes each an Inner List.
fn inner_list(member: &Member) -> Result<(&[Item], &sf::Params), Unsigned> {
    match member {
        Member::List(items, params) => Ok((items, params)),
        Member::Item(_) => Err(Unsigned::Malformed {
            field: "Signature-Input",
            detail: "a member is not an inner list",
        }),
    }
}

/// The signature bytes of `label` in `Signature` (RFC 9421 §4.2): a Byte Sequence, which for
/// Ed25519 is 64 bytes.
fn signature_bytes(parts: &RequestParts<'_>, label: &str) -> Result<[u8; 64], Unsigned> {
    let malformed = |detail| Unsigned::Malformed {
        field: "Signature",
        detail,
    };
    let signatures = read_dictionary(parts, SIGNATURE, "Signature")?;
    match signatures.iter().find(|(l, _)| l == label) {
        None => Err(Unsigned::MissingSignature {
            label: label.to_owned(),
        }),
        Some((
            _,
            Member::Item(Item {
                bare: Bare::Bytes(bytes),
                ..
            }),
        )) => bytes
            .as_slice()
            .try_into()
            .map_err(|_| malformed("an Ed25519 signature is 64 bytes")),
        Some(_) => Err(malformed("a signature is not a byte sequence")),
    }
}

/// The covered components, each understood, none twice (RFC 9421 §2.5: a repeated
/// identifier MUST fail).
fn covered(items: &[Item]) -> Result<Vec<Component>, Unsigned> {
    let mut components = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(Unsigned::Malformed {
                field: "Signature-Input",
                detail: "a component is covered twice",
            });
        }
        components.push(Component::from_item(item)?);
    }
    Ok(components)
}

fn has_tag(params: &sf::Params) -> bool {
    params
        .iter()
        .any(|(k, v)| k == "tag" && matches!(v, Bare::String(t) if t == TAG))
}

/// A non-negative Integer parameter, required.
fn integer_param(params: &sf::Params, param: &'static str) -> Result<u64, Unsigned> {
    match params.iter().find(|(k, _)| k == param).map(|(_, v)| v) {
        None => Err(Unsigned::MissingParam { param }),
        Some(Bare::Integer(n)) => u64::try_from(*n).map_err(|_| Unsigned::Malformed {
            field: "Signature-Input",
            detail: "a time is negative",
        }),
        Some(_) => Err(Unsigned::Malformed {
            field: "Signature-Input",
            detail: "created or expires is not an integer",
        }),
    }
}

/// A String parameter, if present.
fn string_param(params: &sf::Params, param: &str) -> Result<Option<String>, Unsigned> {
    match params.iter().find(|(k, _)| k == param).map(|(_, v)| v) {
        None => Ok(None),
        Some(Bare::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Unsigned::Malformed {
            field: "Signature-Input",
            detail: "keyid, nonce or alg is not a string",
        }),
    }
}
