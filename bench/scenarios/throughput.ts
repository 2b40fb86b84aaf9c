import { TransactWriteItemsCommand, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Runtime } from '../../local/runtime';
import { OUTBOX_ATTRIBUTE } from '../../src/persistence/table-definition';
import { CONCURRENCY, ROOT, SKU, WINDOW_SECONDS, execFileAsync, round } from '../common';

/** A create transaction to send bare: the service's own, replayed with fresh ids per transaction. */
type WriteSet = (customerTag: string, orderTag: string) => TransactWriteCommandInput;

/**
 * The floor: the same four writes a create makes (order, payment, idempotency record, stock), one
 * bare TransactWriteItems each. With a `writeSet`, that transaction instead: what DynamoDB Local
 * alone allows the service's own writes, without HTTP, the JWT check or the handler.
 */
async function floorRate(runtime: Runtime, inFlight: number, seconds: number, writeSet?: WriteSet): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  // The service's transaction goes through a document client as the repository's does (its items are captured unmarshalled).
  const doc = DynamoDBDocumentClient.from(runtime.dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  const put = (pk: string, sk: string, extra: Record<string, { S: string } | { N: string }>) => ({
    Put: {
      TableName: 'payments',
      Item: { pk: { S: pk }, sk: { S: sk }, ...extra },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  });
  const floor = (id: string): TransactWriteItemsCommandInput => {
    const body = { S: 'x'.repeat(400) };
    return {
      TransactItems: [
        put(`ORDER#floor-${id}`, 'ORDER', { body, totalAmount: { N: '100' } }),
        put(`PAYMENT#floor-${id}`, 'PAYMENT', { body, amount: { N: '100' } }),
        put(`IDEMP#floor#${id}`, 'IDEMP', { body }),
        {
          Update: {
            TableName: 'payments',
            Key: { pk: { S: `PRODUCT#${SKU}` }, sk: { S: 'PRODUCT' } },
            UpdateExpression: 'SET stock = stock - :one',
            ConditionExpression: 'stock >= :one AND price = :price',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':price': { N: '100' } },
          },
        },
      ],
    };
  };
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      // Each worker a customer of its own, as the load generator's requests come from many.
      const customer = randomUUID();
      while (performance.now() < deadline) {
        const id = randomUUID();
        await (writeSet
          ? doc.send(new TransactWriteCommand(writeSet(customer, id)))
          : runtime.dynamo.client.send(new TransactWriteItemsCommand(floor(id))));
        done++;
      }
    }),
  );
  return done / seconds;
}

/**
 * The transaction one real `POST /api/orders` sent (items, conditions and all, as marshalled),
 * captured at the runtime's DynamoDB client; replayed with its order, payment, customer and key
 * renamed. `without` leaves out the writes to items whose key starts with it.
 */
