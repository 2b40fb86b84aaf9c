import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IdempotencyRecord } from '../core/kernel/idempotency-ports';
import type { ListWindow, Page } from '../core/kernel/page';
import type { Repository, Write } from '../core/kernel/ports';
import type { OutboxEntry } from '../core/outbox/ports';
import type { OrderFilter, OrdersPage } from '../core/orders/ports';
import type { ArchivedCallback, DedupeRecord, NotificationFailure } from '../core/payments/notification-ports';
import type { PaymentFilter } from '../core/payments/ports';
import type { ProviderName } from '../core/payments/provider';
import type { StoredDifference, StoredReconciliationDay } from '../core/reconciliation/ports';
import type { AuditedEntity, AuditEntry } from '../domain/audit';
import type { DeliveryQuery } from '../core/webhooks/ports';
import type { BusinessDate } from '../domain/bill';
import type { WebhookDelivery } from '../domain/webhook-delivery';
import type { WebhookEndpoint } from '../domain/webhook-endpoint';
import type { Order, Product } from '../domain/order';
import type { Payment } from '../domain/payment';
import type { Refund, RefundStatus } from '../domain/refund';
import type { PaymentCondition } from '../domain/waiting';
import * as audit from './audit';
import * as archive from './callback-archive';
import { commit } from './commit';
import type { DueOptions } from './due-index';
import * as idempotency from './idempotency';
import * as notifications from './notifications';
import * as orders from './orders';
import * as outbox from './outbox';
import * as payments from './payments';
import * as products from './products';
import * as reconciliation from './reconciliation';
import * as refunds from './refunds';
import * as webhooks from './webhooks';
import { DynamoTable } from './table';

export interface DynamoRepositoryOptions {
  tableName: string;
  client: DynamoDBClient;
  /** How often a transaction that conflicted with another in-flight transaction is retried. */
  conflictRetries?: number;
}

/**
 * Every store of the core over the single table: each port method is served by the module of its
 * aggregate (orders.ts, payments.ts, ...), the writes by commit.ts.
 */
export class DynamoRepository implements Repository {
  private readonly table: DynamoTable;
  /** The document client (a test checks its configuration). */
  private readonly doc: DynamoDBDocumentClient;
  private readonly conflictRetries: number;

  constructor(options: DynamoRepositoryOptions) {
    this.table = new DynamoTable(options.client, options.tableName);
    this.doc = this.table.doc;
    this.conflictRetries = options.conflictRetries ?? 5;
  }

  commit(writes: readonly Write[]): Promise<void> {
    return commit(this.table, writes, this.conflictRetries);
  }

  getOrder(orderId: string): Promise<Order | undefined> {
    return orders.getOrder(this.table, orderId);
  }
  findUnpaidOrders(unpaidSince: Date, options: DueOptions): Promise<Page<Order>> {
    return orders.findUnpaidOrders(this.table, unpaidSince, options);
  }
  listOrders(filter: OrderFilter, window: ListWindow): Promise<OrdersPage> {
    return orders.listOrders(this.table, filter, window);
  }

  getProducts(skus: readonly string[]): Promise<Map<string, Product>> {
    return products.getProducts(this.table, skus);
  }
  listProducts(): Promise<Product[]> {
    return products.listProducts(this.table);
  }

  getPayment(paymentId: string): Promise<Payment | undefined> {
    return payments.getPayment(this.table, paymentId);
  }
  getPayments(paymentIds: readonly string[]): Promise<Payment[]> {
    return payments.getPayments(this.table, paymentIds);
  }
  findDuePayments(dueBy: Date, options: DueOptions): Promise<Page<Payment>> {
    return payments.findDuePayments(this.table, dueBy, options);
  }
  countOpenPayments(): Promise<number> {
    return payments.countOpenPayments(this.table);
  }
  listPayments(filter: PaymentFilter, window: ListWindow): Promise<Page<Payment>> {
    return payments.listPayments(this.table, filter, window);
  }
  countPaymentsWith(condition: PaymentCondition): Promise<number> {
    return payments.countPaymentsWith(this.table, condition);
  }

