import type { OrderStore, OrderWrite, ProductStore, ProductWrite } from '../orders/ports';
import type { PurchaseCountWrite, StockShardWrite } from '../orders/stock-ports';
import type { OutboxStore, OutboxWrite } from '../outbox/ports';
import type {
  CallbackArchive,
  CallbackArchiveWrite,
  NotificationStore,
  NotificationWrite,
} from '../payments/notification-ports';
import type { PaymentStore, PaymentWrite } from '../payments/ports';
import type { ReconciliationStore, ReconciliationWrite } from '../reconciliation/ports';
import type { RefundStore, RefundWrite } from '../refunds/ports';
import type { WebhookStore, WebhookWrite } from '../webhooks/ports';
import type { AuditStore, AuditWrite } from '../staff/ports';
import type { IdempotencyStore, IdempotencyWrite } from './idempotency-ports';

/**
 * The ports every capability shares. Each capability declares its own store and writes beside its
 * use cases (orders/ports.ts, payments/ports.ts, ...); they meet here in the unit of work.
 */

export interface Clock {
  now(): Date;
}

/**
 * One write inside a transaction. The persistence adapter turns each into a conditional DynamoDB
 * write and each failed condition into a typed error naming what failed.
 */
export type Write =
  | OrderWrite
  | ProductWrite
  | StockShardWrite
  | PurchaseCountWrite
  | PaymentWrite
  | RefundWrite
  | IdempotencyWrite
  | NotificationWrite
  | CallbackArchiveWrite
  | OutboxWrite
  | ReconciliationWrite
  | WebhookWrite
  | AuditWrite;

/** The most writes one commit may hold: DynamoDB's TransactWriteItems limit (each write is one item). */
export const MAX_WRITES_PER_COMMIT = 100;

/** The unit of work. */
export interface Commit {
  /** All writes (at most MAX_WRITES_PER_COMMIT) in one transaction: all happen or none does. */
  commit(writes: readonly Write[]): Promise<void>;
}

/** Every store and the commit: what the DynamoDB adapter implements and Deps carries. */
export type Repository = Commit &
  OrderStore &
  ProductStore &
  PaymentStore &
  RefundStore &
  IdempotencyStore &
  NotificationStore &
  CallbackArchive &
  OutboxStore &
  ReconciliationStore &
  WebhookStore &
  AuditStore;
