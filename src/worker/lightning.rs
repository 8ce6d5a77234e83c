//! Invoices from LND's REST API (`POST /v1/invoices`, macaroon in `Grpc-Metadata-macaroon`,
//! `r_hash` as base64). The allowances are checked before, by the flow.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Method};

use super::outbound::{exchange, ExchangeError};

/// Answers larger than this are not an invoice (one is a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
use super::LND_MACAROON_SECRET;
use crate::config::LightningConfig;
use crate::gate::l402::{Invoice, InvoiceError, InvoiceSource};
use crate::l402::PaymentHash;

/// An LND node over REST.
pub struct Lnd<'a> {
    config: &'a LightningConfig,
    /// Where the invoice macaroon is (the `LND_MACAROON` secret, hex), read when an invoice
    /// is made: most requests make none.
    env: &'a Env,
}

/// The part of LND's `AddInvoiceResponse` used here.
#[derive(Deserialize)]
struct AddInvoiceResponse {
    r_hash: String,
    payment_request: String,
}

impl<'a> Lnd<'a> {
    pub fn new(config: &'a LightningConfig, env: &'a Env) -> Self {
        Self { config, env }
    }
}

impl InvoiceSource for Lnd<'_> {
    async fn create_invoice(&self, sats: u64, memo: &str) -> Result<Invoice, InvoiceError> {
        let unavailable = |detail: String| InvoiceError::Unavailable { detail };
        let macaroon = self
            .env
            .secret(LND_MACAROON_SECRET)
            .map(|secret| secret.to_string())
            .map_err(|_| unavailable("LND_MACAROON is not set".into()))?;
        let url = format!("{}/v1/invoices", self.config.url);
        let body = json!({ "memo": memo, "value": sats.to_string() }).to_string();
        let headers = [("Grpc-Metadata-macaroon", macaroon.as_str())];
        let (status, bytes) = match exchange(
            Method::Post,
            &url,
            &headers,
            Some(body),
            self.config.timeout_ms,
            MAX_ANSWER_BYTES,
        )
        .await
        {
            Ok(answer) => answer,
            Err(ExchangeError::Timeout) => return Err(InvoiceError::Timeout),
            Err(error) => return Err(unavailable(error.detail())),
        };
        if !(200..300).contains(&status) {
            return Err(unavailable(format!("HTTP {status}")));
        }
        let answer: AddInvoiceResponse =
            serde_json::from_slice(&bytes).map_err(|e| unavailable(format!("answer: {e}")))?;
        let hash = STANDARD
            .decode(&answer.r_hash)
            .or_else(|_| URL_SAFE.decode(&answer.r_hash))
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| unavailable("r_hash is not 32 bytes of base64".into()))?;
        Ok(Invoice {
            payment_hash: PaymentHash(hash),
            payment_request: answer.payment_request,
        })
    }
}
