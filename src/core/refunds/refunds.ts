import {
  NotFoundError,
  RefundExceedsRefundableError,
  RefundLimitReachedError,
  PaymentNotRefundableError,
  StaleStateError,
} from '../../domain/errors';
import type { DomainEvent } from '../../domain/events';
import type { Fen } from '../../domain/money';
import type { RequestedItem } from '../../domain/order';
import type { Payment } from '../../domain/payment';
import {
  createRefund,
  isRefundOpen,
  MAX_REFUNDS_PER_PAYMENT,
  nextRefundAttemptAt,
  orderWithRestock,
  type Refund,
  type RefundChange,
  refundableAmount,
  refundAmountFor,
  refundAttempted,
  refundEnded,
  type RefundOrigin,
  REFUND_TRANSITIONS,
  transitionRefund,
} from '../../domain/refund';
import { refundEvent, refundStatusEvents } from '../../domain/refund-events';
import type { ProviderRefundState } from '../payments/provider';
import type { Deps, Uses } from '../kernel/deps';
import type { OrderStore } from '../orders/ports';
import { type PaymentStore, RefundCallSpacedError, RefundReservationRefusedError } from '../payments/ports';
import type { RefundStore } from './ports';
import { newId } from '../kernel/ids';
import { Metric } from '../kernel/metric-names';
import { commitWithEvents } from '../outbox/outbox';
import { notifyUrl, providerFor } from '../payments/payments';
import type { Commit, Write } from '../kernel/ports';
import { decideAgainOnStale } from '../kernel/stale';
import { restockWrites } from '../orders/stock';
import { refundView } from './views';

/** Settling a refund moves its payment and order with it. */
type SettleDeps = Uses<RefundStore & PaymentStore & OrderStore & Commit, 'clock' | 'metrics' | 'logger' | 'sweeper'>;
/** Asking a refund's provider, and settling what it answers. */
export type RefundCallDeps = SettleDeps & Pick<Deps, 'providers' | 'publicBaseUrl'>;
type RequestDeps = RefundCallDeps & Pick<Deps, 'refunds'>;

export interface RefundAsked {
  paymentId: string;
  /** Fen; absent: everything still refundable. */
  amount?: Fen;
  reason?: string;
  restock?: RequestedItem[];
  origin: RefundOrigin;
}

/**
 * Records a refund and reserves its amount on the payment in ONE transaction, before the provider
 * hears of it, then sends it when the payment's turn allows (else it stays pending and the sweeper
 * sends it). Racing requests cannot reserve more than was paid: the reservation is conditional on
 * the payment's refundable amount as it is at commit, not as it was read.
 */
export async function requestRefund(
  deps: RequestDeps,
  asked: RefundAsked,
  remember: (body: unknown) => Write[] = () => [],
): Promise<Refund> {
  // Restock is reserved on the order conditional on its version: a refund that lost that race decides again.
  const refund = await decideAgainOnStale(() => recordRefund(deps, asked, remember));
  deps.metrics.count(Metric.RefundRequested, 1, { provider: refund.method, origin: asked.origin });
  deps.logger.info('refund recorded', {
    refundId: refund.refundId,
    paymentId: refund.paymentId,
    amount: refund.amount,
    origin: asked.origin,
  });
  return Date.parse(refund.nextAttemptAt ?? '') <= deps.clock.now().getTime() ? sendRefund(deps, refund) : refund;
}

async function recordRefund(
  deps: RequestDeps,
  asked: RefundAsked,
  remember: (body: unknown) => Write[],
): Promise<Refund> {
  const payment = await deps.repo.getPayment(asked.paymentId);
  if (!payment) throw new NotFoundError('payment', asked.paymentId);
  providerFor(deps, payment); // 503 before anything is written
  const now = deps.clock.now();
  const amount = refundAmountFor(payment, asked.amount, now, deps.refunds);
  const restocked = asked.restock?.length ? await restockWrite(deps, payment, asked.restock, now) : [];

  const sendAt = payment.refundCallAt
    ? new Date(Math.max(now.getTime(), Date.parse(payment.refundCallAt) + deps.refunds.spacingSeconds * 1000))
    : now;
  const refund = createRefund({
    ...asked,
    refundId: newId('ref', now),
    payment,
    amount,
    sendAt: sendAt.toISOString(),
    now,
  });
  const reservation: Write = {
    kind: 'reserveRefund',
    paymentId: payment.paymentId,
    paymentAmount: payment.amount,
    refundId: refund.refundId,
    amount,
    limit: MAX_REFUNDS_PER_PAYMENT,
    now: now.toISOString(),
  };
  try {
    await commitWithEvents(
      deps,
      [{ kind: 'createRefund', refund }, reservation, ...restocked, ...remember({ refund: refundView(refund) })],
      [refundEvent('RefundRequested', refund)],
    );
  } catch (error) {
    if (error instanceof RefundReservationRefusedError) throw reservationRefusal(payment, amount, error);
    throw error;
  }
  return refund;
}

