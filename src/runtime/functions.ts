/**
 * Every Lambda function of the service, by its folder under functions/: how it is invoked and what
 * it may touch. The CDK stack grants exactly this access (and names only these resources in the
 * function's environment), the production wiring (src/aws/wiring.ts) builds only these ports, and
 * the bundle tests hold each bundle to it. The HTTP functions' routes are in src/http/routes.ts.
 */

/**
 * What a function may touch in AWS. `providers` means the provider secret (the merchants' private
 * keys) and provider APIs.
 */
export interface FunctionAccess {
  table: 'none' | 'read' | 'readWrite';
  providers: boolean;
  /** Sends provider notifications to the worker's queue. */
  queue: boolean;
  /** Publishes domain events to the bus: only the outbox publisher, fed by the table's stream. */
  events: boolean;
  /** Sends attempt requests (retries, replays) to the webhook queue. */
  webhookQueue?: boolean;
  /** The webhook secrets' KMS key: `seal` makes data keys for new secrets, `open` decrypts them to sign. */
  webhookKeys?: 'seal' | 'open';
  /** Moves dead-lettered notifications back to the worker's queue (the staff replay). */
  redrive?: boolean;
  /** Sends due payments to the expiry worker's queue (the sweeper; the worker puts off busy ones). */
  dueQueue?: boolean;
}

/** How a function is invoked: an API Gateway route, the notification queue, a schedule, the table's stream. */
export type Trigger = 'http' | 'queue' | 'schedule' | 'stream';

export interface FunctionEntry {
  readonly fn: string;
  readonly trigger: Trigger;
  readonly access: FunctionAccess;
}

const NOTHING: FunctionAccess = { table: 'none', providers: false, queue: false, events: false };
const READ_ONLY: FunctionAccess = { table: 'read', providers: false, queue: false, events: false };
const TABLE_WRITES: FunctionAccess = { table: 'readWrite', providers: false, queue: false, events: false };
const CALLS_PROVIDERS: FunctionAccess = { table: 'readWrite', providers: true, queue: false, events: false };

