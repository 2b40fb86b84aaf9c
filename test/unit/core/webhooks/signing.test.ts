import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { localDataKeys } from '../../../../local/webhooks/local-keys';
import { generateWebhookSecret, openSecret, openSecretCached, sealSecret } from '../../../../src/core/webhooks/secrets';
import { webhookHeaders } from '../../../../src/core/webhooks/signing';

/** The test vector of the Standard Webhooks specification repository (libraries/javascript/src/webhook.test.ts, "sign function works"). */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1_614_265_330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

/** The spec's definition, written out: base64 HMAC-SHA256, keyed by the base64 secret after `whsec_`, of `id.timestamp.body`. */
function specSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

describe('Standard Webhooks signatures (src/core/webhooks/signing.ts)', () => {
  it('signs the specification’s test vector to its expected signature', () => {
    const headers = webhookHeaders([VECTOR.secret], {
      id: VECTOR.id,
      body: VECTOR.body,
      at: new Date(VECTOR.timestamp * 1000 + 999),
    });
    expect(headers).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    });
    expect(specSignature(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('puts one signature per secret in the header during a rotation; the receiver verifies with either secret', () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const body = '{"type":"OrderPaid"}';
    const at = new Date();
    const headers = webhookHeaders([newSecret, oldSecret], { id: 'ord_1:OrderPaid:2', body, at });
    const timestamp = Math.floor(at.getTime() / 1000);
    expect(headers['webhook-signature']).toBe(
      `${specSignature(newSecret, 'ord_1:OrderPaid:2', timestamp, body)} ${specSignature(oldSecret, 'ord_1:OrderPaid:2', timestamp, body)}`,
    );
    for (const secret of [oldSecret, newSecret])
      expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'OrderPaid' });
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(/No matching signature/);
  });

  it('makes secrets as the spec does: whsec_ and base64 of 32 random bytes, never the same twice', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });
});

describe('sealed secrets (src/core/webhooks/secrets.ts)', () => {
  const keys = localDataKeys(randomBytes(32));

  it('stores neither the secret nor the data key in clear, and opens again to the secret', async () => {
    const secret = generateWebhookSecret();
    const sealed = await sealSecret(keys, 'whe_1', secret);
    const stored = Buffer.from(sealed, 'base64').toString('utf8');
    expect(stored).not.toContain(secret.slice(6));
    expect(JSON.parse(stored)).toEqual({
      v: 1,
      key: expect.any(String),
      iv: expect.any(String),
      data: expect.any(String),
      tag: expect.any(String),
    });
    await expect(openSecret(keys, 'whe_1', sealed)).resolves.toBe(secret);
    await expect(openSecretCached(keys, 'whe_1', sealed)).resolves.toBe(secret);
  });

  it('does not open on another endpoint, under another master key, or when tampered with', async () => {
    const sealed = await sealSecret(keys, 'whe_1', generateWebhookSecret());
    await expect(openSecret(keys, 'whe_2', sealed)).rejects.toThrow();
    await expect(openSecret(localDataKeys(randomBytes(32)), 'whe_1', sealed)).rejects.toThrow();
    const envelope = JSON.parse(Buffer.from(sealed, 'base64').toString('utf8')) as { data: string };
    const data = Buffer.from(envelope.data, 'base64');
    data[0] = data[0]! ^ 1;
    const tampered = Buffer.from(JSON.stringify({ ...envelope, data: data.toString('base64') })).toString('base64');
    await expect(openSecret(keys, 'whe_1', tampered)).rejects.toThrow();
  });
});
