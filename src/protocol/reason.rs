use core::fmt;

use serde::{Deserialize, Serialize};

/// The machine-readable reasons edge402 emits, spelled as the current reference SDKs spell
/// them; those marked "edge402" are its own, for situations the SDKs have no code for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The header is not base64, not JSON, or not of the expected shape.
    InvalidPayload,
    /// The payment names requirements the server did not offer.
    InvalidPaymentRequirements,
    /// The network is not known.
    InvalidNetwork,
    /// The scheme is not supported.
    UnsupportedScheme,
    /// The `x402Version` is not supported.
    InvalidX402Version,
    /// The scheme of an exact-EVM payment is wrong.
    InvalidExactEvmScheme,
    /// The payment's network does not match any offered requirement.
    InvalidExactEvmNetworkMismatch,
    /// The requirement lacks the token's EIP-712 `name` / `version`.
    InvalidExactEvmMissingEip712Domain,
    /// The signature is malformed, high-s, or does not recover to `from`.
    InvalidExactEvmSignature,
    /// `to` is not the requirement's `payTo`.
    InvalidExactEvmRecipientMismatch,
    /// `validBefore` is too close or past.
    InvalidExactEvmPayloadAuthorizationValidBefore,
    /// `validAfter` is in the future.
    InvalidExactEvmPayloadAuthorizationValidAfter,
    /// `value` is not the required amount.
    InvalidExactEvmAuthorizationValue,
    /// The payer's balance is too low (reported by a facilitator).
    InvalidExactEvmInsufficientBalance,
    /// The nonce was already used on chain (reported by a facilitator).
    InvalidExactEvmNonceAlreadyUsed,
    /// Settlement failed for a reason the facilitator did not name.
    UnexpectedSettleError,
    /// edge402: the payment was already settled for another resource.
    PaymentAlreadyUsed,
    /// edge402: the facilitator did not answer in time; the payment may still settle.
    FacilitatorTimeout,
    /// edge402: the facilitator was unreachable or gave an answer that is not the API's.
    FacilitatorUnavailable,
    /// The settlement was submitted and is not concluded yet (reported by facilitators of the
    /// reference libraries; edge402 answers it too while a payment's outcome is unknown).
    SettlementPending,
    /// edge402: the payment coordinator could not be reached.
    CoordinatorUnavailable,
    /// edge402: a paid route was asked for without a payment.
    PaymentRequired,
    /// edge402: the request path is a spelling that is refused (encoded slash, NUL, …).
    InvalidPath,
    /// edge402: the path is paid for other methods only.
    MethodNotAllowed,
    /// edge402: a v2 payment's `resource.url` is not the resource it was offered for.
    ResourceMismatch,
    /// edge402: the request carries a method-override header, and the gateway is set to
    /// refuse those.
    MethodOverrideRefused,
    /// edge402: a smart-wallet (contract) signature the gateway does not take: smart-wallet
    /// payments are off, or the payer has no code and no ERC-6492 wrapper.
    SmartWalletRefused,
    /// edge402: this client sent too many smart-wallet payments in the last minute.
    TooManySmartWalletPayments,
    /// edge402: the allowances (Durable Objects) could not be asked.
    AllowanceUnavailable,
    /// edge402: the payment's quote (`extra.edge402Quote`) is not one this gateway made for
    /// this resource and amount.
    InvalidQuote,
    /// edge402: the payment's quote has expired; the answer quotes the price of now.
    QuoteExpired,
    /// edge402: the payment's `payment-identifier` is not an id of 16 to 128 letters, digits,
    /// `-` and `_`.
    InvalidPaymentIdentifier,
    /// edge402: the route requires a `payment-identifier`, and the payment has none.
    PaymentIdentifierRequired,
    /// edge402: the `payment-identifier` names an earlier payment by another payer or for
    /// another resource.
    PaymentIdentifierConflict,
    /// edge402: the route's price is decided per request and could not be had.
    PricingUnavailable,
    /// edge402: the gateway's own configuration is broken.
    InvalidConfiguration,
    /// edge402: the origin could not be reached.
    OriginUnavailable,
    /// edge402: a request to an MCP route that is refused whole: not JSON, or a priced
    /// `tools/call` in a batch or without an `id`.
    InvalidMcpRequest,
    /// edge402: a request body the gateway reads (an MCP route's) is over its limit.
    RequestTooLarge,
    /// edge402: the route does not serve this kind of client (browsers, here).
    ClientRefused,
    /// edge402: the route serves automated clients only with a valid Web Bot Auth
    /// signature.
    SignatureRequired,
    /// edge402: the route does not serve this (verified) agent.
    AgentForbidden,
    /// edge402: both `crawler-exact-price` and `crawler-max-price`.
    ConflictingCrawlerPriceHeaders,
    /// edge402: a crawler price header that is not `USD <amount>`.
    InvalidCrawlerPriceValue,
    /// edge402: `crawler-exact-price` is not the price.
    InvalidCrawlerExactPrice,
    /// edge402: `crawler-max-price` is below the price.
    InvalidCrawlerMaxPrice,
    /// edge402: an L402 credential that does not verify (or was revoked).
    InvalidL402Credential,
    /// edge402: the Lightning node could not issue an invoice.
    LightningUnavailable,
    /// edge402: this client asked for too many invoices in the last minute.
    TooManyInvoices,
    /// edge402: the L402 token has made all the requests its budget allows.
    L402BudgetExhausted,
    /// edge402: the token budget could not be checked (nothing is served then).
    TokenBudgetUnavailable,
    /// edge402: whether the L402 token is revoked could not be checked (nothing is served).
    L402RevocationUnavailable,
    /// edge402: a `SIGN-IN-WITH-X` header that is not base64 of a sign-in's JSON, or a field not of its form.
    InvalidSiwxPayload,
    /// A sign-in for another domain.
    InvalidSiwxDomainMismatch,
    /// A sign-in for another resource URI.
    InvalidSiwxUriMismatch,
    /// A sign-in whose `issuedAt` is not a time.
    InvalidSiwxIssuedAt,
    /// A sign-in issued too long ago.
    InvalidSiwxIssuedAtTooOld,
    /// A sign-in issued in the future.
    InvalidSiwxIssuedAtInFuture,
    /// A sign-in whose `expirationTime` is not a time.
    InvalidSiwxExpirationTime,
    /// An expired sign-in.
    InvalidSiwxExpired,
    /// A sign-in whose `notBefore` is not a time.
    InvalidSiwxNotBefore,
    /// A sign-in not valid yet.
    InvalidSiwxNotYetValid,
    /// A sign-in whose nonce was used already (a replay).
    InvalidSiwxNonce,
    /// A sign-in whose signature is not its address's.
    InvalidSiwxSignature,
    /// A sign-in whose `chainId` is not `eip155:<n>`.
    InvalidSiwxChainId,
    /// A sign-in on a chain the route does not take.
    InvalidSiwxUnsupportedChain,
    /// A sign-in whose signature is not hex of a signature.
    InvalidSiwxMalformedSignature,
    /// A smart wallet's sign-in whose signature could not be checked on its chain.
    InvalidSiwxVerifierError,
    /// edge402: a valid sign-in by a wallet that has not paid for the resource within its access window.
    SiwxNotEntitled,
    /// edge402: a wallet signed in more often than the gateway remembers nonces for.
    TooManySignIns,
}

