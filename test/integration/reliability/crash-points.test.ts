import { expect, it } from 'vitest';
import { PROVIDERS } from '../../support/callback-fixtures';
import { CRASH_POINTS, type CrashPoint } from '../../support/faults';
import { useRig } from '../../support/reliability-fixtures';
import { NO_ANSWER, type Rig } from '../../support/reliability-rig';

/**
 * A Lambda can die anywhere: out of memory, a timeout, the host going away. At each point where a
 * process can die with its work half done, it dies once for an order of each provider (the three
 * at the same time); then the retries production has (the client's, the provider's, SQS
 * redelivery, the next sweeper run) must finish the work, exactly once.
 */

const suite = useRig('crash-points');
const MINUTE = 60_000;

/** Events of a type about a payment or its order (repeats included). */
const eventCount = (rig: Rig, type: string, subject: string) =>
  rig.bus.events.filter(
    (event) => event.type === type && (event.detail.paymentId === subject || event.detail.orderId === subject),
  ).length;

/** For each provider at once: an order paid at the provider, its callback delivered, with `point` armed for that provider. */
async function paidThroughCallbacks(rig: Rig, point: CrashPoint) {
  const paid = await Promise.all(
    PROVIDERS.map(async (method) => {
      const { paymentId, orderId } = await rig.startedOrder(method);
      rig.decide(method, paymentId, 'paid');
      rig.crash.arm(point, { provider: method });
      return { method, paymentId, orderId, attempts: await rig.deliver(method, paymentId) };
    }),
  );
  await rig.settle();
  return paid;
}

const describeAs = (point: CrashPoint, outcome: string) => `${point}: ${CRASH_POINTS[point].description}; ${outcome}`;

it(describeAs('api:after-commit', "the client's retry with the same key gets its order, created once"), async () => {
  const { rig } = suite;
  const stockBefore = (await rig.env.repo.getProducts(['CUP-JADE'])).get('CUP-JADE')!.stock;
  const created = await Promise.all(
    PROVIDERS.map(async (method) => {
      rig.crash.arm('api:after-commit', { provider: method });
      const request = {
        body: { items: [{ sku: 'CUP-JADE', quantity: 2 }], paymentMethod: method },
        idempotencyKey: `crash-${method}-0001`,
      };
      const first = await rig.api('POST /api/orders', request);
      const retried = await rig.call<{ order: { orderId: string } }>('POST /api/orders', request);
      return { first, retried };
    }),
  );

  expect(rig.crash.crashes.get('api:after-commit')).toBe(3);
  for (const { first, retried } of created) {
    expect(first).toBe(NO_ANSWER);
    expect(retried.statusCode).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBe('true');
  }
  const orderIds = (await rig.env.scan()).filter((item) => item.kind === 'order').map((order) => order.orderId);
  expect(orderIds.sort()).toEqual(created.map(({ retried }) => retried.body.order.orderId).sort());
  expect((await rig.env.repo.getProducts(['CUP-JADE'])).get('CUP-JADE')!.stock).toBe(stockBefore - 6);
  await rig.settle();
  for (const orderId of orderIds) expect(eventCount(rig, 'OrderCreated', String(orderId))).toBe(1);
  await suite.expectInvariants();
});

it.each(['callback:after-archive', 'callback:after-enqueue'] as const)(
  '%s: the provider hears nothing, retries, and each payment is applied once',
  async (point) => {
    const { rig } = suite;
    const paid = await paidThroughCallbacks(rig, point);

    expect(rig.crash.crashes.get(point)).toBe(3);
    for (const { method, paymentId, orderId, attempts } of paid) {
      expect(attempts, method).toBe(2);
      expect(await rig.env.repo.getOrder(orderId), method).toMatchObject({
        status: 'paid',
        paidByPaymentId: paymentId,
      });
      expect(rig.eventsOf(paymentId), method).toEqual(['PaymentStarted', 'PaymentSucceeded', 'OrderPaid']);
    }
    await suite.expectInvariants();
  },
);

it.each(['worker:after-commit', 'worker:before-delete'] as const)(
  '%s: SQS redelivers; each payment stays committed once and every event is published',
  async (point) => {
    const { rig } = suite;
    const paid = await paidThroughCallbacks(rig, point);

    // A batch may hold several providers' notifications: one crash can take more than one down.
    expect(rig.crash.crashes.get(point)).toBeGreaterThanOrEqual(1);
    for (const { method, paymentId, orderId, attempts } of paid) {
      expect(attempts, method).toBe(1);
      const payment = (await rig.env.repo.getPayment(paymentId))!;
      expect(
        payment.logs.filter((entry) => entry.to === 'succeeded'),
        method,
      ).toHaveLength(1);
      expect(await rig.env.repo.getOrder(orderId), method).toMatchObject({
        status: 'paid',
        paidByPaymentId: paymentId,
      });
      expect(eventCount(rig, 'PaymentSucceeded', paymentId), method).toBeGreaterThanOrEqual(1);
    }
    const report = await suite.expectInvariants();
    // The worker publishes nothing itself: the stream carries its one committed outbox entry, so
    // however often SQS redelivers, each event is published once.
    expect(report.republishedEvents).toBe(0);
  },
);

it(describeAs('sweeper:after-commit', "the table's stream publishes it once"), async () => {
  const { rig } = suite;
  const started = await Promise.all(PROVIDERS.map((method) => rig.startedOrder(method)));
  // Past the bank's grace too: every provider's payment is expired by this run.
  rig.clock.advance(30 * MINUTE + rig.deps.sweeper.expiryGraceSeconds * 1000);
  for (const method of PROVIDERS) rig.crash.arm('sweeper:after-commit', { provider: method });

  // A run dies at its first expiry (those committed alongside it die unpublished too); the next
  // run takes what is left, and dies there.
  const expired = async () =>
    (await rig.env.repo.getPayments(started.map((p) => p.paymentId))).filter((p) => p.status === 'expired').length;
  for (let run = 0; run < 5 && (await expired()) < started.length; run++) expect(await rig.sweep()).toBe(NO_ANSWER);
  expect(await expired()).toBe(started.length);
  for (const { paymentId } of started) expect(eventCount(rig, 'PaymentExpired', paymentId)).toBe(0);
  expect(rig.crash.crashes.get('sweeper:after-commit')).toBeGreaterThanOrEqual(1);

  await rig.settle();
  for (const { paymentId, orderId } of started) {
    expect(eventCount(rig, 'PaymentExpired', paymentId)).toBe(1);
    expect(await rig.env.repo.getOrder(orderId)).toMatchObject({ status: 'pending' });
  }
  await suite.expectInvariants();
});
