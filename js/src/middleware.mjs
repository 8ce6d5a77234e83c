// The gateway for fetch-style JavaScript servers: a handler wrapper and a Hono middleware
// over the WASM `Gateway`. Every decision (what is priced, verification, settlement order,
// receipts, the payment coordinator) is the WASM core's; this file only performs what the
// core asks: outbound HTTP with `fetch`, the application's content, the store, timers.
//
// `bindMiddleware(binding)` makes the exports for one build of the binding (Node, workerd).

/** Workers KV refuses expirations shorter than a minute. */
const MIN_KV_TTL_S = 60;

export function bindMiddleware({ Gateway, PaymentObject }) {
  /**
   * A gateway over `routes` (the official SDK's route configuration:
   * `{ "GET /weather": { accepts: [{ scheme, price, network, payTo }], description } }`, or
   * `{ accepts: {...} }` with one way to pay) and `options`:
   * `{ facilitator: { url } | facilitatorUrl, store, quoteSecret?, offerReceiptKey?,
   *    facilitatorAuthorization?, networks?, receiptTtlS?, webBotAuth? }`. A route's
   * `clients` (edge402's own) prices by who is asking. A route's `extensions`, as the
   * official `@x402/extensions` declare them, become edge402's: `bazaar` its `discovery`,
   * `payment-identifier` and `offer-receipt` the gateway's (`offer-receipt` signs with
   * `offerReceiptKey`). `options` may be a function of the Worker's `env`,
   * called once, on the first request, synchronously.
   */
  function paymentGateway(routes, options = {}) {
    let built;
    const build = (env) => {
      built ??= makeGateway(routes, typeof options === 'function' ? options(env) : options);
      return built;
    };
    return {
      /**
       * Answers `request`: `next(request)` gives the application's response. `client` is the
       * address the connection came from (in Workers, Cloudflare's `CF-Connecting-IP` by
       * default), for the per-client allowances.
       */
      fetch: (request, next, env, client = cloudflareClient(request)) =>
        build(env).serve(request, next, client),
    };
  }

  function makeGateway(routes, options) {
    const { config, priceFunctions } = translateRoutes(routes, options);
    const gateway = new Gateway(config, {
      quoteSecret: options.quoteSecret,
      offerReceiptKey: options.offerReceiptKey,
      facilitatorAuthorization: options.facilitatorAuthorization,
    });
    // The core names a route by its canonical `match`, in the order given.
    const matches = gateway.routeMatches();
    const prices = new Map(priceFunctions.map(([index, price]) => [matches[index], price]));
    const store = options.store;
    if (!store || typeof store.get !== 'function' || typeof store.put !== 'function') {
      throw Object.assign(new Error('options.store must have get(key) and put(key, value, ttlSeconds): memoryStore(), or kvStore(env.KV)'), { reason: 'invalid_configuration' });
    }
    return {
      async serve(request, next, client) {
        const io = {
          exchange,
          content: async () => next(request),
          store,
          coordinator: options.coordinator,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          price: prices.size ? (ask) => priceOf(prices, ask, request) : undefined,
        };
        const answer = await gateway.handle(
          { method: request.method, url: request.url, headers: [...request.headers], client }, io);
        try {
          if (answer.log !== null) options.log?.(answer.log);
        } catch {
          // A failing logger does not change the answer (a paid request stays served).
        }
        if (answer.kind === 'answer') {
          return new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers: answer.headers });
        }
        return withHeaders(answer.response, answer.headers);
      },
    };
  }

  /**
   * A Hono middleware: `app.use(paymentMiddleware(routes, options))`. Paid requests reach
   * the next handlers only once settled; `c.env` is what an `options` function gets.
   */
  function paymentMiddleware(routes, options) {
    const gateway = paymentGateway(routes, options);
    return async (c, next) => {
      let ran = false;
      // Node's server (@hono/node-server) hands over the socket; in Workers, Cloudflare's header.
      const client = c.env?.incoming?.socket?.remoteAddress ?? cloudflareClient(c.req.raw);
      const response = await gateway.fetch(c.req.raw, async () => {
        ran = true;
        await next();
        return c.res;
      }, c.env, client);
      // Hono merges the headers of the response it holds into one it is handed: the
      // handlers' must not reach a refusal (their cookies, their content headers), and are in
      // the content's already; headers set before (CORS) stay on the gateway's own answers.
      if (ran) c.res = undefined;
      c.res = response;
      return c.res;
    };
  }

  /**
   * The Durable Object class that coordinates payments across isolates (one object per
   * payment): export it from the Worker, bind it (`[[durable_objects.bindings]]`), and give
   * the gateway `coordinator: durableObjects(env.PAYMENTS)`. `options(env)` gives its
   * `networks` (for their `rpc_url`s) and the `store` its receipts go to.
   */
  function paymentCoordinatorClass(options) {
    return class PaymentCoordinator {
      constructor(state, env) {
        const { networks, store } = options(env);
        this.state = state;
        this.object = new PaymentObject(networks ?? []);
        this.io = {
          storage: {
            get: async (key) => (await state.storage.get(key)) ?? null,
            put: (key, value) => state.storage.put(key, value),
            delete: (key) => state.storage.delete(key),
          },
          store,
          exchange,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        };
      }

      async fetch(request) {
        const path = new URL(request.url).pathname.slice(1);
        try {
          const { answer, nextCheck } = await this.object.call(path, await request.text(), this.io);
          await this.schedule(nextCheck);
          return new Response(answer, { headers: { 'content-type': 'application/json' } });
        } catch (error) {
          return new Response(String(error?.message ?? error), { status: 503 });
        }
      }

      async alarm() {
        await this.schedule(await this.object.alarm(this.io));
      }

      async schedule(nextCheck) {
        if (nextCheck !== null) await this.state.storage.setAlarm(nextCheck * 1000);
      }
    };
  }

  return { paymentGateway, paymentMiddleware, memoryStore, kvStore, durableObjects, paymentCoordinatorClass };
}

