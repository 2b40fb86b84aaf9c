import { DomainError, NotFoundError, StaleStateError } from '../../domain/errors';
import type { DomainEvent } from '../../domain/events';
import type { NotificationOutcome, PaymentNotification } from '../../domain/notification';
import {
  type Order,
  parkForReview,
  type Payment,
  type Settlement,
  settleNotification,
  settlePayment,
} from '../../domain';
import type { Deps, Uses } from '../kernel/deps';
import type { OrderStore } from '../orders/ports';
import type { PaymentStore } from './ports';
import { Metric } from '../kernel/metric-names';
import { orderChangeWrites } from '../orders/order-writes';
import { commitWithEvents } from '../outbox/outbox';
import { closeAtProvider } from './payments';
import type { ProviderPaymentState } from './provider';
import { NotificationAlreadyAppliedError } from './notification-ports';
import type { Commit, Write } from '../kernel/ports';
import { automaticRefunds } from '../refunds/owed-refunds';
import {} from '../../domain/refund';
import { refundEvent } from '../../domain/refund-events';

/** Dedupe records outlive every provider's retry window (WeChat ~24 h, Alipay ~25 h, Stripe 3 days). */
export const DEDUPE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** The record that a provider notification (payment or refund) was applied, and how. */
export function dedupeWrite(
  notification: Pick<PaymentNotification, 'provider' | 'eventId' | 'paymentId'>,
  now: Date,
  result: NotificationResult,
): Write {
  return {
    kind: 'recordNotification',
    record: {
      provider: notification.provider,
      eventId: notification.eventId,
      paymentId: notification.paymentId,
      appliedAt: now.toISOString(),
      result,
      expiresAt: new Date(now.getTime() + DEDUPE_RETENTION_MS).toISOString(),
    },
  };
}
const MAX_ATTEMPTS = 5;

/** What applying a payment notification touches (a superseded payment is closed at its provider). */
type NotificationDeps = Uses<
  PaymentStore & OrderStore & Commit,
  'clock' | 'metrics' | 'logger' | 'providers' | 'refunds'
>;

export type NotificationResult =
  'applied' | 'duplicate' | 'ignored' | 'unchanged' | 'amount_mismatch' | 'extra_capture' | 'parked';

/** A notification for a payment we do not have (yet): retried, then dead-lettered for a human. */
export class UnknownPaymentError extends DomainError {
  constructor(readonly paymentId: string) {
    super('UNKNOWN_PAYMENT', `No payment ${paymentId}`);
  }
}

const outboxIdOf = (n: PaymentNotification) => `notification:${n.provider}:${n.eventId}`;

/** Whether a notification's money matches the payment it names; callers reject a mismatch. */
export function matchesPayment(
  notification: PaymentNotification,
  payment: Payment,
): 'ok' | 'amount_mismatch' | 'currency_mismatch' | 'method_mismatch' {
  if (notification.provider !== payment.method) return 'method_mismatch';
  if (notification.currency !== payment.currency) return 'currency_mismatch';
  if (notification.amount !== payment.amount) return 'amount_mismatch';
  return 'ok';
}

/**
 * Applies one verified notification (from a callback or from our own query of the provider) in
 * ONE transaction: the dedupe record, the payment transition and the order sync, plus the outbox
 * entry with its events. Safe to run any number of times for the same notification: the dedupe
 * record's condition lets exactly one application commit; the others are duplicates.
 */
export async function applyNotification(
  deps: NotificationDeps,
  notification: PaymentNotification,
): Promise<NotificationResult> {
  const started = performance.now();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await applyOnce(deps, notification);
        deps.metrics.count(
          result === 'duplicate'
            ? Metric.NotificationDuplicate
            : result === 'ignored'
              ? Metric.NotificationIgnored
              : Metric.NotificationApplied,
          1,
          {
            provider: notification.provider,
            result,
          },
        );
        return result;
      } catch (error) {
        if (error instanceof NotificationAlreadyAppliedError) {
          deps.metrics.count(Metric.NotificationDuplicate, 1, { provider: notification.provider, result: 'duplicate' });
          return 'duplicate';
        }
        // Someone (the sweeper, the customer) changed the payment or order since we read it: decide again.
        if (error instanceof StaleStateError && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  } finally {
    deps.metrics.observe(Metric.WorkerLatency, performance.now() - started, 'Milliseconds', {
      provider: notification.provider,
    });
  }
}

/**
 * Not preceded by a read of the dedupe record: its conditional put in the transaction decides,
 * and a duplicate fails it (NotificationAlreadyAppliedError, above). Whatever runs before the
 * commit must therefore be safe to run for a duplicate too: counting and logging come after it.
 */
