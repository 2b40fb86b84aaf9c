import type { DomainEvent } from './events';
import type { Order } from './order';
import type { Refund, RefundStatus } from './refund';

/** The events of a refund's life, by deterministic id (its id, the type, its version). */

const REFUND_STATUS_EVENT: Partial<Record<RefundStatus, 'RefundSucceeded' | 'RefundFailed' | 'RefundAbnormal'>> = {
  succeeded: 'RefundSucceeded',
  failed: 'RefundFailed',
  abnormal: 'RefundAbnormal',
};

export function refundEvent(
  type: 'RefundRequested' | 'RefundSucceeded' | 'RefundFailed' | 'RefundAbnormal',
  refund: Refund,
): DomainEvent {
  return {
    id: `${refund.refundId}:${type}:${refund.version}`,
    type,
    occurredAt: refund.updatedAt,
    detail: {
      orderId: refund.orderId,
      paymentId: refund.paymentId,
      customerId: refund.customerId,
      refundId: refund.refundId,
      amount: refund.amount,
      method: refund.method,
      refundStatus: refund.status,
      origin: refund.origin,
      ...(refund.external ? { external: true } : {}),
      ...(refund.failureReason ? { failureReason: refund.failureReason } : {}),
    },
  };
}

/** The events of a refund reaching its status, with OrderRefunded when its order became refunded. */
export function refundStatusEvents(refund: Refund, order?: Order, orderBefore?: Order): DomainEvent[] {
  const type = REFUND_STATUS_EVENT[refund.status];
  const events = type ? [refundEvent(type, refund)] : [];
  if (order?.status === 'refunded' && orderBefore?.status !== 'refunded') {
    events.push({
      id: `${order.orderId}:OrderRefunded:${order.version}`,
      type: 'OrderRefunded',
      occurredAt: order.updatedAt,
      detail: {
        orderId: order.orderId,
        customerId: order.customerId,
        amount: order.refundedAmount,
        paymentId: refund.paymentId,
      },
    });
  }
  return events;
}