/** The gateway's `coordinator` over a Durable Object namespace of `PaymentCoordinator`s. */
export function durableObjects(namespace) {
  if (!namespace || typeof namespace.idFromName !== 'function') {
    throw invalid('durableObjects needs a Durable Object namespace binding (env.PAYMENTS)');
  }
  return {
    async call(key, path, body) {
      const stub = namespace.get(namespace.idFromName(key));
      const response = await stub.fetch(`https://payment.internal/${path}`, { method: 'POST', body });
      const text = await response.text();
      if (!response.ok) throw new Error(`${response.status} ${text}`);
      return text;
    },
  };
}

/**
 * A store in this process's memory. It holds for one process only (a single Node server):
 * several processes, or Workers isolates, each see their own. At most `maxEntries`: expired
 * ones are swept first, then the oldest go (a lost receipt costs the coordinator a lookup,
 * never a second charge).
 */
export function memoryStore({ maxEntries = 100_000 } = {}) {
  const entries = new Map();
  return {
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return null;
      if (Date.now() >= entry.until) {
        entries.delete(key);
        return null;
      }
      return entry.value;
    },
    async put(key, value, ttlSeconds) {
      const now = Date.now();
      if (entries.size >= maxEntries) {
        for (const [k, entry] of entries) if (now >= entry.until) entries.delete(k);
        for (const k of entries.keys()) {
          if (entries.size < maxEntries) break;
          entries.delete(k);
        }
      }
      entries.delete(key);
      entries.set(key, { value, until: now + ttlSeconds * 1000 });
    },
  };
}

/** Cloudflare's `CF-Connecting-IP` in Workers (where only Cloudflare sets it); elsewhere none. */
function cloudflareClient(request) {
  const inWorkers = globalThis.navigator?.userAgent === 'Cloudflare-Workers';
  return (inWorkers && request.headers.get('cf-connecting-ip')) || undefined;
}

/** A store in a Workers KV namespace (eventually consistent: a fast path, never the guard). */
export function kvStore(namespace) {
  return {
    get: (key) => namespace.get(key),
    put: (key, value, ttlSeconds) =>
      namespace.put(key, value, { expirationTtl: Math.max(MIN_KV_TTL_S, Math.ceil(ttlSeconds)) }),
  };
}

