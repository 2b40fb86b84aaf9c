import type { PaymentMethod } from '../../domain/payment';
import type { RefundPolicy } from '../../domain/refund';
import type { PaymentProvider } from '../payments/provider';
import type { Metrics } from './metric-names';
import type { Clock, Repository } from './ports';
import type { EventPublisher } from '../outbox/ports';
import type { NotificationQueue } from '../payments/notification-ports';
import type { DuePaymentQueue } from '../sweeper/ports';
import type { WebhookConfig } from '../webhooks/config';
import type { DataKeys, WebhookQueue, WebhookSender } from '../webhooks/ports';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface PaymentTimingConfig {
  ttlMinutes: number;
  reminderMinutes: number;
}

export interface SweeperConfig {
  /** First provider query of a processing payment, after it started. */
  firstQueryAfterSeconds: number;
  /** Later queries, while it stays processing. */
  queryEverySeconds: number;
  /** Payments handled per page of the due index. */
  batchSize: number;
  /** A run stops taking new work after this long, leaving the rest to the next run. */
  budgetMs: number;
  /** How long past expiry a provider without close (the bank) may still take the payment. */
  expiryGraceSeconds: number;
  /** Due payments one expiry-worker invocation settles side by side, per provider. */
  workerConcurrency: number;
}

export interface OrderPolicy {
  /** Pending orders one customer may hold at once; the next create is refused (stock hoarding). */
  maxPendingPerCustomer: number;
  /** An order with no open payment is cancelled (stock released) this long after its last payment ended. */
  unpaidCancelMinutes: number;
}

/** Everything the core needs, injected: AWS adapters in Lambda, local ones in `npm start` and tests. */
export interface Deps {
  repo: Repository;
  queue: NotificationQueue;
  /** Due payments from the sweeper to the expiry worker. */
  dueQueue: DuePaymentQueue;
  events: EventPublisher;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  providers: Partial<Record<PaymentMethod, PaymentProvider>>;
  timing: PaymentTimingConfig;
  sweeper: SweeperConfig;
  orders: OrderPolicy;
  refunds: RefundPolicy;
  /** Public base URL of this API, for provider notify URLs (`<base>/api/payments/callback/<provider>`). */
  publicBaseUrl: string;
  /**
   * The shop's page the customer's browser goes back to after paying, as a template:
   * `{orderId}` is replaced by the payment's order (returnUrlFor in src/core/payments/payments.ts).
   */
  returnUrlTemplate: string;
  /** Webhook delivery to the shop's endpoints (src/core/webhooks/): its behaviour and its ports. */
  webhooks: WebhookConfig;
  webhookQueue: WebhookQueue;
  webhookSender: WebhookSender;
  /** Seals and opens the endpoints' signing secrets (envelope encryption). */
  webhookKeys: DataKeys;
}

/** A 30-minute payment, reminded 5 minutes before it expires (PAYMENT_TTL_MINUTES, PAYMENT_REMINDER_MINUTES). */
export const DEFAULT_TIMING: PaymentTimingConfig = { ttlMinutes: 30, reminderMinutes: 5 };

export const DEFAULT_SWEEPER: SweeperConfig = {
  firstQueryAfterSeconds: 60,
  queryEverySeconds: 300,
  batchSize: 100,
  budgetMs: 40_000,
  expiryGraceSeconds: 120,
  workerConcurrency: 10,
};

export const DEFAULT_ORDER_POLICY: OrderPolicy = {
  maxPendingPerCustomer: 20,
  unpaidCancelMinutes: 24 * 60,
};

/**
 * What a use case needs: `repo` as the stores it reads and the commit it writes through, and the
 * other parts of Deps it names. Its signature says what it touches; Deps satisfies every one.
 */
export type Uses<Store, Parts extends keyof Omit<Deps, 'repo'> = never> = Pick<Deps, Parts> & { repo: Store };
