// The paywall page end to end: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens a paid route of the Worker (workerd under `wrangler dev`, with the
// page's script and WASM served as static assets from paywall/dist), settled by the local
// stack (stack/: chain, token, reference facilitator), and pays with a test wallet:
//
//   Chromium ──► page (402, HTML) ──► /__edge402/paywall.js + edge402_verify_bg.wasm (assets)
//      │ window.ethereum (addInitScript) ──► exposeFunction ──► viem local account (this process)
//      └─ fetch(location.href, PAYMENT-SIGNATURE) ──► Worker ──► facilitator ──► chain
//
// Asserted: the page shows the content, the chain shows the transfer (the price moved from the
// buyer to payTo), the signature was checked locally before it was sent; and each failure is
// a readable message with nothing paid: the signature rejected in the wallet (4001), a wallet
// on another chain refusing to switch, a buyer without funds (the facilitator's reason), the
// facilitator down (502). A screenshot of each state is written to $EDGE402_ARTIFACTS
// (default target/paywall-artifacts/).
//
// The stack and the Worker are started with tests/e2e/harness.js and tests/worker/helpers.js.
// Everything listens on 127.0.0.1; every wait is bounded; everything started is stopped.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import { DEMO_MARKER, PRICE, gatewayConfig, startStack } from '../e2e/harness.js';
import { startWorker } from '../worker/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = resolve(ROOT, process.env.EDGE402_ARTIFACTS ?? 'target/paywall-artifacts');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Bounds: the browser's start, one page's load, one payment from click to message. */
const BROWSER_START_TIMEOUT_MS = 30_000;
const PAGE_LOAD_TIMEOUT_MS = 15_000;
const PAYMENT_TIMEOUT_MS = 30_000;
const START_TIMEOUT = { timeout: 150_000 };
const TEST_TIMEOUT = { timeout: 60_000 };
const DESCRIPTION = 'Weather data for one city, one request';
const OTHER_CHAIN = 1;

const all = {};
before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  all.stack = await startStack();
  const config = gatewayConfig(all.stack.info);
  config.routes[1].description = DESCRIPTION;
  // Routes that tell browsers from bots (`clients`): free for people, or the paywall for
  // them; unsigned bots refused on both.
  const { accepts } = config.routes[1];
  config.routes.push(
    { match: 'GET /people/*', price: '$0.001', accepts, clients: { browsers: 'free', unsigned_bots: 'refuse' } },
    { match: 'GET /people-pay/*', price: '$0.001', description: DESCRIPTION, accepts, clients: { unsigned_bots: 'refuse' } },
  );
  // The page's script and WASM, bound as Workers Static Assets (off in wrangler.toml).
  all.worker = await startWorker(config, { args: ['--assets', 'paywall/dist'] });
  all.browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: BROWSER_START_TIMEOUT_MS,
  });
}, START_TIMEOUT);
after(async () => {
  if (process.env.EDGE402_E2E_LOGS) {
    process.stderr.write(`--- stack ---\n${all.stack?.output()}\n--- wrangler ---\n${all.worker?.output()}\n`);
  }
  await all.browser?.close();
  await all.worker?.stop();
  await all.stack?.stop();
});

// ---------------------------------------------------------------------------------------------
// The test wallet: an EIP-1193 provider in the page whose requests are answered here

/** What the page's `window.ethereum.request` calls: answers `{result}` or `{error: {code, message}}`. */
const PROVIDER_SHIM = `
  window.ethereum = {
    isEdge402TestWallet: true,
    async request({ method, params }) {
      const answer = await window.__edge402Wallet(method, params ?? []);
      if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
      return answer.result;
    },
    on() {},
    removeListener() {},
  };
`;

/**
 * A wallet holding `privateKey`, on chain `chainId`; `refuseSwitch` / `rejectSignature` make it
 * answer those requests with the user's refusal (EIP-1193 code 4001). `calls` records methods.
 */
