import { DomainError, InvalidTransitionError } from './errors';
import { type DomainEvent, orderEvent, paymentEvent, statusEvent } from './events';
import type { PaymentNotification } from './notification';
import { type Order, paidOrder, withoutOpenPayment } from './order';
import type { Fen } from './money';
import type { PaymentScene } from './scene';
import {
  effectiveStatus,
  type ExtraCapture,
  noteOnPayment,
  type Payment,
  type PaymentStatus,
  type TransitionSource,
  transitionPayment,
} from './payment';

/**
 * Applying a payment outcome to the payment and its order together: the heart of order sync.
 * Pure: the caller persists `payment` and `order` in one transaction, conditional on the
 * versions it read, then publishes `events`.
 */
export type Settlement =
  | {
      kind: 'applied';
      payment: Payment;
      /** The order after the sync, when it changed. */
      order?: Order;
      events: DomainEvent[];
      late: boolean;
      refundRequired: boolean;
      duplicate: boolean;
      /** Another payment still open for an order this success just paid: it must be cancelled. */
      supersededPaymentId?: string;
      /** The provider says it was paid in another scene than the one we started (alarmed). */
      sceneMismatch: boolean;
    }
  /** A succeeded payment captured again under another provider transaction: kept, flagged for refund. */
  | { kind: 'extra_capture'; payment: Payment; capture: ExtraCapture; events: DomainEvent[] }
  /** Recorded in the payment's log but not applied (it would move the payment backwards). */
  | { kind: 'ignored'; payment: Payment; reason: string }
  /** The payment is already in that state: nothing to write. */
  | { kind: 'unchanged' };

export interface SettlementRequest {
  to: PaymentStatus;
  now: Date;
  source: TransitionSource;
  reason: string;
  ref?: string;
  providerTransactionId?: string;
  /** What the provider says it took, for a success; the payment's amount when not given. */
  amount?: Fen;
  /** How the provider says it was paid (WeChat trade_type), recorded on the payment. */
  tradeType?: string;
  /** The scene that stands for at the provider, checked against the payment's. */
  scene?: PaymentScene;
}

/** A provider that says how it was paid must say the scene we started; an older payment without one is not checked. */
function sceneMismatchOf(payment: Payment, request: SettlementRequest): boolean {
  return request.scene !== undefined && payment.scene !== undefined && request.scene !== payment.scene;
}

export function settlePayment(payment: Payment, order: Order, request: SettlementRequest): Settlement {
  if (payment.orderId !== order.orderId)
    throw new DomainError('ORDER_MISMATCH', `Payment ${payment.paymentId} is not for order ${order.orderId}`);
  if (payment.status === 'succeeded' && request.to === 'succeeded') return captureAgain(payment, request);
  if (payment.status === request.to) return { kind: 'unchanged' };
  const sceneMismatch = sceneMismatchOf(payment, request);
  const transition = transitionOrIgnore(payment, {
    ...request,
    reason: sceneMismatch
      ? `${request.reason} (trade type ${request.tradeType ?? '?'} is the ${request.scene} scene, started as ${payment.scene})`
      : request.reason,
  });
  if ('kind' in transition) return transition;

  const { after, nextOrder, refundRequired, duplicate } = orderFollows(order, transition.after, request);
  const releasesOpenSlot = order.openPaymentId === payment.paymentId;
  const events: DomainEvent[] = [];
  const status = statusEvent(after);
  if (status) events.push(status);
  if (transition.late)
    events.push(
      paymentEvent('LatePaymentReceived', after, {
        previousStatus: effectiveStatus(payment, request.now),
        refundRequired,
      }),
    );
  if (duplicate)
    events.push(paymentEvent('DuplicatePaymentDetected', after, { paidByPaymentId: order.paidByPaymentId }));
  if (nextOrder?.status === 'paid') events.push(orderEvent('OrderPaid', nextOrder, { paymentId: payment.paymentId }));

  const supersededPaymentId =
    nextOrder?.status === 'paid' && order.openPaymentId && !releasesOpenSlot ? order.openPaymentId : undefined;
  return {
    kind: 'applied',
    payment: after,
    order: nextOrder,
    events,
    late: transition.late,
    refundRequired,
    duplicate,
    supersededPaymentId,
    sceneMismatch,
  };
}

