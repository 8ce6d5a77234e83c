//! Checks of a valid configuration: what is probably not what was meant (logged once per
//! isolate), and what a facilitator says it cannot settle.

use super::{Access, GatewayConfig, PaidRoute};
use crate::protocol::facilitator::SupportedResponse;
use crate::terms::EXACT;

impl GatewayConfig {
    /// Configuration that is valid but probably not what was meant, to log once: a free route
    /// listed before a paid route whose paths it shares (the first match wins), and
    /// case-sensitive paid patterns (other spellings pass free where the origin ignores case),
    /// chains without an RPC endpoint, and browsers offered other terms than bots where only
    /// their headers tell them apart.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.case_sensitive_paths {
            warnings.push("case_sensitive_paths is on: if the origin ignores letter case, other spellings of paid paths reach it free".to_owned());
        }
        for (j, paid) in self
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.access, Access::Paid(_)))
        {
            for (i, free) in self.routes[..j]
                .iter()
                .enumerate()
                .filter(|(_, r)| r.access == Access::Free)
            {
                let methods_meet = free.matcher.methods.is_empty()
                    || paid.matcher.methods.is_empty()
                    || free
                        .matcher
                        .methods
                        .iter()
                        .any(|m| paid.matcher.methods.contains(m));
                if methods_meet && free.matcher.pattern.overlaps(&paid.matcher.pattern) {
                    warnings.push(format!("routes[{i}] (free) comes before routes[{j}] (paid) and shares some of its paths: there they are free"));
                }
            }
        }
        let mut unreconciled: Vec<u64> = self
            .paid_routes()
            .flat_map(|paid| paid.accepts.iter())
            .map(|accept| accept.terms.domain.chain_id)
            .filter(|&chain| {
                self.networks
                    .by_chain_id(chain)
                    .is_none_or(|n| n.rpc_url.is_none())
            })
            .collect();
        unreconciled.sort_unstable();
        unreconciled.dedup();
        for chain in unreconciled {
            warnings.push(format!("chain {chain} has no networks[].rpc_url: a settlement whose outcome is unknown cannot be proven there, and stays unknown (listed for the operator)"));
        }
        for (index, route) in self.routes.iter().enumerate() {
            let Access::Paid(PaidRoute {
                clients: Some(clients),
                ..
            }) = &route.access
            else {
                continue;
            };
            if !self.web_bot_auth.bot_management && clients.browsers != clients.unsigned_bots {
                warnings.push(format!("routes[{index}].clients offers browsers other terms than unsigned bots, and browsers are told by their request headers alone (web_bot_auth.bot_management is off): any program can send those headers and get the browsers' terms"));
            }
        }
        warnings
    }

    /// The configured offers (`v2 eip155:84532`, `v1 base-sepolia`) that a facilitator's
    /// `/supported` answer does not list for the `exact` scheme: a configuration error to log.
    pub fn unsupported_offers(&self, supported: &SupportedResponse) -> Vec<String> {
        let listed = |version: u8, network: &str| {
            supported
                .kinds
                .iter()
                .any(|k| k.x402_version == version && k.scheme == EXACT && k.network == network)
        };
        let mut missing = Vec::new();
        for accept in self.paid_routes().flat_map(|paid| &paid.accepts) {
            let offers = [
                Some((2, accept.requirement.network.as_str())),
                accept.v1_network.as_deref().map(|name| (1, name)),
            ];
            for (version, network) in offers.into_iter().flatten() {
                let offer = format!("v{version} {network}");
                if !listed(version, network) && !missing.contains(&offer) {
                    missing.push(offer);
                }
            }
        }
        missing
    }
}
