import { InvalidTransitionError, StaleStateError } from '../../domain/errors';
import {
  checkoutUsable,
  effectiveStatus,
  nextLookAt,
  payUrlOf,
  sameCheckoutInputs,
  statusEvent,
  transitionPayment,
  type PayAction,
  type Payment,
  type PaymentScene,
  type KeptCheckout,
  type StartedCheckout,
} from '../../domain';
import type { Uses } from '../kernel/deps';
import type { Commit } from '../kernel/ports';
import { Metric } from '../kernel/metric-names';
import type { OrderStore } from '../orders/ports';
import { paymentView, type PaymentView } from '../orders/views';
import { commitWithEvents } from '../outbox/outbox';
import { loadOwnPayment, notifyUrl, PaymentExpiredError, providerFor, returnUrlFor } from './payments';
import type { PaymentStore } from './ports';
import type { PaymentProvider } from './provider';
import { chooseScene, defaultScene, type SceneChoice, type SceneRequest } from './scenes';
import { switchScene } from './scene-switch';
import { CheckoutRefusedError, checkoutFailure, settleRefusedCheckout } from './checkout-refusals';

export type StartDeps = Uses<
  PaymentStore & OrderStore & Commit,
  | 'clock'
  | 'providers'
  | 'publicBaseUrl'
  | 'returnUrlTemplate'
  | 'sweeper'
  | 'metrics'
  | 'logger'
  | 'timing'
  | 'refunds'
>;

/** The answer to a start: the payment (a new one after a scene switch), what the front end does, and the address where there is one. */
export interface StartedPayment {
  payment: PaymentView;
  action: PayAction;
  /** Redirect and QR scenes: the page or QR content, as before scenes. */
  payUrl?: string;
}

/**
 * Starts a payment in a scene (docs/API.md#start-a-payment): creates the checkout at the provider
 * and moves the payment init → processing. A repeated start in the same scene answers the checkout
 * it has (fresh bridge signatures) while its handle lives, and re-enters at the provider (same
 * out_trade_no, same parameters) once it has died; another scene, or another payer, replaces the
 * payment (scene-switch.ts): one payment is one scene is one out_trade_no.
 */
export async function startPayment(
  deps: StartDeps,
  input: SceneRequest & { customerId: string; paymentId: string },
): Promise<StartedPayment> {
  const payment = await loadOwnPayment(deps, input.customerId, input.paymentId);
  const now = deps.clock.now();
  // What GET reads decides: an expired payment hands out no checkout, not even its old one.
  if (effectiveStatus(payment, now) === 'expired') throw new PaymentExpiredError(payment.paymentId);
  if (payment.status !== 'init' && payment.status !== 'processing')
    throw new InvalidTransitionError('payment', payment.status, 'processing');
  const provider = providerFor(deps, payment);
  const choice = chooseScene(provider, payment.method, input);
  const started = startedCheckoutOf(provider, payment);
  if (
    payment.status === 'processing' &&
    (started.scene !== choice.scene || !sameCheckoutInputs(started.checkout, choice.inputs))
  )
    return switchScene(deps, { provider, payment, choice, now });
  if (payment.status === 'processing' && checkoutUsable(started.checkout, now))
    return answer(deps, provider, payment, now);
  try {
    return await (payment.status === 'init' ? openCheckout : renewCheckout)(deps, provider, payment, choice, now);
  } catch (error) {
    // The provider's trade moved on without us (paid, closed, taken): its own view decides.
    if (error instanceof CheckoutRefusedError) return settleRefusedCheckout(deps, provider, payment, error);
    throw error;
  }
}

/** The payment's checkout, its handle the pay URL when kept only there (or started before scenes were recorded). */
function startedCheckoutOf(
  provider: PaymentProvider,
  payment: Payment,
): { scene?: PaymentScene; checkout: StartedCheckout } {
  return {
    scene: payment.scene ?? defaultScene(provider),
    checkout: { ...payment.checkout, ref: payment.checkout?.ref ?? payment.payUrl ?? '' },
  };
}

