import { createPayUrl } from '../../support/checkout-fixtures';
import 'aws-sdk-client-mock-vitest/extend';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { secretMaxAgeSecondsFromEnv } from '../../../src/aws/env';
import { type Providers, providersFromSecret } from '../../../src/aws/provider-secret';
import type { Logger } from '../../../src/core/kernel/deps';
import { newPayment } from '../../support/domain-fixtures';

const secretsManager = mockClient(SecretsManagerClient);
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments-providers-AbCdEf';
const T0 = new Date('2026-11-25T04:00:00.000Z');
/** A marker in every secret value below: it must never show in an error or a log line. */
const SECRET_MARK = 'TOPSECRET';

const bankSecret = (gatewayUrl: string) =>
  JSON.stringify({
    bank: {
      webhookSecrets: [`${SECRET_MARK}-webhook-0123456789`],
      gatewayUrl,
      signingSecret: `${SECRET_MARK}-signing-0123456789`,
    },
  });

let logged: Array<{ message: string; fields?: Record<string, unknown> }>;
const logger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error: (message, fields) => void logged.push({ message, fields }),
};

const providersSource = (maxAgeSeconds = 300) =>
  providersFromSecret({
    secrets: new SecretsProvider({ clientConfig: { region: 'eu-west-1' } }),
    secretId: SECRET_ARN,
    maxAgeSeconds,
    logger,
  });

/** Where the bank provider sends the customer: shows which secret value the providers were built from. */
async function bankGateway(providers: Providers): Promise<string> {
  const payment = {
    ...newPayment({ paymentId: 'pay_1', orderId: 'ord_1', now: T0 }),
    method: 'bank' as const,
    description: 'Order ord_1',
  };
  const { payUrl } = await createPayUrl(providers.bank!, {
    payment,
    notifyUrl: 'https://api.example/callback/bank',
    returnUrl: 'https://shop.example/orders/ord_1',
    now: T0,
  });
  return new URL(payUrl).origin;
}

const secondsLater = (seconds: number) => vi.setSystemTime(T0.getTime() + seconds * 1000);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  secretsManager.reset();
  logged = [];
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the provider secret through Powertools Parameters (src/aws/provider-secret.ts)', () => {
  it('reads the secret once within its cache lifetime and reuses the providers it built', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: bankSecret('https://bank-a.example') });
    const providers = providersSource(300);

    const first = await providers();
    secondsLater(299);
    const second = await providers();

    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
    expect(second).toBe(first);
    expect(await bankGateway(first)).toBe('https://bank-a.example');
  });

  it('reads it again after its cache lifetime and uses a rotated value, without a redeploy', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: bankSecret('https://bank-a.example') })
      .resolvesOnce({ SecretString: bankSecret('https://bank-b.example') });
    const providers = providersSource(300);

    const before = await providers();
    secondsLater(301);
    const after = await providers();

    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(await bankGateway(before)).toBe('https://bank-a.example');
    expect(await bankGateway(after)).toBe('https://bank-b.example');
  });

  it('keeps the providers when the value read again is unchanged', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: bankSecret('https://bank-a.example') });
    const providers = providersSource(60);

    const first = await providers();
    secondsLater(61);
    const second = await providers();

    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(second).toBe(first);
  });

  it('takes its cache lifetime from PAYMENTS_SECRET_MAX_AGE_SECONDS, 300 s by default', () => {
    expect(secretMaxAgeSecondsFromEnv({})).toBe(300);
    expect(secretMaxAgeSecondsFromEnv({ PAYMENTS_SECRET_MAX_AGE_SECONDS: '60' })).toBe(60);
    expect(() => secretMaxAgeSecondsFromEnv({ PAYMENTS_SECRET_MAX_AGE_SECONDS: 'soon' })).toThrow(
      /PAYMENTS_SECRET_MAX_AGE_SECONDS must be an integer/,
    );
  });

  it('rejects a secret that is not JSON, naming the secret but never quoting it', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: `${SECRET_MARK}-0f3a {"bank": {"signingSecret": "${SECRET_MARK}-2b"}` });

    const error = await rejection(providersSource()());

    expect(error.message).toMatch(`Invalid payments config: the provider secret ${SECRET_ARN} is not valid JSON`);
    expect(inspect(error, { depth: 5 })).not.toContain(SECRET_MARK);
  });

  it('rejects a secret failing the schema, naming every wrong field and none of the values', async () => {
    const wechat = {
      mchid: '1900000001',
      appid: 'wx1',
      apiV3Key: `${SECRET_MARK}-short`,
      merchantSerial: 'S1',
      merchantPrivateKey: `-----BEGIN PRIVATE KEY-----${SECRET_MARK}`,
      platformPublicKeys: { PUB_KEY_ID_1: 'x' },
      apiBase: 'https://api.mch.weixin.qq.com',
    };
    secretsManager.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        wechat,
        bank: {
          webhookSecrets: [`${SECRET_MARK}-0123456789`],
          gatewayUrl: 'https://bank.example',
          signingSecret: SECRET_MARK,
        },
      }),
    });

    const error = await rejection(providersSource()());

    expect(error.message).toContain(`Invalid payments config: the provider secret ${SECRET_ARN}: `);
    expect(error.message).toContain('wechat.apiV3Key: must be 32 bytes');
    expect(error.message).toContain('wechat.merchantPrivateKey: must be a PEM private key');
    expect(error.message).toContain('wechat.platformPublicKeys.PUB_KEY_ID_1: must be a PEM public key');
    expect(error.message).toMatch(/bank\.signingSecret: /);
    expect(inspect(error, { depth: 5 })).not.toContain(SECRET_MARK);
  });

  it('once running, keeps the providers it has when a rotated value is malformed, and logs why without the value', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: bankSecret('https://bank-a.example') })
      .resolves({
        SecretString: JSON.stringify({
          bank: {
            webhookSecrets: [],
            gatewayUrl: 'https://bank-b.example',
            signingSecret: `${SECRET_MARK}-signing-0123456789`,
          },
        }),
      });
    const providers = providersSource(300);

    const before = await providers();
    secondsLater(301);
    const after = await providers();

    expect(after).toBe(before);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.fields).toMatchObject({
      secretId: SECRET_ARN,
      error: expect.stringContaining('bank.webhookSecrets'),
    });
    expect(JSON.stringify(logged)).not.toContain(SECRET_MARK);
  });

  it('fails at cold start when the secret cannot be read; once running, keeps the providers it has', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('AccessDeniedException: not authorized'))
      .resolvesOnce({ SecretString: bankSecret('https://bank-a.example') })
      .rejects(new Error('ServiceUnavailable'));
    const providers = providersSource(300);

    await expect(providers()).rejects.toThrow('not authorized');
    const running = await providers();
    secondsLater(301);

    expect(await providers()).toBe(running);
    expect(logged.map((entry) => entry.fields?.error)).toEqual([expect.stringContaining('ServiceUnavailable')]);
  });
});
