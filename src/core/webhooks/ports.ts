import type { WebhookDelivery, WebhookDeliveryStatus } from '../../domain/webhook-delivery';
import type { WebhookEndpoint } from '../../domain/webhook-endpoint';
import type { Page } from '../kernel/page';

/** Which deliveries of an endpoint a listing or a replay takes. */
export interface DeliveryQuery {
  status?: WebhookDeliveryStatus;
  /** Delivery ids bounding the events' times (deliveryIdRange), inclusive. */
  idRange?: { first: string; last: string };
  limit: number;
  cursor?: string;
  /** Oldest event first (a replay re-sends in the order things happened); newest first otherwise. */
  oldestFirst?: boolean;
}

export interface WebhookStore {
  getWebhookEndpoint(endpointId: string): Promise<WebhookEndpoint | undefined>;
  /** Every endpoint (at most MAX_WEBHOOK_ENDPOINTS), oldest first. */
  listWebhookEndpoints(): Promise<WebhookEndpoint[]>;
  getWebhookDelivery(endpointId: string, deliveryId: string): Promise<WebhookDelivery | undefined>;
  /** An endpoint's deliveries, newest event first. */
  listWebhookDeliveries(endpointId: string, query: DeliveryQuery): Promise<Page<WebhookDelivery>>;
  /**
   * Whether the endpoint's lane (its deliveries of one order) holds a delivery before `position`
   * whose first attempt has not finished: the event before this one is still on its way.
   */
  hasUnfinishedPredecessor(lane: string, position: string): Promise<boolean>;
  /**
   * The deliverer's bookkeeping of an endpoint's health, each one conditional write that changes
   * nothing when the endpoint is already so (answers whether it changed anything).
   */
  markWebhookEndpointFailing(endpointId: string, at: Date, error: string): Promise<boolean>;
  markWebhookEndpointHealthy(endpointId: string, at: Date): Promise<boolean>;
  /** Disables an enabled endpoint; `failingBefore`: only if it has been failing since then. */
  disableWebhookEndpoint(endpointId: string, at: Date, reason: string, failingBefore?: Date): Promise<boolean>;
}

export type WebhookWrite =
  | { kind: 'createWebhookEndpoint'; endpoint: WebhookEndpoint }
  /** The count of endpoints, beside each create (+1, refused with WebhookEndpointLimitError past `limit`) and delete (−1). */
  | { kind: 'countWebhookEndpoints'; delta: 1 | -1; limit?: number }
  /** A whole-endpoint replacement, conditional on the version read. */
  | { kind: 'updateWebhookEndpoint'; endpoint: WebhookEndpoint; expectedVersion: number }
  | { kind: 'deleteWebhookEndpoint'; endpointId: string; expectedVersion: number }
  /** The first record of an event for an endpoint (AlreadyExistsError when the event came before). */
  | { kind: 'createWebhookDelivery'; delivery: WebhookDelivery; lane: { lane: string; position: string } }
  /** A delivery after an attempt, conditional on the version read; it leaves its lane once attempted. */
  | { kind: 'updateWebhookDelivery'; delivery: WebhookDelivery; expectedVersion: number };

/** A request for one attempt of a delivery, carried by the webhook queue. */
export interface WebhookAttemptRequest {
  kind: 'attempt';
  endpointId: string;
  deliveryId: string;
  trigger: 'retry' | 'replay';
  /** Not before (a retry waits hop by hop, at most 15 minutes each, until then). */
  dueAt: string;
}

/** The webhook queue (its messages: bus events from the rule, and attempt requests). */
export interface WebhookQueue {
  /** Sends each request, delayed by `delaySeconds` (0–900, SQS's limit). */
  enqueue(requests: readonly WebhookAttemptRequest[], delaySeconds: number): Promise<void>;
}

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** What came back: a status and the start of the body, or why there was none. */
export interface WebhookResponse {
  statusCode?: number;
  /** The first RESPONSE_EXCERPT_BYTES of the answer, as text. */
  body?: string;
  latencyMs: number;
  error?: string;
}

/**
 * Outbound HTTP to shop endpoints, holding the network policy (src/domain/webhook-address.ts):
 * refuses forbidden URLs and addresses, resolves names itself and connects to the very address it
 * checked, follows no redirect, reads a bounded answer within the timeout.
 */
export interface WebhookSender {
  /** A URL a shop registers, checked now (its host resolved): the URL as kept, or WebhookUrlRefusedError. */
  checkDestination(url: string): Promise<string>;
  /** One POST; never rejects: every failure is in the response. */
  post(request: WebhookRequest): Promise<WebhookResponse>;
}

/**
 * Envelope encryption's key service: a fresh data key per secret, returned in clear and wrapped
 * under the master key (KMS in AWS, a local key file locally), bound to `context`.
 */
export interface DataKeys {
  generateDataKey(context: Record<string, string>): Promise<{ plaintext: Uint8Array; wrapped: string }>;
  unwrapDataKey(wrapped: string, context: Record<string, string>): Promise<Uint8Array>;
}