/**
 * The payment's transition, or, for an outcome that would move an ended payment elsewhere (failed
 * after succeeded, say), an `ignored` settlement kept for the audit trail when it came from the
 * provider; a customer's illegal request is an error.
 */
function transitionOrIgnore(payment: Payment, request: SettlementRequest) {
  try {
    return transitionPayment(payment, {
      to: request.to,
      now: request.now,
      source: request.source,
      reason: request.reason,
      ref: request.ref,
      set: {
        ...(request.to === 'succeeded'
          ? { paidAt: request.now.toISOString(), providerTransactionId: request.providerTransactionId }
          : {}),
        ...(request.tradeType ? { tradeType: request.tradeType } : {}),
      },
    });
  } catch (error) {
    if (!(error instanceof InvalidTransitionError) || request.source !== 'provider') throw error;
    const reason = `ignored ${request.to} (payment already ${payment.status}): ${request.reason}`;
    const ignored: Settlement = {
      kind: 'ignored',
      payment: noteOnPayment(payment, { reason, source: request.source, ref: request.ref }, request.now),
      reason,
    };
    return ignored;
  }
}

/** What the order does with the payment's new status: paid by a success, its slot freed by an ending. */
function orderFollows(order: Order, after: Payment, request: SettlementRequest) {
  if (request.to === 'succeeded') {
    if (order.status === 'pending')
      return {
        after,
        nextOrder: paidOrder(order, after.paymentId, request.now),
        refundRequired: false,
        duplicate: false,
      };
    // The money arrived but the order cannot take it: paid by another payment, or cancelled.
    const duplicate = order.status === 'paid' && order.paidByPaymentId !== after.paymentId;
    return {
      after: { ...after, refundRequired: true, keptAmount: 0 },
      nextOrder: undefined,
      refundRequired: true,
      duplicate,
    };
  }
  const releasesOpenSlot = order.openPaymentId === after.paymentId;
  const nextOrder =
    releasesOpenSlot && after.status !== 'processing' ? withoutOpenPayment(order, request.now) : undefined;
  return { after, nextOrder, refundRequired: false, duplicate: false };
}

/**
 * Another success for a succeeded payment. The same provider transaction (or one we cannot tell
 * apart, without an id) is the success we already have; another one is money taken twice.
 */
function captureAgain(payment: Payment, request: SettlementRequest): Settlement {
  const transactionId = request.providerTransactionId;
  const known = [
    payment.providerTransactionId,
    ...(payment.extraCaptures ?? []).map((capture) => capture.providerTransactionId),
  ];
  if (!transactionId || !payment.providerTransactionId || known.includes(transactionId)) return { kind: 'unchanged' };
  const capture: ExtraCapture = {
    providerTransactionId: transactionId,
    amount: request.amount ?? payment.amount,
    capturedAt: request.now.toISOString(),
    ...(request.ref ? { eventId: request.ref } : {}),
  };
  const reason = `extra capture ${transactionId} of ${capture.amount} fen, refund required: ${request.reason}`;
  const noted = noteOnPayment(payment, { reason, source: request.source, ref: request.ref }, request.now);
  const after: Payment = { ...noted, refundRequired: true, extraCaptures: [...(payment.extraCaptures ?? []), capture] };
  const event = paymentEvent('DuplicatePaymentDetected', after, {
    appliedTransactionId: payment.providerTransactionId,
    extraCapture: capture,
  });
  return { kind: 'extra_capture', payment: after, capture, events: [event] };
}

/** The settlement a verified provider notification asks for. */
export function settleNotification(
  payment: Payment,
  order: Order,
  notification: PaymentNotification,
  now: Date,
): Settlement {
  return settlePayment(payment, order, {
    to: notification.outcome,
    now,
    source: 'provider',
    reason: `${notification.provider} ${notification.via}: ${notification.providerStatus}`,
    ref: notification.eventId,
    providerTransactionId: notification.providerTransactionId,
    amount: notification.amount,
    tradeType: notification.tradeType,
    scene: notification.scene,
  });
}
