import type { APIGatewayProxyResultV2, Context, SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { bundle } from '../../bench/bundles';
import type { StreamHandler } from '../../local/dynamodb-stream-source';
import { startOutboxPublisher } from '../../local/outbox-stream';
import { BUNDLE_ALIASES } from '../../cdk/bundle-aliases';
import type { PaymentNotification } from '../../src/domain/notification';
import type { HttpEvent } from '../../src/http/route';
import { ADMIN_SCOPE } from '../../src/http/routes';
import { createTestEnv, type TestEnv } from '../support/harness';
import { httpEvent, invoke, lambdaContext, type RequestOptions } from '../support/http';

/**
 * The function bundles as Lambda runs them: built as the CDK builds them (bench/bundles.ts, so
 * with cdk/bundle-aliases.ts applied), written to disk, imported as plain ESM and invoked with the
 * environment the stack and Lambda give them. Every DynamoDB request goes through the bundle's own
 * SDK copy to DynamoDB Local; EventBridge and Secrets Manager, which have no local stand-in, are a
 * small HTTP server speaking their JSON protocol. Were an alias to replace something these calls
 * reach, they would fail: the substitutes throw when used. The endpoints are local
 * (AWS_ENDPOINT_URL_*), so what runs only without a custom endpoint (the endpoint rules, DynamoDB
 * endpoint discovery) is not exercised here; no alias touches it.
 */

const ALICE = 'cust_bundled';
const REGION = 'ap-east-1';
const ACCESS_KEY_ID = 'AKIDBUNDLEDTEST';
const SESSION_TOKEN = 'bundled-test-session';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:123456789012:secret:payments-providers-AbCdEf`;
/** A payments config with the bank only: no keys to generate. */
const PROVIDERS_SECRET = JSON.stringify({
  bank: {
    webhookSecrets: ['webhook-secret-0123456789'],
    gatewayUrl: 'https://bank.example/pay',
    signingSecret: 'signing-secret-0123456789',
  },
});

/** Without providers, with the EventBridge client (outbox-publisher), and with providers (cancel-order). */
const FUNCTIONS = [
  'create-product',
  'create-order',
  'get-order',
  'payment-worker',
  'outbox-publisher',
  'cancel-order',
] as const;
type BundledFunction = (typeof FUNCTIONS)[number];
type HttpHandler = (event: HttpEvent, context: Context) => Promise<APIGatewayProxyResultV2>;
type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** One request that reached the AWS stand-in. */
interface AwsCall {
  target: string;
  authorization: string;
  sessionToken: string;
  body: Record<string, unknown>;
}

/** Secrets Manager GetSecretValue and EventBridge PutEvents, as AWS answers them (awsJson1_1). */
function answerAws(target: string, body: Record<string, unknown>): [number, unknown] {
  if (target === 'secretsmanager.GetSecretValue' && body.SecretId === SECRET_ARN) {
    return [
      200,
      {
        ARN: SECRET_ARN,
        Name: 'payments-providers',
        VersionId: 'v1',
        SecretString: PROVIDERS_SECRET,
        CreatedDate: 1_764_000_000,
      },
    ];
  }
  if (target === 'AWSEvents.PutEvents') {
    const entries = body.Entries as unknown[];
    return [200, { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) }];
  }
  return [400, { __type: 'UnknownOperationException', message: `the stand-in does not answer ${target}` }];
}

async function startAwsStandIn(calls: AwsCall[]): Promise<{ server: Server; endpoint: string }> {
  const server = createServer(
    (request, response) =>
      // http ignores a listener's promise: a failure surfaces as an unhandled rejection, failing the run.
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const call = {
          target: String(request.headers['x-amz-target']),
          authorization: String(request.headers.authorization),
          sessionToken: String(request.headers['x-amz-security-token']),
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        };
        calls.push(call);
        const [status, answer] = answerAws(call.target, call.body);
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer));
      })(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let env: TestEnv;
let scratch: string;
let standIn: Server;
const awsCalls: AwsCall[] = [];
const handlers = new Map<BundledFunction, unknown>();
const inputsOf = new Map<BundledFunction, string[]>();

beforeAll(async () => {
  env = await createTestEnv();
  const aws = await startAwsStandIn(awsCalls);
  standIn = aws.server;
  // What the CDK stack and Lambda set; read by the bundles at import (Powertools) and on their first invocation.
  const variables: Record<string, string> = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: 'bundled-test-secret',
    AWS_SESSION_TOKEN: SESSION_TOKEN,
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    AWS_ENDPOINT_URL_EVENTBRIDGE: aws.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
    TABLE_NAME: env.tableName,
    EVENT_BUS_NAME: 'payments',
    PAYMENTS_SECRET_ARN: SECRET_ARN,
    PUBLIC_BASE_URL: 'https://api.pay.example',
    PAYMENT_RETURN_URL: 'https://shop.example/orders/{orderId}',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value);

  scratch = mkdtempSync(join(tmpdir(), 'bundled-functions-'));
  const built = await Promise.all(FUNCTIONS.map(async (fn) => [fn, await bundle(fn)] as const));
  for (const [fn, { code, inputs }] of built) {
    inputsOf.set(fn, inputs);
    const file = join(scratch, `${fn}.mjs`);
    writeFileSync(file, code);
    handlers.set(fn, ((await import(/* @vite-ignore */ pathToFileURL(file).href)) as { handler: unknown }).handler);
  }
}, 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => standIn?.close(resolve));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
function call<T = any>(fn: BundledFunction, method: string, path: string, options: RequestOptions = {}) {
  return invoke<T>(handlers.get(fn) as HttpHandler, httpEvent(method, path, { customerId: ALICE, ...options }));
}

async function createProduct(stock: number) {
  const product = { sku: `BUNDLED-${randomUUID().slice(0, 8)}`, name: 'Longjing tea 250 g', price: 12_800, stock };
  const created = await call('create-product', 'POST', '/api/products', { scope: ADMIN_SCOPE, body: product });
  expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
  return product;
}

async function createOrder(sku: string, quantity: number) {
  const created = await call('create-order', 'POST', '/api/orders', { body: { items: [{ sku, quantity }] } });
  expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
  return created.body as {
    order: { orderId: string };
    payment: { paymentId: string; amount: number; method: PaymentNotification['provider'] };
  };
}

/** The calls since `from` to one operation, each signed with the credentials Lambda puts in the environment. */
function callsTo(target: string, from = 0): AwsCall[] {
  const made = awsCalls.slice(from).filter((awsCall) => awsCall.target === target);
  for (const awsCall of made) {
    expect(awsCall.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/\\d{8}/${REGION}/`),
    );
    expect(awsCall.sessionToken).toBe(SESSION_TOKEN);
  }
  return made;
}

