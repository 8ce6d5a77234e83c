// L402 end to end: the built Worker in workerd under wrangler dev, with invoices from a
// stand-in for LND's REST API (lnd-stand-in.js) and, for the route that sells both
// protocols, x402 payments settled by the facilitator double. The HTTP twin of the L402
// tests of tests/gate.rs:
//
//   test ──HTTP──► wrangler dev (build/index.js) ──POST /v1/invoices──► LND stand-in
//     │                  │                        ──► origin double, facilitator double
//     └── "pays": asks the stand-in, in this process, for the invoice's preimage
//
// One Worker for the whole file; every request that may create an invoice comes from its
// own CF-Connecting-IP, so the invoice limits (3 fresh invoices a minute per client, 60 per
// route; a client asking again is sent its invoice again) only bite where a test means them to.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  assertNothingServed, ORIGIN_MARKER, PAY_TO, startFacilitatorDouble, startOriginDouble, startWorker,
  TEST_TIMEOUT,
} from './helpers.js';
import { startLndStandIn } from './lnd-stand-in.js';
import { challengeOf, decodeHeader, payFor } from './x402-client.js';

/** The Worker's secrets, passed as `--var` string bindings (read with `env.secret`). */
const L402_ROOT_SECRET = randomBytes(32).toString('hex');
const LND_MACAROON = randomBytes(48).toString('hex');
const INVOICES_PER_MINUTE = 3;
const INVOICES_PER_ROUTE_PER_MINUTE = 60;
/** The short-lived route's token lifetime: waited out by the expiry test. */
const FLASH_VALID_FOR_S = 2;

const ROUTES = [
  { match: 'GET /ln/*', l402: { price_sats: 10, service: 'weather', valid_for_s: 600 } },
  { match: 'GET /flash/*', l402: { price_sats: 1, service: 'flash', valid_for_s: FLASH_VALID_FOR_S } },
  { match: 'GET /metered/*', l402: { price_sats: 1, service: 'metered', max_requests: 2 } },
  { match: 'GET /capped/*', l402: { price_sats: 1, service: 'capped' } },
  {
    match: 'GET /both/*', price: '$0.001', description: 'Both protocols',
    accepts: [{ network: 'base-sepolia', pay_to: PAY_TO }],
    l402: { price_sats: 5, service: 'both', capabilities: ['read'] },
  },
];

// ---------------------------------------------------------------------------------------------
// The stack: origin and facilitator doubles, the LND stand-in, the Worker

const stack = {};

before(async () => {
  const stoppers = [];
  stack.stop = async () => {
    for (const stopOne of stoppers.reverse()) await stopOne();
  };
  stack.origin = await startOriginDouble();
  stoppers.push(stack.origin.stop);
  stack.facilitator = await startFacilitatorDouble();
  stoppers.push(stack.facilitator.stop);
  stack.lnd = await startLndStandIn({ macaroonHex: LND_MACAROON });
  stoppers.push(stack.lnd.stop);
  const config = {
    // This Worker also refuses method overrides (the shared suite's strips them).
    origin: { url: stack.origin.url, method_override: 'refuse' },
    facilitator: { url: stack.facilitator.url, verify_timeout_ms: 2_000, settle_timeout_ms: 2_000 },
    receipt_ttl_s: 120,
    lightning: {
      url: stack.lnd.url, timeout_ms: 2_000, invoices_per_minute: INVOICES_PER_MINUTE,
      invoices_per_route_per_minute: INVOICES_PER_ROUTE_PER_MINUTE,
    },
    routes: ROUTES,
  };
  stack.worker = await startWorker(config, { vars: { L402_ROOT_SECRET, LND_MACAROON } });
  stoppers.push(stack.worker.stop);
}, { timeout: 60_000 });

beforeEach(() => {
  stack.origin.reset();
  stack.facilitator.reset();
  stack.lnd.reset();
});

after(() => stack.stop?.());

// ---------------------------------------------------------------------------------------------
// Clients

let clients = 0;
/** A client address nobody used before (so it has its whole invoice allowance). */
const freshClientIp = () => {
  clients += 1;
  return `198.18.${clients >> 8}.${clients & 255}`;
};

