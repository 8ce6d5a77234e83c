//! A facilitator's settlement answer: when it is believed, and how it is passed to the
//! client. The gateway and the JavaScript `checkSettlement` both judge answers with
//! [`check_settlement`].

use core::fmt;

use crate::evm::Address;
use crate::networks::Networks;
use crate::protocol::facilitator::SettleResponse;
use crate::protocol::{PAYMENT_RESPONSE, X_PAYMENT_RESPONSE};

/// A settlement answer for a payment of one protocol version: what the client gets in the
/// version's settlement header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The payment's x402 version (1 or 2).
    pub version: u8,
    /// The facilitator's answer.
    pub response: SettleResponse,
}

impl Settlement {
    /// The response header the version answers settlements in.
    pub fn header_name(&self) -> &'static str {
        match self.version {
            1 => X_PAYMENT_RESPONSE,
            _ => PAYMENT_RESPONSE,
        }
    }
}

/// What a settlement must be about, where the caller knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// The chain the payment is on.
    pub chain_id: Option<u64>,
    /// The payer.
    pub payer: Option<Address>,
}

/// Why a settlement that claims success is not believed: it is not about this payment, so it
/// is not the API's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disbelief {
    /// `success: true` without a transaction hash.
    NoTransaction,
    /// The answer names another payer.
    OtherPayer,
    /// The answer names another network.
    OtherNetwork,
}

impl fmt::Display for Disbelief {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoTransaction => "success without a transaction",
            Self::OtherPayer => "success for another payer",
            Self::OtherNetwork => "success on another network",
        })
    }
}

/// Whether a claimed success is about the expected payment: it needs a transaction, and
/// where the answer names them, the expected payer (compared as an address) and network
/// (either spelling). A refusal (`success: false`) passes: it is believed as it is.
pub fn check_settlement(
    settlement: &SettleResponse,
    expected: &Expected,
    networks: &Networks,
) -> Result<(), Disbelief> {
    if !settlement.success {
        return Ok(());
    }
    if settlement.transaction.is_empty() {
        return Err(Disbelief::NoTransaction);
    }
    if let (Some(named), Some(payer)) = (settlement.payer.as_deref(), expected.payer) {
        if Address::parse_any_case(named).ok() != Some(payer) {
            return Err(Disbelief::OtherPayer);
        }
    }
    if let (false, Some(chain_id)) = (settlement.network.is_empty(), expected.chain_id) {
        if crate::verify::chain_of(networks, &settlement.network) != Some(chain_id) {
            return Err(Disbelief::OtherNetwork);
        }
    }
    Ok(())
}
