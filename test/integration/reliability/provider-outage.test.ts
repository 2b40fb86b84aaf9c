import { describe, expect, it } from 'vitest';
import { Metric } from '../../../shared/core/metric-names';
import { PROVIDERS } from '../../support/callback-fixtures';
import type { ProviderBehaviour } from '../../support/faults';
import { useRig } from '../../support/reliability-fixtures';
import { NO_ANSWER } from '../../support/reliability-rig';

/**
 * One provider's API goes bad (503s, an HTML error page where JSON was due, or answers correctly
 * signed that mean nothing) while the other providers work. Nothing about the bad provider's
 * payments may be decided on what it says; everything else goes on; once it is back, its
 * payments are settled from what it really did.
 */

const suite = useRig('provider-outage');
const MINUTE = 60_000;
/** The API functions' Lambda timeout (cdk/payments-function.ts). */
const API_FUNCTION_TIMEOUT_MS = 10_000;

const OUTAGES = (['wechat', 'alipay'] as const).flatMap((down) => (['unavailable', 'garbage', 'signed-nonsense'] as const).map((behaviour) => [down, behaviour] as const));

describe.each(OUTAGES)('%s answering %s', (down, behaviour: ProviderBehaviour) => {
  it('the other providers keep working, nothing of its own is decided on its word, and it catches up once back', async () => {
    const { rig } = suite;
    const standIn = rig.providers[down].standIn!;
    // Before the outage: one payment paid at the provider with its callback lost, one left unpaid.
    const [paidUnheard, unpaid] = await Promise.all([rig.startedOrder(down), rig.startedOrder(down)]);
    rig.decide(down, paidUnheard.paymentId, 'paid');
    standIn.behaviour = behaviour;

    // WeChat creates its checkout server-side: while it is down, starting a payment is refused cleanly.
    if (down === 'wechat') {
      const { paymentId } = await rig.placeOrder('wechat');
      const start = await rig.api('POST /api/payments/{paymentId}/start', { params: { paymentId } });
      expect(start).not.toBe(NO_ANSWER);
      expect(start).toMatchObject({ statusCode: 502, body: { error: { code: 'PROVIDER_UNAVAILABLE', message: expect.any(String) } } });
      expect(await rig.env.repo.getPayment(paymentId)).toMatchObject({ status: 'init' });
    }
    const others = await Promise.all(
      PROVIDERS.filter((method) => method !== down).map(async (method) => {
        const order = await rig.startedOrder(method);
        rig.decide(method, order.paymentId, 'paid');
        expect(await rig.deliver(method, order.paymentId), method).toBe(1);
        return order;
      }),
    );
    // Past expiry, two runs: the provider can neither confirm the payment nor close the unpaid one.
    rig.clock.advance(31 * MINUTE);
    await rig.settle(2);

    for (const { orderId, paymentId } of others) expect(await rig.env.repo.getOrder(orderId)).toMatchObject({ status: 'paid', paidByPaymentId: paymentId });
    for (const { paymentId } of [paidUnheard, unpaid]) expect(await rig.env.repo.getPayment(paymentId)).toMatchObject({ status: 'processing' });
    expect(rig.env.metrics.total(Metric.ProviderQueryFailed, { provider: down })).toBeGreaterThan(0);
    expect(standIn.calls[behaviour]).toBeGreaterThan(0);

    standIn.behaviour = 'up';
    await rig.settle(6);

    expect(await rig.env.repo.getOrder(paidUnheard.orderId)).toMatchObject({ status: 'paid', paidByPaymentId: paidUnheard.paymentId });
    expect(await rig.env.repo.getPayment(unpaid.paymentId)).toMatchObject({ status: 'expired' });
    expect(rig.providers[down].store.get(unpaid.paymentId)?.state).toBe('closed');
    await suite.expectInvariants();
  });
});

describe('a provider that hangs', () => {
  // DEFECT (being fixed): provider calls have no timeout. A provider that accepts the connection
  // and never answers holds start-payment until Lambda kills it (no 502 for the customer) and
  // holds the sweeper run for ever (every other due payment of that run waits with it).
  it.fails(
    `wechat hanging: start-payment answers 502 and a sweeper run ends, both within the API function's ${API_FUNCTION_TIMEOUT_MS / 1000} s timeout`,
    { timeout: API_FUNCTION_TIMEOUT_MS + 10_000 },
    async () => {
      const { rig } = suite;
      const expiring = await rig.startedOrder('wechat');
      rig.clock.advance(30 * MINUTE);
      const { paymentId } = await rig.placeOrder('wechat');
      rig.providers.wechat.standIn!.behaviour = 'hang';

      const deadline = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), API_FUNCTION_TIMEOUT_MS).unref());
      const [start, run] = await Promise.all([
        Promise.race([rig.api('POST /api/payments/{paymentId}/start', { params: { paymentId } }), deadline]),
        Promise.race([rig.sweep(), deadline]),
      ]);

      expect(start).toMatchObject({ statusCode: 502, body: { error: { code: 'PROVIDER_UNAVAILABLE' } } });
      expect(run).toMatchObject({ handled: expect.any(Number) });
      expect(await rig.env.repo.getPayment(expiring.paymentId)).toMatchObject({ status: 'processing' });
    },
  );
});
