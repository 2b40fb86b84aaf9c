import 'aws-sdk-client-mock-vitest/extend';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AWS_CLIENT_LIMITS } from '../../../src/aws/aws-client-limits';
import { type AwsCapabilities, awsWiring } from '../../../src/aws/wiring';
import { type FunctionName, ALL_FUNCTIONS, type FunctionAccess } from '../../../src/runtime/functions';
import { dynamoTable } from '../../../src/aws/dynamo-table';
import { eventBus } from '../../../src/aws/eventbridge-publisher';
import { providersFromEnv } from '../../../src/aws/provider-secret';
import { sqsQueue } from '../../../src/aws/sqs-queue';
import { webhookKeys } from '../../../src/aws/kms-data-keys';
import { webhookQueue } from '../../../src/aws/webhook-queue';
import { dueQueue } from '../../../src/aws/due-queue';
import type { Deps } from '../../../src/core/kernel/deps';
import type { DomainEvent } from '../../../src/domain/events';
import type { PaymentNotification } from '../../../src/domain/notification';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments-providers-AbCdEf';
const BANK = {
  webhookSecrets: ['webhook-secret-0123456789'],
  gatewayUrl: 'https://bank.example/pay',
  signingSecret: 'signing-secret-0123456789',
};

/** What the CDK stack sets on every function. */
const stackEnv = (): NodeJS.ProcessEnv => ({
  TABLE_NAME: 'payments',
  NOTIFICATION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/payments-notifications',
  EVENT_BUS_NAME: 'payments',
  PAYMENTS_SECRET_ARN: SECRET_ARN,
  PUBLIC_BASE_URL: 'https://api.pay.example',
  PAYMENT_RETURN_URL: 'https://shop.example/orders/{orderId}',
  WEBHOOK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/payments-webhooks',
  DUE_PAYMENT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/payments-due',
  WEBHOOK_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
});

const notification: PaymentNotification = {
  provider: 'bank',
  eventId: 'evt-1',
  paymentId: 'pay_1',
  outcome: 'succeeded',
  amount: 100,
  currency: 'CNY',
  occurredAt: '2026-11-25T04:00:00.000Z',
  providerStatus: 'PAID',
  via: 'callback',
};
const event: DomainEvent = {
  id: 'ord_1:OrderCreated:1',
  type: 'OrderCreated',
  occurredAt: '2026-11-25T04:00:00.000Z',
  detail: { orderId: 'ord_1', customerId: 'cust_1' },
};

/** Whether reaching for a port's operation works (true) or is refused by the wiring (false). */
const usable = (reach: () => unknown) => {
  try {
    reach();
    return true;
  } catch {
    return false;
  }
};

/** What a function's wiring gave it, as the report in the README table reads. */
const wiringOf = (deps: Deps) => ({
  table: usable(() => deps.repo.getOrder),
  providers: Object.keys(deps.providers),
  queue: usable(() => deps.queue.enqueue),
  events: usable(() => deps.events.publish),
  webhookQueue: usable(() => deps.webhookQueue.enqueue),
  webhookKeys: usable(() => deps.webhookKeys.unwrapDataKey),
  dueQueue: usable(() => deps.dueQueue.enqueue),
});

/** The production capabilities an access allows, as the function's handler module passes them. */
const capabilitiesFor = (access: FunctionAccess): AwsCapabilities => ({
  ...(access.table !== 'none' ? { table: dynamoTable } : {}),
  ...(access.queue || access.redrive ? { queue: sqsQueue } : {}),
  ...(access.events ? { events: eventBus } : {}),
  ...(access.providers ? { providers: providersFromEnv } : {}),
  ...(access.webhookQueue ? { webhookQueue } : {}),
  ...(access.webhookKeys ? { webhookKeys } : {}),
  ...(access.dueQueue ? { dueQueue } : {}),
});
const wired = (fn: FunctionName, env: NodeJS.ProcessEnv) =>
  awsWiring(fn, capabilitiesFor(ALL_FUNCTIONS.find((entry) => entry.fn === fn)!.access), env);

let secretsManager: AwsClientStub<SecretsManagerClient>;
let mocks: Array<{ restore(): void }>;

beforeEach(() => {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  secretsManager = mockClient(SecretsManagerClient);
  secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ bank: BANK }) });
  // Nothing below may reach AWS: every other client is mocked with no behaviour at all.
  mocks = [
    secretsManager,
    mockClient(DynamoDBClient),
    mockClient(SQSClient),
    mockClient(EventBridgeClient),
    mockClient(KMSClient),
  ];
});