/**
 * The official SDK's route configuration as an edge402 configuration document: one route
 * per pattern; `price` the same for every way to pay (edge402 prices a route once); a price
 * function makes the route's price `"dynamic"`.
 */
function translateRoutes(routes, options) {
  const priceFunctions = [];
  // Extensions the official SDK declares per route, which edge402 sets for the gateway.
  const gatewayWide = {};
  // One route configuration for every path, as the official SDK allows.
  const table = routes && typeof routes === 'object' && 'accepts' in routes ? { '/*': routes } : routes ?? {};
  const translated = Object.entries(table).map(([pattern, route], index) => {
    const accepts = Array.isArray(route?.accepts) ? route.accepts : [route?.accepts];
    if (accepts.some((way) => !way || typeof way !== 'object')) throw invalid(`route ${pattern}: accepts must be ways to pay`);
    const prices = accepts.map((way) => edge402Price(way.price, pattern));
    if (new Set(prices).size !== 1) {
      throw invalid(`route ${pattern}: every way to pay must have the same price, or one price function (edge402 prices a route once)`);
    }
    const [price] = prices;
    const match = pattern.replace(/\[([^\]]+)\]/g, ':$1');
    const entry = {
      match,
      description: route.description ?? '',
      accepts: accepts.map((way) => {
        if (way.scheme !== undefined && way.scheme !== 'exact') {
          throw invalid(`route ${pattern}: scheme ${way.scheme} is not served (exact only)`);
        }
        const asset = typeof way.price === 'object' && way.price !== null ? way.price.asset : way.asset;
        return { network: way.network, pay_to: way.payTo, ...(asset ? { asset } : {}) };
      }),
    };
    if (route.mimeType) entry.mime_type = route.mimeType;
    // edge402's own: prices by who is asking (browsers, unsigned bots, verified agents).
    if (route.clients) entry.clients = route.clients;
    const declared = route.extensions ?? {};
    if (declared.bazaar) entry.discovery = discoveryOf(declared.bazaar, pattern);
    if (declared['payment-identifier']) {
      gatewayWide.payment_identifier = { required: gatewayWide.payment_identifier?.required || declared['payment-identifier'].info?.required === true };
    }
    if (declared['offer-receipt']) {
      const valid = declared['offer-receipt'].offerValiditySeconds;
      gatewayWide.offer_receipt = valid === undefined ? {} : { offer_valid_s: valid };
    }
    if (typeof price === 'function') {
      entry.price = 'dynamic';
      priceFunctions.push([index, (ask) => price(ask)]);
    } else {
      entry.price = price;
    }
    return entry;
  });
  const facilitator = options.facilitator ?? (options.facilitatorUrl ? { url: options.facilitatorUrl } : undefined);
  const config = {
    routes: translated,
    ...(facilitator ? { facilitator } : {}),
    ...(options.networks ? { networks: options.networks } : {}),
    ...(options.receiptTtlS ? { receipt_ttl_s: options.receiptTtlS } : {}),
    ...(options.pricing ? { pricing: options.pricing } : {}),
    ...(options.webBotAuth ? { web_bot_auth: options.webBotAuth } : {}),
    ...gatewayWide,
  };
  return { config, priceFunctions };
}

/**
 * A route's `bazaar` declaration (`declareDiscoveryExtension`'s output) as edge402's route
 * `discovery`: the query or body example and schema, and the output.
 */
function discoveryOf(bazaar, pattern) {
  const input = bazaar?.info?.input;
  if (!input || input.type !== 'http') throw invalid(`route ${pattern}: extensions.bazaar must describe an http input`);
  const inputSchema = bazaar.schema?.properties?.input?.properties ?? {};
  const withoutType = ({ type, ...rest } = {}) => rest;
  const discovery = input.bodyType
    ? { body_type: input.bodyType, input: input.body ?? {}, input_schema: inputSchema.body ?? {} }
    : { input: input.queryParams ?? {}, input_schema: withoutType(inputSchema.queryParams) };
  const output = bazaar.info.output;
  if (output?.example !== undefined) {
    const schema = withoutType(bazaar.schema?.properties?.output?.properties?.example);
    discovery.output = { example: output.example, ...(Object.keys(schema).length ? { schema } : {}) };
  }
  return discovery;
}

