// The paywall page's script (served as /__edge402/paywall.js; see src/gate/paywall.rs for the
// page and paywall/build.sh for the build). No framework: it reads the route's v2
// PaymentRequired from the page, asks an injected EIP-1193 wallet (window.ethereum) for an
// account, the right chain and an EIP-3009 TransferWithAuthorization signature, builds the
// x402 v2 PAYMENT-SIGNATURE header, checks it with edge402's own verifyPayment (WASM) before
// anything is sent, then retries the request with it and shows the paid content or a
// readable error.

import initVerifier, { verifyPayment } from '@edge402/verify';

const $ = (id) => document.getElementById(id);
const required = JSON.parse($('edge402-payment-required').textContent);
const button = $('edge402-pay');
const statusLine = $('edge402-status');
const section = $('edge402-content');
const contentBody = $('edge402-content-body');

/** Past the authorisation's validity (maxTimeoutSeconds) plus this, the retry gives up. */
const SETTLE_GRACE_S = 30;
/** Clients backdate validAfter by this much, for clock skew (as the reference clients do). */
const VALID_AFTER_BACKDATE_S = 600;

/** A failure to show as it is (its message is written for people). */
class Shown extends Error {}

/** Reason codes (gateway, facilitator) as sentences. `offer` names the price and network. */
function explainReason(reason, offer) {
  const known = {
    invalid_exact_evm_insufficient_balance: `Insufficient funds: your wallet does not hold ${offer.price} on ${offer.network}.`,
    insufficient_funds: `Insufficient funds: your wallet does not hold ${offer.price} on ${offer.network}.`,
    invalid_exact_evm_nonce_already_used: 'This authorisation was already used. Please pay again.',
    invalid_exact_evm_payload_authorization_valid_before: 'The authorisation expired before it reached the gateway. Please try again (and sign a little faster).',
    invalid_exact_evm_payload_authorization_valid_after: 'The authorisation is not valid yet: is your computer’s clock right?',
    invalid_exact_evm_signature: 'The gateway did not accept your wallet’s signature.',
    invalid_exact_evm_network_mismatch: 'Wrong network: the payment was signed for another chain.',
    payment_already_used: 'This payment was already used for another resource.',
    facilitator_timeout: 'The payment service did not answer in time. Your payment may or may not have gone through: check your wallet before paying again.',
    facilitator_unavailable: 'The payment service (facilitator) is unavailable right now. Please try again later.',
    origin_unavailable: 'The content server is unavailable right now. Please try again later.',
  };
  return known[reason] ?? `The payment was refused (${reason}).`;
}

