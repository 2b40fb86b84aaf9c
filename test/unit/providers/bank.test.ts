import { createPayUrl } from '../../support/checkout-fixtures';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBankSimulator } from '../../../local/sandbox/bank';
import type { SandboxCheckout } from '../../../local/sandbox/types';
import { createBankProvider } from '../../../src/providers/bank';
import { type RawCallback } from '../../../src/core/payments/provider';
import {
  bankCallbackBody,
  bankTestKeys,
  bankV1,
  memoryCheckoutStore,
  openInSimulator,
  signedBankCallback,
  toRawCallback,
} from '../../support/bank-fixtures';

const keys = bankTestKeys();
const [currentSecret = '', previousSecret = ''] = keys.merchant.webhookSecrets;
const bank = createBankProvider({ config: keys.merchant });
const simulator = createBankSimulator(keys.sandbox);

const NOW = new Date('2025-01-02T03:05:00.000Z');
const T = Math.floor(NOW.getTime() / 1000);

function payRequest(
  overrides: Partial<Parameters<typeof createPayUrl>[1]['payment']> = {},
): Parameters<typeof createPayUrl>[1] {
  return {
    payment: {
      paymentId: 'pay_42',
      orderId: 'ord_42',
      amount: 12_345,
      currency: 'CNY',
      expiresAt: '2025-01-02T03:35:00.000Z',
      description: 'Order ord_42',
      ...overrides,
    },
    notifyUrl: 'https://shop.example/api/payments/callback/bank',
    returnUrl: 'https://shop.example/orders/ord_42?from=bank&x=a b',
    now: NOW,
  };
}

function withSignatureHeader(callback: RawCallback, header: string): RawCallback {
  return { ...callback, headers: { ...callback.headers, 'bank-signature': header } };
}

function reasonOf(callback: RawCallback, now = NOW) {
  const result = bank.verifyCallback(callback, now);
  return result.ok ? 'ok' : result.reason;
}

describe('bank: round trip through the sandbox', () => {
  it('pay URL → sandbox checkout → signed callback → verified notification → acknowledged', async () => {
    const store = memoryCheckoutStore();
    const { payUrl } = await createPayUrl(bank, payRequest());

    const entry = await openInSimulator(simulator, store, payUrl, NOW);
    expect(entry.statusCode).toBe(302);
    expect(entry.headers.location).toBe(store.checkoutUrl('pay_42'));
    const checkout = store.get('pay_42');
    expect(checkout).toMatchObject({
      provider: 'bank',
      amount: 12_345,
      currency: 'CNY',
      expiresAt: '2025-01-02T03:35:00.000Z',
      notifyUrl: 'https://shop.example/api/payments/callback/bank',
      returnUrl: 'https://shop.example/orders/ord_42?from=bank&x=a b',
      description: 'Payment pay_42',
      state: 'pending',
    });

    const paid = {
      ...checkout!,
      state: 'paid' as const,
      transactionId: 'txn_9',
      paidAt: '2025-01-02T03:04:59.000Z',
      notificationId: 'evt_9',
    };
    const callback = simulator.buildCallback(paid, NOW);
    expect(callback?.url).toBe('https://shop.example/api/payments/callback/bank');
    expect(callback?.headers['Content-Type']).toBe('application/json');

    expect(bank.verifyCallback(toRawCallback(callback!), NOW)).toEqual({
      ok: true,
      notification: {
        provider: 'bank',
        eventId: 'evt_9',
        paymentId: 'pay_42',
        providerTransactionId: 'txn_9',
        outcome: 'succeeded',
        amount: 12_345,
        currency: 'CNY',
        occurredAt: '2025-01-02T03:04:59.000Z',
        providerStatus: 'SUCCEEDED',
        via: 'callback',
      },
    });

    const ack = bank.acknowledge();
    expect(ack).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"received":true}',
    });
    expect(simulator.isAcknowledged(ack.statusCode, ack.body)).toBe(true);
  });

  it('reject answers JSON: 500 when the bank should retry, 400 when not; neither is an acknowledgement', () => {
    const retry = bank.reject('try later', true);
    const final = bank.reject('unknown payment', false);
    expect(retry).toEqual({
      statusCode: 500,
      headers: { 'content-type': 'application/json' },
      body: '{"received":false,"error":"try later"}',
    });
    expect(final.statusCode).toBe(400);
    expect(JSON.parse(final.body)).toEqual({ received: false, error: 'unknown payment' });
    expect(simulator.isAcknowledged(retry.statusCode, retry.body)).toBe(false);
    expect(simulator.isAcknowledged(final.statusCode, final.body)).toBe(false);
  });
});

