import { describe, expect, it } from 'vitest';
import { Metric } from '../../../src/core/kernel/metric-names';
import type { PaymentMethod } from '../../../src/domain/payment';
import type { SandboxCheckout } from '../../../local/sandbox/types';
import { PROVIDERS } from '../../support/callback-fixtures';
import { seededRandom, shuffled } from '../../support/faults';
import { useRig } from '../../support/reliability-fixtures';
import { NO_ANSWER, type Rig } from '../../support/reliability-rig';

/**
 * Providers deliver at least once, retry for a day or more, and do not keep order: every
 * notification arrives five times, all of them shuffled together, some at the same moment.
 */

const suite = useRig('duplicates');
const COPIES = 5;

type Story = 'paid' | 'failed-then-paid' | 'failed' | 'closed';
const STORIES: readonly Story[] = ['paid', 'failed-then-paid', 'failed', 'closed'];

interface Delivery {
  method: PaymentMethod;
  paymentId: string;
  about: Partial<SandboxCheckout>;
}

/** The provider's notifications for one payment's story, each with its own id. */
function notifications(rig: Rig, method: PaymentMethod, paymentId: string, story: Story): Delivery[] {
  const at = rig.clock.now().toISOString();
  const paid = {
    state: 'paid' as const,
    notificationId: `ntf-paid-${paymentId}`,
    transactionId: `txn-${paymentId}`,
    paidAt: at,
  };
  const failed = { state: 'failed' as const, notificationId: `ntf-failed-${paymentId}` };
  const closed = { state: 'closed' as const, notificationId: `ntf-closed-${paymentId}` };
  const abouts = { paid: [paid], 'failed-then-paid': [failed, paid], failed: [failed], closed: [closed] }[story];
  return abouts.map((about) => ({ method, paymentId, about }));
}

/** Sends every delivery, `concurrency` at a time; returns the replies that were not acknowledgements. */
async function deliverAll(rig: Rig, deliveries: readonly Delivery[], concurrency: number): Promise<string[]> {
  const refused: string[] = [];
  for (let start = 0; start < deliveries.length; start += concurrency) {
    await Promise.all(
      deliveries.slice(start, start + concurrency).map(async ({ method, paymentId, about }) => {
        const reply = await rig.receive(method, rig.callbackFor(method, paymentId, about));
        const acknowledged =
          reply !== NO_ANSWER &&
          rig.providers[method].simulator.isAcknowledged(reply.statusCode ?? 0, reply.body ?? '');
        if (!acknowledged)
          refused.push(
            `${method} ${about.notificationId}: ${reply === NO_ANSWER ? reply : `${reply.statusCode} ${reply.body}`}`,
          );
      }),
    );
  }
  return refused;
}