export async function capturedCreate(
  runtime: Runtime,
  token: string,
  customerId: string,
): Promise<(without?: string) => WriteSet> {
  let captured: TransactWriteCommandInput | undefined;
  runtime.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'TransactWriteItemsCommand')
        captured ??= structuredClone((args as { input: TransactWriteCommandInput }).input);
      return next(args);
    },
    { step: 'initialize', name: 'benchCapture' },
  );
  const idempotencyKey = `bench-capture-${randomUUID()}`;
  const response = await fetch(`${runtime.baseUrl}/api/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': idempotencyKey,
    },
    body: JSON.stringify({ items: [{ sku: SKU, quantity: 1 }], paymentMethod: 'bank' }),
  });
  runtime.dynamo.client.middlewareStack.remove('benchCapture');
  const { order, payment } = (await response.json()) as { order: { orderId: string }; payment: { paymentId: string } };
  if (!captured) throw new Error(`the create sent no transaction (HTTP ${response.status})`);
  const template = captured;
  // The order's outbox entry kept, a byte longer, under a name the stream's filter passes over: a
  // replay must not publish its OrderCreated again.
  const replayedAttribute = (name: string) => (name === OUTBOX_ATTRIBUTE ? `${OUTBOX_ATTRIBUTE}_` : name);
  const renamed = (value: unknown, rename: (text: string) => string): unknown => {
    if (typeof value === 'string') return rename(value);
    if (Array.isArray(value)) return value.map((element) => renamed(element, rename));
    if (value && typeof value === 'object' && !(value instanceof Uint8Array))
      return Object.fromEntries(
        Object.entries(value).map(([name, element]) => [replayedAttribute(name), renamed(element, rename)]),
      );
    return value;
  };
  const keyOf = (item: NonNullable<TransactWriteCommandInput['TransactItems']>[number]) =>
    String((item.Put?.Item ?? item.Update?.Key ?? item.ConditionCheck?.Key ?? item.Delete?.Key)?.pk);
  return (without) => {
    // Left out once here, not in every replayed transaction: the bench's own work shares the cores.
    const kept = {
      ...template,
      TransactItems: template.TransactItems!.filter(
        (item) => without === undefined || !keyOf(item).startsWith(without),
      ),
    };
    return (customerTag, orderTag) =>
      renamed(kept, (text) =>
        text
          .replaceAll(customerId, customerTag)
          .replaceAll(order.orderId, `o${orderTag}`)
          .replaceAll(payment.paymentId, `p${orderTag}`)
          .replaceAll(idempotencyKey, orderTag),
      ) as TransactWriteCommandInput;
  };
}

/** The service over HTTP: POST /api/orders from a load generator in its own process (bench/load.ts). */
async function serviceRate(runtime: Runtime, tokens: string[], inFlight: number, seconds: number) {
  const settingsFile = join(mkdtempSync(join(tmpdir(), 'bench-load-')), 'settings.json');
  const body = JSON.stringify({ items: [{ sku: SKU, quantity: 1 }], paymentMethod: 'bank' });
  writeFileSync(
    settingsFile,
    JSON.stringify({ url: `${runtime.baseUrl}/api/orders`, connections: inFlight, seconds, tokens, body }),
  );
  try {
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'load.ts'), settingsFile],
      { cwd: ROOT },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      rate: number;
      p50: number;
      p99: number;
      non2xx: number;
      errors: number;
    };
  } finally {
    rmSync(dirname(settingsFile), { recursive: true, force: true });
  }
}

export async function throughput(runtime: Runtime, tokens: string[], writeSet: (without?: string) => WriteSet) {
  // Not recorded: the emulator's JIT and heap settle first (its first seconds run at half speed).
  await floorRate(runtime, 8, WINDOW_SECONDS);
  await serviceRate(runtime, tokens, 8, WINDOW_SECONDS);
  const rows = [];
  for (const inFlight of CONCURRENCY) {
    const floor: number[] = [];
    const whole: number[] = [];
    const lessCounter: number[] = [];
    const service: Array<Awaited<ReturnType<typeof serviceRate>>> = [];
    // Interleaved, so drift of the machine (other load, JIT, the emulator's heap) hits all alike.
    for (let round_ = 0; round_ < 2; round_++) {
      floor.push(await floorRate(runtime, inFlight, WINDOW_SECONDS));
      whole.push(await floorRate(runtime, inFlight, WINDOW_SECONDS, writeSet()));
      lessCounter.push(await floorRate(runtime, inFlight, WINDOW_SECONDS, writeSet('CUSTOMER#')));
      service.push(await serviceRate(runtime, tokens, inFlight, WINDOW_SECONDS));
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const floorMean = mean(floor);
    const serviceMean = mean(service.map((s) => s.rate));
    rows.push({
      inFlight,
      floorPerSecond: round(floorMean),
      writeSetPerSecond: round(mean(whole)),
      writeSetRatio: round(mean(whole) / floorMean, 2),
      lessCounterPerSecond: round(mean(lessCounter)),
      lessCounterRatio: round(mean(lessCounter) / floorMean, 2),
      servicePerSecond: round(serviceMean),
      ratio: round(serviceMean / floorMean, 2),
      serviceP50Ms: Math.max(...service.map((s) => s.p50)),
      serviceP99Ms: Math.max(...service.map((s) => s.p99)),
      non2xx: service.reduce((sum, s) => sum + s.non2xx + s.errors, 0),
    });
  }
  return rows;
}

/** Started bank payments, as after POST /api/orders and POST …/start. */
