import { createAlipaySimulator } from '../../local/sandbox/alipay';
import type {
  CheckoutStore,
  ProviderSimulator,
  SandboxCheckout,
  SandboxRefund,
  SandboxRefundOutcome,
} from '../../local/sandbox/types';
import { createWechatSimulator } from '../../local/sandbox/wechat';
import { createOrders } from '../../src/core/orders/orders';
import { applyNotification } from '../../src/core/payments/notifications';
import { startPayment } from '../../src/core/payments/start';
import { isRefundNotification, type RefundNotification } from '../../src/domain/notification';
import type { PaymentMethod } from '../../src/domain/payment';
import { createAlipayProvider } from '../../src/providers/alipay';
import type { FetchLike } from '../../src/providers/kit/http';
import type { PaymentProvider } from '../../src/core/payments/provider';
import { createWechatProvider } from '../../src/providers/wechat';
import { memoryCheckoutStore, simulatorFetch as alipaySimulatorFetch, toRawCallback } from './alipay-fixtures';
import type { TestEnv } from './harness';
import type { SandboxKeys } from './sweeper-fixtures';
import { simulatorFetch as wechatSimulatorFetch } from './wechat-fixtures';

export type RefundMethod = 'wechat' | 'alipay';

/** A provider's real merchant module wired in-process to its sandbox simulator, with its refund ledger in reach. */
export interface RefundSandbox {
  provider: PaymentProvider;
  store: CheckoutStore;
  /** Refund calls (creates and queries) the merchant module made. */
  refundCalls: number;
  /** The next refund calls reach the provider, but their answers are lost on the way back (a timeout). */
  loseAnswers: number;
  /** Verified refund notifications the provider sent as its refunds ended, oldest first. */
  notifications: RefundNotification[];
  /** Ends the provider's processing refunds (as SANDBOX_REFUND_OUTCOME says, or `state`). */
  settleAll(paymentId: string, state?: Exclude<SandboxRefund['state'], 'processing'>): void;
}

export function refundSandbox(
  method: RefundMethod,
  keys: SandboxKeys,
  now: () => Date,
  refundOutcome: SandboxRefundOutcome = 'succeed',
): RefundSandbox {
  const simulator: ProviderSimulator =
    method === 'wechat' ? createWechatSimulator(keys.wechat.sandbox) : createAlipaySimulator(keys.alipay.sandbox);
  const store = memoryCheckoutStore({
    refundOutcome,
    clock: now,
    onRefundSettled(checkout, refund) {
      if (!refund.notify) return;
      const callback = simulator.buildRefundCallback(checkout, refund, now());
      if (!callback) return;
      const verification = sandbox.provider.verifyCallback(toRawCallback(callback), now());
      if (!verification.ok || !isRefundNotification(verification.notification))
        throw new Error(`refund callback did not verify as a refund: ${JSON.stringify(verification)}`);
      sandbox.notifications.push(verification.notification);
    },
  });
  const toSimulator: FetchLike =
    method === 'wechat'
      ? wechatSimulatorFetch(simulator, store, { now })
      : (input, init) => alipaySimulatorFetch(simulator, store, now())(input, init);
  const fetch: FetchLike = (input, init = {}) => {
    const alipayMethod = new URLSearchParams(init.body ?? '').get('method') ?? '';
    const isRefundCall = input.includes('/refund') || alipayMethod.includes('refund');
    if (!isRefundCall) return toSimulator(input, init);
    sandbox.refundCalls++;
    return toSimulator(input, init).then((answer) => {
      if (sandbox.loseAnswers === 0) return answer;
      sandbox.loseAnswers--;
      throw new Error('socket hang up (test: answer lost)');
    });
  };
  const provider =
    method === 'wechat'
      ? createWechatProvider({ config: keys.wechat.merchant, fetch })
      : createAlipayProvider({ config: keys.alipay.merchant, fetch });
  const sandbox: RefundSandbox = {
    provider,
    store,
    refundCalls: 0,
    loseAnswers: 0,
    notifications: [],
    settleAll(paymentId, state) {
      for (const refund of store.refunds.list(paymentId))
        if (refund.state === 'processing') store.refunds.settle(paymentId, refund.key, now(), state);
    },
  };
  return sandbox;
}

let transactions = 0;

/** An order of `quantity` tea paid through the sandbox: the provider holds the paid checkout, we hold the succeeded payment. */
export async function paidPurchase(
  env: TestEnv,
  sandbox: RefundSandbox,
  method: RefundMethod,
  customerId = 'cust-1',
  quantity = 1,
  sku = 'TEA-001',
) {
  const [created] = await createOrders(env.deps, {
    customerId,
    orders: [{ items: [{ sku, quantity }] }],
    method,
  });
  const { paymentId, orderId } = created!.payment;
  await startPayment(env.deps, { customerId, paymentId });
  const amount = await payAtProvider(env, sandbox, method, paymentId);
  return { paymentId, orderId, amount };
}

/** The provider's checkout of a payment: the one it holds, or the pending one the customer's opening the pay URL would have made. */
export async function providerCheckout(
  env: TestEnv,
  store: CheckoutStore,
  method: PaymentMethod,
  paymentId: string,
): Promise<SandboxCheckout> {
  const payment = (await env.repo.getPayment(paymentId))!;
  return (
    store.get(paymentId) ?? {
      provider: method,
      paymentId,
      amount: payment.amount,
      currency: 'CNY',
      description: 'test',
      notifyUrl: `${env.deps.publicBaseUrl}/api/payments/callback/${method}`,
      expiresAt: payment.expiresAt,
      state: 'pending',
    }
  );
}

/** The provider takes the payment (its checkout paid; Alipay's stood in for, as a browser would open it) and tells us. */
export async function payAtProvider(
  env: TestEnv,
  sandbox: RefundSandbox,
  method: RefundMethod,
  paymentId: string,
): Promise<number> {
  const checkout = await providerCheckout(env, sandbox.store, method, paymentId);
  const paid = {
    ...checkout,
    state: 'paid' as const,
    transactionId: `tx${Date.now()}${transactions++}`,
    paidAt: env.clock.now().toISOString(),
  };
  sandbox.store.put(paid);
  await applyNotification(env.deps, {
    provider: method,
    eventId: `paid-${paymentId}`,
    paymentId,
    providerTransactionId: paid.transactionId,
    outcome: 'succeeded',
    amount: paid.amount,
    currency: 'CNY',
    occurredAt: env.clock.now().toISOString(),
    providerStatus: 'SUCCESS',
    via: 'callback',
  });
  return paid.amount;
}
