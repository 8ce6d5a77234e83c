// Types of every entry point (node, workerd, browser): the same functions and shapes
// everywhere. The doc comments are in ./web/edge402.d.ts, generated from the Rust sources.
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
} from './web/edge402.js';

/** A way to pay a route, as the official SDK writes it. */
export interface RouteAccept {
  scheme?: 'exact';
  /** `"$0.001"`, `"0.001"` (whole tokens), `"1000"` (atomic), `{ amount, asset }`, or a function
   *  of the request returning one of those, or `null` / `"free"` for free. */
  price: string | { amount: string; asset: string } | PriceFunction;
  network: string;
  payTo: string;
  asset?: string;
}
/** What a price function is asked. */
export interface PriceAsk { route: string; method: string; path: string; query?: string; request: Request }
export type PriceFunction = (ask: PriceAsk) => string | { amount: string; asset?: string } | null | 'free' | Promise<string | { amount: string; asset?: string } | null | 'free'>;
/** The official SDK's route configuration: `{ "GET /weather": { accepts, description } }`. */
export type RoutesConfig = Record<string, { accepts: RouteAccept | RouteAccept[]; description?: string; mimeType?: string }>;
/** Receipts and remembered refusals. */
export interface GatewayStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
}
export interface GatewayOptions {
  facilitator?: { url: string | string[]; verify_timeout_ms?: number; settle_timeout_ms?: number };
  facilitatorUrl?: string;
  store: GatewayStore;
  quoteSecret?: string;
  facilitatorAuthorization?: string;
  /** Extra networks and tokens, as the configuration's `networks`. */
  networks?: unknown[];
  receiptTtlS?: number;
  /** Receives each request's log line. */
  log?: (line: Record<string, unknown>) => void;
}
/** A gateway for fetch-style handlers. `options` may be a function of the Worker's `env`. */
export declare function paymentGateway(routes: RoutesConfig, options: GatewayOptions | ((env: unknown) => GatewayOptions)): {
  fetch(request: Request, next: (request: Request) => Promise<Response>, env?: unknown): Promise<Response>;
};
/** A Hono middleware: `app.use(paymentMiddleware(routes, options))`. */
export declare function paymentMiddleware(routes: RoutesConfig, options: GatewayOptions | ((env: unknown) => GatewayOptions)): (c: any, next: () => Promise<void>) => Promise<Response>;
/** A store in this process's memory: one Node server only. */
export declare function memoryStore(): GatewayStore;
/** A store in a Workers KV namespace. */
export declare function kvStore(namespace: { get(key: string): Promise<string | null>; put(key: string, value: string, options: { expirationTtl: number }): Promise<void> }): GatewayStore;