function testWallet(privateKey, { chainId, refuseSwitch = false, rejectSignature = false }) {
  const account = privateKeyToAccount(privateKey);
  const state = { chainId, calls: [] };
  const refused = { error: { code: 4001, message: 'User rejected the request.' } };
  const handle = async (method, params) => {
    state.calls.push(method);
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        // As MetaMask does: lower case.
        return { result: [account.address.toLowerCase()] };
      case 'eth_chainId':
        return { result: `0x${state.chainId.toString(16)}` };
      case 'wallet_switchEthereumChain':
        if (refuseSwitch) return refused;
        state.chainId = Number.parseInt(params[0].chainId, 16);
        return { result: null };
      case 'eth_signTypedData_v4': {
        if (rejectSignature) return refused;
        const [from, json] = params;
        if (from.toLowerCase() !== account.address.toLowerCase()) return { error: { code: 4100, message: 'unknown account' } };
        const typed = JSON.parse(json);
        const { EIP712Domain, ...types } = typed.types;
        assert.equal(typed.domain.chainId, state.chainId, 'signs for the chain the wallet is on');
        state.typed = typed;
        return { result: await account.signTypedData({ domain: typed.domain, types, primaryType: typed.primaryType, message: typed.message }) };
      }
      default:
        return { error: { code: 4200, message: `unsupported method ${method}` } };
    }
  };
  return { account, state, handle };
}

/**
 * A fresh browser context and page with `wallet` injected, recording every request the page
 * makes (`requests`: `{url, paymentSignature}`, in order).
 */
async function openPage(wallet) {
  const context = await all.browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_LOAD_TIMEOUT_MS);
  await page.exposeFunction('__edge402Wallet', wallet.handle);
  await page.addInitScript(PROVIDER_SHIM);
  const requests = [];
  page.on('request', (request) => requests.push({ url: request.url(), paymentSignature: request.headers()['payment-signature'] }));
  // Script errors, and console errors (CSP violations among them) other than the 402 itself.
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 402/.test(message.text())) problems.push(message.text());
  });
  return { context, page, requests, problems };
}

/** Opens `path` (the browser's own navigation, Accept: text/html), checks the page, Tab-Enters Pay. */
async function openAndPay(page, path) {
  const response = await page.goto(`${all.worker.url}${path}`, { waitUntil: 'load' });
  assert.equal(response.status(), 402);
  assert.match(response.headers()['content-type'], /^text\/html/);
  assert.ok(response.headers()['payment-required'], 'the page still carries PAYMENT-REQUIRED');
  await page.waitForFunction(() => !document.getElementById('edge402-pay').disabled);
  // Keyboard only: the button is the first stop.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'edge402-pay');
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    () => ['ok', 'error'].includes(document.getElementById('edge402-status').dataset.kind),
    undefined,
    { timeout: PAYMENT_TIMEOUT_MS },
  );
  return {
    kind: await page.locator('#edge402-status').getAttribute('data-kind'),
    message: await page.locator('#edge402-status').textContent(),
  };
}

async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const payTo = () => all.stack.info.payTo;
const buyerKey = (index) => all.stack.info.buyers[index].privateKey;
const balances = async (buyer) => all.stack.balances({ buyer, payTo: payTo() });
const CHAIN_ID = () => all.stack.info.chainId;

// ---------------------------------------------------------------------------------------------

test('the page says what is sold and that a wallet is needed, without JavaScript', TEST_TIMEOUT, async () => {
  const context = await all.browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(PAGE_LOAD_TIMEOUT_MS);
    const response = await page.goto(`${all.worker.url}/api/weather`);
    assert.equal(response.status(), 402);
    assert.equal(await page.locator('h1').textContent(), 'Payment required');
    const text = await page.locator('main').innerText();
    assert.match(text, new RegExp(DESCRIPTION));
    assert.match(text, /0\.001 USDC on Base Sepolia/);
    assert.match(text, /\/api\/weather/);
    assert.match(text, /needs a browser wallet/);
    assert.match(text, /needs JavaScript/);
    await screenshot(page, '0-unpaid-no-javascript');
    // API clients keep the JSON, and the assets are served (from paywall/dist, not the Worker).
    const api = await fetch(`${all.worker.url}/api/weather`, { headers: { Accept: 'application/json' } });
    assert.equal(api.status, 402);
    assert.equal((await api.json()).error, 'payment_required');
    for (const [asset, type] of [['paywall.js', /javascript/], ['edge402_verify_bg.wasm', /^application\/wasm/]]) {
      const served = await fetch(`${all.worker.url}/__edge402/${asset}`);
      assert.equal(served.status, 200, asset);
      assert.match(served.headers.get('content-type'), type, asset);
      await served.arrayBuffer();
    }
  } finally {
    await context.close();
  }
});

