import { DomainError } from '../../domain/errors';
import type { Payment, PaymentScene } from '../../domain';
import type { Deps, Uses } from '../kernel/deps';
import type { Commit } from '../kernel/ports';
import { Metric } from '../kernel/metric-names';
import type { OrderStore } from '../orders/ports';
import { paymentView } from '../orders/views';
import { applyNotification, notificationFromQuery } from './notifications';
import { ProviderUnavailableError } from './payments';
import type { PaymentStore } from './ports';
import { ProviderCallError, type CheckoutRefusal, type PaymentProvider } from './provider';

/** The code the shop gets for each refusal (its HTTP status is in src/http/errors.ts). */
const API_CODE: Readonly<Record<CheckoutRefusal, string>> = {
  scene_not_enabled: 'SCENE_NOT_ENABLED',
  payer_mismatch: 'PAYER_MISMATCH',
  declined: 'PAYMENT_DECLINED',
  already_paid: 'PAYMENT_ALREADY_PAID',
  closed: 'PAYMENT_CLOSED',
  number_taken: 'CHECKOUT_CONFLICT',
};

/** What the shop does about each refusal, said in its message. */
const NEXT_STEP: Readonly<Record<CheckoutRefusal, (method: string, scene: PaymentScene) => string>> = {
  scene_not_enabled: (method, scene) =>
    `The ${scene} scene is not enabled on this ${method} merchant account: pay in another scene (GET /api/payment-methods)`,
  payer_mismatch: (method, scene) =>
    `${method} says the payer id does not belong to the ${scene} scene's app, or the trade is bound to another buyer: obtain the id again through the code exchange`,
  declined: (method) => `${method} declined this payment under its rules: the customer pays another way`,
  already_paid: (method) => `${method} says this payment is already paid`,
  closed: (method) => `${method} has closed this payment: create a new payment for the order`,
  number_taken: (method) =>
    `${method} holds this payment with other parameters: cancel it and create a new payment for the order`,
};

/** A provider's definite "no" to creating a checkout; asking again the same way gets the same answer. */
export class CheckoutRefusedError extends DomainError {
  constructor(
    readonly refusal: CheckoutRefusal,
    payment: Pick<Payment, 'paymentId' | 'method'>,
    scene: PaymentScene,
    providerCode: string | undefined,
    extra: Record<string, unknown> = {},
  ) {
    super(API_CODE[refusal], NEXT_STEP[refusal](payment.method, scene), {
      paymentId: payment.paymentId,
      method: payment.method,
      scene,
      ...(providerCode ? { providerCode } : {}),
      retryable: false,
      ...extra,
    });
  }
}

/**
 * What a failed checkout creation becomes for the shop: a refusal the provider's code names, or
 * PROVIDER_UNAVAILABLE (retryable when the provider may answer otherwise next time: SYSTEMERROR,
 * a timeout; not when the fault is ours: PARAM_ERROR, SIGN_ERROR).
 */
export function checkoutFailure(
  deps: Pick<Deps, 'metrics'>,
  payment: Pick<Payment, 'paymentId' | 'method'>,
  scene: PaymentScene,
  error: unknown,
): DomainError {
  const call = error instanceof ProviderCallError ? error : undefined;
  if (call?.refusal) {
    deps.metrics.count(Metric.CheckoutRefused, 1, { provider: payment.method, refusal: call.refusal });
    if (call.refusal === 'scene_not_enabled')
      deps.metrics.count(Metric.SceneNotEnabled, 1, { provider: payment.method });
    return new CheckoutRefusedError(call.refusal, payment, scene, call.providerCode);
  }
  return new ProviderUnavailableError(payment.method, 'create the checkout', {
    retryable: call?.retryable ?? true,
    ...(call?.providerCode ? { providerCode: call.providerCode } : {}),
  });
}

/** The refusals that say the provider's trade has moved on without us: its own view decides. */
const ASK_THE_PROVIDER: ReadonlySet<CheckoutRefusal> = new Set(['already_paid', 'closed', 'number_taken']);

type SettleDeps = Uses<PaymentStore & OrderStore & Commit, 'clock' | 'metrics' | 'logger' | 'providers' | 'refunds'>;

/**
 * ORDERPAID / ORDER_CLOSED / OUT_TRADE_NO_USED (ACQ.TRADE_HAS_SUCCESS / HAS_CLOSE /
 * CONTEXT_INCONSISTENT) on a payment we hold: query the order first (SCENES.md §0). A paid or
 * closed trade is applied exactly as its callback would be (the order paid; or the payment
 * cancelled, the order free for a new one), and the shop is told which. Otherwise the refusal
 * stands and nothing is written.
 */
export async function settleRefusedCheckout(
  deps: SettleDeps,
  provider: PaymentProvider,
  payment: Payment,
  refused: CheckoutRefusedError,
): Promise<never> {
  if (!ASK_THE_PROVIDER.has(refused.refusal) || !provider.queryPayment) throw refused;
  const now = deps.clock.now();
  const state = await provider.queryPayment(payment.paymentId, now).catch(() => undefined);
  const notification = state && notificationFromQuery(payment, state, now);
  if (!state || !notification) throw refused;
  await applyNotification(deps, notification);
  const current = (await deps.repo.getPayment(payment.paymentId)) ?? payment;
  const details = refused.details as { scene: PaymentScene; providerCode?: string };
  throw new CheckoutRefusedError(
    state.status === 'paid' ? 'already_paid' : 'closed',
    payment,
    details.scene,
    details.providerCode,
    { payment: paymentView(current, now) },
  );
}