  getRefund(refundId: string): Promise<Refund | undefined> {
    return refunds.getRefund(this.table, refundId);
  }
  getRefunds(refundIds: readonly string[]): Promise<Refund[]> {
    return refunds.getRefunds(this.table, refundIds);
  }
  findDueRefunds(dueBy: Date, options: DueOptions): Promise<Page<Refund>> {
    return refunds.findDueRefunds(this.table, dueBy, options);
  }
  oldestOpenRefundCreatedAt(): Promise<string | undefined> {
    return refunds.oldestOpenRefundCreatedAt(this.table);
  }
  listRefunds(filter: { status?: RefundStatus }, window: ListWindow): Promise<Page<Refund>> {
    return refunds.listRefunds(this.table, filter, window);
  }
  countAbnormalRefunds(): Promise<number> {
    return refunds.countAbnormalRefunds(this.table);
  }

  getIdempotencyRecord(customerId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return idempotency.getIdempotencyRecord(this.table, customerId, key);
  }
  getNotificationRecord(provider: ProviderName, eventId: string): Promise<DedupeRecord | undefined> {
    return notifications.getNotificationRecord(this.table, provider, eventId);
  }
  listDeadLetters(window: ListWindow): Promise<Page<NotificationFailure>> {
    return notifications.listDeadLetters(this.table, window);
  }
  countDeadLetters(): Promise<number> {
    return notifications.countDeadLetters(this.table);
  }
  getArchivedCallbacks(provider: ProviderName, eventId: string): Promise<ArchivedCallback[]> {
    return archive.getArchivedCallbacks(this.table, provider, eventId);
  }
  parkUndeliverable(entry: OutboxEntry): Promise<void> {
    return outbox.parkUndeliverable(this.table, entry);
  }

  listLedger(provider: ProviderName, date: BusinessDate): Promise<{ payments: Payment[]; refunds: Refund[] }> {
    return reconciliation.listLedger(this.table, provider, date);
  }
  getReconciliation(date: BusinessDate): Promise<StoredReconciliationDay> {
    return reconciliation.getReconciliation(this.table, date);
  }

  getWebhookEndpoint(endpointId: string): Promise<WebhookEndpoint | undefined> {
    return webhooks.getWebhookEndpoint(this.table, endpointId);
  }
  listWebhookEndpoints(): Promise<WebhookEndpoint[]> {
    return webhooks.listWebhookEndpoints(this.table);
  }
  getWebhookDelivery(endpointId: string, deliveryId: string): Promise<WebhookDelivery | undefined> {
    return webhooks.getWebhookDelivery(this.table, endpointId, deliveryId);
  }
  listWebhookDeliveries(endpointId: string, query: DeliveryQuery): Promise<Page<WebhookDelivery>> {
    return webhooks.listWebhookDeliveries(this.table, endpointId, query);
  }
  hasUnfinishedPredecessor(lane: string, position: string): Promise<boolean> {
    return webhooks.hasUnfinishedPredecessor(this.table, lane, position);
  }
  markWebhookEndpointFailing(endpointId: string, at: Date, error: string): Promise<boolean> {
    return webhooks.markWebhookEndpointFailing(this.table, endpointId, at, error);
  }
  markWebhookEndpointHealthy(endpointId: string, at: Date): Promise<boolean> {
    return webhooks.markWebhookEndpointHealthy(this.table, endpointId, at);
  }
  disableWebhookEndpoint(endpointId: string, at: Date, reason: string, failingBefore?: Date): Promise<boolean> {
    return webhooks.disableWebhookEndpoint(this.table, endpointId, at, reason, failingBefore);
  }

  getDifference(date: BusinessDate, provider: ProviderName, key: string): Promise<StoredDifference | undefined> {
    return reconciliation.getDifference(this.table, date, provider, key);
  }
  listOpenDifferences(window: ListWindow): Promise<Page<StoredDifference>> {
    return reconciliation.listOpenDifferences(this.table, window);
  }
  countOpenDifferences(): Promise<number> {
    return reconciliation.countOpenDifferences(this.table);
  }

  listAudit(entity: AuditedEntity, window: ListWindow): Promise<Page<AuditEntry>> {
    return audit.listAudit(this.table, entity, window);
  }
}