describe('bank: callback signature', () => {
  const body = bankCallbackBody();
  const good = signedBankCallback(body, currentSecret, T);

  it('verifies a callback signed with the current secret', () => {
    expect(reasonOf(good)).toBe('ok');
  });

  it('accepts several v1 values when only the second one matches', () => {
    const header = `t=${T},v1=${bankV1('whsec_not_ours_at_all_0000', T, body)},v1=${bankV1(currentSecret, T, body)}`;
    expect(reasonOf(withSignatureHeader(good, header))).toBe('ok');
  });

  it('rotation: a callback signed with the previous secret still verifies', () => {
    const older = createBankSimulator({ ...keys.sandbox, webhookSecrets: [previousSecret] });
    const callback = older.buildCallback({ ...pendingCheckout('pay_7'), state: 'failed' }, NOW);
    const result = bank.verifyCallback(toRawCallback(callback!), NOW);
    expect(result.ok && result.notification.outcome).toBe('failed');
  });

  it('rejects a callback signed with a secret we do not hold', () => {
    expect(reasonOf(signedBankCallback(body, 'whsec_someone_else_entirely', T))).toBe('bad_signature');
  });

  it('signs the raw bytes: the same JSON re-serialised differently does not verify', () => {
    const reformatted = { ...good, body: Buffer.from(JSON.stringify(JSON.parse(body), null, 2)) };
    expect(reasonOf(reformatted)).toBe('bad_signature');
  });

  it.each([
    ['wrong length', 'abcd'],
    ['non-hex of the right length', 'z'.repeat(64)],
    ['too long', `${bankV1(currentSecret, T, body)}00`],
    ['right digest followed by non-hex junk', `${bankV1(currentSecret, T, body)}zz`],
  ])('a %s v1 value is a bad signature, not an error', (_label, v1) => {
    expect(reasonOf(withSignatureHeader(good, `t=${T},v1=${v1}`))).toBe('bad_signature');
  });

  it('accepts the hex digest in upper case', () => {
    expect(reasonOf(withSignatureHeader(good, `t=${T},v1=${bankV1(currentSecret, T, body).toUpperCase()}`))).toBe('ok');
  });

  it('ignores other signature schemes (v0) but still needs a matching v1', () => {
    const v1 = bankV1(currentSecret, T, body);
    expect(reasonOf(withSignatureHeader(good, `v0=${v1},t=${T},v1=${v1}`))).toBe('ok');
    expect(reasonOf(withSignatureHeader(good, `t=${T},v0=${v1}`))).toBe('malformed');
  });

  it('is malformed without the Bank-Signature header', () => {
    expect(reasonOf({ headers: { 'content-type': 'application/json' }, body: good.body })).toBe('malformed');
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a signature'],
    ['no t', `v1=${'a'.repeat(64)}`],
    ['no v1', `t=${T}`],
    ['non-numeric t', `t=soon,v1=${'a'.repeat(64)}`],
    ['two t', `t=${T},t=${T},v1=${'a'.repeat(64)}`],
    ['empty v1', `t=${T},v1=`],
    ['spaces inside', `t=${T}, v1=${'a'.repeat(64)}`],
    ['unknown element', `t=${T},v1=${'a'.repeat(64)},x=1`],
    ['semicolons', `t=${T};v1=${'a'.repeat(64)}`],
    ['a trailing comma', `t=${T},v1=${bankV1(currentSecret, T, body)},`],
    ['an empty element', `t=${T},,v1=${bankV1(currentSecret, T, body)}`],
    ['an equals sign in a value', `t=${T}=1,v1=${bankV1(currentSecret, T, body)}`],
    ['a t of 13 digits', `t=0${T}00,v1=${bankV1(currentSecret, T, body)}`],
  ])('a garbled header (%s) is malformed', (_label, header) => {
    expect(reasonOf(withSignatureHeader(good, header))).toBe('malformed');
  });

  it('accepts whitespace around the whole header, and a garbled v1 next to a matching one', () => {
    const v1 = bankV1(currentSecret, T, body);
    expect(reasonOf(withSignatureHeader(good, ` t=${T},v1=${v1}\t`))).toBe('ok');
    expect(reasonOf(withSignatureHeader(good, `t=${T},v1=${v1}zz,v1=${v1}`))).toBe('ok');
    expect(reasonOf(withSignatureHeader(good, `v1=${'z'.repeat(64)},t=${T}`))).toBe('bad_signature');
  });
});

