// End to end: paid MCP tools. The Worker (workerd under wrangler dev) sits in front of a real
// MCP server made with the official SDK (server.js: Streamable HTTP, stateless; `/mcp`
// answers in SSE streams, `/mcp-json` in JSON) and prices its tools; settlement goes
// through the local stack (stack/: chain, token, reference facilitator).
//
//   agent: official MCP SDK Client ──► edge402 Worker ──► MCP server (official SDK)
//          wrapped by Cloudflare's        │ prices tools/call, settles after the tool
//          withX402Client (agents)        └─► reference facilitator ──► local chain
//
// The paying client is `withX402Client` from Cloudflare's `agents` package: it is the
// published x402 MCP client on npm (the x402 project's own `@x402/mcp` is not published
// there), and it is the strictest one to serve: it reads the payment-required object only
// from `_meta["x402/error"]` and sends the payment as base64 text. The spec's form (an
// object in `_meta`) is sent by hand below, as are the hostile requests.
//
//   1. an agent lists the tools (prices shown), pays a tool over SSE and over JSON, once
//      each, and gets the settlement in the result; a free tool is free; a tool that fails
//      is not charged;
//   2. by hand: a batch holding a priced call, a payment for one tool presented on another,
//      a payment sent again (for the same call or another: the tool does not run twice),
//      malformed `_meta` payments, and a stream that breaks mid-way: each gets a JSON-RPC
//      or x402 error and nothing is charged for nothing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { x402Client } from '@x402/core/client';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { withX402Client } from 'agents/x402';
import { privateKeyToAccount } from 'viem/accounts';

import { START_TIMEOUT, TEST_TIMEOUT, TX_HASH, startWith, stopAll } from '../e2e/harness.js';
import { startMcpServer } from './server.js';

/** The tools' prices, in the token's 6-decimal units. */
const PRICES = { forecast: 10_000n, fail: 1_000n, broken: 1_000n, lookup: 2_000n };
const QUOTE_SECRET = 'mcp-e2e-quote-secret-of-32-bytes-or-more';
const REQUEST_TIMEOUT_MS = 20_000;

const all = {};
before(async () => {
  all.server = await startMcpServer();
  const tools = { forecast: '$0.01', fail: '$0.001', broken: '$0.001', lookup: 'dynamic' };
  Object.assign(all, await startWith((accepts) => [
    { match: '/', free: true },
    { match: '/mcp', description: 'weather tools', accepts, mcp: { tools } },
    { match: '/mcp-json', description: 'weather tools', accepts, mcp: { tools } },
  ], {
    origin: { url: all.server.url },
    pricing: { url: `${all.server.url}/price`, cache_s: 0 },
  }, { vars: { QUOTE_SECRET } }));
  allowStackToken(all.stack.info);
}, START_TIMEOUT);
after(async () => {
  await stopAll(all);
  await all.server?.stop();
});

/**
 * The x402 client pays only assets @x402/evm knows by default (USDC at its canonical
 * address) unless told otherwise, and `withX402Client` makes its own client without a way to
 * tell it; the stack's token is deployed at another address. Every x402Client here is
 * allowed that one token, as the other e2e tests allow it with `setSpendControls`.
 */
function allowStackToken(info) {
  const apply = x402Client.prototype.applySpendControls;
  x402Client.prototype.applySpendControls = function allowing(...args) {
    this.spendControls = { allowedAssets: [{ network: info.network, asset: info.token }] };
    return apply.apply(this, args);
  };
}