/** The front end's action for the payment's checkout, signed afresh. */
export function answer(
  deps: Pick<StartDeps, 'returnUrlTemplate'>,
  provider: PaymentProvider,
  payment: Payment,
  now: Date,
): StartedPayment {
  const { scene, checkout } = startedCheckoutOf(provider, payment);
  const action = provider.checkoutAction({
    scene: scene ?? 'page',
    ref: checkout.ref,
    returnUrl: returnUrlFor(deps.returnUrlTemplate, payment),
    now,
  });
  const payUrl = payUrlOf(action);
  return { payment: paymentView(payment, now), action, ...(payUrl ? { payUrl } : {}) };
}

/** The checkout at the provider for `payment` in the chosen scene; a refusal or an outage is PROVIDER_UNAVAILABLE (nothing written). */
export async function checkoutAtProvider(
  deps: Pick<StartDeps, 'publicBaseUrl' | 'returnUrlTemplate' | 'logger' | 'metrics'>,
  provider: PaymentProvider,
  payment: Payment,
  choice: SceneChoice,
  now: Date,
): Promise<{ scene: PaymentScene; checkout: KeptCheckout; payUrl?: string }> {
  const returnUrl = returnUrlFor(deps.returnUrlTemplate, payment);
  try {
    const handle = await provider.startCheckout({
      payment: { ...payment, description: `Order ${payment.orderId}` },
      scene: choice.scene,
      payer: choice.inputs.payer ?? {},
      clientIp: choice.inputs.clientIp ?? '',
      notifyUrl: notifyUrl(deps, payment),
      returnUrl,
      now,
    });
    const payUrl = payUrlOf(provider.checkoutAction({ scene: choice.scene, ref: handle.ref, returnUrl, now }));
    // A handle that is the pay URL (a redirect or QR scene's) is kept once, as the pay URL.
    const { ref, ...rest } = handle;
    const checkout: KeptCheckout = { ...rest, ...(ref === payUrl ? {} : { ref }), ...choice.inputs };
    return { scene: choice.scene, checkout, ...(payUrl ? { payUrl } : {}) };
  } catch (error) {
    deps.logger.warn('provider refused to create the checkout', {
      paymentId: payment.paymentId,
      method: payment.method,
      scene: choice.scene,
      error: String(error),
    });
    throw checkoutFailure(deps, payment, choice.scene, error);
  }
}

/** init → processing with its scene and checkout. Two starts racing: the winner's checkout is the one to show. */
async function openCheckout(
  deps: StartDeps,
  provider: PaymentProvider,
  payment: Payment,
  choice: SceneChoice,
  now: Date,
) {
  const created = await checkoutAtProvider(deps, provider, payment, choice, now);
  const { after } = transitionPayment(payment, {
    to: 'processing',
    now,
    source: 'customer',
    reason: `checkout created (${choice.scene})`,
    set: { ...created, nextQueryAt: nextLookAt(payment, now, deps.sweeper.firstQueryAfterSeconds * 1000) },
  });
  try {
    await commitWithEvents(deps, [{ kind: 'updatePayment', before: payment, after }], [statusEvent(after)!]);
  } catch (error) {
    if (!(error instanceof StaleStateError)) throw error;
    const current = await deps.repo.getPayment(payment.paymentId);
    if (current?.status === 'processing' && current.scene === choice.scene) return answer(deps, provider, current, now);
    throw new InvalidTransitionError('payment', current?.status ?? payment.status, 'processing');
  }
  deps.metrics.count(Metric.PaymentsStarted, 1, { provider: payment.method, scene: choice.scene });
  return answer(deps, provider, after, now);
}

/** The handle died (prepay_id after 2 h, h5_url after 5 min): the same order again, for a fresh one. */
async function renewCheckout(
  deps: StartDeps,
  provider: PaymentProvider,
  payment: Payment,
  choice: SceneChoice,
  now: Date,
) {
  const renewed = await checkoutAtProvider(deps, provider, payment, choice, now);
  const after: Payment = { ...payment, ...renewed, updatedAt: now.toISOString(), version: payment.version + 1 };
  try {
    await deps.repo.commit([{ kind: 'updatePayment', before: payment, after }]);
  } catch (error) {
    if (!(error instanceof StaleStateError)) throw error;
    const current = await deps.repo.getPayment(payment.paymentId);
    if (current?.status === 'processing' && current.checkout && checkoutUsable(current.checkout, now))
      return answer(deps, provider, current, now);
    throw error;
  }
  return answer(deps, provider, after, now);
}
