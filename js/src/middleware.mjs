// The gateway for fetch-style JavaScript servers: a handler wrapper and a Hono middleware
// over the WASM `Gateway`. Every decision (what is priced, verification, settlement order,
// receipts, the payment coordinator) is the WASM core's; this file only performs what the
// core asks: outbound HTTP with `fetch`, the application's content, the store, timers.
//
// `bindMiddleware(binding)` makes the exports for one build of the binding (Node, workerd).

/** Workers KV refuses expirations shorter than a minute. */
const MIN_KV_TTL_S = 60;

export function bindMiddleware({ Gateway }) {
  /**
   * A gateway over `routes` (the official SDK's route configuration:
   * `{ "GET /weather": { accepts: [{ scheme, price, network, payTo }], description } }`, or
   * `{ accepts: {...} }` with one way to pay) and `options`:
   * `{ facilitator: { url } | facilitatorUrl, store, quoteSecret?, facilitatorAuthorization?,
   *    networks?, receiptTtlS? }`. `options` may be a function of the Worker's `env`,
   * called once, on the first request, synchronously.
   */
  function paymentGateway(routes, options = {}) {
    let built;
    const build = (env) => {
      built ??= makeGateway(routes, typeof options === 'function' ? options(env) : options);
      return built;
    };
    return {
      /** Answers `request`: `next(request)` gives the application's response. */
      fetch: (request, next, env) => build(env).serve(request, next),
    };
  }

  function makeGateway(routes, options) {
    const { config, priceFunctions } = translateRoutes(routes, options);
    const gateway = new Gateway(config, {
      quoteSecret: options.quoteSecret,
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
      async serve(request, next) {
        const io = {
          exchange,
          content: async () => next(request),
          store,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          price: prices.size ? (ask) => priceOf(prices, ask, request) : undefined,
        };
        const answer = await gateway.handle(
          { method: request.method, url: request.url, headers: [...request.headers] }, io);
        options.log?.(answer.log);
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
      const response = await gateway.fetch(c.req.raw, async () => {
        await next();
        return c.res;
      }, c.env);
      // Hono keeps the response it is handed; a rebuilt one replaces the handlers'.
      c.res = undefined;
      c.res = response;
      return response;
    };
  }

  return { paymentGateway, paymentMiddleware, memoryStore, kvStore };
}

/**
 * A store in this process's memory. It holds for one process only (a single Node server):
 * several processes, or Workers isolates, each see their own.
 */
export function memoryStore() {
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
      entries.set(key, { value, until: Date.now() + ttlSeconds * 1000 });
    },
  };
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
  const translated = Object.entries(routes).map(([pattern, route], index) => {
    const accepts = Array.isArray(route.accepts) ? route.accepts : [route.accepts];
    const priceOfWays = [...new Set(accepts.map((way) => way.price))];
    if (priceOfWays.length !== 1) {
      throw Object.assign(new Error(`route ${pattern}: every way to pay must have the same price (edge402 prices a route once)`), { reason: 'invalid_configuration' });
    }
    const [price] = priceOfWays;
    const match = pattern.replace(/\[([^\]]+)\]/g, ':$1');
    const entry = {
      match,
      description: route.description ?? '',
      accepts: accepts.map((way) => {
        if (way.scheme !== undefined && way.scheme !== 'exact') {
          throw Object.assign(new Error(`route ${pattern}: scheme ${way.scheme} is not served (exact only)`), { reason: 'invalid_configuration' });
        }
        const asset = typeof way.price === 'object' && way.price !== null ? way.price.asset : way.asset;
        return { network: way.network, pay_to: way.payTo, ...(asset ? { asset } : {}) };
      }),
    };
    if (route.mimeType) entry.mime_type = route.mimeType;
    if (typeof price === 'function') {
      entry.price = 'dynamic';
      priceFunctions.push([index, price]);
    } else if (typeof price === 'object' && price !== null) {
      entry.price = String(price.amount);
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
  };
  return { config, priceFunctions };
}

/** A route's price function asked for one request: a price, or free. */
async function priceOf(prices, ask, request) {
  const price = await prices.get(ask.route)({ ...ask, request });
  if (price === null || price === undefined || price === 'free') return { free: true };
  if (typeof price === 'object') return { price: String(price.amount) };
  return { price: String(price) };
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
  const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND';
  return { kind: refused ? 'unsent' : 'connection', detail: String(error?.cause?.message ?? error?.message ?? error) };
}

/** The application's response with `headers` set (a fetched response's are immutable). */
function withHeaders(response, headers) {
  if (headers.length === 0 || response.status === 101) return response;
  const copy = new Response(response.body, response);
  for (const [name, value] of headers) copy.headers.set(name, value);
  return copy;
}
