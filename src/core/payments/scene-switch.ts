import { StaleStateError } from '../../domain/errors';
import {
  createPayment,
  settlePayment,
  statusEvent,
  transitionPayment,
  withNewPayment,
  type DomainEvent,
  type Order,
  type Payment,
} from '../../domain';
import { newId } from '../kernel/ids';
import { Metric } from '../kernel/metric-names';
import { PaymentAlreadyOpenError } from '../../domain/errors';
import { commitWithEvents } from '../outbox/outbox';
import { closeAtProvider } from './payments';
import type { PaymentProvider } from './provider';
import type { SceneChoice } from './scenes';
import { answer, checkoutAtProvider, type StartDeps, type StartedPayment } from './start';

interface Switching {
  provider: PaymentProvider;
  /** The processing payment the customer started in another scene (or for another payer). */
  payment: Payment;
  choice: SceneChoice;
  now: Date;
}

/**
 * Another scene on a started payment (QR on the desktop, then the phone): one payment is one
 * scene is one out_trade_no (SCENES.md §8). The new checkout is created and the old one closed
 * at the provider, then ONE transaction cancels the old payment and gives the order a new one,
 * already started in the new scene, with the same expiry. A close that found no trade (an unscanned Alipay QR) is not relied on:
 * that QR may still be paid until its time_expire, and such a payment takes the late-payment path
 * (the order paid once, the other payment refunded). A paid old checkout cannot be closed: 502,
 * nothing changed, and its callback pays the order.
 */
export async function switchScene(deps: StartDeps, switching: Switching): Promise<StartedPayment> {
  const { provider, payment, choice, now } = switching;
  const order = await deps.repo.getOrder(payment.orderId);
  if (!order || order.status !== 'pending' || order.openPaymentId !== payment.paymentId)
    throw new StaleStateError('payment', payment.paymentId, { status: payment.status });
  const replacement = replacementOf(payment, order, now);
  // The new checkout first: a provider that refuses it leaves the old one open and payable. One
  // created but never handed out (the close below failed) cannot be paid and dies at its expiry.
  const created = await checkoutAtProvider(deps, provider, replacement, choice, now);
  const closed = await closeAtProvider(deps, payment, now);
  const started = transitionPayment(replacement, {
    to: 'processing',
    now,
    source: 'customer',
    reason: `checkout created (${choice.scene}), replacing ${payment.paymentId}`,
    set: created,
  }).after;
  const cancel = settlePayment(payment, order, {
    to: 'cancelled',
    now,
    source: 'customer',
    reason: `replaced by ${started.paymentId}: the customer switched to ${choice.scene}${closed === 'closed' ? '' : ` (close at the provider: ${closed})`}`,
  });
  if (cancel.kind !== 'applied') throw new StaleStateError('payment', payment.paymentId, { status: payment.status });
  const events: DomainEvent[] = [...cancel.events, statusEvent(started)!];
  const orderAfter = withNewPayment(cancel.order ?? order, started.paymentId, now);
  try {
    await commitWithEvents(
      deps,
      [
        { kind: 'updatePayment', before: payment, after: cancel.payment },
        { kind: 'createPayment', payment: started },
        { kind: 'updateOrder', before: order, after: orderAfter },
      ],
      events,
    );
  } catch (error) {
    if (error instanceof StaleStateError) return afterLostRace(deps, provider, order, choice, now);
    throw error;
  }
  if (closed !== 'closed')
    deps.logger.warn('switched scene without a confirmed close; a late payment there is refunded', {
      paymentId: payment.paymentId,
      replacedBy: started.paymentId,
      close: closed,
    });
  const dims = { provider: payment.method };
  deps.metrics.count(Metric.PaymentCancelled, 1, dims);
  deps.metrics.count(Metric.PaymentsCreated, 1, dims);
  deps.metrics.count(Metric.PaymentsStarted, 1, { ...dims, scene: choice.scene });
  return answer(deps, provider, started, now);
}

/** The new payment: the same order, amount and method, the same expiry (switching devices does not buy time), a new id. */
function replacementOf(payment: Payment, order: Order, now: Date): Payment {
  const created = createPayment({
    paymentId: newId('pay', now),
    orderId: order.orderId,
    customerId: order.customerId,
    amount: payment.amount,
    method: payment.method,
    now,
    timing: { ttlMinutes: 0, reminderMinutes: 0 },
  });
  return {
    ...created,
    expiresAt: payment.expiresAt,
    ...(payment.remindAt && !payment.reminderSentAt ? { remindAt: payment.remindAt } : {}),
  };
}

/** Two switches raced: the winner's new payment answers, when it is the scene asked for. */
async function afterLostRace(
  deps: StartDeps,
  provider: PaymentProvider,
  order: Order,
  choice: SceneChoice,
  now: Date,
): Promise<StartedPayment> {
  const current = await deps.repo.getOrder(order.orderId);
  const open = current?.openPaymentId ? await deps.repo.getPayment(current.openPaymentId) : undefined;
  if (open?.status === 'processing' && open.scene === choice.scene) return answer(deps, provider, open, now);
  throw new PaymentAlreadyOpenError(order.orderId, current?.openPaymentId);
}