afterEach(() => {
  for (const mock of mocks) mock.restore();
  vi.unstubAllEnvs();
});

describe('awsWiring (src/aws/wiring.ts)', () => {
  it('gives a read-only function (get-order) the table only: no secret read, no queue, no bus, each refusal naming it', async () => {
    const deps = await wired('get-order', stackEnv()).deps();

    expect(secretsManager).not.toHaveReceivedAnyCommand();
    expect(Object.keys(deps.providers)).toEqual([]);
    expect(() => deps.providers.wechat).toThrow(
      'get-order has no providers access (access in src/runtime/functions.ts): it cannot use providers.wechat',
    );
    expect(() => deps.queue.enqueue(notification)).toThrow('get-order has no queue access');
    expect(() => deps.events.publish([event])).toThrow('get-order has no events access');
    expect(typeof deps.repo.getOrder).toBe('function');
  });

  it('builds for every function exactly what its access in the route table allows', async () => {
    const built: Record<string, unknown> = {};
    for (const { fn } of ALL_FUNCTIONS) {
      secretsManager.resetHistory();
      const deps = await wired(fn as FunctionName, stackEnv()).deps();
      built[fn] = { ...wiringOf(deps), secretRead: secretsManager.commandCalls(GetSecretValueCommand).length === 1 };
    }

    const expected = Object.fromEntries(
      ALL_FUNCTIONS.map(({ fn, access }) => [
        fn,
        {
          table: access.table !== 'none',
          providers: access.providers ? ['bank'] : [],
          queue: access.queue || access.redrive === true,
          events: access.events,
          webhookQueue: access.webhookQueue === true,
          webhookKeys: access.webhookKeys !== undefined,
          dueQueue: access.dueQueue === true,
          secretRead: access.providers,
        },
      ]),
    );
    expect(built).toEqual(expected);
    // The least-privilege cases spelled out, in case the route table itself drifts.
    const noWebhooks = { webhookQueue: false, webhookKeys: false, dueQueue: false };
    expect(built['openapi']).toEqual({
      table: false,
      providers: [],
      queue: false,
      events: false,
      ...noWebhooks,
      secretRead: false,
    });
    expect(built['payment-callback']).toEqual({
      table: true,
      providers: ['bank'],
      queue: true,
      events: false,
      ...noWebhooks,
      secretRead: true,
    });
    expect(built['payment-worker']).toEqual({
      table: true,
      providers: [],
      queue: false,
      events: false,
      ...noWebhooks,
      secretRead: false,
    });
    // Only the deliverer opens webhook secrets; only the endpoint routes that make one seal.
    expect(built['webhook-deliverer']).toEqual({
      table: true,
      providers: [],
      queue: false,
      events: false,
      webhookQueue: true,
      webhookKeys: true,
      dueQueue: false,
      secretRead: false,
    });
    // Only the sweeper (finding) and the expiry worker (a busy provider's message back, delayed) send due payments.
    expect(
      Object.entries(built)
        .filter(([, wiring]) => (wiring as { dueQueue: boolean }).dueQueue)
        .map(([fn]) => fn),
    ).toEqual(['sweeper', 'expiry-worker']);
    // Only the outbox publisher puts events on the bus: every other function's events leave by the table's stream.
    expect(Object.entries(built).filter(([, wiring]) => (wiring as { events: boolean }).events)).toEqual([
      [
        'outbox-publisher',
        { table: true, providers: [], queue: false, events: true, ...noWebhooks, secretRead: false },
      ],
    ]);
  });

  it('refuses, at module load, a wiring with a port its access does not allow or without one it allows', () => {
    expect(() => awsWiring('get-order', { table: dynamoTable, queue: sqsQueue })).toThrow(
      'get-order: its wiring does not match its access in src/runtime/functions.ts (queue: access does not allow it, the handler wires it)',
    );
    expect(() => awsWiring('payment-callback', { table: dynamoTable, providers: providersFromEnv })).toThrow(
      'payment-callback: its wiring does not match its access in src/runtime/functions.ts (queue: access allows it, the handler does not)',
    );
  });

  it.each(ALL_FUNCTIONS.map((entry) => entry.fn))(
    "loads %s's handler module: its wiring is exactly its access",
    async (fn) => {
      const module = (await import(`../../../functions/${fn}/handler.ts`)) as { handler: unknown };

      expect(typeof module.handler).toBe('function');
    },
  );

  it('reads the provider secret once per cache lifetime, not once per invocation', async () => {
    const wiring = wired('start-payment', stackEnv());

    await wiring.deps();
    await wiring.deps();
    const deps = await wiring.deps();

    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(Object.keys(deps.providers)).toEqual(['bank']);
  });

  it('takes the provider config from the PAYMENTS_CONFIG file instead, without Secrets Manager', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'payments-config-'));
    try {
      const file = path.join(dir, 'payments-config.json');
      await writeFile(file, JSON.stringify({ bank: BANK }));

      const deps = await wired('cancel-payment', { ...stackEnv(), PAYMENTS_CONFIG: file }).deps();

      expect(Object.keys(deps.providers)).toEqual(['bank']);
      expect(secretsManager).not.toHaveReceivedAnyCommand();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails its cold start without PAYMENT_RETURN_URL, naming it, and builds once it is set', async () => {
    const env = stackEnv();
    delete env.PAYMENT_RETURN_URL;
    const wiring = wired('start-payment', env);

    await expect(wiring.deps()).rejects.toThrow(/^Missing environment variable PAYMENT_RETURN_URL: /);
    expect(secretsManager).not.toHaveReceivedAnyCommand();

    env.PAYMENT_RETURN_URL = 'https://shop.example/orders/{orderId}?paid=1';
    await expect(wiring.deps()).resolves.toMatchObject({
      returnUrlTemplate: 'https://shop.example/orders/{orderId}?paid=1',
    });
  });

  it.each([
    ['/orders/{orderId}', 'PAYMENT_RETURN_URL must be an absolute http(s) URL'],
    [
      'https://shop.example/orders/{orderid}',
      'PAYMENT_RETURN_URL has the placeholder {orderid}; only {orderId} is replaced',
    ],
  ])('refuses the return page template %s', async (template, message) => {
    await expect(wired('get-order', { ...stackEnv(), PAYMENT_RETURN_URL: template }).deps()).rejects.toThrow(message);
  });

  it(
    'gives up on an AWS endpoint that never answers: 3 attempts of 2 s for every client it builds',
    { timeout: 30_000 },
    async () => {
      for (const mock of mocks) mock.restore();
      const attempts = new Map<string, number>();
      const silent = createServer((request) => {
        const target = String(request.headers['x-amz-target']);
        attempts.set(target, (attempts.get(target) ?? 0) + 1);
        request.resume(); // and never answer
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      vi.stubEnv('AWS_ENDPOINT_URL', `http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
      const dir = await mkdtemp(path.join(tmpdir(), 'payments-config-'));
      try {
        const configFile = path.join(dir, 'config.json');
        await writeFile(configFile, '{}');
        const started = performance.now();

        const outcomes = await Promise.allSettled([
          wired('get-order', stackEnv())
            .deps()
            .then((deps) => deps.repo.getOrder('ord_1')),
          wired('payment-callback', { ...stackEnv(), PAYMENTS_CONFIG: configFile })
            .deps()
            .then((deps) => deps.queue.enqueue(notification)),
          wired('outbox-publisher', stackEnv())
            .deps()
            .then(async (deps) => {
              const { failed } = await deps.events.publish([event]);
              throw new Error(failed[0]?.reason);
            }),
          wired('start-payment', stackEnv()).deps(),
        ]);

        const elapsedMs = performance.now() - started;
        expect(outcomes.map((outcome) => outcome.status === 'rejected' && String(outcome.reason))).toEqual(
          Array(4).fill(expect.stringContaining('2000 ms requestTimeout')),
        );
        expect(Object.fromEntries(attempts)).toEqual({
          'DynamoDB_20120810.GetItem': AWS_CLIENT_LIMITS.maxAttempts,
          'AmazonSQS.SendMessage': AWS_CLIENT_LIMITS.maxAttempts,
          'AWSEvents.PutEvents': AWS_CLIENT_LIMITS.maxAttempts,
          'secretsmanager.GetSecretValue': AWS_CLIENT_LIMITS.maxAttempts,
        });
        expect(elapsedMs).toBeGreaterThanOrEqual(3 * 2_000);
        expect(elapsedMs).toBeLessThan(10_000);
      } finally {
        silent.closeAllConnections();
        silent.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
