import { DomainError, NotFoundError } from '../../domain/errors';
import { assertNotUnderReview, settlePayment, type Payment } from '../../domain';
import { ProviderCallError, type CloseOutcome, type PaymentProvider } from './provider';
import type { Deps, Uses } from '../kernel/deps';
import type { Commit } from '../kernel/ports';
import type { OrderStore } from '../orders/ports';
import type { PaymentStore } from './ports';
import { Metric } from '../kernel/metric-names';
import { orderChangeWrites } from '../orders/order-writes';
import { commitWithEvents } from '../outbox/outbox';
import { decideAgainOnStale } from '../kernel/stale';
import { paymentView } from '../orders/views';

/** Calling a payment's provider: the providers, and what counts and logs a failed call. */
export type ProviderCalls = Pick<Deps, 'providers' | 'metrics' | 'logger'>;

type CancelDeps = Uses<PaymentStore & OrderStore & Commit, 'clock' | 'providers' | 'metrics' | 'logger'>;

export class ProviderNotConfiguredError extends DomainError {
  constructor(method: string) {
    super('PROVIDER_NOT_CONFIGURED', `Payments by ${method} are not configured in this deployment`, { method });
  }
}

export class PaymentExpiredError extends DomainError {
  constructor(paymentId: string) {
    super('PAYMENT_EXPIRED', `Payment ${paymentId} has expired; create a new payment for the order`, { paymentId });
  }
}

export class ProviderUnavailableError extends DomainError {
  constructor(method: string, operation: string, extra: { retryable?: boolean; providerCode?: string } = {}) {
    super('PROVIDER_UNAVAILABLE', `${method} could not ${operation} right now; try again shortly`, {
      method,
      operation,
      ...extra,
    });
  }
}

export function providerFor(deps: Pick<Deps, 'providers'>, payment: Pick<Payment, 'method'>): PaymentProvider {
  const provider = deps.providers[payment.method];
  if (!provider) throw new ProviderNotConfiguredError(payment.method);
  return provider;
}

export async function loadOwnPayment(
  deps: Uses<PaymentStore>,
  customerId: string,
  paymentId: string,
): Promise<Payment> {
  const payment = await deps.repo.getPayment(paymentId);
  if (!payment || payment.customerId !== customerId) throw new NotFoundError('payment', paymentId);
  return payment;
}

/** A customer reads their own payment (another's reads 404); staff (admin scope) any, as with refunds. */
export async function getPayment(
  deps: Uses<PaymentStore, 'clock'>,
  viewer: { customerId: string; isAdmin: boolean },
  paymentId: string,
) {
  const payment = viewer.isAdmin
    ? await deps.repo.getPayment(paymentId)
    : await loadOwnPayment(deps, viewer.customerId, paymentId);
  if (!payment) throw new NotFoundError('payment', paymentId);
  return paymentView(payment, deps.clock.now());
}

export function notifyUrl(deps: Pick<Deps, 'publicBaseUrl'>, payment: Pick<Payment, 'method'>): string {
  return `${deps.publicBaseUrl}/api/payments/callback/${payment.method}`;
}

/** The placeholder of the shop's return page template (PAYMENT_RETURN_URL) that names the order. */
export const RETURN_URL_ORDER_PLACEHOLDER = '{orderId}';

/** The shop's page the customer's browser goes back to after paying, for this payment's order. */
export function returnUrlFor(template: string, payment: Pick<Payment, 'orderId'>): string {
  return template.replaceAll(RETURN_URL_ORDER_PLACEHOLDER, encodeURIComponent(payment.orderId));
}

/**
 * Closes a processing payment at its provider so it can no longer be paid there. A provider
 * without a close operation (the bank) relies on the expiry signed into its pay URL instead:
 * 'unsupported' says so; 'no_trade' says the provider had no trade to close yet (an unscanned
 * Alipay QR, an unopened page), which may still be paid until its own expiry. A paid payment
 * cannot be closed: that is a failure too.
 */
export async function closeAtProvider(
  deps: ProviderCalls,
  payment: Payment,
  now: Date,
): Promise<CloseOutcome | 'unsupported'> {
  const provider = providerFor(deps, payment);
  if (!provider.closePayment) return 'unsupported';
  try {
    return await provider.closePayment(payment.paymentId, now);
  } catch (error) {
    // A definite refusal may mean "already closed" (a retried cancel; Alipay's TRADE_STATUS_ERROR):
    // the provider's own view decides. Paid stays an error: its success callback pays the order.
    if (error instanceof ProviderCallError && !error.retryable && (await closedAtProvider(provider, payment, now)))
      return 'closed';
    deps.metrics.count(Metric.ProviderCloseFailed, 1, { provider: payment.method });
    deps.logger.warn('provider close failed', {
      paymentId: payment.paymentId,
      method: payment.method,
      error: String(error),
    });
    throw new ProviderUnavailableError(payment.method, 'close the payment');
  }
}

async function closedAtProvider(provider: PaymentProvider, payment: Payment, now: Date): Promise<boolean> {
  if (!provider.queryPayment) return false;
  const state = await provider.queryPayment(payment.paymentId, now).catch(() => undefined);
  return state?.status === 'closed';
}

/** The customer gives up on a payment: init/processing → cancelled; the order stays pending. Racing cancels both answer cancelled. */
export function cancelPayment(deps: CancelDeps, input: { customerId: string; paymentId: string }) {
  return decideAgainOnStale(() => cancelPaymentOnce(deps, input));
}

async function cancelPaymentOnce(deps: CancelDeps, input: { customerId: string; paymentId: string }) {
  const payment = await loadOwnPayment(deps, input.customerId, input.paymentId);
  const now = deps.clock.now();
  if (payment.status === 'cancelled') return paymentView(payment, now);
  assertNotUnderReview(payment);
  if (payment.status === 'processing') await closeAtProvider(deps, payment, now);
  const order = await deps.repo.getOrder(payment.orderId);
  if (!order) throw new NotFoundError('order', payment.orderId);
  const settlement = settlePayment(payment, order, {
    to: 'cancelled',
    now,
    source: 'customer',
    reason: 'cancelled by customer',
  });
  if (settlement.kind !== 'applied') return paymentView(payment, now);
  await commitWithEvents(
    deps,
    [
      { kind: 'updatePayment', before: payment, after: settlement.payment },
      ...(settlement.order ? orderChangeWrites(order, settlement.order) : []),
    ],
    settlement.events,
  );
  deps.metrics.count(Metric.PaymentCancelled, 1, { provider: payment.method });
  return paymentView(settlement.payment, now);
}
