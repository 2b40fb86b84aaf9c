import { describe, expect, it } from 'vitest';
import { Metric } from '../../../shared/core/metric-names';
import type { PaymentMethod } from '../../../shared/domain/payment';
import { PROVIDERS } from '../../support/callback-fixtures';
import { throttleEverything } from '../../support/faults';
import { useRig } from '../../support/reliability-fixtures';
import type { Rig } from '../../support/reliability-rig';

/**
 * AWS throttles under load: DynamoDB (ProvisionedThroughputExceededException), SQS
 * (RequestThrottled) and EventBridge (ThrottlingException). With a fifth of all their calls
 * throttled, the SDK's retries absorb most; what gets through must be absorbed by ours (the
 * client's, the provider's, SQS redelivery, the outbox relay, the next sweep).
 */

const suite = useRig('throttling', { seed: 20 });
const MINUTE = 60_000;

type Story = 'paid' | 'failed' | 'cancelled' | 'abandoned';
const STORIES: readonly Story[] = ['paid', 'failed', 'cancelled', 'abandoned'];

/** One customer's order, told to its end (abandoned ones end at the sweeper). */
async function tell(rig: Rig, method: PaymentMethod, story: Story) {
  const { orderId, paymentId } = await rig.startedOrder(method, [{ sku: 'PEN-WOLF', quantity: 3 }]);
  if (story === 'paid' || story === 'failed') {
    rig.decide(method, paymentId, story === 'paid' ? 'paid' : 'failed');
    expect(await rig.deliver(method, paymentId), `${method} ${story}: the provider gave up`).toBeGreaterThan(0);
  }
  if (story === 'cancelled') expect((await rig.call('POST /api/orders/{orderId}/cancel', { params: { orderId } })).statusCode).toBe(200);
  return { method, story, orderId, paymentId };
}

const ENDINGS: Record<Story, { order: string; payment: readonly string[] }> = {
  paid: { order: 'paid', payment: ['succeeded'] },
  // Alipay has no failed state: an unpaid trade ends closed.
  failed: { order: 'pending', payment: ['failed', 'cancelled'] },
  cancelled: { order: 'cancelled', payment: ['cancelled'] },
  abandoned: { order: 'pending', payment: ['expired'] },
};

describe('a fifth of every DynamoDB, SQS and EventBridge call throttled', () => {
  it('every order of every provider reaches its ending, and the invariants hold', async () => {
    const { rig } = suite;
    rig.faults.rules = throttleEverything(0.2);

    const orders = await Promise.all(PROVIDERS.flatMap((method) => STORIES.map((story) => tell(rig, method, story))));
    await rig.settle();
    // Past every expiry (and the bank's grace): the abandoned ones are expired by the sweeper.
    rig.clock.advance(30 * MINUTE + rig.deps.sweeper.expiryGraceSeconds * 1000);
    await rig.settle(3);

    for (const { method, story, orderId, paymentId } of orders) {
      const [order, payment] = [await rig.env.repo.getOrder(orderId), await rig.env.repo.getPayment(paymentId)];
      expect(order?.status, `${method} ${story}`).toBe(ENDINGS[story].order);
      expect(ENDINGS[story].payment, `${method} ${story}`).toContain(payment?.status);
    }
    for (const service of ['dynamodb', 'sqs', 'eventbridge'] as const) expect(rig.faults.total({ service }), service).toBeGreaterThan(0);
    await suite.expectInvariants();
  });
});

describe('EventBridge refusing every PutEvents for a while', () => {
  it('commits the state changes, keeps their events in the outbox, and publishes each once it is back', async () => {
    const { rig } = suite;
    rig.faults.rules = [{ service: 'eventbridge', fault: 'fail', share: 1 }];
    const orders = await Promise.all(PROVIDERS.map((method) => tell(rig, method, 'paid')));
    await rig.drained();

    for (const { orderId } of orders) expect(await rig.env.repo.getOrder(orderId)).toMatchObject({ status: 'paid' });
    expect(rig.bus.events).toEqual([]);
    expect(rig.env.metrics.total(Metric.OutboxPublishFailed)).toBeGreaterThan(0);

    rig.faults.rules = [];
    await rig.settle();
    // Each once; the relay does not promise their order (consumers order by occurredAt and version).
    for (const { paymentId } of orders) expect(rig.eventsOf(paymentId).sort()).toEqual(['OrderPaid', 'PaymentStarted', 'PaymentSucceeded']);
    await suite.expectInvariants();
  });
});
