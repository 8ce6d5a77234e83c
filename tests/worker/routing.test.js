// Routing, challenges and CORS of the Worker under wrangler dev, without any payment: free
// paths pass through at their canonical path, paid paths answer a 402 both protocol versions
// read, and no spelling or method of a paid path reaches the origin unpaid.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertNoCalls, assertNothingServed, ORIGIN_MARKER, ORIGIN_SECRET, ORIGIN_SECRET_HEADER, PAY_TO,
  TEST_TIMEOUT, useStack,
} from './helpers.js';
import { challengeOf } from './x402-client.js';

const stack = useStack();

const BASE_SEPOLIA_USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

test('a free path passes through to the origin at its canonical path', TEST_TIMEOUT, async () => {
  const { worker, origin, facilitator } = stack;
  const health = await worker.get('/health?probe=1');
  assert.equal(health.status, 200, String(health));
  assert.deepEqual(health.json(), { marker: ORIGIN_MARKER, method: 'GET', path: '/health?probe=1' });
  // An unconfigured path is free too; the origin gets it without doubled slashes and dots.
  const unpriced = await worker.get('/unpriced//a/./b/%2e%2e/c');
  assert.equal(unpriced.status, 200, String(unpriced));
  assert.deepEqual(origin.paths(), ['/health?probe=1', '/unpriced/a/c']);
  assert.deepEqual(facilitator.calls, []);
});

test('a paid path without payment gets a 402 that v1 and v2 clients both read', TEST_TIMEOUT, async () => {
  const { worker } = stack;
  const reply = await worker.get('/api/weather');
  assert.equal(reply.status, 402, String(reply));
  assert.equal(reply.header('Cache-Control'), 'no-store');
  assert.equal(reply.header('Access-Control-Allow-Origin'), '*');
  const exposed = reply.header('Access-Control-Expose-Headers').split(',').map((h) => h.trim());
  for (const name of ['PAYMENT-REQUIRED', 'PAYMENT-RESPONSE', 'X-PAYMENT-RESPONSE']) {
    assert.ok(exposed.includes(name), `${name} is not exposed: ${exposed}`);
  }

  const resource = `${worker.url}/api/weather`;
  const extra = { name: 'USDC', version: '2' };
  const { v1, v2 } = challengeOf(reply);
  assert.deepEqual(v1, {
    x402Version: 1,
    error: 'payment_required',
    accepts: [{
      scheme: 'exact', network: 'base-sepolia', maxAmountRequired: '1000', asset: BASE_SEPOLIA_USDC,
      payTo: PAY_TO, resource, description: 'Test data', mimeType: 'application/json',
      maxTimeoutSeconds: 60, extra,
    }],
  });
  assert.deepEqual(v2, {
    x402Version: 2,
    error: 'payment_required',
    resource: { url: resource, description: 'Test data', mimeType: 'application/json' },
    // Exactly the v2 requirement fields: a client echoes this object back as `accepted`.
    accepts: [{
      scheme: 'exact', network: 'eip155:84532', amount: '1000', asset: BASE_SEPOLIA_USDC,
      payTo: PAY_TO, maxTimeoutSeconds: 60, extra,
    }],
  });
  assertNoCalls(stack);
});

test('a CORS preflight is answered by the gateway and never charged', TEST_TIMEOUT, async () => {
  const { worker } = stack;
  const reply = await worker.request('OPTIONS', '/api/weather', {
    headers: {
      Origin: 'https://app.example',
      'Access-Control-Request-Method': 'GET',
      'Access-Control-Request-Headers': 'payment-signature',
    },
  });
  assert.equal(reply.status, 204, String(reply));
  assert.equal(reply.header('Access-Control-Allow-Origin'), '*');
  const allowed = reply.header('Access-Control-Allow-Headers').toLowerCase();
  for (const name of ['payment-signature', 'x-payment', 'authorization']) {
    assert.ok(allowed.includes(name), `${name} is not allowed: ${allowed}`);
  }
  assert.match(reply.header('Access-Control-Allow-Methods'), /\bGET\b/);
  assert.equal(reply.header('PAYMENT-REQUIRED'), undefined);
  assertNoCalls(stack);
});