describe('bank: replay window (300 s)', () => {
  const body = bankCallbackBody();

  it.each([-300, 0, 300])('accepts a callback signed %i s from now', (offset) => {
    expect(reasonOf(signedBankCallback(body, currentSecret, T + offset))).toBe('ok');
  });

  it.each([-301, 301])('rejects a callback signed %i s from now as stale', (offset) => {
    expect(reasonOf(signedBankCallback(body, currentSecret, T + offset))).toBe('stale_timestamp');
  });

  it('checks the signature before the timestamp (as Stripe does): a forged old callback is a bad signature', () => {
    expect(reasonOf(signedBankCallback(body, 'whsec_someone_else_entirely', T - 3600))).toBe('bad_signature');
  });
});

describe('bank: tampering (property)', () => {
  const body = bankCallbackBody();
  const good = signedBankCallback(body, currentSecret, T);
  const v1 = bankV1(currentSecret, T, body);

  it('flipping any byte of the body fails the signature', () => {
    fc.assert(
      fc.property(fc.nat({ max: good.body.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        const tampered = Buffer.from(good.body);
        tampered[index] = tampered[index]! ^ mask;
        expect(reasonOf({ ...good, body: tampered })).toBe('bad_signature');
      }),
    );
  });

  it('changing any hex digit of the signature fails it', () => {
    fc.assert(
      fc.property(fc.nat({ max: v1.length - 1 }), fc.integer({ min: 1, max: 15 }), (index, delta) => {
        const digit = ((Number.parseInt(v1[index]!, 16) + delta) % 16).toString(16);
        const tampered = `${v1.slice(0, index)}${digit}${v1.slice(index + 1)}`;
        expect(reasonOf(withSignatureHeader(good, `t=${T},v1=${tampered}`))).toBe('bad_signature');
      }),
    );
  });

  it('changing t (even within the window) fails the signature', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -300, max: 300 }).filter((offset) => offset !== 0),
        (offset) => {
          expect(reasonOf(withSignatureHeader(good, `t=${T + offset},v1=${v1}`))).toBe('bad_signature');
        },
      ),
    );
  });
});