/** A GET from a fresh client address unless the headers name one. */
const get = (path, headers = {}) =>
  stack.worker.get(path, { 'CF-Connecting-IP': freshClientIp(), ...headers });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Reading the L402 challenge

/**
 * The challenges of the WWW-Authenticate header lines, in order. A line may hold several
 * challenges folded with ", " (as intermediaries and runtimes may join repeated header
 * lines): a new one starts at a comma outside quotes followed by `<scheme> <name>=`.
 */
function challengesOf(reply) {
  const split = (line) => {
    const parts = [];
    let start = 0;
    let quoted = false;
    for (let i = 0; i < line.length; i += 1) {
      const c = line[i];
      if (quoted) {
        if (c === '\\') i += 1;
        else if (c === '"') quoted = false;
      } else if (c === '"') {
        quoted = true;
      } else if (c === ',' && /^\s*[\w!#$%&'*+.^`|~-]+\s+[\w!#$%&'*+.^`|~-]+\s*=/.test(line.slice(i + 1))) {
        parts.push(line.slice(start, i).trim());
        start = i + 1;
      }
    }
    parts.push(line.slice(start).trim());
    return parts;
  };
  return reply.headerValues('WWW-Authenticate').flatMap(split);
}

/** Aperture's form of one challenge value, exactly. */
const APERTURE_FORM = /^(LSAT|L402) macaroon="([A-Za-z0-9+/]+={0,2})", invoice="(lnbcrt[0-9]+n1[02-9ac-hj-np-z]+)"$/;

/**
 * Checks an L402 challenge as aperture sends it (LSAT value first, then L402, the same
 * macaroon and invoice, `Cache-Control: no-store`, WWW-Authenticate exposed to browsers), that
 * its invoice is the stand-in's, and returns what a client needs to pay and use it.
 */
function l402ChallengeOf(reply, { sats } = {}) {
  assert.equal(reply.status, 402, String(reply));
  const values = challengesOf(reply);
  assert.equal(values.length, 2, `two challenges: ${JSON.stringify(reply.headerValues('WWW-Authenticate'))}`);
  const [lsat, l402] = values.map((value) => value.match(APERTURE_FORM));
  assert.ok(lsat && l402, `aperture's form: ${JSON.stringify(values)}`);
  assert.deepEqual([lsat[1], l402[1]], ['LSAT', 'L402'], 'LSAT first, then L402');
  assert.deepEqual(lsat.slice(2), l402.slice(2), 'both values carry the same macaroon and invoice');
  assert.equal(reply.header('Cache-Control'), 'no-store');
  assert.equal(reply.header('Access-Control-Allow-Origin'), '*');
  assert.ok(
    reply.header('Access-Control-Expose-Headers').split(',').map((h) => h.trim().toLowerCase()).includes('www-authenticate'),
    reply.header('Access-Control-Expose-Headers'),
  );
  const [, , macaroon, invoice] = l402;
  const token = parseMacaroon(macaroon);
  const stood = stack.lnd.invoiceFor(token.paymentHash);
  assert.ok(stood, 'the payment hash is that of an invoice the LND stand-in issued');
  assert.equal(invoice, stood.paymentRequest, 'the invoice is the one the node made');
  if (sats !== undefined) assert.equal(stood.sats, sats);
  return { macaroon, invoice, token, preimage: stack.lnd.preimageFor(token.paymentHash) };
}

/** `Authorization` for a token and preimage. */
const credential = (macaroon, preimage, scheme = 'L402') => `${scheme} ${macaroon}:${preimage}`;

/** A paid token for `path`: its challenge read and its invoice "paid". */
async function paidToken(path) {
  const challenge = l402ChallengeOf(await get(path));
  return { ...challenge, authorization: credential(challenge.macaroon, challenge.preimage) };
}

// ---------------------------------------------------------------------------------------------
// Macaroons, read and attenuated by hand (V2 binary; go-macaroon's HMAC chain)

/**
 * Reads a V2 macaroon: `02 [01 loc] 02 id 00 {[01 loc] 02 caveat [04 vid] 00} 00 06 20 sig`.
 * The identifier is `u16 version || payment_hash[32] || token_id[32]`.
 */
function parseMacaroon(b64) {
  const bytes = Buffer.from(b64, 'base64');
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return value;
    }
  };
  const field = (type) => {
    if (bytes[at] !== type) return undefined;
    at += 1;
    const len = varint();
    at += len;
    return bytes.subarray(at - len, at);
  };
  assert.equal(bytes[at++], 2, 'a V2 macaroon');
  const location = field(1)?.toString('utf8');
  const identifier = field(2);
  assert.equal(bytes[at++], 0);
  const caveats = [];
  while (bytes[at] !== 0) {
    field(1);
    caveats.push(field(2).toString('utf8'));
    assert.equal(field(4), undefined, 'no third-party caveats');
    assert.equal(bytes[at++], 0);
  }
  at += 1;
  const signature = field(6);
  assert.equal(signature.length, 32);
  assert.equal(at, bytes.length, 'nothing after the signature');
  assert.equal(identifier.length, 66);
  assert.equal(identifier.readUInt16BE(0), 0, 'identifier version 0');
  return {
    bytes,
    location,
    caveats,
    signature,
    paymentHash: identifier.subarray(2, 34).toString('hex'),
    tokenId: identifier.subarray(34, 66).toString('hex'),
  };
}