async function applyOnce(deps: NotificationDeps, notification: PaymentNotification): Promise<NotificationResult> {
  const payment = await deps.repo.getPayment(notification.paymentId);
  if (!payment) throw new UnknownPaymentError(notification.paymentId);
  const order = await deps.repo.getOrder(payment.orderId);
  if (!order) throw new NotFoundError('order', payment.orderId);
  const now = deps.clock.now();
  const applying: Applying = {
    notification,
    payment,
    order,
    now,
    dedupe: (result) => dedupeWrite(notification, now, result),
  };

  if (matchesPayment(notification, payment) !== 'ok') return parkMismatched(deps, applying);
  const settlement = settleNotification(payment, order, notification, now);
  if (settlement.kind === 'unchanged') {
    await deps.repo.commit([applying.dedupe('unchanged')]);
    return 'unchanged';
  }
  if (settlement.kind === 'ignored') {
    await deps.repo.commit([
      applying.dedupe('ignored'),
      { kind: 'updatePayment', before: payment, after: settlement.payment },
    ]);
    return 'ignored';
  }
  if (settlement.kind === 'extra_capture') return applyExtraCapture(deps, applying, settlement);
  return applySettlement(deps, applying, settlement);
}

/** One notification being applied: what it names as read, and its dedupe record with a result. */
interface Applying {
  notification: PaymentNotification;
  payment: Payment;
  order: Order;
  now: Date;
  dedupe: (result: NotificationResult) => Write;
}

type Settled<Kind extends Settlement['kind']> = Extract<Settlement, { kind: Kind }>;

/** Money that does not match is never applied: the payment is parked for a person and alarmed. */
async function parkMismatched(
  deps: NotificationDeps,
  { notification, payment, now, dedupe }: Applying,
): Promise<NotificationResult> {
  const mismatch = matchesPayment(notification, payment);
  const reason = `${mismatch}: ${notification.provider} ${notification.via} says ${notification.outcome} for ${notification.amount} ${notification.currency}, the payment is ${payment.amount} ${payment.currency}`;
  const parked = parkForReview(payment, { reason, source: 'provider', ref: notification.eventId }, now, notification);
  await deps.repo.commit([dedupe('amount_mismatch'), { kind: 'updatePayment', before: payment, after: parked }]);
  deps.metrics.count(Metric.AmountMismatch, 1, { provider: notification.provider });
  deps.logger.error('notification does not match its payment; parked for review', {
    paymentId: payment.paymentId,
    eventId: notification.eventId,
    mismatch,
  });
  return 'amount_mismatch';
}

/** Money taken twice: kept on the payment with refundRequired, and refunded by itself (one refund per capture). */
async function applyExtraCapture(
  deps: NotificationDeps,
  applying: Applying,
  settlement: Settled<'extra_capture'>,
): Promise<NotificationResult> {
  const { notification, payment, now, dedupe } = applying;
  const refunding = withAutomaticRefunds(deps, payment, settlement.payment, now);
  await commitWithEvents(
    deps,
    [dedupe('extra_capture'), ...refunding.writes],
    [...settlement.events, ...refunding.events],
    outboxIdOf(notification),
  );
  deps.metrics.count(Metric.DuplicatePayment, 1, { provider: notification.provider });
  countAutomaticRefunds(deps, refunding.refunds.length, notification.provider);
  deps.logger.error('provider captured a succeeded payment again; refund required', {
    paymentId: payment.paymentId,
    capture: settlement.capture,
  });
  return 'extra_capture';
}

/** The payment moves, its order with it; a late or duplicate payment the order cannot use is refunded by itself, in the same transaction. */
async function applySettlement(
  deps: NotificationDeps,
  applying: Applying,
  settlement: Settled<'applied'>,
): Promise<NotificationResult> {
  const { notification, payment, order, now, dedupe } = applying;
  const refunding = withAutomaticRefunds(deps, payment, settlement.payment, now);
  const writes: Write[] = [dedupe('applied'), ...refunding.writes];
  if (settlement.order) writes.push(...orderChangeWrites(order, settlement.order));
  const events: DomainEvent[] = [...settlement.events, ...refunding.events];
  const superseded = await cancelSuperseded(deps, settlement, settlement.order ?? order, payment, now);
  if (superseded.cancel) {
    writes.push(superseded.cancel.write);
    events.push(...superseded.cancel.events);
  }
  await commitWithEvents(deps, writes, events, outboxIdOf(notification));
  if (superseded.payment?.status === 'processing')
    await closeAtProvider(deps, superseded.payment, now).catch(() => undefined);

  const dims = { provider: notification.provider };
  countAutomaticRefunds(deps, refunding.refunds.length, notification.provider);
  deps.metrics.count(statusMetric[settlement.payment.status] ?? Metric.NotificationApplied, 1, dims);
  if (settlement.late) deps.metrics.count(Metric.LatePayment, 1, dims);
  if (settlement.duplicate || settlement.refundRequired) deps.metrics.count(Metric.DuplicatePayment, 1, dims);
  if (settlement.sceneMismatch) {
    deps.metrics.count(Metric.TradeTypeMismatch, 1, dims);
    deps.logger.warn('paid in another scene than it was started in', {
      paymentId: payment.paymentId,
      scene: payment.scene,
      tradeType: notification.tradeType,
      reportedScene: notification.scene,
    });
  }
  if (settlement.late || settlement.refundRequired) {
    deps.logger.warn('late or duplicate payment applied', {
      paymentId: payment.paymentId,
      from: payment.status,
      refundRequired: settlement.refundRequired,
    });
  }
  return 'applied';
}