/** base64 of UTF-8 text, and back. */
function toBase64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
function fromBase64Json(text) {
  try {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const chainIdOf = (network) => {
  const m = /^eip155:(\d+)$/.exec(network);
  return m ? Number(m[1]) : undefined;
};

/** How an offer reads on the page (rendered by the server). */
function offerText(index) {
  const el = $(`edge402-offer-${index}`);
  return { price: el?.dataset.price ?? 'the price', network: el?.dataset.network ?? 'the right network' };
}

function show(message, kind = 'info') {
  statusLine.dataset.kind = kind;
  statusLine.textContent = message;
}

function busy(on) {
  button.disabled = on;
  button.setAttribute('aria-busy', String(on));
}

/** Sentences for EIP-1193 errors. */
function walletError(error, what) {
  switch (error?.code) {
    case 4001:
      return new Shown(`You rejected the ${what} in your wallet. Nothing was paid.`);
    case 4100:
      return new Shown('Your wallet has not authorised this site. Connect it and try again.');
    case -32002:
      return new Shown('Your wallet already has a request waiting: open your wallet to answer it.');
    default:
      return new Shown(`Your wallet could not complete the ${what}${error?.message ? `: ${error.message}` : ''}.`);
  }
}

async function ask(wallet, method, params, what) {
  try {
    return await wallet.request(params === undefined ? { method } : { method, params });
  } catch (error) {
    throw walletError(error, what);
  }
}

/** The exact-EVM offers this page can pay, with their index on the page. */
function payableOffers() {
  return required.accepts
    .map((requirement, index) => ({ requirement, index, chainId: chainIdOf(requirement.network) }))
    .filter((o) => o.requirement.scheme === 'exact' && o.chainId !== undefined && o.requirement.extra?.name && o.requirement.extra?.version);
}

/** Makes sure the wallet is on `offer`'s chain, asking it to switch if not. */
async function ensureChain(wallet, offer) {
  const current = Number.parseInt(await ask(wallet, 'eth_chainId', undefined, 'network check'), 16);
  if (current === offer.chainId) return;
  const { network } = offerText(offer.index);
  show(`Asking your wallet to switch to ${network}…`);
  const wrong = new Shown(`Wrong network: your wallet is on chain ${current}, and this payment is on ${network} (chain ${offer.chainId}). Switch your wallet to ${network} and try again.`);
  try {
    await wallet.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: `0x${offer.chainId.toString(16)}` }] });
  } catch {
    throw wrong;
  }
  const now = Number.parseInt(await ask(wallet, 'eth_chainId', undefined, 'network check'), 16);
  if (now !== offer.chainId) throw wrong;
}

/** The EIP-712 typed data of an EIP-3009 TransferWithAuthorization. */
function typedData(requirement, chainId, authorization) {
  return {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      TransferWithAuthorization: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType: 'TransferWithAuthorization',
    domain: { name: requirement.extra.name, version: requirement.extra.version, chainId, verifyingContract: requirement.asset },
    message: authorization,
  };
}

/** The content of a paid response, shown in the page. */
async function showContent(response) {
  const type = (response.headers.get('Content-Type') ?? '').toLowerCase();
  contentBody.replaceChildren();
  if (type.startsWith('text/html')) {
    // Someone else's page: in a sandboxed frame (no scripts, no access to this page).
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', '');
    frame.title = 'Paid content';
    frame.srcdoc = await response.text();
    contentBody.append(frame);
  } else if (type.includes('json') || type.startsWith('text/') || type === '') {
    const text = await response.text();
    let shown = text;
    if (type.includes('json')) {
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not JSON after all: as it is.
      }
    }
    const pre = document.createElement('pre');
    pre.tabIndex = 0;
    pre.textContent = shown;
    contentBody.append(pre);
  } else {
    const blob = await response.blob();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = new URL(location.href).pathname.split('/').pop() || 'download';
    link.textContent = `Download the content (${type}, ${blob.size} bytes)`;
    contentBody.append(link);
  }
  section.hidden = false;
  $('edge402-content-title').focus();
}

/** Why a non-2xx answer to the paid retry failed, as a sentence. */
async function refusalOf(response, offer) {
  const settlement = fromBase64Json(response.headers.get('PAYMENT-RESPONSE') ?? '');
  const challenge = fromBase64Json(response.headers.get('PAYMENT-REQUIRED') ?? '');
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const reason = settlement?.errorReason || challenge?.error || body?.error;
  if (response.status === 502 || response.status === 504) {
    return explainReason(reason ?? (response.status === 504 ? 'facilitator_timeout' : 'facilitator_unavailable'), offer);
  }
  return reason ? explainReason(reason, offer) : `The gateway answered ${response.status} ${response.statusText}.`;
}

