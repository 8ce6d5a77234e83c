// Types of every entry point (node, workerd, browser): the same functions and shapes
// everywhere, except the middleware (`paymentGateway`, `paymentMiddleware`, `memoryStore`,
// `kvStore`, `durableObjects`, `paymentCoordinatorClass`), which the Node ES module and the
// Workers build export, not the browser build nor the CommonJS entry. The doc comments are in ./web/edge402.d.ts, generated from the Rust sources.
export type {
  Edge402Error,
  ResourceInfo,
  Eip712Extra,
  PaymentRequirementsV1,
  PaymentRequirementsV2,
  PaymentRequirements,
  ExactEvmAuthorization,
  ExactEvmPayload,
  PaymentPayloadV1,
  PaymentPayloadV2,
  PaymentPayload,
  PaymentRequired,
  SettleResponse,
  Verdict,
  SettlementCheck,
  SettlementExpectation,
  RequirementsOptions,
  PaymentOptions,
  GatewaySecrets,
  GatewayRequest,
  GatewayIo,
  GatewayAnswer,
  OutboundRequest,
} from './web/edge402.js';
export {
  verifyPayment,
  decodePaymentHeader,
  encodePaymentHeader,
  decodePaymentRequired,
  encodePaymentRequired,
  decodeSettlement,
  encodeSettlement,
  checkSettlement,
  buildRequirements,
  recoverPaymentSigner,
  createPayment,
  Gateway,
  PaymentObject,
} from './web/edge402.js';

/** A way to pay a route, as the official SDK writes it. */
export interface RouteAccept {
  scheme?: 'exact';
  /** Money as the official SDK reads it (`"$0.001"`, `"0.001"`, `0.001`: US dollars),
   *  `{ amount, asset }` (atomic units of `asset`), or a function of the request returning
   *  money, `{ amount }`, or `null` / `"free"` for free. */
  price: string | number | { amount: string; asset: string } | PriceFunction;
  network: string;
  payTo: string;
  asset?: string;
}
/** What a price function is asked. */
export interface PriceAsk { route: string; method: string; path: string; query?: string; request: Request }
type Price = string | number | { amount: string } | null | 'free';
/** Asked with the request's route, method (HEAD as GET), canonical path and query as sent. */
export type PriceFunction = (ask: PriceAsk) => Price | Promise<Price>;
/** The official SDK's route configuration: `{ "GET /weather": { accepts, description } }`. */
export type RoutesConfig = Record<string, {
  accepts: RouteAccept | RouteAccept[]; description?: string; mimeType?: string;
  /** As `@x402/extensions` declares them: `bazaar` (`declareDiscoveryExtension`),
   *  `payment-identifier`, `offer-receipt` (signed with `offerReceiptKey`). */
  extensions?: Record<string, unknown>;
  /** edge402's own: what browsers, unsigned bots and verified Web Bot Auth agents are
   *  offered (`"price"`, `"free"`, `"refuse"` or a price of their own), agents allowed or
   *  denied by their `Signature-Agent` origin (README: Crawlers and bots). */
  clients?: ClientsConfig;
}>;
type ClientOffer = 'price' | 'free' | 'refuse' | string;
export interface ClientsConfig {
  browsers?: ClientOffer; unsigned_bots?: ClientOffer; verified_agents?: ClientOffer;
  allow_agents?: string[]; deny_agents?: string[];
}
/** Receipts and remembered refusals. */
export interface GatewayStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
}
export interface GatewayOptions {
  facilitator?: { url: string | string[]; verify_timeout_ms?: number; settle_timeout_ms?: number };
  facilitatorUrl?: string;
  store: GatewayStore;
  /** Payments coordinated by one Durable Object each (`durableObjects(env.PAYMENTS)`);
   *  without it, in this process's memory only. */
  coordinator?: PaymentCoordinators;
  quoteSecret?: string;
  /** Signs offers and receipts (`offer-receipt`): a secp256k1 key, `0x` + 64 hex digits. */
  offerReceiptKey?: string;
  facilitatorAuthorization?: string;
  /** Extra networks and tokens, as the configuration's `networks`. */
  networks?: unknown[];
  receiptTtlS?: number;
  /** `quote_valid_s` and the rest of the configuration's `pricing` table. */
  pricing?: { quote_valid_s?: number };
  /** The configuration's `web_bot_auth`, for routes with `clients`. */
  webBotAuth?: { max_validity_s?: number; directory_timeout_ms?: number };
  /** Receives each request's log line (those the configuration's `log_requests` logs). */
  log?: (line: Record<string, unknown>) => void;
}
/** A gateway for fetch-style handlers. `options` may be a function of the Worker's `env`. */
export declare function paymentGateway(routes: RoutesConfig, options: GatewayOptions | ((env: unknown) => GatewayOptions)): {
  /** `client`: the address the connection came from (Workers: `CF-Connecting-IP` by default). */
  fetch(request: Request, next: (request: Request) => Promise<Response>, env?: unknown, client?: string): Promise<Response>;
};
/** A Hono middleware: `app.use(paymentMiddleware(routes, options))`. */
export declare function paymentMiddleware(routes: RoutesConfig, options: GatewayOptions | ((env: unknown) => GatewayOptions)): (c: any, next: () => Promise<void>) => Promise<Response>;
/** A store in this process's memory: one Node server only. */
export declare function memoryStore(options?: { maxEntries?: number }): GatewayStore;
/** A store in a Workers KV namespace. */
export declare function kvStore(namespace: { get(key: string): Promise<string | null>; put(key: string, value: string, options: { expirationTtl: number }): Promise<void> }): GatewayStore;

/** The gateway's coordinator over Durable Objects. */
export interface PaymentCoordinators { call(key: string, path: string, body: string): Promise<string> }
/** The `coordinator` over a namespace of `PaymentCoordinator` objects. */
export declare function durableObjects(namespace: { idFromName(name: string): unknown; get(id: unknown): { fetch(url: string, init: RequestInit): Promise<Response> } }): PaymentCoordinators;
/** The Durable Object class to export as `PaymentCoordinator` (one object per payment). */
export declare function paymentCoordinatorClass(options: (env: any) => { networks?: unknown[]; store: GatewayStore }): new (state: any, env: any) => {
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
};
