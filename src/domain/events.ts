import type { Fen } from './money';
import type { Order } from './order';
import type { Payment, PaymentMethod, PaymentStatus } from './payment';

export const DOMAIN_EVENT_TYPES = [
  'OrderCreated',
  'PaymentStarted',
  'PaymentSucceeded',
  'PaymentFailed',
  'PaymentCancelled',
  'PaymentExpired',
  'PaymentExpiringSoon',
  'OrderPaid',
  'OrderCancelled',
  'LatePaymentReceived',
  'DuplicatePaymentDetected',
  'RefundRequested',
  'RefundSucceeded',
  'RefundFailed',
  'RefundAbnormal',
  'OrderRefunded',
  'ReconciliationDifference',
  'StaffActionRecorded',
] as const;
export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

export interface DomainEvent {
  /** Deterministic, so a re-published event carries the same id and consumers can drop repeats. */
  id: string;
  type: DomainEventType;
  occurredAt: string;
  detail: {
    orderId: string;
    paymentId?: string;
    customerId: string;
    amount?: Fen;
    method?: PaymentMethod;
    status?: PaymentStatus;
    [key: string]: unknown;
  };
}

const TERMINAL_EVENT: Partial<Record<PaymentStatus, DomainEventType>> = {
  processing: 'PaymentStarted',
  succeeded: 'PaymentSucceeded',
  failed: 'PaymentFailed',
  cancelled: 'PaymentCancelled',
  expired: 'PaymentExpired',
};

export function paymentEvent(
  type: DomainEventType,
  payment: Payment,
  extra: Record<string, unknown> = {},
): DomainEvent {
  return {
    id: `${payment.paymentId}:${type}:${payment.version}`,
    type,
    occurredAt: payment.updatedAt,
    detail: {
      orderId: payment.orderId,
      paymentId: payment.paymentId,
      customerId: payment.customerId,
      amount: payment.amount,
      method: payment.method,
      status: payment.status,
      ...extra,
    },
  };
}

/** The event announcing that a payment reached `payment.status`, if that status has one. */
export function statusEvent(payment: Payment): DomainEvent | undefined {
  const type = TERMINAL_EVENT[payment.status];
  return type && paymentEvent(type, payment);
}

export function orderEvent(
  type: 'OrderCreated' | 'OrderPaid' | 'OrderCancelled',
  order: Order,
  extra: Record<string, unknown> = {},
): DomainEvent {
  return {
    id: `${order.orderId}:${type}:${order.version}`,
    type,
    occurredAt: order.updatedAt,
    detail: { orderId: order.orderId, customerId: order.customerId, amount: order.totalAmount, ...extra },
  };
}