test('paying: the page shows the content and the chain shows the transfer', TEST_TIMEOUT, async () => {
  const wallet = testWallet(buyerKey(0), { chainId: CHAIN_ID() });
  const before = await balances(wallet.account.address);
  const { context, page, requests, problems } = await openPage(wallet);
  try {
    await page.goto(`${all.worker.url}/api/forecast`);
    await screenshot(page, '1-unpaid');
    const result = await openAndPay(page, '/api/forecast');
    assert.equal(result.kind, 'ok', result.message);
    assert.match(result.message, /^Paid 0\.001 USDC on Base Sepolia\. Transaction 0x[0-9a-f]{64}\.$/);
    const content = await page.locator('#edge402-content-body pre').textContent();
    assert.ok(content.includes(DEMO_MARKER), content);
    assert.ok(await page.locator('#edge402-content').isVisible());
    await screenshot(page, '2-paid');

    const after = await balances(wallet.account.address);
    assert.equal(before.buyer - after.buyer, PRICE, 'the buyer paid the price');
    assert.equal(after.payTo - before.payTo, PRICE, 'payTo received it');
    const tx = result.message.match(/0x[0-9a-f]{64}/)[0];
    const receipt = await all.stack.publicClient.getTransactionReceipt({ hash: tx });
    assert.equal(receipt.status, 'success');

    // The signature was checked in WASM before it was sent: the .wasm was fetched first.
    const wasmAt = requests.findIndex((r) => r.url.endsWith('/__edge402/edge402_verify_bg.wasm'));
    const paidAt = requests.findIndex((r) => r.paymentSignature);
    assert.ok(wasmAt >= 0 && paidAt > wasmAt, JSON.stringify(requests));
    assert.equal(requests.filter((r) => r.paymentSignature).length, 1);
    const sent = JSON.parse(Buffer.from(requests[paidAt].paymentSignature, 'base64').toString('utf8'));
    assert.equal(sent.x402Version, 2);
    assert.equal(sent.accepted.payTo, payTo());
    assert.equal(sent.payload.authorization.value, String(PRICE));
    assert.deepEqual(wallet.state.calls, ['eth_requestAccounts', 'eth_chainId', 'eth_chainId', 'eth_signTypedData_v4']);
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  } finally {
    await context.close();
  }
});

test('paid HTML is shown in a sandboxed frame, its scripts not run', TEST_TIMEOUT, async () => {
  // The demo origin answers JSON: the paid answer is replaced in the browser (so nothing is
  // settled); what is tested is how the page shows HTML.
  const wallet = testWallet(buyerKey(0), { chainId: CHAIN_ID() });
  const { context, page, problems } = await openPage(wallet);
  try {
    await page.route('**/api/article', (route) =>
      route.request().headers()['payment-signature']
        ? route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: '<h1>Paid article</h1><script>parent.document.title = "pwned"</script>' })
        : route.fallback(),
    );
    const result = await openAndPay(page, '/api/article');
    assert.equal(result.kind, 'ok', result.message);
    const frame = page.locator('#edge402-content-body iframe');
    assert.equal(await frame.getAttribute('sandbox'), '');
    assert.equal(await page.frameLocator('#edge402-content-body iframe').locator('h1').textContent(), 'Paid article');
    assert.notEqual(await page.title(), 'pwned');
    await screenshot(page, '2b-paid-html');
    assert.deepEqual(problems.filter((p) => !/sandboxed|Blocked script execution/.test(p)), []);
  } finally {
    await context.close();
  }
});

test('a signature rejected in the wallet is a readable message, and nothing is sent', TEST_TIMEOUT, async () => {
  const wallet = testWallet(buyerKey(0), { chainId: CHAIN_ID(), rejectSignature: true });
  const before = await balances(wallet.account.address);
  const { context, page, requests } = await openPage(wallet);
  try {
    const result = await openAndPay(page, '/api/forecast');
    assert.equal(result.kind, 'error');
    assert.equal(result.message, 'You rejected the signature request in your wallet. Nothing was paid.');
    assert.ok(await page.locator('#edge402-pay').isEnabled(), 'the visitor can try again');
    await screenshot(page, '3-signature-rejected');
    assert.equal(requests.filter((r) => r.paymentSignature).length, 0);
    assert.deepEqual(await balances(wallet.account.address), before);
  } finally {
    await context.close();
  }
});