/** The stack's buyer `index` as an agent: the MCP SDK client on `path`, paying with agents' wrapper. */
async function agent(path, index) {
  const client = new Client({ name: 'edge402-e2e-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${all.worker.url}${path}`)));
  const account = privateKeyToAccount(all.stack.info.buyers[index].privateKey);
  return withX402Client(client, { account, network: all.stack.info.network });
}

/** A payment of `required` (a payment-required object) by the stack's buyer `index`, made by the official x402 client. */
async function payment(required, index) {
  const account = privateKeyToAccount(all.stack.info.buyers[index].privateKey);
  const client = new x402Client().register(all.stack.info.network, new ExactEvmScheme(account));
  return client.createPaymentPayload(required);
}

/** One JSON-RPC request to the Worker by hand; the answer's last message, parsed. */
async function rpc(path, body) {
  const response = await fetch(`${all.worker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const json = type.startsWith('text/event-stream')
    ? text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).at(-1)
    : text;
  return { status: response.status, type, text, message: json ? JSON.parse(json) : undefined };
}

/** A `tools/call` of `name` with `args`, with `payment` in `_meta` when given. */
function call(id, name, args, payment) {
  const params = { name, arguments: args };
  if (payment !== undefined) params._meta = { 'x402/payment': payment };
  return { jsonrpc: '2.0', id, method: 'tools/call', params };
}

/** The payment-required object of a tool result, checked to be the same in every place clients look. */
function requiredOf(message) {
  const { result } = message;
  assert.equal(result?.isError, true, JSON.stringify(message));
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
  assert.deepEqual(result._meta['x402/error'], result.structuredContent);
  return result.structuredContent;
}

/** The offer of an unpaid call of `name` (by hand). */
async function offer(name) {
  return requiredOf((await rpc('/mcp-json', call(1, name, name === 'forecast' ? { city: 'Lisbon' } : {}))).message);
}

const settles = () => all.stack.settleCalls();
const balances = (index) => all.stack.balances({ buyer: all.stack.info.buyers[index].address, payTo: all.stack.info.payTo });
const runsOf = (tool) => all.server.runs.filter((run) => run.tool === tool).length;

describe('an agent pays for tools', () => {
  for (const [path, form] of [['/mcp', 'SSE'], ['/mcp-json', 'JSON']]) {
    test(`over ${form}: the tools are listed with their prices, and a paid call settles once and answers with the settlement`, TEST_TIMEOUT, async () => {
      const client = await agent(path, 0);
      try {
        const { tools } = await client.listTools();
        const forecast = tools.find((tool) => tool.name === 'forecast');
        assert.match(forecast.description, /you will be charged \$0\.01/);
        assert.equal(forecast._meta['agents-x402/priceUSD'], 0.01);
        assert.equal(forecast._meta['x402/accepts'][0].amount, String(PRICES.forecast));
        assert.doesNotMatch(tools.find((tool) => tool.name === 'echo').description, /paid tool/);

        const before = await balances(0);
        const settled = settles();
        const result = await client.callTool(null, { name: 'forecast', arguments: { city: 'Lisbon' } });
        assert.equal(result.isError, undefined, JSON.stringify(result));
        assert.deepEqual(result.structuredContent, { city: 'Lisbon', celsius: 21 });
        const settlement = result._meta['x402/payment-response'];
        assert.equal(settlement.success, true, JSON.stringify(settlement));
        assert.match(settlement.transaction, TX_HASH);
        assert.equal(settles(), settled + 1);
        const now = await balances(0);
        assert.equal(now.buyer, before.buyer - PRICES.forecast);
        assert.equal(now.payTo, before.payTo + PRICES.forecast);
      } finally {
        await client.close();
      }
    });
  }

  test('a tool priced per call is charged what the pricing endpoint says, asked with the tool\'s name', TEST_TIMEOUT, async () => {
    const client = await agent('/mcp', 1);
    try {
      const { tools } = await client.listTools();
      assert.match(tools.find((tool) => tool.name === 'lookup').description, /charged an unknown amount/);
      const before = await balances(1);
      const asked = all.server.pricing.asks.length;
      const result = await client.callTool(null, { name: 'lookup', arguments: { word: 'edge' } });
      assert.equal(result.content[0].text, 'edge: a word');
      assert.equal(result._meta['x402/payment-response'].success, true);
      const ask = all.server.pricing.asks.at(-1);
      assert.deepEqual(ask, { route: '/mcp', method: 'POST', path: '/mcp', tool: 'lookup' });
      // Asked for the 402 only: the paid call carries the quote it was offered.
      assert.equal(all.server.pricing.asks.length, asked + 1);
      const now = await balances(1);
      assert.equal(now.buyer, before.buyer - PRICES.lookup);
    } finally {
      await client.close();
    }
  });

  test('a free tool is served without payment, and a tool that fails is not charged', TEST_TIMEOUT, async () => {
    const client = await agent('/mcp', 1);
    try {
      const before = await balances(1);
      const settled = settles();
      const echo = await client.callTool(null, { name: 'echo', arguments: { text: 'hello' } });
      assert.equal(echo.content[0].text, 'hello');
      const failed = await client.callTool(null, { name: 'fail', arguments: {} });
      assert.equal(failed.isError, true);
      assert.equal(failed.content[0].text, 'the tool failed');
      assert.equal(failed._meta?.['x402/payment-response'], undefined);
      assert.equal(settles(), settled);
      assert.deepEqual(await balances(1), before);
    } finally {
      await client.close();
    }
  });
});

describe('hostile calls, by hand', () => {
  test('an unpaid call keeps its id, and a batch holding a priced call is refused whole', TEST_TIMEOUT, async () => {
    const unpaid = await rpc('/mcp', call('call-7', 'forecast', { city: 'Lisbon' }));
    assert.equal(unpaid.status, 200);
    assert.equal(unpaid.message.id, 'call-7');
    const required = requiredOf(unpaid.message);
    assert.equal(required.resource.url, 'mcp://tool/forecast');
    assert.equal(required.accepts[0].amount, String(PRICES.forecast));

    const runs = all.server.runs.length;
    const batch = await rpc('/mcp', [{ jsonrpc: '2.0', id: 1, method: 'ping' }, call(2, 'forecast', { city: 'Lisbon' })]);
    assert.equal(batch.status, 200);
    assert.equal(batch.message.error.code, -32600);
    assert.equal(batch.message.error.data.error, 'invalid_mcp_request');
    assert.equal(all.server.runs.length, runs, 'the server was not asked');
  });

  test('a payment for one tool is refused on another, with no facilitator call', TEST_TIMEOUT, async () => {
    const paid = await payment(await offer('forecast'), 2);
    const settled = settles();
    const runs = runsOf('fail');
    const answer = await rpc('/mcp-json', call(3, 'fail', {}, paid));
    const required = requiredOf(answer.message);
    assert.equal(required.error, 'resource_mismatch');
    assert.equal(required.resource.url, 'mcp://tool/fail');
    assert.equal(runsOf('fail'), runs);
    assert.equal(settles(), settled);
  });

  test('a payment pays one call: sent again, with the same call or another, it is refused and the tool does not run', TEST_TIMEOUT, async () => {
    const before = await balances(2);
    const paid = await payment(await offer('forecast'), 2);
    // The spec's form: the payment object itself in _meta.
    const first = await rpc('/mcp-json', call(4, 'forecast', { city: 'Porto' }, paid));
    assert.equal(first.message.result._meta['x402/payment-response'].success, true, first.text);
    const settled = settles();
    const runs = runsOf('forecast');
    for (const [id, city] of [[5, 'Porto'], [6, 'Faro']]) {
      const again = await rpc('/mcp-json', call(id, 'forecast', { city }, paid));
      assert.equal(again.message.id, id);
      assert.equal(requiredOf(again.message).error, 'payment_already_used');
    }
    assert.equal(runsOf('forecast'), runs, 'the tool did not run again');
    assert.equal(settles(), settled);
    const now = await balances(2);
    assert.equal(now.buyer, before.buyer - PRICES.forecast, 'one charge');
  });

  test('malformed payments in _meta get x402 errors, with no facilitator call and no tool run', TEST_TIMEOUT, async () => {
    const paid = await payment(await offer('forecast'), 1);
    const forged = structuredClone(paid);
    forged.payload.authorization.value = '1';
    const cases = [
      [5, 'invalid_payload'],
      ['not base64 !', 'invalid_payload'],
      [{ x402Version: 2 }, 'invalid_payload'],
      [forged, 'invalid_exact_evm_signature'],
    ];
    const settled = settles();
    const runs = runsOf('forecast');
    for (const [bad, reason] of cases) {
      const answer = await rpc('/mcp-json', call(7, 'forecast', { city: 'Lisbon' }, bad));
      assert.equal(answer.status, 200);
      assert.equal(requiredOf(answer.message).error, reason, JSON.stringify(bad));
    }
    assert.equal(runsOf('forecast'), runs);
    assert.equal(settles(), settled);
  });

  test('a stream that breaks before the response charges nothing, and the payment stays good', TEST_TIMEOUT, async () => {
    const { buyers } = all.stack.info;
    const paid = await payment(await offer('broken'), 1);
    const before = await balances(1);
    const settled = settles();
    const answer = await rpc('/mcp', call(8, 'broken', {}, paid));
    assert.equal(answer.status, 200);
    assert.equal(answer.message.id, 8);
    assert.equal(answer.message.error.data.error, 'origin_unavailable', answer.text);
    assert.equal(runsOf('broken') > 0, true, 'the tool ran');
    assert.equal(settles(), settled);
    assert.deepEqual(await balances(1), before);
    assert.equal(await all.stack.nonceUsed(buyers[1].address, paid.payload.authorization.nonce), false);
  });
});