test('a CORS preflight on a free or unrouted path is the origin\'s to answer', TEST_TIMEOUT, async () => {
  const { worker, origin } = stack;
  const headers = { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PUT' };
  for (const path of ['/health', '/unpriced/x']) {
    const reply = await worker.request('OPTIONS', path, { headers });
    assert.equal(reply.status, 200, `${path}: ${reply}`);
    assert.equal(reply.json().marker, ORIGIN_MARKER, path);
  }
  assert.deepEqual(origin.requests.map((r) => `${r.method} ${r.path}`), ['OPTIONS /health', 'OPTIONS /unpriced/x']);
  assert.deepEqual(stack.facilitator.calls, []);
});

test('method- and path-override headers never reach the origin, in any spelling', TEST_TIMEOUT, async () => {
  const overrides = {
    'X-HTTP-Method-Override': 'DELETE', 'X-HTTP-Method': 'DELETE', 'X-Method-Override': 'PUT',
    'X-Original-URL': '/api/x', 'X-Rewrite-URL': '/api/x',
    // CGI-style origins read `_` as `-`.
    X_HTTP_Method_Override: 'DELETE', x_original_url: '/api/x',
  };
  const reply = await stack.worker.request('POST', '/health', { headers: overrides, body: '{}' });
  assert.equal(reply.status, 200, String(reply));
  const [forwarded] = stack.origin.requests;
  assert.equal(forwarded.method, 'POST');
  for (const name of Object.keys(overrides)) {
    assert.equal(forwarded.headers[name.toLowerCase()], undefined, `${name} was forwarded`);
  }
});

test('the origin gets the gateway\'s secret on every request, never a client\'s copy', TEST_TIMEOUT, async () => {
  await stack.worker.get('/health', { [ORIGIN_SECRET_HEADER]: 'forged-by-the-client' });
  await stack.worker.get('/unpriced/x');
  for (const forwarded of stack.origin.requests) {
    assert.equal(forwarded.headers[ORIGIN_SECRET_HEADER], ORIGIN_SECRET, forwarded.path);
  }
  assert.equal(stack.origin.requests.length, 2);
});

test('a redirect into the origin points the client at the gateway', TEST_TIMEOUT, async () => {
  const reply = await stack.worker.get('/moved/weather?city=Oslo');
  assert.equal(reply.status, 302, String(reply));
  assert.equal(reply.header('Location'), `${stack.worker.url}/api/weather?city=Oslo`);
  // The redirect's target is priced like any request for it.
  const followed = await stack.worker.get(new URL(reply.header('Location')).pathname);
  assert.equal(followed.status, 402, String(followed));
});

test('every spelling of a paid path is challenged, never served', TEST_TIMEOUT, async () => {
  const spellings = [
    '/api/x', '/API/x', '/Api/X', '/%61pi/x', '/%41PI/x', '/%61%70%69/x', '//api/x', '/api//x',
    '/x/../api/x', '/./api/x', '/api/%2e%2e/api/x', '/api/%2E%2E/api/x', '/api/x/.', '/api',
    '/api/', '/api/x?free=true',
    // A raw backslash is a slash to the URL parser of workerd, before the gateway sees it.
    '/api\\x',
  ];
  for (const path of spellings) {
    const reply = await stack.worker.get(path);
    assert.equal(reply.status, 402, `${path}: ${reply}`);
    assertNothingServed(reply);
  }
  // HEAD is priced like GET.
  assert.equal((await stack.worker.request('HEAD', '/API/x')).status, 402);
  assertNoCalls(stack);
});

test('encoded slashes, backslashes, control characters and foldable segment ends are refused with 400', TEST_TIMEOUT, async () => {
  const refused = [
    '/api%2Fx', '/api%2fx', '/api%5Cx', '/api%5cx', '/api%00', '/api/x%00', '/api/%zz',
    // Segments an IIS or Windows origin would strip to `/api/x`, and controls it may fold.
    '/api/x.', '/api/x%2E', '/api/x..', '/api/x%20', '/api./x', '/api/x%09', '/api%0A/x', '/health.',
  ];
  for (const path of refused) {
    const reply = await stack.worker.get(path);
    assert.equal(reply.status, 400, `${path}: ${reply}`);
    assert.equal(reply.json().error, 'invalid_path', path);
    assertNothingServed(reply);
  }
  assertNoCalls(stack);
});

test('another method on a GET-only paid path is refused with 405, never forwarded', TEST_TIMEOUT, async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const reply = await stack.worker.request(method, '/api/x', { body: '{}' });
    assert.equal(reply.status, 405, `${method}: ${reply}`);
    assert.equal(reply.header('Allow'), 'GET');
    assertNothingServed(reply);
  }
  // An OPTIONS that is not a preflight is just another method.
  assert.equal((await stack.worker.request('OPTIONS', '/api/x')).status, 405);
  assertNoCalls(stack);
});

test('a payment header on a free path changes nothing and is not forwarded', TEST_TIMEOUT, async () => {
  const reply = await stack.worker.get('/health', { 'PAYMENT-SIGNATURE': 'not even base64 %%%' });
  assert.equal(reply.status, 200, String(reply));
  const [forwarded] = stack.origin.requests;
  assert.equal(forwarded.headers['payment-signature'], undefined);
  assert.deepEqual(stack.facilitator.calls, []);
});

test('an L402 credential is not forwarded to the origin; another Authorization is', TEST_TIMEOUT, async () => {
  await stack.worker.get('/health', { Authorization: 'L402 AgEEbHNhdA:00' });
  await stack.worker.get('/health', { Authorization: 'Bearer origin-token' });
  const [l402, bearer] = stack.origin.requests;
  assert.equal(l402.headers.authorization, undefined);
  assert.equal(bearer.headers.authorization, 'Bearer origin-token');
});

test('log lines: plain challenges and free pass-throughs are not logged by default, refusals are', TEST_TIMEOUT, async () => {
  const { worker } = stack;
  assert.equal((await worker.get('/health?log-probe=free')).status, 200);
  assert.equal((await worker.get('/api/log-probe-challenge')).status, 402);
  const bad = await worker.get('/api/log-probe-refused', { 'PAYMENT-SIGNATURE': 'not base64 at all!' });
  assert.equal(bad.status, 400, String(bad));
  const logged = await worker.logLines('log-probe', (line) => line.path === '/api/log-probe-refused');
  assert.deepEqual(logged.map((l) => [l.path, l.outcome, l.reason]), [['/api/log-probe-refused', 'rejected', 'invalid_payload']]);
  // Refused before any call: nothing was waited for.
  assert.deepEqual(Object.keys(logged[0]).filter((key) => key.endsWith('_ms')), []);
});