const getOrder = (orderId: string) =>
  call('get-order', 'GET', `/api/orders/${orderId}`, { pathParameters: { orderId } });

describe('function bundles, as Lambda runs them', () => {
  it.each(FUNCTIONS)('%s is bundled with the substitutions of cdk/bundle-aliases.ts', (fn) => {
    expect(inputsOf.get(fn)).toEqual(
      expect.arrayContaining(Object.values(BUNDLE_ALIASES).map((path) => path.replace(/^\.\//, ''))),
    );
  });

  it('create-product, create-order and get-order write and read through their bundled SDK', async () => {
    const product = await createProduct(10);

    const { order, payment } = await createOrder(product.sku, 3);
    const read = await getOrder(order.orderId);

    expect(read.statusCode).toBe(200);
    expect(read.body.order).toMatchObject({
      orderId: order.orderId,
      customerId: ALICE,
      status: 'pending',
      totalAmount: 3 * 12_800,
      items: [{ sku: product.sku, quantity: 3 }],
    });
    expect(read.body.payments).toEqual([
      expect.objectContaining({ paymentId: payment.paymentId, status: 'init', amount: 3 * 12_800 }),
    ]);
    // What the bundles wrote is what the table holds, read by the unbundled repository.
    expect((await env.repo.getProducts([product.sku])).get(product.sku)).toMatchObject({ stock: 7 });
  });

  it("payment-worker applies a queued notification through its bundled SDK; outbox-publisher, fed the table's stream, publishes the order paid", async () => {
    const product = await createProduct(5);
    const { order, payment } = await createOrder(product.sku, 1);
    const notification: PaymentNotification = {
      provider: payment.method,
      eventId: `evt-${randomUUID()}`,
      paymentId: payment.paymentId,
      providerTransactionId: `txn-${randomUUID()}`,
      outcome: 'succeeded',
      amount: payment.amount,
      currency: 'CNY',
      occurredAt: new Date().toISOString(),
      providerStatus: 'SUCCESS',
      via: 'callback',
    };
    const record = {
      messageId: randomUUID(),
      receiptHandle: 'receipt',
      body: JSON.stringify(notification),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'sender',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:123456789012:payments-notifications`,
      awsRegion: REGION,
    };

    const result = await (handlers.get('payment-worker') as SqsHandler)({ Records: [record] }, lambdaContext);

    expect(result).toEqual({ batchItemFailures: [] });
    const read = await getOrder(order.orderId);
    expect(read.body.order).toMatchObject({ status: 'paid', paidByPaymentId: payment.paymentId });
    expect(read.body.payments).toEqual([
      expect.objectContaining({ paymentId: payment.paymentId, status: 'succeeded' }),
    ]);
    const publisher = await startOutboxPublisher({
      dynamo: env.client,
      endpoint: inject('dynamoEndpoint'),
      tableName: env.tableName,
      publisher: { handler: handlers.get('outbox-publisher') as StreamHandler },
    });
    await publisher.idle();
    const published = callsTo('AWSEvents.PutEvents')
      .flatMap((awsCall) => awsCall.body.Entries as Array<{ DetailType: string; Detail: string }>)
      .filter((entry) => (JSON.parse(entry.Detail) as { orderId?: string }).orderId === order.orderId);
    expect(published.map((entry) => entry.DetailType)).toContain('OrderPaid');
  });

  it('cancel-order, which holds the providers, reads the provider secret and cancels the order', async () => {
    const product = await createProduct(4);
    const { order, payment } = await createOrder(product.sku, 2);
    const before = awsCalls.length;

    const cancelled = await call('cancel-order', 'POST', `/api/orders/${order.orderId}/cancel`, {
      pathParameters: { orderId: order.orderId },
    });

    expect(cancelled.statusCode, JSON.stringify(cancelled.body)).toBe(200);
    expect(callsTo('secretsmanager.GetSecretValue', before)).toHaveLength(1);
    const read = await getOrder(order.orderId);
    expect(read.body.order).toMatchObject({ status: 'cancelled' });
    expect(read.body.payments).toEqual([
      expect.objectContaining({ paymentId: payment.paymentId, status: 'cancelled' }),
    ]);
    expect((await env.repo.getProducts([product.sku])).get(product.sku)).toMatchObject({ stock: 4 });
  });
});
