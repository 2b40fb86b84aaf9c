import type { AuditedEntity } from '../../domain/audit';
import type { OrderStatus } from '../../domain/order';
import type { Payment, PaymentMethod, PaymentStatus } from '../../domain/payment';
import type { RefundStatus } from '../../domain/refund';
import { paymentConditions, type PaymentCondition, refundOwed } from '../../domain/waiting';
import type { Uses } from '../kernel/deps';
import type { ListWindow } from '../kernel/page';
import type { OrderFilter, OrderStore } from '../orders/ports';
import { orderView, paymentView } from '../orders/views';
import type { NotificationStore } from '../payments/notification-ports';
import type { PaymentStore } from '../payments/ports';
import type { ReconciliationStore } from '../reconciliation/ports';
import type { RefundStore } from '../refunds/ports';
import { refundView } from '../refunds/views';
import { differenceView } from './difference-actions';
import type { AuditStore } from './ports';

/**
 * The lists customers and staff page through (docs/API.md#lists): each answers `{<noun>, nextCursor}`,
 * newest first, one index query a page (src/persistence/browse.ts).
 */

const next = (cursor: string | undefined) => (cursor ? { nextCursor: cursor } : {});

/** A payment as staff see it: the customer's view, its flags and what it owes back. */
export function staffPaymentView(payment: Payment, now: Date) {
  const owed = refundOwed(payment);
  return {
    ...paymentView(payment, now),
    customerId: payment.customerId,
    flags: paymentConditions(payment),
    ...(owed > 0 ? { refundOwed: owed } : {}),
    ...(payment.reviewReason ? { reviewReason: payment.reviewReason } : {}),
    ...(payment.review ? { reportedAmount: payment.review.amount, reportedCurrency: payment.review.currency } : {}),
  };
}

/** Orders with their current payment (the one that paid it, else the latest): a customer's own, or any for staff. */
export async function listOrders(
  deps: Uses<OrderStore, 'clock'>,
  filter: OrderFilter & { status?: OrderStatus },
  window: ListWindow,
) {
  const page = await deps.repo.listOrders(filter, window);
  const now = deps.clock.now();
  const byId = new Map(page.payments.map((payment) => [payment.paymentId, payment]));
  return {
    orders: page.items.map((order) => {
      const current = byId.get(order.paidByPaymentId ?? order.paymentIds.at(-1) ?? '');
      return { ...orderView(order), ...(current ? { payment: paymentView(current, now) } : {}) };
    }),
    ...next(page.cursor),
  };
}

export async function listPayments(
  deps: Uses<PaymentStore, 'clock'>,
  filter: { status?: PaymentStatus; method?: PaymentMethod; condition?: PaymentCondition },
  window: ListWindow,
) {
  const page = await deps.repo.listPayments(filter, window);
  const now = deps.clock.now();
  return { payments: page.items.map((payment) => staffPaymentView(payment, now)), ...next(page.cursor) };
}

export async function listRefunds(deps: Uses<RefundStore>, filter: { status?: RefundStatus }, window: ListWindow) {
  const page = await deps.repo.listRefunds(filter, window);
  return {
    refunds: page.items.map((refund) => ({
      ...refundView(refund),
      method: refund.method,
      ...(refund.offline ? { offline: true } : {}),
      ...(refund.providerStatus ? { providerStatus: refund.providerStatus } : {}),
    })),
    ...next(page.cursor),
  };
}

/** Reconciliation differences neither healed nor resolved, the newest day first. */
export async function listOpenDifferences(deps: Uses<ReconciliationStore>, window: ListWindow) {
  const page = await deps.repo.listOpenDifferences(window);
  return { differences: page.items.map(differenceView), ...next(page.cursor) };
}

/** Dead-lettered notifications not replayed since: what failed, why, how often. */
export async function listDeadLetters(deps: Uses<NotificationStore>, window: ListWindow) {
  const page = await deps.repo.listDeadLetters(window);
  return {
    deadLetters: page.items.map(({ notification: _body, ...failure }) => failure),
    ...next(page.cursor),
  };
}

export async function listAudit(deps: Uses<AuditStore>, entity: AuditedEntity, window: ListWindow) {
  const page = await deps.repo.listAudit(entity, window);
  return { entries: page.items, ...next(page.cursor) };
}