describe('every notification delivered five times, shuffled across payments and providers', () => {
  it('acknowledges every copy, applies each notification once, and ends each payment where its story ends', async () => {
    const { rig } = suite;
    const random = seededRandom(20_261_125);
    const payments = await Promise.all(
      PROVIDERS.flatMap((method) => STORIES.map(async (story) => ({ story, ...(await rig.startedOrder(method)) }))),
    );
    const distinct = payments.flatMap(({ method, paymentId, story }) => notifications(rig, method, paymentId, story));
    const deliveries = shuffled(
      distinct.flatMap((delivery) => Array.from({ length: COPIES }, () => delivery)),
      random,
    );

    expect(await deliverAll(rig, deliveries, 10)).toEqual([]);
    await rig.settle();

    for (const { method, story, paymentId, orderId } of payments) {
      const payment = (await rig.env.repo.getPayment(paymentId))!;
      const order = (await rig.env.repo.getOrder(orderId))!;
      const where = `${method} ${story}`;
      const finalStatus = {
        paid: 'succeeded',
        'failed-then-paid': 'succeeded',
        failed: method === 'alipay' ? 'cancelled' : 'failed',
        closed: 'cancelled',
      }[story];
      expect(payment.status, where).toBe(finalStatus);
      expect(order.status, where).toBe(finalStatus === 'succeeded' ? 'paid' : 'pending');
      // Published exactly once each, not merely once per id: nothing crashed here.
      const events = rig.eventsOf(paymentId);
      expect(new Set(events).size, `${where}: ${events.join(', ')}`).toBe(events.length);
      if (story === 'failed-then-paid') {
        // Whichever came first: the failure then a flagged late success, or the success then the failure ignored.
        const failureFirst = payment.latePayment === true;
        expect(events, where).toEqual(
          failureFirst
            ? ['PaymentStarted', 'PaymentFailed', 'PaymentSucceeded', 'LatePaymentReceived', 'OrderPaid']
            : ['PaymentStarted', 'PaymentSucceeded', 'OrderPaid'],
        );
      }
    }
    // Each notification decided once (applied, unchanged or ignored); every other copy was a duplicate.
    const { metrics } = rig.env;
    expect(metrics.total(Metric.NotificationApplied) + metrics.total(Metric.NotificationIgnored)).toBe(distinct.length);
    expect(metrics.total(Metric.NotificationDuplicate)).toBe(deliveries.length - distinct.length);
    await suite.expectInvariants();
  });

  it('five copies of a success at the same instant, for each provider at once, pay each order once', async () => {
    const { rig } = suite;
    const orders = await Promise.all(PROVIDERS.map((method) => rig.startedOrder(method)));
    for (const { method, paymentId } of orders) rig.decide(method, paymentId, 'paid');

    const replies = await Promise.all(
      orders.flatMap(({ method, paymentId }) =>
        Array.from({ length: COPIES }, async () => ({
          method,
          reply: await rig.receive(method, rig.callbackFor(method, paymentId)),
        })),
      ),
    );

    for (const { method, reply } of replies)
      expect(
        reply !== NO_ANSWER && rig.providers[method].simulator.isAcknowledged(reply.statusCode ?? 0, reply.body ?? ''),
        method,
      ).toBe(true);
    await rig.settle();
    for (const { method, paymentId, orderId } of orders) {
      expect(await rig.env.repo.getOrder(orderId), method).toMatchObject({
        status: 'paid',
        paidByPaymentId: paymentId,
      });
      expect(rig.eventsOf(paymentId), method).toEqual(['PaymentStarted', 'PaymentSucceeded', 'OrderPaid']);
    }
    await suite.expectInvariants();
  });
});

describe('a second capture of the same payment, under another transaction id', () => {
  // Fixed defect: a second capture with another transaction id was dropped silently. Now it is
  // recorded on the payment as an extra capture, counted by the duplicate-payment alarm and
  // refunded automatically by its own refund.
  it('for each provider: recorded as an extra capture, counted by the duplicate-payment alarm, refunded once', async () => {
    const { rig } = suite;
    const orders = await Promise.all(PROVIDERS.map((method) => rig.startedOrder(method)));
    for (const { method, paymentId } of orders) {
      rig.decide(method, paymentId, 'paid', { transactionId: `first-capture-${paymentId}`.slice(0, 32) });
      expect(await rig.deliver(method, paymentId)).toBeGreaterThan(0);
    }
    await rig.drained();

    for (const { method, paymentId } of orders) {
      const second = {
        state: 'paid' as const,
        notificationId: `ntf-second-${paymentId}`,
        transactionId: `second-capture-${paymentId}`.slice(0, 32),
      };
      expect(await rig.receive(method, rig.callbackFor(method, paymentId, second))).not.toBe(NO_ANSWER);
    }
    await rig.settle();

    for (const { method, paymentId, orderId } of orders) {
      expect(rig.env.metrics.total(Metric.DuplicatePayment, { provider: method }), method).toBe(1);
      const payment = (await rig.env.repo.getPayment(paymentId))!;
      const second = `second-capture-${paymentId}`.slice(0, 32);
      expect(
        payment.extraCaptures?.map((capture) => capture.providerTransactionId),
        method,
      ).toEqual([second]);
      expect(await rig.env.repo.getOrder(orderId), method).toMatchObject({
        status: 'paid',
        paidByPaymentId: paymentId,
      });
      const refunds = (await rig.env.scan()).filter((item) => item.kind === 'refund' && item.paymentId === paymentId);
      expect(refunds, method).toMatchObject([{ origin: 'auto', captureTransactionId: second, amount: payment.amount }]);
    }
    await suite.expectInvariants();
  });
});
