//! # edge402
//!
//! An HTTP 402 payment gateway for Cloudflare Workers, compiled to WebAssembly. It speaks
//! x402 (v1 and v2, USDC through EIP-3009 signatures on EVM chains).
//!
//! This crate's core is *sans-IO*: it parses headers, hashes EIP-712 data, recovers
//! signers and decides what to do next, and it takes the current time and the answers of
//! remote services as arguments. It never reads a clock, the network or storage, so the same
//! code runs natively, inside the Worker, in Node and in browsers.
//!
//! One request, from the Worker's `fetch` to its answer, in the code's own names:
//!
//! ```text
//!  worker::fetch (shell: clock, Fetch, KV, Durable Objects)
//!    │  Gate::new(GatewayConfig, Secrets) once per isolate: offers typed, challenges prepared
//!    ▼
//!  gate::flow::handle(&Gate, &RequestFacts, now, Services)
//!    │
//!    ├─ Gate::decide ──► Decision
//!    │     Preflight ─────────────► http::preflight
//!    │     Free { target } ───────► Origin::fetch ─► Outcome::Origin (Release::Free)
//!    │     Waived { target } ─────► Origin::fetch ─► Outcome::Origin (Release::Waived:
//!    │       (priced, free for this client)              kept from shared caches)
//!    │     Refuse(Refused) ───────► Outcome::Refused     (challenge, bad path, bad payment:
//!    │                                                    no network call)
//!    │     Pay(PaymentPlan) ──────► ReceiptStore::get ─► receipt? serve again
//!    │       (PaymentPayload::from_header,              │ no
//!    │        verify::verify_resolved, in WASM)         ▼
//!    │                              Coordinator::claim (one per payment: a Durable Object)
//!    │                                ├─ settled / refused / pending ─► from its state
//!    │                                ▼ Claim::Settle (this request alone)
//!    │                              Facilitator::settle before / after / beside Origin::fetch
//!    │                              Coordinator::conclude (unknown outcomes: the chain decides)
//!    │                                ├─ settled (told or proven) ─► Outcome::Origin (Paid)
//!    │                                └─ refused / unknown ─► Outcome::Refused
//!    │     L402Invoice ───────────► InvoiceSource::create_invoice ─► Outcome::Refused (402)
//!    │     L402Access ────────────► revocation, budget ─► Outcome::Origin (Release::Paid)
//!    │     ReadBody (an MCP route) ► ClientMessages::request_body ─► Gate::decide again
//!    │     ToolList ──────────────► Origin::fetch, prices added to the answer
//!    │     Pay (an MCP call) ─────► as Pay, the tool's answer deciding the charge
//!    │                              (gate::mcp::served); answered in JSON-RPC
//!    ▼
//!  Refusal::disposition (the one status / reason / log-outcome mapping)
//!    └─ gate::http::answer renders it; LogRecord is the request's one log line
//! ```
//!
//! The gate driven from a JSON configuration with the in-memory stand-ins of
//! [`testing`] (feature `testing`): an unpaid request is challenged, the payment an official
//! client would make is settled once and served, and its retry is served from the receipt.
//!
//! ```
//! # #[cfg(all(feature = "testing", not(target_arch = "wasm32")))] {
//! use edge402::evm::{signer::PaymentSigner, Bytes32};
//! use edge402::gate::flow::{handle, Outcome, Services};
//! use edge402::gate::{http, Gate, LogOutcome, RequestFacts, Secrets};
//! use edge402::protocol::{decode_header, v2};
//! use edge402::testing::{
//!     FakeLightning, FakeOrigin, MemoryAllowances, MemoryCoordinator, ScriptedFacilitator,
//! };
//! use futures_executor::block_on;
//!
//! let config = serde_json::json!({
//!     "routes": [{ "match": "GET /api/*", "price": "$0.001",
//!                  "accepts": [{ "network": "base-sepolia",
//!                                "pay_to": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C" }] }]
//! });
//! let gate = Gate::from_json(&config, Secrets::default())?;
//! let (facilitator, origin) = (ScriptedFacilitator::settling(), FakeOrigin::ok());
//! // The coordinator writes receipts into its store, which the flow reads.
//! let (coordinator, lightning) = (MemoryCoordinator::new(3600), FakeLightning::default());
//! let allowances = MemoryAllowances::default();
//! let services = || Services {
//!     facilitator: &facilitator, store: &coordinator.store, origin: &origin,
//!     invoices: &lightning, coordinator: &coordinator, allowances: &allowances,
//!     chain: &coordinator.chain, pricing: &(), directories: &(),
//! };
//! let now = 1_750_000_000;
//! let mut request = RequestFacts {
//!     method: "GET", path: "/api/weather", base_url: "https://edge.example",
//!     ..RequestFacts::default()
//! };
//!
//! // No payment: a 402 whose PAYMENT-REQUIRED header holds the offer.
//! let (outcome, log) = block_on(handle(&gate, &request, now, services()));
//! assert_eq!((log.status, log.outcome), (402, LogOutcome::Challenge));
//! let Outcome::Refused(refused) = outcome else { unreachable!() };
//! let answer = http::answer(&refused, &gate.config().networks);
//! let (_, header) = answer.headers.iter().find(|(n, _)| *n == "PAYMENT-REQUIRED").unwrap();
//! let offered: v2::PaymentRequired = decode_header(header)?;
//!
//! // The buyer signs the offer, as the official v2 client does.
//! let buyer = PaymentSigner::from_bytes(&[0x21; 32])?;
//! let payment = edge402::pay::pay_v2(&buyer, &offered.accepts[0], None,
//!                                    &gate.config().networks, now, Bytes32([7; 32]))?;
//! let header = payment.to_header();
//! request.payment_signature = Some(&header);
//! let (_, log) = block_on(handle(&gate, &request, now, services()));
//! assert_eq!((log.status, log.outcome), (200, LogOutcome::Paid));
//!
//! // The same payment again: served from its receipt, no second settlement.
//! let (_, log) = block_on(handle(&gate, &request, now, services()));
//! assert_eq!(log.outcome, LogOutcome::Receipt);
//! assert_eq!((facilitator.calls("settle"), origin.calls()), (1, 2));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Modules
//! - [`protocol`]: the x402 wire types of both versions, header codecs, reason codes.
//! - [`evm`]: addresses, EIP-712 hashing of `TransferWithAuthorization`, signature
//!   recovery, the payment signer.
//! - [`networks`] and [`pricing`]: networks and assets; prices → atomic amounts.
//! - [`terms`], [`verify`]: local verification of a payment against offered requirements;
//!   [`verify::light`] runs the same checks straight from a payment's JSON, without
//!   `serde_json`, for the size-sensitive WASM builds.
//! - [`pay`]: building payments as the official clients do.
//! - [`routes`], [`config`], [`gate`]: canonical paths, the gateway's configuration, and its
//!   decisions over facilitator, receipt-store and origin traits; [`paywall`]: the page a
//!   browser gets.
//! - [`l402`]: Lightning's L402 — V2 macaroons, token identifiers, caveats, credentials.
//! - [`siwx`]: Sign-In-With-X (x402's `sign-in-with-x`): EIP-4361 messages, EIP-191
//!   signatures, the checks a wallet's sign-in passes.
//! - [`web_bot_auth`]: Web Bot Auth, the RFC 9421 Ed25519 signatures automated clients
//!   sign requests with: signature bases, key directories, JWK thumbprints.
//!
//! ## Features
//! - `proxy` (default, wasm32 only): the zero-code Worker's entry point; it turns on
//!   - `worker` (wasm32 only): [`worker`], the Worker shell as a library: `Gateway::serve`
//!     prices a workers-rs application's own handlers.
//! - `js`: the wasm-bindgen API for JavaScript (the npm package); `js-verify`: only its
//!   `verifyPayment` (which reads payments with [`verify::light`]), for size-sensitive builds.
//! - `testing`: [`testing`], in-memory stand-ins for the gate's remote services.
//!
//! ## Security notes
//! - **High-s signatures are refused** ([`evm::REJECT_HIGH_S`]): EIP-2 and the USDC contract
//!   reject them, so accepting one would pass a payment that cannot settle. viem accepts them;
//!   this is a deliberate difference.
//! - **Smart-wallet signatures** (longer than 65 bytes) cannot be checked without chain state:
//!   verification reports [`verify::SignatureCheck::NeedsFacilitator`] and the facilitator's
//!   `/verify` must accept the payment before it is settled.
//! - **Replay**: a valid payment header stays valid until `validBefore`. The chain lets each
//!   `(from, nonce)` move tokens once, but nothing here stops a server from serving the same
//!   unsettled header twice: serve only after a successful settlement, and remember settled
//!   payments (receipts) to answer retries.
//! - **Clock skew**: `now` is the caller's clock. A payment must stay valid for
//!   [`verify::VALID_BEFORE_BUFFER_SECS`] more seconds (block time), and clients backdate
//!   `validAfter` by [`pay::VALID_AFTER_BACKDATE_SECS`] to absorb a slow payer clock.
//! - **Untrusted input**: header decoding is capped at [`protocol::MAX_HEADER_LEN`] bytes and
//!   returns errors, never panics; amounts are full `uint256` values, never floats. The light
//!   path checks JSON syntax strictly and refuses nesting deeper than
//!   [`verify::light::MAX_DEPTH`] before its decoder (which recurses) sees the input.
//! - **Variable-time recovery**: signature recovery ([`evm::recover_address_from_prehash`])
//!   runs in variable time; everything it handles (signature, digest, recovered key) is
//!   public. The payment signer uses k256's constant-time signing.

#![forbid(unsafe_code)]

pub mod amount;
pub mod config;
pub mod evm;
pub mod gate;
pub mod l402;
pub mod networks;
pub mod pay;
pub mod paywall;
pub mod pricing;
pub mod protocol;
pub mod routes;
pub mod siwx;
pub mod terms;
pub mod verify;
pub mod web_bot_auth;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(all(feature = "worker", target_arch = "wasm32"))]
pub mod worker;

pub use amount::{Uint256, U256};

#[cfg(feature = "js-verify")]
pub mod js;
