import { describe, expect, it } from 'vitest';
import {
  newEndpoint,
  patchedEndpoint,
  signingSecrets,
  subscribes,
  withRotatedSecret,
} from '../../../src/domain/webhook-endpoint';

const T0 = new Date('2026-11-25T04:00:00.000Z');
const hours = (n: number) => new Date(T0.getTime() + n * 3_600_000);
const endpoint = (events?: Parameters<typeof newEndpoint>[0]['events']) =>
  newEndpoint({ endpointId: 'whe_1', url: 'https://shop.example/hooks', events, sealedSecret: 'sealed-1' }, T0);

describe('webhook endpoints (src/domain/webhook-endpoint.ts)', () => {
  it('subscribes to every type by default, or to exactly the types listed', () => {
    expect(endpoint().events).toEqual(['*']);
    expect(subscribes(endpoint(), 'RefundSucceeded')).toBe(true);
    const some = endpoint(['OrderPaid', 'OrderPaid', 'RefundSucceeded']);
    expect(some.events).toEqual(['OrderPaid', 'RefundSucceeded']);
    expect(subscribes(some, 'OrderPaid')).toBe(true);
    expect(subscribes(some, 'OrderCreated')).toBe(false);
    expect(endpoint(['OrderPaid', '*']).events).toEqual(['*']);
  });

  it('keeps the old secret signing beside the new one for 24 h after a rotation, then drops it', () => {
    const rotated = withRotatedSecret(endpoint(), 'sealed-2', hours(1));
    expect(signingSecrets(rotated, hours(1)).map((secret) => secret.sealed)).toEqual(['sealed-2', 'sealed-1']);
    expect(signingSecrets(rotated, hours(24.99)).map((secret) => secret.sealed)).toEqual(['sealed-2', 'sealed-1']);
    expect(signingSecrets(rotated, hours(25)).map((secret) => secret.sealed)).toEqual(['sealed-2']);
    expect(rotated.secrets[1]).toEqual({
      sealed: 'sealed-1',
      createdAt: T0.toISOString(),
      expiresAt: hours(25).toISOString(),
    });
    const again = withRotatedSecret(rotated, 'sealed-3', hours(30));
    expect(again.secrets.map((secret) => secret.sealed)).toEqual(['sealed-3', 'sealed-2']);
    expect(again.version).toBe(3);
  });

  it('a second rotation within the overlap keeps the first one’s expiry', () => {
    const twice = withRotatedSecret(withRotatedSecret(endpoint(), 'sealed-2', hours(1)), 'sealed-3', hours(2));
    expect(twice.secrets.map((secret) => [secret.sealed, secret.expiresAt])).toEqual([
      ['sealed-3', undefined],
      ['sealed-2', hours(26).toISOString()],
      ['sealed-1', hours(25).toISOString()],
    ]);
  });

  it('says who disabled it, and starts afresh when enabled again', () => {
    const off = patchedEndpoint(endpoint(), { enabled: false }, hours(1));
    expect(off).toMatchObject({
      enabled: false,
      disabledReason: 'disabled by an administrator',
      disabledAt: hours(1).toISOString(),
    });
    const failing = { ...off, failingSince: T0.toISOString(), lastError: 'HTTP 503' };
    const on = patchedEndpoint(failing, { enabled: true, url: 'https://shop.example/v2' }, hours(2));
    expect(on).toMatchObject({ enabled: true, url: 'https://shop.example/v2', version: 3 });
    for (const gone of ['disabledReason', 'disabledAt', 'failingSince', 'lastError'])
      expect(on).not.toHaveProperty(gone);
  });

  it('leaves what a patch does not name', () => {
    const patched = patchedEndpoint({ ...endpoint(), description: 'ERP' }, { events: ['OrderPaid'] }, hours(1));
    expect(patched).toMatchObject({
      url: 'https://shop.example/hooks',
      description: 'ERP',
      enabled: true,
      events: ['OrderPaid'],
    });
  });
});