const varintBytes = (n) => {
  const out = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.from(out);
};

/**
 * The macaroon with a first-party caveat appended. `resign` moves the signature along the
 * chain (`sig' = HMAC(sig, caveat)`), which any holder can do; without it the old signature
 * stays, as a naive forger would leave it.
 */
function withCaveat(b64, caveat, { resign = true } = {}) {
  const { bytes, signature } = parseMacaroon(b64);
  const tail = bytes.subarray(bytes.length - 35); // 00 (end of caveats) 06 20 <signature>
  assert.deepEqual([...tail.subarray(0, 3)], [0, 6, 32]);
  const text = Buffer.from(caveat, 'utf8');
  const newSignature = resign ? createHmac('sha256', signature).update(text).digest() : signature;
  return Buffer.concat([
    bytes.subarray(0, bytes.length - 35),
    Buffer.from([2]), varintBytes(text.length), text, Buffer.from([0]),
    Buffer.from([0, 6, 32]), newSignature,
  ]).toString('base64');
}

/** The macaroon with byte `index` (negative: from the end) XOR-ed with `mask`. */
function withFlippedByte(b64, index, mask = 0x01) {
  const bytes = Buffer.from(b64, 'base64');
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] ^= mask;
  return bytes.toString('base64');
}

/** The macaroon with the first occurrence of `from` (ASCII, same length) replaced by `to`. */
function withBytesReplaced(b64, from, to) {
  assert.equal(from.length, to.length);
  const bytes = Buffer.from(b64, 'base64');
  const at = bytes.indexOf(Buffer.from(from, 'utf8'));
  assert.ok(at >= 0, `${from} is in the macaroon`);
  Buffer.from(to, 'utf8').copy(bytes, at);
  return bytes.toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** The origin's answer to a GET of `path`. */
const originContent = (path) => ({ marker: ORIGIN_MARKER, method: 'GET', path });

/** Served by the origin, over L402: no facilitator call. */
function assertServed(reply, path) {
  assert.equal(reply.status, 200, String(reply));
  assert.deepEqual(reply.json(), originContent(path));
  assert.match(reply.header('Cache-Control'), /no-store/);
  assert.equal(reply.header('WWW-Authenticate'), undefined);
  assert.deepEqual(stack.facilitator.calls, [], 'L402 needs no facilitator');
}

/**
 * A refused credential: a 402 with `invalid_l402_credential` and a fresh L402 challenge (a new
 * invoice and token), nothing served, the origin not called.
 */
function assertFreshChallenge(reply, refused) {
  assert.equal(reply.status, 402, String(reply));
  assert.equal(reply.json().error, 'invalid_l402_credential', String(reply));
  const fresh = l402ChallengeOf(reply);
  assert.notEqual(fresh.token.paymentHash, refused.token.paymentHash, 'a new invoice');
  assert.notEqual(fresh.token.tokenId, refused.token.tokenId, 'a new token');
  assertNothingServed(reply);
  assert.deepEqual(stack.origin.paths(), [], 'nothing reached the origin');
  return fresh;
}

// ---------------------------------------------------------------------------------------------
// Tests

describe('an L402-only route', () => {
  test('answers 402 with an invoice from the LND stand-in and a token in aperture\'s form', TEST_TIMEOUT, async () => {
    const reply = await get('/ln/forecast');
    const { token } = l402ChallengeOf(reply, { sats: 10 });
    assert.deepEqual(reply.json(), { error: 'payment_required' });
    assert.equal(reply.header('PAYMENT-REQUIRED'), undefined, 'no x402 offer on an L402-only route');
    assertNothingServed(reply);
    assert.deepEqual(stack.origin.paths(), []);

    // The node was asked once, as LND's REST API is: macaroon header, memo and value.
    const [call, ...more] = stack.lnd.requests;
    assert.deepEqual(more, []);
    assert.deepEqual([call.method, call.path, call.status], ['POST', '/v1/invoices', 200]);
    assert.equal(call.macaroon, LND_MACAROON);
    assert.equal(call.body.value, '10');
    assert.equal(typeof call.body.memo, 'string');

    // The token as aperture mints it.
    const validUntil = Number(token.caveats[2]?.split('=')[1]);
    assert.equal(token.location, 'lsat');
    assert.deepEqual(token.caveats, ['services=weather:0', 'weather_capabilities=', `weather_valid_until=${validUntil}`]);
    const lifetime = validUntil - Date.now() / 1000;
    assert.ok(lifetime > 590 && lifetime <= 601, `valid for 600 s (${lifetime})`);
  });

  test('serves the paid credential, with the L402 and the LSAT scheme, folded or not', TEST_TIMEOUT, async () => {
    const { macaroon, preimage, authorization } = await paidToken('/ln/forecast');
    assertServed(await get('/ln/forecast', { Authorization: authorization }), '/ln/forecast');
    // A bearer token: reusable until it expires, on any path of its service.
    assertServed(await get('/ln/other', { Authorization: authorization }), '/ln/other');
    assertServed(await get('/ln/forecast', { Authorization: credential(macaroon, preimage, 'LSAT') }), '/ln/forecast');
    // Clients built on aperture send an LSAT and an L402 value, which arrive folded.
    const folded = `${credential(macaroon, preimage, 'LSAT')}, ${credential(macaroon, preimage, 'L402')}`;
    assertServed(await get('/ln/forecast', { Authorization: folded }), '/ln/forecast');
    // Upper-case hex, and attenuations any holder may add: a narrower expiry, a preimage caveat.
    assertServed(await get('/ln/forecast', { Authorization: credential(macaroon, preimage.toUpperCase()) }), '/ln/forecast');
    const narrower = withCaveat(macaroon, `weather_valid_until=${Math.floor(Date.now() / 1000) + 60}`);
    assertServed(await get('/ln/forecast', { Authorization: credential(narrower, preimage) }), '/ln/forecast');
    const withPreimage = withCaveat(macaroon, `preimage=${preimage}`);
    assertServed(await get('/ln/forecast', { Authorization: credential(withPreimage, preimage) }), '/ln/forecast');
    assert.deepEqual(stack.origin.paths(), Array(7).fill('/ln/forecast').fill('/ln/other', 1, 2));
    // The origin never sees a payment header of x402.
    assert.ok(stack.origin.requests.every((r) => r.headers['payment-signature'] === undefined));
  });

  test('refuses folded values that do not agree, even if each is a paid token', TEST_TIMEOUT, async () => {
    const first = await paidToken('/ln/a');
    const second = await paidToken('/ln/b');
    stack.origin.reset();
    const folded = `${credential(first.macaroon, first.preimage, 'LSAT')}, ${credential(second.macaroon, second.preimage)}`;
    assertFreshChallenge(await get('/ln/a', { Authorization: folded }), first);
  });
});

describe('a bad credential gets a fresh 402 with a new L402 challenge', () => {
  let token; // a paid token for /ln/*
  before(async () => {
    token = await paidToken('/ln/x');
  });

  const cases = [
    ['wrong preimage (random)', ({ macaroon }) => credential(macaroon, randomBytes(32).toString('hex'))],
    ['wrong preimage (of another paid invoice)', async ({ macaroon }) => credential(macaroon, (await paidToken('/ln/y')).preimage)],
    ['signature byte flipped', ({ macaroon, preimage }) => credential(withFlippedByte(macaroon, -1), preimage)],
    ['expiry rewritten in place', ({ macaroon, preimage }) => credential(withBytesReplaced(macaroon, 'weather_valid_until=1', 'weather_valid_until=9'), preimage)],
    ['caveat appended without re-signing', ({ macaroon, preimage }) => credential(withCaveat(macaroon, 'weather_valid_until=99999999999', { resign: false }), preimage)],
    ['widening expiry appended (re-signed)', ({ macaroon, preimage }) => credential(withCaveat(macaroon, 'weather_valid_until=99999999999'), preimage)],
    ['widening services appended (re-signed)', ({ macaroon, preimage }) => credential(withCaveat(macaroon, 'services=weather:0,both:0'), preimage)],
    ['another service narrowed to (re-signed)', ({ macaroon, preimage }) => credential(withCaveat(macaroon, 'services=both:0'), preimage)],
    ['a token for another route\'s service', async () => (await paidToken('/both/x')).authorization],
    ['not a credential', () => 'L402 garbage'],
  ];

  for (const [what, makeCredential] of cases) {
    test(what, TEST_TIMEOUT, async () => {
      assert.ok(token, 'needs the paid token');
      const authorization = await makeCredential(token);
      stack.origin.reset();
      assertFreshChallenge(await get('/ln/x', { Authorization: authorization }), token);
      // The original stays good: the refusals were about the altered copies.
      assertServed(await get('/ln/x', { Authorization: token.authorization }), '/ln/x');
    });
  }

  test('an expired token (valid_for_s 2, waited out)', TEST_TIMEOUT, async () => {
    const flash = await paidToken('/flash/now');
    assertServed(await get('/flash/now', { Authorization: flash.authorization }), '/flash/now');
    const validUntil = Number(flash.token.caveats.find((c) => c.startsWith('flash_valid_until=')).split('=')[1]);
    const wait = validUntil * 1000 - Date.now();
    assert.ok(wait <= FLASH_VALID_FOR_S * 1000, `expires within ${FLASH_VALID_FOR_S} s (${wait} ms)`);
    await sleep(Math.max(0, wait) + 250);
    stack.origin.reset();
    assertFreshChallenge(await get('/flash/now', { Authorization: flash.authorization }), flash);
  });

  test('a token with a request budget (max_requests 2, a Durable Object) is served twice, then challenged', TEST_TIMEOUT, async () => {
    const metered = await paidToken('/metered/a');
    const other = await paidToken('/metered/a');
    for (let i = 0; i < 2; i++) assertServed(await get('/metered/a', { Authorization: metered.authorization }), '/metered/a');
    stack.origin.reset();
    const spent = await get('/metered/a', { Authorization: metered.authorization });
    assert.equal(spent.status, 402, String(spent));
    assert.equal(spent.json().error, 'l402_budget_exhausted');
    l402ChallengeOf(spent);
    assert.deepEqual(stack.origin.paths(), [], 'nothing reached the origin');
    // Each token has its own count.
    assertServed(await get('/metered/b', { Authorization: other.authorization }), '/metered/b');
  });

  test('a revoked token (v1:l402-revoked:<token id> in KV)', TEST_TIMEOUT, async () => {
    const doomed = await paidToken('/ln/revoked');
    const spared = await paidToken('/ln/revoked');
    assertServed(await get('/ln/revoked', { Authorization: doomed.authorization }), '/ln/revoked');
    await stack.worker.receipts.put(`v1:l402-revoked:${doomed.token.tokenId}`, '1');
    // Written from outside, as an operator does; local KV shows it at once, allow a little.
    let reply;
    for (const deadline = Date.now() + 10_000; ;) {
      stack.origin.reset();
      reply = await get('/ln/revoked', { Authorization: doomed.authorization });
      if (reply.status !== 200 || Date.now() > deadline) break;
      await sleep(250);
    }
    assertFreshChallenge(reply, doomed);
    // Revocation is per token: another token for the same service is still served.
    assertServed(await get('/ln/revoked', { Authorization: spared.authorization }), '/ln/revoked');
  });
});

describe('a route selling both protocols', () => {
  test('offers both challenges and serves a client of each', TEST_TIMEOUT, async () => {
    const reply = await get('/both/x');
    const l402 = l402ChallengeOf(reply, { sats: 5 });
    assert.deepEqual(l402.token.caveats.slice(0, 2), ['services=both:0', 'both_capabilities=read']);
    const { v1, v2 } = challengeOf(reply);
    assert.equal(v1.error, 'payment_required');
    assert.equal(v2.error, 'payment_required');
    const [requirement] = v2.accepts;
    assert.equal(requirement.network, 'eip155:84532');
    assert.equal(requirement.amount, '1000');

    // The L402 client.
    const authorization = credential(l402.macaroon, l402.preimage);
    assertServed(await get('/both/x', { Authorization: authorization }), '/both/x');

    // The x402 v2 client, signed with viem and settled by the facilitator double; it does not
    // make the node issue an invoice.
    stack.lnd.reset();
    const payment = await payFor(requirement);
    const paid = await get('/both/x', payment.headers);
    assert.equal(paid.status, 200, String(paid));
    assert.deepEqual(paid.json(), originContent('/both/x'));
    const settlement = decodeHeader(paid.header('PAYMENT-RESPONSE'));
    assert.equal(settlement.success, true);
    assert.deepEqual(stack.facilitator.settles().length, 1);
    assert.deepEqual(stack.facilitator.settles()[0].body.paymentRequirements, requirement);
    assert.deepEqual(stack.lnd.requests, [], 'no invoice for an x402 payment');
    await stack.worker.receipts.waitFor(payment.receiptKey);
  });
});

describe('the Lightning node failing', () => {
  test('unreachable: 502 lightning_unavailable on an L402-only route; the x402 challenge alone where both are sold', TEST_TIMEOUT, async () => {
    await stack.lnd.stopListening();
    let l402Only;
    let both;
    try {
      l402Only = await get('/ln/x');
      both = await get('/both/x');
    } finally {
      await stack.lnd.listenAgain();
    }
    assert.equal(l402Only.status, 502, String(l402Only));
    assert.equal(l402Only.json().error, 'lightning_unavailable');
    assert.deepEqual(l402Only.headerValues('WWW-Authenticate'), []);
    assert.equal(l402Only.header('PAYMENT-REQUIRED'), undefined);
    assertNothingServed(l402Only);

    assert.equal(both.status, 402, String(both));
    assert.deepEqual(both.headerValues('WWW-Authenticate'), [], 'no L402 challenge without an invoice');
    const { v1, v2 } = challengeOf(both);
    assert.equal(v2.accepts.length, 1, 'PAYMENT-REQUIRED is there');
    assert.equal(v1.accepts.length, 1);
    assertNothingServed(both);
    assert.deepEqual(stack.origin.paths(), []);

    // Back up: invoices again.
    l402ChallengeOf(await get('/ln/x'));
  });

  test('redirecting elsewhere: not followed (the macaroon stays with the node), 502 lightning_unavailable', TEST_TIMEOUT, async () => {
    stack.lnd.redirectElsewhere();
    const reply = await get('/ln/x');
    assert.equal(reply.status, 502, String(reply));
    assert.equal(reply.json().error, 'lightning_unavailable');
    assert.deepEqual(stack.lnd.requests.map((r) => r.status), [307]);
    assert.deepEqual(stack.lnd.redirected, [], 'the redirect was followed');
  });

  test('refusing the gateway\'s macaroon (401): 502 lightning_unavailable', TEST_TIMEOUT, async () => {
    stack.lnd.expectMacaroon(randomBytes(48).toString('hex'));
    const reply = await get('/ln/x');
    assert.equal(reply.status, 502, String(reply));
    assert.equal(reply.json().error, 'lightning_unavailable');
    assert.deepEqual(stack.lnd.requests.map((r) => r.status), [401]);
    assert.deepEqual(stack.origin.paths(), []);
  });
});

test('with method_override = "refuse", a request carrying an override is refused, in any spelling', TEST_TIMEOUT, async () => {
  for (const name of ['X-HTTP-Method-Override', 'x-method-override', 'X_HTTP_Method']) {
    const reply = await stack.worker.request('POST', '/ln/x', { headers: { [name]: 'GET' }, body: '{}' });
    assert.equal(reply.status, 400, `${name}: ${reply}`);
    assert.equal(reply.json().error, 'method_override_refused', name);
  }
  assert.deepEqual(stack.origin.paths(), []);
  assert.equal(stack.lnd.requests.length, 0, 'no invoice for a refused request');
});

/** Waits, if needed, so that a burst of requests falls inside one minute of the Worker's clock. */
async function intoOneMinute() {
  const intoMinute = (Date.now() / 1000) % 60;
  if (intoMinute > 45) await sleep((60 - intoMinute) * 1000 + 250);
}

test('a client asking again is sent the same invoice, also from another address of its /64', TEST_TIMEOUT, async () => {
  await intoOneMinute();
  const first = l402ChallengeOf(await get('/ln/again', { 'CF-Connecting-IP': '2001:db8:402:1::1' }));
  for (const ip of ['2001:db8:402:1::1', '2001:db8:402:1::2', '2001:db8:402:1:ffff:ffff:ffff:ffff']) {
    const again = l402ChallengeOf(await get('/ln/again', { 'CF-Connecting-IP': ip }));
    assert.deepEqual([again.macaroon, again.invoice], [first.macaroon, first.invoice], ip);
  }
  assert.equal(stack.lnd.requests.length, 1, 'one invoice for the whole /64');
  // Another /64 is another client.
  l402ChallengeOf(await get('/ln/again', { 'CF-Connecting-IP': '2001:db8:402:2::1' }));
  assert.equal(stack.lnd.requests.length, 2);
});

test('the invoice limit: the 4th fresh invoice of one client in a minute is 429 too_many_invoices', TEST_TIMEOUT, async () => {
  await intoOneMinute();
  // A client whose credential fails gets a fresh invoice each time: those count.
  const ip = freshClientIp();
  const bad = { 'CF-Connecting-IP': ip, Authorization: 'L402 AgEEbHNhdA:00' };
  for (let i = 0; i < INVOICES_PER_MINUTE; i += 1) {
    l402ChallengeOf(await get(`/ln/rate/${i}`, bad));
  }
  const limited = await get('/ln/rate/over', bad);
  assert.equal(limited.status, 429, String(limited));
  assert.equal(limited.json().error, 'too_many_invoices');
  assert.ok(Number(limited.header('Retry-After')) > 0, `Retry-After: ${limited.header('Retry-After')}`);
  assert.deepEqual(limited.headerValues('WWW-Authenticate'), []);
  assert.equal(stack.lnd.requests.length, INVOICES_PER_MINUTE, 'the 4th never reached the node');

  // Where x402 is sold too, the same client still gets that challenge alone.
  const both = await get('/both/x', bad);
  assert.equal(both.status, 402, String(both));
  assert.ok(challengeOf(both).v2.accepts.length === 1);
  assert.deepEqual(both.headerValues('WWW-Authenticate'), []);

  // Another client has its own allowance.
  l402ChallengeOf(await get('/ln/rate/0', { 'CF-Connecting-IP': freshClientIp() }));
  assert.deepEqual(stack.origin.paths(), []);
});

test(`a route makes at most ${INVOICES_PER_ROUTE_PER_MINUTE} invoices a minute from all clients together`, TEST_TIMEOUT, async () => {
  const minute = () => Math.floor(Date.now() / 60_000);
  // The burst must fall inside one minute of the Worker's clock: if it straddled two, the
  // count restarted midway, so it is made again in the new minute (once).
  let limited;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    await intoOneMinute();
    const started = minute();
    stack.lnd.reset();
    for (let i = 0; i < INVOICES_PER_ROUTE_PER_MINUTE; i += 1) {
      l402ChallengeOf(await get('/capped/x'));
    }
    limited = await get('/capped/x');
    if (minute() === started) break;
  }
  assert.equal(limited.status, 429, String(limited));
  assert.equal(limited.json().error, 'too_many_invoices');
  assert.equal(stack.lnd.requests.length, INVOICES_PER_ROUTE_PER_MINUTE);
  // Other routes have their own.
  l402ChallengeOf(await get('/ln/x'));
});
