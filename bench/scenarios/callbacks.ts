import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Runtime } from '../../local/runtime';
import type { ProviderSimulator } from '../../local/sandbox/types';
import { createOrders } from '../../src/core/orders/orders';
import { startPayment } from '../../src/core/payments/start';
import type { Payment, PaymentMethod } from '../../src/domain/payment';
import type { RawCallback } from '../../src/core/payments/provider';
import { SKU, percentile, round } from '../common';

async function startedPayments(runtime: Runtime, count: number): Promise<Payment[]> {
  const payments: Payment[] = [];
  for (let i = 0; i < count; i++) {
    const customerId = `cb-${randomUUID()}`;
    const [created] = await createOrders(runtime.deps, {
      customerId,
      orders: [{ items: [{ sku: SKU, quantity: 1 }] }],
      method: 'bank',
    });
    await startPayment(runtime.deps, { customerId, paymentId: created!.payment.paymentId });
    payments.push((await runtime.deps.repo.getPayment(created!.payment.paymentId))!);
  }
  return payments;
}

/** A checkout the simulator reports paid, for building its provider's success callback. */
export function paidCheckout(provider: PaymentMethod, payment: Payment, notificationId: string, now: Date) {
  return {
    provider,
    paymentId: payment.paymentId,
    amount: payment.amount,
    currency: 'CNY' as const,
    description: 'bench',
    notifyUrl: 'http://x',
    expiresAt: payment.expiresAt,
    state: 'paid' as const,
    paidAt: now.toISOString(),
    notificationId,
  };
}

export function bankCallback(
  simulator: ProviderSimulator,
  payment: Payment,
): RawCallback & { headers: Record<string, string> } {
  const now = new Date();
  const callback = simulator.buildCallback(paidCheckout('bank', payment, `evt-${payment.paymentId}`, now), now)!;
  return {
    headers: Object.fromEntries(Object.entries(callback.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: Buffer.from(callback.body),
  };
}

/**
 * When each order was committed paid: the worker's transaction that turns it paid, seen at the
 * runtime's repository (bench instrumentation; the handlers read deps.repo on every invocation).
 */
function paidCommits(runtime: Runtime, onPaid: (orderId: string) => void): void {
  const repo = runtime.deps.repo;
  runtime.deps.repo = new Proxy(repo, {
    get(target, property, receiver) {
      if (property !== 'commit') return Reflect.get(target, property, receiver);
      return async (writes: Parameters<typeof repo.commit>[0]) => {
        await target.commit(writes);
        for (const write of writes)
          if (write.kind === 'updateOrder' && write.after.status === 'paid') onPaid(write.after.orderId);
      };
    },
  });
}

/**
 * Callback POSTed → the order committed paid, and → OrderPaid on the bus (after the table's stream
 * and the outbox publisher): per callback alone (latency), then many at once (sustained rate).
 */
export async function callbackToPaid(runtime: Runtime, simulator: ProviderSimulator) {
  const waiting = { paid: new Map<string, () => void>(), published: new Map<string, () => void>() };
  const until = (kind: keyof typeof waiting, orderId: string) =>
    new Promise<number>((resolve) => waiting[kind].set(orderId, () => resolve(performance.now())));
  paidCommits(runtime, (orderId) => waiting.paid.get(orderId)?.());
  runtime.bus.onPublish((event) => {
    if (event.type === 'OrderPaid') waiting.published.get(String(event.detail.orderId))?.();
  });
  const send = async (payment: Payment) => {
    const callback = bankCallback(simulator, payment);
    const response = await fetch(`${runtime.baseUrl}/api/payments/callback/bank`, {
      method: 'POST',
      headers: callback.headers,
      body: callback.body,
    });
    if (response.status !== 200) throw new Error(`callback answered ${response.status}: ${await response.text()}`);
  };
  const toPaid: number[] = [];
  const toEvent: number[] = [];
  for (const payment of await startedPayments(runtime, 60)) {
    const [paid, published] = [until('paid', payment.orderId), until('published', payment.orderId)];
    const started = performance.now();
    await send(payment);
    toPaid.push((await paid) - started);
    toEvent.push((await published) - started);
  }
  // Sustained: callbacks at 16 in flight, each until its order is committed paid (events follow on the stream).
  const burst = await startedPayments(runtime, 300);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < burst.length) {
        const payment = burst[next++]!;
        const paid = until('paid', payment.orderId);
        await send(payment);
        await paid;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    p50Ms: round(percentile(toPaid, 50)),
    p99Ms: round(percentile(toPaid, 99)),
    eventP50Ms: round(percentile(toEvent, 50)),
    eventP99Ms: round(percentile(toEvent, 99)),
    sustainedPerSecond: round(burst.length / seconds),
  };
}