/** A route's price function asked for one request: a price, or free. */
async function priceOf(prices, ask, request) {
  const price = await prices.get(ask.route)({ ...ask, request });
  if (price === null || price === undefined || price === 'free') return { free: true };
  return { price: edge402Price(price, ask.route) };
}

/**
 * A price as the official SDK writes it, in edge402's spelling: money (`"$0.01"`, `"0.01"`,
 * `"1"`, `0.01`: US dollars, as the SDK reads them) becomes `"$0.01"`; `{ amount }` is in
 * atomic units of the way's asset. A function stays a function.
 */
function edge402Price(price, route) {
  if (typeof price === 'function') return price;
  if (price && typeof price === 'object' && price.amount !== undefined) {
    const amount = String(price.amount);
    if (!/^\d+$/.test(amount)) throw invalid(`route ${route}: { amount } must be whole atomic units`);
    return amount;
  }
  const text = typeof price === 'number' && Number.isFinite(price)
    ? price.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 })
    : typeof price === 'string' ? price.trim().replace(/^\$/, '').trim() : undefined;
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) {
    throw invalid(`route ${route}: price ${JSON.stringify(price)} is not a dollar amount like "$0.01", nor { amount, asset }`);
  }
  return `$${text}`;
}

function invalid(message) {
  return Object.assign(new Error(message), { reason: 'invalid_configuration' });
}

/**
 * One outbound request for the core (the facilitator, JSON-RPC): no redirects followed, a
 * deadline over the whole exchange, the body read up to `maxBytes`. Failures are
 * `{kind, detail}`: `unsent` when the connection was refused (nothing can have arrived).
 */
async function exchange({ method, url, headers, body, timeoutMs, maxBytes }) {
  const signal = AbortSignal.timeout(timeoutMs);
  const sent = body === undefined ? headers : [...headers, ['content-type', 'application/json']];
  let response;
  try {
    response = await fetch(url, { method, headers: sent, body, redirect: 'manual', signal });
  } catch (error) {
    throw failure(error, signal);
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw { kind: 'broken', detail: `answer larger than ${maxBytes} bytes` };
  }
  try {
    const reader = response.body?.getReader();
    const chunks = [];
    let size = 0;
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw { kind: 'broken', detail: `answer larger than ${maxBytes} bytes` };
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return { status: response.status, body: new TextDecoder().decode(bytes) };
  } catch (error) {
    if (error?.kind) throw error;
    throw signal.aborted ? { kind: 'timeout', detail: 'timed out' } : { kind: 'broken', detail: String(error?.message ?? error) };
  }
}

function failure(error, signal) {
  if (signal.aborted) return { kind: 'timeout', detail: 'timed out' };
  const code = error?.cause?.code;
  // Refused or unresolvable (Node says so); a TypeError without a cause is a request that
  // could not be made at all (a bad URL or header).
  const unsent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || (error instanceof TypeError && !error.cause);
  return { kind: unsent ? 'unsent' : 'connection', detail: String(error?.cause?.message ?? error?.message ?? error) };
}

/**
 * The application's response with the gateway's `headers` (a fetched response's are
 * immutable, so a copy); the application's own CORS policy stands, the payment headers are
 * added to what it exposes. If the response cannot be copied, it is served as it is: a paid
 * request is never left without its content.
 */
function withHeaders(response, headers) {
  if (headers.length === 0 || response.status === 101) return response;
  try {
    const copy = new Response(response.body, response);
    for (const [name, value] of headers) {
      const own = copy.headers.get(name);
      const lower = name.toLowerCase();
      if (lower === 'access-control-expose-headers' && own) copy.headers.set(name, `${own}, ${value}`);
      else if (lower.startsWith('access-control-') && own) continue;
      else copy.headers.set(name, value);
    }
    return copy;
  } catch {
    return response;
  }
}