/// Names used by the x402 specification before the SDKs settled on the current ones.
const SPEC_ERA_NAMES: [(&str, Reason); 4] = [
    (
        "invalid_exact_evm_payload_signature",
        Reason::InvalidExactEvmSignature,
    ),
    (
        "invalid_exact_evm_payload_recipient_mismatch",
        Reason::InvalidExactEvmRecipientMismatch,
    ),
    (
        "invalid_exact_evm_payload_authorization_value",
        Reason::InvalidExactEvmAuthorizationValue,
    ),
    (
        "insufficient_funds",
        Reason::InvalidExactEvmInsufficientBalance,
    ),
];

impl Reason {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidPayload => "invalid_payload",
            Self::InvalidPaymentRequirements => "invalid_payment_requirements",
            Self::InvalidNetwork => "invalid_network",
            Self::UnsupportedScheme => "unsupported_scheme",
            Self::InvalidX402Version => "invalid_x402_version",
            Self::InvalidExactEvmScheme => "invalid_exact_evm_scheme",
            Self::InvalidExactEvmNetworkMismatch => "invalid_exact_evm_network_mismatch",
            Self::InvalidExactEvmMissingEip712Domain => "invalid_exact_evm_missing_eip712_domain",
            Self::InvalidExactEvmSignature => "invalid_exact_evm_signature",
            Self::InvalidExactEvmRecipientMismatch => "invalid_exact_evm_recipient_mismatch",
            Self::InvalidExactEvmPayloadAuthorizationValidBefore => {
                "invalid_exact_evm_payload_authorization_valid_before"
            }
            Self::InvalidExactEvmPayloadAuthorizationValidAfter => {
                "invalid_exact_evm_payload_authorization_valid_after"
            }
            Self::InvalidExactEvmAuthorizationValue => "invalid_exact_evm_authorization_value",
            Self::InvalidExactEvmInsufficientBalance => "invalid_exact_evm_insufficient_balance",
            Self::InvalidExactEvmNonceAlreadyUsed => "invalid_exact_evm_nonce_already_used",
            Self::UnexpectedSettleError => "unexpected_settle_error",
            Self::PaymentAlreadyUsed => "payment_already_used",
            Self::FacilitatorTimeout => "facilitator_timeout",
            Self::FacilitatorUnavailable => "facilitator_unavailable",
            Self::SettlementPending => "settlement_pending",
            Self::CoordinatorUnavailable => "coordinator_unavailable",
            Self::PaymentRequired => "payment_required",
            Self::InvalidPath => "invalid_path",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ResourceMismatch => "resource_mismatch",
            Self::MethodOverrideRefused => "method_override_refused",
            Self::SmartWalletRefused => "smart_wallet_refused",
            Self::TooManySmartWalletPayments => "too_many_smart_wallet_payments",
            Self::AllowanceUnavailable => "allowance_unavailable",
            Self::InvalidQuote => "invalid_quote",
            Self::QuoteExpired => "quote_expired",
            Self::InvalidPaymentIdentifier => "invalid_payment_identifier",
            Self::PaymentIdentifierRequired => "payment_identifier_required",
            Self::PaymentIdentifierConflict => "payment_identifier_conflict",
            Self::PricingUnavailable => "pricing_unavailable",
            Self::InvalidConfiguration => "invalid_configuration",
            Self::OriginUnavailable => "origin_unavailable",
            Self::InvalidMcpRequest => "invalid_mcp_request",
            Self::RequestTooLarge => "request_too_large",
            Self::ClientRefused => "client_refused",
            Self::SignatureRequired => "signature_required",
            Self::AgentForbidden => "agent_forbidden",
            Self::ConflictingCrawlerPriceHeaders => "conflicting_crawler_price_headers",
            Self::InvalidCrawlerPriceValue => "invalid_crawler_price_value",
            Self::InvalidCrawlerExactPrice => "invalid_crawler_exact_price",
            Self::InvalidCrawlerMaxPrice => "invalid_crawler_max_price",
            Self::InvalidL402Credential => "invalid_l402_credential",
            Self::LightningUnavailable => "lightning_unavailable",
            Self::TooManyInvoices => "too_many_invoices",
            Self::L402BudgetExhausted => "l402_budget_exhausted",
            Self::TokenBudgetUnavailable => "token_budget_unavailable",
            Self::L402RevocationUnavailable => "l402_revocation_unavailable",
            Self::InvalidSiwxPayload => "invalid_siwx_payload",
            Self::InvalidSiwxDomainMismatch => "invalid_siwx_domain_mismatch",
            Self::InvalidSiwxUriMismatch => "invalid_siwx_uri_mismatch",
            Self::InvalidSiwxIssuedAt => "invalid_siwx_issued_at",
            Self::InvalidSiwxIssuedAtTooOld => "invalid_siwx_issued_at_too_old",
            Self::InvalidSiwxIssuedAtInFuture => "invalid_siwx_issued_at_in_future",
            Self::InvalidSiwxExpirationTime => "invalid_siwx_expiration_time",
            Self::InvalidSiwxExpired => "invalid_siwx_expired",
            Self::InvalidSiwxNotBefore => "invalid_siwx_not_before",
            Self::InvalidSiwxNotYetValid => "invalid_siwx_not_yet_valid",
            Self::InvalidSiwxNonce => "invalid_siwx_nonce",
            Self::InvalidSiwxSignature => "invalid_siwx_signature",
            Self::InvalidSiwxChainId => "invalid_siwx_chain_id",
            Self::InvalidSiwxUnsupportedChain => "invalid_siwx_unsupported_chain",
            Self::InvalidSiwxMalformedSignature => "invalid_siwx_malformed_signature",
            Self::InvalidSiwxVerifierError => "invalid_siwx_verifier_error",
            Self::SiwxNotEntitled => "siwx_not_entitled",
            Self::TooManySignIns => "too_many_sign_ins",
        }
    }

    /// Whether a facilitator refusing a settlement for this reason has decided before sending
    /// any transaction (the payment's own checks, its balance): then nothing can be on chain.
    /// Any other refusal (an unexpected error, a used nonce, a code not known here) may follow
    /// a broadcast transaction, so only the chain can tell.
    pub fn decided_before_broadcast(self) -> bool {
        matches!(
            self,
            Self::InvalidPayload
                | Self::InvalidPaymentRequirements
                | Self::InvalidNetwork
                | Self::UnsupportedScheme
                | Self::InvalidX402Version
                | Self::InvalidExactEvmScheme
                | Self::InvalidExactEvmNetworkMismatch
                | Self::InvalidExactEvmMissingEip712Domain
                | Self::InvalidExactEvmSignature
                | Self::InvalidExactEvmRecipientMismatch
                | Self::InvalidExactEvmPayloadAuthorizationValidBefore
                | Self::InvalidExactEvmPayloadAuthorizationValidAfter
                | Self::InvalidExactEvmAuthorizationValue
                | Self::InvalidExactEvmInsufficientBalance
        )
    }

    /// Reads a reason a facilitator sent, in the current or the spec-era spelling. Unknown
    /// strings give `None`: keep and pass them on as received.
    pub fn from_wire(text: &str) -> Option<Self> {
        SPEC_ERA_NAMES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, reason)| *reason)
            .or_else(|| serde_json::from_value(serde_json::Value::String(text.to_owned())).ok())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const ALL: [Reason; 70] = [
        Reason::InvalidPayload,
        Reason::InvalidPaymentRequirements,
        Reason::InvalidNetwork,
        Reason::UnsupportedScheme,
        Reason::InvalidX402Version,
        Reason::InvalidExactEvmScheme,
        Reason::InvalidExactEvmNetworkMismatch,
        Reason::InvalidExactEvmMissingEip712Domain,
        Reason::InvalidExactEvmSignature,
        Reason::InvalidExactEvmRecipientMismatch,
        Reason::InvalidExactEvmPayloadAuthorizationValidBefore,
        Reason::InvalidExactEvmPayloadAuthorizationValidAfter,
        Reason::InvalidExactEvmAuthorizationValue,
        Reason::InvalidExactEvmInsufficientBalance,
        Reason::InvalidExactEvmNonceAlreadyUsed,
        Reason::UnexpectedSettleError,
        Reason::PaymentAlreadyUsed,
        Reason::FacilitatorTimeout,
        Reason::FacilitatorUnavailable,
        Reason::SettlementPending,
        Reason::CoordinatorUnavailable,
        Reason::PaymentRequired,
        Reason::InvalidPath,
        Reason::MethodNotAllowed,
        Reason::ResourceMismatch,
        Reason::MethodOverrideRefused,
        Reason::SmartWalletRefused,
        Reason::TooManySmartWalletPayments,
        Reason::AllowanceUnavailable,
        Reason::InvalidQuote,
        Reason::QuoteExpired,
        Reason::InvalidPaymentIdentifier,
        Reason::PaymentIdentifierRequired,
        Reason::PaymentIdentifierConflict,
        Reason::PricingUnavailable,
        Reason::InvalidConfiguration,
        Reason::OriginUnavailable,
        Reason::InvalidMcpRequest,
        Reason::RequestTooLarge,
        Reason::ClientRefused,
        Reason::SignatureRequired,
        Reason::AgentForbidden,
        Reason::ConflictingCrawlerPriceHeaders,
        Reason::InvalidCrawlerPriceValue,
        Reason::InvalidCrawlerExactPrice,
        Reason::InvalidCrawlerMaxPrice,
        Reason::InvalidL402Credential,
        Reason::LightningUnavailable,
        Reason::TooManyInvoices,
        Reason::L402BudgetExhausted,
        Reason::TokenBudgetUnavailable,
        Reason::L402RevocationUnavailable,
        Reason::InvalidSiwxPayload,
        Reason::InvalidSiwxDomainMismatch,
        Reason::InvalidSiwxUriMismatch,
        Reason::InvalidSiwxIssuedAt,
        Reason::InvalidSiwxIssuedAtTooOld,
        Reason::InvalidSiwxIssuedAtInFuture,
        Reason::InvalidSiwxExpirationTime,
        Reason::InvalidSiwxExpired,
        Reason::InvalidSiwxNotBefore,
        Reason::InvalidSiwxNotYetValid,
        Reason::InvalidSiwxNonce,
        Reason::InvalidSiwxSignature,
        Reason::InvalidSiwxChainId,
        Reason::InvalidSiwxUnsupportedChain,
        Reason::InvalidSiwxMalformedSignature,
        Reason::InvalidSiwxVerifierError,
        Reason::SiwxNotEntitled,
        Reason::TooManySignIns,
    ];

    #[test]
    fn serde_spelling_is_the_wire_spelling() {
        for reason in ALL {
            let json = serde_json::to_value(reason).unwrap();
            assert_eq!(json, serde_json::Value::String(reason.as_str().to_owned()));
            assert_eq!(Reason::from_wire(reason.as_str()), Some(reason));
        }
    }

    #[test]
    fn spec_era_names_map_to_current_codes() {
        assert_eq!(
            Reason::from_wire("invalid_exact_evm_payload_signature"),
            Some(Reason::InvalidExactEvmSignature)
        );
        assert_eq!(
            Reason::from_wire("insufficient_funds"),
            Some(Reason::InvalidExactEvmInsufficientBalance)
        );
        assert_eq!(Reason::from_wire("a_reason_of_the_future"), None);
    }
}