/** Why the conditional reservation failed, read from the payment as it was at commit. */
function reservationRefusal(payment: Payment, amount: Fen, error: RefundReservationRefusedError): Error {
  const current = { ...payment, ...(error.current as Partial<Payment>) };
  if (current.status !== 'succeeded') return new PaymentNotRefundableError(payment.paymentId, current.status);
  if ((current.refundIds?.length ?? 0) >= MAX_REFUNDS_PER_PAYMENT)
    return new RefundLimitReachedError(payment.paymentId, MAX_REFUNDS_PER_PAYMENT);
  return new RefundExceedsRefundableError(payment.paymentId, amount, refundableAmount(current));
}

/** The order with the refund's restock reserved, written with the refund (see orderWithRestock). */
async function restockWrite(
  deps: Uses<OrderStore>,
  payment: Payment,
  restock: RequestedItem[],
  now: Date,
): Promise<Write[]> {
  const order = await deps.repo.getOrder(payment.orderId);
  if (!order) throw new NotFoundError('order', payment.orderId);
  return [{ kind: 'updateOrder', before: order, after: orderWithRestock(order, payment.paymentId, restock, now) }];
}

/**
 * Asks the provider for the refund under its own id (the same id on every retry: one refund at
 * the provider however often it is sent), once the payment's turn to call has come. An unknown
 * outcome leaves it pending for the sweeper; never failed.
 */
export async function sendRefund(deps: RequestDeps, refund: Refund): Promise<Refund> {
  const now = deps.clock.now();
  const payment = await deps.repo.getPayment(refund.paymentId);
  if (!payment) throw new NotFoundError('payment', refund.paymentId);
  if (deps.refunds.spacingSeconds > 0) {
    try {
      await deps.repo.commit([
        {
          kind: 'claimRefundCall',
          paymentId: payment.paymentId,
          now: now.toISOString(),
          spacingSeconds: deps.refunds.spacingSeconds,
        },
      ]);
    } catch (error) {
      if (!(error instanceof RefundCallSpacedError)) throw error;
      const turn = new Date(
        Date.parse(error.lastCallAt ?? now.toISOString()) + deps.refunds.spacingSeconds * 1000,
      ).toISOString();
      return saveAttempt(deps, refund, {
        ...refund,
        nextAttemptAt: turn,
        updatedAt: now.toISOString(),
        version: refund.version + 1,
      });
    }
  }
  let state: ProviderRefundState;
  try {
    state = await providerFor(deps, payment).refund({
      refundId: refund.refundId,
      paymentId: payment.paymentId,
      providerTransactionId: refund.captureTransactionId ?? payment.providerTransactionId,
      amount: refund.amount,
      paymentAmount: refund.captureTransactionId ? refund.amount : payment.amount,
      currency: refund.currency,
      ...(refund.reason ? { reason: refund.reason } : {}),
      notifyUrl: notifyUrl(deps, payment),
      now,
    });
  } catch (error) {
    deps.metrics.count(Metric.RefundCallFailed, 1, { provider: payment.method });
    deps.logger.warn('refund outcome unknown; it stays pending and is sent again with the same id', {
      refundId: refund.refundId,
      error: String(error),
    });
    return saveAttempt(
      deps,
      refund,
      refundAttempted(refund, now, nextRefundAttemptAt(refund, now, firstQueryMs(deps))),
    );
  }
  return applyProviderState(deps, refund.refundId, state, 'refund call');
}

/** Asks the provider how an open refund stands (the sweeper; lost notifications). */
export async function queryRefund(deps: RefundCallDeps, refund: Refund): Promise<Refund> {
  const now = deps.clock.now();
  let state: ProviderRefundState;
  try {
    state = await providerFor(deps, refund).queryRefund({
      refundId: refund.refundId,
      paymentId: refund.paymentId,
      now,
    });
  } catch (error) {
    deps.metrics.count(Metric.RefundQueryFailed, 1, { provider: refund.method });
    deps.logger.warn('refund query failed', { refundId: refund.refundId, error: String(error) });
    return saveAttempt(
      deps,
      refund,
      refundAttempted(refund, now, nextRefundAttemptAt(refund, now, firstQueryMs(deps))),
    );
  }
  return applyProviderState(deps, refund.refundId, state, 'refund query');
}

/** Refunds are first asked about after the same delay as payments (PAYMENT_FIRST_QUERY_SECONDS). */
const firstQueryMs = (deps: Pick<Deps, 'sweeper'>) => deps.sweeper.firstQueryAfterSeconds * 1000;