const FUNCTION_TABLE = [
  { fn: 'list-products', trigger: 'http', access: READ_ONLY },
  { fn: 'create-product', trigger: 'http', access: TABLE_WRITES },
  { fn: 'update-product', trigger: 'http', access: TABLE_WRITES },
  { fn: 'adjust-stock', trigger: 'http', access: TABLE_WRITES },
  { fn: 'list-orders', trigger: 'http', access: READ_ONLY },
  { fn: 'create-order', trigger: 'http', access: TABLE_WRITES },
  { fn: 'create-orders-batch', trigger: 'http', access: TABLE_WRITES },
  { fn: 'get-order', trigger: 'http', access: READ_ONLY },
  { fn: 'add-payment', trigger: 'http', access: TABLE_WRITES },
  { fn: 'cancel-order', trigger: 'http', access: CALLS_PROVIDERS },
  { fn: 'get-payment', trigger: 'http', access: READ_ONLY },
  { fn: 'start-payment', trigger: 'http', access: CALLS_PROVIDERS },
  // Reads the provider secret only to say which scenes it configures; calls no provider.
  {
    fn: 'list-payment-methods',
    trigger: 'http',
    access: { table: 'none', providers: true, queue: false, events: false },
  },
  { fn: 'cancel-payment', trigger: 'http', access: CALLS_PROVIDERS },
  { fn: 'refund-payment', trigger: 'http', access: CALLS_PROVIDERS },
  { fn: 'list-refunds', trigger: 'http', access: READ_ONLY },
  { fn: 'get-refund', trigger: 'http', access: READ_ONLY },
  { fn: 'get-reconciliation', trigger: 'http', access: READ_ONLY },
  { fn: 'admin-orders', trigger: 'http', access: READ_ONLY },
  { fn: 'admin-payments', trigger: 'http', access: READ_ONLY },
  // The refunds a decision owes are left due: the sweeper sends them, so no provider access here.
  { fn: 'review-payment', trigger: 'http', access: TABLE_WRITES },
  { fn: 'refund-owed', trigger: 'http', access: TABLE_WRITES },
  { fn: 'admin-refunds', trigger: 'http', access: READ_ONLY },
  { fn: 'settle-refund', trigger: 'http', access: TABLE_WRITES },
  // Sends the re-submission itself: the refund is claimed first, so no one settles it twice.
  { fn: 'retry-refund', trigger: 'http', access: CALLS_PROVIDERS },
  { fn: 'admin-differences', trigger: 'http', access: READ_ONLY },
  { fn: 'resolve-difference', trigger: 'http', access: TABLE_WRITES },
  // The daily run's own code: fetches the provider's bill and heals through provider queries.
  { fn: 'rerun-reconciliation', trigger: 'http', access: CALLS_PROVIDERS },
  { fn: 'admin-dead-letters', trigger: 'http', access: READ_ONLY },
  { fn: 'admin-audit', trigger: 'http', access: READ_ONLY },
  {
    fn: 'replay-dead-letters',
    trigger: 'http',
    access: { table: 'readWrite', providers: false, queue: false, events: false, redrive: true },
  },
  // Verifies with the provider keys, archives the body, queues it; the worker applies it.
  {
    fn: 'payment-callback',
    trigger: 'http',
    access: { table: 'readWrite', providers: true, queue: true, events: false },
  },
  { fn: 'openapi', trigger: 'http', access: NOTHING },
  // Webhook endpoints and their delivery log (admin scope); outbound calls to shop endpoints are the deliverer's.
  { fn: 'create-webhook-endpoint', trigger: 'http', access: { ...TABLE_WRITES, webhookKeys: 'seal' } },
  { fn: 'list-webhook-endpoints', trigger: 'http', access: READ_ONLY },
  { fn: 'update-webhook-endpoint', trigger: 'http', access: TABLE_WRITES },
  { fn: 'delete-webhook-endpoint', trigger: 'http', access: TABLE_WRITES },
  { fn: 'rotate-webhook-secret', trigger: 'http', access: { ...TABLE_WRITES, webhookKeys: 'seal' } },
  { fn: 'list-webhook-deliveries', trigger: 'http', access: READ_ONLY },
  { fn: 'replay-webhook-delivery', trigger: 'http', access: { ...READ_ONLY, webhookQueue: true } },
  { fn: 'replay-webhook-range', trigger: 'http', access: { ...READ_ONLY, webhookQueue: true } },
  /** Applies queued provider notifications (dedupe + payment + order in one transaction). */
  { fn: 'payment-worker', trigger: 'queue', access: TABLE_WRITES },
  /** Every minute: due payments found and enqueued for the expiry worker, unpaid orders cancelled, refunds followed up. */
  { fn: 'sweeper', trigger: 'schedule', access: { ...CALLS_PROVIDERS, dueQueue: true } },
  /** The due-payment queue → reminders, query-then-close-then-expire, stock back (docs/ARCHITECTURE.md#the-expiry-wave). */
  { fn: 'expiry-worker', trigger: 'queue', access: { ...CALLS_PROVIDERS, dueQueue: true } },
  /** Daily after the providers publish their bills: our books against each bill, differences recorded and healed. */
  { fn: 'reconcile', trigger: 'schedule', access: CALLS_PROVIDERS },
  /**
   * The table's stream → new outbox entries' events onto the bus (docs/ARCHITECTURE.md#transactional-outbox).
   * Table writes only to park an event the bus refuses for good.
   */
  {
    fn: 'outbox-publisher',
    trigger: 'stream',
    access: { table: 'readWrite', providers: false, queue: false, events: true },
  },
  /**
   * The webhook queue (the bus's events by an EventBridge rule, and our own retries and replays) →
   * signed POSTs to the shop's endpoints (docs/ARCHITECTURE.md#webhooks). Re-queues its retries;
   * opens the endpoints' secrets.
   */
  { fn: 'webhook-deliverer', trigger: 'queue', access: { ...TABLE_WRITES, webhookQueue: true, webhookKeys: 'open' } },
] as const satisfies readonly FunctionEntry[];

/** Every Lambda function of the service with what it may touch: the HTTP ones first, in route table order. */
export const ALL_FUNCTIONS: readonly FunctionEntry[] = FUNCTION_TABLE;

/** A function's folder under functions/. */
export type FunctionName = (typeof FUNCTION_TABLE)[number]['fn'];
/** The functions behind an HTTP route (src/http/routes.ts). */
export type HttpFunction = Extract<(typeof FUNCTION_TABLE)[number], { trigger: 'http' }>['fn'];

/** A function's entry, its literal types kept. */
export function functionEntry<Fn extends FunctionName>(fn: Fn): Extract<(typeof FUNCTION_TABLE)[number], { fn: Fn }> {
  const entry = FUNCTION_TABLE.find((candidate) => candidate.fn === fn);
  if (!entry) throw new Error(`${fn} has no entry in src/runtime/functions.ts`);
  return entry as Extract<(typeof FUNCTION_TABLE)[number], { fn: Fn }>;
}

export function accessOf(fn: FunctionName): FunctionAccess {
  return functionEntry(fn).access;
}

/** The functions not behind an HTTP route, by their role. */
export const BACKGROUND_FUNCTIONS = {
  worker: functionEntry('payment-worker'),
  sweeper: functionEntry('sweeper'),
  expiryWorker: functionEntry('expiry-worker'),
  reconciler: functionEntry('reconcile'),
  publisher: functionEntry('outbox-publisher'),
  deliverer: functionEntry('webhook-deliverer'),
} as const;
