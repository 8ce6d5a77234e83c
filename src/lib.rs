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
//! ```text
//!  client ── X-PAYMENT / PAYMENT-SIGNATURE ──► Worker shell (clock, Fetch, KV)
//!                                                 │
//!        protocol::PaymentPayload::from_header ◄──┤  decode (bounded, never panics)
//!        verify::verify_payment(.., now)       ◄──┤  local checks, in WASM
//!                                                 │     └─ reject: 400 / 402, no network call
//!        facilitator /settle (shell, Fetch)    ◄──┤  settle on chain
//!        protocol::facilitator::SettleResponse ◄──┤  read the answer
//!                                                 ▼
//!                              200 + PAYMENT-RESPONSE / X-PAYMENT-RESPONSE
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
//!   decisions over facilitator, receipt-store and origin traits.
//! - [`l402`]: Lightning's L402 — V2 macaroons, token identifiers, caveats, credentials.
//!
//! ## Features
//! - `worker` (default, wasm32 only): the Cloudflare Worker entry point and its shell.
//! - `js`: the wasm-bindgen API for JavaScript (the npm package); `js-verify`: only its
//!   `verifyPayment` (which reads payments with [`verify::light`]), for size-sensitive builds.
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
pub mod pricing;
pub mod protocol;
pub mod routes;
pub mod terms;
pub mod verify;

#[cfg(all(feature = "worker", target_arch = "wasm32"))]
mod worker;

pub use amount::{Uint256, U256};

#[cfg(feature = "js-verify")]
pub mod js;