/** Stores a rescheduled refund; losing the race means someone else moved it on, which is what counts. */
async function saveAttempt(deps: Uses<RefundStore & Commit>, before: Refund, after: Refund): Promise<Refund> {
  try {
    await deps.repo.commit([{ kind: 'updateRefund', before, after }]);
    return after;
  } catch (error) {
    if (!(error instanceof StaleStateError)) throw error;
    return (await deps.repo.getRefund(before.refundId)) ?? before;
  }
}

/** The change a provider's answer asks of a refund; undefined: no news, ask again later. */
export function changeFromProvider(state: ProviderRefundState, ref: string): Omit<RefundChange, 'now'> | undefined {
  const reason = `${ref}: ${state.providerStatus}`;
  switch (state.status) {
    case 'succeeded':
      return {
        to: 'succeeded',
        reason,
        ref,
        set: {
          succeededAt: state.succeededAt,
          providerStatus: state.providerStatus,
          ...(state.providerRefundId ? { providerRefundId: state.providerRefundId } : {}),
        },
      };
    case 'processing':
    case 'abnormal':
      return {
        to: state.status,
        reason,
        ref,
        set: {
          providerStatus: state.providerStatus,
          ...(state.providerRefundId ? { providerRefundId: state.providerRefundId } : {}),
        },
      };
    case 'failed':
      return { to: 'failed', reason, ref, set: { providerStatus: state.providerStatus, failureReason: state.reason } };
    case 'not_found':
      return undefined;
  }
}

export async function applyProviderState(
  deps: SettleDeps,
  refundId: string,
  state: ProviderRefundState,
  ref: string,
): Promise<Refund> {
  const now = deps.clock.now();
  const change = changeFromProvider(state, ref);
  return decideAgainOnStale(async () => {
    const refund = await deps.repo.getRefund(refundId);
    if (!refund) throw new NotFoundError('refund', refundId);
    if (!change || !REFUND_TRANSITIONS[refund.status].includes(change.to)) {
      // No news (still processing, or the provider does not know it yet: sent again next time),
      // or news the table does not take (an ended refund reported again).
      return isRefundOpen(refund.status)
        ? saveAttempt(deps, refund, refundAttempted(refund, now, nextRefundAttemptAt(refund, now, firstQueryMs(deps))))
        : refund;
    }
    return (await settleRefund(deps, refund, { ...change, now })) ?? refund;
  }, 5);
}

/**
 * Moves a refund to the status its provider reports and, when that ends it, its payment and order
 * with it, in one transaction (with `extra` writes: a notification's dedupe record). Restocked
 * items return with the success. Undefined when the table forbids the change (an ended refund
 * reported again): the caller keeps it as it is.
 */
export async function settleRefund(
  deps: SettleDeps,
  refund: Refund,
  change: RefundChange,
  extra: Write[] = [],
  extraEvents: DomainEvent[] = [],
): Promise<Refund | undefined> {
  if (!isRefundOpen(refund.status)) return undefined;
  let after = transitionRefund(refund, change);
  if (isRefundOpen(after.status))
    after = {
      ...after,
      attempts: refund.attempts + 1,
      nextAttemptAt: nextRefundAttemptAt(after, change.now, firstQueryMs(deps)),
    };
  const writes: Write[] = [...extra, { kind: 'updateRefund', before: refund, after }];
  let events: DomainEvent[] = refundStatusEvents(after);
  if (!isRefundOpen(after.status)) {
    const payment = await deps.repo.getPayment(refund.paymentId);
    if (!payment) throw new NotFoundError('payment', refund.paymentId);
    const order = await deps.repo.getOrder(refund.orderId);
    const ended = refundEnded(after, payment, order, change.now);
    writes.push({ kind: 'updatePayment', before: payment, after: ended.payment });
    if (ended.order && order) writes.push({ kind: 'updateOrder', before: order, after: ended.order });
    if (after.status === 'succeeded') writes.push(...restockWrites(order, after.restock ?? []));
    events = refundStatusEvents(after, ended.order, order);
  }
  await commitWithEvents(deps, writes, [...events, ...extraEvents]);
  const dims = { provider: refund.method };
  if (after.status === 'succeeded') deps.metrics.count(Metric.RefundSucceeded, 1, dims);
  if (after.status === 'failed') deps.metrics.count(Metric.RefundFailed, 1, dims);
  if (after.status === 'abnormal') deps.metrics.count(Metric.RefundAbnormal, 1, dims);
  deps.logger.info('refund moved', { refundId: refund.refundId, from: refund.status, to: after.status });
  return after;
}

/** POST /api/payments/{paymentId}/refunds. */
export async function refundPayment(
  deps: RequestDeps,
  input: { paymentId: string; amount?: Fen; reason?: string; restock?: RequestedItem[] },
  remember?: (body: unknown) => Write[],
) {
  return { refund: refundView(await requestRefund(deps, { ...input, origin: 'admin' }, remember)) };
}