test('a wallet on another chain that refuses to switch: wrong network', TEST_TIMEOUT, async () => {
  const wallet = testWallet(buyerKey(0), { chainId: OTHER_CHAIN, refuseSwitch: true });
  const { context, page, requests } = await openPage(wallet);
  try {
    const result = await openAndPay(page, '/api/forecast');
    assert.equal(result.kind, 'error');
    assert.match(result.message, /^Wrong network: your wallet is on chain 1, and this payment is on Base Sepolia \(chain 84532\)\./);
    await screenshot(page, '4-wrong-network');
    assert.ok(wallet.state.calls.includes('wallet_switchEthereumChain'));
    assert.ok(!wallet.state.calls.includes('eth_signTypedData_v4'));
    assert.equal(requests.filter((r) => r.paymentSignature).length, 0);
  } finally {
    await context.close();
  }
});

test('a buyer without funds (after switching chains): the facilitator’s reason', TEST_TIMEOUT, async () => {
  const wallet = testWallet(generatePrivateKey(), { chainId: OTHER_CHAIN });
  const payToBefore = await all.stack.balanceOf(payTo());
  const { context, page, requests } = await openPage(wallet);
  try {
    const result = await openAndPay(page, '/api/forecast');
    assert.equal(result.kind, 'error');
    assert.equal(result.message, 'Insufficient funds: your wallet does not hold 0.001 USDC on Base Sepolia.');
    await screenshot(page, '5-insufficient-funds');
    assert.equal(wallet.state.chainId, CHAIN_ID(), 'the wallet was switched');
    assert.equal(requests.filter((r) => r.paymentSignature).length, 1, 'the payment was sent (it verifies locally)');
    assert.equal(await page.locator('#edge402-content').isVisible(), false);
    assert.equal(await all.stack.balanceOf(payTo()), payToBefore);
  } finally {
    await context.close();
  }
});

test('a browser is told from a bot: served free where people are, shown the paywall where they pay', TEST_TIMEOUT, async () => {
  const wallet = testWallet(buyerKey(1), { chainId: CHAIN_ID() });
  const before = await balances(wallet.account.address);
  const { context, page } = await openPage(wallet);
  try {
    const free = await page.goto(`${all.worker.url}/people/1`, { waitUntil: 'load' });
    assert.equal(free.status(), 200);
    assert.ok((await free.text()).includes(DEMO_MARKER));
    await screenshot(page, '7-free-for-people');
    const result = await openAndPay(page, '/people-pay/1');
    assert.equal(result.kind, 'ok', result.message);
    assert.ok((await page.locator('#edge402-content-body pre').textContent()).includes(DEMO_MARKER));
    await screenshot(page, '8-people-pay');
    const after = await balances(wallet.account.address);
    assert.equal(before.buyer - after.buyer, PRICE, 'the browser paid the route price');
  } finally {
    await context.close();
  }
  // A program that does not claim to be a browser is an unsigned bot: refused on both.
  for (const path of ['/people/1', '/people-pay/1']) {
    const bot = await fetch(`${all.worker.url}${path}`, { headers: { 'User-Agent': 'curl/8.5.0' } });
    assert.equal(bot.status, 403, path);
    assert.equal(bot.headers.get('crawler-error'), 'StrongAuthRequired');
    assert.equal((await bot.json()).error, 'signature_required');
  }
});

test('the facilitator down: a readable message, nothing paid', TEST_TIMEOUT, async () => {
  const wallet = testWallet(buyerKey(0), { chainId: CHAIN_ID() });
  const before = await balances(wallet.account.address);
  const { context, page } = await openPage(wallet);
  await all.stack.stopFacilitator();
  try {
    const result = await openAndPay(page, '/api/forecast');
    assert.equal(result.kind, 'error');
    assert.equal(result.message, 'The payment service (facilitator) is unavailable right now. Please try again later.');
    await screenshot(page, '6-facilitator-down');
    assert.deepEqual(await balances(wallet.account.address), before);
  } finally {
    await context.close();
    await all.stack.startFacilitator();
  }
});