describe('bank: callback body', () => {
  const verify = (overrides: Record<string, unknown>) =>
    bank.verifyCallback(signedBankCallback(bankCallbackBody(overrides), currentSecret, T), NOW);

  it.each([1.5, -1, '100', null, 2 ** 53, 10_000_000_000])('amount %p is malformed', (amount) => {
    expect(verify({ amount })).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it.each([1, 9_999_999_999])('amount %i is taken exactly, in fen', (amount) => {
    const result = verify({ amount });
    expect(result.ok && result.notification.amount).toBe(amount);
  });

  it.each([
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['CANCELLED', 'cancelled'],
  ])('status %s maps to %s', (status, outcome) => {
    const result = verify({ status });
    expect(result.ok && [result.notification.outcome, result.notification.providerStatus]).toEqual([outcome, status]);
  });

  it.each(['REFUNDED', 'PENDING', 'succeeded'])('a verified unknown status %s is an unsupported event', (status) => {
    expect(verify({ status })).toMatchObject({ ok: false, reason: 'unsupported_event' });
  });

  it('a currency other than CNY is a currency mismatch', () => {
    expect(verify({ currency: 'USD' })).toMatchObject({ ok: false, reason: 'currency_mismatch' });
  });

  it('normalises occurred_at to ISO-8601 UTC', () => {
    const result = verify({ occurred_at: '2025-01-02T11:04:05+08:00' });
    expect(result.ok && result.notification.occurredAt).toBe('2025-01-02T03:04:05.000Z');
  });

  it.each([
    ['missing event_id', { event_id: undefined }],
    ['empty payment_id', { payment_id: '' }],
    ['numeric transaction_id', { transaction_id: 7 }],
    ['occurred_at not a date', { occurred_at: 'yesterday' }],
  ])('%s is malformed', (_label, overrides) => {
    expect(verify(overrides)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('a signed body that is not JSON is malformed, without throwing', () => {
    expect(reasonOf(signedBankCallback('{"event_id":', currentSecret, T))).toBe('malformed');
  });

  it('the simulator maps checkout states to bank statuses and sends nothing while pending', () => {
    const statusFor = (state: 'paid' | 'failed' | 'closed') =>
      JSON.parse(simulator.buildCallback({ ...pendingCheckout('pay_1'), state }, NOW)!.body).status;
    expect([statusFor('paid'), statusFor('failed'), statusFor('closed')]).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);
    expect(simulator.buildCallback(pendingCheckout('pay_1'), NOW)).toBeUndefined();
  });
});

describe('bank: pay URL', () => {
  it('carries the payment and an HMAC-SHA256 of the sorted raw parameters under the signing secret', async () => {
    const { payUrl } = await createPayUrl(bank, payRequest());
    const url = new URL(payUrl);
    expect(`${url.origin}${url.pathname}`).toBe(keys.merchant.gatewayUrl);
    const params = Object.fromEntries(url.searchParams);
    expect(params).toMatchObject({
      payment_id: 'pay_42',
      amount: '12345',
      currency: 'CNY',
      expires_at: '2025-01-02T03:35:00.000Z',
      return_url: 'https://shop.example/orders/ord_42?from=bank&x=a b',
      notify_url: 'https://shop.example/api/payments/callback/bank',
    });
    const signed =
      'amount=12345&currency=CNY&expires_at=2025-01-02T03:35:00.000Z&notify_url=https://shop.example/api/payments/callback/bank' +
      '&payment_id=pay_42&return_url=https://shop.example/orders/ord_42?from=bank&x=a b';
    expect(params.signature).toBe(createHmac('sha256', keys.sandbox.signingSecret).update(signed).digest('hex'));
  });

  it('the sandbox refuses a URL whose amount was changed', async () => {
    const store = memoryCheckoutStore();
    const url = new URL((await createPayUrl(bank, payRequest())).payUrl);
    url.searchParams.set('amount', '1');
    const response = await openInSimulator(simulator, store, url.toString(), NOW);
    expect(response.statusCode).toBe(400);
    expect(store.get('pay_42')).toBeUndefined();
  });

  it('the sandbox refuses a URL signed with another secret', async () => {
    const other = createBankProvider({ config: { ...keys.merchant, signingSecret: 'sk_not_the_merchant_secret' } });
    const response = await openInSimulator(
      simulator,
      memoryCheckoutStore(),
      (await createPayUrl(other, payRequest())).payUrl,
      NOW,
    );
    expect(response.statusCode).toBe(400);
  });

  it('the sandbox refuses an expired URL (the bank takes no payment after expires_at)', async () => {
    const store = memoryCheckoutStore();
    const { payUrl } = await createPayUrl(bank, payRequest({ expiresAt: '2025-01-02T03:05:00.000Z' }));
    const response = await openInSimulator(simulator, store, payUrl, NOW);
    expect(response).toMatchObject({ statusCode: 400, body: 'payment has expired' });
    expect(store.get('pay_42')).toBeUndefined();
  });

  it('the sandbox does not reopen a payment that is already decided', async () => {
    const store = memoryCheckoutStore();
    const { payUrl } = await createPayUrl(bank, payRequest());
    await openInSimulator(simulator, store, payUrl, NOW);
    store.put({ ...store.get('pay_42')!, state: 'paid' });
    expect((await openInSimulator(simulator, store, payUrl, NOW)).statusCode).toBe(409);
  });

  it('the sandbox answers 404 on any other path', async () => {
    const response = await openInSimulator(
      simulator,
      memoryCheckoutStore(),
      'http://127.0.0.1:3000/sandbox/bank/payouts',
      NOW,
    );
    expect(response.statusCode).toBe(404);
  });
});

describe('bank: no query or close API', () => {
  it('declares neither operation, and one scene: its pay page', () => {
    expect(bank.queryPayment).toBeUndefined();
    expect(bank.closePayment).toBeUndefined();
    expect([...bank.scenes.keys()]).toEqual(['page']);
  });
});

function pendingCheckout(paymentId: string): SandboxCheckout {
  return {
    provider: 'bank',
    paymentId,
    amount: 500,
    currency: 'CNY',
    description: `Payment ${paymentId}`,
    notifyUrl: 'https://shop.example/api/payments/callback/bank',
    expiresAt: '2025-01-02T03:35:00.000Z',
    state: 'pending',
  };
}