async function pay() {
  const wallet = window.ethereum;
  if (!wallet || typeof wallet.request !== 'function') {
    throw new Shown('No browser wallet found. Install an Ethereum wallet extension (such as MetaMask), then reload this page.');
  }
  const verifier = initVerifier({ module_or_path: new URL('edge402_verify_bg.wasm', import.meta.url) });
  verifier.catch(() => {}); // Awaited below; a failure must not be an unhandled rejection meanwhile.

  show('Connecting to your wallet…');
  const accounts = await ask(wallet, 'eth_requestAccounts', undefined, 'connection request');
  const from = accounts?.[0];
  if (!from) throw new Shown('Your wallet gave no account. Unlock it and try again.');

  const offers = payableOffers();
  if (offers.length === 0) throw new Shown('This page cannot pay any of the offered payment methods.');
  const currentChain = Number.parseInt(await ask(wallet, 'eth_chainId', undefined, 'network check'), 16);
  const offer = offers.find((o) => o.chainId === currentChain) ?? offers[0];
  await ensureChain(wallet, offer);
  const { requirement } = offer;
  const text = offerText(offer.index);

  const now = Math.floor(Date.now() / 1000);
  const authorization = {
    from,
    to: requirement.payTo,
    value: String(requirement.amount),
    validAfter: String(now - VALID_AFTER_BACKDATE_S),
    validBefore: String(now + requirement.maxTimeoutSeconds),
    nonce: `0x${hex(crypto.getRandomValues(new Uint8Array(32)))}`,
  };
  show(`Please sign the authorisation to pay ${text.price} in your wallet…`);
  const typed = JSON.stringify(typedData(requirement, offer.chainId, authorization));
  const signature = await ask(wallet, 'eth_signTypedData_v4', [from, typed], 'signature request');

  const payment = { x402Version: 2, resource: required.resource, accepted: requirement, payload: { signature, authorization } };
  const header = toBase64(JSON.stringify(payment));

  show('Checking the signature…');
  try {
    await verifier;
  } catch (error) {
    throw new Shown(`The payment checker could not be loaded (${error?.message ?? error}). Nothing was sent.`);
  }
  const verdict = verifyPayment(header, [requirement], Math.floor(Date.now() / 1000));
  // `invalid_network`: a chain the built-in table does not know; the gateway checks it itself.
  if (!verdict.valid && verdict.reason !== 'invalid_network') {
    const why = verdict.reason === 'invalid_exact_evm_signature'
      ? 'Your wallet’s signature does not verify for the account it connected.'
      : explainReason(verdict.reason, text);
    throw new Shown(`${why} Nothing was sent. (${verdict.detail ?? verdict.reason})`);
  }

  show('Paying… (the payment is being settled on chain)');
  const accept = required.resource.mimeType ? `${required.resource.mimeType}, */*;q=0.1` : '*/*';
  let response;
  try {
    response = await fetch(location.href, {
      headers: { 'PAYMENT-SIGNATURE': header, Accept: accept },
      cache: 'no-store',
      signal: AbortSignal.timeout((requirement.maxTimeoutSeconds + SETTLE_GRACE_S) * 1000),
    });
  } catch (error) {
    throw new Shown(`Could not reach the gateway (${error?.name === 'TimeoutError' ? 'no answer in time' : 'network error'}). Your payment may or may not have gone through: check your wallet before paying again.`);
  }
  if (!response.ok) throw new Shown(await refusalOf(response, text));

  const settlement = fromBase64Json(response.headers.get('PAYMENT-RESPONSE') ?? '');
  await showContent(response);
  const tx = settlement?.transaction ? ` Transaction ${settlement.transaction}.` : '';
  document.querySelector('h1').textContent = 'Paid';
  show(`Paid ${text.price} on ${text.network}.${tx}`, 'ok');
  button.hidden = true;
}

button.addEventListener('click', async () => {
  busy(true);
  try {
    await pay();
  } catch (error) {
    const message = error instanceof Shown ? error.message : `Something went wrong: ${error?.message ?? error}`;
    show(message, 'error');
    button.textContent = `Try again: pay ${offerText(0).price}`;
  } finally {
    busy(false);
  }
});

button.disabled = false;
if (!window.ethereum) {
  show('No browser wallet detected yet. You need an Ethereum wallet extension (such as MetaMask) to pay.');
}