/**
 * The payment as settled, with the refunds of money its order cannot use (automaticRefunds), as
 * the writes that store them and their RefundRequested events.
 */
function withAutomaticRefunds(deps: Pick<Deps, 'refunds'>, before: Payment, settled: Payment, now: Date) {
  const refunding = automaticRefunds(deps, settled, now);
  return {
    refunds: refunding.refunds,
    writes: [
      { kind: 'updatePayment', before, after: refunding.payment },
      ...refunding.refunds.map((refund): Write => ({ kind: 'createRefund', refund })),
    ] as Write[],
    events: refunding.refunds.map((refund) => refundEvent('RefundRequested', refund)),
  };
}

/** The order was just paid by a late payment: its newer open payment must not take money too (cancelled in the same transaction). */
async function cancelSuperseded(
  deps: NotificationDeps,
  settlement: Settled<'applied'>,
  order: Order,
  payment: Payment,
  now: Date,
): Promise<{ payment?: Payment; cancel?: { write: Write; events: DomainEvent[] } }> {
  const superseded = settlement.supersededPaymentId
    ? await deps.repo.getPayment(settlement.supersededPaymentId)
    : undefined;
  if (!superseded || (superseded.status !== 'init' && superseded.status !== 'processing'))
    return { payment: superseded };
  const cancel = settlePayment(superseded, order, {
    to: 'cancelled',
    now,
    source: 'system',
    reason: `order paid by ${payment.paymentId}`,
  });
  if (cancel.kind !== 'applied') return { payment: superseded };
  return {
    payment: superseded,
    cancel: { write: { kind: 'updatePayment', before: superseded, after: cancel.payment }, events: cancel.events },
  };
}

function countAutomaticRefunds(deps: Pick<Deps, 'metrics'>, count: number, provider: string): void {
  if (count > 0) deps.metrics.count(Metric.RefundRequested, count, { provider, origin: 'auto' });
}

const statusMetric: Partial<Record<Payment['status'], (typeof Metric)[keyof typeof Metric]>> = {
  succeeded: Metric.PaymentSucceeded,
  failed: Metric.PaymentFailed,
  cancelled: Metric.PaymentCancelled,
};

const QUERIED_OUTCOME: Readonly<Record<'paid' | 'failed' | 'closed', NotificationOutcome>> = {
  paid: 'succeeded',
  failed: 'failed',
  closed: 'cancelled',
};

/**
 * The provider's answer to our query of a payment, as the notification a callback would have
 * carried; undefined while it decides nothing (pending, not found). The event id names what was
 * learnt, so the sweeper and the reconciliation learning the same thing apply it once.
 */
export function notificationFromQuery(
  payment: Payment,
  state: ProviderPaymentState,
  now: Date,
): PaymentNotification | undefined {
  if (state.status !== 'paid' && state.status !== 'failed' && state.status !== 'closed') return undefined;
  const paid = state.status === 'paid';
  return {
    provider: payment.method,
    eventId: `query:${payment.paymentId}:${state.status}${paid ? `:${state.providerTransactionId}` : ''}`,
    paymentId: payment.paymentId,
    ...(paid ? { providerTransactionId: state.providerTransactionId } : {}),
    outcome: QUERIED_OUTCOME[state.status],
    amount: paid ? state.amount : payment.amount,
    currency: paid ? state.currency : payment.currency,
    occurredAt: paid ? state.paidAt : now.toISOString(),
    providerStatus: state.providerStatus,
    ...(paid && state.tradeType ? { tradeType: state.tradeType } : {}),
    ...(paid && state.scene ? { scene: state.scene } : {}),
    via: 'query',
  };
}
