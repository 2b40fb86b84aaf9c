import { describe, expect, it } from 'vitest';
import { ProviderBusyError, type PaymentProvider } from '../../../src/core/payments/provider';
import { CallRate, withCallRate } from '../../../src/providers/kit/rate-limit';

describe('a merchant’s call rate (token bucket)', () => {
  it('lets a burst of `perSecond` through, makes the next wait its turn, and refuses one whose turn is further off than the wait allowed', async () => {
    let nowMs = 0;
    const rate = new CallRate(4, 300, () => nowMs);

    expect(await Promise.all([rate.take(), rate.take(), rate.take(), rate.take()])).toEqual([true, true, true, true]);
    // The fifth call's turn is 250 ms off: within the 300 ms it may wait.
    expect(await rate.take()).toBe(true);
    // The sixth's is 500 ms off: refused, nothing taken.
    expect(await rate.take()).toBe(false);
    nowMs += 1_000; // a second later the bucket has refilled (less the reserved turn)
    expect(await rate.take()).toBe(true);
  });

  it('holds queries and closes to the rate (ProviderBusyError past it) and passes everything else straight through', async () => {
    const calls: string[] = [];
    const provider = {
      name: 'wechat',
      queryPayment: async (paymentId: string) => {
        calls.push(`query ${paymentId}`);
        return { status: 'pending', providerStatus: 'NOTPAY' };
      },
      closePayment: async (paymentId: string) => {
        calls.push(`close ${paymentId}`);
        return 'closed';
      },
      refund: async () => {
        calls.push('refund');
        return { status: 'processing', providerStatus: 'PROCESSING' };
      },
    } as unknown as PaymentProvider;
    const held = withCallRate(provider, 1); // one call a second; a call waits for its turn at most 2 s

    await held.queryPayment!('pay_1', new Date());
    const second = held.closePayment!('pay_1', new Date()); // waits its turn (1 s)
    const third = held.queryPayment!('pay_2', new Date()).catch((error: unknown) => error); // 2 s off: waits
    const fourth = await held.queryPayment!('pay_3', new Date()).catch((error: unknown) => error); // 3 s off: refused
    await held.refund({} as never); // never held

    expect(fourth).toBeInstanceOf(ProviderBusyError);
    expect(fourth).toMatchObject({ provider: 'wechat', operation: 'queryPayment', retryable: true });
    expect(calls).toEqual(['query pay_1', 'refund']);
    await second;
    expect(await third).toMatchObject({ status: 'pending' });
    expect(calls).toEqual(['query pay_1', 'refund', 'close pay_1', 'query pay_2']);
  });
});
